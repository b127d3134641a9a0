"""Blocking-socket adapter for the sans-I/O core, shaped like :class:`ssl.SSLSocket`.

Thin by design: it only loops (flush :meth:`Connection.data_to_send`, read from the socket, feed
:meth:`Connection.receive_data`, dispatch the events). Every protocol decision, alerts included,
is made by the core (RFC 8446 §6: the core queues the fatal alert; we make sure it is flushed to
the peer before the error propagates).

Closure (RFC 8446 §6.1): :meth:`TLSSocket.recv` returns ``b""`` after the peer's close_notify
(``clean_close`` is then True); a transport EOF without close_notify after the handshake also
returns ``b""`` but sets ``clean_close = False`` (a truncation the application may care about;
with ``suppress_ragged_eofs=False`` it raises :class:`RaggedEOFError` instead); during the
handshake it raises :class:`TLSError`.

Timeouts: the socket's timeout (``settimeout``) bounds each blocking operation as a whole, as
in :mod:`ssl`: the complete handshake, one ``recv``, one ``send``. A peer that trickles bytes
cannot stretch an operation past its deadline. Expiry raises :class:`TimeoutError`.

Layout: :class:`TLSSocket` and :class:`RaggedEOFError` live in :mod:`tlsmachine.tls_socket`,
the ``makefile`` I/O in :mod:`tlsmachine.socket_io`, :class:`TLSServer`/:func:`serve` in
:mod:`tlsmachine.socket_server`, and what ``getpeercert``/``cipher``/``version`` report in
:mod:`tlsmachine.connection_info` and :mod:`tlsmachine.peer_certificate`. This module defines
:func:`connect` and re-exports the rest: import from here.
"""

from __future__ import annotations

import socket

from .client import ClientConnection
from .config import ClientConfig
from .connection_info import ConnectionInfo
from .errors import ConfigurationError
from .peer_certificate import PeerCertificate, peer_certificate_dict
from .socket_io import TLSSocketIO
from .socket_server import ErrorHook as ErrorHook
from .socket_server import Handler as Handler
from .socket_server import TLSServer, serve
from .tls_socket import EventHook as EventHook
from .tls_socket import RaggedEOFError, TLSSocket

__all__ = [
    "ConnectionInfo",
    "PeerCertificate",
    "RaggedEOFError",
    "TLSServer",
    "TLSSocket",
    "TLSSocketIO",
    "connect",
    "peer_certificate_dict",
    "serve",
]


def connect(
    host: str,
    port: int,
    *,
    server_hostname: str | None = None,
    cafile: str | None = None,
    config: ClientConfig | None = None,
    timeout: float | None = None,
    on_event: EventHook | None = None,
    early_data: bytes = b"",
) -> TLSSocket:
    """Open a TCP connection and complete a TLS handshake, like ``ssl.create_connection`` plus
    ``wrap_socket``.

    ``server_hostname`` (default: ``host``) goes in SNI and is what the certificate must name.
    Trust comes from ``config`` (default: :class:`ClientConfig` with verification on) or, for
    the common case, ``cafile`` alone; giving both is a :class:`ConfigurationError`, because
    one would silently override the other. ``timeout`` bounds the connect, the whole handshake
    and each later blocking operation, as for :func:`socket.create_connection` (None: block).

    ``early_data`` goes out as 0-RTT data when a stored ticket allows it (RFC 8446 §2.3; see
    ``ClientConfig.early_data``). Check ``handshake_info.early_data_accepted``; data that was
    rejected, or not sent for want of such a ticket, is in ``rejected_early_data``.
    """
    if config is None:
        config = ClientConfig(cafile=cafile)
    elif cafile is not None:
        raise ConfigurationError(
            "connect(): cafile and config were both given; put the CA file in the config "
            "(ClientConfig(cafile=...)) or pass cafile alone"
        )
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        conn = ClientConnection(config, server_name=server_hostname or host)
        sent_early = bool(early_data) and conn.early_data_room >= len(early_data)
        if sent_early:
            conn.send_early_data(early_data)
        tls = TLSSocket(sock, conn, on_event=on_event)
    except BaseException:
        sock.close()
        raise
    if not sent_early:
        tls.rejected_early_data = early_data  # no ticket allowing 0-RTT: never sent
    try:
        tls.do_handshake()
    except BaseException:
        tls._close_failed_handshake()
        raise
    return tls
