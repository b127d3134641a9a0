"""Shared test helper: drive a client and a server connection against each other in memory."""

from __future__ import annotations

from tlsmachine import ClientConnection, Event, ServerConnection


def pump(client: ClientConnection, server: ServerConnection) -> tuple[list[Event], list[Event]]:
    """Shuttle bytes until both sides are quiet; return each side's events."""
    client_events: list[Event] = []
    server_events: list[Event] = []
    for _ in range(20):
        to_server = client.data_to_send()
        if to_server:
            server_events += server.receive_data(to_server)
        to_client = server.data_to_send()
        if to_client:
            client_events += client.receive_data(to_client)
        if not to_server and not to_client:
            break
    return client_events, server_events
