"""Property tests of the record layer (RFC 8446 §5): hostile input only ever raises
ProtocolError, and anything written comes back unchanged through any chunking."""

from __future__ import annotations

import itertools
import struct
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tlsmachine.errors import ProtocolError
from tlsmachine.record import Aead13Protector, RecordLayer

CCS, ALERT, HANDSHAKE, APP = 20, 21, 22, 23
KEY, IV = bytes(range(32)), bytes(range(12))
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    """Cut ``data`` at the given (unsorted, possibly repeated) positions."""
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def drain(layer: RecordLayer, chunks: list[bytes]) -> list[tuple[int, bytes]]:
    """Feed chunk by chunk, draining after each; stop at the first ProtocolError."""
    out = []
    try:
        for chunk in chunks:
            layer.feed(chunk)
            while (rec := layer.next_record()) is not None:
                assert isinstance(rec[0], int)
                assert isinstance(rec[1], bytes)
                out.append(rec)
    except ProtocolError:
        pass  # the only kind of exception allowed; anything else fails the test
    return out


def reader(protected: bool, cipher: type = AESGCM) -> RecordLayer:
    layer = RecordLayer()
    if protected:
        layer.set_read_protector(Aead13Protector(cipher(KEY), IV))
    return layer


# -- hostile input -----------------------------------------------------------------------------


@FUZZ
@given(data=st.binary(max_size=3000), cuts=st.lists(st.integers(0, 3000), max_size=8))
def test_random_bytes_null_reader(data: bytes, cuts: list[int]) -> None:
    drain(reader(False), chunked(data, cuts))


@FUZZ
@given(data=st.binary(max_size=3000), cuts=st.lists(st.integers(0, 3000), max_size=8))
def test_random_bytes_protected_reader(data: bytes, cuts: list[int]) -> None:
    drain(reader(True), chunked(data, cuts))


def records_strategy(sealer: Callable[[int, bytes], bytes]) -> st.SearchStrategy[bytes]:
    """Streams of plausible records: valid headers with random bodies, sealed records, junk."""
    raw = st.builds(
        lambda t, v, body, fix: (
            struct.pack(">BHH", t, v, len(body) if fix else len(body) + 1) + body
        ),
        st.sampled_from([0, CCS, ALERT, HANDSHAKE, APP, 24, 255]),
        st.sampled_from([0x0301, 0x0303, 0x0304, 0x0203]),
        st.binary(max_size=64),
        st.booleans(),
    )
    sealed = st.builds(
        sealer,
        st.sampled_from([0, 1, CCS, ALERT, HANDSHAKE, APP, 99]),
        st.binary(max_size=64),
    )
    big = st.builds(
        lambda t, n: struct.pack(">BHH", t, 0x0303, n),
        st.sampled_from([ALERT, HANDSHAKE, APP, CCS]),
        st.integers(2**14 - 2, 0xFFFF),
    )
    return st.lists(st.one_of(raw, sealed, big), max_size=6).map(b"".join)


def _seal_any(content_type: int, body: bytes, padding: int = 0) -> bytes:
    """Seal with sequence number 0 and an arbitrary (even invalid) inner type."""
    inner = body + bytes([content_type]) + bytes(padding)
    header = struct.pack(">BHH", APP, 0x0303, len(inner) + 16)
    return header + AESGCM(KEY).encrypt(IV, inner, header)


@FUZZ
@given(
    stream=records_strategy(_seal_any),
    cuts=st.lists(st.integers(0, 500), max_size=6),
    protected=st.booleans(),
)
def test_structured_records(stream: bytes, cuts: list[int], protected: bool) -> None:
    for rec_type, content in drain(reader(protected), chunked(stream, cuts)):
        assert rec_type in (CCS, ALERT, HANDSHAKE, APP)
        if rec_type in (ALERT, HANDSHAKE):
            assert content  # RFC 8446 §5.1/§5.4: never zero-length
        assert len(content) <= 2**14


@FUZZ
@given(
    inner_type=st.sampled_from([0, 1, CCS, ALERT, HANDSHAKE, APP, 24, 255]),
    body=st.binary(max_size=64),
    padding=st.integers(0, 64),
)
def test_sealed_inner_plaintexts(inner_type: int, body: bytes, padding: int) -> None:
    """Authentic records with any inner type, content and padding (RFC 8446 §5.2, §5.4)."""
    got = drain(reader(True), [_seal_any(inner_type, body, padding)])
    valid = inner_type == APP or (inner_type in (ALERT, HANDSHAKE) and body)
    if inner_type and valid:
        assert got == [(inner_type, body)]
    elif inner_type:
        assert got == []  # rejected with a ProtocolError
    for rec_type, content in got:  # inner_type 0: the type is the body's last non-zero byte
        assert rec_type in (ALERT, HANDSHAKE, APP)
        assert content or rec_type == APP


# -- round trips -------------------------------------------------------------------------------

writes_strategy = st.lists(
    st.one_of(
        st.tuples(st.just(HANDSHAKE), st.binary(max_size=40000)),
        st.tuples(st.just(APP), st.binary(max_size=40000)),
        st.tuples(st.just(ALERT), st.binary(min_size=2, max_size=2)),
        st.tuples(st.just(CCS), st.just(b"\x01")),
    ),
    max_size=8,
)


def merged(records: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """Join runs of handshake or application data, the streams that may be re-fragmented."""
    out: list[tuple[int, bytes]] = []
    for rec_type, content in records:
        if rec_type in (HANDSHAKE, APP) and not content:
            continue
        if out and rec_type in (HANDSHAKE, APP) and out[-1][0] == rec_type:
            out[-1] = (rec_type, out[-1][1] + content)
        else:
            out.append((rec_type, content))
    return out


def check_sizes(wire: bytes, *, protected: bool, send_limit: int) -> None:
    pos = 0
    while pos < len(wire):
        rec_type, _, length = struct.unpack_from(">BHH", wire, pos)
        if protected and rec_type != CCS:
            assert rec_type == APP
            assert length - 16 <= send_limit  # RFC 8449 §4: whole TLSInnerPlaintext
        else:
            assert length <= 2**14
        pos += 5 + length


@FUZZ
@given(
    writes=writes_strategy,
    cuts=st.lists(st.integers(0, 2**18), max_size=10),
    send_limit=st.one_of(st.just(2**14 + 1), st.integers(64, 2**14 + 1)),
    padding=st.one_of(st.none(), st.integers(0, 300)),
    chacha=st.booleans(),
)
def test_protected_round_trip(
    writes: list[tuple[int, bytes]],
    cuts: list[int],
    send_limit: int,
    padding: int | None,
    chacha: bool,
) -> None:
    cipher: type = ChaCha20Poly1305 if chacha else AESGCM
    writer = RecordLayer(send_limit=send_limit)
    writer.set_write_protector(Aead13Protector(cipher(KEY), IV))
    if padding is not None:
        writer.padding_policy = lambda content_type, length: padding
    wire = b""
    for i, (rec_type, data) in enumerate(writes):
        writer.write(rec_type, data)
        if i % 3 == 2:
            wire += writer.data_to_send()
    wire += writer.data_to_send()
    check_sizes(wire, protected=True, send_limit=send_limit)
    got = drain(reader(True, cipher), chunked(wire, cuts))
    assert merged(got) == merged(writes)


@FUZZ
@given(
    writes=st.lists(
        st.one_of(
            st.tuples(st.just(HANDSHAKE), st.binary(max_size=40000)),
            st.tuples(st.just(ALERT), st.binary(min_size=2, max_size=2)),
            st.tuples(st.just(CCS), st.just(b"\x01")),
        ),
        max_size=8,
    ),
    cuts=st.lists(st.integers(0, 2**18), max_size=10),
)
def test_plaintext_round_trip(writes: list[tuple[int, bytes]], cuts: list[int]) -> None:
    writer = RecordLayer()
    for rec_type, data in writes:
        writer.write(rec_type, data)
    wire = writer.data_to_send()
    check_sizes(wire, protected=False, send_limit=2**14)
    assert merged(drain(reader(False), chunked(wire, cuts))) == merged(writes)


@FUZZ
@given(
    before=st.binary(min_size=1, max_size=3000),
    after=st.binary(min_size=1, max_size=3000),
    cuts=st.lists(st.integers(0, 7000), max_size=6),
)
def test_key_switch_between_records(before: bytes, after: bytes, cuts: list[int]) -> None:
    """Handshake bytes in the clear, then protected: the owner switches keys between records."""
    writer = RecordLayer()
    writer.write(HANDSHAKE, before)
    writer.set_write_protector(Aead13Protector(AESGCM(KEY), IV))
    writer.write(HANDSHAKE, after)
    wire = writer.data_to_send()
    layer = RecordLayer()
    got: list[tuple[int, bytes]] = []
    for chunk in chunked(wire, cuts):
        layer.feed(chunk)
        while (rec := layer.next_record()) is not None:
            got.append(rec)
            if sum(len(c) for _, c in got) == len(before):
                layer.set_read_protector(Aead13Protector(AESGCM(KEY), IV))
    assert merged(got) == [(HANDSHAKE, before + after)]
