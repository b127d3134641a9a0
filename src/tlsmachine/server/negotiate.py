"""Server: negotiation steps shared by the TLS 1.3 and TLS 1.2 handshakes."""

from __future__ import annotations

from ..config import ServerConfig
from ..errors import NoApplicationProtocol
from ..extensions import ApplicationLayerProtocolNegotiation, ServerName
from ..messages.hello import ClientHello


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
