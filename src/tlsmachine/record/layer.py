"""The TLS record layer: framing, size limits, fragmentation, coalescing (RFC 8446 §5, RFC 5246
§6.2). Here :class:`RecordLayer` with its configuration (protectors, limits, padding) and the
sending side; receiving, with the table of the rules it applies, is its base
:class:`~tlsmachine.record.layer_receive.RecordReceiver`.

Theory of operation
===================

:class:`RecordLayer` sits between the byte stream and the handshake/alert/application
protocols. It never does I/O: the owner *feeds* it received bytes and *drains* the bytes to send.

Receiving
    ``feed(data)`` then ``next_record()`` until it returns ``None``: see
    :mod:`tlsmachine.record.layer_receive`.

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

Limits: ``send_limit`` is the peer's record_size_limit and ``receive_limit`` ours (RFC 8449).
In TLS 1.3 both count the whole TLSInnerPlaintext (content + type + padding) of *protected*
records; the default, 2^14 + 1, is the protocol maximum. In TLS 1.2 they count the content
only, and at most 2^14 of it (RFC 8449 §4): a limit of 2^14 + 1 means 2^14. Unprotected
records always carry up to 2^14 bytes. The padding policy applies to TLS 1.3 records only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ..enums import ContentType
from ..errors import RecordOverflow, UsageError
from .layer_receive import RecordReceiver, _type_name
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
_NULL = NullProtector()


class RecordLayer(RecordReceiver):
    """Record framing and protection for one connection (see the module docstring)."""

    __slots__ = (  # and RecordReceiver.__slots__
        "_fast_chunk",
        "_hs",
        "_max_protected",
        "_open",
        "_out",
        "_padding_policy",
        "_read",
        "_read_protected",
        "_read_tls12",
        "_receive_limit",
        "_seal_into",
        "_send_limit",
        "_write",
        "_write_version",
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
        self._largest_opened = 0
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

    def agree_receive_limit(self, limit: int) -> None:
        """Lower :attr:`receive_limit` to ``limit`` now that the peer has agreed to it.

        RFC 8449 §4: "A TLS endpoint that receives a record larger than its advertised limit
        MUST generate a fatal "record_overflow" alert". A TLS 1.3 server answers in
        EncryptedExtensions, which arrives already protected: the server knew our limit when
        it sealed that record (and any before it under the same keys), so they are held to it
        too, after the fact. Raises :class:`~tlsmachine.errors.RecordOverflow`.
        """
        self.receive_limit = limit
        if self._largest_opened > self._max_protected:  # 0 until a protected record opened
            raise RecordOverflow(
                f"a protected record of {self._largest_opened} bytes came before the peer agreed"
                f" to our record_size_limit of {limit} (RFC 8449 §4)"
            )

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
