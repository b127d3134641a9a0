"""Server: the TLS 1.3 states after the server's flight (RFC 8446 §4.4.4, §4.5, §4.6.1).

With 0-RTT accepted, :class:`ExpectEndOfEarlyData` reads early data until EndOfEarlyData and
then installs the client's handshake keys; :class:`ExpectFinished` verifies the client's
Finished, sends the NewSessionTickets and ends in ``Traffic13``. The flight itself is
``tls13.send_server_flight``, which returns these states (``tls13`` re-exports them).

    [ExpectEndOfEarlyData] -> ExpectFinished -> Traffic13
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.serialization import Encoding

from ..enums import HandshakeType
from ..events import HandshakeComplete
from ..extensions import EarlyData, Extension, PskKeyExchangeModes
from ..fast_init import fast_init
from ..keyschedule import MasterSecret, resumption_psk
from ..machine import HandshakeTrafficKeys, Output, check_finished, expect
from ..messages import HandshakeMessage
from ..messages.tls13 import EndOfEarlyData, Finished, NewSessionTicket
from ..session import TicketState
from ..traffic13 import Traffic13
from .post_handshake_auth import ServerPostHandshakeAuth

if TYPE_CHECKING:
    from .tls13 import Choice, Offer

__all__ = ["ExpectEndOfEarlyData", "ExpectFinished"]


@dataclass(frozen=True, slots=True)
class ExpectEndOfEarlyData:
    """0-RTT accepted; early data arrives until EndOfEarlyData (RFC 8446 §4.5)."""

    expects = frozenset({HandshakeType.END_OF_EARLY_DATA})

    then: ExpectFinished
    client_keys: HandshakeTrafficKeys = field(repr=False)

    def handle(self, msg: HandshakeMessage, out: Output) -> ExpectFinished:
        end = expect(msg, EndOfEarlyData, self)
        then = self.then
        transcript = then.offer.transcript
        transcript.update(end.raw)
        keys = self.client_keys
        out.read_keys(then.choice.suite, keys.secret, "handshake", keys.key_iv)
        # The client's Finished covers EndOfEarlyData (§4.4.1).
        return replace(then, finished_context=transcript.digest())


@fast_init
@dataclass(frozen=True, slots=True)
class ExpectFinished:
    """Server flight sent; waiting for the client's Finished (RFC 8446 §4.4.4)."""

    expects = frozenset({HandshakeType.FINISHED})

    offer: Offer
    choice: Choice
    # The transcript hash the client's Finished covers (§4.4.4): through the server Finished,
    # or through the client's Certificate/CertificateVerify after a CertificateRequest.
    finished_context: bytes
    client_finished_key: bytes = field(repr=False)
    client_application_secret: bytes = field(repr=False)
    server_application_secret: bytes = field(repr=False)
    exporter_secret: bytes = field(repr=False)
    master: MasterSecret = field(repr=False)
    summary: HandshakeComplete

    def handle(self, msg: HandshakeMessage, out: Output) -> Traffic13:
        finished = expect(msg, Finished, self)
        suite, transcript = self.choice.suite, self.offer.transcript
        check_finished(finished, suite, self.client_finished_key, self.finished_context, "client")
        transcript.update(finished.raw)
        resumption = self.master.resumption_master_secret(transcript.digest())
        out.read_keys(suite, self.client_application_secret, "application")
        out.event(self.summary)
        self._send_tickets(resumption, out)
        return Traffic13(
            suite=suite,
            is_client=False,
            read_secret=self.client_application_secret,
            write_secret=self.server_application_secret,
            exporter_secret=self.exporter_secret,
            resumption_secret=resumption,
            # RFC 8446 §4.4: post-handshake exchanges start from this transcript.
            post_handshake_auth=ServerPostHandshakeAuth.after_handshake(
                self.offer.config, self.offer.client_hello, transcript
            ),
        )

    def _send_tickets(self, resumption_secret: bytes, out: Output) -> None:
        """NewSessionTicket messages carrying sealed resumption state (RFC 8446 §4.6.1)."""
        config, choice = self.offer.config, self.choice
        if not config.session_tickets:
            return
        modes = self.offer.client_hello.get(PskKeyExchangeModes)
        if modes is not None and not set(modes.ke_modes) & set(config.psk_modes):
            # RFC 8446 §4.2.9: "Servers SHOULD NOT send NewSessionTicket with tickets that are
            # not compatible with the advertised modes" (BoGo's BadKEMode). A client that
            # advertises none still gets tickets, as from OpenSSL (tlsfuzzer's count-tickets).
            return
        sealer = config.session_ticket_sealer()
        extensions: tuple[Extension, ...] = ()
        if config.max_early_data_size:
            extensions = (EarlyData(max_early_data_size=config.max_early_data_size),)
        issued_at = int(config.clock())
        client_chain = tuple(c.public_bytes(Encoding.DER) for c in self.summary.peer_certificates)
        for index in range(config.session_tickets):
            nonce = index.to_bytes(2, "big")  # unique per ticket on this connection
            age_add = int.from_bytes(config.random(4), "big")
            state = TicketState(
                cipher_suite=choice.suite.id,
                psk=resumption_psk(choice.suite.hash_name, resumption_secret, nonce),
                issued_at=issued_at,
                ticket_age_add=age_add,
                lifetime=config.ticket_lifetime,
                max_early_data_size=config.max_early_data_size,
                alpn_protocol=(choice.alpn_protocol or "").encode(),
                server_name=(choice.server_name or "").encode(),
                client_certificates=client_chain,
            )
            ticket = NewSessionTicket(
                ticket_lifetime=config.ticket_lifetime,
                ticket_age_add=age_add,
                ticket_nonce=nonce,
                ticket=sealer.seal(state.serialize()),
                extensions=extensions,
            )
            out.send(ticket)
