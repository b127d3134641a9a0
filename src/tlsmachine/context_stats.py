"""ssl's ``SSLContext.session_stats()`` for a :class:`~tlsmachine.context.Context`: counters of
the handshakes of the connections it wrapped, kept under a lock because one server Context
serves connections in many threads at once.

The keys and their order are OpenSSL's (``SSL_CTX_sess_*``). What each counts here:

* ``connect``/``accept``: handshakes begun by a client/server connection (the first
  ``do_handshake()``, explicit or not); ``connect_good``/``accept_good``: those completed.
* ``hits``: completed handshakes that resumed a session, on either side (OpenSSL counts
  client resumptions too).
* ``misses``: completed full handshakes where resumption was offered. A client counts one when
  it was given a session (``session=`` or ``tls.session = ...``); a server when the
  ClientHello offered a TLS 1.3 PSK or a TLS 1.2 session ID or ticket, for the version agreed.
* ``number``, ``timeouts``, ``cache_full``: the server's TLS 1.2 session cache (by session ID):
  the sessions in it, lookups that found theirs expired, sessions evicted when it was full.
  Tickets are kept by clients, not in a cache, and are not counted.
* ``connect_renegotiate``, ``accept_renegotiate``: always 0. TLS 1.3 has no renegotiation, and
  a TLS 1.2 request for one gets a no_renegotiation warning (RFC 5246 §7.4.1.1-2).
"""

from __future__ import annotations

import threading

from .session_cache import InMemorySessionCache

__all__ = ["SESSION_STATS_KEYS", "SessionStats"]

SESSION_STATS_KEYS = (
    "number",
    "connect",
    "connect_good",
    "connect_renegotiate",
    "accept",
    "accept_good",
    "accept_renegotiate",
    "hits",
    "misses",
    "timeouts",
    "cache_full",
)
"""The keys of ssl's ``session_stats()`` dict, in its order."""


class SessionStats:
    """A Context's handshake counters (see the module docstring); thread-safe."""

    __slots__ = ("_counts", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(SESSION_STATS_KEYS, 0)

    def started(self, *, server: bool) -> None:
        """A connection's handshake begins."""
        with self._lock:
            self._counts["accept" if server else "connect"] += 1

    def completed(self, *, server: bool, resumed: bool, offered: bool) -> None:
        """A connection's handshake completed, ``resumed`` or not, after resumption was
        ``offered`` or not."""
        with self._lock:
            counts = self._counts
            counts["accept_good" if server else "connect_good"] += 1
            if resumed:
                counts["hits"] += 1
            elif offered:
                counts["misses"] += 1

    def snapshot(self, cache: InMemorySessionCache) -> dict[str, int]:
        """ssl's dict: these counters, and ``cache``'s for the TLS 1.2 session cache."""
        with self._lock:
            stats = dict(self._counts)
        stats["number"] = len(cache)
        stats["timeouts"] = cache.expirations
        stats["cache_full"] = cache.evictions
        return stats
