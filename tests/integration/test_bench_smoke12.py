"""Smoke test for the TLS 1.2 cases of ``benchmarks/run.py`` (``--tls12``): both sides
negotiate TLS 1.2 as intended, every figure is positive, and every "resumed" handshake really
resumed and kept its session. No timing assertions."""

from __future__ import annotations

import pytest

from bench_script import quick_json_report

CASES = {
    "tls12-handshake-ecdsa-p256": "full",
    "tls12-handshake-rsa-2048": "full",
    "tls12-resumed-session-id": "resumed-session-id",
    "tls12-resumed-ticket": "resumed-ticket",
}


@pytest.mark.timeout(600)
def test_tls12_cases_report_every_figure() -> None:
    report = quick_json_report("run.py", "--only", *CASES)
    results = {r["name"]: r for r in report["results"]}
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
