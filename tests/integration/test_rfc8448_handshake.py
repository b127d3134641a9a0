"""RFC 8448 §3 (simple 1-RTT), §4 (resumed 0-RTT), §5 (HelloRetryRequest), §6 (client
authentication) and §7 (compatibility mode), replayed byte for byte from both sides.

Each side runs with the RFC's randoms, ephemeral keys and (for tickets) ticket contents injected
through its config, and is driven through every ``send ... record`` step of the section in trace
order (:meth:`Replay.run`): the peer's records are fed to it, and everything it sends must equal
the RFC's records exactly, change_cipher_spec records (§7, RFC 8446 Appendix D.4) included.
The secrets it derives are checked against the RFC through the key log.

Signatures: RSA-PSS and ECDSA are randomised, so no implementation can recreate the RFC's
CertificateVerify signatures. The ``signer`` hooks (:class:`RFCSigner`) therefore first check that
the RFC's signature verifies over *the content our side built* with the certificate's public
key (proving that content is byte-exact), then return it, so the rest of the transcript can be
compared too. §6 does not publish its private keys (ECDSA P-256 server, RSA client); those sides
get a freshly generated key of the same type (:class:`StandInCertifiedKey`), which our code uses
only to choose the schemes and to hand to the hook.

§4 resumes with the ticket of §3: the client holds the session our §3 client replay kept, the
server opens the RFC's ticket to the state our §3 server replay sealed
(:class:`ReplayTicketSealer`). Both clocks stand where the client's view of the ticket age
(RFC 8446 §4.2.11.1: obfuscated_ticket_age minus ticket_age_add, 6 ms) puts them, so the
server's freshness check (§8.3) passes and it accepts the 0-RTT data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import NamedTuple, TypeVar
from unittest import mock

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from rfc8448 import Section, Step, load_rfc8448
from tlsmachine import (
    ApplicationData,
    ClientConfig,
    ConnectionClosed,
    HandshakeComplete,
    ServerConfig,
    ServerConnection,
    SessionTicketReceived,
)
from tlsmachine.certs import CertifiedKey, PrivateKey
from tlsmachine.client import ClientConnection
from tlsmachine.client.hello import ExpectServerHello
from tlsmachine.connection import Connection
from tlsmachine.crypto.groups import GROUPS, Group, PrivateKeyShare
from tlsmachine.crypto.signatures import verify
from tlsmachine.crypto.suites import suite_by_id
from tlsmachine.enums import NamedGroup, ProtocolVersion
from tlsmachine.errors import BadCertificate, ConfigurationError, UsageError
from tlsmachine.events import EarlyDataReceived, EarlyDataRejected, Event, HandshakeMessageTraced
from tlsmachine.extensions import (
    Cookie,
    EarlyData,
    KeyShareClientHello,
    KeyShareServerHello,
    PreSharedKeyClientHello,
    PreSharedKeyServerHello,
    PskKeyExchangeModes,
    ServerName,
    SignatureAlgorithms,
    SupportedGroups,
    SupportedVersionsClientHello,
)
from tlsmachine.keyschedule import EarlySecret, export_keying_material, finished_mac
from tlsmachine.machine import Output, scheme_name
from tlsmachine.messages import HandshakeMessage, decode_handshake
from tlsmachine.messages.hello import ClientHello, ServerHello
from tlsmachine.messages.tls13 import (
    Certificate,
    CertificateRequest,
    CertificateVerify,
    EncryptedExtensions,
    NewSessionTicket,
)
from tlsmachine.session import (
    ClientHelloRecorder,
    ClientSession,
    InMemoryClientSessionStore,
    TicketState,
)
from tlsmachine.traffic13 import Traffic13

TRACE = load_rfc8448()
REPLAYED = ("3", "4", "5", "6", "7")
CLOSE_NOTIFY = b"\x01\x00"  # alert(warning, close_notify): how every trace ends
# The clock of both sides: RFC 8448's date, within the validity of its certificates (2016-07-30
# to 2026-07-30); the verifiers check that this is the time they are asked about.
RFC_TIME = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
# The names the trace gives its ephemeral key pairs ("create an ephemeral x25519 key pair").
RFC_GROUP_NAMES = {"x25519": NamedGroup.X25519, "P-256": NamedGroup.SECP256R1}
M = TypeVar("M", bound=HandshakeMessage)
E = TypeVar("E", bound=Event)


# --- reading the trace ---------------------------------------------------------------------------


def record(section: Section, actor: str, kind: str, occurrence: int) -> bytes:
    return section.get(f"{{{actor}}}  send {kind} record", "complete record", occurrence=occurrence)


def message(section: Section, actor: str, name: str, occurrence: int = 0) -> bytes:
    """The raw ``name`` message ``actor`` constructs, complete (§4's ClientHello is printed
    before its binders: :meth:`Section.messages` completes it from the record sent)."""
    raws = [raw for a, n, raw in section.messages() if (a, n) == (actor, name)]
    assert raws, f"section {section.number}: {actor} constructs no {name}"
    return raws[occurrence]


def has_message(section: Section, actor: str, name: str) -> bool:
    return any(a == actor and n == name for a, n, _ in section.messages())


def decoded(section: Section, actor: str, cls: type[M], occurrence: int = 0) -> M:
    """The RFC's ``cls`` message sent by ``actor``, parsed (the HelloRetryRequest and the
    ServerHello are both ``ServerHello``: the last one is ``occurrence=-1``)."""
    msg = decode_handshake(message(section, actor, cls.__name__, occurrence))
    assert isinstance(msg, cls)
    return msg


def hello_retry_request(section: Section) -> ServerHello | None:
    first = decoded(section, "server", ServerHello)
    return first if first.is_hello_retry_request else None


def rfc_ticket(section: Section) -> NewSessionTicket | None:
    if not has_message(section, "server", "NewSessionTicket"):
        return None
    return decoded(section, "server", NewSessionTicket)


def rfc_certificate(section: Section, actor: str = "server") -> x509.Certificate:
    cert_msg = decoded(section, actor, Certificate)
    (entry,) = cert_msg.certificate_list  # the RFC's chains are single self-signed certificates
    return x509.load_der_x509_certificate(entry.cert_data)


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


def rfc_server_key() -> rsa.RSAPrivateKey:
    step = TRACE.section("2").step("server RSA private key")
    n, e, d, p, q, dp, dq, qi = (
        int.from_bytes(step.fields[name], "big")
        for name in (
            "modulus",
            "public exponent",
            "private exponent",
            "prime1",
            "prime2",
            "exponent1",
            "exponent2",
            "coefficient",
        )
    )
    return rsa.RSAPrivateNumbers(p, q, d, dp, dq, qi, rsa.RSAPublicNumbers(e, n)).private_key()


def ephemeral_keys(section: Section, actor: str) -> dict[int, bytes]:
    """``{group: private key}`` of the actor's "create an ephemeral ... key pair" steps."""
    keys: dict[int, bytes] = {}
    for step in section.search("create an ephemeral", actor=actor):
        kind = step.action.removeprefix("create an ephemeral ").removesuffix(" key pair")
        keys[RFC_GROUP_NAMES[kind]] = step["private key"]
    return keys


def split_records(data: bytes) -> list[bytes]:
    """TLS records (5-byte header with a uint16 length, RFC 8446 §5.1), for readable diffs."""
    out = []
    while data:
        end = 5 + int.from_bytes(data[3:5], "big")
        out.append(data[:end])
        data = data[end:]
    return out


# --- what the configs inject ------------------------------------------------------------------


def fixed_random(*values: bytes) -> Callable[[int], bytes]:
    it: Iterator[bytes] = iter(values)

    def random(n: int) -> bytes:
        value = next(it, None)
        assert value is not None, f"asked for {n} more random bytes than the trace has"
        assert len(value) == n
        return value

    return random


def injected_keys(keys: dict[int, bytes]) -> Callable[[Group], PrivateKeyShare]:
    def factory(group: Group) -> PrivateKeyShare:
        return group.from_private_bytes(keys[group.id])

    return factory


def rfc_clock() -> float:
    return RFC_TIME.timestamp()


class RFCSigner:
    """A ``signer`` hook returning the RFC's CertificateVerify signature of ``actor``, after
    checking it verifies over the content we built with the RFC certificate's public key."""

    def __init__(self, section: Section, actor: str) -> None:
        self.cv = decoded(section, actor, CertificateVerify)
        self.public_key = rfc_certificate(section, actor).public_key()
        self.schemes: list[int] = []  # one per call

    def __call__(self, scheme: int, private_key: object, content: bytes) -> bytes:
        assert scheme == self.cv.algorithm, scheme_name(scheme)
        verify(scheme, self.public_key, self.cv.signature, content)  # DecryptError if not
        self.schemes.append(scheme)
        return self.cv.signature


class StandInCertifiedKey(CertifiedKey):
    """The RFC's certificate with a stand-in private key of the same type (RFC 8448 §6 does not
    publish its keys). Every check of :class:`CertifiedKey` runs; the only one that may fail is
    "the private key does not match the certificate", and it must fail: the stand-in cannot
    have made the RFC's signatures, so a matching CertificateVerify proves the hook was used."""

    def __post_init__(self) -> None:
        with pytest.raises(ConfigurationError, match="does not match the certificate"):
            super().__post_init__()
        object.__setattr__(self, "der_chain", tuple(der(c) for c in self.chain))


def stand_in_key(public_key: object) -> PrivateKey:
    """A fresh key that our scheme selection treats like the certificate's key."""
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return ec.generate_private_key(public_key.curve)
    assert isinstance(public_key, rsa.RSAPublicKey)
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def certified_key(number: str, actor: str) -> CertifiedKey:
    """The actor's certificate with its key: §2's RSA key if it is that certificate's (§3, §5,
    §7), else a stand-in (§6's ECDSA server and RSA client certificates)."""
    cert = rfc_certificate(TRACE.section(number), actor)
    key = rfc_server_key()
    if cert.public_key() == key.public_key():
        return CertifiedKey(chain=(cert,), private_key=key)
    return StandInCertifiedKey(chain=(cert,), private_key=stand_in_key(cert.public_key()))


class AcceptRFCCertificate:
    """A verifier accepting exactly the RFC's ``expected`` certificate (same DER) and nothing
    else: the RFC's certificates are self-signed, name no host and have expired since."""

    def __init__(self, expected: x509.Certificate) -> None:
        self.expected = expected
        self.seen: list[tuple[x509.Certificate, ...]] = []

    def _check(self, chain: Sequence[x509.Certificate], now: dt.datetime) -> None:
        assert now == RFC_TIME  # the config's clock
        if [der(c) for c in chain] != [der(self.expected)]:
            raise BadCertificate("not the certificate of RFC 8448")
        self.seen.append(tuple(chain))

    def verify_server(
        self, chain: Sequence[x509.Certificate], server_name: str | None, now: dt.datetime
    ) -> None:
        if server_name != "server":  # the RFC's server_name extension
            raise BadCertificate(f"RFC 8448's certificate is not for {server_name!r}")
        self._check(chain, now)

    def verify_client(self, chain: Sequence[x509.Certificate], now: dt.datetime) -> None:
        self._check(chain, now)


class ReplayTicketSealer:
    """Ticket contents are the server's private business (NSS's format in the RFC): seal to the
    RFC's opaque ticket, after checking that what we seal is our own well-formed state; open
    the RFC's ticket (and nothing else) to ``state``, the state our server sealed into it."""

    def __init__(self, ticket: bytes, state: TicketState | None = None) -> None:
        self.ticket = ticket
        self.state = state
        self.sealed: list[TicketState] = []
        self.opened: list[bytes] = []

    def seal(self, plaintext: bytes) -> bytes:
        self.sealed.append(TicketState.parse(plaintext))
        return self.ticket

    def open(self, ticket: bytes) -> bytes | None:
        if self.state is None or ticket != self.ticket:
            return None
        self.opened.append(ticket)
        return self.state.serialize()


class RecordingReplayGuard:
    """The default replay guard (RFC 8446 §8.2), recording what the server asks it: the server
    consults it last, once everything else about the 0-RTT offer (ticket age included) is
    fine."""

    def __init__(self) -> None:
        self.guard = ClientHelloRecorder()
        self.calls: list[tuple[bytes, float, float]] = []

    def first_use(self, key: bytes, now: float, window: float) -> bool:
        self.calls.append((key, now, window))
        return self.guard.first_use(key, now, window)


# --- resumption: §4 resumes with §3's ticket ------------------------------------------------

RESUMES = {"4": "3"}  # section -> the section whose NewSessionTicket its ClientHello offers


def psk_offer(section: Section) -> PreSharedKeyClientHello | None:
    return decoded(section, "client", ClientHello).get(PreSharedKeyClientHello)


def issuing(section: Section) -> Section:
    """The section whose server certificate and ticket apply: for a resumption, the section
    of the full handshake that issued the ticket; else ``section`` itself."""
    return TRACE.section(RESUMES.get(section.number, section.number))


def claimed_ticket_age_ms(section: Section) -> int:
    """The ticket age in the client's ClientHello: obfuscated_ticket_age minus the ticket's
    ticket_age_add, modulo 2^32 (RFC 8446 §4.2.11.1)."""
    offer, ticket = psk_offer(section), rfc_ticket(issuing(section))
    assert offer is not None and ticket is not None
    (identity,) = offer.identities
    assert identity.identity == ticket.ticket  # the RFC's ticket, offered as issued
    return (identity.obfuscated_ticket_age - ticket.ticket_age_add) % 2**32


def resumption_time(section: Section) -> float:
    """Where both clocks stand in a resumption: the ticket was issued and received at RFC_TIME
    (§3's clocks) and is now as old as the ClientHello claims, plus half a millisecond (the
    client truncates the age to whole milliseconds; RFC_TIME + 6 ms is not exact in binary)."""
    return RFC_TIME.timestamp() + (claimed_ticket_age_ms(section) + 0.5) / 1000


def fixed_clock(now: float) -> Callable[[], float]:
    return lambda: now


def section_clock(section: Section) -> Callable[[], float]:
    if section.number in RESUMES:
        return fixed_clock(resumption_time(section))
    return rfc_clock


@cache
def kept_session(number: str) -> ClientSession:
    """The session our client kept from the RFC's NewSessionTicket in section ``number``."""
    (ticket_event,) = replayed(number, "client").events(SessionTicketReceived)
    return ticket_event.session


@cache
def sealed_state(number: str) -> TicketState:
    """The state our server sealed into the RFC's ticket in section ``number``."""
    config = replayed(number, "server").config
    assert isinstance(config, ServerConfig)
    sealer = config.ticket_sealer
    assert isinstance(sealer, ReplayTicketSealer)
    (state,) = sealer.sealed
    return state


# --- the two sides --------------------------------------------------------------------------


class Received(NamedTuple):
    """A record of the peer fed to our side, and the events it raised."""

    kind: str  # the record type the trace names: handshake, change_cipher_spec, ...
    step: Step
    events: list[Event]


@dataclass
class Replay:
    """One side (``actor``) of a section: its connection and what it reported."""

    section: Section
    actor: str
    conn: Connection
    config: ClientConfig | ServerConfig
    verifier: AcceptRFCCertificate | None  # how this side accepts the peer's certificate
    keylog: list[str]
    received: list[Received] = field(default_factory=list)
    """Each record of the peer, in trace order."""

    def run(self) -> Replay:
        """Walk every record of the trace: feed the peer's records to our connection; for ours,
        do what the trace's side did (send application data, early before the handshake
        completes, close) and check, before each record of the peer and at the end, that we
        sent exactly the trace's records. (Except before 0-RTT records: the trace prints the
        server's answer to a ClientHello after the early data the client sent without waiting
        for it, §4; the check before the next record covers both.)"""
        ours: list[bytes] = []
        for actor, kind, step in self.section.records():
            if actor == self.actor:
                if kind == "application_data" and self.conn.handshake_info is None:
                    assert isinstance(self.conn, ClientConnection)  # §4's 0-RTT data
                    self.conn.send_early_data(step["payload"])
                elif kind == "application_data":
                    self.conn.send(step["payload"])
                elif kind == "alert":
                    assert step["payload"] == CLOSE_NOTIFY
                    self.conn.close()
                ours.append(step["complete record"])
            elif kind == "application_data" and self.conn.handshake_info is None:
                events = self.conn.receive_data(step["complete record"])  # 0-RTT data
                self.received.append(Received(kind, step, events))
            else:
                self._check_sent(ours, step)
                ours = []
                events = self.conn.receive_data(step["complete record"])
                self.received.append(Received(kind, step, events))
        self._check_sent(ours, None)
        return self

    def _check_sent(self, expected: list[bytes], before: Step | None) -> None:
        where = f"before line {before.line}" if before else "at the end"
        assert split_records(self.conn.data_to_send()) == expected, f"{self.actor} {where}"

    @property
    def signer(self) -> RFCSigner | None:
        assert isinstance(self.config.signer, RFCSigner | None)
        return self.config.signer

    def events(self, cls: type[E]) -> list[E]:
        return [e for r in self.received for e in r.events if isinstance(e, cls)]


def server_side(section: Section) -> Replay:
    """A ServerConnection configured as the RFC's server (NSS), from the trace's messages."""
    server_hello = decoded(section, "server", ServerHello, occurrence=-1)
    ee_groups = decoded(section, "server", EncryptedExtensions).get(SupportedGroups)
    assert ee_groups is not None
    hrr = hello_retry_request(section)
    cookie = hrr.get(Cookie) if hrr is not None else None
    keylog: list[str] = []
    has_cv = has_message(section, "server", "CertificateVerify")
    config = ServerConfig(
        # §4 resumes: no certificate is sent, but the server is §3's, with its certificate.
        certificates=(certified_key(issuing(section).number, "server"),),
        groups=tuple(GROUPS[g] for g in ee_groups.groups),  # its preference, as it announces
        strict_group_preference=True,  # §5: HelloRetryRequest for P-256 despite the x25519 share
        session_tickets=0,
        random=fixed_random(server_hello.random),
        key_share_factory=injected_keys(ephemeral_keys(section, "server")),
        signer=RFCSigner(section, "server") if has_cv else None,
        hello_retry_cookie=(lambda _hash: cookie.cookie) if cookie is not None else None,
        clock=section_clock(section),
        keylog=keylog.append,
    )
    ticket = rfc_ticket(section)
    if ticket is not None:  # §3: one ticket, valid 30 s, early data up to 1024 bytes
        early_data = ticket.get(EarlyData)
        assert early_data is not None and early_data.max_early_data_size is not None
        config = replace(
            config,
            session_tickets=1,
            ticket_lifetime=ticket.ticket_lifetime,
            max_early_data_size=early_data.max_early_data_size,
            ticket_sealer=ReplayTicketSealer(ticket.ticket),
            random=fixed_random(server_hello.random, ticket.ticket_age_add.to_bytes(4, "big")),
        )
    if section.number in RESUMES:  # §4: §3's server, which sealed the RFC's ticket
        issued = rfc_ticket(issuing(section))
        state = sealed_state(issuing(section).number)
        assert issued is not None
        config = replace(
            config,
            ticket_sealer=ReplayTicketSealer(issued.ticket, state),
            max_early_data_size=state.max_early_data_size,
            replay_guard=RecordingReplayGuard(),
        )
    verifier = None
    if has_message(section, "server", "CertificateRequest"):  # §6
        request = decoded(section, "server", CertificateRequest).get(SignatureAlgorithms)
        assert request is not None
        verifier = AcceptRFCCertificate(rfc_certificate(section, "client"))
        config = replace(
            config,
            client_auth="required",
            client_verifier=verifier,
            signature_schemes=request.schemes,
        )
    return Replay(section, "server", ServerConnection(config), config, verifier, keylog)


def client_side(section: Section) -> Replay:
    """A client that has sent the RFC's ClientHello (ours cannot be NSS's byte for byte; see
    test_our_client_hello_matches_the_rfc_where_it_can), configured like the RFC's client."""
    hello = decoded(section, "client", ClientHello)
    groups, schemes = hello.get(SupportedGroups), hello.get(SignatureAlgorithms)
    assert groups is not None and schemes is not None
    # §4's server sends no certificate: the client would accept §3's, the same server's.
    verifier = AcceptRFCCertificate(rfc_certificate(issuing(section), "server"))
    keylog: list[str] = []
    config = ClientConfig(
        verifier=verifier,
        min_version=ProtocolVersion.TLS13,  # the RFC's client offers TLS 1.3 only
        groups=tuple(GROUPS[g] for g in groups.groups),
        signature_schemes=schemes.schemes,
        middlebox_compatibility=bool(hello.legacy_session_id),  # §7
        early_data=hello.get(EarlyData) is not None,  # §4
        key_share_factory=injected_keys(ephemeral_keys(section, "client")),
        clock=section_clock(section),
        keylog=keylog.append,
    )
    if has_message(section, "client", "Certificate"):  # §6
        config = replace(
            config,
            certificates=(certified_key(section.number, "client"),),
            signer=RFCSigner(section, "client"),
        )
    key_share = hello.get(KeyShareClientHello)
    assert key_share is not None
    shares = tuple(config.key_share_factory(GROUPS[e.group]) for e in key_share.client_shares)
    assert [s.public_bytes for s in shares] == [e.key_exchange for e in key_share.client_shares]
    # §4: the session our client kept from §3's ticket; the hello offers it for 0-RTT.
    session = kept_session(issuing(section).number) if psk_offer(section) is not None else None
    conn = client_that_sent(config, hello, shares, session)
    return Replay(section, "client", conn, config, verifier, keylog)


def client_that_sent(
    config: ClientConfig,
    hello: ClientHello,
    shares: tuple[PrivateKeyShare, ...],
    session: ClientSession | None,
) -> ClientConnection:
    """A ClientConnection, made by its own constructor, that queued ``hello`` (the RFC's)
    instead of building one: its first state comes from ``ExpectServerHello.after_sending``,
    which also installs the early keys when ``hello`` offers 0-RTT for ``session``."""

    def start(
        cls: type[ExpectServerHello], config: ClientConfig, server_name: str | None, out: Output
    ) -> ExpectServerHello:
        return cls.after_sending(config, server_name, hello, shares, out, None, session)

    with mock.patch.object(ExpectServerHello, "start", classmethod(start)):
        return ClientConnection(config, "server")


SIDES = {"server": server_side, "client": client_side}


def replayed(number: str, actor: str) -> Replay:
    return SIDES[actor](TRACE.section(number)).run()


# --- what the RFC says each side must report -----------------------------------------------------

# Events per record received from the peer, in trace order: (record type, event types).
EVENTS: dict[tuple[str, str], list[tuple[str, list[type[Event]]]]] = {
    ("3", "server"): [
        ("handshake", []),  # ClientHello
        ("handshake", [HandshakeComplete]),  # Finished
        ("application_data", [ApplicationData]),
        ("alert", [ConnectionClosed]),
    ],
    ("3", "client"): [
        ("handshake", []),  # ServerHello
        ("handshake", [HandshakeComplete]),  # EncryptedExtensions .. Finished
        ("handshake", [SessionTicketReceived]),  # NewSessionTicket
        ("application_data", [ApplicationData]),
        ("alert", [ConnectionClosed]),
    ],
    ("4", "server"): [
        ("handshake", []),  # ClientHello offering 0-RTT -> ServerHello .. Finished
        ("application_data", [EarlyDataReceived]),  # under the client early traffic keys
        ("handshake", []),  # EndOfEarlyData (RFC 8446 §4.5)
        ("handshake", [HandshakeComplete]),  # Finished
        ("application_data", [ApplicationData]),
        ("alert", [ConnectionClosed]),
    ],
    ("4", "client"): [
        ("handshake", []),  # ServerHello accepting the PSK
        ("handshake", [HandshakeComplete]),  # EncryptedExtensions with early_data, Finished
        ("application_data", [ApplicationData]),
        ("alert", [ConnectionClosed]),
    ],
    ("5", "server"): [
        ("handshake", []),  # ClientHello -> HelloRetryRequest
        ("handshake", []),  # second ClientHello
        ("handshake", [HandshakeComplete]),
        ("alert", [ConnectionClosed]),
    ],
    ("5", "client"): [
        ("handshake", []),  # HelloRetryRequest -> second ClientHello
        ("handshake", []),  # ServerHello
        ("handshake", [HandshakeComplete]),
        ("alert", [ConnectionClosed]),
    ],
    ("6", "server"): [
        ("handshake", []),
        ("handshake", [HandshakeComplete]),  # Certificate, CertificateVerify, Finished
        ("alert", [ConnectionClosed]),
    ],
    ("6", "client"): [
        ("handshake", []),
        ("handshake", [HandshakeComplete]),  # .. CertificateRequest ..
        ("alert", [ConnectionClosed]),
    ],
    ("7", "server"): [
        ("handshake", []),
        ("change_cipher_spec", []),  # dropped (RFC 8446 §5)
        ("handshake", [HandshakeComplete]),
        ("alert", [ConnectionClosed]),
    ],
    ("7", "client"): [
        ("handshake", []),
        ("change_cipher_spec", []),
        ("handshake", [HandshakeComplete]),
        ("alert", [ConnectionClosed]),
    ],
}


def expected_handshake_complete(section: Section, actor: str) -> HandshakeComplete:
    server_hello = decoded(section, "server", ServerHello, occurrence=-1)
    suite = suite_by_id(server_hello.cipher_suite)
    share = server_hello.get(KeyShareServerHello)
    assert suite is not None and share is not None
    peer = "server" if actor == "client" else "client"
    has_peer_cert = has_message(section, peer, "Certificate")
    signs = has_message(section, "server", "CertificateVerify")  # not when resuming (§4)
    encrypted_extensions = decoded(section, "server", EncryptedExtensions)
    resumed = server_hello.get(PreSharedKeyServerHello) is not None
    peer_certificates = (rfc_certificate(section, peer),) if has_peer_cert else ()
    if resumed and actor == "client":
        # the session from §3's ticket keeps the chain that handshake verified (RFC 8446 §2.2)
        peer_certificates = (rfc_certificate(TRACE.section("3"), "server"),)
    return HandshakeComplete(
        version="TLSv1.3",
        cipher_suite=suite.name,
        group=GROUPS[share.server_share.group].name,
        # Both sides report the server's CertificateVerify scheme, also in §6 where the
        # server's peer signs with another (the field's docstring says "peer's").
        signature_scheme=(
            scheme_name(decoded(section, "server", CertificateVerify).algorithm) if signs else None
        ),
        alpn_protocol=None,
        server_name="server",
        peer_certificates=peer_certificates,
        resumed=resumed,
        hello_retry=hello_retry_request(section) is not None,
        early_data_accepted=encrypted_extensions.get(EarlyData) is not None,
    )


# NSS key log labels and the RFC's Derive-Secret labels (RFC 8446 §7.1); the first two exist
# only with 0-RTT (§4).
KEY_LOG_LABELS = {
    "CLIENT_EARLY_TRAFFIC_SECRET": "c e traffic",
    "EARLY_EXPORTER_SECRET": "e exp master",
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET": "c hs traffic",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET": "s hs traffic",
    "CLIENT_TRAFFIC_SECRET_0": "c ap traffic",
    "SERVER_TRAFFIC_SECRET_0": "s ap traffic",
    "EXPORTER_SECRET": "exp master",
}


def rfc_secret(section: Section, label: str) -> bytes:
    """The RFC's Derive-Secret(..., "tls13 " + label, ...), printed by whichever side derives
    it first (the server, except for the client's early secrets; the other is "same as")."""
    return section.find(f'derive secret "tls13 {label}"', "expanded")


def rfc_key_log(section: Section) -> list[str]:
    client_random = decoded(section, "client", ClientHello).random.hex()
    lines = []
    for name, label in KEY_LOG_LABELS.items():
        if section.search(f'derive secret "tls13 {label}"'):
            secret = rfc_secret(section, label)
            lines.append(f"{name} {client_random} {secret.hex()}")
    return sorted(lines)


def sides(numbers: Sequence[str]) -> list[object]:
    """``(number, actor)`` parameters."""
    return [
        pytest.param(number, actor, id=f"{number}-{actor}")
        for number in numbers
        for actor in ("server", "client")
    ]


def traced(events: Sequence[Event], direction: str, cls: type[M]) -> list[M]:
    """The ``cls`` messages among ``HandshakeMessageTraced`` events (``trace_handshake``)."""
    return [
        e.message
        for e in events
        if isinstance(e, HandshakeMessageTraced)
        and e.direction == direction
        and isinstance(e.message, cls)
    ]


def early_exports(section: Section) -> bytes:
    """RFC 8446 §7.5's early exporter from the RFC's "tls13 e exp master" (the RFC shows no
    exporter output; this ties ours to its secret)."""
    secret = rfc_secret(section, "e exp master")
    return export_keying_material("sha256", secret, b"EXPORTER-rfc8448", b"context", 32)


def zero_rtt_step(section: Section) -> Step:
    """The client's 0-RTT record (the first application_data record, before any of the
    server's)."""
    return section.step("{client}  send application_data record", occurrence=0)


# --- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "actor"), sides(REPLAYED))
def test_byte_for_byte(number: str, actor: str) -> None:
    """Every record ``actor`` sends equals the RFC's (checked in ``run``), and it reports what
    the RFC's handshake implies, with the RFC's secrets."""
    section = TRACE.section(number)
    side = replayed(number, actor)
    got = [(r.kind, [type(e) for e in r.events]) for r in side.received]
    assert got == EVENTS[number, actor]
    for r, (_, types) in zip(side.received, EVENTS[number, actor], strict=True):
        if r.kind == "application_data":  # ApplicationData, or EarlyDataReceived (§4)
            (data_event,) = types
            assert data_event in (ApplicationData, EarlyDataReceived)
            assert r.events == [data_event(data=r.step["payload"])]
        if r.kind == "alert":
            assert r.events == [ConnectionClosed()]
    assert side.events(HandshakeComplete) == [expected_handshake_complete(section, actor)]
    # The secrets of RFC 8446 §7.1 as the trace derives them ("tls13 ... traffic", "exp master",
    # §4's "c e traffic" and "e exp master") and the resumption master secret ("res master",
    # §3's ticket PSK derives from it).
    assert sorted(side.keylog) == rfc_key_log(section)
    traffic = side.conn._handshake
    assert isinstance(traffic, Traffic13)
    res_master = section.get('{client}  derive secret "tls13 res master"', "expanded")
    assert traffic.resumption_secret == res_master
    # The peer's certificate went through the verifier; our CertificateVerify through the hook.
    peer = "server" if actor == "client" else "client"
    if side.verifier is not None:  # §4: the client was ready for §3's certificate, got none
        shown = has_message(section, peer, "Certificate")
        assert side.verifier.seen == ([(rfc_certificate(section, peer),)] if shown else [])
    else:
        assert actor == "server" and not has_message(section, "client", "Certificate")
    if has_message(section, actor, "CertificateVerify"):
        assert side.signer is not None
        assert side.signer.schemes == [decoded(section, actor, CertificateVerify).algorithm]
    else:
        assert side.signer is None


def resumption_psk_from_trace(s3: Section) -> bytes:
    return s3.get('{server}  generate resumption secret "tls13 resumption"', "expanded")


def test_section3_server_seals_the_rfc_resumption_psk() -> None:
    s3 = TRACE.section("3")
    side = replayed("3", "server")
    assert isinstance(side.config, ServerConfig)
    sealer = side.config.ticket_sealer
    assert isinstance(sealer, ReplayTicketSealer)
    (state,) = sealer.sealed
    # RFC 8448 §3 "generate resumption secret": the state we seal carries exactly that PSK.
    assert state.psk == resumption_psk_from_trace(s3)
    assert (state.lifetime, state.max_early_data_size, state.server_name) == (30, 1024, b"server")
    assert state.issued_at == int(RFC_TIME.timestamp())


def test_section3_client_keeps_the_rfc_ticket() -> None:
    s3 = TRACE.section("3")
    side = replayed("3", "client")
    (ticket_event,) = side.events(SessionTicketReceived)
    session = ticket_event.session
    assert session.psk == resumption_psk_from_trace(s3)  # the RFC's "tls13 resumption" PSK
    assert (session.server_name, session.ticket_lifetime, session.max_early_data_size) == (
        "server",
        30,
        1024,
    )
    ticket = rfc_ticket(s3)
    assert ticket is not None and session.ticket == ticket.ticket


def test_section4_resumes_with_the_section3_ticket() -> None:
    """§4's ClientHello offers §3's ticket with the client's view of its age; the clocks we
    chose give our client that view and our server an age within its tolerance (§8.3)."""
    s4 = TRACE.section("4")
    session, state = kept_session("3"), sealed_state("3")
    # "extract secret early": the PSK is §3's "tls13 resumption" output, on both sides.
    assert session.psk == state.psk == s4.get('{client}  extract secret "early"', "IKM")
    assert (
        session.cipher_suite
        == state.cipher_suite
        == decoded(s4, "server", ServerHello).cipher_suite
    )
    # The client's age: 6 ms, which the ClientHello obfuscates with §3's ticket_age_add.
    assert claimed_ticket_age_ms(s4) == 6
    offer = psk_offer(s4)
    assert offer is not None
    now = resumption_time(s4)
    assert session.obfuscated_ticket_age(now) == offer.identities[0].obfuscated_ticket_age
    assert session.ticket_age_add == state.ticket_age_add
    # The server's: from issued_at (whole seconds) to its clock, the same within 1 ms.
    assert state.issued_at == int(RFC_TIME.timestamp()) == session.received_at
    server_config = server_side(s4).config
    assert isinstance(server_config, ServerConfig)
    assert server_config.clock() == now
    assert abs((now - state.issued_at) - claimed_ticket_age_ms(s4) / 1000) < 0.001


def test_section4_server_accepts_the_rfc_early_data() -> None:
    """The RFC's ClientHello and 0-RTT record on their own: the server opens §3's ticket,
    asks the replay guard about the ClientHello's binder once, at its clock, derives the RFC's
    early secrets, reads the early data under them and announces early_data in the RFC's
    EncryptedExtensions."""
    s4 = TRACE.section("4")
    side = server_side(s4)
    assert isinstance(side.config, ServerConfig)
    config = replace(side.config, trace_handshake=True)
    server = ServerConnection(config)
    events = server.receive_data(record(s4, "client", "handshake", 0))
    early = zero_rtt_step(s4)
    events += server.receive_data(early["complete record"])
    assert [e for e in events if not isinstance(e, HandshakeMessageTraced)] == [
        EarlyDataReceived(data=early["payload"])
    ]
    assert early["payload"] == b"ABCDEF"
    server_hello, _flight = split_records(server.data_to_send())
    assert server_hello[5:] == message(s4, "server", "ServerHello")
    assert traced(events, "sent", EncryptedExtensions) == [
        decoded(s4, "server", EncryptedExtensions)
    ]
    sealer, guard = config.ticket_sealer, config.replay_guard
    assert isinstance(sealer, ReplayTicketSealer) and isinstance(guard, RecordingReplayGuard)
    offer = psk_offer(s4)
    assert offer is not None
    assert sealer.opened == [offer.identities[0].identity]
    assert guard.calls == [(offer.binders[0], resumption_time(s4), config.ticket_age_tolerance)]
    client_random = decoded(s4, "client", ClientHello).random.hex()
    for name, label in (
        ("CLIENT_EARLY_TRAFFIC_SECRET", "c e traffic"),
        ("EARLY_EXPORTER_SECRET", "e exp master"),
    ):
        assert f"{name} {client_random} {rfc_secret(s4, label).hex()}" in side.keylog
    assert server.export_early_keying_material("EXPORTER-rfc8448", 32, b"context") == (
        early_exports(s4)
    )


def test_section4_client_sends_0rtt() -> None:
    """Our client, having queued the RFC's ClientHello, may send up to the ticket's 1024 bytes
    of early data until the server answers, exports from the RFC's early exporter secret, and
    sends no change_cipher_spec (§4's legacy_session_id is empty: no compatibility mode)."""
    s4 = TRACE.section("4")
    side = client_side(s4)
    assert isinstance(side.conn, ClientConnection)
    assert decoded(s4, "client", ClientHello).legacy_session_id == b""
    assert side.conn.early_data_room == kept_session("3").max_early_data_size == 1024
    with pytest.raises(UsageError):
        side.conn.send_early_data(bytes(1025))
    side.run()
    assert side.conn.early_data_room == 0
    assert side.conn.export_early_keying_material("EXPORTER-rfc8448", 32, b"context") == (
        early_exports(s4)
    )
    assert side.events(EarlyDataRejected) == []


@pytest.mark.parametrize("accepted", [True, False], ids=["within-tolerance", "beyond-tolerance"])
def test_section4_server_clock_decides_0rtt(accepted: bool) -> None:
    """The age check is live: with the server's clock 1 s within its ticket_age_tolerance of
    the client's view the same ClientHello gets 0-RTT; 1 s beyond it (still within the ticket's
    30 s lifetime: the PSK is accepted) it gets 1-RTT: no EarlyDataReceived, EncryptedExtensions
    without early_data, the replay guard never asked, and the client gets its data back."""
    s4 = TRACE.section("4")
    base = server_side(s4).config
    assert isinstance(base, ServerConfig)
    late_by = base.ticket_age_tolerance + (-1 if accepted else 1)
    assert late_by < sealed_state("3").lifetime
    config = replace(base, clock=fixed_clock(resumption_time(s4) + late_by), trace_handshake=True)
    server = ServerConnection(config)
    client = client_side(s4).conn
    assert isinstance(client, ClientConnection)
    early = zero_rtt_step(s4)
    client.send_early_data(early["payload"])
    sent = split_records(client.data_to_send())
    assert sent == [record(s4, "client", "handshake", 0), early["complete record"]]

    events = server.receive_data(b"".join(sent))
    flight = server.data_to_send()
    server_hello, _protected = split_records(flight)
    assert server_hello[5:] == message(s4, "server", "ServerHello")
    (ee,) = traced(events, "sent", EncryptedExtensions)
    rfc_ee = decoded(s4, "server", EncryptedExtensions)
    if accepted:
        assert ee == rfc_ee
    else:
        without = tuple(e for e in rfc_ee.extensions if not isinstance(e, EarlyData))
        assert ee == replace(rfc_ee, extensions=without)
    received = [e.data for e in events if isinstance(e, EarlyDataReceived)]
    assert received == ([early["payload"]] if accepted else [])
    guard = config.replay_guard
    assert isinstance(guard, RecordingReplayGuard)
    assert len(guard.calls) == (1 if accepted else 0)

    client_events = client.receive_data(flight)
    rejected = [e.data for e in client_events if isinstance(e, EarlyDataRejected)]
    assert rejected == ([] if accepted else [early["payload"]])
    server_events = server.receive_data(client.data_to_send())
    for info in (client.handshake_info, server.handshake_info):
        assert info is not None and info in client_events + server_events
        assert (info.resumed, info.early_data_accepted) == (True, accepted)


@pytest.mark.parametrize(("number", "actor"), [("6", "server"), ("6", "client")])
def test_section6_keys_are_stand_ins(number: str, actor: str) -> None:
    """The RFC's §6 signatures cannot come from our keys: they were returned by the hook."""
    certified = certified_key(number, actor)
    assert isinstance(certified, StandInCertifiedKey)
    cert = rfc_certificate(TRACE.section(number), actor)
    assert certified.der_chain == (der(cert),)
    assert type(certified.private_key.public_key()) is type(cert.public_key())
    assert certified.private_key.public_key() != cert.public_key()
    with pytest.raises(ConfigurationError, match="does not match the certificate"):
        CertifiedKey(chain=(cert,), private_key=certified.private_key)


@pytest.mark.parametrize("number", ["4", "6", "7"])
def test_our_client_hello_matches_the_rfc_where_it_can(number: str) -> None:
    """Our own ClientHello builder with the RFC's randomness: the same random, the same
    legacy_session_id (32 bytes in §7's compatibility mode, RFC 8446 D.4, empty in §6) and the
    same key share and lists; in §4, from the session kept in §3, the same ticket and
    obfuscated age, early_data and psk_key_exchange_modes, and a binder from the RFC's binder
    key. It cannot be NSS's byte for byte: NSS also sends renegotiation_info (and
    psk_key_exchange_modes without a ticket), and orders extensions differently."""
    section = TRACE.section(number)
    rfc = decoded(section, "client", ClientHello)
    config = client_side(section).config
    assert isinstance(config, ClientConfig)
    assert config.middlebox_compatibility is (number == "7")
    randomness = (rfc.random, rfc.legacy_session_id) if rfc.legacy_session_id else (rfc.random,)
    config = replace(config, random=fixed_random(*randomness))
    if number in RESUMES:
        store = InMemoryClientSessionStore()
        store.put(kept_session(RESUMES[number]))
        config = replace(config, session_store=store)
    ours_conn = ClientConnection(config, "server")
    (ours_record,) = split_records(ours_conn.data_to_send())
    ours = decode_handshake(ours_record[5:])
    assert isinstance(ours, ClientHello)
    assert (ours.random, ours.legacy_session_id) == (rfc.random, rfc.legacy_session_id)
    assert len(ours.legacy_session_id) == (32 if number == "7" else 0)
    for cls in (
        ServerName,
        SupportedVersionsClientHello,
        SupportedGroups,
        SignatureAlgorithms,
        KeyShareClientHello,
    ):
        assert ours.get(cls) == rfc.get(cls), cls.__name__
    ours_psk, rfc_psk = ours.get(PreSharedKeyClientHello), rfc.get(PreSharedKeyClientHello)
    if number not in RESUMES:
        assert ours_psk is rfc_psk is None
        assert ours.get(EarlyData) is None
        return
    assert ours_psk is not None and rfc_psk is not None
    assert ours_psk.identities == rfc_psk.identities  # ticket and obfuscated_ticket_age
    assert ours.get(EarlyData) == rfc.get(EarlyData) == EarlyData(max_early_data_size=None)
    assert ours.get(PskKeyExchangeModes) == rfc.get(PskKeyExchangeModes)
    # RFC 8446 §4.2.11.2: the binder is the Finished construction over the hello up to the
    # binders, from the "res binder" key (the RFC's PRK) of the session's PSK. The RFC's
    # binder is over its own hello: the same key gives it.
    binder_step = section.step("{client}  calculate PSK binder")
    psk = kept_session(RESUMES[number]).psk
    assert EarlySecret.from_psk("sha256", psk).binder_key(external=False) == binder_step["PRK"]
    finished_key = binder_step["expanded"]
    ours_hash = hashlib.sha256(ours.truncated_for_binders()).digest()
    assert ours_psk.binders == (finished_mac("sha256", finished_key, ours_hash),)
    rfc_hash = hashlib.sha256(rfc.truncated_for_binders()).digest()
    assert rfc_hash == binder_step["binder hash"]
    assert rfc_psk.binders == (finished_mac("sha256", finished_key, rfc_hash),)
    assert rfc_psk.binders == (binder_step["finished"],)
    assert ours_conn.early_data_room == 1024


@pytest.mark.parametrize("number", REPLAYED)
def test_trace_has_the_records_we_replay(number: str) -> None:
    section = TRACE.section(number)
    records = section.records()
    assert records[0][:2] == ("client", "handshake")
    assert record(section, "client", "handshake", 0)[:3] == b"\x16\x03\x01"
    assert [r[:2] for r in records[-2:]] == [("client", "alert"), ("server", "alert")]
    ccs = [actor for actor, kind, _ in records if kind == "change_cipher_spec"]
    assert ccs == (["server", "client"] if number == "7" else [])
