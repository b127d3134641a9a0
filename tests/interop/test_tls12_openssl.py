"""TLS 1.2 (RFC 5246) interop with ``openssl s_server -tls1_2`` and ``openssl s_client -tls1_2``.

Both directions: the suite x group x certificate matrix (:mod:`tls12_peers`), resumption by
session ID and by RFC 5077 ticket, the extended master secret (RFC 7627), client certificates,
renegotiation refused (RFC 5746), version negotiation (the RFC 8446 §4.1.3 downgrade sentinel,
TLS_FALLBACK_SCSV of RFC 7507, TLS 1.0/1.1 refused per RFC 8996), ALPN and the key log.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from peers import TIMEOUT, Peers, client_config, read_exactly, server_certificates, tool
from tls12_peers import (
    DHE_SUITES,
    ECDHE_CASES,
    FFDHE_CASES,
    OPENSSL_SUITE,
    OPENSSL_TEMP_KEY,
    SCHEME12,
    Case,
    cached_sessions,
    case_groups,
    case_server_config,
    ffdhe_params,
    msg_handshake,
    no_ems_openssl_conf,
    openssl_client12,
    openssl_server12,
    run_to_exit,
    s_client_echo,
    server_random,
)

from tlsmachine import (
    AlertReceived,
    CertifiedKey,
    ClientConfig,
    HandshakeComplete,
    InMemoryClientSessionStore,
    ServerConfig,
    SessionTicketReceived,
)
from tlsmachine.enums import AlertDescription, ProtocolVersion
from tlsmachine.errors import (
    HandshakeFailure,
    InappropriateFallback,
    InsufficientSecurity,
    ProtocolVersionError,
)
from tlsmachine.events import Event
from tlsmachine.sockets import TLSSocket, connect, serve

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

DOWNGRD_TLS12 = b"DOWNGRD\x01"
OPENSSL_SIGNATURE = {
    # what s_client -brief prints as "Signature type:" for our ServerKeyExchange
    "ecdsa-p256": "ECDSA",
    "ecdsa-p384": "ECDSA",
    "ed25519": "ed25519",
    "rsa-2048": "RSA-PSS",
}
SCHEME_KIND = {"ecdsa-p256": "ecdsa_", "ecdsa-p384": "ecdsa_", "ed25519": "ed25519"}
SCHEME_KIND["rsa-2048"] = "rsa_"
# s_server without -dhparam uses RFC 3526 group 14 (we name it modp2048); with -dhparam, the
# RFC 7919 group of the file, which we recognise by its prime
DHE_CLIENT_CASES = [Case(s, g, "rsa-2048") for s in DHE_SUITES for g in ("modp2048",)] + FFDHE_CASES


def assert_echo(tls: TLSSocket, line: bytes) -> None:
    """Send a line to ``s_server -rev``, which answers it reversed."""
    tls.sendall(line)
    expected = line[:-1][::-1] + b"\n"
    assert read_exactly(tls, len(expected)) == expected


# -- the matrix: our client, openssl s_server ------------------------------------------------------


def client_vs_s_server(peers: Peers, case: Case, dhparam: list[str]) -> None:
    server, port = openssl_server12(
        peers, case.leaf, cipher=case.suite, groups=[] if case.dhe else [case.group], extra=dhparam
    )
    # our default client (TLS 1.3 and 1.2, every suite and group): s_server's restriction picks
    with connect(
        "127.0.0.1", port, config=client_config(peers), server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.version, info.cipher_suite, info.group) == ("TLSv1.2", case.suite, case.group)
        assert info.signature_scheme is not None
        assert info.signature_scheme.startswith(SCHEME_KIND[case.leaf]), info.signature_scheme
        assert info.peer_certificates[0] == peers.pki.leaves[case.leaf].cert
        assert info.resumed is False
        assert_echo(tls, b"hello openssl, TLS 1.2\n")
        assert_echo(tls, b"x" * 3000 + b"second record\n")
    assert tls.clean_close is True  # s_server answered our close_notify
    assert server.wait() == 0, server.describe()
    server.wait_for(r"Protocol version: TLSv1\.2")
    server.wait_for(rf"Ciphersuite: {OPENSSL_SUITE[case.suite]}\n")


@pytest.mark.parametrize("case", [c.param() for c in ECDHE_CASES])
def test_client_vs_s_server_ecdhe(peers: Peers, case: Case) -> None:
    client_vs_s_server(peers, case, [])


@pytest.mark.parametrize("case", [c.param() for c in DHE_CLIENT_CASES])
def test_client_vs_s_server_dhe(peers: Peers, case: Case) -> None:
    dhparam = [] if case.group == "modp2048" else ["-dhparam", str(ffdhe(peers, case.group))]
    client_vs_s_server(peers, case, dhparam)


def ffdhe(peers: Peers, name: str) -> str:
    return str(ffdhe_params(peers.pki.directory, name))


# -- the matrix: openssl s_client, our server ------------------------------------------------------


@pytest.mark.parametrize("case", [c.param() for c in ECDHE_CASES + FFDHE_CASES])
def test_s_client_vs_server(peers: Peers, case: Case) -> None:
    if case.dhe:
        # OpenSSL 3.0 sends no ffdhe groups in a TLS 1.2 hello: we use our first FFDHE group
        config_groups, client_groups = [case.group], []
    else:
        config_groups = client_groups = case_groups(case)
    ours = peers.our_server(case_server_config(peers, case, config_groups))
    client = openssl_client12(
        peers, ours.port, cipher=case.suite, groups=client_groups, extra=("-brief",)
    )
    output = s_client_echo(client)
    assert "Protocol version: TLSv1.2" in output
    assert f"Ciphersuite: {OPENSSL_SUITE[case.suite]}\n" in output
    assert f"Server Temp Key: {OPENSSL_TEMP_KEY[case.group]}" in output
    assert f"Signature type: {OPENSSL_SIGNATURE[case.leaf]}" in output
    assert "Verification: OK" in output
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert (served.info.version, served.info.cipher_suite) == ("TLSv1.2", case.suite)
    assert served.info.group == case.group
    assert served.info.signature_scheme == SCHEME12[case.leaf]
    assert served.info.server_name == "localhost"
    assert served.received == b"ping one\nping two\n"
    assert served.clean_close is True


def test_server_skips_an_ecdsa_certificate_on_a_curve_the_client_did_not_offer(
    peers: Peers,
) -> None:
    """RFC 8422 §4: "servers MUST NOT negotiate the use of an ECC cipher suite unless they can
    complete the handshake while respecting the choice of curves specified by the client" (the
    ECDSA certificate's curve included). With a P-256 ECDSA and an RSA chain and a client
    offering only x25519,
    the server must take ECDHE-RSA (as ``openssl s_server -cert ec -dcert rsa`` does); choosing
    ECDHE-ECDSA with the P-256 chain makes OpenSSL abort ("wrong curve", illegal_parameter)."""
    config = ServerConfig(certificates=server_certificates(peers, "ecdsa-p256", "rsa-2048"))
    ours = peers.our_server(config)
    client = openssl_client12(peers, ours.port, groups=["x25519"], extra=("-brief",))
    output = s_client_echo(client)
    assert "Ciphersuite: ECDHE-RSA-" in output
    assert "Server Temp Key: X25519" in output
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert served.info.cipher_suite.startswith("TLS_ECDHE_RSA_")


@pytest.mark.parametrize(
    ("leaf", "sigalgs", "scheme", "signature", "digest"),
    [
        ("rsa-2048", "RSA+SHA256", "rsa_pkcs1_sha256", "RSA", "SHA256"),  # PKCS#1 v1.5: 1.2 only
        ("rsa-2048", "RSA+SHA512", "rsa_pkcs1_sha512", "RSA", "SHA512"),
        ("rsa-2048", "RSA-PSS+SHA384", "rsa_pss_rsae_sha384", "RSA-PSS", "SHA384"),
        ("ecdsa-p256", "ECDSA+SHA384", "ecdsa_secp384r1_sha384", "ECDSA", "SHA384"),  # any hash
        ("ecdsa-p256", "ECDSA+SHA512", "ecdsa_secp521r1_sha512", "ECDSA", "SHA512"),
    ],
    ids=lambda v: str(v),
)
def test_server_signs_with_the_scheme_s_client_asks_for(
    peers: Peers, leaf: str, sigalgs: str, scheme: str, signature: str, digest: str
) -> None:
    """RFC 5246 §7.4.1.4.1: the ServerKeyExchange signature uses a pair from the client's
    signature_algorithms; in TLS 1.2 an ECDSA key signs with any hash, RSA with PKCS#1 v1.5."""
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, leaf)))
    output = s_client_echo(openssl_client12(peers, ours.port, sigalgs=sigalgs, extra=["-brief"]))
    assert f"Signature type: {signature}\n" in output
    assert f"Hash used: {digest}\n" in output
    served = ours.next_connection()
    assert served.info is not None
    assert served.info.signature_scheme == scheme


@pytest.mark.parametrize(
    ("leaf", "sigalgs", "scheme"),
    [
        ("rsa-2048", "RSA+SHA256", "rsa_pkcs1_sha256"),
        ("rsa-2048", "RSA+SHA384", "rsa_pkcs1_sha384"),
        ("rsa-2048", "RSA-PSS+SHA512", "rsa_pss_rsae_sha512"),
        ("ecdsa-p256", "ECDSA+SHA512", "ecdsa_secp521r1_sha512"),
    ],
    ids=lambda v: str(v),
)
def test_client_verifies_the_scheme_s_server_signs_with(
    peers: Peers, leaf: str, sigalgs: str, scheme: str
) -> None:
    server, port = openssl_server12(peers, leaf, extra=["-sigalgs", sigalgs])
    with connect(
        "127.0.0.1", port, config=client_config(peers), server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        assert tls.handshake_info is not None
        assert tls.handshake_info.signature_scheme == scheme
        assert_echo(tls, b"signed\n")
    assert server.wait() == 0


@pytest.mark.parametrize("client_cert", ["rsa-2048", "ecdsa-p256"])
def test_client_certificate_verify_with_the_scheme_s_server_asks_for(
    peers: Peers, client_cert: str
) -> None:
    """RFC 5246 §7.4.8: our CertificateVerify uses a scheme of the CertificateRequest."""
    asked, signature, digest = {
        "rsa-2048": ("RSA+SHA256", "RSA", "SHA256"),  # PKCS#1 v1.5
        "ecdsa-p256": ("ECDSA+SHA512", "ECDSA", "SHA512"),
    }[client_cert]
    extra = ["-verifyCAfile", str(peers.pki.ca_path), "-Verify", "1", "-client_sigalgs", asked]
    server, port = openssl_server12(peers, "ecdsa-p256", extra=extra)
    issued = peers.pki.leaves[client_cert]
    config = client_config(
        peers, certificates=(CertifiedKey.load(issued.chain_path, issued.key_path),)
    )
    with connect(
        "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        assert_echo(tls, b"certificate verify\n")
    assert server.wait() == 0
    assert f"Hash used: {digest}\nSignature type: {signature}\n" in server.output


def test_client_refuses_dhe_parameters_of_an_unknown_group(peers: Peers) -> None:
    """RFC 7919 §4 lets the client judge custom DHE parameters: RFC 5114's 2048-bit group
    (generator != 2, not an RFC 7919/3526 group) is refused with insufficient_security."""
    params = peers.pki.directory / "rfc5114-params.pem"
    argv = [tool("openssl"), "genpkey", "-genparam", "-algorithm", "DH"]
    argv += ["-pkeyopt", "dh_rfc5114:3", "-out", str(params)]
    subprocess.run(argv, check=True, capture_output=True, timeout=TIMEOUT)
    suite = "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"
    server, port = openssl_server12(
        peers, "rsa-2048", cipher=suite, extra=["-dhparam", str(params)]
    )
    with pytest.raises(InsufficientSecurity):
        connect(
            "127.0.0.1",
            port,
            config=client_config(peers),
            server_hostname="localhost",
            timeout=TIMEOUT,
        )
    server.wait_for(r"alert insufficient security")


# -- session-ID and ticket resumption, openssl s_client -reconnect ---------------------------------


@pytest.mark.parametrize("tickets", [False, True], ids=["session-id", "ticket"])
def test_s_client_reconnect_resumes(peers: Peers, tickets: bool) -> None:
    config = ServerConfig(certificates=server_certificates(peers, "ecdsa-p256"))
    ours = peers.our_server(config)
    extra = ["-reconnect"] + ([] if tickets else ["-no_ticket"])
    status, output = run_to_exit(openssl_client12(peers, ours.port, extra=extra))
    assert status == 0, output
    # -reconnect: one full handshake, then five more connections offering its session
    assert output.count("New, TLSv1.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256") == 1, output
    assert output.count("Reused, TLSv1.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256") == 5, output
    assert output.count("Extended master secret: yes") == 6
    assert ("TLS session ticket:" in output) is tickets
    assert len(set(re.findall(r"Session-ID: ([0-9A-F]+)", output))) == 1
    served = [ours.next_connection() for _ in range(6)]
    assert [s.error for s in served] == [None] * 6
    assert [s.info.resumed for s in served if s.info] == [False] + [True] * 5
    assert all(s.clean_close for s in served)
    # RFC 5077 §3.4: a client that takes tickets gets a ticket instead of a cached session ID
    assert cached_sessions(config) == (0 if tickets else 1)


@pytest.mark.parametrize("tickets", [False, True], ids=["session-id", "ticket"])
def test_s_client_sess_out_then_sess_in_resumes(peers: Peers, tickets: bool) -> None:
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "rsa-2048")))
    session_file = peers.pki.directory / f"s_client-session-{tickets}.pem"
    no_ticket = [] if tickets else ["-no_ticket"]
    first = openssl_client12(peers, ours.port, extra=[*no_ticket, "-sess_out", str(session_file)])
    s_client_echo(first)
    assert "New, TLSv1.2" in first.output
    assert session_file.read_bytes().startswith(b"-----BEGIN SSL SESSION PARAMETERS-----")
    second = openssl_client12(peers, ours.port, extra=[*no_ticket, "-sess_in", str(session_file)])
    s_client_echo(second)
    assert "Reused, TLSv1.2, Cipher is ECDHE-RSA-AES128-GCM-SHA256" in second.output
    infos = [ours.next_connection().info for _ in range(2)]
    assert [i.resumed for i in infos if i] == [False, True]
    assert infos[1] is not None
    assert infos[1].group is None  # an abbreviated handshake has no key exchange
    assert infos[1].signature_scheme is None


@pytest.mark.parametrize(
    ("session_ids", "session_tickets", "no_ticket", "reused", "ticket_line"),
    [
        (False, 2, True, 0, False),  # no IDs, client refuses tickets: nothing to resume
        (True, 0, False, 5, False),  # no tickets from us: the session ID serves
        (False, 2, False, 5, True),  # tickets only
    ],
    ids=["no-ids", "no-tickets", "tickets-only"],
)
def test_server_resumption_settings_with_s_client(
    peers: Peers,
    session_ids: bool,
    session_tickets: int,
    no_ticket: bool,
    reused: int,
    ticket_line: bool,
) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"),
        session_ids=session_ids,
        session_tickets=session_tickets,
    )
    ours = peers.our_server(config)
    extra = ["-reconnect"] + (["-no_ticket"] if no_ticket else [])
    status, output = run_to_exit(openssl_client12(peers, ours.port, extra=extra))
    assert status == 0, output
    assert output.count("Reused, TLSv1.2") == reused, output
    assert output.count("New, TLSv1.2") == 6 - reused
    assert ("TLS session ticket:" in output) is ticket_line
    served = [ours.next_connection() for _ in range(6)]
    assert sum(bool(s.info and s.info.resumed) for s in served) == reused


# -- our client resuming with openssl s_server -----------------------------------------------------


def www_page(
    port: int, config: ClientConfig, events: list[Event]
) -> tuple[HandshakeComplete, str, str]:
    """GET / from ``s_server -www``, whose page shows the session as the server sees it:
    ``(our handshake summary, "New" or "Reused", the page)``."""
    tls = connect(
        "127.0.0.1",
        port,
        config=config,
        server_hostname="localhost",
        timeout=TIMEOUT,
        on_event=events.append,
    )
    with tls:
        tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
        page = b""
        while chunk := tls.recv():
            page += chunk
    assert tls.clean_close is True  # s_server -www ends with close_notify
    assert tls.handshake_info is not None
    text = page.decode("utf-8", "replace")
    match = re.search(r"^(New|Reused), TLSv1\.2, Cipher is ", text, re.MULTILINE)
    assert match, text
    return tls.handshake_info, match.group(1), text


@pytest.mark.parametrize("tickets", [False, True], ids=["session-id", "ticket"])
def test_client_resumes_with_s_server(peers: Peers, tickets: bool) -> None:
    extra = [] if tickets else ["-no_ticket"]
    server, port = openssl_server12(peers, "ecdsa-p384", mode="-www", naccept=3, extra=extra)
    store = InMemoryClientSessionStore()
    config = client_config(peers, session_store=store)  # TLS 1.3 offered too
    events: list[Event] = []
    pages = [www_page(port, config, events) for _ in range(3)]
    assert [info.resumed for info, _, _ in pages] == [False, True, True]
    assert all(info.version == "TLSv1.2" for info, _, _ in pages)
    assert [seen for _, seen, _ in pages] == ["New", "Reused", "Reused"]  # s_server agrees
    assert all("Extended master secret: yes" in page for _, _, page in pages)
    sessions = [e.session for e in events if isinstance(e, SessionTicketReceived)]
    assert sessions, "no resumable session was reported"
    assert all(s.is_tls12 for s in sessions)
    if tickets:
        assert all(s.ticket for s in sessions)  # RFC 5077 NewSessionTicket
    else:
        assert all(s.session_id and not s.ticket for s in sessions)
    assert len(store) == 1  # the session is put back after each resumption (RFC 5246 §7.4.1.2)
    assert server.wait() == 0


@pytest.mark.parametrize("tickets", [False, True], ids=["session-id", "ticket"])
def test_client_falls_back_to_a_full_handshake_when_s_server_forgot_the_session(
    peers: Peers, tickets: bool
) -> None:
    """A new s_server process knows neither the session ID nor the ticket key: it answers
    with a full handshake (RFC 5246 §7.4.1.3, RFC 5077 §3.1), whose session is then resumed."""
    extra = [] if tickets else ["-no_ticket"]
    store = InMemoryClientSessionStore()
    config = client_config(peers, session_store=store)
    events: list[Event] = []
    first, port = openssl_server12(peers, mode="-www", extra=extra)
    assert www_page(port, config, events)[1] == "New"
    assert first.wait() == 0
    assert len(store) == 1
    second, port = openssl_server12(peers, mode="-www", naccept=2, extra=extra)
    pages = [www_page(port, config, events) for _ in range(2)]
    assert [(info.resumed, seen) for info, seen, _ in pages] == [(False, "New"), (True, "Reused")]
    assert second.wait() == 0


@pytest.mark.parametrize(
    ("first", "second", "versions"),
    [
        ("-tls1_2", "", ["TLSv1.3", "TLSv1.3"]),
        ("", "-tls1_2", ["TLSv1.2", "TLSv1.2"]),
    ],
    ids=["tls12-session-then-tls13-server", "tls13-ticket-then-tls12-server"],
)
def test_client_session_of_another_version(
    peers: Peers, first: str, second: str, versions: list[str]
) -> None:
    """A stored session of one version is useless with a server that negotiates the other:
    the handshake is a full one (then resumable in its own version)."""
    store = InMemoryClientSessionStore()
    config = client_config(peers, session_store=store)
    server, port = openssl_server12(peers, version=first)
    with connect(
        "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        assert_echo(tls, b"first server\n")
    assert server.wait() == 0
    assert len(store) >= 1
    server, port = openssl_server12(peers, version=second, naccept=2)
    seen = []
    for _ in range(2):
        with connect(
            "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT
        ) as tls:
            info = tls.handshake_info
            assert info is not None
            seen.append((info.version, info.resumed))
            assert_echo(tls, b"second server\n")
    assert seen == [(versions[0], False), (versions[1], True)]
    assert server.wait() == 0


# -- extended master secret (RFC 7627) -------------------------------------------------------------


def test_s_client_without_ems_handshakes_but_never_resumes(peers: Peers) -> None:
    config = ServerConfig(certificates=server_certificates(peers, "ecdsa-p256"))
    ours = peers.our_server(config)
    conf = no_ems_openssl_conf(peers.pki.directory)
    client = openssl_client12(peers, ours.port, openssl_conf=conf, extra=["-reconnect"])
    status, output = run_to_exit(client)
    assert status == 0, output
    assert output.count("Extended master secret: no") == 6, output
    assert "Reused," not in output  # RFC 7627 §5.3: no resumption without EMS
    assert output.count("New, TLSv1.2") == 6
    assert "TLS session ticket:" not in output  # and no ticket for such a session
    served = [ours.next_connection() for _ in range(6)]
    assert [s.error for s in served] == [None] * 6
    assert not any(s.info and s.info.resumed for s in served)
    assert cached_sessions(config) == 0


def test_client_with_s_server_without_ems_handshakes_but_never_resumes(peers: Peers) -> None:
    conf = no_ems_openssl_conf(peers.pki.directory)
    server, port = openssl_server12(peers, mode="-www", naccept=2, openssl_conf=conf)
    store = InMemoryClientSessionStore()
    events: list[Event] = []
    config = client_config(peers, session_store=store)
    pages = [www_page(port, config, events) for _ in range(2)]
    assert [info.resumed for info, _, _ in pages] == [False, False]
    assert [seen for _, seen, _ in pages] == ["New", "New"]
    assert all("Extended master secret: no" in page for _, _, page in pages)
    assert not any(isinstance(e, SessionTicketReceived) for e in events)
    assert len(store) == 0
    assert server.wait() == 0


def test_client_requiring_ems_refuses_s_server_without_it(peers: Peers) -> None:
    conf = no_ems_openssl_conf(peers.pki.directory)
    server, port = openssl_server12(peers, openssl_conf=conf)
    config = client_config(peers, require_extended_master_secret=True)
    with pytest.raises(HandshakeFailure):
        connect("127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT)
    server.wait_for(r"alert handshake failure")


def test_server_requiring_ems_refuses_s_client_without_it(peers: Peers) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"), require_extended_master_secret=True
    )
    ours = peers.our_server(config)
    conf = no_ems_openssl_conf(peers.pki.directory)
    status, output = run_to_exit(openssl_client12(peers, ours.port, openssl_conf=conf))
    assert status != 0
    assert "alert handshake failure" in output
    served = ours.next_connection()
    assert isinstance(served.error, HandshakeFailure), served.error


# -- client certificates ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "leaf"),
    [
        ("required", "rsa-2048"),
        ("required", "ecdsa-p384"),
        ("required", "ed25519"),
        ("optional", "ecdsa-p256"),
        ("optional", None),
    ],
)
def test_server_client_auth_with_s_client(peers: Peers, mode: str, leaf: str | None) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"),
        client_auth=mode,
        client_cadata=peers.pki.ca_pem,
    )
    ours = peers.our_server(config)
    extra = ["-brief"]
    if leaf is not None:
        issued = peers.pki.leaves[leaf]
        extra += ["-cert", str(issued.chain_path), "-key", str(issued.key_path)]
    s_client_echo(openssl_client12(peers, ours.port, extra=extra))
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert served.info.version == "TLSv1.2"
    expected = peers.pki.leaves[leaf].cert if leaf else None
    assert (served.info.peer_certificates[:1] or (None,))[0] == expected
    assert served.received == b"ping one\nping two\n"


def test_server_reports_the_client_certificate_of_a_resumed_session(peers: Peers) -> None:
    """RFC 5246 §7.3: the session state a resumption restores includes the peer certificate.
    With client_auth="required", a connection resuming a session that was authenticated with
    a client certificate must still tell the application who the client is (OpenSSL's
    SSL_get_peer_certificate, GnuTLS and Python's getpeercert() all do); an empty
    ``peer_certificates`` reads as "no client certificate"."""
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"),
        client_auth="required",
        client_cadata=peers.pki.ca_pem,
    )
    ours = peers.our_server(config)
    issued = peers.pki.leaves["rsa-2048"]
    extra = ["-reconnect", "-no_ticket", "-cert", str(issued.chain_path)]
    extra += ["-key", str(issued.key_path)]
    status, output = run_to_exit(openssl_client12(peers, ours.port, extra=extra))
    assert status == 0, output
    assert output.count("Reused, TLSv1.2") == 5
    served = [ours.next_connection() for _ in range(6)]
    assert [s.info.resumed for s in served if s.info] == [False] + [True] * 5
    leaves = [s.info.peer_certificates[:1] for s in served if s.info]
    assert leaves == [(issued.cert,)] * 6


@pytest.mark.parametrize(
    ("leaf", "alert"),
    [(None, "handshake failure"), ("untrusted", "unknown ca")],
    ids=["no-certificate", "untrusted"],
)
def test_server_requiring_a_client_certificate_refuses_s_client(
    peers: Peers, leaf: str | None, alert: str
) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"),
        client_auth="required",
        client_cadata=peers.pki.ca_pem,
    )
    ours = peers.our_server(config)
    extra: list[str] = []
    if leaf is not None:
        issued = peers.pki.leaves[leaf]
        extra += ["-cert", str(issued.chain_path), "-key", str(issued.key_path)]
    status, output = run_to_exit(openssl_client12(peers, ours.port, extra=extra))
    assert status != 0
    assert f"alert {alert}" in output, output
    served = ours.next_connection()
    assert served.error is not None
    assert served.info is None


@pytest.mark.parametrize("leaf", ["rsa-2048", "ecdsa-p384", "ed25519"])
@pytest.mark.parametrize(
    "verify", [("-Verify", "1"), ("-verify", "1", "-verify_return_error")], ids=["Verify", "verify"]
)
def test_client_certificate_to_s_server(peers: Peers, leaf: str, verify: tuple[str, ...]) -> None:
    extra = ["-verifyCAfile", str(peers.pki.ca_path), *verify]
    server, port = openssl_server12(peers, "ecdsa-p256", extra=extra)
    issued = peers.pki.leaves[leaf]
    config = client_config(
        peers, certificates=(CertifiedKey.load(issued.chain_path, issued.key_path),)
    )
    with connect(
        "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        assert tls.handshake_info is not None
        assert tls.handshake_info.version == "TLSv1.2"
        assert_echo(tls, b"with a client certificate\n")
    assert server.wait() == 0
    output = server.output
    assert "Peer certificate: O = tlsmachine tests, CN = localhost" in output
    assert f"Signature type: {OPENSSL_SIGNATURE[leaf]}" in output  # our CertificateVerify
    assert "Verification: OK" in output


@pytest.mark.parametrize(
    ("leaf", "alert", "complaint"),
    [
        (None, AlertDescription.HANDSHAKE_FAILURE, "peer did not return a certificate"),
        ("untrusted", AlertDescription.UNKNOWN_CA, "certificate verify failed"),
    ],
    ids=["no-certificate", "untrusted"],
)
def test_client_refused_by_s_server_that_requires_a_certificate(
    peers: Peers, leaf: str | None, alert: AlertDescription, complaint: str
) -> None:
    extra = ["-verifyCAfile", str(peers.pki.ca_path), "-Verify", "1", "-verify_return_error"]
    server, port = openssl_server12(peers, "ecdsa-p256", extra=extra)
    certificates: tuple[CertifiedKey, ...] = ()
    if leaf is not None:
        issued = peers.pki.leaves[leaf]
        certificates = (CertifiedKey.load(issued.chain_path, issued.key_path),)
    config = client_config(peers, certificates=certificates)
    with pytest.raises(AlertReceived) as raised:
        connect("127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT)
    assert raised.value.description == alert
    assert server.wait() == 0  # -naccept 1: the failed connection was its one
    assert complaint in server.output


# -- renegotiation refused (RFC 5746, RFC 5246 §7.4.1.2) -------------------------------------------


def test_server_refuses_renegotiation_from_s_client(peers: Peers) -> None:
    config = ServerConfig(certificates=server_certificates(peers, "ecdsa-p256"))
    ours = peers.our_server(config)
    client = openssl_client12(peers, ours.port, extra=["-msg"])
    client.wait_for(r"Verify return code: 0 \(ok\)")
    assert "Secure Renegotiation IS supported" in client.output  # RFC 5746 §3.6
    client.write(b"before\n")
    client.wait_for(r"^before$")
    client.write(b"R\n")  # s_client command: renegotiate (a new ClientHello)
    client.wait_for(r"RENEGOTIATING")
    # we answer with a no_renegotiation warning; OpenSSL then gives up with handshake_failure
    client.wait_for(r"<<< TLS 1\.2, Alert \[length 0002\], warning no_renegotiation")
    assert client.wait() != 0
    assert "no renegotiation" in client.output
    served = ours.next_connection()
    assert served.received == b"before\n"  # the echo worked before the renegotiation attempt
    assert isinstance(served.error, AlertReceived), served.error
    assert served.error.description == AlertDescription.HANDSHAKE_FAILURE
    # our server survives: the next client is served as usual
    s_client_echo(openssl_client12(peers, ours.port, extra=["-brief"]))
    assert ours.next_connection().error is None


def test_client_refuses_renegotiation_from_s_server(peers: Peers) -> None:
    server, port = openssl_server12(peers, "rsa-2048", mode="", extra=["-msg"])
    tls = connect(
        "127.0.0.1", port, config=client_config(peers), server_hostname="localhost", timeout=TIMEOUT
    )
    with tls:
        tls.sendall(b"from tlsmachine\n")
        server.wait_for(r"^from tlsmachine$")
        server.write(b"from s_server\n")
        assert read_exactly(tls, 14) == b"from s_server\n"
        server.write(b"r\n")  # s_server command: renegotiate (it sends a HelloRequest)
        server.wait_for(r">>> TLS 1\.2, Handshake \[length 0004\], HelloRequest")
        # our answer is a no_renegotiation warning (RFC 5246 §7.4.1.1); OpenSSL, having asked,
        # ends the connection with a fatal handshake_failure, which the next read reports
        with pytest.raises(AlertReceived) as raised:
            tls.recv()
        assert raised.value.description == AlertDescription.HANDSHAKE_FAILURE
    server.wait_for(r"<<< TLS 1\.2, Alert \[length 0002\], warning no_renegotiation")
    assert server.wait() == 0
    assert "1 server renegotiates" in server.output


# -- version negotiation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("max_version", "sentinel"),
    [(ProtocolVersion.TLS13, True), (ProtocolVersion.TLS12, False)],
    ids=["tls13-server", "tls12-server"],
)
def test_server_downgrade_sentinel_to_s_client(
    peers: Peers, max_version: ProtocolVersion, sentinel: bool
) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"), max_version=max_version
    )
    ours = peers.our_server(config)
    client = openssl_client12(peers, ours.port, extra=["-msg"])
    output = s_client_echo(client)
    assert "New, TLSv1.2" in output
    # RFC 8446 §4.1.3: a TLS 1.3 server negotiating TLS 1.2 ends its random with DOWNGRD\x01
    assert (server_random(output)[-8:] == DOWNGRD_TLS12) is sentinel
    assert ours.next_connection().info is not None


def test_client_max_tls12_vs_tls13_capable_s_server(peers: Peers) -> None:
    """A TLS 1.2 client ignores DOWNGRD\\x01 (RFC 8446 §4.1.3 asks only TLS 1.3 clients to
    check it): our client with max_version 1.2 completes with OpenSSL's TLS 1.3 server."""
    server, port = openssl_server12(peers, "ecdsa-p256", version="", extra=["-msg"])
    config = client_config(peers, max_version=ProtocolVersion.TLS12)
    with connect(
        "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        assert tls.handshake_info is not None
        assert tls.handshake_info.version == "TLSv1.2"
        assert_echo(tls, b"downgraded on purpose\n")
    assert server.wait() == 0
    assert msg_handshake(server.output, "ServerHello")[30:38] == DOWNGRD_TLS12


@pytest.mark.parametrize(
    ("max_version", "refused"),
    [(ProtocolVersion.TLS13, True), (ProtocolVersion.TLS12, False)],
    ids=["tls13-server", "tls12-server"],
)
def test_s_client_fallback_scsv(peers: Peers, max_version: ProtocolVersion, refused: bool) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"), max_version=max_version
    )
    ours = peers.our_server(config)
    client = openssl_client12(peers, ours.port, extra=["-fallback_scsv", "-brief"])
    if refused:  # RFC 7507 §3: we support more than 1.2, the client fell back: refuse it
        status, output = run_to_exit(client)
        assert status != 0
        assert "alert inappropriate fallback" in output, output
        served = ours.next_connection()
        assert isinstance(served.error, InappropriateFallback), served.error
    else:  # 1.2 is our highest version: no fallback happened
        assert "Protocol version: TLSv1.2" in s_client_echo(client)
        assert ours.next_connection().error is None


@pytest.mark.parametrize(
    ("tls_server", "refused"),
    [("", True), ("-tls1_2", False)],
    ids=["tls13-server", "tls12-server"],
)
def test_client_fallback_scsv_vs_s_server(peers: Peers, tls_server: str, refused: bool) -> None:
    server, port = openssl_server12(peers, "ecdsa-p256", version=tls_server)
    config = client_config(peers, max_version=ProtocolVersion.TLS12, fallback_scsv=True)
    if refused:
        with pytest.raises(AlertReceived) as raised:
            connect("127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT)
        assert raised.value.description == AlertDescription.INAPPROPRIATE_FALLBACK
        server.wait_for(r"inappropriate fallback")
    else:
        with connect(
            "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT
        ) as tls:
            assert_echo(tls, b"fallback accepted\n")
    assert server.wait() == 0


@pytest.mark.parametrize("version", ["-tls1_1", "-tls1"])
def test_old_s_client_is_refused(peers: Peers, version: str) -> None:
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "ecdsa-p256")))
    # SECLEVEL=0: OpenSSL 3.0 would not even offer TLS 1.0/1.1 otherwise
    client = openssl_client12(
        peers, ours.port, version=version, extra=["-cipher", "DEFAULT@SECLEVEL=0"]
    )
    status, output = run_to_exit(client)
    assert status != 0
    assert "alert protocol version" in output, output
    served = ours.next_connection()
    assert isinstance(served.error, ProtocolVersionError), served.error


@pytest.mark.parametrize("version", ["-tls1_1", "-tls1"])
def test_client_refused_by_old_s_server(peers: Peers, version: str) -> None:
    server, port = openssl_server12(
        peers, "rsa-2048", version=version, extra=["-cipher", "DEFAULT@SECLEVEL=0"]
    )
    with pytest.raises(AlertReceived) as raised:
        connect(
            "127.0.0.1",
            port,
            config=client_config(peers),
            server_hostname="localhost",
            timeout=TIMEOUT,
        )
    assert raised.value.description == AlertDescription.PROTOCOL_VERSION
    assert server.wait() == 0
    assert "unsupported protocol" in server.output


# -- ALPN, key log, exporter, fragmented records -----------------------------------------------


def test_alpn_both_ways(peers: Peers) -> None:
    server, port = openssl_server12(peers, "rsa-2048", extra=["-alpn", "h2,http/1.1"])
    config = client_config(peers, alpn_protocols=("http/1.1", "h2"))
    with connect(
        "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        assert tls.handshake_info is not None
        assert tls.handshake_info.alpn_protocol == "h2"  # the server's preference
        assert_echo(tls, b"alpn\n")
    assert server.wait() == 0
    ours = peers.our_server(
        ServerConfig(
            certificates=server_certificates(peers, "rsa-2048"), alpn_protocols=("h2", "http/1.1")
        )
    )
    output = s_client_echo(openssl_client12(peers, ours.port, extra=["-alpn", "http/1.1"]))
    assert "ALPN protocol: http/1.1" in output
    served = ours.next_connection()
    assert served.info is not None
    assert served.info.alpn_protocol == "http/1.1"


def test_key_log_matches_openssl(peers: Peers) -> None:
    """Both ends log the same NSS ``CLIENT_RANDOM`` line (the master secret), both ways."""
    lines: list[str] = []
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"), keylog=lines.append
    )
    ours = peers.our_server(config)
    keylog = peers.pki.directory / "s_client.keylog"
    keylog.unlink(missing_ok=True)  # OpenSSL appends
    s_client_echo(openssl_client12(peers, ours.port, extra=["-keylogfile", str(keylog)]))
    assert ours.next_connection().error is None
    theirs = [ln for ln in keylog.read_text().splitlines() if ln.startswith("CLIENT_RANDOM ")]
    assert len(lines) == 1
    assert lines[0].startswith("CLIENT_RANDOM ")
    assert theirs == lines

    ours_client: list[str] = []
    keylog = peers.pki.directory / "s_server.keylog"
    keylog.unlink(missing_ok=True)
    server, port = openssl_server12(peers, extra=["-keylogfile", str(keylog)])
    config12 = client_config(peers, keylog=ours_client.append)
    with connect(
        "127.0.0.1", port, config=config12, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        assert_echo(tls, b"keylog\n")
    assert server.wait() == 0
    theirs = [ln for ln in keylog.read_text().splitlines() if ln.startswith("CLIENT_RANDOM ")]
    assert len(theirs) == 1
    assert theirs == [ln for ln in ours_client if ln.startswith("CLIENT_RANDOM ")]


EXPORTER_LABEL = "EXPORTER-tlsmachine-interop"


def test_exporter_matches_s_client_full_and_resumed(peers: Peers) -> None:
    """RFC 5705 keying material over the TLS 1.2 PRF agrees with OpenSSL's, for the full
    handshake and for the five resumptions of -reconnect (each with fresh randoms)."""
    exported: list[str] = []

    def export_then_echo(tls: TLSSocket) -> None:
        exported.append(tls.connection.export_keying_material(EXPORTER_LABEL, 32).hex().upper())
        while data := tls.recv():
            tls.sendall(data)

    config = ServerConfig(certificates=server_certificates(peers, "ecdsa-p256"))
    server = serve(config, export_then_echo, timeout=TIMEOUT)
    try:
        extra = ["-reconnect", "-keymatexport", EXPORTER_LABEL, "-keymatexportlen", "32"]
        status, output = run_to_exit(openssl_client12(peers, server.address[1], extra=extra))
    finally:
        server.shutdown()
    assert status == 0, output
    theirs = re.findall(r"Keying material: ([0-9A-F]+)", output)
    assert output.count("Reused, TLSv1.2") == 5
    assert len(theirs) == 6
    assert len(set(theirs)) == 6  # every connection has its own
    # one server thread per connection: their appends may land out of connection order
    assert sorted(exported) == sorted(theirs)


def test_exporter_matches_s_server(peers: Peers) -> None:
    extra = ["-keymatexport", EXPORTER_LABEL, "-keymatexportlen", "48"]
    server, port = openssl_server12(peers, "rsa-2048", mode="", extra=extra)
    with connect(
        "127.0.0.1", port, config=client_config(peers), server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        ours = tls.connection.export_keying_material(EXPORTER_LABEL, 48).hex().upper()
        tls.sendall(b"exported\n")
        server.wait_for(r"^exported$")
    assert server.wait() == 0
    assert re.findall(r"Keying material: ([0-9A-F]+)", server.output) == [ours]


def test_handshake_messages_fragmented_over_small_records(peers: Peers) -> None:
    """-max_send_frag 512: the peer splits its Certificate (and everything else) over many
    512-byte records (RFC 5246 §6.2.1); both our client and our server reassemble."""
    rsa = peers.pki.leaves["rsa-2048"]
    extra = ["-max_send_frag", "512", "-verifyCAfile", str(peers.pki.ca_path), "-Verify", "1"]
    server, port = openssl_server12(peers, "rsa-2048", extra=extra)
    config = client_config(peers, certificates=(CertifiedKey.load(rsa.chain_path, rsa.key_path),))
    with connect(
        "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        assert tls.handshake_info is not None
        assert tls.handshake_info.cipher_suite == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        assert_echo(tls, b"z" * 5000 + b"\n")  # the answer comes in 512-byte records
    assert server.wait() == 0

    ours = peers.our_server(
        ServerConfig(
            certificates=server_certificates(peers, "rsa-2048"),
            client_auth="required",
            client_cadata=peers.pki.ca_pem,
        )
    )
    extra = ["-max_send_frag", "512", "-cert", str(rsa.chain_path), "-key", str(rsa.key_path)]
    s_client_echo(openssl_client12(peers, ours.port, extra=extra), [b"y" * 3000 + b"\n"])
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert served.info.peer_certificates[0] == rsa.cert
    assert served.received == b"y" * 3000 + b"\n"
