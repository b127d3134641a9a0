"""Differential tests: the same client (or server) code run once with Python's ``ssl`` and once
with ``tlsmachine.context``, against the same kind of real peer over 127.0.0.1, must observe the
same thing: return values, data, exception classes (ours may be subclasses of ssl's, as
docs/ssl-compat.md promises for ``SSLWantReadError``, ``SSLEOFError`` ...).

The peer is a stdlib ``ssl`` server in a thread (a stdlib ``ssl`` client for the server-side
tests), so both runs face an identical counterpart. Each run gets a fresh server on a free port.

What docs/ssl-compat.md says differs on purpose is not asserted as parity: non-blocking
``TLSSocket`` (``setblocking(False)``), ``close()``/``shutdown()`` sending close_notify,
``send()`` consuming at most 64 KiB, ``wrap_socket()`` sharing instead of detaching the socket,
``tls-unique``, the exception classes of handshake failures other than certificate checks
(``TLSError`` subclasses, not ``OSError``), and the server's cipher suite preference. Where
tlsmachine differs from ssl without the docs saying so, the test still asserts ssl's behaviour
and is marked ``xfail(strict=True, raises=ParityMismatch)``: a baseline assertion about ssl
itself failing is a real failure, not an expected one.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import http.client
import http.server
import json
import select
import socket
import ssl
import struct
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TypeVar

import pytest
from cryptography.hazmat.primitives import serialization

import pki
import tlsmachine.context as tssl
from tlsmachine.enums import AlertDescription

pytestmark = pytest.mark.timeout(30)

TIMEOUT = 5.0
"""Bound of every blocking operation in the tests (nothing waits longer, pass or fail)."""

IMPLS: dict[str, ModuleType] = {"ssl": ssl, "tlsmachine": tssl}

T = TypeVar("T")
Handler = Callable[[socket.socket, ssl.SSLContext], object]
Scenario = Callable[[ModuleType, int], Any]


# -- comparing observations ----------------------------------------------------------------------


class ParityMismatch(AssertionError):
    """tlsmachine observed something other than ssl did (what the xfail tests expect)."""


def attempt(fn: Callable[[], T]) -> T | Exception:
    """The call's result, or the exception it raised (an observation like any other)."""
    try:
        return fn()
    except Exception as exc:
        return exc


def same(reference: object, ours: object) -> bool:
    """Does ``ours`` match ssl's ``reference``? Exceptions match by class (ours may be a
    subclass: ``RaggedEOFError`` is an ``ssl.SSLEOFError``); containers element-wise; anything
    else by type and ``==``."""
    if isinstance(reference, BaseException):
        return isinstance(ours, type(reference))
    if type(reference) is not type(ours):
        return False
    if isinstance(reference, list | tuple):
        assert isinstance(ours, list | tuple)
        return len(reference) == len(ours) and all(
            same(a, b) for a, b in zip(reference, ours, strict=True)
        )
    if isinstance(reference, dict):
        assert isinstance(ours, dict)
        return reference.keys() == ours.keys() and all(
            same(v, ours[k]) for k, v in reference.items()
        )
    return reference == ours


def assert_parity(reference: object, ours: object) -> None:
    """Raise :class:`ParityMismatch` naming what differs, if anything does."""
    if same(reference, ours):
        return
    if isinstance(reference, dict) and isinstance(ours, dict) and reference.keys() == ours.keys():
        lines = [
            f"  {key}: ssl={value!r} tlsmachine={ours[key]!r}"
            for key, value in reference.items()
            if not same(value, ours[key])
        ]
    else:
        lines = [f"  ssl={reference!r}", f"  tlsmachine={ours!r}"]
    raise ParityMismatch("tlsmachine differs from ssl:\n" + "\n".join(lines))


# -- the test PKI and contexts -------------------------------------------------------------------


@pytest.fixture(scope="module")
def parity_pki(tmp_path_factory: pytest.TempPathFactory) -> pki.TestPKI:
    return pki.make_pki(tmp_path_factory.mktemp("parity-pki"), key_types=("ecdsa-p256",))


def stdlib_server_context(test_pki: pki.TestPKI, leaf: pki.Issued | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    issued = leaf or test_pki.leaves["ecdsa-p256"]
    ctx.load_cert_chain(issued.chain_path, issued.key_path)
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    return ctx


def client_context(mod: ModuleType, test_pki: pki.TestPKI) -> Any:
    """``mod.create_default_context(cafile=...)``: the same line of ported code for both."""
    return mod.create_default_context(cafile=str(test_pki.ca_path))


def leaf_der(test_pki: pki.TestPKI) -> bytes:
    der: bytes = test_pki.leaves["ecdsa-p256"].cert.public_bytes(serialization.Encoding.DER)
    return der


# -- the peer: a stdlib ssl server in a thread ---------------------------------------------------


class StdlibServer:
    """Python's ssl serving ``connections`` connections on 127.0.0.1, one after the other:
    ``handler(raw socket, server SSLContext)`` runs for each; its results and errors are kept."""

    def __init__(self, ctx: ssl.SSLContext, handler: Handler, connections: int = 1) -> None:
        self.ctx = ctx
        self.handler = handler
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT)
        self.port = int(self.listener.getsockname()[1])
        self.results: list[object] = []
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._serve, args=(connections,), daemon=True)
        self.thread.start()

    def _serve(self, connections: int) -> None:
        for _ in range(connections):
            try:
                raw, _ = self.listener.accept()
            except OSError as exc:
                self.errors.append(exc)
                return
            with raw:
                raw.settimeout(TIMEOUT)
                try:
                    self.results.append(self.handler(raw, self.ctx))
                except Exception as exc:
                    self.errors.append(exc)

    def close(self) -> None:
        self.thread.join(TIMEOUT)
        self.listener.close()


def over_tls(body: Callable[[ssl.SSLSocket], object]) -> Handler:
    """A handler that runs ``body`` on the server-side ssl socket."""

    def handler(raw: socket.socket, ctx: ssl.SSLContext) -> object:
        with ctx.wrap_socket(raw, server_side=True) as tls:
            return body(tls)

    return handler


def echo(tls: ssl.SSLSocket) -> None:
    while data := tls.recv(65536):
        tls.sendall(data)


@dataclass
class Run:
    """One implementation's run: what the client code returned, what the server saw."""

    result: Any
    server_results: list[object] = field(default_factory=list)
    server_errors: list[BaseException] = field(default_factory=list)


def run_both(
    test_pki: pki.TestPKI,
    handler: Handler,
    scenario: Scenario,
    *,
    connections: int = 1,
    server_ctx: Callable[[], ssl.SSLContext] | None = None,
) -> dict[str, Run]:
    """``scenario(mod, port)`` with ``mod`` = ssl, then tlsmachine.context, each against a
    fresh stdlib server running ``handler``."""
    runs: dict[str, Run] = {}
    for name, mod in IMPLS.items():
        ctx = server_ctx() if server_ctx else stdlib_server_context(test_pki)
        server = StdlibServer(ctx, handler, connections)
        try:
            result = scenario(mod, server.port)
        finally:
            server.close()
        assert not server.thread.is_alive(), f"{name}: the server thread is still running"
        runs[name] = Run(result, server.results, server.errors)
    return runs


@contextlib.contextmanager
def connected(port: int, timeout: float = TIMEOUT) -> Iterator[socket.socket]:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        yield raw


def drain_then_close(raw: socket.socket) -> None:
    """Half-close and read until the peer closes: our FIN, never a reset."""
    with contextlib.suppress(OSError):
        raw.shutdown(socket.SHUT_WR)
        while raw.recv(65536):
            pass


# -- connection facts ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_connection_facts_before_and_after_a_deferred_handshake(
    parity_pki: pki.TestPKI, version: str
) -> None:
    """do_handshake_on_connect=False, then do_handshake(): what the socket tells before and
    after (version, cipher tuple, ALPN, getpeercert dict and DER, names, session_reused)."""

    def scenario(mod: ModuleType, port: int) -> dict[str, object]:
        ctx = client_context(mod, parity_pki)
        ctx.set_alpn_protocols(["http/1.1"])
        if version == "TLSv1.2":
            ctx.maximum_version = mod.TLSVersion.TLSv1_2
        with connected(port) as raw:
            tls = ctx.wrap_socket(raw, server_hostname="localhost", do_handshake_on_connect=False)
            with tls:
                seen: dict[str, object] = {
                    "version before": tls.version(),
                    "cipher before": tls.cipher(),
                    "alpn before": tls.selected_alpn_protocol(),
                    "getpeercert before": attempt(tls.getpeercert),
                    "getpeercert(True) before": attempt(lambda: tls.getpeercert(True)),
                    "session_reused before": tls.session_reused,
                    "pending before": tls.pending(),
                    "gettimeout": tls.gettimeout(),
                }
                tls.do_handshake()
                tls.do_handshake()  # a second call is a no-op
                seen |= {
                    "version": tls.version(),
                    "cipher": tls.cipher(),
                    "alpn": tls.selected_alpn_protocol(),
                    "getpeercert": tls.getpeercert(),
                    "getpeercert(True)": tls.getpeercert(binary_form=True),
                    "server_hostname": tls.server_hostname,
                    "server_side": tls.server_side,
                    "context": tls.context is ctx,
                    "compression": tls.compression(),
                    "session_reused": tls.session_reused,
                    "getpeername": tls.getpeername() == ("127.0.0.1", port),
                    "getsockname host": tls.getsockname()[0],
                }
                tls.sendall(b"ping")
                seen["echo"] = tls.recv(100)
        return seen

    runs = run_both(parity_pki, over_tls(echo), scenario)
    reference = runs["ssl"].result
    assert reference["version"] == version and reference["echo"] == b"ping"
    assert reference["getpeercert(True)"] == leaf_der(parity_pki)
    assert isinstance(reference["getpeercert before"], ValueError)
    assert_parity(reference, runs["tlsmachine"].result)


def test_chain_verified_without_server_hostname_when_check_hostname_is_off(
    parity_pki: pki.TestPKI,
) -> None:
    """CERT_REQUIRED with check_hostname off needs no server_hostname: the chain is verified
    (an untrusted one still fails) and no name is checked."""

    def scenario(mod: ModuleType, port: int) -> dict[str, object]:
        ctx = client_context(mod, parity_pki)
        ctx.check_hostname = False
        with connected(port) as raw, ctx.wrap_socket(raw) as tls:
            tls.sendall(b"ping")
            seen: dict[str, object] = {
                "echo": tls.recv(100),
                "server_hostname": tls.server_hostname,
                "subject": tls.getpeercert()["subject"],
            }
        untrusted = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
        untrusted.check_hostname = False
        with connected(port) as raw:
            seen["untrusted"] = attempt(lambda: untrusted.wrap_socket(raw))
        return seen

    runs = run_both(parity_pki, over_tls(echo), scenario, connections=2)
    reference = runs["ssl"].result
    assert reference["echo"] == b"ping" and reference["server_hostname"] is None
    assert isinstance(reference["untrusted"], ssl.SSLCertVerificationError)
    assert_parity(reference, runs["tlsmachine"].result)


def test_cert_none_reports_an_empty_getpeercert_dict(parity_pki: pki.TestPKI) -> None:
    def scenario(mod: ModuleType, port: int) -> dict[str, object]:
        ctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = mod.CERT_NONE
        with connected(port) as raw, ctx.wrap_socket(raw) as tls:
            return {
                "getpeercert": tls.getpeercert(),
                "getpeercert(True)": tls.getpeercert(True),
                "server_hostname": tls.server_hostname,
                "version": tls.version(),
            }

    runs = run_both(parity_pki, over_tls(echo), scenario)
    reference = runs["ssl"].result
    assert reference["getpeercert"] == {} and reference["getpeercert(True)"] == leaf_der(parity_pki)
    assert_parity(reference, runs["tlsmachine"].result)


# -- recv, recv_into, read, pending --------------------------------------------------------------

PAYLOAD = bytes(range(100))


def test_read_sizes_pending_and_select(parity_pki: pki.TestPKI) -> None:
    """Partial reads of one 100-byte record in every shape ssl offers; pending() counts what
    is decrypted but unread (invisible to select()); bigger requests return what is there."""

    def body(tls: ssl.SSLSocket) -> bytes:
        tls.sendall(PAYLOAD)  # one record
        request = tls.recv(100)
        tls.sendall(b"second")
        tls.recv(100)  # until the client closes
        return request

    def scenario(mod: ModuleType, port: int) -> dict[str, object]:
        with (
            connected(port) as raw,
            client_context(mod, parity_pki).wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            seen: dict[str, object] = {"recv(10)": tls.recv(10), "pending": tls.pending()}
            seen["select while pending"] = select.select([tls], [], [], 0)[0]
            seen["recv(0) with data pending"] = tls.recv(0)
            seen["read(0) with data pending"] = tls.read(0)
            seen["pending after zero reads"] = tls.pending()
            buffer = bytearray(8)
            seen["recv_into(buffer, 0)"] = tls.recv_into(buffer, 0)  # 0: the whole buffer
            seen["buffer"] = bytes(buffer)
            view = memoryview(bytearray(10))
            seen["recv_into(view slice)"] = tls.recv_into(view[2:6])
            seen["view"] = bytes(view)
            into = bytearray(6)
            seen["read(6, buffer)"] = tls.read(6, into)
            seen["read buffer"] = bytes(into)
            seen["read(3)"] = tls.read(3)
            seen["recv(-1)"] = attempt(lambda: tls.recv(-1))
            seen["recv(1, MSG_PEEK)"] = attempt(lambda: tls.recv(1, socket.MSG_PEEK))
            seen["recv(1000): the rest"] = tls.recv(1000)
            seen["pending at the end"] = tls.pending()
            tls.sendall(b"more")
            seen["select when a record comes"] = select.select([tls], [], [], TIMEOUT)[0] == [tls]
            seen["next record"] = tls.recv(1000)
        return seen

    runs = run_both(parity_pki, over_tls(body), scenario)
    reference = runs["ssl"].result
    assert reference["recv(10)"] == PAYLOAD[:10] and reference["pending"] == 90
    assert reference["recv(1000): the rest"] == PAYLOAD[31:]
    assert_parity(reference, runs["tlsmachine"].result)
    assert runs["tlsmachine"].server_results == [b"more"]


def test_zero_size_reads_without_pending_data_return_at_once(parity_pki: pki.TestPKI) -> None:
    def scenario(mod: ModuleType, port: int) -> dict[str, object]:
        with (
            connected(port) as raw,
            client_context(mod, parity_pki).wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            tls.settimeout(0.3)  # bounds tlsmachine's wait
            return {
                "recv(0)": attempt(lambda: tls.recv(0)),
                "read(0)": attempt(lambda: tls.read(0)),
                "recv_into(bytearray())": attempt(lambda: tls.recv_into(bytearray())),
            }

    runs = run_both(parity_pki, over_tls(lambda tls: tls.recv(100)), scenario)
    reference = runs["ssl"].result
    assert reference == {"recv(0)": b"", "read(0)": b"", "recv_into(bytearray())": 0}
    assert_parity(reference, runs["tlsmachine"].result)


def test_recv_into_with_nbytes_beyond_the_buffer(parity_pki: pki.TestPKI) -> None:
    def body(tls: ssl.SSLSocket) -> None:
        tls.sendall(b"0123456789")
        tls.recv(100)

    def scenario(mod: ModuleType, port: int) -> list[object]:
        with (
            connected(port) as raw,
            client_context(mod, parity_pki).wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            buffer = bytearray(4)
            return [attempt(lambda: tls.recv_into(buffer, 100)), bytes(buffer)]

    runs = run_both(parity_pki, over_tls(body), scenario)
    assert runs["ssl"].result == [4, b"0123"]
    assert_parity(runs["ssl"].result, runs["tlsmachine"].result)


# -- sending -------------------------------------------------------------------------------------


def test_sendall_write_and_send_of_large_and_odd_buffers(parity_pki: pki.TestPKI) -> None:
    """Several MiB through sendall() as bytearray, memoryview slice and array('I') (counted in
    bytes), write() returning the byte count, send() returning how much it took."""
    pattern = bytes(range(256)) * 4096  # 1 MiB
    pieces: list[bytes | bytearray | memoryview | array.array[int]] = [
        bytearray(pattern * 3),
        memoryview(pattern * 2)[1:],
        array.array("I", range(50_000)),
    ]
    written = array.array("H", range(30_000))
    sent = b"s" * 300_000
    stream = b"".join(bytes(p) for p in pieces) + bytes(written) + sent
    expected = f"{len(stream)} {hashlib.sha256(stream).hexdigest()}".encode()

    def body(tls: ssl.SSLSocket) -> None:
        digest, count = hashlib.sha256(), 0
        while count < len(stream) and (data := tls.recv(65536)):
            digest.update(data)
            count += len(data)
        tls.sendall(f"{count} {digest.hexdigest()}".encode())
        tls.recv(1)

    def scenario(mod: ModuleType, port: int) -> dict[str, object]:
        with (
            connected(port) as raw,
            client_context(mod, parity_pki).wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            seen: dict[str, object] = {
                "sendall": [tls.sendall(piece) for piece in pieces],
                "write": tls.write(written),
            }
            taken = tls.send(sent)
            seen["send took some"] = 0 < taken <= len(sent)  # ours: at most 64 KiB (documented)
            tls.sendall(sent[taken:])
            seen["server digest"] = tls.recv(200)
        return seen

    runs = run_both(parity_pki, over_tls(body), scenario)
    reference = runs["ssl"].result
    assert reference["server digest"] == expected and reference["write"] == 60_000
    assert_parity(reference, runs["tlsmachine"].result)


# -- makefile ------------------------------------------------------------------------------------


def test_makefile_readline_buffered_reads_and_deferred_close(parity_pki: pki.TestPKI) -> None:
    def body(tls: ssl.SSLSocket) -> bytes:
        with tls.makefile("rb") as reader:
            request = reader.readline()
        tls.sendall(b"line one\n" + request.upper())
        tls.sendall(b"partial")
        tls.sendall(b" tail\n" + b"z" * 5000 + b"\nend")
        with contextlib.suppress(OSError):  # close_notify; the ssl client never answers it
            tls.unwrap()
        return request

    def scenario(mod: ModuleType, port: int) -> dict[str, object]:
        with connected(port) as raw:
            tls = client_context(mod, parity_pki).wrap_socket(raw, server_hostname="localhost")
            writer = tls.makefile("wb")
            reader = tls.makefile("rb")
            seen: dict[str, object] = {"write": writer.write(b"hello\n")}
            writer.flush()
            seen |= {
                "readline": reader.readline(),
                "readline(4)": reader.readline(4),
                "readline rest": reader.readline(),
                "readline across records": reader.readline(),
                "read(10)": reader.read(10),
                "long line": len(reader.readline()),
                "read() to EOF": reader.read(),
                "read() at EOF": reader.read(),
                "readline at EOF": reader.readline(),
            }
            tls.close()  # deferred while the files are open
            seen["open after close()"] = tls.fileno() >= 0
            writer.close()
            reader.close()
            seen["closed with the last file"] = tls.fileno()
        return seen

    runs = run_both(parity_pki, over_tls(body), scenario)
    reference = runs["ssl"].result
    assert reference["readline(4)"] == b"HELL" and reference["read() to EOF"] == b"end"
    assert reference["closed with the last file"] == -1
    assert_parity(reference, runs["tlsmachine"].result)
    assert runs["tlsmachine"].server_results == [b"hello\n"]


# -- timeouts ------------------------------------------------------------------------------------


def test_recv_timeout_leaves_the_connection_usable(parity_pki: pki.TestPKI) -> None:
    """A recv() that times out raises TimeoutError (socket.timeout) after about the timeout;
    the connection works afterwards. A file from makefile() that timed out refuses to read on
    (socket.SocketIO's rule), the socket itself does not."""

    def body(tls: ssl.SSLSocket) -> None:
        tls.sendall(b"late:" + tls.recv(100))
        tls.recv(100)
        tls.sendall(b"after the file's timeout")
        tls.recv(100)

    def scenario(mod: ModuleType, port: int) -> dict[str, object]:
        with (
            connected(port) as raw,
            client_context(mod, parity_pki).wrap_socket(raw, server_hostname="localhost") as tls,
        ):
            tls.settimeout(0.2)
            started = time.monotonic()
            seen: dict[str, object] = {"recv": attempt(lambda: tls.recv(10))}
            seen["waited about the timeout"] = 0.15 <= time.monotonic() - started < 3.0
            seen["gettimeout"] = tls.gettimeout()
            tls.settimeout(TIMEOUT)
            tls.sendall(b"go")
            seen["recv after the timeout"] = tls.recv(100)
            tls.settimeout(0.2)
            reader = tls.makefile("rb")
            seen["file read"] = attempt(lambda: reader.read(1))
            second = attempt(lambda: reader.read(1))
            seen["file read again"] = second
            seen["file read again says"] = str(second)
            reader.close()
            tls.settimeout(TIMEOUT)
            tls.sendall(b"again")
            seen["socket still usable"] = tls.recv(100)
        return seen

    runs = run_both(parity_pki, over_tls(body), scenario)
    reference = runs["ssl"].result
    assert isinstance(reference["recv"], TimeoutError) and socket.timeout is TimeoutError
    assert reference["recv after the timeout"] == b"late:go"
    assert reference["file read again says"] == "cannot read from timed out object"
    assert_parity(reference, runs["tlsmachine"].result)


def test_handshake_timeout_against_a_silent_server(parity_pki: pki.TestPKI) -> None:
    seen: dict[str, dict[str, object]] = {}
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts in the kernel, never speaks
        for name, mod in IMPLS.items():
            with connected(silent.getsockname()[1], timeout=0.3) as raw:
                wrap = client_context(mod, parity_pki).wrap_socket
                started = time.monotonic()
                error = attempt(lambda: wrap(raw, server_hostname="localhost"))  # noqa: B023
                seen[name] = {
                    "error": error,
                    "within the timeout": 0.25 <= time.monotonic() - started < 3.0,
                    "socket closed": raw.fileno() == -1,
                }
    assert isinstance(seen["ssl"]["error"], TimeoutError)
    assert_parity(seen["ssl"], seen["tlsmachine"])


# -- how the peer ends the connection ------------------------------------------------------------


@pytest.mark.parametrize("suppress_ragged_eofs", [True, False], ids=["suppress", "raise"])
@pytest.mark.parametrize("ending", ["close_notify", "tcp-close"])
def test_peer_closing_with_and_without_close_notify(
    parity_pki: pki.TestPKI, ending: str, suppress_ragged_eofs: bool
) -> None:
    """After the data: close_notify reads as b"" (always); a bare TCP close reads as b""
    with suppress_ragged_eofs, else raises ssl.SSLEOFError (ours: RaggedEOFError, a
    subclass), on every later recv too."""

    def body(tls: ssl.SSLSocket) -> None:
        tls.sendall(b"bye")
        if ending == "close_notify":
            with contextlib.suppress(OSError):
                tls.unwrap()
        # else: leaving the with block closes without close_notify (ssl's close())

    def scenario(mod: ModuleType, port: int) -> list[object]:
        with connected(port) as raw:
            tls = client_context(mod, parity_pki).wrap_socket(
                raw, server_hostname="localhost", suppress_ragged_eofs=suppress_ragged_eofs
            )
            try:
                return [attempt(lambda: tls.recv(100)) for _ in range(3)]
            finally:
                tls.close()

    runs = run_both(parity_pki, over_tls(body), scenario)
    reference = runs["ssl"].result
    if ending == "close_notify" or suppress_ragged_eofs:
        assert reference == [b"bye", b"", b""]
    else:
        assert reference[0] == b"bye" and isinstance(reference[1], ssl.SSLEOFError)
    assert_parity(reference, runs["tlsmachine"].result)


def test_peer_resetting_the_connection_is_an_eof_or_an_os_error(parity_pki: pki.TestPKI) -> None:
    """A TCP reset after the handshake. ssl (CPython 3.11, OpenSSL 3) reports it like a bare
    EOF (b"" when suppressed); tlsmachine raises ConnectionResetError once, then b"". Not
    asserted equal (ssl's mapping depends on the OpenSSL version); what both must do: no
    data, and nothing but b"" or an OSError (what `except OSError` code expects)."""

    def body(tls: ssl.SSLSocket) -> None:
        tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def scenario(mod: ModuleType, port: int) -> list[object]:
        with connected(port) as raw:
            tls = client_context(mod, parity_pki).wrap_socket(raw, server_hostname="localhost")
            try:
                return [attempt(lambda: tls.recv(100)) for _ in range(2)]
            finally:
                with contextlib.suppress(OSError):
                    tls.close()

    runs = run_both(parity_pki, over_tls(body), scenario)
    for name, run in runs.items():
        for observed in run.result:
            assert observed == b"" or isinstance(observed, OSError), (name, observed)


def test_peer_closing_during_the_handshake(parity_pki: pki.TestPKI) -> None:
    def handler(raw: socket.socket, ctx: ssl.SSLContext) -> None:
        raw.recv(65536)  # (part of) the ClientHello, then a clean FIN
        drain_then_close(raw)

    def scenario(mod: ModuleType, port: int) -> dict[str, object]:
        with connected(port) as raw:
            ctx = client_context(mod, parity_pki)
            error = attempt(lambda: ctx.wrap_socket(raw, server_hostname="localhost"))
            return {"error": error, "socket closed": raw.fileno() == -1}

    runs = run_both(parity_pki, handler, scenario)
    assert isinstance(runs["ssl"].result["error"], ssl.SSLEOFError)
    assert_parity(runs["ssl"].result, runs["tlsmachine"].result)


# -- unwrap --------------------------------------------------------------------------------------


def test_unwrap_then_plaintext_both_ways(parity_pki: pki.TestPKI) -> None:
    """TLS off, the TCP connection goes on (STARTTLS in reverse): unwrap() returns a plain
    socket on which both sides talk in clear."""

    def body(tls: ssl.SSLSocket) -> bytes:
        tls.recv(100)
        tls.sendall(b"ok, TLS off")
        plain = tls.unwrap()  # close_notify, then the client's
        request = plain.recv(100)
        plain.sendall(b"plain from the server")
        plain.recv(100)  # until the client closes
        return request

    def scenario(mod: ModuleType, port: int) -> dict[str, object]:
        with connected(port) as raw:
            tls = client_context(mod, parity_pki).wrap_socket(raw, server_hostname="localhost")
            tls.sendall(b"STOP TLS")
            seen: dict[str, object] = {"answer": tls.recv(100)}
            plain = tls.unwrap()
            seen["a socket"] = isinstance(plain, socket.socket)
            plain.sendall(b"plain from the client")
            seen["plaintext"] = plain.recv(100)
            plain.close()
        return seen

    runs = run_both(parity_pki, over_tls(body), scenario)
    reference = runs["ssl"].result
    assert reference == {
        "answer": b"ok, TLS off",
        "a socket": True,
        "plaintext": b"plain from the server",
    }
    assert_parity(reference, runs["tlsmachine"].result)
    assert runs["tlsmachine"].server_results == [b"plain from the client"]


def test_unwrap_keeps_plaintext_right_behind_close_notify(parity_pki: pki.TestPKI) -> None:
    def handler(raw: socket.socket, ctx: ssl.SSLContext) -> bytes:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = ctx.wrap_bio(incoming, outgoing, server_side=True)
        pump(obj.do_handshake, raw, incoming, outgoing)
        assert pump(lambda: obj.read(100), raw, incoming, outgoing) == b""  # close_notify
        obj.unwrap()
        raw.sendall(outgoing.read() + b"plain\n")  # our close_notify and clear text at once
        return raw.recv(100)

    def scenario(mod: ModuleType, port: int) -> dict[str, object]:
        with connected(port, timeout=1.0) as raw:
            tls = client_context(mod, parity_pki).wrap_socket(raw, server_hostname="localhost")
            plain = attempt(tls.unwrap)
            if isinstance(plain, Exception):
                return {"unwrap": plain}
            received = attempt(lambda: plain.recv(100))
            plain.sendall(b"thanks\n")
            return {"unwrap": True, "plaintext": received}

    runs = run_both(parity_pki, handler, scenario)
    assert runs["ssl"].result == {"unwrap": True, "plaintext": b"plain\n"}
    assert runs["ssl"].server_results == [b"thanks\n"]
    assert_parity(runs["ssl"].result, runs["tlsmachine"].result)


def test_bio_unwrap_leaves_what_follows_close_notify_in_the_incoming_bio(
    parity_pki: pki.TestPKI,
) -> None:
    """SSLObject.unwrap() in memory, against a stdlib server SSLObject: the server's
    close_notify and cleartext behind it arrive in one write to the client's incoming BIO;
    unwrap() consumes the record and leaves the cleartext there."""

    def scenario(mod: ModuleType) -> dict[str, object]:
        server_ctx = stdlib_server_context(parity_pki)
        c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
        client = client_context(mod, parity_pki).wrap_bio(c_in, c_out, server_hostname="localhost")
        server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
        for _ in range(10):
            for end in (client, server):
                with contextlib.suppress(ssl.SSLWantReadError):
                    end.do_handshake()
            s_in.write(c_out.read())
            c_in.write(s_out.read())
        with contextlib.suppress(ssl.SSLWantReadError):
            client.unwrap()  # our close_notify
        s_in.write(c_out.read())
        with contextlib.suppress(ssl.SSLZeroReturnError):
            server.read(10)
        server.unwrap()
        c_in.write(s_out.read() + b"plain\n")
        return {"unwrap": attempt(client.unwrap), "left in the BIO": c_in.read()}

    reference = scenario(ssl)
    assert reference == {"unwrap": None, "left in the BIO": b"plain\n"}
    assert_parity(reference, scenario(tssl))


# -- after close, context manager ----------------------------------------------------------------


@pytest.mark.parametrize("operation", ["recv", "sendall"])
def test_io_after_close_raises_os_error(parity_pki: pki.TestPKI, operation: str) -> None:
    def scenario(mod: ModuleType, port: int) -> dict[str, object]:
        with connected(port) as raw:
            tls = client_context(mod, parity_pki).wrap_socket(raw, server_hostname="localhost")
            tls.sendall(b"x")
            tls.recv(10)
            tls.close()
            if operation == "recv":
                return {"recv": attempt(lambda: tls.recv(10))}
            return {"sendall": attempt(lambda: tls.sendall(b"more"))}

    runs = run_both(parity_pki, over_tls(echo), scenario)
    assert isinstance(runs["ssl"].result[operation], OSError)
    assert_parity(runs["ssl"].result, runs["tlsmachine"].result)


def test_context_manager_returns_the_socket_and_closes_it(parity_pki: pki.TestPKI) -> None:
    def scenario(mod: ModuleType, port: int) -> dict[str, object]:
        with connected(port) as raw:
            wrapped = client_context(mod, parity_pki).wrap_socket(raw, server_hostname="localhost")
            seen: dict[str, object] = {}
            with contextlib.suppress(KeyError), wrapped as tls:
                seen["is the socket"] = tls is wrapped
                tls.sendall(b"inside")
                seen["echo"] = tls.recv(100)
                raise KeyError("leaving by an exception")
            seen["closed"] = wrapped.fileno()
        return seen

    runs = run_both(parity_pki, over_tls(echo), scenario)
    assert runs["ssl"].result == {"is the socket": True, "echo": b"inside", "closed": -1}
    assert_parity(runs["ssl"].result, runs["tlsmachine"].result)


# -- sessions ------------------------------------------------------------------------------------


def session_server(tls: ssl.SSLSocket) -> bool | None:
    echo(tls)
    return tls.session_reused


def first_session(ctx: Any, port: int) -> Any:
    """Connect once; the session (ticket) the server sent, after some data."""
    with connected(port) as raw, ctx.wrap_socket(raw, server_hostname="localhost") as tls:
        tls.sendall(b"first")
        tls.recv(100)  # the tickets came before the echo
        return tls.session


def test_resumption_with_session_argument(parity_pki: pki.TestPKI) -> None:
    def scenario(mod: ModuleType, port: int) -> dict[str, object]:
        ctx = client_context(mod, parity_pki)
        session = first_session(ctx, port)
        with (
            connected(port) as raw,
            ctx.wrap_socket(raw, server_hostname="localhost", session=session) as tls,
        ):
            tls.sendall(b"second")
            return {"echo": tls.recv(100), "session_reused": tls.session_reused}

    runs = run_both(parity_pki, over_tls(session_server), scenario, connections=2)
    assert runs["ssl"].result == {"echo": b"second", "session_reused": True}
    assert_parity(runs["ssl"].result, runs["tlsmachine"].result)
    assert runs["ssl"].server_results == runs["tlsmachine"].server_results == [False, True]


def test_resumption_by_assigning_the_session_attribute(parity_pki: pki.TestPKI) -> None:
    def scenario(mod: ModuleType, port: int) -> dict[str, object]:
        ctx = client_context(mod, parity_pki)
        session = first_session(ctx, port)
        with connected(port) as raw:
            tls = ctx.wrap_socket(raw, server_hostname="localhost", do_handshake_on_connect=False)
            with tls:
                tls.session = session
                tls.do_handshake()
                tls.sendall(b"second")
                return {
                    "echo": tls.recv(100),
                    "session_reused": tls.session_reused,
                    "assigned after the handshake": attempt(
                        lambda: setattr(tls, "session", session)
                    ),
                }

    runs = run_both(parity_pki, over_tls(session_server), scenario, connections=2)
    reference = runs["ssl"].result
    assert reference["session_reused"] is True
    assert isinstance(reference["assigned after the handshake"], ValueError)
    assert_parity(reference, runs["tlsmachine"].result)


# -- server side: wrap a listening socket, accept() ----------------------------------------------


@pytest.mark.parametrize("deferred", [False, True], ids=["handshake-in-accept", "deferred"])
def test_server_side_accept(parity_pki: pki.TestPKI, deferred: bool) -> None:
    """Server code written for ssl, run with either module, against a stdlib ssl client."""
    leaf = parity_pki.leaves["ecdsa-p256"]

    def server_code(mod: ModuleType) -> dict[str, object]:
        ctx = mod.SSLContext(mod.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(leaf.chain_path, leaf.key_path)
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        client_saw: dict[str, object] = {}
        with socket.create_server(("127.0.0.1", 0)) as listener:
            listener.settimeout(TIMEOUT)
            port = listener.getsockname()[1]

            def client() -> None:
                cctx = ssl.create_default_context(cafile=str(parity_pki.ca_path))
                cctx.set_alpn_protocols(["http/1.1"])
                with (
                    connected(port) as raw,
                    cctx.wrap_socket(raw, server_hostname="localhost") as tls,
                ):
                    client_saw["sockname"] = tls.getsockname()
                    client_saw["cipher"] = tls.cipher()
                    tls.sendall(b"hello server")
                    client_saw["echo"] = tls.recv(100)

            thread = threading.Thread(target=client, daemon=True)
            thread.start()
            wrapped = ctx.wrap_socket(
                listener, server_side=True, do_handshake_on_connect=not deferred
            )
            try:
                accepted = wrapped.accept()
                conn, address = accepted
                with conn:
                    seen: dict[str, object] = {
                        "accept returns a pair": type(accepted) is tuple and len(accepted) == 2,
                        "version at accept": conn.version(),
                        "gettimeout at accept": conn.gettimeout(),
                    }
                    conn.settimeout(TIMEOUT)
                    conn.do_handshake()
                    data = conn.recv(100)
                    conn.sendall(data[::-1])
                    seen |= {
                        "data": data,
                        "server_side": conn.server_side,
                        "server_hostname": conn.server_hostname,
                        "version": conn.version(),
                        "alpn": conn.selected_alpn_protocol(),
                        "getpeercert": conn.getpeercert(),
                        "getpeercert(True)": conn.getpeercert(True),
                        "recv after the client left": conn.recv(100),
                    }
                    thread.join(TIMEOUT)
                    seen["address is the client's"] = address == client_saw["sockname"]
                    seen["cipher as the client sees it"] = conn.cipher() == client_saw["cipher"]
                    seen["client echo"] = client_saw["echo"]
            finally:
                wrapped.close()
        assert not thread.is_alive()
        return seen

    reference, ours = server_code(ssl), server_code(tssl)
    assert reference["version at accept"] == (None if deferred else "TLSv1.3")
    assert reference["client echo"] == b"revres olleh"
    assert reference["recv after the client left"] == b""
    assert_parity(reference, ours)


# -- verification failures -----------------------------------------------------------------------


@pytest.mark.parametrize("case", ["wrong-host", "untrusted", "expired"])
def test_verification_failures_close_the_socket_and_send_the_same_alert(
    parity_pki: pki.TestPKI, case: str
) -> None:
    """The exception classes differ on purpose (docs: TLSError subclasses carrying their
    alert, not ssl.SSLCertVerificationError); what the peer sees must not: the same alert from
    ssl and from us, and the client socket closed after the failure."""
    leaf = {"wrong-host": None, "untrusted": parity_pki.untrusted, "expired": parity_pki.expired}
    host = "other.example" if case == "wrong-host" else "localhost"
    alert = {
        "wrong-host": AlertDescription.BAD_CERTIFICATE,
        "untrusted": AlertDescription.UNKNOWN_CA,
        "expired": AlertDescription.CERTIFICATE_EXPIRED,
    }[case]

    def scenario(mod: ModuleType, port: int) -> Exception | None:
        with connected(port) as raw:
            ctx = client_context(mod, parity_pki)
            error = attempt(lambda: ctx.wrap_socket(raw, server_hostname=host))
            assert raw.fileno() == -1, f"{mod.__name__}: socket left open after the failure"
            return error if isinstance(error, Exception) else None

    runs = run_both(
        parity_pki,
        over_tls(lambda tls: tls.recv(10)),
        scenario,
        server_ctx=lambda: stdlib_server_context(parity_pki, leaf[case]),
    )
    assert isinstance(runs["ssl"].result, ssl.SSLCertVerificationError)
    ours = runs["tlsmachine"].result
    assert isinstance(ours, tssl.SSLError) and getattr(ours, "alert", None) == alert
    server_saw = {
        name: [getattr(e, "reason", repr(e)) for e in run.server_errors]
        for name, run in runs.items()
    }
    assert len(server_saw["ssl"]) == 1 and server_saw["ssl"][0].endswith(alert.name)
    assert_parity(server_saw["ssl"], server_saw["tlsmachine"])


@pytest.mark.parametrize(
    ("failure", "verify_code"),
    [("name-mismatch", 62), ("untrusted", 20)],  # X509_V_ERR_HOSTNAME_MISMATCH, _UNABLE_TO_GET_..
)
def test_ported_except_clause_for_certificate_verification_errors(
    parity_pki: pki.TestPKI, failure: str, verify_code: int
) -> None:
    def ported(mod: ModuleType, port: int) -> dict[str, object]:
        if failure == "untrusted":
            ctx, name = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT), "localhost"  # trusts no CA
        else:
            ctx, name = client_context(mod, parity_pki), "other.example"
        with connected(port) as raw:
            try:
                ctx.wrap_socket(raw, server_hostname=name)
            except mod.SSLCertVerificationError as exc:
                return {
                    "caught": True,
                    "a CertificateError too": isinstance(exc, mod.CertificateError),
                    "an OSError": isinstance(exc, OSError),
                    "verify_code": exc.verify_code,
                    "verify_message is a str": isinstance(exc.verify_message, str),
                    "reason": exc.reason,
                }
        return {"caught": False}

    def scenario(mod: ModuleType, port: int) -> object:
        return attempt(lambda: ported(mod, port))

    runs = run_both(parity_pki, over_tls(lambda tls: tls.recv(10)), scenario)
    assert runs["ssl"].result == {
        "caught": True,
        "a CertificateError too": True,
        "an OSError": True,
        "verify_code": verify_code,
        "verify_message is a str": True,
        "reason": "CERTIFICATE_VERIFY_FAILED",
    }
    assert_parity(runs["ssl"].result, runs["tlsmachine"].result)


# -- wrap_bio: SSLObject / TLSObject pumped over a real socket -----------------------------------


def pump(call: Callable[[], T], raw: socket.socket, incoming: Any, outgoing: Any) -> T:
    """The canonical SSLObject loop: on SSLWantReadError send what is queued, feed what
    arrives (EOF as write_eof), call again; after success send what is queued."""
    for _ in range(100):
        try:
            result = call()
        except ssl.SSLWantReadError:
            if outgoing.pending:
                raw.sendall(outgoing.read())
            data = raw.recv(65536)
            if data:
                incoming.write(data)
            else:
                incoming.write_eof()
        else:
            if outgoing.pending:
                raw.sendall(outgoing.read())
            return result
    raise AssertionError("no progress after 100 rounds")


def test_wrap_bio_object_behaves_like_sslobject(parity_pki: pki.TestPKI) -> None:
    def body(tls: ssl.SSLSocket) -> None:
        tls.sendall(tls.recv(100).upper())  # one record
        tls.recv(100)  # "next"
        tls.sendall(b"x" * 50)
        with contextlib.suppress(OSError):
            tls.unwrap()

    def scenario(mod: ModuleType, port: int) -> dict[str, object]:
        with connected(port) as raw:
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            obj = client_context(mod, parity_pki).wrap_bio(
                incoming, outgoing, server_hostname="localhost"
            )
            seen: dict[str, object] = {
                "before": [
                    obj.version(),
                    obj.cipher(),
                    obj.selected_alpn_protocol(),
                    obj.server_side,
                    obj.server_hostname,
                    obj.pending(),
                    obj.session_reused,
                ],
                "getpeercert before": attempt(obj.getpeercert),
                "first do_handshake": attempt(obj.do_handshake),
                "ClientHello queued": outgoing.pending > 0,
            }
            seen["handshake"] = pump(obj.do_handshake, raw, incoming, outgoing)
            seen["read without data"] = attempt(lambda: obj.read(10))
            seen["write"] = obj.write(b"hello")
            raw.sendall(outgoing.read())
            seen["read(3)"] = pump(lambda: obj.read(3), raw, incoming, outgoing)
            seen["pending"] = obj.pending()
            buffer = bytearray(10)
            seen["read(10, buffer)"] = obj.read(10, buffer)
            seen["buffer"] = bytes(buffer)
            seen["write(b'')"] = obj.write(b"")
            obj.write(b"next")
            raw.sendall(outgoing.read())
            rest = b""
            while chunk := pump(lambda: obj.read(1000), raw, incoming, outgoing):
                rest += chunk
            seen["rest until close_notify"] = rest
            seen["read after close_notify"] = attempt(lambda: obj.read(10))
            seen["unwrap"] = pump(obj.unwrap, raw, incoming, outgoing)
            peercert = obj.getpeercert()
            seen["after"] = [
                obj.version(),
                obj.cipher(),
                obj.server_side,
                obj.server_hostname,
                obj.pending(),
                obj.session_reused,
                peercert and peercert["subjectAltName"],
            ]
        return seen

    runs = run_both(parity_pki, over_tls(body), scenario)
    reference = runs["ssl"].result
    assert isinstance(reference["first do_handshake"], ssl.SSLWantReadError)
    assert isinstance(reference["read without data"], ssl.SSLWantReadError)
    assert (reference["read(3)"], reference["pending"]) == (b"HEL", 2)
    assert reference["rest until close_notify"] == b"x" * 50
    assert_parity(reference, runs["tlsmachine"].result)


@pytest.mark.parametrize("when", ["after-data", "in-handshake"])
def test_wrap_bio_eof_without_close_notify(parity_pki: pki.TestPKI, when: str) -> None:
    """incoming.write_eof() without close_notify: ssl.SSLEOFError, in the handshake as after
    data (SSLObject has no suppress_ragged_eofs)."""

    def handler(raw: socket.socket, ctx: ssl.SSLContext) -> None:
        if when == "in-handshake":
            raw.recv(65536)
        else:
            tls = ctx.wrap_socket(raw, server_side=True)
            tls.sendall(b"data")
            raw = tls  # closed below without close_notify
        drain_then_close(raw)
        raw.close()

    def scenario(mod: ModuleType, port: int) -> list[object]:
        with connected(port) as raw:
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            obj = client_context(mod, parity_pki).wrap_bio(
                incoming, outgoing, server_hostname="localhost"
            )
            handshake = attempt(lambda: pump(obj.do_handshake, raw, incoming, outgoing))
            if isinstance(handshake, Exception):
                return [handshake]
            reads = [attempt(lambda: pump(lambda: obj.read(10), raw, incoming, outgoing))]
            reads.append(attempt(lambda: pump(lambda: obj.read(10), raw, incoming, outgoing)))
            return [*reads, attempt(lambda: obj.read(10))]  # the EOF stays

    runs = run_both(parity_pki, handler, scenario)
    reference = runs["ssl"].result
    if when == "after-data":
        assert reference[0] == b"data" and isinstance(reference[1], ssl.SSLEOFError)
        assert isinstance(reference[2], ssl.SSLEOFError)
    else:
        assert len(reference) == 1 and isinstance(reference[0], ssl.SSLEOFError)
    assert_parity(reference, runs["tlsmachine"].result)


def test_wrap_bio_read_zero_without_data(parity_pki: pki.TestPKI) -> None:
    def scenario(mod: ModuleType, port: int) -> object:
        with connected(port) as raw:
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            obj = client_context(mod, parity_pki).wrap_bio(
                incoming, outgoing, server_hostname="localhost"
            )
            pump(obj.do_handshake, raw, incoming, outgoing)
            return attempt(lambda: obj.read(0))

    runs = run_both(parity_pki, over_tls(lambda tls: tls.recv(10)), scenario)
    assert runs["ssl"].result == b""
    assert_parity(runs["ssl"].result, runs["tlsmachine"].result)


# -- http.client and urllib against a stdlib HTTPS server ----------------------------------------


class HelloHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def do_GET(self) -> None:
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"alpha", b"beta" * 3000, b"gamma"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        if self.path == "/big":
            body = bytes(range(256)) * 2000
        else:
            body = f"GET {self.path} over {self.request.version()}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        answer = json.dumps({"length": len(body), "sha256": hashlib.sha256(body).hexdigest()})
        self.send_response(201)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer.encode())

    def log_message(self, format: str, *args: object) -> None:
        pass


class QuietHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client refusing our certificate is part of some tests


@contextlib.contextmanager
def https_server(test_pki: pki.TestPKI) -> Iterator[int]:
    httpd = QuietHTTPServer(("127.0.0.1", 0), HelloHandler)
    # the handshake in the handler thread, so that a failing client cannot stop serve_forever
    httpd.socket = stdlib_server_context(test_pki).wrap_socket(
        httpd.socket, server_side=True, do_handshake_on_connect=False
    )
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(TIMEOUT)


def responses_of(seen: dict[str, object]) -> list[tuple[object, ...]]:
    responses = seen["responses"]
    assert isinstance(responses, list)
    return responses


def test_http_client_keep_alive_and_urlopen(parity_pki: pki.TestPKI) -> None:
    posted = bytes(range(256)) * 1200
    requests: list[tuple[str, str, bytes | None]] = [
        ("GET", "/hello", None),
        ("POST", "/upload", posted),
        ("GET", "/chunked", None),
        ("GET", "/big", None),
        ("GET", "/again", None),
    ]
    seen: dict[str, dict[str, object]] = {}
    with https_server(parity_pki) as port:
        for name, mod in IMPLS.items():
            ctx = client_context(mod, parity_pki)
            ctx.set_alpn_protocols(["http/1.1"])
            conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=TIMEOUT)
            responses: list[tuple[object, ...]] = []
            sockets = set()
            try:
                for method, path, body in requests:
                    conn.request(method, path, body=body)
                    response = conn.getresponse()
                    data = response.read()
                    sockets.add(id(conn.sock))
                    responses.append(
                        (
                            response.status,
                            response.getheader("Content-Length"),
                            response.getheader("Transfer-Encoding"),
                            len(data),
                            data if len(data) < 100 else hashlib.sha256(data).hexdigest(),
                        )
                    )
                alpn = conn.sock.selected_alpn_protocol()
            finally:
                conn.close()
            url = f"https://localhost:{port}/via-urllib"
            with urllib.request.urlopen(url, context=ctx, timeout=TIMEOUT) as fetched:
                via_urllib = (fetched.status, fetched.read())
            seen[name] = {
                "responses": responses,
                "one connection": len(sockets) == 1,
                "alpn": alpn,
                "urlopen": via_urllib,
            }
    reference = seen["ssl"]
    assert reference["one connection"] is True
    assert reference["urlopen"] == (200, b"GET /via-urllib over TLSv1.3")
    upload = json.dumps({"length": len(posted), "sha256": hashlib.sha256(posted).hexdigest()})
    assert responses_of(reference)[1] == (201, str(len(upload)), None, len(upload), upload.encode())
    assert_parity(reference, seen["tlsmachine"])


def test_urlopen_reports_a_certificate_failure_as_urlerror(parity_pki: pki.TestPKI) -> None:
    seen: dict[str, object] = {}
    with https_server(parity_pki) as port:
        for name, mod in IMPLS.items():
            ctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)  # verifies, trusts nothing
            url = f"https://localhost:{port}/"
            seen[name] = attempt(
                lambda: urllib.request.urlopen(url, context=ctx, timeout=TIMEOUT)  # noqa: B023
            )
    reference = seen["ssl"]
    assert isinstance(reference, urllib.error.URLError)
    assert isinstance(reference.reason, ssl.SSLCertVerificationError)
    assert_parity(reference, seen["tlsmachine"])


# -- shared_ciphers, session_stats, verify_flags -------------------------------------------------


def run_server_code(
    mod: ModuleType,
    test_pki: pki.TestPKI,
    body: Callable[[Any], object],
    client: Callable[[int], object],
    *,
    connections: int = 1,
    configure: Callable[[Any], None] | None = None,
) -> tuple[Any, list[object], object]:
    """Server code written for ssl, run with ``mod`` on 127.0.0.1 against ``client(port)`` (a
    stdlib ssl client in a thread making ``connections`` connections): the server context,
    what ``body(tls)`` returned for each connection (the handshake is left to it) and what
    ``client`` returned."""
    leaf = test_pki.leaves["ecdsa-p256"]
    ctx = mod.SSLContext(mod.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(leaf.chain_path, leaf.key_path)
    if configure is not None:
        configure(ctx)
    results: list[object] = []
    client_result: list[object] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)
        port = int(listener.getsockname()[1])
        thread = threading.Thread(
            target=lambda: client_result.append(attempt(lambda: client(port))), daemon=True
        )
        thread.start()
        for _ in range(connections):
            raw, _ = listener.accept()
            with raw:
                raw.settimeout(TIMEOUT)
                with ctx.wrap_socket(raw, server_side=True, do_handshake_on_connect=False) as tls:
                    results.append(body(tls))
        thread.join(TIMEOUT)
    assert not thread.is_alive()
    return ctx, results, client_result[0]


OFFERED_TLS12 = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "AES128-GCM-SHA256"  # static RSA: neither server enables it
)


def test_shared_ciphers_on_the_server_against_a_stdlib_client(parity_pki: pki.TestPKI) -> None:
    """A stdlib client offers the TLS 1.3 suites and a known TLS 1.2 list: both servers report
    a list of (name, protocol, bits) after the handshake only, holding the negotiated suite
    and only suites both sides enable. The order is each server's preference (ours differs,
    see the module docstring), so the lists are compared as sets."""

    def body(tls: Any) -> dict[str, object]:
        before = tls.shared_ciphers()
        tls.do_handshake()
        seen = {"before": before, "shared": tls.shared_ciphers(), "cipher": tls.cipher()}
        tls.sendall(b"ok")
        tls.recv(100)  # until the client closes
        return seen

    def client(port: int) -> set[str]:
        ctx = ssl.create_default_context(cafile=str(parity_pki.ca_path))
        ctx.set_ciphers(OFFERED_TLS12)
        with connected(port) as raw, ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.recv(100)
        return {c["name"] for c in ctx.get_ciphers()}

    observed: dict[str, dict[str, object]] = {}
    for name, mod in IMPLS.items():
        ctx, (seen,), offered = run_server_code(mod, parity_pki, body, client)
        assert isinstance(seen, dict) and isinstance(offered, set)
        shared = seen["shared"]
        assert isinstance(shared, list)
        enabled = {c["name"] for c in ctx.get_ciphers()}
        observed[name] = {
            "before": seen["before"],
            "entries are (str, str, int)": all(
                type(e) is tuple and [type(x) for x in e] == [str, str, int] for e in shared
            ),
            "negotiated suite in it": seen["cipher"] in shared,
            "only suites both sides enable": {e[0] for e in shared} <= offered & enabled,
            "as a set": sorted(shared),
        }
    reference = observed["ssl"]
    assert reference["before"] is None
    assert reference["as a set"] == sorted(
        [
            ("TLS_AES_128_GCM_SHA256", "TLSv1.3", 128),
            ("TLS_AES_256_GCM_SHA384", "TLSv1.3", 256),
            ("TLS_CHACHA20_POLY1305_SHA256", "TLSv1.3", 256),
            ("ECDHE-ECDSA-AES128-GCM-SHA256", "TLSv1.2", 128),
            ("ECDHE-RSA-AES256-GCM-SHA384", "TLSv1.2", 256),
            ("ECDHE-ECDSA-CHACHA20-POLY1305", "TLSv1.2", 256),
        ]
    )
    assert_parity(reference, observed["tlsmachine"])


def test_shared_ciphers_is_none_on_a_client(parity_pki: pki.TestPKI) -> None:
    def scenario(mod: ModuleType, port: int) -> dict[str, object]:
        ctx = client_context(mod, parity_pki)
        with connected(port) as raw:
            tls = ctx.wrap_socket(raw, server_hostname="localhost", do_handshake_on_connect=False)
            with tls:
                before = tls.shared_ciphers()
                tls.do_handshake()
                return {"before": before, "after": tls.shared_ciphers()}

    runs = run_both(parity_pki, over_tls(echo), scenario)
    assert runs["ssl"].result == {"before": None, "after": None}
    assert_parity(runs["ssl"].result, runs["tlsmachine"].result)


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_session_stats_of_a_client(parity_pki: pki.TestPKI, version: str) -> None:
    """A full handshake, a resumed one, and the session offered to another server (its
    ticket keys differ): begun, completed, one hit, one miss, on both sides of the parity."""

    def scenario(mod: ModuleType, port: int) -> dict[str, object]:
        ctx = client_context(mod, parity_pki)
        if version == "TLSv1.2":
            ctx.maximum_version = mod.TLSVersion.TLSv1_2
        seen: dict[str, object] = {"fresh": ctx.session_stats()}
        session = first_session(ctx, port)
        with (
            connected(port) as raw,
            ctx.wrap_socket(raw, server_hostname="localhost", session=session) as tls,
        ):
            tls.sendall(b"again")
            seen["echo"] = tls.recv(100)
            seen["resumed"] = tls.session_reused
        other = StdlibServer(stdlib_server_context(parity_pki), over_tls(echo))
        try:
            with (
                connected(other.port) as raw,
                ctx.wrap_socket(raw, server_hostname="localhost", session=session) as tls,
            ):
                tls.sendall(b"elsewhere")
                seen["echo elsewhere"] = tls.recv(100)
                seen["resumed elsewhere"] = tls.session_reused
        finally:
            other.close()
        seen["stats"] = ctx.session_stats()
        return seen

    runs = run_both(parity_pki, over_tls(echo), scenario, connections=2)
    reference = runs["ssl"].result
    assert reference["resumed"] is True and reference["resumed elsewhere"] is False
    assert reference["stats"] == dict.fromkeys(reference["fresh"], 0) | {
        "connect": 3,
        "connect_good": 3,
        "hits": 1,
        "misses": 1,
    }
    assert_parity(reference, runs["tlsmachine"].result)


@pytest.mark.parametrize("server_version", ["TLSv1.3", "TLSv1.2"])
def test_session_stats_of_a_server(parity_pki: pki.TestPKI, server_version: str) -> None:
    """A stdlib client connects twice, resuming the second time. With the server held to
    TLS 1.2, the random session ID a TLS 1.3 client sends (RFC 8446 D.4) is a miss for both."""

    def configure(ctx: Any) -> None:
        if server_version == "TLSv1.2":
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2

    def body(tls: Any) -> bool:
        tls.do_handshake()
        echo(tls)
        return bool(tls.session_reused)

    def client(port: int) -> list[bool]:
        ctx = ssl.create_default_context(cafile=str(parity_pki.ca_path))
        session = first_session(ctx, port)
        with (
            connected(port) as raw,
            ctx.wrap_socket(raw, server_hostname="localhost", session=session) as tls,
        ):
            tls.sendall(b"again")
            tls.recv(100)
            return [tls.version() == server_version, tls.session_reused]

    observed: dict[str, dict[str, object]] = {}
    for name, mod in IMPLS.items():
        ctx, reused, client_saw = run_server_code(
            mod, parity_pki, body, client, connections=2, configure=configure
        )
        observed[name] = {"reused": reused, "client": client_saw, "stats": ctx.session_stats()}
    reference = observed["ssl"]
    assert reference["reused"] == [False, True] and reference["client"] == [True, True]
    misses = 1 if server_version == "TLSv1.2" else 0
    keys = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).session_stats()
    assert reference["stats"] == dict.fromkeys(keys, 0) | {
        "accept": 2,
        "accept_good": 2,
        "hits": 1,
        "misses": misses,
    }
    assert_parity(reference, observed["tlsmachine"])


@pytest.fixture(scope="module")
def chain_pki(tmp_path_factory: pytest.TempPathFactory) -> pki.TestPKI:
    return pki.make_pki(
        tmp_path_factory.mktemp("parity-chain-pki"), key_types=("ecdsa-p256",), intermediate=True
    )


def test_verify_flags_default_and_partial_chain(chain_pki: pki.TestPKI) -> None:
    """The default flags, Python 3.13's ``verify_flags |= VERIFY_X509_PARTIAL_CHAIN |
    VERIFY_X509_STRICT``, and what PARTIAL_CHAIN is for: trusting an intermediate CA alone."""
    assert chain_pki.intermediate is not None
    intermediate = str(chain_pki.intermediate.cert_path)

    def scenario(mod: ModuleType, port: int) -> dict[str, object]:
        ctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cafile=intermediate)
        seen: dict[str, object] = {"default": ctx.verify_flags}
        ctx.verify_flags |= mod.VERIFY_X509_PARTIAL_CHAIN | mod.VERIFY_X509_STRICT
        seen["flags"] = ctx.verify_flags
        with connected(port) as raw, ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            seen["issuer"] = tls.getpeercert()["issuer"]
            tls.sendall(b"ping")
            seen["echo"] = tls.recv(100)
        return seen

    runs = run_both(
        chain_pki, over_tls(echo), scenario, server_ctx=lambda: stdlib_server_context(chain_pki)
    )
    reference = runs["ssl"].result
    assert reference["default"] == ssl.VERIFY_X509_TRUSTED_FIRST
    assert reference["echo"] == b"ping"
    assert_parity(reference, runs["tlsmachine"].result)
