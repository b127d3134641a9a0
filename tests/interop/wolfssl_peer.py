"""wolfSSL as an interop peer: compile ``wolfssl_peer/peer.c`` and run it (``test_wolfssl.py``).

The peer program links Debian's libwolfssl (``libwolfssl-dev``, installed by ``make peers``); it
is compiled once per session with ``gcc -O1 -Wall -Werror`` into a temporary directory (nothing
is written to the repository). A missing compiler or library fails the tests.

The program prints one JSON object per line (see ``peer.c``): ``{"event": "features", ...}``
first (the library version and what this build offers), a server then
``{"event": "listening", "port": N}``, and each program one ``{"event": "connection", ...}`` per
connection with what wolfSSL negotiated, what it received and how the connection ended (or the
stage, wolfSSL's error code and text, and the last alerts received and sent).
:func:`exporting_server` is our echo server for wolfSSL clients, also recording each
connection's exported keying material, so both ends' key schedules can be compared.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from peers import (
    TIMEOUT,
    OurServer,
    PeerProcess,
    Peers,
    build_c_peer,
    program_client,
    program_server,
    record_ok,
    record_received,
)

from tlsmachine import ServerConfig

PEER_SOURCE = Path(__file__).with_name("wolfssl_peer") / "peer.c"
EXPORTER_LABEL = "EXPORTER-tlsmachine-interop"
"""The label both ends export 32 bytes with (no context: RFC 5705 §4, RFC 8446 §7.5)."""
BUILD_TIMEOUT = 60.0

CURVES = {
    "SECP256R1": "secp256r1",
    "SECP384R1": "secp384r1",
    "SECP521R1": "secp521r1",
    "X25519": "x25519",
    "X448": "x448",
}
"""wolfSSL_get_curve_name's names for the groups, as tlsmachine names them."""


def build_wolfssl_peer(work: Path) -> Path:
    """Compile the peer into ``work`` (a fresh temporary directory); the binary's path."""
    return build_c_peer(
        PEER_SOURCE,
        work / "wolfssl-peer",
        ["-lwolfssl"],
        "compiling the wolfSSL peer failed (libwolfssl-dev missing? `make peers`)",
        timeout=BUILD_TIMEOUT,
    )


def features(binary: Path) -> dict[str, Any]:
    """What the linked wolfSSL offers: its version and compile-time features (peer.c)."""
    result = subprocess.run(
        [str(binary), "features"], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert result.returncode == 0, result.stderr
    record: dict[str, Any] = json.loads(result.stdout)
    assert record["event"] == "features", result.stdout
    return record


# -- running the peer ------------------------------------------------------------------------------


def wolfssl_server(
    peers: Peers, binary: Path, *options: str, leaf: str = "ecdsa-p256"
) -> tuple[PeerProcess, int]:
    """wolfSSL serving (echo) on 127.0.0.1:0; it exits after its ``--connections``."""
    exporter = ("--exporter", EXPORTER_LABEL)
    return program_server(peers, binary, "wolfSSL", *exporter, *options, leaf=leaf)


def wolfssl_client(
    peers: Peers,
    binary: Path,
    port: int,
    *options: str,
    leaf: str | None = None,
    timeout: float = TIMEOUT,
) -> list[dict[str, Any]]:
    """Run wolfSSL as a client to the end; its records, one per connection."""
    exporter = ("--exporter", EXPORTER_LABEL)
    return program_client(
        peers, binary, "wolfSSL", port, *exporter, *options, leaf=leaf, timeout=timeout
    )


ok = record_ok  # the record of a connection without an error
received = record_received  # the bytes the peer received


def group(record: dict[str, Any]) -> str | None:
    """The group wolfSSL reports, in tlsmachine's naming."""
    curve = record.get("curve")
    return CURVES.get(curve, curve) if curve is not None else None


# -- our server for wolfSSL clients ---------------------------------------------------------------


def exporting_server(peers: Peers, config: ServerConfig, context: bytes | None = None) -> OurServer:
    """Our echo server, exporting for :data:`EXPORTER_LABEL` (stopped at teardown)."""
    label = EXPORTER_LABEL.encode()
    return peers.our_server(config, exporter_label=label, exporter_context=context)
