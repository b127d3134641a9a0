"""The trace formatter (tlsmachine.trace) over messages from real in-memory handshakes."""

from __future__ import annotations

import dataclasses
import time

from memory_pair import pump
from tls_fixtures import Clock, client_cert, server_cert
from tlsmachine import (
    ClientConfig,
    ClientConnection,
    Event,
    HandshakeMessageTraced,
    InMemoryClientSessionStore,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.certs import CertifiedKey
from tlsmachine.crypto.groups import SECP256R1
from tlsmachine.crypto.suites import TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
from tlsmachine.enums import AlertDescription, ProtocolVersion
from tlsmachine.events import ConnectionClosed, RecordTraced, WarningAlertReceived
from tlsmachine.extensions import (
    ApplicationLayerProtocolNegotiation,
    KeyShareClientHello,
    KeyShareEntry,
    SignatureAlgorithms,
    SupportedGroups,
    SupportedVersionsClientHello,
    UnknownExtension,
)
from tlsmachine.messages import (
    CHANGE_CIPHER_SPEC,
    Alert,
    Certificate12,
    ClientHello,
    ClientKeyExchange,
    ServerHelloDone,
    ServerKeyExchange,
)
from tlsmachine.session import AeadTicketSealer
from tlsmachine.trace import (
    TraceLog,
    alert_line,
    describe,
    message_fields,
    message_name,
    trace_line,
)

TLS12 = ProtocolVersion.TLS12


def _client(**kwargs: object) -> ClientConfig:
    options: dict[str, object] = {"cadata": server_cert().chain_pem(), "trace_handshake": True}
    return ClientConfig(**(options | kwargs))  # type: ignore[arg-type]


def _server(**kwargs: object) -> ServerConfig:
    options: dict[str, object] = {"certificates": (server_cert(),), "trace_handshake": True}
    return ServerConfig(**(options | kwargs))  # type: ignore[arg-type]


def handshake(
    client: ClientConfig, server: ServerConfig
) -> tuple[list[str], list[str], ClientConnection, ServerConnection]:
    """Both sides' trace lines of one in-memory handshake, without TLS 1.3's compatibility
    ChangeCipherSpec records (see :func:`test_tls13_compatibility_change_cipher_spec`)."""
    c, s = ClientConnection(client, "localhost"), ServerConnection(server)
    client_events, server_events = pump(c, s)
    assert c.handshake_info is not None, client_events
    return lines(client_events, True), lines(server_events, True), c, s


def lines(events: list[Event], drop_compat_ccs: bool = False) -> list[str]:
    log = TraceLog()
    out = [line for event in events for line in log.lines(event)]
    if drop_compat_ccs and not any("version=TLSv1.2" in line for line in out):
        out = [line for line in out if not line[3:].startswith("ChangeCipherSpec")]
    return out


def heads(trace: list[str]) -> list[str]:
    """Arrow and message name of each line."""
    return [" ".join(line.split()[:2]) for line in trace]


def flipped(trace: list[str]) -> list[str]:
    swap = {"->": "<-", "<-": "->"}
    return [swap[line[:2]] + line[2:] for line in trace]


def fields(line: str) -> list[str]:
    """The ``key=value`` fields and flags after the name."""
    return line.split("  ", 1)[1].split(" ") if "  " in line else []


# -- TLS 1.3 --------------------------------------------------------------------------------------


def test_tls13_full_handshake_both_directions_in_order() -> None:
    client_trace, server_trace, _, _ = handshake(
        _client(alpn_protocols=("h2", "http/1.1")), _server(alpn_protocols=("http/1.1",))
    )
    assert heads(client_trace) == [
        "-> ClientHello",
        "<- ServerHello",
        "<- EncryptedExtensions",
        "<- Certificate",
        "<- CertificateVerify",
        "<- Finished",
        "-> Finished",
        "<- NewSessionTicket",
        "<- NewSessionTicket",
    ]
    # the same messages, seen from the other side
    assert server_trace == flipped(client_trace)
    hello, server_hello, ee, cert, verify, finished = client_trace[:6]
    assert hello.startswith("-> ClientHello  versions=[TLSv1.3,TLSv1.2] suites=[")
    hello_fields = fields(hello)
    assert hello_fields[1].startswith("suites=[TLS_AES_128_GCM_SHA256,TLS_AES_256_GCM_SHA384,")
    assert "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" in hello_fields[1]  # TLS 1.2 offered too
    assert hello_fields[2].startswith("groups=[x25519mlkem768,x25519,secp256r1,")
    assert hello_fields[3] == "key_share=[x25519mlkem768,x25519]"  # the default: hybrid + x25519
    assert hello_fields[4].startswith("sigalgs=[ecdsa_p256_sha256,")
    assert "pss_rsae_sha256" in hello_fields[4]
    for field in ("alpn=[h2,http/1.1]", "sni=localhost", "ems", "session_id=32B"):
        assert field in hello_fields
    assert hello_fields[-1] == "session_id=32B"
    assert server_hello == (
        "<- ServerHello  version=TLSv1.3 suite=TLS_AES_128_GCM_SHA256 key_share=x25519mlkem768 "
        "session_id=32B"
    )
    assert "alpn=http/1.1" in fields(ee) and "sni" in fields(ee)
    assert cert == "<- Certificate  certs=1 leaf=CN=localhost"
    assert fields(verify)[0] == "scheme=ecdsa_secp256r1_sha256"
    assert fields(verify)[1].endswith("B")
    assert finished == "<- Finished  verify_data=32B"
    assert fields(client_trace[7])[0] == "lifetime=7200s"


def test_tls13_compatibility_change_cipher_spec() -> None:
    """RFC 8446 Appendix D.4: the server's follows its ServerHello, the client's precedes its
    second flight; both are traced where they travel."""
    c = ClientConnection(_client(), "localhost")
    s = ServerConnection(_server())
    client_events, server_events = pump(c, s)
    client_trace = heads(lines(client_events))
    assert client_trace[:3] == ["-> ClientHello", "<- ServerHello", "<- ChangeCipherSpec"]
    assert client_trace[client_trace.index("-> Finished") - 1] == "-> ChangeCipherSpec"
    assert client_trace.count("-> ChangeCipherSpec") == 1
    assert client_trace.count("<- ChangeCipherSpec") == 1
    assert lines(server_events) == flipped(lines(client_events))


def test_hello_retry_request() -> None:
    client_trace, server_trace, c, _ = handshake(_client(), _server(groups=(SECP256R1,)))
    assert heads(client_trace)[:4] == [
        "-> ClientHello",
        "<- HelloRetryRequest",
        "-> ClientHello",
        "<- ServerHello",
    ]
    hrr = client_trace[1]
    assert "selected_group=secp256r1" in fields(hrr)
    assert "version=TLSv1.3" in fields(hrr)
    assert "key_share=[x25519mlkem768,x25519]" in fields(client_trace[0])
    assert "key_share=[secp256r1]" in fields(client_trace[2])
    assert "key_share=secp256r1" in fields(client_trace[3])
    assert server_trace == flipped(client_trace)
    assert c.handshake_info is not None and c.handshake_info.hello_retry


def test_resumption_with_early_data() -> None:
    clock = Clock(time.time())  # the test certificate is valid now
    client = _client(
        session_store=InMemoryClientSessionStore(), clock=clock, early_data=True,
        alpn_protocols=("h2",),
    )  # fmt: skip
    server = _server(
        clock=clock, ticket_sealer=AeadTicketSealer(), max_early_data_size=1000,
        alpn_protocols=("h2",),
    )  # fmt: skip
    first, _, _, _ = handshake(client, server)
    assert "max_early_data=1000" in fields(first[-1])  # NewSessionTicket
    clock.now += 1
    c, s = ClientConnection(client, "localhost"), ServerConnection(server)
    c.send_early_data(b"zero rtt")
    client_events, _ = pump(c, s)
    trace = lines(client_events, True)
    assert heads(trace)[:7] == [
        "-> ClientHello",
        "<- ServerHello",
        "<- EncryptedExtensions",
        "<- Finished",
        "-> EndOfEarlyData",
        "-> Finished",
        "<- NewSessionTicket",
    ]
    hello = fields(trace[0])
    for field in ("psk_modes=[psk_dhe_ke]", "psk_identities=1", "early_data"):
        assert field in hello
    assert hello.index("psk_identities=1") < hello.index("early_data")  # the fixed order
    assert "psk_selected=0" in fields(trace[1])
    assert "early_data" in fields(trace[2])
    assert trace[4] == "-> EndOfEarlyData"


def test_client_authentication_and_key_update() -> None:
    certified = client_cert()
    client = _client(certificates=(certified,))
    server = _server(client_auth="required", client_cadata=certified.chain_pem())
    client_trace, server_trace, c, s = handshake(client, server)
    assert heads(client_trace)[3:9] == [
        "<- CertificateRequest",
        "<- Certificate",
        "<- CertificateVerify",
        "<- Finished",
        "-> Certificate",
        "-> CertificateVerify",
    ]
    request = fields(client_trace[3])
    assert request[0] == "context=0B"
    assert any(f.startswith("sigalgs=[") for f in request)
    assert client_trace[7] == "-> Certificate  certs=1 leaf=CN=client.example"
    assert server_trace == flipped(client_trace)
    c.key_update(request_peer=True)
    client_events, _ = pump(c, s)
    assert lines(client_events) == [
        "-> KeyUpdate  request=update_requested",
        "<- KeyUpdate  request=update_not_requested",  # the server's answer
    ]
    assert message_name(CHANGE_CIPHER_SPEC) == "ChangeCipherSpec"


# -- TLS 1.2 --------------------------------------------------------------------------------------


def test_tls12_full_handshake_with_change_cipher_spec_in_order() -> None:
    client_trace, server_trace, _, _ = handshake(
        _client(max_version=TLS12, alpn_protocols=("http/1.1",)),
        _server(alpn_protocols=("http/1.1",)),
    )
    assert heads(client_trace) == [
        "-> ClientHello",
        "<- ServerHello",
        "<- Certificate",
        "<- ServerKeyExchange",
        "<- ServerHelloDone",
        "-> ClientKeyExchange",
        "-> ChangeCipherSpec",
        "-> Finished",
        "<- NewSessionTicket",
        "<- ChangeCipherSpec",
        "<- Finished",
    ]
    assert server_trace == flipped(client_trace)
    hello = fields(client_trace[0])
    assert hello[0] == "version=TLSv1.2"
    assert "TLS_AES_128_GCM_SHA256" not in hello[1]  # a TLS 1.2-only hello
    assert "session_ticket" in hello and "reneg_info" in hello
    server_hello = fields(client_trace[1])
    assert server_hello[:2] == ["version=TLSv1.2", "suite=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]
    for field in ("alpn=http/1.1", "ems", "reneg_info", "session_ticket"):
        assert field in server_hello
    # a TLS 1.3 server negotiating TLS 1.2 says so in its random (RFC 8446 §4.1.3)
    assert server_hello[-1] == "downgrade_sentinel=TLSv1.2"
    assert client_trace[2] == "<- Certificate  certs=1 leaf=CN=localhost"
    assert client_trace[3] == (
        "<- ServerKeyExchange  group=x25519 public=32B scheme=ecdsa_secp256r1_sha256"
    )
    assert client_trace[5] == "-> ClientKeyExchange  public=32B"
    assert client_trace[7] == "-> Finished  verify_data=12B"
    assert fields(client_trace[8])[0] == "lifetime_hint=7200s"


def _dh_public_size(field: str) -> bool:
    """``public=NB`` of a TLS 1.2 ffdhe2048 value: 256 bytes less its leading zero octets,
    which TLS 1.2 does not send (RFC 5246 §4; 1 time in 256 there is one)."""
    return field.startswith("public=") and 240 <= int(field[7:].removesuffix("B")) <= 256


def test_tls12_dhe_and_client_certificate_request() -> None:
    rsa = CertifiedKey.self_signed(("localhost",), key_type="rsa-2048")
    certified = client_cert()
    client = ClientConfig(
        cadata=rsa.chain_pem(), max_version=TLS12, trace_handshake=True,
        tls12_cipher_suites=(TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,), certificates=(certified,),
    )  # fmt: skip
    server = ServerConfig(
        certificates=(rsa,), max_version=TLS12, trace_handshake=True, client_auth="required",
        client_cadata=certified.chain_pem(),
    )  # fmt: skip
    client_trace, server_trace, _, _ = handshake(client, server)
    assert server_trace == flipped(client_trace)
    by_name = {line.split()[1]: line for line in client_trace}
    ske = fields(by_name["ServerKeyExchange"])
    assert ske[0] == "dh=ffdhe2048" and _dh_public_size(ske[1])
    assert ske[2].startswith("scheme=rsa_pss_rsae_")
    request = fields(by_name["CertificateRequest"])
    assert request[0] == "types=[rsa_sign,ecdsa_sign]"
    assert request[1].startswith("sigalgs=[")
    assert "-> Certificate  certs=1 leaf=CN=client.example" in client_trace
    (cke,) = fields(by_name["ClientKeyExchange"])
    assert _dh_public_size(cke)
    assert heads(client_trace).index("-> CertificateVerify") < heads(client_trace).index(
        "-> ChangeCipherSpec"
    )
    assert "ServerHello  version=TLSv1.2" in by_name["ServerHello"]
    assert "downgrade_sentinel" not in by_name["ServerHello"]  # a TLS 1.2-only server


# -- unknown code points and odd bodies -------------------------------------------------------


def test_unknown_code_points_are_printed_as_hex() -> None:
    hello = ClientHello(
        legacy_version=0x0303,
        random=bytes(32),
        legacy_session_id=b"",
        cipher_suites=(0x0A0A, 0x1301),
        legacy_compression_methods=b"\x00",
        extensions=(
            UnknownExtension(0x1A1A, b""),
            SupportedVersionsClientHello((0x7A7A, 0x0304)),
            SupportedGroups((0x2A2A, 0x001D)),
            KeyShareClientHello((KeyShareEntry(0x2A2A, b"\x00"),)),
            SignatureAlgorithms((0x0403, 0x0B0B)),
            ApplicationLayerProtocolNegotiation((b"h2", b"\x00\xff", b"a b")),
            UnknownExtension(5, b"\x01\x00\x00\x00\x00"),  # status_request: not interpreted
        ),
    )
    assert fields(describe(hello)) == [
        "versions=[0x7a7a,TLSv1.3]",
        "suites=[0x0a0a,TLS_AES_128_GCM_SHA256]",
        "groups=[0x2a2a,x25519]",
        "key_share=[0x2a2a]",
        "sigalgs=[ecdsa_p256_sha256,0x0b0b]",
        "alpn=[h2,0x00ff,0x612062]",
        "ext=[0x1a1a,status_request]",
        "session_id=0B",
    ]


def test_bodies_that_do_not_parse_are_summarised_by_size() -> None:
    assert message_fields(ServerKeyExchange(b"\x07\x00\x01")) == "body=3B"
    assert message_fields(ClientKeyExchange(b"\x05\x00")) == "body=2B"
    assert message_fields(Certificate12((b"not DER",))) == "certs=1 leaf=(unparsable)"
    assert message_fields(Certificate12(())) == "certs=0"
    assert describe(ServerHelloDone()) == "ServerHelloDone"
    assert message_name(object()) == "object"
    assert message_fields(object()) == "(not decoded)"


def test_alert_lines_and_trace_log_events() -> None:
    assert alert_line("sent", AlertDescription.DECODE_ERROR, "fatal") == (
        "-> Alert  level=fatal description=decode_error"
    )
    assert alert_line("received", 200) == "<- Alert  description=0x00c8"
    log = TraceLog()
    # closure and warnings come as RecordTraced events; the events they cause add no line
    assert log.lines(ConnectionClosed()) == []
    assert log.lines(WarningAlertReceived(description=90)) == []
    assert trace_line("sent", ServerHelloDone()) == "-> ServerHelloDone"
    event = RecordTraced(
        direction="received", message=CHANGE_CIPHER_SPEC, name="change_cipher_spec",
        epoch="plaintext",
    )  # fmt: skip
    assert log.lines(event) == ["<- ChangeCipherSpec"]
    alert = dataclasses.replace(
        event, direction="sent", message=Alert(1, AlertDescription.CLOSE_NOTIFY), name="alert"
    )
    assert log.lines(alert) == ["-> Alert  level=warning description=close_notify"]
    assert describe(Alert(2, 0xEE)) == "Alert  level=fatal description=0x00ee"


def test_messages_from_a_real_handshake_all_have_a_formatter() -> None:
    """No traced message falls through to "(not decoded)", in either version."""
    for max_version in (ProtocolVersion.TLS13, TLS12):
        c = ClientConnection(_client(max_version=max_version), "localhost")
        s = ServerConnection(_server())
        client_events, server_events = pump(c, s)
        traced = [
            e for e in [*client_events, *server_events] if isinstance(e, HandshakeMessageTraced)
        ]
        assert len(traced) >= 14
        for event in traced:
            assert message_fields(event.message) != "(not decoded)", event
            name = "".join(part.capitalize() for part in event.name.split("_"))
            assert message_name(event.message) in (name, "HelloRetryRequest")
