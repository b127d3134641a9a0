"""TLS 1.3 record protection, one object per direction and traffic key (RFC 8446 §5.2-§5.5).

:class:`Aead13Protector` seals the content, its real type and optional zero padding as a
``TLSInnerPlaintext`` with the AEAD under the per-record nonce of §5.3 (write IV XOR the 64-bit
sequence number, left-padded), with the 5-byte ``TLSCiphertext`` header (``opaque_type`` 23,
``legacy_record_version`` 0x0303) as the additional data. It owns the sequence number of its
direction and enforces the key-usage limits of §5.5; changing keys means installing a new
protector (sequence number 0 again). Re-exported by :mod:`tlsmachine.record.protection`.

All TLS 1.3 suites have a 12-byte IV (§5.3: ``max(8, N_MIN)``) and a 16-byte tag.

Hot path: one AEAD call per record, the nonce is ``(iv_int ^ seq).to_bytes(12, "big")``, the
padding scan is ``bytes.rstrip`` (C speed, and free when there is no padding), no per-byte loops.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Final

from cryptography.exceptions import InvalidTag

from ..enums import ContentType
from ..errors import BadRecordMac, InternalError, RecordOverflow, UnexpectedMessage, UsageError
from .limits import MAX_INNER_PLAINTEXT, SEQUENCE_LIMIT, TLS12

if TYPE_CHECKING:  # annotations only: .protection re-exports this module
    from .protection import AEADCipher, BytesLike

__all__ = ["Aead13Protector"]

_TAG_LEN: Final = 16
_HEADER = struct.Struct(">BHH")  # type, legacy_record_version, length (RFC 8446 §5.1)
_pack_header = _HEADER.pack
_TYPE_BYTE = tuple(bytes((i,)) for i in range(256))
_APPLICATION_DATA: Final = int(ContentType.APPLICATION_DATA)


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
    inner_content_type = True
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
        # TLSInnerPlaintext = content || type || zeros[padding]: the one copy of the content
        # (bytes + bytes where it can: cheaper than building a tuple for join).
        if padding:
            inner = b"".join((data, _TYPE_BYTE[content_type], bytes(padding)))
        elif type(data) is bytes:
            inner = data + _TYPE_BYTE[content_type]
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
        # RFC 8446 §5.4: the last non-zero octet is the type.
        if inner:
            content_type = inner[-1]
            if content_type:  # no padding: the common case
                return content_type, inner[:-1]
        inner = inner.rstrip(b"\x00")  # the padding, scanned in C
        if not inner:
            # RFC 8446 §5.4: no non-zero octet -> unexpected_message
            raise UnexpectedMessage("TLSInnerPlaintext has no non-zero octet (§5.4)")
        return inner[-1], inner[:-1]
