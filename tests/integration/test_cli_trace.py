"""``tlsmachine client|server --trace`` and the client's summary, as real processes over loopback.

The client prints its trace lines (``->`` sent, ``<-`` received) to stderr as they happen, then
the summary block; the server prefixes each connection's lines with ``#N``. Both sides of one
connection must show the same messages in the same order, with the arrows reversed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: pki.py
import pki

pytestmark = pytest.mark.timeout(90)

TIMEOUT = 20.0
CLI = [sys.executable, "-m", "tlsmachine"]
ENV = {k: v for k, v in os.environ.items() if k != "SSLKEYLOGFILE"} | {"PYTHONUNBUFFERED": "1"}

TLS13_CLIENT = [
    "-> ClientHello",
    "<- ServerHello",
    "<- ChangeCipherSpec",  # RFC 8446 Appendix D.4 compatibility mode, both ways
    "<- EncryptedExtensions",
    "<- Certificate",
    "<- CertificateVerify",
    "<- Finished",
    "-> ChangeCipherSpec",
    "-> Finished",
    "<- NewSessionTicket",
    "<- NewSessionTicket",
]
TLS12_CLIENT = [
    "-> ClientHello",
    "<- ServerHello",
    "<- Certificate",
    "<- ServerKeyExchange",
    "<- ServerHelloDone",
    "-> ClientKeyExchange",
    "-> ChangeCipherSpec",
    "-> Finished",
    "<- NewSessionTicket",
    "<- ChangeCipherSpec",
    "<- Finished",
]
CLOSE_NOTIFY = "<- Alert  level=warning description=close_notify"
OUR_CLOSE_NOTIFY = "-> Alert  level=warning description=close_notify"


class Server:
    """``tlsmachine server --trace`` on a free port; stderr collected by a thread."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [*CLI, "server", "--port", "0", "--timeout", "10", "--trace", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=ENV,
        )
        self._stderr = bytearray()
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port = int(self.wait_for(r"listening on 127\.0\.0\.1:(\d+)").group(1))

    def _read(self) -> None:
        assert self.proc.stderr is not None
        fd = self.proc.stderr.fileno()
        while chunk := os.read(fd, 65536):
            with self._changed:
                self._stderr += chunk
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def stderr(self) -> str:
        with self._changed:
            return self._stderr.decode("utf-8", "replace")

    def wait_for(self, pattern: str) -> re.Match[str]:
        deadline = time.monotonic() + TIMEOUT
        with self._changed:
            while not (match := re.search(pattern, self._stderr.decode("utf-8", "replace"))):
                left = deadline - time.monotonic()
                if left <= 0 or not self._reader.is_alive():
                    raise AssertionError(f"no {pattern!r} in the server's stderr:\n{self.stderr}")
                self._changed.wait(min(left, 0.2))
        return match

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self._reader.join(5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@pytest.fixture(scope="module")
def chained(tmp_path_factory: pytest.TempPathFactory) -> pki.TestPKI:
    """A root CA, an intermediate and an ECDSA leaf: the summary shows a chain of two."""
    directory = tmp_path_factory.mktemp("cli-trace-pki")
    return pki.make_pki(directory, intermediate=True, key_types=("ecdsa-p256",))


@pytest.fixture
def server(chained: pki.TestPKI) -> Iterator[Server]:
    leaf = chained.leaves["ecdsa-p256"]
    started = Server(
        "--echo", "--cert", str(leaf.chain_path), "--key", str(leaf.key_path),
        "--alpn", "http/1.1",
    )  # fmt: skip
    yield started
    started.stop()


def client(
    chained: pki.TestPKI, port: int, *args: str, stdin: bytes = b"ping\n"
) -> tuple[int, str, str]:
    done = subprocess.run(
        [*CLI, "client", f"127.0.0.1:{port}", "--servername", "localhost", "--cafile",
         str(chained.ca_path), "--timeout", "10", "--half-close", *args],
        input=stdin, capture_output=True, timeout=TIMEOUT, env=ENV, check=False,
    )  # fmt: skip
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def trace_lines(text: str, prefix: str = "") -> list[str]:
    """The trace lines (``->`` or ``<-`` after ``prefix``), prefix removed, in order."""
    return [
        line.removeprefix(prefix)
        for line in text.splitlines()
        if line.startswith((prefix + "-> ", prefix + "<- "))
    ]


def heads(lines: list[str]) -> list[str]:
    return [" ".join(line.split()[:2]) for line in lines]


def flipped(lines: list[str]) -> list[str]:
    swap = {"->": "<-", "<-": "->"}
    return [swap[line[:2]] + line[2:] for line in lines]


def server_trace(server: Server, client_port: str) -> list[str]:
    """The server's trace of the connection from ``client_port``, found by its ``#N``."""
    number = server.wait_for(rf"(#\d+) 127\.0\.0\.1:{client_port}: closed cleanly").group(1)
    return trace_lines(server.stderr, number + " ")


def row(stderr: str, name: str) -> str:
    match = re.search(rf"^\* {name} +(.+)$", stderr, re.MULTILINE)
    assert match, f"no {name!r} row in:\n{stderr}"
    return match.group(1)


def test_tls13_trace_on_both_sides_and_the_summary(server: Server, chained: pki.TestPKI) -> None:
    status, stdout, stderr = client(chained, server.port, "--trace", "--alpn", "h2,http/1.1")
    assert status == 0, stderr
    assert stdout == "ping\n"
    trace = trace_lines(stderr)
    handshake = len(TLS13_CLIENT) - 2  # up to our Finished; the tickets follow
    assert heads(trace)[:handshake] == TLS13_CLIENT[:handshake], stderr
    # the tickets, our half-close at stdin's end and the server's answer: the first three in
    # the order the network and stdin happened to deliver them
    after = heads(trace)[handshake:]
    assert sorted(after) == sorted(["<- NewSessionTicket"] * 2 + ["-> Alert", "<- Alert"])
    assert OUR_CLOSE_NOTIFY in trace and trace[-1] == CLOSE_NOTIFY, stderr
    hello, server_hello, ccs, ee, certificate, verify, finished = trace[:7]
    assert ccs == "<- ChangeCipherSpec"
    assert hello.startswith("-> ClientHello  versions=[TLSv1.3,TLSv1.2] suites=[TLS_AES_128_")
    fields = ("key_share=[x25519mlkem768,x25519]", "alpn=[h2,http/1.1]", "sni=localhost")
    for field in (*fields, "session_id=32B"):
        assert f" {field}" in hello, hello
    assert re.search(r" groups=\[x25519mlkem768,x25519,secp256r1,[^ ]*\]", hello)
    assert re.search(r" sigalgs=\[ecdsa_p256_sha256,[^ ]*\]", hello)
    assert server_hello == (
        "<- ServerHello  version=TLSv1.3 suite=TLS_AES_128_GCM_SHA256 key_share=x25519mlkem768 "
        "session_id=32B"
    )
    assert " alpn=http/1.1" in ee
    leaf = chained.leaves["ecdsa-p256"]
    subject = leaf.cert.subject.rfc4514_string()
    assert certificate == f"<- Certificate  certs=2 leaf={subject}"
    assert verify.startswith("<- CertificateVerify  scheme=ecdsa_secp256r1_sha256 signature=")
    assert finished == "<- Finished  verify_data=32B"
    assert trace[8] == "-> Finished  verify_data=32B"

    # the server saw the same messages, the other way round, and logged one line for them
    line = server.wait_for(r"(#\d+) (127\.0\.0\.1:(\d+)): TLSv1\.3, .*\n")
    theirs = server_trace(server, line.group(3))
    assert (
        theirs[: len(TLS13_CLIENT)]
        == flipped(trace[:handshake])
        + ["-> NewSessionTicket  lifetime=7200s ticket=106B nonce=2B"] * 2
    )
    # our half-close, then the server's own close_notify (sent by close() after its last read)
    assert theirs[-2:] == [CLOSE_NOTIFY, OUR_CLOSE_NOTIFY]
    assert "ALPN http/1.1, server name localhost" in line.group(0)

    # the summary: negotiated parameters, then the chain with subjects, issuers and validity
    assert row(stderr, "version") == "TLSv1.3"
    assert row(stderr, "cipher suite") == "TLS_AES_128_GCM_SHA256"
    assert row(stderr, "group") == "X25519MLKEM768"  # the default hybrid, in one round trip
    assert row(stderr, "signature") == "ecdsa_secp256r1_sha256"
    assert row(stderr, "ALPN") == "http/1.1"
    assert row(stderr, "server name") == "localhost"
    assert row(stderr, "hello retry") == "no"
    assert row(stderr, "resumed") == "no (full handshake)"
    assert row(stderr, "early data") == "none"
    assert row(stderr, "certificate") == "verified, chain of 2"
    intermediate = leaf.chain[1]
    expected = [
        f"*   [0] subject  {subject}",
        f"*       issuer   {intermediate.subject.rfc4514_string()}",
        f"*   [1] subject  {intermediate.subject.rfc4514_string()}",
        f"*       issuer   {chained.ca.cert.subject.rfc4514_string()}",
    ]
    lines = stderr.splitlines()
    positions = [lines.index(item) for item in expected]
    assert positions == sorted(positions), stderr
    validity = [line for line in lines if line.startswith("*       valid    ")]
    assert len(validity) == 2
    not_after = leaf.cert.not_valid_after_utc
    assert f".. {not_after:%Y-%m-%d %H:%M:%S} UTC (" in validity[0]
    days = re.search(r"\((\d+) days left\)$", validity[0])
    assert days and 28 <= int(days.group(1)) <= 30, validity[0]  # make_pki: now + 30 days
    assert "days left" not in validity[1]  # only for the leaf
    # the trace came as it happened: the handshake before the summary
    assert lines.index(trace[8]) < lines.index("* version       TLSv1.3")


def test_tls12_trace_on_both_sides(server: Server, chained: pki.TestPKI) -> None:
    status, stdout, stderr = client(chained, server.port, "--trace", "--max-version", "1.2")
    assert status == 0, stderr
    assert stdout == "ping\n"
    trace = trace_lines(stderr)
    assert heads(trace) == [*TLS12_CLIENT, "-> Alert", "<- Alert"], stderr
    assert trace[-2:] == [OUR_CLOSE_NOTIFY, CLOSE_NOTIFY]
    assert trace[0].startswith("-> ClientHello  version=TLSv1.2 suites=[TLS_ECDHE_ECDSA_WITH_")
    assert " sni=localhost" in trace[0] and " ems" in trace[0]
    assert trace[1].startswith(
        "<- ServerHello  version=TLSv1.2 suite=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 "
    )
    assert trace[1].endswith(" downgrade_sentinel=TLSv1.2")  # the server also speaks TLS 1.3
    assert trace[3] == "<- ServerKeyExchange  group=x25519 public=32B scheme=ecdsa_secp256r1_sha256"
    assert trace[5] == "-> ClientKeyExchange  public=32B"
    assert trace[7] == trace[10].replace("<-", "->") == "-> Finished  verify_data=12B"
    assert row(stderr, "version") == "TLSv1.2"
    assert row(stderr, "cipher suite") == "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"

    line = server.wait_for(r"(#\d+) (127\.0\.0\.1:(\d+)): TLSv1\.2, .*\n")
    theirs = server_trace(server, line.group(3))
    assert theirs[: len(TLS12_CLIENT)] == flipped(trace[: len(TLS12_CLIENT)])
    assert theirs[-2:] == [CLOSE_NOTIFY, OUR_CLOSE_NOTIFY]  # RFC 5246 §7.2.1: answered at once


def test_connections_are_numbered_and_no_trace_without_the_option(
    server: Server, chained: pki.TestPKI
) -> None:
    first = client(chained, server.port)
    second = client(chained, server.port)
    for status, _, stderr in (first, second):
        assert status == 0, stderr
        assert trace_lines(stderr) == []  # the client was not asked to trace
        assert row(stderr, "version") == "TLSv1.3"
    server.wait_for(r"#2 127\.0\.0\.1:\d+: closed cleanly")
    numbers = re.findall(r"^(#\d+) <- ClientHello  ", server.stderr, re.MULTILINE)
    assert numbers == ["#1", "#2"]


def test_a_failed_handshake_traces_the_alert_on_both_sides(chained: pki.TestPKI) -> None:
    leaf = chained.leaves["ecdsa-p256"]
    strict = Server(
        "--echo", "--cert", str(leaf.chain_path), "--key", str(leaf.key_path),
        "--verify-client", "required", "--client-cafile", str(chained.ca_path),
    )  # fmt: skip
    try:
        status, _, stderr = client(chained, strict.port, "--trace")
        assert status == 1
        trace = trace_lines(stderr)
        assert "<- CertificateRequest" in heads(trace)
        assert "-> Certificate  certs=0" in trace  # we have none to give
        assert trace[-1] == "<- Alert  level=fatal description=certificate_required", stderr
        assert "tlsmachine: error: " in stderr
        strict.wait_for(r"#1 -> Alert  level=fatal description=certificate_required\n")
        strict.wait_for(r"#1 127\.0\.0\.1:\d+: failed: .*certificate_required")
        server_lines = trace_lines(strict.stderr, "#1 ")
        assert heads(server_lines)[:2] == ["<- ClientHello", "-> ServerHello"]
    finally:
        strict.stop()
