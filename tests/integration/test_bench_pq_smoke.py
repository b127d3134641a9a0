"""Smoke test for ``benchmarks/pq.py``: it runs to the end with tiny counts and reports every side.

No timing assertions: this only checks that all four sides (tlsmachine and pyOpenSSL, each with
X25519MLKEM768 and with x25519) complete their handshakes, negotiate the group the benchmark
intends (read off the ServerHello on the wire and from each API), and produce positive numbers
and the four ratios.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench_script import quick_json_report

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "pq.py"
SIDES = {
    "tlsmachine:X25519MLKEM768",
    "tlsmachine:x25519",
    "pyopenssl:X25519MLKEM768",
    "pyopenssl:x25519",
}


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


@pytest.mark.timeout(300)
def test_quick_json_report_has_every_side_and_ratio() -> None:
    report = quick_json_report("pq.py", timeout=240)
    sides = report["sides"]
    assert set(sides) == SIDES
    for name, side in sides.items():
        implementation, group = name.split(":")
        assert (side["implementation"], side["group"]) == (implementation, group)
        assert _positive(side["handshakes_per_s"]), (name, side)
        assert len(side["samples"]) == report["sizes"]["repeat"]
        assert all(_positive(s) for s in side["samples"]), name
        negotiated = side["negotiated"]
        # read off the ServerHello's key_share on the wire, and as the API reports it
        assert negotiated["version"] == "TLSv1.3", (name, negotiated)
        assert negotiated["suite"] == "TLS_AES_128_GCM_SHA256", (name, negotiated)
        assert negotiated["group"] == group, (name, negotiated)
        assert negotiated["handshake"] == "full", (name, negotiated)
        assert negotiated["api_group"].lower() == group.lower(), (name, negotiated)
    ratios = {r["name"]: r for r in report["ratios"]}
    assert len(ratios) == 4
    for name, ratio in ratios.items():
        assert {ratio["numerator"], ratio["denominator"]} <= SIDES, name
        assert _positive(ratio["ratio"]) and _positive(ratio["ratio_paired"]), name
        expected = (
            sides[ratio["numerator"]]["handshakes_per_s"]
            / sides[ratio["denominator"]]["handshakes_per_s"]
        )
        assert ratio["ratio"] == pytest.approx(expected), name
    env = report["environment"]
    assert env["pyopenssl_openssl"].startswith("OpenSSL 4"), env
    assert env["cryptography_openssl"] == env["pyopenssl_openssl"]  # the same library


def test_human_report_names_every_side() -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    for side in SIDES:
        assert side in proc.stdout, proc.stdout
    assert "tlsmachine / pyOpenSSL, X25519MLKEM768" in proc.stdout
