"""The ssl-shaped facade (tlsmachine.context) against real peers over 127.0.0.1.

OpenSSL's ``s_server``/``s_client``, GnuTLS's ``gnutls-serv``/``gnutls-cli`` and Python's own
:mod:`ssl`. The Python tests run the same code, written against ssl's API, once with ``ssl``
and once with ``tlsmachine.context`` (the module passed in as ``mod``): porting is changing the
import, and both runs must see the same thing (versions, cipher names, getpeercert dicts).
"""

from __future__ import annotations

import http.client
import http.server
import re
import socket
import ssl
import threading
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest
from peers import TIMEOUT, Peers

import tlsmachine.context as tssl
from tlsmachine.context import Context, create_default_context

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

LINE = b"Hello from the facade\n"


def client_ctx(peers: Peers) -> Context:
    return create_default_context(cafile=peers.pki.ca_path)


def server_ctx(peers: Peers, leaf: str = "ecdsa-p256") -> Context:
    ctx = Context(tssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(peers.pki.leaves[leaf].chain_path, peers.pki.leaves[leaf].key_path)
    return ctx


def keylog_secrets(path: Path) -> set[str]:
    return {line for line in path.read_text().splitlines() if line and not line.startswith("#")}


@dataclass
class Served:
    """What the ssl-style server code saw on one connection."""

    version: str | None = None
    cipher: tuple[str, str, int] | None = None
    alpn: str | None = None
    server_name: str | None = None
    peercert: object = None
    lines: list[bytes] = field(default_factory=list)
    error: BaseException | None = None


class ContextServer:
    """Server code written against ssl's API (wrap the listener, accept(), makefile), run with
    a tlsmachine Context: upper-cases each line until the client closes."""

    def __init__(self, ctx: Context | ssl.SSLContext, connections: int = 1) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT)
        self.port = int(self.listener.getsockname()[1])
        self.tls_listener = ctx.wrap_socket(self.listener, server_side=True)
        self.served: list[Served] = []
        self.sni: list[str | None] = []
        self._thread = threading.Thread(target=self._serve, args=(connections,), daemon=True)
        self._thread.start()

    def _serve(self, connections: int) -> None:
        for _ in range(connections):
            record = Served()
            self.served.append(record)
            try:
                conn, _ = self.tls_listener.accept()
                with conn:
                    conn.settimeout(TIMEOUT)
                    record.version, record.cipher = conn.version(), conn.cipher()
                    record.alpn = conn.selected_alpn_protocol()
                    record.peercert = conn.getpeercert()
                    info = getattr(conn, "handshake_info", None)
                    record.server_name = None if info is None else info.server_name
                    for line in conn.makefile("rb"):
                        record.lines.append(line)
                        conn.sendall(line.upper())
            except Exception as exc:
                record.error = exc

    def join(self) -> list[Served]:
        self._thread.join(TIMEOUT)
        assert not self._thread.is_alive(), "the server is still busy"
        return self.served

    def stop(self) -> None:
        self.listener.close()
        self._thread.join(TIMEOUT)


def start(peers: Peers, server: ContextServer) -> ContextServer:
    peers.servers.append(server)  # type: ignore[arg-type]  # stopped at teardown
    return server


# -- OpenSSL ----------------------------------------------------------------------------------


@pytest.mark.parametrize("leaf", ["rsa-2048", "ecdsa-p256"])
def test_context_client_vs_s_server(peers: Peers, leaf: str) -> None:
    server, port = peers.openssl_server(leaf, mode="-rev")
    ctx = client_ctx(peers)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        cipher = tls.cipher()
        assert cipher is not None and cipher[1] == "TLSv1.3"
        cert = tls.getpeercert()
        assert cert is not None and ("DNS", "localhost") in cert["subjectAltName"]  # type: ignore[operator]
        stream = tls.makefile("rwb")
        stream.write(LINE)
        stream.flush()
        assert stream.readline() == LINE[:-1][::-1] + b"\n"
        stream.close()
    assert tls.clean_close is True
    assert server.wait() == 0
    server.wait_for(rf"Ciphersuite: {cipher[0]}")


def test_http_client_vs_s_server_www(peers: Peers) -> None:
    """http.client, unchanged, with our Context (it wraps, sends, reads with makefile)."""
    server, port = peers.openssl_server("rsa-2048", mode="-www", alpn=["http/1.1"])
    ctx = client_ctx(peers)
    ctx.set_alpn_protocols(["http/1.1"])
    conn = http.client.HTTPSConnection("localhost", port, context=ctx, timeout=TIMEOUT)  # type: ignore[arg-type]
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        body = response.read().decode("utf-8", "replace")
        assert response.status == 200
    finally:
        conn.close()
    assert re.search(r"TLSv1\.3, Cipher is TLS_", body), body
    assert "ALPN protocol: http/1.1" in body or "http/1.1" in body
    assert server.wait() == 0


def test_s_client_vs_context_server_with_keylog(peers: Peers, tmp_path: Path) -> None:
    ours_log, theirs_log = tmp_path / "ours.keys", tmp_path / "s_client.keys"
    ctx = server_ctx(peers, "rsa-2048")
    ctx.keylog_filename = ours_log
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    ours = start(peers, ContextServer(ctx))
    client = peers.openssl_client(
        ours.port, alpn=["http/1.1"], extra=("-keylogfile", str(theirs_log))
    )
    client.wait_for(r"Verify return code: 0 \(ok\)")
    client.write(b"from s_client\n")
    client.wait_for(r"FROM S_CLIENT")
    client.close_stdin()
    assert client.wait() == 0, client.describe()
    (served,) = ours.join()
    assert served.error is None, served.error
    assert served.lines == [b"from s_client\n"]
    assert (served.version, served.alpn, served.server_name) == ("TLSv1.3", "http/1.1", "localhost")
    assert served.peercert is None  # CERT_NONE: no client certificate asked for
    secrets = keylog_secrets(ours_log)
    assert len(secrets) == 5
    assert secrets == keylog_secrets(theirs_log)  # the same NSS lines as OpenSSL's


def test_s_client_sni_picks_the_certificate(peers: Peers) -> None:
    default, other = server_ctx(peers), server_ctx(peers, "other-host")
    seen: list[str | None] = []

    def by_name(tls: object, name: str | None, ctx: Context) -> int | None:
        seen.append(name)
        if name == "other.example":
            tls.context = other  # type: ignore[attr-defined]
            return None
        return None if name == "localhost" else tssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME

    default.sni_callback = by_name
    ours = start(peers, ContextServer(default, connections=3))
    for name in ("other.example", "localhost"):
        client = peers.openssl_client(ours.port, servername=name, extra=())  # verifies `name`
        client.wait_for(r"Verify return code: 0 \(ok\)")
        client.write(b"sni\n")
        client.wait_for(r"SNI")
        client.close_stdin()
        assert client.wait() == 0, client.describe()
    refused = peers.openssl_client(ours.port, servername="unknown.example", extra=())
    assert refused.wait() != 0
    assert re.search(r"unrecognized name", refused.output, re.IGNORECASE), refused.describe()
    served = ours.join()
    assert [s.server_name for s in served[:2]] == ["other.example", "localhost"]
    assert served[2].error is not None
    assert seen == ["other.example", "localhost", "unknown.example"]


def test_s_client_certificate_for_a_context_requiring_one(peers: Peers) -> None:
    ctx = server_ctx(peers)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(peers.pki.ca_path)
    ours = start(peers, ContextServer(ctx))
    leaf = peers.pki.leaves["rsa-2048"]
    client = peers.openssl_client(
        ours.port, extra=("-cert", str(leaf.cert_path), "-key", str(leaf.key_path))
    )
    client.wait_for(r"Verify return code: 0 \(ok\)")
    client.write(b"with a client certificate\n")
    client.wait_for(r"WITH A CLIENT CERTIFICATE")
    client.close_stdin()
    assert client.wait() == 0, client.describe()
    (served,) = ours.join()
    assert served.error is None, served.error
    assert isinstance(served.peercert, dict)
    assert ("IP Address", "127.0.0.1") in served.peercert["subjectAltName"]


# -- GnuTLS -----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2])
def test_context_client_vs_gnutls_serv(peers: Peers, version: ssl.TLSVersion) -> None:
    _, port = peers.gnutls_server(
        "ecdsa-p256", priority="NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
    )
    ctx = client_ctx(peers)
    ctx.maximum_version = version
    with (
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        expected = "TLSv1.3" if version == ssl.TLSVersion.TLSv1_3 else "TLSv1.2"
        assert tls.version() == expected
        name = (tls.cipher() or ("",))[0]
        assert name.startswith("TLS_" if expected == "TLSv1.3" else "ECDHE-ECDSA-")
        tls.sendall(LINE)
        reader = tls.makefile("rb")
        assert reader.readline() == LINE
        reader.close()
    assert tls.clean_close is True


def test_gnutls_cli_vs_context_server(peers: Peers) -> None:
    ctx = server_ctx(peers, "rsa-2048")
    ctx.set_alpn_protocols(["h2"])
    ours = start(peers, ContextServer(ctx))
    client = peers.gnutls_client(ours.port, alpn=["h2"])
    client.wait_for(r"- Handshake was completed")
    client.write(b"from gnutls\n")
    client.wait_for(r"FROM GNUTLS")
    client.close_stdin()
    client.wait_for(r"- Peer has closed the GnuTLS connection")
    assert client.wait() == 0, client.describe()
    (served,) = ours.join()
    assert served.error is None, served.error
    assert (served.version, served.alpn) == ("TLSv1.3", "h2")
    assert served.lines == [b"from gnutls\n"]


# -- Python's ssl: the same code with either module ---------------------------------------------


class StdlibEchoServer:
    """Python's ssl serving ``connections`` connections: echo until close_notify, answer it."""

    def __init__(self, ctx: ssl.SSLContext, connections: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT)
        self.port = int(self.listener.getsockname()[1])
        self.errors: list[BaseException] = []
        self.ctx = ctx
        self._thread = threading.Thread(target=self._serve, args=(connections,), daemon=True)
        self._thread.start()

    def _serve(self, connections: int) -> None:
        for _ in range(connections):
            try:
                raw, _ = self.listener.accept()
                raw.settimeout(TIMEOUT)
                with self.ctx.wrap_socket(raw, server_side=True) as tls:
                    while data := tls.recv(65536):
                        tls.sendall(data)
                    tls.unwrap()
            except Exception as exc:
                self.errors.append(exc)

    def stop(self) -> None:
        self.listener.close()
        self._thread.join(TIMEOUT)


def client_code(mod: ModuleType, port: int, cafile: Path, tls12: bool) -> dict[str, object]:
    """Client code written for ssl; ``mod`` is ``ssl`` or ``tlsmachine.context``."""
    ctx = mod.create_default_context(cafile=str(cafile))
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    if tls12:
        ctx.maximum_version = mod.TLSVersion.TLSv1_2
    with (
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(b"ping\n")
        echoed = tls.recv(1024)
        seen = {
            "echo": echoed,
            "version": tls.version(),
            "cipher": tls.cipher(),
            "alpn": tls.selected_alpn_protocol(),
            "peercert": tls.getpeercert(),
            "der": tls.getpeercert(binary_form=True),
        }
        tls.unwrap().close()
    return seen


@pytest.mark.parametrize("tls12", [False, True], ids=["tls13", "tls12"])
def test_same_client_code_with_ssl_and_tlsmachine(peers: Peers, tls12: bool) -> None:
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf = peers.pki.leaves["rsa-2048"]
    server_side.load_cert_chain(leaf.chain_path, leaf.key_path)
    server_side.set_alpn_protocols(["http/1.1"])
    server = StdlibEchoServer(server_side, connections=2)
    peers.servers.append(server)  # type: ignore[arg-type]
    with_ssl = client_code(ssl, server.port, peers.pki.ca_path, tls12)
    with_ours = client_code(tssl, server.port, peers.pki.ca_path, tls12)
    server.stop()
    assert server.errors == []
    assert with_ssl["version"] == ("TLSv1.2" if tls12 else "TLSv1.3")
    assert with_ours == with_ssl  # echo, version, cipher tuple, ALPN, getpeercert dict, DER


def server_code(
    mod: ModuleType, peers: Peers, results: list[object]
) -> tuple[int, threading.Thread]:
    """Server code written for ssl (asks for a client certificate): (its port, its thread)."""
    ctx = mod.SSLContext(mod.PROTOCOL_TLS_SERVER)
    leaf = peers.pki.leaves["ecdsa-p256"]
    ctx.load_cert_chain(leaf.chain_path, leaf.key_path)
    ctx.load_verify_locations(cafile=str(peers.pki.ca_path))
    ctx.verify_mode = mod.CERT_REQUIRED
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)
    port = int(listener.getsockname()[1])  # before ssl's wrap_socket detaches it

    def run() -> None:
        with listener, ctx.wrap_socket(listener, server_side=True) as tls_listener:
            conn, _ = tls_listener.accept()
            with conn:
                data = conn.recv(1024)
                conn.sendall(data[::-1])
                results.extend([data, conn.version(), conn.getpeercert()])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return port, thread


def python_client_with_certificate(peers: Peers, port: int) -> bytes:
    ctx = ssl.create_default_context(cafile=str(peers.pki.ca_path))
    leaf = peers.pki.leaves["rsa-2048"]
    ctx.load_cert_chain(leaf.cert_path, leaf.key_path)
    with (
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(b"abc")
        return tls.recv(1024)


def test_same_server_code_with_ssl_and_tlsmachine(peers: Peers) -> None:
    seen: dict[str, list[object]] = {}
    for name, mod in (("ssl", ssl), ("ours", tssl)):
        results: list[object] = []
        port, thread = server_code(mod, peers, results)
        assert python_client_with_certificate(peers, port) == b"cba"
        thread.join(TIMEOUT)
        assert not thread.is_alive()
        seen[name] = results
    assert seen["ours"] == seen["ssl"]  # data, version, the client's getpeercert dict
    data, version, peercert = seen["ours"]
    assert (data, version) == (b"abc", "TLSv1.3")
    assert isinstance(peercert, dict) and ("DNS", "localhost") in peercert["subjectAltName"]


def test_urllib_and_http_server_both_ways(peers: Peers) -> None:
    """http.server (socketserver) served through our Context, fetched with urllib and ssl;
    then urllib with our Context against http.server on ssl."""

    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = f"hello over {self.connection.version()}".encode()  # type: ignore[attr-defined]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    leaf = peers.pki.leaves["ecdsa-p256"]
    stdlib_server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    stdlib_server_ctx.load_cert_chain(leaf.chain_path, leaf.key_path)
    fetched = {}
    for server_name, ctx, client in (
        ("ours", server_ctx(peers), ssl.create_default_context(cafile=str(peers.pki.ca_path))),
        ("ssl", stdlib_server_ctx, client_ctx(peers)),
    ):
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
        # handshake in the handler thread: a failing client cannot stop serve_forever
        httpd.socket = ctx.wrap_socket(  # type: ignore[assignment]
            httpd.socket, server_side=True, do_handshake_on_connect=False
        )
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1})
        thread.start()
        try:
            url = f"https://localhost:{httpd.server_address[1]}/"
            with urllib.request.urlopen(url, context=client, timeout=TIMEOUT) as response:  # type: ignore[arg-type]
                fetched[server_name] = (response.status, response.read())
        finally:
            httpd.shutdown()
            httpd.server_close()
            thread.join(TIMEOUT)
    assert fetched == {
        "ours": (200, b"hello over TLSv1.3"),
        "ssl": (200, b"hello over TLSv1.3"),
    }
