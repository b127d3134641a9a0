"""ClientHello and ServerHello (including the HelloRetryRequest form).

RFC 8446 §4.1.2 (ClientHello), §4.1.3 (ServerHello, HelloRetryRequest, downgrade sentinels),
§4.1.4 (HelloRetryRequest), §4.2.11.2 (PSK binders over the truncated ClientHello);
RFC 5246 §7.4.1.2-§7.4.1.4 (TLS 1.2 hellos, whose extensions block may be absent).

A hello without extensions is parsed with ``extensions=()`` and serialised without the block,
which is the TLS 1.2 form; a present but empty block (``00 00``) therefore does not re-serialise
byte for byte (``raw`` keeps it for the transcript).
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Self, TypeVar

from ..codec import Reader, Writer
from ..enums import ExtensionType, HandshakeType
from ..errors import UsageError
from ..extensions import (
    Extension,
    ExtensionContext,
    PreSharedKeyClientHello,
    decode_extension_block,
    find_extension,
    parse_extensions,
    read_extension_block,
    serialize_extensions,
)
from ..fast_init import fast_init
from .framing import encode_handshake, frame_handshake

_E = TypeVar("_E")
_SUPPORTED_VERSIONS = int(ExtensionType.SUPPORTED_VERSIONS)

#: SHA-256("HelloRetryRequest"): the ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3).
HELLO_RETRY_REQUEST_RANDOM = bytes.fromhex(
    "cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c"
)
#: Last 8 bytes of ServerHello.random from a TLS 1.3 server negotiating TLS 1.2 (§4.1.3).
DOWNGRADE_TLS12 = b"DOWNGRD\x01"
#: Last 8 bytes of ServerHello.random from a TLS 1.3 server negotiating TLS 1.1 or below (§4.1.3).
DOWNGRADE_TLS11 = b"DOWNGRD\x00"


@fast_init
@dataclass(frozen=True, slots=True)
class ClientHello:
    """RFC 8446 §4.1.2::

    uint16 ProtocolVersion;
    opaque Random[32];
    uint8 CipherSuite[2];    /* Cryptographic suite selector */

    struct {
        ProtocolVersion legacy_version = 0x0303;    /* TLS v1.2 */
        Random random;
        opaque legacy_session_id<0..32>;
        CipherSuite cipher_suites<2..2^16-2>;
        opaque legacy_compression_methods<1..2^8-1>;
        Extension extensions<8..2^16-1>;
    } ClientHello;

    The extensions block may be absent in a TLS 1.2 ClientHello (RFC 5246 §7.4.1.2).
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.CLIENT_HELLO
    legacy_version: int
    random: bytes
    legacy_session_id: bytes
    cipher_suites: tuple[int, ...]
    legacy_compression_methods: bytes
    extensions: tuple[Extension, ...]
    raw: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def parse_body(cls, r: Reader, raw: bytes) -> Self:
        legacy_version = r.u16("ClientHello.legacy_version")
        random = r.bytes(32, "ClientHello.random")
        session_id = r.opaque(1, max=32, what="ClientHello.legacy_session_id")
        suites = r.u16_tuple(2, min=2, max=0xFFFE, what="ClientHello.cipher_suites")
        compression = r.opaque(1, min=1, what="ClientHello.legacy_compression_methods")
        extensions = () if r.at_end() else parse_extensions(r, ExtensionContext.CLIENT_HELLO)
        r.expect_end("ClientHello")
        return cls(legacy_version, random, session_id, suites, compression, extensions, raw)

    def serialize_body(self, w: Writer) -> None:
        w.u16(self.legacy_version)
        w.bytes(self.random)
        w.opaque(1, self.legacy_session_id)
        w.u16_list(2, self.cipher_suites)
        w.opaque(1, self.legacy_compression_methods)
        if self.extensions:
            serialize_extensions(w, self.extensions)

    def get(self, cls: type[_E]) -> _E | None:
        """The first extension of class ``cls``, or ``None``."""
        return find_extension(self.extensions, cls)

    def _psk(self) -> PreSharedKeyClientHello:
        psk = self.extensions[-1] if self.extensions else None
        if not isinstance(psk, PreSharedKeyClientHello):
            raise UsageError("ClientHello: no pre_shared_key extension in last position")
        return psk

    def truncated_for_binders(self) -> bytes:
        """The message (``raw``, or its serialisation) without the binders list.

        RFC 8446 §4.2.11.2: binders are computed over the ClientHello "up to and including the
        PreSharedKeyExtension.identities field", i.e. all but the binders vector (length
        included), which is the tail of the message because pre_shared_key comes last.
        """
        data = self.raw or encode_handshake(self)
        return data[: len(data) - self._psk().binders_length]

    def with_binders(self, binders: Sequence[bytes]) -> ClientHello:
        """A copy whose pre_shared_key carries ``binders`` instead of the placeholders.

        The client builds the hello with zero-filled binders of the right lengths, computes the
        real ones over :meth:`truncated_for_binders`, then calls this. The lengths must match
        the placeholders so the truncated prefix stays the same.
        """
        psk = self._psk()
        if [len(b) for b in binders] != [len(b) for b in psk.binders]:
            raise UsageError("ClientHello.with_binders: binder lengths differ from placeholders")
        new_psk = dataclasses.replace(psk, binders=tuple(binders))
        return dataclasses.replace(self, extensions=(*self.extensions[:-1], new_psk), raw=b"")


@fast_init
@dataclass(frozen=True, slots=True)
class ServerHello:
    """RFC 8446 §4.1.3 (also the HelloRetryRequest, §4.1.4)::

        struct {
            ProtocolVersion legacy_version = 0x0303;    /* TLS v1.2 */
            Random random;
            opaque legacy_session_id_echo<0..32>;
            CipherSuite cipher_suite;
            uint8 legacy_compression_method = 0;
            Extension extensions<6..2^16-1>;
        } ServerHello;

    ``random == HELLO_RETRY_REQUEST_RANDOM`` marks a HelloRetryRequest, whose extensions are
    read in that context. Without supported_versions it is a TLS 1.2 ServerHello (RFC 5246
    §7.4.1.3: extensions optional), read in the TLS 1.2 context.
    """

    msg_type: ClassVar[HandshakeType] = HandshakeType.SERVER_HELLO
    legacy_version: int
    random: bytes
    legacy_session_id_echo: bytes
    cipher_suite: int
    legacy_compression_method: int
    extensions: tuple[Extension, ...]
    raw: bytes = field(default=b"", repr=False, compare=False)

    @property
    def is_hello_retry_request(self) -> bool:
        return self.random == HELLO_RETRY_REQUEST_RANDOM

    @classmethod
    def parse_body(cls, r: Reader, raw: bytes) -> Self:
        legacy_version = r.u16("ServerHello.legacy_version")
        random = r.bytes(32, "ServerHello.random")
        session_id = r.opaque(1, max=32, what="ServerHello.legacy_session_id_echo")
        suite = r.u16("ServerHello.cipher_suite")
        compression = r.u8("ServerHello.legacy_compression_method")
        extensions = () if r.at_end() else _server_extensions(r, random)
        r.expect_end("ServerHello")
        return cls(legacy_version, random, session_id, suite, compression, extensions, raw)

    def serialize_body(self, w: Writer) -> None:
        w.u16(self.legacy_version)
        w.bytes(self.random)
        w.opaque(1, self.legacy_session_id_echo)
        w.u16(self.cipher_suite)
        w.u8(self.legacy_compression_method)
        if self.extensions:
            serialize_extensions(w, self.extensions)

    def get(self, cls: type[_E]) -> _E | None:
        """The first extension of class ``cls``, or ``None``."""
        return find_extension(self.extensions, cls)


def _server_extensions(r: Reader, random: bytes) -> tuple[Extension, ...]:
    """Pick the context by looking at the block first: HRR, TLS 1.3 or TLS 1.2 ServerHello."""
    if random == HELLO_RETRY_REQUEST_RANDOM:
        return parse_extensions(r, ExtensionContext.HELLO_RETRY_REQUEST)
    pairs = read_extension_block(r, ExtensionContext.TLS12_SERVER_HELLO)
    context = ExtensionContext.TLS12_SERVER_HELLO
    for ext_type, _ in pairs:
        if ext_type == _SUPPORTED_VERSIONS:
            context = ExtensionContext.SERVER_HELLO
            break
    return decode_extension_block(pairs, context)


_SERVER_HELLO = int(HandshakeType.SERVER_HELLO)
_KEY_SHARE = int(ExtensionType.KEY_SHARE)
# supported_versions in a ServerHello selecting TLS 1.3: type 43, length 2, 0x0304 (§4.2.1).
_SELECTED_TLS13 = bytes.fromhex("002b00020304")
_SERVER_HELLO_TAIL = struct.Struct(">HBHHHHH")  # cipher_suite .. key_exchange length


def encode_server_hello_tls13(
    random: bytes, legacy_session_id_echo: bytes, cipher_suite: int, group: int, key_exchange: bytes
) -> bytes:
    """A TLS 1.3 ServerHello with key_share then supported_versions (RFC 8446 §4.1.3, §4.2.8),
    encoded straight to bytes: the same as ``encode_handshake`` of the :class:`ServerHello`
    with ``legacy_version=0x0303``, ``legacy_compression_method=0`` and those two extensions."""
    if len(random) != 32 or len(legacy_session_id_echo) > 32:
        raise ValueError("ServerHello: random must be 32 bytes, legacy_session_id_echo <= 32")
    n = len(key_exchange)
    body = b"".join(
        (
            b"\x03\x03",  # legacy_version: TLS 1.2
            random,
            bytes((len(legacy_session_id_echo),)),
            legacy_session_id_echo,
            # cipher_suite, legacy_compression_method, the extensions block length, then the
            # key_share header (type, length) and KeyShareEntry (group, key_exchange length)
            _SERVER_HELLO_TAIL.pack(cipher_suite, 0, 8 + n + 6, _KEY_SHARE, 4 + n, group, n),
            key_exchange,
            _SELECTED_TLS13,
        )
    )
    return frame_handshake(_SERVER_HELLO, body)
