"""``tlsmachine client``: connect, copy stdin to the server and its replies to stdout.

Prints a summary of what was negotiated (and the server's chain); ``--sess-out``/``--sess-in``
keep a session across runs (like ``openssl s_client``), ``--early-data`` sends 0-RTT with it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import selectors
import sys
import time

from . import (
    AlertReceived,
    ClientSession,
    Event,
    InMemoryClientSessionStore,
    SessionTicketReceived,
    TLSError,
)
from .cert_facts import HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH
from .cli_options import (
    common_config,
    err,
    load_certificates,
    profile_of,
)
from .cli_report import (
    CliError,
    client_summary,
    combined_hook,
    connection_tracer,
    describe_error,
    early_data_outcome,
    failure_trace,
    peer_name,
    resumption_outcome,
)
from .enums import AlertDescription
from .errors import BadCertificate, UnknownCA
from .sockets import TLSSocket, connect

_NAME_MISMATCH_CODES = (HOSTNAME_MISMATCH, IP_ADDRESS_MISMATCH)

MAX_SESSION_FILE = 1 << 17
"""Largest ``--sess-in`` file read (a session holds one ticket of at most 64 KiB)."""


# -- client ---------------------------------------------------------------------------------------


def add_client_resumption(p: argparse.ArgumentParser) -> None:
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
    if isinstance(exc, UnknownCA):
        # the library's advice names ClientConfig's arguments; here they are an option
        return " (to trust that certificate or its CA here: --cafile PEM)"
    if isinstance(exc, BadCertificate) and exc.verify_code in _NAME_MISMATCH_CODES:
        return " (--servername NAME checks the certificate against another name)"
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
                err(f"* {self.problem}")
        elif not self.saved:
            err(f"* no session ticket received: {self.path} not written")
        else:
            count = f"{self.saved} tickets" if self.saved > 1 else "1 ticket"
            err(f"* session saved to {self.path} ({count} received, the last one kept)")


def run_client(args: argparse.Namespace) -> int:
    host, port = args.target
    server_name = args.servername or host
    resumption, not_offered = _client_resumption_config(args, server_name)
    options = {**common_config(args), **resumption}
    config = profile_of(args).client_config(
        cafile=args.cafile,
        verify_certificates=not args.insecure,
        certificates=load_certificates(args),
        **options,
    )
    saver = SessionSaver(args.sess_out) if args.sess_out else None
    early_data = _read_early_data(args)
    if early_data and not args.sess_in:
        err("* --early-data needs a session (--sess-in): it goes after the handshake")
    if not_offered is not None:
        err(f"* not offering the session in {args.sess_in}: {not_offered}")
    tracer = connection_tracer(err) if args.trace else None
    try:
        tls = connect(
            host, port, config=config, server_hostname=server_name,
            timeout=args.timeout, on_event=combined_hook(saver, tracer), early_data=early_data,
        )  # fmt: skip
    except (TLSError, OSError) as exc:
        if args.trace and (line := failure_trace(exc)):
            err(line)
        raise CliError(
            f"{peer_name((host, port))}: {describe_error(exc)}{_hint(exc, args)}"
        ) from None
    info = tls.handshake_info
    if info is None:  # pragma: no cover - connect() returns after the handshake
        raise CliError("no handshake")
    err(f"* connected to {peer_name((host, port))} (server name {server_name})")
    summary = client_summary(
        info,
        resumed=resumption_outcome(info, offered=bool(args.sess_in) and not_offered is None),
        early_data=early_data_outcome(early_data, info.early_data_accepted),
        trust="NOT verified (--insecure)" if args.insecure else "verified",
        now=dt.datetime.now(dt.UTC),
    )
    for line in summary:
        err(f"* {line}")
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
            err(line)
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
