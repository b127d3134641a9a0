"""Server: the TLS 1.3 flight (RFC 8446 §4.1.3-§4.4, Appendix A.2).

``send_server_flight`` writes ServerHello, (change_cipher_spec), EncryptedExtensions,
[CertificateRequest], Certificate, CertificateVerify and Finished, installs the keys in the order
of §7.3, and returns the state that waits for the client: :class:`ExpectFinished` (or, first,
``ExpectClientCertificate`` or :class:`ExpectEndOfEarlyData`), defined in
:mod:`tlsmachine.server.tls13_finish` and re-exported here. Also what the flight is made from:
:class:`Offer`, :class:`Choice`, and the per-config :class:`ServerTemplate` of :class:`Signer`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography import x509

from ..certs import CertifiedKey
from ..config import ServerConfig
from ..crypto.groups import Group
from ..crypto.signatures import certificate_verify_input, schemes_for_key, sign, spki_is_rsassa_pss
from ..crypto.suites import CipherSuite
from ..enums import ProtocolVersion
from ..events import HandshakeComplete
from ..extensions import (
    ApplicationLayerProtocolNegotiation,
    EarlyData,
    Extension,
    KeyShareEntry,
    KeyShareServerHello,
    PreSharedKeyServerHello,
    RecordSizeLimit,
    ServerName,
    SupportedGroups,
    SupportedVersionsServerHello,
)
from ..fast_init import fast_init
from ..keyschedule import EarlySecret, finished_mac
from ..machine import Output, derive_handshake_traffic, scheme_name
from ..messages import encode_handshake
from ..messages.hello import ClientHello, ServerHello, encode_server_hello_tls13
from ..messages.tls13 import (
    Certificate,
    CertificateEntry,
    CertificateRequest,
    EncryptedExtensions,
    encode_certificate_verify,
    encode_finished,
)
from ..transcript import TranscriptHash
from ..verify import parse_certificate_chain

if TYPE_CHECKING:
    from .client_auth import ExpectClientCertificate
from .post_handshake_auth import certificate_request_extensions
from .psk import AcceptedPsk
from .tls13_finish import ExpectEndOfEarlyData as ExpectEndOfEarlyData
from .tls13_finish import ExpectFinished as ExpectFinished


@dataclass(frozen=True, slots=True)
class Signer:
    """One of our chains, what its key can sign with, and its Certificate message (§4.4.2)."""

    certified: CertifiedKey
    schemes: tuple[int, ...]  # TLS 1.3 schemes of the key that the config allows, our order
    rsassa_pss: bool  # the leaf's key is id-RSASSA-PSS (see crypto.signatures)
    certificate: Certificate  # the same Certificate message for every handshake
    certificate_raw: bytes


@dataclass(frozen=True, slots=True)
class ServerTemplate:
    """What depends only on the server config, worked out once per config.

    ``encrypted_extensions`` memoises the EncryptedExtensions encoding per answer (whether the
    client sent record_size_limit and server_name, the ALPN protocol, 0-RTT accepted): a handful
    of variants.
    """

    signers: tuple[Signer, ...]
    encrypted_extensions: dict[tuple[bool, bool, str | None, bool], bytes]

    @classmethod
    def of(cls, config: ServerConfig) -> ServerTemplate:
        cached: ServerTemplate | None = config.__dict__.get("_server_template")
        if cached is not None:
            return cached
        signers = []
        for certified in config.certificates:
            pss = spki_is_rsassa_pss(certified.leaf)
            schemes = tuple(
                s
                for s in schemes_for_key(certified.private_key, rsassa_pss=pss)
                if s in config.signature_schemes
            )
            entries = tuple(CertificateEntry(cert_data=der) for der in certified.der_chain)
            message = Certificate(certificate_request_context=b"", certificate_list=entries)
            signers.append(Signer(certified, schemes, pss, message, encode_handshake(message)))
        template = cls(tuple(signers), {})
        object.__setattr__(config, "_server_template", template)  # a cache on a frozen config
        return template


@fast_init
@dataclass(frozen=True, slots=True)
class Choice:
    """What the server chose from the first ClientHello (RFC 8446 §4.1.1)."""

    suite: CipherSuite
    group: Group | None
    """``None``: no (EC)DHE, the PSK is used in psk_ke mode (RFC 8446 §4.2.9)."""
    signer: Signer | None
    """``None``: no certificate fits; only a PSK handshake is possible."""
    signature_scheme: int | None
    alpn_protocol: str | None
    server_name: str | None
    psk: AcceptedPsk | None = None
    """A PSK the client's binder proved (RFC 8446 §4.2.11): no certificate then."""
    early_data: bool = False
    """We accept the client's 0-RTT data (RFC 8446 §4.2.10, see ``psk.accept_early_data``)."""


@fast_init
@dataclass(frozen=True, slots=True)
class Offer:
    """The final ClientHello (already in the transcript) and its key share for our group
    (``None`` in psk_ke mode)."""

    config: ServerConfig
    client_hello: ClientHello
    client_share: KeyShareEntry | None
    transcript: TranscriptHash


def _encrypted_extensions(offer: Offer, choice: Choice) -> bytes:
    """EncryptedExtensions answering only what the client sent (RFC 8446 §4.3.1), encoded."""
    config, hello = offer.config, offer.client_hello
    answer_limit = hello.get(RecordSizeLimit) is not None
    answer_sni = choice.server_name is not None
    key = (answer_limit, answer_sni, choice.alpn_protocol, choice.early_data)
    cache = ServerTemplate.of(config).encrypted_extensions
    raw = cache.get(key)
    if raw is None:
        extensions: list[Extension] = []
        if config.send_supported_groups:
            extensions.append(SupportedGroups(groups=tuple(g.id for g in config.groups)))
        if answer_limit:
            extensions.append(RecordSizeLimit(record_size_limit=config.record_size_limit))
        if answer_sni:
            extensions.append(ServerName(host_name=None))  # RFC 6066 §3: acknowledge SNI
        if choice.alpn_protocol is not None:
            protocol = choice.alpn_protocol.encode()
            extensions.append(ApplicationLayerProtocolNegotiation(protocol_name_list=(protocol,)))
        if choice.early_data:
            extensions.append(EarlyData(max_early_data_size=None))  # §4.2.10: accepted
        raw = cache[key] = encode_handshake(EncryptedExtensions(extensions=tuple(extensions)))
    return raw


def _psk_server_hello(
    random: bytes,
    hello: ClientHello,
    suite: CipherSuite,
    psk: AcceptedPsk,
    share: KeyShareEntry | None,
) -> bytes:
    """ServerHello accepting a PSK, with (EC)DHE or, in psk_ke mode, without a key share
    (RFC 8446 §4.1.3, §4.2.8, §4.2.11)."""
    key_share: tuple[Extension, ...] = (
        (KeyShareServerHello(server_share=share),) if share is not None else ()
    )
    server_hello = ServerHello(
        legacy_version=ProtocolVersion.TLS12,
        random=random,
        legacy_session_id_echo=hello.legacy_session_id,
        cipher_suite=suite.id,
        legacy_compression_method=0,
        extensions=(  # in the order of RFC 8448 §4 (any order is legal, §4.2)
            PreSharedKeyServerHello(selected_identity=psk.selected_identity),
            *key_share,
            SupportedVersionsServerHello(selected_version=ProtocolVersion.TLS13),
        ),
    )
    return encode_handshake(server_hello)


def send_server_flight(
    offer: Offer, choice: Choice, *, hello_retry: bool, ccs_sent: bool, out: Output
) -> ExpectFinished | ExpectClientCertificate | ExpectEndOfEarlyData:
    """ServerHello through server Finished (RFC 8446 §2 figure 1).

    The messages are encoded straight to bytes (the connection decodes them again only to
    trace them); the transcript hash is taken once per point the key schedule needs it.
    """
    config, hello, transcript = offer.config, offer.client_hello, offer.transcript
    suite = choice.suite
    server_hello, shared = _server_hello(offer, choice)
    transcript.select_hash(suite.hash_name)
    client_random = hello.random
    psk = choice.psk
    early_secret = psk.early_secret if psk else EarlySecret.from_psk(suite.hash_name, None)
    if choice.early_data:
        _accept_early_data(offer, suite, early_secret, transcript.digest(), out)
    transcript.update(out.send_encoded(server_hello))
    if hello.legacy_session_id and not ccs_sent:
        out.change_cipher_spec()  # RFC 8446 D.4: right after the first handshake message
    secrets = early_secret.handshake(shared)
    th = transcript.digest()
    client, server = derive_handshake_traffic(out, suite, secrets, th, client_random)
    out.write_keys(suite, server.secret, "handshake", server.key_iv)
    if not choice.early_data:  # else after EndOfEarlyData (RFC 8446 §4.5)
        out.read_keys(suite, client.secret, "handshake", client.key_iv)
    _record_size_limits(offer, out)

    transcript.update(out.send_encoded(_encrypted_extensions(offer, choice)))
    # RFC 8446 §4.3.2: never in a PSK handshake (no certificates are exchanged there).
    request_certificate = config.client_auth != "none" and psk is None
    if request_certificate:
        extensions = certificate_request_extensions(config)
        transcript.update(out.send(CertificateRequest(b"", extensions)))
    scheme = _authenticate(offer, choice, out) if psk is None else None
    verify_data = finished_mac(suite.hash_name, server.finished_key, transcript.digest())
    transcript.update(out.send_encoded(encode_finished(verify_data)))

    master = secrets.master()
    th = transcript.digest()
    client_app = master.client_application_traffic_secret_0(th)
    server_app = master.server_application_traffic_secret_0(th)
    exporter = master.exporter_master_secret(th)
    out.log_secret("SERVER_TRAFFIC_SECRET_0", client_random, server_app)
    out.log_secret("CLIENT_TRAFFIC_SECRET_0", client_random, client_app)
    out.log_secret("EXPORTER_SECRET", client_random, exporter)
    out.write_keys(suite, server_app, "application")
    summary = _summary(choice, scheme, hello_retry)
    finish = ExpectFinished(
        offer, choice, th, client.finished_key, client_app, server_app, exporter, master, summary
    )
    if request_certificate:
        from .client_auth import ExpectClientCertificate  # it builds on ExpectFinished

        return ExpectClientCertificate(finish)
    if choice.early_data:
        return ExpectEndOfEarlyData(finish, client)
    return finish


def _record_size_limits(offer: Offer, out: Output) -> None:
    """The client's record_size_limit and ours, from the first protected record on (RFC 8449
    §4: the limits apply to protected records)."""
    client_limit = offer.client_hello.get(RecordSizeLimit)
    if client_limit is not None:
        out.record_size_limits(
            send=client_limit.record_size_limit, receive=offer.config.record_size_limit
        )


def _server_hello(offer: Offer, choice: Choice) -> tuple[bytes, bytes | None]:
    """The encoded ServerHello and the (EC)DHE or KEM shared secret (None: psk_ke, §7.1)."""
    config, hello, suite, group = offer.config, offer.client_hello, choice.suite, choice.group
    share: KeyShareEntry | None = None
    shared: bytes | None = None
    if group is not None and offer.client_share is not None:
        # (EC)DHE: our share from the (injectable) factory. A KEM group encapsulates to the
        # client's key in respond() and has no server key pair (draft-ietf-tls-ecdhe-mlkem §4.2).
        private = None if group.kem else config.key_share_factory(group)
        server_share, shared = group.respond(offer.client_share.key_exchange, private)
        share = KeyShareEntry(group=group.id, key_exchange=server_share)
    if choice.psk is not None:
        return _psk_server_hello(config.random(32), hello, suite, choice.psk, share), shared
    if share is None:  # choose13.choose() always has a group without a PSK
        raise ValueError("a full handshake needs a key share")
    server_hello = encode_server_hello_tls13(
        config.random(32), hello.legacy_session_id, suite.id, share.group, share.key_exchange
    )
    return server_hello, shared


def _authenticate(offer: Offer, choice: Choice, out: Output) -> int:
    """Certificate and CertificateVerify (RFC 8446 §4.4.2, §4.4.3); returns the scheme."""
    config, transcript, signer = offer.config, offer.transcript, choice.signer
    scheme = choice.signature_scheme
    if signer is None or scheme is None:  # choose13.choose() found a certificate without a PSK
        raise ValueError("a full handshake needs a certificate")
    transcript.update(out.send(signer.certificate, signer.certificate_raw))
    content = certificate_verify_input(transcript.digest(), server=True)
    private_key = signer.certified.private_key
    if config.signer is not None:
        signature = config.signer(scheme, private_key, content)
    else:
        signature = sign(scheme, private_key, content, rsassa_pss=signer.rsassa_pss)
    transcript.update(out.send_encoded(encode_certificate_verify(scheme, signature)))
    return scheme


def _summary(choice: Choice, scheme: int | None, hello_retry: bool) -> HandshakeComplete:
    """What the server reports once the client's Finished checks out."""
    psk = choice.psk
    return HandshakeComplete(
        version="TLSv1.3",
        cipher_suite=choice.suite.name,
        group=choice.group.name if choice.group is not None else None,
        signature_scheme=scheme_name(scheme) if scheme is not None else None,
        alpn_protocol=choice.alpn_protocol,
        server_name=choice.server_name,
        resumed=psk is not None and psk.ticket is not None,
        psk_identity=psk.external_identity if psk is not None else None,
        hello_retry=hello_retry,
        early_data_accepted=choice.early_data,
        # resumed: the identity the client proved in the full handshake (its ticket keeps it)
        peer_certificates=_ticket_client_chain(psk),
    )


def _ticket_client_chain(psk: AcceptedPsk | None) -> tuple[x509.Certificate, ...]:
    """The client certificate chain a resumed session carries (RFC 8446 §4.6.1), or ()."""
    if psk is None or psk.ticket is None or not psk.ticket.client_certificates:
        return ()
    return parse_certificate_chain(psk.ticket.client_certificates)


def _accept_early_data(
    offer: Offer, suite: CipherSuite, early_secret: EarlySecret, hello_hash: bytes, out: Output
) -> None:
    """Read the client's 0-RTT data under the early keys (RFC 8446 §4.2.10, §7.1)."""
    config, client_random = offer.config, offer.client_hello.random
    secret = early_secret.client_early_traffic_secret(hello_hash)
    exporter = early_secret.early_exporter_master_secret(hello_hash)
    out.log_secret("CLIENT_EARLY_TRAFFIC_SECRET", client_random, secret)
    out.log_secret("EARLY_EXPORTER_SECRET", client_random, exporter)
    out.early_exporter(early_secret.hash_name, exporter)
    out.read_keys(suite, secret, "early")
    out.early_data("accepting", config.max_early_data_size)
