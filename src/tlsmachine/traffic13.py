"""TLS 1.3 after the handshake: KeyUpdate and post-handshake messages (RFC 8446 §4.6).

Both roles end their handshake in :class:`Traffic13`. It holds the current application traffic
secrets and rolls them forward on KeyUpdate (§7.2). Post-handshake client authentication (§4.6.2)
is a small machine of its own that Traffic13 keeps (:class:`PostHandshakeAuth`, only when the
client offered it): the client's in :mod:`tlsmachine.client.post_handshake_auth`, the server's
in :mod:`tlsmachine.server.post_handshake_auth`. Anything that is not a legal post-handshake
message for the role aborts with unexpected_message (§4.6).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from .crypto.suites import CipherSuite
from .enums import KeyUpdateRequest
from .errors import UsageError
from .events import KeyUpdated, SessionTicketReceived
from .extensions import EarlyData
from .fast_init import fast_init
from .keyschedule import export_keying_material, next_traffic_secret, resumption_psk
from .machine import Output, unexpected
from .messages import HandshakeMessage
from .messages.tls13 import KeyUpdate, NewSessionTicket
from .session import MAX_TICKET_LIFETIME, ClientSession


@fast_init
@dataclass(frozen=True, slots=True)
class SessionContext:
    """What the client remembers a ticket with: the name it is for, the ALPN, its clock."""

    server_name: str | None
    alpn_protocol: str | None
    clock: Callable[[], float]
    server_certificates: tuple[bytes, ...] = ()
    """The server chain of the handshake (of the original one when resumed), DER-encoded once
    for all the tickets the connection receives."""


class PostHandshakeAuth(Protocol):
    """One role's post-handshake authentication state (RFC 8446 §4.6.2), kept by Traffic13."""

    def claims(self, msg: HandshakeMessage) -> bool:
        """Does ``msg`` go to this state (rather than to Traffic13's KeyUpdate handling)?"""
        ...

    def handle(
        self, msg: HandshakeMessage, suite: CipherSuite, client_secret: bytes, out: Output
    ) -> PostHandshakeAuth:
        """Handle ``msg``; ``client_secret`` is the current client_application_traffic_secret_N
        (the Finished base key, §4.4)."""
        ...

    def request(self, out: Output) -> tuple[PostHandshakeAuth, bytes]:
        """Server: send a CertificateRequest, return its certificate_request_context."""
        ...


@fast_init
@dataclass(frozen=True, slots=True)
class Traffic13:
    """Handshake done; application data flows (RFC 8446 Appendix A, CONNECTED)."""

    suite: CipherSuite
    is_client: bool
    read_secret: bytes = field(repr=False)
    write_secret: bytes = field(repr=False)
    exporter_secret: bytes = field(repr=False)
    resumption_secret: bytes = field(repr=False)
    session_context: SessionContext | None = None
    """Client only: what a received ticket is remembered with."""
    post_handshake_auth: PostHandshakeAuth | None = None
    """Post-handshake client authentication (RFC 8446 §4.6.2); None unless the client offered
    post_handshake_auth, so that a CertificateRequest (client) or a Certificate (server) is then
    unexpected_message."""
    write_closed: bool = False
    """We sent close_notify: "the sender will not send any more messages on this connection"
    (RFC 8446 §6.1). What the peer sends is still read, but nothing is answered: no KeyUpdate
    for its update_requested, no Certificate for its CertificateRequest (see :meth:`closed`)."""

    def closed(self) -> Traffic13:
        """This state once our close_notify is out (see :attr:`write_closed`).

        Built field by field: ``dataclasses.replace`` costs a few µs, on every close."""
        return Traffic13(
            self.suite,
            self.is_client,
            self.read_secret,
            self.write_secret,
            self.exporter_secret,
            self.resumption_secret,
            self.session_context,
            self.post_handshake_auth,
            write_closed=True,
        )

    def handle(self, msg: HandshakeMessage, out: Output) -> Traffic13:
        auth = self.post_handshake_auth
        if auth is not None and auth.claims(msg):
            if self.write_closed and self.is_client:
                # §6.1: a request that arrives after our close_notify goes unanswered (we would
                # have to send Certificate, CertificateVerify and Finished); it is still checked
                # to be a CertificateRequest, which is all claims() accepts.
                return self
            client_secret = self.write_secret if self.is_client else self.read_secret
            auth = auth.handle(msg, self.suite, client_secret, out)
            return replace(self, post_handshake_auth=auth)
        if isinstance(msg, KeyUpdate):
            return self._peer_key_update(msg, out)
        if isinstance(msg, NewSessionTicket) and self.is_client:
            self._new_session_ticket(msg, out)
            return self
        raise unexpected(msg, self)

    def _new_session_ticket(self, msg: NewSessionTicket, out: Output) -> None:
        """Turn a ticket into a resumable session (RFC 8446 §4.6.1)."""
        context = self.session_context
        if context is None or not context.server_name or msg.ticket_lifetime == 0:
            return  # a lifetime of zero: "the ticket should be discarded immediately"
        early_data = msg.get(EarlyData)
        session = ClientSession(
            server_name=context.server_name,
            cipher_suite=self.suite.id,
            psk=resumption_psk(self.suite.hash_name, self.resumption_secret, msg.ticket_nonce),
            ticket=msg.ticket,
            # Clients MUST NOT cache tickets for longer than 7 days.
            ticket_lifetime=min(msg.ticket_lifetime, MAX_TICKET_LIFETIME),
            ticket_age_add=msg.ticket_age_add,
            received_at=context.clock(),
            max_early_data_size=(early_data.max_early_data_size or 0) if early_data else 0,
            alpn_protocol=context.alpn_protocol,
            server_certificates=context.server_certificates,
        )
        out.event(SessionTicketReceived(session=session))

    def _peer_key_update(self, msg: KeyUpdate, out: Output) -> Traffic13:
        read_secret = next_traffic_secret(self.suite.hash_name, self.read_secret)
        out.read_keys(self.suite, read_secret, "application")
        out.event(KeyUpdated(direction="receive"))
        state = replace(self, read_secret=read_secret)
        if msg.request_update == KeyUpdateRequest.UPDATE_REQUESTED and not self.write_closed:
            # RFC 8446 §4.6.3: answer with update_not_requested before our next record (after
            # our close_notify there is no next record, §6.1).
            state = state.start_key_update(out, request_peer=False)
        return state

    def start_key_update(self, out: Output, request_peer: bool) -> Traffic13:
        """Send KeyUpdate under the old keys, then switch our write keys (§4.6.3)."""
        request = (
            KeyUpdateRequest.UPDATE_REQUESTED
            if request_peer
            else KeyUpdateRequest.UPDATE_NOT_REQUESTED
        )
        out.send(KeyUpdate(request_update=request))
        write_secret = next_traffic_secret(self.suite.hash_name, self.write_secret)
        out.write_keys(self.suite, write_secret, "application")
        out.event(KeyUpdated(direction="send"))
        return replace(self, write_secret=write_secret)

    def request_client_certificate(self, out: Output) -> tuple[Traffic13, bytes]:
        """Server: send a post-handshake CertificateRequest (RFC 8446 §4.6.2); return the new
        state and the request's certificate_request_context."""
        auth = self.post_handshake_auth
        if self.is_client:
            raise UsageError("only a server can request a client certificate")
        if auth is None:
            # RFC 8446 §4.2.6: never to clients which did not offer post_handshake_auth.
            raise UsageError("the client did not offer post-handshake authentication")
        auth, context = auth.request(out)
        return replace(self, post_handshake_auth=auth), context

    def export_keying_material(self, label: bytes, context: bytes | None, length: int) -> bytes:
        """RFC 8446 §7.5 exporter over the exporter master secret."""
        return export_keying_material(
            self.suite.hash_name, self.exporter_secret, label, context or b"", length
        )
