"""Client: the TLS 1.2 handshake after a TLS 1.2 ServerHello (RFC 5246 §7.3, §7.4).

Full handshake (RFC 5246 §7.3, Figure 1)::

    ServerHello -> ExpectServerCertificate -> ExpectServerKeyExchange
        -> ExpectCertificateRequestOrServerHelloDone [-> ExpectServerHelloDone]
        -> (Certificate, ClientKeyExchange, CertificateVerify, ChangeCipherSpec, Finished sent)
        -> [ExpectNewSessionTicket] -> ExpectChangeCipherSpec -> ExpectServerFinished -> Traffic12

Abbreviated handshake (§7.3, Figure 2: the server echoed our session ID)::

    ServerHello -> [ExpectNewSessionTicket] -> ExpectChangeCipherSpec -> ExpectServerFinished
        -> (ChangeCipherSpec, Finished sent) -> Traffic12

ChangeCipherSpec is a record of its own content type, not a handshake message; the connection
hands it to the state as the :data:`~tlsmachine.messages.tls12.CHANGE_CIPHER_SPEC`
pseudo-message, so a Finished before it, or it anywhere else, is ``unexpected_message``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from ..config import ClientConfig
from ..crypto.groups import LEGACY_DHE_GROUPS, FFDHEGroup, Group, ecdhe12_group
from ..crypto.signatures import select_scheme, sign, spki_is_rsassa_pss, verify
from ..crypto.suites import CipherSuite12, suite12_by_id
from ..enums import ExtensionType, ProtocolVersion
from ..errors import (
    DecodeError,
    HandshakeFailure,
    IllegalParameter,
    InsufficientSecurity,
    ProtocolVersionError,
    UnsupportedCertificate,
    UnsupportedExtension,
)
from ..events import SessionTicketReceived
from ..extensions import (
    ApplicationLayerProtocolNegotiation,
    CertificateAuthorities,
    EcPointFormats,
    ExtendedMasterSecret,
    RecordSizeLimit,
    RenegotiationInfo,
    SessionTicket,
    UnknownExtension,
)
from ..handshake12 import (
    Protectors12,
    Transcript12,
    check_finished,
    derive_master_secret,
    dh_premaster,
    finished,
    handshake_complete,
    install_keys,
    log_master_secret,
    protectors,
    server_key_exchange_input,
)
from ..machine import Output, expect, scheme_name
from ..messages import HandshakeMessage
from ..messages.hello import DOWNGRADE_TLS11, DOWNGRADE_TLS12, ClientHello, ServerHello
from ..messages.tls12 import (
    CERTIFICATE_TYPE_ECDSA_SIGN,
    CERTIFICATE_TYPE_RSA_SIGN,
    Certificate12,
    CertificateRequest12,
    ChangeCipherSpec,
    ClientKeyExchange,
    NewSessionTicket12,
    ServerHelloDone,
    ServerKeyExchange,
)
from ..messages.tls13 import CertificateVerify, Finished
from ..session import ClientSession
from ..traffic12 import Traffic12
from ..verify import parse_certificate_chain, public_key_of
from .certificate import by_authorities

if TYPE_CHECKING:
    from ..certs import CertifiedKey
    from ..transcript import TranscriptHash

#: RFC 5077 §3.3: a lifetime hint of 0 means "not specified"; we then keep a session this long.
DEFAULT_SESSION_LIFETIME = 7200

# What a TLS 1.2 ServerHello may answer (RFC 5246 §7.4.1.4: only extensions we offered).
_SERVER_HELLO_EXTENSIONS = frozenset(
    {
        ExtensionType.SERVER_NAME,
        ExtensionType.EC_POINT_FORMATS,
        ExtensionType.EXTENDED_MASTER_SECRET,
        ExtensionType.SESSION_TICKET,
        ExtensionType.RENEGOTIATION_INFO,
        ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION,
        ExtensionType.RECORD_SIZE_LIMIT,
    }
)


@dataclass(frozen=True, slots=True)
class Client12:
    """What the client knows after the TLS 1.2 ServerHello."""

    config: ClientConfig
    server_name: str | None
    client_hello: ClientHello
    server_hello: ServerHello
    suite: CipherSuite12
    transcript: Transcript12
    extended_master_secret: bool
    alpn_protocol: str | None
    ticket_expected: bool
    """The ServerHello carried session_ticket: a NewSessionTicket precedes the server's
    ChangeCipherSpec (RFC 5077 §3.3)."""
    resumed_session: ClientSession | None = None

    @property
    def client_random(self) -> bytes:
        return self.client_hello.random

    @property
    def server_random(self) -> bytes:
        return self.server_hello.random


@dataclass(frozen=True, slots=True)
class KeysAgreed:
    """The master secret and protectors, and what the summary reports."""

    master_secret: bytes
    keys: Protectors12
    group_name: str | None = None
    signature_scheme: int | None = None
    chain: tuple[x509.Certificate, ...] = ()


def server_hello12(
    config: ClientConfig,
    server_name: str | None,
    client_hello: ClientHello,
    transcript: TranscriptHash,
    session: ClientSession | None,
    hello: ServerHello,
    out: Output,
) -> ExpectServerCertificate | ExpectNewSessionTicket | ExpectChangeCipherSpec:
    """Check a TLS 1.2 ServerHello (RFC 5246 §7.4.1.3) and choose the full or abbreviated
    handshake. ``transcript`` holds our ClientHello; ``session`` is what we offered to resume."""
    suite = _check_server_hello12(config, client_hello, hello)
    ems = hello.get(ExtendedMasterSecret) is not None
    if not ems and config.require_extended_master_secret:
        raise HandshakeFailure("server does not support extended_master_secret (RFC 7627 §5.4)")
    alpn = _alpn(config, hello)
    limit = hello.get(RecordSizeLimit)
    if limit is not None:
        ours = config.record_size_limit or limit.record_size_limit
        out.record_size_limits(send=limit.record_size_limit, receive=ours)
    out.version(ProtocolVersion.TLS12)
    transcript.select_hash(suite.hash_name)
    transcript.update(hello.raw)
    keep = bool(config.certificates)  # a CertificateVerify of ours may follow
    t12 = Transcript12(transcript, [client_hello.raw, hello.raw] if keep else None)
    echoed = hello.legacy_session_id_echo
    resumed = bool(echoed) and echoed == client_hello.legacy_session_id
    if resumed and session is None:
        raise IllegalParameter("server resumed a session we did not offer (RFC 5246 §7.4.1.3)")
    hs = Client12(
        config=config,
        server_name=server_name,
        client_hello=client_hello,
        server_hello=hello,
        suite=suite,
        transcript=t12,
        extended_master_secret=ems,
        alpn_protocol=alpn,
        ticket_expected=hello.get(SessionTicket) is not None,
        resumed_session=session if resumed else None,
    )
    if not resumed:
        return ExpectServerCertificate(hs)
    return _resume(hs, out)


def _check_server_hello12(
    config: ClientConfig, client_hello: ClientHello, hello: ServerHello
) -> CipherSuite12:
    """A TLS 1.2 ServerHello's version (no TLS 1.3 downgrade sentinel, RFC 8446 §4.1.3), cipher
    suite, compression method (RFC 5246 §7.4.1.3) and extensions; returns the suite."""
    if config.max_version >= ProtocolVersion.TLS13 and hello.random[-8:] in (
        DOWNGRADE_TLS12,
        DOWNGRADE_TLS11,
    ):
        # RFC 8446 §4.1.3: a TLS 1.3 server answered with an older version: an attacker
        # removed TLS 1.3 from our hello. MUST abort with illegal_parameter.
        raise IllegalParameter("ServerHello carries the TLS 1.3 downgrade sentinel (§4.1.3)")
    if hello.legacy_version != ProtocolVersion.TLS12 or config.min_version > ProtocolVersion.TLS12:
        raise ProtocolVersionError(
            f"server chose version 0x{hello.legacy_version:04x}; we accept "
            f"{config.min_version.name}..{config.max_version.name}"
        )
    suite = suite12_by_id(hello.cipher_suite)
    if suite is None or suite not in config.tls12_cipher_suites:
        raise IllegalParameter(f"server chose cipher suite 0x{hello.cipher_suite:04x}, not offered")
    if hello.legacy_compression_method != 0:
        raise IllegalParameter("ServerHello compression method must be null (RFC 5246 §7.4.1.3)")
    _check_server_extensions(client_hello, hello)
    return suite


def _check_server_extensions(client_hello: ClientHello, hello: ServerHello) -> None:
    """A TLS 1.2 ServerHello's extensions: ones we offered (RFC 5246 §7.4.1.4), an empty
    renegotiation_info (RFC 5746 §3.4), uncompressed points among the formats (RFC 8422)."""
    offered = {e.ext_type for e in client_hello.extensions}
    for ext in hello.extensions:
        if (
            isinstance(ext, UnknownExtension)
            or ext.ext_type not in _SERVER_HELLO_EXTENSIONS
            or ext.ext_type not in offered
        ):
            # RFC 5246 §7.4.1.4: only extensions the client offered -> unsupported_extension.
            raise UnsupportedExtension(
                f"TLS 1.2 ServerHello carries extension {ext.ext_type}, not offered"
            )
    renegotiation = hello.get(RenegotiationInfo)
    if renegotiation is not None and renegotiation.renegotiated_connection:
        # RFC 5746 §3.4: on an initial handshake it MUST be empty, else handshake_failure.
        raise HandshakeFailure("ServerHello renegotiation_info is not empty (RFC 5746 §3.4)")
    points = hello.get(EcPointFormats)
    if points is not None and 0 not in points.formats:
        raise IllegalParameter("server does not support uncompressed points (RFC 8422 §5.2)")


def _alpn(config: ClientConfig, hello: ServerHello) -> str | None:
    ext = hello.get(ApplicationLayerProtocolNegotiation)
    if ext is None:
        return None
    chosen = ext.protocol_name_list[0]
    if chosen not in [p.encode() for p in config.alpn_protocols]:
        # RFC 7301 §3.2: the server's choice must be one the client offered.
        raise IllegalParameter(f"server chose ALPN {chosen!r}, which was not offered")
    return chosen.decode("ascii", "replace")


def _resume(hs: Client12, out: Output) -> ExpectNewSessionTicket | ExpectChangeCipherSpec:
    """The server accepted our session (RFC 5246 §7.3 Figure 2, RFC 5077 §3.1)."""
    session = hs.resumed_session
    if session is None:  # server_hello12 resumes only an offered session
        raise ValueError("no session to resume")
    if hs.suite.id != session.cipher_suite:
        raise IllegalParameter("resumed session with a different cipher suite (§7.4.1.3)")
    if session.extended_master_secret and not hs.extended_master_secret:
        # RFC 7627 §5.3: the original session used it, the resumed one MUST too.
        raise HandshakeFailure("resumed session without extended_master_secret (RFC 7627 §5.3)")
    hs.transcript.forget_messages()  # no CertificateVerify in an abbreviated handshake
    master = session.psk
    keys = protectors(hs.suite, master, hs.client_random, hs.server_random)
    log_master_secret(out, hs.client_random, master)
    # no Certificate message: the session's server chain stands in for it (§7.3)
    chain = parse_certificate_chain(session.server_certificates)
    agreed = KeysAgreed(master, keys, chain=chain)
    if hs.ticket_expected:
        return ExpectNewSessionTicket(hs, agreed)
    return ExpectChangeCipherSpec(hs, agreed, None)


def _check_server_key(suite: CipherSuite12, leaf: x509.Certificate) -> None:
    """The certificate's key must fit the suite's authentication (RFC 5246 §7.4.2,
    RFC 8422 §5.3: ECDSA suites take ECDSA or EdDSA keys), else unsupported_certificate."""
    key = public_key_of(leaf, "server")
    if suite.authentication == "RSA":
        fits = isinstance(key, rsa.RSAPublicKey)
    else:
        fits = isinstance(
            key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
        )
    if not fits:
        raise UnsupportedCertificate(
            f"server certificate key {type(key).__name__} does not fit {suite.name}"
        )


@dataclass(frozen=True, slots=True)
class ExpectServerCertificate:
    """Waiting for the server's Certificate (RFC 5246 §7.4.2)."""

    hs: Client12

    def handle(self, msg: HandshakeMessage, out: Output) -> ExpectServerKeyExchange:
        certificate = expect(msg, Certificate12, self)
        hs = self.hs
        if not certificate.certificate_list:
            raise DecodeError("server sent an empty Certificate message (RFC 5246 §7.4.2)")
        chain = parse_certificate_chain(certificate.certificate_list)
        _check_server_key(hs.suite, chain[0])
        config = hs.config
        if config.verify_certificates:
            now = datetime.fromtimestamp(config.clock(), tz=UTC)
            config.certificate_verifier().verify_server(chain, hs.server_name, now)
        hs.transcript.update(certificate.raw)
        return ExpectServerKeyExchange(hs, chain)


def _server_group(
    config: ClientConfig, suite: CipherSuite12, ske: ServerKeyExchange
) -> tuple[Group, bytes, bytes, int, bytes]:
    """The group, the server's public value, the signed params, the signature scheme and the
    signature of a ServerKeyExchange (RFC 8422 §5.4, RFC 5246 §7.4.3, RFC 7919 §4)."""
    if suite.key_exchange == "ECDHE":
        params = ske.ecdhe()
        group = next((g for g in config.groups if g.id == params.named_curve), None)
        # RFC 8422 §5.1.1 curves only: an FFDHE code point, or a KEM group (TLS 1.3 only,
        # draft-ietf-tls-ecdhe-mlkem), offered in supported_groups is no TLS 1.2 ECDHE curve.
        if group is None or not ecdhe12_group(group):
            raise IllegalParameter(
                f"server chose curve 0x{params.named_curve:04x}, which we did not offer"
            )
        return group, params.public, params.params, params.algorithm, params.signature
    dhe = ske.dhe()
    p, g = int.from_bytes(dhe.p, "big"), int.from_bytes(dhe.g, "big")
    known = (*(x for x in config.groups if isinstance(x, FFDHEGroup)), *LEGACY_DHE_GROUPS)
    ffdhe = next((x for x in known if x.p == p), None)
    if ffdhe is None or g != 2:
        # RFC 7919 §4 lets the client judge the group: we take the RFC 7919 groups we offered
        # and the RFC 3526 safe primes of 2048 bits and more; custom (possibly weak or
        # backdoored) parameters are refused.
        raise InsufficientSecurity(
            f"server DHE parameters ({len(dhe.p) * 8}-bit prime, g={g}) are not a known group"
        )
    if len(dhe.ys) > ffdhe.prime_len:
        raise IllegalParameter("server dh_Ys is longer than the prime")
    if not 1 < int.from_bytes(dhe.ys, "big") < ffdhe.p - 1:
        # RFC 7919 §3: the client MUST check 1 < dh_Ys < dh_p - 1, else handshake_failure
        raise HandshakeFailure("server dh_Ys is not in 2..p-2 (RFC 7919 §3)")
    public = dhe.ys.rjust(ffdhe.prime_len, b"\x00")
    return ffdhe, public, dhe.params, dhe.algorithm, dhe.signature


@dataclass(frozen=True, slots=True)
class ExpectServerKeyExchange:
    """Waiting for ServerKeyExchange (RFC 5246 §7.4.3, RFC 8422 §5.4)."""

    hs: Client12
    chain: tuple[x509.Certificate, ...]

    def handle(
        self, msg: HandshakeMessage, out: Output
    ) -> ExpectCertificateRequestOrServerHelloDone:
        ske = expect(msg, ServerKeyExchange, self)
        hs = self.hs
        config = hs.config
        group, peer_public, params, scheme, signature = _server_group(config, hs.suite, ske)
        if scheme not in config.signature_schemes:
            # RFC 5246 §7.4.1.4.1: the server signs with a scheme we offered.
            raise IllegalParameter(
                f"ServerKeyExchange signed with {scheme_name(scheme)}, which we did not offer"
            )
        leaf = self.chain[0]
        content = server_key_exchange_input(hs.client_random, hs.server_random, params)
        verify(
            scheme,
            public_key_of(leaf, "server"),
            signature,
            content,
            tls13=False,
            rsassa_pss=spki_is_rsassa_pss(leaf),
        )
        share = config.key_share_factory(group)
        shared = share.exchange(peer_public)
        premaster = dh_premaster(shared) if isinstance(group, FFDHEGroup) else shared
        hs.transcript.update(ske.raw)
        dhe = isinstance(group, FFDHEGroup)
        exchange = KeyExchange12(group.name, share.public_bytes, premaster, scheme, dhe)
        return ExpectCertificateRequestOrServerHelloDone(hs, self.chain, exchange)


@dataclass(frozen=True, slots=True)
class KeyExchange12:
    """Our side of the (EC)DHE exchange, computed when the ServerKeyExchange arrived."""

    group_name: str
    public: bytes
    premaster: bytes
    signature_scheme: int
    dhe: bool


@dataclass(frozen=True, slots=True)
class ExpectCertificateRequestOrServerHelloDone:
    """Waiting for CertificateRequest or ServerHelloDone (RFC 5246 §7.4.4, §7.4.5)."""

    hs: Client12
    chain: tuple[x509.Certificate, ...]
    exchange: KeyExchange12

    def handle(
        self, msg: HandshakeMessage, out: Output
    ) -> ExpectServerHelloDone | ExpectNewSessionTicket | ExpectChangeCipherSpec:
        if isinstance(msg, CertificateRequest12):
            self.hs.transcript.update(msg.raw)
            return ExpectServerHelloDone(self.hs, self.chain, self.exchange, msg)
        done = expect(msg, ServerHelloDone, self)
        return _client_flight(self.hs, self.chain, self.exchange, None, done, out)


@dataclass(frozen=True, slots=True)
class ExpectServerHelloDone:
    """CertificateRequest received; waiting for ServerHelloDone (RFC 5246 §7.4.5)."""

    hs: Client12
    chain: tuple[x509.Certificate, ...]
    exchange: KeyExchange12
    request: CertificateRequest12

    def handle(
        self, msg: HandshakeMessage, out: Output
    ) -> ExpectNewSessionTicket | ExpectChangeCipherSpec:
        done = expect(msg, ServerHelloDone, self)
        return _client_flight(self.hs, self.chain, self.exchange, self.request, done, out)


def _client_certificate(
    config: ClientConfig, request: CertificateRequest12
) -> tuple[CertifiedKey, int] | None:
    """A chain of ours whose key type the server accepts and that can sign with one of its
    schemes (RFC 5246 §7.4.4, §7.4.6), or ``None`` (we then send an empty Certificate)."""
    schemes = [s for s in request.supported_signature_algorithms if s in config.signature_schemes]
    names = CertificateAuthorities(authorities=request.certificate_authorities)
    for certified in by_authorities(config.certificates, names):
        key = certified.private_key
        wanted = (
            CERTIFICATE_TYPE_RSA_SIGN
            if isinstance(key, rsa.RSAPrivateKey)
            else CERTIFICATE_TYPE_ECDSA_SIGN
        )
        if wanted not in request.certificate_types:
            continue
        pss = spki_is_rsassa_pss(certified.leaf)
        scheme = select_scheme(key, schemes, tls13=False, rsassa_pss=pss)
        if scheme is not None:
            return certified, scheme
    return None


def _client_flight(
    hs: Client12,
    chain: tuple[x509.Certificate, ...],
    exchange: KeyExchange12,
    request: CertificateRequest12 | None,
    done: ServerHelloDone,
    out: Output,
) -> ExpectNewSessionTicket | ExpectChangeCipherSpec:
    """Our second flight (RFC 5246 §7.3): [Certificate], ClientKeyExchange,
    [CertificateVerify], ChangeCipherSpec, Finished."""
    transcript, config, suite = hs.transcript, hs.config, hs.suite
    transcript.update(done.raw)
    answer = _client_certificate(config, request) if request is not None else None
    if request is not None:
        chain_der = answer[0].der_chain if answer is not None else ()
        transcript.update(out.send(Certificate12(certificate_list=tuple(chain_der))))
    cke = (
        ClientKeyExchange.for_dhe(exchange.public)
        if exchange.dhe
        else ClientKeyExchange.for_ecdhe(exchange.public)
    )
    transcript.update(out.send(cke))
    session_hash = transcript.digest() if hs.extended_master_secret else None
    master = derive_master_secret(
        suite, exchange.premaster, hs.client_random, hs.server_random, session_hash
    )
    if answer is not None:
        certified, scheme = answer
        content = transcript.signed_content()  # RFC 5246 §7.4.8: all messages so far
        if config.signer is not None:
            signature = config.signer(scheme, certified.private_key, content)
        else:
            pss = spki_is_rsassa_pss(certified.leaf)
            signature = sign(scheme, certified.private_key, content, tls13=False, rsassa_pss=pss)
        transcript.update(out.send(CertificateVerify(algorithm=scheme, signature=signature)))
    transcript.forget_messages()
    log_master_secret(out, hs.client_random, master)
    keys = protectors(suite, master, hs.client_random, hs.server_random)
    out.change_cipher_spec()
    install_keys(out, keys, client=True, direction="write")
    verify_data = finished(suite, master, client=True, handshake_hash=transcript.digest())
    transcript.update(out.send(Finished(verify_data=verify_data)))
    agreed = KeysAgreed(master, keys, exchange.group_name, exchange.signature_scheme, chain)
    if hs.ticket_expected:
        return ExpectNewSessionTicket(hs, agreed)
    return ExpectChangeCipherSpec(hs, agreed, None)


@dataclass(frozen=True, slots=True)
class ExpectNewSessionTicket:
    """The ServerHello promised a ticket: NewSessionTicket before the server's
    ChangeCipherSpec (RFC 5077 §3.3)."""

    hs: Client12
    agreed: KeysAgreed

    def handle(self, msg: HandshakeMessage, out: Output) -> ExpectChangeCipherSpec:
        ticket = expect(msg, NewSessionTicket12, self)
        self.hs.transcript.update(ticket.raw)
        return ExpectChangeCipherSpec(self.hs, self.agreed, ticket)


@dataclass(frozen=True, slots=True)
class ExpectChangeCipherSpec:
    """Waiting for the server's ChangeCipherSpec (RFC 5246 §7.1): its keys apply from the next
    record on, which must be its Finished."""

    hs: Client12
    agreed: KeysAgreed
    ticket: NewSessionTicket12 | None

    def handle(self, msg: HandshakeMessage | ChangeCipherSpec, out: Output) -> ExpectServerFinished:
        expect(msg, ChangeCipherSpec, self)
        install_keys(out, self.agreed.keys, client=True, direction="read")
        return ExpectServerFinished(self.hs, self.agreed, self.ticket)


@dataclass(frozen=True, slots=True)
class ExpectServerFinished:
    """Waiting for the server's Finished (RFC 5246 §7.4.9)."""

    hs: Client12
    agreed: KeysAgreed
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
                hs.server_name,
                agreed.chain,
                resumed=session is not None,
            )
        )
        self._remember_session(out)
        return Traffic12(
            suite=suite,
            is_client=True,
            master_secret=master,
            client_random=hs.client_random,
            server_random=hs.server_random,
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
            server_certificates=tuple(c.public_bytes(Encoding.DER) for c in self.agreed.chain),
        )
        if self.ticket is not None and previous is not None:
            session = replace(session, received_at=hs.config.clock())
        out.event(SessionTicketReceived(session=session))
