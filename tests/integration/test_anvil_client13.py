"""TLS-Anvil (tls-attacker/TLS-Anvil, TLS-Testsuite) client tests for TLS 1.3, replayed in memory
against our ClientConnection.

TLS-Anvil cannot run here, so each test replays the intent of one TLS-Anvil test method (from
``tests/client/tls13/**``, ``tests/client/both/**``, ``tests/both/tls13/**`` and the parts of
``tests/both/lengthfield/**`` that a TLS 1.3 client meets). As in test_bogo_client.py, our own
ServerConnection writes the flight and the test edits it as TLS-Anvil's misbehaving server
would: a plaintext ServerHello is decoded, changed and re-encoded; the encrypted part is opened
with the server's logged handshake secret, edited and sealed again (CertificateVerify and Finished
recomputed when the handshake has to get that far).

Each test names its TLS-Anvil ``Class.method`` and quotes the RFC sentence. TLS-Anvil mostly
accepts any fatal alert; where the RFC names an alert, that alert is asserted, else the abort.
An RFC rule we break is a strict xfail.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.serialization import Encoding

import server_flight
from memory_pair import pump
from server_flight import (
    SUITE,
    Established,
    Flight13,
    client_config,
    frame,
    hello_record,
    opened,
    raw_sealed,
    retry_client,
    retry_flight,
    rsa_cert,
    sealer,
    server_config,
    with_extensions,
)
from tls_fixtures import server_cert
from tlsmachine import (
    AlertReceived,
    ApplicationData,
    ClientConfig,
    ClientConnection,
    ConnectionState,
    HandshakeComplete,
    ServerConnection,
    SessionTicketReceived,
)
from tlsmachine.crypto.groups import (
    FFDHE2048,
    SECP256R1,
    SECP384R1,
    SECP521R1,
    X448,
    X25519,
    Group,
)
from tlsmachine.crypto.signatures import sign
from tlsmachine.crypto.suites import (
    TLS13_SUITES,
    TLS_AES_128_GCM_SHA256,
    TLS_AES_256_GCM_SHA384,
    TLS_CHACHA20_POLY1305_SHA256,
    CipherSuite,
)
from tlsmachine.enums import AlertDescription, ContentType, HandshakeType, ProtocolVersion
from tlsmachine.enums import SignatureScheme as S
from tlsmachine.extensions import (
    Cookie,
    KeyShareClientHello,
    KeyShareEntry,
    KeyShareHelloRetryRequest,
    KeyShareServerHello,
    PreSharedKeyClientHello,
    SignatureAlgorithms,
    SupportedGroups,
    SupportedVersionsClientHello,
    SupportedVersionsServerHello,
    UnknownExtension,
)
from tlsmachine.keyschedule import (
    hkdf_expand_label,
)
from tlsmachine.messages import decode_handshake, encode_handshake
from tlsmachine.messages.hello import ClientHello, ServerHello
from tlsmachine.messages.tls13 import Certificate, CertificateVerify, NewSessionTicket
from tlsmachine.session import ExternalPsk
from wire import APPLICATION_DATA, CCS, HANDSHAKE, messages, record, records

ALERT = AlertDescription
HT = HandshakeType
GREASE = 0x0A0A
DOWNGRADE_TLS12 = b"DOWNGRD\x01"
DOWNGRADE_TLS11 = b"DOWNGRD\x00"

# -- helpers (the shared ones are in tests/server_flight.py) -----------------------------------

rejects = functools.partial(server_flight.rejects, sends_alert=True)
"""Here the client must also send its alert (:func:`server_flight.rejects`)."""


def first_hello(config: ClientConfig | None = None) -> tuple[ClientHello, list[tuple[int, bytes]]]:
    """The first ClientHello of a client, and all its records."""
    sent = records(ClientConnection(config or ClientConfig(), "localhost").data_to_send())
    hello = decode_handshake(next(body for t, body in sent if t == HANDSHAKE))
    assert isinstance(hello, ClientHello)
    return hello, sent


def tls12_flight(**client_kwargs: Any) -> tuple[ClientConnection, ServerHello]:
    """A client (TLS 1.2 and 1.3 by default) and the ServerHello of a TLS 1.2-only server."""
    helper = ClientConnection(ClientConfig(verify_certificates=False), "localhost")
    server = ServerConnection(server_config(max_version=ProtocolVersion.TLS12))
    server.receive_data(helper.data_to_send())
    body = next(m for _, b in records(server.data_to_send()) for m in messages(b) if m[0] == 2)
    hello = decode_handshake(body, version=ProtocolVersion.TLS12)
    assert isinstance(hello, ServerHello)
    client = ClientConnection(
        ClientConfig(**{"verify_certificates": False, **client_kwargs}), "localhost"
    )
    client.data_to_send()
    return client, hello


# == client/tls13/rfc8446/ServerHello ==========================================================


def test_server_hello_session_id_echo_mismatch_is_illegal_parameter() -> None:
    """TLS-Anvil ServerHello.testSessionId (legacy_session_id_echo 01020304).

    RFC 8446 §4.1.3: "A client which receives a legacy_session_id_echo field that does not
    match what it sent in the ClientHello MUST abort the handshake with an "illegal_parameter"
    alert.\""""
    flight = Flight13.start()
    bad = hello_record(flight.server_hello, legacy_session_id_echo=b"\x01\x02\x03\x04")
    rejects(flight.client, bad, ALERT.ILLEGAL_PARAMETER, plaintext=True)


@pytest.mark.parametrize(
    "suite_id", [GREASE, TLS_AES_256_GCM_SHA384.id], ids=["grease", "unoffered"]
)
def test_server_hello_unoffered_cipher_suite_is_illegal_parameter(suite_id: int) -> None:
    """TLS-Anvil ServerHello.testCipherSuite (GREASE_00 as the suite) and
    rfc8701 ServerInitiatedExtensionPoints.selectGreaseCipherSuite.

    RFC 8446 §4.1.3: "A client which receives a cipher suite that was not offered MUST abort
    the handshake with an "illegal_parameter" alert." RFC 8701 §4: the client "MUST fail the
    connection if a GREASE value appears in ... The "cipher_suite" value in a ServerHello"."""
    flight = Flight13.start()
    rejects(
        flight.client,
        hello_record(flight.server_hello, cipher_suite=suite_id),
        ALERT.ILLEGAL_PARAMETER,
        plaintext=True,
    )


def test_server_hello_compression_method_not_zero_aborts() -> None:
    """TLS-Anvil ServerHello.testCompressionValue (legacy_compression_method 1).

    RFC 8446 §4.1.3: "legacy_compression_method: A single byte which MUST have the value 0."
    No alert is named: the client must abort with a fatal alert."""
    flight = Flight13.start()
    rejects(
        flight.client,
        hello_record(flight.server_hello, legacy_compression_method=1),
        None,
        plaintext=True,
    )


@pytest.mark.parametrize(
    "sentinel", [DOWNGRADE_TLS12, DOWNGRADE_TLS11], ids=["DOWNGRD01", "DOWNGRD00"]
)
def test_tls12_server_hello_with_downgrade_sentinel_is_illegal_parameter(sentinel: bytes) -> None:
    """TLS-Anvil ServerHello.testRandomDowngradeValue (a TLS 1.2 ServerHello whose random ends
    in 44 4F 57 4E 47 52 44 01).

    RFC 8446 §4.1.3: "TLS 1.3 clients receiving a ServerHello indicating TLS 1.2 or below MUST
    check that the last 8 bytes are not equal to either of these values. ... If a match is
    found, the client MUST abort the handshake with an "illegal_parameter" alert.\""""
    client, hello = tls12_flight()
    bad = hello_record(hello, random=hello.random[:24] + sentinel)
    rejects(client, bad, ALERT.ILLEGAL_PARAMETER, plaintext=True)


# == client/tls13/rfc8446/HelloRetryRequest ====================================================


def test_hello_retry_request_for_an_unoffered_group_is_illegal_parameter() -> None:
    """TLS-Anvil HelloRetryRequest.helloRetryRequestsUnofferedGroup (secp521r1, not in
    supported_groups).

    RFC 8446 §4.2.8: "the client MUST verify that (1) the selected_group field corresponds to a
    group which was provided in the "supported_groups" extension in the original ClientHello
    ... If either of these checks fails, then the client MUST abort the handshake with an
    "illegal_parameter" alert.\""""
    client, hrr = retry_client()
    bad = hello_record(
        hrr, extensions=with_extensions(hrr.extensions, KeyShareHelloRetryRequest(SECP521R1.id))
    )
    rejects(client, bad, ALERT.ILLEGAL_PARAMETER, plaintext=True)


def test_hello_retry_request_for_the_group_already_shared_is_illegal_parameter() -> None:
    """TLS-Anvil HelloRetryRequest.helloRetryRequestResultsInNoChanges (HRR for x25519, whose
    share the ClientHello already carries).

    RFC 8446 §4.1.4: "Clients MUST abort the handshake with an "illegal_parameter" alert if the
    HelloRetryRequest would not result in any change in the ClientHello." §4.2.8: "(2) the
    selected_group field does not correspond to a group which was provided in the "key_share"
    extension in the original ClientHello.\""""
    client, hrr = retry_client()
    bad = hello_record(
        hrr, extensions=with_extensions(hrr.extensions, KeyShareHelloRetryRequest(X25519.id))
    )
    rejects(client, bad, ALERT.ILLEGAL_PARAMETER, plaintext=True)


@pytest.mark.parametrize(
    "suite_id",
    [TLS_AES_256_GCM_SHA384.id, GREASE, 0xC02B],
    ids=[
        "helloRetryRequestsUnofferedTls13CipherSuite",
        "helloRetryGreaseCipherSuite",
        "helloRetryRequestsTls12CipherSuite",
    ],
)
def test_hello_retry_request_with_a_bad_cipher_suite_is_illegal_parameter(suite_id: int) -> None:
    """TLS-Anvil HelloRetryRequest.helloRetryRequestsUnofferedTls13CipherSuite /
    helloRetryGreaseCipherSuite / helloRetryRequestsTls12CipherSuite (ECDHE_ECDSA_AES128_GCM,
    which the client offers for TLS 1.2).

    RFC 8446 §4.1.4: "Upon receipt of a HelloRetryRequest, the client MUST check the
    legacy_version, legacy_session_id_echo, cipher_suite, and legacy_compression_method as
    specified in Section 4.1.3"; §4.1.3: "A client which receives a cipher suite that was not
    offered MUST abort the handshake with an "illegal_parameter" alert." Appendix B.4: "cipher
    suites for TLS 1.2 and lower cannot be used with TLS 1.3" (no alert named there; the
    TLS 1.2 suite is asserted to abort with a fatal alert)."""
    client, hrr = retry_client(min_version=ProtocolVersion.TLS12)
    expected = None if suite_id == 0xC02B else ALERT.ILLEGAL_PARAMETER
    rejects(client, hello_record(hrr, cipher_suite=suite_id), expected, plaintext=True)


def test_second_hello_retry_request_is_unexpected_message() -> None:
    """TLS-Anvil HelloRetryRequest.sendSecondHelloRetryRequest.

    RFC 8446 §4.1.4: "If a client receives a second HelloRetryRequest in the same connection
    (i.e., where the ClientHello was itself in response to a HelloRetryRequest), it MUST abort
    the handshake with an "unexpected_message" alert.\""""
    client, hrr = retry_client(groups=(X25519, SECP384R1, SECP256R1))
    client.receive_data(hello_record(hrr))
    assert client.data_to_send()  # the second ClientHello
    again = hello_record(
        hrr, extensions=with_extensions(hrr.extensions, KeyShareHelloRetryRequest(SECP256R1.id))
    )
    rejects(client, again, ALERT.UNEXPECTED_MESSAGE, plaintext=True)


def test_server_hello_cipher_suite_differs_from_hello_retry_request_is_illegal_parameter() -> None:
    """TLS-Anvil HelloRetryRequest.cipherSuiteDisparity.

    RFC 8446 §4.1.4: "Upon receiving the ServerHello, clients MUST check that the cipher suite
    supplied in the ServerHello is the same as that in the HelloRetryRequest and otherwise
    abort the handshake with an "illegal_parameter" alert.\""""
    flight = retry_flight(cipher_suites=(SUITE, TLS_CHACHA20_POLY1305_SHA256))
    assert flight.server_hello.cipher_suite == SUITE.id
    bad = hello_record(flight.server_hello, cipher_suite=TLS_CHACHA20_POLY1305_SHA256.id)
    rejects(flight.client, bad, ALERT.ILLEGAL_PARAMETER)


def test_server_hello_group_differs_from_hello_retry_request_is_illegal_parameter() -> None:
    """TLS-Anvil HelloRetryRequest.namedGroupDisparity (HRR for secp384r1, then a ServerHello
    with an x25519 share).

    RFC 8446 §4.2.8: "the client MUST verify that the selected NamedGroup in the ServerHello is
    the same as that in the HelloRetryRequest. If this check fails, the client MUST abort the
    handshake with an "illegal_parameter" alert.\""""
    flight = retry_flight()
    share = KeyShareServerHello(KeyShareEntry(X25519.id, X25519.generate().public_bytes))
    error = rejects(flight.client, flight.server_hello_with(share), ALERT.ILLEGAL_PARAMETER)
    assert "ServerHello group differs from the HelloRetryRequest's" in str(error)


def test_server_hello_version_differs_from_hello_retry_request_is_illegal_parameter() -> None:
    """TLS-Anvil HelloRetryRequest.versionDisparity (supported_versions 0x0305 in the
    ServerHello).

    RFC 8446 §4.1.4: "The value of selected_version in the HelloRetryRequest
    "supported_versions" extension MUST be retained in the ServerHello, and a client MUST abort
    the handshake with an "illegal_parameter" alert if the value changes.\""""
    flight = retry_flight()
    bad = flight.server_hello_with(SupportedVersionsServerHello(selected_version=0x0305))
    rejects(flight.client, bad, ALERT.ILLEGAL_PARAMETER)


def test_hello_retry_request_session_id_echo_mismatch_is_illegal_parameter() -> None:
    """TLS-Anvil HelloRetryRequest.helloRetryLegacySessionId.

    RFC 8446 §4.1.4: the client MUST check "legacy_session_id_echo ... as specified in Section
    4.1.3"; §4.1.3: a mismatch -> "illegal_parameter"."""
    client, hrr = retry_client()
    rejects(
        client,
        hello_record(hrr, legacy_session_id_echo=b"\x01\x02\x03\x04"),
        ALERT.ILLEGAL_PARAMETER,
        plaintext=True,
    )


def test_hello_retry_request_compression_method_not_zero_aborts() -> None:
    """TLS-Anvil HelloRetryRequest.helloRetryCompressionValue.

    RFC 8446 §4.1.4: the client MUST check "legacy_compression_method as specified in Section
    4.1.3"; §4.1.3: "A single byte which MUST have the value 0." (no alert named)."""
    client, hrr = retry_client()
    rejects(client, hello_record(hrr, legacy_compression_method=1), None, plaintext=True)


def test_hello_retry_request_with_a_grease_extension_is_unsupported_extension() -> None:
    """TLS-Anvil HelloRetryRequest.helloRetryGreaseExtension.

    RFC 8446 §4.1.4: "a HelloRetryRequest MUST NOT contain any extensions that were not first
    offered by the client in its ClientHello, with the exception of optionally the "cookie"";
    §4.2: on such an extension "an endpoint MUST abort the handshake with an
    "unsupported_extension" alert." (RFC 8701 §4: "Any ServerHello extension" -> fail.)"""
    client, hrr = retry_client()
    grease = UnknownExtension(ext_type=GREASE, extension_data=bytes(25))
    rejects(
        client,
        hello_record(hrr, extensions=(*hrr.extensions, grease)),
        ALERT.UNSUPPORTED_EXTENSION,
        plaintext=True,
    )


def test_hello_retry_request_selecting_a_grease_version_is_illegal_parameter() -> None:
    """TLS-Anvil HelloRetryRequest.helloRetryGreaseVersionSelected.

    RFC 8446 §4.2.1: "If the "supported_versions" extension in the ServerHello contains a
    version not offered by the client or contains a version prior to TLS 1.3, the client MUST
    abort the handshake with an "illegal_parameter" alert." (RFC 8701 §4: the "version" value
    in a HelloRetryRequest -> fail.)"""
    client, hrr = retry_client()
    bad = hello_record(
        hrr,
        extensions=with_extensions(
            hrr.extensions, SupportedVersionsServerHello(selected_version=GREASE)
        ),
    )
    rejects(client, bad, ALERT.ILLEGAL_PARAMETER, plaintext=True)


def test_second_client_hello_after_hello_retry_request() -> None:
    """TLS-Anvil HelloRetryRequest.actsCorrectlyUponHelloRetryRequest.

    RFC 8446 §4.1.2: "the client MUST send the same ClientHello without modification, except as
    follows: If a "key_share" extension was supplied in the HelloRetryRequest, replacing the list
    of shares with a list containing a single KeyShareEntry from the indicated group" (also
    dropping early_data, adding the cookie, updating pre_shared_key, padding); §5.1: "a record
    containing a second ClientHello or a ServerHello MUST have version 0x0303"."""
    _, hrr = retry_client()
    client = ClientConnection(client_config(groups=(X25519, SECP384R1)), "localhost")
    ch1 = decode_handshake(next(b for t, b in records(client.data_to_send()) if t == HANDSHAKE))
    client.receive_data(hello_record(hrr, legacy_session_id_echo=ch1.legacy_session_id))
    sent = client.data_to_send()
    hello_records = [r for r in records(sent) if r[0] == HANDSHAKE]
    assert len(hello_records) == 1
    assert sent[sent.index(bytes((HANDSHAKE,)) + b"\x03") :][:3] == bytes((HANDSHAKE, 3, 3))
    ch2 = decode_handshake(hello_records[0][1])
    assert isinstance(ch1, ClientHello) and isinstance(ch2, ClientHello)
    shares = ch2.get(KeyShareClientHello).client_shares
    assert [s.group for s in shares] == [SECP384R1.id]
    for field in (
        "legacy_version",
        "random",
        "legacy_session_id",
        "cipher_suites",
        "legacy_compression_methods",
    ):
        assert getattr(ch1, field) == getattr(ch2, field), field
    may_change = {21, 41, 42, 44, 51}  # padding, pre_shared_key, early_data, cookie, key_share
    one = {e.ext_type: e for e in ch1.extensions if e.ext_type not in may_change}
    two = {e.ext_type: e for e in ch2.extensions if e.ext_type not in may_change}
    assert one == two
    assert {e.ext_type for e in ch2.extensions} - {e.ext_type for e in ch1.extensions} <= {21, 44}


def test_cookie_from_hello_retry_request_is_copied() -> None:
    """TLS-Anvil HelloRetryRequest.copiesCookieValue.

    RFC 8446 §4.2.2: "When sending the new ClientHello, the client MUST copy the contents of
    the extension received in the HelloRetryRequest into a "cookie" extension in the new
    ClientHello.\""""
    client, hrr = retry_client()
    cookie = UnknownExtension(ext_type=44, extension_data=b"\x00\x09anvil-123")
    client.receive_data(hello_record(hrr, extensions=(*hrr.extensions, cookie)))
    ch2 = decode_handshake(next(b for t, b in records(client.data_to_send()) if t == HANDSHAKE))
    assert ch2.get(Cookie) is not None and ch2.get(Cookie).cookie == b"anvil-123"


# == client/tls13/rfc8446/KeyShare ==============================================================


@pytest.mark.parametrize(
    "share_groups",
    [
        None,
        (X25519, SECP256R1, SECP384R1),
        (SECP256R1, X25519, SECP384R1),
    ],
    ids=["default", "three-shares", "three-shares-out-of-order"],
)
def test_key_share_entries_follow_supported_groups(share_groups: tuple[Group, ...] | None) -> None:
    """TLS-Anvil KeyShare.testOrderOfKeyshareEntries.

    RFC 8446 §4.2.8: "Each KeyShareEntry value MUST correspond to a group offered in the
    "supported_groups" extension and MUST appear in the same order. ... Clients MUST NOT offer
    multiple KeyShareEntry values for the same group.\""""
    kwargs = (
        {}
        if share_groups is None
        else {"key_share_groups": share_groups, "groups": (X25519, SECP256R1, SECP384R1)}
    )
    hello, _ = first_hello(ClientConfig(**kwargs))
    groups = list(hello.get(SupportedGroups).groups)
    shares = [s.group for s in hello.get(KeyShareClientHello).client_shares]
    assert shares and len(set(shares)) == len(shares)
    positions = [groups.index(g) for g in shares]
    assert positions == sorted(positions)


def test_server_key_share_for_a_group_without_a_client_share_aborts() -> None:
    """TLS-Anvil KeyShare.selectInvalidKeyshare (a secp384r1 share; the client sent x25519).

    RFC 8446 §4.2.8: the server's KeyShareEntry "MUST be in the same group as the
    KeyShareEntry value offered by the client that the server has selected" (no alert named)."""
    flight = Flight13.start(client_config(groups=(X25519, SECP384R1)))
    share = KeyShareServerHello(KeyShareEntry(SECP384R1.id, SECP384R1.generate().public_bytes))
    rejects(flight.client, flight.server_hello_with(share), None)


@pytest.mark.parametrize("group", [SECP256R1, SECP384R1, SECP521R1], ids=lambda g: g.name)
def test_server_share_not_on_the_curve_is_illegal_parameter(group: Group) -> None:
    """TLS-Anvil KeyShare.rejectsPointsNotOnCurve.

    RFC 8446 §4.2.8.2: "peers MUST validate each other's public value Q by ensuring that the
    point is a valid point on the elliptic curve"; §6: a message "syntactically correct but
    semantically invalid ... MUST terminate the connection with an "illegal_parameter" alert."""
    flight = Flight13.start(client_config(groups=(group,)), server_config(groups=(group,)))
    size = len(flight.server_hello.get(KeyShareServerHello).server_share.key_exchange) // 2
    point = b"\x04" + (1).to_bytes(size, "big") + (1).to_bytes(size, "big")
    bad = flight.server_hello_with(KeyShareServerHello(KeyShareEntry(group.id, point)))
    rejects(flight.client, bad, ALERT.ILLEGAL_PARAMETER)


@pytest.mark.parametrize("group", [X25519, X448], ids=lambda g: g.name)
def test_all_zero_x25519_x448_shared_secret_aborts(group: Group) -> None:
    """TLS-Anvil KeyShare.abortsWhenSharedSecretIsZero (a small-order point: zero).

    RFC 8446 §7.4.2: "Implementations MUST check whether the computed Diffie-Hellman shared
    secret is the all-zero value and abort if so"; §6: semantically invalid ->
    "illegal_parameter"."""
    flight = Flight13.start(client_config(groups=(group,)), server_config(groups=(group,)))
    size = len(flight.server_hello.get(KeyShareServerHello).server_share.key_exchange)
    bad = flight.server_hello_with(KeyShareServerHello(KeyShareEntry(group.id, bytes(size))))
    rejects(flight.client, bad, ALERT.ILLEGAL_PARAMETER)


def test_only_tls13_groups_get_key_shares() -> None:
    """TLS-Anvil KeyShare.offeredDeprecatedGroups.

    RFC 8446 §4.2.7: the TLS 1.3 NamedGroups are secp256r1, secp384r1, secp521r1, x25519, x448
    and ffdhe2048..8192; "obsolete_RESERVED(0x0001..0x0016)" etc. are not for TLS 1.3 (the
    hybrid ML-KEM code points of draft-ietf-tls-ecdhe-mlkem are TLS 1.3 groups too)."""
    tls13 = {0x17, 0x18, 0x19, 0x1D, 0x1E, *range(0x100, 0x105), 0x11EB, 0x11EC, 0x11ED}
    for config in (ClientConfig(), ClientConfig(key_share_groups=(X25519, SECP256R1, FFDHE2048))):
        hello, _ = first_hello(config)
        assert {s.group for s in hello.get(KeyShareClientHello).client_shares} <= tls13


@pytest.mark.parametrize("value", ["0", "1", "p-1", "p", "p+1"])
def test_ffdhe_share_out_of_bounds_is_illegal_parameter(value: str) -> None:
    """TLS-Anvil KeyShare.ffdheShareOutOfBounds.

    RFC 8446 §4.2.8.1: "Peers MUST validate each other's public key Y by ensuring that
    1 < Y < p-1."; §6: "a DHE share of p - 1" is the example of a semantically invalid message
    that "MUST terminate the connection with an "illegal_parameter" alert."""
    flight = Flight13.start(client_config(groups=(FFDHE2048,)), server_config(groups=(FFDHE2048,)))
    p = FFDHE2048.p
    y = {"0": 0, "1": 1, "p-1": p - 1, "p": p, "p+1": p + 1}[value]
    share = KeyShareServerHello(KeyShareEntry(FFDHE2048.id, y.to_bytes(256, "big")))
    rejects(flight.client, flight.server_hello_with(share), ALERT.ILLEGAL_PARAMETER)


def test_ffdhe_share_without_its_leading_zero_octet_is_illegal_parameter() -> None:
    """A valid Y below 256**255 sent in 255 octets (Erlang/OTP 25's server does this one time in
    256). RFC 8446 §4.2.8.1: Y is "encoded as a big-endian integer and padded to the left with
    zeros to the size of p in bytes"; OpenSSL 3.0 refuses it with illegal_parameter too."""
    flight = Flight13.start(client_config(groups=(FFDHE2048,)), server_config(groups=(FFDHE2048,)))
    y = (FFDHE2048.p >> 16).to_bytes(256, "big")
    assert y[0] == 0
    share = KeyShareServerHello(KeyShareEntry(FFDHE2048.id, y[1:]))
    rejects(flight.client, flight.server_hello_with(share), ALERT.ILLEGAL_PARAMETER)


# == client/tls13/rfc8446/Certificate, CertificateVerify =======================================


@pytest.mark.parametrize("form", ["emptyCertificateList", "emptyCertificateMessage"])
def test_empty_server_certificate_is_decode_error(form: str) -> None:
    """TLS-Anvil Certificate.emptyCertificateList (certificate_list of length 0) /
    Certificate.emptyCertificateMessage (a Certificate without any body).

    RFC 8446 §4.4.2.4: "If the server supplies an empty Certificate message, the client MUST
    abort the handshake with a "decode_error" alert.\""""
    flight = Flight13.start()
    body = b"\x00\x00\x00\x00" if form == "emptyCertificateList" else b""
    bad = flight.sealed(flight.replaced(HT.CERTIFICATE, frame(HT.CERTIFICATE, body)))
    rejects(flight.client, bad, ALERT.DECODE_ERROR)


def test_server_certificate_with_a_request_context_is_illegal_parameter() -> None:
    """The server's Certificate with a one-byte certificate_request_context, the chain as it
    was. RFC 8446 §4.4.2: "Otherwise (in the case of server authentication), this field SHALL
    be zero length"; we answer illegal_parameter, the chain is not even looked at."""
    flight = Flight13.start()
    original = flight.flight[flight.find(HT.CERTIFICATE)]
    assert original[4] == 0  # the empty context the server sent
    body = b"\x01\x07" + original[5:]
    bad = flight.sealed(flight.replaced(HT.CERTIFICATE, frame(HT.CERTIFICATE, body)))
    error = rejects(flight.client, bad, ALERT.ILLEGAL_PARAMETER)
    assert "empty request context" in str(error)


def rsa_flight(**client_kwargs: Any) -> Flight13:
    return Flight13.start(client_config(**client_kwargs), server_config(certificates=(rsa_cert(),)))


@pytest.mark.parametrize(
    ("scheme", "digest"),
    [
        (S.RSA_PKCS1_SHA256, hashes.SHA256()),
        (S.RSA_PKCS1_SHA384, hashes.SHA384()),
        (S.RSA_PKCS1_SHA1, hashes.SHA1()),  # noqa: S303 (the point of the test)
    ],
    ids=["rsa_pkcs1_sha256", "rsa_pkcs1_sha384", "rsa_pkcs1_sha1"],
)
def test_rsa_pkcs1_certificate_verify_aborts(scheme: int, digest: hashes.HashAlgorithm) -> None:
    """TLS-Anvil CertificateVerify.selectLegacyRSASignatureAlgorithm (a valid RSASSA-PKCS1-v1_5
    signature; rsa_pkcs1_sha256/384 are in our signature_algorithms).

    RFC 8446 §4.4.3: "RSA signatures MUST use an RSASSA-PSS algorithm, regardless of whether
    RSASSA-PKCS1-v1_5 algorithms appear in "signature_algorithms". The SHA-1 algorithm MUST NOT
    be used in any signatures of CertificateVerify messages." (no alert named)."""
    flight = rsa_flight()
    key = rsa_cert().private_key
    bad = flight.resigned(scheme, lambda content: key.sign(content, padding.PKCS1v15(), digest))
    rejects(flight.client, flight.sealed(bad), None)


def test_ecdsa_sha1_certificate_verify_aborts() -> None:
    """TLS-Anvil CertificateVerify.selectLegacyECDSASignatureAlgorithm (ecdsa_sha1, a valid
    signature).

    RFC 8446 §4.4.3: "The SHA-1 algorithm MUST NOT be used in any signatures of
    CertificateVerify messages." (no alert named)."""
    flight = Flight13.start()
    key = server_cert().private_key
    bad = flight.resigned(
        S.ECDSA_SHA1,
        lambda content: key.sign(content, ec.ECDSA(hashes.SHA1())),  # noqa: S303
    )
    rejects(flight.client, flight.sealed(bad), None)


@pytest.mark.parametrize("where", ["first", "last"])
def test_certificate_verify_with_a_bad_signature_is_decrypt_error(where: str) -> None:
    """TLS-Anvil CertificateVerify.invalidSignature (a bitmask over the signature).

    RFC 8446 §4.4.3: "The receiver of a CertificateVerify message MUST verify the signature
    field. If the verification fails, the receiver MUST terminate the handshake with a
    "decrypt_error" alert.\""""
    flight = Flight13.start()
    cv = flight.decoded(HT.CERTIFICATE_VERIFY)
    at = 0 if where == "first" else len(cv.signature) - 1
    signature = bytearray(cv.signature)
    signature[at] ^= 0x01
    bad = encode_handshake(CertificateVerify(cv.algorithm, bytes(signature)))
    rejects(
        flight.client,
        flight.sealed(flight.replaced(HT.CERTIFICATE_VERIFY, bad)),
        ALERT.DECRYPT_ERROR,
    )


def test_certificate_verify_with_an_unoffered_scheme_aborts() -> None:
    """TLS-Anvil CertificateVerify.acceptsUnproposedSignatureAndHash (client offers
    rsa_pss_rsae_sha256 only; the server signs validly with rsa_pss_rsae_sha384).

    RFC 8446 §4.4.3: "If the CertificateVerify message is sent by a server, the signature
    algorithm MUST be one offered in the client's "signature_algorithms" extension unless no
    valid certificate chain can be produced without unsupported algorithms" (no alert named)."""
    flight = rsa_flight(signature_schemes=(S.RSA_PSS_RSAE_SHA256,))
    assert flight.decoded(HT.CERTIFICATE_VERIFY).algorithm == S.RSA_PSS_RSAE_SHA256
    key = rsa_cert().private_key
    bad = flight.resigned(S.RSA_PSS_RSAE_SHA384, lambda c: sign(S.RSA_PSS_RSAE_SHA384, key, c))
    rejects(flight.client, flight.sealed(bad), None)


def test_certificate_verify_with_a_grease_scheme_aborts() -> None:
    """TLS-Anvil rfc8701
    ServerInitiatedExtensionPoints.sendCertificateVerifyGreaseSignatureAlgorithm.

    RFC 8701 §4: "the client MUST fail the connection if a GREASE value appears in any of the
    following: ... The signature algorithm in a server CertificateVerify signature in TLS 1.3";
    RFC 8446 §4.4.3: the algorithm "MUST be one offered in the client's
    "signature_algorithms" extension" (no alert named)."""
    flight = Flight13.start()
    cv = flight.decoded(HT.CERTIFICATE_VERIFY)
    bad = encode_handshake(CertificateVerify(GREASE, cv.signature))
    rejects(flight.client, flight.sealed(flight.replaced(HT.CERTIFICATE_VERIFY, bad)), None)


def test_certificate_verify_with_an_empty_signature_is_decrypt_error() -> None:
    """TLS-Anvil CertificateVerify.emptySignature.

    RFC 8446 §4.4.3 (``opaque signature<0..2^16-1>``, so it decodes): "The receiver of a
    CertificateVerify message MUST verify the signature field. If the verification fails, the
    receiver MUST terminate the handshake with a "decrypt_error" alert.\""""
    flight = Flight13.start()
    cv = flight.decoded(HT.CERTIFICATE_VERIFY)
    bad = encode_handshake(CertificateVerify(cv.algorithm, b""))
    rejects(
        flight.client,
        flight.sealed(flight.replaced(HT.CERTIFICATE_VERIFY, bad)),
        ALERT.DECRYPT_ERROR,
    )


@pytest.mark.parametrize("form", ["emptySigAlgorithm", "emptyBoth"])
def test_certificate_verify_without_its_algorithm_aborts(form: str) -> None:
    """TLS-Anvil CertificateVerify.emptySigAlgorithm (the algorithm field left out) /
    CertificateVerify.emptyBoth (algorithm and signature left out: an empty body).

    RFC 8446 §6: "Peers which receive a message which cannot be parsed according to the syntax
    ... MUST terminate the connection with a "decode_error" alert." (the empty body cannot be
    parsed; without its algorithm the signature's bytes are read as one, so only the abort is
    asserted there)."""
    flight = Flight13.start()
    cv = flight.decoded(HT.CERTIFICATE_VERIFY)
    body = b"" if form == "emptyBoth" else len(cv.signature).to_bytes(2, "big") + cv.signature
    bad = flight.sealed(flight.replaced(HT.CERTIFICATE_VERIFY, frame(HT.CERTIFICATE_VERIFY, body)))
    rejects(flight.client, bad, ALERT.DECODE_ERROR if form == "emptyBoth" else None)


# == client/tls13/rfc8446/ClientAuthentication =================================================


def test_client_without_a_certificate_answers_with_an_empty_certificate() -> None:
    """TLS-Anvil ClientAuthentication.clientSendsCertificateAndFinMessage (the server asks for a
    certificate, the client has none).

    RFC 8446 §4.4.2: "If the server requests client authentication but no suitable certificate
    is available, the client MUST send a Certificate message containing no certificates"; §4.4.3
    (CertificateVerify is sent only with a certificate); §4.4.4: then its Finished."""
    cadata = server_cert().leaf.public_bytes(Encoding.PEM)
    flight = Flight13.start(server=server_config(client_auth="optional", client_cadata=cadata))
    assert any(m[0] == HT.CERTIFICATE_REQUEST for m in flight.flight)
    events = flight.client.receive_data(flight.sealed(flight.flight))
    assert any(isinstance(e, HandshakeComplete) for e in events)
    sent = [
        m
        for t, c in opened(
            flight.secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"], flight.client.data_to_send()
        )
        for m in messages(c)
        if t == HANDSHAKE
    ]
    assert [m[0] for m in sent] == [HT.CERTIFICATE, HT.FINISHED]
    certificate = decode_handshake(sent[0])
    assert isinstance(certificate, Certificate) and certificate.certificate_list == ()


# == client/tls13/rfc8446/ClientHello, Cookie, PreSharedKey, SupportedVersions (ClientHello) ====


def test_client_hello_legacy_version_and_supported_versions() -> None:
    """TLS-Anvil ClientHello.checkLegacyVersion / SupportedVersions.supportedVersionContainsTls13.

    RFC 8446 §4.1.2: "the legacy_version field MUST be set to 0x0303"; §4.2.1: "Implementations
    of this specification MUST send this extension in the ClientHello containing all versions
    of TLS which they are prepared to negotiate (for this specification, that means minimally
    0x0304, but if previous versions of TLS are allowed to be negotiated, they MUST be present
    as well).\""""
    for config, versions in (
        (ClientConfig(), [0x0304, 0x0303]),
        (ClientConfig(min_version=ProtocolVersion.TLS13), [0x0304]),
    ):
        hello, _ = first_hello(config)
        assert hello.legacy_version == 0x0303
        assert list(hello.get(SupportedVersionsClientHello).versions) == versions


def test_client_hello_extensions_are_valid() -> None:
    """TLS-Anvil ClientHello.checkExtensionsValidity / Cookie.clientHelloContainsCookieExtension.

    RFC 8446 §4.2: "There MUST NOT be more than one extension of the same type in a given
    extension block."; §4.2.2: "Clients MUST NOT use cookies in their initial ClientHello in
    subsequent connections."; Appendix D.5: "Implementations MUST NOT use the Truncated HMAC
    extension" (type 4)."""
    hello, _ = first_hello()
    types = [e.ext_type for e in hello.extensions]
    assert len(types) == len(set(types))
    assert 44 not in types and 4 not in types


def test_client_hello_has_the_mandatory_extensions() -> None:
    """TLS-Anvil ClientHello.checkMandatoryExtensions.

    RFC 8446 §9.2: "If not containing a "pre_shared_key" extension, it MUST contain both a
    "signature_algorithms" extension and a "supported_groups" extension. ... If containing a
    "supported_groups" extension, it MUST also contain a "key_share" extension, and vice
    versa.\""""
    hello, _ = first_hello()
    assert hello.get(PreSharedKeyClientHello) is None
    for kind in (SignatureAlgorithms, SupportedGroups, KeyShareClientHello):
        assert hello.get(kind) is not None, kind


@pytest.mark.parametrize("compat", [True, False])
def test_client_hello_legacy_session_id(compat: bool) -> None:
    """TLS-Anvil ClientHello.checkLegacySessionId.

    RFC 8446 §4.1.2: "In compatibility mode (see Appendix D.4), this field MUST be non-empty, so
    a client not offering a pre-TLS 1.3 session MUST generate a new 32-byte value. ...
    Otherwise, it MUST be set as a zero-length vector.\""""
    hello, _ = first_hello(ClientConfig(middlebox_compatibility=compat))
    assert len(hello.legacy_session_id) == (32 if compat else 0)


def test_pre_shared_key_is_the_last_extension() -> None:
    """TLS-Anvil PreSharedKey.isLastExtension (disabled in TLS-Anvil; the rule stands).

    RFC 8446 §4.2.11: "The "pre_shared_key" extension MUST be the last extension in the
    ClientHello (this facilitates implementation as described below).\""""
    psk = ExternalPsk(identity=b"client-1", key=bytes(range(32)))
    hello, _ = first_hello(client_config(external_psks=(psk,)))
    assert isinstance(hello.extensions[-1], PreSharedKeyClientHello)


def test_client_records_have_tls12_or_tls10_versions() -> None:
    """TLS-Anvil RecordProtocol.checkMinimumRecordProtocolVersions.

    RFC 8446 §5.1: "legacy_record_version: MUST be set to 0x0303 for all records generated by a
    TLS 1.3 implementation other than an initial ClientHello ..., where it MAY also be 0x0301
    for compatibility purposes." Appendix D.5: "Implementations MUST NOT send any records with
    a version less than 0x0300.\""""
    client = ClientConnection(client_config(), "localhost")
    server = ServerConnection(server_config(session_tickets=1))
    sent = client.data_to_send()
    server.receive_data(sent)
    client.receive_data(server.data_to_send())
    client.send(b"ping")
    client.key_update()
    client.close()
    sent += client.data_to_send()
    versions = [sent_record[1:3] for sent_record in _raw_records(sent)]
    assert versions[0] in (b"\x03\x01", b"\x03\x03")
    assert set(versions[1:]) == {b"\x03\x03"} and len(versions) > 3


def _raw_records(data: bytes) -> list[bytes]:
    out = []
    while data:
        end = 5 + int.from_bytes(data[3:5], "big")
        out.append(data[:end])
        data = data[end:]
    return out


# == client/tls13/rfc8446/EncryptedExtensions, Extensions, PreSharedKeyExchangeModes ===========


@pytest.mark.parametrize(
    ("ext_type", "data"),
    [(43, b"\x03\x04"), (21, b"\x00\x00")],
    ids=["sendSupportedVersionsExtensionInEE", "sendPaddingExtensionInEE"],
)
def test_forbidden_extension_in_encrypted_extensions_is_illegal_parameter(
    ext_type: int, data: bytes
) -> None:
    """TLS-Anvil EncryptedExtensions.sendSupportedVersionsExtensionInEE /
    sendPaddingExtensionInEE.

    RFC 8446 §4.3.1: "The client MUST check EncryptedExtensions for the presence of any
    forbidden extensions and if any are found MUST abort the handshake with an
    "illegal_parameter" alert.\""""
    flight = Flight13.start()
    rejects(
        flight.client,
        flight.with_ee(UnknownExtension(ext_type=ext_type, extension_data=data)),
        ALERT.ILLEGAL_PARAMETER,
    )


@pytest.mark.parametrize(
    ("ext_type", "data"),
    [(0, b""), (1, b"\x01"), (16, b"\x00\x03\x02h2")],
    ids=["SERVER_NAME_INDICATION", "MAX_FRAGMENT_LENGTH", "ALPN"],
)
def test_unrequested_extension_in_encrypted_extensions_is_unsupported_extension(
    ext_type: int, data: bytes
) -> None:
    """TLS-Anvil Extensions.sendAdditionalExtension (and, as the client never sends
    max_fragment_length, EncryptedExtensions.unrequestedMaximumFragmentLength).

    RFC 8446 §4.2: "Implementations MUST NOT send extension responses if the remote endpoint
    did not send the corresponding extension requests ... Upon receiving such an extension, an
    endpoint MUST abort the handshake with an "unsupported_extension" alert.\""""
    flight = Flight13.start(server_name="127.0.0.1")
    hello = decode_handshake(flight.client_hello)
    assert ext_type not in {e.ext_type for e in hello.extensions}
    rejects(
        flight.client,
        flight.with_ee(UnknownExtension(ext_type=ext_type, extension_data=data)),
        ALERT.UNSUPPORTED_EXTENSION,
    )


@pytest.mark.parametrize(
    ("ext_type", "data"),
    [(15, b"\x01"), (45, b"\x01\x01")],
    ids=["sendHeartBeatExtensionInSH", "sendPSKModeExtension"],
)
def test_client_hello_only_extension_in_server_hello_is_illegal_parameter(
    ext_type: int, data: bytes
) -> None:
    """TLS-Anvil Extensions.sendHeartBeatExtensionInSH /
    PreSharedKeyExchangeModes.sendPSKModeExtension.

    RFC 8446 §4.2: "If an implementation receives an extension which it recognizes and which is
    not specified for the message in which it appears, it MUST abort the handshake with an
    "illegal_parameter" alert." §4.2.9: "The server MUST NOT send a "psk_key_exchange_modes"
    extension." (Both extensions are CH (heartbeat: CH, EE) in the §4.2 table.)"""
    psk = ExternalPsk(identity=b"client-1", key=bytes(range(32)))
    flight = Flight13.start(client_config(external_psks=(psk,)))
    bad = flight.server_hello_with(UnknownExtension(ext_type=ext_type, extension_data=data))
    rejects(flight.client, bad, ALERT.ILLEGAL_PARAMETER)


# == client/tls13/rfc8446/NewSessionTicket, rfc8701 ============================================


@pytest.mark.parametrize(
    "ext_type",
    [0x4423, 0x0A0A, 0x5A5A, 0xFAFA],
    ids=["ignoresUnknownNewSessionTicketExtension", "grease-0a0a", "grease-5a5a", "grease-fafa"],
)
def test_unknown_or_grease_new_session_ticket_extension_is_ignored(ext_type: int) -> None:
    """TLS-Anvil NewSessionTicket.ignoresUnknownNewSessionTicketExtension (type 0x4423, 25 bytes)
    / rfc8701 ServerInitiatedExtensionPoints.advertiseGreaseExtensionsInSessionTicket.

    RFC 8446 §4.6.1: "Clients MUST ignore unrecognized extensions." RFC 8701 §4: "When
    processing a CertificateRequest or NewSessionTicket, clients MUST NOT treat GREASE values
    differently from any unknown value.\""""
    conn = Established.start()
    ext = UnknownExtension(ext_type=ext_type, extension_data=bytes(range(25)))
    ticket = encode_handshake(NewSessionTicket(3600, 7, b"\x00", b"ticket", (ext,)))
    events = conn.client.receive_data(conn.seal(ticket))
    assert [type(e) for e in events] == [SessionTicketReceived]
    assert conn.client.state is ConnectionState.APP_DATA
    assert conn.client.data_to_send() == b""


def test_server_hello_selecting_a_grease_version_is_illegal_parameter() -> None:
    """TLS-Anvil rfc8701 ServerInitiatedExtensionPoints.selectGreaseVersion.

    RFC 8446 §4.2.1: a version "not offered by the client ... the client MUST abort the
    handshake with an "illegal_parameter" alert.\""""
    flight = Flight13.start()
    bad = flight.server_hello_with(SupportedVersionsServerHello(selected_version=GREASE))
    rejects(flight.client, bad, ALERT.ILLEGAL_PARAMETER, plaintext=True)


@pytest.mark.parametrize("where", ["ServerHello", "EncryptedExtensions"])
def test_grease_extension_from_the_server_is_unsupported_extension(where: str) -> None:
    """TLS-Anvil rfc8701 ServerInitiatedExtensionPoints.sendServerHelloGreaseExtension /
    sendEncryptedExtensionsGreaseExtension.

    RFC 8701 §4: "the client MUST fail the connection if a GREASE value appears in any of the
    following: ... Any ServerHello extension ... Any EncryptedExtensions extension"; RFC 8446
    §4.2: an extension response not requested -> "unsupported_extension"."""
    flight = Flight13.start()
    grease = UnknownExtension(ext_type=0x1A1A, extension_data=bytes(25))
    bad = flight.server_hello_with(grease) if where == "ServerHello" else flight.with_ee(grease)
    rejects(flight.client, bad, ALERT.UNSUPPORTED_EXTENSION)


# == client/tls13/rfc8446/SupportedVersions ====================================================


@pytest.mark.parametrize("legacy_version", [0x0505, 0x0304], ids=["0x0505", "0x0304"])
def test_server_hello_legacy_version_is_ignored_with_supported_versions(
    legacy_version: int,
) -> None:
    """TLS-Anvil SupportedVersions.invalidLegacyVersion (legacy_version 0x0505 or 0x0304 next to
    supported_versions 0x0304; the handshake must complete).

    RFC 8446 §4.2.1: "If this extension is present, clients MUST ignore the
    ServerHello.legacy_version value and MUST use only the "supported_versions" extension to
    determine the selected version." (The flight is keyed again over the changed ServerHello.)"""
    flight = Flight13.start(client_config(groups=(X25519,)))
    hello = encode_handshake(
        dataclasses.replace(flight.server_hello, legacy_version=legacy_version, raw=b"")
    )
    events = flight.client.receive_data(flight.rekeyed(hello))
    assert any(isinstance(e, HandshakeComplete) for e in events)


def test_rekeyed_flight_with_an_unchanged_server_hello_completes() -> None:
    """Control for the test above: the rekeying helper itself yields a working flight (a
    ServerHello re-encoded unchanged completes the handshake; RFC 8446 §7.1)."""
    flight = Flight13.start(client_config(groups=(X25519,)))
    hello = encode_handshake(dataclasses.replace(flight.server_hello, raw=b""))
    events = flight.client.receive_data(flight.rekeyed(hello))
    assert any(isinstance(e, HandshakeComplete) for e in events)


@pytest.mark.parametrize(
    "min_version",
    [ProtocolVersion.TLS12, ProtocolVersion.TLS13],
    ids=["selectOlderTlsVersionInTls12", "selectOlderTlsVersion"],
)
def test_supported_versions_selecting_tls12_is_illegal_parameter(
    min_version: ProtocolVersion,
) -> None:
    """TLS-Anvil SupportedVersions.selectOlderTlsVersionInTls12 / selectOlderTlsVersion
    (supported_versions 0x0303 in the ServerHello).

    RFC 8446 §4.2.1: "If the "supported_versions" extension in the ServerHello contains a
    version not offered by the client or contains a version prior to TLS 1.3, the client MUST
    abort the handshake with an "illegal_parameter" alert.\""""
    flight = Flight13.start(client_config(min_version=min_version))
    bad = flight.server_hello_with(SupportedVersionsServerHello(selected_version=0x0303))
    rejects(flight.client, bad, ALERT.ILLEGAL_PARAMETER, plaintext=True)


@pytest.mark.parametrize(
    ("min_version", "legacy_version"),
    [
        (ProtocolVersion.TLS12, 0x0301),
        (ProtocolVersion.TLS12, 0x0302),
        (ProtocolVersion.TLS13, 0x0303),
        (ProtocolVersion.TLS12, 0x0305),
        (ProtocolVersion.TLS12, 0x0404),
        (ProtocolVersion.TLS12, 0x0503),
        (ProtocolVersion.TLS12, 0x9904),
    ],
    ids=[
        "TLS10",
        "TLS11",
        "TLS12-to-1.3-only",
        "undefined-0305",
        "undefined-0404",
        "undefined-0503",
        "undefined-9904",
    ],
)
def test_server_hello_with_an_unsupported_legacy_version_is_protocol_version(
    min_version: ProtocolVersion, legacy_version: int
) -> None:
    """TLS-Anvil SupportedVersions.negotiateUnproposedOldProtocolVersion (TLS 1.0/1.1/1.2 not
    offered) / legacyNegotiateUndefinedProtocolVersion (0x0305, 0x0404, 0x0503, 0x9904):
    a ServerHello without supported_versions.

    RFC 8446 §4.2.1 (and Appendix D.1): "If the version chosen by the server is not supported
    by the client (or is not acceptable), the client MUST abort the handshake with a
    "protocol_version" alert.\""""
    client, hello = tls12_flight(min_version=min_version)
    bad = hello_record(hello, legacy_version=legacy_version)
    rejects(client, bad, ALERT.PROTOCOL_VERSION, plaintext=True)


# == client/tls13/statemachine/StateMachine, client/both/statemachine ==========================


def test_finished_without_certificate_is_unexpected_message() -> None:
    """TLS-Anvil StateMachine.sendFinishedWithoutCert (CVE-2020-24613; EncryptedExtensions,
    then a Finished valid over that transcript).

    RFC 8446 §4: "Protocol messages MUST be sent in the order defined in Section 4.4.1 ... A
    peer which receives a handshake message in an unexpected order MUST abort the handshake with
    an "unexpected_message" alert." (A certificate-authenticated server sends Certificate and
    CertificateVerify, §4.4.2, §4.4.3.)"""
    flight = Flight13.start()
    bad = flight.refinished(flight.without(HT.CERTIFICATE, HT.CERTIFICATE_VERIFY))
    rejects(flight.client, flight.sealed(bad), ALERT.UNEXPECTED_MESSAGE)


def test_missing_certificate_verify_is_unexpected_message() -> None:
    """TLS-Anvil StateMachine.omitCertificateVerify.

    RFC 8446 §4.4.3: "Servers MUST send this message when authenticating via a certificate";
    §4: a handshake message in an unexpected order -> "unexpected_message"."""
    flight = Flight13.start()
    rejects(
        flight.client,
        flight.sealed(flight.refinished(flight.without(HT.CERTIFICATE_VERIFY))),
        ALERT.UNEXPECTED_MESSAGE,
    )


@pytest.mark.parametrize(
    ("msg_type", "body"),
    [(HT.END_OF_EARLY_DATA, b""), (HT.KEY_UPDATE, b"\x01")],
    ids=["sendEndOfEarlyDataAsServer", "sendKeyUpdateBeforeFinished"],
)
def test_end_of_early_data_or_key_update_instead_of_finished_is_unexpected_message(
    msg_type: int, body: bytes
) -> None:
    """TLS-Anvil StateMachine.sendEndOfEarlyDataAsServer /
    both KeyUpdate.sendKeyUpdateBeforeFinished.

    RFC 8446 §4.5: "Servers MUST NOT send this message, and clients receiving it MUST terminate
    the connection with an "unexpected_message" alert." §4.6.3: "Implementations that receive a
    KeyUpdate message prior to receiving a Finished message MUST terminate the connection with
    an "unexpected_message" alert.\""""
    flight = Flight13.start()
    rejects(
        flight.client,
        flight.sealed([*flight.without(HT.FINISHED), frame(msg_type, body)]),
        ALERT.UNEXPECTED_MESSAGE,
    )


def test_protected_change_cipher_spec_during_the_handshake_is_unexpected_message() -> None:
    """TLS-Anvil StateMachine.sendHandshakeTrafficSecretEncryptedChangeCipherSpec.

    RFC 8446 §5: "An implementation which receives any other change_cipher_spec value or which
    receives a protected change_cipher_spec record MUST abort the handshake with an
    "unexpected_message" alert.\""""
    flight = Flight13.start()
    bad = flight.each_sealed((ContentType.CHANGE_CIPHER_SPEC, b"\x01"))
    rejects(flight.client, bad, ALERT.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize(
    "protected",
    [True, False],
    ids=[
        "sendAppTrafficSecretEncryptedChangeCipherSpec",
        "sendLegacyChangeCipherSpecAfterFinished",
    ],
)
def test_change_cipher_spec_after_the_handshake_is_unexpected_message(protected: bool) -> None:
    """TLS-Anvil StateMachine.sendAppTrafficSecretEncryptedChangeCipherSpec /
    sendLegacyChangeCipherSpecAfterFinished.

    RFC 8446 §5: a protected change_cipher_spec record -> "unexpected_message"; "If an
    implementation detects a change_cipher_spec record received before the first ClientHello
    message or after the peer's Finished message, it MUST be treated as an unexpected record
    type"; "If a TLS implementation receives an unexpected record type, it MUST terminate the
    connection with an "unexpected_message" alert.\""""
    conn = Established.start()
    data = (
        conn.server_sealer.seal(ContentType.CHANGE_CIPHER_SPEC, b"\x01")
        if protected
        else record(CCS, b"\x01")
    )
    rejects(conn.client, data, ALERT.UNEXPECTED_MESSAGE)


ECDHE_SKE = frame(12, b"\x03\x00\x17\x41\x04" + bytes(64) + b"\x04\x03\x00\x02\x00\x00")
DHE_SKE = frame(12, b"\x00\x01\x17\x00\x01\x02\x00\x01\x05\x04\x01\x00\x02\x00\x00")


@pytest.mark.parametrize(
    "extra",
    [b"", ECDHE_SKE, DHE_SKE],
    ids=[
        "sendLegacyFlowCertificate",
        "sendLegacyFlowECDHEKeyExchange",
        "sendLegacyFlowDHEKeyExchange",
    ],
)
def test_unprotected_tls12_flight_after_a_tls13_server_hello_aborts(extra: bytes) -> None:
    """TLS-Anvil StateMachine.sendLegacyFlowCertificate / sendLegacyFlowECDHEKeyExchange /
    sendLegacyFlowDHEKeyExchange (after a TLS 1.3 ServerHello, a plaintext Certificate and
    ServerKeyExchange).

    RFC 8446 §5.2: after the ServerHello the records are protected and "The outer opaque_type
    field of a TLSCiphertext record is always set to the value 23 (application_data)"; §4: a
    message out of order -> "unexpected_message". No alert is named for the unprotected record:
    the abort is asserted."""
    flight = Flight13.start()
    rejects(
        flight.client,
        flight.plain[0] + record(HANDSHAKE, flight.flight[flight.find(HT.CERTIFICATE)] + extra),
        None,
    )


def test_application_data_instead_of_server_hello_is_unexpected_message() -> None:
    """TLS-Anvil StateMachine.beginWithApplicationData (SharedStateMachineTest).

    RFC 8446 §5: "If a TLS implementation receives an unexpected record type, it MUST terminate
    the connection with an "unexpected_message" alert.\""""
    client = ClientConnection(client_config(), "localhost")
    client.data_to_send()
    rejects(client, record(APPLICATION_DATA, b"Test"), ALERT.UNEXPECTED_MESSAGE, plaintext=True)


def test_finished_instead_of_server_hello_is_unexpected_message() -> None:
    """TLS-Anvil StateMachine.beginWithFinished (SharedStateMachineTest).

    RFC 8446 §4: "A peer which receives a handshake message in an unexpected order MUST abort
    the handshake with an "unexpected_message" alert.\""""
    client = ClientConnection(client_config(), "localhost")
    client.data_to_send()
    rejects(
        client,
        record(HANDSHAKE, frame(HT.FINISHED, bytes(32))),
        ALERT.UNEXPECTED_MESSAGE,
        plaintext=True,
    )


def test_two_server_hellos_in_one_record_are_unexpected_message() -> None:
    """TLS-Anvil StateMachine.sendServerHelloTwice (SharedStateMachineTest: both in one send).

    RFC 8446 §5.1: "Handshake messages MUST NOT span key changes. Implementations MUST verify
    that all messages immediately preceding a key change align with a record boundary; if not,
    then they MUST terminate the connection with an "unexpected_message" alert." (The keys
    change after the first ServerHello.)"""
    flight = Flight13.start()
    hello = records(flight.plain[0])[0][1]
    rejects(flight.client, record(HANDSHAKE, hello + hello), ALERT.UNEXPECTED_MESSAGE)


# == client/tls13/rfc8446/RecordLayer ==========================================================


@pytest.mark.parametrize(
    "before", [HT.ENCRYPTED_EXTENSIONS, HT.CERTIFICATE, HT.CERTIFICATE_VERIFY, HT.FINISHED]
)
def test_protected_handshake_record_with_empty_content_is_unexpected_message(before: int) -> None:
    """TLS-Anvil RecordLayer.sendEmptyZeroLengthRecords (before EncryptedExtensions, Certificate
    or CertificateVerify) / RecordLayer.zeroLengthRecord_Finished.

    RFC 8446 §5.4: "Implementations MUST NOT send Handshake and Alert records that have a
    zero-length TLSInnerPlaintext.content; if such a message is received, the receiving
    implementation MUST terminate the connection with an "unexpected_message" alert.\""""
    flight = Flight13.start()
    at = flight.find(before)
    fragments = [(ContentType.HANDSHAKE, m) for m in flight.flight]
    fragments.insert(at, (ContentType.HANDSHAKE, b""))
    rejects(flight.client, flight.each_sealed(*fragments), ALERT.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize(
    "description", [ALERT.UNEXPECTED_MESSAGE, ALERT.HANDSHAKE_FAILURE, ALERT.DECODE_ERROR]
)
def test_alert_inside_a_fragmented_certificate_ends_the_handshake(
    description: AlertDescription,
) -> None:
    """TLS-Anvil RecordLayer.interleaveRecords (EncryptedExtensions, 20 bytes of Certificate,
    then a warning-level alert record, then the rest).

    RFC 8446 §5.1: "Handshake messages MUST NOT be interleaved with other record types."; §6:
    "All the alerts listed in Section 6.2 MUST be sent with AlertLevel=fatal and MUST be treated
    as error alerts when received regardless of the AlertLevel in the message." The client must
    not finish the handshake."""
    flight = Flight13.start()
    certificate = flight.flight[flight.find(HT.CERTIFICATE)]
    data = flight.each_sealed(
        (ContentType.HANDSHAKE, flight.flight[0]),
        (ContentType.HANDSHAKE, certificate[:20]),
        (ContentType.ALERT, bytes((1, description))),
        (
            ContentType.HANDSHAKE,
            certificate[20:] + b"".join(flight.flight[flight.find(HT.CERTIFICATE) + 1 :]),
        ),
    )
    with pytest.raises(AlertReceived):
        flight.client.receive_data(data)
    assert flight.client.state is ConnectionState.FAILED


@pytest.mark.parametrize("where", ["after-ServerHello", "after-Finished"])
def test_handshake_message_spanning_a_key_change_is_unexpected_message(where: str) -> None:
    """TLS-Anvil RecordLayer.incompleteCertVerifyBeforeFinished, adapted: TLS-Anvil cuts the
    CertificateVerify short before the Finished, which leaves the client waiting for the rest
    (no key change is crossed). The rule it cites is replayed where a key change falls: the
    start of EncryptedExtensions in the ServerHello's plaintext record, or the start of a
    NewSessionTicket in the Finished's handshake-key record.

    RFC 8446 §5.1: "Handshake messages MUST NOT span key changes. Implementations MUST verify
    that all messages immediately preceding a key change align with a record boundary; if not,
    then they MUST terminate the connection with an "unexpected_message" alert.\""""
    flight = Flight13.start()
    if where == "after-ServerHello":
        data = record(HANDSHAKE, records(flight.plain[0])[0][1] + flight.flight[0][:3])
    else:
        ticket = encode_handshake(NewSessionTicket(3600, 7, b"\x00", b"ticket", ()))
        data = flight.sealed([*flight.flight, ticket[:5]])
    rejects(flight.client, data, ALERT.UNEXPECTED_MESSAGE)


def test_zero_length_plaintext_handshake_record_before_server_hello() -> None:
    """TLS-Anvil RecordLayer.zeroLengthRecord_ServerHello.

    RFC 8446 §5.1: "Implementations MUST NOT send zero-length fragments of Handshake types, even
    if those fragments contain padding." The RFC sets no rule for the receiver of a plaintext
    one (TLS-Anvil's @EnforcedSenderRestriction); we refuse it with unexpected_message, as
    §5.4 asks for its protected counterpart: the test pins that fatal abort."""
    flight = Flight13.start()
    rejects(flight.client, record(HANDSHAKE, b"") + b"".join(flight.plain), None, plaintext=True)


# == both/tls13/rfc8446/RecordProtocol, statemachine/ClientServerStateMachine, D5 ===============


def test_unknown_record_content_type_is_unexpected_message() -> None:
    """TLS-Anvil RecordProtocol.invalidRecordContentType (the ServerHello in a record of type
    0xff).

    RFC 8446 §5: "If a TLS implementation receives an unexpected record type, it MUST terminate
    the connection with an "unexpected_message" alert.\""""
    flight = Flight13.start()
    rejects(
        flight.client,
        record(0xFF, records(flight.plain[0])[0][1]),
        ALERT.UNEXPECTED_MESSAGE,
        plaintext=True,
    )


@pytest.mark.parametrize("which", ["outer", "inner"])
def test_unknown_content_type_of_a_protected_record_is_unexpected_message(which: str) -> None:
    """TLS-Anvil RecordProtocol.invalidRecordContentTypeAfterEncryption (the Finished in a
    record of type 0xff: as the outer opaque_type, or as the inner content type).

    RFC 8446 §5: an unexpected record type -> "unexpected_message"; §5.2: "The outer
    opaque_type field of a TLSCiphertext record is always set to the value 23
    (application_data)"."""
    flight = Flight13.start()
    if which == "inner":
        data = flight.each_sealed(
            (ContentType.HANDSHAKE, b"".join(flight.without(HT.FINISHED))),
            (0xFF, flight.flight[-1]),
        )
    else:
        protector = sealer(flight.hs_secret)
        first = protector.seal(ContentType.HANDSHAKE, b"".join(flight.without(HT.FINISHED)))
        last = protector.seal(ContentType.HANDSHAKE, flight.flight[-1])
        data = b"".join(flight.plain) + first + b"\xff" + last[1:]
    rejects(flight.client, data, ALERT.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize(
    "where", ["tag", "ciphertext"], ids=["invalidAuthTag", "invalidCiphertext"]
)
def test_tampered_record_is_bad_record_mac(where: str) -> None:
    """TLS-Anvil RecordProtocol.invalidAuthTag / invalidCiphertext.

    RFC 8446 §5.2: "If the decryption fails, the receiver MUST terminate the connection with a
    "bad_record_mac" alert.\""""
    conn = Established.start()
    data = bytearray(conn.server_sealer.seal(ContentType.APPLICATION_DATA, b"x" * 64))
    data[-1 if where == "tag" else 5] ^= 0x80
    rejects(conn.client, bytes(data), ALERT.BAD_RECORD_MAC)


@pytest.mark.parametrize(
    "size",
    ["plaintext-2^14+1", "ciphertext-2^14+257"],
    ids=["sendRecordWithPlaintextOver2pow14", "sendRecordWithCiphertextOver2pow14plus256"],
)
def test_oversized_record_is_record_overflow(size: str) -> None:
    """TLS-Anvil RecordProtocol.sendRecordWithPlaintextOver2pow14 (2^14 + 1 bytes of
    application data) / sendRecordWithCiphertextOver2pow14plus256.

    RFC 8446 §5.2: "The length MUST NOT exceed 2^14 + 256 bytes. An endpoint that receives a
    record that exceeds this length MUST terminate the connection with a "record_overflow"
    alert."; §5.4: "The length ... MUST NOT exceed 2^14 + 1 octets" for TLSInnerPlaintext, and
    a record that decrypts to more: "record_overflow" (§5.2: "Decrypted ... exceeds this
    length")."""
    conn = Established.start()
    if size.startswith("plaintext"):
        data = raw_sealed(conn.secrets["SERVER_TRAFFIC_SECRET_0"], 0, bytes(2**14 + 1) + b"\x17")
    else:
        data = record(APPLICATION_DATA, bytes(2**14 + 257))
    rejects(conn.client, data, ALERT.RECORD_OVERFLOW)


def test_padded_records_are_accepted() -> None:
    """TLS-Anvil RecordProtocol.acceptsOptionalPadding.

    RFC 8446 §5.4: "When generating a TLSCiphertext record, implementations MAY choose to pad.
    ... Padding is a string of zero-valued bytes appended to the ContentType field before
    encryption.\""""
    flight = Flight13.start()
    events = flight.client.receive_data(flight.sealed(flight.flight, pad=300))
    assert any(isinstance(e, HandshakeComplete) for e in events)
    app = sealer(flight.secrets["SERVER_TRAFFIC_SECRET_0"]).seal(
        ContentType.APPLICATION_DATA, b"hi", 1000
    )
    assert [e.data for e in flight.client.receive_data(app) if isinstance(e, ApplicationData)] == [
        b"hi"
    ]


@pytest.mark.parametrize(
    "inner", [ContentType.HANDSHAKE, ContentType.ALERT], ids=["handshake", "alert"]
)
def test_post_handshake_protected_empty_handshake_or_alert_is_unexpected_message(
    inner: int,
) -> None:
    """TLS-Anvil RecordProtocol.sendEmptyRecord (a zero-length record of the chosen type, after
    the handshake).

    RFC 8446 §5.4: "Implementations MUST NOT send Handshake and Alert records that have a
    zero-length TLSInnerPlaintext.content; if such a message is received, the receiving
    implementation MUST terminate the connection with an "unexpected_message" alert.\""""
    conn = Established.start()
    rejects(conn.client, conn.server_sealer.seal(inner, b""), ALERT.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize(
    "phase",
    ["handshake", "application"],
    ids=["sendEmptyRecordFinished", "sendEmptyRecord-application_data"],
)
def test_zero_length_protected_record_is_bad_record_mac(phase: str) -> None:
    """TLS-Anvil ClientServerStateMachine.sendEmptyRecordFinished (the Finished replaced by an
    application_data record without content) / RecordProtocol.sendEmptyRecord (application_data).

    RFC 8446 §5.2: a TLSCiphertext carries at least the AEAD tag; one that cannot be decrypted:
    "If the decryption fails, the receiver MUST terminate the connection with a
    "bad_record_mac" alert.\""""
    if phase == "handshake":
        flight = Flight13.start()
        client, data = (
            flight.client,
            flight.sealed(flight.without(HT.FINISHED)) + record(APPLICATION_DATA, b""),
        )
    else:
        conn = Established.start()
        client, data = conn.client, record(APPLICATION_DATA, b"")
    rejects(client, data, ALERT.BAD_RECORD_MAC)


def test_zero_length_application_data_is_accepted() -> None:
    """TLS-Anvil RecordProtocol.sendZeroLengthApplicationRecord.

    RFC 8446 §5.4: "Application Data records may contain a zero-length
    TLSInnerPlaintext.content if the sender desires." (§5.1: "Zero-length fragments of
    Application Data MAY be sent".)"""
    conn = Established.start()
    assert (
        conn.client.receive_data(conn.server_sealer.seal(ContentType.APPLICATION_DATA, b"")) == []
    )
    assert conn.client.state is ConnectionState.APP_DATA and conn.client.data_to_send() == b""
    events = conn.client.receive_data(
        conn.server_sealer.seal(ContentType.APPLICATION_DATA, b"after")
    )
    assert [e.data for e in events if isinstance(e, ApplicationData)] == [b"after"]


@pytest.mark.parametrize(
    "phase",
    ["handshake", "application"],
    ids=[
        "sendEncryptedHandshakeRecordWithNoNonZeroOctet",
        "sendEncryptedAppRecordWithNoNonZeroOctet",
    ],
)
def test_inner_plaintext_without_a_content_type_is_unexpected_message(phase: str) -> None:
    """TLS-Anvil RecordProtocol.sendEncryptedHandshakeRecordWithNoNonZeroOctet /
    sendEncryptedAppRecordWithNoNonZeroOctet (plaintext 00 00 00 00).

    RFC 8446 §5.4: "If a receiving implementation does not find a non-zero octet in the
    cleartext, it MUST terminate the connection with an "unexpected_message" alert.\""""
    if phase == "handshake":
        flight = Flight13.start()
        client = flight.client
        data = flight.sealed(flight.without(HT.FINISHED)) + raw_sealed(
            flight.hs_secret, 1, bytes(4)
        )
    else:
        conn = Established.start()
        client, data = conn.client, raw_sealed(conn.secrets["SERVER_TRAFFIC_SECRET_0"], 0, bytes(4))
    rejects(client, data, ALERT.UNEXPECTED_MESSAGE)


def test_server_hello_record_with_version_below_0x0300() -> None:
    """TLS-Anvil D5_SecurityRestrictions.invalidRecordVersion_ssl30 (record version 0x0203).

    RFC 8446 Appendix D.5: "Implementations SHOULD NOT accept any records with a version less
    than 0x0300 (but may inadvertently do so if the record version number is ignored
    completely)." A SHOULD: the test pins that we do refuse it with a fatal alert."""
    flight = Flight13.start()
    data = bytearray(flight.plain[0])
    data[1:3] = b"\x02\x03"
    rejects(flight.client, bytes(data), None, plaintext=True)


# == both/tls13/rfc8446/AlertProtocol ==========================================================

ERROR_ALERTS = [
    ALERT.UNEXPECTED_MESSAGE,
    ALERT.BAD_RECORD_MAC,
    ALERT.HANDSHAKE_FAILURE,
    ALERT.ILLEGAL_PARAMETER,
    ALERT.DECODE_ERROR,
    ALERT.INTERNAL_ERROR,
    ALERT.MISSING_EXTENSION,
    ALERT.CERTIFICATE_REQUIRED,
]


def alert_during_handshake(level: int, description: int) -> ClientConnection:
    """A client fed the server flight up to CertificateVerify, then an alert for Finished."""
    flight = Flight13.start()
    data = flight.each_sealed(
        (ContentType.HANDSHAKE, b"".join(flight.without(HT.FINISHED))),
        (ContentType.ALERT, bytes((level, description))),
    )
    with pytest.raises(AlertReceived):
        flight.client.receive_data(data)
    return flight.client


def alert_after_handshake(level: int, description: int) -> ClientConnection:
    conn = Established.start()
    with pytest.raises(AlertReceived):
        conn.client.receive_data(
            conn.server_sealer.seal(ContentType.ALERT, bytes((level, description)))
        )
    return conn.client


def assert_dead(client: ClientConnection) -> None:
    """RFC 8446 §6: after an error alert the implementation "MUST NOT allow any further data to
    be sent or received on the connection"."""
    assert client.state is ConnectionState.FAILED
    assert client.data_to_send() == b""  # nothing answers an error alert
    with pytest.raises(Exception):  # noqa: B017, PT011
        client.send(b"more")


@pytest.mark.parametrize("phase", ["Handshake", "PostHandshake"])
@pytest.mark.parametrize("description", ERROR_ALERTS, ids=lambda d: d.name.lower())
def test_error_alert_at_warning_level_is_fatal(phase: str, description: AlertDescription) -> None:
    """TLS-Anvil AlertProtocol.treatsFatalAlertsAsFatalHandshake /
    treatsFatalAlertsAsFatalPostHandshake.

    RFC 8446 §6: "All the alerts listed in Section 6.2 MUST be sent with AlertLevel=fatal and
    MUST be treated as error alerts when received regardless of the AlertLevel in the message."
    "Upon receiving an error alert, the TLS implementation SHOULD indicate an error to the
    application and MUST NOT allow any further data to be sent or received on the connection.\""""
    run = alert_during_handshake if phase == "Handshake" else alert_after_handshake
    assert_dead(run(1, description))


@pytest.mark.parametrize("phase", ["Handshake", "PostHandshake"])
@pytest.mark.parametrize(
    "level", [1, 2], ids=["treatsUnknownWarningAlertsAsFatal", "treatsUnknownFatalAlertsAsFatal"]
)
def test_unknown_alert_is_an_error_alert(phase: str, level: int) -> None:
    """TLS-Anvil AlertProtocol.treatsUnknownWarningAlertsAsFatal{Handshake,PostHandshake} /
    treatsUnknownFatalAlertsAsFatal{Handshake,PostHandshake} (description 200).

    RFC 8446 §6: "Unknown Alert types MUST be treated as error alerts.\""""
    run = alert_during_handshake if phase == "Handshake" else alert_after_handshake
    assert_dead(run(level, 200))


def test_close_sends_close_notify() -> None:
    """TLS-Anvil AlertProtocol.sendsCloseNotify.

    RFC 8446 §6.1: "Each party MUST send a "close_notify" alert before closing its write side
    of the connection, unless it has already sent some error alert.\""""
    conn = Established.start()
    conn.client.close()
    assert opened(conn.secrets["CLIENT_TRAFFIC_SECRET_0"], conn.client.data_to_send()) == [
        (ContentType.ALERT, b"\x01\x00")
    ]


# == both/tls13/rfc8446/Finished, KeyUpdate, HappyFlow, ComplianceRequirements =================


@pytest.mark.parametrize("at", [0, 15, 31])
def test_wrong_server_finished_is_decrypt_error(at: int) -> None:
    """TLS-Anvil Finished.verifyFinishedMessageCorrect (a bitmask over verify_data).

    RFC 8446 §4.4.4: "Recipients of Finished messages MUST verify that the contents are correct
    and if incorrect MUST terminate the connection with a "decrypt_error" alert.\""""
    flight = Flight13.start()
    finished = bytearray(flight.flight[-1])
    finished[4 + at] ^= 0x01
    rejects(
        flight.client,
        flight.sealed([*flight.without(HT.FINISHED), bytes(finished)]),
        ALERT.DECRYPT_ERROR,
    )


def test_key_update_with_an_unknown_request_is_illegal_parameter() -> None:
    """TLS-Anvil KeyUpdate.sendUnknownRequestMode (request_update 3).

    RFC 8446 §4.6.3: "request_update: ... If an implementation receives any other value, it MUST
    terminate the connection with an "illegal_parameter" alert.\""""
    conn = Established.start()
    rejects(conn.client, conn.seal(frame(HT.KEY_UPDATE, b"\x03")), ALERT.ILLEGAL_PARAMETER)


def next_secret(secret: bytes) -> bytes:
    """RFC 8446 §7.2: application_traffic_secret_N+1."""
    return hkdf_expand_label(SUITE.hash_name, secret, b"traffic upd", b"", 32)


def test_key_update_requested_is_answered_under_the_old_keys() -> None:
    """TLS-Anvil KeyUpdate.respondsWithValidKeyUpdate / KeyUpdate.appDataUnderNewKeysSucceeds.

    RFC 8446 §4.6.3: "If the request_update field is set to "update_requested", then the receiver
    MUST send a KeyUpdate of its own with request_update set to "update_not_requested" prior to
    sending its next Application Data record."; "Both sender and receiver MUST encrypt their
    KeyUpdate messages with the old keys."; "Upon receiving a KeyUpdate, the receiver MUST
    update its receiving keys.\""""
    conn = Established.start()
    conn.client.receive_data(conn.seal(frame(HT.KEY_UPDATE, b"\x01")))
    conn.client.send(b"next")
    client_secret = conn.secrets["CLIENT_TRAFFIC_SECRET_0"]
    sent = conn.client.data_to_send()
    first, rest = _raw_records(sent)[0], b"".join(_raw_records(sent)[1:])
    assert opened(client_secret, first) == [(ContentType.HANDSHAKE, frame(HT.KEY_UPDATE, b"\x00"))]
    assert opened(next_secret(client_secret), rest) == [(ContentType.APPLICATION_DATA, b"next")]
    new = sealer(next_secret(conn.secrets["SERVER_TRAFFIC_SECRET_0"]))
    events = conn.client.receive_data(new.seal(ContentType.APPLICATION_DATA, b"under new keys"))
    assert [e.data for e in events if isinstance(e, ApplicationData)] == [b"under new keys"]


@pytest.mark.parametrize(
    ("suite", "group"),
    [
        (TLS_AES_128_GCM_SHA256, X25519),
        (TLS_AES_256_GCM_SHA384, X25519),
        (TLS_CHACHA20_POLY1305_SHA256, X25519),
        (TLS_AES_128_GCM_SHA256, SECP256R1),
        (TLS_AES_128_GCM_SHA256, SECP384R1),
        (TLS_AES_128_GCM_SHA256, SECP521R1),
        (TLS_AES_128_GCM_SHA256, X448),
        (TLS_AES_128_GCM_SHA256, FFDHE2048),
    ],
    ids=lambda v: v.name,
)
def test_happy_flow(suite: CipherSuite, group: Group) -> None:
    """TLS-Anvil HappyFlow.happyFlow (a benign handshake over the suites and groups), and
    ComplianceRequirements.supportsAes128GcmSha256 / supportsSecp256r1.

    RFC 8446 §2: the full handshake; §9.1: "A TLS-compliant application MUST implement the
    TLS_AES_128_GCM_SHA256 [GCM] cipher suite" and "MUST support key exchange with secp256r1"."""
    client = ClientConnection(ClientConfig(verify_certificates=False), "localhost")
    server = ServerConnection(server_config(cipher_suites=(suite,), groups=(group,)))
    pump(client, server)
    assert client.handshake_info is not None
    assert (client.handshake_info.cipher_suite, client.handshake_info.group) == (
        suite.name,
        group.name,
    )
    server.send(b"hello")
    assert [
        e.data for e in client.receive_data(server.data_to_send()) if isinstance(e, ApplicationData)
    ] == [b"hello"]


def test_offered_tls13_suites_are_the_supported_ones() -> None:
    """TLS-Anvil SupportedCiphersuites.supportsMoreCipherSuitesThanAdvertised /
    supportsLessCipherSuitesThanAdvertised.

    RFC 8446 §9.3: "A client sending a ClientHello MUST support all parameters advertised in
    it." A suite not advertised is refused (§4.1.3: "A client which receives a cipher suite that
    was not offered MUST abort the handshake with an "illegal_parameter" alert")."""
    hello, _ = first_hello(ClientConfig())
    advertised = [s for s in hello.cipher_suites if s >> 8 == 0x13]
    for suite in TLS13_SUITES:
        flight = Flight13.start(ClientConfig(verify_certificates=False, groups=(X25519,)))
        if suite.id in advertised:
            continue
        rejects(
            flight.client,
            hello_record(flight.server_hello, cipher_suite=suite.id),
            ALERT.ILLEGAL_PARAMETER,
        )
    for suite_id in advertised:
        client = ClientConnection(ClientConfig(verify_certificates=False), "localhost")
        pump(
            client,
            ServerConnection(
                server_config(cipher_suites=tuple(s for s in TLS13_SUITES if s.id == suite_id))
            ),
        )
        assert client.state is ConnectionState.APP_DATA, hex(suite_id)


# == client/tls13/rfc8446/SignatureAlgorithms ==================================================


def test_no_deprecated_signature_algorithms_offered() -> None:
    """TLS-Anvil SignatureAlgorithms.noDeprecatedAlgorithmsOffered (no DSA, MD5, SHA-224 or
    SHA-1 pairs).

    RFC 8446 §4.2.3: "Some legacy pairs are left unallocated. These algorithms are deprecated as
    of TLS 1.3. They MUST NOT be offered or negotiated by any implementation. In particular,
    MD5 [SLOTH], SHA-224, and DSA MUST NOT be used." (SHA-1 "legacy" values MAY be offered
    "for backward compatibility", last; we do not offer them, as TLS-Anvil asks.)"""
    hello, _ = first_hello(ClientConfig())
    for scheme in hello.get(SignatureAlgorithms).schemes:
        if scheme < 0x0700:
            assert scheme >> 8 not in (1, 2, 3) and scheme & 0xFF != 2, hex(scheme)


@pytest.mark.parametrize(
    ("certificate", "scheme"),
    [
        ("ecdsa-p256", S.ECDSA_SECP384R1_SHA384),
        ("ecdsa-p256", S.ECDSA_SECP521R1_SHA512),
        ("rsa", S.RSA_PSS_RSAE_SHA256),
    ],
    ids=[
        "acceptsMixedCurveHashLengthInTls12-sha384",
        "acceptsMixedCurveHashLengthInTls12-sha512",
        "supportsRsaPssInTls12",
    ],
)
def test_tls12_signature_schemes(certificate: str, scheme: int) -> None:
    """TLS-Anvil SignatureAlgorithms.acceptsMixedCurveHashLengthInTls12 (a P-256 key signing
    with SHA-384/512) / supportsRsaPssInTls12.

    RFC 8446 §4.2.3: "ECDSA signature schemes align with TLS 1.2's ECDSA hash/signature pairs.
    However, the old semantics did not constrain the signing curve. If TLS 1.2 is negotiated,
    implementations MUST be prepared to accept a signature that uses any curve that they
    advertised in the "supported_groups" extension."; "RSASSA-PSS algorithms ... also apply
    to TLS 1.2" (the rsa_pss_rsae_* schemes a client advertises)."""
    cert = rsa_cert() if certificate == "rsa" else server_cert()
    client = ClientConnection(ClientConfig(verify_certificates=False), "localhost")
    server = ServerConnection(
        server_config(
            certificates=(cert,), max_version=ProtocolVersion.TLS12, signature_schemes=(scheme,)
        )
    )
    pump(client, server)
    assert client.state is ConnectionState.APP_DATA
    assert client.handshake_info.version == "TLSv1.2"
    assert client.handshake_info.signature_scheme == S(scheme).name.lower()


# == both/lengthfield (the TLS 1.3 server messages a client parses) ============================


def _bumped(data: bytes, at: int, width: int, delta: int) -> bytes:
    value = int.from_bytes(data[at : at + width], "big") + delta
    return data[:at] + (value % (1 << (8 * width))).to_bytes(width, "big") + data[at + width :]


def _server_hello_field(hello: bytes, name: str) -> tuple[int, int, int]:
    """(offset, width, delta) of a ServerHello length field, as TLS-Anvil changes it."""
    sid_at = 4 + 2 + 32
    ext_at = sid_at + 1 + hello[sid_at] + 2 + 1
    if name == "helloLengthTLS13":
        return 1, 3, -1
    if name == "helloSessionIdLengthTLS13":
        return sid_at, 1, +1
    if name == "helloExtensionsLengthTLS13":
        return ext_at, 2, -1
    ext_type = {"keyShareExtensionLength": 51, "supportedVersionsExtensionLength": 43}[name]
    at = ext_at + 2
    while int.from_bytes(hello[at : at + 2], "big") != ext_type:
        at += 4 + int.from_bytes(hello[at + 2 : at + 4], "big")
    return at + 2, 2, -1


@pytest.mark.parametrize(
    "name",
    [
        "helloLengthTLS13",
        "helloSessionIdLengthTLS13",
        "helloExtensionsLengthTLS13",
        "keyShareExtensionLength",
        "supportedVersionsExtensionLength",
    ],
)
def test_server_hello_length_field_is_decode_error(name: str) -> None:
    """TLS-Anvil lengthfield Hello.helloLengthTLS13 / helloSessionIdLengthTLS13 /
    helloExtensionsLengthTLS13, KeyShareExtension.keyShareExtensionLength,
    SupportedVersionsExtension.supportedVersionsExtensionLength (a length -1, the session id
    length +1).

    RFC 8446 §6: "Peers which receive a message which cannot be parsed according to the syntax
    (e.g., have a length extending beyond the message boundary or contain an out-of-range
    length) MUST terminate the connection with a "decode_error" alert.\""""
    flight = Flight13.start(client_config(groups=(X25519,)))
    hello = records(flight.plain[0])[0][1]
    bad = _bumped(hello, *_server_hello_field(hello, name))
    rejects(flight.client, record(HANDSHAKE, bad), ALERT.DECODE_ERROR, plaintext=True)


ENCRYPTED_LENGTH_FIELDS = {
    # name: (message type, offset in the message, width, delta)
    "encryptedExtensionsLength": (HT.ENCRYPTED_EXTENSIONS, 1, 3, -1),
    "encryptedExtensionsExtensionsLength": (HT.ENCRYPTED_EXTENSIONS, 4, 2, -1),
    "certificateMessageLengthTLS13": (HT.CERTIFICATE, 1, 3, -1),
    "certificateRequestContextLength": (HT.CERTIFICATE, 4, 1, +1),
    "certificateListLengthTLS13": (HT.CERTIFICATE, 5, 3, -1),
    "certificateVerifyLength": (HT.CERTIFICATE_VERIFY, 1, 3, -1),
    "certificateVerifySignatureLength": (HT.CERTIFICATE_VERIFY, 6, 2, -1),
    "finishedLengthTLS13": (HT.FINISHED, 1, 3, -1),
}


@pytest.mark.parametrize("name", list(ENCRYPTED_LENGTH_FIELDS))
def test_encrypted_message_length_field_is_decode_error(name: str) -> None:
    """TLS-Anvil lengthfield EncryptedExtensions.encryptedExtensionsLength /
    encryptedExtensionsExtensionsLength, Certificate.certificateMessageLengthTLS13 /
    certificateListLengthTLS13 / certificateRequestContextLength, CertificateVerify.
    certificateVerifyLength / certificateVerifySignatureLength, Finished.finishedLengthTLS13.

    RFC 8446 §6: "Peers which receive a message which cannot be parsed according to the syntax
    (e.g., have a length extending beyond the message boundary or contain an out-of-range
    length) MUST terminate the connection with a "decode_error" alert." (Finished:
    ``opaque verify_data[Hash.length]``, §4.4.4.)"""
    msg_type, at, width, delta = ENCRYPTED_LENGTH_FIELDS[name]
    flight = Flight13.start()
    message = flight.flight[flight.find(msg_type)]
    rejects(
        flight.client,
        flight.sealed(flight.replaced(msg_type, _bumped(message, at, width, delta))),
        ALERT.DECODE_ERROR,
    )
