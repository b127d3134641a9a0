"""Extensions: each form's wire format, the RFC 8446 §4.2 rules and the alerts they raise."""

from __future__ import annotations

import pytest

from tlsmachine.codec import Reader, Writer
from tlsmachine.enums import AlertDescription, ExtensionType
from tlsmachine.errors import DecodeError, IllegalParameter, ProtocolError
from tlsmachine.extensions import (
    ALLOWED_CONTEXTS,
    ApplicationLayerProtocolNegotiation,
    CertificateAuthorities,
    Cookie,
    EarlyData,
    ExtendedMasterSecret,
    Extension,
    ExtensionContext,
    KeyShareClientHello,
    KeyShareEntry,
    KeyShareHelloRetryRequest,
    KeyShareServerHello,
    Padding,
    PostHandshakeAuth,
    PreSharedKeyClientHello,
    PreSharedKeyServerHello,
    PskIdentity,
    PskKeyExchangeModes,
    RecordSizeLimit,
    RenegotiationInfo,
    ServerName,
    SignatureAlgorithms,
    SignatureAlgorithmsCert,
    SupportedGroups,
    SupportedVersionsClientHello,
    SupportedVersionsServerHello,
    UnknownExtension,
    decode_extension,
    extension_name,
    find_extension,
    parse_extensions,
    read_extension_block,
    serialize_extensions,
)

CH = ExtensionContext.CLIENT_HELLO
SH = ExtensionContext.SERVER_HELLO
HRR = ExtensionContext.HELLO_RETRY_REQUEST
EE = ExtensionContext.ENCRYPTED_EXTENSIONS
CT = ExtensionContext.CERTIFICATE
CR = ExtensionContext.CERTIFICATE_REQUEST
NST = ExtensionContext.NEW_SESSION_TICKET
SH12 = ExtensionContext.TLS12_SERVER_HELLO

X = ExtensionType


def block(*exts: tuple[int, bytes]) -> bytes:
    """An extensions block: uint16 length, then (type, uint16 length, data) per extension."""
    body = b"".join(t.to_bytes(2, "big") + len(d).to_bytes(2, "big") + d for t, d in exts)
    return len(body).to_bytes(2, "big") + body


def parse(context: ExtensionContext, *exts: tuple[int, bytes]) -> tuple[Extension, ...]:
    r = Reader(block(*exts))
    out = parse_extensions(r, context)
    r.expect_end()
    return out


def data_of(ext: Extension) -> bytes:
    w = Writer()
    ext.serialize_data(w)
    return w.getvalue()


SHARE_X25519 = KeyShareEntry(0x001D, bytes(range(32)))
IDENTITY = PskIdentity(b"ticket-1", 0x01020304)

# (context, extension, its extension_data in hex)
EXAMPLES: list[tuple[ExtensionContext, Extension, str]] = [
    (CH, ServerName("example.com"), "000e 00 000b 6578616d706c652e636f6d"),
    (EE, ServerName(None), ""),
    (SH12, ServerName(None), ""),
    (CH, SupportedGroups((0x001D, 0x0017)), "0004 001d 0017"),
    (EE, SupportedGroups((0x001D,)), "0002 001d"),
    (CH, SignatureAlgorithms((0x0403, 0x0804)), "0004 0403 0804"),
    (CR, SignatureAlgorithms((0x0807,)), "0002 0807"),
    (CH, SignatureAlgorithmsCert((0x0401,)), "0002 0401"),
    (CR, SignatureAlgorithmsCert((0x0401,)), "0002 0401"),
    (
        CH,
        ApplicationLayerProtocolNegotiation((b"h2", b"http/1.1")),
        "000c 02 6832 08 687474702f312e31",
    ),
    (EE, ApplicationLayerProtocolNegotiation((b"h2",)), "0003 02 6832"),
    (SH12, ApplicationLayerProtocolNegotiation((b"h2",)), "0003 02 6832"),
    (CH, RecordSizeLimit(16385), "4001"),
    (EE, RecordSizeLimit(64), "0040"),
    (SH12, RecordSizeLimit(1000), "03e8"),
    (CH, Padding(3), "000000"),
    (CH, Padding(0), ""),
    (CH, KeyShareClientHello((SHARE_X25519,)), "0024 001d 0020" + bytes(range(32)).hex()),
    (CH, KeyShareClientHello(()), "0000"),
    (SH, KeyShareServerHello(SHARE_X25519), "001d 0020" + bytes(range(32)).hex()),
    (HRR, KeyShareHelloRetryRequest(0x0017), "0017"),
    (CH, SupportedVersionsClientHello((0x0304, 0x0303)), "04 0304 0303"),
    (SH, SupportedVersionsServerHello(0x0304), "0304"),
    (HRR, SupportedVersionsServerHello(0x0304), "0304"),
    (CH, Cookie(b"\x01\x02"), "0002 0102"),
    (HRR, Cookie(b"\x01"), "0001 01"),
    (CH, PskKeyExchangeModes((1, 0)), "02 01 00"),
    (
        CH,
        PreSharedKeyClientHello((IDENTITY,), (bytes(32),)),
        "000e 0008 7469636b65742d31 01020304 0021 20" + "00" * 32,
    ),
    (SH, PreSharedKeyServerHello(0), "0000"),
    (CH, EarlyData(), ""),
    (EE, EarlyData(), ""),
    (NST, EarlyData(0xFFFFFFFF), "ffffffff"),
    (CH, PostHandshakeAuth(), ""),
    (CH, CertificateAuthorities((b"\x30\x00",)), "0004 0002 3000"),
    (CR, CertificateAuthorities((b"\x30\x00", b"\x31")), "0007 0002 3000 0001 31"),
    (CH, UnknownExtension(0x1234, b"\xde\xad"), "dead"),
    (CT, UnknownExtension(X.STATUS_REQUEST, b"\x01"), "01"),
    (NST, UnknownExtension(0xFAFA, b""), ""),
    (SH12, RenegotiationInfo(b""), "00"),
    (SH12, UnknownExtension(X.KEY_SHARE, b"\x00\x17"), "0017"),
]


@pytest.mark.parametrize(("context", "ext", "data_hex"), EXAMPLES)
def test_wire_format_round_trip(context: ExtensionContext, ext: Extension, data_hex: str) -> None:
    data = bytes.fromhex(data_hex.replace(" ", ""))
    assert data_of(ext) == data
    assert parse(context, (ext.ext_type, data)) == (ext,)
    w = Writer()
    serialize_extensions(w, [ext])
    assert w.getvalue() == block((ext.ext_type, data))


@pytest.mark.parametrize(("context", "ext", "data_hex"), EXAMPLES)
def test_trailing_byte_in_extension_data(
    context: ExtensionContext, ext: Extension, data_hex: str
) -> None:
    data = bytes.fromhex(data_hex.replace(" ", "")) + b"\x00"
    if isinstance(ext, UnknownExtension | Padding):
        parse(context, (ext.ext_type, data))  # opaque to us: any length is fine
        return
    with pytest.raises(DecodeError) as info:
        parse(context, (ext.ext_type, data))
    assert info.value.alert is AlertDescription.DECODE_ERROR


def test_duplicate_extension_is_illegal_parameter() -> None:
    with pytest.raises(IllegalParameter, match="duplicate server_name") as info:
        parse(CH, (X.SERVER_NAME, b""), (X.SERVER_NAME, b""))
    assert info.value.alert is AlertDescription.ILLEGAL_PARAMETER


@pytest.mark.parametrize(
    ("context", "alert"),
    [
        (CH, AlertDescription.ILLEGAL_PARAMETER),  # as OpenSSL answers
        (HRR, AlertDescription.ILLEGAL_PARAMETER),  # BoGo HelloRetryRequest-Duplicate*
        (NST, AlertDescription.ILLEGAL_PARAMETER),  # BoGo TLS13-DuplicateTicketEarlyData...
        (SH, AlertDescription.DECODE_ERROR),  # BoGo DuplicateExtensionClient
        (EE, AlertDescription.DECODE_ERROR),
        (SH12, AlertDescription.DECODE_ERROR),
    ],
)
def test_duplicate_extension_alert_depends_on_the_message(
    context: ExtensionContext, alert: AlertDescription
) -> None:
    """RFC 8446 §4.2: "There MUST NOT be more than one extension of the same type in a given
    extension block" names no alert; we answer as the suites that test it expect."""
    with pytest.raises(ProtocolError, match="duplicate") as info:
        parse(context, (0x7777, b""), (0x7777, b"x"))
    assert info.value.alert is alert


def test_duplicate_in_tls12_server_hello_is_decode_error() -> None:
    with pytest.raises(DecodeError, match="duplicate"):
        parse(SH12, (X.RENEGOTIATION_INFO, b"\x00"), (X.RENEGOTIATION_INFO, b"\x00"))


PSK_DATA = data_of(PreSharedKeyClientHello((IDENTITY,), (bytes(32),)))


def test_pre_shared_key_must_be_last_in_client_hello() -> None:
    with pytest.raises(IllegalParameter, match="last") as info:
        parse(CH, (X.PRE_SHARED_KEY, PSK_DATA), (X.PSK_KEY_EXCHANGE_MODES, b"\x01\x01"))
    assert info.value.alert is AlertDescription.ILLEGAL_PARAMETER
    exts = parse(CH, (X.PSK_KEY_EXCHANGE_MODES, b"\x01\x01"), (X.PRE_SHARED_KEY, PSK_DATA))
    assert isinstance(exts[-1], PreSharedKeyClientHello)


def test_pre_shared_key_anywhere_in_server_hello() -> None:
    exts = parse(SH, (X.PRE_SHARED_KEY, b"\x00\x00"), (X.SUPPORTED_VERSIONS, b"\x03\x04"))
    assert exts == (PreSharedKeyServerHello(0), SupportedVersionsServerHello(0x0304))


def test_key_share_in_encrypted_extensions_is_illegal_parameter() -> None:
    with pytest.raises(IllegalParameter, match=r"key_share.*EncryptedExtensions") as info:
        parse(EE, (X.KEY_SHARE, b"\x00\x17"))
    assert info.value.alert is AlertDescription.ILLEGAL_PARAMETER


def _table_rows() -> list[tuple[int, ExtensionContext]]:
    tls13 = [c for c in ExtensionContext if c is not SH12]
    return [(t, c) for t, allowed in ALLOWED_CONTEXTS.items() for c in tls13 if c not in allowed]


@pytest.mark.parametrize(("ext_type", "context"), _table_rows())
def test_every_table_violation_is_illegal_parameter(
    ext_type: int, context: ExtensionContext
) -> None:
    """RFC 8446 §4.2: a recognised extension in a message the table does not list."""
    with pytest.raises(IllegalParameter, match="not allowed"):
        parse(context, (ext_type, b""), (0xFAFA, b""))  # 8 bytes: above every block minimum


def test_rfc8446_table_spot_checks() -> None:
    assert ALLOWED_CONTEXTS[X.KEY_SHARE] == {CH, SH, HRR}
    assert ALLOWED_CONTEXTS[X.EARLY_DATA] == {CH, EE, NST}
    assert ALLOWED_CONTEXTS[X.STATUS_REQUEST] == {CH, CR, CT}
    assert ALLOWED_CONTEXTS[X.RECORD_SIZE_LIMIT] == {CH, EE}  # RFC 8449 §4
    assert ALLOWED_CONTEXTS[X.OID_FILTERS] == {CR}


def test_tls12_server_hello_keeps_tls13_extensions_raw() -> None:
    exts = parse(SH12, (X.EXTENDED_MASTER_SECRET, b""), (X.PRE_SHARED_KEY, b"\x00\x00"))
    assert exts == (ExtendedMasterSecret(), UnknownExtension(X.PRE_SHARED_KEY, b"\x00\x00"))


def test_listed_but_uninterpreted_extension_stays_raw() -> None:
    assert parse(CH, (X.STATUS_REQUEST, b"\x01\x00\x00\x00\x00")) == (
        UnknownExtension(X.STATUS_REQUEST, b"\x01\x00\x00\x00\x00"),
    )


# --- server_name (RFC 6066 §3) -----------------------------------------------------------------


def _sni(*entries: tuple[int, bytes]) -> bytes:
    body = b"".join(bytes([t]) + len(n).to_bytes(2, "big") + n for t, n in entries)
    return len(body).to_bytes(2, "big") + body


def test_server_name_two_host_names_is_illegal_parameter() -> None:
    with pytest.raises(IllegalParameter, match="more than one"):
        parse(CH, (X.SERVER_NAME, _sni((0, b"a.example"), (0, b"b.example"))))


@pytest.mark.parametrize(
    "name",
    [
        "bücher.example".encode(),  # not ASCII: must be an A-label
        b"a\x00.example",  # NUL (tlsfuzzer test-invalid-server-name-extension)
        b"a\x07b.example",  # BEL
        b"\x1b[31mred.example",  # an escape sequence
        b"a b.example",  # a space
        b"a\x7f.example",  # DEL
    ],
)
def test_server_name_that_is_no_ascii_host_name_is_illegal_parameter(name: bytes) -> None:
    with pytest.raises(IllegalParameter, match="not an ASCII host name"):
        parse(CH, (X.SERVER_NAME, _sni((0, name))))


@pytest.mark.parametrize(
    "data",
    [
        _sni(),  # ServerNameList<1..2^16-1>
        _sni((0, b"")),  # HostName<1..2^16-1>
        b"",  # empty extension_data in a ClientHello
    ],
)
def test_server_name_decode_errors(data: bytes) -> None:
    with pytest.raises(DecodeError):
        parse(CH, (X.SERVER_NAME, data))


def test_server_name_of_an_unknown_name_type_is_skipped() -> None:
    """RFC 6066 §3: "all future data structures associated with new NameTypes MUST begin with
    a 16-bit length field", so an entry of an unknown type can be skipped; its length must
    still fit."""
    assert parse(CH, (X.SERVER_NAME, _sni((1, b"x"), (0, b"example.com")))) == (
        ServerName(host_name="example.com"),
    )
    assert parse(CH, (X.SERVER_NAME, _sni((7, b"")))) == (ServerName(host_name=None),)
    with pytest.raises(DecodeError):
        parse(CH, (X.SERVER_NAME, b"\x00\x04\x01\x00\x05x"))  # the name overruns the list


def test_server_name_in_encrypted_extensions_must_be_empty() -> None:
    with pytest.raises(DecodeError):
        parse(EE, (X.SERVER_NAME, _sni((0, b"a"))))


# --- ALPN (RFC 7301 §3.1) ----------------------------------------------------------------------


def test_alpn_server_side_needs_exactly_one_name() -> None:
    two = data_of(ApplicationLayerProtocolNegotiation((b"h2", b"h3")))
    parse(CH, (X.APPLICATION_LAYER_PROTOCOL_NEGOTIATION, two))
    for context in (EE, SH12):
        with pytest.raises(DecodeError, match="exactly one"):
            parse(context, (X.APPLICATION_LAYER_PROTOCOL_NEGOTIATION, two))


@pytest.mark.parametrize("data_hex", ["0000", "0001 00", "0002 0061", "0003 0161"])
def test_alpn_malformed_lists(data_hex: str) -> None:
    data = bytes.fromhex(data_hex.replace(" ", ""))
    with pytest.raises(DecodeError):
        parse(CH, (X.APPLICATION_LAYER_PROTOCOL_NEGOTIATION, data))


# --- Values with semantic limits ---------------------------------------------------------------


def test_record_size_limit_below_64_is_illegal_parameter() -> None:
    with pytest.raises(IllegalParameter, match="below 64") as info:
        parse(EE, (X.RECORD_SIZE_LIMIT, b"\x00\x3f"))
    assert info.value.alert is AlertDescription.ILLEGAL_PARAMETER


def test_key_share_duplicate_group_is_illegal_parameter() -> None:
    data = data_of(KeyShareClientHello((SHARE_X25519, KeyShareEntry(0x001D, b"\x01"))))
    with pytest.raises(IllegalParameter, match="one group"):
        parse(CH, (X.KEY_SHARE, data))


def test_psk_identities_and_binders_must_pair_up() -> None:
    data = data_of(PreSharedKeyClientHello((IDENTITY, IDENTITY), (bytes(32),)))
    with pytest.raises(IllegalParameter, match="2 identities but 1 binders"):
        parse(CH, (X.PRE_SHARED_KEY, data))


@pytest.mark.parametrize(
    ("ext_type", "data_hex", "why"),
    [
        (X.SUPPORTED_GROUPS, "0000", "named_group_list<2..>"),
        (X.SUPPORTED_GROUPS, "0003 001d 00", "odd length"),
        (X.SIGNATURE_ALGORITHMS, "0000", "supported_signature_algorithms<2..>"),
        (X.SUPPORTED_VERSIONS, "00", "versions<2..254>"),
        (X.SUPPORTED_VERSIONS, "ff" + "0304" * 127 + "03", "versions<2..254>"),
        (X.KEY_SHARE, "0004 001d 0000", "key_exchange<1..>"),
        (X.KEY_SHARE, "0003 001d 00", "truncated entry"),
        (X.COOKIE, "0000", "cookie<1..>"),
        (X.PSK_KEY_EXCHANGE_MODES, "00", "ke_modes<1..255>"),
        (X.CERTIFICATE_AUTHORITIES, "0002 0000", "authorities<3..>"),
        (X.CERTIFICATE_AUTHORITIES, "0003 0000 00", "DistinguishedName<1..>"),
        (
            X.PRE_SHARED_KEY,
            "000c 0000 00000000 0000 00000000" + "0021 20" + "00" * 32,
            "identity<1..>",
        ),
        (X.PRE_SHARED_KEY, "0006 0000 00000000" + "0021 20" + "00" * 32, "identities<7..>"),
        (X.PRE_SHARED_KEY, "0007 0001 61 00000000" + "0021 1f" + "00" * 32, "binder<32..>"),
        (X.PRE_SHARED_KEY, "0007 0001 61 00000000" + "0000", "binders<33..>"),
        (X.RECORD_SIZE_LIMIT, "40", "uint16"),
    ],
)
def test_vector_bounds_in_client_hello(ext_type: int, data_hex: str, why: str) -> None:
    data = bytes.fromhex(data_hex.replace(" ", ""))
    with pytest.raises(DecodeError):
        parse(CH, (ext_type, data))


def test_early_data_forms() -> None:
    assert parse(NST, (X.EARLY_DATA, b"\x00\x00\x40\x00")) == (EarlyData(0x4000),)
    with pytest.raises(DecodeError):
        parse(NST, (X.EARLY_DATA, b""))
    with pytest.raises(DecodeError):
        parse(EE, (X.EARLY_DATA, b"\x00\x00\x40\x00"))


def test_padding_is_lenient_about_content() -> None:
    assert parse(CH, (X.PADDING, b"\x00\x01\x02")) == (Padding(3),)


# --- Block-level bounds ------------------------------------------------------------------------


def test_block_minimums() -> None:
    with pytest.raises(DecodeError):
        parse_extensions(Reader(b"\x00\x00"), CR)  # extensions<2..2^16-1>
    with pytest.raises(DecodeError):
        parse_extensions(Reader(b"\x00\x04\x00\x2b\x00\x00"), HRR)  # extensions<6..2^16-1>
    assert parse_extensions(Reader(b"\x00\x00"), EE) == ()
    assert parse_extensions(Reader(b"\x00\x00"), NST) == ()


def test_new_session_ticket_block_maximum_is_65534() -> None:
    data = bytes(0xFFFF - 4)
    raw = block((0x7777, data))
    assert len(raw) == 2 + 0xFFFF
    with pytest.raises(DecodeError):
        parse_extensions(Reader(raw), NST)
    assert parse_extensions(Reader(raw), EE) == (UnknownExtension(0x7777, data),)


def test_tls13_client_hello_block_minimum_is_8() -> None:
    # supported_versions with one version: 7 bytes, below extensions<8..2^16-1>.
    with pytest.raises(DecodeError, match="<8"):
        parse(CH, (X.SUPPORTED_VERSIONS, b"\x02\x03\x04"))
    # A TLS 1.2 ClientHello may carry a shorter block (RFC 5246: extensions<0..2^16-1>).
    assert parse(CH, (X.RENEGOTIATION_INFO, b"\x00")) == (RenegotiationInfo(b""),)


def test_truncated_extension_header_and_data() -> None:
    for raw in (b"\x00\x01\x00", b"\x00\x04\x00\x00\x00\x05", b"\x00\x05\x00\x00\x00\x01"):
        with pytest.raises(DecodeError):
            parse_extensions(Reader(raw), CH)


def test_read_extension_block_gives_bounded_readers() -> None:
    pairs = read_extension_block(Reader(block((1, b"ab"), (2, b"c"))), EE)
    assert [(t, d.rest()) for t, d in pairs] == [(1, b"ab"), (2, b"c")]


def test_find_extension_and_names() -> None:
    exts = parse(CH, (X.COOKIE, b"\x00\x01\x07"), (0x9999, b""))
    assert find_extension(exts, Cookie) == Cookie(b"\x07")
    assert find_extension(exts, UnknownExtension) == UnknownExtension(0x9999, b"")
    assert find_extension(exts, ServerName) is None
    assert extension_name(51) == "key_share"
    assert extension_name(0x9999) == "0x9999"


def test_errors_are_protocol_errors_with_messages() -> None:
    with pytest.raises(ProtocolError) as info:
        parse(SH, (X.COOKIE, b"\x00\x01\x01"))
    assert "cookie" in str(info.value)
    assert "ServerHello" in str(info.value)


def test_block_structure_errors_come_before_extension_errors() -> None:
    """The whole block is split (truncation, duplicates, pre_shared_key last) before any
    extension_data is interpreted, so those errors win over a malformed extension body."""
    bad_groups = (X.SUPPORTED_GROUPS, b"\x00")  # a decode_error on its own
    with pytest.raises(DecodeError):
        parse(CH, bad_groups)
    with pytest.raises(IllegalParameter, match="duplicate"):
        parse(CH, bad_groups, (0x7777, b""), (0x7777, b""))
    with pytest.raises(IllegalParameter, match="last"):
        parse(CH, bad_groups, (X.PRE_SHARED_KEY, PSK_DATA), (0x7777, b""))
    truncated = block(bad_groups)[2:] + b"\x77\x77\x00\x05ab"
    raw = len(truncated).to_bytes(2, "big") + truncated
    with pytest.raises(DecodeError, match="truncated 0x7777 extension_data"):
        parse_extensions(Reader(raw), CH)


@pytest.mark.parametrize("tail", [b"\x00", b"\x00\x2b", b"\x00\x2b\x00"])
def test_truncated_extension_header(tail: bytes) -> None:
    body = block((0x7777, b""))[2:] + tail
    with pytest.raises(DecodeError, match="truncated"):
        parse_extensions(Reader(len(body).to_bytes(2, "big") + body), EE)


def test_decode_extension_one_at_a_time() -> None:
    assert decode_extension(X.COOKIE, Reader(b"\x00\x01\x07"), HRR) == Cookie(b"\x07")
    assert decode_extension(0x7777, Reader(b"ab"), EE) == UnknownExtension(0x7777, b"ab")
    with pytest.raises(IllegalParameter, match="not allowed"):
        decode_extension(X.COOKIE, Reader(b"\x00\x01\x07"), SH)
    with pytest.raises(DecodeError, match="trailing"):
        decode_extension(X.COOKIE, Reader(b"\x00\x01\x07\x00"), HRR)
    # TLS 1.2 ServerHello: the TLS 1.3 table does not apply, the extension stays raw.
    assert decode_extension(X.COOKIE, Reader(b"\x01"), SH12) == UnknownExtension(X.COOKIE, b"\x01")


def test_extension_context_hash_agrees_with_equality() -> None:
    assert len(set(ExtensionContext)) == len(ExtensionContext)
    assert {context: context.value for context in ExtensionContext}[CH] == "ClientHello"
    assert ExtensionContext("ClientHello") is CH
    assert hash(ExtensionContext("EncryptedExtensions")) == hash(EE)
