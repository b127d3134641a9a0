"""A throw-away test PKI: a CA, an optional intermediate CA and leaf certificates, as PEM files.

The files are usable by ``openssl s_server``, ``gnutls-serv``, Python's ``ssl`` and
:meth:`tlsmachine.certs.CertifiedKey.load`. Leaves follow RFC 5280 / CA/B-forum "web PKI" shape
(what ``cryptography.x509.verification`` checks): SANs ``DNS:localhost``, ``IP:127.0.0.1``,
``IP:::1``; basicConstraints ``CA:FALSE``; digitalSignature key usage; EKU serverAuth + clientAuth
(so any leaf can also be a client certificate, RFC 8446 §4.4.2.3).

Usage::

    pki = make_pki(tmp_path, intermediate=True)
    pki.ca_path                       # trust anchor(s) for the client: ca.pem
    leaf = pki.leaves["ecdsa-p256"]   # Issued: cert, key, cert_path, key_path, chain_path, ...
    pki.expired, pki.not_yet_valid, pki.other_host, pki.untrusted

Files written in ``directory`` (``NAME`` is each leaf's name)::

    ca.pem (= ca-cert.pem), ca-key.pem      root CA (self-signed, ECDSA P-256)
    intermediate.pem, intermediate-key.pem  only with ``intermediate=True`` (+ -cert.pem ...)
    NAME-cert.pem                           the leaf alone
    NAME-key.pem                            its private key, PKCS#8, unencrypted
    NAME-chain.pem                          leaf + intermediate (what a server sends)
    NAME-combined.pem                       chain + key in one file

Leaf names: ``rsa-2048``, ``ecdsa-p256``, ``ecdsa-p384``, ``ed25519`` (all valid, for
``localhost``), ``expired`` (expired on 2020-01-01), ``not-yet-valid`` (valid from
2099-01-01), ``other-host`` (only ``DNS:other.example``), ``untrusted`` (self-signed, not
issued by the CA, names as a valid leaf).

ML-DSA (FIPS 204, RFC 9881): ``key_types=`` may add ``mldsa44``/``mldsa65``/``mldsa87`` leaves,
and ``ca_key_type``/``intermediate_key_type`` may be ML-DSA too, for all-ML-DSA chains.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, mldsa, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PrivateKey = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
    | mldsa.MLDSA44PrivateKey
    | mldsa.MLDSA65PrivateKey
    | mldsa.MLDSA87PrivateKey
)

MLDSAPrivateKey = mldsa.MLDSA44PrivateKey | mldsa.MLDSA65PrivateKey | mldsa.MLDSA87PrivateKey

KEY_TYPES = ("rsa-2048", "ecdsa-p256", "ecdsa-p384", "ed25519")
LOCAL_NAMES: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
DEFAULT_EKU = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH)
EXPIRED_NOT_AFTER = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
NOT_YET_VALID_NOT_BEFORE = dt.datetime(2099, 1, 1, tzinfo=dt.UTC)


def generate_key(key_type: str) -> PrivateKey:
    """A fresh key: ``rsa-2048``/``rsa-3072``, ``ecdsa-p256/384/521``, ``ed25519``, ``ed448``,
    ``mldsa44``/``mldsa65``/``mldsa87`` (FIPS 204)."""
    if key_type.startswith("rsa-"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[4:]))
    curves: dict[str, ec.EllipticCurve] = {
        "ecdsa-p256": ec.SECP256R1(),
        "ecdsa-p384": ec.SECP384R1(),
        "ecdsa-p521": ec.SECP521R1(),
    }
    if key_type in curves:
        return ec.generate_private_key(curves[key_type])
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if key_type == "ed448":
        return ed448.Ed448PrivateKey.generate()
    if key_type == "mldsa44":
        return mldsa.MLDSA44PrivateKey.generate()
    if key_type == "mldsa65":
        return mldsa.MLDSA65PrivateKey.generate()
    if key_type == "mldsa87":
        return mldsa.MLDSA87PrivateKey.generate()
    raise ValueError(f"unknown key type {key_type!r}")


def _hash_for(key: PrivateKey) -> hashes.SHA256 | hashes.SHA384 | None:
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return None  # EdDSA signs the message itself (RFC 8410)
    if isinstance(key, MLDSAPrivateKey):
        return None  # so does ML-DSA (RFC 9881 §3: pure ML-DSA, no pre-hash)
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size > 256:
        return hashes.SHA384()
    return hashes.SHA256()


def san_for(names: tuple[str, ...]) -> x509.SubjectAlternativeName:
    """DNS names and IP literals (v4/v6) as the right GeneralName kinds (RFC 5280 §4.2.1.6)."""
    general: list[x509.GeneralName] = []
    for name in names:
        try:
            general.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            general.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(general)


@dataclass(frozen=True)
class Issued:
    """One certificate with its key and the PEM files written for it."""

    name: str
    cert: x509.Certificate
    key: PrivateKey
    cert_path: Path
    key_path: Path
    chain: tuple[x509.Certificate, ...]  # leaf first, then intermediates (no root)
    chain_path: Path
    combined_path: Path

    @property
    def der_chain(self) -> tuple[bytes, ...]:
        return tuple(c.public_bytes(serialization.Encoding.DER) for c in self.chain)


@dataclass(frozen=True)
class TestPKI:
    """Everything :func:`make_pki` created."""

    __test__ = False  # not a pytest test class

    directory: Path
    now: dt.datetime
    ca: Issued
    ca_path: Path
    intermediate: Issued | None
    leaves: dict[str, Issued] = field(default_factory=dict)

    @property
    def expired(self) -> Issued:
        return self.leaves["expired"]

    @property
    def not_yet_valid(self) -> Issued:
        return self.leaves["not-yet-valid"]

    @property
    def other_host(self) -> Issued:
        return self.leaves["other-host"]

    @property
    def untrusted(self) -> Issued:
        return self.leaves["untrusted"]

    @property
    def ca_pem(self) -> bytes:
        return self.ca_path.read_bytes()


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tlsmachine tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def build_certificate(
    *,
    subject: str,
    key: Any,
    issuer: tuple[x509.Certificate, PrivateKey] | None,
    not_before: dt.datetime,
    not_after: dt.datetime,
    ca: bool,
    names: tuple[str, ...] = (),
    san: x509.SubjectAlternativeName | None = None,
    eku: tuple[x509.ObjectIdentifier, ...] | None = DEFAULT_EKU,
) -> x509.Certificate:
    """Build one certificate; ``issuer=None`` makes it self-signed.

    ``names`` become the SAN (DNS or IP by syntax) unless ``san`` is given; leaves (``ca=False``)
    get the extended key usages ``eku`` (None: no EKU extension). Tests use the knobs to build
    broken certificates (wrong signer, CA leaf, serverAuth-only, DSA key, ...).
    """
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer[0].subject if issuer else _name(subject))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    signer_key = issuer[1] if issuer else key
    aki_source = issuer[1].public_key() if issuer else public
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(aki_source), critical=False
    )
    rsa_leaf = isinstance(key, rsa.RSAPrivateKey) and not ca
    builder = builder.add_extension(
        x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=rsa_leaf,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=ca,
            crl_sign=ca,
            encipher_only=False,
            decipher_only=False,
        ),
        critical=True,
    )
    if san is not None or names:
        builder = builder.add_extension(san or san_for(names), critical=False)
    if not ca and eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    return builder.sign(signer_key, _hash_for(signer_key))


def _write(
    directory: Path,
    name: str,
    cert: x509.Certificate,
    key: PrivateKey,
    intermediates: tuple[x509.Certificate, ...],
) -> Issued:
    cert_path = directory / f"{name}-cert.pem"
    key_path = directory / f"{name}-key.pem"
    chain_path = directory / f"{name}-chain.pem"
    combined_path = directory / f"{name}-combined.pem"
    chain = (cert, *intermediates)
    chain_pem = b"".join(_pem(c) for c in chain)
    cert_path.write_bytes(_pem(cert))
    key_path.write_bytes(_key_pem(key))
    key_path.chmod(0o600)
    chain_path.write_bytes(chain_pem)
    combined_path.write_bytes(chain_pem + _key_pem(key))
    combined_path.chmod(0o600)
    return Issued(name, cert, key, cert_path, key_path, chain, chain_path, combined_path)


def make_pki(
    directory: Path,
    *,
    intermediate: bool = False,
    now: dt.datetime | None = None,
    key_types: tuple[str, ...] = KEY_TYPES,
    ca_key_type: str = "ecdsa-p256",
    ca_name: str = "tlsmachine test root CA",
    intermediate_key_type: str = "ecdsa-p256",
) -> TestPKI:
    """Create the CA, the optional intermediate and all leaves in ``directory`` (must exist).

    Valid certificates run from ``now - 1 day`` to ``now + 30 days``; the CA from ``now - 1 day``
    to ``now + 10 years`` (``now`` defaults to the current time, UTC).
    """
    now = now or dt.datetime.now(dt.UTC)
    start, end = now - dt.timedelta(days=1), now + dt.timedelta(days=30)
    ca_key = generate_key(ca_key_type)
    ca_cert = build_certificate(
        subject=ca_name,
        key=ca_key,
        issuer=None,
        not_before=start,
        not_after=now + dt.timedelta(days=3650),
        ca=True,
    )
    ca = _write(directory, "ca", ca_cert, ca_key, ())
    ca_path = directory / "ca.pem"  # the classic name, besides ca-cert.pem
    ca_path.write_bytes(_pem(ca_cert))

    signer: tuple[x509.Certificate, PrivateKey] = (ca_cert, ca_key)
    inter: Issued | None = None
    intermediates: tuple[x509.Certificate, ...] = ()
    if intermediate:
        inter_key = generate_key(intermediate_key_type)
        inter_cert = build_certificate(
            subject="tlsmachine test intermediate CA",
            key=inter_key,
            issuer=signer,
            not_before=start,
            not_after=now + dt.timedelta(days=1825),
            ca=True,
        )
        inter = _write(directory, "intermediate", inter_cert, inter_key, ())
        (directory / "intermediate.pem").write_bytes(_pem(inter_cert))
        signer, intermediates = (inter_cert, inter_key), (inter_cert,)

    leaves: dict[str, Issued] = {}

    def leaf(
        name: str,
        key_type: str,
        names: tuple[str, ...] = LOCAL_NAMES,
        not_before: dt.datetime = start,
        not_after: dt.datetime = end,
        self_signed: bool = False,
    ) -> None:
        key = generate_key(key_type)
        cert = build_certificate(
            subject=names[0],
            key=key,
            issuer=None if self_signed else signer,
            not_before=not_before,
            not_after=not_after,
            ca=False,
            names=names,
        )
        leaves[name] = _write(directory, name, cert, key, () if self_signed else intermediates)

    for key_type in key_types:
        leaf(key_type, key_type)
    leaf(
        "expired",
        "ecdsa-p256",
        not_before=EXPIRED_NOT_AFTER - dt.timedelta(days=365),
        not_after=EXPIRED_NOT_AFTER,
    )
    leaf(
        "not-yet-valid",
        "ecdsa-p256",
        not_before=NOT_YET_VALID_NOT_BEFORE,
        not_after=NOT_YET_VALID_NOT_BEFORE + dt.timedelta(days=30),
    )
    leaf("other-host", "ecdsa-p256", names=("other.example",))
    leaf("untrusted", "ecdsa-p256", self_signed=True)
    return TestPKI(directory, now, ca, ca_path, inter, leaves)
