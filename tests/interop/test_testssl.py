"""testssl.sh scans ``tlsmachine server``: protocols offered and the known TLS vulnerabilities.

testssl.sh (Debian's ``testssl.sh`` 3.0, installed by ``make peers``) is a scanner that
administrators point at servers: it probes over raw sockets and with the system's ``openssl``.
Here it scans the command-line server (RSA and ECDSA certificates, ``--www``) with
``--protocols`` and ``--vulnerable``, and its JSON findings are checked one by one: SSL 2.0, SSL
3.0, TLS 1.0 and 1.1 refused (RFC 6176, RFC 7568, RFC 8996), TLS 1.2 and 1.3 offered, every
vulnerability check "not vulnerable" (Heartbleed, the CCS injection, Ticketbleed, ROBOT,
secure renegotiation per RFC 5746, CRIME, POODLE, SWEET32, FREAK, DROWN, Logjam, BEAST,
Lucky13, RC4, TLS_FALLBACK_SCSV of RFC 7507). A few hundred connections, many of them malformed
on purpose, end only their own connection: the server still serves afterwards.

The real ClientHellos of testssl.sh's client simulation are replayed in memory by
``tests/integration/test_client_hello_corpus.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from peers import TIMEOUT, PeerProcess, Peers, tool

pytestmark = [pytest.mark.interop, pytest.mark.timeout(300)]

SCAN_TIMEOUT = 240.0
NOT_VULNERABLE = [
    "heartbleed",
    "CCS",
    "ticketbleed",
    "ROBOT",
    "secure_renego",
    "secure_client_renego",
    "CRIME_TLS",
    "POODLE_SSL",
    "fallback_SCSV",
    "SWEET32",
    "FREAK",
    "DROWN",
    "LOGJAM",
    "BEAST",
    "LUCKY13",
    "RC4",
]
BAD_SEVERITIES = {"LOW", "MEDIUM", "HIGH", "CRITICAL", "WARN", "FATAL"}


def serve(peers: Peers) -> tuple[PeerProcess, int]:
    """``tlsmachine server --www`` with the RSA-2048 and ECDSA P-256 test chains."""
    argv = [sys.executable, "-m", "tlsmachine", "server", "--port", "0", "--www"]
    argv += ["--timeout", str(TIMEOUT)]
    for name in ("rsa-2048", "ecdsa-p256"):
        leaf = peers.pki.leaves[name]
        argv += ["--cert", str(leaf.chain_path), "--key", str(leaf.key_path)]
    server = peers.start(argv, "tlsmachine server")
    return server, int(server.wait_for(r"listening on 127\.0\.0\.1:(\d+)").group(1))


def scan(peers: Peers, port: int, report: Path, *checks: str) -> dict[str, dict[str, str]]:
    """Run testssl.sh with ``checks`` and return its findings by id."""
    argv = [tool("testssl"), "--quiet", "--warnings", "off", "--color", "0", "--nodns", "min"]
    argv += [*checks, "--jsonfile", str(report), f"127.0.0.1:{port}"]
    scanner = peers.start(argv, "testssl")
    scanner.wait(SCAN_TIMEOUT)  # its exit status counts findings, not failures
    findings = json.loads(report.read_text())
    assert findings, scanner.describe()
    by_id = {f["id"]: f for f in findings}
    assert "scanProblem" not in by_id, by_id["scanProblem"]
    return by_id


def test_testssl_finds_only_tls12_and_tls13_and_no_vulnerability(
    peers: Peers, tmp_path: Path
) -> None:
    server, port = serve(peers)
    findings = scan(peers, port, tmp_path / "testssl.json", "--protocols", "--vulnerable")
    offered = {name: findings[name]["finding"] for name in ("SSLv2", "SSLv3", "TLS1", "TLS1_1")}
    assert all(text.startswith("not offered") for text in offered.values()), offered
    assert findings["TLS1_2"]["finding"] == "offered"
    assert findings["TLS1_3"]["finding"] == "offered with final"
    verdicts = {
        name: (findings[name]["severity"], findings[name]["finding"]) for name in NOT_VULNERABLE
    }
    assert all(severity == "OK" for severity, _ in verdicts.values()), verdicts
    bad = {f["id"]: f["finding"] for f in findings.values() if f["severity"] in BAD_SEVERITIES}
    assert not bad, bad
    assert server.proc.poll() is None, server.describe()  # still serving after the scan
    assert "Traceback" not in server.output, server.describe()
