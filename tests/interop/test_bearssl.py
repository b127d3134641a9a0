"""Interop with BearSSL 0.6 (Thomas Pornin's TLS implementation in C, the system's
``libbearssl``), TLS 1.2 both directions, over 127.0.0.1.

BearSSL runs in its own process: ``bearssl_peer/peer.c``, a small C program built once per
session (``bearssl_peer.py``), prints one JSON record per connection with what BearSSL
negotiated (version, suite, curve, ALPN, SNI, resumption, session ID, ServerHello.random, the
peer's certificate, 32 bytes of RFC 5705 keying material from ``br_ssl_key_export``), what it
received and whether the close was clean, or BearSSL's error code with the alert it received
or sent. So each test checks both ends' view of the same connection.

What BearSSL 0.6 brings (found while writing these tests):

* TLS 1.0-1.2 only, no supported_versions: our 1.3-capable ends settle on 1.2; our server's
  downgrade sentinel (RFC 8446 §4.1.3) goes to a client that does not look for it;
* ECDHE over x25519, secp256r1, secp384r1, secp521r1 (no x448, no DHE, no FFDHE);
* no RSA-PSS in TLS: a BearSSL server signs its ServerKeyExchange with PKCS#1 v1.5, and its
  client offers no rsa_pss_* scheme, so our RSA server signs with PKCS#1 v1.5 too;
* a server follows the client's suite order unless ``BR_OPT_ENFORCE_SERVER_PREFERENCES``;
* no extended master secret (RFC 7627): we keep no TLS 1.2 session without it, so neither
  direction ever resumes with BearSSL (while BearSSL resumes with itself, see
  ``test_bearssl_resumes_with_itself``), and we refuse to export keying material (§5.4;
  BearSSL exports regardless, so the two ends' exporters cannot be compared); BearSSL has no
  session tickets either;
* certificate failures (X.509 errors, a missing client certificate) end BearSSL's connection
  without an alert: its engine stops all I/O on most errors, sending only the alerts its
  handshake code raises explicitly (e.g. no suite in common, ALPN mismatch);
* it treats a no_renegotiation warning as fatal, both as the server that sent a HelloRequest and
  as the client that sent a new ClientHello;
* a server picks ALPN by its own preference, and carries on without ALPN on a mismatch unless
  ``BR_OPT_FAIL_ON_ALPN_MISMATCH`` is set.
"""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest
from bearssl_peer import (
    ERR_IO,
    ERR_NO_CLIENT_AUTH,
    ERR_X509_BAD_SERVER_NAME,
    EXPORTER_LABEL,
    RECV_FATAL_ALERT,
    bearssl_client,
    bearssl_server,
    build_bearssl_peer,
    digest,
    failed,
    ok,
    received,
    received_digest,
)
from cryptography.hazmat.primitives.serialization import Encoding
from peers import (
    TIMEOUT,
    OurServer,
    Peers,
    ServedConnection,
    cert_options,
    client_config,
    dial,
    read_exactly,
    server_certificates,
    server_records,
)
from peers import json_records as records
from tls12_peers import cached_sessions, group, suite12

from tlsmachine import AlertReceived, CertifiedKey, InMemoryClientSessionStore, ServerConfig
from tlsmachine.enums import AlertDescription, ProtocolVersion
from tlsmachine.errors import (
    HandshakeFailure,
    NoApplicationProtocol,
    ProtocolError,
    ProtocolVersionError,
    TLSError,
    UsageError,
)
from tlsmachine.events import Event, HandshakeMessageTraced
from tlsmachine.sockets import TLSSocket, connect

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

DOWNGRADE_TLS12 = b"DOWNGRD\x01"
"""The last 8 bytes of a 1.3-capable server's ServerHello.random for TLS 1.2 (RFC 8446 §4.1.3)."""

HANDSHAKE_FAILURE = int(AlertDescription.HANDSHAKE_FAILURE)
PROTOCOL_VERSION = int(AlertDescription.PROTOCOL_VERSION)
NO_APPLICATION_PROTOCOL = int(AlertDescription.NO_APPLICATION_PROTOCOL)

ECDSA_SUITES = [
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
]
RSA_SUITES = [s.replace("ECDSA", "RSA") for s in ECDSA_SUITES]
CURVES = ["x25519", "secp256r1", "secp384r1", "secp521r1"]
CERT_CURVE = {"ecdsa-p256": "secp256r1", "ecdsa-p384": "secp384r1"}

# Each curve with an ECDSA and an RSA certificate, the suites taking turns (every suite with
# at least two curves), the ECDSA certificate alternating P-256 / P-384: (leaf, suite, curve).
CASES = [
    case
    for i, curve in enumerate(CURVES)
    for case in (
        (("ecdsa-p256", "ecdsa-p384")[i % 2], ECDSA_SUITES[i % 3], curve),
        ("rsa-2048", RSA_SUITES[(i + 1) % 3], curve),
    )
]
CBC_SUITES = [
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
]
MEGABYTE = bytes(range(256)) * 4096


def case_id(case: tuple[str, ...]) -> str:
    return "-".join(c.removeprefix("TLS_").replace("_WITH", "") for c in case)


@pytest.fixture(scope="session")
def bearssl_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The BearSSL peer program, compiled once per session in a temporary directory."""
    return build_bearssl_peer(tmp_path_factory.mktemp("bearssl-peer"))


# -- helpers ---------------------------------------------------------------------------------------


def sha256(peers: Peers, leaf: str) -> str:
    return hashlib.sha256(peers.pki.leaves[leaf].cert.public_bytes(Encoding.DER)).hexdigest()


def echo(tls: TLSSocket, message: bytes) -> None:
    tls.sendall(message)
    assert read_exactly(tls, len(message)) == message


def check_scheme(leaf: str, scheme: str | None) -> None:
    """BearSSL has no RSA-PSS: RSA signs with PKCS#1 v1.5 (either side's choice)."""
    assert scheme is not None
    assert scheme.startswith("rsa_pkcs1_" if leaf == "rsa-2048" else "ecdsa_"), scheme


def ours12(peers: Peers, leaf: str, *groups: str) -> ServerConfig:
    """Our server with one certificate and ``groups``."""
    return ServerConfig(
        certificates=server_certificates(peers, leaf), groups=tuple(group(g) for g in groups)
    )


def served_ok(server: OurServer, message: bytes = b"hello") -> ServedConnection:
    """Our server's next connection, which must have echoed ``message`` and closed cleanly."""
    served = server.next_connection()
    assert served.error is None, repr(served.error)
    assert served.info is not None
    assert served.received == message
    assert served.clean_close is True
    return served


def alert_of(exc: BaseException | None) -> int:
    """The alert our side sent for a failure."""
    assert isinstance(exc, ProtocolError), repr(exc)
    return int(exc.alert)


# -- version negotiation: BearSSL speaks TLS 1.0-1.2 ---------------------------------------------


def test_bearssl_has_no_tls13(peers: Peers, bearssl_bin: Path) -> None:
    """BearSSL 0.6 knows TLS 1.0-1.2 only: the peer refuses a TLS 1.3 configuration."""
    argv = [str(bearssl_bin), "server", "--max-version", "tls1.3"]
    peer = peers.start(argv + cert_options(peers, "ecdsa-p256"), "BearSSL server")
    assert peer.wait() == 2, peer.describe()
    (setup,) = records(peer, "setup")
    assert setup["error"] == "tls1.3: BearSSL supports tls1.0, tls1.1 and tls1.2 only"


def test_client_settles_on_tls12_with_bearssl_server(peers: Peers, bearssl_bin: Path) -> None:
    """Our 1.3-capable client offers 1.3 and 1.2; BearSSL ignores supported_versions and
    answers 1.2 without a downgrade sentinel (only a 1.3-capable server sets one), so we go on."""
    server, port = bearssl_server(peers, bearssl_bin)
    with dial(port, client_config(peers)) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.version, info.resumed) == ("TLSv1.2", False)
        echo(tls, b"settled on 1.2")
    assert tls.clean_close is True
    (record,) = server_records(server)
    assert (ok(record)["version"], received(record)) == ("TLSv1.2", b"settled on 1.2")
    assert not bytes.fromhex(record["server_random"]).endswith(DOWNGRADE_TLS12[:7])
    assert record["clean_close"] is True


def test_bearssl_client_ignores_downgrade_sentinel(peers: Peers, bearssl_bin: Path) -> None:
    """Our 1.3-capable server picks 1.2 for BearSSL and says so in the last 8 bytes of
    ServerHello.random (RFC 8446 §4.1.3); BearSSL, a 1.2 client, must not mind them."""
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "rsa-2048")))
    (record,) = bearssl_client(peers, bearssl_bin, ours.port)
    assert ok(record)["version"] == "TLSv1.2"
    assert bytes.fromhex(record["server_random"])[-8:] == DOWNGRADE_TLS12
    assert (received(record), record["clean_close"]) == (b"hello", True)
    assert served_ok(ours).info.version == "TLSv1.2"


def test_tls13_only_client_refused_by_bearssl_server(peers: Peers, bearssl_bin: Path) -> None:
    """A TLS 1.3-only ClientHello says 1.2 in legacy_version and offers only 1.3 suites: BearSSL
    finds no suite for it."""
    server, port = bearssl_server(peers, bearssl_bin)
    config = client_config(peers, min_version=ProtocolVersion.TLS13)
    with pytest.raises(AlertReceived) as raised:
        dial(port, config)
    assert raised.value.description == AlertDescription.HANDSHAKE_FAILURE
    (record,) = server_records(server)
    failed(record, received_alert=None, sent_alert=HANDSHAKE_FAILURE)


def test_tls13_only_server_refuses_bearssl_client(peers: Peers, bearssl_bin: Path) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"), min_version=ProtocolVersion.TLS13
    )
    ours = peers.our_server(config)
    (record,) = bearssl_client(peers, bearssl_bin, ours.port)
    failed(record, received_alert=PROTOCOL_VERSION, sent_alert=None)  # RFC 8446 §4.2.1
    served = ours.next_connection()
    assert isinstance(served.error, ProtocolVersionError), served.error


@pytest.mark.parametrize("version", ["tls1.0", "tls1.1"])
def test_client_refuses_old_bearssl_server(peers: Peers, bearssl_bin: Path, version: str) -> None:
    """RFC 8996: we offer no TLS 1.0/1.1 suite (only TLS 1.2 AEADs), so a BearSSL server
    limited to those versions finds no suite in common and gives up first."""
    options = ["--min-version", "tls1.0", "--max-version", version]
    server, port = bearssl_server(peers, bearssl_bin, *options)
    with pytest.raises(AlertReceived) as raised:
        dial(port, client_config(peers))
    assert raised.value.description == AlertDescription.HANDSHAKE_FAILURE
    (record,) = server_records(server)
    failed(record, received_alert=None, sent_alert=HANDSHAKE_FAILURE)


@pytest.mark.parametrize("version", ["tls1.0", "tls1.1"])
def test_server_refuses_old_bearssl_client(peers: Peers, bearssl_bin: Path, version: str) -> None:
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "ecdsa-p256")))
    options = ["--min-version", "tls1.0", "--max-version", version]
    (record,) = bearssl_client(peers, bearssl_bin, ours.port, *options)
    failed(record, received_alert=PROTOCOL_VERSION, sent_alert=None)
    assert isinstance(ours.next_connection().error, ProtocolVersionError)


# -- the TLS 1.2 matrix --------------------------------------------------------------------------


@pytest.mark.parametrize(("leaf", "suite", "curve"), CASES, ids=map(case_id, CASES))
def test_client_ecdhe_with_bearssl_server(
    peers: Peers, bearssl_bin: Path, leaf: str, suite: str, curve: str
) -> None:
    options = ["--suites", suite, "--curves", curve]
    server, port = bearssl_server(peers, bearssl_bin, *options, leaf=leaf)
    message = b"hello BearSSL, " * 1000  # two records each way
    with dial(port, client_config(peers)) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.version, info.cipher_suite, info.group) == ("TLSv1.2", suite, curve)
        check_scheme(leaf, info.signature_scheme)
        assert info.peer_certificates[0] == peers.pki.leaves[leaf].cert
        echo(tls, message)
    assert tls.clean_close is True
    (record,) = server_records(server)
    assert (ok(record)["cipher_suite"], record["curve"]) == (suite, curve)
    assert received(record) == message
    assert record["clean_close"] is True


@pytest.mark.parametrize(("leaf", "suite", "curve"), CASES, ids=map(case_id, CASES))
def test_bearssl_client_ecdhe_with_server(
    peers: Peers, bearssl_bin: Path, leaf: str, suite: str, curve: str
) -> None:
    # RFC 8422 §4: the client's curves also cover the ECDSA certificate's
    curves = list(dict.fromkeys([curve, CERT_CURVE.get(leaf, curve)]))
    ours = peers.our_server(ours12(peers, leaf, curve))
    options = ["--suites", suite, "--curves", ",".join(curves), "--message", "m" * 20000]
    (record,) = bearssl_client(peers, bearssl_bin, ours.port, *options)
    assert (ok(record)["version"], record["cipher_suite"]) == ("TLSv1.2", suite)
    assert (record["curve"], record["peer_cert_sha256"]) == (curve, sha256(peers, leaf))
    assert (received(record), record["clean_close"]) == (b"m" * 20000, True)
    served = served_ok(ours, b"m" * 20000)
    assert (served.info.cipher_suite, served.info.group) == (suite, curve)
    check_scheme(leaf, served.info.signature_scheme)


# -- keying material exporter (RFC 5705) without the extended master secret ----------------------


def test_client_exports_nothing_with_bearssl_server(peers: Peers, bearssl_bin: Path) -> None:
    """RFC 7627 §5.4: after a full handshake without the extended master secret, an end MUST
    NOT export keying material (MUST disable RFC 5705). We refuse; BearSSL, which has no
    extended master secret at all, exports anyway. The connection itself goes on."""
    server, port = bearssl_server(peers, bearssl_bin)
    with dial(port, client_config(peers)) as tls:
        with pytest.raises(UsageError, match=r"RFC 7627 §5\.4"):
            tls.export_keying_material(EXPORTER_LABEL.encode(), 32)
        echo(tls, b"still fine")
    (record,) = server_records(server)
    assert len(bytes.fromhex(ok(record)["exporter"])) == 32
    assert received(record) == b"still fine"


@pytest.mark.parametrize(("flags", "chosen"), [((), 0), (("--prefer-server",), 1)])
def test_suite_preference_of_bearssl_server(
    peers: Peers, bearssl_bin: Path, flags: tuple[str, ...], chosen: int
) -> None:
    """Our client prefers AES-128-GCM, the BearSSL server ChaCha20: by default BearSSL follows
    the client, with BR_OPT_ENFORCE_SERVER_PREFERENCES its own order."""
    suites = (ECDSA_SUITES[2], ECDSA_SUITES[0])
    server, port = bearssl_server(peers, bearssl_bin, "--suites", ",".join(suites), *flags)
    config = client_config(peers, tls12_cipher_suites=tuple(map(suite12, suites[::-1])))
    with dial(port, config) as tls:
        assert tls.handshake_info is not None
        assert tls.handshake_info.cipher_suite == suites[::-1][chosen]
        echo(tls, b"preference")
    assert ok(server_records(server)[0])["cipher_suite"] == suites[::-1][chosen]


# -- failures: nothing in common -------------------------------------------------------------------


def test_no_common_suite_with_bearssl_server(peers: Peers, bearssl_bin: Path) -> None:
    server, port = bearssl_server(peers, bearssl_bin, "--suites", ECDSA_SUITES[2])
    config = client_config(peers, tls12_cipher_suites=(suite12(ECDSA_SUITES[0]),))
    with pytest.raises(AlertReceived) as raised:
        dial(port, config)
    assert raised.value.description == AlertDescription.HANDSHAKE_FAILURE
    (record,) = server_records(server)
    failed(record, received_alert=None, sent_alert=HANDSHAKE_FAILURE)


def test_no_common_suite_with_bearssl_client(peers: Peers, bearssl_bin: Path) -> None:
    """BearSSL offering only AES-CCM (which we do not implement for TLS 1.2)."""
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "ecdsa-p256")))
    options = ["--suites", "TLS_ECDHE_ECDSA_WITH_AES_128_CCM"]
    (record,) = bearssl_client(peers, bearssl_bin, ours.port, *options)
    failed(record, received_alert=HANDSHAKE_FAILURE, sent_alert=None)
    error = ours.next_connection().error
    assert isinstance(error, HandshakeFailure), error


def test_server_refuses_bearssl_client_offering_only_cbc(peers: Peers, bearssl_bin: Path) -> None:
    """We implement no CBC suite (AEADs only): a BearSSL client offering only CBC ones gets a
    handshake_failure (RFC 5246 §7.4.1.3)."""
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "ecdsa-p256")))
    (record,) = bearssl_client(peers, bearssl_bin, ours.port, "--suites", ",".join(CBC_SUITES))
    failed(record, received_alert=HANDSHAKE_FAILURE, sent_alert=None)
    error = ours.next_connection().error
    assert isinstance(error, HandshakeFailure), error
    assert alert_of(error) == HANDSHAKE_FAILURE


def test_client_refused_by_bearssl_server_with_only_cbc(peers: Peers, bearssl_bin: Path) -> None:
    server, port = bearssl_server(peers, bearssl_bin, "--suites", ",".join(CBC_SUITES))
    with pytest.raises(AlertReceived) as raised:
        dial(port, client_config(peers))
    assert raised.value.description == AlertDescription.HANDSHAKE_FAILURE
    (record,) = server_records(server)
    failed(record, received_alert=None, sent_alert=HANDSHAKE_FAILURE)


def test_no_common_curve_with_bearssl_client(peers: Peers, bearssl_bin: Path) -> None:
    """BearSSL offers only secp521r1, our server only x25519: no ECDHE suite can be used."""
    ours = peers.our_server(ours12(peers, "rsa-2048", "x25519"))
    options = ["--curves", "secp521r1", "--suites", RSA_SUITES[0]]
    (record,) = bearssl_client(peers, bearssl_bin, ours.port, *options)
    failed(record, received_alert=HANDSHAKE_FAILURE, sent_alert=None)
    assert isinstance(ours.next_connection().error, HandshakeFailure)


# -- session resumption (RFC 5246 §7.3): BearSSL has no extended master secret ------------------


def test_bearssl_resumes_with_itself(peers: Peers, bearssl_bin: Path) -> None:
    """Control: the peer's session cache and saved sessions work, BearSSL to BearSSL."""
    server, port = bearssl_server(peers, bearssl_bin, "--session-cache", "--connections", "2")
    results = bearssl_client(peers, bearssl_bin, port, "--connections", "2")
    assert [ok(r)["resumed"] for r in results] == [False, True]
    served = server_records(server, 2)
    assert [ok(r)["resumed"] for r in served] == [False, True]
    assert results[0]["session_id"] == results[1]["session_id"] == served[1]["session_id"]


def test_client_does_not_resume_with_bearssl_server(peers: Peers, bearssl_bin: Path) -> None:
    """BearSSL's session has no extended master secret (RFC 7627): we do not keep it (§5.3),
    so the second connection is a full handshake again, although BearSSL cached the session:
    it looks up the 32-byte legacy_session_id we send (a random one, RFC 8446 §4.1.2, as our
    client also offers 1.3) and finds nothing."""
    server, port = bearssl_server(peers, bearssl_bin, "--session-cache", "--connections", "2")
    store = InMemoryClientSessionStore()
    config = client_config(peers, session_store=store)
    seen = []
    for n in range(2):
        with dial(port, config) as tls:
            assert tls.handshake_info is not None
            seen.append(tls.handshake_info.resumed)
            echo(tls, f"connection {n}".encode())
    assert seen == [False, False]
    assert len(store) == 0
    results = server_records(server, 2)
    assert [ok(r)["resumed"] for r in results] == [False, False]
    assert [(r["cache_lookup"], r["cache_hit"]) for r in results] == [(True, False)] * 2
    assert [received(r) for r in results] == [b"connection 0", b"connection 1"]
    assert len(results[0]["session_id"]) == 64  # BearSSL did give the session an ID
    assert results[0]["session_id"] != results[1]["session_id"]


def test_bearssl_client_not_resumed_by_server(peers: Peers, bearssl_bin: Path) -> None:
    """Without the extended master secret our server keeps no TLS 1.2 session (RFC 7627 §5.3)
    and says so with an empty session ID (RFC 5246 §7.4.1.3): BearSSL has nothing to offer
    the second time, and both connections are full handshakes with fresh keys."""
    config = ServerConfig(certificates=server_certificates(peers, "ecdsa-p256"))
    ours = peers.our_server(config)
    results = bearssl_client(peers, bearssl_bin, ours.port, "--connections", "2")
    assert [ok(r)["resumed"] for r in results] == [False, False]
    assert [(r["offered_session"], r["session_id"]) for r in results] == [(False, "")] * 2
    served = [served_ok(ours) for _ in range(2)]
    assert [s.info.resumed for s in served] == [False, False]
    assert len({r["exporter"] for r in results}) == 2  # BearSSL's: fresh master secrets
    assert cached_sessions(config) == 0


# -- ALPN (RFC 7301) -------------------------------------------------------------------------------


def test_client_alpn_with_bearssl_server(peers: Peers, bearssl_bin: Path) -> None:
    server, port = bearssl_server(peers, bearssl_bin, "--alpn", "h2", "--alpn", "http/1.1")
    with dial(port, client_config(peers, alpn_protocols=("http/1.1", "h2"))) as tls:
        assert tls.handshake_info is not None
        assert tls.handshake_info.alpn_protocol == "h2"  # the server's preference
        echo(tls, b"alpn")
    assert ok(server_records(server)[0])["alpn"] == "h2"


def test_bearssl_client_alpn_with_server(peers: Peers, bearssl_bin: Path) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"), alpn_protocols=("http/1.1", "h2")
    )
    ours = peers.our_server(config)
    (record,) = bearssl_client(peers, bearssl_bin, ours.port, "--alpn", "h2", "--alpn", "http/1.1")
    assert ok(record)["alpn"] == "http/1.1"
    assert served_ok(ours).info.alpn_protocol == "http/1.1"


def test_client_alpn_mismatch_tolerated_by_bearssl_server(peers: Peers, bearssl_bin: Path) -> None:
    """By default BearSSL's server answers a mismatch with no ALPN and carries on."""
    server, port = bearssl_server(peers, bearssl_bin, "--alpn", "http/1.1")
    with dial(port, client_config(peers, alpn_protocols=("h2",))) as tls:
        assert tls.handshake_info is not None
        assert tls.handshake_info.alpn_protocol is None
        echo(tls, b"no alpn")
    assert ok(server_records(server)[0])["alpn"] is None


def test_client_alpn_mismatch_refused_by_strict_bearssl_server(
    peers: Peers, bearssl_bin: Path
) -> None:
    server, port = bearssl_server(peers, bearssl_bin, "--alpn", "http/1.1", "--alpn-strict")
    with pytest.raises(AlertReceived) as raised:
        dial(port, client_config(peers, alpn_protocols=("h2",)))
    assert raised.value.description == AlertDescription.NO_APPLICATION_PROTOCOL
    (record,) = server_records(server)
    failed(record, received_alert=None, sent_alert=NO_APPLICATION_PROTOCOL)


def test_server_refuses_bearssl_client_alpn_mismatch(peers: Peers, bearssl_bin: Path) -> None:
    """RFC 7301 §3.2: no protocol in common -> no_application_protocol."""
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"), alpn_protocols=("http/1.1",)
    )
    ours = peers.our_server(config)
    (record,) = bearssl_client(peers, bearssl_bin, ours.port, "--alpn", "h2")
    failed(record, received_alert=NO_APPLICATION_PROTOCOL, sent_alert=None)
    assert isinstance(ours.next_connection().error, NoApplicationProtocol)


# -- SNI (RFC 6066 §3) ---------------------------------------------------------------------------


def test_client_sni_to_bearssl_server(peers: Peers, bearssl_bin: Path) -> None:
    server, port = bearssl_server(peers, bearssl_bin)
    with dial(port, client_config(peers)) as tls:
        assert tls.handshake_info is not None
        assert tls.handshake_info.server_name == "localhost"
        echo(tls, b"sni")
    assert ok(server_records(server)[0])["server_name"] == "localhost"


def test_client_sends_no_sni_for_an_ip_to_bearssl_server(peers: Peers, bearssl_bin: Path) -> None:
    """RFC 6066 §3: no literal IP addresses in server_name; BearSSL sees none."""
    server, port = bearssl_server(peers, bearssl_bin)
    with connect(
        "127.0.0.1", port, config=client_config(peers), server_hostname="127.0.0.1", timeout=TIMEOUT
    ) as tls:
        echo(tls, b"by address")  # verified against the certificate's IP SAN
    assert ok(server_records(server)[0])["server_name"] is None


def virtual_hosts(peers: Peers) -> ServerConfig:
    """Our server: ``other.example`` gets the other-host certificate, any other name the
    default (localhost) one."""
    other = ServerConfig(certificates=server_certificates(peers, "other-host"))

    def by_name(name: str | None) -> ServerConfig | None:
        return other if name == "other.example" else None

    return ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"), server_name_callback=by_name
    )


@pytest.mark.parametrize(("name", "leaf"), [("other.example", "other-host"), ("", "ecdsa-p256")])
def test_bearssl_client_sni_with_server(
    peers: Peers, bearssl_bin: Path, name: str, leaf: str
) -> None:
    """BearSSL sends the name it verifies the certificate for; we pick the certificate by it
    (none: the default one, which BearSSL then checks against no name)."""
    ours = peers.our_server(virtual_hosts(peers))
    (record,) = bearssl_client(peers, bearssl_bin, ours.port, "--server-name", name)
    assert ok(record)["peer_cert_sha256"] == sha256(peers, leaf)
    assert record["server_name"] == (name or None)
    assert served_ok(ours).info.server_name == (name or None)


def test_bearssl_client_checks_the_name_of_our_certificate(peers: Peers, bearssl_bin: Path) -> None:
    """BearSSL asks for other.example and gets the localhost certificate: it refuses it, and
    like every X.509 failure in BearSSL 0.6, without an alert (it just stops: the engine's
    failure state does no more I/O)."""
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "ecdsa-p256")))
    (record,) = bearssl_client(peers, bearssl_bin, ours.port, "--server-name", "other.example")
    assert record["x509_error"] == ERR_X509_BAD_SERVER_NAME, record
    assert record["bearssl_error"] == ERR_X509_BAD_SERVER_NAME
    failed(record, received_alert=None, sent_alert=None)
    error = ours.next_connection().error
    assert isinstance(error, TLSError) and "closed by peer during handshake" in str(error), error


# -- client certificates -------------------------------------------------------------------------


@pytest.mark.parametrize("leaf", ["rsa-2048", "ecdsa-p256"])
def test_client_certificate_to_bearssl_server(peers: Peers, bearssl_bin: Path, leaf: str) -> None:
    server, port = bearssl_server(peers, bearssl_bin, "--client-auth", "required")
    issued = peers.pki.leaves[leaf]
    certificates = (CertifiedKey.load(issued.chain_path, issued.key_path),)
    with dial(port, client_config(peers, certificates=certificates)) as tls:
        echo(tls, b"with a certificate")
    (record,) = server_records(server)
    assert ok(record)["peer_cert_sha256"] == sha256(peers, leaf)
    assert received(record) == b"with a certificate"


def test_client_without_certificate_to_bearssl_server(peers: Peers, bearssl_bin: Path) -> None:
    """BearSSL requires a certificate (BR_ERR_NO_CLIENT_AUTH) and closes without an alert."""
    server, port = bearssl_server(peers, bearssl_bin, "--client-auth", "required")
    with pytest.raises(TLSError, match="closed by peer during handshake"):
        dial(port, client_config(peers))
    (record,) = server_records(server)
    assert record["bearssl_error"] == ERR_NO_CLIENT_AUTH, record
    failed(record, received_alert=None, sent_alert=None)


def test_client_without_certificate_tolerated_by_bearssl_server(
    peers: Peers, bearssl_bin: Path
) -> None:
    server, port = bearssl_server(peers, bearssl_bin, "--client-auth", "optional")
    with dial(port, client_config(peers)) as tls:
        echo(tls, b"anonymous")
    assert ok(server_records(server)[0])["peer_cert_sha256"] is None


@pytest.mark.parametrize("leaf", ["rsa-2048", "ecdsa-p256"])
def test_server_verifies_bearssl_client_certificate(
    peers: Peers, bearssl_bin: Path, leaf: str
) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"),
        client_auth="required",
        client_cafile=str(peers.pki.ca_path),
    )
    ours = peers.our_server(config)
    (record,) = bearssl_client(peers, bearssl_bin, ours.port, leaf=leaf)
    assert received(ok(record)) == b"hello"
    served = served_ok(ours)
    assert served.info.peer_certificates[:1] == (peers.pki.leaves[leaf].cert,)


def test_server_refuses_bearssl_client_without_certificate(peers: Peers, bearssl_bin: Path) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"),
        client_auth="required",
        client_cafile=str(peers.pki.ca_path),
    )
    ours = peers.our_server(config)
    (record,) = bearssl_client(peers, bearssl_bin, ours.port)
    error = ours.next_connection().error
    assert error is not None
    failed(record, received_alert=alert_of(error), sent_alert=None)
    assert alert_of(error) == HANDSHAKE_FAILURE  # RFC 5246 §7.4.6


# -- renegotiation refused (RFC 5246 §7.4.1, RFC 5746); BearSSL takes no for an answer badly ----


def test_client_refuses_renegotiation_from_bearssl_server(peers: Peers, bearssl_bin: Path) -> None:
    """BearSSL sends a HelloRequest after the first echo; we answer with a no_renegotiation
    warning (RFC 5246 §7.4.1.1, §7.2.2), which BearSSL 0.6 treats as a fatal alert
    (ssl_hs_common.t0, process-alert-byte): it drops the connection without a word."""
    server, port = bearssl_server(peers, bearssl_bin, "--renegotiate", leaf="rsa-2048")
    events: list[Event] = []
    config = client_config(peers, trace_handshake=True)
    with dial(port, config, on_event=events.append) as tls:
        echo(tls, b"before")
        assert tls.recv() == b""  # the HelloRequest, our warning, then TCP EOF
        assert tls.clean_close is False
    traced = [e.name for e in events if isinstance(e, HandshakeMessageTraced)]
    assert traced[-1] == "hello_request"
    (record,) = server_records(server)
    assert record["renegotiate"] == 1  # the HelloRequest went out
    assert record["bearssl_error"] == RECV_FATAL_ALERT + int(AlertDescription.NO_RENEGOTIATION)
    failed(record, received_alert=int(AlertDescription.NO_RENEGOTIATION), sent_alert=None)
    assert received(record) == b"before"


def test_server_refuses_renegotiation_from_bearssl_client(peers: Peers, bearssl_bin: Path) -> None:
    """BearSSL sends a new ClientHello after the echo; our server answers with a
    no_renegotiation warning and goes on (no error on our side), but BearSSL gives up."""
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "ecdsa-p256")))
    (record,) = bearssl_client(peers, bearssl_bin, ours.port, "--renegotiate")
    assert record["renegotiate"] == 1  # the ClientHello went out
    failed(record, received_alert=int(AlertDescription.NO_RENEGOTIATION), sent_alert=None)
    assert received(record) == b"hello"
    served = ours.next_connection()
    assert served.error is None, served.error  # a refusal, not a failure
    assert (served.received, served.clean_close) == (b"hello", False)


# -- large transfers and closing --------------------------------------------------------------


def test_client_megabyte_with_bearssl_server(peers: Peers, bearssl_bin: Path) -> None:
    server, port = bearssl_server(peers, bearssl_bin, "--suites", ECDSA_SUITES[1])
    with dial(port, client_config(peers)) as tls:
        echo(tls, MEGABYTE)
    assert tls.clean_close is True
    (record,) = server_records(server)
    assert received_digest(ok(record)) == digest(MEGABYTE)
    assert record["clean_close"] is True


def test_bearssl_client_megabyte_with_server(peers: Peers, bearssl_bin: Path) -> None:
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "rsa-2048")))
    options = ["--message", "0123456789abcdef", "--repeat", str(65536)]  # 1 MiB
    (record,) = bearssl_client(peers, bearssl_bin, ours.port, *options)
    assert received_digest(ok(record)) == digest(b"0123456789abcdef" * 65536)
    assert record["clean_close"] is True
    served_ok(ours, b"0123456789abcdef" * 65536)


def test_bearssl_server_sees_truncation(peers: Peers, bearssl_bin: Path) -> None:
    """Our client drops TCP without close_notify: BearSSL reports an I/O error, not a close."""
    server, port = bearssl_server(peers, bearssl_bin)
    tls = dial(port, client_config(peers))
    echo(tls, b"then gone")
    tls.socket.shutdown(socket.SHUT_RDWR)
    tls.socket.close()
    (record,) = server_records(server)
    assert (record["bearssl_error"], record["received_alert"]) == (ERR_IO, None), record
    assert received(record) == b"then gone"
    assert "clean_close" not in record


def test_server_sees_bearssl_close_notify(peers: Peers, bearssl_bin: Path) -> None:
    """BearSSL's br_sslio_close sends close_notify and waits for ours (RFC 5246 §7.2.1)."""
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "ecdsa-p256")))
    (record,) = bearssl_client(peers, bearssl_bin, ours.port)
    assert ok(record)["clean_close"] is True
    assert served_ok(ours).clean_close is True
