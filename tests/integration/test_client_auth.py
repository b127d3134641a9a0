"""Client authentication in the handshake (RFC 8446 §4.3.2, §4.4.2, §4.4.2.4, §4.4.3)."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from memory_pair import pump
from tls_fixtures import client_cert, server_cert
from tlsmachine import (
    AlertReceived,
    ClientConfig,
    ClientConnection,
    ConfigurationError,
    HandshakeComplete,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.certs import CertifiedKey
from tlsmachine.enums import AlertDescription
from tlsmachine.errors import CertificateRequired, UnknownCA


def trust(cert: CertifiedKey) -> bytes:
    return cert.leaf.public_bytes(Encoding.PEM)


def server_config(mode: str, trusted: CertifiedKey | None = None) -> ServerConfig:
    return ServerConfig(
        certificates=(server_cert(),),
        client_auth=mode,
        client_cadata=trust(trusted or client_cert()),
    )


def client_config(*certs: CertifiedKey) -> ClientConfig:
    return ClientConfig(cadata=trust(server_cert()), certificates=certs)


def run(client_cfg: ClientConfig, server_cfg: ServerConfig):  # type: ignore[no-untyped-def]
    client = ClientConnection(client_cfg, "localhost")
    server = ServerConnection(server_cfg)
    ce, se = pump(client, server)
    return client, server, ce, se


def complete(events: list) -> HandshakeComplete:  # type: ignore[type-arg]
    (done,) = [e for e in events if isinstance(e, HandshakeComplete)]
    return done


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa-2048", "ed25519"])
def test_required_client_certificate(key_type: str) -> None:
    certified = client_cert(key_type)
    _, _, ce, se = run(client_config(certified), server_config("required", certified))
    assert complete(se).peer_certificates == (certified.leaf,)
    assert complete(ce).peer_certificates == (server_cert().leaf,)


def test_optional_without_a_certificate() -> None:
    _, _, _, se = run(client_config(), server_config("optional"))
    assert complete(se).peer_certificates == ()


def test_required_without_a_certificate_is_certificate_required() -> None:
    client = ClientConnection(client_config(), "localhost")
    server = ServerConnection(server_config("required"))
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    with pytest.raises(CertificateRequired):
        server.receive_data(client.data_to_send())
    with pytest.raises(AlertReceived) as received:
        client.receive_data(server.data_to_send())
    assert received.value.description == AlertDescription.CERTIFICATE_REQUIRED


def test_untrusted_client_certificate_is_unknown_ca() -> None:
    stranger = CertifiedKey.self_signed(("stranger.example",), key_type="ecdsa-p256")
    client = ClientConnection(client_config(stranger), "localhost")
    server = ServerConnection(server_config("required"))
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    with pytest.raises(UnknownCA):
        server.receive_data(client.data_to_send())


def test_no_certificate_request_on_resumption_or_when_not_configured() -> None:
    _, _, _, se = run(client_config(client_cert()), dataclasses.replace(server_config("none")))
    assert complete(se).peer_certificates == ()


def test_client_auth_needs_trust_anchors() -> None:
    with pytest.raises(ConfigurationError):
        ServerConfig(certificates=(server_cert(),), client_auth="required")
    with pytest.raises(ConfigurationError):
        ServerConfig(certificates=(server_cert(),), client_auth="sometimes")
