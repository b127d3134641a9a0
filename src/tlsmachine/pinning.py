"""Trust by pinning: accept exactly the certificates or public keys given in advance.

:class:`PinnedCertificate` replaces RFC 5280 path validation with a comparison of the peer's
leaf against SHA-256 pins (of the certificate, or of its public key as RFC 7469 pins it), for a
self-signed or private peer known beforehand.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re

from cryptography import x509
from cryptography.x509.verification import Subject

from .cert_facts import (
    Chain,
    as_utc,
    check_leaf_usable,
    describe,
    format_utc,
    name_mismatch_error,
    server_name_subject,
    subject_alt_names,
)
from .certs import certificate_sha256, spki_sha256
from .errors import (
    CertificateExpired,
    CertificateRequired,
    ConfigurationError,
    DecodeError,
    UnknownCA,
)
from .trust_store import UNREADABLE_CERTIFICATE


class PinnedCertificate:
    """Trusts exactly the pinned certificate(s) or public key(s) instead of any CA.

    For a self-signed or private server (or client) known in advance. Each pin is one of:

    * a certificate (an :class:`x509.Certificate`, or PEM or DER bytes/text) or the SHA-256
      fingerprint of its DER in hex, colons optional, as ``openssl x509 -noout -fingerprint
      -sha256`` and :meth:`CertifiedKey.fingerprint_sha256` print it: matches exactly that
      certificate;
    * ``"sha256/<base64>"`` (or curl's ``"sha256//<base64>"``): the SHA-256 of the
      SubjectPublicKeyInfo, an RFC 7469 §2.4 ``pin-sha256``: matches any certificate for that
      key, so the pin survives renewing the certificate with the same key.

    Only the leaf (the first certificate, RFC 8446 §4.4.2) is compared; the rest of the chain
    is ignored, as the pin replaces RFC 5280 path validation. The handshake still proves that
    the peer holds the key (CertificateVerify, §4.4.3). A leaf matching no pin is
    ``unknown_ca`` (the pins are the only trust anchors, §6.2), with both fingerprints in the
    message. ``check_validity`` (default on) still requires notBefore <= now <= notAfter
    (``certificate_expired``); ``check_hostname`` (default off: the pin already names the
    peer) also requires the server name in the leaf's subjectAltNames (``bad_certificate``).
    The leaf's key must be usable and not weak, as with :class:`DefaultVerifier`.
    """

    def __init__(
        self,
        *pins: x509.Certificate | bytes | str,
        check_validity: bool = True,
        check_hostname: bool = False,
    ) -> None:
        if not pins:
            raise ConfigurationError("PinnedCertificate needs at least one certificate or pin")
        parsed = [p for pin in pins for p in _parse_pin(pin)]
        self.pins: tuple[str, ...] = tuple(dict.fromkeys(parsed))
        """Normalised pins: ``AB:CD:...`` (certificate) or ``sha256/...`` (public key)."""
        self.check_validity = check_validity
        self.check_hostname = check_hostname

    def verify_server(self, chain: Chain, server_name: str | None, now: dt.datetime) -> None:
        """Accept the server's chain if its leaf matches a pin (and, if asked, the name)."""
        if not chain:
            raise DecodeError("the server sent an empty Certificate message (RFC 8446 §4.4.2.4)")
        if self.check_hostname and server_name is None:
            raise ConfigurationError(
                "PinnedCertificate(check_hostname=True) needs the server name the client"
                " connected to"
            )
        self._check(chain[0], now)
        if self.check_hostname and server_name is not None:
            subject = server_name_subject(server_name)
            if not _name_matches(subject, chain[0]):
                raise name_mismatch_error(subject, chain[0])

    def verify_client(self, chain: Chain, now: dt.datetime) -> None:
        """Accept a client's chain if its leaf matches a pin."""
        if not chain:
            raise CertificateRequired(
                "the client sent no certificate, but this server requires one (RFC 8446 §4.4.2.4)"
            )
        self._check(chain[0], now)

    def _check(self, leaf: x509.Certificate, now: dt.datetime) -> None:
        cert_pin, key_pin = certificate_sha256(leaf), spki_sha256(leaf)
        if cert_pin not in self.pins and key_pin not in self.pins:
            expected = " or ".join(_pin_label(p) for p in self.pins)
            raise UnknownCA(
                f"{describe(leaf)} is not the pinned certificate: expected {expected}; received"
                f" certificate SHA-256 {cert_pin} (public key {key_pin}); if the peer's"
                " certificate changed on purpose, pin the new one"
            )
        now = as_utc(now)
        if self.check_validity:
            nb, na = leaf.not_valid_before_utc, leaf.not_valid_after_utc
            dates = (
                f"now {format_utc(now)}; valid from {format_utc(nb)} to {format_utc(na)};"
                " the pinned certificate"
            )
            if now > na:
                raise CertificateExpired(
                    f"{describe(leaf)} expired on {format_utc(na)} ({dates}): the peer must renew"
                    " it (and the pin be updated), or use PinnedCertificate(check_validity=False)"
                )
            if now < nb:
                raise CertificateExpired(
                    f"{describe(leaf)} is not valid before {format_utc(nb)} ({dates}): check that"
                    " this machine's clock is right"
                )
        check_leaf_usable(leaf)


def _parse_pin(pin: x509.Certificate | bytes | str) -> list[str]:
    """A pin in the normalised forms of :attr:`PinnedCertificate.pins`."""
    if isinstance(pin, x509.Certificate):
        return [certificate_sha256(pin)]
    if isinstance(pin, bytes | bytearray | memoryview):
        data = bytes(pin)
        if b"-----BEGIN" in data:
            try:
                return [certificate_sha256(c) for c in x509.load_pem_x509_certificates(data)]
            except UNREADABLE_CERTIFICATE as exc:
                raise ConfigurationError(f"pinned PEM: no readable certificate ({exc})") from None
        try:
            return [certificate_sha256(x509.load_der_x509_certificate(data))]
        except UNREADABLE_CERTIFICATE as exc:
            raise ConfigurationError(f"pinned bytes are neither PEM nor DER ({exc})") from None
    text = pin.strip()
    if "-----BEGIN" in text:
        return _parse_pin(text.encode("ascii", "replace"))
    if text.lower().startswith("sha256/"):
        # "sha256/<b64>" (RFC 7469 §2.4) or curl's "sha256//<b64>"; the base64 text itself
        # may begin with "/", so only the one extra slash of curl's form is removed
        encoded = text[8:] if text[7:8] == "/" and len(text) - 8 == 44 else text[7:]
        try:
            digest = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            digest = b""
        if len(digest) != 32:
            raise ConfigurationError(
                f"public key pin {pin!r} is not sha256/ followed by the base64 of 32 bytes"
            )
        return ["sha256/" + base64.b64encode(digest).decode("ascii")]
    hex_digits = re.sub(r"[\s:]", "", text.rpartition("=")[2])  # "SHA256 Fingerprint=AB:..."
    if not re.fullmatch(r"[0-9A-Fa-f]{64}", hex_digits):
        raise ConfigurationError(
            f"pin {pin!r} is neither a SHA-256 certificate fingerprint (64 hex digits, colons"
            " optional), a sha256/<base64> public key pin nor a PEM certificate"
        )
    return [":".join(re.findall("..", hex_digits.upper()))]


def _pin_label(pin: str) -> str:
    return f"public key {pin}" if pin.startswith("sha256/") else f"certificate SHA-256 {pin}"


def _name_matches(subject: Subject, cert: x509.Certificate) -> bool:
    """RFC 6125 §6.4 matching for :class:`PinnedCertificate`, which builds no path for pyca to
    check names on: an IP address equals an iPAddress SAN; a DNS name equals a DNS SAN
    (ignoring case), or a ``*.`` wildcard SAN standing for exactly its first label (§6.4.3)."""
    if isinstance(subject, x509.IPAddress):
        return any(
            isinstance(n, x509.IPAddress) and n.value == subject.value
            for n in subject_alt_names(cert)
        )
    host = str(subject.value).lower()
    rest = host.partition(".")[2]
    for name in subject_alt_names(cert):
        if not isinstance(name, x509.DNSName):
            continue
        pattern = name.value.lower().removesuffix(".")
        if pattern == host or (pattern.startswith("*.") and rest and pattern[2:] == rest):
            return True
    return False
