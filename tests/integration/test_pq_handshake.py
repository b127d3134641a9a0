"""Post-quantum key exchange end to end: X25519MLKEM768 by default, the other ML-KEM groups on
request (draft-ietf-tls-ecdhe-mlkem, draft-ietf-tls-mlkem), in memory.

The default client offers key shares for X25519MLKEM768 and x25519, so servers with and without
ML-KEM finish in one round trip; HelloRetryRequest covers the rest (RFC 8446 §4.1.4). TLS 1.2
never negotiates a KEM group (RFC 8422 defines ECDHE over curves only).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from memory_pair import pump
from tls_fixtures import server_cert
from tlsmachine import (
    ApplicationData,
    ClientConfig,
    ClientConnection,
    ConnectionState,
    Event,
    HandshakeComplete,
    InMemoryClientSessionStore,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.cli_report import connection_line, www_page
from tlsmachine.client.client_hello import _HelloTemplate
from tlsmachine.client.tls12 import _server_group
from tlsmachine.crypto.groups import SECP256R1, X25519, Group, PrivateKeyShare
from tlsmachine.crypto.kem import ALL_KEM_GROUPS, KEMGroup
from tlsmachine.crypto.suites import TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
from tlsmachine.enums import AlertDescription, ContentType, NamedGroup
from tlsmachine.errors import IllegalParameter, InternalError, ProtocolError
from tlsmachine.events import HandshakeMessageTraced
from tlsmachine.extensions import (
    KeyShareClientHello,
    KeyShareServerHello,
    Padding,
    PreSharedKeyClientHello,
    SupportedGroups,
)
from tlsmachine.messages import decode_handshake
from tlsmachine.messages.hello import ClientHello, ServerHello
from tlsmachine.messages.tls12 import ServerKeyExchange, ecdhe_params

HYBRID = NamedGroup.X25519MLKEM768


def client_config(**kwargs: Any) -> ClientConfig:
    return ClientConfig(verify_certificates=False, trace_handshake=True, **kwargs)


def server_config(**kwargs: Any) -> ServerConfig:
    return ServerConfig(certificates=(server_cert(),), trace_handshake=True, **kwargs)


def handshake(
    client: ClientConfig, server: ServerConfig
) -> tuple[ClientConnection, ServerConnection, list[Event], list[Event]]:
    c = ClientConnection(client, "localhost")
    s = ServerConnection(server)
    client_events, server_events = pump(c, s)
    return c, s, client_events, server_events


def complete(events: list[Event]) -> HandshakeComplete:
    (done,) = [e for e in events if isinstance(e, HandshakeComplete)]
    return done


def traced(events: list[Event], name: str, direction: str = "sent") -> list[Any]:
    return [
        e.message
        for e in events
        if isinstance(e, HandshakeMessageTraced) and e.name == name and e.direction == direction
    ]


def shares_of(hello: ClientHello) -> list[tuple[int, int]]:
    """(group, key_exchange length) of each key share."""
    key_share = hello.get(KeyShareClientHello)
    assert key_share is not None
    return [(e.group, len(e.key_exchange)) for e in key_share.client_shares]


def first_client_hello(config: ClientConfig) -> tuple[ClientConnection, bytes, ClientHello]:
    client = ClientConnection(config, "localhost")
    data = client.data_to_send()
    assert data[0] == ContentType.HANDSHAKE
    record_len = int.from_bytes(data[3:5], "big")
    assert len(data) == 5 + record_len  # one record: ~1.5 KB fits easily
    hello = decode_handshake(data[5:])
    assert isinstance(hello, ClientHello)
    return client, data, hello


def assert_works(client: ClientConnection, server: ServerConnection) -> None:
    client.send(b"ping")
    _, server_events = pump(client, server)
    assert [e.data for e in server_events if isinstance(e, ApplicationData)] == [b"ping"]
    assert client.export_keying_material("EXPORTER-pq", 32) == server.export_keying_material(
        "EXPORTER-pq", 32
    )


# --- defaults ------------------------------------------------------------------------------


def test_default_client_and_server_agree_on_the_hybrid_in_one_round_trip() -> None:
    c, s, ce, se = handshake(client_config(), server_config())
    for done in (complete(ce), complete(se)):
        assert done.version == "TLSv1.3" and done.group == "X25519MLKEM768"
        assert not done.hello_retry
    (hello,) = traced(ce, "client_hello")
    assert shares_of(hello) == [(HYBRID, 1216), (NamedGroup.X25519, 32)]
    groups = hello.get(SupportedGroups)
    assert groups is not None and groups.groups[:3] == (HYBRID, X25519.id, SECP256R1.id)
    (server_hello,) = traced(se, "server_hello")
    key_share = server_hello.get(KeyShareServerHello)
    assert key_share.server_share.group == HYBRID
    assert len(key_share.server_share.key_exchange) == 1120  # ct (1088) || X25519 (32)
    assert_works(c, s)


def test_the_server_makes_no_key_pair_for_a_kem_group() -> None:
    """The server encapsulates (Group.respond): its key_share_factory, which makes (EC)DHE
    private keys, is not called for the hybrid; the hybrid's X25519 half is made inside."""
    asked: list[str] = []

    def factory(group: Group) -> PrivateKeyShare:
        asked.append(group.name)
        return group.generate()

    server = server_config(key_share_factory=factory)
    _, _, ce, _ = handshake(client_config(), server)
    assert complete(ce).group == "X25519MLKEM768" and asked == []
    _, _, ce, _ = handshake(client_config(key_share_groups=("x25519",)), server)
    assert complete(ce).group == "x25519" and asked == ["x25519"]


def test_default_client_hello_size_padding_and_template_cache() -> None:
    config = ClientConfig()
    _, data, hello = first_client_hello(config)
    # ~1.2 KB of key shares: far past the 256..511 window, so no padding extension (RFC 7685)
    assert 1400 < len(data) < 1600
    assert hello.get(Padding) is None
    template = _HelloTemplate.of(config)
    _, again, _ = first_client_hello(config)
    assert _HelloTemplate.of(config) is template  # built once per config
    assert len(again) == len(data) and again != data  # fresh keys every connection


def test_default_client_against_a_classical_server_uses_x25519_without_hrr() -> None:
    server = server_config(groups=("x25519", "secp256r1", "secp384r1"))
    c, s, ce, se = handshake(client_config(), server)
    for done in (complete(ce), complete(se)):
        assert done.group == "x25519" and not done.hello_retry
    assert_works(c, s)


def test_an_x25519_share_for_a_hybrid_only_server_gets_a_hello_retry_request() -> None:
    client = client_config(key_share_groups=("x25519",))
    c, s, ce, se = handshake(client, server_config(groups=("X25519MLKEM768",)))
    for done in (complete(ce), complete(se)):
        assert done.group == "X25519MLKEM768" and done.hello_retry
    first, second = traced(ce, "client_hello")
    assert shares_of(first) == [(NamedGroup.X25519, 32)]
    assert shares_of(second) == [(HYBRID, 1216)]  # exactly the share asked for (§4.1.2)
    assert second.get(Padding) is None
    assert_works(c, s)


def test_a_hybrid_share_for_a_classical_server_gets_a_hello_retry_request() -> None:
    client = client_config(key_share_groups=("X25519MLKEM768",))
    c, s, ce, se = handshake(client, server_config(groups=("x25519",)))
    for done in (complete(ce), complete(se)):
        assert done.group == "x25519" and done.hello_retry
    first, second = traced(ce, "client_hello")
    assert shares_of(first) == [(HYBRID, 1216)]
    assert shares_of(second) == [(NamedGroup.X25519, 32)]
    assert_works(c, s)


def test_server_preference_for_the_hybrid() -> None:
    client = client_config(key_share_groups=("x25519",))
    # by default a share the client sent saves the round trip ...
    _, _, ce, _ = handshake(client, server_config())
    assert complete(ce).group == "x25519" and not complete(ce).hello_retry
    # ... a strict server insists on its first choice, the hybrid
    _, _, ce, _ = handshake(client, server_config(strict_group_preference=True))
    assert complete(ce).group == "X25519MLKEM768" and complete(ce).hello_retry
    # with both shares offered, the server's order picks the hybrid, not the client's
    client = client_config(
        groups=("x25519", "X25519MLKEM768"), key_share_groups=("x25519", "X25519MLKEM768")
    )
    _, _, ce, _ = handshake(client, server_config())
    assert complete(ce).group == "X25519MLKEM768" and not complete(ce).hello_retry


# --- every KEM group -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shared", "chosen"),
    list(itertools.product(ALL_KEM_GROUPS, repeat=2)),
    ids=lambda g: g.name,
)
def test_every_kem_group_pairwise(shared: KEMGroup, chosen: KEMGroup) -> None:
    """The client sends a share for ``shared``; the server accepts only ``chosen``."""
    groups = (shared,) if shared is chosen else (shared, chosen)
    client = client_config(groups=groups, key_share_groups=(shared,))
    c, s, ce, se = handshake(client, server_config(groups=(chosen,)))
    for done in (complete(ce), complete(se)):
        assert done.group == chosen.name
        assert done.hello_retry is (shared is not chosen)
    server_hello = traced(se, "server_hello")[-1]  # after a HelloRetryRequest, if any
    server_share = server_hello.get(KeyShareServerHello).server_share
    assert (server_share.group, len(server_share.key_exchange)) == (
        chosen.id,
        chosen.server_share_len,
    )
    assert_works(c, s)


# --- resumption ----------------------------------------------------------------------------------


def test_resumption_with_psk_dhe_ke_over_the_hybrid() -> None:
    store = InMemoryClientSessionStore()
    client = client_config(session_store=store)
    server = server_config()
    _, _, ce, _ = handshake(client, server)
    assert not complete(ce).resumed and len(store) == 2
    c, s, ce, se = handshake(client, server)
    for done in (complete(ce), complete(se)):
        assert done.resumed and done.group == "X25519MLKEM768" and not done.hello_retry
    (hello,) = traced(ce, "client_hello")
    assert hello.get(PreSharedKeyClientHello) is not None
    assert shares_of(hello) == [(HYBRID, 1216), (NamedGroup.X25519, 32)]
    assert_works(c, s)


# --- TLS 1.2 ------------------------------------------------------------------------------------


def test_tls12_server_never_chooses_a_kem_group() -> None:
    c, s, ce, se = handshake(client_config(), server_config(max_version="1.2"))
    for done in (complete(ce), complete(se)):
        assert done.version == "TLSv1.2" and done.group == "x25519"
    assert_works(c, s)
    # the client lists the hybrid first and secp256r1 after it: the server skips the hybrid
    client = client_config(groups=("X25519MLKEM768", "secp256r1"))
    _, _, ce, se = handshake(client, server_config(max_version="1.2"))
    assert complete(ce).version == "TLSv1.2" and complete(se).group == "secp256r1"


def test_tls12_only_client_does_not_list_kem_groups() -> None:
    config = client_config(max_version="1.2")
    _, _, hello = first_client_hello(config)
    groups = hello.get(SupportedGroups)
    assert groups is not None and groups.groups[0] == NamedGroup.X25519
    assert not {g.id for g in ALL_KEM_GROUPS} & set(groups.groups)
    assert hello.get(KeyShareClientHello) is None
    _, _, ce, _ = handshake(config, server_config())
    assert complete(ce).version == "TLSv1.2" and complete(ce).group == "x25519"


def test_tls12_client_refuses_a_kem_group_in_server_key_exchange() -> None:
    config = ClientConfig(verify_certificates=False)  # X25519MLKEM768 in its groups
    params = ecdhe_params(HYBRID, bytes(32))
    ske = ServerKeyExchange.signed(params, 0x0403, b"\x00" * 64)
    with pytest.raises(IllegalParameter, match="curve 0x11ec"):
        _server_group(config, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, ske)


# --- reports -----------------------------------------------------------------------------------


def test_reports_name_the_group() -> None:
    _, _, _, se = handshake(client_config(), server_config())
    page = www_page(complete(se)).decode()
    assert "Group          : X25519MLKEM768" in page
    assert "group X25519MLKEM768" in connection_line(complete(se), "none")


# --- invalid shares on the wire ---------------------------------------------------------------


def _alert(data: bytes) -> int:
    assert data[:3] == bytes((ContentType.ALERT, 3, 3)), data[:8].hex()
    return data[6]


def test_an_encapsulation_key_failing_the_modulus_check_is_illegal_parameter() -> None:
    _, data, hello = first_client_hello(ClientConfig())
    key_share = hello.get(KeyShareClientHello)
    assert key_share is not None
    ek = key_share.client_shares[0].key_exchange  # X25519MLKEM768: ek first
    at = data.index(ek)
    patched = data[:at] + b"\xff" + bytes((data[at + 1] | 0x0F,)) + data[at + 2 :]  # 4095 >= q
    server = ServerConnection(server_config())
    with pytest.raises(IllegalParameter, match="FIPS 203"):
        server.receive_data(patched)
    assert server.state is ConnectionState.FAILED
    assert _alert(server.data_to_send()) == AlertDescription.ILLEGAL_PARAMETER


def test_an_all_zero_x25519_part_is_illegal_parameter() -> None:
    _, data, hello = first_client_hello(ClientConfig())
    key_share = hello.get(KeyShareClientHello)
    assert key_share is not None
    share = key_share.client_shares[0].key_exchange
    at = data.index(share) + len(share) - 32  # ... || X25519 public
    patched = data[:at] + bytes(32) + data[at + 32 :]
    server = ServerConnection(server_config())
    with pytest.raises(IllegalParameter, match="all zeros"):
        server.receive_data(patched)
    assert _alert(server.data_to_send()) == AlertDescription.ILLEGAL_PARAMETER


def test_a_forged_ciphertext_fails_on_the_record_layer_not_internally() -> None:
    client = ClientConnection(client_config(), "localhost")
    server = ServerConnection(server_config())
    server.receive_data(client.data_to_send())
    flight = server.data_to_send()
    record_len = int.from_bytes(flight[3:5], "big")
    server_hello = decode_handshake(flight[5 : 5 + record_len])
    assert isinstance(server_hello, ServerHello)
    key_share = server_hello.get(KeyShareServerHello)
    assert key_share is not None
    at = flight.index(key_share.server_share.key_exchange)
    forged = flight[:at] + bytes((flight[at] ^ 0x80,)) + flight[at + 1 :]
    with pytest.raises(ProtocolError) as info:
        client.receive_data(forged)
    # implicit rejection: another secret, so the first encrypted record fails to open
    assert not isinstance(info.value, InternalError)
    assert info.value.alert == AlertDescription.BAD_RECORD_MAC


def test_the_large_client_hello_may_arrive_in_many_records() -> None:
    client = ClientConnection(client_config(), "localhost")
    data = client.data_to_send()
    body = data[5:]
    records = b"".join(
        bytes((ContentType.HANDSHAKE, 3, 1)) + len(chunk).to_bytes(2, "big") + chunk
        for chunk in (body[i : i + 200] for i in range(0, len(body), 200))
    )
    server = ServerConnection(server_config())
    for i in range(0, len(records), 97):  # and in small TCP reads
        server.receive_data(records[i : i + 97])
    client_events = client.receive_data(server.data_to_send())
    ce, se = pump(client, server)
    assert complete(client_events + ce).group == complete(se).group == "X25519MLKEM768"


# --- the default client's x25519 key, shared by the hybrid and the classical share ---------


def x25519_parts(hello: ClientHello) -> tuple[bytes, bytes]:
    key_share = hello.get(KeyShareClientHello)
    assert key_share is not None
    hybrid, classical = key_share.client_shares
    assert (hybrid.group, classical.group) == (NamedGroup.X25519MLKEM768, NamedGroup.X25519)
    return hybrid.key_exchange[-32:], classical.key_exchange  # ecdhe-mlkem §4.1: X25519 last


@pytest.mark.parametrize("server_groups", [None, (X25519,)], ids=["hybrid", "classical"])
def test_default_client_reuses_its_x25519_key_in_the_hybrid(
    server_groups: tuple[Group, ...] | None,
) -> None:
    """hybrid-design §3.2 allows one key_exchange value per algorithm in one ClientHello:
    the default client sends the same X25519 key in both shares, and either choice of the
    server completes (the key is used in one exchange only)."""
    config = ClientConfig(verify_certificates=False)
    client, data, hello = first_client_hello(config)
    in_hybrid, alone = x25519_parts(hello)
    assert in_hybrid == alone
    options: dict[str, Any] = {"groups": server_groups} if server_groups else {}
    server = ServerConnection(ServerConfig(certificates=(server_cert(),), **options))
    server.receive_data(data)
    pump(client, server)
    assert client.handshake_info is not None
    assert client.handshake_info.group == ("x25519" if server_groups else "X25519MLKEM768")
    assert_works(client, server)
    # every ClientHello has its own key
    _, _, again = first_client_hello(config)
    assert x25519_parts(again)[1] != alone


def test_a_custom_key_share_factory_makes_every_share_itself() -> None:
    made: list[str] = []

    def factory(group: Group) -> PrivateKeyShare:
        made.append(group.name)
        return group.generate()

    _, _, hello = first_client_hello(
        ClientConfig(verify_certificates=False, key_share_factory=factory)
    )
    assert made == ["X25519MLKEM768", "x25519"]
    in_hybrid, alone = x25519_parts(hello)
    assert in_hybrid != alone


def test_a_hybrid_refuses_an_ecdh_share_of_another_group() -> None:
    hybrid = next(g for g in ALL_KEM_GROUPS if g.id == NamedGroup.X25519MLKEM768)
    with pytest.raises(InternalError):
        hybrid.generate(SECP256R1.generate())
