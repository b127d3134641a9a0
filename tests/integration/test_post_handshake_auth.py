"""Post-handshake client authentication (RFC 8446 §4.2.6, §4.6.2, §4.4) between our two roles.

Misbehaving peers are played by the test itself: it learns the application traffic secrets
through the key log, opens what one side sent and seals (possibly altered) handshake messages
for the other, as a peer holding those keys would (the real side's own records are dropped, so
the sequence numbers stay in step).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from memory_pair import pump
from tls_fixtures import client_cert, server_cert
from tlsmachine import (
    AlertReceived,
    ApplicationData,
    ClientConfig,
    ClientConnection,
    ConnectionState,
    Event,
    InMemoryClientSessionStore,
    KeyUpdated,
    ServerConfig,
    ServerConnection,
    UsageError,
)
from tlsmachine.certs import CertifiedKey
from tlsmachine.crypto.suites import TLS_AES_128_GCM_SHA256
from tlsmachine.enums import AlertDescription, ContentType, KeyUpdateRequest
from tlsmachine.errors import (
    CertificateRequired,
    DecryptError,
    IllegalParameter,
    MissingExtension,
    ProtocolError,
    UnexpectedMessage,
    UnsupportedExtension,
)
from tlsmachine.events import ClientCertificateReceived
from tlsmachine.extensions import PostHandshakeAuth, SignatureAlgorithms, UnknownExtension
from tlsmachine.keyschedule import traffic_key_iv
from tlsmachine.messages import HandshakeMessage, decode_handshake, encode_handshake
from tlsmachine.messages.hello import ClientHello
from tlsmachine.messages.tls13 import Certificate, CertificateRequest, KeyUpdate
from tlsmachine.record.protection import Aead13Protector

SUITE = TLS_AES_128_GCM_SHA256
"""One suite, so the test can derive the record keys from the logged secrets."""


def pem(certified: CertifiedKey) -> bytes:
    return certified.leaf.public_bytes(Encoding.PEM)


@dataclass
class Pair:
    """A connected client and server, and the secrets the server logged."""

    client: ClientConnection
    server: ServerConnection
    secrets: dict[str, bytes] = field(default_factory=dict)

    def channel(self, label: str) -> Channel:
        return Channel(self.secrets[label])


def connect(
    *,
    offer: bool = True,
    certificates: tuple[CertifiedKey, ...] = (client_cert(),),
    client_auth: str = "none",
    trusted: CertifiedKey | None = None,
    session_tickets: int = 2,
) -> Pair:
    """Handshake a pair in memory; the server trusts ``trusted`` (default: the client cert)."""
    secrets: dict[str, bytes] = {}

    def keylog(line: str) -> None:
        label, _, secret = line.split()
        secrets[label] = bytes.fromhex(secret)

    server_config = ServerConfig(
        certificates=(server_cert(),),
        client_auth=client_auth,
        client_cadata=pem(trusted or client_cert()),
        session_tickets=session_tickets,
        keylog=keylog,
    )
    client_config = ClientConfig(
        cadata=pem(server_cert()),
        certificates=certificates,
        post_handshake_auth=offer,
        cipher_suites=(SUITE,),
    )
    pair = Pair(ClientConnection(client_config, "localhost"), ServerConnection(server_config))
    pair.secrets = secrets
    pump(pair.client, pair.server)
    assert pair.server.state is ConnectionState.APP_DATA
    return pair


class Channel:
    """One direction's application keys (traffic secret 0): opens what the real sender sent,
    seals what the test sends in its place."""

    def __init__(self, secret: bytes) -> None:
        key, iv = traffic_key_iv(SUITE, secret)
        self._opener = Aead13Protector(SUITE.aead(key), iv)
        self._sealer = Aead13Protector(SUITE.aead(key), iv)

    def open(self, data: bytes) -> list[bytes]:
        """The handshake messages (raw, header included) in ``data``'s records."""
        messages = []
        while data:
            length = int.from_bytes(data[3:5], "big")
            content_type, content = self._opener.open(data[:5], data[5 : 5 + length])
            assert content_type == ContentType.HANDSHAKE
            data = data[5 + length :]
            while content:
                size = 4 + int.from_bytes(content[1:4], "big")
                messages.append(bytes(content[:size]))
                content = content[size:]
        return messages

    def seal(self, *messages: bytes | HandshakeMessage) -> bytes:
        raw = [m if isinstance(m, bytes) else encode_handshake(m) for m in messages]
        return self._sealer.seal(ContentType.HANDSHAKE, b"".join(raw))


def received(events: list[Event]) -> list[ClientCertificateReceived]:
    return [e for e in events if isinstance(e, ClientCertificateReceived)]


def request_and_answer(pair: Pair) -> tuple[bytes, list[Event]]:
    context = pair.server.request_client_certificate()
    _, server_events = pump(pair.client, pair.server)
    return context, server_events


def client_answer(pair: Pair) -> tuple[bytes, list[bytes]]:
    """Request a certificate; return the context and the client's answer, opened."""
    context = pair.server.request_client_certificate()
    pair.client.receive_data(pair.server.data_to_send())
    return context, pair.channel("CLIENT_TRAFFIC_SECRET_0").open(pair.client.data_to_send())


def assert_alert(pair: Pair, error: type[ProtocolError], alert: AlertDescription) -> None:
    """The server failed with ``alert``, and the client receives exactly that alert."""
    assert pair.server.state is ConnectionState.FAILED
    with pytest.raises(AlertReceived) as exc_info:
        pair.client.receive_data(pair.server.data_to_send())
    assert error.alert is alert
    assert exc_info.value.description == alert


# -- the ClientHello --------------------------------------------------------------------------


@pytest.mark.parametrize("offer", [True, False])
def test_client_hello_offers_post_handshake_auth_only_when_configured(offer: bool) -> None:
    config = ClientConfig(verify_certificates=False, post_handshake_auth=offer)
    hello = decode_handshake(ClientConnection(config, "localhost").data_to_send()[5:])
    assert isinstance(hello, ClientHello)
    assert (hello.get(PostHandshakeAuth) is not None) is offer


# -- successful exchanges ---------------------------------------------------------------------


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa-2048"])
def test_client_authenticates_after_the_handshake(key_type: str) -> None:
    certified = client_cert(key_type)
    pair = connect(certificates=(certified,), trusted=certified)
    assert pair.server.handshake_info is not None
    assert pair.server.handshake_info.peer_certificates == ()  # nothing asked in the handshake
    context, events = request_and_answer(pair)
    assert len(context) == 32
    (event,) = received(events)
    assert event.certificates == (certified.leaf,)
    assert event.certificate_request_context == context


def test_the_answer_is_certificate_certificate_verify_finished_echoing_the_context() -> None:
    pair = connect()
    context, answer = client_answer(pair)
    messages = [decode_handshake(raw) for raw in answer]
    assert [type(m).__name__ for m in messages] == ["Certificate", "CertificateVerify", "Finished"]
    assert isinstance(messages[0], Certificate)
    assert messages[0].certificate_request_context == context


def test_each_request_has_a_fresh_context_and_our_signature_algorithms() -> None:
    pair = connect(session_tickets=0)  # no tickets: the requests are the server's first records
    contexts = [pair.server.request_client_certificate() for _ in range(2)]
    raw = pair.channel("SERVER_TRAFFIC_SECRET_0").open(pair.server.data_to_send())
    requests = [decode_handshake(r) for r in raw]
    assert len(set(contexts)) == 2
    for request, context in zip(requests, contexts, strict=True):
        assert isinstance(request, CertificateRequest)
        assert request.certificate_request_context == context
        schemes = request.get(SignatureAlgorithms)
        assert schemes is not None
        assert schemes.schemes == pair.server.config.signature_schemes


def test_two_requests_in_a_row() -> None:
    pair = connect()
    first = pair.server.request_client_certificate()
    second = pair.server.request_client_certificate()
    assert first != second
    _, events = pump(pair.client, pair.server)
    assert [e.certificate_request_context for e in received(events)] == [first, second]
    third, events = request_and_answer(pair)  # a later exchange starts from the handshake again
    assert [e.certificate_request_context for e in received(events)] == [third]


def test_answers_may_come_in_another_order() -> None:
    # RFC 8446 §4.6.2: the client MAY answer in a different order; the context disambiguates.
    pair = connect()
    first = pair.server.request_client_certificate()
    second = pair.server.request_client_certificate()
    pair.client.receive_data(pair.server.data_to_send())
    channel = pair.channel("CLIENT_TRAFFIC_SECRET_0")
    answers = channel.open(pair.client.data_to_send())
    assert len(answers) == 6
    events = pair.server.receive_data(channel.seal(*answers[3:], *answers[:3]))
    assert [e.certificate_request_context for e in received(events)] == [second, first]


def test_key_update_between_request_and_answer() -> None:
    # RFC 8446 §4.6.2: "an arbitrary number of other messages" may precede the answer, whose
    # Finished key is then client_application_traffic_secret_1 (§4.4).
    pair = connect()
    context = pair.server.request_client_certificate()
    pair.client.key_update()
    events = pair.server.receive_data(pair.client.data_to_send())
    assert KeyUpdated(direction="receive") in events
    pair.client.receive_data(pair.server.data_to_send())
    events = pair.server.receive_data(pair.client.data_to_send())
    (event,) = received(events)
    assert event.certificate_request_context == context


def test_application_data_flows_afterwards() -> None:
    pair = connect()
    request_and_answer(pair)
    pair.client.send(b"ping")
    assert pair.server.receive_data(pair.client.data_to_send()) == [ApplicationData(data=b"ping")]
    pair.server.send(b"pong")
    assert pair.client.receive_data(pair.server.data_to_send()) == [ApplicationData(data=b"pong")]
    assert pair.server.state is pair.client.state is ConnectionState.APP_DATA


def test_the_relay_itself_passes_an_untouched_answer() -> None:
    # The control for the tampering tests below: re-sealing alone changes nothing.
    pair = connect()
    context, answer = client_answer(pair)
    channel = pair.channel("CLIENT_TRAFFIC_SECRET_0")
    (event,) = received(pair.server.receive_data(channel.seal(*answer)))
    assert event.certificate_request_context == context


# -- no certificate ---------------------------------------------------------------------------


@pytest.mark.parametrize("client_auth", ["none", "optional"])
def test_client_without_certificate_is_reported_empty(client_auth: str) -> None:
    pair = connect(certificates=(), client_auth=client_auth)
    context, answer = client_answer(pair)
    assert [raw[0] for raw in answer] == [11, 20]  # Certificate (empty), Finished
    channel = pair.channel("CLIENT_TRAFFIC_SECRET_0")
    (event,) = received(pair.server.receive_data(channel.seal(*answer)))
    assert event.certificates == ()
    assert event.certificate_request_context == context


def test_required_and_no_certificate_is_certificate_required() -> None:
    # A resumed handshake has no CertificateRequest (§4.3.2), so a "required" server asks later.
    store = InMemoryClientSessionStore()
    server_config = ServerConfig(
        certificates=(server_cert(),), client_auth="required", client_cadata=pem(client_cert())
    )

    def client(certificates: tuple[CertifiedKey, ...]) -> ClientConnection:
        config = ClientConfig(
            cadata=pem(server_cert()),
            certificates=certificates,
            post_handshake_auth=True,
            session_store=store,
        )
        return ClientConnection(config, "localhost")

    pump(client((client_cert(),)), ServerConnection(server_config))  # leaves a ticket
    pair = Pair(client(()), ServerConnection(server_config))
    pump(pair.client, pair.server)
    assert pair.server.handshake_info is not None
    assert pair.server.handshake_info.resumed
    pair.server.request_client_certificate()
    pair.client.receive_data(pair.server.data_to_send())
    with pytest.raises(CertificateRequired):
        pair.server.receive_data(pair.client.data_to_send())
    assert_alert(pair, CertificateRequired, AlertDescription.CERTIFICATE_REQUIRED)


# -- misuse of the API ------------------------------------------------------------------------


def test_request_when_the_client_did_not_offer_is_a_usage_error() -> None:
    pair = connect(offer=False)
    with pytest.raises(UsageError, match="did not offer"):
        pair.server.request_client_certificate()
    assert pair.server.state is ConnectionState.APP_DATA
    assert pair.server.data_to_send() == b""  # nothing was sent (RFC 8446 §4.2.6)


def test_request_outside_a_server_connection_after_the_handshake_is_a_usage_error() -> None:
    server = ServerConnection(ServerConfig(certificates=(server_cert(),)))
    with pytest.raises(UsageError):
        server.request_client_certificate()  # no handshake yet
    pair = connect()
    with pytest.raises(UsageError):
        pair.client.request_client_certificate()  # only servers ask
    pair.server.close()
    with pytest.raises(UsageError):
        pair.server.request_client_certificate()  # we closed


def test_request_without_client_trust_anchors_is_a_usage_error() -> None:
    config = ServerConfig(certificates=(server_cert(),))  # would fall back to the system store
    client = ClientConnection(
        ClientConfig(cadata=pem(server_cert()), post_handshake_auth=True), "localhost"
    )
    server = ServerConnection(config)
    pump(client, server)
    with pytest.raises(UsageError, match="client_cafile"):
        server.request_client_certificate()


# -- a misbehaving client ---------------------------------------------------------------------


def test_certificate_with_the_wrong_context_is_illegal_parameter() -> None:
    pair = connect()
    context, answer = client_answer(pair)
    certificate = decode_handshake(answer[0])
    assert isinstance(certificate, Certificate)
    wrong = Certificate(
        certificate_request_context=bytes(b ^ 0xFF for b in context),
        certificate_list=certificate.certificate_list,
    )
    channel = pair.channel("CLIENT_TRAFFIC_SECRET_0")
    with pytest.raises(IllegalParameter, match="context"):
        pair.server.receive_data(channel.seal(wrong, *answer[1:]))
    assert_alert(pair, IllegalParameter, AlertDescription.ILLEGAL_PARAMETER)


def test_certificate_entry_with_an_extension_is_unsupported_extension() -> None:
    """RFC 8446 §4.4.2: "Extensions in the Certificate message from the client MUST correspond
    to extensions in the CertificateRequest message from the server". Ours asks for none, so
    an entry extension in the client's answer (here status_request) is unsupported_extension
    (§4.2)."""
    pair = connect()
    _, answer = client_answer(pair)
    certificate = decode_handshake(answer[0])
    assert isinstance(certificate, Certificate) and certificate.certificate_list
    first, *rest = certificate.certificate_list
    extended = dataclasses.replace(first, extensions=(UnknownExtension(18, b""),))
    forged = dataclasses.replace(certificate, certificate_list=(extended, *rest), raw=b"")
    channel = pair.channel("CLIENT_TRAFFIC_SECRET_0")
    with pytest.raises(UnsupportedExtension, match="entry carries extensions"):
        pair.server.receive_data(channel.seal(forged, *answer[1:]))
    assert_alert(pair, UnsupportedExtension, AlertDescription.UNSUPPORTED_EXTENSION)


def test_forged_finished_is_decrypt_error() -> None:
    pair = connect()
    _, answer = client_answer(pair)
    finished = answer[2]
    forged = finished[:-1] + bytes([finished[-1] ^ 1])
    channel = pair.channel("CLIENT_TRAFFIC_SECRET_0")
    with pytest.raises(DecryptError, match="Finished"):
        pair.server.receive_data(channel.seal(answer[0], answer[1], forged))
    assert_alert(pair, DecryptError, AlertDescription.DECRYPT_ERROR)


def test_key_update_inside_an_answer_is_unexpected_message() -> None:
    # RFC 8446 §4.6.2: the messages of one answer are consecutive.
    pair = connect()
    _, answer = client_answer(pair)
    key_update = KeyUpdate(request_update=KeyUpdateRequest.UPDATE_NOT_REQUESTED)
    channel = pair.channel("CLIENT_TRAFFIC_SECRET_0")
    with pytest.raises(UnexpectedMessage):
        pair.server.receive_data(channel.seal(answer[0], key_update, *answer[1:]))
    assert_alert(pair, UnexpectedMessage, AlertDescription.UNEXPECTED_MESSAGE)


def test_client_certificate_without_request_is_unexpected_message() -> None:
    pair = connect()
    unasked = Certificate(certificate_request_context=bytes(32), certificate_list=())
    channel = pair.channel("CLIENT_TRAFFIC_SECRET_0")
    with pytest.raises(UnexpectedMessage, match="without a request"):
        pair.server.receive_data(channel.seal(unasked))
    assert_alert(pair, UnexpectedMessage, AlertDescription.UNEXPECTED_MESSAGE)


def test_second_answer_to_one_request_is_unexpected_message() -> None:
    pair = connect()
    _, answer = client_answer(pair)
    channel = pair.channel("CLIENT_TRAFFIC_SECRET_0")
    assert received(pair.server.receive_data(channel.seal(*answer)))
    with pytest.raises(UnexpectedMessage):
        pair.server.receive_data(channel.seal(*answer))  # the request was used up


# -- a misbehaving server ---------------------------------------------------------------------


def server_request(pair: Pair, request: CertificateRequest) -> None:
    """Feed ``request`` to the client as if the server had sent it."""
    channel = pair.channel("SERVER_TRAFFIC_SECRET_0")
    pair.client.receive_data(channel.seal(request))


def client_failure(pair: Pair, error: type[ProtocolError], alert: AlertDescription) -> None:
    assert pair.client.state is ConnectionState.FAILED
    with pytest.raises(AlertReceived) as exc_info:
        pair.server.receive_data(pair.client.data_to_send())
    assert error.alert is alert
    assert exc_info.value.description == alert


SCHEMES = (SignatureAlgorithms(schemes=(0x0403, 0x0804)),)


def test_certificate_request_to_a_client_that_did_not_offer_is_unexpected_message() -> None:
    pair = connect(offer=False, session_tickets=0)
    request = CertificateRequest(certificate_request_context=bytes(32), extensions=SCHEMES)
    with pytest.raises(UnexpectedMessage):
        server_request(pair, request)
    client_failure(pair, UnexpectedMessage, AlertDescription.UNEXPECTED_MESSAGE)


def test_certificate_request_with_an_empty_context_is_illegal_parameter() -> None:
    pair = connect(session_tickets=0)
    request = CertificateRequest(certificate_request_context=b"", extensions=SCHEMES)
    with pytest.raises(IllegalParameter, match="empty context"):
        server_request(pair, request)
    client_failure(pair, IllegalParameter, AlertDescription.ILLEGAL_PARAMETER)


def test_certificate_request_without_signature_algorithms_is_missing_extension() -> None:
    pair = connect(session_tickets=0)
    grease = (UnknownExtension(ext_type=0x7A7A, extension_data=b""),)
    request = CertificateRequest(certificate_request_context=bytes(32), extensions=grease)
    with pytest.raises(MissingExtension):
        server_request(pair, request)
    client_failure(pair, MissingExtension, AlertDescription.MISSING_EXTENSION)


def test_client_answers_a_forged_request_and_keeps_working() -> None:
    # The client side on its own: a well-formed request is answered, nothing else changes.
    pair = connect(session_tickets=0)
    request = CertificateRequest(certificate_request_context=b"ctx", extensions=SCHEMES)
    server_request(pair, request)
    answer = pair.channel("CLIENT_TRAFFIC_SECRET_0").open(pair.client.data_to_send())
    certificate = decode_handshake(answer[0])
    assert isinstance(certificate, Certificate)
    assert certificate.certificate_request_context == b"ctx"
    assert pair.client.state is ConnectionState.APP_DATA


# -- after our close_notify (RFC 8446 §6.1: "the sender will not send any more messages") ---


def test_no_key_update_answer_after_our_close_notify() -> None:
    """update_requested asks for a KeyUpdate "prior to sending its next Application Data
    record" (§4.6.3); after our close_notify there is none, and nothing may follow it."""
    pair = connect()
    pair.client.close()
    close_notify = pair.client.data_to_send()
    pair.server.key_update(request_peer=True)
    events = pair.client.receive_data(pair.server.data_to_send())
    assert KeyUpdated(direction="receive") in events
    assert KeyUpdated(direction="send") not in events
    assert pair.client.data_to_send() == b""
    assert pair.client.state is ConnectionState.HOST_INITIATED_CLOSING
    # the server still reads our close_notify under the keys it expects
    pair.server.receive_data(close_notify)
    assert pair.server.state is ConnectionState.PEER_CLOSED


def test_key_update_is_answered_before_our_close_notify() -> None:
    """The same request while we are still open is answered (the control for the above)."""
    pair = connect()
    pair.server.key_update(request_peer=True)
    events = pair.client.receive_data(pair.server.data_to_send())
    assert KeyUpdated(direction="send") in events
    assert pair.client.data_to_send() != b""


def test_no_certificate_answer_after_our_close_notify() -> None:
    pair = connect()
    pair.server.request_client_certificate()
    request = pair.server.data_to_send()
    pair.client.close()
    close_notify = pair.client.data_to_send()
    assert pair.client.receive_data(request) == []
    assert pair.client.data_to_send() == b""
    events = pair.server.receive_data(close_notify)
    assert not any(isinstance(e, ClientCertificateReceived) for e in events)
    assert pair.server.state is ConnectionState.PEER_CLOSED
