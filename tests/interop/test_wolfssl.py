"""Interop with wolfSSL (5.5.4, Debian libwolfssl-dev), both directions, over 127.0.0.1.

wolfSSL runs as ``wolfssl_peer/peer.c``, compiled once per session into a temporary directory
(``wolfssl_peer.py``), which prints one JSON record per connection: the version, cipher suite
(IANA name), group, whether the session was resumed, the ALPN protocol, 32 bytes of exported
keying material (RFC 5705, RFC 8446 §7.5), the peer's certificate, the bytes it received,
whether the close was clean, or wolfSSL's error and the alerts it received and sent. Each test
checks both ends' view of the same connection; equal exporters show that both sides derived
the same key schedule.

What Debian's build of wolfSSL 5.5.4 does not do, and so is not tested:

* no secure renegotiation (HAVE_SECURE_RENEGOTIATION is off, only
  HAVE_SERVER_RENEGOTIATION_INFO): wolfSSL_Rehandshake fails before sending anything, so
  "renegotiation refused" is only wolfSSL's own refusal, plus the RFC 5746 indication;
* no key logging (HAVE_SECRET_CALLBACK is off);
* no API to tell whether a HelloRetryRequest happened or EMS was negotiated: our side reports
  the retry, and EMS shows in our trace of the ServerHello and in refusals when required;
* a server always answers extended_master_secret (wolfSSL_CTX_DisableExtendedMasterSecret only
  affects its client), so "wolfSSL server without EMS" cannot be set up;
* no X509 object for an Ed25519 peer certificate (it is verified; the tests compare the DER's
  SHA-256 from the received chain instead of the subject).

wolfSSL behaviour the tests pin down (peer deviations, not tlsmachine bugs):

* its ClientHello after a HelloRetryRequest moves psk_key_exchange_modes behind
  supported_versions and signature_algorithms; RFC 8446 §4.1.2 requires the same ClientHello
  and our server checks the extension order too (tlsfuzzer's shuffled-extensions test), except
  the place of psk_key_exchange_modes, so such a client is served (it was refused at first);
* its TLS 1.2 CertificateRequest offers only its own key's certificate type (ecdsa_sign for an
  ECDSA server), and it aborts without an alert when the client sends no certificate;
* a TLS-1.2-only wolfSSL server answers a TLS-1.3-only ClientHello with handshake_failure.

No tlsmachine bugs were found with these tests.
"""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path
from typing import Any

import pytest
from matrix import ECDHE_CASES12, case_id, rotated_cases13
from peer_checks import (
    cert_sha256,
    check_handshake,
    check_scheme,
    check_transfer,
    dial_echoing,
    echo_chunks,
    key_updates,
)
from peers import (
    TIMEOUT,
    OurServer,
    PeerProcess,
    Peers,
    cert_options,
    client_config,
    dial,
    read_exactly,
    server_certificates,
    server_records,
)
from peers import json_records as records
from wolfssl_peer import (
    EXPORTER_LABEL,
    build_wolfssl_peer,
    exporting_server,
    features,
    group,
    ok,
    received,
    wolfssl_client,
    wolfssl_server,
)

from tlsmachine import (
    AlertReceived,
    Event,
    HandshakeMessageTraced,
    InMemoryClientSessionStore,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.enums import AlertDescription, ExtensionType
from tlsmachine.errors import (
    CertificateRequired,
    HandshakeFailure,
    NoApplicationProtocol,
    ProtocolError,
    ProtocolVersionError,
    TLSError,
)
from tlsmachine.events import ClientCertificateReceived
from tlsmachine.extensions import RenegotiationInfo
from tlsmachine.messages import Certificate12, CertificateRequest12, ServerHello
from tlsmachine.sockets import TLSSocket

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

SUBJECT = "/O=tlsmachine tests/CN=localhost"
"""How wolfSSL prints the subject of every test-PKI leaf (pki.py)."""

TLS13_SUITES = {
    "TLS_AES_128_GCM_SHA256": "TLS13-AES128-GCM-SHA256",
    "TLS_AES_256_GCM_SHA384": "TLS13-AES256-GCM-SHA384",
    "TLS_CHACHA20_POLY1305_SHA256": "TLS13-CHACHA20-POLY1305-SHA256",
}
"""IANA names (ours) and wolfSSL's names for the TLS 1.3 suites."""
GROUPS = ["x25519", "secp256r1", "secp384r1", "secp521r1", "x448", "ffdhe2048"]
CASES13 = rotated_cases13(GROUPS, list(TLS13_SUITES))  # the four certificates take turns
# TLS 1.2: the ECDHE cases and DHE-RSA (RFC 7919 groups)
CASES12 = [
    *ECDHE_CASES12,
    ("rsa-2048", "ffdhe2048", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"),
    ("rsa-2048", "ffdhe3072", "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"),
]
WOLFSSL12 = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256": "DHE-RSA-AES128-GCM-SHA256",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384": "DHE-RSA-AES256-GCM-SHA384",
}
MIB = 1 << 20


@pytest.fixture(scope="session")
def wolfpeer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The peer program, compiled once per session (a missing gcc or libwolfssl fails)."""
    return build_wolfssl_peer(tmp_path_factory.mktemp("wolfssl-peer"))


def exporter(tls: TLSSocket) -> str:
    return tls.export_keying_material(EXPORTER_LABEL.encode(), 32).hex()


def subject(leaf: str) -> str | None:
    """The subject wolfSSL prints for a leaf: none for Ed25519, which this build verifies but
    does not turn into an X509 object (wolfSSL_get_peer_certificate and the chain give none)."""
    return None if leaf == "ed25519" else SUBJECT


def served_by_us(peers: Peers, leaf: str = "ecdsa-p256", **settings: Any) -> OurServer:
    """Our echo server with the ``leaf`` certificate; it records each connection's exporter."""
    settings.setdefault("certificates", server_certificates(peers, leaf))
    return exporting_server(peers, ServerConfig(**settings))


def traced(events: list[Event], direction: str) -> list[object]:
    """The handshake messages sent or received (``trace_handshake=True``)."""
    return [
        e.message
        for e in events
        if isinstance(e, HandshakeMessageTraced) and e.direction == direction
    ]


def test_wolfssl_build_features(wolfpeer: Path) -> None:
    """The features these tests rely on (and the ones they know are missing)."""
    found = features(wolfpeer)
    assert found["library"] == "5.5.4"
    assert (found["tls13"], found["keying_material"]) == (1, 1)
    assert (found["secure_renegotiation"], found["secret_callback"]) == (0, 0)


# -- TLS 1.3 full handshakes ---------------------------------------------------------------------


@pytest.mark.parametrize(("leaf", "grp", "suite"), CASES13, ids=map(case_id, CASES13))
def test_client_tls13_with_wolfssl_server(
    peers: Peers, wolfpeer: Path, leaf: str, grp: str, suite: str
) -> None:
    options = ["--groups", grp, "--ciphers", TLS13_SUITES[suite]]
    server, port = wolfssl_server(peers, wolfpeer, *options, leaf=leaf)
    config = client_config(peers, cipher_suites=(suite,), key_share_groups=(grp,))
    message = b"hello wolfSSL, " * 1200  # two records each way
    with dial(port, config) as tls:
        info = check_handshake(peers, tls, leaf, "TLSv1.3", suite, grp)
        assert (info.hello_retry, info.resumed) == (False, False)
        tls.sendall(message)
        assert read_exactly(tls, len(message)) == message
        ours = exporter(tls)
    assert tls.clean_close is True  # wolfSSL answered our close_notify
    (record,) = server_records(server)
    ok(record)
    assert (record["version"], record["cipher_iana"], record["resumed"]) == (
        "TLSv1.3",
        suite,
        False,
    )
    if grp.startswith("ffdhe"):
        assert "curve" not in record  # wolfSSL_get_curve_name names elliptic curves only
    else:
        assert group(record) == grp
    assert record["exporter"] == ours
    assert record["received_sha256"] == hashlib.sha256(message).hexdigest()
    assert record["clean_close"] is True


@pytest.mark.parametrize(("leaf", "grp", "suite"), CASES13, ids=map(case_id, CASES13))
def test_wolfssl_client_tls13_with_server(
    peers: Peers, wolfpeer: Path, leaf: str, grp: str, suite: str
) -> None:
    ours = served_by_us(peers, leaf, cipher_suites=(suite,))
    options = ["--min", "1.3", "--groups", grp, "--ciphers", TLS13_SUITES[suite]]
    (record,) = wolfssl_client(peers, wolfpeer, ours.port, *options, "--message", "x" * 20000)
    ok(record)  # wolfSSL verified our chain and CertificateVerify
    assert (record["version"], record["cipher_iana"]) == ("TLSv1.3", suite)
    assert record["peer_cert_sha256"] == cert_sha256(peers, leaf)
    assert record.get("peer_subject") == subject(leaf)
    assert received(record) == b"x" * 20000
    assert record["clean_close"] is True
    served = ours.next_exported()
    assert served.info is not None
    assert (served.info.version, served.info.cipher_suite, served.info.group) == (
        "TLSv1.3",
        suite,
        grp,
    )
    assert served.info.hello_retry is False  # wolfSSL's key share is for its first group
    assert served.info.server_name == "localhost"  # wolfSSL_UseSNI
    check_scheme(leaf, served.info.signature_scheme)
    assert served.exporter == record["exporter"]
    assert (served.received, served.clean_close) == (b"x" * 20000, True)


# -- TLS 1.2 full handshakes ---------------------------------------------------------------------


@pytest.mark.parametrize(("leaf", "grp", "suite"), CASES12, ids=map(case_id, CASES12))
def test_client_tls12_with_wolfssl_server(
    peers: Peers, wolfpeer: Path, leaf: str, grp: str, suite: str
) -> None:
    options = ["--max", "1.2", "--ciphers", WOLFSSL12[suite]]
    server, port = wolfssl_server(peers, wolfpeer, *options, leaf=leaf)
    config = client_config(peers, tls12_cipher_suites=(suite,), groups=(grp,))
    with dial(port, config) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.version, info.cipher_suite, info.group) == ("TLSv1.2", suite, grp)
        check_scheme(leaf, info.signature_scheme, "TLSv1.2")
        tls.sendall(b"twelve")
        assert read_exactly(tls, 6) == b"twelve"
        ours = exporter(tls)
    assert tls.clean_close is True
    (record,) = server_records(server)
    assert (ok(record)["version"], record["cipher_iana"]) == ("TLSv1.2", suite)
    assert (record["exporter"], received(record)) == (ours, b"twelve")


@pytest.mark.parametrize(("leaf", "grp", "suite"), CASES12, ids=map(case_id, CASES12))
def test_wolfssl_client_tls12_with_server(
    peers: Peers, wolfpeer: Path, leaf: str, grp: str, suite: str
) -> None:
    ours = served_by_us(peers, leaf, tls12_cipher_suites=(suite,), groups=(grp,))
    options = ["--max", "1.2", "--ciphers", WOLFSSL12[suite]]
    (record,) = wolfssl_client(peers, wolfpeer, ours.port, *options)
    assert (ok(record)["version"], record["cipher_iana"]) == ("TLSv1.2", suite)
    assert record["peer_cert_sha256"] == cert_sha256(peers, leaf)
    assert (received(record), record["clean_close"]) == (b"hello", True)
    served = ours.next_exported()
    assert served.info is not None
    assert (served.info.version, served.info.cipher_suite, served.info.group) == (
        "TLSv1.2",
        suite,
        grp,
    )
    check_scheme(leaf, served.info.signature_scheme, "TLSv1.2")
    assert served.exporter == record["exporter"]


# -- HelloRetryRequest (RFC 8446 §4.1.4) -------------------------------------------------------


@pytest.mark.parametrize(
    ("shares", "grp", "cookie"),
    [
        (("x25519",), "secp256r1", False),
        ((), "secp384r1", False),
        (("secp256r1",), "x448", True),
    ],
    ids=["x25519-share", "no-share", "cookie"],
)
def test_client_hello_retry_with_wolfssl_server(
    peers: Peers, wolfpeer: Path, shares: tuple[str, ...], grp: str, cookie: bool
) -> None:
    """Our share is not for the one group the wolfSSL server takes: it asks for another (with
    a cookie that our second ClientHello must echo, RFC 8446 §4.2.2, if told to)."""
    options = ["--groups", grp, "--alpn", "http/1.1", *(["--hrr-cookie"] if cookie else [])]
    server, port = wolfssl_server(peers, wolfpeer, *options)
    config = client_config(peers, key_share_groups=shares, alpn_protocols=("h2", "http/1.1"))
    with dial(port, config) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.hello_retry, info.group, info.alpn_protocol) == (True, grp, "http/1.1")
        tls.sendall(b"after retry")
        assert read_exactly(tls, 11) == b"after retry"
        ours = exporter(tls)
    (record,) = server_records(server)
    assert (ok(record)["alpn"], record["exporter"]) == ("http/1.1", ours)  # message_hash
    assert group(record) == grp


@pytest.mark.parametrize(
    ("options", "cookie"),
    [
        (["--groups", "x25519,secp256r1"], False),
        (["--groups", "x25519,secp256r1"], True),
        (["--groups", "secp256r1,x25519", "--key-shares", "none"], False),
    ],
    ids=["x25519-share", "cookie", "no-share"],
)
def test_server_serves_wolfssl_clients_reordered_second_client_hello(
    peers: Peers, wolfpeer: Path, options: list[str], cookie: bool
) -> None:
    """wolfSSL 5.5.4 moves psk_key_exchange_modes behind supported_versions and
    signature_algorithms in the ClientHello it sends after a HelloRetryRequest. RFC 8446
    §4.1.2 wants the same ClientHello; our server checks the extension order (tlsfuzzer's
    test-tls13-shuffled-extentions) but lets psk_key_exchange_modes move, so a wolfSSL client
    that needs a HelloRetryRequest is served (first found refused with illegal_parameter)."""
    ours = served_by_us(
        peers,
        groups=("secp256r1", "x25519"),
        strict_group_preference=True,
        hello_retry_cookie=(lambda digest: b"wolf cookie " + digest) if cookie else None,
    )
    (record,) = wolfssl_client(peers, wolfpeer, ours.port, *options)
    assert group(ok(record)) == "secp256r1"
    served = ours.next_exported()
    assert served.info is not None
    assert (served.info.hello_retry, served.info.group) == (True, "secp256r1")
    assert served.exporter == record["exporter"]


def test_server_without_hello_retry_serves_wolfssl_client_with_several_groups(
    peers: Peers, wolfpeer: Path
) -> None:
    """The control: the same server and client groups without strict preference take the
    client's share (x25519) in one round trip."""
    ours = served_by_us(peers, groups=("secp256r1", "x25519"))
    (record,) = wolfssl_client(peers, wolfpeer, ours.port, "--groups", "x25519,secp256r1")
    assert group(ok(record)) == "x25519"
    served = ours.next_exported()
    assert served.info is not None
    assert (served.info.hello_retry, served.info.group) == (False, "x25519")
    assert served.exporter == record["exporter"]


# -- resumption ----------------------------------------------------------------------------------


def test_client_resumes_tls13_with_wolfssl_server(peers: Peers, wolfpeer: Path) -> None:
    server, port = wolfssl_server(peers, wolfpeer, "--connections", "3")
    store = InMemoryClientSessionStore()
    config = client_config(peers, session_store=store)
    infos, exporters = [], []
    for _ in range(3):
        with dial(port, config) as tls:
            tls.sendall(b"resume")
            assert read_exactly(tls, 6) == b"resume"  # the ticket came before the echo
            infos.append(tls.handshake_info)
            exporters.append(exporter(tls))
    results = [ok(r) for r in server_records(server, 3)]
    assert [r["resumed"] for r in results] == [False, True, True]
    assert [i.resumed for i in infos if i] == [False, True, True]
    assert [i.signature_scheme for i in infos if i][1:] == [None, None]
    assert [r["exporter"] for r in results] == exporters
    assert len(set(exporters)) == 3  # fresh secrets each time (psk_dhe_ke)


def test_wolfssl_client_resumes_tls13_with_server(peers: Peers, wolfpeer: Path) -> None:
    ours = served_by_us(peers)
    options = ["--connections", "3", "--min", "1.3"]
    results = [ok(r) for r in wolfssl_client(peers, wolfpeer, ours.port, *options)]
    assert [r["resumed"] for r in results] == [False, True, True]
    served = [ours.next_exported() for _ in range(3)]
    assert [s.info.resumed for s in served if s.info] == [False, True, True]
    assert [s.exporter for s in served] == [r["exporter"] for r in results]
    assert [s.received for s in served] == [b"hello"] * 3


@pytest.mark.parametrize("cookie", [False, True], ids=["plain", "cookie"])
def test_client_resumes_through_a_hello_retry_with_wolfssl_server(
    peers: Peers, wolfpeer: Path, cookie: bool
) -> None:
    """Our second ClientHello's binder covers message_hash(CH1) and the HelloRetryRequest
    (RFC 8446 §4.2.11.2), with the cookie in it if there is one: wolfSSL checks it."""
    options = ["--connections", "2", "--groups", "secp384r1", *(["--hrr-cookie"] * cookie)]
    server, port = wolfssl_server(peers, wolfpeer, *options)
    config = client_config(
        peers, session_store=InMemoryClientSessionStore(), key_share_groups=("x25519",)
    )
    infos = dial_echoing(port, config, b"retry", 2)
    assert [(i.hello_retry, i.resumed, i.group) for i in infos if i] == [
        (True, False, "secp384r1"),
        (True, True, "secp384r1"),
    ]
    assert [ok(r)["resumed"] for r in server_records(server, 2)] == [False, True]


@pytest.mark.parametrize("tickets", [False, True], ids=["session-id", "ticket"])
def test_client_resumes_tls12_with_wolfssl_server(
    peers: Peers, wolfpeer: Path, tickets: bool
) -> None:
    options = ["--max", "1.2", "--connections", "3", *([] if tickets else ["--no-tickets"])]
    server, port = wolfssl_server(peers, wolfpeer, *options)
    store = InMemoryClientSessionStore()
    config = client_config(peers, session_store=store, require_extended_master_secret=True)
    infos, exporters = [], []
    for _ in range(3):
        with dial(port, config) as tls:
            tls.sendall(b"twelve")
            assert read_exactly(tls, 6) == b"twelve"
            infos.append(tls.handshake_info)
            exporters.append(exporter(tls))
            session = tls.session
    results = [ok(r) for r in server_records(server, 3)]
    assert [r["resumed"] for r in results] == [False, True, True]
    assert [(i.version, i.resumed) for i in infos if i] == [
        ("TLSv1.2", False),
        ("TLSv1.2", True),
        ("TLSv1.2", True),
    ]
    assert [r["exporter"] for r in results] == exporters
    assert session is not None
    assert bool(session.ticket) is tickets  # RFC 5077 NewSessionTicket, else the session ID


@pytest.mark.parametrize("tickets", [False, True], ids=["session-id", "ticket"])
def test_wolfssl_client_resumes_tls12_with_server(
    peers: Peers, wolfpeer: Path, tickets: bool
) -> None:
    ours = served_by_us(peers, require_extended_master_secret=True)
    options = ["--max", "1.2", "--connections", "3", *(["--tickets"] if tickets else [])]
    results = [ok(r) for r in wolfssl_client(peers, wolfpeer, ours.port, *options)]
    assert [r["resumed"] for r in results] == [False, True, True]
    served = [ours.next_exported() for _ in range(3)]
    assert [s.info.resumed for s in served if s.info] == [False, True, True]
    assert [s.exporter for s in served] == [r["exporter"] for r in results]


# -- ALPN (RFC 7301) -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_client_alpn_with_wolfssl_server(peers: Peers, wolfpeer: Path, version: str) -> None:
    server, port = wolfssl_server(peers, wolfpeer, "--alpn", "h2,http/1.1", "--max", version)
    config = client_config(peers, alpn_protocols=("http/1.1", "h2"))
    with dial(port, config) as tls:
        assert tls.version() == f"TLSv{version}"
        selected = tls.selected_alpn_protocol()
        tls.sendall(b"alpn")
        assert read_exactly(tls, 4) == b"alpn"
    (record,) = server_records(server)
    assert selected in ("h2", "http/1.1")
    assert ok(record)["alpn"] == selected


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_wolfssl_client_alpn_with_server(peers: Peers, wolfpeer: Path, version: str) -> None:
    ours = served_by_us(peers, alpn_protocols=("h2", "http/1.1"))
    options = ["--alpn", "http/1.1,h2", "--max", version]
    (record,) = wolfssl_client(peers, wolfpeer, ours.port, *options)
    assert ok(record)["alpn"] == "h2"  # our server's preference
    served = ours.next_exported()
    assert served.info is not None
    assert served.info.alpn_protocol == "h2"


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_client_alpn_mismatch_with_wolfssl_server(
    peers: Peers, wolfpeer: Path, version: str
) -> None:
    server, port = wolfssl_server(peers, wolfpeer, "--alpn", "http/1.1", "--max", version)
    with pytest.raises(AlertReceived) as caught:
        dial(port, client_config(peers, alpn_protocols=("h2",)))
    assert caught.value.description == AlertDescription.NO_APPLICATION_PROTOCOL  # RFC 7301 §3.2
    (record,) = server_records(server)
    assert record["stage"] == "handshake"
    assert record["alert_tx"] == AlertDescription.NO_APPLICATION_PROTOCOL


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_server_alpn_mismatch_with_wolfssl_client(
    peers: Peers, wolfpeer: Path, version: str
) -> None:
    ours = served_by_us(peers, alpn_protocols=("h2",))
    options = ["--alpn", "http/1.1", "--max", version]
    (record,) = wolfssl_client(peers, wolfpeer, ours.port, *options)
    assert record["stage"] == "handshake"
    assert record["alert_rx"] == AlertDescription.NO_APPLICATION_PROTOCOL
    assert isinstance(ours.next_connection().error, NoApplicationProtocol)


def test_client_without_alpn_to_wolfssl_server_continuing_on_mismatch(
    peers: Peers, wolfpeer: Path
) -> None:
    """A server whose protocols do not match may go on without ALPN (RFC 7301 §3.2)."""
    options = ["--alpn", "http/1.1", "--alpn-continue"]
    server, port = wolfssl_server(peers, wolfpeer, *options)
    with dial(port, client_config(peers, alpn_protocols=("h2",))) as tls:
        assert tls.selected_alpn_protocol() is None
        tls.sendall(b"no alpn")
        assert read_exactly(tls, 7) == b"no alpn"
    (record,) = server_records(server)
    assert "alpn" not in ok(record)


# -- client certificates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "leaf"),
    [
        ("1.3", "rsa-2048"),
        ("1.3", "ed25519"),
        ("1.3", "ecdsa-p384"),
        ("1.2", "ecdsa-p256"),
        ("1.2", "rsa-2048"),
    ],
)
def test_client_certificate_to_wolfssl_server(
    peers: Peers, wolfpeer: Path, version: str, leaf: str
) -> None:
    """The wolfSSL server has a certificate of the same kind as ours: in TLS 1.2 its
    CertificateRequest lists only its own key's certificate type (see the next test)."""
    options = ["--verify", "--max", version]
    server, port = wolfssl_server(peers, wolfpeer, *options, leaf=leaf)
    config = client_config(peers, certificates=server_certificates(peers, leaf))
    with dial(port, config) as tls:
        assert tls.version() == f"TLSv{version}"
        tls.sendall(b"it is me")
        assert read_exactly(tls, 8) == b"it is me"
        ours = exporter(tls)
    (record,) = server_records(server)
    ok(record)  # wolfSSL verified our chain and our CertificateVerify
    assert record["peer_cert_sha256"] == cert_sha256(peers, leaf)
    assert record.get("peer_subject") == subject(leaf)
    assert record["exporter"] == ours


def test_client_certificate_of_a_type_wolfssl_did_not_ask_for_is_not_sent(
    peers: Peers, wolfpeer: Path
) -> None:
    """A wolfSSL server with an ECDSA certificate asks (TLS 1.2) for ecdsa_sign certificates
    only; our RSA certificate does not fit (RFC 5246 §7.4.4, §7.4.6), so we send an empty
    Certificate. wolfSSL then aborts without an alert: we see the connection reset or
    closed."""
    server, port = wolfssl_server(peers, wolfpeer, "--verify", "--max", "1.2")
    events: list[Event] = []
    config = client_config(
        peers, certificates=server_certificates(peers, "rsa-2048"), trace_handshake=True
    )
    with pytest.raises((ConnectionResetError, TLSError)):
        dial(port, config, on_event=events.append)
    (request,) = (m for m in traced(events, "received") if isinstance(m, CertificateRequest12))
    assert request.certificate_types == bytes([64])  # ecdsa_sign only (RFC 8422 §5.5)
    (certificate,) = (m for m in traced(events, "sent") if isinstance(m, Certificate12))
    assert certificate.certificate_list == ()
    (record,) = server_records(server)
    assert (record["stage"], record["error"]) == ("handshake", "peer did not return a certificate")


def test_client_without_certificate_refused_by_tls13_wolfssl_server(
    peers: Peers, wolfpeer: Path
) -> None:
    """RFC 8446 §4.4.2.4: certificate_required. Our handshake completes first (the client's
    Finished is its last word, RFC 8446 §2), so the alert may arrive on the first read."""
    server, port = wolfssl_server(peers, wolfpeer, "--verify")
    with pytest.raises(AlertReceived) as caught, dial(port, client_config(peers)) as tls:  # noqa: PT012
        tls.sendall(b"anonymous")
        tls.recv()
    assert caught.value.description == AlertDescription.CERTIFICATE_REQUIRED
    (record,) = server_records(server)
    assert (record["stage"], record["alert_tx"]) == ("handshake", 116), record


def test_client_without_certificate_refused_by_tls12_wolfssl_server(
    peers: Peers, wolfpeer: Path
) -> None:
    """RFC 5246 §7.4.6 lets the server answer an empty Certificate with handshake_failure;
    wolfSSL 5.5.4 closes without an alert."""
    server, port = wolfssl_server(peers, wolfpeer, "--verify", "--max", "1.2")
    with pytest.raises((ConnectionResetError, TLSError)):
        dial(port, client_config(peers))
    (record,) = server_records(server)
    assert (record["stage"], record["error_code"], record["alert_tx"]) == ("handshake", -345, -1)


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_client_without_certificate_to_wolfssl_server_asking(
    peers: Peers, wolfpeer: Path, version: str
) -> None:
    """An empty Certificate is fine when the server only asks (RFC 8446 §4.4.2.4)."""
    server, port = wolfssl_server(peers, wolfpeer, "--verify-optional", "--max", version)
    with dial(port, client_config(peers)) as tls:
        assert tls.version() == f"TLSv{version}"
        tls.sendall(b"anonymous")
        assert read_exactly(tls, 9) == b"anonymous"
        ours = exporter(tls)
    (record,) = server_records(server)
    assert "peer_cert_sha256" not in ok(record)
    assert record["exporter"] == ours


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_wolfssl_client_without_certificate_to_server_asking(
    peers: Peers, wolfpeer: Path, version: str
) -> None:
    ours = served_by_us(peers, client_auth="optional", client_cafile=str(peers.pki.ca_path))
    (record,) = wolfssl_client(peers, wolfpeer, ours.port, "--max", version)
    assert ok(record)["version"] == f"TLSv{version}"
    served = ours.next_exported()
    assert served.info is not None
    assert served.info.peer_certificates == ()
    assert served.exporter == record["exporter"]


@pytest.mark.parametrize(("version", "leaf"), [("1.3", "ecdsa-p384"), ("1.2", "rsa-2048")])
def test_wolfssl_client_certificate_to_server(
    peers: Peers, wolfpeer: Path, version: str, leaf: str
) -> None:
    ours = served_by_us(peers, client_auth="required", client_cafile=str(peers.pki.ca_path))
    (record,) = wolfssl_client(peers, wolfpeer, ours.port, "--max", version, leaf=leaf)
    ok(record)
    served = ours.next_exported()
    assert served.info is not None
    assert served.info.peer_certificates[0] == peers.pki.leaves[leaf].cert
    assert served.exporter == record["exporter"]
    assert served.received == b"hello"


@pytest.mark.parametrize(
    ("version", "error"),
    [
        ("1.3", CertificateRequired),  # RFC 8446 §4.4.2.4
        ("1.2", HandshakeFailure),  # RFC 5246 §7.4.6
    ],
)
def test_server_requires_a_certificate_from_wolfssl_client(
    peers: Peers, wolfpeer: Path, version: str, error: type[ProtocolError]
) -> None:
    ours = served_by_us(peers, client_auth="required", client_cafile=str(peers.pki.ca_path))
    (record,) = wolfssl_client(peers, wolfpeer, ours.port, "--max", version)
    assert "error" in record, record
    served = ours.next_connection()
    assert type(served.error) is error
    assert record["alert_rx"] == served.error.alert


def serve_one(peers: Peers, wolfpeer: Path, *options: str) -> tuple[socket.socket, PeerProcess]:
    """Start a wolfSSL client against a listener of ours; returns our accepted socket."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)
        port = listener.getsockname()[1]
        argv = [str(wolfpeer), "client", "--port", str(port), "--ca", str(peers.pki.ca_path)]
        client = peers.start([*argv, *options], "wolfSSL client")
        sock, _ = listener.accept()
    sock.settimeout(TIMEOUT)
    return sock, client


# -- post-handshake authentication (RFC 8446 §4.6.2) ---------------------------------------------


@pytest.mark.parametrize("leaf", ["ecdsa-p256", "rsa-2048", "ed25519"])
def test_client_answers_wolfssl_servers_post_handshake_request(
    peers: Peers, wolfpeer: Path, leaf: str
) -> None:
    """wolfSSL asks after the first echo; it reads our Certificate, CertificateVerify and
    Finished before the next message, and verifies them (else its read fails)."""
    server, port = wolfssl_server(peers, wolfpeer, "--post-handshake-auth")
    config = client_config(
        peers, post_handshake_auth=True, certificates=server_certificates(peers, leaf)
    )
    with dial(port, config) as tls:
        tls.sendall(b"before")
        assert read_exactly(tls, 6) == b"before"  # the CertificateRequest follows the echo
        tls.sendall(b"after")
        assert read_exactly(tls, 5) == b"after"
        ours = exporter(tls)
    (record,) = server_records(server)
    assert (ok(record)["pha_request"], received(record)) == (1, b"beforeafter")
    assert "peer_cert_sha256" not in record  # nothing asked in the handshake
    assert record["pha_peer_cert_sha256"] == cert_sha256(peers, leaf)
    assert (record["exporter"], record["clean_close"]) == (ours, True)


@pytest.mark.parametrize("leaf", ["ecdsa-p384", "rsa-2048", None])
def test_wolfssl_client_answers_our_post_handshake_request(
    peers: Peers, wolfpeer: Path, leaf: str | None
) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"),
        client_cafile=str(peers.pki.ca_path),  # client_auth "none": nothing asked in the handshake
    )
    options = ["--post-handshake-auth", "--message", "after pha"]
    if leaf is not None:
        options += cert_options(peers, leaf)
    sock, client = serve_one(peers, wolfpeer, *options)
    events: list[Event] = []
    with TLSSocket(sock, ServerConnection(config), on_event=events.append) as tls:
        assert tls.do_handshake().peer_certificates == ()
        context = tls.connection.request_client_certificate()
        sock.sendall(tls.connection.data_to_send())
        data = read_exactly(tls, 9)  # wolfSSL writes first, then answers when it reads
        tls.sendall(data)
        while not tls.peer_closed:
            tls.recv()
    assert client.wait() == 0, client.describe()
    (record,) = records(client)
    assert (received(ok(record)), record["clean_close"]) == (b"after pha", True)
    (event,) = (e for e in events if isinstance(e, ClientCertificateReceived))
    assert event.certificate_request_context == context
    expected = () if leaf is None else (peers.pki.leaves[leaf].cert,)
    assert event.certificates[:1] == expected


# -- KeyUpdate (RFC 8446 §4.6.3) -------------------------------------------------------------------


@pytest.mark.parametrize("request_peer", [True, False], ids=["update-requested", "not-requested"])
def test_client_key_update_with_wolfssl_server(
    peers: Peers, wolfpeer: Path, request_peer: bool
) -> None:
    server, port = wolfssl_server(peers, wolfpeer)
    events: list[Event] = []
    sent = b""
    with dial(port, client_config(peers), on_event=events.append) as tls:
        for i in range(3):  # three rounds: wolfSSL must follow each of our key changes
            tls.key_update(request_peer=request_peer)
            message = b"after key update %d" % i
            tls.sendall(message)
            assert read_exactly(tls, len(message)) == message  # under wolfSSL's new keys
            sent += message
        ours = exporter(tls)
    expected = ["send", "receive"] * 3 if request_peer else ["send"] * 3
    assert key_updates(events) == expected
    assert tls.clean_close is True
    (record,) = server_records(server)
    assert received(ok(record)) == sent
    assert record["exporter"] == ours  # the exporter does not change with the traffic keys


def test_wolfssl_server_key_update_to_client(peers: Peers, wolfpeer: Path) -> None:
    """wolfSSL_update_keys sends update_requested: we must answer with our own KeyUpdate."""
    server, port = wolfssl_server(peers, wolfpeer, "--key-update")
    events: list[Event] = []
    with dial(port, client_config(peers), on_event=events.append) as tls:
        tls.sendall(b"rekeyed")
        assert read_exactly(tls, 7) == b"rekeyed"  # wolfSSL decrypted it under our new keys
    assert key_updates(events) == ["receive", "send"]
    (record,) = server_records(server)
    assert (ok(record)["key_update"], received(record)) == (1, b"rekeyed")


@pytest.mark.parametrize("who", ["ours", "wolfssl"], ids=["our-update", "wolfssl-update"])
def test_server_key_update_with_wolfssl_client(peers: Peers, wolfpeer: Path, who: str) -> None:
    config = ServerConfig(certificates=server_certificates(peers, "ecdsa-p256"))
    options = ["--message", "rekeyed", *(["--key-update"] if who == "wolfssl" else [])]
    sock, client = serve_one(peers, wolfpeer, *options)
    events: list[Event] = []
    with TLSSocket(sock, ServerConnection(config), on_event=events.append) as tls:
        tls.do_handshake()
        if who == "ours":
            tls.key_update(request_peer=True)
        data = read_exactly(tls, 7)
        tls.sendall(data)
        while not tls.peer_closed:
            tls.recv()
    assert client.wait() == 0, client.describe()
    (record,) = records(client)
    assert (received(ok(record)), record["clean_close"]) == (b"rekeyed", True)
    # update_requested is answered (RFC 8446 §4.6.3), whoever asked
    if who == "ours":
        assert key_updates(events) == ["send", "receive"]
    else:
        assert (key_updates(events), record["key_update"]) == (["receive", "send"], 1)


# -- versions and downgrade protection (RFC 8446 §4.1.3, §4.2.1) ---------------------------------


def test_tls12_client_accepts_wolfssl_servers_downgrade_sentinel(
    peers: Peers, wolfpeer: Path
) -> None:
    server, port = wolfssl_server(peers, wolfpeer)
    with dial(port, client_config(peers, max_version="TLSv1.2")) as tls:
        assert tls.version() == "TLSv1.2"
        tls.sendall(b"1.2")
        assert read_exactly(tls, 3) == b"1.2"
        ours = exporter(tls)
    (record,) = server_records(server)
    assert (ok(record)["version"], record["exporter"]) == ("TLSv1.2", ours)


def test_tls12_server_sets_no_downgrade_sentinel_for_wolfssl_client(
    peers: Peers, wolfpeer: Path
) -> None:
    """The wolfSSL client (TLS 1.3 enabled) aborts on a sentinel; our TLS-1.2-only server must
    not send one."""
    ours = served_by_us(peers, max_version="TLSv1.2")
    (record,) = wolfssl_client(peers, wolfpeer, ours.port)
    assert ok(record)["version"] == "TLSv1.2"
    served = ours.next_exported()
    assert served.info is not None
    assert (served.info.version, served.exporter) == ("TLSv1.2", record["exporter"])


def test_tls13_only_client_refused_by_tls12_wolfssl_server(peers: Peers, wolfpeer: Path) -> None:
    """A TLS-1.2-only wolfSSL ignores supported_versions and finds none of its suites among
    our TLS 1.3 ones: handshake_failure (RFC 5246 §7.4.1.3) rather than protocol_version."""
    server, port = wolfssl_server(peers, wolfpeer, "--max", "1.2")
    with pytest.raises(AlertReceived) as caught:
        dial(port, client_config(peers, min_version="TLSv1.3"))
    assert caught.value.description == AlertDescription.HANDSHAKE_FAILURE
    (record,) = server_records(server)
    assert (record["stage"], record["alert_tx"]) == ("handshake", 40), record


def test_tls13_only_wolfssl_client_refused_by_tls12_server(peers: Peers, wolfpeer: Path) -> None:
    ours = served_by_us(peers, max_version="TLSv1.2")
    (record,) = wolfssl_client(peers, wolfpeer, ours.port, "--min", "1.3")
    assert (record["stage"], record["alert_rx"]) == ("handshake", 70), record
    assert isinstance(ours.next_connection().error, ProtocolVersionError)


def test_tls12_only_client_refused_by_tls13_wolfssl_server(peers: Peers, wolfpeer: Path) -> None:
    server, port = wolfssl_server(peers, wolfpeer, "--min", "1.3")
    with pytest.raises(AlertReceived) as caught:
        dial(port, client_config(peers, max_version="TLSv1.2"))
    assert caught.value.description == AlertDescription.PROTOCOL_VERSION
    (record,) = server_records(server)
    assert (record["stage"], record["alert_tx"]) == ("handshake", 70), record


def test_tls12_only_wolfssl_client_refused_by_tls13_server(peers: Peers, wolfpeer: Path) -> None:
    ours = served_by_us(peers, min_version="TLSv1.3")
    (record,) = wolfssl_client(peers, wolfpeer, ours.port, "--max", "1.2")
    assert (record["stage"], record["alert_rx"]) == ("handshake", 70), record
    assert isinstance(ours.next_connection().error, ProtocolVersionError)


# -- extended master secret (RFC 7627) -------------------------------------------------------------


@pytest.mark.parametrize("tickets", [False, True], ids=["session-id", "ticket"])
def test_client_requiring_ems_with_wolfssl_server(
    peers: Peers, wolfpeer: Path, tickets: bool
) -> None:
    """wolfSSL answers extended_master_secret (RFC 7627 §5.1); a client that requires it
    completes the handshake and resumes. (A wolfSSL 5.5.4 server always answers it:
    wolfSSL_CTX_DisableExtendedMasterSecret only affects its client.)"""
    options = ["--max", "1.2", "--connections", "2", *([] if tickets else ["--no-tickets"])]
    server, port = wolfssl_server(peers, wolfpeer, "--no-ems", *options)
    config = client_config(
        peers,
        session_store=InMemoryClientSessionStore(),
        require_extended_master_secret=True,
        trace_handshake=True,
    )
    resumed = []
    for _ in range(2):
        events: list[Event] = []
        with dial(port, config, on_event=events.append) as tls:
            tls.sendall(b"ems")
            assert read_exactly(tls, 3) == b"ems"
            assert tls.handshake_info is not None
            resumed.append(tls.handshake_info.resumed)
        (hello,) = (m for m in traced(events, "received") if isinstance(m, ServerHello))
        kinds = [e.ext_type for e in hello.extensions]
        assert ExtensionType.EXTENDED_MASTER_SECRET in kinds
    assert resumed == [False, True]
    assert [ok(r)["resumed"] for r in server_records(server, 2)] == [False, True]


def test_server_requiring_ems_refuses_wolfssl_client_without_it(
    peers: Peers, wolfpeer: Path
) -> None:
    ours = served_by_us(peers, require_extended_master_secret=True)
    (record,) = wolfssl_client(peers, wolfpeer, ours.port, "--max", "1.2", "--no-ems")
    assert (record["stage"], record["alert_rx"]) == ("handshake", 40), record
    assert isinstance(ours.next_connection().error, HandshakeFailure)


def test_server_does_not_resume_wolfssl_session_without_ems(peers: Peers, wolfpeer: Path) -> None:
    ours = served_by_us(peers)
    options = ["--max", "1.2", "--no-ems", "--connections", "2", "--tickets"]
    results = [ok(r) for r in wolfssl_client(peers, wolfpeer, ours.port, *options)]
    assert [r["resumed"] for r in results] == [False, False]
    served = [ours.next_exported() for _ in range(2)]
    assert [s.info.resumed for s in served if s.info] == [False, False]
    # RFC 7627 §5.4: without the extended master secret we export nothing (wolfSSL does)
    assert [s.exporter for s in served] == [None, None]
    assert all(len(r["exporter"]) == 64 for r in results)


# -- renegotiation (RFC 5746) ----------------------------------------------------------------------


RENEGOTIATION_REFUSED = (-388, "Invalid Renegotiation Error")
"""wolfSSL_Rehandshake without HAVE_SECURE_RENEGOTIATION: SECURE_RENEGOTIATION_E."""


def test_wolfssl_client_cannot_renegotiate_with_server(peers: Peers, wolfpeer: Path) -> None:
    """Debian's wolfSSL has no secure renegotiation, and we never renegotiate: wolfSSL's
    attempt stops before anything is sent, and the connection goes on to a clean close."""
    ours = served_by_us(peers, max_version="TLSv1.2")
    (record,) = wolfssl_client(peers, wolfpeer, ours.port, "--renegotiate")
    assert (ok(record)["renegotiate"], record["renegotiate_error"]) == RENEGOTIATION_REFUSED
    assert (received(record), record["clean_close"]) == (b"hello", True)
    served = ours.next_exported()
    assert (served.received, served.clean_close) == (b"hello", True)
    assert served.exporter == record["exporter"]


def test_client_and_wolfssl_server_secure_renegotiation_indication(
    peers: Peers, wolfpeer: Path
) -> None:
    """RFC 5746 §3.4-3.6: we offer renegotiation_info and wolfSSL answers it, empty
    (HAVE_SERVER_RENEGOTIATION_INFO), which our client checks. (A wolfSSL server of this
    build cannot send a HelloRequest: wolfSSL_Rehandshake fails and drops the connection.)"""
    server, port = wolfssl_server(peers, wolfpeer, "--max", "1.2")
    events: list[Event] = []
    config = client_config(peers, trace_handshake=True)
    with dial(port, config, on_event=events.append) as tls:
        tls.sendall(b"indicated")
        assert read_exactly(tls, 9) == b"indicated"
    (hello,) = (m for m in traced(events, "received") if isinstance(m, ServerHello))
    (info,) = (e for e in hello.extensions if e.ext_type == ExtensionType.RENEGOTIATION_INFO)
    assert info == RenegotiationInfo(renegotiated_connection=b"")
    (record,) = server_records(server)
    assert (received(ok(record)), record["clean_close"]) == (b"indicated", True)


# -- exporters with a context (RFC 5705 §4, RFC 8446 §7.5) ---------------------------------------


CONTEXTS = [b"", b"channel binding context"]


@pytest.mark.parametrize("context", CONTEXTS, ids=["empty-context", "context"])
@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_client_exporter_context_with_wolfssl_server(
    peers: Peers, wolfpeer: Path, version: str, context: bytes
) -> None:
    """TLS 1.3 hashes the context, so no context and an empty one agree (§7.5); TLS 1.2 puts
    the context's length in the seed only when there is one (RFC 5705 §4): they differ."""
    options = ["--max", version, "--context", context.hex()]
    server, port = wolfssl_server(peers, wolfpeer, *options)
    with dial(port, client_config(peers)) as tls:
        with_context = tls.export_keying_material(EXPORTER_LABEL.encode(), 32, context).hex()
        without = exporter(tls)
    (record,) = server_records(server)
    assert (ok(record)["exporter"], record["exporter_context"]) == (without, with_context)
    assert (with_context == without) is (version == "1.3" and context == b"")


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_server_exporter_context_with_wolfssl_client(
    peers: Peers, wolfpeer: Path, version: str
) -> None:
    context = b"channel binding context"
    config = ServerConfig(certificates=server_certificates(peers, "ecdsa-p256"))
    ours = exporting_server(peers, config, context)
    options = ["--max", version, "--context", context.hex()]
    (record,) = wolfssl_client(peers, wolfpeer, ours.port, *options)
    assert ours.next_exported().exporter == ok(record)["exporter_context"]


# -- extensions we do not implement ----------------------------------------------------------------


def test_server_ignores_wolfssl_clients_max_fragment_length(peers: Peers, wolfpeer: Path) -> None:
    """We do not negotiate max_fragment_length (RFC 6066 §4): without an answer the wolfSSL
    client keeps full-size records, and so do we."""
    ours = served_by_us(peers)
    options = ["--max-fragment", "--message", "m" * 40000]
    (record,) = wolfssl_client(peers, wolfpeer, ours.port, *options)
    assert received(ok(record)) == b"m" * 40000
    assert ours.next_exported().received == b"m" * 40000


# -- large transfers -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_client_large_transfer_with_wolfssl_server(
    peers: Peers, wolfpeer: Path, version: str
) -> None:
    server, port = wolfssl_server(peers, wolfpeer, "--max", version)
    payload = (bytes(range(251)) * (MIB // 251 + 1))[:MIB]
    chunk = 4 * 65536  # read each chunk's echo before sending more: neither side's buffers fill
    with dial(port, client_config(peers)) as tls:
        assert tls.version() == f"TLSv{version}"
        echo_chunks(tls, payload, chunk)
    (record,) = server_records(server)
    check_transfer(ok(record), payload)


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_wolfssl_client_large_transfer_with_server(
    peers: Peers, wolfpeer: Path, version: str
) -> None:
    ours = served_by_us(peers)
    options = ["--message", "0123456789abcdef", "--size", str(MIB), "--max", version]
    (record,) = wolfssl_client(peers, wolfpeer, ours.port, *options)
    payload = (b"0123456789abcdef" * (MIB // 16))[:MIB]
    check_transfer(ok(record), payload)
    served = ours.next_exported()
    assert served.received == payload
    assert served.clean_close is True
