"""BoGo (BoringSSL ssl/test/runner) conformance, fourth round: the runner's basic tests
(records around the TLS 1.3 key change, alert framing, closure), HelloRetryRequest cookies and
PSKs, version negotiation, signature-algorithm choice and checks, client certificates nobody can
sign for, TLS 1.2 session IDs (client and server), certificate/suite agreement and KeyUpdate
acknowledgement.

The techniques are those of the earlier rounds (``test_bogo_client*.py``,
``test_bogo_server*.py``, ``test_bogo_round3.py``). A BoGo ``clientTest`` (the shim is the
client, a Go server misbehaves) is replayed by letting our ServerConnection write the flight and
editing it as that Go server would: the plaintext ServerHello is re-encoded, a TLS 1.3 flight is
opened with the logged handshake secret, changed, re-signed and re-finished when it has to pass
(tests/server_flight.py). A ``serverTest`` is replayed with a scripted client that writes every
byte itself (tests/tls13_probe.py, tests/tls12_probe.py).

Only BoGo tests no earlier module cites are here, and where TLS-Anvil or tlsfuzzer replays
already check the same behaviour the BoGo case was left out. Each test names its BoGo test(s),
says what BoGo expects and quotes the RFC sentence that decides. Where the RFC names an alert,
that alert is asserted; where BoGo checks BoringSSL policy beyond the RFC (a client that fails
instead of sending the empty Certificate the RFC asks for, one KeyUpdate for five requests,
bad_record_mac for a plaintext record where the RFC names unexpected_message, going on after a
warning alert before the version is known), the docstring says so and the RFC is followed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import struct
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

import tls12_probe
import tls13_probe
from memory_pair import pump
from server_flight import (
    Established,
    Flight13,
    Handshake12,
    client_config,
    completes,
    frame,
    hello_record,
    opened,
    rejects,
    retry_flight,
    rsa_cert,
    sealer,
    server_config,
    with_extensions,
)
from tls_fixtures import Clock, client_cert, server_cert
from tlsmachine import (
    AeadTicketSealer,
    AlertReceived,
    ApplicationData,
    ClientConfig,
    ClientConnection,
    ConnectionState,
    HandshakeComplete,
    InMemoryClientSessionStore,
    KeyUpdated,
    ServerConnection,
    WarningAlertReceived,
)
from tlsmachine.certs import CertifiedKey
from tlsmachine.crypto.groups import SECP256R1, SECP384R1, X25519
from tlsmachine.crypto.signatures import certificate_verify_input, sign
from tlsmachine.crypto.suites import (
    TLS_AES_128_GCM_SHA256,
    TLS_AES_256_GCM_SHA384,
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
)
from tlsmachine.enums import AlertDescription, ContentType, HandshakeType, ProtocolVersion
from tlsmachine.events import SessionTicketReceived
from tlsmachine.extensions import (
    Cookie,
    KeyShareClientHello,
    KeyShareHelloRetryRequest,
    PreSharedKeyClientHello,
    SignatureAlgorithms,
)
from tlsmachine.handshake12 import server_key_exchange_input
from tlsmachine.keyschedule import hkdf_expand_label
from tlsmachine.messages import decode_handshake, encode_handshake
from tlsmachine.messages.hello import DOWNGRADE_TLS12, ClientHello, ServerHello
from tlsmachine.messages.tls12 import CertificateRequest12, ServerKeyExchange
from tlsmachine.messages.tls13 import (
    Certificate,
    CertificateRequest,
    KeyUpdate,
    encode_certificate_verify,
)
from tlsmachine.session_cache import open_tls12_ticket
from wire import ALERT, APPLICATION_DATA, CCS, HANDSHAKE, messages, record, records

AD = AlertDescription
HT = HandshakeType
TLS12 = ProtocolVersion.TLS12
TLS13 = ProtocolVersion.TLS13

FALLBACK_SCSV = 0x5600
SESSION_TICKET_EXT = 35
SUPPORTED_VERSIONS_EXT = 43
CERT_TYPE_RSA_SIGN = 1
CERT_TYPE_ECDSA_SIGN = 64
ECDSA_GCM = TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256.id
ECDSA_CHACHA = TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256.id
RSA_GCM = TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.id

# signature schemes (RFC 8446 §4.2.3), by their IANA code points as BoGo's runner names them
RSA_PKCS1_SHA1 = 0x0201
ECDSA_SHA1 = 0x0203
RSA_PKCS1_SHA256 = 0x0401
ECDSA_P256_SHA256 = 0x0403
RSA_PKCS1_SHA384 = 0x0501
ECDSA_P384_SHA384 = 0x0503
RSA_PKCS1_SHA512 = 0x0601
ECDSA_P521_SHA512 = 0x0603
RSA_PSS_SHA256 = 0x0804
RSA_PSS_SHA384 = 0x0805
RSA_PSS_SHA512 = 0x0806


# == helpers (the shared ones are in tests/server_flight.py, tls12_probe.py, tls13_probe.py) ====


def client12_config(**kwargs: Any) -> ClientConfig:
    """A TLS 1.2-only client on secp256r1, certificate checks off."""
    return ClientConfig(
        **{"verify_certificates": False, "max_version": TLS12, "groups": (SECP256R1,), **kwargs}
    )


def start12(**server_kwargs: Any) -> Handshake12:
    """A TLS 1.2 client and our server, stopped after the server's first flight."""
    return Handshake12.start(
        client12_config(), server_config(**{"groups": (SECP256R1,), **server_kwargs})
    )


def first_client_hello(client: ClientConnection) -> ClientHello:
    """The ClientHello ``client`` wants to send; its bytes stay queued for nobody."""
    raw = next(body for t, body in records(client.data_to_send()) if t == HANDSHAKE)
    hello = decode_handshake(raw)
    assert isinstance(hello, ClientHello)
    return hello


def first_hello_of(data: bytes) -> ClientHello:
    """The ClientHello in the bytes a client sent."""
    hello = decode_handshake(next(body for t, body in records(data) if t == HANDSHAKE))
    assert isinstance(hello, ClientHello)
    return hello


def send_first_hello(client: ClientConnection, server: ServerConnection) -> bytes:
    """Give ``client``'s ClientHello to ``server``; its legacy_session_id."""
    data = client.data_to_send()
    server.receive_data(data)
    return first_hello_of(data).legacy_session_id


def next_traffic_secret(secret: bytes) -> bytes:
    """application_traffic_secret_N+1 for SHA-256 suites (RFC 8446 §7.2)."""
    return hkdf_expand_label("sha256", secret, b"traffic upd", b"", 32)


def sv_ext(*versions: int) -> tuple[int, bytes]:
    """supported_versions for a tls12_probe ClientHello (RFC 8446 §4.2.1)."""
    body = b"".join(struct.pack(">H", v) for v in versions)
    return SUPPORTED_VERSIONS_EXT, bytes((len(body),)) + body


def cv_scheme(probe: tls13_probe.Probe) -> int:
    """The scheme of the server's CertificateVerify that ``probe`` read."""
    (verify,) = [m for m in probe.messages if m[0] == HT.CERTIFICATE_VERIFY]
    return int.from_bytes(verify[4:6], "big")


def client_auth_flight(certified: CertifiedKey) -> Flight13:
    """A TLS 1.3 client holding ``certified``, and a server flight with a CertificateRequest."""
    return Flight13.start(
        client_config(certificates=(certified,)),
        server_config(
            client_auth="optional", client_cadata=certified.leaf.public_bytes(Encoding.PEM)
        ),
    )


# == TLS 1.3 client: HelloRetryRequest (tls13_tests.go) =========================================


def test_hello_retry_request_with_only_a_cookie_keeps_the_key_share() -> None:
    """BoGo HelloRetryRequest-Cookie-TLS13 (SendHelloRetryRequestCookie "cookie"; the Go server
    already has the client's x25519 share, so its HelloRetryRequest carries a cookie and no
    key_share): the handshake succeeds. Replayed up to the second ClientHello, which must carry
    the cookie and otherwise be the first one.

    RFC 8446 §4.1.2: "the client MUST send the same ClientHello without modification, except as
    follows: - If a "key_share" extension was supplied in the HelloRetryRequest, replacing the
    list of shares [...] - Including a "cookie" extension if one was provided in the
    HelloRetryRequest."; §4.2.2: "the client MUST copy the contents of the extension received in
    the HelloRetryRequest into a "cookie" extension in the new ClientHello." Without key_share in
    the HelloRetryRequest the shares stay as they were, byte for byte."""
    client = ClientConnection(client_config(groups=(X25519, SECP384R1)), "localhost")
    first = first_client_hello(client)
    server = ServerConnection(server_config(groups=(SECP384R1,)))
    server.receive_data(record(HANDSHAKE, encode_handshake(first)))
    hrr = decode_handshake(records(server.data_to_send())[0][1])
    assert isinstance(hrr, ServerHello) and hrr.is_hello_retry_request
    cookie_only = with_extensions(
        hrr.extensions, Cookie(b"cookie"), drop=(KeyShareHelloRetryRequest,)
    )
    client.receive_data(hello_record(hrr, extensions=cookie_only))
    second = first_client_hello(client)
    assert second.get(Cookie) == Cookie(b"cookie")
    assert second.get(KeyShareClientHello) == first.get(KeyShareClientHello)
    assert second.random == first.random
    assert first.get(Cookie) is None


def test_second_client_hello_drops_a_psk_of_another_hash() -> None:
    """BoGo HelloRetryRequest-NonResumableCipher-TLS13 (ExpectNoTLS13PSKAfterHRR: a ticket of
    TLS_AES_128_GCM_SHA256, a HelloRetryRequest selecting TLS_AES_256_GCM_SHA384): the second
    ClientHello offers no PSK and the handshake is a full one.

    RFC 8446 §4.1.4: "In addition, in its updated ClientHello, the client SHOULD NOT offer any
    pre-shared keys associated with a hash other than that of the selected cipher suite."
    (§4.2.11: "Each PSK is associated with a single Hash algorithm", and "The server MUST ensure
    that it selects a compatible PSK (if any) and cipher suite", so it could not be taken.)"""
    clock = Clock()
    config = client_config(
        session_store=InMemoryClientSessionStore(),
        clock=clock,
        cipher_suites=(TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384),
        groups=(X25519, SECP384R1),
    )
    issuer = server_config(
        session_tickets=1,
        clock=clock,
        ticket_sealer=AeadTicketSealer(),
        cipher_suites=(TLS_AES_128_GCM_SHA256,),
    )
    pump(ClientConnection(config, "localhost"), ServerConnection(issuer))
    clock.now += 1
    client = ClientConnection(config, "localhost")
    hello = client.data_to_send()
    assert first_hello_of(hello).get(PreSharedKeyClientHello) is not None
    server = ServerConnection(
        dataclasses.replace(issuer, cipher_suites=(TLS_AES_256_GCM_SHA384,), groups=(SECP384R1,))
    )
    server.receive_data(hello)
    retry = server.data_to_send()
    hrr = decode_handshake(records(retry)[0][1])
    assert isinstance(hrr, ServerHello) and hrr.is_hello_retry_request
    assert hrr.cipher_suite == TLS_AES_256_GCM_SHA384.id
    client.receive_data(retry)
    second = client.data_to_send()
    assert first_hello_of(second).get(PreSharedKeyClientHello) is None
    server.receive_data(second)
    events, _ = pump(client, server)
    (done,) = [e for e in events if isinstance(e, HandshakeComplete)]
    assert not done.resumed and done.cipher_suite == TLS_AES_256_GCM_SHA384.name


# == TLS 1.3 client: records around the key change (basic_tests.go) =============================


@pytest.mark.parametrize("data", [b"TEST MESSAGE", b""], ids=["data", "empty"])
def test_application_data_under_the_next_keys_before_finished_is_bad_record_mac(
    data: bytes,
) -> None:
    """BoGo AppDataBeforeTLS13KeyChange / AppDataBeforeTLS13KeyChange-Empty (the Go server
    sends a record under its application traffic keys before its Finished): ":BAD_DECRYPT:",
    "remote error: bad record MAC".

    The client still reads with the server's handshake keys (RFC 8446 §7.3: the application
    keys follow the Finished), so the record does not open; RFC 8446 §5.2: "If the decryption
    fails, the receiver MUST terminate the connection with a "bad_record_mac" alert.\""""
    flight = Flight13.start()
    early = sealer(flight.secrets["SERVER_TRAFFIC_SECRET_0"]).seal(
        ContentType.APPLICATION_DATA, data
    )
    handshake = sealer(flight.hs_secret)
    at = flight.find(HT.FINISHED)
    sent = (
        b"".join(flight.plain)
        + handshake.seal(ContentType.HANDSHAKE, b"".join(flight.flight[:at]))
        + early
        + handshake.seal(ContentType.HANDSHAKE, flight.flight[at])
    )
    rejects(flight.client, sent, AD.BAD_RECORD_MAC, sends_alert=True)


@pytest.mark.parametrize("how", ["UnencryptedEncryptedExtensions", "TLS13-WrongOuterRecord"])
def test_unprotected_or_mislabelled_handshake_record_after_server_hello(how: str) -> None:
    """BoGo UnencryptedEncryptedExtensions (EncryptedExtensions in the clear after the
    ServerHello: ":DECRYPTION_FAILED_OR_BAD_RECORD_MAC:") and TLS13-WrongOuterRecord-TLS
    (protected records whose outer type says handshake: ":INVALID_OUTER_RECORD_TYPE:").

    RFC 8446 §5.2: "The outer opaque_type field of a TLSCiphertext record is always set to the
    value 23 (application_data)"; once protection is on, only the unencrypted change_cipher_spec
    is excepted (§5), so a record of outer type handshake is an unexpected record type, and §5:
    "If a TLS implementation receives an unexpected record type, it MUST terminate the
    connection with an "unexpected_message" alert." (BoringSSL tries to decrypt the plaintext
    record and so says bad_record_mac; the RFC's rule names unexpected_message.)"""
    flight = Flight13.start()
    if how == "UnencryptedEncryptedExtensions":
        assert flight.find(HT.ENCRYPTED_EXTENSIONS) == 0
        rest = sealer(flight.hs_secret).seal(ContentType.HANDSHAKE, b"".join(flight.flight[1:]))
        sent = b"".join(flight.plain) + record(HANDSHAKE, flight.flight[0]) + rest
    else:
        protected = sealer(flight.hs_secret).seal(ContentType.HANDSHAKE, b"".join(flight.flight))
        sent = b"".join(flight.plain) + bytes((HANDSHAKE,)) + protected[1:]
    rejects(flight.client, sent, AD.UNEXPECTED_MESSAGE, sends_alert=True)


def test_certificate_message_over_several_records_completes() -> None:
    """BoGo LargeMessage (a Certificate carrying the leaf 51 times, far more than one record
    holds): the handshake succeeds.

    RFC 8446 §5.1: "Handshake messages MAY be coalesced into a single TLSPlaintext record or
    fragmented across several records"; ``uint24 length`` lets a message reach 2^24-1 bytes
    (§4). (The CertificateVerify and Finished are made again over the larger Certificate.)"""
    flight = Flight13.start()
    certificate = flight.decoded(HT.CERTIFICATE)
    big = Certificate(b"", certificate.certificate_list * 51)
    assert len(encode_handshake(big)) > 2**14
    data = flight.sealed(flight.refinished(flight.replaced(HT.CERTIFICATE, big)))
    assert sum(t == APPLICATION_DATA for t, _ in records(data)) >= 2
    done = completes(flight.client, data)
    assert len(done.peer_certificates) == 51


def test_server_flight_without_change_cipher_spec_completes() -> None:
    """BoGo SkipChangeCipherSpec-Client-TLS13 (the Go server sends no compatibility
    change_cipher_spec although our client sent a session ID): the handshake succeeds.

    RFC 8446 Appendix D.4: "Either side can send change_cipher_spec at any time during the
    handshake, as they must be ignored by the peer, but if the client sends a non-empty session
    ID, the server MUST send the change_cipher_spec as described in this appendix." The
    omission breaks the server's MUST, but the record carries nothing the client needs and no
    rule tells the client to enforce it: it completes, as BoGo wants."""
    flight = Flight13.start()
    assert flight.plain[1:] == [record(CCS, b"\x01")]  # our server sent one: drop it
    completes(flight.client, flight.sealed(flight.flight, plain=flight.plain[:1]))


def test_client_flight_without_change_cipher_spec_completes() -> None:
    """BoGo SkipChangeCipherSpec-Server-TLS13 (the Go client offers a compatibility session ID
    but sends no change_cipher_spec): the handshake succeeds.

    RFC 8446 Appendix D.4: compatibility mode "is partially negotiated: the client can opt to
    provide a session ID or not, and the server has to echo it. Either side can send
    change_cipher_spec at any time during the handshake, as they must be ignored by the peer";
    only the server's change_cipher_spec is a MUST there, and §5 says an implementation "may
    receive" one and "MUST simply drop it" -- the server cannot require the client's."""
    client = ClientConnection(client_config(), "localhost")
    server = ServerConnection(server_config())
    assert len(send_first_hello(client, server)) == 32
    dropped = 0
    for _ in range(10):
        to_server = b""
        for content_type, body in records(client.data_to_send()):
            if content_type == CCS:
                dropped += 1
            else:
                to_server += record(content_type, body)
        if to_server:
            server.receive_data(to_server)
        to_client = server.data_to_send()
        if to_client:
            client.receive_data(to_client)
        if not to_server and not to_client:
            break
    assert dropped == 1
    assert server.state is ConnectionState.APP_DATA and client.state is ConnectionState.APP_DATA


# == TLS 1.3: alerts, closure and KeyUpdate (basic_tests.go) ===================================


@pytest.mark.parametrize(
    ("name", "alert_records"),
    [
        ("FragmentAlert", record(ALERT, b"\x02") + record(ALERT, bytes((AD.RECORD_OVERFLOW,)))),
        ("DoubleAlert", record(ALERT, bytes((2, AD.RECORD_OVERFLOW)) * 2)),
    ],
    ids=["FragmentAlert", "DoubleAlert"],
)
def test_alert_split_or_doubled_in_records_is_decode_error(name: str, alert_records: bytes) -> None:
    """BoGo FragmentAlert / DoubleAlert (serverTest; SendSpuriousAlert record_overflow after the
    ClientHello, split over two records or sent twice in one): ":BAD_ALERT:".

    RFC 8446 §5.1: "Alert messages (Section 6) MUST NOT be fragmented across records, and
    multiple alert messages MUST NOT be coalesced into a single TLSPlaintext record. In other
    words, a record with an Alert type MUST contain exactly one message."; §6: a message that
    "cannot be parsed according to the syntax (e.g., have a length extending beyond the message
    boundary [...])" is answered with "decode_error". (RFC 5246 §6.2.1 allowed fragmenting
    alerts, so the TLS 1.3 rule is the one replayed.)"""
    probe = tls13_probe.Probe()
    probe.send_hello()
    assert probe.server_finished, name
    probe.expect_alert(alert_records, AD.DECODE_ERROR)


def test_spurious_fatal_alert_after_client_hello_ends_the_handshake() -> None:
    """BoGo Alert (serverTest; SendSpuriousAlert: a fatal record_overflow after the
    ClientHello): ":TLSV1_ALERT_RECORD_OVERFLOW:" -- the shim reports the peer's alert.

    RFC 8446 §6.2: "Upon receiving an error alert, the TLS implementation SHOULD indicate an
    error to the application and MUST NOT allow any further data to be sent or received on the
    connection." Nothing is sent back for the peer's own fatal alert."""
    probe = tls13_probe.Probe()
    probe.send_hello()
    with pytest.raises(AlertReceived) as info:
        probe.send(record(ALERT, bytes((2, AD.RECORD_OVERFLOW))))
    assert info.value.description == AD.RECORD_OVERFLOW
    assert probe.server.state is ConnectionState.FAILED
    assert probe.alerts == []


def test_error_alert_answering_close_notify_is_reported() -> None:
    """BoGo Unclean-Shutdown-Alert (the shim closes; the Go peer answers with an alert of
    value 30, decompression_failure, instead of close_notify): ":SSLV3_ALERT_DECOMPRESSION_
    FAILURE:" -- an error, not a clean shutdown.

    RFC 8446 §6: "Unknown Alert types MUST be treated as error alerts." (30 is
    decompression_failure_RESERVED in TLS 1.3); §6.2: "Upon receiving an error alert, the TLS
    implementation SHOULD indicate an error to the application"."""
    conn = Established.start()
    conn.client.close()
    assert conn.client.data_to_send()  # our close_notify
    closing = conn.client.state
    assert closing is ConnectionState.HOST_INITIATED_CLOSING
    with pytest.raises(AlertReceived) as info:
        conn.client.receive_data(conn.seal(bytes((2, 30)), ContentType.ALERT))
    assert info.value.description == 30
    assert conn.client.state is ConnectionState.FAILED


def test_five_key_update_requests_are_answered_before_the_next_data() -> None:
    """BoGo KeyUpdate-RequestACK (five KeyUpdate(update_requested) in a row, then data; the Go
    peer's RejectUnsolicitedKeyUpdate wants exactly one KeyUpdate back).

    RFC 8446 §4.6.3: "If the request_update field is set to "update_requested", then the
    receiver MUST send a KeyUpdate of its own with request_update set to "update_not_requested"
    prior to sending its next Application Data record."; "Upon receiving a KeyUpdate, the
    receiver MUST update its receiving keys." The RFC adds that this "causes an implementation
    which receives multiple KeyUpdates while it is silent to respond with a single update" -- a
    description, not a MUST: we answer each request (five updates of our own), which the RFC
    allows, and BoGo's one-answer check is BoringSSL's policy. Asserted: every request is
    answered with update_not_requested before our data, each under the keys of its turn."""
    conn = Established.start()
    secret = conn.secrets["SERVER_TRAFFIC_SECRET_0"]
    data = b""
    for _ in range(5):
        data += sealer(secret).seal(ContentType.HANDSHAKE, encode_handshake(KeyUpdate(1)))
        secret = next_traffic_secret(secret)
    data += sealer(secret).seal(ContentType.APPLICATION_DATA, b"after five updates")
    events = conn.client.receive_data(data)
    assert [e.data for e in events if isinstance(e, ApplicationData)] == [b"after five updates"]
    assert sum(isinstance(e, KeyUpdated) and e.direction == "receive" for e in events) == 5
    conn.client.send(b"reply")
    sent = records(conn.client.data_to_send())
    ours = conn.secrets["CLIENT_TRAFFIC_SECRET_0"]
    answers = 0
    for content_type, body in sent:
        ((inner, content),) = opened(ours, record(content_type, body))
        if inner == ContentType.HANDSHAKE:
            assert content == encode_handshake(KeyUpdate(0))
            answers += 1
            ours = next_traffic_secret(ours)
        else:
            assert (inner, content) == (ContentType.APPLICATION_DATA, b"reply")
    assert 1 <= answers <= 5 and sent[-1][0] == APPLICATION_DATA


# == TLS 1.3 server: ClientHello and the client's flight (tls13_tests.go, extension_tests.go) =


@pytest.mark.parametrize("version", ["TLS13", "TLS12"])
def test_session_id_of_33_bytes_is_decode_error(version: str) -> None:
    """BoGo Server-TooLongSessionID-TLS13 / Server-TooLongSessionID-TLS12
    (SendClientHelloSessionID of 33 bytes): ":CLIENTHELLO_PARSE_FAILED:", "remote error: error
    decoding message".

    RFC 8446 §4.1.2 ``opaque legacy_session_id<0..32>`` (RFC 5246 §7.4.1.2 ``opaque
    SessionID<0..32>``); RFC 8446 §6: "Peers which receive a message which cannot be parsed
    according to the syntax (e.g., have a length extending beyond the message boundary or
    contain an out-of-range length) MUST terminate the connection with a "decode_error"
    alert.\""""
    if version == "TLS13":
        probe = tls13_probe.Probe()
        hello = tls13_probe.client_hello(session_id=bytes(33))
        probe.expect_alert(lambda: probe.send_hello(hello), AD.DECODE_ERROR)
    else:
        reply = tls12_probe.Probe().hello(tls12_probe.client_hello(session_id=bytes(33)))
        tls12_probe.refused(reply, AD.DECODE_ERROR)


def test_second_client_hello_with_a_share_for_another_group_is_illegal_parameter() -> None:
    """BoGo SecondClientHelloWrongCurve-TLS13 (MisinterpretHelloRetryRequestCurve: the second
    ClientHello's share is not for the group the HelloRetryRequest asked for): ":WRONG_CURVE:".

    RFC 8446 §4.2.8: "when sending the new ClientHello, the client MUST replace the original
    "key_share" extension with one containing only a new KeyShareEntry for the group indicated
    in the selected_group field of the triggering HelloRetryRequest." A share for another group
    is "inconsistent with other fields" (§6.2 "illegal_parameter")."""
    probe = tls13_probe.Probe()
    groups = (SECP256R1, X25519)
    probe.send_hello(
        tls13_probe.client_hello(extensions=tls13_probe.tls13_extensions(groups, shares=()))
    )
    hrr = probe.server_hello
    assert hrr is not None and hrr[6:38] == tls13_probe.HRR_RANDOM
    asked = tls13_probe.hello_extension(hrr, tls13_probe.EXT_KEY_SHARE)
    assert asked == X25519.id.to_bytes(2, "big")
    wrong = tls13_probe.client_hello(
        extensions=tls13_probe.tls13_extensions(groups, shares=(SECP256R1,))
    )
    probe.expect_alert(lambda: probe.send_hello(wrong), AD.ILLEGAL_PARAMETER)


def test_encrypted_extensions_from_the_client_is_unexpected_message() -> None:
    """BoGo UnexpectedClientEncryptedExtensions-*-TLS-TLS13 (AlwaysSendClientEncryptedExtensions:
    the Go client sends an EncryptedExtensions before its Finished): ":UNEXPECTED_MESSAGE:",
    "remote error: unexpected message".

    RFC 8446 §2: EncryptedExtensions is a server message (Figure 1); §4: "A peer which receives
    a handshake message in an unexpected order MUST abort the handshake with an
    "unexpected_message" alert." -- the server waits for the client's Certificate or
    Finished."""
    probe = tls13_probe.Probe()
    probe.send_hello()
    probe.use_handshake_keys()
    ee = tls13_probe.handshake(HT.ENCRYPTED_EXTENSIONS, tls13_probe.vector(2, b""))
    probe.expect_alert(probe.sealed(HANDSHAKE, ee), AD.UNEXPECTED_MESSAGE)


# == version negotiation (version_tests.go, basic_tests.go) =====================================


def test_unknown_versions_around_tls12_in_supported_versions_negotiate_tls12() -> None:
    """BoGo VersionNegotiationExtension-TLS12-TLS (supported_versions {0x1111, TLS 1.2,
    0x2222}): TLS 1.2 is negotiated.

    RFC 8446 §4.2.1: "Servers MUST only select a version of TLS present in that extension and
    MUST ignore any unknown versions that are present in that extension."; "A server which
    negotiates a version of TLS prior to TLS 1.3 MUST set ServerHello.version and MUST NOT send
    the "supported_versions" extension."; §4.1.3: a TLS 1.3 server negotiating TLS 1.2 "MUST
    set the last 8 bytes of their Random value to the bytes: 44 4F 57 4E 47 52 44 01"."""
    probe = tls12_probe.Probe()
    extensions = [*tls12_probe.default_extensions(), sv_ext(0x1111, 0x0303, 0x2222)]
    probe.full_handshake(tls12_probe.client_hello(extensions=extensions))
    assert probe.server_hello is not None
    assert probe.server_hello.legacy_version == 0x0303
    assert probe.server_extension(SUPPORTED_VERSIONS_EXT) is None
    assert probe.server_hello.random[-8:] == DOWNGRADE_TLS12
    probe.echo()


def test_supported_versions_decides_over_legacy_version() -> None:
    """BoGo ConflictingVersionNegotiation (legacy_version TLS 1.2, supported_versions {TLS
    1.1}): BoringSSL, which still has TLS 1.1, negotiates it ("The extension takes precedence
    over the ClientHello version"). We have no TLS 1.1, so the same rule leaves no version.

    RFC 8446 §4.2.1: "If this extension is present in the ClientHello, servers MUST NOT use the
    ClientHello.legacy_version value for version negotiation and MUST use only the
    "supported_versions" extension"; "If the "supported_versions" extension in the ClientHello
    contains no versions acceptable to the server, the server MUST abort the handshake with a
    "protocol_version" alert." (TLS 1.2 must not be picked from legacy_version.)"""
    extensions = [*tls12_probe.default_extensions(), sv_ext(0x0302)]
    reply = tls12_probe.Probe().hello(tls12_probe.client_hello(extensions=extensions))
    tls12_probe.refused(reply, AD.PROTOCOL_VERSION)


def test_legacy_version_0x0400_with_supported_versions_negotiates_tls13() -> None:
    """BoGo VersionTolerance-TLS13 (legacy_version 0x0400 beside supported_versions): TLS 1.3.

    RFC 8446 §4.2.1: with supported_versions present the server "MUST NOT use the
    ClientHello.legacy_version value for version negotiation"; §4.1.2 only says the client
    sets it to 0x0303, a value above is no reason to refuse."""
    probe = tls13_probe.Probe()
    probe.handshake(tls13_probe.client_hello(legacy_version=0x0400))
    assert probe.server_hello is not None
    assert tls13_probe.hello_extension(probe.server_hello, tls13_probe.EXT_SUPPORTED_VERSIONS) == (
        b"\x03\x04"
    )


def test_legacy_version_0x0400_without_supported_versions_negotiates_tls12() -> None:
    """BoGo MajorVersionTolerance (legacy_version 0x0400, no supported_versions): TLS 1.2.

    RFC 8446 §4.2.1: "If this extension is not present, servers which are compliant with this
    specification and which also support TLS 1.2 MUST negotiate TLS 1.2 or prior as specified
    in [RFC5246], even if ClientHello.legacy_version is 0x0304 or later."; RFC 5246 Appendix
    E.1: "If a TLS server receives a ClientHello containing a version number greater than the
    highest version supported by the server, it MUST reply according to the highest version
    supported by the server.\""""
    probe = tls12_probe.Probe()
    probe.full_handshake(tls12_probe.client_hello(version=0x0400))
    assert probe.server_hello is not None and probe.server_hello.legacy_version == 0x0303
    probe.echo()


def test_fallback_scsv_from_a_client_offering_our_best_version_is_accepted() -> None:
    """BoGo FallbackSCSV-VersionMatch-TLS13 (a TLS 1.3 ClientHello with TLS_FALLBACK_SCSV):
    the handshake succeeds.

    RFC 7507 §3: the server refuses with inappropriate_fallback only if "the highest protocol
    version supported by the server is higher than the version indicated in
    ClientHello.client_version" -- for a TLS 1.3 client, the version it offers in
    supported_versions (RFC 8446 §4.2.1), which is our highest."""
    probe = tls13_probe.Probe()
    suites = (tls13_probe.AES_128_GCM, FALLBACK_SCSV)
    probe.handshake(tls13_probe.client_hello(suites))
    tls13_probe.conversation(probe, probe.sealed(APPLICATION_DATA, tls13_probe.GET))


def test_tls13_only_server_refuses_a_tls12_client() -> None:
    """BoGo MinimumVersion-Server-TLS13-TLS12-TLS (the shim's minimum is TLS 1.3, the Go client
    offers TLS 1.2 at most): ":UNSUPPORTED_PROTOCOL:", "remote error: protocol version not
    supported".

    RFC 8446 Appendix D.2: "If the "supported_versions" extension is absent and the server only
    supports versions greater than ClientHello.legacy_version, the server MUST abort the
    handshake with a "protocol_version" alert.\""""
    probe = tls12_probe.Probe(tls12_probe.server_config(min_version=TLS13))
    tls12_probe.refused(probe.hello(), AD.PROTOCOL_VERSION)


def test_tls13_only_client_refuses_a_tls12_server_hello() -> None:
    """BoGo MinimumVersion-Client-TLS13-TLS12-TLS (NegotiateVersion: the Go server answers with
    TLS 1.2 although the shim offered only TLS 1.3): ":UNSUPPORTED_PROTOCOL:", "remote error:
    protocol version not supported".

    RFC 8446 Appendix D.1: "If the version chosen by the server is not supported by the client
    (or is not acceptable), the client MUST abort the handshake with a "protocol_version"
    alert." (The TLS 1.2 ServerHello is one our server, limited to TLS 1.2 as BoGo's is, wrote
    for a TLS 1.2 client: no downgrade sentinel, only the version is wrong.)"""
    hs = start12(max_version=TLS12)
    assert hs.server_hello.random[-8:] != DOWNGRADE_TLS12
    client = ClientConnection(client_config(min_version=TLS13), "localhost")
    client.data_to_send()
    rejects(client, hs.flight, AD.PROTOCOL_VERSION, plaintext=True)


def test_tls12_client_hello_without_null_compression_is_illegal_parameter() -> None:
    """BoGo NoNullCompression-TLS12 (compression methods 1..6, no null): ":INVALID_COMPRESSION_
    LIST:", "remote error: illegal parameter".

    RFC 5246 §7.4.1.2: the compression_methods vector "MUST contain, and all implementations
    MUST support, CompressionMethod.null" (no alert named; RFC 8446 §4.1.2 names
    "illegal_parameter" for the same field in TLS 1.3, and §7.2.2 illegal_parameter is "A field
    in the handshake was out of range or inconsistent with other fields")."""
    hello = tls12_probe.client_hello(compression=bytes(range(1, 7)))
    tls12_probe.refused(tls12_probe.Probe().hello(hello), AD.ILLEGAL_PARAMETER)


# == signature algorithms (signature_algorithm_tests.go) ========================================


@pytest.mark.parametrize(
    ("offered", "cert", "expected"),
    [
        ((ECDSA_P521_SHA512, RSA_PKCS1_SHA384, RSA_PSS_SHA384, ECDSA_SHA1), "rsa", RSA_PSS_SHA384),
        ((ECDSA_P384_SHA384, ECDSA_P256_SHA256), "ecdsa-p256", ECDSA_P256_SHA256),
    ],
    ids=["ServerAuth-SignatureType-TLS13", "ECDSACurveMismatch-Sign-TLS13"],
)
def test_tls13_server_signs_with_a_scheme_that_fits_its_key(
    offered: tuple[int, ...], cert: str, expected: int
) -> None:
    """BoGo ServerAuth-SignatureType-TLS13 (the client lists ecdsa_secp521r1_sha512,
    rsa_pkcs1_sha384, rsa_pss_rsae_sha384, ecdsa_sha1; an RSA server must pick
    rsa_pss_rsae_sha384) and ECDSACurveMismatch-Sign-TLS13 (ecdsa_secp384r1_sha384 first, a P-256
    key: ecdsa_secp256r1_sha256).

    RFC 8446 §4.4.3: "the signature algorithm MUST be compatible with the key in the sender's
    end-entity certificate. RSA signatures MUST use an RSASSA-PSS algorithm, regardless of
    whether RSASSA-PKCS1-v1_5 algorithms appear in "signature_algorithms"."; §4.2.3: ECDSA
    schemes fix "the corresponding curve"."""
    certificates = (rsa_cert(),) if cert == "rsa" else (server_cert(),)
    probe = tls13_probe.Probe(certificates=certificates)
    extensions = tls13_probe.tls13_extensions(schemes=offered)
    probe.handshake(tls13_probe.client_hello(extensions=extensions))
    assert cv_scheme(probe) == expected


@pytest.mark.parametrize(
    ("offered", "expected"),
    [
        ((ECDSA_P521_SHA512, RSA_PKCS1_SHA384, ECDSA_SHA1), RSA_PKCS1_SHA384),
        ((RSA_PSS_SHA256,), RSA_PSS_SHA256),
    ],
    ids=["ServerAuth-SignatureType", "RSA-PSS-Default-Sign"],
)
def test_tls12_server_signs_with_an_offered_scheme_that_fits_its_key(
    offered: tuple[int, ...], expected: int
) -> None:
    """BoGo ServerAuth-SignatureType (TLS 1.2, ECDHE_RSA; the client lists
    ecdsa_secp521r1_sha512, rsa_pkcs1_sha384, ecdsa_sha1: rsa_pkcs1_sha384) and
    RSA-PSS-Default-Sign (only rsa_pss_rsae_sha256 offered: the server signs with it).

    RFC 5246 §7.4.1.4.1: "If the client provided a "signature_algorithms" extension, then all
    certificates provided by the server MUST be signed by a hash/signature algorithm pair that
    appears in that extension"; §7.4.3: "If the client has offered the "signature_algorithms"
    extension, the signature algorithm and hash algorithm MUST be a pair listed in that
    extension." RFC 8446 §4.2.3: "In TLS 1.2, RSASSA-PSS is used with RSA cipher suites.\""""
    probe = tls12_probe.Probe()
    extensions = [
        tls12_probe.GROUPS,
        tls12_probe.POINT_FORMATS,
        tls12_probe.sigalgs_ext(*offered),
        tls12_probe.EMS,
        tls12_probe.RENEGO,
    ]
    probe.full_handshake(tls12_probe.client_hello((RSA_GCM,), extensions))
    assert probe.ske is not None and probe.ske.ecdhe().algorithm == expected
    probe.echo()


def rsa_pss_signer(key: Any, algorithm: hashes.HashAlgorithm) -> Any:
    """A CertificateVerify signer making an RSASSA-PSS signature (salt = hash length)."""
    pss = padding.PSS(mgf=padding.MGF1(algorithm), salt_length=algorithm.digest_size)
    return lambda content: key.sign(content, pss, algorithm)


@pytest.mark.parametrize(
    "case", ["Verify-ServerAuth-SignatureType-TLS13", "ECDSACurveMismatch-Verify-TLS13"]
)
def test_tls13_certificate_verify_scheme_not_fitting_the_key_is_illegal_parameter(
    case: str,
) -> None:
    """BoGo Verify-ServerAuth-SignatureType-TLS13 (an RSA certificate, the CertificateVerify
    labelled ecdsa_secp256r1_sha256 over an RSA-PSS signature) and
    ECDSACurveMismatch-Verify-TLS13 (a P-256 key signing with SHA-384 and calling it
    ecdsa_secp384r1_sha384): ":WRONG_SIGNATURE_TYPE:". Both schemes are ones the client offered.

    RFC 8446 §4.4.3: "the signature algorithm MUST be compatible with the key in the sender's
    end-entity certificate"; §4.2.3: an ECDSA scheme means "the corresponding curve". The field
    is inconsistent with the certificate: "illegal_parameter" (§6.2: "A field in the handshake
    was incorrect or inconsistent with other fields")."""
    if case == "Verify-ServerAuth-SignatureType-TLS13":
        flight = Flight13.start(server=server_config(certificates=(rsa_cert(),)))
        signer = rsa_pss_signer(flight.server_key.private_key, hashes.SHA256())
        edited = flight.resigned(ECDSA_P256_SHA256, signer)
    else:
        flight = Flight13.start()
        key = flight.server_key.private_key
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        edited = flight.resigned(
            ECDSA_P384_SHA384, lambda c: key.sign(c, ec.ECDSA(hashes.SHA384()))
        )
    offered = decode_handshake(flight.client_hello)
    assert isinstance(offered, ClientHello)
    schemes = offered.get(SignatureAlgorithms)
    assert schemes is not None and {ECDSA_P256_SHA256, ECDSA_P384_SHA384} <= set(schemes.schemes)
    rejects(flight.client, flight.sealed(edited), AD.ILLEGAL_PARAMETER, sends_alert=True)


def test_tls12_server_key_exchange_scheme_not_fitting_the_key_is_illegal_parameter() -> None:
    """BoGo Verify-ServerAuth-SignatureType (TLS 1.2, ECDHE_RSA; the ServerKeyExchange labelled
    ecdsa_secp256r1_sha256 over an RSA signature): ":WRONG_SIGNATURE_TYPE:".

    RFC 5246 §7.4.3: "signed_params: For non-anonymous key exchanges, a signature over the
    server's key exchange parameters", made with the key of the certificate, which for ECDHE_RSA
    is an "RSA public key" (§7.4.2). An ECDSA label on that signature is a field inconsistent
    with the certificate, and §7.2.2: "illegal_parameter: A field in the handshake was out of
    range or inconsistent with other fields.\""""
    hs = start12(certificates=(rsa_cert(),))
    params = ServerKeyExchange(body=hs.message(HT.SERVER_KEY_EXCHANGE)[4:]).ecdhe().params
    content = server_key_exchange_input(hs.client_hello.random, hs.server_hello.random, params)
    key = rsa_cert().private_key
    assert isinstance(key, rsa.RSAPrivateKey)
    signature = key.sign(content, padding.PKCS1v15(), hashes.SHA256())
    forged = ServerKeyExchange.signed(params, ECDSA_P256_SHA256, signature)
    bad = hs.replaced(HT.SERVER_KEY_EXCHANGE, encode_handshake(forged))
    rejects(hs.client, bad, AD.ILLEGAL_PARAMETER, plaintext=True)


@pytest.mark.parametrize(
    ("cert", "scheme"),
    [("ecdsa-p256", ECDSA_P384_SHA384), ("rsa", RSA_PSS_SHA256)],
    ids=["ECDSACurveMismatch-Verify-TLS12", "RSA-PSS-Default-Verify"],
)
def test_tls12_server_key_exchange_signatures_that_tls12_allows(cert: str, scheme: int) -> None:
    """BoGo ECDSACurveMismatch-Verify-TLS12 (a P-256 key signs the ServerKeyExchange with
    SHA-384: accepted, TLS 1.2's ECDSA pairs do not name a curve) and RSA-PSS-Default-Verify
    (rsa_pss_rsae_sha256 in TLS 1.2: accepted).

    RFC 8446 §4.2.3 (for TLS 1.2 peers): "ECDSA signature schemes align with TLS 1.2's ECDSA
    hash/signature pairs. However, the old semantics did not constrain the signing curve. If
    TLS 1.2 is negotiated, implementations MUST be prepared to accept a signature that uses any
    curve that they advertised"; "Implementations that advertise support for RSASSA-PSS [...]
    MUST be prepared to accept a signature using that scheme even when TLS 1.2 is negotiated."
    The client answers with its ClientKeyExchange, ChangeCipherSpec and Finished."""
    hs = start12(**({"certificates": (rsa_cert(),)} if cert == "rsa" else {}))
    params = ServerKeyExchange(body=hs.message(HT.SERVER_KEY_EXCHANGE)[4:]).ecdhe().params
    answer = hs.answer(hs.resigned(params, scheme))
    assert [t for t, _ in records(answer)] == [HANDSHAKE, CCS, HANDSHAKE]
    assert hs.client.state is ConnectionState.HANDSHAKING


def test_tls13_client_certificate_verify_scheme_not_fitting_the_key_is_illegal_parameter() -> None:
    """BoGo Verify-ClientAuth-SignatureType-TLS13 (serverTest; an RSA client certificate, its
    CertificateVerify labelled ecdsa_secp256r1_sha256): ":WRONG_SIGNATURE_TYPE:".

    RFC 8446 §4.4.3: "the signature algorithm MUST be compatible with the key in the sender's
    end-entity certificate"; the label contradicts the certificate (§6.2 "illegal_parameter")."""
    certified = client_cert("rsa-2048")
    trusted = certified.leaf.public_bytes(Encoding.PEM)
    probe = tls13_probe.Probe(client_auth="required", client_cadata=trusted)
    probe.send_hello()
    assert any(m[0] == HT.CERTIFICATE_REQUEST for m in probe.messages)
    probe.use_handshake_keys()
    entries = tls13_probe.vector(3, tls13_probe.vector(3, certified.der_chain[0]) + b"\x00\x00")
    certificate = tls13_probe.handshake(HT.CERTIFICATE, b"\x00" + entries)
    digest = hashlib.sha256(probe.transcript + certificate).digest()
    content = certificate_verify_input(digest, server=False)
    signature = sign(RSA_PSS_SHA256, certified.private_key, content)
    verify = encode_certificate_verify(ECDSA_P256_SHA256, signature)
    probe.expect_alert(probe.sealed(HANDSHAKE, certificate + verify), AD.ILLEGAL_PARAMETER)


def test_tls13_ecdsa_certificate_on_a_curve_outside_supported_groups_is_accepted() -> None:
    """BoGo CheckLeafCurve-TLS13 (the shim's groups are {P-384}, the server's ECDSA key is on
    P-256): the handshake succeeds -- in TLS 1.3 the groups list does not constrain
    certificates (BoGo CheckLeafCurve, TLS 1.2, does fail).

    RFC 8446 §4.2.7: supported_groups "indicates the named groups which the client supports for
    key exchange"; the curve of an ECDSA signature comes from the scheme (§4.2.3: "the
    corresponding curve"), and the client offered ecdsa_secp256r1_sha256."""
    client = ClientConnection(client_config(groups=(SECP384R1,)), "localhost")
    events, _ = pump(client, ServerConnection(server_config()))
    (done,) = [e for e in events if isinstance(e, HandshakeComplete)]
    assert done.group == "secp384r1" and done.signature_scheme == "ecdsa_secp256r1_sha256"


# == client certificates (signature_algorithm_tests.go, basic_tests.go) ========================


def test_tls13_client_without_a_scheme_for_its_key_sends_an_empty_certificate() -> None:
    """BoGo NoCommonAlgorithms-TLS13 (the CertificateRequest lists rsa_pss_rsae_sha512 and
    rsa_pss_rsae_sha384, the shim's key can sign neither): BoringSSL fails with
    ":NO_COMMON_SIGNATURE_ALGORITHMS:" -- its policy. Here an ECDSA client key and an RSA-only
    request.

    RFC 8446 §4.4.2: "If the server requests client authentication but no suitable certificate
    is available, the client MUST send a Certificate message containing no certificates";
    §4.4.3: the client's signature algorithm "MUST be one of those present in the
    supported_signature_algorithms field of the "signature_algorithms" extension in the
    CertificateRequest message" -- so no certificate of ours is suitable."""
    flight = client_auth_flight(client_cert())
    request = flight.decoded(HT.CERTIFICATE_REQUEST)
    assert isinstance(request, CertificateRequest)
    rsa_only = SignatureAlgorithms((RSA_PSS_SHA512, RSA_PSS_SHA384))
    changed = CertificateRequest(b"", with_extensions(request.extensions, rsa_only))
    edited = flight.refinished(flight.replaced(HT.CERTIFICATE_REQUEST, changed))
    completes(flight.client, flight.sealed(edited))
    sent = opened(flight.secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"], flight.client.data_to_send())
    answer = [
        m for inner, content in sent if inner == ContentType.HANDSHAKE for m in messages(content)
    ]
    assert [m[0] for m in answer] == [HT.CERTIFICATE, HT.FINISHED]
    certificate = decode_handshake(answer[0])
    assert isinstance(certificate, Certificate) and certificate.certificate_list == ()


BOTH_TYPES = bytes((CERT_TYPE_RSA_SIGN, CERT_TYPE_ECDSA_SIGN))


@pytest.mark.parametrize(
    ("types", "schemes", "client_schemes", "answered"),
    [
        (bytes((CERT_TYPE_ECDSA_SIGN,)), (RSA_PKCS1_SHA256, RSA_PSS_SHA256), None, False),
        (BOTH_TYPES, (RSA_PKCS1_SHA512, RSA_PKCS1_SHA1), (RSA_PKCS1_SHA256,), False),
        (BOTH_TYPES, (RSA_PKCS1_SHA256, RSA_PSS_SHA256), None, True),
    ],
    ids=["CheckClientCertificateTypes", "NoCommonAlgorithms", "control"],
)
def test_tls12_client_without_a_fitting_certificate_sends_an_empty_one(
    types: bytes,
    schemes: tuple[int, ...],
    client_schemes: tuple[int, ...] | None,
    answered: bool,
) -> None:
    """BoGo CheckClientCertificateTypes (certificate_types {ecdsa_sign}, an RSA client key:
    ":UNKNOWN_CERTIFICATE_TYPE:") and NoCommonAlgorithms (TLS 1.2; the request lists
    rsa_pkcs1_sha512 and rsa_pkcs1_sha1, the shim signs only rsa_pkcs1_sha256:
    ":NO_COMMON_SIGNATURE_ALGORITHMS:"). BoringSSL fails; the RFC wants an empty Certificate.

    RFC 5246 §7.4.6: "The end-entity certificate's public key (and associated restrictions) has
    to be compatible with the certificate types listed in CertificateRequest" and must allow
    "the signature scheme and hash algorithm that will be employed"; "If no suitable
    certificate is available, the client MUST send a certificate message containing no
    certificates." (The control: rsa_sign and a scheme the key can use get the certificate and
    its CertificateVerify.)"""
    extra = {} if client_schemes is None else {"signature_schemes": client_schemes}
    certified = client_cert("rsa-2048")
    hs = Handshake12.start(
        client12_config(certificates=(certified,), **extra),
        server_config(
            groups=(SECP256R1,),
            certificates=(rsa_cert(),),
            client_auth="optional",
            client_cadata=certified.leaf.public_bytes(Encoding.PEM),
        ),
    )
    request = decode_handshake(hs.message(HT.CERTIFICATE_REQUEST), version=TLS12)
    assert isinstance(request, CertificateRequest12)
    changed = dataclasses.replace(
        request, certificate_types=types, supported_signature_algorithms=schemes
    )
    answer = hs.answer(hs.replaced(HT.CERTIFICATE_REQUEST, encode_handshake(changed)))
    first = records(answer)[0]
    assert first[0] == HANDSHAKE
    sent = messages(first[1])
    assert sent[0][0] == HT.CERTIFICATE
    if answered:
        assert certified.der_chain[0] in sent[0]
        assert HT.CERTIFICATE_VERIFY in [m[0] for m in sent]
    else:
        assert sent[0] == frame(HT.CERTIFICATE, b"\x00\x00\x00")  # certificate_list length 0
        assert HT.CERTIFICATE_VERIFY not in [m[0] for m in sent]


def test_tls12_certificate_without_certificate_verify_is_unexpected_message() -> None:
    """BoGo ServerSkipCertificateVerify (serverTest, TLS 1.2; the Go client sends its
    certificate, ClientKeyExchange, then ChangeCipherSpec without CertificateVerify):
    ":UNEXPECTED_RECORD:", "remote error: unexpected message".

    RFC 5246 §7.4.8: CertificateVerify "is only sent following a client certificate that has
    signing capability [...]. When sent, it MUST immediately follow the client key exchange
    message." -- a ChangeCipherSpec in its place is, by §7.2.2, "unexpected_message: An
    inappropriate message was received.\""""
    certified = client_cert("rsa-2048")
    config = tls12_probe.server_config(
        client_auth="required", client_cadata=certified.leaf.public_bytes(Encoding.PEM)
    )
    probe = tls12_probe.Probe(config)
    reply = probe.hello()
    assert HT.CERTIFICATE_REQUEST in reply.handshake_types
    der = certified.der_chain[0]
    body = len(der).to_bytes(3, "big") + der
    certificate = tls12_probe.handshake(HT.CERTIFICATE, len(body).to_bytes(3, "big") + body)
    probe.transcript.append(certificate)
    key_exchange = probe.client_key_exchange()
    probe.transcript.append(key_exchange)
    sent = record(HANDSHAKE, certificate + key_exchange) + probe.ccs() + probe.finished_record()
    tls12_probe.refused(probe.send(sent), AD.UNEXPECTED_MESSAGE)


# == TLS 1.2 client (basic_tests.go, cipher_suite_tests.go, tls13_tests.go) =====================


def test_tls12_empty_server_certificate_list_is_decode_error() -> None:
    """BoGo EmptyCertificateList (TLS 1.2; a Certificate with no certificates): ":DECODE_ERROR:".

    RFC 5246 §7.4.2: the server "MUST send a Certificate message whenever the agreed-upon key
    exchange method uses certificates for authentication", and it "conveys the server's
    certificate chain"; RFC 5246 names no alert for an empty one. RFC 8446 §4.4.2.4, the same
    case one version on: "If the server supplies an empty Certificate message, the client MUST
    abort the handshake with a "decode_error" alert.\""""
    hs = start12()
    empty = hs.replaced(HT.CERTIFICATE, frame(HT.CERTIFICATE, b"\x00\x00\x00"))
    rejects(hs.client, empty, AD.DECODE_ERROR, plaintext=True)


def test_tls12_missing_server_key_exchange_is_unexpected_message() -> None:
    """BoGo SkipServerKeyExchange (ECDHE; the Go server goes from Certificate to
    ServerHelloDone): ":UNEXPECTED_MESSAGE:".

    RFC 8422 §5.4: "This message is sent when using the ECDHE_ECDSA, ECDHE_RSA, and ECDH_anon
    key exchange algorithms."; RFC 5246 §7.4.3: "This message will be sent immediately after the
    server Certificate message"; a ServerHelloDone in its place is "An inappropriate message"
    (§7.2.2 unexpected_message)."""
    hs = start12()
    rejects(
        hs.client, hs.replaced(HT.SERVER_KEY_EXCHANGE, None), AD.UNEXPECTED_MESSAGE, plaintext=True
    )


@pytest.mark.parametrize(
    ("cert", "suite"),
    [("rsa", ECDSA_GCM), ("ecdsa-p256", RSA_GCM)],
    ids=["CertificateCipherMismatch-RSA", "CertificateCipherMismatch-ECDSA"],
)
def test_tls12_certificate_not_fitting_the_suite_is_unsupported_certificate(
    cert: str, suite: int
) -> None:
    """BoGo CertificateCipherMismatch-RSA / -ECDSA (the Go server selects an ECDHE_ECDSA suite
    with an RSA certificate, or the reverse): ":WRONG_CERTIFICATE_TYPE:" (alert not checked).

    RFC 5246 §7.4.2: "The end entity certificate's public key (and associated restrictions) MUST
    be compatible with the selected key exchange algorithm." (its table: ECDHE_RSA "RSA public
    key", ECDHE_ECDSA "ECDSA-capable public key"). No alert is named; ours is §7.2.2
    "unsupported_certificate: A certificate was of an unsupported type.\""""
    hs = start12(**({"certificates": (rsa_cert(),)} if cert == "rsa" else {}))
    assert hs.suite.id != suite
    rejects(
        hs.client, hs.hello_with(cipher_suite=suite), AD.UNSUPPORTED_CERTIFICATE, plaintext=True
    )


def test_tls12_server_hello_session_id_of_33_bytes_is_decode_error() -> None:
    """BoGo Client-TooLongSessionID (NewSessionIDLength 33): ":DECODE_ERROR:", "remote error:
    error decoding message".

    RFC 5246 §7.4.1.3 ``SessionID session_id`` with §7.4.1.2 ``opaque SessionID<0..32>``;
    §7.2.2 decode_error: "A message could not be decoded because some field was out of the
    specified range or the length of the message was incorrect.\""""
    hs = start12()
    body = hs.message(HT.SERVER_HELLO)[4:]
    at = 34  # version (2) and random (32)
    long_id = body[:at] + bytes((33,)) + os.urandom(33) + body[at + 1 + body[at] :]
    bad = hs.replaced(HT.SERVER_HELLO, frame(HT.SERVER_HELLO, long_id))
    rejects(hs.client, bad, AD.DECODE_ERROR, plaintext=True)


@pytest.mark.parametrize("client_max", ["TLS12", "TLS13"])
def test_warning_unrecognized_name_before_a_tls12_server_hello(client_max: str) -> None:
    """BoGo SendSNIWarningAlert: a TLS 1.2 Go server sends a warning unrecognized_name before
    its ServerHello; the shim goes on, also when it could do TLS 1.3.

    RFC 5246 §7.2: "If an alert with a level of warning is sent and received, generally the
    connection can continue normally". Before the ServerHello the version is not decided; a
    TLS 1.2 ServerHello makes the alert a TLS 1.2 warning. RFC 6066 §3 leaves the client free
    ("the client's behavior in response to warning-level alerts is unpredictable"); going on
    is what OpenSSL's and BoringSSL's clients do with servers that send it (e.g. for an SNI
    name no virtual host has)."""
    hs = Handshake12.start(
        ClientConfig(
            verify_certificates=False, groups=(SECP256R1,), max_version=ProtocolVersion[client_max]
        ),
        server_config(groups=(SECP256R1,), max_version=TLS12),
    )
    warning = record(ALERT, bytes((1, AD.UNRECOGNIZED_NAME)))
    events = hs.client.receive_data(warning + hs.flight)
    assert WarningAlertReceived(description=AD.UNRECOGNIZED_NAME) in events
    hs.server.receive_data(hs.client.data_to_send())  # ClientKeyExchange .. Finished
    completes(hs.client, hs.server.data_to_send())


@pytest.mark.parametrize("answer", ["ServerHello", "HelloRetryRequest"])
def test_warning_alert_before_a_tls13_server_hello_is_an_error_alert(answer: str) -> None:
    """The other side of SendSNIWarningAlert: the warning came before a TLS 1.3 ServerHello
    (tlslite-ng's server does this) or HelloRetryRequest. Once that says TLS 1.3, the alert
    was an error alert, "regardless of the AlertLevel in the message" (RFC 8446 §6.2)."""
    warning = record(ALERT, bytes((1, AD.UNRECOGNIZED_NAME)))
    if answer == "ServerHello":
        flight = Flight13.start()
        client, data = flight.client, flight.sealed(flight.flight)
    else:
        client = ClientConnection(client_config(groups=(X25519, SECP384R1)), "localhost")
        server = ServerConnection(server_config(groups=(SECP384R1,)))
        server.receive_data(client.data_to_send())
        data = server.data_to_send()
    assert WarningAlertReceived(description=AD.UNRECOGNIZED_NAME) in client.receive_data(warning)
    with pytest.raises(AlertReceived) as info:
        client.receive_data(data)
    assert info.value.description == AD.UNRECOGNIZED_NAME
    assert client.state is ConnectionState.FAILED


def test_tls13_client_refuses_a_warning_alert_after_hello_retry_request() -> None:
    """The version is decided by a HelloRetryRequest (its supported_versions, RFC 8446
    §4.1.4): a warning unrecognized_name after it is an error alert, "regardless of the
    AlertLevel" (§6.2), and ends the handshake."""
    client = retry_flight().client  # it has the HelloRetryRequest, not yet the ServerHello
    warning = record(ALERT, bytes((1, AD.UNRECOGNIZED_NAME)))
    with pytest.raises(AlertReceived) as info:
        client.receive_data(warning)
    assert info.value.description == AD.UNRECOGNIZED_NAME
    assert client.state is ConnectionState.FAILED


# == TLS 1.2 server (cipher_suite_tests.go, resumption_tests.go, basic_tests.go) ================


@pytest.mark.parametrize(
    ("cert", "suite"),
    [("rsa", ECDSA_GCM), ("ecdsa-p256", RSA_GCM)],
    ids=["ServerCipherFilter-RSA", "ServerCipherFilter-ECDSA"],
)
def test_tls12_server_without_a_suite_for_its_certificate_is_handshake_failure(
    cert: str, suite: int
) -> None:
    """BoGo ServerCipherFilter-RSA / -ECDSA (an RSA-certificate server offered only
    ECDHE_ECDSA suites, or the reverse): ":NO_SHARED_CIPHER:".

    RFC 5246 §7.4.2: the certificate's key "MUST be compatible with the selected key exchange
    algorithm", so no offered suite can be selected; §7.4.1.2: "The server will select a cipher
    suite or, if no acceptable choices are presented, return a handshake failure alert and close
    the connection.\""""
    certified = rsa_cert() if cert == "rsa" else server_cert()
    probe = tls12_probe.Probe(tls12_probe.server_config(certificates=(certified,)))
    tls12_probe.refused(probe.hello(tls12_probe.client_hello((suite,))), AD.HANDSHAKE_FAILURE)


@pytest.mark.parametrize(
    "ticket_ext",
    [None, b""],
    ids=["Resume-Server-NoTickets-TLS12-TLS12-TLS", "SupportTicketsWithSessionID"],
)
def test_tls12_session_id_resumption(ticket_ext: bytes | None) -> None:
    """BoGo Resume-Server-NoTickets-TLS12-TLS12-TLS (neither connection speaks RFC 5077) and
    SupportTicketsWithSessionID (a session made without tickets, resumed by a client that now
    offers an empty session_ticket extension): both resume by session ID.

    RFC 5246 §7.4.1.3: "If the ClientHello.session_id was non-empty, the server will look in its
    session cache for a match. If a match is found and the server is willing to establish the
    new connection using the specified session state, the server will respond with the same
    value as was supplied by the client."; RFC 5077 §3.4: "If a ticket is presented by the
    client, the server MUST NOT attempt to use the Session ID in the ClientHello for stateful
    session resumption" -- an empty session_ticket extension presents none."""
    config = tls12_probe.server_config()
    first = tls12_probe.Probe(config)
    first.full_handshake()
    assert first.server_hello is not None
    session_id = first.server_hello.legacy_session_id_echo
    assert len(session_id) == 32
    extensions = tls12_probe.default_extensions()
    if ticket_ext is not None:
        extensions.append((SESSION_TICKET_EXT, ticket_ext))
    probe = tls12_probe.Probe(config)
    probe.resume_master = first.master
    reply = probe.hello(tls12_probe.client_hello(extensions=extensions, session_id=session_id))
    assert reply.error is None and probe.ske is None
    assert reply.handshake_types == [HT.SERVER_HELLO, HT.FINISHED]
    assert probe.server_hello is not None
    assert probe.server_hello.legacy_session_id_echo == session_id
    probe.check_server_finished()
    probe.transcript.append(probe.server_finished_message)
    reply = probe.send(probe.ccs() + probe.finished_record())
    assert reply.error is None and reply.state is ConnectionState.APP_DATA
    probe.echo()


@pytest.mark.parametrize("via", ["ticket", "session-id"])
def test_tls12_resumption_without_the_sessions_suite(via: str) -> None:
    """BoGo Resume-Server-UnofferedCipher (TLS 1.2; a session of a ChaCha20-Poly1305 suite, the
    resuming ClientHello offers only an AES-GCM one; BoGo's Go client resumes with a ticket):
    the server declines and does a full handshake. (BoGo uses ECDHE_RSA suites, here ECDHE_ECDSA
    ones for our ECDSA certificate.)

    RFC 5246 §7.4.1.2: when resuming, cipher_suites "MUST include at least the cipher_suite from
    that session"; §7.4.1.3: "If a session is resumed, it must be resumed using the same cipher
    suite it was originally negotiated with" -- so it cannot be resumed. With a ticket (what
    BoGo sends) the ticket may just be stale, and RFC 5077 §3.1: "If the server cannot or does
    not want to honor the ticket, then it can initiate a full handshake with the client": we
    do. With a session ID the client broke the MUST above: we abort with
    illegal_parameter (RFC 5246 §7.2.2: a field "inconsistent with other fields"), which the RFC
    allows as well; BoGo's expectation (decline) applies to its ticket case."""
    sealer_ = AeadTicketSealer()
    config = tls12_probe.server_config(ticket_sealer=sealer_)
    first = tls12_probe.Probe(config)
    ticket_offer = [(SESSION_TICKET_EXT, b"")] if via == "ticket" else []
    first.full_handshake(
        tls12_probe.client_hello(
            (ECDSA_CHACHA,), [*tls12_probe.default_extensions(), *ticket_offer]
        )
    )
    assert first.server_hello is not None
    probe = tls12_probe.Probe(config)
    if via == "ticket":
        (message,) = [m for m in first.transcript if m[0] == HT.NEW_SESSION_TICKET]
        ticket = message[4 + 4 + 2 :]
        assert open_tls12_ticket(sealer_, ticket) is not None
        hello = tls12_probe.client_hello(
            (ECDSA_GCM,),
            [*tls12_probe.default_extensions(), (SESSION_TICKET_EXT, ticket)],
            session_id=os.urandom(32),
        )
        reply = probe.hello(hello)
        assert reply.error is None
        assert reply.handshake_types[-1] == HT.SERVER_HELLO_DONE  # a full handshake
        assert probe.server_hello is not None and probe.server_hello.cipher_suite == ECDSA_GCM
        reply = probe.finish()
        assert reply.error is None and reply.state is ConnectionState.APP_DATA
        return
    session_id = first.server_hello.legacy_session_id_echo
    hello = tls12_probe.client_hello((ECDSA_GCM,), session_id=session_id)
    tls12_probe.refused(probe.hello(hello), AD.ILLEGAL_PARAMETER)


# == sessions, client side (tls13_tests.go, basic_tests.go) =====================================


def test_tls12_only_client_sends_no_compatibility_session_id() -> None:
    """BoGo TLS12NoSessionID-TLS13 (ExpectNoSessionID with the shim's maximum at TLS 1.2): the
    ClientHello's session ID is empty.

    RFC 5246 §7.4.1.2 session_id: "This field is empty if no session_id is available, or if the
    client wishes to generate new security parameters."; the fake 32-byte ID is TLS 1.3's
    middlebox compatibility mode (RFC 8446 Appendix D.4), which needs TLS 1.3."""
    config = client12_config()
    assert config.middlebox_compatibility  # on, but TLS 1.3 is not offered
    hello = first_client_hello(ClientConnection(config, "localhost"))
    assert hello.legacy_session_id == b""


def test_tls13_client_sends_a_compatibility_session_id_also_when_resuming() -> None:
    """BoGo TLS13SessionID-TLS13 (ExpectClientHelloSessionID, also on the resumption
    connection): a 32-byte session ID in both ClientHellos.

    RFC 8446 §4.1.2: "In compatibility mode (see Appendix D.4), this field MUST be non-empty, so
    a client not offering a pre-TLS 1.3 session MUST generate a new 32-byte value." A TLS 1.3
    ticket is not a pre-TLS 1.3 session: the resuming hello gets a fresh value too."""
    store = InMemoryClientSessionStore()
    config = client_config(session_store=store)
    issuer = server_config(session_tickets=1, ticket_sealer=AeadTicketSealer())
    client = ClientConnection(config, "localhost")
    server = ServerConnection(issuer)
    first_id = send_first_hello(client, server)
    pump(client, server)
    assert len(store) == 1
    resuming = ClientConnection(config, "localhost")
    hello = first_client_hello(resuming)
    assert hello.get(PreSharedKeyClientHello) is not None
    assert len(first_id) == 32 and len(hello.legacy_session_id) == 32
    assert hello.legacy_session_id != first_id


def test_tls12_server_without_a_session_id_leaves_nothing_to_resume() -> None:
    """BoGo EmptySessionID (TLS 1.2, no tickets, the Go server's session ID is empty;
    -expect-no-session).

    RFC 5246 §7.4.1.3: "The server may return an empty session_id to indicate that the session
    will not be cached and therefore cannot be resumed." So the client keeps no session (with a
    session ID it does: the control below)."""
    for session_ids, kept in ((False, 0), (True, 1)):
        store = InMemoryClientSessionStore()
        client = ClientConnection(client12_config(session_store=store), "localhost")
        server = ServerConnection(
            server_config(groups=(SECP256R1,), max_version=TLS12, session_ids=session_ids)
        )
        events, _ = pump(client, server)
        assert client.state is ConnectionState.APP_DATA
        assert len(store) == kept
        assert sum(isinstance(e, SessionTicketReceived) for e in events) == kept


def test_tls13_capable_client_resumes_a_tls12_session_by_id() -> None:
    """BoGo ResumeTLS12SessionID-TLS13 (a TLS 1.3-capable client, a TLS 1.2 server without
    tickets): the session is resumed by its ID.

    RFC 8446 §4.1.2 legacy_session_id: "A client which has a cached session ID set by a
    pre-TLS 1.3 server SHOULD set this field to that value."; RFC 5246 §7.4.1.3: the server
    answering with "the same value" resumes."""
    store = InMemoryClientSessionStore()
    config = client_config(session_store=store, groups=(SECP256R1,))
    issuer = server_config(groups=(SECP256R1,), max_version=TLS12)
    events, _ = pump(ClientConnection(config, "localhost"), ServerConnection(issuer))
    (session,) = [e.session for e in events if isinstance(e, SessionTicketReceived)]
    assert len(session.session_id) == 32
    client = ClientConnection(config, "localhost")
    server = ServerConnection(issuer)
    assert send_first_hello(client, server) == session.session_id
    events, _ = pump(client, server)
    (done,) = [e for e in events if isinstance(e, HandshakeComplete)]
    assert done.resumed and done.version == "TLSv1.2"


def test_tls12_session_offered_to_a_tls13_server_gets_a_full_handshake() -> None:
    """BoGo TLS12SessionID-TLS13 (the session came from a TLS 1.2 server; the next server speaks
    TLS 1.3 and echoes the session ID): a full TLS 1.3 handshake.

    RFC 8446 §4.1.3 legacy_session_id_echo: "The contents of the client's legacy_session_id
    field." -- in TLS 1.3 an echo means nothing about resumption (only a PSK resumes, §2.2), so
    the client must not take it for one."""
    store = InMemoryClientSessionStore()
    config = client_config(session_store=store, groups=(SECP256R1,))
    issuer = server_config(groups=(SECP256R1,), max_version=TLS12)
    events, _ = pump(ClientConnection(config, "localhost"), ServerConnection(issuer))
    (session,) = [e.session for e in events if isinstance(e, SessionTicketReceived)]
    client = ClientConnection(config, "localhost")
    server = ServerConnection(server_config(groups=(SECP256R1,)))
    assert send_first_hello(client, server) == session.session_id
    reply = server.data_to_send()
    server_hello = decode_handshake(records(reply)[0][1])
    assert isinstance(server_hello, ServerHello)
    assert server_hello.legacy_session_id_echo == session.session_id
    events = client.receive_data(reply)
    more, _ = pump(client, server)
    (done,) = [e for e in [*events, *more] if isinstance(e, HandshakeComplete)]
    assert not done.resumed and done.version == "TLSv1.3"
