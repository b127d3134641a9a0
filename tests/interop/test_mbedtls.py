"""Interop with Mbed TLS 2.28 (Arm's embedded TLS stack, the system's ``libmbedtls``), both
directions, over 127.0.0.1.

Mbed TLS runs in its own process: ``mbedtls_peer/peer.c``, a small C program built once per
session (``mbedtls_peer.py``), prints one JSON record per connection with what Mbed TLS
negotiated (version, suite, resumption, ALPN, the peer's certificate, 32 bytes of RFC 5705
keying material derived from the master secret it reports), the bytes it received and whether
the close was clean. So each test checks both ends' view of the same connection, and the
exporter shows that both derived the same master secret (with the extended master secret of
RFC 7627 on both sides by default).

What Mbed TLS 2.28 brings (found while writing these tests):

* TLS 1.2 only: Debian builds it without ``MBEDTLS_SSL_PROTO_TLS1_3_EXPERIMENTAL``, so the
  peer refuses ``--max-version tls1.3`` and our 1.3-capable ends must settle on TLS 1.2;
* no RSA-PSS in TLS 1.2: its signature_algorithms offer PKCS#1 v1.5 and ECDSA only, so RSA
  servers sign with ``rsa_pkcs1_*`` either way;
* no RFC 7919 negotiation: a DHE server sends the parameters it was given (the peer passes
  ffdhe2048 or the RFC 3526 MODP group), a DHE client offers no ffdhe groups.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from mbedtls_peer import (
    EXPORTER_LABEL,
    build_mbedtls_peer,
    mbedtls_client,
    mbedtls_server,
    ok,
)
from peers import (
    Peers,
    cert_options,
    client_config,
    dial,
    read_exactly,
    server_certificates,
    server_records,
)
from peers import json_records as records
from tls12_peers import cached_sessions, group, suite12

from tlsmachine import (
    AlertReceived,
    CertifiedKey,
    InMemoryClientSessionStore,
    ServerConfig,
)
from tlsmachine.crypto.dh_primes import FFDHE2048_PRIME, MODP2048_PRIME
from tlsmachine.enums import AlertDescription, ProtocolVersion, SignatureScheme
from tlsmachine.errors import HandshakeFailure, ProtocolVersionError, TLSError, UsageError
from tlsmachine.events import Event, HandshakeMessageTraced
from tlsmachine.sockets import TLSSocket

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

NO_CLIENT_CERTIFICATE = -0x7480  # MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE
WAITING_SERVER_HELLO_RENEGO = -0x6B00  # MBEDTLS_ERR_SSL_WAITING_SERVER_HELLO_RENEGO
TIMEOUT_ERROR = -0x6800  # MBEDTLS_ERR_SSL_TIMEOUT
ALERT = 21  # ContentType.alert
DH_PRIMES = {"ffdhe2048": FFDHE2048_PRIME, "modp2048": MODP2048_PRIME}


def mbedtls_name(suite: str) -> str:
    """IANA name -> Mbed TLS's (``TLS_ECDHE_RSA_WITH_...`` -> ``TLS-ECDHE-RSA-WITH-...``)."""
    return suite.replace("_", "-")


def case_id(case: tuple[str, ...]) -> str:
    return "-".join(c.removeprefix("TLS_").replace("_WITH", "") for c in case)


# ECDHE: each AEAD with each certificate type, each of the three groups with both types.
ECDHE_CASES = [
    ("ecdsa-p256", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "x25519"),
    ("ecdsa-p256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "secp384r1"),
    ("ecdsa-p256", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "secp256r1"),
    ("rsa-2048", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "secp256r1"),
    ("rsa-2048", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "x25519"),
    ("rsa-2048", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "secp384r1"),
]
ECDHE_IDS = [case_id(c) for c in ECDHE_CASES]
DHE_SUITES = [
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
]
# Mbed TLS's server is given the parameters (RFC 7919 ffdhe2048 or the RFC 3526 MODP group)
DHE_CLIENT_CASES = list(zip(DHE_SUITES, ["ffdhe2048", "modp2048", "ffdhe2048"], strict=True))


@pytest.fixture(scope="session")
def mbedtls_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Mbed TLS peer program, compiled once per session in a temporary directory."""
    return build_mbedtls_peer(tmp_path_factory.mktemp("mbedtls-peer"))


# -- helpers ---------------------------------------------------------------------------------------


def sha256(peers: Peers, leaf: str) -> str:
    return hashlib.sha256(peers.pki.leaves[leaf].cert.public_bytes(Encoding.DER)).hexdigest()


def exporter(tls: TLSSocket) -> str:
    return tls.export_keying_material(EXPORTER_LABEL, 32).hex()


def echo(tls: TLSSocket, message: bytes) -> None:
    tls.sendall(message)
    assert read_exactly(tls, len(message)) == message


def check_scheme(leaf: str, scheme: str | None) -> None:
    """Mbed TLS 2.28 offers no RSA-PSS in TLS 1.2: an RSA server signs with PKCS#1 v1.5."""
    assert scheme is not None
    expected = "rsa_pkcs1_" if leaf == "rsa-2048" else "ecdsa_secp256r1_"
    assert scheme.startswith(expected), scheme


def ours12(peers: Peers, leaf: str, suite: str, *groups: str, **kwargs: Any) -> ServerConfig:
    """Our server with one certificate, one TLS 1.2 suite and ``groups``."""
    return ServerConfig(
        certificates=server_certificates(peers, leaf),
        tls12_cipher_suites=(suite12(suite),),
        groups=tuple(group(g) for g in groups),
        **kwargs,
    )


# -- version negotiation: TLS 1.2 only ----------------------------------------------------------


def test_mbedtls_offers_no_tls13(peers: Peers, mbedtls_bin: Path) -> None:
    """This Mbed TLS 2.28 has no TLS 1.3 (built without its experimental support): the peer
    refuses a TLS 1.3 configuration outright."""
    argv = [str(mbedtls_bin), "server", "--max-version", "tls1.3"]
    peer = peers.start(argv + cert_options(peers, "ecdsa-p256"), "Mbed TLS server")
    assert peer.wait() == 2, peer.describe()
    (setup,) = records(peer, "setup")
    assert setup["error"].startswith("tls1.3: this Mbed TLS is built without TLS 1.3")


def test_client_settles_on_tls12_with_mbedtls_server(peers: Peers, mbedtls_bin: Path) -> None:
    """Our 1.3-capable client offers 1.3 and 1.2; Mbed TLS answers 1.2 with no downgrade
    sentinel (RFC 8446 §4.1.3: only a 1.3-capable server sets one), so we go on."""
    server, port = mbedtls_server(peers, mbedtls_bin)
    with dial(port, client_config(peers)) as tls:
        assert tls.version() == "TLSv1.2"
        assert tls.handshake_info is not None
        assert tls.handshake_info.resumed is False
        echo(tls, b"settled on 1.2")
        ours = exporter(tls)
    assert tls.clean_close is True
    (record,) = server_records(server)
    assert (ok(record)["version"], record["exporter"]) == ("TLSv1.2", ours)
    assert record["clean_close"] is True


def test_mbedtls_client_settles_on_tls12_with_server(peers: Peers, mbedtls_bin: Path) -> None:
    """Our 1.3-capable server picks 1.2 for Mbed TLS (whose client does not look for the
    downgrade sentinel we then put in ServerHello.random, RFC 8446 §4.1.3)."""
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "ecdsa-p256")))
    (record,) = mbedtls_client(peers, mbedtls_bin, ours.port)
    assert (ok(record)["version"], record["protocol_version"]) == ("TLSv1.2", "0x0303")
    assert bytes.fromhex(record["received"]) == b"hello"
    assert record["clean_close"] is True
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert served.info.version == "TLSv1.2"
    assert served.received == b"hello"
    assert served.clean_close is True


def test_tls13_only_client_refused_by_mbedtls_server(peers: Peers, mbedtls_bin: Path) -> None:
    server, port = mbedtls_server(peers, mbedtls_bin)
    config = client_config(peers, min_version=ProtocolVersion.TLS13)
    with pytest.raises(AlertReceived) as raised:
        dial(port, config)
    assert raised.value.description in (
        AlertDescription.PROTOCOL_VERSION,
        AlertDescription.HANDSHAKE_FAILURE,
    )
    (record,) = server_records(server)
    assert "error" in record


def test_tls13_only_server_refuses_mbedtls_client(peers: Peers, mbedtls_bin: Path) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"), min_version=ProtocolVersion.TLS13
    )
    ours = peers.our_server(config)
    (record,) = mbedtls_client(peers, mbedtls_bin, ours.port)
    assert "error" in record  # our protocol_version alert (RFC 8446 §4.2.1)
    served = ours.next_connection()
    assert isinstance(served.error, ProtocolVersionError), served.error


@pytest.mark.parametrize("version", ["tls1.0", "tls1.1"])
def test_client_refuses_old_mbedtls_server(peers: Peers, mbedtls_bin: Path, version: str) -> None:
    """RFC 8996: we offer no TLS 1.0/1.1 suite (only TLS 1.2 AEADs), so an Mbed TLS server
    limited to those versions finds no suite in common and gives up first."""
    server, port = mbedtls_server(
        peers, mbedtls_bin, "--min-version", "tls1.0", "--max-version", version
    )
    with pytest.raises(AlertReceived) as raised:
        dial(port, client_config(peers))
    assert raised.value.description == AlertDescription.HANDSHAKE_FAILURE
    (record,) = server_records(server)
    assert "error" in record


@pytest.mark.parametrize("version", ["tls1.0", "tls1.1"])
def test_server_refuses_old_mbedtls_client(peers: Peers, mbedtls_bin: Path, version: str) -> None:
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "ecdsa-p256")))
    (record,) = mbedtls_client(
        peers, mbedtls_bin, ours.port, "--min-version", "tls1.0", "--max-version", version
    )
    assert "error" in record
    assert isinstance(ours.next_connection().error, ProtocolVersionError)


# -- the TLS 1.2 matrix --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("leaf", "suite", "group_name"), ECDHE_CASES, ids=map(case_id, ECDHE_CASES)
)
def test_client_ecdhe_with_mbedtls_server(
    peers: Peers, mbedtls_bin: Path, leaf: str, suite: str, group_name: str
) -> None:
    options = ["--ciphers", mbedtls_name(suite), "--groups", group_name]
    server, port = mbedtls_server(peers, mbedtls_bin, *options, leaf=leaf)
    message = b"hello Mbed TLS, " * 1000  # two records each way
    with dial(port, client_config(peers)) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.version, info.cipher_suite, info.group) == ("TLSv1.2", suite, group_name)
        check_scheme(leaf, info.signature_scheme)
        assert info.peer_certificates[0] == peers.pki.leaves[leaf].cert
        echo(tls, message)
        ours = exporter(tls)
    (record,) = server_records(server)
    assert (ok(record)["cipher_suite"], record["exporter"]) == (suite, ours)
    assert bytes.fromhex(record["received"]) == message


@pytest.mark.parametrize(
    ("leaf", "suite", "group_name"), ECDHE_CASES, ids=map(case_id, ECDHE_CASES)
)
def test_mbedtls_client_ecdhe_with_server(
    peers: Peers, mbedtls_bin: Path, leaf: str, suite: str, group_name: str
) -> None:
    # RFC 8422 §4: the client's curves also cover the ECDSA certificate's (P-256)
    groups = list(dict.fromkeys([group_name, "secp256r1"]))
    ours = peers.our_server(ours12(peers, leaf, suite, *groups))
    options = ["--ciphers", mbedtls_name(suite), "--groups", ",".join(groups)]
    (record,) = mbedtls_client(peers, mbedtls_bin, ours.port, *options, "--message", "m" * 20000)
    assert (ok(record)["version"], record["cipher_suite"]) == ("TLSv1.2", suite)
    assert record["peer_cert_sha256"] == sha256(peers, leaf)
    assert bytes.fromhex(record["received"]) == b"m" * 20000
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    assert (served.info.cipher_suite, served.info.group) == (suite, group_name)
    check_scheme(leaf, served.info.signature_scheme)
    assert served.received == b"m" * 20000


@pytest.mark.parametrize(("suite", "dh"), DHE_CLIENT_CASES, ids=map(case_id, DHE_CLIENT_CASES))
def test_client_dhe_with_mbedtls_server(
    peers: Peers, mbedtls_bin: Path, suite: str, dh: str
) -> None:
    """Mbed TLS sends the DHE parameters it was configured with: we recognise the group by its
    prime, an RFC 7919 one or the RFC 3526 MODP group."""
    options = ["--ciphers", mbedtls_name(suite), "--dh-prime", f"{DH_PRIMES[dh]:x}"]
    server, port = mbedtls_server(peers, mbedtls_bin, *options, leaf="rsa-2048")
    with dial(port, client_config(peers)) as tls:
        info = tls.handshake_info
        assert info is not None
        assert (info.cipher_suite, info.group) == (suite, dh)
        check_scheme("rsa-2048", info.signature_scheme)
        echo(tls, b"dhe")
        ours = exporter(tls)
    (record,) = server_records(server)
    assert (ok(record)["cipher_suite"], record["exporter"]) == (suite, ours)


@pytest.mark.parametrize("suite", DHE_SUITES, ids=map(case_id, [(s,) for s in DHE_SUITES]))
def test_mbedtls_client_dhe_with_server(peers: Peers, mbedtls_bin: Path, suite: str) -> None:
    """Mbed TLS offers no ffdhe groups: our server uses its first one (RFC 7919 §4)."""
    ours = peers.our_server(ours12(peers, "rsa-2048", suite, "ffdhe2048"))
    (record,) = mbedtls_client(peers, mbedtls_bin, ours.port, "--ciphers", mbedtls_name(suite))
    assert ok(record)["cipher_suite"] == suite
    assert bytes.fromhex(record["received"]) == b"hello"
    served = ours.next_connection()
    assert served.info is not None
    assert (served.info.cipher_suite, served.info.group) == (suite, "ffdhe2048")


# -- signature schemes: PKCS#1 v1.5 only on Mbed TLS's side ---------------------------------------

PSS_ONLY = (SignatureScheme.RSA_PSS_RSAE_SHA256, SignatureScheme.RSA_PSS_RSAE_SHA384)


def test_client_offering_only_pss_refused_by_mbedtls_server(
    peers: Peers, mbedtls_bin: Path
) -> None:
    """Mbed TLS 2.28 cannot sign a TLS 1.2 ServerKeyExchange with RSA-PSS: no suite fits."""
    server, port = mbedtls_server(peers, mbedtls_bin, leaf="rsa-2048")
    with pytest.raises(AlertReceived) as raised:
        dial(port, client_config(peers, signature_schemes=PSS_ONLY))
    assert raised.value.description == AlertDescription.HANDSHAKE_FAILURE
    (record,) = server_records(server)
    assert "error" in record


def test_server_with_only_pss_refuses_mbedtls_client(peers: Peers, mbedtls_bin: Path) -> None:
    """Mbed TLS offers no RSA-PSS: a server that signs only with PSS has nothing to use
    (RFC 5246 §7.4.1.4.1) and must not sign with an unoffered scheme."""
    config = ServerConfig(
        certificates=server_certificates(peers, "rsa-2048"), signature_schemes=PSS_ONLY
    )
    ours = peers.our_server(config)
    (record,) = mbedtls_client(peers, mbedtls_bin, ours.port)
    assert "error" in record
    assert isinstance(ours.next_connection().error, HandshakeFailure)


@pytest.mark.parametrize(
    "scheme", [SignatureScheme.RSA_PKCS1_SHA384, SignatureScheme.RSA_PKCS1_SHA512]
)
def test_server_signs_with_the_pkcs1_scheme_chosen_for_mbedtls_client(
    peers: Peers, mbedtls_bin: Path, scheme: SignatureScheme
) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "rsa-2048"), signature_schemes=(scheme,)
    )
    ours = peers.our_server(config)
    (record,) = mbedtls_client(peers, mbedtls_bin, ours.port)
    assert bytes.fromhex(ok(record)["received"]) == b"hello"  # Mbed TLS verified it
    served = ours.next_connection()
    assert served.info is not None
    assert served.info.signature_scheme == scheme.name.lower()


# -- ALPN (RFC 7301) -------------------------------------------------------------------------------


def test_client_alpn_with_mbedtls_server(peers: Peers, mbedtls_bin: Path) -> None:
    server, port = mbedtls_server(peers, mbedtls_bin, "--alpn", "h2", "--alpn", "http/1.1")
    config = client_config(peers, alpn_protocols=("http/1.1", "h2"))
    with dial(port, config) as tls:
        assert tls.handshake_info is not None
        assert tls.handshake_info.alpn_protocol == "h2"  # the server's preference
        echo(tls, b"alpn")
    assert ok(server_records(server)[0])["alpn"] == "h2"


def test_mbedtls_client_alpn_with_server(peers: Peers, mbedtls_bin: Path) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"), alpn_protocols=("http/1.1",)
    )
    ours = peers.our_server(config)
    (record,) = mbedtls_client(peers, mbedtls_bin, ours.port, "--alpn", "h2", "--alpn", "http/1.1")
    assert ok(record)["alpn"] == "http/1.1"
    served = ours.next_connection()
    assert served.info is not None
    assert served.info.alpn_protocol == "http/1.1"


# -- client certificates -------------------------------------------------------------------------


@pytest.mark.parametrize("leaf", ["rsa-2048", "ecdsa-p256"])
def test_client_certificate_to_mbedtls_server(peers: Peers, mbedtls_bin: Path, leaf: str) -> None:
    server, port = mbedtls_server(peers, mbedtls_bin, "--client-auth", "required")
    issued = peers.pki.leaves[leaf]
    certificates = (CertifiedKey.load(issued.chain_path, issued.key_path),)
    with dial(port, client_config(peers, certificates=certificates)) as tls:
        echo(tls, b"with a certificate")
        ours = exporter(tls)
    (record,) = server_records(server)
    assert (ok(record)["peer_cert_sha256"], record["exporter"]) == (sha256(peers, leaf), ours)


def test_client_without_certificate_refused_by_mbedtls_server(
    peers: Peers, mbedtls_bin: Path
) -> None:
    server, port = mbedtls_server(peers, mbedtls_bin, "--client-auth", "required")
    """Mbed TLS closes without an alert here ("the client should know what's going on")."""
    with pytest.raises(TLSError, match="closed by peer during handshake"):
        dial(port, client_config(peers))
    (record,) = server_records(server)
    assert record["mbedtls_error"] == NO_CLIENT_CERTIFICATE, record


@pytest.mark.parametrize(
    ("mode", "leaf"),
    [("required", "rsa-2048"), ("required", "ecdsa-p256"), ("optional", None)],
)
def test_server_verifies_mbedtls_client_certificate(
    peers: Peers, mbedtls_bin: Path, mode: str, leaf: str | None
) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"),
        client_auth=mode,
        client_cafile=str(peers.pki.ca_path),
    )
    ours = peers.our_server(config)
    (record,) = mbedtls_client(peers, mbedtls_bin, ours.port, leaf=leaf)
    assert bytes.fromhex(ok(record)["received"]) == b"hello"
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.info is not None
    expected = () if leaf is None else (peers.pki.leaves[leaf].cert,)
    assert served.info.peer_certificates[:1] == expected


def test_server_refuses_mbedtls_client_without_certificate(peers: Peers, mbedtls_bin: Path) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"),
        client_auth="required",
        client_cafile=str(peers.pki.ca_path),
    )
    ours = peers.our_server(config)
    (record,) = mbedtls_client(peers, mbedtls_bin, ours.port)
    assert "error" in record
    assert ours.next_connection().error is not None


# -- session resumption (RFC 5246 §7.3, RFC 5077) --------------------------------------------------


@pytest.mark.parametrize("mechanism", ["--session-cache", "--tickets"])
def test_client_resumes_with_mbedtls_server(
    peers: Peers, mbedtls_bin: Path, mechanism: str
) -> None:
    server, port = mbedtls_server(peers, mbedtls_bin, mechanism, "--connections", "3")
    config = client_config(peers, session_store=InMemoryClientSessionStore())
    seen, exported = [], []
    for n in range(3):
        with dial(port, config) as tls:
            assert tls.handshake_info is not None
            seen.append(tls.handshake_info.resumed)
            echo(tls, f"connection {n}".encode())
            exported.append(exporter(tls))
    assert seen == [False, True, True]
    results = server_records(server, 3)
    assert [ok(r)["resumed"] for r in results] == [False, True, True]
    assert [r["exporter"] for r in results] == exported


def test_client_does_not_resume_without_mbedtls_session_cache(
    peers: Peers, mbedtls_bin: Path
) -> None:
    """An Mbed TLS server without a session cache keeps no sessions: our offered session ID
    is not taken up, we go on with a full handshake (RFC 5246 §7.4.1.3)."""
    server, port = mbedtls_server(peers, mbedtls_bin, "--connections", "2")
    config = client_config(peers, session_store=InMemoryClientSessionStore())
    seen = []
    for _ in range(2):
        with dial(port, config) as tls:
            assert tls.handshake_info is not None
            seen.append(tls.handshake_info.resumed)
            echo(tls, b"no cache")
    assert seen == [False, False]
    assert [ok(r)["resumed"] for r in server_records(server, 2)] == [False, False]


@pytest.mark.parametrize("mechanism", ["session-id", "ticket"])
def test_mbedtls_client_resumes_with_server(
    peers: Peers, mbedtls_bin: Path, mechanism: str
) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "rsa-2048"),
        session_tickets=0 if mechanism == "session-id" else 2,
    )
    ours = peers.our_server(config)
    options = ["--connections", "3"] + (["--no-tickets"] if mechanism == "session-id" else [])
    results = mbedtls_client(peers, mbedtls_bin, ours.port, *options)
    assert [ok(r)["resumed"] for r in results] == [False, True, True]
    infos = [ours.next_connection().info for _ in range(3)]
    assert [i.resumed for i in infos if i] == [False, True, True]
    assert len({r["exporter"] for r in results}) == 3  # fresh keys each time
    if mechanism == "session-id":
        assert cached_sessions(config) >= 1


# -- extended master secret (RFC 7627) -----------------------------------------------------------


def test_client_requiring_ems_with_mbedtls_server(peers: Peers, mbedtls_bin: Path) -> None:
    server, port = mbedtls_server(peers, mbedtls_bin)
    with dial(port, client_config(peers, require_extended_master_secret=True)) as tls:
        echo(tls, b"ems")
        ours = exporter(tls)
    assert ok(server_records(server)[0])["exporter"] == ours


def test_client_requiring_ems_refuses_mbedtls_server_without_it(
    peers: Peers, mbedtls_bin: Path
) -> None:
    server, port = mbedtls_server(peers, mbedtls_bin, "--no-ems")
    with pytest.raises(HandshakeFailure):
        dial(port, client_config(peers, require_extended_master_secret=True))
    (record,) = server_records(server)
    assert "error" in record


def test_server_requiring_ems_refuses_mbedtls_client_without_it(
    peers: Peers, mbedtls_bin: Path
) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"), require_extended_master_secret=True
    )
    ours = peers.our_server(config)
    (record,) = mbedtls_client(peers, mbedtls_bin, ours.port, "--no-ems")
    assert "error" in record
    assert isinstance(ours.next_connection().error, HandshakeFailure)


def test_client_never_resumes_with_mbedtls_server_without_ems(
    peers: Peers, mbedtls_bin: Path
) -> None:
    """RFC 7627 §5.3: a session without the extended master secret is not resumed."""
    server, port = mbedtls_server(
        peers, mbedtls_bin, "--no-ems", "--session-cache", "--connections", "2"
    )
    config = client_config(peers, session_store=InMemoryClientSessionStore())
    seen = []
    for _ in range(2):
        with dial(port, config) as tls:
            assert tls.handshake_info is not None
            seen.append(tls.handshake_info.resumed)
            echo(tls, b"no ems")
            # RFC 7627 §5.4: without the extended master secret, no RFC 5705 exporter
            with pytest.raises(UsageError, match="RFC 7627"):
                exporter(tls)
    assert seen == [False, False]
    last = server_records(server, 2)[-1]
    assert ok(last)["resumed"] is False and len(last["exporter"]) == 64  # Mbed TLS exports


def test_server_never_resumes_mbedtls_client_without_ems(peers: Peers, mbedtls_bin: Path) -> None:
    config = ServerConfig(certificates=server_certificates(peers, "ecdsa-p256"))
    ours = peers.our_server(config)
    results = mbedtls_client(peers, mbedtls_bin, ours.port, "--no-ems", "--connections", "2")
    assert [ok(r)["resumed"] for r in results] == [False, False]
    infos = [ours.next_connection().info for _ in range(2)]
    assert [i.resumed for i in infos if i] == [False, False]
    assert cached_sessions(config) == 0


# -- renegotiation refused (RFC 5746, RFC 5246 §7.4.1) ---------------------------------------------


def test_client_refuses_renegotiation_from_mbedtls_server(peers: Peers, mbedtls_bin: Path) -> None:
    """Mbed TLS sends a HelloRequest after the first echo; we answer no_renegotiation and the
    connection goes on (Mbed TLS ignores the warning, RFC 5246 §7.4.1.1)."""
    server, port = mbedtls_server(
        peers, mbedtls_bin, "--renegotiation", "--renegotiate", leaf="rsa-2048"
    )
    events: list[Event] = []
    config = client_config(peers, trace_handshake=True)
    with dial(port, config, on_event=events.append) as tls:
        echo(tls, b"before")
        echo(tls, b"after the HelloRequest")
    received = [
        e.name
        for e in events
        if isinstance(e, HandshakeMessageTraced) and e.direction == "received"
    ]
    assert received[-1] == "hello_request"  # after the handshake's messages
    (record,) = server_records(server)
    assert ok(record)["renegotiate"] == 0  # the HelloRequest went out
    assert bytes.fromhex(record["received"]) == b"beforeafter the HelloRequest"
    assert record["resumed"] is False


def test_server_refuses_renegotiation_from_mbedtls_client(peers: Peers, mbedtls_bin: Path) -> None:
    """Mbed TLS (renegotiation enabled) sends a new ClientHello after the echo; we answer it
    with a warning alert, no_renegotiation (RFC 5246 §7.4.1.2, RFC 5746 §4.4), and nothing
    else: Mbed TLS, ignoring that warning, keeps waiting for a ServerHello until it gives up."""
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "ecdsa-p256")))
    (record,) = mbedtls_client(peers, mbedtls_bin, ours.port, "--renegotiation", "--renegotiate")
    assert bytes.fromhex(ok(record)["received"]) == b"hello"
    # its ClientHello went out and the answer was not a ServerHello (a blocking
    # mbedtls_ssl_renegotiate reads on until it has one record)
    assert record["renegotiate"] == WAITING_SERVER_HELLO_RENEGO
    # one encrypted alert record: AES-128-GCM's 8-byte explicit nonce + 2 bytes + 16-byte tag
    assert record["records_after_renegotiate"] == [[ALERT, 26]]
    # then nothing more for a second (MBEDTLS_ERR_SSL_TIMEOUT): we did not hang up
    assert record["after_renegotiate"].startswith(f"mbedtls_ssl_read: -0x{-TIMEOUT_ERROR:04X} ")
    served = ours.next_connection()
    assert served.error is None, served.error  # a refusal, not a failure
    assert served.received == b"hello"


# -- large transfers ----------------------------------------------------------------------------


def test_client_megabyte_with_mbedtls_server(peers: Peers, mbedtls_bin: Path) -> None:
    server, port = mbedtls_server(
        peers, mbedtls_bin, "--ciphers", "TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384"
    )
    message = bytes(range(256)) * 4096  # 1 MiB
    with dial(port, client_config(peers)) as tls:
        echo(tls, message)
    (record,) = server_records(server)
    assert hashlib.sha256(bytes.fromhex(ok(record)["received"])).digest() == (
        hashlib.sha256(message).digest()
    )


def test_mbedtls_client_megabyte_with_server(peers: Peers, mbedtls_bin: Path) -> None:
    ours = peers.our_server(ServerConfig(certificates=server_certificates(peers, "rsa-2048")))
    options = ["--message", "0123456789abcdef", "--repeat", str(65536)]  # 1 MiB
    (record,) = mbedtls_client(peers, mbedtls_bin, ours.port, *options)
    assert bytes.fromhex(ok(record)["received"]) == b"0123456789abcdef" * 65536
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.received == b"0123456789abcdef" * 65536
