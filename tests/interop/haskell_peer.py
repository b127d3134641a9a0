"""The Haskell ``tls`` library as an interop peer: build ``haskell_peer/TlsPeer.hs`` and run it.

``tls`` (Vincent Hanquez's native Haskell TLS, 1.5.8 from Debian: ``ghc``, ``libghc-tls-dev``,
``libghc-network-dev``, ``libghc-x509-store-dev``, ``libghc-x509-validation-dev``,
``libghc-data-default-class-dev``) is compiled with ``ghc`` once per test session into a
temporary directory (about 3 s; HOME points there too, so nothing is written to the repository
or the user's ``~/.ghc``). A missing ``ghc`` or library FAILS the tests (``make peers``
installs them).

The program prints one JSON object per line (see the comment at the top of ``TlsPeer.hs``): a
server first ``{"event": "listening", "port": N}``, then each run one
``{"event": "connection", ...}`` per connection with what ``tls`` negotiated (``version``,
``cipher``, ``group``, ``mode`` = ``infoTLS13HandshakeMode``, ``resumed``, ``hello_retry``,
``alpn``, ``sni``, ``early_data_accepted``, ``ems``, ``peer_cert_sha256``), what it received
and whether the close was clean, or the failure (``error``, ``alert``, ``alert_received``,
``stage``), and ``{"event": "done"}`` at the end.

* :func:`build_haskell_peer` compiles it (bounded);
* :class:`Haskell` starts ``tls`` servers and clients through the ``peers`` registry, which
  stops them at teardown;
* :func:`received` and :func:`failed_with` read the records (``ok`` and ``payload``, shared
  with the other JSON-record peers, are in ``peer_checks.py``).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peers import (
    TIMEOUT,
    JsonPeerServer,
    Peers,
    json_client_options,
    json_client_run,
    json_records,
    json_server_listening,
    json_server_options,
    tool,
)

SOURCE = Path(__file__).with_name("haskell_peer") / "TlsPeer.hs"
BUILD_TIMEOUT = 50.0
"""ghc needs about 3 s for the peer; the bound (inside the tests' 60 s) leaves room for a busy
machine."""


def build_haskell_peer(work: Path) -> Path:
    """``ghc -O1`` the peer into ``work`` (a fresh temporary directory); the binary's path."""
    ghc = tool("ghc")
    home = work / "home"
    home.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }
    binary = work / "tlspeer"
    argv = [ghc, "-O1", "-outputdir", str(work / "build"), "-o", str(binary), str(SOURCE)]
    try:
        result = subprocess.run(
            argv, cwd=work, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"ghc did not finish in {BUILD_TIMEOUT}s") from None
    assert result.returncode == 0, (
        f"ghc failed (is libghc-tls-dev installed? `make peers`):\n{result.stdout}\n{result.stderr}"
    )
    return binary


def received(record: dict[str, Any]) -> bytes:
    """The bytes the Haskell peer received (in full up to 64 KiB; else see
    ``received_sha256``)."""
    assert "received" in record, record
    return bytes.fromhex(record["received"])


@dataclass
class Haskell:
    """Starts ``tls`` peers (the binary built once per session) through ``peers``."""

    peers: Peers
    binary: Path

    def server(
        self, *options: str, leaf: str = "ecdsa-p256", connections: int = 1
    ) -> JsonPeerServer:
        """A ``tls`` echo server on 127.0.0.1 (port 0) serving ``connections`` connections; it
        trusts the test CA for client certificates (asked for with ``--client-auth``)."""
        server_options = json_server_options(self.peers, [leaf], connections)
        argv = [str(self.binary), "server", *server_options, *options]
        peer = self.peers.start(argv, "Haskell tls server")
        return json_server_listening(peer, connections, 2 * TIMEOUT)

    def client(
        self,
        ports: int | Sequence[int],
        *options: str,
        leaf: str | None = None,
        timeout: float = 3 * TIMEOUT,
    ) -> list[dict[str, Any]]:
        """Run a ``tls`` client to its end, verifying the server ("localhost") against the
        test CA; its records, one per connection."""
        client_options = json_client_options(self.peers, ports, leaf)
        argv = [str(self.binary), "client", *client_options, *options]
        return json_records(json_client_run(self.peers, argv, "Haskell tls client", timeout))
