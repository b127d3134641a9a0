"""Client: build the first ClientHello (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2) and its key shares.

The config-only part of the hello (suites, extensions, their encoding) is built once per config
(:class:`_HelloTemplate`); each connection adds its random, session ID, server_name, key shares
and session_ticket. Offering PSKs and RFC 7685 padding after the fact live in
:mod:`tlsmachine.client.offer`; sending the hello and handling the answer in
:mod:`tlsmachine.client.hello`.
"""

from __future__ import annotations

import functools
import ipaddress
import struct
from dataclasses import dataclass

from ..config import ClientConfig, generate_share
from ..crypto.groups import Group, PrivateKeyShare
from ..crypto.kem import KEMGroup
from ..crypto.signatures import tls12_advertised
from ..enums import CipherSuiteId, ExtensionType, ProtocolVersion
from ..errors import IllegalParameter, UnsupportedExtension
from ..extensions import (
    ApplicationLayerProtocolNegotiation,
    EcPointFormats,
    ExtendedMasterSecret,
    Extension,
    KeyShareClientHello,
    KeyShareEntry,
    Padding,
    PostHandshakeAuth,
    PskKeyExchangeModes,
    RecordSizeLimit,
    RenegotiationInfo,
    ServerName,
    SessionTicket,
    SignatureAlgorithms,
    SupportedGroups,
    SupportedVersionsClientHello,
    UnknownExtension,
    encode_extensions,
    extension_name,
)
from ..messages import HEADER_SIZE
from ..messages.framing import frame_handshake
from ..messages.hello import ClientHello
from ..session import ClientSession

_KEY_SHARE = int(ExtensionType.KEY_SHARE)


@functools.lru_cache(maxsize=256)
def sni_host_name(server_name: str | None) -> str | None:
    """The name to put in server_name: never an IP literal (RFC 6066 §3).

    Cached: a client connects to the same few names, and ``ip_address`` fails slowly.
    """
    if not server_name:
        return None
    try:
        ipaddress.ip_address(server_name)
    except ValueError:
        return server_name.rstrip(".")
    return None


@functools.lru_cache(maxsize=256)
def _server_name_raw(host: str) -> bytes:
    """The encoded server_name extension for ``host`` (RFC 6066 §3)."""
    return encode_extensions((ServerName(host_name=host),))


@dataclass(frozen=True, slots=True)
class _HelloTemplate:
    """The parts of our ClientHello that depend only on the config (built once per config),
    as extension objects and as bytes (RFC 8446 §4.1.2)."""

    cipher_suites: tuple[int, ...]
    before_key_share: tuple[Extension, ...]
    after_key_share: tuple[Extension, ...]
    cipher_suites_raw: bytes  # CipherSuite cipher_suites<2..2^16-2>, length included
    before_key_share_raw: bytes  # the Extension structures, without a block length
    after_key_share_raw: bytes
    tls13: bool  # we offer TLS 1.3: key_share, supported_versions, PSKs
    tls12: bool  # we offer TLS 1.2: its suites and extensions, session_ticket

    @classmethod
    def of(cls, config: ClientConfig) -> _HelloTemplate:
        cached: _HelloTemplate | None = config.__dict__.get("_hello_template")
        if cached is not None:
            return cached
        tls13 = config.max_version >= ProtocolVersion.TLS13
        tls12 = config.min_version <= ProtocolVersion.TLS12
        after: list[Extension] = []
        if config.alpn_protocols:
            names = tuple(p.encode() for p in config.alpn_protocols)
            after.append(ApplicationLayerProtocolNegotiation(protocol_name_list=names))
        if tls13 and config.psk_modes:
            # RFC 8446 §4.2.9: also what lets a server send tickets ("Servers SHOULD NOT send
            # NewSessionTicket with tickets that are not compatible with the advertised
            # modes"; Go and Java's servers send none without it); offer_psks() replaces it.
            after.append(PskKeyExchangeModes(ke_modes=config.psk_modes))
        if config.record_size_limit is not None:
            after.append(RecordSizeLimit(record_size_limit=config.record_size_limit))
        if config.post_handshake_auth and tls13:
            after.append(PostHandshakeAuth())  # RFC 8446 §4.2.6
        before: list[Extension] = []
        if tls13:
            versions = (
                (ProtocolVersion.TLS13, ProtocolVersion.TLS12)
                if tls12
                else (ProtocolVersion.TLS13,)
            )
            before.append(SupportedVersionsClientHello(versions=versions))
        # A TLS 1.2-only client omits supported_versions: legacy_version says 1.2 (§4.2.1),
        # and the ML-KEM groups, which exist in TLS 1.3 only (draft-ietf-tls-ecdhe-mlkem).
        before += (
            SupportedGroups(groups=tuple(g.id for g in config.groups if tls13 or not g.kem)),
            SignatureAlgorithms(
                schemes=config.signature_schemes
                if tls13
                else tls12_advertised(config.signature_schemes)
            ),
        )
        if tls12:
            if any(s.key_exchange == "ECDHE" for s in config.tls12_cipher_suites):
                # uncompressed only (RFC 8422 §5.1.2); RFC 8422 §4: "The client MUST NOT
                # include these extensions ... if it does not propose any ECC cipher suites"
                # (supported_groups stays: RFC 7919 §2 names FFDHE groups in it too)
                before.append(EcPointFormats(formats=b"\x00"))
            before += (
                ExtendedMasterSecret(),  # RFC 7627 §5.1
                RenegotiationInfo(renegotiated_connection=b""),  # RFC 5746 §3.4
            )
        suites = (
            *(s.id for s in config.cipher_suites if tls13),
            *(s.id for s in config.tls12_cipher_suites if tls12),
            *((CipherSuiteId.TLS_FALLBACK_SCSV,) if config.fallback_scsv else ()),  # RFC 7507
        )
        template = cls(
            cipher_suites=suites,
            before_key_share=tuple(before),
            after_key_share=tuple(after),
            cipher_suites_raw=struct.pack(f">H{len(suites)}H", 2 * len(suites), *suites),
            before_key_share_raw=encode_extensions(before),
            after_key_share_raw=encode_extensions(after),
            tls13=tls13,
            tls12=tls12,
        )
        object.__setattr__(config, "_hello_template", template)  # a cache on a frozen config
        return template


def _key_share_raw(entries: tuple[KeyShareEntry, ...]) -> bytes:
    """The encoded key_share extension of a ClientHello (RFC 8446 §4.2.8)."""
    shares = b"".join(
        struct.pack(">HH", e.group, len(e.key_exchange)) + e.key_exchange for e in entries
    )
    return struct.pack(">HHH", _KEY_SHARE, len(shares) + 2, len(shares)) + shares


def _extensions(
    template: _HelloTemplate,
    server_name: str | None,
    shares: tuple[PrivateKeyShare, ...],
    session12: ClientSession | None,
) -> tuple[tuple[Extension, ...], bytes]:
    """The hello's extensions and their encoding: the template's, with server_name first, the
    key shares (TLS 1.3) and session_ticket (TLS 1.2, RFC 5077 §3.4) in their places."""
    host = sni_host_name(server_name)
    entries = tuple(KeyShareEntry(group=s.group.id, key_exchange=s.public_bytes) for s in shares)
    ticket = (
        (SessionTicket(ticket=session12.ticket if session12 is not None else b""),)
        if template.tls12
        else ()
    )
    extensions: tuple[Extension, ...] = (
        *((ServerName(host_name=host),) if host is not None else ()),
        *template.before_key_share,
        *((KeyShareClientHello(client_shares=entries),) if template.tls13 else ()),
        *ticket,
        *template.after_key_share,
    )
    raw = b"".join(
        (
            _server_name_raw(host) if host is not None else b"",
            template.before_key_share_raw,
            _key_share_raw(entries) if template.tls13 else b"",
            encode_extensions(ticket) if ticket else b"",
            template.after_key_share_raw,
        )
    )
    return extensions, raw


def _legacy_session_id(config: ClientConfig, tls13: bool, session12: ClientSession | None) -> bytes:
    """The session ID to resume (RFC 5246 §7.4.1.2); a fresh random one with a ticket and no
    ID (RFC 5077 §3.4) or in middlebox compatibility mode (RFC 8446 D.4); else empty."""
    if session12 is not None and session12.session_id:
        return session12.session_id
    if session12 is not None or (config.middlebox_compatibility and tls13):
        return config.random(32)
    return b""


def build_client_hello(
    config: ClientConfig,
    server_name: str | None,
    shares: tuple[PrivateKeyShare, ...],
    session12: ClientSession | None = None,
) -> tuple[ClientHello, bytes]:
    """The first ClientHello (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2) and its encoding.

    ``session12`` is a TLS 1.2 session to resume: its ID goes in legacy_session_id and its
    ticket, if any, in session_ticket (RFC 5077 §3.4: with a ticket but no ID, a fresh random
    ID tells the client whether the server accepted it).

    The encoding is put together from the template's bytes (the same as ``encode_handshake``
    of the hello, padding included, which the unit tests check).
    """
    template = _HelloTemplate.of(config)
    extensions, extensions_raw = _extensions(template, server_name, shares, session12)
    random = config.random(32)
    session_id = _legacy_session_id(config, template.tls13, session12)
    head = b"".join(
        (
            b"\x03\x03",  # legacy_version: TLS 1.2
            random,
            bytes((len(session_id),)),
            session_id,
            template.cipher_suites_raw,
            b"\x01\x00",  # legacy_compression_methods: [null]
        )
    )
    size = HEADER_SIZE + len(head) + 2 + len(extensions_raw)
    if config.pad_client_hello and 256 <= size < 512:  # see pad_client_hello()
        padding = Padding(length=max(0, 512 - size - 4))
        extensions += (padding,)
        extensions_raw += encode_extensions((padding,))
    body = head + len(extensions_raw).to_bytes(2, "big") + extensions_raw
    raw = frame_handshake(ClientHello.msg_type, body)
    hello = ClientHello(
        legacy_version=ProtocolVersion.TLS12,
        random=random,
        legacy_session_id=session_id,
        cipher_suites=template.cipher_suites,
        legacy_compression_methods=b"\x00",
        extensions=extensions,
        raw=raw,
    )
    return hello, raw


def initial_shares(config: ClientConfig, groups: tuple[Group, ...]) -> tuple[PrivateKeyShare, ...]:
    """The first ClientHello's key shares, one per group.

    With the default factory, a hybrid whose classical half is also offered alone (the
    default X25519MLKEM768 + x25519) reuses that share's key instead of making a second one
    (draft-ietf-tls-hybrid-design §3.2 allows it within one ClientHello). A custom
    ``key_share_factory`` (tests, RFC 8448 replays) makes every share itself.
    """
    if config.key_share_factory is not generate_share:
        return tuple(config.key_share_factory(g) for g in groups)
    classical = {g: g.generate() for g in groups if not g.kem}

    def share(group: Group) -> PrivateKeyShare:
        if not isinstance(group, KEMGroup):
            return classical[group]
        return group.generate(classical.get(group.ecdh) if group.ecdh is not None else None)

    return tuple(share(g) for g in groups)


def check_extension_answer(message: str, ext: Extension, offered: bool, allowed: bool) -> None:
    """One extension of a server message, against what we sent (RFC 8446 §4.2).

    A response to an extension the client did not send is unsupported_extension. One the
    client sent, so knows, that ``message`` may not carry (e.g. the TLS 1.2 ec_point_formats
    in a TLS 1.3 EncryptedExtensions) is illegal_parameter: "an extension which it recognizes
    and which is not specified for the message in which it appears".
    """
    if not offered:
        raise UnsupportedExtension(
            f"{message} carries extension {ext.ext_type}, which the client did not offer"
        )
    if not allowed or isinstance(ext, UnknownExtension):
        raise IllegalParameter(
            f"{message} carries {extension_name(ext.ext_type)}, which is not specified for it "
            "(RFC 8446 §4.2)"
        )
