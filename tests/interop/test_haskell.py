"""Interop with the Haskell ``tls`` library (tls-1.5.8, Debian libghc-tls-dev), both directions.

``tls`` runs as ``haskell_peer/TlsPeer.hs``, compiled with ghc once per session
(``haskell_peer.py``), which prints one JSON record per connection: the version, cipher suite,
group, TLS 1.3 handshake mode, whether the session was resumed, HelloRetryRequest, ALPN, SNI,
0-RTT, extended master secret, the peer's certificate, the bytes it received, or the error and
the alert it sent or received. Each test checks both ends' view of the same connections.

Coverage: TLS 1.3 suites (AES-GCM, ChaCha20, AES-128-CCM) x groups (x25519, x448,
P-256/384/521, ffdhe2048) x server certificates (ECDSA P-256, and P-384 on our side; RSA with
RSA-PSS; Ed25519); TLS 1.2 ECDHE-ECDSA (ECDSA and Ed25519), ECDHE-RSA and DHE-RSA (RFC 7919)
AEAD suites, all with the extended master secret, and our refusal of DHE parameters we did not
offer; resumption both ways (TLS 1.3 tickets, TLS 1.2 session IDs); HelloRetryRequest both
ways, and resumption through one; ALPN; SNI (and none); client certificates both ways
(required, optional, missing); 0-RTT both ways; KeyUpdate both ways; 1 MiB transfers;
close_notify; version, suite, group, ALPN and certificate failures, each with the alert both
sides saw.

What tls-1.5.8 does not do, or not expose, and so is not tested:

* it signs with ECDSA P-256 keys only (``kxSupportedPrivKeyEC``: "constant time for P256
  only"): a P-384 server key gives "credential not found", a P-384 client key "mismatched or
  unsupported private key pair"; it verifies P-384 signatures, so our P-384 leaves are tested;
* no exporter (RFC 5705/8446 §7.5) and no signature scheme in ``Information``: our side's
  scheme is checked (tls's server prefers rsa_pss_rsae_sha512 for RSA);
* no TLS 1.2 session tickets (RFC 5077): TLS 1.2 resumes by session ID;
* it does not say whether a TLS 1.2 handshake resumed: the peer reports its server's session
  lookup, and its client's "no Certificate message seen" (TLS 1.3 has the handshake mode);
* a resuming tls client sends its key share for the session's group, so resuming after a
  HelloRetryRequest needs none: resumption *through* a retry is tested with our client only;
* with TLS 1.3 disabled, a tls server negotiates from legacy_version: a TLS-1.3-only
  ClientHello gets handshake_failure ("no cipher in common") instead of protocol_version
  (RFC 8446 §4.2.1);
* a fatal alert received during the handshake only shows in the text of tls's error (the
  peer parses it out of it).

No tlsmachine bugs were found with these tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import peer_checks
import pytest
from haskell_peer import Haskell, build_haskell_peer, received
from peer_checks import (
    LEAVES13,
    cert_sha256,
    check_client_alpn,
    check_client_anonymous,
    check_client_auth_refusals,
    check_client_certificates,
    check_client_key_updates,
    check_client_sni,
    check_no_common_refusals,
    check_untrusted_by_peer,
    check_untrusted_peer_server,
    check_version_refusals,
    client_auth_servers,
    dial_each,
    dial_tls12_cases,
    dial_tls13_cases,
    echo,
    echo_chunks,
    failed_with,
    info_of,
    key_updates,
    no_common_configs,
    no_common_peer_servers,
    no_common_servers,
    ok,
    ours_with,
    payload,
    refused,
    served_cleanly,
    sha256,
    version_servers,
)
from peers import Peers, client_config, dial, read_exactly

from tlsmachine import (
    ClientConfig,
    HandshakeComplete,
    InMemoryClientSessionStore,
)
from tlsmachine.enums import AlertDescription
from tlsmachine.errors import (
    InsufficientSecurity,
    NoApplicationProtocol,
)

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

SUITES13 = [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_AES_128_CCM_SHA256",
]
GROUPS13 = ["x25519", "x448", "secp256r1", "secp384r1", "secp521r1", "ffdhe2048"]
THEIR_SCHEMES = {
    # tls's leaf -> its scheme: tls signs ECDSA with P-256 only, and RSA-PSS with SHA-512 when
    # the client allows it (ours lists rsa_pss_rsae_sha256 first; the server chooses)
    "ecdsa-p256": "ecdsa_secp256r1_sha256",
    "rsa-2048": "rsa_pss_rsae_sha512",
    "ed25519": "ed25519",
}
CASES12 = [
    # (leaf, group, suite); with the P-256 leaf we offer secp256r1 too, which RFC 8422 §5.1
    # makes the curves of ECDSA certificates as well (tls checks it, and so do we)
    ("ecdsa-p256", "x25519", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    ("ecdsa-p256", "secp256r1", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    ("ed25519", "secp256r1", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    ("rsa-2048", "secp521r1", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    ("rsa-2048", "x448", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    ("rsa-2048", "x25519", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    ("rsa-2048", "ffdhe2048", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"),
    ("rsa-2048", "ffdhe3072", "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384"),
    ("rsa-2048", "ffdhe2048", "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
]
LEAF_CURVES = {"ecdsa-p256": ["secp256r1"]}
"""The curves a TLS 1.2 client offers after a case's group, by leaf (RFC 8422 §5.1)."""
MIB = 1 << 20


def groups12(leaf: str, group: str) -> tuple[str, ...]:
    """What a TLS 1.2 client of a :data:`CASES12` case offers: ``group`` first."""
    return tuple(dict.fromkeys([group, *LEAF_CURVES.get(leaf, [])]))


# -- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def tlspeer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The peer program, built once per session (a missing ghc or libghc-tls-dev fails)."""
    return build_haskell_peer(tmp_path_factory.mktemp("haskell-peer"))


@pytest.fixture
def haskell(peers: Peers, tlspeer: Path) -> Haskell:
    """Starts ``tls`` peers; the ``peers`` registry stops them at teardown."""
    return Haskell(peers, tlspeer)


def try_dial(port: int, config: ClientConfig, message: bytes) -> HandshakeComplete | str:
    """One connection of a matrix (:func:`peer_checks.try_dial`), checking the echo and tls's
    close_notify."""
    return peer_checks.try_dial(port, config, message, closed_by="tls")


def summary(record: dict[str, Any]) -> tuple[Any, ...]:
    return (ok(record)["version"], record["cipher"], record["group"], record["resumed"])


# -- TLS 1.3: suites x groups x certificates ---------------------------------------------------


@pytest.mark.parametrize("leaf", list(THEIR_SCHEMES))
def test_client_tls13_matrix_with_haskell_server(peers: Peers, haskell: Haskell, leaf: str) -> None:
    cases = [(suite, group) for suite in SUITES13 for group in GROUPS13]
    server = haskell.server("--versions", "1.3", leaf=leaf, connections=len(cases))
    seen = dial_tls13_cases(peers, server.port, cases, closed_by="tls")
    assert seen == [(s, g, "TLSv1.3", THEIR_SCHEMES[leaf]) for s, g in cases]
    results = server.results()
    assert [(summary(r), received(r), r["clean_close"]) for r in results] == [
        (("TLSv1.3", s, g, False), f"{s} {g}".encode(), True) for s, g in cases
    ]
    assert all(r["mode"] == "FullHandshake" and r["sni"] == "localhost" for r in results)


@pytest.mark.parametrize("group", GROUPS13)
def test_haskell_client_tls13_matrix_with_server(
    peers: Peers, haskell: Haskell, group: str
) -> None:
    """One run per group (the Haskell client offers that group only), one of our servers per
    suite, the certificates taking turns."""
    leaves = list(LEAVES13)
    ours = [
        ours_with(peers, leaves[i % 4], cipher_suites=(suite,)) for i, suite in enumerate(SUITES13)
    ]
    run = haskell.client(
        [o.port for o in ours], "--versions", "1.3", "--groups", group, "--resume", "no"
    )
    assert [(summary(r), received(r), r["clean_close"]) for r in run] == [
        (("TLSv1.3", s, group, False), b"hello", True) for s in SUITES13
    ]
    assert [r["peer_cert_sha256"] for r in run] == [
        cert_sha256(peers, leaves[i % 4]) for i in range(len(SUITES13))
    ]
    for i, server in enumerate(ours):
        (info,) = served_cleanly(server)
        assert (info.cipher_suite, info.group, info.signature_scheme, info.hello_retry) == (
            SUITES13[i],
            group,
            LEAVES13[leaves[i % 4]],
            False,
        )


# -- TLS 1.2 -------------------------------------------------------------------------------------


def test_client_tls12_with_haskell_server(peers: Peers, haskell: Haskell) -> None:
    """ECDHE-ECDSA (ECDSA and Ed25519 leaves), ECDHE-RSA and DHE-RSA (RFC 7919 ffdhe2048),
    each with the extended master secret (RFC 7627)."""
    servers = {
        leaf: haskell.server(
            "--versions", "1.2", leaf=leaf, connections=sum(c[0] == leaf for c in CASES12)
        )
        for leaf in dict.fromkeys(c[0] for c in CASES12)
    }
    ports = {leaf: server.port for leaf, server in servers.items()}
    cases = [(leaf, suite, group) for leaf, group, suite in CASES12]
    seen = dial_tls12_cases(peers, ports, cases, LEAF_CURVES, closed_by="tls")
    assert seen == [(s, g, "TLSv1.2") for _, g, s in CASES12]
    for leaf, server in servers.items():
        assert [(summary(r), r["ems"], received(r)) for r in server.results()] == [
            (("TLSv1.2", s, g, False), True, s.encode()) for lf, g, s in CASES12 if lf == leaf
        ]


def test_haskell_client_tls12_with_server(peers: Peers, haskell: Haskell) -> None:
    """The same cases, and an ECDSA P-384 certificate (tls verifies P-384 signatures, though
    it makes P-256 ones only)."""
    cases = [*CASES12, ("ecdsa-p384", "secp384r1", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384")]
    for leaf, group, suite in cases:
        ours = ours_with(peers, leaf, max_version="TLSv1.2", tls12_cipher_suites=(suite,))
        offered = ",".join(groups12(leaf, group))
        (record,) = haskell.client(
            ours.port, "--versions", "1.2", "--groups", offered, "--suites", suite
        )
        (info,) = served_cleanly(ours)
        assert (info.version, info.cipher_suite) == ("TLSv1.2", suite)
        assert info.group in offered.split(",")  # our server's preference among them
        assert (summary(record), record["ems"], received(record)) == (
            ("TLSv1.2", suite, info.group, False),
            True,
            b"hello",
        )
        assert record["peer_cert_sha256"] == cert_sha256(peers, leaf)


def test_client_refuses_dhe_parameters_it_did_not_offer(peers: Peers, haskell: Haskell) -> None:
    """Offered no FFDHE group, a DHE-RSA server falls back to its own parameters (tls's
    ffdhe2048); RFC 7919 §4 leaves the client to judge them, and we take only the FFDHE
    groups we offered (and RFC 3526 primes): insufficient_security."""
    server = haskell.server("--versions", "1.2", leaf="rsa-2048")
    config = client_config(
        peers,
        max_version="TLSv1.2",
        tls12_cipher_suites=("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",),
        groups=("x25519",),
    )
    with pytest.raises(InsufficientSecurity, match="not a known group"):
        dial(server.port, config)
    failed_with(server.results()[0], "insufficient_security", received_alert=True)


# -- resumption ----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_client_resumes_with_haskell_server(peers: Peers, haskell: Haskell, version: str) -> None:
    """TLS 1.3: a ticket (stateful: the ticket is the key of tls's session manager); TLS 1.2:
    the session ID, with the extended master secret (RFC 7627 §5.3)."""
    server = haskell.server("--versions", version, connections=3)
    config = client_config(peers, session_store=InMemoryClientSessionStore())
    seen = dial_each(server.port, config, [b"resume %d" % i for i in range(3)])
    scheme = "ecdsa_secp256r1_sha256" if version == "1.3" else None
    assert [(i.version, i.resumed) for i in seen] == [
        (f"TLSv{version}", False),
        (f"TLSv{version}", True),
        (f"TLSv{version}", True),
    ]
    if scheme:
        assert [i.signature_scheme for i in seen] == [scheme, None, None]
    results = server.results()
    assert [(ok(r)["resumed"], received(r)) for r in results] == [
        (False, b"resume 0"),
        (True, b"resume 1"),
        (True, b"resume 2"),
    ]
    if version == "1.3":
        assert [r["mode"] for r in results] == ["FullHandshake", "PreSharedKey", "PreSharedKey"]


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_haskell_client_resumes_with_server(peers: Peers, haskell: Haskell, version: str) -> None:
    ours = ours_with(peers, "rsa-2048")
    run = haskell.client(ours.port, "--versions", version, "--connections", "3")
    assert [(summary(r)[0], r["resumed"], r["clean_close"]) for r in run] == [
        (f"TLSv{version}", False, True),
        (f"TLSv{version}", True, True),
        (f"TLSv{version}", True, True),
    ]
    assert run[0]["peer_cert_sha256"] == cert_sha256(peers, "rsa-2048")
    assert [i.resumed for i in served_cleanly(ours, 3)] == [False, True, True]


# -- HelloRetryRequest (RFC 8446 §4.1.4) ---------------------------------------------------------


def test_client_hello_retry_with_haskell_server(peers: Peers, haskell: Haskell) -> None:
    """tls allows secp384r1 only; we sent an x25519 share: HelloRetryRequest, then resumption
    through another one (our binder covers message_hash(CH1) and the retry, RFC 8446
    §4.2.11.2)."""
    server = haskell.server("--versions", "1.3", "--groups", "secp384r1", connections=2)
    config = client_config(
        peers,
        groups=("x25519", "secp384r1"),
        key_share_groups=("x25519",),
        session_store=InMemoryClientSessionStore(),
    )
    seen = dial_each(server.port, config, (b"retry", b"retry again"))
    assert [(i.group, i.hello_retry, i.resumed) for i in seen] == [
        ("secp384r1", True, False),
        ("secp384r1", True, True),
    ]
    results = server.results()
    assert [(ok(r)["hello_retry"], r["resumed"], received(r)) for r in results] == [
        (True, False, b"retry"),
        (True, True, b"retry again"),
    ]


def test_haskell_client_hello_retry_with_server(peers: Peers, haskell: Haskell) -> None:
    """tls sends a key share for its first group (x25519); we insist on secp384r1: a
    HelloRetryRequest. Resuming, tls sends its share for the session's group at once (no
    retry)."""
    ours = ours_with(peers, groups=("secp384r1", "x25519"), strict_group_preference=True)
    run = haskell.client(
        ours.port, "--versions", "1.3", "--groups", "x25519,secp384r1", "--connections", "2"
    )
    assert [(ok(r)["group"], r["hello_retry"], r["resumed"]) for r in run] == [
        ("secp384r1", True, False),
        ("secp384r1", False, True),
    ]
    assert [(i.group, i.hello_retry, i.resumed) for i in served_cleanly(ours, 2)] == [
        ("secp384r1", True, False),
        ("secp384r1", False, True),
    ]


# -- ALPN and SNI --------------------------------------------------------------------------------


def test_client_alpn_with_haskell_server(peers: Peers, haskell: Haskell) -> None:
    check_client_alpn(peers, haskell.server("--alpn", "h2,http/1.1", connections=3))


def test_haskell_client_alpn_with_server(peers: Peers, haskell: Haskell) -> None:
    matching = ours_with(peers, alpn_protocols=("http/1.1", "h2"))
    disjoint = ours_with(peers, alpn_protocols=("h3",))
    first, second = haskell.client(
        [matching.port, disjoint.port], "--alpn", "h2,http/1.1", "--resume", "no"
    )
    assert ok(first)["alpn"] == "http/1.1"
    failed_with(second, "no_application_protocol", received_alert=True)
    (info,) = served_cleanly(matching)
    assert info.alpn_protocol == "http/1.1"
    assert isinstance(disjoint.next_connection().error, NoApplicationProtocol)


def test_client_sni_with_haskell_server(peers: Peers, haskell: Haskell) -> None:
    """A host name goes in server_name (RFC 6066 §3); an IP address does not."""
    check_client_sni(peers, haskell.server(connections=2), received)


def test_haskell_client_sni_with_server(peers: Peers, haskell: Haskell) -> None:
    ours = ours_with(peers)
    named, unnamed = (haskell.client(ours.port, "--sni", sni)[0] for sni in ("localhost", "none"))
    assert ok(named)["peer_cert_sha256"] == ok(unnamed)["peer_cert_sha256"]
    assert [i.server_name for i in served_cleanly(ours, 2)] == ["localhost", None]


# -- client certificates -------------------------------------------------------------------------


def test_client_certificates_to_haskell_server(peers: Peers, haskell: Haskell) -> None:
    check_client_certificates(peers, haskell.server, received, closed_by="tls")


def test_client_without_certificate_with_haskell_server(peers: Peers, haskell: Haskell) -> None:
    """required: tls refuses the empty Certificate with certificate_required (RFC 8446
    §4.4.2.4); optional: the connection goes on."""
    required13 = haskell.server("--versions", "1.3", "--client-auth", "required")
    required12 = haskell.server("--versions", "1.2", "--client-auth", "required")
    optional = haskell.server("--client-auth", "optional")
    alert13 = refused(required13.port, client_config(peers))
    alert12 = refused(required12.port, client_config(peers))
    assert alert13.description == AlertDescription.CERTIFICATE_REQUIRED
    assert alert12.description == AlertDescription.CERTIFICATE_REQUIRED
    failed_with(required13.results()[0], "certificate_required", received_alert=False)
    failed_with(required12.results()[0], "certificate_required", received_alert=False)
    check_client_anonymous(peers, optional, received)


@pytest.mark.parametrize("leaf", list(THEIR_SCHEMES))
def test_haskell_client_certificates_to_server(peers: Peers, haskell: Haskell, leaf: str) -> None:
    """TLS 1.3 (two connections: the second resumes, and we report the session's client
    chain) and TLS 1.2."""
    anchors = {"client_auth": "required", "client_cafile": str(peers.pki.ca_path)}
    ours13 = ours_with(peers, **anchors)
    run = haskell.client(ours13.port, "--versions", "1.3", "--connections", "2", leaf=leaf)
    assert [(ok(r)["version"], r["resumed"]) for r in run] == [
        ("TLSv1.3", False),
        ("TLSv1.3", True),
    ]
    cert = peers.pki.leaves[leaf].cert
    assert [(i.resumed, i.peer_certificates[0]) for i in served_cleanly(ours13, 2)] == [
        (False, cert),
        (True, cert),
    ]
    ours12 = ours_with(peers, max_version="TLSv1.2", **anchors)
    (record,) = haskell.client(ours12.port, "--versions", "1.2", leaf=leaf)
    assert ok(record)["version"] == "TLSv1.2"
    (info,) = served_cleanly(ours12)
    assert info.peer_certificates[0] == cert


def test_haskell_client_without_certificate_with_server(peers: Peers, haskell: Haskell) -> None:
    required13, required12, optional = client_auth_servers(peers)
    first, second, third = haskell.client(
        [required13.port, required12.port, optional.port], "--resume", "no"
    )
    failed_with(first, "certificate_required", received_alert=True)
    failed_with(second, "handshake_failure", received_alert=True)
    assert received(ok(third)) == b"hello"
    check_client_auth_refusals(required13, required12, optional)


# -- 0-RTT (RFC 8446 §2.3, §4.2.10) --------------------------------------------------------------


def test_client_early_data_to_haskell_server(peers: Peers, haskell: Haskell) -> None:
    """A full handshake takes a ticket allowing 0-RTT; the next connection sends early data,
    which tls accepts (RTT0 mode) and echoes with the rest."""
    server = haskell.server("--versions", "1.3", "--early-data", "16384", connections=2)
    store = InMemoryClientSessionStore()
    config = client_config(peers, session_store=store, early_data=True)
    accepted = []
    for message in (b"first", b"then"):
        with dial(server.port, config, early_data=b"early ") as tls:
            if info_of(tls).early_data_accepted:
                assert read_exactly(tls, 6) == b"early "  # the echo of our 0-RTT data
            else:
                echo(tls, b"early ")
            echo(tls, message)
            accepted.append((info_of(tls).early_data_accepted, tls.rejected_early_data))
    assert accepted == [(False, b"early "), (True, b"")]
    first, second = server.results()
    assert (ok(first)["mode"], first["early_data_accepted"], received(first)) == (
        "FullHandshake",
        False,
        b"early first",
    )
    assert (ok(second)["mode"], second["early_data_accepted"], received(second)) == (
        "RTT0",
        True,
        b"early then",
    )


def test_haskell_client_early_data_to_server(peers: Peers, haskell: Haskell) -> None:
    ours = ours_with(peers, max_early_data_size=16384)
    first, second = haskell.client(
        ours.port, "--versions", "1.3", "--connections", "2", "--early", "early "
    )
    assert (ok(first)["early_data_accepted"], received(first)) == (False, b"hello")
    assert (ok(second)["early_data_accepted"], second["mode"], received(second)) == (
        True,
        "RTT0",
        b"early hello",
    )
    one, two = ours.next_connection(), ours.next_connection()
    assert one.error is None and two.error is None, (one.error, two.error)
    assert one.info is not None and not one.info.early_data_accepted
    assert two.info is not None and two.info.early_data_accepted and two.info.resumed
    assert (two.early_data, two.received) == (6, b"early hello")


# -- KeyUpdate (RFC 8446 §4.6.3) and large transfers -------------------------------------------


def test_client_key_updates_with_haskell_server(peers: Peers, haskell: Haskell) -> None:
    """We update our keys (asking tls to update too) every 256 KiB; tls updates its own (and
    asks us to) after each 64 KiB it echoes, while 1 MiB goes through."""
    check_client_key_updates(
        peers, haskell.server("--versions", "1.3", "--key-update-every", "65536")
    )


@pytest.mark.parametrize("kind", ["oneway", "twoway"])
def test_haskell_client_key_update_with_server(peers: Peers, haskell: Haskell, kind: str) -> None:
    """tls updates its keys after the first echo (twoway: update_requested, and we answer with
    our own KeyUpdate), then the message goes both ways again."""
    ours = ours_with(peers)
    (record,) = haskell.client(ours.port, "--key-update", kind, "--message", "again")
    assert (received(ok(record)), record["key_updates"]) == (b"againagain", 1)
    connection = ours.next_connection()
    assert (connection.error, connection.received) == (None, b"againagain")
    updates = key_updates(connection.events)
    assert updates == (["receive", "send"] if kind == "twoway" else ["receive"])


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_client_large_transfer_with_haskell_server(
    peers: Peers, haskell: Haskell, version: str
) -> None:
    server = haskell.server("--versions", version, leaf="rsa-2048")
    data = payload(MIB)
    with dial(server.port, client_config(peers)) as tls:
        assert info_of(tls).version == f"TLSv{version}"
        echo_chunks(tls, data, 256 * 1024)
    assert tls.clean_close  # tls answered our close_notify with its own
    (record,) = server.results()
    assert (ok(record)["received_length"], record["received_sha256"]) == (MIB, sha256(data))
    assert record["clean_close"] is True


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_haskell_client_large_transfer_with_server(
    peers: Peers, haskell: Haskell, version: str
) -> None:
    ours = ours_with(peers, "rsa-2048")
    (record,) = haskell.client(ours.port, "--versions", version, "--size", str(MIB))
    assert (ok(record)["version"], record["received_length"]) == (f"TLSv{version}", MIB)
    assert (record["received_sha256"], record["clean_close"]) == (sha256(payload(MIB)), True)
    connection = ours.next_connection()
    assert connection.error is None, repr(connection.error)
    assert connection.received == payload(MIB)
    assert connection.clean_close  # tls's close_notify


# -- failures: versions, suites, groups, certificates -------------------------------------------


def test_client_version_negotiation_with_haskell_server(peers: Peers, haskell: Haskell) -> None:
    """tls at most TLS 1.2 with us 1.3-capable: TLS 1.2. tls TLS 1.3 only with us TLS 1.2 only:
    protocol_version (RFC 8446 §4.2.1). tls TLS 1.2 only with us TLS 1.3 only: tls goes by
    legacy_version (TLS 1.2), finds none of its TLS 1.2 suites among our TLS 1.3 ones, and
    sends handshake_failure (RFC 8446 §4.2.1 would have it answer from supported_versions,
    with protocol_version: a tls quirk, see the module docstring)."""
    tls12_only = haskell.server("--versions", "1.2", connections=2)
    tls13_only = haskell.server("--versions", "1.3")
    with dial(tls12_only.port, client_config(peers)) as tls:
        assert info_of(tls).version == "TLSv1.2"
        echo(tls, b"12")
    alert = refused(tls12_only.port, client_config(peers, min_version="TLSv1.3"))
    assert alert.description == AlertDescription.HANDSHAKE_FAILURE
    alert = refused(tls13_only.port, client_config(peers, max_version="TLSv1.2"))
    assert alert.description == AlertDescription.PROTOCOL_VERSION
    first, second = tls12_only.results()
    assert ok(first)["version"] == "TLSv1.2"
    failed_with(second, "handshake_failure", received_alert=False)
    assert "no cipher in common" in second["error"]
    failed_with(tls13_only.results()[0], "protocol_version", received_alert=False)


def test_haskell_client_version_negotiation_with_server(peers: Peers, haskell: Haskell) -> None:
    ours13, ours12, only13 = servers = version_servers(peers)
    first, second = haskell.client([ours13.port, ours12.port], "--resume", "no")
    assert (ok(first)["version"], ok(second)["version"]) == ("TLSv1.3", "TLSv1.2")
    (too_new,) = haskell.client(ours12.port, "--versions", "1.3")
    (too_old,) = haskell.client(only13.port, "--versions", "1.2")
    check_version_refusals(too_new, too_old, servers)


def test_client_no_common_suite_or_group_with_haskell_server(
    peers: Peers, haskell: Haskell
) -> None:
    server13, server12 = no_common_peer_servers(haskell.server)
    no_suite, no_group, no_suite12 = no_common_configs(peers)
    for port, config in ((server13.port, no_suite), (server13.port, no_group)):
        assert refused(port, config).description == AlertDescription.HANDSHAKE_FAILURE
    assert refused(server12.port, no_suite12).description == AlertDescription.HANDSHAKE_FAILURE
    first, second = server13.results()
    failed_with(first, "handshake_failure", received_alert=False)
    failed_with(second, "handshake_failure", received_alert=False)
    failed_with(server12.results()[0], "handshake_failure", received_alert=False)


def test_haskell_client_no_common_suite_or_group_with_server(
    peers: Peers, haskell: Haskell
) -> None:
    """Our server refuses with handshake_failure (RFC 8446 §4.1.1, RFC 5246 §7.4.1.3)."""
    aes13, p384, aes12 = no_common_servers(peers)
    (no_suite,) = haskell.client(
        aes13.port, "--versions", "1.3", "--suites", "TLS_CHACHA20_POLY1305_SHA256"
    )
    (no_group,) = haskell.client(p384.port, "--versions", "1.3", "--groups", "x25519")
    (no_suite12,) = haskell.client(
        aes12.port, "--versions", "1.2", "--suites", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
    )
    check_no_common_refusals((no_suite, no_group, no_suite12), (aes13, p384, aes12))


def test_untrusted_certificates_both_ways(peers: Peers, haskell: Haskell) -> None:
    """A self-signed server certificate: we send unknown_ca (RFC 8446 §6.2), and so does tls;
    each side reports the other's."""
    check_untrusted_peer_server(peers, haskell.server(leaf="untrusted"))
    ours = ours_with(peers, "untrusted")
    (record,) = haskell.client(ours.port)
    check_untrusted_by_peer(ours, record, "unknown_ca", AlertDescription.UNKNOWN_CA)
