"""TLSSocket.close() and shutdown_write() must not sit out the peer's delayed ACK (40 ms).

close() sends close_notify and waits for the peer's (RFC 8446 §6.1). When our last act was a
small write that the peer has not acknowledged yet, Nagle's algorithm holds that write and our
close_notify until the peer's delayed ACK (at least 40 ms on Linux), and close() waited that
long for an answer to bytes still in our own send queue: one connection in 40 ms for a client
that sends a message and closes. The stdlib ``ssl`` server here reads the message, then closes
without close_notify; it sends no session tickets, so nothing of its own carries the ACK early.
"""

from __future__ import annotations

import socket
import ssl
import statistics
import threading
import time
from collections.abc import Iterator

import pytest

from tlsmachine import CertifiedKey, ClientConfig
from tlsmachine.sockets import connect
from tlsmachine.tls_socket_close import _nagle_off

pytestmark = pytest.mark.timeout(60)

TIMEOUT = 10.0
CONNECTIONS = 5


@pytest.fixture(scope="module")
def certified() -> CertifiedKey:
    return CertifiedKey.self_signed(("localhost",), "ecdsa-p256")


@pytest.fixture
def stdlib_server(certified: CertifiedKey, tmp_path) -> Iterator[int]:
    """A stdlib ``ssl`` TLS 1.3 server without tickets that reads each connection until our
    close_notify, then closes the socket (no close_notify of its own: ``SSLSocket.close()``)."""
    chain, key = tmp_path / "chain.pem", tmp_path / "key.pem"
    chain.write_bytes(certified.chain_pem())
    key.write_bytes(certified.private_key_pem())
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.num_tickets = 0
    ctx.load_cert_chain(chain, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)  # how soon the thread sees ``stop``
    stop = threading.Event()

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
                    while tls.recv(1024):  # until our close_notify (or EOF)
                        pass
            except OSError:
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(TIMEOUT)
        listener.close()


def test_close_after_a_small_write_does_not_wait_for_a_delayed_ack(
    stdlib_server: int, certified: CertifiedKey
) -> None:
    config = ClientConfig(cadata=certified.chain_pem())
    durations = []
    for _ in range(CONNECTIONS):
        tls = connect("127.0.0.1", stdlib_server, server_hostname="localhost", config=config)
        tls.settimeout(TIMEOUT)
        tls.sendall(b"x")
        start = time.perf_counter()
        tls.close()
        durations.append(time.perf_counter() - start)
    # Held by Nagle, each close() took the peer's delayed ACK: 40 ms or more, every time.
    # Pushed at once, it takes well under a millisecond on loopback.
    assert statistics.median(durations) < 0.020, durations


def test_half_close_after_a_small_write_reaches_the_peer_at_once(
    stdlib_server: int, certified: CertifiedKey
) -> None:
    config = ClientConfig(cadata=certified.chain_pem())
    durations = []
    for _ in range(CONNECTIONS):
        with connect("127.0.0.1", stdlib_server, server_hostname="localhost", config=config) as tls:
            tls.settimeout(TIMEOUT)
            tls.sendall(b"x")
            start = time.perf_counter()
            tls.shutdown_write()
            assert tls.recv(1024) == b""  # the server saw our close_notify and closed
            durations.append(time.perf_counter() - start)
    assert statistics.median(durations) < 0.020, durations


def test_nagle_off_pushes_then_restores_the_setting() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    with listener, socket.create_connection(listener.getsockname()) as sock:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        with _nagle_off(sock):
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        # a socket that already had TCP_NODELAY keeps it
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with _nagle_off(sock):
            pass
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_nagle_off_leaves_non_tcp_sockets_alone() -> None:
    a, b = socket.socketpair()
    with a, b, _nagle_off(a):
        a.sendall(b"still works")
        assert b.recv(16) == b"still works"
