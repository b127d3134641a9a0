"""Interop with rustls through Deno 2.9.6 (Deno.connectTls / Deno.listenTls / fetch are rustls),
both directions, over 127.0.0.1.

rustls runs in ``deno_peer/peer.ts`` (``deno_peer.py`` starts it), which prints one JSON record
per connection: the ALPN protocol rustls selected, what it received, whether the stream ended
with close_notify, or rustls's error text. Deno does not let a script choose rustls's versions,
cipher suites or groups, nor does it report them, so each test varies OUR side (one suite, one
group, one certificate, TLS 1.2 only, ...) and checks what both ends report: our
``HandshakeComplete`` (version, suite, group, signature scheme, HelloRetryRequest, resumption,
ALPN, the peer's certificate) and rustls's ALPN, received bytes and clean close.

What rustls (as Deno configures it) does, found while writing these tests:

* its client sends one key share, for x25519, while it also supports X25519MLKEM768, P-256
  and P-384 (so any other group costs a HelloRetryRequest); its server takes the first group
  of the client's supported_groups that it supports, with a HelloRetryRequest when the client
  sent no share for that one, even if it sent one for a later group;
* ``Deno.connectTls`` builds a new rustls ClientConfig for every connection, so those never
  resume; ``fetch`` through one ``Deno.createHttpClient`` keeps one ClientConfig and resumes
  (TLS 1.3 tickets, TLS 1.2 tickets): the resumption tests for Deno clients use that;
* ``Deno.listenTls`` issues two TLS 1.3 tickets (one TLS 1.2 ticket) and resumes them, except
  with Deno's SNI hook (``--sni-hook``, which reports the client's SNI name): then each
  handshake gets its own rustls config and nothing resumes;
* ``Deno.listenTls`` cannot ask for a client certificate: client certificates are tested in
  the direction Deno client -> our server only; rustls has no PSK/0-RTT API in Deno either.

No tlsmachine bugs were found with these tests.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from deno_peer import (
    Deno,
    HttpServer,
    KeyUpdatedConnection,
    KeyUpdatingServer,
    deno_client,
    deno_server,
    digest,
    find_deno,
    ok,
    received,
    received_digest,
    served_by,
    served_connections,
)
from matrix import ECDHE_CASES12, TLS13_SCHEMES, case_id, rotated_cases13
from peers import (
    OurServer,
    Peers,
    client_config,
    dial,
    read_exactly,
    server_certificates,
    server_records,
)

from tlsmachine import (
    AlertReceived,
    Event,
    InMemoryClientSessionStore,
    KeyUpdated,
    ServerConfig,
)
from tlsmachine.enums import AlertDescription
from tlsmachine.errors import BadCertificate, CertificateRequired, NoApplicationProtocol
from tlsmachine.sockets import TLSSocket

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

GROUPS = ["x25519", "secp256r1", "secp384r1", "X25519MLKEM768"]
CASES13 = rotated_cases13(GROUPS)  # the four certificates take turns (each three times)
# TLS 1.2: the ECDHE cases, with secp384r1 where they use secp521r1 (rustls has no P-521)
CASES12 = [(leaf, curve.replace("secp521r1", "secp384r1"), s) for leaf, curve, s in ECDHE_CASES12]
MIB = 1 << 20
RUSTLS_FIRST_SHARE = "x25519"
"""The one group rustls's ClientHello has a key share for."""


@pytest.fixture(scope="session")
def deno(tmp_path_factory: pytest.TempPathFactory) -> Deno:
    """Deno 2.9.6 with a DENO_DIR of its own (a missing binary fails the tests)."""
    return find_deno(tmp_path_factory.mktemp("deno-dir"))


def check_scheme(leaf: str, scheme: str | None) -> None:
    """The server's signature scheme fits its certificate."""
    assert scheme is not None
    if leaf == "rsa-2048":
        assert scheme.startswith("rsa_pss_rsae_"), scheme  # rustls never signs with PKCS#1
    else:
        assert scheme == TLS13_SCHEMES[leaf], scheme


def ours(peers: Peers, leaf: str = "ecdsa-p256", **settings: Any) -> OurServer:
    """Our echo server with ``leaf``'s certificate (stopped at teardown)."""
    config = ServerConfig(certificates=server_certificates(peers, leaf), **settings)
    return peers.our_server(config)


def echo(tls: TLSSocket, message: bytes) -> None:
    tls.sendall(message)
    assert read_exactly(tls, len(message)) == message


def key_updates(events: list[Event]) -> list[str]:
    return [e.direction for e in events if isinstance(e, KeyUpdated)]


# -- TLS 1.3 full handshakes -----------------------------------------------------------------------


@pytest.mark.parametrize(("leaf", "group", "suite"), CASES13, ids=map(case_id, CASES13))
def test_client_tls13_with_deno_server(
    peers: Peers, deno: Deno, leaf: str, group: str, suite: str
) -> None:
    """Our client offers one suite and one group (with its share): rustls takes them."""
    server, port = deno_server(peers, deno, leaf=leaf)
    config = client_config(peers, cipher_suites=(suite,), groups=(group,), key_share_groups=None)
    message = b"hello rustls, " * 1500  # two records each way
    with dial(port, config) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.version, info.cipher_suite, info.group) == ("TLSv1.3", suite, group)
        assert (info.hello_retry, info.resumed, info.alpn_protocol) == (False, False, None)
        check_scheme(leaf, info.signature_scheme)
        assert info.peer_certificates[0] == peers.pki.leaves[leaf].cert
        echo(tls, message)
    assert tls.clean_close is True  # rustls answered our close_notify
    (record,) = server_records(server)
    assert (ok(record)["alpn"], received(record)) == (None, message)


@pytest.mark.parametrize(("leaf", "group", "suite"), CASES13, ids=map(case_id, CASES13))
def test_deno_client_tls13_with_server(
    peers: Peers, deno: Deno, leaf: str, group: str, suite: str
) -> None:
    """Our server allows one suite and one group: rustls, whose one share is for x25519, is
    asked for another share (HelloRetryRequest) for any other group."""
    server = ours(peers, leaf, cipher_suites=(suite,), groups=(group,))
    (record,) = deno_client(peers, deno, server.port, "--message", "x" * 20000)
    assert received(ok(record)) == b"x" * 20000
    (conn,) = served_connections(server, 1)
    info = conn.info
    assert info is not None
    assert (info.version, info.cipher_suite, info.group) == ("TLSv1.3", suite, group)
    assert (info.hello_retry, info.resumed) == (group != RUSTLS_FIRST_SHARE, False)
    assert (info.server_name, info.peer_certificates) == ("localhost", ())
    check_scheme(leaf, info.signature_scheme)
    assert (conn.received, conn.clean_close) == (b"x" * 20000, True)


# -- TLS 1.2 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("leaf", "group", "suite"), CASES12, ids=map(case_id, CASES12))
def test_client_tls12_with_deno_server(
    peers: Peers, deno: Deno, leaf: str, group: str, suite: str
) -> None:
    """Our client limited to TLS 1.2, one suite, one group; rustls serves TLS 1.3 as well."""
    server, port = deno_server(peers, deno, leaf=leaf)
    config = client_config(
        peers, max_version="TLSv1.2", tls12_cipher_suites=(suite,), groups=(group,)
    )
    with dial(port, config) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.version, info.cipher_suite, info.group) == ("TLSv1.2", suite, group)
        check_scheme(leaf, info.signature_scheme)
        assert info.peer_certificates[0] == peers.pki.leaves[leaf].cert
        echo(tls, b"hello over TLS 1.2")
    assert tls.clean_close is True
    (record,) = server_records(server)
    assert received(ok(record)) == b"hello over TLS 1.2"


@pytest.mark.parametrize(("leaf", "group", "suite"), CASES12, ids=map(case_id, CASES12))
def test_deno_client_tls12_with_server(
    peers: Peers, deno: Deno, leaf: str, group: str, suite: str
) -> None:
    """Our server limited to TLS 1.2 (so no downgrade sentinel, RFC 8446 §4.1.3)."""
    server = ours(peers, leaf, max_version="TLSv1.2", tls12_cipher_suites=(suite,), groups=(group,))
    (record,) = deno_client(peers, deno, server.port, "--message", "twelve")
    assert received(ok(record)) == b"twelve"
    (conn,) = served_connections(server, 1)
    info = conn.info
    assert info is not None
    assert (info.version, info.cipher_suite, info.group) == ("TLSv1.2", suite, group)
    check_scheme(leaf, info.signature_scheme)
    assert (conn.received, conn.clean_close) == (b"twelve", True)


# -- HelloRetryRequest -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("groups", "shares", "group", "retry"),
    [
        (None, (), "X25519MLKEM768", True),
        (("x25519", "secp256r1"), ("secp256r1",), "x25519", True),
        (("X25519MLKEM768", "secp384r1"), ("secp384r1",), "X25519MLKEM768", True),
        (("secp256r1", "x25519"), ("secp256r1",), "secp256r1", False),
    ],
    ids=["no-share", "second-share", "p384-share", "first-share"],
)
def test_client_hello_retry_with_deno_server(
    peers: Peers,
    deno: Deno,
    groups: tuple[str, ...] | None,
    shares: tuple[str, ...],
    group: str,
    retry: bool,
) -> None:
    """rustls takes the first of our supported groups (our order) and asks for a share for it
    when our first ClientHello has none, even if it has one for a later group."""
    server, port = deno_server(peers, deno, "--alpn", "http/1.1")
    settings: dict[str, Any] = {"key_share_groups": shares, "alpn_protocols": ("h2", "http/1.1")}
    if groups is not None:
        settings["groups"] = groups
    with dial(port, client_config(peers, **settings)) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.hello_retry, info.group) == (retry, group)
        assert info.alpn_protocol == "http/1.1"
        echo(tls, b"after retry")
    (record,) = server_records(server)
    assert (ok(record)["alpn"], received(record)) == ("http/1.1", b"after retry")


@pytest.mark.parametrize("cookie", [False, True], ids=["plain", "cookie"])
def test_server_hello_retry_with_deno_client(peers: Peers, deno: Deno, cookie: bool) -> None:
    """rustls's one share is for x25519; our server insists on P-384 (and may send a cookie
    that the second ClientHello must echo, RFC 8446 §4.2.2)."""
    server = ours(
        peers,
        groups=("secp384r1", "x25519"),
        strict_group_preference=True,
        hello_retry_cookie=(lambda digest: b"rustls cookie " + digest) if cookie else None,
    )
    (record,) = deno_client(peers, deno, server.port, "--message", "retried")
    assert received(ok(record)) == b"retried"
    (conn,) = served_connections(server, 1)
    assert conn.info is not None
    assert (conn.info.hello_retry, conn.info.group) == (True, "secp384r1")


def test_server_prefers_hybrid_group_with_deno_client(peers: Peers, deno: Deno) -> None:
    """Our default server prefers X25519MLKEM768 strictly: rustls supports it and sends its
    share after the HelloRetryRequest (draft-ietf-tls-ecdhe-mlkem)."""
    server = ours(peers, strict_group_preference=True)
    (record,) = deno_client(peers, deno, server.port)
    ok(record)
    (conn,) = served_connections(server, 1)
    assert conn.info is not None
    assert (conn.info.group, conn.info.hello_retry) == ("X25519MLKEM768", True)


# -- resumption ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_client_resumes_with_deno_server(peers: Peers, deno: Deno, version: str) -> None:
    """rustls's server issues tickets (two in TLS 1.3) and accepts them on the next connection."""
    server, port = deno_server(peers, deno, "--connections", "2")
    store = InMemoryClientSessionStore()
    config = client_config(peers, session_store=store, max_version=version)
    infos = []
    for n in range(2):
        with dial(port, config) as tls:
            echo(tls, b"resume %d" % n)
            infos.append(tls.handshake_info)
        assert tls.clean_close is True
    assert [(i.version, i.resumed) for i in infos if i] == [(version, False), (version, True)]
    second = infos[1]
    assert second is not None
    assert (second.signature_scheme, second.peer_certificates[0]) == (
        None,  # no CertificateVerify / ServerKeyExchange signature in an abbreviated handshake
        peers.pki.leaves["ecdsa-p256"].cert,  # the session's chain is reported
    )
    # TLS 1.3 resumes with psk_dhe_ke (a fresh ECDHE); TLS 1.2 resumption has no key exchange
    assert (second.group is None) == (version == "TLSv1.2")
    assert [received(ok(r)) for r in server_records(server, 2)] == [b"resume 0", b"resume 1"]


def test_client_resumes_through_a_hello_retry_with_deno_server(peers: Peers, deno: Deno) -> None:
    """Both ClientHellos carry the PSK; the second one's binder covers the HelloRetryRequest
    (RFC 8446 §4.2.11.2), and rustls checks it."""
    server, port = deno_server(peers, deno, "--connections", "2")
    config = client_config(peers, session_store=InMemoryClientSessionStore(), key_share_groups=())
    infos = []
    for _ in range(2):
        with dial(port, config) as tls:
            echo(tls, b"retry")
            infos.append(tls.handshake_info)
    assert [(i.hello_retry, i.resumed) for i in infos if i] == [(True, False), (True, True)]
    assert [received(ok(r)) for r in server_records(server, 2)] == [b"retry", b"retry"]


def test_deno_server_with_sni_hook_sees_our_server_name(peers: Peers, deno: Deno) -> None:
    """Deno's SNI hook shows the name we sent (RFC 6066 §3); with it, each handshake has a
    rustls config of its own, so our offered ticket is refused: a full handshake follows."""
    server, port = deno_server(peers, deno, "--sni-hook", "--connections", "2")
    config = client_config(peers, session_store=InMemoryClientSessionStore())
    resumed = []
    for _ in range(2):
        with dial(port, config) as tls:
            echo(tls, b"sni")
            assert tls.handshake_info is not None
            resumed.append(tls.handshake_info.resumed)
    assert resumed == [False, False]
    first, _second = (ok(r) for r in server_records(server, 2))
    assert first["server_name"] == "localhost"


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_deno_client_resumes_with_server(peers: Peers, deno: Deno, version: str) -> None:
    """Deno's fetch keeps one rustls ClientConfig: its second and third connections resume
    with our tickets (HTTP/1.1 with ``Connection: close``: one connection per request)."""
    settings: dict[str, Any] = {"alpn_protocols": ("http/1.1",), "max_version": version}
    config = ServerConfig(certificates=server_certificates(peers, "ecdsa-p256"), **settings)
    server = served_by(peers, HttpServer, config)
    results = deno_client(peers, deno, server.port, "--connections", "3", role="fetch")
    assert [(r.get("error"), r.get("status")) for r in results] == [(None, 200)] * 3
    assert [received(r) for r in results] == [b"/fetch-0", b"/fetch-1", b"/fetch-2"]
    infos = [c.info for c in served_connections(server, 3)]
    assert [(i.version, i.alpn_protocol, i.resumed) for i in infos if i] == [
        (version, "http/1.1", False),
        (version, "http/1.1", True),
        (version, "http/1.1", True),
    ]
    assert [i.server_name for i in infos if i] == [None] * 3  # fetch to 127.0.0.1: no SNI


# -- ALPN ------------------------------------------------------------------------------------------


def test_client_alpn_with_deno_server(peers: Peers, deno: Deno) -> None:
    """rustls's server picks by its own order among ours (RFC 7301 §3.2)."""
    server, port = deno_server(peers, deno, "--alpn", "h2", "--alpn", "http/1.1")
    config = client_config(peers, alpn_protocols=("http/1.1", "h2"))
    with dial(port, config) as tls:
        assert tls.selected_alpn_protocol() == "h2"
        echo(tls, b"alpn")
    (record,) = server_records(server)
    assert (ok(record)["alpn"], received(record)) == ("h2", b"alpn")


def test_client_alpn_mismatch_with_deno_server(peers: Peers, deno: Deno) -> None:
    server, port = deno_server(peers, deno, "--alpn", "h2")
    config = client_config(peers, alpn_protocols=("spdy/3",))
    with pytest.raises(AlertReceived) as caught:
        dial(port, config)
    assert caught.value.description == AlertDescription.NO_APPLICATION_PROTOCOL  # RFC 7301 §3.2
    (record,) = server_records(server)
    assert "doesn't support any known protocol" in record["error"], record


def test_deno_client_alpn_with_server(peers: Peers, deno: Deno) -> None:
    server = ours(peers, alpn_protocols=("http/1.1", "h2"))
    options = ["--alpn", "h2", "--alpn", "http/1.1"]
    (record,) = deno_client(peers, deno, server.port, *options)
    assert ok(record)["alpn"] == "http/1.1"  # our preference order
    (conn,) = served_connections(server, 1)
    assert conn.info is not None
    assert conn.info.alpn_protocol == "http/1.1"


def test_server_alpn_mismatch_with_deno_client(peers: Peers, deno: Deno) -> None:
    server = ours(peers, alpn_protocols=("h2",))
    (record,) = deno_client(peers, deno, server.port, "--alpn", "spdy/3")
    assert record["error"] == "InvalidData: received fatal alert: NoApplicationProtocol", record
    conn = server.next_connection()
    assert isinstance(conn.error, NoApplicationProtocol)


# -- client certificates (Deno.listenTls cannot ask for them) --------------------------------------


@pytest.mark.parametrize("leaf", ["ecdsa-p256", "rsa-2048", "ed25519", "ecdsa-p384"])
def test_deno_client_certificate_to_server(peers: Peers, deno: Deno, leaf: str) -> None:
    server = ours(peers, client_auth="required", client_cafile=str(peers.pki.ca_path))
    (record,) = deno_client(peers, deno, server.port, "--message", "mutual", leaf=leaf)
    assert received(ok(record)) == b"mutual"
    (conn,) = served_connections(server, 1)
    assert conn.info is not None
    assert conn.info.peer_certificates[0] == peers.pki.leaves[leaf].cert


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_deno_client_certificate_optional(peers: Peers, deno: Deno, version: str) -> None:
    """Asked for a certificate it does not have, rustls sends an empty Certificate."""
    server = ours(
        peers, client_auth="optional", client_cafile=str(peers.pki.ca_path), max_version=version
    )
    (record,) = deno_client(peers, deno, server.port)
    ok(record)
    (conn,) = served_connections(server, 1)
    assert conn.info is not None
    assert (conn.info.version, conn.info.peer_certificates) == (version, ())


def test_server_requires_a_certificate_from_deno_client(peers: Peers, deno: Deno) -> None:
    server = ours(peers, client_auth="required", client_cafile=str(peers.pki.ca_path))
    (record,) = deno_client(peers, deno, server.port)
    assert "CertificateRequired" in record["error"], record  # RFC 8446 §4.4.2.4
    assert isinstance(server.next_connection().error, CertificateRequired)


# -- certificate verification failures --------------------------------------------------------


def test_deno_client_refuses_untrusted_server(peers: Peers, deno: Deno) -> None:
    server = ours(peers, "untrusted")
    (record,) = deno_client(peers, deno, server.port)
    assert record["error"] == "InvalidData: invalid peer certificate: UnknownIssuer", record
    error = server.next_connection().error
    assert isinstance(error, AlertReceived), repr(error)
    assert error.description == AlertDescription.UNKNOWN_CA


def test_client_refuses_deno_server_for_another_host(peers: Peers, deno: Deno) -> None:
    server, port = deno_server(peers, deno, leaf="other-host")
    with pytest.raises(BadCertificate, match="does not match"):
        dial(port, client_config(peers))
    (record,) = server_records(server)
    assert record["error"] == "InvalidData: received fatal alert: BadCertificate", record


# -- KeyUpdate, large transfers, close_notify ------------------------------------------------------


def test_client_key_update_with_deno_server(peers: Peers, deno: Deno) -> None:
    """Our KeyUpdate asks rustls to update too (RFC 8446 §4.6.3): it answers with its own."""
    server, port = deno_server(peers, deno)
    events: list[Event] = []
    message = bytes(range(256)) * 400  # 100 KiB under the new keys
    with dial(port, client_config(peers), on_event=events.append) as tls:
        echo(tls, b"before")
        tls.key_update(request_peer=True)
        echo(tls, message)
    assert key_updates(events) == ["send", "receive"]
    assert tls.clean_close is True
    (record,) = server_records(server)
    assert received_digest(ok(record)) == digest(b"before" + message)


def test_server_key_update_with_deno_client(peers: Peers, deno: Deno) -> None:
    config = ServerConfig(certificates=server_certificates(peers, "ecdsa-p256"))
    server = served_by(peers, KeyUpdatingServer, config)
    (record,) = deno_client(peers, deno, server.port, "--message", "updated", "--repeat", "5000")
    assert received(ok(record)) == b"updated" * 5000
    (conn,) = served_connections(server, 1)
    assert isinstance(conn, KeyUpdatedConnection)
    assert conn.key_updates == ["send", "receive"]
    assert (conn.received, conn.clean_close) == (b"updated" * 5000, True)


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_client_large_transfer_with_deno_server(peers: Peers, deno: Deno, version: str) -> None:
    server, port = deno_server(peers, deno)
    message = bytes(range(251)) * (MIB // 251 + 1)
    message = message[:MIB]
    with dial(port, client_config(peers, max_version=version)) as tls:
        tls.sendall(message)
        assert read_exactly(tls, MIB) == message
    assert tls.clean_close is True
    (record,) = server_records(server)
    assert received_digest(ok(record)) == digest(message)


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_deno_client_large_transfer_with_server(peers: Peers, deno: Deno, version: str) -> None:
    server = ours(peers, max_version=version)
    options = ["--message", "0123456789abcdef", "--repeat", str(MIB // 16)]
    (record,) = deno_client(peers, deno, server.port, *options)
    assert received_digest(ok(record)) == digest(b"0123456789abcdef" * (MIB // 16))
    (conn,) = served_connections(server, 1)
    assert conn.info is not None
    assert conn.info.version == version
    assert (len(conn.received), conn.clean_close) == (MIB, True)


def test_deno_server_serves_several_clients(peers: Peers, deno: Deno) -> None:
    """One rustls server, connections one after the other; each ends with close_notify both
    ways (rustls reports a bare EOF as an error, so ``clean_close`` is its close_notify)."""
    server, port = deno_server(peers, deno, "--connections", "3")
    for n in range(3):
        with dial(port, client_config(peers)) as tls:
            echo(tls, b"client %d" % n)
        assert tls.clean_close is True
    records_ = server_records(server, 3)
    assert [received(ok(r)) for r in records_] == [b"client 0", b"client 1", b"client 2"]


def test_deno_server_reports_a_missing_close_notify(peers: Peers, deno: Deno) -> None:
    """A bare TCP close is an error for rustls (not the end of the stream), so the peer's
    ``clean_close`` in the other tests does mean that our close_notify arrived."""
    server, port = deno_server(peers, deno)
    tls = dial(port, client_config(peers))
    echo(tls, b"cut")
    tls.socket.shutdown(socket.SHUT_RDWR)  # no close_notify
    tls.socket.close()
    (record,) = server_records(server)
    assert record["error"].startswith("UnexpectedEof: peer closed connection without sending")
    assert (received(record), record.get("clean_close")) == (b"cut", None)
