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

Layout: :class:`Context` is built up in three steps: its settings and their checks in
:mod:`tlsmachine.context_settings`, the building of configs from them in
:mod:`tlsmachine.context_config`, and here the wrapping of sockets and BIOs (with ssl's SNI
callback) that makes it a Context. :class:`TLSObject` lives in :mod:`tlsmachine.tls_object`,
ssl's constants and aliases in :mod:`tlsmachine.ssl_names`, the cipher-string parser in
:mod:`tlsmachine.cipher_strings`, the trust helpers in :mod:`tlsmachine.context_trust`, the
``session_stats()`` counters in :mod:`tlsmachine.context_stats`. This module defines
:class:`Context` and :func:`create_default_context` and re-exports the rest: import from here.
"""

from __future__ import annotations

import os
import socket
import ssl
import sys
from collections.abc import Callable

from .cipher_strings import parse_cipher_string as parse_cipher_string
from .client import ClientConnection
from .config import ServerConfig
from .connection import Connection
from .connection_info import ConnectionInfo as ConnectionInfo
from .context_config import ContextConfigs
from .context_settings import SniCallback as SniCallback
from .errors import (
    ConfigurationError,
    HandshakeFailure,
    InternalError,
    ProtocolError,
    TLSError,
    WantReadError,
    WantWriteError,
)
from .peer_certificate import PeerCertificate as PeerCertificate
from .peer_certificate import peer_certificate_dict as peer_certificate_dict
from .server import ServerConnection
from .session import ClientSession
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
from .ssl_names import VERIFY_ALLOW_PROXY_CERTS as VERIFY_ALLOW_PROXY_CERTS
from .ssl_names import VERIFY_CRL_CHECK_CHAIN as VERIFY_CRL_CHECK_CHAIN
from .ssl_names import VERIFY_CRL_CHECK_LEAF as VERIFY_CRL_CHECK_LEAF
from .ssl_names import VERIFY_DEFAULT as VERIFY_DEFAULT
from .ssl_names import VERIFY_X509_PARTIAL_CHAIN as VERIFY_X509_PARTIAL_CHAIN
from .ssl_names import VERIFY_X509_STRICT as VERIFY_X509_STRICT
from .ssl_names import VERIFY_X509_TRUSTED_FIRST as VERIFY_X509_TRUSTED_FIRST
from .ssl_names import CertificateError as CertificateError
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
from .ssl_names import SSLCertVerificationError as SSLCertVerificationError
from .ssl_names import SSLEOFError as SSLEOFError
from .ssl_names import SSLError as SSLError
from .ssl_names import SSLSocket as SSLSocket
from .ssl_names import SSLWantReadError as SSLWantReadError
from .ssl_names import SSLWantWriteError as SSLWantWriteError
from .ssl_names import SSLZeroReturnError as SSLZeroReturnError
from .ssl_names import VerifyFlags as VerifyFlags
from .ssl_names import VerifyMode as VerifyMode
from .tls_object import IncomingBIO as IncomingBIO
from .tls_object import OutgoingBIO as OutgoingBIO
from .tls_object import TLSObject
from .tls_socket import RaggedEOFError, TLSSocket
from .trust_store import PathLike

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


def _alert_error(description: int, name: str | None) -> ProtocolError:
    """The ProtocolError that sends ``description`` (an ssl ALERT_DESCRIPTION_* value)."""
    message = f"sni_callback refused server name {name!r}"
    stack: list[type[ProtocolError]] = [ProtocolError]
    while stack:
        cls = stack.pop()
        if vars(cls).get("alert") == description and cls is not ProtocolError:  # not a base
            return cls(message)
        stack += cls.__subclasses__()
    return HandshakeFailure(f"{message} (alert {description}; sent as handshake_failure)")


class Context(ContextConfigs):
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

    # -- ssl's SNI callback, run by a wrapped server connection ------------------------------

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
            return ServerConnection(self._server_config(self._sni_hook(holder)))
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
        tls._stats = self._stats  # counted here even if sni_callback switches the context
        holder.append(tls)
        try:
            sock.getpeername()
        except OSError:
            return tls  # not connected (yet): connect() or accept() does the handshake
        if do_handshake_on_connect:
            try:
                tls.do_handshake()
            except BaseException:
                tls._close_failed_handshake()  # as ssl: a failed handshake closes the socket
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
        tls._stats = self._stats  # counted here even if sni_callback switches the context
        holder.append(tls)
        return tls


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
