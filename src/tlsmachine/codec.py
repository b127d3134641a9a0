"""Strict reader and writer for the TLS presentation language (RFC 8446 §3).

Every read is bounds-checked; variable-length vectors come back as bounded child readers
(``opaque data<min..max>`` becomes ``r.opaque(2, min=min, max=max)``); ``expect_end()`` insists
that a structure was consumed exactly. Any violation raises :class:`DecodeError`, whose alert is
``decode_error`` (RFC 8446 §6.2). This module knows nothing about TLS messages.

Every handshake message goes through here, so the methods are kept flat: each checks its bounds
and reads the buffer itself (the length-prefixed forms share one helper, ``_body``), and error
text is only formatted when an error is raised. The ``what`` arguments name the field for those
messages; callers pass constant strings.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import DecodeError

_Bytes = bytes  # the classes below define a method named `bytes`

_MAX_FOR_WIDTH = {1: 0xFF, 2: 0xFFFF, 3: 0xFFFFFF, 4: 0xFFFFFFFF}
_LENGTH_PLACEHOLDERS = {width: _Bytes(width) for width in _MAX_FOR_WIDTH}
# Compiled formats for the usual sizes of uint16 vectors (cipher suites, groups, schemes).
_U16_VECTORS = tuple(struct.Struct(f">{count}H") for count in range(64))


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

    def _truncated(self, n: int, pos: int, what: str) -> DecodeError:
        return DecodeError(f"truncated {what}: need {n} bytes, {self._end - pos} left")

    def u8(self, what: str = "uint8") -> int:
        pos = self._pos
        if pos >= self._end:
            raise self._truncated(1, pos, what)
        self._pos = pos + 1
        return self._data[pos]

    def u16(self, what: str = "uint16") -> int:
        pos = self._pos
        if pos + 2 > self._end:
            raise self._truncated(2, pos, what)
        self._pos = pos + 2
        data = self._data
        return data[pos] << 8 | data[pos + 1]

    def u24(self, what: str = "uint24") -> int:
        pos = self._pos
        if pos + 3 > self._end:
            raise self._truncated(3, pos, what)
        self._pos = pos + 3
        return int.from_bytes(self._data[pos : pos + 3], "big")

    def u32(self, what: str = "uint32") -> int:
        pos = self._pos
        if pos + 4 > self._end:
            raise self._truncated(4, pos, what)
        self._pos = pos + 4
        return int.from_bytes(self._data[pos : pos + 4], "big")

    def bytes(self, n: int, what: str = "bytes") -> _Bytes:
        """Read exactly ``n`` bytes (a fixed-length ``opaque x[n]``)."""
        pos = self._pos
        if n < 0 or pos + n > self._end:
            raise self._truncated(n, pos, what)
        self._pos = pos + n
        return self._data[pos : pos + n]

    def rest(self) -> _Bytes:
        """Read everything that is left."""
        pos = self._pos
        self._pos = self._end
        return self._data[pos : self._end]

    def _body(self, width: int, minimum: int, maximum: int | None, what: str) -> int:
        """Read a ``width``-byte length, check it against ``<minimum..maximum>`` and the bytes
        left, and skip the body it announces. Returns where the body starts (it ends at the new
        cursor position)."""
        data = self._data
        pos = self._pos
        start = pos + width
        if start > self._end:
            raise self._truncated(width, pos, what)
        if width == 1:
            n = data[pos]
        elif width == 2:
            n = data[pos] << 8 | data[pos + 1]
        else:
            n = int.from_bytes(data[pos:start], "big")
        if n < minimum or (maximum is not None and n > maximum):
            raise DecodeError(f"{what}: length {n} outside <{minimum}..{maximum}>")
        end = start + n
        if end > self._end:
            raise self._truncated(n, start, what)
        self._pos = end
        return start

    def vector(
        self, width: int, *, min: int = 0, max: int | None = None, what: str = "vector"
    ) -> Reader:
        """Read a length-prefixed vector and return a child reader bounded to its body."""
        start = self._body(width, min, max, what)
        return Reader(self._data, start, self._pos)

    def span(
        self, width: int, *, min: int = 0, max: int | None = None, what: str = "vector"
    ) -> tuple[int, int]:
        """Read a length-prefixed vector and return the ``(start, end)`` offsets of its body in
        :attr:`buffer`, for a caller that walks the body itself instead of through a child."""
        start = self._body(width, min, max, what)
        return start, self._pos

    def opaque(
        self, width: int, *, min: int = 0, max: int | None = None, what: str = "opaque"
    ) -> _Bytes:
        """Read a length-prefixed ``opaque x<min..max>`` and return its body."""
        start = self._body(width, min, max, what)
        return self._data[start : self._pos]

    def u16_list(self, width: int, *, min: int = 0, max: int | None = None, what: str) -> list[int]:
        """Read a length-prefixed vector of uint16 code points (kept as ``int``)."""
        return list(self.u16_tuple(width, min=min, max=max, what=what))

    def u16_tuple(
        self, width: int, *, min: int = 0, max: int | None = None, what: str
    ) -> tuple[int, ...]:
        """:meth:`u16_list` as a tuple (what the message and extension objects hold)."""
        start = self._body(width, min, max, what)
        n = self._pos - start
        if n & 1:
            raise DecodeError(f"{what}: odd length {n} for a list of uint16")
        count = n >> 1
        if count < len(_U16_VECTORS):
            return _U16_VECTORS[count].unpack_from(self._data, start)
        return struct.unpack_from(f">{count}H", self._data, start)

    def expect_end(self, what: str = "structure") -> None:
        """Raise :class:`DecodeError` if anything is left unread."""
        if self._pos != self._end:
            raise DecodeError(f"{what}: {self._end - self._pos} trailing bytes")


class Writer:
    """An append-only byte builder with back-patched length prefixes.

    A vector whose length is not known in advance is written between :meth:`begin_vector`
    (which reserves the length prefix) and :meth:`end_vector` (which fills it in)::

        start = w.begin_vector(2)
        ...  # write the body
        w.end_vector(start, 2)

    :meth:`prefixed` is the same as a context manager, for code where speed does not matter.
    """

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
        n = len(b)
        if n > _MAX_FOR_WIDTH[width]:
            raise ValueError(f"{n} bytes do not fit a {width}-byte length prefix")
        buf = self._buf
        buf += n.to_bytes(width, "big")
        buf += b

    def u16_list(self, width: int, values: list[int] | tuple[int, ...]) -> None:
        """Write a length-prefixed vector of uint16 values."""
        try:
            body = struct.pack(f">{len(values)}H", *values)
        except struct.error as exc:
            raise OverflowError(f"a uint16 list holds a value outside 0..65535: {exc}") from None
        self.opaque(width, body)

    def begin_vector(self, width: int) -> int:
        """Reserve a ``width``-byte length prefix; return its offset for :meth:`end_vector`."""
        start = len(self._buf)
        self._buf += _LENGTH_PLACEHOLDERS[width]
        return start

    def end_vector(self, start: int, width: int) -> None:
        """Fill in the prefix reserved at ``start`` with the length of what followed it."""
        buf = self._buf
        n = len(buf) - start - width
        if n > _MAX_FOR_WIDTH[width]:
            raise ValueError(f"{n} bytes do not fit a {width}-byte length prefix")
        buf[start : start + width] = n.to_bytes(width, "big")

    @contextmanager
    def prefixed(self, width: int) -> Iterator[Writer]:
        """Write a length prefix of ``width`` bytes covering whatever the body writes."""
        start = self.begin_vector(width)
        yield self
        self.end_vector(start, width)

    def __len__(self) -> int:
        return len(self._buf)

    def getvalue(self) -> _Bytes:
        return _Bytes(self._buf)
