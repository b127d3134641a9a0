"""The key log proven with Wireshark: a capture of our client and server decrypts with it.

``dumpcap`` captures one connection on the loopback interface (filtered on the server's port)
between ``tlsmachine server`` and ``tlsmachine client``, the client writing its secrets to
``$SSLKEYLOGFILE``. ``tshark`` then reads the capture twice: with the key log it must show the
payload in both directions and a handshake message only the secrets can reveal (TLS 1.3:
the encrypted Certificate; TLS 1.2: the Finished messages); without it, neither. The capture
file itself must not contain the payload.

Capturing needs root or a dumpcap allowed to capture (``make peers`` installs tshark); a missing
tool or permission FAILS the test with what to do, like the other peers.
"""

from __future__ import annotations

import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from peers import TIMEOUT, PeerProcess, Peers, tool

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]

CLI = [sys.executable, "-m", "tlsmachine"]
CAPTURE_LIMIT = 60
"""dumpcap stops by itself after this many seconds, should the test fail to stop it."""
NO_PERMISSION = (
    "dumpcap cannot capture on the loopback interface. Run the tests as root, or let this "
    "user capture: `sudo dpkg-reconfigure wireshark-common` (answer yes), "
    "`sudo usermod -aG wireshark $USER`, then log in again."
)
# The handshake type tshark can only see with the secrets: TLS 1.3 encrypts the Certificate
# (RFC 8446 §2), TLS 1.2 the Finished messages after ChangeCipherSpec (RFC 5246 §7.4.9).
SECRET_HANDSHAKE_TYPE = {"1.3": "11", "1.2": "20"}
LABELS = {
    "1.3": {
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
        "EXPORTER_SECRET",
    },
    "1.2": {"CLIENT_RANDOM"},
}


def start_capture(peers: Peers, port: int, path: Path) -> PeerProcess:
    """dumpcap on ``lo`` for TCP port ``port``, once it is capturing into ``path``.

    dumpcap prints ``Capturing on 'Loopback: lo'`` even when it then fails for want of
    permission; ``File: PATH`` comes only once the device and the file are open.
    """
    argv = [tool("dumpcap"), "-i", "lo", "-f", f"tcp port {port}", "-w", str(path)]
    capture = peers.start([*argv, "-a", f"duration:{CAPTURE_LIMIT}"], "dumpcap")
    try:
        capture.wait_for(r"^File: ")
    except AssertionError as exc:
        pytest.fail(f"{NO_PERMISSION}\n{exc}")
    return capture


def tshark(capture: Path, port: int, keylog: Path | None, *fields: str) -> list[list[str]]:
    """``tshark -T fields`` over the capture, TLS on ``port``, with or without the key log."""
    argv = [tool("tshark"), "-r", str(capture), "-d", f"tcp.port=={port},tls"]
    argv += ["-o", f"tls.keylog_file:{keylog or ''}", "-T", "fields"]
    for field in fields:
        argv += ["-e", field]
    done = subprocess.run(argv, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    return [line.split("\t") for line in done.stdout.decode().splitlines()]


def wait_for_both_fins(capture: Path, port: int) -> None:
    """Poll the growing capture until both sides' FIN are in it: the connection is all there."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        rows = tshark(capture, port, None, "tcp.flags.fin", "tcp.srcport")
        senders = {row[1] for row in rows if row[0] in ("1", "True")}
        if len(senders) == 2:
            return
        assert time.monotonic() < deadline, f"no FIN from both sides in the capture: {rows}"
        time.sleep(0.1)


@pytest.mark.parametrize("version", ["1.3", "1.2"])
def test_key_log_decrypts_a_captured_connection(
    peers: Peers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    monkeypatch.delenv("SSLKEYLOGFILE", raising=False)
    leaf = peers.pki.leaves["ecdsa-p256"]
    server = peers.start(
        [*CLI, "server", "--port", "0", "--echo", "--timeout", str(TIMEOUT),
         "--cert", str(leaf.chain_path), "--key", str(leaf.key_path)],
        "tlsmachine server",
    )  # fmt: skip
    port = int(server.wait_for(r"listening on 127\.0\.0\.1:(\d+)").group(1))
    capture_file, keylog = tmp_path / "capture.pcapng", tmp_path / "client.keys"
    capture = start_capture(peers, port, capture_file)

    payload = f"tlsmachine tshark check {secrets.token_hex(8)}\n".encode()
    monkeypatch.setenv("SSLKEYLOGFILE", str(keylog))  # the client takes it from the environment
    client = peers.start(
        [*CLI, "client", f"127.0.0.1:{port}", "--servername", "localhost", "--cafile",
         str(peers.pki.ca_path), "--max-version", version, "--half-close",
         "--timeout", str(TIMEOUT)],
        "tlsmachine client",
    )  # fmt: skip
    client.write(payload)
    client.close_stdin()
    assert client.wait() == 0, client.describe()
    assert client.stdout == payload  # echoed
    assert f"appending TLS secrets to {keylog} (SSLKEYLOGFILE)" in client.output
    server.wait_for(r"closed cleanly")
    wait_for_both_fins(capture_file, port)
    capture.proc.send_signal(signal.SIGINT)  # dumpcap finishes the file and exits
    assert capture.wait() == 0, capture.describe()

    labels = {line.split()[0] for line in keylog.read_text().splitlines()}
    assert labels == LABELS[version]
    assert payload not in capture_file.read_bytes()  # only ciphertext on the wire

    fields = ("tcp.srcport", "tls.handshake.type", "data.data")
    decrypted = tshark(capture_file, port, keylog, *fields)
    senders = {row[0] for row in decrypted if payload.hex() in row[2]}
    assert str(port) in senders and len(senders) == 2, decrypted  # sent, then echoed
    types = {t for row in decrypted for t in row[1].split(",") if t}
    assert SECRET_HANDSHAKE_TYPE[version] in types, types

    opaque = tshark(capture_file, port, None, *fields)
    assert len(opaque) == len(decrypted)  # the same packets
    assert not any(payload.hex() in row[2] for row in opaque), opaque
    types = {t for row in opaque for t in row[1].split(",") if t}
    assert SECRET_HANDSHAKE_TYPE[version] not in types, types
    assert "1" in types  # tshark did read the TLS records: the ClientHello is in the clear
