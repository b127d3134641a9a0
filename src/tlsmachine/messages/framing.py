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

from collections import deque
from typing import Protocol

from ..codec import Writer
from ..enums import HandshakeType
from ..errors import ConfigurationError, DecodeError

HEADER_SIZE = 4
# 64 KiB plus headroom: certificate chains are the largest handshake messages in practice.
DEFAULT_MAX_MESSAGE_SIZE = 1 << 17
#: The largest ClientHello the syntax allows (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2): version 2,
#: random 32, session id 1+32, cipher_suites 2+(2^16-2), compression 1+255, extensions
#: 2+(2^16-1). A server reads any well-formed ClientHello, as tlsfuzzer's
#: test-client-hello-max-size expects (OpenSSL's limit is the same).
MAX_CLIENT_HELLO_SIZE = 2 + 32 + 1 + 32 + 2 + 0xFFFE + 1 + 0xFF + 2 + 0xFFFF
#: Bodies of a fixed or small size (RFC 8446 §4.4.4: verify_data is Hash.length, at most 48
#: for our suites, 12 in TLS 1.2; §4.6.3 KeyUpdate: one byte; §4.5, RFC 5246 §7.4.1.1,
#: §7.4.5: empty): a header announcing more is refused at once, without buffering the body.
_SMALL_BODIES: dict[int, int] = {
    HandshakeType.FINISHED: 64,
    HandshakeType.KEY_UPDATE: 1,
    HandshakeType.END_OF_EARLY_DATA: 0,
    HandshakeType.HELLO_REQUEST: 0,
    HandshakeType.SERVER_HELLO_DONE: 0,
}
_CLIENT_HELLO = int(HandshakeType.CLIENT_HELLO)


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


def frame_handshake(msg_type: int, body: bytes) -> bytes:
    """A whole handshake message from its type and already encoded body (RFC 8446 §4).

    For the messages a state encodes straight to bytes, without building the message object.
    """
    n = len(body)
    if n > 0xFFFFFF:
        raise ValueError(f"a handshake body of {n} bytes does not fit uint24")
    return bytes((msg_type, n >> 16, (n >> 8) & 0xFF, n & 0xFF)) + body


class HandshakeBuffer:
    """Reassembles handshake messages from the handshake-content records of one connection.

    ``feed()`` appends record contents; ``pop()`` returns one complete message (header included)
    or ``None``. ``feed()`` splits the complete messages off at once into a queue: usually a
    record holds whole messages, and each is then one slice of the record (or the record itself),
    with no copy through a buffer. Only an incomplete message waits in a ``bytearray`` until its
    last byte arrives; then it is split like a record. Work stays linear in the bytes fed.
    """

    __slots__ = ("_need", "_partial", "_ready", "_refused", "max_message_size", "refused_type")

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        if not 0 <= max_message_size <= 0xFFFFFF:
            raise ConfigurationError(f"max_message_size {max_message_size} outside 0..2^24-1")
        self.max_message_size = max_message_size
        self._ready: deque[bytes] = deque()  # complete messages not yet popped
        self._partial = bytearray()  # the start of an incomplete message
        self._need = HEADER_SIZE  # bytes the partial message needs (its header, then all)
        self.refused_type: int | None = None
        self._refused: DecodeError | None = None  # raised by pop() after the messages before it
        """The type of the message whose header :meth:`feed` refused as too large, so that the
        caller can judge the type first (an out-of-order type is unexpected_message)."""

    @property
    def empty(self) -> bool:
        """True when no bytes are buffered: no partial (or unread) message is pending."""
        return not self._ready and not self._partial and self._refused is None

    @property
    def pending_type(self) -> int | None:
        """The type of the incomplete message waiting for more bytes, or ``None``.

        Its first byte is enough for the caller to judge it (RFC 8446 §4: an out-of-order
        type is unexpected_message) without waiting for a body that may never come.
        """
        partial = self._partial
        return partial[0] if partial else None

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append handshake bytes; raise :class:`DecodeError` on an over-limit header."""
        partial = self._partial
        if partial:
            partial += data
            if len(partial) < self._need:
                return
            if self._need == HEADER_SIZE:  # the header is complete now: the message's size
                self._need = HEADER_SIZE + self._length(partial, 0)
                if len(partial) < self._need:
                    return
            data = bytes(partial)
            partial.clear()
            self._need = HEADER_SIZE
        elif type(data) is not bytes:
            data = bytes(data)
        self._split(data)

    def _length(self, data: bytes | bytearray, pos: int) -> int:
        """The uint24 length of the header at ``pos``, within the limit (else DecodeError)."""
        length = data[pos + 1] << 16 | data[pos + 2] << 8 | data[pos + 3]
        msg_type = data[pos]
        limit = _SMALL_BODIES.get(msg_type, self.max_message_size)
        if msg_type == _CLIENT_HELLO:
            limit = max(limit, MAX_CLIENT_HELLO_SIZE)
        if length > limit:
            self.refused_type = msg_type
            raise DecodeError(
                f"handshake message type {msg_type} announces {length} bytes, "
                f"more than the limit of {limit}"
            )
        return length

    def _split(self, data: bytes) -> None:
        """Queue the complete messages of ``data`` (no partial message before it); keep the
        incomplete rest."""
        size = len(data)
        pos = 0
        while pos + HEADER_SIZE <= size:
            try:
                end = pos + HEADER_SIZE + self._length(data, pos)
            except DecodeError as exc:
                if not self._ready:
                    raise
                # the messages before it come first, each in the state it is received in
                self._refused = exc
                return
            if end > size:
                break
            self._ready.append(data if end == size and pos == 0 else data[pos:end])
            pos = end
        if pos < size:
            self._partial += data[pos:]
            if size - pos >= HEADER_SIZE:
                self._need = HEADER_SIZE + self._length(data, pos)

    def pop(self) -> bytes | None:
        """Return the next complete message (header included), or ``None``."""
        ready = self._ready
        if ready:
            return ready.popleft()
        refused, self._refused = self._refused, None
        if refused is not None:
            raise refused
        return None
