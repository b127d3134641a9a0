"""The strict presentation-language reader and writer (RFC 8446 §3)."""

from __future__ import annotations

import pytest

from tlsmachine.codec import Reader, Writer
from tlsmachine.enums import AlertDescription
from tlsmachine.errors import DecodeError


def test_integers_big_endian() -> None:
    r = Reader(bytes.fromhex("01 0203 040506 0708090a"))
    assert r.u8() == 0x01
    assert r.u16() == 0x0203
    assert r.u24() == 0x040506
    assert r.u32() == 0x0708090A
    assert r.at_end()
    r.expect_end()


@pytest.mark.parametrize(("method", "available"), [("u8", 0), ("u16", 1), ("u24", 2), ("u32", 3)])
def test_integer_underrun_is_decode_error(method: str, available: int) -> None:
    r = Reader(bytes(available))
    with pytest.raises(DecodeError, match="truncated") as info:
        getattr(r, method)("field")
    assert info.value.alert is AlertDescription.DECODE_ERROR


def test_bytes_and_rest() -> None:
    r = Reader(b"abcdef")
    assert r.bytes(2) == b"ab"
    assert r.remaining == 4
    assert r.rest() == b"cdef"
    assert r.remaining == 0
    assert r.rest() == b""
    with pytest.raises(DecodeError):
        r.bytes(1)


def test_negative_length_rejected() -> None:
    with pytest.raises(DecodeError):
        Reader(b"abc").bytes(-1)


def test_accepts_bytearray_and_memoryview() -> None:
    assert Reader(bytearray(b"\x01\x02")).u16() == 0x0102
    assert Reader(memoryview(b"\x01\x02")).u16() == 0x0102


def test_opaque_bounds() -> None:
    assert Reader(b"\x02ab").opaque(1, min=1, max=2) == b"ab"
    with pytest.raises(DecodeError, match="outside"):
        Reader(b"\x00").opaque(1, min=1)
    with pytest.raises(DecodeError, match="outside"):
        Reader(b"\x03abc").opaque(1, max=2)
    with pytest.raises(DecodeError, match="truncated"):
        Reader(b"\x00\x05abc").opaque(2)
    assert Reader(b"\x00\x00\x01x").opaque(3) == b"x"


def test_vector_child_reader_is_bounded() -> None:
    r = Reader(b"\x02\xaa\xbb\xcc")
    child = r.vector(1)
    assert child.remaining == 2
    assert child.u8() == 0xAA
    assert child.u8() == 0xBB
    with pytest.raises(DecodeError):
        child.u8()  # the parent still has 0xcc, the child may not see it
    assert r.u8() == 0xCC
    r.expect_end()


def test_nested_child_readers_and_position() -> None:
    r = Reader(b"\x00\x04\x02\x01\x02\x09")
    outer = r.vector(2)
    inner = outer.vector(1, min=2, max=2)
    assert inner.position == 3
    assert inner.buffer is r.buffer  # shared, no copy
    assert inner.rest() == b"\x01\x02"
    assert outer.u8() == 0x09
    outer.expect_end()


def test_vector_bounds() -> None:
    with pytest.raises(DecodeError):
        Reader(b"\x01\x00").vector(1, min=2)
    with pytest.raises(DecodeError):
        Reader(b"\x03\x00\x00\x00").vector(1, max=2)


def test_expect_end_reports_trailing_bytes() -> None:
    r = Reader(b"\x01\x02")
    r.u8()
    with pytest.raises(DecodeError, match="1 trailing"):
        r.expect_end("thing")


def test_u16_list() -> None:
    assert Reader(b"\x04\x13\x01\x13\x02").u16_list(1, what="x") == [0x1301, 0x1302]
    with pytest.raises(DecodeError, match="odd"):
        Reader(b"\x03\x13\x01\x13").u16_list(1, what="x")
    with pytest.raises(DecodeError):
        Reader(b"\x00\x00").u16_list(2, min=2, what="x")


def test_writer_integers_and_opaque() -> None:
    w = Writer()
    w.u8(1)
    w.u16(0x0203)
    w.u24(0x040506)
    w.u32(0x0708090A)
    w.bytes(b"z")
    w.opaque(1, b"ab")
    w.u16_list(2, [0x1301])
    assert w.getvalue() == bytes.fromhex("01 0203 040506 0708090a 7a 026162 0002 1301")
    assert len(w) == 18


def test_writer_prefixed_backpatches_length() -> None:
    w = Writer()
    with w.prefixed(2):
        w.u8(7)
        with w.prefixed(1):
            w.bytes(b"xyz")
    assert w.getvalue() == b"\x00\x05\x07\x03xyz"


def test_writer_prefixed_overflow() -> None:
    w = Writer()
    with pytest.raises(ValueError, match="do not fit"), w.prefixed(1):
        w.bytes(bytes(256))


def test_writer_opaque_overflow() -> None:
    with pytest.raises(ValueError, match="do not fit"):
        Writer().opaque(1, bytes(256))
    Writer().opaque(1, bytes(255))  # the maximum fits


def test_round_trip_through_reader() -> None:
    w = Writer()
    with w.prefixed(3):
        w.opaque(2, b"hello")
    r = Reader(w.getvalue())
    inner = r.vector(3)
    assert inner.opaque(2) == b"hello"
    inner.expect_end()
    r.expect_end()


def test_writer_begin_end_vector_backpatches_length() -> None:
    w = Writer()
    outer = w.begin_vector(3)
    w.u8(7)
    inner = w.begin_vector(2)
    w.bytes(b"xyz")
    w.end_vector(inner, 2)
    w.end_vector(outer, 3)
    assert w.getvalue() == b"\x00\x00\x06\x07\x00\x03xyz"


def test_writer_end_vector_overflow() -> None:
    w = Writer()
    start = w.begin_vector(1)
    w.bytes(bytes(256))
    with pytest.raises(ValueError, match="do not fit"):
        w.end_vector(start, 1)
    w = Writer()
    start = w.begin_vector(1)
    w.bytes(bytes(255))  # the maximum fits
    w.end_vector(start, 1)
    assert w.getvalue()[0] == 255


def test_u16_list_edge_values_round_trip() -> None:
    w = Writer()
    w.u16_list(1, [0, 1, 0xFFFF])
    w.u16_list(2, ())
    assert w.getvalue() == bytes.fromhex("06 0000 0001 ffff 0000")
    r = Reader(w.getvalue())
    assert r.u16_list(1, what="x") == [0, 1, 0xFFFF]
    assert r.u16_list(2, what="y") == []
    r.expect_end()


@pytest.mark.parametrize("value", [-1, 0x10000])
def test_writer_u16_list_value_out_of_range(value: int) -> None:
    with pytest.raises(OverflowError):
        Writer().u16_list(2, [1, value])


def test_span_gives_body_offsets_and_advances() -> None:
    r = Reader(b"\x09\x00\x02ab\x05")
    assert r.u8() == 9
    start, end = r.span(2, min=1, max=2)
    assert (start, end) == (3, 5)
    assert r.buffer[start:end] == b"ab"
    assert r.position == 5
    assert r.u8() == 5
    with pytest.raises(DecodeError, match="outside"):
        Reader(b"\x00\x00").span(2, min=1)
    with pytest.raises(DecodeError, match="truncated"):
        Reader(b"\x00\x03ab").span(2)
    with pytest.raises(DecodeError, match="truncated"):
        Reader(b"\x00").span(2)


def test_error_messages_name_the_field() -> None:
    with pytest.raises(DecodeError, match=r"truncated ClientHello\.random: need 32 bytes, 3 left"):
        Reader(b"abc").bytes(32, "ClientHello.random")
    with pytest.raises(DecodeError, match=r"HostName: length 0 outside <1\.\.None>"):
        Reader(b"\x00\x00").opaque(2, min=1, what="HostName")
    with pytest.raises(DecodeError, match="named_group_list: odd length 3"):
        Reader(b"\x00\x03abc").u16_list(2, what="named_group_list")
