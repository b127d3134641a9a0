"""Session tickets: state encoding and AEAD sealing with rotating keys (RFC 8446 §4.6.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tlsmachine import ConfigurationError, ServerConfig
from tlsmachine.certs import CertifiedKey
from tlsmachine.errors import DecodeError
from tlsmachine.session import AeadTicketSealer, TicketState, open_ticket

STATE = TicketState(
    cipher_suite=0x1301,
    psk=bytes(range(32)),
    issued_at=1_800_000_000,
    ticket_age_add=0xFAD6AAC5,
    lifetime=7200,
    max_early_data_size=0,
    alpn_protocol=b"h2",
    server_name=b"example.com",
)


def test_state_round_trip() -> None:
    assert TicketState.parse(STATE.serialize()) == STATE
    assert "psk" not in repr(STATE)  # secrets never in repr


def test_seal_and_open() -> None:
    sealer = AeadTicketSealer()
    ticket = sealer.seal(STATE.serialize())
    assert STATE.serialize() not in ticket  # encrypted
    assert open_ticket(sealer, ticket) == STATE


def test_forged_or_foreign_tickets_do_not_open() -> None:
    sealer, other = AeadTicketSealer(), AeadTicketSealer()
    ticket = bytearray(sealer.seal(STATE.serialize()))
    assert open_ticket(other, bytes(ticket)) is None  # another server's key
    ticket[-1] ^= 1
    assert open_ticket(sealer, bytes(ticket)) is None  # tampered
    assert open_ticket(sealer, b"\x00" * 10) is None  # too short


def test_rotation_keeps_recent_keys_only() -> None:
    sealer = AeadTicketSealer(keep=1)
    old = sealer.seal(STATE.serialize())
    sealer.rotate()
    newer = sealer.seal(STATE.serialize())
    assert old[:4] != newer[:4]  # a new key id
    assert open_ticket(sealer, old) == STATE  # the previous key still opens
    sealer.rotate()
    assert open_ticket(sealer, old) is None  # two rotations later it is gone
    assert open_ticket(sealer, newer) == STATE


@given(st.binary(max_size=200))
def test_state_parser_accepts_only_exact_encodings(data: bytes) -> None:
    try:
        state = TicketState.parse(data)
    except DecodeError:
        return  # the only error it may raise
    assert state.serialize() == data


def test_ticket_config_limits() -> None:
    cert = CertifiedKey.self_signed(("localhost",))
    with pytest.raises(ConfigurationError):
        ServerConfig(certificates=(cert,), ticket_lifetime=604_801)  # RFC 8446 §4.6.1
    with pytest.raises(ConfigurationError):
        ServerConfig(certificates=(cert,), session_tickets=-1)
    config = ServerConfig(certificates=(cert,))
    assert config.session_ticket_sealer() is config.session_ticket_sealer()
