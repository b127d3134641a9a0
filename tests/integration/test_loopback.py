"""In-memory client <-> server: every suite x group x signature scheme, HRR and KeyUpdate."""

from __future__ import annotations

import functools

import pytest

from memory_pair import pump
from tlsmachine import (
    ApplicationData,
    ClientConfig,
    ClientConnection,
    ConnectionClosed,
    ConnectionState,
    Event,
    HandshakeComplete,
    HandshakeMessageTraced,
    KeyUpdated,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.certs import CertifiedKey
from tlsmachine.crypto.groups import GROUPS, group_by_id
from tlsmachine.crypto.suites import TLS13_SUITES
from tlsmachine.enums import NamedGroup

KEY_TYPES = ("ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "rsa-2048", "ed25519", "ed448")
EXPECTED_SCHEME = {
    "ecdsa-p256": "ecdsa_secp256r1_sha256",
    "ecdsa-p384": "ecdsa_secp384r1_sha384",
    "ecdsa-p521": "ecdsa_secp521r1_sha512",
    "rsa-2048": "rsa_pss_rsae_sha256",
    "ed25519": "ed25519",
    "ed448": "ed448",
}
ECC_GROUPS = [g for g in GROUPS.values() if not g.name.startswith("ffdhe")]


@functools.cache
def certified(key_type: str) -> CertifiedKey:
    return CertifiedKey.self_signed(("localhost",), key_type=key_type)


def connect(
    key_type: str = "ecdsa-p256",
    client_kwargs: dict | None = None,
    server_kwargs: dict | None = None,
) -> tuple[ClientConnection, ServerConnection, list[Event], list[Event]]:
    cert = certified(key_type)
    cadata = b"".join(
        c.public_bytes(
            __import__(
                "cryptography.hazmat.primitives.serialization"
            ).hazmat.primitives.serialization.Encoding.PEM
        )
        for c in cert.chain[:1]
    )
    client = ClientConnection(ClientConfig(cadata=cadata, **(client_kwargs or {})), "localhost")
    server = ServerConnection(ServerConfig(certificates=(cert,), **(server_kwargs or {})))
    client_events, server_events = pump(client, server)
    return client, server, client_events, server_events


def only(events: list[Event], kind: type) -> list:
    return [e for e in events if isinstance(e, kind)]


@pytest.mark.parametrize("key_type", KEY_TYPES)
@pytest.mark.parametrize("suite", TLS13_SUITES, ids=lambda s: s.name)
@pytest.mark.parametrize("group", ECC_GROUPS, ids=lambda g: g.name)
def test_every_suite_group_and_signature_scheme(suite, group, key_type: str) -> None:
    client, server, ce, se = connect(
        key_type,
        client_kwargs={"cipher_suites": (suite,), "groups": (group,)},
        server_kwargs={"cipher_suites": (suite,), "groups": (group,)},
    )
    (done,) = only(ce, HandshakeComplete)
    (server_done,) = only(se, HandshakeComplete)
    assert done.cipher_suite == suite.name == server_done.cipher_suite
    assert done.group == group.name == server_done.group
    assert done.signature_scheme == EXPECTED_SCHEME[key_type] == server_done.signature_scheme
    assert not done.hello_retry
    client.send(b"ping")
    _, se = pump(client, server)
    assert [e.data for e in only(se, ApplicationData)] == [b"ping"]


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_every_signature_scheme(key_type: str) -> None:
    client, server, ce, _ = connect(key_type)
    (done,) = only(ce, HandshakeComplete)
    assert done.signature_scheme == EXPECTED_SCHEME[key_type]
    assert done.peer_certificates[0] == certified(key_type).chain[0]
    server.send(b"x" * 50_000)
    ce, _ = pump(client, server)
    assert b"".join(e.data for e in only(ce, ApplicationData)) == b"x" * 50_000


def test_ffdhe_group() -> None:
    group = group_by_id(NamedGroup.FFDHE2048)
    assert group is not None
    _, _, ce, _ = connect(client_kwargs={"groups": (group,)}, server_kwargs={"groups": (group,)})
    assert only(ce, HandshakeComplete)[0].group == "ffdhe2048"


@pytest.mark.parametrize("compat", [True, False])
def test_hello_retry_request(compat: bool) -> None:
    x25519 = group_by_id(NamedGroup.X25519)
    p384 = group_by_id(NamedGroup.SECP384R1)
    client, server, ce, se = connect(
        client_kwargs={"groups": (x25519, p384), "middlebox_compatibility": compat},
        server_kwargs={"groups": (p384,)},
    )
    (done,) = only(ce, HandshakeComplete)
    assert done.hello_retry and only(se, HandshakeComplete)[0].hello_retry
    assert done.group == "secp384r1"
    client.send(b"after hrr")
    _, se = pump(client, server)
    assert only(se, ApplicationData)[0].data == b"after hrr"


def test_hello_retry_with_cookie() -> None:
    x25519 = group_by_id(NamedGroup.X25519)
    p256 = group_by_id(NamedGroup.SECP256R1)
    _, _, ce, _ = connect(
        client_kwargs={"groups": (x25519, p256)},
        server_kwargs={"groups": (p256,), "hello_retry_cookie": lambda h: b"cookie:" + h[:8]},
    )
    assert only(ce, HandshakeComplete)[0].hello_retry


@pytest.mark.parametrize("request_peer", [False, True])
def test_key_update_both_directions(request_peer: bool) -> None:
    client, server, _, _ = connect()
    client.key_update(request_peer=request_peer)
    client.send(b"after update")
    ce, se = pump(client, server)
    assert only(se, ApplicationData)[0].data == b"after update"
    assert [e.direction for e in only(se, KeyUpdated)] == (
        ["receive", "send"] if request_peer else ["receive"]
    )
    if request_peer:  # the client's own "send" event comes with its next receive_data()
        assert [e.direction for e in only(ce, KeyUpdated)] == ["send", "receive"]
    server.send(b"reply")
    server.key_update()
    server.send(b"reply 2")
    ce, _ = pump(client, server)
    assert [e.data for e in only(ce, ApplicationData)] == [b"reply", b"reply 2"]


def test_alpn_negotiation() -> None:
    _, _, ce, se = connect(
        client_kwargs={"alpn_protocols": ("h2", "http/1.1")},
        server_kwargs={"alpn_protocols": ("http/1.1", "h2")},
    )
    assert only(ce, HandshakeComplete)[0].alpn_protocol == "http/1.1"
    assert only(se, HandshakeComplete)[0].alpn_protocol == "http/1.1"
    assert only(se, HandshakeComplete)[0].server_name == "localhost"


def test_close_notify_both_ways_with_half_close() -> None:
    client, server, _, _ = connect()
    client.close()
    assert client.state is ConnectionState.HOST_INITIATED_CLOSING
    ce, se = pump(client, server)
    assert only(se, ConnectionClosed)
    assert server.state is ConnectionState.PEER_CLOSED  # RFC 8446 §6.1: no forced answer
    server.send(b"the rest of the response")  # the server may still send (half-close)
    server.close()
    assert server.state is ConnectionState.SHUTDOWN
    ce, se = pump(client, server)
    assert [e.data for e in only(ce, ApplicationData)] == [b"the rest of the response"]
    assert only(ce, ConnectionClosed)
    assert client.state is ConnectionState.SHUTDOWN


def test_data_after_close_notify_is_ignored() -> None:
    client, server, _, _ = connect()
    client.close()
    to_server = client.data_to_send()
    assert server.receive_data(to_server) == [ConnectionClosed()]
    assert server.receive_data(b"\x17\x03\x03\x00\x20" + bytes(32)) == []  # RFC 8446 §6.1


def test_trace_includes_the_first_client_hello() -> None:
    client = ClientConnection(ClientConfig(verify_certificates=False, trace_handshake=True), "x")
    server = ServerConnection(ServerConfig(certificates=(certified("ecdsa-p256"),)))
    ce, _ = pump(client, server)
    traced = [(e.direction, e.name) for e in ce if isinstance(e, HandshakeMessageTraced)]
    assert traced == [
        ("sent", "client_hello"),
        ("received", "server_hello"),
        ("received", "encrypted_extensions"),
        ("received", "certificate"),
        ("received", "certificate_verify"),
        ("received", "finished"),
        ("sent", "finished"),
        ("received", "new_session_ticket"),  # two by default (RFC 8446 §4.6.1)
        ("received", "new_session_ticket"),
    ]


def test_one_byte_at_a_time() -> None:
    cert = certified("ecdsa-p256")
    client = ClientConnection(ClientConfig(verify_certificates=False), "localhost")
    server = ServerConnection(ServerConfig(certificates=(cert,)))
    events: list[Event] = []
    for _ in range(10):
        data = client.data_to_send()
        for i in range(len(data)):
            server.receive_data(data[i : i + 1])
        data = server.data_to_send()
        for i in range(len(data)):
            events += client.receive_data(data[i : i + 1])
        if client.state is ConnectionState.APP_DATA and not data:
            break
    assert only(events, HandshakeComplete)


def test_automatic_key_update_before_the_aes_gcm_limit() -> None:
    from tlsmachine.record.protection import AES_GCM_MAX_RECORDS

    client, server, _, _ = connect()
    used = AES_GCM_MAX_RECORDS - (AES_GCM_MAX_RECORDS >> 3)  # 7/8 of the limit
    protector = client._records.write_protector
    protector._seq = used  # pretend the key already protected that many records...
    server._records.read_protector._seq = used  # ...and the peer read them
    client.send(b"near the limit")
    assert client._records.write_protector is not protector  # a KeyUpdate replaced the key
    client.send(b"under the new key")
    _, se = pump(client, server)
    assert [e.direction for e in only(se, KeyUpdated)] == ["receive"]
    assert [e.data for e in only(se, ApplicationData)] == [b"near the limit", b"under the new key"]


def test_record_size_limit_both_ways() -> None:
    client, server, _, _ = connect(
        client_kwargs={"record_size_limit": 256}, server_kwargs={"record_size_limit": 512}
    )
    client.send(b"c" * 2000)
    to_server = client.data_to_send()
    server.send(b"s" * 2000)
    to_client = server.data_to_send()
    # RFC 8449 §4: TLSInnerPlaintext (content + type byte) within the peer's limit.
    assert len(to_server) == 4 * (5 + 512 + 16) - (4 * 511 - 2000)
    assert len(to_client) == 8 * (5 + 16 + 1) + 2000
    assert b"".join(e.data for e in server.receive_data(to_server)) == b"c" * 2000
    assert b"".join(e.data for e in client.receive_data(to_client)) == b"s" * 2000


def test_key_log_lines_match_on_both_sides() -> None:
    client_lines: list[str] = []
    server_lines: list[str] = []
    connect(
        client_kwargs={"keylog": client_lines.append},
        server_kwargs={"keylog": server_lines.append},
    )
    labels = [line.split()[0] for line in client_lines]
    assert sorted(labels) == [
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "EXPORTER_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_TRAFFIC_SECRET_0",
    ]
    assert sorted(client_lines) == sorted(server_lines)  # both derived the same secrets
    for line in client_lines:  # NSS key log format: LABEL <64 hex client_random> <hex secret>
        _label, client_random, secret = line.split(" ")
        assert len(bytes.fromhex(client_random)) == 32
        assert len(bytes.fromhex(secret)) == 32


def test_rsassa_pss_certificate_from_openssl(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An id-RSASSA-PSS key (made by the openssl tool) signs with rsa_pss_pss_* (§4.2.3)."""
    import subprocess

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048",
         "-out", str(key)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    subprocess.run(
        ["openssl", "req", "-x509", "-new", "-key", str(key), "-out", str(cert), "-days", "30",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    certified_pss = CertifiedKey.load(cert, key)
    client = ClientConnection(ClientConfig(verify_certificates=False), "localhost")
    server = ServerConnection(ServerConfig(certificates=(certified_pss,)))
    ce, _ = pump(client, server)
    assert only(ce, HandshakeComplete)[0].signature_scheme == "rsa_pss_pss_sha256"


def test_tickets_reach_the_client_session_store() -> None:
    from tlsmachine import InMemoryClientSessionStore, SessionTicketReceived

    store = InMemoryClientSessionStore()
    _, _, ce, _ = connect(
        client_kwargs={"session_store": store, "alpn_protocols": ("h2",)},
        server_kwargs={"session_tickets": 3, "alpn_protocols": ("h2",)},
    )
    sessions = [e.session for e in only(ce, SessionTicketReceived)]
    assert len(sessions) == len(store) == 3
    assert len({s.ticket for s in sessions}) == 3  # distinct nonces, distinct PSKs and tickets
    assert len({s.psk for s in sessions}) == 3
    assert {s.alpn_protocol for s in sessions} == {"h2"}
    assert store.get("localhost", now=sessions[0].received_at + 1) is not None


def test_no_tickets_when_turned_off() -> None:
    from tlsmachine import SessionTicketReceived

    _, _, ce, _ = connect(server_kwargs={"session_tickets": 0})
    assert only(ce, SessionTicketReceived) == []


def test_exported_keying_material_agrees_and_depends_on_its_inputs() -> None:
    from tlsmachine import UsageError

    client, server, _, _ = connect()
    a = client.export_keying_material("EXPORTER-Channel-Binding", 32)
    assert a == server.export_keying_material(b"EXPORTER-Channel-Binding", 32)
    assert len(a) == 32
    assert client.export_keying_material("EXPORTER-other", 32) != a
    assert client.export_keying_material("EXPORTER-Channel-Binding", 32, b"ctx") != a
    # RFC 8446 §7.5: no context and an empty context are the same in TLS 1.3
    assert client.export_keying_material("EXPORTER-Channel-Binding", 32, b"") == a
    other_client, _, _, _ = connect()
    assert other_client.export_keying_material("EXPORTER-Channel-Binding", 32) != a
    fresh = ClientConnection(ClientConfig(verify_certificates=False), "localhost")
    with pytest.raises(UsageError):
        fresh.export_keying_material("EXPORTER-x", 32)
