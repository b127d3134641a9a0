"""``get_verified_chain()`` / ``get_unverified_chain()`` (ssl 3.13) on TLSSocket and TLSObject.

The PKI: root -> intermediate -> leaf. Peers send leaf + intermediate; the root is only in the
verifying side's trust store. The unverified chain is what the peer sent; the verified chain is
pyca's validated path, leaf to root (RFC 5280 §6), so it has the root the peer never sent and
not the stray certificates it did send.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

import memory_pair
import pki
import tlsmachine.context as tssl
from tls_fixtures import server_cert
from tlsmachine import (
    ClientConfig,
    ClientConnection,
    HandshakeComplete,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.cert_facts import Chain
from tlsmachine.context import Context, TLSObject, create_default_context
from tlsmachine.enums import ProtocolVersion
from tlsmachine.errors import WantReadError
from tlsmachine.sockets import TLSSocket

TIMEOUT = 10.0
VERSIONS = [
    pytest.param(ssl.TLSVersion.TLSv1_3, id="tls13"),
    pytest.param(ssl.TLSVersion.TLSv1_2, id="tls12"),
]


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> pki.TestPKI:
    return pki.make_pki(
        tmp_path_factory.mktemp("chain-pki"), intermediate=True, key_types=("ecdsa-p256",)
    )


@pytest.fixture(scope="module")
def stray(tmp_path_factory: pytest.TempPathFactory) -> x509.Certificate:
    """A CA certificate that has nothing to do with our PKI."""
    other = pki.make_pki(tmp_path_factory.mktemp("other-pki"), key_types=(), ca_name="stray CA")
    return other.ca.cert


def der(*certs: x509.Certificate) -> list[bytes]:
    return [c.public_bytes(Encoding.DER) for c in certs]


def leaf_chain(test_pki: pki.TestPKI) -> tuple[x509.Certificate, x509.Certificate]:
    leaf = test_pki.leaves["ecdsa-p256"]
    assert test_pki.intermediate is not None
    return leaf.cert, test_pki.intermediate.cert


def server_context(
    test_pki: pki.TestPKI, tmp_path: Path, extra: x509.Certificate | None = None
) -> Context:
    """Serves leaf + intermediate (+ ``extra``, appended after them)."""
    issued = test_pki.leaves["ecdsa-p256"]
    chain_path = issued.chain_path
    if extra is not None:
        chain_path = tmp_path / "chain-with-extra.pem"
        chain_path.write_bytes(issued.chain_path.read_bytes() + extra.public_bytes(Encoding.PEM))
    ctx = Context(tssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(chain_path, issued.key_path)
    return ctx


def client_context(test_pki: pki.TestPKI, version: ssl.TLSVersion) -> Context:
    ctx = create_default_context(cafile=test_pki.ca_path)  # the root only
    ctx.maximum_version = version
    return ctx


def asking_server(test_pki: pki.TestPKI, tmp_path: Path, mode: ssl.VerifyMode) -> Context:
    ctx = server_context(test_pki, tmp_path)
    ctx.load_verify_locations(cafile=test_pki.ca_path)
    ctx.verify_mode = mode
    return ctx


def with_client_certificate(ctx: Context, test_pki: pki.TestPKI) -> Context:
    issued = test_pki.leaves["ecdsa-p256"]
    ctx.load_cert_chain(issued.chain_path, issued.key_path)  # leaf + intermediate
    return ctx


# -- sockets -------------------------------------------------------------------------------------


Chains = tuple[list[bytes], list[bytes]]


def chains(tls: TLSSocket | TLSObject) -> Chains:
    """(verified, unverified)."""
    return tls.get_verified_chain(), tls.get_unverified_chain()


def socket_handshake(
    server_ctx: Context, client_ctx: Context, server_hostname: str | None = "localhost"
) -> tuple[Chains, Chains]:
    """One handshake over a socket pair: (client's chains, server's chains)."""
    a, b = socket.socketpair()
    a.settimeout(TIMEOUT)
    b.settimeout(TIMEOUT)
    server_chains: list[Chains] = []
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            with server_ctx.wrap_socket(b, server_side=True) as tls:
                assert tls.recv() == b"ping"
                server_chains.append(chains(tls))
                tls.sendall(b"pong")
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with a, b:
        with client_ctx.wrap_socket(a, server_hostname=server_hostname) as tls:
            tls.sendall(b"ping")
            assert tls.recv() == b"pong"
            client = chains(tls)
            assert tls.getpeercert(binary_form=True) == client[1][0]
        thread.join(TIMEOUT)
    assert not thread.is_alive()
    if errors:
        raise AssertionError("server failed") from errors[0]
    return client, server_chains[0]


@pytest.mark.parametrize("version", VERSIONS)
def test_client_verified_chain_ends_at_the_root_from_its_store(
    test_pki: pki.TestPKI, tmp_path: Path, version: ssl.TLSVersion
) -> None:
    leaf, intermediate = leaf_chain(test_pki)
    client_ctx = client_context(test_pki, version)
    for _ in range(2):  # the second one meets the verifier's cache of accepted chains
        client, server = socket_handshake(server_context(test_pki, tmp_path), client_ctx)
        verified, unverified = client
        assert unverified == der(leaf, intermediate)  # as sent
        assert verified == der(leaf, intermediate, test_pki.ca.cert)  # + the root
        assert server == ([], [])  # CERT_NONE server: no client certificate asked for


@pytest.mark.parametrize("version", VERSIONS)
def test_extra_certificate_sent_is_unverified_only(
    test_pki: pki.TestPKI, tmp_path: Path, stray: x509.Certificate, version: ssl.TLSVersion
) -> None:
    leaf, intermediate = leaf_chain(test_pki)
    server_ctx = server_context(test_pki, tmp_path, extra=stray)
    (verified, unverified), _ = socket_handshake(server_ctx, client_context(test_pki, version))
    assert unverified == der(leaf, intermediate, stray)
    assert verified == der(leaf, intermediate, test_pki.ca.cert)


@pytest.mark.parametrize("version", VERSIONS)
def test_cert_none_verifies_nothing(
    test_pki: pki.TestPKI, tmp_path: Path, stray: x509.Certificate, version: ssl.TLSVersion
) -> None:
    """CERT_NONE: no path was validated, so none is reported (ssl would hand back OpenSSL's
    unchecked chain); the chain as sent is still there."""
    leaf, intermediate = leaf_chain(test_pki)
    client_ctx = client_context(test_pki, version)
    client_ctx.check_hostname = False
    client_ctx.verify_mode = ssl.CERT_NONE
    server_ctx = server_context(test_pki, tmp_path, extra=stray)
    (verified, unverified), _ = socket_handshake(server_ctx, client_ctx)
    assert verified == []
    assert unverified == der(leaf, intermediate, stray)


def test_check_hostname_off_still_reports_the_path(test_pki: pki.TestPKI, tmp_path: Path) -> None:
    """check_hostname = False wraps the verifier (names unchecked); the path comes through."""
    leaf, intermediate = leaf_chain(test_pki)
    client_ctx = client_context(test_pki, ssl.TLSVersion.TLSv1_3)
    client_ctx.check_hostname = False
    (verified, _), _ = socket_handshake(server_context(test_pki, tmp_path), client_ctx, None)
    assert verified == der(leaf, intermediate, test_pki.ca.cert)


@pytest.mark.parametrize("version", VERSIONS)
def test_server_sees_the_client_certificate_path(
    test_pki: pki.TestPKI, tmp_path: Path, version: ssl.TLSVersion
) -> None:
    leaf, intermediate = leaf_chain(test_pki)
    server_ctx = asking_server(test_pki, tmp_path, ssl.CERT_REQUIRED)
    client_ctx = with_client_certificate(client_context(test_pki, version), test_pki)
    _, (verified, unverified) = socket_handshake(server_ctx, client_ctx)
    assert unverified == der(leaf, intermediate)
    assert verified == der(leaf, intermediate, test_pki.ca.cert)


@pytest.mark.parametrize("version", VERSIONS)
def test_server_without_a_client_certificate(
    test_pki: pki.TestPKI, tmp_path: Path, version: ssl.TLSVersion
) -> None:
    server_ctx = asking_server(test_pki, tmp_path, ssl.CERT_OPTIONAL)
    client, server = socket_handshake(server_ctx, client_context(test_pki, version))
    assert server == ([], [])
    assert len(client[0]) == 3  # the server's chain was still verified


def test_before_the_handshake_socket(test_pki: pki.TestPKI, tmp_path: Path) -> None:
    """As ssl: ``[]`` before the handshake, where getpeercert() raises ValueError."""
    a, b = socket.socketpair()
    with a, b:
        ctx = client_context(test_pki, ssl.TLSVersion.TLSv1_3)
        tls = ctx.wrap_socket(a, server_hostname="localhost", do_handshake_on_connect=False)
        assert chains(tls) == ([], [])
        with pytest.raises(ValueError, match="handshake not done yet"):
            tls.getpeercert()


# -- BIOs ----------------------------------------------------------------------------------------


def pump(src: ssl.MemoryBIO, dst: ssl.MemoryBIO) -> int:
    data = src.read()
    dst.write(data)
    return len(data)


def bio_pair(
    server_ctx: Context, client_ctx: Context
) -> tuple[TLSObject, TLSObject, list[ssl.MemoryBIO]]:
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname="localhost")
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    return client, server, [c_in, c_out, s_in, s_out]


def run_until_quiet(
    steps: tuple[Callable[[], object], ...], bios: list[ssl.MemoryBIO], rounds: int = 10
) -> None:
    """Call each step (WantReadError is fine) and move the bytes, until nothing moves."""
    c_in, c_out, s_in, s_out = bios
    for _ in range(rounds):
        for step in steps:
            with contextlib.suppress(WantReadError):
                step()
        if not pump(c_out, s_in) + pump(s_out, c_in):
            return
    raise AssertionError(f"still talking after {rounds} rounds")


def test_before_the_handshake_bio(test_pki: pki.TestPKI, tmp_path: Path) -> None:
    client, server, _ = bio_pair(
        server_context(test_pki, tmp_path), client_context(test_pki, ssl.TLSVersion.TLSv1_3)
    )
    for end in (client, server):
        assert chains(end) == ([], [])
        with pytest.raises(ValueError, match="handshake not done yet"):
            end.getpeercert()


@pytest.mark.parametrize("version", VERSIONS)
def test_bio_both_sides(test_pki: pki.TestPKI, tmp_path: Path, version: ssl.TLSVersion) -> None:
    leaf, intermediate = leaf_chain(test_pki)
    server_ctx = asking_server(test_pki, tmp_path, ssl.CERT_REQUIRED)
    client_ctx = with_client_certificate(client_context(test_pki, version), test_pki)
    client, server, bios = bio_pair(server_ctx, client_ctx)
    run_until_quiet((client.do_handshake, server.do_handshake), bios)
    expected = "TLSv1.3" if version == ssl.TLSVersion.TLSv1_3 else "TLSv1.2"
    assert client.version() == server.version() == expected
    path = der(leaf, intermediate, test_pki.ca.cert)
    assert chains(client) == (path, der(leaf, intermediate))
    assert chains(server) == (path, der(leaf, intermediate))


def test_post_handshake_client_certificate(test_pki: pki.TestPKI, tmp_path: Path) -> None:
    """RFC 8446 §4.6.2: the path of a certificate asked for after the handshake."""
    leaf, intermediate = leaf_chain(test_pki)
    server_ctx = asking_server(test_pki, tmp_path, ssl.CERT_REQUIRED)
    server_ctx.post_handshake_auth = True
    client_ctx = with_client_certificate(client_context(test_pki, ssl.TLSVersion.TLSv1_3), test_pki)
    client_ctx.post_handshake_auth = True
    client, server, bios = bio_pair(server_ctx, client_ctx)
    run_until_quiet((client.do_handshake, server.do_handshake), bios)
    assert chains(server) == ([], [])
    server.verify_client_post_handshake()
    run_until_quiet((client.read, server.read), bios)
    assert chains(server) == (der(leaf, intermediate, test_pki.ca.cert), der(leaf, intermediate))


def test_resumed_handshake_verifies_no_chain(test_pki: pki.TestPKI, tmp_path: Path) -> None:
    """A resumption has no Certificate message (RFC 8446 §2.2): nothing is verified, as in ssl;
    the unverified chain is the session's, as getpeercert() reports it."""
    leaf, intermediate = leaf_chain(test_pki)
    server_ctx = server_context(test_pki, tmp_path)
    client_ctx = client_context(test_pki, ssl.TLSVersion.TLSv1_3)
    client, server, bios = bio_pair(server_ctx, client_ctx)
    run_until_quiet((client.do_handshake, server.do_handshake), bios)
    server.write(b"tickets came first")
    run_until_quiet((client.read,), bios)
    session = client.session
    assert session is not None

    client, server, bios = bio_pair(server_ctx, client_ctx)
    client.session = session
    run_until_quiet((client.do_handshake, server.do_handshake), bios)
    assert client.session_reused
    assert chains(client) == ([], der(leaf, intermediate))


# -- the core: what a verifier returns -----------------------------------------------------------


class _Answers:
    """A verifier that accepts every chain and answers ``answer``."""

    def __init__(self, answer: object) -> None:
        self.answer = answer

    def verify_server(self, chain: Chain, server_name: str | None, now: dt.datetime) -> object:
        return self.answer

    def verify_client(self, chain: Chain, now: dt.datetime) -> object:
        return self.answer


@pytest.mark.parametrize("version", [ProtocolVersion.TLS13, ProtocolVersion.TLS12])
def test_core_keeps_what_the_verifier_returns(version: ProtocolVersion) -> None:
    """HandshakeComplete.verified_chain is the verifier's answer, never derived by the core; a
    verifier from before this answer counted (returning None, or True) reports no path."""
    certified = server_cert()
    stand_in = (certified.leaf,)
    for answer, expected in ((None, ()), (True, ()), ([*stand_in], stand_in)):
        config = ClientConfig(verifier=_Answers(answer), max_version=version)  # type: ignore[arg-type]
        client = ClientConnection(config, "localhost")
        server = ServerConnection(ServerConfig(certificates=(certified,)))
        events, _ = memory_pair.pump(client, server)
        (done,) = [e for e in events if isinstance(e, HandshakeComplete)]
        assert done.version == ("TLSv1.3" if version == ProtocolVersion.TLS13 else "TLSv1.2")
        assert done.peer_certificates == certified.chain
        assert done.verified_chain == expected
