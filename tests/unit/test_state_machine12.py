"""Every TLS 1.2 handshake state against every TLS 1.2 message type (RFC 5246 §7.3, §7.4).

The states are reached by driving real handshakes through ClientConnection / ServerConnection,
one message per record, and taking ``conn._handshake`` before each message is delivered: full
handshakes (with and without client authentication, ECDHE and DHE) and abbreviated ones (session
ID, ticket renewed), on both sides. Each (state, message) pair must either be the legal
transition or raise a ProtocolError: ``unexpected_message`` for a message type the state does
not wait for, any other non-internal alert for a legal type with bad contents. Nothing else (no
KeyError, no AttributeError, no silent acceptance of a wrong type) is allowed.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from memory_pair import pump
from tls_fixtures import Clock, client_cert, server_cert
from tlsmachine import (
    AeadTicketSealer,
    CertifiedKey,
    ClientConfig,
    ClientConnection,
    ClientSession,
    HandshakeMessageTraced,
    InMemoryClientSessionStore,
    InMemorySessionCache,
    ServerConfig,
    ServerConnection,
    Tls12Session,
)
from tlsmachine.connection import Connection
from tlsmachine.crypto.groups import FFDHE2048, X25519
from tlsmachine.crypto.suites import TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
from tlsmachine.enums import AlertDescription, ContentType, HandshakeType, ProtocolVersion
from tlsmachine.errors import DecodeError, ProtocolError, UnexpectedMessage
from tlsmachine.machine import Output
from tlsmachine.messages import decode_handshake, encode_handshake
from tlsmachine.messages.hello import ClientHello, ServerHello
from tlsmachine.messages.tls12 import (
    CHANGE_CIPHER_SPEC,
    Certificate12,
    CertificateRequest12,
    ChangeCipherSpec,
    ClientKeyExchange,
    HelloRequest,
    NewSessionTicket12,
    ServerHelloDone,
    ServerKeyExchange,
    ecdhe_params,
)
from tlsmachine.messages.tls13 import (
    CertificateVerify,
    EncryptedExtensions,
    EndOfEarlyData,
    Finished,
    KeyUpdate,
)
from wire import messages, record, records

TLS12 = ProtocolVersion.TLS12
HANDSHAKE = int(ContentType.HANDSHAKE)
CCS = int(ContentType.CHANGE_CIPHER_SPEC)


@functools.cache
def rsa_cert() -> CertifiedKey:
    return CertifiedKey.self_signed(("localhost",), key_type="rsa-2048")


def pem(certified: CertifiedKey) -> bytes:
    return certified.leaf.public_bytes(Encoding.PEM)


# --- walking a real handshake -------------------------------------------------------------------


Step = tuple[object, object]  # (the state before a message, that message)


class _Reached(Exception):
    """The walk reached the step it was asked to stop at (before delivering its message)."""

    def __init__(self, conn: Connection) -> None:
        super().__init__()
        self.conn = conn


def _deliver(sender: Connection, receiver: Connection, steps: list[Step], stop: int | None) -> bool:
    """Move the sender's bytes to the receiver one handshake message per record, recording
    (state, message) each time; False when there was nothing to send. Raises _Reached just
    before the message that would make ``len(steps)`` exceed ``stop``."""
    data = sender.data_to_send()
    for content_type, fragment in records(data):
        protected = receiver._records.read_protector.protected
        if content_type == HANDSHAKE and not protected:
            pieces = [record(HANDSHAKE, m) for m in messages(fragment)]
        else:
            pieces = [record(content_type, fragment)]
        for piece in pieces:
            if stop is not None and len(steps) == stop:
                raise _Reached(receiver)
            before = receiver._handshake
            events = receiver.receive_data(piece)
            if content_type == CCS:
                steps.append((before, CHANGE_CIPHER_SPEC))
                continue
            traced = [
                e.message
                for e in events
                if isinstance(e, HandshakeMessageTraced) and e.direction == "received"
            ]
            steps.extend((before, m) for m in traced[:1])
    return bool(data)


Setup = tuple[ClientConfig, ServerConfig, str]


def walk(setup: Setup, stop: int | None = None) -> list[Step]:
    """(state, the message it legally receives next) along one side of a real handshake, then
    the finished state with the renegotiation request it refuses (RFC 5746 §4). With ``stop``,
    raise _Reached with the connection whose state is the ``stop``-th one, untouched."""
    client_config, server_config, side = setup
    client = ClientConnection(dataclasses.replace(client_config, trace_handshake=True), "localhost")
    server = ServerConnection(dataclasses.replace(server_config, trace_handshake=True))
    client_steps: list[Step] = []
    server_steps: list[Step] = []
    client_stop, server_stop = (stop, None) if side == "client" else (None, stop)
    for _ in range(10):
        moved = _deliver(client, server, server_steps, server_stop)
        moved = _deliver(server, client, client_steps, client_stop) or moved
        if not moved:
            break
    if side == "client":
        steps, conn, last = client_steps, client, parsed(HelloRequest())
    else:
        steps, conn, last = server_steps, server, SAMPLES["client_hello"]
    if stop is not None and stop == len(steps):
        raise _Reached(conn)
    return [*steps, (conn._handshake, last)]


@functools.cache
def reference(path_name: str) -> tuple[Step, ...]:
    """One complete walk: which states come in which order, and their legal messages."""
    return tuple(walk(PATHS[path_name]()))


def reached(path_name: str, index: int) -> Connection:
    """A fresh connection of the walk, stopped before the ``index``-th step's message."""
    try:
        walk(PATHS[path_name](), stop=index)
    except _Reached as reached:
        return reached.conn
    raise AssertionError(f"{path_name} has no step {index}")


def state_at(path_name: str, index: int) -> object:
    """The ``index``-th state of the walk, as it was when reached (transcripts are mutable: a
    state taken from a walk that went on would see later messages)."""
    state = reached(path_name, index)._handshake
    assert type(state) is type(reference(path_name)[index][0])
    return state


def client12(**kwargs: Any) -> ClientConfig:
    return ClientConfig(verify_certificates=False, max_version=TLS12, **kwargs)


def server(**kwargs: Any) -> ServerConfig:
    return ServerConfig(certificates=(kwargs.pop("certificate", server_cert()),), **kwargs)


def auth_server(**kwargs: Any) -> ServerConfig:
    return server(client_auth="required", client_cadata=pem(client_cert()), **kwargs)


def dhe_setup(side: str) -> Setup:
    suites = (TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,)
    client = client12(tls12_cipher_suites=suites, groups=(FFDHE2048,))
    return client, server(certificate=rsa_cert()), side


@functools.cache
def _session(tickets: bool) -> tuple[ClientSession, ServerConfig, Tls12Session | None]:
    """A TLS 1.2 session, the server config (sealer, cache, clock) that can resume it and, for a
    session ID, the server's cached state."""
    clock = Clock()
    store = InMemoryClientSessionStore()
    server_config = server(
        session_tickets=2 if tickets else 0,
        ticket_sealer=AeadTicketSealer(),
        session_cache=InMemorySessionCache(),
        clock=clock,
    )
    pump(ClientConnection(client12(session_store=store, clock=clock), "localhost"),
         ServerConnection(server_config))  # fmt: skip
    session = store.get("localhost", clock.now)
    assert session is not None
    assert bool(session.ticket) is tickets and bool(session.session_id) is not tickets
    cached = server_config.tls12_session_cache().get(session.session_id, clock.now)
    return session, server_config, cached


def resumed(side: str, *, tickets: bool) -> Setup:
    """An abbreviated handshake; a ticket is half its lifetime old, so the server renews it
    and the client sees a NewSessionTicket (RFC 5077 §3.3)."""
    session, server_config, cached = _session(tickets)
    if cached is not None:  # in case a failed walk made the server forget it (RFC 5246 §7.2.2)
        server_config.tls12_session_cache().put(session.session_id, cached)
    later = Clock(Clock().now + 4000)
    store = InMemoryClientSessionStore()
    store.put(session)
    client_config = client12(session_store=store, clock=later)
    return client_config, dataclasses.replace(server_config, clock=later), side


PATHS: dict[str, Callable[[], Setup]] = {
    "client-full": lambda: (client12(), server(), "client"),
    "client-auth": lambda: (
        client12(certificates=(client_cert(),)),
        auth_server(session_tickets=0),
        "client",
    ),
    "client-dhe": lambda: dhe_setup("client"),
    "client-resumed-ticket": lambda: resumed("client", tickets=True),
    "client-resumed-session-id": lambda: resumed("client", tickets=False),
    "server-full": lambda: (client12(), server(), "server"),
    "server-auth": lambda: (client12(certificates=(client_cert(),)), auth_server(), "server"),
    "server-dhe": lambda: dhe_setup("server"),
    "server-resumed-ticket": lambda: resumed("server", tickets=True),
    "server-resumed-session-id": lambda: resumed("server", tickets=False),
}

# The states each walk passes through, in order (RFC 5246 §7.3 Figures 1 and 2).
EXPECTED_STATES = {
    "client-full": ["ExpectServerHello", "ExpectServerCertificate", "ExpectServerKeyExchange",
                    "ExpectCertificateRequestOrServerHelloDone", "ExpectNewSessionTicket",
                    "ExpectChangeCipherSpec", "ExpectServerFinished", "Traffic12"],
    "client-auth": ["ExpectServerHello", "ExpectServerCertificate", "ExpectServerKeyExchange",
                    "ExpectCertificateRequestOrServerHelloDone", "ExpectServerHelloDone",
                    "ExpectChangeCipherSpec", "ExpectServerFinished", "Traffic12"],
    "client-dhe": ["ExpectServerHello", "ExpectServerCertificate", "ExpectServerKeyExchange",
                   "ExpectCertificateRequestOrServerHelloDone", "ExpectNewSessionTicket",
                   "ExpectChangeCipherSpec", "ExpectServerFinished", "Traffic12"],
    "client-resumed-ticket": ["ExpectServerHello", "ExpectNewSessionTicket",
                              "ExpectChangeCipherSpec", "ExpectServerFinished", "Traffic12"],
    "client-resumed-session-id": ["ExpectServerHello", "ExpectChangeCipherSpec",
                                  "ExpectServerFinished", "Traffic12"],
    "server-full": ["ExpectClientHello", "ExpectClientKeyExchange", "ExpectChangeCipherSpec",
                    "ExpectClientFinished", "Traffic12"],
    "server-auth": ["ExpectClientHello", "ExpectClientCertificate", "ExpectClientKeyExchange",
                    "ExpectClientCertificateVerify", "ExpectChangeCipherSpec",
                    "ExpectClientFinished", "Traffic12"],
    "server-dhe": ["ExpectClientHello", "ExpectClientKeyExchange", "ExpectChangeCipherSpec",
                   "ExpectClientFinished", "Traffic12"],
    "server-resumed-ticket": ["ExpectClientHello", "ExpectChangeCipherSpec",
                              "ExpectClientFinished", "Traffic12"],
    "server-resumed-session-id": ["ExpectClientHello", "ExpectChangeCipherSpec",
                                  "ExpectClientFinished", "Traffic12"],
}  # fmt: skip


# --- one sample of every TLS 1.2 message type ---------------------------------------------------


def parsed(sample: object) -> object:
    """Round-trip through the TLS 1.2 wire format so each message carries its raw bytes."""
    if isinstance(sample, ChangeCipherSpec):
        return sample  # not a handshake message: the connection hands the states this object
    return decode_handshake(encode_handshake(sample), version=TLS12)  # type: ignore[arg-type]


_SKE_PARAMS = ecdhe_params(X25519.id, bytes(range(1, 33)))
SAMPLES: dict[str, object] = {
    name: parsed(sample)
    for name, sample in {
        "hello_request": HelloRequest(),
        "client_hello": ClientHello(
            legacy_version=0x0303,
            random=bytes(32),
            legacy_session_id=b"",
            cipher_suites=(0xC02B,),
            legacy_compression_methods=b"\x00",
            extensions=(),
        ),
        "server_hello": ServerHello(
            legacy_version=0x0303,
            random=bytes(32),
            legacy_session_id_echo=b"",
            cipher_suite=0xC02B,
            legacy_compression_method=0,
            extensions=(),
        ),
        "new_session_ticket": NewSessionTicket12(ticket_lifetime_hint=7200, ticket=b"ticket"),
        "certificate": Certificate12(certificate_list=()),
        "server_key_exchange": ServerKeyExchange.signed(_SKE_PARAMS, 0x0403, bytes(70)),
        "certificate_request": CertificateRequest12(
            certificate_types=b"\x40",
            supported_signature_algorithms=(0x0403,),
            certificate_authorities=(),
        ),
        "server_hello_done": ServerHelloDone(),
        "certificate_verify": CertificateVerify(algorithm=0x0403, signature=bytes(70)),
        "client_key_exchange": ClientKeyExchange.for_ecdhe(bytes(range(1, 33))),
        "finished": Finished(verify_data=bytes(12)),
        "change_cipher_spec": CHANGE_CIPHER_SPEC,
    }.items()
}


def test_the_samples_cover_the_tls12_message_set() -> None:
    """Every type decode_handshake accepts in TLS 1.2, plus the ChangeCipherSpec pseudo-message."""
    types = {getattr(s, "msg_type", None) for s in SAMPLES.values()}
    assert types == {
        HandshakeType.HELLO_REQUEST, HandshakeType.CLIENT_HELLO, HandshakeType.SERVER_HELLO,
        HandshakeType.NEW_SESSION_TICKET, HandshakeType.CERTIFICATE,
        HandshakeType.SERVER_KEY_EXCHANGE, HandshakeType.CERTIFICATE_REQUEST,
        HandshakeType.SERVER_HELLO_DONE, HandshakeType.CERTIFICATE_VERIFY,
        HandshakeType.CLIENT_KEY_EXCHANGE, HandshakeType.FINISHED, None,
    }  # fmt: skip
    for msg_type in HandshakeType:
        raw = bytes((msg_type, 0, 0, 0))
        if msg_type in types:
            continue
        with pytest.raises(UnexpectedMessage):  # outside the TLS 1.2 set
            decode_handshake(raw, version=TLS12)


# --- the matrix -------------------------------------------------------------------------------


CASES = [
    (path_name, index, sample_name)
    for path_name in PATHS
    for index in range(len(reference(path_name)))
    for sample_name in SAMPLES
]


def _accepted_types(state: object, legal: object) -> set[type]:
    name = type(state).__name__
    accepted = {type(legal)}
    if name == "ExpectCertificateRequestOrServerHelloDone":
        accepted |= {CertificateRequest12, ServerHelloDone}
    if name == "Traffic12":
        accepted = {HelloRequest} if state.is_client else {ClientHello}  # type: ignore[attr-defined]
    return accepted


def _handle(state: object, msg: object) -> object:
    """The next state, or the ProtocolError the state raised (anything else propagates)."""
    try:
        return state.handle(msg, Output())  # type: ignore[attr-defined]
    except ProtocolError as exc:
        return exc


@pytest.mark.parametrize(("path_name", "index", "sample_name"), CASES)
def test_every_state_against_every_message(path_name: str, index: int, sample_name: str) -> None:
    _, legal = reference(path_name)[index]
    state = state_at(path_name, index)
    msg = SAMPLES[sample_name]
    accepted = _accepted_types(state, legal)
    outcome = _handle(state, msg)
    where = f"{type(state).__name__} <- {type(msg).__name__}"
    if isinstance(outcome, UnexpectedMessage):
        assert outcome.alert is AlertDescription.UNEXPECTED_MESSAGE
        assert type(msg) not in accepted, f"{where}: rejected its own message type"
    elif isinstance(outcome, ProtocolError):
        # A legal message type with unacceptable contents: its own alert, never a crash.
        assert type(msg) in accepted, f"{where}: {outcome!r} instead of unexpected_message"
        assert outcome.alert is not AlertDescription.INTERNAL_ERROR, f"{where}: {outcome!r}"
    else:
        assert type(msg) in accepted, f"{where}: accepted"
        assert outcome is not None


@pytest.mark.parametrize("path_name", list(PATHS))
def test_the_legal_path_completes(path_name: str) -> None:
    names = [type(state).__name__ for state, _ in reference(path_name)]
    assert names == EXPECTED_STATES[path_name]


#: The modules holding each role's TLS 1.2 states, after the hello.
TLS12_MODULES = {
    "client": ("tlsmachine.client.tls12_full", "tlsmachine.client.tls12_finish"),
    "server": ("tlsmachine.server.tls12_client_flight",),
}


@pytest.mark.parametrize("path_name", [p for p in PATHS if "resumed" not in p])
def test_full_handshake_states_are_the_tls12_ones(path_name: str) -> None:
    """From ServerHello / ClientHello on, the states are those of the role's TLS 1.2 modules
    (client.tls12, tls12_full, tls12_finish / server.tls12, tls12_client_flight)."""
    modules = {type(state).__module__ for state, _ in reference(path_name)[1:]}
    side = "client" if path_name.startswith("client") else "server"
    tls12 = {name for name in modules if name.startswith(f"tlsmachine.{side}.tls12")}
    assert modules == tls12 | {"tlsmachine.traffic12"}
    assert tls12 == set(TLS12_MODULES[side])


# --- message types of the other version ---------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        EncryptedExtensions(extensions=()),
        EndOfEarlyData(),
        KeyUpdate(request_update=0),
    ],
    ids=["encrypted_extensions", "end_of_early_data", "key_update"],
)
def test_tls13_only_messages_are_unexpected_in_tls12(message: object) -> None:
    raw = encode_handshake(message)  # type: ignore[arg-type]
    with pytest.raises(UnexpectedMessage):
        decode_handshake(raw, version=TLS12)


@pytest.mark.parametrize(
    "message",
    [
        HelloRequest(),
        ServerKeyExchange(body=b"\x03"),
        ServerHelloDone(),
        ClientKeyExchange(body=b"\x00"),
    ],
    ids=["hello_request", "server_key_exchange", "server_hello_done", "client_key_exchange"],
)
def test_tls12_only_messages_are_unexpected_in_tls13(message: object) -> None:
    raw = encode_handshake(message)  # type: ignore[arg-type]
    with pytest.raises(UnexpectedMessage):
        decode_handshake(raw, version=ProtocolVersion.TLS13)


@pytest.mark.parametrize("path_name", ["client-full", "client-auth", "server-full", "server-auth"])
def test_unexpected_message_through_the_connection(path_name: str) -> None:
    """The same rule end to end, while the handshake is in the clear: at each step, a message
    the state does not wait for, in a record of its own, fails the connection with an
    unexpected_message alert."""
    side = "client" if path_name.startswith("client") else "server"
    intruder = SAMPLES["server_hello_done" if side == "client" else "certificate_verify"]
    raw = encode_handshake(intruder)  # type: ignore[arg-type]
    checked = 0
    for index, (state, legal) in enumerate(reference(path_name)):
        if type(intruder) in _accepted_types(state, legal):
            continue
        conn = reached(path_name, index)
        if conn._records.read_protector.protected:
            break  # from the peer's ChangeCipherSpec on, records are protected
        encrypted = conn._records.write_protector.protected  # our Finished went out already
        with pytest.raises(UnexpectedMessage):
            conn.receive_data(record(HANDSHAKE, raw))
        alert = conn.data_to_send()
        if encrypted:
            assert alert[0] == ContentType.ALERT and len(alert) > 7
        else:
            assert alert == record(
                ContentType.ALERT, bytes((2, AlertDescription.UNEXPECTED_MESSAGE))
            )
        checked += 1
    assert checked >= 2


def test_malformed_finished_in_the_finished_state_is_decode_error() -> None:
    names = [type(s).__name__ for s, _ in reference("client-full")]
    state = state_at("client-full", names.index("ExpectServerFinished"))
    short = decode_handshake(encode_handshake(Finished(verify_data=bytes(11))), version=TLS12)
    with pytest.raises(DecodeError):
        state.handle(short, Output())  # type: ignore[attr-defined]
