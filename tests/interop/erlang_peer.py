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
* :func:`received` reads the bytes a record says OTP received (``ok`` and ``payload``, shared
  with the Java peers, are in ``peer_checks.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peers import (
    TIMEOUT,
    JsonPeerServer,
    PeerProcess,
    Peers,
    json_client_options,
    json_client_run,
    json_records,
    json_server_listening,
    json_server_options,
    tool,
)

SCRIPT = Path(__file__).with_name("erlang_peer") / "tls_peer.escript"


def received(record: dict[str, Any]) -> bytes:
    """The bytes the OTP peer received (in full up to 64 KiB; else see ``received_sha256``)."""
    assert "received" in record, record
    return bytes.fromhex(record["received"])


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

    def server(
        self, *options: str, leaf: str = "ecdsa-p256", connections: int = 1
    ) -> JsonPeerServer:
        """An OTP echo server on 127.0.0.1 (port 0) serving ``connections`` connections; it
        trusts the test CA for client certificates (asked for with ``--client-auth``). Its
        ``log``: OTP's log lines (stderr), the alerts it generated and received."""
        server_options = json_server_options(self.peers, [leaf], connections)
        peer = self.peers.start(self.argv("server", [*server_options, *options]), "OTP ssl server")
        return json_server_listening(peer, connections, 2 * TIMEOUT)

    def client(
        self,
        ports: int | Sequence[int],
        *options: str,
        leaf: str | None = None,
        timeout: float = 3 * TIMEOUT,
    ) -> ErlangClientRun:
        """Run an OTP client to its end, verifying the server ("localhost", unless ``--sni``
        says otherwise) against the test CA."""
        argv = self.argv("client", [*json_client_options(self.peers, ports, leaf), *options])
        peer = json_client_run(self.peers, argv, "OTP ssl client", timeout)
        return ErlangClientRun(peer, json_records(peer))
