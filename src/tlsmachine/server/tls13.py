"""Server: the TLS 1.3 flight and the client's Finished (RFC 8446 §4.1.3-§4.4, Appendix A.2).

``send_server_flight`` writes ServerHello, (change_cipher_spec), EncryptedExtensions,
Certificate, CertificateVerify and Finished, installs the keys in the order of §7.3, and returns
:class:`ExpectFinished`, which verifies the client's Finished and ends in ``Traffic13``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from ..certs import CertifiedKey
from ..config import ServerConfig
from ..crypto.groups import Group
from ..crypto.signatures import certificate_verify_input, sign, spki_is_rsassa_pss
from ..crypto.suites import CipherSuite
from ..enums import ProtocolVersion, SignatureScheme, name_of
from ..events import HandshakeComplete
from ..extensions import (
    ApplicationLayerProtocolNegotiation,
    Extension,
    KeyShareEntry,
    KeyShareServerHello,
    RecordSizeLimit,
    ServerName,
    SupportedGroups,
    SupportedVersionsServerHello,
)
from ..keyschedule import EarlySecret, finished_verify_data
from ..machine import Output, check_finished, expect
from ..messages import HandshakeMessage, encode_handshake
from ..messages.hello import ClientHello, ServerHello
from ..messages.tls13 import (
    Certificate,
    CertificateEntry,
    CertificateVerify,
    EncryptedExtensions,
    Finished,
)
from ..traffic13 import Traffic13
from ..transcript import TranscriptHash


@dataclass(frozen=True, slots=True)
class Choice:
    """What the server chose from the first ClientHello (RFC 8446 §4.1.1)."""

    suite: CipherSuite
    group: Group
    certificate: CertifiedKey
    signature_scheme: int
    alpn_protocol: str | None
    server_name: str | None


@dataclass(frozen=True, slots=True)
class Offer:
    """The final ClientHello (already in the transcript) and its key share for our group."""

    config: ServerConfig
    client_hello: ClientHello
    client_share: KeyShareEntry
    transcript: TranscriptHash


def _encrypted_extensions(offer: Offer, choice: Choice) -> EncryptedExtensions:
    """EncryptedExtensions answering only what the client sent (RFC 8446 §4.3.1)."""
    config, hello = offer.config, offer.client_hello
    extensions: list[Extension] = []
    if config.send_supported_groups:
        extensions.append(SupportedGroups(groups=tuple(g.id for g in config.groups)))
    if hello.get(RecordSizeLimit) is not None:
        extensions.append(RecordSizeLimit(record_size_limit=config.record_size_limit))
    if choice.server_name is not None:
        extensions.append(ServerName(host_name=None))  # RFC 6066 §3: acknowledge SNI
    if choice.alpn_protocol is not None:
        protocol = choice.alpn_protocol.encode()
        extensions.append(ApplicationLayerProtocolNegotiation(protocol_name_list=(protocol,)))
    return EncryptedExtensions(extensions=tuple(extensions))


@functools.lru_cache(maxsize=64)
def _certificate_message(der_chain: tuple[bytes, ...]) -> tuple[Certificate, bytes]:
    """Our Certificate message and its encoding: the same for every handshake (§4.4.2)."""
    entries = tuple(CertificateEntry(cert_data=der, extensions=()) for der in der_chain)
    message = Certificate(certificate_request_context=b"", certificate_list=entries)
    return message, encode_handshake(message)


def send_server_flight(
    offer: Offer, choice: Choice, *, hello_retry: bool, ccs_sent: bool, out: Output
) -> ExpectFinished:
    """ServerHello through server Finished (RFC 8446 §2 figure 1)."""
    config, hello, transcript = offer.config, offer.client_hello, offer.transcript
    suite, group = choice.suite, choice.group
    certificate, signature_scheme = choice.certificate, choice.signature_scheme
    private = config.key_share_factory(group)
    server_share, shared = group.respond(offer.client_share.key_exchange, private)
    server_hello = ServerHello(
        legacy_version=ProtocolVersion.TLS12,
        random=config.random(32),
        legacy_session_id_echo=hello.legacy_session_id,
        cipher_suite=suite.id,
        legacy_compression_method=0,
        extensions=(
            KeyShareServerHello(
                server_share=KeyShareEntry(group=group.id, key_exchange=server_share)
            ),
            SupportedVersionsServerHello(selected_version=ProtocolVersion.TLS13),
        ),
    )
    transcript.select_hash(suite.hash_name)
    transcript.update(out.send(server_hello))
    if hello.legacy_session_id and not ccs_sent:
        out.change_cipher_spec()  # RFC 8446 D.4: right after the first handshake message
    secrets = EarlySecret.from_psk(suite.hash_name, None).handshake(shared)
    th = transcript.digest()
    client_hs = secrets.client_handshake_traffic_secret(th)
    server_hs = secrets.server_handshake_traffic_secret(th)
    client_random = hello.random
    out.log_secret("CLIENT_HANDSHAKE_TRAFFIC_SECRET", client_random, client_hs)
    out.log_secret("SERVER_HANDSHAKE_TRAFFIC_SECRET", client_random, server_hs)
    out.write_keys(suite, server_hs, "handshake")
    out.read_keys(suite, client_hs, "handshake")
    client_limit = hello.get(RecordSizeLimit)
    if client_limit is not None:
        # RFC 8449 §4: the limits apply to protected records, i.e. from here on.
        out.record_size_limits(
            send=client_limit.record_size_limit, receive=config.record_size_limit
        )

    transcript.update(out.send(_encrypted_extensions(offer, choice)))
    certificate_msg, certificate_raw = _certificate_message(certificate.der_chain)
    transcript.update(out.send(certificate_msg, certificate_raw))
    content = certificate_verify_input(transcript.digest(), server=True)
    if config.signer is not None:
        signature = config.signer(signature_scheme, certificate.private_key, content)
    else:
        pss = spki_is_rsassa_pss(certificate.leaf)
        signature = sign(signature_scheme, certificate.private_key, content, rsassa_pss=pss)
    transcript.update(out.send(CertificateVerify(algorithm=signature_scheme, signature=signature)))
    verify_data = finished_verify_data(suite.hash_name, server_hs, transcript.digest())
    transcript.update(out.send(Finished(verify_data=verify_data)))

    master = secrets.master()
    th = transcript.digest()
    client_app = master.client_application_traffic_secret_0(th)
    server_app = master.server_application_traffic_secret_0(th)
    exporter = master.exporter_master_secret(th)
    out.log_secret("SERVER_TRAFFIC_SECRET_0", client_random, server_app)
    out.log_secret("CLIENT_TRAFFIC_SECRET_0", client_random, client_app)
    out.log_secret("EXPORTER_SECRET", client_random, exporter)
    out.write_keys(suite, server_app, "application")
    summary = HandshakeComplete(
        version="TLSv1.3",
        cipher_suite=suite.name,
        group=group.name,
        signature_scheme=name_of(SignatureScheme, signature_scheme).lower(),
        alpn_protocol=choice.alpn_protocol,
        server_name=choice.server_name,
        hello_retry=hello_retry,
    )
    return ExpectFinished(
        offer, choice, client_hs, client_app, server_app, exporter, master, summary
    )


@dataclass(frozen=True, slots=True)
class ExpectFinished:
    """Server flight sent; waiting for the client's Finished (RFC 8446 §4.4.4)."""

    offer: Offer
    choice: Choice
    client_handshake_secret: bytes = field(repr=False)
    client_application_secret: bytes = field(repr=False)
    server_application_secret: bytes = field(repr=False)
    exporter_secret: bytes = field(repr=False)
    master: object = field(repr=False)
    summary: HandshakeComplete

    def handle(self, msg: HandshakeMessage, out: Output) -> Traffic13:
        finished = expect(msg, Finished, self)
        suite, transcript = self.choice.suite, self.offer.transcript
        check_finished(finished, suite, self.client_handshake_secret, transcript.digest(), "client")
        transcript.update(finished.raw)
        resumption = self.master.resumption_master_secret(transcript.digest())  # type: ignore[attr-defined]
        out.read_keys(suite, self.client_application_secret, "application")
        out.event(self.summary)
        return Traffic13(
            suite=suite,
            is_client=False,
            read_secret=self.client_application_secret,
            write_secret=self.server_application_secret,
            exporter_secret=self.exporter_secret,
            resumption_secret=resumption,
        )
