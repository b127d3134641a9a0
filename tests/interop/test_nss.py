"""Interop with NSS (Mozilla's TLS library, Firefox's): ``selfserv`` and ``tstclnt`` from
``libnss3-tools`` (NSS 3.87), both directions, over 127.0.0.1 (see :mod:`nss_peer`).

TLS 1.3: the three suites, x25519 / secp256r1 / secp384r1 / ffdhe2048, RSA (RSA-PSS) and ECDSA
P-256 / P-384 certificates, HelloRetryRequest both ways, resumption both ways, 0-RTT both ways,
ALPN (``selfserv -Q`` knows http/1.1 only; ``tstclnt`` has no ALPN option), client
certificates both ways (``selfserv -r/-rr``, ``tstclnt -n``) and refused without one,
post-handshake authentication both ways (``selfserv -rrr -E``, ``tstclnt -E``), KeyUpdate from
our side only (neither tool can send one: ``tstclnt -r`` does nothing in TLS 1.3). TLS 1.2:
ECDHE-ECDSA / ECDHE-RSA with AES-GCM and ChaCha20 (and DHE-RSA with ffdhe2048) both ways,
resumption by session ID and by ticket both ways, client certificates, renegotiation refused
(``tstclnt -r 1``), version negotiation (NSS limited to TLS 1.2 against our 1.3-capable end,
and the other way round) and TLS_FALLBACK_SCSV (``tstclnt -K``).

0-RTT: NSS's anti-replay filter accepts no early data in selfserv's first 10 s, so one module
fixture starts a selfserv with the first test and the acceptance test, last, waits out the rest
of that window (a few seconds); a fresh selfserv shows the rejection path.

What NSS negotiated comes from its ``-v`` lines (version, AEAD, key exchange size, which tells
the group, and tstclnt's signature scheme); resumption from its session cache counters. A
missing NSS tool fails the test (``make peers`` installs ``libnss3-tools``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from nss_peer import (
    GROUP_BITS,
    ClosingEchoServer,
    NssDb,
    closing_echo_server,
    make_nss_db,
    nss_cipher,
    run_tstclnt,
    security_info,
    selfserv,
    selfserv_answer,
    selfserv_request,
    tstclnt,
)
from peers import (
    TIMEOUT,
    PeerProcess,
    Peers,
    ServedConnection,
    client_config,
    server_certificates,
)
from tls12_peers import cached_sessions, group, suite12

import pki
from tlsmachine import (
    ClientCertificateReceived,
    ClientConfig,
    HandshakeMessageTraced,
    InMemoryClientSessionStore,
    KeyUpdated,
    ServerConfig,
)
from tlsmachine.config_values import generate_share
from tlsmachine.crypto.groups import Group, PrivateKeyShare
from tlsmachine.enums import AlertDescription, ProtocolVersion
from tlsmachine.errors import AlertReceived
from tlsmachine.sockets import TLSSocket, connect

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

LEAVES = ("rsa-2048", "ecdsa-p256", "ecdsa-p384")
SCHEME = {
    # TLS 1.3 (and TLS 1.2 ServerKeyExchange) signature scheme per certificate
    "rsa-2048": "rsa_pss_rsae_sha256",
    "ecdsa-p256": "ecdsa_secp256r1_sha256",
    "ecdsa-p384": "ecdsa_secp384r1_sha384",
}
NSS_SCHEME12 = {**SCHEME, "ecdsa-p384": "ecdsa_secp256r1_sha256"}
"""What selfserv signs its TLS 1.2 ServerKeyExchange with: SHA-256 first, for P-384 too (in
TLS 1.2 the ECDSA schemes do not bind the curve, RFC 8446 §4.2.3)."""
KEY_BITS = {"rsa-2048": 2048, "ecdsa-p256": 256, "ecdsa-p384": 384}
TLS13_CASES = [
    # (certificate, group, suite): each suite, group and certificate at least once
    ("rsa-2048", "x25519", "TLS_AES_128_GCM_SHA256"),
    ("ecdsa-p256", "secp256r1", "TLS_CHACHA20_POLY1305_SHA256"),
    ("ecdsa-p384", "secp384r1", "TLS_AES_256_GCM_SHA384"),
    ("rsa-2048", "ffdhe2048", "TLS_CHACHA20_POLY1305_SHA256"),
    ("ecdsa-p256", "x25519", "TLS_AES_256_GCM_SHA384"),
]
TLS12_CASES = [
    # (certificate, group, suite); an ECDSA certificate's curve is offered too (RFC 8422 §4)
    ("ecdsa-p256", "x25519", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    ("ecdsa-p384", "secp384r1", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    ("ecdsa-p256", "secp256r1", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    ("rsa-2048", "secp256r1", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    ("rsa-2048", "x25519", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    ("rsa-2048", "secp384r1", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    ("rsa-2048", "ffdhe2048", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"),
]
CERT_CURVE = {"ecdsa-p256": "secp256r1", "ecdsa-p384": "secp384r1"}


def case_id(case: tuple[str, str, str]) -> str:
    leaf, grp, suite = case
    return f"{leaf}-{grp}-{suite.removeprefix('TLS_').replace('_WITH', '')}"


def tls12_groups(leaf: str, grp: str) -> list[str]:
    curve = CERT_CURVE.get(leaf)
    return [grp] + ([curve] if curve and curve != grp else [])


@pytest.fixture(scope="module")
def nss_dbs(test_pki: pki.TestPKI, tmp_path_factory: pytest.TempPathFactory) -> dict[str, NssDb]:
    """One NSS database per leaf (and ``trust``: the CA only), made once for the module."""
    base = tmp_path_factory.mktemp("nss")
    dbs = {"trust": make_nss_db(test_pki, base / "trust")}
    for leaf in LEAVES:
        dbs[leaf] = make_nss_db(test_pki, base / leaf, leaf)
    return dbs


# -- helpers --------------------------------------------------------------------------------------


def read_all(tls: TLSSocket) -> bytes:
    data = b""
    while chunk := tls.recv():
        data += chunk
    return data


def ask_selfserv(
    peers: Peers,
    port: int,
    config: ClientConfig,
    tag: str = "tlsmachine",
    size: int = 2000,
    **kwargs: object,
) -> TLSSocket:
    """One request to ``selfserv`` with our client: checks the answer and selfserv's close."""
    request = selfserv_request(tag, size)
    with connect(
        "127.0.0.1",
        port,
        config=config,
        server_hostname="localhost",
        timeout=TIMEOUT,
        **kwargs,  # type: ignore[arg-type]
    ) as tls:
        tls.sendall(request)
        assert read_all(tls) == selfserv_answer(request)
    assert tls.clean_close is True  # selfserv closed with close_notify
    return tls


def selfserv_info(server: PeerProcess) -> list[dict[str, str]]:
    """selfserv's view of its connections (at least the first)."""
    server.wait_for(r"Extended Master Secret: (Yes|No)")
    infos = security_info(server.output, "selfserv")
    assert infos, server.describe()
    return infos


def nss_client(
    peers: Peers,
    tmp_path: Path,
    ours: ClosingEchoServer,
    db: NssDb,
    *,
    connections: int = 1,
    size: int = 2000,
    **kwargs: object,
) -> tuple[list[dict[str, str]], list[ServedConnection], str]:
    """Run ``tstclnt`` against our server; its echoed data is checked. Returns what tstclnt
    reported per connection, what our server saw, and tstclnt's output."""
    request = selfserv_request("nss", size)
    request_file = tmp_path / "request"
    request_file.write_bytes(request)
    client = tstclnt(peers, ours.port, db, request_file, connections=connections, **kwargs)  # type: ignore[arg-type]
    output = run_tstclnt(client)
    assert client.stdout == request * connections, client.describe()
    served = [ours.next_connection() for _ in range(connections)]
    for s in served:
        assert s.error is None, s.error
        assert s.received == request
        assert s.clean_close is True  # tstclnt answered our close_notify
    infos = security_info(output)
    assert len(infos) == connections, output
    return infos, served, output


def our_server(peers: Peers, **kwargs: object) -> ClosingEchoServer:
    config = ServerConfig(certificates=server_certificates(peers, *LEAVES), **kwargs)  # type: ignore[arg-type]
    return closing_echo_server(peers, config)


def check_nss_view(
    nss: dict[str, str], version: str, suite: str, grp: str, leaf: str | None = None
) -> None:
    assert nss["version"] == {"TLSv1.3": "3.4", "TLSv1.2": "3.3"}[version], nss
    assert nss["cipher"] == nss_cipher(suite), nss
    assert int(nss["kea_bits"]) == GROUP_BITS[grp], nss
    if leaf is not None:
        assert int(nss["auth_bits"]) == KEY_BITS[leaf], nss
        if nss["scheme"] is not None:  # tstclnt only
            assert nss["scheme"] == SCHEME[leaf], nss


# -- TLS 1.3: our client, selfserv ----------------------------------------------------------------


@pytest.mark.parametrize(("leaf", "grp", "suite"), TLS13_CASES, ids=map(case_id, TLS13_CASES))
def test_client_vs_selfserv(
    peers: Peers,
    nss_dbs: dict[str, NssDb],
    warm_selfserv: tuple[int, float],  # started first: its anti-replay window runs meanwhile
    leaf: str,
    grp: str,
    suite: str,
) -> None:
    server, port = selfserv(peers, nss_dbs[leaf], groups=[grp], suites=[suite])
    config = client_config(peers, key_share_groups=(group(grp),))
    tls = ask_selfserv(peers, port, config)
    info = tls.handshake_info
    assert info is not None
    assert (info.version, info.cipher_suite, info.group) == ("TLSv1.3", suite, grp)
    assert info.signature_scheme == SCHEME[leaf]
    assert info.hello_retry is False
    assert info.peer_certificates[0] == peers.pki.leaves[leaf].cert
    check_nss_view(selfserv_info(server)[0], "TLSv1.3", suite, grp, leaf)


def test_client_hello_retry_request_from_selfserv(peers: Peers, nss_dbs: dict[str, NssDb]) -> None:
    # our first ClientHello carries x25519 (and ML-KEM) shares; selfserv takes only P-384
    server, port = selfserv(peers, nss_dbs["ecdsa-p256"], groups=["secp384r1"])
    tls = ask_selfserv(peers, port, client_config(peers))
    info = tls.handshake_info
    assert info is not None
    assert (info.hello_retry, info.group) == (True, "secp384r1")
    check_nss_view(selfserv_info(server)[0], "TLSv1.3", info.cipher_suite, "secp384r1")


# -- TLS 1.3: tstclnt, our server -----------------------------------------------------------------


@pytest.mark.parametrize(("leaf", "grp", "suite"), TLS13_CASES, ids=map(case_id, TLS13_CASES))
def test_tstclnt_vs_server(
    peers: Peers, nss_dbs: dict[str, NssDb], tmp_path: Path, leaf: str, grp: str, suite: str
) -> None:
    ours = our_server(peers)  # all three chains: picked by tstclnt's signature_algorithms (-J)
    infos, served, _ = nss_client(
        peers,
        tmp_path,
        ours,
        nss_dbs["trust"],
        groups=[grp],
        suites=[suite],
        extra=["-J", SCHEME[leaf]],
    )
    check_nss_view(infos[0], "TLSv1.3", suite, grp, leaf)
    info = served[0].info
    assert info is not None
    assert (info.version, info.cipher_suite, info.group) == ("TLSv1.3", suite, grp)
    assert info.signature_scheme == SCHEME[leaf]
    assert info.server_name == "localhost"
    assert info.hello_retry is False


def test_server_sends_hello_retry_request_to_tstclnt(
    peers: Peers, nss_dbs: dict[str, NssDb], tmp_path: Path
) -> None:
    # tstclnt offers x25519 and P-256 shares first; we insist on P-384
    ours = our_server(
        peers,
        groups=(group("secp384r1"), group("x25519"), group("secp256r1")),
        strict_group_preference=True,
    )
    infos, served, _ = nss_client(peers, tmp_path, ours, nss_dbs["trust"])
    assert int(infos[0]["kea_bits"]) == 384
    info = served[0].info
    assert info is not None
    assert (info.hello_retry, info.group) == (True, "secp384r1")


# -- resumption, 0-RTT ----------------------------------------------------------------------------


def test_tstclnt_resumes_tls13(peers: Peers, nss_dbs: dict[str, NssDb], tmp_path: Path) -> None:
    ours = our_server(peers)
    infos, served, output = nss_client(peers, tmp_path, ours, nss_dbs["trust"], connections=3)
    assert [s.info.resumed for s in served if s.info] == [False, True, True]
    assert all(i["version"] == "3.4" for i in infos)
    assert "2 cache hits" in output and "2 stateless resumes" in output  # NSS's own count


def test_client_resumes_with_selfserv_tls13(peers: Peers, nss_dbs: dict[str, NssDb]) -> None:
    # selfserv sends no NewSessionTicket, in TLS 1.3 too, without -u
    server, port = selfserv(peers, nss_dbs["ecdsa-p256"], extra=["-u"])
    config = client_config(peers, session_store=InMemoryClientSessionStore())
    resumed = [ask_selfserv(peers, port, config, tag=str(i)).session_reused for i in range(3)]
    assert resumed == [False, True, True]
    server.wait_for(r"selfserv: 2 cache hits")


def slow_key_share(grp: Group) -> PrivateKeyShare:
    """Our server's key share, 0.3 s late: like a network round trip, so that NSS's first
    write (the request) goes out as 0-RTT data instead of after a handshake already done."""
    time.sleep(0.3)
    return generate_share(grp)


def test_tstclnt_sends_early_data_to_server(
    peers: Peers, nss_dbs: dict[str, NssDb], tmp_path: Path
) -> None:
    ours = our_server(peers, max_early_data_size=16384, key_share_factory=slow_key_share)
    _, served, output = nss_client(
        peers, tmp_path, ours, nss_dbs["trust"], connections=2, extra=["-Z"]
    )
    assert served[0].early_data == 0
    info = served[1].info
    assert info is not None
    assert (info.resumed, info.early_data_accepted) == (True, True)
    assert served[1].early_data == len(served[1].received)  # the whole request came as 0-RTT
    assert "Early data rejected" not in output


def test_client_early_data_rejected_by_fresh_selfserv(
    peers: Peers, nss_dbs: dict[str, NssDb]
) -> None:
    """NSS's anti-replay filter refuses all 0-RTT in its first window (10 s in selfserv) after
    start: our early data must be skipped by NSS (RFC 8446 §4.2.10) and sent again by us."""
    _, port = selfserv(peers, nss_dbs["ecdsa-p256"], extra=["-Z", "-u"])
    config = client_config(peers, session_store=InMemoryClientSessionStore(), early_data=True)
    ask_selfserv(peers, port, config, tag="first")
    request = selfserv_request("early", 500)
    with connect(
        "127.0.0.1",
        port,
        config=config,
        server_hostname="localhost",
        timeout=TIMEOUT,
        early_data=request,
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.resumed, info.early_data_accepted) == (True, False)
        assert tls.rejected_early_data == request
        tls.sendall(request)
        assert read_all(tls) == selfserv_answer(request)
    assert tls.clean_close is True


# -- ALPN, KeyUpdate ------------------------------------------------------------------------------


def test_client_alpn_with_selfserv(peers: Peers, nss_dbs: dict[str, NssDb]) -> None:
    _, port = selfserv(peers, nss_dbs["rsa-2048"], extra=["-Q"])  # ALPN: http/1.1 only
    tls = ask_selfserv(peers, port, client_config(peers, alpn_protocols=("h2", "http/1.1")))
    assert tls.selected_alpn_protocol() == "http/1.1"


def test_client_key_update_with_selfserv(peers: Peers, nss_dbs: dict[str, NssDb]) -> None:
    """Our KeyUpdate (update_requested) before and in the middle of the request: NSS must
    switch its read keys, and answer with its own KeyUpdate before its response."""
    _, port = selfserv(peers, nss_dbs["ecdsa-p256"])
    request = selfserv_request("key update", 3000)
    events: list[object] = []
    with connect(
        "127.0.0.1",
        port,
        config=client_config(peers),
        server_hostname="localhost",
        timeout=TIMEOUT,
        on_event=events.append,
    ) as tls:
        tls.key_update(request_peer=True)
        tls.sendall(request[:1000])
        tls.key_update(request_peer=False)
        tls.sendall(request[1000:])
        assert read_all(tls) == selfserv_answer(request)
    assert tls.clean_close is True
    received = [e for e in events if isinstance(e, KeyUpdated) and e.direction == "receive"]
    assert received, events  # NSS's own KeyUpdate, answering update_requested


# -- client certificates --------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
@pytest.mark.parametrize("leaf", ["rsa-2048", "ecdsa-p384"])
def test_client_certificate_to_selfserv(
    peers: Peers, nss_dbs: dict[str, NssDb], version: str, leaf: str
) -> None:
    server, port = selfserv(
        peers, nss_dbs["ecdsa-p256"], versions="tls1.2:tls1.3", extra=["-r", "-r"]
    )
    config = client_config(
        peers,
        certificates=server_certificates(peers, leaf),
        max_version=ProtocolVersion.TLS13 if version == "TLSv1.3" else ProtocolVersion.TLS12,
    )
    tls = ask_selfserv(peers, port, config)
    assert tls.version() == version
    server.wait_for(r"selfserv: -- SSL3: Certificate Validated\.")
    # with -r selfserv prints the client's certificate (ours) as "subject DN"
    server.wait_for(r"selfserv: subject DN: CN=localhost,O=tlsmachine tests")
    assert selfserv_info(server)[0]["version"] == {"TLSv1.3": "3.4", "TLSv1.2": "3.3"}[version]


@pytest.mark.parametrize(
    ("version", "alert"),
    [
        ("tls1.3", AlertDescription.CERTIFICATE_REQUIRED),  # RFC 8446 §4.4.2.4
        ("tls1.2", AlertDescription.BAD_CERTIFICATE),  # NSS's choice in TLS 1.2
    ],
)
def test_client_without_certificate_refused_by_selfserv(
    peers: Peers, nss_dbs: dict[str, NssDb], version: str, alert: AlertDescription
) -> None:
    server, port = selfserv(
        peers, nss_dbs["ecdsa-p256"], versions=f"{version}:{version}", extra=["-r", "-r"]
    )
    with pytest.raises(AlertReceived) as failure:
        ask_selfserv(peers, port, client_config(peers))
    assert failure.value.description == alert
    server.wait_for(r"HDX PR_Read returned error -12285")  # SSL_ERROR_NO_CERTIFICATE


@pytest.mark.parametrize("version", ["tls1.3", "tls1.2"])
def test_tstclnt_client_certificate_to_server(
    peers: Peers, nss_dbs: dict[str, NssDb], tmp_path: Path, version: str
) -> None:
    ours = our_server(peers, client_auth="required", client_cafile=str(peers.pki.ca_path))
    _, served, _ = nss_client(
        peers,
        tmp_path,
        ours,
        nss_dbs["ecdsa-p384"],
        client_cert=True,
        versions=f"{version}:{version}",
    )
    info = served[0].info
    assert info is not None
    assert info.version == {"tls1.3": "TLSv1.3", "tls1.2": "TLSv1.2"}[version]
    assert info.peer_certificates[0] == peers.pki.leaves["ecdsa-p384"].cert


def test_selfserv_post_handshake_auth(peers: Peers, nss_dbs: dict[str, NssDb]) -> None:
    """``selfserv -rrr -E``: after the request, a CertificateRequest (RFC 8446 §4.6.2); our
    client answers it while waiting for the response."""
    server, port = selfserv(peers, nss_dbs["ecdsa-p256"], extra=["-r", "-r", "-r", "-E"])
    config = client_config(
        peers, certificates=server_certificates(peers, "rsa-2048"), post_handshake_auth=True
    )
    ask_selfserv(peers, port, config)
    server.wait_for(r"selfserv: -- SSL3: Certificate Validated\.")
    assert "SSL_ForceHandshake returned error" not in server.output


def test_tstclnt_post_handshake_auth(
    peers: Peers, nss_dbs: dict[str, NssDb], tmp_path: Path
) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"),
        client_cafile=str(peers.pki.ca_path),
    )
    ours = closing_echo_server(peers, config, post_handshake_auth=True)
    nss_client(peers, tmp_path, ours, nss_dbs["rsa-2048"], client_cert=True, extra=["-E"])
    received = [e for e in ours.events[0] if isinstance(e, ClientCertificateReceived)]
    assert len(received) == 1, ours.events[0]
    assert received[0].certificates[0] == peers.pki.leaves["rsa-2048"].cert


def test_tstclnt_renegotiation_refused(
    peers: Peers, nss_dbs: dict[str, NssDb], tmp_path: Path
) -> None:
    """``tstclnt -r 1`` (TLS 1.2) sends a new ClientHello after the handshake: we refuse it
    (RFC 5746 §4.4 lets a server decline) and NSS carries on with the first session."""
    config = ServerConfig(certificates=server_certificates(peers, "rsa-2048"), trace_handshake=True)
    ours = closing_echo_server(peers, config)
    nss_client(peers, tmp_path, ours, nss_dbs["trust"], versions="tls1.2:tls1.2", extra=["-r", "1"])
    names = [
        e.name
        for e in ours.events[0]
        if isinstance(e, HandshakeMessageTraced) and e.direction == "received"
    ]
    assert names.count("client_hello") == 2, names  # the renegotiation attempt was seen


# -- TLS 1.2 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("leaf", "grp", "suite"), TLS12_CASES, ids=map(case_id, TLS12_CASES))
def test_client_vs_selfserv_tls12(
    peers: Peers, nss_dbs: dict[str, NssDb], leaf: str, grp: str, suite: str
) -> None:
    extra = ["-H", "1"] if grp.startswith("ffdhe") else []  # selfserv: DHE is off by default
    server, port = selfserv(
        peers,
        nss_dbs[leaf],
        versions="tls1.2:tls1.2",
        groups=tls12_groups(leaf, grp),
        suites=[suite],
        extra=extra,
    )
    tls = ask_selfserv(peers, port, client_config(peers))  # our default: TLS 1.3 and 1.2
    info = tls.handshake_info
    assert info is not None
    assert (info.version, info.cipher_suite, info.group) == ("TLSv1.2", suite, grp)
    assert info.signature_scheme == NSS_SCHEME12[leaf]
    check_nss_view(selfserv_info(server)[0], "TLSv1.2", suite, grp, leaf)


@pytest.mark.parametrize(("leaf", "grp", "suite"), TLS12_CASES, ids=map(case_id, TLS12_CASES))
def test_tstclnt_vs_server_tls12(
    peers: Peers, nss_dbs: dict[str, NssDb], tmp_path: Path, leaf: str, grp: str, suite: str
) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, leaf),
        tls12_cipher_suites=(suite12(suite),),
        groups=tuple(group(g) for g in tls12_groups(leaf, grp)),
    )
    ours = closing_echo_server(peers, config)
    infos, served, _ = nss_client(
        peers,
        tmp_path,
        ours,
        nss_dbs["trust"],
        versions="tls1.2:tls1.2",
        groups=tls12_groups(leaf, grp),
        suites=[suite],
    )
    check_nss_view(infos[0], "TLSv1.2", suite, grp, leaf)
    assert infos[0]["ems"] == "Yes"
    info = served[0].info
    assert info is not None
    assert (info.version, info.cipher_suite, info.group) == ("TLSv1.2", suite, grp)
    assert info.signature_scheme == SCHEME[leaf]


@pytest.mark.parametrize("tickets", [False, True], ids=["session-id", "ticket"])
def test_tstclnt_resumes_tls12(
    peers: Peers, nss_dbs: dict[str, NssDb], tmp_path: Path, tickets: bool
) -> None:
    config = ServerConfig(certificates=server_certificates(peers, "ecdsa-p256"))
    ours = closing_echo_server(peers, config)
    _, served, output = nss_client(
        peers,
        tmp_path,
        ours,
        nss_dbs["trust"],
        connections=3,
        versions="tls1.2:tls1.2",
        extra=["-u"] if tickets else [],
    )
    assert [s.info.resumed for s in served if s.info] == [False, True, True]
    assert "2 cache hits" in output
    # RFC 5077 §3.4: a client taking tickets gets a ticket instead of a cached session ID
    assert cached_sessions(config) == (0 if tickets else 1)


@pytest.mark.parametrize("tickets", [False, True], ids=["session-id", "ticket"])
def test_client_resumes_with_selfserv_tls12(
    peers: Peers, nss_dbs: dict[str, NssDb], tickets: bool
) -> None:
    server, port = selfserv(
        peers, nss_dbs["rsa-2048"], versions="tls1.2:tls1.2", extra=["-u"] if tickets else []
    )
    config = client_config(peers, session_store=InMemoryClientSessionStore())
    sockets = [ask_selfserv(peers, port, config, tag=str(i)) for i in range(3)]
    assert [s.session_reused for s in sockets] == [False, True, True]
    assert all(s.version() == "TLSv1.2" for s in sockets)
    assert all(bool(s.session and s.session.ticket) is tickets for s in sockets)
    server.wait_for(r"selfserv: 2 cache hits")


# -- version negotiation --------------------------------------------------------------------------


def test_tstclnt_tls12_only_with_server(
    peers: Peers, nss_dbs: dict[str, NssDb], tmp_path: Path
) -> None:
    ours = our_server(peers)  # TLS 1.3 and 1.2
    infos, served, _ = nss_client(peers, tmp_path, ours, nss_dbs["trust"], versions="tls1.2:tls1.2")
    assert infos[0]["version"] == "3.3"
    assert served[0].info is not None and served[0].info.version == "TLSv1.2"


def test_client_with_tls12_only_selfserv(peers: Peers, nss_dbs: dict[str, NssDb]) -> None:
    # our 1.3-capable client: no downgrade sentinel from a server that only speaks TLS 1.2
    server, port = selfserv(peers, nss_dbs["ecdsa-p256"], versions="tls1.2:tls1.2")
    assert ask_selfserv(peers, port, client_config(peers)).version() == "TLSv1.2"
    assert selfserv_info(server)[0]["version"] == "3.3"


def test_tstclnt_with_tls12_only_server(
    peers: Peers, nss_dbs: dict[str, NssDb], tmp_path: Path
) -> None:
    # NSS offers 1.3 and checks the RFC 8446 §4.1.3 downgrade sentinel in our 1.2 ServerHello
    ours = our_server(peers, max_version=ProtocolVersion.TLS12)
    infos, served, _ = nss_client(peers, tmp_path, ours, nss_dbs["trust"], versions="tls1.2:tls1.3")
    assert infos[0]["version"] == "3.3"
    assert served[0].info is not None and served[0].info.version == "TLSv1.2"


def test_client_tls12_only_with_selfserv(peers: Peers, nss_dbs: dict[str, NssDb]) -> None:
    # NSS (1.3-capable) must put the downgrade sentinel in its TLS 1.2 ServerHello; we offer
    # only 1.2, so we must accept it
    server, port = selfserv(peers, nss_dbs["rsa-2048"], versions="tls1.2:tls1.3")
    config = client_config(peers, max_version=ProtocolVersion.TLS12)
    assert ask_selfserv(peers, port, config).version() == "TLSv1.2"
    assert selfserv_info(server)[0]["version"] == "3.3"


def test_tstclnt_fallback_scsv_refused(
    peers: Peers, nss_dbs: dict[str, NssDb], tmp_path: Path
) -> None:
    ours = our_server(peers)
    request_file = tmp_path / "request"
    request_file.write_bytes(selfserv_request("fallback"))
    client = tstclnt(
        peers, ours.port, nss_dbs["trust"], request_file, versions="tls1.2:tls1.2", extra=["-K"]
    )
    assert client.wait() != 0
    assert "SSL_ERROR_INAPPROPRIATE_FALLBACK_ALERT" in client.output, client.describe()
    served = ours.next_connection()
    assert served.info is None and served.error is not None


# -- 0-RTT accepted: needs a selfserv older than its anti-replay window ---------------------------

ANTI_REPLAY_WINDOW = 10.0
"""selfserv's anti-replay window (seconds): NSS accepts no 0-RTT before the first rollover."""


@pytest.fixture(scope="module")
def warm_selfserv(test_pki: pki.TestPKI, nss_dbs: dict[str, NssDb]) -> Iterator[tuple[int, float]]:
    """A ``selfserv -Z -u`` started when the module's first test asks for it (see
    :func:`start_warm_selfserv`), so that its window has mostly passed by the time the 0-RTT
    test at the end of the module runs; stopped at the end of the module."""
    registry = Peers(test_pki)
    try:
        _, port = selfserv(registry, nss_dbs["ecdsa-p256"], extra=["-Z", "-u"])
        yield port, time.monotonic()
    finally:
        registry.stop_all()


def test_client_early_data_accepted_by_selfserv(
    peers: Peers, warm_selfserv: tuple[int, float]
) -> None:
    """The request's first part as 0-RTT data, the rest after the handshake. (A whole request
    as 0-RTT makes selfserv answer at once and close before our Finished arrives: no
    close_notify then, and a TCP reset for the unread Finished.)"""
    port, started = warm_selfserv
    time.sleep(max(0.0, started + ANTI_REPLAY_WINDOW + 0.5 - time.monotonic()))
    config = client_config(peers, session_store=InMemoryClientSessionStore(), early_data=True)
    ask_selfserv(peers, port, config, tag="first")
    request = selfserv_request("early", 500)
    with connect(
        "127.0.0.1",
        port,
        config=config,
        server_hostname="localhost",
        timeout=TIMEOUT,
        early_data=request[:300],
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.resumed, info.early_data_accepted) == (True, True)
        assert tls.rejected_early_data == b""
        tls.sendall(request[300:])
        assert read_all(tls) == selfserv_answer(request)
    assert tls.clean_close is True
