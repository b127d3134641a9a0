"""Cipher suite descriptors: TLS 1.3 (RFC 8446 §B.4, §5.2, §5.3, §7.3) and TLS 1.2 AEAD.

A :class:`CipherSuite` bundles what a TLS 1.3 suite fixes: the AEAD with its key, IV and tag
lengths, and the hash used by HKDF and the transcript. ``suite.aead(key)`` returns a ready
pyca/cryptography AEAD object; the record layer builds it once per traffic key and computes
per-record nonces itself (RFC 8446 §5.3). Config code works with these objects, wire code with
``suite.id``; :func:`suite_by_id` maps back.

A :class:`CipherSuite12` is a TLS 1.2 suite, which also fixes the key exchange and the server
certificate's key type. We implement only AEAD suites with forward secrecy (RFC 7525 §4.2):
ECDHE/DHE with AES-GCM (RFC 5288, RFC 8422 §6) or ChaCha20-Poly1305 (RFC 7905). Their PRF hash
(RFC 5246 §5) is the suite's hash; the key block (§6.3) has no MAC keys, only the write keys and
the implicit IVs: the 4-byte GCM salt (RFC 5288 §3) or the 12-byte ChaCha20 IV (RFC 7905 §2).
:func:`suite12_by_id` maps code points back. The two registries are separate on purpose: a TLS
1.2 code point is never a TLS 1.3 suite and vice versa (RFC 8446 §B.4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from ..enums import CipherSuiteId

BytesLike = bytes | bytearray | memoryview


class AEADCipher(Protocol):
    """What the record layer needs from an AEAD (RFC 5116), keyed at construction.

    pyca's ``AESGCM``, ``ChaCha20Poly1305`` and ``AESCCM`` fit. ``decrypt`` raises
    ``cryptography.exceptions.InvalidTag`` on a forgery (the record layer's ``bad_record_mac``).
    """

    def encrypt(self, nonce: BytesLike, data: BytesLike, aad: BytesLike | None, /) -> bytes: ...

    def decrypt(self, nonce: BytesLike, data: BytesLike, aad: BytesLike | None, /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class CipherSuite:
    """A TLS 1.3 cipher suite: ``TLS_AEAD_HASH`` (RFC 8446 §B.4)."""

    id: int
    name: str
    hash_name: str  # hashlib name, also used by keyschedule: "sha256" / "sha384"
    hash_len: int
    key_len: int
    iv_len: int  # RFC 8446 §5.3: iv_length = max(8, N_MIN) = 12 for every TLS 1.3 AEAD
    tag_len: int
    aead: Callable[[bytes], AEADCipher] = field(repr=False, compare=False)

    def __str__(self) -> str:
        return self.name


def _aes_ccm_16(key: bytes) -> AEADCipher:
    return AESCCM(key, tag_length=16)  # TLS_AES_128_CCM_SHA256: full 16-byte tag (RFC 8446 §B.4)


TLS_AES_128_GCM_SHA256 = CipherSuite(
    CipherSuiteId.TLS_AES_128_GCM_SHA256, "TLS_AES_128_GCM_SHA256", "sha256", 32, 16, 12, 16, AESGCM
)
TLS_AES_256_GCM_SHA384 = CipherSuite(
    CipherSuiteId.TLS_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384", "sha384", 48, 32, 12, 16, AESGCM
)
TLS_CHACHA20_POLY1305_SHA256 = CipherSuite(
    CipherSuiteId.TLS_CHACHA20_POLY1305_SHA256,
    "TLS_CHACHA20_POLY1305_SHA256",
    "sha256",
    32,
    32,
    12,
    16,
    ChaCha20Poly1305,
)
TLS_AES_128_CCM_SHA256 = CipherSuite(
    CipherSuiteId.TLS_AES_128_CCM_SHA256,
    "TLS_AES_128_CCM_SHA256",
    "sha256",
    32,
    16,
    12,
    16,
    _aes_ccm_16,
)

#: Every TLS 1.3 suite we implement, in our preference order.
TLS13_SUITES: tuple[CipherSuite, ...] = (
    TLS_AES_128_GCM_SHA256,
    TLS_AES_256_GCM_SHA384,
    TLS_CHACHA20_POLY1305_SHA256,
    TLS_AES_128_CCM_SHA256,
)
#: What we offer/accept unless configured otherwise (CCM is opt-in, as in OpenSSL).
DEFAULT_TLS13_SUITES: tuple[CipherSuite, ...] = TLS13_SUITES[:3]

_BY_ID = {s.id: s for s in TLS13_SUITES}


def suite_by_id(suite_id: int) -> CipherSuite | None:
    """The TLS 1.3 suite with this code point, or ``None`` if we do not implement it."""
    return _BY_ID.get(suite_id)


@dataclass(frozen=True, slots=True)
class CipherSuite12:
    """A TLS 1.2 AEAD cipher suite: ``TLS_KX_WITH_AEAD_HASH`` (RFC 5246 §A.5, RFC 5288 §3)."""

    id: int
    name: str  # IANA name, e.g. "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
    key_exchange: str  # "ECDHE" or "DHE"
    authentication: str  # "ECDSA" or "RSA": the server certificate's key type
    hash_name: str  # PRF hash, "sha256" / "sha384" (RFC 5246 §5, RFC 5288 §3)
    hash_len: int
    key_len: int
    fixed_iv_len: int  # 4 for AES-GCM (RFC 5288 §3), 12 for ChaCha20-Poly1305 (RFC 7905 §2)
    record_iv_len: int  # 8 for AES-GCM (the explicit nonce), 0 for ChaCha20-Poly1305
    tag_len: int
    aead: Callable[[bytes], AEADCipher] = field(repr=False, compare=False)

    def __str__(self) -> str:
        return self.name


def _suite12(suite_id: CipherSuiteId, aead: Callable[[bytes], AEADCipher]) -> CipherSuite12:
    """Everything else follows from the IANA name: ``TLS_{KX}_{AUTH}_WITH_{AEAD}_{HASH}``."""
    name = suite_id.name
    kx, auth = name.removeprefix("TLS_").split("_WITH_")[0].split("_")
    sha384 = name.endswith("_SHA384")
    if "CHACHA20" in name:  # RFC 7905 §2: 12-byte IV, XORed with the sequence number
        key_len, fixed_iv_len, record_iv_len = 32, 12, 0
    else:  # RFC 5288 §3: 4-byte salt and an 8-byte explicit nonce per record
        key_len, fixed_iv_len, record_iv_len = (32 if "AES_256" in name else 16), 4, 8
    return CipherSuite12(
        suite_id,
        name,
        kx,
        auth,
        "sha384" if sha384 else "sha256",
        48 if sha384 else 32,
        key_len,
        fixed_iv_len,
        record_iv_len,
        16,
        aead,
    )


TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 = _suite12(
    CipherSuiteId.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, AESGCM
)
TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 = _suite12(
    CipherSuiteId.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, AESGCM
)
TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 = _suite12(
    CipherSuiteId.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, ChaCha20Poly1305
)
TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 = _suite12(
    CipherSuiteId.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, AESGCM
)
TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 = _suite12(
    CipherSuiteId.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, AESGCM
)
TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 = _suite12(
    CipherSuiteId.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, ChaCha20Poly1305
)
TLS_DHE_RSA_WITH_AES_128_GCM_SHA256 = _suite12(
    CipherSuiteId.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256, AESGCM
)
TLS_DHE_RSA_WITH_AES_256_GCM_SHA384 = _suite12(
    CipherSuiteId.TLS_DHE_RSA_WITH_AES_256_GCM_SHA384, AESGCM
)
TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256 = _suite12(
    CipherSuiteId.TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256, ChaCha20Poly1305
)

#: Every TLS 1.2 suite we implement, in our preference order: ECDHE-ECDSA, ECDHE-RSA, DHE-RSA
#: (smaller and faster key exchange and signatures first), each with AES-128-GCM, AES-256-GCM,
#: ChaCha20-Poly1305.
TLS12_SUITES: tuple[CipherSuite12, ...] = (
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
    TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
    TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
)
#: What we offer/accept unless configured otherwise: all of them.
DEFAULT_TLS12_SUITES: tuple[CipherSuite12, ...] = TLS12_SUITES

_BY_ID12 = {s.id: s for s in TLS12_SUITES}


def suite12_by_id(suite_id: int) -> CipherSuite12 | None:
    """The TLS 1.2 suite with this code point, or ``None`` if we do not implement it."""
    return _BY_ID12.get(suite_id)
