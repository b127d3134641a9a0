"""TLS extensions: one frozen dataclass per extension form, plus the block parser.

RFC 8446 §4.2 (the extension block, the "allowed in message" table, duplicates and the
pre_shared_key-last rule) and §4.2.1-§4.2.11 (the TLS 1.3 extensions); RFC 6066 §3 (server_name);
RFC 7301 §3.1 (ALPN); RFC 7685 §3 (padding); RFC 8449 §4 (record_size_limit); RFC 8879 §3
(compress_certificate: only its allowed messages); the TLS 1.2 extensions RFC 8422 §5.1.2
(ec_point_formats), RFC 7627 §5.1 (extended_master_secret), RFC 5077 §3.2 (session_ticket) and
RFC 5746 §3.2 (renegotiation_info), read in ClientHello and TLS 1.2 ServerHello only.

Parsing is two-step: :func:`read_extension_block` splits a block into ``(type, data reader)``
pairs and rejects duplicates; :func:`decode_extension_block` interprets each pair for a message
(an :class:`ExtensionContext`), enforces the §4.2 table and insists every ``extension_data`` is
consumed exactly. ServerHello needs the split first to see whether supported_versions is present
(TLS 1.3) before choosing the context. Unknown extensions stay :class:`UnknownExtension` and
re-serialise byte for byte. Every class has ``parse_data(r, context)`` (reads the body of
``extension_data``) and ``serialize_data(w)`` (writes it); :func:`serialize_extensions` adds the
type and length.

The modules, one concern each: ``base`` (:class:`ExtensionContext`), ``hello`` (the extensions
that negotiate the connection: server_name, ALPN, record_size_limit, padding, supported_groups,
supported_versions, key_share, cookie), ``auth`` (signature_algorithms(_cert),
certificate_authorities, post_handshake_auth), ``psk`` (psk_key_exchange_modes, pre_shared_key,
early_data), ``tls12`` (the TLS 1.2 extensions) and ``block`` (the §4.2 table, the registry and
the block codec). Import from this package, not from the modules.
"""

from __future__ import annotations

from .auth import (
    CertificateAuthorities,
    PostHandshakeAuth,
    SignatureAlgorithms,
    SignatureAlgorithmsCert,
)
from .base import ExtensionContext
from .block import (
    ALLOWED_CONTEXTS,
    Extension,
    RawExtension,
    UnknownExtension,
    decode_extension,
    decode_extension_block,
    encode_extensions,
    extension_name,
    find_extension,
    parse_extensions,
    read_extension_block,
    serialize_extensions,
)
from .hello import (
    ApplicationLayerProtocolNegotiation,
    Cookie,
    KeyShareClientHello,
    KeyShareEntry,
    KeyShareHelloRetryRequest,
    KeyShareServerHello,
    Padding,
    RecordSizeLimit,
    ServerName,
    SupportedGroups,
    SupportedVersionsClientHello,
    SupportedVersionsServerHello,
)
from .psk import (
    EarlyData,
    PreSharedKeyClientHello,
    PreSharedKeyServerHello,
    PskIdentity,
    PskKeyExchangeModes,
)
from .tls12 import (
    EC_POINT_FORMAT_UNCOMPRESSED,
    EcPointFormats,
    ExtendedMasterSecret,
    MalformedTls12Extension,
    RenegotiationInfo,
    SessionTicket,
)

__all__ = [
    "ALLOWED_CONTEXTS",
    "EC_POINT_FORMAT_UNCOMPRESSED",
    "ApplicationLayerProtocolNegotiation",
    "CertificateAuthorities",
    "Cookie",
    "EarlyData",
    "EcPointFormats",
    "ExtendedMasterSecret",
    "Extension",
    "ExtensionContext",
    "KeyShareClientHello",
    "KeyShareEntry",
    "KeyShareHelloRetryRequest",
    "KeyShareServerHello",
    "MalformedTls12Extension",
    "Padding",
    "PostHandshakeAuth",
    "PreSharedKeyClientHello",
    "PreSharedKeyServerHello",
    "PskIdentity",
    "PskKeyExchangeModes",
    "RawExtension",
    "RecordSizeLimit",
    "RenegotiationInfo",
    "ServerName",
    "SessionTicket",
    "SignatureAlgorithms",
    "SignatureAlgorithmsCert",
    "SupportedGroups",
    "SupportedVersionsClientHello",
    "SupportedVersionsServerHello",
    "UnknownExtension",
    "decode_extension",
    "decode_extension_block",
    "encode_extensions",
    "extension_name",
    "find_extension",
    "parse_extensions",
    "read_extension_block",
    "serialize_extensions",
]
