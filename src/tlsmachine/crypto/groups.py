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


# RFC 7919 Appendix A moduli (hex), generator g = 2.
_FFDHE2048 = (
    "ffffffffffffffffadf85458a2bb4a9aafdc5620273d3cf1d8b9c583ce2d3695a9e13641146433fbcc939dce"
    "249b3ef97d2fe363630c75d8f681b202aec4617ad3df1ed5d5fd65612433f51f5f066ed0856365553ded1af3"
    "b557135e7f57c935984f0c70e0e68b77e2a689daf3efe8721df158a136ade73530acca4f483a797abc0ab182"
    "b324fb61d108a94bb2c8e3fbb96adab760d7f4681d4f42a3de394df4ae56ede76372bb190b07a7c8ee0a6d70"
    "9e02fce1cdf7e2ecc03404cd28342f619172fe9ce98583ff8e4f1232eef28183c3fe3b1b4c6fad733bb5fcbc"
    "2ec22005c58ef1837d1683b2c6f34a26c1b2effa886b423861285c97ffffffffffffffff"
)
_FFDHE3072 = (
    "ffffffffffffffffadf85458a2bb4a9aafdc5620273d3cf1d8b9c583ce2d3695a9e13641146433fbcc939dce"
    "249b3ef97d2fe363630c75d8f681b202aec4617ad3df1ed5d5fd65612433f51f5f066ed0856365553ded1af3"
    "b557135e7f57c935984f0c70e0e68b77e2a689daf3efe8721df158a136ade73530acca4f483a797abc0ab182"
    "b324fb61d108a94bb2c8e3fbb96adab760d7f4681d4f42a3de394df4ae56ede76372bb190b07a7c8ee0a6d70"
    "9e02fce1cdf7e2ecc03404cd28342f619172fe9ce98583ff8e4f1232eef28183c3fe3b1b4c6fad733bb5fcbc"
    "2ec22005c58ef1837d1683b2c6f34a26c1b2effa886b4238611fcfdcde355b3b6519035bbc34f4def99c0238"
    "61b46fc9d6e6c9077ad91d2691f7f7ee598cb0fac186d91caefe130985139270b4130c93bc437944f4fd4452"
    "e2d74dd364f2e21e71f54bff5cae82ab9c9df69ee86d2bc522363a0dabc521979b0deada1dbf9a42d5c4484e"
    "0abcd06bfa53ddef3c1b20ee3fd59d7c25e41d2b66c62e37ffffffffffffffff"
)
_FFDHE4096 = (
    "ffffffffffffffffadf85458a2bb4a9aafdc5620273d3cf1d8b9c583ce2d3695a9e13641146433fbcc939dce"
    "249b3ef97d2fe363630c75d8f681b202aec4617ad3df1ed5d5fd65612433f51f5f066ed0856365553ded1af3"
    "b557135e7f57c935984f0c70e0e68b77e2a689daf3efe8721df158a136ade73530acca4f483a797abc0ab182"
    "b324fb61d108a94bb2c8e3fbb96adab760d7f4681d4f42a3de394df4ae56ede76372bb190b07a7c8ee0a6d70"
    "9e02fce1cdf7e2ecc03404cd28342f619172fe9ce98583ff8e4f1232eef28183c3fe3b1b4c6fad733bb5fcbc"
    "2ec22005c58ef1837d1683b2c6f34a26c1b2effa886b4238611fcfdcde355b3b6519035bbc34f4def99c0238"
    "61b46fc9d6e6c9077ad91d2691f7f7ee598cb0fac186d91caefe130985139270b4130c93bc437944f4fd4452"
    "e2d74dd364f2e21e71f54bff5cae82ab9c9df69ee86d2bc522363a0dabc521979b0deada1dbf9a42d5c4484e"
    "0abcd06bfa53ddef3c1b20ee3fd59d7c25e41d2b669e1ef16e6f52c3164df4fb7930e9e4e58857b6ac7d5f42"
    "d69f6d187763cf1d5503400487f55ba57e31cc7a7135c886efb4318aed6a1e012d9e6832a907600a918130c4"
    "6dc778f971ad0038092999a333cb8b7a1a1db93d7140003c2a4ecea9f98d0acc0a8291cdcec97dcf8ec9b55a"
    "7f88a46b4db5a851f44182e1c68a007e5e655f6affffffffffffffff"
)
_FFDHE6144 = (
    "ffffffffffffffffadf85458a2bb4a9aafdc5620273d3cf1d8b9c583ce2d3695a9e13641146433fbcc939dce"
    "249b3ef97d2fe363630c75d8f681b202aec4617ad3df1ed5d5fd65612433f51f5f066ed0856365553ded1af3"
    "b557135e7f57c935984f0c70e0e68b77e2a689daf3efe8721df158a136ade73530acca4f483a797abc0ab182"
    "b324fb61d108a94bb2c8e3fbb96adab760d7f4681d4f42a3de394df4ae56ede76372bb190b07a7c8ee0a6d70"
    "9e02fce1cdf7e2ecc03404cd28342f619172fe9ce98583ff8e4f1232eef28183c3fe3b1b4c6fad733bb5fcbc"
    "2ec22005c58ef1837d1683b2c6f34a26c1b2effa886b4238611fcfdcde355b3b6519035bbc34f4def99c0238"
    "61b46fc9d6e6c9077ad91d2691f7f7ee598cb0fac186d91caefe130985139270b4130c93bc437944f4fd4452"
    "e2d74dd364f2e21e71f54bff5cae82ab9c9df69ee86d2bc522363a0dabc521979b0deada1dbf9a42d5c4484e"
    "0abcd06bfa53ddef3c1b20ee3fd59d7c25e41d2b669e1ef16e6f52c3164df4fb7930e9e4e58857b6ac7d5f42"
    "d69f6d187763cf1d5503400487f55ba57e31cc7a7135c886efb4318aed6a1e012d9e6832a907600a918130c4"
    "6dc778f971ad0038092999a333cb8b7a1a1db93d7140003c2a4ecea9f98d0acc0a8291cdcec97dcf8ec9b55a"
    "7f88a46b4db5a851f44182e1c68a007e5e0dd9020bfd64b645036c7a4e677d2c38532a3a23ba4442caf53ea6"
    "3bb454329b7624c8917bdd64b1c0fd4cb38e8c334c701c3acdad0657fccfec719b1f5c3e4e46041f388147fb"
    "4cfdb477a52471f7a9a96910b855322edb6340d8a00ef092350511e30abec1fff9e3a26e7fb29f8c183023c3"
    "587e38da0077d9b4763e4e4b94b2bbc194c6651e77caf992eeaac0232a281bf6b3a739c1226116820ae8db58"
    "47a67cbef9c9091b462d538cd72b03746ae77f5e62292c311562a846505dc82db854338ae49f5235c95b9117"
    "8ccf2dd5cacef403ec9d1810c6272b045b3b71f9dc6b80d63fdd4a8e9adb1e6962a69526d43161c1a41d570d"
    "7938dad4a40e329cd0e40e65ffffffffffffffff"
)
_FFDHE8192 = (
    "ffffffffffffffffadf85458a2bb4a9aafdc5620273d3cf1d8b9c583ce2d3695a9e13641146433fbcc939dce"
    "249b3ef97d2fe363630c75d8f681b202aec4617ad3df1ed5d5fd65612433f51f5f066ed0856365553ded1af3"
    "b557135e7f57c935984f0c70e0e68b77e2a689daf3efe8721df158a136ade73530acca4f483a797abc0ab182"
    "b324fb61d108a94bb2c8e3fbb96adab760d7f4681d4f42a3de394df4ae56ede76372bb190b07a7c8ee0a6d70"
    "9e02fce1cdf7e2ecc03404cd28342f619172fe9ce98583ff8e4f1232eef28183c3fe3b1b4c6fad733bb5fcbc"
    "2ec22005c58ef1837d1683b2c6f34a26c1b2effa886b4238611fcfdcde355b3b6519035bbc34f4def99c0238"
    "61b46fc9d6e6c9077ad91d2691f7f7ee598cb0fac186d91caefe130985139270b4130c93bc437944f4fd4452"
    "e2d74dd364f2e21e71f54bff5cae82ab9c9df69ee86d2bc522363a0dabc521979b0deada1dbf9a42d5c4484e"
    "0abcd06bfa53ddef3c1b20ee3fd59d7c25e41d2b669e1ef16e6f52c3164df4fb7930e9e4e58857b6ac7d5f42"
    "d69f6d187763cf1d5503400487f55ba57e31cc7a7135c886efb4318aed6a1e012d9e6832a907600a918130c4"
    "6dc778f971ad0038092999a333cb8b7a1a1db93d7140003c2a4ecea9f98d0acc0a8291cdcec97dcf8ec9b55a"
    "7f88a46b4db5a851f44182e1c68a007e5e0dd9020bfd64b645036c7a4e677d2c38532a3a23ba4442caf53ea6"
    "3bb454329b7624c8917bdd64b1c0fd4cb38e8c334c701c3acdad0657fccfec719b1f5c3e4e46041f388147fb"
    "4cfdb477a52471f7a9a96910b855322edb6340d8a00ef092350511e30abec1fff9e3a26e7fb29f8c183023c3"
    "587e38da0077d9b4763e4e4b94b2bbc194c6651e77caf992eeaac0232a281bf6b3a739c1226116820ae8db58"
    "47a67cbef9c9091b462d538cd72b03746ae77f5e62292c311562a846505dc82db854338ae49f5235c95b9117"
    "8ccf2dd5cacef403ec9d1810c6272b045b3b71f9dc6b80d63fdd4a8e9adb1e6962a69526d43161c1a41d570d"
    "7938dad4a40e329ccff46aaa36ad004cf600c8381e425a31d951ae64fdb23fcec9509d43687feb69edd1cc5e"
    "0b8cc3bdf64b10ef86b63142a3ab8829555b2f747c932665cb2c0f1cc01bd70229388839d2af05e454504ac7"
    "8b7582822846c0ba35c35f5c59160cc046fd8251541fc68c9c86b022bb7099876a460e7451a8a93109703fee"
    "1c217e6c3826e52c51aa691e0e423cfc99e9e31650c1217b624816cdad9a95f9d5b8019488d9c0a0a1fe3075"
    "a577e23183f81d4a3f2fa4571efc8ce0ba8a4fe8b6855dfe72b0a66eded2fbabfbe58a30fafabe1c5d71a87e"
    "2f741ef8c1fe86fea6bbfde530677f0d97d11d49f7a8443d0822e506a9f4614e011e2a94838ff88cd68c8bb7"
    "c5c6424cffffffffffffffff"
)

# --- Registry ------------------------------------------------------------------------------

X25519: Group = _X25519Group(NamedGroup.X25519, "x25519")
X448: Group = _X448Group(NamedGroup.X448, "x448")
SECP256R1: ECGroup = ECGroup(NamedGroup.SECP256R1, "secp256r1", ec.SECP256R1(), 32)
SECP384R1: ECGroup = ECGroup(NamedGroup.SECP384R1, "secp384r1", ec.SECP384R1(), 48)
SECP521R1: ECGroup = ECGroup(NamedGroup.SECP521R1, "secp521r1", ec.SECP521R1(), 66)
FFDHE2048 = FFDHEGroup(NamedGroup.FFDHE2048, "ffdhe2048", int("".join(_FFDHE2048), 16))
FFDHE3072 = FFDHEGroup(NamedGroup.FFDHE3072, "ffdhe3072", int("".join(_FFDHE3072), 16))
FFDHE4096 = FFDHEGroup(NamedGroup.FFDHE4096, "ffdhe4096", int("".join(_FFDHE4096), 16))
FFDHE6144 = FFDHEGroup(NamedGroup.FFDHE6144, "ffdhe6144", int("".join(_FFDHE6144), 16))
FFDHE8192 = FFDHEGroup(NamedGroup.FFDHE8192, "ffdhe8192", int("".join(_FFDHE8192), 16))

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


# RFC 3526 MODP groups 14-16 (generator 2): not negotiable by name in TLS, but what servers
# that predate RFC 7919 send in a DHE ServerKeyExchange (OpenSSL 3.0's default). A TLS 1.2
# client accepts them as well-known safe primes (RFC 7919 §4 lets it judge the group).
_MODP2048 = (
    "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a0879"
    "8e3404ddef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b"
    "0bff5cb6f406b7edee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf0598da4836"
    "1c55d39a69163fa8fd24cf5f83655d23dca3ad961c62f356208552bb9ed529077096966d670c354e4abc9804"
    "f1746c08ca18217c32905e462e36ce3be39e772c180e86039b2783a2ec07a28fb5c55df06f4c52c9de2bcbf6"
    "955817183995497cea956ae515d2261898fa051015728e5a8aacaa68ffffffffffffffff"
)
_MODP3072 = (
    "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a0879"
    "8e3404ddef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b"
    "0bff5cb6f406b7edee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf0598da4836"
    "1c55d39a69163fa8fd24cf5f83655d23dca3ad961c62f356208552bb9ed529077096966d670c354e4abc9804"
    "f1746c08ca18217c32905e462e36ce3be39e772c180e86039b2783a2ec07a28fb5c55df06f4c52c9de2bcbf6"
    "955817183995497cea956ae515d2261898fa051015728e5a8aaac42dad33170d04507a33a85521abdf1cba64"
    "ecfb850458dbef0a8aea71575d060c7db3970f85a6e1e4c7abf5ae8cdb0933d71e8c94e04a25619dcee3d226"
    "1ad2ee6bf12ffa06d98a0864d87602733ec86a64521f2b18177b200cbbe117577a615d6c770988c0bad946e2"
    "08e24fa074e5ab3143db5bfce0fd108e4b82d120a93ad2caffffffffffffffff"
)
_MODP4096 = (
    "ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a0879"
    "8e3404ddef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a637ed6b"
    "0bff5cb6f406b7edee386bfb5a899fa5ae9f24117c4b1fe649286651ece45b3dc2007cb8a163bf0598da4836"
    "1c55d39a69163fa8fd24cf5f83655d23dca3ad961c62f356208552bb9ed529077096966d670c354e4abc9804"
    "f1746c08ca18217c32905e462e36ce3be39e772c180e86039b2783a2ec07a28fb5c55df06f4c52c9de2bcbf6"
    "955817183995497cea956ae515d2261898fa051015728e5a8aaac42dad33170d04507a33a85521abdf1cba64"
    "ecfb850458dbef0a8aea71575d060c7db3970f85a6e1e4c7abf5ae8cdb0933d71e8c94e04a25619dcee3d226"
    "1ad2ee6bf12ffa06d98a0864d87602733ec86a64521f2b18177b200cbbe117577a615d6c770988c0bad946e2"
    "08e24fa074e5ab3143db5bfce0fd108e4b82d120a92108011a723c12a787e6d788719a10bdba5b2699c32718"
    "6af4e23c1a946834b6150bda2583e9ca2ad44ce8dbbbc2db04de8ef92e8efc141fbecaa6287c59474e6bc05d"
    "99b2964fa090c3a2233ba186515be7ed1f612970cee2d7afb81bdd762170481cd0069127d5b05aa993b4ea98"
    "8d8fddc186ffb7dc90a6c08f4df435c934063199ffffffffffffffff"
)

#: RFC 3526 groups by prime, for :func:`known_dhe_group` (no NamedGroup code point: id 0).
LEGACY_DHE_GROUPS: tuple[FFDHEGroup, ...] = (
    tuple(
        FFDHEGroup(0, f"modp{bits}", int("".join(hex_p), 16))
        for bits, hex_p in ((2048, _MODP2048), (3072, _MODP3072), (4096, _MODP4096))
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
