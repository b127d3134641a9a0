"""TLS 1.2 AEAD records (RFC 5246 §6.2.3.3, RFC 5288 §3, RFC 7905 §2) through the record layer.

Known-answer records are built here longhand with pyca's AESGCM / ChaCha20Poly1305 (nonce and
additional data written out), so the protector is checked against the RFC text, not itself.
"""

from __future__ import annotations

import contextlib
import itertools
import struct
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlsmachine.errors import (
    BadRecordMac,
    InternalError,
    ProtocolError,
    ProtocolVersionError,
    RecordOverflow,
    UnexpectedMessage,
    UsageError,
)
from tlsmachine.record import (
    MAX_PLAINTEXT,
    SEQUENCE_LIMIT,
    Aead12Protector,
    Aead13Protector,
    NullProtector,
    RecordLayer,
)

CCS, ALERT, HANDSHAKE, APP = 20, 21, 22, 23
KEY16, KEY32 = bytes(range(16)), bytes(range(32, 64))
SALT = bytes.fromhex("a1b2c3d4")  # GCM fixed_iv (RFC 5288 §3)
IV12 = bytes.fromhex("000102030405060708090a0b")  # ChaCha20 fixed_iv (RFC 7905 §2)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def gcm() -> Aead12Protector:
    return Aead12Protector(AESGCM(KEY16), SALT, explicit_nonce=True)


def chacha() -> Aead12Protector:
    return Aead12Protector(ChaCha20Poly1305(KEY32), IV12, explicit_nonce=False)


Maker = Callable[[], Aead12Protector]
MAKERS: dict[str, Maker] = {"gcm": gcm, "chacha": chacha}


@pytest.fixture(params=sorted(MAKERS))
def make(request: pytest.FixtureRequest) -> Maker:
    return MAKERS[request.param]


def pair(make: Maker, *, send_limit: int = 2**14 + 1) -> tuple[RecordLayer, RecordLayer]:
    """A writer and a reader under the same key (as the two ends of one direction)."""
    writer, reader = RecordLayer(send_limit=send_limit), RecordLayer()
    writer.set_write_protector(make())
    reader.set_read_protector(make())
    return writer, reader


def read_all(layer: RecordLayer, wire: bytes | bytearray) -> list[tuple[int, bytes]]:
    layer.feed(wire)
    out = []
    while (rec := layer.next_record()) is not None:
        out.append(rec)
    return out


def split_records(wire: bytes) -> list[bytes]:
    """The whole records (header included) in ``wire``."""
    out, pos = [], 0
    while pos < len(wire):
        end = pos + 5 + int.from_bytes(wire[pos + 3 : pos + 5], "big")
        out.append(wire[pos:end])
        pos = end
    assert pos == len(wire)
    return out


def parse_records(wire: bytes) -> list[tuple[int, int, bytes]]:
    """(type, version, fragment) of each record in ``wire``."""
    return [(r[0], int.from_bytes(r[1:3], "big"), r[5:]) for r in split_records(wire)]


# -- longhand records (RFC 5246 §6.2.3.3) ---------------------------------------------------------


def aad(seq: int, content_type: int, length: int) -> bytes:
    """additional_data = seq_num + type + version + length (RFC 5246 §6.2.3.3)."""
    return seq.to_bytes(8, "big") + bytes([content_type]) + b"\x03\x03" + length.to_bytes(2, "big")


def gcm_record(seq: int, content_type: int, content: bytes, explicit: bytes | None = None) -> bytes:
    """RFC 5288 §3: nonce = salt(4) || nonce_explicit(8); fragment = nonce_explicit || ct || tag."""
    nonce_explicit = seq.to_bytes(8, "big") if explicit is None else explicit
    nonce = SALT + nonce_explicit
    sealed = AESGCM(KEY16).encrypt(nonce, content, aad(seq, content_type, len(content)))
    fragment = nonce_explicit + sealed
    return bytes([content_type]) + b"\x03\x03" + len(fragment).to_bytes(2, "big") + fragment


def chacha_record(seq: int, content_type: int, content: bytes) -> bytes:
    """RFC 7905 §2: nonce = IV XOR (4 zero bytes || seq_num); fragment = ct || tag."""
    padded_seq = bytes(4) + seq.to_bytes(8, "big")
    nonce = bytes(a ^ b for a, b in zip(IV12, padded_seq, strict=True))
    sealed = ChaCha20Poly1305(KEY32).encrypt(nonce, content, aad(seq, content_type, len(content)))
    return bytes([content_type]) + b"\x03\x03" + len(sealed).to_bytes(2, "big") + sealed


LONGHAND = {"gcm": gcm_record, "chacha": chacha_record}


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_known_answer_records(kind: str) -> None:
    """Our sealed records equal the longhand ones, for several sequence numbers and types."""
    protector = MAKERS[kind]()
    longhand = LONGHAND[kind]
    messages = [(HANDSHAKE, b"\x14\x00\x00\x0c" + bytes(12)), (APP, b"hello"), (ALERT, b"\x01\x00")]
    for seq, (content_type, content) in enumerate(messages):
        assert protector.sequence_number == seq
        assert protector.seal(content_type, content) == longhand(seq, content_type, content)
    # a high sequence number exercises every byte of the nonce and additional data
    protector._seq = 0x0102030405060708  # white box: as if that many records had been sealed
    assert protector.seal(APP, b"late") == longhand(0x0102030405060708, APP, b"late")


def test_known_answer_gcm_fixed_bytes() -> None:
    """One GCM record pinned to its bytes: header, explicit nonce = seq, ciphertext, tag."""
    record = gcm().seal(APP, b"")
    assert record[:13] == bytes.fromhex("1703030018") + bytes(8)
    assert record == gcm_record(0, APP, b"")


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_open_longhand_records(kind: str) -> None:
    reader = RecordLayer()
    reader.set_read_protector(MAKERS[kind]())
    records = [(HANDSHAKE, b"hs"), (APP, b"data"), (APP, b"")]
    wire = b"".join(LONGHAND[kind](seq, t, c) for seq, (t, c) in enumerate(records))
    assert read_all(reader, wire) == records


def test_gcm_accepts_any_explicit_nonce() -> None:
    """RFC 5288 §3: the sender chooses nonce_explicit; the receiver uses what it gets."""
    reader = RecordLayer()
    reader.set_read_protector(gcm())
    wire = gcm_record(0, APP, b"a", b"\xff" * 8) + gcm_record(1, APP, b"b", b"\x42" * 8)
    assert read_all(reader, wire) == [(APP, b"a"), (APP, b"b")]


def test_nonce_helper() -> None:
    assert gcm().nonce(5) == SALT + (5).to_bytes(8, "big")
    assert chacha().nonce(0) == IV12
    assert chacha().nonce(1) == IV12[:-1] + bytes([IV12[-1] ^ 1])


# -- protector attributes and usage -----------------------------------------------------------


def test_inner_content_type_flags() -> None:
    assert NullProtector.inner_content_type is False
    assert Aead13Protector(AESGCM(KEY16), IV12).inner_content_type is True
    assert gcm().inner_content_type is False
    assert chacha().inner_content_type is False


def test_protector_attributes() -> None:
    assert (gcm().overhead, chacha().overhead) == (24, 16)
    assert gcm().protected and not gcm().needs_key_update
    assert gcm().explicit_nonce and not chacha().explicit_nonce
    assert gcm().records_until_limit == SEQUENCE_LIMIT
    assert repr(gcm()) == "Aead12Protector(AESGCM, seq=0)"


def test_constructor_checks_iv_length() -> None:
    with pytest.raises(ValueError, match="4 bytes"):
        Aead12Protector(AESGCM(KEY16), IV12, explicit_nonce=True)
    with pytest.raises(ValueError, match="12 bytes"):
        Aead12Protector(ChaCha20Poly1305(KEY32), SALT, explicit_nonce=False)


def test_seal_refuses_padding_and_oversized_content(make: Maker) -> None:
    protector = make()
    with pytest.raises(UsageError, match="padding"):
        protector.seal(APP, b"x", 1)
    with pytest.raises(UsageError, match="2\\^14"):
        protector.seal(APP, bytes(MAX_PLAINTEXT + 1))
    assert protector.sequence_number == 0  # nothing was used up
    protector.seal(APP, bytes(MAX_PLAINTEXT))


def test_sequence_limit(make: Maker) -> None:
    """RFC 5246 §6.1: sequence numbers do not wrap; with no renegotiation we stop."""
    writer, reader = make(), make()
    writer._seq = reader._seq = SEQUENCE_LIMIT - 1  # white box
    record = writer.seal(APP, b"last")
    assert reader.open(record[:5], record[5:]) == (APP, b"last")
    assert writer.records_until_limit == 0
    with pytest.raises(InternalError, match="write key"):
        writer.seal(APP, b"one too many")
    with pytest.raises(InternalError, match="read key"):
        reader.open(record[:5], record[5:])
    assert not writer.needs_key_update


def test_open_accepts_memoryview_and_bytearray(make: Maker) -> None:
    record = make().seal(HANDSHAKE, b"abc")
    assert make().open(memoryview(record)[:5], memoryview(record)[5:]) == (HANDSHAKE, b"abc")
    assert make().open(bytearray(record[:5]), bytearray(record[5:])) == (HANDSHAKE, b"abc")


# -- tampering, truncation, replay ------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_every_bit_of_the_record_is_authenticated(kind: str) -> None:
    """Changing the type or any nonce, ciphertext or tag byte fails with bad_record_mac (the
    version: test_header_version_is_checked; the length: test_truncated_fragments)."""
    record = MAKERS[kind]().seal(HANDSHAKE, b"finished!")
    for i in [0, *range(5, len(record))]:
        tampered = bytearray(record)
        tampered[i] = ALERT if i == 0 else tampered[i] ^ 0x01
        reader = RecordLayer()
        reader.set_read_protector(MAKERS[kind]())
        with pytest.raises(BadRecordMac):
            read_all(reader, bytes(tampered))


@pytest.mark.parametrize("version", [0x0301, 0x0302, 0x0304, 0x03FF])
def test_header_version_is_checked(make: Maker, version: int) -> None:
    """RFC 5246 §6.2.1: a protected TLS 1.2 record says 0x0303 (the additional data always
    does, so the layer checks the header), from the header alone, on every path."""
    for content_type in (HANDSHAKE, ALERT, APP):
        writer, reader = pair(make)
        writer.write(content_type, b"data")
        wire = bytearray(writer.data_to_send())
        wire[1:3] = version.to_bytes(2, "big")
        reader.feed(wire[:5])
        with pytest.raises(ProtocolVersionError):
            reader.next_record()
        _, reader = pair(make)
        assert reader.open_single_record(bytes(wire)) is None  # falls back to the full path
        with pytest.raises(ProtocolVersionError):
            read_all(reader, wire)


@pytest.mark.parametrize(("kind", "minimum"), [("gcm", 24), ("chacha", 16)])
def test_truncated_fragments(kind: str, minimum: int) -> None:
    record = MAKERS[kind]().seal(APP, b"some data")
    for length in range(minimum):
        with pytest.raises(BadRecordMac, match="shorter"):
            MAKERS[kind]().open(record[:3] + length.to_bytes(2, "big"), record[5 : 5 + length])
        reader = RecordLayer()
        reader.set_read_protector(MAKERS[kind]())
        with pytest.raises(BadRecordMac):
            read_all(reader, record[:3] + length.to_bytes(2, "big") + record[5 : 5 + length])
    for length in range(minimum, len(record) - 5):  # long enough, but cut: the tag fails
        with pytest.raises(BadRecordMac, match="authentication"):
            MAKERS[kind]().open(record[:3] + length.to_bytes(2, "big"), record[5 : 5 + length])


def test_replayed_reordered_and_dropped_records_fail(make: Maker) -> None:
    writer = RecordLayer()
    writer.set_write_protector(make())
    for i in range(3):
        writer.write(APP, b"record %d" % i)
    r0, r1, r2 = split_records(writer.data_to_send())

    def reader() -> RecordLayer:
        layer = RecordLayer()
        layer.set_read_protector(make())
        return layer

    assert read_all(reader(), r0 + r1 + r2) == [(APP, b"record %d" % i) for i in range(3)]
    layer = reader()
    assert read_all(layer, r0) == [(APP, b"record 0")]
    with pytest.raises(BadRecordMac, match="record 1"):
        read_all(layer, r0)  # replayed: sequence number 1 is in the additional data
    with pytest.raises(BadRecordMac, match="record 0"):
        read_all(reader(), r1)  # reordered / first one dropped
    layer = reader()
    read_all(layer, r0)
    with pytest.raises(BadRecordMac, match="record 1"):
        read_all(layer, r2)  # one dropped in the middle


def test_gcm_replay_with_fixed_explicit_nonce_fails() -> None:
    """Even when the explicit nonce is kept, the sequence number in the AAD catches a replay."""
    record = gcm_record(0, APP, b"once")
    reader = RecordLayer()
    reader.set_read_protector(gcm())
    assert read_all(reader, record) == [(APP, b"once")]
    with pytest.raises(BadRecordMac):
        read_all(reader, record)


# -- record layer rules -----------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "overhead"), [("gcm", 24), ("chacha", 16)])
def test_oversized_records(kind: str, overhead: int) -> None:
    """RFC 5246 §6.2.1/§6.2.3: an AEAD record longer than 2^14 + overhead is record_overflow,
    seen from its header alone."""
    for content_type in (HANDSHAKE, ALERT, APP):
        reader = RecordLayer()
        reader.set_read_protector(MAKERS[kind]())
        reader.feed(struct.pack(">BHH", content_type, 0x0303, 2**14 + overhead + 1))
        with pytest.raises(RecordOverflow):
            reader.next_record()
    # the largest valid record passes
    writer, reader = pair(MAKERS[kind])
    writer.write(APP, bytes(2**14))
    wire = writer.data_to_send()
    assert len(wire) == 5 + 2**14 + overhead
    assert read_all(reader, wire) == [(APP, bytes(2**14))]
    # the protector itself refuses too (if used outside the layer)
    with pytest.raises(RecordOverflow):
        MAKERS[kind]().open(b"\x17\x03\x03\x40\x19", bytes(2**14 + overhead + 1))


def test_receive_limit_counts_content_only(make: Maker) -> None:
    """RFC 8449 §4: in TLS 1.2 the limit is on the content (no type byte)."""
    writer, reader = pair(make)
    reader.receive_limit = 1000
    writer.write(APP, bytes(1000))
    assert read_all(reader, writer.data_to_send()) == [(APP, bytes(1000))]
    writer.write(APP, bytes(1001))
    with pytest.raises(RecordOverflow):
        read_all(reader, writer.data_to_send())


def test_send_limit_counts_content_only(make: Maker) -> None:
    """RFC 8449 §4: with a 1.2 protector a record carries send_limit content bytes, at most
    2^14; a TLS 1.3 record would carry send_limit - 1."""
    writer, reader = pair(make, send_limit=1000)
    writer.write(APP, bytes(2500))
    writer.write(HANDSHAKE, bytes(1500))
    wire = writer.data_to_send()
    overhead = writer.write_protector.overhead
    assert [(t, len(f) - overhead) for t, _, f in parse_records(wire)] == [
        (APP, 1000),
        (APP, 1000),
        (APP, 500),
        (HANDSHAKE, 1000),
        (HANDSHAKE, 500),
    ]
    assert read_all(reader, wire)[0] == (APP, bytes(1000))
    writer, _ = pair(make)  # the default, 2^14 + 1, means 2^14 in TLS 1.2
    writer.write(APP, bytes(2**14 + 1))
    assert [len(f) - overhead for _, _, f in parse_records(writer.data_to_send())] == [2**14, 1]


def test_alert_limits(make: Maker) -> None:
    writer, _ = pair(make, send_limit=64)
    writer.write(ALERT, bytes(64))  # an alert fills at most one record
    with pytest.raises(UsageError):
        writer.write(ALERT, bytes(65))
    with pytest.raises(UsageError):
        writer.write(ALERT, b"")


def test_coalesced_handshake_is_one_protected_record(make: Maker) -> None:
    writer, reader = pair(make)
    messages = [b"\x10\x00\x00\x03abc", b"\x14\x00\x00\x0c" + bytes(12)]
    for message in messages:
        writer.write_handshake(message)
    wire = writer.data_to_send()
    assert [t for t, _, _ in parse_records(wire)] == [HANDSHAKE]  # real type on the wire
    assert read_all(reader, wire) == [(HANDSHAKE, b"".join(messages))]


def test_ccs_stays_plaintext_and_keys_switch_after_it(make: Maker) -> None:
    """RFC 5246 §7.1: ClientKeyExchange and CCS in the clear, Finished under the new keys."""
    writer, reader = RecordLayer(), RecordLayer()
    writer.write(HANDSHAKE, b"\x10\x00\x00\x01\x00")  # buffered
    writer.write(CCS, b"\x01")  # flushes the handshake first, unprotected
    writer.set_write_protector(make())
    writer.write(HANDSHAKE, b"\x14\x00\x00\x0c" + bytes(12))
    writer.write(CCS, b"\x01")  # still never protected (we never renegotiate, though)
    wire = writer.data_to_send()
    records = parse_records(wire)
    assert [(t, len(f)) for t, _, f in records[:2]] == [(HANDSHAKE, 5), (CCS, 1)]
    assert records[2][0] == HANDSHAKE and len(records[2][2]) == 16 + writer.write_protector.overhead
    assert records[3] == (CCS, 0x0303, b"\x01")
    reader.feed(wire)
    assert reader.next_record() == (HANDSHAKE, b"\x10\x00\x00\x01\x00")
    assert reader.next_record() == (CCS, b"\x01")
    reader.set_read_protector(make())
    assert reader.next_record() == (HANDSHAKE, b"\x14\x00\x00\x0c" + bytes(12))
    with pytest.raises(UnexpectedMessage, match="change_cipher_spec"):
        reader.next_record()  # a CCS after protection started


def test_ccs_after_protection_is_rejected_from_its_header(make: Maker) -> None:
    _, reader = pair(make)
    reader.feed(b"\x14\x03\x03\x00\x01")
    with pytest.raises(UnexpectedMessage, match="change_cipher_spec"):
        reader.next_record()


def test_plaintext_records_after_protection_fail(make: Maker) -> None:
    """Once protected, handshake and alert records are opened too: a plaintext one fails,
    and allow_plaintext_alerts (a TLS 1.3 tolerance) does not apply."""
    for content_type, body in ((HANDSHAKE, bytes(40)), (ALERT, b"\x02\x28")):
        _, reader = pair(make)
        reader.allow_plaintext_alerts = True
        with pytest.raises(BadRecordMac):
            read_all(reader, NullProtector().seal(content_type, body))


def test_zero_length_protected_records(make: Maker) -> None:
    """RFC 5246 §6.2.1: zero-length handshake/alert fragments are illegal, application data ok."""
    for content_type in (HANDSHAKE, ALERT):
        _, reader = pair(make)
        with pytest.raises(UnexpectedMessage, match="zero-length"):
            read_all(reader, make().seal(content_type, b""))
    _, reader = pair(make)
    assert read_all(reader, make().seal(APP, b"")) == [(APP, b"")]


def test_unknown_type_and_plaintext_application_data(make: Maker) -> None:
    _, reader = pair(make)
    reader.feed(b"\x18\x03\x03\x00\x20")
    with pytest.raises(UnexpectedMessage):
        reader.next_record()
    with pytest.raises(UnexpectedMessage, match="application_data"):
        read_all(RecordLayer(), make().seal(APP, b"early"))  # not yet protected


def test_padding_policy_is_ignored_for_tls12(make: Maker) -> None:
    writer, reader = pair(make)
    writer.padding_policy = lambda content_type, length: 100
    writer.write(APP, b"data")
    writer.write(ALERT, b"\x01\x00")
    wire = writer.data_to_send()
    overhead = writer.write_protector.overhead
    assert [len(f) - overhead for _, _, f in parse_records(wire)] == [4, 2]
    assert read_all(reader, wire) == [(APP, b"data"), (ALERT, b"\x01\x00")]


# -- bulk fast paths --------------------------------------------------------------------------


def test_open_single_record(make: Maker) -> None:
    writer, reader = pair(make)
    writer.write(APP, b"bulk")
    assert reader.open_single_record(writer.data_to_send()) == (APP, b"bulk")
    writer.write(HANDSHAKE, b"\x00\x00\x00\x00")
    hs = writer.data_to_send()
    assert reader.open_single_record(hs) is None  # not application data: the full path
    assert read_all(reader, hs) == [(HANDSHAKE, b"\x00\x00\x00\x00")]
    writer.write(APP, b"two")
    writer.write(APP, b"records")
    assert reader.open_single_record(writer.data_to_send()) is None
    tampered = bytearray(make().seal(APP, b"x"))
    tampered[-1] ^= 1
    _, reader = pair(make)
    with pytest.raises(BadRecordMac):
        reader.open_single_record(bytes(tampered))
    _, reader = pair(make)
    too_long = struct.pack(">BHH", APP, 0x0303, 2**14 + 100) + bytes(2**14 + 100)
    assert reader.open_single_record(too_long) is None  # the full path reports it
    with pytest.raises(RecordOverflow):
        read_all(reader, too_long)


def test_fast_write_chunk(make: Maker) -> None:
    writer, reader = pair(make)
    writer.write(APP, bytes(2**14))  # exactly one record, on the fast path
    writer.write(APP, bytes(2**14 + 1))  # two
    wire = writer.data_to_send()
    assert len(parse_records(wire)) == 3
    got = read_all(reader, wire)
    assert b"".join(c for _, c in got) == bytes(2**15 + 1)


def test_switch_from_tls12_to_tls13_protector_restores_13_framing() -> None:
    """The layer follows the protector: a 1.3 protector after a 1.2 one frames as 1.3."""
    writer = RecordLayer(send_limit=100)
    writer.set_write_protector(gcm())
    writer.write(APP, bytes(100))
    writer.set_write_protector(Aead13Protector(AESGCM(KEY16), IV12))
    writer.write(APP, bytes(100))
    lengths = [len(f) for _, _, f in parse_records(writer.data_to_send())]
    assert lengths == [100 + 24, 99 + 1 + 16, 1 + 1 + 16]


# -- properties -------------------------------------------------------------------------------


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def drain(layer: RecordLayer, chunks: list[bytes]) -> list[tuple[int, bytes]]:
    """Feed chunk by chunk; stop at the first ProtocolError (nothing else may escape)."""
    out = []
    try:
        for chunk in chunks:
            layer.feed(chunk)
            while (rec := layer.next_record()) is not None:
                assert isinstance(rec[1], bytes)
                out.append(rec)
    except ProtocolError:
        pass
    return out


def protected_reader(kind: str) -> RecordLayer:
    layer = RecordLayer()
    layer.set_read_protector(MAKERS[kind]())
    return layer


@FUZZ
@given(
    kind=st.sampled_from(sorted(MAKERS)),
    data=st.binary(max_size=3000),
    cuts=st.lists(st.integers(0, 3000), max_size=8),
)
def test_random_bytes(kind: str, data: bytes, cuts: list[int]) -> None:
    drain(protected_reader(kind), chunked(data, cuts))
    layer = protected_reader(kind)
    with contextlib.suppress(ProtocolError):
        layer.open_single_record(data)


@FUZZ
@given(
    kind=st.sampled_from(sorted(MAKERS)),
    headers=st.lists(
        st.tuples(
            st.sampled_from([0, CCS, ALERT, HANDSHAKE, APP, 24]),
            st.sampled_from([0x0301, 0x0303, 0x0304, 0x0203]),
            st.binary(max_size=60),
        ),
        max_size=5,
    ),
)
def test_plausible_headers_random_bodies(kind: str, headers: list[tuple[int, int, bytes]]) -> None:
    wire = b"".join(struct.pack(">BHH", t, v, len(b)) + b for t, v, b in headers)
    assert drain(protected_reader(kind), [wire]) == []  # nothing random ever authenticates


writes_strategy = st.lists(
    st.one_of(
        st.tuples(st.just(HANDSHAKE), st.binary(max_size=20000)),
        st.tuples(st.just(APP), st.binary(max_size=40000)),
        st.tuples(st.just(ALERT), st.binary(min_size=2, max_size=2)),
    ),
    min_size=1,
    max_size=6,
)


def merged(records: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    for rec_type, content in records:
        if rec_type in (HANDSHAKE, APP) and not content:
            continue
        if out and rec_type in (HANDSHAKE, APP) and out[-1][0] == rec_type:
            out[-1] = (rec_type, out[-1][1] + content)
        else:
            out.append((rec_type, content))
    return out


@FUZZ
@given(
    kind=st.sampled_from(sorted(MAKERS)),
    writes=writes_strategy,
    cuts=st.lists(st.integers(0, 2**18), max_size=10),
    send_limit=st.one_of(st.just(2**14 + 1), st.integers(64, 2**14 + 1)),
)
def test_round_trip_any_chunking(
    kind: str, writes: list[tuple[int, bytes]], cuts: list[int], send_limit: int
) -> None:
    writer, _ = pair(MAKERS[kind], send_limit=send_limit)
    for rec_type, data in writes:
        writer.write(rec_type, data)
    wire = writer.data_to_send()
    overhead = writer.write_protector.overhead
    for _, _, fragment in parse_records(wire):
        assert len(fragment) - overhead <= min(send_limit, 2**14)
    assert merged(drain(protected_reader(kind), chunked(wire, cuts))) == merged(writes)


@FUZZ
@given(
    kind=st.sampled_from(sorted(MAKERS)),
    writes=writes_strategy,
    cut=st.integers(0, 2**17),
    flip=st.one_of(st.none(), st.tuples(st.integers(0, 2**17), st.integers(1, 255))),
)
def test_truncated_or_corrupted_streams(
    kind: str, writes: list[tuple[int, bytes]], cut: int, flip: tuple[int, int] | None
) -> None:
    """A valid stream, cut short and maybe with one byte changed: exactly the records before
    the damage come out, then nothing more (incomplete) or a ProtocolError."""
    writer, _ = pair(MAKERS[kind])
    for rec_type, data in writes:
        writer.write(rec_type, data)
    wire = writer.data_to_send()
    everything = drain(protected_reader(kind), [wire])
    damaged = bytearray(wire[: cut % (len(wire) + 1)])
    first_bad = len(damaged)
    if flip is not None and damaged:
        first_bad = flip[0] % len(damaged)
        damaged[first_bad] ^= flip[1]
    ends = list(itertools.accumulate(len(r) for r in split_records(wire)))
    intact = sum(1 for end in ends if end <= first_bad)
    assert drain(protected_reader(kind), [bytes(damaged)]) == everything[:intact]
