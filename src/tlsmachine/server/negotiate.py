"""Server: negotiation steps shared by the TLS 1.3 and TLS 1.2 handshakes: the version
(RFC 8446 §4.2.1, RFC 5246 §7.4.1.2, RFC 7507), the config for the client's server name
(RFC 6066 §3) and ALPN (RFC 7301 §3.2)."""

from __future__ import annotations

from ..config import SUPPORTED_VERSIONS, ServerConfig
from ..enums import CipherSuiteId, ProtocolVersion
from ..errors import (
    InappropriateFallback,
    InternalError,
    NoApplicationProtocol,
    ProtocolError,
    ProtocolVersionError,
)
from ..extensions import (
    ApplicationLayerProtocolNegotiation,
    ServerName,
    SupportedVersionsClientHello,
)
from ..messages.hello import ClientHello

_SSL3 = 0x0300


def choose_alpn(config: ServerConfig, hello: ClientHello) -> str | None:
    offer = hello.get(ApplicationLayerProtocolNegotiation)
    if offer is None or not config.alpn_protocols:
        return None
    for proto in config.alpn_protocols:
        if proto.encode() in offer.protocol_name_list:
            return proto
    # RFC 7301 §3.2: no overlap -> no_application_protocol.
    raise NoApplicationProtocol(
        f"client offered ALPN {[p.decode('ascii', 'replace') for p in offer.protocol_name_list]}, "
        f"server supports {list(config.alpn_protocols)}"
    )


def server_name_of(hello: ClientHello) -> str | None:
    sni = hello.get(ServerName)
    return sni.host_name if sni is not None else None


def negotiate_version(config: ServerConfig, hello: ClientHello) -> ProtocolVersion:
    """The version to speak (RFC 8446 §4.2.1, RFC 5246 §7.4.1.2, Appendix E.1).

    supported_versions, when present, is all that counts (its legacy_version is 0x0303);
    without it the client speaks TLS 1.2 or older, by legacy_version. Below TLS 1.2 (RFC 8996)
    or outside our range: protocol_version. TLS_FALLBACK_SCSV from a client that could have
    offered more than it did while we support more: inappropriate_fallback (RFC 7507 §3), but
    never for a TLS 1.0 or 1.1 hello, which RFC 8996 §4-§5 (obsoleting RFC 7507) answers with
    protocol_version only.
    """
    if hello.legacy_version <= _SSL3:
        # RFC 8446 Appendix D.5: a hello with legacy_version 0x0300 or below MUST be answered
        # with protocol_version, whatever supported_versions says.
        raise ProtocolVersionError(f"ClientHello legacy_version 0x{hello.legacy_version:04x}")
    versions = hello.get(SupportedVersionsClientHello)
    if versions is not None:
        offered = versions.versions
    elif hello.legacy_version >= ProtocolVersion.TLS12:
        offered = (ProtocolVersion.TLS12,)  # §4.2.1: never 1.3 without supported_versions
    else:
        offered = ()
    version = next(
        (
            v
            for v in SUPPORTED_VERSIONS
            if v in offered and config.min_version <= v <= config.max_version
        ),
        None,
    )
    fallback = CipherSuiteId.TLS_FALLBACK_SCSV in hello.cipher_suites
    if version is None:
        names = ", ".join(f"0x{v:04x}" for v in offered) or f"0x{hello.legacy_version:04x}"
        highest = max(offered, default=hello.legacy_version)
        if fallback and ProtocolVersion.TLS12 <= highest < config.max_version:
            # RFC 7507 §3 allows protocol_version here too; inappropriate_fallback says more.
            # Not below TLS 1.2: RFC 8996 §5, "Any party receiving a Hello message with the
            # protocol version set to {03,02} MUST respond with a "protocol_version" alert"
            # (§4 likewise for {03,01}), whatever tlsfuzzer's and BoGo's fallback tests expect.
            raise InappropriateFallback(f"client signals a fallback to {names}")
        raise ProtocolVersionError(
            f"client offers TLS versions {names}; we accept "
            f"{config.min_version.name}..{config.max_version.name}"
        )
    if fallback and version < config.max_version:
        raise InappropriateFallback(
            f"client signals a fallback to 0x{version:04x}; we support 0x{config.max_version:04x}"
        )
    return version


def config_for_server_name(config: ServerConfig, hello: ClientHello) -> ServerConfig:
    """The config for this connection, from ``server_name_callback`` (RFC 6066 §3).

    Called once, with the first ClientHello's host name (``None`` without server_name), before
    anything is negotiated. A :class:`ProtocolError` it raises (e.g. ``UnrecognizedName``)
    aborts with that alert; anything else is the application's bug: internal_error.
    """
    callback = config.server_name_callback
    if callback is None:
        return config
    name = server_name_of(hello)
    try:
        chosen = callback(name)
    except ProtocolError:
        raise
    except Exception as exc:
        raise InternalError(f"server_name_callback({name!r}) raised {exc!r}") from exc
    if chosen is None:
        return config
    if not isinstance(chosen, ServerConfig):
        raise InternalError(
            f"server_name_callback({name!r}) returned {type(chosen).__name__}, "
            "not a ServerConfig or None"
        )
    return chosen
