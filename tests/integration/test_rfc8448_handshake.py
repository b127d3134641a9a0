"""RFC 8448 §3 (simple 1-RTT) and §5 (HelloRetryRequest), replayed byte for byte from both sides.

The server and client run with the RFC's randoms and ephemeral keys injected through the
config. Every record either side produces must equal the RFC's record exactly.

RSA-PSS signatures are randomised, so no implementation can recreate the RFC's CertificateVerify
signature by itself. The server's ``signer`` hook therefore first checks that the RFC signature
verifies over *the content our server built* (proving that content is byte-exact), then returns
it, so the rest of the transcript can be compared too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from rfc8448 import Section, load_rfc8448
from tlsmachine import (
    ApplicationData,
    ClientConfig,
    ConnectionClosed,
    HandshakeComplete,
    ServerConfig,
    ServerConnection,
    SessionTicketReceived,
)
from tlsmachine.certs import CertifiedKey
from tlsmachine.client.hello import ExpectServerHello
from tlsmachine.connection import Connection
from tlsmachine.crypto.groups import GROUPS, Group, PrivateKeyShare, group_by_id
from tlsmachine.crypto.signatures import verify
from tlsmachine.enums import NamedGroup
from tlsmachine.machine import Output
from tlsmachine.messages import decode_handshake
from tlsmachine.messages.hello import ClientHello
from tlsmachine.messages.tls13 import Certificate, NewSessionTicket
from tlsmachine.session import TicketState

TRACE = load_rfc8448()
NSS_GROUPS = tuple(
    g
    for g in GROUPS.values()
    if g.id
    in (
        NamedGroup.X25519,
        NamedGroup.SECP256R1,
        NamedGroup.SECP384R1,
        NamedGroup.SECP521R1,
        NamedGroup.FFDHE2048,
        NamedGroup.FFDHE3072,
        NamedGroup.FFDHE4096,
        NamedGroup.FFDHE6144,
        NamedGroup.FFDHE8192,
    )
)


# RFC 8448 §5's server prefers P-256 and says so in EncryptedExtensions.
NSS_SERVER_GROUPS_5 = tuple(
    GROUPS[g] for g in (NamedGroup.SECP256R1, NamedGroup.SECP384R1, NamedGroup.X25519)
)


def record(section: Section, actor: str, kind: str, occurrence: int) -> bytes:
    return section.get(f"{{{actor}}}  send {kind} record", "complete record", occurrence=occurrence)


def message(section: Section, actor: str, name: str, occurrence: int = 0) -> bytes:
    article = "an" if name[0] in "AEIOU" else "a"
    label = f"{{{actor}}}  construct {article} {name} handshake message"
    return section.get(label, name, occurrence=occurrence)


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


def rfc_certificate(section: Section) -> x509.Certificate:
    cert_msg = decode_handshake(message(section, "server", "Certificate"))
    assert isinstance(cert_msg, Certificate)
    return x509.load_der_x509_certificate(cert_msg.certificate_list[0].cert_data)


def fixed_random(*values: bytes) -> Callable[[int], bytes]:
    it: Iterator[bytes] = iter(values)

    def random(n: int) -> bytes:
        value = next(it)
        assert len(value) == n
        return value

    return random


def injected_keys(keys: dict[int, bytes]) -> Callable[[Group], PrivateKeyShare]:
    def factory(group: Group) -> PrivateKeyShare:
        return group.from_private_bytes(keys[group.id])

    return factory


def rfc_signer(section: Section, cert: x509.Certificate) -> Callable[[int, object, bytes], bytes]:
    cv = decode_handshake(message(section, "server", "CertificateVerify"))

    def signer(scheme: int, _key: object, content: bytes) -> bytes:
        assert scheme == cv.algorithm  # type: ignore[attr-defined]
        verify(scheme, cert.public_key(), cv.signature, content)  # type: ignore[attr-defined]
        return cv.signature  # type: ignore[attr-defined]

    return signer


class AcceptRFCCertificate:
    """The RFC's certificate is long expired and names no host; check it is the one we expect."""

    def __init__(self, expected: x509.Certificate) -> None:
        self.expected = expected
        self.seen: list[x509.Certificate] = []

    def verify_server(self, chain, server_name, now) -> None:  # type: ignore[no-untyped-def]
        assert server_name == "server"
        assert list(chain) == [self.expected]
        self.seen.append(chain[0])

    def verify_client(self, chain, now) -> None:  # type: ignore[no-untyped-def]
        raise AssertionError("no client authentication in these traces")


def rfc_ticket(section: Section) -> NewSessionTicket:
    ticket = decode_handshake(message(section, "server", "NewSessionTicket"))
    assert isinstance(ticket, NewSessionTicket)
    return ticket


def ticket_randoms(section: Section) -> tuple[bytes, ...]:
    """The server's randomness after ServerHello.random: the ticket_age_add of §3's ticket."""
    if section.number != "3":
        return ()
    return (rfc_ticket(section).ticket_age_add.to_bytes(4, "big"),)


class ReplayTicketSealer:
    """Ticket contents are the server's private business (NSS's format in the RFC): seal to the
    RFC's opaque ticket, after checking that what we seal is our own well-formed state."""

    def __init__(self, section: Section) -> None:
        self.ticket = rfc_ticket(section).ticket
        self.sealed: list[TicketState] = []

    def seal(self, plaintext: bytes) -> bytes:
        self.sealed.append(TicketState.parse(plaintext))
        return self.ticket

    def open(self, ticket: bytes) -> bytes | None:
        return None


def server_config(section: Section, *, cookie: bytes | None = None) -> ServerConfig:
    cert = rfc_certificate(section)
    server_hello = message(section, "server", "ServerHello", occurrence=1 if cookie else 0)
    ecdhe = "P-256" if section.number == "5" else "x25519"
    server_private = section.get(f"{{server}}  create an ephemeral {ecdhe} key pair", "private key")
    group = NamedGroup.SECP256R1 if section.number == "5" else NamedGroup.X25519
    return ServerConfig(
        certificates=(CertifiedKey(chain=(cert,), private_key=rfc_server_key()),),
        groups=NSS_GROUPS if section.number == "3" else NSS_SERVER_GROUPS_5,
        strict_group_preference=True,
        # §3 issues one ticket (30 s, early data up to 1024 bytes); §5 issues none.
        session_tickets=1 if section.number == "3" else 0,
        ticket_lifetime=30,
        max_early_data_size=1024,
        ticket_sealer=ReplayTicketSealer(section) if section.number == "3" else None,
        random=fixed_random(server_hello[6:38], *ticket_randoms(section)),
        key_share_factory=injected_keys({group: server_private}),
        signer=rfc_signer(section, cert),
        hello_retry_cookie=(lambda _hash: cookie) if cookie else None,  # type: ignore[misc]
    )


def resumption_psk_from_trace(s3: Section) -> bytes:
    return s3.get('{server}  generate resumption secret "tls13 resumption"', "expanded")


def test_section3_server_byte_for_byte() -> None:
    s3 = TRACE.section("3")
    server = ServerConnection(server_config(s3))
    assert server.receive_data(record(s3, "client", "handshake", 0)) == []
    assert server.data_to_send() == record(s3, "server", "handshake", 0) + record(
        s3, "server", "handshake", 1
    )
    events = server.receive_data(record(s3, "client", "handshake", 1))
    (done,) = events
    assert isinstance(done, HandshakeComplete)
    assert (done.cipher_suite, done.group, done.server_name) == (
        "TLS_AES_128_GCM_SHA256",
        "x25519",
        "server",
    )
    assert server.data_to_send() == record(s3, "server", "handshake", 2)  # NewSessionTicket
    sealer = server.config.ticket_sealer
    assert isinstance(sealer, ReplayTicketSealer)
    (state,) = sealer.sealed
    # RFC 8448 §3 "generate resumption secret": the state we seal carries exactly that PSK.
    assert state.psk == resumption_psk_from_trace(s3)
    assert (state.lifetime, state.max_early_data_size, state.server_name) == (30, 1024, b"server")
    events = server.receive_data(record(s3, "client", "application_data", 0))
    payload = s3.get("{client}  send application_data record", "payload")
    assert events == [ApplicationData(data=payload)]
    server.send(s3.get("{server}  send application_data record", "payload"))
    assert server.data_to_send() == record(s3, "server", "application_data", 0)
    assert server.receive_data(record(s3, "client", "alert", 0)) == [ConnectionClosed()]
    server.close()
    assert server.data_to_send() == record(s3, "server", "alert", 0)


def start_client(section: Section, config: ClientConfig) -> Connection:
    """A client that has sent the RFC's ClientHello (ours cannot be NSS's byte for byte)."""
    hello = decode_handshake(message(section, "client", "ClientHello"))
    assert isinstance(hello, ClientHello)
    share = config.key_share_factory(group_by_id(NamedGroup.X25519))  # type: ignore[arg-type]
    out = Output()
    state = ExpectServerHello.after_sending(config, "server", hello, (share,), out)
    conn = Connection(state, trace=False, keylog=None)
    conn._records.write_version = 0x0301  # as ClientConnection does for the first hello
    conn._apply(out)
    conn._records.flush_handshake()
    conn._records.write_version = 0x0303
    assert conn.data_to_send() == record(section, "client", "handshake", 0)
    return conn


def client_config(section: Section, verifier: AcceptRFCCertificate) -> ClientConfig:
    keys = {
        NamedGroup.X25519: section.get(
            "{client}  create an ephemeral x25519 key pair", "private key"
        )
    }
    if section.number == "5":
        keys[NamedGroup.SECP256R1] = section.get(
            "{client}  create an ephemeral P-256 key pair", "private key"
        )
    return ClientConfig(
        verifier=verifier,  # type: ignore[arg-type]
        groups=NSS_GROUPS,
        key_share_factory=injected_keys(keys),
    )


def test_section3_client_byte_for_byte() -> None:
    s3 = TRACE.section("3")
    verifier = AcceptRFCCertificate(rfc_certificate(s3))
    client = start_client(s3, client_config(s3, verifier))
    events = client.receive_data(
        record(s3, "server", "handshake", 0) + record(s3, "server", "handshake", 1)
    )
    assert [type(e) for e in events] == [HandshakeComplete]
    assert verifier.seen == [verifier.expected]
    assert client.data_to_send() == record(s3, "client", "handshake", 1)
    (ticket_event,) = client.receive_data(record(s3, "server", "handshake", 2))
    assert isinstance(ticket_event, SessionTicketReceived)  # the NewSessionTicket
    session = ticket_event.session
    assert session.psk == resumption_psk_from_trace(s3)  # the RFC's "tls13 resumption" PSK
    assert (session.server_name, session.ticket_lifetime, session.max_early_data_size) == (
        "server",
        30,
        1024,
    )
    assert session.ticket == rfc_ticket(s3).ticket
    client.send(s3.get("{client}  send application_data record", "payload"))
    assert client.data_to_send() == record(s3, "client", "application_data", 0)
    events = client.receive_data(record(s3, "server", "application_data", 0))
    assert events == [
        ApplicationData(data=s3.get("{server}  send application_data record", "payload"))
    ]
    client.close()
    assert client.data_to_send() == record(s3, "client", "alert", 0)
    assert client.receive_data(record(s3, "server", "alert", 0)) == [ConnectionClosed()]


def rfc5_cookie(s5: Section) -> bytes:
    hrr = decode_handshake(message(s5, "server", "ServerHello", occurrence=0))
    from tlsmachine.extensions import Cookie

    cookie = hrr.get(Cookie)  # type: ignore[attr-defined]
    assert cookie is not None
    return cookie.cookie  # type: ignore[no-any-return]


def test_section5_server_byte_for_byte() -> None:
    s5 = TRACE.section("5")
    server = ServerConnection(server_config(s5, cookie=rfc5_cookie(s5)))
    server.receive_data(record(s5, "client", "handshake", 0))
    assert server.data_to_send() == record(s5, "server", "handshake", 0)  # HelloRetryRequest
    server.receive_data(record(s5, "client", "handshake", 1))
    assert server.data_to_send() == record(s5, "server", "handshake", 1) + record(
        s5, "server", "handshake", 2
    )
    (done,) = server.receive_data(record(s5, "client", "handshake", 2))
    assert isinstance(done, HandshakeComplete) and done.hello_retry and done.group == "secp256r1"
    server.close()
    assert server.data_to_send() == record(s5, "server", "alert", 0)


def test_section5_client_byte_for_byte() -> None:
    s5 = TRACE.section("5")
    verifier = AcceptRFCCertificate(rfc_certificate(s5))
    client = start_client(s5, client_config(s5, verifier))
    assert client.receive_data(record(s5, "server", "handshake", 0)) == []
    assert client.data_to_send() == record(s5, "client", "handshake", 1)  # second ClientHello
    events = client.receive_data(
        record(s5, "server", "handshake", 1) + record(s5, "server", "handshake", 2)
    )
    (done,) = events
    assert isinstance(done, HandshakeComplete) and done.hello_retry
    assert client.data_to_send() == record(s5, "client", "handshake", 2)
    client.close()
    assert client.data_to_send() == record(s5, "client", "alert", 0)


@pytest.mark.parametrize("number", ["3", "5"])
def test_trace_has_the_records_we_replay(number: str) -> None:
    section = TRACE.section(number)
    assert record(section, "client", "handshake", 0)[:3] == b"\x16\x03\x01"
