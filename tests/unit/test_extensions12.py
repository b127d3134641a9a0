"""The TLS 1.2 extensions: ec_point_formats (RFC 8422 §5.1.2), extended_master_secret (RFC 7627
§5.1), session_ticket (RFC 5077 §3.2) and renegotiation_info (RFC 5746 §3.2).

They are read in a ClientHello and a TLS 1.2 ServerHello; in the TLS 1.3 messages they stay
:class:`UnknownExtension` (they are not in the RFC 8446 §4.2 table). Wire formats are written out
by hand; property tests (Hypothesis) feed valid, truncated, oversized and random data.
"""

from __future__ import annotations

import contextlib
import typing
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlsmachine.codec import Reader, Writer
from tlsmachine.enums import AlertDescription, ExtensionType, HandshakeType, ProtocolVersion
from tlsmachine.errors import DecodeError, IllegalParameter, ProtocolError
from tlsmachine.extensions import (
    ALLOWED_CONTEXTS,
    EC_POINT_FORMAT_UNCOMPRESSED,
    EcPointFormats,
    ExtendedMasterSecret,
    Extension,
    ExtensionContext,
    MalformedTls12Extension,
    RenegotiationInfo,
    SessionTicket,
    SupportedVersionsServerHello,
    UnknownExtension,
    decode_extension,
    extension_name,
    parse_extensions,
    serialize_extensions,
)
from tlsmachine.messages import ClientHello, ServerHello, decode_handshake, encode_handshake

CH = ExtensionContext.CLIENT_HELLO
SH = ExtensionContext.SERVER_HELLO
HRR = ExtensionContext.HELLO_RETRY_REQUEST
EE = ExtensionContext.ENCRYPTED_EXTENSIONS
CT = ExtensionContext.CERTIFICATE
CR = ExtensionContext.CERTIFICATE_REQUEST
NST = ExtensionContext.NEW_SESSION_TICKET
SH12 = ExtensionContext.TLS12_SERVER_HELLO

X = ExtensionType
TLS12_TYPES = (
    X.EC_POINT_FORMATS,
    X.EXTENDED_MASTER_SECRET,
    X.SESSION_TICKET,
    X.RENEGOTIATION_INFO,
)
TLS12_CLASSES = (EcPointFormats, ExtendedMasterSecret, SessionTicket, RenegotiationInfo)
TLS13_ONLY = (SH, HRR, EE, CT, CR, NST)


def unhex(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


def block(*exts: tuple[int, bytes]) -> bytes:
    """An extensions block: uint16 length, then (type, uint16 length, data) per extension."""
    body = b"".join(t.to_bytes(2, "big") + len(d).to_bytes(2, "big") + d for t, d in exts)
    return len(body).to_bytes(2, "big") + body


def parse(context: ExtensionContext, *exts: tuple[int, bytes]) -> tuple[Extension, ...]:
    """The block as a TLS 1.2 handshake sees it: in a ClientHello, a malformed TLS 1.2
    extension is kept aside (MalformedTls12Extension) and becomes a decode_error once TLS 1.2
    is negotiated (server.tls12.start_tls12), which this does at once."""
    r = Reader(block(*exts))
    out = parse_extensions(r, context)
    r.expect_end()
    for ext in out:
        if isinstance(ext, MalformedTls12Extension):
            raise DecodeError(ext.problem)
    return out


@pytest.mark.parametrize(
    ("ext_type", "data_hex"),
    [
        (X.EC_POINT_FORMATS, ""),
        (X.EC_POINT_FORMATS, "01 00 00"),
        (X.EXTENDED_MASTER_SECRET, "00"),
        (X.RENEGOTIATION_INFO, "0c" + "00" * 11),
    ],
)
def test_malformed_tls12_extension_in_a_client_hello_is_kept_aside(
    ext_type: int, data_hex: str
) -> None:
    """A ClientHello may still negotiate TLS 1.3, where the TLS 1.2 extensions mean nothing
    (RFC 8446 §4.1.2: unrecognised extensions are ignored): the block parses, the body is kept
    whole and re-serialises byte for byte; a TLS 1.2 ServerHello gets no such leniency."""
    raw = block((ext_type, unhex(data_hex)), (0x1234, b"x"))
    (kept, unknown) = parse_extensions(Reader(raw), CH)
    assert isinstance(kept, MalformedTls12Extension)
    assert (kept.ext_type, kept.extension_data) == (ext_type, unhex(data_hex))
    assert kept.problem.startswith(extension_name(ext_type))
    assert unknown == UnknownExtension(0x1234, b"x")
    assert encode_block((kept, unknown)) == raw
    with pytest.raises(DecodeError):
        parse_extensions(Reader(raw), SH12)


def data_of(ext: Extension) -> bytes:
    w = Writer()
    ext.serialize_data(w)
    return w.getvalue()


def encode_block(exts: tuple[Extension, ...]) -> bytes:
    w = Writer()
    serialize_extensions(w, exts)
    return w.getvalue()


# --- Wire formats ------------------------------------------------------------------------------

# (context, extension, its extension_data in hex)
EXAMPLES: list[tuple[ExtensionContext, Extension, str]] = [
    # RFC 8422 §5.1.2: ECPointFormat ec_point_format_list<1..2^8-1>
    (CH, EcPointFormats(b"\x00"), "01 00"),
    (CH, EcPointFormats(b"\x00\x01\x02"), "03 000102"),
    (SH12, EcPointFormats(b"\x00"), "01 00"),
    # RFC 7627 §5.1: empty extension_data
    (CH, ExtendedMasterSecret(), ""),
    (SH12, ExtendedMasterSecret(), ""),
    # RFC 5077 §3.2: extension_data is the ticket itself, possibly empty
    (CH, SessionTicket(b""), ""),
    (CH, SessionTicket(b"\x01\x02\x03"), "010203"),
    (SH12, SessionTicket(b""), ""),
    # RFC 5746 §3.2: opaque renegotiated_connection<0..255>
    (CH, RenegotiationInfo(b""), "00"),
    (SH12, RenegotiationInfo(b""), "00"),
    (CH, RenegotiationInfo(bytes(range(12))), "0c" + bytes(range(12)).hex()),  # client_verify
    (SH12, RenegotiationInfo(bytes(24)), "18" + "00" * 24),  # client + server verify_data
    (SH12, RenegotiationInfo(bytes(255)), "ff" + "00" * 255),  # the maximum
]


@pytest.mark.parametrize(("context", "ext", "data_hex"), EXAMPLES)
def test_wire_format_round_trip(context: ExtensionContext, ext: Extension, data_hex: str) -> None:
    data = unhex(data_hex)
    assert data_of(ext) == data
    assert parse(context, (ext.ext_type, data)) == (ext,)
    assert encode_block((ext,)) == block((ext.ext_type, data))


@pytest.mark.parametrize(("context", "ext", "data_hex"), EXAMPLES)
def test_trailing_byte_in_extension_data(
    context: ExtensionContext, ext: Extension, data_hex: str
) -> None:
    data = unhex(data_hex) + b"\x00"
    if isinstance(ext, SessionTicket):
        assert parse(context, (ext.ext_type, data)) == (SessionTicket(data),)  # all ticket
        return
    with pytest.raises(DecodeError, match="trailing bytes") as info:
        parse(context, (ext.ext_type, data))
    assert info.value.alert is AlertDescription.DECODE_ERROR


def test_rfc8422_client_octets() -> None:
    """RFC 8422 §5.1.2: "A client compliant with this specification that supports no other
    curves MUST send the following octets": 00 0B 00 02 01 00."""
    ext = EcPointFormats(bytes([EC_POINT_FORMAT_UNCOMPRESSED]))
    assert encode_block((ext,)) == unhex("0006 000b 0002 0100")
    assert parse(CH, (0x000B, unhex("0100"))) == (ext,)


def test_type_code_points() -> None:
    assert EcPointFormats.ext_type == 11
    assert ExtendedMasterSecret.ext_type == 23
    assert SessionTicket.ext_type == 35
    assert RenegotiationInfo.ext_type == 0xFF01


def test_in_the_extension_union() -> None:
    members = typing.get_args(Extension)
    for cls in TLS12_CLASSES:
        assert cls in members


# --- Malformed extension_data ------------------------------------------------------------------


@pytest.mark.parametrize("context", [CH, SH12])
@pytest.mark.parametrize(
    ("ext_type", "data_hex", "message"),
    [
        (X.EC_POINT_FORMATS, "", r"truncated ECPointFormatList\.ec_point_format_list"),
        (X.EC_POINT_FORMATS, "00", r"ec_point_format_list: length 0 outside <1\.\.255>"),
        (X.EC_POINT_FORMATS, "02 00", r"truncated ECPointFormatList\.ec_point_format_list"),
        (X.EC_POINT_FORMATS, "ff" + "00" * 254, "need 255 bytes, 254 left"),
        (X.EC_POINT_FORMATS, "01 00 00", "1 trailing bytes"),
        (X.EXTENDED_MASTER_SECRET, "00", "extended_master_secret extension .* 1 trailing bytes"),
        (X.EXTENDED_MASTER_SECRET, "0000", "2 trailing bytes"),
        (X.RENEGOTIATION_INFO, "", r"truncated RenegotiationInfo\.renegotiated_connection"),
        (X.RENEGOTIATION_INFO, "0c" + "00" * 11, "need 12 bytes, 11 left"),
        (X.RENEGOTIATION_INFO, "00 00", "renegotiation_info extension .* 1 trailing bytes"),
    ],
)
def test_malformed_extension_data(
    context: ExtensionContext, ext_type: int, data_hex: str, message: str
) -> None:
    with pytest.raises(DecodeError, match=message) as info:
        parse(context, (ext_type, unhex(data_hex)))
    assert info.value.alert is AlertDescription.DECODE_ERROR


def test_duplicates_are_refused() -> None:
    """illegal_parameter in a ClientHello, decode_error in a TLS 1.2 ServerHello (see
    extensions/block.py _DUPLICATE_ERROR)."""
    for context, error in ((CH, IllegalParameter), (SH12, DecodeError)):
        for ext_type in TLS12_TYPES:
            with pytest.raises(error, match="duplicate"):
                parse(context, (ext_type, b"\x01\x00"), (ext_type, b"\x01\x00"))


def test_builders_refuse_oversized_vectors() -> None:
    with pytest.raises(ValueError, match="fit"):
        data_of(RenegotiationInfo(bytes(256)))
    with pytest.raises(ValueError, match="fit"):
        data_of(EcPointFormats(bytes(256)))


# --- Contexts ----------------------------------------------------------------------------------


def test_not_in_the_rfc8446_table() -> None:
    for ext_type in TLS12_TYPES:
        assert ext_type not in ALLOWED_CONTEXTS


@pytest.mark.parametrize("context", TLS13_ONLY)
@pytest.mark.parametrize(("ext", "data_hex"), [(e, d) for c, e, d in EXAMPLES if c is CH])
def test_tls13_messages_keep_them_unknown(
    context: ExtensionContext, ext: Extension, data_hex: str
) -> None:
    data = unhex(data_hex)
    # A leading filler keeps the block above every TLS 1.3 minimum (<6..> in a ServerHello).
    exts = parse(context, (0xFAFA, b""), (ext.ext_type, data))
    assert exts == (UnknownExtension(0xFAFA, b""), UnknownExtension(ext.ext_type, data))
    # ... and they are not checked there: malformed data is not this layer's business.
    assert decode_extension(ext.ext_type, Reader(b"\xff"), context) == UnknownExtension(
        ext.ext_type, b"\xff"
    )


def _server_hello(extensions: bytes) -> bytes:
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\xc0\x2b\x00" + extensions
    return bytes([HandshakeType.SERVER_HELLO]) + len(body).to_bytes(3, "big") + body


SH12_BLOCK = block(
    (X.RENEGOTIATION_INFO, b"\x00"),
    (X.EC_POINT_FORMATS, b"\x01\x00"),
    (X.SESSION_TICKET, b""),
    (X.EXTENDED_MASTER_SECRET, b""),
)


@pytest.mark.parametrize("version", [ProtocolVersion.TLS12, ProtocolVersion.TLS13])
def test_tls12_server_hello_reads_them(version: ProtocolVersion) -> None:
    """No supported_versions: a TLS 1.2 ServerHello, whichever message set decodes it."""
    raw = _server_hello(SH12_BLOCK)
    sh = decode_handshake(raw, version=version)
    assert isinstance(sh, ServerHello)
    assert sh.extensions == (
        RenegotiationInfo(b""),
        EcPointFormats(b"\x00"),
        SessionTicket(b""),
        ExtendedMasterSecret(),
    )
    assert sh.get(ExtendedMasterSecret) == ExtendedMasterSecret()
    assert encode_handshake(sh) == raw


def test_tls13_server_hello_keeps_them_unknown() -> None:
    """With supported_versions the block is read as TLS 1.3's, where they mean nothing (the
    client then rejects them as unsolicited)."""
    raw = _server_hello(block((X.SUPPORTED_VERSIONS, b"\x03\x04"), (X.EXTENDED_MASTER_SECRET, b"")))
    sh = decode_handshake(raw)
    assert isinstance(sh, ServerHello)
    assert sh.extensions == (
        SupportedVersionsServerHello(0x0304),
        UnknownExtension(X.EXTENDED_MASTER_SECRET, b""),
    )


def test_malformed_in_tls12_server_hello_is_decode_error() -> None:
    with pytest.raises(DecodeError, match="ec_point_format_list"):
        decode_handshake(_server_hello(block((X.EC_POINT_FORMATS, b"\x00"))))


def test_client_hello_reads_them() -> None:
    exts = block(
        (X.EC_POINT_FORMATS, b"\x01\x00"),
        (X.SESSION_TICKET, b"ticket"),
        (X.EXTENDED_MASTER_SECRET, b""),
        (X.RENEGOTIATION_INFO, b"\x00"),
    )
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x00\x02\xc0\x2b" + b"\x01\x00" + exts
    raw = bytes([HandshakeType.CLIENT_HELLO]) + len(body).to_bytes(3, "big") + body
    ch = decode_handshake(raw, version=ProtocolVersion.TLS12)
    assert isinstance(ch, ClientHello)
    assert ch.get(EcPointFormats) == EcPointFormats(b"\x00")
    assert ch.get(SessionTicket) == SessionTicket(b"ticket")
    assert ch.get(ExtendedMasterSecret) == ExtendedMasterSecret()
    assert ch.get(RenegotiationInfo) == RenegotiationInfo(b"")
    assert ch.get(UnknownExtension) is None
    assert encode_handshake(ch) == raw


# --- Properties (Hypothesis) -------------------------------------------------------------------

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TLS12_EXTENSIONS: list[st.SearchStrategy[Extension]] = [
    st.builds(EcPointFormats, st.binary(min_size=1, max_size=255)),
    st.just(ExtendedMasterSecret()),
    st.builds(SessionTicket, st.binary(max_size=300)),
    st.builds(RenegotiationInfo, st.binary(max_size=255)),
]
tls12_blocks = st.lists(
    st.one_of(TLS12_EXTENSIONS), max_size=4, unique_by=lambda e: e.ext_type
).map(tuple)
contexts = st.sampled_from([CH, SH12])


def only_protocol_errors(fn: Callable[[], object]) -> None:
    """Run ``fn``; success or a ProtocolError is fine, anything else propagates and fails."""
    with contextlib.suppress(ProtocolError):
        fn()


@FAST
@given(contexts, tls12_blocks)
def test_block_round_trip(context: ExtensionContext, exts: tuple[Extension, ...]) -> None:
    raw = encode_block(exts)
    r = Reader(raw)
    assert parse_extensions(r, context) == exts
    assert r.at_end()
    # The typed forms serialise exactly as the raw ones would.
    assert raw == encode_block(tuple(UnknownExtension(e.ext_type, data_of(e)) for e in exts))


@FAST
@given(contexts, st.one_of(TLS12_EXTENSIONS))
def test_no_strict_prefix_or_extension_of_data_parses(
    context: ExtensionContext, ext: Extension
) -> None:
    data = data_of(ext)
    if isinstance(ext, SessionTicket):
        return  # opaque to us: any length is a ticket
    for i in range(len(data)):
        with pytest.raises(DecodeError):
            parse(context, (ext.ext_type, data[:i]))
    with pytest.raises(DecodeError):
        parse(context, (ext.ext_type, data + b"\x00"))


@FAST
@given(contexts, st.sampled_from(TLS12_TYPES), st.binary(max_size=300))
def test_random_extension_data(context: ExtensionContext, ext_type: int, data: bytes) -> None:
    only_protocol_errors(lambda: parse(context, (ext_type, data)))


@FAST
@given(
    contexts,
    st.lists(st.tuples(st.sampled_from(TLS12_TYPES), st.binary(max_size=40)), max_size=5),
    st.binary(max_size=60),
)
def test_random_blocks(
    context: ExtensionContext, pairs: list[tuple[int, bytes]], noise: bytes
) -> None:
    only_protocol_errors(lambda: parse(context, *pairs))
    only_protocol_errors(lambda: parse_extensions(Reader(noise), context))


@FAST
@given(contexts, st.integers(1, 255), st.data())
def test_oversized_vectors_rejected(context: ExtensionContext, n: int, data: st.DataObject) -> None:
    """A list length beyond the extension_data is a decode_error, never an over-read."""
    short = data.draw(st.binary(max_size=n - 1))
    for ext_type in (X.EC_POINT_FORMATS, X.RENEGOTIATION_INFO):
        with pytest.raises(DecodeError, match="truncated"):
            parse(context, (ext_type, bytes([n]) + short))
