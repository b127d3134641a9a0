"""Erlang/OTP's ssl application as an interop peer: run ``erlang_peer/tls_peer.escript``.

The peer is an escript (OTP 25 from Debian: ``erlang-base``, ``erlang-ssl``,
``erlang-public-key``, ``erlang-crypto``), run with ``escript`` and nothing to build; a missing
``escript`` fails the test (``make peers`` installs it). The VM starts in a few tenths of a
second, and one run serves (or makes) several connections all the same.

The program prints one JSON object per line on stdout (see the comment at its top): a server
first ``{"event": "listening", "port": N}``, then each run one ``{"event": "connection", ...}``
per connection with what OTP negotiated (``protocol``, ``cipher_suite``, ``resumed``, ``alpn``,
``sni``, ``peer_cert_sha256``), what it received, or the error (``error``, ``alert``,
``alert_received``, ``stage``), and ``{"event": "done"}`` at the end. OTP's own log (the
alerts it sends and receives) goes to stderr, one line each.

* :class:`Erlang` starts OTP servers and clients through the ``peers`` registry, which stops
  them at teardown;
* :func:`ok`, :func:`received` and :func:`payload` read and check the records.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peers import TIMEOUT, PeerProcess, Peers, tool
from peers import json_records as records

SCRIPT = Path(__file__).with_name("erlang_peer") / "tls_peer.escript"


def ok(record: dict[str, Any]) -> dict[str, Any]:
    """``record``, after checking that OTP saw no error on that connection."""
    assert "error" not in record, record
    return record


def received(record: dict[str, Any]) -> bytes:
    """The bytes the OTP peer received (in full up to 64 KiB; else see ``received_sha256``)."""
    assert "received" in record, record
    return bytes.fromhex(record["received"])


def payload(size: int) -> bytes:
    """What ``tls_peer.escript client --size N`` sends: bytes ``i mod 251``."""
    return bytes(i % 251 for i in range(size))


@dataclass
class ErlangServer:
    """A running OTP server; :meth:`results` waits for its records."""

    peer: PeerProcess
    port: int
    connections: int

    def results(self, timeout: float = 2 * TIMEOUT) -> list[dict[str, Any]]:
        """Its records of all its connections, once it has exited (bounded wait)."""
        deadline = time.monotonic() + timeout
        while len(records(self.peer)) < self.connections and self.peer.proc.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"OTP server: no records in {timeout}s\n{self.describe()}")
            time.sleep(0.02)
        assert self.peer.wait(TIMEOUT) == 0, self.describe()
        found = records(self.peer)
        assert len(found) == self.connections, self.describe()
        return found

    @property
    def log(self) -> str:
        """OTP's log lines (stderr): the alerts it generated and received."""
        return self.peer.stderr.decode("utf-8", "replace")

    def describe(self) -> str:
        return self.peer.describe()


@dataclass
class ErlangClientRun:
    """A finished OTP client run: its records, one per connection, and its log."""

    peer: PeerProcess
    records: list[dict[str, Any]]

    @property
    def log(self) -> str:
        return self.peer.stderr.decode("utf-8", "replace")


@dataclass
class Erlang:
    """Starts OTP ssl peers through the ``peers`` registry."""

    peers: Peers

    def argv(self, role: str, options: Sequence[str]) -> list[str]:
        return [tool("escript"), str(SCRIPT), role, *options]

    def key_options(self, leaf: str | None) -> list[str]:
        if leaf is None:
            return []
        issued = self.peers.pki.leaves[leaf]
        return ["--cert", str(issued.chain_path), "--key", str(issued.key_path)]

    def server(self, *options: str, leaf: str = "ecdsa-p256", connections: int = 1) -> ErlangServer:
        """An OTP echo server on 127.0.0.1 (port 0) serving ``connections`` connections; it
        trusts the test CA for client certificates (asked for with ``--client-auth``)."""
        argv = self.argv(
            "server",
            [
                *self.key_options(leaf),
                "--ca",
                str(self.peers.pki.ca_path),
                "--connections",
                str(connections),
                *options,
            ],
        )
        peer = self.peers.start(argv, "OTP ssl server")
        port = int(peer.wait_for(r'"event": "listening", "port": (\d+)', 2 * TIMEOUT).group(1))
        return ErlangServer(peer, port, connections)

    def client(
        self,
        ports: int | Sequence[int],
        *options: str,
        leaf: str | None = None,
        timeout: float = 3 * TIMEOUT,
    ) -> ErlangClientRun:
        """Run an OTP client to its end, verifying the server ("localhost", unless ``--sni``
        says otherwise) against the test CA."""
        port_list = [ports] if isinstance(ports, int) else list(ports)
        argv = self.argv(
            "client",
            [
                "--port",
                ",".join(map(str, port_list)),
                "--ca",
                str(self.peers.pki.ca_path),
                *self.key_options(leaf),
                *options,
            ],
        )
        peer = self.peers.start(argv, "OTP ssl client")
        assert peer.wait(timeout) == 0, peer.describe()
        assert '{"event": "done"}' in peer.stdout.decode(), peer.describe()
        return ErlangClientRun(peer, records(peer))
