"""``tlsmachine server``: serve TLS with an echo or an ``openssl s_server -www`` style page.

One line per connection; a misbehaving client ends only its own connection, after its alert.
"""

from __future__ import annotations

import argparse
import threading

from . import (
    CertifiedKey,
    ConnectionState,
)
from .cli_options import (
    CLIENT_AUTH,
    common_config,
    err,
    load_certificates,
    profile_of,
)
from .cli_report import (
    CliError,
    ConnectionTraces,
    connection_line,
    describe_error,
    failure_trace,
    peer_name,
    www_page,
)
from .sockets import TLSServer, TLSSocket

MAX_REQUEST = 16384
"""Longest HTTP request head ``--www`` reads before answering 400."""


# -- server ---------------------------------------------------------------------------------------


def _ticket_count(value: str) -> int:
    if not value.isdigit() or not 0 <= int(value) <= 255:
        raise argparse.ArgumentTypeError(f"expected 0..255, got {value!r}")
    return int(value)


def add_server_resumption(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("session resumption")
    group.add_argument(
        "--num-tickets",
        type=_ticket_count,
        default=2,
        metavar="N",
        help="session tickets sent after each handshake (2; 0: none)",
    )
    group.add_argument(
        "--early-data",
        type=_ticket_size,
        nargs="?",
        const=16384,
        default=0,
        metavar="MAX",
        help="accept up to MAX bytes of 0-RTT data per connection (16384); replayable, §8",
    )


def _ticket_size(value: str) -> int:
    if not value.isdigit() or not 0 <= int(value) <= 0xFFFFFFFF:
        raise argparse.ArgumentTypeError(f"expected a byte count, got {value!r}")
    return int(value)


def _server_resumption_config(args: argparse.Namespace) -> dict[str, object]:
    return {"session_tickets": args.num_tickets, "max_early_data_size": args.early_data}


def add_client_auth(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("client authentication")
    group.add_argument(
        "--verify-client",
        choices=CLIENT_AUTH,
        default="none",
        help="ask clients for a certificate (none)",
    )
    group.add_argument(
        "--client-cafile",
        metavar="PEM",
        help="trust anchors for client certificates (--verify-client)",
    )


def _client_auth_config(args: argparse.Namespace) -> dict[str, object]:
    return {"client_auth": args.verify_client, "client_cafile": args.client_cafile}


def check_server(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Checks across options; a problem is a usage error (exit status 2)."""
    if args.verify_client != "none" and not args.client_cafile:
        parser.error(f"--verify-client {args.verify_client} needs --client-cafile PEM")
    if args.client_cafile and args.verify_client == "none":
        parser.error("--client-cafile needs --verify-client optional or required")


def _server_certificates(args: argparse.Namespace) -> tuple[CertifiedKey, ...]:
    certificates = load_certificates(args)
    if certificates:
        return certificates
    ephemeral = CertifiedKey.self_signed(("localhost", "127.0.0.1", "::1"), "ecdsa-p256")
    err("* no --cert: using an ephemeral self-signed ECDSA P-256 certificate for localhost")
    err(f"* SHA-256 fingerprint {ephemeral.fingerprint_sha256()}")
    return (ephemeral,)


def handle_www(tls: TLSSocket) -> None:
    """Answer one HTTP request (like ``openssl s_server -www``), then close."""
    head = b""
    while b"\r\n\r\n" not in head and b"\n\n" not in head and len(head) <= MAX_REQUEST:
        chunk = tls.recv()
        if not chunk:
            return
        head += chunk
    if head.startswith(b"GET "):
        status, body = "200 ok", www_page(tls.handshake_info)
    elif len(head) > MAX_REQUEST or not head[:1].isalpha():
        status, body = "400 bad request", b"bad request\n"
    else:
        status, body = "405 method not allowed", b"only GET is supported\n"
    response = f"HTTP/1.0 {status}\r\nContent-Type: text/plain\r\n"
    response += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    tls.sendall(response.encode() + body)


def handle_echo(tls: TLSSocket) -> None:
    """Echo application data until the client closes."""
    while data := tls.recv():
        if tls.connection.state not in (ConnectionState.APP_DATA, ConnectionState.PEER_CLOSED):
            break
        # PEER_CLOSED: the client's close_notify came with the data; TLS 1.3 half-close lets
        # us still answer it (RFC 8446 §6.1).
        tls.sendall(data)


def run_server(args: argparse.Namespace) -> int:
    options = {
        **common_config(args),
        **_server_resumption_config(args),
        **_client_auth_config(args),
    }
    certificates = _server_certificates(args)
    config = profile_of(args).server_config(certificates=certificates, **options)
    if config.client_auth != "none":
        config.client_certificate_verifier()  # reads --client-cafile now, not per connection
    handler = handle_www if args.www else handle_echo
    lock = threading.Lock()

    def log(text: str) -> None:
        with lock:
            err(text)

    traces = ConnectionTraces(log) if args.trace else None

    def logged(tls: TLSSocket) -> None:
        prefix = traces.prefix() if traces else ""
        peer = peer_name(tls.socket.getpeername())
        info = tls.handshake_info
        if info is not None:
            log(f"{prefix}{peer}: {connection_line(info, config.client_auth)}")
        handler(tls)
        tls.close(timeout=min(args.timeout, 5.0))
        log(f"{prefix}{peer}: closed {'cleanly' if tls.clean_close else 'without close_notify'}")
        if traces:
            traces.end()

    def failed(peer: tuple[str, int], exc: BaseException) -> None:
        prefix = ""
        if traces:
            prefix = traces.prefix()
            if line := failure_trace(exc):
                log(prefix + line)
            traces.end()
        log(f"{prefix}{peer_name(peer)}: failed: {describe_error(exc)}")

    try:
        server = TLSServer(
            config, logged, args.host, args.port, timeout=args.timeout, on_error=failed,
            on_event=traces,
        )  # fmt: skip
    except OSError as exc:
        raise CliError(
            f"cannot listen on {peer_name((args.host, args.port))}: {describe_error(exc)}"
        ) from None
    host, port = server.address
    mode = "www" if args.www else "echo"
    log(f"* listening on {peer_name((host, port))} ({mode}); Ctrl-C stops")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log("* stopped")
    finally:
        server.shutdown(timeout=1.0)
    return 0
