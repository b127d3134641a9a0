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
from dataclasses import dataclass, field
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
        )
        r.expect_end("ticket state")
        return state


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


@dataclass(frozen=True, slots=True)
class ClientSession:
    """A ticket the client received, with what it needs to resume (RFC 8446 §4.6.1, §4.2.11).

    Serializable with :meth:`to_bytes` / :meth:`from_bytes` so a program can keep sessions
    across runs (store them as secrets: they hold the PSK).
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

    def expired(self, now: float) -> bool:
        """RFC 8446 §4.6.1: usable for ``ticket_lifetime`` seconds (at most 7 days)."""
        return now >= self.received_at + min(self.ticket_lifetime, MAX_TICKET_LIFETIME)

    def obfuscated_ticket_age(self, now: float) -> int:
        """The age in milliseconds plus ticket_age_add, mod 2^32 (RFC 8446 §4.2.11.1)."""
        age_ms = max(0, int((now - self.received_at) * 1000))
        return (age_ms + self.ticket_age_add) & 0xFFFFFFFF

    def to_bytes(self) -> bytes:
        w = Writer()
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
        """Parse :meth:`to_bytes` output; anything else raises :class:`DecodeError`."""
        r = Reader(data)
        if r.u8("session format") != _SESSION_FORMAT:
            raise DecodeError("unknown session format")
        try:
            session = cls(
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
        except UnicodeDecodeError as exc:
            raise DecodeError(f"session has a non-ASCII name: {exc}") from None
        r.expect_end("session")
        return session


class ClientSessionStore(Protocol):
    """Where a client keeps sessions between connections (called by ClientConnection)."""

    def put(self, session: ClientSession) -> None: ...

    def get(self, server_name: str, now: float) -> ClientSession | None:
        """A usable session for ``server_name``, removed from the store (tickets are
        single-use where possible, RFC 8446 Appendix C.4)."""
        ...


class InMemoryClientSessionStore:
    """Bounded, in-memory session store: the newest few tickets per server name, LRU by name."""

    def __init__(self, *, max_servers: int = 256, tickets_per_server: int = 4) -> None:
        if max_servers < 1 or tickets_per_server < 1:
            raise ConfigurationError("session store limits must be at least 1")
        self._max_servers = max_servers
        self._per_server = tickets_per_server
        self._sessions: OrderedDict[str, list[ClientSession]] = OrderedDict()

    def __len__(self) -> int:
        return sum(len(v) for v in self._sessions.values())

    def put(self, session: ClientSession) -> None:
        tickets = self._sessions.pop(session.server_name, [])
        tickets.append(session)
        self._sessions[session.server_name] = tickets[-self._per_server :]
        while len(self._sessions) > self._max_servers:
            self._sessions.popitem(last=False)

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
