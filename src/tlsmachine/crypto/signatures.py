"""Signature schemes: sign/verify and which schemes fit which key (RFC 8446 §4.2.3, §4.4.3).

TLS 1.3 CertificateVerify (``tls13=True``, the default) allows only ECDSA with the curve named by
the scheme, RSASSA-PSS (salt length = hash length, MGF1 with the same hash) and EdDSA. The
``rsa_pkcs1_*`` schemes "refer solely to signatures which appear in certificates ... and are
not defined for use in signed TLS handshake messages" (§4.2.3): a peer that uses one in a 1.3
CertificateVerify gets ``illegal_parameter``. With ``tls13=False`` (TLS 1.2 ServerKeyExchange,
RFC 5246 §7.4.1.4.1 / RFC 8422 §5.4) PKCS#1 v1.5 and the SHA-1 schemes are allowed and an ECDSA
scheme names only the hash, not the curve.

``rsa_pss_rsae_*`` needs an RSA key whose SubjectPublicKeyInfo says rsaEncryption and
``rsa_pss_pss_*`` one that says id-RSASSA-PSS (§4.2.3). pyca/cryptography (48-50) loads
RSASSA-PSS keys as ordinary ``RSAPublicKey``/``RSAPrivateKey`` objects and drops the OID and
any PSS parameter restrictions, so the key object cannot tell: callers pass
``rsassa_pss=spki_is_rsassa_pss(certificate)``. Verification and signing of ``rsa_pss_pss_*``
therefore work; restrictions inside the key's PSS parameters (a fixed hash) are not enforced.

ML-DSA (draft-ietf-tls-mldsa, FIPS 204): ``mldsa44``/``mldsa65``/``mldsa87`` sign the same
§4.4.3 content as every other scheme, in pure ML-DSA (never HashML-DSA) with the FIPS 204
context parameter ``ctx`` empty (draft §3.2; unrelated to the §4.4.3 context string). Each
needs a certificate whose key is id-ML-DSA-44/65/87 (RFC 9881). The schemes exist for TLS 1.3
only: "MUST NOT be used in TLS 1.2" (draft §3.3), so ``tls13=False`` never chooses one, and
one in a TLS 1.2 ServerKeyExchange or CertificateVerify gets ``illegal_parameter`` as the
draft requires. A signature of the wrong length simply does not verify: ``decrypt_error``
(draft §3.2).

Errors: a signature that does not verify -> :class:`DecryptError` (§4.4.3); a scheme that is
unknown, not allowed in the version, or unfit for the peer's key -> :class:`IllegalParameter`.
Signing with a scheme unfit for our own key is a local bug -> :class:`InternalError`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, mldsa, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.x509.oid import PublicKeyAlgorithmOID

from ..enums import SignatureScheme as S
from ..enums import name_of
from ..errors import DecryptError, IllegalParameter, InternalError, ProtocolError


@dataclass(frozen=True, slots=True)
class _Scheme:
    kind: str  # "ecdsa", "rsae" (rsa_pss_rsae), "pss" (rsa_pss_pss), "pkcs1", "ed25519",
    # "ed448", "mldsa44", "mldsa65", "mldsa87"
    hash: hashes.HashAlgorithm | None
    curve: str | None = None  # the curve a TLS 1.3 ECDSA scheme requires (pyca curve name)
    tls13: bool = True  # allowed in a TLS 1.3 CertificateVerify
    tls12: bool = True  # allowed in a TLS 1.2 ServerKeyExchange / CertificateVerify


_SHA256, _SHA384, _SHA512 = hashes.SHA256(), hashes.SHA384(), hashes.SHA512()
# SHA-1 only for the TLS 1.2 legacy schemes rsa_pkcs1_sha1/ecdsa_sha1 (RFC 8446 §4.2.3): never
# advertised, never chosen by schemes_for_key, never accepted in TLS 1.3.
_SHA1 = hashes.SHA1()  # noqa: S303
_SCHEMES: dict[int, _Scheme] = {
    S.ECDSA_SECP256R1_SHA256: _Scheme("ecdsa", _SHA256, "secp256r1"),
    S.ECDSA_SECP384R1_SHA384: _Scheme("ecdsa", _SHA384, "secp384r1"),
    S.ECDSA_SECP521R1_SHA512: _Scheme("ecdsa", _SHA512, "secp521r1"),
    S.ED25519: _Scheme("ed25519", None),
    S.ED448: _Scheme("ed448", None),
    S.RSA_PSS_RSAE_SHA256: _Scheme("rsae", _SHA256),
    S.RSA_PSS_RSAE_SHA384: _Scheme("rsae", _SHA384),
    S.RSA_PSS_RSAE_SHA512: _Scheme("rsae", _SHA512),
    S.RSA_PSS_PSS_SHA256: _Scheme("pss", _SHA256),
    S.RSA_PSS_PSS_SHA384: _Scheme("pss", _SHA384),
    S.RSA_PSS_PSS_SHA512: _Scheme("pss", _SHA512),
    # draft-ietf-tls-mldsa §3: after the classical schemes; TLS 1.3 only (§3.3)
    S.MLDSA44: _Scheme("mldsa44", None, tls12=False),
    S.MLDSA65: _Scheme("mldsa65", None, tls12=False),
    S.MLDSA87: _Scheme("mldsa87", None, tls12=False),
    S.RSA_PKCS1_SHA256: _Scheme("pkcs1", _SHA256, tls13=False),
    S.RSA_PKCS1_SHA384: _Scheme("pkcs1", _SHA384, tls13=False),
    S.RSA_PKCS1_SHA512: _Scheme("pkcs1", _SHA512, tls13=False),
    S.RSA_PKCS1_SHA1: _Scheme("pkcs1", _SHA1, tls13=False),
    S.ECDSA_SHA1: _Scheme("ecdsa", _SHA1, tls13=False),
}

#: Schemes a TLS 1.3 CertificateVerify may use (RFC 8446 §4.2.3), in our preference order.
TLS13_CERTIFICATE_VERIFY_SCHEMES: tuple[int, ...] = tuple(
    s for s, info in _SCHEMES.items() if info.tls13
)

#: Schemes TLS 1.2 may use in ServerKeyExchange and CertificateVerify (RFC 5246 §7.4.1.4.1):
#: everything but ML-DSA (draft-ietf-tls-mldsa §3.3), SHA-1 ones included (never chosen).
TLS12_SCHEMES: frozenset[int] = frozenset(s for s, info in _SCHEMES.items() if info.tls12)
#: Schemes defined for TLS 1.3 only (ML-DSA, draft-ietf-tls-mldsa §3.3): not advertised in a
#: TLS 1.2 signature_algorithms or CertificateRequest.
TLS13_ONLY_SCHEMES: frozenset[int] = frozenset(s for s, info in _SCHEMES.items() if not info.tls12)


def tls12_advertised(schemes: tuple[int, ...]) -> tuple[int, ...]:
    """``schemes`` without the TLS 1.3-only ones (unknown code points are kept: a peer that
    does not know them ignores them, RFC 5246 §7.4.1.4.1)."""
    return tuple(s for s in schemes if s not in TLS13_ONLY_SCHEMES)


#: What we advertise in signature_algorithms. The rsa_pkcs1_* schemes are there because, without
#: a separate signature_algorithms_cert, this list also says which certificate signatures we
#: accept (RFC 8446 §4.2.3) and most CAs sign with PKCS#1 v1.5; TLS 1.2 needs them too. They are
#: never accepted in a TLS 1.3 CertificateVerify. SHA-1 schemes are not advertised. The ML-DSA
#: schemes (draft-ietf-tls-mldsa) follow the classical CertificateVerify schemes: a server with
#: an ML-DSA certificate can use it, and a peer that does not know them ignores them as it
#: ignores any scheme it does not implement, so offering them costs six bytes. Whether they
#: come before or after rsa_pkcs1_* changes nothing: those never sign a TLS 1.3
#: CertificateVerify, and ML-DSA never signs in TLS 1.2.
DEFAULT_SIGNATURE_SCHEMES: tuple[int, ...] = (
    *TLS13_CERTIFICATE_VERIFY_SCHEMES,
    S.RSA_PKCS1_SHA256,
    S.RSA_PKCS1_SHA384,
    S.RSA_PKCS1_SHA512,
)

_CONTEXT_SERVER = b"TLS 1.3, server CertificateVerify"
_CONTEXT_CLIENT = b"TLS 1.3, client CertificateVerify"


def certificate_verify_input(transcript_hash: bytes, *, server: bool) -> bytes:
    """The signed content of CertificateVerify (RFC 8446 §4.4.3): 64 spaces, the context
    string, a zero byte, then Transcript-Hash(Handshake Context, Certificate)."""
    context = _CONTEXT_SERVER if server else _CONTEXT_CLIENT
    return b" " * 64 + context + b"\x00" + transcript_hash


def spki_is_rsassa_pss(certificate: x509.Certificate) -> bool:
    """True if the certificate's key is an RSASSA-PSS key (id-RSASSA-PSS, RFC 4055)."""
    return certificate.public_key_algorithm_oid == PublicKeyAlgorithmOID.RSASSA_PSS


def _key_kind(key: PrivateKeyTypes | PublicKeyTypes) -> tuple[str, str | None]:
    kind = _kind_of_class(type(key))
    if kind == "ec":
        return kind, cast(ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey, key).curve.name
    return kind, None


_KINDS: tuple[tuple[str, tuple[type, ...]], ...] = (
    ("rsa", (rsa.RSAPrivateKey, rsa.RSAPublicKey)),
    ("ec", (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)),
    ("ed25519", (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)),
    ("ed448", (ed448.Ed448PrivateKey, ed448.Ed448PublicKey)),
    ("mldsa44", (mldsa.MLDSA44PrivateKey, mldsa.MLDSA44PublicKey)),
    ("mldsa65", (mldsa.MLDSA65PrivateKey, mldsa.MLDSA65PublicKey)),
    ("mldsa87", (mldsa.MLDSA87PrivateKey, mldsa.MLDSA87PublicKey)),
)


@functools.lru_cache(maxsize=32)
def _kind_of_class(key_class: type) -> str:
    """The kind of a key class: rsa, ec, ed25519, ed448, mldsa44/65/87 or the class name (ABC
    checks are slow, so the answer is cached per class)."""
    for kind, classes in _KINDS:
        if issubclass(key_class, classes):
            return kind
    return key_class.__name__


def key_kind(key: PrivateKeyTypes | PublicKeyTypes) -> str:
    """``rsa``, ``ec``, ``ed25519``, ``ed448``, ``mldsa44``, ``mldsa65``, ``mldsa87``, or the
    class name of a key type no scheme fits."""
    return _kind_of_class(type(key))


def _fits(info: _Scheme, kind: str, curve: str | None, rsassa_pss: bool, tls13: bool) -> bool:
    if not (info.tls13 if tls13 else info.tls12):
        return False
    if info.kind == "ecdsa":
        return kind == "ec" and (not tls13 or curve == info.curve)
    if info.kind in ("rsae", "pkcs1"):
        return kind == "rsa" and not rsassa_pss
    if info.kind == "pss":
        return kind == "rsa" and rsassa_pss
    return kind == info.kind  # ed25519, ed448, mldsa44/65/87


def _check(
    scheme: int,
    key: PrivateKeyTypes | PublicKeyTypes,
    rsassa_pss: bool,
    tls13: bool,
    error: type[ProtocolError],
) -> _Scheme:
    info = _SCHEMES.get(scheme)
    if info is None:
        raise error(f"unsupported signature scheme {name_of(S, scheme)}")
    if tls13 and not info.tls13:  # RFC 8446 §4.4.3: not for TLS 1.3 handshake signatures
        name = name_of(S, scheme)
        raise error(f"signature scheme {name} is not allowed in TLS 1.3 CertificateVerify")
    if not tls13 and not info.tls12:  # draft-ietf-tls-mldsa §3.3: illegal_parameter
        name = name_of(S, scheme)
        raise error(f"signature scheme {name} is not allowed in TLS 1.2 (TLS 1.3 only)")
    kind, curve = _key_kind(key)
    if not _fits(info, kind, curve, rsassa_pss, tls13):
        pss = " (RSASSA-PSS key)" if rsassa_pss else ""
        name = name_of(S, scheme)
        raise error(f"signature scheme {name} does not fit a {kind} {curve or ''}{pss} key")
    return info


_MLDSA_PRIVATE = mldsa.MLDSA44PrivateKey | mldsa.MLDSA65PrivateKey | mldsa.MLDSA87PrivateKey
_MLDSA_PUBLIC = mldsa.MLDSA44PublicKey | mldsa.MLDSA65PublicKey | mldsa.MLDSA87PublicKey
# draft-ietf-tls-mldsa §3.2: "The context parameter defined in FIPS 204 Algorithm 2 and 3 MUST
# be the empty string" (the RFC 8446 §4.4.3 context string is part of the signed data instead).
_MLDSA_CONTEXT = b""


def _pss(algorithm: hashes.HashAlgorithm) -> padding.PSS:
    # RFC 8446 §4.2.3: "The length of the Salt MUST be equal to the length of the output of
    # the digest algorithm"; MGF1 uses the same hash.
    return padding.PSS(mgf=padding.MGF1(algorithm), salt_length=algorithm.digest_size)


def sign(
    scheme: int,
    private_key: PrivateKeyTypes,
    data: bytes,
    *,
    tls13: bool = True,
    rsassa_pss: bool = False,
) -> bytes:
    """Sign ``data`` (e.g. :func:`certificate_verify_input`) with ``scheme``."""
    info = _check(scheme, private_key, rsassa_pss, tls13, InternalError)
    if isinstance(private_key, ec.EllipticCurvePrivateKey) and info.hash:
        return private_key.sign(data, ec.ECDSA(info.hash))
    if isinstance(private_key, rsa.RSAPrivateKey) and info.hash:
        pad = padding.PKCS1v15() if info.kind == "pkcs1" else _pss(info.hash)
        return private_key.sign(data, pad, info.hash)
    if isinstance(private_key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return private_key.sign(data)
    if isinstance(private_key, _MLDSA_PRIVATE):
        return private_key.sign(data, _MLDSA_CONTEXT)  # pure ML-DSA, empty ctx (draft §3.2)
    raise InternalError(f"cannot sign with {type(private_key).__name__}")  # pragma: no cover


def verify(
    scheme: int,
    public_key: PublicKeyTypes,
    signature: bytes,
    data: bytes,
    *,
    tls13: bool = True,
    rsassa_pss: bool = False,
) -> None:
    """Verify the peer's ``signature`` over ``data``; return normally only if it is valid.

    ``rsassa_pss``: the key's certificate says id-RSASSA-PSS (:func:`spki_is_rsassa_pss`).
    """
    info = _check(scheme, public_key, rsassa_pss, tls13, IllegalParameter)
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey) and info.hash:
            public_key.verify(signature, data, ec.ECDSA(info.hash))
        elif isinstance(public_key, rsa.RSAPublicKey) and info.hash:
            pad = padding.PKCS1v15() if info.kind == "pkcs1" else _pss(info.hash)
            public_key.verify(signature, data, pad, info.hash)
        elif isinstance(public_key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            public_key.verify(signature, data)
        elif isinstance(public_key, _MLDSA_PUBLIC):
            public_key.verify(signature, data, _MLDSA_CONTEXT)
        else:  # pragma: no cover - _check accepts only the key types above
            raise IllegalParameter(f"cannot verify with {type(public_key).__name__}")
    except (InvalidSignature, ValueError, UnsupportedAlgorithm):
        raise DecryptError(f"{name_of(S, scheme)} signature does not verify") from None


def _pss_fits(key_size: int, algorithm: hashes.HashAlgorithm) -> bool:
    # RFC 8017 §9.1.1: emLen >= hLen + sLen + 2 with sLen = hLen, emLen = ceil((modBits-1)/8)
    return (key_size - 1 + 7) // 8 >= 2 * algorithm.digest_size + 2


def schemes_for_key(
    private_key: PrivateKeyTypes, *, tls13: bool = True, rsassa_pss: bool = False
) -> tuple[int, ...]:
    """Schemes this key can sign with, in our preference order (empty if none).

    TLS 1.3: the CertificateVerify schemes only; an RSA key gets the PSS schemes its modulus is
    large enough for. TLS 1.2 (``tls13=False``): also PKCS#1 v1.5, and ECDSA with any hash.
    """
    kind, curve = _key_kind(private_key)
    rsa_bits = cast(rsa.RSAPrivateKey, private_key).key_size if kind == "rsa" else None
    return _schemes_for(kind, curve, rsa_bits, rsassa_pss, tls13)


@functools.lru_cache(maxsize=64)
def _schemes_for(
    kind: str, curve: str | None, rsa_bits: int | None, rsassa_pss: bool, tls13: bool
) -> tuple[int, ...]:
    """:func:`schemes_for_key` from what matters about the key (a server asks every handshake)."""
    out = []
    for scheme, info in _SCHEMES.items():
        if info.hash is _SHA1 or not _fits(info, kind, curve, rsassa_pss, tls13):
            continue
        if rsa_bits and info.kind != "pkcs1" and info.hash and not _pss_fits(rsa_bits, info.hash):
            continue
        out.append(scheme)
    if kind == "ec":  # TLS 1.2: the scheme naming our own curve first
        out.sort(key=lambda s: _SCHEMES[s].curve != curve)
    return tuple(out)


def select_scheme(
    private_key: PrivateKeyTypes,
    peer_schemes: Iterable[int],
    *,
    tls13: bool = True,
    rsassa_pss: bool = False,
) -> int | None:
    """Our most preferred scheme for this key that the peer offered, or ``None``."""
    offered = set(peer_schemes)
    for scheme in schemes_for_key(private_key, tls13=tls13, rsassa_pss=rsassa_pss):
        if scheme in offered:
            return scheme
    return None
