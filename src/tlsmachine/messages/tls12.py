"""TLS 1.2 handshake messages that TLS 1.3 does not share.

RFC 5246 §7.1 (ChangeCipherSpec), §7.4.1.1 (HelloRequest), §7.4.2 (Certificate), §7.4.3
(ServerKeyExchange, DHE), §7.4.4 (CertificateRequest), §7.4.5 (ServerHelloDone), §7.4.7
(ClientKeyExchange, DHE); RFC 8422 §5.4 and §5.7 (the ECDHE forms of the key exchange messages);
RFC 5077 §3.3 (NewSessionTicket).

CertificateVerify (RFC 5246 §7.4.8: a ``digitally-signed`` struct, i.e. a
SignatureAndHashAlgorithm and an ``opaque signature<0..2^16-1>``) and Finished (§7.4.9:
``opaque verify_data[verify_data_length]``) have the TLS 1.3 wire form: use
:class:`~tlsmachine.messages.tls13.CertificateVerify` and
:class:`~tlsmachine.messages.tls13.Finished`.

The key exchange messages (:class:`ServerKeyExchange` with :func:`ecdhe_params` and
:func:`dhe_params`, :class:`ClientKeyExchange`) are defined in
:mod:`tlsmachine.messages.tls12_key_exchange`, and re-exported here with the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Self

from ..codec import Reader, Writer
from ..enums import HandshakeType
from ..fast_init import fast_init
from .tls12_key_exchange import (
    EC_CURVE_TYPE_NAMED_CURVE,
    ClientKeyExchange,
    DheServerKeyExchange,
    EcdheServerKeyExchange,
    ServerKeyExchange,
    dhe_params,
    ecdhe_params,
)

__all__ = [
    "CERTIFICATE_TYPE_ECDSA_SIGN",
    "CERTIFICATE_TYPE_RSA_SIGN",
    "CHANGE_CIPHER_SPEC",
    "EC_CURVE_TYPE_NAMED_CURVE",
    "Certificate12",
    "CertificateRequest12",
    "ChangeCipherSpec",
    "ClientKeyExchange",
    "DheServerKeyExchange",
    "EcdheServerKeyExchange",
    "HelloRequest",
    "NewSessionTicket12",
    "ServerHelloDone",
    "ServerKeyExchange",
    "dhe_params",
    "ecdhe_params",
]

#: ClientCertificateType rsa_sign (RFC 5246 §7.4.4).
CERTIFICATE_TYPE_RSA_SIGN = 1
#: ClientCertificateType ecdsa_sign (RFC 8422 §5.5).
CERTIFICATE_TYPE_ECDSA_SIGN = 64


@dataclass(frozen=True, slots=True)
class HelloRequest:
    """RFC 5246 §7.4.1.1: ``struct { } HelloRequest;``"""

    msg_type: ClassVar[HandshakeType] = HandshakeType.HELLO_REQUEST
    raw: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def parse_body(cls, r: Reader, raw: bytes) -> Self:
        r.expect_end("HelloRequest")
        return cls(raw)

    def serialize_body(self, w: Writer) -> None:
        """The body is empty."""


@fast_init
@dataclass(frozen=True, slots=True)
class Certificate12:
    """RFC 5246 §7.4.2 (also the client's Certificate, §7.4.6)::

    opaque ASN.1Cert<1..2^24-1>;

    struct {
        ASN.1Cert certificate_list<0..2^24-1>;
    } Certificate;

    Each entry is a DER certificate, the sender's first. Unlike the TLS 1.3 :class:`Certificate`
    there is no request context and there are no per-entry extensions.
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.CERTIFICATE
    certificate_list: tuple[bytes, ...]
    raw: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def parse_body(cls, r: Reader, raw: bytes) -> Self:
        body = r.vector(3, what="Certificate.certificate_list")
        certificates: list[bytes] = []
        while not body.at_end():
            certificates.append(body.opaque(3, min=1, max=0xFFFFFF, what="ASN.1Cert"))
        r.expect_end("Certificate")
        return cls(tuple(certificates), raw)

    def serialize_body(self, w: Writer) -> None:
        start = w.begin_vector(3)
        for certificate in self.certificate_list:
            w.opaque(3, certificate)
        w.end_vector(start, 3)


# --- CertificateRequest, ServerHelloDone (RFC 5246 §7.4.4, §7.4.5) -----------------------------


@dataclass(frozen=True, slots=True)
class CertificateRequest12:
    """RFC 5246 §7.4.4 (``ecdsa_sign(64)`` from RFC 8422 §5.5)::

        enum {
            rsa_sign(1), dss_sign(2), rsa_fixed_dh(3), dss_fixed_dh(4),
            rsa_ephemeral_dh_RESERVED(5), dss_ephemeral_dh_RESERVED(6),
            fortezza_dms_RESERVED(20), (255)
        } ClientCertificateType;

        opaque DistinguishedName<1..2^16-1>;

        struct {
            ClientCertificateType certificate_types<1..2^8-1>;
            SignatureAndHashAlgorithm
              supported_signature_algorithms<2^16-1>;
            DistinguishedName certificate_authorities<0..2^16-1>;
        } CertificateRequest;

    supported_signature_algorithms is read as ``<2..2^16-2>``, the bounds of the
    signature_algorithms extension (RFC 5246 §7.4.1.4.1), of SignatureScheme code points.
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.CERTIFICATE_REQUEST
    certificate_types: bytes
    supported_signature_algorithms: tuple[int, ...]
    certificate_authorities: tuple[bytes, ...]
    raw: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def parse_body(cls, r: Reader, raw: bytes) -> Self:
        types = r.opaque(1, min=1, max=0xFF, what="CertificateRequest.certificate_types")
        algorithms = r.u16_tuple(
            2, min=2, max=0xFFFE, what="CertificateRequest.supported_signature_algorithms"
        )
        body = r.vector(2, what="CertificateRequest.certificate_authorities")
        authorities: list[bytes] = []
        while not body.at_end():
            authorities.append(body.opaque(2, min=1, max=0xFFFF, what="DistinguishedName"))
        r.expect_end("CertificateRequest")
        return cls(types, algorithms, tuple(authorities), raw)

    def serialize_body(self, w: Writer) -> None:
        w.opaque(1, self.certificate_types)
        w.u16_list(2, self.supported_signature_algorithms)
        start = w.begin_vector(2)
        for name in self.certificate_authorities:
            w.opaque(2, name)
        w.end_vector(start, 2)


@fast_init
@dataclass(frozen=True, slots=True)
class ServerHelloDone:
    """RFC 5246 §7.4.5: ``struct { } ServerHelloDone;``"""

    msg_type: ClassVar[HandshakeType] = HandshakeType.SERVER_HELLO_DONE
    raw: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def parse_body(cls, r: Reader, raw: bytes) -> Self:
        r.expect_end("ServerHelloDone")
        return cls(raw)

    def serialize_body(self, w: Writer) -> None:
        """The body is empty."""


# --- NewSessionTicket (RFC 5077 §3.3), ChangeCipherSpec (RFC 5246 §7.1) -------------------------


@dataclass(frozen=True, slots=True)
class NewSessionTicket12:
    """RFC 5077 §3.3 (a zero-length ticket means the server issues none after all)::

    struct {
        uint32 ticket_lifetime_hint;
        opaque ticket<0..2^16-1>;
    } NewSessionTicket;
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.NEW_SESSION_TICKET
    ticket_lifetime_hint: int
    ticket: bytes
    raw: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def parse_body(cls, r: Reader, raw: bytes) -> Self:
        lifetime_hint = r.u32("NewSessionTicket.ticket_lifetime_hint")
        ticket = r.opaque(2, what="NewSessionTicket.ticket")
        r.expect_end("NewSessionTicket")
        return cls(lifetime_hint, ticket, raw)

    def serialize_body(self, w: Writer) -> None:
        w.u32(self.ticket_lifetime_hint)
        w.opaque(2, self.ticket)


@dataclass(frozen=True, slots=True)
class ChangeCipherSpec:
    """RFC 5246 §7.1::

        struct {
            enum { change_cipher_spec(1), (255) } type;
        } ChangeCipherSpec;

    Not a handshake message: it has its own content type, is never framed by
    ``encode_handshake`` nor parsed by ``decode_handshake``, and is not part of the transcript.
    The record layer checks its one-byte payload; the state machines receive this pseudo-message
    (:data:`CHANGE_CIPHER_SPEC`) where the handshake expects it.
    """

    msg_type: ClassVar[None] = None


#: The ChangeCipherSpec pseudo-message handed to the TLS 1.2 state machines.
CHANGE_CIPHER_SPEC = ChangeCipherSpec()
