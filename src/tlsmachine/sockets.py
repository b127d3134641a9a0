"""Blocking-socket adapter for the sans-I/O core.

Thin by design: it only loops (flush :meth:`Connection.data_to_send`, read from the socket, feed
:meth:`Connection.receive_data`, dispatch the events). Every protocol decision, alerts included,
is made by the core (RFC 8446 §6: the core queues the fatal alert; we make sure it is flushed to
the peer before the error propagates).

Closure (RFC 8446 §6.1): :meth:`TLSSocket.recv` returns ``b""`` after the peer's close_notify
(``clean_close`` is then True); a transport EOF without close_notify after the handshake also
returns ``b""`` but sets ``clean_close = False`` (a truncation the application may care about);
during the handshake it raises :class:`TLSError`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import ParamSpec, TypeVar

from .client import ClientConnection
from .config import ClientConfig, ServerConfig
from .connection import Connection, ConnectionState
from .errors import ConfigurationError, ProtocolError, TLSError
from .events import (
    ApplicationData,
    ConnectionClosed,
    EarlyDataReceived,
    EarlyDataRejected,
    Event,
    HandshakeComplete,
)
from .server import ServerConnection

__all__ = ["TLSServer", "TLSSocket", "connect", "serve"]

EventHook = Callable[[Event], None]
P = ParamSpec("P")
R = TypeVar("R")

_READ_SIZE = 65536
_CLOSE_WAIT = 5.0
"""How long close() waits for the peer's close_notify when the socket has no timeout."""


class TLSSocket:
    """A TLS connection over a connected, blocking :class:`socket.socket`.

    Not thread-safe: use one thread per TLSSocket (or lock around it).
    """

    def __init__(
        self, sock: socket.socket, connection: Connection, *, on_event: EventHook | None = None
    ) -> None:
        self.socket = sock
        self.connection = connection
        self.on_event = on_event
        """Called with every event, in order (e.g. to print handshake traces)."""
        self.clean_close: bool | None = None
        """None while open; True after the peer's close_notify; False after a bare EOF."""
        self._pending = bytearray()
        self._closed = False
        self.early_data_received = 0
        """Server: bytes of 0-RTT data received; they start the stream :meth:`recv` reads."""
        self.rejected_early_data = b""
        """Client: the 0-RTT data the server did not accept (resend it if it still applies)."""

    # -- information -------------------------------------------------------------------------

    @property
    def handshake_info(self) -> HandshakeComplete | None:
        return self.connection.handshake_info

    @property
    def peer_closed(self) -> bool:
        """True once the peer can send no more (close_notify or transport EOF)."""
        return self.clean_close is not None

    # -- I/O ---------------------------------------------------------------------------------

    def do_handshake(self) -> HandshakeComplete:
        """Run the handshake to completion (a no-op once done)."""
        self._flush()
        while self.connection.handshake_info is None:
            self._read()  # raises at EOF during the handshake
        return self.connection.handshake_info

    def sendall(self, data: bytes) -> None:
        """Encrypt and send all of ``data``."""
        self.do_handshake()
        view = memoryview(data)
        for start in range(0, len(view), _READ_SIZE):
            self._guard(self.connection.send, bytes(view[start : start + _READ_SIZE]))
            self._flush()

    def recv(self, bufsize: int = _READ_SIZE) -> bytes:
        """Up to ``bufsize`` bytes of application data; ``b""`` once the peer closed."""
        self.do_handshake()
        while not self._pending and not self.peer_closed:
            self._read()
        return self._take(bufsize)

    def recv_once(self, bufsize: int = _READ_SIZE) -> bytes | None:
        """Read the socket once (it should be readable, e.g. per ``select``).

        Returns the application data available now (possibly ``b""`` when the read completed
        only a partial record or a post-handshake message), or None once the peer closed and
        everything was delivered.
        """
        if self.connection.handshake_info is None:
            self.do_handshake()
        elif not self._pending and not self.peer_closed:
            self._read()
        if not self._pending and self.peer_closed:
            return None
        return self._take(bufsize)

    def key_update(self, *, request_peer: bool = False) -> None:
        """Send a KeyUpdate (RFC 8446 §4.6.3)."""
        self._guard(self.connection.key_update, request_peer=request_peer)
        self._flush()

    def shutdown_write(self) -> None:
        """Send close_notify without waiting (a half-close, RFC 8446 §6.1): we send no more,
        but :meth:`recv` still returns what the peer sends until its own close_notify."""
        if self.connection.state is ConnectionState.APP_DATA:
            self.connection.close()
            self._flush()

    def unwrap(self, timeout: float | None = None) -> socket.socket:
        """Send close_notify, wait for the peer's (bounded), return the plain socket."""
        self._shutdown_tls(timeout)
        self._closed = True
        return self.socket

    def close(self, timeout: float | None = None) -> None:
        """Send close_notify, wait (bounded) for the peer's, then close the socket."""
        if self._closed:
            return
        self._closed = True
        try:
            self._shutdown_tls(timeout)
        finally:
            with contextlib.suppress(OSError):
                self.socket.shutdown(socket.SHUT_RDWR)
            self.socket.close()

    def __enter__(self) -> TLSSocket:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- internals ---------------------------------------------------------------------------

    def _shutdown_tls(self, timeout: float | None) -> None:
        conn = self.connection
        if conn.state in (ConnectionState.FAILED, ConnectionState.SHUTDOWN):
            with contextlib.suppress(OSError):
                self._flush()
            return
        conn.close()
        if timeout is None:
            timeout = self.socket.gettimeout() or _CLOSE_WAIT
        deadline = time.monotonic() + timeout
        with contextlib.suppress(OSError, TLSError):
            self._flush()
            while not self.peer_closed and (left := deadline - time.monotonic()) > 0:
                self.socket.settimeout(left)
                self._read()  # application data that still arrives is dropped (§6.1)
        self._pending.clear()

    def _take(self, bufsize: int) -> bytes:
        data = bytes(self._pending[:bufsize])
        del self._pending[:bufsize]
        return data

    def _flush(self) -> None:
        data = self.connection.data_to_send()
        if data:
            self.socket.sendall(data)

    def _guard(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a core call; on a protocol error, send the queued fatal alert, then re-raise."""
        try:
            return fn(*args, **kwargs)
        except ProtocolError:
            with contextlib.suppress(OSError):
                self._flush()
            raise

    def _read(self) -> None:
        """One socket read fed to the core, its events dispatched, our answers flushed."""
        data = self.socket.recv(_READ_SIZE)
        if not data:
            if self.connection.handshake_info is None:
                raise TLSError("connection closed by peer during handshake")
            if self.clean_close is None:
                self.clean_close = False
            return
        events = self._guard(self.connection.receive_data, data)
        for event in events:
            if isinstance(event, ApplicationData):
                self._pending += event.data
            elif isinstance(event, EarlyDataReceived):
                self._pending += event.data  # 0-RTT data precedes the 1-RTT stream
                self.early_data_received += len(event.data)
            elif isinstance(event, EarlyDataRejected):
                self.rejected_early_data = event.data
            elif isinstance(event, ConnectionClosed):
                self.clean_close = True
            if self.on_event is not None:
                self.on_event(event)
        if self.clean_close:
            # our answering close_notify is best effort: the peer may have gone already
            with contextlib.suppress(OSError):
                self._flush()
        else:
            self._flush()


def connect(
    host: str,
    port: int,
    *,
    server_hostname: str | None = None,
    cafile: str | None = None,
    config: ClientConfig | None = None,
    timeout: float | None = None,
    on_event: EventHook | None = None,
    early_data: bytes = b"",
) -> TLSSocket:
    """Open a TCP connection and complete a TLS handshake, like ``ssl.create_connection`` plus
    ``wrap_socket``.

    ``server_hostname`` (default: ``host``) goes in SNI and is what the certificate must name.
    Trust comes from ``config`` (default: :class:`ClientConfig` with verification on) or, for
    the common case, ``cafile`` alone; giving both is a :class:`ConfigurationError`, because
    one would silently override the other. ``timeout`` bounds every socket operation, as for
    :func:`socket.create_connection` (None: block).

    ``early_data`` goes out as 0-RTT data when a stored ticket allows it (RFC 8446 §2.3; see
    ``ClientConfig.early_data``). Check ``handshake_info.early_data_accepted``; data that was
    rejected, or not sent for want of such a ticket, is in ``rejected_early_data``.
    """
    if config is None:
        config = ClientConfig(cafile=cafile)
    elif cafile is not None:
        raise ConfigurationError(
            "connect(): cafile and config were both given; put the CA file in the config "
            "(ClientConfig(cafile=...)) or pass cafile alone"
        )
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        conn = ClientConnection(config, server_name=server_hostname or host)
        sent_early = bool(early_data) and conn.early_data_room >= len(early_data)
        if sent_early:
            conn.send_early_data(early_data)
        tls = TLSSocket(sock, conn, on_event=on_event)
        if not sent_early:
            tls.rejected_early_data = early_data  # no ticket allowing 0-RTT: never sent
        tls.do_handshake()
    except BaseException:
        sock.close()
        raise
    return tls


Handler = Callable[[TLSSocket], None]
ErrorHook = Callable[[tuple[str, int], BaseException], None]


class TLSServer:
    """A TCP listener that runs ``handler(tls_socket)`` per connection, each in its own thread.

    An error in one connection (a misbehaving client) ends only that connection: the core's
    fatal alert is flushed, ``on_error`` is told, the socket is closed.
    """

    def __init__(
        self,
        config: ServerConfig,
        handler: Handler,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        timeout: float | None = 30.0,
        max_connections: int = 64,
        on_error: ErrorHook | None = None,
        on_event: EventHook | None = None,
    ) -> None:
        self.config = config
        self.handler = handler
        self.timeout = timeout
        self.on_error = on_error
        self.on_event = on_event
        self._slots = threading.BoundedSemaphore(max_connections)
        self._stopping = threading.Event()
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.create_server((host, port), family=family, backlog=64)
        self.listener.settimeout(0.2)  # lets serve_forever notice shutdown()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.listener.getsockname()[:2]
        return str(host), int(port)

    def serve_forever(self) -> None:
        """Accept connections until :meth:`shutdown` (or KeyboardInterrupt)."""
        try:
            while not self._stopping.is_set():
                try:
                    sock, peer = self.listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    if self._stopping.is_set():
                        break
                    raise
                if not self._slots.acquire(blocking=False):
                    sock.close()  # at capacity: refuse rather than queue without bound
                    continue
                thread = threading.Thread(target=self._run, args=(sock, peer), daemon=True)
                with self._lock:
                    self._threads.add(thread)
                thread.start()
        finally:
            self.listener.close()

    def handle_one(self, sock: socket.socket, peer: tuple[str, int]) -> None:
        """Serve one accepted connection in the calling thread; never raises (but ^C)."""
        sock.settimeout(self.timeout)
        tls = TLSSocket(sock, ServerConnection(self.config), on_event=self.on_event)
        try:
            tls.do_handshake()
            self.handler(tls)
        except Exception as exc:
            if self.on_error is not None:
                self.on_error(peer, exc)
        finally:
            with contextlib.suppress(Exception):
                tls.close(timeout=1.0)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop accepting and wait (bounded) for running connections."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self, sock: socket.socket, peer: tuple[str, int]) -> None:
        try:
            self.handle_one(sock, peer)
        finally:
            self._slots.release()
            with self._lock:
                self._threads.discard(threading.current_thread())


def serve(
    config: ServerConfig,
    handler: Handler,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    timeout: float | None = 30.0,
    on_error: ErrorHook | None = None,
    on_event: EventHook | None = None,
) -> TLSServer:
    """Start a :class:`TLSServer` in a daemon thread and return it (``shutdown()`` to stop)."""
    server = TLSServer(
        config, handler, host, port, timeout=timeout, on_error=on_error, on_event=on_event
    )
    threading.Thread(target=server.serve_forever, name="tlsmachine-accept", daemon=True).start()
    return server
