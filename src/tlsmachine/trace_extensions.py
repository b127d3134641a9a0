"""The names and extension fields of a trace line (:mod:`tlsmachine.trace`).

Code points by their IANA names (versions, suites, groups, signature schemes, alerts, ...; hex
when unknown), and one formatter per extension class, in a fixed order whatever the sender's
(``_extension_fields``). Pure formatting over the parsed objects; the tables are built once.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .crypto.groups import GROUPS, LEGACY_DHE_GROUPS, FFDHEGroup
from .enums import (
    AlertDescription,
    AlertLevel,
    CipherSuiteId,
    ExtensionType,
    KeyUpdateRequest,
    NamedGroup,
    ProtocolVersion,
    PskKeyExchangeMode,
    SignatureScheme,
)
from .extensions import (
    ApplicationLayerProtocolNegotiation,
    CertificateAuthorities,
    Cookie,
    EarlyData,
    EcPointFormats,
    ExtendedMasterSecret,
    Extension,
    KeyShareClientHello,
    KeyShareHelloRetryRequest,
    KeyShareServerHello,
    Padding,
    PostHandshakeAuth,
    PreSharedKeyClientHello,
    PreSharedKeyServerHello,
    PskKeyExchangeModes,
    RecordSizeLimit,
    RenegotiationInfo,
    ServerName,
    SessionTicket,
    SignatureAlgorithms,
    SignatureAlgorithmsCert,
    SupportedGroups,
    SupportedVersionsClientHello,
    SupportedVersionsServerHello,
    UnknownExtension,
    extension_name,
)
from .messages import (
    CERTIFICATE_TYPE_ECDSA_SIGN,
    CERTIFICATE_TYPE_RSA_SIGN,
)

# -- names of code points -------------------------------------------------------------------------


def _hex(value: int) -> str:
    return f"0x{value:04x}"


def _table(enum_type: type[enum.IntEnum], rename: Callable[[str], str]) -> dict[int, str]:
    return {int(member): rename(member.name) for member in enum_type}


_VERSIONS = {
    int(ProtocolVersion.SSL3): "SSLv3",
    int(ProtocolVersion.TLS10): "TLSv1.0",
    int(ProtocolVersion.TLS11): "TLSv1.1",
    int(ProtocolVersion.TLS12): "TLSv1.2",
    int(ProtocolVersion.TLS13): "TLSv1.3",
}  # the names HandshakeComplete.version uses
_SUITES = _table(CipherSuiteId, str)
_GROUPS = _table(NamedGroup, str.lower)
_SCHEMES = _table(SignatureScheme, str.lower)
_PSK_MODES = _table(PskKeyExchangeMode, str.lower)
_KEY_UPDATE = _table(KeyUpdateRequest, str.lower)
_ALERTS = _table(AlertDescription, str.lower)
_ALERT_LEVELS = _table(AlertLevel, str.lower)
_CERTIFICATE_TYPES = {
    CERTIFICATE_TYPE_RSA_SIGN: "rsa_sign",
    2: "dss_sign",
    CERTIFICATE_TYPE_ECDSA_SIGN: "ecdsa_sign",
}  # ClientCertificateType, RFC 5246 §7.4.4 and RFC 8422 §5.5
_POINT_FORMATS = {0: "uncompressed", 1: "ansiX962_compressed_prime", 2: "ansiX962_compressed_char2"}
_DHE_PRIMES = {
    g.p: g.name for g in (*GROUPS.values(), *LEGACY_DHE_GROUPS) if isinstance(g, FFDHEGroup)
}


def _short_scheme(name: str) -> str:
    """``ecdsa_p256_sha256`` for ``ecdsa_secp256r1_sha256``, ``pss_rsae_sha256`` for
    ``rsa_pss_rsae_sha256``: lists of nine schemes stay readable, and nothing is ambiguous."""
    name = name.removeprefix("rsa_")
    return name.replace("_secp", "_p").replace("r1_", "_")


_SHORT_SCHEMES = {code: _short_scheme(name) for code, name in _SCHEMES.items()}


def _name(table: dict[int, str], value: int) -> str:
    return table.get(value) or _hex(value)


def _names(table: dict[int, str], values: Iterable[int]) -> str:
    return "[" + ",".join(table.get(v) or _hex(v) for v in values) + "]"


def version_name(version: int) -> str:
    """``TLSv1.3`` for 0x0304; hex for anything else (GREASE, drafts)."""
    return _VERSIONS.get(version) or _hex(version)


def _text(value: bytes) -> str:
    """Printable ASCII as is (an ALPN id, a host name), anything else as hex."""
    if value.isascii() and value.decode("ascii").isprintable() and not set(value) & set(b" ,[]"):
        return value.decode("ascii")
    return "0x" + value.hex()


def _size(value: bytes) -> str:
    return f"{len(value)}B"


# -- extensions -----------------------------------------------------------------------------------

# The order fields appear in, whatever order the sender chose: key exchange, authentication,
# application, resumption, then the rest; extensions not listed here come last.
_ORDER = {
    int(t): rank
    for rank, t in enumerate(
        (
            ExtensionType.SUPPORTED_VERSIONS,
            ExtensionType.SUPPORTED_GROUPS,
            ExtensionType.KEY_SHARE,
            ExtensionType.SIGNATURE_ALGORITHMS,
            ExtensionType.SIGNATURE_ALGORITHMS_CERT,
            ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION,
            ExtensionType.SERVER_NAME,
            ExtensionType.PSK_KEY_EXCHANGE_MODES,
            ExtensionType.PRE_SHARED_KEY,
            ExtensionType.EARLY_DATA,
            ExtensionType.COOKIE,
            ExtensionType.EXTENDED_MASTER_SECRET,
            ExtensionType.RENEGOTIATION_INFO,
            ExtensionType.SESSION_TICKET,
            ExtensionType.EC_POINT_FORMATS,
            ExtensionType.RECORD_SIZE_LIMIT,
            ExtensionType.POST_HANDSHAKE_AUTH,
            ExtensionType.CERTIFICATE_AUTHORITIES,
            ExtensionType.PADDING,
        )
    )
}


def _flag(name: str, value: bytes) -> str:
    """An extension that is usually empty: its name, or its name and size."""
    return f"{name}={_size(value)}" if value else name


def _alpn(ext: ApplicationLayerProtocolNegotiation, offer: bool) -> str:
    names = [_text(p) for p in ext.protocol_name_list]
    return f"alpn=[{','.join(names)}]" if offer else f"alpn={','.join(names)}"


# One formatter per extension class; ``offer`` is True in a ClientHello (lists offered) and False
# in a server's message (one value chosen).
_EXTENSIONS: dict[type[Any], Callable[[Any, bool], str]] = {
    SupportedVersionsClientHello: lambda e, o: "versions=" + _names(_VERSIONS, e.versions),
    SupportedVersionsServerHello: lambda e, o: "version=" + version_name(e.selected_version),
    SupportedGroups: lambda e, o: "groups=" + _names(_GROUPS, e.groups),
    KeyShareClientHello: lambda e, o: (
        "key_share=" + _names(_GROUPS, (s.group for s in e.client_shares))
    ),
    KeyShareServerHello: lambda e, o: "key_share=" + _name(_GROUPS, e.server_share.group),
    KeyShareHelloRetryRequest: lambda e, o: "selected_group=" + _name(_GROUPS, e.selected_group),
    SignatureAlgorithms: lambda e, o: "sigalgs=" + _names(_SHORT_SCHEMES, e.schemes),
    SignatureAlgorithmsCert: lambda e, o: "sigalgs_cert=" + _names(_SHORT_SCHEMES, e.schemes),
    ApplicationLayerProtocolNegotiation: _alpn,
    ServerName: lambda e, o: "sni" if e.host_name is None else f"sni={e.host_name}",
    PskKeyExchangeModes: lambda e, o: "psk_modes=" + _names(_PSK_MODES, e.ke_modes),
    PreSharedKeyClientHello: lambda e, o: f"psk_identities={len(e.identities)}",
    PreSharedKeyServerHello: lambda e, o: f"psk_selected={e.selected_identity}",
    EarlyData: lambda e, o: (
        "early_data" if e.max_early_data_size is None else f"max_early_data={e.max_early_data_size}"
    ),
    Cookie: lambda e, o: f"cookie={_size(e.cookie)}",
    ExtendedMasterSecret: lambda e, o: "ems",
    RenegotiationInfo: lambda e, o: _flag("reneg_info", e.renegotiated_connection),
    SessionTicket: lambda e, o: _flag("session_ticket", e.ticket),
    EcPointFormats: lambda e, o: "ec_point_formats=" + _names(_POINT_FORMATS, e.formats),
    RecordSizeLimit: lambda e, o: f"record_size_limit={e.record_size_limit}",
    PostHandshakeAuth: lambda e, o: "post_handshake_auth",
    CertificateAuthorities: lambda e, o: f"cas={len(e.authorities)}",
    Padding: lambda e, o: f"padding={e.length}B",
}


def _extension_fields(
    extensions: Sequence[Extension], *, offer: bool = False, skip: type[Any] | None = None
) -> list[str]:
    """The known extensions in a fixed order, then ``ext=[...]`` naming all the others."""
    fields: list[tuple[int, str]] = []
    others: list[str] = []
    for ext in extensions:
        render = _EXTENSIONS.get(type(ext))
        if isinstance(ext, UnknownExtension) or render is None:
            others.append(extension_name(ext.ext_type))
        elif type(ext) is not skip:
            fields.append((_ORDER.get(ext.ext_type, len(_ORDER)), render(ext, offer)))
    fields.sort(key=lambda item: item[0])  # stable: equal ranks keep the wire order
    out = [text for _, text in fields]
    if others:
        out.append(f"ext=[{','.join(others)}]")
    return out
