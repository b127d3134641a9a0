"""asyncio adapter: TLS streams and a Protocol/Transport pair over the sans-I/O core.

Public as ``tlsmachine.asyncio`` (like ``redis.asyncio``). Built the way asyncio's own
``sslproto`` is: :class:`TLSProtocol` sits on the TCP transport and feeds the core;
:class:`TLSTransport` is what the application protocol sees (plaintext in and out). So
:func:`open_connection` and :func:`start_server` hand out real :class:`asyncio.StreamReader` /
:class:`asyncio.StreamWriter` objects, and :func:`create_connection` / :func:`create_server` take
any :class:`asyncio.Protocol` factory. Thin by design: every protocol decision, alerts included,
is the core's (RFC 8446 §6: on a :class:`ProtocolError` we flush the fatal alert it queued before
closing, and the error reaches the application).

Flow control goes both ways: when the TCP transport pauses us, the application protocol is
paused (``StreamWriter.drain()`` blocks); when the application pauses reading, we stop reading
the socket, so at most one socket read of plaintext waits here.

Closure (RFC 8446 §6.1, RFC 5246 §7.2.1): ``close()`` sends close_notify and waits (at most
``ssl_shutdown_timeout``) for the peer's before closing the socket, so our last bytes are not lost
to a reset. The peer's close_notify is a clean EOF: ``eof_received()``, ``StreamReader.at_eof()``.
A transport EOF *without* close_notify after the handshake may be a truncation attack, so by
default it is an error, as in trio and in ``ssl`` with ``suppress_ragged_eofs=False``: the data
that arrived is delivered, then ``connection_lost(RaggedEOFError)`` (a stream reader raises it).
Protocols that frame their own messages can pass ``suppress_ragged_eofs=True`` to get a plain EOF
instead; ``get_extra_info("tls_clean_close")`` tells the two apart (True, False, None while open).
EOF during the handshake is always an error.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar, cast

from .client import ClientConnection
from .config import ClientConfig, ServerConfig
from .connection import Connection, ConnectionState
from .errors import ConfigurationError, ProtocolError, TLSError
from .events import (
    ApplicationData,
    ConnectionClosed,
    EarlyDataReceived,
    Event,
    HandshakeComplete,
)
from .server import ServerConnection

__all__ = [
    "RaggedEOFError",
    "TLSProtocol",
    "TLSTransport",
    "create_connection",
    "create_server",
    "open_connection",
    "start_server",
]

logger = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT = 60.0
"""Seconds from TCP connect to a finished handshake (asyncio's ssl default)."""
SHUTDOWN_TIMEOUT = 30.0
"""Seconds ``close()`` waits for the peer's close_notify and our last bytes (asyncio's default)."""
_STREAM_LIMIT = 2**16  # asyncio.StreamReader's default buffer limit
_DROPPED_WRITES_WARNING = 5  # like asyncio: warn once a closed transport is written to this often
#: After our fatal alert: how long, and for how many bytes, we keep reading (and dropping) what
#: the peer still sends before closing TCP (see TLSProtocol._linger).
_LINGER_SECONDS = 0.5
_LINGER_BYTES = 256 * 1024

EventHook = Callable[[Event], None]
ErrorHook = Callable[[BaseException, Any], None]
"""``on_error(exception, peername)``: a server connection failed before its handshake ended."""
_P = TypeVar("_P", bound=asyncio.BaseProtocol)


class RaggedEOFError(TLSError, ConnectionResetError):
    """The transport closed without close_notify (RFC 8446 §6.1): the data may be truncated.

    Also a :class:`ConnectionResetError`, so code that handles lost connections handles it.
    """


class _App(enum.Enum):
    """Where the application protocol is: INIT -> CONNECTED [-> EOF] -> LOST (as sslproto)."""

    INIT = "init"
    CONNECTED = "connected"
    EOF = "eof"
    LOST = "lost"


class TLSProtocol(asyncio.Protocol):
    """The TCP side of one TLS connection: feeds the core, drives the application protocol.

    The application protocol gets ``connection_made`` only once the handshake is complete.
    Use the module functions rather than building this yourself.
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
            if self._lingered > _LINGER_BYTES:
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

    # -- errors and closing ------------------------------------------------------------------

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
        self._timer = self._loop.call_later(_LINGER_SECONDS, self._close_tcp)

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

    def _extra_info(self, name: str, default: Any) -> Any:
        info = self.connection.handshake_info
        if name == "tlsmachine_connection":
            return self.connection
        if name == "handshake_info":
            return info
        if name == "tls_clean_close":
            return self.clean_close
        if info is not None:
            if name == "peercert":  # unlike ssl's dict: the peer's leaf x509.Certificate
                return info.peer_certificates[0] if info.peer_certificates else default
            tls_info = {
                "peer_certificates": info.peer_certificates,
                "tls_version": info.version,
                "cipher_suite": info.cipher_suite,
                "alpn_protocol": info.alpn_protocol,
                "server_name": info.server_name,
            }
            if name in tls_info:
                return tls_info[name]
        if self._tcp is not None:  # peername, sockname, socket, ...
            return self._tcp.get_extra_info(name, default)
        return default


class TLSTransport(asyncio.Transport):
    """The application's side: plaintext in and out of one TLS connection.

    ``get_extra_info`` adds to the TCP transport's keys (``peername``, ``sockname``,
    ``socket``): ``tlsmachine_connection`` (the sans-I/O :class:`Connection`),
    ``handshake_info`` (:class:`HandshakeComplete`), ``peercert`` (the peer's leaf
    ``x509.Certificate``), ``peer_certificates``, ``tls_version``, ``cipher_suite``,
    ``alpn_protocol``, ``server_name`` and ``tls_clean_close`` (see the module docstring).
    """

    def __init__(self, tls: TLSProtocol) -> None:
        super().__init__()
        self._tls = tls

    @property
    def connection(self) -> Connection:
        """The sans-I/O connection (exporters, ``handshake_info``, ...)."""
        return self._tls.connection

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._tls._extra_info(name, default)

    def is_closing(self) -> bool:
        tls = self._tls
        return tls._closing or tls._failed or tls._tcp_closing or tls._tcp_lost

    def close(self) -> None:
        """Send close_notify (RFC 8446 §6.1); ``connection_lost`` follows once the peer
        answered, or closed, or ``ssl_shutdown_timeout`` passed."""
        self._tls._start_close()

    def abort(self) -> None:
        """Close at once, without close_notify (the peer may see a truncation)."""
        self._tls._abort()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"data: expected a bytes-like object, got {type(data).__name__}")
        if data:
            self._tls._write(data if isinstance(data, bytes) else bytes(data))

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        self.write(b"".join(list_of_data))  # one send: fewer, fuller records

    def write_eof(self) -> None:
        """Half-close: send close_notify now and keep reading until the peer's (§6.1)."""
        self._tls._write_eof()

    def can_write_eof(self) -> bool:
        return True

    def key_update(self, *, request_peer: bool = False) -> None:
        """Send a KeyUpdate (RFC 8446 §4.6.3)."""
        tls = self._tls
        try:
            tls.connection.key_update(request_peer=request_peer)
        except ProtocolError as exc:
            tls._fail(exc)
            raise
        tls._flush()

    def pause_reading(self) -> None:
        """Stop reading the socket; nothing reaches ``data_received`` until resumed."""
        self._tls._pause_reading()

    def resume_reading(self) -> None:
        self._tls._resume_reading()

    def is_reading(self) -> bool:
        return not self._tls._app_paused and not self.is_closing()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Limits on the TCP transport's buffer, which holds our records (ciphertext)."""
        if self._tls._tcp is not None:
            self._tls._tcp.set_write_buffer_limits(high, low)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        tcp = self._tls._tcp
        return (0, 0) if tcp is None else tcp.get_write_buffer_limits()

    def get_write_buffer_size(self) -> int:
        """Bytes waiting to go out; data is encrypted at once, so this is the TCP buffer."""
        tcp = self._tls._tcp
        return 0 if tcp is None else tcp.get_write_buffer_size()

    def get_read_buffer_size(self) -> int:
        """Plaintext received but not yet handed to the application (reading paused)."""
        return self._tls._plaintext_size

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._tls._app = cast("asyncio.Protocol", protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._tls._app


# -- client ------------------------------------------------------------------------------------


async def create_connection(
    protocol_factory: Callable[[], _P],
    host: str | None = None,
    port: int | None = None,
    *,
    server_hostname: str | None = None,
    cafile: str | None = None,
    config: ClientConfig | None = None,
    ssl_handshake_timeout: float = HANDSHAKE_TIMEOUT,
    ssl_shutdown_timeout: float = SHUTDOWN_TIMEOUT,
    suppress_ragged_eofs: bool = False,
    on_event: EventHook | None = None,
    **kwargs: Any,
) -> tuple[TLSTransport, _P]:
    """Connect, complete the handshake, return ``(transport, protocol)``, like
    ``loop.create_connection(..., ssl=...)``.

    ``server_hostname`` (default: ``host``), ``cafile`` and ``config`` mean what they mean for
    :func:`tlsmachine.sockets.connect` (``cafile`` with ``config`` is a ConfigurationError).
    Other keyword arguments (``family``, ``local_addr``, ``sock``, ...) go to
    ``loop.create_connection``. Raises the core's error (its alert already sent), the peer's
    :class:`AlertReceived`, :class:`RaggedEOFError` or :class:`TimeoutError` (handshake).
    Cancelling it closes the socket.
    """
    if config is None:
        config = ClientConfig(cafile=cafile)
    elif cafile is not None:
        raise ConfigurationError(
            "create_connection(): cafile and config were both given; put the CA file in the "
            "config (ClientConfig(cafile=...)) or pass cafile alone"
        )
    loop = asyncio.get_running_loop()
    connection = ClientConnection(config, server_name=server_hostname or host)
    waiter: asyncio.Future[None] = loop.create_future()
    app = protocol_factory()
    tls = TLSProtocol(
        connection,
        app,
        waiter=waiter,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
        suppress_ragged_eofs=suppress_ragged_eofs,
        on_event=on_event,
    )
    # host/port may be None with sock=...: typeshed's overloads cannot see that through kwargs
    tcp, _ = await loop.create_connection(lambda: tls, host, port, **kwargs)  # type: ignore[arg-type]
    try:
        await waiter
    except BaseException:
        if not tcp.is_closing():
            tcp.abort()  # cancelled (or a failed callback): drop the socket now
        raise
    return tls.transport, app


async def open_connection(
    host: str | None = None,
    port: int | None = None,
    *,
    server_hostname: str | None = None,
    cafile: str | None = None,
    config: ClientConfig | None = None,
    limit: int = _STREAM_LIMIT,
    ssl_handshake_timeout: float = HANDSHAKE_TIMEOUT,
    ssl_shutdown_timeout: float = SHUTDOWN_TIMEOUT,
    suppress_ragged_eofs: bool = False,
    on_event: EventHook | None = None,
    **kwargs: Any,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """``asyncio.open_connection`` over TLS: a real StreamReader/StreamWriter pair, returned
    once the handshake is complete. Arguments as for :func:`create_connection`."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=limit, loop=loop)
    protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    transport, _ = await create_connection(
        lambda: protocol,
        host,
        port,
        server_hostname=server_hostname,
        cafile=cafile,
        config=config,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
        suppress_ragged_eofs=suppress_ragged_eofs,
        on_event=on_event,
        **kwargs,
    )
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


# -- server ------------------------------------------------------------------------------------


async def create_server(
    protocol_factory: Callable[[], asyncio.BaseProtocol],
    host: str | None = None,
    port: int | None = None,
    *,
    config: ServerConfig,
    ssl_handshake_timeout: float = HANDSHAKE_TIMEOUT,
    ssl_shutdown_timeout: float = SHUTDOWN_TIMEOUT,
    suppress_ragged_eofs: bool = False,
    on_event: EventHook | None = None,
    on_error: ErrorHook | None = None,
    **kwargs: Any,
) -> asyncio.Server:
    """``loop.create_server`` over TLS: each accepted connection gets a protocol from
    ``protocol_factory``, connected once its handshake is complete.

    One bad client cannot stop the server: a connection that fails before its handshake ended
    (the core's alert sent, a peer's alert, EOF, handshake timeout) is closed and reported to
    ``on_error(exception, peername)``, or logged at INFO level without the hook; later errors
    reach that connection's protocol (``connection_lost``). Other keyword arguments go to
    ``loop.create_server``.
    """
    loop = asyncio.get_running_loop()

    def factory() -> TLSProtocol:
        return TLSProtocol(
            ServerConnection(config),
            protocol_factory(),
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
            suppress_ragged_eofs=suppress_ragged_eofs,
            on_event=on_event,
            on_error=on_error,
        )

    return await loop.create_server(factory, host, port, **kwargs)


ClientConnectedCallback = Callable[
    [asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None] | None
]


async def start_server(
    client_connected_cb: ClientConnectedCallback,
    host: str | None = None,
    port: int | None = None,
    *,
    config: ServerConfig,
    limit: int = _STREAM_LIMIT,
    ssl_handshake_timeout: float = HANDSHAKE_TIMEOUT,
    ssl_shutdown_timeout: float = SHUTDOWN_TIMEOUT,
    suppress_ragged_eofs: bool = False,
    on_event: EventHook | None = None,
    on_error: ErrorHook | None = None,
    **kwargs: Any,
) -> asyncio.Server:
    """``asyncio.start_server`` over TLS: ``client_connected_cb(reader, writer)`` (a function or
    a coroutine function) runs for each client once its handshake is complete. Arguments as
    for :func:`create_server`."""
    loop = asyncio.get_running_loop()

    def factory() -> asyncio.StreamReaderProtocol:
        reader = asyncio.StreamReader(limit=limit, loop=loop)
        return asyncio.StreamReaderProtocol(reader, client_connected_cb, loop=loop)

    return await create_server(
        factory,
        host,
        port,
        config=config,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
        suppress_ragged_eofs=suppress_ragged_eofs,
        on_event=on_event,
        on_error=on_error,
        **kwargs,
    )
