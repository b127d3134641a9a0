"""Key exchange groups for TLS 1.3 key_share (RFC 8446 §4.2.7, §4.2.8, §7.4).

* x25519, x448 (RFC 7748): key_exchange is the raw 32/56-byte public key. RFC 8446 §7.4.2:
  implementations "MUST check whether the computed Diffie-Hellman shared secret is the all-zero
  value and abort if so"; pyca/OpenSSL refuses to return it and we check again.
* secp256r1, secp384r1, secp521r1 (RFC 8446 §4.2.8.2, RFC 8422): key_exchange is the
  UncompressedPointRepresentation ``0x04 || X || Y`` with X and Y of the field size; any other
  length or form, or a point not on the curve, is rejected. The shared secret is the
  x-coordinate of the ECDH result, field-size bytes (§7.4.2).
* ffdhe2048..ffdhe8192 (RFC 7919 primes, generator 2): key_exchange is Y left-padded to the
  prime's length (§4.2.8.1); RFC 7919 §5.1: reject unless 1 < Y < p-1. The shared secret is
  left-padded to the prime's length (§7.4.1). pyca/cryptography 50 deprecates finite-field DH
  (it warns on first attribute access of ``dh.*``); we take the names once at import, silently,
  and register no ffdhe group if a future pyca removes them.

An invalid peer share raises :class:`IllegalParameter` (alert ``illegal_parameter``, §4.2.8).

``Group.respond(peer_share)`` is the server side: for Diffie-Hellman groups it generates (or
takes the injected) private share and returns ``(our key_exchange, shared secret)``. KEM groups
(:mod:`tlsmachine.crypto.kem`: the ECDHE-MLKEM hybrids of draft-ietf-tls-ecdhe-mlkem and pure
ML-KEM) set ``Group.kem`` and override ``respond()`` to encapsulate against the client's share
and return the ciphertext; the server then has no key pair of its own to generate or inject.
Their ``PrivateKeyShare.exchange()`` (the client side) decapsulates. KEM groups are TLS 1.3
only: TLS 1.2 ECDHE runs on the RFC 8422 curves (``ecdhe12_group``).
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import ClassVar

from cryptography.hazmat.primitives.asymmetric import dh, ec, x448, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.utils import CryptographyDeprecationWarning

from ..enums import NamedGroup
from ..errors import IllegalParameter, InternalError
from .dh_primes import (
    FFDHE2048_PRIME,
    FFDHE3072_PRIME,
    FFDHE4096_PRIME,
    FFDHE6144_PRIME,
    FFDHE8192_PRIME,
    MODP2048_PRIME,
    MODP3072_PRIME,
    MODP4096_PRIME,
)

with warnings.catch_warnings():  # import time only: see the module docstring
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    try:
        _DHParameterNumbers = dh.DHParameterNumbers
        _DHPublicNumbers = dh.DHPublicNumbers
        _DHPrivateNumbers = dh.DHPrivateNumbers
        _HAVE_FFDH = True
    except AttributeError:  # pragma: no cover - a pyca without finite-field DH
        _HAVE_FFDH = False


class PrivateKeyShare(ABC):
    """Our private key for one group; ``public_bytes`` is the key_exchange we send."""

    __slots__ = ("group", "public_bytes")

    def __init__(self, group: Group, public_bytes: bytes) -> None:
        self.group = group
        self.public_bytes = public_bytes

    @abstractmethod
    def exchange(self, peer_share: bytes) -> bytes:
        """The shared secret with the peer's key_exchange; invalid -> IllegalParameter."""

    def __repr__(self) -> str:  # never shows the private key
        return f"<{type(self).__name__} {self.group.name} public={self.public_bytes[:8].hex()}...>"


@dataclass(frozen=True, slots=True)
class Group(ABC):
    """A NamedGroup we can use in key_share (RFC 8446 §4.2.7)."""

    id: int
    name: str

    kem: ClassVar[bool] = False
    """A key encapsulation group (ML-KEM, alone or hybrid): the server answers with
    :meth:`respond` (encapsulation) and never generates a key pair; TLS 1.3 only."""

    @abstractmethod
    def generate(self) -> PrivateKeyShare:
        """A fresh private share (pyca draws the randomness)."""

    @abstractmethod
    def from_private_bytes(self, data: bytes) -> PrivateKeyShare:
        """A share from a known private key (tests, RFC 8448 replays): raw x25519/x448 bytes,
        the big-endian EC scalar of field size, or the big-endian ffdhe exponent."""

    def respond(
        self, peer_share: bytes, private: PrivateKeyShare | None = None
    ) -> tuple[bytes, bytes]:
        """Server side: ``(our key_exchange, shared secret)`` for the client's share.

        KEM groups override this (encapsulation); Diffie-Hellman groups use ``private`` (or
        generate one) and exchange.
        """
        if private is None:
            private = self.generate()
        elif private.group != self:
            raise InternalError(f"respond: a {private.group.name} share used for {self.name}")
        return private.public_bytes, private.exchange(peer_share)

    def __str__(self) -> str:
        return self.name


def _bad(group: Group, problem: str) -> IllegalParameter:
    return IllegalParameter(f"{group.name} key share: {problem}")


def _check_length(group: Group, share: bytes, expected: int) -> None:
    if len(share) != expected:
        raise _bad(group, f"{len(share)} bytes, expected {expected}")


# --- x25519 / x448 (RFC 7748, RFC 8446 §7.4.2) --------------------------------------------


class _X25519Share(PrivateKeyShare):
    __slots__ = ("_key",)

    def __init__(self, group: Group, key: x25519.X25519PrivateKey) -> None:
        super().__init__(group, key.public_key().public_bytes_raw())
        self._key = key

    def exchange(self, peer_share: bytes) -> bytes:
        _check_length(self.group, peer_share, 32)
        try:
            secret = self._key.exchange(x25519.X25519PublicKey.from_public_bytes(peer_share))
        except ValueError:  # OpenSSL refuses the all-zero result (small-order point)
            secret = bytes(32)
        if not any(secret):  # RFC 8446 §7.4.2: MUST check for the all-zero shared secret
            raise _bad(self.group, "shared secret is all zeros (small-order point)")
        return secret


class _X448Share(PrivateKeyShare):
    __slots__ = ("_key",)

    def __init__(self, group: Group, key: x448.X448PrivateKey) -> None:
        super().__init__(group, key.public_key().public_bytes_raw())
        self._key = key

    def exchange(self, peer_share: bytes) -> bytes:
        _check_length(self.group, peer_share, 56)
        try:
            secret = self._key.exchange(x448.X448PublicKey.from_public_bytes(peer_share))
        except ValueError:  # OpenSSL refuses the all-zero result (small-order point)
            secret = bytes(56)
        if not any(secret):  # RFC 8446 §7.4.2: MUST check for the all-zero shared secret
            raise _bad(self.group, "shared secret is all zeros (small-order point)")
        return secret


@dataclass(frozen=True, slots=True)
class _X25519Group(Group):
    def generate(self) -> PrivateKeyShare:
        return _X25519Share(self, x25519.X25519PrivateKey.generate())

    def from_private_bytes(self, data: bytes) -> PrivateKeyShare:
        return _X25519Share(self, x25519.X25519PrivateKey.from_private_bytes(data))


@dataclass(frozen=True, slots=True)
class _X448Group(Group):
    def generate(self) -> PrivateKeyShare:
        return _X448Share(self, x448.X448PrivateKey.generate())

    def from_private_bytes(self, data: bytes) -> PrivateKeyShare:
        return _X448Share(self, x448.X448PrivateKey.from_private_bytes(data))


# --- NIST curves (RFC 8446 §4.2.8.2, §7.4.2) ----------------------------------------------

_UNCOMPRESSED = 0x04  # UncompressedPointRepresentation.legacy_form


class _ECShare(PrivateKeyShare):
    __slots__ = ("_ec_group", "_key")

    def __init__(self, group: ECGroup, key: ec.EllipticCurvePrivateKey) -> None:
        public = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        super().__init__(group, public)
        self._ec_group = group
        self._key = key

    def exchange(self, peer_share: bytes) -> bytes:
        group = self._ec_group
        _check_length(group, peer_share, 1 + 2 * group.coordinate_len)
        # RFC 8446 §4.2.8.2: only the uncompressed form (legacy_form = 4) is allowed
        if peer_share[0] != _UNCOMPRESSED:
            raise _bad(group, f"point format 0x{peer_share[0]:02x}, only uncompressed (0x04)")
        try:
            peer = ec.EllipticCurvePublicKey.from_encoded_point(group.curve, peer_share)
        except ValueError:
            raise _bad(group, "not a point on the curve") from None
        return self._key.exchange(ec.ECDH(), peer)  # the x-coordinate, field-size bytes


@dataclass(frozen=True, slots=True)
class ECGroup(Group):
    """A NIST prime curve (secp256r1, secp384r1, secp521r1)."""

    curve: ec.EllipticCurve = field(compare=False, repr=False)
    coordinate_len: int

    def generate(self) -> PrivateKeyShare:
        return _ECShare(self, ec.generate_private_key(self.curve))

    def from_private_bytes(self, data: bytes) -> PrivateKeyShare:
        if len(data) != self.coordinate_len:
            raise ValueError(f"{self.name} private scalar must be {self.coordinate_len} bytes")
        return _ECShare(self, ec.derive_private_key(int.from_bytes(data, "big"), self.curve))


# --- Finite-field groups (RFC 7919, RFC 8446 §4.2.8.1, §7.4.1) ----------------------------


@cache
def _dh_parameter_numbers(p: int) -> dh.DHParameterNumbers:
    return _DHParameterNumbers(p, 2)


class _FFDHEShare(PrivateKeyShare):
    __slots__ = ("_dh_group", "_key")

    def __init__(self, group: FFDHEGroup, key: dh.DHPrivateKey) -> None:
        y = key.public_key().public_numbers().y
        super().__init__(group, y.to_bytes(group.prime_len, "big"))  # left-padded (§4.2.8.1)
        self._dh_group = group
        self._key = key

    def exchange(self, peer_share: bytes) -> bytes:
        group = self._dh_group
        _check_length(group, peer_share, group.prime_len)
        y = int.from_bytes(peer_share, "big")
        if not 1 < y < group.p - 1:  # RFC 7919 §5.1: reject Y <= 1 and Y >= p-1
            raise _bad(group, "Y is not in 2..p-2")
        try:
            peer = _DHPublicNumbers(y, _dh_parameter_numbers(group.p)).public_key()
            secret = self._key.exchange(peer)
        except ValueError:
            raise _bad(group, "invalid public value") from None
        return secret.rjust(group.prime_len, b"\x00")  # RFC 8446 §7.4.1: left-padded to p


FFDHE_CODEPOINTS = range(0x0100, 0x0200)
"""RFC 7919 §2: the NamedGroup values of finite-field groups (known to us or not)."""


@dataclass(frozen=True, slots=True)
class FFDHEGroup(Group):
    """An RFC 7919 finite-field group with generator 2."""

    p: int = field(repr=False)

    @property
    def prime_len(self) -> int:
        return (self.p.bit_length() + 7) // 8

    def generate(self) -> PrivateKeyShare:
        params = _dh_parameter_numbers(self.p).parameters()
        return _FFDHEShare(self, params.generate_private_key())

    def from_private_bytes(self, data: bytes) -> PrivateKeyShare:
        x = int.from_bytes(data, "big")
        public = _DHPublicNumbers(pow(2, x, self.p), _dh_parameter_numbers(self.p))
        return _FFDHEShare(self, _DHPrivateNumbers(x, public).private_key())


# --- Registry ------------------------------------------------------------------------------

X25519: Group = _X25519Group(NamedGroup.X25519, "x25519")
X448: Group = _X448Group(NamedGroup.X448, "x448")
SECP256R1: ECGroup = ECGroup(NamedGroup.SECP256R1, "secp256r1", ec.SECP256R1(), 32)
SECP384R1: ECGroup = ECGroup(NamedGroup.SECP384R1, "secp384r1", ec.SECP384R1(), 48)
SECP521R1: ECGroup = ECGroup(NamedGroup.SECP521R1, "secp521r1", ec.SECP521R1(), 66)
FFDHE2048 = FFDHEGroup(NamedGroup.FFDHE2048, "ffdhe2048", FFDHE2048_PRIME)
FFDHE3072 = FFDHEGroup(NamedGroup.FFDHE3072, "ffdhe3072", FFDHE3072_PRIME)
FFDHE4096 = FFDHEGroup(NamedGroup.FFDHE4096, "ffdhe4096", FFDHE4096_PRIME)
FFDHE6144 = FFDHEGroup(NamedGroup.FFDHE6144, "ffdhe6144", FFDHE6144_PRIME)
FFDHE8192 = FFDHEGroup(NamedGroup.FFDHE8192, "ffdhe8192", FFDHE8192_PRIME)

# The KEM groups build on the classes and curves above: kem imports this module, so this import
# stays below everything kem needs (the package imports groups first, via config).
from .kem import KEM_GROUPS, X25519MLKEM768  # noqa: E402

_FFDHE_GROUPS = (FFDHE2048, FFDHE3072, FFDHE4096, FFDHE6144, FFDHE8192) if _HAVE_FFDH else ()
#: Every group we implement, by code point.
GROUPS: Mapping[int, Group] = {
    g.id: g for g in (X25519, X448, SECP256R1, SECP384R1, SECP521R1, *_FFDHE_GROUPS, *KEM_GROUPS)
}
#: Offered in supported_groups by default, in preference order: the X25519MLKEM768 hybrid first
#: (draft-ietf-tls-ecdhe-mlkem; post-quantum, with X25519 as the classical safety net), then the
#: classical groups. ffdhe2048/3072 come last: the TLS 1.2 DHE suites need them (RFC 7919 §3),
#: and TLS 1.3 may use them (RFC 8446 §4.2.7), but the elliptic curves are faster at a higher
#: security level. The NIST-curve hybrids and pure ML-KEM are available but not offered.
DEFAULT_GROUPS: tuple[Group, ...] = (
    *((X25519MLKEM768,) if X25519MLKEM768 in KEM_GROUPS else ()),
    X25519,
    SECP256R1,
    X448,
    SECP384R1,
    SECP521R1,
    *_FFDHE_GROUPS[:2],
)


#: RFC 3526 groups by prime, for :func:`known_dhe_group` (no NamedGroup code point: id 0).
LEGACY_DHE_GROUPS: tuple[FFDHEGroup, ...] = (
    tuple(
        FFDHEGroup(0, f"modp{bits}", prime)
        for bits, prime in ((2048, MODP2048_PRIME), (3072, MODP3072_PRIME), (4096, MODP4096_PRIME))
    )
    if _HAVE_FFDH
    else ()
)


def group_by_id(group_id: int) -> Group | None:
    """The group with this NamedGroup code point, or ``None`` if we do not implement it."""
    return GROUPS.get(group_id)


def ecdhe12_group(group: Group) -> bool:
    """Usable for TLS 1.2 ECDHE: an elliptic curve of RFC 8422 §5.1.1 (code points below
    0x0100). Not the FFDHE groups (RFC 7919, DHE suites) and never a KEM group
    (draft-ietf-tls-ecdhe-mlkem is for TLS 1.3 only)."""
    return group.id < 0x0100 and not group.kem
