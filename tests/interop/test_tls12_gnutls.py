"""TLS 1.2 (RFC 5246) interop with GnuTLS: ``gnutls-serv`` and ``gnutls-cli``, priority
``NORMAL:-VERS-ALL:+VERS-TLS1.2`` plus whatever selects the suite and group under test.

Both directions: the suite x group x certificate matrix (:mod:`tls12_peers`; GnuTLS negotiates
the RFC 7919 groups by name for DHE), resumption by session ID and by ticket, a peer without
the extended master secret (``%NO_SESSION_HASH``), client certificates, renegotiation refused
and TLS_FALLBACK_SCSV (``%FALLBACK_SCSV``). A missing peer fails, it does not skip.
"""

from __future__ import annotations

import re

import pytest
from peers import TIMEOUT, Peers, client_config, read_exactly, server_certificates
from tls12_peers import (
    ECDHE_CASES,
    FFDHE_CASES,
    GNUTLS_SIGN,
    SCHEME12,
    TLS12_PRIORITY,
    Case,
    cached_sessions,
    case_groups,
    case_server_config,
    gnutls_cli_echo,
    gnutls_client12,
    gnutls_description,
    gnutls_priority12,
    gnutls_server12,
    run_to_exit,
)

from tlsmachine import (
    AlertReceived,
    CertifiedKey,
    InMemoryClientSessionStore,
    ServerConfig,
    SessionTicketReceived,
)
from tlsmachine.enums import AlertDescription
from tlsmachine.errors import InappropriateFallback
from tlsmachine.events import Event
from tlsmachine.sockets import connect

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

MATRIX = [c.param() for c in ECDHE_CASES + FFDHE_CASES]
RESUMED = "*** This is a resumed session"


# -- the matrix: our client, gnutls-serv -----------------------------------------------------------


@pytest.mark.parametrize("case", MATRIX)
def test_client_vs_gnutls_serv(peers: Peers, case: Case) -> None:
    priority = gnutls_priority12(case, sign=GNUTLS_SIGN[case.leaf])
    server, port = gnutls_server12(peers, case.leaf, priority=priority)
    # our default client (TLS 1.3 and 1.2, every suite and group): gnutls-serv's priority picks
    with connect(
        "127.0.0.1", port, config=client_config(peers), server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.version, info.cipher_suite, info.group) == ("TLSv1.2", case.suite, case.group)
        assert info.signature_scheme == SCHEME12[case.leaf]
        assert info.peer_certificates[0] == peers.pki.leaves[case.leaf].cert
        # gnutls-serv --echo answers line by line: ~12 KB in 100 lines, several records
        payload = b"".join(b"%03d TLS 1.2 echo %s\n" % (i, b"y" * 100) for i in range(100))
        tls.sendall(payload)
        assert read_exactly(tls, len(payload)) == payload
    assert tls.clean_close is True  # gnutls-serv answered our close_notify
    server.wait_for(re.escape(gnutls_description(case)))


# -- the matrix: gnutls-cli, our server ------------------------------------------------------------


@pytest.mark.parametrize("case", MATRIX)
def test_gnutls_cli_vs_server(peers: Peers, case: Case) -> None:
    groups = case_groups(case)
    ours = peers.our_server(case_server_config(peers, case, groups))
    client = gnutls_client12(peers, ours.port, priority=gnutls_priority12(case, groups=groups))
    output = gnutls_cli_echo(client)
    assert gnutls_description(case) in output
    assert "- Status: The certificate is trusted." in output
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert (served.info.version, served.info.cipher_suite) == ("TLSv1.2", case.suite)
    assert served.info.group == case.group  # GnuTLS lists ffdhe groups: chosen by name too
    assert served.info.signature_scheme == SCHEME12[case.leaf]
    assert served.info.server_name == "localhost"
    assert served.received == b"ping one\nping two\n"
    assert served.clean_close is True


# -- resumption ---------------------------------------------------------------------------------


@pytest.mark.parametrize("tickets", [False, True], ids=["session-id", "ticket"])
def test_gnutls_cli_resumes_with_server(peers: Peers, tickets: bool) -> None:
    config = ServerConfig(certificates=server_certificates(peers, "ecdsa-p256"))
    ours = peers.our_server(config)
    # gnutls-cli 3.7's --noticket still sends an empty session_ticket extension in TLS 1.2;
    # the %NO_TICKETS priority keyword leaves it out
    priority = TLS12_PRIORITY + ("" if tickets else ":%NO_TICKETS")
    client = gnutls_client12(peers, ours.port, priority=priority, extra=["--resume"])
    client.wait_for(r"- Resume Handshake was completed")
    output = gnutls_cli_echo(client, [b"after resumption\n"])
    assert RESUMED in output
    assert len(set(re.findall(r"- Session ID: ([0-9A-F:]+)", output))) == 1
    served = [ours.next_connection() for _ in range(2)]
    assert [s.error for s in served] == [None, None]
    assert [s.info.resumed for s in served if s.info] == [False, True]
    assert served[1].received == b"after resumption\n"
    # RFC 5077 §3.4: a client that takes tickets gets a ticket instead of a cached session ID
    assert cached_sessions(config) == (0 if tickets else 1)


@pytest.mark.parametrize("tickets", [False, True], ids=["session-id", "ticket"])
def test_client_resumes_with_gnutls_serv(peers: Peers, tickets: bool) -> None:
    case = ECDHE_CASES[0]  # ECDHE-ECDSA AES-128-GCM x25519 P-256
    extra = [] if tickets else ["--noticket"]
    server, port = gnutls_server12(
        peers, case.leaf, priority=gnutls_priority12(case, groups=case_groups(case)), extra=extra
    )
    store = InMemoryClientSessionStore()
    events: list[Event] = []
    config = client_config(peers, session_store=store)
    infos = []
    for i in range(3):
        with connect(
            "127.0.0.1",
            port,
            config=config,
            server_hostname="localhost",
            timeout=TIMEOUT,
            on_event=events.append,
        ) as tls:
            tls.sendall(b"connection %d\n" % i)
            assert read_exactly(tls, 13) == b"connection %d\n" % i
            infos.append(tls.handshake_info)
        assert tls.clean_close is True
    assert [i.resumed for i in infos if i] == [False, True, True]
    assert all(i.cipher_suite == case.suite for i in infos if i)
    sessions = [e.session for e in events if isinstance(e, SessionTicketReceived)]
    assert sessions
    assert all(bool(s.ticket) is tickets for s in sessions)
    assert server.output.count(RESUMED) == 2
    server.wait_for(re.escape(gnutls_description(case, resumed=True)))


def test_gnutls_cli_without_ems_handshakes_but_never_resumes(peers: Peers) -> None:
    config = ServerConfig(certificates=server_certificates(peers, "ecdsa-p256"))
    ours = peers.our_server(config)
    priority = gnutls_priority12(extra=":%NO_SESSION_HASH")
    client = gnutls_client12(peers, ours.port, priority=priority, extra=["--resume"])
    client.wait_for(r"- Resume Handshake was completed")
    output = gnutls_cli_echo(client, [b"not resumed\n"])
    assert RESUMED not in output  # RFC 7627 §5.3
    served = [ours.next_connection() for _ in range(2)]
    assert [s.error for s in served] == [None, None]
    assert [s.info.resumed for s in served if s.info] == [False, False]
    assert cached_sessions(config) == 0


def test_client_with_gnutls_serv_without_ems_handshakes_but_never_resumes(peers: Peers) -> None:
    server, port = gnutls_server12(
        peers, "rsa-2048", priority=gnutls_priority12(extra=":%NO_SESSION_HASH")
    )
    store = InMemoryClientSessionStore()
    config = client_config(peers, session_store=store)
    for _ in range(2):
        with connect(
            "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT
        ) as tls:
            assert tls.handshake_info is not None
            assert tls.handshake_info.resumed is False
            tls.sendall(b"no ems\n")
            assert read_exactly(tls, 7) == b"no ems\n"
    assert len(store) == 0  # a session without EMS is never kept (RFC 7627 §5.3)
    # gnutls-serv prints each connection's summary a moment after it: wait for the second
    server.wait_for(r"- Description: \(TLS1\.2-X\.509\)(.|\n)*- Description: \(TLS1\.2-X\.509\)")
    assert RESUMED not in server.output
    assert server.output.count("- Description: (TLS1.2-X.509)") == 2


# -- client certificates ------------------------------------------------------------------------


@pytest.mark.parametrize("leaf", ["rsa-2048", "ecdsa-p256", "ed25519"])
def test_gnutls_cli_client_certificate_to_server(peers: Peers, leaf: str) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "rsa-2048"),
        client_auth="required",
        client_cadata=peers.pki.ca_pem,
    )
    ours = peers.our_server(config)
    issued = peers.pki.leaves[leaf]
    extra = ["--x509certfile", str(issued.chain_path), "--x509keyfile", str(issued.key_path)]
    gnutls_cli_echo(gnutls_client12(peers, ours.port, extra=extra))
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert served.info.peer_certificates[0] == issued.cert
    assert served.received == b"ping one\nping two\n"


CLIENT_SIGNATURE = {"rsa-2048": "RSA-", "ecdsa-p384": "ECDSA-", "ed25519": "EdDSA-Ed25519"}


@pytest.mark.parametrize("leaf", ["rsa-2048", "ecdsa-p384", "ed25519"])
def test_client_certificate_to_gnutls_serv(peers: Peers, leaf: str) -> None:
    server, port = gnutls_server12(peers, "ecdsa-p256", client_cert=True)
    issued = peers.pki.leaves[leaf]
    config = client_config(
        peers, certificates=(CertifiedKey.load(issued.chain_path, issued.key_path),)
    )
    with connect(
        "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        assert tls.handshake_info is not None
        assert tls.handshake_info.version == "TLSv1.2"
        tls.sendall(b"authenticated\n")
        assert read_exactly(tls, 14) == b"authenticated\n"
    server.wait_for(r"- Status: The certificate is trusted\.")
    server.wait_for(rf"- Client Signature: {re.escape(CLIENT_SIGNATURE[leaf])}")


@pytest.mark.parametrize(
    ("leaf", "alert"),
    # gnutls-serv's own alerts: decode_error for an empty Certificate (it says "No certificate
    # was found", and answers OpenSSL's empty Certificate the same way), access_denied for an
    # untrusted one
    [(None, AlertDescription.DECODE_ERROR), ("untrusted", AlertDescription.ACCESS_DENIED)],
    ids=["no-certificate", "untrusted"],
)
def test_client_refused_by_gnutls_serv_that_requires_a_certificate(
    peers: Peers, leaf: str | None, alert: AlertDescription
) -> None:
    server, port = gnutls_server12(peers, "ecdsa-p256", client_cert=True)
    certificates: tuple[CertifiedKey, ...] = ()
    if leaf is not None:
        issued = peers.pki.leaves[leaf]
        certificates = (CertifiedKey.load(issued.chain_path, issued.key_path),)
    config = client_config(peers, certificates=certificates)
    with pytest.raises(AlertReceived) as raised:
        connect("127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT)
    assert raised.value.description == alert
    server.wait_for(r"Error in handshake: (No certificate was found|Error in the certificate)")


# -- renegotiation refused, fallback SCSV -------------------------------------------------------


def test_server_refuses_renegotiation_from_gnutls_cli(peers: Peers) -> None:
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "ecdsa-p256")))
    client = gnutls_client12(peers, ours.port, extra=["--rehandshake"])
    status, output = run_to_exit(client)
    # each renegotiation ClientHello gets our no_renegotiation warning; gnutls-cli retries
    # (16 times, as against `openssl s_server -no_renegotiation`), then gives up
    assert status != 0
    assert "*** Received alert [100]: No renegotiation is allowed" in output, output
    assert "ReHandshake has failed" in output
    served = ours.next_connection()
    assert isinstance(served.error, AlertReceived), served.error
    assert served.error.description == AlertDescription.INTERNAL_ERROR  # gnutls-cli's last word
    # our server survives: the next client is served as usual
    gnutls_cli_echo(gnutls_client12(peers, ours.port))
    assert ours.next_connection().error is None


def test_gnutls_cli_fallback_scsv_is_refused(peers: Peers) -> None:
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "ecdsa-p256")))
    client = gnutls_client12(peers, ours.port, priority=TLS12_PRIORITY + ":%FALLBACK_SCSV")
    status, output = run_to_exit(client)
    assert status != 0
    assert "*** Received alert [86]: Inappropriate fallback" in output, output
    served = ours.next_connection()
    assert isinstance(served.error, InappropriateFallback), served.error
