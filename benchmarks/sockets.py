"""Blocking sockets over loopback: tlsmachine's TLSSocket beside stdlib ``ssl``'s SSLSocket.

``run.py`` measures the protocol core in memory; this measures what an application that uses
the socket adapter sees, where the TCP stack takes part: a server process and a client process,
each side's own client talking to its own server (tlsmachine: ``sockets.connect`` and
``sockets.serve``; stdlib: ``SSLContext.wrap_socket`` and a thread per connection). Two figures:

* **request/response connections/s**: one connection after another, each a full TLS 1.3
  handshake, a 100-byte request echoed back, and the close (tlsmachine's close sends
  close_notify and waits for the peer's; ssl's closes the descriptor). Latency counts here, so
  a write held by Nagle's algorithm for the peer's delayed ACK shows: 40 ms per connection
  (``tlsmachine/tcp_nodelay.py``).
* **bulk MB/s**: 64 MiB one way in 16 KiB ``sendall`` calls on one connection, until the
  server has read them all and said so.

Same work on both sides: TLS 1.3, x25519 only (the stdlib's OpenSSL may lack ML-KEM, which our
default client would offer first), TLS_AES_128_GCM_SHA256, no session tickets, the
``run.py`` test PKI (ECDSA P-256 leaf), verification of certificate and host name on, and
TCP_NODELAY on every socket: TLSSocket sets it itself; the stdlib's sockets get it here, since
without it ssl's client pays the delayed ACK on every request sent right after its Finished
(about 23 connections/s here, against 600 or more). Each
figure is the median of ``--repeat`` runs, the sides taking turns. Wall clock: the client and
the server run at the same time on different CPUs, as they would.

``python benchmarks/sockets.py [--quick] [--repeat N] [--json]``
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run
from worker_process import child_env

SIDES = ("stdlib", "tlsmachine")
LEAF = "ecdsa-p256"
REQUEST = bytes(range(100))
ECHO, SINK = b"E", b"S"  # the first byte of a connection says what the server does
TIMEOUT = 30.0


# -- the server process --------------------------------------------------------------------------


def handle(recv: Callable[[int], bytes], sendall: Callable[[bytes], None]) -> None:
    """ECHO: send back everything until the client closes. SINK + 8-byte length: read that
    many bytes, then answer b"ok"."""
    data = recv(65536)
    if not data:
        return
    if data[:1] == ECHO:
        data = data[1:]
        while True:
            if data:
                sendall(data)
            data = recv(65536)
            if not data:
                return
    while len(data) < 9:
        data += recv(65536)
    expected, received = int.from_bytes(data[1:9], "big"), len(data) - 9
    while received < expected:
        chunk = recv(65536)
        if not chunk:
            raise RuntimeError(f"sink: EOF after {received} of {expected} bytes")
        received += len(chunk)
    sendall(b"ok")


def serve_stdlib(pki: Path) -> int:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / f"{LEAF}-chain.pem", pki / f"{LEAF}-key.pem")
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.num_tickets = 0
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)

    def one(raw: socket.socket) -> None:
        raw.settimeout(TIMEOUT)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as TLSSocket (docstring)
        with ctx.wrap_socket(raw, server_side=True) as tls:
            handle(tls.recv, tls.sendall)

    def accept_forever() -> None:
        while True:
            raw, _ = listener.accept()
            threading.Thread(target=one, args=(raw,), daemon=True).start()

    threading.Thread(target=accept_forever, daemon=True).start()
    return int(listener.getsockname()[1])


def serve_tlsmachine(pki: Path) -> int:
    from tlsmachine import CertifiedKey, ServerConfig
    from tlsmachine.crypto.groups import X25519
    from tlsmachine.crypto.suites import TLS_AES_128_GCM_SHA256
    from tlsmachine.enums import ProtocolVersion
    from tlsmachine.sockets import TLSSocket, serve

    config = ServerConfig(
        certificates=(CertifiedKey.load(pki / f"{LEAF}-chain.pem", pki / f"{LEAF}-key.pem"),),
        cipher_suites=(TLS_AES_128_GCM_SHA256,),
        groups=(X25519,),
        min_version=ProtocolVersion.TLS13,
        session_tickets=0,
    )

    def one(tls: TLSSocket) -> None:
        handle(tls.recv, tls.sendall)

    server = serve(config, one, timeout=TIMEOUT, max_connections=256)
    return server.address[1]


def server_main(side: str, pki: Path) -> int:
    port = (serve_stdlib if side == "stdlib" else serve_tlsmachine)(pki)
    print(port, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    return 0


# -- the client (the parent process) -------------------------------------------------------------


class Client:
    """One side's client: ``connect()`` returns a TLS socket that has finished its handshake."""

    def __init__(self, side: str, pki: Path, port: int) -> None:
        self.side, self.port = side, port
        if side == "stdlib":
            ctx = ssl.create_default_context(cafile=str(pki / "ca.pem"))
            ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
            self._ctx = ctx  # suite and group: the stdlib server's OPENSSL_CONF pins them
        else:
            from tlsmachine import ClientConfig
            from tlsmachine.crypto.groups import X25519
            from tlsmachine.crypto.suites import TLS_AES_128_GCM_SHA256
            from tlsmachine.enums import ProtocolVersion

            self._config = ClientConfig(
                cafile=str(pki / "ca.pem"),
                cipher_suites=(TLS_AES_128_GCM_SHA256,),
                groups=(X25519,),
                min_version=ProtocolVersion.TLS13,
            )

    def connect(self) -> Any:
        if self.side == "stdlib":
            raw = socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as TLSSocket
            return self._ctx.wrap_socket(raw, server_hostname=run.HOST)
        from tlsmachine.sockets import connect

        return connect(
            "127.0.0.1", self.port, server_hostname=run.HOST, config=self._config, timeout=TIMEOUT
        )

    def negotiated(self) -> dict[str, str]:
        tls = self.connect()
        with tls:
            version, suite = tls.version(), tls.cipher()[0]
            tls.sendall(ECHO)
        return {"version": str(version), "suite": str(suite)}


def request_response(client: Client, count: int) -> float:
    """Connections per second, each: handshake, REQUEST echoed back, close."""
    start = time.perf_counter()
    for _ in range(count):
        tls = client.connect()
        tls.sendall(ECHO + REQUEST)
        received = b""
        while len(received) < len(REQUEST):
            data = tls.recv(65536)
            if not data:
                raise RuntimeError(f"{client.side}: the echo ended early")
            received += data
        if received != REQUEST:
            raise RuntimeError(f"{client.side}: the echo differs")
        tls.close()
    return count / (time.perf_counter() - start)


def bulk(client: Client, total: int) -> float:
    """MB/s of ``total`` bytes sent in 16 KiB writes, until the server confirms them all."""
    chunk = os.urandom(run.CHUNK)
    tls = client.connect()
    start = time.perf_counter()
    tls.sendall(SINK + total.to_bytes(8, "big"))
    for _ in range(total // run.CHUNK):
        tls.sendall(chunk)
    answer = tls.recv(16)
    elapsed = time.perf_counter() - start
    tls.close()
    if answer != b"ok":
        raise RuntimeError(f"{client.side}: the server did not confirm the transfer: {answer!r}")
    return total / 1e6 / elapsed


def measure(pki: Path, quick: bool, repeat: int) -> dict[str, Any]:
    # the stdlib server's TLS 1.3 suite and group, pinned as run.py does (Python 3.11's ssl
    # cannot); the server's choice decides for both ends
    conf = pki / "openssl.cnf"
    conf.write_text(run.OPENSSL_CONF_TEMPLATE.format(suite="TLS_AES_128_GCM_SHA256"))
    env = {**child_env(run.ROOT / "src"), "OPENSSL_CONF": str(conf)}
    servers: dict[str, subprocess.Popen[str]] = {}
    clients: dict[str, Client] = {}
    try:
        for side in SIDES:
            cmd = [sys.executable, __file__, "--serve", side, "--pki", str(pki)]
            proc = subprocess.Popen(
                cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
            servers[side] = proc
            assert proc.stdout is not None
            clients[side] = Client(side, pki, int(proc.stdout.readline()))
        connections = 20 if quick else 300
        total = run.MIB if quick else 64 * run.MIB
        negotiated = {side: clients[side].negotiated() for side in SIDES}
        samples: dict[str, dict[str, list[float]]] = {
            "request_response": {side: [] for side in SIDES},
            "bulk": {side: [] for side in SIDES},
        }
        for side in SIDES:  # warm-up
            request_response(clients[side], 5)
            bulk(clients[side], run.MIB)
        for rep in range(repeat):
            for side in SIDES if rep % 2 == 0 else SIDES[::-1]:
                samples["request_response"][side].append(
                    request_response(clients[side], connections)
                )
                samples["bulk"][side].append(bulk(clients[side], total))
    finally:
        for proc in servers.values():
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    results = []
    for name, unit in (("request_response", "connections/s"), ("bulk", "MB/s")):
        medians = {side: statistics.median(samples[name][side]) for side in SIDES}
        results.append(
            {
                "name": name,
                "unit": unit,
                **medians,
                "ratio": medians["tlsmachine"] / medians["stdlib"],
                "samples": samples[name],
            }
        )
    return {"results": results, "negotiated": negotiated, "repeat": repeat}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--repeat", type=int, default=0, help="runs per figure (default 5)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--serve", choices=SIDES, help=argparse.SUPPRESS)  # a server process
    parser.add_argument("--pki", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return server_main(args.serve, Path(args.pki))
    repeat = args.repeat or (2 if args.quick else 5)
    with tempfile.TemporaryDirectory() as tmp:
        pki = Path(tmp)
        run.make_test_pki(pki)
        report = measure(pki, args.quick, repeat)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{'loopback, blocking sockets':<34}{'tlsmachine':>12}{'stdlib ssl':>12}{'ratio':>8}")
    for row in report["results"]:
        label = f"{row['name'].replace('_', '/')} {row['unit']}"
        print(f"{label:<34}{row['tlsmachine']:>12,.1f}{row['stdlib']:>12,.1f}{row['ratio']:>7.2f}x")
    print(f"medians of {repeat} runs, sides in turn; negotiated: {report['negotiated']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
