"""BoGo (BoringSSL ssl/test/runner) conformance, ninth round, all on our CLIENT (BoGo
``clientTest``: the shim is the client, the Go runner a misbehaving server): the
``WrongMessageType-*`` matrix of the server's messages in both versions; HelloRetryRequest
checks (a group already shared, unknown or not offered, a ServerHello share of another group,
cookie and group together, a compression method); ServerHello fields (unknown or unoffered
suite, compression); record-layer faults seen by a client (application data before the
handshake, an unknown record type, a damaged record, over-long plaintext and ciphertext, a
TLS 1.3 warning alert); the server's Certificate and signatures (empty certificate list,
unauthenticated ECDH, the ``Client-Verify-*`` / ``Client-InvalidSignature-*`` matrix, the
``BadECDSA-*`` out-of-range ECDSA values, schemes we did not offer); CertificateRequest
contents (empty signature algorithm lists, trailing bytes in certificate_authorities, the scheme
we sign with); and extensions (unknown ones, session_ticket in a TLS 1.3 ServerHello, an
omitted or empty TLS 1.2 extension block, a server_name acknowledgement on resumption).

The techniques are those of the earlier rounds (``test_bogo_client*.py``,
``test_bogo_round3.py`` .. ``test_bogo_round7.py``): the BoGo ``clientTest`` is replayed against
our own ServerConnection, whose output is edited where the Go server misbehaves
(tests/server_flight.py: :class:`Flight13` for TLS 1.3, :class:`Handshake12` for TLS 1.2).

Only BoGo tests no earlier module cites are here. Each test names its BoGo test(s), says what
BoGo expects and quotes the RFC sentence that decides; where BoGo and the RFC differ, the RFC
is asserted and the docstring says so. BoGo often checks only its own error string
(``:WRONG_CURVE:``, ``:WRONG_SIGNATURE_TYPE:``, ``:BAD_SIGNATURE:``); the tests assert the alert
the RFC names.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding

from memory_pair import pump
from server_flight import (
    TLS12_FIRST_FLIGHT,
    Established,
    Flight13,
    Handshake12,
    client_config,
    frame,
    hello_record,
    opened,
    raw_sealed,
    rejects,
    retry_flight,
    rsa_cert,
    server_config,
    with_extensions,
)
from tls_fixtures import Clock, client_cert, server_cert
from tlsmachine import (
    AeadTicketSealer,
    AlertReceived,
    ApplicationData,
    CertifiedKey,
    ClientConfig,
    ClientConnection,
    ConnectionState,
    HandshakeComplete,
    InMemoryClientSessionStore,
    ServerConfig,
    ServerConnection,
    UsageError,
)
from tlsmachine.crypto.groups import SECP256R1, SECP384R1, SECP521R1, X25519
from tlsmachine.crypto.signatures import sign
from tlsmachine.crypto.suites import (
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
)
from tlsmachine.enums import (
    AlertDescription,
    ContentType,
    HandshakeType,
    ProtocolVersion,
    SignatureScheme,
)
from tlsmachine.extensions import (
    CertificateAuthorities,
    Cookie,
    KeyShareHelloRetryRequest,
    KeyShareServerHello,
    ServerName,
    SignatureAlgorithms,
    UnknownExtension,
    encode_extensions,
)
from tlsmachine.extensions.hello import KeyShareEntry
from tlsmachine.handshake12 import server_key_exchange_input
from tlsmachine.messages import decode_handshake, encode_handshake
from tlsmachine.messages.hello import ClientHello, ServerHello
from tlsmachine.messages.tls12 import CertificateRequest12, ServerKeyExchange
from tlsmachine.messages.tls13 import CertificateRequest
from tlsmachine.prf import verify_data
from wire import APPLICATION_DATA, CCS, HANDSHAKE, messages, plaintext_messages, record, records

AD = AlertDescription
HT = HandshakeType
S = SignatureScheme
TLS12 = ProtocolVersion.TLS12

BOGUS_CIPHER = 0x1234
BOGUS_CURVE = 0x1234
"""The unassigned code points BoGo's runner uses for "a suite / a curve nobody implements"."""
RSA_PKCS1_MD5 = 0x0101
"""rsa_pkcs1_md5 (RFC 5246 §7.4.1.4.1 hash md5(1), signature rsa(1)): never offered by us."""
SIGNATURE_ALGORITHMS = 13
SESSION_TICKET = 35
CERTIFICATE_AUTHORITIES = 47


# == helpers ======================================================================================


def wrong_type(message: bytes) -> bytes:
    """``message`` with 42 added to its type, body and length kept: what BoGo's
    ``SendWrongMessageType`` bug sends (2 -> 44, 8 -> 50, 11 -> 53, ..., 20 -> 62, all
    unassigned HandshakeType values)."""
    return bytes(((message[0] + 42) % 256,)) + message[1:]


def client12(**kwargs: Any) -> ClientConfig:
    """A TLS 1.2-only client offering P-256, certificate checks off."""
    settings: dict[str, Any] = {
        "verify_certificates": False,
        "max_version": TLS12,
        "groups": (SECP256R1,),
    }
    settings.update(kwargs)
    return ClientConfig(**settings)


def server12(**kwargs: Any) -> ServerConfig:
    return server_config(**{"groups": (SECP256R1,), **kwargs})


def rsa_client() -> CertifiedKey:
    return client_cert("rsa-2048")


def auth_settings(client: CertifiedKey) -> dict[str, Any]:
    """Server settings that require ``client``'s certificate (trusted directly)."""
    return {"client_auth": "required", "client_cadata": client.leaf.public_bytes(Encoding.PEM)}


def completed(events: list[Any]) -> HandshakeComplete:
    done = [e for e in events if isinstance(e, HandshakeComplete)]
    assert len(done) == 1, events
    return done[0]


def new_session_ticket_flight(kind: str) -> tuple[Handshake12, bytes]:
    """A TLS 1.2 handshake with a session ticket, up to the server's last flight
    (NewSessionTicket, ChangeCipherSpec, Finished)."""
    clock = Clock()
    config = client12(session_store=InMemoryClientSessionStore(), clock=clock)
    server = server12(session_tickets=1, clock=clock, ticket_sealer=AeadTicketSealer())
    hs = Handshake12.start(config, server)
    last = hs.finish()
    assert any(t == HANDSHAKE and b[0] == HT.NEW_SESSION_TICKET for t, b in records(last)), kind
    return hs, last


# == WrongMessageType: a server message of an unknown type ========================================

TLS13_WRONG_TYPE = [
    pytest.param(HT.ENCRYPTED_EXTENSIONS, False, id="WrongMessageType-TLS13-EncryptedExtensions"),
    pytest.param(HT.CERTIFICATE_REQUEST, True, id="WrongMessageType-TLS13-CertificateRequest"),
    pytest.param(HT.CERTIFICATE, False, id="WrongMessageType-TLS13-ServerCertificate"),
    pytest.param(HT.CERTIFICATE_VERIFY, False, id="WrongMessageType-TLS13-ServerCertificateVerify"),
    pytest.param(HT.FINISHED, False, id="WrongMessageType-TLS13-ServerFinished"),
]


@pytest.mark.parametrize(("msg_type", "auth"), TLS13_WRONG_TYPE)
def test_tls13_client_refuses_an_encrypted_server_message_of_an_unknown_type(
    msg_type: HandshakeType, auth: bool
) -> None:
    """BoGo WrongMessageType-TLS13-EncryptedExtensions-TLS,
    WrongMessageType-TLS13-CertificateRequest-TLS, WrongMessageType-TLS13-ServerCertificate-TLS,
    WrongMessageType-TLS13-ServerCertificateVerify-TLS, WrongMessageType-TLS13-ServerFinished-TLS
    (``SendWrongMessageType``: the message's type byte plus 42, an unassigned type):
    ":UNEXPECTED_MESSAGE:" and "remote error: unexpected message". RFC 8446 §4: "A peer which
    receives a handshake message in an unexpected order MUST abort the handshake with an
    "unexpected_message" alert" -- a type that has no place in the handshake at all is never in
    the expected order."""
    server = server_config(**auth_settings(client_cert())) if auth else None
    flight = Flight13.start(server=server)
    bad = wrong_type(flight.flight[flight.find(msg_type)])
    data = flight.replaced_sealed(msg_type, bad)
    rejects(flight.client, data, AD.UNEXPECTED_MESSAGE, sends_alert=True)


def test_tls13_client_refuses_a_server_hello_of_an_unknown_type() -> None:
    """BoGo WrongMessageType-TLS13-ServerHello-TLS: ":UNEXPECTED_MESSAGE:" (BoGo leaves the
    local error unchecked: the alert goes out in plaintext while the Go server already
    encrypts). RFC 8446 §4: a handshake message "in an unexpected order MUST abort the
    handshake with an "unexpected_message" alert"; no keys exist yet, so the alert is sent in
    the clear."""
    flight = Flight13.start()
    hello = records(flight.plain[0])[0][1]
    data = record(HANDSHAKE, wrong_type(hello)) + b"".join(flight.plain[1:])
    rejects(flight.client, data, AD.UNEXPECTED_MESSAGE, plaintext=True)


TLS12_WRONG_TYPE = [
    pytest.param(msg_type, auth, id=f"WrongMessageType-{name}")
    for msg_type, auth, name in TLS12_FIRST_FLIGHT
]


@pytest.mark.parametrize(("msg_type", "auth"), TLS12_WRONG_TYPE)
def test_tls12_client_refuses_a_first_flight_message_of_an_unknown_type(
    msg_type: HandshakeType, auth: bool
) -> None:
    """BoGo WrongMessageType-ServerHello-TLS, WrongMessageType-ServerCertificate-TLS,
    WrongMessageType-ServerKeyExchange-TLS, WrongMessageType-CertificateRequest-TLS,
    WrongMessageType-ServerHelloDone-TLS: ":UNEXPECTED_MESSAGE:" and "remote error: unexpected
    message". RFC 5246 §7.4: the messages "are presented below in the order they MUST be sent;
    sending handshake messages in an unexpected order results in a fatal error"; §7.2.2
    unexpected_message: "An inappropriate message was received". Sent in the clear: no keys
    yet."""
    server = server12(**auth_settings(client_cert())) if auth else server12()
    hs = Handshake12.start(client12(), server)
    bad = hs.replaced(msg_type, wrong_type(hs.message(msg_type)))
    rejects(hs.client, bad, AD.UNEXPECTED_MESSAGE, plaintext=True)


def test_tls12_client_refuses_a_new_session_ticket_of_an_unknown_type() -> None:
    """BoGo WrongMessageType-NewSessionTicket-TLS: ":UNEXPECTED_MESSAGE:" and "remote error:
    unexpected message". RFC 5077 §3.3: the NewSessionTicket "MUST be sent if the server
    included a SessionTicket extension in the ServerHello", "before the ChangeCipherSpec
    message"; a message of an unassigned type in its place is "an inappropriate message"
    (RFC 5246 §7.2.2 unexpected_message; §7.4: "sending handshake messages in an unexpected
    order results in a fatal error"). Our keys are in place, so the alert is protected."""
    hs, last = new_session_ticket_flight("WrongMessageType-NewSessionTicket")
    out = b""
    for content_type, body in records(last):
        if content_type == HANDSHAKE and body[0] == HT.NEW_SESSION_TICKET:
            body = wrong_type(body)
        out += record(content_type, body)
    rejects(hs.client, out, AD.UNEXPECTED_MESSAGE, sends_alert=True)


def test_tls12_client_refuses_a_server_finished_of_an_unknown_type() -> None:
    """BoGo WrongMessageType-ServerFinished-TLS: ":UNEXPECTED_MESSAGE:" and "remote error:
    unexpected message". RFC 5246 §7.4.9: "A Finished message is always sent immediately after
    a change cipher spec message"; another message there is "an inappropriate message"
    (§7.2.2 unexpected_message)."""
    hs = Handshake12.start(client12(), server12())
    hs.finish()
    data = record(CCS, b"\x01") + hs.server_record(
        0, HANDSHAKE, wrong_type(hs.server_finished_message())
    )
    rejects(hs.client, data, AD.UNEXPECTED_MESSAGE, sends_alert=True)


# == HelloRetryRequest ============================================================================


def first_hello_retry(
    client: ClientConfig, server: ServerConfig
) -> tuple[ClientConnection, ServerConnection, ServerHello]:
    """``client``'s first ClientHello answered by our server with a HelloRetryRequest."""
    conn = ClientConnection(client, "localhost")
    srv = ServerConnection(server)
    srv.receive_data(conn.data_to_send())
    hrr = decode_handshake(records(srv.data_to_send())[0][1])
    assert isinstance(hrr, ServerHello) and hrr.is_hello_retry_request
    return conn, srv, hrr


def retry_asking_for(group_id: int) -> tuple[ClientConnection, bytes]:
    """A client offering x25519 (with a share) and secp384r1, and our HelloRetryRequest made to
    ask for ``group_id`` instead of secp384r1."""
    config = client_config(groups=(X25519, SECP384R1))
    client, _, hrr = first_hello_retry(config, server_config(groups=(SECP384R1,)))
    ask = KeyShareHelloRetryRequest(group_id)
    return client, hello_record(hrr, extensions=with_extensions(hrr.extensions, ask))


@pytest.mark.parametrize(
    "group_id",
    [
        pytest.param(X25519.id, id="UnnecessaryHelloRetryRequest-TLS13"),
        pytest.param(BOGUS_CURVE, id="UnknownCurve-HelloRetryRequest-TLS13"),
        pytest.param(SECP256R1.id, id="DisabledCurve-HelloRetryRequest-TLS13"),
    ],
)
def test_hello_retry_request_for_a_group_already_shared_or_not_offered(group_id: int) -> None:
    """BoGo UnnecessaryHelloRetryRequest-TLS13 (the HelloRetryRequest asks for x25519, whose
    share the client already sent), UnknownCurve-HelloRetryRequest-TLS13 (an unassigned group),
    DisabledCurve-HelloRetryRequest-TLS13 (P-256, which we implement but did not offer):
    ":WRONG_CURVE:". RFC 8446 §4.2.8: "the client MUST verify that (1) the selected_group field
    corresponds to a group which was provided in the "supported_groups" extension in the
    original ClientHello and (2) the selected_group field does not correspond to a group which
    was provided in the "key_share" extension in the original ClientHello. If either of these
    checks fails, then the client MUST abort the handshake with an "illegal_parameter"
    alert"."""
    client, hrr = retry_asking_for(group_id)
    rejects(client, hrr, AD.ILLEGAL_PARAMETER, plaintext=True)


def test_server_hello_share_for_another_group_than_the_hello_retry_request() -> None:
    """BoGo HelloRetryRequestCurveMismatch-TLS13 (the HelloRetryRequest asks for P-384, the
    ServerHello's key share is P-256, a group the client supports): ":WRONG_CURVE:". RFC 8446
    §4.2.8: "If using (EC)DHE key establishment and a HelloRetryRequest containing a
    "key_share" extension was received by the client, the client MUST verify that the selected
    NamedGroup in the ServerHello is the same as that in the HelloRetryRequest. If this check
    fails, the client MUST abort the handshake with an "illegal_parameter" alert"."""
    flight = retry_flight(groups=(X25519, SECP256R1, SECP384R1))
    share = KeyShareServerHello(KeyShareEntry(SECP256R1.id, SECP256R1.generate().public_bytes))
    data = flight.server_hello_with(share) + b"".join(flight.plain[1:])
    rejects(flight.client, data, AD.ILLEGAL_PARAMETER, plaintext=True)


def test_hello_retry_request_with_a_cookie_and_a_group_completes() -> None:
    """BoGo HelloRetryRequest-Cookie-Curve-TLS13 (the HelloRetryRequest carries both a cookie
    and a key_share asking for P-384): the handshake completes. RFC 8446 §4.1.2: the second
    ClientHello is the first "without modification, except as follows: If a "key_share"
    extension was supplied in the HelloRetryRequest, replacing the list of shares with a list
    containing a single KeyShareEntry from the indicated group [...] Including a "cookie"
    extension if one was provided in the HelloRetryRequest"; §4.2.2: "the client MUST copy the
    contents of the extension received in the HelloRetryRequest into a "cookie" extension in
    the new ClientHello". Our server refuses a second ClientHello without its cookie, so
    completing on P-384 shows both were honoured."""
    config = client_config(groups=(X25519, SECP384R1))
    server = server_config(groups=(SECP384R1,), hello_retry_cookie=lambda h: b"cookie" + h[:8])
    client = ClientConnection(config, "localhost")
    client_events, _ = pump(client, ServerConnection(server))
    done = completed(client_events)
    assert done.hello_retry and done.group == "secp384r1"
    _, _, hrr = first_hello_retry(config, server)
    assert hrr.get(Cookie) is not None and hrr.get(KeyShareHelloRetryRequest) is not None


def test_hello_retry_request_with_a_compression_method_is_illegal_parameter() -> None:
    """BoGo TLS13-HRR-InvalidCompressionMethod (``SendCompressionMethod: 1`` in the
    HelloRetryRequest): ":DECODE_ERROR:" and "remote error: error decoding message". RFC 8446
    §4.1.4: "the client MUST check the legacy_version, legacy_session_id_echo, cipher_suite, and
    legacy_compression_method as specified in Section 4.1.3"; §4.1.3 legacy_compression_method:
    "A single byte which MUST have the value 0". The RFC names no alert for this, so our
    illegal_parameter is asserted: §6.2 defines it as "A field in the handshake was incorrect
    or inconsistent with other fields", which fits a well-formed byte of a forbidden value at
    least as well as BoringSSL's decode_error ("a message could not be decoded")."""
    config = client_config(groups=(X25519, SECP384R1))
    client, _, hrr = first_hello_retry(config, server_config(groups=(SECP384R1,)))
    bad = hello_record(hrr, legacy_compression_method=1)
    rejects(client, bad, AD.ILLEGAL_PARAMETER, plaintext=True)


# == ServerHello ==================================================================================


def test_tls13_server_hello_with_an_unknown_cipher_suite_is_illegal_parameter() -> None:
    """BoGo ServerHelloBogusCipher-TLS13 (``SendCipherSuite: bogusCipher``, 0x1234):
    ":WRONG_CIPHER_RETURNED:". RFC 8446 §4.1.3 cipher_suite: "A client which receives a cipher
    suite that was not offered MUST abort the handshake with an "illegal_parameter" alert"."""
    flight = Flight13.start()
    data = flight.server_hello_with(cipher_suite=BOGUS_CIPHER) + b"".join(flight.plain[1:])
    rejects(flight.client, data, AD.ILLEGAL_PARAMETER, plaintext=True)


def test_tls13_server_hello_with_a_compression_method_is_illegal_parameter() -> None:
    """BoGo TLS13-InvalidCompressionMethod (``SendCompressionMethod: 1``): ":DECODE_ERROR:".
    RFC 8446 §4.1.3 legacy_compression_method: "A single byte which MUST have the value 0". The
    RFC names no alert for this, so our illegal_parameter is asserted (§6.2: "A field in the
    handshake was incorrect or inconsistent with other fields"); BoringSSL's decode_error is
    its own choice."""
    flight = Flight13.start()
    data = flight.server_hello_with(legacy_compression_method=1) + b"".join(flight.plain[1:])
    rejects(flight.client, data, AD.ILLEGAL_PARAMETER, plaintext=True)


@pytest.mark.parametrize(
    "suite",
    [
        pytest.param(BOGUS_CIPHER, id="ServerHelloBogusCipher"),
        pytest.param(TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256.id, id="UnsupportedCipherSuite"),
    ],
)
def test_tls12_server_hello_with_a_suite_not_offered_is_illegal_parameter(suite: int) -> None:
    """BoGo ServerHelloBogusCipher (TLS 1.2, an unassigned suite: ":UNKNOWN_CIPHER_RETURNED:"
    or, in later versions, ":WRONG_CIPHER_RETURNED:") and UnsupportedCipherSuite (a real suite
    the client did not offer: ":WRONG_CIPHER_RETURNED:"). RFC 5246 §7.4.1.3 cipher_suite: "The
    single cipher suite selected by the server from the list in ClientHello.cipher_suites"; the
    RFC names no alert, §7.2.2 illegal_parameter is "A field in the handshake was out of range
    or inconsistent with other fields" (and RFC 8446 §4.1.3 names illegal_parameter for the same
    fault)."""
    only = (TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,)
    hs = Handshake12.start(client12(tls12_cipher_suites=only), server12())
    assert suite not in hs.client_hello.cipher_suites
    rejects(hs.client, hs.hello_with(cipher_suite=suite), AD.ILLEGAL_PARAMETER, plaintext=True)


def test_tls12_server_hello_with_a_compression_method_not_offered_is_illegal_parameter() -> None:
    """BoGo InvalidCompressionMethod (TLS 1.2, ``SendCompressionMethod: 1``):
    ":UNSUPPORTED_COMPRESSION_ALGORITHM:" and "remote error: illegal parameter". RFC 5246
    §7.4.1.3 compression_method: "The single compression algorithm selected by the server from
    the list in ClientHello.compression_methods" -- we offer only null(0); §7.2.2
    illegal_parameter: "A field in the handshake was out of range or inconsistent with other
    fields"."""
    hs = Handshake12.start(client12(), server12())
    assert hs.client_hello.legacy_compression_methods == b"\x00"
    bad = hs.hello_with(legacy_compression_method=1)
    rejects(hs.client, bad, AD.ILLEGAL_PARAMETER, plaintext=True)


# == records and alerts ===========================================================================


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b"TEST MESSAGE", id="AppDataBeforeHandshake"),
        pytest.param(b"", id="AppDataBeforeHandshake-Empty"),
    ],
)
def test_application_data_before_the_server_hello_is_unexpected_message(payload: bytes) -> None:
    """BoGo AppDataBeforeHandshake, AppDataBeforeHandshake-Empty (the Go server writes an
    application_data record, with or without content, before its ServerHello):
    ":UNEXPECTED_RECORD:". RFC 8446 §5: "If a TLS implementation receives an unexpected record
    type, it MUST terminate the connection with an "unexpected_message" alert"; §2: "Application
    Data MUST NOT be sent prior to sending the Finished message", and §5.1 "Application Data
    messages are always protected" -- there are no keys yet. The alert is in the clear."""
    flight = Flight13.start()
    data = record(APPLICATION_DATA, payload) + flight.sealed(flight.flight)
    rejects(flight.client, data, AD.UNEXPECTED_MESSAGE, plaintext=True)


@pytest.mark.parametrize("version", ["TLS12", "TLS13"])
def test_record_of_an_unknown_content_type_after_the_handshake(version: str) -> None:
    """BoGo SendInvalidRecordType (after its handshake the Go server writes a record of type 42,
    "invalid record"; in TLS 1.3 the type is the protected inner one): ":UNEXPECTED_RECORD:".
    RFC 8446 §5: "Implementations MUST NOT send record types not defined in this document unless
    negotiated by some extension. If a TLS implementation receives an unexpected record type,
    it MUST terminate the connection with an "unexpected_message" alert"; RFC 5246 §6: "If a
    TLS implementation receives an unexpected record type, it MUST send an unexpected_message
    alert"."""
    if version == "TLS13":
        conn = Established.start()
        data = raw_sealed(conn.secrets["SERVER_TRAFFIC_SECRET_0"], 0, b"invalid record\x2a")
        rejects(conn.client, data, AD.UNEXPECTED_MESSAGE, sends_alert=True)
    else:
        hs = Handshake12.start(client12(), server12()).established()
        data = hs.server_record(1, 42, b"invalid record")
        rejects(hs.client, data, AD.UNEXPECTED_MESSAGE, sends_alert=True)


@pytest.mark.parametrize("version", ["TLS12", "TLS13"])
def test_damaged_record_after_the_handshake_is_bad_record_mac(version: str) -> None:
    """BoGo TLSFatalBadPackets (``damageFirstWrite``: the runner's first application record is
    corrupted in transit): ":DECRYPTION_FAILED_OR_BAD_RECORD_MAC:". RFC 8446 §5.2: "If the
    decryption fails, the receiver MUST terminate the connection with a "bad_record_mac"
    alert"; RFC 5246 §6.2.3.3: "If the decryption fails, a fatal bad_record_mac alert MUST be
    generated". The undamaged record is read first, to show the keys are right."""
    if version == "TLS13":
        conn = Established.start()
        good = conn.seal(b"hello", ContentType.APPLICATION_DATA)
        damaged = conn.seal(b"hello", ContentType.APPLICATION_DATA)
        client = conn.client
    else:
        hs = Handshake12.start(client12(), server12()).established()
        good = hs.server_record(1, APPLICATION_DATA, b"hello")
        damaged = hs.server_record(2, APPLICATION_DATA, b"hello")
        client = hs.client
    events = client.receive_data(good)
    assert b"".join(e.data for e in events if isinstance(e, ApplicationData)) == b"hello"
    damaged = damaged[:-1] + bytes((damaged[-1] ^ 1,))
    rejects(client, damaged, AD.BAD_RECORD_MAC, sends_alert=True)


@pytest.mark.parametrize("version", ["TLS12", "TLS13"])
def test_server_finished_with_a_wrong_mac_is_decrypt_error(version: str) -> None:
    """BoGo BadFinished-Client, BadFinished-Client-TLS13 (``BadFinished``: the server's
    verify_data is wrong): ":DIGEST_CHECK_FAILED:". RFC 8446 §4.4.4: "Recipients of Finished
    messages MUST verify that the contents are correct and if incorrect MUST terminate the
    connection with a "decrypt_error" alert"; RFC 5246 §7.4.9: "Recipients of Finished messages
    MUST verify that the contents are correct", §7.2.2 decrypt_error: "A handshake
    cryptographic operation failed, including being unable to correctly verify a signature or
    validate a Finished message"."""
    if version == "TLS13":
        flight = Flight13.start()
        finished = flight.flight[flight.find(HT.FINISHED)]
        bad = finished[:-1] + bytes((finished[-1] ^ 1,))
        rejects(
            flight.client,
            flight.replaced_sealed(HT.FINISHED, bad),
            AD.DECRYPT_ERROR,
            sends_alert=True,
        )
    else:
        hs = Handshake12.start(client12(), server12())
        hs.finish()
        good = hs.server_finished_message()[4:]
        bad = good[:-1] + bytes((good[-1] ^ 1,))
        rejects(hs.client, hs.server_finished(bad), AD.DECRYPT_ERROR, sends_alert=True)


def test_tls13_warning_alert_is_an_error_alert() -> None:
    """BoGo SendWarningAlerts-TLS13 (the Go server sends unexpected_message at warning level
    after the handshake): BoGo wants ":BAD_ALERT:" and the shim to answer "remote error: error
    decoding message". RFC 8446 §6.2: "All the alerts listed in Section 6.2 MUST be sent with
    AlertLevel=fatal and MUST be treated as error alerts when received regardless of the
    AlertLevel in the message"; §6: "Upon receiving an error alert, the TLS implementation
    SHOULD indicate an error to the application and MUST NOT allow any further data to be sent
    or received on the connection". The RFC requires no answer to an error alert (BoringSSL's
    decode_error reply is its own choice), so what the RFC requires is asserted: the connection
    ends on the peer's alert (reported with its description), nothing is sent back, and
    sending is refused afterwards."""
    conn = Established.start()
    warning = conn.seal(bytes((1, AD.UNEXPECTED_MESSAGE)), ContentType.ALERT)
    with pytest.raises(AlertReceived) as info:
        conn.client.receive_data(warning)
    assert info.value.description == AD.UNEXPECTED_MESSAGE
    assert conn.client.state is ConnectionState.FAILED
    assert conn.client.data_to_send() == b""
    with pytest.raises(UsageError):
        conn.client.send(b"more")


@pytest.mark.parametrize(
    ("version", "content"),
    [
        pytest.param("TLS13", 2**14 + 1, id="LargePlaintext"),
        pytest.param("TLS13", 2**15, id="LargeCiphertext"),
        pytest.param("TLS12", 2**15, id="LargeCiphertext-TLS12"),
    ],
)
def test_oversized_records_are_record_overflow(version: str, content: int) -> None:
    """BoGo LargePlaintext (``SendLargeRecords``, a TLS 1.3 record of 2^14 + 1 bytes of
    application data: ":DATA_LENGTH_TOO_LONG:", "remote error: record overflow") and
    LargeCiphertext (2^15 bytes: ":ENCRYPTED_LENGTH_TOO_LONG:"), the latter in both versions.
    RFC 8446 §5.1 TLSPlaintext length: "The length MUST NOT exceed 2^14 bytes. An endpoint that
    receives a record that exceeds this length MUST terminate the connection with a
    "record_overflow" alert" (§6.2 record_overflow: also "a record decrypted to a TLSPlaintext
    record with more than 2^14 bytes"); §5.2: TLSCiphertext "length MUST NOT exceed 2^14 + 256
    bytes. An endpoint that receives a record that exceeds this length MUST terminate the
    connection with a "record_overflow" alert". RFC 5246 §6.2.3: TLSCiphertext "length MUST NOT
    exceed 2^14 + 2048"; §7.2.2 record_overflow: "A TLSCiphertext record was received that had
    a length more than 2^14+2048 bytes". A record of exactly 2^14 bytes is read first."""
    if version == "TLS13":
        conn = Established.start()
        secret = conn.secrets["SERVER_TRAFFIC_SECRET_0"]
        client = conn.client
        fits = raw_sealed(secret, 0, bytes(2**14) + b"\x17")
        over = raw_sealed(secret, 1, bytes(content) + b"\x17")
    else:
        hs = Handshake12.start(client12(), server12()).established()
        client = hs.client
        fits = hs.server_record(1, APPLICATION_DATA, bytes(2**14))
        over = hs.server_record(2, APPLICATION_DATA, bytes(content))
    events = client.receive_data(fits)
    assert sum(len(e.data) for e in events if isinstance(e, ApplicationData)) == 2**14
    rejects(client, over, AD.RECORD_OVERFLOW, sends_alert=True)


# == the server's Certificate =====================================================================


def test_tls13_empty_server_certificate_is_decode_error() -> None:
    """BoGo EmptyCertificateList-TLS13 (``EmptyCertificateList``: a Certificate message with
    no entries): ":PEER_DID_NOT_RETURN_A_CERTIFICATE:". RFC 8446 §4.4.2.4: "If the server
    supplies an empty Certificate message, the client MUST abort the handshake with a
    "decode_error" alert" -- the RFC names the alert, asserted."""
    flight = Flight13.start()
    cert = flight.decoded(HT.CERTIFICATE)
    empty = dataclasses.replace(cert, certificate_list=(), raw=b"")
    rejects(
        flight.client,
        flight.replaced_sealed(HT.CERTIFICATE, empty),
        AD.DECODE_ERROR,
        sends_alert=True,
    )


def test_tls12_unauthenticated_ecdh_is_unexpected_message() -> None:
    """BoGo UnauthenticatedECDH (TLS 1.2 ECDHE: the Go server skips its Certificate and sends a
    ServerKeyExchange of bare ECDH parameters, without a signature): ":UNEXPECTED_MESSAGE:".
    RFC 5246 §7.4.2: "The server MUST send a Certificate message whenever the agreed-upon key
    exchange method uses certificates for authentication (this includes all key exchange
    methods defined in this document except DH_anon)"; a ServerKeyExchange in its place is a
    message out of order (§7.4, §7.2.2 unexpected_message)."""
    hs = Handshake12.start(client12(), server12())
    ske = ServerKeyExchange(body=hs.message(HT.SERVER_KEY_EXCHANGE)[4:])
    bare = frame(HT.SERVER_KEY_EXCHANGE, ske.ecdhe().params)
    flight = record(HANDSHAKE, hs.message(HT.SERVER_HELLO)) + record(HANDSHAKE, bare)
    flight += record(HANDSHAKE, hs.message(HT.SERVER_HELLO_DONE))
    rejects(hs.client, flight, AD.UNEXPECTED_MESSAGE, plaintext=True)


# == the server's signature =======================================================================

VERIFY_CASES = [
    pytest.param("TLS13", "ecdsa-p384", S.ECDSA_SECP384R1_SHA384, id="ECDSA_P384_SHA384-TLS13"),
    pytest.param("TLS13", "ecdsa-p521", S.ECDSA_SECP521R1_SHA512, id="ECDSA_P521_SHA512-TLS13"),
    pytest.param("TLS13", "rsa-2048", S.RSA_PSS_RSAE_SHA384, id="RSA_PSS_SHA384-TLS13"),
    pytest.param("TLS13", "ed25519", S.ED25519, id="Ed25519-TLS13"),
    pytest.param("TLS12", "rsa-2048", S.RSA_PKCS1_SHA384, id="RSA_PKCS1_SHA384-TLS12"),
    pytest.param("TLS12", "rsa-2048", S.RSA_PSS_RSAE_SHA512, id="RSA_PSS_SHA512-TLS12"),
    pytest.param("TLS12", "ed25519", S.ED25519, id="Ed25519-TLS12"),
]


def flipped(content: bytes) -> bytes:
    """``content`` with its first bit flipped: what BoGo's ``InvalidSignature`` bug signs."""
    return bytes((content[0] ^ 0x80,)) + content[1:]


def tls12_signed_flight(hs: Handshake12, scheme: int, signer: Callable[[bytes], bytes]) -> bytes:
    """``hs``'s first flight with the ServerKeyExchange signature made by ``signer`` over the
    right content (RFC 5246 §7.4.3), labelled ``scheme``."""
    ske = ServerKeyExchange(body=hs.message(HT.SERVER_KEY_EXCHANGE)[4:])
    params = ske.ecdhe().params
    content = server_key_exchange_input(hs.client_hello.random, hs.server_hello.random, params)
    new = ServerKeyExchange.signed(params, scheme, signer(content))
    return hs.replaced(HT.SERVER_KEY_EXCHANGE, encode_handshake(new))


@pytest.mark.parametrize(("version", "key_type", "scheme"), VERIFY_CASES)
def test_client_verifies_each_server_signature_scheme(
    version: str, key_type: str, scheme: int
) -> None:
    """BoGo Client-Verify-<alg>-<version> (a server credential restricted to one scheme; the
    shim lists it with -verify-prefs) and Client-InvalidSignature-<alg>-<version>
    (``InvalidSignature``: the server signs the content with its first bit flipped): the first
    completes with that scheme reported, the second fails with ":BAD_SIGNATURE:". Here the
    client offers only ``scheme``; our server signs with it. RFC 8446 §4.4.3: "The receiver of a
    CertificateVerify message MUST verify the signature field"; "If the verification fails,
    the receiver MUST terminate the handshake with a "decrypt_error" alert". RFC 5246 §7.4.3:
    the ServerKeyExchange signature is over "ClientHello.random + ServerHello.random +
    ServerKeyExchange.params"; §7.2.2 decrypt_error: "A handshake cryptographic operation failed,
    including being unable to correctly verify a signature"."""
    cert = server_cert(key_type)
    groups = (SECP256R1, SECP384R1, SECP521R1)
    if version == "TLS13":
        config = client_config(signature_schemes=(scheme,))
        server = server_config(certificates=(cert,))
    else:
        config = client12(signature_schemes=(scheme,), groups=groups)
        server = server12(certificates=(cert,))
    client = ClientConnection(config, "localhost")
    client_events, _ = pump(client, ServerConnection(server))
    done = completed(client_events)
    assert done.signature_scheme == S(scheme).name.lower()
    assert done.version == ("TLSv1.3" if version == "TLS13" else "TLSv1.2")

    def bad_signer(content: bytes) -> bytes:
        return sign(scheme, cert.private_key, flipped(content), tls13=version == "TLS13")

    if version == "TLS13":
        flight = Flight13.start(config, server)
        data = flight.sealed(flight.resigned(scheme, bad_signer))
        rejects(flight.client, data, AD.DECRYPT_ERROR, sends_alert=True)
    else:
        hs = Handshake12.start(config, server)
        data = tls12_signed_flight(hs, scheme, bad_signer)
        rejects(hs.client, data, AD.DECRYPT_ERROR, plaintext=True)


N_P256 = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
"""The order of the P-256 base point (SEC 2 §2.4.2): BoGo's ``BadValueLimit``."""


def der_integer(value: int) -> bytes:
    """A DER INTEGER (X.690 §8.3: minimal two's complement)."""
    size = (value.bit_length() + 8) // 8 if value >= 0 else ((-value - 1).bit_length() + 8) // 8
    body = value.to_bytes(max(size, 1), "big", signed=True)
    return b"\x02" + der_length(len(body)) + body


def der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def ecdsa_der(r: int, s: int) -> bytes:
    """Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 8446 §4.2.3, RFC 3279)."""
    body = der_integer(r) + der_integer(s)
    return b"\x30" + der_length(len(body)) + body


def corrupted(value: int, kind: int) -> int:
    """BoGo's ``BadValue`` kinds: 1 negative, 2 zero, 3 the group order, 4 the order << 20."""
    return {1: -value, 2: 0, 3: N_P256, 4: N_P256 << 20}[kind]


@pytest.mark.parametrize(
    ("version", "bad_r", "bad_s"),
    [
        pytest.param("TLS12", 1, 2, id="BadECDSA-1-2"),
        pytest.param("TLS13", 3, 4, id="BadECDSA-3-4-TLS13"),
    ],
)
def test_ecdsa_signature_values_out_of_range_are_decrypt_error(
    version: str, bad_r: int, bad_s: int
) -> None:
    """BoGo BadECDSA-<r>-<s>, BadECDSA-<r>-<s>-TLS13 (``BadECDSAR`` / ``BadECDSAS``: r and s of
    the P-256 signature replaced by a negative value, zero, the group order n, or n << 20, then
    DER-encoded): ":BAD_SIGNATURE:". Such values are never a valid signature (FIPS 186-5 §6.4.2:
    the verifier rejects unless 0 < r < n and 0 < s < n). RFC 8446 §4.4.3: "If the verification
    fails, the receiver MUST terminate the handshake with a "decrypt_error" alert"; RFC 5246
    §7.2.2 decrypt_error: "being unable to correctly verify a signature". The DER encoder is
    checked against a genuine signature first."""
    key = server_cert().private_key
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    scheme = S.ECDSA_SECP256R1_SHA256

    def signer(content: bytes) -> bytes:
        genuine = key.sign(content, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(genuine)
        assert ecdsa_der(r, s) == genuine
        return ecdsa_der(corrupted(r, bad_r), corrupted(s, bad_s))

    if version == "TLS13":
        flight = Flight13.start()
        data = flight.sealed(flight.resigned(scheme, signer))
        rejects(flight.client, data, AD.DECRYPT_ERROR, sends_alert=True)
    else:
        hs = Handshake12.start(client12(), server12())
        data = tls12_signed_flight(hs, scheme, signer)
        rejects(hs.client, data, AD.DECRYPT_ERROR, plaintext=True)


def test_tls13_certificate_verify_with_a_scheme_not_offered_is_illegal_parameter() -> None:
    """BoGo ServerAuth-Enforced-TLS13 (an RSA server signing with rsa_pkcs1_md5, ignoring the
    client's preferences and the TLS 1.3 rules): ":WRONG_SIGNATURE_TYPE:". RFC 8446 §4.4.3: "If
    the CertificateVerify message is sent by a server, the signature algorithm MUST be one
    offered in the client's "signature_algorithms" extension"; "RSA signatures MUST use an
    RSASSA-PSS algorithm". The RFC names no alert for it; a field inconsistent with what was
    negotiated is §6.2 illegal_parameter (BoGo's runner, too, expects "illegal parameter" for
    this error in its signature tests)."""
    flight = Flight13.start(server=server_config(certificates=(rsa_cert(),)))
    key = rsa_cert().private_key

    def md5_label(content: bytes) -> bytes:
        return key.sign(content, padding.PKCS1v15(), hashes.SHA256())

    data = flight.sealed(flight.resigned(RSA_PKCS1_MD5, md5_label))
    rejects(flight.client, data, AD.ILLEGAL_PARAMETER, sends_alert=True)


def test_tls12_server_key_exchange_with_a_scheme_not_offered_is_illegal_parameter() -> None:
    """BoGo ServerAuth-Enforced (TLS 1.2, ECDHE_RSA; the server signs its ServerKeyExchange
    with rsa_pkcs1_md5, ignoring the client's signature_algorithms): ":WRONG_SIGNATURE_TYPE:".
    RFC 5246 §7.4.3: "If the client has offered the "signature_algorithms" extension, the
    signature algorithm and hash algorithm MUST be a pair listed in that extension"; §7.2.2
    illegal_parameter: "A field in the handshake was out of range or inconsistent with other
    fields"."""
    hs = Handshake12.start(client12(), server12(certificates=(rsa_cert(),)))
    offered = hs.client_hello.get(SignatureAlgorithms)
    assert offered is not None and RSA_PKCS1_MD5 not in offered.schemes
    key = rsa_cert().private_key

    def md5_label(content: bytes) -> bytes:
        return key.sign(content, padding.PKCS1v15(), hashes.SHA256())

    data = tls12_signed_flight(hs, RSA_PKCS1_MD5, md5_label)
    rejects(hs.client, data, AD.ILLEGAL_PARAMETER, plaintext=True)


def test_certificate_verify_outside_the_configured_schemes_is_illegal_parameter() -> None:
    """BoGo VerifyPreferences-Enforced (the shim's -verify-prefs allow only rsa_pss_rsae_sha384;
    the server, ignoring them, signs with rsa_pss_rsae_sha256, which the client implements):
    ":WRONG_SIGNATURE_TYPE:" and "remote error: illegal parameter". RFC 8446 §4.4.3: "If the
    CertificateVerify message is sent by a server, the signature algorithm MUST be one offered
    in the client's "signature_algorithms" extension"; §6.2 illegal_parameter."""
    config = client_config(signature_schemes=(S.RSA_PSS_RSAE_SHA384,))
    flight = Flight13.start(config, server_config(certificates=(rsa_cert(),)))
    assert flight.decoded(HT.CERTIFICATE_VERIFY).algorithm == S.RSA_PSS_RSAE_SHA384
    key = rsa_cert().private_key

    def pss256(content: bytes) -> bytes:
        return sign(S.RSA_PSS_RSAE_SHA256, key, content)

    data = flight.sealed(flight.resigned(S.RSA_PSS_RSAE_SHA256, pss256))
    rejects(flight.client, data, AD.ILLEGAL_PARAMETER, sends_alert=True)


# == CertificateRequest ===========================================================================


def test_tls13_certificate_request_with_an_empty_scheme_list_is_decode_error() -> None:
    """BoGo ClientAuth-NoFallback-TLS13 (``NoSignatureAlgorithms``: the CertificateRequest's
    signature_algorithms extension carries an empty list): ":DECODE_ERROR:" and "remote error:
    error decoding message". RFC 8446 §4.2.3: ``SignatureScheme
    supported_signature_algorithms<2..2^16-2>``; §6: "Peers which receive a message which
    cannot be parsed according to the syntax (e.g., have a length extending beyond the message
    boundary or contain an out-of-range length) MUST terminate the connection with a
    "decode_error" alert"."""
    flight = Flight13.start(
        client_config(certificates=(rsa_client(),)),
        server_config(**auth_settings(rsa_client())),
    )
    empty = encode_extensions((UnknownExtension(SIGNATURE_ALGORITHMS, b"\x00\x00"),))
    body = b"\x00" + len(empty).to_bytes(2, "big") + empty
    bad = frame(HT.CERTIFICATE_REQUEST, body)
    rejects(
        flight.client,
        flight.replaced_sealed(HT.CERTIFICATE_REQUEST, bad),
        AD.DECODE_ERROR,
        sends_alert=True,
    )


def test_tls12_certificate_request_with_an_empty_scheme_list_is_decode_error() -> None:
    """BoGo ClientAuth-NoFallback-RSA, ClientAuth-NoFallback-ECDSA (TLS 1.2; the
    CertificateRequest's supported_signature_algorithms is empty, which BoGo notes "may never be
    omitted. It is a syntax error for it to be empty"): ":DECODE_ERROR:" and "remote error:
    error decoding message". RFC 5246 §7.4.4 writes the field
    ``supported_signature_algorithms<2^16-1>`` without a floor; the same list in the
    signature_algorithms extension is ``<2..2^16-2>`` (§7.4.1.4.1), which we apply, so an
    empty list is a malformed message: §7.2.2 decode_error, "A message could not be decoded
    because some field was out of the specified range". The RFC leaves the floor unclear;
    decode_error is BoGo's answer and ours."""
    hs = Handshake12.start(
        client12(certificates=(rsa_client(),)), server12(**auth_settings(rsa_client()))
    )
    request = decode_handshake(hs.message(HT.CERTIFICATE_REQUEST), version=TLS12)
    assert isinstance(request, CertificateRequest12)
    types = request.certificate_types
    body = bytes((len(types),)) + types + b"\x00\x00" + b"\x00\x00"
    bad = hs.replaced(HT.CERTIFICATE_REQUEST, frame(HT.CERTIFICATE_REQUEST, body))
    rejects(hs.client, bad, AD.DECODE_ERROR, plaintext=True)


def test_certificate_authorities_with_trailing_data_is_decode_error() -> None:
    """BoGo ExtensionTrailingData-CertificateAuthorities-Client-TLS13
    (``ExtensionsWithTrailingData``: a byte after the authorities list inside the
    CertificateRequest's certificate_authorities extension): ":ERROR_PARSING_EXTENSION:" and
    "remote error: error decoding message". RFC 8446 §4.2.4: the extension_data is
    ``DistinguishedName authorities<3..2^16-1>;`` and nothing else; §6: a message "which cannot
    be parsed according to the syntax" MUST end the connection "with a "decode_error"
    alert"."""
    flight = Flight13.start(
        client_config(certificates=(rsa_client(),)),
        server_config(**auth_settings(rsa_client())),
    )
    request = flight.decoded(HT.CERTIFICATE_REQUEST)
    names = request.get(CertificateAuthorities)
    assert names is not None and names.authorities
    listed = b"".join(len(n).to_bytes(2, "big") + n for n in names.authorities)
    data = len(listed).to_bytes(2, "big") + listed + b"\x00"
    bad = CertificateRequest(
        b"",
        (request.get(SignatureAlgorithms), UnknownExtension(CERTIFICATE_AUTHORITIES, data)),
    )
    rejects(
        flight.client,
        flight.replaced_sealed(HT.CERTIFICATE_REQUEST, bad),
        AD.DECODE_ERROR,
        sends_alert=True,
    )


REQUESTED = (
    S.ECDSA_SECP521R1_SHA512,
    S.RSA_PKCS1_SHA384,
    S.RSA_PSS_RSAE_SHA384,
    S.ECDSA_SHA1,
)
"""BoGo ClientAuth-SignatureType-TLS13's list (TLS 1.2: the same without rsa_pss_rsae_sha384)."""


def test_tls13_client_signs_with_the_pss_scheme_the_server_listed() -> None:
    """BoGo ClientAuth-SignatureType-TLS13 (an RSA client certificate; the CertificateRequest
    lists ecdsa_secp521r1_sha512, rsa_pkcs1_sha384, rsa_pss_rsae_sha384, ecdsa_sha1): the client
    signs with rsa_pss_rsae_sha384. RFC 8446 §4.4.3: "If sent by a client, the signature
    algorithm used in the signature MUST be one of those present in the
    supported_signature_algorithms field of the "signature_algorithms" extension in the
    CertificateRequest message"; "the signature algorithm MUST be compatible with the key in the
    sender's end-entity certificate. RSA signatures MUST use an RSASSA-PSS algorithm"; "The
    SHA-1 algorithm MUST NOT be used in any signatures of CertificateVerify messages". Only
    rsa_pss_rsae_sha384 satisfies all three; the handshake then completes."""
    flight = Flight13.start(
        client_config(certificates=(rsa_client(),)),
        server_config(**auth_settings(rsa_client())),
    )
    request = CertificateRequest(b"", (SignatureAlgorithms(REQUESTED),))
    changed = flight.refinished(flight.replaced(HT.CERTIFICATE_REQUEST, request))
    flight.client.receive_data(flight.sealed(changed))
    assert flight.client.state is ConnectionState.APP_DATA
    answer = opened(flight.secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"], flight.client.data_to_send())
    sent = [m for _, content in answer for m in messages(content)]
    assert [m[0] for m in sent] == [HT.CERTIFICATE, HT.CERTIFICATE_VERIFY, HT.FINISHED]
    assert int.from_bytes(sent[1][4:6], "big") == S.RSA_PSS_RSAE_SHA384


def test_tls12_client_signs_with_the_scheme_the_server_listed_for_its_key() -> None:
    """BoGo ClientAuth-SignatureType (TLS 1.2, an RSA client certificate; the
    CertificateRequest lists ecdsa_secp521r1_sha512, rsa_pkcs1_sha384, ecdsa_sha1): the client
    signs with rsa_pkcs1_sha384. RFC 5246 §7.4.8: "The hash and signature algorithms used in the
    signature MUST be one of those present in the supported_signature_algorithms field of the
    CertificateRequest message. In addition, the hash and signature algorithms MUST be
    compatible with the key in the client's end-entity certificate"; only rsa_pkcs1_sha384 fits
    an RSA key (we never sign with SHA-1)."""
    hs = Handshake12.start(
        client12(certificates=(rsa_client(),)), server12(**auth_settings(rsa_client()))
    )
    request = decode_handshake(hs.message(HT.CERTIFICATE_REQUEST), version=TLS12)
    assert isinstance(request, CertificateRequest12)
    listed = tuple(s for s in REQUESTED if s != S.RSA_PSS_RSAE_SHA384)
    changed = dataclasses.replace(request, supported_signature_algorithms=listed, raw=b"")
    answer = hs.answer(hs.replaced(HT.CERTIFICATE_REQUEST, encode_handshake(changed)))
    sent = plaintext_messages(answer)
    assert [m[0] for m in sent] == [
        HT.CERTIFICATE,
        HT.CLIENT_KEY_EXCHANGE,
        HT.CERTIFICATE_VERIFY,
    ]
    assert sent[0][4:] != b"\x00\x00\x00"  # the certificate was sent
    assert int.from_bytes(sent[2][4:6], "big") == S.RSA_PKCS1_SHA384


# == extensions ===================================================================================


def test_tls12_unknown_extension_in_the_server_hello_is_unsupported_extension() -> None:
    """BoGo UnknownExtension-Client (TLS 1.2, ``CustomExtension``: an extension of a type the
    client never sent): ":UNEXPECTED_EXTENSION:" and "remote error: unsupported extension". RFC
    5246 §7.4.1.4: "If a client receives an extension type in ServerHello that it did not
    request in the associated ClientHello, it MUST abort the handshake with an
    unsupported_extension fatal alert"."""
    hs = Handshake12.start(client12(), server12())
    bad = hs.hello_extensions(lambda exts: exts.append((0x1234, b"custom extension")))
    rejects(hs.client, bad, AD.UNSUPPORTED_EXTENSION, plaintext=True)


def test_tls13_unknown_extension_in_encrypted_extensions_is_unsupported_extension() -> None:
    """BoGo UnknownExtension-Client-TLS13 (the unknown extension in EncryptedExtensions):
    ":UNEXPECTED_EXTENSION:" and "remote error: unsupported extension". RFC 8446 §4.2:
    "Implementations MUST NOT send extension responses if the remote endpoint did not send the
    corresponding extension requests [...] Upon receiving such an extension, an endpoint MUST
    abort the handshake with an "unsupported_extension" alert"."""
    flight = Flight13.start()
    data = flight.with_ee(UnknownExtension(0x1234, b"custom extension"))
    rejects(flight.client, data, AD.UNSUPPORTED_EXTENSION, sends_alert=True)


def test_tls13_session_ticket_extension_in_the_server_hello_is_illegal_parameter() -> None:
    """BoGo Ticket-Forbidden-TLS13 (``AdvertiseTicketExtension``: a TLS 1.3 ServerHello
    carrying the TLS 1.2 session_ticket extension, which the client offered for TLS 1.2):
    ":ERROR_PARSING_EXTENSION:". RFC 8446 §4.2: session_ticket is not among the extensions a
    TLS 1.3 message may carry, and "If an implementation receives an extension which it
    recognizes and which is not specified for the message in which it appears, it MUST abort
    the handshake with an "illegal_parameter" alert"."""
    config = client_config(session_store=InMemoryClientSessionStore())
    flight = Flight13.start(config)
    hello = decode_handshake(flight.client_hello)
    assert isinstance(hello, ClientHello)
    assert any(e.ext_type == SESSION_TICKET for e in hello.extensions)
    data = flight.server_hello_with(UnknownExtension(SESSION_TICKET, b""))
    rejects(flight.client, data + b"".join(flight.plain[1:]), AD.ILLEGAL_PARAMETER, plaintext=True)


@pytest.mark.parametrize(
    "block",
    [
        pytest.param(b"", id="OmitExtensions-ServerHello-TLS12"),
        pytest.param(b"\x00\x00", id="EmptyExtensions-ServerHello-TLS12"),
    ],
)
def test_tls12_server_hello_without_extensions_is_accepted(block: bytes) -> None:
    """BoGo OmitExtensions-ServerHello-TLS12, EmptyExtensions-ServerHello-TLS12 (the Go
    server sends no extensions, with the extensions field left out or empty): the handshake
    proceeds. RFC 5246 §7.4.1.3: "The presence of extensions can be detected by determining
    whether there are bytes following the compression_method field at the end of the
    ServerHello"; RFC 5746 §3.4 on a missing renegotiation_info: "the server does not support
    secure renegotiation [...] some clients may want to terminate the handshake instead of
    continuing" (a choice, and we never renegotiate); RFC 7627 §5.4 leaves a client without a
    requirement for extended_master_secret free to continue. The client answers with its
    ClientKeyExchange, ChangeCipherSpec and Finished (our server, having seen our
    extended_master_secret, would derive another master secret, so the exchange stops there)."""
    hs = Handshake12.start(client12(), server12())
    body = hs.message(HT.SERVER_HELLO)[4:]
    end = 35 + body[34] + 3  # version, random, session_id, cipher_suite, compression_method
    bare = frame(HT.SERVER_HELLO, body[:end] + block)
    answer = hs.answer(hs.replaced(HT.SERVER_HELLO, bare))
    assert hs.client.state is ConnectionState.HANDSHAKING
    assert [t for t, _ in records(answer)] == [HANDSHAKE, CCS, HANDSHAKE]
    assert [m[0] for m in plaintext_messages(answer)] == [HT.CLIENT_KEY_EXCHANGE]


def test_tls12_server_hello_with_supported_groups_is_tolerated() -> None:
    """BoGo SupportedCurves-ServerHello-TLS12 (``SendServerSupportedCurves``: "illegal in TLS
    1.2, but some servers send them anyway, so we must tolerate them"): the handshake proceeds.
    RFC 8422 §5.2 defines only ec_point_formats for a TLS 1.2 ServerHello, but the client did
    offer supported_groups, so RFC 5246 §7.4.1.4's abort ("an extension type in ServerHello that
    it did not request", unsupported_extension) does not apply and no RFC asks the client to
    refuse it; it is ignored. An unoffered extension is still refused (checked)."""
    hs = Handshake12.start(client12(), server12())
    body = hs.message(HT.SERVER_HELLO)[4:]
    end = 35 + body[34] + 3  # version, random, session_id, cipher_suite, compression_method
    block = body[end + 2 :] + b"\x00\x0a\x00\x04\x00\x02\x00\x1d"  # supported_groups: x25519
    with_groups = frame(HT.SERVER_HELLO, body[:end] + len(block).to_bytes(2, "big") + block)
    answer = hs.answer(hs.replaced(HT.SERVER_HELLO, with_groups))
    assert hs.client.state is ConnectionState.HANDSHAKING
    assert [m[0] for m in plaintext_messages(answer)] == [HT.CLIENT_KEY_EXCHANGE]
    hs = Handshake12.start(client12(), server12())
    block = body[end + 2 :] + b"\x00\x0f\x00\x01\x01"  # heartbeat: not offered
    unoffered = frame(HT.SERVER_HELLO, body[:end] + len(block).to_bytes(2, "big") + block)
    rejects(hs.client, hs.replaced(HT.SERVER_HELLO, unoffered), AD.UNSUPPORTED_EXTENSION)


def test_tls12_server_name_acknowledgement_on_resumption_is_tolerated() -> None:
    """BoGo TolerateServerNameAck-TLS-TLS12 (``SendServerNameAck``: the Go server acknowledges
    the client's server_name with an empty extension, in the full handshake and again in the
    resumption): the resumption completes. RFC 6066 §3: "When resuming a session, the server
    MUST NOT include a server_name extension in the server hello" -- a server duty; the client
    did offer server_name, so RFC 5246 §7.4.1.4's abort rule ("an extension type in ServerHello
    that it did not request") does not apply, and no RFC asks the client to refuse it. Our
    server, keeping to RFC 6066, leaves it out (checked); it is added and the abbreviated
    handshake's server Finished recomputed over the changed ServerHello (RFC 5246 §7.4.9)."""
    clock = Clock()
    config = client12(session_store=InMemoryClientSessionStore(), clock=clock)
    server = server12(session_tickets=1, clock=clock, ticket_sealer=AeadTicketSealer())
    client_events, _ = pump(ClientConnection(config, "localhost"), ServerConnection(server))
    assert not completed(client_events).resumed
    hs = Handshake12.start(config, server)
    (hello_type, hello_body), ccs, _finished = records(hs.flight)
    assert hello_type == HANDSHAKE and ccs == (CCS, b"\x01")
    hello = decode_handshake(hello_body, version=TLS12)
    assert isinstance(hello, ServerHello)
    assert hello.legacy_session_id_echo == hs.client_hello.legacy_session_id  # resumed
    assert hello.get(ServerName) is None
    acked = encode_handshake(
        dataclasses.replace(hello, extensions=(*hello.extensions, ServerName(None)), raw=b"")
    )
    digest = hashlib.new(hs.suite.hash_name, hs.client_hello_message + acked).digest()
    finished = frame(
        HT.FINISHED, verify_data(hs.suite.hash_name, hs.master, b"server finished", digest)
    )
    data = (
        record(HANDSHAKE, acked) + record(CCS, b"\x01") + hs.server_record(0, HANDSHAKE, finished)
    )
    done = completed(hs.client.receive_data(data))
    assert done.resumed and hs.client.state is ConnectionState.APP_DATA
