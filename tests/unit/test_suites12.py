"""TLS 1.2 AEAD cipher suites (RFC 5288 §3, RFC 7905 §2, RFC 8422 §6): the table, the registry,
and each suite end to end: key block (RFC 5246 §6.3) -> protectors -> two record layers."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from tlsmachine.crypto import suites
from tlsmachine.crypto.suites import (
    DEFAULT_TLS12_SUITES,
    TLS12_SUITES,
    TLS13_SUITES,
    CipherSuite12,
    suite12_by_id,
    suite_by_id,
)
from tlsmachine.enums import CipherSuiteId
from tlsmachine.errors import BadRecordMac
from tlsmachine.prf import key_block
from tlsmachine.record import Aead12Protector, RecordLayer, aead12_protectors

CCS, ALERT, HANDSHAKE, APP = 20, 21, 22, 23
CLIENT_RANDOM, SERVER_RANDOM, MASTER = b"c" * 32, b"s" * 32, bytes(range(48))

# The IANA registry, written out: id, name, key exchange, authentication, PRF hash, hash length,
# key length, fixed IV length, record IV length (RFC 5288 §3, RFC 7905 §2, RFC 8422 §6).
TABLE = [
    (0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE", "ECDSA", "sha256", 32, 16, 4, 8),
    (0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE", "ECDSA", "sha384", 48, 32, 4, 8),
    (0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE", "ECDSA", "sha256", 32, 32,
     12, 0),
    (0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE", "RSA", "sha256", 32, 16, 4, 8),
    (0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE", "RSA", "sha384", 48, 32, 4, 8),
    (0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE", "RSA", "sha256", 32, 32, 12,
     0),
    (0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "DHE", "RSA", "sha256", 32, 16, 4, 8),
    (0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", "DHE", "RSA", "sha384", 48, 32, 4, 8),
    (0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "DHE", "RSA", "sha256", 32, 32, 12, 0),
]  # fmt: skip


@pytest.mark.parametrize("row", TABLE, ids=lambda row: row[1])
def test_suite_table(row: tuple[int, str, str, str, str, int, int, int, int]) -> None:
    suite_id, name, kx, auth, hash_name, hash_len, key_len, fixed_iv, record_iv = row
    suite = suite12_by_id(suite_id)
    assert suite is not None
    assert suite is getattr(suites, name)  # the module constant has the IANA name
    assert (suite.id, suite.name, suite.key_exchange, suite.authentication) == (
        suite_id,
        name,
        kx,
        auth,
    )
    assert (suite.hash_name, suite.hash_len, suite.key_len) == (hash_name, hash_len, key_len)
    assert (suite.fixed_iv_len, suite.record_iv_len, suite.tag_len) == (fixed_iv, record_iv, 16)
    assert CipherSuiteId[name] == suite_id
    assert str(suite) == name
    aead = suite.aead(bytes(key_len))
    assert isinstance(aead, ChaCha20Poly1305 if "CHACHA20" in name else AESGCM)
    # RFC 5288 §3 / RFC 7905 §2: either way the AEAD nonce is 12 bytes
    assert fixed_iv + record_iv == 12


def test_registry_order_and_defaults() -> None:
    """ECDHE-ECDSA, ECDHE-RSA, DHE-RSA; within each AES-128-GCM, AES-256-GCM, ChaCha20."""
    assert [s.id for s in TLS12_SUITES] == [row[0] for row in TABLE]
    assert DEFAULT_TLS12_SUITES == TLS12_SUITES
    assert len({s.id for s in TLS12_SUITES}) == 9


def test_registries_are_separate() -> None:
    """A TLS 1.2 code point is never a TLS 1.3 suite and vice versa (RFC 8446 §B.4)."""
    for suite12 in TLS12_SUITES:
        assert suite_by_id(suite12.id) is None
    for suite13 in TLS13_SUITES:
        assert suite12_by_id(suite13.id) is None
    assert suite12_by_id(0x009C) is None  # TLS_RSA_WITH_AES_128_GCM_SHA256: no forward secrecy
    assert suite12_by_id(CipherSuiteId.TLS_EMPTY_RENEGOTIATION_INFO_SCSV) is None


def test_suite_is_frozen_and_hides_aead() -> None:
    suite = TLS12_SUITES[0]
    assert "aead" not in repr(suite)
    with pytest.raises(AttributeError):
        suite.key_len = 1  # type: ignore[misc]


def layers(suite: CipherSuite12) -> tuple[RecordLayer, RecordLayer]:
    """A client and a server record layer, both protected with the suite's key block."""
    kb = key_block(suite, MASTER, CLIENT_RANDOM, SERVER_RANDOM)
    client, server = RecordLayer(), RecordLayer()
    c_read, c_write = aead12_protectors(suite, kb, client=True)
    s_read, s_write = aead12_protectors(suite, kb, client=False)
    client.set_read_protector(c_read)
    client.set_write_protector(c_write)
    server.set_read_protector(s_read)
    server.set_write_protector(s_write)
    return client, server


def read_all(layer: RecordLayer, wire: bytes) -> list[tuple[int, bytes]]:
    layer.feed(wire)
    out = []
    while (rec := layer.next_record()) is not None:
        out.append(rec)
    return out


@pytest.mark.parametrize("suite", TLS12_SUITES, ids=str)
def test_round_trip_every_suite(suite: CipherSuite12) -> None:
    client, server = layers(suite)
    big = bytes(range(256)) * 160  # 40 960 bytes: three records of 2^14, 2^14, 8192
    finished = b"\x14\x00\x00\x0c" + bytes(12)
    client.write(HANDSHAKE, finished)
    client.write(APP, big)
    client.write(ALERT, b"\x01\x00")
    wire = client.data_to_send()
    overhead = suite.record_iv_len + 16
    assert len(wire) == 5 * 5 + len(finished) + len(big) + 2 + 5 * overhead
    got = read_all(server, wire)
    assert got[0] == (HANDSHAKE, finished)
    assert [t for t, _ in got] == [HANDSHAKE, APP, APP, APP, ALERT]
    assert [len(c) for _, c in got[1:4]] == [2**14, 2**14, 40960 - 2**15]
    assert b"".join(c for _, c in got[1:4]) == big
    assert got[4] == (ALERT, b"\x01\x00")
    # and the other way, with the server's keys
    server.write(APP, b"pong")
    assert read_all(client, server.data_to_send()) == [(APP, b"pong")]


@pytest.mark.parametrize("suite", TLS12_SUITES, ids=str)
def test_directions_use_different_keys(suite: CipherSuite12) -> None:
    """A client record does not open with the client's own read keys (RFC 5246 §6.3)."""
    kb = key_block(suite, MASTER, CLIENT_RANDOM, SERVER_RANDOM)
    c_read, c_write = aead12_protectors(suite, kb, client=True)
    s_read, s_write = aead12_protectors(suite, kb, client=False)
    assert isinstance(c_write, Aead12Protector)
    assert c_write.explicit_nonce == (suite.record_iv_len == 8)
    wire = c_write.seal(APP, b"hello")
    assert s_read.open(wire[:5], wire[5:]) == (APP, b"hello")
    with pytest.raises(BadRecordMac, match="authentication"):
        c_read.open(wire[:5], wire[5:])
    wire = s_write.seal(APP, b"world")
    assert c_read.open(wire[:5], wire[5:]) == (APP, b"world")
