"""Bad TLS 1.2 input: each failure is the right TLSError subclass and sends the right alert.

RFC 5246 §7.2.2 (error alerts), §7.1 (ChangeCipherSpec), §7.4 (handshake messages), §7.4.9
(Finished); RFC 8422 §5 (ECDHE), RFC 7919 §5.1 (DHE public values), RFC 5746 §3.4/§3.6,
RFC 7627 §5.4, RFC 8996. Each case checks the error, its alert, the FAILED state, and the alert
bytes the peer gets (a plaintext record while the failing side has no keys, else the peer
decrypts it and reports AlertReceived).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memory_pair import pump
from tls_fixtures import client_cert, server_cert
from tlsmachine import (
    AeadTicketSealer,
    AlertReceived,
    CertifiedKey,
    ClientConfig,
    ClientConnection,
    ConnectionClosedError,
    ConnectionState,
    HandshakeMessageTraced,
    ServerConfig,
    ServerConnection,
    TLSError,
)
from tlsmachine.connection import Connection
from tlsmachine.crypto.groups import (
    DEFAULT_GROUPS,
    FFDHE2048,
    SECP256R1,
    X448,
    X25519,
    FFDHEGroup,
    Group,
    PrivateKeyShare,
)
from tlsmachine.crypto.signatures import sign
from tlsmachine.crypto.suites import (
    TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
)
from tlsmachine.enums import (
    AlertDescription,
    ContentType,
    HandshakeType,
    ProtocolVersion,
    SignatureScheme,
)
from tlsmachine.errors import (
    BadRecordMac,
    DecodeError,
    DecryptError,
    HandshakeFailure,
    IllegalParameter,
    InsufficientSecurity,
    InternalError,
    ProtocolError,
    ProtocolVersionError,
    UnexpectedMessage,
    UnsupportedExtension,
)
from tlsmachine.extensions import (
    ApplicationLayerProtocolNegotiation,
    EcPointFormats,
    ExtendedMasterSecret,
    RecordSizeLimit,
    RenegotiationInfo,
    SupportedVersionsClientHello,
    UnknownExtension,
)
from tlsmachine.handshake12 import Protectors12, protectors, server_key_exchange_input
from tlsmachine.messages import decode_handshake, encode_handshake
from tlsmachine.messages.hello import ClientHello, ServerHello
from tlsmachine.messages.tls12 import (
    Certificate12,
    ClientKeyExchange,
    ServerKeyExchange,
    dhe_params,
    ecdhe_params,
)
from tlsmachine.messages.tls13 import EncryptedExtensions, Finished
from tlsmachine.traffic12 import Traffic12
from wire import ALERT, APPLICATION_DATA, CCS, HANDSHAKE, messages, plaintext_alert, record, records

TLS12 = ProtocolVersion.TLS12


# --- certificates, configs ----------------------------------------------------------------------


@functools.cache
def rsa_cert() -> CertifiedKey:
    return CertifiedKey.self_signed(("localhost",), key_type="rsa-2048")


@functools.cache
def ed25519_cert() -> CertifiedKey:
    return CertifiedKey.self_signed(("localhost",), key_type="ed25519")


def pem(certified: CertifiedKey) -> bytes:
    return certified.leaf.public_bytes(Encoding.PEM)


def client_config(**kwargs: Any) -> ClientConfig:
    """A TLS 1.2-only client (no certificate check: the certificates are self-signed).

    Given ECDHE ``groups``, it also lists secp256r1, the curve of the default server
    certificate (RFC 8422 §4); :meth:`Pair.of` keeps the key exchange on the first group."""
    groups = kwargs.get("groups")
    if groups and SECP256R1 not in groups and not isinstance(groups[0], FFDHEGroup):
        kwargs["groups"] = (*groups, SECP256R1)
    return ClientConfig(verify_certificates=False, max_version=TLS12, **kwargs)


def server_config(certified: CertifiedKey | None = None, **kwargs: Any) -> ServerConfig:
    return ServerConfig(certificates=(certified or server_cert(),), **kwargs)


def auth_server_config() -> ServerConfig:
    return server_config(client_auth="required", client_cadata=pem(client_cert()))


# --- records and messages -----------------------------------------------------------------------


def join(parts: list[tuple[int, bytes]]) -> bytes:
    return b"".join(record(t, body) for t, body in parts)


def frame(msg_type: int, body: bytes) -> bytes:
    return bytes((msg_type,)) + len(body).to_bytes(3, "big") + body


def edit(flight: bytes, msg_type: int, change: Callable[[bytes], bytes | None]) -> bytes:
    """``flight`` with the plaintext handshake message of ``msg_type`` replaced by
    ``change(message)`` (``None`` drops it); every message goes into a record of its own."""
    out: list[tuple[int, bytes]] = []
    protected = False
    found = False
    for content_type, fragment in records(flight):
        if content_type != HANDSHAKE or protected:
            protected = protected or content_type == CCS
            out.append((content_type, fragment))
            continue
        for message in messages(fragment):
            if message[0] == msg_type and not found:
                found = True
                changed = change(message)
                if changed is not None:
                    out.append((HANDSHAKE, changed))
            else:
                out.append((HANDSHAKE, message))
    assert found, f"no message of type {msg_type} in the flight"
    return join(out)


def body_edit(change: Callable[[bytes], bytes]) -> Callable[[bytes], bytes]:
    """Change a message's body; the header's length follows."""
    return lambda message: frame(message[0], change(message[4:]))


def find(flight: bytes, msg_type: int, version: ProtocolVersion = TLS12) -> Any:
    """The decoded plaintext handshake message of ``msg_type`` in ``flight``."""
    for content_type, fragment in records(flight):
        if content_type == CCS:
            break
        if content_type == HANDSHAKE:
            for message in messages(fragment):
                if message[0] == msg_type:
                    return decode_handshake(message, version=version)
    raise AssertionError(f"no message of type {msg_type}")


def replace_with(new: object) -> Callable[[bytes], bytes]:
    return lambda _message: encode_handshake(new)  # type: ignore[arg-type]


def up_to_ccs(flight: bytes) -> tuple[bytes, bytes]:
    """Split a flight before its ChangeCipherSpec record: (plaintext part, CCS and the rest)."""
    parts = records(flight)
    at = next(i for i, (t, _) in enumerate(parts) if t == CCS)
    return join(parts[:at]), join(parts[at:])


# --- driving a handshake ------------------------------------------------------------------------


@dataclasses.dataclass
class Pair:
    """A client and a server, and the flights of a TLS 1.2 handshake one at a time."""

    client: ClientConnection
    server: ServerConnection

    @classmethod
    def of(cls, client: ClientConfig | None = None, server: ServerConfig | None = None) -> Pair:
        return cls(
            ClientConnection(client or client_config(), "localhost"),
            ServerConnection(
                server
                or server_config(
                    # the first group TLS 1.2 can use: the default X25519MLKEM768 is TLS 1.3 only
                    groups=[g for g in client.groups if not g.kem][:1] if client else DEFAULT_GROUPS
                )
            ),
        )

    def client_hello(self) -> bytes:
        return self.client.data_to_send()

    def server_flight(self) -> bytes:
        """ServerHello .. ServerHelloDone (the client's hello delivered)."""
        self.server.receive_data(self.client_hello())
        return self.server.data_to_send()

    def client_flight(self) -> bytes:
        """[Certificate], ClientKeyExchange, [CertificateVerify], CCS, Finished."""
        self.client.receive_data(self.server_flight())
        return self.client.data_to_send()

    def server_finish(self) -> bytes:
        """[NewSessionTicket], CCS, Finished."""
        self.server.receive_data(self.client_flight())
        return self.server.data_to_send()

    def established(self) -> Pair:
        self.client.receive_data(self.server_finish())
        assert self.client.state is self.server.state is ConnectionState.APP_DATA
        return self


def fresh_protectors(conn: Connection) -> Protectors12:
    """Both directions' record protectors as they were when the keys came into use (sequence
    number 0): for records that the honest peer would not send."""
    state: Any = conn._handshake
    if isinstance(state, Traffic12):
        return protectors(state.suite, state.master_secret, state.client_random,
                          state.server_random)  # fmt: skip
    hs, master = state.hs, state.agreed.master_secret
    return protectors(hs.suite, master, hs.client_random, hs.server_random)


def fails(
    conn: Connection,
    data: bytes,
    error: type[ProtocolError],
    alert: AlertDescription,
    peer: Connection,
    *,
    encrypted: bool = False,
) -> None:
    """``conn`` rejects ``data`` with ``error`` and ``alert``; the peer gets that alert."""
    with pytest.raises(error) as exc_info:
        conn.receive_data(data)
    assert exc_info.value.alert is alert, exc_info.value
    assert conn.state is ConnectionState.FAILED
    with pytest.raises(ConnectionClosedError):
        conn.receive_data(b"\x15\x03\x03\x00\x02\x01\x00")
    sent = conn.data_to_send()
    if encrypted:
        assert sent[0] == ALERT and len(sent) > 7  # protected: nonce, content, tag
    else:
        assert sent == plaintext_alert(alert)
    with pytest.raises(AlertReceived) as received:
        peer.receive_data(sent)
    assert received.value.description == alert
    assert peer.state is ConnectionState.FAILED
    assert peer.data_to_send() == b""  # nobody answers an alert with an alert


# --- truncated and oversized handshake messages -------------------------------------------------

MUTATIONS: dict[str, Callable[[bytes], bytes]] = {
    "truncated": lambda body: body[:-1],
    "oversized": lambda body: body + b"\x00",
    "empty": lambda body: b"",
}


@pytest.mark.parametrize("mutation", list(MUTATIONS))
@pytest.mark.parametrize(
    "message",
    ["server_key_exchange", "certificate", "certificate_request", "dhe_server_key_exchange"],
)
def test_bad_message_from_the_server_is_decode_error(message: str, mutation: str) -> None:
    if message == "certificate_request":
        pair = Pair.of(client_config(certificates=(client_cert(),)), auth_server_config())
    elif message == "dhe_server_key_exchange":
        pair = Pair.of(
            client_config(tls12_cipher_suites=(TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,)),
            server_config(rsa_cert()),
        )
        message = "server_key_exchange"
    else:
        pair = Pair.of()
    msg_type = HandshakeType[message.upper()]
    flight = edit(pair.server_flight(), msg_type, body_edit(MUTATIONS[mutation]))
    fails(pair.client, flight, DecodeError, AlertDescription.DECODE_ERROR, pair.server)


def test_server_hello_done_with_a_body_is_decode_error() -> None:
    pair = Pair.of()
    flight = edit(pair.server_flight(), HandshakeType.SERVER_HELLO_DONE,
                  body_edit(lambda body: body + b"\x00"))  # fmt: skip
    fails(pair.client, flight, DecodeError, AlertDescription.DECODE_ERROR, pair.server)


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_bad_new_session_ticket_is_decode_error(mutation: str) -> None:
    pair = Pair.of()
    finish = edit(pair.server_finish(), HandshakeType.NEW_SESSION_TICKET,
                  body_edit(MUTATIONS[mutation]))  # fmt: skip
    # The client has sent its Finished: its alert goes out under its new keys.
    fails(pair.client, finish, DecodeError, AlertDescription.DECODE_ERROR, pair.server,
          encrypted=True)  # fmt: skip


@pytest.mark.parametrize("mutation", list(MUTATIONS))
@pytest.mark.parametrize("message", ["client_key_exchange", "certificate", "dhe_key_exchange"])
def test_bad_message_from_the_client_is_decode_error(message: str, mutation: str) -> None:
    if message == "certificate":
        pair = Pair.of(client_config(certificates=(client_cert(),)), auth_server_config())
    elif message == "dhe_key_exchange":
        pair = Pair.of(
            client_config(tls12_cipher_suites=(TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,)),
            server_config(rsa_cert()),
        )
        message = "client_key_exchange"
    else:
        pair = Pair.of()
    flight, _ = up_to_ccs(pair.client_flight())
    flight = edit(flight, HandshakeType[message.upper()], body_edit(MUTATIONS[mutation]))
    fails(pair.server, flight, DecodeError, AlertDescription.DECODE_ERROR, pair.client)


def test_handshake_message_announcing_too_many_bytes_is_decode_error() -> None:
    """The ServerHello the client waits for, announcing 1 MiB: refused at its header."""
    pair = Pair.of()
    pair.server_flight()
    header = frame(HandshakeType.SERVER_HELLO, b"")[:1] + (1 << 20).to_bytes(3, "big")
    fails(pair.client, record(HANDSHAKE, header), DecodeError, AlertDescription.DECODE_ERROR,
          pair.server)  # fmt: skip


def test_out_of_order_message_announcing_too_many_bytes_is_unexpected_message() -> None:
    """A Certificate before the ServerHello is out of order whatever length it announces: its
    type is judged before its size (RFC 5246 §7.4, as tlsfuzzer's type-fuzz probes expect)."""
    pair = Pair.of()
    pair.server_flight()
    header = frame(HandshakeType.CERTIFICATE, b"")[:1] + (1 << 20).to_bytes(3, "big")
    fails(pair.client, record(HANDSHAKE, header), UnexpectedMessage,
          AlertDescription.UNEXPECTED_MESSAGE, pair.server)  # fmt: skip


def test_empty_server_certificate_is_rejected() -> None:
    pair = Pair.of()
    flight = edit(pair.server_flight(), HandshakeType.CERTIFICATE,
                  body_edit(lambda _: b"\x00\x00\x00"))  # fmt: skip
    with pytest.raises(ProtocolError) as exc_info:
        pair.client.receive_data(flight)
    assert exc_info.value.alert in (
        AlertDescription.DECODE_ERROR,
        AlertDescription.BAD_CERTIFICATE,
        AlertDescription.HANDSHAKE_FAILURE,
    )


def test_garbage_certificate_is_bad_certificate() -> None:
    pair = Pair.of()
    junk = b"\x30\x03\x02\x01\x00"  # a DER SEQUENCE, not a certificate
    body = (len(junk) + 3).to_bytes(3, "big") + len(junk).to_bytes(3, "big") + junk
    flight = edit(pair.server_flight(), HandshakeType.CERTIFICATE, body_edit(lambda _: body))
    fails(pair.client, flight, ProtocolError, AlertDescription.BAD_CERTIFICATE, pair.server)


def malformed(certified: CertifiedKey, kind: str, name: str) -> bytes:
    """The leaf's DER with one field broken in a way pyca notices only when it is used."""
    der = certified.der_chain[0]
    if kind == "version":  # [0] EXPLICIT INTEGER 2 (v3) -> 20: x509.InvalidVersion
        return der.replace(b"\xa0\x03\x02\x01\x02", b"\xa0\x03\x02\x01\x14", 1)
    if kind == "issuer":  # the issuer's CN as invalid UTF-8: ValueError when issuer is read
        cn = b"\x0c" + bytes((len(name),)) + name.encode()
        return der.replace(cn, cn[:2] + b"\xff" + cn[3:], 1)
    if kind == "key-type":  # id-ecPublicKey -> an unknown OID: UnsupportedAlgorithm
        return der.replace(bytes.fromhex("06072a8648ce3d0201"), bytes.fromhex("06072a8648ce3d0209"))
    if kind == "curve":  # secp256r1 -> an unknown curve OID: UnsupportedAlgorithm
        return der.replace(bytes.fromhex("06082a8648ce3d030107"),
                           bytes.fromhex("06082a8648ce3d03013b"))  # fmt: skip
    # "point": the public key is not on the curve: ValueError from public_key()
    public = certified.leaf.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return der.replace(public, public[:-1] + bytes((public[-1] ^ 1,)))


CERTIFICATE_ALERTS = (
    AlertDescription.BAD_CERTIFICATE,
    AlertDescription.UNSUPPORTED_CERTIFICATE,
)
MALFORMED = [
    (kind, verify)
    for kind in ("version", "issuer", "key-type", "curve", "point")
    for verify in (False, True)
    if verify or kind != "issuer"  # without verification nobody reads the issuer
]


MALFORMED_IDS = [f"{k}-{'verified' if v else 'unverified'}" for k, v in MALFORMED]


@pytest.mark.parametrize(("kind", "verify"), MALFORMED, ids=MALFORMED_IDS)
def test_malformed_server_certificate_is_a_certificate_alert(kind: str, verify: bool) -> None:
    """Never internal_error: RFC 5246 §7.2.2 bad_certificate / unsupported_certificate (or
    unknown_ca from a verifier that cannot trust it)."""
    der = malformed(server_cert(), kind, "localhost")
    assert der != server_cert().der_chain[0]
    config = (
        ClientConfig(cadata=pem(server_cert()), max_version=TLS12) if verify else client_config()
    )
    pair = Pair.of(config)
    flight = edit(pair.server_flight(), HandshakeType.CERTIFICATE,
                  replace_with(Certificate12(certificate_list=(der,))))  # fmt: skip
    with pytest.raises(ProtocolError) as exc_info:
        pair.client.receive_data(flight)
    allowed = (*CERTIFICATE_ALERTS, AlertDescription.UNKNOWN_CA) if verify else CERTIFICATE_ALERTS
    assert exc_info.value.alert in allowed, repr(exc_info.value)
    assert pair.client.data_to_send() == plaintext_alert(exc_info.value.alert)


@pytest.mark.parametrize("kind", ["version", "issuer", "key-type", "curve", "point"])
def test_malformed_client_certificate_is_a_certificate_alert(kind: str) -> None:
    der = malformed(client_cert(), kind, "client.example")
    assert der != client_cert().der_chain[0]
    pair = Pair.of(client_config(certificates=(client_cert(),)), auth_server_config())
    plaintext, _ = up_to_ccs(pair.client_flight())
    bad = edit(plaintext, HandshakeType.CERTIFICATE,
               replace_with(Certificate12(certificate_list=(der,))))  # fmt: skip
    with pytest.raises(ProtocolError) as exc_info:
        pair.server.receive_data(bad)
    allowed = (*CERTIFICATE_ALERTS, AlertDescription.UNKNOWN_CA)
    assert exc_info.value.alert in allowed, repr(exc_info.value)
    assert pair.server.data_to_send() == plaintext_alert(exc_info.value.alert)


def test_tls13_only_message_in_a_tls12_handshake_is_unexpected_message() -> None:
    pair = Pair.of()
    flight = pair.server_flight()
    ee = encode_handshake(EncryptedExtensions(extensions=()))
    flight = edit(flight, HandshakeType.CERTIFICATE, lambda _: ee)
    fails(pair.client, flight, UnexpectedMessage, AlertDescription.UNEXPECTED_MESSAGE,
          pair.server)  # fmt: skip


# --- ChangeCipherSpec at the wrong time, or wrong -----------------------------------------------


def test_change_cipher_spec_before_client_key_exchange_is_unexpected_message() -> None:
    pair = Pair.of()
    pair.server_flight()
    fails(pair.server, record(CCS, b"\x01"), UnexpectedMessage,
          AlertDescription.UNEXPECTED_MESSAGE, pair.client)  # fmt: skip


def test_a_client_that_may_speak_tls13_drops_a_ccs_before_server_hello() -> None:
    """RFC 8446 §5 (middlebox compatibility): dropped, and a TLS 1.2 handshake still works."""
    pair = Pair.of(ClientConfig(verify_certificates=False), server_config(max_version=TLS12))
    pair.server.receive_data(pair.client_hello())
    assert pair.client.receive_data(record(CCS, b"\x01")) == []
    pair.client.receive_data(pair.server.data_to_send())
    pump(pair.client, pair.server)
    assert pair.client.state is ConnectionState.APP_DATA
    assert pair.client.handshake_info is not None
    assert pair.client.handshake_info.version == "TLSv1.2"


def test_change_cipher_spec_to_a_client_waiting_for_server_hello_done() -> None:
    pair = Pair.of()
    flight = edit(pair.server_flight(), HandshakeType.SERVER_HELLO_DONE, lambda _: None)
    fails(pair.client, flight + record(CCS, b"\x01"), UnexpectedMessage,
          AlertDescription.UNEXPECTED_MESSAGE, pair.server)  # fmt: skip


def test_change_cipher_spec_before_server_hello_is_unexpected_message() -> None:
    """A TLS 1.2-only client cannot be in a TLS 1.3 handshake, where RFC 8446 §5 would have it
    drop a compatibility CCS: in TLS 1.2 a CCS before ServerHello is unexpected (RFC 5246 §7.1:
    it is sent only once the cipher spec is negotiated)."""
    pair = Pair.of()
    pair.client_hello()
    fails(pair.client, record(CCS, b"\x01"), UnexpectedMessage,
          AlertDescription.UNEXPECTED_MESSAGE, pair.server)  # fmt: skip


def test_second_change_cipher_spec_instead_of_finished_is_unexpected_message() -> None:
    pair = Pair.of()
    flight = pair.client_flight()
    plaintext, _ = up_to_ccs(flight)
    second = fresh_protectors(pair.client).client_write.seal(CCS, b"\x01")  # under the new keys
    fails(pair.server, plaintext + record(CCS, b"\x01") + second, UnexpectedMessage,
          AlertDescription.UNEXPECTED_MESSAGE, pair.client)  # fmt: skip


@pytest.mark.parametrize("sender", ["client", "server"])
def test_change_cipher_spec_after_the_handshake_is_unexpected_message(sender: str) -> None:
    pair = Pair.of().established()
    conn, peer = (pair.client, pair.server) if sender == "client" else (pair.server, pair.client)
    conn._records.write(ContentType.CHANGE_CIPHER_SPEC, b"\x01")  # encrypted, a valid record
    fails(peer, conn.data_to_send(), UnexpectedMessage, AlertDescription.UNEXPECTED_MESSAGE, conn,
          encrypted=True)  # fmt: skip


def test_client_finished_without_change_cipher_spec_is_unexpected_message() -> None:
    pair = Pair.of()
    plaintext, _ = up_to_ccs(pair.client_flight())
    finished = record(HANDSHAKE, encode_handshake(Finished(verify_data=bytes(12))))
    fails(pair.server, plaintext + finished, UnexpectedMessage,
          AlertDescription.UNEXPECTED_MESSAGE, pair.client)  # fmt: skip


def test_server_finished_without_change_cipher_spec_is_unexpected_message() -> None:
    pair = Pair.of()
    ticket, _ = up_to_ccs(pair.server_finish())
    finished = record(HANDSHAKE, encode_handshake(Finished(verify_data=bytes(12))))
    fails(pair.client, ticket + finished, UnexpectedMessage,
          AlertDescription.UNEXPECTED_MESSAGE, pair.server, encrypted=True)  # fmt: skip


@pytest.mark.parametrize("payload", [b"\x02", b"\x01\x01", b"\x00"], ids=["2", "1-1", "0"])
def test_change_cipher_spec_payload_other_than_one_is_unexpected_message(payload: bytes) -> None:
    pair = Pair.of()
    plaintext, _ = up_to_ccs(pair.client_flight())
    fails(pair.server, plaintext + record(CCS, payload), UnexpectedMessage,
          AlertDescription.UNEXPECTED_MESSAGE, pair.client)  # fmt: skip


def test_change_cipher_spec_inside_a_fragmented_handshake_message() -> None:
    pair = Pair.of()
    plaintext, _ = up_to_ccs(pair.client_flight())
    (_, cke), *_ = records(plaintext)
    first_half = record(HANDSHAKE, cke[:10])
    fails(pair.server, first_half + record(CCS, b"\x01"), UnexpectedMessage,
          AlertDescription.UNEXPECTED_MESSAGE, pair.client)  # fmt: skip


# --- Finished ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verify_data", "error", "alert"),
    [
        (bytes(12), DecryptError, AlertDescription.DECRYPT_ERROR),
        (bytes(11), DecodeError, AlertDescription.DECODE_ERROR),
        (bytes(13), DecodeError, AlertDescription.DECODE_ERROR),
        (bytes(32), DecodeError, AlertDescription.DECODE_ERROR),  # the TLS 1.3 length
    ],
    ids=["wrong", "11-bytes", "13-bytes", "32-bytes"],
)
def test_bad_client_finished(verify_data: bytes, error: type[ProtocolError], alert: Any) -> None:
    pair = Pair.of()
    plaintext, _ = up_to_ccs(pair.client_flight())
    forged = fresh_protectors(pair.client).client_write.seal(
        HANDSHAKE, encode_handshake(Finished(verify_data=verify_data))
    )
    fails(pair.server, plaintext + record(CCS, b"\x01") + forged, error, alert, pair.client)


@pytest.mark.parametrize(
    ("verify_data", "error", "alert"),
    [
        (bytes(12), DecryptError, AlertDescription.DECRYPT_ERROR),
        (bytes(11), DecodeError, AlertDescription.DECODE_ERROR),
    ],
    ids=["wrong", "11-bytes"],
)
def test_bad_server_finished(verify_data: bytes, error: type[ProtocolError], alert: Any) -> None:
    pair = Pair.of()
    ticket, _ = up_to_ccs(pair.server_finish())
    forged = fresh_protectors(pair.server).server_write.seal(
        HANDSHAKE, encode_handshake(Finished(verify_data=verify_data))
    )
    fails(pair.client, ticket + record(CCS, b"\x01") + forged, error, alert, pair.server,
          encrypted=True)  # fmt: skip


def test_forged_records_are_sealed_like_the_real_ones() -> None:
    """The forging helper: the client's real Finished sealed by fresh_protectors() is the very
    record the client sent, so the forged cases above differ only in what they say."""
    pair = Pair.of(client_config(trace_handshake=True))
    events = pair.client.receive_data(pair.server_flight())
    (finished,) = [e.message for e in events
                   if isinstance(e, HandshakeMessageTraced) and e.name == "finished"]  # fmt: skip
    flight = pair.client.data_to_send()
    forged = fresh_protectors(pair.client).client_write.seal(HANDSHAKE, encode_handshake(finished))
    assert flight.endswith(forged)


# --- record protection ------------------------------------------------------------------------


def _flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes((data[-1] ^ 1,))


def test_tampered_client_finished_record_is_bad_record_mac() -> None:
    pair = Pair.of()
    fails(pair.server, _flip_last_byte(pair.client_flight()), BadRecordMac,
          AlertDescription.BAD_RECORD_MAC, pair.client)  # fmt: skip


def test_tampered_server_finished_record_is_bad_record_mac() -> None:
    pair = Pair.of()
    fails(pair.client, _flip_last_byte(pair.server_finish()), BadRecordMac,
          AlertDescription.BAD_RECORD_MAC, pair.server, encrypted=True)  # fmt: skip


@pytest.mark.parametrize(
    "suite",
    [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256],
    ids=["aes-gcm", "chacha20"],
)
@pytest.mark.parametrize("where", ["header-type", "explicit-nonce-or-ciphertext", "tag"])
def test_tampered_application_data_is_bad_record_mac(suite: Any, where: str) -> None:
    pair = Pair.of(client_config(tls12_cipher_suites=(suite,))).established()
    pair.client.send(b"attack at dawn")
    data = bytearray(pair.client.data_to_send())
    index = {"header-type": 0, "explicit-nonce-or-ciphertext": 6, "tag": len(data) - 1}[where]
    data[index] ^= 0x01 if where != "header-type" else (23 ^ 22)  # application data -> handshake
    fails(pair.server, bytes(data), BadRecordMac, AlertDescription.BAD_RECORD_MAC, pair.client,
          encrypted=True)  # fmt: skip


def test_replayed_application_data_record_is_bad_record_mac() -> None:
    pair = Pair.of().established()
    pair.client.send(b"once")
    data = pair.client.data_to_send()
    pair.server.receive_data(data)
    fails(pair.server, data, BadRecordMac, AlertDescription.BAD_RECORD_MAC, pair.client,
          encrypted=True)  # fmt: skip


# --- key exchange values ----------------------------------------------------------------------

P256_GENERATOR_X = 0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296


@pytest.mark.parametrize(
    ("group", "public"),
    [
        (X25519, bytes(31)),
        (X25519, bytes(33)),
        (X25519, bytes(32)),  # a small-order point: all-zero shared secret
        (X25519, b"\x01" + bytes(31)),  # order 1 as well
        (X448, bytes(55)),
        (X448, bytes(56)),
        (SECP256R1, b"\x04" + (1).to_bytes(32, "big") + (1).to_bytes(32, "big")),  # off curve
        (SECP256R1, b"\x02" + P256_GENERATOR_X.to_bytes(32, "big")),  # compressed
        (SECP256R1, b"\x04" + bytes(63)),  # wrong length
        (SECP256R1, b"\x00"),  # the point at infinity
    ],
    ids=[
        "x25519-31",
        "x25519-33",
        "x25519-zero",
        "x25519-one",
        "x448-55",
        "x448-zero",
        "p256-off-curve",
        "p256-compressed",
        "p256-short",
        "p256-infinity",
    ],
)
def test_bad_ecdh_public_key_in_client_key_exchange_is_illegal_parameter(
    group: Group, public: bytes
) -> None:
    pair = Pair.of(client_config(groups=(group,)))
    plaintext, _ = up_to_ccs(pair.client_flight())
    bad = edit(plaintext, HandshakeType.CLIENT_KEY_EXCHANGE,
               replace_with(ClientKeyExchange.for_ecdhe(public)))  # fmt: skip
    fails(pair.server, bad, IllegalParameter, AlertDescription.ILLEGAL_PARAMETER, pair.client)


def _dhe_pair() -> Pair:
    return Pair.of(
        client_config(tls12_cipher_suites=(TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,),
                      groups=(FFDHE2048,)),
        server_config(rsa_cert()),
    )  # fmt: skip


DH_VALUES = {
    "0": 0,
    "1": 1,
    "p-1": FFDHE2048.p - 1,
    "p": FFDHE2048.p,
    "p+1": FFDHE2048.p + 1,
}


@pytest.mark.parametrize("value", list(DH_VALUES))
def test_bad_dh_yc_is_handshake_failure(value: str) -> None:
    """RFC 7919 §4: our client offered FFDHE groups, so an out-of-range dh_Yc is
    handshake_failure (a client without FFDHE groups gets illegal_parameter, see the audit)."""
    pair = _dhe_pair()
    plaintext, _ = up_to_ccs(pair.client_flight())
    y = DH_VALUES[value]
    encoded = y.to_bytes(max(1, (y.bit_length() + 7) // 8), "big")
    bad = edit(plaintext, HandshakeType.CLIENT_KEY_EXCHANGE,
               replace_with(ClientKeyExchange.for_dhe(encoded)))  # fmt: skip
    fails(pair.server, bad, HandshakeFailure, AlertDescription.HANDSHAKE_FAILURE, pair.client)


def test_dh_yc_longer_than_the_prime_is_handshake_failure() -> None:
    """RFC 7919 §4: dh_Yc out of 1 < dh_Yc < dh_p - 1 is handshake_failure, also when its
    encoding is longer than the prime (TLS-Anvil FfDheShare.shareOutOfBounds)."""
    pair = _dhe_pair()
    plaintext, _ = up_to_ccs(pair.client_flight())
    too_long = ClientKeyExchange.for_dhe(b"\xff" * 257)
    bad = edit(plaintext, HandshakeType.CLIENT_KEY_EXCHANGE, replace_with(too_long))
    fails(pair.server, bad, HandshakeFailure, AlertDescription.HANDSHAKE_FAILURE, pair.client)


def _resigned_server_flight(
    pair: Pair, params: Callable[[Any], bytes], certified: CertifiedKey | None = None
) -> bytes:
    """The server's flight with a ServerKeyExchange of other params, signed properly with the
    server's key: what a server that chose bad values would send. ``certified`` is the (RSA)
    certificate of a DHE server, else the ECDHE server has the default one."""
    flight = pair.server_flight()
    client_hello: ClientHello = pair.client._handshake.client_hello  # type: ignore[attr-defined]
    server_hello: ServerHello = find(flight, HandshakeType.SERVER_HELLO)
    ske: ServerKeyExchange = find(flight, HandshakeType.SERVER_KEY_EXCHANGE)
    key = (certified or server_cert()).private_key
    scheme = (ske.dhe() if certified is not None else ske.ecdhe()).algorithm
    new_params = params(ske)
    content = server_key_exchange_input(client_hello.random, server_hello.random, new_params)
    signature = sign(scheme, key, content, tls13=False)
    new = ServerKeyExchange.signed(new_params, scheme, signature)
    return edit(flight, HandshakeType.SERVER_KEY_EXCHANGE, lambda _: encode_handshake(new))


def test_resigned_server_key_exchange_helper_works() -> None:
    pair = Pair.of()
    flight = _resigned_server_flight(pair, lambda ske: ske.ecdhe().params)
    pair.client.receive_data(flight)  # the same params, signed again: accepted
    assert pair.client.data_to_send()


@pytest.mark.parametrize(
    "public",
    [bytes(32), bytes(31), b"\x01" + bytes(31)],
    ids=["zero", "31-bytes", "order-one"],
)
def test_bad_server_ecdh_public_key_is_illegal_parameter(public: bytes) -> None:
    pair = Pair.of(client_config(groups=(X25519,)))
    flight = _resigned_server_flight(pair, lambda _: ecdhe_params(X25519.id, public))
    fails(pair.client, flight, IllegalParameter, AlertDescription.ILLEGAL_PARAMETER, pair.server)


def test_server_key_exchange_for_a_curve_we_did_not_offer_is_illegal_parameter() -> None:
    pair = Pair.of(client_config(groups=(X25519,)))  # and secp256r1, the certificate's curve
    flight = _resigned_server_flight(
        pair, lambda _: ecdhe_params(X448.id, X448.generate().public_bytes)
    )
    fails(pair.client, flight, IllegalParameter, AlertDescription.ILLEGAL_PARAMETER, pair.server)


def test_explicit_curve_in_server_key_exchange_is_illegal_parameter() -> None:
    pair = Pair.of()
    flight = _resigned_server_flight(pair, lambda ske: b"\x01" + ske.ecdhe().params[1:])
    fails(pair.client, flight, IllegalParameter, AlertDescription.ILLEGAL_PARAMETER, pair.server)


@pytest.mark.parametrize("value", ["0", "1", "p-1", "p"])
def test_bad_server_dh_ys_is_handshake_failure(value: str) -> None:
    """RFC 7919 §3: the client MUST check 1 < dh_Ys < dh_p - 1, else handshake_failure."""
    pair = _dhe_pair()
    y = DH_VALUES[value]
    ys = y.to_bytes(max(1, (y.bit_length() + 7) // 8), "big")
    p = FFDHE2048.p.to_bytes(256, "big")
    flight = _resigned_server_flight(pair, lambda _: dhe_params(p, b"\x02", ys), rsa_cert())
    fails(pair.client, flight, HandshakeFailure, AlertDescription.HANDSHAKE_FAILURE, pair.server)


def test_unknown_dh_group_is_insufficient_security() -> None:
    pair = _dhe_pair()
    weak_p = (2**521 - 1).to_bytes(66, "big")  # a prime, but not a known safe-prime group
    flight = _resigned_server_flight(
        pair, lambda _: dhe_params(weak_p, b"\x02", b"\x05"), rsa_cert()
    )
    fails(pair.client, flight, InsufficientSecurity, AlertDescription.INSUFFICIENT_SECURITY,
          pair.server)  # fmt: skip


def test_dh_generator_other_than_two_is_insufficient_security() -> None:
    pair = _dhe_pair()
    p = FFDHE2048.p.to_bytes(256, "big")
    flight = _resigned_server_flight(pair, lambda _: dhe_params(p, b"\x05", b"\x07"), rsa_cert())
    fails(pair.client, flight, InsufficientSecurity, AlertDescription.INSUFFICIENT_SECURITY,
          pair.server)  # fmt: skip


# --- ServerKeyExchange signatures -------------------------------------------------------------


def _with_signature(
    flight: bytes, scheme: Callable[[int], int], signature: Callable[[bytes], bytes], dhe: bool
) -> bytes:
    def change(message: bytes) -> bytes:
        ske = ServerKeyExchange(body=message[4:])
        parsed = ske.dhe() if dhe else ske.ecdhe()
        new = ServerKeyExchange.signed(
            parsed.params, scheme(parsed.algorithm), signature(parsed.signature)
        )
        return encode_handshake(new)

    return edit(flight, HandshakeType.SERVER_KEY_EXCHANGE, change)


def test_server_key_exchange_with_a_scheme_we_did_not_offer_is_illegal_parameter() -> None:
    offered = (SignatureScheme.ECDSA_SECP256R1_SHA256, SignatureScheme.ED25519)
    pair = Pair.of(client_config(signature_schemes=offered))
    flight = _with_signature(pair.server_flight(), lambda _: SignatureScheme.ECDSA_SECP384R1_SHA384,
                             lambda sig: sig, dhe=False)  # fmt: skip
    fails(pair.client, flight, IllegalParameter, AlertDescription.ILLEGAL_PARAMETER, pair.server)


def test_server_key_exchange_with_sha1_is_illegal_parameter() -> None:
    pair = Pair.of()
    flight = _with_signature(pair.server_flight(), lambda _: SignatureScheme.ECDSA_SHA1,
                             lambda sig: sig, dhe=False)  # fmt: skip
    fails(pair.client, flight, IllegalParameter, AlertDescription.ILLEGAL_PARAMETER, pair.server)


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ed25519", "rsa-2048"])
@pytest.mark.parametrize("where", ["first", "last"])
def test_bad_server_key_exchange_signature_is_decrypt_error(key_type: str, where: str) -> None:
    certified = {"ecdsa-p256": server_cert, "ed25519": ed25519_cert, "rsa-2048": rsa_cert}[
        key_type
    ]()
    pair = Pair.of(server=server_config(certified))
    at = 0 if where == "first" else -1

    def flip(sig: bytes) -> bytes:
        changed = bytearray(sig)
        changed[at] ^= 0x01
        return bytes(changed)

    flight = _with_signature(pair.server_flight(), lambda scheme: scheme, flip, dhe=False)
    fails(pair.client, flight, DecryptError, AlertDescription.DECRYPT_ERROR, pair.server)


def test_signature_over_other_params_is_decrypt_error() -> None:
    pair = Pair.of(client_config(groups=(X25519,)))
    flight = pair.server_flight()

    def change(message: bytes) -> bytes:
        parsed = ServerKeyExchange(body=message[4:]).ecdhe()
        params = ecdhe_params(X25519.id, X25519.generate().public_bytes)
        return encode_handshake(ServerKeyExchange.signed(params, parsed.algorithm,
                                                         parsed.signature))  # fmt: skip

    bad = edit(flight, HandshakeType.SERVER_KEY_EXCHANGE, change)
    fails(pair.client, bad, DecryptError, AlertDescription.DECRYPT_ERROR, pair.server)


def test_signature_scheme_for_another_key_type() -> None:
    """An ECDSA server key but a ServerKeyExchange that claims RSA-PSS: never verifies."""
    pair = Pair.of()
    flight = _with_signature(pair.server_flight(), lambda _: SignatureScheme.RSA_PSS_RSAE_SHA256,
                             lambda sig: sig, dhe=False)  # fmt: skip
    with pytest.raises(ProtocolError) as exc_info:
        pair.client.receive_data(flight)
    assert exc_info.value.alert in (
        AlertDescription.ILLEGAL_PARAMETER,
        AlertDescription.DECRYPT_ERROR,
    )


def test_bad_client_certificate_verify_is_decrypt_error() -> None:
    pair = Pair.of(client_config(certificates=(client_cert(),)), auth_server_config())
    plaintext, _ = up_to_ccs(pair.client_flight())

    def change(message: bytes) -> bytes:
        body = bytearray(message[4:])
        body[-1] ^= 0x01
        return frame(message[0], bytes(body))

    bad = edit(plaintext, HandshakeType.CERTIFICATE_VERIFY, change)
    fails(pair.server, bad, DecryptError, AlertDescription.DECRYPT_ERROR, pair.client)


def test_client_certificate_verify_with_unrequested_scheme_is_illegal_parameter() -> None:
    pair = Pair.of(
        client_config(certificates=(client_cert(),)),
        server_config(
            client_auth="required",
            client_cadata=pem(client_cert()),
            signature_schemes=(SignatureScheme.ECDSA_SECP256R1_SHA256,
                               SignatureScheme.RSA_PSS_RSAE_SHA256),
        ),
    )  # fmt: skip
    plaintext, _ = up_to_ccs(pair.client_flight())

    def change(message: bytes) -> bytes:
        body = message[4:]
        return frame(message[0], SignatureScheme.ECDSA_SHA1.to_bytes(2, "big") + body[2:])

    bad = edit(plaintext, HandshakeType.CERTIFICATE_VERIFY, change)
    fails(pair.server, bad, IllegalParameter, AlertDescription.ILLEGAL_PARAMETER, pair.client)


def test_client_certificate_without_certificate_verify_is_unexpected_message() -> None:
    pair = Pair.of(client_config(certificates=(client_cert(),)), auth_server_config())
    plaintext, rest = up_to_ccs(pair.client_flight())
    without_cv = edit(plaintext, HandshakeType.CERTIFICATE_VERIFY, lambda _: None)
    fails(pair.server, without_cv + rest, UnexpectedMessage,
          AlertDescription.UNEXPECTED_MESSAGE, pair.client)  # fmt: skip


# --- hellos -----------------------------------------------------------------------------------


def client_hello_of(pair: Pair) -> ClientHello:
    hello = decode_handshake(pair.client_hello()[5:])
    assert isinstance(hello, ClientHello)
    return hello


def hello_record(hello: ClientHello | ServerHello, **changes: Any) -> bytes:
    return record(HANDSHAKE, encode_handshake(dataclasses.replace(hello, raw=b"", **changes)))


def server_hello_edit(pair: Pair, **changes: Any) -> bytes:
    flight = pair.server_flight()
    server_hello: ServerHello = find(flight, HandshakeType.SERVER_HELLO)
    changed = dataclasses.replace(server_hello, raw=b"", **changes)
    return edit(flight, HandshakeType.SERVER_HELLO, lambda _: encode_handshake(changed))


@pytest.mark.parametrize("methods", [b"\x01", b"\x01\x40"], ids=["deflate", "deflate-lzs"])
def test_client_hello_without_null_compression_is_illegal_parameter(methods: bytes) -> None:
    pair = Pair.of()
    bad = hello_record(client_hello_of(pair), legacy_compression_methods=methods)
    fails(pair.server, bad, IllegalParameter, AlertDescription.ILLEGAL_PARAMETER, pair.client)


def test_client_hello_with_null_among_other_compression_methods_is_fine() -> None:
    pair = Pair.of()
    pair.server.receive_data(hello_record(client_hello_of(pair),
                                          legacy_compression_methods=b"\x01\x00"))  # fmt: skip
    server_hello: ServerHello = find(pair.server.data_to_send(), HandshakeType.SERVER_HELLO)
    assert server_hello.legacy_compression_method == 0


def test_server_hello_with_compression_is_illegal_parameter() -> None:
    pair = Pair.of()
    fails(pair.client, server_hello_edit(pair, legacy_compression_method=1), IllegalParameter,
          AlertDescription.ILLEGAL_PARAMETER, pair.server)  # fmt: skip


@pytest.mark.parametrize(
    "suite",
    [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384.id, 0x009C, 0x1301, 0x00FF, 0x5600],
    ids=["tls12-not-offered", "rsa-kx", "tls13-suite", "renegotiation-scsv", "fallback-scsv"],
)
def test_server_hello_with_a_suite_we_did_not_offer_is_illegal_parameter(suite: int) -> None:
    pair = Pair.of(client_config(tls12_cipher_suites=(TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,)))
    fails(pair.client, server_hello_edit(pair, cipher_suite=suite), IllegalParameter,
          AlertDescription.ILLEGAL_PARAMETER, pair.server)  # fmt: skip


@pytest.mark.parametrize(
    "extension",
    [
        UnknownExtension(ext_type=0x7777, extension_data=b""),
        ApplicationLayerProtocolNegotiation(protocol_name_list=(b"h2",)),
        RecordSizeLimit(record_size_limit=1024),
    ],
    ids=["unknown", "alpn-not-offered", "record-size-limit-not-offered"],
)
def test_server_hello_with_an_unsolicited_extension_is_unsupported_extension(
    extension: object,
) -> None:
    pair = Pair.of()
    flight = pair.server_flight()
    server_hello: ServerHello = find(flight, HandshakeType.SERVER_HELLO)
    changed = dataclasses.replace(
        server_hello, raw=b"", extensions=(*server_hello.extensions, extension)
    )
    flight = edit(flight, HandshakeType.SERVER_HELLO, lambda _: encode_handshake(changed))
    fails(pair.client, flight, UnsupportedExtension, AlertDescription.UNSUPPORTED_EXTENSION,
          pair.server)  # fmt: skip


def test_server_hello_with_a_duplicate_extension_is_rejected() -> None:
    pair = Pair.of()
    flight = pair.server_flight()
    server_hello: ServerHello = find(flight, HandshakeType.SERVER_HELLO)
    changed = dataclasses.replace(
        server_hello, raw=b"", extensions=(*server_hello.extensions, ExtendedMasterSecret())
    )
    flight = edit(flight, HandshakeType.SERVER_HELLO, lambda _: encode_handshake(changed))
    with pytest.raises(ProtocolError) as exc_info:
        pair.client.receive_data(flight)
    assert exc_info.value.alert in (
        AlertDescription.ILLEGAL_PARAMETER,
        AlertDescription.DECODE_ERROR,
        AlertDescription.UNSUPPORTED_EXTENSION,
    )


def test_non_empty_renegotiation_info_in_client_hello_is_handshake_failure() -> None:
    pair = Pair.of()
    hello = client_hello_of(pair)
    extensions = tuple(
        RenegotiationInfo(renegotiated_connection=b"\x0c" * 12)
        if isinstance(e, RenegotiationInfo)
        else e
        for e in hello.extensions
    )
    fails(pair.server, hello_record(hello, extensions=extensions), HandshakeFailure,
          AlertDescription.HANDSHAKE_FAILURE, pair.client)  # fmt: skip


def test_non_empty_renegotiation_info_in_server_hello_is_handshake_failure() -> None:
    pair = Pair.of()
    flight = pair.server_flight()
    server_hello: ServerHello = find(flight, HandshakeType.SERVER_HELLO)
    extensions = tuple(
        RenegotiationInfo(renegotiated_connection=b"\x0c" * 24)
        if isinstance(e, RenegotiationInfo)
        else e
        for e in server_hello.extensions
    )
    assert extensions != server_hello.extensions
    changed = dataclasses.replace(server_hello, raw=b"", extensions=extensions)
    flight = edit(flight, HandshakeType.SERVER_HELLO, lambda _: encode_handshake(changed))
    fails(pair.client, flight, HandshakeFailure, AlertDescription.HANDSHAKE_FAILURE, pair.server)


def test_server_hello_without_uncompressed_points_is_illegal_parameter() -> None:
    pair = Pair.of()
    flight = pair.server_flight()
    server_hello: ServerHello = find(flight, HandshakeType.SERVER_HELLO)
    extensions = tuple(
        EcPointFormats(formats=b"\x01") if isinstance(e, EcPointFormats) else e
        for e in server_hello.extensions
    )
    assert extensions != server_hello.extensions
    changed = dataclasses.replace(server_hello, raw=b"", extensions=extensions)
    flight = edit(flight, HandshakeType.SERVER_HELLO, lambda _: encode_handshake(changed))
    fails(pair.client, flight, IllegalParameter, AlertDescription.ILLEGAL_PARAMETER, pair.server)


def test_client_hello_without_uncompressed_points_is_illegal_parameter() -> None:
    pair = Pair.of()
    hello = client_hello_of(pair)
    extensions = tuple(
        EcPointFormats(formats=b"\x01\x02") if isinstance(e, EcPointFormats) else e
        for e in hello.extensions
    )
    fails(pair.server, hello_record(hello, extensions=extensions), IllegalParameter,
          AlertDescription.ILLEGAL_PARAMETER, pair.client)  # fmt: skip


@pytest.mark.parametrize("version", [0x0302, 0x0301, 0x0300], ids=["tls11", "tls10", "ssl3"])
def test_old_legacy_version_without_supported_versions_is_protocol_version(version: int) -> None:
    pair = Pair.of()
    hello = client_hello_of(pair)
    assert hello.get(SupportedVersionsClientHello) is None
    fails(pair.server, hello_record(hello, legacy_version=version), ProtocolVersionError,
          AlertDescription.PROTOCOL_VERSION, pair.client)  # fmt: skip


def test_supported_versions_with_only_old_versions_is_protocol_version() -> None:
    pair = Pair.of()
    hello = client_hello_of(pair)
    old = SupportedVersionsClientHello(versions=(0x0302, 0x0301))
    fails(pair.server, hello_record(hello, extensions=(*hello.extensions, old)),
          ProtocolVersionError, AlertDescription.PROTOCOL_VERSION, pair.client)  # fmt: skip


def test_server_hello_with_tls11_is_protocol_version() -> None:
    pair = Pair.of()
    fails(pair.client, server_hello_edit(pair, legacy_version=0x0302), ProtocolVersionError,
          AlertDescription.PROTOCOL_VERSION, pair.server)  # fmt: skip


@pytest.mark.parametrize("side", ["client", "server"])
def test_missing_extended_master_secret_when_required_is_handshake_failure(side: str) -> None:
    if side == "server":
        pair = Pair.of(server=server_config(require_extended_master_secret=True))
        hello = client_hello_of(pair)
        extensions = tuple(e for e in hello.extensions if not isinstance(e, ExtendedMasterSecret))
        fails(pair.server, hello_record(hello, extensions=extensions), HandshakeFailure,
              AlertDescription.HANDSHAKE_FAILURE, pair.client)  # fmt: skip
    else:
        pair = Pair.of(client_config(require_extended_master_secret=True))
        flight = pair.server_flight()
        server_hello: ServerHello = find(flight, HandshakeType.SERVER_HELLO)
        extensions = tuple(
            e for e in server_hello.extensions if not isinstance(e, ExtendedMasterSecret)
        )
        changed = dataclasses.replace(server_hello, raw=b"", extensions=extensions)
        flight = edit(flight, HandshakeType.SERVER_HELLO, lambda _: encode_handshake(changed))
        fails(pair.client, flight, HandshakeFailure, AlertDescription.HANDSHAKE_FAILURE,
              pair.server)  # fmt: skip


def test_second_client_hello_during_the_handshake_is_unexpected_message() -> None:
    pair = Pair.of()
    hello = pair.client_hello()
    pair.server.receive_data(hello)
    pair.server.data_to_send()
    fails(pair.server, hello[:1] + b"\x03\x03" + hello[3:], UnexpectedMessage,
          AlertDescription.UNEXPECTED_MESSAGE, pair.client)  # fmt: skip


def test_hello_request_to_a_server_is_unexpected_message() -> None:
    """HelloRequest is a server's message (RFC 5246 §7.4.1.1); only a client ignores it while
    negotiating. From a client it is an inappropriate message (§7.2.2): unexpected_message."""
    pair = Pair.of()
    pair.server_flight()
    fails(pair.server, record(HANDSHAKE, b"\x00\x00\x00\x00"), UnexpectedMessage,
          AlertDescription.UNEXPECTED_MESSAGE, pair.client)  # fmt: skip


def test_non_empty_hello_request_is_decode_error() -> None:
    pair = Pair.of()
    flight = edit(pair.server_flight(), HandshakeType.SERVER_HELLO,
                  lambda hello: hello + b"\x00\x00\x00\x01\x00")  # fmt: skip
    fails(pair.client, flight, DecodeError, AlertDescription.DECODE_ERROR, pair.server)


def test_a_tls12_only_client_ignores_a_hello_request_before_server_hello() -> None:
    """RFC 5246 §7.4.1.1: "This message will be ignored by the client if the client is
    currently negotiating a session" -- also before the ServerHello arrived."""
    pair = Pair.of()
    pair.server.receive_data(pair.client_hello())
    assert pair.client.receive_data(record(HANDSHAKE, b"\x00\x00\x00\x00")) == []
    assert pair.client.data_to_send() == b""
    pump(pair.client, pair.server)
    assert pair.client.state is pair.server.state is ConnectionState.APP_DATA


def test_second_server_hello_is_unexpected_message() -> None:
    pair = Pair.of()
    flight = pair.server_flight()
    first = records(flight)[0][1]
    server_hello = messages(first)[0]
    fails(pair.client, record(HANDSHAKE, server_hello + server_hello), UnexpectedMessage,
          AlertDescription.UNEXPECTED_MESSAGE, pair.server)  # fmt: skip


# --- application data before the handshake is complete ------------------------------------------


def test_application_data_to_the_server_before_the_handshake_is_unexpected_message() -> None:
    pair = Pair.of()
    pair.server_flight()
    fails(pair.server, record(APPLICATION_DATA, b"GET /"), UnexpectedMessage,
          AlertDescription.UNEXPECTED_MESSAGE, pair.client)  # fmt: skip


def test_application_data_to_the_client_before_the_handshake_is_unexpected_message() -> None:
    pair = Pair.of()
    pair.client_hello()
    fails(pair.client, record(APPLICATION_DATA, b"HTTP/1.1 200 OK"), UnexpectedMessage,
          AlertDescription.UNEXPECTED_MESSAGE, pair.server)  # fmt: skip


def test_application_data_between_client_ccs_and_finished_is_unexpected_message() -> None:
    pair = Pair.of()
    plaintext, _ = up_to_ccs(pair.client_flight())
    early = fresh_protectors(pair.client).client_write.seal(APPLICATION_DATA, b"too early")
    fails(pair.server, plaintext + record(CCS, b"\x01") + early, UnexpectedMessage,
          AlertDescription.UNEXPECTED_MESSAGE, pair.client)  # fmt: skip


def test_application_data_between_server_ccs_and_finished_is_unexpected_message() -> None:
    pair = Pair.of()
    ticket, _ = up_to_ccs(pair.server_finish())
    early = fresh_protectors(pair.server).server_write.seal(APPLICATION_DATA, b"too early")
    fails(pair.client, ticket + record(CCS, b"\x01") + early, UnexpectedMessage,
          AlertDescription.UNEXPECTED_MESSAGE, pair.server, encrypted=True)  # fmt: skip


def test_client_cannot_send_before_the_server_finished() -> None:
    pair = Pair.of()
    pair.client_flight()
    assert pair.client.state is ConnectionState.HANDSHAKING
    with pytest.raises(TLSError):
        pair.client.send(b"too early")


# --- random input at every point of a handshake -------------------------------------------------


def fixed_random(n: int) -> bytes:
    return bytes(range(n))


def fixed_share(group: Group) -> PrivateKeyShare:
    return group.from_private_bytes(bytes(range(1, 33)))


def fuzz_pair() -> Pair:
    """A deterministic TLS 1.2 pair: fixed randoms and keys, Ed25519 (deterministic) signatures,
    so every run sends the same bytes."""
    client = client_config(random=fixed_random, key_share_factory=fixed_share, groups=(X25519,))
    server = server_config(
        ed25519_cert(),
        max_version=TLS12,
        random=fixed_random,
        key_share_factory=fixed_share,
        ticket_sealer=AeadTicketSealer(random=fixed_random),
    )
    return Pair.of(client, server)


@functools.cache
def honest_flights() -> tuple[bytes, ...]:
    """ClientHello; the server's flight; the client's; the server's last; then data each way."""
    pair = fuzz_pair()
    flights = [pair.client_hello()]
    pair.server.receive_data(flights[-1])
    flights.append(pair.server.data_to_send())
    pair.client.receive_data(flights[-1])
    flights.append(pair.client.data_to_send())
    pair.server.receive_data(flights[-1])
    flights.append(pair.server.data_to_send())
    pair.client.receive_data(flights[-1])
    pair.client.send(b"request")
    flights.append(pair.client.data_to_send())
    pair.server.receive_data(flights[-1])
    pair.server.send(b"response")
    flights.append(pair.server.data_to_send())
    return tuple(flights)


def test_the_fuzzed_handshake_is_deterministic() -> None:
    flights = honest_flights()
    assert len(flights) == 6
    again = fuzz_pair()
    assert again.client_hello() == flights[0]
    again.server.receive_data(flights[0])
    assert again.server.data_to_send() == flights[1]


def feed(conn: Connection, chunks: list[bytes]) -> None:
    """Only TLSError subclasses (never internal_error), and a FAILED connection after one."""
    for chunk in chunks:
        try:
            conn.receive_data(chunk)
        except InternalError:
            raise
        except TLSError:
            assert conn.state is ConnectionState.FAILED
            return
        except Exception as exc:  # pragma: no cover - reported as a bug
            raise AssertionError(f"{type(exc).__name__} escaped receive_data: {exc!r}") from exc


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def mutate(data: st.DataObject, flight: bytes) -> bytes:
    kind = data.draw(st.sampled_from(["random", "flip", "truncate", "insert", "splice"]))
    if kind == "random":
        return data.draw(st.binary(max_size=400))
    mutated = bytearray(flight)
    if kind == "flip":
        for _ in range(data.draw(st.integers(1, 4))):
            index = data.draw(st.integers(0, len(mutated) - 1))
            mutated[index] = data.draw(st.integers(0, 255))
    elif kind == "truncate":
        mutated = mutated[: data.draw(st.integers(0, len(mutated)))]
        mutated += data.draw(st.binary(max_size=50))
    elif kind == "insert":
        at = data.draw(st.integers(0, len(mutated)))
        mutated[at:at] = data.draw(st.binary(min_size=1, max_size=50))
    else:  # a record of random content with a valid header
        content_type = data.draw(st.sampled_from([20, 21, 22, 23, 24]))
        body = data.draw(st.binary(max_size=100))
        at = data.draw(st.sampled_from([0, len(mutated)]))
        mutated[at:at] = bytes((content_type, 3, 3)) + len(body).to_bytes(2, "big") + body
    return bytes(mutated)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("step", range(6))
@FUZZ
@given(data=st.data())
def test_random_input_at_each_step_only_raises_tls_errors(step: int, data: st.DataObject) -> None:
    """Replay the deterministic handshake up to ``step``, then give the receiver of flight
    ``step`` mutated or random bytes instead: a TLSError or nothing, and it terminates."""
    flights = honest_flights()
    pair = fuzz_pair()
    pair.client.data_to_send()
    receivers: list[Connection] = [pair.server, pair.client] * 3
    for index in range(step):
        receivers[index].receive_data(flights[index])
    pair.client.data_to_send()  # the honest answers are in flights[step:]
    pair.server.data_to_send()
    receiver = receivers[step]
    mutated = mutate(data, flights[step])
    cut = data.draw(st.integers(0, len(mutated)))
    feed(receiver, [mutated[:cut], mutated[cut:]])
    # Whatever happened, the rest of the conversation terminates and raises nothing else.
    if receiver.state is not ConnectionState.FAILED:
        try:
            pump(pair.client, pair.server)
        except InternalError:
            raise
        except TLSError:
            assert ConnectionState.FAILED in (pair.client.state, pair.server.state)


def test_oversized_header_after_messages_in_the_same_record_is_judged_in_its_own_state() -> None:
    """The server's whole flight in one record, its ServerHelloDone announcing a 1-byte body
    (RFC 5246 §7.4.5: it is empty): the messages before it are handled first, so the
    ServerHelloDone arrives where it belongs and gets decode_error, not unexpected_message."""
    pair = Pair.of()
    ((content_type, fragment),) = records(pair.server_flight())
    assert content_type == HANDSHAKE and fragment.endswith(b"\x0e\x00\x00\x00")
    flight = record(HANDSHAKE, fragment[:-4] + b"\x0e\x00\x00\x01\x00")
    fails(pair.client, flight, DecodeError, AlertDescription.DECODE_ERROR, pair.server)
