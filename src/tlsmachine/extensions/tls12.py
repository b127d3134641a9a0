"""The TLS 1.2 extensions: ec_point_formats (RFC 8422 §5.1.2), extended_master_secret
(RFC 7627 §5.1), session_ticket (RFC 5077 §3.2) and renegotiation_info (RFC 5746 §3.2).

They are read in the ClientHello and the TLS 1.2 ServerHello only (see :mod:`.block`); in a
ClientHello a malformed one is kept aside as a :class:`MalformedTls12Extension`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from ..codec import Reader, Writer
from ..enums import ExtensionType
from ..fast_init import fast_init
from .base import ExtensionContext

#: ECPointFormat uncompressed (RFC 8422 §5.1.2): the only format left.
EC_POINT_FORMAT_UNCOMPRESSED = 0


@fast_init
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


@fast_init
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


@fast_init
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


@fast_init
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
class MalformedTls12Extension:
    """A TLS 1.2 extension (ec_point_formats, extended_master_secret, session_ticket,
    renegotiation_info) whose body is malformed, found in a ClientHello.

    The TLS 1.2 extensions mean nothing in TLS 1.3, and RFC 8446 §4.1.2 has servers ignore
    extensions they do not recognise, so a TLS 1.3 handshake ignores this one (as OpenSSL
    does: it parses only the extensions relevant to the negotiated version). If the server
    negotiates TLS 1.2, the handshake raises :attr:`problem` as a ``decode_error``
    (``server.tls12.start_tls12``). Made by the ClientHello parsers of :mod:`.block`;
    re-serialises byte for byte.
    """

    ext_type: int
    extension_data: bytes
    problem: str

    def serialize_data(self, w: Writer) -> None:
        w.bytes(self.extension_data)
