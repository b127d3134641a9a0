"""TLS 1.2 (RFC 5246) interop with Python's :mod:`ssl` (OpenSSL underneath) in a thread, both
directions, with ``maximum_version = TLSv1_2`` on the Python side.

The suite x group x certificate matrix (:mod:`tls12_peers`; ``set_ciphers`` and
``set_ecdh_curve`` pin one suite and one group, ``load_dh_params`` enables DHE on the Python
server), resumption through ``ssl.SSLSession`` by session ID (``OP_NO_TICKET``) and by ticket,
a peer without the extended master secret, and bulk data through each AEAD.
"""

from __future__ import annotations

import ssl

import pytest
from peers import TIMEOUT, Peers, client_config, read_exactly, server_certificates
from tls12_peers import (
    CERT_CURVE,
    ECDHE_CASES,
    FFDHE_CASES,
    OPENSSL_SUITE,
    SCHEME12,
    Case,
    cached_sessions,
    case_server_config,
    ffdhe_params,
    python_client12,
    python_context12,
    python_server12,
)

from tlsmachine import InMemoryClientSessionStore, ServerConfig, SessionTicketReceived
from tlsmachine.events import Event
from tlsmachine.sockets import connect

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

OP_NO_EXTENDED_MASTER_SECRET = 1
"""OpenSSL 3.0's SSL_OP_NO_EXTENDED_MASTER_SECRET (bit 0); Python 3.11's ssl has no name for it,
but ``SSLContext.options`` passes any bit to SSL_CTX_set_options."""

SCHEME_KIND = {"ecdsa-p256": "ecdsa_", "ecdsa-p384": "ecdsa_", "ed25519": "ed25519"}
SCHEME_KIND["rsa-2048"] = "rsa_"


def _python_client_cases() -> list[Case]:
    """Python's set_ecdh_curve leaves one group in supported_groups, which in TLS 1.2 must also
    cover an ECDSA certificate's curve (RFC 8422 §4): ECDSA P-256/P-384 only with their own
    curve; Ed25519 and RSA with every curve."""
    cases = [c for c in ECDHE_CASES if CERT_CURVE.get(c.leaf, c.group) == c.group]
    ecdsa_suites = sorted({c.suite for c in ECDHE_CASES if "_ECDSA_" in c.suite})
    for suite in ecdsa_suites:
        for leaf, curve in CERT_CURVE.items():
            if Case(suite, curve, leaf) not in cases:
                cases.append(Case(suite, curve, leaf))
    return cases


PYTHON_CLIENT_CASES = _python_client_cases()


def ca_context(peers: Peers, case: Case | None = None, *, options: int = 0) -> ssl.SSLContext:
    """A TLS-1.2-only Python client context trusting the test CA; with a ``case``, only its
    suite (and its curve, for ECDHE)."""
    ctx = python_context12(
        ssl.Purpose.SERVER_AUTH,
        cipher=case.suite if case else None,
        curve=case.group if case and not case.dhe else None,
        options=options,
    )
    ctx.load_verify_locations(peers.pki.ca_path)
    return ctx


# -- the matrix: our client, Python's ssl server ------------------------------------------------


@pytest.mark.parametrize("case", [c.param() for c in ECDHE_CASES + FFDHE_CASES])
def test_client_vs_python_server(peers: Peers, case: Case) -> None:
    server, _ = python_server12(
        peers,
        case.leaf,
        cipher=case.suite,
        curve=None if case.dhe else case.group,
        dh_params=ffdhe_params(peers.pki.directory, case.group) if case.dhe else None,
    )
    # our default client (TLS 1.3 and 1.2, every suite and group): the Python server picks
    with connect(
        "127.0.0.1",
        server.port,
        config=client_config(peers),
        server_hostname="localhost",
        timeout=TIMEOUT,
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.version, info.cipher_suite, info.group) == ("TLSv1.2", case.suite, case.group)
        assert info.signature_scheme is not None
        assert info.signature_scheme.startswith(SCHEME_KIND[case.leaf]), info.signature_scheme
        assert info.peer_certificates[0] == peers.pki.leaves[case.leaf].cert
        tls.sendall(b"hello python, TLS 1.2")
        assert read_exactly(tls, 21) == b"hello python, TLS 1.2"
    assert tls.clean_close is True  # the Python server answered our close_notify (unwrap)
    (result,) = server.join()
    assert result.error is None, result.error
    assert (result.version, result.cipher) == ("TLSv1.2", OPENSSL_SUITE[case.suite])
    assert result.received == b"hello python, TLS 1.2"
    assert result.clean_close is True


# -- the matrix: Python's ssl client, our server ------------------------------------------------


@pytest.mark.parametrize("case", [c.param() for c in PYTHON_CLIENT_CASES + FFDHE_CASES])
def test_python_client_vs_server(peers: Peers, case: Case) -> None:
    # Python's OpenSSL lists no ffdhe group in a TLS 1.2 hello: we use our first FFDHE group
    ours = peers.our_server(case_server_config(peers, case, [case.group]))
    message = b"hello tlsmachine over TLS 1.2 " * 100
    result = python_client12(ours.port, ca_context(peers, case), message)
    assert (result.version, result.cipher) == ("TLSv1.2", OPENSSL_SUITE[case.suite])
    assert result.received == message
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert (served.info.cipher_suite, served.info.group) == (case.suite, case.group)
    assert served.info.signature_scheme == SCHEME12[case.leaf]
    assert served.info.server_name == "localhost"
    assert served.received == message
    assert served.clean_close is True  # unwrap() sent close_notify


def test_server_skips_an_ecdsa_certificate_on_a_curve_the_python_client_did_not_offer(
    peers: Peers,
) -> None:
    """RFC 8422 §4 (see the OpenSSL test of the same name): Python offers only x25519, so our
    P-256 ECDSA chain is unusable and the RSA chain must serve; OpenSSL under Python otherwise
    aborts the handshake with "wrong curve"."""
    config = ServerConfig(certificates=server_certificates(peers, "ecdsa-p256", "rsa-2048"))
    ours = peers.our_server(config)
    ctx = ca_context(peers)
    ctx.set_ecdh_curve("X25519")
    result = python_client12(ours.port, ctx, b"curves")
    assert result.cipher is not None
    assert result.cipher.startswith("ECDHE-RSA-")
    served = ours.next_connection()
    assert served.error is None, served.error


# -- resumption through ssl.SSLSession ----------------------------------------------------------


@pytest.mark.parametrize("tickets", [False, True], ids=["session-id", "ticket"])
def test_client_resumes_with_python_server(peers: Peers, tickets: bool) -> None:
    options = 0 if tickets else ssl.OP_NO_TICKET
    server, reused = python_server12(peers, "ecdsa-p256", connections=3, options=options)
    store = InMemoryClientSessionStore()
    events: list[Event] = []
    config = client_config(peers, session_store=store)
    infos = []
    for i in range(3):
        message = b"connection %d" % i
        with connect(
            "127.0.0.1",
            server.port,
            config=config,
            server_hostname="localhost",
            timeout=TIMEOUT,
            on_event=events.append,
        ) as tls:
            tls.sendall(message)
            assert read_exactly(tls, len(message)) == message
            infos.append(tls.handshake_info)
        assert tls.clean_close is True
    results = server.join()
    assert [r.error for r in results] == [None] * 3
    assert [i.resumed for i in infos if i] == [False, True, True]
    assert reused == [False, True, True]  # the Python server agrees
    sessions = [e.session for e in events if isinstance(e, SessionTicketReceived)]
    assert sessions
    assert all(bool(s.ticket) is tickets for s in sessions)
    assert all(s.session_id for s in sessions if not tickets)


@pytest.mark.parametrize("tickets", [False, True], ids=["session-id", "ticket"])
def test_python_client_resumes_with_server(peers: Peers, tickets: bool) -> None:
    config = ServerConfig(certificates=server_certificates(peers, "rsa-2048"))
    ours = peers.our_server(config)
    ctx = ca_context(peers, options=0 if tickets else ssl.OP_NO_TICKET)
    session = None
    reused = []
    for i in range(3):
        result = python_client12(ours.port, ctx, b"round %d" % i, session=session)
        assert result.received == b"round %d" % i
        assert result.session is not None
        assert result.session.has_ticket is tickets
        reused.append(result.session_reused)
        session = result.session
    assert reused == [False, True, True]
    served = [ours.next_connection() for _ in range(3)]
    assert [s.error for s in served] == [None] * 3
    assert [s.info.resumed for s in served if s.info] == [False, True, True]
    assert cached_sessions(config) == (0 if tickets else 1)


def test_client_with_python_server_without_ems_never_resumes(peers: Peers) -> None:
    server, reused = python_server12(
        peers, "ecdsa-p256", connections=2, options=OP_NO_EXTENDED_MASTER_SECRET
    )
    store = InMemoryClientSessionStore()
    config = client_config(peers, session_store=store)
    for _ in range(2):
        with connect(
            "127.0.0.1", server.port, config=config, server_hostname="localhost", timeout=TIMEOUT
        ) as tls:
            assert tls.handshake_info is not None
            assert tls.handshake_info.resumed is False
            tls.sendall(b"no ems")
            assert read_exactly(tls, 6) == b"no ems"
    assert [r.error for r in server.join()] == [None, None]
    assert reused == [False, False]
    assert len(store) == 0  # RFC 7627 §5.3: a session without EMS is not kept


def test_python_client_without_ems_never_resumes(peers: Peers) -> None:
    config = ServerConfig(certificates=server_certificates(peers, "ecdsa-p256"))
    ours = peers.our_server(config)
    ctx = ca_context(peers, options=OP_NO_EXTENDED_MASTER_SECRET)
    first = python_client12(ours.port, ctx, b"first")
    assert first.session is not None
    assert not first.session.has_ticket  # no ticket for a session without EMS
    second = python_client12(ours.port, ctx, b"second", session=first.session)
    assert (first.session_reused, second.session_reused) == (False, False)
    served = [ours.next_connection() for _ in range(2)]
    assert [s.info.resumed for s in served if s.info] == [False, False]
    assert cached_sessions(config) == 0


# -- bulk data through each AEAD (many full records, explicit and implicit nonces) -------------

BULK = [
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
]
PAYLOAD = bytes(range(256)) * 1024  # 256 KiB: 16+ records of 16 KiB each way


@pytest.mark.parametrize("suite", BULK)
def test_bulk_data_to_python_server(peers: Peers, suite: str) -> None:
    server, _ = python_server12(peers, "rsa-2048", cipher=suite)
    with connect(
        "127.0.0.1",
        server.port,
        config=client_config(peers),
        server_hostname="localhost",
        timeout=TIMEOUT,
    ) as tls:
        assert tls.handshake_info is not None
        assert tls.handshake_info.cipher_suite == suite
        tls.sendall(PAYLOAD)
        assert read_exactly(tls, len(PAYLOAD)) == PAYLOAD
    (result,) = server.join()
    assert result.error is None, result.error
    assert result.received == PAYLOAD


@pytest.mark.parametrize("suite", BULK)
def test_bulk_data_from_python_client(peers: Peers, suite: str) -> None:
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "rsa-2048")))
    ctx = ca_context(peers)
    ctx.set_ciphers(OPENSSL_SUITE[suite])
    result = python_client12(ours.port, ctx, PAYLOAD)
    assert result.cipher == OPENSSL_SUITE[suite]
    assert result.received == PAYLOAD
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.received == PAYLOAD
