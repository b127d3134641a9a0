"""Record protection, one object per direction: the protector contract (RFC 8446 §5.1-§5.5).

:class:`RecordProtector` is what the record layer swaps on a key change; :class:`AEADCipher` the
AEAD object a protector takes. :class:`NullProtector` writes and reads ``TLSPlaintext`` records
unchanged (§5.1): the records before the handshake keys, and ``change_cipher_spec`` (App. D.4,
RFC 5246 §7.1). The AEAD protectors live by protocol version and are re-exported here, with the
size and usage limits of :mod:`.limits`, so this module stays the one place to import from:

* :class:`Aead13Protector` (:mod:`.protection13`): TLS 1.3 record protection (§5.2-§5.5), the
  real type and padding inside a ``TLSInnerPlaintext``.
* :class:`Aead12Protector` and :func:`aead12_protectors` (:mod:`.protection12`): TLS 1.2 AEAD
  record protection (RFC 5246 §6.2.3.3, RFC 5288, RFC 7905), the real type in the header.

Every protector says how its records look: ``inner_content_type`` is True only for TLS 1.3
(the type is inside the encryption and the outer type is application_data); the record layer
reads it to frame records.

A protector takes a ready AEAD object (pyca ``AESGCM``, ``ChaCha20Poly1305``, ``AESCCM``), not a
cipher suite, so it does not depend on the suite registry (the TLS 1.2 factory imports it for
typing only).
"""

from __future__ import annotations

import struct
from typing import Protocol

from ..errors import UsageError
from .limits import (
    AES_CCM_MAX_RECORDS,
    AES_GCM_MAX_RECORDS,
    MAX_CIPHERTEXT,
    MAX_INNER_PLAINTEXT,
    MAX_PLAINTEXT,
    SEQUENCE_LIMIT,
    TLS12,
)
from .protection12 import Aead12Protector, aead12_protectors
from .protection13 import Aead13Protector

__all__ = [
    "AES_CCM_MAX_RECORDS",
    "AES_GCM_MAX_RECORDS",
    "MAX_CIPHERTEXT",
    "MAX_INNER_PLAINTEXT",
    "MAX_PLAINTEXT",
    "SEQUENCE_LIMIT",
    "TLS12",
    "AEADCipher",
    "Aead12Protector",
    "Aead13Protector",
    "BytesLike",
    "NullProtector",
    "RecordProtector",
    "aead12_protectors",
]

BytesLike = bytes | bytearray | memoryview

_HEADER = struct.Struct(">BHH")  # type, legacy_record_version, length (RFC 8446 §5.1)
_pack_header = _HEADER.pack


class AEADCipher(Protocol):
    """An AEAD object bound to one key, as pyca/cryptography's ``AESGCM`` et al. (RFC 5116)."""

    def encrypt(self, nonce: bytes, data: BytesLike, associated_data: BytesLike | None, /) -> bytes:
        """Return ciphertext || tag."""
        ...

    def decrypt(self, nonce: bytes, data: BytesLike, associated_data: BytesLike | None, /) -> bytes:
        """Return the plaintext, or raise ``cryptography.exceptions.InvalidTag``."""
        ...


class RecordProtector(Protocol):
    """Protection of one direction of records: what the record layer swaps on a key change."""

    @property
    def protected(self) -> bool:
        """True when records are encrypted."""
        ...

    @property
    def inner_content_type(self) -> bool:
        """True for TLS 1.3 records: the real type is sealed inside a TLSInnerPlaintext and the
        outer type is always application_data (RFC 8446 §5.2). False for plaintext and TLS 1.2
        records, whose header carries the real type (RFC 5246 §6.2.3.3)."""
        ...

    @property
    def overhead(self) -> int:
        """Bytes the protection adds to the sealed plaintext (a TLS 1.3 TLSInnerPlaintext or TLS
        1.2 content): the AEAD tag, plus the explicit nonce of TLS 1.2 AES-GCM; 0 unprotected."""
        ...

    @property
    def needs_key_update(self) -> bool:
        """True when this key is close to its usage limit (RFC 8446 §5.5)."""
        ...

    def seal(
        self, content_type: int, data: BytesLike, padding: int = 0, *, version: int = TLS12
    ) -> bytes:
        """Return one whole record (5-byte header included) carrying ``data``.

        ``version`` is the legacy_record_version of an unprotected record (0x0301 is allowed for
        an initial ClientHello, RFC 8446 §5.1); protected records always use 0x0303 (§5.2).
        """
        ...

    def seal_into(
        self,
        out: list[bytes],
        content_type: int,
        data: BytesLike,
        padding: int = 0,
        *,
        version: int = TLS12,
    ) -> None:
        """Like :meth:`seal`, but append the record to ``out`` (possibly as several pieces, so
        that the owner's single final join is the only copy)."""
        ...

    def open(self, header: BytesLike, fragment: BytesLike) -> tuple[int, bytes]:
        """Return ``(content_type, content)`` of the record with this header and fragment."""
        ...


class NullProtector:
    """No protection: ``TLSPlaintext`` records (RFC 8446 §5.1). Stateless."""

    __slots__ = ()

    protected = False
    inner_content_type = False
    overhead = 0
    needs_key_update = False

    def __repr__(self) -> str:
        return "NullProtector()"

    def seal(
        self, content_type: int, data: BytesLike, padding: int = 0, *, version: int = TLS12
    ) -> bytes:
        """Frame ``data`` as one TLSPlaintext record (the caller fragments, §5.1)."""
        if padding:
            raise UsageError("padding needs record protection (RFC 8446 §5.4)")
        if len(data) > MAX_PLAINTEXT:
            raise UsageError(f"plaintext fragment of {len(data)} bytes exceeds 2^14")
        return _pack_header(content_type, version, len(data)) + data

    def seal_into(
        self,
        out: list[bytes],
        content_type: int,
        data: BytesLike,
        padding: int = 0,
        *,
        version: int = TLS12,
    ) -> None:
        """Append one TLSPlaintext record to ``out``."""
        out.append(self.seal(content_type, data, padding, version=version))

    def open(self, header: BytesLike, fragment: BytesLike) -> tuple[int, bytes]:
        """Return the record's type and fragment as they are."""
        return header[0], bytes(fragment)
