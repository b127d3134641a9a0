"""TLS 1.2 resumption state on the server: the session cache and RFC 5077 tickets.

A TLS 1.2 session (RFC 5246 §7.3 "session state") is resumed either by its session ID, which
the server looks up in a :class:`ServerSessionCache` (§7.4.1.2-3), or by a ticket that carries
the state sealed by the same :class:`~tlsmachine.session.TicketSealer` as TLS 1.3 tickets
(RFC 5077 §4). The encoding of :class:`Tls12Session` can never be taken for a TLS 1.3
:class:`~tlsmachine.session.TicketState` or the other way round, so one sealer serves both.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

from .codec import Reader, Writer
from .enums import ProtocolVersion
from .errors import ConfigurationError, DecodeError
from .fast_init import fast_init
from .session import TicketSealer, read_certificate_chain, write_certificate_chain

MASTER_SECRET_LENGTH = 48
"""RFC 5246 §8.1: ``master_secret`` is always exactly 48 bytes."""
MAX_SESSION_ID_LENGTH = 32
"""RFC 5246 §7.4.1.2: ``opaque SessionID<0..32>``."""
_FORMAT = 0x12
_VERSION = ProtocolVersion.TLS12.value


@fast_init
@dataclass(frozen=True, slots=True)
class Tls12Session:
    """A resumable TLS 1.2 session: what the server caches by session ID or seals into an
    RFC 5077 ticket (RFC 5246 §7.3 "session state", RFC 7627 §5.2).

    Encoded as ``0x12 || 0x0303 || cipher_suite || master_secret[48] || ...``. A TLS 1.3
    ``TicketState`` starts with a 0x13xx suite, and its third byte (the PSK length, at least 32)
    can never be the 0x03 found there in this encoding: neither parses as the other.
    """

    cipher_suite: int
    master_secret: bytes = field(repr=False)
    extended_master_secret: bool
    """The master secret is bound to the handshake (RFC 7627 §4); resumption must agree
    (§5.3)."""
    issued_at: int
    """Seconds since the epoch, from the server's clock (the same clock as ``now`` below)."""
    lifetime: int
    """Seconds from ``issued_at`` during which the session may be resumed."""
    alpn_protocol: bytes
    """The protocol of the original connection (RFC 7301), empty if none."""
    server_name: bytes
    """The SNI host name of the original connection, empty if none; a resumption for another
    name is refused (RFC 6066 §3)."""
    peer_certificates: tuple[bytes, ...] = ()
    """The client's certificate chain (DER), part of the session state (RFC 5246 §7.3 "peer
    certificate"): a resumed connection reports the identity the full handshake proved."""

    def __post_init__(self) -> None:
        if len(self.master_secret) != MASTER_SECRET_LENGTH:
            raise ValueError("a TLS 1.2 master secret is 48 bytes (RFC 5246 §8.1)")

    def expired(self, now: float) -> bool:
        """Not resumable at ``now`` (seconds since the epoch): past ``issued_at + lifetime``,
        or issued in the future (the clock went back)."""
        return not self.issued_at <= now < self.issued_at + self.lifetime

    def serialize(self) -> bytes:
        w = Writer()
        w.u8(_FORMAT)
        w.u16(_VERSION)
        w.u16(self.cipher_suite)
        w.bytes(self.master_secret)
        w.u8(1 if self.extended_master_secret else 0)
        w.u32(self.issued_at & 0xFFFFFFFF)
        w.u32(self.lifetime)
        w.opaque(1, self.alpn_protocol)
        w.opaque(2, self.server_name)
        write_certificate_chain(w, self.peer_certificates)
        return w.getvalue()

    @classmethod
    def parse(cls, data: bytes) -> Tls12Session:
        """Parse :meth:`serialize` output; anything else raises :class:`DecodeError`."""
        r = Reader(data)
        if r.u8("session format") != _FORMAT or r.u16("session version") != _VERSION:
            raise DecodeError("not a TLS 1.2 session")
        cipher_suite = r.u16("cipher_suite")
        master_secret = r.bytes(MASTER_SECRET_LENGTH, "master_secret")
        ems = r.u8("extended_master_secret")
        if ems > 1:
            raise DecodeError("extended_master_secret flag is neither 0 nor 1")
        session = cls(
            cipher_suite=cipher_suite,
            master_secret=master_secret,
            extended_master_secret=ems == 1,
            issued_at=r.u32("issued_at"),
            lifetime=r.u32("lifetime"),
            alpn_protocol=r.opaque(1, what="alpn_protocol"),
            server_name=r.opaque(2, what="server_name"),
            peer_certificates=read_certificate_chain(r),
        )
        r.expect_end("TLS 1.2 session")
        return session


def open_tls12_ticket(sealer: TicketSealer, ticket: bytes) -> Tls12Session | None:
    """The session inside an RFC 5077 ticket, or ``None`` when it does not open or does not
    parse (RFC 5077 §3.4: the server then falls back to a full handshake)."""
    plaintext = sealer.open(ticket)
    if plaintext is None:
        return None
    try:
        return Tls12Session.parse(plaintext)
    except DecodeError:
        return None


class ServerSessionCache(Protocol):
    """Where a TLS 1.2 server keeps sessions by session ID (RFC 5246 §7.4.1.2-3).

    A session may be resumed several times, by several connections at once: ``get`` leaves it
    in place. Implementations must be thread-safe when the server runs connections in threads.
    """

    def get(self, session_id: bytes, now: float) -> Tls12Session | None:
        """The session for ``session_id``, or ``None`` if unknown or expired at ``now``
        (seconds since the epoch)."""
        ...

    def put(self, session_id: bytes, session: Tls12Session) -> None:
        """Remember ``session`` under ``session_id`` (replacing any earlier entry)."""
        ...

    def remove(self, session_id: bytes) -> None:
        """Forget ``session_id``: RFC 5246 §7.2.2, a session ended by a fatal alert MUST NOT be
        resumed."""
        ...


class InMemorySessionCache:
    """The default :class:`ServerSessionCache`: a bounded, thread-safe LRU in memory.

    At most ``max_entries`` sessions are kept; when full, the least recently used goes first.
    Each entry expires at its own ``issued_at + lifetime``: expired entries are dropped when
    looked up (or evicted), never returned. One lock guards every operation (the socket server
    runs a thread per connection); each operation is O(1). It counts the sessions it evicted
    and the expired ones it was asked for, which ssl's ``session_stats()`` reports.
    """

    __slots__ = ("_entries", "_evictions", "_expirations", "_lock", "_max_entries")

    def __init__(self, max_entries: int = 20_000) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ConfigurationError("max_entries must be a positive integer")
        self._max_entries = max_entries
        self._entries: OrderedDict[bytes, Tls12Session] = OrderedDict()
        self._lock = threading.Lock()
        self._evictions = 0
        self._expirations = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def evictions(self) -> int:
        """Sessions dropped to make room for a new one (OpenSSL's ``cache_full``)."""
        return self._evictions

    @property
    def expirations(self) -> int:
        """Lookups that found their session expired (OpenSSL's ``timeouts``)."""
        return self._expirations

    def get(self, session_id: bytes, now: float) -> Tls12Session | None:
        with self._lock:
            session = self._entries.get(session_id)
            if session is None:
                return None
            if session.expired(now):
                del self._entries[session_id]
                self._expirations += 1
                return None
            self._entries.move_to_end(session_id)
            return session

    def put(self, session_id: bytes, session: Tls12Session) -> None:
        """Keep ``session``; an empty ID means "not resumable" (RFC 5246 §7.4.1.3) and is
        ignored. An ID longer than 32 bytes is a caller bug (:class:`ValueError`)."""
        if not session_id:
            return
        if len(session_id) > MAX_SESSION_ID_LENGTH:
            raise ValueError("a session ID is at most 32 bytes (RFC 5246 §7.4.1.2)")
        with self._lock:
            entries = self._entries
            if session_id in entries:
                entries.move_to_end(session_id)
            elif len(entries) >= self._max_entries:
                entries.popitem(last=False)  # evict first: never more than max_entries
                self._evictions += 1
            entries[session_id] = session

    def remove(self, session_id: bytes) -> None:
        with self._lock:
            self._entries.pop(session_id, None)


__all__ = [
    "MASTER_SECRET_LENGTH",
    "MAX_SESSION_ID_LENGTH",
    "InMemorySessionCache",
    "ServerSessionCache",
    "Tls12Session",
    "open_tls12_ticket",
]
