"""Both ends of a ``tlsmachine.context`` connection in one test: contexts, a socket pair, and
a peer run in a thread, shared by the facade's integration tests."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

import pki
import tlsmachine.context as tssl
from tlsmachine.context import Context, create_default_context

TIMEOUT = 10.0


def server_context(test_pki: pki.TestPKI, leaf: str = "ecdsa-p256") -> Context:
    ctx = Context(tssl.PROTOCOL_TLS_SERVER)
    issued = test_pki.leaves[leaf]
    ctx.load_cert_chain(issued.chain_path, issued.key_path)
    return ctx


def client_context(test_pki: pki.TestPKI) -> Context:
    return create_default_context(cafile=test_pki.ca_path)


class Peer:
    """One end run in a thread: its return value or its exception."""

    def __init__(self, fn: Callable[[], object]) -> None:
        self.result: object = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], object]) -> None:
        try:
            self.result = fn()
        except BaseException as exc:
            self.error = exc

    def join(self) -> object:
        self._thread.join(TIMEOUT)
        assert not self._thread.is_alive(), "peer thread still running"
        if self.error is not None:
            raise self.error
        return self.result


@contextlib.contextmanager
def socket_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.settimeout(TIMEOUT)
    b.settimeout(TIMEOUT)
    with a, b:
        yield a, b
