"""Record layer tests (RFC 8446 §5): RFC 8448 §3 byte for byte, limits, coalescing, errors."""

from __future__ import annotations

import math
import struct
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from tlsmachine.enums import ContentType
from tlsmachine.errors import (
    BadRecordMac,
    DecodeError,
    InternalError,
    RecordOverflow,
    UnexpectedMessage,
    UsageError,
)
from tlsmachine.record import (
    AES_CCM_MAX_RECORDS,
    AES_GCM_MAX_RECORDS,
    MAX_CIPHERTEXT,
    MAX_PLAINTEXT,
    SEQUENCE_LIMIT,
    Aead13Protector,
    NullProtector,
    RecordLayer,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rfc8448 import Section, load_rfc8448

S3 = load_rfc8448().section("3")
CCS, ALERT, HANDSHAKE, APP = 20, 21, 22, 23
KEY, IV = bytes(range(16)), bytes(range(100, 112))


def keys(label: str) -> tuple[bytes, bytes]:
    """(key, iv) of an RFC 8448 §3 'derive ... traffic keys' step."""
    return S3.get(label, "key expanded"), S3.get(label, "iv expanded")


# RFC 8448 §3: who writes with which traffic keys.
SERVER_HS = keys("{server}  derive write traffic keys for handshake data")
CLIENT_HS = keys("{server}  derive read traffic keys for handshake data")
SERVER_AP = keys("{server}  derive write traffic keys for application data")
CLIENT_AP = keys("{client}  derive write traffic keys for application data")


def aead(key_iv: tuple[bytes, bytes]) -> Aead13Protector:
    return Aead13Protector(AESGCM(key_iv[0]), key_iv[1])


def record(section: Section, label: str, occurrence: int = 0) -> tuple[bytes, bytes]:
    """(payload, complete record) of a 'send ... record' step."""
    return (
        section.get(label, "payload", occurrence=occurrence),
        section.get(label, "complete record", occurrence=occurrence),
    )


def split_handshake(data: bytes) -> list[bytes]:
    """Cut a run of handshake messages at their 4-byte headers (RFC 8446 §4)."""
    out, pos = [], 0
    while pos < len(data):
        end = pos + 4 + int.from_bytes(data[pos + 1 : pos + 4], "big")
        out.append(data[pos:end])
        pos = end
    return out


def parse_records(wire: bytes) -> list[tuple[int, int, bytes]]:
    """(type, version, fragment) of each record in ``wire``."""
    out, pos = [], 0
    while pos < len(wire):
        content_type, version, length = struct.unpack_from(">BHH", wire, pos)
        out.append((content_type, version, wire[pos + 5 : pos + 5 + length]))
        pos += 5 + length
    assert pos == len(wire)
    return out


def read_all(layer: RecordLayer, wire: bytes | bytearray) -> list[tuple[int, bytes]]:
    layer.feed(wire)
    out = []
    while (rec := layer.next_record()) is not None:
        out.append(rec)
    return out


def pair(*, send_limit: int = 2**14 + 1) -> tuple[RecordLayer, RecordLayer, Aead13Protector]:
    """A writer and a reader sharing one AES-128-GCM key; the writer's protector too."""
    writer, reader = RecordLayer(send_limit=send_limit), RecordLayer()
    protector = Aead13Protector(AESGCM(KEY), IV)
    writer.set_write_protector(protector)
    reader.set_read_protector(Aead13Protector(AESGCM(KEY), IV))
    return writer, reader, protector


def forge(inner: bytes, *, key: bytes = KEY, iv: bytes = IV, length: int | None = None) -> bytes:
    """A protected record with an arbitrary TLSInnerPlaintext, sealed with sequence number 0."""
    n = len(inner) + 16 if length is None else length
    header = struct.pack(">BHH", APP, 0x0303, n)
    return header + AESGCM(key).encrypt(iv, inner, header)


# -- RFC 8448 §3, byte for byte ----------------------------------------------------------------


def test_rfc8448_client_hello_record_uses_0x0301() -> None:
    payload, complete = record(S3, "{client}  send handshake record")
    layer = RecordLayer()
    layer.write_version = 0x0301  # RFC 8446 §5.1: MAY be 0x0301 for an initial ClientHello
    layer.write(HANDSHAKE, payload)
    layer.write_version = 0x0303  # flushes the ClientHello under 0x0301 first
    assert layer.data_to_send() == complete
    assert read_all(RecordLayer(), complete) == [(HANDSHAKE, payload)]


def test_rfc8448_server_hello_record() -> None:
    payload, complete = record(S3, "{server}  send handshake record")
    layer = RecordLayer()
    layer.write(HANDSHAKE, payload)
    assert layer.data_to_send() == complete
    assert read_all(RecordLayer(), complete) == [(HANDSHAKE, payload)]


def test_rfc8448_server_flight_is_one_record() -> None:
    """EE, Certificate, CertificateVerify, Finished written one by one -> the trace's record."""
    payload, complete = record(S3, "{server}  send handshake record", 1)
    messages = split_handshake(payload)
    assert [m[0] for m in messages] == [8, 11, 15, 20]
    layer = RecordLayer()
    layer.set_write_protector(aead(SERVER_HS))
    for message in messages:
        layer.write_handshake(message)
    layer.flush_handshake()
    wire = layer.data_to_send()
    assert wire == complete
    assert wire[:5] == bytes.fromhex("17030302a2")
    reader = RecordLayer()
    reader.set_read_protector(aead(SERVER_HS))
    assert read_all(reader, complete) == [(HANDSHAKE, payload)]


def test_rfc8448_protector_seal_and_open() -> None:
    payload, complete = record(S3, "{server}  send handshake record", 1)
    assert aead(SERVER_HS).seal(HANDSHAKE, payload) == complete
    assert aead(SERVER_HS).open(complete[:5], complete[5:]) == (HANDSHAKE, payload)


def test_rfc8448_client_finished_record() -> None:
    payload, complete = record(S3, "{client}  send handshake record", 1)
    layer = RecordLayer()
    layer.set_write_protector(aead(CLIENT_HS))
    layer.write(HANDSHAKE, payload)
    assert layer.data_to_send() == complete
    reader = RecordLayer()
    reader.set_read_protector(aead(CLIENT_HS))
    assert read_all(reader, complete) == [(HANDSHAKE, payload)]


def test_rfc8448_server_application_traffic() -> None:
    """NewSessionTicket (seq 0), application data (seq 1), close_notify (seq 2)."""
    ticket, ticket_rec = record(S3, "{server}  send handshake record", 2)
    data, data_rec = record(S3, "{server}  send application_data record")
    alert, alert_rec = record(S3, "{server}  send alert record")
    layer = RecordLayer()
    layer.set_write_protector(aead(SERVER_AP))
    layer.write(HANDSHAKE, ticket)
    assert layer.data_to_send() == ticket_rec
    layer.write(APP, data)
    layer.write(ALERT, alert)
    assert layer.data_to_send() == data_rec + alert_rec
    reader = RecordLayer()
    reader.set_read_protector(aead(SERVER_AP))
    wire = ticket_rec + data_rec + alert_rec
    assert read_all(reader, wire) == [(HANDSHAKE, ticket), (APP, data), (ALERT, alert)]


def test_rfc8448_client_application_traffic() -> None:
    data, data_rec = record(S3, "{client}  send application_data record")
    alert, alert_rec = record(S3, "{client}  send alert record")
    layer = RecordLayer()
    layer.set_write_protector(aead(CLIENT_AP))
    layer.write(APP, data)
    layer.write(ALERT, alert)
    assert layer.data_to_send() == data_rec + alert_rec
    reader = RecordLayer()
    reader.set_read_protector(aead(CLIENT_AP))
    assert read_all(reader, data_rec + alert_rec) == [(APP, data), (ALERT, alert)]


def test_rfc8448_server_first_flight_with_key_switch_between_records() -> None:
    """ServerHello in the clear, a compat CCS, then the encrypted flight: one feed()."""
    sh, sh_rec = record(S3, "{server}  send handshake record", 0)
    flight, flight_rec = record(S3, "{server}  send handshake record", 1)
    ccs_rec = bytes.fromhex("140303000101")
    reader = RecordLayer()
    reader.feed(sh_rec + ccs_rec + flight_rec)
    assert reader.next_record() == (HANDSHAKE, sh)
    reader.set_read_protector(aead(SERVER_HS))  # the owner switches keys between records
    assert reader.next_record() == (CCS, b"\x01")  # D.4: CCS stays in the clear
    assert reader.next_record() == (HANDSHAKE, flight)
    assert reader.next_record() is None
    assert reader.buffered == 0


# -- nonces and sequence numbers (RFC 8446 §5.3, §5.5) -----------------------------------------


def test_sequence_numbers_advance_per_record() -> None:
    protector = Aead13Protector(AESGCM(KEY), IV)
    first = protector.seal(APP, b"one")
    second = protector.seal(APP, b"two")
    assert protector.sequence_number == 2
    iv_int = int.from_bytes(IV, "big")
    assert protector.nonce(1) == (iv_int ^ 1).to_bytes(12, "big")
    assert AESGCM(KEY).decrypt(IV, first[5:], first[:5]) == b"one\x17"
    assert AESGCM(KEY).decrypt(protector.nonce(1), second[5:], second[:5]) == b"two\x17"
    reader = Aead13Protector(AESGCM(KEY), IV)
    with pytest.raises(BadRecordMac):  # out of order: second record under sequence number 0
        reader.open(second[:5], second[5:])
    assert reader.sequence_number == 0  # a failed open does not advance
    assert reader.open(first[:5], first[5:]) == (APP, b"one")
    assert reader.open(second[:5], second[5:]) == (APP, b"two")


def test_usage_limit_blocks_sealing() -> None:
    protector = Aead13Protector(AESGCM(KEY), IV, max_records=16)
    assert protector.max_records == 16
    assert not protector.needs_key_update
    for _ in range(14):
        protector.seal(APP, b"x")
    assert protector.records_until_limit == 2
    assert protector.needs_key_update  # 7/8 used
    protector.seal(APP, b"x")
    protector.seal(APP, b"x")
    with pytest.raises(InternalError, match="KeyUpdate"):
        protector.seal(APP, b"x")
    assert protector.sequence_number == 16


def test_read_side_limit() -> None:
    writer = Aead13Protector(AESGCM(KEY), IV)
    reader = Aead13Protector(AESGCM(KEY), IV, max_records=1)
    one, two = writer.seal(APP, b"1"), writer.seal(APP, b"2")
    assert reader.open(one[:5], one[5:]) == (APP, b"1")
    with pytest.raises(InternalError):
        reader.open(two[:5], two[5:])


def test_sequence_number_never_wraps() -> None:
    protector = Aead13Protector(AESGCM(KEY), IV)
    assert protector.max_records == SEQUENCE_LIMIT == 2**64 - 1
    protector._seq = 2**64 - 2  # white box: we cannot seal 2^64 records in a test
    record_ = protector.seal(APP, b"last")
    assert AESGCM(KEY).decrypt(protector.nonce(2**64 - 2), record_[5:], record_[:5]) == b"last\x17"
    with pytest.raises(InternalError):
        protector.seal(APP, b"wrapped")


def test_limit_constants() -> None:
    assert math.floor(2**24.5) == AES_GCM_MAX_RECORDS  # RFC 8446 §5.5
    assert math.floor(2**23.5) == AES_CCM_MAX_RECORDS  # RFC 9147 §4.5.3


def test_bad_protector_arguments() -> None:
    with pytest.raises(ValueError, match="12 bytes"):
        Aead13Protector(AESGCM(KEY), bytes(8))
    with pytest.raises(ValueError, match="max_records"):
        Aead13Protector(AESGCM(KEY), IV, max_records=0)


@pytest.mark.parametrize(
    "cipher",
    [AESGCM(KEY), AESGCM(KEY * 2), ChaCha20Poly1305(KEY * 2), AESCCM(KEY, tag_length=16)],
    ids=["aes128gcm", "aes256gcm", "chacha20poly1305", "aes128ccm"],
)
def test_all_suite_aeads_round_trip(cipher: AESGCM) -> None:
    writer, reader = RecordLayer(), RecordLayer()
    writer.set_write_protector(Aead13Protector(cipher, IV))
    reader.set_read_protector(Aead13Protector(cipher, IV))
    writer.write(APP, b"hello")
    writer.write(HANDSHAKE, b"\x18\x00\x00\x01\x00")
    writer.write(ALERT, b"\x01\x00")
    assert read_all(reader, writer.data_to_send()) == [
        (APP, b"hello"),
        (HANDSHAKE, b"\x18\x00\x00\x01\x00"),
        (ALERT, b"\x01\x00"),
    ]


# -- fragmentation and record_size_limit (RFC 8446 §5.1, RFC 8449) -----------------------------


def test_40k_plaintext_handshake_write_is_three_records() -> None:
    data = bytes(range(256)) * 160  # 40 KiB
    layer = RecordLayer()
    layer.write(HANDSHAKE, data)
    records = parse_records(layer.data_to_send())
    assert [len(f) for _, _, f in records] == [16384, 16384, 8192]
    assert all(t == HANDSHAKE and v == 0x0303 for t, v, _ in records)
    assert b"".join(f for _, _, f in records) == data


def test_40k_protected_handshake_write_is_three_records() -> None:
    data = bytes(range(256)) * 160
    writer, reader, _ = pair()
    writer.write(HANDSHAKE, data)
    wire = writer.data_to_send()
    assert [len(f) - 17 for _, _, f in parse_records(wire)] == [16384, 16384, 8192]
    received = read_all(reader, wire)
    assert [len(c) for _, c in received] == [16384, 16384, 8192]
    assert b"".join(c for _, c in received) == data


def test_application_data_is_split_at_2_14() -> None:
    data = bytes(40000)
    writer, reader, _ = pair()
    writer.write(APP, data)
    wire = writer.data_to_send()
    assert [len(f) for _, _, f in parse_records(wire)] == [16384 + 17, 16384 + 17, 7232 + 17]
    assert [t for t, _, _ in parse_records(wire)] == [APP] * 3  # opaque_type (§5.2)
    assert read_all(reader, wire) == [(APP, bytes(16384)), (APP, bytes(16384)), (APP, bytes(7232))]


def test_peer_record_size_limit_counts_the_type_byte() -> None:
    """RFC 8449 §4: the limit is the whole TLSInnerPlaintext, content type included."""
    writer, _, _ = pair(send_limit=1000)
    writer.write(APP, bytes(2500))
    records = parse_records(writer.data_to_send())
    assert [len(f) - 16 for _, _, f in records] == [1000, 1000, 503]  # inner plaintexts


def test_send_limit_is_clamped_and_validated() -> None:
    layer = RecordLayer(send_limit=65535)
    assert layer.send_limit == 2**14 + 1  # RFC 8449 §4: never above the protocol limit
    with pytest.raises(ValueError, match="64"):
        layer.send_limit = 63
    with pytest.raises(ValueError, match="64"):
        layer.receive_limit = 63
    with pytest.raises(ValueError, match="receive_limit"):
        layer.receive_limit = 2**14 + 2


def test_record_size_limit_does_not_apply_to_plaintext() -> None:
    layer = RecordLayer(send_limit=100)
    layer.write(HANDSHAKE, bytes(300))
    assert [len(f) for _, _, f in parse_records(layer.data_to_send())] == [300]


def test_own_record_size_limit_is_enforced_on_receipt() -> None:
    writer, reader, _ = pair()
    reader.receive_limit = 1000
    writer.write(APP, bytes(999))  # inner plaintext of exactly 1000 bytes: fine
    assert read_all(reader, writer.data_to_send()) == [(APP, bytes(999))]
    writer.write(APP, bytes(1000))  # 1001: record_overflow from the header alone
    reader.feed(writer.data_to_send()[:5])
    with pytest.raises(RecordOverflow):
        reader.next_record()


def test_padding_policy() -> None:
    writer, reader, _ = pair(send_limit=200)
    writer.padding_policy = lambda content_type, length: 50 if content_type == APP else 0
    writer.write(APP, b"abc")
    writer.write(APP, bytes(180))  # only 19 bytes of room left: padding is clipped
    writer.write(HANDSHAKE, b"\x14\x00\x00\x00")
    wire = writer.data_to_send()
    assert [len(f) - 16 for _, _, f in parse_records(wire)] == [54, 200, 5]
    assert read_all(reader, wire) == [(APP, b"abc"), (APP, bytes(180)), (HANDSHAKE, b"\x14\0\0\0")]


def test_padding_is_never_applied_in_the_clear() -> None:
    layer = RecordLayer(padding_policy=lambda content_type, length: 10)
    layer.write(HANDSHAKE, b"\x01\x00\x00\x00")
    assert layer.data_to_send() == bytes.fromhex("160303000401000000")
    with pytest.raises(UsageError):
        NullProtector().seal(HANDSHAKE, b"x", 1)


# -- coalescing and key changes (RFC 8446 §5.1) ------------------------------------------------


def test_handshake_messages_are_coalesced() -> None:
    writer, reader, _ = pair()
    messages = [bytes([8, 0, 0, 2, 0, 0]), bytes([11, 0, 0, 1, 0]), bytes([20, 0, 0, 1, 9])]
    for message in messages:
        writer.write(HANDSHAKE, message)
    wire = writer.data_to_send()
    assert len(parse_records(wire)) == 1
    assert read_all(reader, wire) == [(HANDSHAKE, b"".join(messages))]


def test_write_protector_switch_flushes_under_the_old_key() -> None:
    layer = RecordLayer()
    layer.write(HANDSHAKE, b"\x02\x00\x00\x01S")  # "ServerHello", in the clear
    layer.write(CCS, b"\x01")
    layer.write(HANDSHAKE, b"\x08\x00\x00\x01E")
    layer.set_write_protector(Aead13Protector(AESGCM(KEY), IV))  # flushes
    layer.write(HANDSHAKE, b"\x0b\x00\x00\x01C")
    records = parse_records(layer.data_to_send())
    assert [(t, f) for t, _, f in records[:3]] == [
        (HANDSHAKE, b"\x02\x00\x00\x01S"),
        (CCS, b"\x01"),
        (HANDSHAKE, b"\x08\x00\x00\x01E"),
    ]
    assert len(records) == 4
    assert records[3][0] == APP
    reader = Aead13Protector(AESGCM(KEY), IV)
    assert reader.open(struct.pack(">BHH", APP, 0x0303, 22), records[3][2]) == (
        HANDSHAKE,
        b"\x0b\x00\x00\x01C",
    )


def test_other_record_types_flush_handshake_first() -> None:
    writer, reader, _ = pair()
    writer.write(HANDSHAKE, b"\x18\x00\x00\x01\x00")  # KeyUpdate
    writer.write(APP, b"data")
    writer.write(HANDSHAKE, b"\x04\x00\x00\x01T")
    writer.write(ALERT, b"\x01\x00")
    assert read_all(reader, writer.data_to_send()) == [
        (HANDSHAKE, b"\x18\x00\x00\x01\x00"),
        (APP, b"data"),
        (HANDSHAKE, b"\x04\x00\x00\x01T"),
        (ALERT, b"\x01\x00"),
    ]


def test_change_cipher_spec_is_written_in_the_clear() -> None:
    writer, reader, _ = pair()
    writer.write(CCS, b"\x01")
    writer.write(APP, b"after")
    wire = writer.data_to_send()
    assert wire[:6] == bytes.fromhex("140303000101")
    assert read_all(reader, wire) == [(CCS, b"\x01"), (APP, b"after")]


def test_write_checks() -> None:
    layer = RecordLayer()
    with pytest.raises(UsageError, match="protection"):
        layer.write(APP, b"too early")  # RFC 8446 §5.1: application data is always protected
    with pytest.raises(UsageError):
        layer.write(ALERT, b"")
    with pytest.raises(UsageError):
        layer.write(ALERT, bytes(MAX_PLAINTEXT + 1))
    with pytest.raises(UsageError):
        layer.write(24, b"heartbeat")
    with pytest.raises(UsageError):
        NullProtector().seal(HANDSHAKE, bytes(MAX_PLAINTEXT + 1))
    with pytest.raises(UsageError):
        Aead13Protector(AESGCM(KEY), IV).seal(APP, bytes(MAX_PLAINTEXT), padding=1)
    layer.write(HANDSHAKE, b"")
    assert layer.data_to_send() == b""


def test_empty_application_data_sends_nothing() -> None:
    writer, _, protector = pair()
    writer.write(APP, b"")
    assert writer.data_to_send() == b""
    assert protector.sequence_number == 0


def test_data_to_send_accepts_views_and_clears() -> None:
    writer, reader, _ = pair()
    payload = bytearray(b"abc" * 10000)
    writer.write(APP, memoryview(payload))
    writer.write(HANDSHAKE, payload[:10])
    wire = writer.data_to_send()
    payload[:] = bytes(len(payload))  # we kept no reference to the caller's buffer
    assert writer.data_to_send() == b""
    received = read_all(reader, wire)
    assert b"".join(c for t, c in received if t == APP) == b"abc" * 10000
    assert received[-1] == (HANDSHAKE, b"abcabcabca")


def test_repr_has_no_key_material() -> None:
    protector = Aead13Protector(AESGCM(KEY), IV)
    assert repr(protector) == "Aead13Protector(AESGCM, seq=0)"
    assert repr(NullProtector()) == "NullProtector()"


# -- receive buffer ---------------------------------------------------------------------------


def test_byte_by_byte_feeding() -> None:
    writer, reader, _ = pair()
    writer.write(APP, b"x" * 3000)
    writer.write(ALERT, b"\x01\x00")
    wire = writer.data_to_send()
    got = []
    for i in range(len(wire)):
        reader.feed(wire[i : i + 1])
        while (rec := reader.next_record()) is not None:
            got.append(rec)
    assert got == [(APP, b"x" * 3000), (ALERT, b"\x01\x00")]
    assert reader.buffered == 0


def test_many_records_in_uneven_chunks_compact_the_buffer() -> None:
    writer, reader, _ = pair()
    for i in range(300):
        writer.write(APP, bytes([i % 256]) * (i + 1))
    wire = writer.data_to_send()
    got: list[tuple[int, bytes]] = []
    for start in range(0, len(wire), 7777):
        got += read_all(reader, bytearray(wire[start : start + 7777]))
        assert reader.buffered < 7777 + 5 + 300 + 17
    assert got == [(APP, bytes([i % 256]) * (i + 1)) for i in range(300)]


def test_feed_copies_mutable_input() -> None:
    chunk = bytearray(bytes.fromhex("1603030004") + b"\x0e\x00\x00\x00")
    reader = RecordLayer()
    reader.feed(chunk)
    chunk[5] = 0x99
    assert reader.next_record() == (HANDSHAKE, b"\x0e\x00\x00\x00")
    reader.feed(b"")
    assert reader.next_record() is None


# -- malformed input (RFC 8446 §5.1, §5.2, §5.4) -----------------------------------------------


def test_wrong_tag_is_bad_record_mac() -> None:
    writer, reader, _ = pair()
    writer.write(APP, b"secret")
    wire = bytearray(writer.data_to_send())
    wire[-1] ^= 1
    reader.feed(wire)
    with pytest.raises(BadRecordMac) as info:
        reader.next_record()
    assert info.value.alert.name == "BAD_RECORD_MAC"


def test_truncated_ciphertext_is_bad_record_mac() -> None:
    reader = RecordLayer()
    reader.set_read_protector(Aead13Protector(AESGCM(KEY), IV))
    reader.feed(bytes.fromhex("170303000a") + bytes(10))  # shorter than a tag
    with pytest.raises(BadRecordMac):
        reader.next_record()


@pytest.mark.parametrize("inner", [b"\x00", bytes(100), b""], ids=["zero", "zeros", "empty"])
def test_all_zero_inner_plaintext_is_unexpected_message(inner: bytes) -> None:
    reader = RecordLayer()
    reader.set_read_protector(Aead13Protector(AESGCM(KEY), IV))
    reader.feed(forge(inner))
    with pytest.raises(UnexpectedMessage, match="non-zero"):
        reader.next_record()


def test_padding_is_stripped_on_receipt() -> None:
    reader = RecordLayer()
    reader.set_read_protector(Aead13Protector(AESGCM(KEY), IV))
    reader.feed(forge(b"data\x00\x17" + bytes(1000)))
    assert reader.next_record() == (APP, b"data\x00")


def test_oversized_plaintext_header_fails_before_the_body() -> None:
    reader = RecordLayer()
    reader.feed(struct.pack(">BHH", HANDSHAKE, 0x0303, MAX_PLAINTEXT + 1))
    with pytest.raises(RecordOverflow):
        reader.next_record()


def test_maximal_plaintext_record_is_accepted() -> None:
    reader = RecordLayer()
    reader.feed(struct.pack(">BHH", HANDSHAKE, 0x0303, MAX_PLAINTEXT))
    assert reader.next_record() is None  # header fine, body pending
    reader.feed(bytes(MAX_PLAINTEXT))
    assert reader.next_record() == (HANDSHAKE, bytes(MAX_PLAINTEXT))


@pytest.mark.parametrize("length", [MAX_CIPHERTEXT + 1, 0xFFFF, MAX_PLAINTEXT + 1 + 16 + 1])
def test_oversized_ciphertext_header_fails_before_the_body(length: int) -> None:
    reader = RecordLayer()
    reader.set_read_protector(Aead13Protector(AESGCM(KEY), IV))
    reader.feed(struct.pack(">BHH", APP, 0x0303, length))
    with pytest.raises(RecordOverflow):
        reader.next_record()


def test_maximal_protected_record_is_accepted() -> None:
    writer, reader, _ = pair()
    writer.write(APP, bytes(MAX_PLAINTEXT))
    wire = writer.data_to_send()
    assert len(wire) == 5 + MAX_PLAINTEXT + 1 + 16
    assert read_all(reader, wire) == [(APP, bytes(MAX_PLAINTEXT))]


def test_decrypted_content_over_2_14_is_record_overflow() -> None:
    """§5.2/§5.4: an authentic record whose inner plaintext exceeds 2^14 + 1 octets."""
    big = forge(bytes(MAX_PLAINTEXT + 1) + b"\x17")
    with pytest.raises(RecordOverflow):  # the protector on its own checks after decryption
        Aead13Protector(AESGCM(KEY), IV).open(big[:5], big[5:])
    reader = RecordLayer()
    reader.set_read_protector(Aead13Protector(AESGCM(KEY), IV))
    reader.feed(big)
    with pytest.raises(RecordOverflow):  # the record layer already from the header
        reader.next_record()


@pytest.mark.parametrize("content_type", [0, 19, 24, 255])
@pytest.mark.parametrize("protected", [False, True])
def test_unknown_content_type(content_type: int, protected: bool) -> None:
    reader = RecordLayer()
    if protected:
        reader.set_read_protector(Aead13Protector(AESGCM(KEY), IV))
    reader.feed(bytes([content_type, 3, 3, 0]))
    assert reader.next_record() is None  # 4 bytes: no header yet
    reader.feed(b"\x01")
    with pytest.raises(UnexpectedMessage) as info:
        reader.next_record()
    assert info.value.alert.name == "UNEXPECTED_MESSAGE"


@pytest.mark.parametrize("content_type", [HANDSHAKE, ALERT])
def test_zero_length_plaintext_fragment(content_type: int) -> None:
    reader = RecordLayer()
    reader.feed(bytes([content_type, 3, 3, 0, 0]))
    with pytest.raises(UnexpectedMessage, match="zero-length"):
        reader.next_record()


@pytest.mark.parametrize("content_type", [HANDSHAKE, ALERT])
def test_zero_length_protected_fragment(content_type: int) -> None:
    reader = RecordLayer()
    reader.set_read_protector(Aead13Protector(AESGCM(KEY), IV))
    reader.feed(forge(bytes([content_type]) + bytes(5)))
    with pytest.raises(UnexpectedMessage, match="zero-length"):
        reader.next_record()


def test_zero_length_application_data_is_allowed() -> None:
    """RFC 8446 §5.4: zero-length application data content is permitted (cover traffic)."""
    reader = RecordLayer()
    reader.set_read_protector(Aead13Protector(AESGCM(KEY), IV))
    reader.feed(forge(b"\x17" + bytes(7)))
    assert reader.next_record() == (APP, b"")


def test_application_data_in_the_clear() -> None:
    reader = RecordLayer()
    reader.feed(bytes.fromhex("170303000568656c6c6f"))
    with pytest.raises(UnexpectedMessage, match="before record protection"):
        reader.next_record()


@pytest.mark.parametrize("content_type", [HANDSHAKE, ALERT])
def test_plaintext_record_after_protection(content_type: int) -> None:
    reader = RecordLayer()
    reader.set_read_protector(Aead13Protector(AESGCM(KEY), IV))
    reader.feed(bytes([content_type, 3, 3, 0, 2, 2, 40]))
    with pytest.raises(UnexpectedMessage, match="unprotected"):
        reader.next_record()


def test_protected_change_cipher_spec() -> None:
    reader = RecordLayer()
    reader.set_read_protector(Aead13Protector(AESGCM(KEY), IV))
    reader.feed(forge(b"\x01\x14"))
    with pytest.raises(UnexpectedMessage, match="change_cipher_spec"):
        reader.next_record()


@pytest.mark.parametrize("inner_type", [1, 24, 0xFF])
def test_unknown_inner_content_type(inner_type: int) -> None:
    reader = RecordLayer()
    reader.set_read_protector(Aead13Protector(AESGCM(KEY), IV))
    reader.feed(forge(b"x" + bytes([inner_type])))
    with pytest.raises(UnexpectedMessage):
        reader.next_record()


def test_change_cipher_spec_is_returned_to_the_caller() -> None:
    """§5 / D.4: the layer passes CCS through; the caller decides about its value."""
    reader = RecordLayer()
    reader.set_read_protector(Aead13Protector(AESGCM(KEY), IV))
    assert read_all(reader, bytes.fromhex("1403030002 0101")) == [(CCS, b"\x01\x01")]
    with pytest.raises(RecordOverflow):
        read_all(RecordLayer(), struct.pack(">BHH", CCS, 0x0303, MAX_PLAINTEXT + 1))


@pytest.mark.parametrize("version", [0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0x03FF])
def test_legacy_record_version_is_ignored(version: int) -> None:
    """§5.1: legacy_record_version MUST be ignored; we only ask for a 3 in the major byte."""
    assert read_all(RecordLayer(), struct.pack(">BHHB", ALERT, version, 1, 2)) == [(ALERT, b"\x02")]
    header = struct.pack(">BHH", APP, version, 2 + 16)
    protected = header + AESGCM(KEY).encrypt(IV, b"v\x17", header)  # the AAD is the header
    reader = RecordLayer()
    reader.set_read_protector(Aead13Protector(AESGCM(KEY), IV))
    assert read_all(reader, protected) == [(APP, b"v")]


@pytest.mark.parametrize("version", [0x0000, 0x0002, 0x0203, 0x02FF])
def test_record_version_below_ssl3_is_refused(version: int) -> None:
    """RFC 8446 App. D.5: records with a version below 0x0300 SHOULD NOT be accepted."""
    reader = RecordLayer()
    reader.feed(struct.pack(">BHH", HANDSHAKE, version, 4))
    with pytest.raises(DecodeError):
        reader.next_record()


@pytest.mark.parametrize("version", [0x0300, 0x0403, 0xFEFD, 0xFFFF])
def test_other_record_versions_are_ignored(version: int) -> None:
    """RFC 8446 §5.1: legacy_record_version "MUST be ignored for all purposes"."""
    reader = RecordLayer()
    reader.feed(struct.pack(">BHH", HANDSHAKE, version, 4) + b"\x01\x00\x00\x00")
    assert reader.next_record() == (HANDSHAKE, b"\x01\x00\x00\x00")


def test_content_type_names_in_errors() -> None:
    reader = RecordLayer()
    reader.feed(bytes([ContentType.APPLICATION_DATA, 3, 3, 0, 1, 0]))
    with pytest.raises(UnexpectedMessage, match="application_data"):
        reader.next_record()


# -- skipping rejected 0-RTT data (RFC 8446 §4.2.10) -------------------------------------------


def early_records(count: int, size: int) -> bytes:
    """``count`` records of ``size`` content bytes under a key the reader does not have."""
    other = RecordLayer()
    other.set_write_protector(Aead13Protector(AESGCM(bytes(16)), bytes(12)))
    for _ in range(count):
        other.write(APP, b"e" * size)
    return other.data_to_send()


def test_skipping_drops_undecryptable_records_until_one_opens() -> None:
    writer, reader, _ = pair()
    writer.write(ContentType.HANDSHAKE, b"\x14\x00\x00\x01F")  # the client's "Finished"
    reader.skip_early_data = 3 * 1000
    wire = early_records(3, 1000) + writer.data_to_send()
    assert read_all(reader, wire) == [(ContentType.HANDSHAKE, b"\x14\x00\x00\x01F")]
    assert reader.skip_early_data == 0  # over once a record opened
    with pytest.raises(BadRecordMac):
        read_all(reader, early_records(1, 10))


def test_skipping_stops_at_the_limit_with_bad_record_mac() -> None:
    _, reader, _ = pair()
    reader.skip_early_data = 1500
    with pytest.raises(BadRecordMac):
        read_all(reader, early_records(2, 1000))
    assert reader.skip_early_data == 0


def test_skipping_before_the_second_client_hello_drops_every_protected_record() -> None:
    reader = RecordLayer()  # plaintext epoch: the server sent HelloRetryRequest
    reader.skip_early_data = 2000
    hello = struct.pack(">BHH", ContentType.HANDSHAKE, 0x0303, 5) + b"\x01\x00\x00\x01X"
    records = read_all(reader, early_records(2, 900) + hello)
    assert records == [(ContentType.HANDSHAKE, b"\x01\x00\x00\x01X")]
    assert reader.skip_early_data == 0
    with pytest.raises(UnexpectedMessage):  # no more skipping after the second hello
        read_all(reader, early_records(1, 10))


def test_without_skipping_early_records_are_errors() -> None:
    with pytest.raises(UnexpectedMessage):
        read_all(RecordLayer(), early_records(1, 10))
    _, reader, _ = pair()
    with pytest.raises(BadRecordMac):
        read_all(reader, early_records(1, 10))


def test_bytes_to_record_end_reads_exactly_up_to_each_record_boundary() -> None:
    """Fed exactly bytes_to_record_end bytes at a time, a reader never takes a byte of what
    follows the records (the cleartext ssl's unwrap() leaves in the socket)."""
    writer, reader, _ = pair()
    for text in (b"one", b"two" * 3000, b""):
        writer.write(ContentType.APPLICATION_DATA, text or b"x")
    wire = writer.data_to_send() + b"cleartext after the records"
    assert reader.bytes_to_record_end == 5  # a header, when nothing is here
    offset, records = 0, []
    while len(records) < 3:
        want = reader.bytes_to_record_end
        assert want > 0
        chunk = wire[offset : offset + min(want, 7)]  # also in pieces smaller than asked
        offset += len(chunk)
        records += read_all(reader, chunk)
    assert [content for _, content in records] == [b"one", b"two" * 3000, b"x"]
    assert wire[offset:] == b"cleartext after the records"
    assert reader.bytes_to_record_end == 5
