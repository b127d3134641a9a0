"""The README's Python examples run as written, against a local server instead of example.com.

Each ```python block of README.md is run in a subprocess with ``example.com`` (and port 443)
replaced by a tlsmachine server on 127.0.0.1 whose certificate names ``localhost``. The
examples keep certificate verification on: the subprocess finds the test CA through
``SSL_CERT_FILE``, as it would find the system trust store. A README example that no longer
runs fails here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: pki.py

import pki
from tlsmachine import CertifiedKey, ServerConfig
from tlsmachine.sockets import TLSServer, TLSSocket, serve

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 30.0
BODY = b"hello from the README test server"


def python_examples() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    return [block for block in blocks if "example.com" in block]


def answer_http(tls: TLSSocket) -> None:
    """A one-request HTTP/1.0 server: read the request head, answer, close (close_notify)."""
    request = b""
    while b"\r\n\r\n" not in request:
        data = tls.recv(65536)
        if not data:
            return
        request += data
    head = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n"
    tls.sendall(head % len(BODY) + BODY)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TLSServer, Path]]:
    test_pki = pki.make_pki(tmp_path_factory.mktemp("readme-pki"), key_types=("ecdsa-p256",))
    leaf = test_pki.leaves["ecdsa-p256"]
    config = ServerConfig(
        certificates=(CertifiedKey.load(leaf.chain_path, leaf.key_path),),
        alpn_protocols=("http/1.1",),
    )
    running = serve(config, answer_http, timeout=TIMEOUT)
    try:
        yield running, test_pki.ca_path
    finally:
        running.shutdown()


def localised(example: str, port: int) -> str:
    example = example.replace("https://example.com/", f"https://localhost:{port}/")
    example = example.replace('server_name="example.com"', 'server_name="localhost"')
    return example.replace('"example.com", 443', f'"localhost", {port}')


def test_the_readme_has_the_examples() -> None:
    examples = python_examples()
    assert len(examples) == 4  # sockets, asyncio, the ssl facade, the sans-I/O core
    for example in examples:
        assert '"example.com", 443' in example or "https://example.com/" in example


@pytest.mark.parametrize("index", range(4), ids=["sockets", "asyncio", "context", "sans-io"])
def test_readme_example_runs(server: tuple[TLSServer, Path], index: int) -> None:
    running, ca_path = server
    code = localised(python_examples()[index], running.address[1])
    assert "example.com" not in code.replace("Host: example.com", "")
    env = {**os.environ, "SSL_CERT_FILE": str(ca_path)}
    env.pop("SSL_CERT_DIR", None)
    env.pop("SSLKEYLOGFILE", None)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT, env=env
    )
    assert result.returncode == 0, result.stderr
    assert BODY.decode() in result.stdout, result.stdout + result.stderr
