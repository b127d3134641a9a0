"""BoringSSL as an interop peer, through Bun 1.4.5 (``test_bun.py``).

Bun's ``node:tls`` (``tls.createServer`` / ``tls.connect``) runs on BoringSSL, Google's TLS
library (``process.versions.boringssl`` names its commit). ``make peers`` installs Bun into the
git-ignored ``.peers/bun``; a missing binary FAILS the tests with that hint.

``bun_peer/peer.js`` (built-ins only) is our peer program; it runs as ``bun run --no-install``
with HOME, BUN_INSTALL_CACHE_DIR and the transpiler cache in a temporary directory, so nothing is
downloaded or written into the repository. It prints one JSON object per line: a server first
``{"event": "listening", "port": N}``, then every program one ``{"event": "connection", ...}``
per connection with what BoringSSL negotiated (version, cipher, group as far as Bun reports it,
resumption, ALPN, 32 bytes of exported keying material, the peer certificate's SHA-256), what it
received and the error, if any; then ``{"event": "done"}``.

:class:`BunEchoServer` is our echo server for Bun clients; it also records each connection's
exporter and events (KeyUpdate), and can send a KeyUpdate of its own, so both ends' key
schedules can be compared.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from peers import TIMEOUT, OurServer, PeerProcess, Peers, ServedConnection, tool
from peers import json_records as records

from pki import TestPKI
from tlsmachine import ServerConfig
from tlsmachine.sockets import TLSSocket

ROOT = Path(__file__).resolve().parents[2]
BUN = ROOT / ".peers" / "bun" / "node_modules" / "@oven" / "bun-linux-x64" / "bin" / "bun"
"""Where ``make peers`` installs Bun (``npm install --prefix .peers/bun``)."""
PEER_SCRIPT = Path(__file__).with_name("bun_peer") / "peer.js"

EXPORTER_LABEL = "EXPORTER-tlsmachine-interop"
"""The label both ends export 32 bytes with (RFC 5705 §4, RFC 8446 §7.5)."""

BORINGSSL_GROUPS = {
    "x25519": "X25519",
    "secp256r1": "P-256",
    "secp384r1": "P-384",
    "X25519MLKEM768": "X25519MLKEM768",
}
"""Names for ``ecdhCurve`` (BoringSSL's ``SSL_CTX_set1_groups_list``)."""
_REPORTED = {"x25519": "x25519", "prime256v1": "secp256r1", "secp384r1": "secp384r1"}
"""What Bun's ``getEphemeralKeyInfo().name`` says (OpenSSL short names) -> IANA names."""

BORINGSSL_CIPHERS = {
    # IANA name -> BoringSSL's TLS 1.2 cipher-list name
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
}

CBC_CIPHERS = "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA"


def bun_binary() -> Path:
    """The project-local Bun; missing FAILS the test (``make peers`` installs it)."""
    if not BUN.is_file():
        pytest.fail(
            f"Bun not found at {BUN.relative_to(ROOT)}; install the peers with `make peers`"
        )
    return BUN


def reported_group(name: str | None) -> str | None:
    """The IANA name of a group as Bun's ``getEphemeralKeyInfo`` spells it (None: unknown)."""
    return None if name is None else _REPORTED.get(name.lower())


def pattern(size: int) -> bytes:
    """The bytes ``peer.js`` sends for ``size`` (byte i is i mod 251)."""
    return bytes(i % 251 for i in range(size))


# -- running peer.js --------------------------------------------------------------------------


def finished(peer: PeerProcess, count: int = 1) -> list[dict[str, Any]]:
    """The peer's records of its ``count`` connections, after it exited 0 (waiting, bounded)."""
    deadline = time.monotonic() + TIMEOUT * (count + 1)
    while len(records(peer)) < count and peer.proc.poll() is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {count} records in time\n{peer.describe()}")
        time.sleep(0.02)
    assert peer.wait() == 0, peer.describe()
    found = records(peer)
    assert len(found) == count, peer.describe()
    return found


def ok(record: dict[str, Any]) -> dict[str, Any]:
    """``record``, after checking that BoringSSL saw no error on that connection."""
    assert record.get("error") is None, record
    return record


def error_text(record: dict[str, Any]) -> str:
    """BoringSSL's error (message, code and reason) on a failed connection."""
    error = record.get("error")
    assert error, f"BoringSSL saw no error: {record}"
    return " ".join(str(error.get(k) or "") for k in ("message", "code", "reason"))


class BunPeers(Peers):
    """:class:`peers.Peers` plus Bun/BoringSSL servers and clients; all stopped at teardown."""

    def __init__(self, pki: TestPKI) -> None:
        super().__init__(pki)
        self._home = Path(tempfile.mkdtemp(prefix="bun-peer-"))

    def stop_all(self) -> None:
        super().stop_all()
        shutil.rmtree(self._home, ignore_errors=True)

    def _argv(self, cfg: dict[str, Any]) -> list[str]:
        cfg = {"timeoutMs": int(TIMEOUT * 1000), "exporter": {"label": EXPORTER_LABEL}, **cfg}
        cfg["exporter"] = {"length": 32, "context": None, **cfg["exporter"]}
        env = [
            f"HOME={self._home}",
            f"BUN_INSTALL_CACHE_DIR={self._home / 'install-cache'}",
            "BUN_RUNTIME_TRANSPILER_CACHE_PATH=0",
            "DO_NOT_TRACK=1",
        ]
        script = str(PEER_SCRIPT)
        return [
            tool("env"),
            *env,
            str(bun_binary()),
            "run",
            "--no-install",
            script,
            json.dumps(cfg),
        ]

    def _common(
        self,
        *,
        min_version: str | None,
        max_version: str | None,
        groups: Sequence[str],
        ciphers: Sequence[str],
        alpn: Sequence[str],
        exporter_context: bytes | None,
        cbc_only: bool = False,
    ) -> dict[str, Any]:
        cfg: dict[str, Any] = {"ca": str(self.pki.ca_path)}
        if min_version:
            cfg["minVersion"] = min_version
        if max_version:
            cfg["maxVersion"] = max_version
        if groups:
            cfg["ecdhCurve"] = ":".join(BORINGSSL_GROUPS[g] for g in groups)
        if ciphers:
            cfg["ciphers"] = ":".join(BORINGSSL_CIPHERS[c] for c in ciphers)
        if cbc_only:  # TLS 1.2 suites we never offer nor accept (RFC 9325 §4.2)
            cfg["ciphers"] = CBC_CIPHERS
        if alpn:
            cfg["alpn"] = list(alpn)
        if exporter_context is not None:
            cfg["exporter"] = {"label": EXPORTER_LABEL, "context": exporter_context.hex()}
        return cfg

    def bun_server(
        self,
        leaf: str = "ecdsa-p256",
        *,
        connections: int = 1,
        min_version: str | None = None,
        max_version: str | None = None,
        groups: Sequence[str] = (),
        ciphers: Sequence[str] = (),
        alpn: Sequence[str] = (),
        request_cert: bool = False,
        no_tickets: bool = False,
        exporter_context: bytes | None = None,
        cbc_only: bool = False,
    ) -> tuple[PeerProcess, int]:
        """A BoringSSL echo server (``tls.createServer``) on 127.0.0.1, port chosen by the
        kernel; it exits after ``connections`` connections. ``request_cert``: require a client
        certificate issued by the test CA. ``groups``: ``ecdhCurve`` (none: BoringSSL's
        default, X25519MLKEM768 first)."""
        issued = self.pki.leaves[leaf]
        cfg = self._common(
            min_version=min_version,
            max_version=max_version,
            groups=groups,
            ciphers=ciphers,
            alpn=alpn,
            exporter_context=exporter_context,
            cbc_only=cbc_only,
        )
        cfg |= {"mode": "server", "key": str(issued.key_path), "cert": str(issued.chain_path)}
        cfg |= {"connections": connections, "noTickets": no_tickets}
        cfg |= {"requestCert": request_cert, "rejectUnauthorized": request_cert}
        peer = self.start(self._argv(cfg), "bun (BoringSSL) server")
        port = int(peer.wait_for(r'^\{"event":"listening","port":(\d+)\}$').group(1))
        return peer, port

    def bun_client(
        self,
        port: int,
        *,
        connections: int = 1,
        resume: bool = False,
        message: str | None = None,
        size: int | None = None,
        servername: str = "localhost",
        leaf: str | None = None,
        min_version: str | None = None,
        max_version: str | None = None,
        groups: Sequence[str] = (),
        ciphers: Sequence[str] = (),
        alpn: Sequence[str] = (),
        renegotiate: bool = False,
        exporter_context: bytes | None = None,
        cbc_only: bool = False,
    ) -> PeerProcess:
        """A BoringSSL client (``tls.connect``) verifying our server against the test CA and
        the name ``servername``; it sends ``message`` (or ``size`` pattern bytes), reads the
        echo and ends, ``connections`` times (offering the last session again if ``resume``).
        ``leaf``: its client certificate."""
        cfg = self._common(
            min_version=min_version,
            max_version=max_version,
            groups=groups,
            ciphers=ciphers,
            alpn=alpn,
            exporter_context=exporter_context,
            cbc_only=cbc_only,
        )
        cfg |= {"mode": "client", "port": port, "servername": servername}
        cfg |= {"connections": connections, "resume": resume, "renegotiate": renegotiate}
        if message is not None:
            cfg["message"] = message
        if size is not None:
            cfg["size"] = size
        if leaf is not None:
            issued = self.pki.leaves[leaf]
            cfg |= {"key": str(issued.key_path), "cert": str(issued.chain_path)}
        return self.start(self._argv(cfg), "bun (BoringSSL) client")

    def versions(self) -> dict[str, str]:
        """Bun's ``process.versions`` (bun, boringssl, ...)."""
        peer = self.start(self._argv({"mode": "versions"}), "bun versions")
        assert peer.wait() == 0, peer.describe()
        line = peer.stdout.decode().splitlines()[0]
        versions: dict[str, str] = json.loads(line)
        return versions

    def echo_server(
        self,
        config: ServerConfig,
        *,
        key_update: bool = False,
        exporter_context: bytes | None = None,
    ) -> BunEchoServer:
        """Our echo server for Bun clients (stopped at teardown)."""
        server = BunEchoServer(config, key_update=key_update, exporter_context=exporter_context)
        self.servers.append(server)
        return server


# -- our server, exporting ------------------------------------------------------------------


@dataclass
class BunEchoServer(OurServer):
    """:class:`peers.OurServer` exporting keying material for :data:`EXPORTER_LABEL`; with
    ``key_update``, after the first data it sends a KeyUpdate asking the peer to update too
    (RFC 8446 §4.6.3), then echoes."""

    key_update: bool = False

    def _echo(self, tls: TLSSocket) -> None:
        record = self._current[threading.get_ident()] = ServedConnection()
        record.info = tls.handshake_info
        material = tls.export_keying_material(EXPORTER_LABEL, 32, self.exporter_context)
        record.exporter = material.hex()
        first = True
        while data := tls.recv():
            record.received += data
            if first and self.key_update:
                tls.key_update(request_peer=True)
            first = False
            tls.sendall(data)
        record.clean_close = tls.clean_close
        self._finish(self._current.pop(threading.get_ident()))
