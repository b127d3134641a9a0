"""Interop with Go's crypto/tls (Go 1.19, Debian golang-go), both directions, over 127.0.0.1.

crypto/tls runs as ``go_peer/main.go``, built once per session into a temporary directory
(``go_peer.py``), which prints one JSON record per connection: the version, cipher suite,
DidResume, ALPN protocol, SNI name, the peer's certificate, 32 bytes of exported keying material
(RFC 5705, RFC 8446 §7.5), the bytes it received and whether the close was clean. Each test
checks both ends' view of the same connection; equal exporters show that both sides derived
the same key schedule (and so the same (EC)DHE secret and transcript). In TLS 1.2 we export
nothing: crypto/tls 1.19 has no extended master secret (RFC 7627 §5.4).

What crypto/tls 1.19 does not do, and so is not tested:

* it reports no negotiated group (``ConnectionState.CurveID`` came in Go 1.25): each Go server
  allows exactly one group (``CurvePreferences``), so a completed handshake shows which;
* no extended master secret (RFC 7627, Go 1.21), so TLS 1.2 sessions are never resumed with it:
  tlsmachine refuses to resume sessions without EMS (RFC 7627 §5.3) and falls back to a full
  handshake; the tests check that fallback;
* no session-ID cache on the server (tickets only), no KeyUpdate of its own (it answers ours),
  no TLS 1.3 cipher suite configuration (its server prefers AES-GCM: our client offers the one
  suite under test, our server chooses from the Go client's three);
* a Go server missing a required client certificate sends bad_certificate in TLS 1.3 too
  (crypto/tls 1.19 ``processCertsFromClient``; RFC 8446 §4.4.2.4 says certificate_required);
* its client computes the binder of a second ClientHello without the HelloRetryRequest
  (golang/go#59424, Go 1.19.6+): resuming through a HelloRetryRequest fails, and the test
  checks that we refuse that binder with decrypt_error.

No tlsmachine bugs are open here. Found with these tests, and fixed:

* our client listed psk_key_exchange_modes only in a ClientHello offering a PSK, so crypto/tls
  (RFC 8446 §4.2.9: no NewSessionTicket without the modes) never gave it a TLS 1.3 ticket;
* ``ClientConfig(key_share_groups=())`` refused every HelloRetryRequest ("server selected
  version 0x0304, which was not offered").
"""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path
from typing import Any

import pytest
from go_peer import (
    EXPORTER_LABEL,
    build_go_peer,
    exporting_server,
    go_client,
    go_server,
    ok,
    received,
)
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
    client_config,
    dial,
    read_exactly,
    server_certificates,
    server_records,
)
from peers import json_records as records

from tlsmachine import (
    AlertReceived,
    Event,
    InMemoryClientSessionStore,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.enums import AlertDescription
from tlsmachine.errors import (
    CertificateRequired,
    DecryptError,
    HandshakeFailure,
    NoApplicationProtocol,
    ProtocolError,
    ProtocolVersionError,
    UsageError,
)
from tlsmachine.sockets import TLSSocket, connect

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

SUBJECT = "CN=localhost,O=tlsmachine tests"
"""How Go prints the subject of every test-PKI leaf (pki.py)."""

GROUPS = ["x25519", "secp256r1", "secp384r1", "secp521r1"]
CASES13 = rotated_cases13(GROUPS)  # the four certificates take turns (each three times)
CASES12 = ECDHE_CASES12
MIB = 1 << 20


@pytest.fixture(scope="session")
def gopeer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The peer program, built once per session (a missing ``go`` fails the tests)."""
    return build_go_peer(tmp_path_factory.mktemp("go-peer"))


def exporter(tls: TLSSocket, context: bytes | None = None) -> str | None:
    """Our keying material (hex), or ``None`` in TLS 1.2: crypto/tls 1.19 has no extended
    master secret, and without it we MUST NOT export (RFC 7627 §5.4; Go 1.19 still does)."""
    if tls.version() == "TLSv1.2":
        with pytest.raises(UsageError, match="RFC 7627"):
            tls.export_keying_material(EXPORTER_LABEL, 32, context)
        return None
    return tls.export_keying_material(EXPORTER_LABEL, 32, context).hex()


def check_exporter(theirs: object, ours: str | None) -> None:
    """Equal keying material: both ends derived the same secrets. In TLS 1.2 ours was refused
    (``None``, see :func:`exporter`) and crypto/tls exported all the same."""
    if ours is None:
        assert isinstance(theirs, str) and len(theirs) == 64, theirs
    else:
        assert theirs == ours


def go_served(peers: Peers, context: bytes | None = None, **settings: Any) -> OurServer:
    """Our echo server with the ECDSA P-256 certificate unless ``certificates`` are given; it
    exports with ``context`` (default: none)."""
    settings.setdefault("certificates", server_certificates(peers, "ecdsa-p256"))
    return exporting_server(peers, ServerConfig(**settings), context)


# -- TLS 1.3 full handshakes ---------------------------------------------------------------------


@pytest.mark.parametrize(("leaf", "group", "suite"), CASES13, ids=map(case_id, CASES13))
def test_client_tls13_with_go_server(
    peers: Peers, gopeer: Path, leaf: str, group: str, suite: str
) -> None:
    server, port = go_server(peers, gopeer, "-curves", group, leaf=leaf)
    config = client_config(peers, cipher_suites=(suite,), key_share_groups=(group,))
    message = b"hello crypto/tls, " * 1000  # two records each way
    with dial(port, config) as tls:
        info = check_handshake(peers, tls, leaf, "TLSv1.3", suite, group)
        assert (info.hello_retry, info.resumed) == (False, False)
        tls.sendall(message)
        assert read_exactly(tls, len(message)) == message
        ours = exporter(tls)
    assert tls.clean_close is True  # Go answered our close_notify
    (record,) = server_records(server)
    ok(record)
    assert (record["version"], record["cipher_suite"]) == ("TLSv1.3", suite)
    assert (record["server_name"], record["did_resume"]) == ("localhost", False)
    check_exporter(record["exporter"], ours)
    assert record["received_len"] == len(message)
    assert record["received_sha256"] == hashlib.sha256(message).hexdigest()
    assert record["clean_close"] is True


@pytest.mark.parametrize(("leaf", "group", "suite"), CASES13, ids=map(case_id, CASES13))
def test_go_client_tls13_with_server(
    peers: Peers, gopeer: Path, leaf: str, group: str, suite: str
) -> None:
    # the Go client sends one key share, for the first of its CurvePreferences
    ours = go_served(peers, certificates=server_certificates(peers, leaf), cipher_suites=(suite,))
    options = ["-min", "1.3", "-curves", group, "-message", "x" * 20000, "-no-cache"]
    (record,) = go_client(peers, gopeer, ours.port, *options)
    ok(record)
    assert (record["version"], record["cipher_suite"]) == ("TLSv1.3", suite)
    assert (record["peer_subject"], record["peer_cert_sha256"]) == (
        SUBJECT,
        cert_sha256(peers, leaf),
    )
    assert received(record) == b"x" * 20000
    assert record["clean_close"] is True  # our close_notify answered Go's
    served = ours.next_exported()
    assert served.info is not None
    assert (served.info.version, served.info.cipher_suite) == ("TLSv1.3", suite)
    assert (served.info.group, served.info.hello_retry) == (group, False)
    check_scheme(leaf, served.info.signature_scheme)
    assert served.info.server_name == "localhost"
    check_exporter(record["exporter"], served.exporter)
    assert served.received == b"x" * 20000
    assert served.clean_close is True


# -- TLS 1.2 full handshakes (RFC 5246, RFC 8422, RFC 5288, RFC 7905) -----------------------------


@pytest.mark.parametrize(("leaf", "group", "suite"), CASES12, ids=map(case_id, CASES12))
def test_client_tls12_with_go_server(
    peers: Peers, gopeer: Path, leaf: str, group: str, suite: str
) -> None:
    """Our default client (offering TLS 1.3 too) and a Go server limited to TLS 1.2: a Go
    server whose maximum is 1.2 sets no downgrade sentinel (RFC 8446 §4.1.3)."""
    options = ["-max", "1.2", "-ciphers", suite, "-curves", group]
    server, port = go_server(peers, gopeer, *options, leaf=leaf)
    with dial(port, client_config(peers)) as tls:
        check_handshake(peers, tls, leaf, "TLSv1.2", suite, group)
        tls.sendall(b"hello over TLS 1.2")
        assert read_exactly(tls, 18) == b"hello over TLS 1.2"
        ours = exporter(tls)
    assert tls.clean_close is True
    (record,) = server_records(server)
    ok(record)
    assert (record["version"], record["cipher_suite"]) == ("TLSv1.2", suite)
    check_exporter(record["exporter"], ours)  # RFC 5705: refused without EMS (ours)
    assert received(record) == b"hello over TLS 1.2"
    assert record["clean_close"] is True


@pytest.mark.parametrize(("leaf", "group", "suite"), CASES12, ids=map(case_id, CASES12))
def test_go_client_tls12_with_server(
    peers: Peers, gopeer: Path, leaf: str, group: str, suite: str
) -> None:
    """A Go client limited to TLS 1.2 and our TLS 1.3-capable server (which marks its
    ServerHello.random with the downgrade sentinel; a 1.2-only client ignores it)."""
    ours = go_served(peers, certificates=server_certificates(peers, leaf), groups=(group,))
    options = ["-max", "1.2", "-ciphers", suite, "-message", "twelve", "-no-cache"]
    (record,) = go_client(peers, gopeer, ours.port, *options)
    ok(record)
    assert (record["version"], record["cipher_suite"]) == ("TLSv1.2", suite)
    assert record["peer_cert_sha256"] == cert_sha256(peers, leaf)
    assert received(record) == b"twelve"
    assert record["clean_close"] is True
    served = ours.next_exported()
    assert served.info is not None
    assert (served.info.version, served.info.cipher_suite) == ("TLSv1.2", suite)
    assert served.info.group == group
    check_scheme(leaf, served.info.signature_scheme, "TLSv1.2")
    check_exporter(record["exporter"], served.exporter)
    assert served.received == b"twelve"


# -- resumption ----------------------------------------------------------------------------------


def test_client_resumes_tls13_with_go_server(peers: Peers, gopeer: Path) -> None:
    """Our first ClientHello lists psk_key_exchange_modes, so crypto/tls (which honours RFC 8446
    §4.2.9) sends a ticket; we resume with it (psk_dhe_ke: a fresh x25519 exchange, no
    signature, the certificate kept from the first handshake)."""
    server, port = go_server(peers, gopeer, "-n", "2")
    store = InMemoryClientSessionStore()
    config = client_config(peers, session_store=store)
    infos, exporters = [], []
    for message in (b"full handshake", b"resumed"):
        with dial(port, config) as tls:
            tls.sendall(message)
            assert read_exactly(tls, len(message)) == message  # the ticket came before it
            infos.append(tls.handshake_info)
            exporters.append(exporter(tls))
        assert tls.clean_close is True
        assert tls.session is not None
    assert len(store) >= 1
    first, second = (ok(r) for r in server_records(server, 2))
    assert (first["did_resume"], second["did_resume"]) == (False, True)
    assert [r["exporter"] for r in (first, second)] == exporters
    assert [(i.resumed, i.psk_identity) for i in infos if i] == [(False, None), (True, None)]
    assert infos[1] is not None
    assert (infos[1].group, infos[1].signature_scheme) == ("x25519", None)  # psk_dhe_ke
    assert infos[1].peer_certificates[0] == peers.pki.leaves["ecdsa-p256"].cert


def test_client_resumes_through_a_hello_retry_with_go_server(peers: Peers, gopeer: Path) -> None:
    """Our second ClientHello's binder covers message_hash(CH1) and the HelloRetryRequest
    (RFC 8446 §4.2.11.2): Go checks it."""
    server, port = go_server(peers, gopeer, "-n", "2", "-curves", "secp256r1")
    config = client_config(
        peers, session_store=InMemoryClientSessionStore(), key_share_groups=("x25519",)
    )
    infos = dial_echoing(port, config, b"retry", 2)
    assert [(i.hello_retry, i.resumed, i.group) for i in infos if i] == [
        (True, False, "secp256r1"),
        (True, True, "secp256r1"),
    ]
    assert [ok(r)["did_resume"] for r in server_records(server, 2)] == [False, True]


def test_go_client_resumes_tls13_with_server(peers: Peers, gopeer: Path) -> None:
    ours = go_served(peers)
    results = [ok(r) for r in go_client(peers, gopeer, ours.port, "-n", "3", "-min", "1.3")]
    assert [r["did_resume"] for r in results] == [False, True, True]  # ClientSessionCache
    assert all(r["peer_subject"] == SUBJECT for r in results)  # kept from the first handshake
    served = [ours.next_exported() for _ in range(3)]
    assert [s.info.resumed for s in served if s.info] == [False, True, True]
    assert [s.info.group for s in served if s.info] == ["x25519"] * 3  # psk_dhe_ke
    assert [s.info.signature_scheme for s in served if s.info][1:] == [None, None]
    assert [s.exporter for s in served] == [r["exporter"] for r in results]
    assert len({r["exporter"] for r in results}) == 3  # fresh secrets each time
    assert [s.received for s in served] == [b"hello"] * 3


def test_go_client_keeps_its_certificate_across_resumption(peers: Peers, gopeer: Path) -> None:
    """A resumed handshake has no Certificate: our server reports the session's client chain,
    and accepts the ticket only because it holds one (client_auth="required")."""
    ours = go_served(peers, client_auth="required", client_cafile=str(peers.pki.ca_path))
    options = ["-n", "2", "-min", "1.3"]
    results = go_client(peers, gopeer, ours.port, *options, leaf="ed25519")
    assert [ok(r)["did_resume"] for r in results] == [False, True]
    served = [ours.next_exported() for _ in range(2)]
    assert [s.info.resumed for s in served if s.info] == [False, True]
    leaf = peers.pki.leaves["ed25519"].cert
    assert [s.info.peer_certificates[0] for s in served if s.info] == [leaf, leaf]


@pytest.mark.parametrize("tickets", ["tickets", "no-tickets"])
def test_client_tls12_without_ems_is_not_resumed_with_go_server(
    peers: Peers, gopeer: Path, tickets: str
) -> None:
    """crypto/tls 1.19 has no extended master secret: we keep no such session (RFC 7627 §5.3),
    so the second connection is a full handshake again, whatever the server offers."""
    options = ["-max", "1.2", "-n", "2", *(["-no-tickets"] if tickets == "no-tickets" else [])]
    server, port = go_server(peers, gopeer, *options)
    store = InMemoryClientSessionStore()
    config = client_config(peers, session_store=store)
    infos = dial_echoing(port, config, b"twelve", 2)
    assert [i.resumed for i in infos if i] == [False, False]
    assert [ok(r)["did_resume"] for r in server_records(server, 2)] == [False, False]


def test_go_client_tls12_without_ems_is_not_resumed_by_server(peers: Peers, gopeer: Path) -> None:
    """The Go client offers its TLS 1.2 ticket (without EMS) again; our server must not resume
    that session (RFC 7627 §5.3) but complete a full handshake."""
    ours = go_served(peers, session_tickets=2)
    results = [ok(r) for r in go_client(peers, gopeer, ours.port, "-max", "1.2", "-n", "2")]
    assert [r["did_resume"] for r in results] == [False, False]
    assert [r["received"] for r in results] == [b"hello".hex()] * 2
    served = [ours.next_exported() for _ in range(2)]
    assert [s.info.resumed for s in served if s.info] == [False, False]
    for s, r in zip(served, results, strict=True):
        check_exporter(r["exporter"], s.exporter)  # ours refused: no EMS (RFC 7627 §5.4)


# -- HelloRetryRequest (RFC 8446 §4.1.4) -------------------------------------------------------


@pytest.mark.parametrize(
    ("shares", "group"),
    [
        (("x25519",), "secp256r1"),
        ((), "secp384r1"),
        (None, "secp521r1"),
    ],
    ids=["x25519-share", "no-share", "default-shares"],
)
def test_client_hello_retry_with_go_server(
    peers: Peers, gopeer: Path, shares: tuple[str, ...] | None, group: str
) -> None:
    """Our shares are not for the one group the Go server takes: it asks for another."""
    server, port = go_server(peers, gopeer, "-curves", group, "-alpn", "http/1.1")
    config = client_config(peers, key_share_groups=shares, alpn_protocols=("h2", "http/1.1"))
    with dial(port, config) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.hello_retry, info.group) == (True, group)
        assert info.alpn_protocol == "http/1.1"
        tls.sendall(b"after retry")
        assert read_exactly(tls, 11) == b"after retry"
        ours = exporter(tls)
    (record,) = server_records(server)
    assert (ok(record)["alpn"], record["exporter"]) == ("http/1.1", ours)  # message_hash


@pytest.mark.parametrize("cookie", [False, True], ids=["plain", "cookie"])
def test_server_hello_retry_with_go_client(peers: Peers, gopeer: Path, cookie: bool) -> None:
    """The Go client's one share is for x25519; our server insists on P-256 (and may send a
    cookie that the second ClientHello must echo, RFC 8446 §4.2.2)."""
    ours = go_served(
        peers,
        groups=("secp256r1", "x25519"),
        strict_group_preference=True,
        hello_retry_cookie=(lambda digest: b"go cookie " + digest) if cookie else None,
    )
    options = ["-curves", "x25519,secp256r1", "-no-cache"]
    (record,) = go_client(peers, gopeer, ours.port, *options)
    ok(record)
    served = ours.next_exported()
    assert served.info is not None
    assert (served.info.hello_retry, served.info.group) == (True, "secp256r1")
    check_exporter(record["exporter"], served.exporter)
    assert served.received == b"hello"


def test_go_client_resumption_through_a_hello_retry_has_a_bad_binder(
    peers: Peers, gopeer: Path
) -> None:
    """crypto/tls 1.19.6+ computes the binder of its second ClientHello without the
    HelloRetryRequest (golang/go#59424: it hashes the HRR into its main transcript instead), so
    the binder is wrong (RFC 8446 §4.2.11.2) and we must abort with decrypt_error (§4.2.11)."""
    ours = go_served(peers, groups=("secp384r1", "x25519"), strict_group_preference=True)
    options = ["-n", "2", "-curves", "x25519,secp384r1"]
    first, second = go_client(peers, gopeer, ours.port, *options)
    assert ok(first)["did_resume"] is False
    assert (second["stage"], second["error"]) == (
        "handshake",
        "remote error: tls: error decrypting message",
    )
    served = ours.next_exported()
    assert served.info is not None
    assert (served.info.hello_retry, served.info.group) == (True, "secp384r1")
    assert isinstance(ours.next_connection().error, DecryptError)


# -- ALPN (RFC 7301) -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_client_alpn_with_go_server(peers: Peers, gopeer: Path, version: str) -> None:
    server, port = go_server(peers, gopeer, "-alpn", "h2,http/1.1", "-max", version)
    config = client_config(peers, alpn_protocols=("http/1.1", "h2"))
    with dial(port, config) as tls:
        assert tls.selected_alpn_protocol() == "h2"  # the server's preference
        tls.sendall(b"alpn")
        assert read_exactly(tls, 4) == b"alpn"
    (record,) = server_records(server)
    assert ok(record)["alpn"] == "h2"


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_go_client_alpn_with_server(peers: Peers, gopeer: Path, version: str) -> None:
    ours = go_served(peers, alpn_protocols=("h2", "http/1.1"))
    options = ["-alpn", "http/1.1,h2", "-max", version, "-no-cache"]
    (record,) = go_client(peers, gopeer, ours.port, *options)
    assert ok(record)["alpn"] == "h2"
    served = ours.next_exported()
    assert served.info is not None
    assert served.info.alpn_protocol == "h2"


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_client_alpn_mismatch_with_go_server(peers: Peers, gopeer: Path, version: str) -> None:
    server, port = go_server(peers, gopeer, "-alpn", "http/1.1", "-max", version)
    with pytest.raises(AlertReceived) as caught:
        dial(port, client_config(peers, alpn_protocols=("h2",)))
    assert caught.value.description == AlertDescription.NO_APPLICATION_PROTOCOL  # RFC 7301 §3.2
    (record,) = server_records(server)
    assert record["stage"] == "handshake"
    assert "unsupported application protocols" in record["error"]


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_server_alpn_mismatch_with_go_client(peers: Peers, gopeer: Path, version: str) -> None:
    ours = go_served(peers, alpn_protocols=("h2",))
    options = ["-alpn", "http/1.1", "-max", version, "-no-cache"]
    (record,) = go_client(peers, gopeer, ours.port, *options)
    assert record["stage"] == "handshake"
    assert record["error"] == "remote error: tls: no application protocol"
    assert isinstance(ours.next_connection().error, NoApplicationProtocol)


# -- client certificates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "leaf"),
    [
        ("1.3", "rsa-2048"),
        ("1.3", "ed25519"),
        ("1.3", "ecdsa-p384"),
        ("1.2", "ecdsa-p256"),
        ("1.2", "ed25519"),
        ("1.2", "rsa-2048"),
    ],
)
def test_client_certificate_to_go_server(
    peers: Peers, gopeer: Path, version: str, leaf: str
) -> None:
    options = ["-client-auth", "require-and-verify", "-max", version]
    server, port = go_server(peers, gopeer, *options)
    config = client_config(peers, certificates=server_certificates(peers, leaf))
    with dial(port, config) as tls:
        assert tls.version() == f"TLSv{version}"
        tls.sendall(b"it is me")
        assert read_exactly(tls, 8) == b"it is me"
    (record,) = server_records(server)
    ok(record)  # Go verified our chain and our CertificateVerify
    assert (record["peer_subject"], record["peer_cert_sha256"]) == (
        SUBJECT,
        cert_sha256(peers, leaf),
    )


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_client_without_certificate_refused_by_go_server(
    peers: Peers, gopeer: Path, version: str
) -> None:
    """crypto/tls 1.19 answers a missing certificate with bad_certificate in both versions. In
    TLS 1.3 our handshake completes first (the client's Finished is its last word, RFC 8446
    §2), so the alert arrives on the first read."""
    options = ["-client-auth", "require-and-verify", "-max", version]
    server, port = go_server(peers, gopeer, *options)
    with pytest.raises(AlertReceived) as caught, dial(port, client_config(peers)) as tls:  # noqa: PT012
        tls.sendall(b"anonymous")  # TLS 1.2: the handshake (dial) raises already
        tls.recv()
    assert caught.value.description == AlertDescription.BAD_CERTIFICATE
    (record,) = server_records(server)
    assert (record["stage"], record["error"]) == (
        "handshake",
        "tls: client didn't provide a certificate",
    )


@pytest.mark.parametrize(("version", "leaf"), [("1.3", "ecdsa-p384"), ("1.2", "rsa-2048")])
def test_go_client_certificate_to_server(
    peers: Peers, gopeer: Path, version: str, leaf: str
) -> None:
    ours = go_served(peers, client_auth="required", client_cafile=str(peers.pki.ca_path))
    options = ["-max", version, "-no-cache"]
    (record,) = go_client(peers, gopeer, ours.port, *options, leaf=leaf)
    ok(record)
    served = ours.next_exported()
    assert served.info is not None
    assert served.info.peer_certificates[0] == peers.pki.leaves[leaf].cert
    check_exporter(record["exporter"], served.exporter)
    assert served.received == b"hello"


@pytest.mark.parametrize(
    ("version", "error"),
    [
        ("1.3", CertificateRequired),  # RFC 8446 §4.4.2.4
        ("1.2", HandshakeFailure),  # RFC 5246 §7.4.6
    ],
)
def test_server_requires_a_certificate_from_go_client(
    peers: Peers, gopeer: Path, version: str, error: type[ProtocolError]
) -> None:
    ours = go_served(peers, client_auth="required", client_cafile=str(peers.pki.ca_path))
    (record,) = go_client(peers, gopeer, ours.port, "-max", version, "-no-cache")
    alert = {CertificateRequired: "certificate required", HandshakeFailure: "handshake failure"}
    assert record["error"] == f"remote error: tls: {alert[error]}", record
    # TLS 1.3: the Go client's handshake ends with its Finished; the alert comes on a read
    assert record["stage"] == ("read" if version == "1.3" else "handshake")
    assert type(ours.next_connection().error) is error


@pytest.mark.parametrize(
    ("ca_names", "alert"),
    [(True, "certificate required"), (False, "unknown certificate authority")],
    ids=["ca-names", "no-ca-names"],
)
def test_server_refuses_untrusted_go_client_certificate(
    peers: Peers, gopeer: Path, ca_names: bool, alert: str
) -> None:
    """Go sends a certificate only if its issuer is among the CertificateRequest's
    certificate_authorities (RFC 8446 §4.2.4), else none (and we ask for one, §4.4.2.4);
    without names it sends the untrusted one, which we refuse as from an unknown CA."""
    ours = go_served(
        peers,
        client_auth="required",
        client_cafile=str(peers.pki.ca_path),
        client_ca_names=ca_names,
    )
    (record,) = go_client(peers, gopeer, ours.port, "-no-cache", leaf="untrusted")
    assert record["error"] == f"remote error: tls: {alert}", record
    error = ours.next_connection().error
    assert isinstance(error, ProtocolError)
    expected = AlertDescription.CERTIFICATE_REQUIRED if ca_names else AlertDescription.UNKNOWN_CA
    assert error.alert == expected


# -- KeyUpdate (RFC 8446 §4.6.3) -------------------------------------------------------------------


@pytest.mark.parametrize("request_peer", [True, False], ids=["update-requested", "not-requested"])
def test_client_key_update_with_go_server(peers: Peers, gopeer: Path, request_peer: bool) -> None:
    server, port = go_server(peers, gopeer)
    events: list[Event] = []
    sent = b""
    with dial(port, client_config(peers), on_event=events.append) as tls:
        for i in range(3):  # three rounds: Go must follow each of our key changes
            tls.key_update(request_peer=request_peer)
            message = b"after key update %d" % i
            tls.sendall(message)
            assert read_exactly(tls, len(message)) == message  # under Go's new keys if asked
            sent += message
        ours = exporter(tls)
    expected = ["send", "receive"] * 3 if request_peer else ["send"] * 3
    assert key_updates(events) == expected
    assert tls.clean_close is True
    (record,) = server_records(server)
    assert received(ok(record)) == sent
    check_exporter(record["exporter"], ours)  # the exporter does not change with the keys


def serve_one(peers: Peers, gopeer: Path, *options: str) -> tuple[socket.socket, PeerProcess]:
    """Start a Go client against a listener of ours; returns our accepted socket."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)
        port = listener.getsockname()[1]
        argv = [str(gopeer), "client", "-port", str(port), "-ca", str(peers.pki.ca_path)]
        client = peers.start([*argv, *options], "Go crypto/tls client")
        sock, _ = listener.accept()
    sock.settimeout(TIMEOUT)
    return sock, client


def test_server_key_update_to_go_client(peers: Peers, gopeer: Path) -> None:
    config = ServerConfig(certificates=server_certificates(peers, "ecdsa-p256"))
    sock, client = serve_one(peers, gopeer, "-message", "rekeyed", "-no-cache")
    events: list[Event] = []
    with TLSSocket(sock, ServerConnection(config), on_event=events.append) as tls:
        tls.do_handshake()
        tls.key_update(request_peer=True)
        data = read_exactly(tls, 7)  # Go writes while it reads: its KeyUpdate may come later
        tls.key_update(request_peer=False)
        tls.sendall(data)
        while not tls.peer_closed:
            tls.recv()
    assert client.wait() == 0, client.describe()
    (record,) = records(client)
    assert received(ok(record)) == b"rekeyed"
    assert record["clean_close"] is True
    # Go answered our update_requested (RFC 8446 §4.6.3) before its close_notify
    assert sorted(key_updates(events)) == ["receive", "send", "send"]
    assert key_updates(events)[0] == "send"


# -- versions and downgrade protection (RFC 8446 §4.1.3, §4.2.1) ---------------------------------


def test_tls12_client_accepts_go_servers_downgrade_sentinel(peers: Peers, gopeer: Path) -> None:
    """A Go server supporting TLS 1.3 marks its TLS 1.2 ServerHello.random with DOWNGRD\\x01;
    a client that offered only TLS 1.2 must go on."""
    server, port = go_server(peers, gopeer)
    with dial(port, client_config(peers, max_version="TLSv1.2")) as tls:
        assert tls.version() == "TLSv1.2"
        tls.sendall(b"1.2")
        assert read_exactly(tls, 3) == b"1.2"
        ours = exporter(tls)
    (record,) = server_records(server)
    assert ok(record)["version"] == "TLSv1.2"
    check_exporter(record["exporter"], ours)


def test_tls12_server_sets_no_downgrade_sentinel_for_go_client(peers: Peers, gopeer: Path) -> None:
    """The Go client (TLS 1.3 enabled) aborts on a sentinel; our server limited to TLS 1.2 must
    not send one."""
    ours = go_served(peers, max_version="TLSv1.2")
    (record,) = go_client(peers, gopeer, ours.port, "-no-cache")
    assert ok(record)["version"] == "TLSv1.2"
    served = ours.next_exported()
    assert served.info is not None
    assert served.info.version == "TLSv1.2"
    check_exporter(record["exporter"], served.exporter)


def test_tls13_only_client_refused_by_tls12_go_server(peers: Peers, gopeer: Path) -> None:
    server, port = go_server(peers, gopeer, "-max", "1.2")
    with pytest.raises(AlertReceived) as caught:
        dial(port, client_config(peers, min_version="TLSv1.3"))
    assert caught.value.description == AlertDescription.PROTOCOL_VERSION
    (record,) = server_records(server)
    assert "unsupported versions" in record["error"], record


def test_tls13_only_go_client_refused_by_tls12_server(peers: Peers, gopeer: Path) -> None:
    ours = go_served(peers, max_version="TLSv1.2")
    (record,) = go_client(peers, gopeer, ours.port, "-min", "1.3", "-no-cache")
    assert record["error"] == "remote error: tls: protocol version not supported", record
    assert isinstance(ours.next_connection().error, ProtocolVersionError)


def test_tls12_only_client_refused_by_tls13_go_server(peers: Peers, gopeer: Path) -> None:
    server, port = go_server(peers, gopeer, "-min", "1.3")
    with pytest.raises(AlertReceived) as caught:
        dial(port, client_config(peers, max_version="TLSv1.2"))
    assert caught.value.description == AlertDescription.PROTOCOL_VERSION
    (record,) = server_records(server)
    assert "unsupported versions" in record["error"], record


def test_tls12_only_go_client_refused_by_tls13_server(peers: Peers, gopeer: Path) -> None:
    ours = go_served(peers, min_version="TLSv1.3")
    (record,) = go_client(peers, gopeer, ours.port, "-max", "1.2", "-no-cache")
    assert record["error"] == "remote error: tls: protocol version not supported", record
    assert isinstance(ours.next_connection().error, ProtocolVersionError)


# -- certificate chains through an intermediate CA ---------------------------------------------


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_client_verifies_go_servers_chain(chained_peers: Peers, gopeer: Path, version: str) -> None:
    server, port = go_server(chained_peers, gopeer, "-max", version, leaf="rsa-2048")
    with dial(port, client_config(chained_peers)) as tls:  # trusts the root only
        assert tls.handshake_info is not None
        leaf, intermediate = tls.handshake_info.peer_certificates
        assert chained_peers.pki.intermediate is not None
        assert intermediate == chained_peers.pki.intermediate.cert
        assert leaf == chained_peers.pki.leaves["rsa-2048"].cert
        tls.sendall(b"chain")
        assert read_exactly(tls, 5) == b"chain"
    ok(server_records(server)[0])


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_go_client_verifies_servers_chain_and_sends_its_own(
    chained_peers: Peers, gopeer: Path, version: str
) -> None:
    ours = go_served(
        chained_peers,
        certificates=server_certificates(chained_peers, "ecdsa-p256"),
        client_auth="required",
        client_cafile=str(chained_peers.pki.ca_path),
    )
    options = ["-max", version, "-no-cache"]
    (record,) = go_client(chained_peers, gopeer, ours.port, *options, leaf="rsa-2048")
    assert ok(record)["peer_chain_length"] == 2  # Go verified leaf + intermediate to the root
    served = ours.next_exported()
    assert served.info is not None
    assert len(served.info.peer_certificates) == 2
    assert served.info.peer_certificates[0] == chained_peers.pki.leaves["rsa-2048"].cert


# -- large transfers -------------------------------------------------------------------------------


def test_client_large_transfer_with_go_server(peers: Peers, gopeer: Path) -> None:
    server, port = go_server(peers, gopeer)
    payload = bytes(range(251)) * (MIB // 251 + 1)
    payload = payload[:MIB]
    chunk = 65536  # read each chunk's echo before sending more: neither side's buffers fill
    with dial(port, client_config(peers)) as tls:
        echo_chunks(tls, payload, chunk)
    (record,) = server_records(server)
    check_transfer(ok(record), payload)


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_go_client_large_transfer_with_server(peers: Peers, gopeer: Path, version: str) -> None:
    ours = go_served(peers)
    options = ["-message", "0123456789abcdef", "-size", str(MIB), "-max", version, "-no-cache"]
    (record,) = go_client(peers, gopeer, ours.port, *options)  # writes while it reads
    payload = (b"0123456789abcdef" * (MIB // 16))[:MIB]
    check_transfer(ok(record), payload)
    served = ours.next_exported()
    assert served.received == payload
    assert served.clean_close is True


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_client_large_transfer_tls_versions_with_go_server(
    peers: Peers, gopeer: Path, version: str
) -> None:
    """Like the test above, without waiting for each echo: a quarter MiB in flight."""
    server, port = go_server(peers, gopeer, "-max", version)
    payload = bytes(range(256)) * (MIB // 256)
    with dial(port, client_config(peers)) as tls:
        assert tls.version() == f"TLSv{version}"
        echo_chunks(tls, payload, 4 * 65536)
    (record,) = server_records(server)
    assert ok(record)["received_sha256"] == hashlib.sha256(payload).hexdigest()


# -- exporters with a context (RFC 5705 §4, RFC 8446 §7.5) ---------------------------------------


CONTEXTS = [b"", b"channel binding context"]


@pytest.mark.parametrize("context", CONTEXTS, ids=["empty-context", "context"])
def test_client_exporter_context_with_go_server(peers: Peers, gopeer: Path, context: bytes) -> None:
    """TLS 1.3 hashes the context, so no context and an empty one agree (§7.5). (TLS 1.2's
    context rule, RFC 5705 §4, cannot be checked against crypto/tls 1.19: without the extended
    master secret we do not export at all; test_bogo_round3 checks it against the formula.)"""
    server, port = go_server(peers, gopeer, "-max", "1.3", f"-context={context.hex()}")
    with dial(port, client_config(peers)) as tls:
        with_context = exporter(tls, context)
        without = exporter(tls)
    (record,) = server_records(server)
    assert (ok(record)["exporter"], record["exporter_context"]) == (without, with_context)
    assert (with_context == without) is (context == b"")


@pytest.mark.parametrize("context", CONTEXTS, ids=["empty-context", "context"])
def test_server_exporter_context_with_go_client(peers: Peers, gopeer: Path, context: bytes) -> None:
    ours = go_served(peers, context)
    options = ["-max", "1.3", f"-context={context.hex()}", "-no-cache"]
    (record,) = go_client(peers, gopeer, ours.port, *options)
    assert ours.next_exported().exporter == ok(record)["exporter_context"]


@pytest.mark.parametrize("side", ["client", "server"])
def test_no_tls12_exporter_without_extended_master_secret(
    peers: Peers, gopeer: Path, side: str
) -> None:
    """crypto/tls 1.19 speaks TLS 1.2 without the extended master secret (it came in Go 1.21),
    and then RFC 7627 §5.4: "the client and server ... MUST NOT export any key material based
    on the new master secret ... In particular, it MUST disable [RFC5705]". Ours refuses, with
    and without a context; crypto/tls 1.19 still exports."""
    context = CONTEXTS[1]
    if side == "client":
        server, port = go_server(peers, gopeer, "-max", "1.2", f"-context={context.hex()}")
        with dial(port, client_config(peers)) as tls:
            assert (exporter(tls), exporter(tls, context)) == (None, None)
        (record,) = server_records(server)
    else:
        ours = go_served(peers, context)
        options = ["-max", "1.2", f"-context={context.hex()}", "-no-cache"]
        (record,) = go_client(peers, gopeer, ours.port, *options)
        served = ours.next_exported()
        assert served.exporter is None and "RFC 7627" in (served.exporter_refused or "")
    assert ok(record)["version"] == "TLSv1.2"
    check_exporter(record["exporter"], None)
    check_exporter(record["exporter_context"], None)


# -- SNI with an IP address (RFC 6066 §3) ----------------------------------------------------------


def test_client_sends_no_sni_for_an_ip_to_go_server(peers: Peers, gopeer: Path) -> None:
    """RFC 6066 §3: no literal IP addresses in server_name; Go sees none, and we verify the
    certificate's IP address SAN instead."""
    server, port = go_server(peers, gopeer)
    with connect(
        "127.0.0.1", port, config=client_config(peers), server_hostname="127.0.0.1", timeout=TIMEOUT
    ) as tls:
        assert tls.handshake_info is not None
        assert tls.handshake_info.peer_certificates[0] == peers.pki.leaves["ecdsa-p256"].cert
        tls.sendall(b"by address")
        assert read_exactly(tls, 10) == b"by address"
    (record,) = server_records(server)
    assert ok(record)["server_name"] == ""


def test_server_with_go_client_connecting_by_ip(peers: Peers, gopeer: Path) -> None:
    ours = go_served(peers)
    (record,) = go_client(peers, gopeer, ours.port, "-server-name", "127.0.0.1", "-no-cache")
    assert ok(record)["peer_subject"] == SUBJECT  # Go matched the IP address SAN
    served = ours.next_exported()
    assert served.info is not None
    assert served.info.server_name is None


# -- record_size_limit (RFC 8449) that Go does not negotiate --------------------------------------


def test_client_record_size_limit_not_negotiated_by_go_server(peers: Peers, gopeer: Path) -> None:
    """Go ignores our record_size_limit; with no answer the limit does not apply (RFC 8449
    §4), so its full 16 KiB records must be accepted."""
    server, port = go_server(peers, gopeer)
    message = b"r" * 60000
    with dial(port, client_config(peers, record_size_limit=512)) as tls:
        tls.sendall(message)
        assert read_exactly(tls, len(message)) == message
    (record,) = server_records(server)
    assert ok(record)["received_len"] == len(message)


def test_server_record_size_limit_not_negotiated_by_go_client(peers: Peers, gopeer: Path) -> None:
    ours = go_served(peers, record_size_limit=512)
    (record,) = go_client(peers, gopeer, ours.port, "-message", "R" * 60000, "-no-cache")
    assert ok(record)["received_len"] == 60000
    assert ours.next_exported().received == b"R" * 60000


# -- optional client authentication, no common cipher suite ------------------------------------


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_client_without_certificate_to_go_server_requesting_one(
    peers: Peers, gopeer: Path, version: str
) -> None:
    """An empty Certificate is fine when the server only asks (RFC 8446 §4.4.2.4)."""
    server, port = go_server(peers, gopeer, "-client-auth", "request", "-max", version)
    with dial(port, client_config(peers)) as tls:
        tls.sendall(b"anonymous")
        assert read_exactly(tls, 9) == b"anonymous"
    (record,) = server_records(server)
    assert "peer_subject" not in ok(record)


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_go_client_without_certificate_to_server_asking(
    peers: Peers, gopeer: Path, version: str
) -> None:
    ours = go_served(peers, client_auth="optional", client_cafile=str(peers.pki.ca_path))
    (record,) = go_client(peers, gopeer, ours.port, "-max", version, "-no-cache")
    assert ok(record)["version"] == f"TLSv{version}"
    served = ours.next_exported()
    assert served.info is not None
    assert served.info.peer_certificates == ()


CBC = "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"


def test_go_client_offering_only_cbc_refused_by_server(peers: Peers, gopeer: Path) -> None:
    """We offer no CBC suites (RFC 9325 §4.2): nothing in common (RFC 5246 §7.4.1.3)."""
    ours = go_served(peers)
    (record,) = go_client(peers, gopeer, ours.port, "-max", "1.2", "-ciphers", CBC, "-no-cache")
    assert record["error"] == "remote error: tls: handshake failure", record
    assert isinstance(ours.next_connection().error, HandshakeFailure)


def test_client_refused_by_go_server_offering_only_cbc(peers: Peers, gopeer: Path) -> None:
    server, port = go_server(peers, gopeer, "-max", "1.2", "-ciphers", CBC)
    with pytest.raises(AlertReceived) as caught:
        dial(port, client_config(peers))
    assert caught.value.description == AlertDescription.HANDSHAKE_FAILURE
    (record,) = server_records(server)
    assert "no cipher suite supported by both" in record["error"], record
