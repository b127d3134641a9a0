"""Named policy profiles (tlsmachine.profiles): configs they build and what pairs negotiate."""

from __future__ import annotations

import dataclasses
import functools

import pytest

from memory_pair import pump
from tlsmachine import (
    AlertReceived,
    ClientConfig,
    ClientConnection,
    ConfigurationError,
    HandshakeComplete,
    ServerConfig,
    ServerConnection,
    profiles,
)
from tlsmachine.certs import CertifiedKey
from tlsmachine.enums import AlertDescription, ProtocolVersion
from tlsmachine.errors import HandshakeFailure, ProtocolError, ProtocolVersionError

PQ_GROUPS = ["X25519MLKEM768", "SecP256r1MLKEM768", "SecP384r1MLKEM1024", "MLKEM768", "MLKEM1024"]


@functools.cache
def certificate(key_type: str) -> CertifiedKey:
    return CertifiedKey.self_signed(("localhost",), key_type=key_type)


def server_certificate(name: str) -> CertifiedKey:
    return certificate("mldsa87" if name == "cnsa2" else "ecdsa-p256")


def handshake(
    client_config: ClientConfig, server_config: ServerConfig
) -> tuple[HandshakeComplete, HandshakeComplete]:
    client = ClientConnection(client_config, "localhost")
    server = ServerConnection(server_config)
    client_events, server_events = pump(client, server)
    (done,) = [e for e in client_events if isinstance(e, HandshakeComplete)]
    (server_done,) = [e for e in server_events if isinstance(e, HandshakeComplete)]
    assert (done.version, done.cipher_suite, done.group) == (
        server_done.version,
        server_done.cipher_suite,
        server_done.group,
    )
    return done, server_done


def pair(name: str, key_type: str | None = None, **client: object) -> HandshakeComplete:
    profile = profiles.get(name)
    certified = certificate(key_type) if key_type else server_certificate(name)
    client_config = profile.client_config(cadata=certified.chain_pem(), **client)
    done, _ = handshake(client_config, profile.server_config(certificates=(certified,)))
    return done


def names(config: ClientConfig | ServerConfig) -> list[str]:
    return [g.name for g in config.groups]


# --- the registry ---------------------------------------------------------------------------------


def test_profile_names() -> None:
    assert list(profiles.PROFILES) == ["default", "compat", "pq-only", "cnsa2"]
    for name, profile in profiles.PROFILES.items():
        assert profile.name == name
        assert profile.summary
        assert type(profile).__doc__ and len(type(profile).__doc__ or "") > 100
        assert profiles.get(name) is profile
    assert profiles.get("PQ_ONLY") is profiles.PROFILES["pq-only"]
    assert profiles.get(" CNSA2 ") is profiles.PROFILES["cnsa2"]


def test_unknown_profile_lists_the_names() -> None:
    with pytest.raises(ConfigurationError) as raised:
        profiles.get("fips")
    message = str(raised.value)
    assert "unknown profile 'fips'" in message
    assert "default, compat, pq-only, cnsa2" in message


def test_profiles_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        profiles.PROFILES["cnsa2"].groups = ("x25519",)  # type: ignore[misc]


# --- configs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(profiles.PROFILES))
def test_each_profile_builds_client_and_server_configs(name: str) -> None:
    profile = profiles.get(name)
    client = profile.client_config()
    server = profile.server_config(certificates=(server_certificate(name),))
    assert isinstance(client, ClientConfig) and isinstance(server, ServerConfig)
    for config in (client, server):
        for field in profile.values(server=config is server):
            assert getattr(config, field) is not None, field


def test_default_is_the_library_defaults() -> None:
    profile = profiles.get("default")
    assert profile.values() == {}
    assert profile.client_config() == ClientConfig()
    server = profile.server_config(certificates=(certificate("ecdsa-p256"),))
    assert server.groups == ServerConfig(certificates=(certificate("ecdsa-p256"),)).groups


def test_compat_config() -> None:
    client = profiles.get("compat").client_config()
    assert names(client)[:5] == ["x25519", "secp256r1", "x448", "secp384r1", "secp521r1"]
    assert names(client)[-1] == "X25519MLKEM768"
    assert [g.name for g in client.initial_share_groups] == ["x25519"]
    assert (client.min_version, client.max_version) == (
        ProtocolVersion.TLS12,
        ProtocolVersion.TLS13,
    )
    assert any(s.key_exchange == "DHE" for s in client.tls12_cipher_suites)
    assert "TLS_AES_128_CCM_SHA256" in [s.name for s in client.cipher_suites]
    assert 0x0401 in client.signature_schemes  # rsa_pkcs1_sha256, for TLS 1.2
    server = profiles.get("compat").server_config(certificates=(certificate("ecdsa-p256"),))
    assert names(server) == names(client)  # key_share_groups is client-only


def test_pq_only_config() -> None:
    for config in (
        profiles.get("pq-only").client_config(),
        profiles.get("pq-only").server_config(certificates=(certificate("ecdsa-p256"),)),
    ):
        assert names(config) == PQ_GROUPS
        assert config.min_version == config.max_version == ProtocolVersion.TLS13


def test_cnsa2_config() -> None:
    client = profiles.get("cnsa2").client_config()
    assert names(client) == ["MLKEM1024"]
    assert [s.name for s in client.cipher_suites] == ["TLS_AES_256_GCM_SHA384"]
    assert client.signature_schemes == (0x0906, 0x0503)  # mldsa87, ecdsa_secp384r1_sha384
    assert client.min_version == client.max_version == ProtocolVersion.TLS13


def test_cnsa2_server_refuses_other_certificates() -> None:
    profiles.get("cnsa2").server_config(certificates=(certificate("ecdsa-p384"),))
    for key_type in ("ecdsa-p256", "mldsa65", "rsa-2048"):
        with pytest.raises(ConfigurationError, match="profile 'cnsa2': certificates"):
            profiles.get("cnsa2").server_config(certificates=(certificate(key_type),))


def test_overrides_win() -> None:
    client = profiles.get("pq-only").client_config(groups=["MLKEM1024"], alpn_protocols=["h2"])
    assert names(client) == ["MLKEM1024"]
    assert client.alpn_protocols == ("h2",)
    assert client.max_version == ProtocolVersion.TLS13  # the rest of the profile stays
    # compat's x25519 key share was chosen for its own groups: new groups, first one shared
    compat = profiles.get("compat").client_config(groups=["secp256r1", "x25519"])
    assert [g.name for g in compat.initial_share_groups] == ["secp256r1"]
    compat = profiles.get("compat").client_config(
        groups=["secp256r1", "x25519"], key_share_groups=["x25519"]
    )
    assert [g.name for g in compat.initial_share_groups] == ["x25519"]


def test_unknown_override_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="has no field 'grups' \\(did you mean 'groups'"):
        profiles.get("cnsa2").client_config(grups=["x25519"])
    with pytest.raises(ConfigurationError, match="ServerConfig has no field 'key_share_groups'"):
        profiles.get("compat").server_config(
            certificates=(certificate("ecdsa-p256"),), key_share_groups=["x25519"]
        )


def test_bad_override_names_the_profile() -> None:
    with pytest.raises(ConfigurationError, match="profile 'pq-only': groups: unknown group"):
        profiles.get("pq-only").client_config(groups=["x25591"])


def test_the_default_profile_is_not_named_in_errors() -> None:
    """It sets nothing, so an error is the caller's value alone (e.g. the CLI's --cafile)."""
    with pytest.raises(ConfigurationError, match=r"^cannot read cafile /nonexistent/ca\.pem"):
        profiles.get("default").client_config(cafile="/nonexistent/ca.pem")
    with pytest.raises(ConfigurationError, match=r"^groups: unknown group"):
        profiles.get("default").client_config(groups=["x25591"])


# --- same-profile pairs negotiate what the profile says -----------------------------------------


def test_default_pair() -> None:
    done = pair("default")
    assert done.version == "TLSv1.3"
    assert done.group == ClientConfig().groups[0].name


def test_compat_pair() -> None:
    done = pair("compat")
    assert (done.version, done.group, done.hello_retry) == ("TLSv1.3", "x25519", False)
    done = pair("compat", max_version="1.2")
    assert (done.version, done.group) == ("TLSv1.2", "x25519")
    rsa = pair("compat", "rsa-2048", max_version="1.2", groups=["ffdhe2048"])
    assert rsa.cipher_suite.startswith("TLS_DHE_RSA_WITH_")
    assert rsa.signature_scheme == "rsa_pss_rsae_sha256"
    pkcs1 = pair("compat", "rsa-2048", max_version="1.2", signature_schemes=["rsa_pkcs1_sha256"])
    assert pkcs1.signature_scheme == "rsa_pkcs1_sha256"


@pytest.mark.parametrize("group", PQ_GROUPS)
def test_pq_only_pair(group: str) -> None:
    done = pair("pq-only", key_share_groups=[group])
    assert (done.version, done.group, done.hello_retry) == ("TLSv1.3", group, False)


def test_pq_only_pair_defaults_to_the_first_hybrid() -> None:
    assert pair("pq-only").group == "X25519MLKEM768"


@pytest.mark.parametrize(
    ("key_type", "scheme"), [("mldsa87", "mldsa87"), ("ecdsa-p384", "ecdsa_secp384r1_sha384")]
)
def test_cnsa2_pair(key_type: str, scheme: str) -> None:
    done = pair("cnsa2", key_type)
    assert (done.version, done.cipher_suite, done.group, done.signature_scheme) == (
        "TLSv1.3",
        "TLS_AES_256_GCM_SHA384",
        "MLKEM1024",
        scheme,
    )


# --- a pq-only side never falls back to classical key exchange ------------------------------------


def _fails(
    client: ClientConnection, server: ServerConnection
) -> tuple[ProtocolError, AlertReceived]:
    with pytest.raises(ProtocolError) as server_error:
        server.receive_data(client.data_to_send())
    with pytest.raises(AlertReceived) as received:
        client.receive_data(server.data_to_send())
    return server_error.value, received.value


def test_pq_only_client_and_a_classical_server() -> None:
    certified = certificate("ecdsa-p256")
    client = ClientConnection(
        profiles.get("pq-only").client_config(cadata=certified.chain_pem()), "localhost"
    )
    classical = ServerConfig(certificates=(certified,), groups=("x25519", "secp256r1", "x448"))  # type: ignore[arg-type]
    error, received = _fails(client, ServerConnection(classical))
    assert isinstance(error, HandshakeFailure)
    assert received.description == AlertDescription.HANDSHAKE_FAILURE


def test_classical_client_and_a_pq_only_server() -> None:
    certified = certificate("ecdsa-p256")
    server = ServerConnection(profiles.get("pq-only").server_config(certificates=(certified,)))
    classical = ClientConfig(
        cadata=certified.chain_pem(),
        groups=("x25519", "secp256r1"),  # type: ignore[arg-type]
    )
    error, received = _fails(ClientConnection(classical, "localhost"), server)
    assert isinstance(error, HandshakeFailure)
    assert received.description == AlertDescription.HANDSHAKE_FAILURE


def test_tls12_client_and_a_pq_only_server_is_protocol_version() -> None:
    certified = certificate("ecdsa-p256")
    server = ServerConnection(profiles.get("pq-only").server_config(certificates=(certified,)))
    tls12 = ClientConfig(cadata=certified.chain_pem(), max_version="1.2")  # type: ignore[arg-type]
    client = ClientConnection(tls12, "localhost")
    error, received = _fails(client, server)
    assert isinstance(error, ProtocolVersionError)
    assert received.description == AlertDescription.PROTOCOL_VERSION


def test_cnsa2_client_and_a_default_server_is_handshake_failure() -> None:
    """The default server does not offer pure MLKEM1024: no group in common, no fallback."""
    certified = certificate("ecdsa-p384")
    server = ServerConnection(ServerConfig(certificates=(certified,)))
    if "MLKEM1024" in names(ServerConfig(certificates=(certified,))):
        pytest.skip("the default groups now include MLKEM1024")
    client = ClientConnection(
        profiles.get("cnsa2").client_config(cadata=certified.chain_pem()), "localhost"
    )
    error, received = _fails(client, server)
    assert isinstance(error, HandshakeFailure)
    assert received.description == AlertDescription.HANDSHAKE_FAILURE
