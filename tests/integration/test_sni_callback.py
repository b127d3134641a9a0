"""ServerConfig.server_name_callback: virtual hosting by SNI (RFC 6066 §3), in memory."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest

from memory_pair import pump
from tlsmachine import (
    ClientConfig,
    ClientConnection,
    ConnectionState,
    Event,
    HandshakeComplete,
    InMemoryClientSessionStore,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.certs import CertifiedKey
from tlsmachine.enums import AlertDescription
from tlsmachine.errors import (
    AlertReceived,
    ConfigurationError,
    InternalError,
    ProtocolError,
    UnrecognizedName,
)
from tlsmachine.session_cache import InMemorySessionCache

VERSIONS = ["1.3", "1.2"]


@functools.cache
def cert_a() -> CertifiedKey:
    return CertifiedKey.self_signed(("a.example",), key_type="ecdsa-p256")


@functools.cache
def cert_b() -> CertifiedKey:
    return CertifiedKey.self_signed(("b.example",), key_type="ed25519")


class Router:
    """Two sites on one server: a.example (the default config) and b.example (its own)."""

    def __init__(self, **site_b: Any) -> None:
        self.calls: list[str | None] = []
        self.site_b = ServerConfig(certificates=(cert_b(),), alpn_protocols=("h2",), **site_b)
        self.site_a = ServerConfig(certificates=(cert_a(),), server_name_callback=self)

    def __call__(self, name: str | None) -> ServerConfig | None:
        self.calls.append(name)
        if name == "b.example":
            return self.site_b
        if name == "unknown.example":
            raise UnrecognizedName(f"no site for {name}")
        return None  # a.example, and clients without SNI: keep site A


def client_config(version: str = "1.3", **kwargs: Any) -> ClientConfig:
    """Names and lists are fine at run time (the config normalises them); ``Any`` keeps mypy,
    which sees the typed tuples, out of it."""
    options: dict[str, Any] = {
        "cadata": cert_a().chain_pem() + cert_b().chain_pem(),
        "alpn_protocols": ["h2", "http/1.1"],
        "max_version": version,
    }
    return ClientConfig(**options, **kwargs)


def handshake(
    config: ClientConfig, server_config: ServerConfig, name: str | None
) -> tuple[HandshakeComplete, HandshakeComplete]:
    client = ClientConnection(config, name)
    server = ServerConnection(server_config)
    client_events, server_events = pump(client, server)
    assert client.state is ConnectionState.APP_DATA and server.state is ConnectionState.APP_DATA
    return done(client_events), done(server_events)


def done(events: list[Event]) -> HandshakeComplete:
    (complete,) = [e for e in events if isinstance(e, HandshakeComplete)]
    return complete


def failed_handshake(
    server_config: ServerConfig, name: str, version: str = "1.3"
) -> tuple[ClientConnection, ServerConnection, ProtocolError, AlertReceived]:
    """The server fails on the ClientHello; the client gets its alert."""
    client = ClientConnection(client_config(version), name)
    server = ServerConnection(server_config)
    with pytest.raises(ProtocolError) as server_error:
        server.receive_data(client.data_to_send())
    assert server.state is ConnectionState.FAILED
    with pytest.raises(AlertReceived) as client_error:
        client.receive_data(server.data_to_send())
    return client, server, server_error.value, client_error.value


@pytest.mark.parametrize("version", VERSIONS)
def test_the_callback_chooses_the_certificate_and_alpn_by_name(version: str) -> None:
    router = Router()
    client_done, server_done = handshake(client_config(version), router.site_a, "b.example")
    assert client_done.version == server_done.version == f"TLSv{version}"
    assert client_done.peer_certificates == cert_b().chain
    assert client_done.signature_scheme == "ed25519"
    assert client_done.alpn_protocol == server_done.alpn_protocol == "h2"  # site B's ALPN
    assert server_done.server_name == "b.example"
    assert router.calls == ["b.example"]


@pytest.mark.parametrize("version", VERSIONS)
def test_none_keeps_the_config(version: str) -> None:
    router = Router()
    client_done, _ = handshake(client_config(version), router.site_a, "a.example")
    assert client_done.peer_certificates == cert_a().chain
    assert client_done.alpn_protocol is None  # site A has no ALPN
    assert router.calls == ["a.example"]


def test_a_client_without_sni_gets_none() -> None:
    router = Router()
    config = client_config(verify_certificates=False)
    client_done, server_done = handshake(config, router.site_a, None)
    assert router.calls == [None]
    assert server_done.server_name is None
    assert client_done.peer_certificates == cert_a().chain


@pytest.mark.parametrize("version", VERSIONS)
def test_unrecognized_name_aborts_with_its_alert(version: str) -> None:
    _, _, server_error, client_error = failed_handshake(Router().site_a, "unknown.example", version)
    assert isinstance(server_error, UnrecognizedName)
    assert client_error.description == AlertDescription.UNRECOGNIZED_NAME


def _callback(action: Callable[[], object]) -> ServerConfig:
    def callback(name: str | None) -> ServerConfig | None:
        return action()  # type: ignore[return-value]

    return ServerConfig(certificates=(cert_a(),), server_name_callback=callback)


def _raise(exc: Exception) -> Callable[[], object]:
    def action() -> object:
        raise exc

    return action


@pytest.mark.parametrize(
    ("action", "cause"),
    [
        (_raise(ValueError("no database")), ValueError),
        (_raise(ConfigurationError("built a bad config")), ConfigurationError),  # no alert
        (lambda: "b.example", None),  # not a ServerConfig
    ],
    ids=["ValueError", "ConfigurationError", "wrong-return-type"],
)
@pytest.mark.parametrize("version", VERSIONS)
def test_a_failing_callback_is_internal_error(
    version: str, action: Callable[[], object], cause: type[Exception] | None
) -> None:
    _, _, server_error, client_error = failed_handshake(_callback(action), "a.example", version)
    assert isinstance(server_error, InternalError)
    assert "server_name_callback('a.example')" in str(server_error)
    if cause is not None:
        assert isinstance(server_error.__cause__, cause)
    assert client_error.description == AlertDescription.INTERNAL_ERROR


def test_hello_retry_request_keeps_the_chosen_config() -> None:
    """Site B only has secp384r1: its HelloRetryRequest asks for it, and the second
    ClientHello is answered by site B too (the callback is not asked again)."""
    router = Router(groups=("secp384r1",))
    config = client_config(groups=["x25519", "secp384r1"])
    client_done, server_done = handshake(config, router.site_a, "b.example")
    assert client_done.hello_retry and server_done.hello_retry
    assert client_done.group == "secp384r1"
    assert client_done.peer_certificates == cert_b().chain
    assert client_done.alpn_protocol == "h2"
    assert router.calls == ["b.example"]
    client_done, _ = handshake(config, router.site_a, "a.example")  # site A takes x25519
    assert not client_done.hello_retry and client_done.group == "x25519"


def test_hello_retry_cookie_of_the_chosen_config() -> None:
    cookies: list[bytes] = []

    def cookie(digest: bytes) -> bytes:
        cookies.append(digest)
        return b"site-b" + digest[:8]

    router = Router(groups=("secp384r1",), hello_retry_cookie=cookie)
    config = client_config(groups=["x25519", "secp384r1"])
    client_done, _ = handshake(config, router.site_a, "b.example")
    assert client_done.hello_retry and len(cookies) == 1


def test_tls13_tickets_come_from_the_chosen_config() -> None:
    router = Router()
    store = InMemoryClientSessionStore()
    config = client_config(session_store=store)
    first, _ = handshake(config, router.site_a, "b.example")
    assert not first.resumed and len(store) == router.site_b.session_tickets
    second, server_second = handshake(config, router.site_a, "b.example")
    assert second.resumed and server_second.resumed  # site B's ticket sealer opened it
    assert second.alpn_protocol == "h2"
    assert router.calls == ["b.example", "b.example"]


def test_tls12_sessions_are_cached_by_the_chosen_config() -> None:
    cache_a, cache_b = InMemorySessionCache(), InMemorySessionCache()
    router = Router(session_cache=cache_b, session_tickets=0)
    site_a = ServerConfig(
        certificates=(cert_a(),), server_name_callback=router, session_cache=cache_a
    )
    config = client_config("1.2", session_store=InMemoryClientSessionStore())
    first, _ = handshake(config, site_a, "b.example")
    assert not first.resumed and len(cache_b) == 1 and len(cache_a) == 0
    second, server_second = handshake(config, site_a, "b.example")
    assert second.resumed and server_second.resumed


def test_the_version_is_negotiated_with_the_chosen_config() -> None:
    """The callback runs before anything is negotiated: site B speaks only TLS 1.2."""
    router = Router(max_version="1.2")
    client_done, _ = handshake(client_config(), router.site_a, "b.example")
    assert client_done.version == "TLSv1.2" and client_done.alpn_protocol == "h2"
    client_done, _ = handshake(client_config(), router.site_a, "a.example")
    assert client_done.version == "TLSv1.3"
