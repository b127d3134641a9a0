"""The floor under the bulk benchmarks: a TLS 1.3 record layer in Python cut to the bone.

``python benchmarks/record_floor.py [--quick] [--repeat N] [--json]`` moves 16 KiB records one
way, in ONE process per cipher suite, through four things in turn (interleaved repetitions, so
that the machine's speed, which differs from process to process on a shared VM, is the same
for all of them): stdlib ``ssl`` (two ``SSLObject`` over ``MemoryBIO``), tlsmachine, pyca's AEAD
alone (``AeadSide`` of ``run.py``: no TLS at all), and :class:`MinimalLayerSide`.

:class:`MinimalLayerSide` uses the same pyca AEAD as tlsmachine and does only what *any* Python
record layer that takes and returns ``bytes`` must do per record (RFC 8446 §5.2-§5.4):

* sending: one copy to append the content type (TLSInnerPlaintext), the per-record nonce, the
  5-byte header, one AEAD call, one copy to put header and ciphertext together;
* receiving: one comparison of the header, the nonce, one AEAD call, the type byte checked and
  cut off (one copy), one ``ApplicationData`` event.

No state machine, no key-usage limits, no buffering of partial records, no checks on other
record types: it is not a TLS implementation, only a yardstick. Its ratio to stdlib ``ssl`` is
about the most a Python record layer on pyca/cryptography can reach on this machine, which
tells how far the bulk targets of ``run.py`` are reachable at all.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run

_HEADER = struct.Struct(">BHH")
_APPLICATION_DATA = 23
_TLS12 = 0x0303
_TAG = 16


class _Direction:
    """One direction's key, IV and sequence number: the state every record layer keeps."""

    def __init__(self, aead: Any, iv: int, event: Callable[[bytes], object]) -> None:
        self.event = event  # tlsmachine's ApplicationData constructor
        self.encrypt = aead.encrypt
        self.decrypt = aead.decrypt
        self.iv = iv
        self.seq = 0
        self.out: list[bytes] = []
        self.header = b""

    def seal(self, data: bytes) -> None:
        inner = data + b"\x17"  # TLSInnerPlaintext: content || type (copy 1)
        seq = self.seq
        self.seq = seq + 1
        header = _HEADER.pack(_APPLICATION_DATA, _TLS12, len(inner) + _TAG)
        self.out += header, self.encrypt((self.iv ^ seq).to_bytes(12, "big"), inner, header)

    def data_to_send(self) -> bytes:
        out = self.out
        data = b"".join(out)  # header || encrypted_record (copy 2)
        out.clear()
        return data

    def open(self, data: bytes) -> list[object]:
        header = data[:5]
        if header != self.header:
            raise RuntimeError("minimal layer: not the expected record header")
        seq = self.seq
        inner = self.decrypt((self.iv ^ seq).to_bytes(12, "big"), memoryview(data)[5:], header)
        self.seq = seq + 1
        if inner[-1] != _APPLICATION_DATA:
            raise RuntimeError("minimal layer: not application data")
        return [self.event(inner[:-1])]  # the type byte cut off (copy 3)


class MinimalLayerSide:
    """The bulk cases' records through :class:`_Direction` (see the module docstring)."""

    def __init__(self, pki: Path, case: run.Case) -> None:
        self.case = case
        self.negotiated: dict[str, str] = {}

    def bulk(self) -> Callable[[int], None]:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

        from tlsmachine.events import new_application_data

        chacha = "CHACHA20" in self.case.suite
        key = os.urandom(32 if chacha else 16)
        iv = int.from_bytes(os.urandom(12), "big")
        aead = ChaCha20Poly1305 if chacha else AESGCM
        sender, receiver = (
            _Direction(aead(key), iv, new_application_data),
            _Direction(aead(key), iv, new_application_data),
        )
        chunk = os.urandom(16 * 1024)
        receiver.header = _HEADER.pack(_APPLICATION_DATA, _TLS12, len(chunk) + 1 + _TAG)
        send, flush, receive = sender.seal, sender.data_to_send, receiver.open

        def run(total: int) -> None:
            received = 0
            for _ in range(total // len(chunk)):
                send(chunk)
                for event in receive(flush()):
                    received += len(event.data)  # type: ignore[attr-defined]
            if received != total:
                raise RuntimeError("minimal layer lost data")

        return run


# -- measuring, one process per suite -------------------------------------------------------------

SIDES = ("stdlib", "tlsmachine", "aead", "floor")
CASES = ("bulk-aes-128-gcm", "bulk-chacha20-poly1305")


def measure(case_name: str, pki: Path, total: int, repeat: int) -> dict[str, object]:
    """MB/s of every side for one case, in this process (which has the case's OPENSSL_CONF)."""
    case = run.CASES_BY_NAME[case_name]
    runs: dict[str, Callable[[int], None]] = {}
    negotiated: dict[str, dict[str, str]] = {}
    for name in SIDES:
        side = MinimalLayerSide(pki, case) if name == "floor" else run.SIDES[name](pki, case)
        runs[name] = side.bulk()
        runs[name](run.MIB)  # warm-up
        if name in ("stdlib", "tlsmachine"):
            run.check_negotiated(case, side.negotiated, name)
            negotiated[name] = side.negotiated
    samples: dict[str, list[float]] = {name: [] for name in SIDES}
    for rep in range(repeat):
        for i in range(len(SIDES)):
            name = SIDES[(rep + i) % len(SIDES)]
            start = time.perf_counter()
            runs[name](total)
            samples[name].append(total / 1e6 / (time.perf_counter() - start))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    return {
        "case": case_name,
        "mb_per_s": medians,
        "ratio_to_stdlib": {name: medians[name] / medians["stdlib"] for name in SIDES},
        "samples": samples,
        "negotiated": negotiated,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 MiB per run (smoke test)")
    parser.add_argument("--repeat", type=int, default=0, help="runs per side (default 7)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--pki", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    total = run.MIB if args.quick else 64 * run.MIB
    repeat = args.repeat or (2 if args.quick else 7)
    if args.case:
        print(json.dumps(measure(args.case, Path(args.pki), total, repeat)))
        return 0
    child_args = ["--repeat", str(repeat)] + (["--quick"] if args.quick else [])
    results = run.each_case_in_child(__file__, CASES, child_args)
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"16 KiB records one way, MB/s (median of {repeat}), one process per suite")
    print(f"{'case':<24}" + "".join(f"{name:>20}" for name in SIDES))
    for r in results:
        rates, ratios = r["mb_per_s"], r["ratio_to_stdlib"]
        cells = "".join(f"{rates[n]:>12,.1f} {ratios[n]:>5.2f}x" for n in SIDES)
        print(f"{r['case']:<24}{cells}")
    print("stdlib: ssl.SSLObject pair; aead: pyca AEAD alone, no TLS; floor: the minimal layer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
