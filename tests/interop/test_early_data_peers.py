"""0-RTT early data with real peers (RFC 8446 §2.3, §4.2.10): OpenSSL and GnuTLS, both ways.

Each test first takes a ticket from a full handshake, then resumes sending early data, and checks
on both sides that the data was accepted as 0-RTT (not merely delivered after the handshake).
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest
from peers import TIMEOUT, Peers, client_config, server_certificates

from tlsmachine import InMemoryClientSessionStore, ServerConfig
from tlsmachine.sockets import TLSSocket, connect

pytestmark = pytest.mark.interop

EARLY = b"early hello\n"


def _wait_for_ticket(tls: TLSSocket, store: InMemoryClientSessionStore) -> None:
    """Read until the peer's NewSessionTicket arrived (servers send it after the handshake)."""
    deadline = time.monotonic() + TIMEOUT
    tls.socket.settimeout(0.2)
    while not len(store) and time.monotonic() < deadline:
        with contextlib.suppress(TimeoutError):
            tls.recv_once()
    tls.socket.settimeout(TIMEOUT)
    assert len(store), "no session ticket from the peer"


def _resume_with_early_data(peers: Peers, port: int) -> tuple[list[bool], list[bytes]]:
    """Two connections of our client: a full one (takes tickets), a resumed one with 0-RTT."""
    store = InMemoryClientSessionStore()
    config = client_config(peers, session_store=store, early_data=True)
    accepted, rejected = [], []
    for attempt in range(2):
        with connect(
            "127.0.0.1",
            port,
            config=config,
            server_hostname="localhost",
            timeout=TIMEOUT,
            early_data=EARLY,
        ) as tls:
            if attempt == 0:
                assert tls.rejected_early_data == EARLY  # no ticket yet: nothing was sent
                _wait_for_ticket(tls, store)
            assert tls.handshake_info is not None
            accepted.append(tls.handshake_info.early_data_accepted)
            rejected.append(tls.rejected_early_data)
    return accepted, rejected


def test_our_client_sends_early_data_to_s_server(peers: Peers) -> None:
    server, port = peers.openssl_server(
        mode="-early_data", extra=("-max_early_data", "16384", "-naccept", "2")
    )
    accepted, rejected = _resume_with_early_data(peers, port)
    assert accepted == [False, True] and rejected[1] == b""
    server.wait_for("Early data received:")
    server.wait_for(EARLY.decode().strip())


def test_s_client_sends_early_data_to_our_server(peers: Peers, tmp_path: Path) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"), max_early_data_size=16384
    )
    ours = peers.our_server(config)
    session, early = tmp_path / "session.pem", tmp_path / "early.txt"
    early.write_bytes(EARLY)
    for options in (
        ("-sess_out", str(session)),
        ("-sess_in", str(session), "-early_data", str(early)),
    ):
        client = peers.openssl_client(ours.port, extra=options)
        client.wait_for(r"Verify return code: 0 \(ok\)")
        client.wait_for(
            "early hello" if "-early_data" in options else "Post-Handshake New Session Ticket"
        )
        client.close_stdin()
        assert client.wait() == 0, client.describe()
    assert "Early data was accepted" in client.output, client.output
    first, second = ours.next_connection(), ours.next_connection()
    assert first.info is not None and not first.info.early_data_accepted
    assert second.info is not None and second.info.early_data_accepted
    assert second.early_data == len(EARLY) and second.received == EARLY


def test_our_client_sends_early_data_to_gnutls_serv(peers: Peers) -> None:
    _, port = peers.gnutls_server(extra=("--earlydata", "--maxearlydata=16384"))
    accepted, rejected = _resume_with_early_data(peers, port)
    assert accepted == [False, True] and rejected[1] == b""


def test_gnutls_cli_sends_early_data_to_our_server(peers: Peers, tmp_path: Path) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"), max_early_data_size=16384
    )
    ours = peers.our_server(config)
    early = tmp_path / "early.txt"
    early.write_bytes(EARLY)
    client = peers.gnutls_client(ours.port, extra=("--resume", f"--earlydata={early}"))
    client.wait_for(r"\*\*\* This is a resumed session")
    client.close_stdin()
    assert client.wait() == 0, client.describe()
    first, second = ours.next_connection(), ours.next_connection()
    assert second.info is not None and second.info.resumed and second.info.early_data_accepted
    assert second.early_data == len(EARLY) and second.received.startswith(EARLY)
    assert first.info is not None and not first.info.early_data_accepted
