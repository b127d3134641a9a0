"""The ssl-shaped facade (tlsmachine.context) in-process: both ends are ours.

wrap_socket over socket pairs and loopback, wrap_bio pumped by hand (WantRead/WantWrite), the
file objects of makefile(), verify_mode/check_hostname, keylog_filename, the SNI callback,
versions, cipher strings, resumption, and asyncio's SSL transport driving a Context.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

import pki
import tlsmachine.context as tssl
from facade_peers import TIMEOUT, Peer, client_context, server_context, socket_pair
from tlsmachine import ClientConfig, ClientConnection, InMemoryClientSessionStore
from tlsmachine.context import Context, TLSObject, create_default_context
from tlsmachine.enums import AlertDescription, ProtocolVersion
from tlsmachine.errors import (
    AlertReceived,
    BadCertificate,
    CertificateRequired,
    ConfigurationError,
    HandshakeFailure,
    ProtocolError,
    ProtocolVersionError,
    TLSError,
    UnknownCA,
    UnrecognizedName,
    WantReadError,
    WantWriteError,
)
from tlsmachine.sockets import RaggedEOFError, TLSSocket

pytestmark = pytest.mark.timeout(60)

LABELS_13 = {
    "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    "CLIENT_TRAFFIC_SECRET_0",
    "SERVER_TRAFFIC_SECRET_0",
    "EXPORTER_SECRET",
}


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> pki.TestPKI:
    return pki.make_pki(
        tmp_path_factory.mktemp("context-pki"), key_types=("ecdsa-p256", "rsa-2048")
    )


def common_name(cert: object, field: str = "subject") -> str:
    """The commonName of a getpeercert() dict's subject (or issuer)."""
    assert isinstance(cert, dict)
    return dict(rdn[0] for rdn in cert[field])["commonName"]  # type: ignore[no-any-return]


def serve_once(ctx: Context, sock: socket.socket, body: Callable[[TLSSocket], object]) -> Peer:
    def run() -> object:
        with ctx.wrap_socket(sock, server_side=True) as tls:
            return body(tls)

    return Peer(run)


def echo_line(tls: TLSSocket) -> bytes:
    line = tls.makefile("rb").readline()
    tls.sendall(line.upper())
    return line


def handshake_failure(
    server_ctx: Context, client_ctx: Context, server_hostname: str | None = "localhost"
) -> tuple[BaseException, BaseException | None]:
    """Run a handshake that must fail on the client: (client error, server error or None)."""
    with socket_pair() as (a, b):
        server = serve_once(server_ctx, b, lambda tls: tls.recv())
        with pytest.raises(TLSError) as caught:
            client_ctx.wrap_socket(a, server_hostname=server_hostname)
        server._thread.join(TIMEOUT)
        return caught.value, server.error


# -- wrap_socket ---------------------------------------------------------------------------------


def test_wrap_socket_both_sides_over_a_socket_pair(test_pki: pki.TestPKI) -> None:
    server_ctx = server_context(test_pki)
    server_ctx.set_alpn_protocols(["h2", "http/1.1"])
    client_ctx = client_context(test_pki)
    client_ctx.set_alpn_protocols(["http/1.1"])
    with socket_pair() as (a, b):

        def body(tls: TLSSocket) -> tuple[object, ...]:
            line = echo_line(tls)
            return line, tls.server_side, tls.getpeercert(), tls.selected_alpn_protocol()

        server = serve_once(server_ctx, b, body)
        with client_ctx.wrap_socket(a, server_hostname="localhost") as tls:
            assert tls.version() == "TLSv1.3"
            name, version, bits = tls.cipher() or ("", "", 0)
            assert name.startswith("TLS_") and version == "TLSv1.3" and bits in (128, 256)
            assert tls.selected_alpn_protocol() == "http/1.1"
            assert tls.server_hostname == "localhost"
            assert tls.server_side is False
            assert tls.context is client_ctx
            assert tls.compression() is None
            tls.sendall(b"hello facade\n")
            assert tls.makefile("rb").readline() == b"HELLO FACADE\n"
            cert = tls.getpeercert()
            assert cert is not None
            assert common_name(cert) == "localhost"
            assert ("organizationName", "tlsmachine tests") in sum(cert["subject"], ())  # type: ignore[arg-type]
            assert ("DNS", "localhost") in cert["subjectAltName"]  # type: ignore[operator]
            assert ("IP Address", "127.0.0.1") in cert["subjectAltName"]  # type: ignore[operator]
            assert ssl.cert_time_to_seconds(str(cert["notAfter"])) > 0
            der = tls.getpeercert(binary_form=True)
            assert der == test_pki.leaves["ecdsa-p256"].cert.public_bytes(
                serialization.Encoding.DER
            )
        assert tls.clean_close is True
        line, server_side, client_cert, alpn = server.join()  # type: ignore[misc]
    assert line == b"hello facade\n"
    assert server_side is True
    assert client_cert is None  # CERT_NONE on the server: no client certificate asked for
    assert alpn == "http/1.1"


def test_wrap_unconnected_and_listening_sockets(test_pki: pki.TestPKI) -> None:
    """ssl's other pattern: wrap first, then connect() / accept() run the handshake."""
    server_ctx = server_context(test_pki)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)
        wrapped_listener = server_ctx.wrap_socket(listener, server_side=True)
        port = listener.getsockname()[1]

        def accept_one() -> bytes:
            conn, _ = wrapped_listener.accept()
            with conn:
                conn.settimeout(TIMEOUT)
                return echo_line(conn)

        server = Peer(accept_one)
        with socket.socket() as raw:
            raw.settimeout(TIMEOUT)
            tls = client_context(test_pki).wrap_socket(raw, server_hostname="localhost")
            assert tls.version() is None  # not connected yet: no handshake
            tls.connect(("127.0.0.1", port))
            assert tls.version() == "TLSv1.3"
            tls.sendall(b"accepted\n")
            assert tls.recv(100) == b"ACCEPTED\n"
            tls.close()
        assert server.join() == b"accepted\n"


def test_handshake_deferred_without_do_handshake_on_connect(test_pki: pki.TestPKI) -> None:
    with socket_pair() as (a, b):
        server = serve_once(server_context(test_pki), b, echo_line)
        tls = client_context(test_pki).wrap_socket(
            a, server_hostname="localhost", do_handshake_on_connect=False
        )
        assert tls.version() is None
        with pytest.raises(ValueError, match="handshake not done"):
            tls.getpeercert()
        assert tls.send(b"lazy\n") == 5  # the first I/O runs the handshake
        assert tls.version() == "TLSv1.3"
        buffer = bytearray(16)
        assert tls.recv_into(buffer) == 5
        assert bytes(buffer[:5]) == b"LAZY\n"
        tls.close()
        assert server.join() == b"lazy\n"


def test_makefile_text_mode_and_deferred_close(test_pki: pki.TestPKI) -> None:
    """As for socket.socket: close() waits until the files made from the socket are closed
    (http.client closes the socket and keeps reading the response file)."""

    def http(tls: TLSSocket) -> str:
        reader = tls.makefile("r", encoding="latin-1", newline="")
        request = reader.readline()
        while reader.readline() not in ("\r\n", ""):
            pass
        writer = tls.makefile("w", encoding="latin-1")
        writer.write("HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        writer.flush()
        writer.close()
        reader.close()
        return str(request)

    with socket_pair() as (a, b):
        server = serve_once(server_context(test_pki), b, http)
        tls = client_context(test_pki).wrap_socket(a, server_hostname="localhost")
        tls.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        response = tls.makefile("rb")
        tls.close()  # deferred: the file is still open
        assert response.readline() == b"HTTP/1.0 200 OK\r\n"
        assert response.readline() == b"Content-Length: 5\r\n"
        assert response.readline() == b"\r\n"
        assert response.read() == b"hello"
        assert a.fileno() >= 0
        response.close()  # the last reference: now the socket closes
        assert a.fileno() == -1
        assert server.join() == "GET / HTTP/1.0\r\n"


# -- wrap_bio ------------------------------------------------------------------------------------


def pump(src: ssl.MemoryBIO, dst: ssl.MemoryBIO) -> int:
    data = src.read()
    if data:
        dst.write(data)
    return len(data)


def bio_pair(
    server_ctx: Context, client_ctx: Context, server_hostname: str | None = "localhost"
) -> tuple[TLSObject, TLSObject, list[ssl.MemoryBIO]]:
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname=server_hostname)
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    return client, server, [c_in, c_out, s_in, s_out]


def handshake_bios(client: TLSObject, server: TLSObject, bios: list[ssl.MemoryBIO]) -> int:
    """Pump until both handshakes are done; counts the WantReadErrors raised."""
    c_in, c_out, s_in, s_out = bios
    wants = 0
    for _ in range(10):
        for end in (client, server):
            try:
                end.do_handshake()
            except WantReadError:
                wants += 1
        moved = pump(c_out, s_in) + pump(s_out, c_in)
        if client.version() and server.version() and not moved:
            return wants
    raise AssertionError("handshake did not finish in 10 rounds")


def test_wrap_bio_pump_loop(test_pki: pki.TestPKI) -> None:
    client, server, bios = bio_pair(server_context(test_pki), client_context(test_pki))
    c_in, c_out, s_in, s_out = bios
    with pytest.raises(WantReadError):
        client.do_handshake()  # the ClientHello is now in c_out
    assert c_out.pending > 0
    with pytest.raises(ssl.SSLWantReadError):  # also ssl's own class: ported except clauses
        server.read()
    wants = handshake_bios(client, server, bios)
    assert wants >= 2
    assert client.version() == server.version() == "TLSv1.3"
    assert common_name(client.getpeercert()) == "localhost"
    with pytest.raises(WantReadError):
        server.read(100)  # nothing sent yet
    assert client.write(b"over bios") == 9
    pump(c_out, s_in)
    assert server.read(4) == b"over"
    assert server.pending() == 5
    buffer = bytearray(10)
    assert server.read(10, buffer) == 5
    assert bytes(buffer[:5]) == b" bios"
    server.write(b"back")
    pump(s_out, c_in)
    assert client.read() == b"back"
    assert client.get_channel_binding() == server.get_channel_binding()  # RFC 9266
    # clean shutdown: unwrap wants the peer's close_notify
    with pytest.raises(WantReadError):
        client.unwrap()
    pump(c_out, s_in)
    assert server.read() == b""  # close_notify reads as EOF
    server.unwrap()  # ours answers; the peer's already came: done
    pump(s_out, c_in)
    client.unwrap()
    assert client.clean_close is True and server.clean_close is True


def test_wrap_bio_read_decrypts_only_as_far_as_it_must(test_pki: pki.TestPKI) -> None:
    """Records queued in the incoming BIO are decrypted a few at a time, as the application
    reads (ssl decrypts one per read): the plaintext buffered in the TLSObject stays bounded
    however much the BIO holds, and it all arrives in order, then the close_notify."""
    client, server, bios = bio_pair(server_context(test_pki), client_context(test_pki))
    handshake_bios(client, server, bios)
    c_out, s_in = bios[1], bios[2]
    records = [bytes([i]) * 16384 for i in range(64)]  # 1 MiB: 64 full-size records
    for record in records:
        client.write(record)
    with pytest.raises(WantReadError):
        client.unwrap()  # our close_notify follows the data
    pump(c_out, s_in)
    first = server.read(16384)
    assert first == records[0]
    assert server.pending() <= 4 * 16384  # one 64 KiB step of the BIO, not all 1 MiB
    assert s_in.pending > 50 * 16384  # the rest still waits in the BIO
    received = [first]
    while data := server.read(16384):
        received.append(data)
    assert b"".join(received) == b"".join(records)
    assert server.clean_close is True and s_in.pending == 0


def test_wrap_bio_ragged_eof_and_eof_during_handshake(test_pki: pki.TestPKI) -> None:
    client, server, bios = bio_pair(server_context(test_pki), client_context(test_pki))
    handshake_bios(client, server, bios)
    c_in = bios[0]
    c_in.write_eof()  # the transport ended without close_notify
    with pytest.raises(RaggedEOFError):
        client.read()
    with pytest.raises(ssl.SSLEOFError):
        client.read()
    fresh, _, fresh_bios = bio_pair(server_context(test_pki), client_context(test_pki))
    with pytest.raises(WantReadError):
        fresh.do_handshake()
    fresh_bios[0].write_eof()
    with pytest.raises(RaggedEOFError, match="handshake"):
        fresh.do_handshake()


class SmallBIO:
    """An outgoing BIO that takes at most ``room`` bytes at a time (to provoke WantWrite)."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.data = bytearray()

    def write(self, data: bytes) -> int:
        taken = data[: self.room]
        self.data += taken
        return len(taken)

    def read(self) -> bytes:
        data, self.data = bytes(self.data), bytearray()
        return data


def test_wrap_bio_want_write_with_a_bounded_outgoing_bio(test_pki: pki.TestPKI) -> None:
    c_in, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    c_out = SmallBIO(100)
    client = client_context(test_pki).wrap_bio(c_in, c_out, server_hostname="localhost")
    server = server_context(test_pki).wrap_bio(s_in, s_out, server_side=True)
    writes = 0
    for _ in range(50):
        for end in (client, server):
            try:
                end.do_handshake()
            except WantWriteError:
                writes += 1
            except WantReadError:
                pass
        s_in.write(c_out.read())
        pump(s_out, c_in)
        if client.version() and server.version():
            break
    assert client.version() == "TLSv1.3" and server.version() == "TLSv1.3"
    assert writes >= 1  # the ClientHello (~250 bytes) did not fit at once
    payload = b"x" * 1000
    assert client.write(payload) == len(payload)  # consumed; the rest waits in the object
    with pytest.raises(WantWriteError):
        client.write(b"more")  # nothing taken: a retried write cannot send twice
    received = b""
    for _ in range(40):
        s_in.write(c_out.read())
        with contextlib.suppress(WantReadError):
            received += server.read(4096)  # type: ignore[operator]
        with contextlib.suppress(WantWriteError):
            client.write(b"")
        if len(received) >= len(payload):
            break
    assert received == payload


def test_wrap_bio_with_asyncio_ssl_transport(test_pki: pki.TestPKI) -> None:
    """asyncio's SSL transport drives our TLSObject (it catches ssl.SSLWantReadError)."""
    server_ctx, client_ctx = server_context(test_pki), client_context(test_pki)

    async def main() -> tuple[bytes, object, object]:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write((await reader.readline()).upper())
            await writer.drain()
            writer.close()
            await writer.wait_closed()

        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_ctx)  # type: ignore[arg-type]
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection(
            "127.0.0.1",
            port,
            ssl=client_ctx,  # type: ignore[arg-type]
            server_hostname="localhost",
        )
        writer.write(b"asyncio line\n")
        await writer.drain()
        answer = await reader.read()
        cipher, peercert = writer.get_extra_info("cipher"), writer.get_extra_info("peercert")
        writer.close()
        with contextlib.suppress(ssl.SSLError, ConnectionError):
            await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return answer, cipher, peercert

    answer, cipher, peercert = asyncio.run(asyncio.wait_for(main(), TIMEOUT))
    assert answer == b"ASYNCIO LINE\n"
    assert cipher[1] == "TLSv1.3"  # type: ignore[index]
    assert common_name(peercert) == "localhost"


# -- verification ----------------------------------------------------------------------------


def test_client_verifies_by_default(test_pki: pki.TestPKI) -> None:
    ctx = Context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname is True
    assert ctx.protocol == ssl.PROTOCOL_TLS_CLIENT
    # no trust anchors loaded (as ssl.SSLContext(PROTOCOL_TLS_CLIENT)): nothing verifies
    error, server_error = handshake_failure(server_context(test_pki), ctx)
    assert isinstance(error, UnknownCA)
    assert isinstance(server_error, AlertReceived)
    assert server_error.description == AlertDescription.UNKNOWN_CA


def test_wrong_host_name_fails_unless_check_hostname_is_off(test_pki: pki.TestPKI) -> None:
    server_ctx = server_context(test_pki)
    ctx = client_context(test_pki)
    error, _ = handshake_failure(server_ctx, ctx, server_hostname="wrong.example")
    assert isinstance(error, BadCertificate)
    ctx.check_hostname = False  # the chain is still verified, the name is not
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    with socket_pair() as (a, b):
        server = serve_once(server_ctx, b, echo_line)
        with ctx.wrap_socket(a, server_hostname="wrong.example") as tls:
            tls.sendall(b"any name\n")
            assert tls.recv() == b"ANY NAME\n"
            assert common_name(tls.getpeercert()) == "localhost"
        server.join()
    # ... and an untrusted chain still fails without the host name check
    untrusted = server_context(test_pki, "untrusted")
    error, _ = handshake_failure(untrusted, ctx, server_hostname="localhost")
    assert isinstance(error, UnknownCA)


def test_cert_none_accepts_anything_and_getpeercert_is_empty(test_pki: pki.TestPKI) -> None:
    ctx = Context()
    with pytest.raises(ConfigurationError, match="check_hostname"):
        ctx.verify_mode = ssl.CERT_NONE  # as ssl: not while check_hostname is on
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket_pair() as (a, b):
        server = serve_once(server_context(test_pki, "untrusted"), b, echo_line)
        with ctx.wrap_socket(a, server_hostname="localhost") as tls:
            assert tls.getpeercert() == {}  # not verified: ssl returns an empty dict
            assert tls.getpeercert(binary_form=True) == test_pki.untrusted.cert.public_bytes(
                serialization.Encoding.DER
            )
            tls.sendall(b"unverified\n")
            assert tls.recv() == b"UNVERIFIED\n"
        server.join()
    ctx.check_hostname = True  # as ssl: turning the name check on turns verification on
    assert ctx.verify_mode == ssl.CERT_REQUIRED


def test_check_hostname_requires_server_hostname(test_pki: pki.TestPKI) -> None:
    with socket_pair() as (a, _), pytest.raises(ConfigurationError, match="server_hostname"):
        client_context(test_pki).wrap_socket(a)


def test_server_requires_or_accepts_client_certificates(test_pki: pki.TestPKI) -> None:
    server_ctx = server_context(test_pki)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    server_ctx.load_verify_locations(cafile=test_pki.ca_path)
    with socket_pair() as (a, b):
        server = serve_once(server_ctx, b, lambda tls: tls.recv())
        # TLS 1.3: the client's handshake is over before the server judges its Certificate,
        # so the alert arrives with the first read (as with ssl)
        tls = client_context(test_pki).wrap_socket(a, server_hostname="localhost")
        with pytest.raises(AlertReceived) as caught:
            tls.recv()
        assert caught.value.description == AlertDescription.CERTIFICATE_REQUIRED
        with pytest.raises(CertificateRequired):
            server.join()

    client_ctx = client_context(test_pki)
    issued = test_pki.leaves["rsa-2048"]
    client_ctx.load_cert_chain(issued.combined_path)  # key in the same file
    with socket_pair() as (a, b):
        server = serve_once(server_ctx, b, lambda tls: (tls.recv(), tls.getpeercert()))
        with client_ctx.wrap_socket(a, server_hostname="localhost") as tls:
            tls.sendall(b"with a certificate")
        received, client_cert = server.join()  # type: ignore[misc]
    assert received == b"with a certificate"
    assert ("IP Address", "127.0.0.1") in client_cert["subjectAltName"]

    server_ctx.verify_mode = ssl.CERT_OPTIONAL  # later wraps see the change
    with socket_pair() as (a, b):
        server = serve_once(server_ctx, b, lambda tls: (tls.recv(), tls.getpeercert()))
        with client_context(test_pki).wrap_socket(a, server_hostname="localhost") as tls:
            tls.sendall(b"without")
        assert server.join() == (b"without", None)


def test_post_handshake_client_authentication(test_pki: pki.TestPKI) -> None:
    server_ctx = server_context(test_pki)
    server_ctx.load_verify_locations(cafile=test_pki.ca_path)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    server_ctx.post_handshake_auth = True  # ask later, not in the handshake
    client_ctx = client_context(test_pki)
    client_ctx.post_handshake_auth = True
    issued = test_pki.leaves["ecdsa-p256"]
    client_ctx.load_cert_chain(issued.cert_path, issued.key_path)

    def body(tls: TLSSocket) -> object:
        assert tls.recv() == b"ready"
        before = tls.getpeercert()
        tls.verify_client_post_handshake()
        tls.sendall(b"go")
        assert tls.recv() == b"after"  # the certificate came before this data
        return before, tls.getpeercert()

    with socket_pair() as (a, b):
        server = serve_once(server_ctx, b, body)
        with client_ctx.wrap_socket(a, server_hostname="localhost") as tls:
            tls.sendall(b"ready")
            assert tls.recv() == b"go"
            tls.sendall(b"after")
        before, after = server.join()  # type: ignore[misc]
    assert before is None
    assert common_name(after) == "localhost"


def test_load_verify_locations_forms(test_pki: pki.TestPKI, tmp_path: Path) -> None:
    ctx = Context()
    with pytest.raises(TypeError):
        ctx.load_verify_locations()
    ca_der = test_pki.ca.cert.public_bytes(serialization.Encoding.DER)
    other_der = test_pki.untrusted.cert.public_bytes(serialization.Encoding.DER)
    ctx.load_verify_locations(cadata=ca_der + other_der)  # ssl: DER certificates back to back
    assert ctx.cert_store_stats() == {"x509": 2, "crl": 0, "x509_ca": 1}
    assert ctx.get_ca_certs(binary_form=True) == [ca_der]
    ca_dict = ctx.get_ca_certs()[0]
    assert common_name(ca_dict) == "tlsmachine test root CA"
    ctx.load_verify_locations(cadata=test_pki.ca_pem.decode())  # PEM as str: no duplicate
    assert ctx.cert_store_stats()["x509"] == 2
    capath = tmp_path / "capath"
    capath.mkdir()
    (capath / "ca.pem").write_bytes(test_pki.ca_pem)
    by_dir = Context()
    by_dir.load_verify_locations(capath=capath)
    with socket_pair() as (a, b):
        server = serve_once(server_context(test_pki), b, echo_line)
        with by_dir.wrap_socket(a, server_hostname="localhost") as tls:
            tls.sendall(b"capath\n")
            assert tls.recv() == b"CAPATH\n"
        server.join()
    with pytest.raises(ConfigurationError):
        Context().load_verify_locations(cadata=b"not a certificate")


def test_load_default_certs_uses_the_system_store(
    test_pki: pki.TestPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The system store, found as ssl finds it (SSL_CERT_FILE here); alone and together with
    load_verify_locations anchors."""
    monkeypatch.setenv("SSL_CERT_FILE", str(test_pki.ca_path))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    assert talk(server_context(test_pki), create_default_context())[0] == "TLSv1.3"
    both = create_default_context()
    both.load_verify_locations(
        cadata=test_pki.untrusted.cert.public_bytes(serialization.Encoding.PEM).decode()
    )
    for leaf in ("ecdsa-p256", "untrusted"):  # one trusted through each source
        assert talk(server_context(test_pki, leaf), both)[0] == "TLSv1.3"


# -- keylog ------------------------------------------------------------------------------------


def keylog_lines(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines() if not line.startswith("#")]


def test_keylog_filename_appends_nss_lines(test_pki: pki.TestPKI, tmp_path: Path) -> None:
    client_log, server_log = tmp_path / "client.keys", tmp_path / "server.keys"
    client_ctx, server_ctx = client_context(test_pki), server_context(test_pki)
    client_ctx.keylog_filename = str(client_log)
    server_ctx.keylog_filename = server_log
    assert client_ctx.keylog_filename == str(client_log)
    for _ in range(2):
        with socket_pair() as (a, b):
            server = serve_once(server_ctx, b, echo_line)
            with client_ctx.wrap_socket(a, server_hostname="localhost") as tls:
                tls.sendall(b"logged\n")
                assert tls.recv() == b"LOGGED\n"
            server.join()
    ours, theirs = keylog_lines(client_log), keylog_lines(server_log)
    assert client_log.read_text().startswith("# TLS secrets log file")
    # the file holds every traffic secret: readable by its owner only
    assert client_log.stat().st_mode & 0o777 == 0o600
    assert server_log.stat().st_mode & 0o777 == 0o600
    assert len(ours) == 10  # five secrets per TLS 1.3 handshake, appended
    assert {line[0] for line in ours} == LABELS_13
    assert sorted(map(tuple, ours)) == sorted(map(tuple, theirs))  # the same secrets
    assert all(len(line[1]) == 64 for line in ours)  # client_random, hex
    assert len({line[1] for line in ours}) == 2  # two handshakes, two client randoms
    client_ctx.keylog_filename = None
    with socket_pair() as (a, b):
        server = serve_once(server_ctx, b, echo_line)
        with client_ctx.wrap_socket(a, server_hostname="localhost") as tls:
            tls.sendall(b"quiet\n")
            tls.recv()
        server.join()
    assert len(keylog_lines(client_log)) == 10
    assert len(keylog_lines(server_log)) == 15


def test_sslkeylogfile_is_honoured_by_create_default_context_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "env.keys"
    monkeypatch.setenv("SSLKEYLOGFILE", str(path))
    assert create_default_context().keylog_filename == str(path)
    assert Context().keylog_filename is None  # as ssl.SSLContext()
    with pytest.raises(FileNotFoundError):
        Context().keylog_filename = str(tmp_path / "missing" / "dir" / "keys")


# -- SNI ---------------------------------------------------------------------------------------


def test_sni_callback_chooses_between_two_certificates(test_pki: pki.TestPKI) -> None:
    default_ctx = server_context(test_pki)  # localhost
    other_ctx = server_context(test_pki, "other-host")  # other.example
    other_ctx.set_alpn_protocols(["other/1"])
    seen: list[str | None] = []

    def choose(tls: object, name: str | None, ctx: Context) -> int | None:
        assert ctx is default_ctx
        seen.append(name)
        if name == "other.example":
            tls.context = other_ctx  # type: ignore[attr-defined]
        elif name not in ("localhost", None):
            return tssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        return None

    default_ctx.sni_callback = choose
    client_ctx = client_context(test_pki)
    client_ctx.set_alpn_protocols(["other/1", "http/1.1"])
    subjects = {}
    for name in ("localhost", "other.example"):
        with socket_pair() as (a, b):
            server = serve_once(default_ctx, b, echo_line)
            with client_ctx.wrap_socket(a, server_hostname=name) as tls:
                subjects[name] = common_name(tls.getpeercert())
                alpn = tls.selected_alpn_protocol()
                tls.sendall(b"sni\n")
                assert tls.recv() == b"SNI\n"
            server.join()
        assert alpn == ("other/1" if name == "other.example" else None)
    assert subjects == {"localhost": "localhost", "other.example": "other.example"}
    # an IP literal is never sent as SNI (RFC 6066 §3): the callback sees None
    with socket_pair() as (a, b):
        server = serve_once(default_ctx, b, echo_line)
        with client_ctx.wrap_socket(a, server_hostname="127.0.0.1") as tls:
            tls.sendall(b"ip\n")
            assert tls.recv() == b"IP\n"
        server.join()
    error, server_error = handshake_failure(default_ctx, client_ctx, "unknown.example")
    assert isinstance(server_error, UnrecognizedName)
    assert isinstance(error, AlertReceived)
    assert error.description == AlertDescription.UNRECOGNIZED_NAME
    assert seen == ["localhost", "other.example", None, "unknown.example"]


def test_sni_callback_exception_is_a_handshake_failure(test_pki: pki.TestPKI) -> None:
    server_ctx = server_context(test_pki)

    def broken(tls: object, name: str | None, ctx: Context) -> None:
        raise RuntimeError("bug in the callback")

    server_ctx.set_servername_callback(broken)
    assert server_ctx.sni_callback is broken
    error, server_error = handshake_failure(server_ctx, client_context(test_pki))
    assert isinstance(server_error, HandshakeFailure)
    assert isinstance(error, AlertReceived)
    assert error.description == AlertDescription.HANDSHAKE_FAILURE
    with pytest.raises(ConfigurationError):
        Context().sni_callback = broken  # client contexts have none


# -- versions and ciphers ----------------------------------------------------------------------


def talk(server_ctx: Context, client_ctx: Context) -> tuple[str | None, str]:
    with socket_pair() as (a, b):
        server = serve_once(server_ctx, b, echo_line)
        with client_ctx.wrap_socket(a, server_hostname="localhost") as tls:
            tls.sendall(b"v\n")
            assert tls.recv() == b"V\n"
            version, cipher = tls.version(), (tls.cipher() or ("",))[0]
        server.join()
    return version, cipher


def test_minimum_and_maximum_version(test_pki: pki.TestPKI) -> None:
    server_ctx, client_ctx = server_context(test_pki), client_context(test_pki)
    assert client_ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    assert client_ctx.maximum_version == ssl.TLSVersion.TLSv1_3
    client_ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    version, cipher = talk(server_ctx, client_ctx)
    assert version == "TLSv1.2"
    assert cipher.startswith("ECDHE-ECDSA-")  # OpenSSL's names, as ssl's cipher() gives
    client_ctx.maximum_version = ssl.TLSVersion.MAXIMUM_SUPPORTED
    assert client_ctx.maximum_version == ssl.TLSVersion.TLSv1_3
    assert talk(server_ctx, client_ctx)[0] == "TLSv1.3"
    server_ctx.minimum_version = ProtocolVersion.TLS13  # our own enum works too
    client_ctx.options |= ssl.OP_NO_TLSv1_3
    error, server_error = handshake_failure(server_ctx, client_ctx)
    assert isinstance(server_error, ProtocolVersionError)
    assert isinstance(error, AlertReceived)
    assert error.description == AlertDescription.PROTOCOL_VERSION
    for old in (ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1, ssl.TLSVersion.SSLv3):
        with pytest.raises(ConfigurationError, match=r"below TLS 1\.2"):
            client_ctx.minimum_version = old
        with pytest.raises(ConfigurationError):
            client_ctx.maximum_version = old
    assert client_ctx.options & ssl.OP_NO_TLSv1_1  # always set: TLS 1.1 does not exist here


def test_refused_protocols_and_roles(test_pki: pki.TestPKI) -> None:
    for protocol in (ssl.PROTOCOL_TLS, ssl.PROTOCOL_TLSv1_2):
        with pytest.raises(ConfigurationError, match="PROTOCOL_TLS_CLIENT"):
            Context(protocol)
    assert Context(server_side=True).protocol == ssl.PROTOCOL_TLS_SERVER
    assert Context(server_side=True).verify_mode == ssl.CERT_NONE
    with socket_pair() as (a, _):
        with pytest.raises(ConfigurationError, match="server context"):
            server_context(test_pki).wrap_socket(a)
        with pytest.raises(ConfigurationError, match="client context"):
            client_context(test_pki).wrap_socket(a, server_side=True)
        with pytest.raises(ConfigurationError, match="load_cert_chain"):
            Context(server_side=True).wrap_socket(a, server_side=True)


def test_set_ciphers_selects_tls12_suites(test_pki: pki.TestPKI) -> None:
    server_ctx = server_context(test_pki, "rsa-2048")
    client_ctx = client_context(test_pki)
    client_ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    client_ctx.set_ciphers("ECDHE+CHACHA20:!aNULL:!MD5")
    assert [c["name"] for c in client_ctx.get_ciphers()] == [
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
    ]
    assert talk(server_ctx, client_ctx) == ("TLSv1.2", "ECDHE-RSA-CHACHA20-POLY1305")
    client_ctx.set_ciphers("ECDHE-RSA-AES256-GCM-SHA384")  # one suite by OpenSSL name
    assert talk(server_ctx, client_ctx) == ("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384")
    client_ctx.set_ciphers("HIGH:-AES128:!CHACHA20:!DHE")
    assert [c["name"] for c in client_ctx.get_ciphers()] == [
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
    ]
    with pytest.raises(ConfigurationError, match="no cipher"):
        client_ctx.set_ciphers("RC4:3DES:aNULL")  # what we never implement selects nothing
    # TLS 1.3 suites by name (an extension: Python has no set_ciphersuites)
    both = client_context(test_pki)
    both.set_ciphers("TLS_CHACHA20_POLY1305_SHA256")  # ... and no TLS 1.2 suite: 1.3 only
    assert [c["protocol"] for c in both.get_ciphers()] == ["TLSv1.3"]
    assert talk(server_ctx, both) == ("TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256")


def test_set_ecdh_curve_restricts_the_groups(test_pki: pki.TestPKI) -> None:
    server_ctx, client_ctx = server_context(test_pki), client_context(test_pki)
    server_ctx.set_ecdh_curve("secp384r1")
    client_ctx.set_ecdh_curve("prime256v1")
    _, server_error = handshake_failure(server_ctx, client_ctx)
    assert isinstance(server_error, HandshakeFailure)
    client_ctx.set_ecdh_curve("secp384r1")
    with socket_pair() as (a, b):
        server = serve_once(server_ctx, b, echo_line)
        with client_ctx.wrap_socket(a, server_hostname="localhost") as tls:
            info = tls.handshake_info
            assert info is not None and info.group == "secp384r1"
            tls.sendall(b"g\n")
            tls.recv()
        server.join()
    with pytest.raises(ConfigurationError):
        client_ctx.set_ecdh_curve("brainpoolP256r1")


# -- resumption and the config-at-wrap-time rule -------------------------------------------------


def test_session_resumption_with_tls_session(test_pki: pki.TestPKI) -> None:
    server_ctx, client_ctx = server_context(test_pki), client_context(test_pki)
    with socket_pair() as (a, b):
        server = serve_once(server_ctx, b, echo_line)
        with client_ctx.wrap_socket(a, server_hostname="localhost") as tls:
            tls.sendall(b"first\n")
            assert tls.recv() == b"FIRST\n"  # the tickets came before this data
            assert tls.session_reused is False
            session = tls.session
        server.join()
    assert session is not None
    with socket_pair() as (a, b):
        server = serve_once(server_ctx, b, lambda tls: (echo_line(tls), tls.session_reused))
        with client_ctx.wrap_socket(a, server_hostname="localhost", session=session) as tls:
            tls.sendall(b"again\n")
            assert tls.recv() == b"AGAIN\n"
            assert tls.session_reused is True
        assert server.join() == (b"again\n", True)


def bio_session(client: TLSObject, server: TLSObject, bios: list[ssl.MemoryBIO]) -> Any:
    """Finish the handshake of a BIO pair and read the server's tickets: the client's
    ``session``."""
    handshake_bios(client, server, bios)
    server.write(b"tickets before this")
    pump(bios[3], bios[0])  # server out -> client in
    assert client.read(100) == b"tickets before this"
    return client.session


def test_session_attribute_is_offered_when_set_before_the_handshake(
    test_pki: pki.TestPKI,
) -> None:
    """ssl.SSLSocket.session / SSLObject.session: assigned before the handshake, the session is
    offered (RFC 8446 §4.2.11); afterwards, or on a server, assigning it is a ValueError, and
    anything but a session a TypeError, as in ssl."""
    server_ctx, client_ctx = server_context(test_pki), client_context(test_pki)
    client, server, bios = bio_pair(server_ctx, client_ctx)
    session = bio_session(client, server, bios)
    assert session is not None and client.session_reused is False
    with pytest.raises(ValueError, match="handshake has begun"):
        client.session = session
    with pytest.raises(ValueError, match="server-side"):
        server.session = session

    client, server, bios = bio_pair(server_ctx, client_ctx)
    assert client.session is None
    with pytest.raises(TypeError):
        client.session = b"not a session"  # type: ignore[assignment]
    client.session = session
    assert client.session is session
    handshake_bios(client, server, bios)
    assert client.session_reused is True and server.session_reused is True
    with pytest.raises(ValueError, match="handshake has begun"):
        client.session = session


def test_session_attribute_keeps_the_configs_session_store(test_pki: pki.TestPKI) -> None:
    """A native TLSObject whose config has a session store: the assigned session is offered,
    and the tickets of that connection still go into the store."""
    server_ctx = server_context(test_pki)
    store = InMemoryClientSessionStore()
    config = ClientConfig(cadata=test_pki.ca_pem, session_store=store)

    def native_pair() -> tuple[TLSObject, TLSObject, list[ssl.MemoryBIO]]:
        c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
        client = TLSObject(ClientConnection(config, server_name="localhost"), c_in, c_out)
        server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
        return client, server, [c_in, c_out, s_in, s_out]

    client, server, bios = native_pair()
    session = bio_session(client, server, bios)
    assert session is not None and len(store) == 2  # the server's default: two tickets
    while store.get("localhost", 0.0) is not None:  # empty it
        pass
    assert len(store) == 0
    client, server, bios = native_pair()
    client.session = session
    handshake_bios(client, server, bios)
    assert client.session_reused is True
    bio_session(client, server, bios)
    assert len(store) == 2


def test_context_changes_apply_to_later_connections_only(test_pki: pki.TestPKI) -> None:
    server_ctx = server_context(test_pki)
    server_ctx.set_alpn_protocols(["a/1", "b/1"])
    client_ctx = client_context(test_pki)
    client_ctx.set_alpn_protocols(["a/1"])
    with socket_pair() as (a, b):
        server = serve_once(server_ctx, b, echo_line)
        early = client_ctx.wrap_socket(
            a, server_hostname="localhost", do_handshake_on_connect=False
        )
        client_ctx.set_alpn_protocols(["b/1"])  # after the wrap: not for `early`
        early.sendall(b"x\n")
        assert early.recv() == b"X\n"
        assert early.selected_alpn_protocol() == "a/1"
        early.close()
        server.join()
    assert client_ctx.client_config("localhost").alpn_protocols == ("b/1",)
    assert server_ctx.server_config().alpn_protocols == ("a/1", "b/1")


def test_ported_code_catches_ssl_exceptions() -> None:
    """What ``import tlsmachine.context as ssl`` gives ported except clauses."""
    assert issubclass(tssl.SSLWantReadError, ssl.SSLWantReadError)
    assert issubclass(tssl.SSLWantWriteError, ssl.SSLWantWriteError)
    assert issubclass(tssl.SSLEOFError, ssl.SSLEOFError)
    assert issubclass(tssl.SSLWantReadError, tssl.SSLError)
    assert issubclass(ProtocolError, tssl.SSLError)
    assert tssl.SSLContext is Context and tssl.SSLObject is TLSObject
    assert tssl.CERT_REQUIRED is ssl.CERT_REQUIRED
    assert tssl.Purpose.SERVER_AUTH is ssl.Purpose.SERVER_AUTH


def test_getpeercert_shape_helpers(test_pki: pki.TestPKI) -> None:
    from tlsmachine.sockets import peer_certificate_dict

    data: dict[str, Any] = dict(peer_certificate_dict(test_pki.leaves["rsa-2048"].cert))
    assert data["version"] == 3
    assert common_name(data, "issuer") == "tlsmachine test root CA"
    assert ("IP Address", "0:0:0:0:0:0:0:1") in data["subjectAltName"]  # OpenSSL's IPv6 form
    assert int(data["serialNumber"], 16) == test_pki.leaves["rsa-2048"].cert.serial_number
