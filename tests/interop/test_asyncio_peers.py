"""The asyncio adapter (``tlsmachine.asyncio``) against real peers over 127.0.0.1.

Both directions, TLS 1.3 and TLS 1.2: ``openssl s_server``/``s_client``, ``gnutls-serv``/
``gnutls-cli``, and Python's own asyncio + :mod:`ssl` (``asyncio.start_server(ssl=...)`` /
``asyncio.open_connection(ssl=...)``) in the same event loop. Each exchange checks the data, the
negotiated version and a clean close_notify exchange (RFC 8446 §6.1); a peer killed mid-connection
must show up as a truncation, and a certificate we reject must reach the peer as an alert.

The peer programs' blocking helpers (waiting for their output) run in a thread
(``asyncio.to_thread``) so that our server keeps running in the event loop meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import ssl
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any

import pytest
from peers import TIMEOUT, Peers, client_config, python_context, server_certificates
from tls12_peers import (
    gnutls_cli_echo,
    gnutls_client12,
    gnutls_server12,
    openssl_client12,
    openssl_server12,
    python_context12,
    s_client_echo,
)

from tlsmachine import ClientConfig, ServerConfig
from tlsmachine.asyncio import RaggedEOFError, open_connection, start_server
from tlsmachine.enums import ProtocolVersion
from tlsmachine.errors import BadCertificate

pytestmark = [pytest.mark.interop, pytest.mark.timeout(90)]

VERSIONS = ("tls13", "tls12")
NAMES = {"tls13": "TLSv1.3", "tls12": "TLSv1.2"}
MAX = {"tls13": ProtocolVersion.TLS13, "tls12": ProtocolVersion.TLS12}
LEAF = "ecdsa-p256"


def run(coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


def our_client(peers: Peers, version: str) -> ClientConfig:
    return client_config(peers, max_version=MAX[version])


def our_server(peers: Peers, version: str) -> ServerConfig:
    return ServerConfig(certificates=server_certificates(peers, LEAF), max_version=MAX[version])


def lines(n: int, tag: bytes) -> list[bytes]:
    return [b"%04d %s asyncio interop\n" % (i, tag) for i in range(n)]


async def connect(port: int, config: ClientConfig) -> tuple[Any, Any]:
    return await open_connection(
        "127.0.0.1", port, server_hostname="localhost", config=config, ssl_handshake_timeout=TIMEOUT
    )


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    await asyncio.wait_for(writer.wait_closed(), TIMEOUT)


@dataclass
class Served:
    """What our asyncio server saw on one connection."""

    version: str | None = None
    received: bytes = b""
    clean_close: bool | None = None


@contextlib.asynccontextmanager
async def our_echo_server(config: ServerConfig) -> AsyncIterator[tuple[int, list[Served]]]:
    """Our asyncio echo server; yields (port, records); fails on any connection error."""
    served: list[Served] = []
    errors: list[BaseException] = []

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        record = Served(version=writer.get_extra_info("tls_version"))
        while data := await reader.read(65536):
            record.received += data
            writer.write(data)
            await writer.drain()
        record.clean_close = writer.get_extra_info("tls_clean_close")
        served.append(record)
        writer.close()
        # the peer may be gone already after its close_notify; our answer is best effort
        with contextlib.suppress(ConnectionError):
            await asyncio.wait_for(writer.wait_closed(), TIMEOUT)

    server = await start_server(
        echo, "127.0.0.1", 0, config=config, on_error=lambda exc, peer: errors.append(exc)
    )
    try:
        yield server.sockets[0].getsockname()[1], served
    finally:
        server.close()
        await server.wait_closed()
    assert errors == []


async def wait_served(served: list[Served], count: int = 1) -> None:
    for _ in range(int(TIMEOUT / 0.05)):
        if len(served) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"our server finished {len(served)} of {count} connections")


# -- our asyncio client ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_client_vs_openssl_s_server(peers: Peers, version: str) -> None:
    if version == "tls13":
        server, port = peers.openssl_server(LEAF, mode="-rev")
    else:
        server, port = openssl_server12(peers, LEAF, mode="-rev")
    sent = lines(500, b"openssl")  # ~14 KB: several records each way
    expected = b"".join(line[:-1][::-1] + b"\n" for line in sent)

    async def main() -> None:
        reader, writer = await connect(port, our_client(peers, version))
        assert writer.get_extra_info("tls_version") == NAMES[version]
        assert writer.get_extra_info("peercert") == peers.pki.leaves[LEAF].cert
        writer.write(b"".join(sent))
        await writer.drain()
        assert await reader.readexactly(len(expected)) == expected
        await close(writer)
        assert writer.get_extra_info("tls_clean_close") is True  # s_server answered ours

    run(main())
    assert server.wait() == 0, server.describe()
    server.wait_for(r"CONNECTION CLOSED")


@pytest.mark.parametrize("version", VERSIONS)
def test_client_vs_gnutls_serv(peers: Peers, version: str) -> None:
    if version == "tls13":
        _server, port = peers.gnutls_server(LEAF, mode="--echo")
    else:
        _server, port = gnutls_server12(peers, LEAF, mode="--echo")
    payload = b"".join(lines(300, b"gnutls"))

    async def main() -> None:
        reader, writer = await connect(port, our_client(peers, version))
        assert writer.get_extra_info("tls_version") == NAMES[version]
        writer.write(payload)
        await writer.drain()
        assert await reader.readexactly(len(payload)) == payload
        await close(writer)
        assert writer.get_extra_info("tls_clean_close") is True  # gnutls-serv answered ours

    run(main())


@pytest.mark.parametrize("version", VERSIONS)
def test_client_vs_python_asyncio_ssl_server(peers: Peers, version: str) -> None:
    issued = peers.pki.leaves[LEAF]
    if version == "tls13":
        ctx = python_context(ssl.Purpose.CLIENT_AUTH)
    else:
        ctx = python_context12(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(issued.chain_path, issued.key_path)
    payload = os.urandom(2**20)  # 1 MiB each way: flow control across implementations
    seen: list[tuple[str | None, bytes]] = []

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received = b""
        while data := await reader.read(65536):
            received += data
            writer.write(data)
            await writer.drain()
        seen.append((writer.get_extra_info("ssl_object").version(), received))
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    async def main() -> None:
        server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=ctx)
        port = server.sockets[0].getsockname()[1]
        try:
            reader, writer = await connect(port, our_client(peers, version))
            assert writer.get_extra_info("tls_version") == NAMES[version]

            async def send() -> None:
                for start in range(0, len(payload), 50_000):
                    writer.write(payload[start : start + 50_000])
                    await writer.drain()

            sender = asyncio.create_task(send())
            assert await reader.readexactly(len(payload)) == payload
            await sender
            await close(writer)
            assert writer.get_extra_info("tls_clean_close") is True  # Python answered ours
            for _ in range(200):
                if seen:
                    break
                await asyncio.sleep(0.05)
            assert seen == [(NAMES[version], payload)]  # Python's reader saw our close_notify
        finally:
            server.close()
            await server.wait_closed()

    run(main())


def test_client_sees_a_killed_s_server_as_truncation(peers: Peers) -> None:
    """s_server dies without close_notify: the kernel's FIN is a truncation (RFC 8446 §6.1)."""
    server, port = peers.openssl_server(LEAF, mode="-rev")

    async def main() -> None:
        reader, writer = await connect(port, our_client(peers, "tls13"))
        writer.write(b"ping\n")
        assert await reader.readexactly(5) == b"gnip\n"
        server.proc.kill()
        with pytest.raises(RaggedEOFError):
            await asyncio.wait_for(reader.read(), TIMEOUT)
        assert writer.get_extra_info("tls_clean_close") is False
        writer.close()

    run(main())


def test_client_rejects_the_name_and_s_server_gets_the_alert(peers: Peers) -> None:
    server, port = peers.openssl_server(LEAF, mode="-rev")

    async def main() -> None:
        with pytest.raises(BadCertificate, match=r"wrong\.example"):
            await open_connection(
                "127.0.0.1",
                port,
                server_hostname="wrong.example",
                config=our_client(peers, "tls13"),
            )

    run(main())
    server.wait_for(r"alert bad certificate|alert number 42")


# -- peers as clients of our asyncio server ------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_openssl_s_client_vs_server(peers: Peers, version: str) -> None:
    flag = "-tls1_3" if version == "tls13" else "-tls1_2"
    sent = (b"ping one\n", b"ping two\n")

    async def main() -> None:
        async with our_echo_server(our_server(peers, version)) as (port, served):
            client = openssl_client12(peers, port, version=flag)
            output = await asyncio.to_thread(s_client_echo, client, sent)
            assert re.search(rf"New, {re.escape(NAMES[version])}, Cipher is", output), output
            await wait_served(served)
        (record,) = served
        assert record.version == NAMES[version]
        assert record.received == b"".join(sent)
        assert record.clean_close is True  # s_client sent close_notify at the end of its input

    run(main())


@pytest.mark.parametrize("version", VERSIONS)
def test_gnutls_cli_vs_server(peers: Peers, version: str) -> None:
    sent = (b"ping one\n", b"ping two\n", b"ping three\n")

    async def main() -> None:
        async with our_echo_server(our_server(peers, version)) as (port, served):
            if version == "tls13":
                client = peers.gnutls_client(port)
            else:
                client = gnutls_client12(peers, port)
            output = await asyncio.to_thread(gnutls_cli_echo, client, sent)
            short = "TLS1.3" if version == "tls13" else "TLS1.2"
            assert f"- Description: ({short}-" in output, output
            assert "- Status: The certificate is trusted." in output
            await wait_served(served)
        (record,) = served
        assert record.version == NAMES[version]
        assert record.received == b"".join(sent)
        assert record.clean_close is True

    run(main())


@pytest.mark.parametrize("version", VERSIONS)
def test_python_asyncio_ssl_client_vs_server(peers: Peers, version: str) -> None:
    if version == "tls13":
        ctx = python_context(ssl.Purpose.SERVER_AUTH)
    else:
        ctx = python_context12(ssl.Purpose.SERVER_AUTH)
    ctx.load_verify_locations(peers.pki.ca_path)
    payload = os.urandom(2**20)

    async def main() -> None:
        async with our_echo_server(our_server(peers, version)) as (port, served):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=ctx, server_hostname="localhost"
            )
            assert writer.get_extra_info("ssl_object").version() == NAMES[version]

            async def send() -> None:
                for start in range(0, len(payload), 50_000):
                    writer.write(payload[start : start + 50_000])
                    await writer.drain()

            sender = asyncio.create_task(send())
            assert await reader.readexactly(len(payload)) == payload
            await sender
            writer.close()  # Python sends close_notify and waits for ours
            await asyncio.wait_for(writer.wait_closed(), TIMEOUT)
            await wait_served(served)
        (record,) = served
        assert record.version == NAMES[version]
        assert record.received == payload
        assert record.clean_close is True

    run(main())


def test_python_client_reads_our_close_notify_as_eof(peers: Peers) -> None:
    """Our server speaks first and closes: Python's reader gets the data, then EOF."""
    ctx = python_context(ssl.Purpose.SERVER_AUTH)
    ctx.load_verify_locations(peers.pki.ca_path)

    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello from tlsmachine")
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), TIMEOUT)

    async def main() -> None:
        server = await start_server(greet, "127.0.0.1", 0, config=our_server(peers, "tls13"))
        port = server.sockets[0].getsockname()[1]
        try:
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=ctx, server_hostname="localhost"
            )
            assert await asyncio.wait_for(reader.read(), TIMEOUT) == b"hello from tlsmachine"
            assert reader.at_eof()
            writer.close()
            await asyncio.wait_for(writer.wait_closed(), TIMEOUT)
        finally:
            server.close()
            await server.wait_closed()

    run(main())
