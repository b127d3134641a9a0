"""The alert message (RFC 8446 §6, Appendix B.2).

::

    enum { warning(1), fatal(2), (255) } AlertLevel;

    struct {
        AlertLevel level;
        AlertDescription description;
    } Alert;

Level and description stay plain ``int``: unknown values are the connection's business
(RFC 8446 §6: unknown alert types are treated as fatal, §6.2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from ..errors import DecodeError
from ..fast_init import fast_init


@fast_init
@dataclass(frozen=True, slots=True)
class Alert:
    """RFC 8446 §6::

    struct {
        AlertLevel level;
        AlertDescription description;
    } Alert;
    """

    level: int
    description: int

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview) -> Self:
        """Parse one alert; the record content must be exactly 2 bytes (else ``decode_error``)."""
        if len(data) != 2:
            raise DecodeError(f"Alert: {len(data)} bytes, expected exactly 2")
        return cls(data[0], data[1])

    def serialize(self) -> bytes:
        return bytes((self.level, self.description))
