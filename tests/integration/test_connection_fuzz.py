"""Whole connections under random and mutated input: only TLSError subclasses, never a crash.

Parsers are fuzzed one by one elsewhere; here the bytes go through the record layer, the
reassembly buffer, the state machines and the choke point together, at every handshake stage.
"""

from __future__ import annotations

import functools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memory_pair import pump
from tlsmachine import (
    ClientConfig,
    ClientConnection,
    ConnectionState,
    ServerConfig,
    ServerConnection,
    TLSError,
)
from tlsmachine.certs import CertifiedKey
from tlsmachine.crypto.groups import DEFAULT_GROUPS, X25519, Group, PrivateKeyShare
from tlsmachine.errors import InternalError
from tlsmachine.session import AeadTicketSealer

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def certificate() -> CertifiedKey:
    # Ed25519 signs deterministically: with the injected randomness below, every run of a
    # handshake produces the same bytes, which hypothesis needs to mutate them reproducibly.
    return CertifiedKey.self_signed(("localhost",), key_type="ed25519")


def fixed_random(n: int) -> bytes:
    return bytes(range(n))


def fixed_share(group: Group) -> PrivateKeyShare:
    if group.kem:  # the default X25519MLKEM768: ML-KEM seed || X25519 key
        return group.from_private_bytes(bytes(range(64, 128)) + bytes(range(1, 33)))
    return group.from_private_bytes(bytes(range(1, 33)))


def client() -> ClientConnection:
    config = ClientConfig(
        verify_certificates=False, random=fixed_random, key_share_factory=fixed_share
    )
    return ClientConnection(config, "localhost")


def server(groups: tuple[Group, ...] = DEFAULT_GROUPS) -> ServerConnection:
    config = ServerConfig(
        certificates=(certificate(),),
        random=fixed_random,
        key_share_factory=fixed_share,
        ticket_sealer=AeadTicketSealer(random=fixed_random),
        groups=groups,
    )
    return ServerConnection(config)


def feed(conn: ClientConnection | ServerConnection, chunks: list[bytes]) -> None:
    """Feed chunks; a TLSError must leave the connection FAILED and raise nothing else."""
    for chunk in chunks:
        try:
            conn.receive_data(chunk)
        except InternalError:
            raise  # a bug: internal_error is never the right answer to peer input
        except TLSError:
            assert conn.state is ConnectionState.FAILED
            return


@FUZZ
@given(st.lists(st.binary(max_size=300), max_size=6))
def test_random_bytes_to_a_fresh_server(chunks: list[bytes]) -> None:
    feed(server(), chunks)


@FUZZ
@given(st.lists(st.binary(max_size=300), max_size=6))
def test_random_bytes_to_a_client_waiting_for_server_hello(chunks: list[bytes]) -> None:
    conn = client()
    conn.data_to_send()
    feed(conn, chunks)


def flights() -> tuple[bytes, bytes]:
    # ML-KEM encapsulation draws its own randomness: a server answering the default client's
    # X25519MLKEM768 share could not repeat its flight, so this one takes the x25519 share.
    c, s = client(), server(groups=(X25519,))
    hello = c.data_to_send()
    s.receive_data(hello)
    return hello, s.data_to_send()


@FUZZ
@given(st.data())
def test_mutated_server_flight(data: st.DataObject) -> None:
    _, flight = flights()
    mutated = bytearray(flight)
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(mutated) - 1))
        mutated[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(mutated)))
    conn = client()
    conn.data_to_send()
    feed(conn, [bytes(mutated[:cut]), bytes(mutated[cut:])])


@FUZZ
@given(st.data())
def test_mutated_client_hello(data: st.DataObject) -> None:
    hello, _ = flights()
    mutated = bytearray(hello)
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(mutated) - 1))
        mutated[index] = data.draw(st.integers(0, 255))
    feed(server(), [bytes(mutated)])


@FUZZ
@given(st.lists(st.binary(max_size=200), max_size=4))
def test_random_bytes_after_the_handshake(chunks: list[bytes]) -> None:
    c, s = client(), server()
    pump(c, s)
    assert s.state is ConnectionState.APP_DATA
    feed(s, chunks)
