"""BoGo (BoringSSL ssl/test/runner) client tests, replayed against our ClientConnection.

In a BoGo ``clientTest`` the shim is the client and a Go server misbehaves as its ``Bugs`` flags
say; ``expectedLocalError: "remote error: <alert>"`` names the alert the shim must send. Here
our own ServerConnection writes the flight and the test edits it as that Go server would: a
plaintext ServerHello is decoded, changed and re-encoded; the encrypted part is opened with the
server's logged handshake secret, edited, and sealed again (with the CertificateVerify and the
Finished recomputed when the handshake has to succeed).

Each test names its BoGo test and the RFC sentence. Where BoGo checks only that the shim
fails (no ``expectedLocalError``), the test asserts the abort and the alert we send. A rule
that the RFC makes a MUST decides; where the RFC allows several alerts, BoGo's is the one
wanted, and a difference is a strict xfail.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from memory_pair import pump
from server_flight import (
    SUITE,
    Established,
    Flight13,
    aborts,
    client_config,
    hello_record,
    rejects,
    retry_client,
    sealer,
    server_config,
    ticket,
    with_extensions,
)
from tls_fixtures import Clock, client_cert, server_cert
from tlsmachine import (
    AeadTicketSealer,
    ClientConfig,
    ClientConnection,
    HandshakeComplete,
    InMemoryClientSessionStore,
    ServerConfig,
    ServerConnection,
    SessionTicketReceived,
)
from tlsmachine.crypto.groups import SECP256R1, SECP384R1, X25519
from tlsmachine.crypto.suites import (
    TLS_CHACHA20_POLY1305_SHA256,
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
)
from tlsmachine.enums import AlertDescription, ContentType, HandshakeType, ProtocolVersion
from tlsmachine.extensions import (
    ApplicationLayerProtocolNegotiation,
    EarlyData,
    Extension,
    KeyShareEntry,
    KeyShareServerHello,
    PreSharedKeyClientHello,
    PreSharedKeyServerHello,
    SupportedVersionsServerHello,
    UnknownExtension,
)
from tlsmachine.messages import decode_handshake, encode_handshake
from tlsmachine.messages.hello import ClientHello, ServerHello
from tlsmachine.messages.tls13 import (
    Certificate,
    CertificateEntry,
    CertificateRequest,
    EncryptedExtensions,
)
from tlsmachine.session import ExternalPsk
from wire import CCS, HANDSHAKE, messages, record, records

ALERT = AlertDescription
SERVER_NAME_EXT = 0
ALPN_EXT = 16
EXTENDED_MASTER_SECRET_EXT = 23
RENEGOTIATION_INFO_EXT = 0xFF01
CERTIFICATE_AUTHORITIES_EXT = 47

# -- helpers -----------------------------------------------------------------------------------


def hrr_record(hrr: ServerHello, extensions: list[tuple[int, bytes]]) -> bytes:
    """A HelloRetryRequest with exactly ``extensions`` (type, data), duplicates allowed."""
    raw = [UnknownExtension(ext_type=t, extension_data=d) for t, d in extensions]
    return hello_record(hrr, extensions=tuple(raw))


# == TLS 1.3: HelloRetryRequest ================================================================


@pytest.mark.parametrize(
    "duplicated", ["cookie", "key_share"], ids=["DuplicateCookie", "DuplicateCurve"]
)
def test_hello_retry_request_with_a_duplicate_extension_is_illegal_parameter(
    duplicated: str,
) -> None:
    """BoGo HelloRetryRequest-DuplicateCookie-TLS13 / HelloRetryRequest-DuplicateCurve-TLS13
    (DuplicateHelloRetryRequestExtensions): "remote error: illegal parameter".

    RFC 8446 §4.2: "There MUST NOT be more than one extension of the same type in a given
    extension block." (no alert named; BoGo's illegal_parameter is what we send)."""
    client, hrr = retry_client()
    versions = (43, b"\x03\x04")
    twice = (44, b"\x00\x06cookie") if duplicated == "cookie" else (51, b"\x00\x18")
    bad = hrr_record(hrr, [versions, twice, twice])
    rejects(client, bad, ALERT.ILLEGAL_PARAMETER, plaintext=True)


def test_hello_retry_request_with_an_empty_cookie_is_decode_error() -> None:
    """BoGo HelloRetryRequest-EmptyCookie-TLS13: ":DECODE_ERROR:".

    RFC 8446 §4.2.2: ``opaque cookie<1..2^16-1>``: a zero-length cookie cannot be decoded."""
    client, hrr = retry_client()
    bad = hrr_record(hrr, [(43, b"\x03\x04"), (44, b"\x00\x00")])
    rejects(client, bad, ALERT.DECODE_ERROR, plaintext=True)


def test_hello_retry_request_selecting_an_unknown_version_is_illegal_parameter() -> None:
    """BoGo HelloRetryRequestVersionMismatch-TLS13 (SendServerHelloVersion 0x0305 in the HRR;
    BoringSSL fails with DECODE_ERROR, the alert is not checked).

    RFC 8446 §4.2.1: "If the "supported_versions" extension in the ServerHello contains a
    version not offered by the client or contains a version prior to TLS 1.3, the client MUST
    abort the handshake with an "illegal_parameter" alert." (The HRR has the ServerHello's
    format, §4.1.4.)"""
    client, hrr = retry_client()
    version = SupportedVersionsServerHello(selected_version=0x0305)
    bad = hello_record(hrr, extensions=with_extensions(hrr.extensions, version))
    rejects(client, bad, ALERT.ILLEGAL_PARAMETER, plaintext=True)


@pytest.mark.parametrize("version", [None, 0x1234], ids=["NoVersion", "WrongVersion"])
def test_server_hello_after_retry_must_keep_tls13(version: int | None) -> None:
    """BoGo SecondServerHelloNoVersion-TLS13 / SecondServerHelloWrongVersion-TLS13:
    ":SECOND_SERVERHELLO_VERSION_MISMATCH:" (alert not checked).

    RFC 8446 §4.1.4: "the value of selected_version in the HelloRetryRequest
    "supported_versions" extension MUST be retained in the ServerHello, and a client MUST abort
    the handshake with an "illegal_parameter" alert if the value changes.\""""
    flight = Flight13.start(
        client_config(groups=(X25519, SECP384R1)), server_config(groups=(SECP384R1,))
    )
    if version is None:
        bad = flight.server_hello_with(drop=(SupportedVersionsServerHello,))
    else:
        bad = flight.server_hello_with(SupportedVersionsServerHello(selected_version=version))
    rejects(flight.client, bad, ALERT.ILLEGAL_PARAMETER)


# == TLS 1.3: ServerHello ======================================================================


def test_server_hello_key_share_for_a_group_without_our_share_is_illegal_parameter() -> None:
    """BoGo SkipHelloRetryRequest-TLS13: the server picks secp384r1, for which the client sent
    no share, and answers with a ServerHello instead of a HelloRetryRequest: ":WRONG_CURVE:"
    (alert not checked).

    RFC 8446 §4.2.8: the server's KeyShareEntry "MUST be in the same group as the KeyShareEntry
    value offered by the client that the server has selected". We answer illegal_parameter."""
    flight = Flight13.start(client_config(groups=(X25519, SECP384R1)))
    share = KeyShareServerHello(KeyShareEntry(SECP384R1.id, SECP384R1.generate().public_bytes))
    rejects(flight.client, flight.server_hello_with(share), ALERT.ILLEGAL_PARAMETER)


def test_server_hello_without_key_share_and_without_psk_aborts() -> None:
    """BoGo MissingKeyShare-Client-TLS13: ":MISSING_KEY_SHARE:" (alert not checked; BoringSSL
    sends missing_extension, we send illegal_parameter).

    RFC 8446 §2: a full handshake is (EC)DHE: with no PSK selected, a ServerHello without
    "key_share" leaves no key exchange. No alert is named (§6.2 describes missing_extension
    for "a handshake message not containing an extension that is mandatory")."""
    flight = Flight13.start()
    error = aborts(flight.client, flight.server_hello_with(drop=(KeyShareServerHello,)))
    assert error.alert is ALERT.ILLEGAL_PARAMETER


def test_server_hello_selecting_an_unoffered_psk_is_unsupported_extension() -> None:
    """BoGo AlwaysSelectPSKIdentity-TLS13: ":UNEXPECTED_EXTENSION:".

    RFC 8446 §4.2: "Implementations MUST NOT send extension responses if the remote endpoint
    did not send the corresponding extension requests ... Upon receiving such an extension, an
    endpoint MUST abort the handshake with an "unsupported_extension" alert.\""""
    flight = Flight13.start()
    bad = flight.server_hello_with(PreSharedKeyServerHello(selected_identity=0))
    rejects(flight.client, bad, ALERT.UNSUPPORTED_EXTENSION)


def test_server_hello_psk_identity_out_of_range_is_illegal_parameter() -> None:
    """BoGo InvalidPSKIdentity-TLS13 (SelectPSKIdentityOnResume 1 with one PSK offered):
    ":PSK_IDENTITY_NOT_FOUND:".

    RFC 8446 §4.2.11: "Clients MUST verify that the server's selected_identity is within the
    range supplied by the client ... If these values are not consistent, the client MUST abort
    the handshake with an "illegal_parameter" alert.\""""
    psk = ExternalPsk(identity=b"client-1", key=bytes(range(32)))
    flight = Flight13.start(client_config(external_psks=(psk,)))
    assert flight.server_hello.get(PreSharedKeyServerHello) is None  # server lacks the PSK
    bad = flight.server_hello_with(PreSharedKeyServerHello(selected_identity=1))
    rejects(flight.client, bad, ALERT.ILLEGAL_PARAMETER)


def test_server_selecting_psk_without_dhe_when_only_dhe_was_offered_aborts() -> None:
    """BoGo NegotiatePSKResumption-TLS13: the server resumes in psk_ke mode (no key_share) though
    the client offered only psk_dhe_ke: ":MISSING_KEY_SHARE:" (alert not checked).

    RFC 8446 §4.2.9: "Servers MUST NOT select a key exchange mode that is not listed by the
    client." We answer illegal_parameter."""
    psk = ExternalPsk(identity=b"client-1", key=bytes(range(32)))
    flight = Flight13.start(client_config(external_psks=(psk,)))
    bad = flight.server_hello_with(
        PreSharedKeyServerHello(selected_identity=0), drop=(KeyShareServerHello,)
    )
    assert aborts(flight.client, bad).alert is ALERT.ILLEGAL_PARAMETER


def test_unknown_extension_in_server_hello_is_unsupported_extension() -> None:
    """BoGo UnknownUnencryptedExtension-Client-TLS13 (CustomUnencryptedExtension):
    ":UNEXPECTED_EXTENSION:".

    RFC 8446 §4.2: an extension response without the request -> "unsupported_extension"."""
    flight = Flight13.start()
    bad = flight.server_hello_with(UnknownExtension(ext_type=0x7777, extension_data=b""))
    rejects(flight.client, bad, ALERT.UNSUPPORTED_EXTENSION)


def test_offered_alpn_in_server_hello_is_illegal_parameter() -> None:
    """BoGo UnexpectedUnencryptedExtension-Client-TLS13 (SendUnencryptedALPN "foo", offered):
    ":UNEXPECTED_EXTENSION:" (BoGo cannot read the alert, sent under keys it lacks).

    RFC 8446 §4.2: "If an implementation receives an extension which it recognizes and which
    is not specified for the message in which it appears, it MUST abort the handshake with an
    "illegal_parameter" alert." (ALPN belongs in EncryptedExtensions.)"""
    flight = Flight13.start(client_config(alpn_protocols=("foo", "bar")))
    alpn = UnknownExtension(ext_type=ALPN_EXT, extension_data=b"\x00\x04\x03foo")
    rejects(flight.client, flight.server_hello_with(alpn), ALERT.ILLEGAL_PARAMETER)


@pytest.mark.parametrize(
    "client_min", [ProtocolVersion.TLS12, ProtocolVersion.TLS13], ids=["offered", "not-offered"]
)
@pytest.mark.parametrize(
    ("ext_type", "data"),
    [(EXTENDED_MASTER_SECRET_EXT, b""), (RENEGOTIATION_INFO_EXT, b"\x00")],
    ids=["EMS-Forbidden-TLS13", "RenegotiationInfo-Forbidden-TLS13"],
)
def test_tls12_extension_in_a_tls13_server_hello_aborts(
    ext_type: int, data: bytes, client_min: ProtocolVersion
) -> None:
    """BoGo EMS-Forbidden-TLS13 / RenegotiationInfo-Forbidden-TLS13 (the server negotiates
    them at TLS 1.3): ":ERROR_PARSING_EXTENSION:" (alert not checked).

    RFC 8446 §4.1.3: the TLS 1.3 ServerHello "MUST only include extensions which are required
    to establish the cryptographic context and negotiate the protocol version". A client that
    can do TLS 1.2 sent these, so knows them: "an extension which it recognizes and which is
    not specified for the message in which it appears" is illegal_parameter (§4.2). A TLS
    1.3-only client did not send them: a response without the request is unsupported_extension
    (§4.2)."""
    flight = Flight13.start(client_config(min_version=client_min))
    offered = {e.ext_type for e in decode_handshake(flight.client_hello).extensions}
    assert (ext_type in offered) is (client_min == ProtocolVersion.TLS12)
    bad = flight.server_hello_with(UnknownExtension(ext_type=ext_type, extension_data=data))
    tls12_capable = client_min == ProtocolVersion.TLS12
    expected = ALERT.ILLEGAL_PARAMETER if tls12_capable else ALERT.UNSUPPORTED_EXTENSION
    assert aborts(flight.client, bad).alert is expected


# == TLS 1.3: EncryptedExtensions ==============================================================


def test_duplicate_extension_in_encrypted_extensions_is_decode_error() -> None:
    """BoGo DuplicateExtensionClient-TLS-TLS13 (DuplicateExtension: an empty 0xffff extension
    twice): "remote error: error decoding message".

    RFC 8446 §4.2: "There MUST NOT be more than one extension of the same type in a given
    extension block." No alert is named, so BoGo's decode_error is the one wanted."""
    flight = Flight13.start()
    twice = UnknownExtension(ext_type=0xFFFF, extension_data=b"")
    rejects(flight.client, flight.with_ee(twice, twice), ALERT.DECODE_ERROR)


def test_encrypted_extensions_without_its_extensions_field_is_decode_error() -> None:
    """BoGo EmptyEncryptedExtensions-TLS13: "remote error: error decoding message".

    RFC 8446 §4.3.1: ``Extension extensions<0..2^16-1>`` -- the length field is not optional."""
    flight = Flight13.start()
    empty = bytes((HandshakeType.ENCRYPTED_EXTENSIONS, 0, 0, 0))
    at = flight.find(HandshakeType.ENCRYPTED_EXTENSIONS)
    bad = flight.sealed([*flight.flight[:at], empty, *flight.flight[at + 1 :]])
    rejects(flight.client, bad, ALERT.DECODE_ERROR)


def test_key_share_in_encrypted_extensions_is_illegal_parameter() -> None:
    """BoGo EncryptedExtensionsWithKeyShare-TLS13 expects "remote error: unsupported
    extension"; the RFC's MUST decides otherwise:

    RFC 8446 §4.2: "If an implementation receives an extension which it recognizes and which
    is not specified for the message in which it appears, it MUST abort the handshake with an
    "illegal_parameter" alert." (key_share was offered, and is not allowed in EE.)"""
    flight = Flight13.start()
    share = KeyShareServerHello(KeyShareEntry(X25519.id, X25519.generate().public_bytes))
    rejects(flight.client, flight.with_ee(share), ALERT.ILLEGAL_PARAMETER)


def test_server_name_ack_without_server_name_is_unsupported_extension() -> None:
    """BoGo UnsolicitedServerNameAck-TLS-TLS13: "remote error: unsupported extension".

    RFC 8446 §4.2: an extension response the client did not request -> MUST abort with
    "unsupported_extension". (An IP literal is never sent as server_name, RFC 6066 §3.)"""
    flight = Flight13.start(server_name="127.0.0.1")
    ack = UnknownExtension(ext_type=SERVER_NAME_EXT, extension_data=b"")
    rejects(flight.client, flight.with_ee(ack), ALERT.UNSUPPORTED_EXTENSION)


def test_alpn_protocol_the_client_did_not_offer_is_illegal_parameter() -> None:
    """BoGo ALPNClient-RejectUnknown-TLS-TLS13 (SendALPN "baz", client offers foo, bar):
    "remote error: illegal parameter".

    RFC 7301 §3.1: the server's ProtocolNameList "MUST contain exactly one "ProtocolName"";
    a protocol the client did not offer is an inconsistent field (BoGo: illegal_parameter)."""
    flight = Flight13.start(client_config(alpn_protocols=("foo", "bar")))
    baz = ApplicationLayerProtocolNegotiation(protocol_name_list=(b"baz",))
    rejects(flight.client, flight.with_ee(baz), ALERT.ILLEGAL_PARAMETER)


def test_empty_alpn_protocol_name_is_decode_error() -> None:
    """BoGo ALPNClient-EmptyProtocolName-TLS-TLS13: ":PARSE_TLSEXT:" (decode failure).

    RFC 7301 §3.1: ``opaque ProtocolName<1..2^8-1>``: an empty name cannot be decoded."""
    flight = Flight13.start(client_config(alpn_protocols=("foo",)))
    empty = UnknownExtension(ext_type=ALPN_EXT, extension_data=b"\x00\x01\x00")
    rejects(flight.client, flight.with_ee(empty), ALERT.DECODE_ERROR)


def test_alpn_in_encrypted_extensions_without_offering_it_is_unsupported_extension() -> None:
    """BoGo UnofferedExtension-Client-TLS13 (SendALPN without the client offering ALPN):
    "remote error: unsupported extension".

    RFC 8446 §4.2: an extension response without its request -> "unsupported_extension"."""
    flight = Flight13.start()
    alpn = ApplicationLayerProtocolNegotiation(protocol_name_list=(b"alpn",))
    rejects(flight.client, flight.with_ee(alpn), ALERT.UNSUPPORTED_EXTENSION)


# == TLS 1.3: Certificate, CertificateRequest, CertificateVerify ===============================


def test_unknown_extension_on_the_server_certificate_is_unsupported_extension() -> None:
    """BoGo SendUnknownExtensionOnCertificate-TLS13 (extension 0x007f on the leaf entry):
    ":UNEXPECTED_EXTENSION:".

    RFC 8446 §4.4.2: "If an extension applies to the entire chain, it SHOULD be included in
    the first CertificateEntry"; extensions in the Certificate message "MUST correspond to
    ones from the ClientHello message" -- §4.2: else "unsupported_extension"."""
    flight = Flight13.start()
    cert = flight.decoded(HandshakeType.CERTIFICATE)
    entry = cert.certificate_list[0]
    unknown = UnknownExtension(ext_type=0x007F, extension_data=b"")
    bad = dataclasses.replace(
        cert,
        certificate_list=(CertificateEntry(entry.cert_data, (unknown,)),),
        raw=b"",
    )
    rejects(
        flight.client,
        flight.replaced_sealed(HandshakeType.CERTIFICATE, bad),
        ALERT.UNSUPPORTED_EXTENSION,
    )


def client_auth_flight() -> Flight13:
    cadata = client_cert().leaf.public_bytes(Encoding.PEM)
    return Flight13.start(
        client_config(certificates=(client_cert(),)),
        server_config(client_auth="required", client_cadata=cadata),
    )


def test_request_context_in_a_handshake_certificate_request_aborts() -> None:
    """BoGo RequestContextInHandshake-TLS13: ":DECODE_ERROR:" (alert not checked; we send
    illegal_parameter).

    RFC 8446 §4.3.2: "certificate_request_context ... This field SHALL be zero length unless
    used for the post-handshake authentication exchanges described in Section 4.6.2.\""""
    flight = client_auth_flight()
    request = flight.decoded(HandshakeType.CERTIFICATE_REQUEST)
    bad = dataclasses.replace(request, certificate_request_context=b"request context", raw=b"")
    error = aborts(flight.client, flight.replaced_sealed(HandshakeType.CERTIFICATE_REQUEST, bad))
    assert error.alert is ALERT.ILLEGAL_PARAMETER


def test_certificate_request_without_signature_algorithms_aborts() -> None:
    """BoGo MissingSignatureAlgorithmsInCertificateRequest-TLS13: ":DECODE_ERROR:" (alert not
    checked; we send missing_extension).

    RFC 8446 §4.3.2: "The "signature_algorithms" extension MUST be specified\""""
    flight = client_auth_flight()
    request = flight.decoded(HandshakeType.CERTIFICATE_REQUEST)
    bad = CertificateRequest(
        certificate_request_context=b"",
        extensions=(UnknownExtension(ext_type=0x1212, extension_data=b""),),
    )
    error = aborts(flight.client, flight.replaced_sealed(HandshakeType.CERTIFICATE_REQUEST, bad))
    assert error.alert is ALERT.MISSING_EXTENSION
    assert request.extensions  # the original had its signature_algorithms


def test_unknown_extension_in_certificate_request_is_ignored() -> None:
    """BoGo UnknownExtensionInCertificateRequest-TLS13 (SendCustomCertificateRequest 0x1212):
    the handshake succeeds.

    RFC 8446 §4.3.2: "Clients MUST ignore unrecognized extensions." (The test signs the
    CertificateVerify and the Finished again over the changed transcript.)"""
    flight = client_auth_flight()
    at = flight.find(HandshakeType.CERTIFICATE_REQUEST)
    request = decode_handshake(flight.flight[at])
    assert isinstance(request, CertificateRequest)
    extra = UnknownExtension(ext_type=0x1212, extension_data=b"\x01\x02")
    changed = CertificateRequest(b"", (*request.extensions, extra))
    edited = list(flight.flight)
    edited[at] = encode_handshake(changed)
    events = flight.client.receive_data(flight.sealed(flight.refinished(edited)))
    assert any(isinstance(e, HandshakeComplete) for e in events)
    sent = [decode_handshake(m) for m in certificate_messages(flight)]
    assert isinstance(sent[0], Certificate) and sent[0].certificate_list  # it answered


def certificate_messages(flight: Flight13) -> list[bytes]:
    """The client's second flight, opened with its logged handshake secret."""
    return client_flight_messages(flight.client.data_to_send(), flight.secrets)


def client_flight_messages(data: bytes, secrets: dict[str, bytes]) -> list[bytes]:
    opener = sealer(secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"])
    out: list[bytes] = []
    for content_type, body in records(data):
        if content_type == ContentType.APPLICATION_DATA:
            header = bytes((content_type, 3, 3)) + len(body).to_bytes(2, "big")
            inner_type, content = opener.open(header, body)
            if inner_type == ContentType.HANDSHAKE:
                out += messages(bytes(content))
    return out


def test_empty_certificate_authorities_in_certificate_request_is_decode_error() -> None:
    """BoGo RejectEmptyCertificateAuthorities-Client-TLS-TLS13
    (SendEmptyCertificateAuthorities): "remote error: error decoding message".

    RFC 8446 §4.2.4: ``DistinguishedName authorities<3..2^16-1>``: an empty list is not a
    valid encoding."""
    flight = client_auth_flight()
    request = flight.decoded(HandshakeType.CERTIFICATE_REQUEST)
    empty = UnknownExtension(ext_type=CERTIFICATE_AUTHORITIES_EXT, extension_data=b"\x00\x00")
    kept = tuple(e for e in request.extensions if e.ext_type != CERTIFICATE_AUTHORITIES_EXT)
    bad = CertificateRequest(b"", (*kept, empty))
    rejects(
        flight.client,
        flight.replaced_sealed(HandshakeType.CERTIFICATE_REQUEST, bad),
        ALERT.DECODE_ERROR,
    )


def test_finished_instead_of_certificate_verify_is_unexpected_message() -> None:
    """BoGo ClientSkipCertificateVerify-TLS13 (SkipCertificateVerify): "remote error: unexpected
    message".

    RFC 8446 §4.4.3: "Servers MUST send this message when authenticating via a certificate";
    a message out of order is "unexpected_message" (§6.2)."""
    flight = Flight13.start()
    at = flight.find(HandshakeType.CERTIFICATE_VERIFY)
    bad = flight.sealed([*flight.flight[:at], *flight.flight[at + 1 :]])
    rejects(flight.client, bad, ALERT.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize("extra", ["Certificate", "CertificateRequest"])
def test_certificate_messages_in_a_psk_handshake_are_unexpected_message(extra: str) -> None:
    """BoGo CertificateInResumption-TLS13 / CertificateRequestInResumption-TLS13
    (AlwaysSendCertificate / AlwaysSendCertificateRequest): "remote error: unexpected message".

    RFC 8446 §2.2: with a PSK "the server ... does not send a Certificate or a
    CertificateVerify message"; §4.3.2: "Servers which are authenticating with a PSK MUST NOT
    send the CertificateRequest message in the main handshake"."""
    psk = ExternalPsk(identity=b"client-1", key=bytes(range(32)))
    flight = Flight13.start(
        client_config(external_psks=(psk,)), server_config(external_psks=(psk,))
    )
    assert flight.server_hello.get(PreSharedKeyServerHello) is not None
    message: object = (
        Certificate(b"", (CertificateEntry(server_cert().der_chain[0]),))
        if extra == "Certificate"
        else CertificateRequest(b"", ())
    )
    at = flight.find(HandshakeType.ENCRYPTED_EXTENSIONS) + 1
    bad = flight.sealed(
        [
            *flight.flight[:at],
            encode_handshake(message),  # type: ignore[arg-type]
            *flight.flight[at:],
        ]
    )
    rejects(flight.client, bad, ALERT.UNEXPECTED_MESSAGE)


# == TLS 1.3: 0-RTT =============================================================================


def ticket_client(
    clock: Clock, *, early_data: bool = True, alpn: tuple[str, ...] = ()
) -> tuple[ClientConfig, ServerConfig]:
    """A client config holding a 0-RTT ticket, and the config of the server that issued it."""
    config = client_config(
        cipher_suites=(SUITE, TLS_CHACHA20_POLY1305_SHA256),
        session_store=InMemoryClientSessionStore(),
        clock=clock,
        early_data=early_data,
        alpn_protocols=alpn,
    )
    issuer = server_config(
        session_tickets=1,
        clock=clock,
        ticket_sealer=AeadTicketSealer(),
        max_early_data_size=4096,
        alpn_protocols=alpn,
    )
    pump(ClientConnection(config, "localhost"), ServerConnection(issuer))
    clock.now += 1
    return config, issuer


def test_early_data_accepted_without_the_psk_aborts() -> None:
    """BoGo EarlyDataWithoutResume-Client-TLS13 (SendEarlyDataExtension, tickets off):
    ":UNEXPECTED_EXTENSION:" (alert not checked; we send illegal_parameter).

    RFC 8446 §4.2.10: "In order to accept early data, the server MUST have accepted a PSK
    cipher suite and selected the first key offered in the client's "pre_shared_key"
    extension.\""""
    clock = Clock()
    config, _ = ticket_client(clock)
    other = server_config(clock=clock)  # another ticket key: the ticket does not open
    flight = Flight13.start(config, other)
    assert flight.server_hello.get(PreSharedKeyServerHello) is None
    error = aborts(flight.client, flight.with_ee(EarlyData()))
    assert error.alert is ALERT.ILLEGAL_PARAMETER


def test_early_data_accepted_after_hello_retry_request_is_unsupported_extension() -> None:
    """BoGo ServerAcceptsEarlyDataOnHRR-Client-TLS13: ":UNEXPECTED_EXTENSION:".

    RFC 8446 §4.1.2: the second ClientHello drops "early_data"; §4.2: a response to an
    extension the (second) ClientHello did not carry -> "unsupported_extension"."""
    clock = Clock()
    config, issuer = ticket_client(clock)
    config = dataclasses.replace(config, groups=(X25519, SECP384R1))
    flight = Flight13.start(config, dataclasses.replace(issuer, groups=(SECP384R1,)))
    hello = decode_handshake(flight.client_hello)
    assert isinstance(hello, ClientHello) and hello.get(EarlyData) is None
    rejects(flight.client, flight.with_ee(EarlyData()), ALERT.UNSUPPORTED_EXTENSION)


def test_early_data_accepted_under_another_cipher_suite_is_illegal_parameter() -> None:
    """BoGo EarlyData-CipherMismatch-Client-TLS13 (AlwaysAcceptEarlyData, server resumes under
    ChaCha20 a ticket of AES-128-GCM): "remote error: illegal parameter".

    RFC 8446 §4.2.10: the client checks the 0-RTT parameters of an accepted 0-RTT; "the server
    MUST ... verify that ... The selected cipher suite" is the ticket's; §4.2.11: early data
    under the wrong parameters -> illegal_parameter (BoGo's alert)."""
    clock = Clock()
    config, issuer = ticket_client(clock)
    server = dataclasses.replace(issuer, cipher_suites=(TLS_CHACHA20_POLY1305_SHA256,))
    flight = Flight13.start(config, server, suite=TLS_CHACHA20_POLY1305_SHA256)
    assert flight.server_hello.get(PreSharedKeyServerHello) is not None
    ee = flight.decoded(HandshakeType.ENCRYPTED_EXTENSIONS)
    assert ee.get(EarlyData) is None  # the server itself refused the 0-RTT
    at = flight.find(HandshakeType.ENCRYPTED_EXTENSIONS)
    forged = encode_handshake(EncryptedExtensions((*ee.extensions, EarlyData())))
    bad = flight.sealed(
        [*flight.flight[:at], forged, *flight.flight[at + 1 :]], suite=TLS_CHACHA20_POLY1305_SHA256
    )
    rejects(flight.client, bad, ALERT.ILLEGAL_PARAMETER)


def test_tls12_server_hello_after_offering_early_data_fails() -> None:
    """BoGo EarlyDataVersionDowngrade-Client-TLS13 (resumption server at TLS 1.2 only):
    ":WRONG_VERSION_ON_EARLY_DATA:" (alert not checked).

    RFC 8446 Appendix D.3: "A client that attempts to send 0-RTT data MUST fail a connection if
    it receives a ServerHello with TLS 1.2 or older." (The test removes the downgrade
    sentinel, which a TLS 1.2-only server does not send, RFC 8446 §4.1.3.)"""
    clock = Clock()
    config, _ = ticket_client(clock)
    client = ClientConnection(config, "localhost")
    assert client.early_data_room > 0
    tls12 = server_config(clock=clock, max_version=ProtocolVersion.TLS12)
    server = ServerConnection(tls12)
    first = records(client.data_to_send())[0]  # the ClientHello; CCS and 0-RTT records follow
    assert first[0] == HANDSHAKE
    server.receive_data(record(*first))
    out = server.data_to_send()
    hello_body = next(m for _, body in records(out) for m in messages(body) if m[0] == 2)
    hello = decode_handshake(hello_body, version=ProtocolVersion.TLS12)
    assert isinstance(hello, ServerHello)
    random = hello.random[:24] + bytes(8)  # no downgrade sentinel
    aborts(client, hello_record(hello, random=random))


# == TLS 1.3: after the handshake ===============================================================


def test_change_cipher_spec_after_the_handshake_is_unexpected_message() -> None:
    """BoGo SendPostHandshakeChangeCipherSpec-TLS13: "remote error: unexpected message".

    RFC 8446 §5: "An implementation which receives any other change_cipher_spec value or which
    receives a protected change_cipher_spec record MUST abort the handshake with an
    "unexpected_message" alert" -- and the exception for a plaintext one holds only "at any
    time after the first ClientHello message has been sent or received and before the peer's
    Finished message has been received"."""
    conn = Established.start()
    rejects(conn.client, record(CCS, b"\x01"), ALERT.UNEXPECTED_MESSAGE)


def test_duplicate_early_data_in_new_session_ticket_is_illegal_parameter() -> None:
    """BoGo TLS13-DuplicateTicketEarlyDataSupport: "remote error: illegal parameter".

    RFC 8446 §4.2: "There MUST NOT be more than one extension of the same type in a given
    extension block." (no alert named; BoGo's is illegal_parameter)."""
    conn = Established.start()
    early = EarlyData(max_early_data_size=16384)
    rejects(conn.client, conn.seal(ticket(3600, early, early)), ALERT.ILLEGAL_PARAMETER)


def test_unknown_new_session_ticket_extension_is_ignored() -> None:
    """BoGo CustomTicketExtension-TLS13: the ticket is accepted.

    RFC 8446 §4.6.1: NewSessionTicket extensions -- "Clients MUST ignore unrecognized
    extensions.\""""
    conn = Established.start()
    custom = UnknownExtension(ext_type=0x1234, extension_data=b"1234")
    events = conn.client.receive_data(conn.seal(ticket(3600, custom)))
    assert [type(e) for e in events] == [SessionTicketReceived]


def test_empty_ticket_in_new_session_ticket_is_decode_error() -> None:
    """BoGo SendEmptySessionTicket, at TLS 1.3 (where RFC 8446 §4.6.1 has
    ``opaque ticket<1..2^16-1>``): a zero-length ticket cannot be decoded."""
    conn = Established.start()
    rejects(conn.client, conn.seal(ticket(3600, value=b"")), ALERT.DECODE_ERROR)


@pytest.mark.parametrize(
    ("delay", "offered"),
    [(19, True), (21, False)],
    ids=["HonorServerSessionTicketLifetime", "HonorServerSessionTicketLifetime-2"],
)
def test_ticket_lifetime_is_honoured(delay: int, offered: bool) -> None:
    """BoGo TLS13-HonorServerSessionTicketLifetime(-2) (SendTicketLifetime 20 s, resumption
    after 19 s / 21 s): the ticket is offered only while it lives.

    RFC 8446 §4.6.1: ticket_lifetime "Indicates the lifetime in seconds as a 32-bit unsigned
    integer in network byte order from the time of ticket issuance." """
    clock = Clock()
    store = InMemoryClientSessionStore()
    conn = Established.start(clock=clock, session_store=store)
    conn.client.receive_data(conn.seal(ticket(20)))
    assert len(store) == 1
    clock.now += delay
    hello = decode_handshake(
        records(
            ClientConnection(
                client_config(clock=clock, session_store=store), "localhost"
            ).data_to_send()
        )[0][1]
    )
    assert isinstance(hello, ClientHello)
    assert (hello.get(PreSharedKeyClientHello) is not None) is offered


# == TLS 1.2 ====================================================================================

TLS12 = ProtocolVersion.TLS12


def tls12_pair(**client_kwargs: Any) -> tuple[ClientConnection, bytes]:
    """A TLS 1.2-only client and our server's first flight to it (ServerHello .. Done)."""
    kwargs: dict[str, Any] = {
        "verify_certificates": False,
        "max_version": TLS12,
        "groups": (SECP256R1,),
    }
    client = ClientConnection(ClientConfig(**{**kwargs, **client_kwargs}), "localhost")
    server = ServerConnection(
        server_config(groups=(SECP256R1,), alpn_protocols=client_kwargs.get("alpn_protocols", ()))
    )
    server.receive_data(client.data_to_send())
    return client, server.data_to_send()


def server_hello12(flight: bytes) -> ServerHello:
    body = next(m for _, b in records(flight) for m in messages(b) if m[0] == 2)
    hello = decode_handshake(body, version=TLS12)
    assert isinstance(hello, ServerHello)
    return hello


def hello12_with(flight: bytes, *extensions: Extension) -> bytes:
    """Only the TLS 1.2 ServerHello, with ``extensions`` added."""
    hello = server_hello12(flight)
    return hello_record(hello, extensions=(*hello.extensions, *extensions))


def test_tls12_duplicate_extension_in_server_hello_is_decode_error() -> None:
    """BoGo DuplicateExtensionClient-TLS-TLS12 (an empty 0xffff extension twice): "remote
    error: error decoding message".

    RFC 5246 §7.4.1.4: "There MUST NOT be more than one extension of the same type." No alert
    is named, so BoGo's decode_error is the one wanted. (test_tls12_negative accepts any of
    three alerts for a duplicate.)"""
    client, flight = tls12_pair()
    twice = UnknownExtension(ext_type=0xFFFF, extension_data=b"")
    rejects(client, hello12_with(flight, twice, twice), ALERT.DECODE_ERROR, plaintext=True)


def test_tls12_server_name_ack_without_server_name_is_unsupported_extension() -> None:
    """BoGo UnsolicitedServerNameAck-TLS-TLS12: "remote error: unsupported extension".

    RFC 5246 §7.4.1.4: "An extension type MUST NOT appear in the ServerHello unless the same
    extension type appeared in the corresponding ClientHello. If a client receives an
    extension type in ServerHello that it did not request in the associated ClientHello, it
    MUST abort the handshake with an unsupported_extension fatal alert.\""""
    kwargs: dict[str, Any] = {
        "verify_certificates": False,
        "max_version": TLS12,
        "groups": (SECP256R1,),
    }
    client = ClientConnection(ClientConfig(**kwargs), "127.0.0.1")
    server = ServerConnection(server_config(groups=(SECP256R1,)))
    server.receive_data(client.data_to_send())
    ack = UnknownExtension(ext_type=SERVER_NAME_EXT, extension_data=b"")
    rejects(
        client,
        hello12_with(server.data_to_send(), ack),
        ALERT.UNSUPPORTED_EXTENSION,
        plaintext=True,
    )


def test_tls12_alpn_protocol_the_client_did_not_offer_is_illegal_parameter() -> None:
    """BoGo ALPNClient-RejectUnknown-TLS-TLS12 (SendALPN "baz", client offers foo, bar):
    "remote error: illegal parameter".

    RFC 7301 §3.1/§3.2: the server selects one of the client's protocols (BoGo's alert for
    another one is illegal_parameter)."""
    client, flight = tls12_pair(alpn_protocols=("foo", "bar"))
    hello = server_hello12(flight)
    baz = ApplicationLayerProtocolNegotiation(protocol_name_list=(b"baz",))
    bad = hello_record(hello, extensions=with_extensions(hello.extensions, baz))
    rejects(client, bad, ALERT.ILLEGAL_PARAMETER, plaintext=True)


def test_tls12_empty_alpn_protocol_name_is_decode_error() -> None:
    """BoGo ALPNClient-EmptyProtocolName-TLS-TLS12: ":PARSE_TLSEXT:".

    RFC 7301 §3.1: ``opaque ProtocolName<1..2^8-1>``."""
    client, flight = tls12_pair(alpn_protocols=("foo",))
    empty = UnknownExtension(ext_type=ALPN_EXT, extension_data=b"\x00\x01\x00")
    hello = server_hello12(flight)
    kept = tuple(e for e in hello.extensions if e.ext_type != ALPN_EXT)
    rejects(
        client, hello_record(hello, extensions=(*kept, empty)), ALERT.DECODE_ERROR, plaintext=True
    )


@dataclasses.dataclass
class Resumption12:
    """A TLS 1.2 client holding a session, and the ServerHello of the handshake resuming it."""

    client: ClientConnection
    server_hello: ServerHello

    @classmethod
    def start(cls, **server_kwargs: Any) -> Resumption12:
        clock = Clock()
        suites = (
            TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        )
        config = ClientConfig(
            verify_certificates=False,
            max_version=TLS12,
            groups=(SECP256R1,),
            tls12_cipher_suites=suites,
            clock=clock,
            session_store=InMemoryClientSessionStore(),
        )
        server = server_config(
            groups=(SECP256R1,),
            clock=clock,
            session_tickets=1,
            ticket_sealer=AeadTicketSealer(),
            **server_kwargs,
        )
        pump(ClientConnection(config, "localhost"), ServerConnection(server))
        clock.now += 1
        client = ClientConnection(config, "localhost")
        resuming = ServerConnection(server)
        resuming.receive_data(client.data_to_send())
        flight = resuming.data_to_send()
        return cls(client, server_hello12(flight))


def test_tls12_resumption_with_another_cipher_suite_is_illegal_parameter() -> None:
    """BoGo Resume-Client-CipherMismatch-TLS12: ":OLD_SESSION_CIPHER_NOT_RETURNED:".

    RFC 5246 §7.4.1.3: "For resumed sessions, this field [cipher_suite] is the value from the
    state of the session being resumed." A different one is an inconsistent field:
    illegal_parameter."""
    resumption = Resumption12.start()
    hello = resumption.server_hello
    assert hello.cipher_suite == TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256.id
    bad = hello_record(hello, cipher_suite=TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256.id)
    rejects(resumption.client, bad, ALERT.ILLEGAL_PARAMETER, plaintext=True)


def test_tls12_resumption_without_extended_master_secret_aborts() -> None:
    """BoGo EMS tests (the resumed ServerHello drops extended_master_secret):
    ":RESUMED_EMS_SESSION_WITHOUT_EMS_EXTENSION:" (alert not checked; we send
    handshake_failure).

    RFC 7627 §5.3: "If the original session used the extension but the new ServerHello does not
    contain the extension, the client MUST abort the handshake.\""""
    resumption = Resumption12.start()
    hello = resumption.server_hello
    kept = tuple(e for e in hello.extensions if e.ext_type != EXTENDED_MASTER_SECRET_EXT)
    assert kept != hello.extensions
    error = aborts(resumption.client, hello_record(hello, extensions=kept))
    assert error.alert is ALERT.HANDSHAKE_FAILURE
