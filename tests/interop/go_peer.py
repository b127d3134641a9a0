"""Go's crypto/tls as an interop peer: build ``go_peer/main.go`` and run it (``test_go.py``).

The peer program uses the Go standard library only, so it builds without a network: the build
runs with its own GOCACHE, GOPATH and HOME in a temporary directory (nothing is written to the
repository or the user's Go directories), ``GOFLAGS=-mod=mod``, ``GOPROXY=off`` and
``GOTOOLCHAIN=local`` (never download a toolchain). A missing ``go`` fails the tests
(``make peers`` installs it).

The program prints one JSON object per line (see ``go_peer/main.go``): a server first
``{"event": "listening", "port": N}``, then each program one ``{"event": "connection", ...}``
per connection with what crypto/tls negotiated, what it received and how the connection ended.
:func:`exporting_server` is our echo server for Go clients, also recording each connection's
exported keying material, so both ends' key schedules can be compared.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from peers import (
    TIMEOUT,
    OurServer,
    PeerProcess,
    Peers,
    program_client,
    program_server,
    record_ok,
    record_received,
    tool,
)

from tlsmachine import ServerConfig

GO_PEER_DIR = Path(__file__).with_name("go_peer")
EXPORTER_LABEL = b"EXPORTER-tlsmachine-interop"
"""The label the Go peer exports 32 bytes with (no context: RFC 5705 §4, RFC 8446 §7.5)."""
BUILD_TIMEOUT = 120.0


def build_go_peer(work: Path) -> Path:
    """``go build`` the peer into ``work`` (a fresh temporary directory); the binary's path."""
    go = tool("go")
    home, cache, gopath = work / "home", work / "gocache", work / "gopath"
    for directory in (home, cache, gopath):
        directory.mkdir(exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "GOCACHE": str(cache),
        "GOPATH": str(gopath),
        "GOMODCACHE": str(gopath / "pkg" / "mod"),
        "GOFLAGS": "-mod=mod",
        "GOTOOLCHAIN": "local",
        "GOPROXY": "off",
        "GOSUMDB": "off",
        "GOENV": "off",
        "GO111MODULE": "on",
        "CGO_ENABLED": "0",
        "LC_ALL": "C",
    }
    binary = work / "gopeer"
    try:
        result = subprocess.run(
            [go, "build", "-o", str(binary), "."],
            cwd=GO_PEER_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError(f"go build did not finish in {BUILD_TIMEOUT}s") from None
    assert result.returncode == 0, f"go build failed:\n{result.stdout}\n{result.stderr}"
    return binary


# -- running the peer ------------------------------------------------------------------------------


def go_server(
    peers: Peers, binary: Path, *options: str, leaf: str = "ecdsa-p256"
) -> tuple[PeerProcess, int]:
    """crypto/tls serving (echo) on 127.0.0.1:0; it exits after its ``-n`` connections."""
    return program_server(peers, binary, "Go crypto/tls", *options, leaf=leaf, flag="-")


def go_client(
    peers: Peers,
    binary: Path,
    port: int,
    *options: str,
    leaf: str | None = None,
    timeout: float = TIMEOUT,
) -> list[dict[str, Any]]:
    """Run crypto/tls as a client to the end; its records, one per connection."""
    name = "Go crypto/tls"
    return program_client(peers, binary, name, port, *options, leaf=leaf, timeout=timeout, flag="-")


ok = record_ok  # the record of a connection without an error
received = record_received  # the bytes the peer received


# -- our server for Go clients ---------------------------------------------------------------------


def exporting_server(peers: Peers, config: ServerConfig, context: bytes | None = None) -> OurServer:
    """Our echo server, exporting for :data:`EXPORTER_LABEL` (stopped at teardown)."""
    return peers.our_server(config, exporter_label=EXPORTER_LABEL, exporter_context=context)
