"""TLS 1.2 between our own client and server, in memory (RFC 5246, 5077, 5746, 7627, 7507, 8422).

Every suite with every certificate type and group it can use; version negotiation and the
TLS 1.3 downgrade sentinel (RFC 8446 §4.1.3); TLS_FALLBACK_SCSV (RFC 7507); resumption by session
ID (RFC 5246 §7.4.1.2) and by ticket (RFC 5077) and when it must not happen; client certificates;
ALPN and SNI; refused renegotiation (RFC 5746 §4); close_notify (RFC 5246 §7.2.1).
"""

from __future__ import annotations

import dataclasses
import functools
import hmac
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from memory_pair import pump
from tls_fixtures import Clock, client_cert, server_cert
from tlsmachine import (
    AeadTicketSealer,
    AlertReceived,
    ApplicationData,
    CertifiedKey,
    ClientConfig,
    ClientConnection,
    ClientSession,
    ConnectionClosed,
    ConnectionState,
    Event,
    HandshakeComplete,
    HandshakeMessageTraced,
    InMemoryClientSessionStore,
    InMemorySessionCache,
    ServerConfig,
    ServerConnection,
    Tls12Session,
    UsageError,
    WarningAlertReceived,
)
from tlsmachine.crypto.groups import (
    FFDHE2048,
    FFDHE3072,
    SECP256R1,
    SECP384R1,
    SECP521R1,
    X448,
    X25519,
    Group,
    PrivateKeyShare,
)
from tlsmachine.crypto.suites import (
    TLS12_SUITES,
    TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    CipherSuite12,
)
from tlsmachine.enums import AlertDescription, ContentType, ProtocolVersion, SignatureScheme
from tlsmachine.errors import (
    HandshakeFailure,
    IllegalParameter,
    InappropriateFallback,
    ProtocolError,
    ProtocolVersionError,
)
from tlsmachine.extensions import (
    ExtendedMasterSecret,
    KeyShareClientHello,
    ServerName,
    SessionTicket,
    SupportedVersionsClientHello,
)
from tlsmachine.messages import decode_handshake, encode_handshake
from tlsmachine.messages.hello import DOWNGRADE_TLS12, ClientHello, ServerHello
from tlsmachine.messages.tls12 import Certificate12
from wire import plaintext_alert, record

TLS12 = ProtocolVersion.TLS12
TLS13 = ProtocolVersion.TLS13
KEYLOG_LINE = re.compile(r"CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}")


# --- certificates (made once: RSA key generation is slow) ---------------------------------------


@functools.cache
def _rsassa_pss_certificate() -> CertifiedKey:
    """An id-RSASSA-PSS key (RFC 4055) and certificate, made by the openssl tool: certs.py loads
    such keys but cannot make them."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl tool is needed to make an id-RSASSA-PSS certificate")
    with tempfile.TemporaryDirectory() as tmp:
        key, cert = Path(tmp) / "key.pem", Path(tmp) / "cert.pem"
        subprocess.run(
            ["openssl", "genpkey", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048",
             "-out", str(key)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        subprocess.run(
            ["openssl", "req", "-x509", "-new", "-key", str(key), "-out", str(cert), "-days",
             "30", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        return CertifiedKey.load(cert, key)


@functools.cache
def certificate(key_type: str) -> CertifiedKey:
    """A server certificate for "localhost" of ``key_type`` (ecdsa-p256 is the shared one)."""
    if key_type == "rsa-pss":
        return _rsassa_pss_certificate()
    return server_cert(key_type)


def pem(certified: CertifiedKey) -> bytes:
    return certified.leaf.public_bytes(Encoding.PEM)


# --- helpers ----------------------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    client: ClientConnection
    server: ServerConnection
    client_events: list[Event]
    server_events: list[Event]

    @property
    def client_done(self) -> HandshakeComplete:
        return done(self.client_events)

    @property
    def server_done(self) -> HandshakeComplete:
        return done(self.server_events)

    def traced(self, side: str, direction: str) -> list[str]:
        """The names of the handshake messages one side sent or received (trace_handshake)."""
        events = self.client_events if side == "client" else self.server_events
        return [
            e.name
            for e in events
            if isinstance(e, HandshakeMessageTraced) and e.direction == direction
        ]

    def message(self, side: str, name: str) -> Any:
        events = self.client_events if side == "client" else self.server_events
        (found,) = [e.message for e in events if isinstance(e, HandshakeMessageTraced)
                    and e.name == name]  # fmt: skip
        return found


def connect(
    client_config: ClientConfig, server_config: ServerConfig, name: str | None = "localhost"
) -> Run:
    client = ClientConnection(client_config, name)
    server = ServerConnection(server_config)
    client_events, server_events = pump(client, server)
    return Run(client, server, client_events, server_events)


def done(events: list[Event]) -> HandshakeComplete:
    (complete,) = [e for e in events if isinstance(e, HandshakeComplete)]
    return complete


def received(events: list[Event]) -> list[bytes]:
    return [e.data for e in events if isinstance(e, ApplicationData)]


def assert_data_flows(client: ClientConnection, server: ServerConnection) -> None:
    client.send(b"ping from the client")
    server.send(b"pong from the server")
    client_events, server_events = pump(client, server)
    assert received(server_events) == [b"ping from the client"]
    assert received(client_events) == [b"pong from the server"]


def client12(**kwargs: object) -> ClientConfig:
    """A TLS 1.2-only client that does not check the (self-signed) server certificate."""
    return ClientConfig(verify_certificates=False, max_version=TLS12, **kwargs)  # type: ignore[arg-type]


def server_with(key_type: str = "ecdsa-p256", **kwargs: object) -> ServerConfig:
    return ServerConfig(certificates=(certificate(key_type),), **kwargs)  # type: ignore[arg-type]


def hello_of(flight: bytes) -> ClientHello:
    """The ClientHello in the first record of a client's first flight."""
    hello = decode_handshake(flight[5:])
    assert isinstance(hello, ClientHello)
    return hello


def rewritten(hello: ClientHello | ServerHello, **changes: object) -> bytes:
    """``hello`` with some fields replaced, re-encoded into a plaintext handshake record."""
    changed = dataclasses.replace(hello, raw=b"", **changes)  # type: ignore[arg-type]
    return record(ContentType.HANDSHAKE, encode_handshake(changed))


def without(hello: ClientHello | ServerHello, *types: type) -> tuple[object, ...]:
    return tuple(e for e in hello.extensions if not isinstance(e, types))


# --- every suite x certificate type x group ---------------------------------------------------

ECDHE_GROUPS: tuple[Group, ...] = (X25519, X448, SECP256R1, SECP384R1, SECP521R1)
DHE_GROUPS: tuple[Group, ...] = (FFDHE2048, FFDHE3072)
SCHEME_OF_KEY = {
    "ecdsa-p256": "ecdsa_secp256r1_sha256",
    "ecdsa-p384": "ecdsa_secp384r1_sha384",
    "ed25519": "ed25519",
    "rsa-2048": "rsa_pss_rsae_sha256",
    "rsa-pss": "rsa_pss_pss_sha256",
}


def _matrix() -> list[tuple[CipherSuite12, str, Group]]:
    cases = []
    for suite in TLS12_SUITES:
        keys = ("ecdsa-p256", "ecdsa-p384", "ed25519") if suite.authentication == "ECDSA" else (
            "rsa-2048", "rsa-pss")  # fmt: skip
        groups = ECDHE_GROUPS if suite.key_exchange == "ECDHE" else DHE_GROUPS
        cases += [(suite, key, group) for key in keys for group in groups]
    return cases


MATRIX = _matrix()
CERTIFICATE_CURVES = {"ecdsa-p256": SECP256R1, "ecdsa-p384": SECP384R1}


def test_the_matrix_covers_every_tls12_suite() -> None:
    assert {suite for suite, _, _ in MATRIX} == set(TLS12_SUITES)
    assert len(TLS12_SUITES) == 9
    assert len(MATRIX) == 3 * 3 * 5 + 3 * 2 * 5 + 3 * 2 * 2


@pytest.mark.parametrize(
    ("suite", "key_type", "group"),
    MATRIX,
    ids=[f"{s.name.removeprefix('TLS_')}-{k}-{g.name}" for s, k, g in MATRIX],
)
def test_full_handshake(suite: CipherSuite12, key_type: str, group: Group) -> None:
    client_lines: list[str] = []
    server_lines: list[str] = []
    # RFC 8422 §4: the client also lists an ECDSA certificate's curve; the server's groups
    # keep the key exchange on the group under test.
    curve = CERTIFICATE_CURVES.get(key_type)
    client_groups = (group,) if curve is None or curve is group else (group, curve)
    client_config = client12(
        tls12_cipher_suites=(suite,), groups=client_groups, keylog=client_lines.append
    )
    server_config = server_with(key_type, groups=(group,), keylog=server_lines.append)
    run = connect(client_config, server_config)
    expected = {
        "version": "TLSv1.2",
        "cipher_suite": suite.name,
        "group": group.name,
        "signature_scheme": SCHEME_OF_KEY[key_type],
        "resumed": False,
        "server_name": "localhost",
        "alpn_protocol": None,
    }
    for side in (run.client_done, run.server_done):
        assert {k: getattr(side, k) for k in expected} == expected
    assert run.client_done.peer_certificates == (certificate(key_type).leaf,)
    assert run.server_done.peer_certificates == ()
    assert run.client.state is run.server.state is ConnectionState.APP_DATA
    assert_data_flows(run.client, run.server)

    # RFC 5705: the same keying material on both sides, a different one for any other input.
    ekm = run.client.export_keying_material("EXPORTER-tlsmachine test", 48)
    assert len(ekm) == 48
    assert ekm == run.server.export_keying_material("EXPORTER-tlsmachine test", 48)
    variants = [
        run.client.export_keying_material("EXPORTER-tlsmachine other", 48),
        run.client.export_keying_material("EXPORTER-tlsmachine test", 48, b""),
        run.client.export_keying_material("EXPORTER-tlsmachine test", 48, b"context"),
        run.client.export_keying_material("EXPORTER-tlsmachine test", 48, b"context 2"),
    ]
    assert len({ekm, *variants}) == 5
    assert variants[2] == run.server.export_keying_material(
        "EXPORTER-tlsmachine test", 48, b"context"
    )

    # NSS key log: one CLIENT_RANDOM line with the master secret, the same on both sides.
    assert client_lines == server_lines
    (line,) = client_lines
    assert KEYLOG_LINE.fullmatch(line), line
    assert line.split()[1] == run.client._handshake.client_random.hex()


def _tls12_prf(hash_name: str, secret: bytes, label: bytes, seed: bytes, n: int) -> bytes:
    """RFC 5246 §5, written out independently of tlsmachine.prf."""
    out, a = b"", label + seed
    while len(out) < n:
        a = hmac.new(secret, a, hash_name).digest()
        out += hmac.new(secret, a + label + seed, hash_name).digest()
    return out[:n]


@pytest.mark.parametrize(
    "suite",
    [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384],
    ids=["sha256", "sha384"],
)
def test_exporter_is_rfc5705_over_the_master_secret(suite: CipherSuite12) -> None:
    lines: list[str] = []
    run = connect(
        client12(tls12_cipher_suites=(suite,), keylog=lines.append, trace_handshake=True),
        server_with(),
    )
    (line,) = lines
    client_random, master = (bytes.fromhex(x) for x in line.split()[1:])
    server_random = run.message("client", "server_hello").random
    seed = client_random + server_random
    hash_name = suite.hash_name
    label = b"EXPORTER-tlsmachine"
    assert run.client.export_keying_material(label, 40) == _tls12_prf(
        hash_name, master, label, seed, 40
    )
    assert run.server.export_keying_material(label, 40, b"ctx") == _tls12_prf(
        hash_name, master, label, seed + b"\x00\x03ctx", 40
    )


def test_exporter_refuses_reserved_labels_and_works_only_after_the_handshake() -> None:
    client = ClientConnection(client12(), "localhost")
    with pytest.raises(UsageError):
        client.export_keying_material("EXPORTER-too-early", 32)
    run = established()
    reserved = ["client finished", "server finished", "master secret", "key expansion",
                "extended master secret"]  # fmt: skip
    for label in reserved:  # RFC 5705 §6: never reveal a key or a Finished value
        with pytest.raises(UsageError):
            run.client.export_keying_material(label, 12)


def test_rsa_pkcs1_signature_when_the_client_offers_only_that() -> None:
    only_pkcs1 = (SignatureScheme.RSA_PKCS1_SHA384,)
    run = connect(client12(signature_schemes=only_pkcs1), server_with("rsa-2048"))
    assert run.client_done.signature_scheme == run.server_done.signature_scheme
    assert run.client_done.signature_scheme == "rsa_pkcs1_sha384"
    assert run.client_done.cipher_suite.startswith("TLS_ECDHE_RSA_")


def test_server_prefers_its_own_suite_order() -> None:
    client_config = client12(
        tls12_cipher_suites=(
            TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        )
    )
    server_config = server_with(
        tls12_cipher_suites=(
            TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        )
    )
    run = connect(client_config, server_config)
    assert run.client_done.cipher_suite == TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384.name


def test_server_with_two_certificates_picks_the_one_the_suite_needs() -> None:
    server_config = ServerConfig(certificates=(certificate("rsa-2048"), server_cert()))
    for suite_filter, scheme in (("ECDHE_ECDSA", "ecdsa_secp256r1_sha256"),
                                 ("ECDHE_RSA", "rsa_pss_rsae_sha256")):  # fmt: skip
        suites = tuple(s for s in TLS12_SUITES if suite_filter in s.name)
        run = connect(client12(tls12_cipher_suites=suites), server_config)
        assert run.client_done.signature_scheme == scheme
        assert suite_filter in run.client_done.cipher_suite


def test_no_common_suite_for_the_certificate_is_handshake_failure() -> None:
    # Only RSA suites offered, the server has only an ECDSA certificate.
    rsa_suites = tuple(s for s in TLS12_SUITES if s.authentication == "RSA")
    client = ClientConnection(client12(tls12_cipher_suites=rsa_suites), "localhost")
    server = ServerConnection(server_with())
    with pytest.raises(HandshakeFailure):
        server.receive_data(client.data_to_send())
    alert = server.data_to_send()
    assert alert == plaintext_alert(AlertDescription.HANDSHAKE_FAILURE)
    with pytest.raises(AlertReceived) as exc_info:
        client.receive_data(alert)
    assert exc_info.value.description == AlertDescription.HANDSHAKE_FAILURE


def test_certificates_are_verified_in_tls12() -> None:
    trusted = ClientConfig(cadata=pem(server_cert()), max_version=TLS12)
    run = connect(trusted, server_with())
    assert run.client_done.version == "TLSv1.2"
    stranger = CertifiedKey.self_signed(("localhost",), key_type="ed25519")
    client = ClientConnection(trusted, "localhost")
    server = ServerConnection(ServerConfig(certificates=(stranger,)))
    server.receive_data(client.data_to_send())
    with pytest.raises(ProtocolError) as exc_info:
        client.receive_data(server.data_to_send())
    assert exc_info.value.alert in (AlertDescription.UNKNOWN_CA, AlertDescription.BAD_CERTIFICATE)
    with pytest.raises(AlertReceived) as received_alert:
        server.receive_data(client.data_to_send())
    assert received_alert.value.description == exc_info.value.alert


def test_rsa_certificate_for_an_ecdsa_suite_is_unsupported_certificate() -> None:
    # A server that sends an RSA chain for an ECDHE_ECDSA suite: splice the certificate of a
    # server that chose an RSA suite into the flight of one that chose an ECDSA suite.
    client = ClientConnection(
        client12(tls12_cipher_suites=(TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,)), "localhost"
    )
    server = ServerConnection(server_with())
    server.receive_data(client.data_to_send())
    flight = server.data_to_send()[5:]
    rsa_chain = encode_handshake(Certificate12(certificate_list=certificate("rsa-2048").der_chain))
    messages = _split_messages(flight)
    messages[1] = rsa_chain
    with pytest.raises(ProtocolError) as exc_info:
        client.receive_data(record(ContentType.HANDSHAKE, b"".join(messages)))
    assert exc_info.value.alert is AlertDescription.UNSUPPORTED_CERTIFICATE
    assert client.data_to_send() == plaintext_alert(AlertDescription.UNSUPPORTED_CERTIFICATE)


def _split_messages(data: bytes) -> list[bytes]:
    out = []
    while data:
        end = 4 + int.from_bytes(data[1:4], "big")
        out.append(data[:end])
        data = data[end:]
    return out


# --- version negotiation ----------------------------------------------------------------------


def test_default_client_and_tls12_only_server_speak_tls12() -> None:
    run = connect(
        ClientConfig(verify_certificates=False, trace_handshake=True),
        server_with(max_version=TLS12),
    )
    assert run.client_done.version == run.server_done.version == "TLSv1.2"
    server_hello = run.message("client", "server_hello")
    assert isinstance(server_hello, ServerHello)
    assert not server_hello.random.endswith(DOWNGRADE_TLS12)  # a 1.2-only server sets none
    assert_data_flows(run.client, run.server)


def test_tls12_only_client_and_default_server_speak_tls12_with_the_downgrade_sentinel() -> None:
    run = connect(client12(trace_handshake=True), server_with())
    assert run.client_done.version == run.server_done.version == "TLSv1.2"
    server_hello = run.message("client", "server_hello")
    assert isinstance(server_hello, ServerHello)
    assert server_hello.random[-8:] == b"DOWNGRD\x01"  # RFC 8446 §4.1.3
    client_hello = run.message("client", "client_hello")
    assert isinstance(client_hello, ClientHello)
    assert client_hello.get(SupportedVersionsClientHello) is None  # §4.2.1: 1.2 by legacy_version
    assert_data_flows(run.client, run.server)


def test_tls12_only_client_against_tls13_only_server_is_protocol_version() -> None:
    client = ClientConnection(client12(), "localhost")
    server = ServerConnection(server_with(min_version=TLS13))
    with pytest.raises(ProtocolVersionError) as exc_info:
        server.receive_data(client.data_to_send())
    assert exc_info.value.alert is AlertDescription.PROTOCOL_VERSION
    alert = server.data_to_send()
    assert alert == plaintext_alert(AlertDescription.PROTOCOL_VERSION)
    with pytest.raises(AlertReceived) as received_alert:
        client.receive_data(alert)
    assert received_alert.value.description == AlertDescription.PROTOCOL_VERSION
    assert client.state is server.state is ConnectionState.FAILED


def test_tls13_only_client_against_tls12_only_server_is_protocol_version() -> None:
    client = ClientConnection(
        ClientConfig(verify_certificates=False, min_version=TLS13), "localhost"
    )
    server = ServerConnection(server_with(max_version=TLS12))
    with pytest.raises(ProtocolVersionError):
        server.receive_data(client.data_to_send())
    alert = server.data_to_send()
    assert alert == plaintext_alert(AlertDescription.PROTOCOL_VERSION)
    with pytest.raises(AlertReceived) as received_alert:
        client.receive_data(alert)
    assert received_alert.value.description == AlertDescription.PROTOCOL_VERSION


def test_tls13_only_client_refuses_a_tls12_server_hello() -> None:
    # A server that answers TLS 1.2 although the client offered only TLS 1.3 (RFC 5246 E.1).
    tls13_client = ClientConnection(
        ClientConfig(verify_certificates=False, min_version=TLS13), "localhost"
    )
    tls13_client.data_to_send()
    server = ServerConnection(server_with(max_version=TLS12))
    server.receive_data(ClientConnection(client12(), "localhost").data_to_send())
    with pytest.raises(ProtocolVersionError) as exc_info:
        tls13_client.receive_data(server.data_to_send())
    assert exc_info.value.alert is AlertDescription.PROTOCOL_VERSION
    assert tls13_client.data_to_send() == plaintext_alert(AlertDescription.PROTOCOL_VERSION)


# --- downgrade protection (RFC 8446 §4.1.3) ---------------------------------------------------


def test_stripping_tls13_from_the_client_hello_is_detected() -> None:
    client = ClientConnection(ClientConfig(verify_certificates=False), "localhost")
    hello = hello_of(client.data_to_send())
    assert hello.get(SupportedVersionsClientHello) is not None
    tls13_suites = {0x1301, 0x1302, 0x1303, 0x1304, 0x1305}
    downgraded = rewritten(
        hello,
        extensions=without(hello, SupportedVersionsClientHello, KeyShareClientHello),
        cipher_suites=tuple(s for s in hello.cipher_suites if s not in tls13_suites),
    )
    server = ServerConnection(server_with())  # a default server: TLS 1.2 and 1.3
    server.receive_data(downgraded)
    flight = server.data_to_send()
    server_hello = decode_handshake(_split_messages(flight[5:])[0], version=TLS12)
    assert isinstance(server_hello, ServerHello)
    assert server_hello.legacy_version == TLS12
    assert server_hello.random.endswith(DOWNGRADE_TLS12)
    with pytest.raises(IllegalParameter) as exc_info:
        client.receive_data(flight)
    assert exc_info.value.alert is AlertDescription.ILLEGAL_PARAMETER
    assert client.state is ConnectionState.FAILED
    alert = client.data_to_send()
    assert alert == plaintext_alert(AlertDescription.ILLEGAL_PARAMETER)
    with pytest.raises(AlertReceived) as received_alert:
        server.receive_data(alert)
    assert received_alert.value.description == AlertDescription.ILLEGAL_PARAMETER


# --- TLS_FALLBACK_SCSV (RFC 7507) -------------------------------------------------------------


def test_fallback_scsv_to_a_server_that_supports_more_is_inappropriate_fallback() -> None:
    client = ClientConnection(client12(fallback_scsv=True), "localhost")
    flight = client.data_to_send()
    assert 0x5600 in hello_of(flight).cipher_suites  # TLS_FALLBACK_SCSV
    server = ServerConnection(server_with())
    with pytest.raises(InappropriateFallback) as exc_info:
        server.receive_data(flight)
    assert exc_info.value.alert is AlertDescription.INAPPROPRIATE_FALLBACK
    alert = server.data_to_send()
    assert alert == plaintext_alert(AlertDescription.INAPPROPRIATE_FALLBACK)
    with pytest.raises(AlertReceived) as received_alert:
        client.receive_data(alert)
    assert received_alert.value.description == AlertDescription.INAPPROPRIATE_FALLBACK


def test_fallback_scsv_to_a_tls12_only_server_works() -> None:
    run = connect(client12(fallback_scsv=True), server_with(max_version=TLS12))
    assert run.client_done.version == run.server_done.version == "TLSv1.2"
    assert_data_flows(run.client, run.server)


def test_no_fallback_scsv_by_default() -> None:
    assert 0x5600 not in hello_of(ClientConnection(client12(), "x").data_to_send()).cipher_suites


# --- resumption by session ID (RFC 5246 §7.3, §7.4.1.2) ---------------------------------------


@dataclasses.dataclass
class Resumption:
    clock: Clock
    store: InMemoryClientSessionStore
    sealer: AeadTicketSealer
    cache: InMemorySessionCache
    client_config: ClientConfig
    server_config: ServerConfig

    def connect(self, name: str = "localhost", **server_changes: object) -> Run:
        server_config = dataclasses.replace(self.server_config, **server_changes)  # type: ignore[arg-type]
        return connect(self.client_config, server_config, name)

    def session(self, name: str = "localhost") -> ClientSession:
        """The stored session (taken out and put back)."""
        session = self.store.get(name, self.clock.now)
        assert session is not None
        self.store.put(session)
        return session


def resumption(*, tickets: bool, **server_kwargs: object) -> Resumption:
    clock = Clock()
    store = InMemoryClientSessionStore()
    sealer = AeadTicketSealer()
    cache = InMemorySessionCache()
    client_config = ClientConfig(
        verify_certificates=False, session_store=store, clock=clock, trace_handshake=True
    )
    # Explicit sealer and cache: dataclasses.replace() of the config keeps them.
    server_config = server_with(
        max_version=TLS12,
        clock=clock,
        session_tickets=2 if tickets else 0,
        ticket_sealer=sealer,
        session_cache=cache,
        **server_kwargs,
    )
    return Resumption(clock, store, sealer, cache, client_config, server_config)


@pytest.fixture
def by_id() -> Resumption:
    return resumption(tickets=False)


@pytest.fixture
def by_ticket() -> Resumption:
    return resumption(tickets=True)


FULL = ["client_hello", "server_hello", "certificate", "server_key_exchange", "server_hello_done",
        "client_key_exchange", "finished", "finished"]  # fmt: skip
ABBREVIATED = ["client_hello", "server_hello", "finished", "finished"]


def names(run: Run) -> list[str]:
    return [e.name for e in run.client_events if isinstance(e, HandshakeMessageTraced)]


def test_session_id_resumption(by_id: Resumption) -> None:
    first = by_id.connect()
    assert not first.client_done.resumed and not first.server_done.resumed
    assert names(first) == FULL
    session = by_id.session()
    assert session.session_id and session.ticket == b""
    assert len(by_id.cache) == 1

    second = by_id.connect()
    assert second.client_done.resumed and second.server_done.resumed
    assert names(second) == ABBREVIATED  # no Certificate, no key exchange
    sent_hello = second.message("client", "client_hello")
    assert sent_hello.legacy_session_id == session.session_id
    server_hello = second.message("client", "server_hello")
    assert server_hello.legacy_session_id_echo == session.session_id
    for complete in (second.client_done, second.server_done):
        assert complete.version == "TLSv1.2"
        assert complete.cipher_suite == first.client_done.cipher_suite
        assert complete.group is None and complete.signature_scheme is None
    # no Certificate message: the client reports the chain its session kept (RFC 5246 §7.3),
    # the server the client chain of its session (none here)
    assert second.client_done.peer_certificates == first.client_done.peer_certificates != ()
    assert second.server_done.peer_certificates == ()
    assert_data_flows(second.client, second.server)
    # A different connection: fresh randoms, so fresh keys and exporter values.
    label = "EXPORTER-resumed"
    assert second.client.export_keying_material(label, 32) == second.server.export_keying_material(
        label, 32
    )
    assert second.client.export_keying_material(label, 32) != first.client.export_keying_material(
        label, 32
    )


def test_one_session_is_resumed_several_times(by_id: Resumption) -> None:
    by_id.connect()
    session_id = by_id.session().session_id
    for _ in range(4):
        run = by_id.connect()
        assert run.client_done.resumed and run.server_done.resumed
        assert by_id.session().session_id == session_id
        assert_data_flows(run.client, run.server)
    assert len(by_id.store) == 1 and len(by_id.cache) == 1


def test_an_unknown_session_id_gets_a_full_handshake(by_id: Resumption) -> None:
    by_id.connect()
    run = by_id.connect(session_cache=InMemorySessionCache())  # e.g. a restarted server
    assert not run.client_done.resumed and not run.server_done.resumed
    assert names(run) == FULL
    assert_data_flows(run.client, run.server)


def test_session_ids_off_means_no_resumption() -> None:
    setup = resumption(tickets=False, session_ids=False)
    setup.connect()
    assert len(setup.store) == 0  # neither an ID nor a ticket: nothing to resume with
    run = setup.connect()
    assert not run.client_done.resumed


# --- resumption by ticket (RFC 5077) ----------------------------------------------------------


def test_ticket_resumption(by_ticket: Resumption) -> None:
    first = by_ticket.connect()
    assert "new_session_ticket" in names(first)
    assert names(first)[-2:] == ["new_session_ticket", "finished"]  # before the server's CCS
    session = by_ticket.session()
    assert session.ticket and session.session_id == b""
    assert len(by_ticket.cache) == 0  # a ticket instead of a cached ID (RFC 5077 §3.4)

    second = by_ticket.connect()
    assert second.client_done.resumed and second.server_done.resumed
    assert names(second) == ABBREVIATED  # young ticket: not renewed
    sent_hello = second.message("client", "client_hello")
    assert sent_hello.get(SessionTicket).ticket == session.ticket
    assert second.message("client", "server_hello").legacy_session_id_echo == (
        sent_hello.legacy_session_id
    )
    assert_data_flows(second.client, second.server)
    assert by_ticket.connect().client_done.resumed  # the ticket may be used again


def test_ticket_older_than_half_its_lifetime_is_renewed(by_ticket: Resumption) -> None:
    by_ticket.connect()
    old = by_ticket.session()
    by_ticket.clock.now += 3601  # the lifetime is 7200 s
    run = by_ticket.connect()
    assert run.client_done.resumed and run.server_done.resumed
    assert names(run) == ["client_hello", "server_hello", "new_session_ticket", "finished",
                          "finished"]  # fmt: skip
    new = by_ticket.session()
    assert new.ticket != old.ticket
    assert new.received_at == by_ticket.clock.now
    assert new.psk == old.psk  # the same session, a new ticket
    assert len(by_ticket.store) == 1
    by_ticket.clock.now += 3601  # the original ticket would have expired now
    run = by_ticket.connect()
    assert run.client_done.resumed and run.server_done.resumed


def test_rotated_ticket_keys_still_resume_and_dropped_ones_do_not() -> None:
    setup = resumption(tickets=True)
    sealer = AeadTicketSealer(keep=1)
    setup.server_config = dataclasses.replace(setup.server_config, ticket_sealer=sealer)
    setup.connect()
    sealer.rotate()  # the ticket's key is now the previous key: still opens
    run = setup.connect()
    assert run.client_done.resumed and run.server_done.resumed
    sealer.rotate()
    sealer.rotate()  # the ticket's key is gone
    run = setup.connect()
    assert not run.client_done.resumed and not run.server_done.resumed
    assert names(run)[:3] == ["client_hello", "server_hello", "certificate"]
    assert_data_flows(run.client, run.server)
    assert setup.connect().client_done.resumed  # the new ticket works


def test_expired_session_id_is_not_resumed() -> None:
    setup = resumption(tickets=False, ticket_lifetime=100)
    setup.connect()
    session = setup.session()
    setup.clock.now += 101  # past the server's lifetime, not the client's default
    run = setup.connect()
    sent_hello = run.message("client", "client_hello")
    assert sent_hello.legacy_session_id == session.session_id
    assert not run.client_done.resumed and not run.server_done.resumed
    assert names(run) == FULL


def test_expired_ticket_is_not_offered_nor_accepted() -> None:
    setup = resumption(tickets=True, ticket_lifetime=100)
    setup.connect()
    session = setup.session()
    assert session.ticket_lifetime == 100  # the lifetime hint
    setup.clock.now += 101
    run = setup.connect()
    assert run.message("client", "client_hello").get(SessionTicket).ticket == b""
    assert not run.client_done.resumed
    # A client that keeps it longer than the hint: the server refuses the expired ticket.
    setup.store.put(dataclasses.replace(session, ticket_lifetime=7200))
    run = setup.connect()
    assert run.message("client", "client_hello").get(SessionTicket).ticket == session.ticket
    assert not run.client_done.resumed and not run.server_done.resumed
    assert names(run)[2] == "certificate"


@pytest.mark.parametrize("tickets", [False, True], ids=["session-id", "ticket"])
def test_session_for_another_server_name_is_not_resumed(tickets: bool) -> None:
    setup = resumption(tickets=tickets)
    setup.connect()
    session = setup.session()
    setup.store.put(dataclasses.replace(session, server_name="other.example"))
    run = setup.connect("other.example")
    offered = run.message("client", "client_hello")
    assert offered.legacy_session_id == session.session_id or (
        offered.get(SessionTicket).ticket == session.ticket
    )
    assert not run.client_done.resumed and not run.server_done.resumed  # RFC 6066 §3
    assert run.server_done.server_name == "other.example"


@pytest.mark.parametrize("tickets", [False, True], ids=["session-id", "ticket"])
def test_session_with_another_alpn_protocol_is_not_resumed(tickets: bool) -> None:
    setup = resumption(tickets=tickets, alpn_protocols=("h2", "http/1.1"))
    setup.client_config = dataclasses.replace(setup.client_config, alpn_protocols=("h2",))
    first = setup.connect()
    assert first.client_done.alpn_protocol == "h2"
    assert setup.connect().client_done.resumed  # same protocol: resumed
    setup.client_config = dataclasses.replace(setup.client_config, alpn_protocols=("http/1.1",))
    run = setup.connect()
    assert not run.client_done.resumed and not run.server_done.resumed
    assert run.client_done.alpn_protocol == run.server_done.alpn_protocol == "http/1.1"


@pytest.mark.parametrize("tickets", [False, True], ids=["session-id", "ticket"])
def test_session_whose_suite_the_client_no_longer_offers_is_not_offered(tickets: bool) -> None:
    setup = resumption(tickets=tickets)
    first = setup.connect()
    session = setup.session()
    others = tuple(s for s in TLS12_SUITES if s.name != first.client_done.cipher_suite)
    setup.client_config = dataclasses.replace(setup.client_config, tls12_cipher_suites=others)
    run = setup.connect()
    offered = run.message("client", "client_hello")
    assert offered.get(SessionTicket).ticket == b""
    assert offered.legacy_session_id != session.session_id
    assert not run.client_done.resumed and not run.server_done.resumed
    assert run.client_done.cipher_suite != first.client_done.cipher_suite


@pytest.mark.parametrize("tickets", [False, True], ids=["session-id", "ticket"])
def test_session_whose_suite_the_server_no_longer_accepts_is_not_resumed(tickets: bool) -> None:
    setup = resumption(tickets=tickets)
    first = setup.connect()
    others = tuple(s for s in TLS12_SUITES if s.name != first.client_done.cipher_suite)
    run = setup.connect(tls12_cipher_suites=others)
    assert not run.client_done.resumed and not run.server_done.resumed
    assert run.client_done.cipher_suite != first.client_done.cipher_suite
    assert_data_flows(run.client, run.server)


def test_session_without_extended_master_secret_is_not_offered(by_id: Resumption) -> None:
    by_id.connect()
    session = by_id.session()
    by_id.store.put(dataclasses.replace(session, extended_master_secret=False))
    run = by_id.connect()
    offered = run.message("client", "client_hello")
    assert offered.legacy_session_id != session.session_id  # RFC 7627 §5.3
    assert not run.client_done.resumed


def test_server_does_not_resume_a_cached_session_without_extended_master_secret(
    by_id: Resumption,
) -> None:
    """RFC 7627 §5.3: original session without EMS, new ClientHello with it: the server MUST
    NOT resume and SHOULD do a full handshake."""
    by_id.connect()
    session = by_id.session()
    cached = by_id.cache.get(session.session_id, by_id.clock.now)
    assert cached is not None and cached.extended_master_secret
    by_id.cache.put(session.session_id, dataclasses.replace(cached, extended_master_secret=False))
    run = by_id.connect()
    assert not run.client_done.resumed and not run.server_done.resumed
    assert names(run) == FULL
    assert_data_flows(run.client, run.server)


def test_resumption_offer_without_extended_master_secret_aborts(by_id: Resumption) -> None:
    """RFC 7627 §5.3: "If the original session used the extended_master_secret extension but
    the new ClientHello does not contain it, the server MUST abort the abbreviated handshake."
    (OpenSSL answers illegal_parameter, BoringSSL and NSS handshake_failure.)"""
    by_id.connect()
    session = by_id.session()
    client = ClientConnection(by_id.client_config, "localhost")
    hello = hello_of(client.data_to_send())
    assert hello.legacy_session_id == session.session_id
    no_ems = rewritten(hello, extensions=without(hello, ExtendedMasterSecret))
    server = ServerConnection(by_id.server_config)
    with pytest.raises(ProtocolError) as exc_info:
        server.receive_data(no_ems)
    assert exc_info.value.alert in (
        AlertDescription.HANDSHAKE_FAILURE,
        AlertDescription.ILLEGAL_PARAMETER,
    )
    assert server.data_to_send() == plaintext_alert(exc_info.value.alert)


def test_resuming_server_hello_without_extended_master_secret_aborts(by_id: Resumption) -> None:
    """RFC 7627 §5.3: the original session used EMS, the ServerHello that resumes it does not:
    the client MUST abort."""
    by_id.connect()
    client = ClientConnection(by_id.client_config, "localhost")
    server = ServerConnection(by_id.server_config)
    server.receive_data(client.data_to_send())
    flight = server.data_to_send()
    first = _split_messages(flight[5 : 5 + int.from_bytes(flight[3:5], "big")])
    server_hello = decode_handshake(first[0], version=TLS12)
    assert isinstance(server_hello, ServerHello) and server_hello.get(ExtendedMasterSecret)
    with pytest.raises(HandshakeFailure) as exc_info:
        client.receive_data(
            rewritten(server_hello, extensions=without(server_hello, ExtendedMasterSecret))
        )
    assert exc_info.value.alert is AlertDescription.HANDSHAKE_FAILURE
    assert client.data_to_send() == plaintext_alert(AlertDescription.HANDSHAKE_FAILURE)


def test_server_hello_echoing_an_unoffered_session_id_is_illegal_parameter() -> None:
    """A server that "resumes" the random legacy_session_id of a client that offered no session
    (RFC 5246 §7.4.1.3: it echoes only an ID it found in its cache)."""
    client = ClientConnection(ClientConfig(verify_certificates=False), "localhost")
    hello = hello_of(client.data_to_send())
    assert len(hello.legacy_session_id) == 32  # RFC 8446 D.4 compatibility mode: random
    server = ServerConnection(server_with(max_version=TLS12, session_tickets=0))
    server.receive_data(client_hello_record(hello))
    flight = server.data_to_send()
    server_hello = decode_handshake(_split_messages(flight[5:])[0], version=TLS12)
    assert isinstance(server_hello, ServerHello)
    assert server_hello.legacy_session_id_echo not in (b"", hello.legacy_session_id)  # a new ID
    with pytest.raises(IllegalParameter) as exc_info:
        client.receive_data(rewritten(server_hello, legacy_session_id_echo=hello.legacy_session_id))
    assert exc_info.value.alert is AlertDescription.ILLEGAL_PARAMETER
    assert client.data_to_send() == plaintext_alert(AlertDescription.ILLEGAL_PARAMETER)


def client_hello_record(hello: ClientHello) -> bytes:
    return record(ContentType.HANDSHAKE, hello.raw)


# --- a failed connection's session is forgotten (RFC 5246 §7.2.2) ------------------------------


def _tampered(data: bytes) -> bytes:
    tampered = bytearray(data)
    tampered[-1] ^= 1
    return bytes(tampered)


def test_server_forgets_the_session_of_a_connection_that_failed(by_id: Resumption) -> None:
    run = by_id.connect()
    assert len(by_id.cache) == 1
    run.client.send(b"tampered with")
    with pytest.raises(ProtocolError):
        run.server.receive_data(_tampered(run.client.data_to_send()))
    assert len(by_id.cache) == 0
    assert not by_id.connect().server_done.resumed


def test_server_forgets_the_session_when_the_client_sends_a_fatal_alert(
    by_id: Resumption,
) -> None:
    run = by_id.connect()
    run.server.send(b"tampered with")
    with pytest.raises(ProtocolError):
        run.client.receive_data(_tampered(run.server.data_to_send()))
    with pytest.raises(AlertReceived):
        run.server.receive_data(run.client.data_to_send())
    assert len(by_id.cache) == 0
    assert not by_id.connect().server_done.resumed


def test_server_forgets_a_session_whose_abbreviated_handshake_failed(by_id: Resumption) -> None:
    """RFC 5246 §7.2.2: "any connection terminated with a fatal alert MUST NOT be resumed"; a
    resumption whose client Finished fails ends the session too."""
    by_id.connect()
    client = ClientConnection(by_id.client_config, "localhost")
    server = ServerConnection(by_id.server_config)
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())  # ServerHello, CCS, Finished
    with pytest.raises(ProtocolError) as exc_info:
        server.receive_data(_tampered(client.data_to_send()))  # the client's Finished
    assert exc_info.value.alert is AlertDescription.BAD_RECORD_MAC
    assert len(by_id.cache) == 0
    assert not by_id.connect().server_done.resumed


def test_client_forgets_the_session_of_a_connection_that_failed(by_id: Resumption) -> None:
    """RFC 5246 §7.2.2: "Servers and clients MUST forget any session-identifiers, keys, and
    secrets associated with a failed connection"."""
    run = by_id.connect()
    session_id = by_id.session().session_id
    run.server.send(b"tampered with")
    with pytest.raises(ProtocolError) as exc_info:
        run.client.receive_data(_tampered(run.server.data_to_send()))
    assert exc_info.value.alert is AlertDescription.BAD_RECORD_MAC
    next_run = by_id.connect()
    offered = next_run.message("client", "client_hello")
    assert offered.legacy_session_id != session_id


# --- client certificates (RFC 5246 §7.4.4, §7.4.6, §7.4.8) --------------------------------------


def auth_server(mode: str, trusted: CertifiedKey) -> ServerConfig:
    return server_with(max_version=TLS12, client_auth=mode, client_cadata=pem(trusted))


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa-2048", "ed25519"])
@pytest.mark.parametrize("mode", ["required", "optional"])
def test_client_certificate(mode: str, key_type: str) -> None:
    certified = client_cert(key_type)
    client_config = ClientConfig(
        cadata=pem(server_cert()), certificates=(certified,), trace_handshake=True
    )
    run = connect(client_config, auth_server(mode, certified))
    assert run.server_done.peer_certificates == (certified.leaf,)
    assert run.client_done.peer_certificates == (server_cert().leaf,)
    assert run.client_done.version == "TLSv1.2"
    assert run.traced("client", "sent") == [
        "client_hello", "certificate", "client_key_exchange", "certificate_verify", "finished"
    ]  # fmt: skip
    assert "certificate_request" in run.traced("client", "received")
    assert_data_flows(run.client, run.server)


def test_optional_client_certificate_not_given() -> None:
    client_config = ClientConfig(cadata=pem(server_cert()), trace_handshake=True)
    run = connect(client_config, auth_server("optional", client_cert()))
    assert run.server_done.peer_certificates == ()
    # An empty Certificate and no CertificateVerify (RFC 5246 §7.4.6).
    assert run.traced("client", "sent") == [
        "client_hello", "certificate", "client_key_exchange", "finished"
    ]  # fmt: skip
    assert_data_flows(run.client, run.server)


def test_required_client_certificate_not_given_is_handshake_failure() -> None:
    client = ClientConnection(ClientConfig(cadata=pem(server_cert())), "localhost")
    server = ServerConnection(auth_server("required", client_cert()))
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    with pytest.raises(HandshakeFailure) as exc_info:
        server.receive_data(client.data_to_send())
    assert exc_info.value.alert is AlertDescription.HANDSHAKE_FAILURE
    alert = server.data_to_send()
    assert alert == plaintext_alert(AlertDescription.HANDSHAKE_FAILURE)
    with pytest.raises(AlertReceived) as received_alert:
        client.receive_data(alert)
    assert received_alert.value.description == AlertDescription.HANDSHAKE_FAILURE


def test_untrusted_client_certificate_is_refused() -> None:
    stranger = CertifiedKey.self_signed(("stranger.example",), key_type="ecdsa-p256")
    client = ClientConnection(
        ClientConfig(cadata=pem(server_cert()), certificates=(stranger,)), "localhost"
    )
    server = ServerConnection(auth_server("required", client_cert()))
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    with pytest.raises(ProtocolError) as exc_info:
        server.receive_data(client.data_to_send())
    assert exc_info.value.alert in (AlertDescription.UNKNOWN_CA, AlertDescription.BAD_CERTIFICATE)


def test_no_certificate_request_in_an_abbreviated_handshake() -> None:
    certified = client_cert()
    store = InMemoryClientSessionStore()
    client_config = ClientConfig(
        cadata=pem(server_cert()), certificates=(certified,), session_store=store,
        trace_handshake=True,
    )  # fmt: skip
    server_config = dataclasses.replace(
        auth_server("required", certified), session_tickets=0, session_cache=InMemorySessionCache()
    )
    connect(client_config, server_config)
    run = connect(client_config, server_config)
    assert run.client_done.resumed and run.server_done.resumed
    assert names(run) == ABBREVIATED


# --- ALPN and SNI -----------------------------------------------------------------------------


def test_alpn_in_tls12() -> None:
    run = connect(
        client12(alpn_protocols=("h2", "http/1.1"), trace_handshake=True),
        server_with(alpn_protocols=("http/1.1", "h2")),
    )
    assert run.client_done.alpn_protocol == run.server_done.alpn_protocol == "http/1.1"
    run = connect(client12(alpn_protocols=("h2",)), server_with(alpn_protocols=("http/1.1", "h2")))
    assert run.client_done.alpn_protocol == run.server_done.alpn_protocol == "h2"
    run = connect(client12(alpn_protocols=("h2",)), server_with())  # server without ALPN
    assert run.client_done.alpn_protocol is None and run.server_done.alpn_protocol is None


def test_alpn_without_overlap_is_no_application_protocol() -> None:
    client = ClientConnection(client12(alpn_protocols=("h2",)), "localhost")
    server = ServerConnection(server_with(alpn_protocols=("smtp",)))
    with pytest.raises(ProtocolError) as exc_info:
        server.receive_data(client.data_to_send())
    assert exc_info.value.alert is AlertDescription.NO_APPLICATION_PROTOCOL
    assert server.data_to_send() == plaintext_alert(AlertDescription.NO_APPLICATION_PROTOCOL)


def test_server_name_is_seen_and_acknowledged() -> None:
    run = connect(client12(trace_handshake=True), server_with(trace_handshake=True))
    assert run.client_done.server_name == run.server_done.server_name == "localhost"
    server_hello = run.message("client", "server_hello")
    assert server_hello.get(ServerName) is not None  # RFC 6066 §3: empty
    run = connect(client12(trace_handshake=True), server_with(), name="127.0.0.1")
    # no SNI for an IP address (RFC 6066 §3), and both ends say so
    assert run.client_done.server_name is run.server_done.server_name is None
    assert run.message("client", "server_hello").get(ServerName) is None


# --- renegotiation is refused (RFC 5246 §7.4.1.1, §7.4.1.2; RFC 5746 §4) -----------------------


def established() -> Run:
    run = connect(client12(), server_with())
    assert run.client.state is run.server.state is ConnectionState.APP_DATA
    return run


def test_client_hello_after_the_handshake_gets_no_renegotiation() -> None:
    run = established()
    fresh_hello = ClientConnection(client12(), "localhost").data_to_send()[5:]
    run.client._records.write(ContentType.HANDSHAKE, fresh_hello)  # through the client's keys
    events = run.server.receive_data(run.client.data_to_send())
    assert events == []
    assert run.server.state is ConnectionState.APP_DATA
    warning = run.server.data_to_send()
    assert warning[0] == ContentType.ALERT and len(warning) > 7  # encrypted
    assert run.client.receive_data(warning) == [
        WarningAlertReceived(description=AlertDescription.NO_RENEGOTIATION)
    ]
    assert run.client.state is ConnectionState.APP_DATA
    assert_data_flows(run.client, run.server)


def test_hello_request_after_the_handshake_gets_no_renegotiation() -> None:
    run = established()
    run.server._records.write(ContentType.HANDSHAKE, b"\x00\x00\x00\x00")  # HelloRequest
    assert run.client.receive_data(run.server.data_to_send()) == []
    assert run.client.state is ConnectionState.APP_DATA
    assert run.server.receive_data(run.client.data_to_send()) == [
        WarningAlertReceived(description=AlertDescription.NO_RENEGOTIATION)
    ]
    assert run.server.state is ConnectionState.APP_DATA
    assert_data_flows(run.client, run.server)
    # Again: each request is answered the same way.
    run.server._records.write(ContentType.HANDSHAKE, b"\x00\x00\x00\x00")
    run.client.receive_data(run.server.data_to_send())
    assert run.server.receive_data(run.client.data_to_send()) == [
        WarningAlertReceived(description=AlertDescription.NO_RENEGOTIATION)
    ]


def test_hello_request_during_the_handshake_is_ignored() -> None:
    """RFC 5246 §7.4.1.1: ignored while negotiating, and not part of the handshake hash."""
    client = ClientConnection(client12(), "localhost")
    server = ServerConnection(server_with())
    server.receive_data(client.data_to_send())
    flight = server.data_to_send()
    messages = _split_messages(flight[5:])
    spliced = [messages[0], b"\x00\x00\x00\x00", *messages[1:]]
    client.receive_data(record(ContentType.HANDSHAKE, b"".join(spliced)))
    client_events, server_events = pump(client, server)
    assert done(client_events).version == done(server_events).version == "TLSv1.2"
    assert client.data_to_send() == b""  # no alert was sent
    assert_data_flows(client, server)


def test_key_update_is_not_available_in_tls12() -> None:
    run = established()
    with pytest.raises(UsageError):
        run.client.key_update()


# --- close_notify (RFC 5246 §7.2.1) -----------------------------------------------------------


@pytest.mark.parametrize("closer", ["client", "server"])
def test_close_notify_is_answered_at_once(closer: str) -> None:
    run = established()
    first, second = (run.client, run.server) if closer == "client" else (run.server, run.client)
    first.close()
    assert first.state is ConnectionState.HOST_INITIATED_CLOSING
    events = second.receive_data(first.data_to_send())
    assert events == [ConnectionClosed()]
    assert second.state is ConnectionState.SHUTDOWN  # answered at once, not half-closed
    answer = second.data_to_send()
    assert answer[0] == ContentType.ALERT
    assert first.receive_data(answer) == [ConnectionClosed()]
    assert first.state is ConnectionState.SHUTDOWN
    with pytest.raises(UsageError):
        second.send(b"too late")
    assert first.receive_data(b"\x17\x03\x03\x00\x01\x00") == []  # ignored after closure


def test_data_sent_before_close_notify_arrives() -> None:
    run = established()
    run.client.send(b"last words")
    run.client.close()
    events = run.server.receive_data(run.client.data_to_send())
    assert events == [ApplicationData(data=b"last words"), ConnectionClosed()]


# --- sessions are usable by the application ---------------------------------------------------


def test_tls12_session_state_round_trips() -> None:
    session = Tls12Session(
        cipher_suite=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256.id,
        master_secret=bytes(48),
        extended_master_secret=True,
        issued_at=1,
        lifetime=2,
        alpn_protocol=b"h2",
        server_name=b"localhost",
    )
    assert Tls12Session.parse(session.serialize()) == session


@pytest.mark.parametrize("side", ["client", "server"])
def test_dh_public_values_go_without_leading_zeros(side: str) -> None:
    """RFC 5246 §4: DH values are "represented as unsigned integers (i.e., leading zero octets
    are not required ...)": TLS 1.2 sends dh_Yc and dh_Ys minimal, as OpenSSL and Go do (TLS
    1.3 pads them, RFC 8446 §4.2.8.1). Haskell's tls 1.5 got a wrong premaster secret from a
    padded dh_Yc, one handshake in 256. A private exponent of 100 gives the public value
    2^100: 13 bytes, not 256."""

    def small(group: Group) -> PrivateKeyShare:
        return group.from_private_bytes((100).to_bytes(1, "big"))

    factory = {"key_share_factory": small}
    client_config = client12(
        tls12_cipher_suites=(TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,),
        groups=(FFDHE2048,),
        trace_handshake=True,
        **(factory if side == "client" else {}),
    )
    server_config = server_with("rsa-2048", **(factory if side == "server" else {}))
    run = connect(client_config, server_config)
    assert run.client_done.group == run.server_done.group == "ffdhe2048"
    if side == "client":
        public = run.message("client", "client_key_exchange").dh_public()
    else:
        public = run.message("client", "server_key_exchange").dhe().ys
    assert public == (1 << 100).to_bytes(13, "big")
    assert_data_flows(run.client, run.server)
