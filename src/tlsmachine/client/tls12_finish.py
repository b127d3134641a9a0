"""Client: the end of a TLS 1.2 handshake, full or abbreviated (RFC 5246 §7.3, §7.1, §7.4.9;
RFC 5077 §3.3)::

    [ExpectNewSessionTicket] -> ExpectChangeCipherSpec -> ExpectServerFinished
        -> (abbreviated: ChangeCipherSpec, Finished sent) -> Traffic12

and remembering the session for resumption (RFC 5246 §7.4.1.2, RFC 5077 §3.4).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..enums import HandshakeType, ProtocolVersion
from ..events import SessionTicketReceived
from ..fast_init import fast_init
from ..handshake12 import Agreed12, check_finished, finished, handshake_complete, install_keys
from ..machine import Output, expect
from ..messages import HandshakeMessage
from ..messages.tls12 import ChangeCipherSpec, NewSessionTicket12
from ..messages.tls13 import Finished
from ..session import TLS12_DEFAULT_SESSION_LIFETIME, ClientSession
from ..traffic12 import Traffic12
from .client_hello import sni_host_name

if TYPE_CHECKING:
    from .tls12 import Client12

#: RFC 5077 §3.3: a lifetime hint of 0 means "not specified"; we then keep a session this long.
DEFAULT_SESSION_LIFETIME = TLS12_DEFAULT_SESSION_LIFETIME  # the one constant, client_session's


@dataclass(frozen=True, slots=True)
class ExpectNewSessionTicket:
    """The ServerHello promised a ticket: NewSessionTicket before the server's
    ChangeCipherSpec (RFC 5077 §3.3)."""

    expects = frozenset({HandshakeType.NEW_SESSION_TICKET})

    hs: Client12
    agreed: Agreed12

    def handle(self, msg: HandshakeMessage, out: Output) -> ExpectChangeCipherSpec:
        ticket = expect(msg, NewSessionTicket12, self)
        self.hs.transcript.update(ticket.raw)
        return ExpectChangeCipherSpec(self.hs, self.agreed, ticket)


@fast_init
@dataclass(frozen=True, slots=True)
class ExpectChangeCipherSpec:
    """Waiting for the server's ChangeCipherSpec (RFC 5246 §7.1): its keys apply from the next
    record on, which must be its Finished."""

    expects = frozenset[int]()

    hs: Client12
    agreed: Agreed12
    ticket: NewSessionTicket12 | None

    def handle(self, msg: HandshakeMessage | ChangeCipherSpec, out: Output) -> ExpectServerFinished:
        expect(msg, ChangeCipherSpec, self)
        install_keys(out, self.agreed.keys, client=True, direction="read")
        return ExpectServerFinished(self.hs, self.agreed, self.ticket)


@fast_init
@dataclass(frozen=True, slots=True)
class ExpectServerFinished:
    """Waiting for the server's Finished (RFC 5246 §7.4.9)."""

    expects = frozenset({HandshakeType.FINISHED})

    hs: Client12
    agreed: Agreed12
    ticket: NewSessionTicket12 | None

    def handle(self, msg: HandshakeMessage, out: Output) -> Traffic12:
        server_finished = expect(msg, Finished, self)
        hs, agreed = self.hs, self.agreed
        transcript, suite = hs.transcript, hs.suite
        master = agreed.master_secret
        check_finished(
            server_finished, suite, master, client=False, handshake_hash=transcript.digest()
        )
        transcript.update(server_finished.raw)
        session = hs.resumed_session
        if session is not None:
            # Abbreviated handshake: our ChangeCipherSpec and Finished come last (§7.3).
            out.change_cipher_spec()
            install_keys(out, agreed.keys, client=True, direction="write")
            verify_data = finished(suite, master, client=True, handshake_hash=transcript.digest())
            transcript.update(out.send(Finished(verify_data=verify_data)))
        out.event(
            handshake_complete(
                suite,
                agreed.group_name,
                agreed.signature_scheme,
                hs.alpn_protocol,
                sni_host_name(hs.server_name),  # what went out: no IP literal
                agreed.peer_chain,
                resumed=session is not None,
                verified_chain=agreed.verified_chain,
            )
        )
        self._remember_session(out)
        return Traffic12(
            suite=suite,
            is_client=True,
            master_secret=master,
            client_random=hs.client_random,
            server_random=hs.server_random,
            extended_master_secret=hs.extended_master_secret,
        )

    def _remember_session(self, out: Output) -> None:
        """Offer the session for resumption (RFC 5246 §7.4.1.2, RFC 5077 §3.4), through the
        same event and store as TLS 1.3 tickets. Only sessions with the extended master
        secret are resumable (RFC 7627 §5.3)."""
        hs = self.hs
        if not hs.server_name or not hs.extended_master_secret:
            return
        previous = hs.resumed_session
        ticket, lifetime = b"", DEFAULT_SESSION_LIFETIME
        if self.ticket is not None:
            ticket = self.ticket.ticket
            lifetime = self.ticket.ticket_lifetime_hint or DEFAULT_SESSION_LIFETIME
        elif previous is not None:
            ticket, lifetime = previous.ticket, previous.ticket_lifetime
        session_id = hs.server_hello.legacy_session_id_echo
        if not ticket and not session_id:
            return  # nothing to resume with
        session = ClientSession(
            server_name=hs.server_name,
            cipher_suite=hs.suite.id,
            psk=self.agreed.master_secret,
            ticket=ticket,
            ticket_lifetime=lifetime,
            ticket_age_add=0,
            received_at=hs.config.clock() if previous is None else previous.received_at,
            max_early_data_size=0,
            alpn_protocol=hs.alpn_protocol,
            version=ProtocolVersion.TLS12,
            session_id=session_id,
            extended_master_secret=True,
            server_certificates=_server_chain_der(previous, self.agreed),
        )
        if self.ticket is not None and previous is not None:
            session = replace(session, received_at=hs.config.clock())
        out.event(SessionTicketReceived(session=session))


def _server_chain_der(previous: ClientSession | None, agreed: Agreed12) -> tuple[bytes, ...]:
    """The server chain a session keeps: a resumed session's own (the same chain, RFC 5246
    §7.3: no Certificate message), else the one just received, as it came (encoding the
    parsed chain again would cost ~6 µs a certificate)."""
    if previous is not None:
        return previous.server_certificates
    return agreed.peer_chain_der
