"""TLS 1.2 server sessions: the encoding, RFC 5077 tickets and the session-ID cache."""

from __future__ import annotations

import random
import sys
import threading
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tlsmachine.errors import ConfigurationError, DecodeError
from tlsmachine.session import AeadTicketSealer, InMemorySessionStore, TicketState, open_ticket
from tlsmachine.session_cache import (
    InMemorySessionCache,
    ServerSessionCache,
    Tls12Session,
    open_tls12_ticket,
)

SESSION = Tls12Session(
    cipher_suite=0xC02F,
    master_secret=bytes(range(48)),
    extended_master_secret=True,
    issued_at=1_800_000_000,
    lifetime=7200,
    alpn_protocol=b"http/1.1",
    server_name=b"example.com",
)

tls12_sessions = st.builds(
    Tls12Session,
    cipher_suite=st.integers(0, 0xFFFF),
    master_secret=st.binary(min_size=48, max_size=48),
    extended_master_secret=st.booleans(),
    issued_at=st.integers(0, 0xFFFFFFFF),
    lifetime=st.integers(0, 0xFFFFFFFF),
    alpn_protocol=st.binary(max_size=20),
    server_name=st.binary(max_size=40),
)

ticket_states = st.builds(
    TicketState,
    cipher_suite=st.integers(0, 0xFFFF),  # any suite, even the unassigned 0x12xx
    psk=st.binary(min_size=32, max_size=64),
    issued_at=st.integers(0, 0xFFFFFFFF),
    ticket_age_add=st.integers(0, 0xFFFFFFFF),
    lifetime=st.integers(0, 0xFFFFFFFF),
    max_early_data_size=st.integers(0, 0xFFFFFFFF),
    alpn_protocol=st.binary(max_size=20),
    server_name=st.binary(max_size=40),
)


def session_at(issued_at: int, lifetime: int = 100, suite: int = 0xC02F) -> Tls12Session:
    return replace(SESSION, issued_at=issued_at, lifetime=lifetime, cipher_suite=suite)


# -- encoding -----------------------------------------------------------------------------


def test_round_trip_and_secret_stays_out_of_repr() -> None:
    data = SESSION.serialize()
    assert data[:3] == b"\x12\x03\x03"  # format byte, then the session's version
    assert Tls12Session.parse(data) == SESSION
    no_ems = replace(SESSION, extended_master_secret=False, alpn_protocol=b"", server_name=b"")
    assert Tls12Session.parse(no_ems.serialize()) == no_ems
    assert " master_secret=" not in repr(SESSION)
    assert bytes(range(48)).hex() not in repr(SESSION)


@pytest.mark.parametrize(
    ("offset", "value"),
    [
        (0, 0x13),  # another format byte
        (1, 0x04),  # another version (0x0403)
        (2, 0x04),  # TLS 1.3 (0x0304) is not a TLS 1.2 session
        (53, 2),  # the extended_master_secret flag is 0 or 1
    ],
)
def test_parse_rejects_other_formats_and_flags(offset: int, value: int) -> None:
    data = bytearray(SESSION.serialize())
    assert data[53] == 1  # 1 + 2 + 2 + 48: the flag
    data[offset] = value
    with pytest.raises(DecodeError):
        Tls12Session.parse(bytes(data))


def test_parse_rejects_truncation_and_trailing_bytes() -> None:
    data = SESSION.serialize()
    for end in range(len(data)):
        with pytest.raises(DecodeError):
            Tls12Session.parse(data[:end])
    with pytest.raises(DecodeError):
        Tls12Session.parse(data + b"\x00")


def test_master_secret_must_be_48_bytes() -> None:
    with pytest.raises(ValueError, match="48"):
        replace(SESSION, master_secret=bytes(32))


@given(tls12_sessions)
def test_any_session_round_trips(session: Tls12Session) -> None:
    assert Tls12Session.parse(session.serialize()) == session


@given(st.binary(max_size=200))
def test_parser_accepts_only_exact_encodings(data: bytes) -> None:
    try:
        session = Tls12Session.parse(data)
    except DecodeError:
        return  # the only error it may raise
    assert session.serialize() == data


@given(ticket_states)
def test_a_tls13_ticket_state_never_parses_as_a_tls12_session(state: TicketState) -> None:
    with pytest.raises(DecodeError):
        Tls12Session.parse(state.serialize())


@given(tls12_sessions)
def test_a_tls12_session_never_parses_as_a_tls13_ticket_state(session: Tls12Session) -> None:
    with pytest.raises(DecodeError):
        TicketState.parse(session.serialize())


def test_expiry_window() -> None:
    session = session_at(1000, lifetime=100)
    assert not session.expired(1000)
    assert not session.expired(1099.9)
    assert session.expired(1100)
    assert session.expired(999.5)  # issued in the future: the clock went back
    assert session_at(1000, lifetime=0).expired(1000)


# -- RFC 5077 tickets -----------------------------------------------------------------------


def test_tickets_open_after_rotation_and_fail_once_the_key_is_dropped() -> None:
    sealer = AeadTicketSealer(keep=1)
    ticket = sealer.seal(SESSION.serialize())
    assert SESSION.serialize() not in ticket  # encrypted
    assert open_tls12_ticket(sealer, ticket) == SESSION
    sealer.rotate()
    assert open_tls12_ticket(sealer, ticket) == SESSION  # the previous key still opens it
    sealer.rotate()
    assert open_tls12_ticket(sealer, ticket) is None  # that key is gone


def test_forged_foreign_and_cross_version_tickets_do_not_open() -> None:
    sealer = AeadTicketSealer()
    ticket = sealer.seal(SESSION.serialize())
    assert open_tls12_ticket(AeadTicketSealer(), ticket) is None  # another server's key
    tampered = bytearray(ticket)
    tampered[-1] ^= 1
    assert open_tls12_ticket(sealer, bytes(tampered)) is None
    assert open_tls12_ticket(sealer, b"") is None
    assert open_tls12_ticket(sealer, bytes(40)) is None
    # One sealer serves both versions; a ticket of one never opens as the other.
    tls13 = TicketState(0x1301, bytes(32), 1_800_000_000, 7, 7200, 0, b"", b"example.com")
    assert open_tls12_ticket(sealer, sealer.seal(tls13.serialize())) is None
    assert open_ticket(sealer, ticket) is None
    assert open_tls12_ticket(sealer, sealer.seal(b"\x12\x03\x03garbage")) is None


def test_stateful_ticket_store_works_as_a_sealer_too() -> None:
    store = InMemorySessionStore()
    ticket = store.seal(SESSION.serialize())
    assert open_tls12_ticket(store, ticket) == SESSION
    assert open_tls12_ticket(store, ticket) is None  # single use


# -- the session-ID cache ------------------------------------------------------------------


def test_cache_is_lru_bounded() -> None:
    cache: ServerSessionCache = InMemorySessionCache(max_entries=3)
    for i in range(3):
        cache.put(bytes([i]) * 32, session_at(1000, suite=i))
    assert cache.get(b"\x00" * 32, now=1000) is not None  # now the most recently used
    cache.put(b"\x03" * 32, session_at(1000, suite=3))  # evicts 1, the least recently used
    assert isinstance(cache, InMemorySessionCache) and len(cache) == 3
    assert cache.get(b"\x01" * 32, now=1000) is None
    cache.put(b"\x04" * 32, session_at(1000, suite=4))  # evicts 2
    assert cache.get(b"\x02" * 32, now=1000) is None
    for i in (0, 3, 4):
        found = cache.get(bytes([i]) * 32, now=1000)
        assert found is not None and found.cipher_suite == i


def test_cache_put_replaces_and_refreshes() -> None:
    cache = InMemorySessionCache(max_entries=2)
    cache.put(b"a", session_at(1000, suite=1))
    cache.put(b"b", session_at(1000, suite=2))
    cache.put(b"a", session_at(1000, suite=3))  # same ID: replaced, most recent again
    cache.put(b"c", session_at(1000, suite=4))  # evicts b
    assert len(cache) == 2 and cache.get(b"b", 1000) is None
    found = cache.get(b"a", 1000)
    assert found is not None and found.cipher_suite == 3


def test_cache_expires_each_session_by_its_own_lifetime() -> None:
    cache = InMemorySessionCache()
    cache.put(b"short", session_at(1000, lifetime=10))
    cache.put(b"long", session_at(1000, lifetime=1000))
    assert cache.get(b"short", now=1009.9) is not None
    assert cache.get(b"short", now=1010) is None  # expired: dropped, not returned
    assert len(cache) == 1
    assert cache.get(b"short", now=1000) is None  # gone for good
    assert cache.get(b"long", now=1999) is not None
    assert cache.get(b"long", now=2000) is None
    assert len(cache) == 0


def test_cache_sessions_resume_repeatedly_until_removed() -> None:
    cache = InMemorySessionCache()
    cache.put(b"id", SESSION)
    now = SESSION.issued_at + 1
    # Several resumptions of one session are normal in TLS 1.2 (openssl s_client -reconnect).
    assert all(cache.get(b"id", now) == SESSION for _ in range(5))
    cache.remove(b"id")  # RFC 5246 §7.2.2: ended by a fatal alert
    assert cache.get(b"id", now) is None
    cache.remove(b"id")  # removing an unknown ID is fine
    assert cache.get(b"unknown", now) is None and len(cache) == 0


def test_cache_ignores_empty_ids_and_refuses_long_ones() -> None:
    cache = InMemorySessionCache()
    cache.put(b"", SESSION)  # an empty session ID: not resumable (RFC 5246 §7.4.1.3)
    assert len(cache) == 0 and cache.get(b"", SESSION.issued_at) is None
    with pytest.raises(ValueError, match="32 bytes"):
        cache.put(bytes(33), SESSION)


@pytest.mark.parametrize("max_entries", [0, -1, True])
def test_cache_limits_are_validated(max_entries: int) -> None:
    with pytest.raises(ConfigurationError):
        InMemorySessionCache(max_entries=max_entries)


def test_cache_is_thread_safe() -> None:
    cache = InMemorySessionCache(max_entries=50)
    sessions = {bytes([i]) * 8: session_at(1000, suite=i) for i in range(200)}
    ids = list(sessions)
    errors: list[BaseException] = []
    oversize: list[int] = []
    barrier = threading.Barrier(9)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        barrier.wait()
        try:
            for _ in range(3000):
                session_id = rng.choice(ids)
                op = rng.random()
                if op < 0.5:
                    cache.put(session_id, sessions[session_id])
                elif op < 0.9:
                    found = cache.get(session_id, 1000)
                    assert found is None or found is sessions[session_id]
                else:
                    cache.remove(session_id)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    def watcher(stop: threading.Event) -> None:
        barrier.wait()
        while not stop.is_set():
            if len(cache) > 50:
                oversize.append(len(cache))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often to interleave the operations
    try:
        stop = threading.Event()
        threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
        checker = threading.Thread(target=watcher, args=(stop,))
        for t in [*threads, checker]:
            t.start()
        for t in threads:
            t.join(timeout=60)
        stop.set()
        checker.join(timeout=60)
    finally:
        sys.setswitchinterval(interval)
    assert not errors
    assert not oversize
    assert 0 < len(cache) <= 50
