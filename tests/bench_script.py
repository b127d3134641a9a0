"""Run a ``benchmarks/`` script as the smoke tests do: its JSON report, or the test fails.

The scripts are programs, not modules of the package: each smoke test starts one in a
subprocess from the repository root, with ``--quick --json`` and its own arguments, and reads
the report it prints.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"


def quick_json_report(script: str, *args: str, timeout: float = 540) -> Any:
    """``benchmarks/<script> --quick --json <args>``: the parsed report (stderr on failure)."""
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--quick", "--json", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)
