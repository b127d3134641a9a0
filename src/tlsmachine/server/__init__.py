"""The TLS server: :class:`ServerConnection` and its handshake states (RFC 8446 Appendix A.2)."""

from __future__ import annotations

from ..config import ServerConfig
from ..connection import Connection, ConnectionState
from .hello import ExpectClientHello


class ServerConnection(Connection):
    """A sans-I/O TLS server connection; it waits for the ClientHello."""

    def __init__(self, config: ServerConfig) -> None:
        super().__init__(
            ExpectClientHello(config), trace=config.trace_handshake, keylog=config.keylog
        )
        self.config = config

    def receive_data(self, data: bytes) -> list:  # type: ignore[type-arg]
        if self.state is ConnectionState.IDLE and data:
            self.state = ConnectionState.HANDSHAKING
        return super().receive_data(data)

    def _hello_seen(self) -> bool:
        return not isinstance(self._handshake, ExpectClientHello)


__all__ = ["ServerConnection"]
