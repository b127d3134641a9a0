"""Client: finishing a ClientHello: RFC 7685 padding and offering a stored session as a PSK.

RFC 8446 §4.2.11: pre_shared_key is the last extension, and its binder is an HMAC over the
ClientHello up to the binders (§4.2.11.2), so padding is settled first and the binder last.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

from ..config import ClientConfig
from ..crypto.suites import suite_by_id
from ..enums import PskKeyExchangeMode
from ..extensions import (
    Extension,
    Padding,
    PreSharedKeyClientHello,
    PskIdentity,
    PskKeyExchangeModes,
)
from ..keyschedule import EarlySecret, finished_verify_data, hash_len
from ..messages import encode_handshake
from ..messages.hello import ClientHello
from ..session import ClientSession


def pad_client_hello(hello: ClientHello) -> tuple[ClientHello, bytes]:
    """Grow a ClientHello of 256..511 bytes to 512 with padding (RFC 7685 §1, §3).

    Returns the hello and its encoding. The padding extension goes last, or just before
    pre_shared_key, which must stay last (RFC 8446 §4.2.11).
    """
    extensions: list[Extension] = [e for e in hello.extensions if not isinstance(e, Padding)]
    if len(extensions) != len(hello.extensions):
        hello = replace(hello, extensions=tuple(extensions), raw=b"")
    raw = encode_handshake(hello)
    if not 256 <= len(raw) < 512:
        return hello, raw
    padding = Padding(length=max(0, 512 - len(raw) - 4))
    last = extensions[-1] if extensions else None
    at = len(extensions) - 1 if isinstance(last, PreSharedKeyClientHello) else len(extensions)
    extensions.insert(at, padding)
    padded = replace(hello, extensions=tuple(extensions), raw=b"")
    return padded, encode_handshake(padded)


def usable_session(config: ClientConfig, server_name: str | None) -> ClientSession | None:
    """A stored session for this server whose hash one of our suites shares (§4.2.11)."""
    store = config.session_store
    if store is None or not server_name:
        return None
    session = store.get(server_name, config.clock())
    if session is None:
        return None
    suite = suite_by_id(session.cipher_suite)
    if suite is None or all(s.hash_name != suite.hash_name for s in config.cipher_suites):
        return None
    return session


def session_hash_name(session: ClientSession) -> str:
    suite = suite_by_id(session.cipher_suite)
    if suite is None:  # usable_session() let only known suites through
        raise ValueError(f"session for unknown cipher suite 0x{session.cipher_suite:04x}")
    return suite.hash_name


def offer_session(
    config: ClientConfig,
    hello: ClientHello,
    session: ClientSession,
    binder_transcript_hash: Callable[[bytes], bytes] | None = None,
) -> tuple[ClientHello, bytes]:
    """``hello`` with psk_key_exchange_modes (psk_dhe_ke) and pre_shared_key for ``session``.

    ``binder_transcript_hash(truncated_hello)`` is Transcript-Hash(..., Truncate(ClientHello));
    the default hashes the truncated hello alone (a first ClientHello). After a
    HelloRetryRequest the caller passes the transcript's ``digest_with`` (RFC 8446 §4.2.11.2).
    """
    hash_name = session_hash_name(session)
    extensions: list[Extension] = [
        e
        for e in hello.extensions
        if not isinstance(e, Padding | PskKeyExchangeModes | PreSharedKeyClientHello)
    ]
    extensions.append(PskKeyExchangeModes(ke_modes=(PskKeyExchangeMode.PSK_DHE_KE,)))
    identity = PskIdentity(
        identity=session.ticket,
        obfuscated_ticket_age=session.obfuscated_ticket_age(config.clock()),
    )
    placeholder = bytes(hash_len(hash_name))
    extensions.append(PreSharedKeyClientHello(identities=(identity,), binders=(placeholder,)))
    draft = replace(hello, extensions=tuple(extensions), raw=b"")
    if config.pad_client_hello:
        draft, _ = pad_client_hello(draft)
    truncated = draft.truncated_for_binders()
    if binder_transcript_hash is None:
        transcript_hash = hashlib.new(hash_name, truncated).digest()
    else:
        transcript_hash = binder_transcript_hash(truncated)
    binder_key = EarlySecret.from_psk(hash_name, session.psk).binder_key(external=False)
    final = draft.with_binders((finished_verify_data(hash_name, binder_key, transcript_hash),))
    raw = encode_handshake(final)
    return replace(final, raw=raw), raw
