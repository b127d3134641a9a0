"""What ``tlsmachine client | server | demo`` print, kept apart from running connections.

One-line error descriptions, the client's summary and the server's chain, the server's line per
connection and its ``--www`` page, the ``--trace`` event hooks (``#N``-prefixed per connection
on the server) and the demo's report: plain functions of handshake results, so the runners in
:mod:`tlsmachine.cli` only decide when to print them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import itertools
import threading
from collections.abc import Callable, Sequence

from cryptography import x509

from . import (
    Event,
    HandshakeComplete,
    ProtocolError,
    TLSError,
    __version__,
)
from .trace import TraceLog, alert_line


class CliError(Exception):
    """A failure reported as one line on stderr; ``status`` is the exit code."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def describe_error(exc: BaseException) -> str:
    """One line saying what went wrong (and which alert we sent, for protocol errors)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, ProtocolError):
        return f"{text} (sent alert {exc.alert.name.lower()})"
    if isinstance(exc, TLSError):
        return text
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError):
        return exc.strerror or text
    return text


def _summary(info: HandshakeComplete) -> str:
    parts = [info.version, info.cipher_suite]
    parts.append(f"group {info.group or 'none'}")
    if info.signature_scheme:
        parts.append(f"signature {info.signature_scheme}")
    parts.append(f"ALPN {info.alpn_protocol or 'none'}")
    if info.hello_retry:
        parts.append("after HelloRetryRequest")
    if info.psk_identity is not None:
        parts.append(f"external PSK {info.psk_identity.decode('ascii', 'replace')}")
    if info.early_data_accepted:
        parts.append("0-RTT accepted")
    return ", ".join(parts)


def _subject(cert: x509.Certificate) -> str:
    try:
        return cert.subject.rfc4514_string() or "(empty subject)"
    except ValueError:
        return "(unparsable subject)"


def _issuer(cert: x509.Certificate) -> str:
    try:
        return cert.issuer.rfc4514_string() or "(empty issuer)"
    except ValueError:
        return "(unparsable issuer)"


# -- --trace ------------------------------------------------------------------------------------

EventHook = Callable[[Event], None]


def combined_hook(*hooks: EventHook | None) -> EventHook | None:
    """One ``on_event`` that calls each hook given, in order."""
    active = [hook for hook in hooks if hook is not None]
    if not active:
        return None

    def on_event(event: Event) -> None:
        for hook in active:
            hook(event)

    return on_event


def connection_tracer(write: Callable[[str], None]) -> EventHook:
    """``--trace`` for one connection: its events as trace lines, in order."""
    log = TraceLog()

    def on_event(event: Event) -> None:
        for line in log.lines(event):
            write(line)

    return on_event


def failure_trace(exc: BaseException) -> str | None:
    """The fatal alert we sent, as a trace line: the core reports it as the exception, not as
    an event (``None`` for other failures: a fatal alert received is traced as a
    :class:`RecordTraced` event like any other, and e.g. a timeout sends none)."""
    if isinstance(exc, ProtocolError):  # the connection sent exc.alert (RFC 8446 §6)
        return alert_line("sent", exc.alert, "fatal")
    return None


# -- the client's summary -------------------------------------------------------------------------


def _validity(cert: x509.Certificate, now: dt.datetime, *, leaf: bool) -> str:
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    text = f"{start:%Y-%m-%d %H:%M:%S} .. {end:%Y-%m-%d %H:%M:%S} UTC"
    if now < start:
        return f"{text} (NOT YET VALID)"
    if now > end:
        return f"{text} (EXPIRED {(now - end).days} days ago)"
    return f"{text} ({(end - now).days} days left)" if leaf else text  # whole days, rounded down


def chain_lines(certificates: Sequence[x509.Certificate], now: dt.datetime) -> list[str]:
    """Subject, issuer and validity of each certificate, leaf first (days left for the leaf)."""
    lines = []
    for i, cert in enumerate(certificates):
        lines += [
            f"  [{i}] subject  {_subject(cert)}",
            f"      issuer   {_issuer(cert)}",
            f"      valid    {_validity(cert, now, leaf=i == 0)}",
        ]
    return lines


def _server_name(name: str | None) -> str:
    if name is None:
        return "none"
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return name
    return f"{name} (an IP address: not sent as SNI, RFC 6066 §3)"


def client_summary(
    info: HandshakeComplete,
    *,
    resumed: str,
    early_data: str,
    trust: str,
    now: dt.datetime,
) -> list[str]:
    """What the client negotiated, one row a line, then the server's chain."""
    if info.peer_certificates and info.resumed:
        count = len(info.peer_certificates)
        certificate = f"chain of {count} verified in the original handshake (resumed)"
    elif info.peer_certificates:
        count = len(info.peer_certificates)
        certificate = f"{trust}, chain of {count}"
    elif info.psk_identity is not None:
        identity = info.psk_identity.decode("ascii", "replace")
        certificate = f"none: authenticated with the external PSK {identity!r}"
    else:
        certificate = "none: resumed (the server authenticated in the original handshake)"
    rows = [
        ("version", info.version),
        ("cipher suite", info.cipher_suite),
        ("group", info.group or "none"),
        ("signature", info.signature_scheme or "none"),
        ("ALPN", info.alpn_protocol or "none"),
        ("server name", _server_name(info.server_name)),
        ("hello retry", "yes" if info.hello_retry else "no"),
        ("resumed", resumed),
        ("early data", early_data),
        ("certificate", certificate),
    ]
    lines = [f"{name:<13} {value}" for name, value in rows]
    return lines + chain_lines(info.peer_certificates, now)


def resumption_outcome(info: HandshakeComplete, *, offered: bool) -> str:
    if info.resumed:
        return "yes"
    if info.psk_identity is not None:
        return "no (external PSK)"
    if offered:
        return "no (full handshake: the server did not accept the offered session)"
    return "no (full handshake)"


def early_data_outcome(early_data: bytes, accepted: bool) -> str:
    """What became of ``--early-data`` (rejected data goes again as ordinary data)."""
    if not early_data:
        return "none"
    if accepted:
        return f"accepted ({len(early_data)} bytes sent as 0-RTT)"
    return f"not accepted: sending its {len(early_data)} bytes after the handshake"


# -- the server's page and log --------------------------------------------------------------------


def www_page(info: HandshakeComplete | None) -> bytes:
    lines = [f"tlsmachine {__version__}", ""]
    if info is not None:
        client_cert = _subject(info.peer_certificates[0]) if info.peer_certificates else "none"
        lines += [
            f"Protocol       : {info.version}",
            f"Cipher suite   : {info.cipher_suite}",
            f"Group          : {info.group or 'none'}",
            f"Signature      : {info.signature_scheme or 'none'}",
            f"ALPN           : {info.alpn_protocol or 'none'}",
            f"Server name    : {info.server_name or 'none'}",
            f"HelloRetry     : {'yes' if info.hello_retry else 'no'}",
            f"Resumed        : {'yes' if info.resumed else 'no'}",
            f"Client cert    : {client_cert}",
        ]
    return ("\n".join(lines) + "\n").encode()


def connection_line(info: HandshakeComplete, client_auth: str) -> str:
    """What the server prints per handshake: the summary, SNI, resumption, client identity."""
    parts = [_summary(info), f"server name {info.server_name or 'none'}"]
    if info.resumed:
        parts.append("resumed")
    if info.peer_certificates:
        parts.append(f"client certificate {_subject(info.peer_certificates[0])} (verified)")
    elif info.resumed and client_auth != "none":
        parts.append("no client certificate (not requested when resuming)")
    elif client_auth != "none":
        parts.append("no client certificate")
    return ", ".join(parts)


class ConnectionTraces:
    """``tlsmachine server --trace``: every connection's trace lines, each prefixed ``#N``.

    The server's event hook is shared by all connections and its events do not say whose they
    are; TLSServer runs each connection (handshake, handler, ``on_error``) in a thread of its
    own, so a thread-local number and TraceLog tell them apart. The connection's log lines
    carry the same ``#N`` (and the peer address, which the hook never sees).
    """

    def __init__(self, log: Callable[[str], None]) -> None:
        self._log = log
        self._local = threading.local()
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def prefix(self) -> str:
        """``#N `` for the calling thread's connection, numbered on first use."""
        number = getattr(self._local, "number", None)
        if number is None:
            with self._lock:
                number = next(self._numbers)
            self._local.number = number
            self._local.trace = TraceLog()
        return f"#{number} "

    def __call__(self, event: Event) -> None:
        prefix = self.prefix()
        trace: TraceLog = self._local.trace
        for line in trace.lines(event):
            self._log(prefix + line)

    def end(self) -> None:
        """The calling thread's connection is over (its thread might serve another)."""
        self._local.__dict__.clear()


def peer_name(peer: object) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        host = str(peer[0])
        return f"[{host}]:{peer[1]}" if ":" in host else f"{host}:{peer[1]}"
    return str(peer)
