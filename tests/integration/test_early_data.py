"""0-RTT early data in memory (RFC 8446 §2.3, §4.2.10, §4.5, §8)."""

from __future__ import annotations

import dataclasses

import pytest

from memory_pair import pump
from tls_fixtures import Clock
from tls_fixtures import server_cert as certificate
from tlsmachine import (
    ApplicationData,
    ClientConfig,
    ClientConnection,
    Event,
    HandshakeComplete,
    InMemoryClientSessionStore,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.crypto.groups import SECP384R1, X25519
from tlsmachine.crypto.suites import TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256
from tlsmachine.enums import AlertDescription, ContentType, ProtocolVersion
from tlsmachine.errors import ProtocolError, UnexpectedMessage, UsageError
from tlsmachine.events import (
    EarlyDataReceived,
    EarlyDataRejected,
    HandshakeMessageTraced,
    RecordTraced,
)
from tlsmachine.extensions import EarlyData
from tlsmachine.keyschedule import traffic_key_iv
from tlsmachine.messages.hello import ClientHello
from tlsmachine.record.protection import Aead13Protector
from tlsmachine.session import AeadTicketSealer, ClientSession, InMemorySessionStore
from wire import CCS, plaintext_alert, record, records

LIMIT = 4096


@dataclasses.dataclass
class Setup:
    clock: Clock
    store: InMemoryClientSessionStore
    client: ClientConfig
    server: ServerConfig
    keylog: list[str]

    def connect(
        self, client: ClientConfig | None = None, server: ServerConfig | None = None
    ) -> tuple[ClientConnection, ServerConnection]:
        return ClientConnection(client or self.client, "localhost"), ServerConnection(
            server or self.server
        )

    def full_handshake(self) -> None:
        """Collect tickets from a full handshake."""
        client, server = self.connect()
        pump(client, server)
        assert client.handshake_info is not None and not client.handshake_info.resumed


@pytest.fixture
def setup() -> Setup:
    clock = Clock()
    store = InMemoryClientSessionStore()
    keylog: list[str] = []
    client = ClientConfig(
        verify_certificates=False,
        session_store=store,
        clock=clock,
        early_data=True,
        alpn_protocols=("h2", "http/1.1"),
        keylog=keylog.append,
    )
    server = ServerConfig(
        certificates=(certificate(),),
        clock=clock,
        ticket_sealer=AeadTicketSealer(),
        max_early_data_size=LIMIT,
        alpn_protocols=("h2",),
        keylog=keylog.append,
    )
    result = Setup(clock, store, client, server, keylog)
    result.full_handshake()
    clock.now += 2
    return result


def of_type(events: list[Event], cls: type) -> list:  # type: ignore[type-arg]
    return [e for e in events if isinstance(e, cls)]


def complete(events: list[Event]) -> HandshakeComplete:
    (done,) = of_type(events, HandshakeComplete)
    return done  # type: ignore[no-any-return]


def test_early_data_is_accepted_and_delivered_before_the_handshake_completes(
    setup: Setup,
) -> None:
    client, server = setup.connect()
    assert client.early_data_room == LIMIT
    client.send_early_data(b"GET / HTTP/1.1\r\n")
    client.send_early_data(b"\r\n")
    assert client.early_data_room == LIMIT - 18
    server_events = server.receive_data(client.data_to_send())
    early = of_type(server_events, EarlyDataReceived)
    assert b"".join(e.data for e in early) == b"GET / HTTP/1.1\r\n\r\n"
    assert not of_type(server_events, HandshakeComplete)  # the client's Finished is to come
    client_events, server_events = pump(client, server)
    assert complete(client_events).early_data_accepted and complete(client_events).resumed
    assert complete(server_events).early_data_accepted
    assert not of_type(client_events, EarlyDataRejected)
    assert client.early_data_room == 0
    client.send(b"after")
    server.send(b"reply")
    client_events, server_events = pump(client, server)
    assert [e.data for e in of_type(server_events, ApplicationData)] == [b"after"]
    assert [e.data for e in of_type(client_events, ApplicationData)] == [b"reply"]


def test_early_keys_and_exporter_agree_and_are_logged(setup: Setup) -> None:
    client, server = setup.connect()
    client.send_early_data(b"x")
    pump(client, server)
    label, context = "EXPORTER-test", b"ctx"
    assert client.export_early_keying_material(label, 32, context) == (
        server.export_early_keying_material(label, 32, context)
    )
    assert client.export_early_keying_material(label, 32, context) != (
        client.export_keying_material(label, 32, context)
    )
    for name in ("CLIENT_EARLY_TRAFFIC_SECRET", "EARLY_EXPORTER_SECRET"):
        lines = [line for line in setup.keylog if line.startswith(name + " ")]
        assert len(lines) == 2 and lines[0] == lines[1]  # client and server agree


def test_early_data_goes_through_the_end_of_early_data_message(setup: Setup) -> None:
    traced = dataclasses.replace(setup.server, trace_handshake=True)
    client, server = setup.connect(server=traced)
    client.send_early_data(b"hello")
    _, server_events = pump(client, server)
    seen = [e for e in server_events if isinstance(e, HandshakeMessageTraced | RecordTraced)]
    names = [e.name for e in seen if e.direction == "received"]
    # the client's compatibility ChangeCipherSpec follows a ClientHello with early data
    # (RFC 8446 Appendix D.4)
    assert names == ["client_hello", "change_cipher_spec", "end_of_early_data", "finished"]


def test_server_without_early_data_rejects_and_the_client_gets_its_data_back(
    setup: Setup,
) -> None:
    no_early = dataclasses.replace(setup.server, max_early_data_size=0)
    client, server = setup.connect(server=no_early)
    client.send_early_data(b"request one")
    client.send_early_data(b"request two")
    client_events, server_events = pump(client, server)
    (rejected,) = of_type(client_events, EarlyDataRejected)
    assert rejected.data == b"request onerequest two"
    assert complete(client_events).resumed and not complete(client_events).early_data_accepted
    assert not of_type(server_events, EarlyDataReceived)
    assert complete(server_events).resumed
    client.send(rejected.data)  # the application resends it as ordinary data
    _, server_events = pump(client, server)
    assert b"".join(e.data for e in of_type(server_events, ApplicationData)) == rejected.data


@pytest.mark.parametrize("rejection", ["early data refused", "ticket refused"])
def test_early_exporter_ends_with_rejected_early_data(setup: Setup, rejection: str) -> None:
    """The client's early exporter serves its 0-RTT data (RFC 8446 §7.5: "SHOULD be used for
    exporters used ... in 0-RTT data"). Once the server has refused that data, the value
    protects nothing: the server has no early exporter then, so the client has none either,
    rather than a value the server never computed (after a refused ticket, it cannot)."""
    sealer = AeadTicketSealer() if rejection == "ticket refused" else setup.server.ticket_sealer
    refusing = dataclasses.replace(setup.server, max_early_data_size=0, ticket_sealer=sealer)
    client, server = setup.connect(server=refusing)
    client.send_early_data(b"x")
    during = client.export_early_keying_material("EXPORTER-test", 32)  # while sending 0-RTT
    assert len(during) == 32
    client_events, _ = pump(client, server)
    assert of_type(client_events, EarlyDataRejected)
    assert complete(client_events).resumed is (rejection == "early data refused")
    for conn in (client, server):
        with pytest.raises(UsageError, match="early exporter"):
            conn.export_early_keying_material("EXPORTER-test", 32)


def test_rejection_by_hello_retry_request_skips_plaintext_epoch_records(setup: Setup) -> None:
    # The client's share is x25519; a server that wants only secp384r1 asks again (§4.2.10).
    retry = dataclasses.replace(setup.server, groups=(SECP384R1,))
    client_config = dataclasses.replace(setup.client, groups=(X25519, SECP384R1))
    client, server = setup.connect(client=client_config, server=retry)
    client.send_early_data(b"a" * 1000)
    client.send_early_data(b"b" * 1000)
    client_events, server_events = pump(client, server)
    assert of_type(client_events, EarlyDataRejected)[0].data == b"a" * 1000 + b"b" * 1000
    done = complete(client_events)
    assert done.hello_retry and done.resumed and not done.early_data_accepted
    assert complete(server_events).hello_retry
    assert not of_type(server_events, EarlyDataReceived)


def test_second_client_hello_drops_early_data(setup: Setup) -> None:
    retry = dataclasses.replace(setup.server, groups=(SECP384R1,), trace_handshake=True)
    client_config = dataclasses.replace(setup.client, groups=(X25519, SECP384R1))
    client, server = setup.connect(client=client_config, server=retry)
    _, server_events = pump(client, server)
    hellos = [
        e.message
        for e in server_events
        if getattr(e, "name", "") == "client_hello" and e.direction == "received"
    ]
    assert len(hellos) == 2
    assert isinstance(hellos[0], ClientHello) and hellos[0].get(EarlyData) is not None
    assert isinstance(hellos[1], ClientHello) and hellos[1].get(EarlyData) is None


def test_replayed_client_hello_gets_no_early_data(setup: Setup) -> None:
    client, server = setup.connect()
    client.send_early_data(b"transfer 100")
    first_flight = client.data_to_send()
    assert of_type(server.receive_data(first_flight), EarlyDataReceived)
    # An attacker replays the same bytes to the same server (config, replay guard) later.
    replay = ServerConnection(setup.server)
    events = replay.receive_data(first_flight)
    assert not of_type(events, EarlyDataReceived)
    assert replay.data_to_send()  # the handshake goes on (1-RTT), it cannot complete


def test_stale_ticket_age_gets_no_early_data(setup: Setup) -> None:
    client, server = setup.connect()
    client.send_early_data(b"hello")
    setup.clock.now += 60  # the server sees the ClientHello a minute later (§8.3)
    client_events, server_events = pump(client, server)
    assert not of_type(server_events, EarlyDataReceived)
    assert of_type(client_events, EarlyDataRejected)[0].data == b"hello"
    assert complete(server_events).resumed  # the PSK is still good for 1-RTT


def test_ticket_of_another_alpn_protocol_gets_no_early_data(setup: Setup) -> None:
    other = dataclasses.replace(setup.server, alpn_protocols=("http/1.1", "h2"))
    client, server = setup.connect(server=other)
    client.send_early_data(b"hello")
    client_events, server_events = pump(client, server)
    assert not of_type(server_events, EarlyDataReceived)
    assert complete(client_events).alpn_protocol == "http/1.1"
    assert of_type(client_events, EarlyDataRejected)


def test_ticket_of_another_cipher_suite_gets_no_early_data(setup: Setup) -> None:
    # Same hash (SHA-256): the PSK still resumes, but 0-RTT needs the ticket's suite.
    other = dataclasses.replace(
        setup.server, cipher_suites=(TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256)
    )
    client, server = setup.connect(server=other)
    client.send_early_data(b"hello")
    client_events, server_events = pump(client, server)
    assert complete(server_events).resumed
    assert not of_type(server_events, EarlyDataReceived)
    assert of_type(client_events, EarlyDataRejected)


def test_early_data_over_the_limit(setup: Setup) -> None:
    client, _ = setup.connect()
    with pytest.raises(UsageError):
        client.send_early_data(b"x" * (LIMIT + 1))


def test_server_aborts_when_early_data_exceeds_its_limit(setup: Setup) -> None:
    small = dataclasses.replace(setup.server, max_early_data_size=100)
    client, server = setup.connect(server=small)
    assert client.early_data_room == LIMIT  # the ticket came from the generous config
    client.send_early_data(b"x" * 200)
    with pytest.raises(UnexpectedMessage):
        server.receive_data(client.data_to_send())


def test_no_early_data_without_a_ticket_that_allows_it(setup: Setup) -> None:
    fresh = dataclasses.replace(setup.client, session_store=InMemoryClientSessionStore())
    client = ClientConnection(fresh, "localhost")
    assert client.early_data_room == 0
    with pytest.raises(UsageError):
        client.send_early_data(b"x")
    disabled = dataclasses.replace(setup.client, early_data=False)
    assert ClientConnection(disabled, "localhost").early_data_room == 0


def test_stateful_store_tickets_are_single_use(setup: Setup) -> None:
    store = InMemorySessionStore()
    stateful = dataclasses.replace(setup.server, ticket_sealer=store)
    client, server = setup.connect(server=stateful)
    pump(client, server)  # a full handshake: the AEAD tickets do not open here
    assert len(store) == 2
    session = setup.store.get("localhost", setup.clock.now)
    assert isinstance(session, ClientSession)
    # Offer the same ticket twice: the second use falls back to a full handshake.
    for expect_resumed in (True, False):
        one = InMemoryClientSessionStore()
        one.put(session)
        config = dataclasses.replace(setup.client, session_store=one)
        client, server = setup.connect(client=config, server=stateful)
        client.send_early_data(b"once")
        _, server_events = pump(client, server)
        assert complete(server_events).resumed is expect_resumed
        assert bool(of_type(server_events, EarlyDataReceived)) is expect_resumed


# -- accepted early data, then a client that misbehaves (BoGo SkipEndOfEarlyData,
#    NonEmptyEndOfEarlyData, a handshake message inside the early data) ----------------------


def accepted_early_data(setup: Setup) -> tuple[ClientConnection, ServerConnection, bytes]:
    """A client that sent 0-RTT data the server accepted; the server's flight (not yet given to
    the client). The server now reads under the client's early traffic keys (RFC 8446 §7.3)."""
    client, server = setup.connect()
    client.send_early_data(b"hello")
    server.receive_data(client.data_to_send())
    flight = server.data_to_send()
    return client, server, flight


def early_sealer(setup: Setup, records_sent: int) -> Aead13Protector:
    """The client's early traffic protection, past the ``records_sent`` records it sealed."""
    line = [x for x in setup.keylog if x.startswith("CLIENT_EARLY_TRAFFIC_SECRET")][-1]
    key, iv = traffic_key_iv(TLS_AES_128_GCM_SHA256, bytes.fromhex(line.split()[2]))
    sealer = Aead13Protector(TLS_AES_128_GCM_SHA256.aead(key), iv)
    for _ in range(records_sent):
        sealer.seal(ContentType.APPLICATION_DATA, b"x")
    return sealer


@pytest.mark.parametrize(
    ("message", "alert"),
    [
        (b"\x14\x00\x00\x20" + bytes(32), AlertDescription.UNEXPECTED_MESSAGE),  # Finished
        (b"\x05\x00\x00\x01\x00", AlertDescription.DECODE_ERROR),  # EndOfEarlyData, 1 byte
    ],
    ids=["finished-under-early-keys", "non-empty-end-of-early-data"],
)
def test_only_an_empty_end_of_early_data_ends_the_early_data(
    setup: Setup, message: bytes, alert: AlertDescription
) -> None:
    """RFC 8446 §4.5: the client sends EndOfEarlyData (``struct {} EndOfEarlyData;``) under the
    early keys after its 0-RTT data; until then the server takes nothing else as a handshake
    message (BoGo TLS13-*-Server with a handshake message among the early data; a body in
    EndOfEarlyData is a decode_error, §6, BoGo NonEmptyEndOfEarlyData)."""
    _, server, _ = accepted_early_data(setup)
    record = early_sealer(setup, 1).seal(ContentType.HANDSHAKE, message)
    with pytest.raises(ProtocolError) as info:
        server.receive_data(record)
    assert info.value.alert is alert


def test_finished_without_end_of_early_data_is_bad_record_mac(setup: Setup) -> None:
    """BoGo SkipEndOfEarlyData: the client's Finished comes under its handshake keys while the
    server, having accepted 0-RTT data, still reads under the early keys (RFC 8446 §4.5, §7.3):
    the record does not open (bad_record_mac, §5.2)."""
    client, server, flight = accepted_early_data(setup)
    client.receive_data(flight)
    sent = [(t, f) for t, f in records(client.data_to_send()) if t != CCS]
    assert len(sent) == 2  # EndOfEarlyData (early keys), Finished (handshake keys)
    with pytest.raises(ProtocolError) as info:
        server.receive_data(record(*sent[1]))
    assert info.value.alert is AlertDescription.BAD_RECORD_MAC


def test_alert_after_early_data_goes_in_the_clear(setup: Setup) -> None:
    """A client that sent 0-RTT data and gets a TLS 1.2 ServerHello MUST fail (RFC 8446
    Appendix D.3). Its protocol_version alert goes in the clear: the early traffic keys carry
    0-RTT data and EndOfEarlyData only (§7.3), and a TLS 1.2 server could not read them."""
    tls12_server = dataclasses.replace(
        setup.server, max_version=ProtocolVersion.TLS12, max_early_data_size=0
    )
    client, server = setup.connect(server=tls12_server)
    client.send_early_data(b"hello")
    first = client.data_to_send()
    server.receive_data(records_bytes(first)[0])  # the ClientHello alone
    with pytest.raises(ProtocolError) as info:
        client.receive_data(server.data_to_send())
    assert info.value.alert is AlertDescription.PROTOCOL_VERSION
    assert client.data_to_send() == plaintext_alert(AlertDescription.PROTOCOL_VERSION)


def test_a_flood_of_empty_early_data_records_is_unexpected_message(setup: Setup) -> None:
    """Empty application data records are allowed (RFC 8446 §5.4), under the early keys too,
    but more than 32 in a row without data is refused, as after the handshake."""
    _, server, _ = accepted_early_data(setup)
    sealer = early_sealer(setup, 1)
    empty = [sealer.seal(ContentType.APPLICATION_DATA, b"") for _ in range(33)]
    server.receive_data(b"".join(empty[:32]))
    with pytest.raises(ProtocolError) as info:
        server.receive_data(empty[32])
    assert info.value.alert is AlertDescription.UNEXPECTED_MESSAGE


def records_bytes(data: bytes) -> list[bytes]:
    return [record(t, f) for t, f in records(data)]
