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
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Iterable
from typing import ParamSpec, Protocol, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from .certs import CertifiedKey, PathLike, load_trust_anchors, system_trust_anchors
from .client import ClientConnection
from .config import ClientConfig, ServerConfig
from .config_values import openssl_name
from .connection import Connection, ConnectionState
from .crypto.groups import DEFAULT_GROUPS, GROUPS, SECP256R1, SECP384R1, SECP521R1, X448, Group
from .crypto.groups import X25519 as _X25519
from .crypto.suites import (
    DEFAULT_TLS12_SUITES,
    DEFAULT_TLS13_SUITES,
    TLS12_SUITES,
    TLS13_SUITES,
    CipherSuite,
    CipherSuite12,
)
from .enums import AlertDescription, ProtocolVersion
from .errors import (
    ConfigurationError,
    HandshakeFailure,
    InternalError,
    ProtocolError,
    TLSError,
    UnknownCA,
    WantReadError,
    WantWriteError,
)
from .events import (
    ApplicationData,
    ClientCertificateReceived,
    ConnectionClosed,
    Event,
    SessionTicketReceived,
)
from .server import ServerConnection
from .session import AeadTicketSealer, ClientSession
from .session_cache import InMemorySessionCache
from .sockets import (
    ConnectionInfo,
    PeerCertificate,
    RaggedEOFError,
    TLSSocket,
    peer_certificate_dict,
)
from .verify import CertificateVerifier, Chain, DefaultVerifier

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

# -- ssl's names, so that `import tlsmachine.context as ssl` keeps ported code running ----------

Purpose = ssl.Purpose
TLSVersion = ssl.TLSVersion
VerifyMode = ssl.VerifyMode
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
SSLZeroReturnError = ssl.SSLZeroReturnError
"""Never raised: a read after the peer's close_notify returns ``b""``, as ssl's sockets do."""
SSLSocket = TLSSocket

P = ParamSpec("P")
R = TypeVar("R")

_ALWAYS_OFF = OP_NO_SSLv2 | OP_NO_SSLv3 | OP_NO_TLSv1 | OP_NO_TLSv1_1 | OP_NO_COMPRESSION
"""Options that are always in effect: those protocols and compression do not exist here."""

SniCallback = Callable[["TLSSocket | TLSObject", "str | None", "Context"], "int | None"]
"""ssl's ``sni_callback(tls, server_name, context)``: set ``tls.context`` to another server
Context to switch certificates; return None, or an ``ALERT_DESCRIPTION_*`` to refuse."""


# -- trust -------------------------------------------------------------------------------------


class _NoTrustAnchors:
    """What a Context without trust anchors verifies against: nothing (ssl fails the same way)."""

    def verify_server(self, chain: Chain, server_name: str | None, now: dt.datetime) -> None:
        raise UnknownCA(
            "no trust anchors loaded: call load_verify_locations() or load_default_certs(), "
            "or use create_default_context()"
        )

    def verify_client(self, chain: Chain, now: dt.datetime) -> None:
        raise UnknownCA("no trust anchors loaded for client certificates")


class _AnyName:
    """``check_hostname = False``: the chain is verified, the name in it is not."""

    def __init__(self, inner: CertificateVerifier) -> None:
        self.inner = inner

    def verify_server(self, chain: Chain, server_name: str | None, now: dt.datetime) -> None:
        self.inner.verify_server(chain, None, now)

    def verify_client(self, chain: Chain, now: dt.datetime) -> None:
        self.inner.verify_client(chain, now)


def _der_certificates(data: bytes) -> list[x509.Certificate]:
    """ssl's ``cadata`` bytes: one or more DER certificates back to back."""
    certs: list[x509.Certificate] = []
    view = memoryview(data)
    while view:
        size = _der_size(view)
        certs += load_trust_anchors(cadata=bytes(view[:size]))
        view = view[size:]
    return certs


def _der_size(der: memoryview) -> int:
    """The length of the DER SEQUENCE at the start of ``der`` (X.690 §8.1.3)."""
    if len(der) < 2 or der[0] != 0x30:
        raise ConfigurationError("cadata: not a DER certificate (pass PEM as str)")
    first = der[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if not 1 <= count <= 4 or len(der) < 2 + count:
        raise ConfigurationError("cadata: bad DER length")
    return 2 + count + int.from_bytes(der[2 : 2 + count], "big")


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _key_kind(certified: CertifiedKey) -> str:
    """One chain per key type, as OpenSSL keeps one RSA and one ECDSA chain per context."""
    key = certified.private_key
    if isinstance(key, rsa.RSAPrivateKey):
        return "rsa"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "ec"
    return "ed25519" if isinstance(key, ed25519.Ed25519PrivateKey) else "ed448"


# -- keylog ------------------------------------------------------------------------------------


class _KeyLogFile:
    """Appends NSS key log lines to a file (what ``SSLKEYLOGFILE`` names), thread-safely."""

    _locks: dict[str, threading.Lock] = {}
    _locks_lock = threading.Lock()

    def __init__(self, path: str) -> None:
        self.path = path
        with self._locks_lock:
            self._lock = self._locks.setdefault(os.path.realpath(path), threading.Lock())
        with self._lock, open(path, "a", encoding="ascii") as f:  # fail now, as ssl does
            if f.tell() == 0:
                f.write("# TLS secrets log file, generated by tlsmachine\n")

    def __call__(self, line: str) -> None:
        with self._lock, open(self.path, "a", encoding="ascii") as f:
            f.write(line + "\n")


# -- set_ciphers -------------------------------------------------------------------------------

_SUITE_NAMES: dict[str, CipherSuite | CipherSuite12] = {
    **{s.name: s for s in TLS13_SUITES},
    **{s.name: s for s in TLS12_SUITES},
    **{openssl_name(s): s for s in TLS12_SUITES},
}


def _keyword(word: str) -> Callable[[CipherSuite12], bool] | None:
    """OpenSSL cipher-string keywords (``ciphers(1)``) that can select our TLS 1.2 suites;
    None for a keyword that selects nothing here (RC4, aNULL, kRSA, CBC-only ones, ...)."""
    kx = {"ECDHE": "ECDHE", "EECDH": "ECDHE", "KECDHE": "ECDHE", "KEECDH": "ECDHE"}
    kx |= {"ECDH": "ECDHE", "DHE": "DHE", "EDH": "DHE", "KDHE": "DHE", "KEDH": "DHE"}
    auth = {"ARSA": "RSA", "ECDSA": "ECDSA", "AECDSA": "ECDSA"}
    aead = {
        "AESGCM": ("AES_", "_GCM"),
        "AES": ("AES_", ""),
        "AES128": ("AES_128", ""),
        "AES256": ("AES_256", ""),
        "CHACHA20": ("CHACHA20", ""),
        "SHA256": ("_SHA256", ""),
        "SHA384": ("_SHA384", ""),
    }
    key = word.upper()
    if key in ("ALL", "DEFAULT", "HIGH", "AEAD", "TLSV1.2"):
        return lambda s: True
    if key in kx:
        return lambda s: s.key_exchange == kx[key]
    if key in auth:
        return lambda s: s.authentication == auth[key]
    if key in aead:
        first, second = aead[key]
        return lambda s: first in s.name and second in s.name
    return None


def _select(token: str) -> list[CipherSuite | CipherSuite12]:
    """The suites one cipher-string token names: a suite name or ``KEYWORD+KEYWORD``."""
    named = _SUITE_NAMES.get(token) or _SUITE_NAMES.get(token.upper())
    if named is not None:
        return [named]
    tests = [_keyword(word) for word in token.split("+")]
    if not tests or None in tests:
        return []
    return [s for s in TLS12_SUITES if all(t(s) for t in tests if t is not None)]


def parse_cipher_string(spec: str) -> tuple[tuple[CipherSuite, ...], tuple[CipherSuite12, ...]]:
    """An OpenSSL cipher string -> (TLS 1.3 suites named in it, TLS 1.2 suites it selects).

    ``!X`` removes X for good, ``-X`` removes it for now, ``+X``/``@STRENGTH``/``@SECLEVEL=n``
    are accepted and ignored (order is ours); keywords that can only select suites we never
    implement (static RSA, CBC, RC4, NULL ...) select nothing.
    """
    chosen: list[CipherSuite | CipherSuite12] = []
    banned: set[int] = set()
    for token in spec.replace(",", ":").replace(" ", ":").split(":"):
        if not token or token.startswith(("@", "+")):
            continue
        if token[0] in "!-":
            removed = {s.id for s in _select(token[1:])}
            if token[0] == "!":
                banned |= removed
            chosen = [s for s in chosen if s.id not in removed]
            continue
        chosen += [s for s in _select(token) if s.id not in banned and s not in chosen]
    tls13 = tuple(s for s in chosen if isinstance(s, CipherSuite))
    tls12 = tuple(s for s in chosen if isinstance(s, CipherSuite12))
    if not tls13 and not tls12:
        raise ConfigurationError(f"set_ciphers: no cipher can be selected by {spec!r}")
    return tls13, tls12


def _cipher_description(suite: CipherSuite | CipherSuite12) -> dict[str, object]:
    """One entry of :meth:`Context.get_ciphers`, in ssl's shape."""
    tls13 = isinstance(suite, CipherSuite)
    name = suite.name if isinstance(suite, CipherSuite) else openssl_name(suite)
    bits = 128 if "AES_128" in suite.name else 256
    symmetric = "chacha20-poly1305" if "CHACHA20" in suite.name else f"aes-{bits}-gcm"
    if "_CCM" in suite.name:
        symmetric = "aes-128-ccm"
    kx = "any" if isinstance(suite, CipherSuite) else suite.key_exchange.lower()
    auth = "any" if isinstance(suite, CipherSuite) else suite.authentication.lower()
    return {
        "id": 0x03000000 | suite.id,
        "name": name,
        "protocol": "TLSv1.3" if tls13 else "TLSv1.2",
        "description": f"{name} {'TLSv1.3' if tls13 else 'TLSv1.2'} Kx={kx} Au={auth}",
        "strength_bits": bits,
        "alg_bits": bits,
        "aead": True,
        "symmetric": symmetric,
        "digest": None,
        "kea": f"kx-{kx}",
        "auth": f"auth-{auth}",
    }


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
        self._keylog: _KeyLogFile | None = None
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
        self._keylog = None if path is None else _KeyLogFile(os.fspath(path))

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


# -- non-blocking: TLSObject over BIOs ---------------------------------------------------------


class IncomingBIO(Protocol):
    """What :class:`TLSObject` reads the peer's bytes from (as :class:`ssl.MemoryBIO`)."""

    def read(self, size: int = -1, /) -> bytes: ...

    @property
    def eof(self) -> bool: ...


class OutgoingBIO(Protocol):
    """What :class:`TLSObject` writes our bytes to; ``write`` returns how many it took."""

    def write(self, data: bytes, /) -> int: ...


class TLSObject(ConnectionInfo):
    """A TLS connection over two BIOs, shaped like :class:`ssl.SSLObject`: nothing blocks.

    ``do_handshake()``, ``read()``, ``write()`` and ``unwrap()`` raise :class:`WantReadError`
    when they need bytes from the peer (put them in ``incoming``, call again) and
    :class:`WantWriteError` when ``outgoing`` took fewer bytes than offered (drain it, call
    again; never with :class:`ssl.MemoryBIO`, which takes everything). A ``write()`` that
    raises it consumed nothing; one that returns may leave bytes queued here, offered again
    by the next call (``write(b"")`` just offers them). After each call, send what
    ``outgoing`` holds. ``read()`` returns ``b""`` after the peer's close_notify and raises
    :class:`RaggedEOFError` at an EOF (``incoming.write_eof()``) without one.
    """

    def __init__(
        self,
        connection: Connection,
        incoming: IncomingBIO,
        outgoing: OutgoingBIO,
        *,
        context: Context | None = None,
    ) -> None:
        self.connection = connection
        self.incoming = incoming
        self.outgoing = outgoing
        self.context = context
        self.clean_close: bool | None = None
        """None while open; True after the peer's close_notify; False after a bare EOF."""
        self.session: ClientSession | None = None
        """The newest session (ticket) the server sent: resume with ``wrap_bio(session=)``."""
        self.on_event: Callable[[Event], None] | None = None
        self._pending = bytearray()
        self._unsent = bytearray()  # ours, not yet taken by the outgoing BIO

    def pending(self) -> int:
        return len(self._pending)

    def do_handshake(self) -> None:
        """Advance the handshake with what ``incoming`` holds (WantReadError until done)."""
        self._queue()  # a client's ClientHello waits in the core until the first call
        self._drain_or_raise()
        if self.connection.handshake_info is None:
            self._pump()
        if self.connection.handshake_info is None:
            if self.incoming.eof:
                raise RaggedEOFError("EOF during the handshake")
            raise WantReadError("the handshake needs more data from the peer")

    def read(self, size: int = 1024, buffer: bytearray | memoryview | None = None) -> bytes | int:
        """Up to ``size`` bytes of application data (into ``buffer``: returns the count)."""
        if self.connection.handshake_info is None:
            self.do_handshake()
        if buffer is not None and size <= 0:
            size = len(buffer)
        if not self._pending and self.clean_close is None:
            self._pump()
        if not self._pending:
            if self.clean_close:
                return 0 if buffer is not None else b""
            if self.incoming.eof:
                self.clean_close = False
                raise RaggedEOFError("EOF without close_notify: the data may be truncated")
            raise WantReadError("no application data yet")
        data = bytes(self._pending[:size])
        del self._pending[:size]
        if buffer is None:
            return data
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Encrypt all of ``data``; returns its length."""
        if self.connection.handshake_info is None:
            self.do_handshake()
        self._drain_or_raise()  # before taking data: a retried write must not send it twice
        payload = bytes(data)
        if payload:  # write(b"") only offers what is still queued to the outgoing BIO
            self._guard(self.connection.send, payload)
            self._queue()
        return len(payload)

    def unwrap(self) -> None:
        """Send close_notify and wait (WantReadError) for the peer's (RFC 8446 §6.1)."""
        conn = self.connection
        handshaking = conn.handshake_info is None
        conn.close()
        self._queue()
        self._drain_or_raise()
        if handshaking or conn.state in (ConnectionState.SHUTDOWN, ConnectionState.FAILED):
            return
        if self.clean_close is None:
            self._pump()
        if self.clean_close is None:
            if self.incoming.eof:
                raise RaggedEOFError("EOF without close_notify")
            raise WantReadError("waiting for the peer's close_notify")

    def verify_client_post_handshake(self) -> None:
        """Server: ask for a client certificate now (RFC 8446 §4.6.2)."""
        self._guard(self.connection.request_client_certificate)
        self._queue()

    def key_update(self, *, request_peer: bool = False) -> None:
        """Send a KeyUpdate (RFC 8446 §4.6.3)."""
        self._guard(self.connection.key_update, request_peer=request_peer)
        self._queue()

    # -- internals ---------------------------------------------------------------------------

    def _pump(self) -> None:
        """Feed everything ``incoming`` holds to the core; queue our answers."""
        while data := self.incoming.read():
            events = self._guard(self.connection.receive_data, data)
            for event in events:
                self._dispatch(event)
            self._queue()

    def _dispatch(self, event: Event) -> None:
        if isinstance(event, ApplicationData):
            self._pending += event.data
        elif isinstance(event, ConnectionClosed):
            self.clean_close = True
        elif isinstance(event, SessionTicketReceived):
            self.session = event.session
        elif isinstance(event, ClientCertificateReceived):
            self._peer_chain = event.certificates
        if self.on_event is not None:
            self.on_event(event)

    def _guard(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a core call; on a protocol error, queue the fatal alert, then re-raise."""
        try:
            return fn(*args, **kwargs)
        except ProtocolError:
            self._queue()
            raise

    def _queue(self) -> None:
        self._unsent += self.connection.data_to_send()
        self._drain()

    def _drain(self) -> bool:
        """Offer what we have to ``outgoing``; True when it took everything."""
        if self._unsent:
            taken = self.outgoing.write(bytes(self._unsent))
            del self._unsent[:taken]
        return not self._unsent

    def _drain_or_raise(self) -> None:
        if not self._drain():
            raise WantWriteError("the outgoing BIO is full")


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
