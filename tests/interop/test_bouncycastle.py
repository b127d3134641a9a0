"""Interop with Bouncy Castle's TLS (BCJSSE 1.72, Debian libbctls-java), both directions.

BC runs in its own JVM: ``java_peer/TlsPeer.java`` (the JSSE tests' peer, compiled once per
session, ``java_peer.py``), run with ``--provider bc`` and the BC jars on its classpath, uses
``SSLContext.getInstance("TLS", BouncyCastleJsseProvider)`` with the BC provider for its
crypto, so the handshake, the record layer and the cryptography are all BC's and none of the
JDK's SunJSSE. It serves or makes several connections per run, since a JVM is slow to start
(servers of one test start side by side), and prints one JSON record per connection:
protocol, suite, ALPN, whether the session was resumed, the SNI names it was asked for, the
peer's certificate, the bytes it received, whether the close was clean, or the error and the
alert it sent or received. Each test checks both ends.

Coverage: TLS 1.3 suites x groups (x25519, x448, P-256/384/521, ffdhe2048) x server
certificates (ECDSA P-256/P-384, RSA with RSA-PSS, Ed25519), both ways; TLS 1.2 ECDHE-ECDSA
(ECDSA and Ed25519), ECDHE-RSA and DHE-RSA (RFC 7919 groups) with AES-GCM and ChaCha20; TLS 1.2
resumption by session ID with extended master secret (required on our side) both ways; ALPN;
SNI (and none, for an IP address or when BC sends none); HelloRetryRequest both ways (in and
out of middlebox compatibility mode, to P-384 and to ffdhe2048); client certificates both ways
(RSA, ECDSA, Ed25519; need, want, missing); KeyUpdate (BC answers update_requested, both ways);
1 MiB transfers; close_notify; failures: no common version, TLS 1.3 suite, group, TLS 1.2 suite
or ALPN protocol, and an untrusted certificate, each with the alert both ends saw.

What BC 1.72 does not do, checked here as such or worked around:

* no TLS 1.3 resumption: its server sends no NewSessionTicket and its client reads and drops
  ours (``TlsClientProtocol.receive13NewSessionTicket``), so every TLS 1.3 connection is a full
  handshake both ways; no RFC 5077 tickets in TLS 1.2 (session IDs only);
* no API to send a KeyUpdate: BC updates its own keys only after 2^20 records under one key
  (``RecordStream.needsKeyUpdate``), more than a test sends; it answers update_requested;
* no keying material exporter after the handshake: ``exportKeyingMaterial`` and the
  tls-exporter channel binding throw "only available from notifyHandshakeComplete()" (BC clears
  the secrets when the handshake completes, and calls HandshakeCompletedListeners later, on
  another thread), so the exporters are not compared;
* no half-close: ``shutdownOutput()`` shuts TCP down without a close_notify, so the BC client
  closes with ``close()`` (close_notify, then TCP) and only our side sees its close_notify;
* no ``getRequestedServerNames()`` on an established session (UnsupportedOperationException):
  the peer's SNI matcher notes the names; no ``isResumed()``: a session created before its
  handshake began is a resumed one;
* BCJSSE offers (client) and uses (server) only the ECDSA signature schemes of curves among its
  enabled groups (``jdk.tls.namedGroups``), in TLS 1.3 too: a BC client limited to x448 cannot
  verify our P-256-signed chain, and a BC server limited to secp384r1 cannot sign with a P-256
  key (handshake_failure). The tests add the CA's and leaf's curves, or use an RSA server key;
* its client sends one key share: x25519 if among its groups, else secp256r1, else its first
  (``ProvTlsClient.getEarlyKeyShareGroups``), whatever the order of its groups;
* a missing client certificate ends in certificate_required (TLS 1.3) or handshake_failure
  (TLS 1.2); an untrusted server certificate in certificate_unknown.

Found with these tests, and fixed: ``tlsmachine.sockets.connect()`` (and
``Context.wrap_socket``), when the handshake failed on our side, closed the raw socket at once
instead of TLSSocket's lingering close after a fatal alert, so a peer still sending its flight
got a TCP reset and never read our alert (BC: "Broken pipe" instead of unknown_ca).
"""

from __future__ import annotations

import socket
from typing import Any

import peer_checks
import pytest
from java_peer import Java, compiled
from matrix import TLS13_SUITES
from peer_checks import (
    LEAVES13,
    KeyUpdatingServer,
    cert_sha256,
    dial_each,
    dial_tls12_cases,
    dial_tls13_cases,
    echo,
    echo_chunks,
    info_of,
    infos,
    ok,
    ours_with,
    payload,
    sha256,
)
from peers import (
    TIMEOUT,
    OurServer,
    Peers,
    ServedConnection,
    client_config,
    dial,
    read_exactly,
    server_certificates,
)
from tls12_peers import cached_sessions

from tlsmachine import (
    AlertReceived,
    ClientConfig,
    Event,
    HandshakeComplete,
    InMemoryClientSessionStore,
    KeyUpdated,
    ServerConfig,
)
from tlsmachine.client import ClientConnection
from tlsmachine.enums import AlertDescription
from tlsmachine.errors import (
    CertificateRequired,
    HandshakeFailure,
    NoApplicationProtocol,
    ProtocolVersionError,
    UnknownCA,
)
from tlsmachine.sockets import TLSSocket, connect

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

GROUPS13 = ["x25519", "x448", "secp256r1", "secp384r1", "secp521r1", "ffdhe2048"]
CASES12 = [
    # (leaf, suite, group): every TLS 1.2 AEAD suite family BC and we share; for ECDSA leaves
    # the client lists the certificate's curve too (RFC 8422 §5.1)
    ("ecdsa-p256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "secp256r1"),
    ("ecdsa-p384", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "x25519"),
    ("ed25519", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "x448"),
    ("rsa-2048", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "secp384r1"),
    ("rsa-2048", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "secp521r1"),
    ("rsa-2048", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "x25519"),
    ("rsa-2048", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "ffdhe2048"),
    ("rsa-2048", "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "ffdhe3072"),
    ("rsa-2048", "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ffdhe2048"),
]
LEAF_CURVE = {"ecdsa-p256": ["secp256r1"], "ecdsa-p384": ["secp384r1"]}
MIB = 1 << 20


# -- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
def bc(peers: Peers, tmp_path_factory: pytest.TempPathFactory) -> Java:
    """Starts BCJSSE peers (TlsPeer.java with ``--provider bc``, compiled once per session;
    javac or a BC jar missing: the tests fail); the ``peers`` registry stops them at teardown."""
    return Java(peers, compiled(tmp_path_factory), provider="bc")


def served(ours: OurServer, count: int = 1) -> list[ServedConnection]:
    """Our server's next ``count`` connections, each checked for errors and a clean close
    (BC's close_notify)."""
    return peer_checks.served(ours, count, clean_close=True)


def try_dial(port: int, config: ClientConfig, message: bytes) -> HandshakeComplete | str:
    """One connection of a matrix (:func:`peer_checks.try_dial`), checking BC's close_notify
    after ours."""
    return peer_checks.try_dial(port, config, message, closed_by="BC")


def alert_name(description: int) -> str:
    """An alert's RFC name, as BC's ``AlertDescription.getName`` spells it."""
    return AlertDescription(description).name.lower()


def failed(peer_error: type[BaseException], call: Any, *args: Any) -> BaseException:
    """The exception ``call(*args)`` raised (it must raise ``peer_error``)."""
    with pytest.raises(peer_error) as caught:
        call(*args)
    return caught.value


# -- TLS 1.3: suites x groups x certificates ---------------------------------------------------


def test_client_tls13_matrix_with_bc_servers(peers: Peers, bc: Java) -> None:
    """One BC server per certificate, each serving every suite with every group."""
    cases = [(suite, group) for suite in TLS13_SUITES for group in GROUPS13]
    servers = bc.servers(
        *(
            {"options": ["--protocols", "TLSv1.3"], "leaves": [leaf], "connections": len(cases)}
            for leaf in LEAVES13
        )
    )
    for leaf, server in zip(LEAVES13, servers, strict=True):
        seen = dial_tls13_cases(peers, server.port, cases, closed_by="BC")
        assert seen == [(s, g, "TLSv1.3", LEAVES13[leaf]) for s, g in cases], leaf
    for leaf, server in zip(LEAVES13, servers, strict=True):
        results = server.results()
        assert [(ok(r)["protocol"], r["cipher_suite"], r["received"]) for r in results] == [
            ("TLSv1.3", s, f"{s} {g}") for s, g in cases
        ]
        assert all(r["clean_close"] and not r["resumed"] for r in results)
        assert all(r["local_cert_sha256"] == cert_sha256(peers, leaf) for r in results)


def early_share(groups: list[str]) -> str:
    """The one key share BCJSSE's client sends: x25519 if among its groups, else secp256r1,
    else its first group (ProvTlsClient.getEarlyKeyShareGroups)."""
    return next((g for g in ("x25519", "secp256r1") if g in groups), groups[0])


def test_bc_client_tls13_matrix_with_server(peers: Peers, bc: Java) -> None:
    """One BC run: each certificate with each suite and group. Our servers take one group
    each, so BC's single key share (:func:`early_share`) gets a HelloRetryRequest for the
    others. BCJSSE offers only the ECDSA schemes of curves among its groups (in TLS 1.3 too),
    so it lists the CA's and the leaf's curves after the group under test; it reads its groups
    when a context is initialised: a context per round."""
    servers = {
        (leaf, group): ours_with(peers, leaf, groups=(group,))
        for leaf in LEAVES13
        for group in GROUPS13
    }
    cases = [
        (leaf, suite, group) for leaf in LEAVES13 for suite in TLS13_SUITES for group in GROUPS13
    ]
    offered = {
        (leaf, group): list(dict.fromkeys([group, "secp256r1", *LEAF_CURVE.get(leaf, [])]))
        for leaf, group in servers
    }
    options = ["--protocols", "TLSv1.3", "--message", "matrix"]
    for leaf, suite, group in cases:
        options += ["--suites", suite, "--groups", ",".join(offered[leaf, group])]
    ports = [servers[leaf, group].port for leaf, _, group in cases]
    results = bc.client(ports, *options)
    assert [(r.get("cipher_suite"), r.get("error")) for r in results] == [
        (s, None) for _, s, _ in cases
    ]
    assert all(r["received"] == "matrix" and not r["resumed"] for r in results)
    assert [r["peer_cert_sha256"] for r in results] == [
        cert_sha256(peers, leaf) for leaf, _, _ in cases
    ]
    for (leaf, group), ours in servers.items():
        seen = infos(served(ours, len(TLS13_SUITES)))
        retry = early_share(offered[leaf, group]) != group
        assert [(i.cipher_suite, i.group, i.signature_scheme, i.hello_retry) for i in seen] == [
            (s, group, LEAVES13[leaf], retry) for s in TLS13_SUITES
        ]
        assert all(
            (i.version, i.resumed, i.server_name) == ("TLSv1.3", False, "localhost") for i in seen
        )


# -- TLS 1.2 -------------------------------------------------------------------------------------


def test_client_tls12_suites_with_bc_server(peers: Peers, bc: Java) -> None:
    leaves = list(dict.fromkeys(c[0] for c in CASES12))
    # one BC server per leaf, so that each case knows the certificate it gets
    started = bc.servers(
        *(
            {
                "options": ["--protocols", "TLSv1.2"],
                "leaves": [leaf],
                "connections": sum(c[0] == leaf for c in CASES12),
            }
            for leaf in leaves
        )
    )
    servers = dict(zip(leaves, started, strict=True))
    ports = {leaf: server.port for leaf, server in servers.items()}
    seen = dial_tls12_cases(peers, ports, CASES12, LEAF_CURVE, closed_by="BC")
    assert seen == [(s, g, "TLSv1.2") for _, s, g in CASES12]
    for leaf, server in servers.items():
        results = server.results()
        assert [(ok(r)["protocol"], r["cipher_suite"], r["received"]) for r in results] == [
            ("TLSv1.2", s, s) for lf, s, _ in CASES12 if lf == leaf
        ]
        assert all(r["clean_close"] for r in results)


def test_bc_client_tls12_suites_with_server(peers: Peers, bc: Java) -> None:
    servers = [
        ours_with(peers, leaf, tls12_cipher_suites=(suite,), groups=(group,))
        for leaf, suite, group in CASES12
    ]
    options = ["--protocols", "TLSv1.2", "--fresh"]
    results = bc.client([s.port for s in servers], *options)
    assert [(r.get("protocol"), r.get("cipher_suite"), r.get("error")) for r in results] == [
        ("TLSv1.2", s, None) for _, s, _ in CASES12
    ]
    assert [r["peer_cert_sha256"] for r in results] == [
        cert_sha256(peers, leaf) for leaf, _, _ in CASES12
    ]
    assert all(r["received"] == "hello" for r in results)
    seen = [served(ours)[0].info for ours in servers]
    assert [(i.version, i.cipher_suite, i.group) for i in seen if i] == [
        ("TLSv1.2", s, g) for _, s, g in CASES12
    ]


# -- resumption ----------------------------------------------------------------------------------


def test_client_resumes_tls12_with_bc_server(peers: Peers, bc: Java) -> None:
    """TLS 1.2 session IDs, with extended master secret (RFC 7627: we require it, and keep no
    session without it)."""
    server = bc.server("--protocols", "TLSv1.2", connections=3)
    config = client_config(
        peers,
        max_version="TLSv1.2",
        require_extended_master_secret=True,
        session_store=InMemoryClientSessionStore(),
    )
    seen = dial_each(server.port, config, [b"resume %d" % i for i in range(3)])
    assert [(i.version, i.resumed) for i in seen] == [
        ("TLSv1.2", False),
        ("TLSv1.2", True),
        ("TLSv1.2", True),
    ]
    assert seen[2].peer_certificates[0] == peers.pki.leaves["ecdsa-p256"].cert
    results = server.results()
    assert [(ok(r)["resumed"], r["received"]) for r in results] == [
        (False, "resume 0"),
        (True, "resume 1"),
        (True, "resume 2"),
    ]
    assert len({r["session_id"] for r in results}) == 1


def test_bc_client_resumes_tls12_with_server(peers: Peers, bc: Java) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "rsa-2048"), require_extended_master_secret=True
    )
    ours = peers.our_server(config)
    results = bc.client(ours.port, "--protocols", "TLSv1.2", "--connections", "3")
    assert [(ok(r)["protocol"], r["resumed"]) for r in results] == [
        ("TLSv1.2", False),
        ("TLSv1.2", True),
        ("TLSv1.2", True),
    ]
    assert len({r["session_id"] for r in results}) == 1
    seen = infos(served(ours, 3))
    assert [(i.version, i.resumed) for i in seen] == [
        ("TLSv1.2", False),
        ("TLSv1.2", True),
        ("TLSv1.2", True),
    ]
    assert cached_sessions(config) >= 1


def test_client_tls13_full_handshakes_with_bc_server(peers: Peers, bc: Java) -> None:
    """BC 1.72's server issues no TLS 1.3 ticket: our client has nothing to offer, and makes a
    full handshake each time (no error)."""
    server = bc.server("--protocols", "TLSv1.3", connections=2)
    store = InMemoryClientSessionStore()
    config = client_config(peers, session_store=store)
    seen = dial_each(server.port, config, (b"first", b"second"))
    assert [(i.version, i.resumed) for i in seen] == [("TLSv1.3", False), ("TLSv1.3", False)]
    assert [(ok(r)["resumed"], r["received"]) for r in server.results()] == [
        (False, "first"),
        (False, "second"),
    ]


def test_bc_client_tls13_ignores_tickets_from_server(peers: Peers, bc: Java) -> None:
    """Our server sends its NewSessionTickets; BC 1.72's client reads and drops them (it has no
    TLS 1.3 resumption) and makes a full handshake again, without an error either side."""
    ours = ours_with(peers, session_tickets=2)
    results = bc.client(ours.port, "--protocols", "TLSv1.3", "--connections", "2")
    assert [(ok(r)["protocol"], r["resumed"]) for r in results] == [
        ("TLSv1.3", False),
        ("TLSv1.3", False),
    ]
    assert [i.resumed for i in infos(served(ours, 2))] == [False, False]


# -- ALPN and SNI --------------------------------------------------------------------------------


def test_client_alpn_with_bc_server(peers: Peers, bc: Java) -> None:
    server = bc.server("--alpn", "h2,http/1.1", connections=3)
    with dial(server.port, client_config(peers, alpn_protocols=("http/1.1", "h2"))) as tls:
        assert info_of(tls).alpn_protocol == "h2"  # the server's preference (RFC 7301 §3.2)
        echo(tls, b"alpn")
    with dial(server.port, client_config(peers)) as tls:
        assert info_of(tls).alpn_protocol is None  # we offered none: BC goes on without
        echo(tls, b"none")
    refused = failed(AlertReceived, dial, server.port, client_config(peers, alpn_protocols=("h3",)))
    assert refused.description == AlertDescription.NO_APPLICATION_PROTOCOL  # type: ignore[attr-defined]
    first, second, third = server.results()
    assert (ok(first)["alpn"], ok(second)["alpn"]) == ("h2", None)
    assert third["alert_sent"] == "no_application_protocol", third


def test_bc_client_alpn_with_server(peers: Peers, bc: Java) -> None:
    matching = ours_with(peers, alpn_protocols=("http/1.1", "h2"))
    disjoint = ours_with(peers, alpn_protocols=("h3",))
    first, second = bc.client([matching.port, disjoint.port], "--alpn", "h2,http/1.1")
    assert ok(first)["alpn"] == "http/1.1"
    assert second["alert_received"] == "no_application_protocol", second
    (info,) = infos(served(matching))
    assert info.alpn_protocol == "http/1.1"
    assert isinstance(disjoint.next_connection().error, NoApplicationProtocol)


def test_client_sni_with_bc_server(peers: Peers, bc: Java) -> None:
    """A host name goes in server_name; an IP address does not (RFC 6066 §3): BC's server
    sees none, while our client verifies the certificate's IP address SAN."""
    server = bc.server(connections=2)
    with dial(server.port, client_config(peers)) as tls:
        assert info_of(tls).server_name == "localhost"
        echo(tls, b"by name")
    config = client_config(peers)
    with connect(
        "127.0.0.1", server.port, config=config, server_hostname="127.0.0.1", timeout=TIMEOUT
    ) as tls:
        assert info_of(tls).peer_certificates[0] == peers.pki.leaves["ecdsa-p256"].cert
        echo(tls, b"by address")
    by_name, by_address = server.results()
    assert (ok(by_name)["sni"], by_name["received"]) == (["localhost"], "by name")
    assert (ok(by_address)["sni"], by_address["received"]) == ([], "by address")


def test_bc_client_sni_with_server(peers: Peers, bc: Java) -> None:
    names: list[str | None] = []

    def note(name: str | None) -> None:
        names.append(name)

    ours = ours_with(peers, server_name_callback=note)
    with_sni = bc.client(ours.port)
    without_sni = bc.client(ours.port, "--no-sni")
    assert [ok(r)["received"] for r in with_sni + without_sni] == ["hello", "hello"]
    seen = infos(served(ours, 2))
    assert [i.server_name for i in seen] == ["localhost", None]
    assert names == ["localhost", None]


# -- HelloRetryRequest ---------------------------------------------------------------------------


def test_client_hello_retry_with_bc_server(peers: Peers, bc: Java) -> None:
    """BC wants secp384r1 (then ffdhe2048); we sent an x25519 share: a HelloRetryRequest, in
    middlebox compatibility mode (RFC 8446 D.4) and without."""
    # an RSA certificate: BCJSSE signs with ECDSA only on curves among its groups
    groups = ("secp384r1", "ffdhe2048")
    servers = bc.servers(
        *({"options": ["--groups", g], "leaves": ["rsa-2048"], "connections": 2} for g in groups)
    )
    seen = []
    for server, group in zip(servers, groups, strict=True):
        for compat in (True, False):
            config = client_config(
                peers,
                groups=("x25519", group),
                key_share_groups=("x25519",),
                middlebox_compatibility=compat,
            )
            with dial(server.port, config) as tls:
                echo(tls, f"{group} {compat}".encode())
                seen.append(info_of(tls))
    assert [(i.group, i.hello_retry) for i in seen] == [(g, True) for g in groups for _ in "ab"]
    for server, group in zip(servers, groups, strict=True):
        results = server.results()
        assert [(ok(r)["protocol"], r["received"]) for r in results] == [
            ("TLSv1.3", f"{group} True"),
            ("TLSv1.3", f"{group} False"),
        ]


def test_bc_client_hello_retry_with_server(peers: Peers, bc: Java) -> None:
    """BC sends one key share, for x25519 (:func:`early_share`); we insist on secp384r1, then on
    ffdhe2048: a HelloRetryRequest each time, and BC's second ClientHello has the right share."""
    p384 = ours_with(peers, groups=("secp384r1", "x25519"), strict_group_preference=True)
    ffdhe = ours_with(peers, groups=("ffdhe2048", "x25519"), strict_group_preference=True)
    options = ["--groups", "x25519,secp256r1,secp384r1,ffdhe2048"]
    results = bc.client([p384.port, ffdhe.port], *options)
    assert [ok(r)["protocol"] for r in results] == ["TLSv1.3", "TLSv1.3"]
    seen = infos(served(p384) + served(ffdhe))
    assert [(i.group, i.hello_retry) for i in seen] == [
        ("secp384r1", True),
        ("ffdhe2048", True),
    ]


# -- client certificates -------------------------------------------------------------------------


def test_client_certificates_to_bc_server(peers: Peers, bc: Java) -> None:
    cases = [
        (version, leaf)
        for version in ("TLSv1.3", "TLSv1.2")
        for leaf in ("rsa-2048", "ecdsa-p384", "ed25519")
    ]
    server = bc.server("--client-auth", "need", connections=len(cases))
    seen = []
    for version, leaf in cases:
        config = client_config(
            peers, max_version=version, certificates=server_certificates(peers, leaf)
        )
        info = try_dial(server.port, config, leaf.encode())
        seen.append(info if isinstance(info, str) else info.version)
    assert seen == [v for v, _ in cases]
    results = server.results()
    assert [(ok(r)["protocol"], r["peer_cert_sha256"], r["received"]) for r in results] == [
        (v, cert_sha256(peers, leaf), leaf) for v, leaf in cases
    ]


def test_client_without_certificate_with_bc_server(peers: Peers, bc: Java) -> None:
    """need: BC refuses our empty Certificate with an alert (TLS 1.3 and 1.2); want: it goes
    on without one."""
    versions = ("TLSv1.3", "TLSv1.2")
    need, want = bc.servers(
        {"options": ["--client-auth", "need"], "connections": 2},
        {"options": ["--client-auth", "want"], "connections": 2},
    )
    alerts = []
    for version in versions:
        config = client_config(peers, max_version=version)
        with pytest.raises(AlertReceived) as caught, dial(need.port, config) as tls:
            echo(tls, b"no cert")  # TLS 1.3: the alert follows our Finished
        alerts.append(alert_name(caught.value.description))
        with dial(want.port, config) as tls:
            echo(tls, b"no cert")
    assert alerts == ["certificate_required", "handshake_failure"]
    assert [r.get("alert_sent") for r in need.results()] == alerts
    assert [(ok(r)["protocol"], r["peer_subject"]) for r in want.results()] == [
        (v, None) for v in versions
    ]


def test_bc_client_certificates_to_server(peers: Peers, bc: Java) -> None:
    """BC chooses its certificate for our CertificateRequest (TLS 1.3 and 1.2)."""
    anchors = {"client_cafile": str(peers.pki.ca_path), "client_auth": "required"}
    servers = [ours_with(peers, max_version=v, **anchors) for v in ("TLSv1.3", "TLSv1.2")]
    for leaf in ("rsa-2048", "ecdsa-p384", "ed25519"):
        results = bc.client([s.port for s in servers], leaf=leaf)
        assert [ok(r)["protocol"] for r in results] == ["TLSv1.3", "TLSv1.2"]
        assert all(r["local_cert_sha256"] == cert_sha256(peers, leaf) for r in results)
        for ours in servers:
            (info,) = infos(served(ours))
            assert info.peer_certificates[0] == peers.pki.leaves[leaf].cert


def test_bc_client_without_certificate_with_server(peers: Peers, bc: Java) -> None:
    """Required: certificate_required in TLS 1.3 (RFC 8446 §4.4.2.4), handshake_failure in
    TLS 1.2 (RFC 5246 §7.4.6); optional: we go on without one."""
    anchors = {"client_cafile": str(peers.pki.ca_path)}
    required13 = ours_with(peers, client_auth="required", **anchors)
    required12 = ours_with(peers, client_auth="required", max_version="TLSv1.2", **anchors)
    optional = ours_with(peers, client_auth="optional", **anchors)
    results = bc.client([required13.port, required12.port, optional.port])
    assert results[0].get("alert_received") == "certificate_required", results[0]
    assert results[1].get("alert_received") == "handshake_failure", results[1]
    assert ok(results[2])["received"] == "hello"
    assert isinstance(required13.next_connection().error, CertificateRequired)
    assert isinstance(required12.next_connection().error, HandshakeFailure)
    (info,) = infos(served(optional))
    assert info.peer_certificates == ()


# -- KeyUpdate (RFC 8446 §4.6.3) and large transfers -------------------------------------------


def test_client_key_updates_with_bc_server(peers: Peers, bc: Java) -> None:
    """We update our keys every 64 KiB of a 1 MiB echo, asking BC to update too: BC answers
    each request with its own KeyUpdate."""
    server = bc.server()
    events: list[Event] = []
    data = payload(MIB)
    with dial(server.port, client_config(peers), on_event=events.append) as tls:
        for at in range(0, MIB, 65536):
            chunk = data[at : at + 65536]
            tls.key_update(request_peer=True)
            tls.sendall(chunk)
            assert read_exactly(tls, len(chunk)) == chunk
    assert tls.clean_close
    (result,) = server.results()
    assert (ok(result)["received_length"], result["received_sha256"]) == (MIB, sha256(data))
    assert result["clean_close"]
    updates = [e.direction for e in events if isinstance(e, KeyUpdated)]
    assert updates.count("send") == 16
    assert updates.count("receive") == 16  # BC's answers, one per request (each after an echo)


@pytest.mark.parametrize("lockstep", [False, True], ids=["threads", "lockstep"])
def test_key_updates_with_bc_client(peers: Peers, bc: Java, lockstep: bool) -> None:
    """1 MiB from BC, echoed: our server updates its keys every 64 KiB and asks BC to update
    too; BC answers while it writes (a writer and a reader thread) or in one thread."""
    ours = KeyUpdatingServer(
        ServerConfig(certificates=server_certificates(peers, "ecdsa-p256")), 65536
    )
    peers.servers.append(ours)  # type: ignore[arg-type]
    options = ["--size", str(MIB), *(["--lockstep"] if lockstep else [])]
    (result,) = bc.client(ours.port, *options)
    assert ok(result)["received_sha256"] == sha256(payload(MIB))
    assert ours.done.wait(TIMEOUT)
    assert ours.errors == []
    assert bytes(ours.received) == payload(MIB)
    assert ours.clean_close
    updates = [e.direction for e in ours.events if isinstance(e, KeyUpdated)]
    assert updates.count("send") >= 8  # every 64 KiB received (BC's records come in bursts)
    assert updates.count("receive") >= 1  # BC's answers (one may cover several requests)


def test_client_large_transfers_with_bc_server(peers: Peers, bc: Java) -> None:
    """1 MiB each way, in TLS 1.3 then TLS 1.2, and close_notify both ways."""
    versions = ("TLSv1.3", "TLSv1.2")
    server = bc.server(leaves=["rsa-2048"], connections=2)
    data = payload(MIB)
    for version in versions:
        with dial(server.port, client_config(peers, max_version=version)) as tls:
            assert info_of(tls).version == version
            echo_chunks(tls, data, 256 * 1024)
        assert tls.clean_close  # BC answered our close_notify with its own
    results = server.results()
    assert [(ok(r)["protocol"], r["received_length"], r["received_sha256"]) for r in results] == [
        (v, MIB, sha256(data)) for v in versions
    ]
    assert all(r["clean_close"] for r in results)


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_bc_client_large_transfer_with_server(peers: Peers, bc: Java, version: str) -> None:
    ours = ours_with(peers, "rsa-2048")
    (result,) = bc.client(ours.port, "--protocols", version, "--size", str(MIB))
    assert (ok(result)["protocol"], result["received_sha256"]) == (version, sha256(payload(MIB)))
    (connection,) = served(ours)  # checks BC's close_notify
    assert connection.received == payload(MIB)


# -- failures: versions, suites, groups, certificates -------------------------------------------


def test_client_negotiation_failures_with_bc_server(peers: Peers, bc: Java) -> None:
    """Each with the alert both ends saw: BC TLS 1.2 only and we TLS 1.3 only
    (protocol_version); no common TLS 1.3 suite, no common group, no common TLS 1.2 suite
    (handshake_failure)."""
    tls12_only, suite_only, group_only, suite12 = bc.servers(
        {"options": ["--protocols", "TLSv1.2"]},
        {"options": ["--protocols", "TLSv1.3", "--suites", "TLS_AES_256_GCM_SHA384"]},
        # an RSA certificate: BCJSSE signs with ECDSA only on curves among its groups
        {"options": ["--protocols", "TLSv1.3", "--groups", "secp521r1"], "leaves": ["rsa-2048"]},
        {
            "options": [
                "--protocols",
                "TLSv1.2",
                "--suites",
                "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            ]
        },
    )
    cases = [
        (tls12_only, client_config(peers, min_version="TLSv1.3")),
        (suite_only, client_config(peers, cipher_suites=("TLS_AES_128_GCM_SHA256",))),
        (group_only, client_config(peers, groups=("x25519", "secp256r1"))),
        (
            suite12,
            client_config(
                peers,
                max_version="TLSv1.2",
                tls12_cipher_suites=("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",),
            ),
        ),
    ]
    alerts = [failed(AlertReceived, dial, server.port, config) for server, config in cases]
    assert [a.description for a in alerts] == [  # type: ignore[attr-defined]
        AlertDescription.PROTOCOL_VERSION,
        AlertDescription.HANDSHAKE_FAILURE,
        AlertDescription.HANDSHAKE_FAILURE,
        AlertDescription.HANDSHAKE_FAILURE,
    ]
    records = [server.results()[0] for server, _ in cases]
    assert [r.get("alert_sent") for r in records] == [
        "protocol_version",
        "handshake_failure",
        "handshake_failure",
        "handshake_failure",
    ], records


def test_client_version_downgrade_with_bc_server(peers: Peers, bc: Java) -> None:
    """BC 1.3-capable with us at most TLS 1.2: TLS 1.2 (BC's ServerHello carries the downgrade
    sentinel, RFC 8446 §4.1.3, which a TLS 1.2 client ignores); BC 1.2-only with us 1.3-capable:
    TLS 1.2 without the sentinel."""
    both, tls12_only = bc.servers(
        {"options": ["--protocols", "TLSv1.3,TLSv1.2"]}, {"options": ["--protocols", "TLSv1.2"]}
    )
    for server, config in (
        (both, client_config(peers, max_version="TLSv1.2")),
        (tls12_only, client_config(peers)),
    ):
        with dial(server.port, config) as tls:
            assert info_of(tls).version == "TLSv1.2"
            echo(tls, b"12")
        assert ok(server.results()[0])["protocol"] == "TLSv1.2"


def test_bc_client_negotiation_failures_with_server(peers: Peers, bc: Java) -> None:
    ours12 = ours_with(peers, max_version="TLSv1.2")
    ours13 = ours_with(peers, cipher_suites=("TLS_CHACHA20_POLY1305_SHA256",))
    group = ours_with(peers, groups=("ffdhe2048",))
    options = ["--protocols", "TLSv1.3", "--suites", "TLS_AES_128_GCM_SHA256"]
    options += ["--groups", "x25519,secp256r1"]
    results = bc.client([ours12.port, ours13.port, group.port], *options)
    assert [r.get("alert_received") for r in results] == [
        "protocol_version",
        "handshake_failure",
        "handshake_failure",
    ], results
    assert isinstance(ours12.next_connection().error, ProtocolVersionError)
    assert isinstance(ours13.next_connection().error, HandshakeFailure)
    assert isinstance(group.next_connection().error, HandshakeFailure)
    # BC 1.2-only with our 1.3-capable server, and BC 1.3-capable with our 1.2-only one
    results = bc.client([ours13.port, ours12.port], "--protocols", "TLSv1.2", "--fresh")
    assert [ok(r)["protocol"] for r in results] == ["TLSv1.2", "TLSv1.2"]
    assert [i.version for i in infos(served(ours13) + served(ours12))] == ["TLSv1.2", "TLSv1.2"]


def test_client_rejecting_bc_server_certificate_through_connect(peers: Peers, bc: Java) -> None:
    """An untrusted BC server certificate: our connect() raises UnknownCA, and BC receives the
    unknown_ca alert we send. BC writes its flight one record at a time: closing the socket at
    once would answer the rest with a TCP reset, and BC would see a broken pipe instead of the
    alert (RFC 8446 §6.2); connect() closes with TLSSocket's lingering close (linger.py)."""
    server = bc.server(leaves=["untrusted"])
    with pytest.raises(UnknownCA):
        dial(server.port, client_config(peers))
    (record,) = server.results()
    assert record.get("alert_received") == "unknown_ca", record


def test_client_rejecting_bc_server_certificate(peers: Peers, bc: Java) -> None:
    """The same through TLSSocket, closed with its lingering close after the failure: BC
    reads our unknown_ca (RFC 8446 §6.2)."""
    server = bc.server(leaves=["untrusted"], connections=2)
    for version in ("TLSv1.3", "TLSv1.2"):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)
        connection = ClientConnection(client_config(peers, max_version=version), "localhost")
        tls = TLSSocket(sock, connection)
        with pytest.raises(UnknownCA):
            tls.do_handshake()
        tls.close()
    assert [r.get("alert_received") for r in server.results()] == ["unknown_ca"] * 2


def test_bc_client_rejecting_server_certificate(peers: Peers, bc: Java) -> None:
    """BC refuses our untrusted certificate with an alert, which our server reports."""
    ours = ours_with(peers, "untrusted")
    (result,) = bc.client(ours.port)
    assert result.get("alert_sent") == "certificate_unknown", result
    error = ours.next_connection().error
    assert isinstance(error, AlertReceived), repr(error)
    assert alert_name(error.description) == "certificate_unknown"
