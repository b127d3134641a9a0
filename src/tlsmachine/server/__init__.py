"""The TLS server: :class:`ServerConnection` and its handshake states (RFC 8446 Appendix A.2)."""

from __future__ import annotations

from ..config import ServerConfig
from ..connection import Connection
from .hello import ExpectClientHello


class ServerConnection(Connection):
    """A sans-I/O TLS server connection; it waits for the ClientHello."""

    def __init__(self, config: ServerConfig) -> None:
        super().__init__(
            ExpectClientHello(config), trace=config.trace_handshake, keylog=config.keylog
        )
        self.config = config

    def _hello_seen(self) -> bool:
        return not isinstance(self._handshake, ExpectClientHello)


__all__ = ["ServerConnection"]
