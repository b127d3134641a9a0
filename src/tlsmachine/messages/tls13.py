"""TLS 1.3 handshake messages after the hellos.

RFC 8446 §4.3.1 (EncryptedExtensions), §4.3.2 (CertificateRequest), §4.4.1 (the message_hash
construct), §4.4.2 (Certificate), §4.4.3 (CertificateVerify), §4.4.4 (Finished), §4.5
(EndOfEarlyData), §4.6.1 (NewSessionTicket), §4.6.3 (KeyUpdate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Self, TypeVar

from ..codec import Reader, Writer
from ..enums import HandshakeType
from ..errors import IllegalParameter
from ..extensions import (
    Extension,
    ExtensionContext,
    find_extension,
    parse_extensions,
    serialize_extensions,
)
from ..fast_init import fast_init
from .framing import frame_handshake

_E = TypeVar("_E")


@fast_init
@dataclass(frozen=True, slots=True)
class EncryptedExtensions:
    """RFC 8446 §4.3.1::

    struct {
        Extension extensions<0..2^16-1>;
    } EncryptedExtensions;
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.ENCRYPTED_EXTENSIONS
    extensions: tuple[Extension, ...]
    raw: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def parse_body(cls, r: Reader, raw: bytes) -> Self:
        extensions = parse_extensions(r, ExtensionContext.ENCRYPTED_EXTENSIONS)
        r.expect_end("EncryptedExtensions")
        return cls(extensions, raw)

    def serialize_body(self, w: Writer) -> None:
        serialize_extensions(w, self.extensions)

    def get(self, cls: type[_E]) -> _E | None:
        """The first extension of class ``cls``, or ``None``."""
        return find_extension(self.extensions, cls)


@fast_init
@dataclass(frozen=True, slots=True)
class CertificateEntry:
    """RFC 8446 §4.4.2 (X509 certificate type only; RawPublicKey is not supported)::

    struct {
        select (certificate_type) {
            case X509:
              opaque cert_data<1..2^24-1>;
        };
        Extension extensions<0..2^16-1>;
    } CertificateEntry;
    """

    cert_data: bytes
    extensions: tuple[Extension, ...] = ()

    @classmethod
    def parse(cls, r: Reader) -> Self:
        cert_data = r.opaque(3, min=1, what="CertificateEntry.cert_data")
        return cls(cert_data, parse_extensions(r, ExtensionContext.CERTIFICATE))

    def serialize(self, w: Writer) -> None:
        w.opaque(3, self.cert_data)
        serialize_extensions(w, self.extensions)


@fast_init
@dataclass(frozen=True, slots=True)
class Certificate:
    """RFC 8446 §4.4.2::

    struct {
        opaque certificate_request_context<0..2^8-1>;
        CertificateEntry certificate_list<0..2^24-1>;
    } Certificate;
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.CERTIFICATE
    certificate_request_context: bytes
    certificate_list: tuple[CertificateEntry, ...]
    raw: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def parse_body(cls, r: Reader, raw: bytes) -> Self:
        context = r.opaque(1, what="Certificate.certificate_request_context")
        body = r.vector(3, what="Certificate.certificate_list")
        entries: list[CertificateEntry] = []
        while not body.at_end():
            entries.append(CertificateEntry.parse(body))
        r.expect_end("Certificate")
        return cls(context, tuple(entries), raw)

    def serialize_body(self, w: Writer) -> None:
        w.opaque(1, self.certificate_request_context)
        start = w.begin_vector(3)
        for entry in self.certificate_list:
            entry.serialize(w)
        w.end_vector(start, 3)


@dataclass(frozen=True, slots=True)
class CertificateRequest:
    """RFC 8446 §4.3.2::

    struct {
        opaque certificate_request_context<0..2^8-1>;
        Extension extensions<2..2^16-1>;
    } CertificateRequest;
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.CERTIFICATE_REQUEST
    certificate_request_context: bytes
    extensions: tuple[Extension, ...]
    raw: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def parse_body(cls, r: Reader, raw: bytes) -> Self:
        context = r.opaque(1, what="CertificateRequest.certificate_request_context")
        extensions = parse_extensions(r, ExtensionContext.CERTIFICATE_REQUEST)
        r.expect_end("CertificateRequest")
        return cls(context, extensions, raw)

    def serialize_body(self, w: Writer) -> None:
        w.opaque(1, self.certificate_request_context)
        serialize_extensions(w, self.extensions)

    def get(self, cls: type[_E]) -> _E | None:
        """The first extension of class ``cls``, or ``None``."""
        return find_extension(self.extensions, cls)


@fast_init
@dataclass(frozen=True, slots=True)
class CertificateVerify:
    """RFC 8446 §4.4.3::

    struct {
        SignatureScheme algorithm;
        opaque signature<0..2^16-1>;
    } CertificateVerify;
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.CERTIFICATE_VERIFY
    algorithm: int
    signature: bytes
    raw: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def parse_body(cls, r: Reader, raw: bytes) -> Self:
        algorithm = r.u16("CertificateVerify.algorithm")
        signature = r.opaque(2, what="CertificateVerify.signature")
        r.expect_end("CertificateVerify")
        return cls(algorithm, signature, raw)

    def serialize_body(self, w: Writer) -> None:
        w.u16(self.algorithm)
        w.opaque(2, self.signature)


@fast_init
@dataclass(frozen=True, slots=True)
class Finished:
    """RFC 8446 §4.4.4 (the length, Hash.length, is checked by the state machine)::

    struct {
        opaque verify_data[Hash.length];
    } Finished;
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.FINISHED
    verify_data: bytes
    raw: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def parse_body(cls, r: Reader, raw: bytes) -> Self:
        return cls(r.rest(), raw)

    def serialize_body(self, w: Writer) -> None:
        w.bytes(self.verify_data)


@fast_init
@dataclass(frozen=True, slots=True)
class NewSessionTicket:
    """RFC 8446 §4.6.1::

    struct {
        uint32 ticket_lifetime;
        uint32 ticket_age_add;
        opaque ticket_nonce<0..255>;
        opaque ticket<1..2^16-1>;
        Extension extensions<0..2^16-2>;
    } NewSessionTicket;
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.NEW_SESSION_TICKET
    ticket_lifetime: int
    ticket_age_add: int
    ticket_nonce: bytes
    ticket: bytes
    extensions: tuple[Extension, ...]
    raw: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def parse_body(cls, r: Reader, raw: bytes) -> Self:
        lifetime = r.u32("NewSessionTicket.ticket_lifetime")
        age_add = r.u32("NewSessionTicket.ticket_age_add")
        nonce = r.opaque(1, what="NewSessionTicket.ticket_nonce")
        ticket = r.opaque(2, min=1, what="NewSessionTicket.ticket")
        extensions = parse_extensions(r, ExtensionContext.NEW_SESSION_TICKET)
        r.expect_end("NewSessionTicket")
        return cls(lifetime, age_add, nonce, ticket, extensions, raw)

    def serialize_body(self, w: Writer) -> None:
        w.u32(self.ticket_lifetime)
        w.u32(self.ticket_age_add)
        w.opaque(1, self.ticket_nonce)
        w.opaque(2, self.ticket)
        serialize_extensions(w, self.extensions)

    def get(self, cls: type[_E]) -> _E | None:
        """The first extension of class ``cls``, or ``None``."""
        return find_extension(self.extensions, cls)


@dataclass(frozen=True, slots=True)
class EndOfEarlyData:
    """RFC 8446 §4.5: ``struct {} EndOfEarlyData;``"""

    msg_type: ClassVar[HandshakeType] = HandshakeType.END_OF_EARLY_DATA
    raw: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def parse_body(cls, r: Reader, raw: bytes) -> Self:
        r.expect_end("EndOfEarlyData")
        return cls(raw)

    def serialize_body(self, w: Writer) -> None:
        """The body is empty."""


@dataclass(frozen=True, slots=True)
class KeyUpdate:
    """RFC 8446 §4.6.3 (a value other than 0 or 1 is an ``illegal_parameter``)::

    enum {
        update_not_requested(0), update_requested(1), (255)
    } KeyUpdateRequest;

    struct {
        KeyUpdateRequest request_update;
    } KeyUpdate;
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.KEY_UPDATE
    request_update: int
    raw: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def parse_body(cls, r: Reader, raw: bytes) -> Self:
        request_update = r.u8("KeyUpdate.request_update")
        r.expect_end("KeyUpdate")
        if request_update not in (0, 1):
            raise IllegalParameter(f"KeyUpdate.request_update {request_update} is not 0 or 1")
        return cls(request_update, raw)

    def serialize_body(self, w: Writer) -> None:
        w.u8(self.request_update)


def message_hash(digest: bytes) -> bytes:
    """The synthetic ``message_hash`` handshake message replacing ClientHello1 after a
    HelloRetryRequest (RFC 8446 §4.4.1): ``handshake_type 254 || uint24 len || Hash(CH1)``.
    """
    return bytes([HandshakeType.MESSAGE_HASH]) + len(digest).to_bytes(3, "big") + digest


# --- Messages encoded straight to bytes ---------------------------------------------------------
# The handshake states send these without building the message object; each gives the same bytes
# as ``encode_handshake`` of the object (the unit tests compare them).

_FINISHED = int(HandshakeType.FINISHED)
_CERTIFICATE_VERIFY = int(HandshakeType.CERTIFICATE_VERIFY)


def encode_finished(verify_data: bytes) -> bytes:
    """``encode_handshake(Finished(verify_data))`` (RFC 8446 §4.4.4)."""
    return frame_handshake(_FINISHED, verify_data)


def encode_certificate_verify(algorithm: int, signature: bytes) -> bytes:
    """``encode_handshake(CertificateVerify(algorithm, signature))`` (RFC 8446 §4.4.3)."""
    n = len(signature)
    if n > 0xFFFF:
        raise ValueError(f"a {n}-byte signature does not fit opaque signature<0..2^16-1>")
    return frame_handshake(
        _CERTIFICATE_VERIFY, bytes((algorithm >> 8, algorithm & 0xFF, n >> 8, n & 0xFF)) + signature
    )
