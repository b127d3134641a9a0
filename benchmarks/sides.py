"""Client and server CPU of one in-memory handshake, each side timed on its own.

``run.py`` times a whole handshake, both sides together. This script times the calls of each
side separately: for tlsmachine ``ClientConnection``/``ServerConnection`` construction,
``receive_data`` and ``data_to_send``; for stdlib ``ssl`` the ``wrap_bio``,
``do_handshake`` and BIO calls of each ``SSLObject``. Both are driven as ``run.py`` drives them
(the same PKI, suite, group and settings, certificate verification on), in one process,
implementations in turn, ``--repeat`` runs of ``--count`` handshakes.

The split shows what the sum hides: which side is the dearer one. The TLS 1.3 cases: full
handshakes (``handshake-*``) and resumed ones (``resumed-*``: psk_dhe_ke with the newest ticket,
one new ticket each time, which the client takes in: its time counts to the client).

A third column, ``session``, is what the client spends handing the session over to the next
handshake outside the handshake calls: for stdlib ``ssl`` the ``SSLObject.session`` getter (the
only way to resume), which CPython makes costly by copying the session through
``i2d_SSL_SESSION``/``d2i_SSL_SESSION`` (the peer's certificate is parsed again each time);
tlsmachine's client stores the ticket inside ``receive_data``, so its column is zero.
``both`` counts all three, as ``run.py`` does.

``python benchmarks/sides.py [--quick] [--repeat N] [--count N] [--json]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import ssl
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run

CASES = ("handshake-ecdsa-p256", "handshake-rsa-2048", "resumed-ecdsa-p256", "resumed-rsa-2048")
Timer = Callable[[], tuple[float, float, float]]  # one handshake: client, server, session s
PARTS = ("client", "server", "session")


def tlsmachine_timer(pki: Path, case: run.Case) -> Timer:
    side = run.TlsmachineSide(pki, case)
    tls = side.tls
    app_data = tls.ConnectionState.APP_DATA
    resumed = case.kind == "resumed"
    now = time.perf_counter

    def one() -> tuple[float, float]:
        start = now()
        client = tls.ClientConnection(side.client_config, server_name=run.HOST)
        client_time = now() - start
        start = now()
        server = tls.ServerConnection(side.server_config)
        server_time = now() - start
        for _ in range(run.MAX_ROUNDS):
            start = now()
            data = client.data_to_send()
            client_time += now() - start
            start = now()
            server.receive_data(data)
            flight = server.data_to_send()
            server_time += now() - start
            start = now()
            client.receive_data(flight)
            client_time += now() - start
            if client.state is app_data and server.state is app_data:
                info = server.handshake_info
                if resumed and not (info is not None and info.resumed):
                    raise RuntimeError("tlsmachine handshake did not resume")
                return client_time, server_time, 0.0
        raise RuntimeError("tlsmachine handshake did not finish")

    return one


def stdlib_timer(pki: Path, case: run.Case) -> Timer:
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(pki / f"{case.key_type}-chain.pem", pki / f"{case.key_type}-key.pem")
    resumed = case.kind == "resumed"
    server_ctx.num_tickets = 1 if resumed else 0
    client_ctx = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    for ctx in (server_ctx, client_ctx):
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    now = time.perf_counter
    session: list[ssl.SSLSession | None] = [None]  # the newest ticket (resumed cases)

    def step(obj: ssl.SSLObject) -> None:
        with contextlib.suppress(ssl.SSLWantReadError):  # waiting for the peer: its turn
            obj.do_handshake()

    def one() -> tuple[float, float]:
        c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
        start = now()
        client = client_ctx.wrap_bio(c_in, c_out, server_hostname=run.HOST, session=session[0])
        step(client)
        hello = c_out.read()
        client_time = now() - start
        start = now()
        server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
        s_in.write(hello)
        step(server)
        flight = s_out.read()
        server_time = now() - start
        start = now()
        c_in.write(flight)
        step(client)
        finished = c_out.read()
        client_time += now() - start
        start = now()
        s_in.write(finished)
        step(server)
        ticket = s_out.read()
        server_time += now() - start
        if resumed:
            start = now()
            c_in.write(ticket)
            with contextlib.suppress(ssl.SSLWantReadError):  # reads the NewSessionTicket
                client.read(1)
            client_time += now() - start
            reused = session[0] is not None
            if reused and not (client.session_reused and server.session_reused):
                raise RuntimeError("stdlib handshake did not resume")
            start = now()
            session[0] = client.session
            session_time = now() - start
        else:
            session_time = 0.0
        if client.version() != "TLSv1.3" or server.version() != "TLSv1.3":
            raise RuntimeError("stdlib handshake did not finish in TLS 1.3")
        return client_time, server_time, session_time

    if resumed:
        one()  # the first ticket, from a full handshake
    return one


def measure(case_name: str, pki: Path, count: int, repeat: int) -> dict[str, Any]:
    """Medians of per-handshake client, server and session µs for both implementations, in
    this process."""
    case = run.CASES_BY_NAME[case_name]
    timers = {"stdlib": stdlib_timer(pki, case), "tlsmachine": tlsmachine_timer(pki, case)}
    samples: dict[str, dict[str, list[float]]] = {
        name: {part: [] for part in PARTS} for name in timers
    }
    for timer in timers.values():
        for _ in range(max(count // 5, 2)):  # warm-up
            timer()
    for rep in range(repeat):
        order = list(timers) if rep % 2 == 0 else list(timers)[::-1]
        for name in order:
            sums = [0.0, 0.0, 0.0]
            for _ in range(count):
                for i, seconds in enumerate(timers[name]()):
                    sums[i] += seconds
            for part, total in zip(PARTS, sums, strict=True):
                samples[name][part].append(total / count * 1e6)
    medians = {
        name: {part: statistics.median(values) for part, values in parts.items()}
        for name, parts in samples.items()
    }
    return {"case": case_name, "us_per_handshake": medians, "samples": samples}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a few handshakes (smoke test)")
    parser.add_argument("--repeat", type=int, default=0, help="runs per side (default 7)")
    parser.add_argument("--count", type=int, default=0, help="handshakes per run (default 100)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--pki", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    repeat = args.repeat or (2 if args.quick else 7)
    count = args.count or (5 if args.quick else 100)
    if args.case:
        print(json.dumps(measure(args.case, Path(args.pki), count, repeat)))
        return 0
    results = run.each_case_in_child(
        __file__, CASES, ["--repeat", str(repeat), "--count", str(count)]
    )
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(f"{'µs per handshake':<24}{'side':<12}" + "".join(f"{h:>10}" for h in (*PARTS, "both")))
    for result in results:
        for name in ("tlsmachine", "stdlib"):
            us = result["us_per_handshake"][name]
            figures = [us[part] for part in PARTS]
            print(
                f"{result['case']:<24}{name:<12}"
                + "".join(f"{f:>10,.0f}" for f in (*figures, sum(figures)))
            )
    print(f"medians of {repeat} runs of {count} handshakes, one process per case")
    return 0


if __name__ == "__main__":
    sys.exit(main())
