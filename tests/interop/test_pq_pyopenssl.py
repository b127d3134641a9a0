"""ML-KEM hybrid key exchange against a real PQ-capable OpenSSL: pyOpenSSL (issue 6).

pyOpenSSL runs on the OpenSSL 4 inside the cryptography wheel, in a thread over a real loopback
socket (``pq_peers``). Both directions: our client against its server and its client against
our server; TLS 1.3 with X25519MLKEM768 by default, each hybrid (X25519MLKEM768,
SecP256r1MLKEM768, SecP384r1MLKEM1024) when both ends are restricted to it, a
HelloRetryRequest to the hybrid both ways; and ML-DSA-44/65/87 certificates (an all-ML-DSA
chain) with the hybrid, both ways. Each side's own API says which group was negotiated
(our ``HandshakeComplete.group``, pyOpenSSL's ``Connection.get_group_name()``).

Peers without ML-KEM still work: the system's ``openssl`` 3.0 (``s_server``/``s_client``), Python's
``ssl`` on it and GnuTLS 3.7 end with x25519 against our defaults, in one round trip.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator

import pytest
from peers import (
    TIMEOUT,
    client_config,
    python_tls_client,
    read_exactly,
    server_certificates,
    tool,
)
from pq_peers import (
    HYBRIDS,
    MLDSA_LEAVES,
    X25519MLKEM768,
    PQPeers,
    assert_group,
    make_mldsa_pki,
    our_group,
    our_groups,
    pyopenssl_client,
    pyopenssl_context,
    pyopenssl_version,
    set_groups,
)

from pki import TestPKI
from tlsmachine import CertifiedKey, ServerConfig
from tlsmachine.sockets import TLSSocket, connect

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

MESSAGE = b"hello post-quantum openssl"


@pytest.fixture
def pq(test_pki: TestPKI) -> Iterator[PQPeers]:
    """The PQ-capable peers of one test; every one of them is stopped at teardown."""
    registry = PQPeers(test_pki)
    try:
        yield registry
    finally:
        registry.stop_all()


def _echo(tls: TLSSocket, message: bytes = MESSAGE) -> None:
    tls.sendall(message)
    assert read_exactly(tls, len(message)) == message


def _our_server(pq: PQPeers, *groups: str) -> ServerConfig:
    """Our server with an ECDSA P-256 certificate; ``groups`` (IANA names) or our defaults."""
    certificates = server_certificates(pq, "ecdsa-p256")
    if groups:
        return ServerConfig(certificates=certificates, groups=our_groups(*groups))
    return ServerConfig(certificates=certificates)


# -- the peer itself -----------------------------------------------------------------------------


def test_pyopenssl_runs_on_openssl_4_with_the_hybrids(test_pki: TestPKI) -> None:
    version = pyopenssl_version()
    match = re.match(r"OpenSSL (\d+)\.(\d+)", version)
    assert match, version
    assert (int(match[1]), int(match[2])) >= (3, 5), f"no ML-KEM hybrids in {version}"
    assert int(match[1]) == 4, f"expected the cryptography wheel's OpenSSL 4, got {version}"
    for group in HYBRIDS:  # OpenSSL refuses a groups list with a name it does not know
        set_groups(pyopenssl_context(test_pki, server=False), [group], None)


def test_pyopenssl_client_checks_the_host_name(pq: PQPeers) -> None:
    # the harness's client really verifies: a name our certificate lacks fails the handshake
    server = pq.our_server(_our_server(pq))
    ctx = pyopenssl_context(pq.pki, server=False)
    with pytest.raises(Exception, match="certificate verify failed"):
        pyopenssl_client(ctx, server.port, message=MESSAGE, server_hostname="other.example")


# -- our client, pyOpenSSL server ----------------------------------------------------------------


def test_default_client_vs_default_server_is_x25519mlkem768(pq: PQPeers) -> None:
    server = pq.pyopenssl_server()  # OpenSSL 4's default groups: X25519MLKEM768 first
    config = client_config(pq)
    with connect(
        "127.0.0.1", server.port, config=config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert info.version == "TLSv1.3"
        assert_group(info.group, X25519MLKEM768, "our client")
        assert info.hello_retry is False  # our default ClientHello carried the hybrid share
        _echo(tls)
    assert tls.clean_close is True
    (result,) = server.join()
    assert result.error is None, result.error
    assert_group(result.group, X25519MLKEM768, "pyOpenSSL server")
    assert (result.version, result.cipher) == ("TLSv1.3", info.cipher_suite)
    assert result.received == MESSAGE
    assert result.clean_close is True


@pytest.mark.parametrize("group", HYBRIDS)
def test_client_vs_server_restricted_to_each_hybrid(pq: PQPeers, group: str) -> None:
    server = pq.pyopenssl_server(groups=[group])
    the_group = our_group(group)
    config = client_config(pq, groups=(the_group,), key_share_groups=(the_group,))
    with connect(
        "127.0.0.1", server.port, config=config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert_group(info.group, group, "our client")
        assert info.hello_retry is False
        _echo(tls)
    assert tls.clean_close is True
    (result,) = server.join()
    assert result.error is None, result.error
    assert_group(result.group, group, "pyOpenSSL server")
    assert result.received == MESSAGE


def test_client_hello_retry_to_the_hybrid(pq: PQPeers) -> None:
    # our first ClientHello shares only x25519; the server takes nothing but X25519MLKEM768
    server = pq.pyopenssl_server(groups=[X25519MLKEM768])
    config = client_config(
        pq, groups=our_groups("x25519", X25519MLKEM768), key_share_groups=our_groups("x25519")
    )
    with connect(
        "127.0.0.1", server.port, config=config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert info.hello_retry is True
        assert_group(info.group, X25519MLKEM768, "our client")
        _echo(tls)
    assert tls.clean_close is True
    (result,) = server.join()
    assert result.error is None, result.error
    assert_group(result.group, X25519MLKEM768, "pyOpenSSL server")


def test_default_client_vs_classical_only_server_is_x25519(pq: PQPeers) -> None:
    # the default ClientHello also carries an x25519 share: no HelloRetryRequest needed
    server = pq.pyopenssl_server(groups=["x25519", "secp256r1"])
    config = client_config(pq)
    with connect(
        "127.0.0.1", server.port, config=config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert_group(info.group, "x25519", "our client")
        assert info.hello_retry is False
        _echo(tls)
    (result,) = server.join()
    assert result.error is None, result.error
    assert_group(result.group, "x25519", "pyOpenSSL server")


# -- pyOpenSSL client, our server ----------------------------------------------------------------


def test_default_pyopenssl_client_vs_default_server_is_x25519mlkem768(pq: PQPeers) -> None:
    server = pq.our_server(_our_server(pq))
    ctx = pyopenssl_context(pq.pki, server=False)  # shares X25519MLKEM768 and X25519
    result = pyopenssl_client(ctx, server.port, message=MESSAGE)
    assert result.verified_host is True
    assert (result.version, result.received, result.clean_close) == ("TLSv1.3", MESSAGE, True)
    assert_group(result.group, X25519MLKEM768, "pyOpenSSL client")
    served = server.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert_group(served.info.group, X25519MLKEM768, "our server")
    assert served.info.hello_retry is False
    assert served.info.cipher_suite == result.cipher
    assert (served.received, served.clean_close) == (MESSAGE, True)


@pytest.mark.parametrize("group", HYBRIDS)
def test_pyopenssl_client_restricted_to_each_hybrid(pq: PQPeers, group: str) -> None:
    server = pq.our_server(_our_server(pq, group, "x25519"))
    ctx = pyopenssl_context(pq.pki, server=False, groups=[group])
    result = pyopenssl_client(ctx, server.port, message=MESSAGE)
    assert (result.received, result.clean_close) == (MESSAGE, True)
    assert_group(result.group, group, "pyOpenSSL client")
    served = server.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert_group(served.info.group, group, "our server")
    assert served.info.hello_retry is False


def test_server_hello_retry_to_the_hybrid(pq: PQPeers) -> None:
    # the pyOpenSSL client shares only x25519 first; our server takes only X25519MLKEM768
    server = pq.our_server(_our_server(pq, X25519MLKEM768))
    ctx = pyopenssl_context(
        pq.pki, server=False, groups=["x25519", X25519MLKEM768], key_shares=["x25519"]
    )
    result = pyopenssl_client(ctx, server.port, message=MESSAGE)
    assert (result.received, result.clean_close) == (MESSAGE, True)
    assert_group(result.group, X25519MLKEM768, "pyOpenSSL client")
    served = server.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert served.info.hello_retry is True
    assert_group(served.info.group, X25519MLKEM768, "our server")


def test_classical_pyopenssl_client_vs_default_server_is_x25519(pq: PQPeers) -> None:
    server = pq.our_server(_our_server(pq))
    ctx = pyopenssl_context(pq.pki, server=False, groups=["x25519", "secp256r1"])
    result = pyopenssl_client(ctx, server.port, message=MESSAGE)
    assert_group(result.group, "x25519", "pyOpenSSL client")
    served = server.next_connection()
    assert served.info is not None
    assert_group(served.info.group, "x25519", "our server")
    assert served.info.hello_retry is False


# -- ML-DSA certificates (draft-ietf-tls-mldsa), with the hybrid key exchange: all post-quantum --


@pytest.fixture(scope="module")
def mldsa_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPKI:
    return make_mldsa_pki(tmp_path_factory.mktemp("pq-mldsa-pki"))


@pytest.fixture
def pq_mldsa(mldsa_pki: TestPKI) -> Iterator[PQPeers]:
    registry = PQPeers(mldsa_pki)
    try:
        yield registry
    finally:
        registry.stop_all()


@pytest.mark.parametrize("leaf", MLDSA_LEAVES)
def test_client_vs_pyopenssl_server_with_mldsa_certificate(pq_mldsa: PQPeers, leaf: str) -> None:
    server = pq_mldsa.pyopenssl_server(leaf)
    with connect(
        "127.0.0.1",
        server.port,
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
    (result,) = server.join()
    assert result.error is None, result.error
    assert result.received == MESSAGE


@pytest.mark.parametrize("leaf", MLDSA_LEAVES)
def test_pyopenssl_client_vs_server_with_mldsa_certificate(pq_mldsa: PQPeers, leaf: str) -> None:
    # pyOpenSSL verifies the all-ML-DSA chain (ML-DSA-65 root) and the CertificateVerify
    config = ServerConfig(certificates=server_certificates(pq_mldsa, leaf))
    server = pq_mldsa.our_server(config)
    ctx = pyopenssl_context(pq_mldsa.pki, server=False)
    result = pyopenssl_client(ctx, server.port, message=MESSAGE)
    assert (result.received, result.clean_close) == (MESSAGE, True)
    assert_group(result.group, X25519MLKEM768, "pyOpenSSL client")
    served = server.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert served.info.signature_scheme == leaf


# -- peers without ML-KEM still work (x25519 chosen, one round trip) -----------------------------


def system_openssl_version() -> tuple[int, int]:
    out = subprocess.run(
        [tool("openssl"), "version"], capture_output=True, text=True, timeout=TIMEOUT, check=True
    ).stdout
    match = re.match(r"OpenSSL (\d+)\.(\d+)", out)
    assert match, out
    return int(match[1]), int(match[2])


def test_system_openssl_is_an_old_peer_without_ml_kem() -> None:
    # what the tests below stand for: an OpenSSL that knows no ML-KEM (3.5 added the hybrids)
    assert system_openssl_version() < (3, 5)


def test_default_client_vs_openssl_3_0_s_server_is_x25519(pq: PQPeers) -> None:
    server, port = pq.openssl_server("ecdsa-p256", mode="-rev")  # its default groups
    with connect(
        "127.0.0.1", port, config=client_config(pq), server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert_group(info.group, "x25519", "our client")
        assert info.hello_retry is False  # s_server passed over the unknown 0x11EC share
        tls.sendall(b"old peer\n")
        assert read_exactly(tls, 9) == b"reep dlo\n"
    assert tls.clean_close is True
    assert server.wait() == 0


def test_openssl_3_0_s_client_vs_default_server_is_x25519(pq: PQPeers) -> None:
    server = pq.our_server(_our_server(pq))
    client = pq.openssl_client(server.port, extra=())
    client.wait_for(r"Server Temp Key: X25519")
    client.write(b"from s_client\n")
    client.wait_for(r"(?s)Verify return code: 0 \(ok\).*from s_client")  # our echo
    client.close_stdin()  # s_client sends close_notify and exits
    assert client.wait() == 0, client.describe()
    served = server.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert_group(served.info.group, "x25519", "our server")
    assert served.info.hello_retry is False
    assert served.received == b"from s_client\n"


def test_python_ssl_client_vs_default_server_is_x25519(pq: PQPeers) -> None:
    server = pq.our_server(_our_server(pq))
    result = python_tls_client(server.port, pq.pki.ca_path, message=b"stdlib ssl")
    assert (result.version, result.received, result.clean_close) == ("TLSv1.3", b"stdlib ssl", True)
    served = server.next_connection()
    assert served.info is not None
    assert_group(served.info.group, "x25519", "our server")
    assert served.info.hello_retry is False


def test_default_client_vs_gnutls_3_7_is_x25519(pq: PQPeers) -> None:
    _, port = pq.gnutls_server("ecdsa-p256")
    with connect(
        "127.0.0.1", port, config=client_config(pq), server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert_group(info.group, "x25519", "our client")
        assert info.hello_retry is False
        _echo(tls, b"gnutls echo\n")
    assert tls.clean_close is True


def test_gnutls_3_7_client_vs_default_server_is_x25519(pq: PQPeers) -> None:
    server = pq.our_server(_our_server(pq))
    client = pq.gnutls_client(server.port)
    client.wait_for(r"- Handshake was completed")
    client.write(b"from gnutls\n")
    client.wait_for(r"from gnutls")  # our echo
    client.close_stdin()
    client.wait_for(r"- Peer has closed the GnuTLS connection")
    assert client.wait() == 0, client.describe()
    assert "(ECDHE-X25519)" in client.output, client.describe()
    served = server.next_connection()
    assert served.info is not None
    assert_group(served.info.group, "x25519", "our server")
    assert served.info.hello_retry is False


def test_server_with_mldsa_and_ecdsa_chains_serves_ecdsa_to_old_peers(pq: PQPeers) -> None:
    """A server that also holds an ML-DSA chain skips it cleanly for peers that do not offer
    ML-DSA (RFC 8446 §4.4.2.2): OpenSSL 3.0's s_client and Python's ssl get the ECDSA chain."""
    mldsa = CertifiedKey.self_signed(("localhost",), "mldsa65")
    config = ServerConfig(certificates=(mldsa, *server_certificates(pq, "ecdsa-p256")))
    server = pq.our_server(config)
    client = pq.openssl_client(server.port, extra=())
    client.wait_for(r"Peer signature type: ECDSA")
    client.write(b"old peer\n")
    client.wait_for(r"(?s)Verify return code: 0 \(ok\).*old peer")
    client.close_stdin()
    assert client.wait() == 0, client.describe()
    served = server.next_connection()
    assert served.info is not None and served.error is None, served.error
    assert served.info.signature_scheme == "ecdsa_secp256r1_sha256"
    result = python_tls_client(server.port, pq.pki.ca_path, message=b"stdlib ssl")
    assert (result.version, result.received) == ("TLSv1.3", b"stdlib ssl")
    served = server.next_connection()
    assert served.info is not None
    assert served.info.signature_scheme == "ecdsa_secp256r1_sha256"
