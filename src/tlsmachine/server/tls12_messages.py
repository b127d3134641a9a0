"""Server: the messages of our TLS 1.2 flight that :mod:`tlsmachine.server.tls12` sends, built
from what was negotiated: the ServerHello and its extensions (RFC 5246 §7.4.1.3, RFC 5746,
RFC 7627, RFC 5077, RFC 7301, RFC 8449), the CertificateRequest (§7.4.4) and the signed
ServerKeyExchange (§7.4.3, RFC 8422 §5.4, RFC 7919).
"""

from __future__ import annotations

from ..config import ServerConfig
from ..crypto.groups import FFDHEGroup, PrivateKeyShare
from ..crypto.signatures import sign, spki_is_rsassa_pss, tls12_advertised
from ..crypto.suites import CipherSuite12
from ..enums import ProtocolVersion
from ..extensions import (
    ApplicationLayerProtocolNegotiation,
    ExtendedMasterSecret,
    Extension,
    RecordSizeLimit,
    RenegotiationInfo,
    SessionTicket,
)
from ..handshake12 import dh_public12, server_key_exchange_input
from ..machine import Output
from ..messages.hello import ClientHello, ServerHello
from ..messages.tls12 import (
    CERTIFICATE_TYPE_ECDSA_SIGN,
    CERTIFICATE_TYPE_RSA_SIGN,
    CertificateRequest12,
    ServerKeyExchange,
    dhe_params,
    ecdhe_params,
)
from ..record.limits import MAX_PLAINTEXT
from .choose12 import Choice12

__all__ = [
    "answer_record_size_limit",
    "certificate_request",
    "hello_extensions",
    "server_hello12",
    "server_key_exchange",
]


def server_hello12(
    hs_random: bytes,
    hello: ClientHello,
    session_id: bytes,
    suite: CipherSuite12,
    extensions: list[Extension],
) -> ServerHello:
    """Our TLS 1.2 ServerHello (RFC 5246 §7.4.1.3)."""
    return ServerHello(
        legacy_version=ProtocolVersion.TLS12,
        random=hs_random,
        legacy_session_id_echo=session_id,
        cipher_suite=suite.id,
        legacy_compression_method=0,
        extensions=tuple(extensions),
    )


def hello_extensions(
    secure_renegotiation: bool, ems: bool, alpn: str | None, ticket: bool
) -> list[Extension]:
    """The ServerHello extensions of both handshakes, answering only what the client sent."""
    extensions: list[Extension] = []
    if secure_renegotiation:
        extensions.append(RenegotiationInfo(renegotiated_connection=b""))  # RFC 5746 §3.6
    if ems:
        extensions.append(ExtendedMasterSecret())  # RFC 7627 §5.1
    if ticket:
        extensions.append(SessionTicket(ticket=b""))  # RFC 5077 §3.2: a ticket will follow
    if alpn is not None:
        extensions.append(ApplicationLayerProtocolNegotiation(protocol_name_list=(alpn.encode(),)))
    return extensions


def answer_record_size_limit(
    config: ServerConfig, hello: ClientHello, extensions: list[Extension], out: Output
) -> None:
    """Answer the client's record_size_limit with ours and keep to its limit (RFC 8449 §4);
    a TLS 1.2 limit counts only the content, at most 2^14 octets (§4: no value above the
    protocol's maximum). It applies to protected records: after our ChangeCipherSpec."""
    client_limit = hello.get(RecordSizeLimit)
    if client_limit is not None:
        ours = min(config.record_size_limit, MAX_PLAINTEXT)
        extensions.append(RecordSizeLimit(record_size_limit=ours))
        out.record_size_limits(send=client_limit.record_size_limit, receive=ours)


def certificate_request(config: ServerConfig) -> CertificateRequest12:
    """Our CertificateRequest (RFC 5246 §7.4.4): RSA or ECDSA keys, the signature schemes we
    accept and the certificate authorities we trust."""
    return CertificateRequest12(
        certificate_types=bytes((CERTIFICATE_TYPE_RSA_SIGN, CERTIFICATE_TYPE_ECDSA_SIGN)),
        supported_signature_algorithms=tls12_advertised(config.signature_schemes),
        certificate_authorities=config.certificate_authorities(),
    )


def server_key_exchange(
    config: ServerConfig,
    client_random: bytes,
    server_random: bytes,
    choice: Choice12,
    share: PrivateKeyShare,
) -> ServerKeyExchange:
    """Our (EC)DHE parameters signed over both randoms (RFC 5246 §7.4.3, RFC 8422 §5.4)."""
    group = choice.group
    if isinstance(group, FFDHEGroup):
        prime = group.p.to_bytes(group.prime_len, "big")
        params = dhe_params(prime, b"\x02", dh_public12(share.public_bytes))
    else:
        params = ecdhe_params(group.id, share.public_bytes)
    content = server_key_exchange_input(client_random, server_random, params)
    certified = choice.signer.certified
    if config.signer is not None:
        signature = config.signer(choice.scheme, certified.private_key, content)
    else:
        pss = spki_is_rsassa_pss(certified.leaf)
        signature = sign(choice.scheme, certified.private_key, content, tls13=False, rsassa_pss=pss)
    return ServerKeyExchange.signed(params, choice.scheme, signature)
