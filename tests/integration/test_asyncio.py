"""The asyncio adapter (``tlsmachine.asyncio``): our client against our server on 127.0.0.1.

Streams and the Protocol/Transport API, TLS 1.3 and 1.2; flow control both ways (a slow reader
blocks the writer's ``drain()``, memory stays bounded); close_notify against a bare TCP EOF
(RFC 8446 §6.1); handshake timeouts, cancellation, EOF and errors during the handshake, the
fatal alert reaching the peer; a server that bad clients cannot stop; 50 concurrent clients.

Peers that misbehave on purpose are driven by the sans-I/O core over plain asyncio streams.
Every test runs its own event loop (``asyncio.run``) under a bounded ``asyncio.wait_for``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import random
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

import pytest
from cryptography import x509

from tlsmachine import (
    AlertReceived,
    CertifiedKey,
    ClientConfig,
    ClientConnection,
    ConfigurationError,
    HandshakeComplete,
    ProtocolError,
    ServerConfig,
    ServerConnection,
    TLSError,
)
from tlsmachine.asyncio import (
    RaggedEOFError,
    TLSTransport,
    create_connection,
    create_server,
    open_connection,
    start_server,
)
from tlsmachine.connection import Connection
from tlsmachine.enums import AlertDescription, ProtocolVersion
from tlsmachine.errors import BadCertificate, BadRecordMac, UnknownCA
from tlsmachine.events import Event

pytestmark = pytest.mark.timeout(120)

TIMEOUT = 30.0
"""Bound for one test's whole coroutine (generous: the machine is shared)."""
HOST = "127.0.0.1"
VERSIONS = {"tls13": ProtocolVersion.TLS13, "tls12": ProtocolVersion.TLS12}


def run(coro: Coroutine[Any, Any, Any], timeout: float = TIMEOUT) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture(scope="module")
def certified() -> CertifiedKey:
    return CertifiedKey.self_signed(("localhost",), "ecdsa-p256")


@pytest.fixture(scope="module")
def server_config(certified: CertifiedKey) -> ServerConfig:
    return ServerConfig(certificates=(certified,), alpn_protocols=("h2", "http/1.1"))


@pytest.fixture(scope="module")
def client_config(certified: CertifiedKey) -> ClientConfig:
    return ClientConfig(cadata=certified.chain_pem(), alpn_protocols=("http/1.1",))


def versioned(
    server_config: ServerConfig, client_config: ClientConfig, version: str
) -> tuple[ServerConfig, ClientConfig]:
    import dataclasses

    top = VERSIONS[version]
    return (
        dataclasses.replace(server_config, max_version=top),
        dataclasses.replace(client_config, max_version=top),
    )


class Errors(list[tuple[BaseException, Any]]):
    """The server's on_error hook: records (exception, peername)."""

    def __call__(self, exc: BaseException, peer: Any) -> None:
        self.append((exc, peer))


@contextlib.asynccontextmanager
async def serving(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    config: ServerConfig,
    **kwargs: Any,
) -> AsyncIterator[tuple[int, Errors]]:
    """Our stream server on 127.0.0.1:0; yields (port, errors); closed afterwards."""
    errors = Errors()
    server = await start_server(handler, HOST, 0, config=config, on_error=errors, **kwargs)
    try:
        yield server.sockets[0].getsockname()[1], errors
    finally:
        server.close()
        await server.wait_closed()


async def connect(port: int, config: ClientConfig, **kwargs: Any) -> tuple[Any, Any]:
    return await open_connection(HOST, port, server_hostname="localhost", config=config, **kwargs)


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    await asyncio.wait_for(writer.wait_closed(), 10)


async def settle(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll until ``predicate()`` holds (bounded)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


# -- peers driven by the sans-I/O core over plain TCP ----------------------------------------------


async def raw_handshake(
    conn: Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> list[Event]:
    """Run the core's handshake over a plain stream (for peers that misbehave on purpose)."""
    events: list[Event] = []
    writer.write(conn.data_to_send())
    while conn.handshake_info is None:
        data = await reader.read(65536)
        assert data, "EOF during the raw handshake"
        events += conn.receive_data(data)
        writer.write(conn.data_to_send())
    await writer.drain()
    return events


async def read_to_eof(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while chunk := await reader.read(65536):
        chunks.append(chunk)
    return b"".join(chunks)


# -- echo, extra info, close_notify ----------------------------------------------------------------


@pytest.mark.parametrize("version", ["tls13", "tls12"])
def test_echo_streams_and_clean_close(
    server_config: ServerConfig, client_config: ClientConfig, version: str
) -> None:
    scfg, ccfg = versioned(server_config, client_config, version)
    served: list[dict[str, Any]] = []

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received = b""
        while data := await reader.read(65536):
            received += data
            writer.write(data)
            await writer.drain()
        served.append(
            {
                "received": received,
                "at_eof": reader.at_eof(),
                "clean": writer.get_extra_info("tls_clean_close"),
                "info": writer.get_extra_info("handshake_info"),
            }
        )
        await close(writer)

    async def main() -> None:
        async with serving(echo, scfg) as (port, errors):
            reader, writer = await connect(port, ccfg)
            assert isinstance(reader, asyncio.StreamReader)
            assert isinstance(writer, asyncio.StreamWriter)
            assert isinstance(writer.transport, TLSTransport)
            expected_version = "TLSv1.3" if version == "tls13" else "TLSv1.2"
            assert writer.get_extra_info("tls_version") == expected_version
            assert writer.get_extra_info("peername") == (HOST, port)
            assert writer.get_extra_info("sockname")[0] == HOST
            assert writer.get_extra_info("socket") is not None
            assert writer.get_extra_info("alpn_protocol") == "http/1.1"
            assert writer.get_extra_info("server_name") == "localhost"
            assert isinstance(writer.get_extra_info("peercert"), x509.Certificate)
            assert isinstance(writer.get_extra_info("tlsmachine_connection"), ClientConnection)
            assert isinstance(writer.get_extra_info("handshake_info"), HandshakeComplete)
            assert writer.get_extra_info("tls_clean_close") is None
            assert writer.get_extra_info("sslcontext") is None  # no ssl module underneath
            assert writer.can_write_eof()

            message = os.urandom(100_000)
            writer.write(message)
            await writer.drain()
            assert await reader.readexactly(len(message)) == message
            writer.writelines([b"one ", bytearray(b"two "), memoryview(b"three")])
            assert await reader.readexactly(13) == b"one two three"
            await close(writer)
            assert writer.transport.is_closing()
            assert writer.get_extra_info("tls_clean_close") is True  # the server's close_notify
            assert reader.at_eof()
            await settle(lambda: len(served) == 1)
            assert errors == []
        (record,) = served
        assert record["received"] == message + b"one two three"
        assert record["at_eof"] is True
        assert record["clean"] is True  # our close_notify reached the server
        assert record["info"].version == expected_version

    run(main())


def test_half_close_write_eof_then_answer(
    server_config: ServerConfig, client_config: ClientConfig
) -> None:
    """write_eof() sends close_notify; the server reads to EOF and still answers (RFC 8446 §6.1
    half-close), then closes: the client reads the answer, then a clean EOF."""

    async def answer_after_eof(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await read_to_eof(reader)
        writer.write(b"you sent " + request)
        await writer.drain()
        await close(writer)

    async def main() -> None:
        async with serving(answer_after_eof, server_config) as (port, errors):
            reader, writer = await connect(port, client_config)
            writer.write(b"a request")
            writer.write_eof()
            writer.write(b"dropped: written after write_eof")  # asyncio's rule: dropped
            assert await read_to_eof(reader) == b"you sent a request"
            assert reader.at_eof()
            assert writer.get_extra_info("tls_clean_close") is True
            await close(writer)
            assert errors == []

    run(main())


def test_server_close_notify_is_a_clean_eof(
    server_config: ServerConfig, client_config: ClientConfig
) -> None:
    async def say_and_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"goodbye")
        await close(writer)

    async def main() -> None:
        async with serving(say_and_close, server_config) as (port, errors):
            reader, writer = await connect(port, client_config)
            assert await read_to_eof(reader) == b"goodbye"
            assert reader.at_eof()
            assert await reader.read() == b""
            assert writer.get_extra_info("tls_clean_close") is True
            await close(writer)
            assert errors == []

    run(main())


# -- truncation: a TCP EOF without close_notify ----------------------------------------------------


@contextlib.asynccontextmanager
async def raw_tls_server(
    config: ServerConfig,
    after_handshake: Callable[
        [ServerConnection, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]
    ],
) -> AsyncIterator[int]:
    """A TLS server driven by the core over a plain asyncio server (it may misbehave)."""
    done: list[BaseException | None] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            conn = ServerConnection(config)
            await raw_handshake(conn, reader, writer)
            await after_handshake(conn, reader, writer)
            done.append(None)
        except BaseException as exc:
            done.append(exc)
            raise
        finally:
            writer.close()

    server = await asyncio.start_server(handle, HOST, 0)
    try:
        yield server.sockets[0].getsockname()[1]
        await settle(lambda: bool(done))  # the misbehaving server finished its script
    finally:
        server.close()
        await server.wait_closed()
    assert done == [None], done


async def send_then_bare_eof(
    conn: ServerConnection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    conn.send(b"partial answer")
    writer.write(conn.data_to_send())
    await writer.drain()
    writer.write_eof()  # TCP FIN, no close_notify: a truncation as far as TLS can tell
    await reader.read()  # until the client closes


def test_truncated_eof_is_an_error_by_default(
    server_config: ServerConfig, client_config: ClientConfig
) -> None:
    async def main() -> None:
        async with raw_tls_server(server_config, send_then_bare_eof) as port:
            reader, writer = await connect(port, client_config)
            with pytest.raises(RaggedEOFError) as caught:
                await read_to_eof(reader)
            assert isinstance(caught.value, ConnectionResetError)  # and a TLSError
            assert isinstance(caught.value, TLSError)
            assert writer.get_extra_info("tls_clean_close") is False
            assert not reader.at_eof() or reader.exception() is not None
            writer.close()
            with pytest.raises(RaggedEOFError):
                await writer.wait_closed()

    run(main())


def test_truncated_eof_protocol_gets_data_then_error(
    server_config: ServerConfig, client_config: ClientConfig
) -> None:
    """The Protocol API sees every byte that arrived, then connection_lost(RaggedEOFError),
    and no eof_received (which means a clean close_notify)."""

    async def main() -> None:
        async with raw_tls_server(server_config, send_then_bare_eof) as port:
            transport, proto = await create_connection(
                Recorder, HOST, port, server_hostname="localhost", config=client_config
            )
            exc = await asyncio.wait_for(proto.lost, 10)
            assert isinstance(exc, RaggedEOFError)
            assert bytes(proto.data) == b"partial answer"
            assert "eof" not in proto.calls
            assert transport.get_extra_info("tls_clean_close") is False
            assert transport.is_closing()

    run(main())


def test_truncated_eof_suppressed_is_a_plain_eof(
    server_config: ServerConfig, client_config: ClientConfig
) -> None:
    async def main() -> None:
        async with raw_tls_server(server_config, send_then_bare_eof) as port:
            reader, writer = await connect(port, client_config, suppress_ragged_eofs=True)
            assert await read_to_eof(reader) == b"partial answer"
            assert reader.at_eof()
            assert writer.get_extra_info("tls_clean_close") is False  # still distinguishable
            writer.close()
            await asyncio.wait_for(writer.wait_closed(), 10)

    run(main())


# -- handshake: EOF, timeout, cancellation, certificates ------------------------------------------


@contextlib.asynccontextmanager
async def plain_server(
    behaviour: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[int]:
    server = await asyncio.start_server(behaviour, HOST, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def test_eof_during_handshake_is_an_error(client_config: ClientConfig) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(10)  # part of the ClientHello
        writer.close()

    async def main() -> None:
        async with plain_server(hang_up) as port:
            with pytest.raises(RaggedEOFError, match="during the TLS handshake"):
                await connect(port, client_config)

    run(main())


class SilentServer:
    """Accepts, reads, never answers; records when each connection saw EOF from the client."""

    def __init__(self) -> None:
        self.accepted = asyncio.Event()
        self.eof = asyncio.Event()
        self.received = b""

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted.set()
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                self.received += data
        self.eof.set()
        writer.close()


def leftover_tasks(baseline: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if not t.done()} - baseline


def test_handshake_timeout_against_a_silent_server(client_config: ClientConfig) -> None:
    async def main() -> None:
        baseline = asyncio.all_tasks()
        silent = SilentServer()
        async with plain_server(silent) as port:
            loop = asyncio.get_running_loop()
            start = loop.time()
            with pytest.raises(TimeoutError, match="handshake did not finish"):
                await connect(port, client_config, ssl_handshake_timeout=0.5)
            assert 0.4 < loop.time() - start < 10
            assert silent.received[:1] == b"\x16"  # our ClientHello went out
            await asyncio.wait_for(silent.eof.wait(), 10)  # and the socket was closed
            assert leftover_tasks(baseline) == set()

    run(main())


def test_cancelling_open_connection_closes_the_socket(client_config: ClientConfig) -> None:
    async def main() -> None:
        baseline = asyncio.all_tasks()
        silent = SilentServer()
        async with plain_server(silent) as port:
            task = asyncio.create_task(connect(port, client_config))
            await asyncio.wait_for(silent.accepted.wait(), 10)
            await settle(lambda: bool(silent.received))  # mid-handshake
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.wait_for(silent.eof.wait(), 10)  # the socket is closed, not leaked
            assert leftover_tasks(baseline) == set()
            # asyncio.wait_for(open_connection(...)) cancels the same way
            silent2 = SilentServer()
            async with plain_server(silent2) as port2:
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(connect(port2, client_config), 0.3)
                await asyncio.wait_for(silent2.eof.wait(), 10)

    run(main())


@pytest.mark.parametrize(
    ("trust", "name", "error", "alert"),
    [
        ("other", "localhost", UnknownCA, AlertDescription.UNKNOWN_CA),
        ("right", "other.example", BadCertificate, AlertDescription.BAD_CERTIFICATE),
    ],
)
def test_bad_certificate_sends_the_alert_to_the_server(
    server_config: ServerConfig,
    certified: CertifiedKey,
    trust: str,
    name: str,
    error: type[ProtocolError],
    alert: AlertDescription,
) -> None:
    anchor = certified if trust == "right" else CertifiedKey.self_signed(("localhost",))
    config = ClientConfig(cadata=anchor.chain_pem())
    handled: list[bool] = []

    async def never(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handled.append(True)

    async def main() -> None:
        async with serving(never, server_config) as (port, errors):
            with pytest.raises(error) as caught:
                await open_connection(HOST, port, server_hostname=name, config=config)
            assert caught.value.alert == alert
            await settle(lambda: len(errors) == 1)
            exc, peer = errors[0]
            assert isinstance(exc, AlertReceived)  # our fatal alert reached the server
            assert exc.description == alert
            assert peer[0] == HOST
            assert handled == []  # the application never saw the connection

    run(main())


def test_cafile_and_config_together_is_a_configuration_error(
    client_config: ClientConfig, tmp_path: Any
) -> None:
    async def main() -> None:
        with pytest.raises(ConfigurationError, match="cafile and config"):
            await open_connection(HOST, 1, cafile=str(tmp_path / "ca.pem"), config=client_config)

    run(main())


def test_cafile_alone_and_server_hostname_defaulting_to_host(
    tmp_path: Any, server_config: ServerConfig, certified: CertifiedKey
) -> None:
    cafile = tmp_path / "ca.pem"
    cafile.write_bytes(certified.chain_pem())

    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hi")
        await close(writer)

    async def main() -> None:
        async with serving(greet, server_config) as (port, _errors):
            # server_hostname defaults to host: "localhost" is in the certificate
            reader, writer = await open_connection("localhost", port, cafile=str(cafile))
            assert await read_to_eof(reader) == b"hi"
            assert writer.get_extra_info("server_name") == "localhost"
            await close(writer)
            # host 127.0.0.1 as the name: not in this certificate (DNS:localhost only)
            with pytest.raises(BadCertificate):
                await open_connection(HOST, port, cafile=str(cafile))

    run(main())


# -- protocol errors after the handshake; bad clients ----------------------------------------------


def test_protocol_error_after_handshake_reaches_reader_and_peer(
    server_config: ServerConfig, client_config: ClientConfig
) -> None:
    """A forged record: the server's core raises bad_record_mac; the alert goes out before the
    socket closes and the server's reader raises the error."""
    reader_error: list[BaseException] = []
    started = asyncio.Event()

    async def read_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        started.set()
        try:
            await reader.read()
        except BaseException as exc:
            reader_error.append(exc)
        writer.close()

    async def main() -> None:
        async with serving(read_forever, server_config) as (port, errors):
            reader, writer = await asyncio.open_connection(HOST, port)
            conn = ClientConnection(client_config, server_name="localhost")
            await raw_handshake(conn, reader, writer)
            # the server's handshake is complete once our Finished is processed (not in the same
            # read as the forged record, or the core's error would come before its event)
            await asyncio.wait_for(started.wait(), 10)
            writer.write(b"\x17\x03\x03\x00\x20" + os.urandom(32))  # not sealed by our key
            rest = await asyncio.wait_for(read_to_eof(reader), 10)
            with pytest.raises(AlertReceived) as caught:
                conn.receive_data(rest)
            assert caught.value.description == AlertDescription.BAD_RECORD_MAC
            writer.close()
            await settle(lambda: bool(reader_error))
            assert isinstance(reader_error[0], BadRecordMac)
            assert errors == []  # after the handshake the error belongs to the application

    run(main())


def test_bad_clients_do_not_stop_the_server(
    server_config: ServerConfig, client_config: ClientConfig
) -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
        await close(writer)

    async def main() -> None:
        async with serving(echo, server_config, ssl_handshake_timeout=0.5) as (port, errors):
            # 1. not TLS at all: unexpected_message, sent in the clear, then the socket closes
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = await asyncio.wait_for(read_to_eof(reader), 10)
            fatal = 2
            assert answer == bytes([0x15, 3, 3, 0, 2, fatal, AlertDescription.UNEXPECTED_MESSAGE])
            writer.close()
            # 2. connects and says nothing: dropped at the handshake timeout
            silent_reader, silent_writer = await asyncio.open_connection(HOST, port)
            assert await asyncio.wait_for(silent_reader.read(), 10) == b""
            silent_writer.close()
            # 3. hangs up in the middle of the handshake
            _, hangup = await asyncio.open_connection(HOST, port)
            hangup.write(ClientConnection(client_config, "localhost").data_to_send()[:50])
            hangup.close()
            await settle(lambda: len(errors) == 3)
            kinds = sorted(type(exc).__name__ for exc, _ in errors)
            assert kinds == ["RaggedEOFError", "TimeoutError", "UnexpectedMessage"]
            assert all(peer[0] == HOST for _, peer in errors)
            # a good client is still served
            good_reader, good_writer = await connect(port, client_config)
            good_writer.write(b"still here")
            assert await good_reader.readexactly(10) == b"still here"
            await close(good_writer)

    run(main())


# -- flow control -------------------------------------------------------------------------------


def test_slow_reader_blocks_drain_and_memory_stays_bounded(
    server_config: ServerConfig, client_config: ClientConfig
) -> None:
    total = 16 * 2**20
    chunk_size = 2**16
    limit = 2**14
    state: dict[str, Any] = {"sent": 0, "in_drain": False, "done": False, "max_buffer": 0}

    def chunk(i: int) -> bytes:
        return i.to_bytes(4, "big") * (chunk_size // 4)

    async def blast(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 2**16)  # keep the kernel out of it
        for i in range(total // chunk_size):
            writer.write(chunk(i))
            state["max_buffer"] = max(state["max_buffer"], writer.transport.get_write_buffer_size())
            state["in_drain"] = True
            await writer.drain()
            state["in_drain"] = False
            state["sent"] += chunk_size
        state["done"] = True
        await close(writer)

    async def main() -> None:
        async with serving(blast, server_config) as (port, errors):
            raw = socket.socket()
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2**16)
            raw.settimeout(10)
            raw.connect((HOST, port))
            raw.setblocking(False)
            reader, writer = await open_connection(
                sock=raw, server_hostname="localhost", config=client_config, limit=limit
            )
            # read nothing: the server must stall in drain() well before the end
            last, stable = -1, 0
            while stable < 5:
                await asyncio.sleep(0.1)
                stable = stable + 1 if state["sent"] == last else 0
                last = state["sent"]
            assert not state["done"]
            assert state["in_drain"] is True
            assert state["sent"] < total // 4, state["sent"]
            assert not writer.transport.is_reading()  # we stopped reading the socket
            buffered = len(reader._buffer) + writer.transport.get_read_buffer_size()
            assert buffered <= 2 * limit + 2**18 + 2**15, buffered
            assert state["max_buffer"] <= 2**18, state["max_buffer"]
            # now read it all: every chunk, in order
            for i in range(total // chunk_size):
                assert await reader.readexactly(chunk_size) == chunk(i), i
            assert await reader.read() == b""
            assert writer.get_extra_info("tls_clean_close") is True
            await close(writer)
            assert state["done"]
            assert errors == []

    run(main(), timeout=90)


def test_fast_writer_to_slow_server_reader(
    server_config: ServerConfig, client_config: ClientConfig
) -> None:
    """The other direction: the client's drain() blocks while the server does not read."""
    total = 8 * 2**20
    digest = hashlib.sha256()
    go = asyncio.Event()
    results: list[tuple[int, str]] = []

    async def slow_sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await go.wait()
        got = hashlib.sha256()
        n = 0
        while data := await reader.read(65536):
            got.update(data)
            n += len(data)
        results.append((n, got.hexdigest()))
        await close(writer)

    async def main() -> None:
        async with serving(slow_sink, server_config) as (port, errors):
            _reader, writer = await connect(port, client_config)
            writer.transport.set_write_buffer_limits(high=2**16)
            sent = 0
            blocked = False
            rng = random.Random(1)
            while sent < total:
                data = rng.randbytes(2**16)
                digest.update(data)
                writer.write(data)
                sent += len(data)
                drain = asyncio.ensure_future(writer.drain())
                done, _ = await asyncio.wait({drain}, timeout=0.5)
                if not done:
                    blocked = True
                    assert writer.transport.get_write_buffer_size() >= 2**16
                    go.set()  # let the server read
                    await asyncio.wait_for(drain, 20)
            assert blocked, "drain() never blocked although nobody was reading"
            await close(writer)
            await settle(lambda: bool(results))
            assert results == [(total, digest.hexdigest())]
            assert errors == []

    run(main(), timeout=90)


# -- the Protocol / Transport API ---------------------------------------------------------------


class Recorder(asyncio.Protocol):
    """Records every callback; ``lost`` resolves with connection_lost's argument."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.data = bytearray()
        self.transport: Any = None
        self.lost: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()
        self.keep_open = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.calls.append("made")
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.calls.append("data")
        self.data += data

    def eof_received(self) -> bool:
        self.calls.append("eof")
        return self.keep_open

    def connection_lost(self, exc: Exception | None) -> None:
        self.calls.append("lost")
        self.lost.set_result(exc)


class EchoProtocol(asyncio.Protocol):
    instances: list[EchoProtocol] = []

    def __init__(self) -> None:
        self.instances.append(self)
        self.lost: BaseException | str | None = "not yet"
        self.eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        assert isinstance(transport, TLSTransport)

    def data_received(self, data: bytes) -> None:
        half = len(data) // 2
        self.transport.writelines([data[:half], data[half:]])

    def eof_received(self) -> None:
        self.eof = True  # returning None: the transport closes (sends close_notify)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = exc


def test_protocol_transport_api(server_config: ServerConfig, client_config: ClientConfig) -> None:
    events: list[Event] = []

    async def main() -> None:
        EchoProtocol.instances.clear()
        errors = Errors()
        server = await create_server(EchoProtocol, HOST, 0, config=server_config, on_error=errors)
        port = server.sockets[0].getsockname()[1]
        try:
            transport, proto = await create_connection(
                Recorder,
                HOST,
                port,
                server_hostname="localhost",
                config=client_config,
                on_event=events.append,
            )
            assert isinstance(transport, TLSTransport)
            assert isinstance(transport, asyncio.Transport)
            assert proto.transport is transport and proto.calls == ["made"]
            assert transport.get_protocol() is proto
            assert transport.connection is transport.get_extra_info("tlsmachine_connection")
            assert any(isinstance(e, HandshakeComplete) for e in events)

            transport.write(b"abc")
            transport.writelines([b"d", bytearray(b"e"), memoryview(b"f")])
            await settle(lambda: bytes(proto.data) == b"abcdef")
            with pytest.raises(TypeError):
                transport.write("text")  # type: ignore[arg-type]

            # pause_reading: nothing is delivered, the socket is not read; resume: it all comes
            transport.pause_reading()
            assert not transport.is_reading()
            transport.write(b"while paused")
            await asyncio.sleep(0.3)
            assert bytes(proto.data) == b"abcdef"
            transport.resume_reading()
            assert transport.is_reading()
            await settle(lambda: bytes(proto.data) == b"abcdefwhile paused")

            transport.set_write_buffer_limits(high=1000, low=100)
            assert transport.get_write_buffer_limits() == (100, 1000)
            assert transport.get_write_buffer_size() == 0
            assert transport.get_read_buffer_size() == 0

            transport.key_update(request_peer=True)  # RFC 8446 §4.6.3, both sides rekey
            transport.write(b" after rekey")
            await settle(lambda: bytes(proto.data).endswith(b"after rekey"))

            # half-close: our close_notify; the echo server closes in turn
            transport.write_eof()
            exc = await asyncio.wait_for(proto.lost, 10)
            assert exc is None
            assert proto.calls[-2:] == ["eof", "lost"]
            assert transport.get_extra_info("tls_clean_close") is True
            assert transport.is_closing()
            transport.write(b"after close")  # dropped, not an error
            (echo,) = EchoProtocol.instances
            await settle(lambda: echo.lost != "not yet")
            assert echo.eof is True and echo.lost is None
            assert errors == []
        finally:
            server.close()
            await server.wait_closed()

    run(main())


def test_abort_is_a_truncation_for_the_peer(
    server_config: ServerConfig, client_config: ClientConfig
) -> None:
    async def main() -> None:
        EchoProtocol.instances.clear()
        server = await create_server(EchoProtocol, HOST, 0, config=server_config)
        port = server.sockets[0].getsockname()[1]
        try:
            transport, proto = await create_connection(
                Recorder, HOST, port, server_hostname="localhost", config=client_config
            )
            transport.write(b"ping")
            await settle(lambda: bytes(proto.data) == b"ping")
            transport.abort()  # no close_notify
            assert await asyncio.wait_for(proto.lost, 10) is None
            (echo,) = EchoProtocol.instances
            await settle(lambda: echo.lost != "not yet")
            assert isinstance(echo.lost, RaggedEOFError)
            assert echo.eof is False
        finally:
            server.close()
            await server.wait_closed()

    run(main())


def test_close_waits_for_close_notify_at_most_the_shutdown_timeout(
    server_config: ServerConfig, client_config: ClientConfig
) -> None:
    """A peer that never answers our close_notify: close() gives up after ssl_shutdown_timeout
    (the socket is aborted) and wait_closed() reports the timeout."""

    async def ignore_close(
        conn: ServerConnection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.read()  # reads our close_notify (and EOF after the abort), answers nothing

    async def main() -> None:
        async with raw_tls_server(server_config, ignore_close) as port:
            _reader, writer = await connect(port, client_config, ssl_shutdown_timeout=0.5)
            loop = asyncio.get_running_loop()
            start = loop.time()
            writer.close()
            with pytest.raises(TimeoutError, match="close_notify"):
                await asyncio.wait_for(writer.wait_closed(), 10)
            assert 0.4 < loop.time() - start < 10

    run(main())


# -- many clients at once --------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["tls13", "tls12"])
def test_fifty_concurrent_clients(
    server_config: ServerConfig, client_config: ClientConfig, version: str
) -> None:
    scfg, ccfg = versioned(server_config, client_config, version)
    clients = 50
    served: list[tuple[int, bool | None]] = []

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        n = 0
        while data := await reader.read(65536):
            n += len(data)
            writer.write(data)
            await writer.drain()
        served.append((n, writer.get_extra_info("tls_clean_close")))
        await close(writer)

    async def client(port: int, i: int) -> bool:
        rng = random.Random(i)
        reader, writer = await connect(port, ccfg)
        payload = rng.randbytes(rng.randrange(1, 50_000))
        for start in range(0, len(payload), 7_000):
            writer.write(payload[start : start + 7_000])
            await writer.drain()
        echoed = await reader.readexactly(len(payload))
        await close(writer)
        return echoed == payload and writer.get_extra_info("tls_clean_close") is True

    async def main() -> None:
        async with serving(echo, scfg, backlog=clients) as (port, errors):
            results = await asyncio.gather(*(client(port, i) for i in range(clients)))
            assert results == [True] * clients
            await settle(lambda: len(served) == clients)
            assert all(clean is True for _, clean in served)
            assert errors == []

    run(main(), timeout=90)


# -- edge cases ----------------------------------------------------------------------------------


def test_close_notify_during_handshake_fails_at_once(client_config: ClientConfig) -> None:
    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)  # the ClientHello
        writer.write(b"\x15\x03\x03\x00\x02\x01\x00")  # a plaintext warning close_notify
        await reader.read()  # and keep the TCP connection open

    async def main() -> None:
        async with plain_server(refuse) as port:
            loop = asyncio.get_running_loop()
            start = loop.time()
            with pytest.raises(TLSError, match="close_notify during the TLS handshake"):
                await connect(port, client_config, ssl_handshake_timeout=20)
            assert loop.time() - start < 10  # not the handshake timeout

    run(main())


@pytest.mark.parametrize("version", ["tls13", "tls12"])
def test_peer_half_close_then_we_answer(
    server_config: ServerConfig, client_config: ClientConfig, version: str
) -> None:
    """The server sends close_notify first (write_eof) and reads on. In TLS 1.3 the client
    may still answer (RFC 8446 §6.1); TLS 1.2 answers close_notify at once (RFC 5246 §7.2.1),
    so the connection ends there and the late write is dropped."""
    scfg, ccfg = versioned(server_config, client_config, version)
    answers: list[tuple[bytes, bool | None]] = []

    async def ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"question")
        writer.write_eof()
        answers.append((await read_to_eof(reader), writer.get_extra_info("tls_clean_close")))
        await close(writer)

    async def main() -> None:
        async with serving(ask, scfg) as (port, errors):

            class KeepOpen(Recorder):
                def eof_received(self) -> bool:
                    super().eof_received()
                    self.transport.write(b"answer")  # after the peer's close_notify
                    return True  # half-closed: we close later

            transport, proto = await create_connection(
                KeepOpen, HOST, port, server_hostname="localhost", config=ccfg
            )
            await settle(lambda: "eof" in proto.calls)
            assert bytes(proto.data) == b"question"
            assert transport.get_extra_info("tls_clean_close") is True
            if version == "tls13":
                assert not proto.lost.done()  # still open for our answer
            transport.close()
            assert await asyncio.wait_for(proto.lost, 10) is None
            await settle(lambda: bool(answers))
            assert errors == []
        expected = b"answer" if version == "tls13" else b""
        assert answers == [(expected, True)]

    run(main())


def test_failing_application_callback_aborts_only_that_connection(
    server_config: ServerConfig, client_config: ClientConfig
) -> None:
    class Boom(asyncio.Protocol):
        def data_received(self, data: bytes) -> None:
            raise RuntimeError("application bug")

    async def main() -> None:
        reported: list[dict[str, Any]] = []
        asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: reported.append(ctx))
        server = await create_server(Boom, HOST, 0, config=server_config)
        port = server.sockets[0].getsockname()[1]
        try:
            reader, writer = await connect(port, client_config)
            writer.write(b"trigger")
            with pytest.raises(ConnectionResetError):  # aborted: no close_notify (or a reset)
                await asyncio.wait_for(reader.read(), 10)
            await settle(lambda: bool(reported))
            assert isinstance(reported[0]["exception"], RuntimeError)
            assert isinstance(reported[0]["transport"], TLSTransport)
            # the server is still serving
            transport, proto = await create_connection(
                Recorder, HOST, port, server_hostname="localhost", config=client_config
            )
            assert proto.calls == ["made"]
            transport.abort()
        finally:
            server.close()
            await server.wait_closed()

    run(main())


# -- what comes before an error, and the alert after it -------------------------------------------


@pytest.mark.parametrize("version", ["tls13", "tls12"])
def test_data_ahead_of_a_bad_record_in_one_read_is_delivered(
    server_config: ServerConfig, client_config: ClientConfig, version: str
) -> None:
    """Application data authenticated before a forged record, both in one TCP read: the reader
    gets the data, then the error (the core's take_events)."""
    server_cfg, client_cfg = versioned(server_config, client_config, version)
    received: list[bytes] = []
    reader_error: list[BaseException] = []

    async def read_forever(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                received.append(chunk)
        except BaseException as exc:
            reader_error.append(exc)
        writer.close()

    async def main() -> None:
        async with serving(read_forever, server_cfg) as (port, _):
            reader, writer = await asyncio.open_connection(HOST, port)
            conn = ClientConnection(client_cfg, server_name="localhost")
            await raw_handshake(conn, reader, writer)
            conn.send(b"last words")
            forged = b"\x17\x03\x03\x00\x20" + os.urandom(32)  # not sealed by our key
            writer.write(conn.data_to_send() + forged)  # one write, most likely one read
            await asyncio.wait_for(read_to_eof(reader), 10)
            writer.close()
            await writer.wait_closed()
            await settle(lambda: bool(reader_error))
            assert b"".join(received) == b"last words"
            assert isinstance(reader_error[0], BadRecordMac)

    run(main())


async def write_then_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    for _ in range(50):  # keeps writing while the alert arrives
        writer.write(b"x" * 65536)
        await writer.drain()
    await reader.read()


def test_an_alert_after_our_finished_is_not_lost_to_a_reset(certified: CertifiedKey) -> None:
    """TLS 1.3: the client is done with its handshake when it sends Finished, and may write at
    once; the server's certificate_required comes after. The server half-closes and reads on
    briefly after its alert (a lingering close), so no TCP reset destroys the alert before the
    client reads it: the client learns the reason, not "connection reset"."""
    strict = ServerConfig(
        certificates=(certified,), client_auth="required", client_cadata=certified.chain_pem()
    )
    config = ClientConfig(cadata=certified.chain_pem())  # no certificate to give

    async def never_called(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise AssertionError("the handshake cannot succeed")

    async def main() -> None:
        async with serving(never_called, strict) as (port, _):
            for _ in range(5):
                reader, writer = await connect(port, config)
                with pytest.raises(AlertReceived) as caught:
                    await write_then_read(reader, writer)
                assert caught.value.description == AlertDescription.CERTIFICATE_REQUIRED
                writer.close()

    run(main())
