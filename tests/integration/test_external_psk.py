"""External PSKs and the psk_ke mode (RFC 8446 §2.2, §4.2.9, §4.2.11)."""

from __future__ import annotations

import dataclasses

import pytest

from memory_pair import pump
from tls_fixtures import server_cert as certificate
from tlsmachine import (
    ApplicationData,
    ClientConfig,
    ClientConnection,
    ConfigurationError,
    Event,
    HandshakeComplete,
    InMemoryClientSessionStore,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.certs import CertifiedKey
from tlsmachine.crypto.suites import TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384
from tlsmachine.enums import AlertDescription, PskKeyExchangeMode
from tlsmachine.errors import AlertReceived, DecryptError, HandshakeFailure
from tlsmachine.extensions import KeyShareServerHello
from tlsmachine.messages.hello import ServerHello
from tlsmachine.session import ExternalPsk

PSK = ExternalPsk(identity=b"client-1", key=bytes(range(32)))
DHE, KE = PskKeyExchangeMode.PSK_DHE_KE, PskKeyExchangeMode.PSK_KE


def handshake(
    client_config: ClientConfig, server_config: ServerConfig
) -> tuple[ClientConnection, ServerConnection, list[Event], list[Event]]:
    client = ClientConnection(client_config, "localhost")
    server = ServerConnection(server_config)
    client_events, server_events = pump(client, server)
    return client, server, client_events, server_events


def complete(events: list[Event]) -> HandshakeComplete:
    (done,) = [e for e in events if isinstance(e, HandshakeComplete)]
    return done


# Certificate-less: the client verifies nothing; the one anchor it trusts signs no server here.
CLIENT = ClientConfig(
    external_psks=(PSK,), cadata=CertifiedKey.self_signed(("unrelated.example",)).chain_pem()
)
SERVER = ServerConfig(external_psks=(PSK,), trace_handshake=True)


def test_certificate_less_handshake_with_an_external_psk() -> None:
    client, server, ce, se = handshake(CLIENT, SERVER)
    for done in (complete(ce), complete(se)):
        assert done.psk_identity == b"client-1" and not done.resumed
        assert done.group == "X25519MLKEM768" and done.signature_scheme is None
        assert done.peer_certificates == ()
    client.send(b"hello")
    _, se = pump(client, server)
    assert [e.data for e in se if isinstance(e, ApplicationData)] == [b"hello"]
    # Tickets work after an external-PSK handshake too (resumption from it).
    assert client.export_keying_material("EXPORTER-x", 16) == (
        server.export_keying_material("EXPORTER-x", 16)
    )


def test_psk_ke_mode_has_no_key_exchange() -> None:
    client_config = dataclasses.replace(CLIENT, psk_modes=(KE,))
    server_config = dataclasses.replace(SERVER, psk_modes=(KE, DHE))
    _, _, ce, se = handshake(client_config, server_config)
    assert complete(ce).group is None and complete(se).group is None
    (hello,) = [
        e.message
        for e in se
        if getattr(e, "name", "") == "server_hello"  # type: ignore[attr-defined]
    ]
    assert isinstance(hello, ServerHello) and hello.get(KeyShareServerHello) is None


def test_server_prefers_its_first_mode_among_the_clients() -> None:
    client_config = dataclasses.replace(CLIENT, psk_modes=(KE, DHE))
    _, _, ce, _ = handshake(client_config, SERVER)  # the server allows psk_dhe_ke only
    assert complete(ce).group == "X25519MLKEM768"  # the default hybrid (psk_dhe_ke)
    server_ke_first = dataclasses.replace(SERVER, psk_modes=(KE, DHE))
    _, _, ce, _ = handshake(client_config, server_ke_first)
    assert complete(ce).group is None


def test_no_common_mode_and_no_certificate_is_handshake_failure() -> None:
    client_config = dataclasses.replace(CLIENT, psk_modes=(KE,))
    with pytest.raises(HandshakeFailure):
        handshake(client_config, SERVER)  # the server wants psk_dhe_ke, has no certificate


def test_unknown_identity_falls_back_to_certificates() -> None:
    other = ExternalPsk(identity=b"someone-else", key=bytes(32))
    server_config = ServerConfig(certificates=(certificate(),), external_psks=(other,))
    client_config = ClientConfig(external_psks=(PSK,), verify_certificates=False)
    _, _, ce, _ = handshake(client_config, server_config)
    assert complete(ce).psk_identity is None and complete(ce).signature_scheme is not None


def test_wrong_key_is_decrypt_error() -> None:
    wrong = ExternalPsk(identity=b"client-1", key=bytes(32))
    client = ClientConnection(dataclasses.replace(CLIENT, external_psks=(wrong,)), "localhost")
    server = ServerConnection(SERVER)
    with pytest.raises(DecryptError):
        server.receive_data(client.data_to_send())
    with pytest.raises(AlertReceived) as info:
        client.receive_data(server.data_to_send())
    assert info.value.description == AlertDescription.DECRYPT_ERROR


def test_psk_hash_must_match_the_suite() -> None:
    sha384 = ExternalPsk(identity=b"client-1", key=bytes(range(48)), hash_name="sha384")
    client_config = dataclasses.replace(
        CLIENT,
        external_psks=(sha384,),
        cipher_suites=(TLS_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256),
    )
    server_config = dataclasses.replace(SERVER, external_psks=(sha384,))
    _, _, ce, _ = handshake(client_config, server_config)
    assert complete(ce).cipher_suite == "TLS_AES_256_GCM_SHA384"
    assert complete(ce).psk_identity == b"client-1"
    # A server that prefers AES-128 (SHA-256) cannot use the SHA-384 PSK: no certificate either.
    sha256_first = dataclasses.replace(server_config, cipher_suites=(TLS_AES_128_GCM_SHA256,))
    with pytest.raises(HandshakeFailure):
        handshake(client_config, sha256_first)


def test_ticket_and_external_psk_offered_together() -> None:
    store = InMemoryClientSessionStore()
    client_config = dataclasses.replace(CLIENT, session_store=store)
    handshake(client_config, SERVER)
    assert len(store) == 2
    _, _, ce, _ = handshake(client_config, SERVER)  # ticket first: resumption wins
    assert complete(ce).resumed and complete(ce).psk_identity is None


def test_configuration_rules() -> None:
    with pytest.raises(ConfigurationError):
        ServerConfig()  # neither certificates nor PSKs
    with pytest.raises(ConfigurationError):
        ExternalPsk(identity=b"", key=bytes(32))
    with pytest.raises(ConfigurationError):
        ExternalPsk(identity=b"x", key=b"short")
    with pytest.raises(ConfigurationError):
        ClientConfig(psk_modes=())
    assert bytes(range(32)).hex() not in repr(PSK) and str(bytes(range(32))) not in repr(PSK)
