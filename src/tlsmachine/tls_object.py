"""The non-blocking :class:`TLSObject` that :meth:`Context.wrap_bio
<tlsmachine.context.Context.wrap_bio>` returns (shaped like :class:`ssl.SSLObject`), and the
:class:`IncomingBIO`/:class:`OutgoingBIO` protocols it reads from and writes to. It moves bytes
between two BIOs and the sans-I/O core and never blocks, so event loops and custom transports
can drive TLS themselves; :mod:`tlsmachine.context` re-exports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, Protocol, TypeVar

from .connection import Connection, ConnectionState
from .connection_info import ConnectionInfo
from .errors import AlertReceived, ProtocolError, WantReadError, WantWriteError
from .events import (
    Event,
)
from .plaintext_buffer import PlaintextBuffer
from .tls_socket import RaggedEOFError

if TYPE_CHECKING:
    from .context import Context

__all__ = ["IncomingBIO", "OutgoingBIO", "TLSObject"]

P = ParamSpec("P")
R = TypeVar("R")

_PUMP_SIZE = 65536
"""Bytes taken from the incoming BIO per step: up to four full records."""


class IncomingBIO(Protocol):
    """What :class:`TLSObject` reads the peer's bytes from (as :class:`ssl.MemoryBIO`)."""

    def read(self, size: int = -1, /) -> bytes: ...

    @property
    def eof(self) -> bool: ...


class OutgoingBIO(Protocol):
    """What :class:`TLSObject` writes our bytes to; ``write`` returns how many it took."""

    def write(self, data: bytes, /) -> int: ...


class TLSObject(ConnectionInfo):
    """A TLS connection over two BIOs, shaped like :class:`ssl.SSLObject`: nothing blocks.

    ``do_handshake()``, ``read()``, ``write()`` and ``unwrap()`` raise :class:`WantReadError`
    when they need bytes from the peer (put them in ``incoming``, call again) and
    :class:`WantWriteError` when ``outgoing`` took fewer bytes than offered (drain it, call
    again; never with :class:`ssl.MemoryBIO`, which takes everything). A ``write()`` that
    raises it consumed nothing; one that returns may leave bytes queued here, offered again
    by the next call (``write(b"")`` just offers them). After each call, send what
    ``outgoing`` holds. ``read()`` returns ``b""`` after the peer's close_notify and raises
    :class:`RaggedEOFError` at an EOF (``incoming.write_eof()``) without one.
    """

    def __init__(
        self,
        connection: Connection,
        incoming: IncomingBIO,
        outgoing: OutgoingBIO,
        *,
        context: Context | None = None,
    ) -> None:
        self.connection = connection
        self.incoming = incoming
        self.outgoing = outgoing
        self.context = context
        self.clean_close: bool | None = None
        """None while open; True after the peer's close_notify; False after a bare EOF."""
        self.on_event: Callable[[Event], None] | None = None
        self._pending = PlaintextBuffer()
        self._unsent = bytearray()  # ours, not yet taken by the outgoing BIO

    def pending(self) -> int:
        return len(self._pending)

    def do_handshake(self) -> None:
        """Advance the handshake with what ``incoming`` holds (WantReadError until done)."""
        if self.connection.handshake_info is None:
            self._count_handshake_start()
        self._queue()  # a client's ClientHello waits in the core until the first call
        self._drain_or_raise()
        if self.connection.handshake_info is None:
            self._pump()
        if self.connection.handshake_info is None:
            if self.incoming.eof:
                raise RaggedEOFError("EOF during the handshake")
            raise WantReadError("the handshake needs more data from the peer")

    def read(self, size: int = 1024, buffer: bytearray | memoryview | None = None) -> bytes | int:
        """Up to ``size`` bytes of application data (into ``buffer``: returns the count)."""
        if buffer is None and size == 0:
            return b""  # as ssl: nothing asked, nothing waited for
        if self.connection.handshake_info is None:
            self.do_handshake()
        if buffer is not None and size <= 0:
            size = len(buffer)
        if not self._pending and self.clean_close is None:
            self._pump(until_data=True)
        if not self._pending:
            if self.clean_close:
                return 0 if buffer is not None else b""
            if self.incoming.eof:
                self.clean_close = False
                raise RaggedEOFError("EOF without close_notify: the data may be truncated")
            raise WantReadError("no application data yet")
        if buffer is None:
            return self._pending.take(size)
        with memoryview(buffer) as view, view.cast("B") as target:
            return self._pending.take_into(target[:size])

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Encrypt all of ``data``; returns its length."""
        if self.connection.handshake_info is None:
            self.do_handshake()
        self._drain_or_raise()  # before taking data: a retried write must not send it twice
        payload = bytes(data)
        if payload:  # write(b"") only offers what is still queued to the outgoing BIO
            self._guard(self.connection.send, payload)
            self._queue()
        return len(payload)

    def unwrap(self) -> None:
        """Send close_notify and wait (WantReadError) for the peer's (RFC 8446 §6.1); what
        follows the peer's close_notify stays in ``incoming``."""
        conn = self.connection
        handshaking = conn.handshake_info is None
        conn.close()
        self._queue()
        self._drain_or_raise()
        if handshaking or conn.state in (ConnectionState.SHUTDOWN, ConnectionState.FAILED):
            return
        if self.clean_close is None:
            self._pump_to_close_notify()
        if self.clean_close is None:
            if self.incoming.eof:
                raise RaggedEOFError("EOF without close_notify")
            raise WantReadError("waiting for the peer's close_notify")

    def verify_client_post_handshake(self) -> None:
        """Server: ask for a client certificate now (RFC 8446 §4.6.2)."""
        self._guard(self.connection.request_client_certificate)
        self._queue()

    def key_update(self, *, request_peer: bool = False) -> None:
        """Send a KeyUpdate (RFC 8446 §4.6.3)."""
        self._guard(self.connection.key_update, request_peer=request_peer)
        self._queue()

    # -- internals ---------------------------------------------------------------------------

    def _pump(self, *, until_data: bool = False) -> None:
        """Feed what ``incoming`` holds to the core, :data:`_PUMP_SIZE` bytes at a time, and
        queue our answers; with ``until_data``, stop as soon as application data is buffered.

        A read so decrypts about as far as it must, as ssl's does, rather than all that the
        application put in ``incoming`` at once: the plaintext buffered here stays bounded.
        """
        while data := self.incoming.read(_PUMP_SIZE):
            self._take_events(self._guard(self.connection.receive_data, data))
            self._queue()
            if until_data and self._pending:
                return

    def _pump_to_close_notify(self) -> None:
        """:meth:`_pump` record by record, up to the peer's close_notify, leaving what
        follows it in ``incoming`` (as ssl's ``unwrap()`` does)."""
        conn = self.connection
        while self.clean_close is None:
            data = self.incoming.read(max(conn.bytes_to_record_end(), 1))
            if not data:
                return
            self._take_events(self._guard(conn.receive_data, data))
            self._queue()

    def _guard(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a core call; on a protocol error, queue the fatal alert, then re-raise."""
        try:
            return fn(*args, **kwargs)
        except (ProtocolError, AlertReceived):
            self._take_events(self.connection.take_events())  # what came before the error
            self._queue()
            raise

    def _queue(self) -> None:
        """Offer what the core has for the peer to ``outgoing``; keep what it does not take."""
        data = self._data_to_send()
        if data and not self._unsent:  # the usual case: to the BIO as it is, no copy of ours
            taken = self.outgoing.write(data)
            if taken < len(data):
                self._unsent += memoryview(data)[taken:]
            return
        self._unsent += data
        self._drain()

    def _drain(self) -> bool:
        """Offer what we have to ``outgoing``; True when it took everything."""
        if self._unsent:
            taken = self.outgoing.write(bytes(self._unsent))
            del self._unsent[:taken]
        return not self._unsent

    def _drain_or_raise(self) -> None:
        if not self._drain():
            raise WantWriteError("the outgoing BIO is full")
