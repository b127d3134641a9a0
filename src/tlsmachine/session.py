"""Sessions, server side: what a TLS 1.3 server seals into a ticket, and how (RFC 8446 §4.6.1).

Tickets are stateless by default: the resumption state is encrypted and authenticated with an
AEAD under a ticket key that has an identifier, so keys can rotate (the current key seals, older
keys still open tickets until they expire). This follows RFC 5077 §4's recommended layout
(key_name, IV, encrypted state, MAC), with AES-256-GCM as the MAC-and-encrypt primitive.
Stateful single-use tickets, 0-RTT replay protection (§8) and external PSKs (§4.2.11) live here
too.

The client side (:class:`ClientSession` and its stores) lives in
:mod:`tlsmachine.client_session`, the certificate-chain codec and :data:`MAX_TICKET_LIFETIME`
both sides share in :mod:`tlsmachine.session_codec`; this module re-exports them, so
``tlsmachine.session`` stays the one place to import sessions from.
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

from .client_session import (
    TLS12_DEFAULT_SESSION_LIFETIME,
    TLS12_MAX_SESSION_LIFETIME,
    ClientSession,
    ClientSessionStore,
    InMemoryClientSessionStore,
)
from .codec import Reader, Writer
from .errors import ConfigurationError, DecodeError
from .fast_init import fast_init
from .session_codec import MAX_TICKET_LIFETIME, read_certificate_chain, write_certificate_chain

__all__ = [
    "MAX_TICKET_LIFETIME",
    "TICKET_KEY_ID_LENGTH",
    "TLS12_DEFAULT_SESSION_LIFETIME",
    "TLS12_MAX_SESSION_LIFETIME",
    "AeadTicketSealer",
    "ClientHelloRecorder",
    "ClientSession",
    "ClientSessionStore",
    "ExternalPsk",
    "InMemoryClientSessionStore",
    "InMemorySessionStore",
    "ReplayGuard",
    "TicketSealer",
    "TicketState",
    "open_ticket",
    "read_certificate_chain",
    "write_certificate_chain",
]

TICKET_KEY_ID_LENGTH = 4
_NONCE_LENGTH = 12


@fast_init
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
