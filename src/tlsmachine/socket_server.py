"""The threaded blocking server: :class:`TLSServer` accepts TCP connections and runs a handler
per connection in its own thread, over a :class:`~tlsmachine.sockets.TLSSocket`; :func:`serve`
starts one in the background. Its job is containment (one client's failure, silence or flood
cannot stop the others), not protocol: every TLS decision stays in the core.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import threading
import time
from collections.abc import Callable

from .config import ServerConfig
from .errors import ConfigurationError
from .server import ServerConnection
from .tls_socket import EventHook, TLSSocket

__all__ = ["ErrorHook", "Handler", "TLSServer", "serve"]

Handler = Callable[[TLSSocket], None]
ErrorHook = Callable[[tuple[str, int], BaseException], None]

_ACCEPT_RETRY = 0.05
"""Pause after a failed accept() (e.g. EMFILE: out of file descriptors) before trying again."""
_TRANSIENT_ACCEPT_ERRORS = {
    errno.ECONNABORTED,
    errno.EMFILE,
    errno.ENFILE,
    errno.ENOBUFS,
    errno.ENOMEM,
    errno.EPROTO,
    errno.EPERM,
}


class TLSServer:
    """A TCP listener that runs ``handler(tls_socket)`` per connection, each in its own thread.

    One client cannot stop it: an error in a connection (garbage, a peer that hangs up
    mid-handshake) ends only that connection (the core's fatal alert is flushed, ``on_error``
    is told, the socket is closed); a silent client is dropped when ``handshake_timeout``
    expires, freeing its slot; beyond ``max_connections`` running at once, new connections
    are closed at once (``on_error`` gets a :class:`ConnectionRefusedError`) instead of
    queueing without bound; failures of accept() itself (out of file descriptors) are waited
    out. ``timeout`` bounds each blocking operation after the handshake.
    """

    def __init__(
        self,
        config: ServerConfig,
        handler: Handler,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        timeout: float | None = 30.0,
        handshake_timeout: float | None = 10.0,
        max_connections: int = 64,
        on_error: ErrorHook | None = None,
        on_event: EventHook | None = None,
    ) -> None:
        if max_connections < 1:
            raise ConfigurationError("max_connections must be at least 1")
        self.config = config
        self.handler = handler
        self.timeout = timeout
        self.handshake_timeout = handshake_timeout if handshake_timeout is not None else timeout
        self.max_connections = max_connections
        self.on_error = on_error
        self.on_event = on_event
        self._slots = threading.BoundedSemaphore(max_connections)
        self._stopping = threading.Event()
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.create_server((host, port), family=family, backlog=128)
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
                except OSError as exc:
                    if self._stopping.is_set() or self.listener.fileno() < 0:
                        break
                    if exc.errno not in _TRANSIENT_ACCEPT_ERRORS:
                        raise
                    time.sleep(_ACCEPT_RETRY)  # e.g. out of descriptors: let handlers finish
                    continue
                self._start(sock, peer)
        finally:
            self.listener.close()

    def _start(self, sock: socket.socket, peer: tuple[str, int]) -> None:
        if not self._slots.acquire(blocking=False):
            sock.close()  # at capacity: refuse rather than queue without bound
            self._report(peer, ConnectionRefusedError(f"at max_connections={self.max_connections}"))
            return
        thread = threading.Thread(target=self._run, args=(sock, peer), daemon=True)
        with self._lock:
            self._threads.add(thread)
        try:
            thread.start()
        except RuntimeError as exc:  # no more threads: this connection only
            with self._lock:
                self._threads.discard(thread)
            self._slots.release()
            sock.close()
            self._report(peer, exc)

    def handle_one(self, sock: socket.socket, peer: tuple[str, int]) -> None:
        """Serve one accepted connection in the calling thread; never raises (but ^C)."""
        tls: TLSSocket | None = None
        try:
            sock.settimeout(self.handshake_timeout)
            tls = TLSSocket(sock, ServerConnection(self.config), on_event=self.on_event)
            tls.do_handshake()
            sock.settimeout(self.timeout)
            self.handler(tls)
        except Exception as exc:
            self._report(peer, exc)
        finally:
            if tls is None:
                sock.close()
            else:
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

    @property
    def active_connections(self) -> int:
        """Connections being served now."""
        with self._lock:
            return len(self._threads)

    def _report(self, peer: tuple[str, int], exc: BaseException) -> None:
        if self.on_error is not None:
            with contextlib.suppress(Exception):  # a failing hook must not stop the server
                self.on_error(peer, exc)

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
    handshake_timeout: float | None = 10.0,
    max_connections: int = 64,
    on_error: ErrorHook | None = None,
    on_event: EventHook | None = None,
) -> TLSServer:
    """Start a :class:`TLSServer` in a daemon thread and return it (``shutdown()`` to stop)."""
    server = TLSServer(
        config,
        handler,
        host,
        port,
        timeout=timeout,
        handshake_timeout=handshake_timeout,
        max_connections=max_connections,
        on_error=on_error,
        on_event=on_event,
    )
    threading.Thread(target=server.serve_forever, name="tlsmachine-accept", daemon=True).start()
    return server
