"""Interop with Java's JSSE (OpenJDK 17's SunJSSE provider), both directions, over 127.0.0.1.

JSSE runs in its own JVM: ``java_peer/TlsPeer.java`` (JDK only, compiled once per session by
the ``java`` fixture) serves or makes several connections per run, since a JVM is slow to start,
and prints one JSON record per connection with what JSSE negotiated (protocol, suite, ALPN,
whether the session was resumed, the peer's certificate), the bytes it received, whether the
close was clean, or the error it ran into. Each test checks both ends' view of the connections.

Coverage: TLS 1.3 suites x groups (x25519, P-256/384/521, x448) x server
certificates (RSA, ECDSA P-256/P-384, Ed25519); TLS 1.2 ECDHE-ECDSA/RSA with AES-GCM and
ChaCha20 and DHE-RSA with RFC 7919 groups; resumption (TLS 1.3 tickets, TLS 1.2 session IDs and
RFC 5077 tickets); ALPN; client certificates (need/want, missing); HelloRetryRequest; KeyUpdate
both ways (JSSE sends its own when its key limit, ``jdk.tls.keyLimits``, is reached); 1 MiB
transfers; version negotiation and the downgrade sentinel.

What JSSE 17 cannot do here: it exports no keying material (no RFC 5705 API before Java 24) and
chooses groups only per JVM (``jdk.tls.namedGroups``; ``SSLParameters.setNamedGroups`` is Java
20+), so a JSSE client run covers one group list. Its client sends a single key share, for the
first of its groups. JSSE has no ``isResumed()``: the peer calls a session resumed when it was
created before the handshake began (a resumed session keeps its original creation time).

No tlsmachine bugs are open here. Found with these tests, and fixed:

* our client's first ClientHello had no psk_key_exchange_modes, so JSSE (RFC 8446 §4.2.9)
  issued no NewSessionTicket and our client never resumed TLS 1.3 with it;
* JSSE's server sends a change_cipher_spec after its HelloRetryRequest and another after its
  ServerHello; our client failed on the second, where RFC 8446 §5 says to drop any.

And in JSSE 17 itself: it strips the leading zeros of a TLS 1.3 FFDHE shared secret
(JDK-8328046; so no ffdhe group in the TLS 1.3 matrix); with TLS 1.3 and a client certificate
missing, it sends bad_certificate (not certificate_required); in TLS 1.2 it needs an ECDSA
certificate's curve in the client's supported_groups (RFC 8422 §5.1, as we do); its client
sends SNI only for names with a dot (the peer sets it); and its SSLSocket mixes up records when
its writer thread reaches the key limit while its reader thread answers a KeyUpdate (the
KeyUpdate tests write and read in one thread).
"""

from __future__ import annotations

import pytest
from java_peer import Java, compiled
from peer_checks import LEAVES13 as SCHEMES13
from peer_checks import (
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
    served,
    sha256,
    try_dial,
)
from peers import TIMEOUT, Peers, client_config, dial, server_certificates
from tls12_peers import cached_sessions

from tlsmachine import AlertReceived, Event, InMemoryClientSessionStore, KeyUpdated, ServerConfig
from tlsmachine.enums import AlertDescription
from tlsmachine.errors import CertificateRequired, NoApplicationProtocol, ProtocolVersionError

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

SUITES13 = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]
GROUPS13 = ["x25519", "secp256r1", "secp384r1", "secp521r1", "x448"]
"""Not ffdhe2048: JSSE 17 strips the leading zero bytes of a TLS 1.3 FFDHE shared secret
(JDK-8328046, fixed in later JDKs), where RFC 8446 §7.4.1 keeps them, so about one handshake
in 256 derives other keys ("Tag mismatch"); our side of that rule is checked in memory (the
tlsfuzzer dhe-shared-secret-padding replay) and against the other peers' FFDHE."""
LEAVES13 = {leaf: SCHEMES13[leaf] for leaf in ("rsa-2048", "ecdsa-p256", "ecdsa-p384", "ed25519")}
"""Leaf -> its TLS 1.3 CertificateVerify scheme (:data:`peer_checks.LEAVES13`), in test order."""
CASES12 = [
    # (leaf, suite, group): every TLS 1.2 AEAD suite family JSSE and we share; for ECDSA leaves
    # the client lists the certificate's curve too (RFC 8422 §5.1: JSSE checks it)
    ("ecdsa-p256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "secp256r1"),
    ("ecdsa-p256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "x25519"),
    ("ecdsa-p384", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "secp384r1"),
    ("rsa-2048", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "x25519"),
    ("rsa-2048", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "secp521r1"),
    ("rsa-2048", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "x448"),
    ("rsa-2048", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "ffdhe2048"),
    ("rsa-2048", "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "ffdhe3072"),
]
LEAF_CURVE = {"ecdsa-p256": ["secp256r1"], "ecdsa-p384": ["secp384r1"]}
MIB = 1 << 20


# -- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
def java(peers: Peers, tmp_path_factory: pytest.TempPathFactory) -> Java:
    """Starts JSSE peers (TlsPeer.java, compiled once per session: javac missing, the tests
    fail); the ``peers`` registry stops them at teardown."""
    return Java(peers, compiled(tmp_path_factory))


# -- TLS 1.3: suites x groups x certificates ---------------------------------------------------


@pytest.mark.parametrize("leaf", list(LEAVES13))
def test_client_tls13_matrix_with_jsse_server(peers: Peers, java: Java, leaf: str) -> None:
    cases = [(suite, group) for suite in SUITES13 for group in GROUPS13]
    server = java.server("--protocols", "TLSv1.3", leaves=[leaf], connections=len(cases))
    seen = dial_tls13_cases(peers, server.port, cases)
    assert seen == [(s, g, "TLSv1.3", LEAVES13[leaf]) for s, g in cases]
    results = server.results()
    assert [(ok(r)["protocol"], r["cipher_suite"], r["received"]) for r in results] == [
        ("TLSv1.3", s, f"{s} {g}") for s, g in cases
    ]
    assert all(r["clean_close"] and not r["resumed"] for r in results)


@pytest.mark.parametrize("group", GROUPS13)
def test_jsse_client_tls13_matrix_with_server(peers: Peers, java: Java, group: str) -> None:
    """One JSSE run per group (JSSE's groups are per JVM): each suite with each certificate."""
    servers = {leaf: ours_with(peers, leaf) for leaf in LEAVES13}
    ports = [servers[leaf].port for leaf in LEAVES13] * len(SUITES13)
    suites = [s for s in SUITES13 for _ in LEAVES13]
    options = ["--protocols", "TLSv1.3", "--groups", group, "--fresh", "--message", group]
    for suite in suites:
        options += ["--suites", suite]
    results = java.client(ports, *options)
    assert [(r.get("cipher_suite"), r.get("error")) for r in results] == [(s, None) for s in suites]
    assert all(r["received"] == group and r["clean_close"] for r in results)
    assert [r["peer_cert_sha256"] for r in results] == [
        cert_sha256(peers, leaf) for _ in SUITES13 for leaf in LEAVES13
    ]
    for leaf, ours in servers.items():
        seen = infos(served(ours, len(SUITES13)))
        assert [(i.cipher_suite, i.group, i.signature_scheme) for i in seen] == [
            (s, group, LEAVES13[leaf]) for s in SUITES13
        ]
        assert all(
            (i.version, i.hello_retry, i.server_name) == ("TLSv1.3", False, "localhost")
            for i in seen
        )


# -- TLS 1.2 -------------------------------------------------------------------------------------


def test_client_tls12_suites_with_jsse_server(peers: Peers, java: Java) -> None:
    leaves = ["ecdsa-p256", "ecdsa-p384", "rsa-2048"]
    # one JSSE server per leaf, so that each case knows the certificate it gets
    servers = {
        leaf: java.server(
            "--protocols",
            "TLSv1.2",
            leaves=[leaf],
            connections=sum(c[0] == leaf for c in CASES12),
        )
        for leaf in leaves
    }
    ports = {leaf: server.port for leaf, server in servers.items()}
    seen = dial_tls12_cases(peers, ports, CASES12, LEAF_CURVE)
    assert seen == [(s, g, "TLSv1.2") for _, s, g in CASES12]
    for leaf, server in servers.items():
        results = server.results()
        assert [(ok(r)["protocol"], r["cipher_suite"], r["received"]) for r in results] == [
            ("TLSv1.2", s, s) for lf, s, _ in CASES12 if lf == leaf
        ]


def test_jsse_client_tls12_suites_with_server(peers: Peers, java: Java) -> None:
    servers = [
        ours_with(peers, leaf, tls12_cipher_suites=(suite,), groups=(group,))
        for leaf, suite, group in CASES12
    ]
    options = ["--protocols", "TLSv1.2", "--fresh"]
    results = java.client([s.port for s in servers], *options)
    assert [(r.get("protocol"), r.get("cipher_suite"), r.get("error")) for r in results] == [
        ("TLSv1.2", s, None) for _, s, _ in CASES12
    ]
    assert all(r["received"] == "hello" and r["clean_close"] for r in results)
    seen = [served(ours)[0].info for ours in servers]
    assert [(i.version, i.cipher_suite, i.group) for i in seen if i] == [
        ("TLSv1.2", s, g) for _, s, g in CASES12
    ]


def test_server_skips_ecdsa_certificate_on_a_curve_jsse_did_not_list(
    peers: Peers, java: Java
) -> None:
    """RFC 8422 §5.1: in TLS 1.2 the client's supported_groups also limits the curve of an
    ECDSA certificate. JSSE offering only x25519 gets our RSA certificate, or a handshake
    failure from a server with only a P-256 one."""
    both = peers.our_server(
        ServerConfig(certificates=server_certificates(peers, "ecdsa-p256", "rsa-2048"))
    )
    ecdsa_only = ours_with(peers, "ecdsa-p256")
    options = ["--protocols", "TLSv1.2", "--groups", "x25519", "--fresh"]
    first, second = java.client([both.port, ecdsa_only.port], *options)
    assert ok(first)["cipher_suite"].startswith("TLS_ECDHE_RSA_"), first
    assert first["peer_cert_sha256"] == cert_sha256(peers, "rsa-2048")
    assert "handshake_failure" in second["error"], second
    (info,) = infos(served(both))
    assert (info.group, info.signature_scheme) == ("x25519", "rsa_pss_rsae_sha256")
    assert ecdsa_only.next_connection().error is not None


# -- resumption ----------------------------------------------------------------------------------

VERSIONS = {
    # test id -> (our max_version, JSSE --protocols, JSSE extra options)
    "tls1.3": ("TLSv1.3", "TLSv1.3", ()),
    "tls1.2-ticket": ("TLSv1.2", "TLSv1.2", ()),
    "tls1.2-session-id": ("TLSv1.2", "TLSv1.2", ("--no-tickets",)),
}


@pytest.mark.parametrize("version", list(VERSIONS))
def test_client_resumes_with_jsse_server(peers: Peers, java: Java, version: str) -> None:
    ours_max, protocols, extra = VERSIONS[version]
    server = java.server("--protocols", protocols, *extra, connections=3)
    config = client_config(peers, max_version=ours_max, session_store=InMemoryClientSessionStore())
    seen = dial_each(server.port, config, [b"resume %d" % i for i in range(3)])
    assert [(i.version, i.resumed) for i in seen] == [
        (protocols, False),
        (protocols, True),
        (protocols, True),
    ]
    results = server.results()
    assert [(ok(r)["resumed"], r["received"]) for r in results] == [
        (False, "resume 0"),
        (True, "resume 1"),
        (True, "resume 2"),
    ]
    assert seen[1].peer_certificates[0] == peers.pki.leaves["ecdsa-p256"].cert


@pytest.mark.parametrize("version", list(VERSIONS))
def test_jsse_client_resumes_with_server(peers: Peers, java: Java, version: str) -> None:
    _, protocols, extra = VERSIONS[version]
    config = ServerConfig(certificates=server_certificates(peers, "rsa-2048"))
    ours = peers.our_server(config)
    results = java.client(ours.port, "--protocols", protocols, "--connections", "3", *extra)
    assert [(ok(r)["protocol"], r["resumed"]) for r in results] == [
        (protocols, False),
        (protocols, True),
        (protocols, True),
    ]
    seen = infos(served(ours, 3))
    assert [(i.version, i.resumed) for i in seen] == [
        (protocols, False),
        (protocols, True),
        (protocols, True),
    ]
    if version == "tls1.2-session-id":
        assert cached_sessions(config) >= 1


# -- ALPN ----------------------------------------------------------------------------------------


def test_client_alpn_with_jsse_server(peers: Peers, java: Java) -> None:
    server = java.server("--alpn", "h2,http/1.1", connections=2)
    with dial(server.port, client_config(peers, alpn_protocols=("http/1.1", "h2"))) as tls:
        assert info_of(tls).alpn_protocol == "h2"  # the server's preference (RFC 7301 §3.2)
        echo(tls, b"alpn")
    with pytest.raises(AlertReceived) as caught:
        dial(server.port, client_config(peers, alpn_protocols=("h3",)))
    assert caught.value.description == AlertDescription.NO_APPLICATION_PROTOCOL
    first, second = server.results()
    assert ok(first)["alpn"] == "h2"
    assert "No matching application layer protocol" in second["error"], second


def test_jsse_client_alpn_with_server(peers: Peers, java: Java) -> None:
    matching = ours_with(peers, alpn_protocols=("http/1.1", "h2"))
    disjoint = ours_with(peers, alpn_protocols=("h3",))
    first, second = java.client([matching.port, disjoint.port], "--alpn", "h2,http/1.1")
    assert ok(first)["alpn"] == "http/1.1"
    assert "no_application_protocol" in second["error"], second
    (info,) = infos(served(matching))
    assert info.alpn_protocol == "http/1.1"
    assert isinstance(disjoint.next_connection().error, NoApplicationProtocol)


# -- client certificates -------------------------------------------------------------------------


def test_client_certificates_to_jsse_server(peers: Peers, java: Java) -> None:
    cases = [(v, leaf) for v in ("TLSv1.3", "TLSv1.2") for leaf in ("rsa-2048", "ecdsa-p384")]
    server = java.server("--client-auth", "need", connections=len(cases))
    seen = []
    for version, leaf in cases:
        config = client_config(
            peers, max_version=version, certificates=server_certificates(peers, leaf)
        )
        info = try_dial(server.port, config, leaf.encode())
        seen.append(info if isinstance(info, str) else info.version)
    assert seen == [v for v, _ in cases]
    results = server.results()
    assert [(ok(r)["protocol"], r["peer_cert_sha256"]) for r in results] == [
        (v, cert_sha256(peers, leaf)) for v, leaf in cases
    ]


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_client_without_certificate_with_jsse_server(
    peers: Peers, java: Java, version: str
) -> None:
    """need: JSSE refuses the empty Certificate, with bad_certificate in TLS 1.3 too (RFC 8446
    §4.4.2.4 suggests certificate_required: JSSE's choice); want: it goes on without one."""
    need = java.server("--client-auth", "need", "--protocols", version)
    want = java.server("--client-auth", "want", "--protocols", version)
    with pytest.raises(AlertReceived) as caught, dial(need.port, client_config(peers)) as tls:
        echo(tls, b"no cert")  # TLS 1.3: the alert follows our Finished
    assert caught.value.description == AlertDescription.BAD_CERTIFICATE
    (refused,) = need.results()
    assert "Empty client certificate chain" in refused["error"], refused
    with dial(want.port, client_config(peers)) as tls:
        echo(tls, b"no cert")
    (accepted,) = want.results()
    assert (ok(accepted)["peer_subject"], accepted["received"]) == (None, "no cert")


def test_jsse_client_certificates_to_server(peers: Peers, java: Java) -> None:
    """JSSE chooses among its two certificates by our CertificateRequest."""
    servers = [
        ours_with(
            peers, client_auth="required", client_cafile=str(peers.pki.ca_path), max_version=v
        )
        for v in ("TLSv1.3", "TLSv1.2")
    ]
    for leaf in ("rsa-2048", "ecdsa-p384"):
        results = java.client([s.port for s in servers], leaf=leaf)
        assert [ok(r)["protocol"] for r in results] == ["TLSv1.3", "TLSv1.2"]
        for ours in servers:
            (info,) = infos(served(ours))
            assert info.peer_certificates[0] == peers.pki.leaves[leaf].cert


def test_jsse_client_certificate_across_resumption(peers: Peers, java: Java) -> None:
    """A resumed handshake has no Certificate: we report the session's client chain."""
    anchors = {"client_cafile": str(peers.pki.ca_path), "client_auth": "required"}
    servers = [ours_with(peers, max_version=v, **anchors) for v in ("TLSv1.3", "TLSv1.2")]
    ports = [s.port for s in servers]
    results = java.client(ports, "--connections", "2", leaf="ecdsa-p256")
    assert [(ok(r)["protocol"], r["resumed"]) for r in results] == [
        ("TLSv1.3", False),
        ("TLSv1.3", True),
        ("TLSv1.2", False),
        ("TLSv1.2", True),
    ]
    leaf = peers.pki.leaves["ecdsa-p256"].cert
    for ours in servers:
        seen = infos(served(ours, 2))
        assert [(i.resumed, i.peer_certificates[0]) for i in seen] == [(False, leaf), (True, leaf)]


def test_jsse_client_without_certificate_with_server(peers: Peers, java: Java) -> None:
    anchors = {"client_cafile": str(peers.pki.ca_path)}
    required13 = ours_with(peers, client_auth="required", **anchors)
    required12 = ours_with(peers, client_auth="required", max_version="TLSv1.2", **anchors)
    optional = ours_with(peers, client_auth="optional", **anchors)
    results = java.client([required13.port, required12.port, optional.port])
    assert "certificate_required" in results[0]["error"], results[0]  # RFC 8446 §4.4.2.4
    assert "error" in results[1], results[1]
    assert ok(results[2])["received"] == "hello"
    assert isinstance(required13.next_connection().error, CertificateRequired)
    assert required12.next_connection().error is not None
    (info,) = infos(served(optional))
    assert info.peer_certificates == ()


# -- HelloRetryRequest ---------------------------------------------------------------------------


@pytest.mark.parametrize("compat", [True, False], ids=["middlebox-compat", "no-compat"])
def test_client_hello_retry_with_jsse_server(peers: Peers, java: Java, compat: bool) -> None:
    """JSSE wants secp384r1; we sent an x25519 share: HelloRetryRequest, then resumption
    through another one (JSSE checks our binder over message_hash(CH1) and the retry, RFC 8446
    §4.2.11.2). In middlebox compatibility mode (a legacy_session_id, RFC 8446 D.4) JSSE adds a
    change_cipher_spec after the HelloRetryRequest and another after the ServerHello: we drop
    both (§5)."""
    server = java.server("--groups", "secp384r1", connections=2)
    config = client_config(
        peers,
        groups=("x25519", "secp384r1"),
        key_share_groups=("x25519",),
        middlebox_compatibility=compat,
        session_store=InMemoryClientSessionStore(),
    )
    seen = dial_each(server.port, config, (b"retry", b"retry again"))
    assert [(i.group, i.hello_retry, i.resumed) for i in seen] == [
        ("secp384r1", True, False),
        ("secp384r1", True, True),
    ]
    results = server.results()
    assert [(ok(r)["protocol"], r["resumed"], r["received"]) for r in results] == [
        ("TLSv1.3", False, "retry"),
        ("TLSv1.3", True, "retry again"),
    ]


def test_jsse_client_hello_retry_with_server(peers: Peers, java: Java) -> None:
    """JSSE sends key shares for its first two groups (x25519, secp256r1); we insist on
    secp384r1: a HelloRetryRequest, then resumption through another one (its PSK binder covers
    the retry, RFC 8446 §4.2.11.2)."""
    ours = ours_with(peers, groups=("secp384r1", "x25519"), strict_group_preference=True)
    options = ["--groups", "x25519,secp256r1,secp384r1", "--connections", "2"]
    results = java.client(ours.port, *options)
    assert [ok(r)["resumed"] for r in results] == [False, True]
    seen = infos(served(ours, 2))
    assert [(i.group, i.hello_retry, i.resumed) for i in seen] == [
        ("secp384r1", True, False),
        ("secp384r1", True, True),
    ]


# -- KeyUpdate (RFC 8446 §4.6.3) and large transfers -------------------------------------------


def test_client_key_updates_with_jsse_server(peers: Peers, java: Java) -> None:
    """We update our keys (asking JSSE to update too) between chunks; JSSE, with a key limit
    of 64 KiB, also updates its own by itself while it echoes 1 MiB."""
    server = java.server("--key-limit", "65536", connections=1)
    events: list[Event] = []
    data = payload(MIB)
    with dial(server.port, client_config(peers), on_event=events.append) as tls:
        echo_chunks(tls, data, 65536, update_every=4)
    (result,) = server.results()
    assert (ok(result)["received_length"], result["received_sha256"]) == (MIB, sha256(data))
    assert result["clean_close"]
    updates = [e for e in events if isinstance(e, KeyUpdated)]
    assert len(updates) >= 16  # JSSE's own (1 MiB / 64 KiB) and its answers to ours


@pytest.mark.parametrize("jsse_updates", [False, True], ids=["ours", "both"])
def test_key_updates_with_jsse_client(peers: Peers, java: Java, jsse_updates: bool) -> None:
    """1 MiB from JSSE, echoed: our server updates its keys every 64 KiB and asks JSSE to
    update too; with a 64 KiB key limit JSSE also updates by itself."""
    ours = KeyUpdatingServer(
        ServerConfig(certificates=server_certificates(peers, "ecdsa-p256")), 65536
    )
    peers.servers.append(ours)  # type: ignore[arg-type]
    # --lockstep: JSSE 17 corrupts its output when its writer thread hits the key limit while
    # its reader thread answers our KeyUpdate (an IndexOutOfBoundsException inside JSSE, or a
    # record under the wrong key: our bad_record_mac); one thread avoids that JSSE race
    options = ["--size", str(MIB), "--lockstep"]
    options += ["--key-limit", "65536"] if jsse_updates else []
    (result,) = java.client(ours.port, *options)
    assert ok(result)["received_sha256"] == sha256(payload(MIB))
    assert result["clean_close"]
    assert ours.done.wait(TIMEOUT)
    assert ours.errors == []
    assert bytes(ours.received) == payload(MIB)
    updates = [e for e in ours.events if isinstance(e, KeyUpdated)]
    assert len(updates) >= (30 if jsse_updates else 15)


def test_jsse_client_second_handshake_with_server(peers: Peers, java: Java) -> None:
    """JSSE's startHandshake() on an established connection: in TLS 1.3 a KeyUpdate (we
    answer its request with ours, RFC 8446 §4.6.3); in TLS 1.2 a renegotiation, which we
    refuse with a no_renegotiation warning (RFC 5246 §7.2.2, RFC 5746) and JSSE gives up."""
    events: list[Event] = []
    ours13 = ours_with(peers)
    ours13.server.on_event = events.append
    ours12 = ours_with(peers, max_version="TLSv1.2")
    first, second = java.client([ours13.port, ours12.port], "--renegotiate")
    assert (ok(first)["protocol"], first["renegotiate"], first["clean_close"]) == (
        "TLSv1.3",
        "again",
        True,
    )
    assert "no_renegotiation" in second["renegotiate_error"], second
    (connection,) = served(ours13)
    assert connection.received == b"helloagain"
    assert len([e for e in events if isinstance(e, KeyUpdated)]) == 2  # JSSE's, then ours
    refused = ours12.next_connection()
    assert refused.received in (b"hello", b"helloagain")  # JSSE may write before it reads
    assert isinstance(refused.error, AlertReceived)
    assert refused.error.description == AlertDescription.HANDSHAKE_FAILURE


# -- large transfers -----------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_client_large_transfer_with_jsse_server(peers: Peers, java: Java, version: str) -> None:
    server = java.server("--protocols", version, leaves=["rsa-2048"])
    data = payload(MIB)
    with dial(server.port, client_config(peers)) as tls:
        assert info_of(tls).version == version
        echo_chunks(tls, data, 256 * 1024)
    (result,) = server.results()
    assert (ok(result)["received_length"], result["received_sha256"]) == (MIB, sha256(data))
    assert result["clean_close"]


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_jsse_client_large_transfer_with_server(peers: Peers, java: Java, version: str) -> None:
    ours = ours_with(peers, "rsa-2048")
    (result,) = java.client(ours.port, "--protocols", version, "--size", str(MIB))
    assert (ok(result)["protocol"], result["received_sha256"]) == (version, sha256(payload(MIB)))
    (connection,) = served(ours)
    assert connection.received == payload(MIB)
    assert connection.clean_close


# -- version negotiation (RFC 8446 §4.1.3, §4.2.1) ----------------------------------------------


def test_client_version_negotiation_with_jsse_server(peers: Peers, java: Java) -> None:
    """JSSE at most TLS 1.2 with us 1.3-capable; JSSE 1.3-capable (its TLS 1.2 ServerHello
    carries DOWNGRD\x01) with us at most TLS 1.2; JSSE TLS 1.2 only with us TLS 1.3 only."""
    tls12_only = java.server("--protocols", "TLSv1.2", connections=2)
    both = java.server("--protocols", "TLSv1.3,TLSv1.2")
    with dial(tls12_only.port, client_config(peers)) as tls:
        assert info_of(tls).version == "TLSv1.2"  # no downgrade sentinel: JSSE is 1.2-only
        echo(tls, b"12")
    with dial(both.port, client_config(peers, max_version="TLSv1.2")) as tls:
        assert info_of(tls).version == "TLSv1.2"  # the sentinel is for 1.3 clients
        echo(tls, b"12")
    with pytest.raises(AlertReceived) as caught:
        dial(tls12_only.port, client_config(peers, min_version="TLSv1.3"))
    assert caught.value.description == AlertDescription.PROTOCOL_VERSION
    first, second = tls12_only.results()
    assert ok(first)["protocol"] == "TLSv1.2"
    assert "protocol" in second["error"].lower(), second
    assert ok(both.results()[0])["protocol"] == "TLSv1.2"


def test_jsse_client_version_negotiation_with_server(peers: Peers, java: Java) -> None:
    ours13 = ours_with(peers)
    ours12 = ours_with(peers, max_version="TLSv1.2")
    results = java.client([ours13.port, ours12.port], "--protocols", "TLSv1.2")
    assert [ok(r)["protocol"] for r in results] == ["TLSv1.2", "TLSv1.2"]
    (result,) = java.client(ours12.port, "--protocols", "TLSv1.3,TLSv1.2")
    assert ok(result)["protocol"] == "TLSv1.2"  # we set no downgrade sentinel: JSSE goes on
    (refused,) = java.client(ours12.port, "--protocols", "TLSv1.3")
    assert "protocol_version" in refused["error"], refused
    assert [i.version for i in infos(served(ours13))] == ["TLSv1.2"]
    assert [i.version for i in infos(served(ours12, 2))] == ["TLSv1.2", "TLSv1.2"]
    assert isinstance(ours12.next_connection().error, ProtocolVersionError)
