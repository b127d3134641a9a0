"""Client: the TLS 1.2 full handshake, the server's flight and our answer (RFC 5246 §7.3
Figure 1, §7.4.2-§7.4.9)::

    ExpectServerCertificate -> ExpectServerKeyExchange
        -> ExpectCertificateRequestOrServerHelloDone [-> ExpectServerHelloDone]
        -> (Certificate, ClientKeyExchange, CertificateVerify, ChangeCipherSpec, Finished sent)
        -> [ExpectNewSessionTicket] -> ExpectChangeCipherSpec (in tls12_finish)

The server's certificate and (EC)DHE parameters are checked here, and our (EC)DHE share and
client certificate chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from ..config import ClientConfig
from ..crypto.groups import LEGACY_DHE_GROUPS, FFDHEGroup, Group, ecdhe12_group
from ..crypto.signatures import select_scheme, sign, spki_is_rsassa_pss, verify
from ..crypto.suites import CipherSuite12
from ..enums import HandshakeType
from ..errors import (
    DecodeError,
    HandshakeFailure,
    IllegalParameter,
    InsufficientSecurity,
    UnsupportedCertificate,
)
from ..extensions import CertificateAuthorities
from ..fast_init import fast_init
from ..handshake12 import (
    Agreed12,
    derive_master_secret,
    dh_premaster,
    dh_public12,
    finished,
    install_keys,
    log_master_secret,
    protectors,
    server_key_exchange_input,
)
from ..machine import Output, expect, scheme_name
from ..messages import HandshakeMessage
from ..messages.tls12 import (
    CERTIFICATE_TYPE_ECDSA_SIGN,
    CERTIFICATE_TYPE_RSA_SIGN,
    Certificate12,
    CertificateRequest12,
    ClientKeyExchange,
    ServerHelloDone,
    ServerKeyExchange,
)
from ..messages.tls13 import CertificateVerify, Finished
from ..verify import parse_certificate_chain, public_key_of, verified_path
from .certificate import by_authorities
from .tls12_finish import ExpectChangeCipherSpec, ExpectNewSessionTicket

if TYPE_CHECKING:
    from ..certs import CertifiedKey
    from .tls12 import Client12


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


@fast_init
@dataclass(frozen=True, slots=True)
class ExpectServerCertificate:
    """Waiting for the server's Certificate (RFC 5246 §7.4.2)."""

    expects = frozenset({HandshakeType.CERTIFICATE})

    hs: Client12

    def handle(self, msg: HandshakeMessage, out: Output) -> ExpectServerKeyExchange:
        certificate = expect(msg, Certificate12, self)
        hs = self.hs
        if not certificate.certificate_list:
            raise DecodeError("server sent an empty Certificate message (RFC 5246 §7.4.2)")
        chain = parse_certificate_chain(certificate.certificate_list)
        _check_server_key(hs.suite, chain[0])
        config = hs.config
        path = None
        if config.verify_certificates:
            now = datetime.fromtimestamp(config.clock(), tz=UTC)
            path = config.certificate_verifier().verify_server(chain, hs.server_name, now)
        hs.transcript.update(certificate.raw)
        server = ServerChain12(chain, certificate.certificate_list, verified_path(path))
        return ExpectServerKeyExchange(hs, server)


@fast_init
@dataclass(frozen=True, slots=True)
class ServerChain12:
    """The server's Certificate (RFC 5246 §7.4.2) as the states after it need it."""

    certificates: tuple[x509.Certificate, ...]
    der: tuple[bytes, ...]
    """The certificates as received: what a session keeps, never encoded again."""
    verified: tuple[x509.Certificate, ...]
    """The verifier's path for ``certificates`` (empty if none), carried to the summary."""


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
    if not 1 < int.from_bytes(dhe.ys, "big") < ffdhe.p - 1:
        # RFC 7919 §3: the client MUST check 1 < dh_Ys < dh_p - 1, else handshake_failure
        # (also for a value longer than the prime)
        raise HandshakeFailure("server dh_Ys is not in 2..p-2 (RFC 7919 §3)")
    public = dhe.ys.lstrip(b"\x00").rjust(ffdhe.prime_len, b"\x00")  # below p: it fits
    return ffdhe, public, dhe.params, dhe.algorithm, dhe.signature


@fast_init
@dataclass(frozen=True, slots=True)
class ExpectServerKeyExchange:
    """Waiting for ServerKeyExchange (RFC 5246 §7.4.3, RFC 8422 §5.4)."""

    expects = frozenset({HandshakeType.SERVER_KEY_EXCHANGE})

    hs: Client12
    server: ServerChain12

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
        leaf = self.server.certificates[0]
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
        public = dh_public12(share.public_bytes) if dhe else share.public_bytes
        exchange = KeyExchange12(group.name, public, premaster, scheme, dhe)
        return ExpectCertificateRequestOrServerHelloDone(hs, self.server, exchange)


@fast_init
@dataclass(frozen=True, slots=True)
class KeyExchange12:
    """Our side of the (EC)DHE exchange, computed when the ServerKeyExchange arrived."""

    group_name: str
    public: bytes
    premaster: bytes
    signature_scheme: int
    dhe: bool


@fast_init
@dataclass(frozen=True, slots=True)
class ExpectCertificateRequestOrServerHelloDone:
    """Waiting for CertificateRequest or ServerHelloDone (RFC 5246 §7.4.4, §7.4.5)."""

    expects = frozenset({HandshakeType.CERTIFICATE_REQUEST, HandshakeType.SERVER_HELLO_DONE})

    hs: Client12
    server: ServerChain12
    exchange: KeyExchange12

    def handle(
        self, msg: HandshakeMessage, out: Output
    ) -> ExpectServerHelloDone | ExpectNewSessionTicket | ExpectChangeCipherSpec:
        if isinstance(msg, CertificateRequest12):
            self.hs.transcript.update(msg.raw)
            return ExpectServerHelloDone(self.hs, self.server, self.exchange, msg)
        done = expect(msg, ServerHelloDone, self)
        return _client_flight(self.hs, self.server, self.exchange, None, done, out)


@dataclass(frozen=True, slots=True)
class ExpectServerHelloDone:
    """CertificateRequest received; waiting for ServerHelloDone (RFC 5246 §7.4.5)."""

    expects = frozenset({HandshakeType.SERVER_HELLO_DONE})

    hs: Client12
    server: ServerChain12
    exchange: KeyExchange12
    request: CertificateRequest12

    def handle(
        self, msg: HandshakeMessage, out: Output
    ) -> ExpectNewSessionTicket | ExpectChangeCipherSpec:
        done = expect(msg, ServerHelloDone, self)
        return _client_flight(self.hs, self.server, self.exchange, self.request, done, out)


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
    server: ServerChain12,
    exchange: KeyExchange12,
    request: CertificateRequest12 | None,
    done: ServerHelloDone,
    out: Output,
) -> ExpectNewSessionTicket | ExpectChangeCipherSpec:
    """Our second flight (RFC 5246 §7.3): [Certificate], ClientKeyExchange,
    [CertificateVerify], ChangeCipherSpec, Finished. ``server``'s chain goes into the summary
    and the session."""
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
    agreed = Agreed12(
        master,
        keys,
        exchange.group_name,
        exchange.signature_scheme,
        server.certificates,
        server.verified,
        server.der,
    )
    if hs.ticket_expected:
        return ExpectNewSessionTicket(hs, agreed)
    return ExpectChangeCipherSpec(hs, agreed, None)
