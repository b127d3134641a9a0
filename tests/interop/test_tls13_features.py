"""Resumption (OpenSSL, GnuTLS), exporters and client authentication (OpenSSL) with real peers.

The peers check our PSK binders and we check theirs; a resumed handshake has no certificate.
"""

from __future__ import annotations

import pytest
from peers import TIMEOUT, Peers, client_config, read_exactly, server_certificates, tool

from tlsmachine import CertifiedKey, InMemoryClientSessionStore, ServerConfig
from tlsmachine.sockets import connect

pytestmark = pytest.mark.interop


def test_our_client_resumes_with_s_server(peers: Peers) -> None:
    leaf = peers.pki.leaves["ecdsa-p256"]
    argv = [tool("openssl"), "s_server", "-accept", "127.0.0.1:0", "-tls1_3", "-naccept", "2"]
    argv += ["-cert", str(leaf.cert_path), "-key", str(leaf.key_path), "-rev"]
    server = peers.start(argv, "openssl s_server")
    port = int(server.wait_for(r"ACCEPT 127\.0\.0\.1:(\d+)").group(1))
    store = InMemoryClientSessionStore()
    config = client_config(peers, session_store=store)
    resumed = []
    for _ in range(2):
        with connect(
            "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT
        ) as tls:
            tls.sendall(b"resume me\n")
            assert read_exactly(tls, 10) == b"em emuser\n"
            assert tls.handshake_info is not None
            resumed.append(tls.handshake_info.resumed)
    assert resumed == [False, True]
    assert server.wait() == 0, server.describe()


def s_client_session(peers: Peers, port: int, *options: str) -> str:
    """One s_client connection echoing a line through our server, then a clean exit."""
    client = peers.openssl_client(port, extra=options)  # stdin EOF: close_notify, exit
    client.wait_for(r"Verify return code: 0 \(ok\)")
    client.write(b"ping\n")
    client.wait_for("ping")
    client.close_stdin()
    assert client.wait() == 0, client.describe()
    return client.output


def test_s_client_resumes_with_our_server(peers: Peers, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "ecdsa-p256")))
    session_file = tmp_path / "session.pem"
    first = s_client_session(peers, ours.port, "-sess_out", str(session_file))
    assert "New, TLSv1.3" in first, first
    second = s_client_session(peers, ours.port, "-sess_in", str(session_file))
    assert "Reused, TLSv1.3" in second, second  # s_client accepted our PSK handshake
    infos = [ours.next_connection().info for _ in range(2)]
    assert [info.resumed for info in infos if info is not None] == [False, True]


def test_gnutls_cli_resumes_with_our_server(peers: Peers) -> None:
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "ecdsa-p256")))
    # --resume: connect, take a ticket, then reconnect offering it
    client = peers.gnutls_client(ours.port, extra=("--resume",))
    client.wait_for(r"\*\*\* This is a resumed session")
    client.close_stdin()
    assert client.wait() == 0, client.describe()
    infos = [ours.next_connection().info for _ in range(2)]
    assert [info.resumed for info in infos if info is not None] == [False, True]


def test_our_client_resumes_with_gnutls_serv(peers: Peers) -> None:
    _, port = peers.gnutls_server("ecdsa-p256")
    store = InMemoryClientSessionStore()
    config = client_config(peers, session_store=store)
    resumed = []
    for _ in range(2):
        with connect(
            "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT
        ) as tls:
            tls.sendall(b"echo\n")
            assert read_exactly(tls, 5) == b"echo\n"
            assert tls.handshake_info is not None
            resumed.append(tls.handshake_info.resumed)
    assert resumed == [False, True]


def test_exported_keying_material_matches_s_server(peers: Peers) -> None:
    leaf = peers.pki.leaves["ecdsa-p256"]
    argv = [tool("openssl"), "s_server", "-accept", "127.0.0.1:0", "-tls1_3", "-naccept", "1"]
    argv += ["-cert", str(leaf.cert_path), "-key", str(leaf.key_path)]
    argv += ["-keymatexport", "EXPORTER-tlsmachine", "-keymatexportlen", "32"]
    server = peers.start(argv, "openssl s_server")  # plain mode prints the connection info
    port = int(server.wait_for(r"ACCEPT 127\.0\.0\.1:(\d+)").group(1))
    with connect(
        "127.0.0.1", port, config=client_config(peers), server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        ours = tls.connection.export_keying_material("EXPORTER-tlsmachine", 32)
        theirs = server.wait_for(r"Keying material: ([0-9A-Fa-f]+)").group(1)
    assert bytes.fromhex(theirs) == ours  # RFC 8446 §7.5, computed independently by OpenSSL


def test_s_client_authenticates_to_our_server(peers: Peers) -> None:
    leaf = peers.pki.leaves["ecdsa-p256"]
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"),
        client_auth="required",
        client_cafile=str(peers.pki.ca_path),
    )
    ours = peers.our_server(config)
    s_client_session(peers, ours.port, "-cert", str(leaf.cert_path), "-key", str(leaf.key_path))
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert served.info.peer_certificates[0] == leaf.cert


def test_our_client_authenticates_to_s_server(peers: Peers) -> None:
    leaf = peers.pki.leaves["rsa-2048"]
    server, port = peers.openssl_server(
        "ecdsa-p256",
        extra=("-Verify", "1", "-verify_return_error", "-CAfile", str(peers.pki.ca_path)),
    )
    certified = CertifiedKey.load(leaf.chain_path, leaf.key_path)
    config = client_config(peers, certificates=(certified,))
    with connect(
        "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        tls.sendall(b"authenticated\n")
        assert read_exactly(tls, 14) == b"detacitnehtua\n"
    assert server.wait() == 0, server.describe()
    assert "CN = localhost" in server.output or "CN=localhost" in server.output, server.describe()
