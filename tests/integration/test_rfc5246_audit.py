"""TLS 1.2 audit: MUST / MUST NOT rules of RFC 5246 and its companions that a conformance suite
(tlsfuzzer-style) probes, each test quoting its sentence.

Six rules were violated when the audit found them (fixed since: ticket over session ID,
insufficient_security, the dh_Yc/dh_Ys ranges, close_notify answered during the handshake,
data interleaved with a refused renegotiation); those tests guard the fixes, the others guard
rules that held and had no test yet.
Misbehaving peers are played by the test: it edits a message and re-encodes it, re-signs a
ServerKeyExchange with the server's key, or writes records through a connection's own record
layer, as a peer holding the keys could.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import pytest

from memory_pair import pump
from tls_fixtures import Clock, server_cert
from tlsmachine import (
    AeadTicketSealer,
    ApplicationData,
    CertifiedKey,
    ClientConfig,
    ClientConnection,
    ConnectionState,
    HandshakeComplete,
    InMemoryClientSessionStore,
    InMemorySessionCache,
    ServerConfig,
    ServerConnection,
    WarningAlertReceived,
)
from tlsmachine.crypto.groups import FFDHE2048, FFDHE3072
from tlsmachine.crypto.signatures import sign
from tlsmachine.crypto.suites import (
    TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
)
from tlsmachine.enums import AlertDescription, ContentType, HandshakeType, ProtocolVersion
from tlsmachine.errors import ProtocolError
from tlsmachine.extensions import (
    RenegotiationInfo,
    ServerName,
    SessionTicket,
    SupportedGroups,
    UnknownExtension,
)
from tlsmachine.handshake12 import server_key_exchange_input
from tlsmachine.messages import decode_handshake, encode_handshake
from tlsmachine.messages.hello import ClientHello, ServerHello
from tlsmachine.messages.tls12 import ClientKeyExchange, ServerKeyExchange, dhe_params
from wire import (
    ALERT,
    HANDSHAKE,
    plaintext_alert,
    plaintext_messages,
    record,
)

TLS12 = ProtocolVersion.TLS12
CLOSE_NOTIFY_RECORD = bytes((ALERT, 3, 3, 0, 2, 1, AlertDescription.CLOSE_NOTIFY))


# -- helpers ---------------------------------------------------------------------------------


@functools.cache
def rsa_cert() -> CertifiedKey:
    """An RSA certificate for the DHE_RSA suites (made once: RSA key generation is slow)."""
    return CertifiedKey.self_signed(("localhost",), key_type="rsa-2048")


def find(flight: bytes, msg_type: int) -> Any:
    """The decoded plaintext handshake message of ``msg_type`` in ``flight``."""
    for message in plaintext_messages(flight):
        if message[0] == msg_type:
            return decode_handshake(message, version=TLS12)
    raise AssertionError(f"no message of type {msg_type}")


def replace_message(flight: bytes, msg_type: int, new: bytes) -> bytes:
    """``flight`` up to its ChangeCipherSpec, with the message of ``msg_type`` replaced by
    ``new``; one record per message."""
    out = [new if m[0] == msg_type else m for m in plaintext_messages(flight)]
    assert any(m[0] == msg_type for m in plaintext_messages(flight))
    return b"".join(record(HANDSHAKE, m) for m in out)


def hello_of(flight: bytes) -> ClientHello:
    hello = decode_handshake(flight[5:])
    assert isinstance(hello, ClientHello)
    return hello


def hello_record(hello: ClientHello, **changes: Any) -> bytes:
    """``hello`` with some fields replaced, re-encoded into a plaintext handshake record."""
    return record(HANDSHAKE, encode_handshake(dataclasses.replace(hello, raw=b"", **changes)))


def client12(**kwargs: Any) -> ClientConfig:
    """A TLS 1.2-only client that does not check the (self-signed) server certificate."""
    return ClientConfig(verify_certificates=False, max_version=TLS12, **kwargs)


def dhe_client() -> ClientConnection:
    """A client that offers only a DHE_RSA suite and, RFC 7919 style, the ffdhe2048 group."""
    config = client12(tls12_cipher_suites=(TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,),
                      groups=(FFDHE2048,))  # fmt: skip
    return ClientConnection(config, "localhost")


def dhe_server(**kwargs: Any) -> ServerConnection:
    return ServerConnection(ServerConfig(certificates=(rsa_cert(),), **kwargs))


def rejects(conn: Any, data: bytes, alert: AlertDescription) -> None:
    """``conn`` answers ``data`` with the fatal ``alert`` in the clear and fails."""
    with pytest.raises(ProtocolError) as info:
        conn.receive_data(data)
    assert info.value.alert is alert, repr(info.value)
    assert conn.data_to_send() == plaintext_alert(alert)
    assert conn.state is ConnectionState.FAILED


# -- RFC 5077 §3.4: a presented ticket rules out session-ID resumption ------------------------


def test_presented_ticket_rules_out_session_id_resumption() -> None:
    """RFC 5077 §3.4: "If a ticket is presented by the client, the server MUST NOT attempt to
    use the Session ID in the ClientHello for stateful session resumption."

    A session cached under its ID (first handshake without tickets); the next ClientHello offers
    that ID together with a ticket the server cannot open. server/tls12.py _cached_session()
    looks the ID up in the cache when the ticket fails to open, and resumes."""
    clock = Clock()
    store = InMemoryClientSessionStore()
    cache = InMemorySessionCache()
    client_config = client12(session_store=store, clock=clock)
    by_id = ServerConfig(
        certificates=(server_cert(),),
        clock=clock,
        session_tickets=0,
        session_cache=cache,
        ticket_sealer=AeadTicketSealer(),
    )
    pump(ClientConnection(client_config, "localhost"), ServerConnection(by_id))
    assert len(cache) == 1

    client = ClientConnection(client_config, "localhost")
    hello = hello_of(client.data_to_send())
    assert hello.legacy_session_id  # the cached session's ID
    foreign_ticket = SessionTicket(ticket=b"\x5a" * 96)  # not sealed by this server
    extensions = tuple(
        foreign_ticket if isinstance(e, SessionTicket) else e for e in hello.extensions
    )
    assert foreign_ticket in extensions
    server = ServerConnection(dataclasses.replace(by_id, session_tickets=2))
    server.receive_data(hello_record(hello, extensions=extensions))
    flight = server.data_to_send()
    server_hello: ServerHello = find(flight, HandshakeType.SERVER_HELLO)
    assert server_hello.legacy_session_id_echo != hello.legacy_session_id  # not resumed
    find(flight, HandshakeType.CERTIFICATE)  # a full handshake


def test_unopenable_ticket_without_session_id_gets_a_full_handshake() -> None:
    """RFC 5077 §3.4 (the part that holds): a ticket the server cannot use leads to a full
    handshake; with a ticket presented and no ID, nothing else could be resumed."""
    client = ClientConnection(client12(), "localhost")
    hello = hello_of(client.data_to_send())
    extensions = tuple(
        SessionTicket(ticket=b"\x5a" * 96) if isinstance(e, SessionTicket) else e
        for e in hello.extensions
    )
    server = ServerConnection(ServerConfig(certificates=(server_cert(),)))
    server.receive_data(hello_record(hello, legacy_session_id=bytes(32), extensions=extensions))
    flight = server.data_to_send()
    assert find(flight, HandshakeType.SERVER_HELLO).legacy_session_id_echo != bytes(32)
    find(flight, HandshakeType.CERTIFICATE)


# -- RFC 7919 §4: server, FFDHE groups -------------------------------------------------------


def test_only_unknown_ffdhe_groups_and_only_dhe_suites_is_insufficient_security() -> None:
    """RFC 7919 §4: "If the extension is present with FFDHE groups, none of the client's offered
    groups are acceptable by the server, and none of the client's proposed non-FFDHE cipher
    suites are acceptable to the server, the server MUST end the connection with a fatal TLS
    alert of type insufficient_security(71)."

    tlsfuzzer test-ffdhe-negotiation "no overlap between groups" sends exactly this (group 511).
    server/choose12.py choose_full_handshake() raises HandshakeFailure for every failure."""
    client = dhe_client()
    hello = hello_of(client.data_to_send())
    extensions = tuple(
        SupportedGroups(groups=(0x01FF,)) if isinstance(e, SupportedGroups) else e
        for e in hello.extensions
    )
    rejects(dhe_server(), hello_record(hello, extensions=extensions),
            AlertDescription.INSUFFICIENT_SECURITY)  # fmt: skip


def test_unknown_ffdhe_group_next_to_a_known_one_is_tolerated() -> None:
    """RFC 7919 §4: "any codepoint between 256 and 511, inclusive, even if unknown to the
    server" counts as an FFDHE group, and the server "MUST select one of the client's offered
    groups" (tlsfuzzer "unassigned tolerance")."""
    client = dhe_client()
    hello = hello_of(client.data_to_send())
    extensions = tuple(
        SupportedGroups(groups=(0x01FF, FFDHE3072.id)) if isinstance(e, SupportedGroups) else e
        for e in hello.extensions
    )
    server = dhe_server()
    server.receive_data(hello_record(hello, extensions=extensions))
    ske: ServerKeyExchange = find(server.data_to_send(), HandshakeType.SERVER_KEY_EXCHANGE)
    assert int.from_bytes(ske.dhe().p, "big") == FFDHE3072.p


def test_unknown_ffdhe_groups_fall_back_to_a_non_ffdhe_suite() -> None:
    """RFC 7919 §4: "the server MUST NOT select an FFDHE cipher suite. In this case, the server
    SHOULD select an acceptable non-FFDHE cipher suite from the client's offered list"
    (tlsfuzzer "fallback to non-ffdhe")."""
    config = client12(tls12_cipher_suites=(TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
                                           TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256))  # fmt: skip
    hello = hello_of(ClientConnection(config, "localhost").data_to_send())
    extensions = tuple(
        SupportedGroups(groups=(0x01FF, 0x0017)) if isinstance(e, SupportedGroups) else e
        for e in hello.extensions
    )
    server = ServerConnection(ServerConfig(certificates=(rsa_cert(), server_cert())))
    server.receive_data(hello_record(hello, extensions=extensions))
    server_hello = find(server.data_to_send(), HandshakeType.SERVER_HELLO)
    assert server_hello.cipher_suite == TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256.id


@pytest.mark.parametrize("value", ["1", "p-1"])
def test_dh_yc_out_of_range_is_handshake_failure(value: str) -> None:
    """RFC 7919 §4: "When an FFDHE cipher suite is selected and the client sends a
    ClientKeyExchange, the server MUST verify that 1 < dh_Yc < dh_p - 1.  If dh_Yc is out of
    range, the server MUST terminate the connection with a fatal handshake_failure(40) alert."

    The client offered ffdhe2048 in supported_groups (an RFC 7919 negotiation). tlsfuzzer's
    test-dhe-rsa-key-exchange-with-bad-messages (a client *without* supported_groups) expects
    illegal_parameter by default: handshake_failure only where the client offered FFDHE groups
    satisfies both (see the next test)."""
    client, server = dhe_client(), dhe_server()
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    y = 1 if value == "1" else FFDHE2048.p - 1
    cke = encode_handshake(ClientKeyExchange.for_dhe(y.to_bytes(256, "big")))
    flight = replace_message(client.data_to_send(), HandshakeType.CLIENT_KEY_EXCHANGE, cke)
    rejects(server, flight, AlertDescription.HANDSHAKE_FAILURE)


@pytest.mark.parametrize("value", ["1", "p-1", "longer than p"])
def test_dh_yc_out_of_range_without_ffdhe_groups_is_illegal_parameter(value: str) -> None:
    """A client that offered no FFDHE group (a pre-RFC 7919 DHE client, as tlsfuzzer's
    test-dhe-rsa-key-exchange-with-bad-messages plays it): RFC 7919 §5.1's public value check
    fails with illegal_parameter, also for a dh_Yc with more bytes than p has (after any
    leading zeros, which only pad)."""
    client, server = dhe_client(), dhe_server()
    hello = hello_of(client.data_to_send())
    extensions = tuple(e for e in hello.extensions if not isinstance(e, SupportedGroups))
    server.receive_data(hello_record(hello, extensions=extensions))
    flight = server.data_to_send()
    assert find(flight, HandshakeType.SERVER_KEY_EXCHANGE) is not None  # DHE chosen all the same
    if value == "longer than p":
        public = b"\x00\x01" + bytes(256)  # 2^2048 > p, with a padding zero in front
    else:
        public = (1 if value == "1" else FFDHE2048.p - 1).to_bytes(256, "big")
    cke = ClientKeyExchange.for_dhe(public)
    with pytest.raises(ProtocolError) as caught:
        server.receive_data(record(ContentType.HANDSHAKE, encode_handshake(cke)))
    assert caught.value.alert == AlertDescription.ILLEGAL_PARAMETER


# -- RFC 7919 §3: client, dh_Ys --------------------------------------------------------------


def _resigned_dhe_flight(client: ClientConnection, flight: bytes, ys: bytes) -> bytes:
    """The server's DHE flight with dh_Ys replaced, signed properly with the server's key."""
    client_random = client._handshake.client_hello.random  # type: ignore[attr-defined]
    server_hello: ServerHello = find(flight, HandshakeType.SERVER_HELLO)
    ske: ServerKeyExchange = find(flight, HandshakeType.SERVER_KEY_EXCHANGE)
    dhe = ske.dhe()
    params = dhe_params(dhe.p, dhe.g, ys)
    content = server_key_exchange_input(client_random, server_hello.random, params)
    signature = sign(dhe.algorithm, rsa_cert().private_key, content, tls13=False)
    new = encode_handshake(ServerKeyExchange.signed(params, dhe.algorithm, signature))
    return replace_message(flight, HandshakeType.SERVER_KEY_EXCHANGE, new)


@pytest.mark.parametrize("value", ["1", "p-1"])
def test_dh_ys_out_of_range_is_handshake_failure(value: str) -> None:
    """RFC 7919 §3: "the client MUST verify that dh_Ys is in the range 1 < dh_Ys < dh_p - 1.  If
    dh_Ys is not in this range, the client MUST terminate the connection with a fatal
    handshake_failure(40) alert."

    The client answers illegal_parameter (client/tls12.py ExpectServerKeyExchange via
    crypto/groups.py), and test_tls12_negative.py::test_bad_server_dh_ys_is_illegal_parameter
    asserts that."""
    client, server = dhe_client(), dhe_server()
    server.receive_data(client.data_to_send())
    y = 1 if value == "1" else FFDHE2048.p - 1
    flight = _resigned_dhe_flight(client, server.data_to_send(), y.to_bytes(256, "big"))
    rejects(client, flight, AlertDescription.HANDSHAKE_FAILURE)


def test_resigned_dhe_flight_is_accepted_when_unchanged() -> None:
    """The forging helper above: the server's own dh_Ys, signed again, goes through."""
    client, server = dhe_client(), dhe_server()
    server.receive_data(client.data_to_send())
    flight = server.data_to_send()
    ys = find(flight, HandshakeType.SERVER_KEY_EXCHANGE).dhe().ys
    client.receive_data(_resigned_dhe_flight(client, flight, ys))
    assert client.state is ConnectionState.HANDSHAKING
    assert client.data_to_send()


# -- RFC 5246 §7.2.1: close_notify is answered ------------------------------------------------


def test_close_notify_during_the_handshake_is_answered_with_close_notify() -> None:
    """RFC 5246 §7.2.1: "Unless some other fatal alert has been transmitted, each party is
    required to send a close_notify alert before closing the write side of the connection.  The
    other party MUST respond with a close_notify alert of its own and close down the connection
    immediately, discarding any pending writes."

    After a TLS 1.2 handshake it is answered (test_tls12.py,
    test_close_notify_is_answered_at_once). In the handshake (here: the server has sent
    ServerHelloDone) connection.py _receive_alert() only moves to SHUTDOWN and sends nothing."""
    client = ClientConnection(client12(), "localhost")
    server = ServerConnection(ServerConfig(certificates=(server_cert(),)))
    server.receive_data(client.data_to_send())
    assert server.data_to_send()
    server.receive_data(CLOSE_NOTIFY_RECORD)
    assert server.state is ConnectionState.SHUTDOWN
    assert server.data_to_send() == CLOSE_NOTIFY_RECORD


# -- RFC 5246 §6.2.1: application data interleaved with a later handshake -----------------------


def _established() -> tuple[ClientConnection, ServerConnection]:
    client = ClientConnection(client12(), "localhost")
    server = ServerConnection(ServerConfig(certificates=(server_cert(),)))
    pump(client, server)
    assert client.state is server.state is ConnectionState.APP_DATA
    return client, server


def test_application_data_inside_a_renegotiation_client_hello_is_processed() -> None:
    """RFC 5246 §6.2.1: "Recipients MUST receive and process interleaved application layer
    traffic during handshakes subsequent to the first one on a connection."

    The client starts a second handshake: its ClientHello in two records with application data
    between them (tlsfuzzer test-interleaved-application-data-and-fragmented-handshakes-in-
    renegotiation, "Application data inside Client Hello"). We refuse renegotiation, but only
    once the ClientHello is complete; the data in between must still reach the application.
    connection.py _dispatch() raises unexpected_message for application data while handshake
    bytes are buffered (the RFC 8446 §5.1 rule, which is TLS 1.3's)."""
    client, server = _established()
    second_hello = ClientConnection(client12(), "localhost").data_to_send()[5:]
    client._records.write(ContentType.HANDSHAKE, second_hello[:30])
    client._records.write(ContentType.APPLICATION_DATA, b"GET / HTTP/1.0")
    client._records.write(ContentType.HANDSHAKE, second_hello[30:])
    events = server.receive_data(client.data_to_send())
    assert [e.data for e in events if isinstance(e, ApplicationData)] == [b"GET / HTTP/1.0"]
    assert server.state is ConnectionState.APP_DATA
    assert client.receive_data(server.data_to_send()) == [
        WarningAlertReceived(description=AlertDescription.NO_RENEGOTIATION)
    ]


def test_application_data_inside_a_hello_request_is_processed() -> None:
    """RFC 5246 §6.2.1: "Recipients MUST receive and process interleaved application layer
    traffic during handshakes subsequent to the first one on a connection."

    The server asks for a new handshake with a HelloRequest split in two records, application
    data between them; the client must deliver the data (and then decline with
    no_renegotiation, RFC 5746 §4.2)."""
    client, server = _established()
    server._records.write(ContentType.HANDSHAKE, b"\x00\x00")
    server._records.write(ContentType.APPLICATION_DATA, b"HTTP/1.0 200 OK")
    server._records.write(ContentType.HANDSHAKE, b"\x00\x00")
    events = client.receive_data(server.data_to_send())
    assert [e.data for e in events if isinstance(e, ApplicationData)] == [b"HTTP/1.0 200 OK"]
    assert client.state is ConnectionState.APP_DATA
    assert server.receive_data(client.data_to_send()) == [
        WarningAlertReceived(description=AlertDescription.NO_RENEGOTIATION)
    ]


# -- guards: rules that hold -----------------------------------------------------------------


def test_scsv_without_the_extension_gets_an_empty_renegotiation_info() -> None:
    """RFC 5746 §3.6: "When a ClientHello is received, the server MUST check if it includes the
    TLS_EMPTY_RENEGOTIATION_INFO_SCSV SCSV.  If it does, set the secure_renegotiation flag to
    TRUE." and "If the secure_renegotiation flag is set to TRUE, the server MUST include an
    empty "renegotiation_info" extension in the ServerHello message.\""""
    hello = hello_of(ClientConnection(client12(), "localhost").data_to_send())
    extensions = tuple(e for e in hello.extensions if not isinstance(e, RenegotiationInfo))
    suites = (*hello.cipher_suites, 0x00FF)
    server = ServerConnection(ServerConfig(certificates=(server_cert(),)))
    server.receive_data(hello_record(hello, extensions=extensions, cipher_suites=suites))
    server_hello: ServerHello = find(server.data_to_send(), HandshakeType.SERVER_HELLO)
    assert server_hello.get(RenegotiationInfo) == RenegotiationInfo(renegotiated_connection=b"")


def test_neither_scsv_nor_extension_gets_no_renegotiation_info() -> None:
    """RFC 5246 §7.4.1.4 / RFC 5746 §3.6: without the SCSV or the extension the ServerHello
    carries no renegotiation_info (it would be an unsolicited extension)."""
    hello = hello_of(ClientConnection(client12(), "localhost").data_to_send())
    extensions = tuple(e for e in hello.extensions if not isinstance(e, RenegotiationInfo))
    server = ServerConnection(ServerConfig(certificates=(server_cert(),)))
    server.receive_data(hello_record(hello, extensions=extensions))
    server_hello: ServerHello = find(server.data_to_send(), HandshakeType.SERVER_HELLO)
    assert server_hello.get(RenegotiationInfo) is None


@pytest.mark.parametrize(
    ("ext_type", "body"),
    [(23, b"\x00"), (11, b""), (11, b"\x01\x00\x00"), (0xFF01, b"\x05ab")],
    ids=[
        "extended_master_secret-not-empty",
        "ec_point_formats-empty",
        "ec_point_formats-trailing",
        "renegotiation_info-truncated",
    ],
)
def test_malformed_tls12_extension_is_decode_error(ext_type: int, body: bytes) -> None:
    """RFC 7627 §5.1: "The extension_data field of this extension SHALL be empty." (tlsfuzzer
    test-extended-master-secret-extension "malformed extended master secret ext" expects
    decode_error); ec_point_formats is ``ec_point_format_list<1..2^8-1>`` (RFC 8422 §5.1.2),
    renegotiation_info ``renegotiated_connection<0..255>`` (RFC 5746 §3.2). In a ClientHello
    that negotiates TLS 1.2 they are judged (a TLS 1.3 handshake ignores them:
    test_tlsfuzzer_tls13_a.py)."""
    hello = hello_of(ClientConnection(client12(), "localhost").data_to_send())
    extensions = (
        *(e for e in hello.extensions if e.ext_type != ext_type),
        UnknownExtension(ext_type=ext_type, extension_data=body),
    )
    server = ServerConnection(ServerConfig(certificates=(server_cert(),)))
    rejects(server, hello_record(hello, extensions=extensions), AlertDescription.DECODE_ERROR)


def test_resumed_server_hello_carries_no_server_name() -> None:
    """RFC 6066 §3: "When resuming a session, the server MUST NOT include a server_name
    extension in the server hello." (The full handshake acknowledges the name.)"""
    clock = Clock()
    store = InMemoryClientSessionStore()
    client_config = client12(session_store=store, clock=clock, trace_handshake=True)
    server_config = ServerConfig(
        certificates=(server_cert(),),
        clock=clock,
        session_cache=InMemorySessionCache(),
        ticket_sealer=AeadTicketSealer(),
    )
    hellos = []
    for _ in range(2):
        client = ClientConnection(client_config, "localhost")
        client_events, _ = pump(client, ServerConnection(server_config))
        (done,) = [e for e in client_events if isinstance(e, HandshakeComplete)]
        (server_hello,) = [
            e.message for e in client_events if getattr(e, "name", None) == "server_hello"
        ]
        hellos.append((done.resumed, server_hello))
    (first_resumed, first), (second_resumed, second) = hellos
    assert not first_resumed and second_resumed
    assert first.get(ServerName) is not None
    assert second.get(ServerName) is None
