"""The extensions that negotiate the connection in the hellos: server_name (RFC 6066 §3),
application_layer_protocol_negotiation (RFC 7301 §3.1), record_size_limit (RFC 8449 §4), padding
(RFC 7685 §3), supported_groups (RFC 8446 §4.2.7), supported_versions (§4.2.1), key_share
(§4.2.8) and cookie (§4.2.2).

Each class reads its ``extension_data`` with ``parse_data(r, context)`` and writes it with
``serialize_data(w)``; which class reads which type in which message is decided in
:mod:`.block`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from ..codec import Reader, Writer
from ..enums import ExtensionType
from ..errors import DecodeError, IllegalParameter
from ..fast_init import fast_init
from .base import _CH, ExtensionContext, _items

# --- server_name, ALPN, record_size_limit, padding (RFC 6066, 7301, 8449, 7685) ---------------


#: The bytes a HostName may carry: printable ASCII without the space (RFC 6066 §3).
_PRINTABLE_ASCII = bytes(range(0x21, 0x7F))


@fast_init
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

    ClientHello: a ServerNameList with at most one host_name; an entry of another name type is
    skipped ("all future data structures associated with new NameTypes MUST begin with a 16-bit
    length field", §3, so that servers can; tlsfuzzer's test-invalid-server-name-extension
    expects it), a HostName that is not printable ASCII without spaces is
    ``illegal_parameter``. ServerHello / EncryptedExtensions: empty ``extension_data``,
    represented as ``host_name=None``.
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
                names.opaque(2, what="ServerName.name")  # a NameType we do not know: skipped
                continue
            name = names.opaque(2, min=1, what="HostName")
            if host_name is not None:
                raise IllegalParameter("server_name: more than one host_name (RFC 6066 §3)")
            if name.translate(None, _PRINTABLE_ASCII):  # anything left is not allowed
                # RFC 6066 §3: "a byte string using ASCII encoding": well-formed, but not a
                # host name (non-ASCII, NUL or other control bytes, spaces) -> illegal_parameter
                raise IllegalParameter(
                    f"server_name: HostName {name[:64]!r} is not an ASCII host name (RFC 6066 §3)"
                )
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


@fast_init
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


# --- supported_groups, supported_versions (RFC 8446 §4.2.7, §4.2.1) ---------------------------


@fast_init
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


@fast_init
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


@fast_init
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


# --- key_share (RFC 8446 §4.2.8) --------------------------------------------------------------


@fast_init
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


@fast_init
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


@fast_init
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


# --- cookie (RFC 8446 §4.2.2) -----------------------------------------------------------------


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
