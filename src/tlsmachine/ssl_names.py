"""ssl's names for tlsmachine's things: the constants, enums and exception aliases that code
written for :mod:`ssl` uses (``CERT_REQUIRED``, ``PROTOCOL_TLS_CLIENT``, ``OP_NO_TICKET``,
``ALERT_DESCRIPTION_*``, ``HAS_*``, ``SSLError``, ``SSLSocket`` ...). :mod:`tlsmachine.context`
re-exports every one, so that ``import tlsmachine.context as ssl`` keeps ported code running;
they live here so the whole alias table reads in one place.
"""

from __future__ import annotations

import ssl

from .enums import AlertDescription
from .errors import CertificateVerificationError, TLSError, WantReadError, WantWriteError
from .tls_socket import RaggedEOFError, TLSSocket

__all__ = [
    "ALERT_DESCRIPTION_ACCESS_DENIED",
    "ALERT_DESCRIPTION_HANDSHAKE_FAILURE",
    "ALERT_DESCRIPTION_INTERNAL_ERROR",
    "ALERT_DESCRIPTION_UNRECOGNIZED_NAME",
    "CERT_NONE",
    "CERT_OPTIONAL",
    "CERT_REQUIRED",
    "CHANNEL_BINDING_TYPES",
    "HAS_ALPN",
    "HAS_NPN",
    "HAS_SNI",
    "OP_NO_COMPRESSION",
    "OP_NO_TICKET",
    "PROTOCOL_TLS_CLIENT",
    "PROTOCOL_TLS_SERVER",
    "VERIFY_ALLOW_PROXY_CERTS",
    "VERIFY_CRL_CHECK_CHAIN",
    "VERIFY_CRL_CHECK_LEAF",
    "VERIFY_DEFAULT",
    "VERIFY_X509_PARTIAL_CHAIN",
    "VERIFY_X509_STRICT",
    "VERIFY_X509_TRUSTED_FIRST",
    "CertificateError",
    "HAS_SSLv2",
    "HAS_SSLv3",
    "HAS_TLSv1",
    "HAS_TLSv1_1",
    "HAS_TLSv1_2",
    "HAS_TLSv1_3",
    "MemoryBIO",
    "OP_NO_SSLv2",
    "OP_NO_SSLv3",
    "OP_NO_TLSv1",
    "OP_NO_TLSv1_1",
    "OP_NO_TLSv1_2",
    "OP_NO_TLSv1_3",
    "Purpose",
    "SSLCertVerificationError",
    "SSLEOFError",
    "SSLError",
    "SSLSocket",
    "SSLWantReadError",
    "SSLWantWriteError",
    "SSLZeroReturnError",
    "TLSVersion",
    "VerifyFlags",
    "VerifyMode",
]

Purpose = ssl.Purpose
TLSVersion = ssl.TLSVersion
VerifyMode = ssl.VerifyMode
VerifyFlags = ssl.VerifyFlags
MemoryBIO = ssl.MemoryBIO
CERT_NONE = ssl.CERT_NONE
CERT_OPTIONAL = ssl.CERT_OPTIONAL
CERT_REQUIRED = ssl.CERT_REQUIRED
PROTOCOL_TLS_CLIENT = ssl.PROTOCOL_TLS_CLIENT
PROTOCOL_TLS_SERVER = ssl.PROTOCOL_TLS_SERVER
OP_NO_COMPRESSION = ssl.OP_NO_COMPRESSION
OP_NO_SSLv2 = ssl.OP_NO_SSLv2
OP_NO_SSLv3 = ssl.OP_NO_SSLv3
OP_NO_TLSv1 = ssl.OP_NO_TLSv1
OP_NO_TLSv1_1 = ssl.OP_NO_TLSv1_1
OP_NO_TLSv1_2 = ssl.OP_NO_TLSv1_2
OP_NO_TLSv1_3 = ssl.OP_NO_TLSv1_3
OP_NO_TICKET = ssl.OP_NO_TICKET
VERIFY_DEFAULT = ssl.VERIFY_DEFAULT
VERIFY_CRL_CHECK_LEAF = ssl.VERIFY_CRL_CHECK_LEAF
VERIFY_CRL_CHECK_CHAIN = ssl.VERIFY_CRL_CHECK_CHAIN
VERIFY_X509_STRICT = ssl.VERIFY_X509_STRICT
VERIFY_ALLOW_PROXY_CERTS = ssl.VERIFY_ALLOW_PROXY_CERTS
VERIFY_X509_TRUSTED_FIRST = ssl.VERIFY_X509_TRUSTED_FIRST
VERIFY_X509_PARTIAL_CHAIN = ssl.VERIFY_X509_PARTIAL_CHAIN
ALERT_DESCRIPTION_HANDSHAKE_FAILURE = AlertDescription.HANDSHAKE_FAILURE
ALERT_DESCRIPTION_INTERNAL_ERROR = AlertDescription.INTERNAL_ERROR
ALERT_DESCRIPTION_ACCESS_DENIED = AlertDescription.ACCESS_DENIED
ALERT_DESCRIPTION_UNRECOGNIZED_NAME = AlertDescription.UNRECOGNIZED_NAME
HAS_SNI = HAS_ALPN = HAS_TLSv1_2 = HAS_TLSv1_3 = True
HAS_SSLv2 = HAS_SSLv3 = HAS_TLSv1 = HAS_TLSv1_1 = HAS_NPN = False
CHANNEL_BINDING_TYPES = ["tls-exporter"]
SSLError = TLSError
SSLWantReadError = WantReadError
SSLWantWriteError = WantWriteError
SSLEOFError = RaggedEOFError
SSLCertVerificationError = CertificateError = CertificateVerificationError
"""The certificate alerts' base class (UnknownCA, CertificateExpired, BadCertificate, ...),
itself an ``ssl.SSLCertVerificationError``: ``verify_code``/``verify_message`` as in ssl."""
SSLZeroReturnError = ssl.SSLZeroReturnError
"""Never raised: a read after the peer's close_notify returns ``b""``, as ssl's sockets do."""
SSLSocket = TLSSocket
