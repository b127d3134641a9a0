"""TranscriptHash: buffering, snapshots, HelloRetryRequest restart (RFC 8446 §4.4.1)."""

from __future__ import annotations

import hashlib

import pytest

from rfc8448 import load_rfc8448
from tlsmachine.errors import InternalError
from tlsmachine.transcript import TranscriptHash, message_hash

CH = b"\x01\x00\x00\x03abc"
SH = b"\x02\x00\x00\x02de"
EE = b"\x08\x00\x00\x00"


def test_buffers_until_hash_selected() -> None:
    t = TranscriptHash()
    assert t.hash_name is None
    t.update(CH)
    t.update(SH)
    with pytest.raises(InternalError, match="before the hash was selected"):
        t.digest()
    t.select_hash("sha384")
    assert t.hash_name == "sha384"
    assert t.digest() == hashlib.sha384(CH + SH).digest()
    t.update(EE)
    assert t.digest() == hashlib.sha384(CH + SH + EE).digest()
    assert t.message_count == 3


def test_digest_is_a_snapshot_and_digest_with_adds_nothing() -> None:
    t = TranscriptHash()
    t.select_hash("sha256")
    t.update(CH)
    first = t.digest()
    assert t.digest() == first
    assert t.digest_with(SH) == hashlib.sha256(CH + SH).digest()
    assert t.digest() == first
    assert t.message_count == 1


def test_select_hash_twice() -> None:
    t = TranscriptHash()
    t.update(CH)
    t.select_hash("sha256")
    t.select_hash("sha256")  # same hash again: no-op, nothing hashed twice
    assert t.digest() == hashlib.sha256(CH).digest()
    with pytest.raises(InternalError, match="cannot switch"):
        t.select_hash("sha384")


def test_hello_retry_restart() -> None:
    t = TranscriptHash()
    t.update(CH)
    t.select_hash("sha256")
    t.hello_retry_restart()
    hrr = b"\x02\x00\x00\x01x"
    t.update(hrr)
    synthetic = bytes([254, 0, 0, 32]) + hashlib.sha256(CH).digest()
    assert message_hash(hashlib.sha256(CH).digest()) == synthetic
    assert t.digest() == hashlib.sha256(synthetic + hrr).digest()


def test_hello_retry_restart_sha384() -> None:
    t = TranscriptHash()
    t.update(CH)
    t.select_hash("sha384")
    t.hello_retry_restart()
    synthetic = bytes([254, 0, 0, 48]) + hashlib.sha384(CH).digest()
    assert t.digest() == hashlib.sha384(synthetic).digest()


@pytest.mark.parametrize("count", [0, 2])
def test_hello_retry_restart_needs_exactly_ch1(count: int) -> None:
    t = TranscriptHash()
    t.select_hash("sha256")
    for _ in range(count):
        t.update(CH)
    with pytest.raises(InternalError, match="not ClientHello1"):
        t.hello_retry_restart()


def test_hello_retry_restart_needs_a_hash() -> None:
    t = TranscriptHash()
    t.update(CH)
    with pytest.raises(InternalError, match="before the hash was selected"):
        t.hello_retry_restart()


def test_copy_is_independent() -> None:
    t = TranscriptHash()
    t.update(CH)
    buffered = t.copy()
    t.select_hash("sha256")
    hashed = t.copy()
    t.update(SH)
    buffered.select_hash("sha384")
    assert buffered.digest() == hashlib.sha384(CH).digest()
    assert hashed.digest() == hashlib.sha256(CH).digest()
    assert t.digest() == hashlib.sha256(CH + SH).digest()
    assert "2 messages" in repr(t)
    assert "buffering" in repr(TranscriptHash())


def test_rfc8448_section5_hrr_transcript() -> None:
    """The client's view of RFC 8448 §5: CH1 buffered, hash chosen from the HRR's suite."""
    sec = load_rfc8448().section("5")
    (_, _, ch1), (_, _, hrr), (_, _, ch2), (_, _, sh) = sec.messages()[:4]
    t = TranscriptHash()
    t.update(ch1)
    t.select_hash("sha256")  # HRR cipher_suite TLS_AES_128_GCM_SHA256
    t.hello_retry_restart()
    for raw in (hrr, ch2, sh):
        t.update(raw)
    assert t.digest() == sec.get('{server}  derive secret "tls13 c hs traffic"', "hash")


def test_rfc8448_section3_transcript_points() -> None:
    sec = load_rfc8448().section("3")
    msgs = [raw for _, _, raw in sec.messages()]
    t = TranscriptHash()
    for raw in msgs[:2]:
        t.update(raw)
    t.select_hash("sha256")
    assert t.digest() == sec.get('{server}  derive secret "tls13 s hs traffic"', "hash")
    for raw in msgs[2:6]:  # EE, Certificate, CertificateVerify, server Finished
        t.update(raw)
    assert t.digest() == sec.get('{server}  derive secret "tls13 s ap traffic"', "hash")
    t.update(msgs[6])  # client Finished
    assert t.digest() == sec.get('{client}  derive secret "tls13 res master"', "hash")
