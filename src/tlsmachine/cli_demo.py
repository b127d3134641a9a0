"""``tlsmachine demo``: the quick start's main job, a traced TLS 1.3 handshake over loopback.

A :class:`~tlsmachine.sockets.TLSServer` with an ephemeral self-signed certificate and a client
that trusts exactly that certificate run in one process; each side records the handshake
messages it receives (``trace_handshake``), the client sends one message that the server
echoes, and both close with close_notify (RFC 8446 §6.1). Then the report: the messages in
order, what was negotiated, the data, and whether the closure was clean.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import threading
from collections.abc import Callable

from . import CertifiedKey, ClientConfig, Event, HandshakeMessageTraced, ServerConfig, TLSError
from .cli_report import CliError, describe_error
from .crypto.groups import SECP256R1
from .events import HandshakeComplete
from .sockets import TLSServer, TLSSocket, connect
from .trace import message_fields, message_name

__all__ = ["DEMO_MESSAGE", "demo_trace_line", "run_demo"]

DEMO_MESSAGE = b"hello from the tlsmachine demo"


def demo_trace_line(arrow: str, event: HandshakeMessageTraced) -> str:
    """``client -> server  ClientHello  517 bytes  plaintext  suites=[...] ...``"""
    head = f"  {arrow}  {message_name(event.message):<19} {event.length:>5} bytes  "
    return f"{head}{event.epoch:<11}  {message_fields(event.message)}".rstrip()


class _DemoServer:
    """The demo's server: echoes one message, records how each connection closed and what
    failed, and the trace of what it received."""

    def __init__(self, args: argparse.Namespace, certified: CertifiedKey, trace: _Trace) -> None:
        config = ServerConfig(
            certificates=(certified,), alpn_protocols=("http/1.1",), trace_handshake=True
        )
        if args.hrr:  # the server accepts only secp256r1; the client's first key share is x25519
            config = dataclasses.replace(config, groups=(SECP256R1,))
        self.closed_cleanly: list[bool | None] = []
        self.failures: list[BaseException] = []
        self.server = TLSServer(
            config,
            self._echo_once,
            "127.0.0.1",
            0,
            timeout=args.timeout,
            on_error=lambda peer, exc: self.failures.append(exc),
            on_event=trace.hook("client -> server"),
        )
        threading.Thread(target=self.server.serve_forever, name="demo-server", daemon=True).start()

    def _echo_once(self, tls: TLSSocket) -> None:
        tls.sendall(tls.recv())
        while tls.recv():
            pass
        self.closed_cleanly.append(tls.clean_close)


class _Trace:
    """The received handshake messages of both sides, in the order they arrived."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def hook(self, arrow: str) -> Callable[[Event], None]:
        def on_event(event: Event) -> None:
            if isinstance(event, HandshakeMessageTraced) and event.direction == "received":
                with self._lock:
                    self.lines.append(demo_trace_line(arrow, event))

        return on_event


def run_demo(args: argparse.Namespace) -> int:
    print("tlsmachine demo: a TLS 1.3 handshake over loopback", flush=True)
    certified = CertifiedKey.self_signed(("localhost",), args.key_type)
    client_config = ClientConfig(
        cadata=certified.chain_pem(), alpn_protocols=("h2", "http/1.1"), trace_handshake=True
    )
    trace = _Trace()
    demo = _DemoServer(args, certified, trace)
    host, port = demo.server.address
    print(f"  server  {host}:{port}, ephemeral self-signed {args.key_type} certificate")
    print("  client  trusts exactly that certificate, offers ALPN h2, http/1.1\n")
    try:
        tls = connect(
            host,
            port,
            config=client_config,
            server_hostname="localhost",
            timeout=args.timeout,
            on_event=trace.hook("server -> client"),
        )
        tls.sendall(DEMO_MESSAGE)
        echoed = b""
        while len(echoed) < len(DEMO_MESSAGE) and (chunk := tls.recv()):
            echoed += chunk
        tls.close()
    except (TLSError, OSError) as exc:
        raise CliError(f"demo failed: {describe_error(exc)}") from None
    finally:
        demo.server.shutdown(timeout=args.timeout)
    if demo.failures:
        raise CliError(f"demo server failed: {describe_error(demo.failures[0])}")
    info = tls.handshake_info
    if info is None:  # pragma: no cover - connect() returns after the handshake
        raise CliError("demo failed: no handshake")
    clean = bool(tls.clean_close and all(demo.closed_cleanly))
    _print_report(trace.lines, info, certified, echoed, clean)
    return 0


def _print_report(
    trace: list[str],
    info: HandshakeComplete,
    certified: CertifiedKey,
    echoed: bytes,
    clean: bool,
) -> None:
    print("handshake messages, in order")
    print("\n".join(trace))
    leaf = info.peer_certificates[0] if info.peer_certificates else certified.leaf
    rows = [
        ("version", info.version),
        ("cipher suite", info.cipher_suite),
        ("key exchange", info.group or "none"),
        ("signature", info.signature_scheme or "none"),
        ("ALPN", info.alpn_protocol or "none"),
        ("server name", info.server_name or "none"),
        ("certificate", f"{leaf.subject.rfc4514_string()} (verified against the trusted copy)"),
        ("SHA-256", certified.fingerprint_sha256()),
        ("hello retry", "yes" if info.hello_retry else "no"),
    ]
    print("\nnegotiated")
    print("\n".join(f"  {name:<13} {value}" for name, value in rows))
    print("\napplication data")
    print(f"  client -> server  {DEMO_MESSAGE!r}")
    print(f"  server -> client  {echoed!r}")
    if clean:
        print("\nclosed cleanly: close_notify sent and received on both sides")
    else:
        print("\nclosed WITHOUT a complete close_notify exchange")
    sys.stdout.flush()
