"""TLS 1.3 cipher suite descriptors (RFC 8446 §B.4, §5.2, §5.3, §7.3).

A :class:`CipherSuite` bundles what a TLS 1.3 suite fixes: the AEAD with its key, IV and tag
lengths, and the hash used by HKDF and the transcript. ``suite.aead(key)`` returns a ready
pyca/cryptography AEAD object; the record layer builds it once per traffic key and computes
per-record nonces itself (RFC 8446 §5.3). Config code works with these objects, wire code with
``suite.id``; :func:`suite_by_id` maps back.
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
