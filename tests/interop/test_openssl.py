"""Interop with OpenSSL's command-line peers: ``openssl s_server`` and ``openssl s_client``.

Both directions, RSA and ECDSA certificates, x25519 / secp256r1 / secp384r1, each TLS 1.3 suite,
HelloRetryRequest both ways, ALPN, KeyUpdate both ways, data both ways and a clean close.
"""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from peers import (
    TIMEOUT,
    PeerProcess,
    Peers,
    client_config,
    read_exactly,
    server_certificates,
    tool,
)

from tlsmachine import ClientConfig, ServerConfig
from tlsmachine.crypto.groups import SECP256R1, SECP384R1, X25519, group_by_id
from tlsmachine.crypto.suites import TLS13_SUITES
from tlsmachine.enums import NamedGroup
from tlsmachine.errors import UnknownCA
from tlsmachine.sockets import connect

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

GROUP_IDS = {"x25519": NamedGroup.X25519, "secp256r1": NamedGroup.SECP256R1}
GROUP_IDS["secp384r1"] = NamedGroup.SECP384R1
SCHEME_FOR_LEAF = {
    "rsa-2048": "rsa_pss_rsae_sha256",
    "ecdsa-p256": "ecdsa_secp256r1_sha256",
    "ecdsa-p384": "ecdsa_secp384r1_sha384",
}
OPENSSL_TEMP_KEY = {
    "x25519": "X25519, 253 bits",
    "secp256r1": "ECDH, prime256v1, 256 bits",
    "secp384r1": "ECDH, secp384r1, 384 bits",
}
SUITE_CASES = [
    # (certificate, group, cipher suite): every suite once, RSA and ECDSA, three groups
    ("rsa-2048", "x25519", "TLS_AES_128_GCM_SHA256"),
    ("ecdsa-p256", "secp256r1", "TLS_AES_256_GCM_SHA384"),
    ("ecdsa-p384", "secp384r1", "TLS_CHACHA20_POLY1305_SHA256"),
]


def only_group(name: str) -> dict[str, object]:
    group = group_by_id(GROUP_IDS[name])
    return {"groups": (group,), "key_share_groups": (group,)}


# -- our client, openssl s_server -----------------------------------------------------------------


@pytest.mark.parametrize(("leaf", "group", "suite"), SUITE_CASES)
def test_client_vs_s_server(peers: Peers, leaf: str, group: str, suite: str) -> None:
    server, port = peers.openssl_server(leaf, mode="-rev", groups=[group], ciphersuites=[suite])
    config = client_config(peers, **only_group(group))
    with connect(
        "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.version, info.cipher_suite, info.group) == ("TLSv1.3", suite, group)
        assert info.signature_scheme == SCHEME_FOR_LEAF[leaf]
        assert info.hello_retry is False
        assert info.peer_certificates[0] == peers.pki.leaves[leaf].cert
        tls.sendall(b"hello openssl\n")
        assert read_exactly(tls, 14) == b"lssnepo olleh\n"
    assert tls.clean_close is True  # s_server answered our close_notify
    assert server.wait() == 0
    server.wait_for(rf"Ciphersuite: {suite}")
    server.wait_for(r"CONNECTION CLOSED")


def test_client_hello_retry_request_from_s_server(peers: Peers) -> None:
    # our first ClientHello carries only an x25519 share; s_server accepts only P-256
    server, port = peers.openssl_server("rsa-2048", mode="-rev", groups=["secp256r1"])
    with connect(
        "127.0.0.1", port, config=client_config(peers), server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert info.hello_retry is True
        assert info.group == "secp256r1"
        tls.sendall(b"retry\n")
        assert read_exactly(tls, 6) == b"yrter\n"
    assert tls.clean_close is True
    assert server.wait() == 0


def test_client_www_with_alpn(peers: Peers) -> None:
    server, port = peers.openssl_server("ecdsa-p256", mode="-www", alpn=["h2", "http/1.1"])
    config = client_config(peers, alpn_protocols=("http/1.1", "h2"))
    tls = connect("127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT)
    with tls:
        info = tls.handshake_info
        assert info is not None
        assert info.alpn_protocol == "h2"  # the server's preference wins (RFC 7301 §3.2)
        tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
        page = b""
        while chunk := tls.recv():
            page += chunk
    assert tls.clean_close is True  # s_server -www ends with close_notify
    text = page.decode("utf-8", "replace")
    assert text.startswith("HTTP/1.0 200 ok")
    assert f"TLSv1.3, Cipher is {info.cipher_suite}" in text
    assert server.wait() == 0


def test_client_key_update_and_bulk_data(peers: Peers) -> None:
    server, port = peers.openssl_server("ecdsa-p256", mode="-rev")
    lines = [b"%05d abcdefghijklmnopqrstuvwxyz0123456789\n" % i for i in range(3000)]
    expected = b"".join(line[:-1][::-1] + b"\n" for line in lines)
    with connect(
        "127.0.0.1", port, config=client_config(peers), server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        tls.key_update(request_peer=True)  # s_server must answer with its own KeyUpdate
        tls.sendall(b"".join(lines))  # ~140 KB: many full-size records
        assert read_exactly(tls, len(expected)) == expected
        tls.key_update(request_peer=False)
        tls.sendall(b"after update\n")
        assert read_exactly(tls, 13) == b"etadpu retfa\n"
    assert tls.clean_close is True
    assert server.wait() == 0


# -- openssl s_client, our server -----------------------------------------------------------------


def s_client_round_trip(peers: Peers, port: int, brief: bool = True, **kwargs: object) -> str:
    """Run s_client (-brief: a summary on stderr, only data on stdout), echo two lines through
    our server, then end stdin: s_client sends close_notify and exits."""
    extra = ("-brief",) if brief else ()
    client = peers.openssl_client(port, extra=extra, **kwargs)  # type: ignore[arg-type]
    client.wait_for(r"CONNECTION ESTABLISHED" if brief else r"Verify return code: 0 \(ok\)")
    for line in (b"ping one\n", b"ping two\n"):
        client.write(line)
        client.wait_for(re.escape(line.decode()))
    client.close_stdin()
    assert client.wait() == 0, client.describe()
    assert client.stdout.endswith(b"ping one\nping two\n"), client.describe()
    if brief:
        assert client.stdout == b"ping one\nping two\n", client.describe()
    return client.output


@pytest.mark.parametrize(("leaf", "group", "suite"), SUITE_CASES)
def test_s_client_vs_server(peers: Peers, leaf: str, group: str, suite: str) -> None:
    sigalg = {"rsa-2048": "RSA-PSS+SHA256", "ecdsa-p256": "ECDSA+SHA256"}.get(leaf, "ECDSA+SHA384")
    # all three chains loaded: the server picks by the client's signature_algorithms
    certificates = server_certificates(peers, "rsa-2048", "ecdsa-p256", "ecdsa-p384")
    suites = tuple(s for s in TLS13_SUITES if s.name == suite)
    ours = peers.our_server(ServerConfig(certificates=certificates, cipher_suites=suites))
    output = s_client_round_trip(
        peers, ours.port, groups=[group], ciphersuites=[suite], sigalgs=sigalg
    )
    assert "Protocol version: TLSv1.3" in output
    assert f"Ciphersuite: {suite}" in output
    assert f"Server Temp Key: {OPENSSL_TEMP_KEY[group]}" in output
    assert "Verification: OK" in output
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert (served.info.cipher_suite, served.info.group) == (suite, group)
    assert served.info.hello_retry is False
    assert served.info.server_name == "localhost"
    assert served.received == b"ping one\nping two\n"
    assert served.clean_close is True


@pytest.mark.parametrize("strict", [True, False], ids=["preferred-group", "missing-share"])
def test_server_sends_hello_retry_request_to_s_client(peers: Peers, strict: bool) -> None:
    # s_client sends an x25519 share: strict, we insist on our first choice, secp384r1;
    # otherwise we do not support x25519 at all
    groups = (SECP384R1, X25519, SECP256R1) if strict else (SECP384R1,)
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"),
        groups=groups,
        strict_group_preference=strict,
    )
    ours = peers.our_server(config)
    output = s_client_round_trip(peers, ours.port, groups=["x25519", "secp384r1"])
    assert f"Server Temp Key: {OPENSSL_TEMP_KEY['secp384r1']}" in output
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert served.info.hello_retry is True
    assert served.info.group == "secp384r1"
    assert served.clean_close is True


def test_server_alpn_with_s_client(peers: Peers) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"), alpn_protocols=("h2", "http/1.1")
    )
    ours = peers.our_server(config)
    output = s_client_round_trip(peers, ours.port, brief=False, alpn=["http/1.1"])
    assert "ALPN protocol: http/1.1" in output
    assert "New, TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256" in output
    served = ours.next_connection()
    assert served.info is not None
    assert served.info.alpn_protocol == "http/1.1"


def test_server_answers_key_update_from_s_client(peers: Peers) -> None:
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "rsa-2048")))
    client = peers.openssl_client(ours.port, extra=("-brief",))
    client.wait_for(r"CONNECTION ESTABLISHED")
    client.write(b"k\n")  # s_client command: KeyUpdate with update_requested
    client.wait_for(r"KEYUPDATE")
    client.write(b"after update\n")  # our answer switched our keys: s_client must follow
    client.wait_for(r"after update")
    client.close_stdin()
    assert client.wait() == 0, client.describe()
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.received == b"after update\n"
    assert served.clean_close is True


@pytest.mark.parametrize(
    ("sigalg", "signature"), [("RSA-PSS+SHA256", "RSA-PSS"), ("ECDSA+SHA256", "ECDSA")]
)
def test_cli_server_with_two_chains(peers: Peers, sigalg: str, signature: str) -> None:
    rsa, ecdsa = peers.pki.leaves["rsa-2048"], peers.pki.leaves["ecdsa-p256"]
    argv = [sys.executable, "-m", "tlsmachine", "server", "--port", "0", "--echo"]
    argv += ["--cert", str(rsa.chain_path), "--key", str(rsa.key_path)]
    argv += ["--cert", str(ecdsa.chain_path), "--key", str(ecdsa.key_path)]
    server = peers.start(argv, "tlsmachine server")
    port = int(server.wait_for(r"listening on 127\.0\.0\.1:(\d+)").group(1))
    output = s_client_round_trip(peers, port, sigalgs=sigalg)
    assert f"Signature type: {signature}" in output
    server.wait_for(r"closed cleanly")


# -- chains with an intermediate CA ---------------------------------------------------------------


def test_client_verifies_an_intermediate_chain_from_s_server(chained_peers: Peers) -> None:
    server, port = chained_peers.openssl_server("rsa-2048", mode="-rev")
    config = client_config(chained_peers)
    with connect(
        "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert len(info.peer_certificates) == 2  # leaf + intermediate, verified up to the root
        assert info.peer_certificates[1] == chained_peers.pki.leaves["rsa-2048"].chain[1]
        tls.sendall(b"chain\n")
        assert read_exactly(tls, 6) == b"niahc\n"
    assert tls.clean_close is True
    assert server.wait() == 0


def test_s_client_verifies_our_intermediate_chain(chained_peers: Peers) -> None:
    config = ServerConfig(certificates=server_certificates(chained_peers, "ecdsa-p256"))
    ours = chained_peers.our_server(config)
    output = s_client_round_trip(chained_peers, ours.port)
    assert "Verification: OK" in output
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.clean_close is True


# -- certificates as people make them with the openssl command ------------------------------------

_EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")


def _openssl(*argv: str) -> None:
    subprocess.run([tool("openssl"), *argv], check=True, capture_output=True, timeout=TIMEOUT)


def _reversing_s_server(
    peers: Peers, cert: Path, key: Path, connections: int = 1
) -> tuple[PeerProcess, int]:
    """openssl s_server with ``cert``, echoing lines reversed; it and its port."""
    server = peers.start(
        [tool("openssl"), "s_server", "-accept", "127.0.0.1:0", "-cert", str(cert),
         "-key", str(key), "-naccept", str(connections), "-rev"],
        "openssl s_server",
    )  # fmt: skip
    return server, int(server.wait_for(r"ACCEPT 127\.0\.0\.1:(\d+)").group(1))


def _req_x509_localhost(directory: Path) -> tuple[Path, Path]:
    """``openssl req -x509``'s self-signed certificate for localhost (cA=TRUE) and its key."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    _openssl("req", "-x509", *_EC_KEY, "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost",
             "-keyout", str(key), "-out", str(cert))  # fmt: skip
    return cert, key


def _round_trip_with_s_server(peers: Peers, cert: Path, key: Path, cafile: Path) -> None:
    """openssl s_server with ``cert``; our client, trusting ``cafile``, talks to it."""
    server, port = _reversing_s_server(peers, cert, key)
    config = ClientConfig(cafile=str(cafile))
    with connect(
        "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        info = tls.handshake_info
        assert info is not None and info.version == "TLSv1.3"
        tls.sendall(b"private pki\n")
        assert read_exactly(tls, 12) == b"ikp etavirp\n"
    assert server.wait() == 0


def test_client_trusts_an_openssl_req_x509_certificate_as_itself(
    peers: Peers, tmp_path: Path
) -> None:
    """The usual test server: ``openssl req -x509`` makes a self-signed certificate marked
    cA=TRUE, and the client trusts exactly that certificate. OpenSSL's own clients accept it;
    so do we (DefaultVerifier: a leaf that is itself a trust anchor)."""
    cert, key = _req_x509_localhost(tmp_path)
    _round_trip_with_s_server(peers, cert, key, cafile=cert)


def test_untrusted_openssl_req_x509_certificate_is_unknown_ca_as_ssl_says(
    peers: Peers, tmp_path: Path
) -> None:
    """The same server certificate, not trusted: both ssl and we fail it as self-signed
    (X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, 18), and our client sends unknown_ca. Its cA=TRUE
    does not matter, the missing trust does: the message says how to trust it."""
    cert, key = _req_x509_localhost(tmp_path)
    other, other_key = tmp_path / "other.pem", tmp_path / "other.key"
    _openssl("req", "-x509", *_EC_KEY, "-days", "2", "-subj", "/CN=other CA",
             "-keyout", str(other_key), "-out", str(other))  # fmt: skip
    server, port = _reversing_s_server(peers, cert, key, connections=2)
    context = ssl.create_default_context(cafile=str(other))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
        pytest.raises(ssl.SSLCertVerificationError) as stdlib_error,
    ):
        context.wrap_socket(raw, server_hostname="localhost")
    with pytest.raises(UnknownCA, match="'localhost' is self-signed and not trusted") as ours:
        connect(
            "127.0.0.1", port, config=ClientConfig(cafile=str(other)),
            server_hostname="localhost", timeout=TIMEOUT,
        )  # fmt: skip
    assert ours.value.verify_code == stdlib_error.value.verify_code == 18
    server.wait_for(r"alert unknown ca|alert number 48")


def test_client_trusts_a_private_ca_made_with_openssl(peers: Peers, tmp_path: Path) -> None:
    """The usual private CA: ``openssl req -x509`` (no keyUsage with OpenSSL 3.0) signs the
    server's certificate with ``openssl x509 -req``. OpenSSL accepts the chain; so do we
    (DefaultVerifier: RFC 5280 checks a CA's keyUsage only when it has one)."""
    ca, ca_key = tmp_path / "ca.pem", tmp_path / "ca.key"
    cert, key, csr = tmp_path / "srv.pem", tmp_path / "srv.key", tmp_path / "srv.csr"
    _openssl("req", "-x509", *_EC_KEY, "-days", "2", "-subj", "/CN=Private CA",
             "-keyout", str(ca_key), "-out", str(ca))  # fmt: skip
    _openssl("req", *_EC_KEY, "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(csr))
    (tmp_path / "ext.cnf").write_text("subjectAltName=DNS:localhost\n")
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
             "-CAcreateserial", "-days", "2", "-extfile", str(tmp_path / "ext.cnf"),
             "-out", str(cert))  # fmt: skip
    _round_trip_with_s_server(peers, cert, key, cafile=ca)
