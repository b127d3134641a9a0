"""``benchmarks/instructions.py``: callgrind's output read right, and a quick run to the end.

The parser is checked on a hand-written file in callgrind's format (compressed names first
given on a ``cob=`` line, the inclusive cost after ``calls=`` that must not be counted); the
quick run checks that both sides of a case run under valgrind, negotiate what the benchmark
intends (the child fails otherwise) and yield positive counts that add up.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from bench_script import quick_json_report

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "instructions.py"

CALLGRIND_OUT = b"""\
# callgrind format
version: 1
creator: callgrind-3.19.0
events: Ir
summary: 1160

ob=(1) /usr/lib/libpython3.11.so.1.0
fl=(1) ceval.c
fn=(1) _PyEval_EvalFrameDefault
10 100
+2 50
cob=(2) /venv/site-packages/cryptography/hazmat/bindings/_rust.abi3.so
cfi=(2) ???
cfn=(2) aes_gcm_encrypt
calls=3 0
* 1000
-1 5

ob=(2)
fl=(2)
fn=(2)
0 1000

ob=(3) /usr/lib/x86_64-linux-gnu/libc.so.6
fl=(3) memcpy.S
fn=(3) __memcpy_avx_unaligned_erms
0 5

totals: 1160
"""


def _module() -> ModuleType:
    sys.path.insert(0, str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("bench_instructions", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_callgrind_output_is_read_by_object_without_inclusive_call_costs() -> None:
    bench = _module()
    assert bench.total_instructions(CALLGRIND_OUT) == 1160
    by_object = bench.instructions_by_object(CALLGRIND_OUT)
    # the 1000 after calls= is the callee's inclusive cost, counted once, under _rust.abi3.so
    assert dict(by_object) == {
        "libpython3.11.so.1.0": 155,
        "_rust.abi3.so": 1000,
        "libc.so.6": 5,
    }
    assert sum(by_object.values()) == bench.total_instructions(CALLGRIND_OUT)
    assert [bench.category(name) for name in by_object] == [
        "interpreter",
        "TLS/crypto in C",
        "libc",
    ]


def test_output_without_totals_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="summary/totals"):
        _module().total_instructions(b"events: Ir\nfn=(1) main\n0 5\n")


@pytest.mark.timeout(600)
def test_quick_run_counts_both_sides() -> None:
    (row,) = quick_json_report("instructions.py", "--only", "bulk-aes-128-gcm")["results"]
    assert row["name"] == "bulk-aes-128-gcm"
    assert row["per"] == "record"
    for side in ("stdlib", "tlsmachine"):
        # a 16 KiB record sealed and opened: tens of thousands of instructions at the least
        assert row[side] > 20_000, (side, row[side])
        split = row["split"][side]
        assert sum(split.values()) == pytest.approx(row[side])
        assert split["TLS/crypto in C"] > 0, side
    assert row["ratio"] == pytest.approx(row["stdlib"] / row["tlsmachine"])
    assert row["split"]["tlsmachine"]["interpreter"] > 0
