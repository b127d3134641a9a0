"""Handshake messages: RFC 8448 captures byte for byte, dispatch, framing and negative cases."""

from __future__ import annotations

import hashlib
import random

import pytest

from tlsmachine.codec import Reader
from tlsmachine.enums import (
    AlertDescription,
    CipherSuiteId,
    HandshakeType,
    NamedGroup,
    ProtocolVersion,
)
from tlsmachine.errors import (
    ConfigurationError,
    DecodeError,
    IllegalParameter,
    UnexpectedMessage,
    UsageError,
)
from tlsmachine.extensions import (
    ApplicationLayerProtocolNegotiation,
    Cookie,
    EarlyData,
    KeyShareClientHello,
    KeyShareHelloRetryRequest,
    KeyShareServerHello,
    PreSharedKeyClientHello,
    PreSharedKeyServerHello,
    PskIdentity,
    RecordSizeLimit,
    RenegotiationInfo,
    ServerName,
    SignatureAlgorithms,
    SupportedGroups,
    SupportedVersionsClientHello,
    SupportedVersionsServerHello,
)
from tlsmachine.messages import (
    DEFAULT_MAX_MESSAGE_SIZE,
    DOWNGRADE_TLS11,
    DOWNGRADE_TLS12,
    HELLO_RETRY_REQUEST_RANDOM,
    Alert,
    Certificate,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    EncryptedExtensions,
    EndOfEarlyData,
    Finished,
    HandshakeBuffer,
    KeyUpdate,
    NewSessionTicket,
    ServerHello,
    decode_handshake,
    encode_handshake,
    message_hash,
)

# RFC 8448 (TLS 1.3 example traces), hex copied from the RFC text with page breaks removed.
# §3 {client} construct a ClientHello (196 octets)
S3_CLIENT_HELLO = bytes.fromhex(
    "010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7000006130113"
    "031302010000910000000b0009000006736572766572ff01000100000a00140012001d001700180019010001"
    "0101020103010400230000003300260024001d002099381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae"
    "4d5413691e529aaf2c002b0003020304000d0020001e04030503060302030804080508060401050106010201"
    "0402050206020202002d00020101001c00024001"
)
# §3 {server} construct a ServerHello (90 octets)
S3_SERVER_HELLO = bytes.fromhex(
    "020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800130100002e"
    "00330024001d0020c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f002b0002"
    "0304"
)
# §3 {server} construct an EncryptedExtensions (40 octets)
S3_ENCRYPTED_EXTENSIONS = bytes.fromhex(
    "080000240022000a00140012001d00170018001901000101010201030104001c0002400100000000"
)
# §3 {server} construct a Certificate (445 octets)
S3_CERTIFICATE = bytes.fromhex(
    "0b0001b9000001b50001b0308201ac30820115a003020102020102300d06092a864886f70d01010b0500300e"
    "310c300a06035504031303727361301e170d3136303733303031323335395a170d3236303733303031323335"
    "395a300e310c300a0603550403130372736130819f300d06092a864886f70d010101050003818d0030818902"
    "818100b4bb498f8279303d980836399b36c6988c0c68de55e1bdb826d3901a2461eafd2de49a91d015abbc9a"
    "95137ace6c1af19eaa6af98c7ced43120998e187a80ee0ccb0524b1b018c3e0b63264d449a6d38e22a5fda43"
    "0846748030530ef0461c8ca9d9efbfae8ea6d1d03e2bd193eff0ab9a8002c47428a6d35a8d88d79f7f1e3f02"
    "03010001a31a301830090603551d1304023000300b0603551d0f0404030205a0300d06092a864886f70d0101"
    "0b05000381810085aad2a0e5b9276b908c65f73a7267170618a54c5f8a7b337d2df7a594365417f2eae8f8a5"
    "8c8f8172f9319cf36b7fd6c55b80f21a03015156726096fd335e5e67f2dbf102702e608ccae6bec1fc63a42a"
    "99be5c3eb7107c3c54e9b9eb2bd5203b1c3b84e0a8b2f759409ba3eac9d91d402dcc0cc8f8961229ac9187b4"
    "2b4de10000"
)
# §3 {server} construct a CertificateVerify (136 octets)
S3_CERTIFICATE_VERIFY = bytes.fromhex(
    "0f000084080400805a747c5d88fa9bd2e55ab085a61015b7211f824cd484145ab3ff52f1fda8477b0b7abc90"
    "db78e2d33a5c141a078653fa6bef780c5ea248eeaaa785c4f394cab6d30bbe8d4859ee511f602957b15411ac"
    "027671459e46445c9ea58c181e818e95b8c3fb0bf3278409d3be152a3da5043e063dda65cdf5aea20d53dfac"
    "d42f74f3"
)
# §3 {server} construct a Finished (36 octets)
S3_SERVER_FINISHED = bytes.fromhex(
    "140000209b9b141d906337fbd2cbdce71df4deda4ab42c309572cb7fffee5454b78f0718"
)
# §3 {server} construct a NewSessionTicket (205 octets)
S3_NEW_SESSION_TICKET = bytes.fromhex(
    "040000c90000001efad6aac502000000b22c035d829359ee5ff7af4ec900000000262a6494dc486d2c8a34cb"
    "33fa90bf1b0070ad3c498883c9367c09a2be785abc55cd226097a3a982117283f82a03a143efd3ff5dd36d64"
    "e861be7fd61d2827db279cce145077d454a3664d4e6da4d29ee03725a6a4dafcd0fc67d2aea70529513e3da2"
    "677fa5906c5b3f7d8f92f228bda40dda721470f9fbf297b5aea617646fac5c03272e970727c621a79141ef5f"
    "7de6505e5bfbc388e93343694093934ae4d3570008002a000400000400"
)
# §4 {client} calculate PSK binder: ClientHello prefix (477 octets)
S4_CLIENT_HELLO_PREFIX = bytes.fromhex(
    "010001fc03031bc3ceb6bbe39cff938355b5a50adb6db21b7a6af649d7b4bc419d7876487d95000006130113"
    "031302010001cd0000000b0009000006736572766572ff01000100000a00140012001d001700180019010001"
    "01010201030104003300260024001d0020e4ffb68ac05f8d96c99da26698346c6be16482badddafe051a66b4"
    "f18d668f0b002a0000002b0003020304000d0020001e04030503060302030804080508060401050106010201"
    "0402050206020202002d00020101001c00024001001500570000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000002900dd00b800b22c035d829359ee5ff7af4ec900"
    "000000262a6494dc486d2c8a34cb33fa90bf1b0070ad3c498883c9367c09a2be785abc55cd226097a3a98211"
    "7283f82a03a143efd3ff5dd36d64e861be7fd61d2827db279cce145077d454a3664d4e6da4d29ee03725a6a4"
    "dafcd0fc67d2aea70529513e3da2677fa5906c5b3f7d8f92f228bda40dda721470f9fbf297b5aea617646fac"
    "5c03272e970727c621a79141ef5f7de6505e5bfbc388e93343694093934ae4d357fad6aacb"
)
# §4 {client} calculate PSK binder: binder hash (32 octets)
S4_BINDER_HASH = bytes.fromhex("63224b2e4573f2d3454ca84b9d009a04f6be9e05711a8396473aefa01e924a14")
# §4 {client} calculate PSK binder: finished (32 octets)
S4_BINDER = bytes.fromhex("3add4fb2d8fdf822a0ca3cf7678ef5e88dae990141c5924d57bb6fa31b9e5f9d")
# §4 {client} send handshake record: payload (512 octets)
S4_CLIENT_HELLO = bytes.fromhex(
    "010001fc03031bc3ceb6bbe39cff938355b5a50adb6db21b7a6af649d7b4bc419d7876487d95000006130113"
    "031302010001cd0000000b0009000006736572766572ff01000100000a00140012001d001700180019010001"
    "01010201030104003300260024001d0020e4ffb68ac05f8d96c99da26698346c6be16482badddafe051a66b4"
    "f18d668f0b002a0000002b0003020304000d0020001e04030503060302030804080508060401050106010201"
    "0402050206020202002d00020101001c00024001001500570000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000002900dd00b800b22c035d829359ee5ff7af4ec900"
    "000000262a6494dc486d2c8a34cb33fa90bf1b0070ad3c498883c9367c09a2be785abc55cd226097a3a98211"
    "7283f82a03a143efd3ff5dd36d64e861be7fd61d2827db279cce145077d454a3664d4e6da4d29ee03725a6a4"
    "dafcd0fc67d2aea70529513e3da2677fa5906c5b3f7d8f92f228bda40dda721470f9fbf297b5aea617646fac"
    "5c03272e970727c621a79141ef5f7de6505e5bfbc388e93343694093934ae4d357fad6aacb0021203add4fb2"
    "d8fdf822a0ca3cf7678ef5e88dae990141c5924d57bb6fa31b9e5f9d"
)
# §4 {server} construct a ServerHello (96 octets)
S4_SERVER_HELLO = bytes.fromhex(
    "0200005c03033ccfd2dec890222763472ae8136777c9d7358777bb66e91ea5122495f559ea2d001301000034"
    "00290002000000330024001d0020121761ee42c333e1b9e77b60dd57c2053cd94512ab47f115e86eff50942c"
    "ea31002b00020304"
)
# §4 {server} construct an EncryptedExtensions (44 octets)
S4_ENCRYPTED_EXTENSIONS = bytes.fromhex(
    "080000280026000a00140012001d00170018001901000101010201030104001c0002400100000000002a0000"
)
# §4 {client} construct an EndOfEarlyData (4 octets)
S4_END_OF_EARLY_DATA = bytes.fromhex("05000000")
# §5 {server} construct a HelloRetryRequest (176 octets)
S5_HELLO_RETRY_REQUEST = bytes.fromhex(
    "020000ac0303cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c001301000084"
    "003300020017002c0074007271dcd04bb88bc3189119398a00000000eefafc76c146b823b096f8aacad365dd"
    "0030953f4edf625636e5f21bb2e23fcc654b1b5b40318d10d137abcbb87574e36e8a1f025f7dfa5d6e50781b"
    "5eda4aa15b0c8be778257d16aa3030e9e7841dd9e4c0342267e8ca0caf571fb2b7cff0f934b0002b00020304"
)
# §5 {client} construct a ClientHello (second) (512 octets)
S5_CLIENT_HELLO_2 = bytes.fromhex(
    "010001fc0303b0b1c5a5aa37c5919f2ed1d5c6fff7fcb7849716945a2b8cee9258a346677b6f000006130113"
    "031302010001cd0000000b0009000006736572766572ff01000100000a00080006001d001700180033004700"
    "450017004104a6da7392ec591e17abfd535964b99894d13befb221b3def2ebe3830eac8f0151812677c4d6d2"
    "237e85cf01d6910cfb83954e76ba7352830534159897e8065780002b0003020304000d0020001e0403050306"
    "03020308040805080604010501060102010402050206020202002c0074007271dcd04bb88bc3189119398a00"
    "000000eefafc76c146b823b096f8aacad365dd0030953f4edf625636e5f21bb2e23fcc654b1b5b40318d10d1"
    "37abcbb87574e36e8a1f025f7dfa5d6e50781b5eda4aa15b0c8be778257d16aa3030e9e7841dd9e4c0342267"
    "e8ca0caf571fb2b7cff0f934b0002d00020101001c00024001001500af000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000000000000000000000000000"
)
# §6 {server} construct a CertificateRequest (43 octets)
S6_CERTIFICATE_REQUEST = bytes.fromhex(
    "0d000027000024000d0020001e040305030603020308040805080604010501060102010402050206020202"
)
# §6 {client} construct a CertificateVerify (136 octets)
S6_CLIENT_CERTIFICATE_VERIFY = bytes.fromhex(
    "0f00008408040080186b2223b503a759c35dba0e9721b4b579138d5f0f5e6ec7feaaf27f3ad7f386c2c7bd7c"
    "b2be52fbf5ed8393f406ee79369692ec7ac695651d858219e672a8eb7b2a677b640b46ab630edc5f3f2f8272"
    "b9c0d906f81f84ddc5b8c7bcf955c78a3cf99e5016f73e04eb7dfcb28833f13e8f75ec2ff3581e2f098ad415"
    "7fd6d6ad"
)

ALL_VECTORS = [
    S3_CLIENT_HELLO,
    S3_SERVER_HELLO,
    S3_ENCRYPTED_EXTENSIONS,
    S3_CERTIFICATE,
    S3_CERTIFICATE_VERIFY,
    S3_SERVER_FINISHED,
    S3_NEW_SESSION_TICKET,
    S4_CLIENT_HELLO,
    S4_SERVER_HELLO,
    S4_ENCRYPTED_EXTENSIONS,
    S4_END_OF_EARLY_DATA,
    S5_HELLO_RETRY_REQUEST,
    S5_CLIENT_HELLO_2,
    S6_CERTIFICATE_REQUEST,
    S6_CLIENT_CERTIFICATE_VERIFY,
]


# --- RFC 8448 captures -------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ALL_VECTORS, ids=lambda raw: f"type{raw[0]}-{len(raw)}")
def test_rfc8448_reserialises_byte_for_byte(raw: bytes) -> None:
    msg = decode_handshake(raw)
    assert msg.raw is raw
    assert encode_handshake(msg) == raw
    assert decode_handshake(encode_handshake(msg)) == msg


def test_rfc8448_client_hello_fields() -> None:
    ch = decode_handshake(S3_CLIENT_HELLO)
    assert isinstance(ch, ClientHello)
    assert ch.legacy_version == ProtocolVersion.TLS12
    assert ch.random == bytes.fromhex(
        "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7"
    )
    assert ch.legacy_session_id == b""
    assert ch.cipher_suites == (
        CipherSuiteId.TLS_AES_128_GCM_SHA256,
        CipherSuiteId.TLS_CHACHA20_POLY1305_SHA256,
        CipherSuiteId.TLS_AES_256_GCM_SHA384,
    )
    assert ch.legacy_compression_methods == b"\x00"
    assert ch.get(ServerName) == ServerName("server")
    assert ch.get(SupportedVersionsClientHello) == SupportedVersionsClientHello((0x0304,))
    key_share = ch.get(KeyShareClientHello)
    assert key_share is not None
    assert [s.group for s in key_share.client_shares] == [NamedGroup.X25519]
    assert ch.get(RecordSizeLimit) == RecordSizeLimit(0x4001)
    assert ch.get(RenegotiationInfo) == RenegotiationInfo(b"")
    assert ch.get(PreSharedKeyClientHello) is None
    scheme_list = ch.get(SignatureAlgorithms)
    assert scheme_list is not None
    assert len(scheme_list.schemes) == 15


def test_rfc8448_server_hello_fields() -> None:
    sh = decode_handshake(S3_SERVER_HELLO)
    assert isinstance(sh, ServerHello)
    assert not sh.is_hello_retry_request
    assert sh.cipher_suite == CipherSuiteId.TLS_AES_128_GCM_SHA256
    assert sh.get(SupportedVersionsServerHello) == SupportedVersionsServerHello(0x0304)
    key_share = sh.get(KeyShareServerHello)
    assert key_share is not None
    assert key_share.server_share.group == NamedGroup.X25519
    assert len(key_share.server_share.key_exchange) == 32


def test_rfc8448_encrypted_extensions_and_certificate() -> None:
    ee = decode_handshake(S3_ENCRYPTED_EXTENSIONS)
    assert isinstance(ee, EncryptedExtensions)
    assert ee.get(ServerName) == ServerName(None)
    assert ee.get(RecordSizeLimit) == RecordSizeLimit(16385)
    groups = ee.get(SupportedGroups)
    assert groups is not None
    assert groups.groups[0] == NamedGroup.X25519
    cert = decode_handshake(S3_CERTIFICATE)
    assert isinstance(cert, Certificate)
    assert cert.certificate_request_context == b""
    assert len(cert.certificate_list) == 1
    entry = cert.certificate_list[0]
    assert entry.cert_data[:2] == b"\x30\x82"  # a DER SEQUENCE
    assert len(entry.cert_data) == 432
    assert entry.extensions == ()


def test_rfc8448_later_messages() -> None:
    cv = decode_handshake(S3_CERTIFICATE_VERIFY)
    assert isinstance(cv, CertificateVerify)
    assert cv.algorithm == 0x0804
    assert len(cv.signature) == 128
    fin = decode_handshake(S3_SERVER_FINISHED)
    assert isinstance(fin, Finished)
    assert fin.verify_data == S3_SERVER_FINISHED[4:]
    nst = decode_handshake(S3_NEW_SESSION_TICKET)
    assert isinstance(nst, NewSessionTicket)
    assert nst.ticket_lifetime == 30
    assert nst.ticket_nonce == b"\x00\x00"
    assert nst.get(EarlyData) == EarlyData(0x400)
    assert decode_handshake(S4_END_OF_EARLY_DATA) == EndOfEarlyData()
    ee = decode_handshake(S4_ENCRYPTED_EXTENSIONS)
    assert isinstance(ee, EncryptedExtensions)
    assert ee.get(EarlyData) == EarlyData(None)
    sh = decode_handshake(S4_SERVER_HELLO)
    assert isinstance(sh, ServerHello)
    assert sh.get(PreSharedKeyServerHello) == PreSharedKeyServerHello(0)
    cr = decode_handshake(S6_CERTIFICATE_REQUEST)
    assert isinstance(cr, CertificateRequest)
    assert cr.certificate_request_context == b""
    assert cr.get(SignatureAlgorithms) is not None


def test_rfc8448_hello_retry_request() -> None:
    hrr = decode_handshake(S5_HELLO_RETRY_REQUEST)
    assert isinstance(hrr, ServerHello)
    assert hrr.is_hello_retry_request
    assert hrr.get(KeyShareHelloRetryRequest) == KeyShareHelloRetryRequest(NamedGroup.SECP256R1)
    assert hrr.get(SupportedVersionsServerHello) == SupportedVersionsServerHello(0x0304)
    cookie = hrr.get(Cookie)
    assert cookie is not None
    assert len(cookie.cookie) == 0x72
    ch2 = decode_handshake(S5_CLIENT_HELLO_2)
    assert isinstance(ch2, ClientHello)
    assert ch2.get(Cookie) == cookie


def test_hello_retry_request_random_is_sha256_of_its_name() -> None:
    assert hashlib.sha256(b"HelloRetryRequest").digest() == HELLO_RETRY_REQUEST_RANDOM
    assert bytes.fromhex("444f574e47524401") == DOWNGRADE_TLS12
    assert bytes.fromhex("444f574e47524400") == DOWNGRADE_TLS11


# --- PSK binders (RFC 8446 §4.2.11.2, RFC 8448 §4) --------------------------------------------


def test_truncated_for_binders_matches_rfc8448() -> None:
    ch = decode_handshake(S4_CLIENT_HELLO)
    assert isinstance(ch, ClientHello)
    psk = ch.get(PreSharedKeyClientHello)
    assert psk is not None
    assert psk.binders == (S4_BINDER,)
    assert ch.truncated_for_binders() == S4_CLIENT_HELLO_PREFIX
    assert hashlib.sha256(ch.truncated_for_binders()).digest() == S4_BINDER_HASH


def test_with_binders_replaces_placeholders() -> None:
    ch = decode_handshake(S4_CLIENT_HELLO)
    assert isinstance(ch, ClientHello)
    psk = ch.get(PreSharedKeyClientHello)
    assert psk is not None
    placeholder = ch.with_binders([bytes(32)])
    assert placeholder.raw == b""
    # The prefix does not depend on the binder values: that is what the client hashes.
    assert placeholder.truncated_for_binders() == S4_CLIENT_HELLO_PREFIX
    final = placeholder.with_binders([S4_BINDER])
    assert encode_handshake(final) == S4_CLIENT_HELLO
    assert final == ch
    with pytest.raises(UsageError):
        ch.with_binders([bytes(48)])
    with pytest.raises(UsageError):
        ch.with_binders([bytes(32), bytes(32)])


def test_truncated_for_binders_without_psk_is_usage_error() -> None:
    ch = decode_handshake(S3_CLIENT_HELLO)
    assert isinstance(ch, ClientHello)
    with pytest.raises(UsageError):
        ch.truncated_for_binders()


def test_built_client_hello_truncation() -> None:
    psk = PreSharedKeyClientHello((PskIdentity(b"id", 7), PskIdentity(b"id2", 8)), (bytes(32),) * 2)
    ch = ClientHello(0x0303, bytes(32), b"", (0x1301,), b"\x00", (ServerName("a"), psk))
    encoded = encode_handshake(ch)
    truncated = ch.truncated_for_binders()
    assert encoded == truncated + bytes.fromhex("0042") + (b"\x20" + bytes(32)) * 2
    assert psk.binders_length == 2 + 2 * 33


# --- TLS 1.2 forms -----------------------------------------------------------------------------


def _hello_body(session: bytes = b"") -> bytes:
    return b"\x03\x03" + bytes(32) + bytes([len(session)]) + session


def test_tls12_client_hello_without_extensions() -> None:
    body = _hello_body() + b"\x00\x02\xc0\x2f" + b"\x01\x00"
    raw = bytes([1]) + len(body).to_bytes(3, "big") + body
    ch = decode_handshake(raw)
    assert isinstance(ch, ClientHello)
    assert ch.extensions == ()
    assert encode_handshake(ch) == raw


def test_tls12_server_hello_short_block_and_alpn() -> None:
    exts = bytes.fromhex("ff01 0001 00 0010 0005 0003 026832".replace(" ", ""))
    body = _hello_body(b"\x11" * 32) + b"\xc0\x2f\x00" + len(exts).to_bytes(2, "big") + exts
    raw = bytes([2]) + len(body).to_bytes(3, "big") + body
    sh = decode_handshake(raw)
    assert isinstance(sh, ServerHello)
    assert sh.extensions == (
        RenegotiationInfo(b""),
        ApplicationLayerProtocolNegotiation((b"h2",)),
    )
    assert encode_handshake(sh) == raw
    # A 5-byte block is fine in TLS 1.2 even though TLS 1.3 requires <6..>.
    short = _hello_body() + b"\xc0\x2f\x00" + bytes.fromhex("0005 ff01 0001 00".replace(" ", ""))
    sh2 = decode_handshake(bytes([2]) + len(short).to_bytes(3, "big") + short)
    assert isinstance(sh2, ServerHello)
    assert sh2.extensions == (RenegotiationInfo(b""),)


def test_tls13_server_hello_context_rules_apply() -> None:
    exts = bytes.fromhex("002b 0002 0304 002c 0003 0001 01".replace(" ", ""))  # cookie in SH
    body = _hello_body() + b"\x13\x01\x00" + len(exts).to_bytes(2, "big") + exts
    with pytest.raises(IllegalParameter, match="cookie"):
        decode_handshake(bytes([2]) + len(body).to_bytes(3, "big") + body)


def test_decode_with_tls12_message_set() -> None:
    fin = encode_handshake(Finished(bytes(12)))
    assert decode_handshake(fin, version=ProtocolVersion.TLS12) == Finished(bytes(12))
    with pytest.raises(UnexpectedMessage):
        decode_handshake(encode_handshake(KeyUpdate(0)), version=ProtocolVersion.TLS12)
    with pytest.raises(UsageError):
        decode_handshake(fin, version=ProtocolVersion.TLS10)


# --- Negative cases ----------------------------------------------------------------------------


def _with_header(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


@pytest.mark.parametrize("value", [2, 3, 255])
def test_bad_key_update_value_is_illegal_parameter(value: int) -> None:
    with pytest.raises(IllegalParameter) as info:
        decode_handshake(_with_header(HandshakeType.KEY_UPDATE, bytes([value])))
    assert info.value.alert is AlertDescription.ILLEGAL_PARAMETER


def test_key_update_values() -> None:
    for value in (0, 1):
        raw = _with_header(HandshakeType.KEY_UPDATE, bytes([value]))
        assert decode_handshake(raw) == KeyUpdate(value)
    with pytest.raises(DecodeError):
        decode_handshake(_with_header(HandshakeType.KEY_UPDATE, b"\x00\x00"))


def _client_hello_with(exts: bytes) -> bytes:
    body = _hello_body() + b"\x00\x02\x13\x01\x01\x00" + len(exts).to_bytes(2, "big") + exts
    return _with_header(HandshakeType.CLIENT_HELLO, body)


def test_client_hello_duplicate_extension() -> None:
    exts = bytes.fromhex("002b 0003 020304 002b 0003 020304".replace(" ", ""))
    with pytest.raises(IllegalParameter, match="duplicate") as info:
        decode_handshake(_client_hello_with(exts))
    assert info.value.alert is AlertDescription.ILLEGAL_PARAMETER


def test_client_hello_pre_shared_key_not_last() -> None:
    psk = PreSharedKeyClientHello((PskIdentity(b"abc", 0),), (bytes(32),))
    ch = ClientHello(
        0x0303, bytes(32), b"", (0x1301,), b"\x00", (psk, SupportedVersionsClientHello((0x0304,)))
    )
    with pytest.raises(IllegalParameter, match="last") as info:
        decode_handshake(encode_handshake(ch))
    assert info.value.alert is AlertDescription.ILLEGAL_PARAMETER


def test_key_share_in_encrypted_extensions() -> None:
    body = bytes.fromhex("0006 0033 0002 0017".replace(" ", ""))
    with pytest.raises(IllegalParameter) as info:
        decode_handshake(_with_header(HandshakeType.ENCRYPTED_EXTENSIONS, body))
    assert info.value.alert is AlertDescription.ILLEGAL_PARAMETER


def test_trailing_bytes_in_extension() -> None:
    # supported_versions in a ServerHello is a single uint16; a third byte is trailing.
    exts = bytes.fromhex("002b 0003 030400".replace(" ", ""))
    body = _hello_body() + b"\x13\x01\x00" + len(exts).to_bytes(2, "big") + exts
    with pytest.raises(DecodeError, match="trailing") as info:
        decode_handshake(_with_header(HandshakeType.SERVER_HELLO, body))
    assert info.value.alert is AlertDescription.DECODE_ERROR


def test_trailing_bytes_after_message_body() -> None:
    for raw in (S3_CERTIFICATE_VERIFY, S3_ENCRYPTED_EXTENSIONS, S3_CLIENT_HELLO):
        body = raw[4:] + b"\x00"
        with pytest.raises(DecodeError):
            decode_handshake(_with_header(raw[0], body))


@pytest.mark.parametrize(
    "msg_type",
    [
        HandshakeType.HELLO_REQUEST,
        HandshakeType.SERVER_KEY_EXCHANGE,
        HandshakeType.SERVER_HELLO_DONE,
        HandshakeType.CLIENT_KEY_EXCHANGE,
        HandshakeType.MESSAGE_HASH,
        3,
        99,
        255,
    ],
)
def test_types_outside_tls13_are_unexpected(msg_type: int) -> None:
    with pytest.raises(UnexpectedMessage, match="not valid in TLS13") as info:
        decode_handshake(_with_header(msg_type, b""))
    assert info.value.alert is AlertDescription.UNEXPECTED_MESSAGE


def test_header_length_must_match() -> None:
    with pytest.raises(DecodeError):
        decode_handshake(b"\x14\x00\x00")
    with pytest.raises(DecodeError, match="announces 3 bytes, 2 present"):
        decode_handshake(b"\x14\x00\x00\x03ab")
    with pytest.raises(DecodeError):
        decode_handshake(b"\x14\x00\x00\x01ab")


@pytest.mark.parametrize(
    ("msg_type", "body_hex"),
    [
        (HandshakeType.CLIENT_HELLO, "0303" + "00" * 32 + "21" + "00" * 33 + "0002 1301 0100"),
        (HandshakeType.CLIENT_HELLO, "0303" + "00" * 32 + "00" + "0000 0100"),
        (HandshakeType.CLIENT_HELLO, "0303" + "00" * 32 + "00" + "0003 130113 0100"),
        (HandshakeType.CLIENT_HELLO, "0303" + "00" * 32 + "00" + "0002 1301 00"),
        (HandshakeType.SERVER_HELLO, "0303" + "00" * 32 + "21" + "00" * 33 + "1301 00"),
        (HandshakeType.CERTIFICATE, "00 000005 000000 0000"),
        (HandshakeType.CERTIFICATE, "00 000006 000001 00 0000 00"),
        (HandshakeType.CERTIFICATE_VERIFY, "0804 0002 00"),
        (HandshakeType.NEW_SESSION_TICKET, "00000000 00000000 00 0000 0000"),
        (HandshakeType.CERTIFICATE_REQUEST, "00 0000"),
        (HandshakeType.END_OF_EARLY_DATA, "00"),
        (HandshakeType.KEY_UPDATE, ""),
    ],
)
def test_malformed_bodies_are_decode_errors(msg_type: int, body_hex: str) -> None:
    body = bytes.fromhex(body_hex.replace(" ", ""))
    with pytest.raises(DecodeError):
        decode_handshake(_with_header(msg_type, body))


# --- Alert and message_hash --------------------------------------------------------------------


def test_alert() -> None:
    alert = Alert.parse(b"\x02\x28")
    assert alert == Alert(2, AlertDescription.HANDSHAKE_FAILURE)
    assert alert.serialize() == b"\x02\x28"
    assert Alert.parse(b"\x07\xfe") == Alert(7, 254)  # unknown values stay plain ints
    for bad in (b"", b"\x02", b"\x02\x28\x00"):
        with pytest.raises(DecodeError):
            Alert.parse(bad)


def test_message_hash() -> None:
    digest = hashlib.sha256(S5_CLIENT_HELLO_2).digest()
    assert message_hash(digest) == b"\xfe\x00\x00\x20" + digest
    assert message_hash(bytes(48))[:4] == b"\xfe\x00\x00\x30"


# --- HandshakeBuffer (RFC 8446 §5.1) -----------------------------------------------------------


def test_buffer_one_byte_at_a_time() -> None:
    stream = S3_ENCRYPTED_EXTENSIONS + S3_CERTIFICATE + S3_CERTIFICATE_VERIFY
    buf = HandshakeBuffer()
    out: list[bytes] = []
    for i in range(len(stream)):
        buf.feed(stream[i : i + 1])
        while (msg := buf.pop()) is not None:
            out.append(msg)
        assert buf.empty == (i + 1 in (40, 40 + 445, len(stream)))
    assert out == [S3_ENCRYPTED_EXTENSIONS, S3_CERTIFICATE, S3_CERTIFICATE_VERIFY]
    assert buf.empty


def test_buffer_several_messages_in_one_feed() -> None:
    buf = HandshakeBuffer()
    buf.feed(S4_END_OF_EARLY_DATA + S3_SERVER_FINISHED + S3_ENCRYPTED_EXTENSIONS[:10])
    assert buf.pop() == S4_END_OF_EARLY_DATA
    assert not buf.empty
    assert buf.pop() == S3_SERVER_FINISHED
    assert buf.pop() is None
    assert not buf.empty  # a partial message is pending: must not straddle a key change
    buf.feed(S3_ENCRYPTED_EXTENSIONS[10:])
    assert buf.pop() == S3_ENCRYPTED_EXTENSIONS
    assert buf.pop() is None
    assert buf.empty


def test_buffer_random_split_points() -> None:
    stream = b"".join(ALL_VECTORS) * 3
    rng = random.Random(8448)
    buf = HandshakeBuffer()
    out: list[bytes] = []
    pos = 0
    while pos < len(stream):
        n = rng.randint(1, 700)
        buf.feed(memoryview(stream)[pos : pos + n])
        pos += n
        while (msg := buf.pop()) is not None:
            out.append(msg)
    assert out == ALL_VECTORS * 3
    assert buf.empty


def test_buffer_pending_type_is_the_incomplete_message_type() -> None:
    """The first byte of an incomplete message names its type, so that the connection can
    judge it before its body arrives (RFC 8446 §4)."""
    buf = HandshakeBuffer()
    assert buf.pending_type is None
    buf.feed(S4_END_OF_EARLY_DATA + S3_ENCRYPTED_EXTENSIONS[:1])
    assert buf.pending_type == HandshakeType.ENCRYPTED_EXTENSIONS  # whole message pending pop
    assert buf.pop() == S4_END_OF_EARLY_DATA
    buf.feed(S3_ENCRYPTED_EXTENSIONS[1:10])
    assert buf.pending_type == HandshakeType.ENCRYPTED_EXTENSIONS
    buf.feed(S3_ENCRYPTED_EXTENSIONS[10:])
    assert buf.pending_type is None
    assert buf.pop() == S3_ENCRYPTED_EXTENSIONS


def test_buffer_rejects_over_limit_header_immediately() -> None:
    buf = HandshakeBuffer(max_message_size=1000)
    with pytest.raises(DecodeError, match="1001 bytes") as info:
        buf.feed(b"\x0b\x00\x03\xe9")  # the header alone, no body yet
    assert info.value.alert is AlertDescription.DECODE_ERROR
    ok = HandshakeBuffer(max_message_size=1000)
    ok.feed(b"\x0b\x00\x03\xe8")
    assert ok.pop() is None


def test_buffer_rejects_over_limit_header_behind_another_message() -> None:
    """The message before it comes out first (to be handled in its state); then pop() raises,
    with the refused type, and the buffer is not empty until it has."""
    buf = HandshakeBuffer(max_message_size=100)
    buf.feed(S4_END_OF_EARLY_DATA + b"\x0b\x01\x00\x00")
    assert not buf.empty
    assert buf.pop() == S4_END_OF_EARLY_DATA
    with pytest.raises(DecodeError, match="limit of 100"):
        buf.pop()
    assert buf.refused_type == HandshakeType.CERTIFICATE
    assert buf.pop() is None


def test_buffer_header_split_across_feeds() -> None:
    buf = HandshakeBuffer(max_message_size=100)
    buf.feed(b"\x0b\x00")
    with pytest.raises(DecodeError):
        buf.feed(b"\x01\x00")


def test_buffer_default_limit_and_config() -> None:
    buf = HandshakeBuffer()
    assert buf.max_message_size == DEFAULT_MAX_MESSAGE_SIZE == 1 << 17
    big = _with_header(HandshakeType.CERTIFICATE, bytes(1 << 17))
    buf.feed(big)
    assert buf.pop() == big
    with pytest.raises(DecodeError):
        buf.feed(_with_header(HandshakeType.CERTIFICATE, bytes((1 << 17) + 1)))
    with pytest.raises(ConfigurationError):
        HandshakeBuffer(max_message_size=1 << 24)


def test_buffer_reads_the_largest_client_hello_the_syntax_allows() -> None:
    """RFC 8446 §4.1.2: cipher_suites<2..2^16-2>, compression<1..2^8-1>, extensions
    <8..2^16-1>: up to 131396 body bytes, above the general limit (tlsfuzzer's
    test-client-hello-max-size)."""
    largest = 2 + 32 + 1 + 32 + 2 + 0xFFFE + 1 + 0xFF + 2 + 0xFFFF
    buf = HandshakeBuffer()
    hello = _with_header(HandshakeType.CLIENT_HELLO, bytes(largest))
    buf.feed(hello[:5])
    buf.feed(hello[5:])
    assert buf.pop() == hello
    with pytest.raises(DecodeError, match="limit of 131396"):
        HandshakeBuffer().feed(_with_header(HandshakeType.CLIENT_HELLO, bytes(largest + 1))[:4])


@pytest.mark.parametrize(
    ("msg_type", "limit"),
    [
        (HandshakeType.FINISHED, 64),
        (HandshakeType.KEY_UPDATE, 1),
        (HandshakeType.END_OF_EARLY_DATA, 0),
        (HandshakeType.HELLO_REQUEST, 0),
        (HandshakeType.SERVER_HELLO_DONE, 0),
    ],
)
def test_small_messages_announcing_more_are_refused_at_the_header(
    msg_type: HandshakeType, limit: int
) -> None:
    """A header announcing a Finished, KeyUpdate or empty message larger than it can be is a
    decode_error at once (RFC 8446 §4.4.4, §4.6.3, §4.5), not after buffering the body."""
    buf = HandshakeBuffer()
    buf.feed(_with_header(msg_type, bytes(limit)))
    assert buf.pop() is not None
    with pytest.raises(DecodeError, match=f"limit of {limit}"):
        buf.feed(bytes((msg_type,)) + (limit + 1).to_bytes(3, "big"))


def test_buffer_is_linear_for_many_small_messages() -> None:
    """Compaction keeps the work linear: 50k messages fed in one go pop quickly."""
    stream = S4_END_OF_EARLY_DATA * 50_000
    buf = HandshakeBuffer()
    buf.feed(stream)
    count = 0
    while buf.pop() is not None:
        count += 1
    assert count == 50_000
    assert buf.empty


def test_zero_length_feed_is_harmless() -> None:
    buf = HandshakeBuffer()
    buf.feed(b"")
    assert buf.empty
    assert buf.pop() is None


def test_reader_offset_parse_body_directly() -> None:
    fin = Finished.parse_body(Reader(b"\x14\x00\x00\x02ab", 4), b"\x14\x00\x00\x02ab")
    assert fin.verify_data == b"ab"
    assert fin.raw == b"\x14\x00\x00\x02ab"
