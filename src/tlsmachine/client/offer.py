"""Client: finishing a ClientHello: RFC 7685 padding and offering a stored session as a PSK.

RFC 8446 §4.2.11: pre_shared_key is the last extension, and its binder is an HMAC over the
ClientHello up to the binders (§4.2.11.2), so padding is settled first and the binder last.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from ..config import ClientConfig
from ..crypto.suites import suite_by_id
from ..enums import ProtocolVersion
from ..extensions import (
    EarlyData,
    Extension,
    Padding,
    PreSharedKeyClientHello,
    PskIdentity,
    PskKeyExchangeModes,
    encode_extensions,
)
from ..fast_init import fast_init
from ..keyschedule import EarlySecret, finished_verify_data, hash_len
from ..messages import encode_handshake
from ..messages.framing import frame_handshake
from ..messages.hello import ClientHello
from ..session import ClientSession
from ..transcript import hash_of


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
    """A stored session for this server that we can offer: TLS 1.3, when one of our suites
    shares its hash (RFC 8446 §4.2.11), or TLS 1.2 (its ID or ticket, RFC 5077 §3.4)."""
    store = config.session_store
    if store is None or not server_name:
        return None
    session = store.get(server_name, config.clock())
    if session is None:
        return None
    if session.is_tls12:
        # RFC 5246 §7.4.1.2: its suite must still be offered; RFC 7627 §5.3: only sessions
        # with the extended master secret are resumed.
        fits = (
            config.min_version <= ProtocolVersion.TLS12
            and session.extended_master_secret
            and any(s.id == session.cipher_suite for s in config.tls12_cipher_suites)
        )
        return session if fits else None
    if config.max_version < ProtocolVersion.TLS13:
        return None
    suite = suite_by_id(session.cipher_suite)
    if suite is None or all(s.hash_name != suite.hash_name for s in config.cipher_suites):
        return None
    return session


def early_data_allowed(config: ClientConfig, session: ClientSession) -> bool:
    """May we send 0-RTT with ``session``? (RFC 8446 §4.2.10, §4.6.1)

    The ticket must allow it, and the data travels under the ticket's own cipher suite, which
    must still be one we offer; the ALPN list must still contain the ticket's protocol.
    """
    return (
        config.early_data
        and session.max_early_data_size > 0
        and any(s.id == session.cipher_suite for s in config.cipher_suites)
        and (session.alpn_protocol is None or session.alpn_protocol in config.alpn_protocols)
    )


def session_hash_name(session: ClientSession) -> str:
    suite = suite_by_id(session.cipher_suite)
    if suite is None:  # usable_session() let only known suites through
        raise ValueError(f"session for unknown cipher suite 0x{session.cipher_suite:04x}")
    return suite.hash_name


@fast_init
@dataclass(frozen=True, slots=True)
class OfferedPsk:
    """One identity of our pre_shared_key offer (RFC 8446 §4.2.11): a ticket or external."""

    identity: bytes = field(repr=False)
    psk: bytes = field(repr=False)
    hash_name: str
    session: ClientSession | None = None
    """The resumption session; ``None`` for an external PSK."""
    early_secret: EarlySecret = field(init=False, repr=False, compare=False)
    """Early Secret = HKDF-Extract(0, PSK) (RFC 8446 §7.1): computed once, for the binder and,
    if the server selects this PSK, for the key schedule."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "early_secret", EarlySecret.from_psk(self.hash_name, self.psk))

    @property
    def external(self) -> bool:
        return self.session is None

    def obfuscated_ticket_age(self, now: float) -> int:
        """§4.2.11.1 for a ticket; 0 for an external PSK (§4.2.11: "SHOULD be used")."""
        return self.session.obfuscated_ticket_age(now) if self.session is not None else 0


def psks_to_offer(config: ClientConfig, session: ClientSession | None) -> tuple[OfferedPsk, ...]:
    """The stored session first (the only one 0-RTT can use, §4.2.10), then the external
    PSKs whose hash one of our suites shares (§4.2.11)."""
    offers = []
    if session is not None:
        offers.append(OfferedPsk(session.ticket, session.psk, session_hash_name(session), session))
    hashes = {s.hash_name for s in config.cipher_suites}
    offers += [
        OfferedPsk(p.identity, p.key, p.hash_name)
        for p in config.external_psks
        if p.hash_name in hashes
    ]
    return tuple(offers)


_REPLACED = (Padding, PskKeyExchangeModes, PreSharedKeyClientHello, EarlyData)
_REPLACED_TYPES = frozenset(cls.ext_type for cls in _REPLACED)
_HELLO_FIXED = 2 + 32  # legacy_version, random (RFC 8446 §4.1.2)


def _extension_blocks(raw: bytes) -> tuple[bytes, list[tuple[int, bytes]]]:
    """Split an encoded ClientHello (our own) into the body before its extensions block and
    each encoded Extension (type, bytes with its 4-byte header), in order."""
    pos = 4 + _HELLO_FIXED  # after the handshake header
    pos += 1 + raw[pos]  # legacy_session_id<0..32>
    pos += 2 + int.from_bytes(raw[pos : pos + 2], "big")  # cipher_suites<2..2^16-2>
    pos += 1 + raw[pos]  # legacy_compression_methods<1..2^8-1>
    head = raw[4:pos]
    end = pos + 2 + int.from_bytes(raw[pos : pos + 2], "big")
    pos += 2
    blocks = []
    while pos < end:
        size = 4 + int.from_bytes(raw[pos + 2 : pos + 4], "big")
        blocks.append((int.from_bytes(raw[pos : pos + 2], "big"), raw[pos : pos + size]))
        pos += size
    return head, blocks


def offer_psks(
    config: ClientConfig,
    hello: ClientHello,
    psks: Sequence[OfferedPsk],
    binder_transcript_hash: Callable[[bytes], bytes] | None = None,
    *,
    early_data: bool = False,
) -> tuple[ClientHello, bytes]:
    """``hello`` with psk_key_exchange_modes and pre_shared_key offering ``psks``, and
    early_data when ``early_data`` is set (RFC 8446 §4.2.10; never after a retry).

    Each binder is an HMAC over the same truncated hello, under its own PSK's binder key
    (§4.2.11.2). ``binder_transcript_hash(truncated_hello)`` is
    Transcript-Hash(..., Truncate(ClientHello)); the default hashes the truncated hello alone (a
    first ClientHello). After a HelloRetryRequest the caller passes the transcript's
    ``digest_with`` (all the PSKs then share the suite's hash).

    The encoding is spliced from ``hello``'s own bytes (its other extensions are copied, not
    re-encoded): the same bytes as encoding the finished message, which the RFC 8448 §4
    replay checks, at a fraction of the cost on the resumption path.
    """
    now = config.clock()
    identities = tuple(
        PskIdentity(identity=p.identity, obfuscated_ticket_age=p.obfuscated_ticket_age(now))
        for p in psks
    )
    placeholders = tuple(bytes(hash_len(p.hash_name)) for p in psks)
    added: list[Extension] = [PskKeyExchangeModes(ke_modes=config.psk_modes)]
    if early_data:
        added.append(EarlyData(max_early_data_size=None))
    psk = PreSharedKeyClientHello(identities=identities, binders=placeholders)
    head, blocks = _extension_blocks(hello.raw or encode_handshake(hello))
    kept = b"".join(block for ext_type, block in blocks if ext_type not in _REPLACED_TYPES)
    added_raw = encode_extensions(added)
    psk_raw = encode_extensions((psk,))
    size = 4 + len(head) + 2 + len(kept) + len(added_raw) + len(psk_raw)
    if config.pad_client_hello and 256 <= size < 512:  # RFC 7685, as pad_client_hello()
        padding = Padding(length=max(0, 512 - size - 4))
        added.append(padding)
        added_raw += encode_extensions((padding,))
    block = kept + added_raw + psk_raw
    body = b"".join((head, len(block).to_bytes(2, "big"), block))
    binders_len = 2 + sum(1 + len(b) for b in placeholders)  # the binders vector, last
    truncated = frame_handshake(ClientHello.msg_type, body)[:-binders_len]
    binders = []
    for p in psks:
        if binder_transcript_hash is None:
            transcript_hash = hash_of(p.hash_name, truncated)
        else:
            transcript_hash = binder_transcript_hash(truncated)
        binder_key = p.early_secret.binder_key(external=p.external)
        binders.append(finished_verify_data(p.hash_name, binder_key, transcript_hash))
    raw = truncated + (binders_len - 2).to_bytes(2, "big")
    raw += b"".join(bytes((len(b),)) + b for b in binders)
    extensions = (
        *(e for e in hello.extensions if not isinstance(e, _REPLACED)),
        *added,
        PreSharedKeyClientHello(identities=identities, binders=tuple(binders)),
    )
    # the constructor, not dataclasses.replace(): a third of the cost, on every resumption
    offered = ClientHello(
        hello.legacy_version,
        hello.random,
        hello.legacy_session_id,
        hello.cipher_suites,
        hello.legacy_compression_methods,
        extensions,
        raw,
    )
    return offered, raw
