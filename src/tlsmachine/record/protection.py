"""Record protection, one object per direction (RFC 8446 §5.1-§5.5).

* :class:`NullProtector` writes and reads ``TLSPlaintext`` records unchanged (§5.1): the
  records before the handshake keys, and the compatibility ``change_cipher_spec`` (App. D.4).
* :class:`Aead13Protector` is the TLS 1.3 record protection of §5.2: the content, its real
  type and optional zero padding form a ``TLSInnerPlaintext``, sealed with the AEAD under the
  per-record nonce of §5.3 (write IV XOR the 64-bit sequence number, left-padded), with the
  5-byte ``TLSCiphertext`` header (``opaque_type`` 23, ``legacy_record_version`` 0x0303) as the
  additional data. It owns the sequence number of its direction and enforces the key-usage
  limits of §5.5; changing keys means installing a new protector (sequence number 0 again).

A protector takes a ready AEAD object (pyca ``AESGCM``, ``ChaCha20Poly1305``, ``AESCCM``), not a
cipher suite, so it does not depend on the suite registry. All TLS 1.3 suites have a 12-byte IV
(§5.3: ``max(8, N_MIN)``) and a 16-byte tag.

Hot path: one AEAD call per record, the nonce is ``(iv_int ^ seq).to_bytes(12, "big")``, the
padding scan is ``bytes.rstrip`` (C speed, and free when there is no padding), no per-byte loops.
"""

from __future__ import annotations

import struct
from typing import Final, Protocol

from cryptography.exceptions import InvalidTag

from ..enums import ContentType
from ..errors import BadRecordMac, InternalError, RecordOverflow, UnexpectedMessage, UsageError

__all__ = [
    "AES_CCM_MAX_RECORDS",
    "AES_GCM_MAX_RECORDS",
    "MAX_CIPHERTEXT",
    "MAX_INNER_PLAINTEXT",
    "MAX_PLAINTEXT",
    "SEQUENCE_LIMIT",
    "TLS12",
    "AEADCipher",
    "Aead13Protector",
    "BytesLike",
    "NullProtector",
    "RecordProtector",
]

BytesLike = bytes | bytearray | memoryview

TLS12: Final = 0x0303
#: RFC 8446 §5.1: TLSPlaintext.length MUST NOT exceed 2^14.
MAX_PLAINTEXT: Final = 1 << 14
#: RFC 8446 §5.4: the full encoded TLSInnerPlaintext MUST NOT exceed 2^14 + 1 octets.
MAX_INNER_PLAINTEXT: Final = MAX_PLAINTEXT + 1
#: RFC 8446 §5.2: TLSCiphertext.length MUST NOT exceed 2^14 + 256.
MAX_CIPHERTEXT: Final = MAX_PLAINTEXT + 256
#: RFC 8446 §5.3: sequence numbers never wrap. We stop one short of 2^64 - 1 (as rustls does):
#: sequence numbers 0 .. 2^64 - 2 are used, 2^64 - 1 never is.
SEQUENCE_LIMIT: Final = (1 << 64) - 1
#: RFC 8446 §5.5: "up to 2^24.5 full-size records" under one AES-GCM key.
AES_GCM_MAX_RECORDS: Final = 23_726_566  # floor(2 ** 24.5)
#: RFC 9147 §4.5.3 (the AEAD-limits analysis applied to AES-CCM): 2^23.5 records.
AES_CCM_MAX_RECORDS: Final = 11_863_283  # floor(2 ** 23.5)
#: ChaCha20-Poly1305 needs no limit below SEQUENCE_LIMIT (RFC 8446 §5.5).

_TAG_LEN: Final = 16
_HEADER = struct.Struct(">BHH")  # type, legacy_record_version, length (RFC 8446 §5.1)
_pack_header = _HEADER.pack
_TYPE_BYTE = tuple(bytes((i,)) for i in range(256))
_APPLICATION_DATA: Final = int(ContentType.APPLICATION_DATA)


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
        """True when records are encrypted (the outer type is then always application_data)."""
        ...

    @property
    def overhead(self) -> int:
        """Bytes the protection adds to a TLSInnerPlaintext (the AEAD tag; 0 when plaintext)."""
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


class Aead13Protector:
    """TLS 1.3 AEAD record protection for one direction and one traffic key (RFC 8446 §5.2).

    ``aead`` is the AEAD object for the write key, ``iv`` the 12-byte write IV (§7.3).
    ``max_records`` caps the records sealed or opened under this key (§5.5): pass
    :data:`AES_GCM_MAX_RECORDS` for an AES-GCM *write* key; leave it ``None`` (only the sequence
    number limit) for ChaCha20-Poly1305 and for read keys, whose limit is the sender's business.

    Hot path: per record, one comparison of the sequence number against ``_rekey_from`` (the
    last record before the 7/8 mark of :attr:`needs_key_update`); only records from that mark on
    take the slow branch that checks the hard limit and raises the flag.
    """

    __slots__ = (
        "_aead",
        "_decrypt",
        "_encrypt",
        "_iv_int",
        "_limit",
        "_rekey_from",
        "_seq",
        "needs_key_update",
    )

    protected = True
    overhead = _TAG_LEN

    def __init__(self, aead: AEADCipher, iv: bytes, *, max_records: int | None = None) -> None:
        if len(iv) != 12:
            raise ValueError(f"TLS 1.3 IVs are 12 bytes, got {len(iv)} (RFC 8446 §5.3)")
        if max_records is not None and not 0 < max_records <= SEQUENCE_LIMIT:
            raise ValueError(f"max_records must be in 1..2^64-1, got {max_records}")
        self._aead = aead
        self._encrypt = aead.encrypt
        self._decrypt = aead.decrypt
        self._iv_int = int.from_bytes(iv, "big")
        self._limit = SEQUENCE_LIMIT if max_records is None else max_records
        # needs_key_update turns True once 7/8 of the limit is used, i.e. after the record with
        # sequence number _rekey_from; from that record on, _near_limit() checks the hard limit.
        self._rekey_from = self._limit - (self._limit >> 3) - 1
        self._seq = 0
        self.needs_key_update = False
        """True once 7/8 of the limit is used: time to send a KeyUpdate (RFC 8446 §5.5,
        §4.6.3). The margin leaves room for the records queued before the KeyUpdate takes
        effect. A plain attribute (the connection asks after every write), kept by
        :meth:`_near_limit`."""

    def __repr__(self) -> str:
        return f"Aead13Protector({type(self._aead).__name__}, seq={self._seq})"

    @property
    def sequence_number(self) -> int:
        """The sequence number of the next record (RFC 8446 §5.3)."""
        return self._seq

    @property
    def max_records(self) -> int:
        """How many records this key may protect in total."""
        return self._limit

    @property
    def records_until_limit(self) -> int:
        """How many more records this key may protect."""
        return self._limit - self._seq

    def nonce(self, sequence_number: int) -> bytes:
        """The per-record nonce for a sequence number (RFC 8446 §5.3)."""
        return (self._iv_int ^ sequence_number).to_bytes(12, "big")

    def _near_limit(self, seq: int, direction: str) -> None:
        """The slow branch for sequence numbers from ``_rekey_from`` on (RFC 8446 §5.5).

        This record reaches the 7/8 mark (or is beyond it): raise the flag now, before the
        record is protected. Only a tampered record can fail after this, and it is the peer's
        last one anyway.
        """
        self.needs_key_update = True
        if seq >= self._limit:
            # RFC 8446 §5.3/§5.5: rekey before the limit; we never exceed it, we fail.
            if direction == "write":
                raise InternalError(
                    f"write key exhausted after {seq} records: a KeyUpdate was due (RFC 8446 §5.5)"
                )
            raise InternalError(f"read key used for {seq} records, beyond its limit (§5.5)")

    def seal(
        self, content_type: int, data: BytesLike, padding: int = 0, *, version: int = TLS12
    ) -> bytes:
        """Return the TLSCiphertext record for ``data`` of ``content_type`` (RFC 8446 §5.2).

        ``version`` is ignored: TLSCiphertext.legacy_record_version is always 0x0303 (§5.2).
        The caller keeps ``len(data) + 1 + padding`` within the peer's limit (§5.4, RFC 8449).
        """
        out: list[bytes] = []
        self.seal_into(out, content_type, data, padding)
        return b"".join(out)

    def seal_into(
        self,
        out: list[bytes],
        content_type: int,
        data: BytesLike,
        padding: int = 0,
        *,
        version: int = TLS12,
    ) -> None:
        """Append the record's header and encrypted_record to ``out`` (see :meth:`seal`)."""
        # TLSInnerPlaintext = content || type || zeros[padding]: the one copy of the content.
        if padding:
            inner = b"".join((data, _TYPE_BYTE[content_type], bytes(padding)))
        else:
            inner = b"".join((data, _TYPE_BYTE[content_type]))
        inner_len = len(inner)
        if inner_len > MAX_INNER_PLAINTEXT:
            raise UsageError(f"TLSInnerPlaintext of {inner_len} bytes exceeds 2^14 + 1 (§5.4)")
        seq = self._seq
        if seq >= self._rekey_from:
            self._near_limit(seq, "write")
        self._seq = seq + 1
        header = _pack_header(_APPLICATION_DATA, TLS12, inner_len + _TAG_LEN)
        out += header, self._encrypt((self._iv_int ^ seq).to_bytes(12, "big"), inner, header)

    def open(self, header: BytesLike, fragment: BytesLike) -> tuple[int, bytes]:
        """Decrypt one TLSCiphertext; return ``(inner content type, content)`` (RFC 8446 §5.2).

        ``header`` is the record's 5 header bytes (the additional data). The record layer has
        checked the outer type and length.
        """
        seq = self._seq
        if seq >= self._rekey_from:
            self._near_limit(seq, "read")
        try:
            inner = self._decrypt((self._iv_int ^ seq).to_bytes(12, "big"), fragment, header)
        except InvalidTag:
            # RFC 8446 §5.2: decryption failure -> bad_record_mac
            raise BadRecordMac(f"record {seq} failed authentication") from None
        self._seq = seq + 1
        if len(inner) > MAX_INNER_PLAINTEXT:
            # RFC 8446 §5.4: TLSInnerPlaintext MUST NOT exceed 2^14 + 1 octets
            raise RecordOverflow(f"TLSInnerPlaintext of {len(inner)} bytes exceeds 2^14 + 1")
        # RFC 8446 §5.4: the last non-zero octet is the type. rstrip returns `inner` itself
        # when there is no padding, and scans in C otherwise.
        if not inner or not inner[-1]:
            inner = inner.rstrip(b"\x00")
            if not inner:
                # RFC 8446 §5.4: no non-zero octet -> unexpected_message
                raise UnexpectedMessage("TLSInnerPlaintext has no non-zero octet (§5.4)")
        return inner[-1], inner[:-1]
