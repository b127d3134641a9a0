"""Mbed TLS 2.28 as an interop peer: build ``mbedtls_peer/peer.c`` and run it (``test_mbedtls.py``).

The peer is a small C program against the system's Mbed TLS (Debian's ``libmbedtls-dev``,
``make peers`` installs it with gcc), compiled once per test session with
``gcc -O1 -Wall -Werror`` into a temporary directory (nothing is written to the repository).
A missing gcc or Mbed TLS fails the tests.

The program prints one JSON object per line (see ``peer.c``): a server first
``{"event": "listening", "port": N}``, then each program one ``{"event": "connection", ...}``
per connection with what Mbed TLS negotiated (version, suite, resumption, ALPN, the peer
certificate's SHA-256, 32 bytes of RFC 5705 keying material computed from the master secret
Mbed TLS reports), the bytes it received and how the connection ended; a configuration it
refuses gives ``{"event": "setup", "error": ...}`` and exit status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from peers import PeerProcess, Peers, build_c_peer, program_client, program_server, record_ok

PEER_SOURCE = Path(__file__).with_name("mbedtls_peer") / "peer.c"
EXPORTER_LABEL = b"EXPORTER-tlsmachine-interop"
"""The label the peer exports 32 bytes with (RFC 5705 §4, no context)."""
BUILD_TIMEOUT = 60.0


def build_mbedtls_peer(work: Path) -> Path:
    """Compile the peer into ``work`` (a fresh temporary directory); the binary's path."""
    return build_c_peer(
        PEER_SOURCE,
        work / "mbedtls-peer",
        ["-lmbedtls", "-lmbedx509", "-lmbedcrypto"],
        "building the Mbed TLS peer failed (`make peers` installs gcc and libmbedtls-dev)",
        timeout=BUILD_TIMEOUT,
        cwd=work,
    )


# -- running the peer ------------------------------------------------------------------------------


def mbedtls_server(
    peers: Peers, binary: Path, *options: str, leaf: str = "ecdsa-p256"
) -> tuple[PeerProcess, int]:
    """Mbed TLS serving (echo) on 127.0.0.1; it exits after ``--connections`` connections."""
    return program_server(peers, binary, "Mbed TLS", *options, leaf=leaf)


def mbedtls_client(
    peers: Peers, binary: Path, port: int, *options: str, leaf: str | None = None
) -> list[dict[str, Any]]:
    """Run Mbed TLS as a client to the end; its records, one per connection."""
    return program_client(peers, binary, "Mbed TLS", port, *options, leaf=leaf)


ok = record_ok  # the record of a connection without an error
