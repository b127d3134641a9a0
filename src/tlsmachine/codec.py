"""Strict reader and writer for the TLS presentation language (RFC 8446 §3).

Every read is bounds-checked; variable-length vectors come back as bounded child readers
(``opaque data<min..max>`` becomes ``r.opaque(2, min=min, max=max)``); ``expect_end()`` insists
that a structure was consumed exactly. Any violation raises :class:`DecodeError`, whose alert is
``decode_error`` (RFC 8446 §6.2). This module knows nothing about TLS messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .errors import DecodeError

_Bytes = bytes  # the classes below define a method named `bytes`

_MAX_FOR_WIDTH = {1: 0xFF, 2: 0xFFFF, 3: 0xFFFFFF, 4: 0xFFFFFFFF}


class Reader:
    """A cursor over a byte string that never reads past its end."""

    __slots__ = ("_data", "_end", "_pos")

    def __init__(
        self, data: bytes | bytearray | memoryview, start: int = 0, end: int | None = None
    ):
        self._data = data if isinstance(data, bytes) else bytes(data)
        self._pos = start
        self._end = len(self._data) if end is None else end

    @property
    def remaining(self) -> int:
        """Number of unread bytes."""
        return self._end - self._pos

    @property
    def position(self) -> int:
        """Offset of the cursor within the underlying buffer."""
        return self._pos

    @property
    def buffer(self) -> _Bytes:
        """The underlying buffer (shared with child readers)."""
        return self._data

    def at_end(self) -> bool:
        return self._pos >= self._end

    def _take(self, n: int, what: str) -> int:
        pos = self._pos
        if n < 0 or pos + n > self._end:
            raise DecodeError(f"truncated {what}: need {n} bytes, {self._end - pos} left")
        self._pos = pos + n
        return pos

    def u8(self, what: str = "uint8") -> int:
        pos = self._take(1, what)
        return self._data[pos]

    def u16(self, what: str = "uint16") -> int:
        pos = self._take(2, what)
        return int.from_bytes(self._data[pos : pos + 2], "big")

    def u24(self, what: str = "uint24") -> int:
        pos = self._take(3, what)
        return int.from_bytes(self._data[pos : pos + 3], "big")

    def u32(self, what: str = "uint32") -> int:
        pos = self._take(4, what)
        return int.from_bytes(self._data[pos : pos + 4], "big")

    def bytes(self, n: int, what: str = "bytes") -> _Bytes:
        """Read exactly ``n`` bytes (a fixed-length ``opaque x[n]``)."""
        pos = self._take(n, what)
        return self._data[pos : pos + n]

    def rest(self) -> _Bytes:
        """Read everything that is left."""
        pos = self._pos
        self._pos = self._end
        return self._data[pos : self._end]

    def _length(self, width: int, minimum: int, maximum: int | None, what: str) -> int:
        if width == 1:
            n = self.u8(what)
        elif width == 2:
            n = self.u16(what)
        elif width == 3:
            n = self.u24(what)
        else:
            n = self.u32(what)
        if n < minimum or (maximum is not None and n > maximum):
            raise DecodeError(f"{what}: length {n} outside <{minimum}..{maximum}>")
        return n

    def vector(
        self, width: int, *, min: int = 0, max: int | None = None, what: str = "vector"
    ) -> Reader:
        """Read a length-prefixed vector and return a child reader bounded to its body."""
        n = self._length(width, min, max, what)
        pos = self._take(n, what)
        return Reader(self._data, pos, pos + n)

    def opaque(
        self, width: int, *, min: int = 0, max: int | None = None, what: str = "opaque"
    ) -> _Bytes:
        """Read a length-prefixed ``opaque x<min..max>`` and return its body."""
        n = self._length(width, min, max, what)
        pos = self._take(n, what)
        return self._data[pos : pos + n]

    def u16_list(self, width: int, *, min: int = 0, max: int | None = None, what: str) -> list[int]:
        """Read a length-prefixed vector of uint16 code points (kept as ``int``)."""
        body = self.opaque(width, min=min, max=max, what=what)
        if len(body) % 2:
            raise DecodeError(f"{what}: odd length {len(body)} for a list of uint16")
        return [int.from_bytes(body[i : i + 2], "big") for i in range(0, len(body), 2)]

    def expect_end(self, what: str = "structure") -> None:
        """Raise :class:`DecodeError` if anything is left unread."""
        if self._pos != self._end:
            raise DecodeError(f"{what}: {self._end - self._pos} trailing bytes")


class Writer:
    """An append-only byte builder with back-patched length prefixes."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def u8(self, v: int) -> None:
        self._buf.append(v)

    def u16(self, v: int) -> None:
        self._buf += v.to_bytes(2, "big")

    def u24(self, v: int) -> None:
        self._buf += v.to_bytes(3, "big")

    def u32(self, v: int) -> None:
        self._buf += v.to_bytes(4, "big")

    def bytes(self, b: _Bytes | bytearray | memoryview) -> None:
        self._buf += b

    def opaque(self, width: int, b: _Bytes | bytearray | memoryview) -> None:
        """Write a length-prefixed opaque vector."""
        if len(b) > _MAX_FOR_WIDTH[width]:
            raise ValueError(f"{len(b)} bytes do not fit a {width}-byte length prefix")
        self._buf += len(b).to_bytes(width, "big")
        self._buf += b

    def u16_list(self, width: int, values: list[int] | tuple[int, ...]) -> None:
        """Write a length-prefixed vector of uint16 values."""
        self.opaque(width, b"".join(v.to_bytes(2, "big") for v in values))

    @contextmanager
    def prefixed(self, width: int) -> Iterator[Writer]:
        """Write a length prefix of ``width`` bytes covering whatever the body writes."""
        start = len(self._buf)
        self._buf += _Bytes(width)
        yield self
        n = len(self._buf) - start - width
        if n > _MAX_FOR_WIDTH[width]:
            raise ValueError(f"{n} bytes do not fit a {width}-byte length prefix")
        self._buf[start : start + width] = n.to_bytes(width, "big")

    def __len__(self) -> int:
        return len(self._buf)

    def getvalue(self) -> _Bytes:
        return _Bytes(self._buf)
