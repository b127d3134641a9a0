"""Server: accepting a session ticket as a PSK (RFC 8446 §4.2.9, §4.2.11, §4.6.1).

The first identity whose ticket opens, whose cipher suite shares the negotiated hash, which has
not expired and was issued for the same server name is selected; its binder MUST then verify,
in constant time, or the handshake aborts with decrypt_error (§4.2.11). Identities that do not
open (another server's ticket, an old key) are skipped: a full handshake follows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..config import ServerConfig
from ..crypto.suites import CipherSuite, suite_by_id
from ..enums import PskKeyExchangeMode
from ..extensions import PreSharedKeyClientHello, PskKeyExchangeModes
from ..keyschedule import EarlySecret, check_verify_data
from ..messages.hello import ClientHello
from ..session import open_ticket


@dataclass(frozen=True, slots=True)
class AcceptedPsk:
    """The identity the server selected and its PSK."""

    selected_identity: int
    psk: bytes = field(repr=False)


def accept_psk(
    config: ServerConfig,
    hello: ClientHello,
    suite: CipherSuite,
    server_name: str | None,
    binder_transcript_hash: Callable[[bytes], bytes],
) -> AcceptedPsk | None:
    """Select a resumption PSK from ``hello`` or ``None`` for a full handshake.

    ``binder_transcript_hash(truncated_hello)`` is the transcript hash the binder covers
    (RFC 8446 §4.2.11.2): of the truncated hello alone, or after a HelloRetryRequest of
    message_hash(ClientHello1), the HelloRetryRequest and the truncated second hello.
    """
    offer = hello.get(PreSharedKeyClientHello)
    modes = hello.get(PskKeyExchangeModes)
    if offer is None or modes is None or PskKeyExchangeMode.PSK_DHE_KE not in modes.ke_modes:
        return None  # we resume only with (EC)DHE, keeping forward secrecy (§4.2.9)
    sealer = config.session_ticket_sealer()
    now = int(config.clock())
    name = (server_name or "").encode()
    for index, identity in enumerate(offer.identities):
        state = open_ticket(sealer, identity.identity)
        if state is None:
            continue
        ticket_suite = suite_by_id(state.cipher_suite)
        if ticket_suite is None or ticket_suite.hash_name != suite.hash_name:
            continue  # §4.2.11: only with a suite of the same hash
        if not 0 <= now - state.issued_at <= state.lifetime or state.server_name != name:
            continue  # expired, or issued for another name (§4.6.1, RFC 6066 §3)
        binder_key = EarlySecret.from_psk(suite.hash_name, state.psk).binder_key(external=False)
        transcript_hash = binder_transcript_hash(hello.truncated_for_binders())
        check_verify_data(
            suite.hash_name, binder_key, transcript_hash, offer.binders[index], "PSK binder"
        )
        return AcceptedPsk(index, state.psk)
    return None
