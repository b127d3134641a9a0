"""Record protection, one object per direction (RFC 8446 §5.1-§5.5, RFC 5246 §6.2.3.3).

* :class:`NullProtector` writes and reads ``TLSPlaintext`` records unchanged (§5.1): the
  records before the handshake keys, and ``change_cipher_spec`` (App. D.4, RFC 5246 §7.1).
* :class:`Aead13Protector` is the TLS 1.3 record protection of §5.2: the content, its real
  type and optional zero padding form a ``TLSInnerPlaintext``, sealed with the AEAD under the
  per-record nonce of §5.3 (write IV XOR the 64-bit sequence number, left-padded), with the
  5-byte ``TLSCiphertext`` header (``opaque_type`` 23, ``legacy_record_version`` 0x0303) as the
  additional data. It owns the sequence number of its direction and enforces the key-usage
  limits of §5.5; changing keys means installing a new protector (sequence number 0 again).
* :class:`Aead12Protector` is the TLS 1.2 AEAD record protection of RFC 5246 §6.2.3.3: the
  header keeps the real content type, the fragment is the content sealed with the additional
  data ``seq_num || type || version || length`` (the *plaintext* length), no inner type, no
  padding. AES-GCM (RFC 5288 §3) sends an 8-byte explicit nonce before the ciphertext (ours is
  the sequence number) after a 4-byte implicit salt; ChaCha20-Poly1305 (RFC 7905 §2) has no
  explicit nonce and builds the nonce as TLS 1.3 does. TLS 1.2 has no KeyUpdate: since we never
  renegotiate, a key that reaches the sequence number limit fails the connection.

Every protector says how its records look: ``inner_content_type`` is True only for TLS 1.3
(the type is inside the encryption and the outer type is application_data); the record layer
reads it to frame records. :func:`aead12_protectors` builds a TLS 1.2 side's pair from the
suite and key block.

A protector takes a ready AEAD object (pyca ``AESGCM``, ``ChaCha20Poly1305``, ``AESCCM``), not a
cipher suite, so it does not depend on the suite registry (the factory imports it for typing
only). All TLS 1.3 suites have a 12-byte IV (§5.3: ``max(8, N_MIN)``) and a 16-byte tag; the
TLS 1.2 AEAD suites a 12-byte nonce and a 16-byte tag too.

Hot path: one AEAD call per record, the nonce is ``(iv_int ^ seq).to_bytes(12, "big")``, the
padding scan is ``bytes.rstrip`` (C speed, and free when there is no padding), no per-byte loops.
TLS 1.2 packs its additional data and its header (with the explicit nonce) with one precompiled
``struct`` call each.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Final, Protocol

from cryptography.exceptions import InvalidTag

from ..enums import ContentType
from ..errors import BadRecordMac, InternalError, RecordOverflow, UnexpectedMessage, UsageError

if TYPE_CHECKING:  # the factory only reads attributes: no runtime dependency on suites or prf
    from ..crypto.suites import CipherSuite12
    from ..prf import KeyBlock

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
#: RFC 5246 §6.2.3.3: additional_data = seq_num || type || version || length (13 bytes).
_AAD12 = struct.Struct(">QBHH")
_pack_aad12 = _AAD12.pack
#: A TLS 1.2 AES-GCM record's header followed by its explicit nonce (RFC 5288 §3).
_HEADER_EXPLICIT = struct.Struct(">BHHQ")
_pack_header_explicit = _HEADER_EXPLICIT.pack
_EXPLICIT_NONCE_LEN: Final = 8  # RFC 5288 §3: record_iv_length
_GCM12_OVERHEAD: Final = _EXPLICIT_NONCE_LEN + _TAG_LEN
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


class Aead12Protector:
    """TLS 1.2 AEAD record protection for one direction and one key (RFC 5246 §6.2.3.3).

    ``aead`` is the AEAD object for the write key, ``fixed_iv`` the write IV from the key block
    (RFC 5246 §6.3). AES-GCM (RFC 5288 §3): ``explicit_nonce=True`` and a 4-byte salt; the nonce
    is salt || nonce_explicit and the fragment nonce_explicit(8) || ciphertext || tag. We send the
    sequence number as nonce_explicit (allowed by §3, and never repeated under one key); we read
    whatever explicit nonce the peer chose. ChaCha20-Poly1305 (RFC 7905 §2):
    ``explicit_nonce=False`` and a 12-byte IV; the nonce is the IV XOR the 64-bit sequence number
    (left-padded), the fragment ciphertext || tag.

    Either way the nonce is ``(iv_int ^ seq).to_bytes(12, "big")``: for GCM ``iv_int`` is the
    salt shifted left by 64 bits, so the XOR puts the sequence number in the explicit part.

    The additional data says version 0x0303 (the negotiated version) whatever the header says:
    the record layer rejects other header versions itself. Sequence numbers stop at
    :data:`SEQUENCE_LIMIT` (RFC 5246 §6.1: they may not wrap; the remedy would be renegotiation,
    which we refuse), so :attr:`needs_key_update` is always False.
    """

    __slots__ = (
        "_aead",
        "_decrypt",
        "_encrypt",
        "_explicit",
        "_fixed_iv",
        "_iv_int",
        "_seq",
        "overhead",
    )

    protected = True
    inner_content_type = False
    needs_key_update = False

    def __init__(self, aead: AEADCipher, fixed_iv: bytes, *, explicit_nonce: bool) -> None:
        iv_len = 12 - _EXPLICIT_NONCE_LEN if explicit_nonce else 12
        if len(fixed_iv) != iv_len:
            raise ValueError(
                f"fixed_iv must be {iv_len} bytes with explicit_nonce={explicit_nonce}, got "
                f"{len(fixed_iv)} (RFC 5288 §3, RFC 7905 §2)"
            )
        self._aead = aead
        self._encrypt = aead.encrypt
        self._decrypt = aead.decrypt
        self._explicit = explicit_nonce
        self._fixed_iv = bytes(fixed_iv)
        self._iv_int = int.from_bytes(fixed_iv, "big") << (64 if explicit_nonce else 0)
        self._seq = 0
        self.overhead = _GCM12_OVERHEAD if explicit_nonce else _TAG_LEN
        """The explicit nonce (GCM only) and the tag: what a record adds to its content."""

    def __repr__(self) -> str:
        return f"Aead12Protector({type(self._aead).__name__}, seq={self._seq})"

    @property
    def explicit_nonce(self) -> bool:
        """True when records carry an 8-byte explicit nonce (AES-GCM, RFC 5288 §3)."""
        return self._explicit

    @property
    def sequence_number(self) -> int:
        """The sequence number of the next record (RFC 5246 §6.1)."""
        return self._seq

    @property
    def records_until_limit(self) -> int:
        """How many more records this key may protect."""
        return SEQUENCE_LIMIT - self._seq

    def nonce(self, sequence_number: int) -> bytes:
        """The AEAD nonce we use to seal the record with this sequence number."""
        return (self._iv_int ^ sequence_number).to_bytes(12, "big")

    @staticmethod
    def _exhausted(seq: int, direction: str) -> InternalError:
        # RFC 5246 §6.1: sequence numbers never wrap; TLS 1.2 would renegotiate, we fail.
        return InternalError(f"TLS 1.2 {direction} key used for {seq} records, its limit (§6.1)")

    def seal(
        self, content_type: int, data: BytesLike, padding: int = 0, *, version: int = TLS12
    ) -> bytes:
        """Return the TLSCiphertext record for ``data`` of ``content_type`` (RFC 5246 §6.2.3.3).

        ``version`` is ignored: protected records carry the negotiated version, 0x0303. The
        caller keeps ``len(data)`` within 2^14 and the peer's record_size_limit (RFC 8449 §4).
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
        """Append the record's header (with the explicit nonce) and ciphertext to ``out``."""
        if padding:
            raise UsageError("TLS 1.2 AEAD records have no padding (RFC 8446 §5.4 is TLS 1.3)")
        length = len(data)
        if length > MAX_PLAINTEXT:
            raise UsageError(f"TLS 1.2 record content of {length} bytes exceeds 2^14 (§6.2.1)")
        seq = self._seq
        if seq >= SEQUENCE_LIMIT:
            raise self._exhausted(seq, "write")
        self._seq = seq + 1
        sealed = self._encrypt(
            (self._iv_int ^ seq).to_bytes(12, "big"),
            data,
            _pack_aad12(seq, content_type, TLS12, length),
        )
        if self._explicit:
            out += _pack_header_explicit(content_type, TLS12, length + _GCM12_OVERHEAD, seq), sealed
        else:
            out += _pack_header(content_type, TLS12, length + _TAG_LEN), sealed

    def open(self, header: BytesLike, fragment: BytesLike) -> tuple[int, bytes]:
        """Decrypt one TLSCiphertext; return ``(header content type, content)``.

        ``header`` is the record's 5 header bytes; the record layer has checked its type and
        length. A fragment too short for the explicit nonce and tag cannot authenticate
        (bad_record_mac, RFC 5246 §6.2.3.3), one longer than 2^14 + overhead cannot be valid
        (record_overflow, §6.2.1).
        """
        seq = self._seq
        length = len(fragment) - self.overhead  # the plaintext length, in the additional data
        if length < 0:
            raise BadRecordMac(
                f"record {seq}: fragment of {len(fragment)} bytes is shorter than its nonce and tag"
            )
        if length > MAX_PLAINTEXT:
            raise RecordOverflow(f"record {seq}: TLS 1.2 content of {length} bytes exceeds 2^14")
        if seq >= SEQUENCE_LIMIT:
            raise self._exhausted(seq, "read")
        content_type = header[0]
        if self._explicit:
            view = memoryview(fragment)  # slices without copying the ciphertext
            nonce = self._fixed_iv + view[:_EXPLICIT_NONCE_LEN]
            fragment = view[_EXPLICIT_NONCE_LEN:]
        else:
            nonce = (self._iv_int ^ seq).to_bytes(12, "big")
        try:
            content = self._decrypt(nonce, fragment, _pack_aad12(seq, content_type, TLS12, length))
        except InvalidTag:
            # RFC 5246 §6.2.3.3: decryption failure -> bad_record_mac
            raise BadRecordMac(f"record {seq} failed authentication") from None
        self._seq = seq + 1
        return content_type, content


def aead12_protectors(
    suite: CipherSuite12, key_block: KeyBlock, *, client: bool
) -> tuple[Aead12Protector, Aead12Protector]:
    """``(read, write)`` protectors of one side of a TLS 1.2 connection (RFC 5246 §6.3).

    The client writes with the client_write key and IV and reads with the server's; the server
    the other way round. ``suite.record_iv_len`` (8 for AES-GCM, 0 for ChaCha20-Poly1305)
    decides the nonce construction.
    """
    explicit = suite.record_iv_len != 0
    from_client = Aead12Protector(
        suite.aead(key_block.client_write_key), key_block.client_write_iv, explicit_nonce=explicit
    )
    from_server = Aead12Protector(
        suite.aead(key_block.server_write_key), key_block.server_write_iv, explicit_nonce=explicit
    )
    return (from_server, from_client) if client else (from_client, from_server)
