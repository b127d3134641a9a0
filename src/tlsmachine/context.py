"""An :mod:`ssl`-shaped facade for porting: :class:`Context`, :class:`TLSObject`,
:func:`create_default_context`.

Code written for :mod:`ssl` mostly runs after ``import tlsmachine.context as ssl``: the module
also offers ssl's names (``SSLContext``, ``SSLSocket``, ``SSLObject``, ``CERT_REQUIRED``,
``PROTOCOL_TLS_CLIENT``, ``TLSVersion``, ``MemoryBIO``, ``SSLWantReadError``, ...).

A :class:`Context` holds mutable settings, as :class:`ssl.SSLContext` does, and turns them into
a frozen :class:`~tlsmachine.config.ClientConfig` / :class:`~tlsmachine.config.ServerConfig`
each time it wraps a socket or BIO, so later changes apply to later connections only. Server
state that must outlive one connection (ticket keys, the TLS 1.2 session cache) belongs to the
Context, so resumption works across its connections. The facade makes no protocol decision:
those stay in the core. ``docs/ssl-compat.md`` lists where it deliberately differs from ssl.

Layout: :class:`TLSObject` lives in :mod:`tlsmachine.tls_object`, ssl's constants and aliases
in :mod:`tlsmachine.ssl_names`, the cipher-string parser in :mod:`tlsmachine.cipher_strings`,
the trust helpers in :mod:`tlsmachine.context_trust`. This module defines :class:`Context` and
:func:`create_default_context` and re-exports the rest: import from here.
"""

from __future__ import annotations

import os
import socket
import ssl
import sys
from collections.abc import Callable, Iterable

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .certs import CertifiedKey, PathLike, load_trust_anchors, system_trust_anchors
from .cipher_strings import cipher_description as _cipher_description
from .cipher_strings import parse_cipher_string as parse_cipher_string
from .client import ClientConnection
from .config import ClientConfig, ServerConfig
from .connection import Connection
from .connection_info import ConnectionInfo as ConnectionInfo
from .context_trust import AnyName as _AnyName
from .context_trust import NoTrustAnchors as _NoTrustAnchors
from .context_trust import der_certificates as _der_certificates
from .context_trust import is_ca as _is_ca
from .crypto.groups import DEFAULT_GROUPS, GROUPS, SECP256R1, SECP384R1, SECP521R1, X448, Group
from .crypto.groups import X25519 as _X25519
from .crypto.signatures import key_kind
from .crypto.suites import DEFAULT_TLS12_SUITES, DEFAULT_TLS13_SUITES, CipherSuite, CipherSuite12
from .enums import ProtocolVersion
from .errors import (
    ConfigurationError,
    HandshakeFailure,
    InternalError,
    ProtocolError,
    TLSError,
    WantReadError,
    WantWriteError,
)
from .keylog import KeyLogFile
from .peer_certificate import PeerCertificate as PeerCertificate
from .peer_certificate import peer_certificate_dict as peer_certificate_dict
from .server import ServerConnection
from .session import AeadTicketSealer, ClientSession
from .session_cache import InMemorySessionCache
from .ssl_names import ALERT_DESCRIPTION_ACCESS_DENIED as ALERT_DESCRIPTION_ACCESS_DENIED
from .ssl_names import ALERT_DESCRIPTION_HANDSHAKE_FAILURE as ALERT_DESCRIPTION_HANDSHAKE_FAILURE
from .ssl_names import ALERT_DESCRIPTION_INTERNAL_ERROR as ALERT_DESCRIPTION_INTERNAL_ERROR
from .ssl_names import ALERT_DESCRIPTION_UNRECOGNIZED_NAME as ALERT_DESCRIPTION_UNRECOGNIZED_NAME
from .ssl_names import (
    CERT_NONE,
    CERT_OPTIONAL,
    CERT_REQUIRED,
    PROTOCOL_TLS_CLIENT,
    PROTOCOL_TLS_SERVER,
    MemoryBIO,
    Purpose,
    TLSVersion,
)
from .ssl_names import CHANNEL_BINDING_TYPES as CHANNEL_BINDING_TYPES
from .ssl_names import HAS_ALPN as HAS_ALPN
from .ssl_names import HAS_NPN as HAS_NPN
from .ssl_names import HAS_SNI as HAS_SNI
from .ssl_names import OP_NO_COMPRESSION as OP_NO_COMPRESSION
from .ssl_names import OP_NO_TICKET as OP_NO_TICKET
from .ssl_names import HAS_SSLv2 as HAS_SSLv2
from .ssl_names import HAS_SSLv3 as HAS_SSLv3
from .ssl_names import HAS_TLSv1 as HAS_TLSv1
from .ssl_names import HAS_TLSv1_1 as HAS_TLSv1_1
from .ssl_names import HAS_TLSv1_2 as HAS_TLSv1_2
from .ssl_names import HAS_TLSv1_3 as HAS_TLSv1_3
from .ssl_names import OP_NO_SSLv2 as OP_NO_SSLv2
from .ssl_names import OP_NO_SSLv3 as OP_NO_SSLv3
from .ssl_names import OP_NO_TLSv1 as OP_NO_TLSv1
from .ssl_names import OP_NO_TLSv1_1 as OP_NO_TLSv1_1
from .ssl_names import OP_NO_TLSv1_2 as OP_NO_TLSv1_2
from .ssl_names import OP_NO_TLSv1_3 as OP_NO_TLSv1_3
from .ssl_names import SSLEOFError as SSLEOFError
from .ssl_names import SSLError as SSLError
from .ssl_names import SSLSocket as SSLSocket
from .ssl_names import SSLWantReadError as SSLWantReadError
from .ssl_names import SSLWantWriteError as SSLWantWriteError
from .ssl_names import SSLZeroReturnError as SSLZeroReturnError
from .ssl_names import VerifyMode as VerifyMode
from .tls_object import IncomingBIO as IncomingBIO
from .tls_object import OutgoingBIO as OutgoingBIO
from .tls_object import TLSObject
from .tls_socket import RaggedEOFError, TLSSocket
from .verify import CertificateVerifier, DefaultVerifier

__all__ = [
    "CERT_NONE",
    "CERT_OPTIONAL",
    "CERT_REQUIRED",
    "PROTOCOL_TLS_CLIENT",
    "PROTOCOL_TLS_SERVER",
    "Context",
    "MemoryBIO",
    "Purpose",
    "RaggedEOFError",
    "TLSObject",
    "TLSSocket",
    "TLSVersion",
    "WantReadError",
    "WantWriteError",
    "create_default_context",
]

# ssl's names (``CERT_*``, ``PROTOCOL_*``, ``OP_*``, ``SSLError`` ...) are imported above from
# .ssl_names, so that `import tlsmachine.context as ssl` keeps ported code running.

_ALWAYS_OFF = OP_NO_SSLv2 | OP_NO_SSLv3 | OP_NO_TLSv1 | OP_NO_TLSv1_1 | OP_NO_COMPRESSION
"""Options that are always in effect: those protocols and compression do not exist here."""

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


# -- resumption ----------------------------------------------------------------------------


class _OfferedSession:
    """A one-session store: what ``wrap_socket(session=...)`` offers (ssl's explicit reuse)."""

    def __init__(self, session: ClientSession) -> None:
        self.session = session

    def put(self, session: ClientSession) -> None:
        """Tickets received are kept on the socket (``tls.session``), not here."""

    def get(self, server_name: str, now: float) -> ClientSession | None:
        session = self.session
        if session.server_name != server_name or session.expired(now):
            return None
        return session


def _alert_error(description: int, name: str | None) -> ProtocolError:
    """The ProtocolError that sends ``description`` (an ssl ALERT_DESCRIPTION_* value)."""
    message = f"sni_callback refused server name {name!r}"
    stack: list[type[ProtocolError]] = [ProtocolError]
    while stack:
        cls = stack.pop()
        if cls.alert == description and cls is not ProtocolError:
            return cls(message)
        stack += cls.__subclasses__()
    return HandshakeFailure(f"{message} (alert {description}; sent as handshake_failure)")


class Context:
    """Settings for TLS connections, shaped like :class:`ssl.SSLContext`.

    ``Context()`` or ``Context(PROTOCOL_TLS_CLIENT)`` is a client context: certificate and
    host name verification on (``verify_mode = CERT_REQUIRED``, ``check_hostname = True``)
    but, as in ssl, no trust anchors until :meth:`load_verify_locations` or
    :meth:`load_default_certs` (:func:`create_default_context` does the latter).
    ``Context(PROTOCOL_TLS_SERVER)`` or ``Context(server_side=True)`` is a server context
    (``CERT_NONE``: no client certificate asked for). ssl's role-less ``PROTOCOL_TLS`` and the
    per-version protocols are refused: choose the role, and the versions with
    :attr:`minimum_version`/:attr:`maximum_version`.
    """

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

    # -- building configs --------------------------------------------------------------------

    def client_config(self, server_hostname: str | None = None) -> ClientConfig:
        """The frozen config a client connection made now would use."""
        if self._server:
            raise ConfigurationError("this is a server context (PROTOCOL_TLS_SERVER)")
        return self._client_config(server_hostname, None)

    def _client_config(
        self, server_hostname: str | None, session: ClientSession | None
    ) -> ClientConfig:
        verify = self._verify_mode != CERT_NONE
        if verify and not server_hostname:
            if self._check_hostname:
                raise ConfigurationError("check_hostname requires server_hostname")
            raise ConfigurationError(
                "server_hostname is required when certificates are verified (a tlsmachine "
                "limitation); pass it, or set verify_mode = CERT_NONE"
            )
        verifier: CertificateVerifier | None = None
        if verify:
            verifier = self._trust() if self._check_hostname else _AnyName(self._trust())
        low, high = self._versions()
        certificates = tuple(self._certificates.values())
        return ClientConfig(
            verify_certificates=verify,
            verifier=verifier,
            alpn_protocols=self._alpn,
            cipher_suites=self._suites13,
            tls12_cipher_suites=self._suites12 or DEFAULT_TLS12_SUITES,
            groups=self._groups,
            min_version=low,
            max_version=high,
            certificates=certificates,
            post_handshake_auth=bool(self.post_handshake_auth and certificates),
            session_store=None if session is None else _OfferedSession(session),
            keylog=self._keylog,
        )

    def server_config(self) -> ServerConfig:
        """The frozen config a server connection made now would use (without SNI callback)."""
        if not self._server:
            raise ConfigurationError("this is a client context (PROTOCOL_TLS_CLIENT)")
        return self._server_config(None)

    def _server_config(self, holder: list[TLSSocket | TLSObject] | None) -> ServerConfig:
        if not self._certificates:
            raise ConfigurationError("a server context needs load_cert_chain() first")
        low, high = self._versions()
        asks = self._verify_mode != CERT_NONE
        client_verifier = self._trust() if asks or self.post_handshake_auth else None
        modes = {CERT_NONE: "none", CERT_OPTIONAL: "optional", CERT_REQUIRED: "required"}
        # as OpenSSL's SSL_VERIFY_POST_HANDSHAKE: with post_handshake_auth the server asks
        # only later, through verify_client_post_handshake() (RFC 8446 §4.6.2)
        client_auth = "none" if self.post_handshake_auth else modes[self._verify_mode]
        tickets = 0 if self._options & OP_NO_TICKET else self._num_tickets
        hook = None if holder is None else self._sni_hook(holder)
        return ServerConfig(
            certificates=tuple(self._certificates.values()),
            alpn_protocols=self._alpn,
            cipher_suites=self._suites13,
            tls12_cipher_suites=self._suites12 or DEFAULT_TLS12_SUITES,
            groups=self._groups,
            min_version=low,
            max_version=high,
            client_auth=client_auth,
            client_verifier=client_verifier,
            session_tickets=tickets,
            session_cache=self._session_cache,
            ticket_sealer=self._ticket_sealer,
            keylog=self._keylog,
            server_name_callback=hook,
        )

    def _sni_hook(
        self, holder: list[TLSSocket | TLSObject]
    ) -> Callable[[str | None], ServerConfig | None] | None:
        """The core's ``server_name_callback`` that runs ssl's ``sni_callback`` contract."""
        callback = self._sni_callback
        if callback is None:
            return None

        def on_server_name(name: str | None) -> ServerConfig | None:
            tls = holder[0]
            try:
                result = callback(tls, name, self)
            except TLSError:
                raise
            except Exception as exc:  # ssl: an exception in the callback -> handshake_failure
                raise HandshakeFailure(f"sni_callback raised {exc!r}") from exc
            if result is not None:
                raise _alert_error(int(result), name)
            chosen = tls.context
            if chosen is self or chosen is None:
                return None
            if not isinstance(chosen, Context) or not chosen._server:
                raise InternalError(
                    "sni_callback set tls.context to something not a server Context"
                )
            return chosen._server_config(None)

        return on_server_name

    # -- wrapping ---------------------------------------------------------------------------

    def _connection(
        self,
        server_side: bool,
        server_hostname: str | None,
        session: ClientSession | None,
        holder: list[TLSSocket | TLSObject],
    ) -> Connection:
        if server_side != self._server:
            role = "server" if self._server else "client"
            raise ConfigurationError(
                f"a {role} context cannot wrap with server_side={server_side}; make a "
                f"Context({'PROTOCOL_TLS_SERVER' if server_side else 'PROTOCOL_TLS_CLIENT'})"
            )
        if server_side:
            if server_hostname is not None:
                raise ConfigurationError("server_hostname can only be given in client mode")
            return ServerConnection(self._server_config(holder))
        config = self._client_config(server_hostname, session)
        return ClientConnection(config, server_name=server_hostname)

    def wrap_socket(
        self,
        sock: socket.socket,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | None = None,
        session: ClientSession | None = None,
    ) -> TLSSocket:
        """A :class:`TLSSocket` over ``sock`` (blocking; its timeout applies). If ``sock`` is
        connected and ``do_handshake_on_connect``, the handshake runs now; otherwise on
        ``connect()``, the first I/O or ``do_handshake()``. ``session`` (a ``tls.session``
        from an earlier connection to the same server) is offered for resumption."""
        holder: list[TLSSocket | TLSObject] = []
        connection = self._connection(server_side, server_hostname, session, holder)
        tls = TLSSocket(
            sock,
            connection,
            suppress_ragged_eofs=suppress_ragged_eofs,
            do_handshake_on_connect=do_handshake_on_connect,
            context=self,
        )
        holder.append(tls)
        try:
            sock.getpeername()
        except OSError:
            return tls  # not connected (yet): connect() or accept() does the handshake
        if do_handshake_on_connect:
            try:
                tls.do_handshake()
            except BaseException:
                sock.close()  # as ssl: a failed handshake closes the socket (alert sent)
                raise
        return tls

    def wrap_bio(
        self,
        incoming: IncomingBIO,
        outgoing: OutgoingBIO,
        server_side: bool = False,
        server_hostname: str | None = None,
        session: ClientSession | None = None,
    ) -> TLSObject:
        """A :class:`TLSObject` that reads the peer's bytes from ``incoming`` and writes ours
        to ``outgoing`` (:class:`ssl.MemoryBIO` or anything with its read/write/eof)."""
        holder: list[TLSSocket | TLSObject] = []
        connection = self._connection(server_side, server_hostname, session, holder)
        tls = TLSObject(connection, incoming, outgoing, context=self)
        holder.append(tls)
        return tls


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


SSLObject = TLSObject
SSLContext = Context


def create_default_context(
    purpose: ssl.Purpose = Purpose.SERVER_AUTH,
    *,
    cafile: PathLike | None = None,
    capath: PathLike | None = None,
    cadata: str | bytes | None = None,
) -> Context:
    """Like :func:`ssl.create_default_context`: a client context (SERVER_AUTH) verifying
    certificates and host names against ``cafile``/``capath``/``cadata`` or the system store,
    or a server context (CLIENT_AUTH). ``SSLKEYLOGFILE`` in the environment turns on key
    logging, as ssl does (not with ``python -E``)."""
    if purpose == Purpose.SERVER_AUTH:
        context = Context(PROTOCOL_TLS_CLIENT)
    elif purpose == Purpose.CLIENT_AUTH:
        context = Context(PROTOCOL_TLS_SERVER)
    else:
        raise ConfigurationError(f"unknown purpose {purpose!r}")
    if cafile is not None or capath is not None or cadata is not None:
        context.load_verify_locations(cafile, capath, cadata)
    else:
        context.load_default_certs(purpose)
    keylog = os.environ.get("SSLKEYLOGFILE")
    if keylog and not sys.flags.ignore_environment:
        context.keylog_filename = keylog
    return context
