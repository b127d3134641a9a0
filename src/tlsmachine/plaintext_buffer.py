"""Decrypted application data waiting for the application's reads, shared by the adapters that
hand it out by size (:class:`~tlsmachine.tls_socket.TLSSocket`,
:class:`~tlsmachine.tls_object.TLSObject`).

The core delivers one ``bytes`` per record. They are queued as they are, so a read that takes
everything buffered in one piece returns that very object (a ``recv(65536)`` of one 16 KiB
record copies nothing), any other read copies each byte it returns once, and ``take_into``
copies straight into the caller's buffer. A bytearray that the records are appended to and reads
are sliced from copies every byte three times on the way.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

__all__ = ["PlaintextBuffer"]


class PlaintextBuffer:
    """A FIFO of received plaintext: ``append`` records, ``take``/``take_into`` bytes."""

    __slots__ = ("_chunks", "_offset", "_size")

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._offset = 0  # bytes of the first chunk already taken
        self._size = 0  # bytes buffered in all

    def __len__(self) -> int:
        return self._size

    def __bool__(self) -> bool:
        return self._size > 0

    def append(self, data: bytes) -> None:
        if data:
            self._chunks.append(data)
            self._size += len(data)

    def clear(self) -> None:
        self._chunks.clear()
        self._offset = self._size = 0

    def take(self, limit: int) -> bytes:
        """Remove and return the first ``min(limit, len(self))`` bytes."""
        chunks = self._chunks
        if limit >= self._size and len(chunks) == 1 and not self._offset:
            data = chunks.popleft()  # the common case: one whole record, no copy
            self._size = 0
            return data
        pieces: list[bytes | memoryview] = []
        self._take(limit, pieces.append)
        return b"".join(pieces)

    def take_into(self, target: memoryview) -> int:
        """Move the first bytes into ``target`` (a writable byte view), as many as fit."""
        filled = 0

        def put(piece: bytes | memoryview) -> None:
            nonlocal filled
            end = filled + len(piece)
            target[filled:end] = piece
            filled = end

        self._take(len(target), put)
        return filled

    def _take(self, limit: int, put: Callable[[bytes | memoryview], None]) -> None:
        """Hand ``put`` the pieces of the first ``min(limit, len(self))`` bytes, in order."""
        chunks = self._chunks
        need = min(max(limit, 0), self._size)
        self._size -= need
        offset = self._offset
        while need:
            first = chunks[0]
            left = len(first) - offset
            if left <= need:
                put(memoryview(first)[offset:] if offset else first)
                chunks.popleft()
                offset = 0
                need -= left
            else:
                put(memoryview(first)[offset : offset + need])
                offset += need
                need = 0
        self._offset = offset
