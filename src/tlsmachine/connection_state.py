"""The public lifecycle of a :class:`~tlsmachine.connection.Connection`: :class:`ConnectionState`
(in its own module so that the driver's parts, ``connection_receive`` and ``connection_apply``,
share it with ``connection``, which re-exports it).
"""

from __future__ import annotations

import enum

__all__ = ["ConnectionState"]


class ConnectionState(enum.Enum):
    """Public lifecycle of a connection (see ARCHITECTURE.md)."""

    IDLE = "idle"
    HANDSHAKING = "handshaking"
    APP_DATA = "app_data"
    HOST_INITIATED_CLOSING = "host_initiated_closing"
    """We sent close_notify and wait for the peer's (RFC 8446 §6.1)."""
    PEER_CLOSED = "peer_closed"
    """The peer sent close_notify; we may still send, then close() (RFC 8446 §6.1)."""
    SHUTDOWN = "shutdown"
    FAILED = "failed"
