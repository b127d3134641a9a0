"""Instructions per handshake and per record, stdlib ``ssl`` beside tlsmachine, under callgrind.

``python benchmarks/instructions.py [--quick] [--tls12] [--only CASE ...] [--json]`` runs the
cases of ``run.py`` (same sides, same PKI, same pinned suite and group, same checks of what was
negotiated) under ``valgrind --tool=callgrind`` and prints the machine instructions each side
executes per handshake, or per 16 KiB record for the bulk cases (encrypt + decrypt).

Why: wall-clock ratios on a shared two-core VM move by 5-10 % from run to run, as much as
most single optimisations gain. Callgrind *counts* instructions instead of timing them, so the
same code gives the same count whatever else the machine is doing (PYTHONHASHSEED is pinned;
the x25519 and AEAD code is constant-time, so fresh keys do not change the count). That makes
a change's effect measurable to a fraction of a percent. It is not a speed: an interpreted
instruction is slower than one of OpenSSL's vectorised ones, so the time ratios of ``run.py``
remain the figures the targets are about. The breakdown by shared object (Python interpreter,
pyca's Rust + OpenSSL, the stdlib's libssl/libcrypto, libc's memcpy/memset/malloc) shows where
each side's instructions go.

Each side of each case runs twice, for 0 and for N operations after the same warm-up, in its
own process; the difference divided by N is the count per operation, so start-up and set-up
(imports, PKI loading, the first handshake of the resumed cases) cancel out. Runs go two at a
time: counts do not depend on load.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run
from worker_process import child_env

DEFAULT_CASES = tuple(c.name for c in run.CASES)
TLS12_CASES = tuple(c.name for c in run.TLS12_CASES)
COUNTS = {"handshake": 60, "resumed": 60, "bulk": 200}  # operations per measured run
QUICK_COUNTS = {"handshake": 3, "resumed": 3, "bulk": 8}
RUN_TIMEOUT = 900  # seconds for one valgrind run
_TOTAL = re.compile(rb"^(?:summary|totals):\s+(\d+)", re.MULTILINE)


# -- the child: one side of one case, N operations after a warm-up ---------------------------


def child(side_name: str, case_name: str, pki: Path, count: int) -> None:
    """Warm up, check what was negotiated, then run ``count`` operations and exit."""
    case = run.CASES_BY_NAME[case_name]
    side = run.SIDES[side_name](pki, case)
    if case.kind == "bulk":
        transfer = side.bulk()
        transfer(4 * run.CHUNK)
        operations = count * run.CHUNK
    else:
        assert not isinstance(side, run.AeadSide)
        transfer = side.handshakes if case.kind == "handshake" else side.resumed_handshakes
        transfer(2)
        operations = count
    run.check_negotiated(case, side.negotiated, side_name)
    if count:
        transfer(operations)


# -- reading callgrind's output ---------------------------------------------------------------


def total_instructions(callgrind_out: bytes) -> int:
    """The program's total instruction count from a callgrind output file."""
    match = _TOTAL.search(callgrind_out)
    if match is None:
        raise RuntimeError("callgrind output without a summary/totals line")
    return int(match.group(1))


def instructions_by_object(callgrind_out: bytes) -> Counter[str]:
    """Self instructions per shared object (its file name), from a callgrind output file.

    The format (callgrind's "Callgrind Format Specification"): ``ob=`` names the object of the
    cost lines that follow, compressed as ``(id) name`` on first use and ``(id)`` after;
    a cost line is a position followed by the event counts; the cost line right after a
    ``calls=`` line is the inclusive cost of that call, which belongs to the callee, so it is
    not counted here. A ``cob=`` line (the object of a callee) may be where a name is first
    given its id.
    """
    names: dict[str, str] = {}
    by_object: Counter[str] = Counter()
    current = "?"
    after_call = False
    for raw in callgrind_out.decode("utf-8", "replace").splitlines():
        if raw.startswith(("ob=", "cob=")):  # one table of object names for both
            is_callee = raw[0] == "c"
            ref, _, name = raw[4 if is_callee else 3 :].partition(" ")
            if name:
                names[ref] = Path(name).name
            if not is_callee:
                current = names.get(ref, ref)
        elif raw.startswith("calls="):
            after_call = True
        elif raw[:1].isdigit() or raw[:1] in "+-*":
            fields = raw.split()
            if after_call:
                after_call = False
            elif len(fields) > 1:
                by_object[current] += int(fields[1])
    return by_object


def category(object_name: str) -> str:
    """Which part of the stack a shared object is."""
    if object_name.startswith(("libpython", "python")) or object_name in ("?", "???"):
        return "interpreter"
    if object_name.startswith(("_rust.abi3", "libcrypto", "libssl", "_ssl.", "_hashlib.")):
        return "TLS/crypto in C"
    if object_name.startswith(("libc.", "libc-", "ld-linux", "libm.")):
        return "libc"
    return "other"


# -- the parent --------------------------------------------------------------------------------


@dataclass
class Measured:
    """One side of one case: instructions per operation, and their split by category."""

    per_op: float
    split: dict[str, float]


def callgrind(side: str, case: run.Case, pki: Path, count: int, out: Path) -> bytes:
    """Run one side of ``case`` for ``count`` operations under callgrind; its output file."""
    env = child_env(run.ROOT / "src")
    env["PYTHONHASHSEED"] = "0"
    if side == "stdlib":
        conf = pki / f"openssl-{case.name}.cnf"
        if case.tls12:
            text = run.OPENSSL_CONF_TEMPLATE_TLS12.format(cipher=run.OPENSSL_CIPHERS[case.suite])
        else:
            text = run.OPENSSL_CONF_TEMPLATE.format(suite=case.suite)
        conf.write_text(text)
        env["OPENSSL_CONF"] = str(conf)
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    cmd += [sys.executable, __file__, "--child", side, case.name, str(pki), str(count)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    if proc.returncode != 0:
        raise RuntimeError(f"{side} {case.name} x{count} failed:\n{proc.stderr[-3000:]}")
    return out.read_bytes()


def measure(case: run.Case, side: str, pki: Path, count: int, pool: ThreadPoolExecutor) -> Measured:
    """Instructions per operation: (run of ``count`` - run of 0) / ``count``."""
    base, full = (
        pool.submit(callgrind, side, case, pki, n, pki / f"cg-{case.name}-{side}-{n}.out")
        for n in (0, count)
    )
    base_out, full_out = base.result(), full.result()
    per_op = (total_instructions(full_out) - total_instructions(base_out)) / count
    split: Counter[str] = Counter()
    for obj, n in instructions_by_object(full_out).items():
        split[category(obj)] += n
    for obj, n in instructions_by_object(base_out).items():
        split[category(obj)] -= n
    return Measured(per_op, {name: n / count for name, n in sorted(split.items())})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few operations (smoke test)")
    parser.add_argument("--tls12", action="store_true", help="also the TLS 1.2 cases")
    parser.add_argument("--only", nargs="+", choices=DEFAULT_CASES + TLS12_CASES, metavar="CASE")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        side, case_name, pki, count = args.child
        child(side, case_name, Path(pki), int(count))
        return 0
    if shutil.which("valgrind") is None:
        print("instructions.py needs valgrind (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    names = args.only or (DEFAULT_CASES + (TLS12_CASES if args.tls12 else ()))
    counts = QUICK_COUNTS if args.quick else COUNTS
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(2) as pool:
        pki = Path(tmp)
        run.make_test_pki(pki)
        for name in names:
            case = run.CASES_BY_NAME[name]
            count = counts[case.kind]
            sides = {s: measure(case, s, pki, count, pool) for s in ("stdlib", "tlsmachine")}
            rows.append(
                {
                    "name": name,
                    "per": "record" if case.kind == "bulk" else "handshake",
                    "operations": count,
                    "stdlib": sides["stdlib"].per_op,
                    "tlsmachine": sides["tlsmachine"].per_op,
                    # > 1: tlsmachine executes fewer instructions than stdlib ssl
                    "ratio": sides["stdlib"].per_op / sides["tlsmachine"].per_op,
                    "split": {s: m.split for s, m in sides.items()},
                }
            )
    if args.json:
        print(json.dumps({"results": rows, "python": sys.version.split()[0]}, indent=2))
        return 0
    print("instructions per operation under callgrind (x1000); ratio = stdlib / tlsmachine")
    print(f"{'case':<28}{'per':>10}{'stdlib':>12}{'tlsmachine':>12}{'ratio':>8}   tlsmachine split")
    for r in rows:
        ours = r["split"]["tlsmachine"]
        shares = ((k, v / r["tlsmachine"]) for k, v in ours.items())
        share = "  ".join(f"{k} {v:.0%}" for k, v in shares if v >= 0.005)
        print(
            f"{r['name']:<28}{r['per']:>10}{r['stdlib'] / 1e3:>12,.1f}"
            f"{r['tlsmachine'] / 1e3:>12,.1f}{r['ratio']:>7.2f}x   {share}"
        )
    print(f"PYTHONHASHSEED=0; python {sys.version.split()[0]}; {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
