"""The TCP side of the asyncio adapter: :class:`TLSProtocol` sits on the TCP transport, feeds
the sans-I/O core and drives the application protocol (the handshake, flow control both ways,
close_notify; failing, closing and aborting are in :mod:`tlsmachine.asyncio_closing`), deciding
nothing about TLS itself. :class:`RaggedEOFError` is what it reports for a truncation. The
rules it keeps are described in :mod:`tlsmachine.asyncio`, the public module that re-exports it
with :class:`~tlsmachine.asyncio.TLSTransport` and the functions that build both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

from .asyncio_closing import TLSProtocolClosing, _App, logger
from .asyncio_transport import TLSTransport
from .connection import Connection, ConnectionState
from .errors import TLSError
from .events import (
    ApplicationData,
    ConnectionClosed,
    EarlyDataReceived,
    Event,
    HandshakeComplete,
)
from .linger import LINGER_BYTES

__all__ = [
    "HANDSHAKE_TIMEOUT",
    "SHUTDOWN_TIMEOUT",
    "ErrorHook",
    "EventHook",
    "RaggedEOFError",
    "TLSProtocol",
]

HANDSHAKE_TIMEOUT = 60.0
"""Seconds from TCP connect to a finished handshake (asyncio's ssl default)."""
SHUTDOWN_TIMEOUT = 30.0
"""Seconds ``close()`` waits for the peer's close_notify and our last bytes (asyncio's default)."""
_DROPPED_WRITES_WARNING = 5  # like asyncio: warn once a closed transport is written to this often

EventHook = Callable[[Event], None]
ErrorHook = Callable[[BaseException, Any], None]
"""``on_error(exception, peername)``: a server connection failed before its handshake ended."""


class RaggedEOFError(TLSError, ConnectionResetError):
    """The transport closed without close_notify (RFC 8446 §6.1): the data may be truncated.

    Also a :class:`ConnectionResetError`, so code that handles lost connections handles it.
    """


class TLSProtocol(TLSProtocolClosing, asyncio.Protocol):
    """The TCP side of one TLS connection: feeds the core, drives the application protocol.

    The application protocol gets ``connection_made`` only once the handshake is complete.
    Use the functions of :mod:`tlsmachine.asyncio` rather than building this yourself.
    """

    def __init__(
        self,
        connection: Connection,
        app_protocol: asyncio.BaseProtocol,
        *,
        waiter: asyncio.Future[None] | None = None,
        ssl_handshake_timeout: float = HANDSHAKE_TIMEOUT,
        ssl_shutdown_timeout: float = SHUTDOWN_TIMEOUT,
        suppress_ragged_eofs: bool = False,
        on_event: EventHook | None = None,
        on_error: ErrorHook | None = None,
    ) -> None:
        for name, value in (
            ("ssl_handshake_timeout", ssl_handshake_timeout),
            ("ssl_shutdown_timeout", ssl_shutdown_timeout),
        ):
            if not value > 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        self.connection = connection
        self._app = cast("asyncio.Protocol", app_protocol)  # the Protocol callbacks are used
        self._app_state = _App.INIT
        self._waiter = waiter
        self._handshake_timeout = ssl_handshake_timeout
        self._shutdown_timeout = ssl_shutdown_timeout
        self._suppress_ragged_eofs = suppress_ragged_eofs
        self._on_event = on_event
        self._on_error = on_error
        self._loop = asyncio.get_running_loop()
        self._tcp: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.transport = TLSTransport(self)
        """What the application protocol is given (also the first item of create_connection)."""
        self._plaintext: list[bytes] = []  # received, not yet handed to the application
        self._plaintext_size = 0
        self._eof_pending = False  # an EOF to hand over after the plaintext
        self._app_paused = False  # the application paused reading
        self._tcp_paused_us = False  # the TCP transport paused our writing
        self._closing = False  # the application called close()/abort(): nothing more for it
        self._write_closed = False  # we sent close_notify
        self._tcp_closing = False
        self._tcp_lost = False
        self._failed = False
        self._lingered = 0  # bytes read and dropped after our fatal alert (_linger)
        self._lost_reason: Exception | None = None
        self._dropped_writes = 0
        self.clean_close: bool | None = None
        """None while open; True after the peer's close_notify; False after a bare EOF."""

    # -- asyncio.Protocol: the TCP side ------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._tcp = cast("asyncio.Transport", transport)
        self._timer = self._loop.call_later(self._handshake_timeout, self._handshake_timed_out)
        self._flush()  # a client's ClientHello

    def data_received(self, data: bytes) -> None:
        if self._failed or self._tcp_lost:
            self._lingered += len(data)
            if self._lingered > LINGER_BYTES:
                self._close_tcp()
            return
        try:
            events = self.connection.receive_data(data)
        except Exception as exc:  # the core raised (a TLSError, InternalError for its bugs)
            # what the same read decoded before the error (e.g. application data ahead of a
            # fatal alert) is the peer's all the same: hand it over first
            before = self.connection.take_events()
            if before:
                self._handle(before)
            self._fail(exc)
            return
        self._flush()
        self._handle(events)

    def eof_received(self) -> bool:
        """The peer closed its TCP write side. We always close the transport ourselves."""
        if self._failed:
            self._close_tcp()  # the end of _linger()
            return True
        if self._tcp_closing:
            return True
        if self.connection.handshake_info is None:
            self._fail(RaggedEOFError("connection closed by the peer during the TLS handshake"))
        elif self.clean_close:  # close_notify came first: a clean half-close
            if self._closing or self.connection.state is ConnectionState.SHUTDOWN:
                self._close_tcp()
        elif self._closing:
            self._close_tcp()  # we were waiting for the peer's close_notify: good enough
        else:
            self.clean_close = False
            if self._suppress_ragged_eofs:
                self._eof_pending = True
                self._deliver()
            else:
                self._lost_reason = RaggedEOFError(
                    "connection closed without close_notify (RFC 8446 §6.1): data may be truncated"
                )
                self._close_tcp()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._tcp_lost = True
        self._cancel_timer()
        reason = self._lost_reason or exc
        if self._app_state is _App.INIT:  # the application never saw this connection
            if self._waiter is not None:
                self._wake_waiter(
                    reason or ConnectionResetError("connection lost during the TLS handshake")
                )
            elif reason is not None:
                self._report(reason)
        elif self._app_state is not _App.LOST:
            try:
                if not self._closing:  # the connection is gone: hand over what arrived
                    if self._plaintext:
                        self._deliver_data()
                    if self._eof_pending and self._app_state is _App.CONNECTED:
                        self._app_state = _App.EOF
                        self._app.eof_received()
            finally:
                self._app_state = _App.LOST
                self._app.connection_lost(reason)
        self._tcp = None

    def pause_writing(self) -> None:
        self._tcp_paused_us = True
        if self._app_state in (_App.CONNECTED, _App.EOF):
            self._app.pause_writing()

    def resume_writing(self) -> None:
        self._tcp_paused_us = False
        if self._app_state in (_App.CONNECTED, _App.EOF):
            self._app.resume_writing()

    # -- events from the core ----------------------------------------------------------------

    def _handle(self, events: list[Event]) -> None:
        try:
            for event in events:
                if isinstance(event, ApplicationData | EarlyDataReceived):
                    if not self._closing:  # after close() nothing is delivered (asyncio rule)
                        self._plaintext.append(event.data)
                        self._plaintext_size += len(event.data)
                elif isinstance(event, HandshakeComplete):
                    self._handshake_complete(event)
                elif isinstance(event, ConnectionClosed):
                    self.clean_close = True
                    self._eof_pending = not self._closing
                if self._on_event is not None:
                    self._on_event(event)
            if self.clean_close and self._app_state is _App.INIT:
                self._fail(TLSError("the peer sent close_notify during the TLS handshake"))
            elif self._closing and self.connection.state is ConnectionState.SHUTDOWN:
                self._close_tcp()  # the close_notify we waited for
            else:
                self._deliver()
        except Exception as exc:
            self._app_error(exc)

    def _handshake_complete(self, info: HandshakeComplete) -> None:
        self._cancel_timer()
        self._app_state = _App.CONNECTED
        self._app.connection_made(self.transport)
        if self._tcp_paused_us:
            self._app.pause_writing()
        self._wake_waiter(None)

    def _deliver(self) -> None:
        """Hand plaintext, then a pending EOF, to the application unless it paused reading."""
        while not self._app_paused and self._app_state is _App.CONNECTED and not self._closing:
            if self._plaintext:
                self._deliver_data()
            elif self._eof_pending:
                self._eof_pending = False
                self._app_state = _App.EOF
                keep_open = self._app.eof_received()
                # RFC 8446 §6.1: we may go on sending (half-close) until the application closes;
                # after TLS 1.2's immediate answer (RFC 5246 §7.2.1) the connection is done.
                if not keep_open or self.connection.state is ConnectionState.SHUTDOWN:
                    self._start_close()
            else:
                break

    def _deliver_data(self) -> None:
        chunks = self._plaintext
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._plaintext = []
        self._plaintext_size = 0
        self._app.data_received(data)

    # -- what TLSTransport calls -------------------------------------------------------------

    def _flush(self) -> None:
        data = self.connection.data_to_send()
        if data and self._tcp is not None and not self._tcp_lost and not self._tcp_closing:
            self._tcp.write(data)

    def _write(self, data: bytes) -> None:
        state = self.connection.state
        if (
            self._closing
            or self._write_closed
            or self._failed
            or self._tcp_closing
            or self._tcp_lost
            or (state is not ConnectionState.APP_DATA and state is not ConnectionState.PEER_CLOSED)
        ):
            self._dropped_writes += 1  # asyncio's rule: writes after close are dropped
            if self._dropped_writes == _DROPPED_WRITES_WARNING:
                logger.warning("writing to a closed TLS connection: the data is dropped")
            return
        try:
            self.connection.send(data)
        except TLSError as exc:
            self._fail(exc)
            return
        self._flush()

    def _write_eof(self) -> None:
        if self._closing or self._write_closed or self._failed or self._tcp_lost:
            return
        self._send_close_notify()
        if self.connection.state is ConnectionState.SHUTDOWN:
            self._close_tcp()  # the peer had closed already: nothing more to read

    def _pause_reading(self) -> None:
        self._app_paused = True
        if self._tcp is not None and not self._closing:
            self._tcp.pause_reading()

    def _resume_reading(self) -> None:
        if not self._app_paused:
            return
        self._app_paused = False
        if self._tcp is not None and not self._tcp_closing:
            self._tcp.resume_reading()
        self._loop.call_soon(self._deliver_soon)

    def _deliver_soon(self) -> None:
        try:
            self._deliver()
        except Exception as exc:
            self._app_error(exc)

    def _abort(self) -> None:
        self._closing = True
        self._plaintext = []
        self._plaintext_size = 0
        self._abort_tcp()
