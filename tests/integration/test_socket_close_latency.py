"""No TLSSocket operation may sit out the peer's delayed ACK (Nagle + delayed ACK: 40 ms).

TLS adds small writes the application never made (the handshake's last flight, close_notify).
With Nagle's algorithm on, the application's next small write, or our close_notify, waited for
the peer's delayed ACK of that write: a request sent right after connect() (TLS 1.3 without
tickets, TLS 1.2 resumption), close() and a half-close each took 40 ms more. TLSSocket now
sets TCP_NODELAY (:mod:`tlsmachine.tcp_nodelay`). The peer is a stdlib ``ssl`` server without
session tickets in TLS 1.3, so that nothing of its own carries the ACK early. Each timing is
the median of several connections, bounded at 30 ms: Nagle's stall is at least 40 ms every
time, the operations themselves take about a millisecond on loopback.
"""

from __future__ import annotations

import socket
import ssl
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tlsmachine import CertifiedKey, ClientConfig, ClientConnection, InMemoryClientSessionStore
from tlsmachine.enums import ProtocolVersion
from tlsmachine.sockets import TLSSocket, connect

pytestmark = pytest.mark.timeout(60)

TIMEOUT = 10.0
CONNECTIONS = 5
BOUND = 0.030  # seconds; see the module docstring


@pytest.fixture(scope="module")
def certified() -> CertifiedKey:
    return CertifiedKey.self_signed(("localhost",), "ecdsa-p256")


Server = Callable[[str, ssl.TLSVersion], int]


@pytest.fixture
def stdlib_server(certified: CertifiedKey, tmp_path: Path) -> Iterator[Server]:
    """Start a stdlib ``ssl`` server (no TLS 1.3 tickets) that, per connection, either echoes
    until our close_notify ("echo") or only reads it ("drain"), then closes its socket (no
    close_notify of its own, as ``SSLSocket.close()``). Returns the port."""
    chain, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    chain.write_bytes(certified.chain_pem())
    key.write_bytes(certified.private_key_pem())
    stop = threading.Event()
    started: list[tuple[socket.socket, threading.Thread]] = []

    def start(mode: str, version: ssl.TLSVersion) -> int:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ctx.maximum_version = version
        ctx.num_tickets = 0  # TLS 1.3 only; TLS 1.2 resumes by ticket or session ID
        ctx.load_cert_chain(chain, key)
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.1)  # how soon the thread sees ``stop``

        def serve() -> None:
            while not stop.is_set():
                try:
                    raw, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                raw.settimeout(TIMEOUT)
                try:
                    with ctx.wrap_socket(raw, server_side=True) as tls:
                        while data := tls.recv(1024):
                            if mode == "echo":
                                tls.sendall(data)
                except OSError:
                    pass

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        started.append((listener, thread))
        return int(listener.getsockname()[1])

    yield start
    stop.set()
    for listener, thread in started:
        thread.join(TIMEOUT)
        listener.close()


def open_client(port: int, config: ClientConfig) -> TLSSocket:
    tls = connect("127.0.0.1", port, server_hostname="localhost", config=config)
    tls.settimeout(TIMEOUT)
    return tls


def config_for(certified: CertifiedKey, version: ProtocolVersion, **kwargs: object) -> ClientConfig:
    return ClientConfig(
        cadata=certified.chain_pem(), min_version=version, max_version=version, **kwargs
    )


def timed(
    port: int,
    config: ClientConfig,
    step: Callable[[TLSSocket], object],
    prepare: Callable[[TLSSocket], object] = lambda tls: None,
) -> list[float]:
    """How long ``step(tls)`` takes on each of CONNECTIONS new connections, after
    ``prepare(tls)``; a test asserts the median is under BOUND."""
    durations = []
    for _ in range(CONNECTIONS):
        with open_client(port, config) as tls:
            prepare(tls)
            start = time.perf_counter()
            step(tls)
            durations.append(time.perf_counter() - start)
    return durations


def ping(tls: TLSSocket) -> None:
    tls.sendall(b"ping")
    assert tls.recv(1024) == b"ping"


def small_write(tls: TLSSocket) -> None:
    tls.sendall(b"x")


def half_close(tls: TLSSocket) -> None:
    tls.shutdown_write()
    assert tls.recv(1024) == b""  # the server read our close_notify and closed


def resumed(tls: TLSSocket) -> None:
    assert tls.handshake_info is not None and tls.handshake_info.resumed


def test_first_request_right_after_the_handshake(
    stdlib_server: Server, certified: CertifiedKey
) -> None:
    """TLS 1.3: our Finished is the last flight, and the server sends nothing back."""
    port = stdlib_server("echo", ssl.TLSVersion.TLSv1_3)
    durations = timed(port, config_for(certified, ProtocolVersion.TLS13), ping)
    assert statistics.median(durations) < BOUND, durations


def test_first_request_after_a_tls12_resumption(
    stdlib_server: Server, certified: CertifiedKey
) -> None:
    """TLS 1.2 abbreviated handshake: our ChangeCipherSpec and Finished are the last flight."""
    port = stdlib_server("echo", ssl.TLSVersion.TLSv1_2)
    config = config_for(
        certified, ProtocolVersion.TLS12, session_store=InMemoryClientSessionStore()
    )
    with open_client(port, config) as tls:  # the full handshake that brings the session
        ping(tls)
    durations = timed(port, config, ping, prepare=resumed)
    assert statistics.median(durations) < BOUND, durations


def test_close_after_a_small_write(stdlib_server: Server, certified: CertifiedKey) -> None:
    """close() sends close_notify and waits for the peer, which reads up to it, then closes."""
    port = stdlib_server("drain", ssl.TLSVersion.TLSv1_3)
    config = config_for(certified, ProtocolVersion.TLS13)
    durations = timed(port, config, TLSSocket.close, prepare=small_write)
    assert statistics.median(durations) < BOUND, durations


def test_half_close_after_a_small_write(stdlib_server: Server, certified: CertifiedKey) -> None:
    port = stdlib_server("drain", ssl.TLSVersion.TLSv1_3)
    config = config_for(certified, ProtocolVersion.TLS13)
    durations = timed(port, config, half_close, prepare=small_write)
    assert statistics.median(durations) < BOUND, durations


def test_nodelay_is_on_while_wrapped_and_unwrap_restores_it(
    stdlib_server: Server, certified: CertifiedKey
) -> None:
    port = stdlib_server("drain", ssl.TLSVersion.TLSv1_3)
    config = config_for(certified, ProtocolVersion.TLS13)
    tls = open_client(port, config)
    assert tls.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    plain = tls.unwrap()
    with plain:
        assert plain.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0


def test_a_socket_that_had_nodelay_keeps_it_after_unwrap(
    stdlib_server: Server, certified: CertifiedKey
) -> None:
    port = stdlib_server("drain", ssl.TLSVersion.TLSv1_3)
    config = config_for(certified, ProtocolVersion.TLS13)
    raw = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    tls = TLSSocket(raw, ClientConnection(config, server_name="localhost"))
    tls.do_handshake()
    with tls.unwrap() as plain:
        assert plain.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_non_tcp_sockets_are_left_alone(certified: CertifiedKey) -> None:
    a, b = socket.socketpair()
    with a, b:
        config = config_for(certified, ProtocolVersion.TLS13)
        TLSSocket(a, ClientConnection(config, server_name="localhost"))  # no error: not TCP
        a.sendall(b"still a plain socket")
        assert b.recv(64) == b"still a plain socket"
