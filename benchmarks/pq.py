"""Post-quantum handshakes/s: tlsmachine and a PQ-capable OpenSSL, in memory, in the same run.

Four sides, each a full TLS 1.3 handshake with client and server in one process (their CPU
together), TLS_AES_128_GCM_SHA256, an ECDSA P-256 server certificate, no session tickets, and
certificate plus host name verification on in the client against the same test CA:

* **tlsmachine, X25519MLKEM768** (draft-ietf-tls-ecdhe-mlkem) and **tlsmachine, x25519**:
  a ClientConnection and a ServerConnection, ``data_to_send()`` into ``receive_data()``;
* **pyOpenSSL, X25519MLKEM768** and **pyOpenSSL, x25519**: two ``OpenSSL.SSL.Connection``
  through memory BIOs, on the OpenSSL 4 inside the cryptography wheel (the same library that
  does tlsmachine's ML-KEM, X25519 and ECDSA); groups set with ``SSL_CTX_set1_curves_list``,
  the suite with ``set_tls13_ciphersuites``, host name with ``X509_VERIFY_PARAM_set1_host``;
  its worker gets an ``OPENSSL_CONF`` with ``NumTickets = 0`` (pyOpenSSL cannot call
  ``SSL_CTX_set_num_tickets``; ``OP_NO_TICKET`` still sends stateful TLS 1.3 tickets).

Each side runs in its own worker process; the parent asks the workers for one timed run at a
time, in turn (rotating the order each round), so that a burst of load on the machine hits all
sides alike. Each figure is the median of those runs after a warm-up; the ratios are given as
ratios of medians and as medians of the ratios of runs taken in the same round ("paired").
What each side negotiated is read off its ServerHello on the wire (version, suite, key_share
group, full handshake) and from its API; a mismatch with the intended group is an error.

Usage: ``python benchmarks/pq.py [--quick] [--json] [--repeat N] [--clock wall|cpu]``
(see benchmarks/README.md, "Post-quantum key exchange").
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import HOST, MAX_ROUNDS, environment, make_test_pki, server_hello_params
from worker_process import WorkerProcess, child_env

ROOT = Path(__file__).resolve().parent.parent
SUITE = "TLS_AES_128_GCM_SHA256"
KEY_TYPE = "ecdsa-p256"
WORKER_TIMEOUT = 600  # seconds per worker reply

GROUPS = {"X25519MLKEM768": 0x11EC, "x25519": 0x001D}
OPENSSL_GROUP_NAMES = {"X25519MLKEM768": "X25519MLKEM768", "x25519": "X25519"}
IMPLEMENTATIONS = ("tlsmachine", "pyopenssl")
SIDES = tuple(f"{impl}:{group}" for group in GROUPS for impl in IMPLEMENTATIONS)
RATIOS = (
    # (name, numerator, denominator)
    ("tlsmachine X25519MLKEM768 / x25519", "tlsmachine:X25519MLKEM768", "tlsmachine:x25519"),
    ("pyOpenSSL X25519MLKEM768 / x25519", "pyopenssl:X25519MLKEM768", "pyopenssl:x25519"),
    (
        "tlsmachine / pyOpenSSL, X25519MLKEM768",
        "tlsmachine:X25519MLKEM768",
        "pyopenssl:X25519MLKEM768",
    ),
    ("tlsmachine / pyOpenSSL, x25519", "tlsmachine:x25519", "pyopenssl:x25519"),
)
OPENSSL_CONF = """\
# Written by benchmarks/pq.py: what pyOpenSSL cannot set itself (SSL_CTX_set_num_tickets).
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
NumTickets = 0
"""


@dataclass(frozen=True)
class Sizes:
    """How much work each measurement does (all loops are bounded by these)."""

    handshakes: int  # per timed run
    repeat: int
    warmup_handshakes: int


FULL = Sizes(handshakes=200, repeat=11, warmup_handshakes=50)
QUICK = Sizes(handshakes=3, repeat=2, warmup_handshakes=1)


def wire_params(server_flight: bytes) -> dict[str, str]:
    """run.py's ServerHello reading, with the hybrid's name for its code point."""
    seen = server_hello_params(server_flight)
    names = {f"0x{code:04x}": name for name, code in GROUPS.items()}
    seen["group"] = names.get(seen["group"], seen["group"])
    return seen


def check_negotiated(seen: dict[str, str], group: str, side: str) -> None:
    want = {"version": "TLSv1.3", "suite": SUITE, "group": group, "handshake": "full"}
    for key, value in want.items():
        if seen.get(key) != value:
            raise RuntimeError(f"{side} negotiated {key} {seen.get(key)!r}, expected {value!r}")
    if seen.get("api_group", "").lower() != group.lower():
        raise RuntimeError(f"{side}: the API reports group {seen.get('api_group')!r}")


# -- the sides (inside a worker process) --------------------------------------------------------


class TlsmachineSide:
    """A ClientConnection and a ServerConnection moving bytes between them."""

    def __init__(self, pki: Path, group: str) -> None:
        import tlsmachine
        from tlsmachine.crypto import suites
        from tlsmachine.crypto.groups import GROUPS as OUR_GROUPS

        the_group = OUR_GROUPS.get(GROUPS[group])
        if the_group is None:
            raise RuntimeError(f"tlsmachine implements no {group} group")
        suite = getattr(suites, SUITE)
        self.tls = tlsmachine
        self.negotiated: dict[str, str] = {}
        self.client_config = tlsmachine.ClientConfig(
            cadata=(pki / "ca.pem").read_bytes(),
            cipher_suites=(suite,),
            groups=(the_group,),
        )
        self.server_config = tlsmachine.ServerConfig(
            certificates=(
                tlsmachine.CertifiedKey.load(
                    pki / f"{KEY_TYPE}-chain.pem", pki / f"{KEY_TYPE}-key.pem"
                ),
            ),
            cipher_suites=(suite,),
            groups=(the_group,),
            session_tickets=0,
        )
        if not self.client_config.verify_certificates:
            raise RuntimeError("the tlsmachine client must verify the certificate and host name")

    def handshake(self) -> None:
        tls = self.tls
        client = tls.ClientConnection(self.client_config, server_name=HOST)
        server = tls.ServerConnection(self.server_config)
        app_data = tls.ConnectionState.APP_DATA
        first_flight = b""
        for _ in range(MAX_ROUNDS):
            server.receive_data(client.data_to_send())
            flight = server.data_to_send()
            first_flight = first_flight or flight
            client.receive_data(flight)
            if client.state is app_data and server.state is app_data:
                break
        else:
            raise RuntimeError("tlsmachine handshake did not finish")
        if not self.negotiated:
            info = client.handshake_info
            assert info is not None
            self.negotiated = wire_params(first_flight)
            self.negotiated["api_group"] = str(info.group)
            self.negotiated["api"] = (
                f"{info.version} {info.cipher_suite} {info.group} {info.signature_scheme}"
                f" hello_retry={info.hello_retry}"
            )


class PyOpenSSLSide:
    """Two ``OpenSSL.SSL.Connection`` talking through memory BIOs."""

    def __init__(self, pki: Path, group: str) -> None:
        from OpenSSL import SSL
        from OpenSSL._util import lib

        self.ssl, self.lib = SSL, lib
        groups = OPENSSL_GROUP_NAMES[group].encode()
        client = SSL.Context(SSL.TLS_METHOD)
        client.load_verify_locations(str(pki / "ca.pem"))
        client.set_verify(SSL.VERIFY_PEER)  # and the host name, per connection
        server = SSL.Context(SSL.TLS_METHOD)
        server.use_certificate_chain_file(str(pki / f"{KEY_TYPE}-chain.pem"))
        server.use_privatekey_file(str(pki / f"{KEY_TYPE}-key.pem"))
        for ctx in (client, server):
            ctx.set_min_proto_version(SSL.TLS1_3_VERSION)
            ctx.set_tls13_ciphersuites(SUITE.encode())
            if lib.SSL_CTX_set1_curves_list(ctx._context, groups) != 1:
                raise RuntimeError(f"OpenSSL refused the group {group}")
        self.client_ctx, self.server_ctx = client, server
        self.negotiated: dict[str, str] = {}

    def handshake(self) -> None:
        SSL, lib = self.ssl, self.lib
        want_read = SSL.WantReadError
        client = SSL.Connection(self.client_ctx, None)
        client.set_tlsext_host_name(HOST.encode())
        if lib.X509_VERIFY_PARAM_set1_host(lib.SSL_get0_param(client._ssl), HOST.encode(), 0) != 1:
            raise RuntimeError("pyOpenSSL: could not set the host name to verify")
        client.set_connect_state()
        server = SSL.Connection(self.server_ctx, None)
        server.set_accept_state()
        client_done = server_done = False
        first_flight = b""
        for _ in range(MAX_ROUNDS):
            if not client_done:
                try:
                    client.do_handshake()
                    client_done = True
                except want_read:
                    pass
            server.bio_write(_drain(client, want_read))
            if not server_done:
                try:
                    server.do_handshake()
                    server_done = True
                except want_read:
                    pass
            flight = _drain(server, want_read)
            first_flight = first_flight or flight
            if flight:
                client.bio_write(flight)
            if client_done and server_done:
                break
        else:
            raise RuntimeError("pyOpenSSL handshake did not finish")
        if flight:  # a NewSessionTicket after all: the servers would not do the same work
            raise RuntimeError("pyOpenSSL: the server sent data after its handshake (tickets?)")
        if not self.negotiated:
            self.negotiated = wire_params(first_flight)
            self.negotiated["api_group"] = str(client.get_group_name())
            self.negotiated["api"] = (
                f"{client.get_protocol_version_name()} {client.get_cipher_name()}"
                f" {client.get_group_name()} server={server.get_group_name()}"
            )


def _drain(conn: Any, want_read: type[Exception]) -> bytes:
    """Everything a pyOpenSSL connection has written to its memory BIO."""
    data = b""
    while True:
        try:
            data += conn.bio_read(65536)
        except want_read:
            return data


SIDE_CLASSES: dict[str, type[TlsmachineSide | PyOpenSSLSide]] = {
    "tlsmachine": TlsmachineSide,
    "pyopenssl": PyOpenSSLSide,
}


class Measurement:
    """One side, set up and warmed up; :meth:`sample` times one run."""

    def __init__(self, side: str, pki: Path, sizes: Sizes, clock: str) -> None:
        impl, group = side.split(":")
        self.clock = time.process_time if clock == "cpu" else time.perf_counter
        self.side = SIDE_CLASSES[impl](pki, group)
        self.count = sizes.handshakes
        for _ in range(sizes.warmup_handshakes):
            self.side.handshake()
        check_negotiated(self.side.negotiated, group, side)

    def sample(self) -> float:
        gc.collect()
        handshake, count, clock = self.side.handshake, self.count, self.clock
        start = clock()
        for _ in range(count):
            handshake()
        return count / (clock() - start)


def worker_main(args: argparse.Namespace) -> int:
    """One ``run`` line in, one JSON line (a sample) out, until stdin ends."""
    m = Measurement(args.worker, Path(args.pki), sizes_of(args), args.clock)
    print(json.dumps({"negotiated": m.side.negotiated}), flush=True)
    for line in sys.stdin:
        if line.strip() != "run":
            break
        print(json.dumps({"sample": m.sample()}), flush=True)
    return 0


# -- orchestration (the parent process) ---------------------------------------------------------


class Worker(WorkerProcess):
    """A worker process for one side, answering sample requests."""

    def __init__(self, side: str, pki: Path, args: argparse.Namespace) -> None:
        cmd = [sys.executable, __file__, "--worker", side, "--pki", str(pki)]
        cmd += ["--clock", args.clock, "--repeat", str(args.repeat)]
        if args.quick:
            cmd.append("--quick")
        env = child_env(ROOT / "src")
        if side.startswith("pyopenssl:"):
            conf = pki / "pq-pyopenssl.cnf"
            conf.write_text(OPENSSL_CONF)
            env["OPENSSL_CONF"] = str(conf)
        self.side = side
        self.samples: list[float] = []
        super().__init__(cmd, env, f"the {side} worker", WORKER_TIMEOUT)
        self.negotiated: dict[str, str] = self.reply()["negotiated"]

    def sample(self) -> None:
        self.samples.append(float(self.request("run")["sample"]))


def sizes_of(args: argparse.Namespace) -> Sizes:
    sizes = QUICK if args.quick else FULL
    if args.repeat:
        sizes = Sizes(**{**sizes.__dict__, "repeat": args.repeat})
    return sizes


def measure(pki: Path, sizes: Sizes, args: argparse.Namespace) -> dict[str, Worker]:
    """Every side's samples, interleaved: round r asks the workers in an order rotated by r."""
    workers: dict[str, Worker] = {}
    try:
        for side in SIDES:
            if not args.json:
                print(f"  starting {side} ...", file=sys.stderr, flush=True)
            workers[side] = Worker(side, pki, args)
        order = list(workers.values())
        for rep in range(sizes.repeat):
            for i in range(len(order)):
                order[(rep + i) % len(order)].sample()
    finally:
        for worker in workers.values():
            worker.close()
    return workers


def report_of(workers: dict[str, Worker], sizes: Sizes, args: argparse.Namespace) -> dict[str, Any]:
    medians = {name: statistics.median(w.samples) for name, w in workers.items()}
    sides: dict[str, dict[str, Any]] = {
        name: {
            "implementation": name.split(":")[0],
            "group": name.split(":")[1],
            "handshakes_per_s": medians[name],
            "samples": w.samples,
            "negotiated": w.negotiated,
        }
        for name, w in workers.items()
    }
    ratios = [
        {
            "name": name,
            "numerator": num,
            "denominator": den,
            "ratio": medians[num] / medians[den],
            "ratio_paired": statistics.median(
                a / b for a, b in zip(workers[num].samples, workers[den].samples, strict=True)
            ),
        }
        for name, num, den in RATIOS
    ]
    from OpenSSL import SSL, __version__

    env = environment()
    env["pyopenssl"] = __version__
    env["pyopenssl_openssl"] = SSL.OpenSSL_version(SSL.OPENSSL_VERSION).decode()
    return {
        "quick": args.quick,
        "clock": "time.process_time" if args.clock == "cpu" else "time.perf_counter",
        "sizes": sizes.__dict__,
        "suite": SUITE,
        "server_key": KEY_TYPE,
        "environment": env,
        "sides": sides,
        "ratios": ratios,
    }


def print_report(report: dict[str, Any]) -> None:
    sizes, env = report["sizes"], report["environment"]
    print()
    print(f"{'side':<28} {'handshakes/s':>12}   negotiated on the wire (API)")
    print(f"{'-' * 28} {'-' * 12}   {'-' * 40}")
    for name, side in report["sides"].items():
        n = side["negotiated"]
        wire = f"{n['version']} {n['suite']} {n['group']} {n['handshake']}"
        print(f"{name:<28} {side['handshakes_per_s']:>12,.1f}   {wire} ({n['api']})")
    print()
    print(f"{'ratio':<40} {'medians':>8} {'paired':>8}")
    print(f"{'-' * 40} {'-' * 8} {'-' * 8}")
    for r in report["ratios"]:
        print(f"{r['name']:<40} {r['ratio']:>7.2f}x {r['ratio_paired']:>7.2f}x")
    print()
    print(
        f"medians of {sizes['repeat']} interleaved runs ({report['clock']}) of"
        f" {sizes['handshakes']} full TLS 1.3 handshakes each, client + server CPU, {SUITE},"
        f" {KEY_TYPE} server, no tickets, verification on"
    )
    print(
        f"python {env['python']}; cryptography {env['cryptography']} on"
        f" {env['cryptography_openssl']}; pyOpenSSL {env['pyopenssl']} on"
        f" {env['pyopenssl_openssl']}"
    )


def main_parent(args: argparse.Namespace) -> int:
    sizes = sizes_of(args)
    with tempfile.TemporaryDirectory(prefix="tlsmachine-bench-pq-") as tmp:
        pki = Path(args.keep_pki) if args.keep_pki else Path(tmp)
        pki.mkdir(parents=True, exist_ok=True)
        make_test_pki(pki)
        workers = measure(pki, sizes, args)
    report = report_of(workers, sizes, args)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--repeat", type=int, default=0, help="timed runs per side")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="time.perf_counter (default) or time.process_time of each worker process",
    )
    parser.add_argument("--keep-pki", metavar="DIR", help="write the test PKI here and keep it")
    parser.add_argument("--worker", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--pki", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 0 <= args.repeat <= 100:
        parser.error("--repeat must be 1..100")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker_main(args)
    return main_parent(args)


if __name__ == "__main__":
    sys.exit(main())
