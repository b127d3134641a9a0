"""TCP_NODELAY on the sockets the blocking adapter wraps, and the old setting given back.

Nagle's algorithm (RFC 896) holds a small segment while an earlier one is unacknowledged, and a
peer with nothing to send delays its ACK (40 ms or more on Linux). TLS adds writes the
application never made: the last flight of a handshake (the TLS 1.3 client's Finished, the
TLS 1.2 client's ChangeCipherSpec and Finished when resuming), tickets, KeyUpdates and the
close_notify. Each can leave the application's next small write, or our close_notify, waiting
for that delayed ACK: a request sent right after connect(), or a close() waiting for the peer's
close_notify, took 40 ms more per connection (measured on loopback; ``ssl``'s sockets show the
same stalls). :class:`~tlsmachine.tls_socket.TLSSocket` writes each flight and each ``send``
as one coalesced buffer of whole records, so Nagle has nothing left to merge: it turns the
option on, as asyncio does for every TCP transport (RFC 1122 §4.2.3.4: an application MUST be
able to turn Nagle off), and ``unwrap()`` gives the plain socket back as it came.
"""

from __future__ import annotations

import contextlib
import socket

__all__ = ["restore_nagle", "send_at_once"]

_TCP_FAMILIES = (socket.AF_INET, socket.AF_INET6)


def send_at_once(sock: socket.socket) -> int | None:
    """Turn Nagle off on a TCP socket; return the previous TCP_NODELAY value (None: not a TCP
    socket, or the option could not be read, and nothing was changed)."""
    # getattr: a socket-like object without these is not a TCP socket to tune
    if getattr(sock, "family", None) not in _TCP_FAMILIES:
        return None
    if getattr(sock, "type", None) != socket.SOCK_STREAM:
        return None
    try:
        previous = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        if not previous:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # not connected any more, or a platform without the option
        return None
    return previous


def restore_nagle(sock: socket.socket, previous: int | None) -> None:
    """Put back what :func:`send_at_once` found (no-op for None or an option already on)."""
    if previous == 0:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)
