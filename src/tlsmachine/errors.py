"""The exception hierarchy: every protocol error carries the alert it turns into.

Code raises the most specific :class:`ProtocolError` where it detects a problem; the connection
(one choke point) turns it into exactly one fatal alert (RFC 8446 §6.2).
"""

from __future__ import annotations

import ssl as _ssl
from typing import ClassVar

from .enums import AlertDescription


class TLSError(Exception):
    """Base class of everything tlsmachine raises."""


class ConfigurationError(TLSError, ValueError):
    """An invalid configuration, detected at construction time (no alert is sent).

    Also a :class:`ValueError`, which is what :mod:`ssl` raises for bad settings
    (``verify_mode = CERT_NONE`` while ``check_hostname`` is on, ``server_hostname`` on a
    server-side wrap, an unknown curve name). So code written for :mod:`ssl` that catches
    ``ValueError`` around :mod:`tlsmachine.context` catches it too.
    """


class UsageError(TLSError):
    """The API was used wrongly, e.g. ``send()`` before the handshake finished."""


class ProtocolError(TLSError):
    """The peer (or our own state) violated the protocol: we send a fatal ``alert``."""

    alert: ClassVar[AlertDescription] = AlertDescription.INTERNAL_ERROR


class DecodeError(ProtocolError):
    """A message could not be parsed: wrong length, truncated, trailing bytes (§6.2)."""

    alert = AlertDescription.DECODE_ERROR


class UnexpectedMessage(ProtocolError):
    """A message arrived that is not allowed in the current state (§4, §6.2)."""

    alert = AlertDescription.UNEXPECTED_MESSAGE


class IllegalParameter(ProtocolError):
    """A field was syntactically correct but semantically invalid (§6.2)."""

    alert = AlertDescription.ILLEGAL_PARAMETER


class HandshakeFailure(ProtocolError):
    """No acceptable set of security parameters could be negotiated (§6.2)."""

    alert = AlertDescription.HANDSHAKE_FAILURE


class ProtocolVersionError(ProtocolError):
    """The peer's protocol version is not supported (§6.2)."""

    alert = AlertDescription.PROTOCOL_VERSION


class InsufficientSecurity(ProtocolError):
    """The peer's parameters are weaker than we accept (§6.2)."""

    alert = AlertDescription.INSUFFICIENT_SECURITY


class InappropriateFallback(ProtocolError):
    """TLS_FALLBACK_SCSV received while a higher version is supported (RFC 7507 §3)."""

    alert = AlertDescription.INAPPROPRIATE_FALLBACK


class MissingExtension(ProtocolError):
    """A mandatory extension is absent (§6.2, §9.2)."""

    alert = AlertDescription.MISSING_EXTENSION


class UnsupportedExtension(ProtocolError):
    """An extension appeared that the receiver did not offer or may not receive (§4.2)."""

    alert = AlertDescription.UNSUPPORTED_EXTENSION


class BadRecordMac(ProtocolError):
    """A record failed AEAD authentication (§5.2)."""

    alert = AlertDescription.BAD_RECORD_MAC


class RecordOverflow(ProtocolError):
    """A record exceeded the permitted length (§5.1, §5.2)."""

    alert = AlertDescription.RECORD_OVERFLOW


class DecryptError(ProtocolError):
    """A handshake cryptographic check failed: Finished, binder, signature (§6.2)."""

    alert = AlertDescription.DECRYPT_ERROR


class CertificateVerificationError(ProtocolError, _ssl.SSLCertVerificationError):
    """The peer's certificate failed our check: the base of the certificate alerts (§6.2).

    Also :class:`ssl.SSLCertVerificationError` (an ``OSError`` and a ``ValueError``), so that
    code written for :mod:`ssl` treats it alike: ``except ssl.SSLCertVerificationError``,
    ``urlopen()`` wrapping it in ``URLError``, asyncio's handshake-failure report. As there,
    ``verify_code`` is OpenSSL's ``X509_V_ERR_*`` number closest to the failure (each
    subclass has a default), ``verify_message`` says what was wrong (here our full message),
    and ``reason`` is ``"CERTIFICATE_VERIFY_FAILED"``.
    """

    library = "SSL"
    reason = "CERTIFICATE_VERIFY_FAILED"
    verify_code: int = 1  # X509_V_ERR_UNSPECIFIED

    def __init__(self, message: str, *, verify_code: int | None = None) -> None:
        super().__init__(message)
        if verify_code is not None:
            self.verify_code = verify_code
        self.verify_message = message

    def __str__(self) -> str:
        return self.verify_message  # not ssl.SSLError's "('message',)" for an error it did not fill


class BadCertificate(CertificateVerificationError):
    """A certificate was corrupt, its signature did not verify, or it is for another name
    (§6.2)."""

    alert = AlertDescription.BAD_CERTIFICATE


class UnsupportedCertificate(CertificateVerificationError):
    """A certificate was of an unsupported type or not for this use (§6.2)."""

    alert = AlertDescription.UNSUPPORTED_CERTIFICATE
    verify_code = 26  # X509_V_ERR_INVALID_PURPOSE


class CertificateExpired(CertificateVerificationError):
    """A certificate has expired or is not yet valid (§6.2)."""

    alert = AlertDescription.CERTIFICATE_EXPIRED
    verify_code = 10  # X509_V_ERR_CERT_HAS_EXPIRED (9: not yet valid)


class CertificateRevoked(CertificateVerificationError):
    """A certificate was revoked by its signer (§6.2)."""

    alert = AlertDescription.CERTIFICATE_REVOKED
    verify_code = 23  # X509_V_ERR_CERT_REVOKED


class CertificateUnknown(CertificateVerificationError):
    """A certificate was unacceptable for another reason (§6.2)."""

    alert = AlertDescription.CERTIFICATE_UNKNOWN


class UnknownCA(CertificateVerificationError):
    """The certificate chain does not lead to a trusted anchor (§6.2)."""

    alert = AlertDescription.UNKNOWN_CA
    verify_code = 20  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY


class AccessDenied(ProtocolError):
    """A valid certificate or PSK was received but access was refused (§6.2)."""

    alert = AlertDescription.ACCESS_DENIED


class CertificateRequired(ProtocolError):
    """The server requires a client certificate and none was given (§6.2)."""

    alert = AlertDescription.CERTIFICATE_REQUIRED


class UnrecognizedName(ProtocolError):
    """The server does not serve the requested SNI name (RFC 6066 §3)."""

    alert = AlertDescription.UNRECOGNIZED_NAME


class UnknownPskIdentity(ProtocolError):
    """No acceptable PSK identity (§6.2)."""

    alert = AlertDescription.UNKNOWN_PSK_IDENTITY


class NoApplicationProtocol(ProtocolError):
    """ALPN found no common protocol (RFC 7301 §3.2)."""

    alert = AlertDescription.NO_APPLICATION_PROTOCOL


class NoRenegotiation(ProtocolError):
    """Renegotiation was requested and we refuse it (RFC 5246 §7.2.2)."""

    alert = AlertDescription.NO_RENEGOTIATION


class InternalError(ProtocolError):
    """A failure unrelated to the peer: a bug or a local resource problem (§6.2)."""

    alert = AlertDescription.INTERNAL_ERROR


class AlertReceived(TLSError):
    """The peer sent a fatal alert (or an unexpected warning); we send nothing back."""

    def __init__(self, description: int, message: str | None = None) -> None:
        self.description = description
        try:
            name = AlertDescription(description).name.lower()
        except ValueError:
            name = f"unknown alert {description}"
        super().__init__(message or f"peer sent fatal alert: {name}")


class ConnectionClosedError(UsageError):
    """The connection is closed (or failed) and cannot be used any more."""


# -- non-blocking I/O (tlsmachine.context): also ssl's own classes, so code ported from ssl that
# catches ssl.SSLWantReadError / ssl.SSLWantWriteError (asyncio's SSL transport among it) keeps
# working unchanged.


class WantReadError(TLSError, _ssl.SSLWantReadError):
    """Non-blocking I/O: more bytes from the peer are needed before the call can complete.

    Feed what arrives to the incoming BIO, then repeat the same call.
    """


class WantWriteError(TLSError, _ssl.SSLWantWriteError):
    """Non-blocking I/O: the outgoing BIO must be drained before the call can complete.

    Send what the outgoing BIO holds, then repeat the same call.
    """
