"""External PSKs with OpenSSL (RFC 8446 §2.2, §4.2.11): certificate-less, both directions.

OpenSSL's ``-psk`` for TLS 1.3 provisions the key with SHA-256 (TLS_AES_128_GCM_SHA256).
``-allow_no_dhe_kex`` lets it use psk_ke (no (EC)DHE, RFC 8446 §4.2.9).
"""

from __future__ import annotations

import pytest
from peers import TIMEOUT, Peers, read_exactly, tool

from tlsmachine import ClientConfig, ServerConfig
from tlsmachine.enums import PskKeyExchangeMode
from tlsmachine.session import ExternalPsk
from tlsmachine.sockets import connect

pytestmark = pytest.mark.interop

KEY = bytes(range(32))
PSK = ExternalPsk(identity=b"tlsmachine-test", key=KEY)
DHE, KE = PskKeyExchangeMode.PSK_DHE_KE, PskKeyExchangeMode.PSK_KE


def _s_server(peers: Peers, *extra: str) -> int:
    argv = [tool("openssl"), "s_server", "-accept", "127.0.0.1:0", "-tls1_3", "-naccept", "1"]
    argv += ["-nocert", "-psk", KEY.hex(), "-psk_identity", PSK.identity.decode(), "-rev"]
    server = peers.start([*argv, *extra], "openssl s_server")
    return int(server.wait_for(r"ACCEPT 127\.0\.0\.1:(\d+)").group(1))


@pytest.mark.parametrize(
    ("modes", "extra", "group"),
    [((DHE,), (), "x25519"), ((KE,), ("-allow_no_dhe_kex",), None)],
    ids=["psk_dhe_ke", "psk_ke"],
)
def test_our_client_with_an_external_psk_against_s_server(
    peers: Peers, modes: tuple[PskKeyExchangeMode, ...], extra: tuple[str, ...], group: str | None
) -> None:
    port = _s_server(peers, *extra)
    # Verification stays on: a certificate would have to verify, but none is sent.
    config = ClientConfig(external_psks=(PSK,), psk_modes=modes, cafile=str(peers.pki.ca_path))
    with connect(
        "127.0.0.1", port, config=config, server_hostname="localhost", timeout=TIMEOUT
    ) as tls:
        tls.sendall(b"psk\n")
        assert read_exactly(tls, 4) == b"ksp\n"
        info = tls.handshake_info
        assert info is not None and info.psk_identity == PSK.identity
        assert info.group == group and info.peer_certificates == ()


@pytest.mark.parametrize(
    ("modes", "extra"),
    [((DHE,), ()), ((KE,), ("-allow_no_dhe_kex",))],
    ids=["psk_dhe_ke", "psk_ke"],
)
def test_s_client_with_an_external_psk_against_our_server(
    peers: Peers, modes: tuple[PskKeyExchangeMode, ...], extra: tuple[str, ...]
) -> None:
    ours = peers.our_server(ServerConfig(external_psks=(PSK,), psk_modes=modes))
    argv = [tool("openssl"), "s_client", "-connect", f"127.0.0.1:{ours.port}", "-tls1_3"]
    argv += ["-psk", KEY.hex(), "-psk_identity", PSK.identity.decode(), *extra]
    client = peers.start(argv, "openssl s_client")
    client.wait_for("Cipher is TLS_AES_128_GCM_SHA256")
    client.write(b"over psk\n")
    client.wait_for("over psk")
    client.close_stdin()
    assert client.wait() == 0, client.describe()
    served = ours.next_connection()
    assert served.info is not None and served.info.psk_identity == PSK.identity
    assert served.info.group == (None if modes == (KE,) else "x25519")
    assert served.received == b"over psk\n"


def test_s_client_with_an_unknown_psk_gets_a_certificate_handshake(peers: Peers) -> None:
    from peers import server_certificates

    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"),
        external_psks=(ExternalPsk(identity=b"someone-else", key=bytes(32)),),
    )
    ours = peers.our_server(config)
    argv = [tool("openssl"), "s_client", "-connect", f"127.0.0.1:{ours.port}", "-tls1_3"]
    argv += ["-psk", KEY.hex(), "-psk_identity", PSK.identity.decode()]
    argv += ["-CAfile", str(peers.pki.ca_path), "-servername", "localhost"]
    client = peers.start(argv, "openssl s_client")
    client.wait_for(r"Verify return code: 0 \(ok\)")
    client.close_stdin()
    assert client.wait() == 0, client.describe()
    served = ours.next_connection()
    assert served.info is not None and served.info.psk_identity is None
    assert served.info.signature_scheme is not None
