"""asyncio adapter: TLS streams and a Protocol/Transport pair over the sans-I/O core.

Public as ``tlsmachine.asyncio`` (like ``redis.asyncio``). Built the way asyncio's own
``sslproto`` is: :class:`TLSProtocol` sits on the TCP transport and feeds the core;
:class:`TLSTransport` is what the application protocol sees (plaintext in and out). So
:func:`open_connection` and :func:`start_server` hand out real :class:`asyncio.StreamReader` /
:class:`asyncio.StreamWriter` objects, and :func:`create_connection` / :func:`create_server` take
any :class:`asyncio.Protocol` factory. Thin by design: every protocol decision, alerts included,
is the core's (RFC 8446 §6: on a :class:`ProtocolError` we flush the fatal alert it queued before
closing, and the error reaches the application).

Flow control goes both ways: when the TCP transport pauses us, the application protocol is
paused (``StreamWriter.drain()`` blocks); when the application pauses reading, we stop reading
the socket, so at most one socket read of plaintext waits here.

Closure (RFC 8446 §6.1, RFC 5246 §7.2.1): ``close()`` sends close_notify and waits (at most
``ssl_shutdown_timeout``) for the peer's before closing the socket, so our last bytes are not lost
to a reset. The peer's close_notify is a clean EOF: ``eof_received()``, ``StreamReader.at_eof()``.
A transport EOF *without* close_notify after the handshake may be a truncation attack, so by
default it is an error, as in trio and in ``ssl`` with ``suppress_ragged_eofs=False``: the data
that arrived is delivered, then ``connection_lost(RaggedEOFError)`` (a stream reader raises it).
Protocols that frame their own messages can pass ``suppress_ragged_eofs=True`` to get a plain EOF
instead; ``get_extra_info("tls_clean_close")`` tells the two apart (True, False, None while open).
EOF during the handshake is always an error.

Layout: :class:`TLSProtocol` (the TCP side: handshake, flow control, closing, errors) and
:class:`RaggedEOFError` live in :mod:`tlsmachine.asyncio_protocol`, :class:`TLSTransport` (the
application's side) in :mod:`tlsmachine.asyncio_transport`. This module defines the functions
that build them (:func:`create_connection`, :func:`open_connection`, :func:`create_server`,
:func:`start_server`) and re-exports the rest: import from here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from .asyncio_protocol import (
    HANDSHAKE_TIMEOUT,
    SHUTDOWN_TIMEOUT,
    ErrorHook,
    EventHook,
    RaggedEOFError,
    TLSProtocol,
)
from .asyncio_transport import TLSTransport
from .client import ClientConnection
from .config import ClientConfig, ServerConfig
from .errors import ConfigurationError
from .server import ServerConnection

__all__ = [
    "RaggedEOFError",
    "TLSProtocol",
    "TLSTransport",
    "create_connection",
    "create_server",
    "open_connection",
    "start_server",
]

_STREAM_LIMIT = 2**16  # asyncio.StreamReader's default buffer limit
_P = TypeVar("_P", bound=asyncio.BaseProtocol)


# -- client ------------------------------------------------------------------------------------


async def create_connection(
    protocol_factory: Callable[[], _P],
    host: str | None = None,
    port: int | None = None,
    *,
    server_hostname: str | None = None,
    cafile: str | None = None,
    config: ClientConfig | None = None,
    ssl_handshake_timeout: float = HANDSHAKE_TIMEOUT,
    ssl_shutdown_timeout: float = SHUTDOWN_TIMEOUT,
    suppress_ragged_eofs: bool = False,
    on_event: EventHook | None = None,
    **kwargs: Any,
) -> tuple[TLSTransport, _P]:
    """Connect, complete the handshake, return ``(transport, protocol)``, like
    ``loop.create_connection(..., ssl=...)``.

    ``server_hostname`` (default: ``host``), ``cafile`` and ``config`` mean what they mean for
    :func:`tlsmachine.sockets.connect` (``cafile`` with ``config`` is a ConfigurationError).
    Other keyword arguments (``family``, ``local_addr``, ``sock``, ...) go to
    ``loop.create_connection``. Raises the core's error (its alert already sent), the peer's
    :class:`AlertReceived`, :class:`RaggedEOFError` or :class:`TimeoutError` (handshake).
    Cancelling it closes the socket.
    """
    if config is None:
        config = ClientConfig(cafile=cafile)
    elif cafile is not None:
        raise ConfigurationError(
            "create_connection(): cafile and config were both given; put the CA file in the "
            "config (ClientConfig(cafile=...)) or pass cafile alone"
        )
    loop = asyncio.get_running_loop()
    connection = ClientConnection(config, server_name=server_hostname or host)
    waiter: asyncio.Future[None] = loop.create_future()
    app = protocol_factory()
    tls = TLSProtocol(
        connection,
        app,
        waiter=waiter,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
        suppress_ragged_eofs=suppress_ragged_eofs,
        on_event=on_event,
    )
    # host/port may be None with sock=...: typeshed's overloads cannot see that through kwargs
    tcp, _ = await loop.create_connection(lambda: tls, host, port, **kwargs)  # type: ignore[arg-type]
    try:
        await waiter
    except BaseException:
        if not tcp.is_closing():
            tcp.abort()  # cancelled (or a failed callback): drop the socket now
        raise
    return tls.transport, app


async def open_connection(
    host: str | None = None,
    port: int | None = None,
    *,
    server_hostname: str | None = None,
    cafile: str | None = None,
    config: ClientConfig | None = None,
    limit: int = _STREAM_LIMIT,
    ssl_handshake_timeout: float = HANDSHAKE_TIMEOUT,
    ssl_shutdown_timeout: float = SHUTDOWN_TIMEOUT,
    suppress_ragged_eofs: bool = False,
    on_event: EventHook | None = None,
    **kwargs: Any,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """``asyncio.open_connection`` over TLS: a real StreamReader/StreamWriter pair, returned
    once the handshake is complete. Arguments as for :func:`create_connection`."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=limit, loop=loop)
    protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    transport, _ = await create_connection(
        lambda: protocol,
        host,
        port,
        server_hostname=server_hostname,
        cafile=cafile,
        config=config,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
        suppress_ragged_eofs=suppress_ragged_eofs,
        on_event=on_event,
        **kwargs,
    )
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


# -- server ------------------------------------------------------------------------------------


async def create_server(
    protocol_factory: Callable[[], asyncio.BaseProtocol],
    host: str | None = None,
    port: int | None = None,
    *,
    config: ServerConfig,
    ssl_handshake_timeout: float = HANDSHAKE_TIMEOUT,
    ssl_shutdown_timeout: float = SHUTDOWN_TIMEOUT,
    suppress_ragged_eofs: bool = False,
    on_event: EventHook | None = None,
    on_error: ErrorHook | None = None,
    **kwargs: Any,
) -> asyncio.Server:
    """``loop.create_server`` over TLS: each accepted connection gets a protocol from
    ``protocol_factory``, connected once its handshake is complete.

    One bad client cannot stop the server: a connection that fails before its handshake ended
    (the core's alert sent, a peer's alert, EOF, handshake timeout) is closed and reported to
    ``on_error(exception, peername)``, or logged at INFO level without the hook; later errors
    reach that connection's protocol (``connection_lost``). Other keyword arguments go to
    ``loop.create_server``.
    """
    loop = asyncio.get_running_loop()

    def factory() -> TLSProtocol:
        return TLSProtocol(
            ServerConnection(config),
            protocol_factory(),
            ssl_handshake_timeout=ssl_handshake_timeout,
            ssl_shutdown_timeout=ssl_shutdown_timeout,
            suppress_ragged_eofs=suppress_ragged_eofs,
            on_event=on_event,
            on_error=on_error,
        )

    return await loop.create_server(factory, host, port, **kwargs)


ClientConnectedCallback = Callable[
    [asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None] | None
]


async def start_server(
    client_connected_cb: ClientConnectedCallback,
    host: str | None = None,
    port: int | None = None,
    *,
    config: ServerConfig,
    limit: int = _STREAM_LIMIT,
    ssl_handshake_timeout: float = HANDSHAKE_TIMEOUT,
    ssl_shutdown_timeout: float = SHUTDOWN_TIMEOUT,
    suppress_ragged_eofs: bool = False,
    on_event: EventHook | None = None,
    on_error: ErrorHook | None = None,
    **kwargs: Any,
) -> asyncio.Server:
    """``asyncio.start_server`` over TLS: ``client_connected_cb(reader, writer)`` (a function or
    a coroutine function) runs for each client once its handshake is complete. Arguments as
    for :func:`create_server`."""
    loop = asyncio.get_running_loop()

    def factory() -> asyncio.StreamReaderProtocol:
        reader = asyncio.StreamReader(limit=limit, loop=loop)
        return asyncio.StreamReaderProtocol(reader, client_connected_cb, loop=loop)

    return await create_server(
        factory,
        host,
        port,
        config=config,
        ssl_handshake_timeout=ssl_handshake_timeout,
        ssl_shutdown_timeout=ssl_shutdown_timeout,
        suppress_ragged_eofs=suppress_ragged_eofs,
        on_event=on_event,
        on_error=on_error,
        **kwargs,
    )
