"""TLS 1.2 key exchange messages: ServerKeyExchange and ClientKeyExchange, with their bodies.

RFC 5246 §7.4.3 (ServerKeyExchange, DHE) and §7.4.7 (ClientKeyExchange, DHE); RFC 8422 §5.4 and
§5.7 (the ECDHE forms). Import them from :mod:`tlsmachine.messages.tls12` (or
:mod:`tlsmachine.messages`).

The key exchange messages depend on the negotiated cipher suite, which the parser does not know:
:class:`ServerKeyExchange` and :class:`ClientKeyExchange` keep their body as bytes, and the state
machine reads it in the negotiated form (:meth:`ServerKeyExchange.ecdhe`,
:meth:`ClientKeyExchange.ecdh_public`, ...), which is as strict as any other parser here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Self

from ..codec import Reader, Writer
from ..enums import HandshakeType
from ..errors import IllegalParameter
from ..fast_init import fast_init

#: ECCurveType named_curve (RFC 8422 §5.4): the only one left (explicit curves, 1 and 2, are
#: deprecated).
EC_CURVE_TYPE_NAMED_CURVE = 3


# --- ServerKeyExchange (RFC 5246 §7.4.3, RFC 8422 §5.4) ----------------------------------------


@fast_init
@dataclass(frozen=True, slots=True)
class EcdheServerKeyExchange:
    """The body of an ECDHE ServerKeyExchange, RFC 8422 §5.4::

        struct {
            ECCurveType    curve_type;
            select (curve_type) {
                case named_curve:
                    NamedCurve namedcurve;
            };
        } ECParameters;

        struct {
            opaque point <1..2^8-1>;
        } ECPoint;

        struct {
            ECParameters    curve_params;
            ECPoint         public;
        } ServerECDHParams;

        select (KeyExchangeAlgorithm) {
            case ec_diffie_hellman:
                ServerECDHParams    params;
                Signature           signed_params;
        } ServerKeyExchange;

    ``params`` is the encoded ServerECDHParams, which the signature covers after
    ``ClientHello.random + ServerHello.random``; ``algorithm`` and ``signature`` are the
    ``digitally-signed`` struct of RFC 5246 §4.7 (a SignatureScheme code point, then
    ``opaque signature<0..2^16-1>``).
    """

    named_curve: int
    public: bytes
    params: bytes
    algorithm: int
    signature: bytes


@dataclass(frozen=True, slots=True)
class DheServerKeyExchange:
    """The body of a DHE ServerKeyExchange, RFC 5246 §7.4.3::

        struct {
            opaque dh_p<1..2^16-1>;
            opaque dh_g<1..2^16-1>;
            opaque dh_Ys<1..2^16-1>;
        } ServerDHParams;     /* Ephemeral DH parameters */

        struct {
            select (KeyExchangeAlgorithm) {
                case dhe_dss:
                case dhe_rsa:
                    ServerDHParams params;
                    digitally-signed struct {
                        opaque client_random[32];
                        opaque server_random[32];
                        ServerDHParams params;
                    } signed_params;
                ...
            };
        } ServerKeyExchange;

    ``params`` is the encoded ServerDHParams (what is signed after the two randoms);
    ``algorithm`` and ``signature`` are the ``digitally-signed`` struct (RFC 5246 §4.7).
    """

    p: bytes
    g: bytes
    ys: bytes
    params: bytes
    algorithm: int
    signature: bytes


def _signed_params(r: Reader) -> tuple[int, bytes]:
    """The ``digitally-signed`` struct after the params (RFC 5246 §4.7, §7.4.1.4.1)::

    struct {
        SignatureAndHashAlgorithm algorithm;
        opaque signature<0..2^16-1>;
    } DigitallySigned;
    """
    algorithm = r.u16("ServerKeyExchange.signed_params.algorithm")
    signature = r.opaque(2, what="ServerKeyExchange.signed_params.signature")
    r.expect_end("ServerKeyExchange")
    return algorithm, signature


def _required(name: str, value: bytes, maximum: int) -> None:
    """A builder's check of ``opaque name<1..maximum>``."""
    if not 1 <= len(value) <= maximum:
        raise ValueError(f"{name}: {len(value)} bytes outside <1..{maximum}>")


def ecdhe_params(named_curve: int, public: bytes) -> bytes:
    """The encoded ServerECDHParams for ``named_curve`` (RFC 8422 §5.4): the ``params`` of
    :meth:`ServerKeyExchange.signed`."""
    _required("ServerECDHParams.public", public, 0xFF)
    w = Writer()
    w.u8(EC_CURVE_TYPE_NAMED_CURVE)
    w.u16(named_curve)
    w.opaque(1, public)
    return w.getvalue()


def dhe_params(p: bytes, g: bytes, ys: bytes) -> bytes:
    """The encoded ServerDHParams (RFC 5246 §7.4.3): the ``params`` of
    :meth:`ServerKeyExchange.signed`."""
    w = Writer()
    for name, value in (("dh_p", p), ("dh_g", g), ("dh_Ys", ys)):
        _required(f"ServerDHParams.{name}", value, 0xFFFF)
        w.opaque(2, value)
    return w.getvalue()


@fast_init
@dataclass(frozen=True, slots=True)
class ServerKeyExchange:
    """RFC 5246 §7.4.3, RFC 8422 §5.4: ``params`` then ``signed_params``, whose form depends on
    the negotiated key exchange.

    ``body`` is kept as received; :meth:`ecdhe` and :meth:`dhe` read it strictly in one form
    (truncation or trailing bytes are ``decode_error``, an explicit curve is
    ``illegal_parameter``). :meth:`signed` builds one from :func:`ecdhe_params` or
    :func:`dhe_params` and the signature over them.
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.SERVER_KEY_EXCHANGE
    body: bytes
    raw: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def parse_body(cls, r: Reader, raw: bytes) -> Self:
        return cls(r.rest(), raw)

    def serialize_body(self, w: Writer) -> None:
        w.bytes(self.body)

    @classmethod
    def signed(cls, params: bytes, algorithm: int, signature: bytes) -> Self:
        """``params`` followed by the ``digitally-signed`` struct (RFC 5246 §4.7)."""
        w = Writer()
        w.bytes(params)
        w.u16(algorithm)
        w.opaque(2, signature)
        return cls(w.getvalue())

    def ecdhe(self) -> EcdheServerKeyExchange:
        """Read the body as ServerECDHParams and signed_params (RFC 8422 §5.4)."""
        r = Reader(self.body)
        curve_type = r.u8("ECParameters.curve_type")
        if curve_type != EC_CURVE_TYPE_NAMED_CURVE:
            raise IllegalParameter(
                f"ServerKeyExchange: ECCurveType {curve_type} is not named_curve(3) "
                "(RFC 8422 §5.4: explicit curves are deprecated)"
            )
        named_curve = r.u16("ECParameters.namedcurve")
        public = r.opaque(1, min=1, max=0xFF, what="ServerECDHParams.public")
        params = self.body[: r.position]
        algorithm, signature = _signed_params(r)
        return EcdheServerKeyExchange(named_curve, public, params, algorithm, signature)

    def dhe(self) -> DheServerKeyExchange:
        """Read the body as ServerDHParams and signed_params (RFC 5246 §7.4.3)."""
        r = Reader(self.body)
        p = r.opaque(2, min=1, max=0xFFFF, what="ServerDHParams.dh_p")
        g = r.opaque(2, min=1, max=0xFFFF, what="ServerDHParams.dh_g")
        ys = r.opaque(2, min=1, max=0xFFFF, what="ServerDHParams.dh_Ys")
        params = self.body[: r.position]
        algorithm, signature = _signed_params(r)
        return DheServerKeyExchange(p, g, ys, params, algorithm, signature)


# --- ClientKeyExchange (RFC 5246 §7.4.7, RFC 8422 §5.7) ----------------------------------------


@fast_init
@dataclass(frozen=True, slots=True)
class ClientKeyExchange:
    """RFC 5246 §7.4.7: ``exchange_keys``, whose form depends on the negotiated key exchange.

    ECDHE, RFC 8422 §5.7 (only the explicit encoding: there are no fixed-ECDH certificates)::

        struct {
            select (PublicValueEncoding) {
                case implicit: struct { };
                case explicit: ECPoint ecdh_Yc;
            } ecdh_public;
        } ClientECDiffieHellmanPublic;

    DHE, RFC 5246 §7.4.7.2::

        struct {
            select (PublicValueEncoding) {
                case implicit: struct { };
                case explicit: opaque dh_Yc<1..2^16-1>;
            } dh_public;
        } ClientDiffieHellmanPublic;

    ``body`` is kept as received; :meth:`ecdh_public` and :meth:`dh_public` read it strictly.
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.CLIENT_KEY_EXCHANGE
    body: bytes
    raw: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def parse_body(cls, r: Reader, raw: bytes) -> Self:
        return cls(r.rest(), raw)

    def serialize_body(self, w: Writer) -> None:
        w.bytes(self.body)

    @classmethod
    def for_ecdhe(cls, public: bytes) -> Self:
        """The ECDHE form: ``ECPoint ecdh_Yc`` (``opaque point<1..2^8-1>``)."""
        _required("ECPoint.point", public, 0xFF)
        return cls(bytes((len(public),)) + public)

    @classmethod
    def for_dhe(cls, public: bytes) -> Self:
        """The DHE form: ``opaque dh_Yc<1..2^16-1>``."""
        _required("ClientDiffieHellmanPublic.dh_Yc", public, 0xFFFF)
        return cls(len(public).to_bytes(2, "big") + public)

    def ecdh_public(self) -> bytes:
        """The client's ephemeral ECDH public key (the body as ``ECPoint ecdh_Yc``)."""
        r = Reader(self.body)
        public = r.opaque(1, min=1, max=0xFF, what="ClientECDiffieHellmanPublic.ecdh_Yc")
        r.expect_end("ClientKeyExchange")
        return public

    def dh_public(self) -> bytes:
        """The client's ephemeral DH public value (the body as ``opaque dh_Yc<1..2^16-1>``)."""
        r = Reader(self.body)
        public = r.opaque(2, min=1, max=0xFFFF, what="ClientDiffieHellmanPublic.dh_Yc")
        r.expect_end("ClientKeyExchange")
        return public
