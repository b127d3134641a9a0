"""Server: the TLS 1.2 client's flight and storing the session (RFC 5246 §7.4.6-§7.4.9;
RFC 5077 §3.3, §4; RFC 7627 §5.2).

After WAIT's flight (:mod:`tlsmachine.server.tls12`)::

    [ExpectClientCertificate] -> ExpectClientKeyExchange -> [ExpectClientCertificateVerify]
        -> ExpectChangeCipherSpec -> ExpectClientFinished
        -> ([NewSessionTicket], ChangeCipherSpec, Finished sent) -> APP_DATA (Traffic12)

and after WAIT_RESUME's: ExpectChangeCipherSpec -> ExpectClientFinished -> APP_DATA. A full
handshake's session goes into the session cache or a sealed ticket; a failed abbreviated one
takes its session out of the cache (RFC 5246 §7.2.2).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ..crypto.groups import FFDHE_CODEPOINTS, FFDHEGroup, PrivateKeyShare
from ..crypto.signatures import spki_is_rsassa_pss, verify
from ..enums import HandshakeType
from ..errors import HandshakeFailure, IllegalParameter
from ..extensions import SupportedGroups
from ..fast_init import fast_init
from ..handshake12 import (
    Agreed12,
    check_finished,
    derive_master_secret,
    dh_premaster,
    finished,
    handshake_complete,
    install_keys,
    log_master_secret,
    protectors,
)
from ..machine import Output, expect, scheme_name
from ..messages import HandshakeMessage
from ..messages.hello import ClientHello
from ..messages.tls12 import Certificate12, ChangeCipherSpec, ClientKeyExchange, NewSessionTicket12
from ..messages.tls13 import CertificateVerify, Finished
from ..session_cache import Tls12Session
from ..traffic12 import Traffic12
from ..verify import parse_certificate_chain, public_key_of, verified_path

if TYPE_CHECKING:
    from .tls12 import Server12


@fast_init
@dataclass(frozen=True, slots=True)
class _PendingExchange:
    share: PrivateKeyShare
    group_name: str
    signature_scheme: int


@dataclass(frozen=True, slots=True)
class ExpectClientCertificate:
    """CertificateRequest sent; waiting for the client's Certificate (RFC 5246 §7.4.6)."""

    expects = frozenset({HandshakeType.CERTIFICATE})

    hs: Server12
    exchange: _PendingExchange

    def handle(self, msg: HandshakeMessage, out: Output) -> ExpectClientKeyExchange:
        certificate = expect(msg, Certificate12, self)
        hs = self.hs
        config = hs.config
        chain: tuple[x509.Certificate, ...] = ()
        path = None
        if not certificate.certificate_list:
            if config.client_auth == "required":
                # RFC 5246 §7.4.6: the server may then abort with handshake_failure.
                raise HandshakeFailure("the client sent no certificate, and one is required")
        else:
            chain = parse_certificate_chain(certificate.certificate_list)
            now = datetime.fromtimestamp(config.clock(), tz=UTC)
            path = config.client_certificate_verifier().verify_client(chain, now)
        hs.transcript.update(certificate.raw)
        if not chain:
            hs.transcript.forget_messages()
        return ExpectClientKeyExchange(hs, self.exchange, chain, verified_path(path))


@fast_init
@dataclass(frozen=True, slots=True)
class ExpectClientKeyExchange:
    """Waiting for ClientKeyExchange (RFC 5246 §7.4.7, RFC 8422 §5.7)."""

    expects = frozenset({HandshakeType.CLIENT_KEY_EXCHANGE})

    hs: Server12
    exchange: _PendingExchange
    client_chain: tuple[x509.Certificate, ...]
    verified_chain: tuple[x509.Certificate, ...] = ()
    """The verifier's path for ``client_chain`` (empty if none), for the summary."""

    def handle(
        self, msg: HandshakeMessage, out: Output
    ) -> ExpectClientCertificateVerify | ExpectChangeCipherSpec:
        cke = expect(msg, ClientKeyExchange, self)
        hs, share = self.hs, self.exchange.share
        group = share.group
        if isinstance(group, FFDHEGroup):
            public = cke.dh_public()
            _check_dh_yc(hs.client_hello, group, public)  # first: RFC 7919 §4 names the alert
            public = public.lstrip(b"\x00")  # the same integer, however it was padded
            if len(public) > group.prime_len:
                raise IllegalParameter("client dh_Yc is larger than the prime")
            premaster = dh_premaster(share.exchange(public.rjust(group.prime_len, b"\x00")))
        else:
            premaster = share.exchange(cke.ecdh_public())
        # RFC 7627 §5.2: the session hash, when signed for, stops at CertificateVerify's
        # predecessor: ClientKeyExchange.
        signed = hs.transcript.signed_content() if self.client_chain else b""
        hs.transcript.update(cke.raw)
        session_hash = hs.transcript.digest() if hs.extended_master_secret else None
        master = derive_master_secret(
            hs.suite, premaster, hs.client_random, hs.server_random, session_hash
        )
        log_master_secret(out, hs.client_random, master)
        keys = protectors(hs.suite, master, hs.client_random, hs.server_random)
        agreed = Agreed12(
            master,
            keys,
            group.name,
            self.exchange.signature_scheme,
            self.client_chain,
            self.verified_chain,
        )
        if self.client_chain:
            return ExpectClientCertificateVerify(hs, agreed, signed + cke.raw)
        return ExpectChangeCipherSpec(hs, agreed, resumed=False)


def _check_dh_yc(hello: ClientHello, group: FFDHEGroup, public: bytes) -> None:
    """RFC 7919 §4: from a client that offered FFDHE groups, dh_Yc outside 1 < Yc < p - 1 is
    handshake_failure. Without such an offer the group's own check answers illegal_parameter
    (RFC 7919 §5.1), which is what such a client is answered elsewhere too."""
    groups = hello.get(SupportedGroups)
    if groups is None or not any(g in FFDHE_CODEPOINTS for g in groups.groups):
        return
    if not 1 < int.from_bytes(public, "big") < group.p - 1:
        raise HandshakeFailure("client dh_Yc is not in 2..p-2 (RFC 7919 §4)")


@dataclass(frozen=True, slots=True)
class ExpectClientCertificateVerify:
    """Waiting for the client's CertificateVerify (RFC 5246 §7.4.8)."""

    expects = frozenset({HandshakeType.CERTIFICATE_VERIFY})

    hs: Server12
    agreed: Agreed12
    signed: bytes
    """The handshake messages up to ClientKeyExchange: what the client signed."""

    def handle(self, msg: HandshakeMessage, out: Output) -> ExpectChangeCipherSpec:
        cv = expect(msg, CertificateVerify, self)
        hs = self.hs
        if cv.algorithm not in hs.config.signature_schemes:
            # RFC 5246 §7.4.8: one of the algorithms our CertificateRequest listed.
            raise IllegalParameter(
                f"client CertificateVerify uses {scheme_name(cv.algorithm)}, not requested"
            )
        leaf = self.agreed.peer_chain[0]
        verify(
            cv.algorithm,
            public_key_of(leaf, "client"),
            cv.signature,
            self.signed,
            tls13=False,
            rsassa_pss=spki_is_rsassa_pss(leaf),
        )
        hs.transcript.update(cv.raw)
        hs.transcript.forget_messages()
        return ExpectChangeCipherSpec(hs, self.agreed, resumed=False)


@fast_init
@dataclass(frozen=True, slots=True)
class ExpectChangeCipherSpec:
    """Waiting for the client's ChangeCipherSpec (RFC 5246 §7.1)."""

    expects = frozenset[int]()

    hs: Server12
    agreed: Agreed12
    resumed: bool

    def invalidate_session(self) -> None:
        _forget_resumed(self.hs, self.resumed)

    def handle(self, msg: HandshakeMessage | ChangeCipherSpec, out: Output) -> ExpectClientFinished:
        expect(msg, ChangeCipherSpec, self)
        install_keys(out, self.agreed.keys, client=False, direction="read")
        return ExpectClientFinished(self.hs, self.agreed, self.resumed)


@fast_init
@dataclass(frozen=True, slots=True)
class ExpectClientFinished:
    """Waiting for the client's Finished (RFC 5246 §7.4.9); in a full handshake our
    [NewSessionTicket], ChangeCipherSpec and Finished answer it."""

    expects = frozenset({HandshakeType.FINISHED})

    hs: Server12
    agreed: Agreed12
    resumed: bool

    def invalidate_session(self) -> None:
        _forget_resumed(self.hs, self.resumed)

    def handle(self, msg: HandshakeMessage, out: Output) -> Traffic12:
        client_finished = expect(msg, Finished, self)
        hs, agreed = self.hs, self.agreed
        t12, suite, master = hs.transcript, hs.suite, agreed.master_secret
        check_finished(client_finished, suite, master, client=True, handshake_hash=t12.digest())
        t12.update(client_finished.raw)
        if not self.resumed:
            if hs.issue_ticket:
                _send_ticket(hs, master, agreed.peer_chain, out)
            out.change_cipher_spec()
            install_keys(out, agreed.keys, client=False, direction="write")
            verify_data = finished(suite, master, client=False, handshake_hash=t12.digest())
            t12.update(out.send(Finished(verify_data=verify_data)))
            if hs.session_id:
                state = _session_state(hs, master, agreed.peer_chain)
                hs.config.tls12_session_cache().put(hs.session_id, state)
        out.event(
            handshake_complete(
                suite,
                agreed.group_name,
                agreed.signature_scheme,
                hs.alpn_protocol,
                hs.server_name,
                agreed.peer_chain,
                resumed=self.resumed,
                verified_chain=agreed.verified_chain,
            )
        )
        forget = None
        if hs.session_id:
            forget = functools.partial(hs.config.tls12_session_cache().remove, hs.session_id)
        return Traffic12(
            suite=suite,
            is_client=False,
            master_secret=master,
            client_random=hs.client_random,
            server_random=hs.server_random,
            extended_master_secret=hs.extended_master_secret,
            forget_session=forget,
        )


def _forget_resumed(hs: Server12, resumed: bool) -> None:
    """RFC 5246 §7.2.2: an abbreviated handshake that fails takes its session with it."""
    if resumed and hs.session_id:
        hs.config.tls12_session_cache().remove(hs.session_id)


def _session_state(
    hs: Server12, master: bytes, client_chain: tuple[x509.Certificate, ...]
) -> Tls12Session:
    """What resumption needs (RFC 5246 §7.3 "session state", RFC 7627 §5.2)."""
    config = hs.config
    return Tls12Session(
        cipher_suite=hs.suite.id,
        master_secret=master,
        extended_master_secret=hs.extended_master_secret,
        issued_at=int(config.clock()),
        lifetime=config.ticket_lifetime,
        alpn_protocol=(hs.alpn_protocol or "").encode(),
        server_name=(hs.server_name or "").encode(),
        peer_certificates=tuple(c.public_bytes(Encoding.DER) for c in client_chain),
    )


def _send_ticket(
    hs: Server12, master: bytes, client_chain: tuple[x509.Certificate, ...], out: Output
) -> None:
    """NewSessionTicket with the sealed session state (RFC 5077 §3.3, §4)."""
    config = hs.config
    state = _session_state(hs, master, client_chain)
    sealed = config.session_ticket_sealer().seal(state.serialize())
    ticket = NewSessionTicket12(ticket_lifetime_hint=config.ticket_lifetime, ticket=sealed)
    hs.transcript.update(out.send(ticket))
