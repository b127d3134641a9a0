"""The TLS record layer: framing, size limits, fragmentation, coalescing (RFC 8446 §5, RFC 5246
§6.2).

Theory of operation
===================

:class:`RecordLayer` sits between the byte stream and the handshake/alert/application
protocols. It never does I/O: the owner *feeds* it received bytes and *drains* the bytes to send.

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

Sending
    ``write(content_type, data)`` fragments ``data`` into records of at most the send limit and
    seals them with the current write protector into the output list; ``data_to_send()`` joins
    that list once. Handshake bytes (``write(HANDSHAKE, ...)`` or ``write_handshake``) are
    *buffered* and emitted by ``flush_handshake()`` as few records as the limit allows, so a
    whole flight (EncryptedExtensions .. Finished) becomes one record, as in RFC 8448 §3. The
    buffer is flushed implicitly before any other record type (ordering), before the write
    protector or ``write_version`` changes (handshake messages never span a key change, §5.1),
    and by ``data_to_send()``. A TLS 1.2 write protector seals handshake and alert records too,
    under their own types; ``change_cipher_spec`` is always written in the clear (in TLS 1.2 it
    precedes our key change, RFC 5246 §7.1, and we never renegotiate).

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

Limits: ``send_limit`` is the peer's record_size_limit and ``receive_limit`` ours (RFC 8449).
In TLS 1.3 both count the whole TLSInnerPlaintext (content + type + padding) of *protected*
records; the default, 2^14 + 1, is the protocol maximum. In TLS 1.2 they count the content
only, and at most 2^14 of it (RFC 8449 §4): a limit of 2^14 + 1 means 2^14. Unprotected
records always carry up to 2^14 bytes. The padding policy applies to TLS 1.3 records only.
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
    UsageError,
)
from .protection import (
    MAX_CIPHERTEXT,
    MAX_INNER_PLAINTEXT,
    MAX_PLAINTEXT,
    TLS12,
    BytesLike,
    NullProtector,
    RecordProtector,
)

__all__ = ["MIN_RECORD_SIZE_LIMIT", "PaddingPolicy", "RecordLayer"]

#: ``(content_type, content_length) -> number of zero bytes to pad with`` (RFC 8446 §5.4).
PaddingPolicy = Callable[[int, int], int]

#: RFC 8449 §4: a record_size_limit below 64 is illegal.
MIN_RECORD_SIZE_LIMIT: Final = 64

_CCS: Final = int(ContentType.CHANGE_CIPHER_SPEC)
_ALERT: Final = int(ContentType.ALERT)
_HANDSHAKE: Final = int(ContentType.HANDSHAKE)
_APPLICATION_DATA: Final = int(ContentType.APPLICATION_DATA)
_SSL3: Final = 0x0300
_HEADER = struct.Struct(">BHH")  # type, legacy_record_version, length (RFC 8446 §5.1)
_pack_header = _HEADER.pack
_unpack_header = _HEADER.unpack_from
_NULL = NullProtector()


def _type_name(content_type: int) -> str:
    try:
        return ContentType(content_type).name.lower()
    except ValueError:
        return f"unknown content type {content_type}"


class RecordLayer:
    """Record framing and protection for one connection (see the module docstring)."""

    __slots__ = (
        "_fast_chunk",
        "_fast_header",
        "_fast_length",
        "_fast_size",
        "_hs",
        "_max_protected",
        "_open",
        "_out",
        "_padding_policy",
        "_rbuf",
        "_read",
        "_read_protected",
        "_read_tls12",
        "_receive_limit",
        "_rpos",
        "_seal_into",
        "_send_limit",
        "_write",
        "_write_version",
        "allow_plaintext_alerts",
        "skip_early_data",
    )

    def __init__(
        self,
        *,
        receive_limit: int = MAX_INNER_PLAINTEXT,
        send_limit: int = MAX_INNER_PLAINTEXT,
        padding_policy: PaddingPolicy | None = None,
    ) -> None:
        self._rbuf: bytes | bytearray = b""
        self._rpos = 0
        self._write_version = TLS12
        self._out: list[bytes] = []
        self._hs: list[bytes] = []
        self._padding_policy = padding_policy
        self.allow_plaintext_alerts = False
        """Accept an unprotected alert while reading with handshake keys (see _check_header)."""
        self.skip_early_data = 0
        """A server that rejected 0-RTT discards up to this many bytes of the client's early
        records (see :meth:`_skip_early_record`); 0 when not skipping."""
        self._receive_limit = self._send_limit = MAX_INNER_PLAINTEXT
        self._max_protected = self._fast_length = self._fast_chunk = -1
        self.set_read_protector(_NULL)
        self.set_write_protector(_NULL)
        self.receive_limit = receive_limit
        self.send_limit = send_limit

    # -- configuration ------------------------------------------------------------------------

    @property
    def read_protector(self) -> RecordProtector:
        """The protector that opens the next record."""
        return self._read

    @property
    def write_protector(self) -> RecordProtector:
        """The protector that seals the next record (ask it ``needs_key_update``, §5.5)."""
        return self._write

    def set_read_protector(self, protector: RecordProtector) -> None:
        """Open the following records with ``protector`` (new keys, sequence number 0)."""
        self._read = protector
        self._open = protector.open
        self._read_protected = protector.protected
        # TLS 1.2: every record type is protected, under its own type (RFC 5246 §6.2.3.3)
        self._read_tls12 = protector.protected and not protector.inner_content_type
        self._update_max_protected()

    def set_write_protector(self, protector: RecordProtector) -> None:
        """Seal future records with ``protector``; buffered handshake bytes go out first under
        the old one, so no handshake message spans a key change (RFC 8446 §5.1)."""
        self.flush_handshake()
        self._write = protector
        self._seal_into = protector.seal_into
        self._update_fast_chunk()

    @property
    def write_version(self) -> int:
        """legacy_record_version of our unprotected records: 0x0303, or 0x0301 for an initial
        ClientHello (RFC 8446 §5.1). Protected records always say 0x0303 (§5.2)."""
        return self._write_version

    @write_version.setter
    def write_version(self, version: int) -> None:
        self.flush_handshake()  # buffered bytes keep the version they were written under
        self._write_version = version

    @property
    def receive_limit(self) -> int:
        """Our record_size_limit: max TLSInnerPlaintext of protected records (RFC 8449 §4)."""
        return self._receive_limit

    @receive_limit.setter
    def receive_limit(self, limit: int) -> None:
        if not MIN_RECORD_SIZE_LIMIT <= limit <= MAX_INNER_PLAINTEXT:
            raise ValueError(f"receive_limit must be in 64..2^14+1, got {limit} (RFC 8449 §4)")
        self._receive_limit = limit
        self._update_max_protected()

    @property
    def send_limit(self) -> int:
        """The peer's record_size_limit: max TLSInnerPlaintext we send protected (RFC 8449)."""
        return self._send_limit

    @send_limit.setter
    def send_limit(self, limit: int) -> None:
        if limit < MIN_RECORD_SIZE_LIMIT:
            raise ValueError(f"send_limit must be at least 64, got {limit} (RFC 8449 §4)")
        # RFC 8449 §4: never send more than the protocol allows, whatever the peer says.
        self._send_limit = min(limit, MAX_INNER_PLAINTEXT)
        self._update_fast_chunk()

    @property
    def padding_policy(self) -> PaddingPolicy | None:
        """Optional padding of protected records (RFC 8446 §5.4), clipped to the send limit."""
        return self._padding_policy

    @padding_policy.setter
    def padding_policy(self, policy: PaddingPolicy | None) -> None:
        self._padding_policy = policy
        self._update_fast_chunk()

    def _update_max_protected(self) -> None:
        if self._read_tls12:  # RFC 8449 §4: content only, at most 2^14 (RFC 5246 §6.2.1)
            limit = min(self._receive_limit, MAX_PLAINTEXT) + self._read.overhead
        else:  # RFC 8446 §5.2, §5.4: TLSInnerPlaintext + tag, at most 2^14 + 256
            limit = min(self._receive_limit + self._read.overhead, MAX_CIPHERTEXT)
        self._max_protected = limit
        self._fast_length = limit if self._read_protected else -1
        self._fast_header, self._fast_size = b"", -1  # open_single_record checks afresh

    def _update_fast_chunk(self) -> None:  # the largest one-record application data write
        write = self._write
        if not write.protected:
            self._fast_chunk = -1
        elif write.inner_content_type:  # TLS 1.3: the type byte counts (and padding is slow)
            self._fast_chunk = self._send_limit - 1 if self._padding_policy is None else -1
        else:  # TLS 1.2: content only, never more than 2^14 (RFC 8449 §4)
            self._fast_chunk = min(self._send_limit, MAX_PLAINTEXT)

    # -- receiving ----------------------------------------------------------------------------

    @property
    def buffered(self) -> int:
        """Received bytes not yet consumed by :meth:`next_record`."""
        return len(self._rbuf) - self._rpos

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

    # -- sending ------------------------------------------------------------------------------

    def write(self, content_type: int, data: BytesLike) -> None:
        """Queue ``data`` of ``content_type`` for sending (RFC 8446 §5.1).

        Handshake bytes are buffered for coalescing (see :meth:`flush_handshake`); an alert is
        exactly one record; change_cipher_spec always goes out unprotected (App. D.4);
        application data needs write protection and is cut into records of the send limit.
        Empty handshake or application data writes send nothing.
        """
        if content_type == _APPLICATION_DATA and 0 < len(data) <= self._fast_chunk and not self._hs:
            self._seal_into(self._out, _APPLICATION_DATA, data)  # the hot path: one record
            return
        if content_type == _HANDSHAKE:
            self.write_handshake(data)
            return
        if self._hs:
            self.flush_handshake()
        if content_type == _APPLICATION_DATA:
            if not self._write.protected:
                # RFC 8446 §5.1: application data MUST NOT be written unprotected
                raise UsageError("application data needs write protection")
            self._emit(content_type, data)
        elif content_type == _ALERT:
            # RFC 8446 §5.1: one alert per record, never fragmented
            if not data or len(data) > self._max_content():
                raise UsageError(f"an alert record carries 1..limit bytes, got {len(data)}")
            self._seal(content_type, data)
        elif content_type == _CCS:
            # RFC 8446 §5 / App. D.4: change_cipher_spec is never protected; in TLS 1.2 it
            # precedes our key change (RFC 5246 §7.1) and we never renegotiate
            self._out.append(_NULL.seal(content_type, data, version=TLS12))
        else:
            raise UsageError(f"cannot write records of {_type_name(content_type)}")

    def write_handshake(self, data: BytesLike) -> None:
        """Buffer raw handshake message bytes until :meth:`flush_handshake`."""
        if data:
            self._hs.append(data if type(data) is bytes else bytes(data))

    def flush_handshake(self) -> None:
        """Emit the buffered handshake bytes in as few records as the send limit allows."""
        hs = self._hs
        if hs:
            data = hs[0] if len(hs) == 1 else b"".join(hs)
            hs.clear()
            self._emit(_HANDSHAKE, data)

    def data_to_send(self) -> bytes:
        """Return (and forget) everything queued for the wire, flushing handshake bytes."""
        if self._hs:
            self.flush_handshake()
        out = self._out
        data = b"".join(out)  # b"" when empty; the record itself when only one was queued
        out.clear()
        return data

    def _max_content(self) -> int:
        """Most content bytes one record may carry under the current write protector."""
        write = self._write
        if write.inner_content_type:
            return self._send_limit - 1  # RFC 8449 §4 / RFC 8446 §5.4: the type byte counts
        if write.protected:
            return min(self._send_limit, MAX_PLAINTEXT)  # TLS 1.2: content only (RFC 8449 §4)
        return MAX_PLAINTEXT

    def _seal(self, content_type: int, data: BytesLike) -> None:
        """Seal one record into the output, asking the padding policy (TLS 1.3 only)."""
        padding = 0
        policy = self._padding_policy
        if policy is not None and self._write.inner_content_type:
            room = self._send_limit - 1 - len(data)
            padding = max(0, min(policy(content_type, len(data)), room))
        self._seal_into(self._out, content_type, data, padding, version=self._write_version)

    def _emit(self, content_type: int, data: BytesLike) -> None:
        """Fragment ``data`` into records of at most the send limit and queue them."""
        chunk = self._max_content()
        if len(data) <= chunk:
            if data:
                self._seal(content_type, data)
            return
        with memoryview(data) as view:
            for i in range(0, len(data), chunk):
                self._seal(content_type, view[i : i + chunk])
