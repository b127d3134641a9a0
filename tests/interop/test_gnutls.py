"""Interop with GnuTLS's command-line peers: ``gnutls-serv`` and ``gnutls-cli``.

Both directions, RSA and ECDSA certificates, x25519 / secp256r1 / secp384r1, the three default
TLS 1.3 suites, HelloRetryRequest both ways, ALPN, KeyUpdate both ways, data both ways and a clean
close. The peers must be installed (``make peers``): a missing peer fails, it does not skip.
"""

from __future__ import annotations

import re
import time

import pytest
from peers import TIMEOUT, Peers, client_config, gnutls_priority, read_exactly, server_certificates

from tlsmachine import ServerConfig
from tlsmachine.crypto.groups import SECP256R1, SECP384R1, X25519, group_by_id
from tlsmachine.enums import NamedGroup
from tlsmachine.sockets import TLSSocket, connect, serve

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

GROUP_IDS = {
    "x25519": NamedGroup.X25519,
    "secp256r1": NamedGroup.SECP256R1,
    "secp384r1": NamedGroup.SECP384R1,
}
GNUTLS_KX = {"x25519": "ECDHE-X25519", "secp256r1": "ECDHE-SECP256R1"}
GNUTLS_KX["secp384r1"] = "ECDHE-SECP384R1"
GNUTLS_SIGN = {
    "rsa-2048": ("RSA-PSS-RSAE-SHA256", "rsa_pss_rsae_sha256"),
    "ecdsa-p256": ("ECDSA-SECP256R1-SHA256", "ecdsa_secp256r1_sha256"),
    "ecdsa-p384": ("ECDSA-SECP384R1-SHA384", "ecdsa_secp384r1_sha384"),
}
GNUTLS_CIPHER = {
    "TLS_AES_128_GCM_SHA256": "AES-128-GCM",
    "TLS_AES_256_GCM_SHA384": "AES-256-GCM",
    "TLS_CHACHA20_POLY1305_SHA256": "CHACHA20-POLY1305",
}
CASES = [
    # (certificate, group, cipher suite)
    ("rsa-2048", "x25519", "TLS_AES_256_GCM_SHA384"),
    ("ecdsa-p256", "secp256r1", "TLS_CHACHA20_POLY1305_SHA256"),
    ("ecdsa-p384", "secp384r1", "TLS_AES_128_GCM_SHA256"),
]


def description(leaf: str, group: str, suite: str) -> str:
    """The line GnuTLS prints for a session, e.g. ``(TLS1.3-X.509)-(ECDHE-X25519)-...``."""
    sign = GNUTLS_SIGN[leaf][0]
    return f"- Description: (TLS1.3-X.509)-({GNUTLS_KX[group]})-({sign})-({GNUTLS_CIPHER[suite]})"


def restricted(group: str, suite: str, sign: str | None = None) -> str:
    extra = f":-CIPHER-ALL:+{GNUTLS_CIPHER[suite]}"
    if sign:
        extra += f":-SIGN-ALL:+SIGN-{sign}"
    return gnutls_priority([group], extra)


# -- our client, gnutls-serv ----------------------------------------------------------------------


@pytest.mark.parametrize(("leaf", "group", "suite"), CASES)
def test_client_vs_gnutls_serv(peers: Peers, leaf: str, group: str, suite: str) -> None:
    server, port = peers.gnutls_server(leaf, mode="--echo", priority=restricted(group, suite))
    the_group = group_by_id(GROUP_IDS[group])
    config = client_config(peers, key_share_groups=(the_group,))
    with connect(
        "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.version, info.cipher_suite, info.group) == ("TLSv1.3", suite, group)
        assert info.signature_scheme == GNUTLS_SIGN[leaf][1]
        assert info.hello_retry is False
        assert info.peer_certificates[0] == peers.pki.leaves[leaf].cert
        # gnutls-serv --echo answers line by line: ~26 KB in 200 lines, several records
        payload = b"".join(b"%03d hello gnutls %s\n" % (i, b"x" * 110) for i in range(200))
        tls.sendall(payload)
        assert read_exactly(tls, len(payload)) == payload
    assert tls.clean_close is True  # gnutls-serv answered our close_notify
    server.wait_for(re.escape(description(leaf, group, suite)))


def test_client_hello_retry_request_from_gnutls_serv(peers: Peers) -> None:
    # our first ClientHello has only an x25519 share; gnutls-serv accepts only P-384
    server, port = peers.gnutls_server("ecdsa-p256", priority=gnutls_priority(["secp384r1"]))
    with connect(
        "127.0.0.1", port, config=client_config(peers), server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert info.hello_retry is True
        assert info.group == "secp384r1"
        tls.sendall(b"after retry\n")
        assert read_exactly(tls, 12) == b"after retry\n"
    assert tls.clean_close is True
    server.wait_for(r"ECDHE-SECP384R1")


def test_client_http_with_alpn(peers: Peers) -> None:
    server, port = peers.gnutls_server("rsa-2048", mode="--http", alpn=["h2", "http/1.1"])
    config = client_config(peers, alpn_protocols=("http/1.1",))
    with connect(
        "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        info = tls.handshake_info
        assert info is not None
        assert info.alpn_protocol == "http/1.1"
        tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
        page = b""
        while chunk := tls.recv():
            page += chunk
    assert tls.clean_close is True  # gnutls-serv --http ends with close_notify
    assert page.startswith(b"HTTP/1.0 200 OK")
    assert b"GnuTLS" in page
    server.wait_for(r"- Application protocol: http/1\.1")


def test_client_key_update_with_gnutls_serv(peers: Peers) -> None:
    _, port = peers.gnutls_server("ecdsa-p256")
    with connect(
        "127.0.0.1", port, config=client_config(peers), server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        for i, request in enumerate((True, False, True)):
            tls.key_update(request_peer=request)
            tls.sendall(b"message %d\n" % i)
            assert read_exactly(tls, 10) == b"message %d\n" % i
    assert tls.clean_close is True


# -- gnutls-cli, our server -----------------------------------------------------------------------


def gnutls_cli_round_trip(peers: Peers, port: int, **kwargs: object) -> str:
    """Echo two lines through our server, then end stdin: gnutls-cli sends close_notify and
    waits for ours."""
    client = peers.gnutls_client(port, **kwargs)  # type: ignore[arg-type]
    client.wait_for(r"- Handshake was completed")
    for line in (b"ping one\n", b"ping two\n"):
        client.write(line)
        client.wait_for(re.escape(line.decode()))
    client.close_stdin()
    client.wait_for(r"- Peer has closed the GnuTLS connection")
    assert client.wait() == 0, client.describe()
    return client.output


@pytest.mark.parametrize(("leaf", "group", "suite"), CASES)
def test_gnutls_cli_vs_server(peers: Peers, leaf: str, group: str, suite: str) -> None:
    # all three chains loaded: the server picks by the client's signature_algorithms
    certificates = server_certificates(peers, "rsa-2048", "ecdsa-p256", "ecdsa-p384")
    ours = peers.our_server(ServerConfig(certificates=certificates))
    priority = restricted(group, suite, sign=GNUTLS_SIGN[leaf][0])
    output = gnutls_cli_round_trip(peers, ours.port, priority=priority)
    assert description(leaf, group, suite) in output
    assert "- Status: The certificate is trusted." in output
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert (served.info.cipher_suite, served.info.group) == (suite, group)
    assert served.info.signature_scheme == GNUTLS_SIGN[leaf][1]
    assert served.info.hello_retry is False
    assert served.received == b"ping one\nping two\n"
    assert served.clean_close is True


def test_server_sends_hello_retry_request_to_gnutls_cli(peers: Peers) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"),
        groups=(SECP384R1, X25519, SECP256R1),
        strict_group_preference=True,  # gnutls-cli sends x25519 first; we want secp384r1
    )
    ours = peers.our_server(config)
    output = gnutls_cli_round_trip(peers, ours.port, extra=("--single-key-share",))
    assert "(ECDHE-SECP384R1)" in output
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert served.info.hello_retry is True
    assert served.info.group == "secp384r1"
    assert served.clean_close is True


def test_server_alpn_and_key_update_from_gnutls_cli(peers: Peers) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "rsa-2048"), alpn_protocols=("h2", "http/1.1")
    )
    ours = peers.our_server(config)
    client = peers.gnutls_client(ours.port, alpn=["h2"], extra=("--inline-commands",))
    client.wait_for(r"- Handshake was completed")
    assert "- Application protocol: h2" in client.output
    client.write(b"before\n")
    client.wait_for(r"before")
    client.write(b"^rekey^\n")  # KeyUpdate with update_requested: we must update ours too
    client.wait_for(r"- Rekey was completed")
    client.write(b"after\n")
    client.wait_for(r"after")
    client.close_stdin()
    client.wait_for(r"- Peer has closed the GnuTLS connection")
    assert client.wait() == 0, client.describe()
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert served.info.alpn_protocol == "h2"
    assert served.received == b"before\nafter\n"
    assert served.clean_close is True


def test_server_answers_a_half_closing_gnutls_cli(peers: Peers) -> None:
    """``printf 'GET ...' | gnutls-cli`` sends the request and then close_notify (a half-close,
    RFC 8446 §6.1); the server must still be able to send its answer."""

    def answer_later(tls: TLSSocket) -> None:
        time.sleep(0.5)  # request and close_notify are both queued by now: one read sees both
        request = tls.recv()
        tls.sendall(b"HTTP/1.0 200 ok\r\n\r\nyou sent " + request)

    config = ServerConfig(certificates=server_certificates(peers, "ecdsa-p256"))
    server = serve(config, answer_later, timeout=TIMEOUT)
    try:
        client = peers.gnutls_client(server.address[1])
        client.write(b"GET / HTTP/1.0\r\n\r\n")
        client.close_stdin()
        assert client.wait() == 0, client.describe()
        assert b"HTTP/1.0 200 ok" in client.stdout, client.describe()
    finally:
        server.shutdown()
