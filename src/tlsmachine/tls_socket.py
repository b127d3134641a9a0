"""The blocking :class:`TLSSocket` (shaped like :class:`ssl.SSLSocket`) and its
:class:`RaggedEOFError`: the loop that moves bytes between a connected socket and the sans-I/O
core, deciding nothing itself: the handshake, reading and sending. How it closes (close_notify,
``unwrap``, the lingering close) is its base :class:`~tlsmachine.tls_socket_close.TLSSocketClosing`.
Its closure and timeout rules are described in :mod:`tlsmachine.sockets`, the public module that
re-exports it with :func:`connect` and the server; it lives here so that
:mod:`tlsmachine.socket_server` can build on it without an import cycle.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import io
import socket
import ssl
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO, ParamSpec, TypeVar, cast

from .connection import Connection
from .connection_info import ConnectionInfo
from .errors import AlertReceived, ProtocolError, TLSError, UsageError
from .events import (
    Event,
    HandshakeComplete,
)
from .plaintext_buffer import PlaintextBuffer
from .socket_io import TLSSocketIO
from .tcp_nodelay import send_at_once
from .tls_socket_close import _READ_SIZE, TLSSocketClosing

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

    from .context import Context

__all__ = ["EventHook", "RaggedEOFError", "TLSSocket"]

EventHook = Callable[[Event], None]
P = ParamSpec("P")
R = TypeVar("R")

_SEND_SIZE = 65536
"""Bytes :meth:`TLSSocket.send` encrypts per call (four full records)."""


class RaggedEOFError(TLSError, ssl.SSLEOFError):
    """The transport ended without the peer's close_notify: the data may be truncated.

    Raised only when ragged EOFs are not suppressed (``suppress_ragged_eofs=False``, or always
    by :class:`tlsmachine.context.TLSObject`, as ``ssl`` does). Also an ``ssl.SSLEOFError``, so
    code ported from :mod:`ssl` catches it unchanged.
    """


class TLSSocket(ConnectionInfo, TLSSocketClosing):
    """A TLS connection over a connected, blocking :class:`socket.socket`.

    Offers what :class:`ssl.SSLSocket` users expect (``sendall``/``send``/``recv``/
    ``recv_into``/``makefile``/``shutdown``/``unwrap``/``getpeercert``/...), plus the
    tlsmachine extras (``handshake_info``, ``key_update``, ``recv_once``, ``clean_close``).
    Non-blocking mode is not supported: use :meth:`tlsmachine.context.Context.wrap_bio` (or
    the asyncio adapter) for that. Not thread-safe: use one thread per TLSSocket.
    """

    def __init__(
        self,
        sock: socket.socket,
        connection: Connection,
        *,
        on_event: EventHook | None = None,
        suppress_ragged_eofs: bool = True,
        do_handshake_on_connect: bool = True,
        context: Context | None = None,
    ) -> None:
        self.socket = sock
        self.connection = connection
        self.on_event = on_event
        """Called with every event, in order (e.g. to print handshake traces)."""
        self.suppress_ragged_eofs = suppress_ragged_eofs
        """True: a transport EOF without close_notify reads as ``b""`` (see ``clean_close``);
        False: it raises :class:`RaggedEOFError`."""
        self.do_handshake_on_connect = do_handshake_on_connect
        self.context = context
        """The :class:`tlsmachine.context.Context` that made this socket, if any."""
        self.clean_close: bool | None = None
        """None while open; True after the peer's close_notify; False after a bare EOF."""
        self._pending = PlaintextBuffer()
        self._deferred_error: TLSError | None = None
        """An error that ended a read which also brought application data: raised by the
        recv() after the one that returns that data (as ``ssl`` returns data before an error)."""
        self._closed = False
        self._io_refs = 0
        self._close_timeout: float | None = None
        self._peer_chain = None
        self._nodelay_before = send_at_once(sock)
        """TCP_NODELAY as the socket came (see :mod:`tlsmachine.tcp_nodelay`), for unwrap()."""

    # -- information -------------------------------------------------------------------------

    @property
    def peer_closed(self) -> bool:
        """True once the peer can send no more (close_notify or transport EOF)."""
        return self.clean_close is not None

    def pending(self) -> int:
        """Decrypted bytes ready for :meth:`recv` without touching the socket."""
        return len(self._pending)

    # -- the underlying socket ---------------------------------------------------------------

    def fileno(self) -> int:
        return self.socket.fileno()

    def getpeername(self) -> tuple[str, int] | tuple[str, int, int, int] | str:
        return self.socket.getpeername()  # type: ignore[no-any-return]

    def getsockname(self) -> tuple[str, int] | tuple[str, int, int, int] | str:
        return self.socket.getsockname()  # type: ignore[no-any-return]

    @property
    def family(self) -> int:
        return self.socket.family

    @property
    def type(self) -> int:
        return self.socket.type

    @property
    def closed(self) -> bool:
        return self._closed

    def gettimeout(self) -> float | None:
        return self.socket.gettimeout()

    def settimeout(self, value: float | None) -> None:
        """Bound every later blocking operation; ``0`` (non-blocking) is refused: use
        ``wrap_bio`` for non-blocking I/O."""
        if value is not None and value <= 0:
            raise UsageError("TLSSocket is blocking; use Context.wrap_bio for non-blocking I/O")
        self.socket.settimeout(value)

    @property
    def timeout(self) -> float | None:
        """The socket's timeout, as :attr:`socket.socket.timeout` (read-only)."""
        return self.socket.gettimeout()

    @property
    def proto(self) -> int:
        return self.socket.proto

    def get_inheritable(self) -> bool:
        return self.socket.get_inheritable()

    def set_inheritable(self, inheritable: bool) -> None:
        self.socket.set_inheritable(inheritable)

    def setblocking(self, flag: bool) -> None:
        self.settimeout(None if flag else 0.0)

    def getblocking(self) -> bool:
        return True

    def setsockopt(self, level: int, option: int, value: int | bytes) -> None:
        self.socket.setsockopt(level, option, value)

    def getsockopt(self, level: int, option: int) -> int:
        return self.socket.getsockopt(level, option)

    def connect(self, address: tuple[str, int] | str) -> None:
        """Connect the wrapped socket, then run the handshake (``do_handshake_on_connect``)."""
        self.socket.connect(address)
        if self.do_handshake_on_connect:
            self.do_handshake()

    def accept(self) -> tuple[TLSSocket, object]:
        """Server: accept on a listening socket wrapped by a Context; the new connection is
        wrapped (and, with ``do_handshake_on_connect``, handshaken) the same way."""
        if self.context is None:
            raise UsageError("accept() needs a TLSSocket made by Context.wrap_socket")
        sock, address = self.socket.accept()
        try:
            tls = self.context.wrap_socket(
                sock,
                server_side=True,
                do_handshake_on_connect=self.do_handshake_on_connect,
                suppress_ragged_eofs=self.suppress_ragged_eofs,
            )
        except BaseException:
            sock.close()
            raise
        return tls, address

    # -- I/O ---------------------------------------------------------------------------------

    def do_handshake(self) -> HandshakeComplete:
        """Run the handshake to completion (a no-op once done), within one timeout."""
        info = self.connection.handshake_info
        if info is not None:
            return info
        self._count_handshake_start()
        deadline = self._deadline()
        self._flush()
        while (info := self.connection.handshake_info) is None:
            self._read(deadline)  # raises at EOF during the handshake
        return info

    def sendall(self, data: ReadableBuffer) -> None:
        """Encrypt and send all of ``data``."""
        self._check_open()
        self.do_handshake()
        self._check_deferred_error()
        with memoryview(data) as view, view.cast("B") as octets:
            for start in range(0, len(octets), _SEND_SIZE):
                # a view: sealing copies it once, into the record's plaintext
                self._guard(self.connection.send, octets[start : start + _SEND_SIZE])
                self._send_flush()

    def send(self, data: ReadableBuffer) -> int:
        """Encrypt and send up to 64 KiB of ``data``; returns how many bytes were consumed."""
        self._check_open()
        self.do_handshake()
        self._check_deferred_error()
        with memoryview(data) as view, view.cast("B") as octets:
            size = min(len(octets), _SEND_SIZE)
            if size:
                self._guard(self.connection.send, octets[:size])  # a view, as in sendall
                self._send_flush()
        return size

    def sendfile(self, file: BinaryIO, offset: int = 0, count: int | None = None) -> int:
        """Send ``count`` bytes (default: to the end) of a binary file from ``offset``, as
        :meth:`ssl.SSLSocket.sendfile` does: read and :meth:`sendall` block by block, since
        the kernel's sendfile cannot encrypt. Returns the bytes sent; the file position is
        left right after them, as :meth:`socket.socket.sendfile` leaves it."""
        if "b" not in getattr(file, "mode", "b"):
            raise ValueError("file should be opened in binary mode")
        if count is not None:
            if not isinstance(count, int):
                raise TypeError(f"count must be a positive integer (got {count!r})")
            if count <= 0:
                raise ValueError(f"count must be a positive integer (got {count!r})")
        if offset:
            file.seek(offset)
        sent = 0
        try:
            while count is None or sent < count:
                size = _SEND_SIZE if count is None else min(_SEND_SIZE, count - sent)
                block = file.read(size)
                if not block:
                    break
                self.sendall(block)
                sent += len(block)
        finally:
            if sent and hasattr(file, "seek"):
                file.seek(offset + sent)
        return sent

    def write(self, data: ReadableBuffer) -> int:
        """Like :meth:`ssl.SSLSocket.write`: :meth:`sendall`, returning the length."""
        with memoryview(data) as view:
            size = view.nbytes
        self.sendall(data)
        return size

    def recv(self, bufsize: int = _READ_SIZE, flags: int = 0) -> bytes:
        """Up to ``bufsize`` bytes of application data; ``b""`` once the peer closed."""
        if flags:
            raise ValueError("non-zero flags are not allowed in recv() on a TLSSocket")
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        self._check_open()
        if bufsize == 0:
            return b""  # as ssl: nothing asked, nothing waited for
        self._wait_for_data()
        return self._pending.take(bufsize)

    def _wait_for_data(self) -> None:
        """Block until application data is buffered or the peer has closed (recv's wait)."""
        self.do_handshake()
        if not self._pending and self._deferred_error is not None:
            error, self._deferred_error = self._deferred_error, None
            raise error
        if not self._pending and not self.peer_closed:
            deadline = self._deadline()
            while not self._pending and not self.peer_closed:
                try:
                    self._read(deadline)
                except (ProtocolError, AlertReceived) as exc:
                    if not self._pending:
                        raise
                    self._deferred_error = exc  # the data that came before it first
        if not self._pending and self.clean_close is False and not self.suppress_ragged_eofs:
            raise RaggedEOFError("EOF without close_notify: the data may be truncated")

    def read(self, size: int = 1024, buffer: WriteableBuffer | None = None) -> bytes | int:
        """Like :meth:`ssl.SSLSocket.read`: into ``buffer`` (returns a count) or as bytes."""
        if buffer is None:
            return self.recv(size)
        return self.recv_into(buffer, size)

    def recv_into(self, buffer: WriteableBuffer, nbytes: int | None = 0, flags: int = 0) -> int:
        """Read into ``buffer`` (up to ``nbytes``, default its size); returns the count."""
        if nbytes is not None and nbytes < 0:
            raise ValueError("negative buffersize in recv_into")
        if flags:
            raise ValueError("non-zero flags are not allowed in recv_into() on a TLSSocket")
        self._check_open()
        with memoryview(buffer) as view, view.cast("B") as target:
            size = min(nbytes, target.nbytes) if nbytes else target.nbytes  # as ssl: clamped
            if size == 0:
                return 0
            self._wait_for_data()
            return self._pending.take_into(target[:size])  # straight into the caller's buffer

    def recv_once(self, bufsize: int = _READ_SIZE) -> bytes | None:
        """Read the socket once (it should be readable, e.g. per ``select``).

        Returns the application data available now (possibly ``b""`` when the read completed
        only a partial record or a post-handshake message), or None once the peer closed and
        everything was delivered.
        """
        if self.connection.handshake_info is None:
            self.do_handshake()
        elif not self._pending and not self.peer_closed:
            self._read(self._deadline())
        if not self._pending and self.peer_closed:
            return None
        return self._pending.take(bufsize)

    def makefile(
        self,
        mode: str = "r",
        buffering: int | None = None,
        *,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> io.IOBase:
        """A file object over the connection, as :meth:`socket.socket.makefile` (``"rb"``,
        ``"wb"``, ``"rwb"``, text modes). The socket really closes only when it and every file
        made from it are closed."""
        if not set(mode) <= {"r", "w", "b"}:
            raise ValueError(f"invalid mode {mode!r} (only r, w, b allowed)")
        writing = "w" in mode
        reading = "r" in mode or not writing
        raw = TLSSocketIO(self, ("r" if reading else "") + ("w" if writing else ""))
        self._io_refs += 1
        if buffering is None or buffering < 0:
            buffering = io.DEFAULT_BUFFER_SIZE
        if buffering == 0:
            if "b" not in mode:
                raise ValueError("unbuffered streams must be binary")
            return raw
        buffer: io.BufferedIOBase
        if reading and writing:
            buffer = io.BufferedRWPair(raw, raw, buffering)
        elif reading:
            buffer = io.BufferedReader(raw, buffering)
        else:
            buffer = io.BufferedWriter(raw, buffering)
        if "b" in mode:
            return buffer
        return io.TextIOWrapper(
            cast("BinaryIO", buffer), io.text_encoding(encoding), errors, newline
        )

    def key_update(self, *, request_peer: bool = False) -> None:
        """Send a KeyUpdate (RFC 8446 §4.6.3)."""
        self._guard(self.connection.key_update, request_peer=request_peer)
        self._flush()

    def verify_client_post_handshake(self) -> None:
        """Server: ask for a client certificate now (RFC 8446 §4.6.2); it arrives with a later
        read, after which :meth:`getpeercert` returns it."""
        self._guard(self.connection.request_client_certificate)
        self._flush()

    def __enter__(self) -> TLSSocket:
        return self

    def __exit__(
        self,
        exc_type: builtins.type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        role = "server" if self.server_side else "client"
        return f"<TLSSocket {role} {self.connection.state.name} fd={self.socket.fileno()}>"

    # -- internals ---------------------------------------------------------------------------

    def _check_open(self) -> None:
        """After :meth:`close` (and the files of :meth:`makefile`), I/O fails as on a closed
        :class:`socket.socket` or :class:`ssl.SSLSocket`: ``OSError(EBADF)``."""
        if self.socket.fileno() == -1:
            raise OSError(errno.EBADF, "Bad file descriptor")

    def _check_deferred_error(self) -> None:
        """A read already ended the connection with an error (kept for the recv() after the
        data that came before it): sending fails with that error, the peer's real reason."""
        if self._deferred_error is not None:
            raise self._deferred_error

    def _flush(self) -> None:
        data = self._data_to_send()
        if data:
            self.socket.sendall(data)

    def _guard(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a core call; on a protocol error, send the queued fatal alert, then re-raise."""
        try:
            return fn(*args, **kwargs)
        except (ProtocolError, AlertReceived):
            self._take_events(self.connection.take_events())  # what came before the error
            with contextlib.suppress(OSError):
                self._flush()
            raise

    def _deadline(self) -> float | None:
        timeout = self.socket.gettimeout()
        return None if not timeout else time.monotonic() + timeout

    def _recv_raw(self, deadline: float | None, size: int = _READ_SIZE) -> bytes:
        """One socket read of at most ``size`` bytes that ends by ``deadline`` (None: the
        socket's own behaviour)."""
        if deadline is None:
            return self.socket.recv(size)
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        saved = self.socket.gettimeout()
        self.socket.settimeout(left)
        try:
            return self.socket.recv(size)
        finally:
            self.socket.settimeout(saved)

    def _read(self, deadline: float | None = None, size: int = _READ_SIZE) -> None:
        """One socket read (at most ``size`` bytes) fed to the core, its events dispatched,
        our answers flushed."""
        data = self._recv_raw(deadline, size)
        if not data:
            if self.connection.handshake_info is None:
                # an ssl.SSLEOFError too (an OSError), as ssl raises
                raise RaggedEOFError("connection closed by peer during handshake")
            if self.clean_close is None:
                self.clean_close = False
            return
        self._take_events(self._guard(self.connection.receive_data, data))
        if self.clean_close:
            # our answering close_notify is best effort: the peer may have gone already
            with contextlib.suppress(OSError):
                self._flush()
        else:
            self._flush()
