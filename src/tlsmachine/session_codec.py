"""What server ticket state and stored client sessions share (RFC 8446 §4.6.1).

The certificate chain inside session state (a ticket's client chain, a stored session's server
chain) and the 7-day ticket lifetime both sides apply. A leaf module: :mod:`tlsmachine.session`
(server side) and :mod:`tlsmachine.client_session` (client side) import it without a cycle, and
:mod:`tlsmachine.session` re-exports its names.
"""

from __future__ import annotations

from .codec import Reader, Writer

__all__ = ["MAX_TICKET_LIFETIME", "read_certificate_chain", "write_certificate_chain"]

MAX_TICKET_LIFETIME = 604_800
"""RFC 8446 §4.6.1: servers MUST NOT use any value greater than 604800 seconds (7 days)."""


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
