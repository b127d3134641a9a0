"""The receiving half of the TLS record layer (RFC 8446 §5, RFC 5246 §6.2): framing received
bytes into records, the header and content-type checks, and the skipping of rejected 0-RTT
records. One mixin, :class:`RecordReceiver`, a base of
:class:`~tlsmachine.record.layer.RecordLayer` (whose module docstring tells the rest).

Receiving
    ``feed(data)`` appends to one receive buffer (a bytes object taken without copying when the
    buffer was empty, else a bytearray with a read offset, compacted when the consumed prefix
    is more than half of it: amortised O(n)). ``next_record()`` looks at the buffer:

    1. fewer than 5 bytes: ``None``;
    2. the header is checked *at once*, before the body arrives: a content type the current
       read side does not accept, a ``legacy_record_version`` below 0x0300 (SSL 3.0), a
       length above the limit, a zero-length handshake/alert fragment: each raises its
       :class:`~tlsmachine.errors.ProtocolError` (table below);
    3. body incomplete: ``None``;
    4. otherwise exactly ONE record is consumed and opened with the *current* read protector,
       and ``(content_type, content)`` is returned. The owner may install new read keys
       between two calls (``set_read_protector``): the next record is opened with them.

    Which records a protected read side opens depends on the protector's
    ``inner_content_type``: TLS 1.3 protects only application_data records (the outer type of
    every protected record, RFC 8446 §5.2) and reads the real type inside; TLS 1.2 protects
    handshake, alert and application_data records alike, each under its real type (RFC 5246
    §6.2.3.3).

    The layer buffers whatever it is fed; the owner bounds memory by draining ``next_record()``
    until it returns ``None`` after each ``feed()`` (then at most one partial record, at most
    2^14 + 256 + 5 bytes, stays buffered; a larger length is rejected from its header).

Rules applied (RFC 8446 unless noted; "1.3" and "1.2" rows apply while the read protector is of
that version, the others always)

==========================================================  ================================
condition                                                   error
==========================================================  ================================
unknown content type (§5)                                   UnexpectedMessage
legacy_record_version < 0x0300 (App. D.5)                   DecodeError
TLSPlaintext.length > 2^14 (§5.1)                           RecordOverflow
1.3: TLSCiphertext.length > receive_limit + tag (*)         RecordOverflow
zero-length handshake/alert fragment (§5.1, §5.4)           UnexpectedMessage
application_data before read protection (§5.1)              UnexpectedMessage
1.3: handshake/alert record in the clear                    UnexpectedMessage
1.3: protected change_cipher_spec, unknown inner type (§5)  UnexpectedMessage
1.3: failed AEAD / all-zero TLSInnerPlaintext (§5.2, §5.4)  BadRecordMac / UnexpectedMessage
1.2: length > min(receive_limit, 2^14) + overhead (**)      RecordOverflow
1.2: protected record's version != 0x0303                   ProtocolVersionError
1.2: change_cipher_spec once protected (RFC 5246 §7.1)      UnexpectedMessage
1.2: fragment < nonce + tag, failed AEAD (***)              BadRecordMac
1.2: zero-length handshake/alert content (§6.2.1)           UnexpectedMessage
==========================================================  ================================

(*) §5.2 caps TLSCiphertext.length at 2^14 + 256; since §5.4 and RFC 8449 §4 cap the inner
plaintext (length - tag) at ``receive_limit`` (2^14 + 1 by default), we check the tighter bound.

(**) RFC 5246 §6.2.3 lets TLSCiphertext.length reach 2^14 + 2048, but an AEAD record's content
is its length less the explicit nonce and tag (``overhead``), and that content may not exceed
2^14 (§6.2.1) nor, in TLS 1.2, the receive_limit, which counts content only (RFC 8449 §4).

(***) RFC 5246 §6.2.3.3. Every record type is opened, so a handshake or alert record sent in
the clear after the key change fails here too (``allow_plaintext_alerts`` is for TLS 1.3 only).

In TLS 1.3 ``change_cipher_spec`` records are returned as they are, even once the read side is
protected: they are never encrypted (§5, App. D.4); the owner drops a single 0x01 during the
handshake and treats anything else as unexpected. In TLS 1.2 the peer's ChangeCipherSpec comes
(in the clear) right before its read keys are installed; one after that would start a
renegotiated key change, which we never do. ``legacy_record_version`` "MUST be ignored"
(§5.1); we only refuse versions below 0x0300, which Appendix D.5 says not to accept (real peers
send 0x0301 in a first ClientHello; 0x0400 or 0xffff is ignored like any other value). TLS 1.2
protected records must carry
the negotiated version, 0x0303 (RFC 5246 §6.2.1; the additional data of §6.2.3.3 says 0x0303
whatever the header says, so the header is checked here; we answer protocol_version, as
OpenSSL does).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Final

from ..enums import ContentType
from ..errors import (
    BadRecordMac,
    DecodeError,
    ProtocolVersionError,
    RecordOverflow,
    UnexpectedMessage,
)
from .protection import MAX_PLAINTEXT, TLS12, BytesLike

__all__ = ["RecordReceiver"]

_CCS: Final = int(ContentType.CHANGE_CIPHER_SPEC)
_ALERT: Final = int(ContentType.ALERT)
_HANDSHAKE: Final = int(ContentType.HANDSHAKE)
_APPLICATION_DATA: Final = int(ContentType.APPLICATION_DATA)
_SSL3: Final = 0x0300
_HEADER = struct.Struct(">BHH")  # type, legacy_record_version, length (RFC 8446 §5.1)
_pack_header = _HEADER.pack
_unpack_header = _HEADER.unpack_from


def _type_name(content_type: int) -> str:
    try:
        return ContentType(content_type).name.lower()
    except ValueError:
        return f"unknown content type {content_type}"


class RecordReceiver:
    """Receiving records for :class:`~tlsmachine.record.layer.RecordLayer`, which holds the
    state (its ``__slots__``) and sets the read protector and limits."""

    __slots__ = (  # the receive state; RecordLayer sets it up
        "_fast_header",
        "_fast_length",
        "_fast_size",
        "_largest_opened",
        "_rbuf",
        "_rpos",
        "allow_plaintext_alerts",
        "skip_early_data",
    )

    _rbuf: bytes | bytearray
    _rpos: int
    _fast_length: int
    _fast_header: bytes
    _fast_size: int
    _largest_opened: int  # the longest protected fragment next_record opened under this key
    allow_plaintext_alerts: bool
    skip_early_data: int
    # the read side, set by RecordLayer.set_read_protector and the receive_limit setter
    _open: Callable[[BytesLike, BytesLike], tuple[int, bytes]]
    _read_protected: bool
    _read_tls12: bool
    _max_protected: int

    @property
    def buffered(self) -> int:
        """Received bytes not yet consumed by :meth:`next_record`."""
        return len(self._rbuf) - self._rpos

    @property
    def bytes_to_record_end(self) -> int:
        """How many more bytes complete the record in progress (the 5-byte header's rest when
        not even that is here): a reader that must not read past a record boundary reads at
        most this many (RFC 8446 §5.1 framing)."""
        buf, pos = self._rbuf, self._rpos
        have = len(buf) - pos
        if have < 5:
            return 5 - have
        return max(5 + int.from_bytes(buf[pos + 3 : pos + 5], "big") - have, 0)

    def feed(self, data: BytesLike) -> None:
        """Append received bytes; then drain :meth:`next_record` until it returns ``None``."""
        buf = self._rbuf
        if not buf:  # empty (always b"" at offset 0): keep a bytes object without copying it
            self._rbuf = data if type(data) is bytes else bytes(data)
            return
        if not data:
            return
        pos = self._rpos
        if isinstance(buf, bytearray):
            if pos > len(buf) >> 1:  # compact: the consumed prefix is the larger part
                del buf[:pos]
                self._rpos = 0
            buf += data
        else:  # a leftover partial record in a bytes object: start a growable buffer
            grown = bytearray(memoryview(buf)[pos:])
            grown += data
            self._rbuf = grown
            self._rpos = 0

    def open_single_record(self, data: bytes) -> tuple[int, bytes] | None:
        """Open ``data`` directly when it is exactly one well-formed protected record.

        The steady-state fast path of bulk transfer: nothing buffered, one whole record per
        read. Returns ``None`` (having consumed nothing) when ``data`` is anything else; the
        caller then goes through :meth:`feed` and :meth:`next_record`, which do every check.
        """
        if self._rbuf:
            return None
        header = data[:5]
        # A bulk transfer repeats one header (full-size records): one comparison with the last
        # header that passed, which pins the whole record's size too.
        if header != self._fast_header or len(data) != self._fast_size:
            length = len(data) - 5  # what the header must say, for ONE whole record
            if not 0 <= length <= self._fast_length:
                return None
            if header != _pack_header(_APPLICATION_DATA, TLS12, length):
                return None
            self._fast_header, self._fast_size = bytes(header), len(data)
        record = self._open(header, memoryview(data)[5:])  # no copy of the fragment
        if record[0] != _APPLICATION_DATA:
            self._check_inner(*record)
        return record

    def next_record(self) -> tuple[int, bytes] | None:
        """Consume and open ONE record: ``(content_type, content)``, or ``None`` if incomplete.

        Raises the :class:`~tlsmachine.errors.ProtocolError` of the module's table; a bad
        header is reported as soon as its 5 bytes are here.
        """
        while True:
            buf = self._rbuf
            pos = self._rpos
            if len(buf) - pos < 5:
                return None
            content_type, version, length = _unpack_header(buf, pos)
            if self.skip_early_data and content_type == _APPLICATION_DATA:
                if pos + 5 + length > len(buf):
                    return None
                record = self._skip_early_record(version, length)
                if record is None:
                    continue
                return record
            if not (
                content_type == _APPLICATION_DATA
                and version == TLS12
                and length <= self._fast_length
            ):  # anything but a well-formed protected record goes through all the checks
                self._check_header(content_type, version, length)
            end = pos + 5 + length
            if end > len(buf):
                return None
            # _check_header ensured protection of application_data, and (TLS 1.2) that no
            # change_cipher_spec arrives once the read side is protected
            if content_type == _APPLICATION_DATA or self._read_tls12:
                view = memoryview(buf)  # no copy of the fragment on its way to the AEAD
                record = self._open(view[pos : pos + 5], view[pos + 5 : end])
                if length > self._largest_opened:  # see RecordLayer.agree_receive_limit
                    self._largest_opened = length
                if record[0] != _APPLICATION_DATA:
                    self._check_inner(*record)
            else:  # plaintext: anything before protection, or change_cipher_spec (App. D.4)
                record = content_type, bytes(buf[pos + 5 : end])
                if content_type == _HANDSHAKE:
                    self.skip_early_data = 0  # the second ClientHello: 0-RTT is over
            self._consume(end)
            return record

    def _consume(self, end: int) -> None:
        """Mark the receive buffer as read up to ``end``."""
        if end == len(self._rbuf):
            self._rbuf = b""  # so that the next feed() can take its data without copying
            self._rpos = 0
        else:
            self._rpos = end

    def _skip_early_record(self, version: int, length: int) -> tuple[int, bytes] | None:
        """A whole application_data record while skipping rejected 0-RTT (RFC 8446 §4.2.10).

        Before the second ClientHello (after a HelloRetryRequest) every such record is early
        data and is dropped; under handshake keys, records that fail to decrypt are dropped and
        the first that opens ends the skipping. Either way at most ``skip_early_data`` bytes
        (counted as the fragment less the AEAD tag and type byte) are discarded; beyond that
        the record is handled as usual (and fails: unexpected_message or bad_record_mac).
        """
        pos = self._rpos
        end = pos + 5 + length
        dropped = max(0, length - 17)
        if not self._read_protected:
            if dropped > self.skip_early_data or version < _SSL3:
                self.skip_early_data = 0
                self._check_header(_APPLICATION_DATA, version, length)  # raises
            self.skip_early_data -= dropped
            self._consume(end)
            return None
        self._check_header(_APPLICATION_DATA, version, length)
        view = memoryview(self._rbuf)
        try:
            record = self._open(view[pos : pos + 5], view[pos + 5 : end])
        except BadRecordMac:
            if dropped > self.skip_early_data:
                self.skip_early_data = 0
                raise
            self.skip_early_data -= dropped
            self._consume(end)
            return None
        self.skip_early_data = 0
        if record[0] != _APPLICATION_DATA:
            self._check_inner(*record)
        self._consume(end)
        return record

    def _check_header(self, content_type: int, version: int, length: int) -> None:
        """The slow path of the header checks (anything but a well-formed protected record)."""
        if content_type not in (_CCS, _ALERT, _HANDSHAKE, _APPLICATION_DATA):
            # RFC 8446 §5: an unexpected record type -> unexpected_message
            raise UnexpectedMessage(f"record of {_type_name(content_type)}")
        if version < _SSL3:
            # RFC 8446 App. D.5: records below SSL 3.0 SHOULD NOT be accepted; any other
            # legacy_record_version "MUST be ignored" (§5.1)
            raise DecodeError(f"record legacy_record_version 0x{version:04x} is not TLS")
        if self._read_tls12 and version != TLS12:
            # RFC 5246 §6.2.1: protected records carry the negotiated version
            raise ProtocolVersionError(f"TLS 1.2 record with version 0x{version:04x}")
        if content_type == _APPLICATION_DATA:
            if not self._read_protected:
                # RFC 8446 §5.1: application data is always protected
                raise UnexpectedMessage("application_data record before record protection")
            if length > self._max_protected:  # RFC 8446 §5.2, §5.4, RFC 8449 §4
                raise RecordOverflow(
                    f"protected record of {length} bytes, limit {self._max_protected}"
                )
            return
        if self._read_tls12:  # handshake, alert, change_cipher_spec under TLS 1.2 protection
            if content_type == _CCS:
                # RFC 5246 §7.1: ChangeCipherSpec switches to pending keys; after ours are in
                # place only a renegotiation could bring one, and we never renegotiate.
                raise UnexpectedMessage("change_cipher_spec record after protection started")
            if length > self._max_protected:  # RFC 5246 §6.2.1, RFC 8449 §4
                raise RecordOverflow(
                    f"protected {_type_name(content_type)} record of {length} bytes,"
                    f" limit {self._max_protected}"
                )
            return  # zero-length content is checked once decrypted (_check_inner)
        # RFC 8446 §5.2: once protected, the outer type is always application_data. The one
        # tolerated exception: a peer that rejects our flight before it switched its own write
        # keys sends a plaintext alert (OpenSSL clients do); reporting that alert beats
        # answering it with unexpected_message.
        plaintext_alert_ok = content_type == _ALERT and self.allow_plaintext_alerts
        if content_type != _CCS and self._read_protected and not plaintext_alert_ok:
            raise UnexpectedMessage(
                f"unprotected {_type_name(content_type)} record after protection started"
            )
        if length > MAX_PLAINTEXT:
            # RFC 8446 §5.1: TLSPlaintext.length MUST NOT exceed 2^14
            raise RecordOverflow(
                f"{_type_name(content_type)} record of {length} bytes exceeds 2^14"
            )
        if length == 0 and content_type != _CCS:
            # RFC 8446 §5.1: no zero-length fragments of handshake (or alert, §5.4) types
            raise UnexpectedMessage(f"zero-length {_type_name(content_type)} record")

    @staticmethod
    def _check_inner(content_type: int, content: bytes) -> None:
        """Checks on the (TLS 1.3 inner, TLS 1.2 header) type of a protected record other than
        application_data."""
        if content_type in (_HANDSHAKE, _ALERT):
            if not content:
                # RFC 8446 §5.4: no zero-length handshake or alert TLSInnerPlaintext.content;
                # RFC 5246 §6.2.1: no zero-length handshake or alert fragments
                raise UnexpectedMessage(f"zero-length protected {_type_name(content_type)}")
        elif content_type == _CCS:
            # RFC 8446 §5: a protected change_cipher_spec -> unexpected_message
            raise UnexpectedMessage("protected change_cipher_spec record")
        else:
            raise UnexpectedMessage(f"protected record of {_type_name(content_type)}")
