"""The bulk fast paths (RFC 8446 §5): one whole protected record per read, one record per write.

``RecordLayer.open_single_record`` and the fast branch of ``RecordLayer.write`` skip the
general buffering code; ``Connection.receive_data`` and ``Connection.send`` use them in the
steady state. These tests pin that every check still applies on them: header and size limits,
inner type and padding rules, bad_record_mac with exactly one alert, the usage limit (§5.5),
the handshake-interleaving rule (§5.1), and that anything unusual falls back to the full path.
"""

from __future__ import annotations

import dataclasses
import struct

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from memory_pair import pump
from tlsmachine import (
    ApplicationData,
    ClientConfig,
    ClientConnection,
    ConnectionState,
    KeyUpdated,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.certs import CertifiedKey
from tlsmachine.enums import AlertDescription
from tlsmachine.errors import (
    AlertReceived,
    BadRecordMac,
    ConnectionClosedError,
    InternalError,
    RecordOverflow,
    UnexpectedMessage,
)
from tlsmachine.events import new_application_data
from tlsmachine.record import MAX_PLAINTEXT, Aead13Protector, RecordLayer

CCS, ALERT, HANDSHAKE, APP = 20, 21, 22, 23
KEY, IV = bytes(range(16)), bytes(range(100, 112))
_CERT = CertifiedKey.self_signed(("localhost",))


def protectors(max_records: int | None = None) -> tuple[Aead13Protector, Aead13Protector]:
    """(writer, reader) under the same key."""
    return (
        Aead13Protector(AESGCM(KEY), IV, max_records=max_records),
        Aead13Protector(AESGCM(KEY), IV),
    )


def reading_layer() -> tuple[Aead13Protector, RecordLayer]:
    writer, reader = protectors()
    layer = RecordLayer()
    layer.set_read_protector(reader)
    return writer, layer


def connect() -> tuple[ClientConnection, ServerConnection]:
    client = ClientConnection(ClientConfig(verify_certificates=False), "localhost")
    server = ServerConnection(ServerConfig(certificates=(_CERT,)))
    pump(client, server)
    assert client.state is server.state is ConnectionState.APP_DATA
    return client, server


def one_record(data: bytes) -> bytes:
    """Check that ``data`` is exactly one record and return it."""
    _, _, length = struct.unpack_from(">BHH", data)
    assert len(data) == 5 + length
    return data


def expect_one_alert(
    failed: ClientConnection | ServerConnection,
    peer: ServerConnection | ClientConnection,
    description: AlertDescription,
) -> None:
    """``failed`` queued exactly one record: the fatal alert, which the peer reads."""
    wire = one_record(failed.data_to_send())
    with pytest.raises(AlertReceived) as info:
        peer.receive_data(wire)
    assert info.value.description == description
    assert failed.state is ConnectionState.FAILED
    assert failed.data_to_send() == b""
    with pytest.raises(ConnectionClosedError):
        failed.receive_data(b"")


# -- RecordLayer.open_single_record ------------------------------------------------------------


def test_open_single_record_opens_exactly_one_whole_record() -> None:
    writer, layer = reading_layer()
    record = writer.seal(APP, b"hello")
    assert layer.open_single_record(record) == (APP, b"hello")
    # bytearray and memoryview input work the same way
    assert layer.open_single_record(bytearray(writer.seal(APP, b"two"))) == (APP, b"two")
    assert layer.open_single_record(memoryview(writer.seal(APP, b"three"))) == (APP, b"three")
    assert layer.read_protector.sequence_number == 3  # type: ignore[attr-defined]
    assert layer.buffered == 0


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda r: r[:4], id="short-header"),
        pytest.param(lambda r: r[:-1], id="truncated"),
        pytest.param(lambda r: r + b"\x17", id="trailing-byte"),
        pytest.param(lambda r: r + r, id="two-records"),
        pytest.param(lambda r: b"\x16" + r[1:], id="outer-type-handshake"),
        pytest.param(lambda r: r[:1] + b"\x03\x01" + r[3:], id="version-0x0301"),
        pytest.param(lambda r: b"", id="empty"),
    ],
)
def test_open_single_record_declines_anything_else_without_consuming(mangle: object) -> None:
    writer, layer = reading_layer()
    record = writer.seal(APP, b"data")
    assert callable(mangle)
    assert layer.open_single_record(mangle(record)) is None
    assert layer.read_protector.sequence_number == 0  # type: ignore[attr-defined]
    assert layer.buffered == 0
    assert layer.open_single_record(record) == (APP, b"data")  # the real one still opens


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda r: r[:-1], id="truncated"),
        pytest.param(lambda r: r + b"\x17", id="trailing-byte"),
        pytest.param(lambda r: r[:1] + b"\x03\x01" + r[3:], id="version-0x0301"),
    ],
)
def test_open_single_record_checks_again_after_a_header_passed(mangle: object) -> None:
    """The last header that passed is remembered (bulk records repeat it); a record of another
    size, or a header differing in any byte, still gets every check."""
    writer, layer = reading_layer()
    sent = bytearray(writer.seal(APP, b"same size"))
    assert layer.open_single_record(sent) == (APP, b"same size")
    sent[:5] = b"\x00" * 5  # the caller reuses its buffer: what was remembered is a copy
    record = writer.seal(APP, b"same SIZE")
    assert callable(mangle)
    assert layer.open_single_record(mangle(record)) is None
    assert layer.open_single_record(record) == (APP, b"same SIZE")


def test_open_single_record_follows_a_lower_receive_limit() -> None:
    writer, layer = reading_layer()
    record = writer.seal(APP, bytes(100))
    assert layer.open_single_record(record) == (APP, bytes(100))
    layer.receive_limit = 64  # RFC 8449: this size of record is now too large
    assert layer.open_single_record(writer.seal(APP, bytes(100))) is None


def test_open_single_record_declines_when_bytes_are_buffered() -> None:
    writer, layer = reading_layer()
    first, second = writer.seal(APP, b"1"), writer.seal(APP, b"2")
    layer.feed(first[:3])
    assert layer.open_single_record(second) is None  # order matters: the buffer goes first
    layer.feed(first[3:])
    assert layer.next_record() == (APP, b"1")
    assert layer.open_single_record(second) == (APP, b"2")


def test_open_single_record_declines_before_read_protection() -> None:
    writer, _ = protectors()
    layer = RecordLayer()  # still plaintext
    record = writer.seal(APP, b"x")
    assert layer.open_single_record(record) is None
    layer.feed(record)
    with pytest.raises(UnexpectedMessage, match="before record protection"):
        layer.next_record()


def test_open_single_record_respects_the_receive_limit() -> None:
    writer, layer = reading_layer()
    layer.receive_limit = 100  # RFC 8449: inner plaintext of at most 100 bytes
    at_limit = writer.seal(APP, bytes(99))  # 99 + type byte = 100
    assert layer.open_single_record(at_limit) == (APP, bytes(99))
    over = writer.seal(APP, bytes(100))
    assert layer.open_single_record(over) is None  # declined: the full path rejects it
    layer.feed(over)
    with pytest.raises(RecordOverflow):
        layer.next_record()


def test_open_single_record_tampered_is_bad_record_mac() -> None:
    writer, layer = reading_layer()
    record = bytearray(writer.seal(APP, b"secret"))
    record[-1] ^= 1
    with pytest.raises(BadRecordMac):
        layer.open_single_record(bytes(record))
    record[5] ^= 1  # the header is the additional data: changing it fails as well
    with pytest.raises(BadRecordMac):
        layer.open_single_record(bytes(record))


@pytest.mark.parametrize(
    ("content_type", "content", "padding", "error"),
    [
        (CCS, b"\x01", 0, "protected change_cipher_spec"),
        (HANDSHAKE, b"", 3, "zero-length protected handshake"),
        (ALERT, b"", 0, "zero-length protected alert"),
        (99, b"x", 0, "protected record of unknown content type 99"),
    ],
)
def test_open_single_record_checks_the_inner_type(
    content_type: int, content: bytes, padding: int, error: str
) -> None:
    writer, layer = reading_layer()
    with pytest.raises(UnexpectedMessage, match=error):
        layer.open_single_record(writer.seal(content_type, content, padding))


def test_open_single_record_strips_padding_and_rejects_all_zero() -> None:
    writer, layer = reading_layer()
    assert layer.open_single_record(writer.seal(HANDSHAKE, b"\x14\x00\x00\x00", 40)) == (
        HANDSHAKE,
        b"\x14\x00\x00\x00",
    )
    all_zero = AESGCM(KEY).encrypt(writer.nonce(1), bytes(8), b"\x17\x03\x03\x00\x18")
    with pytest.raises(UnexpectedMessage, match="no non-zero octet"):
        layer.open_single_record(b"\x17\x03\x03\x00\x18" + all_zero)


# -- the write fast path and the usage limit -------------------------------------------------


def test_write_fast_path_cuts_at_the_send_limit() -> None:
    writer, reader = protectors()
    layer = RecordLayer()
    layer.set_write_protector(writer)
    layer.send_limit = 64
    layer.write(APP, bytes(63))  # exactly one record: 63 + type byte
    layer.write(APP, bytes(64))  # one byte too many for the fast path: two records
    layer.write(APP, b"")  # nothing at all
    reading = RecordLayer()
    reading.set_read_protector(reader)
    reading.feed(layer.data_to_send())
    got = []
    while (rec := reading.next_record()) is not None:
        got.append(rec)
    assert got == [(APP, bytes(63)), (APP, bytes(63)), (APP, bytes(1))]


def test_write_fast_path_keeps_handshake_bytes_first() -> None:
    writer, reader = protectors()
    layer = RecordLayer()
    layer.set_write_protector(writer)
    layer.write_handshake(b"\x18\x00\x00\x01\x00")  # buffered KeyUpdate
    layer.write(APP, b"after")
    reading = RecordLayer()
    reading.set_read_protector(reader)
    reading.feed(layer.data_to_send())
    assert reading.next_record() == (HANDSHAKE, b"\x18\x00\x00\x01\x00")
    assert reading.next_record() == (APP, b"after")


def test_needs_key_update_flips_exactly_at_seven_eighths() -> None:
    writer, _ = protectors(max_records=16)
    for sealed in range(1, 17):
        writer.seal(APP, b"x")
        assert writer.needs_key_update is (sealed >= 14)  # 16 - 16 // 8 = 14


def test_needs_key_update_follows_a_sequence_number_jump() -> None:
    writer, _ = protectors(max_records=1000)
    writer._seq = 900  # white box: as if 900 records had been sealed
    assert not writer.needs_key_update  # the flag is kept by sealing...
    writer.seal(APP, b"x")
    assert writer.needs_key_update  # ...and any record at or past the mark raises it


def test_read_side_flag_and_limit() -> None:
    writer, _ = protectors()
    reader = Aead13Protector(AESGCM(KEY), IV, max_records=8)
    for i in range(8):
        record = writer.seal(APP, b"x")
        assert reader.open(record[:5], record[5:]) == (APP, b"x")
        assert reader.needs_key_update is (i + 1 >= 7)
    record = writer.seal(APP, b"x")
    with pytest.raises(InternalError, match="beyond its limit"):
        reader.open(record[:5], record[5:])


# -- Connection: the whole fast path -----------------------------------------------------------


def test_bulk_records_take_the_fast_path() -> None:
    client, server = connect()
    for size in (1, 1000, MAX_PLAINTEXT):
        client.send(bytes(size))
        wire = one_record(client.data_to_send())
        events = server.receive_data(wire)
        assert events == [ApplicationData(data=bytes(size))]
        assert type(events[0].data) is bytes  # type: ignore[attr-defined]
    assert server._records.buffered == 0


def test_fast_path_tampered_record_sends_exactly_one_alert() -> None:
    client, server = connect()
    client.send(b"payload")
    wire = bytearray(client.data_to_send())
    wire[-1] ^= 0x80
    with pytest.raises(BadRecordMac):
        server.receive_data(bytes(wire))
    expect_one_alert(server, client, AlertDescription.BAD_RECORD_MAC)


def test_fast_path_record_over_the_limit_sends_exactly_one_alert() -> None:
    client, server = connect()
    too_long = b"\x17\x03\x03" + (MAX_PLAINTEXT + 256 + 1).to_bytes(2, "big")
    with pytest.raises(RecordOverflow):
        server.receive_data(too_long + bytes(MAX_PLAINTEXT + 256 + 1))
    expect_one_alert(server, client, AlertDescription.RECORD_OVERFLOW)


def test_fast_path_inner_type_error_sends_exactly_one_alert() -> None:
    client, server = connect()
    client._records.write_protector.seal_into(client._records._out, CCS, b"\x01")
    with pytest.raises(UnexpectedMessage):
        server.receive_data(one_record(client.data_to_send()))
    expect_one_alert(server, client, AlertDescription.UNEXPECTED_MESSAGE)


def test_rekey_threshold_crossed_through_the_fast_path() -> None:
    client, server = connect()
    protector = client._records.write_protector
    assert isinstance(protector, Aead13Protector)
    mark = protector.max_records - (protector.max_records >> 3)  # 7/8 of the AES-GCM limit
    protector._seq = mark - 2  # white box: two records before the mark
    server._records.read_protector._seq = mark - 2  # type: ignore[attr-defined]
    client.send(b"one")
    assert client._records.write_protector is protector  # not yet
    assert server.receive_data(client.data_to_send()) == [ApplicationData(data=b"one")]
    client.send(b"two")  # this record reaches the mark: KeyUpdate right after it
    assert protector.needs_key_update
    assert client._records.write_protector is not protector
    client.send(b"three")  # under the new key
    events = server.receive_data(client.data_to_send())
    assert [e for e in events if isinstance(e, ApplicationData)] == [
        ApplicationData(data=b"two"),
        ApplicationData(data=b"three"),
    ]
    assert [e.direction for e in events if isinstance(e, KeyUpdated)] == ["receive"]


def test_pending_events_come_before_fast_path_data() -> None:
    client, server = connect()
    client.key_update()  # queues our own KeyUpdated("send") event
    server.receive_data(client.data_to_send())
    server.send(b"reply")
    events = client.receive_data(one_record(server.data_to_send()))
    assert events == [KeyUpdated(direction="send"), ApplicationData(data=b"reply")]


def test_application_data_inside_a_handshake_message_is_caught() -> None:
    client, server = connect()
    # A KeyUpdate cut in two records, application data between the halves (RFC 8446 §5.1).
    server._records.write(HANDSHAKE, b"\x18\x00\x00")
    server._records.flush_handshake()
    assert client.receive_data(one_record(server.data_to_send())) == []
    server.send(b"interleaved")
    with pytest.raises(UnexpectedMessage, match="inside a handshake message"):
        client.receive_data(one_record(server.data_to_send()))
    expect_one_alert(client, server, AlertDescription.UNEXPECTED_MESSAGE)


def test_fast_path_handles_close_notify_and_ignores_data_after_it() -> None:
    client, server = connect()
    client.close()
    assert [type(e).__name__ for e in server.receive_data(client.data_to_send())] == [
        "ConnectionClosed"
    ]
    assert server.state is ConnectionState.PEER_CLOSED
    assert server.receive_data(b"\x17\x03\x03\x00\x20" + bytes(32)) == []  # §6.1: ignored


# -- the ApplicationData fast constructor ------------------------------------------------------


def test_new_application_data_is_a_normal_frozen_event() -> None:
    event = new_application_data(b"abc")
    regular = ApplicationData(data=b"abc")
    assert type(event) is ApplicationData
    assert event == regular and hash(event) == hash(regular)
    assert repr(event) == repr(regular) == "ApplicationData(data=b'abc')"
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.data = b"changed"  # type: ignore[misc]
    assert dataclasses.replace(event, data=b"x") == ApplicationData(data=b"x")
