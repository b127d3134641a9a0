"""The extensions of resumption and 0-RTT: psk_key_exchange_modes (RFC 8446 §4.2.9),
pre_shared_key (§4.2.11) and early_data (§4.2.10).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from ..codec import Reader, Writer
from ..enums import ExtensionType
from ..errors import IllegalParameter
from ..fast_init import fast_init
from .base import _NST, ExtensionContext, _items

# --- psk_key_exchange_modes (RFC 8446 §4.2.9) -------------------------------------------------


@fast_init
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


# --- pre_shared_key, early_data (RFC 8446 §4.2.11, §4.2.10) -----------------------------------


@fast_init
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


@fast_init
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


@fast_init
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
