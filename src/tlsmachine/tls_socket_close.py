"""How a :class:`~tlsmachine.tls_socket.TLSSocket` ends: close_notify and the wait for the
peer's (``close``, ``unwrap``, ``shutdown``; RFC 8446 §6.1), the close deferred while files from
``makefile`` are open, the lingering close after our fatal alert (RFC 8446 §6.2), and the
peer's last words read when a send finds the connection gone. One mixin,
:class:`TLSSocketClosing`, a base of :class:`~tlsmachine.tls_socket.TLSSocket`.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from .connection import Connection, ConnectionState
from .errors import TLSError
from .linger import LINGER_BYTES, LINGER_SECONDS
from .tcp_nodelay import restore_nagle

if TYPE_CHECKING:
    from .events import Event
    from .plaintext_buffer import PlaintextBuffer

__all__ = ["TLSSocketClosing"]

P = ParamSpec("P")
R = TypeVar("R")

_READ_SIZE = 65536
_CLOSE_WAIT = 5.0
"""How long close() waits for the peer's close_notify when the socket has no timeout."""


if TYPE_CHECKING:

    class _TLSSocketParts:
        """What :class:`TLSSocketClosing` uses of TLSSocket and ConnectionInfo (for mypy only;
        a base of its own so that ``socket.socket`` still names the module's class)."""

        socket: socket.socket
        connection: Connection
        _pending: PlaintextBuffer
        _closed: bool
        _io_refs: int
        _close_timeout: float | None
        _nodelay_before: int | None

        @property
        def peer_closed(self) -> bool: ...
        def _take_events(self, events: list[Event]) -> None: ...
        def _flush(self) -> None: ...
        def _read(self, deadline: float | None = None, size: int = _READ_SIZE) -> None: ...
        def _guard(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R: ...

else:
    _TLSSocketParts = object


class TLSSocketClosing(_TLSSocketParts):
    """The closing half of :class:`~tlsmachine.tls_socket.TLSSocket`: ``shutdown_write``,
    ``shutdown``, ``unwrap``, ``close`` and what they need (see the module docstring)."""

    def shutdown_write(self) -> None:
        """Send close_notify without waiting (a half-close, RFC 8446 §6.1): we send no more,
        but :meth:`recv` still returns what the peer sends until its own close_notify."""
        if self.connection.state in (ConnectionState.APP_DATA, ConnectionState.PEER_CLOSED):
            self.connection.close()
            self._flush()

    def shutdown(self, how: int) -> None:
        """``SHUT_WR``/``SHUT_RDWR``: send close_notify (RFC 8446 §6.1), then shut down the TCP
        direction(s); ``SHUT_RD``: TCP only. Unlike ssl (which drops TLS and sends nothing)
        the peer learns that our data ended cleanly."""
        if how in (socket.SHUT_WR, socket.SHUT_RDWR):
            self.shutdown_write()
        self.socket.shutdown(how)

    def unwrap(self, timeout: float | None = None) -> socket.socket:
        """Send close_notify, wait for the peer's (bounded), return the plain socket. Reads
        record by record meanwhile, so that what the peer sends in clear after its
        close_notify stays in the socket, as with ssl."""
        self._shutdown_tls(timeout, exact=True)
        self._closed = True
        restore_nagle(self.socket, self._nodelay_before)  # see tcp_nodelay
        return self.socket

    def close(self, timeout: float | None = None) -> None:
        """Send close_notify, wait (bounded by ``timeout``, else the socket's timeout, else
        5 s) for the peer's, then close the socket; deferred while files from
        :meth:`makefile` are open (as for :class:`socket.socket`)."""
        if self._closed:
            return
        self._closed = True
        self._close_timeout = timeout
        if self._io_refs <= 0:
            self._real_close()

    def _close_failed_handshake(self) -> None:
        """After :meth:`do_handshake` raised: close the socket, as :mod:`ssl` does. After our
        fatal alert that is the lingering close (:meth:`_linger`), so that a peer still sending
        its flight reads the alert instead of a TCP reset (RFC 8446 §6.2)."""
        if self.connection.state is ConnectionState.FAILED:
            self.close()
        else:
            self.socket.close()

    # -- internals ---------------------------------------------------------------------------

    def _decref_socketios(self) -> None:
        """A file from :meth:`makefile` was closed (socket.socket's protocol, same name)."""
        self._io_refs -= 1
        if self._closed and self._io_refs <= 0:
            self._real_close()

    def _real_close(self) -> None:
        try:
            self._shutdown_tls(self._close_timeout)
        finally:
            with contextlib.suppress(OSError):
                self.socket.shutdown(socket.SHUT_RDWR)
            self.socket.close()

    def _shutdown_tls(self, timeout: float | None, *, exact: bool = False) -> None:
        conn = self.connection
        if conn.state is ConnectionState.IDLE:
            return  # nothing was ever exchanged (e.g. a wrapped listening socket)
        if conn.state is ConnectionState.FAILED:
            with contextlib.suppress(OSError):
                self._flush()
            self._linger()
            return
        if conn.state is ConnectionState.SHUTDOWN:
            with contextlib.suppress(OSError):
                self._flush()
            return
        handshaking = conn.handshake_info is None
        conn.close()
        self._take_events(conn.take_events())  # e.g. the trace of our close_notify
        if handshaking:  # nothing to wait for: the peer's answer would be handshake data
            with contextlib.suppress(OSError):
                self._flush()
            return
        saved = self.socket.gettimeout()
        if timeout is None:
            timeout = saved or _CLOSE_WAIT
        deadline = time.monotonic() + timeout
        try:
            with contextlib.suppress(OSError, TLSError):
                self._flush()
                while not self.peer_closed:  # application data still arriving is dropped (§6.1)
                    size = max(conn.bytes_to_record_end(), 1) if exact else _READ_SIZE
                    self._read(deadline, size)  # recv(0) would read as the peer's EOF
        finally:
            with contextlib.suppress(OSError):
                self.socket.settimeout(saved)
        self._pending.clear()

    def _send_flush(self) -> None:
        """:meth:`_flush` for application data: when the peer has gone away, its last words
        (typically a fatal alert saying why) may still be readable; report them rather than
        the bare broken pipe or reset."""
        try:
            self._flush()
        except (BrokenPipeError, ConnectionResetError):
            saved = self.socket.gettimeout()
            try:
                self.socket.settimeout(0.0)
                for _ in range(16):  # bounded: the alert is one record
                    data = self.socket.recv(_READ_SIZE)
                    if not data:
                        break
                    self._take_events(self._guard(self.connection.receive_data, data))
            except TLSError:
                raise  # what the peer said, or what was wrong with it, rather than the pipe
            except OSError:
                pass  # nothing more to read: the OS error below says what happened
            finally:
                with contextlib.suppress(OSError):
                    self.socket.settimeout(saved)
            raise

    def _linger(self) -> None:
        """After our fatal alert: half-close, then read and drop what the peer still sends,
        briefly, before the socket is closed.

        Closing a socket with unread input makes the kernel answer with a TCP RST, and an RST
        can destroy our alert in the peer's receive buffer before the peer reads it (the
        problem HTTP servers solve with a "lingering close"); the peer would then see a reset
        instead of the reason (RFC 8446 §6.2). Bounded by time and bytes.
        """
        deadline = time.monotonic() + LINGER_SECONDS
        received = 0
        with contextlib.suppress(OSError):
            self.socket.shutdown(socket.SHUT_WR)
            while received < LINGER_BYTES:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.socket.settimeout(left)
                data = self.socket.recv(_READ_SIZE)
                if not data:
                    break
                received += len(data)
