"""Bouncy Castle's TLS (the BCJSSE provider, BC's own TLS 1.3/1.2 code) as an interop peer.

``bc_peer/BcPeer.java`` is compiled once per session with ``javac -cp <BC jars> -d <tmpdir>``
and run with ``java -cp <tmpdir>:<BC jars> BcPeer server|client ...``. The jars come from
Debian's ``libbcprov-java``, ``libbctls-java`` and ``libbcutil-java`` (``/usr/share/java``:
``bcprov.jar``, ``bctls.jar``, ``bcutil.jar``); a missing jar FAILS the tests (``make peers``
installs them). The peer prints one JSON object per line (see the comment at its top). A JVM
serves or makes several connections, because it is slow to start; ``-XX:TieredStopAtLevel=1
-Xshare:auto`` shortens that start.

* :func:`build` compiles the peer (a missing ``javac``/``java`` or BC jar fails the test);
* :class:`BouncyCastle` starts BC servers and clients through the ``peers`` registry, which
  stops them at teardown;
* :func:`ok` checks a connection record for errors.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from peers import TIMEOUT, PeerProcess, Peers, tool
from peers import json_records as records

SOURCE = Path(__file__).with_name("bc_peer") / "BcPeer.java"
JAR_DIRECTORY = Path(os.environ.get("BC_JARS", "/usr/share/java"))
JARS = ("bcprov.jar", "bctls.jar", "bcutil.jar")
"""BC provider (crypto), BC TLS API and BCJSSE, BC utilities (ASN.1 classes bctls needs)."""
JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-Xshare:auto")
DEBUG = ("-Djavax.net.debug=all",)
"""Add to ``jvm`` to see BCJSSE's log in a failing test's output."""


def jars() -> list[str]:
    """The BC jars; a missing one FAILS the test (install them with ``make peers``)."""
    found = [JAR_DIRECTORY / name for name in JARS]
    missing = [str(path) for path in found if not path.is_file()]
    if missing:
        pytest.fail(
            f"Bouncy Castle jars not found: {', '.join(missing)}; install libbcprov-java "
            "libbctls-java libbcutil-java with `make peers`"
        )
    return [str(path) for path in found]


def build(directory: Path) -> Path:
    """Compile BcPeer.java into ``directory``; fail with javac's output if it does not build."""
    classpath = os.pathsep.join(jars())
    argv = [tool("javac"), "-cp", classpath, "-d", str(directory), str(SOURCE)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"javac failed:\n{done.stdout}\n{done.stderr}"
    assert (directory / "BcPeer.class").is_file()
    return directory


def ok(record: dict[str, Any]) -> dict[str, Any]:
    """``record``, after checking that BC saw no error on that connection."""
    assert "error" not in record, record
    return record


def payload(size: int) -> bytes:
    """What ``BcPeer client --size N`` sends: bytes ``i % 251``."""
    return bytes(i % 251 for i in range(size))


@dataclass
class BcServer:
    """A running BCJSSE server; :meth:`results` waits for its records."""

    peer: PeerProcess
    port: int
    connections: int

    def results(self, timeout: float = 3 * TIMEOUT) -> list[dict[str, Any]]:
        """Its records of all its connections, once it has exited (bounded wait)."""
        deadline = time.monotonic() + timeout
        while len(records(self.peer)) < self.connections and self.peer.proc.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"BC server: no records in {timeout}s\n{self.describe()}")
            time.sleep(0.02)
        assert self.peer.wait(TIMEOUT) == 0, self.describe()
        found = records(self.peer)
        assert len(found) == self.connections, self.describe()
        return found

    def describe(self) -> str:
        return self.peer.describe()


@dataclass
class BouncyCastle:
    """Starts BCJSSE peers (compiled in ``classes``) through the ``peers`` registry."""

    peers: Peers
    classes: Path

    def argv(self, role: str, options: Sequence[str], jvm: Sequence[str]) -> list[str]:
        classpath = os.pathsep.join([str(self.classes), *jars()])
        java = tool("java")
        return [java, *JVM_OPTIONS, *jvm, "-cp", classpath, "BcPeer", role, *options]

    def key_options(self, leaves: Sequence[str]) -> list[str]:
        options: list[str] = []
        for leaf in leaves:
            issued = self.peers.pki.leaves[leaf]
            options += ["--cert", str(issued.chain_path), "--key", str(issued.key_path)]
        return options

    def start_server(
        self,
        *options: str,
        leaves: Sequence[str] = ("ecdsa-p256",),
        connections: int = 1,
        jvm: Sequence[str] = (),
    ) -> tuple[PeerProcess, int]:
        """Start a BCJSSE server without waiting for it to listen (see :meth:`listening`)."""
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
        return self.peers.start(argv, "BCJSSE server"), connections

    @staticmethod
    def listening(started: tuple[PeerProcess, int]) -> BcServer:
        """The server :meth:`start_server` started, once it listens (bounded wait)."""
        peer, connections = started
        port = int(peer.wait_for(r'"event": "listening", "port": (\d+)', 3 * TIMEOUT).group(1))
        return BcServer(peer, port, connections)

    def server(
        self,
        *options: str,
        leaves: Sequence[str] = ("ecdsa-p256",),
        connections: int = 1,
        jvm: Sequence[str] = (),
    ) -> BcServer:
        """A BCJSSE echo server on 127.0.0.1 (port 0) serving ``connections`` connections; it
        trusts the test CA for client certificates (asked for with ``--client-auth``)."""
        started = self.start_server(*options, leaves=leaves, connections=connections, jvm=jvm)
        return self.listening(started)

    def servers(self, *specs: dict[str, Any]) -> list[BcServer]:
        """Several servers, their JVMs starting side by side: each spec holds ``options`` (a
        sequence) and the other keywords of :meth:`server`."""
        started = [
            self.start_server(
                *spec.get("options", ()), **{k: v for k, v in spec.items() if k != "options"}
            )
            for spec in specs
        ]
        return [self.listening(s) for s in started]

    def client(
        self,
        ports: int | Sequence[int],
        *options: str,
        leaf: str | None = None,
        jvm: Sequence[str] = (),
        timeout: float = 3 * TIMEOUT,
    ) -> list[dict[str, Any]]:
        """Run a BCJSSE client to its end (verifying "localhost" against the test CA); its
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
        peer = self.peers.start(argv, "BCJSSE client")
        assert peer.wait(timeout) == 0, peer.describe()
        assert '"event": "done"' in peer.stdout.decode(), peer.describe()
        return records(peer)
