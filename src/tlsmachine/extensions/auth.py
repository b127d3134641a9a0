"""The extensions that say how a peer may authenticate with a certificate:
signature_algorithms and signature_algorithms_cert (RFC 8446 §4.2.3), certificate_authorities
(§4.2.4) and post_handshake_auth (§4.2.6). They travel in the ClientHello and the
CertificateRequest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from ..codec import Reader, Writer
from ..enums import ExtensionType
from ..fast_init import fast_init
from .base import ExtensionContext, _items

# --- signature_algorithms, signature_algorithms_cert (RFC 8446 §4.2.3) ------------------------


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


@fast_init
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
