"""The raw file object behind :meth:`TLSSocket.makefile <tlsmachine.sockets.TLSSocket.makefile>`:
:class:`TLSSocketIO` is to a TLS socket what :class:`socket.SocketIO` is to a plain one, so the
standard :mod:`io` buffering and text layers (``readline`` for HTTP) work over TLS. It holds
the socket open until closed, through the socket's ``_decref_socketios`` protocol.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

    from .tls_socket import TLSSocket

__all__ = ["TLSSocketIO"]


class TLSSocketIO(io.RawIOBase):
    """Raw I/O over a :class:`TLSSocket` (what :class:`socket.SocketIO` is for a socket), so
    :class:`io.BufferedReader` / :class:`io.TextIOWrapper` work on TLS (``readline`` for HTTP).
    """

    def __init__(self, tls: TLSSocket, mode: str) -> None:
        if mode not in ("r", "w", "rw"):
            raise ValueError(f"invalid mode: {mode!r}")
        super().__init__()
        self._tls: TLSSocket | None = tls
        self._mode = mode + "b"
        self._timeout_occurred = False

    def _socket(self) -> TLSSocket:
        if self._tls is None:
            raise ValueError("I/O operation on closed file")
        return self._tls

    def readinto(self, buffer: WriteableBuffer) -> int:
        tls = self._socket()
        if "r" not in self._mode:
            raise io.UnsupportedOperation("not readable")
        if self._timeout_occurred:  # a record may be half read: the stream is unusable
            raise OSError("cannot read from timed out object")
        try:
            return tls.recv_into(buffer)
        except TimeoutError:
            self._timeout_occurred = True
            raise

    def write(self, data: ReadableBuffer) -> int:
        tls = self._socket()
        if "w" not in self._mode:
            raise io.UnsupportedOperation("not writable")
        return tls.send(data)

    def readable(self) -> bool:
        self._socket()
        return "r" in self._mode

    def writable(self) -> bool:
        self._socket()
        return "w" in self._mode

    def seekable(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._socket().fileno()

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def name(self) -> int:
        return -1 if self.closed else self.fileno()

    def close(self) -> None:
        if self.closed:
            return
        super().close()
        if self._tls is not None:
            tls, self._tls = self._tls, None
            tls._decref_socketios()
