"""The lingering close after a fatal alert, shared by the blocking and the asyncio adapter.

Closing a socket with unread input makes the kernel answer with a TCP RST, and an RST can
destroy our alert in the peer's receive buffer before the peer reads it; the peer would then
see a reset instead of the reason (RFC 8446 §6.2). So after a fatal alert the adapters
half-close and read (and drop) what the peer still sends, as HTTP servers do, bounded by these.
"""

from __future__ import annotations

from typing import Final

LINGER_SECONDS: Final = 0.5
"""At most this long."""
LINGER_BYTES: Final = 256 * 1024
"""At most this many bytes read and dropped."""
