"""The running handshake transcript hash (RFC 8446 §4.4.1).

``Transcript-Hash(M1, M2, ... Mn) = Hash(M1 || M2 || ... || Mn)`` over whole handshake messages
(header included, record framing excluded). The hash function is the cipher suite's, which is
unknown until ServerHello (client) or suite selection (server), so messages are buffered until
:meth:`TranscriptHash.select_hash`; afterwards hashing is incremental and :meth:`digest` takes a
``.copy()`` snapshot.

HelloRetryRequest (§4.4.1): "the value of ClientHello1 is replaced with a special synthetic
handshake message of handshake type "message_hash" containing Hash(ClientHello1)":
:meth:`hello_retry_restart` does that, after ClientHello1 was added and before the HRR is.
PSK binders (§4.2.11.2) hash the transcript plus a truncated ClientHello without adding it:
:meth:`digest_with`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from .enums import HandshakeType
from .errors import InternalError

if TYPE_CHECKING:
    from hashlib import _Hash


# The constructors of the suites' hashes: ``hashlib.new(name)`` costs four times as much.
_CONSTRUCTORS: dict[str, Callable[[], _Hash]] = {
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}


def _new_hash(hash_name: str) -> _Hash:
    constructor = _CONSTRUCTORS.get(hash_name)
    return constructor() if constructor is not None else hashlib.new(hash_name)


def hash_of(hash_name: str, data: bytes) -> bytes:
    """``Hash(data)``: the transcript hash of a single message, e.g. a truncated ClientHello
    for its PSK binders (RFC 8446 §4.2.11.2) or ClientHello1 for 0-RTT keys (§7.1)."""
    h = _new_hash(hash_name)
    h.update(data)
    return h.digest()


def message_hash(digest: bytes) -> bytes:
    """The synthetic ``message_hash`` handshake message carrying ``Hash(ClientHello1)``.

    Same bytes as ``messages.tls13.message_hash``; kept here so the transcript does not depend on
    the message layer.
    """
    return bytes((HandshakeType.MESSAGE_HASH, 0, 0, len(digest))) + digest


class TranscriptHash:
    """Hash of the handshake messages so far; buffers until the hash is known."""

    __slots__ = ("_buffer", "_count", "_hash")

    def __init__(self) -> None:
        self._buffer: list[bytes] = []  # messages added before select_hash(), then empty
        self._hash: _Hash | None = None
        self._count = 0  # messages added, for hello_retry_restart's precondition

    @property
    def hash_name(self) -> str | None:
        """The selected hash (``"sha256"``/``"sha384"``), ``None`` while still buffering."""
        return None if self._hash is None else self._hash.name

    @property
    def message_count(self) -> int:
        """How many handshake messages (or message_hash replacements) were added."""
        return self._count

    def update(self, raw: bytes) -> None:
        """Add one whole handshake message (4-byte header + body)."""
        self._count += 1
        if self._hash is not None:
            self._hash.update(raw)
        else:
            self._buffer.append(bytes(raw))

    def select_hash(self, hash_name: str) -> None:
        """Fix the hash function (from the negotiated suite) and hash the buffered messages.

        Selecting the same hash again is a no-op (e.g. a client learns the suite from the HRR
        and again from ServerHello); a different one is a bug (RFC 8446 §4.1.4 makes the client
        reject a ServerHello whose suite differs from the HRR's before we get here).
        """
        if self._hash is not None:
            if self._hash.name != hash_name:
                raise InternalError(
                    f"transcript hash already {self._hash.name}, cannot switch to {hash_name}"
                )
            return
        h = _new_hash(hash_name)
        for raw in self._buffer:
            h.update(raw)
        self._hash, self._buffer = h, []

    def _selected(self, what: str) -> _Hash:
        if self._hash is None:
            raise InternalError(f"transcript {what} before the hash was selected")
        return self._hash

    def digest(self) -> bytes:
        """Transcript-Hash of everything added so far (the state is unchanged)."""
        h = self._hash  # (inlined _selected(): a handshake takes a dozen digests)
        if h is None:
            raise InternalError("transcript digest before the hash was selected")
        return h.copy().digest()

    def digest_with(self, extra: bytes) -> bytes:
        """Transcript-Hash(transcript || extra) without adding ``extra`` (PSK binders)."""
        h = self._selected("digest_with").copy()
        h.update(extra)
        return h.digest()

    def hello_retry_restart(self) -> None:
        """Replace ClientHello1 by ``message_hash(Hash(ClientHello1))`` (RFC 8446 §4.4.1).

        Call after ClientHello1 was added (and the hash selected from the HRR's suite) and
        before the HelloRetryRequest is added.
        """
        if self._count != 1:
            raise InternalError(
                f"hello_retry_restart: transcript holds {self._count} messages, not ClientHello1"
            )
        ch1_hash = self._selected("hello_retry_restart").digest()
        h = _new_hash(self._selected("hello_retry_restart").name)
        h.update(message_hash(ch1_hash))
        self._hash = h

    def copy(self) -> TranscriptHash:
        """An independent copy (for branching, e.g. a server evaluating a retry)."""
        other = TranscriptHash()
        other._count = self._count
        other._buffer = list(self._buffer)
        other._hash = None if self._hash is None else self._hash.copy()
        return other

    def __repr__(self) -> str:
        return f"TranscriptHash({self.hash_name or 'buffering'}, {self._count} messages)"
