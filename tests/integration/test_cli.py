"""The command line: ``tlsmachine demo | server | client`` as real processes over loopback."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tls_fixtures import KEYLOG_LABELS

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: pki.py
import pki

pytestmark = pytest.mark.timeout(60)

TIMEOUT = 20.0
CLI = [sys.executable, "-m", "tlsmachine"]
ENV = {k: v for k, v in os.environ.items() if k != "SSLKEYLOGFILE"} | {"PYTHONUNBUFFERED": "1"}


@dataclass
class Result:
    returncode: int
    stdout: str  # decoded without newline translation (HTTP uses CRLF)
    stderr: str


def run(
    *args: str, stdin: bytes = b"", timeout: float = TIMEOUT, env: dict[str, str] | None = None
) -> Result:
    """Run ``tlsmachine ARGS`` to completion (killed after ``timeout``); ``env`` adds variables."""
    done = subprocess.run(
        [*CLI, *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env=ENV | (env or {}),
        check=False,
    )
    return Result(done.returncode, done.stdout.decode(), done.stderr.decode())


class Background:
    """A long-running ``tlsmachine`` process whose stderr is collected by a thread."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [*CLI, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=ENV,
        )
        self.stdout = bytearray()
        self.stderr = bytearray()
        self._lock = threading.Condition()
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _pump(self, pipe: object, buf: bytearray) -> None:
        fd = pipe.fileno()  # type: ignore[attr-defined]
        while chunk := os.read(fd, 65536):
            with self._lock:
                buf += chunk
                self._lock.notify_all()
        with self._lock:
            self._lock.notify_all()

    def wait_for(
        self, pattern: str, stream: str = "stderr", timeout: float = TIMEOUT
    ) -> re.Match[str]:
        buf = self.stderr if stream == "stderr" else self.stdout
        deadline = time.monotonic() + timeout
        with self._lock:
            while not (match := re.search(pattern, buf.decode("utf-8", "replace"))):
                left = deadline - time.monotonic()
                if left <= 0 or (
                    self.proc.poll() is not None and not any(t.is_alive() for t in self._threads)
                ):
                    output = f"{self.stderr.decode()}\n{self.stdout.decode()}"
                    raise AssertionError(f"no {pattern!r} in {stream}:\n{output}")
                self._lock.wait(min(left, 0.2))
        return match

    def interrupt(self, timeout: float = TIMEOUT) -> int:
        """Ctrl-C, as a user would stop it; kill if it does not exit in time."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout)
        finally:
            self.stop()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        for thread in self._threads:
            thread.join(5)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> pki.TestPKI:
    return pki.make_pki(tmp_path_factory.mktemp("cli-pki"), key_types=("rsa-2048", "ecdsa-p256"))


@pytest.fixture
def start_server() -> Iterator[object]:
    started: list[Background] = []

    def start(*args: str) -> tuple[Background, int]:
        server = Background("server", "--port", "0", "--timeout", "10", *args)
        started.append(server)
        port = int(server.wait_for(r"listening on 127\.0\.0\.1:(\d+)").group(1))
        return server, port

    yield start
    for server in started:
        server.stop()


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("tlsmachine:")]
    assert len(lines) == 1, stderr
    return lines[0]


# -- demo ----------------------------------------------------------------------------------------


def test_demo_prints_the_handshake_and_exits_zero() -> None:
    result = run("demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    order = [
        "client -> server  ClientHello",
        "server -> client  ServerHello",
        "server -> client  EncryptedExtensions",
        "server -> client  Certificate ",
        "server -> client  CertificateVerify",
        "server -> client  Finished",
        "client -> server  Finished",
    ]
    positions = [out.index(item) for item in order]
    assert positions == sorted(positions), out
    # each line shows the message's fields, from the same formatter as --trace
    hello = next(line for line in out.splitlines() if "ClientHello" in line)
    assert "bytes  plaintext" in hello
    assert "key_share=[x25519mlkem768,x25519]" in hello and "alpn=[h2,http/1.1]" in hello, hello
    assert re.search(r"ServerHello .* suite=TLS_AES_128_GCM_SHA256 key_share=x25519mlkem768", out)
    assert re.search(r"EncryptedExtensions .*handshake .*alpn=http/1\.1", out)
    assert re.search(r"CertificateVerify .* scheme=ecdsa_secp256r1_sha256", out)
    for expected in ("TLSv1.3", "TLS_AES_128_GCM_SHA256", "X25519MLKEM768", "ecdsa_secp256r1"):
        assert expected in out
    assert "http/1.1" in out
    assert "localhost" in out
    assert "closed cleanly" in out
    assert re.search(r"SHA-256\s+([0-9A-F]{2}:){31}[0-9A-F]{2}", out)


def test_demo_with_hello_retry_request_and_rsa() -> None:
    result = run("demo", "--hrr", "--key-type", "rsa-2048")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("ClientHello") == 2
    assert "server -> client  HelloRetryRequest" in out
    assert re.search(r"HelloRetryRequest .* selected_group=secp256r1", out)
    assert "secp256r1" in out
    assert "rsa_pss_rsae_sha256" in out
    assert re.search(r"hello retry\s+yes", out)


# -- server and client ----------------------------------------------------------------------------


def test_www_server_and_piped_client(start_server, test_pki: pki.TestPKI) -> None:
    leaf = test_pki.leaves["ecdsa-p256"]
    server, port = start_server(
        "--www", "--cert", str(leaf.chain_path), "--key", str(leaf.key_path), "--alpn", "http/1.1"
    )
    result = run(
        "client",
        f"localhost:{port}",
        "--cafile",
        str(test_pki.ca_path),
        "--alpn",
        "h2,http/1.1",
        stdin=b"GET / HTTP/1.0\r\n\r\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("HTTP/1.0 200 ok\r\n")
    assert re.search(r"Protocol\s+: TLSv1\.3", result.stdout)
    assert re.search(r"ALPN\s+: http/1\.1", result.stdout)
    assert re.search(r"^\* version +TLSv1\.3$", result.stderr, re.M)
    assert re.search(r"^\* ALPN +http/1\.1$", result.stderr, re.M)
    assert "-> ClientHello" not in result.stderr  # no trace without --trace
    server.wait_for(r"closed cleanly")
    assert server.interrupt() == 0  # Ctrl-C is the normal way to stop it
    assert "Traceback" not in server.stderr.decode()


def test_ipv6_addresses_are_written_in_brackets() -> None:
    """Over ::1, the banner and the client's lines write the address as it is typed,
    ``[::1]:PORT``, not the ambiguous ``::1:PORT``."""
    server = Background("server", "--host", "::1", "--port", "0", "--timeout", "10", "--echo")
    try:
        port = int(server.wait_for(r"listening on \[::1\]:(\d+) \(echo\)").group(1))
        result = run("client", f"[::1]:{port}", "--insecure", "--half-close", stdin=b"ping\n")
        assert result.returncode == 0, result.stderr
        assert result.stdout == "ping\n"
        assert f"* connected to [::1]:{port} (server name ::1)\n" in result.stderr
        server.wait_for(r"\[::1\]:\d+: .*closed cleanly")
    finally:
        server.stop()


def test_client_rejects_an_untrusted_certificate(start_server, test_pki: pki.TestPKI) -> None:
    server, port = start_server("--echo")  # ephemeral self-signed certificate
    fingerprint = server.wait_for(r"SHA-256 fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})")
    assert fingerprint.group(1)
    result = run("client", f"127.0.0.1:{port}", "--cafile", str(test_pki.ca_path))
    assert result.returncode != 0
    line = one_line(result.stderr)
    assert "certificate" in line
    assert "not trusted" in line or "unknown_ca" in line
    assert line.endswith("(to trust that certificate or its CA here: --cafile PEM)")  # the hint
    server.wait_for(r"failed: peer sent fatal alert: unknown_ca")
    # the same server still serves a client that accepts any certificate
    insecure = run("client", f"127.0.0.1:{port}", "--insecure", "--half-close")
    assert insecure.returncode == 0, insecure.stderr
    assert "NOT verified" in insecure.stderr


def test_echo_round_trip_interactive(start_server, test_pki: pki.TestPKI) -> None:
    leaf = test_pki.leaves["rsa-2048"]
    _, port = start_server("--echo", "--cert", str(leaf.combined_path))  # key in the same file
    client = Background(
        "client", f"localhost:{port}", "--cafile", str(test_pki.ca_path), "--half-close"
    )
    try:
        client.wait_for(r"cipher suite +TLS_AES_128_GCM_SHA256")
        assert client.proc.stdin is not None
        for line in (b"first line\n", b"second line\n"):
            client.proc.stdin.write(line)
            client.proc.stdin.flush()
            client.wait_for(re.escape(line.decode()), stream="stdout")
        client.proc.stdin.close()  # end of input: close_notify, the server answers
        assert client.proc.wait(TIMEOUT) == 0, client.stderr.decode()
        assert bytes(client.stdout) == b"first line\nsecond line\n"
        assert re.search(r"\* signature +rsa_pss_rsae_sha256\n", client.stderr.decode())
    finally:
        client.stop()


def test_misbehaving_client_gets_an_alert_and_the_server_keeps_serving(
    start_server, test_pki: pki.TestPKI
) -> None:
    leaf = test_pki.leaves["ecdsa-p256"]
    server, port = start_server(
        "--www", "--cert", str(leaf.chain_path), "--key", str(leaf.key_path)
    )
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
        raw.sendall(b"GET / HTTP/1.0\r\n\r\n")  # plaintext HTTP to a TLS port
        reply = b""
        while len(reply) < 7 and (chunk := raw.recv(100)):
            reply += chunk
    assert reply[:1] == b"\x15", reply  # an alert record ...
    assert reply[5:6] == b"\x02", reply  # ... at level fatal
    server.wait_for(r"failed: .*\(sent alert \w+\)")
    result = run(
        "client",
        f"localhost:{port}",
        "--cafile",
        str(test_pki.ca_path),
        stdin=b"GET / HTTP/1.0\r\n\r\n",
    )
    assert result.returncode == 0, result.stderr
    assert "HTTP/1.0 200 ok" in result.stdout


def test_client_hello_retry_with_groups(start_server, test_pki: pki.TestPKI) -> None:
    leaf = test_pki.leaves["ecdsa-p256"]
    _, port = start_server(
        "--www",
        "--cert",
        str(leaf.chain_path),
        "--key",
        str(leaf.key_path),
        "--groups",
        "secp384r1",
    )
    result = run(
        "client", f"localhost:{port}", "--cafile", str(test_pki.ca_path), stdin=b"GET /\r\n\r\n"
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"\* group +secp384r1\n", result.stderr)
    assert re.search(r"\* hello retry +yes\n", result.stderr)
    assert re.search(r"HelloRetry\s+: yes", result.stdout)


def test_profiles_and_group_names(start_server, test_pki: pki.TestPKI) -> None:
    """--profile picks a named policy on both sides (pq-only: TLS 1.3 with PQ groups only);
    --groups takes names as the config does (any case)."""
    leaf = test_pki.leaves["ecdsa-p256"]
    _, port = start_server(
        "--www", "--cert", str(leaf.chain_path), "--key", str(leaf.key_path),
        "--profile", "pq-only",
    )  # fmt: skip
    ca = ["--cafile", str(test_pki.ca_path)]
    pq = run(
        "client", f"localhost:{port}", *ca, "--groups", "x25519mlkem768", stdin=b"GET /\r\n\r\n"
    )
    assert pq.returncode == 0, pq.stderr
    assert re.search(r"\* version +TLSv1\.3\n", pq.stderr)
    assert re.search(r"\* group +X25519MLKEM768\n", pq.stderr)
    classical = run("client", f"localhost:{port}", *ca, "--groups", "X25519", stdin=b"")
    assert classical.returncode == 1
    assert "handshake_failure" in one_line(classical.stderr)
    unknown = run("client", f"localhost:{port}", "--groups", "x25519kyber", stdin=b"")
    assert unknown.returncode == 2
    assert "groups" in one_line(unknown.stderr)
    bad = run("client", f"localhost:{port}", "--profile", "fips")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


# -- failures: one line, non-zero ---------------------------------------------------------------


def test_inverted_version_range_is_a_configuration_error() -> None:
    result = run("client", "127.0.0.1:9", "--min-version", "1.3", "--max-version", "1.2")
    assert result.returncode == 2
    assert "min_version" in one_line(result.stderr)


def test_connection_refused_is_one_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: refused
        result = run("client", f"127.0.0.1:{port}")
    assert result.returncode == 1
    assert "refused" in one_line(result.stderr).lower()


def test_bad_arguments() -> None:
    assert run("client", "no-port").returncode == 2
    result = run("server", "--cert", "/nonexistent/cert.pem", "--port", "0")
    assert result.returncode == 2
    assert "/nonexistent/cert.pem" in one_line(result.stderr)
    # a missing --cafile is refused before any connection is tried (port 1: nothing listens)
    result = run("client", "127.0.0.1:1", "--cafile", "/nonexistent/ca.pem")
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line.startswith("tlsmachine: error: cannot read cafile /nonexistent/ca.pem"), line


# -- resumption, client authentication, key log ---------------------------------------------------

GET = b"GET / HTTP/1.0\r\n\r\n"


def cert_args(issued: pki.Issued) -> list[str]:
    return ["--cert", str(issued.chain_path), "--key", str(issued.key_path)]


def test_client_names_the_option_for_a_certificate_of_another_name(
    start_server, test_pki: pki.TestPKI
) -> None:
    """A trusted certificate for other.example, reached as localhost: the failure says whose
    names the certificate has and which option checks another name; with it, it connects."""
    _, port = start_server("--www", *cert_args(test_pki.leaves["other-host"]))
    trusting = ["--cafile", str(test_pki.ca_path)]
    refused = run("client", f"localhost:{port}", *trusting, stdin=GET)
    assert refused.returncode == 1
    line = one_line(refused.stderr)
    assert "host name 'localhost' does not match the certificate's names: other.example" in line
    assert line.endswith("(--servername NAME checks the certificate against another name)")
    accepted = run(
        "client", f"localhost:{port}", *trusting, "--servername", "other.example", stdin=GET
    )
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout.startswith("HTTP/1.0 200 ok")


def test_no_tickets_means_no_session_file(
    start_server, test_pki: pki.TestPKI, tmp_path: Path
) -> None:
    _, port = start_server("--www", "--num-tickets", "0", *cert_args(test_pki.leaves["ecdsa-p256"]))
    session = tmp_path / "session.bin"
    result = run(
        "client", f"localhost:{port}", "--cafile", str(test_pki.ca_path), "--sess-out",
        str(session), stdin=GET,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"no session ticket received: {session} not written" in result.stderr
    assert not session.exists()


def test_sess_out_then_sess_in_resumes(start_server, test_pki: pki.TestPKI, tmp_path: Path) -> None:
    server, port = start_server("--www", *cert_args(test_pki.leaves["ecdsa-p256"]))
    session = tmp_path / "session.bin"
    client = ["client", f"localhost:{port}", "--cafile", str(test_pki.ca_path)]
    first = run(*client, "--sess-out", str(session), stdin=GET)
    assert first.returncode == 0, first.stderr
    assert re.search(r"\* resumed +no \(full handshake\)\n", first.stderr)
    assert f"session saved to {session} (2 tickets received" in first.stderr
    assert session.stat().st_mode & 0o077 == 0  # it holds the PSK
    assert re.search(r"Resumed\s+: no", first.stdout)

    # the same server process resumes it; the resumed connection's ticket replaces the file
    second = run(*client, "--sess-in", str(session), "--sess-out", str(session), stdin=GET)
    assert second.returncode == 0, second.stderr
    assert re.search(r"\* resumed +yes\n", second.stderr)
    # no Certificate message in a PSK handshake: the session's chain, from the first one
    assert re.search(
        r"\* certificate +chain of 1 verified in the original handshake", second.stderr
    )
    assert "subject" in second.stderr
    assert re.search(r"Resumed\s+: yes", second.stdout)
    server.wait_for(r"server name localhost, resumed")

    # a session for another name is not offered: a full handshake, no error
    other = run(
        "client", f"127.0.0.1:{port}", "--cafile", str(test_pki.ca_path), "--sess-in",
        str(session), stdin=GET,
    )  # fmt: skip
    assert other.returncode == 0, other.stderr
    assert "it is for localhost, not 127.0.0.1" in other.stderr
    assert re.search(r"\* resumed +no \(full handshake\)\n", other.stderr)
    assert "Traceback" not in server.stderr.decode()


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"garbage\n", "not a usable session file"), (b"\x01\x00", "not a usable session file")],
)
def test_sess_in_with_a_corrupt_file(tmp_path: Path, content: bytes, reason: str) -> None:
    session = tmp_path / "session.bin"
    session.write_bytes(content)
    result = run("client", "127.0.0.1:9", "--sess-in", str(session))  # fails before connecting
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert str(session) in line and reason in line
    assert "Traceback" not in result.stderr


def test_sess_in_with_a_missing_file(tmp_path: Path) -> None:
    result = run("client", "127.0.0.1:9", "--sess-in", str(tmp_path / "missing.bin"))
    assert result.returncode == 2
    assert "cannot read session file" in one_line(result.stderr)


def test_required_client_certificate(start_server, test_pki: pki.TestPKI) -> None:
    server, port = start_server(
        "--www",
        *cert_args(test_pki.leaves["ecdsa-p256"]),
        "--verify-client",
        "required",
        "--client-cafile",
        str(test_pki.ca_path),
    )
    client = ["client", f"localhost:{port}", "--cafile", str(test_pki.ca_path)]
    client_leaf = test_pki.leaves["rsa-2048"]
    ok = run(*client, *cert_args(client_leaf), stdin=GET)
    assert ok.returncode == 0, ok.stderr
    subject = client_leaf.cert.subject.rfc4514_string()
    assert re.search(rf"Client cert\s+: {re.escape(subject)}\n", ok.stdout), ok.stdout
    server.wait_for(rf"server name localhost, client certificate {re.escape(subject)} \(verified\)")

    refused = run(*client, stdin=GET)
    assert refused.returncode == 1
    line = one_line(refused.stderr)
    assert "peer sent fatal alert: certificate_required" in line
    assert "--cert" in line  # the hint
    server.wait_for(r"failed: .*\(sent alert certificate_required\)")
    assert "Traceback" not in server.stderr.decode()


def test_optional_client_certificate(start_server, test_pki: pki.TestPKI) -> None:
    server, port = start_server(
        "--www", "--verify-client", "optional", "--client-cafile", str(test_pki.ca_path)
    )
    result = run("client", f"localhost:{port}", "--insecure", stdin=GET)
    assert result.returncode == 0, result.stderr
    assert re.search(r"Client cert\s+: none", result.stdout)
    server.wait_for(r"server name localhost, no client certificate\n")


@pytest.mark.parametrize(
    "args",
    [
        ["--verify-client", "required"],
        ["--verify-client", "optional"],
        ["--client-cafile", "ca.pem"],
        ["--num-tickets", "256"],
        ["--num-tickets", "-1"],
    ],
)
def test_server_option_conflicts_are_usage_errors(args: list[str]) -> None:
    result = run("server", "--port", "0", *args)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: tlsmachine server")
    assert "tlsmachine server: error: " in result.stderr


class Relay:
    """Forwards one TCP connection to 127.0.0.1:``port`` and keeps what the client sent."""

    def __init__(self, port: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT)
        self.port = int(self.listener.getsockname()[1])
        self.from_client = bytearray()
        self.thread = threading.Thread(target=self._run, args=(port,), daemon=True)
        self.thread.start()

    def _run(self, port: int) -> None:
        with contextlib.ExitStack() as stack:
            stack.callback(self.listener.close)
            down, _ = self.listener.accept()
            stack.enter_context(down)
            down.settimeout(TIMEOUT)
            up = stack.enter_context(socket.create_connection(("127.0.0.1", port), TIMEOUT))
            back = threading.Thread(target=self._pump, args=(up, down, None), daemon=True)
            back.start()
            self._pump(down, up, self.from_client)
            back.join(TIMEOUT)

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, keep: bytearray | None) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                if keep is not None:
                    keep += data
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def client_random(self) -> str:
        self.thread.join(TIMEOUT)
        hello = bytes(self.from_client)
        assert hello[:1] == b"\x16" and hello[5:6] == b"\x01", hello[:16]  # record: ClientHello
        return hello[11:43].hex()  # after record header (5), type and length (4), version (2)


def keylog_lines(path: Path) -> list[tuple[str, str, str]]:
    lines = path.read_text().splitlines()
    assert all(re.fullmatch(r"[A-Z_0-9]+ [0-9a-f]{64} (?:[0-9a-f]{2})+", line) for line in lines)
    return [(label, random, secret) for label, random, secret in (ln.split() for ln in lines)]


def test_keylog_on_both_sides(start_server, test_pki: pki.TestPKI, tmp_path: Path) -> None:
    server_log, client_log = tmp_path / "server.keys", tmp_path / "client.keys"
    server, port = start_server(
        "--echo", *cert_args(test_pki.leaves["ecdsa-p256"]), "--keylog", str(server_log)
    )
    relay = Relay(port)
    result = run(  # the client takes the file from the environment, like other TLS tools
        "client", f"localhost:{relay.port}", "--cafile", str(test_pki.ca_path), "--half-close",
        stdin=b"secret\n", env={"SSLKEYLOGFILE": str(client_log)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"appending TLS secrets to {client_log} (SSLKEYLOGFILE)" in result.stderr
    server.wait_for(r"closed cleanly")
    client_lines = keylog_lines(client_log)
    assert {label for label, _, _ in client_lines} == KEYLOG_LABELS
    assert len(client_lines) == len(KEYLOG_LABELS)
    assert {random for _, random, _ in client_lines} == {relay.client_random()}
    assert set(keylog_lines(server_log)) == set(client_lines)
    assert server_log.stat().st_mode & 0o077 == 0


def test_unwritable_session_and_key_log_files(
    start_server, test_pki: pki.TestPKI, tmp_path: Path
) -> None:
    _, port = start_server("--www", *cert_args(test_pki.leaves["ecdsa-p256"]))
    client = ["client", f"localhost:{port}", "--cafile", str(test_pki.ca_path)]
    result = run(*client, "--sess-out", str(tmp_path), stdin=GET)  # a directory
    assert result.returncode == 1
    assert f"cannot write session file {tmp_path}" in one_line(result.stderr)
    result = run(*client, "--keylog", str(tmp_path / "missing" / "keys"), stdin=GET)
    assert result.returncode == 2
    assert "cannot open key log file" in one_line(result.stderr)


def test_early_data_from_a_file_is_accepted_then_sent_late_without_a_session(
    start_server, test_pki: pki.TestPKI, tmp_path: Path
) -> None:
    server, port = start_server("--echo", "--early-data", *cert_args(test_pki.leaves["ecdsa-p256"]))
    session, early = tmp_path / "session.bin", tmp_path / "early.txt"
    early.write_bytes(b"zero round trip\n")
    client = ["client", f"localhost:{port}", "--cafile", str(test_pki.ca_path), "--half-close"]
    first = run(*client, "--sess-out", str(session), stdin=b"")
    assert first.returncode == 0, first.stderr
    second = run(*client, "--sess-in", str(session), "--early-data", str(early), stdin=b"")
    assert second.returncode == 0, second.stderr
    assert re.search(r"\* early data +accepted \(16 bytes sent as 0-RTT\)", second.stderr)
    assert second.stdout == "zero round trip\n"  # echoed back
    server.wait_for(r"resumed.*0-RTT accepted|0-RTT accepted.*resumed")
    # Without a session the data is not lost: it goes after the handshake.
    third = run(*client, "--early-data", str(early), stdin=b"")
    assert third.returncode == 0, third.stderr
    assert "needs a session (--sess-in)" in third.stderr
    assert re.search(
        r"\* early data +not accepted: sending its 16 bytes after the handshake", third.stderr
    )
    assert third.stdout == "zero round trip\n"


def test_external_psk_on_both_sides(start_server, test_pki: pki.TestPKI) -> None:
    psk = "cli-test:" + "a5" * 32
    server, port = start_server("--echo", "--psk", psk, *cert_args(test_pki.leaves["ecdsa-p256"]))
    client = ["client", f"localhost:{port}", "--cafile", str(test_pki.ca_path), "--half-close"]
    result = run(*client, "--psk", psk, stdin=b"psk data\n")
    assert result.returncode == 0, result.stderr
    assert re.search(
        r"\* certificate +none: authenticated with the external PSK 'cli-test'", result.stderr
    )
    assert re.search(r"\* resumed +no \(external PSK\)", result.stderr)
    assert "subject" not in result.stderr
    assert result.stdout == "psk data\n"
    server.wait_for("external PSK cli-test")
    wrong = run(*client, "--psk", "cli-test:" + "00" * 32, stdin=b"x")
    assert wrong.returncode != 0 and "decrypt_error" in wrong.stderr
    bad = run(*client, "--psk", "no-colon")
    assert bad.returncode == 2 and "--psk" in bad.stderr
