"""PlaintextBuffer: the same bytes in the same order as a bytearray would give, fewer copies."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tlsmachine.plaintext_buffer import PlaintextBuffer

# an operation: ("append", data), ("take", limit) or ("into", buffer size)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.binary(max_size=40)),
        st.tuples(st.just("take"), st.integers(min_value=-3, max_value=90)),
        st.tuples(st.just("into"), st.integers(min_value=0, max_value=90)),
    ),
    max_size=40,
)


@given(operations)
def test_matches_a_bytearray_model(ops: list[tuple[str, object]]) -> None:
    buffer, model = PlaintextBuffer(), bytearray()
    for op, arg in ops:
        if op == "append":
            assert isinstance(arg, bytes)
            buffer.append(arg)
            model += arg
        elif op == "take":
            assert isinstance(arg, int)
            expected = bytes(model[: max(arg, 0)])
            del model[: max(arg, 0)]
            got = buffer.take(arg)
            assert type(got) is bytes and got == expected
        else:
            assert isinstance(arg, int)
            target = bytearray(b"\xee" * arg)
            count = buffer.take_into(memoryview(target))
            expected = bytes(model[:arg])
            del model[:arg]
            assert count == len(expected) and bytes(target[:count]) == expected
            assert target[count:] == b"\xee" * (arg - count)  # nothing written past the data
        assert len(buffer) == len(model) and bool(buffer) == bool(model)


def test_a_whole_single_record_is_handed_out_without_a_copy() -> None:
    buffer = PlaintextBuffer()
    record = bytes(range(256)) * 64
    buffer.append(record)
    assert buffer.take(65536) is record
    assert not buffer and buffer.take(10) == b""


def test_reads_cross_record_boundaries_and_resume_mid_record() -> None:
    buffer = PlaintextBuffer()
    for part in (b"abc", b"", b"defgh", b"ij"):
        buffer.append(part)  # an empty record adds nothing
    assert len(buffer) == 10
    assert buffer.take(2) == b"ab"
    assert buffer.take(4) == b"cdef"
    target = bytearray(3)
    assert buffer.take_into(memoryview(target)) == 3 and target == b"ghi"
    assert buffer.take(100) == b"j"
    assert len(buffer) == 0


def test_clear_forgets_everything_including_a_partly_read_record() -> None:
    buffer = PlaintextBuffer()
    buffer.append(b"abcdef")
    buffer.take(2)
    buffer.clear()
    assert len(buffer) == 0 and buffer.take(10) == b""
    buffer.append(b"xyz")
    assert buffer.take(10) == b"xyz"
