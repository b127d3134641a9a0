"""Client-side sessions: what a client keeps to resume, and where (RFC 8446 §4.6.1, RFC 5077).

:class:`ClientSession` is one resumable session, TLS 1.3 (a ticket and its resumption PSK) or
TLS 1.2 (a master secret with a session ID and/or an RFC 5077 ticket), serializable with
:meth:`~ClientSession.to_bytes` / :meth:`~ClientSession.from_bytes` (formats 1-3 below).
:class:`ClientSessionStore` is the store a client is configured with;
:class:`InMemoryClientSessionStore` the bounded default. Re-exported by
:mod:`tlsmachine.session`.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Protocol

from .codec import Reader, Writer
from .errors import ConfigurationError, DecodeError
from .fast_init import fast_init
from .session_codec import MAX_TICKET_LIFETIME, read_certificate_chain, write_certificate_chain

__all__ = [
    "TLS12_DEFAULT_SESSION_LIFETIME",
    "TLS12_MAX_SESSION_LIFETIME",
    "ClientSession",
    "ClientSessionStore",
    "InMemoryClientSessionStore",
    "OfferedSessionStore",
]

_SESSION_FORMAT = 1
"""TLS 1.3 sessions (what :meth:`ClientSession.to_bytes` always wrote before TLS 1.2)."""
_SESSION_FORMAT_VERSIONED = 2
"""Sessions of other versions (TLS 1.2), with the protocol version and the TLS 1.2 fields."""
_SESSION_FORMAT_WITH_CHAIN = 3
"""A format 1 or 2 session, then the server's certificate chain (earlier releases cannot read
it; sessions without a chain are still written as format 1 or 2)."""
_TLS12 = 0x0303  # ProtocolVersion.TLS12
_TLS13 = 0x0304  # ProtocolVersion.TLS13
TLS12_DEFAULT_SESSION_LIFETIME = 7200
"""How long a client keeps a TLS 1.2 session whose lifetime is unknown: a session-ID-only
session, or a ticket with a lifetime hint of 0 ("unspecified", RFC 5077 §3.3). Two hours, as
OpenSSL assumes; the server may forget it sooner, which costs only a full handshake."""
TLS12_MAX_SESSION_LIFETIME = 86_400
"""The longest a client keeps a TLS 1.2 session, whatever the ticket's lifetime hint: RFC 5246
Appendix F.1.4 suggests 24 hours, as a stolen master secret is good until the session is
retired (RFC 5077 §3.3 lets a client delete a ticket earlier)."""


@fast_init
@dataclass(frozen=True, slots=True)
class ClientSession:
    """A session the client can resume, with what it needs to do so.

    TLS 1.3 (RFC 8446 §4.6.1, §4.2.11): ``psk`` is the resumption PSK of one ticket. TLS 1.2
    (``version`` 0x0303, RFC 5246 §7.3, RFC 5077): ``psk`` is the 48-byte master secret,
    ``session_id`` the server's session ID and ``ticket`` its RFC 5077 ticket (either may be
    empty; with both empty there is nothing to resume, so such a session is not stored and
    :meth:`from_bytes` refuses it), ``ticket_age_add`` and ``max_early_data_size`` are 0, and
    ``ticket_lifetime`` is the ticket's lifetime hint (0: unknown, see :meth:`expired`).

    Serializable with :meth:`to_bytes` / :meth:`from_bytes` so a program can keep sessions
    across runs (store them as secrets: they hold the PSK or master secret).
    """

    server_name: str
    cipher_suite: int
    psk: bytes = field(repr=False)
    ticket: bytes = field(repr=False)
    ticket_lifetime: int
    ticket_age_add: int
    received_at: float
    """Seconds since the epoch, from the client's clock."""
    max_early_data_size: int
    alpn_protocol: str | None
    version: int = _TLS13
    """The protocol version of the session: 0x0304 (TLS 1.3) or 0x0303 (TLS 1.2)."""
    session_id: bytes = field(default=b"", repr=False)
    """TLS 1.2: the server's session ID (RFC 5246 §7.4.1.3), ``<0..32>``; empty in TLS 1.3."""
    extended_master_secret: bool = True
    """TLS 1.2: the master secret was derived with RFC 7627 (§5.3: a resumption must offer the
    extension again). Always true in TLS 1.3, whose key schedule binds the transcript."""
    server_certificates: tuple[bytes, ...] = field(default=(), repr=False)
    """The server's certificate chain (DER) as the full handshake verified it: a resumed
    connection has no Certificate message (RFC 8446 §2.2, RFC 5246 §7.3) and reports this one,
    as ``ssl`` does (``getpeercert()`` works on a resumed connection)."""

    def __post_init__(self) -> None:
        if self.version == _TLS13:
            if self.session_id or not self.extended_master_secret:
                raise ValueError("a TLS 1.3 session has no session ID and no legacy EMS flag")
        elif self.version == _TLS12:
            if len(self.psk) != 48:
                raise ValueError("a TLS 1.2 session's master secret is 48 bytes")
            if len(self.session_id) > 32:
                raise ValueError("a TLS 1.2 session ID is at most 32 bytes")
            if self.ticket_age_add or self.max_early_data_size:
                raise ValueError("a TLS 1.2 session has no ticket_age_add or early data")
        else:
            raise ValueError(f"no sessions for protocol version 0x{self.version:04x}")

    @property
    def is_tls12(self) -> bool:
        """A TLS 1.2 session (resumed by session ID or RFC 5077 ticket, never as a PSK)."""
        return self.version == _TLS12

    def expired(self, now: float) -> bool:
        """TLS 1.3 (RFC 8446 §4.6.1): usable for ``ticket_lifetime`` seconds (at most 7 days).

        TLS 1.2: a ``ticket_lifetime`` of 0 means :data:`TLS12_DEFAULT_SESSION_LIFETIME`; any
        lifetime is capped at :data:`TLS12_MAX_SESSION_LIFETIME` (24 hours).
        """
        if self.version == _TLS12:
            lifetime = self.ticket_lifetime or TLS12_DEFAULT_SESSION_LIFETIME
            return now >= self.received_at + min(lifetime, TLS12_MAX_SESSION_LIFETIME)
        return now >= self.received_at + min(self.ticket_lifetime, MAX_TICKET_LIFETIME)

    def obfuscated_ticket_age(self, now: float) -> int:
        """The age in milliseconds plus ticket_age_add, mod 2^32 (RFC 8446 §4.2.11.1)."""
        age_ms = max(0, int((now - self.received_at) * 1000))
        return (age_ms + self.ticket_age_add) & 0xFFFFFFFF

    def to_bytes(self) -> bytes:
        """Format 1 for TLS 1.3 (readable by earlier releases), format 2 for TLS 1.2; format 3
        wraps either with the server's certificate chain."""
        if self.server_certificates:
            w = Writer()
            w.u8(_SESSION_FORMAT_WITH_CHAIN)
            w.opaque(2, replace(self, server_certificates=()).to_bytes())
            write_certificate_chain(w, self.server_certificates)
            return w.getvalue()
        w = Writer()
        if self.version != _TLS13:
            w.u8(_SESSION_FORMAT_VERSIONED)
            w.u16(self.version)
            w.opaque(2, self.server_name.encode())
            w.u16(self.cipher_suite)
            w.bytes(self.psk)
            w.opaque(1, self.session_id)
            w.opaque(2, self.ticket)
            w.u32(self.ticket_lifetime)
            w.u32(int(self.received_at) & 0xFFFFFFFF)
            w.u8(1 if self.extended_master_secret else 0)
            w.opaque(1, (self.alpn_protocol or "").encode())
            return w.getvalue()
        w.u8(_SESSION_FORMAT)
        w.opaque(2, self.server_name.encode())
        w.u16(self.cipher_suite)
        w.opaque(1, self.psk)
        w.opaque(2, self.ticket)
        w.u32(self.ticket_lifetime)
        w.u32(self.ticket_age_add)
        w.u32(int(self.received_at) & 0xFFFFFFFF)
        w.u32(self.max_early_data_size)
        w.opaque(1, (self.alpn_protocol or "").encode())
        return w.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ClientSession:
        """Parse :meth:`to_bytes` output (either format); anything else raises
        :class:`DecodeError`."""
        r = Reader(data)
        session_format = r.u8("session format")
        try:
            if session_format == _SESSION_FORMAT:
                session = cls._from_format_1(r)
            elif session_format == _SESSION_FORMAT_VERSIONED:
                session = cls._from_format_2(r)
            elif session_format == _SESSION_FORMAT_WITH_CHAIN:
                inner = r.opaque(2, min=1, what="session")
                if inner[0] == _SESSION_FORMAT_WITH_CHAIN:
                    raise DecodeError("a format 3 session inside a format 3 session")
                chain = read_certificate_chain(r)
                session = replace(cls.from_bytes(inner), server_certificates=chain)
            else:
                raise DecodeError("unknown session format")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"session has a non-ASCII name: {exc}") from None
        r.expect_end("session")
        return session

    @classmethod
    def _from_format_1(cls, r: Reader) -> ClientSession:
        return cls(
            server_name=r.opaque(2, min=1, what="server_name").decode("ascii"),
            cipher_suite=r.u16("cipher_suite"),
            psk=r.opaque(1, min=32, what="psk"),
            ticket=r.opaque(2, min=1, what="ticket"),
            ticket_lifetime=r.u32("ticket_lifetime"),
            ticket_age_add=r.u32("ticket_age_add"),
            received_at=float(r.u32("received_at")),
            max_early_data_size=r.u32("max_early_data_size"),
            alpn_protocol=r.opaque(1, what="alpn").decode("ascii") or None,
        )

    @classmethod
    def _from_format_2(cls, r: Reader) -> ClientSession:
        if r.u16("session version") != _TLS12:
            raise DecodeError("session format 2 holds TLS 1.2 sessions only")
        server_name = r.opaque(2, min=1, what="server_name").decode("ascii")
        cipher_suite = r.u16("cipher_suite")
        master_secret = r.bytes(48, "master_secret")
        session_id = r.opaque(1, max=32, what="session_id")
        ticket = r.opaque(2, what="ticket")
        if not session_id and not ticket:
            raise DecodeError("a TLS 1.2 session needs a session ID or a ticket to resume")
        ticket_lifetime = r.u32("ticket_lifetime")
        received_at = float(r.u32("received_at"))
        ems = r.u8("extended_master_secret")
        if ems > 1:
            raise DecodeError("extended_master_secret flag is neither 0 nor 1")
        return cls(
            server_name=server_name,
            cipher_suite=cipher_suite,
            psk=master_secret,
            ticket=ticket,
            ticket_lifetime=ticket_lifetime,
            ticket_age_add=0,
            received_at=received_at,
            max_early_data_size=0,
            alpn_protocol=r.opaque(1, what="alpn").decode("ascii") or None,
            version=_TLS12,
            session_id=session_id,
            extended_master_secret=ems == 1,
        )


class ClientSessionStore(Protocol):
    """Where a client keeps sessions between connections (called by ClientConnection)."""

    def put(self, session: ClientSession) -> None: ...

    def get(self, server_name: str, now: float) -> ClientSession | None:
        """A usable session for ``server_name``, removed from the store (tickets are
        single-use where possible, RFC 8446 Appendix C.4)."""
        ...


class InMemoryClientSessionStore:
    """Bounded, in-memory session store: the newest few tickets per server name, LRU by name.

    TLS 1.3 and TLS 1.2 sessions share it. ``get`` hands each session out once: a TLS 1.2
    client puts a session back after resuming it (RFC 5246 §7.4.1.2 lets it be resumed again),
    so one that failed (RFC 5246 §7.2.2) or that the server declined is forgotten.
    """

    def __init__(self, *, max_servers: int = 256, tickets_per_server: int = 4) -> None:
        if max_servers < 1 or tickets_per_server < 1:
            raise ConfigurationError("session store limits must be at least 1")
        self._max_servers = max_servers
        self._per_server = tickets_per_server
        self._sessions: OrderedDict[str, list[ClientSession]] = OrderedDict()

    def __len__(self) -> int:
        return sum(len(v) for v in self._sessions.values())

    def put(self, session: ClientSession) -> None:
        """Keep ``session`` as the newest for its server name. A TLS 1.2 session stored again
        (the same master secret, e.g. with a new ticket after resuming, RFC 5077 §3.1) replaces
        its older copy."""
        tickets = self._sessions.pop(session.server_name, [])
        if session.is_tls12:
            tickets = [t for t in tickets if t.psk != session.psk]
        tickets.append(session)
        self._sessions[session.server_name] = tickets[-self._per_server :]
        while len(self._sessions) > self._max_servers:
            self._sessions.popitem(last=False)

    def remove(self, session: ClientSession) -> None:
        """Forget ``session`` (RFC 5246 §7.2.2: the session of a failed connection). The
        connection calls this when it has one; a store without it keeps what it has."""
        tickets = self._sessions.get(session.server_name)
        if tickets is None:
            return
        kept = [t for t in tickets if t.psk != session.psk]
        if kept:
            self._sessions[session.server_name] = kept
        else:
            del self._sessions[session.server_name]

    def get(self, server_name: str, now: float) -> ClientSession | None:
        tickets = self._sessions.get(server_name)
        while tickets:
            session = tickets.pop()  # newest first
            if not session.expired(now):
                if not tickets:
                    del self._sessions[server_name]
                return session
        self._sessions.pop(server_name, None)
        return None


class OfferedSessionStore:
    """A store that offers one given session: ssl's explicit reuse (``wrap_socket(session=)``,
    ``SSLSocket.session = ...``). Tickets received go on to ``then`` (the store the config had),
    if any; the socket keeps the newest one as its ``session`` either way."""

    def __init__(self, session: ClientSession, then: ClientSessionStore | None = None) -> None:
        self.session = session
        self.then = then

    def put(self, session: ClientSession) -> None:
        if self.then is not None:
            self.then.put(session)

    def get(self, server_name: str, now: float) -> ClientSession | None:
        session = self.session
        if session.server_name != server_name or session.expired(now):
            return None
        return session
