"""tlsmachine: a sans-I/O TLS 1.3 and TLS 1.2 implementation on pyca/cryptography.

The protocol core never does I/O: feed bytes to :meth:`Connection.receive_data`, act on the
returned events, and send what :meth:`Connection.data_to_send` returns. Thin adapters for
blocking sockets live in :mod:`tlsmachine.sockets`, for asyncio in :mod:`tlsmachine.asyncio`.
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
    ClientCertificateReceived,
    ConnectionClosed,
    EarlyDataReceived,
    EarlyDataRejected,
    Event,
    HandshakeComplete,
    HandshakeMessageTraced,
    KeyUpdated,
    RecordTraced,
    SessionTicketReceived,
    WarningAlertReceived,
)
from .server import ServerConnection
from .session import (
    AeadTicketSealer,
    ClientSession,
    ExternalPsk,
    InMemoryClientSessionStore,
    InMemorySessionStore,
)
from .session_cache import InMemorySessionCache, ServerSessionCache, Tls12Session
from .verify import CertificateVerifier, DefaultVerifier, PinnedCertificate

__version__ = "0.1.0"

__all__ = [
    "AeadTicketSealer",
    "AlertReceived",
    "ApplicationData",
    "CertificateVerifier",
    "CertifiedKey",
    "ClientCertificateReceived",
    "ClientConfig",
    "ClientConnection",
    "ClientSession",
    "ConfigurationError",
    "Connection",
    "ConnectionClosed",
    "ConnectionClosedError",
    "ConnectionState",
    "DefaultVerifier",
    "EarlyDataReceived",
    "EarlyDataRejected",
    "Event",
    "ExternalPsk",
    "HandshakeComplete",
    "HandshakeMessageTraced",
    "InMemoryClientSessionStore",
    "InMemorySessionCache",
    "InMemorySessionStore",
    "KeyUpdated",
    "PinnedCertificate",
    "ProtocolError",
    "RecordTraced",
    "ServerConfig",
    "ServerConnection",
    "ServerSessionCache",
    "SessionTicketReceived",
    "TLSError",
    "Tls12Session",
    "UsageError",
    "WarningAlertReceived",
    "__version__",
]
