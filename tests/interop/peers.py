"""Real TLS peers for the interop tests, always on 127.0.0.1 and always bounded.

* :class:`PeerProcess`: a peer program (``openssl s_server``/``s_client``, ``gnutls-serv``/
  ``gnutls-cli``) whose stdout and stderr are collected by reader threads, so a test can wait for
  a line with a timeout and a failing assertion shows what the peer printed.
* :class:`Peers`: starts those programs with the right options and stops every one of them at
  teardown (the ``peers`` fixture in ``conftest.py``).
* :class:`PythonTLSServer` / :func:`python_tls_client`: Python's :mod:`ssl` module as a peer, in
  a thread.
* :class:`OurServer`: our own :class:`tlsmachine.sockets.TLSServer` with an echo handler that
  records each connection's :class:`HandshakeComplete`, for peers acting as clients.

Nothing here waits without a timeout; processes are terminated (then killed) by their id.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from pki import TestPKI
from tlsmachine import CertifiedKey, ClientConfig, Event, HandshakeComplete, ServerConfig
from tlsmachine.errors import UsageError
from tlsmachine.sockets import TLSServer, TLSSocket, connect

TIMEOUT = 10.0
"""Upper bound for any single wait (start-up, a line of output, a handshake, an exit)."""

OPENSSL_GROUPS = {
    "x25519": "X25519",
    "secp256r1": "P-256",
    "secp384r1": "P-384",
    "secp521r1": "P-521",
    "x448": "X448",
}
GNUTLS_GROUPS = {
    "x25519": "GROUP-X25519",
    "secp256r1": "GROUP-SECP256R1",
    "secp384r1": "GROUP-SECP384R1",
    "secp521r1": "GROUP-SECP521R1",
    "x448": "GROUP-X448",
}
PYTHON_GROUPS = {"x25519": "X25519", "secp256r1": "prime256v1", "secp384r1": "secp384r1"}
"""Names for :meth:`ssl.SSLContext.set_ecdh_curve`; on OpenSSL 3 it restricts the group list to
that one group (for TLS 1.3 too), which is how we make Python's ssl force or avoid an HRR."""


def tool(name: str) -> str:
    """The path of a peer program; a missing peer FAILS the test (``make peers`` installs it)."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found on PATH; install the peers with `make peers`")
    return path


def build_c_peer(
    source: Path,
    binary: Path,
    libraries: Sequence[str],
    failure: str,
    *,
    timeout: float,
    cwd: Path | None = None,
) -> Path:
    """Compile a C peer program with ``gcc -O1 -Wall -Werror`` and link it with ``libraries``
    (``-l...`` options); ``binary``, or an assertion failing with ``failure`` (what went wrong
    and how to install what is missing) and gcc's output."""
    argv = [tool("gcc"), "-O1", "-Wall", "-Werror", "-o", str(binary), str(source), *libraries]
    try:
        result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"gcc did not finish in {timeout}s") from None
    assert result.returncode == 0, f"{failure}:\n{result.stdout}\n{result.stderr}"
    return binary


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago (for peers that cannot use port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, timeout: float = TIMEOUT) -> None:
    """Poll until something accepts TCP connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing listens on 127.0.0.1:{port}") from None
            time.sleep(0.05)


def gnutls_priority(groups: Sequence[str] = (), extra: str = "") -> str:
    """A TLS-1.3-only GnuTLS priority string, optionally restricted to ``groups`` (in order)."""
    prio = "NORMAL:-VERS-ALL:+VERS-TLS1.3"
    if groups:
        prio += ":-GROUP-ALL:" + ":".join("+" + GNUTLS_GROUPS[g] for g in groups)
    return prio + extra


class PeerProcess:
    """A running peer program with its output collected in the background."""

    def __init__(self, argv: Sequence[str], name: str, *, cwd: Path | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        # stdbuf: line-buffered stdout, so that what the peer prints is visible while it runs
        command = [tool("stdbuf"), "-oL", "-eL", *self.argv]
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env={**os.environ, "LC_ALL": "C"},
        )
        self._stdout = bytearray()
        self._stderr = bytearray()
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._collect, args=(pipe, buf), daemon=True)
            for pipe, buf in ((self.proc.stdout, self._stdout), (self.proc.stderr, self._stderr))
        ]
        for reader in self._readers:
            reader.start()

    def _collect(self, pipe: object, buf: bytearray) -> None:
        assert pipe is not None
        fd = pipe.fileno()  # type: ignore[attr-defined]
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            with self._changed:
                if not chunk:
                    self._changed.notify_all()
                    return
                buf += chunk
                self._changed.notify_all()

    # -- output -------------------------------------------------------------------------------

    @property
    def stdout(self) -> bytes:
        with self._changed:
            return bytes(self._stdout)

    @property
    def stderr(self) -> bytes:
        with self._changed:
            return bytes(self._stderr)

    @property
    def output(self) -> str:
        """stdout then stderr, decoded (for assertions on what the peer printed)."""
        return (self.stdout + b"\n" + self.stderr).decode("utf-8", "replace")

    def describe(self) -> str:
        status = self.proc.poll()
        return (
            f"{self.name} ({' '.join(self.argv)}), exit status {status}\n"
            f"--- stdout ---\n{self.stdout.decode('utf-8', 'replace')}\n"
            f"--- stderr ---\n{self.stderr.decode('utf-8', 'replace')}"
        )

    def wait_for(self, pattern: str, timeout: float = TIMEOUT) -> re.Match[str]:
        """Wait until stdout or stderr matches ``pattern`` (a regex); fail with the output."""
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                text = (bytes(self._stdout) + b"\n" + bytes(self._stderr)).decode(
                    "utf-8", "replace"
                )
                match = regex.search(text)
                if match:
                    return match
                left = deadline - time.monotonic()
                readers_done = not any(r.is_alive() for r in self._readers)
                if left <= 0 or readers_done:
                    break
                self._changed.wait(min(left, 0.2))
        raise AssertionError(f"{self.name}: no {pattern!r} in its output\n{self.describe()}")

    # -- input and lifetime -------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def close_stdin(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()

    def wait(self, timeout: float = TIMEOUT) -> int:
        """Wait for the peer to exit; on timeout kill it and fail with its output."""
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError(
                f"{self.name} did not exit in {timeout}s\n{self.describe()}"
            ) from None
        for reader in self._readers:
            reader.join(TIMEOUT)
        return status

    def stop(self) -> None:
        """Terminate (then kill) the process by its id; idempotent."""
        self.close_stdin()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(3)
        for reader in self._readers:
            reader.join(3)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def json_records(peer: PeerProcess, event: str | None = "connection") -> list[dict[str, Any]]:
    """The JSON objects a peer program printed so far, one per line, those of ``event`` (all of
    them for ``None``). Only complete lines count: a long record (a megabyte echoed in hex)
    may still be half-written while a test polls for it."""
    lines = peer.stdout.decode("utf-8", "replace").split("\n")[:-1]
    parsed = [json.loads(line) for line in lines if line.startswith("{")]
    return parsed if event is None else [r for r in parsed if r.get("event") == event]


def server_records(peer: PeerProcess, count: int = 1) -> list[dict[str, Any]]:
    """A server peer's records of its ``count`` connections, once it has exited with status 0
    after them (waiting, bounded)."""
    deadline = time.monotonic() + TIMEOUT
    while len(json_records(peer)) < count and peer.proc.poll() is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {count} records in {TIMEOUT}s\n{peer.describe()}")
        time.sleep(0.02)
    assert peer.wait() == 0, peer.describe()
    found = json_records(peer)
    assert len(found) == count, peer.describe()
    return found


class Peers:
    """Starts peer programs for one test and stops all of them at teardown."""

    def __init__(self, pki: TestPKI) -> None:
        self.pki = pki
        self.started: list[PeerProcess] = []
        self.servers: list[PythonTLSServer | OurServer] = []

    def start(self, argv: Sequence[str], name: str) -> PeerProcess:
        peer = PeerProcess(argv, name)
        self.started.append(peer)
        return peer

    def stop_all(self) -> None:
        for peer in self.started:
            peer.stop()
        for server in self.servers:
            server.stop()

    # -- OpenSSL ------------------------------------------------------------------------------

    def openssl_server(
        self,
        leaf: str = "ecdsa-p256",
        *,
        mode: str = "-rev",
        groups: Sequence[str] = (),
        ciphersuites: Sequence[str] = (),
        alpn: Sequence[str] = (),
        extra: Sequence[str] = (),
    ) -> tuple[PeerProcess, int]:
        """``openssl s_server`` on an ephemeral port; ``mode`` -rev (reverse lines) or -www."""
        issued = self.pki.leaves[leaf]
        argv = [tool("openssl"), "s_server", "-accept", "127.0.0.1:0", "-tls1_3"]
        argv += ["-cert", str(issued.cert_path), "-key", str(issued.key_path), "-naccept", "1"]
        if issued.chain[1:]:  # -cert_chain: the intermediates only (else the leaf goes twice)
            extra_certs = self.pki.directory / f"{leaf}-intermediates.pem"
            extra_certs.write_bytes(
                b"".join(c.public_bytes(serialization.Encoding.PEM) for c in issued.chain[1:])
            )
            argv += ["-cert_chain", str(extra_certs)]
        argv += _openssl_common(groups, ciphersuites)
        if alpn:
            argv += ["-alpn", ",".join(alpn)]
        argv += [mode, *extra]
        peer = self.start(argv, "openssl s_server")
        port = int(peer.wait_for(r"ACCEPT 127\.0\.0\.1:(\d+)").group(1))
        return peer, port

    def openssl_client(
        self,
        port: int,
        *,
        servername: str = "localhost",
        groups: Sequence[str] = (),
        ciphersuites: Sequence[str] = (),
        alpn: Sequence[str] = (),
        sigalgs: str | None = None,
        extra: Sequence[str] = ("-ign_eof",),
    ) -> PeerProcess:
        """``openssl s_client -tls1_3`` verifying our server against the test CA."""
        argv = [tool("openssl"), "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_3"]
        argv += ["-CAfile", str(self.pki.ca_path), "-verify_return_error"]
        argv += ["-servername", servername, "-verify_hostname", servername]
        argv += _openssl_common(groups, ciphersuites)
        if alpn:
            argv += ["-alpn", ",".join(alpn)]
        if sigalgs:
            argv += ["-sigalgs", sigalgs]
        argv += list(extra)
        return self.start(argv, "openssl s_client")

    # -- GnuTLS -------------------------------------------------------------------------------

    def gnutls_server(
        self,
        leaf: str = "ecdsa-p256",
        *,
        mode: str = "--echo",
        priority: str | None = None,
        alpn: Sequence[str] = (),
        extra: Sequence[str] = (),
    ) -> tuple[PeerProcess, int]:
        """``gnutls-serv`` (it cannot pick its own port: we choose a free one, retrying)."""
        issued = self.pki.leaves[leaf]
        for _attempt in range(5):
            port = free_port()
            argv = [tool("gnutls-serv"), "-p", str(port), mode, "--disable-client-cert"]
            argv += ["--x509certfile", str(issued.chain_path)]
            argv += ["--x509keyfile", str(issued.key_path)]
            argv += ["--priority", priority or gnutls_priority()]
            argv += [f"--alpn={p}" for p in alpn]
            argv += list(extra)
            peer = self.start(argv, "gnutls-serv")
            try:
                peer.wait_for(r"listening on IPv4 .* port \d+\.\.\.done")
            except AssertionError:
                if "bind() failed" in peer.output or "in use" in peer.output:
                    peer.stop()
                    continue
                raise
            return peer, port
        raise AssertionError("gnutls-serv could not bind a free port in 5 attempts")

    def gnutls_client(
        self,
        port: int,
        *,
        servername: str = "localhost",
        priority: str | None = None,
        alpn: Sequence[str] = (),
        extra: Sequence[str] = (),
    ) -> PeerProcess:
        """``gnutls-cli`` verifying our server against the test CA."""
        argv = [tool("gnutls-cli"), "127.0.0.1", "-p", str(port)]
        argv += ["--x509cafile", str(self.pki.ca_path), "--sni-hostname", servername]
        argv += ["--verify-hostname", servername, "--priority", priority or gnutls_priority()]
        argv += [f"--alpn={p}" for p in alpn]
        argv += list(extra)
        return self.start(argv, "gnutls-cli")

    # -- in-process servers -------------------------------------------------------------------

    def python_server(self, leaf: str = "ecdsa-p256", **kwargs: object) -> PythonTLSServer:
        issued = self.pki.leaves[leaf]
        server = PythonTLSServer(issued.chain_path, issued.key_path, **kwargs)  # type: ignore[arg-type]
        self.servers.append(server)
        return server

    def our_server(
        self,
        config: ServerConfig,
        *,
        exporter_label: bytes | None = None,
        exporter_context: bytes | None = None,
    ) -> OurServer:
        server = OurServer(config, exporter_label=exporter_label, exporter_context=exporter_context)
        self.servers.append(server)
        return server


def _openssl_common(groups: Sequence[str], ciphersuites: Sequence[str]) -> list[str]:
    argv: list[str] = []
    if groups:
        argv += ["-groups", ":".join(OPENSSL_GROUPS[g] for g in groups)]
    if ciphersuites:
        argv += ["-ciphersuites", ":".join(ciphersuites)]
    return argv


# -- Python's ssl module ----------------------------------------------------------------------


def python_context(
    purpose: ssl.Purpose, *, group: str | None = None, alpn: Sequence[str] = ()
) -> ssl.SSLContext:
    """A TLS-1.3-only context; ``group`` restricts the key exchange to that one group."""
    ctx = ssl.create_default_context(purpose)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    if group is not None:
        ctx.set_ecdh_curve(PYTHON_GROUPS[group])
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


@dataclass
class PeerResult:
    """What a Python ssl endpoint saw on one connection."""

    version: str | None = None
    cipher: str | None = None
    alpn: str | None = None
    received: bytes = b""
    clean_close: bool = False
    """The peer's close_notify arrived (recv returned b'' with ragged EOFs not suppressed)."""
    error: BaseException | None = None


def _echo_until_close(tls: ssl.SSLSocket, result: PeerResult) -> None:
    while True:
        try:
            data = tls.recv(65536)
        except ssl.SSLEOFError:
            return  # EOF without close_notify: clean_close stays False
        if not data:
            result.clean_close = True
            return
        result.received += data
        tls.sendall(data)


class PythonTLSServer:
    """An echo server on Python's ssl in a thread: serves ``connections`` connections."""

    def __init__(
        self,
        certfile: Path,
        keyfile: Path,
        *,
        group: str | None = None,
        alpn: Sequence[str] = (),
        connections: int = 1,
    ) -> None:
        self.ctx = python_context(ssl.Purpose.CLIENT_AUTH, group=group, alpn=alpn)
        self.ctx.load_cert_chain(certfile, keyfile)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT)
        self.port = int(self.listener.getsockname()[1])
        self.results: list[PeerResult] = []
        self._thread = threading.Thread(target=self._serve, args=(connections,), daemon=True)
        self._thread.start()

    def _serve(self, connections: int) -> None:
        for _ in range(connections):
            result = PeerResult()
            self.results.append(result)
            try:
                raw, _ = self.listener.accept()
            except OSError as exc:
                result.error = exc
                return
            raw.settimeout(TIMEOUT)
            try:
                with self.ctx.wrap_socket(raw, server_side=True, suppress_ragged_eofs=False) as tls:
                    result.version, result.cipher = tls.version(), (tls.cipher() or ("",))[0]
                    result.alpn = tls.selected_alpn_protocol()
                    _echo_until_close(tls, result)
                    if result.clean_close:
                        tls.unwrap()  # answer with our close_notify
            except Exception as exc:
                result.error = exc
            finally:
                raw.close()

    def join(self, timeout: float = TIMEOUT) -> list[PeerResult]:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"Python ssl server still busy after {timeout}s")
        return self.results

    def stop(self) -> None:
        self.listener.close()
        self._thread.join(TIMEOUT)


def python_tls_client(
    port: int,
    cafile: Path,
    *,
    message: bytes,
    server_hostname: str = "localhost",
    group: str | None = None,
    alpn: Sequence[str] = (),
) -> PeerResult:
    """Connect with Python's ssl, send ``message``, read its echo, close with close_notify."""
    ctx = python_context(ssl.Purpose.SERVER_AUTH, group=group, alpn=alpn)
    ctx.load_verify_locations(cafile)
    result = PeerResult()
    with (
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
        ctx.wrap_socket(raw, server_hostname=server_hostname, suppress_ragged_eofs=False) as tls,
    ):
        result.version, result.cipher = tls.version(), (tls.cipher() or ("",))[0]
        result.alpn = tls.selected_alpn_protocol()
        tls.sendall(message)
        while len(result.received) < len(message):
            data = tls.recv(65536)
            if not data:
                break
            result.received += data
        tls.unwrap().close()  # sends close_notify and waits for the server's
        result.clean_close = True
    return result


# -- our own server for peer clients -------------------------------------------------------------


@dataclass
class ServedConnection:
    """What our server saw on one connection."""

    info: HandshakeComplete | None = None
    received: bytes = b""
    early_data: int = 0
    """Bytes of ``received`` that came as 0-RTT data."""
    clean_close: bool | None = None
    error: BaseException | None = None
    exporter: str | None = None
    """Keying material our side exported (hex), when the server was given a label."""
    exporter_refused: str | None = None
    """Why our side refused to export (TLS 1.2 without the extended master secret, RFC 7627
    §5.4), when it did."""
    events: list[Event] = field(default_factory=list)
    """The connection's events (KeyUpdated, ClientCertificateReceived, the handshake traces
    with ``trace_handshake=True``, ...)."""


@dataclass
class OurServer:
    """Our :class:`TLSServer` in a thread, echoing, recording each connection."""

    config: ServerConfig
    connections: queue.Queue[ServedConnection] = field(default_factory=queue.Queue)
    exporter_label: bytes | None = None
    """With a label, each connection also exports 32 bytes for it (RFC 5705, RFC 8446 §7.5),
    without a context or with ``exporter_context``, to compare with the peer's."""
    exporter_context: bytes | None = None
    events: list[list[Event]] = field(default_factory=list)
    """Each finished connection's events, in the order the connections finished."""

    def __post_init__(self) -> None:
        self._current: dict[int, ServedConnection] = {}
        self._pending: dict[int, list[Event]] = {}  # by handler thread
        self._lock = threading.Lock()
        self.server = TLSServer(
            self.config, self._echo, timeout=TIMEOUT, on_error=self._error, on_event=self._event
        )
        self.port = self.server.address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _event(self, event: Event) -> None:
        with self._lock:
            self._pending.setdefault(threading.get_ident(), []).append(event)

    def _finish(self, record: ServedConnection) -> None:
        """Hand out a finished connection's record, with its events."""
        with self._lock:
            record.events = self._pending.pop(threading.get_ident(), [])
            self.events.append(record.events)
        self.connections.put(record)

    def _echo(self, tls: TLSSocket) -> None:
        record = self._current[threading.get_ident()] = ServedConnection()
        record.info = tls.handshake_info
        if self.exporter_label is not None:
            try:
                material = tls.export_keying_material(
                    self.exporter_label, 32, self.exporter_context
                )
            except UsageError as exc:
                record.exporter_refused = str(exc)
            else:
                record.exporter = material.hex()
        while data := tls.recv():
            record.received += data
            tls.sendall(data)
        record.early_data = tls.early_data_received
        record.clean_close = tls.clean_close
        self._finish(self._current.pop(threading.get_ident()))

    def _error(self, peer: tuple[str, int], exc: BaseException) -> None:
        record = self._current.pop(threading.get_ident(), None) or ServedConnection()
        record.error = exc
        self._finish(record)

    def next_connection(self, timeout: float = TIMEOUT) -> ServedConnection:
        """The next connection that finished (its handler returned or failed)."""
        try:
            return self.connections.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"our server saw no connection in {timeout}s") from None

    def next_exported(self, timeout: float = TIMEOUT) -> ServedConnection:
        """The next connection, which must have succeeded and exported keying material (or,
        TLS 1.2 without the extended master secret only, refused to: RFC 7627 §5.4)."""
        served = self.next_connection(timeout)
        assert served.error is None, repr(served.error)
        assert (served.exporter is None) is (served.exporter_refused is not None), served
        if served.exporter_refused is not None:
            assert served.info is not None and served.info.version == "TLSv1.2", served
            assert "RFC 7627" in served.exporter_refused
        return served

    def stop(self) -> None:
        self.server.shutdown()


# -- helpers shared by the interop tests ----------------------------------------------------------


def client_config(peers: Peers, **kwargs: object) -> ClientConfig:
    """Our client, trusting the test CA (verification on)."""
    return ClientConfig(cafile=str(peers.pki.ca_path), **kwargs)  # type: ignore[arg-type]


def server_certificates(peers: Peers, *names: str) -> tuple[CertifiedKey, ...]:
    """Our server's chains for the named test-PKI leaves."""
    leaves = peers.pki.leaves
    return tuple(CertifiedKey.load(leaves[n].chain_path, leaves[n].key_path) for n in names)


def read_exactly(tls: TLSSocket, n: int) -> bytes:
    """Read ``n`` bytes from our socket adapter, failing if the peer closes first."""
    data = b""
    while len(data) < n:
        chunk = tls.recv()
        assert chunk, f"connection closed after {len(data)} of {n} bytes"
        data += chunk
    return data


def dial(port: int, config: ClientConfig, **kwargs: Any) -> TLSSocket:
    """Our client to a peer server on 127.0.0.1, verifying the name "localhost"."""
    return connect(
        "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT, **kwargs
    )


def cert_options(peers: Peers, leaf: str | None, flag: str = "--") -> list[str]:
    """``--cert``/``--key`` (or with another ``flag`` prefix) for a test-PKI leaf: the chain
    file (leaf and any intermediates) and its key; nothing for ``None``."""
    if leaf is None:
        return []
    issued = peers.pki.leaves[leaf]
    return [f"{flag}cert", str(issued.chain_path), f"{flag}key", str(issued.key_path)]


# -- peer programs that print JSON records --------------------------------------------------------


def json_server_options(peers: Peers, leaves: Sequence[str], connections: int) -> list[str]:
    """The options a JSON-record peer server takes from the test PKI: ``--cert``/``--key`` per
    leaf, the CA (``--ca``, for client certificates) and ``--connections``."""
    keys = [option for leaf in leaves for option in cert_options(peers, leaf)]
    return [*keys, "--ca", str(peers.pki.ca_path), "--connections", str(connections)]


def json_client_options(peers: Peers, ports: int | Sequence[int], leaf: str | None) -> list[str]:
    """The options a JSON-record peer client takes: ``--port`` (comma-separated), the CA it
    verifies the server against, and a client certificate (``None``: none)."""
    port_list = [ports] if isinstance(ports, int) else list(ports)
    ports_option = ",".join(map(str, port_list))
    return ["--port", ports_option, "--ca", str(peers.pki.ca_path), *cert_options(peers, leaf)]


@dataclass
class JsonPeerServer:
    """A running peer server that prints one JSON record per connection (see
    :func:`json_records`); :meth:`results` waits for them."""

    peer: PeerProcess
    port: int
    connections: int
    timeout: float = 3 * TIMEOUT
    """The bound of :meth:`results` unless it says otherwise."""

    def results(self, timeout: float | None = None) -> list[dict[str, Any]]:
        """Its records of all its connections, once it has exited (bounded wait)."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while len(json_records(self.peer)) < self.connections and self.peer.proc.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.peer.name}: no records in {limit}s\n{self.describe()}")
            time.sleep(0.02)
        assert self.peer.wait(TIMEOUT) == 0, self.describe()
        found = json_records(self.peer)
        assert len(found) == self.connections, self.describe()
        return found

    @property
    def log(self) -> str:
        """What the peer wrote on stderr (its log)."""
        return self.peer.stderr.decode("utf-8", "replace")

    def describe(self) -> str:
        return self.peer.describe()


def json_server_listening(
    peer: PeerProcess, connections: int, timeout: float = 3 * TIMEOUT
) -> JsonPeerServer:
    """The server ``peer``, once it printed ``{"event": "listening", "port": N}`` (bounded by
    ``timeout``, which also bounds :meth:`JsonPeerServer.results`)."""
    port = int(peer.wait_for(r'"event": "listening", "port": (\d+)', timeout).group(1))
    return JsonPeerServer(peer, port, connections, timeout)


def record_ok(record: dict[str, Any]) -> dict[str, Any]:
    """``record``, after checking that the peer saw no error on that connection."""
    assert "error" not in record, record
    return record


def record_received(record: dict[str, Any]) -> bytes:
    """The bytes a peer program received (its record prints them in hex, in full up to
    64 KiB)."""
    assert "received" in record, record
    return bytes.fromhex(record["received"])


def program_server(
    peers: Peers, binary: Path, name: str, *options: str, leaf: str = "ecdsa-p256", flag: str = "--"
) -> tuple[PeerProcess, int]:
    """A peer program (Go, wolfSSL, Mbed TLS, BearSSL) serving (echo) on 127.0.0.1:0 with a
    test-PKI ``leaf`` and the CA; it exits after its connections. Options are spelt with
    ``flag`` (Go's: ``-``)."""
    argv = [str(binary), "server", *cert_options(peers, leaf, flag), f"{flag}ca"]
    peer = peers.start([*argv, str(peers.pki.ca_path), *options], f"{name} server")
    port = int(peer.wait_for(r'"event": ?"listening", ?"port": ?(\d+)').group(1))
    return peer, port


def program_client(
    peers: Peers,
    binary: Path,
    name: str,
    port: int,
    *options: str,
    leaf: str | None = None,
    timeout: float = TIMEOUT,
    flag: str = "--",
) -> list[dict[str, Any]]:
    """Run a peer program as a client of 127.0.0.1:``port`` to its end (exit status 0); its
    records, one per connection."""
    argv = [str(binary), "client", f"{flag}port", str(port), f"{flag}ca", str(peers.pki.ca_path)]
    peer = peers.start([*argv, *cert_options(peers, leaf, flag), *options], f"{name} client")
    assert peer.wait(timeout) == 0, peer.describe()
    return json_records(peer)


def json_client_run(
    peers: Peers, argv: Sequence[str], name: str, timeout: float = 3 * TIMEOUT
) -> PeerProcess:
    """Run a JSON-record peer client to its end: it must exit with status 0 after printing
    ``{"event": "done"}`` (its records: :func:`json_records`)."""
    peer = peers.start(argv, name)
    assert peer.wait(timeout) == 0, peer.describe()
    assert '{"event": "done"}' in peer.stdout.decode(), peer.describe()
    return peer
