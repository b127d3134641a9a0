"""Smoke test for ``benchmarks/run.py``: it runs to the end and reports every figure.

No timing assertions: this only checks that both sides complete the handshakes and transfers,
negotiate what the benchmark intends, and produce positive numbers; in the resumed-handshake
cases, that every handshake really resumed and brought the next one's ticket.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from bench_script import BENCHMARKS, quick_json_report

CASES = {
    "handshake-ecdsa-p256",
    "handshake-rsa-2048",
    "resumed-ecdsa-p256",
    "resumed-rsa-2048",
    "bulk-aes-128-gcm",
    "bulk-chacha20-poly1305",
}
RESUMED = {name for name in CASES if name.startswith("resumed-")}


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


@pytest.mark.timeout(600)
def test_quick_json_report_has_every_figure() -> None:
    report = quick_json_report("run.py")
    results = {r["name"]: r for r in report["results"]}
    assert set(results) == CASES
    for name, row in results.items():
        for key in ("tlsmachine", "stdlib", "ratio", "ratio_paired", "target"):
            assert _positive(row[key]), (name, key, row[key])
        for side in ("tlsmachine", "stdlib"):
            assert row["samples"][side], (name, side)
            assert all(_positive(s) for s in row["samples"][side]), (name, side)
            negotiated = row["negotiated"][side]
            assert negotiated["version"] == "TLSv1.3"
            assert negotiated["group"] == "x25519"
        suite = "TLS_CHACHA20_POLY1305_SHA256" if "chacha" in name else "TLS_AES_128_GCM_SHA256"
        assert row["negotiated"]["tlsmachine"]["suite"] == suite
        assert row["negotiated"]["stdlib"]["suite"] == suite
        assert isinstance(row["pass"], bool)
        mode = "psk_dhe_ke" if name in RESUMED else "full"
        for side in ("tlsmachine", "stdlib"):
            assert row["negotiated"][side]["handshake"] == mode, (name, side)
    for name in RESUMED:
        _assert_every_handshake_resumed(results[name])


def _assert_every_handshake_resumed(row: dict[str, Any]) -> None:
    """Read off the wire (pre_shared_key in the ServerHello), from each API (tlsmachine
    ``HandshakeComplete.resumed``, stdlib ``session_reused``), and counted per handshake."""
    name = row["name"]
    assert row["unit"] == "handshakes/s"
    checked = row["resumed"]
    assert checked["handshakes"] > 0  # warm-up + repeat x handshakes per run
    for side, api in (("tlsmachine", "resumed=True"), ("stdlib", "session_reused=True")):
        negotiated = row["negotiated"][side]
        assert negotiated["handshake"] == "psk_dhe_ke", (name, side, negotiated)
        assert negotiated["api"].endswith(api), (name, side, negotiated)
        # every handshake, warm-up included, resumed and received the next one's ticket
        counts = dict(checked[side])
        getter_ns = counts.pop("session_getter_ns")
        assert counts == {"resumed": checked["handshakes"], "tickets": checked["handshakes"]}
        # the stdlib client took each new session through SSLObject.session, timed apart
        assert (getter_ns > 0) == (side == "stdlib"), (side, getter_ns)


@pytest.mark.timeout(300)
def test_record_floor_quick_json_measures_every_side() -> None:
    """``benchmarks/record_floor.py``: the four sides move all their records (the script fails
    otherwise) and the TLS ones negotiate the intended suite, one process per suite."""
    results = {r["case"]: r for r in quick_json_report("record_floor.py", timeout=240)}
    assert set(results) == {"bulk-aes-128-gcm", "bulk-chacha20-poly1305"}
    for name, row in results.items():
        assert set(row["mb_per_s"]) == {"stdlib", "tlsmachine", "aead", "floor"}
        assert all(_positive(v) for v in row["mb_per_s"].values()), row
        assert row["ratio_to_stdlib"]["stdlib"] == 1.0
        suite = "TLS_CHACHA20_POLY1305_SHA256" if "chacha" in name else "TLS_AES_128_GCM_SHA256"
        for side in ("stdlib", "tlsmachine"):
            assert row["negotiated"][side]["suite"] == suite, (name, side)


@pytest.mark.timeout(300)
def test_rounds_of_fresh_worker_processes_pool_their_samples() -> None:
    """``--processes 3``: three rounds of new workers per case; the samples of all of them
    make the figures, and every handshake of every worker (warm-ups included) is counted."""
    (row,) = quick_json_report("run.py", "--only", "resumed-ecdsa-p256", "--processes", "3",
                               "--repeat", "4")["results"]  # fmt: skip
    assert row["processes"] == 3
    for side in ("tlsmachine", "stdlib"):
        assert len(row["samples"][side]) == 4  # rounds of 2, 1 and 1 runs
    handshakes = row["resumed"]["handshakes"]
    assert handshakes == 3 * 1 + 4 * 5  # a warm-up handshake per worker, 5 per run (--quick)
    _assert_every_handshake_resumed(row)


def test_rounds_split_the_runs_evenly() -> None:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import run
    finally:
        sys.path.remove(str(BENCHMARKS))
    assert run.rounds_of(9, 3) == [3, 3, 3]
    assert run.rounds_of(7, 3) == [3, 2, 2]
    assert run.rounds_of(2, 3) == [1, 1]  # never a round without a run
    assert run.rounds_of(5, 1) == [5]
