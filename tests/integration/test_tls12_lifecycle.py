"""TLS 1.2 lifecycle rules that live in the connection: a fatal alert invalidates the session
(RFC 5246 §7.2.2) and close_notify is answered at once (§7.2.1)."""

from __future__ import annotations

import pytest

from memory_pair import pump
from tls_fixtures import server_cert
from tlsmachine import (
    ClientConfig,
    ClientConnection,
    ConnectionState,
    InMemoryClientSessionStore,
    InMemorySessionCache,
    ProtocolError,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.enums import AlertDescription, ProtocolVersion


def _pair(
    cache: InMemorySessionCache, store: InMemoryClientSessionStore
) -> tuple[ClientConnection, ServerConnection]:
    server = ServerConnection(
        ServerConfig(certificates=(server_cert(),), session_tickets=0, session_cache=cache)
    )
    config = ClientConfig(
        cadata=server_cert().chain_pem(), max_version=ProtocolVersion.TLS12, session_store=store
    )
    return ClientConnection(config, "localhost"), server


def test_a_fatal_alert_removes_the_session_from_the_cache() -> None:
    cache, store = InMemorySessionCache(), InMemoryClientSessionStore()
    client, server = _pair(cache, store)
    pump(client, server)
    assert client.handshake_info is not None and len(cache) == 1
    client.send(b"data")
    record = bytearray(client.data_to_send())
    record[-1] ^= 1  # a tampered tag
    with pytest.raises(ProtocolError) as exc_info:
        server.receive_data(bytes(record))
    assert exc_info.value.alert is AlertDescription.BAD_RECORD_MAC
    assert len(cache) == 0  # RFC 5246 §7.2.2: not resumable any more
    client2, server2 = _pair(cache, store)
    pump(client2, server2)
    assert client2.handshake_info is not None and not client2.handshake_info.resumed


def test_a_clean_close_keeps_the_session_and_close_notify_is_answered() -> None:
    cache, store = InMemorySessionCache(), InMemoryClientSessionStore()
    client, server = _pair(cache, store)
    pump(client, server)
    client.close()
    assert client.state is ConnectionState.HOST_INITIATED_CLOSING
    server.receive_data(client.data_to_send())
    assert server.state is ConnectionState.SHUTDOWN  # answered at once (§7.2.1)
    client.receive_data(server.data_to_send())
    assert client.state is ConnectionState.SHUTDOWN
    client2, server2 = _pair(cache, store)
    pump(client2, server2)
    assert client2.handshake_info is not None and client2.handshake_info.resumed
