"""The settings of a :class:`~tlsmachine.context.Context`, as ssl's ``SSLContext`` has them.

:class:`ContextSettings` holds the mutable, ssl-shaped settings and checks each one as it is
set, the way ssl does: the role, ``verify_mode`` and ``check_hostname``, the versions and
``options``, our certificate chains and the trust anchors, ALPN, cipher suites, groups, session
tickets, the key log and the SNI callback. It builds no config and makes no protocol decision:
:mod:`tlsmachine.context_config` turns these settings into frozen configs, and
:class:`~tlsmachine.context.Context` (import it from :mod:`tlsmachine.context`) wraps sockets
and BIOs with them.
"""

from __future__ import annotations

import operator
import os
import ssl
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .certs import CertifiedKey
from .cipher_strings import cipher_description as _cipher_description
from .cipher_strings import parse_cipher_string
from .context_stats import SessionStats
from .context_trust import NoTrustAnchors as _NoTrustAnchors
from .context_trust import der_certificates as _der_certificates
from .context_trust import is_ca as _is_ca
from .crypto.groups import DEFAULT_GROUPS, GROUPS, SECP256R1, SECP384R1, SECP521R1, X448, Group
from .crypto.groups import X25519 as _X25519
from .crypto.signatures import key_kind
from .crypto.suites import DEFAULT_TLS12_SUITES, DEFAULT_TLS13_SUITES, CipherSuite, CipherSuite12
from .enums import ProtocolVersion
from .errors import ConfigurationError
from .keylog import KeyLogFile
from .peer_certificate import PeerCertificate, peer_certificate_dict
from .session import AeadTicketSealer
from .session_cache import InMemorySessionCache
from .ssl_names import (
    CERT_NONE,
    CERT_REQUIRED,
    OP_NO_COMPRESSION,
    PROTOCOL_TLS_CLIENT,
    PROTOCOL_TLS_SERVER,
    VERIFY_ALLOW_PROXY_CERTS,
    VERIFY_CRL_CHECK_CHAIN,
    VERIFY_X509_PARTIAL_CHAIN,
    VERIFY_X509_STRICT,
    VERIFY_X509_TRUSTED_FIRST,
    OP_NO_SSLv2,
    OP_NO_SSLv3,
    OP_NO_TLSv1,
    OP_NO_TLSv1_1,
    OP_NO_TLSv1_2,
    OP_NO_TLSv1_3,
    Purpose,
    TLSVersion,
    VerifyFlags,
    VerifyMode,
)
from .trust_store import PathLike, load_trust_anchors, system_trust_anchors
from .verify import CertificateVerifier, DefaultVerifier

if TYPE_CHECKING:
    from .context import Context
    from .tls_object import TLSObject
    from .tls_socket import TLSSocket

__all__ = ["ContextSettings", "SniCallback"]

_ALWAYS_OFF = OP_NO_SSLv2 | OP_NO_SSLv3 | OP_NO_TLSv1 | OP_NO_TLSv1_1 | OP_NO_COMPRESSION
"""Options that are always in effect: those protocols and compression do not exist here."""

_HONOURED_VERIFY_FLAGS = (
    VERIFY_X509_STRICT.value
    | VERIFY_X509_TRUSTED_FIRST.value
    | VERIFY_X509_PARTIAL_CHAIN.value
    | VERIFY_ALLOW_PROXY_CERTS.value
)
"""verify_flags pyca's verifier always satisfies (see :attr:`ContextSettings.verify_flags`)."""

SniCallback = Callable[["TLSSocket | TLSObject", "str | None", "Context"], "int | None"]
"""ssl's ``sni_callback(tls, server_name, context)``: set ``tls.context`` to another server
Context to switch certificates; return None, or an ``ALERT_DESCRIPTION_*`` to refuse."""


# -- certificates ------------------------------------------------------------------------------


def _key_kind(certified: CertifiedKey) -> str:
    """One chain per key type, as OpenSSL keeps one RSA and one ECDSA chain per context."""
    return key_kind(certified.private_key)  # rsa, ec, ed25519, ed448, mldsa44/65/87


# -- set_ecdh_curve ------------------------------------------------------------------------

_CURVE_NAMES: dict[str, Group] = {
    **{g.name.lower(): g for g in GROUPS.values()},
    "prime256v1": SECP256R1,
    "p-256": SECP256R1,
    "p-384": SECP384R1,
    "p-521": SECP521R1,
    "x25519": _X25519,
    "x448": X448,
}


class ContextSettings:
    """The settings half of :class:`~tlsmachine.context.Context` (see its docstring): each
    setter checks its value as ssl's does; nothing here builds a config or a connection."""

    def __init__(self, protocol: int | None = None, *, server_side: bool | None = None) -> None:
        if protocol is None:
            is_server = bool(server_side)
        elif protocol in (PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER):
            is_server = protocol == PROTOCOL_TLS_SERVER
            if server_side is not None and server_side != is_server:
                raise ConfigurationError("server_side contradicts the protocol given")
        else:
            raise ConfigurationError(
                f"protocol {protocol!r} is not supported: use PROTOCOL_TLS_CLIENT or "
                "PROTOCOL_TLS_SERVER, and minimum_version/maximum_version for versions"
            )
        self._server = is_server
        self._verify_mode = CERT_NONE if is_server else CERT_REQUIRED
        self._check_hostname = not is_server
        self._verify_flags = int(VERIFY_X509_TRUSTED_FIRST)  # ssl's default (OpenSSL 3)
        self._minimum = ProtocolVersion.TLS12
        self._maximum = ProtocolVersion.TLS13
        self._options = _ALWAYS_OFF
        self._alpn: tuple[str, ...] = ()
        self._suites13: tuple[CipherSuite, ...] = DEFAULT_TLS13_SUITES
        self._suites12: tuple[CipherSuite12, ...] = DEFAULT_TLS12_SUITES
        self._groups: tuple[Group, ...] = DEFAULT_GROUPS
        self._certificates: dict[str, CertifiedKey] = {}
        self._anchors: dict[bytes, x509.Certificate] = {}
        self._system_anchors = False
        self._verifier: CertificateVerifier | None = None
        self._keylog: KeyLogFile | None = None
        self._sni_callback: SniCallback | None = None
        self._num_tickets = 2
        self.post_handshake_auth = False
        """Client: offer post-handshake authentication (RFC 8446 §4.2.6) when it has a
        certificate; server: ask for client certificates only after the handshake, with
        :meth:`TLSSocket.verify_client_post_handshake` (not during it, as OpenSSL does)."""
        # state that must outlive a connection: ticket keys and the TLS 1.2 session cache
        self._ticket_sealer = AeadTicketSealer()
        self._session_cache = InMemorySessionCache()
        self._stats = SessionStats()

    def __repr__(self) -> str:
        return f"<tlsmachine.context.Context {'server' if self._server else 'client'}>"

    # -- role and verification -----------------------------------------------------------

    @property
    def protocol(self) -> ssl._SSLMethod:
        return PROTOCOL_TLS_SERVER if self._server else PROTOCOL_TLS_CLIENT

    @property
    def verify_mode(self) -> ssl.VerifyMode:
        """Client: CERT_NONE turns verification off (OPTIONAL acts as REQUIRED, as in ssl);
        server: ask for a client certificate (OPTIONAL) or insist on one (REQUIRED)."""
        return self._verify_mode

    @verify_mode.setter
    def verify_mode(self, value: int) -> None:
        mode = VerifyMode(value)
        if mode == CERT_NONE and self._check_hostname:
            raise ConfigurationError(
                "cannot set verify_mode to CERT_NONE when check_hostname is enabled"
            )
        self._verify_mode = mode

    @property
    def check_hostname(self) -> bool:
        """Match the server's certificate against ``server_hostname`` (RFC 6125 via pyca)."""
        return self._check_hostname

    @check_hostname.setter
    def check_hostname(self, value: bool) -> None:
        if value and self._verify_mode == CERT_NONE:
            self._verify_mode = CERT_REQUIRED  # as ssl: a name check implies a chain check
        self._check_hostname = bool(value)

    @property
    def verify_flags(self) -> ssl.VerifyFlags:
        """ssl's certificate verification flags; VERIFY_X509_TRUSTED_FIRST by default, as ssl.

        Accepted, because pyca's verifier always does what they ask: VERIFY_X509_STRICT (the
        RFC 5280 profile), VERIFY_X509_TRUSTED_FIRST, VERIFY_X509_PARTIAL_CHAIN (every loaded
        certificate is a trust anchor, even an intermediate, with or without the flag) and
        VERIFY_ALLOW_PROXY_CERTS (a permission only: RFC 3820 proxy certificates are still
        refused). Refused with ConfigurationError: the CRL flags, as there is no CRL support and
        revocation must not be skipped silently, and any other bit, which we cannot honour.
        """
        return VerifyFlags(self._verify_flags)

    @verify_flags.setter
    def verify_flags(self, value: int) -> None:
        flags = operator.index(value)
        if flags & VERIFY_CRL_CHECK_CHAIN:  # VERIFY_CRL_CHECK_LEAF, or the CRL_CHECK_ALL bit
            raise ConfigurationError(
                "CRL checking is not supported (VERIFY_CRL_CHECK_LEAF/VERIFY_CRL_CHECK_CHAIN): "
                "no revocation list is ever consulted, so these flags are refused"
            )
        unknown = flags & ~_HONOURED_VERIFY_FLAGS
        if unknown:
            raise ConfigurationError(
                f"verify_flags bits 0x{unknown:x} are not supported; the flags accepted are "
                "VERIFY_X509_STRICT, VERIFY_X509_TRUSTED_FIRST, VERIFY_X509_PARTIAL_CHAIN and "
                "VERIFY_ALLOW_PROXY_CERTS"
            )
        self._verify_flags = flags

    @property
    def hostname_checks_common_name(self) -> bool:
        """Always False: only subjectAltName counts (RFC 6125 §6.4.4, pyca's verifier)."""
        return False

    @hostname_checks_common_name.setter
    def hostname_checks_common_name(self, value: bool) -> None:
        if value:
            raise ConfigurationError("the common name is never checked (RFC 6125 §6.4.4)")

    # -- versions and options --------------------------------------------------------------

    @property
    def minimum_version(self) -> ssl.TLSVersion:
        return TLSVersion(self._minimum)

    @minimum_version.setter
    def minimum_version(self, value: int) -> None:
        self._minimum = _version(value, "minimum_version")

    @property
    def maximum_version(self) -> ssl.TLSVersion:
        return TLSVersion(self._maximum)

    @maximum_version.setter
    def maximum_version(self, value: int) -> None:
        self._maximum = _version(value, "maximum_version")

    @property
    def options(self) -> int:
        """ssl's option bits; OP_NO_TLSv1_2, OP_NO_TLSv1_3 and OP_NO_TICKET take effect, the
        bits for SSLv2/3, TLS 1.0/1.1 and compression are always set, the rest are kept."""
        return self._options

    @options.setter
    def options(self, value: int) -> None:
        self._options = int(value) | _ALWAYS_OFF

    def _versions(self) -> tuple[ProtocolVersion, ProtocolVersion]:
        low, high = self._minimum, self._maximum
        if self._options & OP_NO_TLSv1_2 or not self._suites12:
            low = max(low, ProtocolVersion.TLS13)
        if self._options & OP_NO_TLSv1_3:
            high = min(high, ProtocolVersion.TLS12)
        return low, high

    # -- certificates and trust --------------------------------------------------------------

    def load_cert_chain(
        self,
        certfile: PathLike,
        keyfile: PathLike | None = None,
        password: str | bytes | bytearray | Callable[[], str | bytes | bytearray] | None = None,
    ) -> None:
        """Our certificate chain (PEM, leaf first) and key; one chain per key type is kept,
        so an RSA and an ECDSA chain can be loaded side by side (the server picks by the
        client's signature_algorithms, RFC 8446 §4.4.2.2)."""
        secret = password() if callable(password) else password
        if isinstance(secret, bytearray):
            secret = bytes(secret)
        certified = CertifiedKey.load(certfile, keyfile, secret)
        self._certificates[_key_kind(certified)] = certified

    def load_verify_locations(
        self,
        cafile: PathLike | None = None,
        capath: PathLike | None = None,
        cadata: str | bytes | None = None,
    ) -> None:
        """Add trust anchors: a PEM file, a directory of them, PEM text (str) or DER (bytes)."""
        if cafile is None and capath is None and cadata is None:
            raise TypeError("cafile, capath and cadata cannot be all omitted")
        found: list[x509.Certificate] = []
        if cafile is not None or capath is not None:
            found += load_trust_anchors(cafile=cafile, capath=capath)
        if isinstance(cadata, str) or (cadata is not None and b"-----BEGIN" in cadata):
            found += load_trust_anchors(cadata=cadata)
        elif cadata is not None:
            found += _der_certificates(bytes(cadata))
        for cert in found:
            self._anchors.setdefault(cert.public_bytes(serialization.Encoding.DER), cert)
        self._verifier = None

    def load_default_certs(self, purpose: ssl.Purpose = Purpose.SERVER_AUTH) -> None:
        """Trust the system store too (``SSL_CERT_FILE``/``SSL_CERT_DIR`` honoured)."""
        self._system_anchors = True
        self._verifier = None

    def set_default_verify_paths(self) -> None:
        self.load_default_certs()

    def get_ca_certs(self, binary_form: bool = False) -> list[PeerCertificate] | list[bytes]:
        """The CA certificates loaded with :meth:`load_verify_locations` (not the system's)."""
        cas = [c for c in self._anchors.values() if _is_ca(c)]
        if binary_form:
            return [c.public_bytes(serialization.Encoding.DER) for c in cas]
        return [peer_certificate_dict(c) for c in cas]

    def session_stats(self) -> dict[str, int]:
        """ssl's counters of this Context's handshakes, in OpenSSL's keys: begun and completed
        (``connect``/``accept``, ``..._good``), resumed (``hits``), resumption offered but a
        full handshake done (``misses``), and its TLS 1.2 session cache (``number``,
        ``timeouts``, ``cache_full``); see :mod:`tlsmachine.context_stats`."""
        return self._stats.snapshot(self._session_cache)

    def cert_store_stats(self) -> dict[str, int]:
        cas = sum(1 for c in self._anchors.values() if _is_ca(c))
        return {"x509": len(self._anchors), "crl": 0, "x509_ca": cas}

    def _trust(self) -> CertificateVerifier:
        """The verifier for peer chains, built once per change of the trust anchors."""
        if self._verifier is None:
            anchors = list(self._anchors.values())
            if self._system_anchors and anchors:
                anchors += system_trust_anchors()
            if anchors:
                pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in anchors)
                self._verifier = DefaultVerifier(cadata=pem, require_server_name=False)
            elif self._system_anchors:
                self._verifier = DefaultVerifier(require_server_name=False)
            else:
                self._verifier = _NoTrustAnchors()
        return self._verifier

    # -- negotiation -------------------------------------------------------------------------

    def set_alpn_protocols(self, protocols: Iterable[str]) -> None:
        """ALPN protocols (RFC 7301), in preference order (the server's order wins)."""
        names = tuple(protocols)
        for name in names:
            if not isinstance(name, str) or not 1 <= len(name.encode()) <= 255:
                raise ConfigurationError(f"ALPN protocol {name!r} must be 1..255 bytes (§3.1)")
        self._alpn = names

    def set_ciphers(self, cipherlist: str) -> None:
        """Choose suites with an OpenSSL cipher string (see :func:`parse_cipher_string`).

        As in ssl it selects TLS 1.2 suites, among our (EC)DHE AEAD ones only; unlike ssl,
        TLS 1.3 suite names in it (``TLS_AES_256_GCM_SHA384``) select the TLS 1.3 suites
        too (Python has no ``set_ciphersuites``). A string that selects no TLS 1.2 suite
        turns TLS 1.2 off.
        """
        tls13, tls12 = parse_cipher_string(cipherlist)
        if tls13:
            self._suites13 = tls13
        self._suites12 = tls12

    def get_ciphers(self) -> list[dict[str, object]]:
        """The enabled suites, TLS 1.3 first, in ssl's dict shape (OpenSSL names)."""
        low, high = self._versions()
        suites: list[CipherSuite | CipherSuite12] = []
        if high >= ProtocolVersion.TLS13:
            suites += self._suites13
        if low <= ProtocolVersion.TLS12:
            suites += self._suites12
        return [_cipher_description(s) for s in suites]

    def set_ecdh_curve(self, curve_name: str) -> None:
        """Use only this key-exchange group (``prime256v1``, ``secp384r1``, ``X25519`` ...)."""
        group = _CURVE_NAMES.get(curve_name.lower())
        if group is None:
            raise ConfigurationError(f"unknown curve name {curve_name!r}")
        self._groups = (group,)

    @property
    def num_tickets(self) -> int:
        """Server: TLS 1.3 session tickets sent after each full handshake (RFC 8446 §4.6.1)."""
        return self._num_tickets

    @num_tickets.setter
    def num_tickets(self, value: int) -> None:
        if not self._server:
            raise ConfigurationError("num_tickets applies to server contexts only")
        if not 0 <= value <= 255:
            raise ConfigurationError("num_tickets must be 0..255")
        self._num_tickets = value

    # -- key log and SNI ---------------------------------------------------------------------

    @property
    def keylog_filename(self) -> str | None:
        """Append NSS key log lines (``SSLKEYLOGFILE`` format) for every connection made
        afterwards to this file; it lets anyone holding it decrypt the traffic."""
        return None if self._keylog is None else self._keylog.path

    @keylog_filename.setter
    def keylog_filename(self, path: PathLike | None) -> None:
        # the file set before is closed once no connection logs to it any more (KeyLogFile)
        self._keylog = None if path is None else KeyLogFile(os.fspath(path), header=True)

    @property
    def sni_callback(self) -> SniCallback | None:
        """Server: ``callback(tls, server_name, context)`` after the ClientHello (RFC 6066 §3),
        with ``server_name`` None without SNI. Setting ``tls.context`` to another server
        Context uses its certificates, ALPN, versions ... for this connection; returning an
        ``ALERT_DESCRIPTION_*`` aborts with that alert; an exception sends handshake_failure."""
        return self._sni_callback

    @sni_callback.setter
    def sni_callback(self, callback: SniCallback | None) -> None:
        if callback is not None and not self._server:
            raise ConfigurationError("sni_callback applies to server contexts only")
        if callback is not None and not callable(callback):
            raise TypeError("not a callable object")
        self._sni_callback = callback

    def set_servername_callback(self, callback: SniCallback | None) -> None:
        """ssl's older name for :attr:`sni_callback`."""
        self.sni_callback = callback


def _version(value: int, what: str) -> ProtocolVersion:
    number = int(value)
    if number == TLSVersion.MINIMUM_SUPPORTED:
        return ProtocolVersion.TLS12
    if number == TLSVersion.MAXIMUM_SUPPORTED:
        return ProtocolVersion.TLS13
    if number < ProtocolVersion.TLS12:
        raise ConfigurationError(f"{what}: versions below TLS 1.2 are not supported (RFC 8996)")
    if number > ProtocolVersion.TLS13:
        raise ConfigurationError(f"{what}: TLS 1.3 is the newest version")
    return ProtocolVersion(number)
