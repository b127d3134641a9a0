"""Our own certificate material: a chain and the key that signs with it, and fingerprints.
The trust-anchor names below are re-exported from :mod:`tlsmachine.trust_store`.

A :class:`CertifiedKey` is what an endpoint sends in its Certificate message and signs its
CertificateVerify with (RFC 8446 §4.4.2, §4.4.3). Its key must be of a type TLS 1.3 can sign
with (RFC 8446 §4.2.3): RSA (RSASSA-PSS with an rsaEncryption key; peers' keys need 2048 bits,
ours 1024 so the RFC 8448 vectors load), ECDSA on secp256r1/secp384r1/secp521r1, Ed25519,
Ed448, or ML-DSA-44/65/87 (draft-ietf-tls-mldsa, keys and certificates as RFC 9881; TLS 1.3
only). The chain is leaf first; each following
certificate SHOULD certify the one before it (RFC 8446 §4.4.2).

Trust anchors (what :class:`tlsmachine.verify.DefaultVerifier` validates a peer's chain to,
RFC 8446 §4.4.2.4: :class:`TrustStore`, :func:`load_trust_store`, :func:`system_trust_store`
...) live in :mod:`tlsmachine.trust_store`. This module re-exports them, so ``tlsmachine.certs``
stays the one place to import certificate material from.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, mldsa, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .errors import ConfigurationError
from .trust_store import (
    PathLike,
    TrustStore,
    load_capath,
    load_trust_anchors,
    load_trust_store,
    system_trust_anchors,
    system_trust_store,
    unique_certificates,
)
from .trust_store import pem_certificates as _pem_certificates
from .trust_store import read_file as _read

__all__ = [
    "KEY_TYPES",
    "MIN_OWN_RSA_BITS",
    "MIN_RSA_BITS",
    "TLS13_CURVES",
    "CertifiedKey",
    "PathLike",
    "PrivateKey",
    "TrustStore",
    "certificate_sha256",
    "generate_private_key",
    "load_capath",
    "load_trust_anchors",
    "load_trust_store",
    "public_key_problem",
    "spki_sha256",
    "system_trust_anchors",
    "system_trust_store",
    "unique_certificates",
]

PrivateKey: TypeAlias = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
    | mldsa.MLDSA44PrivateKey
    | mldsa.MLDSA65PrivateKey
    | mldsa.MLDSA87PrivateKey
)
"""The private key types a TLS 1.3 CertificateVerify can be made with (RFC 8446 §4.2.3,
draft-ietf-tls-mldsa)."""

MIN_RSA_BITS = 2048
"""Smallest RSA modulus accepted from a peer (CA/B Baseline Requirements §6.1.5, as pyca)."""
MIN_OWN_RSA_BITS = 1024
"""Smallest RSA modulus for our own key: the RFC 8448 example server key has 1024 bits."""
TLS13_CURVES = ("secp256r1", "secp384r1", "secp521r1")

_CURVES: dict[str, Callable[[], ec.EllipticCurve]] = {
    "ecdsa-p256": ec.SECP256R1,
    "ecdsa-p384": ec.SECP384R1,
    "ecdsa-p521": ec.SECP521R1,
}
_MLDSA: dict[str, Callable[[], PrivateKey]] = {
    "mldsa44": mldsa.MLDSA44PrivateKey.generate,
    "mldsa65": mldsa.MLDSA65PrivateKey.generate,
    "mldsa87": mldsa.MLDSA87PrivateKey.generate,
}
KEY_TYPES = (*_CURVES, "rsa-2048", "rsa-3072", "rsa-4096", "ed25519", "ed448", *_MLDSA)
"""The ``key_type`` names :meth:`CertifiedKey.self_signed` accepts."""


def public_key_problem(public_key: object, min_rsa_bits: int = MIN_RSA_BITS) -> str | None:
    """Why a certificate's public key cannot sign a handshake of ours, or None if it can.

    RFC 8446 §4.2.3 lists the CertificateVerify schemes: RSA-PSS (rsaEncryption or id-RSASSA-PSS
    keys), ECDSA on the three NIST curves with the matching hash, Ed25519 and Ed448;
    draft-ietf-tls-mldsa adds ML-DSA-44/65/87 (TLS 1.3 only).
    """
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < min_rsa_bits:
            return (
                f"its RSA key has {public_key.key_size} bits, below the minimum of {min_rsa_bits}"
            )
        return None
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        curve = public_key.curve
        if curve.name in TLS13_CURVES:
            return None
        if curve.key_size < 256:  # below 128-bit security (RFC 5480 §4; NIST SP 800-57)
            return (
                f"its ECDSA key is on {curve.name}, a weak {curve.key_size}-bit curve"
                f" (TLS accepts {', '.join(TLS13_CURVES)})"
            )
        return f"its ECDSA key is on {curve.name}, which no TLS signature scheme we accept uses"
    if isinstance(public_key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return None
    if isinstance(public_key, _MLDSA_PUBLIC):  # every FIPS 204 parameter set is usable
        return None
    kind = type(public_key).__name__.removesuffix("PublicKey").removeprefix("_")
    return f"its {kind or 'unknown'} key cannot sign a TLS handshake we accept (RFC 8446 §4.2.3)"


_MLDSA_PUBLIC = mldsa.MLDSA44PublicKey | mldsa.MLDSA65PublicKey | mldsa.MLDSA87PublicKey


def _spki(key: CertificatePublicKeyTypes) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass(frozen=True, eq=False)
class CertifiedKey:
    """A certificate chain (leaf first) and the private key of its leaf (RFC 8446 §4.4.2).

    Construction checks that the chain is not empty, that the key is a type TLS 1.3 can sign
    with and that it belongs to the leaf certificate; otherwise :class:`ConfigurationError`.
    """

    chain: tuple[x509.Certificate, ...]
    private_key: PrivateKey = field(repr=False)
    der_chain: tuple[bytes, ...] = field(init=False, repr=False)
    """The chain as DER, computed once: the ``cert_data`` of each CertificateEntry."""

    def __post_init__(self) -> None:
        chain = tuple(self.chain)
        object.__setattr__(self, "chain", chain)
        if not chain:
            raise ConfigurationError("a certificate chain needs at least the leaf certificate")
        _check_key_class(self.private_key)
        leaf = chain[0]
        subject = leaf.subject.rfc4514_string()
        problem = public_key_problem(leaf.public_key(), MIN_OWN_RSA_BITS)
        if problem:
            raise ConfigurationError(f"certificate {subject!r}: {problem}")
        if _spki(leaf.public_key()) != _spki(self.private_key.public_key()):
            raise ConfigurationError(
                f"the private key does not match the certificate {subject!r}"
                " (its public key differs from the certificate's)"
            )
        der = tuple(c.public_bytes(serialization.Encoding.DER) for c in chain)
        object.__setattr__(self, "der_chain", der)

    @property
    def leaf(self) -> x509.Certificate:
        """The end-entity certificate (the first of the chain)."""
        return self.chain[0]

    def issued_by_any(self, names: frozenset[bytes]) -> bool:
        """Does the chain lead to one of these CAs (DER distinguished names)? True when a
        certificate of the chain was issued by, or is, one of them: how a peer's
        certificate_authorities list is matched (RFC 8446 §4.2.4, RFC 5246 §7.4.4)."""
        return any(
            c.issuer.public_bytes() in names or c.subject.public_bytes() in names
            for c in self.chain
        )

    def fingerprint_sha256(self) -> str:
        """SHA-256 of the leaf's DER as colon-separated upper-case hex (as ``openssl x509``)."""
        return certificate_sha256(self.leaf)

    def chain_pem(self) -> bytes:
        """The chain as concatenated PEM (leaf first), e.g. for a peer's ``cadata``."""
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.chain)

    def private_key_pem(self, password: bytes | None = None) -> bytes:
        """The private key as PKCS#8 PEM, encrypted with ``password`` if given."""
        encryption: serialization.KeySerializationEncryption = serialization.NoEncryption()
        if password:
            encryption = serialization.BestAvailableEncryption(password)
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    @classmethod
    def load(
        cls,
        certfile: PathLike,
        keyfile: PathLike | None = None,
        password: bytes | str | None = None,
    ) -> CertifiedKey:
        """Load a PEM chain (leaf first) and its PEM key; the key may be in ``certfile``."""
        cert_pem = _read(certfile, "certificate file")
        chain = _pem_certificates(cert_pem, os.fspath(certfile))
        key_source = keyfile if keyfile is not None else certfile
        key_pem = cert_pem if keyfile is None else _read(keyfile, "key file")
        if b"PRIVATE KEY-----" not in key_pem:
            raise ConfigurationError(f"{os.fspath(key_source)}: no PEM private key found")
        secret = password.encode() if isinstance(password, str) else password
        try:
            key = serialization.load_pem_private_key(key_pem, secret)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(
                f"{os.fspath(key_source)}: cannot load the private key ({exc})"
            ) from None
        return cls(tuple(chain), _check_key_class(key))

    @classmethod
    def self_signed(
        cls,
        hostnames: Sequence[str] = ("localhost",),
        key_type: str = "ecdsa-p256",
        valid_days: int = 365,
        *,
        now: dt.datetime | None = None,
    ) -> CertifiedKey:
        """A fresh self-signed server/client certificate for ``hostnames`` (demo and tests).

        DNS names and IP literals become SAN entries of the right kind (RFC 5280 §4.2.1.6). The
        certificate is an end-entity certificate (``CA:FALSE``, digitalSignature, EKU serverAuth
        and clientAuth); ``cryptography``'s verifier (and OpenSSL) accept such a certificate as
        its own trust anchor, so a peer can trust exactly this certificate by passing
        :meth:`chain_pem` as ``cadata`` to :class:`tlsmachine.verify.DefaultVerifier`.
        """
        names = tuple(hostnames)
        if not names:
            raise ConfigurationError("self_signed() needs at least one host name")
        if valid_days < 1:
            raise ConfigurationError(f"valid_days must be positive, not {valid_days}")
        san = x509.SubjectAlternativeName(_general_names(names))
        key = generate_private_key(key_type)
        now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        common_name = names[0] if len(names[0]) <= 64 else "tlsmachine self-signed"  # ub-cn
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        public = key.public_key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))  # tolerate small clock skew
            .not_valid_after(now + dt.timedelta(days=valid_days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(rsa_key=isinstance(key, rsa.RSAPrivateKey)), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(san, critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False
            )
        )
        return cls((builder.sign(key, _signature_hash(key)),), key)


def _check_key_class(key: object) -> PrivateKey:
    if isinstance(key, PrivateKey):
        return key
    raise ConfigurationError(
        f"{type(key).__name__} keys cannot sign TLS 1.3 handshakes; use RSA, "
        "ECDSA (P-256/P-384/P-521), Ed25519, Ed448 (RFC 8446 §4.2.3) or ML-DSA "
        "(draft-ietf-tls-mldsa)"
    )


def generate_private_key(key_type: str) -> PrivateKey:
    """A new private key of one of :data:`KEY_TYPES` (``ecdsa-p256``, ``rsa-2048``, ...)."""
    if key_type.startswith("rsa-") and key_type in KEY_TYPES:
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[4:]))
    if key_type in _CURVES:
        return ec.generate_private_key(_CURVES[key_type]())
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type == "ed448":
        return ed448.Ed448PrivateKey.generate()
    if key_type in _MLDSA:
        return _MLDSA[key_type]()
    raise ConfigurationError(f"unknown key type {key_type!r}; choose one of {', '.join(KEY_TYPES)}")


def _signature_hash(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None:
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        return None  # EdDSA (RFC 8410 §6) and ML-DSA (RFC 9881 §3) sign the message itself
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size == 384:
        return hashes.SHA384()
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size == 521:
        return hashes.SHA512()
    return hashes.SHA256()


def _key_usage(*, rsa_key: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=rsa_key,  # TLS 1.2 RSA key transport peers expect it on RSA certs
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _general_names(names: Sequence[str]) -> list[x509.GeneralName]:
    result: list[x509.GeneralName] = []
    for name in names:
        try:
            result.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            try:
                result.append(x509.DNSName(name.encode("idna").decode("ascii")))
            except (UnicodeError, ValueError) as exc:
                raise ConfigurationError(f"{name!r} is not a valid host name ({exc})") from None
    return result


# --- fingerprints ---------------------------------------------------------------------------


def certificate_sha256(cert: x509.Certificate) -> str:
    """SHA-256 of the certificate's DER, colon-separated upper-case hex (as ``openssl x509
    -fingerprint -sha256`` and browsers show it)."""
    return ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))


def spki_sha256(cert: x509.Certificate) -> str:
    """``sha256/<base64>`` of the certificate's SubjectPublicKeyInfo: an RFC 7469 §2.4
    ``pin-sha256`` (curl's ``--pinnedpubkey sha256//...``), unchanged when a certificate is
    renewed with the same key."""
    digest = hashlib.sha256(_spki(cert.public_key())).digest()
    return "sha256/" + base64.b64encode(digest).decode("ascii")
