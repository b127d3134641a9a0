"""Smoke test for ``benchmarks/sides.py``: both implementations finish their handshakes and
each side of each reports a positive time. No timing assertions."""

from __future__ import annotations

import pytest

from bench_script import quick_json_report


@pytest.mark.timeout(300)
def test_quick_json_report_times_both_sides_of_both_implementations() -> None:
    results = quick_json_report("sides.py")
    assert [r["case"] for r in results] == [
        "handshake-ecdsa-p256",
        "handshake-rsa-2048",
        "resumed-ecdsa-p256",
        "resumed-rsa-2048",
    ]
    for result in results:
        resumed = result["case"].startswith("resumed")
        us = result["us_per_handshake"]
        for name in ("tlsmachine", "stdlib"):
            for part in ("client", "server", "session"):
                assert len(result["samples"][name][part]) == 2  # --quick: two runs
            assert us[name]["client"] > 0
            assert us[name]["server"] > 0
        # only the stdlib client pays to hand its session on (SSLObject.session), only when
        # it resumes; tlsmachine's client stores the ticket inside receive_data()
        assert (us["stdlib"]["session"] > 0) == resumed
        assert us["tlsmachine"]["session"] == 0
