"""tlsmachine: a sans-I/O TLS 1.3 implementation on pyca/cryptography.

The protocol core never does I/O: feed bytes to :meth:`Connection.receive_data`, act on the
returned events, and send what :meth:`Connection.data_to_send` returns. Thin adapters for
blocking sockets live in :mod:`tlsmachine.sockets`.
"""

from __future__ import annotations

from .certs import CertifiedKey
from .client import ClientConnection
from .config import ClientConfig, ServerConfig
from .connection import Connection, ConnectionState
from .errors import (
    AlertReceived,
    ConfigurationError,
    ConnectionClosedError,
    ProtocolError,
    TLSError,
    UsageError,
)
from .events import (
    ApplicationData,
    ConnectionClosed,
    Event,
    HandshakeComplete,
    HandshakeMessageTraced,
    KeyUpdated,
    SessionTicketReceived,
    WarningAlertReceived,
)
from .server import ServerConnection
from .session import ClientSession, InMemoryClientSessionStore

__version__ = "0.1.0"

__all__ = [
    "AlertReceived",
    "ApplicationData",
    "CertifiedKey",
    "ClientConfig",
    "ClientConnection",
    "ClientSession",
    "ConfigurationError",
    "Connection",
    "ConnectionClosed",
    "ConnectionClosedError",
    "ConnectionState",
    "Event",
    "HandshakeComplete",
    "HandshakeMessageTraced",
    "InMemoryClientSessionStore",
    "KeyUpdated",
    "ProtocolError",
    "ServerConfig",
    "ServerConnection",
    "SessionTicketReceived",
    "TLSError",
    "UsageError",
    "WarningAlertReceived",
    "__version__",
]
