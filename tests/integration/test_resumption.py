"""PSK resumption with session tickets (RFC 8446 §2.2, §4.2.9, §4.2.11, §4.6.1)."""

from __future__ import annotations

import dataclasses

import pytest

from memory_pair import pump
from tls_fixtures import Clock
from tls_fixtures import server_cert as certificate
from tlsmachine import (
    ApplicationData,
    ClientConfig,
    ClientConnection,
    HandshakeComplete,
    InMemoryClientSessionStore,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.crypto.groups import SECP384R1, X25519
from tlsmachine.crypto.suites import TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384
from tlsmachine.enums import AlertDescription
from tlsmachine.errors import DecryptError
from tlsmachine.extensions import PreSharedKeyClientHello
from tlsmachine.messages import decode_handshake, encode_handshake
from tlsmachine.session import AeadTicketSealer


def handshake(client_config: ClientConfig, server_config: ServerConfig, name: str = "localhost"):  # type: ignore[no-untyped-def]
    client = ClientConnection(client_config, name)
    server = ServerConnection(server_config)
    client_events, server_events = pump(client, server)
    return client, server, client_events, server_events


def done(events: list) -> HandshakeComplete:  # type: ignore[type-arg]
    (complete,) = [e for e in events if isinstance(e, HandshakeComplete)]
    return complete


@pytest.fixture
def setup():  # type: ignore[no-untyped-def]
    clock = Clock()
    store = InMemoryClientSessionStore()
    client_config = ClientConfig(verify_certificates=False, session_store=store, clock=clock)
    sealer = AeadTicketSealer()  # shared by the configs a test derives with replace()
    server_config = ServerConfig(certificates=(certificate(),), clock=clock, ticket_sealer=sealer)
    return clock, store, client_config, server_config


def test_second_connection_resumes_without_certificate_messages(setup) -> None:  # type: ignore[no-untyped-def]
    _, store, client_config, server_config = setup
    _, _, ce, se = handshake(client_config, server_config)
    assert not done(ce).resumed and len(store) == 2
    client, server, ce, se = handshake(client_config, server_config)
    assert done(ce).resumed and done(se).resumed
    assert done(ce).signature_scheme is None  # no CertificateVerify in a PSK handshake
    # the session keeps the chain of the handshake that issued its ticket (RFC 8446 §2.2)
    assert done(ce).peer_certificates == (certificate().leaf,)
    # psk_dhe_ke: a fresh key exchange all the same, over the default hybrid
    assert done(ce).group == "X25519MLKEM768"
    client.send(b"resumed")
    _, se = pump(client, server)
    assert [e.data for e in se if isinstance(e, ApplicationData)] == [b"resumed"]
    assert len(store) == 3  # one ticket used (single use), two new ones received


def test_resumption_after_hello_retry_request(setup) -> None:  # type: ignore[no-untyped-def]
    _, _, client_config, server_config = setup
    handshake(client_config, server_config)
    client_config = dataclasses.replace(client_config, groups=(X25519, SECP384R1))
    server_config = dataclasses.replace(server_config, groups=(SECP384R1,))
    _, _, ce, se = handshake(client_config, server_config)
    assert done(ce).resumed and done(ce).hello_retry and done(se).resumed


def test_tickets_of_another_server_fall_back_to_a_full_handshake(setup) -> None:  # type: ignore[no-untyped-def]
    _, _, client_config, server_config = setup
    handshake(client_config, server_config)
    other_server = dataclasses.replace(server_config, ticket_sealer=AeadTicketSealer())
    _, _, ce, _ = handshake(client_config, other_server)
    assert not done(ce).resumed


def test_expired_tickets_are_not_offered(setup) -> None:  # type: ignore[no-untyped-def]
    clock, _, client_config, server_config = setup
    handshake(client_config, server_config)
    clock.now += 7201  # the default lifetime is 7200 s
    _, _, ce, _ = handshake(client_config, server_config)
    assert not done(ce).resumed


def test_tickets_are_bound_to_the_server_name(setup) -> None:  # type: ignore[no-untyped-def]
    _, store, client_config, server_config = setup
    handshake(client_config, server_config, name="localhost")
    session = store.get("localhost", now=1_900_000_000.0)
    assert session is not None
    store.put(dataclasses.replace(session, server_name="other.example"))
    _, _, ce, _ = handshake(client_config, server_config, name="other.example")
    assert not done(ce).resumed  # the server refuses a ticket issued for another name


def test_suite_with_another_hash_does_not_resume(setup) -> None:  # type: ignore[no-untyped-def]
    _, _, client_config, server_config = setup
    handshake(client_config, server_config)
    server_384 = dataclasses.replace(server_config, cipher_suites=(TLS_AES_256_GCM_SHA384,))
    _, _, ce, _ = handshake(client_config, server_384)
    assert not done(ce).resumed
    assert done(ce).cipher_suite == "TLS_AES_256_GCM_SHA384"


def test_a_wrong_binder_is_decrypt_error(setup) -> None:  # type: ignore[no-untyped-def]
    _, _, client_config, server_config = setup
    handshake(client_config, server_config)
    client = ClientConnection(client_config, "localhost")
    record = client.data_to_send()
    hello = decode_handshake(record[5:])
    psk = hello.get(PreSharedKeyClientHello)  # type: ignore[attr-defined]
    assert psk is not None
    forged = hello.with_binders((bytes(len(psk.binders[0])),))  # type: ignore[attr-defined]
    body = encode_handshake(forged)
    server = ServerConnection(server_config)
    with pytest.raises(DecryptError) as exc_info:
        server.receive_data(record[:3] + len(body).to_bytes(2, "big") + body)
    assert exc_info.value.alert is AlertDescription.DECRYPT_ERROR
    assert server.data_to_send() == bytes([21, 3, 3, 0, 2, 2, AlertDescription.DECRYPT_ERROR])


def test_server_without_tickets_still_accepts_none_and_resumes_none() -> None:
    store = InMemoryClientSessionStore()
    client_config = ClientConfig(verify_certificates=False, session_store=store)
    server_config = ServerConfig(certificates=(certificate(),), session_tickets=0)
    handshake(client_config, server_config)
    assert len(store) == 0
    _, _, ce, _ = handshake(client_config, server_config)
    assert not done(ce).resumed
    assert done(ce).cipher_suite == TLS_AES_128_GCM_SHA256.name


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1],  # truncated
        lambda t: t[:10],  # cut inside the header
        lambda t: t[:-1] + bytes([t[-1] ^ 1]),  # tag flipped
        lambda t: bytes([t[0] ^ 0x80]) + t[1:],  # key id of no key
        lambda t: b"\x00",  # one byte
    ],
    ids=["truncated", "header-only", "bad-tag", "unknown-key-id", "one-byte"],
)
def test_mangled_tickets_fall_back_to_a_full_handshake(setup, mangle) -> None:  # type: ignore[no-untyped-def]
    _, store, client_config, server_config = setup
    handshake(client_config, server_config)
    session = store.get("localhost", now=1_900_000_000.0)
    assert session is not None
    store.put(dataclasses.replace(session, ticket=mangle(session.ticket)))
    client, server, ce, se = handshake(client_config, server_config)
    assert not done(ce).resumed and not done(se).resumed  # nothing else disturbed
    client.send(b"still fine")
    _, se = pump(client, server)
    assert [e.data for e in se if isinstance(e, ApplicationData)] == [b"still fine"]


def test_tickets_of_a_rotated_out_key_fall_back_to_a_full_handshake() -> None:
    sealer = AeadTicketSealer(keep=1)
    store = InMemoryClientSessionStore()
    client_config = ClientConfig(verify_certificates=False, session_store=store)
    server_config = ServerConfig(certificates=(certificate(),), ticket_sealer=sealer)
    handshake(client_config, server_config)  # two tickets under key 1
    sealer.rotate()  # key 1 is now the previous key: its tickets still open
    _, _, ce, _ = handshake(client_config, server_config)
    assert done(ce).resumed  # (and two new tickets under key 2)
    for _ in range(2):
        sealer.rotate()  # keys 1 and 2 are gone
    _, _, ce, _ = handshake(client_config, server_config)
    assert not done(ce).resumed
