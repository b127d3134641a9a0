"""Java TLS as an interop peer: build and run ``java_peer/TlsPeer.java``, with one of two
providers.

* ``jsse``: Java's JSSE (OpenJDK's SunJSSE), JDK only;
* ``bc``: Bouncy Castle's TLS (the BCJSSE provider, BC's own TLS 1.3/1.2 code, with the BC
  provider for its crypto). The peer loads BC's classes by reflection, so it compiles with the
  JDK alone; a BC run puts the jars on the classpath. They come from Debian's
  ``libbcprov-java``, ``libbctls-java`` and ``libbcutil-java`` (``/usr/share/java``:
  ``bcprov.jar``, ``bctls.jar``, ``bcutil.jar``; ``BC_JARS`` names another folder); a missing
  jar FAILS the BC tests (``make peers`` installs them) and does not concern the JSSE ones.

``TlsPeer.java`` is compiled once per session with ``javac -d <tmpdir>`` and run with
``java -cp <tmpdir>[:<BC jars>] TlsPeer server|client --provider jsse|bc ...``; it prints one
JSON object per line (see the comment at its top). A JVM serves or makes several connections,
because it is slow to start; ``-XX:TieredStopAtLevel=1 -Xshare:auto`` shortens that start.

* :func:`compiled` compiles the peer once per session (a missing ``javac``/``java`` fails the
  test);
* :class:`Java` starts JSSE or BC servers and clients through the ``peers`` registry, which
  stops them at teardown.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
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

SOURCE = Path(__file__).with_name("java_peer") / "TlsPeer.java"
BC_JAR_DIRECTORY = Path(os.environ.get("BC_JARS", "/usr/share/java"))
BC_JARS = ("bcprov.jar", "bctls.jar", "bcutil.jar")
"""BC provider (crypto), BC TLS API and BCJSSE, BC utilities (ASN.1 classes bctls needs)."""
JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-Xshare:auto")
DEBUG = ("-Djavax.net.debug=ssl:handshake",)
"""Add to ``jvm`` to see JSSE's handshake trace in a failing test's output."""
BC_DEBUG = ("-Djavax.net.debug=all",)
"""Add to ``jvm`` to see BCJSSE's log in a failing test's output."""
PROVIDERS = {"jsse": "JSSE", "bc": "BCJSSE"}
"""``--provider`` values and the names the peer processes go by."""


def bc_jars() -> list[str]:
    """The BC jars; a missing one FAILS the test (install them with ``make peers``)."""
    found = [BC_JAR_DIRECTORY / name for name in BC_JARS]
    missing = [str(path) for path in found if not path.is_file()]
    if missing:
        pytest.fail(
            f"Bouncy Castle jars not found: {', '.join(missing)}; install libbcprov-java "
            "libbctls-java libbcutil-java with `make peers`"
        )
    return [str(path) for path in found]


def build(directory: Path) -> Path:
    """Compile TlsPeer.java into ``directory``; fail with javac's output if it does not build."""
    argv = [tool("javac"), "-d", str(directory), str(SOURCE)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"javac failed:\n{done.stdout}\n{done.stderr}"
    assert (directory / "TlsPeer.class").is_file()
    return directory


def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TlsPeer.java compiled once per session (for both providers) under its base temp dir."""
    directory = tmp_path_factory.getbasetemp() / "java-peer"
    if not (directory / "TlsPeer.class").is_file():
        directory.mkdir(exist_ok=True)
        build(directory)
    return directory


@dataclass
class Java:
    """Starts TlsPeer (compiled in ``classes``) with ``provider`` (``jsse`` or ``bc``) through
    the ``peers`` registry."""

    peers: Peers
    classes: Path
    provider: str = "jsse"

    def __post_init__(self) -> None:
        assert self.provider in PROVIDERS, self.provider
        if self.provider == "bc":
            bc_jars()  # fail now (at fixture setup) if one is missing

    @property
    def name(self) -> str:
        return PROVIDERS[self.provider]

    def argv(self, role: str, options: Sequence[str], jvm: Sequence[str]) -> list[str]:
        jars = bc_jars() if self.provider == "bc" else []
        classpath = os.pathsep.join([str(self.classes), *jars])
        java = tool("java")
        peer = ["TlsPeer", role, "--provider", self.provider]
        return [java, *JVM_OPTIONS, *jvm, "-cp", classpath, *peer, *options]

    def start_server(
        self,
        *options: str,
        leaves: Sequence[str] = ("ecdsa-p256",),
        connections: int = 1,
        jvm: Sequence[str] = (),
    ) -> tuple[PeerProcess, int]:
        """Start a server without waiting for it to listen (see :meth:`listening`)."""
        server_options = json_server_options(self.peers, leaves, connections)
        argv = self.argv("server", [*server_options, *options], jvm)
        return self.peers.start(argv, f"{self.name} server"), connections

    @staticmethod
    def listening(started: tuple[PeerProcess, int]) -> JsonPeerServer:
        """The server :meth:`start_server` started, once it listens (bounded wait)."""
        peer, connections = started
        return json_server_listening(peer, connections, 3 * TIMEOUT)

    def server(
        self,
        *options: str,
        leaves: Sequence[str] = ("ecdsa-p256",),
        connections: int = 1,
        jvm: Sequence[str] = (),
    ) -> JsonPeerServer:
        """An echo server on 127.0.0.1 (port 0) serving ``connections`` connections; it trusts
        the test CA for client certificates (asked for with ``--client-auth``)."""
        started = self.start_server(*options, leaves=leaves, connections=connections, jvm=jvm)
        return self.listening(started)

    def servers(self, *specs: dict[str, Any]) -> list[JsonPeerServer]:
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
        """Run a client to its end (verifying "localhost" against the test CA); its records,
        one per connection."""
        client_options = json_client_options(self.peers, ports, leaf)
        argv = self.argv("client", [*client_options, *options], jvm)
        return json_records(json_client_run(self.peers, argv, f"{self.name} client", timeout))
