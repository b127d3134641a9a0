"""Server: post-handshake client authentication (RFC 8446 §4.2.6, §4.6.2, §4.4).

Only when the client offered post_handshake_auth (§4.2.6: "Servers MUST NOT send a
post-handshake CertificateRequest to clients which do not offer this extension"),
``ServerConnection.request_client_certificate()`` sends a CertificateRequest with a fresh random
certificate_request_context (§4.3.2: it SHOULD be unpredictable) and our signature_algorithms.

Several requests may be outstanding, and the client may answer them in any order (§4.6.2): the
context tells which. Until an answer starts, anything legal after the handshake may arrive
("servers MUST be prepared for ... an arbitrary number of other messages"), KeyUpdate included.
An answer is consecutive (§4.6.2: "with no intervening messages of other types"):

    ServerPostHandshakeAuth --Certificate--> [ExpectPostHandshakeCertificateVerify]
        --CertificateVerify--> ExpectPostHandshakeFinished --Finished--> ServerPostHandshakeAuth

Its transcript is the handshake's through the client Finished, then this CertificateRequest,
Certificate and CertificateVerify (§4.4); the Finished key comes from the current
client_application_traffic_secret_N (§4.4.4). The result is a ClientCertificateReceived event.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from cryptography import x509

from ..config import ServerConfig
from ..crypto.suites import CipherSuite
from ..errors import (
    CertificateRequired,
    IllegalParameter,
    UnexpectedMessage,
    UnsupportedExtension,
    UsageError,
)
from ..events import ClientCertificateReceived
from ..extensions import CertificateAuthorities, Extension, PostHandshakeAuth, SignatureAlgorithms
from ..keyschedule import finished_key
from ..machine import Output, check_certificate_verify, check_finished, expect
from ..messages import HandshakeMessage
from ..messages.hello import ClientHello
from ..messages.tls13 import Certificate, CertificateRequest, CertificateVerify, Finished
from ..transcript import TranscriptHash
from ..verify import parse_certificate_chain, verified_path

CONTEXT_LENGTH = 32
"""Bytes of randomness in each certificate_request_context (§4.3.2: SHOULD be unpredictable)."""


def certificate_request_extensions(config: ServerConfig) -> tuple[Extension, ...]:
    """A TLS 1.3 CertificateRequest's extensions, in the handshake or after it (RFC 8446
    §4.3.2): signature_algorithms ("MUST be specified"), and certificate_authorities naming
    the client trust anchors (§4.2.4) unless the config names none."""
    names = config.certificate_authorities()
    signature_algorithms = SignatureAlgorithms(schemes=config.signature_schemes)
    if not names:
        return (signature_algorithms,)
    return (signature_algorithms, CertificateAuthorities(authorities=names))


@dataclass(frozen=True, slots=True)
class PendingRequest:
    """A CertificateRequest we sent that the client has not answered yet."""

    context: bytes
    raw: bytes = field(repr=False)
    """The CertificateRequest as sent, for this exchange's transcript (§4.4)."""


@dataclass(frozen=True, slots=True)
class ServerPostHandshakeAuth:
    """The client offered post_handshake_auth; no answer in progress (RFC 8446 §4.6.2)."""

    config: ServerConfig
    handshake_transcript: TranscriptHash = field(repr=False)
    """ClientHello .. client Finished; copied for each exchange, never updated (§4.4)."""
    pending: tuple[PendingRequest, ...] = ()

    @classmethod
    def after_handshake(
        cls, config: ServerConfig, client_hello: ClientHello, transcript: TranscriptHash
    ) -> ServerPostHandshakeAuth | None:
        """The state for Traffic13 once the client Finished is in ``transcript``; None when
        the client did not offer post_handshake_auth (§4.2.6)."""
        if client_hello.get(PostHandshakeAuth) is None:
            return None
        return cls(config, transcript.copy())

    def request(self, out: Output) -> tuple[ServerPostHandshakeAuth, bytes]:
        """Send a CertificateRequest (RFC 8446 §4.3.2, §4.6.2); return its context."""
        config = self.config
        if not (config.client_cafile or config.client_cadata or config.client_verifier):
            # Else the system store would vouch for client certificates.
            raise UsageError("requesting a certificate needs client_cafile/cadata/verifier")
        context = config.random(CONTEXT_LENGTH)
        request = CertificateRequest(
            certificate_request_context=context, extensions=certificate_request_extensions(config)
        )
        raw = out.send(request)
        return replace(self, pending=(*self.pending, PendingRequest(context, raw))), context

    def claims(self, msg: HandshakeMessage) -> bool:
        """A Certificate starts an answer; KeyUpdate stays Traffic13's between answers."""
        return isinstance(msg, Certificate)

    def handle(
        self, msg: HandshakeMessage, suite: CipherSuite, client_secret: bytes, out: Output
    ) -> ExpectPostHandshakeCertificateVerify | ExpectPostHandshakeFinished:
        """The client's Certificate: which request it answers, then its chain (§4.4.2)."""
        certificate = expect(msg, Certificate, self)
        if not self.pending:
            raise UnexpectedMessage("client Certificate after the handshake without a request")
        context = certificate.certificate_request_context
        request = next((p for p in self.pending if p.context == context), None)
        if request is None:
            # RFC 8446 §4.4.2: it echoes the context of the CertificateRequest it answers.
            raise IllegalParameter("client Certificate does not echo a request's context")
        for entry in certificate.certificate_list:
            if entry.extensions:  # we requested none (§4.4.2, §4.2)
                raise UnsupportedExtension("client Certificate entry carries extensions")
        then = replace(self, pending=tuple(p for p in self.pending if p is not request))
        transcript = self.handshake_transcript.copy()
        transcript.update(request.raw)
        if not certificate.certificate_list:
            if self.config.client_auth == "required":
                # RFC 8446 §4.4.2.4: the server MAY abort with certificate_required.
                raise CertificateRequired("the client sent no certificate, and one is required")
            transcript.update(certificate.raw)
            return ExpectPostHandshakeFinished(then, context, (), transcript.digest())
        chain = parse_certificate_chain([e.cert_data for e in certificate.certificate_list])
        now = datetime.fromtimestamp(self.config.clock(), tz=UTC)
        path = self.config.client_certificate_verifier().verify_client(chain, now)
        transcript.update(certificate.raw)
        verified = verified_path(path)
        return ExpectPostHandshakeCertificateVerify(then, context, chain, transcript, verified)


@dataclass(frozen=True, slots=True)
class ExpectPostHandshakeCertificateVerify:
    """In an answer: waiting for the client's CertificateVerify (RFC 8446 §4.4.3)."""

    then: ServerPostHandshakeAuth
    """Where we return after the Finished: the requests still outstanding."""
    context: bytes
    chain: tuple[x509.Certificate, ...] = field(repr=False)
    transcript: TranscriptHash = field(repr=False)
    """This exchange's: handshake, CertificateRequest, Certificate."""
    verified_chain: tuple[x509.Certificate, ...] = field(default=(), repr=False)
    """The verifier's path for ``chain`` (empty if none), for the event."""

    def claims(self, msg: HandshakeMessage) -> bool:
        """Every message: the answer is consecutive (RFC 8446 §4.6.2)."""
        return True

    def handle(
        self, msg: HandshakeMessage, suite: CipherSuite, client_secret: bytes, out: Output
    ) -> ExpectPostHandshakeFinished:
        cv = expect(msg, CertificateVerify, self)
        # RFC 8446 §4.4.3: one of the schemes our CertificateRequest listed.
        offered = self.then.config.signature_schemes
        transcript = self.transcript
        check_certificate_verify(cv, self.chain, offered, transcript.digest(), by_server=False)
        transcript.update(cv.raw)
        return ExpectPostHandshakeFinished(
            self.then, self.context, self.chain, transcript.digest(), self.verified_chain
        )

    def request(self, out: Output) -> tuple[ExpectPostHandshakeCertificateVerify, bytes]:
        """A further request while this answer is under way."""
        then, context = self.then.request(out)
        return replace(self, then=then), context


@dataclass(frozen=True, slots=True)
class ExpectPostHandshakeFinished:
    """In an answer: waiting for the client's Finished (RFC 8446 §4.4.4)."""

    then: ServerPostHandshakeAuth
    context: bytes
    chain: tuple[x509.Certificate, ...] = field(repr=False)
    finished_context: bytes
    """Transcript-Hash(handshake, CertificateRequest, Certificate, [CertificateVerify])."""
    verified_chain: tuple[x509.Certificate, ...] = field(default=(), repr=False)

    def claims(self, msg: HandshakeMessage) -> bool:
        """Every message: the answer is consecutive (RFC 8446 §4.6.2)."""
        return True

    def handle(
        self, msg: HandshakeMessage, suite: CipherSuite, client_secret: bytes, out: Output
    ) -> ServerPostHandshakeAuth:
        finished = expect(msg, Finished, self)
        # RFC 8446 §4.4: BaseKey client_application_traffic_secret_N; decrypt_error on mismatch.
        key = finished_key(suite.hash_name, client_secret)
        check_finished(finished, suite, key, self.finished_context, "client")
        out.event(
            ClientCertificateReceived(
                certificates=self.chain,
                certificate_request_context=self.context,
                verified_chain=self.verified_chain,
            )
        )
        return self.then

    def request(self, out: Output) -> tuple[ExpectPostHandshakeFinished, bytes]:
        """A further request while this answer is under way."""
        then, context = self.then.request(out)
        return replace(self, then=then), context


__all__ = [
    "ExpectPostHandshakeCertificateVerify",
    "ExpectPostHandshakeFinished",
    "PendingRequest",
    "ServerPostHandshakeAuth",
]
