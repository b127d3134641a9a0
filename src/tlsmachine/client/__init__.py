"""The TLS client: :class:`ClientConnection` and its handshake states (RFC 8446 Appendix A.1)."""

from __future__ import annotations

from ..config import ClientConfig
from ..connection import Connection, ConnectionState
from ..enums import ContentType, ProtocolVersion
from ..errors import AlertReceived, ConfigurationError, ProtocolError, UsageError
from ..events import Event, SessionTicketReceived
from ..machine import Output
from ..session import ClientSession
from .hello import ExpectServerHello


class ClientConnection(Connection):
    """A sans-I/O TLS client connection; the ClientHello is queued on construction."""

    _is_client = True

    def __init__(self, config: ClientConfig, server_name: str | None = None) -> None:
        if server_name is None and config.verify_certificates and config.verifier is None:
            # RFC 6125 / RFC 8446 §4.4.2.4: without a name there is nothing to check the
            # certificate against; pass the host (or IP address) you connect to. A custom
            # verifier decides for itself (e.g. a pinned certificate needs no name); it is
            # asked with server_name=None.
            raise ConfigurationError("server_name is required when certificates are verified")
        out = Output(keylog=config.keylog is not None)
        first = ExpectServerHello.start(config, server_name, out)
        super().__init__(first, trace=config.trace_handshake, keylog=config.keylog)
        if config.max_version < ProtocolVersion.TLS13:
            self._version = ProtocolVersion.TLS12  # no TLS 1.3 rules before the ServerHello
        self._stored: list[ClientSession] = []  # sessions this connection put in the store
        self.config = config
        self.server_name = server_name
        self._records.write_version = 0x0301  # RFC 8446 §5.1: MAY be 0x0301 for the first hello
        self._apply(out)
        self._records.flush_handshake()
        self._records.write_version = 0x0303
        self.state = ConnectionState.HANDSHAKING

    @property
    def early_data_room(self) -> int:
        """How many more bytes :meth:`send_early_data` accepts now (0 when 0-RTT is not
        possible: no ticket allowing it, ``ClientConfig.early_data`` off, or already over)."""
        return self._early_data_room if self._write_epoch == "early" else 0

    def send_early_data(self, data: bytes) -> None:
        """Send 0-RTT data (RFC 8446 §2.3) before the handshake completes.

        Possible right after construction when a stored ticket allows early data and
        ``ClientConfig.early_data`` is set, until the server's answer arrives, up to the
        ticket's max_early_data_size (see :attr:`early_data_room`). Early data can be replayed
        by an attacker (§8, Appendix E.5): send only requests that are safe to repeat. If the
        server rejects it, an :class:`EarlyDataRejected` event hands all of it back.
        """
        if len(data) > self.early_data_room:
            raise UsageError(
                f"cannot send {len(data)} bytes of early data; {self.early_data_room} allowed now"
            )
        if data:
            self._records.write(ContentType.APPLICATION_DATA, data)
            self._early_data_room -= len(data)
            self._early_data_sent.append(bytes(data))

    def _emit(self, event: Event) -> None:
        super()._emit(event)
        store = self.config.session_store
        if store is not None and isinstance(event, SessionTicketReceived):
            store.put(event.session)  # the documented point where the store is called
            if event.session.is_tls12:
                self._stored.append(event.session)

    def _on_error(self, exc: BaseException) -> None:
        # RFC 5246 §7.2.2: forget the TLS 1.2 session of a connection that failed (a store
        # without ``remove`` cannot; TLS 1.3 tickets are independent of the connection).
        remove = getattr(self.config.session_store, "remove", None)
        if self._stored and remove is not None and isinstance(exc, ProtocolError | AlertReceived):
            for session in self._stored:
                remove(session)
            self._stored.clear()
        super()._on_error(exc)


__all__ = ["ClientConnection"]
