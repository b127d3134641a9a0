"""TLS 1.2 handshake messages (messages/tls12.py): wire formats written out by hand from the RFC
structs, strict bounds, dispatch in the TLS 1.2 message set, an OpenSSL 3.0 handshake captured
byte for byte, and property tests (Hypothesis) feeding every parser valid, truncated, oversized
and random bytes.

RFC 5246 §7.4 (TLS 1.2 handshake), RFC 8422 §5.4/§5.7 (ECDHE key exchange), RFC 5077 §3.3
(NewSessionTicket).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlsmachine.enums import (
    AlertDescription,
    CipherSuiteId,
    ExtensionType,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
    SignatureScheme,
)
from tlsmachine.errors import DecodeError, IllegalParameter, ProtocolError, UnexpectedMessage
from tlsmachine.extensions import (
    EcPointFormats,
    ExtendedMasterSecret,
    RenegotiationInfo,
    SessionTicket,
    SignatureAlgorithms,
    SupportedGroups,
    UnknownExtension,
)
from tlsmachine.messages import (
    CERTIFICATE_TYPE_ECDSA_SIGN,
    CERTIFICATE_TYPE_RSA_SIGN,
    CHANGE_CIPHER_SPEC,
    EC_CURVE_TYPE_NAMED_CURVE,
    Certificate,
    Certificate12,
    CertificateRequest,
    CertificateRequest12,
    CertificateVerify,
    ChangeCipherSpec,
    ClientHello,
    ClientKeyExchange,
    DheServerKeyExchange,
    EcdheServerKeyExchange,
    EncryptedExtensions,
    EndOfEarlyData,
    Finished,
    HandshakeMessage,
    HelloRequest,
    KeyUpdate,
    NewSessionTicket,
    NewSessionTicket12,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
    decode_handshake,
    dhe_params,
    ecdhe_params,
    encode_handshake,
)

TLS12 = ProtocolVersion.TLS12
H = HandshakeType


def unhex(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def with_header(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def decode12(raw: bytes) -> HandshakeMessage:
    return decode_handshake(raw, version=TLS12)


# --- Byte-exact encodings, written out from the RFC structs ------------------------------------

POINT = unhex("04 aabb")  # ECPoint contents: not a real point, the parser does not look inside

KNOWN: list[tuple[HandshakeMessage, str]] = [
    # RFC 5246 §7.4.1.1: struct { } HelloRequest;
    (HelloRequest(), "00 000000"),
    # RFC 5246 §7.4.2: ASN.1Cert certificate_list<0..2^24-1>, each opaque ASN.1Cert<1..2^24-1>
    (Certificate12(()), "0b 000003 000000"),
    (
        Certificate12((unhex("3003020101"), unhex("3000"))),
        "0b 000010 00000d 000005 3003020101 000002 3000",
    ),
    # RFC 8422 §5.4: curve_type named_curve(3), NamedCurve secp256r1, ECPoint<1..2^8-1>,
    # then digitally-signed: SignatureAndHashAlgorithm ecdsa_secp256r1_sha256, opaque<0..2^16-1>
    (
        ServerKeyExchange.signed(ecdhe_params(0x0017, POINT), 0x0403, unhex("300102")),
        "0c 00000e 03 0017 03 04aabb 0403 0003 300102",
    ),
    # RFC 5246 §7.4.3: ServerDHParams dh_p, dh_g, dh_Ys<1..2^16-1>, then digitally-signed
    (
        ServerKeyExchange.signed(dhe_params(b"\x17", b"\x02", b"\x05\x06"), 0x0804, b""),
        "0c 00000e 0001 17 0001 02 0002 0506 0804 0000",
    ),
    # RFC 5246 §7.4.4: certificate_types<1..2^8-1>, supported_signature_algorithms,
    # DistinguishedName certificate_authorities<0..2^16-1>
    (
        CertificateRequest12(b"\x01\x40", (0x0403, 0x0804), (unhex("3000"),)),
        "0d 00000f 02 0140 0004 0403 0804 0004 0002 3000",
    ),
    (CertificateRequest12(b"\x40", (0x0403,), ()), "0d 000008 01 40 0002 0403 0000"),
    # RFC 5246 §7.4.5: struct { } ServerHelloDone;
    (ServerHelloDone(), "0e 000000"),
    # RFC 8422 §5.7: ECPoint ecdh_Yc (opaque point<1..2^8-1>)
    (ClientKeyExchange.for_ecdhe(unhex("040102")), "10 000004 03 040102"),
    # RFC 5246 §7.4.7.2: opaque dh_Yc<1..2^16-1>
    (ClientKeyExchange.for_dhe(unhex("0102")), "10 000004 0002 0102"),
    # RFC 5077 §3.3: uint32 ticket_lifetime_hint; opaque ticket<0..2^16-1>;
    (NewSessionTicket12(7200, b"tkt"), "04 000009 00001c20 0003 746b74"),
    (NewSessionTicket12(0, b""), "04 000006 00000000 0000"),
    # RFC 5246 §7.4.8 / §7.4.9: the TLS 1.3 classes, same wire form
    (CertificateVerify(0x0403, unhex("3000")), "0f 000006 0403 0002 3000"),
    (Finished(bytes(12)), "14 00000c" + "00" * 12),
]


@pytest.mark.parametrize(("msg", "raw_hex"), KNOWN)
def test_known_encoding(msg: HandshakeMessage, raw_hex: str) -> None:
    raw = unhex(raw_hex)
    assert encode_handshake(msg) == raw
    parsed = decode12(raw)
    assert type(parsed) is type(msg)
    assert parsed == msg
    assert parsed.raw == raw
    assert encode_handshake(parsed) == raw


def test_builders_leave_raw_empty() -> None:
    ske = ServerKeyExchange.signed(ecdhe_params(0x001D, bytes(32)), 0x0403, b"s")
    cke = ClientKeyExchange.for_ecdhe(bytes(32))
    assert ske.raw == b""
    assert cke.raw == b""


def test_raw_is_not_compared_nor_shown() -> None:
    a = decode12(unhex("0e 000000"))
    assert a == ServerHelloDone()
    assert "raw" not in repr(NewSessionTicket12(1, b"t", raw=b"xyz"))


def test_ecdhe_reading() -> None:
    params = ecdhe_params(NamedGroup.X25519, bytes(range(32)))
    assert params == unhex("03 001d 20") + bytes(range(32))
    ske = ServerKeyExchange.signed(params, SignatureScheme.ECDSA_SECP256R1_SHA256, b"sig")
    assert ske.ecdhe() == EcdheServerKeyExchange(
        named_curve=NamedGroup.X25519,
        public=bytes(range(32)),
        params=params,
        algorithm=SignatureScheme.ECDSA_SECP256R1_SHA256,
        signature=b"sig",
    )
    assert EC_CURVE_TYPE_NAMED_CURVE == 3


def test_dhe_reading() -> None:
    params = dhe_params(b"\xff" * 3, b"\x02", b"\x01\x02")
    assert params == unhex("0003 ffffff 0001 02 0002 0102")
    ske = ServerKeyExchange.signed(params, SignatureScheme.RSA_PSS_RSAE_SHA256, b"")
    assert ske.dhe() == DheServerKeyExchange(
        p=b"\xff" * 3,
        g=b"\x02",
        ys=b"\x01\x02",
        params=params,
        algorithm=SignatureScheme.RSA_PSS_RSAE_SHA256,
        signature=b"",
    )


def test_client_key_exchange_reading() -> None:
    assert ClientKeyExchange(unhex("03 040102")).ecdh_public() == unhex("040102")
    assert ClientKeyExchange(unhex("0002 0102")).dh_public() == unhex("0102")
    # 255 bytes is the largest ECPoint; 2^16-1 the largest dh_Yc.
    assert ClientKeyExchange.for_ecdhe(bytes(255)).ecdh_public() == bytes(255)
    assert ClientKeyExchange.for_dhe(bytes(0xFFFF)).dh_public() == bytes(0xFFFF)


def test_certificate_request_constants() -> None:
    assert CERTIFICATE_TYPE_RSA_SIGN == 1  # RFC 5246 §7.4.4
    assert CERTIFICATE_TYPE_ECDSA_SIGN == 64  # RFC 8422 §5.5


def test_change_cipher_spec_pseudo_message() -> None:
    assert ChangeCipherSpec() == CHANGE_CIPHER_SPEC
    assert ChangeCipherSpec.msg_type is None
    assert CHANGE_CIPHER_SPEC.msg_type is None
    assert dataclasses.fields(CHANGE_CIPHER_SPEC) == ()
    assert hash(CHANGE_CIPHER_SPEC) == hash(ChangeCipherSpec())  # frozen: usable as a key


# --- Builders refuse what would not parse ------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: ecdhe_params(0x0017, b""),  # ECPoint<1..2^8-1>
        lambda: ecdhe_params(0x0017, bytes(256)),
        lambda: dhe_params(b"", b"\x02", b"\x03"),  # dh_p<1..2^16-1>
        lambda: dhe_params(b"\x17", b"", b"\x03"),
        lambda: dhe_params(b"\x17", b"\x02", b""),
        lambda: dhe_params(bytes(0x10000), b"\x02", b"\x03"),
        lambda: ClientKeyExchange.for_ecdhe(b""),
        lambda: ClientKeyExchange.for_ecdhe(bytes(256)),
        lambda: ClientKeyExchange.for_dhe(b""),
        lambda: ClientKeyExchange.for_dhe(bytes(0x10000)),
        lambda: ServerKeyExchange.signed(b"", 0x0403, bytes(0x10000)),
    ],
)
def test_builders_reject_out_of_bounds(build: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match=r"<|fit"):
        build()


# --- Strict bounds -----------------------------------------------------------------------------

MALFORMED: list[tuple[int, str, str]] = [
    (H.HELLO_REQUEST, "00", "HelloRequest: 1 trailing bytes"),
    (H.SERVER_HELLO_DONE, "00", "ServerHelloDone: 1 trailing bytes"),
    (H.SERVER_HELLO_DONE, "0000", "ServerHelloDone: 2 trailing bytes"),
    (H.CERTIFICATE, "", "truncated Certificate.certificate_list"),
    (H.CERTIFICATE, "0000", "truncated Certificate.certificate_list"),
    (H.CERTIFICATE, "000003 000000", r"ASN.1Cert: length 0 outside <1\.\."),
    (H.CERTIFICATE, "000004 000002 30", "truncated ASN.1Cert"),
    (H.CERTIFICATE, "000005 000002 30", "truncated Certificate.certificate_list"),
    (H.CERTIFICATE, "000000 00", "Certificate: 1 trailing bytes"),
    (H.CERTIFICATE, "000005 000001 30 00", "truncated ASN.1Cert"),  # a third of a length
    (H.CERTIFICATE_REQUEST, "", "truncated CertificateRequest.certificate_types"),
    (H.CERTIFICATE_REQUEST, "00 0002 0403 0000", r"certificate_types: length 0 outside <1\.\."),
    (H.CERTIFICATE_REQUEST, "01 40", "truncated CertificateRequest.supported_signature_alg"),
    (H.CERTIFICATE_REQUEST, "01 40 0000 0000", r"algorithms: length 0 outside <2\.\.65534>"),
    (H.CERTIFICATE_REQUEST, "01 40 ffff", r"algorithms: length 65535 outside <2\.\.65534>"),
    (H.CERTIFICATE_REQUEST, "01 40 0003 040304 0000", "odd length 3"),
    (H.CERTIFICATE_REQUEST, "01 40 0002 0403", "truncated CertificateRequest.certificate_auth"),
    (H.CERTIFICATE_REQUEST, "01 40 0002 0403 0002 0000", r"DistinguishedName: length 0"),
    (H.CERTIFICATE_REQUEST, "01 40 0002 0403 0003 0002 30", "truncated DistinguishedName"),
    (H.CERTIFICATE_REQUEST, "01 40 0002 0403 0000 00", "CertificateRequest: 1 trailing bytes"),
    (H.NEW_SESSION_TICKET, "", "truncated NewSessionTicket.ticket_lifetime_hint"),
    (H.NEW_SESSION_TICKET, "00001c", "truncated NewSessionTicket.ticket_lifetime_hint"),
    (H.NEW_SESSION_TICKET, "00001c20", "truncated NewSessionTicket.ticket"),
    (H.NEW_SESSION_TICKET, "00001c20 0005 aabb", "truncated NewSessionTicket.ticket"),
    (H.NEW_SESSION_TICKET, "00001c20 0000 00", "NewSessionTicket: 1 trailing bytes"),
    (H.CERTIFICATE_VERIFY, "0403 0002 00", "truncated CertificateVerify.signature"),
    (H.CERTIFICATE_VERIFY, "0403", "truncated CertificateVerify.signature"),
    (H.CERTIFICATE_VERIFY, "0403 0000 00", "CertificateVerify: 1 trailing bytes"),
]


@pytest.mark.parametrize(("msg_type", "body_hex", "message"), MALFORMED)
def test_malformed_bodies_are_decode_errors(msg_type: int, body_hex: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message) as info:
        decode12(with_header(msg_type, unhex(body_hex)))
    assert info.value.alert is AlertDescription.DECODE_ERROR


ECDHE_MALFORMED: list[tuple[str, str]] = [
    ("", "truncated ECParameters.curve_type"),
    ("03", "truncated ECParameters.namedcurve"),
    ("03 00", "truncated ECParameters.namedcurve"),
    ("03 0017", "truncated ServerECDHParams.public"),
    ("03 0017 00 0403 0000", r"ServerECDHParams.public: length 0 outside <1\.\.255>"),
    ("03 0017 05 0401", "truncated ServerECDHParams.public: need 5 bytes, 2 left"),
    ("03 0017 01 04", "truncated ServerKeyExchange.signed_params.algorithm"),
    ("03 0017 01 04 04", "truncated ServerKeyExchange.signed_params.algorithm"),
    ("03 0017 01 04 0403", "truncated ServerKeyExchange.signed_params.signature"),
    ("03 0017 01 04 0403 0005 0102", "truncated ServerKeyExchange.signed_params.signature"),
    ("03 0017 01 04 0403 0000 00", "ServerKeyExchange: 1 trailing bytes"),
]


@pytest.mark.parametrize(("body_hex", "message"), ECDHE_MALFORMED)
def test_malformed_ecdhe_server_key_exchange(body_hex: str, message: str) -> None:
    ske = decode12(with_header(H.SERVER_KEY_EXCHANGE, unhex(body_hex)))
    assert isinstance(ske, ServerKeyExchange)  # the generic form accepts any body
    with pytest.raises(DecodeError, match=message):
        ske.ecdhe()


@pytest.mark.parametrize("curve_type", [0, 1, 2, 4, 248, 255])
def test_explicit_or_unknown_curve_type_is_illegal_parameter(curve_type: int) -> None:
    # explicit_prime(1) and explicit_char2(2) are deprecated (RFC 8422 §5.4): even a
    # well-formed rest does not help.
    body = bytes([curve_type]) + unhex("0017 01 04 0403 0000")
    with pytest.raises(IllegalParameter, match=f"ECCurveType {curve_type} is not named_curve") as e:
        ServerKeyExchange(body).ecdhe()
    assert e.value.alert is AlertDescription.ILLEGAL_PARAMETER


DHE_MALFORMED: list[tuple[str, str]] = [
    ("", "truncated ServerDHParams.dh_p"),
    ("00", "truncated ServerDHParams.dh_p"),
    ("0000 0001 02 0001 05 0804 0000", r"ServerDHParams.dh_p: length 0 outside <1\.\.65535>"),
    ("0002 17", "truncated ServerDHParams.dh_p"),
    ("0001 17", "truncated ServerDHParams.dh_g"),
    ("0001 17 0000 0001 05 0804 0000", r"ServerDHParams.dh_g: length 0 outside <1\.\."),
    ("0001 17 0001 02", "truncated ServerDHParams.dh_Ys"),
    ("0001 17 0001 02 0000 0804 0000", r"ServerDHParams.dh_Ys: length 0 outside <1\.\."),
    ("0001 17 0001 02 0001 05", "truncated ServerKeyExchange.signed_params.algorithm"),
    ("0001 17 0001 02 0001 05 0804 00", "truncated ServerKeyExchange.signed_params.signature"),
    ("0001 17 0001 02 0001 05 0804 0001", "truncated ServerKeyExchange.signed_params.signature"),
    ("0001 17 0001 02 0001 05 0804 0000 00", "ServerKeyExchange: 1 trailing bytes"),
]


@pytest.mark.parametrize(("body_hex", "message"), DHE_MALFORMED)
def test_malformed_dhe_server_key_exchange(body_hex: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        ServerKeyExchange(unhex(body_hex)).dhe()


def test_server_key_exchange_read_in_the_wrong_form() -> None:
    dhe = ServerKeyExchange.signed(dhe_params(b"\x17", b"\x02", b"\x05"), 0x0804, b"")
    ecdhe = ServerKeyExchange.signed(ecdhe_params(0x0017, b"\x04"), 0x0403, b"")
    with pytest.raises(ProtocolError):
        dhe.ecdhe()
    with pytest.raises(ProtocolError):
        ecdhe.dhe()


@pytest.mark.parametrize(
    ("body_hex", "message"),
    [
        ("", "truncated ClientECDiffieHellmanPublic.ecdh_Yc"),
        ("00", r"ecdh_Yc: length 0 outside <1\.\.255>"),
        ("03 0401", "truncated ClientECDiffieHellmanPublic.ecdh_Yc"),
        ("01 04 00", "ClientKeyExchange: 1 trailing bytes"),
    ],
)
def test_malformed_ecdh_client_key_exchange(body_hex: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        ClientKeyExchange(unhex(body_hex)).ecdh_public()


@pytest.mark.parametrize(
    ("body_hex", "message"),
    [
        ("", "truncated ClientDiffieHellmanPublic.dh_Yc"),
        ("00", "truncated ClientDiffieHellmanPublic.dh_Yc"),
        ("0000", r"dh_Yc: length 0 outside <1\.\.65535>"),
        ("0003 0102", "truncated ClientDiffieHellmanPublic.dh_Yc"),
        ("0001 01 00", "ClientKeyExchange: 1 trailing bytes"),
    ],
)
def test_malformed_dh_client_key_exchange(body_hex: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        ClientKeyExchange(unhex(body_hex)).dh_public()


def test_oversized_lengths_are_decode_errors() -> None:
    # A length the enclosing structure cannot hold: the announced bytes are not there.
    big_cert = unhex("ffffff ffffff") + bytes(10)
    with pytest.raises(DecodeError, match=r"truncated Certificate\.certificate_list"):
        decode12(with_header(H.CERTIFICATE, big_cert))
    with pytest.raises(DecodeError, match=r"truncated NewSessionTicket\.ticket"):
        decode12(with_header(H.NEW_SESSION_TICKET, unhex("00000000 ffff") + bytes(100)))
    with pytest.raises(DecodeError, match=r"truncated ServerECDHParams\.public"):
        ServerKeyExchange(unhex("03 0017 ff") + bytes(254)).ecdhe()
    with pytest.raises(DecodeError, match=r"truncated ServerDHParams\.dh_p"):
        ServerKeyExchange(unhex("ffff") + bytes(0xFFFE)).dhe()
    # Exactly the largest legal sizes still parse.
    assert ServerKeyExchange(unhex("03 0017 ff") + bytes(255) + unhex("0403 0000")).ecdhe()
    nst = decode12(with_header(H.NEW_SESSION_TICKET, unhex("00000000 ffff") + bytes(0xFFFF)))
    assert nst == NewSessionTicket12(0, bytes(0xFFFF))


# --- Dispatch in the TLS 1.2 message set -------------------------------------------------------

TLS12_SET: list[tuple[HandshakeMessage, type[Any]]] = [
    (HelloRequest(), HelloRequest),
    (ClientHello(0x0303, bytes(32), b"", (0xC02B,), b"\x00", ()), ClientHello),
    (ServerHello(0x0303, bytes(32), b"", 0xC02B, 0, ()), ServerHello),
    (NewSessionTicket12(1, b"t"), NewSessionTicket12),
    (Certificate12((b"\x30\x00",)), Certificate12),
    (ServerKeyExchange(b"\x03\x00\x17"), ServerKeyExchange),
    (CertificateRequest12(b"\x01", (0x0401,), ()), CertificateRequest12),
    (ServerHelloDone(), ServerHelloDone),
    (CertificateVerify(0x0401, b"s"), CertificateVerify),
    (ClientKeyExchange(b"\x01\x04"), ClientKeyExchange),
    (Finished(bytes(12)), Finished),
]


@pytest.mark.parametrize(("msg", "cls"), TLS12_SET)
def test_tls12_dispatch(msg: HandshakeMessage, cls: type[Any]) -> None:
    raw = encode_handshake(msg)
    parsed = decode12(raw)
    assert type(parsed) is cls
    assert parsed == msg
    assert parsed.raw == raw


def test_every_tls12_handshake_type_is_dispatched() -> None:
    assert {msg.msg_type for msg, _ in TLS12_SET} == {
        H.HELLO_REQUEST,
        H.CLIENT_HELLO,
        H.SERVER_HELLO,
        H.NEW_SESSION_TICKET,
        H.CERTIFICATE,
        H.SERVER_KEY_EXCHANGE,
        H.CERTIFICATE_REQUEST,
        H.SERVER_HELLO_DONE,
        H.CERTIFICATE_VERIFY,
        H.CLIENT_KEY_EXCHANGE,
        H.FINISHED,
    }


@pytest.mark.parametrize(
    ("msg_type", "body_hex", "name"),
    [
        (H.ENCRYPTED_EXTENSIONS, "0000", "encrypted_extensions"),
        (H.KEY_UPDATE, "00", "key_update"),
        (H.END_OF_EARLY_DATA, "", "end_of_early_data"),
        (H.COMPRESSED_CERTIFICATE, "", "compressed_certificate"),
        (H.CERTIFICATE_STATUS, "", "certificate_status"),
        (H.MESSAGE_HASH, "", "message_hash"),
        (0x77, "", "0x0077"),
    ],
)
def test_tls13_only_types_are_unexpected_in_tls12(msg_type: int, body_hex: str, name: str) -> None:
    with pytest.raises(UnexpectedMessage, match=f"{name} is not valid in TLS12") as info:
        decode12(with_header(msg_type, unhex(body_hex)))
    assert info.value.alert is AlertDescription.UNEXPECTED_MESSAGE


@pytest.mark.parametrize(
    "msg",
    [
        HelloRequest(),
        ServerKeyExchange(b"\x03\x00\x17"),
        ServerHelloDone(),
        ClientKeyExchange(b"\x01\x04"),
    ],
)
def test_tls12_only_types_are_unexpected_in_tls13(msg: HandshakeMessage) -> None:
    with pytest.raises(UnexpectedMessage, match="not valid in TLS13"):
        decode_handshake(encode_handshake(msg))  # the default message set is TLS 1.3's


def test_shared_code_points_parse_per_version() -> None:
    """Certificate, CertificateRequest and NewSessionTicket have one code point and two forms."""
    cert12 = encode_handshake(Certificate12(()))  # 0b 000003 000000
    with pytest.raises(DecodeError):
        decode_handshake(cert12)  # as TLS 1.3: context 00, then a truncated list
    cert13 = encode_handshake(Certificate(b"", ()))
    assert isinstance(decode_handshake(cert13), Certificate)
    with pytest.raises(DecodeError):
        decode12(cert13)
    nst12 = encode_handshake(NewSessionTicket12(7, b"t"))
    assert isinstance(decode12(nst12), NewSessionTicket12)
    with pytest.raises(DecodeError):
        decode_handshake(nst12)  # as TLS 1.3: no room for ticket_age_add
    nst13 = encode_handshake(NewSessionTicket(1, 2, b"", b"t", ()))
    assert isinstance(decode_handshake(nst13), NewSessionTicket)
    req12 = encode_handshake(CertificateRequest12(b"\x01", (0x0401,), ()))
    assert isinstance(decode12(req12), CertificateRequest12)
    req13 = encode_handshake(CertificateRequest(b"", (UnknownExtension(0xFAFA, b""),)))
    assert isinstance(decode_handshake(req13), CertificateRequest)


def test_tls13_default_message_set_unchanged() -> None:
    for msg in (EncryptedExtensions(()), KeyUpdate(1), EndOfEarlyData()):
        raw = encode_handshake(msg)
        assert decode_handshake(raw) == msg
        assert decode_handshake(raw, version=ProtocolVersion.TLS13) == msg


# --- A real handshake: OpenSSL 3.0.19, TLS 1.2 ---------------------------------------------------
# Captured once, on 127.0.0.1, by a small Python TCP proxy logging both directions between
#   openssl s_server -tls1_2 -naccept 1 -cert c.pem -key k.pem -cipher SUITE:@SECLEVEL=0
#   openssl s_client -tls1_2 -connect 127.0.0.1:PORT -cipher SUITE:@SECLEVEL=0
# (free ports, `timeout 15` around both), keeping the plaintext handshake records up to each
# side's ChangeCipherSpec. ECDHE: SUITE = ECDHE-ECDSA-AES128-GCM-SHA256 with a throwaway P-256
# self-signed certificate (`openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256`);
# DHE: SUITE = DHE-RSA-AES128-GCM-SHA256 with a throwaway RSA-1024 one (SECLEVEL=0 so that
# OpenSSL accepts the small key and picks a 1024-bit DH group: short test vectors).
# The signatures below verify, so ``params`` is exactly the signed part.

ECDHE_CLIENT_HELLO = bytes.fromhex(
    "010000850303d27603f9c42f6b798f73aecef96cf9b5b58c38cd7366fc7dcd46f710fe7a8999000004c02b00"
    "ff01000058000b000403000102000a000c000a001d0017001e00190018002300000016000000170000000d00"
    "30002e040305030603080708080809080a080b08040805080604010501060103030203030102010302020204"
    "0205020602"
)
ECDHE_CLIENT_KEY_EXCHANGE = bytes.fromhex(
    "1000002120eae38d0a2451f099234962fbec78f95445f59b7128e392e8d91bb3e8e5595b76"
)
ECDHE_SERVER_HELLO = bytes.fromhex(
    "0200003d0303c0ecee826d29545ce096938c7d0405902a3e4d22e3beab94932fa1cc864ff16b00c02b000015"
    "ff01000100000b0004030001020023000000170000"
)
ECDHE_CERTIFICATE = bytes.fromhex(
    "0b0001880001850001823082017e30820123a003020102021456f633d5a52894af529db8ecc12b1c4985ef0b"
    "0f300a06082a8648ce3d04030230143112301006035504030c096c6f63616c686f7374301e170d3236313132"
    "323136333333365a170d3236313132343136333333365a30143112301006035504030c096c6f63616c686f73"
    "743059301306072a8648ce3d020106082a8648ce3d03010703420004f9300c7a49fb987fba063fc4ef0e99ed"
    "dcc3d6b27fcdfa06f6b2c1b8c24c3a8ca5a11dcfa33b5988d3ad27f999372678f10bfb3f255e122cdcd06c74"
    "bba68ae6a3533051301d0603551d0e041604148c521f42f295084e681167e61e52bdb6bacc4121301f060355"
    "1d230418301680148c521f42f295084e681167e61e52bdb6bacc4121300f0603551d130101ff040530030101"
    "ff300a06082a8648ce3d0403020349003046022100e0434d470b7fbf402db5dc9b17b83b563ff2772dd7ec7b"
    "6cc31d6426b4f677fe022100927a9b6c847c0d4d8eea73096329f6e8251bda3fbb0f69d93d4820bd0cebbd1c"
)
ECDHE_SERVER_KEY_EXCHANGE = bytes.fromhex(
    "0c00006f03001d2063ac3095346dd50380e79c609c5e31a9da32174dbf5001f761896cf2e1bf796004030047"
    "30450220416d0275cc1722c4aaf7b4095d4ff5e76741b278a9626356e9d42516ce46f8e0022100f3419c63c5"
    "165d0e4a9dd2d609065fe5319dd42d4cf36360e03bc8de18ef1704"
)
ECDHE_NEW_SESSION_TICKET = bytes.fromhex(
    "040000b600001c2000b0b9372e1ec14c65b39e48fd3615155156f994842cadb752f7257bd70e77211b79cca5"
    "89185c63ed0cbf4ca5464d5007dcd9f3523fbe2c43a35b30292d47dad0e2f7304cdb6922cac37e677d288ad3"
    "4ca41c77a7005f59043f3b56378d8a51236820ae19fd7489ef58ac9df3b83207e7fef4724e786f4250390db1"
    "03a567d756f3b9e5efda9699110589f08b321b22a0d58530f811bb17d2715ad51ce63bd05729c2801fd0ba21"
    "b018ce045bda52c19f4c"
)
DHE_CLIENT_HELLO = bytes.fromhex(
    "0100006d03035c92c12ecba9e7be2a7b25f37e02616e1090d6dc52adb8fe385f917009a33da3000004009e00"
    "ff01000040002300000016000000170000000d0030002e040305030603080708080809080a080b0804080508"
    "06040105010601030302030301020103020202040205020602"
)
DHE_CLIENT_KEY_EXCHANGE = bytes.fromhex(
    "100000820080701f8db017b0445f3ca55264ca05a167d037f3fe0b3e03fb973546b9be5dc399b4127b32565a"
    "b6b40c85e7673b57ca597487fa9b3df3e9a19e127717f1a2bd0270634b1041c7b2389b180f5cbc3ede528eae"
    "5271308c2c6cf0cb074c253c0fd49b957007ad5efa39500ce394b2861e85c0b44944f1d6dce41285109dd547"
    "5fca"
)
DHE_SERVER_HELLO = bytes.fromhex(
    "020000350303c8e3cd82a9f8491867e3c5cbabb0020976110520107290a2c354557c57271fde00009e00000d"
    "ff010001000023000000170000"
)
DHE_CERTIFICATE = bytes.fromhex(
    "0b00020e00020b000208308202043082016da00302010202143d99dc1bfe7d67c6124bdfdbf2ddcea10ca1ea"
    "12300d06092a864886f70d01010b050030143112301006035504030c096c6f63616c686f7374301e170d3236"
    "313132323136333333395a170d3236313132343136333333395a30143112301006035504030c096c6f63616c"
    "686f737430819f300d06092a864886f70d010101050003818d0030818902818100c00a49b43668ddaf7f45f9"
    "1660ce294e266a4824ed24560529aff8a2265140c250c0c85cf8bb69ae9835d6727c7d9828240a3c46670911"
    "9cd60f492a292924edfbbd07f881f217054c7e7de573647c0d6614d076540bf95b438d6a4770ec41df29dfca"
    "701899271a10b022a8d42fc952585da53a6dac927e437edf6951da2fed0203010001a3533051301d0603551d"
    "0e04160414e6edf7ac7d3ffa07c986f7dd199699a4e2d0b48b301f0603551d23041830168014e6edf7ac7d3f"
    "fa07c986f7dd199699a4e2d0b48b300f0603551d130101ff040530030101ff300d06092a864886f70d01010b"
    "05000381810042188119f958ae91a2e70ceab172ef5a81bf6fae47792e2a1e9fd569ba1ca831e306bc85ec08"
    "eed75547b684b88865006e2b5b6e8dca27abeb8b1e75df0cb1c138a17f30598112d3d8b5253a755d3998598b"
    "32488cdc66f9020bc51baf6df887a0ec589e5c8e8607cd9606ea552149fdd526d5b2be41df9447e515d60a1c"
    "fc9f"
)
DHE_SERVER_KEY_EXCHANGE = bytes.fromhex(
    "0c00018b0080ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b13"
    "9b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c"
    "42e9a637ed6b0bff5cb6f406b7edee386bfb5a899fa5ae9f24117c4b1fe649286651ece65381ffffffffffff"
    "ffff00010200808c9490ef3d6042bb9def85f16bd0f9d40659cfe1157c762130eeebeb59c653b39d8c6091a2"
    "a85cc02b8714fd5cc9ce2b27657a8e814429380cea40df407fa265d06dac94002cedbaf1f7fcf447cebc5a4e"
    "80a4e00b8b5fe41a3a2531db15f3c73e9c16455f306965cc62ace4b1b3b41f39e49e8f226b8f043d28e13db5"
    "67652c0804008085c2262ff7102407cc386384f6ea4073cb1de12d8939cc60961fc3d03b42c497b62d359232"
    "a9c1160c18d0e203ddaf67537546dfe749225080a21ccdee62f59be38725d3e38d5fd184578b28c7e04673c3"
    "077048b11b0c3a27b213fb3f390c59385d440abcafaa21d59b68924b6b91219629f6cf622c0f094323718e7a"
    "bdd50b"
)


def _random(hello: HandshakeMessage) -> bytes:
    assert isinstance(hello, ClientHello | ServerHello)
    return hello.random


def test_openssl_tls12_ecdhe_handshake() -> None:
    ch = decode12(ECDHE_CLIENT_HELLO)
    assert isinstance(ch, ClientHello)
    assert ch.cipher_suites == (
        CipherSuiteId.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        0x00FF,  # TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746 §3.3) instead of the extension
    )
    assert ch.get(EcPointFormats) == EcPointFormats(b"\x00\x01\x02")
    assert ch.get(SupportedGroups) == SupportedGroups((0x001D, 0x0017, 0x001E, 0x0019, 0x0018))
    assert ch.get(SessionTicket) == SessionTicket(b"")  # ready to receive a ticket
    assert ch.get(ExtendedMasterSecret) == ExtendedMasterSecret()
    assert ch.get(UnknownExtension) == UnknownExtension(ExtensionType.ENCRYPT_THEN_MAC, b"")
    assert ch.get(RenegotiationInfo) is None
    sig_algs = ch.get(SignatureAlgorithms)
    assert sig_algs is not None
    assert len(sig_algs.schemes) == 23
    assert encode_handshake(ch) == ECDHE_CLIENT_HELLO

    sh = decode12(ECDHE_SERVER_HELLO)
    assert isinstance(sh, ServerHello)
    assert sh.cipher_suite == CipherSuiteId.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    assert sh.extensions == (
        RenegotiationInfo(b""),
        EcPointFormats(b"\x00\x01\x02"),
        SessionTicket(b""),
        ExtendedMasterSecret(),
    )
    assert encode_handshake(sh) == ECDHE_SERVER_HELLO

    cert = decode12(ECDHE_CERTIFICATE)
    assert isinstance(cert, Certificate12)
    assert len(cert.certificate_list) == 1
    leaf = x509.load_der_x509_certificate(cert.certificate_list[0])
    assert encode_handshake(cert) == ECDHE_CERTIFICATE

    ske = decode12(ECDHE_SERVER_KEY_EXCHANGE)
    assert isinstance(ske, ServerKeyExchange)
    ecdhe = ske.ecdhe()
    assert ecdhe.named_curve == NamedGroup.X25519
    assert len(ecdhe.public) == 32
    assert ecdhe.params == ecdhe_params(NamedGroup.X25519, ecdhe.public)
    assert ecdhe.algorithm == SignatureScheme.ECDSA_SECP256R1_SHA256
    key = leaf.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    signed = _random(ch) + _random(sh) + ecdhe.params  # RFC 8422 §5.4
    key.verify(ecdhe.signature, signed, ec.ECDSA(hashes.SHA256()))
    rebuilt = ServerKeyExchange.signed(ecdhe.params, ecdhe.algorithm, ecdhe.signature)
    assert encode_handshake(rebuilt) == ECDHE_SERVER_KEY_EXCHANGE

    assert decode12(unhex("0e000000")) == ServerHelloDone()

    cke = decode12(ECDHE_CLIENT_KEY_EXCHANGE)
    assert isinstance(cke, ClientKeyExchange)
    assert len(cke.ecdh_public()) == 32
    assert encode_handshake(ClientKeyExchange.for_ecdhe(cke.ecdh_public())) == cke.raw

    nst = decode12(ECDHE_NEW_SESSION_TICKET)
    assert isinstance(nst, NewSessionTicket12)
    assert nst.ticket_lifetime_hint == 7200
    assert len(nst.ticket) == 176
    assert encode_handshake(nst) == ECDHE_NEW_SESSION_TICKET


def test_openssl_tls12_dhe_handshake() -> None:
    ch = decode12(DHE_CLIENT_HELLO)
    assert isinstance(ch, ClientHello)
    assert ch.get(EcPointFormats) is None  # no ECC suite offered
    assert ch.get(ExtendedMasterSecret) == ExtendedMasterSecret()

    sh = decode12(DHE_SERVER_HELLO)
    assert isinstance(sh, ServerHello)
    assert sh.cipher_suite == 0x009E  # TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
    assert sh.extensions == (RenegotiationInfo(b""), SessionTicket(b""), ExtendedMasterSecret())

    cert = decode12(DHE_CERTIFICATE)
    assert isinstance(cert, Certificate12)
    key = x509.load_der_x509_certificate(cert.certificate_list[0]).public_key()
    assert isinstance(key, rsa.RSAPublicKey)

    ske = decode12(DHE_SERVER_KEY_EXCHANGE)
    assert isinstance(ske, ServerKeyExchange)
    dhe = ske.dhe()
    # RFC 2409 §6.2, the 1024-bit MODP group: 2^1024 - 2^960 - 1 + 2^64 * (...)
    assert len(dhe.p) == 128
    assert dhe.p[:12] == unhex("ffffffffffffffff c90fdaa2")
    assert dhe.p[-8:] == b"\xff" * 8
    assert dhe.g == b"\x02"
    assert len(dhe.ys) == 128
    assert dhe.params == dhe_params(dhe.p, dhe.g, dhe.ys)
    assert dhe.algorithm == SignatureScheme.RSA_PSS_RSAE_SHA256
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    signed = _random(ch) + _random(sh) + dhe.params  # RFC 5246 §7.4.3
    key.verify(dhe.signature, signed, pss, hashes.SHA256())
    assert encode_handshake(ske) == DHE_SERVER_KEY_EXCHANGE

    cke = decode12(DHE_CLIENT_KEY_EXCHANGE)
    assert isinstance(cke, ClientKeyExchange)
    assert len(cke.dh_public()) == 128
    assert encode_handshake(ClientKeyExchange.for_dhe(cke.dh_public())) == DHE_CLIENT_KEY_EXCHANGE


# --- Properties (Hypothesis) -------------------------------------------------------------------
# Only ProtocolError subclasses (TLSErrors carrying an alert) may escape a parser.

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)


def blob(min_size: int, max_size: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=min_size, max_size=max_size)


def u16s(min_size: int, max_size: int) -> st.SearchStrategy[tuple[int, ...]]:
    return st.lists(u16, min_size=min_size, max_size=max_size).map(tuple)


ecdhe_kx = st.builds(
    lambda curve, public, alg, sig: ServerKeyExchange.signed(ecdhe_params(curve, public), alg, sig),
    u16,
    blob(1, 133),
    u16,
    blob(0, 140),
)
dhe_kx = st.builds(
    lambda p, g, ys, alg, sig: ServerKeyExchange.signed(dhe_params(p, g, ys), alg, sig),
    blob(1, 80),
    blob(1, 4),
    blob(1, 80),
    u16,
    blob(0, 140),
)

# Every new message form (and the shared CertificateVerify) with its valid contents.
MESSAGES12: dict[str, st.SearchStrategy[Any]] = {
    "HelloRequest": st.just(HelloRequest()),
    "Certificate12": st.builds(Certificate12, st.lists(blob(1, 60), max_size=4).map(tuple)),
    "ServerKeyExchange-ECDHE": ecdhe_kx,
    "ServerKeyExchange-DHE": dhe_kx,
    "ServerKeyExchange-raw": st.builds(ServerKeyExchange, blob(0, 60)),
    "CertificateRequest12": st.builds(
        CertificateRequest12, blob(1, 8), u16s(1, 20), st.lists(blob(1, 40), max_size=3).map(tuple)
    ),
    "ServerHelloDone": st.just(ServerHelloDone()),
    "ClientKeyExchange-ECDHE": st.builds(ClientKeyExchange.for_ecdhe, blob(1, 133)),
    "ClientKeyExchange-DHE": st.builds(ClientKeyExchange.for_dhe, blob(1, 300)),
    "NewSessionTicket12": st.builds(NewSessionTicket12, u32, blob(0, 200)),
    "CertificateVerify": st.builds(CertificateVerify, u16, blob(0, 200)),
}
any_message12 = st.one_of(list(MESSAGES12.values()))
# Messages whose every byte is structure: no strict prefix of the body parses.
STRICT = (Certificate12, CertificateRequest12, NewSessionTicket12, CertificateVerify)
NEW_TYPES = [
    H.HELLO_REQUEST,
    H.CERTIFICATE,
    H.SERVER_KEY_EXCHANGE,
    H.CERTIFICATE_REQUEST,
    H.SERVER_HELLO_DONE,
    H.CLIENT_KEY_EXCHANGE,
    H.NEW_SESSION_TICKET,
    H.CERTIFICATE_VERIFY,
]


def only_protocol_errors(fn: Callable[[], object]) -> None:
    """Run ``fn``; success or a ProtocolError is fine, anything else propagates and fails."""
    with contextlib.suppress(ProtocolError):
        fn()


def read_every_way(body: bytes) -> None:
    """Feed ``body`` to every typed key exchange reader."""
    ske = ServerKeyExchange(body)
    cke = ClientKeyExchange(body)
    for read in (ske.ecdhe, ske.dhe, cke.ecdh_public, cke.dh_public):
        only_protocol_errors(read)


@pytest.mark.parametrize("name", list(MESSAGES12))
def test_round_trip(name: str) -> None:
    @FAST
    @given(MESSAGES12[name])
    def check(msg: HandshakeMessage) -> None:
        raw = encode_handshake(msg)
        parsed = decode12(raw)
        assert type(parsed) is type(msg)
        assert parsed == msg
        assert parsed.raw == raw
        assert encode_handshake(parsed) == raw

    check()


@FAST
@given(u16, blob(1, 255), u16, blob(0, 300))
def test_ecdhe_fields_round_trip(curve: int, public: bytes, alg: int, sig: bytes) -> None:
    params = ecdhe_params(curve, public)
    raw = encode_handshake(ServerKeyExchange.signed(params, alg, sig))
    parsed = decode12(raw)
    assert isinstance(parsed, ServerKeyExchange)
    assert parsed.ecdhe() == EcdheServerKeyExchange(curve, public, params, alg, sig)


@FAST
@given(blob(1, 300), blob(1, 4), blob(1, 300), u16, blob(0, 300))
def test_dhe_fields_round_trip(p: bytes, g: bytes, ys: bytes, alg: int, sig: bytes) -> None:
    params = dhe_params(p, g, ys)
    raw = encode_handshake(ServerKeyExchange.signed(params, alg, sig))
    parsed = decode12(raw)
    assert isinstance(parsed, ServerKeyExchange)
    assert parsed.dhe() == DheServerKeyExchange(p, g, ys, params, alg, sig)


@FAST
@given(blob(1, 255), blob(1, 600))
def test_client_public_round_trip(ec_public: bytes, dh_public: bytes) -> None:
    assert ClientKeyExchange.for_ecdhe(ec_public).ecdh_public() == ec_public
    assert ClientKeyExchange.for_dhe(dh_public).dh_public() == dh_public


@SLOW
@given(any_message12)
def test_no_strict_prefix_parses(msg: HandshakeMessage) -> None:
    raw = encode_handshake(msg)
    for i in range(len(raw)):
        with pytest.raises(DecodeError):
            decode12(raw[:i])  # the header no longer matches
    if not isinstance(msg, STRICT):
        return
    body = raw[4:]
    for i in range(len(body)):
        with pytest.raises(DecodeError):
            decode12(with_header(raw[0], body[:i]))
    with pytest.raises(DecodeError, match="trailing"):
        decode12(with_header(raw[0], body + b"\x00"))


@pytest.mark.parametrize(
    ("kx", "read"), [(ecdhe_kx, ServerKeyExchange.ecdhe), (dhe_kx, ServerKeyExchange.dhe)]
)
def test_no_strict_prefix_of_server_key_exchange_reads(
    kx: st.SearchStrategy[ServerKeyExchange], read: Callable[[ServerKeyExchange], object]
) -> None:
    @SLOW
    @given(kx)
    def check(ske: ServerKeyExchange) -> None:
        read(ske)
        for i in range(len(ske.body)):
            with pytest.raises(DecodeError):
                read(ServerKeyExchange(ske.body[:i]))
        with pytest.raises(DecodeError, match="trailing"):
            read(ServerKeyExchange(ske.body + b"\x00"))

    check()


@FAST
@given(blob(1, 255), blob(1, 300))
def test_no_strict_prefix_of_client_key_exchange_reads(ec_public: bytes, dh_public: bytes) -> None:
    for body, read in (
        (ClientKeyExchange.for_ecdhe(ec_public).body, ClientKeyExchange.ecdh_public),
        (ClientKeyExchange.for_dhe(dh_public).body, ClientKeyExchange.dh_public),
    ):
        for i in range(len(body)):
            with pytest.raises(DecodeError):
                read(ClientKeyExchange(body[:i]))
        with pytest.raises(DecodeError, match="trailing"):
            read(ClientKeyExchange(body + b"\x00"))


@SLOW
@given(st.binary(max_size=300))
def test_random_bytes_into_decode_handshake(data: bytes) -> None:
    only_protocol_errors(lambda: decode12(data))


@FAST
@given(st.sampled_from(NEW_TYPES), st.binary(max_size=300))
def test_random_bodies_with_valid_header(msg_type: int, body: bytes) -> None:
    only_protocol_errors(lambda: decode12(with_header(msg_type, body)))
    read_every_way(body)


@SLOW
@given(any_message12, st.data())
def test_mutated_messages(msg: HandshakeMessage, data: st.DataObject) -> None:
    raw = bytearray(encode_handshake(msg))
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        pos = data.draw(st.integers(4, max(4, len(raw) - 1)))
        if kind == "flip" and pos < len(raw):
            raw[pos] ^= data.draw(st.integers(1, 255))
        elif kind == "insert":
            raw.insert(pos, data.draw(u8))
        elif pos < len(raw):
            del raw[pos]
    body = bytes(raw[4:])
    only_protocol_errors(lambda: decode12(with_header(raw[0], body)))
    read_every_way(body)


@FAST
@given(st.integers(1, 0xFFFF), st.data())
def test_oversized_vectors_rejected(n: int, data: st.DataObject) -> None:
    """A vector announcing more bytes than its enclosing structure holds is a decode_error."""
    short = data.draw(blob(0, min(n - 1, 300)))
    with pytest.raises(DecodeError, match=r"truncated NewSessionTicket\.ticket"):
        decode12(with_header(H.NEW_SESSION_TICKET, bytes(4) + n.to_bytes(2, "big") + short))
    with pytest.raises(DecodeError, match=r"truncated ServerDHParams\.dh_p"):
        ServerKeyExchange(n.to_bytes(2, "big") + short).dhe()
    with pytest.raises(DecodeError, match=r"truncated ClientDiffieHellmanPublic\.dh_Yc"):
        ClientKeyExchange(n.to_bytes(2, "big") + short).dh_public()
    entry = n.to_bytes(3, "big") + short
    with pytest.raises(DecodeError, match="truncated"):
        decode12(with_header(H.CERTIFICATE, len(entry).to_bytes(3, "big") + entry))
    m = min(n, 0xFF)
    point = data.draw(blob(0, m - 1))
    with pytest.raises(DecodeError, match=r"truncated ServerECDHParams\.public"):
        ServerKeyExchange(unhex("03 0017") + bytes([m]) + point).ecdhe()
    with pytest.raises(DecodeError, match=r"truncated ClientECDiffieHellmanPublic\.ecdh_Yc"):
        ClientKeyExchange(bytes([m]) + point).ecdh_public()
