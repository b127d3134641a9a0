"""Two TLS scanners that administrators point at servers scan ``tlsmachine server``.

Both scan the command-line server with the RSA-2048 and ECDSA P-256 test chains (``--www``,
0-RTT on), and their JSON findings are checked one by one. Each makes a few hundred
connections, many malformed on purpose; each ends only its own connection, so the server still
serves afterwards.

* testssl.sh (Debian's ``testssl.sh`` 3.0; raw sockets and the system's ``openssl``),
  ``--protocols --vulnerable``: SSL 2.0, SSL 3.0, TLS 1.0 and 1.1 refused (RFC 6176, RFC 7568,
  RFC 8996), TLS 1.2 and 1.3 offered, every vulnerability check "not vulnerable" (Heartbleed,
  the CCS injection, Ticketbleed, ROBOT, secure renegotiation per RFC 5746, CRIME, POODLE,
  SWEET32, FREAK, DROWN, Logjam, BEAST, Lucky13, RC4, TLS_FALLBACK_SCSV of RFC 7507). The real
  ClientHellos of its client simulation are replayed in memory by
  ``tests/integration/test_client_hello_corpus.py``.
* sslyze 6 (in its own venv, ``.peers/sslyze``; its TLS is nassl, its own OpenSSL builds): the
  suites accepted per version (exactly our AEAD suites), the groups (exactly ours), no
  compression, CCS injection, Heartbleed or ROBOT, secure renegotiation, TLS_FALLBACK_SCSV,
  the extended master secret (RFC 7627), TLS 1.2 resumption by session ID and by ticket
  (RFC 5077), and TLS 1.3 early data accepted (RFC 8446 §4.2.10).

``make peers`` installs both.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from peers import TIMEOUT, PeerProcess, Peers, tool

from tlsmachine.crypto.suites import DEFAULT_TLS12_SUITES, DEFAULT_TLS13_SUITES

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


REPO = Path(__file__).resolve().parents[2]
SSLYZE = REPO / ".peers" / "sslyze" / "bin" / "sslyze"
SSLYZE_CHECKS = [
    "--sslv2",
    "--sslv3",
    "--tlsv1",
    "--tlsv1_1",
    "--tlsv1_2",
    "--tlsv1_3",
    "--compression",
    "--openssl_ccs",
    "--heartbleed",
    "--robot",
    "--reneg",
    "--fallback",
    "--elliptic_curves",
    "--ems",
    "--resum",
    "--early_data",
]


def serve(peers: Peers) -> tuple[PeerProcess, int]:
    """``tlsmachine server --www --early-data`` with the RSA-2048 and ECDSA P-256 chains."""
    argv = [sys.executable, "-m", "tlsmachine", "server", "--port", "0", "--www", "--early-data"]
    argv += ["--timeout", str(TIMEOUT)]
    for name in ("rsa-2048", "ecdsa-p256"):
        leaf = peers.pki.leaves[name]
        argv += ["--cert", str(leaf.chain_path), "--key", str(leaf.key_path)]
    server = peers.start(argv, "tlsmachine server")
    return server, int(server.wait_for(r"listening on 127\.0\.0\.1:(\d+)").group(1))


def run_testssl(peers: Peers, port: int, report: Path, *checks: str) -> dict[str, dict[str, str]]:
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
    findings = run_testssl(peers, port, tmp_path / "testssl.json", "--protocols", "--vulnerable")
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


def run_sslyze(peers: Peers, port: int, report: Path) -> dict[str, dict[str, object]]:
    """Run sslyze's checks (:data:`SSLYZE_CHECKS`) and return its results by scan command."""
    assert SSLYZE.exists(), f"{SSLYZE} is missing: run `make peers`"
    argv = [str(SSLYZE), "--quiet", *SSLYZE_CHECKS, "--json_out", str(report)]
    scanner = peers.start([*argv, f"127.0.0.1:{port}"], "sslyze")
    assert scanner.wait(SCAN_TIMEOUT) == 0, scanner.describe()
    (server,) = json.loads(report.read_text())["server_scan_results"]
    assert server["scan_status"] == "COMPLETED", server
    results: dict[str, dict[str, object]] = {}
    for command, attempt in server["scan_result"].items():
        if attempt is not None and attempt["status"] != "NOT_SCHEDULED":
            assert attempt["status"] == "COMPLETED", (command, attempt)
            results[command] = attempt["result"]
    return results


def accepted(result: dict[str, object]) -> set[str]:
    suites = result["accepted_cipher_suites"]
    assert isinstance(suites, list)
    return {entry["cipher_suite"]["name"] for entry in suites}


def test_sslyze_sees_our_suites_groups_resumption_and_early_data(
    peers: Peers, tmp_path: Path
) -> None:
    server, port = serve(peers)
    results = run_sslyze(peers, port, tmp_path / "sslyze.json")
    for old in ("ssl_2_0", "ssl_3_0", "tls_1_0", "tls_1_1"):
        assert accepted(results[f"{old}_cipher_suites"]) == set(), old
    assert accepted(results["tls_1_2_cipher_suites"]) == {s.name for s in DEFAULT_TLS12_SUITES}
    assert accepted(results["tls_1_3_cipher_suites"]) == {s.name for s in DEFAULT_TLS13_SUITES}
    curves = results["elliptic_curves"]
    names = {c["name"] for c in curves["supported_curves"]}  # type: ignore[attr-defined]
    assert names == {"X25519", "X448", "secp256r1", "secp384r1", "secp521r1"}, curves
    assert results["tls_compression"] == {"supports_compression": False}
    assert results["openssl_ccs_injection"] == {"is_vulnerable_to_ccs_injection": False}
    assert results["heartbleed"] == {"is_vulnerable_to_heartbleed": False}
    assert results["robot"] == {"robot_result": "NOT_VULNERABLE_RSA_NOT_SUPPORTED"}
    assert results["tls_fallback_scsv"] == {"supports_fallback_scsv": True}
    assert results["tls_extended_master_secret"] == {"supports_ems_extension": True}
    renegotiation = results["session_renegotiation"]
    assert renegotiation["supports_secure_renegotiation"] is True, renegotiation
    assert renegotiation["is_vulnerable_to_client_renegotiation_dos"] is False, renegotiation
    resumption = results["session_resumption"]
    assert resumption["session_id_resumption_result"] == "FULLY_SUPPORTED", resumption
    assert resumption["tls_ticket_resumption_result"] == "FULLY_SUPPORTED", resumption
    assert results["tls_1_3_early_data"] == {"supports_early_data": True}
    assert server.proc.poll() is None, server.describe()
    assert "Traceback" not in server.output, server.describe()
