"""The application's side of the asyncio adapter: :class:`TLSTransport` is the
:class:`asyncio.Transport` an application protocol (or a StreamWriter) is given, plaintext in and
out; it forwards each call to its :class:`~tlsmachine.asyncio_protocol.TLSProtocol` and answers
``get_extra_info`` from the sans-I/O connection. Public through :mod:`tlsmachine.asyncio`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from .errors import ProtocolError

if TYPE_CHECKING:
    from .asyncio_protocol import TLSProtocol
    from .connection import Connection

__all__ = ["TLSTransport"]


class TLSTransport(asyncio.Transport):
    """The application's side: plaintext in and out of one TLS connection.

    ``get_extra_info`` adds to the TCP transport's keys (``peername``, ``sockname``,
    ``socket``): ``tlsmachine_connection`` (the sans-I/O :class:`Connection`),
    ``handshake_info`` (:class:`HandshakeComplete`), ``peercert`` (the peer's leaf
    ``x509.Certificate``), ``peer_certificates``, ``tls_version``, ``cipher_suite``,
    ``alpn_protocol``, ``server_name`` and ``tls_clean_close`` (see :mod:`tlsmachine.asyncio`).
    """

    def __init__(self, tls: TLSProtocol) -> None:
        super().__init__()
        self._tls = tls

    @property
    def connection(self) -> Connection:
        """The sans-I/O connection (exporters, ``handshake_info``, ...)."""
        return self._tls.connection

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        tls = self._tls
        info = tls.connection.handshake_info
        if name == "tlsmachine_connection":
            return tls.connection
        if name == "handshake_info":
            return info
        if name == "tls_clean_close":
            return tls.clean_close
        if info is not None:
            if name == "peercert":  # unlike ssl's dict: the peer's leaf x509.Certificate
                return info.peer_certificates[0] if info.peer_certificates else default
            tls_info = {
                "peer_certificates": info.peer_certificates,
                "tls_version": info.version,
                "cipher_suite": info.cipher_suite,
                "alpn_protocol": info.alpn_protocol,
                "server_name": info.server_name,
            }
            if name in tls_info:
                return tls_info[name]
        if tls._tcp is not None:  # peername, sockname, socket, ...
            return tls._tcp.get_extra_info(name, default)
        return default

    def is_closing(self) -> bool:
        tls = self._tls
        return tls._closing or tls._failed or tls._tcp_closing or tls._tcp_lost

    def close(self) -> None:
        """Send close_notify (RFC 8446 §6.1); ``connection_lost`` follows once the peer
        answered, or closed, or ``ssl_shutdown_timeout`` passed."""
        self._tls._start_close()

    def abort(self) -> None:
        """Close at once, without close_notify (the peer may see a truncation)."""
        self._tls._abort()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"data: expected a bytes-like object, got {type(data).__name__}")
        if data:
            self._tls._write(data if isinstance(data, bytes) else bytes(data))

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        self.write(b"".join(list_of_data))  # one send: fewer, fuller records

    def write_eof(self) -> None:
        """Half-close: send close_notify now and keep reading until the peer's (§6.1)."""
        self._tls._write_eof()

    def can_write_eof(self) -> bool:
        return True

    def key_update(self, *, request_peer: bool = False) -> None:
        """Send a KeyUpdate (RFC 8446 §4.6.3)."""
        tls = self._tls
        try:
            tls.connection.key_update(request_peer=request_peer)
        except ProtocolError as exc:
            tls._fail(exc)
            raise
        tls._flush()

    def pause_reading(self) -> None:
        """Stop reading the socket; nothing reaches ``data_received`` until resumed."""
        self._tls._pause_reading()

    def resume_reading(self) -> None:
        self._tls._resume_reading()

    def is_reading(self) -> bool:
        return not self._tls._app_paused and not self.is_closing()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Limits on the TCP transport's buffer, which holds our records (ciphertext)."""
        if self._tls._tcp is not None:
            self._tls._tcp.set_write_buffer_limits(high, low)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        tcp = self._tls._tcp
        return (0, 0) if tcp is None else tcp.get_write_buffer_limits()

    def get_write_buffer_size(self) -> int:
        """Bytes waiting to go out; data is encrypted at once, so this is the TCP buffer."""
        tcp = self._tls._tcp
        return 0 if tcp is None else tcp.get_write_buffer_size()

    def get_read_buffer_size(self) -> int:
        """Plaintext received but not yet handed to the application (reading paused)."""
        return self._tls._plaintext_size

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._tls._app = cast("asyncio.Protocol", protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._tls._app
