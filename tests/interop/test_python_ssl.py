"""Interop with Python's :mod:`ssl` module (OpenSSL underneath) in a thread, both directions.

``ssl.SSLContext.set_ecdh_curve`` restricts the TLS 1.3 groups to one on OpenSSL 3, which is how
these tests pick the key exchange (and force a HelloRetryRequest). Resumption: each side's own
API says whether a connection resumed (``HandshakeComplete.resumed``, ``session_reused``).
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import pytest
from peers import (
    TIMEOUT,
    Peers,
    PythonTLSServer,
    client_config,
    python_context,
    python_tls_client,
    read_exactly,
    server_certificates,
)

from tlsmachine import AlertReceived, InMemoryClientSessionStore, ServerConfig
from tlsmachine.crypto.groups import SECP256R1, SECP384R1, X25519, group_by_id
from tlsmachine.enums import AlertDescription, NamedGroup
from tlsmachine.sockets import connect

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

GROUP_IDS = {"x25519": NamedGroup.X25519, "secp256r1": NamedGroup.SECP256R1}
SCHEME = {"rsa-2048": "rsa_pss_rsae_sha256", "ecdsa-p256": "ecdsa_secp256r1_sha256"}
CASES = [(leaf, group) for leaf in SCHEME for group in GROUP_IDS]


# -- our client, Python's ssl server --------------------------------------------------------------


@pytest.mark.parametrize(("leaf", "group"), CASES)
def test_client_vs_python_server(peers: Peers, leaf: str, group: str) -> None:
    server = peers.python_server(leaf, group=group)
    the_group = group_by_id(GROUP_IDS[group])
    config = client_config(peers, key_share_groups=(the_group,))
    with connect(
        "127.0.0.1", server.port, config=config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.version, info.group, info.hello_retry) == ("TLSv1.3", group, False)
        assert info.signature_scheme == SCHEME[leaf]
        tls.sendall(b"hello python")
        assert read_exactly(tls, 12) == b"hello python"
    assert tls.clean_close is True  # the Python server answered our close_notify (unwrap)
    (result,) = server.join()
    assert result.error is None, result.error
    assert result.version == "TLSv1.3"
    assert result.cipher == info.cipher_suite
    assert result.received == b"hello python"
    assert result.clean_close is True


def test_client_hello_retry_request_and_key_update(peers: Peers) -> None:
    server = peers.python_server("ecdsa-p256", group="secp256r1", alpn=["http/1.1"])
    config = client_config(peers, alpn_protocols=("h2", "http/1.1"))
    with connect(
        "127.0.0.1", server.port, config=config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert info.hello_retry is True  # we sent only an x25519 share
        assert info.group == "secp256r1"
        assert info.alpn_protocol == "http/1.1"
        tls.key_update(request_peer=True)
        tls.sendall(b"after key update")
        assert read_exactly(tls, 16) == b"after key update"
    assert tls.clean_close is True
    (result,) = server.join()
    assert result.error is None, result.error
    assert result.alpn == "http/1.1"
    assert result.clean_close is True


# -- Python's ssl client, our server --------------------------------------------------------------


@pytest.mark.parametrize(("leaf", "group"), CASES)
def test_python_client_vs_server(peers: Peers, leaf: str, group: str) -> None:
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, leaf)))
    message = b"hello tlsmachine " * 1000
    result = python_tls_client(ours.port, peers.pki.ca_path, message=message, group=group)
    assert result.version == "TLSv1.3"
    assert result.received == message
    assert result.clean_close is True  # unwrap() got our close_notify
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert (served.info.group, served.info.hello_retry) == (group, False)
    assert served.info.cipher_suite == result.cipher
    assert served.info.server_name == "localhost"
    assert served.received == message
    assert served.clean_close is True


def test_server_hello_retry_request_and_alpn_with_python_client(peers: Peers) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "rsa-2048", "ecdsa-p256"),
        groups=(SECP384R1, SECP256R1, X25519),
        strict_group_preference=True,  # Python sends an x25519 share; we want secp384r1
        alpn_protocols=("h2", "http/1.1"),
    )
    ours = peers.our_server(config)
    result = python_tls_client(
        ours.port, peers.pki.ca_path, message=b"retry", alpn=["http/1.1", "h2"]
    )
    assert result.alpn == "h2"  # our preference order (RFC 7301 §3.2)
    assert result.received == b"retry"
    assert result.clean_close is True
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert served.info.hello_retry is True
    assert served.info.group == "secp384r1"
    assert served.info.signature_scheme == "rsa_pss_rsae_sha256"  # first chain that fits


def test_python_client_rejects_a_wrong_host_name(peers: Peers) -> None:
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "ecdsa-p256")))
    with pytest.raises(ssl.SSLCertVerificationError):
        python_tls_client(
            ours.port, peers.pki.ca_path, message=b"x", server_hostname="wrong.example"
        )
    served = ours.next_connection()
    assert served.error is not None


def test_server_reports_the_alert_of_a_client_that_rejects_its_certificate(peers: Peers) -> None:
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "ecdsa-p256")))
    with pytest.raises(ssl.SSLCertVerificationError):
        python_tls_client(
            ours.port, peers.pki.ca_path, message=b"x", server_hostname="wrong.example"
        )
    served = ours.next_connection()
    assert isinstance(served.error, AlertReceived), served.error
    assert served.error.description == AlertDescription.BAD_CERTIFICATE


# -- resumption (RFC 8446 §2.2, §4.6.1) ---------------------------------------------------------


def record_session_reused(server: PythonTLSServer) -> list[bool | None]:
    """Make ``server`` note each connection's ``session_reused`` once its handshake is done.

    :class:`PythonTLSServer` does not record it; ``SSLContext.sslsocket_class`` (meant to be
    overridden on an instance) makes its context build sockets that do. Call this before any
    client connects.
    """
    reused: list[bool | None] = []  # typeshed: None before a handshake

    class RecordingSocket(ssl.SSLSocket):
        def do_handshake(self, block: bool = False) -> None:
            super().do_handshake(block)
            reused.append(self.session_reused)

    server.ctx.sslsocket_class = RecordingSocket
    return reused


def test_client_resumes_with_python_server(peers: Peers) -> None:
    server = peers.python_server("ecdsa-p256", connections=2)
    server_reused = record_session_reused(server)
    store = InMemoryClientSessionStore()
    config = client_config(peers, session_store=store)
    infos = []
    peer_certs: list[object] = []
    for message in (b"full handshake", b"resumed"):
        with connect(
            "127.0.0.1", server.port, config=config, server_hostname="localhost", timeout=TIMEOUT
        ) as tls:
            tls.sendall(message)
            # the NewSessionTickets come right after the server's handshake, before the echo
            assert read_exactly(tls, len(message)) == message
            infos.append(tls.handshake_info)
            peer_certs.append(tls.getpeercert())
        assert tls.clean_close is True
        assert len(store) >= 1  # the first connection's ticket(s); the second adds more
    results = server.join()
    assert [r.error for r in results] == [None, None], results
    assert [r.received for r in results] == [b"full handshake", b"resumed"]
    first, second = infos
    assert first is not None
    assert second is not None
    assert (first.resumed, second.resumed) == (False, True)
    assert server_reused == [False, True]  # the Python server agrees: it accepted our PSK
    assert first.signature_scheme == "ecdsa_secp256r1_sha256"
    assert second.signature_scheme is None  # a PSK handshake has no CertificateVerify
    assert second.group == "x25519"  # psk_dhe_ke: resumption with a fresh key exchange
    assert second.cipher_suite == first.cipher_suite == results[1].cipher
    # as ssl's getpeercert(): the resumed connection reports the certificate of its session
    assert peer_certs[0] and peer_certs[1] == peer_certs[0]


def python_client_resuming(port: int, cafile: Path, messages: list[bytes]) -> list[bool | None]:
    """One Python ssl connection per message, all from one context, each offering the session
    of the one before with ``session=``; returns each connection's ``session_reused``.

    In TLS 1.3 the tickets are post-handshake messages: the client must read after the
    handshake (here, the echo, which our server sends after its tickets) before
    ``SSLSocket.session`` holds a resumable session.
    """
    ctx = python_context(ssl.Purpose.SERVER_AUTH)
    ctx.load_verify_locations(cafile)
    session: ssl.SSLSession | None = None
    reused: list[bool | None] = []
    for message in messages:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
            ctx.wrap_socket(raw, server_hostname="localhost", session=session) as tls,
        ):
            reused.append(tls.session_reused)
            tls.sendall(message)
            echoed = b""
            while len(echoed) < len(message):
                data = tls.recv(65536)
                assert data, f"our server closed after {len(echoed)} of {len(message)} bytes"
                echoed += data
            assert echoed == message
            session = tls.session
            assert session is not None
            assert session.has_ticket, "no NewSessionTicket from our server"
            tls.unwrap()  # close_notify both ways
    return reused


def test_python_client_resumes_with_server(peers: Peers) -> None:
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "ecdsa-p256")))
    reused = python_client_resuming(ours.port, peers.pki.ca_path, [b"full handshake", b"resumed"])
    assert reused == [False, True]  # Python's ssl accepted our ticket and PSK handshake
    served = [ours.next_connection() for _ in range(2)]
    assert [s.error for s in served] == [None, None], served
    infos = [s.info for s in served]
    assert all(info is not None for info in infos), infos
    assert [info.resumed for info in infos if info is not None] == [False, True]
    assert [s.received for s in served] == [b"full handshake", b"resumed"]
    assert [s.clean_close for s in served] == [True, True]
