"""tcp_nodelay: Nagle off on TCP sockets only, and the old setting given back."""

from __future__ import annotations

import socket

from tlsmachine.tcp_nodelay import restore_nagle, send_at_once


def nodelay(sock: socket.socket) -> int:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_tcp_socket_gets_nodelay_and_back() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # unconnected is fine
        assert nodelay(sock) == 0
        assert send_at_once(sock) == 0
        assert nodelay(sock) != 0
        restore_nagle(sock, None)  # nothing known: nothing done
        assert nodelay(sock) != 0
        restore_nagle(sock, 0)
        assert nodelay(sock) == 0


def test_a_socket_that_had_nodelay_is_reported_and_kept() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        previous = send_at_once(sock)
        assert previous
        restore_nagle(sock, previous)
        assert nodelay(sock) != 0


def test_other_sockets_and_socket_like_objects_are_left_alone() -> None:
    a, b = socket.socketpair()
    with a, b:
        assert send_at_once(a) is None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        assert send_at_once(udp) is None

    class SocketLike:
        def getsockopt(self, *args: object) -> int:
            raise AssertionError("not a TCP socket: never asked")

    assert send_at_once(SocketLike()) is None  # type: ignore[arg-type]


def test_a_closed_socket_is_not_an_error() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.close()
    assert send_at_once(sock) is None
    restore_nagle(sock, 0)  # suppressed OSError
