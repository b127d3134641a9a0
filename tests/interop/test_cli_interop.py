"""The command line's resumption, client-certificate and key-log options against OpenSSL.

``openssl s_client -sess_out`` files are not our format, so the session files are checked the
other way round: ``tlsmachine client --sess-out/--sess-in`` resumes with ``openssl s_server``
(whose ``-www`` page says ``Reused``). Key log lines are compared with OpenSSL's own
``-keylogfile`` output for the same connection.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from peers import TIMEOUT, PeerProcess, Peers, tool

from tls_fixtures import KEYLOG_LABELS

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

CLI = [sys.executable, "-m", "tlsmachine"]
GET = b"GET / HTTP/1.0\r\n\r\n"


def s_server(peers: Peers, *options: str, naccept: int = 1) -> tuple[PeerProcess, int]:
    """``openssl s_server -www`` for ``naccept`` connections on an ephemeral port."""
    leaf = peers.pki.leaves["ecdsa-p256"]
    argv = [tool("openssl"), "s_server", "-accept", "127.0.0.1:0", "-tls1_3"]
    argv += ["-naccept", str(naccept), "-cert", str(leaf.cert_path), "-key", str(leaf.key_path)]
    server = peers.start([*argv, "-www", *options], "openssl s_server")
    return server, int(server.wait_for(r"ACCEPT 127\.0\.0\.1:(\d+)").group(1))


def cli_get(peers: Peers, port: int, *options: str) -> PeerProcess:
    """``tlsmachine client`` sending one HTTP GET to 127.0.0.1:port; it must exit 0."""
    argv = [*CLI, "client", f"127.0.0.1:{port}", "--servername", "localhost"]
    argv += ["--cafile", str(peers.pki.ca_path), "--timeout", str(TIMEOUT), *options]
    client = peers.start(argv, "tlsmachine client")
    client.write(GET)
    client.close_stdin()
    assert client.wait() == 0, client.describe()
    return client


def cli_server(peers: Peers, *options: str) -> tuple[PeerProcess, int]:
    """``tlsmachine server --echo`` on an ephemeral port."""
    leaf = peers.pki.leaves["ecdsa-p256"]
    argv = [*CLI, "server", "--port", "0", "--echo", "--timeout", str(TIMEOUT)]
    argv += ["--cert", str(leaf.chain_path), "--key", str(leaf.key_path), *options]
    server = peers.start(argv, "tlsmachine server")
    return server, int(server.wait_for(r"listening on 127\.0\.0\.1:(\d+)").group(1))


def s_client_ping(peers: Peers, port: int, *options: str) -> PeerProcess:
    """``openssl s_client`` echoing one line through our server, then a clean exit."""
    client = peers.openssl_client(port, extra=options)  # stdin EOF: close_notify, exit
    client.wait_for(r"Verify return code: 0 \(ok\)")
    client.write(b"ping\n")
    client.wait_for(r"^ping$")
    client.close_stdin()
    assert client.wait() == 0, client.describe()
    return client


def keylog_lines(path: Path) -> set[str]:
    """The key log lines of a file, without OpenSSL's comment header."""
    lines = {line for line in path.read_text().splitlines() if line and line[0] != "#"}
    assert {line.split()[0] for line in lines} == KEYLOG_LABELS, lines
    return lines


def test_cli_session_file_resumes_with_s_server(peers: Peers, tmp_path: Path) -> None:
    server, port = s_server(peers, naccept=2)
    session = tmp_path / "session.bin"
    first = cli_get(peers, port, "--sess-out", str(session))
    assert "New, TLSv1.3" in first.output, first.describe()  # s_server's -www page
    assert re.search(r"\* resumed +no \(full handshake\)\n", first.output)
    assert session.stat().st_size > 0
    second = cli_get(peers, port, "--sess-in", str(session))
    assert "Reused, TLSv1.3" in second.output, second.describe()  # s_server accepted our PSK
    assert re.search(r"\* resumed +yes\n", second.output)
    assert server.wait() == 0, server.describe()


def test_s_client_certificate_to_cli_server(peers: Peers) -> None:
    server, port = cli_server(
        peers, "--verify-client", "required", "--client-cafile", str(peers.pki.ca_path)
    )
    leaf = peers.pki.leaves["rsa-2048"]
    s_client_ping(peers, port, "-cert", str(leaf.cert_path), "-key", str(leaf.key_path))
    subject = re.escape(leaf.cert.subject.rfc4514_string())
    server.wait_for(rf"server name localhost, client certificate {subject} \(verified\)")
    server.wait_for(r"closed cleanly")

    anonymous = peers.openssl_client(port)  # no -cert: our server must refuse it
    anonymous.wait_for(r"alert certificate required")
    server.wait_for(r"failed: .*\(sent alert certificate_required\)")
    anonymous.stop()


def test_cli_server_keylog_matches_s_client(peers: Peers, tmp_path: Path) -> None:
    ours, theirs = tmp_path / "server.keys", tmp_path / "s_client.keys"
    server, port = cli_server(peers, "--keylog", str(ours))
    s_client_ping(peers, port, "-keylogfile", str(theirs))
    server.wait_for(r"closed cleanly")
    assert keylog_lines(ours) == keylog_lines(theirs)


def test_cli_client_keylog_matches_s_server(peers: Peers, tmp_path: Path) -> None:
    ours, theirs = tmp_path / "client.keys", tmp_path / "s_server.keys"
    server, port = s_server(peers, "-keylogfile", str(theirs))
    cli_get(peers, port, "--keylog", str(ours))
    assert server.wait() == 0, server.describe()
    assert keylog_lines(ours) == keylog_lines(theirs)
