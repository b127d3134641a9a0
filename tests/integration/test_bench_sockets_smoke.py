"""Smoke test for ``benchmarks/sockets.py``: both sides' clients and servers run over loopback,
negotiate what the benchmark intends and report positive figures. No timing assertions (the
latency regression it would show is tested in test_socket_close_latency.py)."""

from __future__ import annotations

import pytest

from bench_script import quick_json_report


@pytest.mark.timeout(300)
def test_quick_json_report_has_both_figures_for_both_sides() -> None:
    report = quick_json_report("sockets.py")
    rows = {row["name"]: row for row in report["results"]}
    assert set(rows) == {"request_response", "bulk"}
    for row in rows.values():
        for side in ("stdlib", "tlsmachine"):
            assert row[side] > 0
            assert len(row["samples"][side]) == report["repeat"]
            assert all(sample > 0 for sample in row["samples"][side])
        assert row["ratio"] == pytest.approx(row["tlsmachine"] / row["stdlib"])
    for side in ("stdlib", "tlsmachine"):
        assert report["negotiated"][side] == {
            "version": "TLSv1.3",
            "suite": "TLS_AES_128_GCM_SHA256",
        }
