"""Regenerate ``tests/vectors/rfc8448.json`` from the text of RFC 8448.

Usage: ``python tests/vectors/extract_rfc8448.py [path/to/rfc8448.txt]`` (default:
``tests/vectors/rfc8448.txt``, the RFC as published). The JSON structure is documented in
``tests/rfc8448.py``; commit the output so tests never need the RFC text at run time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rfc8448 import JSON_PATH, TEXT_PATH, parse_rfc8448


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else TEXT_PATH
    trace = parse_rfc8448(source.read_text(encoding="utf-8"))
    text = json.dumps(trace.to_json(), indent=1) + "\n"
    JSON_PATH.write_text(text, encoding="utf-8")
    steps = sum(len(s.steps) for s in trace.sections.values())
    print(f"wrote {JSON_PATH} ({len(trace.sections)} sections, {steps} steps)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
