"""Session tickets: what a TLS 1.3 server seals into a ticket, and the sealing (RFC 8446 §4.6.1).

Tickets are stateless by default: the resumption state is encrypted and authenticated with an
AEAD under a ticket key that has an identifier, so keys can rotate (the current key seals, older
keys still open tickets until they expire). This follows RFC 5077 §4's recommended layout
(key_name, IV, encrypted state, MAC), with AES-256-GCM as the MAC-and-encrypt primitive.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .codec import Reader, Writer
from .errors import ConfigurationError, DecodeError

TICKET_KEY_ID_LENGTH = 4
_NONCE_LENGTH = 12
MAX_TICKET_LIFETIME = 604_800
"""RFC 8446 §4.6.1: servers MUST NOT use any value greater than 604800 seconds (7 days)."""


@dataclass(frozen=True, slots=True)
class TicketState:
    """The resumption state a server keeps in a ticket (RFC 8446 §4.6.1, §4.2.11)."""

    cipher_suite: int
    psk: bytes = field(repr=False)
    issued_at: int
    """Seconds since the epoch, from the server's clock."""
    ticket_age_add: int
    lifetime: int
    max_early_data_size: int
    alpn_protocol: bytes
    server_name: bytes
    client_certificates: tuple[bytes, ...] = ()
    """The client's certificate chain (DER) if it authenticated: a resumed connection reports
    the identity the full handshake proved, since the server sends no CertificateRequest when
    it authenticates with a PSK (RFC 8446 §4.3.2)."""

    def serialize(self) -> bytes:
        w = Writer()
        w.u16(self.cipher_suite)
        w.opaque(1, self.psk)
        w.u32(self.issued_at & 0xFFFFFFFF)
        w.u32(self.ticket_age_add)
        w.u32(self.lifetime)
        w.u32(self.max_early_data_size)
        w.opaque(1, self.alpn_protocol)
        w.opaque(2, self.server_name)
        write_certificate_chain(w, self.client_certificates)
        return w.getvalue()

    @classmethod
    def parse(cls, data: bytes) -> TicketState:
        r = Reader(data)
        state = cls(
            cipher_suite=r.u16("cipher_suite"),
            psk=r.opaque(1, min=32, what="psk"),
            issued_at=r.u32("issued_at"),
            ticket_age_add=r.u32("ticket_age_add"),
            lifetime=r.u32("lifetime"),
            max_early_data_size=r.u32("max_early_data_size"),
            alpn_protocol=r.opaque(1, what="alpn_protocol"),
            server_name=r.opaque(2, what="server_name"),
            client_certificates=read_certificate_chain(r),
        )
        r.expect_end("ticket state")
        return state


def write_certificate_chain(w: Writer, chain: tuple[bytes, ...]) -> None:
    """A DER chain in session state: ``opaque certificate<1..2^24-1>`` items in a 3-byte
    length vector (the shape of a TLS 1.2 Certificate message, RFC 5246 §7.4.2)."""
    start = w.begin_vector(3)
    for der in chain:
        w.opaque(3, der)
    w.end_vector(start, 3)


def read_certificate_chain(r: Reader) -> tuple[bytes, ...]:
    """Read what :func:`write_certificate_chain` wrote."""
    items = r.vector(3, what="certificate chain")
    chain = []
    while not items.at_end():
        chain.append(items.opaque(3, min=1, max=0xFFFFFF, what="certificate"))
    return tuple(chain)


@dataclass(frozen=True, slots=True)
class ExternalPsk:
    """A pre-shared key agreed out of band (RFC 8446 §2.2, §4.2.11), for certificate-less use.

    Both sides configure the same ``identity`` and ``key``. Its hash (§4.2.11: every PSK has
    one; SHA-256 when nothing else was provisioned) limits the cipher suites it works with.
    A low-entropy key is open to offline guessing from a recorded handshake (§E.7): use at
    least 128 random bits.
    """

    identity: bytes
    key: bytes = field(repr=False)
    hash_name: str = "sha256"

    def __post_init__(self) -> None:
        if not 1 <= len(self.identity) <= 0xFFFF:
            raise ConfigurationError("a PSK identity is 1..65535 bytes (RFC 8446 §4.2.11)")
        if len(self.key) < 16:
            raise ConfigurationError("an external PSK needs at least 16 bytes (128 bits)")
        if self.hash_name not in ("sha256", "sha384"):
            raise ConfigurationError("an external PSK's hash is sha256 or sha384")


class TicketSealer(Protocol):
    """Turns ticket state into an opaque ticket and back (RFC 8446 §4.6.1 "ticket")."""

    def seal(self, plaintext: bytes) -> bytes:
        """Encrypt and authenticate ``plaintext`` into a ticket."""
        ...

    def open(self, ticket: bytes) -> bytes | None:
        """The plaintext of a ticket we sealed, or ``None`` (unknown key, forged, corrupt)."""
        ...


class AeadTicketSealer:
    """AES-256-GCM tickets with rotating keys: ``key_id || nonce || ciphertext+tag``.

    The key id is the additional data, so a ticket cannot be moved to another key. ``rotate()``
    makes a new current key and keeps up to ``keep`` older ones for opening.
    """

    def __init__(self, *, keep: int = 2, random: Callable[[int], bytes] = os.urandom) -> None:
        if keep < 0:
            raise ConfigurationError("keep must be >= 0")
        self._random = random
        self._keep = keep
        self._keys: dict[bytes, AESGCM] = {}
        self._current = b""
        self.rotate()

    def rotate(self) -> None:
        """Start sealing with a fresh key; the oldest keys beyond ``keep`` are forgotten."""
        key_id = self._random(TICKET_KEY_ID_LENGTH)
        self._keys[key_id] = AESGCM(self._random(32))
        self._current = key_id
        while len(self._keys) > self._keep + 1:
            del self._keys[next(iter(self._keys))]

    def seal(self, plaintext: bytes) -> bytes:
        nonce = self._random(_NONCE_LENGTH)
        key_id = self._current
        return key_id + nonce + self._keys[key_id].encrypt(nonce, plaintext, key_id)

    def open(self, ticket: bytes) -> bytes | None:
        header = TICKET_KEY_ID_LENGTH + _NONCE_LENGTH
        key = self._keys.get(ticket[:TICKET_KEY_ID_LENGTH])
        if key is None or len(ticket) < header + 16:
            return None
        try:
            return key.decrypt(ticket[TICKET_KEY_ID_LENGTH:header], ticket[header:], ticket[:4])
        except InvalidTag:
            return None


class InMemorySessionStore:
    """Stateful tickets: the state stays on the server, the ticket is a random handle to it.

    An alternative to :class:`AeadTicketSealer` with the same interface (pass it as
    ``ServerConfig.ticket_sealer``). Every ticket opens at most once (RFC 8446 Appendix C.4,
    §8.1: a single-use ticket cannot be replayed, so neither can its 0-RTT data), entries expire
    after ``lifetime`` seconds, and at most ``max_entries`` are kept (the least recently issued
    go first). Bounded in memory whatever clients do.
    """

    def __init__(
        self,
        *,
        max_entries: int = 10_000,
        lifetime: float = MAX_TICKET_LIFETIME,
        clock: Callable[[], float] = time.monotonic,
        random: Callable[[int], bytes] = os.urandom,
    ) -> None:
        if max_entries < 1 or lifetime <= 0:
            raise ConfigurationError("max_entries and lifetime must be positive")
        self._max_entries = max_entries
        self._lifetime = lifetime
        self._clock = clock
        self._random = random
        self._entries: OrderedDict[bytes, tuple[float, bytes]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def seal(self, plaintext: bytes) -> bytes:
        now = self._clock()
        self._expire(now)
        handle = self._random(16)
        self._entries[handle] = (now + self._lifetime, plaintext)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return handle

    def open(self, ticket: bytes) -> bytes | None:
        entry = self._entries.pop(ticket, None)  # single use
        if entry is None or entry[0] <= self._clock():
            return None
        return entry[1]

    def _expire(self, now: float) -> None:
        entries = self._entries
        while entries:
            handle, (expires, _) = next(iter(entries.items()))
            if expires > now:
                break
            del entries[handle]


class ReplayGuard(Protocol):
    """Refuses 0-RTT for a ClientHello seen before (RFC 8446 §8.2).

    Share one between the server processes that accept the same tickets (e.g. backed by a
    shared cache) for the protection to hold across them (§8).
    """

    def first_use(self, key: bytes, now: float, window: float) -> bool:
        """Record ``key``; True if it was not seen in the last ``window`` seconds."""
        ...


class ClientHelloRecorder:
    """In-memory ClientHello recording (RFC 8446 §8.2) for one server process.

    The key is the ClientHello's PSK binder, unique per ClientHello. Entries live for the
    freshness window of §8.3 (older ClientHellos fail the ticket-age check anyway), and at most
    ``max_entries`` are kept: when full, 0-RTT is refused (a full handshake is always safe).
    """

    def __init__(self, *, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ConfigurationError("max_entries must be positive")
        self._max_entries = max_entries
        self._seen: OrderedDict[bytes, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._seen)

    def first_use(self, key: bytes, now: float, window: float) -> bool:
        seen = self._seen
        while seen:
            oldest, until = next(iter(seen.items()))
            if until > now:
                break
            del seen[oldest]
        if key in seen or len(seen) >= self._max_entries:
            return False
        seen[key] = now + 2 * window  # the ±window of §8.3 on either side
        return True


def open_ticket(sealer: TicketSealer, ticket: bytes) -> TicketState | None:
    """The state inside ``ticket``, or ``None`` when it does not open or does not parse."""
    plaintext = sealer.open(ticket)
    if plaintext is None:
        return None
    try:
        return TicketState.parse(plaintext)
    except DecodeError:
        return None


_SESSION_FORMAT = 1
"""TLS 1.3 sessions (what :meth:`ClientSession.to_bytes` always wrote before TLS 1.2)."""
_SESSION_FORMAT_VERSIONED = 2
_SESSION_FORMAT_WITH_CHAIN = 3
"""A format 1 or 2 session, then the server's certificate chain (earlier releases cannot read
it; sessions without a chain are still written as format 1 or 2)."""
"""Sessions of other versions (TLS 1.2), with the protocol version and the TLS 1.2 fields."""
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
