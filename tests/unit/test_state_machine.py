"""Every handshake state against every TLS 1.3 message type (RFC 8446 §4, Appendix A).

Each (state, message) pair must either transition (the message the state waits for) or raise a
ProtocolError; a message type the state does not wait for must be ``unexpected_message``.
Nothing else (no KeyError, no AttributeError, no silent acceptance) is allowed.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import pytest

from tlsmachine import ClientConfig, ServerConfig
from tlsmachine.certs import CertifiedKey
from tlsmachine.client.hello import ExpectServerHello
from tlsmachine.enums import AlertDescription, HandshakeType, KeyUpdateRequest
from tlsmachine.errors import ProtocolError, UnexpectedMessage
from tlsmachine.extensions import EarlyData, SignatureAlgorithms
from tlsmachine.machine import Output, SendMessage
from tlsmachine.messages import decode_handshake, encode_handshake
from tlsmachine.messages.hello import HELLO_RETRY_REQUEST_RANDOM, ClientHello, ServerHello
from tlsmachine.messages.tls13 import (
    Certificate,
    CertificateRequest,
    CertificateVerify,
    EncryptedExtensions,
    EndOfEarlyData,
    Finished,
    KeyUpdate,
    NewSessionTicket,
)
from tlsmachine.server.hello import ExpectClientHello
from tlsmachine.session import AeadTicketSealer, ClientSession, InMemoryClientSessionStore


@functools.cache
def certificate() -> CertifiedKey:
    return CertifiedKey.self_signed(("localhost",), key_type="ecdsa-p256")


def sent(out: Output) -> list[object]:
    return [decode_handshake(a.raw) for a in out.actions if isinstance(a, SendMessage)]


def client_path(request_certificate: bool = False) -> list[tuple[object, object]]:
    """(state, the message it legally receives next) along a full client handshake."""
    client_config = ClientConfig(verify_certificates=False)
    out = Output()
    state: object = ExpectServerHello.start(client_config, "localhost", out)
    (hello,) = sent(out)
    server_out = Output()
    ExpectClientHello(ServerConfig(certificates=(certificate(),))).handle(hello, server_out)  # type: ignore[arg-type]
    server_msgs = sent(server_out)
    if request_certificate:
        # Splice a CertificateRequest in: the client then sends an empty Certificate.
        server_msgs = [*server_msgs[:2], SAMPLES["certificate_request"], *server_msgs[2:]]
    path = []
    for msg in server_msgs:
        path.append((state, msg))
        try:
            state = state.handle(msg, Output())  # type: ignore[attr-defined]
        except ProtocolError:
            break  # a spliced-in message breaks the transcript: enough for this walk
    path.append((state, KeyUpdate(request_update=KeyUpdateRequest.UPDATE_NOT_REQUESTED)))
    return path


def server_path(client_auth: bool = False) -> list[tuple[object, object]]:
    """Server states along a full handshake; with client_auth, the client has a certificate."""
    from cryptography.hazmat.primitives.serialization import Encoding

    client_out = Output()
    client_config = ClientConfig(
        verify_certificates=False, certificates=(certificate(),) if client_auth else ()
    )
    client_state = ExpectServerHello.start(client_config, "localhost", client_out)
    (hello,) = sent(client_out)
    server_config = ServerConfig(
        certificates=(certificate(),),
        client_auth="required" if client_auth else "none",
        client_cadata=certificate().leaf.public_bytes(Encoding.PEM),
    )
    server: object = ExpectClientHello(server_config)
    path = [(server, hello)]
    server_out = Output()
    server = server.handle(hello, server_out)  # type: ignore[attr-defined]
    state: object = client_state
    for msg in sent(server_out):
        out = Output()
        state = state.handle(msg, out)  # type: ignore[attr-defined]
    for msg in sent(out):  # [Certificate, CertificateVerify,] Finished
        path.append((server, msg))
        server = server.handle(msg, Output())  # type: ignore[attr-defined]
    path.append((server, KeyUpdate(request_update=KeyUpdateRequest.UPDATE_REQUESTED)))
    return path


@functools.cache
def early_data_setup() -> tuple[ClientSession, ServerConfig]:
    """A session whose ticket allows 0-RTT, and the server config that issued it."""
    from memory_pair import pump
    from tlsmachine import ClientConnection, ServerConnection

    store = InMemoryClientSessionStore()
    server_config = ServerConfig(
        certificates=(certificate(),),
        max_early_data_size=1024,
        clock=lambda: 1_900_000_000.0,
        ticket_sealer=AeadTicketSealer(),  # kept by the config copies below
    )
    client_config = ClientConfig(
        verify_certificates=False, session_store=store, clock=lambda: 1_900_000_000.0
    )
    pump(ClientConnection(client_config, "localhost"), ServerConnection(server_config))
    session = store.get("localhost", 1_900_000_000.0)
    assert session is not None and session.max_early_data_size == 1024
    return session, server_config


def early_data_path(side: str) -> list[tuple[object, object]]:
    """States of a resumed handshake with accepted 0-RTT (RFC 8446 §2.3), for one side."""
    session, server_config = early_data_setup()
    store = InMemoryClientSessionStore()
    store.put(session)
    client_config = ClientConfig(
        verify_certificates=False,
        session_store=store,
        early_data=True,
        clock=lambda: 1_900_000_000.0,
    )
    server_config = dataclasses.replace(server_config, replay_guard=_AlwaysFresh())
    client_out = Output()
    client: object = ExpectServerHello.start(client_config, "localhost", client_out)
    (hello,) = sent(client_out)
    server: object = ExpectClientHello(server_config)
    server_out = Output()
    server_path = [(server, hello)]
    server = server.handle(hello, server_out)  # type: ignore[attr-defined]
    client_path = []
    for msg in sent(server_out):  # ServerHello, EncryptedExtensions (early_data), Finished
        client_path.append((client, msg))
        out = Output()
        client = client.handle(msg, out)  # type: ignore[attr-defined]
    for msg in sent(out):  # EndOfEarlyData, Finished
        server_path.append((server, msg))
        server = server.handle(msg, Output())  # type: ignore[attr-defined]
    assert [type(m).__name__ for _, m in server_path] == [
        "ClientHello", "EndOfEarlyData", "Finished"
    ]  # fmt: skip
    update = KeyUpdate(request_update=KeyUpdateRequest.UPDATE_NOT_REQUESTED)
    client_path.append((client, update))
    server_path.append((server, update))
    return client_path if side == "client" else server_path


class _AlwaysFresh:
    """A replay guard for walks that replay the same ClientHello on purpose."""

    def first_use(self, key: bytes, now: float, window: float) -> bool:
        return True


SAMPLES: dict[str, object] = {
    "client_hello": ClientHello(
        legacy_version=0x0303,
        random=bytes(32),
        legacy_session_id=b"",
        cipher_suites=(0x1301,),
        legacy_compression_methods=b"\x00",
        extensions=(),
    ),
    "server_hello": ServerHello(
        legacy_version=0x0303,
        random=bytes(32),
        legacy_session_id_echo=b"",
        cipher_suite=0x1301,
        legacy_compression_method=0,
        extensions=(),
    ),
    "hello_retry_request": ServerHello(
        legacy_version=0x0303,
        random=HELLO_RETRY_REQUEST_RANDOM,
        legacy_session_id_echo=b"",
        cipher_suite=0x1301,
        legacy_compression_method=0,
        extensions=(),
    ),
    "new_session_ticket": NewSessionTicket(
        ticket_lifetime=60, ticket_age_add=1, ticket_nonce=b"\x00", ticket=b"t", extensions=()
    ),
    "end_of_early_data": EndOfEarlyData(),
    "encrypted_extensions": EncryptedExtensions(extensions=()),
    "certificate": Certificate(certificate_request_context=b"", certificate_list=()),
    "certificate_request": CertificateRequest(
        certificate_request_context=b"", extensions=(SignatureAlgorithms(schemes=(0x0403,)),)
    ),
    "certificate_verify": CertificateVerify(algorithm=0x0403, signature=b"\x00" * 70),
    "finished": Finished(verify_data=bytes(32)),
    "key_update": KeyUpdate(request_update=KeyUpdateRequest.UPDATE_NOT_REQUESTED),
    "new_session_ticket_with_early_data": NewSessionTicket(
        ticket_lifetime=60,
        ticket_age_add=1,
        ticket_nonce=b"",
        ticket=b"t",
        extensions=(EarlyData(max_early_data_size=1024),),
    ),
}


def parsed(sample: object) -> object:
    """Round-trip through the wire format so each message carries its raw bytes."""
    return decode_handshake(encode_handshake(sample))  # type: ignore[arg-type]


PATHS: dict[str, Callable[[], list[tuple[object, object]]]] = {
    "client": client_path,
    "client-with-certificate-request": lambda: client_path(request_certificate=True),
    "server": server_path,
    "server-with-client-auth": lambda: server_path(client_auth=True),
    "client-early-data": lambda: early_data_path("client"),
    "server-early-data": lambda: early_data_path("server"),
}
CASES = [
    (path_name, index, sample_name)
    for path_name, make in PATHS.items()
    for index in range(len(make()))
    for sample_name in SAMPLES
]


@pytest.mark.parametrize(("path_name", "index", "sample_name"), CASES)
def test_every_state_against_every_message(path_name: str, index: int, sample_name: str) -> None:
    state, legal = PATHS[path_name]()[index]  # a fresh walk: legal messages mutate transcripts
    msg = parsed(SAMPLES[sample_name])
    legal_types = _accepted_types(state, legal)
    outcome = _handle(state, msg)
    msg_type = msg.msg_type  # type: ignore[attr-defined]
    if isinstance(outcome, UnexpectedMessage):
        assert outcome.alert is AlertDescription.UNEXPECTED_MESSAGE
        assert msg_type not in legal_types, f"{type(state).__name__} rejected its own message"
    elif isinstance(outcome, ProtocolError):
        # A legal message type with unacceptable contents: its own alert, never a crash.
        assert msg_type in legal_types, f"{type(state).__name__}: {outcome!r}"
        assert outcome.alert is not AlertDescription.INTERNAL_ERROR
    else:
        assert msg_type in legal_types
        assert outcome is not None


def _handle(state: object, msg: object) -> object:
    """The next state, or the ProtocolError the state raised (anything else propagates)."""
    try:
        return state.handle(msg, Output())  # type: ignore[attr-defined]
    except ProtocolError as exc:
        return exc


def _accepted_types(state: object, legal: object) -> set[int]:
    name = type(state).__name__
    accepted = {legal.msg_type}  # type: ignore[attr-defined]
    if name == "ExpectCertificateOrCertificateRequest":
        accepted |= {HandshakeType.CERTIFICATE, HandshakeType.CERTIFICATE_REQUEST}
    if name == "Traffic13":
        accepted |= {HandshakeType.KEY_UPDATE}
        if state.is_client:  # type: ignore[attr-defined]
            accepted |= {HandshakeType.NEW_SESSION_TICKET}
    return accepted


@pytest.mark.parametrize("path_name", list(PATHS))
def test_the_legal_path_completes(path_name: str) -> None:
    path = PATHS[path_name]()
    assert type(path[-1][0]).__name__ == "Traffic13"
    names = [type(s).__name__ for s, _ in path]
    assert len(set(names)) == len(names), names  # each state is visited once
