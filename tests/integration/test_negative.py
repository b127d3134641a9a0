"""Bad input at the connection level: each failure sends exactly the alert RFC 8446 requires."""

from __future__ import annotations

import dataclasses
import functools

import pytest

from memory_pair import pump
from tlsmachine import (
    AlertReceived,
    ApplicationData,
    ClientConfig,
    ClientConnection,
    ConfigurationError,
    ConnectionClosedError,
    ConnectionState,
    RecordTraced,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.certs import CertifiedKey
from tlsmachine.client.hello import ExpectServerHello
from tlsmachine.enums import AlertDescription, AlertLevel, HandshakeType, ProtocolVersion
from tlsmachine.errors import (
    BadRecordMac,
    DecodeError,
    DecryptError,
    IllegalParameter,
    ProtocolError,
    RecordOverflow,
    UnexpectedMessage,
    UnknownCA,
    UnsupportedExtension,
)
from tlsmachine.extensions import SupportedGroups, UnknownExtension
from tlsmachine.machine import Output, SendMessage
from tlsmachine.messages import Alert, ClientHello, decode_handshake, encode_handshake
from tlsmachine.messages.tls13 import CertificateVerify, EncryptedExtensions, Finished
from tlsmachine.server.hello import ExpectClientHello
from tlsmachine.verify import PinnedCertificate
from wire import plaintext_alert


@functools.cache
def certificate() -> CertifiedKey:
    return CertifiedKey.self_signed(("localhost",), key_type="ecdsa-p256")


def server() -> ServerConnection:
    return ServerConnection(ServerConfig(certificates=(certificate(),)))


def client() -> ClientConnection:
    return ClientConnection(ClientConfig(verify_certificates=False), "localhost")


def assert_failed_with(conn, exc_info, error: type[ProtocolError], alert: AlertDescription) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(exc_info.value, error)
    assert exc_info.value.alert is alert
    assert conn.state is ConnectionState.FAILED
    with pytest.raises(ConnectionClosedError):
        conn.receive_data(b"\x16\x03\x03\x00\x01\x00")


def handshake_record(message: object) -> bytes:
    body = encode_handshake(message)  # type: ignore[arg-type]
    return b"\x16\x03\x03" + len(body).to_bytes(2, "big") + body


def test_out_of_order_message_to_server() -> None:
    conn = server()
    with pytest.raises(UnexpectedMessage) as exc_info:
        conn.receive_data(handshake_record(Finished(verify_data=bytes(32))))
    assert conn.data_to_send() == plaintext_alert(AlertDescription.UNEXPECTED_MESSAGE)
    assert_failed_with(conn, exc_info, UnexpectedMessage, AlertDescription.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize(
    ("side", "msg_type", "length"),
    [
        ("server", HandshakeType.CERTIFICATE, 1000),
        ("server", HandshakeType.FINISHED, 32),
        ("client", HandshakeType.CERTIFICATE, 1000),
        ("client", HandshakeType.NEW_SESSION_TICKET, 200),
    ],
)
def test_out_of_order_type_is_refused_from_its_header(
    side: str, msg_type: HandshakeType, length: int
) -> None:
    """A message is judged by its type as soon as its header arrives (RFC 8446 §4): the
    start of one the state does not take is unexpected_message at once, not a wait (and a
    buffer) for a body that may never come."""
    conn = server() if side == "server" else client()
    conn.data_to_send()
    start = bytes((msg_type,)) + length.to_bytes(3, "big") + bytes(10)  # 10 of its bytes
    with pytest.raises(UnexpectedMessage) as exc_info:
        conn.receive_data(b"\x16\x03\x03" + len(start).to_bytes(2, "big") + start)
    assert conn.data_to_send() == plaintext_alert(AlertDescription.UNEXPECTED_MESSAGE)
    assert_failed_with(conn, exc_info, UnexpectedMessage, AlertDescription.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize("side", ["server", "client"])
def test_expected_type_waits_for_the_rest_of_its_body(side: str) -> None:
    """The counterpart: the first byte of the message the state waits for is kept."""
    conn = server() if side == "server" else client()
    hello = client().data_to_send()[5:] if side == "server" else b"\x02\x00\x00\x80"
    first = hello[:7]
    assert conn.receive_data(b"\x16\x03\x03" + len(first).to_bytes(2, "big") + first) == []
    assert conn.state is not ConnectionState.FAILED


def test_duplicate_extension_in_client_hello() -> None:
    hello_raw = client().data_to_send()[5:]
    hello = decode_handshake(hello_raw)
    groups = next(e for e in hello.extensions if isinstance(e, SupportedGroups))  # type: ignore[attr-defined]
    bad = dataclasses.replace(hello, extensions=(*hello.extensions, groups), raw=b"")  # type: ignore[type-var]
    conn = server()
    with pytest.raises(IllegalParameter) as exc_info:
        conn.receive_data(handshake_record(bad))
    assert conn.data_to_send() == plaintext_alert(AlertDescription.ILLEGAL_PARAMETER)
    assert_failed_with(conn, exc_info, IllegalParameter, AlertDescription.ILLEGAL_PARAMETER)


def test_oversized_record() -> None:
    conn = server()
    with pytest.raises(RecordOverflow) as exc_info:
        conn.receive_data(b"\x16\x03\x03" + (2**14 + 1).to_bytes(2, "big"))  # the header alone
    assert conn.data_to_send() == plaintext_alert(AlertDescription.RECORD_OVERFLOW)
    assert_failed_with(conn, exc_info, RecordOverflow, AlertDescription.RECORD_OVERFLOW)


def test_wrong_record_mac_reaches_the_peer_as_an_encrypted_alert() -> None:
    c, s = client(), server()
    s.receive_data(c.data_to_send())
    flight = bytearray(s.data_to_send())
    flight[-1] ^= 0x01  # the last byte of the encrypted flight's tag
    with pytest.raises(BadRecordMac) as exc_info:
        c.receive_data(bytes(flight))
    assert_failed_with(c, exc_info, BadRecordMac, AlertDescription.BAD_RECORD_MAC)
    alert = c.data_to_send()
    assert alert[0] == 23  # protected under the client handshake keys the server expects
    with pytest.raises(AlertReceived) as received:
        s.receive_data(alert)
    assert received.value.description == AlertDescription.BAD_RECORD_MAC
    assert s.state is ConnectionState.FAILED
    assert s.data_to_send() == b""  # nobody answers an alert with an alert


def client_states_up_to(message_type: type) -> tuple[object, list[object]]:
    """A client state waiting for ``message_type`` and the server's messages from there on."""
    out = Output()
    state: object = ExpectServerHello.start(
        ClientConfig(verify_certificates=False), "localhost", out
    )
    hello = decode_handshake(next(a.raw for a in out.actions if isinstance(a, SendMessage)))
    server_out = Output()
    ExpectClientHello(ServerConfig(certificates=(certificate(),))).handle(hello, server_out)  # type: ignore[arg-type]
    messages = [decode_handshake(a.raw) for a in server_out.actions if isinstance(a, SendMessage)]
    while not isinstance(messages[0], message_type):
        state = state.handle(messages.pop(0), Output())  # type: ignore[attr-defined]
    return state, messages


def test_bad_finished_is_decrypt_error() -> None:
    state, (finished,) = client_states_up_to(Finished)
    bad = Finished(verify_data=bytes(len(finished.verify_data)))  # type: ignore[attr-defined]
    with pytest.raises(DecryptError) as exc_info:
        state.handle(decode_handshake(encode_handshake(bad)), Output())  # type: ignore[attr-defined]
    assert exc_info.value.alert is AlertDescription.DECRYPT_ERROR


def test_short_finished_is_decode_error() -> None:
    state, _ = client_states_up_to(Finished)
    with pytest.raises(DecodeError):
        state.handle(decode_handshake(encode_handshake(Finished(verify_data=b"\x00"))), Output())  # type: ignore[attr-defined]


def test_bad_certificate_verify_is_decrypt_error() -> None:
    state, (cv, _) = client_states_up_to(CertificateVerify)
    signature = bytearray(cv.signature)  # type: ignore[attr-defined]
    signature[-1] ^= 1
    bad = CertificateVerify(algorithm=cv.algorithm, signature=bytes(signature))  # type: ignore[attr-defined]
    with pytest.raises(DecryptError) as exc_info:
        state.handle(decode_handshake(encode_handshake(bad)), Output())  # type: ignore[attr-defined]
    assert exc_info.value.alert is AlertDescription.DECRYPT_ERROR


def test_certificate_verify_with_unoffered_scheme_is_illegal_parameter() -> None:
    state, (cv, _) = client_states_up_to(CertificateVerify)
    bad = CertificateVerify(algorithm=0x0401, signature=cv.signature)  # type: ignore[attr-defined]
    with pytest.raises(IllegalParameter):
        state.handle(decode_handshake(encode_handshake(bad)), Output())  # type: ignore[attr-defined]


def test_unknown_extension_in_encrypted_extensions_is_unsupported_extension() -> None:
    state, _ = client_states_up_to(EncryptedExtensions)
    ee = EncryptedExtensions(extensions=(UnknownExtension(ext_type=0x7777, extension_data=b""),))
    with pytest.raises(UnsupportedExtension) as exc_info:
        state.handle(decode_handshake(encode_handshake(ee)), Output())  # type: ignore[attr-defined]
    assert exc_info.value.alert is AlertDescription.UNSUPPORTED_EXTENSION


def test_garbage_instead_of_a_record() -> None:
    conn = client()
    with pytest.raises(UnexpectedMessage):
        conn.receive_data(b"GET / HTTP/1.1\r\n\r\n")
    assert conn.state is ConnectionState.FAILED


def test_peer_fatal_alert_surfaces_as_alert_received() -> None:
    conn = client()
    conn.data_to_send()  # the ClientHello
    with pytest.raises(AlertReceived) as exc_info:
        conn.receive_data(plaintext_alert(AlertDescription.HANDSHAKE_FAILURE))
    assert exc_info.value.description == AlertDescription.HANDSHAKE_FAILURE
    assert "handshake_failure" in str(exc_info.value)
    assert conn.data_to_send() == b""


def test_tls12_only_client_gets_protocol_version_from_a_tls13_only_server() -> None:
    c = client()
    hello = decode_handshake(c.data_to_send()[5:])
    from tlsmachine.extensions import SupportedVersionsClientHello

    exts = tuple(e for e in hello.extensions if not isinstance(e, SupportedVersionsClientHello))  # type: ignore[attr-defined]
    old = dataclasses.replace(hello, extensions=exts, raw=b"")  # type: ignore[type-var]
    config = ServerConfig(certificates=(certificate(),), min_version=ProtocolVersion.TLS13)
    conn = ServerConnection(config)
    with pytest.raises(ProtocolError) as exc_info:
        conn.receive_data(handshake_record(old))
    assert exc_info.value.alert is AlertDescription.PROTOCOL_VERSION
    assert conn.data_to_send() == plaintext_alert(AlertDescription.PROTOCOL_VERSION)


def test_client_without_server_name_needs_one_to_verify() -> None:
    with pytest.raises(ConfigurationError, match="server_name is required"):
        ClientConnection(ClientConfig(), None)


def test_a_custom_verifier_decides_whether_it_needs_a_server_name() -> None:
    """A pinned certificate authenticates the server without a name (ssl's check_hostname
    off): the client connects without one, and the pin is still enforced."""
    pinned = ClientConfig(verifier=PinnedCertificate(certificate().leaf))
    c, s = ClientConnection(pinned, None), server()
    s.receive_data(c.data_to_send())
    c.receive_data(s.data_to_send())
    assert c.handshake_info is not None and c.server_name is None
    other = CertifiedKey.self_signed(("localhost",), "ecdsa-p256")
    wrong = ClientConfig(verifier=PinnedCertificate(other.leaf))
    c, s = ClientConnection(wrong, None), server()
    s.receive_data(c.data_to_send())
    with pytest.raises(UnknownCA):
        c.receive_data(s.data_to_send())


@pytest.mark.parametrize("split", [False, True], ids=["one-record-fast-path", "fed-in-pieces"])
def test_tampered_application_data_is_bad_record_mac(split: bool) -> None:
    c, s = client(), server()
    s.receive_data(c.data_to_send())
    c.receive_data(s.data_to_send())
    s.receive_data(c.data_to_send())
    c.send(b"attack at dawn")
    record = bytearray(c.data_to_send())
    record[7] ^= 0x80
    if split:
        assert s.receive_data(bytes(record[:3])) == []  # an incomplete header: nothing yet
    with pytest.raises(BadRecordMac) as exc_info:
        s.receive_data(bytes(record[3:] if split else record))
    assert_failed_with(s, exc_info, BadRecordMac, AlertDescription.BAD_RECORD_MAC)
    with pytest.raises(AlertReceived) as received:
        c.receive_data(s.data_to_send())
    assert received.value.description == AlertDescription.BAD_RECORD_MAC


def test_data_authenticated_before_a_bad_record_is_still_available() -> None:
    """receive_data() raises for the bad record; the good record before it in the same read
    was decoded and stays available through take_events()."""
    c, s = client(), server()
    s.receive_data(c.data_to_send())
    c.receive_data(s.data_to_send())
    s.receive_data(c.data_to_send())
    c.send(b"authentic")
    good = c.data_to_send()
    c.send(b"attack at dawn")
    bad = bytearray(c.data_to_send())
    bad[7] ^= 0x80
    with pytest.raises(BadRecordMac):
        s.receive_data(good + bytes(bad))
    assert s.take_events() == [ApplicationData(data=b"authentic")]
    assert s.take_events() == []  # taken once


def test_take_events_returns_what_close_queued() -> None:
    """close() returns nothing; the trace of our close_notify waits in take_events()."""
    c = ClientConnection(ClientConfig(verify_certificates=False, trace_handshake=True), "x")
    s = server()
    s.receive_data(c.data_to_send())
    c.receive_data(s.data_to_send())
    c.take_events()
    c.close()
    (event,) = c.take_events()
    assert isinstance(event, RecordTraced) and event.direction == "sent"
    assert event.message == Alert(AlertLevel.WARNING, AlertDescription.CLOSE_NOTIFY)


def test_psk_without_key_exchange_modes_is_missing_extension() -> None:
    from tlsmachine.extensions import PreSharedKeyClientHello, PskIdentity, PskKeyExchangeModes

    hello = decode_handshake(client().data_to_send()[5:])
    psk = PreSharedKeyClientHello(
        identities=(PskIdentity(identity=b"ticket", obfuscated_ticket_age=0),),
        binders=(bytes(32),),
    )
    assert isinstance(hello, ClientHello) and hello.get(PskKeyExchangeModes) is not None
    kept = tuple(e for e in hello.extensions if not isinstance(e, PskKeyExchangeModes))
    bad = dataclasses.replace(hello, extensions=(*kept, psk), raw=b"")
    conn = server()
    with pytest.raises(ProtocolError) as exc_info:
        conn.receive_data(handshake_record(bad))
    assert exc_info.value.alert is AlertDescription.MISSING_EXTENSION
    assert conn.data_to_send() == plaintext_alert(AlertDescription.MISSING_EXTENSION)


def test_early_data_in_the_second_client_hello_is_illegal() -> None:
    from tlsmachine.crypto.groups import SECP384R1, X25519
    from tlsmachine.extensions import EarlyData

    c = ClientConnection(
        ClientConfig(verify_certificates=False, groups=(X25519, SECP384R1)), "localhost"
    )
    s = ServerConnection(ServerConfig(certificates=(certificate(),), groups=(SECP384R1,)))
    s.receive_data(c.data_to_send())
    c.receive_data(s.data_to_send())  # HelloRetryRequest
    second = c.data_to_send()
    second = second[second.index(b"\x16\x03\x03") :]  # skip the compatibility CCS record
    hello = decode_handshake(second[5:])
    bad = dataclasses.replace(  # type: ignore[type-var]
        hello, extensions=(*hello.extensions, EarlyData(max_early_data_size=None)), raw=b""
    )
    with pytest.raises(IllegalParameter):
        s.receive_data(handshake_record(bad))


def test_unsolicited_certificate_entry_extension_is_unsupported_extension() -> None:
    from tlsmachine.messages.tls13 import Certificate, CertificateEntry

    state, (certificate, *_) = client_states_up_to(Certificate)
    entry = certificate.certificate_list[0]  # type: ignore[attr-defined]
    status = UnknownExtension(ext_type=5, extension_data=b"\x01")  # status_request, not asked for
    bad = Certificate(
        certificate_request_context=b"",
        certificate_list=(CertificateEntry(cert_data=entry.cert_data, extensions=(status,)),),
    )
    with pytest.raises(UnsupportedExtension):
        state.handle(decode_handshake(encode_handshake(bad)), Output())  # type: ignore[attr-defined]


def test_key_updates_we_ask_for_are_not_idle_records() -> None:
    """RFC 8446 §4.6.3: a peer that receives update_requested MUST answer with its own
    KeyUpdate. A sender that rotates its keys again and again, asking each time, gets a row of
    answering KeyUpdates without application data: none of them counts against the limit on
    records without application data (which is for unsolicited ones)."""
    c, s = client(), server()
    pump(c, s)
    for _ in range(40):
        s.send(b"x" * 100)
        s.key_update(request_peer=True)
        c.receive_data(s.data_to_send())
        s.receive_data(c.data_to_send())
    assert s.state is ConnectionState.APP_DATA and c.state is ConnectionState.APP_DATA
