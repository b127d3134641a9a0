"""Many concurrent TLS connections on one asyncio server: tlsmachine against stdlib ``ssl``.

For each side (``stdlib``: ``asyncio.start_server(ssl=SSLContext)``; ``tlsmachine``:
``tlsmachine.asyncio.start_server(config=ServerConfig)``) a **server worker process** runs an
echo server on 127.0.0.1 and starts a **load generator process**, which opens ``--connections``
TLS connections at once (1,000 by default), waits until every one of them has completed its
handshake (so the server holds them all at the same time), then has each send ``--payload``
bytes, read them back, and close with close_notify (RFC 8446 §6.1). The figures:

* **connections/s**: connections divided by the wall time from the first connect to the last
  close (handshake, echo and shutdown of all of them), measured by the load generator.
* **peak RSS**: the server worker's ``ru_maxrss`` (its own process only: the load generator is
  another process), and the same before the load (``baseline``), hence **KiB/connection**.
* **server CPU**: user + system seconds of the server worker during the run.

The load generator uses the **same client for both servers** (Python's ``ssl``) by default, so
that only the server differs; ``--client same`` makes each side's clients use the server's own
implementation. TLS 1.3, certificate verification on (a throw-away CA from ``tests/pki.py``,
ECDSA P-256 leaf, ``localhost``), no session tickets on either server. Every connection is
checked (handshake, echoed bytes, clean close where the API can see it); a side with any error
makes the exit status 1. The sides run one after the other, never together.

Usage: ``python benchmarks/concurrency.py [--connections N] [--payload BYTES] [--quick]
[--client stdlib|same] [--repeat N] [--json] [--timeout S]`` (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIDES = ("stdlib", "tlsmachine")
SERVER_NAME = "localhost"
LEAF = "ecdsa-p256"
FD_HEADROOM = 64
"""File descriptors beyond one per connection: listener, pipes, the interpreter's own."""


# -- both workers ------------------------------------------------------------------------------


def raise_fd_limit(needed: int) -> dict[str, int]:
    """Raise the soft RLIMIT_NOFILE towards the hard limit when ``needed`` exceeds it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if soft != resource.RLIM_INFINITY and soft < needed:
        raise SystemExit(
            f"need {needed} file descriptors but the hard limit is {hard}: "
            "raise it (ulimit -Hn) or use fewer --connections"
        )
    return {"soft": soft, "hard": hard}


def usage() -> dict[str, float]:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return {"maxrss_kib": float(ru.ru_maxrss), "cpu_s": ru.ru_utime + ru.ru_stime}


def stdlib_context(server_side: bool, pki: Path) -> ssl.SSLContext:
    if server_side:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(pki / f"{LEAF}-chain.pem", pki / f"{LEAF}-key.pem")
        ctx.num_tickets = 0
    else:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        ctx.load_verify_locations(cafile=str(pki / "ca.pem"))
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


# -- the server worker -------------------------------------------------------------------------


class ServerStats:
    def __init__(self) -> None:
        self.open = 0
        self.max_open = 0
        self.completed = 0
        self.clean_closes = 0
        self.errors: list[str] = []
        self.negotiated: dict[str, Any] = {}

    def error(self, text: str) -> None:
        if len(self.errors) < 20:
            self.errors.append(text)
        else:
            self.errors[-1] = f"... and more ({text})"


async def serve_and_load(args: argparse.Namespace) -> dict[str, Any]:
    pki = Path(args.pki)
    stats = ServerStats()
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(
        lambda _loop, context: stats.error(
            f"loop: {context.get('message')}: {context.get('exception')!r}"
        )
    )

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stats.open += 1
        stats.max_open = max(stats.max_open, stats.open)
        try:
            if not stats.negotiated:
                stats.negotiated = negotiated(args.side, writer)
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
            if writer.get_extra_info("tls_clean_close") is True:
                stats.clean_closes += 1  # tlsmachine only: stdlib cannot tell
            writer.close()
            await writer.wait_closed()
            stats.completed += 1
        except Exception as exc:
            stats.error(f"server: {exc!r}")
        finally:
            stats.open -= 1

    backlog = max(128, args.connections)
    if args.side == "stdlib":
        ctx = stdlib_context(True, pki)
        server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=ctx, backlog=backlog)
    else:
        from tlsmachine import CertifiedKey, ServerConfig
        from tlsmachine.asyncio import start_server

        config = ServerConfig(
            certificates=(CertifiedKey.load(pki / f"{LEAF}-chain.pem", pki / f"{LEAF}-key.pem"),),
            session_tickets=0,
        )
        server = await start_server(
            echo,
            "127.0.0.1",
            0,
            config=config,
            backlog=backlog,
            on_error=lambda exc, peer: stats.error(f"server handshake: {exc!r}"),
        )
    port = server.sockets[0].getsockname()[1]
    before = usage()
    cmd = [sys.executable, __file__, "--worker", "load", "--side", args.side, "--port", str(port)]
    cmd += ["--pki", str(pki), "--connections", str(args.connections)]
    cmd += ["--payload", str(args.payload), "--client", args.client, "--timeout", str(args.timeout)]
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=subprocess.PIPE)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), args.timeout + 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    load = json.loads(out) if proc.returncode == 0 and out else {"error": f"exit {proc.returncode}"}
    deadline = loop.time() + 10
    while stats.completed + len(stats.errors) < args.connections and loop.time() < deadline:
        await asyncio.sleep(0.05)
    server.close()
    await server.wait_closed()
    after = usage()
    return {
        "side": args.side,
        "connections": args.connections,
        "load": load,
        "server": {
            "max_concurrent": stats.max_open,
            "completed": stats.completed,
            "clean_closes": stats.clean_closes if args.side == "tlsmachine" else None,
            "errors": stats.errors,
            "negotiated": stats.negotiated,
            "baseline_rss_kib": before["maxrss_kib"],
            "peak_rss_kib": after["maxrss_kib"],
            "cpu_s": after["cpu_s"] - before["cpu_s"],
        },
    }


def negotiated(side: str, writer: asyncio.StreamWriter) -> dict[str, Any]:
    if side == "stdlib":
        obj = writer.get_extra_info("ssl_object")
        return {"version": obj.version(), "suite": obj.cipher()[0]}
    return {
        "version": writer.get_extra_info("tls_version"),
        "suite": writer.get_extra_info("cipher_suite"),
    }


# -- the load generator ------------------------------------------------------------------------


async def load(args: argparse.Namespace) -> dict[str, Any]:
    pki = Path(args.pki)
    n = args.connections
    payload = os.urandom(args.payload)
    client = args.side if args.client == "same" else "stdlib"
    if client == "stdlib":
        ctx = stdlib_context(False, pki)

        async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            return await asyncio.open_connection(
                "127.0.0.1", args.port, ssl=ctx, server_hostname=SERVER_NAME
            )
    else:
        from tlsmachine import ClientConfig
        from tlsmachine.asyncio import open_connection

        config = ClientConfig(cadata=(pki / "ca.pem").read_bytes())

        async def connect() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            return await open_connection(
                "127.0.0.1", args.port, server_hostname=SERVER_NAME, config=config
            )

    settled = 0
    everyone_in = asyncio.Event()
    errors: list[str] = []
    ok = 0

    def arrived() -> None:
        nonlocal settled
        settled += 1
        if settled == n:
            everyone_in.set()

    async def one() -> None:
        nonlocal ok
        try:
            reader, writer = await connect()
        except Exception as exc:
            errors.append(f"connect: {exc!r}")
            arrived()
            return
        arrived()
        try:
            await everyone_in.wait()  # all N connections are held open at this point
            writer.write(payload)
            await writer.drain()
            if await reader.readexactly(len(payload)) != payload:
                raise AssertionError("echo differs")
            writer.close()
            await writer.wait_closed()
            if client == "tlsmachine" and writer.get_extra_info("tls_clean_close") is not True:
                raise AssertionError("no close_notify from the server")
            ok += 1
        except Exception as exc:
            errors.append(f"exchange: {exc!r}")
            writer.close()

    start = time.perf_counter()
    tasks = [asyncio.create_task(one()) for _ in range(n)]
    await asyncio.wait_for(everyone_in.wait(), args.timeout)
    connected = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*tasks), args.timeout)
    end = time.perf_counter()
    return {
        "client": client,
        "ok": ok,
        "errors": errors[:20],
        "error_count": len(errors),
        "connect_phase_s": connected - start,
        "elapsed_s": end - start,
        "connections_per_s": n / (end - start),
        "client_peak_rss_kib": usage()["maxrss_kib"],
        "client_cpu_s": usage()["cpu_s"],
    }


# -- the parent: both sides, ratios ------------------------------------------------------------


def run_side(side: str, pki: Path, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", "server", "--side", side, "--pki", str(pki)]
    cmd += ["--connections", str(args.connections), "--payload", str(args.payload)]
    cmd += ["--client", args.client, "--timeout", str(args.timeout)]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=args.timeout + 90, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"{side} worker failed ({proc.returncode}):\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def side_errors(result: dict[str, Any]) -> int:
    load, server, n = result["load"], result["server"], result["connections"]
    count = len(server["errors"]) + int(load.get("error_count", 1))
    count += n - int(load.get("ok", 0))  # also counts a load generator that failed outright
    count += n - server["completed"]
    if server["clean_closes"] is not None:
        count += n - server["clean_closes"]
    return count


def summarize(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    sides: dict[str, Any] = {}
    for side, results in runs.items():
        rates = [r["load"].get("connections_per_s", 0.0) for r in results]
        peaks = [r["server"]["peak_rss_kib"] for r in results]
        base = [r["server"]["baseline_rss_kib"] for r in results]
        n = results[0]["connections"]
        sides[side] = {
            "connections_per_s": statistics.median(rates),
            "peak_rss_mib": statistics.median(peaks) / 1024,
            "baseline_rss_mib": statistics.median(base) / 1024,
            "kib_per_connection": statistics.median(
                (p - b) / n for p, b in zip(peaks, base, strict=True)
            ),
            "server_cpu_ms_per_connection": statistics.median(
                1000 * r["server"]["cpu_s"] / n for r in results
            ),
            "client_cpu_ms_per_connection": statistics.median(
                1000 * r["load"].get("client_cpu_s", 0.0) / n for r in results
            ),
            "max_concurrent": min(r["server"]["max_concurrent"] for r in results),
            "errors": sum(side_errors(r) for r in results),
            "negotiated": results[0]["server"]["negotiated"],
            "runs": results,
        }
    std, ours = sides["stdlib"], sides["tlsmachine"]

    def ratio(key: str) -> float | None:
        return ours[key] / std[key] if std[key] else None

    return {
        "sides": sides,
        "ratios": {
            "connections_per_s": ratio("connections_per_s"),
            "peak_rss": ratio("peak_rss_mib"),
            "kib_per_connection": ratio("kib_per_connection"),
            "server_cpu_per_connection": ratio("server_cpu_ms_per_connection"),
            "client_cpu_per_connection": ratio("client_cpu_ms_per_connection"),
        },
    }


def print_report(report: dict[str, Any]) -> None:
    cfg = report["config"]
    print(
        f"{cfg['connections']} concurrent TLS 1.3 connections, {cfg['payload']} bytes echoed "
        f"each, clients: {cfg['client']}, {cfg['repeat']} run(s) per side (median)"
    )
    rows = [
        ("connections/s", "connections_per_s", "{:10.1f}", "connections_per_s"),
        ("peak RSS (MiB)", "peak_rss_mib", "{:10.1f}", "peak_rss"),
        ("KiB per connection", "kib_per_connection", "{:10.1f}", "kib_per_connection"),
        (
            "server CPU ms/conn",
            "server_cpu_ms_per_connection",
            "{:10.2f}",
            "server_cpu_per_connection",
        ),
        (
            "load gen. CPU ms/conn",
            "client_cpu_ms_per_connection",
            "{:10.2f}",
            "client_cpu_per_connection",
        ),
    ]
    sides = report["sides"]
    print(f"{'':22}{'stdlib':>10}  {'tlsmachine':>10}  ratio (tlsmachine/stdlib)")
    for label, key, fmt, ratio_key in rows:
        ratio = report["ratios"][ratio_key]
        shown = f"{ratio:5.2f}x" if ratio is not None else "   n/a"
        print(
            f"{label:22}{fmt.format(sides['stdlib'][key])}  "
            f"{fmt.format(sides['tlsmachine'][key])}  {shown}"
        )
    for side in SIDES:
        s = sides[side]
        print(
            f"{side}: held {s['max_concurrent']} at once, {s['errors']} errors, "
            f"baseline RSS {s['baseline_rss_mib']:.1f} MiB, negotiated {s['negotiated']}"
        )


def main_parent(args: argparse.Namespace) -> int:
    raise_fd_limit(args.connections + FD_HEADROOM)  # passed on to the workers
    sys.path.insert(0, str(ROOT / "tests"))
    from pki import make_pki

    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    with tempfile.TemporaryDirectory(prefix="tlsmachine-bench-") as tmp:
        make_pki(Path(tmp), key_types=(LEAF,))
        for i in range(args.repeat):
            for side in SIDES if i % 2 == 0 else SIDES[::-1]:  # alternate who goes first
                runs[side].append(run_side(side, Path(tmp), args))
    report = summarize(runs)
    report["config"] = {
        "connections": args.connections,
        "payload": args.payload,
        "client": args.client,
        "repeat": args.repeat,
        "python": platform.python_version(),
        "openssl": ssl.OPENSSL_VERSION,
        "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 1 if any(report["sides"][side]["errors"] for side in SIDES) else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1000, help="default 1000")
    parser.add_argument("--payload", type=int, default=4096, help="bytes echoed per connection")
    parser.add_argument("--quick", action="store_true", help="20 connections (smoke test)")
    parser.add_argument(
        "--client",
        choices=("stdlib", "same"),
        default="stdlib",
        help="load generator: stdlib ssl for both servers (default) or each side's own",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per side (median)")
    parser.add_argument("--timeout", type=float, default=300.0, help="bound per run, seconds")
    parser.add_argument("--json", action="store_true", help="the whole report as JSON")
    parser.add_argument("--worker", choices=("server", "load"), help=argparse.SUPPRESS)
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--pki", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.connections = min(args.connections, 20)
    if args.connections < 1 or args.repeat < 1:
        parser.error("--connections and --repeat must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker is None:
        return main_parent(args)
    raise_fd_limit(args.connections + FD_HEADROOM)
    worker = serve_and_load if args.worker == "server" else load
    print(json.dumps(asyncio.run(worker(args))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
