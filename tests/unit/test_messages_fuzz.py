"""Property tests for messages and extensions (Hypothesis).

- round trip: ``decode(encode(m)) == m`` and ``encode(decode(b)) == b`` for every message type
  and every extension form in every context;
- no strict prefix parses (Go's TestMarshalUnmarshal): with the header length corrected, every
  strict prefix of a body is rejected, except the documented cases (a hello cut just before its
  optional extensions block; Finished, whose body is all verify_data);
- garbage (random bytes, random extension blocks, mutated valid messages) only ever raises
  ``ProtocolError`` subclasses (Go's TestFuzz);
- oversized vectors are rejected.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlsmachine.codec import Reader, Writer
from tlsmachine.enums import ExtensionType, HandshakeType, ProtocolVersion
from tlsmachine.errors import DecodeError, ProtocolError
from tlsmachine.extensions import (
    ALLOWED_CONTEXTS,
    ApplicationLayerProtocolNegotiation,
    CertificateAuthorities,
    Cookie,
    EarlyData,
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
    ServerName,
    SignatureAlgorithms,
    SignatureAlgorithmsCert,
    SupportedGroups,
    SupportedVersionsClientHello,
    SupportedVersionsServerHello,
    UnknownExtension,
    parse_extensions,
    serialize_extensions,
)
from tlsmachine.messages import (
    HELLO_RETRY_REQUEST_RANDOM,
    Certificate,
    CertificateEntry,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    EncryptedExtensions,
    EndOfEarlyData,
    Finished,
    HandshakeBuffer,
    HandshakeMessage,
    KeyUpdate,
    NewSessionTicket,
    ServerHello,
    decode_handshake,
    encode_handshake,
)

CH = ExtensionContext.CLIENT_HELLO
SH = ExtensionContext.SERVER_HELLO
HRR = ExtensionContext.HELLO_RETRY_REQUEST
EE = ExtensionContext.ENCRYPTED_EXTENSIONS
CT = ExtensionContext.CERTIFICATE
CR = ExtensionContext.CERTIFICATE_REQUEST
NST = ExtensionContext.NEW_SESSION_TICKET
SH12 = ExtensionContext.TLS12_SERVER_HELLO

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- Extension strategies ----------------------------------------------------------------------

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)


def blob(min_size: int, max_size: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=min_size, max_size=max_size)


def u16s(min_size: int, max_size: int) -> st.SearchStrategy[tuple[int, ...]]:
    return st.lists(u16, min_size=min_size, max_size=max_size).map(tuple)


host_names = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-", min_size=1, max_size=40
).map(ServerName)
key_share_entries = st.builds(KeyShareEntry, u16, blob(1, 80))
psk_identities = st.builds(PskIdentity, blob(1, 40), u32)


@st.composite
def offered_psks(draw: st.DrawFn) -> PreSharedKeyClientHello:
    n = draw(st.integers(1, 3))
    identities = draw(st.lists(psk_identities, min_size=n, max_size=n))
    binders = draw(st.lists(blob(32, 64), min_size=n, max_size=n))
    return PreSharedKeyClientHello(tuple(identities), tuple(binders))


# Code points no context interprets: they must always come back as UnknownExtension.
# (nor the TLS 1.2 extensions, read in ClientHello and TLS 1.2 ServerHello).
TLS12_TYPES = (11, 23, 35, 0xFF01)
unknown_types = u16.filter(lambda t: t not in ALLOWED_CONTEXTS and t not in TLS12_TYPES)
unknown_exts = st.builds(UnknownExtension, unknown_types, blob(0, 30))
# In a TLS 1.2 ServerHello, TLS 1.3 extensions are kept raw too (but 43 would make it TLS 1.3).
tls12_raw_types = st.sampled_from(
    [t for t in ALLOWED_CONTEXTS if t not in (0, 16, 28, ExtensionType.SUPPORTED_VERSIONS)]
)

ALPN_ONE = st.builds(ApplicationLayerProtocolNegotiation, st.tuples(blob(1, 20)))

EXTENSIONS: dict[ExtensionContext, list[st.SearchStrategy[Any]]] = {
    CH: [
        host_names,
        st.builds(SupportedGroups, u16s(1, 20)),
        st.builds(SignatureAlgorithms, u16s(1, 20)),
        st.builds(SignatureAlgorithmsCert, u16s(1, 20)),
        st.builds(
            ApplicationLayerProtocolNegotiation,
            st.lists(blob(1, 20), min_size=1, max_size=4).map(tuple),
        ),
        st.builds(RecordSizeLimit, st.integers(64, 0xFFFF)),
        st.builds(Padding, st.integers(0, 300)),
        st.builds(
            KeyShareClientHello,
            st.lists(key_share_entries, max_size=4, unique_by=lambda e: e.group).map(tuple),
        ),
        st.builds(SupportedVersionsClientHello, u16s(1, 20)),
        st.builds(Cookie, blob(1, 100)),
        st.builds(PskKeyExchangeModes, st.lists(u8, min_size=1, max_size=8).map(tuple)),
        offered_psks(),
        st.just(EarlyData()),
        st.just(PostHandshakeAuth()),
        st.builds(CertificateAuthorities, st.lists(blob(1, 30), min_size=1, max_size=3).map(tuple)),
        unknown_exts,
    ],
    SH: [
        st.builds(KeyShareServerHello, key_share_entries),
        st.builds(SupportedVersionsServerHello, u16),
        st.builds(PreSharedKeyServerHello, u16),
        unknown_exts,
    ],
    HRR: [
        st.builds(KeyShareHelloRetryRequest, u16),
        st.builds(SupportedVersionsServerHello, u16),
        st.builds(Cookie, blob(1, 100)),
        unknown_exts,
    ],
    EE: [
        st.just(ServerName(None)),
        st.builds(SupportedGroups, u16s(1, 20)),
        ALPN_ONE,
        st.builds(RecordSizeLimit, st.integers(64, 0xFFFF)),
        st.just(EarlyData()),
        unknown_exts,
    ],
    CT: [unknown_exts, st.builds(UnknownExtension, st.sampled_from([5, 18]), blob(0, 30))],
    CR: [
        st.builds(SignatureAlgorithms, u16s(1, 20)),
        st.builds(SignatureAlgorithmsCert, u16s(1, 20)),
        st.builds(CertificateAuthorities, st.lists(blob(1, 30), min_size=1, max_size=3).map(tuple)),
        unknown_exts,
    ],
    NST: [st.builds(EarlyData, u32), unknown_exts],
    SH12: [
        st.just(ServerName(None)),
        ALPN_ONE,
        st.builds(RecordSizeLimit, st.integers(64, 0xFFFF)),
        st.builds(UnknownExtension, tls12_raw_types, blob(0, 30)),
        unknown_exts.filter(lambda e: e.ext_type != ExtensionType.SUPPORTED_VERSIONS),
    ],
}

_BLOCK_MIN = {SH: 6, HRR: 6, CR: 2}


def encode_block(exts: tuple[Extension, ...]) -> bytes:
    w = Writer()
    serialize_extensions(w, exts)
    return w.getvalue()


def extension_blocks(context: ExtensionContext) -> st.SearchStrategy[tuple[Extension, ...]]:
    """Valid blocks: one extension per type, pre_shared_key last, the block minimum met."""

    def order(exts: list[Extension]) -> tuple[Extension, ...]:
        return tuple(sorted(exts, key=lambda e: e.ext_type == ExtensionType.PRE_SHARED_KEY))

    def valid(exts: tuple[Extension, ...]) -> bool:
        size = len(encode_block(exts)) - 2
        versions = any(e.ext_type == ExtensionType.SUPPORTED_VERSIONS for e in exts)
        return size >= _BLOCK_MIN.get(context, 0) and not (context is CH and versions and size < 8)

    items = st.one_of(EXTENSIONS[context])
    blocks = st.lists(items, max_size=6, unique_by=lambda e: e.ext_type)
    return blocks.map(order).filter(valid)


def contexts_and_extensions() -> st.SearchStrategy[tuple[ExtensionContext, Extension]]:
    return st.one_of(
        [st.tuples(st.just(ctx), st.one_of(strats)) for ctx, strats in EXTENSIONS.items()]
    )


def ext_data(ext: Extension) -> bytes:
    w = Writer()
    ext.serialize_data(w)
    return w.getvalue()


def parse_block(raw: bytes, context: ExtensionContext) -> tuple[Extension, ...]:
    r = Reader(raw)
    out = parse_extensions(r, context)
    r.expect_end()
    return out


# --- Message strategies ------------------------------------------------------------------------

randoms = blob(32, 32).filter(lambda r: r != HELLO_RETRY_REQUEST_RANDOM)

client_hellos = st.builds(
    ClientHello,
    u16,
    blob(32, 32),
    blob(0, 32),
    u16s(1, 30),
    blob(1, 4),
    extension_blocks(CH),
)


@st.composite
def tls13_server_hellos(draw: st.DrawFn) -> ServerHello:
    """A TLS 1.3 ServerHello: supported_versions is what makes it one."""
    exts = [e for e in draw(extension_blocks(SH)) if e.ext_type != ExtensionType.SUPPORTED_VERSIONS]
    exts.insert(draw(st.integers(0, len(exts))), SupportedVersionsServerHello(draw(u16)))
    return ServerHello(
        draw(u16), draw(randoms), draw(blob(0, 32)), draw(u16), draw(u8), tuple(exts)
    )


hello_retry_requests = st.builds(
    ServerHello,
    u16,
    st.just(HELLO_RETRY_REQUEST_RANDOM),
    blob(0, 32),
    u16,
    u8,
    extension_blocks(HRR),
)
tls12_server_hellos = st.builds(
    ServerHello, u16, randoms, blob(0, 32), u16, u8, extension_blocks(SH12)
)
certificate_entries = st.builds(CertificateEntry, blob(1, 100), extension_blocks(CT))

MESSAGES: dict[str, st.SearchStrategy[Any]] = {
    "ClientHello": client_hellos,
    "ServerHello": tls13_server_hellos(),
    "HelloRetryRequest": hello_retry_requests,
    "TLS12ServerHello": tls12_server_hellos,
    "EncryptedExtensions": st.builds(EncryptedExtensions, extension_blocks(EE)),
    "Certificate": st.builds(
        Certificate, blob(0, 20), st.lists(certificate_entries, max_size=3).map(tuple)
    ),
    "CertificateRequest": st.builds(CertificateRequest, blob(0, 20), extension_blocks(CR)),
    "CertificateVerify": st.builds(CertificateVerify, u16, blob(0, 200)),
    "Finished": st.builds(Finished, blob(0, 64)),
    "NewSessionTicket": st.builds(
        NewSessionTicket, u32, u32, blob(0, 40), blob(1, 100), extension_blocks(NST)
    ),
    "EndOfEarlyData": st.just(EndOfEarlyData()),
    "KeyUpdate": st.builds(KeyUpdate, st.sampled_from([0, 1])),
}
any_message = st.one_of(list(MESSAGES.values()))


def with_header(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + len(body).to_bytes(3, "big") + body


def only_protocol_errors(fn: Callable[[], object]) -> None:
    """Run ``fn``; success or a ProtocolError is fine, anything else propagates and fails."""
    with contextlib.suppress(ProtocolError):
        fn()


# --- Round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MESSAGES))
def test_message_round_trip(name: str) -> None:
    @FAST
    @given(MESSAGES[name])
    def check(msg: HandshakeMessage) -> None:
        raw = encode_handshake(msg)
        parsed = decode_handshake(raw)
        assert parsed == msg
        assert type(parsed) is type(msg)
        assert parsed.raw == raw
        assert encode_handshake(parsed) == raw

    check()


FILLER = UnknownExtension(0xFAFA, b"")  # first in a block: keeps it above every minimum


@FAST
@given(contexts_and_extensions())
def test_extension_round_trip(pair: tuple[ExtensionContext, Extension]) -> None:
    context, ext = pair
    raw = encode_block((FILLER, ext))
    assert raw == encode_block((FILLER, UnknownExtension(ext.ext_type, ext_data(ext))))
    parsed = parse_block(raw, context)
    assert parsed == (FILLER, ext)
    assert encode_block(parsed) == raw


@pytest.mark.parametrize("context", list(EXTENSIONS))
def test_extension_block_round_trip(context: ExtensionContext) -> None:
    @FAST
    @given(extension_blocks(context))
    def check(exts: tuple[Extension, ...]) -> None:
        raw = encode_block(exts)
        assert parse_block(raw, context) == exts
        assert encode_block(parse_block(raw, context)) == raw

    check()


# --- No strict prefix parses -------------------------------------------------------------------


def _optional_block_boundary(msg: HandshakeMessage, body: bytes) -> int | None:
    """Where a hello's body may legally end (before its optional extensions block)."""
    if isinstance(msg, ClientHello | ServerHello) and msg.extensions:
        return len(body) - len(encode_block(msg.extensions))
    return None


@SLOW
@given(any_message)
def test_no_strict_prefix_parses(msg: HandshakeMessage) -> None:
    raw = encode_handshake(msg)
    for i in range(len(raw)):
        with pytest.raises(DecodeError):
            decode_handshake(raw[:i])
    if isinstance(msg, Finished):
        return  # verify_data is the whole body: every prefix is a (shorter) Finished
    body = raw[4:]
    boundary = _optional_block_boundary(msg, body)
    for i in range(len(body)):
        prefix = with_header(raw[0], body[:i])
        if i == boundary:
            decode_handshake(prefix)  # a hello without its extensions block is valid
            continue
        with pytest.raises(ProtocolError):
            decode_handshake(prefix)


@FAST
@given(contexts_and_extensions())
def test_no_strict_prefix_of_extension_data_parses(
    pair: tuple[ExtensionContext, Extension],
) -> None:
    context, ext = pair
    if isinstance(ext, UnknownExtension | Padding):
        return  # opaque to us: any length is valid
    data = ext_data(ext)
    for i in range(len(data)):
        raw = encode_block((FILLER, UnknownExtension(ext.ext_type, data[:i])))
        with pytest.raises(ProtocolError):
            parse_block(raw, context)


# --- Garbage in, ProtocolError out -------------------------------------------------------------

handshake_types = st.one_of(st.sampled_from(list(HandshakeType)), u8)


@SLOW
@given(st.binary(max_size=300))
def test_random_bytes_into_decode_handshake(data: bytes) -> None:
    only_protocol_errors(lambda: decode_handshake(data))
    only_protocol_errors(lambda: decode_handshake(data, version=ProtocolVersion.TLS12))


@FAST
@given(handshake_types, st.binary(max_size=300))
def test_random_bodies_with_valid_header(msg_type: int, body: bytes) -> None:
    only_protocol_errors(lambda: decode_handshake(with_header(msg_type, body)))


known_types = st.sampled_from([*ALLOWED_CONTEXTS, ExtensionType.RENEGOTIATION_INFO])
random_extension = st.tuples(st.one_of(known_types, u16), st.binary(max_size=40))


def raw_block(pairs: list[tuple[int, bytes]]) -> bytes:
    body = b"".join(t.to_bytes(2, "big") + len(d).to_bytes(2, "big") + d for t, d in pairs)
    return len(body).to_bytes(2, "big") + body


@pytest.mark.parametrize("context", list(ExtensionContext))
def test_random_extension_blocks(context: ExtensionContext) -> None:
    @FAST
    @given(st.lists(random_extension, max_size=5), st.binary(max_size=60))
    def check(pairs: list[tuple[int, bytes]], noise: bytes) -> None:
        only_protocol_errors(lambda: parse_block(raw_block(pairs), context))
        only_protocol_errors(lambda: parse_block(noise, context))

    check()


@SLOW
@given(any_message, st.data())
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
    only_protocol_errors(lambda: decode_handshake(with_header(raw[0], body)))


@FAST
@given(st.lists(st.binary(min_size=1, max_size=50), max_size=20))
def test_handshake_buffer_garbage(chunks: list[bytes]) -> None:
    buf = HandshakeBuffer(max_message_size=200)

    def run() -> None:
        for chunk in chunks:
            buf.feed(chunk)
            while (msg := buf.pop()) is not None:
                assert int.from_bytes(msg[1:4], "big") == len(msg) - 4 <= 200

    only_protocol_errors(run)


# --- Oversized vectors -------------------------------------------------------------------------


@FAST
@given(st.integers(33, 255))
def test_oversized_session_id_rejected(n: int) -> None:
    body = b"\x03\x03" + bytes(32) + bytes([n]) + bytes(n) + b"\x00\x02\x13\x01\x01\x00"
    with pytest.raises(DecodeError, match="legacy_session_id"):
        decode_handshake(with_header(HandshakeType.CLIENT_HELLO, body))
    sh_body = b"\x03\x03" + bytes(32) + bytes([n]) + bytes(n) + b"\x13\x01\x00"
    with pytest.raises(DecodeError, match="legacy_session_id_echo"):
        decode_handshake(with_header(HandshakeType.SERVER_HELLO, sh_body))


@pytest.mark.parametrize(
    ("context", "ext_type", "data"),
    [
        (CH, ExtensionType.SUPPORTED_VERSIONS, b"\xfe" + bytes(254) + b"\x00"),  # 254 + trailing
        (CH, ExtensionType.SUPPORTED_VERSIONS, b"\xff" + bytes(255)),  # versions<2..254>
        (EE, ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION, b"\x00\x04\x01a\x01b"),
        (CH, ExtensionType.SIGNATURE_ALGORITHMS, b"\xff\xff" + bytes(0xFFFF)),  # <2..2^16-2>
        (HRR, ExtensionType.COOKIE, b"\xff\xff" + bytes(100)),  # longer than extension_data
    ],
)
def test_oversized_vectors_rejected(context: ExtensionContext, ext_type: int, data: bytes) -> None:
    raw = raw_block([(0xFAFA, b""), (ext_type, data[: 0xFFFF - 8])])
    with pytest.raises(DecodeError):
        parse_block(raw, context)


@FAST
@given(st.integers(1, 300))
def test_vector_length_beyond_enclosing_structure_rejected(extra: int) -> None:
    # A cert_data length that runs past the certificate_list.
    entry = (100 + extra).to_bytes(3, "big") + bytes(100) + b"\x00\x00"
    body = b"\x00" + len(entry).to_bytes(3, "big") + entry
    with pytest.raises(DecodeError):
        decode_handshake(with_header(HandshakeType.CERTIFICATE, body))


def test_new_session_ticket_extensions_block_maximum() -> None:
    ext = UnknownExtension(0xFAFA, bytes(0xFFFF - 4))  # block of 2^16-1 bytes > 2^16-2
    body = bytes(8) + b"\x00" + b"\x00\x01\x01" + encode_block((ext,))
    with pytest.raises(DecodeError):
        decode_handshake(with_header(HandshakeType.NEW_SESSION_TICKET, body))
