"""Client: post-handshake authentication (RFC 8446 §4.2.6, §4.6.2, §4.4).

With ``ClientConfig.post_handshake_auth`` our ClientHello carries post_handshake_auth, and the
server may send a CertificateRequest at any time after the handshake. We answer it at once, all
in one go, since "all of the client's messages for a given response MUST appear consecutively on
the wire" (§4.6.2): Certificate (echoing the certificate_request_context), CertificateVerify if
we sent a certificate, and Finished.

Each exchange has its own transcript (§4.4, the "Post-Handshake" row of the table): the
handshake's through the client Finished, then this CertificateRequest, Certificate and
CertificateVerify. The Finished key comes from the current client_application_traffic_secret_N.
Without the extension a CertificateRequest is unexpected_message (§4.6.2): Traffic13 has no
:class:`ClientPostHandshakeAuth` then.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import ClientConfig
from ..crypto.suites import CipherSuite
from ..errors import IllegalParameter, MissingExtension, UsageError
from ..extensions import SignatureAlgorithms
from ..keyschedule import finished_verify_data
from ..machine import Output, expect
from ..messages import HandshakeMessage
from ..messages.tls13 import CertificateRequest, encode_finished
from ..transcript import TranscriptHash
from .certificate import answer_certificate_request


@dataclass(frozen=True, slots=True)
class ClientPostHandshakeAuth:
    """We offered post_handshake_auth; CertificateRequests are answered (RFC 8446 §4.6.2)."""

    config: ClientConfig
    handshake_transcript: TranscriptHash = field(repr=False)
    """ClientHello .. client Finished; copied for each exchange, never updated (§4.4)."""

    @classmethod
    def after_handshake(
        cls, config: ClientConfig, transcript: TranscriptHash
    ) -> ClientPostHandshakeAuth | None:
        """The state for Traffic13 once our Finished is in ``transcript`` (None: not offered)."""
        if not config.post_handshake_auth:
            return None
        return cls(config, transcript.copy())

    def claims(self, msg: HandshakeMessage) -> bool:
        """A CertificateRequest is ours; KeyUpdate and NewSessionTicket are Traffic13's."""
        return isinstance(msg, CertificateRequest)

    def handle(
        self, msg: HandshakeMessage, suite: CipherSuite, client_secret: bytes, out: Output
    ) -> ClientPostHandshakeAuth:
        """Answer a CertificateRequest: Certificate, [CertificateVerify], Finished (§4.6.2).

        ``client_secret`` is our current client_application_traffic_secret_N (§4.4.4).
        """
        request = expect(msg, CertificateRequest, self)
        if not request.certificate_request_context:
            # RFC 8446 §4.3.2: the context is empty only in the handshake; afterwards it tells
            # the answers apart (§4.6.2) and SHOULD be unpredictable.
            raise IllegalParameter("post-handshake CertificateRequest with an empty context")
        if request.get(SignatureAlgorithms) is None:
            # RFC 8446 §4.3.2: "The "signature_algorithms" extension MUST be specified".
            raise MissingExtension("CertificateRequest without signature_algorithms (§4.3.2)")
        transcript = self.handshake_transcript.copy()
        transcript.update(request.raw)
        answer_certificate_request(self.config, request, transcript, out)
        verify_data = finished_verify_data(suite.hash_name, client_secret, transcript.digest())
        out.send_encoded(encode_finished(verify_data))
        return self

    def request(self, out: Output) -> tuple[ClientPostHandshakeAuth, bytes]:
        """Only servers request certificates (RFC 8446 §4.6.2)."""
        raise UsageError("only a server can request a client certificate")


__all__ = ["ClientPostHandshakeAuth"]
