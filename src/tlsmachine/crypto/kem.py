"""ML-KEM key exchange groups for TLS 1.3: the ECDHE-MLKEM hybrids and pure ML-KEM.

Hybrids (draft-ietf-tls-ecdhe-mlkem, on the framework of draft-ietf-tls-hybrid-design §3.2,
§3.3): the key_exchange values and the shared secret are plain concatenations of fixed-length
parts (ecdhe-mlkem §6, hybrid-design §6), in the order each group fixes:

* X25519MLKEM768 (0x11EC): client ``ek (1184) || X25519 (32)`` = 1216 bytes; server
  ``ct (1088) || X25519 (32)`` = 1120 bytes; secret ``ML-KEM (32) || X25519 (32)``.
* SecP256r1MLKEM768 (0x11EB): client ``P-256 point (65) || ek (1184)`` = 1249 bytes; server
  ``P-256 point (65) || ct (1088)`` = 1153 bytes; secret ``ECDH x (32) || ML-KEM (32)``.
* SecP384r1MLKEM1024 (0x11ED): client ``P-384 point (97) || ek (1568)`` = 1665 bytes; server
  ``P-384 point (97) || ct (1568)`` = 1665 bytes; secret ``ECDH x (48) || ML-KEM (32)``.

``ek`` is the ML-KEM encapsulation key, ``ct`` the ciphertext; EC points are uncompressed
(RFC 8446 §4.2.8.2). §4.1 notes X25519MLKEM768 puts ML-KEM first "for historical reasons"; §4.3
and §5: its ML-KEM secret comes first too, while the NIST-curve hybrids put ECDH first.

Pure ML-KEM (draft-ietf-tls-mlkem; MLKEM768 0x0201, MLKEM1024 0x0202): the client's
key_exchange is the encapsulation key, the server's the ciphertext, the shared secret the 32-byte
ML-KEM secret. Offered only when configured, never by default.

Checks (ecdhe-mlkem §4.2, §4.3; RFC 8446 §4.2.8.2, §7.4.2):

* a share of the wrong length -> ``illegal_parameter`` (both sides);
* the server runs the FIPS 203 §7.2 encapsulation key check (the modulus check: every 12-bit
  coefficient below q = 3329), done by pyca/OpenSSL when loading the key; failure ->
  ``illegal_parameter``;
* the ECDH part gets all the checks of the classical group (uncompressed point on the curve;
  X25519's all-zero shared secret) -> ``illegal_parameter``;
* ML-KEM decapsulation of a ciphertext of the right length never fails (implicit rejection);
  if pyca refuses anyway, ``internal_error`` (§4.2).

KEMs are asymmetric: the server never generates a key pair for the ML-KEM part, it
encapsulates. So these groups override :meth:`Group.respond` (the server side, which also makes
the server's fresh ECDH share), and their :class:`PrivateKeyShare` (the client side) keeps the
decapsulation key and the ECDH private key; ``exchange(server_share)`` decapsulates. The client's
ML-KEM key is always fresh; its ECDH key is the one the same ClientHello sends for the classical
group alone when there is one (hybrid-design §3.2 allows that reuse; see :meth:`KEMGroup.generate`
and ``client_hello.initial_shares``), else fresh too.

These groups are TLS 1.3 only (``Group.kem``): RFC 8422 defines ECDHE for TLS 1.2 over
elliptic curves only, so neither side negotiates them in TLS 1.2.

All primitives are pyca/cryptography's (``hazmat.primitives.asymmetric.mlkem``, ML-KEM-768
since 47.0, ML-KEM-1024 later). A parameter set pyca or its OpenSSL lacks is detected at import;
its groups are then left out of ``GROUPS`` and the defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, NoReturn, Protocol

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import mlkem

from ..enums import NamedGroup
from ..errors import IllegalParameter, InternalError
from .groups import SECP256R1, SECP384R1, X25519, Group, PrivateKeyShare

__all__ = [
    "ALL_KEM_GROUPS",
    "KEM_GROUPS",
    "MLKEM768",
    "MLKEM1024",
    "ML_KEM_768",
    "ML_KEM_1024",
    "SECP256R1MLKEM768",
    "SECP384R1MLKEM1024",
    "X25519MLKEM768",
    "KEMGroup",
    "MLKEMParameters",
]


class _EncapsulationKey(Protocol):  # pyca's MLKEM768PublicKey / MLKEM1024PublicKey
    def encapsulate(self) -> tuple[bytes, bytes]: ...  # (shared secret, ciphertext)

    def public_bytes_raw(self) -> bytes: ...


class _DecapsulationKey(Protocol):  # pyca's MLKEM768PrivateKey / MLKEM1024PrivateKey
    def decapsulate(self, ciphertext: bytes) -> bytes: ...

    def public_key(self) -> _EncapsulationKey: ...


def _unsupported(*_args: object) -> NoReturn:
    raise UnsupportedAlgorithm("this ML-KEM parameter set is not available in pyca/cryptography")


@dataclass(frozen=True, slots=True)
class MLKEMParameters:
    """An ML-KEM parameter set (FIPS 203 §8) and pyca's entry points for it."""

    name: str  # "ML-KEM-768"
    encapsulation_key_len: int
    ciphertext_len: int
    supported: bool = field(compare=False)
    generate: Callable[[], _DecapsulationKey] = field(compare=False, repr=False)
    from_seed: Callable[[bytes], _DecapsulationKey] = field(compare=False, repr=False)
    """The key from its 64-byte seed ``d || z`` (FIPS 203 §7.1)."""
    load_encapsulation_key: Callable[[bytes], _EncapsulationKey] = field(compare=False, repr=False)
    """pyca's ``from_public_bytes``: checks the length and the FIPS 203 §7.2 modulus."""
    shared_secret_len: ClassVar[int] = 32  # FIPS 203 §8: every parameter set

    @classmethod
    def of(cls, bits: int, encapsulation_key_len: int, ciphertext_len: int) -> MLKEMParameters:
        """The parameter set ML-KEM-``bits`` as far as pyca offers it (probed once)."""
        private: Any = getattr(mlkem, f"MLKEM{bits}PrivateKey", None)  # absent in older pyca
        public: Any = getattr(mlkem, f"MLKEM{bits}PublicKey", None)
        supported = private is not None and public is not None
        if supported:
            try:
                private.generate()  # the backend may still lack it (UnsupportedAlgorithm)
            except UnsupportedAlgorithm:
                supported = False
        return cls(
            name=f"ML-KEM-{bits}",
            encapsulation_key_len=encapsulation_key_len,
            ciphertext_len=ciphertext_len,
            supported=supported,
            generate=private.generate if supported else _unsupported,
            from_seed=private.from_seed_bytes if supported else _unsupported,
            load_encapsulation_key=public.from_public_bytes if supported else _unsupported,
        )


ML_KEM_768 = MLKEMParameters.of(768, encapsulation_key_len=1184, ciphertext_len=1088)
ML_KEM_1024 = MLKEMParameters.of(1024, encapsulation_key_len=1568, ciphertext_len=1568)


def _bad(group: Group, problem: str) -> IllegalParameter:
    return IllegalParameter(f"{group.name} key share: {problem}")


class _KEMShare(PrivateKeyShare):
    """The client's private side: the ML-KEM decapsulation key and, for a hybrid, the ECDH
    private share. ``exchange(server_share)`` decapsulates (ecdhe-mlkem §4.2, §4.3)."""

    __slots__ = ("_decapsulation_key", "_ecdh", "_kem_group")

    def __init__(
        self, group: KEMGroup, decapsulation_key: _DecapsulationKey, ecdh: PrivateKeyShare | None
    ) -> None:
        encapsulation_key = decapsulation_key.public_key().public_bytes_raw()
        ecdh_public = ecdh.public_bytes if ecdh is not None else b""
        super().__init__(group, group.join(ecdh_public, encapsulation_key))
        self._kem_group = group
        self._decapsulation_key = decapsulation_key
        self._ecdh = ecdh

    def exchange(self, peer_share: bytes) -> bytes:
        group = self._kem_group
        # §4.2: "the client MUST check if the ciphertext length matches the selected group"
        if len(peer_share) != group.server_share_len:
            raise _bad(group, f"{len(peer_share)} bytes, expected {group.server_share_len}")
        ecdh_part, ciphertext = group.split(peer_share)
        ecdh_secret = b""
        if self._ecdh is not None:
            ecdh_secret = group.ecdh_exchange(self._ecdh, ecdh_part)
        try:
            kem_secret = self._decapsulation_key.decapsulate(ciphertext)
        except ValueError as exc:  # §4.2: any other decapsulation failure is internal_error
            raise InternalError(f"{group.name}: ML-KEM decapsulation failed: {exc}") from None
        return group.join(ecdh_secret, kem_secret)


@dataclass(frozen=True, slots=True)
class KEMGroup(Group):
    """An ML-KEM group, pure (``ecdh is None``) or an ECDHE-MLKEM hybrid (module docstring).

    ``ecdh_first`` orders both the key_exchange values and the shared secret: ECDH part first
    for SecP256r1MLKEM768 and SecP384r1MLKEM1024, ML-KEM first for X25519MLKEM768
    (ecdhe-mlkem §4.1-§4.3).
    """

    kem: ClassVar[bool] = True

    mlkem: MLKEMParameters
    ecdh: Group | None = None
    ecdh_share_len: int = 0  # the classical group's key_exchange length (RFC 8446 §4.2.8)
    ecdh_first: bool = False

    @property
    def client_share_len(self) -> int:
        return self.ecdh_share_len + self.mlkem.encapsulation_key_len

    @property
    def server_share_len(self) -> int:
        return self.ecdh_share_len + self.mlkem.ciphertext_len

    @property
    def supported(self) -> bool:
        """pyca/cryptography (and its OpenSSL) implement our ML-KEM parameter set."""
        return self.mlkem.supported

    # --- layout -------------------------------------------------------------------------

    def join(self, ecdh_part: bytes, kem_part: bytes) -> bytes:
        """Concatenate the two parts (a share or the shared secret) in this group's order."""
        return ecdh_part + kem_part if self.ecdh_first else kem_part + ecdh_part

    def split(self, share: bytes) -> tuple[bytes, bytes]:
        """``(ECDH part, ML-KEM part)`` of a key_exchange whose length was checked."""
        n = self.ecdh_share_len
        if not n:
            return b"", share
        if self.ecdh_first:
            return share[:n], share[n:]
        return share[-n:], share[:-n]

    def ecdh_exchange(self, ours: PrivateKeyShare, peer_part: bytes) -> bytes:
        """The ECDH part with all of RFC 8446 §4.2.8.2 / §7.4.2's checks (ecdhe-mlkem §4.2,
        §4.3: failure -> illegal_parameter)."""
        try:
            return ours.exchange(peer_part)
        except IllegalParameter as exc:
            raise _bad(self, f"ECDH part: {exc}") from None

    # --- Group --------------------------------------------------------------------------

    def generate(self, ecdh: PrivateKeyShare | None = None) -> PrivateKeyShare:
        """The client's share: a fresh ML-KEM key pair and an ECDH key, fresh too unless
        ``ecdh`` is the share the same ClientHello sends for the classical group alone
        (hybrid-design §3.2 allows reusing a key_exchange value of the same algorithm within
        one ClientHello; the server picks one group, so the key is still used once)."""
        if self.ecdh is None:
            ecdh = None
        elif ecdh is None:
            ecdh = self.ecdh.generate()
        elif ecdh.group != self.ecdh:
            raise InternalError(f"{self.name}: a {ecdh.group.name} share is not its ECDH part")
        return _KEMShare(self, self.mlkem.generate(), ecdh)

    def from_private_bytes(self, data: bytes) -> PrivateKeyShare:
        """A client share from known keys (tests): the 64-byte ML-KEM seed ``d || z`` (FIPS 203
        §7.1) and the ECDH private key as ``Group.from_private_bytes`` takes it, in the order of
        the group's key_exchange (X25519MLKEM768: seed || X25519 key; the NIST hybrids: EC
        scalar || seed)."""
        seed_len = 64
        if self.ecdh is None:
            if len(data) != seed_len:
                raise ValueError(f"{self.name} private key is the 64-byte ML-KEM seed")
            return _KEMShare(self, self.mlkem.from_seed(data), None)
        if len(data) <= seed_len:
            raise ValueError(f"{self.name} private key: the 64-byte ML-KEM seed and an ECDH key")
        if self.ecdh_first:
            ecdh_bytes, seed = data[:-seed_len], data[-seed_len:]
        else:
            seed, ecdh_bytes = data[:seed_len], data[seed_len:]
        ecdh = self.ecdh.from_private_bytes(ecdh_bytes)
        return _KEMShare(self, self.mlkem.from_seed(seed), ecdh)

    def respond(
        self, peer_share: bytes, private: PrivateKeyShare | None = None
    ) -> tuple[bytes, bytes]:
        """Server side: encapsulate to the client's key and, for a hybrid, answer its ECDH
        share with a fresh one; returns ``(ciphertext [+ ECDH share], shared secret)``
        (ecdhe-mlkem §4.2, §4.3). There is no server key pair to inject: ``private`` must be
        ``None``."""
        if private is not None:
            raise InternalError(f"respond: {self.name} is a KEM; the server has no key pair")
        if len(peer_share) != self.client_share_len:
            raise _bad(self, f"{len(peer_share)} bytes, expected {self.client_share_len}")
        ecdh_part, encapsulation_key = self.split(peer_share)
        ecdh_public, ecdh_secret = b"", b""
        if self.ecdh is not None:  # the cheaper check first
            ours = self.ecdh.generate()
            ecdh_secret = self.ecdh_exchange(ours, ecdh_part)
            ecdh_public = ours.public_bytes
        try:
            # §4.2: "the server MUST perform the encapsulation key check described in Section
            # 7.2 of [NIST-FIPS-203]": pyca/OpenSSL refuse a key failing the modulus check.
            key = self.mlkem.load_encapsulation_key(encapsulation_key)
        except ValueError:
            raise _bad(self, "ML-KEM encapsulation key fails the FIPS 203 §7.2 check") from None
        kem_secret, ciphertext = key.encapsulate()
        return self.join(ecdh_public, ciphertext), self.join(ecdh_secret, kem_secret)


# --- Registry --------------------------------------------------------------------------------

X25519MLKEM768 = KEMGroup(
    NamedGroup.X25519MLKEM768, "X25519MLKEM768", ML_KEM_768, X25519, 32, ecdh_first=False
)
SECP256R1MLKEM768 = KEMGroup(
    NamedGroup.SECP256R1MLKEM768, "SecP256r1MLKEM768", ML_KEM_768, SECP256R1, 65, ecdh_first=True
)
SECP384R1MLKEM1024 = KEMGroup(
    NamedGroup.SECP384R1MLKEM1024,
    "SecP384r1MLKEM1024",
    ML_KEM_1024,
    SECP384R1,
    97,
    ecdh_first=True,
)
MLKEM768 = KEMGroup(NamedGroup.MLKEM768, "MLKEM768", ML_KEM_768)
MLKEM1024 = KEMGroup(NamedGroup.MLKEM1024, "MLKEM1024", ML_KEM_1024)

#: Every KEM group we define, supported by the installed pyca or not.
ALL_KEM_GROUPS: tuple[KEMGroup, ...] = (
    X25519MLKEM768,
    SECP256R1MLKEM768,
    SECP384R1MLKEM1024,
    MLKEM768,
    MLKEM1024,
)
#: The KEM groups pyca/cryptography can run here (registered in ``groups.GROUPS``).
KEM_GROUPS: tuple[KEMGroup, ...] = tuple(g for g in ALL_KEM_GROUPS if g.supported)
