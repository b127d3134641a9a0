"""Server: client authentication in the handshake (RFC 8446 §4.3.2, §4.4.2, §4.4.3).

After a CertificateRequest the server waits for the client's Certificate (possibly empty) and,
when it is not empty, its CertificateVerify; both join the transcript before the client's
Finished, which :class:`~tlsmachine.server.tls13_finish.ExpectFinished` then checks.

    ExpectClientCertificate -> [ExpectClientCertificateVerify] -> ExpectFinished
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from cryptography import x509

from ..enums import HandshakeType
from ..errors import CertificateRequired, IllegalParameter, UnsupportedExtension
from ..machine import Output, check_certificate_verify, expect
from ..messages import HandshakeMessage
from ..messages.tls13 import Certificate, CertificateVerify
from ..verify import parse_certificate_chain, verified_path
from .tls13_finish import ExpectFinished


@dataclass(frozen=True, slots=True)
class ExpectClientCertificate:
    """CertificateRequest sent; waiting for the client's Certificate (RFC 8446 §4.4.2)."""

    expects = frozenset({HandshakeType.CERTIFICATE})

    then: ExpectFinished

    def handle(
        self, msg: HandshakeMessage, out: Output
    ) -> ExpectClientCertificateVerify | ExpectFinished:
        certificate = expect(msg, Certificate, self)
        then = self.then
        config, transcript = then.offer.config, then.offer.transcript
        if certificate.certificate_request_context:
            # RFC 8446 §4.4.2: it echoes our (empty) certificate_request_context.
            raise IllegalParameter("client Certificate does not echo the request context")
        for entry in certificate.certificate_list:
            if entry.extensions:  # we requested none (§4.4.2, §4.2)
                raise UnsupportedExtension("client Certificate entry carries extensions")
        if not certificate.certificate_list:
            if config.client_auth == "required":
                # RFC 8446 §4.4.2.4: the server MAY abort with certificate_required.
                raise CertificateRequired("the client sent no certificate, and one is required")
            transcript.update(certificate.raw)
            return replace(then, finished_context=transcript.digest())
        chain = parse_certificate_chain([e.cert_data for e in certificate.certificate_list])
        now = datetime.fromtimestamp(config.clock(), tz=UTC)
        path = config.client_certificate_verifier().verify_client(chain, now)
        transcript.update(certificate.raw)
        return ExpectClientCertificateVerify(then, chain, verified_path(path))


@dataclass(frozen=True, slots=True)
class ExpectClientCertificateVerify:
    """Waiting for the client's CertificateVerify (RFC 8446 §4.4.3)."""

    expects = frozenset({HandshakeType.CERTIFICATE_VERIFY})

    then: ExpectFinished
    chain: tuple[x509.Certificate, ...]
    verified_chain: tuple[x509.Certificate, ...]
    """The verifier's path for ``chain`` (empty if none), for the summary."""

    def handle(self, msg: HandshakeMessage, out: Output) -> ExpectFinished:
        cv = expect(msg, CertificateVerify, self)
        then = self.then
        config, transcript = then.offer.config, then.offer.transcript
        # RFC 8446 §4.4.3: one of the schemes our CertificateRequest listed.
        offered = config.signature_schemes
        check_certificate_verify(cv, self.chain, offered, transcript.digest(), by_server=False)
        transcript.update(cv.raw)
        summary = replace(
            then.summary, peer_certificates=self.chain, verified_chain=self.verified_chain
        )
        return replace(then, finished_context=transcript.digest(), summary=summary)
