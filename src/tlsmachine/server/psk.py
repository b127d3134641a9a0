"""Server: accepting a PSK, from a session ticket or external (RFC 8446 §4.2.9, §4.2.11, §4.6.1).

The key exchange mode is our first of ``ServerConfig.psk_modes`` that the client offers; without
one in common no PSK is used. Then the first acceptable identity is selected: an external PSK
we know by that identity, or a ticket that opens, whose cipher suite shares the negotiated hash,
has not expired and was issued for the same server name. Its binder MUST then verify, in
constant time, or the handshake aborts with decrypt_error (§4.2.11). Identities we cannot use
(another server's ticket, an old key, an unknown name) are skipped: a full handshake follows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..config import ServerConfig
from ..crypto.suites import CipherSuite, suite_by_id
from ..enums import PskKeyExchangeMode
from ..extensions import EarlyData, PreSharedKeyClientHello, PskKeyExchangeModes
from ..fast_init import fast_init
from ..keyschedule import EarlySecret, check_verify_data
from ..messages.hello import ClientHello
from ..session import TicketState, open_ticket


@fast_init
@dataclass(frozen=True, slots=True)
class AcceptedPsk:
    """The identity the server selected, its PSK and mode, and what 0-RTT needs to know."""

    selected_identity: int
    psk: bytes = field(repr=False)
    mode: PskKeyExchangeMode
    ticket: TicketState | None = field(repr=False)
    """The resumption state; ``None`` for an external PSK."""
    external_identity: bytes | None
    obfuscated_ticket_age: int
    binder: bytes = field(repr=False)
    early_secret: EarlySecret = field(repr=False, compare=False)
    """Early Secret from ``psk`` (RFC 8446 §7.1), computed once for the binder check and the
    key schedule."""


def accept_psk(
    config: ServerConfig,
    hello: ClientHello,
    suite: CipherSuite,
    server_name: str | None,
    binder_transcript_hash: Callable[[bytes], bytes],
    *,
    modes: tuple[PskKeyExchangeMode, ...] | None = None,
) -> AcceptedPsk | None:
    """Select a PSK from ``hello`` or ``None`` for a full handshake.

    ``binder_transcript_hash(truncated_hello)`` is the transcript hash the binder covers
    (RFC 8446 §4.2.11.2): of the truncated hello alone, or after a HelloRetryRequest of
    message_hash(ClientHello1), the HelloRetryRequest and the truncated second hello.
    ``modes`` narrows ``config.psk_modes`` (after a HelloRetryRequest for a key share, only
    psk_dhe_ke fits).
    """
    offer = hello.get(PreSharedKeyClientHello)
    offered_modes = hello.get(PskKeyExchangeModes)
    if offer is None or offered_modes is None:
        return None
    mode = next(
        (m for m in modes or config.psk_modes if m in offered_modes.ke_modes), None
    )  # fmt: skip
    if mode is None:
        return None  # §4.2.9: no mode in common, no PSK
    externals = {p.identity: p for p in config.external_psks}
    for index, identity in enumerate(offer.identities):
        external = externals.get(identity.identity)
        state: TicketState | None = None
        if external is not None:
            if external.hash_name != suite.hash_name:
                continue  # §4.2.11: only with a suite of the PSK's hash
            psk = external.key
        else:
            state = _usable_ticket(config, identity.identity, suite, server_name)
            if state is None:
                continue
            psk = state.psk
        early_secret = EarlySecret.from_psk(suite.hash_name, psk)
        binder_key = early_secret.binder_key(external=external is not None)
        transcript_hash = binder_transcript_hash(hello.truncated_for_binders())
        check_verify_data(
            suite.hash_name, binder_key, transcript_hash, offer.binders[index], "PSK binder"
        )
        return AcceptedPsk(
            selected_identity=index,
            psk=psk,
            mode=mode,
            ticket=state,
            external_identity=identity.identity if external is not None else None,
            obfuscated_ticket_age=identity.obfuscated_ticket_age,
            binder=offer.binders[index],
            early_secret=early_secret,
        )
    return None


def _usable_ticket(
    config: ServerConfig, ticket: bytes, suite: CipherSuite, server_name: str | None
) -> TicketState | None:
    """The state in ``ticket`` if this handshake may resume it, else ``None`` (skip it)."""
    state = open_ticket(config.session_ticket_sealer(), ticket)
    if state is None:
        return None
    ticket_suite = suite_by_id(state.cipher_suite)
    if ticket_suite is None or ticket_suite.hash_name != suite.hash_name:
        return None  # §4.2.11: only with a suite of the same hash
    age = int(config.clock()) - state.issued_at
    if not 0 <= age <= state.lifetime or state.server_name != (server_name or "").encode():
        return None  # expired, or issued for another name (§4.6.1, RFC 6066 §3)
    if config.client_auth == "required" and not state.client_certificates:
        # A PSK handshake has no CertificateRequest (§4.3.2): a session without a proven
        # client identity (issued while client_auth was not required) would let the client
        # skip authentication. A full handshake asks for a certificate.
        return None
    return state


# RFC 8446 §4.2.10: a server that rejects 0-RTT skips the client's early records "up to the
# configured max_early_data_size"; one that never accepts early data still skips one record's
# worth (as OpenSSL does), so that a client holding another server's ticket is not cut off.
MIN_EARLY_DATA_SKIP = 2**14


def early_data_skip_limit(config: ServerConfig) -> int:
    """How many bytes of rejected early data to skip (RFC 8446 §4.2.10)."""
    return max(config.max_early_data_size, MIN_EARLY_DATA_SKIP)


def accept_early_data(
    config: ServerConfig,
    hello: ClientHello,
    psk: AcceptedPsk | None,
    suite: CipherSuite,
    alpn_protocol: str | None,
) -> bool:
    """Whether to accept the 0-RTT data ``hello`` offers (RFC 8446 §4.2.10, §8).

    Only with the first PSK identity, the ticket's cipher suite and ALPN protocol, a ticket
    age within ``config.ticket_age_tolerance`` of ours (§4.2.10, §8.3), and a ClientHello the
    replay guard has not seen (§8.2). Otherwise the handshake goes on without 0-RTT.
    """
    if hello.get(EarlyData) is None or psk is None or not config.max_early_data_size:
        return False
    ticket = psk.ticket
    if (
        ticket is None  # no 0-RTT with external PSKs: nothing provisioned for it (§4.2.10)
        or psk.selected_identity != 0
        or not ticket.max_early_data_size
        or ticket.cipher_suite != suite.id
        or ticket.alpn_protocol != (alpn_protocol or "").encode()
    ):
        return False
    now = config.clock()
    client_age = ((psk.obfuscated_ticket_age - ticket.ticket_age_add) & 0xFFFFFFFF) / 1000
    our_age = now - ticket.issued_at
    window = config.ticket_age_tolerance
    if abs(our_age - client_age) > window:
        return False  # §8.3: not fresh, perhaps replayed later
    return config.early_data_replay_guard().first_use(psk.binder, now, window)
