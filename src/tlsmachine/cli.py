"""``tlsmachine client | server | demo``: a command line for interop testing and the quick start.

Uses only the public API, :mod:`tlsmachine.sockets` and :mod:`tlsmachine.trace`. Every wait
is bounded by ``--timeout`` (except reading stdin interactively); failures print one line
``tlsmachine: error: ...`` and exit non-zero (2 for bad arguments or configuration, 1 for
connection and TLS failures).

The client prints a summary of what was negotiated (and the server's chain), the server one
line per connection; ``--trace`` adds every handshake message as it is sent or received.

Options are defined once per group (``_add_*`` helpers, shared by client and server where both
have them) and turned into config fields by the matching ``_*_config`` helpers: a new option
such as ``--early-data`` or ``--psk`` goes into its group and its dict.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import os
import selectors
import sys
import threading
import time
from collections.abc import Callable, Sequence

from . import (
    AlertReceived,
    CertifiedKey,
    ClientSession,
    ConfigurationError,
    ConnectionState,
    Event,
    ExternalPsk,
    InMemoryClientSessionStore,
    SessionTicketReceived,
    TLSError,
    __version__,
    profiles,
)
from .cli_demo import run_demo
from .cli_report import (
    CliError,
    ConnectionTraces,
    client_summary,
    combined_hook,
    connection_line,
    connection_tracer,
    describe_error,
    early_data_outcome,
    failure_trace,
    peer_name,
    resumption_outcome,
    www_page,
)

# the types of ClientConfig/ServerConfig fields (versions, groups, key log)
from .config import KeyLogCallback
from .enums import AlertDescription, ProtocolVersion
from .keylog import KeyLogFile
from .profiles import PROFILES, Profile
from .sockets import TLSServer, TLSSocket, connect

VERSIONS = {"1.2": ProtocolVersion.TLS12, "1.3": ProtocolVersion.TLS13}
MAX_REQUEST = 16384
"""Longest HTTP request head ``--www`` reads before answering 400."""
MAX_SESSION_FILE = 1 << 17
"""Largest ``--sess-in`` file read (a session holds one ticket of at most 64 KiB)."""
CLIENT_AUTH = ("none", "optional", "required")


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- shared options -------------------------------------------------------------------------------


def _alpn(value: str) -> tuple[str, ...]:
    protocols = tuple(p.strip() for p in value.split(",") if p.strip())
    if not protocols:
        raise argparse.ArgumentTypeError("give at least one protocol, e.g. h2,http/1.1")
    return protocols


def _groups(value: str) -> tuple[str, ...]:
    """Group names, checked by the config (which accepts "x25519mlkem768", "P-256", ...)."""
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    if not names:
        raise argparse.ArgumentTypeError("give at least one group, e.g. X25519MLKEM768,x25519")
    return names


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--alpn", type=_alpn, default=(), metavar="P,...", help="ALPN protocols")
    p.add_argument(
        "--groups", type=_groups, metavar="G,...", help="key exchange groups, preferred first"
    )
    p.add_argument(
        "--profile",
        choices=tuple(PROFILES),
        help="a named policy (default, compat, pq-only, cnsa2); other options refine it",
    )
    p.add_argument("--min-version", choices=VERSIONS, help="lowest TLS version (1.2)")
    p.add_argument("--max-version", choices=VERSIONS, help="highest TLS version (1.3)")
    p.add_argument(
        "--timeout", type=float, default=30.0, metavar="SEC", help="network timeout (30)"
    )
    p.add_argument(
        "--keylog",
        metavar="FILE",
        help="append TLS secrets to FILE in NSS key log format (default: $SSLKEYLOGFILE)",
    )
    p.add_argument(
        "--psk",
        type=_external_psk,
        action="append",
        default=[],
        metavar="ID:HEX",
        help="an external pre-shared key: identity and key in hex (repeatable; RFC 8446 §2.2)",
    )
    p.add_argument(
        "--trace",
        action="store_true",
        help="print each handshake message to stderr as it is sent (->) or received (<-)",
    )


def _external_psk(value: str) -> ExternalPsk:
    identity, sep, key = value.rpartition(":")
    try:
        if not sep or not identity:
            raise ValueError("expected ID:HEX")
        return ExternalPsk(identity=identity.encode(), key=bytes.fromhex(key))
    except (ValueError, ConfigurationError) as exc:
        raise argparse.ArgumentTypeError(f"--psk {value!r}: {exc}") from None


def _common_config(args: argparse.Namespace) -> dict[str, object]:
    # defaults: TLS 1.2 and 1.3 (RFC 8996: nothing older)
    options: dict[str, object] = {
        "alpn_protocols": args.alpn,
        "keylog": _keylog(args),
        "external_psks": tuple(args.psk),
        "trace_handshake": args.trace,
    }
    if args.min_version:  # else the profile's (default TLS 1.2; RFC 8996: nothing older)
        options["min_version"] = VERSIONS[args.min_version]
    if args.max_version:
        options["max_version"] = VERSIONS[args.max_version]
    if args.groups:
        options["groups"] = args.groups
    return options


def _profile(args: argparse.Namespace) -> Profile:
    return profiles.get(args.profile or "default")


def _add_certificates(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--cert", action="append", metavar="PEM", help=f"{what} chain, leaf first (repeatable)"
    )
    p.add_argument(
        "--key",
        action="append",
        metavar="PEM",
        help="key of each --cert (default: the --cert file)",
    )


def _load_certificates(args: argparse.Namespace) -> tuple[CertifiedKey, ...]:
    """The --cert/--key chains (empty when none were given)."""
    certs, keys = args.cert or [], args.key or []
    if keys and len(keys) != len(certs):
        raise CliError("give one --key per --cert (or put each key into its --cert file)", 2)
    return tuple(CertifiedKey.load(cert, keys[i] if keys else None) for i, cert in enumerate(certs))


def _keylog(args: argparse.Namespace) -> KeyLogCallback | None:
    path = args.keylog or os.environ.get("SSLKEYLOGFILE") or None
    if path is None:
        return None

    def stopped(exc: OSError) -> None:
        _err(f"tlsmachine: warning: key log {path}: {describe_error(exc)}; stopped")

    try:
        keylog = KeyLogFile(path, on_error=stopped)
    except OSError as exc:
        raise CliError(f"cannot open key log file {path}: {describe_error(exc)}", 2) from None
    source = "" if args.keylog else " (SSLKEYLOGFILE)"
    _err(f"* appending TLS secrets to {path}{source}")
    return keylog


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host.removeprefix("[").removesuffix("]"), int(port)


# -- client ---------------------------------------------------------------------------------------


def _add_client_resumption(p: argparse.ArgumentParser) -> None:
    group = p.add_argument_group("session resumption")
    group.add_argument("--sess-in", metavar="FILE", help="offer the session saved in FILE")
    group.add_argument(
        "--sess-out", metavar="FILE", help="save the last session ticket received to FILE"
    )
    group.add_argument(
        "--early-data",
        metavar="FILE",
        help="send FILE as 0-RTT data when the offered session allows it (RFC 8446 §2.3)",
    )


def load_session(path: str) -> ClientSession:
    """A session written by ``--sess-out``; an unreadable or corrupt file is a CliError."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_SESSION_FILE + 1)
    except OSError as exc:
        raise CliError(f"cannot read session file {path}: {describe_error(exc)}", 2) from None
    if len(data) > MAX_SESSION_FILE:
        raise CliError(f"{path}: not a session file (larger than {MAX_SESSION_FILE} bytes)", 2)
    try:
        return ClientSession.from_bytes(data)
    except TLSError as exc:
        raise CliError(f"{path}: not a usable session file ({exc})", 2) from None


def save_session(path: str, session: ClientSession) -> str | None:
    """Write ``session`` to ``path`` (owner-only: it holds the PSK); an error message or None."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(session.to_bytes())
    except OSError as exc:
        return f"cannot write session file {path}: {describe_error(exc)}"
    return None


def _client_resumption_config(
    args: argparse.Namespace, server_name: str
) -> tuple[dict[str, object], str | None]:
    """ClientConfig fields for resumption, and why a --sess-in session is not offered."""
    if not args.sess_in:
        return {}, None
    session = load_session(args.sess_in)
    store = InMemoryClientSessionStore()
    store.put(session)
    why_not = None
    if session.server_name != server_name:
        why_not = f"it is for {session.server_name}, not {server_name}"
    elif session.expired(time.time()):
        why_not = "it has expired"
    return {"session_store": store, "early_data": bool(args.early_data)}, why_not


def _read_early_data(args: argparse.Namespace) -> bytes:
    if not args.early_data:
        return b""
    try:
        with open(args.early_data, "rb") as f:
            return f.read()
    except OSError as exc:
        raise CliError(f"cannot read {args.early_data}: {describe_error(exc)}", 2) from None


def _hint(exc: BaseException, args: argparse.Namespace) -> str:
    if (
        isinstance(exc, AlertReceived)
        and exc.description == AlertDescription.CERTIFICATE_REQUIRED
        and not args.cert
    ):
        return " (the server requires a client certificate: --cert, --key)"
    return ""


class SessionSaver:
    """``--sess-out``: writes each ticket as it arrives, so the file holds the last one received
    even if the connection fails or is interrupted afterwards."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.saved = 0
        self.problem: str | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, SessionTicketReceived) and self.problem is None:
            self.problem = save_session(self.path, event.session)
            if self.problem is None:
                self.saved += 1

    def report(self, *, failed: bool = False) -> None:
        """Say what was written (the write problem only if the connection failed too)."""
        if self.problem is not None:
            if failed:
                _err(f"* {self.problem}")
        elif not self.saved:
            _err(f"* no session ticket received: {self.path} not written")
        else:
            count = f"{self.saved} tickets" if self.saved > 1 else "1 ticket"
            _err(f"* session saved to {self.path} ({count} received, the last one kept)")


def run_client(args: argparse.Namespace) -> int:
    host, port = args.target
    server_name = args.servername or host
    resumption, not_offered = _client_resumption_config(args, server_name)
    options = {**_common_config(args), **resumption}
    config = _profile(args).client_config(
        cafile=args.cafile,
        verify_certificates=not args.insecure,
        certificates=_load_certificates(args),
        **options,
    )
    saver = SessionSaver(args.sess_out) if args.sess_out else None
    early_data = _read_early_data(args)
    if early_data and not args.sess_in:
        _err("* --early-data needs a session (--sess-in): it goes after the handshake")
    if not_offered is not None:
        _err(f"* not offering the session in {args.sess_in}: {not_offered}")
    tracer = connection_tracer(_err) if args.trace else None
    try:
        tls = connect(
            host, port, config=config, server_hostname=server_name,
            timeout=args.timeout, on_event=combined_hook(saver, tracer), early_data=early_data,
        )  # fmt: skip
    except (TLSError, OSError) as exc:
        if args.trace and (line := failure_trace(exc)):
            _err(line)
        raise CliError(f"{host}:{port}: {describe_error(exc)}{_hint(exc, args)}") from None
    info = tls.handshake_info
    if info is None:  # pragma: no cover - connect() returns after the handshake
        raise CliError("no handshake")
    _err(f"* connected to {host}:{port} (server name {server_name})")
    summary = client_summary(
        info,
        resumed=resumption_outcome(info, offered=bool(args.sess_in) and not_offered is None),
        early_data=early_data_outcome(early_data, info.early_data_accepted),
        trust="NOT verified (--insecure)" if args.insecure else "verified",
        now=dt.datetime.now(dt.UTC),
    )
    for line in summary:
        _err(f"* {line}")
    if early_data and not info.early_data_accepted:
        # RFC 8446 §4.2.10 leaves resending to the application; the user asked for these bytes
        # to be sent, and the session's ALPN still applies (the offer required it).
        tls.sendall(tls.rejected_early_data or early_data)
    try:
        _talk(tls, args)
    except BaseException:
        if saver is not None:
            saver.report(failed=True)
        raise
    if saver is not None:
        saver.report()
        if saver.problem is not None:
            raise CliError(saver.problem)
    return 0


def _talk(tls: TLSSocket, args: argparse.Namespace) -> None:
    """The copy loop and the close; failures become CliError."""
    try:
        _copy_loop(tls, args.timeout, args.half_close)
    except (TLSError, OSError) as exc:
        tls.socket.close()
        if args.trace and (line := failure_trace(exc)):
            _err(line)
        raise CliError(f"{describe_error(exc)}{_hint(exc, args)}") from None
    except KeyboardInterrupt:
        tls.close(timeout=1.0)
        raise
    tls.close(timeout=1.0)
    if not tls.clean_close:
        raise CliError("the server closed the connection without close_notify (truncated)")


def _copy_loop(tls: TLSSocket, timeout: float, half_close: bool) -> None:
    """stdin -> connection, connection -> stdout, until the server closes.

    At the end of stdin we keep reading (bounded by ``timeout`` from then on); with
    ``half_close`` we first send our close_notify (RFC 8446 §6.1 allows a half-closed
    connection), which tells servers such as echo servers that we are done.
    """
    stdin = sys.stdin.buffer.fileno()
    stdout = sys.stdout.buffer
    # select() (unlike epoll) also accepts regular files, which are always readable
    with selectors.SelectSelector() as sel:
        sel.register(tls.socket, selectors.EVENT_READ, "net")
        sel.register(stdin, selectors.EVENT_READ, "stdin")
        stdin_open = True
        while True:
            ready = sel.select(None if stdin_open else timeout)
            if not ready:
                hint = "" if half_close else " (--half-close sends close_notify at end of input)"
                raise CliError(f"the server did not close within {timeout:g}s{hint}")
            for key, _ in ready:
                if key.data == "stdin":
                    chunk = os.read(stdin, 16384)
                    if chunk:
                        tls.sendall(chunk)
                        continue
                    sel.unregister(stdin)
                    stdin_open = False
                    if half_close:
                        tls.shutdown_write()
                else:
                    data = tls.recv_once(sys.maxsize)
                    if data is None:
                        return
                    stdout.write(data)
                    stdout.flush()
                    if tls.peer_closed:  # all delivered; the socket may not get readable again
                        return


# -- server ---------------------------------------------------------------------------------------


def _ticket_count(value: str) -> int:
    if not value.isdigit() or not 0 <= int(value) <= 255:
        raise argparse.ArgumentTypeError(f"expected 0..255, got {value!r}")
    return int(value)


def _add_server_resumption(p: argparse.ArgumentParser) -> None:
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


def _add_client_auth(p: argparse.ArgumentParser) -> None:
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


def _check_server(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Checks across options; a problem is a usage error (exit status 2)."""
    if args.verify_client != "none" and not args.client_cafile:
        parser.error(f"--verify-client {args.verify_client} needs --client-cafile PEM")
    if args.client_cafile and args.verify_client == "none":
        parser.error("--client-cafile needs --verify-client optional or required")


def _server_certificates(args: argparse.Namespace) -> tuple[CertifiedKey, ...]:
    certificates = _load_certificates(args)
    if certificates:
        return certificates
    ephemeral = CertifiedKey.self_signed(("localhost", "127.0.0.1", "::1"), "ecdsa-p256")
    _err("* no --cert: using an ephemeral self-signed ECDSA P-256 certificate for localhost")
    _err(f"* SHA-256 fingerprint {ephemeral.fingerprint_sha256()}")
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
        **_common_config(args),
        **_server_resumption_config(args),
        **_client_auth_config(args),
    }
    certificates = _server_certificates(args)
    config = _profile(args).server_config(certificates=certificates, **options)
    if config.client_auth != "none":
        config.client_certificate_verifier()  # reads --client-cafile now, not per connection
    handler = handle_www if args.www else handle_echo
    lock = threading.Lock()

    def log(text: str) -> None:
        with lock:
            _err(text)

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
        raise CliError(f"cannot listen on {args.host}:{args.port}: {describe_error(exc)}") from None
    host, port = server.address
    mode = "www" if args.www else "echo"
    log(f"* listening on {host}:{port} ({mode}); Ctrl-C stops")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log("* stopped")
    finally:
        server.shutdown(timeout=1.0)
    return 0


# -- entry point ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tlsmachine", description="A sans-I/O TLS 1.3 library: client, server and demo."
    )
    parser.add_argument("--version", action="version", version=f"tlsmachine {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    client = sub.add_parser("client", help="connect; copy stdin to the server, replies to stdout")
    client.add_argument("target", type=_host_port, metavar="HOST:PORT")
    client.add_argument("--cafile", metavar="PEM", help="trust anchors (default: system store)")
    client.add_argument(
        "--insecure", action="store_true", help="do not verify the server certificate"
    )
    client.add_argument("--servername", metavar="NAME", help="SNI and name to verify")
    client.add_argument(
        "--half-close",
        action="store_true",
        help="send close_notify at the end of stdin (then read until the server closes)",
    )
    _add_certificates(client, "client certificate")
    _add_common(client)
    _add_client_resumption(client)
    client.set_defaults(func=run_client)

    server = sub.add_parser("server", help="serve TLS (echo or a -www style status page)")
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=4433, help="0 picks a free port")
    _add_certificates(server, "certificate")
    mode = server.add_mutually_exclusive_group()
    mode.add_argument("--www", action="store_true", help="answer HTTP GET with a status page")
    mode.add_argument("--echo", action="store_true", help="echo application data (default)")
    _add_common(server)
    _add_server_resumption(server)
    _add_client_auth(server)
    server.set_defaults(func=run_server, check=functools.partial(_check_server, server))

    demo = sub.add_parser("demo", help="a local handshake with a traced message flow")
    demo.add_argument(
        "--key-type",
        default="ecdsa-p256",
        choices=("ecdsa-p256", "ecdsa-p384", "rsa-2048", "ed25519", "mldsa65"),
    )
    demo.add_argument("--hrr", action="store_true", help="force a HelloRetryRequest")
    demo.add_argument("--timeout", type=float, default=10.0, metavar="SEC")
    demo.set_defaults(func=run_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    check: Callable[[argparse.Namespace], None] | None = getattr(args, "check", None)
    if check is not None:
        check(args)  # exits with status 2 and the subcommand's usage on a conflict
    try:
        status: int = args.func(args)
    except CliError as exc:
        _err(f"tlsmachine: error: {exc}")
        return exc.status
    except ConfigurationError as exc:
        _err(f"tlsmachine: error: {describe_error(exc)}")
        return 2
    except KeyboardInterrupt:
        _err("tlsmachine: interrupted")
        return 130
    except (TLSError, OSError) as exc:
        _err(f"tlsmachine: error: {describe_error(exc)}")
        return 1
    except Exception as exc:  # a bug: still one line, with the exception type to report it
        _err(f"tlsmachine: internal error: {exc!r}")
        return 1
    return status
