"""The TLS client: :class:`ClientConnection` and its handshake states (RFC 8446 Appendix A.1)."""

from __future__ import annotations

from ..config import ClientConfig
from ..connection import Connection, ConnectionState
from ..errors import ConfigurationError
from ..events import Event, SessionTicketReceived
from ..machine import Output
from .hello import ExpectServerHello


class ClientConnection(Connection):
    """A sans-I/O TLS client connection; the ClientHello is queued on construction."""

    def __init__(self, config: ClientConfig, server_name: str | None = None) -> None:
        if server_name is None and config.verify_certificates:
            # RFC 6125 / RFC 8446 §4.4.2.4: without a name there is nothing to check the
            # certificate against; pass the host (or IP address) you connect to.
            raise ConfigurationError("server_name is required when certificates are verified")
        out = Output(keylog=config.keylog is not None)
        first = ExpectServerHello.start(config, server_name, out)
        super().__init__(first, trace=config.trace_handshake, keylog=config.keylog)
        self.config = config
        self.server_name = server_name
        self._records.write_version = 0x0301  # RFC 8446 §5.1: MAY be 0x0301 for the first hello
        self._apply(out)
        self._records.flush_handshake()
        self._records.write_version = 0x0303
        self.state = ConnectionState.HANDSHAKING

    def _emit(self, event: Event) -> None:
        super()._emit(event)
        store = self.config.session_store
        if store is not None and isinstance(event, SessionTicketReceived):
            store.put(event.session)  # the documented point where the store is called


__all__ = ["ClientConnection"]
