"""The TLS server: :class:`ServerConnection` and its handshake states (RFC 8446 Appendix A.2)."""

from __future__ import annotations

from ..config import ServerConfig
from ..connection import Connection
from ..extensions import PreSharedKeyClientHello, SessionTicket
from ..messages.hello import ClientHello
from .hello import ExpectClientHello


class ClientOffer:
    """What the client's first ClientHello offered, kept after the handshake (which needs none
    of it) for what ssl reports: ``shared_ciphers()`` and the ``session_stats()`` misses."""

    __slots__ = ("cipher_suites", "psk", "tls12_session")

    def __init__(self) -> None:
        self.cipher_suites: tuple[int, ...] | None = None
        """The offered cipher suites (RFC 8446 §4.1.2); None until the ClientHello came."""
        self.psk = False
        """It offered a TLS 1.3 pre_shared_key: a ticket or an external PSK (§4.2.11)."""
        self.tls12_session = False
        """It offered a TLS 1.2 session: a session ID (RFC 5246 §7.4.1.2; possibly the random
        one of TLS 1.3's middlebox compatibility mode, which no server can tell apart) or an
        RFC 5077 ticket."""

    def note(self, hello: ClientHello) -> None:
        self.cipher_suites = hello.cipher_suites
        extensions = hello.extensions
        self.psk = bool(extensions) and isinstance(extensions[-1], PreSharedKeyClientHello)
        ticket = hello.get(SessionTicket)
        self.tls12_session = bool(hello.legacy_session_id) or bool(ticket and ticket.ticket)


class ServerConnection(Connection):
    """A sans-I/O TLS server connection; it waits for the ClientHello."""

    def __init__(self, config: ServerConfig) -> None:
        self.client_offer = ClientOffer()
        """What the client offered; filled in when its ClientHello arrives."""
        super().__init__(
            ExpectClientHello(config, self.client_offer.note),
            trace=config.trace_handshake,
            keylog=config.keylog,
        )
        self.config = config

    def _hello_seen(self) -> bool:
        return not isinstance(self._handshake, ExpectClientHello)


__all__ = ["ClientOffer", "ServerConnection"]
