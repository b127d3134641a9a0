"""Deno 2.9 (whose TLS is rustls) as an interop peer: run ``deno_peer/peer.ts`` (``test_deno.py``).

The Deno binary comes from the npm package ``@deno/linux-x64-glibc`` that ``make peers``
installs into the git-ignored ``.peers/deno``; a missing binary fails the tests. The script
uses Deno built-ins only, and runs as ``deno run --no-config --no-lock --allow-net
--allow-read`` with ``DENO_DIR`` in a temporary directory, so nothing is downloaded and nothing
is written to the repository.

The script prints one JSON object per line (see ``deno_peer/peer.ts``): a server first
``{"event": "listening", "port": N}``, then one ``{"event": "connection", ...}`` per connection
with the ALPN protocol rustls selected, the bytes it received (hex up to 64 KiB, always their
length and SHA-256), whether the stream ended with close_notify, or the error text; last
``{"event": "done"}``. Deno does not report the version, cipher suite or group rustls
negotiated: our end reports those.

Also here: our own servers for Deno clients that do more than echo (:class:`KeyUpdatingServer`
sends a KeyUpdate first, :class:`HttpServer` answers the ``fetch`` role's requests).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from peers import TIMEOUT, OurServer, PeerProcess, Peers, ServedConnection, cert_options, tool
from peers import json_records as records

from tlsmachine import KeyUpdated, ServerConfig
from tlsmachine.sockets import TLSSocket

REPO = Path(__file__).resolve().parents[2]
DENO = REPO / ".peers" / "deno" / "node_modules" / "@deno" / "linux-x64-glibc" / "deno"
"""Where ``make peers`` installs Deno 2.9.6 (do not use another one from PATH: its rustls may
differ)."""
PEER_SCRIPT = Path(__file__).with_name("deno_peer") / "peer.ts"


@dataclass(frozen=True)
class Deno:
    """The Deno binary and the temporary ``DENO_DIR`` it runs with."""

    binary: Path
    deno_dir: Path

    def argv(self, role: str, *options: str) -> list[str]:
        """``env DENO_DIR=... deno run ... peer.ts ROLE OPTIONS`` (no config, lock or prompt)."""
        env = [tool("env"), f"DENO_DIR={self.deno_dir}", "DENO_NO_UPDATE_CHECK=1", "NO_COLOR=1"]
        env += ["DENO_NO_PROMPT=1"]
        run = [str(self.binary), "run", "--quiet", "--no-config", "--no-lock", "--no-prompt"]
        run += ["--allow-net", "--allow-read", str(PEER_SCRIPT)]
        return [*env, *run, role, *options]


def find_deno(deno_dir: Path) -> Deno:
    """The installed Deno; a missing binary FAILS the tests (``make peers`` installs it)."""
    if not DENO.is_file():
        pytest.fail(f"{DENO} not found; install the peers with `make peers`")
    return Deno(DENO, deno_dir)


# -- running the peer ------------------------------------------------------------------------------


def deno_server(
    peers: Peers, deno: Deno, *options: str, leaf: str = "ecdsa-p256"
) -> tuple[PeerProcess, int]:
    """rustls serving (echo) on 127.0.0.1:0; it exits after its ``--connections``."""
    peer = peers.start(deno.argv("server", *cert_options(peers, leaf), *options), "Deno server")
    port = int(peer.wait_for(r'"event":"listening","port":(\d+)').group(1))
    return peer, port


def deno_client(
    peers: Peers,
    deno: Deno,
    port: int,
    *options: str,
    leaf: str | None = None,
    role: str = "client",
    timeout: float = TIMEOUT,
) -> list[dict[str, Any]]:
    """Run rustls as a client (``role`` client or fetch) to the end; one record per connection."""
    argv = deno.argv(role, "--port", str(port), "--ca", str(peers.pki.ca_path))
    peer = peers.start([*argv, *cert_options(peers, leaf), *options], f"Deno {role}")
    assert peer.wait(timeout) == 0, peer.describe()
    assert '"event":"done"' in peer.output, peer.describe()
    return records(peer)


def ok(record: dict[str, Any]) -> dict[str, Any]:
    """``record``, after checking that rustls saw no error and a close_notify."""
    assert "error" not in record, record
    assert record["clean_close"] is True, record
    return record


def received(record: dict[str, Any]) -> bytes:
    """The bytes the Deno peer received (in full up to 64 KiB)."""
    assert "received" in record, record
    return bytes.fromhex(record["received"])


def received_digest(record: dict[str, Any]) -> tuple[int, str]:
    """(length, SHA-256) of what the Deno peer received, for large transfers."""
    return record["received_len"], record["received_sha256"]


def digest(data: bytes) -> tuple[int, str]:
    return len(data), hashlib.sha256(data).hexdigest()


# -- our servers for Deno clients ------------------------------------------------------------------


@dataclass
class KeyUpdatedConnection(ServedConnection):
    """What our server saw, plus the direction of each KeyUpdated event after the handshake."""

    key_updates: list[str] = field(default_factory=list)


@dataclass
class KeyUpdatingServer(OurServer):
    """Our echo server that first sends a KeyUpdate asking the client to update too
    (RFC 8446 §4.6.3), so rustls reads with new keys and answers with its own KeyUpdate."""

    def _echo(self, tls: TLSSocket) -> None:
        record = KeyUpdatedConnection()
        self._current[threading.get_ident()] = record
        record.info = tls.handshake_info
        tls.on_event = lambda event: (
            record.key_updates.append(event.direction) if isinstance(event, KeyUpdated) else None
        )
        tls.key_update(request_peer=True)
        while data := tls.recv():
            record.received += data
            tls.sendall(data)
        record.clean_close = tls.clean_close
        self._finish(self._current.pop(threading.get_ident()))


@dataclass
class HttpServer(OurServer):
    """Our server answering each HTTP/1.1 request (the ``fetch`` role) with its path, then
    closing with close_notify (``Connection: close``: every fetch makes a new connection)."""

    def _echo(self, tls: TLSSocket) -> None:
        record = self._current[threading.get_ident()] = ServedConnection()
        record.info = tls.handshake_info
        while b"\r\n\r\n" not in record.received:
            data = tls.recv()
            if not data:
                break
            record.received += data
        path = record.received.split(b" ", 2)[1] if b" " in record.received else b"?"
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n"
        tls.sendall(head + b"Content-Length: %d\r\n\r\n" % len(path) + path)
        tls.unwrap()  # our close_notify, then the client's
        record.clean_close = tls.clean_close
        self._finish(self._current.pop(threading.get_ident()))


def served_by(peers: Peers, server_class: type[OurServer], config: ServerConfig) -> OurServer:
    """One of our servers of ``server_class`` (stopped with the other peers at teardown)."""
    server = server_class(config)
    peers.servers.append(server)
    return server


def served_connections(server: OurServer, count: int) -> list[ServedConnection]:
    """Our server's records of ``count`` connections, each checked for errors."""
    served = [server.next_connection() for _ in range(count)]
    for connection in served:
        assert connection.error is None, repr(connection.error)
        assert connection.info is not None
    return served
