"""Smoke test for ``benchmarks/sides.py``: both implementations finish their handshakes and
each side of each reports a positive time. No timing assertions."""

from __future__ import annotations

import pytest

from bench_script import quick_json_report


@pytest.mark.timeout(300)
def test_quick_json_report_times_both_sides_of_both_implementations() -> None:
    results = quick_json_report("sides.py")
    assert [r["case"] for r in results] == ["handshake-ecdsa-p256", "handshake-rsa-2048"]
    for result in results:
        for name in ("tlsmachine", "stdlib"):
            for part in ("client", "server"):
                assert result["us_per_handshake"][name][part] > 0
                assert len(result["samples"][name][part]) == 2  # --quick: two runs
