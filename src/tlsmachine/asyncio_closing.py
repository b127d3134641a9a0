"""The closing half of :class:`~tlsmachine.asyncio_protocol.TLSProtocol`: fatal errors (flush
the core's alert, then a lingering close), the application's close() (close_notify, then a
bounded wait for the peer's), aborts, the handshake and shutdown timers, and reporting a failure
to whoever waits for it. Split from :mod:`tlsmachine.asyncio_protocol` by concern; the rules are
described in :mod:`tlsmachine.asyncio`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from typing import TYPE_CHECKING

from .connection import Connection, ConnectionState
from .linger import LINGER_SECONDS

if TYPE_CHECKING:
    from .asyncio_protocol import ErrorHook
    from .asyncio_transport import TLSTransport

__all__ = ["TLSProtocolClosing"]

logger = logging.getLogger("tlsmachine.asyncio")  # the public module's name, as before the split


class _App(enum.Enum):
    """Where the application protocol is: INIT -> CONNECTED [-> EOF] -> LOST (as sslproto)."""

    INIT = "init"
    CONNECTED = "connected"
    EOF = "eof"
    LOST = "lost"


if TYPE_CHECKING:

    class _TLSProtocolParts:
        """What :class:`TLSProtocolClosing` uses of TLSProtocol (for mypy only)."""

        connection: Connection
        transport: TLSTransport
        clean_close: bool | None
        _app: asyncio.Protocol
        _app_state: _App
        _waiter: asyncio.Future[None] | None
        _loop: asyncio.AbstractEventLoop
        _tcp: asyncio.Transport | None
        _timer: asyncio.TimerHandle | None
        _handshake_timeout: float
        _shutdown_timeout: float
        _on_error: ErrorHook | None
        _plaintext: list[bytes]
        _plaintext_size: int
        _eof_pending: bool
        _closing: bool
        _write_closed: bool
        _tcp_closing: bool
        _tcp_lost: bool
        _failed: bool
        _lost_reason: Exception | None

        def _flush(self) -> None: ...

else:
    _TLSProtocolParts = object


class TLSProtocolClosing(_TLSProtocolParts):
    """What :class:`~tlsmachine.asyncio_protocol.TLSProtocol` does to fail, close and abort."""

    def _fail(self, exc: Exception, *, abort: bool = False) -> None:
        """A fatal error: flush the core's alert (if any), close, tell the application."""
        if self._failed:
            return
        self._failed = True
        self._lost_reason = exc
        self._wake_waiter(exc)
        if abort:
            self._abort_tcp()
        else:
            self._flush()
            self._linger()

    def _linger(self) -> None:
        """After our fatal alert: half-close, then read and drop what the peer still sends,
        briefly, before closing TCP.

        Closing a socket with unread input makes the kernel answer with a TCP RST, and an RST
        can destroy our alert in the peer's receive buffer before the peer reads it (what HTTP
        servers avoid with a "lingering close"); the peer would then see a reset instead of the
        reason (RFC 8446 §6.2). Bounded by time and bytes (see data_received).
        """
        tcp = self._tcp
        if tcp is None or self._tcp_closing or self._tcp_lost or not tcp.can_write_eof():
            self._close_tcp()
            return
        tcp.write_eof()  # after the buffered alert
        tcp.resume_reading()
        self._cancel_timer()
        self._timer = self._loop.call_later(LINGER_SECONDS, self._close_tcp)

    def _app_error(self, exc: Exception) -> None:
        """An application callback (or on_event hook) raised: report it, drop the connection."""
        self._loop.call_exception_handler(
            {
                "message": "TLS application protocol callback failed",
                "exception": exc,
                "transport": self.transport,
                "protocol": self._app,
            }
        )
        self._failed = True
        self._lost_reason = exc
        self._wake_waiter(exc)
        self._abort_tcp()

    def _start_close(self) -> None:
        """close(): send close_notify, then wait (bounded) for the peer's before closing TCP."""
        if self._closing:
            return
        self._closing = True
        self._plaintext = []
        self._plaintext_size = 0
        self._eof_pending = False
        if self._tcp is None or self._tcp_closing:
            return
        if self._app_state is _App.INIT:  # no handshake to shut down (as sslproto does)
            self._abort_tcp()
            return
        self._send_close_notify()
        state = self.connection.state
        if state is ConnectionState.SHUTDOWN or state is ConnectionState.FAILED:
            self._close_tcp()
        elif self.clean_close is not None:
            self._close_tcp()  # the peer is gone already: nothing to wait for
        else:
            self._tcp.resume_reading()  # the peer's close_notify has to be read
            self._cancel_timer()
            self._timer = self._loop.call_later(self._shutdown_timeout, self._shutdown_timed_out)

    def _send_close_notify(self) -> None:
        if self.connection.state in (ConnectionState.APP_DATA, ConnectionState.PEER_CLOSED):
            self.connection.close()
            self._write_closed = True
            self._flush()

    def _close_tcp(self) -> None:
        """Close TCP after its buffer drained (our alert, close_notify); abort if it hangs."""
        if self._tcp is None or self._tcp_closing:
            return
        self._tcp_closing = True
        self._tcp.close()
        self._cancel_timer()
        if not self._tcp_lost:
            self._timer = self._loop.call_later(self._shutdown_timeout, self._abort_tcp)

    def _abort_tcp(self) -> None:
        self._cancel_timer()
        if self._tcp is not None and not self._tcp_lost:
            self._tcp_closing = True
            self._tcp.abort()

    def _handshake_timed_out(self) -> None:
        self._timer = None
        if self.connection.handshake_info is None:
            message = f"TLS handshake did not finish in {self._handshake_timeout} seconds"
            self._fail(TimeoutError(message), abort=True)

    def _shutdown_timed_out(self) -> None:
        self._timer = None
        self._lost_reason = TimeoutError(
            f"no close_notify from the peer in {self._shutdown_timeout} seconds"
        )
        self._abort_tcp()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _wake_waiter(self, exc: BaseException | None) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            if exc is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(exc)

    def _report(self, exc: BaseException) -> None:
        """A server connection failed before the application saw it: hook, or log."""
        peer = None if self._tcp is None else self._tcp.get_extra_info("peername")
        if self._on_error is None:
            logger.info("TLS connection from %s failed: %r", peer, exc)
            return
        try:
            self._on_error(exc, peer)
        except Exception as hook_exc:
            self._loop.call_exception_handler(
                {"message": "tlsmachine on_error hook failed", "exception": hook_exc}
            )
