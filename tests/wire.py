"""Shared test helper: TLS records and handshake messages as raw bytes, for tests that play a
misbehaving peer by writing or taking apart the byte stream themselves (RFC 5246 §6.2,
RFC 8446 §5.1: a 5-byte record header, then a 4-byte handshake header per message)."""

from __future__ import annotations

from tlsmachine.enums import AlertDescription, ContentType

HANDSHAKE = int(ContentType.HANDSHAKE)
CCS = int(ContentType.CHANGE_CIPHER_SPEC)
ALERT = int(ContentType.ALERT)
APPLICATION_DATA = int(ContentType.APPLICATION_DATA)


def record(content_type: int, body: bytes) -> bytes:
    """One TLSPlaintext record with legacy_record_version 0x0303."""
    return bytes((content_type, 3, 3)) + len(body).to_bytes(2, "big") + body


def plaintext_alert(description: AlertDescription) -> bytes:
    """A fatal alert in the clear."""
    return record(ALERT, bytes((2, description)))


def records(data: bytes) -> list[tuple[int, bytes]]:
    """Split a byte stream into (content type, fragment) records."""
    out = []
    while data:
        end = 5 + int.from_bytes(data[3:5], "big")
        out.append((data[0], data[5:end]))
        data = data[end:]
    return out


def messages(fragment: bytes) -> list[bytes]:
    """Split a handshake fragment into whole messages (header included)."""
    out = []
    while fragment:
        end = 4 + int.from_bytes(fragment[1:4], "big")
        out.append(fragment[:end])
        fragment = fragment[end:]
    return out


def plaintext_messages(flight: bytes) -> list[bytes]:
    """The handshake messages of ``flight`` before its ChangeCipherSpec, if any (a TLS 1.2
    flight: what follows the CCS is encrypted)."""
    out: list[bytes] = []
    for content_type, fragment in records(flight):
        if content_type == CCS:
            break
        if content_type == HANDSHAKE:
            out += messages(fragment)
    return out
