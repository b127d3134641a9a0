"""The blocking-socket adapter: our client against our server over real sockets, with threads."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from tlsmachine import (
    AlertReceived,
    CertifiedKey,
    ClientConfig,
    ClientConnection,
    ConnectionState,
    HandshakeMessageTraced,
    KeyUpdated,
    ProtocolError,
    ServerConfig,
    ServerConnection,
    TLSError,
)
from tlsmachine.enums import AlertDescription
from tlsmachine.sockets import TLSServer, TLSSocket, connect, serve

pytestmark = pytest.mark.timeout(30)

TIMEOUT = 10.0


@pytest.fixture(scope="module")
def certified() -> CertifiedKey:
    return CertifiedKey.self_signed(("localhost",), "ecdsa-p256")


@pytest.fixture(scope="module")
def server_config(certified: CertifiedKey) -> ServerConfig:
    return ServerConfig(certificates=(certified,), alpn_protocols=("h2", "http/1.1"))


@pytest.fixture(scope="module")
def client_config(certified: CertifiedKey) -> ClientConfig:
    return ClientConfig(cadata=certified.chain_pem(), alpn_protocols=("http/1.1",))


class Recorder:
    """Handler wrapper that records what happened on each server-side connection."""

    def __init__(self, body: Callable[[TLSSocket], None]) -> None:
        self.body = body
        self.done = threading.Event()
        self.sockets: list[TLSSocket] = []
        self.errors: list[BaseException] = []

    def __call__(self, tls: TLSSocket) -> None:
        self.sockets.append(tls)
        try:
            self.body(tls)
        finally:
            self.done.set()

    def on_error(self, peer: tuple[str, int], exc: BaseException) -> None:
        self.errors.append(exc)
        self.done.set()


def echo(tls: TLSSocket) -> None:
    while data := tls.recv():
        tls.sendall(data)


@pytest.fixture
def start_server(server_config: ServerConfig) -> Iterator[Callable[..., tuple[TLSServer, int]]]:
    servers: list[TLSServer] = []

    def start(handler: Callable[[TLSSocket], None], **kwargs: object) -> tuple[TLSServer, int]:
        config = kwargs.pop("config", server_config)
        server = serve(config, handler, timeout=TIMEOUT, **kwargs)  # type: ignore[arg-type]
        servers.append(server)
        return server, server.address[1]

    yield start
    for server in servers:
        server.shutdown()


def test_handshake_echo_and_clean_close(start_server, client_config: ClientConfig) -> None:
    recorder = Recorder(echo)
    _, port = start_server(recorder, on_error=recorder.on_error)
    with connect(
        "127.0.0.1", port, config=client_config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.version, info.alpn_protocol) == ("TLSv1.3", "http/1.1")
        assert info.server_name == "localhost"
        assert tls.connection.state is ConnectionState.APP_DATA
        tls.sendall(b"ping")
        assert tls.recv() == b"ping"
    assert tls.clean_close is True
    assert tls.connection.state is ConnectionState.SHUTDOWN
    assert recorder.done.wait(TIMEOUT)
    assert recorder.errors == []
    assert recorder.sockets[0].clean_close is True
    server_info = recorder.sockets[0].handshake_info
    assert server_info is not None
    assert server_info.cipher_suite == info.cipher_suite


def test_bulk_transfer_both_ways(start_server, client_config: ClientConfig) -> None:
    _, port = start_server(echo)
    payload = bytes(range(256)) * 4096  # 1 MiB, many full-size records
    with connect(
        "127.0.0.1", port, config=client_config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        # one thread per TLSSocket: send in chunks the kernel buffers can hold, read in between
        received = bytearray()
        for start in range(0, len(payload), 65536):
            tls.sendall(payload[start : start + 65536])
            while len(received) < start + 65536:
                received += tls.recv()
        assert bytes(received) == payload
    assert tls.clean_close is True


def test_socketpair_without_a_listener(
    server_config: ServerConfig, client_config: ClientConfig
) -> None:
    a, b = socket.socketpair()
    a.settimeout(TIMEOUT)
    b.settimeout(TIMEOUT)
    server = TLSSocket(b, ServerConnection(server_config))
    result: list[bytes] = []

    def serve_one() -> None:
        with server:
            result.append(server.recv())
            server.sendall(b"pong")
            assert server.recv() == b""

    thread = threading.Thread(target=serve_one)
    thread.start()
    client = TLSSocket(a, ClientConnection(client_config, server_name="localhost"))
    client.do_handshake()
    client.sendall(b"ping")
    assert client.recv() == b"pong"
    client.close()
    thread.join(TIMEOUT)
    assert result == [b"ping"]
    assert client.clean_close is True
    assert server.clean_close is True


def test_key_update_both_directions(start_server, client_config: ClientConfig) -> None:
    server_events: list[object] = []
    _, port = start_server(echo, on_event=server_events.append)
    client_events: list[object] = []
    with connect(
        "127.0.0.1",
        port,
        config=client_config,
        server_hostname="localhost",
        timeout=TIMEOUT,
        on_event=client_events.append,
    ) as tls:
        for i in range(3):
            tls.key_update(request_peer=True)
            tls.sendall(b"after update %d" % i)
            assert tls.recv() == b"after update %d" % i
    assert tls.clean_close is True
    assert any(isinstance(e, KeyUpdated) and e.direction == "receive" for e in client_events)
    assert any(isinstance(e, KeyUpdated) and e.direction == "receive" for e in server_events)


def test_trace_events_reach_the_hook(start_server, certified: CertifiedKey) -> None:
    _, port = start_server(echo)
    seen: list[HandshakeMessageTraced] = []
    config = ClientConfig(cadata=certified.chain_pem(), trace_handshake=True)

    def hook(event: object) -> None:
        if isinstance(event, HandshakeMessageTraced):
            seen.append(event)

    with connect(
        "127.0.0.1",
        port,
        config=config,
        server_hostname="localhost",
        timeout=TIMEOUT,
        on_event=hook,
    ):
        pass
    received = [e.name for e in seen if e.direction == "received"]
    assert received[:2] == ["server_hello", "encrypted_extensions"]
    assert "finished" in received


def test_unwrap_returns_the_plain_socket(start_server, client_config: ClientConfig) -> None:
    _, port = start_server(echo)
    tls = connect(
        "127.0.0.1", port, config=client_config, server_hostname="localhost", timeout=TIMEOUT
    )
    raw = tls.unwrap()
    try:
        assert tls.clean_close is True
        assert raw.fileno() >= 0
    finally:
        raw.close()


def test_eof_during_handshake_raises(client_config: ClientConfig) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def accept_and_hang_up() -> None:
            conn, _ = listener.accept()
            conn.recv(65536)
            conn.close()

        thread = threading.Thread(target=accept_and_hang_up)
        thread.start()
        with pytest.raises(TLSError, match="closed by peer during handshake"):
            connect(
                "127.0.0.1",
                port,
                config=client_config,
                server_hostname="localhost",
                timeout=TIMEOUT,
            )
        thread.join(TIMEOUT)


def test_eof_without_close_notify_is_unclean(start_server, client_config: ClientConfig) -> None:
    def hang_up(tls: TLSSocket) -> None:
        tls.sendall(b"bye")
        tls.socket.shutdown(socket.SHUT_RDWR)  # no close_notify: a truncation

    _, port = start_server(hang_up)
    tls = connect(
        "127.0.0.1", port, config=client_config, server_hostname="localhost", timeout=TIMEOUT
    )
    try:
        assert tls.recv() == b"bye"
        assert tls.recv() == b""
        assert tls.clean_close is False
        assert tls.peer_closed
    finally:
        tls.socket.close()


def test_untrusted_certificate_alert_reaches_the_server(start_server) -> None:
    recorder = Recorder(echo)
    _, port = start_server(recorder, on_error=recorder.on_error)
    stranger = CertifiedKey.self_signed(("localhost",), "ecdsa-p256")
    config = ClientConfig(cadata=stranger.chain_pem())
    with pytest.raises(ProtocolError) as caught:
        connect("127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT)
    assert recorder.done.wait(TIMEOUT)
    assert len(recorder.errors) == 1
    alert = recorder.errors[0]
    assert isinstance(alert, AlertReceived)
    assert alert.description == caught.value.alert


def test_garbage_client_gets_an_alert_and_the_server_keeps_serving(
    start_server, client_config: ClientConfig
) -> None:
    recorder = Recorder(echo)
    _, port = start_server(recorder, on_error=recorder.on_error)
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
        # a handshake record holding an (empty) ServerHello: never acceptable from a client
        raw.sendall(b"\x16\x03\x01\x00\x04\x02\x00\x00\x00")
        reply = b""
        while len(reply) < 7 and (chunk := raw.recv(100)):
            reply += chunk
    # a plaintext fatal alert: ContentType.alert(21), legacy version, length 2, level fatal(2)
    assert reply[:1] == b"\x15"
    assert reply[3:6] == b"\x00\x02\x02"
    assert AlertDescription(reply[6]) in (
        AlertDescription.DECODE_ERROR,
        AlertDescription.UNEXPECTED_MESSAGE,
        AlertDescription.ILLEGAL_PARAMETER,
    )
    assert recorder.done.wait(TIMEOUT)
    assert isinstance(recorder.errors[0], ProtocolError)
    with connect(
        "127.0.0.1", port, config=client_config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        tls.sendall(b"still there?")
        assert tls.recv() == b"still there?"


def test_server_alert_reaches_the_client(start_server, certified: CertifiedKey) -> None:
    server_config = ServerConfig(certificates=(certified,), alpn_protocols=("h2",))
    recorder = Recorder(echo)
    _, port = start_server(recorder, on_error=recorder.on_error, config=server_config)
    config = ClientConfig(cadata=certified.chain_pem(), alpn_protocols=("http/1.1",))
    with pytest.raises(AlertReceived) as caught:
        connect("127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT)
    assert caught.value.description == AlertDescription.NO_APPLICATION_PROTOCOL
    assert recorder.done.wait(TIMEOUT)
    assert isinstance(recorder.errors[0], ProtocolError)


def test_concurrent_clients(start_server, client_config: ClientConfig) -> None:
    _, port = start_server(echo)
    results: dict[int, bytes] = {}

    def client(i: int) -> None:
        with connect(
            "127.0.0.1", port, config=client_config, server_hostname="localhost", timeout=TIMEOUT
        ) as tls:
            tls.sendall(b"client %d" % i)
            results[i] = tls.recv()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert results == {i: b"client %d" % i for i in range(8)}


def test_shutdown_stops_the_accept_loop(server_config: ServerConfig) -> None:
    server = TLSServer(server_config, echo, timeout=TIMEOUT)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    server.shutdown()
    thread.join(TIMEOUT)
    assert not thread.is_alive()
