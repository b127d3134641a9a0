"""TLS 1.2 AEAD record protection, one object per direction (RFC 5246 §6.2.3.3, RFC 5288/7905).

:class:`Aead12Protector`: the header keeps the real content type, the fragment is the content
sealed with the additional data ``seq_num || type || version || length`` (the *plaintext*
length), no inner type, no padding. AES-GCM (RFC 5288 §3) sends an 8-byte explicit nonce before
the ciphertext (ours is the sequence number) after a 4-byte implicit salt; ChaCha20-Poly1305
(RFC 7905 §2) has no explicit nonce and builds the nonce as TLS 1.3 does. TLS 1.2 has no
KeyUpdate: since we never renegotiate, a key that reaches the sequence number limit fails the
connection. :func:`aead12_protectors` builds a TLS 1.2 side's pair from the suite and key block.
Both are re-exported by :mod:`tlsmachine.record.protection`.

The TLS 1.2 AEAD suites have a 12-byte nonce and a 16-byte tag.

Hot path: one AEAD call per record; the additional data and the header (with the explicit
nonce) are packed with one precompiled ``struct`` call each.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Final

from cryptography.exceptions import InvalidTag

from ..errors import BadRecordMac, InternalError, RecordOverflow, UsageError
from .limits import MAX_PLAINTEXT, SEQUENCE_LIMIT, TLS12

if TYPE_CHECKING:  # the factory only reads attributes: no runtime dependency on suites or prf
    from ..crypto.suites import CipherSuite12
    from ..prf import KeyBlock
    from .protection import AEADCipher, BytesLike

__all__ = ["Aead12Protector", "aead12_protectors"]

_TAG_LEN: Final = 16
_HEADER = struct.Struct(">BHH")  # type, legacy_record_version, length (RFC 8446 §5.1)
_pack_header = _HEADER.pack
#: RFC 5246 §6.2.3.3: additional_data = seq_num || type || version || length (13 bytes).
_AAD12 = struct.Struct(">QBHH")
_pack_aad12 = _AAD12.pack
#: A TLS 1.2 AES-GCM record's header followed by its explicit nonce (RFC 5288 §3).
_HEADER_EXPLICIT = struct.Struct(">BHHQ")
_pack_header_explicit = _HEADER_EXPLICIT.pack
_EXPLICIT_NONCE_LEN: Final = 8  # RFC 5288 §3: record_iv_length
_GCM12_OVERHEAD: Final = _EXPLICIT_NONCE_LEN + _TAG_LEN


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
