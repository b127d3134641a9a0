"""Smoke test for ``benchmarks/concurrency.py``: a small run (20 connections) to the end.

No timing assertions: both servers (stdlib asyncio + ssl, tlsmachine.asyncio) must hold every
connection at once, echo every byte, close cleanly and report zero errors; the report must have
positive figures and ratios for both sides.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "concurrency.py"
CONNECTIONS = 20


@pytest.mark.timeout(300)
@pytest.mark.parametrize("client", ["stdlib", "same"])
def test_small_run_reports_both_sides_without_errors(client: str) -> None:
    argv = [str(SCRIPT), "--connections", str(CONNECTIONS), "--client", client, "--json"]
    proc = subprocess.run(
        [sys.executable, *argv, "--timeout", "120"],
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    report = json.loads(proc.stdout)
    assert report["config"]["connections"] == CONNECTIONS
    assert report["config"]["client"] == client
    for side in ("stdlib", "tlsmachine"):
        row = report["sides"][side]
        assert row["errors"] == 0, (side, row["runs"])
        assert row["max_concurrent"] == CONNECTIONS  # all held open at the same time
        assert row["connections_per_s"] > 0
        assert row["peak_rss_mib"] >= row["baseline_rss_mib"] > 0
        assert row["negotiated"]["version"] == "TLSv1.3"
        (run,) = row["runs"]
        assert run["load"]["ok"] == CONNECTIONS
        assert run["server"]["completed"] == CONNECTIONS
        expected_client = side if client == "same" else "stdlib"
        assert run["load"]["client"] == expected_client
    # tlsmachine's server sees each client's close_notify (stdlib's API cannot tell)
    assert report["sides"]["tlsmachine"]["runs"][0]["server"]["clean_closes"] == CONNECTIONS
    for name in ("connections_per_s", "peak_rss", "server_cpu_per_connection"):
        assert report["ratios"][name] > 0, name
