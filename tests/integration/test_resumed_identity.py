"""A resumed session keeps the client identity its full handshake proved, and a server that
requires client certificates resumes only sessions that have one.

A PSK handshake has no CertificateRequest (RFC 8446 §4.3.2), nor does a TLS 1.2 abbreviated
handshake (RFC 5246 §7.3): the identity comes from the session state (the TLS 1.3 ticket, the
TLS 1.2 ticket or session cache entry, RFC 5246 §7.3 "peer certificate").
"""

from __future__ import annotations

import dataclasses
import time

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from memory_pair import pump
from tls_fixtures import client_cert, server_cert
from tlsmachine import (
    ClientConfig,
    ClientConnection,
    Event,
    HandshakeComplete,
    InMemoryClientSessionStore,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.enums import ProtocolVersion
from tlsmachine.errors import DecodeError
from tlsmachine.session import AeadTicketSealer, ClientSession, TicketState
from tlsmachine.session_cache import InMemorySessionCache

VERSIONS = {
    "tls13": {},
    "tls12-ticket": {"max_version": ProtocolVersion.TLS12},
    "tls12-session-id": {"max_version": ProtocolVersion.TLS12, "session_tickets": 0},
}


def complete(events: list[Event]) -> HandshakeComplete:
    (done,) = [e for e in events if isinstance(e, HandshakeComplete)]
    return done


class Setup:
    """One client (with a certificate and a session store) and a server whose client_auth mode
    the test changes between handshakes; the ticket key and session cache stay."""

    def __init__(self, version: str, mode: str) -> None:
        pem = client_cert().leaf.public_bytes(Encoding.PEM)
        self.client_config = ClientConfig(
            cadata=server_cert().leaf.public_bytes(Encoding.PEM),
            certificates=(client_cert(),),
            session_store=InMemoryClientSessionStore(),
        )
        self.server_config = ServerConfig(
            certificates=(server_cert(),),
            client_auth=mode,
            client_cadata=pem,
            ticket_sealer=AeadTicketSealer(),
            session_cache=InMemorySessionCache(),
            **VERSIONS[version],  # type: ignore[arg-type]
        )

    def handshake(self, mode: str | None = None) -> tuple[HandshakeComplete, HandshakeComplete]:
        server_config = self.server_config
        if mode is not None:
            server_config = dataclasses.replace(server_config, client_auth=mode)
        client = ClientConnection(self.client_config, "localhost")
        server = ServerConnection(server_config)
        ce, se = pump(client, server)
        server.close()  # TLS 1.2 session IDs: a clean close keeps the session (RFC 5246 §7.2.1)
        client.receive_data(server.data_to_send())
        return complete(ce), complete(se)


@pytest.mark.parametrize("version", VERSIONS)
def test_resumed_session_reports_the_client_certificate(version: str) -> None:
    setup = Setup(version, "required")
    _, first = setup.handshake()
    assert not first.resumed and first.peer_certificates == (client_cert().leaf,)
    for _ in range(2):  # a session resumed from a resumed one keeps the identity too
        _, again = setup.handshake()
        assert again.resumed
        assert again.peer_certificates == (client_cert().leaf,)


@pytest.mark.parametrize("version", VERSIONS)
def test_required_client_auth_does_not_resume_a_session_without_identity(version: str) -> None:
    setup = Setup(version, "none")
    _, first = setup.handshake()
    assert first.peer_certificates == ()
    _, resumed = setup.handshake()
    assert resumed.resumed  # the control: the session is resumable as such
    _, strict = setup.handshake(mode="required")
    # a full handshake with a CertificateRequest instead of skipping client authentication
    assert not strict.resumed
    assert strict.peer_certificates == (client_cert().leaf,)


@pytest.mark.parametrize("version", VERSIONS)
def test_optional_client_auth_resumes_a_session_without_identity(version: str) -> None:
    setup = Setup(version, "none")
    setup.handshake()
    _, resumed = setup.handshake(mode="optional")
    assert resumed.resumed and resumed.peer_certificates == ()


def test_ticket_state_round_trips_the_client_chain() -> None:
    chain = (
        client_cert().leaf.public_bytes(Encoding.DER),
        server_cert().leaf.public_bytes(Encoding.DER),
    )
    state = TicketState(
        cipher_suite=0x1301,
        psk=bytes(32),
        issued_at=1,
        ticket_age_add=2,
        lifetime=3,
        max_early_data_size=0,
        alpn_protocol=b"h2",
        server_name=b"localhost",
        client_certificates=chain,
    )
    assert TicketState.parse(state.serialize()) == state
    empty = dataclasses.replace(state, client_certificates=())
    assert TicketState.parse(empty.serialize()) == empty


# -- the client side: the server's chain ------------------------------------------------------


def whole_seconds(session: ClientSession) -> ClientSession:
    """What serialising keeps of ``received_at`` (a uint32 of seconds)."""
    return dataclasses.replace(session, received_at=float(int(session.received_at)))


@pytest.mark.parametrize("version", VERSIONS)
def test_resumed_session_reports_the_server_chain_to_the_client(version: str) -> None:
    setup = Setup(version, "none")
    first, _ = setup.handshake()
    assert not first.resumed and first.peer_certificates == (server_cert().leaf,)
    for _ in range(2):
        again, _ = setup.handshake()
        assert again.resumed
        assert again.peer_certificates == (server_cert().leaf,)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_session_kept_across_runs_keeps_the_server_chain(version: str) -> None:
    setup = Setup(version, "none")
    setup.handshake()
    store = setup.client_config.session_store
    assert store is not None
    session = store.get("localhost", time.time())
    assert session is not None
    assert session.server_certificates == (server_cert().leaf.public_bytes(Encoding.DER),)
    saved = session.to_bytes()
    assert saved[0] == 3  # the format with the chain
    restored = ClientSession.from_bytes(saved)
    assert restored == whole_seconds(session)
    assert restored.server_certificates == session.server_certificates
    store.put(restored)
    again, _ = setup.handshake()
    assert again.resumed and again.peer_certificates == (server_cert().leaf,)


def test_a_session_without_a_chain_keeps_its_old_format() -> None:
    setup = Setup("tls13", "none")
    setup.handshake()
    store = setup.client_config.session_store
    assert store is not None
    session = store.get("localhost", time.time())
    assert session is not None
    bare = dataclasses.replace(session, server_certificates=())
    assert bare.to_bytes()[0] == 1  # readable by earlier releases
    assert ClientSession.from_bytes(bare.to_bytes()) == whole_seconds(bare)


def test_a_chain_session_inside_a_chain_session_is_a_decode_error() -> None:
    setup = Setup("tls13", "none")
    setup.handshake()
    store = setup.client_config.session_store
    assert store is not None
    session = store.get("localhost", time.time())
    assert session is not None
    inner = session.to_bytes()
    nested = b"\x03" + len(inner).to_bytes(2, "big") + inner + b"\x00\x00\x00"
    with pytest.raises(DecodeError):
        ClientSession.from_bytes(nested)
    with pytest.raises(DecodeError):
        ClientSession.from_bytes(inner + b"\x00")  # trailing bytes
