"""Interop with Erlang/OTP's ssl application (OTP 25, Debian erlang-ssl), both directions.

OTP runs ``erlang_peer/tls_peer.escript`` (``erlang_peer.py``), one VM serving or making several
connections, and prints one JSON record per connection: the protocol, cipher suite, whether the
session was resumed, ALPN protocol, SNI name, the peer's certificate, the bytes it received,
or the error and alert it ran into. Each test checks both ends' view of the same connections.

Coverage: TLS 1.3 suites x groups (x25519, P-256/384/521, x448, ffdhe2048) x server
certificates (ECDSA P-256/P-384, RSA with RSA-PSS, Ed25519); RSA-PSS schemes chosen by the
peer's signature_algorithms; TLS 1.2 ECDHE-ECDSA/RSA with AES-GCM and ChaCha20; ALPN; SNI (and
none); HelloRetryRequest both ways, and resumption through one; TLS 1.3 resumption (stateless
and stateful OTP tickets); client certificates both ways (required, optional, missing, across
resumption); KeyUpdate both ways; 1 MiB transfers; close_notify; version, suite, group, ALPN
and certificate failures, each with the alert both sides saw.

What OTP 25 does not do, and so is not tested:

* no extended master secret (RFC 7627; OTP 27): we keep no TLS 1.2 session without it (RFC 7627
  §5.3), so TLS 1.2 connections are full handshakes both ways (checked), and no TLS 1.2 session
  tickets (RFC 5077) either;
* no x25519/x448 and no Ed25519 in TLS 1.2 (``eccs`` are the NIST/Brainpool curves; EdDSA is
  TLS 1.3 only): checked as a failure with an Ed25519-only server;
* no exporter for TLS 1.3 (``ssl:export_key_materials`` is OTP 27), no negotiated group in
  ``connection_information`` (our side's group is checked against what each OTP peer allows),
  and no HelloRetryRequest flag: our side's is checked;
* OTP 25's server crashes (its ticket server process dies with ``function_clause`` in
  ``ssl_cipher:hash_algorithm(unassigned)``) when a ClientHello offering a ticket lists
  signature schemes it does not know, such as our ML-DSA ones: it re-encodes the ClientHello to
  check the PSK binder (``tls_handshake_1_3:truncate_client_hello``) instead of hashing the
  bytes received. Our clients that resume with an OTP server offer the classical schemes only;
* an OTP client with TLS 1.3 alone (``versions`` without TLS 1.2) computes a wrong PSK binder
  in its ClientHello after a HelloRetryRequest (OpenSSL's s_server refuses it too, "binder
  does not verify"); with TLS 1.2 enabled too it gets it right. The test of resumption through
  a retry runs it that way, and another checks that we refuse the wrong binder (decrypt_error);
* a passive ``ssl:recv`` now and then misses a close_notify that arrives just after OTP's
  ``ssl:send`` (it waits for its timeout; OpenSSL's close_notify too): the peer reads in
  ``{active, once}`` mode, which sees it at once;
* OTP 25 sends its TLS 1.3 ffdhe key share without leading zero octets (255 bytes for
  ffdhe2048, one time in 256) where RFC 8446 §4.2.8.1 pads Y "to the left with zeros to the
  size of p in bytes". We refuse it with illegal_parameter, as OpenSSL 3.0 does ("bad
  ecpoint"), so the TLS 1.3 matrices run a case that failed on exactly that refusal again,
  with fresh key shares (``again_if_unpadded``);
* ``ssl:recv`` says ``closed`` for a close_notify and for a bare TCP close alike, so the clean
  close is checked on our side only (OTP closes with close_notify, and answers ours).

No tlsmachine bugs were found with these tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import peer_checks
import pytest
from erlang_peer import Erlang, received
from matrix import TLS13_SUITES
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
from peers import Peers, client_config, dial

from tlsmachine import (
    ClientConfig,
    HandshakeComplete,
    InMemoryClientSessionStore,
)
from tlsmachine.enums import AlertDescription
from tlsmachine.errors import (
    DecryptError,
    HandshakeFailure,
    NoApplicationProtocol,
)

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

GROUPS13 = ["x25519", "secp256r1", "secp384r1", "secp521r1", "x448", "ffdhe2048"]
CASES12 = [
    # (leaf, curve, suite): OTP 25 has no x25519/x448 and no Ed25519 in TLS 1.2
    ("ecdsa-p256", "secp256r1", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    ("ecdsa-p384", "secp384r1", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    ("ecdsa-p256", "secp521r1", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    ("rsa-2048", "secp256r1", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    ("rsa-2048", "secp521r1", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    ("rsa-2048", "secp384r1", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
]
LEAF_CURVE = {"ecdsa-p256": "secp256r1", "ecdsa-p384": "secp384r1"}
CLASSIC_SCHEMES = (
    "ecdsa_secp256r1_sha256",
    "ecdsa_secp384r1_sha384",
    "ecdsa_secp521r1_sha512",
    "ed25519",
    "rsa_pss_rsae_sha256",
    "rsa_pss_rsae_sha384",
    "rsa_pss_rsae_sha512",
    "rsa_pkcs1_sha256",
    "rsa_pkcs1_sha384",
)
"""What our client offers when it resumes with an OTP server: OTP 25 crashes on a ClientHello
with a PSK and a signature scheme it does not know (module docstring)."""
ALL_GROUPS = ",".join(GROUPS13)
MIB = 1 << 20


# -- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture
def erlang(peers: Peers) -> Erlang:
    """Starts OTP peers; the ``peers`` registry stops them at teardown."""
    return Erlang(peers)


def try_dial(port: int, config: ClientConfig, message: bytes) -> HandshakeComplete | str:
    """One connection of a matrix (:func:`peer_checks.try_dial`), checking the echo and OTP's
    close_notify."""
    return peer_checks.try_dial(port, config, message, closed_by="OTP")


Outcome = Any
"""One case's outcome in a matrix: what each side saw."""
UNPADDED_SHARE = re.compile(r"ffdhe\d+ key share: (\d+) bytes, expected (\d+)")


def unpadded_share(error: object) -> bool:
    """Whether our side's ``error`` is the refusal of an ffdhe key share that came without its
    leading zero octets (RFC 8446 §4.2.8.1), as OTP 25 sends one time in 256 (module
    docstring)."""
    found = UNPADDED_SHARE.search(str(error)) if error is not None else None
    return found is not None and int(found[1]) < int(found[2])


def again_if_unpadded(
    run: Callable[[list[int]], list[tuple[Outcome, bool]]], count: int, attempts: int = 4
) -> list[Outcome]:
    """Each of ``count`` cases' outcome. ``run(indices)`` runs those cases, saying for each
    whether it failed on OTP's unpadded ffdhe share only; those cases run again (with new key
    shares), up to ``attempts`` times in all, and the last outcome counts."""
    outcomes: dict[int, Outcome] = {}
    pending = list(range(count))
    for _ in range(attempts):
        if not pending:
            break
        ran = run(pending)
        assert len(ran) == len(pending)
        outcomes.update((i, outcome) for i, (outcome, _) in zip(pending, ran, strict=True))
        pending = [i for i, (_, unpadded) in zip(pending, ran, strict=True) if unpadded]
    return [outcomes[i] for i in range(count)]


# -- TLS 1.3: suites x groups x certificates ---------------------------------------------------


@pytest.mark.parametrize("leaf", list(LEAVES13))
def test_client_tls13_matrix_with_otp_server(peers: Peers, erlang: Erlang, leaf: str) -> None:
    cases = [(suite, group) for suite in TLS13_SUITES for group in GROUPS13]

    def run(indices: list[int]) -> list[tuple[Outcome, bool]]:
        subset = [cases[i] for i in indices]
        server = erlang.server(
            "--versions", "1.3", "--groups", ALL_GROUPS, leaf=leaf, connections=len(subset)
        )
        seen = dial_tls13_cases(peers, server.port, subset, closed_by="OTP")
        results = server.results()
        assert len(results) == len(seen)
        return [((s, r), unpadded_share(s[-1])) for s, r in zip(seen, results, strict=True)]

    outcomes = again_if_unpadded(run, len(cases))
    assert [seen for seen, _ in outcomes] == [(s, g, "TLSv1.3", LEAVES13[leaf]) for s, g in cases]
    results = [result for _, result in outcomes]
    assert [(ok(r)["protocol"], r["cipher_suite"], received(r)) for r in results] == [
        ("TLSv1.3", s, f"{s} {g}".encode()) for s, g in cases
    ]
    assert all(r["resumed"] is False and r["sni"] == "localhost" for r in results)


@pytest.mark.parametrize("group", GROUPS13)
def test_otp_client_tls13_matrix_with_server(peers: Peers, erlang: Erlang, group: str) -> None:
    """One OTP run per group (it sends its one key share for it): each suite with each of our
    certificates, one server of ours per (suite, certificate)."""
    cases = [(suite, leaf) for suite in TLS13_SUITES for leaf in LEAVES13]
    servers = [ours_with(peers, leaf, cipher_suites=(suite,)) for suite, leaf in cases]

    def run(indices: list[int]) -> list[tuple[Outcome, bool]]:
        ports = [servers[i].port for i in indices]
        otp = erlang.client(ports, "--versions", "1.3", "--groups", group, "--message", group)
        assert len(otp.records) == len(indices)
        served = [servers[i].next_connection() for i in indices]
        return [((r, c), unpadded_share(c.error)) for r, c in zip(otp.records, served, strict=True)]

    outcomes = again_if_unpadded(run, len(cases))
    records = [record for record, _ in outcomes]
    assert [(ok(r)["protocol"], r["cipher_suite"], r["peer_cert_sha256"]) for r in records] == [
        ("TLSv1.3", suite, cert_sha256(peers, leaf)) for suite, leaf in cases
    ]
    assert all(received(r) == group.encode() and r["resumed"] is False for r in records)
    served = [connection for _, connection in outcomes]
    assert [(c.error, c.clean_close) for c in served] == [(None, True)] * len(cases)
    seen = [c.info for c in served if c.info is not None]
    assert [(i.cipher_suite, i.group, i.signature_scheme) for i in seen] == [
        (suite, group, LEAVES13[leaf]) for suite, leaf in cases
    ]
    assert all(
        (i.version, i.hello_retry, i.server_name) == ("TLSv1.3", False, "localhost") for i in seen
    )


@pytest.mark.parametrize("scheme", ["rsa_pss_rsae_sha384", "rsa_pss_rsae_sha512"])
def test_rsa_pss_scheme_chosen_by_signature_algorithms(
    peers: Peers, erlang: Erlang, scheme: str
) -> None:
    """Each side's server signs its CertificateVerify with the one RSA-PSS scheme the client
    lists (RFC 8446 §4.2.3, §4.4.3)."""
    server = erlang.server("--versions", "1.3", leaf="rsa-2048")
    with dial(server.port, client_config(peers, signature_schemes=(scheme,))) as tls:
        assert info_of(tls).signature_scheme == scheme
        echo(tls, scheme.encode())
    assert received(ok(server.results()[0])) == scheme.encode()
    ours = ours_with(peers, "rsa-2048")
    # the certificates' own signatures are checked against the list too: the CA's ECDSA
    sigalgs = f"{scheme},ecdsa_secp256r1_sha256"
    (record,) = erlang.client(ours.port, "--versions", "1.3", "--sigalgs", sigalgs).records
    assert ok(record)["peer_cert_sha256"] == cert_sha256(peers, "rsa-2048")
    (info,) = served_cleanly(ours)
    assert info.signature_scheme == scheme


# -- TLS 1.2 -------------------------------------------------------------------------------------


def test_client_tls12_suites_with_otp_server(peers: Peers, erlang: Erlang) -> None:
    leaves = ["ecdsa-p256", "ecdsa-p384", "rsa-2048"]
    servers = {
        leaf: erlang.server(
            "--versions",
            "1.2",
            "--groups",
            "secp256r1,secp384r1,secp521r1",
            leaf=leaf,
            connections=sum(c[0] == leaf for c in CASES12),
        )
        for leaf in leaves
    }
    seen: list[tuple[str | None, ...]] = []
    for leaf, group, suite in CASES12:
        groups = tuple(dict.fromkeys([group, LEAF_CURVE.get(leaf, group)]))
        config = client_config(
            peers, max_version="TLSv1.2", tls12_cipher_suites=(suite,), groups=groups
        )
        info = try_dial(servers[leaf].port, config, suite.encode())
        seen.append((suite, info) if isinstance(info, str) else (info.cipher_suite, info.version))
    assert seen == [(s, "TLSv1.2") for _, _, s in CASES12]
    for leaf, server in servers.items():
        results = server.results()
        assert [(ok(r)["protocol"], r["cipher_suite"], received(r)) for r in results] == [
            ("TLSv1.2", s, s.encode()) for lf, _, s in CASES12 if lf == leaf
        ]


def test_otp_client_tls12_suites_with_server(peers: Peers, erlang: Erlang) -> None:
    servers = [
        ours_with(peers, leaf, tls12_cipher_suites=(suite,), groups=(group,))
        for leaf, group, suite in CASES12
    ]
    options = ["--versions", "1.2", "--groups", "secp256r1,secp384r1,secp521r1"]
    run = erlang.client([s.port for s in servers], *options)
    assert [(ok(r)["protocol"], r["cipher_suite"], r["peer_cert_sha256"]) for r in run.records] == [
        ("TLSv1.2", suite, cert_sha256(peers, leaf)) for leaf, _, suite in CASES12
    ]
    seen = [served_cleanly(ours)[0] for ours in servers]
    assert [(i.version, i.cipher_suite, i.group) for i in seen] == [
        ("TLSv1.2", s, g) for _, g, s in CASES12
    ]


def test_otp_client_tls12_without_ed25519_is_refused(peers: Peers, erlang: Erlang) -> None:
    """OTP 25 offers no Ed25519 in TLS 1.2: our server with only an Ed25519 certificate has no
    suite it can authenticate, and refuses with handshake_failure (RFC 5246 §7.4.1.3)."""
    ours = ours_with(peers, "ed25519")
    (record,) = erlang.client(ours.port, "--versions", "1.2").records
    failed_with(record, "handshake_failure", received_alert=True)
    assert isinstance(ours.next_connection().error, HandshakeFailure)


# -- TLS 1.2 sessions: OTP 25 has no extended master secret --------------------------------------


def test_client_tls12_without_ems_is_not_resumed_with_otp_server(
    peers: Peers, erlang: Erlang
) -> None:
    """The OTP server gives its TLS 1.2 session an ID, without extended master secret: we
    keep no such session (RFC 7627 §5.3), so the second connection is a full handshake."""
    server = erlang.server("--versions", "1.2", connections=2)
    config = client_config(peers, session_store=InMemoryClientSessionStore())
    seen = dial_each(server.port, config, (b"first", b"second"))
    assert [(i.version, i.resumed) for i in seen] == [("TLSv1.2", False), ("TLSv1.2", False)]
    assert [(ok(r)["resumed"], received(r)) for r in server.results()] == [
        (False, b"first"),
        (False, b"second"),
    ]


def test_otp_client_tls12_without_ems_is_not_resumed_by_server(
    peers: Peers, erlang: Erlang
) -> None:
    """The OTP client offers its session ID again; our server kept no session without
    extended master secret (RFC 7627 §5.3): a full handshake again."""
    ours = ours_with(peers)
    run = erlang.client(ours.port, "--versions", "1.2", "--connections", "2")
    assert [(ok(r)["protocol"], r["resumed"]) for r in run.records] == [
        ("TLSv1.2", False),
        ("TLSv1.2", False),
    ]
    assert [(i.version, i.resumed) for i in served_cleanly(ours, 2)] == [
        ("TLSv1.2", False),
        ("TLSv1.2", False),
    ]


# -- TLS 1.3 resumption --------------------------------------------------------------------------


@pytest.mark.parametrize("tickets", ["stateless", "stateful"])
def test_client_resumes_with_otp_server(peers: Peers, erlang: Erlang, tickets: str) -> None:
    server = erlang.server("--versions", "1.3", "--tickets", tickets, connections=3)
    config = client_config(
        peers, signature_schemes=CLASSIC_SCHEMES, session_store=InMemoryClientSessionStore()
    )
    seen = dial_each(server.port, config, [b"resume %d" % i for i in range(3)])
    assert [(i.version, i.resumed, i.signature_scheme) for i in seen] == [
        ("TLSv1.3", False, "ecdsa_secp256r1_sha256"),
        ("TLSv1.3", True, None),
        ("TLSv1.3", True, None),
    ]
    assert seen[2].peer_certificates[0] == peers.pki.leaves["ecdsa-p256"].cert
    assert [(ok(r)["resumed"], received(r)) for r in server.results()] == [
        (False, b"resume 0"),
        (True, b"resume 1"),
        (True, b"resume 2"),
    ]


def test_otp_client_resumes_with_server(peers: Peers, erlang: Erlang) -> None:
    ours = ours_with(peers, "rsa-2048")
    run = erlang.client(ours.port, "--versions", "1.3", "--connections", "3")
    assert [(ok(r)["protocol"], r["resumed"]) for r in run.records] == [
        ("TLSv1.3", False),
        ("TLSv1.3", True),
        ("TLSv1.3", True),
    ]
    seen = served_cleanly(ours, 3)
    assert [(i.resumed, i.signature_scheme) for i in seen] == [
        (False, "rsa_pss_rsae_sha256"),
        (True, None),
        (True, None),
    ]


# -- HelloRetryRequest (RFC 8446 §4.1.4) ---------------------------------------------------------


@pytest.mark.parametrize("compat", [True, False], ids=["middlebox-compat", "no-compat"])
def test_client_hello_retry_with_otp_server(peers: Peers, erlang: Erlang, compat: bool) -> None:
    """OTP allows secp384r1 only; we sent an x25519 share: HelloRetryRequest, then resumption
    through another one (OTP checks our binder over message_hash(CH1) and the retry, RFC 8446
    §4.2.11.2)."""
    server = erlang.server("--versions", "1.3", "--groups", "secp384r1", connections=2)
    config = client_config(
        peers,
        groups=("x25519", "secp384r1"),
        key_share_groups=("x25519",),
        middlebox_compatibility=compat,
        signature_schemes=CLASSIC_SCHEMES,
        session_store=InMemoryClientSessionStore(),
    )
    seen = dial_each(server.port, config, (b"retry", b"retry again"))
    assert [(i.group, i.hello_retry, i.resumed) for i in seen] == [
        ("secp384r1", True, False),
        ("secp384r1", True, True),
    ]
    assert [(ok(r)["resumed"], received(r)) for r in server.results()] == [
        (False, b"retry"),
        (True, b"retry again"),
    ]


def test_otp_client_hello_retry_with_server(peers: Peers, erlang: Erlang) -> None:
    """OTP sends a key share for its first group (x25519); we insist on secp384r1: a
    HelloRetryRequest, then resumption through another one (its binder covers the retry)."""
    ours = ours_with(peers, groups=("secp384r1", "x25519"), strict_group_preference=True)
    options = ["--versions", "1.3,1.2", "--groups", "x25519,secp256r1,secp384r1"]
    run = erlang.client(ours.port, *options, "--connections", "2")
    assert [(ok(r)["resumed"], received(r)) for r in run.records] == [
        (False, b"hello"),
        (True, b"hello"),
    ]
    assert [(i.group, i.hello_retry, i.resumed) for i in served_cleanly(ours, 2)] == [
        ("secp384r1", True, False),
        ("secp384r1", True, True),
    ]


def test_tls13_only_otp_client_binder_after_hello_retry_is_refused(
    peers: Peers, erlang: Erlang
) -> None:
    """An OTP 25 client with TLS 1.3 alone computes a wrong PSK binder in the ClientHello after a
    HelloRetryRequest (OpenSSL's s_server refuses it too: "binder does not verify"; with TLS
    1.2 also enabled OTP gets it right, above). We must refuse it with decrypt_error (RFC 8446
    §4.2.11: the binder is checked before anything is accepted, and a mismatch is fatal)."""
    ours = ours_with(peers, groups=("secp384r1", "x25519"), strict_group_preference=True)
    options = ["--versions", "1.3", "--groups", "x25519,secp256r1,secp384r1"]
    first, second = erlang.client(ours.port, *options, "--connections", "2").records
    assert (ok(first)["resumed"], received(first)) == (False, b"hello")
    failed_with(second, "decrypt_error", received_alert=True)
    (info,) = served_cleanly(ours)
    assert (info.group, info.hello_retry, info.resumed) == ("secp384r1", True, False)
    assert isinstance(ours.next_connection().error, DecryptError)


# -- ALPN and SNI --------------------------------------------------------------------------------


def test_client_alpn_with_otp_server(peers: Peers, erlang: Erlang) -> None:
    check_client_alpn(peers, erlang.server("--alpn", "h2,http/1.1", connections=3))


def test_otp_client_alpn_with_server(peers: Peers, erlang: Erlang) -> None:
    matching = ours_with(peers, alpn_protocols=("http/1.1", "h2"))
    disjoint = ours_with(peers, alpn_protocols=("h3",))
    first, second = erlang.client([matching.port, disjoint.port], "--alpn", "h2,http/1.1").records
    assert ok(first)["alpn"] == "http/1.1"
    failed_with(second, "no_application_protocol", received_alert=True)
    (info,) = served_cleanly(matching)
    assert info.alpn_protocol == "http/1.1"
    assert isinstance(disjoint.next_connection().error, NoApplicationProtocol)


def test_client_sni_with_otp_server(peers: Peers, erlang: Erlang) -> None:
    """A host name goes in server_name (RFC 6066 §3); an IP address does not, and the
    certificate is then checked against its IP address SAN."""
    check_client_sni(peers, erlang.server(connections=2), received)


def test_otp_client_sni_with_server(peers: Peers, erlang: Erlang) -> None:
    ours = ours_with(peers)
    named, unnamed = (
        erlang.client(ours.port, "--sni", sni).records[0] for sni in ("localhost", "none")
    )
    assert ok(named)["peer_cert_sha256"] == ok(unnamed)["peer_cert_sha256"]
    assert [i.server_name for i in served_cleanly(ours, 2)] == ["localhost", None]


# -- client certificates -------------------------------------------------------------------------


def test_client_certificates_to_otp_server(peers: Peers, erlang: Erlang) -> None:
    check_client_certificates(peers, erlang.server, received, closed_by="OTP")


def test_client_without_certificate_with_otp_server(peers: Peers, erlang: Erlang) -> None:
    """required: certificate_required in TLS 1.3 (RFC 8446 §4.4.2.4, after our Finished),
    handshake_failure in TLS 1.2 (RFC 5246 §7.4.6); optional: the connection goes on."""
    required13 = erlang.server("--versions", "1.3", "--client-auth", "required")
    required12 = erlang.server("--versions", "1.2", "--client-auth", "required")
    optional = erlang.server("--client-auth", "optional")
    alert13 = refused(required13.port, client_config(peers))
    alert12 = refused(required12.port, client_config(peers))
    assert alert13.description == AlertDescription.CERTIFICATE_REQUIRED
    assert alert12.description == AlertDescription.HANDSHAKE_FAILURE
    failed_with(required13.results()[0], "certificate_required", received_alert=False)
    failed_with(required12.results()[0], "handshake_failure", received_alert=False)
    check_client_anonymous(peers, optional, received)


@pytest.mark.parametrize("leaf", ["rsa-2048", "ecdsa-p384", "ed25519"])
def test_otp_client_certificates_to_server(peers: Peers, erlang: Erlang, leaf: str) -> None:
    """TLS 1.3 (two connections: the second resumes, and we report the session's client
    chain) and TLS 1.2 (not for Ed25519, which OTP 25 signs with in TLS 1.3 only)."""
    anchors = {"client_auth": "required", "client_cafile": str(peers.pki.ca_path)}
    ours13 = ours_with(peers, **anchors)
    run = erlang.client(ours13.port, "--versions", "1.3", "--connections", "2", leaf=leaf)
    assert [(ok(r)["protocol"], r["resumed"]) for r in run.records] == [
        ("TLSv1.3", False),
        ("TLSv1.3", True),
    ]
    cert = peers.pki.leaves[leaf].cert
    assert [(i.resumed, i.peer_certificates[0]) for i in served_cleanly(ours13, 2)] == [
        (False, cert),
        (True, cert),
    ]
    if leaf != "ed25519":
        ours12 = ours_with(peers, max_version="TLSv1.2", **anchors)
        (record,) = erlang.client(ours12.port, "--versions", "1.2", leaf=leaf).records
        assert ok(record)["protocol"] == "TLSv1.2"
        (info,) = served_cleanly(ours12)
        assert info.peer_certificates[0] == cert


def test_otp_client_without_certificate_with_server(peers: Peers, erlang: Erlang) -> None:
    required13, required12, optional = client_auth_servers(peers)
    ports = [required13.port, required12.port, optional.port]
    run = erlang.client(ports)
    first, second, third = run.records
    # TLS 1.3: OTP's handshake is over when our alert comes (RFC 8446 §4.4.2.4): its read
    # says "closed", and its log names the alert
    assert (first["stage"], first["error"]) == ("read", "closed"), first
    assert "received SERVER ALERT: Fatal - Certificate required" in run.log
    failed_with(second, "handshake_failure", received_alert=True)
    assert received(ok(third)) == b"hello"
    check_client_auth_refusals(required13, required12, optional)


# -- KeyUpdate (RFC 8446 §4.6.3) and large transfers -------------------------------------------


def test_client_key_updates_with_otp_server(peers: Peers, erlang: Erlang) -> None:
    """We update our keys (asking OTP to update too) every 256 KiB; OTP updates its own (and
    asks us to) after each 64 KiB it echoes, while 1 MiB goes through."""
    check_client_key_updates(
        peers, erlang.server("--versions", "1.3", "--key-update-every", "65536")
    )


@pytest.mark.parametrize("kind", ["write", "read_write"])
def test_otp_client_key_update_with_server(peers: Peers, erlang: Erlang, kind: str) -> None:
    """OTP updates its keys after the first echo (read_write: update_requested, and we answer
    with our own KeyUpdate, RFC 8446 §4.6.3), then the message goes both ways again."""
    ours = ours_with(peers)
    (record,) = erlang.client(ours.port, "--key-update", kind, "--message", "again").records
    assert (received(ok(record)), record["key_updates"]) == (b"againagain", 1)
    connection = ours.next_connection()
    assert (connection.error, connection.received) == (None, b"againagain")
    updates = key_updates(connection.events)
    assert updates == (["receive", "send"] if kind == "read_write" else ["receive"])


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_client_large_transfer_with_otp_server(peers: Peers, erlang: Erlang, version: str) -> None:
    server = erlang.server("--versions", version, leaf="rsa-2048")
    data = payload(MIB)
    with dial(server.port, client_config(peers)) as tls:
        assert info_of(tls).version == f"TLSv{version}"
        echo_chunks(tls, data, 256 * 1024)
    assert tls.clean_close  # OTP answered our close_notify with its own
    (record,) = server.results()
    assert (ok(record)["received_length"], record["received_sha256"]) == (MIB, sha256(data))


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_otp_client_large_transfer_with_server(peers: Peers, erlang: Erlang, version: str) -> None:
    ours = ours_with(peers, "rsa-2048")
    (record,) = erlang.client(ours.port, "--versions", version, "--size", str(MIB)).records
    assert (ok(record)["protocol"], record["received_length"]) == (f"TLSv{version}", MIB)
    assert record["received_sha256"] == sha256(payload(MIB))
    connection = ours.next_connection()
    assert connection.error is None, repr(connection.error)
    assert connection.received == payload(MIB)
    assert connection.clean_close  # OTP's close_notify


# -- failures: versions, suites, groups, certificates -------------------------------------------


def test_client_version_negotiation_with_otp_server(peers: Peers, erlang: Erlang) -> None:
    """OTP at most TLS 1.2 with us 1.3-capable: TLS 1.2; OTP TLS 1.2 only with us TLS 1.3 only,
    and OTP TLS 1.3 only with us TLS 1.2 only: protocol_version (RFC 8446 §4.2.1)."""
    tls12_only = erlang.server("--versions", "1.2", connections=2)
    tls13_only = erlang.server("--versions", "1.3")
    with dial(tls12_only.port, client_config(peers)) as tls:
        assert info_of(tls).version == "TLSv1.2"
        echo(tls, b"12")
    alert = refused(tls12_only.port, client_config(peers, min_version="TLSv1.3"))
    assert alert.description == AlertDescription.PROTOCOL_VERSION
    alert = refused(tls13_only.port, client_config(peers, max_version="TLSv1.2"))
    assert alert.description == AlertDescription.PROTOCOL_VERSION
    first, second = tls12_only.results()
    assert ok(first)["protocol"] == "TLSv1.2"
    failed_with(second, "protocol_version", received_alert=False)
    failed_with(tls13_only.results()[0], "protocol_version", received_alert=False)


def test_otp_client_version_negotiation_with_server(peers: Peers, erlang: Erlang) -> None:
    ours13, ours12, only13 = servers = version_servers(peers)
    # OTP 1.3-capable with our TLS 1.2 server: no downgrade sentinel (we are not 1.3-capable
    # there), so OTP goes on (RFC 8446 §4.1.3)
    first, second = erlang.client([ours13.port, ours12.port]).records
    assert (ok(first)["protocol"], ok(second)["protocol"]) == ("TLSv1.3", "TLSv1.2")
    (too_new,) = erlang.client(ours12.port, "--versions", "1.3").records
    (too_old,) = erlang.client(only13.port, "--versions", "1.2").records
    check_version_refusals(too_new, too_old, servers)


def test_client_no_common_suite_or_group_with_otp_server(peers: Peers, erlang: Erlang) -> None:
    """OTP refuses a ClientHello without a common suite or group with insufficient_security
    (RFC 8446 §4.1.1 allows it besides handshake_failure; OTP says so in TLS 1.2 as well)."""
    server13, server12 = no_common_peer_servers(erlang.server)
    no_suite, no_group, no_suite12 = no_common_configs(peers)
    assert refused(server13.port, no_suite).description == AlertDescription.INSUFFICIENT_SECURITY
    assert refused(server13.port, no_group).description == AlertDescription.INSUFFICIENT_SECURITY
    assert refused(server12.port, no_suite12).description == AlertDescription.INSUFFICIENT_SECURITY
    first, second = server13.results()
    failed_with(first, "insufficient_security", received_alert=False)
    failed_with(second, "insufficient_security", received_alert=False)
    failed_with(server12.results()[0], "insufficient_security", received_alert=False)


def test_otp_client_no_common_suite_or_group_with_server(peers: Peers, erlang: Erlang) -> None:
    """Our server refuses with handshake_failure (RFC 8446 §4.1.1, RFC 5246 §7.4.1.3)."""
    aes13, p384, aes12 = no_common_servers(peers)
    (no_suite,) = erlang.client(
        aes13.port, "--versions", "1.3", "--suites", "TLS_CHACHA20_POLY1305_SHA256"
    ).records
    (no_group,) = erlang.client(p384.port, "--versions", "1.3", "--groups", "x25519").records
    (no_suite12,) = erlang.client(
        aes12.port, "--versions", "1.2", "--suites", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
    ).records
    check_no_common_refusals((no_suite, no_group, no_suite12), (aes13, p384, aes12))


def test_untrusted_certificates_both_ways(peers: Peers, erlang: Erlang) -> None:
    """A self-signed server certificate: we send unknown_ca (RFC 8446 §6.2); OTP sends
    bad_certificate for a self-signed one (its "selfsigned_peer"); each side reports the
    other's."""
    check_untrusted_peer_server(peers, erlang.server(leaf="untrusted"))
    ours = ours_with(peers, "untrusted")
    (record,) = erlang.client(ours.port).records
    check_untrusted_by_peer(ours, record, "bad_certificate", AlertDescription.BAD_CERTIFICATE)
