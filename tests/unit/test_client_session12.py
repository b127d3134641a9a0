"""Client sessions for TLS 1.2 (RFC 5246 §7.3, RFC 5077) next to TLS 1.3 ones."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tlsmachine.errors import DecodeError
from tlsmachine.session import (
    TLS12_DEFAULT_SESSION_LIFETIME,
    TLS12_MAX_SESSION_LIFETIME,
    ClientSession,
    InMemoryClientSessionStore,
)

MASTER_SECRET = bytes(range(48))


def tls12_session(
    name: str = "example.com",
    *,
    session_id: bytes = b"\x01" * 32,
    ticket: bytes = b"rfc 5077 ticket",
    lifetime: int = 3600,
    received_at: float = 1000.0,
    master_secret: bytes = MASTER_SECRET,
) -> ClientSession:
    return ClientSession(
        server_name=name,
        cipher_suite=0xC02F,
        psk=master_secret,
        ticket=ticket,
        ticket_lifetime=lifetime,
        ticket_age_add=0,
        received_at=received_at,
        max_early_data_size=0,
        alpn_protocol="http/1.1",
        version=0x0303,
        session_id=session_id,
        extended_master_secret=True,
    )


def tls13_session(name: str = "example.com", received_at: float = 1000.0) -> ClientSession:
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


# A format 1 session as written before TLS 1.2 support, byte by byte.
FORMAT_1 = (
    b"\x01"
    + b"\x00\x0bexample.com"
    + b"\x13\x01"
    + b"\x20"
    + bytes(32)
    + b"\x00\x0dopaque ticket"
    + (60).to_bytes(4, "big")
    + (0xFFFFFFF0).to_bytes(4, "big")
    + (1000).to_bytes(4, "big")
    + bytes(4)
    + b"\x02h2"
)


def test_tls13_sessions_keep_the_old_format() -> None:
    session = tls13_session()
    assert session.version == 0x0304 and not session.is_tls12
    assert session.session_id == b"" and session.extended_master_secret
    assert session.to_bytes() == FORMAT_1  # readable by earlier releases
    assert ClientSession.from_bytes(FORMAT_1) == session  # saved sessions keep loading


@pytest.mark.parametrize(
    "session",
    [
        tls12_session(),
        tls12_session(ticket=b""),  # session-ID-only (RFC 5246 §7.4.1.2)
        tls12_session(session_id=b""),  # ticket-only (RFC 5077 §3.4)
        replace(tls12_session(), extended_master_secret=False, alpn_protocol=None),
        tls12_session(lifetime=0, session_id=b"\x07"),
    ],
)
def test_tls12_sessions_round_trip_in_format_2(session: ClientSession) -> None:
    assert session.is_tls12
    data = session.to_bytes()
    assert data[:3] == b"\x02\x03\x03"  # format 2, then the version
    assert ClientSession.from_bytes(data) == session
    assert "psk" not in repr(session) and "ticket=" not in repr(session)
    assert "session_id=" not in repr(session)


def _format_2(
    *,
    version: bytes = b"\x03\x03",
    secret: bytes = MASTER_SECRET,
    session_id: bytes = b"\x01" * 32,
    ticket: bytes = b"t",
    ems: bytes = b"\x01",
) -> bytes:
    return (
        b"\x02"
        + version
        + b"\x00\x0bexample.com"
        + b"\xc0\x2f"
        + secret
        + bytes([len(session_id)])
        + session_id
        + len(ticket).to_bytes(2, "big")
        + ticket
        + bytes(4)
        + (1000).to_bytes(4, "big")
        + ems
        + b"\x00"
    )


def test_hand_built_format_2_parses() -> None:
    session = ClientSession.from_bytes(_format_2())
    assert session.is_tls12 and session.psk == MASTER_SECRET and session.ticket == b"t"
    assert session.ticket_age_add == 0 and session.max_early_data_size == 0
    assert session.alpn_protocol is None and session.received_at == 1000.0


@pytest.mark.parametrize(
    "data",
    [
        _format_2(session_id=b"", ticket=b""),  # nothing to resume with
        _format_2(session_id=bytes(33)),  # SessionID<0..32>
        _format_2(secret=MASTER_SECRET[:47]),  # the master secret is 48 bytes
        _format_2(version=b"\x03\x04"),  # TLS 1.3 sessions are written in format 1
        _format_2(version=b"\x03\x02"),
        _format_2(ems=b"\x02"),
        _format_2() + b"\x00",
        b"\x03" + _format_2()[1:],  # unknown format
        b"\x02" + FORMAT_1[1:],  # a format 1 body under format byte 2
        FORMAT_1.replace(b"\x00\x0dopaque ticket", b"\x00\x00"),  # TLS 1.3 needs a ticket
    ],
)
def test_from_bytes_validates(data: bytes) -> None:
    with pytest.raises(DecodeError):
        ClientSession.from_bytes(data)


def test_non_ascii_names_are_decode_errors() -> None:
    with pytest.raises(DecodeError, match="non-ASCII"):
        ClientSession.from_bytes(_format_2().replace(b"example.com", b"exampl\xe9.com"))


@given(st.binary(max_size=300))
def test_format_2_parser_accepts_only_exact_encodings(body: bytes) -> None:
    data = b"\x02\x03\x03" + body
    try:
        session = ClientSession.from_bytes(data)
    except DecodeError:
        return
    assert session.to_bytes() == data


@given(
    name=st.text("abcdefghijklmnopqrstuvwxyz.-0123456789", min_size=1, max_size=40),
    secret=st.binary(min_size=48, max_size=48),
    session_id=st.binary(max_size=32),
    ticket=st.binary(max_size=300),
    lifetime=st.integers(0, 0xFFFFFFFF),
    received_at=st.integers(0, 0xFFFFFFFF),
    ems=st.booleans(),
    alpn=st.none() | st.text("abcdefghijklmnopqrstuvwxyz/.0123456789", min_size=1, max_size=20),
)
def test_any_tls12_session_round_trips(
    name: str,
    secret: bytes,
    session_id: bytes,
    ticket: bytes,
    lifetime: int,
    received_at: int,
    ems: bool,
    alpn: str | None,
) -> None:
    if not session_id and not ticket:
        session_id = b"\x00"
    session = replace(
        tls12_session(name, session_id=session_id, ticket=ticket, master_secret=secret),
        ticket_lifetime=lifetime,
        received_at=float(received_at),
        extended_master_secret=ems,
        alpn_protocol=alpn,
    )
    assert ClientSession.from_bytes(session.to_bytes()) == session


def test_constructor_enforces_each_versions_shape() -> None:
    with pytest.raises(ValueError, match="48 bytes"):
        tls12_session(master_secret=bytes(32))
    with pytest.raises(ValueError, match="32 bytes"):
        tls12_session(session_id=bytes(33))
    with pytest.raises(ValueError, match="early data"):
        replace(tls12_session(), max_early_data_size=16384)
    with pytest.raises(ValueError, match="early data"):
        replace(tls12_session(), ticket_age_add=1)
    with pytest.raises(ValueError, match=r"TLS 1\.3"):
        replace(tls13_session(), session_id=b"\x01")
    with pytest.raises(ValueError, match=r"TLS 1\.3"):
        replace(tls13_session(), extended_master_secret=False)
    with pytest.raises(ValueError, match="0x0302"):
        replace(tls12_session(), version=0x0302)


def test_tls12_lifetime_default_and_cap() -> None:
    assert TLS12_DEFAULT_SESSION_LIFETIME == 7200 and TLS12_MAX_SESSION_LIFETIME == 86_400
    hinted = tls12_session(lifetime=60, received_at=1000.0)
    assert not hinted.expired(1059.9) and hinted.expired(1060.0)
    # 0: unspecified (RFC 5077 §3.3) or a session-ID-only session: assume two hours.
    unknown = tls12_session(lifetime=0, ticket=b"", received_at=1000.0)
    assert not unknown.expired(1000.0 + 7199) and unknown.expired(1000.0 + 7200)
    # A long hint is capped at 24 hours (RFC 5246 Appendix F.1.4).
    long = tls12_session(lifetime=100_800, received_at=1000.0)
    assert not long.expired(1000.0 + 86_399) and long.expired(1000.0 + 86_400)
    # TLS 1.3 is unchanged: lifetime 0 means discard at once (RFC 8446 §4.6.1).
    assert replace(tls13_session(), ticket_lifetime=0).expired(1000.0)


def test_store_keeps_both_versions_and_hands_each_session_out_once() -> None:
    store = InMemoryClientSessionStore()
    store.put(tls13_session(received_at=1000.0))
    store.put(tls12_session(received_at=1001.0))
    assert len(store) == 2
    newest = store.get("example.com", now=1002.0)
    assert newest is not None and newest.is_tls12
    # After a successful resumption the TLS 1.2 client puts it back: resumable again.
    store.put(newest)
    again = store.get("example.com", now=1003.0)
    assert again == newest
    older = store.get("example.com", now=1003.0)
    assert older is not None and not older.is_tls12
    assert store.get("example.com", now=1003.0) is None


def test_store_replaces_an_older_copy_of_the_same_tls12_session() -> None:
    store = InMemoryClientSessionStore(tickets_per_server=4)
    store.put(tls12_session(ticket=b"first ticket"))
    store.put(tls12_session(ticket=b"renewed ticket"))  # RFC 5077 §3.1: a new ticket
    store.put(tls12_session(master_secret=bytes(48), ticket=b"another session"))
    assert len(store) == 2
    got = store.get("example.com", now=1001.0)
    assert got is not None and got.ticket == b"another session"
    got = store.get("example.com", now=1001.0)
    assert got is not None and got.ticket == b"renewed ticket"
    assert store.get("example.com", now=1001.0) is None
