"""Handshake message framing: the 4-byte header and reassembly across records.

RFC 8446 §4::

    struct {
        HandshakeType msg_type;    /* handshake type */
        uint24 length;             /* remaining bytes in message */
        select (Handshake.msg_type) { ... };
    } Handshake;

RFC 8446 §5.1: handshake messages may be fragmented across records and several may share one
record; they MUST NOT straddle a key change (checked by the caller with
:attr:`HandshakeBuffer.empty`). The buffer is bounded: a header announcing a body larger than
``max_message_size`` raises :class:`DecodeError` as soon as the header arrives.
"""

from __future__ import annotations

from typing import Protocol

from ..codec import Writer
from ..errors import ConfigurationError, DecodeError

HEADER_SIZE = 4
# 64 KiB plus headroom: certificate chains are the largest handshake messages in practice.
DEFAULT_MAX_MESSAGE_SIZE = 1 << 17
_COMPACT_THRESHOLD = 1 << 14


class _Encodable(Protocol):
    @property
    def msg_type(self) -> int: ...

    def serialize_body(self, w: Writer) -> None: ...


def encode_handshake(msg: _Encodable) -> bytes:
    """Serialise a handshake message: ``msg_type``, uint24 length, body (RFC 8446 §4)."""
    w = Writer()
    w.u8(msg.msg_type)
    start = w.begin_vector(3)
    msg.serialize_body(w)
    w.end_vector(start, 3)
    return w.getvalue()


class HandshakeBuffer:
    """Reassembles handshake messages from the handshake-content records of one connection.

    ``feed()`` appends record contents; ``pop()`` returns one complete message (header included)
    or ``None``. Work is linear in the bytes fed: data is appended to one ``bytearray``, read at an
    offset, and the consumed prefix is dropped only when it is at least half of the buffer.
    """

    __slots__ = ("_buf", "_pos", "_scan", "max_message_size")

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        if not 0 <= max_message_size <= 0xFFFFFF:
            raise ConfigurationError(f"max_message_size {max_message_size} outside 0..2^24-1")
        self.max_message_size = max_message_size
        self._buf = bytearray()
        self._pos = 0  # start of the first message not yet popped
        self._scan = 0  # start of the first message not yet known to be complete

    @property
    def empty(self) -> bool:
        """True when no bytes are buffered: no partial (or unread) message is pending."""
        return self._pos == len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append handshake bytes; raise :class:`DecodeError` on an over-limit header."""
        self._buf += data
        self._scan_headers()

    def _scan_headers(self) -> None:
        buf, scan, end = self._buf, self._scan, len(self._buf)
        while scan + HEADER_SIZE <= end:
            length = int.from_bytes(buf[scan + 1 : scan + HEADER_SIZE], "big")
            if length > self.max_message_size:
                raise DecodeError(
                    f"handshake message type {buf[scan]} announces {length} bytes, "
                    f"more than the limit of {self.max_message_size}"
                )
            if scan + HEADER_SIZE + length > end:
                break
            scan += HEADER_SIZE + length
        self._scan = scan

    def pop(self) -> bytes | None:
        """Return the next complete message (header included), or ``None``."""
        pos = self._pos
        if pos >= self._scan:
            return None
        length = int.from_bytes(self._buf[pos + 1 : pos + HEADER_SIZE], "big")
        end = pos + HEADER_SIZE + length
        message = bytes(self._buf[pos:end])
        self._pos = end
        self._compact()
        return message

    def _compact(self) -> None:
        pos = self._pos
        if pos == len(self._buf):
            self._buf.clear()
            self._pos = self._scan = 0
        elif pos >= _COMPACT_THRESHOLD and 2 * pos >= len(self._buf):
            del self._buf[:pos]
            self._scan -= pos
            self._pos = 0
