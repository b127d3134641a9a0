"""Handshake messages: encoding, decoding and dispatch on ``msg_type`` (RFC 8446 §4, B.3;
RFC 5246 §7.4 for TLS 1.2).

:func:`decode_handshake` parses one complete message (4-byte header included, as returned by
:class:`HandshakeBuffer`) and keeps those bytes as ``.raw`` for the transcript. Which message
types are legal depends on the negotiated version; anything else is ``unexpected_message``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

from ..codec import Reader
from ..enums import HandshakeType, ProtocolVersion, name_of
from ..errors import DecodeError, UnexpectedMessage, UsageError
from .alert import Alert
from .framing import DEFAULT_MAX_MESSAGE_SIZE, HEADER_SIZE, HandshakeBuffer, encode_handshake
from .hello import (
    DOWNGRADE_TLS11,
    DOWNGRADE_TLS12,
    HELLO_RETRY_REQUEST_RANDOM,
    ClientHello,
    ServerHello,
)
from .tls12 import (
    CERTIFICATE_TYPE_ECDSA_SIGN,
    CERTIFICATE_TYPE_RSA_SIGN,
    CHANGE_CIPHER_SPEC,
    EC_CURVE_TYPE_NAMED_CURVE,
    Certificate12,
    CertificateRequest12,
    ChangeCipherSpec,
    ClientKeyExchange,
    DheServerKeyExchange,
    EcdheServerKeyExchange,
    HelloRequest,
    NewSessionTicket12,
    ServerHelloDone,
    ServerKeyExchange,
    dhe_params,
    ecdhe_params,
)
from .tls13 import (
    Certificate,
    CertificateEntry,
    CertificateRequest,
    CertificateVerify,
    EncryptedExtensions,
    EndOfEarlyData,
    Finished,
    KeyUpdate,
    NewSessionTicket,
    message_hash,
)

__all__ = [
    "CERTIFICATE_TYPE_ECDSA_SIGN",
    "CERTIFICATE_TYPE_RSA_SIGN",
    "CHANGE_CIPHER_SPEC",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DOWNGRADE_TLS11",
    "DOWNGRADE_TLS12",
    "EC_CURVE_TYPE_NAMED_CURVE",
    "HEADER_SIZE",
    "HELLO_RETRY_REQUEST_RANDOM",
    "Alert",
    "Certificate",
    "Certificate12",
    "CertificateEntry",
    "CertificateRequest",
    "CertificateRequest12",
    "CertificateVerify",
    "ChangeCipherSpec",
    "ClientHello",
    "ClientKeyExchange",
    "DheServerKeyExchange",
    "EcdheServerKeyExchange",
    "EncryptedExtensions",
    "EndOfEarlyData",
    "Finished",
    "HandshakeBuffer",
    "HandshakeMessage",
    "HelloRequest",
    "KeyUpdate",
    "NewSessionTicket",
    "NewSessionTicket12",
    "ServerHello",
    "ServerHelloDone",
    "ServerKeyExchange",
    "decode_handshake",
    "dhe_params",
    "ecdhe_params",
    "encode_handshake",
    "message_hash",
]

HandshakeMessage: TypeAlias = (
    ClientHello
    | ServerHello
    | EncryptedExtensions
    | Certificate
    | CertificateRequest
    | CertificateVerify
    | Finished
    | NewSessionTicket
    | EndOfEarlyData
    | KeyUpdate
    | HelloRequest
    | Certificate12
    | ServerKeyExchange
    | CertificateRequest12
    | ServerHelloDone
    | ClientKeyExchange
    | NewSessionTicket12
)
_MessageClass: TypeAlias = type[HandshakeMessage]


def _by_type(*classes: _MessageClass) -> Mapping[int, _MessageClass]:
    return {cls.msg_type: cls for cls in classes}


# RFC 8446 §4 / B.3: the TLS 1.3 message set (message_hash is never sent).
_TLS13_MESSAGES = _by_type(
    ClientHello,
    ServerHello,
    NewSessionTicket,
    EndOfEarlyData,
    EncryptedExtensions,
    Certificate,
    CertificateRequest,
    CertificateVerify,
    Finished,
    KeyUpdate,
)
# RFC 5246 §7.4 / A.4 (with RFC 5077 §3.3 NewSessionTicket): the TLS 1.2 message set.
# CertificateVerify and Finished have the TLS 1.3 form; ChangeCipherSpec is not a handshake message.
_TLS12_MESSAGES = _by_type(
    HelloRequest,
    ClientHello,
    ServerHello,
    NewSessionTicket12,
    Certificate12,
    ServerKeyExchange,
    CertificateRequest12,
    ServerHelloDone,
    CertificateVerify,
    ClientKeyExchange,
    Finished,
)
_MESSAGE_SETS: Mapping[ProtocolVersion, Mapping[int, _MessageClass]] = {
    ProtocolVersion.TLS13: _TLS13_MESSAGES,
    ProtocolVersion.TLS12: _TLS12_MESSAGES,
}


def decode_handshake(
    raw: bytes, *, version: ProtocolVersion = ProtocolVersion.TLS13
) -> HandshakeMessage:
    """Parse one whole handshake message (header included); the result's ``raw`` is ``raw``.

    The header length must match exactly (``decode_error``); a ``msg_type`` outside the
    message set of ``version`` is ``unexpected_message`` (RFC 8446 §4).
    """
    messages = _MESSAGE_SETS.get(version)
    if messages is None:
        raise UsageError(f"decode_handshake: no message set for {version!r}")
    size = len(raw)
    if size < HEADER_SIZE:
        raise DecodeError(f"handshake message of {size} bytes is shorter than its header")
    length = raw[1] << 16 | raw[2] << 8 | raw[3]  # uint24 length
    if length != size - HEADER_SIZE:
        raise DecodeError(
            f"handshake header announces {length} bytes, {size - HEADER_SIZE} present"
        )
    cls = messages.get(raw[0])
    if cls is None:
        name = name_of(HandshakeType, raw[0]).lower()
        raise UnexpectedMessage(f"handshake message {name} is not valid in {version.name}")
    return cls.parse_body(Reader(raw, HEADER_SIZE), raw)
