"""Session tickets: state encoding and AEAD sealing with rotating keys (RFC 8446 §4.6.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tlsmachine import ConfigurationError, ServerConfig
from tlsmachine.certs import CertifiedKey
from tlsmachine.errors import DecodeError
from tlsmachine.session import (
    AeadTicketSealer,
    ClientHelloRecorder,
    ClientSession,
    InMemoryClientSessionStore,
    InMemorySessionStore,
    TicketState,
    open_ticket,
)

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


def client_session(name: str = "example.com", received_at: float = 1000.0) -> ClientSession:
    return ClientSession(
        server_name=name,
        cipher_suite=0x1301,
        psk=bytes(32),
        ticket=b"opaque ticket",
        ticket_lifetime=60,
        ticket_age_add=0xFFFFFFF0,
        received_at=received_at,
        max_early_data_size=0,
        alpn_protocol="h2",
    )


def test_client_session_serializes_for_later_runs() -> None:
    session = client_session()
    assert ClientSession.from_bytes(session.to_bytes()) == session
    assert "psk" not in repr(session)
    assert "ticket=" not in repr(session)
    with pytest.raises(DecodeError):
        ClientSession.from_bytes(session.to_bytes() + b"x")
    with pytest.raises(DecodeError):
        ClientSession.from_bytes(b"\x02" + session.to_bytes()[1:])  # unknown format


def test_obfuscated_ticket_age_wraps_mod_2_32() -> None:
    session = client_session(received_at=1000.0)
    # RFC 8446 §4.2.11.1: age in ms plus ticket_age_add, modulo 2^32.
    assert session.obfuscated_ticket_age(1000.5) == (500 + 0xFFFFFFF0) % 2**32
    assert not session.expired(1059.9)
    assert session.expired(1060.0)


def test_in_memory_store_is_bounded_single_use_and_expires() -> None:
    store = InMemoryClientSessionStore(max_servers=2, tickets_per_server=2)
    for i in range(3):
        store.put(client_session("a", received_at=1000.0 + i))
    assert len(store) == 2  # only the newest two tickets per server
    store.put(client_session("b"))
    store.put(client_session("c"))
    assert store.get("a", now=1001.0) is None  # "a" was the least recently used server
    newest = store.get("c", now=1001.0)
    assert newest is not None and newest.server_name == "c"
    assert store.get("c", now=1001.0) is None  # single use
    assert store.get("b", now=5000.0) is None  # expired


@given(st.binary(max_size=300))
def test_session_parser_accepts_only_exact_encodings(data: bytes) -> None:
    try:
        session = ClientSession.from_bytes(data)
    except DecodeError:
        return
    assert session.to_bytes() == data


class _Tick:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_stateful_store_is_single_use_bounded_and_expires() -> None:
    clock = _Tick()
    store = InMemorySessionStore(max_entries=2, lifetime=60, clock=clock)
    first, second = store.seal(b"one"), store.seal(b"two")
    assert len(first) == 16 and first != second and b"one" not in first
    assert store.open(first) == b"one"
    assert store.open(first) is None  # single use (RFC 8446 Appendix C.4, §8.1)
    third, fourth = store.seal(b"three"), store.seal(b"four")
    assert len(store) == 2 and store.open(second) is None  # the oldest went first
    clock.now += 61
    assert store.open(third) is None  # expired
    store.seal(b"five")  # sealing drops expired entries
    assert len(store) == 1 and store.open(fourth) is None
    assert store.open(b"") is None and store.open(bytes(16)) is None


def test_client_hello_recorder_refuses_repeats_within_the_window_and_when_full() -> None:
    recorder = ClientHelloRecorder(max_entries=2)
    assert recorder.first_use(b"binder-1", 1000.0, 10.0)
    assert not recorder.first_use(b"binder-1", 1005.0, 10.0)  # a replay (§8.2)
    assert recorder.first_use(b"binder-2", 1005.0, 10.0)
    assert not recorder.first_use(b"binder-3", 1006.0, 10.0)  # full: refuse, never grow
    # After 2 windows the first binder can no longer pass the freshness check: forgotten.
    assert recorder.first_use(b"binder-3", 1021.0, 10.0)
    assert len(recorder) == 2
    with pytest.raises(ConfigurationError):
        ClientHelloRecorder(max_entries=0)
