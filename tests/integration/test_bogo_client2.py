"""BoGo (BoringSSL ssl/test/runner) client tests, round 2, replayed against our ClientConnection.

Round 1 (``test_bogo_client.py``) explains the technique: in a BoGo ``clientTest`` the shim is
the client and a Go server misbehaves as its ``Bugs`` say. Here our own ServerConnection writes
the flight and the test edits it as that Go server would: a plaintext ServerHello is decoded,
changed and re-encoded; a TLS 1.3 encrypted flight is opened with the server's logged
handshake secret, edited and sealed again; TLS 1.2 records after the ChangeCipherSpec are
sealed with keys from the logged master secret (``CLIENT_RANDOM``), and the server's Finished
is recomputed when the handshake must still succeed.

This round covers what round 1 and the TLS-Anvil files (``test_anvil_client13.py``,
``test_anvil_client12.py``) leave out: resumption across suites and versions, ticket
lifetime and age, KeyUpdate framing, record padding limits, change_cipher_spec handling in both
versions, HelloRetryRequest extensions, ALPN/SNI answer syntax, the TLS 1.2 session-ticket
flow, extended_master_secret on resumption, and HelloRequest.

Each test names its BoGo test (or says there is none) and quotes the RFC sentence. The RFC
decides: where it names an alert, that alert is asserted; otherwise the fatal abort (or the
success the RFC requires). Where BoGo checks BoringSSL policy beyond the RFC, the docstring
says so and the RFC is followed. An RFC rule we break is a strict xfail.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from memory_pair import pump
from server_flight import (
    SUITE,
    Established,
    Flight13,
    Handshake12,
    client_config,
    completes,
    hello_record,
    raw_sealed,
    rejects,
    retry_client,
    sealer,
    server_config,
    ticket,
)
from tls_fixtures import Clock
from tlsmachine import (
    AeadTicketSealer,
    AlertReceived,
    ApplicationData,
    ClientConfig,
    ClientConnection,
    ConnectionState,
    HandshakeComplete,
    InMemoryClientSessionStore,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.client_session import ClientSession
from tlsmachine.crypto.groups import SECP256R1, SECP384R1, X25519
from tlsmachine.crypto.suites import (
    TLS_AES_256_GCM_SHA384,
    TLS_CHACHA20_POLY1305_SHA256,
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
)
from tlsmachine.enums import AlertDescription, ContentType, HandshakeType, ProtocolVersion
from tlsmachine.extensions import (
    PreSharedKeyClientHello,
    PreSharedKeyServerHello,
    SessionTicket,
    UnknownExtension,
)
from tlsmachine.keyschedule import hkdf_expand_label
from tlsmachine.messages import decode_handshake, encode_handshake
from tlsmachine.messages.hello import DOWNGRADE_TLS11, DOWNGRADE_TLS12, ClientHello, ServerHello
from tlsmachine.messages.tls13 import KeyUpdate
from wire import CCS, HANDSHAKE, messages, record, records

ALERT = AlertDescription
TLS12 = ProtocolVersion.TLS12
SEVEN_DAYS = 604800

# extension code points (IANA TLS ExtensionType registry)
SERVER_NAME_EXT = 0
STATUS_REQUEST_EXT = 5
ALPN_EXT = 16
EXTENDED_MASTER_SECRET_EXT = 23
RECORD_SIZE_LIMIT_EXT = 28
SESSION_TICKET_EXT = 35
PRE_SHARED_KEY_EXT = 41
EARLY_DATA_EXT = 42
COOKIE_EXT = 44
PSK_KEY_EXCHANGE_MODES_EXT = 45
KEY_SHARE_EXT = 51
RENEGOTIATION_INFO_EXT = 0xFF01

# == helpers (the shared ones are in tests/server_flight.py) ==================================


def raw_ext(ext_type: int, data: bytes = b"") -> UnknownExtension:
    return UnknownExtension(ext_type=ext_type, extension_data=data)


def first_hello(client: ClientConnection) -> tuple[bytes, ClientHello]:
    """The ClientHello message ``client`` wants to send (raw and decoded)."""
    raw = next(body for t, body in records(client.data_to_send()) if t == HANDSHAKE)
    hello = decode_handshake(raw)
    assert isinstance(hello, ClientHello)
    return raw, hello


def ticket_config(
    clock: Clock, max_early_data_size: int = 0, **kwargs: Any
) -> tuple[ClientConfig, ServerConfig]:
    """A client config holding a TLS 1.3 ticket (AES-128-GCM), and its issuer's config."""
    config = client_config(
        session_store=InMemoryClientSessionStore(),
        clock=clock,
        **{"cipher_suites": (SUITE, TLS_CHACHA20_POLY1305_SHA256), **kwargs},
    )
    issuer = server_config(
        session_tickets=1,
        clock=clock,
        ticket_sealer=AeadTicketSealer(),
        cipher_suites=(SUITE,),
        max_early_data_size=max_early_data_size,
    )
    pump(ClientConnection(config, "localhost"), ServerConnection(issuer))
    clock.now += 1
    return config, issuer


# -- TLS 1.2 ------------------------------------------------------------------------------------


def client12_config(**kwargs: Any) -> ClientConfig:
    return ClientConfig(
        **{"verify_certificates": False, "max_version": TLS12, "groups": (SECP256R1,), **kwargs}
    )


def server12_config(**kwargs: Any) -> ServerConfig:
    return server_config(**{"groups": (SECP256R1,), **kwargs})


# == TLS 1.3: resumption =======================================================================


def test_resumption_under_another_suite_of_the_same_hash_succeeds() -> None:
    """BoGo Resume-Client-CipherMismatch-TLS13 (a ticket of AES-128-GCM resumed under
    ChaCha20-Poly1305): the handshake succeeds.

    RFC 8446 §4.2.11: the client verifies "that the server selected a cipher suite indicating a
    Hash associated with the PSK"; §4.6.1: the PSK may be used "with any cipher suite whose
    hash" is the same (ChaCha20-Poly1305 and AES-128-GCM both use SHA-256)."""
    clock = Clock()
    config, issuer = ticket_config(clock)
    chacha = dataclasses.replace(issuer, cipher_suites=(TLS_CHACHA20_POLY1305_SHA256,))
    client = ClientConnection(config, "localhost")
    events, _ = pump(client, ServerConnection(chacha))
    done = next(e for e in events if isinstance(e, HandshakeComplete))
    assert done.resumed
    assert done.cipher_suite == "TLS_CHACHA20_POLY1305_SHA256"


def test_resumption_under_a_suite_of_another_hash_is_illegal_parameter() -> None:
    """BoGo Resume-Client-PRFMismatch-TLS13 (SendCipherSuite TLS_AES_256_GCM_SHA384 on a
    SHA-256 ticket): ":OLD_SESSION_PRF_HASH_MISMATCH:".

    RFC 8446 §4.2.11: "Clients MUST verify that ... the server selected a cipher suite
    indicating a Hash associated with the PSK ... If these values are not consistent, the
    client MUST abort the handshake with an "illegal_parameter" alert.\""""
    clock = Clock()
    config, issuer = ticket_config(clock, cipher_suites=(SUITE, TLS_AES_256_GCM_SHA384))
    flight = Flight13.start(config, issuer)
    assert flight.server_hello.get(PreSharedKeyServerHello) is not None
    bad = flight.server_hello_with(cipher_suite=TLS_AES_256_GCM_SHA384.id)
    rejects(flight.client, bad, ALERT.ILLEGAL_PARAMETER)


def tls12_session_config(**kwargs: Any) -> ClientConfig:
    """A TLS 1.3-capable client config whose store holds a TLS 1.2 session (ticket)."""
    clock = Clock()
    store = InMemoryClientSessionStore()
    config = client_config(session_store=store, clock=clock, groups=(SECP256R1,), **kwargs)
    issuer = server12_config(
        max_version=TLS12, session_tickets=1, ticket_sealer=AeadTicketSealer(), clock=clock
    )
    events, _ = pump(ClientConnection(config, "localhost"), ServerConnection(issuer))
    assert any(isinstance(e, HandshakeComplete) and e.version == "TLSv1.2" for e in events)
    assert len(store) == 1
    clock.now += 1
    return config


def test_tls12_session_resumed_as_tls13_psk_is_unsupported_extension() -> None:
    """BoGo Resume-Client-Mismatch-TLS12-TLS13-TLS (AcceptAnySession: a TLS 1.3 server
    "resumes" a TLS 1.2 session with pre_shared_key): ":UNEXPECTED_EXTENSION:".

    RFC 8446 §4.2: "Implementations MUST NOT send extension responses if the remote endpoint
    did not send the corresponding extension requests ... Upon receiving such an extension, an
    endpoint MUST abort the handshake with an "unsupported_extension" alert." A TLS 1.2 session
    is offered as a session ticket / ID, never as a TLS 1.3 PSK."""
    config = tls12_session_config()
    flight = Flight13.start(config, server_config(groups=(SECP256R1,)))
    hello = decode_handshake(flight.client_hello)
    assert hello.get(PreSharedKeyClientHello) is None
    assert SESSION_TICKET_EXT in {e.ext_type for e in hello.extensions}
    bad = flight.server_hello_with(PreSharedKeyServerHello(selected_identity=0))
    rejects(flight.client, bad, ALERT.UNSUPPORTED_EXTENSION)


@pytest.mark.parametrize("with_session", [False, True], ids=["NoSession", "TLS13Session"])
def test_tls12_server_echoing_the_compatibility_session_id_is_illegal_parameter(
    with_session: bool,
) -> None:
    """BoGo EchoTLS13CompatibilitySessionID ("remote error: illegal parameter") and
    Resume-Client-Mismatch-TLS13-TLS12-TLS (AcceptAnySession: a TLS 1.2 server echoes the
    session ID of a client that offers a TLS 1.3 ticket): ":SERVER_ECHOED_INVALID_SESSION_ID:"
    / ":OLD_SESSION_VERSION_NOT_RETURNED:".

    RFC 5246 §7.4.1.3: the server echoes the session ID only when it resumes that session
    ("If a match is found ... the server will respond with the same value"); the client's
    legacy_session_id here is the random value of RFC 8446 Appendix D.4, naming no TLS 1.2
    session, so an echo resumes nothing the client has: an inconsistent field
    (illegal_parameter, BoGo's alert)."""
    clock = Clock()
    config = ticket_config(clock)[0] if with_session else client_config(groups=(SECP256R1,))
    config = dataclasses.replace(config, groups=(SECP256R1,))
    client = ClientConnection(config, "localhost")
    raw, hello = first_hello(client)
    assert len(hello.legacy_session_id) == 32
    assert (hello.get(PreSharedKeyClientHello) is not None) is with_session
    server = ServerConnection(server12_config(max_version=TLS12, clock=clock))
    server.receive_data(record(HANDSHAKE, raw))
    flight = server.data_to_send()
    body = next(m for t, b in records(flight) if t == HANDSHAKE for m in messages(b))
    sh = decode_handshake(body, version=TLS12)
    assert isinstance(sh, ServerHello)
    random = sh.random[:24] + bytes(8)  # a TLS 1.2-only server: no downgrade sentinel
    bad = hello_record(sh, random=random, legacy_session_id_echo=hello.legacy_session_id)
    rejects(client, bad, ALERT.ILLEGAL_PARAMETER, plaintext=True)


@pytest.mark.parametrize("version", ["TLS13", "TLS12"])
def test_server_declining_resumption_gets_a_full_handshake(version: str) -> None:
    """BoGo Resume-Client-NoResume-TLS13-TLS13-TLS / Resume-Client-NoResume-TLS12-TLS12-TLS
    (newSessionsOnResume: the server does not know the session): the full handshake succeeds.

    RFC 8446 §4.2.11: the server "MAY" select one of the offered PSKs; without one the
    handshake is a full one (§2). RFC 5246 §7.4.1.3: without a session-ID match the server
    answers with "a different value identifying the new session" and a full handshake."""
    clock = Clock()
    store = InMemoryClientSessionStore()
    if version == "TLS13":
        config = client_config(session_store=store, clock=clock)
        server = server_config(session_tickets=1, clock=clock, ticket_sealer=AeadTicketSealer())
    else:
        config = client12_config(session_store=store, clock=clock)
        server = server12_config(session_tickets=1, clock=clock, ticket_sealer=AeadTicketSealer())
    pump(ClientConnection(config, "localhost"), ServerConnection(server))
    assert len(store) == 1
    clock.now += 1
    stranger = dataclasses.replace(server, ticket_sealer=AeadTicketSealer())  # another key
    client = ClientConnection(config, "localhost")
    events, _ = pump(client, ServerConnection(stranger))
    done = next(e for e in events if isinstance(e, HandshakeComplete))
    assert not done.resumed
    assert done.version == ("TLSv1.3" if version == "TLS13" else "TLSv1.2")


# == TLS 1.3: NewSessionTicket ==================================================================


def offered_after(
    store: InMemoryClientSessionStore, clock: Clock
) -> PreSharedKeyClientHello | None:
    client = ClientConnection(client_config(clock=clock, session_store=store), "localhost")
    return first_hello(client)[1].get(PreSharedKeyClientHello)


@pytest.mark.parametrize(
    ("lifetime", "delay", "offered"),
    [
        (30 * 86400, SEVEN_DAYS - 10, True),
        (30 * 86400, SEVEN_DAYS + 1, False),
        (0, 0, False),
    ],
    ids=["30-days-used-within-7", "30-days-dropped-after-7", "zero-lifetime"],
)
def test_ticket_lifetime_is_capped_at_seven_days(lifetime: int, delay: int, offered: bool) -> None:
    """BoGo TLS13-HonorServerSessionTicketLifetime (SendTicketLifetime), here with a lifetime
    beyond the limit, and zero.

    RFC 8446 §4.6.1: ticket_lifetime: "Servers MUST NOT use any value greater than 604800
    seconds (7 days). The value of zero indicates that the ticket should be discarded
    immediately. Clients MUST NOT cache tickets for longer than 7 days, regardless of the
    ticket_lifetime\""""
    clock = Clock()
    store = InMemoryClientSessionStore()
    conn = Established.start(clock=clock, session_store=store)
    conn.client.receive_data(conn.seal(ticket(lifetime)))
    clock.now += delay
    assert (offered_after(store, clock) is not None) is offered


def test_obfuscated_ticket_age_is_the_age_plus_ticket_age_add() -> None:
    """BoGo TLS13-TestValidTicketAge-Client (ExpectTicketAge 10 s, -resumption-delay 10).

    RFC 8446 §4.2.11.1: "The "obfuscated_ticket_age" field of each PskIdentity contains an
    obfuscated version of the ticket age formed by taking the age in milliseconds and adding
    the "ticket_age_add" value that was included with the ticket ... modulo 2^32.\""""
    clock = Clock()
    store = InMemoryClientSessionStore()
    conn = Established.start(clock=clock, session_store=store)
    age_add = 0xFFFF_F000  # so that the sum wraps
    conn.client.receive_data(conn.seal(ticket(3600, age_add=age_add)))
    clock.now += 10
    psk = offered_after(store, clock)
    assert psk is not None
    age = (psk.identities[0].obfuscated_ticket_age - age_add) % 2**32
    assert age == 10_000


def test_new_session_ticket_early_data_of_the_wrong_length_is_decode_error() -> None:
    """No BoGo twin (round 1 has TLS13-DuplicateTicketEarlyDataSupport): a NewSessionTicket
    whose early_data extension has 2 bytes.

    RFC 8446 §4.2.10: in NewSessionTicket, ``uint32 max_early_data_size;``; §6.2
    decode_error: "A message could not be decoded because some field was out of the specified
    range or the length of the message was incorrect.\""""
    conn = Established.start()
    bad = ticket(3600, raw_ext(EARLY_DATA_EXT, b"\x40\x00"))
    rejects(conn.client, conn.seal(bad), ALERT.DECODE_ERROR)


def test_new_session_ticket_before_the_server_finished_is_unexpected_message() -> None:
    """No BoGo twin: a NewSessionTicket in the server's handshake flight, before Finished.

    RFC 8446 §4.6.1: "At any time after the server has received the client Finished message,
    it MAY send a NewSessionTicket message." Before that it is out of order: §6.2
    unexpected_message ("An inappropriate message (e.g., the wrong handshake message ...) was
    received")."""
    flight = Flight13.start()
    nst = encode_handshake(ticket())
    bad = flight.sealed([*flight.flight[:-1], nst, flight.flight[-1]])
    rejects(flight.client, bad, ALERT.UNEXPECTED_MESSAGE)


# == TLS 1.3: KeyUpdate =========================================================================


@pytest.mark.parametrize("request_update", [42, 255])
def test_key_update_with_an_unknown_request_is_illegal_parameter(request_update: int) -> None:
    """BoGo KeyUpdate-InvalidRequestMode (keyUpdateRequest 42): ":DECODE_ERROR:" -- BoringSSL's
    choice; the RFC names another alert, which decides:

    RFC 8446 §4.6.3: "If an implementation receives any other value, it MUST terminate the
    connection with an "illegal_parameter" alert." (TLS-Anvil's value 3 is in
    test_anvil_client13.)"""
    conn = Established.start()
    rejects(conn.client, conn.seal(KeyUpdate(request_update)), ALERT.ILLEGAL_PARAMETER)


@pytest.mark.parametrize("follower", ["whole-ticket", "partial-ticket"])
def test_data_after_a_key_update_in_its_record_is_unexpected_message(follower: str) -> None:
    """No BoGo twin (BoGo's Partial*With* tests cover the other key changes): a KeyUpdate
    followed, in the same record, by a NewSessionTicket (whole or its first bytes).

    RFC 8446 §5.1: "Handshake messages MUST NOT span key changes. Implementations MUST verify
    that all messages immediately preceding a key change align with a record boundary; if not,
    then they MUST terminate the connection with an "unexpected_message" alert. Because the
    ClientHello, EndOfEarlyData, ServerHello, Finished, and KeyUpdate messages can immediately
    precede a key change, implementations MUST verify that these messages are aligned with a
    record boundary.\""""
    conn = Established.start()
    nst = encode_handshake(ticket())
    tail = nst if follower == "whole-ticket" else nst[:5]
    rejects(conn.client, conn.seal(encode_handshake(KeyUpdate(0)) + tail), ALERT.UNEXPECTED_MESSAGE)


def test_key_update_fragmented_across_records_is_accepted() -> None:
    """BoGo KeyUpdate-Client with the MaxHandshakeRecordLength splitting: a KeyUpdate in two
    records, then application data under the next key.

    RFC 8446 §5.1: "Handshake messages MAY be fragmented across multiple TLSPlaintext records";
    §4.6.3: "Upon receiving a KeyUpdate, the receiver MUST update its receiving keys."; §7.2:
    application_traffic_secret_N+1 = HKDF-Expand-Label(..., "traffic upd", "", Hash.length)."""
    conn = Established.start()
    update = encode_handshake(KeyUpdate(0))
    data = conn.seal(update[:2]) + conn.seal(update[2:])
    events = conn.client.receive_data(data)
    assert [type(e).__name__ for e in events] == ["KeyUpdated"]
    old = conn.secrets["SERVER_TRAFFIC_SECRET_0"]
    new = hkdf_expand_label(SUITE.hash_name, old, b"traffic upd", b"", 32)
    events = conn.client.receive_data(sealer(new).seal(ContentType.APPLICATION_DATA, b"hi"))
    assert [e.data for e in events if isinstance(e, ApplicationData)] == [b"hi"]


# == TLS 1.3: record layer ======================================================================


def test_flight_in_one_byte_records_completes() -> None:
    """BoGo's MaxHandshakeRecordLength = 1 variants (e.g. the *-SplitHandshakeRecords tests):
    the ServerHello in two plaintext records, and every byte of the encrypted flight in a
    record of its own.

    RFC 8446 §5.1: "Handshake messages MAY be coalesced into a single TLSPlaintext record or
    fragmented across several records"."""
    flight = Flight13.start()
    hello = records(flight.plain[0])[0][1]
    plain = record(HANDSHAKE, hello[:3]) + record(HANDSHAKE, hello[3:])
    protector = sealer(flight.hs_secret)
    body = b"".join(flight.flight)
    protected = b"".join(
        protector.seal(ContentType.HANDSHAKE, body[i : i + 1]) for i in range(len(body))
    )
    completes(flight.client, plain + b"".join(flight.plain[1:]) + protected)


@pytest.mark.parametrize(
    ("content", "padding", "accepted"),
    [(2**14, 0, True), (2**14 - 100, 100, True), (2**14 - 100, 101, False)],
    ids=["2^14-content", "padded-to-2^14+1", "padded-to-2^14+2"],
)
def test_inner_plaintext_limit_counts_the_padding(
    content: int, padding: int, accepted: bool
) -> None:
    """BoGo TLS13-RecordPadding (RecordPadding) and the large-record tests, at the limit: the
    TLSInnerPlaintext (content, type, zeros) of 2^14 + 1 octets passes, one more fails.

    RFC 8446 §5.4: "The presence of padding does not change the overall record size
    limitations: the full encoded TLSInnerPlaintext MUST NOT exceed 2^14 + 1 octets."; §6.2
    record_overflow: "a record decrypted to a TLSPlaintext record with more than 2^14 bytes (or
    some other negotiated limit)" -- the limit that includes type and padding."""
    conn = Established.start()
    inner = bytes(content) + b"\x17" + bytes(padding)
    data = raw_sealed(conn.secrets["SERVER_TRAFFIC_SECRET_0"], 0, inner)
    if accepted:
        events = conn.client.receive_data(data)
        assert sum(len(e.data) for e in events if isinstance(e, ApplicationData)) == content
    else:
        rejects(conn.client, data, ALERT.RECORD_OVERFLOW)


def moved_ccs_flight(flight: Flight13, where: str) -> bytes:
    """The flight with the server's change_cipher_spec record moved to ``where``."""
    ccs = record(CCS, b"\x01")
    assert flight.plain[1:] == [ccs]  # compatibility mode: the server sent one after its hello
    protector = sealer(flight.hs_secret)
    parts = [protector.seal(ContentType.HANDSHAKE, m) for m in flight.flight]
    if where == "before-ServerHello":
        return ccs + flight.plain[0] + b"".join(parts)
    if where == "between-encrypted-records":
        return flight.plain[0] + parts[0] + ccs + b"".join(parts[1:])
    return flight.plain[0] + ccs + parts[0] + ccs + b"".join(parts[1:])  # a second one


@pytest.mark.parametrize("where", ["before-ServerHello", "between-encrypted-records"])
def test_plaintext_change_cipher_spec_during_the_handshake_is_dropped(where: str) -> None:
    """No BoGo twin for TLS (its StrayChangeCipherSpec is DTLS): the server's change_cipher_spec
    record {0x01} before its ServerHello, or between its encrypted handshake records.

    RFC 8446 §5: "An implementation may receive an unencrypted record of type
    change_cipher_spec consisting of the single byte value 0x01 at any time after the first
    ClientHello message has been sent or received and before the peer's Finished message has
    been received and MUST simply drop it without further processing.\""""
    flight = Flight13.start()
    completes(flight.client, moved_ccs_flight(flight, where))


def test_second_plaintext_change_cipher_spec_from_the_server_is_dropped() -> None:
    """No BoGo twin (BoringSSL, like tlsfuzzer's test-tls13-multiple-ccs-messages for servers,
    may limit them -- policy): a second change_cipher_spec {0x01} in the server's flight.

    RFC 8446 §5: a plaintext change_cipher_spec of value 0x01 received "at any time after the
    first ClientHello message has been sent or received and before the peer's Finished message
    has been received" -- the implementation "MUST simply drop it without further
    processing." Appendix D.4 describes what a sender sends (one), not a limit for the
    receiver."""
    flight = Flight13.start()
    completes(flight.client, moved_ccs_flight(flight, "twice"))


def test_a_flood_of_change_cipher_specs_from_the_server_is_unexpected_message() -> None:
    """Dropped without limit, change_cipher_spec records would keep a client busy for nothing
    (CVE-2020-25648): like empty records and warning alerts they count as records without
    application data, and more than 32 in a row is unexpected_message (RFC 8446 §5 sets no
    limit; BoringSSL and OpenSSL set one)."""
    flight = Flight13.start()
    ccs = record(CCS, b"\x01")
    rejects(flight.client, flight.plain[0] + ccs * 40, ALERT.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize("content", [b"\x02", b"\x01\x01"], ids=["value-2", "two-bytes"])
def test_tls13_change_cipher_spec_other_than_0x01_is_unexpected_message(content: bytes) -> None:
    """BoGo BadChangeCipherSpec-1 / BadChangeCipherSpec-2 ({2}, {1, 1}; BoGo runs them at
    TLS 1.2), at TLS 1.3 after the ServerHello.

    RFC 8446 §5: "An implementation which receives any other change_cipher_spec value or which
    receives a protected change_cipher_spec record MUST abort the handshake with an
    "unexpected_message" alert.\""""
    flight = Flight13.start()
    data = flight.plain[0] + record(CCS, content) + flight.sealed(flight.flight, plain=[])
    rejects(flight.client, data, ALERT.UNEXPECTED_MESSAGE)


# == TLS 1.3: HelloRetryRequest =================================================================


def test_hello_retry_request_without_key_share_or_cookie_is_illegal_parameter() -> None:
    """BoGo HelloRetryRequest-Empty-TLS13 (only supported_versions): ":EMPTY_HELLO_RETRY_REQUEST:"
    (BoGo's alert: illegal parameter).

    RFC 8446 §4.1.4: "Clients MUST abort the handshake with an "illegal_parameter" alert if the
    HelloRetryRequest would not result in any change in the ClientHello.\""""
    client, hrr = retry_client()
    bad = hello_record(hrr, extensions=(raw_ext(43, b"\x03\x04"),))
    rejects(client, bad, ALERT.ILLEGAL_PARAMETER, plaintext=True)


@pytest.mark.parametrize(
    ("ext_type", "data"),
    [(PRE_SHARED_KEY_EXT, b"\x00\x00"), (EARLY_DATA_EXT, b""), (SERVER_NAME_EXT, b"")],
    ids=["pre_shared_key", "early_data", "server_name"],
)
def test_offered_extension_not_allowed_in_hello_retry_request_is_illegal_parameter(
    ext_type: int, data: bytes
) -> None:
    """No BoGo twin (BoGo's HelloRetryRequest-Unknown covers unknown types): a HelloRetryRequest
    with an extension the ClientHello offered but the §4.2 table does not list for HRR
    (pre_shared_key: CH, SH; early_data: CH, EE, NST; server_name: CH, EE).

    RFC 8446 §4.2: "If an implementation receives an extension which it recognizes and which
    is not specified for the message in which it appears, it MUST abort the handshake with an
    "illegal_parameter" alert." (The client offers a PSK here, so pre_shared_key is
    recognized and was requested.)"""
    clock = Clock()
    config, issuer = ticket_config(
        clock, groups=(X25519, SECP384R1), early_data=True, max_early_data_size=4096
    )
    client = ClientConnection(config, "localhost")
    raw, hello = first_hello(client)
    assert ext_type in {e.ext_type for e in hello.extensions}
    server = ServerConnection(dataclasses.replace(issuer, groups=(SECP384R1,)))
    server.receive_data(record(HANDSHAKE, raw))
    hrr = decode_handshake(records(server.data_to_send())[0][1])
    assert isinstance(hrr, ServerHello) and hrr.is_hello_retry_request
    bad = hello_record(hrr, extensions=(*hrr.extensions, raw_ext(ext_type, data)))
    rejects(client, bad, ALERT.ILLEGAL_PARAMETER, plaintext=True)


def test_resumption_through_a_hello_retry_request_completes() -> None:
    """BoGo's resumption tests with a HelloRetryRequest (e.g. Resume-Server-*-SecondBinder,
    client side): the PSK is offered again with a binder over the new transcript, accepted.

    RFC 8446 §4.2.11.2: "If the server responds with a HelloRetryRequest and the client then
    sends ClientHello2, its binder will be computed over: Transcript-Hash(ClientHello1,
    HelloRetryRequest, Truncate(ClientHello2))"; §4.1.4: the client "MUST" answer with "the
    same ClientHello" updated."""
    clock = Clock()
    config, issuer = ticket_config(clock, groups=(X25519, SECP384R1))
    client = ClientConnection(config, "localhost")
    events, _ = pump(client, ServerConnection(dataclasses.replace(issuer, groups=(SECP384R1,))))
    done = next(e for e in events if isinstance(e, HandshakeComplete))
    assert done.resumed and done.hello_retry


# == TLS 1.3: EncryptedExtensions, ALPN, SNI ====================================================


@pytest.mark.parametrize(
    ("ext_type", "data"),
    [
        (COOKIE_EXT, b"\x00\x01c"),
        (PRE_SHARED_KEY_EXT, b"\x00\x00"),
        (PSK_KEY_EXCHANGE_MODES_EXT, b"\x01\x01"),
    ],
    ids=["cookie", "pre_shared_key", "psk_key_exchange_modes"],
)
def test_extension_not_allowed_in_encrypted_extensions_is_illegal_parameter(
    ext_type: int, data: bytes
) -> None:
    """BoGo EncryptedExtensionsWithKeyShare-TLS13's family (round 1 has key_share, TLS-Anvil
    supported_versions and padding): other extensions the §4.2 table keeps out of EE.

    RFC 8446 §4.3.1: "The client MUST check EncryptedExtensions for the presence of any
    forbidden extensions and if any are found MUST abort the handshake with an
    "illegal_parameter" alert.\""""
    clock = Clock()
    config, issuer = ticket_config(clock)
    flight = Flight13.start(config, issuer)
    rejects(flight.client, flight.with_ee(raw_ext(ext_type, data)), ALERT.ILLEGAL_PARAMETER)


@pytest.mark.parametrize("protocols", [(b"foo", b"bar"), ()], ids=["two-protocols", "no-protocol"])
def test_alpn_answer_without_exactly_one_protocol_aborts(protocols: tuple[bytes, ...]) -> None:
    """No BoGo twin (ALPNClient-EmptyProtocolName covers an empty name): the server's ALPN
    list with two protocols, or none.

    RFC 7301 §3.1: the server's "ProtocolNameList" "MUST contain exactly one "ProtocolName"";
    ``ProtocolName protocol_name_list<2..2^16-1>``. No alert is named: the abort is asserted."""
    flight = Flight13.start(client_config(alpn_protocols=("foo", "bar")))
    body = b"".join(bytes((len(p),)) + p for p in protocols)
    alpn = raw_ext(ALPN_EXT, len(body).to_bytes(2, "big") + body)
    ee = flight.decoded(HandshakeType.ENCRYPTED_EXTENSIONS)
    kept = tuple(e for e in ee.extensions if e.ext_type != ALPN_EXT)
    rejects(flight.client, flight.with_ee(*kept, alpn, replace=True), None)


@pytest.mark.parametrize("version", ["TLS13", "TLS12"])
def test_server_name_ack_with_data_aborts(version: str) -> None:
    """No BoGo twin (UnsolicitedServerNameAck covers the unrequested ack): a server_name answer
    that is not empty.

    RFC 6066 §3: "A server that receives a client hello containing the "server_name" extension
    MAY use the information contained in the extension ... the "extension_data" field of this
    extension SHALL be empty." No alert is named: the abort is asserted (decode_error is what
    §6.2 of RFC 8446 describes)."""
    ack = raw_ext(SERVER_NAME_EXT, b"\x00\x00")
    if version == "TLS13":
        flight = Flight13.start()
        ee = flight.decoded(HandshakeType.ENCRYPTED_EXTENSIONS)
        kept = tuple(e for e in ee.extensions if e.ext_type != SERVER_NAME_EXT)
        rejects(flight.client, flight.with_ee(*kept, ack, replace=True), None)
    else:
        hs = Handshake12.start(client12_config(), server12_config())
        hello = hs.server_hello
        kept = tuple(e for e in hello.extensions if e.ext_type != SERVER_NAME_EXT)
        rejects(hs.client, hello_record(hello, extensions=(*kept, ack)), None, plaintext=True)


def test_server_name_in_a_tls13_server_hello_is_illegal_parameter() -> None:
    """BoGo UnexpectedUnencryptedExtension-Client-TLS13's neighbour (it sends ALPN): the
    server_name acknowledgement in the ServerHello instead of EncryptedExtensions.

    RFC 8446 §4.2: "If an implementation receives an extension which it recognizes and which
    is not specified for the message in which it appears, it MUST abort the handshake with an
    "illegal_parameter" alert." (server_name: CH, EE.)"""
    flight = Flight13.start()
    rejects(
        flight.client,
        flight.server_hello_with(raw_ext(SERVER_NAME_EXT)),
        ALERT.ILLEGAL_PARAMETER,
    )


@pytest.mark.parametrize("limit", [63, 0], ids=["63", "0"])
def test_record_size_limit_below_64_is_illegal_parameter(limit: int) -> None:
    """No BoGo twin (BoringSSL lacks the extension): EncryptedExtensions with a
    record_size_limit below 64.

    RFC 8449 §4: "Endpoints MUST NOT send a "record_size_limit" extension with a value smaller
    than 64. An endpoint MUST treat receipt of a smaller value as a fatal error and generate an
    "illegal_parameter" alert.\""""
    flight = Flight13.start(client_config(record_size_limit=4096))
    ee = flight.decoded(HandshakeType.ENCRYPTED_EXTENSIONS)
    kept = tuple(e for e in ee.extensions if e.ext_type != RECORD_SIZE_LIMIT_EXT)
    bad = raw_ext(RECORD_SIZE_LIMIT_EXT, limit.to_bytes(2, "big"))
    rejects(flight.client, flight.with_ee(*kept, bad, replace=True), ALERT.ILLEGAL_PARAMETER)


# == Downgrade sentinels ========================================================================


def test_tls12_only_client_accepts_the_tls13_servers_downgrade_sentinel() -> None:
    """BoGo Downgrade-TLS12-Client's counterpart: the client itself is TLS 1.2-only, the
    server TLS 1.3-capable; the sentinel is expected and the handshake succeeds.

    RFC 8446 §4.1.3: "If negotiating TLS 1.2, TLS 1.3 servers MUST set the last 8 bytes of
    their Random value to the bytes: 44 4F 57 4E 47 52 44 01"; only "TLS 1.3 clients
    receiving a ServerHello indicating TLS 1.2 or below MUST check" it."""
    client = ClientConnection(client12_config(), "localhost")
    server = ServerConnection(server12_config())  # TLS 1.3 and 1.2
    hello = client.data_to_send()
    server.receive_data(hello)
    flight = server.data_to_send()
    body = next(m for t, b in records(flight) if t == HANDSHAKE for m in messages(b))
    sh = decode_handshake(body, version=TLS12)
    assert isinstance(sh, ServerHello) and sh.random[-8:] == DOWNGRADE_TLS12
    client.receive_data(flight)
    server.receive_data(client.data_to_send())
    completes(client, server.data_to_send())


def test_tls11_server_hello_with_the_tls11_sentinel_aborts() -> None:
    """BoGo Downgrade-TLS11-Client (a TLS 1.1 ServerHello ending in DOWNGRD\\x00):
    ":TLS13_DOWNGRADE:" ("remote error: illegal parameter").

    RFC 8446 §4.1.3: "TLS 1.3 clients receiving a ServerHello indicating TLS 1.2 or below MUST
    check that the last 8 bytes are not equal to either of these values ... If a match is
    found, the client MUST abort the handshake with an "illegal_parameter" alert." (We do not
    speak TLS 1.1 either, so RFC 8446 §4.2.1's protocol_version would be right too; both
    rules abort.)"""
    client = ClientConnection(client_config(groups=(SECP256R1,)), "localhost")
    server = ServerConnection(server12_config(max_version=TLS12))
    server.receive_data(client.data_to_send())
    body = next(m for t, b in records(server.data_to_send()) if t == HANDSHAKE for m in messages(b))
    sh = decode_handshake(body, version=TLS12)
    assert isinstance(sh, ServerHello)
    bad = hello_record(sh, legacy_version=0x0302, random=sh.random[:24] + DOWNGRADE_TLS11)
    error = rejects(client, bad, None, plaintext=True)
    assert error.alert in (ALERT.ILLEGAL_PARAMETER, ALERT.PROTOCOL_VERSION)


# == TLS 1.2: ServerHello extensions, EMS, renegotiation_info ===================================


@pytest.mark.parametrize(
    ("ext_type", "data"),
    [
        (PRE_SHARED_KEY_EXT, b"\x00\x00"),
        (ALPN_EXT, b"\x00\x03\x02h2"),
        (STATUS_REQUEST_EXT, b""),
        (RECORD_SIZE_LIMIT_EXT, b"\x40\x00"),
        (KEY_SHARE_EXT, b"\x00\x17"),
    ],
    ids=["pre_shared_key", "alpn", "status_request", "record_size_limit", "key_share"],
)
def test_tls12_unrequested_server_hello_extension_is_unsupported_extension(
    ext_type: int, data: bytes
) -> None:
    """BoGo UnofferedExtension-Client-TLS12 / UnsolicitedServerNameAck-TLS-TLS12's family (the
    client offered none of these: no ALPN, no OCSP, no record_size_limit, TLS 1.2 only, so
    no TLS 1.3 pre_shared_key or key_share).

    RFC 5246 §7.4.1.4: "If a client receives an extension type in ServerHello that it did not
    request in the associated ClientHello, it MUST abort the handshake with an
    unsupported_extension fatal alert.\""""
    hs = Handshake12.start(client12_config(), server12_config())
    offered = {e.ext_type for e in hs.client_hello.extensions}
    assert ext_type not in offered
    hello = hs.server_hello
    bad = hello_record(hello, extensions=(*hello.extensions, raw_ext(ext_type, data)))
    rejects(hs.client, bad, ALERT.UNSUPPORTED_EXTENSION, plaintext=True)


def test_tls12_renegotiation_info_not_empty_is_handshake_failure() -> None:
    """BoGo Renegotiate-Client-BadExt's initial-handshake form (BadRenegotiationInfo): the
    ServerHello's renegotiated_connection is not empty.

    RFC 5746 §3.4: "The client MUST then verify that the length of the
    "renegotiated_connection" field is zero, and if it is not, MUST abort the handshake (by
    sending a fatal handshake_failure alert).\""""
    hs = Handshake12.start(client12_config(), server12_config())
    hello = hs.server_hello
    kept = tuple(e for e in hello.extensions if e.ext_type != RENEGOTIATION_INFO_EXT)
    bad = raw_ext(RENEGOTIATION_INFO_EXT, b"\x0c" + bytes(12))
    rejects(
        hs.client,
        hello_record(hello, extensions=(*kept, bad)),
        ALERT.HANDSHAKE_FAILURE,
        plaintext=True,
    )


def test_tls12_full_handshake_without_ems_when_required_is_handshake_failure() -> None:
    """BoGo's ExtendedMasterSecret tests with NoExtendedMasterSecret, for a client that
    requires EMS (require_extended_master_secret): the server does not echo the extension.

    RFC 7627 §5.2: "If a client receives a ServerHello without the extension, it SHOULD abort
    the handshake if it does not wish to interoperate with legacy servers."; "we use the phrase
    "abort the handshake" as shorthand for terminating the handshake by sending a fatal
    "handshake_failure" alert."""
    hs = Handshake12.start(client12_config(require_extended_master_secret=True), server12_config())
    hello = hs.server_hello
    kept = tuple(e for e in hello.extensions if e.ext_type != EXTENDED_MASTER_SECRET_EXT)
    assert kept != hello.extensions
    rejects(
        hs.client,
        hello_record(hello, extensions=kept),
        ALERT.HANDSHAKE_FAILURE,
        plaintext=True,
    )


def test_tls12_non_ems_session_is_not_offered_so_cannot_be_resumed() -> None:
    """BoGo ExtendedMasterSecret-NoToYes-Client (the session was made without EMS, the resuming
    ServerHello carries it): ":RESUMED_NON_EMS_SESSION_WITH_EMS_EXTENSION:". Our client never
    offers such a session, so the server cannot resume it; a ServerHello naming its ID starts
    a new session, and an abbreviated flight after it is refused.

    RFC 7627 §5.3: "The client SHOULD NOT offer an abbreviated handshake to resume a session
    that does not use an extended master secret."; "If the original session did not use the
    "extended_master_secret" extension but the new ServerHello contains the extension, the
    client MUST abort the handshake." RFC 5246 §7.3: without resumption, Certificate follows
    the ServerHello; a ChangeCipherSpec there is §7.2.2 unexpected_message. (The non-EMS
    session is put into the store directly: our server always negotiates EMS.)"""
    clock = Clock()
    store = InMemoryClientSessionStore()
    session_id = bytes(range(32))
    store.put(
        ClientSession(
            server_name="localhost",
            cipher_suite=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256.id,
            psk=bytes(48),
            ticket=b"non-ems ticket",
            ticket_lifetime=3600,
            ticket_age_add=0,
            received_at=clock.now,
            max_early_data_size=0,
            alpn_protocol=None,
            version=TLS12,
            session_id=session_id,
            extended_master_secret=False,
        )
    )
    clock.now += 1
    hs = Handshake12.start(client12_config(session_store=store, clock=clock), server12_config())
    offered = hs.client_hello
    assert offered.legacy_session_id != session_id
    sent_ticket = offered.get(SessionTicket)
    assert sent_ticket is None or sent_ticket.ticket == b""
    hello = hs.server_hello
    assert EXTENDED_MASTER_SECRET_EXT in {e.ext_type for e in hello.extensions}
    resumed = hello_record(hello, legacy_session_id_echo=session_id)
    rejects(hs.client, resumed + record(CCS, b"\x01"), ALERT.UNEXPECTED_MESSAGE, plaintext=True)


def test_tls12_echoed_session_id_followed_by_a_full_handshake_is_unexpected_message() -> None:
    """BoGo TLS12-NoTicket-NoOffer (EchoSessionIDInFullHandshake: the server echoes the offered
    session ID, then runs a full handshake): ":SERVER_ECHOED_INVALID_SESSION_ID:" / "remote
    error: illegal parameter". Our client offers this session, so the echo means resumption
    and the Certificate that follows is what is wrong:

    RFC 5246 §7.3: after resumption "the server MUST send a ChangeCipherSpec message" (Figure
    2); RFC 5077 §3.4: "If the server accepts the ticket and the Session ID is not empty, then
    it MUST respond with the same Session ID". A Certificate there is an inappropriate message:
    §7.2.2 unexpected_message."""
    clock = Clock()
    store = InMemoryClientSessionStore()
    config = client12_config(session_store=store, clock=clock)
    server = server12_config(session_tickets=1, clock=clock, ticket_sealer=AeadTicketSealer())
    pump(ClientConnection(config, "localhost"), ServerConnection(server))
    clock.now += 1
    hs = Handshake12.start(config, dataclasses.replace(server, ticket_sealer=AeadTicketSealer()))
    offered = hs.client_hello
    assert offered.legacy_session_id
    echoed = hello_record(hs.server_hello, legacy_session_id_echo=offered.legacy_session_id)
    rest = b"".join(record(HANDSHAKE, m) for m in hs.server_messages[1:])
    rejects(hs.client, echoed + rest, ALERT.UNEXPECTED_MESSAGE, plaintext=True)


# == TLS 1.2: NewSessionTicket =================================================================


def ticket12_handshake() -> tuple[Handshake12, ClientConfig]:
    """A TLS 1.2 handshake whose server issues a ticket, run to the server's last flight."""
    clock = Clock()
    config = client12_config(session_store=InMemoryClientSessionStore(), clock=clock)
    server = server12_config(session_tickets=1, clock=clock, ticket_sealer=AeadTicketSealer())
    hs = Handshake12.start(config, server)
    assert SESSION_TICKET_EXT in {e.ext_type for e in hs.server_hello.extensions}
    hs.finish()
    return hs, config


def test_tls12_empty_session_ticket_is_accepted() -> None:
    """BoGo SendEmptySessionTicket-TLS12 (-expect-no-session): the handshake succeeds and no
    ticket is kept.

    RFC 5077 §3.3: "If the server determines that it does not want to include a ticket after
    it has included the SessionTicket extension in the ServerHello, then it sends a zero-length
    ticket in the NewSessionTicket handshake message.\""""
    hs, config = ticket12_handshake()
    nst = bytes((HandshakeType.NEW_SESSION_TICKET,)) + (6).to_bytes(3, "big") + bytes(6)
    finished = hs.server_finished_message(nst)
    data = (
        record(HANDSHAKE, nst)
        + record(CCS, b"\x01")
        + hs.keys().server_write.seal(ContentType.HANDSHAKE, finished)
    )
    completes(hs.client, data)
    hello = first_hello(ClientConnection(config, "localhost"))[1]
    offered = hello.get(SessionTicket)
    assert offered is None or offered.ticket == b""  # no (empty) ticket is sent back


def test_tls12_missing_new_session_ticket_is_unexpected_message() -> None:
    """BoGo SkipNewSessionTicket (the ServerHello carried session_ticket, no NewSessionTicket
    follows): ":UNEXPECTED_RECORD:".

    RFC 5077 §3.3: "This message MUST be sent if the server included a SessionTicket extension
    in the ServerHello." A ChangeCipherSpec in its place: RFC 5246 §7.2.2 unexpected_message."""
    hs, _ = ticket12_handshake()
    ccs_at = next(i for i, (t, _) in enumerate(records(hs.last)) if t == CCS)
    rest = b"".join(record(t, b) for t, b in records(hs.last)[ccs_at:])
    error = rejects(hs.client, rest, None)
    assert error.alert is ALERT.UNEXPECTED_MESSAGE


def test_tls12_unannounced_new_session_ticket_is_unexpected_message() -> None:
    """No BoGo twin: a NewSessionTicket though the ServerHello carried no session_ticket.

    RFC 5077 §3.3: "This message MUST NOT be sent if the server did not include a
    SessionTicket extension in the ServerHello." RFC 5246 §7.2.2 unexpected_message."""
    hs = Handshake12.start(client12_config(), server12_config())
    hs.finish()
    nst = bytes((HandshakeType.NEW_SESSION_TICKET,)) + (10).to_bytes(3, "big") + bytes(4)
    nst += b"\x00\x04tick"
    rejects(hs.client, record(HANDSHAKE, nst) + hs.last, ALERT.UNEXPECTED_MESSAGE)


# == TLS 1.2: ChangeCipherSpec timing ===========================================================


@pytest.mark.parametrize("packed", [False, True], ids=["", "Packed"])
def test_tls12_finished_fragment_before_change_cipher_spec_is_unexpected_message(
    packed: bool,
) -> None:
    """BoGo FragmentAcrossChangeCipherSpec-Client(-Packed) (the first byte of the server's
    Finished before its ChangeCipherSpec; packed: in the NewSessionTicket's record) and
    PartialFinishedWithServerHelloDone: ":UNEXPECTED_RECORD:" / "remote error: unexpected
    message".

    RFC 5246 §7.4.9: "A Finished message is always sent immediately after a change cipher spec
    message"; a ChangeCipherSpec in the middle of a handshake message is out of place (§7.2.2
    unexpected_message; RFC 8446 §5.1 states the same rule for TLS 1.3: "Handshake messages
    MUST NOT span key changes")."""
    hs, _ = ticket12_handshake()
    nst = next(m for t, b in records(hs.last) if t == HANDSHAKE for m in messages(b))
    finished = hs.server_finished_message(nst)
    keys = hs.keys()
    head = (
        record(HANDSHAKE, nst + finished[:1])
        if packed
        else record(HANDSHAKE, nst) + record(HANDSHAKE, finished[:1])
    )
    data = head + record(CCS, b"\x01") + keys.server_write.seal(ContentType.HANDSHAKE, finished[1:])
    rejects(hs.client, data, ALERT.UNEXPECTED_MESSAGE)


def test_tls12_application_data_between_ccs_and_finished_is_unexpected_message() -> None:
    """BoGo AppDataAfterChangeCipherSpec: ":UNEXPECTED_RECORD:".

    RFC 5246 §7.4.9: "A Finished message is always sent immediately after a change cipher spec
    message to verify that the key exchange and authentication processes were successful."
    Application data there is an inappropriate message: §7.2.2 unexpected_message."""
    hs = Handshake12.start(client12_config(), server12_config())
    hs.finish()
    keys = hs.keys()
    data = (
        record(CCS, b"\x01")
        + keys.server_write.seal(ContentType.APPLICATION_DATA, b"early")
        + keys.server_write.seal(ContentType.HANDSHAKE, hs.server_finished_message())
    )
    rejects(hs.client, data, ALERT.UNEXPECTED_MESSAGE)


def test_tls12_alert_between_ccs_and_finished_ends_the_handshake() -> None:
    """BoGo AlertAfterChangeCipherSpec (a fatal alert under the new keys instead of Finished):
    the shim reports the peer's alert.

    RFC 5246 §7.2: "Upon transmission or receipt of a fatal alert message, both parties
    immediately close the connection." The alert is read under the new keys (§7.1)."""
    hs = Handshake12.start(client12_config(), server12_config())
    hs.finish()
    alert = hs.keys().server_write.seal(ContentType.ALERT, bytes((2, ALERT.HANDSHAKE_FAILURE)))
    with pytest.raises(AlertReceived) as info:
        hs.client.receive_data(record(CCS, b"\x01") + alert)
    assert info.value.description == ALERT.HANDSHAKE_FAILURE
    assert hs.client.state is ConnectionState.FAILED


# == TLS 1.2: HelloRequest ======================================================================


def hello_request(body: bytes = b"") -> bytes:
    return bytes((HandshakeType.HELLO_REQUEST,)) + len(body).to_bytes(3, "big") + body


def test_tls12_hello_request_during_the_handshake_is_ignored() -> None:
    """BoGo SendHelloRequestBeforeEveryHandshakeMessage (a HelloRequest before each server
    handshake message of the first flight): the handshake succeeds.

    RFC 5246 §7.4.1.1: "This message will be ignored by the client if the client is currently
    negotiating a session." and "HelloRequest messages MUST NOT be included in the message
    hashes that are maintained throughout the handshake and used in the Finished messages".
    """
    hs = Handshake12.start(client12_config(), server12_config())
    flight = b"".join(
        record(HANDSHAKE, hello_request()) + record(HANDSHAKE, m) for m in hs.server_messages
    )
    last = hs.finish(flight)
    completes(hs.client, last)


def test_tls12_hello_request_after_the_handshake_is_not_fatal() -> None:
    """BoGo Renegotiate-Client-Forbidden-1 expects ":NO_RENEGOTIATION:" and a fatal alert --
    BoringSSL policy. The RFC lets the client ignore it or decline with a warning:

    RFC 5246 §7.4.1.1: "clients ... MAY simply ignore it or may, if it wishes, respond with a
    no_renegotiation alert"; §7.2.2: no_renegotiation: "This message is always a warning.\""""
    hs = Handshake12.start(client12_config(), server12_config())
    hs.finish()
    completes(hs.client, hs.last)
    keys = hs.keys()
    keys.server_write.seal(ContentType.HANDSHAKE, hs.server_finished_message())  # seq 0 used
    hs.client.receive_data(keys.server_write.seal(ContentType.HANDSHAKE, hello_request()))
    assert hs.client.state is ConnectionState.APP_DATA
    sent = hs.client.data_to_send()
    if sent:
        ((content_type, body),) = records(sent)
        header = bytes((content_type, 3, 3)) + len(body).to_bytes(2, "big")
        keys.client_write.seal(ContentType.HANDSHAKE, b"")  # the client's Finished used seq 0
        inner = keys.client_write.open(header, body)
        assert inner == (ContentType.ALERT, bytes((1, ALERT.NO_RENEGOTIATION)))
    data = keys.server_write.seal(ContentType.APPLICATION_DATA, b"still up")
    events = hs.client.receive_data(data)
    assert [e.data for e in events if isinstance(e, ApplicationData)] == [b"still up"]


def test_tls12_hello_request_with_a_body_is_decode_error() -> None:
    """BoGo BadHelloRequest-1 (BadHelloRequest {0, 0, 0, 1, 1}): ":BAD_HELLO_REQUEST:".

    RFC 5246 §7.4.1.1: ``struct { } HelloRequest;``: a body cannot be decoded -- §7.2.2
    decode_error: "the length of the message was incorrect"."""
    hs = Handshake12.start(client12_config(), server12_config())
    hs.finish()
    completes(hs.client, hs.last)
    keys = hs.keys()
    keys.server_write.seal(ContentType.HANDSHAKE, b"")  # the server's Finished used seq 0
    bad = keys.server_write.seal(ContentType.HANDSHAKE, hello_request(b"\x01"))
    rejects(hs.client, bad, ALERT.DECODE_ERROR)
