"""Interop with BoringSSL (Google's TLS library, Chrome's), through Bun 1.4.5, both directions,
over 127.0.0.1.

Bun's ``node:tls`` is BoringSSL (``process.versions.boringssl`` is its commit). Our peer
program ``bun_peer/peer.js`` drives ``tls.createServer`` / ``tls.connect`` and prints one JSON
record per connection with what BoringSSL negotiated and 32 bytes of exported keying material
(RFC 5705, RFC 8446 §7.5), so every test checks both ends' view of the same connection and
that both derived the same key schedule.

What BoringSSL/Bun cannot do, found while writing these tests (peer limitations, not ours):

* TLS 1.3 cipher suites are not configurable in BoringSSL: each suite is forced from our side
  (our client or server offers or accepts only that one);
* Bun's ``getEphemeralKeyInfo()`` reports nothing on a server, nor for the ML-KEM hybrid on a
  client: then only our end's group is checked (and the HelloRetryRequest our end saw);
* a Bun server has no TLS 1.2 session-ID cache (no ``newSession``/``resumeSession`` events,
  no internal cache): with tickets off it declines our offered session ID, and we do a full
  handshake as RFC 5246 §7.4.1.2 allows;
* BoringSSL never initiates a KeyUpdate, nor a renegotiation: KeyUpdate is tested from our end
  (BoringSSL answers ``update_requested``, one answer for several); Bun's ``renegotiate()``
  fails locally (ERR_TLS_RENEGOTIATION_UNSUPPORTED) and nothing reaches the wire;
* BoringSSL's client sends an X25519MLKEM768 share whenever the hybrid is in its list, even
  second after X25519 (with a share for X25519 too): a HelloRetryRequest from our server to
  the hybrid never happens, so retries are forced with a group it did not share at all;
* like Node, Bun checks a client certificate after the handshake, in JavaScript, and drops the
  TCP connection without an alert when it fails; with psk_ke alone offered, BoringSSL sends no
  tickets at all (it resumes with psk_dhe_ke only).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

import pytest
from bun_peer import (
    BORINGSSL_CIPHERS,
    BunPeers,
    error_text,
    finished,
    ok,
    pattern,
    reported_group,
)
from cryptography.hazmat.primitives.serialization import Encoding
from matrix import case_id
from peers import TIMEOUT, client_config, dial, read_exactly, server_certificates
from tls12_peers import cached_sessions

from pki import TestPKI
from tlsmachine import (
    AlertReceived,
    Event,
    HandshakeMessageTraced,
    InMemoryClientSessionStore,
    KeyUpdated,
    ServerConfig,
    SessionTicketReceived,
)
from tlsmachine.enums import AlertDescription
from tlsmachine.errors import (
    CertificateRequired,
    HandshakeFailure,
    NoApplicationProtocol,
    ProtocolVersionError,
    UnknownCA,
)
from tlsmachine.messages.hello import DOWNGRADE_TLS12
from tlsmachine.sockets import TLSSocket, connect

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

AES128 = "TLS_AES_128_GCM_SHA256"
AES256 = "TLS_AES_256_GCM_SHA384"
CHACHA = "TLS_CHACHA20_POLY1305_SHA256"
MLKEM = "X25519MLKEM768"

SCHEME = {
    # TLS 1.3 CertificateVerify scheme for each server certificate (RFC 8446 §4.2.3: RSA
    # signs with RSASSA-PSS, ECDSA with the curve's own hash)
    "rsa-2048": "rsa_pss_rsae_sha256",
    "ecdsa-p256": "ecdsa_secp256r1_sha256",
    "ecdsa-p384": "ecdsa_secp384r1_sha384",
    "ed25519": "ed25519",
}

# TLS 1.3: every suite, group and certificate type, each more than once, in varied pairings.
CASES13 = [
    ("rsa-2048", "x25519", AES128),
    ("ecdsa-p256", "secp256r1", AES256),
    ("ecdsa-p384", "secp384r1", CHACHA),
    ("ed25519", MLKEM, AES128),
    ("rsa-2048", MLKEM, CHACHA),
    ("ecdsa-p256", "x25519", CHACHA),
    ("ecdsa-p384", MLKEM, AES256),
    ("ed25519", "secp384r1", AES256),
]
# TLS 1.2: ECDHE-ECDSA and ECDHE-RSA with each AEAD, on the three ECDHE curves.
CASES12 = [
    ("ecdsa-p256", "x25519", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    ("ecdsa-p256", "secp256r1", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    ("ecdsa-p384", "secp384r1", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    ("rsa-2048", "secp256r1", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    ("rsa-2048", "secp384r1", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    ("rsa-2048", "x25519", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
]


@pytest.fixture
def bun(test_pki: TestPKI) -> Iterator[BunPeers]:
    """Bun peers for one test; every one of them is stopped at teardown, pass or fail."""
    registry = BunPeers(test_pki)
    try:
        yield registry
    finally:
        registry.stop_all()


def exporter(tls: TLSSocket, context: bytes | None = None) -> str:
    return tls.export_keying_material(b"EXPORTER-tlsmachine-interop", 32, context).hex()


def sha256(bun: BunPeers, leaf: str) -> str:
    return hashlib.sha256(bun.pki.leaves[leaf].cert.public_bytes(Encoding.DER)).hexdigest()


def echo(tls: TLSSocket, message: bytes) -> None:
    tls.sendall(message)
    assert read_exactly(tls, len(message)) == message


def received(record: dict[str, Any]) -> bytes:
    assert record["received"] is not None, record  # only up to 4 KiB is printed
    return bytes.fromhex(record["received"])


def traced(events: list[Event], name: str, direction: str) -> list[Any]:
    """The handshake messages ``name`` sent or received (``trace_handshake=True``), in order."""
    return [
        e.message
        for e in events
        if isinstance(e, HandshakeMessageTraced) and (e.name, e.direction) == (name, direction)
    ]


def key_updates(events: list[Event]) -> list[str]:
    return [e.direction for e in events if isinstance(e, KeyUpdated)]


def check_reported_group(record: dict[str, Any], group: str) -> None:
    """Bun's client reports classical groups (OpenSSL short names), nothing for the hybrid."""
    if group == MLKEM:
        assert record["group"] is None, record
    else:
        assert reported_group(record["group"]) == group, record
        assert record["keyType"] == "ECDH", record


# -- the peer itself -------------------------------------------------------------------------------


def test_bun_is_1_4_5_on_boringssl(bun: BunPeers) -> None:
    versions = bun.versions()  # fails with "run `make peers`" when Bun is not installed
    assert versions["bun"] == "1.4.5", versions
    assert re.fullmatch(r"[0-9a-f]{40}", versions["boringssl"]), versions  # a BoringSSL commit


def test_bun_client_checks_the_host_name(bun: BunPeers) -> None:
    # the harness's client really verifies: a name our certificate lacks fails the handshake
    ours = bun.echo_server(ServerConfig(certificates=server_certificates(bun, "ecdsa-p256")))
    (record,) = finished(bun.bun_client(ours.port, servername="other.example"))
    assert "other.example" in error_text(record), record
    assert record.get("version") is None


def test_client_rejects_a_bun_server_with_an_untrusted_certificate(bun: BunPeers) -> None:
    server, port = bun.bun_server("untrusted")
    with pytest.raises(Exception, match=r"(?i)certificate|issuer|trust"):
        dial(port, client_config(bun))
    (record,) = finished(server)
    assert "ALERT" in error_text(record).upper(), record  # our alert, as BoringSSL read it


# -- defaults on both ends: Chrome's stack against ours --------------------------------------------


def test_default_client_with_default_bun_server(bun: BunPeers) -> None:
    server, port = bun.bun_server()
    with dial(port, client_config(bun)) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.version, info.group, info.hello_retry) == ("TLSv1.3", MLKEM, False)
        echo(tls, b"defaults")
        ours = exporter(tls)
    (record,) = finished(server)
    assert ok(record)["exporter"] == ours
    assert record["cipher"] == info.cipher_suite


def test_default_bun_client_with_default_server(bun: BunPeers) -> None:
    ours = bun.echo_server(ServerConfig(certificates=server_certificates(bun, "ecdsa-p256")))
    (record,) = finished(bun.bun_client(ours.port))
    assert ok(record)["version"] == "TLSv1.3"
    served = ours.next_exported()
    assert served.info is not None
    assert (served.info.group, served.info.hello_retry) == (MLKEM, False)  # shared at once
    assert served.info.cipher_suite == record["cipher"]
    assert record["exporter"] == served.exporter


# -- TLS 1.3 full handshakes -----------------------------------------------------------------------


@pytest.mark.parametrize(("leaf", "group", "suite"), CASES13, ids=map(case_id, CASES13))
def test_client_tls13_with_bun_server(bun: BunPeers, leaf: str, group: str, suite: str) -> None:
    server, port = bun.bun_server(leaf, groups=[group])
    config = client_config(bun, cipher_suites=(suite,), groups=(group,))
    message = b"hello BoringSSL, " * 1200  # two records each way
    with dial(port, config) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.version, info.cipher_suite, info.group) == ("TLSv1.3", suite, group)
        assert (info.hello_retry, info.resumed) == (False, False)
        assert info.signature_scheme == SCHEME[leaf]
        assert info.peer_certificates[0] == bun.pki.leaves[leaf].cert
        echo(tls, message)
        ours = exporter(tls)
    assert tls.clean_close is True  # BoringSSL answered our close_notify
    (record,) = finished(server)
    ok(record)
    assert (record["version"], record["cipher"]) == ("TLSv1.3", suite)
    assert (record["resumed"], record["servername"]) == (False, "localhost")
    assert record["exporter"] == ours
    assert record["receivedLength"] == len(message)
    assert record["clientEnded"] is True


@pytest.mark.parametrize(("leaf", "group", "suite"), CASES13, ids=map(case_id, CASES13))
def test_bun_client_tls13_with_server(bun: BunPeers, leaf: str, group: str, suite: str) -> None:
    config = ServerConfig(
        certificates=server_certificates(bun, leaf), cipher_suites=(suite,), groups=(group,)
    )
    ours = bun.echo_server(config)
    (record,) = finished(bun.bun_client(ours.port, groups=[group], message="x" * 20000))
    ok(record)
    assert (record["version"], record["cipher"]) == ("TLSv1.3", suite)
    check_reported_group(record, group)
    assert (record["authorized"], record["resumed"]) == (True, False)
    assert record["peerCertSha256"] == sha256(bun, leaf)
    assert record["receivedLength"] == 20000
    served = ours.next_exported()
    assert served.info is not None
    assert (served.info.version, served.info.cipher_suite) == ("TLSv1.3", suite)
    assert (served.info.group, served.info.hello_retry) == (group, False)
    assert served.info.signature_scheme == SCHEME[leaf]
    assert served.info.server_name == "localhost"
    assert served.received == b"x" * 20000
    assert served.clean_close is True
    assert record["exporter"] == served.exporter


# -- TLS 1.2 full handshakes (RFC 5246, RFC 8422, RFC 7627) ----------------------------------------


@pytest.mark.parametrize(("leaf", "group", "suite"), CASES12, ids=map(case_id, CASES12))
def test_client_tls12_with_bun_server(bun: BunPeers, leaf: str, group: str, suite: str) -> None:
    server, port = bun.bun_server(leaf, max_version="TLSv1.2", groups=[group], ciphers=[suite])
    # our default client offers TLS 1.3 and 1.2; requiring EMS shows BoringSSL negotiated it
    config = client_config(bun, require_extended_master_secret=True)
    with dial(port, config) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.version, info.cipher_suite, info.group) == ("TLSv1.2", suite, group)
        assert info.peer_certificates[0] == bun.pki.leaves[leaf].cert
        if leaf == "rsa-2048":
            assert info.signature_scheme == "rsa_pss_rsae_sha256"  # BoringSSL prefers PSS
        else:  # TLS 1.2 does not tie the hash to the curve (RFC 8422 §5.1.1 of RFC 5246)
            assert info.signature_scheme in ("ecdsa_secp256r1_sha256", SCHEME[leaf])
        echo(tls, b"hello over TLS 1.2")
        ours = exporter(tls)
    assert tls.clean_close is True
    (record,) = finished(server)
    ok(record)
    assert (record["version"], record["cipher"]) == ("TLSv1.2", suite)
    assert record["cipherName"] == BORINGSSL_CIPHERS[suite]
    assert record["exporter"] == ours  # the EMS-based master secret agrees (RFC 7627 §4)
    assert received(record) == b"hello over TLS 1.2"


@pytest.mark.parametrize(("leaf", "group", "suite"), CASES12, ids=map(case_id, CASES12))
def test_bun_client_tls12_with_server(bun: BunPeers, leaf: str, group: str, suite: str) -> None:
    config = ServerConfig(
        certificates=server_certificates(bun, leaf),
        groups=(group,),
        require_extended_master_secret=True,
    )
    ours = bun.echo_server(config)
    client = bun.bun_client(ours.port, max_version="TLSv1.2", ciphers=[suite], message="twelve")
    (record,) = finished(client)
    ok(record)
    assert (record["version"], record["cipher"]) == ("TLSv1.2", suite)
    check_reported_group(record, group)
    assert record["authorized"] is True
    assert record["peerCertSha256"] == sha256(bun, leaf)
    assert received(record) == b"twelve"
    served = ours.next_exported()
    assert served.info is not None
    assert (served.info.version, served.info.cipher_suite) == ("TLSv1.2", suite)
    assert served.info.group == group
    assert served.received == b"twelve"
    assert served.clean_close is True
    assert record["exporter"] == served.exporter


# -- HelloRetryRequest (RFC 8446 §4.1.4) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("shares", "bun_groups"),
    [(("x25519",), ["secp384r1"]), (("x25519",), [MLKEM]), (("secp256r1",), ["x25519"])],
    ids=["x25519-to-p384", "x25519-to-mlkem", "p256-to-x25519"],
)
def test_client_hello_retry_from_bun_server(
    bun: BunPeers, shares: tuple[str, ...], bun_groups: list[str]
) -> None:
    server, port = bun.bun_server(groups=bun_groups)
    config = client_config(bun, key_share_groups=shares)  # all our default groups offered
    with dial(port, config) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.hello_retry, info.group) == (True, bun_groups[0])
        echo(tls, b"after retry")
        ours = exporter(tls)
    (record,) = finished(server)
    assert ok(record)["exporter"] == ours  # both hashed the synthetic message_hash transcript
    assert received(record) == b"after retry"


@pytest.mark.parametrize(
    ("bun_groups", "our_group"),
    [(["x25519", "secp256r1"], "secp256r1"), ([MLKEM, "x25519", "secp384r1"], "secp384r1")],
    ids=["x25519-to-p256", "mlkem-x25519-to-p384"],
)
def test_server_hello_retry_to_bun_client(
    bun: BunPeers, bun_groups: list[str], our_group: str
) -> None:
    # BoringSSL's first flight shares its first group (and x25519 too when that is the
    # hybrid); our server takes only our_group, which it did not share
    config = ServerConfig(certificates=server_certificates(bun, "ecdsa-p256"), groups=(our_group,))
    ours = bun.echo_server(config)
    (record,) = finished(bun.bun_client(ours.port, groups=bun_groups))
    ok(record)
    check_reported_group(record, our_group)
    served = ours.next_exported()
    assert served.info is not None
    assert (served.info.hello_retry, served.info.group) == (True, our_group)
    assert record["exporter"] == served.exporter


# -- resumption -----------------------------------------------------------------------------------


def test_client_resumes_tls13_with_bun_server(bun: BunPeers) -> None:
    server, port = bun.bun_server(connections=2)
    store = InMemoryClientSessionStore()
    config = client_config(bun, session_store=store)
    infos, exporters = [], []
    for message in (b"full handshake", b"resumed"):
        with dial(port, config) as tls:
            echo(tls, message)  # BoringSSL's tickets came before the echo
            infos.append(tls.handshake_info)
            exporters.append(exporter(tls))
        assert tls.clean_close is True
        assert len(store) >= 1
    first, second = (ok(r) for r in finished(server, 2))
    assert [i.resumed for i in infos if i] == [False, True]
    assert (first["resumed"], second["resumed"]) == (False, True)  # BoringSSL took our PSK
    assert infos[1] is not None
    assert infos[1].signature_scheme is None  # no CertificateVerify in a PSK handshake
    assert infos[1].group is not None  # psk_dhe_ke (RFC 8446 §4.2.9)
    assert [first["exporter"], second["exporter"]] == exporters
    assert exporters[0] != exporters[1]


def test_bun_client_resumes_tls13_with_server(bun: BunPeers) -> None:
    ours = bun.echo_server(ServerConfig(certificates=server_certificates(bun, "ecdsa-p256")))
    client = bun.bun_client(ours.port, connections=2, resume=True)
    first, second = (ok(r) for r in finished(client, 2))
    assert (first["resumed"], second["resumed"]) == (False, True)
    assert first["tickets"] == 2  # ServerConfig.session_tickets, each a usable session
    served = [ours.next_exported() for _ in range(2)]
    assert [s.info.resumed for s in served if s.info] == [False, True]
    assert served[1].info is not None
    assert served[1].info.signature_scheme is None
    assert [first["exporter"], second["exporter"]] == [s.exporter for s in served]


def test_client_resumes_after_hello_retry_with_bun_server(bun: BunPeers) -> None:
    # both handshakes need a HelloRetryRequest: the second one's PSK binder must be computed
    # over the transcript with the retry (RFC 8446 §4.2.11.2)
    server, port = bun.bun_server(connections=2, groups=["secp384r1"])
    config = client_config(bun, session_store=InMemoryClientSessionStore())
    infos = []
    for message in (b"full", b"resumed"):
        with dial(port, config) as tls:
            echo(tls, message)
            infos.append(tls.handshake_info)
            ours = exporter(tls)
    assert [(i.hello_retry, i.resumed, i.group) for i in infos if i] == [
        (True, False, "secp384r1"),
        (True, True, "secp384r1"),
    ]
    first, second = (ok(r) for r in finished(server, 2))
    assert (first["resumed"], second["resumed"]) == (False, True)
    assert second["exporter"] == ours


def test_bun_client_resumes_after_hello_retry_with_server(bun: BunPeers) -> None:
    config = ServerConfig(
        certificates=server_certificates(bun, "ecdsa-p256"), groups=("secp384r1",)
    )
    ours = bun.echo_server(config)
    client = bun.bun_client(ours.port, connections=2, resume=True, groups=["x25519", "secp384r1"])
    first, second = (ok(r) for r in finished(client, 2))
    assert (first["resumed"], second["resumed"]) == (False, True)
    served = [ours.next_exported() for _ in range(2)]
    assert [(s.info.hello_retry, s.info.resumed) for s in served if s.info] == [
        (True, False),
        (True, True),
    ]
    assert second["exporter"] == served[1].exporter


def test_client_resumes_tls12_with_bun_server_ticket(bun: BunPeers) -> None:
    server, port = bun.bun_server(connections=3, max_version="TLSv1.2")
    store = InMemoryClientSessionStore()
    events: list[Event] = []
    config = client_config(bun, session_store=store, require_extended_master_secret=True)
    infos = []
    for i in range(3):
        with dial(port, config, on_event=events.append) as tls:
            echo(tls, b"connection %d" % i)
            infos.append(tls.handshake_info)
            ours = exporter(tls)
        assert tls.clean_close is True
    results = [ok(r) for r in finished(server, 3)]
    assert [i.resumed for i in infos if i] == [False, True, True]
    assert [r["resumed"] for r in results] == [False, True, True]  # BoringSSL agrees
    assert results[2]["exporter"] == ours  # the resumed master secret agrees
    sessions = [e.session for e in events if isinstance(e, SessionTicketReceived)]
    assert sessions
    assert all(s.ticket for s in sessions)  # RFC 5077 tickets


def test_client_session_id_declined_by_bun_server(bun: BunPeers) -> None:
    """Bun's BoringSSL server keeps no TLS 1.2 session cache: with tickets off it declines the
    session ID we offer (a full handshake, RFC 5246 §7.4.1.2), and we follow it."""
    server, port = bun.bun_server(connections=2, max_version="TLSv1.2", no_tickets=True)
    store = InMemoryClientSessionStore()
    events: list[Event] = []
    config = client_config(bun, session_store=store, trace_handshake=True)
    infos = []
    for i in range(2):
        with dial(port, config, on_event=events.append) as tls:
            echo(tls, b"connection %d" % i)
            infos.append(tls.handshake_info)
            ours = exporter(tls)
    results = [ok(r) for r in finished(server, 2)]
    sessions = [e.session for e in events if isinstance(e, SessionTicketReceived)]
    assert sessions
    assert not any(s.ticket for s in sessions)  # no tickets: sessions by ID only
    hellos = traced(events, "client_hello", "sent")
    server_hellos = traced(events, "server_hello", "received")
    assert server_hellos[0].legacy_session_id_echo  # BoringSSL named the session ...
    assert hellos[1].legacy_session_id == server_hellos[0].legacy_session_id_echo  # we offer it
    assert server_hellos[1].legacy_session_id_echo != hellos[1].legacy_session_id  # declined
    assert [i.resumed for i in infos if i] == [False, False]
    assert [r["resumed"] for r in results] == [False, False]
    assert results[1]["exporter"] == ours


@pytest.mark.parametrize("tickets", [False, True], ids=["session-id", "ticket"])
def test_bun_client_resumes_tls12_with_server(bun: BunPeers, tickets: bool) -> None:
    config = ServerConfig(
        certificates=server_certificates(bun, "rsa-2048"), session_tickets=2 if tickets else 0
    )
    ours = bun.echo_server(config)
    client = bun.bun_client(ours.port, connections=3, resume=True, max_version="TLSv1.2")
    results = [ok(r) for r in finished(client, 3)]
    assert [r["resumed"] for r in results] == [False, True, True]
    assert [r["ticket"] for r in results] == [tickets] * 3  # RFC 5077 §3.3, or a session ID
    served = [ours.next_exported() for _ in range(3)]
    assert [s.info.resumed for s in served if s.info] == [False, True, True]
    assert [r["exporter"] for r in results] == [s.exporter for s in served]
    assert cached_sessions(config) == (0 if tickets else 1)


# -- ALPN (RFC 7301) ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_client_alpn_with_bun_server(bun: BunPeers, version: str) -> None:
    server, port = bun.bun_server(max_version=version, alpn=["http/1.1", "h2"])
    config = client_config(bun, alpn_protocols=("h2", "http/1.1"))
    with dial(port, config) as tls:
        assert tls.version() == version
        assert tls.selected_alpn_protocol() == "http/1.1"  # the server's preference (§3.2)
    (record,) = finished(server)
    assert ok(record)["alpn"] == "http/1.1"


def test_client_alpn_mismatch_with_bun_server(bun: BunPeers) -> None:
    server, port = bun.bun_server(alpn=["http/1.1"])
    with pytest.raises(AlertReceived) as caught:
        dial(port, client_config(bun, alpn_protocols=("h2",)))
    assert caught.value.description == AlertDescription.NO_APPLICATION_PROTOCOL  # RFC 7301 §3.2
    (record,) = finished(server)
    assert "NO_APPLICATION_PROTOCOL" in error_text(record).upper(), record


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_bun_client_alpn_with_server(bun: BunPeers, version: str) -> None:
    config = ServerConfig(
        certificates=server_certificates(bun, "ecdsa-p256"), alpn_protocols=("h2", "http/1.1")
    )
    ours = bun.echo_server(config)
    client = bun.bun_client(ours.port, max_version=version, alpn=["http/1.1", "h2"])
    (record,) = finished(client)
    assert ok(record)["alpn"] == "h2"  # our preference, not the client's (RFC 7301 §3.2)
    assert record["version"] == version
    served = ours.next_exported()
    assert served.info is not None
    assert served.info.alpn_protocol == "h2"


def test_bun_client_alpn_mismatch_with_server(bun: BunPeers) -> None:
    config = ServerConfig(
        certificates=server_certificates(bun, "ecdsa-p256"), alpn_protocols=("h2",)
    )
    ours = bun.echo_server(config)
    (record,) = finished(bun.bun_client(ours.port, alpn=["http/1.1"]))
    assert "NO_APPLICATION_PROTOCOL" in error_text(record).upper(), record
    assert isinstance(ours.next_connection().error, NoApplicationProtocol)


# -- client certificates ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "leaf"),
    [("TLSv1.3", "rsa-2048"), ("TLSv1.3", "ed25519"), ("TLSv1.2", "ecdsa-p256")],
)
def test_client_certificate_to_bun_server(bun: BunPeers, version: str, leaf: str) -> None:
    server, port = bun.bun_server(max_version=version, request_cert=True)
    config = client_config(bun, certificates=server_certificates(bun, leaf))
    with dial(port, config) as tls:
        assert tls.version() == version
        echo(tls, b"it is me")
        ours = exporter(tls)
    (record,) = finished(server)
    assert ok(record)["authorized"] is True  # BoringSSL verified our chain ...
    assert record["peerCertSha256"] == sha256(bun, leaf)  # ... and our CertificateVerify
    assert record["exporter"] == ours


@pytest.mark.parametrize(
    ("version", "alert", "reason"),
    [
        ("TLSv1.3", AlertDescription.CERTIFICATE_REQUIRED, "PEER_DID_NOT_RETURN_A_CERTIFICATE"),
        ("TLSv1.2", AlertDescription.HANDSHAKE_FAILURE, "PEER_DID_NOT_RETURN_A_CERTIFICATE"),
    ],
)
def test_client_without_certificate_to_bun_server(
    bun: BunPeers, version: str, alert: int, reason: str
) -> None:
    server, port = bun.bun_server(max_version=version, request_cert=True)
    # TLS 1.3: the alert comes after our Finished, so on our first read
    with pytest.raises(AlertReceived) as caught, dial(port, client_config(bun)) as tls:
        echo(tls, b"anonymous")
    assert caught.value.description == alert  # RFC 8446 §4.4.2.4 / RFC 5246 §7.4.6
    (record,) = finished(server)
    assert reason in error_text(record), record


@pytest.mark.parametrize(
    ("version", "leaf"),
    [("TLSv1.3", "ecdsa-p256"), ("TLSv1.3", "ecdsa-p384"), ("TLSv1.2", "rsa-2048")],
)
def test_bun_client_certificate_to_server(bun: BunPeers, version: str, leaf: str) -> None:
    config = ServerConfig(
        certificates=server_certificates(bun, "ecdsa-p256"),
        client_auth="required",
        client_cafile=str(bun.pki.ca_path),
    )
    ours = bun.echo_server(config)
    (record,) = finished(bun.bun_client(ours.port, max_version=version, leaf=leaf))
    assert ok(record)["version"] == version
    served = ours.next_exported()
    assert served.info is not None
    assert served.info.peer_certificates[0] == bun.pki.leaves[leaf].cert
    assert served.received == b"hello boringssl"
    assert record["exporter"] == served.exporter


@pytest.mark.parametrize(
    ("version", "error", "reason"),
    [
        ("TLSv1.3", CertificateRequired, "CERTIFICATE_REQUIRED"),  # RFC 8446 §4.4.2.4
        ("TLSv1.2", HandshakeFailure, "HANDSHAKE_FAILURE"),  # RFC 5246 §7.4.6
    ],
)
def test_server_requires_a_certificate_from_bun_client(
    bun: BunPeers, version: str, error: type[Exception], reason: str
) -> None:
    config = ServerConfig(
        certificates=server_certificates(bun, "ecdsa-p256"),
        client_auth="required",
        client_cafile=str(bun.pki.ca_path),
    )
    ours = bun.echo_server(config)
    (record,) = finished(bun.bun_client(ours.port, max_version=version))
    assert reason in error_text(record).upper(), record  # BoringSSL read our alert
    assert type(ours.next_connection().error) is error


# -- exporters with a context (RFC 5705 §4, RFC 8446 §7.5) ---------------------------------------


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_exporter_with_context_both_ways(bun: BunPeers, version: str) -> None:
    context = b"interop context \x00\xff"
    server, port = bun.bun_server(max_version=version, exporter_context=context)
    with dial(port, client_config(bun)) as tls:
        assert tls.version() == version
        echo(tls, b"context")
        ours, without = exporter(tls, context), exporter(tls)
    (record,) = finished(server)
    assert ok(record)["exporter"] == ours
    assert ours != without  # the context is really mixed in

    config = ServerConfig(certificates=server_certificates(bun, "ecdsa-p256"))
    served_by = bun.echo_server(config, exporter_context=context)
    client = bun.bun_client(served_by.port, max_version=version, exporter_context=context)
    (record,) = finished(client)
    assert ok(record)["exporter"] == served_by.next_exported().exporter


# -- KeyUpdate (RFC 8446 §4.6.3) -------------------------------------------------------------------


def test_client_key_update_with_bun_server(bun: BunPeers) -> None:
    server, port = bun.bun_server()
    events: list[Event] = []
    with dial(port, client_config(bun), on_event=events.append) as tls:
        echo(tls, b"before")
        tls.key_update(request_peer=True)
        echo(tls, b"after key update")  # BoringSSL's echo comes under its new keys
        ours = exporter(tls)  # the exporter secret does not change with KeyUpdate
    assert key_updates(events) == ["send", "receive"]
    assert tls.clean_close is True
    (record,) = finished(server)
    assert received(ok(record)) == b"beforeafter key update"
    assert record["exporter"] == ours


def test_server_key_update_to_bun_client(bun: BunPeers) -> None:
    config = ServerConfig(certificates=server_certificates(bun, "ecdsa-p256"))
    ours = bun.echo_server(config, key_update=True)
    (record,) = finished(bun.bun_client(ours.port, message="update your keys"))
    assert received(ok(record)) == b"update your keys"  # read under our new keys
    served = ours.next_exported()
    assert key_updates(served.events) == ["send", "receive"]  # BoringSSL answered
    assert served.clean_close is True  # its close_notify came under its new keys


# -- version negotiation and the downgrade sentinel (RFC 8446 §4.1.3) -----------------------------


def test_client_with_tls12_only_bun_server(bun: BunPeers) -> None:
    # BoringSSL limited to 1.2 writes no sentinel; our 1.3-capable client must not see one
    server, port = bun.bun_server(max_version="TLSv1.2")
    events: list[Event] = []
    with dial(port, client_config(bun, trace_handshake=True), on_event=events.append) as tls:
        assert tls.version() == "TLSv1.2"
        echo(tls, b"twelve")
    (hello,) = traced(events, "server_hello", "received")
    assert hello.random[-8:] != DOWNGRADE_TLS12
    (record,) = finished(server)
    assert ok(record)["version"] == "TLSv1.2"


def test_tls12_only_client_with_bun_server(bun: BunPeers) -> None:
    # BoringSSL (1.3-capable) writes DOWNGRD\x01 into its random; a 1.2-only client ignores it
    server, port = bun.bun_server()
    events: list[Event] = []
    config = client_config(bun, max_version="TLSv1.2", trace_handshake=True)
    with dial(port, config, on_event=events.append) as tls:
        assert tls.version() == "TLSv1.2"
        echo(tls, b"twelve")
    (hello,) = traced(events, "server_hello", "received")
    assert hello.random[-8:] == DOWNGRADE_TLS12  # RFC 8446 §4.1.3
    (record,) = finished(server)
    assert ok(record)["version"] == "TLSv1.2"


def test_bun_client_tls12_only_with_server(bun: BunPeers) -> None:
    # our 1.3-capable server writes the sentinel; BoringSSL limited to 1.2 accepts it
    config = ServerConfig(certificates=server_certificates(bun, "ecdsa-p256"), trace_handshake=True)
    ours = bun.echo_server(config)
    (record,) = finished(bun.bun_client(ours.port, max_version="TLSv1.2"))
    assert ok(record)["version"] == "TLSv1.2"
    served = ours.next_exported()
    assert served.info is not None
    assert served.info.version == "TLSv1.2"
    (hello,) = traced(served.events, "server_hello", "sent")
    assert hello.random[-8:] == DOWNGRADE_TLS12  # RFC 8446 §4.1.3


def test_bun_client_with_tls12_only_server(bun: BunPeers) -> None:
    # BoringSSL checks the sentinel (TLS13_DOWNGRADE); our 1.2-only server must not set it
    config = ServerConfig(
        certificates=server_certificates(bun, "ecdsa-p256"),
        max_version="TLSv1.2",
        trace_handshake=True,
    )
    ours = bun.echo_server(config)
    (record,) = finished(bun.bun_client(ours.port))
    assert ok(record)["version"] == "TLSv1.2"
    served = ours.next_exported()
    assert record["exporter"] == served.exporter
    (hello,) = traced(served.events, "server_hello", "sent")
    assert hello.random[-8:] != DOWNGRADE_TLS12


def test_tls12_only_client_refused_by_tls13_only_bun_server(bun: BunPeers) -> None:
    server, port = bun.bun_server(min_version="TLSv1.3")
    with pytest.raises(AlertReceived) as caught:
        dial(port, client_config(bun, max_version="TLSv1.2"))
    assert caught.value.description == AlertDescription.PROTOCOL_VERSION
    (record,) = finished(server)
    assert "UNSUPPORTED_PROTOCOL" in error_text(record).upper(), record


def test_tls12_only_bun_client_refused_by_tls13_only_server(bun: BunPeers) -> None:
    config = ServerConfig(
        certificates=server_certificates(bun, "ecdsa-p256"), min_version="TLSv1.3"
    )
    ours = bun.echo_server(config)
    (record,) = finished(bun.bun_client(ours.port, max_version="TLSv1.2"))
    assert "PROTOCOL_VERSION" in error_text(record).upper(), record
    assert isinstance(ours.next_connection().error, ProtocolVersionError)


# -- large transfers ------------------------------------------------------------------------------

MIB = 1 << 20


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_client_large_transfer_with_bun_server(bun: BunPeers, version: str) -> None:
    server, port = bun.bun_server(max_version=version)
    data = pattern(MIB)
    with dial(port, client_config(bun)) as tls:
        assert tls.version() == version
        echo(tls, data)
    (record,) = finished(server)
    assert ok(record)["receivedLength"] == MIB
    assert record["receivedSha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_bun_client_large_transfer_with_server(bun: BunPeers, version: str) -> None:
    ours = bun.echo_server(ServerConfig(certificates=server_certificates(bun, "rsa-2048")))
    (record,) = finished(bun.bun_client(ours.port, size=MIB, max_version=version))
    assert ok(record)["receivedLength"] == MIB
    assert record["receivedSha256"] == hashlib.sha256(pattern(MIB)).hexdigest()
    served = ours.next_exported()
    assert served.received == pattern(MIB)
    assert served.clean_close is True


# -- renegotiation (RFC 5746; we never renegotiate) -----------------------------------------------


def test_bun_client_renegotiation_with_server(bun: BunPeers) -> None:
    """Bun refuses ``renegotiate()`` itself (BoringSSL clients only renegotiate when a server
    asks): nothing reaches the wire, and the connection goes on."""
    ours = bun.echo_server(ServerConfig(certificates=server_certificates(bun, "ecdsa-p256")))
    client = bun.bun_client(ours.port, max_version="TLSv1.2", renegotiate=True)
    (record,) = finished(client)
    assert ok(record)["renegotiated"]["error"]["code"] == "ERR_TLS_RENEGOTIATION_UNSUPPORTED"
    assert received(record) == b"hello boringssl"
    served = ours.next_exported()
    assert served.received == b"hello boringssl"
    assert served.clean_close is True


# -- more edges: empty exporter contexts, HRR cookies, IP addresses, psk_ke, CBC ------------------


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_exporter_with_empty_context(bun: BunPeers, version: str) -> None:
    # TLS 1.3: an empty context is no context (RFC 8446 §7.5); TLS 1.2: they differ (RFC 5705 §4)
    server, port = bun.bun_server(max_version=version, exporter_context=b"")
    with dial(port, client_config(bun)) as tls:
        assert tls.version() == version
        echo(tls, b"context")
        empty, without = exporter(tls, b""), exporter(tls)
    (record,) = finished(server)
    assert ok(record)["exporter"] == empty
    assert (empty == without) is (version == "TLSv1.3")


def test_server_hello_retry_cookie_to_bun_client(bun: BunPeers) -> None:
    # our HelloRetryRequest carries a cookie (RFC 8446 §4.2.2); BoringSSL must echo it
    config = ServerConfig(
        certificates=server_certificates(bun, "ecdsa-p256"),
        groups=("secp384r1", "x25519"),
        strict_group_preference=True,  # ask for secp384r1 despite the x25519 share
        hello_retry_cookie=lambda digest: b"tlsmachine cookie " + digest,
    )
    ours = bun.echo_server(config)
    (record,) = finished(bun.bun_client(ours.port, groups=["x25519", "secp384r1"]))
    assert reported_group(ok(record)["group"]) == "secp384r1"
    served = ours.next_exported()
    assert served.info is not None
    assert (served.info.hello_retry, served.info.group) == (True, "secp384r1")
    assert record["exporter"] == served.exporter


def test_bun_client_to_an_ip_address(bun: BunPeers) -> None:
    # no SNI for an IP literal (RFC 6066 §3); Bun checks 127.0.0.1 against the IP SAN
    ours = bun.echo_server(ServerConfig(certificates=server_certificates(bun, "ecdsa-p256")))
    (record,) = finished(bun.bun_client(ours.port, servername="127.0.0.1"))
    assert ok(record)["authorized"] is True
    served = ours.next_exported()
    assert served.info is not None
    assert served.info.server_name is None


def test_client_to_bun_server_by_ip_address(bun: BunPeers) -> None:
    server, port = bun.bun_server()
    with connect("127.0.0.1", port, config=client_config(bun), timeout=TIMEOUT) as tls:
        echo(tls, b"by address")
    (record,) = finished(server)
    assert ok(record)["servername"] is None  # we sent no SNI for the IP literal


def test_client_psk_ke_only_gets_no_tickets_from_bun_server(bun: BunPeers) -> None:
    # BoringSSL resumes with psk_dhe_ke only; to a client offering psk_ke alone it sends no
    # ticket, none being usable (RFC 8446 §4.2.9), and we make full handshakes
    server, port = bun.bun_server(connections=2)
    events: list[Event] = []
    store = InMemoryClientSessionStore()
    config = client_config(bun, session_store=store, psk_modes=("psk_ke",))
    infos = []
    for message in (b"full", b"again"):
        with dial(port, config, on_event=events.append) as tls:
            echo(tls, message)
            infos.append(tls.handshake_info)
    assert not [e for e in events if isinstance(e, SessionTicketReceived)]
    assert len(store) == 0
    assert [(i.resumed, i.signature_scheme) for i in infos if i] == [
        (False, "ecdsa_secp256r1_sha256")
    ] * 2
    assert [ok(r)["resumed"] for r in finished(server, 2)] == [False, False]


def test_client_without_common_tls12_suite_with_bun_server(bun: BunPeers) -> None:
    # a BoringSSL server limited to CBC suites: we offer AEADs only (RFC 9325 §4.2)
    server, port = bun.bun_server(max_version="TLSv1.2", cbc_only=True)
    with pytest.raises(AlertReceived) as caught:
        dial(port, client_config(bun))
    assert caught.value.description == AlertDescription.HANDSHAKE_FAILURE
    (record,) = finished(server)
    assert "NO_SHARED_CIPHER" in error_text(record).upper(), record


def test_cbc_only_bun_client_refused_by_server(bun: BunPeers) -> None:
    ours = bun.echo_server(ServerConfig(certificates=server_certificates(bun, "ecdsa-p256")))
    (record,) = finished(bun.bun_client(ours.port, max_version="TLSv1.2", cbc_only=True))
    assert "HANDSHAKE_FAILURE" in error_text(record).upper(), record
    assert isinstance(ours.next_connection().error, HandshakeFailure)


def test_client_resumes_with_client_certificate_with_bun_server(bun: BunPeers) -> None:
    server, port = bun.bun_server(connections=2, request_cert=True)
    identity = server_certificates(bun, "ecdsa-p256")
    store = InMemoryClientSessionStore()
    config = client_config(bun, session_store=store, certificates=identity)
    resumed = []
    for message in (b"full", b"again"):
        with dial(port, config) as tls:
            echo(tls, message)
            resumed.append(tls.session_reused)
    assert resumed == [False, True]
    results = [ok(r) for r in finished(server, 2)]
    assert [r["resumed"] for r in results] == [False, True]
    # the resumed session keeps the certificate BoringSSL verified in the full handshake
    assert [r["peerCertSha256"] for r in results] == [sha256(bun, "ecdsa-p256")] * 2


def test_bun_client_resumes_with_client_certificate_with_server(bun: BunPeers) -> None:
    config = ServerConfig(
        certificates=server_certificates(bun, "ecdsa-p256"),
        client_auth="required",
        client_cafile=str(bun.pki.ca_path),
    )
    ours = bun.echo_server(config)
    client = bun.bun_client(ours.port, connections=2, resume=True, leaf="rsa-2048")
    assert [ok(r)["resumed"] for r in finished(client, 2)] == [False, True]
    served = [ours.next_exported() for _ in range(2)]
    assert [s.info.resumed for s in served if s.info] == [False, True]
    leaf = bun.pki.leaves["rsa-2048"].cert
    assert [s.info.peer_certificates[0] for s in served if s.info] == [leaf, leaf]


def test_bun_client_with_untrusted_certificate_refused_by_server(bun: BunPeers) -> None:
    config = ServerConfig(
        certificates=server_certificates(bun, "ecdsa-p256"),
        client_auth="required",
        client_cafile=str(bun.pki.ca_path),
    )
    ours = bun.echo_server(config)
    (record,) = finished(bun.bun_client(ours.port, leaf="untrusted"))
    assert "UNKNOWN_CA" in error_text(record).upper(), record  # our alert (RFC 8446 §6.2)
    assert isinstance(ours.next_connection().error, UnknownCA)


def test_client_with_untrusted_certificate_dropped_by_bun_server(bun: BunPeers) -> None:
    """Bun, like Node, checks a client certificate after the handshake, in JavaScript, and
    then closes the TCP connection without any alert: our TLS 1.3 client, done with its
    handshake, sees the connection end without close_notify (a truncation, not a clean
    close): an EOF, or a reset when our "me?" reached Bun's socket before it closed it
    unread (RFC 1122 §4.2.2.13; TLSSocket sends it at once, Nagle being off)."""
    server, port = bun.bun_server(request_cert=True)
    config = client_config(bun, certificates=server_certificates(bun, "untrusted"))
    with dial(port, config) as tls:
        tls.sendall(b"me?")
        try:
            assert tls.recv() == b""
            assert tls.clean_close is False
        except ConnectionResetError:
            assert tls.clean_close is None  # no close_notify came before the reset
    (record,) = finished(server)
    assert "UNABLE_TO_VERIFY_LEAF_SIGNATURE" in error_text(record), record


def test_client_key_updates_coalesced_by_bun_server(bun: BunPeers) -> None:
    # ten update_requested KeyUpdates, each followed by data: BoringSSL answers before its next
    # application data (RFC 8446 §4.6.3) with one KeyUpdate for all the requests it has read
    # by then. How many reads that takes depends on how TCP cut our writes (TLSSocket turns
    # Nagle off, so each goes out at once): between one answer and ten. Then five more of
    # ours without update_requested, which get none.
    server, port = bun.bun_server()
    events: list[Event] = []
    data = pattern(MIB)
    with dial(port, client_config(bun), on_event=events.append) as tls:
        for i in range(10):
            tls.key_update(request_peer=True)
            tls.sendall(data[i * 1000 : (i + 1) * 1000])
        assert read_exactly(tls, 10000) == data[:10000]
        for _ in range(5):
            tls.key_update()
            tls.sendall(data[:100])
        assert read_exactly(tls, 500) == data[:100] * 5
        ours = exporter(tls)
    directions = key_updates(events)
    requests, rest = directions[:-5], directions[-5:]
    assert rest == ["send"] * 5  # every answer came before the echo of the first 10,000 bytes
    assert requests[0] == "send" and requests.count("send") == 10
    assert 1 <= requests.count("receive") <= 10, directions
    assert tls.clean_close is True
    (record,) = finished(server)
    assert ok(record)["receivedLength"] == 10500
    assert record["exporter"] == ours


def test_server_key_update_during_bun_client_upload(bun: BunPeers) -> None:
    # our KeyUpdate crosses BoringSSL's records still under its old keys (RFC 8446 §4.6.3)
    config = ServerConfig(certificates=server_certificates(bun, "ecdsa-p256"))
    ours = bun.echo_server(config, key_update=True)
    (record,) = finished(bun.bun_client(ours.port, size=MIB))
    assert ok(record)["receivedSha256"] == hashlib.sha256(pattern(MIB)).hexdigest()
    served = ours.next_exported()
    assert key_updates(served.events) == ["send", "receive"]
    assert served.received == pattern(MIB)
