"""BearSSL as an interop peer: build ``bearssl_peer/peer.c`` and run it (``test_bearssl.py``).

The peer is a small C program against the system's BearSSL 0.6 (Debian's ``libbearssl-dev``,
which ``make peers`` installs with gcc), compiled once per test session with
``gcc -O1 -Wall -Werror`` into a temporary directory (nothing is written to the repository).
A missing gcc, BearSSL header or library fails the tests.

The program prints one JSON object per line (see ``peer.c``): a server first
``{"event": "listening", "port": N}``, then each program one ``{"event": "connection", ...}``
per connection with what BearSSL negotiated (version, suite, curve, ALPN, SNI, resumption,
session ID, the ServerHello random, the peer certificate's SHA-256, 32 bytes of RFC 5705 keying
material), what it received (its length and SHA-256, the bytes themselves up to 64 KiB) and
whether the close was clean, or ``error`` with BearSSL's error code and the alerts received and
sent; a configuration it refuses gives ``{"event": "setup", "error": ...}`` and exit status 2.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from peers import (
    TIMEOUT,
    PeerProcess,
    Peers,
    build_c_peer,
    program_client,
    program_server,
    record_ok,
    record_received,
)

PEER_SOURCE = Path(__file__).with_name("bearssl_peer") / "peer.c"
EXPORTER_LABEL = "EXPORTER-tlsmachine-interop"
"""The label both ends export 32 bytes with (RFC 5705 §4, no context)."""
BUILD_TIMEOUT = 60.0

# BearSSL's error codes (bearssl_ssl.h, bearssl_x509.h) that the tests look for
ERR_NO_CLIENT_AUTH = 29
ERR_IO = 31
ERR_X509_BAD_SERVER_NAME = 56
RECV_FATAL_ALERT = 256
SEND_FATAL_ALERT = 512


def build_bearssl_peer(work: Path) -> Path:
    """Compile the peer into ``work`` (a fresh temporary directory); the binary's path."""
    return build_c_peer(
        PEER_SOURCE,
        work / "bearssl-peer",
        ["-lbearssl"],
        "building the BearSSL peer failed (`make peers` installs gcc and libbearssl-dev)",
        timeout=BUILD_TIMEOUT,
        cwd=work,
    )


# -- running the peer ------------------------------------------------------------------------------


def bearssl_server(
    peers: Peers, binary: Path, *options: str, leaf: str = "ecdsa-p256"
) -> tuple[PeerProcess, int]:
    """BearSSL serving (echo) on 127.0.0.1:0; it exits after its ``--connections``."""
    return program_server(peers, binary, "BearSSL", *options, leaf=leaf)


def bearssl_client(
    peers: Peers,
    binary: Path,
    port: int,
    *options: str,
    leaf: str | None = None,
    timeout: float = TIMEOUT,
) -> list[dict[str, Any]]:
    """Run BearSSL as a client to the end; its records, one per connection."""
    return program_client(peers, binary, "BearSSL", port, *options, leaf=leaf, timeout=timeout)


ok = record_ok  # the record of a connection without an error
received = record_received  # the bytes the peer received


def received_digest(record: dict[str, Any]) -> tuple[int, str]:
    """(length, SHA-256) of what the BearSSL peer received, for large transfers."""
    return record["received_len"], record["received_sha256"]


def digest(data: bytes) -> tuple[int, str]:
    return len(data), hashlib.sha256(data).hexdigest()


def failed(record: dict[str, Any], *, received_alert: int | None, sent_alert: int | None) -> None:
    """Check that BearSSL's connection failed with these alerts (``None``: none)."""
    assert "error" in record, record
    assert (record["received_alert"], record["sent_alert"]) == (received_alert, sent_alert), record
