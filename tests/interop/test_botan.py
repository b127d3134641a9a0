"""Interop with Botan (C++): ``botan tls_server`` and ``botan tls_client`` from Debian's botan
2.19 (TLS 1.2; Botan 2 has no TLS 1.3), both directions, over 127.0.0.1 (see :mod:`botan_peer`).

TLS 1.2: ECDHE-ECDSA and ECDHE-RSA with AES-128/256-GCM and ChaCha20-Poly1305 over x25519,
secp256r1, secp384r1 and secp521r1, DHE-RSA over ffdhe2048/ffdhe3072 (RFC 7919), ECDSA
P-256/P-384 and RSA certificates, RSA signatures as PKCS#1 v1.5 and as PSS (whichever the
signer's offer allows), both ways; resumption by session ID both ways and by ticket (RFC 5077)
from Botan's client (its server has no ticket key); ALPN both ways (Botan's server always
answers ``echo/0.1``, which we must refuse when we did not offer it); extended master secret
required by our side both ways (RFC 7627); compressed-point offers (Botan's
``use_ecc_point_compression``) against our uncompressed-only ECDHE; an empty client certificate
(Botan's client has none) accepted when optional and refused when required; version negotiation
(our TLS 1.3-capable ends against Botan's TLS 1.2: the RFC 8446 §4.1.3 downgrade sentinel in our
ServerHello, which Botan 2.19 must tolerate, none in Botan's; TLS 1.1 refused both ways);
renegotiation from Botan's client (``R``/``r``) refused with no_renegotiation, the connection
going on; no common suite (Botan limited to AES-CCM, which we lack) refused both ways; large
transfers both ways (1 MiB to Botan's server, 256 KiB from its client).

What Botan negotiated comes from its ``Handshake complete, TLS v1.2 using <suite>`` lines,
its ``Session ID``/``Session ticket`` lines, its ``Certificate validation status`` line (full
handshakes only) and ``Alert:`` lines; our side's from :class:`HandshakeComplete`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from botan_peer import (
    DOWNGRADE_TLS12,
    TracingEchoServer,
    botan_alerts,
    botan_client,
    botan_handshakes,
    botan_server,
    botan_suite,
    client_close,
    client_echo,
    finish_server,
    suite_policy,
    tracing_server,
)
from peers import TIMEOUT, PeerProcess, Peers, client_config, read_exactly, server_certificates
from tls12_peers import SCHEME12, cached_sessions, group

from tlsmachine import ClientConfig, HandshakeComplete, InMemoryClientSessionStore, ServerConfig
from tlsmachine.enums import AlertDescription, ProtocolVersion, SignatureScheme
from tlsmachine.errors import (
    AlertReceived,
    HandshakeFailure,
    IllegalParameter,
    ProtocolVersionError,
)
from tlsmachine.events import Event, HandshakeMessageTraced
from tlsmachine.extensions.tls12 import EcPointFormats
from tlsmachine.messages.hello import ClientHello
from tlsmachine.sockets import TLSSocket, connect

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]

CASES = [
    # (certificate, group, suite): each suite, group and certificate at least once
    ("ecdsa-p256", "x25519", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    ("ecdsa-p384", "secp384r1", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    ("ecdsa-p256", "secp256r1", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    ("rsa-2048", "secp256r1", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    ("rsa-2048", "x25519", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    ("rsa-2048", "secp384r1", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    ("rsa-2048", "ffdhe2048", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"),
    ("rsa-2048", "ffdhe3072", "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    ("ecdsa-p384", "secp521r1", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
]
CERT_CURVE = {"ecdsa-p256": "secp256r1", "ecdsa-p384": "secp384r1"}
BOTAN_SCHEME = {
    # what Botan's server signs with, given our client's default signature_algorithms: its
    # hash preference (SHA-512, SHA-384, SHA-256) meets our offer (no SHA-512 for ECDSA),
    # and PSS before PKCS#1 v1.5 for RSA; TLS 1.2 ECDSA schemes do not bind the curve
    "ecdsa-p256": "ecdsa_secp384r1_sha384",
    "ecdsa-p384": "ecdsa_secp384r1_sha384",
    "rsa-2048": "rsa_pss_rsae_sha384",
}
PKCS1 = (SignatureScheme.RSA_PKCS1_SHA256, SignatureScheme.RSA_PKCS1_SHA384)
PSS = (SignatureScheme.RSA_PSS_RSAE_SHA256, SignatureScheme.RSA_PSS_RSAE_SHA384)
MESSAGE = b"hello from tlsmachine\n"


def case_id(case: tuple[str, str, str]) -> str:
    leaf, grp, suite = case
    return f"{leaf}-{grp}-{botan_suite(suite).replace('_WITH', '')}"


def case_groups(leaf: str, grp: str) -> list[str]:
    """The case's group, plus an ECDSA certificate's curve (RFC 8422 §4: in TLS 1.2 the
    client's supported_groups covers the certificate's curve too)."""
    curve = CERT_CURVE.get(leaf)
    return [grp] + ([curve] if curve and curve != grp else [])


def big_lines(size: int) -> bytes:
    """About ``size`` bytes of numbered lines (Botan's server echoes whole lines)."""
    return b"".join(b"line %06d %s\n" % (i, b"x" * 100) for i in range(size // 113))


def big_blob(size: int) -> bytes:
    """``size`` printable bytes without a newline (for Botan's client: see botan_peer)."""
    return bytes(0x21 + (i * 7 + i // 91) % 94 for i in range(size))


# -- our client, botan tls_server -----------------------------------------------------------------


def ask_botan(
    port: int, config: ClientConfig, message: bytes = MESSAGE, events: list[Event] | None = None
) -> TLSSocket:
    """One connection to ``botan tls_server``: ``message`` echoed, then ``quit`` makes Botan
    close (close_notify), which we answer."""
    with connect(
        "127.0.0.1",
        port,
        config=config,
        server_hostname="localhost",
        timeout=TIMEOUT,
        on_event=None if events is None else events.append,
    ) as tls:
        tls.sendall(message)
        assert read_exactly(tls, len(message)) == message
        tls.sendall(b"quit\n")
        assert read_exactly(tls, 5) == b"quit\n"
        assert tls.recv() == b""  # Botan's close_notify
    assert tls.clean_close is True
    return tls


@pytest.mark.parametrize(("leaf", "grp", "suite"), CASES, ids=map(case_id, CASES))
def test_client_vs_botan_server(
    peers: Peers, tmp_path: Path, leaf: str, grp: str, suite: str
) -> None:
    server, port = botan_server(peers, tmp_path, leaf, policy=suite_policy(suite, [grp]))
    tls = ask_botan(port, client_config(peers))  # our default: TLS 1.3 and 1.2, all suites
    info = tls.handshake_info
    assert info is not None
    assert (info.version, info.cipher_suite, info.group) == ("TLSv1.2", suite, grp)
    assert info.signature_scheme == BOTAN_SCHEME[leaf]
    assert info.peer_certificates[0] == peers.pki.leaves[leaf].cert
    assert tls.session is not None and tls.session.extended_master_secret
    (botan,) = finish_server(server, 1)
    assert (botan.version, botan.suite) == ("TLS v1.2", botan_suite(suite))


@pytest.mark.parametrize("schemes", [PKCS1, PSS], ids=["pkcs1", "pss"])
def test_client_rsa_signatures_from_botan_server(
    peers: Peers, tmp_path: Path, schemes: tuple[SignatureScheme, ...]
) -> None:
    """Our signature_algorithms decide how Botan signs its ServerKeyExchange (RFC 5246
    §7.4.1.4.1): only PKCS#1 v1.5, or only RSA-PSS (RFC 8446 §4.2.3, usable in TLS 1.2)."""
    server, port = botan_server(peers, tmp_path, "rsa-2048")
    tls = ask_botan(port, client_config(peers, signature_schemes=schemes))
    info = tls.handshake_info
    assert info is not None
    assert info.signature_scheme == schemes[-1].name.lower()  # Botan: SHA-384 before SHA-256
    assert info.cipher_suite.startswith("TLS_ECDHE_RSA_")
    finish_server(server, 1)


def test_client_resumes_with_botan_server(peers: Peers, tmp_path: Path) -> None:
    """Session-ID resumption (RFC 5246 §7.4.1.2): Botan's CLI server issues no tickets."""
    server, port = botan_server(peers, tmp_path, "rsa-2048", clients=3)
    config = client_config(peers, session_store=InMemoryClientSessionStore())
    sockets = [ask_botan(port, config, b"connection %d\n" % i) for i in range(3)]
    assert [s.session_reused for s in sockets] == [False, True, True]
    assert all(s.version() == "TLSv1.2" for s in sockets)
    assert all(s.session is not None and not s.session.ticket for s in sockets)
    botan = finish_server(server, 3)
    assert botan[0].session_id is not None
    assert {b.session_id for b in botan} == {botan[0].session_id}  # one session, resumed


def test_client_alpn_with_botan_server(peers: Peers, tmp_path: Path) -> None:
    server, port = botan_server(peers, tmp_path)
    tls = ask_botan(port, client_config(peers, alpn_protocols=("h2", "echo/0.1")))
    assert tls.selected_alpn_protocol() == "echo/0.1"
    finish_server(server, 1)


def test_client_refuses_alpn_it_did_not_offer(peers: Peers, tmp_path: Path) -> None:
    """Botan's server answers ``echo/0.1`` whatever the client offered: a protocol we did not
    offer is an illegal_parameter (RFC 7301 §3.2: the server picks one the client offered)."""
    server, port = botan_server(peers, tmp_path)
    with pytest.raises(IllegalParameter):
        ask_botan(port, client_config(peers, alpn_protocols=("h2",)))
    assert server.wait() == 0, server.describe()
    assert botan_alerts(server) == ["illegal_parameter"]
    assert botan_handshakes(server) == []


def test_client_requiring_ems_with_botan_server(peers: Peers, tmp_path: Path) -> None:
    server, port = botan_server(peers, tmp_path, "ecdsa-p384")
    tls = ask_botan(port, client_config(peers, require_extended_master_secret=True))
    assert tls.session is not None and tls.session.extended_master_secret
    finish_server(server, 1)


@pytest.mark.parametrize("grp", ["secp256r1", "secp384r1"])
def test_client_with_botan_server_preferring_compressed_points(
    peers: Peers, tmp_path: Path, grp: str
) -> None:
    """Botan offers compressed points (ec_point_formats, RFC 4492 §5.1.2); we offer only
    uncompressed (RFC 8422 §5.1.2), so its ECDHE share must come uncompressed."""
    policy = {"use_ecc_point_compression": "true", "groups": grp}
    server, port = botan_server(peers, tmp_path, "ecdsa-p256", policy=policy)
    tls = ask_botan(port, client_config(peers))
    assert tls.handshake_info is not None and tls.handshake_info.group == grp
    finish_server(server, 1)


@pytest.mark.parametrize("max_version", [ProtocolVersion.TLS13, ProtocolVersion.TLS12])
def test_client_with_tls12_botan_server(
    peers: Peers, tmp_path: Path, max_version: ProtocolVersion
) -> None:
    """Botan 2 does not speak TLS 1.3: our 1.3-capable client settles for 1.2 (Botan, a
    1.2-only server, sets no downgrade sentinel, RFC 8446 §4.1.3)."""
    server, port = botan_server(peers, tmp_path)
    events: list[Event] = []
    config = client_config(peers, max_version=max_version, trace_handshake=True)
    assert ask_botan(port, config, events=events).version() == "TLSv1.2"
    (hello,) = [
        e for e in events if isinstance(e, HandshakeMessageTraced) and e.name == "server_hello"
    ]
    assert hello.message.random[-8:-1] != DOWNGRADE_TLS12[:-1]  # type: ignore[attr-defined]
    finish_server(server, 1)


def test_client_refuses_tls11_botan_server(peers: Peers, tmp_path: Path) -> None:
    """A Botan server allowing only TLS 1.1: we never offer it, so Botan finds no common
    version and says protocol_version (RFC 5246 Appendix E.1)."""
    policy = {"allow_tls11": "true", "allow_tls12": "false", "ciphers": "AES-128", "macs": "SHA-1"}
    server, port = botan_server(peers, tmp_path, policy=policy)
    with pytest.raises(AlertReceived) as failure:
        ask_botan(port, client_config(peers))
    assert failure.value.description == AlertDescription.PROTOCOL_VERSION
    assert server.wait() == 0, server.describe()
    assert "No shared TLS version" in server.output, server.describe()


def test_client_no_common_suite_with_botan_server(peers: Peers, tmp_path: Path) -> None:
    """Botan limited to AES-CCM, which we do not implement: Botan refuses our ClientHello."""
    server, port = botan_server(peers, tmp_path, policy={"ciphers": "AES-128/CCM AES-256/CCM"})
    with pytest.raises(AlertReceived) as failure:
        ask_botan(port, client_config(peers))
    assert failure.value.description == AlertDescription.HANDSHAKE_FAILURE
    assert server.wait() == 0, server.describe()
    assert "Can't agree on a ciphersuite" in server.output, server.describe()


def test_client_large_transfer_with_botan_server(peers: Peers, tmp_path: Path) -> None:
    server, port = botan_server(peers, tmp_path, "rsa-2048")
    data = big_lines(1 << 20)
    ask_botan(port, client_config(peers), data)
    finish_server(server, 1)


# -- botan tls_client, our server -----------------------------------------------------------------


def run_client(
    peers: Peers, ours: TracingEchoServer, tmp_path: Path, message: bytes, **kwargs: object
) -> tuple[PeerProcess, str]:
    """``botan tls_client`` against our server: ``message`` echoed, then closed by Botan."""
    client = botan_client(peers, ours.port, tmp_path, **kwargs)  # type: ignore[arg-type]
    client_echo(client, message)
    return client, client_close(client)


def served_ok(ours: TracingEchoServer, message: bytes) -> HandshakeComplete:
    served = ours.next_connection()
    assert served.error is None, served.error
    assert served.received == message
    assert served.clean_close is True  # Botan's close_notify
    assert served.info is not None
    return served.info


@pytest.mark.parametrize(("leaf", "grp", "suite"), CASES, ids=map(case_id, CASES))
def test_botan_client_vs_server(
    peers: Peers, tmp_path: Path, leaf: str, grp: str, suite: str
) -> None:
    groups = case_groups(leaf, grp)
    config = ServerConfig(
        certificates=server_certificates(peers, leaf), groups=tuple(group(g) for g in groups)
    )
    ours = tracing_server(peers, config)
    message = b"hello from botan " + suite.encode()
    client, output = run_client(peers, ours, tmp_path, message, policy=suite_policy(suite, groups))
    assert "Certificate validation status: Verified" in output
    (botan,) = botan_handshakes(client)
    assert (botan.version, botan.suite) == ("TLS v1.2", botan_suite(suite))
    info = served_ok(ours, message)
    assert (info.version, info.cipher_suite, info.group) == ("TLSv1.2", suite, grp)
    assert info.signature_scheme == SCHEME12[leaf]
    assert info.server_name == "localhost"


@pytest.mark.parametrize("schemes", [PKCS1, PSS], ids=["pkcs1", "pss"])
def test_server_rsa_signatures_to_botan_client(
    peers: Peers, tmp_path: Path, schemes: tuple[SignatureScheme, ...]
) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "rsa-2048"), signature_schemes=schemes
    )
    ours = tracing_server(peers, config)
    _, output = run_client(peers, ours, tmp_path, b"rsa signatures")
    assert "Certificate validation status: Verified" in output
    info = served_ok(ours, b"rsa signatures")
    assert info.signature_scheme == schemes[0].name.lower()  # ours: first in our list


@pytest.mark.parametrize("mechanism", ["session-id", "ticket"])
def test_botan_client_resumes_with_server(peers: Peers, tmp_path: Path, mechanism: str) -> None:
    """Three ``tls_client`` processes sharing a session database: the second and third
    resume (RFC 5246 §7.4.1.2 by session ID, or RFC 5077 by ticket)."""
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"),
        session_tickets=0 if mechanism == "session-id" else 2,
    )
    ours = tracing_server(peers, config)
    outputs, infos = [], []
    for i in range(3):
        message = b"connection %d" % i
        client, output = run_client(
            peers, ours, tmp_path, message, session_db=tmp_path / "sessions.db"
        )
        (botan,) = botan_handshakes(client)
        assert (botan.ticket is not None) is (mechanism == "ticket"), output
        outputs.append(output)
        infos.append(served_ok(ours, message))
    assert [i.resumed for i in infos] == [False, True, True]
    # Botan validates the certificate in full handshakes only
    assert ["Certificate validation status" in o for o in outputs] == [True, False, False]
    if mechanism == "session-id":
        assert cached_sessions(config) == 1


def test_botan_client_alpn_with_server(peers: Peers, tmp_path: Path) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"), alpn_protocols=("h2", "http/1.1")
    )
    ours = tracing_server(peers, config)
    _, output = run_client(peers, ours, tmp_path, b"alpn", alpn=["http/1.1", "h2"])
    assert "Server choose protocol: h2" in output  # our preference (RFC 7301 §3.2)
    assert served_ok(ours, b"alpn").alpn_protocol == "h2"


def test_server_refuses_botan_client_without_common_alpn(peers: Peers, tmp_path: Path) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"), alpn_protocols=("h2",)
    )
    ours = tracing_server(peers, config)
    client = botan_client(peers, ours.port, tmp_path, alpn=["http/1.1"])
    assert client.wait() == 0, client.describe()
    assert botan_alerts(client) == ["no_application_protocol"]  # RFC 7301 §3.2
    assert botan_handshakes(client) == []
    assert ours.next_connection().error is not None


def test_server_no_common_suite_with_botan_client(peers: Peers, tmp_path: Path) -> None:
    """Botan's client offering only AES-CCM suites, which we do not implement: we refuse
    with handshake_failure (RFC 5246 §7.4.1.3)."""
    ours = tracing_server(peers, ServerConfig(certificates=server_certificates(peers, "rsa-2048")))
    client = botan_client(peers, ours.port, tmp_path, policy={"ciphers": "AES-128/CCM"})
    assert client.wait() == 0, client.describe()
    assert botan_alerts(client) == ["handshake_failure"]
    assert botan_handshakes(client) == []
    assert isinstance(ours.next_connection().error, HandshakeFailure)


def test_server_requiring_ems_with_botan_client(peers: Peers, tmp_path: Path) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "rsa-2048"), require_extended_master_secret=True
    )
    ours = tracing_server(peers, config)
    run_client(peers, ours, tmp_path, b"extended master secret")
    assert served_ok(ours, b"extended master secret").version == "TLSv1.2"


@pytest.mark.parametrize("grp", ["secp256r1", "secp384r1"])
def test_botan_client_preferring_compressed_points(peers: Peers, tmp_path: Path, grp: str) -> None:
    """Botan's client offers compressed points first; our ServerHello says uncompressed only,
    so its ClientKeyExchange point must be uncompressed (RFC 8422 §5.1.2, §5.7)."""
    groups = case_groups("ecdsa-p256", grp)  # ours prefer grp, then the certificate's curve
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"),
        groups=tuple(group(g) for g in groups),
        trace_handshake=True,
    )
    ours = tracing_server(peers, config)
    policy = {"use_ecc_point_compression": "true", "groups": " ".join(groups)}
    run_client(peers, ours, tmp_path, b"points", policy=policy)
    assert served_ok(ours, b"points").group == grp
    (hello,) = [e.message for e in ours.traced(0, "received") if e.name == "client_hello"]
    assert isinstance(hello, ClientHello)
    formats = hello.get(EcPointFormats)
    assert formats is not None and formats.formats[0] != 0, formats  # compressed first


def test_server_empty_client_certificate_from_botan_optional(peers: Peers, tmp_path: Path) -> None:
    """Botan's CLI client has no certificate: it answers our CertificateRequest with an empty
    Certificate (RFC 5246 §7.4.6), fine when the certificate is optional."""
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"),
        client_auth="optional",
        client_cafile=str(peers.pki.ca_path),
        trace_handshake=True,
    )
    ours = tracing_server(peers, config)
    run_client(peers, ours, tmp_path, b"no certificate")
    info = served_ok(ours, b"no certificate")
    assert info.peer_certificates == ()
    received = [e.name for e in ours.traced(0, "received")]
    assert "certificate" in received and "certificate_verify" not in received, received


def test_server_refuses_botan_client_without_required_certificate(
    peers: Peers, tmp_path: Path
) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"),
        client_auth="required",
        client_cafile=str(peers.pki.ca_path),
    )
    ours = tracing_server(peers, config)
    client = botan_client(peers, ours.port, tmp_path)
    assert client.wait() == 0, client.describe()
    assert botan_alerts(client) == ["handshake_failure"]  # RFC 5246 §7.4.6
    assert botan_handshakes(client) == []
    assert isinstance(ours.next_connection().error, HandshakeFailure)


@pytest.mark.parametrize("max_version", [ProtocolVersion.TLS13, ProtocolVersion.TLS12])
def test_tls12_botan_client_with_server(
    peers: Peers, tmp_path: Path, max_version: ProtocolVersion
) -> None:
    """Botan 2's client offers TLS 1.2 at most. Our 1.3-capable server then ends its random
    with DOWNGRD\\x01 (RFC 8446 §4.1.3), which Botan 2.19, a TLS 1.2 client, must ignore
    (it only checks the TLS 1.1 sentinel); a 1.2-only server of ours sets none."""
    config = ServerConfig(
        certificates=server_certificates(peers, "rsa-2048"),
        max_version=max_version,
        trace_handshake=True,
    )
    ours = tracing_server(peers, config)
    client, _ = run_client(peers, ours, tmp_path, b"versions", extra=["--tls1.2"])
    assert botan_handshakes(client)[0].version == "TLS v1.2"
    assert served_ok(ours, b"versions").version == "TLSv1.2"
    (hello,) = [e for e in ours.traced(0, "sent") if e.name == "server_hello"]
    sentinel = hello.message.random[-8:] == DOWNGRADE_TLS12  # type: ignore[attr-defined]
    assert sentinel is (max_version == ProtocolVersion.TLS13)


def test_server_refuses_tls11_botan_client(peers: Peers, tmp_path: Path) -> None:
    ours = tracing_server(peers, ServerConfig(certificates=server_certificates(peers, "rsa-2048")))
    policy = {"allow_tls11": "true", "ciphers": "AES-128", "macs": "SHA-1"}
    client = botan_client(peers, ours.port, tmp_path, policy=policy, extra=["--tls1.1"])
    assert client.wait() == 0, client.describe()
    assert botan_alerts(client) == ["protocol_version"]  # RFC 5246 Appendix E.1
    assert isinstance(ours.next_connection().error, ProtocolVersionError)


@pytest.mark.parametrize("command", [b"R", b"r"], ids=["full", "resumption-allowed"])
def test_server_refuses_renegotiation_from_botan_client(
    peers: Peers, tmp_path: Path, command: bytes
) -> None:
    """``R``/``r`` make Botan's client send a new ClientHello (RFC 5746 secure renegotiation):
    we decline with a no_renegotiation warning (RFC 5246 §7.2.2) and Botan carries on with
    the first session."""
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"), trace_handshake=True
    )
    ours = tracing_server(peers, config)
    client = botan_client(peers, ours.port, tmp_path)
    client_echo(client, b"before")
    client.write(command + b"\n")
    client.wait_for(r"^Alert: no_renegotiation$")
    client.write(b"after the attempt")
    client.wait_for("after the attempt")
    client_close(client)
    assert len(botan_handshakes(client)) == 1
    info = served_ok(ours, b"beforeafter the attempt")
    assert info.resumed is False
    names = [e.name for e in ours.traced(0, "received")]
    assert names.count("client_hello") == 2, names  # the attempt reached us


def test_botan_client_large_transfer_to_server(peers: Peers, tmp_path: Path) -> None:
    ours = tracing_server(peers, ServerConfig(certificates=server_certificates(peers, "rsa-2048")))
    data = big_blob(256 * 1024)
    run_client(peers, ours, tmp_path, data)
    served_ok(ours, data)
