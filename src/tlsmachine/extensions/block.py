"""The extension block: which extension a message allows and how a block is read and written.

RFC 8446 §4.2 (the extension block, the "allowed in message" table, duplicates and the
pre_shared_key-last rule), with record_size_limit (RFC 8449 §4) and compress_certificate
(RFC 8879 §3: only its allowed messages) added to the table; :data:`Extension`, the union of the
extension classes; the registry of which class interprets a type in each message.

Parsing is two-step: :func:`read_extension_block` splits a block into ``(type, data reader)``
pairs and rejects duplicates; :func:`decode_extension_block` interprets each pair for a message
(an :class:`ExtensionContext`), enforces the §4.2 table and insists every ``extension_data`` is
consumed exactly. ServerHello needs the split first to see whether supported_versions is present
(TLS 1.3) before choosing the context. Unknown extensions stay :class:`UnknownExtension` and
re-serialise byte for byte. :func:`serialize_extensions` adds each extension's type and length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeAlias, TypeVar

from ..codec import Reader, Writer
from ..enums import ExtensionType
from ..errors import DecodeError, IllegalParameter
from .auth import (
    CertificateAuthorities,
    PostHandshakeAuth,
    SignatureAlgorithms,
    SignatureAlgorithmsCert,
)
from .base import _CH, _CR, _CT, _EE, _HRR, _NST, _SH, _SH12, ExtensionContext
from .hello import (
    ApplicationLayerProtocolNegotiation,
    Cookie,
    KeyShareClientHello,
    KeyShareHelloRetryRequest,
    KeyShareServerHello,
    Padding,
    RecordSizeLimit,
    ServerName,
    SupportedGroups,
    SupportedVersionsClientHello,
    SupportedVersionsServerHello,
)
from .psk import EarlyData, PreSharedKeyClientHello, PreSharedKeyServerHello, PskKeyExchangeModes
from .tls12 import (
    EcPointFormats,
    ExtendedMasterSecret,
    MalformedTls12Extension,
    RenegotiationInfo,
    SessionTicket,
)

_E = TypeVar("_E")


_NAMES = {int(t): t.name.lower() for t in ExtensionType}


def extension_name(ext_type: int) -> str:
    """``key_share`` for 51, ``0x1234`` for an unknown code point."""
    return _NAMES.get(ext_type) or f"0x{ext_type:04x}"


@dataclass(frozen=True, slots=True)
class UnknownExtension:
    """An extension we do not interpret (RFC 8446 §4.2)::

    struct {
        ExtensionType extension_type;
        opaque extension_data<0..2^16-1>;
    } Extension;
    """

    ext_type: int
    extension_data: bytes

    def serialize_data(self, w: Writer) -> None:
        w.bytes(self.extension_data)


Extension: TypeAlias = (
    ServerName
    | ApplicationLayerProtocolNegotiation
    | RecordSizeLimit
    | Padding
    | SupportedGroups
    | SignatureAlgorithms
    | SignatureAlgorithmsCert
    | SupportedVersionsClientHello
    | SupportedVersionsServerHello
    | PskKeyExchangeModes
    | KeyShareClientHello
    | KeyShareServerHello
    | KeyShareHelloRetryRequest
    | Cookie
    | PreSharedKeyClientHello
    | PreSharedKeyServerHello
    | EarlyData
    | PostHandshakeAuth
    | CertificateAuthorities
    | EcPointFormats
    | ExtendedMasterSecret
    | SessionTicket
    | RenegotiationInfo
    | MalformedTls12Extension
    | UnknownExtension
)

# --- The registry -----------------------------------------------------------------------------

_X = ExtensionType
# RFC 8446 §4.2 table (TLS 1.3 column), plus record_size_limit (RFC 8449 §4) and
# compress_certificate (RFC 8879 §3). A listed type outside its contexts is illegal_parameter.
# TLS 1.2 ServerHellos are not checked against it (the table is for TLS 1.3 messages).
ALLOWED_CONTEXTS: dict[int, frozenset[ExtensionContext]] = {
    _X.SERVER_NAME: frozenset({_CH, _EE}),
    _X.MAX_FRAGMENT_LENGTH: frozenset({_CH, _EE}),
    _X.STATUS_REQUEST: frozenset({_CH, _CR, _CT}),
    _X.SUPPORTED_GROUPS: frozenset({_CH, _EE}),
    _X.SIGNATURE_ALGORITHMS: frozenset({_CH, _CR}),
    _X.USE_SRTP: frozenset({_CH, _EE}),
    _X.HEARTBEAT: frozenset({_CH, _EE}),
    _X.APPLICATION_LAYER_PROTOCOL_NEGOTIATION: frozenset({_CH, _EE}),
    _X.SIGNED_CERTIFICATE_TIMESTAMP: frozenset({_CH, _CR, _CT}),
    _X.CLIENT_CERTIFICATE_TYPE: frozenset({_CH, _EE}),
    _X.SERVER_CERTIFICATE_TYPE: frozenset({_CH, _EE}),
    _X.PADDING: frozenset({_CH}),
    _X.KEY_SHARE: frozenset({_CH, _SH, _HRR}),
    _X.PRE_SHARED_KEY: frozenset({_CH, _SH}),
    _X.PSK_KEY_EXCHANGE_MODES: frozenset({_CH}),
    _X.EARLY_DATA: frozenset({_CH, _EE, _NST}),
    _X.COOKIE: frozenset({_CH, _HRR}),
    _X.SUPPORTED_VERSIONS: frozenset({_CH, _SH, _HRR}),
    _X.CERTIFICATE_AUTHORITIES: frozenset({_CH, _CR}),
    _X.OID_FILTERS: frozenset({_CR}),
    _X.POST_HANDSHAKE_AUTH: frozenset({_CH}),
    _X.SIGNATURE_ALGORITHMS_CERT: frozenset({_CH, _CR}),
    _X.RECORD_SIZE_LIMIT: frozenset({_CH, _EE}),
    _X.COMPRESS_CERTIFICATE: frozenset({_CH, _CR}),
}

_Parser: TypeAlias = Callable[[Reader, ExtensionContext], Extension]


def _parsers(
    *rows: tuple[int, _Parser, tuple[ExtensionContext, ...]],
) -> dict[tuple[int, ExtensionContext], _Parser]:
    return {(ext_type, ctx): parser for ext_type, parser, contexts in rows for ctx in contexts}


def _tls12_in_client_hello(ext_type: int, parser: _Parser) -> _Parser:
    """``parser`` for a TLS 1.2 extension in a ClientHello: a malformed body becomes a
    :class:`MalformedTls12Extension`, judged only if TLS 1.2 is negotiated."""

    def parse(r: Reader, context: ExtensionContext) -> Extension:
        start = r.position
        data = r.buffer[start : start + r.remaining]
        try:
            ext = parser(r, context)
            if r.at_end():
                return ext
            problem = f"{r.remaining} trailing bytes"
        except DecodeError as exc:
            problem = str(exc)
        r.rest()  # the body is kept whole in the result
        where = f"{extension_name(ext_type)} extension in {context.value}"
        return MalformedTls12Extension(ext_type, data, f"{where}: {problem}")

    return parse


_TLS12_PARSERS: tuple[tuple[int, _Parser], ...] = (
    (_X.EC_POINT_FORMATS, EcPointFormats.parse_data),
    (_X.EXTENDED_MASTER_SECRET, ExtendedMasterSecret.parse_data),
    (_X.SESSION_TICKET, SessionTicket.parse_data),
    (_X.RENEGOTIATION_INFO, RenegotiationInfo.parse_data),
)

# Which class interprets a type in a context; absent pairs become UnknownExtension.
_PARSERS = _parsers(
    (_X.SERVER_NAME, ServerName.parse_data, (_CH, _EE, _SH12)),
    (
        _X.APPLICATION_LAYER_PROTOCOL_NEGOTIATION,
        ApplicationLayerProtocolNegotiation.parse_data,
        (_CH, _EE, _SH12),
    ),
    (_X.RECORD_SIZE_LIMIT, RecordSizeLimit.parse_data, (_CH, _EE, _SH12)),
    (_X.PADDING, Padding.parse_data, (_CH,)),
    (_X.SUPPORTED_GROUPS, SupportedGroups.parse_data, (_CH, _EE)),
    (_X.SIGNATURE_ALGORITHMS, SignatureAlgorithms.parse_data, (_CH, _CR)),
    (_X.SIGNATURE_ALGORITHMS_CERT, SignatureAlgorithmsCert.parse_data, (_CH, _CR)),
    (_X.SUPPORTED_VERSIONS, SupportedVersionsClientHello.parse_data, (_CH,)),
    (_X.SUPPORTED_VERSIONS, SupportedVersionsServerHello.parse_data, (_SH, _HRR)),
    (_X.PSK_KEY_EXCHANGE_MODES, PskKeyExchangeModes.parse_data, (_CH,)),
    (_X.KEY_SHARE, KeyShareClientHello.parse_data, (_CH,)),
    (_X.KEY_SHARE, KeyShareServerHello.parse_data, (_SH,)),
    (_X.KEY_SHARE, KeyShareHelloRetryRequest.parse_data, (_HRR,)),
    (_X.COOKIE, Cookie.parse_data, (_CH, _HRR)),
    (_X.PRE_SHARED_KEY, PreSharedKeyClientHello.parse_data, (_CH,)),
    (_X.PRE_SHARED_KEY, PreSharedKeyServerHello.parse_data, (_SH,)),
    (_X.EARLY_DATA, EarlyData.parse_data, (_CH, _EE, _NST)),
    (_X.POST_HANDSHAKE_AUTH, PostHandshakeAuth.parse_data, (_CH,)),
    (_X.CERTIFICATE_AUTHORITIES, CertificateAuthorities.parse_data, (_CH, _CR)),
    # TLS 1.2 extensions: not in the RFC 8446 §4.2 table, so in TLS 1.3 messages other than the
    # ClientHello they stay UnknownExtension (and a client rejects them there).
    # In a ClientHello, a malformed one is kept aside until the version is known (see
    # MalformedTls12Extension).
    *((ext_type, parser, (_SH12,)) for ext_type, parser in _TLS12_PARSERS),
    *(
        (ext_type, _tls12_in_client_hello(ext_type, parser), (_CH,))
        for ext_type, parser in _TLS12_PARSERS
    ),
)

# Extension extensions<min..max> of each message (RFC 8446 §4.1.2, §4.1.3, §4.3.1, §4.3.2,
# §4.4.2, §4.6.1; RFC 5246 §7.4.1.3). ClientHello: <8..> for TLS 1.3 only, see below.
_BLOCK_BOUNDS: dict[ExtensionContext, tuple[int, int]] = {
    _CH: (0, 0xFFFF),
    _SH: (6, 0xFFFF),
    _HRR: (6, 0xFFFF),
    _EE: (0, 0xFFFF),
    _CT: (0, 0xFFFF),
    _CR: (2, 0xFFFF),
    _NST: (0, 0xFFFE),
    _SH12: (0, 0xFFFF),
}

# A duplicate extension (RFC 8446 §4.2 "MUST NOT", no alert named): illegal_parameter, as
# OpenSSL answers a ClientHello; decode_error in the ServerHello and EncryptedExtensions a
# client reads, as BoringSSL's BoGo suite expects (DuplicateExtensionClient), which keeps
# illegal_parameter for a HelloRetryRequest or NewSessionTicket.
_DUPLICATE_ERROR: dict[ExtensionContext, type[DecodeError] | type[IllegalParameter]] = {
    _SH: DecodeError,
    _EE: DecodeError,
    _SH12: DecodeError,
}


@dataclass(frozen=True, slots=True)
class _ContextRules:
    """The tables above, looked up once per context so that reading a block needs one lookup
    per extension, keyed by its plain ``int`` type. Derived when the module is imported."""

    context: ExtensionContext
    block_what: str  # "ClientHello extensions", for error messages
    min_length: int
    max_length: int
    forbidden: frozenset[int]  # types ALLOWED_CONTEXTS lists, but not for this context
    parsers: dict[int, _Parser]
    duplicate_error: type[DecodeError] | type[IllegalParameter]


def _context_rules(context: ExtensionContext) -> _ContextRules:
    low, high = _BLOCK_BOUNDS[context]
    forbidden = frozenset(
        int(ext_type)
        for ext_type, allowed in ALLOWED_CONTEXTS.items()
        if context is not _SH12 and context not in allowed
    )
    parsers = {int(ext_type): p for (ext_type, ctx), p in _PARSERS.items() if ctx is context}
    duplicate = _DUPLICATE_ERROR.get(context, IllegalParameter)
    what = f"{context.value} extensions"
    return _ContextRules(context, what, low, high, forbidden, parsers, duplicate)


_RULES = {context: _context_rules(context) for context in ExtensionContext}
_PRE_SHARED_KEY = int(_X.PRE_SHARED_KEY)
_SUPPORTED_VERSIONS = int(_X.SUPPORTED_VERSIONS)

RawExtension: TypeAlias = tuple[int, Reader]


def read_extension_block(r: Reader, context: ExtensionContext) -> list[RawExtension]:
    """Read ``Extension extensions<..>`` into ``(extension_type, extension_data reader)`` pairs.

    Rejects duplicates (see _DUPLICATE_ERROR) and, in a ClientHello, a pre_shared_key not last
    (``illegal_parameter``, RFC 8446 §4.2). A ClientHello block carrying supported_versions
    (TLS 1.3) must be at least 8 bytes; TLS 1.2 ClientHellos have no such minimum.
    """
    return _read_block(r, _RULES[context])


def _read_block(r: Reader, rules: _ContextRules) -> list[RawExtension]:
    # Each Extension is a uint16 extension_type and an opaque extension_data<0..2^16-1>
    # (RFC 8446 §4.2); the 4-byte headers are read straight from the buffer.
    pos, end = r.span(2, min=rules.min_length, max=rules.max_length, what=rules.block_what)
    size = end - pos
    data = r.buffer
    pairs: list[RawExtension] = []
    seen: set[int] = set()
    while pos < end:
        if pos + 4 > end:
            raise DecodeError(f"truncated Extension header: need 4 bytes, {end - pos} left")
        ext_type = data[pos] << 8 | data[pos + 1]
        start = pos + 4
        pos = start + (data[pos + 2] << 8 | data[pos + 3])
        if pos > end:
            raise DecodeError(
                f"truncated {extension_name(ext_type)} extension_data: "
                f"need {pos - start} bytes, {end - start} left"
            )
        if ext_type in seen:
            raise rules.duplicate_error(
                f"{rules.context.value}: duplicate {extension_name(ext_type)} extension "
                "(RFC 8446 §4.2)"
            )
        seen.add(ext_type)
        pairs.append((ext_type, Reader(data, start, pos)))
    if rules.context is _CH:
        if _PRE_SHARED_KEY in seen and pairs[-1][0] != _PRE_SHARED_KEY:
            raise IllegalParameter("ClientHello: pre_shared_key is not the last extension (§4.2)")
        if _SUPPORTED_VERSIONS in seen and size < 8:
            raise DecodeError(f"ClientHello extensions: length {size} outside <8..65535>")
    return pairs


def _decode_block(pairs: Iterable[RawExtension], rules: _ContextRules) -> tuple[Extension, ...]:
    """Interpret ``pairs`` (see :func:`decode_extension`)."""
    context = rules.context
    forbidden = rules.forbidden
    parsers = rules.parsers
    out: list[Extension] = []
    for ext_type, data in pairs:
        if ext_type in forbidden:
            raise IllegalParameter(
                f"{extension_name(ext_type)} extension is not allowed in {context.value} "
                "(RFC 8446 §4.2)"
            )
        parser = parsers.get(ext_type)
        if parser is None:
            out.append(UnknownExtension(ext_type, data.rest()))
            continue
        out.append(parser(data, context))
        if not data.at_end():
            raise DecodeError(
                f"{extension_name(ext_type)} extension in {context.value}: "
                f"{data.remaining} trailing bytes"
            )
    return tuple(out)


def decode_extension(ext_type: int, data: Reader, context: ExtensionContext) -> Extension:
    """Interpret one extension for ``context``; ``data`` must be consumed exactly.

    A type listed in :data:`ALLOWED_CONTEXTS` but not for ``context`` is ``illegal_parameter``
    (not checked in a TLS 1.2 ServerHello); a type without a parser for ``context`` stays an
    :class:`UnknownExtension`.
    """
    (ext,) = _decode_block(((ext_type, data),), _RULES[context])
    return ext


def decode_extension_block(
    pairs: Iterable[RawExtension], context: ExtensionContext
) -> tuple[Extension, ...]:
    """Interpret the pairs from :func:`read_extension_block` for ``context``."""
    return _decode_block(pairs, _RULES[context])


def parse_extensions(r: Reader, context: ExtensionContext) -> tuple[Extension, ...]:
    """Read and interpret a whole ``Extension extensions<..>`` block for ``context``."""
    rules = _RULES[context]
    pairs = _read_block(r, rules)
    return _decode_block(pairs, rules) if pairs else ()


def serialize_extensions(w: Writer, extensions: Iterable[Extension]) -> None:
    """Write ``Extension extensions<..>`` (the 2-byte block length included)."""
    block = w.begin_vector(2)
    for ext in extensions:
        w.u16(ext.ext_type)
        start = w.begin_vector(2)
        ext.serialize_data(w)
        w.end_vector(start, 2)
    w.end_vector(block, 2)


def encode_extensions(extensions: Iterable[Extension]) -> bytes:
    """The Extension structures (type, length, data) one after the other, without the block
    length: pieces of a block that a sender puts together itself."""
    w = Writer()
    for ext in extensions:
        w.u16(ext.ext_type)
        start = w.begin_vector(2)
        ext.serialize_data(w)
        w.end_vector(start, 2)
    return w.getvalue()


def find_extension(extensions: Iterable[Extension], cls: type[_E]) -> _E | None:
    """The first extension of class ``cls``, or ``None``."""
    for ext in extensions:
        if isinstance(ext, cls):
            return ext
    return None
