"""Client: the TLS 1.3 handshake after ServerHello (RFC 8446 §4.3-§4.4, Appendix A.1).

ExpectEncryptedExtensions -> ExpectCertificateOrCertificateRequest
    -> [ExpectCertificate] -> ExpectCertificateVerify -> ExpectFinished -> Traffic13
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography import x509

from ..config import ClientConfig
from ..crypto.suites import CipherSuite
from ..enums import HandshakeType
from ..errors import (
    DecodeError,
    IllegalParameter,
    UnexpectedMessage,
    UnsupportedExtension,
)
from ..events import HandshakeComplete
from ..extensions import (
    ApplicationLayerProtocolNegotiation,
    EarlyData,
    RecordSizeLimit,
    SignatureAlgorithms,
)
from ..fast_init import fast_init
from ..keyschedule import HandshakeSecret, finished_mac
from ..machine import (
    Output,
    check_certificate_verify,
    check_finished,
    expect,
    scheme_name,
    unexpected,
)
from ..messages import HandshakeMessage
from ..messages.hello import ClientHello
from ..messages.tls13 import (
    Certificate,
    CertificateRequest,
    CertificateVerify,
    EncryptedExtensions,
    EndOfEarlyData,
    Finished,
    encode_finished,
)
from ..session import ClientSession
from ..traffic13 import SessionContext, Traffic13
from ..transcript import TranscriptHash
from ..verify import parse_certificate_chain, verified_path
from .certificate import answer_certificate_request
from .client_hello import check_extension_answer, sni_host_name
from .post_handshake_auth import ClientPostHandshakeAuth


@dataclass(frozen=True, slots=True)
class EarlyDataOffer:
    """0-RTT is offered: its session, and our handshake write keys, installed only once the
    server has answered (after EncryptedExtensions, or EndOfEarlyData; RFC 8446 §4.5)."""

    session: ClientSession
    handshake_write_secret: bytes = field(repr=False)
    handshake_write_keys: tuple[bytes, bytes] = field(repr=False)


@fast_init
@dataclass(frozen=True, slots=True)
class ClientHandshake:
    """What the client knows once the ServerHello fixed the keys (RFC 8446 §7.1)."""

    config: ClientConfig
    server_name: str | None
    client_hello: ClientHello
    suite: CipherSuite
    group_name: str | None  # None: psk_ke (RFC 8446 §4.2.9)
    transcript: TranscriptHash
    handshake_secret: HandshakeSecret
    client_finished_key: bytes  # from the handshake traffic secrets (RFC 8446 §4.4.4)
    server_finished_key: bytes
    hello_retry: bool
    ccs_sent: bool
    resumed: bool = False
    """The server accepted one of our PSKs (RFC 8446 §2.2): no Certificate or
    CertificateVerify."""
    psk_identity: bytes | None = None
    """The identity of the external PSK the server accepted (``None``: a ticket, or none)."""
    early_data: EarlyDataOffer | None = None
    """0-RTT offered and not yet answered (RFC 8446 §4.2.10)."""
    resumed_session: ClientSession | None = None
    """The stored session the server resumed: its server chain stands in for the Certificate
    message a PSK handshake does not have (RFC 8446 §2.2)."""

    def install_handshake_write_keys(self, out: Output) -> None:
        """Our handshake write keys, held back while 0-RTT was offered (RFC 8446 §4.5)."""
        early = self.early_data
        if early is not None:
            secret, keys = early.handshake_write_secret, early.handshake_write_keys
            out.write_keys(self.suite, secret, "handshake", keys)

    def offered(self, ext_type: int) -> bool:
        return any(e.ext_type == ext_type for e in self.client_hello.extensions)


@fast_init
@dataclass(frozen=True, slots=True)
class Negotiated:
    """Results of EncryptedExtensions."""

    alpn_protocol: str | None
    early_data_accepted: bool = False


@fast_init
@dataclass(frozen=True, slots=True)
class ExpectEncryptedExtensions:
    """Waiting for EncryptedExtensions (RFC 8446 §4.3.1)."""

    expects = frozenset({HandshakeType.ENCRYPTED_EXTENSIONS})

    hs: ClientHandshake

    def handle(
        self, msg: HandshakeMessage, out: Output
    ) -> ExpectCertificateOrCertificateRequest | ExpectFinished:
        ee = expect(msg, EncryptedExtensions, self)
        alpn: str | None = None
        for ext in ee.extensions:
            # the extension types EncryptedExtensions may carry are decoded; the others we
            # offered stay UnknownExtension (a TLS 1.3 type in the wrong message fails earlier)
            check_extension_answer(
                "EncryptedExtensions", ext, self.hs.offered(ext.ext_type), allowed=True
            )
            if isinstance(ext, ApplicationLayerProtocolNegotiation):
                chosen = ext.protocol_name_list[0]
                offered = [p.encode() for p in self.hs.config.alpn_protocols]
                if chosen not in offered:
                    # RFC 7301 §3.2: the server's choice must be one the client offered.
                    raise IllegalParameter(f"server chose ALPN {chosen!r}, which was not offered")
                alpn = chosen.decode("ascii", "replace")
            elif isinstance(ext, RecordSizeLimit):
                # RFC 8449 §4: both limits apply once both sides sent the extension.
                ours = self.hs.config.record_size_limit or ext.record_size_limit
                out.record_size_limits(send=ext.record_size_limit, receive=ours)
        accepted = _early_data_answer(self.hs, ee.get(EarlyData) is not None, alpn, out)
        self.hs.transcript.update(ee.raw)
        negotiated = Negotiated(alpn, accepted)
        if self.hs.resumed:
            # RFC 8446 §2.2, §4.3.2: a PSK handshake has no certificates (nor a request for one).
            return ExpectFinished(self.hs, negotiated, None, (), None)
        return ExpectCertificateOrCertificateRequest(self.hs, negotiated)


def _early_data_answer(hs: ClientHandshake, accepted: bool, alpn: str | None, out: Output) -> bool:
    """The server's answer to our 0-RTT offer, in EncryptedExtensions (RFC 8446 §4.2.10).

    Rejected: our early data is handed back to the application and we switch to the handshake
    keys at once. Accepted: it must be under our PSK (its first and only identity), with the
    ticket's suite and ALPN protocol (else illegal_parameter); EndOfEarlyData follows the
    server's Finished.
    """
    early = hs.early_data
    if early is None:
        return False  # an unrequested early_data was refused above as unsupported_extension
    if not accepted:
        hs.install_handshake_write_keys(out)
        out.early_data("rejected")
        return False
    if not hs.resumed:
        raise IllegalParameter("server accepted early data without accepting our PSK (§4.2.10)")
    if hs.resumed_session is not early.session:
        # RFC 8446 §4.2.11: with early_data the selected_identity MUST be 0 (the session the
        # early data was sent under), else illegal_parameter
        raise IllegalParameter("server accepted early data but selected another PSK (§4.2.11)")
    if hs.suite.id != early.session.cipher_suite:
        raise IllegalParameter("server accepted early data under another cipher suite (§4.2.10)")
    if alpn != early.session.alpn_protocol:
        raise IllegalParameter("server accepted early data with another ALPN protocol (§4.2.10)")
    return True


@fast_init
@dataclass(frozen=True, slots=True)
class ExpectCertificateOrCertificateRequest:
    """Waiting for the server's Certificate, or a CertificateRequest first (§4.3.2, §4.4.2)."""

    expects = frozenset({HandshakeType.CERTIFICATE, HandshakeType.CERTIFICATE_REQUEST})

    hs: ClientHandshake
    negotiated: Negotiated

    def handle(
        self, msg: HandshakeMessage, out: Output
    ) -> ExpectCertificate | ExpectCertificateVerify:
        if isinstance(msg, CertificateRequest):
            if msg.certificate_request_context:
                # RFC 8446 §4.3.2: empty unless this is post-handshake authentication.
                raise IllegalParameter("CertificateRequest context must be empty in the handshake")
            if msg.get(SignatureAlgorithms) is None:
                from ..errors import MissingExtension

                raise MissingExtension("CertificateRequest without signature_algorithms (§4.3.2)")
            self.hs.transcript.update(msg.raw)
            return ExpectCertificate(self.hs, self.negotiated, msg)
        if isinstance(msg, Certificate):
            return _server_certificate(self.hs, self.negotiated, None, msg)
        raise unexpected(msg, self)


@dataclass(frozen=True, slots=True)
class ExpectCertificate:
    """After a CertificateRequest: waiting for the server's Certificate (RFC 8446 §4.4.2)."""

    expects = frozenset({HandshakeType.CERTIFICATE})

    hs: ClientHandshake
    negotiated: Negotiated
    certificate_request: CertificateRequest

    def handle(self, msg: HandshakeMessage, out: Output) -> ExpectCertificateVerify:
        certificate = expect(msg, Certificate, self)
        return _server_certificate(self.hs, self.negotiated, self.certificate_request, certificate)


def _server_certificate(
    hs: ClientHandshake,
    negotiated: Negotiated,
    request: CertificateRequest | None,
    certificate: Certificate,
) -> ExpectCertificateVerify:
    """Check and verify the server's chain (RFC 8446 §4.4.2, §4.4.2.4)."""
    if certificate.certificate_request_context:
        raise IllegalParameter("server Certificate must have an empty request context")
    if not certificate.certificate_list:
        raise DecodeError("server sent an empty Certificate message (RFC 8446 §4.4.2.4)")
    for entry in certificate.certificate_list:
        for ext in entry.extensions:
            # RFC 8446 §4.4.2: entry extensions must answer ClientHello extensions (§4.2).
            if not hs.offered(ext.ext_type):
                raise UnsupportedExtension(
                    f"server Certificate entry carries extension {ext.ext_type}, not offered"
                )
    chain_der = tuple(e.cert_data for e in certificate.certificate_list)
    chain = parse_certificate_chain(chain_der)
    config = hs.config
    path = None
    if config.verify_certificates:
        now = datetime.fromtimestamp(config.clock(), tz=UTC)
        path = config.certificate_verifier().verify_server(chain, hs.server_name, now)
    hs.transcript.update(certificate.raw)
    return ExpectCertificateVerify(hs, negotiated, request, chain, verified_path(path), chain_der)


@fast_init
@dataclass(frozen=True, slots=True)
class ExpectCertificateVerify:
    """Waiting for the server's CertificateVerify (RFC 8446 §4.4.3)."""

    expects = frozenset({HandshakeType.CERTIFICATE_VERIFY})

    hs: ClientHandshake
    negotiated: Negotiated
    certificate_request: CertificateRequest | None
    chain: tuple[x509.Certificate, ...]
    verified_chain: tuple[x509.Certificate, ...]
    """The verifier's path for ``chain`` (empty if none): kept, never recomputed."""
    chain_der: tuple[bytes, ...]
    """``chain`` as it came (each ``cert_data``), for the session: not encoded again."""

    def handle(self, msg: HandshakeMessage, out: Output) -> ExpectFinished:
        cv = expect(msg, CertificateVerify, self)
        offered = self.hs.config.signature_schemes
        th = self.hs.transcript.digest()
        check_certificate_verify(cv, self.chain, offered, th, by_server=True)
        self.hs.transcript.update(cv.raw)
        return ExpectFinished(
            self.hs,
            self.negotiated,
            self.certificate_request,
            self.chain,
            cv.algorithm,
            self.verified_chain,
            self.chain_der,
        )


@fast_init
@dataclass(frozen=True, slots=True)
class ExpectFinished:
    """Waiting for the server's Finished (RFC 8446 §4.4.4); then the client's second flight."""

    expects = frozenset({HandshakeType.FINISHED})

    hs: ClientHandshake
    negotiated: Negotiated
    certificate_request: CertificateRequest | None
    chain: tuple[x509.Certificate, ...]
    signature_scheme: int | None
    verified_chain: tuple[x509.Certificate, ...] = ()
    chain_der: tuple[bytes, ...] = ()
    """The server's chain as received (full handshake); a resumption has none."""

    def handle(self, msg: HandshakeMessage, out: Output) -> Traffic13:
        finished = expect(msg, Finished, self)
        hs = self.hs
        suite, transcript = hs.suite, hs.transcript
        check_finished(finished, suite, hs.server_finished_key, transcript.digest(), "server")
        transcript.update(finished.raw)
        master = hs.handshake_secret.master()
        th = transcript.digest()
        client_app = master.client_application_traffic_secret_0(th)
        server_app = master.server_application_traffic_secret_0(th)
        exporter = master.exporter_master_secret(th)
        client_random = hs.client_hello.random
        out.log_secret("SERVER_TRAFFIC_SECRET_0", client_random, server_app)
        out.read_keys(suite, server_app, "application")
        if hs.client_hello.legacy_session_id and not hs.ccs_sent:
            out.change_cipher_spec()  # RFC 8446 D.4: before the second flight
        if self.negotiated.early_data_accepted:
            # RFC 8446 §4.5: EndOfEarlyData under the early keys ends 0-RTT.
            transcript.update(out.send(EndOfEarlyData()))
            hs.install_handshake_write_keys(out)
            out.early_data("accepted")
        finished_context = th  # Transcript-Hash(ClientHello .. server Finished)
        if self.certificate_request is not None:
            answer_certificate_request(hs.config, self.certificate_request, transcript, out)
        if self.certificate_request is not None or self.negotiated.early_data_accepted:
            finished_context = transcript.digest()
        verify_data = finished_mac(suite.hash_name, hs.client_finished_key, finished_context)
        transcript.update(out.send_encoded(encode_finished(verify_data)))
        out.log_secret("CLIENT_TRAFFIC_SECRET_0", client_random, client_app)
        out.log_secret("EXPORTER_SECRET", client_random, exporter)
        out.write_keys(suite, client_app, "application")
        resumption = master.resumption_master_secret(transcript.digest())
        summary = self._summary()
        out.event(summary)
        # the chain a resumed session kept from its full handshake, or the one just received
        # (as it came: encoding the parsed certificates again cost ~6 µs each)
        resumed = hs.resumed_session
        server_chain = resumed.server_certificates if resumed is not None else self.chain_der
        return Traffic13(
            suite=suite,
            is_client=True,
            read_secret=server_app,
            write_secret=client_app,
            exporter_secret=exporter,
            resumption_secret=resumption,
            session_context=SessionContext(
                server_name=hs.server_name,
                alpn_protocol=self.negotiated.alpn_protocol,
                clock=hs.config.clock,
                server_certificates=server_chain,
            ),
            # RFC 8446 §4.4: post-handshake exchanges start from this transcript.
            post_handshake_auth=ClientPostHandshakeAuth.after_handshake(hs.config, transcript),
        )

    def _summary(self) -> HandshakeComplete:
        """What the client reports; a resumed handshake has no Certificate message, so the
        chain is the one its session kept from the full handshake (RFC 8446 §2.2)."""
        hs, negotiated, scheme = self.hs, self.negotiated, self.signature_scheme
        chain = self.chain
        if hs.resumed_session is not None and hs.resumed_session.server_certificates:
            chain = parse_certificate_chain(hs.resumed_session.server_certificates)
        return HandshakeComplete(
            version="TLSv1.3",
            cipher_suite=hs.suite.name,
            group=hs.group_name,
            signature_scheme=scheme_name(scheme) if scheme is not None else None,
            alpn_protocol=negotiated.alpn_protocol,
            server_name=sni_host_name(hs.server_name),  # what went out: no IP
            peer_certificates=chain,
            verified_chain=self.verified_chain,  # () when resumed: no chain verified now
            resumed=hs.resumed and hs.psk_identity is None,
            psk_identity=hs.psk_identity,
            hello_retry=hs.hello_retry,
            early_data_accepted=negotiated.early_data_accepted,
        )


__all__ = [
    "ClientHandshake",
    "ExpectCertificate",
    "ExpectCertificateOrCertificateRequest",
    "ExpectCertificateVerify",
    "ExpectEncryptedExtensions",
    "ExpectFinished",
    "UnexpectedMessage",
]
