"""TLS extensions: one frozen dataclass per extension form, plus the block parser.

RFC 8446 §4.2 (the extension block, the "allowed in message" table, duplicates and the
pre_shared_key-last rule) and §4.2.1-§4.2.11 (the TLS 1.3 extensions); RFC 6066 §3 (server_name);
RFC 7301 §3.1 (ALPN); RFC 7685 §3 (padding); RFC 8449 §4 (record_size_limit); RFC 8879 §3
(compress_certificate: only its allowed messages); the TLS 1.2 extensions RFC 8422 §5.1.2
(ec_point_formats), RFC 7627 §5.1 (extended_master_secret), RFC 5077 §3.2 (session_ticket) and
RFC 5746 §3.2 (renegotiation_info), read in ClientHello and TLS 1.2 ServerHello only.

Parsing is two-step: :func:`read_extension_block` splits a block into ``(type, data reader)``
pairs and rejects duplicates; :func:`decode_extension_block` interprets each pair for a message
(an :class:`ExtensionContext`), enforces the §4.2 table and insists every ``extension_data`` is
consumed exactly. ServerHello needs the split first to see whether supported_versions is present
(TLS 1.3) before choosing the context. Unknown extensions stay :class:`UnknownExtension` and
re-serialise byte for byte. Every class has ``parse_data(r, context)`` (reads the body of
``extension_data``) and ``serialize_data(w)`` (writes it); :func:`serialize_extensions` adds the
type and length.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar, Self, TypeAlias, TypeVar

from .codec import Reader, Writer
from .enums import ExtensionType
from .errors import DecodeError, IllegalParameter

_T = TypeVar("_T")
_E = TypeVar("_E")


class ExtensionContext(enum.Enum):
    """The message an extension block belongs to (the columns of the RFC 8446 §4.2 table)."""

    CLIENT_HELLO = "ClientHello"
    SERVER_HELLO = "ServerHello"
    HELLO_RETRY_REQUEST = "HelloRetryRequest"
    ENCRYPTED_EXTENSIONS = "EncryptedExtensions"
    CERTIFICATE = "Certificate"
    CERTIFICATE_REQUEST = "CertificateRequest"
    NEW_SESSION_TICKET = "NewSessionTicket"
    TLS12_SERVER_HELLO = "TLS 1.2 ServerHello"

    # Members are singletons compared by identity, so the identity hash agrees with ``==``;
    # it is computed in C, where Enum's own ``__hash__`` is a Python call on every dict or set
    # lookup (and every extension block is parsed through one).
    __hash__ = object.__hash__


_CH = ExtensionContext.CLIENT_HELLO
_SH = ExtensionContext.SERVER_HELLO
_HRR = ExtensionContext.HELLO_RETRY_REQUEST
_EE = ExtensionContext.ENCRYPTED_EXTENSIONS
_CT = ExtensionContext.CERTIFICATE
_CR = ExtensionContext.CERTIFICATE_REQUEST
_NST = ExtensionContext.NEW_SESSION_TICKET
_SH12 = ExtensionContext.TLS12_SERVER_HELLO


_NAMES = {int(t): t.name.lower() for t in ExtensionType}


def extension_name(ext_type: int) -> str:
    """``key_share`` for 51, ``0x1234`` for an unknown code point."""
    return _NAMES.get(ext_type) or f"0x{ext_type:04x}"


def _items(r: Reader, parse: Callable[[Reader], _T]) -> tuple[_T, ...]:
    """Parse structures from ``r`` until it is exhausted."""
    out: list[_T] = []
    while not r.at_end():
        out.append(parse(r))
    return tuple(out)


# --- server_name, ALPN, record_size_limit, padding (RFC 6066, 7301, 8449, 7685) ---------------


@dataclass(frozen=True, slots=True)
class ServerName:
    """server_name, RFC 6066 §3::

        struct {
            NameType name_type;
            select (name_type) {
                case host_name: HostName;
            } name;
        } ServerName;
        enum { host_name(0), (255) } NameType;
        opaque HostName<1..2^16-1>;
        struct {
            ServerName server_name_list<1..2^16-1>
        } ServerNameList;

    ClientHello: a ServerNameList with exactly one host_name (ASCII); other name types are not
    defined and rejected (``decode_error``, as OpenSSL does). ServerHello / EncryptedExtensions:
    empty ``extension_data``, represented as ``host_name=None``.
    """

    ext_type: ClassVar[int] = ExtensionType.SERVER_NAME
    host_name: str | None

    @classmethod
    def parse_data(cls, r: Reader, context: ExtensionContext) -> Self:
        if context is not _CH:
            return cls(None)
        names = r.vector(2, min=1, what="ServerNameList.server_name_list")
        host_name: str | None = None
        while not names.at_end():
            name_type = names.u8("ServerName.name_type")
            if name_type != 0:
                raise DecodeError(f"server_name: unknown name_type {name_type} (RFC 6066 §3)")
            name = names.opaque(2, min=1, what="HostName")
            if host_name is not None:
                raise IllegalParameter("server_name: more than one host_name (RFC 6066 §3)")
            if not name.isascii():
                raise DecodeError("server_name: HostName is not ASCII (RFC 6066 §3)")
            host_name = name.decode("ascii")
        return cls(host_name)

    def serialize_data(self, w: Writer) -> None:
        if self.host_name is None:
            return
        start = w.begin_vector(2)
        w.u8(0)
        w.opaque(2, self.host_name.encode("ascii"))
        w.end_vector(start, 2)


@dataclass(frozen=True, slots=True)
class ApplicationLayerProtocolNegotiation:
    """application_layer_protocol_negotiation, RFC 7301 §3.1::

        opaque ProtocolName<1..2^8-1>;
        struct {
            ProtocolName protocol_name_list<2..2^16-1>
        } ProtocolNameList;

    In a server's message (EncryptedExtensions, TLS 1.2 ServerHello) the list "MUST contain
    exactly one ProtocolName"; anything else is a ``decode_error`` (as BoringSSL and Go do).
    """

    ext_type: ClassVar[int] = ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION
    protocol_name_list: tuple[bytes, ...]

    @classmethod
    def parse_data(cls, r: Reader, context: ExtensionContext) -> Self:
        body = r.vector(2, min=2, what="ProtocolNameList.protocol_name_list")
        names = _items(body, lambda x: x.opaque(1, min=1, what="ProtocolName"))
        if context is not _CH and len(names) != 1:
            raise DecodeError(
                f"application_layer_protocol_negotiation in {context.value}: "
                f"{len(names)} protocol names, exactly one required (RFC 7301 §3.1)"
            )
        return cls(names)

    def serialize_data(self, w: Writer) -> None:
        start = w.begin_vector(2)
        for name in self.protocol_name_list:
            w.opaque(1, name)
        w.end_vector(start, 2)


@dataclass(frozen=True, slots=True)
class RecordSizeLimit:
    """record_size_limit, RFC 8449 §4: ``uint16 RecordSizeLimit;``

    A value below 64 is an ``illegal_parameter``.
    """

    ext_type: ClassVar[int] = ExtensionType.RECORD_SIZE_LIMIT
    record_size_limit: int

    @classmethod
    def parse_data(cls, r: Reader, context: ExtensionContext) -> Self:
        limit = r.u16("RecordSizeLimit")
        if limit < 64:
            raise IllegalParameter(f"record_size_limit {limit} is below 64 (RFC 8449 §4)")
        return cls(limit)

    def serialize_data(self, w: Writer) -> None:
        w.u16(self.record_size_limit)


@dataclass(frozen=True, slots=True)
class Padding:
    """padding, RFC 7685 §3: ``extension_data`` is ``length`` zero bytes.

    The sender MUST use zeros; the receiver is lenient (any content is accepted and only its
    length kept), so a non-zero padding does not re-serialise byte for byte (``raw`` keeps it).
    """

    ext_type: ClassVar[int] = ExtensionType.PADDING
    length: int

    @classmethod
    def parse_data(cls, r: Reader, context: ExtensionContext) -> Self:
        return cls(len(r.rest()))

    def serialize_data(self, w: Writer) -> None:
        w.bytes(bytes(self.length))


# --- Lists of code points (RFC 8446 §4.2.1, §4.2.3, §4.2.7, §4.2.9) --------------------------


@dataclass(frozen=True, slots=True)
class SupportedGroups:
    """supported_groups, RFC 8446 §4.2.7::

    struct {
        NamedGroup named_group_list<2..2^16-1>;
    } NamedGroupList;
    """

    ext_type: ClassVar[int] = ExtensionType.SUPPORTED_GROUPS
    groups: tuple[int, ...]

    @classmethod
    def parse_data(cls, r: Reader, context: ExtensionContext) -> Self:
        return cls(r.u16_tuple(2, min=2, max=0xFFFF, what="named_group_list"))

    def serialize_data(self, w: Writer) -> None:
        w.u16_list(2, self.groups)


class _SignatureSchemeList:
    """The SignatureSchemeList codec shared by the two extensions below (RFC 8446 §4.2.3)::

    struct {
        SignatureScheme supported_signature_algorithms<2..2^16-2>;
    } SignatureSchemeList;

    A mixin, not a common dataclass, so that ``get(SignatureAlgorithms)`` never matches a
    signature_algorithms_cert extension.
    """

    __slots__ = ()
    schemes: tuple[int, ...]

    @classmethod
    def parse_data(cls, r: Reader, context: ExtensionContext) -> Self:
        return cls(r.u16_tuple(2, min=2, max=0xFFFE, what="supported_signature_algorithms"))  # type: ignore[call-arg]

    def serialize_data(self, w: Writer) -> None:
        w.u16_list(2, self.schemes)


@dataclass(frozen=True, slots=True)
class SignatureAlgorithms(_SignatureSchemeList):
    """signature_algorithms: the schemes accepted in CertificateVerify (RFC 8446 §4.2.3)."""

    ext_type: ClassVar[int] = ExtensionType.SIGNATURE_ALGORITHMS
    schemes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SignatureAlgorithmsCert(_SignatureSchemeList):
    """signature_algorithms_cert: the schemes accepted in certificates (RFC 8446 §4.2.3)."""

    ext_type: ClassVar[int] = ExtensionType.SIGNATURE_ALGORITHMS_CERT
    schemes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SupportedVersionsClientHello:
    """supported_versions in a ClientHello, RFC 8446 §4.2.1::

    struct {
        select (Handshake.msg_type) {
            case client_hello:
                 ProtocolVersion versions<2..254>;
            ...
        };
    } SupportedVersions;
    """

    ext_type: ClassVar[int] = ExtensionType.SUPPORTED_VERSIONS
    versions: tuple[int, ...]

    @classmethod
    def parse_data(cls, r: Reader, context: ExtensionContext) -> Self:
        return cls(r.u16_tuple(1, min=2, max=254, what="SupportedVersions.versions"))

    def serialize_data(self, w: Writer) -> None:
        w.u16_list(1, self.versions)


@dataclass(frozen=True, slots=True)
class SupportedVersionsServerHello:
    """supported_versions in a ServerHello or HelloRetryRequest, RFC 8446 §4.2.1::

    struct {
        select (Handshake.msg_type) {
            case server_hello: /* and HelloRetryRequest */
                 ProtocolVersion selected_version;
        };
    } SupportedVersions;
    """

    ext_type: ClassVar[int] = ExtensionType.SUPPORTED_VERSIONS
    selected_version: int

    @classmethod
    def parse_data(cls, r: Reader, context: ExtensionContext) -> Self:
        return cls(r.u16("SupportedVersions.selected_version"))

    def serialize_data(self, w: Writer) -> None:
        w.u16(self.selected_version)


@dataclass(frozen=True, slots=True)
class PskKeyExchangeModes:
    """psk_key_exchange_modes, RFC 8446 §4.2.9::

    enum { psk_ke(0), psk_dhe_ke(1), (255) } PskKeyExchangeMode;
    struct {
        PskKeyExchangeMode ke_modes<1..255>;
    } PskKeyExchangeModes;
    """

    ext_type: ClassVar[int] = ExtensionType.PSK_KEY_EXCHANGE_MODES
    ke_modes: tuple[int, ...]

    @classmethod
    def parse_data(cls, r: Reader, context: ExtensionContext) -> Self:
        return cls(tuple(r.opaque(1, min=1, what="PskKeyExchangeModes.ke_modes")))

    def serialize_data(self, w: Writer) -> None:
        w.opaque(1, bytes(self.ke_modes))


# --- key_share (RFC 8446 §4.2.8) --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyShareEntry:
    """RFC 8446 §4.2.8::

    struct {
        NamedGroup group;
        opaque key_exchange<1..2^16-1>;
    } KeyShareEntry;
    """

    group: int
    key_exchange: bytes

    @classmethod
    def parse(cls, r: Reader) -> Self:
        group = r.u16("KeyShareEntry.group")
        return cls(group, r.opaque(2, min=1, what="KeyShareEntry.key_exchange"))

    def serialize(self, w: Writer) -> None:
        w.u16(self.group)
        w.opaque(2, self.key_exchange)


@dataclass(frozen=True, slots=True)
class KeyShareClientHello:
    """key_share in a ClientHello, RFC 8446 §4.2.8::

        struct {
            KeyShareEntry client_shares<0..2^16-1>;
        } KeyShareClientHello;

    Two shares for one group are an ``illegal_parameter`` ("Clients MUST NOT offer multiple
    KeyShareEntry values for the same group").
    """

    ext_type: ClassVar[int] = ExtensionType.KEY_SHARE
    client_shares: tuple[KeyShareEntry, ...]

    @classmethod
    def parse_data(cls, r: Reader, context: ExtensionContext) -> Self:
        shares = _items(r.vector(2, what="client_shares"), KeyShareEntry.parse)
        groups = {share.group for share in shares}
        if len(groups) != len(shares):
            raise IllegalParameter("key_share: two KeyShareEntry values for one group (§4.2.8)")
        return cls(shares)

    def serialize_data(self, w: Writer) -> None:
        start = w.begin_vector(2)
        for share in self.client_shares:
            share.serialize(w)
        w.end_vector(start, 2)


@dataclass(frozen=True, slots=True)
class KeyShareServerHello:
    """key_share in a ServerHello, RFC 8446 §4.2.8::

    struct {
        KeyShareEntry server_share;
    } KeyShareServerHello;
    """

    ext_type: ClassVar[int] = ExtensionType.KEY_SHARE
    server_share: KeyShareEntry

    @classmethod
    def parse_data(cls, r: Reader, context: ExtensionContext) -> Self:
        return cls(KeyShareEntry.parse(r))

    def serialize_data(self, w: Writer) -> None:
        self.server_share.serialize(w)


@dataclass(frozen=True, slots=True)
class KeyShareHelloRetryRequest:
    """key_share in a HelloRetryRequest, RFC 8446 §4.2.8::

    struct {
        NamedGroup selected_group;
    } KeyShareHelloRetryRequest;
    """

    ext_type: ClassVar[int] = ExtensionType.KEY_SHARE
    selected_group: int

    @classmethod
    def parse_data(cls, r: Reader, context: ExtensionContext) -> Self:
        return cls(r.u16("KeyShareHelloRetryRequest.selected_group"))

    def serialize_data(self, w: Writer) -> None:
        w.u16(self.selected_group)


# --- cookie, pre_shared_key, early_data (RFC 8446 §4.2.2, §4.2.10, §4.2.11) -------------------


@dataclass(frozen=True, slots=True)
class Cookie:
    """cookie, RFC 8446 §4.2.2::

    struct {
        opaque cookie<1..2^16-1>;
    } Cookie;
    """

    ext_type: ClassVar[int] = ExtensionType.COOKIE
    cookie: bytes

    @classmethod
    def parse_data(cls, r: Reader, context: ExtensionContext) -> Self:
        return cls(r.opaque(2, min=1, what="Cookie.cookie"))

    def serialize_data(self, w: Writer) -> None:
        w.opaque(2, self.cookie)


@dataclass(frozen=True, slots=True)
class PskIdentity:
    """RFC 8446 §4.2.11::

    struct {
        opaque identity<1..2^16-1>;
        uint32 obfuscated_ticket_age;
    } PskIdentity;
    """

    identity: bytes
    obfuscated_ticket_age: int

    @classmethod
    def parse(cls, r: Reader) -> Self:
        identity = r.opaque(2, min=1, what="PskIdentity.identity")
        return cls(identity, r.u32("PskIdentity.obfuscated_ticket_age"))

    def serialize(self, w: Writer) -> None:
        w.opaque(2, self.identity)
        w.u32(self.obfuscated_ticket_age)


def _binder(r: Reader) -> bytes:
    return r.opaque(1, min=32, what="PskBinderEntry")


@dataclass(frozen=True, slots=True)
class PreSharedKeyClientHello:
    """pre_shared_key in a ClientHello, RFC 8446 §4.2.11::

        opaque PskBinderEntry<32..255>;
        struct {
            PskIdentity identities<7..2^16-1>;
            PskBinderEntry binders<33..2^16-1>;
        } OfferedPsks;

    One binder per identity, else ``illegal_parameter``. It MUST be the last extension of the
    ClientHello; the binders list (with its length) is the tail of the message (§4.2.11.2).
    """

    ext_type: ClassVar[int] = ExtensionType.PRE_SHARED_KEY
    identities: tuple[PskIdentity, ...]
    binders: tuple[bytes, ...]

    @classmethod
    def parse_data(cls, r: Reader, context: ExtensionContext) -> Self:
        identities = _items(r.vector(2, min=7, what="OfferedPsks.identities"), PskIdentity.parse)
        binders = _items(r.vector(2, min=33, what="OfferedPsks.binders"), _binder)
        if len(identities) != len(binders):
            raise IllegalParameter(
                f"pre_shared_key: {len(identities)} identities but {len(binders)} binders"
            )
        return cls(identities, binders)

    @property
    def binders_length(self) -> int:
        """Encoded size of the binders list, its 2-byte length included (RFC 8446 §4.2.11.2)."""
        return 2 + sum(1 + len(b) for b in self.binders)

    def serialize_data(self, w: Writer) -> None:
        start = w.begin_vector(2)
        for identity in self.identities:
            identity.serialize(w)
        w.end_vector(start, 2)
        start = w.begin_vector(2)
        for binder in self.binders:
            w.opaque(1, binder)
        w.end_vector(start, 2)


@dataclass(frozen=True, slots=True)
class PreSharedKeyServerHello:
    """pre_shared_key in a ServerHello, RFC 8446 §4.2.11::

    struct {
        select (Handshake.msg_type) {
            case server_hello: uint16 selected_identity;
        };
    } PreSharedKeyExtension;
    """

    ext_type: ClassVar[int] = ExtensionType.PRE_SHARED_KEY
    selected_identity: int

    @classmethod
    def parse_data(cls, r: Reader, context: ExtensionContext) -> Self:
        return cls(r.u16("PreSharedKeyExtension.selected_identity"))

    def serialize_data(self, w: Writer) -> None:
        w.u16(self.selected_identity)


@dataclass(frozen=True, slots=True)
class EarlyData:
    """early_data, RFC 8446 §4.2.10::

        struct {
            select (Handshake.msg_type) {
                case new_session_ticket:   uint32 max_early_data_size;
                case client_hello:         Empty;
                case encrypted_extensions: Empty;
            };
        } EarlyDataIndication;

    ``max_early_data_size`` is ``None`` in ClientHello and EncryptedExtensions.
    """

    ext_type: ClassVar[int] = ExtensionType.EARLY_DATA
    max_early_data_size: int | None = None

    @classmethod
    def parse_data(cls, r: Reader, context: ExtensionContext) -> Self:
        if context is _NST:
            return cls(r.u32("EarlyDataIndication.max_early_data_size"))
        return cls(None)

    def serialize_data(self, w: Writer) -> None:
        if self.max_early_data_size is not None:
            w.u32(self.max_early_data_size)


# --- post_handshake_auth, certificate_authorities (RFC 8446 §4.2.4, §4.2.6) -------------------


@dataclass(frozen=True, slots=True)
class PostHandshakeAuth:
    """post_handshake_auth, RFC 8446 §4.2.6: ``struct {} PostHandshakeAuth;``"""

    ext_type: ClassVar[int] = ExtensionType.POST_HANDSHAKE_AUTH

    @classmethod
    def parse_data(cls, r: Reader, context: ExtensionContext) -> Self:
        return cls()

    def serialize_data(self, w: Writer) -> None:
        """The extension_data is empty."""


@dataclass(frozen=True, slots=True)
class CertificateAuthorities:
    """certificate_authorities, RFC 8446 §4.2.4::

    opaque DistinguishedName<1..2^16-1>;
    struct {
        DistinguishedName authorities<3..2^16-1>;
    } CertificateAuthoritiesExtension;
    """

    ext_type: ClassVar[int] = ExtensionType.CERTIFICATE_AUTHORITIES
    authorities: tuple[bytes, ...]

    @classmethod
    def parse_data(cls, r: Reader, context: ExtensionContext) -> Self:
        body = r.vector(2, min=3, what="CertificateAuthoritiesExtension.authorities")
        return cls(_items(body, lambda x: x.opaque(2, min=1, what="DistinguishedName")))

    def serialize_data(self, w: Writer) -> None:
        start = w.begin_vector(2)
        for name in self.authorities:
            w.opaque(2, name)
        w.end_vector(start, 2)


# --- TLS 1.2 extensions (RFC 8422 §5.1.2, RFC 7627 §5.1, RFC 5077 §3.2, RFC 5746 §3.2) -------

#: ECPointFormat uncompressed (RFC 8422 §5.1.2): the only format left.
EC_POINT_FORMAT_UNCOMPRESSED = 0


@dataclass(frozen=True, slots=True)
class EcPointFormats:
    """ec_point_formats, RFC 8422 §5.1.2::

        enum {
            uncompressed (0),
            deprecated (1..2),
            reserved (248..255)
        } ECPointFormat;
        struct {
            ECPointFormat ec_point_format_list<1..2^8-1>
        } ECPointFormatList;

    ``formats`` holds the list as bytes; whether it contains ``uncompressed`` (0) is checked
    where it matters, by the handshake.
    """

    ext_type: ClassVar[int] = ExtensionType.EC_POINT_FORMATS
    formats: bytes

    @classmethod
    def parse_data(cls, r: Reader, context: ExtensionContext) -> Self:
        return cls(r.opaque(1, min=1, max=0xFF, what="ECPointFormatList.ec_point_format_list"))

    def serialize_data(self, w: Writer) -> None:
        w.opaque(1, self.formats)


@dataclass(frozen=True, slots=True)
class ExtendedMasterSecret:
    """extended_master_secret, RFC 7627 §5.1: "The extension_data field of this extension SHALL
    be empty." (anything in it is a ``decode_error``)."""

    ext_type: ClassVar[int] = ExtensionType.EXTENDED_MASTER_SECRET

    @classmethod
    def parse_data(cls, r: Reader, context: ExtensionContext) -> Self:
        return cls()

    def serialize_data(self, w: Writer) -> None:
        """The extension_data is empty."""


@dataclass(frozen=True, slots=True)
class SessionTicket:
    """session_ticket, RFC 5077 §3.2: "The extension_data field of SessionTicket extension
    contains the ticket" (no length prefix of its own).

    Empty in a ClientHello that asks for a ticket and in the ServerHello that promises one.
    """

    ext_type: ClassVar[int] = ExtensionType.SESSION_TICKET
    ticket: bytes

    @classmethod
    def parse_data(cls, r: Reader, context: ExtensionContext) -> Self:
        return cls(r.rest())

    def serialize_data(self, w: Writer) -> None:
        w.bytes(self.ticket)


@dataclass(frozen=True, slots=True)
class RenegotiationInfo:
    """renegotiation_info, RFC 5746 §3.2::

        struct {
            opaque renegotiated_connection<0..255>;
        } RenegotiationInfo;

    ``renegotiated_connection`` is empty in an initial handshake (§3.4, §3.6); the handshake
    checks that.
    """

    ext_type: ClassVar[int] = ExtensionType.RENEGOTIATION_INFO
    renegotiated_connection: bytes

    @classmethod
    def parse_data(cls, r: Reader, context: ExtensionContext) -> Self:
        return cls(r.opaque(1, max=0xFF, what="RenegotiationInfo.renegotiated_connection"))

    def serialize_data(self, w: Writer) -> None:
        w.opaque(1, self.renegotiated_connection)


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
    (_X.EC_POINT_FORMATS, EcPointFormats.parse_data, (_CH, _SH12)),
    (_X.EXTENDED_MASTER_SECRET, ExtendedMasterSecret.parse_data, (_CH, _SH12)),
    (_X.SESSION_TICKET, SessionTicket.parse_data, (_CH, _SH12)),
    (_X.RENEGOTIATION_INFO, RenegotiationInfo.parse_data, (_CH, _SH12)),
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


def _context_rules(context: ExtensionContext) -> _ContextRules:
    low, high = _BLOCK_BOUNDS[context]
    forbidden = frozenset(
        int(ext_type)
        for ext_type, allowed in ALLOWED_CONTEXTS.items()
        if context is not _SH12 and context not in allowed
    )
    parsers = {int(ext_type): p for (ext_type, ctx), p in _PARSERS.items() if ctx is context}
    return _ContextRules(context, f"{context.value} extensions", low, high, forbidden, parsers)


_RULES = {context: _context_rules(context) for context in ExtensionContext}
_PRE_SHARED_KEY = int(_X.PRE_SHARED_KEY)
_SUPPORTED_VERSIONS = int(_X.SUPPORTED_VERSIONS)

RawExtension: TypeAlias = tuple[int, Reader]


def read_extension_block(r: Reader, context: ExtensionContext) -> list[RawExtension]:
    """Read ``Extension extensions<..>`` into ``(extension_type, extension_data reader)`` pairs.

    Rejects duplicates and, in a ClientHello, a pre_shared_key that is not last
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
            raise IllegalParameter(
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
