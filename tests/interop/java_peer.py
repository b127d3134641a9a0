"""Java's JSSE (OpenJDK's SunJSSE) as an interop peer: build and run ``java_peer/TlsPeer.java``.

``TlsPeer.java`` (JDK only) is compiled once per session with ``javac -d <tmpdir>`` and run with
``java -cp <tmpdir> TlsPeer server|client ...``; it prints one JSON object per line (see the
comment at its top). A JVM serves or makes several connections, because it is slow to start;
``-XX:TieredStopAtLevel=1 -Xshare:auto`` shortens that start.

* :func:`build` compiles the peer (a missing ``javac``/``java`` fails the test);
* :class:`Java` starts JSSE servers and clients through the ``peers`` registry, which stops
  them at teardown;
* :func:`ok` checks a connection record for errors.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from peers import TIMEOUT, PeerProcess, Peers, tool
from peers import json_records as records

SOURCE = Path(__file__).with_name("java_peer") / "TlsPeer.java"
JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-Xshare:auto")
DEBUG = ("-Djavax.net.debug=ssl:handshake",)
"""Add to ``jvm`` to see JSSE's handshake trace in a failing test's output."""


def build(directory: Path) -> Path:
    """Compile TlsPeer.java into ``directory``; fail with javac's output if it does not build."""
    argv = [tool("javac"), "-d", str(directory), str(SOURCE)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"javac failed:\n{done.stdout}\n{done.stderr}"
    assert (directory / "TlsPeer.class").is_file()
    return directory


def ok(record: dict[str, Any]) -> dict[str, Any]:
    """``record``, after checking that JSSE saw no error on that connection."""
    assert "error" not in record, record
    return record


def payload(size: int) -> bytes:
    """What ``TlsPeer client --size N`` sends: bytes ``i % 251``."""
    return bytes(i % 251 for i in range(size))


@dataclass
class Java:
    """Starts JSSE peers (compiled in ``classes``) through the ``peers`` registry."""

    peers: Peers
    classes: Path

    def argv(self, role: str, options: Sequence[str], jvm: Sequence[str]) -> list[str]:
        java = tool("java")
        return [java, *JVM_OPTIONS, *jvm, "-cp", str(self.classes), "TlsPeer", role, *options]

    def key_options(self, leaves: Sequence[str]) -> list[str]:
        options: list[str] = []
        for leaf in leaves:
            issued = self.peers.pki.leaves[leaf]
            options += ["--cert", str(issued.chain_path), "--key", str(issued.key_path)]
        return options

    def server(
        self,
        *options: str,
        leaves: Sequence[str] = ("ecdsa-p256",),
        connections: int = 1,
        jvm: Sequence[str] = (),
    ) -> JavaServer:
        """A JSSE echo server on 127.0.0.1 (port 0) serving ``connections`` connections."""
        argv = self.argv(
            "server",
            [
                *self.key_options(leaves),
                "--ca",
                str(self.peers.pki.ca_path),
                "--connections",
                str(connections),
                *options,
            ],
            jvm,
        )
        peer = self.peers.start(argv, "JSSE server")
        port = int(peer.wait_for(r'"event": "listening", "port": (\d+)', 3 * TIMEOUT).group(1))
        return JavaServer(peer, port, connections)

    def client(
        self,
        ports: int | Sequence[int],
        *options: str,
        leaf: str | None = None,
        jvm: Sequence[str] = (),
        timeout: float = 3 * TIMEOUT,
    ) -> list[dict[str, Any]]:
        """Run a JSSE client to its end (verifying "localhost" against the test CA); its
        records, one per connection."""
        port_list = [ports] if isinstance(ports, int) else list(ports)
        argv = self.argv(
            "client",
            [
                "--port",
                ",".join(map(str, port_list)),
                "--ca",
                str(self.peers.pki.ca_path),
                *self.key_options([leaf] if leaf else []),
                *options,
            ],
            jvm,
        )
        peer = self.peers.start(argv, "JSSE client")
        assert peer.wait(timeout) == 0, peer.describe()
        assert '"event": "done"' in peer.stdout.decode(), peer.describe()
        return records(peer)


@dataclass
class JavaServer:
    """A running JSSE server; :meth:`results` waits for its records."""

    peer: PeerProcess
    port: int
    connections: int

    def results(self, timeout: float = 3 * TIMEOUT) -> list[dict[str, Any]]:
        """Its records of all its connections, once it has exited (bounded wait)."""
        deadline = time.monotonic() + timeout
        while len(records(self.peer)) < self.connections and self.peer.proc.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"JSSE server: no records in {timeout}s\n{self.describe()}")
            time.sleep(0.02)
        assert self.peer.wait(TIMEOUT) == 0, self.describe()
        found = records(self.peer)
        assert len(found) == self.connections, self.describe()
        return found

    def describe(self) -> str:
        return self.peer.describe()
