"""ssl's ``cadata`` bytes, DER certificates back to back (context_trust.der_certificates):
whole ones are read in order, and truncated, oversized or random bytes are a
ConfigurationError, never another exception."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given
from hypothesis import strategies as st

from tlsmachine.certs import CertifiedKey
from tlsmachine.context_trust import der_certificates
from tlsmachine.errors import ConfigurationError

_FIRST, _SECOND = CertifiedKey.self_signed(("a.example",)), CertifiedKey.self_signed(("b.example",))
_DER = [c.leaf.public_bytes(serialization.Encoding.DER) for c in (_FIRST, _SECOND)]
_BOTH = b"".join(_DER)


def test_certificates_back_to_back_are_read_in_order() -> None:
    assert der_certificates(_BOTH) == [_FIRST.leaf, _SECOND.leaf]


@given(st.integers(min_value=1, max_value=len(_BOTH) - 1))
def test_truncated_is_a_configuration_error(cut: int) -> None:
    if cut == len(_DER[0]):
        assert der_certificates(_BOTH[:cut]) == [_FIRST.leaf]  # a whole first certificate
        return
    with pytest.raises(ConfigurationError):
        der_certificates(_BOTH[:cut])


@given(st.binary(min_size=1, max_size=16))
def test_trailing_bytes_are_a_configuration_error(tail: bytes) -> None:
    with pytest.raises(ConfigurationError):
        der_certificates(_BOTH + tail)


@given(
    st.one_of(
        st.binary(max_size=300),
        # a SEQUENCE header with any length form, then anything
        st.tuples(st.integers(0, 255), st.binary(max_size=40)).map(
            lambda t: b"\x30" + bytes((t[0],)) + t[1]
        ),
    )
)
def test_random_bytes_are_read_or_a_configuration_error(data: bytes) -> None:
    try:
        result = der_certificates(data)
    except ConfigurationError:
        return
    assert result == []  # only b"" holds no certificate and no error
    assert data == b""
