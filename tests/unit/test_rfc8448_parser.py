"""The RFC 8448 trace parser (tests/rfc8448.py) and its committed JSON."""

from __future__ import annotations

import json

import pytest

from rfc8448 import JSON_PATH, TEXT_PATH, Trace, load_rfc8448, parse_rfc8448

TRACE = load_rfc8448()

SNIPPET = """\
3.  Simple 1-RTT Handshake

   Prose that is ignored, with a colon:  like this.

   {server}  derive secret "tls13 c hs traffic" (same as
      client):

      PRK (4 octets):  01 02
         03 04

      hash (0 octets):  (empty)

      salt:  0 (all zero octets)




Thomson                       Informational                     [Page 5]
\f
RFC 8448                     TLS 1.3 Traces                 January 2019


      expanded (20 octets):  00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e
         0f 10 11 12 13

   {client}  send handshake record:

      payload (1 octets):  16

   {client}  send handshake record:

      payload (1 octets):  17

   Note:  A note paragraph
      with a continuation.

8.  Security Considerations

   {client}  not parsed after section 7:
"""


def test_parser_on_a_synthetic_page_break() -> None:
    trace = parse_rfc8448(SNIPPET)
    assert list(trace.sections) == ["3"]
    sec = trace.section("3")
    assert sec.title == "Simple 1-RTT Handshake"
    assert sec.labels() == [
        '{server}  derive secret "tls13 c hs traffic" (same as client)',
        "{client}  send handshake record",
        "{client}  send handshake record",
    ]
    step = sec.steps[0]
    assert step.key == '{server}  derive secret "tls13 c hs traffic"'
    assert step.actor == "server"
    assert step.action == 'derive secret "tls13 c hs traffic"'
    assert step.line == 5
    assert dict(step.fields) == {
        "PRK": b"\x01\x02\x03\x04",
        "hash": b"",
        "salt": b"",
        "expanded": bytes(range(20)),  # continued across the page break
    }
    assert sec.get('{server}  derive secret "tls13 c hs traffic"', "PRK") == b"\x01\x02\x03\x04"
    with pytest.raises(LookupError, match="2 steps match"):
        sec.get("{client}  send handshake record", "payload")
    assert sec.get("{client}  send handshake record", "payload", occurrence=1) == b"\x17"
    assert sec.find("send handshake", "payload", occurrence=-1) == b"\x17"
    with pytest.raises(KeyError, match="no step matches"):
        sec.step("{client}  nothing")
    with pytest.raises(KeyError, match="has no field"):
        step["IKM"]


def test_parser_checks_octet_counts() -> None:
    bad = SNIPPET.replace("PRK (4 octets)", "PRK (5 octets)")
    with pytest.raises(ValueError, match="PRK: 4 != 5"):
        parse_rfc8448(bad)


def test_parser_rejects_unknown_lines() -> None:
    bad = SNIPPET.replace("         03 04", "         03 04 zz")
    with pytest.raises(ValueError, match="cannot parse"):
        parse_rfc8448(bad)
    with pytest.raises(ValueError, match="duplicate field"):
        parse_rfc8448(SNIPPET.replace("hash (0 octets)", "PRK (0 octets)"))


def test_sections_and_counts() -> None:
    titles = {n: s.title for n, s in TRACE.sections.items()}
    assert titles == {
        "2": "Private Keys",
        "3": "Simple 1-RTT Handshake",
        "4": "Resumed 0-RTT Handshake",
        "5": "HelloRetryRequest",
        "6": "Client Authentication",
        "7": "Compatibility Mode",
    }
    assert {n: len(s.steps) for n, s in TRACE.sections.items()} == {
        "2": 1, "3": 55, "4": 60, "5": 54, "6": 52, "7": 51,
    }  # fmt: skip
    for sec in TRACE.sections.values():
        for step in sec:
            assert step.actor in ("client", "server") or sec.number == "2"
            assert step.fields or "(same as" in step.label, step.label


def test_known_values() -> None:
    s3 = TRACE.section("3")
    assert s3.get('{server}  derive secret "tls13 s hs traffic"', "expanded").hex() == (
        "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38"
    )
    assert s3.find("s hs traffic", "expanded", actor="server") == s3.get(
        '{server}  derive secret "tls13 s hs traffic"', "expanded"
    )
    assert s3.get("{client}  create an ephemeral x25519 key pair", "private key").hex() == (
        "49af42ba7f7994852d713ef2784bcbcaa7911de26adc5642cb634540e7ea5005"
    )
    record = s3.get("{client}  send handshake record", "complete record", occurrence=0)
    assert record[:5] == bytes.fromhex("16030100c4")
    rsa = TRACE.section("2").step("server RSA private key")
    assert len(rsa["modulus"]) == 128
    assert rsa["public exponent"] == b"\x01\x00\x01"


def test_messages_are_the_transcript() -> None:
    names = [(a, m) for a, m, _ in TRACE.section("3").messages()]
    assert names == [
        ("client", "ClientHello"), ("server", "ServerHello"),
        ("server", "EncryptedExtensions"), ("server", "Certificate"),
        ("server", "CertificateVerify"), ("server", "Finished"), ("client", "Finished"),
        ("server", "NewSessionTicket"),
    ]  # fmt: skip
    for sec in TRACE.sections.values():
        for _, _, raw in sec.messages():
            assert int.from_bytes(raw[1:4], "big") + 4 == len(raw)  # whole messages only
    hrr = TRACE.section("5").messages()[1]
    assert hrr[1] == "ServerHello"
    assert len(hrr[2]) == 176


def test_section4_client_hello_is_completed_from_the_record() -> None:
    s4 = TRACE.section("4")
    printed = s4.get("{client}  construct a ClientHello handshake message", "ClientHello")
    assert len(printed) == 477  # before the binders were appended
    (_, name, ch), *_ = s4.messages()
    assert name == "ClientHello"
    assert len(ch) == 512
    assert ch.startswith(printed)
    assert ch == s4.get("{client}  send handshake record", "payload", occurrence=0)


@pytest.mark.parametrize("number", ["3", "4", "5", "6", "7"])
def test_hello_record_payloads_match_messages(number: str) -> None:
    """The plaintext hello records carry exactly the constructed messages."""
    sec = TRACE.section(number)
    hellos = [raw for _, m, raw in sec.messages() if m in ("ClientHello", "ServerHello")]
    payloads = [
        s["payload"]
        for s in sec
        if s.key.endswith("send handshake record") and s["complete record"][0] == 0x16
    ]
    assert payloads == hellos


def test_json_round_trip() -> None:
    assert Trace.from_json(json.loads(json.dumps(TRACE.to_json()))) == TRACE


def test_committed_json_matches_the_rfc_text() -> None:
    """Regenerate with `python tests/vectors/extract_rfc8448.py` if this fails."""
    from_text = parse_rfc8448(TEXT_PATH.read_text(encoding="utf-8"))
    assert json.loads(JSON_PATH.read_text(encoding="utf-8")) == from_text.to_json()
    assert load_rfc8448(TEXT_PATH) == load_rfc8448(JSON_PATH)
