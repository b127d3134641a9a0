"""TLS-Anvil's client TLS 1.2 tests, replayed in memory against our ClientConnection.

TLS-Anvil (tls-attacker/TLS-Anvil, ``TLS-Testsuite/.../suite/tests/client/tls12/**`` plus the
client-facing parts of ``tests/both/tls12/**`` and ``tests/both/lengthfield/**``) plays a
misbehaving TLS 1.2 server with TLS-Attacker. It cannot run here, so each test below replays one
test method's intent: our own ServerConnection writes the server flight and the test edits it as
that server would. ServerHello .. ServerHelloDone are plaintext and are edited directly (a
ServerKeyExchange that must stay valid is signed again with the server's key); the encrypted
part is sealed again from the master secret the server's key log reports (``CLIENT_RANDOM``).

Each test names its TLS-Anvil ``Class.method`` and the RFC sentence it checks. The RFC decides:
where it names an alert that alert is asserted, otherwise a fatal alert (or the success the RFC
requires). Where TLS-Anvil expects more or other than the RFC, the docstring says so. A
violation of the RFC by our client is a strict xfail naming the rule.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from server_flight import Handshake12, frame, rsa_cert
from tls_fixtures import client_cert, server_cert
from tlsmachine import (
    AlertReceived,
    ApplicationData,
    ClientConfig,
    ConnectionClosed,
    ConnectionState,
    HandshakeComplete,
    ServerConfig,
)
from tlsmachine.crypto.groups import (
    FFDHE2048,
    FFDHE3072,
    FFDHE4096,
    SECP256R1,
    SECP384R1,
    X448,
    X25519,
    FFDHEGroup,
    Group,
)
from tlsmachine.crypto.suites import (
    TLS12_SUITES,
    TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    CipherSuite12,
    suite12_by_id,
)
from tlsmachine.enums import AlertDescription, HandshakeType, ProtocolVersion
from tlsmachine.errors import ProtocolError
from tlsmachine.extensions import RecordSizeLimit, ServerName
from tlsmachine.messages import encode_handshake
from tlsmachine.messages.hello import ClientHello
from tlsmachine.messages.tls12 import ServerKeyExchange, dhe_params, ecdhe_params
from tlsmachine.prf import verify_data
from wire import ALERT, APPLICATION_DATA, CCS, HANDSHAKE, messages, plaintext_alert, record, records

TLS12 = ProtocolVersion.TLS12
AD = AlertDescription
FAILED = ConnectionState.FAILED

# extension code points (IANA TLS ExtensionType registry)
SERVER_NAME_EXT = 0
MAX_FRAGMENT_LENGTH_EXT = 1
SUPPORTED_GROUPS_EXT = 10
EC_POINT_FORMATS_EXT = 11
SIGNATURE_ALGORITHMS_EXT = 13
HEARTBEAT_EXT = 15
ALPN_EXT = 16
PADDING_EXT = 21
ENCRYPT_THEN_MAC_EXT = 22
EXTENDED_MASTER_SECRET_EXT = 23
RENEGOTIATION_INFO_EXT = 0xFF01

FALLBACK_SCSV = 0x5600
EMPTY_RENEGOTIATION_INFO_SCSV = 0x00FF


# == helpers (Handshake12 is in tests/server_flight.py) =========================================


def client_config(**kwargs: Any) -> ClientConfig:
    """A TLS 1.2-only client, certificate checks off (the test certificates are self-signed)."""
    return ClientConfig(**{"verify_certificates": False, "max_version": TLS12, **kwargs})


def client13_config(**kwargs: Any) -> ClientConfig:
    """A client that offers TLS 1.3 and 1.2 (it talks to our TLS 1.2-only server)."""
    return ClientConfig(**{"verify_certificates": False, **kwargs})


CLIENTS: dict[str, Callable[..., ClientConfig]] = {
    "tls12-client": client_config,
    "tls13-capable-client": client13_config,
}


def server_config(**kwargs: Any) -> ServerConfig:
    """A TLS 1.2-only server with an ECDSA and an RSA certificate and no tickets."""
    return ServerConfig(
        **{
            "certificates": (server_cert(), rsa_cert()),
            "max_version": TLS12,
            "session_tickets": 0,
            **kwargs,
        }
    )


def with_length(message: bytes, length: int) -> bytes:
    """``message`` whose header announces ``length`` (the body bytes unchanged)."""
    return message[:1] + length.to_bytes(3, "big") + message[4:]


def start(client: str = "tls12-client", **client_kwargs: Any) -> Handshake12:
    return Handshake12.start(CLIENTS[client](**client_kwargs), server_config())


def rejects(hs: Handshake12, data: bytes, alert: AlertDescription | None = None) -> ProtocolError:
    """The client aborts on ``data`` with a fatal alert (``alert`` if given) and the server,
    reading what the client sent, gets that alert; nothing else follows."""
    with pytest.raises(ProtocolError) as info:
        hs.client.receive_data(data)
    error = info.value
    if alert is not None:
        assert error.alert is alert, repr(error)
    assert hs.client.state is FAILED
    sent = hs.client.data_to_send()
    assert sent, "no alert sent"
    with pytest.raises(AlertReceived) as received:
        hs.server.receive_data(sent)
    assert received.value.description == error.alert
    return error


def rejects_plaintext(hs: Handshake12, data: bytes, alert: AlertDescription | None = None) -> None:
    """:func:`rejects`, before the client has keys: the alert goes out in the clear."""
    with pytest.raises(ProtocolError) as info:
        hs.client.receive_data(data)
    if alert is not None:
        assert info.value.alert is alert, repr(info.value)
    assert hs.client.state is FAILED
    assert hs.client.data_to_send() == plaintext_alert(info.value.alert)


# == helpers: self-checks ======================================================================


def test_helpers_replay_the_honest_handshake() -> None:
    """The replay machinery: a re-signed ServerKeyExchange of the same params is accepted, and
    :meth:`Handshake12.server_finished` rebuilds the server's CCS and Finished byte for byte --
    so the failures below come from the edits alone."""
    hs = start()
    params = ServerKeyExchange(body=hs.message(HandshakeType.SERVER_KEY_EXCHANGE)[4:]).ecdhe()
    assert hs.answer(hs.resigned(params.params))  # accepted: the client answers
    hs = start()
    real = hs.finish()
    assert real == hs.server_finished()
    events = hs.client.receive_data(hs.server_finished())
    assert any(isinstance(e, HandshakeComplete) for e in events)
    assert hs.client.state is ConnectionState.APP_DATA


# == client/tls12/rfc5246/ServerHello ===========================================================

UNSOLICITED = {
    "encrypt_then_mac": (ENCRYPT_THEN_MAC_EXT, b""),
    "padding": (PADDING_EXT, bytes(10)),
    "heartbeat": (HEARTBEAT_EXT, b"\x01"),
    "max_fragment_length": (MAX_FRAGMENT_LENGTH_EXT, b"\x02"),
}


@pytest.mark.parametrize("client", list(CLIENTS))
@pytest.mark.parametrize("extension", list(UNSOLICITED))
def test_server_hello_with_an_unrequested_extension(extension: str, client: str) -> None:
    """TLS-Anvil ServerHello.sendAdditionalExtension (encrypt_then_mac, which we never offer,
    first; also padding, heartbeat and max_fragment_length, none of which we offer): fatal
    unsupported_extension.

    RFC 5246 §7.4.1.4: "If a client receives an extension type in ServerHello that it did not
    request in the associated ClientHello, it MUST abort the handshake with an
    unsupported_extension fatal alert." (This also covers TLS-Anvil
    EncThenMacExtension/MaximumFragmentLength/MaxFragmentLengthExtension for us: those tests
    run only for clients that offer the extension; we do not, so the server must not send it.)"""
    hs = start(client)
    ext_type, data = UNSOLICITED[extension]
    offered = {e.ext_type for e in hs.client_hello.extensions}
    assert ext_type not in offered
    bad = hs.hello_extensions(lambda exts: exts.append((ext_type, data)))
    rejects_plaintext(hs, bad, AD.UNSUPPORTED_EXTENSION)


def test_server_name_ack_when_no_server_name_was_sent() -> None:
    """TLS-Anvil ServerHello.sendAdditionalExtension (the server_name branch: the client sent
    no SNI, here because it connects to an IP address, RFC 6066 §3 "Literal IPv4 and IPv6
    addresses are not permitted in "HostName""): unsupported_extension.

    RFC 5246 §7.4.1.4: an extension the client did not request -> "MUST abort the handshake
    with an unsupported_extension fatal alert"."""
    hs = Handshake12.start(client_config(), server_config(), server_name="127.0.0.1")
    assert SERVER_NAME_EXT not in {e.ext_type for e in hs.client_hello.extensions}
    bad = hs.hello_extensions(lambda exts: exts.append((SERVER_NAME_EXT, b"")))
    rejects_plaintext(hs, bad, AD.UNSUPPORTED_EXTENSION)


@pytest.mark.parametrize("method", [1, 0x40, 0xFF], ids=["deflate", "lzs", "0xff"])
def test_server_hello_selecting_an_unproposed_compression_method(method: int) -> None:
    """TLS-Anvil ServerHello.selectUnproposedCompressionMethod: a fatal alert.

    RFC 5246 §7.4.1.3: compression_method is "The single compression algorithm selected by the
    server from the list in ClientHello.compression_methods." We offer only null. No alert is
    named; §7.2.2 illegal_parameter ("A field in the handshake was out of range or
    inconsistent with other fields") is the one that fits, and the one we send."""
    hs = start()
    assert hs.client_hello.legacy_compression_methods == b"\x00"
    rejects_plaintext(hs, hs.hello_with(legacy_compression_method=method), AD.ILLEGAL_PARAMETER)


# == client/tls12/rfc5246/E1CompatibilityWithTLS10_11andSSL30 (+ rfc7568, rfc8701 version) ====


@pytest.mark.parametrize("client", list(CLIENTS))
@pytest.mark.parametrize(
    "version",
    [0x030F, 0x0300, 0x0301, 0x0302],
    ids=["0x030f", "ssl3", "tls10", "tls11"],
)
def test_server_hello_selecting_an_unsupported_version(version: int, client: str) -> None:
    """TLS-Anvil E1CompatibilityWithTLS10_11andSSL30.selectUnsupportedVersion (0x030F; Anvil
    also accepts illegal_parameter), and the SSL 3.0 / TLS 1.0 / 1.1 versions we refuse
    (TLS-Anvil DoNotUseSSLVersion30: "Negotiation of SSLv3 from any version of TLS MUST NOT be
    permitted", RFC 7568 §3; RFC 8996 §2-3 for TLS 1.0/1.1).

    RFC 5246 Appendix E.1: "If the version chosen by the server is not supported by the client
    (or not acceptable), the client MUST send a "protocol_version" alert message and close the
    connection." """
    hs = start(client)
    rejects_plaintext(hs, hs.hello_with(legacy_version=version), AD.PROTOCOL_VERSION)


# == client/tls12/rfc8701/ServerInitiatedExtensionPoints =======================================


@pytest.mark.parametrize("client", list(CLIENTS))
def test_grease_version_in_server_hello(client: str) -> None:
    """TLS-Anvil ServerInitiatedExtensionPoints.selectGreaseVersion: a fatal alert.

    RFC 8701 §4: "Clients MUST reject GREASE values when negotiated by the server. In
    particular, the client MUST fail the connection if a GREASE value appears in any of the
    following: The "version" value in a ServerHello or HelloRetryRequest". A version we do not
    support is also RFC 5246 E.1's protocol_version."""
    hs = start(client)
    rejects_plaintext(hs, hs.hello_with(legacy_version=0x7A7A), AD.PROTOCOL_VERSION)


@pytest.mark.parametrize("client", list(CLIENTS))
def test_grease_cipher_suite_in_server_hello(client: str) -> None:
    """TLS-Anvil ServerInitiatedExtensionPoints.selectGreaseCipherSuite: a fatal alert.

    RFC 8701 §4: the client MUST fail the connection if a GREASE value appears in "The
    "cipher_suite" value in a ServerHello" (no alert named; we send illegal_parameter)."""
    hs = start(client)
    rejects_plaintext(hs, hs.hello_with(cipher_suite=0x0A0A), AD.ILLEGAL_PARAMETER)


@pytest.mark.parametrize("client", list(CLIENTS))
def test_grease_extension_in_server_hello(client: str) -> None:
    """TLS-Anvil ServerInitiatedExtensionPoints.sendServerHelloGreaseExtension expects the
    handshake to SUCCEED with a GREASE extension (0x0A0A, 25 bytes) in the ServerHello. The
    RFCs say otherwise, and we follow them:

    RFC 8701 §4: "the client MUST fail the connection if a GREASE value appears in any of the
    following: ... Any ServerHello extension"; RFC 5246 §7.4.1.4: an extension the client did
    not request -> "unsupported_extension fatal alert"."""
    hs = start(client)
    offered = {e.ext_type for e in hs.client_hello.extensions}
    assert 0x0A0A not in offered
    bad = hs.hello_extensions(lambda exts: exts.append((0x0A0A, bytes(25))))
    rejects_plaintext(hs, bad, AD.UNSUPPORTED_EXTENSION)


def test_grease_named_group_in_server_key_exchange() -> None:
    """TLS-Anvil ServerInitiatedExtensionPoints.selectGreaseNamedGroup (re-signed here, so only
    the group is wrong): a fatal alert.

    RFC 8701 §4: the client MUST fail the connection if a GREASE value appears in "The
    "namedcurve" value in a ServerKeyExchange for an Ephemeral Elliptic Curve Diffie-Hellman
    (ECDHE) cipher in TLS 1.2 [RFC5246] or earlier" (no alert named; a curve we did not offer
    is illegal_parameter for us)."""
    hs = start()
    bad = hs.resigned(ecdhe_params(0x1A1A, X25519.generate().public_bytes))
    rejects_plaintext(hs, bad, AD.ILLEGAL_PARAMETER)


def test_grease_signature_algorithm_in_server_key_exchange() -> None:
    """TLS-Anvil ServerInitiatedExtensionPoints.selectGreaseSignatureAlgorithm: a fatal alert.

    RFC 8701 §4: the client MUST fail the connection if a GREASE value appears in "The
    signature algorithm in a ServerKeyExchange signature in TLS 1.2 or earlier" (no alert
    named)."""
    hs = start()
    ske = ServerKeyExchange(body=hs.message(HandshakeType.SERVER_KEY_EXCHANGE)[4:]).ecdhe()
    new = ServerKeyExchange.signed(ske.params, 0x0A0A, ske.signature)
    rejects_plaintext(hs, hs.replaced(HandshakeType.SERVER_KEY_EXCHANGE, encode_handshake(new)))


# == cipher suites the server must not select ==================================================

NOT_OFFERED_SUITES = {
    "rc4": 0xC011,  # TLS_ECDHE_RSA_WITH_RC4_128_SHA (RFC 7465)
    "cbc": 0xC013,  # TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
    "null": 0x0000,  # TLS_NULL_WITH_NULL_NULL
    "anon": 0x00A6,  # TLS_DH_anon_WITH_AES_128_GCM_SHA256
    "static-ecdh": 0xC02D,  # TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256
    "rsa-kx": 0x009C,  # TLS_RSA_WITH_AES_128_GCM_SHA256
    "tls13-suite": 0x1301,  # TLS_AES_128_GCM_SHA256
}


@pytest.mark.parametrize("client", list(CLIENTS))
@pytest.mark.parametrize("suite", list(NOT_OFFERED_SUITES))
def test_server_selecting_a_suite_we_did_not_offer(suite: str, client: str) -> None:
    """TLS-Anvil RC4Ciphersuites.selectRC4CipherSuite, ServerKeyExchange.
    acceptsUnproposedNamedGroupStatic (static ECDH), CBCBlockCipher (we offer no CBC suite: the
    part that applies is refusing one), A5CipherSuite (NULL, anon): a fatal alert.

    RFC 5246 §7.4.1.3: cipher_suite is "The single cipher suite selected by the server from the
    list in ClientHello.cipher_suites"; RFC 7465 §2: "TLS clients MUST NOT include RC4 cipher
    suites in the ClientHello message"; RFC 5246 A.5: TLS_NULL_WITH_NULL_NULL "MUST NOT be
    negotiated"; RFC 8446 Appendix B.4: TLS 1.3 cipher suites "cannot be used for TLS 1.2"
    (the TLS 1.3-capable client offers TLS_AES_128_GCM_SHA256, but not for a TLS 1.2
    ServerHello). No alert named; we send illegal_parameter (§7.2.2)."""
    hs = start(client)
    code = NOT_OFFERED_SUITES[suite]
    assert code not in hs.client_hello.cipher_suites or suite == "tls13-suite"
    rejects_plaintext(hs, hs.hello_with(cipher_suite=code), AD.ILLEGAL_PARAMETER)


# == client/tls12/rfc5246/ServerKeyExchange and rfc8422/ServerKeyExchange ======================

SIGNED_SUITES = {
    "ecdhe-ecdsa": TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    "ecdhe-rsa": TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    "dhe-rsa": TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
}


def signed_start(kind: str, **kwargs: Any) -> Handshake12:
    return start(tls12_cipher_suites=(SIGNED_SUITES[kind],), **kwargs)


def ske_parts(hs: Handshake12) -> tuple[bytes, int, bytes]:
    """(params, signature scheme, signature) of the flight's ServerKeyExchange."""
    ske = ServerKeyExchange(body=hs.message(HandshakeType.SERVER_KEY_EXCHANGE)[4:])
    parsed = ske.dhe() if hs.suite.key_exchange == "DHE" else ske.ecdhe()
    return parsed.params, parsed.algorithm, parsed.signature


def ske_flight(hs: Handshake12, params: bytes, scheme: int, signature: bytes) -> bytes:
    new = ServerKeyExchange.signed(params, scheme, signature)
    return hs.replaced(HandshakeType.SERVER_KEY_EXCHANGE, encode_handshake(new))


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("kind", list(SIGNED_SUITES))
def test_invalid_server_key_exchange_signature(kind: str, where: str) -> None:
    """TLS-Anvil ServerKeyExchange.invalidServerKeyExchangeSignature (a bitmask XORed into the
    signature): a fatal alert.

    RFC 5246 §7.4.3 / RFC 8422 §5.4: "The client verifies the signature (when present)";
    §7.2.2 names the alert: decrypt_error, "A handshake cryptographic operation failed,
    including being unable to correctly verify a signature"."""
    hs = signed_start(kind)
    params, scheme, signature = ske_parts(hs)
    at = {"first": 0, "middle": len(signature) // 2, "last": len(signature) - 1}[where]
    flipped = bytearray(signature)
    flipped[at] ^= 0x01
    rejects_plaintext(hs, ske_flight(hs, params, scheme, bytes(flipped)), AD.DECRYPT_ERROR)


@pytest.mark.parametrize("kind", list(SIGNED_SUITES))
def test_server_key_exchange_without_signature(kind: str) -> None:
    """TLS-Anvil ServerKeyExchange.acceptsMissingSignature (also rfc8422 ServerKeyExchange):
    an empty signature is refused with a fatal alert.

    RFC 8422 §5.4: "The client verifies the signature (when present)" -- for the signed
    suites it is always present (RFC 5246 §7.4.3 ``digitally-signed struct``); an empty one
    cannot verify (decrypt_error, §7.2.2) or decode (decode_error)."""
    hs = signed_start(kind)
    params, scheme, _ = ske_parts(hs)
    with pytest.raises(ProtocolError) as error:
        hs.client.receive_data(ske_flight(hs, params, scheme, b""))
    assert error.value.alert in (AD.DECRYPT_ERROR, AD.DECODE_ERROR)
    assert hs.client.data_to_send() == plaintext_alert(error.value.alert)


@pytest.mark.parametrize("kind", list(SIGNED_SUITES))
def test_anonymous_signature_for_a_signed_suite(kind: str) -> None:
    """TLS-Anvil ServerKeyExchange.acceptsAnonSignatureForNonAnonymousCipherSuite (scheme
    anonymous/hash of the suite, empty signature): a fatal alert.

    RFC 5246 §7.4.1.4.1: "The "anonymous" value is meaningless in this context but used in
    Section 7.4.3. It MUST NOT appear in this extension."; §7.4.3: the scheme "MUST be a pair
    listed in that extension" -- we never offer anonymous, so this cannot be accepted."""
    hs = signed_start(kind)
    params, _, _ = ske_parts(hs)
    anonymous = 0x0400 if hs.suite.hash_name == "sha256" else 0x0500
    rejects_plaintext(hs, ske_flight(hs, params, anonymous, b""))


@pytest.mark.parametrize(
    ("kind", "scheme"),
    [("ecdhe-ecdsa", 0x0503), ("ecdhe-rsa", 0x0501)],
    ids=["ecdsa-sha384", "rsa-pkcs1-sha384"],
)
def test_server_key_exchange_with_an_unproposed_signature_scheme(kind: str, scheme: int) -> None:
    """TLS-Anvil ServerKeyExchange.acceptsUnproposedSignatureAndHash: a correctly signed
    ServerKeyExchange, but with a scheme the client did not offer: a fatal alert.

    RFC 5246 §7.4.3: "If the client has offered the "signature_algorithms" extension, the
    signature algorithm and hash algorithm MUST be a pair listed in that extension." No alert
    named; we send illegal_parameter (§7.2.2)."""
    offered = (0x0403, 0x0804, 0x0401)  # ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256, pkcs1
    hs = signed_start(kind, signature_schemes=offered)
    params, _, _ = ske_parts(hs)
    rejects_plaintext(hs, hs.resigned(params, scheme), AD.ILLEGAL_PARAMETER)


@pytest.mark.parametrize("group", [X448, SECP384R1], ids=["x448", "secp384r1"])
def test_server_key_exchange_for_an_unproposed_curve(group: Group) -> None:
    """TLS-Anvil ServerKeyExchange.acceptsUnproposedNamedGroup (rfc5246 and rfc8422): a
    correctly signed ServerKeyExchange on a curve the client did not offer: a fatal alert.

    RFC 8422 §5.1: "servers MUST NOT negotiate the use of an ECC cipher suite unless they can
    complete the handshake while respecting the choice of curves specified by the client". No
    alert is named; we send RFC 5246 §7.2.2 illegal_parameter."""
    hs = start(groups=(X25519, SECP256R1))
    assert group.id not in {X25519.id, SECP256R1.id}
    bad = hs.resigned(ecdhe_params(group.id, group.generate().public_bytes))
    rejects_plaintext(hs, bad, AD.ILLEGAL_PARAMETER)


def test_server_key_exchange_for_an_unproposed_ffdhe_group() -> None:
    """TLS-Anvil ServerKeyExchange.acceptsUnproposedNamedGroup, for DHE (ffdhe3072 when only
    ffdhe2048 was offered).

    RFC 7919 §3: "If none of the offered groups match, the server is not compatible with this
    document. The client MAY decide to continue the connection if the selected group is
    acceptable under local policy, or it MAY decide to terminate the connection with a fatal
    insufficient_security(71) alert." Either is allowed; an abort must use that alert."""
    hs = signed_start("dhe-rsa", groups=(X25519, FFDHE2048))
    share = FFDHE3072.generate()
    params = dhe_params(FFDHE3072.p.to_bytes(384, "big"), b"\x02", share.public_bytes)
    # We take the second option (a group we did not offer is never "acceptable").
    rejects_plaintext(hs, hs.resigned(params), AD.INSUFFICIENT_SECURITY)


# == client/tls12/rfc8422/TLSExtensionForECC (and rfc4492) ====================================

P256_P = 2**256 - 2**224 + 2**192 + 2**96 - 1


@pytest.mark.parametrize(
    ("group", "public"),
    [
        (SECP256R1, b"\x04" + (1).to_bytes(32, "big") + (1).to_bytes(32, "big")),
        (SECP256R1, b"\x04" + bytes(64)),
        (SECP256R1, b"\x04" + (P256_P).to_bytes(32, "big") + bytes(32)),
        (SECP384R1, b"\x04" + (1).to_bytes(48, "big") + (1).to_bytes(48, "big")),
    ],
    ids=["p256-off-curve", "p256-origin", "p256-x-equals-p", "p384-off-curve"],
)
def test_invalid_curve_point_in_server_key_exchange(group: Group, public: bytes) -> None:
    """TLS-Anvil TLSExtensionForECC.rejectsInvalidCurvePoints (a point not on the curve,
    re-signed so only the point is wrong): a fatal alert.

    RFC 8422 §5.11: "With the NIST curves, each party MUST validate the public key sent by its
    peer in the ClientKeyExchange and ServerKeyExchange messages. A receiving party MUST check
    that the x and y parameters from the peer's public value satisfy the curve equation". No
    alert named; we send illegal_parameter (RFC 5246 §7.2.2)."""
    hs = start(groups=(group, SECP256R1) if group is not SECP256R1 else (SECP256R1,))
    rejects_plaintext(hs, hs.resigned(ecdhe_params(group.id, public)), AD.ILLEGAL_PARAMETER)


@pytest.mark.parametrize(
    ("group", "public"),
    [
        (X25519, bytes(32)),
        (X25519, b"\x01" + bytes(31)),
        (X25519, bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")),
        (X448, bytes(56)),
        (X448, b"\x01" + bytes(55)),
    ],
    ids=["x25519-zero", "x25519-one", "x25519-order-8", "x448-zero", "x448-one"],
)
def test_zero_shared_secret_from_server_key_exchange(group: Group, public: bytes) -> None:
    """TLS-Anvil TLSExtensionForECC.abortsWhenSharedSecretIsZero (a small-order X25519/X448
    point, re-signed): a fatal alert.

    RFC 8422 §5.11: "With X25519 and X448, a receiving party MUST check whether the computed
    premaster secret is the all-zero value and abort the handshake if so". No alert named; we
    send illegal_parameter."""
    hs = start(groups=(group, SECP256R1))
    rejects_plaintext(hs, hs.resigned(ecdhe_params(group.id, public)), AD.ILLEGAL_PARAMETER)


def test_client_key_exchange_uses_the_uncompressed_point_format() -> None:
    """TLS-Anvil TLSExtensionForECC.respectsPointFormat: with a secp256r1 key exchange the
    client's point is uncompressed and the handshake completes.

    RFC 8422 §5.7: the ClientKeyExchange ECPoint; §5.1.2: "uncompressed" is the only format
    (the others are deprecated); 0x04 || X || Y."""
    hs = start(groups=(SECP256R1,))
    hs.established()
    cke = next(m for t, b in records(hs.client_flight) if t == HANDSHAKE for m in messages(b)
               if m[0] == HandshakeType.CLIENT_KEY_EXCHANGE)  # fmt: skip
    point = cke[5:]
    assert cke[4] == len(point) == 65 and point[0] == 0x04


def extension_data(hello: ClientHello, ext_type: int) -> bytes | None:
    """The raw extension_data of ``ext_type`` in our ClientHello, or None."""
    raw = hello.raw[4:]
    at = 34
    at += 1 + raw[at]
    at += 2 + int.from_bytes(raw[at : at + 2], "big")
    at += 1 + raw[at]
    end = at + 2 + int.from_bytes(raw[at : at + 2], "big")
    at += 2
    while at < end:
        t, n = struct.unpack(">HH", raw[at : at + 4])
        if t == ext_type:
            return raw[at + 4 : at + 4 + n]
        at += 4 + n
    return None


@pytest.mark.parametrize("client", list(CLIENTS))
def test_client_hello_point_formats_are_uncompressed_only(client: str) -> None:
    """TLS-Anvil TLSExtensionForECC.invalidPointFormat (rfc8422, and rfc4492.InvalidPointFormat).

    RFC 8422 §5.1.2: "If the Supported Point Formats Extension is indeed sent, it MUST contain
    the value 0 (uncompressed) as one of the items in the list of point formats." (TLS-Anvil
    also wants nothing else when only RFC 8422 curves are offered: the other formats are
    deprecated, §5.1.2.)"""
    hs = start(client)
    assert extension_data(hs.client_hello, EC_POINT_FORMATS_EXT) == b"\x01\x00"


@pytest.mark.parametrize("client", list(CLIENTS))
def test_client_offers_no_deprecated_curves(client: str) -> None:
    """TLS-Anvil TLSExtensionForECC.offeredDeprecatedGroup: no group below secp256r1 (23) and
    no explicit curves (0xFF01, 0xFF02).

    RFC 8422 §5.1.1: NamedCurve lists ``deprecated(1..22)`` and ``deprecated(0xFF01..0xFF02)``
    (the explicit curves): "The predecessor of this document also supported explicitly defined
    prime and char2 curves, but these are deprecated by this specification." """
    data = extension_data(start(client).client_hello, SUPPORTED_GROUPS_EXT)
    assert data is not None
    groups = [int.from_bytes(data[i : i + 2], "big") for i in range(2, len(data), 2)]
    assert groups and all(g >= 23 and g not in (0xFF01, 0xFF02) for g in groups), groups


@pytest.mark.parametrize(
    "groups", [(FFDHE2048,), (X25519, FFDHE2048)], ids=["ffdhe-only", "curves-and-ffdhe"]
)
def test_no_point_formats_without_an_ecc_cipher_suite(groups: tuple[Group, ...]) -> None:
    """TLS-Anvil TLSExtensionForECC.offersExtensionsWithoutCipher (rfc4492:
    BothECExtensions_WithoutECCCipher): a client offering no ECC suite sends no
    ec_point_formats. (supported_groups is no longer ECC-only: RFC 7919 §2 uses it for FFDHE
    groups, which TLS-Anvil also notes.)

    RFC 8422 §4: "The client MUST NOT include these extensions in the ClientHello message if it
    does not propose any ECC cipher suites." """
    hs = start(tls12_cipher_suites=(TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,), groups=groups)
    assert extension_data(hs.client_hello, EC_POINT_FORMATS_EXT) is None


# == client/tls12/rfc7919/FfDheShare ===========================================================


@pytest.mark.parametrize("value", ["0", "1", "p-1", "p"])
def test_ffdhe_share_out_of_bounds(value: str) -> None:
    """TLS-Anvil FfDheShare.shareOutOfBounds (TLS-Anvil also accepts illegal_parameter, the
    RFC 8446 alert; for TLS 1.2 RFC 7919 names handshake_failure, which we assert).

    RFC 7919 §3: "the client MUST verify that dh_Ys is in the range 1 < dh_Ys < dh_p - 1. If
    dh_Ys is not in this range, the client MUST terminate the connection with a fatal
    handshake_failure(40) alert." """
    hs = signed_start("dhe-rsa", groups=(X25519, FFDHE2048))
    p = FFDHE2048.p
    y = {"0": 0, "1": 1, "p-1": p - 1, "p": p}[value]
    params = dhe_params(p.to_bytes(256, "big"), b"\x02", y.to_bytes(256, "big"))
    rejects_plaintext(hs, hs.resigned(params), AD.HANDSHAKE_FAILURE)


def test_one_supported_groups_extension_lists_curves_and_ffdhe() -> None:
    """TLS-Anvil FfDheShare.listsCurvesAndFfdheCorrectly: offering DHE and ECDHE suites, the
    client lists both kinds of group in ONE supported_groups extension.

    RFC 7919 §3: "If the client also supports and wants to offer ECDHE key exchange, it MUST use
    a single Supported Groups extension to include all supported groups (both ECDHE and FFDHE
    groups)." """
    hs = start(groups=(X25519, SECP256R1, FFDHE2048, FFDHE3072))
    assert {s.key_exchange for s in TLS12_SUITES} >= {"ECDHE", "DHE"}
    types = [e.ext_type for e in hs.client_hello.extensions]
    assert types.count(SUPPORTED_GROUPS_EXT) == 1
    data = extension_data(hs.client_hello, SUPPORTED_GROUPS_EXT)
    assert data is not None
    groups = {int.from_bytes(data[i : i + 2], "big") for i in range(2, len(data), 2)}
    assert {X25519.id, SECP256R1.id, FFDHE2048.id, FFDHE3072.id} <= groups


@pytest.mark.parametrize("group", [FFDHE2048, FFDHE3072, FFDHE4096], ids=lambda g: g.name)
def test_offered_ffdhe_group_is_supported(group: FFDHEGroup) -> None:
    """TLS-Anvil FfDheShare.supportsOfferedFfdheGroup: a server picking any offered FFDHE
    group gets a complete handshake in that group.

    RFC 7919 §3: "A client that offers a group MUST be able and willing to perform a DH key
    exchange using that group." """
    client = client_config(tls12_cipher_suites=(TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,),
                           groups=(FFDHE2048, FFDHE3072, FFDHE4096))  # fmt: skip
    hs = Handshake12.start(client, server_config(groups=(group,)))
    hs.client.receive_data(hs.finish())
    info = hs.client.handshake_info
    assert info is not None and info.group == group.name


def test_custom_ffdhe_group_below_768_bits_is_rejected() -> None:
    """TLS-Anvil FfDheShare.performsRequiredSecurityCheck (its 767-bit "safe prime", g = 2):
    a fatal alert.

    RFC 7919 §3.1: "A compatible client that accepts FFDHE cipher suites using custom groups
    from non-compatible servers MUST reject any group with |dh_p| < 768 bits"; §3: a client
    refusing a group it did not offer ends the connection "with a fatal
    insufficient_security(71) alert"."""
    prime = int(
        "7030affcfe478388a7b6e16019c66524d69e231c4b556d32d530f636f402be0afb0dbc8529e955c3b22547"
        "82bfec749c1e751a3d4bdbaa9505cb6f5cd7945e307c846f714ce98b805c6f90ef06fc58f853e316417df7f"
        "8189af7b9e9c3e5abb3",
        16,
    )
    assert prime.bit_length() == 767
    hs = signed_start("dhe-rsa", groups=(X25519, FFDHE2048))
    params = dhe_params(
        prime.to_bytes(96, "big"), b"\x02", pow(2, 12345, prime).to_bytes(96, "big")
    )
    rejects_plaintext(hs, hs.resigned(params), AD.INSUFFICIENT_SECURITY)


# == client/tls12/rfc5246/AlertProtocol ========================================================


def test_close_notify_is_answered_with_close_notify() -> None:
    """TLS-Anvil AlertProtocol.closeNotify: the server's flight, then a warning close_notify;
    the client answers with a close_notify of its own and closes (TLS-Anvil also accepts a
    bare close).

    RFC 5246 §7.2.1: "each party is required to send a close_notify alert before closing the
    write side of the connection. The other party MUST respond with a close_notify alert of its
    own and close down the connection immediately, discarding any pending writes." """
    hs = start()
    events = hs.client.receive_data(hs.flight + record(ALERT, b"\x01\x00"))
    assert any(isinstance(e, ConnectionClosed) for e in events)
    assert hs.client.state is ConnectionState.SHUTDOWN
    out = hs.client.data_to_send()
    # its own flight (it had the ServerHelloDone), then its close_notify under its new keys
    assert records(out)[-1][0] == ALERT
    server_events = hs.server.receive_data(out)
    assert any(isinstance(e, ConnectionClosed) for e in server_events)


FATAL_ALERTS = [AD.HANDSHAKE_FAILURE, AD.INTERNAL_ERROR, AD.PROTOCOL_VERSION, AD.ILLEGAL_PARAMETER]


@pytest.mark.parametrize("where", ["before-server-hello", "before-server-hello-done"])
@pytest.mark.parametrize("alert", FATAL_ALERTS, ids=lambda a: a.name.lower())
def test_fatal_alert_from_the_server_closes_the_connection(where: str, alert: AD) -> None:
    """TLS-Anvil AlertProtocol.abortAfterFatalAlertServerHello and
    abortAfterFatalAlertServerHelloDone: a fatal alert in the server's flight (first, or just
    before ServerHelloDone) closes the connection: nothing more is sent, not even the client's
    flight.

    RFC 5246 §7.2.2: "Upon transmission or receipt of a fatal alert message, both parties
    immediately close the connection." """
    hs = start()
    msgs = hs.server_messages
    fatal = plaintext_alert(alert)
    if where == "before-server-hello":
        data = fatal + hs.flight
    else:
        data = (
            b"".join(record(HANDSHAKE, m) for m in msgs[:-1]) + fatal + record(HANDSHAKE, msgs[-1])
        )
    with pytest.raises(AlertReceived) as received:
        hs.client.receive_data(data)
    assert received.value.description == alert
    assert hs.client.state is FAILED
    assert hs.client.data_to_send() == b""


# == client/tls12/rfc5246/TLSRecordProtocol ====================================================


@pytest.mark.parametrize("content_type", [0xFF, 0x00, 0x19], ids=["0xff", "0x00", "25"])
def test_undefined_record_type_with_the_server_hello(content_type: int) -> None:
    """TLS-Anvil TLSRecordProtocol.sendNotDefinedRecordTypesWithServerHello (0xFF).

    RFC 5246 §6: "If a TLS implementation receives an unexpected record type, it MUST send an
    unexpected_message alert." """
    hs = start()
    rejects_plaintext(hs, bytes((content_type,)) + hs.flight[1:], AD.UNEXPECTED_MESSAGE)


def test_undefined_record_type_with_ccs_and_finished() -> None:
    """TLS-Anvil TLSRecordProtocol.sendNotDefinedRecordTypesWithCCSAndFinished: the server's
    ChangeCipherSpec and Finished in records of type 0xFF.

    RFC 5246 §6: an unexpected record type -> "it MUST send an unexpected_message alert"."""
    hs = start()
    finish = hs.finish()
    bad = b"".join(bytes((0xFF, 3, 3)) + len(b).to_bytes(2, "big") + b for _, b in records(finish))
    rejects(hs, bad, AD.UNEXPECTED_MESSAGE)


# == client/tls12/rfc5246/Fragmentation and both/tls12/rfc5246/Fragmentation ====================


@pytest.mark.parametrize("content_type", [HANDSHAKE, ALERT], ids=["handshake", "alert"])
def test_zero_length_record_before_the_server_hello(content_type: int) -> None:
    """TLS-Anvil Fragmentation.sendZeroLengthRecord_SH (client; and the older
    sendZeroLengthRecord_Alert): an empty handshake (alert) record: a fatal alert.

    RFC 5246 §6.2.1: "Implementations MUST NOT send zero-length fragments of Handshake, Alert,
    or ChangeCipherSpec content types." The RFC restricts the sender only (TLS-Anvil's
    @EnforcedSenderRestriction); a receiver may also reject -- we do, with unexpected_message,
    which this test checks."""
    hs = start()
    rejects_plaintext(hs, record(content_type, b"") + hs.flight, AD.UNEXPECTED_MESSAGE)


def test_zero_length_change_cipher_spec_record() -> None:
    """TLS-Anvil Fragmentation.sendZeroLengthRecord_CCS (both): a fatal alert.

    RFC 5246 §7.1: the ChangeCipherSpec message "consists of a single byte of value 1"; §6.2.1:
    "Implementations MUST NOT send zero-length fragments of ... ChangeCipherSpec content
    types." No alert named; it is an inappropriate message (§7.2.2 unexpected_message), or
    one that cannot be decoded (decode_error)."""
    hs = start()
    finish = hs.finish()
    error = rejects(hs, record(CCS, b"") + finish[6:])
    assert error.alert in (AD.UNEXPECTED_MESSAGE, AD.DECODE_ERROR)


@pytest.mark.parametrize("layout", ["one-record", "1-byte-records", "7-byte-records"])
def test_handshake_messages_coalesced_or_fragmented(layout: str) -> None:
    """TLS-Anvil Fragmentation.sendHandshakeMessagesWithinSingleRecord and
    both/Fragmentation.recordFragmentationSupported: the server's messages all in one record,
    or spread over tiny records -- the handshake completes.

    RFC 5246 §6.2.1: "Client message boundaries are not preserved in the record layer (i.e.,
    multiple client messages of the same ContentType MAY be coalesced into a single
    TLSPlaintext record, or a single message MAY be fragmented across several records)." """
    hs = start()
    data = b"".join(hs.server_messages)
    if layout == "one-record":
        flight = record(HANDSHAKE, data)
    else:
        size = int(layout.split("-")[0])
        flight = b"".join(record(HANDSHAKE, data[i : i + size]) for i in range(0, len(data), size))
    hs.server.receive_data(hs.answer(flight))  # same message bytes: the transcripts agree
    hs.client.receive_data(hs.server.data_to_send())
    assert hs.client.state is ConnectionState.APP_DATA


def established(**client_kwargs: Any) -> Handshake12:
    return start(**client_kwargs).established()


def test_zero_length_application_data_record_is_accepted() -> None:
    """TLS-Anvil Fragmentation.sendZeroLengthApplicationRecord (both): no alert, the connection
    stays open.

    RFC 5246 §6.2.1: "Zero-length fragments of Application data MAY be sent as they are
    potentially useful as a traffic analysis countermeasure." """
    hs = established()
    events = hs.client.receive_data(hs.server_record(1, APPLICATION_DATA, b""))
    assert all(isinstance(e, ApplicationData) and e.data == b"" for e in events)
    assert hs.client.state is ConnectionState.APP_DATA and hs.client.data_to_send() == b""
    events = hs.client.receive_data(hs.server_record(2, APPLICATION_DATA, b"still open"))
    assert b"".join(e.data for e in events if isinstance(e, ApplicationData)) == b"still open"


def test_application_data_record_without_nonce_and_tag() -> None:
    """TLS-Anvil Fragmentation.sendEmptyApplicationRecord (both): a protected record whose
    fragment is empty (no explicit nonce, no ciphertext, no tag): a fatal alert.

    RFC 5246 §6.2.3.3: "If the decryption fails, a fatal bad_record_mac alert MUST be
    generated." """
    hs = established()
    rejects(hs, record(APPLICATION_DATA, b""), AD.BAD_RECORD_MAC)


def test_empty_protected_finished_record() -> None:
    """TLS-Anvil Fragmentation.sendEmptyFinishedRecord (both): the server's CCS, then a
    handshake record with an empty protected fragment: a fatal alert.

    RFC 5246 §6.2.3.3: "If the decryption fails, a fatal bad_record_mac alert MUST be
    generated." """
    hs = start()
    hs.finish()
    rejects(hs, record(CCS, b"\x01") + record(HANDSHAKE, b""), AD.BAD_RECORD_MAC)


def test_record_with_plaintext_over_2_14() -> None:
    """TLS-Anvil Fragmentation.sendRecordWithPlaintextOver2pow14 (both): a correctly protected
    record of 2^14 + 1 bytes of content: record_overflow (TLS-Anvil's alert).

    RFC 5246 §6.2.1: "The length MUST NOT exceed 2^14." (for the plaintext); §7.2.2 defines
    record_overflow for a record that decrypts beyond the limits, the alert for an overlong
    record."""
    hs = established()
    rejects(hs, hs.server_record(1, APPLICATION_DATA, bytes(2**14 + 1)), AD.RECORD_OVERFLOW)


def test_record_with_ciphertext_over_2_14_plus_2048() -> None:
    """TLS-Anvil Fragmentation.sendRecordWithCiphertextOver2pow14plus2048 (both).

    RFC 5246 §6.2.3: "The length MUST NOT exceed 2^14 + 2048."; §7.2.2: record_overflow: "A
    TLSCiphertext record was received that had a length more than 2^14+2048 bytes"."""
    hs = established()
    rejects(hs, record(APPLICATION_DATA, bytes(2**14 + 2049)), AD.RECORD_OVERFLOW)


def test_record_over_our_record_size_limit() -> None:
    """TLS-Anvil MaxFragmentLengthExtension.enforcesRecordLimit (both), replayed for the
    extension we implement instead of max_fragment_length (RFC 8449 §5 deprecates it): with
    record_size_limit 512 agreed, a 513-byte record is refused.

    RFC 8449 §4: "A TLS endpoint that receives a record larger than its advertised limit MUST
    generate a fatal "record_overflow" alert". (In TLS 1.2 the limit counts the plaintext.)"""
    hs = established(record_size_limit=512)
    assert hs.server_hello.get(RecordSizeLimit) is not None
    hs.client.receive_data(hs.server_record(1, APPLICATION_DATA, bytes(512)))
    rejects(hs, hs.server_record(2, APPLICATION_DATA, bytes(513)), AD.RECORD_OVERFLOW)


AEAD_SUITES = {
    "aes-128-gcm": TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    "aes-256-gcm": TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    "chacha20-poly1305": TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
}


@pytest.mark.parametrize("where", ["tag", "ciphertext", "explicit-nonce-or-first"])
@pytest.mark.parametrize("suite", list(AEAD_SUITES))
def test_tampered_application_data_record(suite: str, where: str) -> None:
    """TLS-Anvil AEADCiphers.invalidAuthTag / invalidCiphertext (both): one bit flipped in the
    tag, the ciphertext, or the explicit nonce (the first ciphertext byte for ChaCha20).

    RFC 5246 §6.2.3.3: "If the decryption fails, a fatal bad_record_mac alert MUST be
    generated." """
    hs = established(tls12_cipher_suites=(AEAD_SUITES[suite],))
    data = bytearray(hs.server_record(1, APPLICATION_DATA, b"GET / HTTP/1.1\r\n\r\n"))
    index = {"tag": len(data) - 1, "ciphertext": len(data) - 20, "explicit-nonce-or-first": 6}
    data[index[where]] ^= 0x01
    rejects(hs, bytes(data), AD.BAD_RECORD_MAC)


# == both/tls12/rfc5246/ChangeCipherSpecProtocol, Finished; ClientServerStateMachine ==========


@pytest.mark.parametrize("content", [b"\x00", b"\x02", b"\xff", b"\x01\x01"],
                         ids=["0", "2", "255", "1-1"])  # fmt: skip
def test_invalid_change_cipher_spec_content(content: bytes) -> None:
    """TLS-Anvil ChangeCipherSpecProtocol.ccsContentTest (both): a fatal alert.

    RFC 5246 §7.1: "The message consists of a single byte of value 1." No alert named; other
    content is an inappropriate message (§7.2.2 unexpected_message, what RFC 8446 §5 names for
    the same case)."""
    hs = start()
    hs.finish()
    finished = hs.server_finished()[6:]
    error = rejects(hs, record(CCS, content) + finished)
    assert error.alert in (AD.UNEXPECTED_MESSAGE, AD.DECODE_ERROR, AD.ILLEGAL_PARAMETER)


@pytest.mark.parametrize("bitmask", ["first-bit", "last-bit", "all-bits"])
def test_wrong_server_finished(bitmask: str) -> None:
    """TLS-Anvil Finished.verifyFinishedMessageCorrect (both; a bitmask XORed into
    verify_data).

    RFC 5246 §7.4.9: "Recipients of Finished messages MUST verify that the contents are
    correct."; §7.2.2 decrypt_error: "A handshake cryptographic operation failed, including
    being unable to correctly verify a signature or validate a Finished message"."""
    hs = start()
    hs.finish()
    digest = hashlib.new(hs.suite.hash_name, b"".join(hs.transcript())).digest()
    right = bytearray(verify_data(hs.suite.hash_name, hs.master, b"server finished", digest))
    if bitmask == "first-bit":
        right[0] ^= 0x80
    elif bitmask == "last-bit":
        right[-1] ^= 0x01
    else:
        right = bytearray(b ^ 0xFF for b in right)
    rejects(hs, hs.server_finished(bytes(right)), AD.DECRYPT_ERROR)


@pytest.mark.parametrize(
    "suite",
    [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384],
    ids=["sha256-suite", "sha384-suite"],
)
def test_server_finished_with_the_wrong_prf(suite: CipherSuite12) -> None:
    """TLS-Anvil Finished.invalidPRF (both): verify_data computed with the other PRF hash.

    RFC 5246 §7.4.9: "For the PRF defined in Section 5, the Hash MUST be the Hash used as the
    basis for the PRF." and the Finished MUST be verified: decrypt_error (§7.2.2)."""
    hs = start(tls12_cipher_suites=(suite,))
    hs.finish()
    wrong = "sha384" if suite.hash_name == "sha256" else "sha256"
    digest = hashlib.new(wrong, b"".join(hs.transcript())).digest()
    bad = verify_data(wrong, hs.master, b"server finished", digest)
    rejects(hs, hs.server_finished(bad), AD.DECRYPT_ERROR)


def test_server_finished_without_change_cipher_spec() -> None:
    """TLS-Anvil Finished.omitCCS and ClientServerStateMachine.omitCCS (both): the server's
    Finished (in the clear, as TLS-Attacker sends it without a CCS) with no ChangeCipherSpec.

    RFC 5246 §7.4.9: "It is a fatal error if a Finished message is not preceded by a
    ChangeCipherSpec message at the appropriate point in the handshake." The message is
    inappropriate here: §7.2.2 unexpected_message."""
    hs = start()
    hs.finish()
    digest = hashlib.new(hs.suite.hash_name, b"".join(hs.transcript())).digest()
    right = verify_data(hs.suite.hash_name, hs.master, b"server finished", digest)
    rejects(hs, record(HANDSHAKE, frame(HandshakeType.FINISHED, right)), AD.UNEXPECTED_MESSAGE)


def test_encrypted_server_finished_without_change_cipher_spec() -> None:
    """TLS-Anvil StateMachine.omitChangeCipherSpecEncryptedFinished: the server's Finished
    protected under the new keys but without its ChangeCipherSpec: a fatal alert.

    RFC 5246 §7.4.9: "It is a fatal error if a Finished message is not preceded by a
    ChangeCipherSpec message" (no alert named: to a client still reading in the clear the
    record is garbage or an out-of-place message)."""
    hs = start()
    hs.finish()
    rejects(hs, hs.server_finished()[6:])


def test_unexpected_message_type_is_refused_from_its_header() -> None:
    """The case behind an intermittent failure of the test above: read in the clear, the
    encrypted Finished is two empty HelloRequests (its explicit nonce, ignored while
    negotiating) and then a header of whatever type and length the ciphertext spells. One
    that announces a long message of a type the client does not expect is unexpected_message
    at once, not a wait for a body that never comes (RFC 8446 §4, RFC 5246 §7.4)."""
    hs = start()
    hs.finish()
    ciphertext = bytes((0x9B, 0x01, 0xA9, 0x91)) + bytes(28)
    rejects(hs, record(HANDSHAKE, bytes(8) + ciphertext), AlertDescription.UNEXPECTED_MESSAGE)


def test_expected_message_type_may_wait_for_its_body() -> None:
    """The counterpart: the header of a message the state takes (here the Certificate after
    the ServerHello) waits for the rest of its body, and the handshake goes on."""
    hs = start()
    flight = b"".join(hs.server_messages)
    cut = len(hs.server_messages[0]) + 10
    hs.client.receive_data(record(HANDSHAKE, flight[:cut]))
    assert hs.client.data_to_send() == b""
    hs.client.receive_data(record(HANDSHAKE, flight[cut:]))
    hs.server.receive_data(hs.client.data_to_send())
    hs.client.receive_data(hs.server.data_to_send())
    assert hs.client.state is ConnectionState.APP_DATA


def test_finished_length_field_one_short() -> None:
    """TLS-Anvil lengthfield Finished.finishedLengthTLS12 (both): the server's Finished
    announcing 11 bytes of its 12 (the record still carries all of them).

    RFC 5246 §7.4.9: ``opaque verify_data[verify_data_length]`` with verify_data_length 12;
    §7.2.2 decode_error: "A message could not be decoded because some field was out of the
    specified range or the length of the message was incorrect." """
    hs = start()
    hs.finish()
    digest = hashlib.new(hs.suite.hash_name, b"".join(hs.transcript())).digest()
    right = verify_data(hs.suite.hash_name, hs.master, b"server finished", digest)
    message = with_length(frame(HandshakeType.FINISHED, right), 11)
    bad = record(CCS, b"\x01") + hs.server_record(0, HANDSHAKE, message)
    rejects(hs, bad, AD.DECODE_ERROR)


# == client/tls12/statemachine/StateMachine ====================================================


def test_server_omits_its_certificate() -> None:
    """TLS-Anvil StateMachine.omitCertificate: ServerHello, ServerKeyExchange, ServerHelloDone
    for a signed suite: a fatal alert.

    RFC 5246 §7.4.2: "The server MUST send a Certificate message whenever the agreed-upon key
    exchange method uses certificates for authentication"; a ServerKeyExchange in its place is
    an inappropriate message (§7.2.2 unexpected_message)."""
    hs = start()
    rejects_plaintext(hs, hs.replaced(HandshakeType.CERTIFICATE, None), AD.UNEXPECTED_MESSAGE)


def test_server_hello_twice() -> None:
    """TLS-Anvil StateMachine.sendServerHelloTwice (SharedStateMachineTest): a fatal alert.

    RFC 5246 §7.3/§7.4: one ServerHello per handshake, then Certificate; a second ServerHello
    is an inappropriate message (§7.2.2 unexpected_message)."""
    hs = start()
    hello = hs.message(HandshakeType.SERVER_HELLO)
    rejects_plaintext(hs, record(HANDSHAKE, hello) + hs.flight, AD.UNEXPECTED_MESSAGE)


def test_second_server_hello_after_the_client_finished() -> None:
    """TLS-Anvil StateMachine.sendSecondServerHelloAfterClientFinished: instead of its CCS and
    Finished, the server sends another ServerHello: a fatal alert.

    RFC 5246 §7.3: after the client's Finished the server sends ChangeCipherSpec and Finished;
    we never renegotiate (and a server starts renegotiation with HelloRequest, §7.4.1.1). An
    inappropriate message: §7.2.2 unexpected_message."""
    hs = start()
    hs.finish()
    rejects(hs, record(HANDSHAKE, hs.message(HandshakeType.SERVER_HELLO)), AD.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize("client", list(CLIENTS))
def test_resumption_flow_without_resumption(client: str) -> None:
    """TLS-Anvil StateMachine.sendResumptionMessageFlow: a ServerHello that does not echo a
    session ID of ours, then a ChangeCipherSpec: a fatal alert.

    RFC 5246 §7.3 Figure 1: a full handshake continues with Certificate; a ChangeCipherSpec
    now is out of place: §7.2.2 unexpected_message."""
    hs = start(client)
    hello = hs.message(HandshakeType.SERVER_HELLO)
    rejects_plaintext(hs, record(HANDSHAKE, hello) + record(CCS, b"\x01"), AD.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize("client", list(CLIENTS))
def test_begin_with_finished(client: str) -> None:
    """TLS-Anvil StateMachine.beginWithFinished (SharedStateMachineTest): a Finished as the
    server's first message.

    RFC 5246 §7.3: the server answers the ClientHello with a ServerHello; anything else is an
    inappropriate message: §7.2.2 unexpected_message."""
    hs = start(client)
    rejects_plaintext(hs, record(HANDSHAKE, frame(HandshakeType.FINISHED, bytes(12))),
                      AD.UNEXPECTED_MESSAGE)  # fmt: skip


@pytest.mark.parametrize("client", list(CLIENTS))
def test_begin_with_application_data(client: str) -> None:
    """TLS-Anvil StateMachine.beginWithApplicationData (SharedStateMachineTest).

    RFC 5246 §7.3: "Application data MUST NOT be sent prior to the completion of the first
    handshake"; an inappropriate record: §7.2.2 unexpected_message."""
    hs = start(client)
    rejects_plaintext(hs, record(APPLICATION_DATA, b"Test"), AD.UNEXPECTED_MESSAGE)


# == what our ClientHello offers (TLS-Anvil's non-combinatorial client tests) ==================


@pytest.mark.parametrize("client", list(CLIENTS))
def test_client_hello_offers_null_compression_only(client: str) -> None:
    """TLS-Anvil ClientHello.unknownCompressionMethod.

    RFC 5246 §7.4.1.2: "This vector MUST contain, and all implementations MUST support,
    CompressionMethod.null." (We offer nothing else: no compression, RFC 7457 §2.6 CRIME.)"""
    assert start(client).client_hello.legacy_compression_methods == b"\x00"


@pytest.mark.parametrize("client", list(CLIENTS))
def test_client_hello_offers_only_what_it_supports(client: str) -> None:
    """TLS-Anvil SupportedCiphersuites.supportsMoreCiphersuitesThanAdvertised /
    supportsLessCiphersuitesThanAdvertised (and rfc5246/SupportedCiphersuites), RC4Ciphersuites.
    offersRC4Ciphersuites, A5CipherSuite.negotiateTLS_NULL_WITH_NULL_NULL / anonCipherSuites,
    CipherSuites.supportOfDeprecatedCipherSuites, SCSV.doesNotIncludeFallbackCipherSuite: the
    offered suites are exactly the configured ones -- no RC4, DES, IDEA, NULL, anon, CBC or
    static RSA/ECDH suite, no TLS_FALLBACK_SCSV.

    RFC 5246 §7.4.1.2: the list "contains the combinations of cryptographic algorithms
    supported by the client in order of the client's preference"; RFC 7465 §2: "TLS clients
    MUST NOT include RC4 cipher suites in the ClientHello message"; RFC 5246 A.5: anon suites
    "MUST NOT be used by TLS 1.2 implementations unless the application layer has specifically
    requested to allow anonymous key exchange"; RFC 7507 §4: "If a client sets
    ClientHello.client_version to its highest supported protocol version, it MUST NOT include
    TLS_FALLBACK_SCSV in ClientHello.cipher_suites." """
    hs = start(client)
    tls13 = (0x1301, 0x1302, 0x1303) if client == "tls13-capable-client" else ()
    expected = (*tls13, *(s.id for s in TLS12_SUITES))
    offered = tuple(hs.client_hello.cipher_suites)
    assert set(offered) == set(expected), offered
    assert FALLBACK_SCSV not in offered
    for code in offered:
        suite = suite12_by_id(code)
        assert code in tls13 or (suite is not None and suite.key_exchange in ("ECDHE", "DHE"))


@pytest.mark.parametrize("suite", TLS12_SUITES, ids=lambda s: s.name)
def test_every_offered_suite_completes_a_handshake(suite: CipherSuite12) -> None:
    """TLS-Anvil SupportedCiphersuites.supportsLessCiphersuitesThanAdvertised and HappyFlow
    (both/tls12/rfc5246): a server choosing any suite the client offered gets a complete
    handshake and application data both ways.

    RFC 5246 §7.4.1.2: cipher_suites lists "the combinations of cryptographic algorithms
    supported by the client" -- so each one must work."""
    hs = Handshake12.start(client_config(), server_config(tls12_cipher_suites=(suite,)))
    hs.established()
    assert hs.suite == suite
    hs.server.send(b"pong")
    events = hs.client.receive_data(hs.server.data_to_send())
    assert b"".join(e.data for e in events if isinstance(e, ApplicationData)) == b"pong"
    hs.client.send(b"ping")
    events = hs.server.receive_data(hs.client.data_to_send())
    assert b"".join(e.data for e in events if isinstance(e, ApplicationData)) == b"ping"


@pytest.mark.parametrize("client", list(CLIENTS))
def test_client_hello_is_neither_sslv2_nor_sslv3(client: str) -> None:
    """TLS-Anvil DoNotUseSSLVersion30.sendClientHelloVersion0300 and ProhibitingSSLv2
    (sendSSL2CompatibleClientHello / sendClientHelloVersionLower0300, which on the client side
    mean: our hello is a TLS record with a TLS version).

    RFC 7568 §3: "clients MUST NOT send a ClientHello with ClientHello.client_version set to
    {03,00}"; RFC 6176 §3: "TLS clients MUST NOT send the SSL version 2.0 compatible
    CLIENT-HELLO message format." and "Clients MUST NOT send any ClientHello message that
    specifies a protocol version less than { 0x03, 0x00 }." """
    hs = start(client)
    assert hs.hello_records[0] == HANDSHAKE and hs.hello_records[1] == 3
    assert hs.hello_records[2] in (1, 3)  # record version 0x0301 or 0x0303
    assert hs.client_hello.legacy_version == 0x0303


def test_padding_extension_is_zeros() -> None:
    """TLS-Anvil PaddingExtension.paddingWithNonZero (a ClientHello our client pads: one of
    256..511 bytes).

    RFC 7685 §3 (not in our specs folder): "The client MUST fill the padding extension
    completely with zero bytes" """
    config = client13_config(groups=(X25519, SECP256R1), alpn_protocols=("h2", "http/1.1"))
    hs = Handshake12.start(config, server_config())
    padding = extension_data(hs.client_hello, PADDING_EXT)
    assert padding is not None and len(padding) > 0
    assert padding == bytes(len(padding))


@pytest.mark.parametrize("client", list(CLIENTS))
def test_server_name_lists_one_host_name(client: str) -> None:
    """TLS-Anvil ServerNameIndication.moreThanOneNameOfTheSameType.

    RFC 6066 §3: "The ServerNameList MUST NOT contain more than one name of the same
    name_type." """
    hs = start(client)
    ext = hs.client_hello.get(ServerName)
    assert ext is not None
    data = extension_data(hs.client_hello, SERVER_NAME_EXT)
    assert data is not None
    names, at = [], 2
    while at < len(data):
        n = int.from_bytes(data[at + 1 : at + 3], "big")
        names.append((data[at], data[at + 3 : at + 3 + n]))
        at += 3 + n
    assert names == [(0, b"localhost")]


@pytest.mark.parametrize("has_certificate", [False, True], ids=["no-certificate", "certificate"])
def test_client_sends_a_certificate_message_when_asked(has_certificate: bool) -> None:
    """TLS-Anvil ClientCertificateMessage.clientMustSendCertMsg: after a CertificateRequest
    the client's flight starts with a Certificate message -- empty when it has no certificate.

    RFC 5246 §7.4.6: "This is the first message the client can send after receiving a
    ServerHelloDone message. This message is only sent if the server requests a certificate.
    If no suitable certificate is available, the client MUST send a certificate message
    containing no certificates." """
    certs = (client_cert(),) if has_certificate else ()
    cadata = client_cert().leaf.public_bytes(Encoding.PEM)
    hs = Handshake12.start(
        client_config(certificates=certs),
        server_config(client_auth="required", client_cadata=cadata),
    )
    assert any(m[0] == HandshakeType.CERTIFICATE_REQUEST for m in hs.server_messages)
    first = messages(records(hs.answer())[0][1])[0]
    assert first[0] == HandshakeType.CERTIFICATE
    certificate_list_length = int.from_bytes(first[4:7], "big")
    assert (certificate_list_length > 0) is has_certificate


# == both/lengthfield (the fields of server messages a TLS 1.2 client parses) ==================


def nudge(data: bytes, at: int, size: int, delta: int) -> bytes:
    """``data`` with the ``size``-byte big-endian length field at ``at`` changed by
    ``delta`` -- only the field: the bytes it counts stay as they were (as TLS-Attacker's
    Modifiable.add/sub on a length field does)."""
    value = int.from_bytes(data[at : at + size], "big") + delta
    return data[:at] + value.to_bytes(size, "big") + data[at + size :]


def hello_ext_offset(body: bytes, ext_type: int) -> int:
    """Where the extension of ``ext_type`` starts (its type field) in a ServerHello body."""
    at = 35 + body[34] + 3 + 2
    while at < len(body):
        t, n = struct.unpack(">HH", body[at : at + 4])
        if t == ext_type:
            return at
        at += 4 + n
    raise AssertionError(f"no extension {ext_type} in the ServerHello")


HELLO_FIELDS: dict[str, Callable[[bytes], bytes]] = {
    # Hello.helloSessionIdLengthTLS12: session_id length +1
    "session-id-length+1": lambda b: nudge(b, 34, 1, +1),
    # Hello.helloExtensionsLengthTLS12: extensions length -1
    "extensions-length-1": lambda b: nudge(b, 35 + b[34] + 3, 2, -1),
    # extensions/ECPointFormatExtension: extension length -1, then the format list length -1
    "ec-point-formats-length-1": lambda b: nudge(b, hello_ext_offset(b, 11) + 2, 2, -1),
    "ec-point-formats-list-length-1": lambda b: nudge(b, hello_ext_offset(b, 11) + 4, 1, -1),
    # extensions/ExtendedMasterSecretExtension: extension length +1 (it is empty)
    "extended-master-secret-length+1": lambda b: nudge(b, hello_ext_offset(b, 23) + 2, 2, +1),
    # extensions/RenegotiationExtension: extension length -1, renegotiated_connection length +1
    "renegotiation-info-length-1": lambda b: nudge(b, hello_ext_offset(b, 0xFF01) + 2, 2, -1),
    "renegotiation-info-info-length+1": lambda b: nudge(b, hello_ext_offset(b, 0xFF01) + 4, 1, 1),
    # extensions/ALPNExtension: extension length -1, protocol list length -1
    "alpn-length-1": lambda b: nudge(b, hello_ext_offset(b, 16) + 2, 2, -1),
    "alpn-list-length-1": lambda b: nudge(b, hello_ext_offset(b, 16) + 4, 2, -1),
}


@pytest.mark.parametrize("client", list(CLIENTS))
@pytest.mark.parametrize("field", [*HELLO_FIELDS, "message-length-1"])
def test_server_hello_length_fields(field: str, client: str) -> None:
    """TLS-Anvil lengthfield Hello.helloSessionIdLengthTLS12 / helloLengthTLS12 /
    helloExtensionsLengthTLS12 and lengthfield extensions ECPointFormatExtension,
    ExtendedMasterSecretExtension, RenegotiationExtension, ALPNExtension (each length field
    of the ServerHello changed by one, the bytes unchanged).

    RFC 5246 §7.2.2 decode_error: "A message could not be decoded because some field was out of
    the specified range or the length of the message was incorrect." """
    if "alpn" in field:
        hs = Handshake12.start(
            CLIENTS[client](alpn_protocols=("h2",)), server_config(alpn_protocols=("h2",))
        )
    else:
        hs = start(client)
    message = hs.message(HandshakeType.SERVER_HELLO)
    if field == "message-length-1":
        bad = with_length(message, len(message) - 5)
    else:
        bad = frame(HandshakeType.SERVER_HELLO, HELLO_FIELDS[field](message[4:]))
    rejects_plaintext(hs, hs.replaced(HandshakeType.SERVER_HELLO, bad), AD.DECODE_ERROR)


@pytest.mark.parametrize("field", ["message-length-1", "certificate-list-length-1"])
def test_certificate_length_fields(field: str) -> None:
    """TLS-Anvil lengthfield Certificate.certificateMessageLengthTLS12 /
    certificateListLengthTLS12.

    RFC 5246 §7.2.2 decode_error: "... the length of the message was incorrect." """
    hs = start()
    message = hs.message(HandshakeType.CERTIFICATE)
    if field == "message-length-1":
        bad = with_length(message, len(message) - 5)
    else:
        bad = nudge(message, 4, 3, -1)
    rejects_plaintext(hs, hs.replaced(HandshakeType.CERTIFICATE, bad), AD.DECODE_ERROR)


SKE_FIELDS = ["message-length-1", "signature-length-1", "public-key-length-1",
              "modulus-length-1", "generator-length-1"]  # fmt: skip


@pytest.mark.parametrize("field", SKE_FIELDS)
def test_server_key_exchange_length_fields(field: str) -> None:
    """TLS-Anvil lengthfield ServerKeyExchange.serverKeyExchangeLength /
    serverKeyExchangeSignatureLength / serverKeyExchangePublicKeyLength / modulusLength /
    generatorLength (the DH ones with a DHE suite).

    RFC 5246 §7.2.2 decode_error: "A message could not be decoded because some field was out of
    the specified range or the length of the message was incorrect." """
    dhe = field in ("modulus-length-1", "generator-length-1")
    hs = signed_start("dhe-rsa") if dhe else start()
    message = hs.message(HandshakeType.SERVER_KEY_EXCHANGE)
    body = message[4:]
    params, _, _ = ske_parts(hs)
    if field == "message-length-1":
        bad = with_length(message, len(body) - 1)
    else:
        at = {
            "signature-length-1": (len(params) + 2, 2),
            "public-key-length-1": (3, 1),  # ECDHE: curve_type, named_curve, then the point
            "modulus-length-1": (0, 2),
            "generator-length-1": (2 + int.from_bytes(body[:2], "big"), 2),
        }[field]
        bad = frame(HandshakeType.SERVER_KEY_EXCHANGE, nudge(body, *at, -1))
    rejects_plaintext(hs, hs.replaced(HandshakeType.SERVER_KEY_EXCHANGE, bad), AD.DECODE_ERROR)


def test_server_hello_done_length_field() -> None:
    """TLS-Anvil lengthfield ServerHelloDone.serverHelloDoneLengthTest (length +10; replayed
    with the 10 bytes it announces, so that the message is complete).

    RFC 5246 §7.4.5: ``struct { } ServerHelloDone;`` -- it is empty; §7.2.2 decode_error: "the
    length of the message was incorrect"."""
    hs = start()
    bad = frame(HandshakeType.SERVER_HELLO_DONE, bytes(10))
    rejects_plaintext(hs, hs.replaced(HandshakeType.SERVER_HELLO_DONE, bad), AD.DECODE_ERROR)
