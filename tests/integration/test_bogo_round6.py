"""BoGo (BoringSSL ssl/test/runner) conformance, sixth round: named groups and key shares on both
ends and in both versions (the ``CurveTest-*`` matrix: every group we share with BoGo, truncated,
padded, compressed, off-curve and low-order shares, the X25519 high bit), unknown and unoffered
curves, EC point formats in TLS 1.2 and TLS 1.3, the hybrid ML-KEM group kept out of TLS 1.2, and
a TLS 1.3 ClientHello without signature_algorithms.

The techniques are those of the earlier rounds (``test_bogo_client*.py``,
``test_bogo_server*.py``, ``test_bogo_round3.py`` .. ``test_bogo_round5.py``): a BoGo
``clientTest`` (the shim is the client) is replayed against our ServerConnection, whose output is
edited where the Go server misbehaves (tests/server_flight.py); a ``serverTest`` is replayed with
a scripted client that writes every byte itself (tests/tls13_probe.py, tests/tls12_probe.py).

Only BoGo tests no earlier module cites are here. Each test names its BoGo test(s), says what
BoGo expects and quotes the RFC sentence that decides. BoGo only checks that a bad key share
fails (``:BAD_ECPOINT:``, ``:WRONG_CURVE:``); the tests assert the alert the RFC names
(illegal_parameter for a bad share or a group the client did not offer, missing_extension for a
missing mandatory extension).
"""

from __future__ import annotations

from typing import Any

import pytest

import tls12_probe
import tls13_probe
from memory_pair import pump
from server_flight import Flight13, Handshake12, client_config, rejects, rsa_cert, server_config
from tlsmachine import ClientConfig, ClientConnection, ConnectionState, ServerConnection
from tlsmachine.crypto.groups import (
    SECP256R1,
    SECP384R1,
    SECP521R1,
    X25519,
    Group,
)
from tlsmachine.crypto.kem import X25519MLKEM768
from tlsmachine.crypto.suites import (
    TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
)
from tlsmachine.enums import AlertDescription, HandshakeType, ProtocolVersion
from tlsmachine.errors import IllegalParameter
from tlsmachine.extensions import EcPointFormats, KeyShareServerHello, SupportedGroups
from tlsmachine.extensions.hello import KeyShareEntry
from tlsmachine.messages.tls13 import EncryptedExtensions

AD = AlertDescription
HT = HandshakeType
TLS12 = ProtocolVersion.TLS12
TLS13 = ProtocolVersion.TLS13

BOGUS_CURVE = 0x1234
"""The unassigned group BoGo uses for "a curve nobody implements"."""
P224 = 0x0015
"""secp224r1: assigned, but not implemented by us."""

GROUPS: dict[str, Group] = {
    "P-256": SECP256R1,
    "P-384": SECP384R1,
    "P-521": SECP521R1,
    "X25519": X25519,
}
"""BoGo's ``testCurves`` we implement (not P-224 nor the Kyber draft)."""


# == bad shares ===================================================================================


def truncated(group: Group) -> bytes:
    return group.generate().public_bytes[:-1]


def padded(group: Group) -> bytes:
    return group.generate().public_bytes + b"\x00"


def compressed(group: Group) -> bytes:
    """A NIST point in compressed form (RFC 8422 §5.4.1 ``compressed`` formats): 02/03 || x."""
    public = group.generate().public_bytes
    size = (len(public) - 1) // 2
    return bytes((2 + (public[-1] & 1),)) + public[1 : 1 + size]


def not_on_curve(group: Group) -> bytes:
    """An uncompressed point (x, y) = (1, 2): not on any of the NIST curves."""
    size = (len(group.generate().public_bytes) - 1) // 2
    return b"\x04" + (1).to_bytes(size, "big") + (2).to_bytes(size, "big")


def low_order_x25519(_group: Group) -> bytes:
    """u = 0, a point of small order: the X25519 result is all zeros (RFC 7748 §6.1)."""
    return bytes(32)


BAD_SHARES = [
    pytest.param("P-256", truncated, id="TruncateKeyShare-P-256"),
    pytest.param("X25519", truncated, id="TruncateKeyShare-X25519"),
    pytest.param("P-384", padded, id="PadKeyShare-P-384"),
    pytest.param("X25519", padded, id="PadKeyShare-X25519"),
    pytest.param("P-256", compressed, id="Compressed-P-256"),
    pytest.param("P-521", not_on_curve, id="NotOnCurve-P-521"),
    pytest.param("P-256", not_on_curve, id="NotOnCurve-P-256"),
    pytest.param("X25519", low_order_x25519, id="LowOrderX25519Point-X25519"),
]


# == TLS 1.3 server ===============================================================================


def hello13(groups: list[int], shares: list[tuple[int, bytes]], *, sigalgs: bool = True) -> bytes:
    """A TLS 1.3 ClientHello offering ``groups`` with the key shares ``shares``."""
    p = tls13_probe
    entries = b"".join(g.to_bytes(2, "big") + p.vector(2, k) for g, k in shares)
    extensions = [
        (p.EXT_KEY_SHARE, p.vector(2, entries)),
        (p.EXT_SUPPORTED_VERSIONS, p.vector(1, p.u16s((p.TLS13,)))),
        (p.EXT_SUPPORTED_GROUPS, p.vector(2, p.u16s(groups))),
    ]
    if sigalgs:
        extensions.append((p.EXT_SIGNATURE_ALGORITHMS, p.vector(2, p.u16s(p.RSA_PSS_SCHEMES))))
    return p.client_hello(extensions=extensions)


def selected_group13(probe: tls13_probe.Probe) -> int:
    assert probe.server_hello is not None
    share = tls13_probe.hello_extension(probe.server_hello, tls13_probe.EXT_KEY_SHARE)
    return int.from_bytes(share[:2], "big")


@pytest.mark.parametrize("name", [*GROUPS, "MLKEM"])
def test_tls13_server_completes_on_each_group(name: str) -> None:
    """BoGo CurveTest-Server-P-256-TLS13, CurveTest-Server-P-384-TLS13,
    CurveTest-Server-P-521-TLS13, CurveTest-Server-X25519-TLS13, CurveTest-Server-MLKEM-TLS13:
    a client preferring only that group (and sending its share) gets a handshake on it.
    RFC 8446 §4.2.8: "If using (EC)DHE key establishment, servers offer exactly one
    KeyShareEntry in the ServerHello. This value MUST be in the same group as the KeyShareEntry
    value offered by the client that the server has selected"."""
    group = X25519MLKEM768 if name == "MLKEM" else GROUPS[name]
    probe = tls13_probe.Probe()
    probe.handshake(hello13([group.id], [(group.id, group.generate().public_bytes)]))
    assert selected_group13(probe) == group.id


@pytest.mark.parametrize(("name", "make"), BAD_SHARES)
def test_tls13_server_refuses_an_invalid_key_share(name: str, make: Any) -> None:
    """BoGo CurveTest-Invalid-TruncateKeyShare-Server-*-TLS13,
    CurveTest-Invalid-PadKeyShare-*, CurveTest-Invalid-Compressed-*, CurveTest-Invalid-NotOnCurve-*,
    CurveTest-Invalid-LowOrderX25519Point-Server-X25519-TLS13: BoGo wants :BAD_ECPOINT: and
    "remote error: illegal parameter". RFC 8446 §4.2.8.2: "For the curves secp256r1,
    secp384r1, and secp521r1, peers MUST validate each other's public value Q by ensuring that
    the point is a valid point on the elliptic curve" (and UncompressedPointRepresentation, the
    only form, has ``legacy_form = 4`` and fixed-size coordinates); §7.4.2: "Implementations
    MUST check whether the computed Diffie-Hellman shared secret is the all-zero value and
    abort if so". The alert is illegal_parameter (§6.2: "A field in the handshake was incorrect
    or inconsistent with other fields")."""
    group = GROUPS[name]
    probe = tls13_probe.Probe()
    hello = hello13([group.id], [(group.id, make(group))])
    probe.expect_alert(lambda: probe.send_hello(hello), AD.ILLEGAL_PARAMETER)


def test_tls13_server_refuses_an_mlkem_share_of_the_wrong_length() -> None:
    """BoGo CurveTest-Invalid-PadKeyShare-Server-MLKEM-TLS13: an X25519MLKEM768
    share one byte too long fails with illegal_parameter. draft-ietf-tls-ecdhe-mlkem §4.1: "The
    size of the client share is 1216 bytes"; §4.2: the server "MUST perform the encapsulation
    key check [...] and abort with an illegal_parameter alert if it fails"."""
    probe = tls13_probe.Probe()
    share = X25519MLKEM768.generate().public_bytes + b"\x00"
    hello = hello13([X25519MLKEM768.id], [(X25519MLKEM768.id, share)])
    probe.expect_alert(lambda: probe.send_hello(hello), AD.ILLEGAL_PARAMETER)


def test_tls13_server_masks_the_x25519_high_bit() -> None:
    """BoGo CurveTest-SetX25519HighBit-Server-X25519-TLS13: a client share with the top bit of
    its last byte set still completes. RFC 7748 §5: "When receiving such an array,
    implementations of X25519 (but not X448) MUST mask the most significant bit in the final
    byte.\""""
    share = bytearray(X25519.generate().public_bytes)
    share[-1] |= 0x80
    probe = tls13_probe.Probe()
    probe.handshake(hello13([X25519.id], [(X25519.id, bytes(share))]))
    assert selected_group13(probe) == X25519.id


def test_tls13_server_skips_an_unknown_group() -> None:
    """BoGo UnknownCurve-TLS13: the client lists an unassigned group first, then
    P-256 (with its share); the server completes on P-256. RFC 8701 §3.2 (stating the rule
    GREASE relies on): "Servers MUST correctly ignore unknown values in a ClientHello and
    attempt to negotiate with one of the remaining parameters"."""
    probe = tls13_probe.Probe()
    share = SECP256R1.generate().public_bytes
    probe.handshake(hello13([BOGUS_CURVE, SECP256R1.id], [(SECP256R1.id, share)]))
    assert selected_group13(probe) == SECP256R1.id


def test_tls13_server_refuses_key_share_without_supported_groups() -> None:
    """BoGo NoSupportedCurves-TLS13: a TLS 1.3 ClientHello with a key_share but
    without supported_groups fails (BoGo: :NO_SHARED_GROUP:). RFC 8446 §9.2: "If containing a
    "supported_groups" extension, it MUST also contain a "key_share" extension, and vice
    versa" and "Servers receiving a ClientHello which does not conform to these requirements
    MUST abort the handshake with a "missing_extension" alert"; the RFC's alert is asserted."""
    p = tls13_probe
    share = SECP256R1.id.to_bytes(2, "big") + p.vector(2, SECP256R1.generate().public_bytes)
    extensions = [
        (p.EXT_KEY_SHARE, p.vector(2, share)),
        (p.EXT_SUPPORTED_VERSIONS, p.vector(1, p.u16s((p.TLS13,)))),
        (p.EXT_SIGNATURE_ALGORITHMS, p.vector(2, p.u16s(p.RSA_PSS_SCHEMES))),
    ]
    probe = p.Probe()
    hello = p.client_hello(extensions=extensions)
    probe.expect_alert(lambda: probe.send_hello(hello), AD.MISSING_EXTENSION)


def test_tls13_server_refuses_a_hello_without_signature_algorithms() -> None:
    """BoGo ServerAuth-NoFallback-TLS13: without signature_algorithms a TLS 1.3
    server must not fall back to default (SHA-1) schemes (BoGo: :NO_COMMON_SIGNATURE_ALGORITHMS:).
    RFC 8446 §4.2.3: "If a server is authenticating via a certificate and the client has not
    sent a "signature_algorithms" extension, then the server MUST abort the handshake with a
    "missing_extension" alert"; asserted is that alert."""
    share = SECP256R1.generate().public_bytes
    probe = tls13_probe.Probe()
    hello = hello13([SECP256R1.id], [(SECP256R1.id, share)], sigalgs=False)
    probe.expect_alert(lambda: probe.send_hello(hello), AD.MISSING_EXTENSION)


# == TLS 1.2 server ===============================================================================


def hello12(
    groups: list[int] | None,
    *,
    suites: tuple[int, ...] = (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.id,),
    point_formats: bytes | None = b"\x00",
) -> bytes:
    """A TLS 1.2 ClientHello: supported_groups ``groups`` (none if ``None``), ec_point_formats
    listing ``point_formats`` (none if ``None``)."""
    p = tls12_probe
    extensions: list[tuple[int, bytes]] = [p.SIGALGS, p.EMS, p.RENEGO]
    if groups is not None:
        extensions.append(p.groups_ext(*groups))
    if point_formats is not None:
        extensions.append((p.EC_POINT_FORMATS, bytes((len(point_formats),)) + point_formats))
    return p.client_hello(suites, extensions)


@pytest.mark.parametrize("name", list(GROUPS))
def test_tls12_server_completes_on_each_curve(name: str) -> None:
    """BoGo CurveTest-Server-P-256-TLS12, -P-384-TLS12, -P-521-TLS12, -X25519-TLS12:
    an ECDHE_RSA handshake on the client's only curve, which the ServerKeyExchange names. RFC
    8422 §4: "when a client uses these extensions, servers MUST NOT negotiate the use of an ECC
    cipher suite unless they can complete the handshake while respecting the choice of curves
    specified by the client"."""
    group = GROUPS[name]
    probe = tls12_probe.Probe()
    probe.full_handshake(hello12([group.id]))
    probe.check_server_finished()
    assert probe.ske is not None and probe.ske.ecdhe().named_curve == group.id


BAD_CKE = [p for p in BAD_SHARES if "Compressed" not in str(p.id)]


@pytest.mark.parametrize(("name", "make"), BAD_CKE)
def test_tls12_server_refuses_an_invalid_client_key_exchange(name: str, make: Any) -> None:
    """BoGo CurveTest-Invalid-TruncateKeyShare-Server-*-TLS12,
    CurveTest-Invalid-PadKeyShare-*, CurveTest-Invalid-NotOnCurve-*,
    CurveTest-Invalid-LowOrderX25519Point-Server-X25519-TLS12: BoGo wants :BAD_ECPOINT: and
    "remote error: illegal parameter". RFC 8422 §5.11: "With the NIST curves, each party MUST
    validate the public key sent by its peer in the ClientKeyExchange and ServerKeyExchange
    messages" and "With X25519 and X448, a receiving party MUST check whether the computed
    premaster secret is the all-zero value and abort the handshake if so". RFC 8422 names no
    alert; the one asserted (BoGo's) is RFC 5246 §7.2.2 illegal_parameter: "A field in the
    handshake was out of range or inconsistent with other fields"."""
    group = GROUPS[name]
    probe = tls12_probe.Probe()
    reply = probe.hello(hello12([group.id]))
    assert HT.SERVER_HELLO_DONE in reply.handshake_types
    point = make(group)
    cke = tls12_probe.handshake(HT.CLIENT_KEY_EXCHANGE, bytes((len(point),)) + point)
    tls12_probe.refused(probe.send(probe.handshake_record(cke)), AD.ILLEGAL_PARAMETER)


def test_tls12_server_refuses_a_compressed_client_point() -> None:
    """BoGo CurveTest-Invalid-Compressed-Server-P-256-TLS12: a compressed point in
    the ClientKeyExchange fails with illegal_parameter. RFC 8422 §5.1.2: implementations "MUST
    support the uncompressed format for all of their supported curves and MUST NOT support
    other formats for curves defined in this specification"; the field is then "out of range"
    (RFC 5246 §7.2.2 illegal_parameter)."""
    probe = tls12_probe.Probe()
    probe.hello(hello12([SECP256R1.id]))
    point = compressed(SECP256R1)
    cke = tls12_probe.handshake(HT.CLIENT_KEY_EXCHANGE, bytes((len(point),)) + point)
    tls12_probe.refused(probe.send(probe.handshake_record(cke)), AD.ILLEGAL_PARAMETER)


def test_tls12_server_skips_an_unknown_curve() -> None:
    """BoGo UnknownCurve: supported_groups = [0x1234, P-256]; the server picks P-256.
    RFC 8701 §3.2: "Servers MUST correctly ignore unknown values in a ClientHello and attempt to
    negotiate with one of the remaining parameters"; RFC 8422 §4: servers "MUST NOT negotiate
    the use of an ECC cipher suite unless they can complete the handshake while respecting the
    choice of curves specified by the client"."""
    probe = tls12_probe.Probe()
    probe.full_handshake(hello12([BOGUS_CURVE, SECP256R1.id]))
    probe.check_server_finished()
    assert probe.ske is not None and probe.ske.ecdhe().named_curve == SECP256R1.id


def test_tls12_server_without_a_common_curve_picks_a_dhe_suite() -> None:
    """BoGo NoCommonCurves: the client offers an ECDHE and a non-ECDHE suite but only
    P-224, which we lack; the server negotiates the other suite (BoGo: plain RSA, which we do not
    implement; here DHE_RSA). RFC 8422 §4: servers "MUST NOT negotiate the use of an ECC cipher
    suite unless they can complete the handshake while respecting the choice of curves
    specified by the client"; RFC 7919 §4 forbids an FFDHE suite only if the client listed FFDHE
    groups, and this client listed none."""
    suites = (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.id, TLS_DHE_RSA_WITH_AES_128_GCM_SHA256.id)
    probe = tls12_probe.Probe()
    reply = probe.hello(hello12([P224], suites=suites))
    assert reply.error is None, reply.error
    assert probe.server_hello is not None
    assert probe.server_hello.cipher_suite == TLS_DHE_RSA_WITH_AES_128_GCM_SHA256.id


@pytest.mark.parametrize(
    "formats",
    [
        pytest.param(bytes((42, 0, 99, 1)), id="Tolerance"),
        pytest.param(None, id="Missing"),
    ],
)
def test_tls12_server_point_formats_with_uncompressed_or_absent(formats: bytes | None) -> None:
    """BoGo PointFormat-Server-Tolerance, PointFormat-Server-Missing:
    ec_point_formats with unknown values around "uncompressed", or no ec_point_formats at all,
    completes. RFC 8422 §5.1: "If the Supported Point Formats Extension is indeed sent, it MUST
    contain the value 0 (uncompressed) as one of the items in the list of point formats" (other
    items are allowed), and §5.1.2: "RFC 4492 specified that if this extension is missing, it
    means that only the uncompressed point format is supported, so interoperability with
    implementations that support the uncompressed format should work with or without the
    extension"."""
    probe = tls12_probe.Probe()
    probe.full_handshake(hello12([SECP256R1.id], point_formats=formats))
    probe.check_server_finished()


def test_tls12_server_refuses_point_formats_without_uncompressed() -> None:
    """BoGo PointFormat-Server-MissingUncompressed: ec_point_formats = [ansiX962_compressed_prime]
    fails (BoGo: :ERROR_PARSING_EXTENSION:). RFC 8422 §5.1.2: "If the client sends the extension
    and the extension does not contain the uncompressed point format, and the client has used
    the Supported Groups extension to indicate support for any of the curves defined in this
    specification, then the server MUST abort the handshake and return an "illegal_parameter"
    alert"."""
    probe = tls12_probe.Probe()
    reply = probe.hello(hello12([SECP256R1.id], point_formats=b"\x01"))
    tls12_probe.refused(reply, AD.ILLEGAL_PARAMETER)


def test_tls12_server_does_not_select_the_hybrid_mlkem_group() -> None:
    """BoGo TLS12ServerShouldNotSelect-MLKEM: a TLS 1.2 client listing
    X25519MLKEM768 first, then X25519, gets X25519. draft-ietf-tls-ecdhe-mlkem defines the
    hybrid for the TLS 1.3 key_share only, so in TLS 1.2 it is a value the server cannot use,
    and RFC 8422 §4: servers "MUST NOT negotiate the use of an ECC cipher suite unless they can
    complete the handshake while respecting the choice of curves specified by the client"."""
    probe = tls12_probe.Probe()
    probe.full_handshake(hello12([X25519MLKEM768.id, X25519.id]))
    probe.check_server_finished()
    assert probe.ske is not None and probe.ske.ecdhe().named_curve == X25519.id


# == TLS 1.3 client ===============================================================================


@pytest.mark.parametrize("name", [*GROUPS, "MLKEM"])
def test_tls13_client_completes_on_each_group(name: str) -> None:
    """BoGo CurveTest-Client-P-256-TLS13, -P-384-TLS13, -P-521-TLS13,
    -X25519-TLS13, -MLKEM-TLS13: our client offering only that group completes against a server
    on it, and the ServerHello's share is of that group. RFC 8446 §4.2.8: "This value MUST be in
    the same group as the KeyShareEntry value offered by the client that the server has
    selected for the negotiated key exchange"."""
    group = X25519MLKEM768 if name == "MLKEM" else GROUPS[name]
    client = ClientConnection(client_config(groups=(group,)), "localhost")
    server = ServerConnection(server_config(groups=(group,)))
    pump(client, server)
    assert client.state is ConnectionState.APP_DATA
    assert server.state is ConnectionState.APP_DATA
    flight = Flight13.start(client_config(groups=(group,)), server_config(groups=(group,)))
    share = flight.server_hello.get(KeyShareServerHello)
    assert share is not None and share.server_share.group == group.id


@pytest.mark.parametrize(("name", "make"), BAD_SHARES)
def test_tls13_client_refuses_an_invalid_server_share(name: str, make: Any) -> None:
    """BoGo CurveTest-Invalid-TruncateKeyShare-Client-*-TLS13,
    CurveTest-Invalid-PadKeyShare-*, CurveTest-Invalid-Compressed-*, CurveTest-Invalid-NotOnCurve-*,
    CurveTest-Invalid-LowOrderX25519Point-Client-X25519-TLS13: the server's key_share is
    unusable; BoGo wants :BAD_ECPOINT:. RFC 8446 §4.2.8.2: "peers MUST validate each other's
    public value Q by ensuring that the point is a valid point on the elliptic curve"; §7.4.2:
    "Implementations MUST check whether the computed Diffie-Hellman shared secret is the
    all-zero value and abort if so". The client has no keys yet and sends illegal_parameter
    (§6.2: "A field in the handshake was incorrect or inconsistent with other fields") in the
    clear."""
    group = GROUPS[name]
    flight = Flight13.start(client_config(groups=(group,)), server_config(groups=(group,)))
    hello = flight.server_hello_with(KeyShareServerHello(KeyShareEntry(group.id, make(group))))
    error = rejects(flight.client, hello, AD.ILLEGAL_PARAMETER, plaintext=True)
    assert isinstance(error, IllegalParameter)


def test_tls13_client_masks_the_x25519_high_bit() -> None:
    """BoGo CurveTest-SetX25519HighBit-Client-X25519-TLS13: the server's X25519 share with
    the top bit set still completes: RFC 7748 §5 "implementations of X25519 [...] MUST mask
    the most significant bit in the final byte", so the shared secret is the same and the
    flight (whose keys came from the unmasked value) decrypts and verifies."""
    flight = Flight13.start(client_config(groups=(X25519,)), server_config(groups=(X25519,)))
    share = flight.server_hello.get(KeyShareServerHello)
    assert share is not None
    high = bytearray(share.server_share.key_exchange)
    high[-1] |= 0x80
    hello = flight.server_hello_with(KeyShareServerHello(KeyShareEntry(X25519.id, bytes(high))))
    data = flight.rekeyed(records_first(hello))
    flight.client.receive_data(data)
    assert flight.client.state is ConnectionState.APP_DATA


def records_first(hello_record: bytes) -> bytes:
    """The handshake message inside a single plaintext record."""
    return hello_record[5:]


@pytest.mark.parametrize(
    ("offered", "answered"),
    [
        pytest.param((SECP256R1,), BOGUS_CURVE, id="BadECDHECurve-TLS13"),
        pytest.param((SECP384R1,), SECP256R1.id, id="UnsupportedCurve-ServerHello-TLS13"),
    ],
)
def test_tls13_client_refuses_a_server_share_for_an_unoffered_group(
    offered: tuple[Group, ...], answered: int
) -> None:
    """BoGo BadECDHECurve-TLS13, UnsupportedCurve-ServerHello-TLS13: the
    ServerHello's key_share names a group the client never offered (an unknown one, or P-256 to
    a P-384-only client); BoGo wants :WRONG_CURVE:. RFC 8446 §4.2.8: "This value MUST be in the
    same group as the KeyShareEntry value offered by the client that the server has selected"
    and "Servers MUST NOT send a KeyShareEntry for any group not indicated in the client's
    "supported_groups" extension". The RFC names no alert for this case; asserted is
    illegal_parameter (§6.2: "A field in the handshake was incorrect or inconsistent with other
    fields"), the alert §4.2.8 names for the HelloRetryRequest twin of the check."""
    flight = Flight13.start(client_config(groups=offered), server_config(groups=offered))
    share = KeyShareEntry(answered, SECP256R1.generate().public_bytes)
    hello = flight.server_hello_with(KeyShareServerHello(share))
    rejects(flight.client, hello, AD.ILLEGAL_PARAMETER, plaintext=True)


def test_tls13_client_refuses_ec_point_formats_in_encrypted_extensions() -> None:
    """BoGo PointFormat-EncryptedExtensions-TLS13: ec_point_formats in EncryptedExtensions
    fails (BoGo: :ERROR_PARSING_EXTENSION:). The extension is not defined for TLS 1.3 messages
    (RFC 8446 §4.2 table) but our client sends it in its ClientHello (for TLS 1.2), so it is
    neither unsolicited nor unknown: it is "an extension which it recognizes and which is not
    specified for the message in which it appears", and the client "MUST abort the handshake
    with an "illegal_parameter" alert" (§4.2)."""
    flight = Flight13.start(client_config(min_version=TLS12))
    data = flight.with_ee(EcPointFormats(b"\x00"))
    rejects(flight.client, data, AD.ILLEGAL_PARAMETER, sends_alert=True)


def test_tls13_client_accepts_supported_groups_in_encrypted_extensions() -> None:
    """BoGo SupportedCurves-EncryptedExtensions-TLS13: the server lists its groups in
    EncryptedExtensions; the handshake completes. RFC 8446 §4.2.7: "As of TLS 1.3, servers are
    permitted to send the "supported_groups" extension to the client. Clients MUST NOT act upon
    any information found in "supported_groups" prior to successful completion of the handshake
    but MAY use the information learned from a successfully completed handshake"."""
    flight = Flight13.start()
    ee = EncryptedExtensions(extensions=(SupportedGroups((SECP521R1.id, BOGUS_CURVE, X25519.id)),))
    changed = flight.replaced(HT.ENCRYPTED_EXTENSIONS, ee)
    flight.client.receive_data(flight.sealed(flight.refinished(changed)))
    assert flight.client.state is ConnectionState.APP_DATA


# == TLS 1.2 client ===============================================================================


def client12(**kwargs: Any) -> ClientConfig:
    return ClientConfig(
        **{
            "verify_certificates": False,
            "max_version": TLS12,
            "groups": (SECP256R1,),
            "tls12_cipher_suites": (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,),
            **kwargs,
        }
    )


def start12(
    client_groups: tuple[Group, ...] = (SECP256R1,),
    server_groups: tuple[Group, ...] = (SECP256R1,),
) -> Handshake12:
    return Handshake12.start(
        client12(groups=client_groups),
        server_config(groups=server_groups, max_version=TLS12, certificates=(rsa_cert(),)),
    )


def ecdhe_params(group_id: int, point: bytes) -> bytes:
    """ServerECDHParams: named_curve (3), the curve, the point (RFC 8422 §5.4)."""
    return b"\x03" + group_id.to_bytes(2, "big") + bytes((len(point),)) + point


def point_formats_set(formats: bytes | None) -> Any:
    """A change for :meth:`Handshake12.hello_extensions`: ec_point_formats replaced by one
    listing ``formats`` (dropped if ``None``)."""

    def change(exts: list[tuple[int, bytes]]) -> None:
        exts[:] = [e for e in exts if e[0] != tls12_probe.EC_POINT_FORMATS]
        if formats is not None:
            exts.append((tls12_probe.EC_POINT_FORMATS, bytes((len(formats),)) + formats))

    return change


@pytest.mark.parametrize(
    "formats",
    [
        pytest.param(b"\x00", id="PointFormat-ServerHello-TLS12"),
        pytest.param(bytes((42, 0, 99, 1)), id="PointFormat-Client-Tolerance"),
        pytest.param(None, id="PointFormat-Client-Missing"),
    ],
)
def test_tls12_client_point_formats_with_uncompressed_or_absent(formats: bytes | None) -> None:
    """BoGo PointFormat-ServerHello-TLS12, PointFormat-Client-Tolerance,
    PointFormat-Client-Missing: a ServerHello whose ec_point_formats lists "uncompressed" (alone
    or among unknown values), or has none, is accepted and the client sends its flight. RFC
    8422 §5.2: the extension "MUST contain the value 0 (uncompressed) as one of the items in the
    list of point formats", and "If no Supported Point Formats Extension is received with the
    ServerHello, this is equivalent to an extension allowing only the uncompressed point
    format"."""
    hs = start12()
    flight = hs.hello_extensions(point_formats_set(formats))
    hs.client.receive_data(flight)
    assert hs.client.state is not ConnectionState.FAILED
    assert hs.client.data_to_send()


def test_tls12_client_refuses_point_formats_without_uncompressed() -> None:
    """BoGo PointFormat-Client-MissingUncompressed: a ServerHello with
    ec_point_formats = [ansiX962_compressed_prime] fails (BoGo: :ERROR_PARSING_EXTENSION:).
    RFC 8422 §5.2: "The Supported Point Formats Extension, when used, MUST contain the value 0
    (uncompressed) as one of the items in the list of point formats". RFC 8422 names the alert
    only for the server's side of this check (§5.1.2: "the server MUST abort the handshake and
    return an illegal_parameter alert"); the client asserts the same one (RFC 5246 §7.2.2: "A
    field in the handshake was out of range or inconsistent with other fields")."""
    hs = start12()
    flight = hs.hello_extensions(point_formats_set(b"\x01"))
    rejects(hs.client, flight, AD.ILLEGAL_PARAMETER, plaintext=True)


@pytest.mark.parametrize(
    ("client_groups", "curve"),
    [
        pytest.param((SECP256R1,), BOGUS_CURVE, id="BadECDHECurve"),
        pytest.param((SECP384R1,), SECP256R1.id, id="UnsupportedCurve"),
        pytest.param((X25519MLKEM768, X25519), X25519MLKEM768.id, id="ClientShouldNotAllowInTLS12"),
    ],
)
def test_tls12_client_refuses_a_server_key_exchange_on_an_unoffered_curve(
    client_groups: tuple[Group, ...], curve: int
) -> None:
    """BoGo BadECDHECurve, UnsupportedCurve, ClientShouldNotAllowInTLS12-MLKEM: a
    properly signed ServerKeyExchange names a curve the client did not offer for TLS 1.2 (an
    unknown one, P-256 to a P-384-only client, the TLS 1.3-only X25519MLKEM768 hybrid); BoGo
    wants :WRONG_CURVE: and "remote error: illegal parameter". RFC 8422 §4: servers "MUST NOT
    negotiate the use of an ECC cipher suite unless they can complete the handshake while
    respecting the choice of curves specified by the client"; the curve is then a field
    "inconsistent with other fields" (RFC 5246 §7.2.2 illegal_parameter)."""
    hs = start12(client_groups, (X25519,) if curve == X25519MLKEM768.id else client_groups)
    point = SECP256R1.generate().public_bytes
    flight = hs.resigned(ecdhe_params(curve, point))
    rejects(hs.client, flight, AD.ILLEGAL_PARAMETER, plaintext=True)


@pytest.mark.parametrize(("name", "make"), BAD_SHARES)
def test_tls12_client_refuses_an_invalid_server_point(name: str, make: Any) -> None:
    """BoGo CurveTest-Invalid-TruncateKeyShare-Client-*-TLS12,
    CurveTest-Invalid-PadKeyShare-*, CurveTest-Invalid-Compressed-*, CurveTest-Invalid-NotOnCurve-*,
    CurveTest-Invalid-LowOrderX25519Point-Client-X25519-TLS12: a properly signed
    ServerKeyExchange carries an unusable point; BoGo wants :BAD_ECPOINT: and "remote error:
    illegal parameter". RFC 8422 §5.11: "each party MUST validate the public key sent by its
    peer in the ClientKeyExchange and ServerKeyExchange messages" and for X25519 "MUST check
    whether the computed premaster secret is the all-zero value and abort the handshake if so";
    the alert (named by neither) is RFC 5246 §7.2.2 illegal_parameter."""
    group = GROUPS[name]
    hs = start12((group,), (group,))
    flight = hs.resigned(ecdhe_params(group.id, make(group)))
    rejects(hs.client, flight, AD.ILLEGAL_PARAMETER, plaintext=True)
