"""Smoke test for the TLS 1.2 cases of ``benchmarks/run.py`` (``--tls12``): both sides
negotiate TLS 1.2 as intended, every figure is positive, and every "resumed" handshake really
resumed and kept its session. No timing assertions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "run.py"
CASES = {
    "tls12-handshake-ecdsa-p256": "full",
    "tls12-handshake-rsa-2048": "full",
    "tls12-resumed-session-id": "resumed-session-id",
    "tls12-resumed-ticket": "resumed-ticket",
}


@pytest.mark.timeout(600)
def test_tls12_cases_report_every_figure() -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", "--only", *CASES],
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    results = {r["name"]: r for r in json.loads(proc.stdout)["results"]}
    assert set(results) == set(CASES)
    for name, mode in CASES.items():
        row = results[name]
        assert row["ratio"] > 0 and row["tlsmachine"] > 0 and row["stdlib"] > 0, name
        for side in ("tlsmachine", "stdlib"):
            negotiated = row["negotiated"][side]
            assert negotiated["version"] == "TLSv1.2", (name, side)
            assert negotiated["handshake"] == mode, (name, side)
            assert negotiated["ems"] == "yes", (name, side)
        if mode != "full":
            counts = row["resumed"]
            assert counts["handshakes"] > 0
            for side in ("tlsmachine", "stdlib"):
                assert counts[side] == {
                    "resumed": counts["handshakes"],
                    "session_kept": counts["handshakes"],
                }, (name, side)
