"""The blocking-socket adapter: our client against our server over real sockets, with threads."""

from __future__ import annotations

import array
import contextlib
import errno
import socket
import struct
import threading
import time
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
    UsageError,
)
from tlsmachine.enums import AlertDescription
from tlsmachine.errors import BadRecordMac
from tlsmachine.sockets import RaggedEOFError, TLSServer, TLSSocket, connect, serve

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


def test_sendall_takes_any_buffer_and_recv_into_reads_across_records(
    start_server, client_config: ClientConfig
) -> None:
    """sendall() hands the core views of the caller's buffer (no copy of its own); they are
    sealed before it returns, so a buffer changed afterwards changes nothing sent."""
    _, port = start_server(echo)
    words = array.array("I", range(25_000))  # 100,000 bytes: two 64 KiB send chunks
    expected = words.tobytes()
    with connect(
        "127.0.0.1", port, config=client_config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        tls.sendall(words)
        words[0] = 0xFFFFFFFF  # after the call: must not reach the peer
        received = bytearray(len(expected))
        view = memoryview(received)
        filled = 0
        while filled < len(expected):
            filled += tls.recv_into(view[filled : filled + 30_000])  # spans record boundaries
        assert bytes(received) == expected


def test_sendfile_and_the_socket_attributes_ssl_code_reads(
    start_server, client_config: ClientConfig, tmp_path
) -> None:
    """sendfile() as ssl.SSLSocket's (read and send, the file left after what was sent);
    timeout, proto and the inheritable flag as socket.socket's."""
    _, port = start_server(echo)
    path = tmp_path / "payload.bin"
    payload = bytes(range(256)) * 600  # 153,600 bytes: three blocks
    path.write_bytes(payload)
    with connect(
        "127.0.0.1", port, config=client_config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        assert tls.timeout == TIMEOUT == tls.gettimeout()
        assert tls.proto == tls.socket.proto
        assert tls.get_inheritable() is False
        tls.set_inheritable(True)
        assert tls.socket.get_inheritable() is True
        with path.open("rb") as file:
            assert tls.sendfile(file, offset=1000, count=70_000) == 70_000
            assert file.tell() == 71_000
            assert tls.sendfile(file, offset=150_000) == 3_600  # to the end
            assert file.tell() == len(payload)
        expected = payload[1000:71_000] + payload[150_000:]
        received = bytearray()
        while len(received) < len(expected):
            received += tls.recv()
        assert bytes(received) == expected
        with path.open("r") as text, pytest.raises(ValueError, match="binary"):
            tls.sendfile(text)  # type: ignore[arg-type]
        with path.open("rb") as file, pytest.raises(ValueError, match="positive"):
            tls.sendfile(file, count=0)


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


def write_then_read(tls: TLSSocket) -> None:
    for _ in range(50):  # keeps writing while the alert arrives
        tls.sendall(b"x" * 65536)
    tls.recv()


def test_an_alert_after_our_finished_is_not_lost_to_a_reset(
    start_server, certified: CertifiedKey
) -> None:
    """TLS 1.3: the client's handshake is complete when it sends its Finished; the server's
    certificate_required comes after, while the client may already be writing. The server
    half-closes and keeps reading briefly after its alert (a lingering close), so the alert is
    not destroyed by the TCP reset a close with unread input would cause; and a client whose
    write fails still reads it. Either way the client learns the reason, not a reset."""
    strict = ServerConfig(
        certificates=(certified,), client_auth="required", client_cadata=certified.chain_pem()
    )
    recorder = Recorder(echo)
    _, port = start_server(recorder, on_error=recorder.on_error, config=strict)
    config = ClientConfig(cadata=certified.chain_pem())  # no certificate to give
    for _ in range(5):
        tls = connect(
            "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT
        )
        with tls, pytest.raises(AlertReceived) as caught:
            write_then_read(tls)
        assert caught.value.description == AlertDescription.CERTIFICATE_REQUIRED


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


# -- an ssl.SSLSocket-shaped API ------------------------------------------------------------------


def open_client(port: int, client_config: ClientConfig, **kwargs: object) -> TLSSocket:
    return connect(
        "127.0.0.1",
        port,
        config=client_config,
        server_hostname="localhost",
        timeout=TIMEOUT,
        **kwargs,  # type: ignore[arg-type]
    )


def test_send_recv_into_and_makefile(start_server, client_config: ClientConfig) -> None:
    def lines(tls: TLSSocket) -> None:
        reader = tls.makefile("rb")
        writer = tls.makefile("w", encoding="utf-8")
        while line := reader.readline():
            writer.write(line.decode().upper())
            writer.flush()
        reader.close()
        writer.close()

    _, port = start_server(lines)
    with open_client(port, client_config) as tls:
        assert tls.send(memoryview(b"first line\nsecond")) == 17
        assert tls.send(bytearray(b" line\n")) == 6
        assert tls.send(b"") == 0
        buffer = bytearray(64)
        received = tls.recv_into(buffer, 11)
        assert bytes(buffer[:received]) == b"FIRST LINE\n"
        reader = tls.makefile("r", encoding="utf-8", newline="")
        assert reader.readline() == "SECOND LINE\n"
        big = b"x" * 200_000 + b"\n"  # a write of many records through the buffered writer
        writer = tls.makefile("wb", buffering=0)
        assert writer.write(big) == 65536  # raw: one send(), as for socket.SocketIO
        tls.sendall(big[65536:])
        assert reader.readline() == "X" * 200_000 + "\n"
        reader.close()
        writer.close()
        with pytest.raises(ValueError, match="flags"):
            tls.recv(10, socket.MSG_PEEK)
    assert tls.clean_close is True


def test_ssl_style_information(start_server, client_config: ClientConfig) -> None:
    recorder = Recorder(lambda tls: tls.sendall(tls.get_channel_binding() or b""))
    _, port = start_server(recorder)
    with open_client(port, client_config) as tls:
        assert tls.version() == "TLSv1.3"
        name, version, bits = tls.cipher() or ("", "", 0)
        assert name == tls.handshake_info.cipher_suite  # type: ignore[union-attr]
        assert (version, bits) == ("TLSv1.3", 128 if "AES_128" in name else 256)
        assert tls.selected_alpn_protocol() == "http/1.1"
        assert tls.server_hostname == "localhost" and tls.server_side is False
        assert tls.fileno() == tls.socket.fileno() >= 0
        assert tls.getpeername()[1] == port
        assert tls.getsockname()[0] == "127.0.0.1"
        assert tls.getpeercert(binary_form=True) is not None
        peer = tls.getpeercert()
        assert peer is not None and peer["subjectAltName"] == (("DNS", "localhost"),)
        binding = tls.get_channel_binding()
        assert binding is not None and len(binding) == 32
        received = tls.recv(100)
        assert received == binding  # both ends derive the same tls-exporter (RFC 9266)
        with pytest.raises(ValueError, match="tls-unique"):
            tls.get_channel_binding("tls-unique")
        assert tls.pending() == 0
        assert tls.gettimeout() == TIMEOUT
    assert recorder.done.wait(TIMEOUT)
    server_side = recorder.sockets[0]
    assert server_side.server_side is True and server_side.server_hostname is None
    assert server_side.getpeercert() is None  # no client certificate was asked for


def test_shutdown_write_half_closes(start_server, client_config: ClientConfig) -> None:
    def collect_then_answer(tls: TLSSocket) -> None:
        data = b""
        while chunk := tls.recv():
            data += chunk
        assert tls.clean_close is True  # our close_notify, not a TCP EOF, ended the stream
        tls.sendall(b"got %d bytes" % len(data))

    recorder = Recorder(collect_then_answer)
    _, port = start_server(recorder, on_error=recorder.on_error)
    with open_client(port, client_config) as tls:
        tls.sendall(b"a" * 1000)
        tls.shutdown(socket.SHUT_WR)  # close_notify, then TCP FIN; we can still read
        assert tls.recv() == b"got 1000 bytes"
        assert tls.recv() == b""
    assert tls.clean_close is True
    assert recorder.done.wait(TIMEOUT)
    assert recorder.errors == []


def test_ragged_eof_raises_when_not_suppressed(start_server, client_config: ClientConfig) -> None:
    def hang_up(tls: TLSSocket) -> None:
        tls.sendall(b"partial")
        tls.socket.shutdown(socket.SHUT_RDWR)  # no close_notify

    _, port = start_server(hang_up)
    tls = open_client(port, client_config)
    tls.suppress_ragged_eofs = False
    try:
        assert tls.recv() == b"partial"
        with pytest.raises(RaggedEOFError):
            tls.recv()
        assert tls.clean_close is False
    finally:
        tls.socket.close()


def test_recv_timeout_and_settimeout(start_server, client_config: ClientConfig) -> None:
    release = threading.Event()
    _, port = start_server(lambda tls: release.wait(TIMEOUT))
    tls = open_client(port, client_config)
    try:
        tls.settimeout(0.3)
        assert tls.gettimeout() == 0.3
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            tls.recv()
        assert 0.25 <= time.monotonic() - started < 5.0
        assert tls.gettimeout() == 0.3  # the per-operation deadline left the setting alone
        with pytest.raises(UsageError, match="wrap_bio"):
            tls.settimeout(0)
        with pytest.raises(UsageError):
            tls.setblocking(False)
        tls.setblocking(True)
        assert tls.gettimeout() is None and tls.getblocking() is True
        tls.settimeout(1.0)
        raw = tls.unwrap(timeout=0.2)
        assert raw.gettimeout() == 1.0  # unwrap's bounded wait restored it
    finally:
        release.set()
        tls.socket.close()


def test_client_handshake_timeout_against_a_silent_server(client_config: ClientConfig) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            connect(
                "127.0.0.1", port, config=client_config, server_hostname="localhost", timeout=0.5
            )
        assert time.monotonic() - started < 5.0


# -- one bad client cannot stop the server --------------------------------------------------------


class ErrorLog:
    """on_error hook that counts errors by type and can wait for a number of them."""

    def __init__(self) -> None:
        self.errors: list[BaseException] = []
        self._changed = threading.Condition()

    def __call__(self, peer: tuple[str, int], exc: BaseException) -> None:
        with self._changed:
            self.errors.append(exc)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = TIMEOUT) -> list[BaseException]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.errors) >= count, timeout), (
                f"only {self.errors} after {timeout}s"
            )
            return list(self.errors)


def client_hello(client_config: ClientConfig) -> bytes:
    return ClientConnection(client_config, server_name="localhost").data_to_send()


def wait_idle(server: TLSServer) -> None:
    """Wait until no connection thread runs (each leaves just after reporting its error)."""
    deadline = time.monotonic() + TIMEOUT
    while server.active_connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.active_connections == 0


def assert_still_serving(port: int, client_config: ClientConfig) -> None:
    with open_client(port, client_config) as tls:
        tls.sendall(b"still serving")
        assert tls.recv() == b"still serving"


def test_silent_client_times_out_and_frees_its_slot(
    start_server, client_config: ClientConfig
) -> None:
    log = ErrorLog()
    server, port = start_server(echo, on_error=log, max_connections=1, handshake_timeout=0.5)
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as silent:
        errors = log.wait_for(1)
        assert isinstance(errors[0], TimeoutError)
        assert 0.4 <= time.monotonic() - started < 5.0
        assert silent.recv(100) == b""  # nothing was exchanged: the server just closed
    wait_idle(server)
    assert_still_serving(port, client_config)  # the only slot is free again


def test_trickling_client_cannot_stretch_the_handshake(
    start_server, client_config: ClientConfig
) -> None:
    log = ErrorLog()
    _, port = start_server(echo, on_error=log, handshake_timeout=0.8)
    hello = client_hello(client_config)
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as slow:
        with contextlib.suppress(OSError):
            for i in range(len(hello)):  # one byte every 50 ms: each read would succeed
                slow.sendall(hello[i : i + 1])
                if log.errors:
                    break
                time.sleep(0.05)
        errors = log.wait_for(1)
    assert isinstance(errors[0], TimeoutError)
    assert time.monotonic() - started < 5.0  # the deadline covers the whole handshake
    assert_still_serving(port, client_config)


def test_client_leaving_mid_handshake(start_server, client_config: ClientConfig) -> None:
    log = ErrorLog()
    _, port = start_server(echo, on_error=log)
    hello = client_hello(client_config)
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as leaving:
        leaving.sendall(hello[: len(hello) // 2])
    errors = log.wait_for(1)
    assert isinstance(errors[0], TLSError)
    assert "during handshake" in str(errors[0])
    # one that resets the connection after a complete ClientHello
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as resetting:
        resetting.sendall(hello)
        resetting.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    errors = log.wait_for(2)
    assert isinstance(errors[1], OSError | TLSError)
    assert_still_serving(port, client_config)


def test_more_clients_than_max_connections(start_server, client_config: ClientConfig) -> None:
    log = ErrorLog()
    server, port = start_server(echo, on_error=log, max_connections=3, handshake_timeout=1.0)
    silent = [socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) for _ in range(10)]
    try:
        errors = log.wait_for(10)  # 7 refused at once, 3 timed out
        refused = [e for e in errors if isinstance(e, ConnectionRefusedError)]
        timed_out = [e for e in errors if isinstance(e, TimeoutError)]
        assert (len(refused), len(timed_out)) == (7, 3)
    finally:
        for sock in silent:
            sock.close()
    wait_idle(server)
    assert_still_serving(port, client_config)


def test_a_failing_error_hook_does_not_stop_the_server(
    start_server, client_config: ClientConfig
) -> None:
    calls: list[BaseException] = []

    def broken_hook(peer: tuple[str, int], exc: BaseException) -> None:
        calls.append(exc)
        raise RuntimeError("hook bug")

    _, port = start_server(echo, on_error=broken_hook)
    for _ in range(2):
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
            raw.sendall(b"\x16\x03\x01\x00\x04\x02\x00\x00\x00")  # garbage: a ServerHello
            while raw.recv(100):
                pass
    assert_still_serving(port, client_config)
    assert len(calls) == 2


class FlakyListener:
    """A listening socket whose accept() fails like a process out of descriptors, twice."""

    def __init__(self, real: socket.socket) -> None:
        self.real = real
        self.failures = 2

    def accept(self) -> tuple[socket.socket, object]:
        if self.failures:
            self.failures -= 1
            raise OSError(errno.EMFILE, "Too many open files")
        return self.real.accept()

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)


def test_accept_failures_are_waited_out(server_config: ServerConfig, client_config) -> None:
    server = TLSServer(server_config, echo, timeout=TIMEOUT)
    flaky = FlakyListener(server.listener)
    server.listener = flaky  # type: ignore[assignment]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert_still_serving(server.address[1], client_config)
        assert flaky.failures == 0
        assert thread.is_alive()
    finally:
        server.shutdown()
        thread.join(TIMEOUT)
    assert not thread.is_alive()


def test_data_ahead_of_a_bad_record_comes_before_the_error(
    start_server, client_config: ClientConfig
) -> None:
    """Application data authenticated before a forged record, in one TCP segment: recv()
    returns the data, the next recv() raises (as ssl returns data before an error)."""
    results: list[object] = []

    def read_twice(tls: TLSSocket) -> None:
        results.append(tls.recv())
        try:
            tls.recv()
        except TLSError as exc:
            results.append(exc)

    recorder = Recorder(read_twice)
    _, port = start_server(recorder)
    conn = ClientConnection(client_config, "localhost")
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
        raw.sendall(conn.data_to_send())
        while conn.handshake_info is None:
            conn.receive_data(raw.recv(65536))
            raw.sendall(conn.data_to_send())
        conn.send(b"last words")
        raw.sendall(conn.data_to_send() + b"\x17\x03\x03\x00\x20" + bytes(32))  # forged
        assert recorder.done.wait(TIMEOUT)
    assert results[0] == b"last words"
    assert isinstance(results[1], BadRecordMac)
