"""Server: the TLS 1.2 handshake up to our flight (RFC 5246 §7.3, §7.4; RFC 5077, RFC 7627,
RFC 5746).

The shape follows the seed design's server machine::

    ClientHello -> CHECK_SESSION_CACHE (start_tls12)
        resumable session (ID in our cache, or a ticket we sealed) whose suite, EMS, SNI and
        ALPN still fit:
            WAIT_RESUME: ServerHello, [NewSessionTicket], ChangeCipherSpec, Finished sent
                -> ExpectChangeCipherSpec -> ExpectClientFinished -> APP_DATA (Traffic12)
        otherwise:
            WAIT: ServerHello, Certificate, ServerKeyExchange, [CertificateRequest],
                ServerHelloDone sent
                -> [ExpectClientCertificate] -> ExpectClientKeyExchange
                -> [ExpectClientCertificateVerify] -> ExpectChangeCipherSpec
                -> ExpectClientFinished -> ([NewSessionTicket], ChangeCipherSpec, Finished sent)
                -> APP_DATA (Traffic12)

close_notify then leads to SHUTDOWN, our own close to HOST_INITIATED_CLOSING (the connection's
lifecycle). ChangeCipherSpec reaches the states as the ``CHANGE_CIPHER_SPEC`` pseudo-message.
Negotiation of the full handshake is in :mod:`tlsmachine.server.choose12`.

This module is CHECK_SESSION_CACHE, WAIT_RESUME and WAIT: the ClientHello's checks, the
session lookup and our flight. The states that wait on the client's flight, and storing the
session (cache entry, NewSessionTicket), are in :mod:`tlsmachine.server.tls12_client_flight`;
they are importable from here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from ..config import ServerConfig
from ..crypto.suites import CipherSuite12
from ..enums import CipherSuiteId, ProtocolVersion
from ..errors import DecodeError, HandshakeFailure, IllegalParameter
from ..extensions import (
    EcPointFormats,
    ExtendedMasterSecret,
    MalformedTls12Extension,
    RenegotiationInfo,
    ServerName,
    SessionTicket,
)
from ..fast_init import fast_init
from ..handshake12 import (
    Agreed12,
    Transcript12,
    finished,
    install_keys,
    log_master_secret,
    protectors,
)
from ..machine import Output
from ..messages.hello import DOWNGRADE_TLS12, ClientHello
from ..messages.tls12 import (
    Certificate12,
    ServerHelloDone,
)
from ..messages.tls13 import Finished
from ..session_cache import Tls12Session, open_tls12_ticket
from ..transcript import TranscriptHash
from ..verify import parse_certificate_chain
from .choose12 import Choice12, choose_full_handshake
from .negotiate import choose_alpn, server_name_of
from .tls12_client_flight import (
    ExpectChangeCipherSpec,
    ExpectClientCertificate,
    ExpectClientCertificateVerify,
    ExpectClientFinished,
    ExpectClientKeyExchange,
    _PendingExchange,
    _send_ticket,
)
from .tls12_messages import (
    answer_record_size_limit,
    certificate_request,
    hello_extensions,
    server_hello12,
    server_key_exchange,
)


@fast_init
@dataclass(frozen=True, slots=True)
class Server12:
    """What the server knows once it answered the ClientHello."""

    config: ServerConfig
    client_hello: ClientHello
    server_random: bytes
    suite: CipherSuite12
    transcript: Transcript12
    extended_master_secret: bool
    alpn_protocol: str | None
    server_name: str | None
    session_id: bytes
    """Our ServerHello's session ID: a new one to cache, the resumed one, or empty."""
    issue_ticket: bool
    """A NewSessionTicket goes out before our ChangeCipherSpec (RFC 5077 §3.3)."""

    @property
    def client_random(self) -> bytes:
        return self.client_hello.random


def _secure_renegotiation(hello: ClientHello) -> bool:
    """Did the client signal RFC 5746 support (SCSV or an empty renegotiation_info, §3.6)?"""
    info = hello.get(RenegotiationInfo)
    if info is not None and info.renegotiated_connection:
        # RFC 5746 §3.6: on an initial handshake it MUST be empty, else handshake_failure.
        raise HandshakeFailure("ClientHello renegotiation_info is not empty (RFC 5746 §3.6)")
    scsv = CipherSuiteId.TLS_EMPTY_RENEGOTIATION_INFO_SCSV in hello.cipher_suites
    return info is not None or scsv


def _server_random(config: ServerConfig) -> bytes:
    """Our random; a server that also speaks TLS 1.3 ends it with the downgrade sentinel
    (RFC 8446 §4.1.3), so a TLS 1.3 client notices that TLS 1.3 was removed from its hello."""
    random = config.random(32)
    if config.max_version >= ProtocolVersion.TLS13:
        random = random[:24] + DOWNGRADE_TLS12
    return random


def start_tls12(config: ServerConfig, hello: ClientHello, out: Output) -> ServerHandshake12:
    """CHECK_SESSION_CACHE: answer a ClientHello that negotiated TLS 1.2 (RFC 5246 §7.4.1.2).

    A resumable session takes the abbreviated handshake (WAIT_RESUME), anything else the full
    one (WAIT).
    """
    out.version(ProtocolVersion.TLS12)
    malformed = hello.get(MalformedTls12Extension)
    if malformed is not None:
        raise DecodeError(malformed.problem)
    if 0 not in hello.legacy_compression_methods:
        # RFC 5246 §7.4.1.2: the list MUST contain null; we never use anything else.
        raise IllegalParameter("ClientHello compression methods do not include null")
    secure_renegotiation = _secure_renegotiation(hello)
    ems = hello.get(ExtendedMasterSecret) is not None
    if not ems and config.require_extended_master_secret:
        raise HandshakeFailure("client does not support extended_master_secret (RFC 7627 §5.4)")
    points = hello.get(EcPointFormats)
    if points is not None and 0 not in points.formats:
        # RFC 8422 §5.1.2: uncompressed points MUST be supported.
        raise IllegalParameter("client ec_point_formats lacks uncompressed (RFC 8422 §5.1.2)")
    alpn = choose_alpn(config, hello)
    name = server_name_of(hello)
    session, via_ticket = _cached_session(config, hello, ems, alpn, name)
    if session is not None:
        return _resume(config, hello, session, via_ticket, secure_renegotiation, alpn, out)
    choice = choose_full_handshake(config, hello)
    return _full(config, hello, choice, secure_renegotiation, ems, alpn, name, out)


def _cached_session(
    config: ServerConfig,
    hello: ClientHello,
    ems: bool,
    alpn: str | None,
    name: str | None,
) -> tuple[Tls12Session | None, bool]:
    """A session the client offered (a ticket first, RFC 5077 §3.4, then its ID) that we may
    resume; ``(session, came from a ticket)``."""
    now = config.clock()
    session: Tls12Session | None = None
    via_ticket = False
    ticket = hello.get(SessionTicket)
    presented = ticket is not None and bool(ticket.ticket) and config.session_tickets > 0
    if presented and ticket is not None:
        session = open_tls12_ticket(config.session_ticket_sealer(), ticket.ticket)
        via_ticket = session is not None
    elif hello.legacy_session_id and config.session_ids:
        # RFC 5077 §3.4: with a ticket presented the server MUST NOT attempt to use the
        # session ID for stateful resumption (here: only without one, or without tickets)
        session = config.tls12_session_cache().get(hello.legacy_session_id, now)
    if session is None or session.expired(now):
        return None, False
    if session.extended_master_secret and not ems:
        # RFC 7627 §5.3: the session used the extended master secret and this ClientHello
        # does not offer it: the server MUST abort the abbreviated handshake.
        raise HandshakeFailure("resumption offered without extended_master_secret (RFC 7627)")
    if not via_ticket and session.cipher_suite not in hello.cipher_suites:
        # RFC 5246 §7.4.1.2: a client resuming a session "MUST include at least the
        # cipher_suite from that session" (a ticket may just be stale: full handshake)
        raise IllegalParameter(
            f"ClientHello resumes a session of suite 0x{session.cipher_suite:04x} without "
            "offering it (RFC 5246 §7.4.1.2)"
        )
    fits = (
        session.extended_master_secret  # RFC 7627 §5.3: never resume a session without EMS
        and ems
        and session.cipher_suite in hello.cipher_suites
        and any(s.id == session.cipher_suite for s in config.tls12_cipher_suites)
        and session.server_name == (name or "").encode()  # RFC 6066 §3
        and session.alpn_protocol == (alpn or "").encode()
        # an abbreviated handshake has no CertificateRequest: a session without a proven
        # client identity cannot satisfy client_auth="required" (a full handshake asks)
        and (config.client_auth != "required" or bool(session.peer_certificates))
    )
    return (session, via_ticket) if fits else (None, False)


def _resume(
    config: ServerConfig,
    hello: ClientHello,
    session: Tls12Session,
    via_ticket: bool,
    secure_renegotiation: bool,
    alpn: str | None,
    out: Output,
) -> ExpectChangeCipherSpec:
    """WAIT_RESUME: ServerHello echoing the session ID, [NewSessionTicket], ChangeCipherSpec,
    Finished (RFC 5246 §7.3 Figure 2, RFC 5077 §3.1). A ticket older than half its lifetime
    is renewed (RFC 5077 §3.3)."""
    suite = next(s for s in config.tls12_cipher_suites if s.id == session.cipher_suite)
    now = config.clock()
    renew = via_ticket and now - session.issued_at > session.lifetime / 2
    random = _server_random(config)
    extensions = hello_extensions(secure_renegotiation, True, alpn, renew)
    answer_record_size_limit(config, hello, extensions, out)
    server_hello = server_hello12(random, hello, hello.legacy_session_id, suite, extensions)
    transcript = TranscriptHash()
    transcript.select_hash(suite.hash_name)
    transcript.update(hello.raw)
    t12 = Transcript12(transcript, None)
    t12.update(out.send(server_hello))
    hs = Server12(
        config=config,
        client_hello=hello,
        server_random=random,
        suite=suite,
        transcript=t12,
        extended_master_secret=True,
        alpn_protocol=alpn,
        server_name=session.server_name.decode("ascii", "replace") or None,
        session_id=hello.legacy_session_id,
        issue_ticket=renew,
    )
    master = session.master_secret
    chain = parse_certificate_chain(session.peer_certificates) if session.peer_certificates else ()
    if renew:
        _send_ticket(hs, master, chain, out)
    keys = protectors(suite, master, hello.random, random)
    log_master_secret(out, hello.random, master)
    out.change_cipher_spec()
    install_keys(out, keys, client=False, direction="write")
    verify_data = finished(suite, master, client=False, handshake_hash=t12.digest())
    t12.update(out.send(Finished(verify_data=verify_data)))
    return ExpectChangeCipherSpec(hs, Agreed12(master, keys, peer_chain=chain), resumed=True)


def _full(
    config: ServerConfig,
    hello: ClientHello,
    choice: Choice12,
    secure_renegotiation: bool,
    ems: bool,
    alpn: str | None,
    name: str | None,
    out: Output,
) -> ExpectClientCertificate | ExpectClientKeyExchange:
    """WAIT: ServerHello, Certificate, ServerKeyExchange, [CertificateRequest],
    ServerHelloDone (RFC 5246 §7.3 Figure 1)."""
    suite, signer = choice.suite, choice.signer
    # RFC 5077 §3.4: a client that sent session_ticket gets a ticket instead of a cached ID.
    issue_ticket = ems and config.session_tickets > 0 and hello.get(SessionTicket) is not None
    session_id = config.random(32) if ems and config.session_ids and not issue_ticket else b""
    random = _server_random(config)
    extensions = hello_extensions(secure_renegotiation, ems, alpn, issue_ticket)
    if name is not None:
        extensions.append(ServerName(host_name=None))  # RFC 6066 §3: the name was used
    if suite.key_exchange == "ECDHE" and hello.get(EcPointFormats) is not None:
        extensions.append(EcPointFormats(formats=b"\x00"))  # RFC 8422 §5.2
    answer_record_size_limit(config, hello, extensions, out)
    server_hello = server_hello12(random, hello, session_id, suite, extensions)
    request = config.client_auth != "none"
    transcript = TranscriptHash()
    transcript.select_hash(suite.hash_name)
    t12 = Transcript12(transcript, [] if request else None)
    t12.update(hello.raw)
    t12.update(out.send(server_hello))
    t12.update(out.send(Certificate12(certificate_list=signer.certified.der_chain)))
    share = config.key_share_factory(choice.group)
    t12.update(out.send(server_key_exchange(config, hello.random, random, choice, share)))
    if request:
        t12.update(out.send(certificate_request(config)))
    t12.update(out.send(ServerHelloDone()))
    hs = Server12(
        config=config,
        client_hello=hello,
        server_random=random,
        suite=suite,
        transcript=t12,
        extended_master_secret=ems,
        alpn_protocol=alpn,
        server_name=name,
        session_id=session_id,
        issue_ticket=issue_ticket,
    )
    exchange = _PendingExchange(share, choice.group.name, choice.scheme)
    if request:
        return ExpectClientCertificate(hs, exchange)
    return ExpectClientKeyExchange(hs, exchange, ())


ServerHandshake12: TypeAlias = (
    ExpectChangeCipherSpec | ExpectClientCertificate | ExpectClientKeyExchange
)

__all__ = [
    "ExpectChangeCipherSpec",
    "ExpectClientCertificate",
    "ExpectClientCertificateVerify",
    "ExpectClientFinished",
    "ExpectClientKeyExchange",
    "ServerHandshake12",
    "start_tls12",
]
