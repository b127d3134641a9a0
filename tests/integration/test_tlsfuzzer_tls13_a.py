"""Conformance audit against the expectations of tlsfuzzer's TLS 1.3 scripts (part A).

Each test replays, in memory, one conversation of a ``scripts/test-tls13-*.py`` script of the
tlsfuzzer project against our :class:`ServerConnection` and checks the answer tlsfuzzer expects
(a ServerHello, application data, or a given fatal alert). The client is played by
:class:`Probe` (``tests/tls13_probe.py``): it writes the ClientHello byte by byte, learns every
traffic secret from the server's key log and seals its own records, so it can misbehave where a
real client would not.

Tests marked ``xfail(strict=True)`` document a place where we answer differently from what
tlsfuzzer expects and RFC 8446 agrees with tlsfuzzer (the reason names the rule).
"""

from __future__ import annotations

import pytest

from tls13_probe import (
    AES_128_CCM,
    AES_128_CCM_8,
    AES_128_GCM,
    AES_256_GCM,
    ALERT,
    APPLICATION_DATA,
    CCS,
    CHACHA20,
    EMPTY_RENEGOTIATION_INFO_SCSV,
    EXT_COOKIE,
    EXT_EARLY_DATA,
    EXT_KEY_SHARE,
    EXT_PRE_SHARED_KEY,
    EXT_PSK_KEY_EXCHANGE_MODES,
    EXT_SUPPORTED_GROUPS,
    EXT_SUPPORTED_VERSIONS,
    GET,
    HANDSHAKE,
    HRR_RANDOM,
    TLS13,
    Extensions,
    Probe,
    client_hello,
    conversation,
    handshake,
    hello_extension,
    hello_extension_types,
    key_share_entry,
    record,
    tls13_extensions,
    u16s,
    vector,
)
from tlsmachine import (
    AlertReceived,
    ConnectionState,
)
from tlsmachine.crypto.groups import SECP256R1, Group, group_by_id
from tlsmachine.crypto.suites import suite_by_id
from tlsmachine.enums import AlertDescription, HandshakeType
from tlsmachine.keyschedule import traffic_key_iv

# == test-tls13-conversation.py ===================================================================


def test_conversation_sanity() -> None:
    """tlsfuzzer test-tls13-conversation.py, "sanity": AES-128-GCM, secp256r1, RSA-PSS; a
    request, an answer, close_notify both ways (RFC 8446 §2, §6.1)."""
    probe = Probe()
    probe.handshake()
    hello = probe.server_hello
    assert hello is not None and probe.suite is not None and probe.suite.id == AES_128_GCM
    assert [m[0] for m in probe.messages[1:5]] == [
        HandshakeType.ENCRYPTED_EXTENSIONS,
        HandshakeType.CERTIFICATE,
        HandshakeType.CERTIFICATE_VERIFY,
        HandshakeType.FINISHED,
    ]
    assert (CCS, b"\x01") in probe.received  # middlebox compatibility (§D.4)
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


MAX_PADDING = 2**14  # content + padding = 2^14: TLSInnerPlaintext at its limit (§5.4)


def padding_for(size: int | str, content: bytes) -> int:
    """tlsfuzzer's SetPaddingCallback: a fixed number of zeros, or "max" to fill the record."""
    return MAX_PADDING - len(content) if size == "max" else int(size)


# == test-tls13-zero-length-data.py ==============================================================


@pytest.mark.parametrize("padding", [0, 30, "max"])
def test_zero_length_application_data_between_data(padding: int | str) -> None:
    """tlsfuzzer test-tls13-zero-length-data.py, "zero-length app data" (also "with padding",
    "with large padding"): empty application_data records between the pieces of a request are
    accepted. RFC 8446 §5.4: "Zero-length fragments of Application Data MAY be sent, as they
    are potentially useful as a traffic analysis countermeasure."; §5.1: "Zero-length fragments
    of Application Data MAY be sent"."""
    probe = Probe()
    probe.handshake()
    pieces = [b"", b"GET /", b"", b"HTTP/1.", b"", b"0\r\n\r\n"]
    conversation(
        probe,
        *(probe.sealed(APPLICATION_DATA, p, padding_for(padding, p)) for p in pieces),
        request=b"".join(pieces),
    )


@pytest.mark.parametrize("padding", [0, 30, "max"])
def test_zero_length_application_data_before_client_finished(padding: int | str) -> None:
    """tlsfuzzer test-tls13-zero-length-data.py, "zero-length app data during handshake" (and
    "with padding", "with large padding"): an empty application_data record under the client's
    handshake keys, instead of its Finished, is unexpected_message. RFC 8446 §2 / §4.4.4: the
    client sends application data only after its Finished; RFC 8446 §6.2: an inappropriate
    message is "unexpected_message"."""
    probe = Probe()
    probe.send_hello()
    probe.use_handshake_keys()
    probe.expect_alert(
        probe.sealed(APPLICATION_DATA, b"", padding_for(padding, b"")),
        AlertDescription.UNEXPECTED_MESSAGE,
    )


def test_zero_length_application_data_interleaved_in_client_hello() -> None:
    """tlsfuzzer test-tls13-zero-length-data.py, "zero-length app data interleaved in
    handshake" (the padded variants send the same bytes: nothing is protected yet): the
    ClientHello split in two records with an empty application_data record between them.
    RFC 8446 §5.1: "Handshake messages MUST NOT be interleaved with other record types."
    (unexpected_message)."""
    probe = Probe()
    hello = client_hello()
    probe.send(record(HANDSHAKE, hello[:2]))
    probe.expect_alert(record(APPLICATION_DATA, b""), AlertDescription.UNEXPECTED_MESSAGE)


# == test-tls13-empty-alert.py ====================================================================


@pytest.mark.parametrize("padding", [0, 2, 5, 30])
@pytest.mark.parametrize("keys", ["handshake", "application"])
def test_empty_alert_record_is_unexpected_message(keys: str, padding: int) -> None:
    """tlsfuzzer test-tls13-empty-alert.py, "empty alert with N bytes of padding using
    {handshake,application} keys". RFC 8446 §5.4: "Implementations MUST NOT send Handshake and
    Alert records that have a zero-length TLSInnerPlaintext.content; if such a message is
    received, the receiving implementation MUST terminate the connection with an
    "unexpected_message" alert."."""
    probe = Probe()
    if keys == "handshake":
        probe.send_hello()
        probe.use_handshake_keys()
    else:
        probe.handshake()
    probe.expect_alert(probe.sealed(ALERT, b"", padding), AlertDescription.UNEXPECTED_MESSAGE)


def test_empty_handshake_record_is_unexpected_message() -> None:
    """The same rule for Handshake (tlsfuzzer test-tls13-empty-alert.py covers alerts; this is
    the handshake half of the same sentence). RFC 8446 §5.4: "Implementations MUST NOT send
    Handshake and Alert records that have a zero-length TLSInnerPlaintext.content; if such a
    message is received, the receiving implementation MUST terminate the connection with an
    "unexpected_message" alert."."""
    probe = Probe()
    probe.handshake()
    probe.expect_alert(probe.sealed(HANDSHAKE, b"", 5), AlertDescription.UNEXPECTED_MESSAGE)


# == test-tls13-record-padding.py =================================================================


@pytest.mark.parametrize("padding", [30, "max"])
def test_record_padding_is_accepted(padding: int | str) -> None:
    """tlsfuzzer test-tls13-record-padding.py, "set-fixed-length-padding",
    "set-max-length-padding". RFC 8446 §5.4: "the TLSInnerPlaintext.content ... followed by
    zeros"; padding up to the record limit is legal and removed by the receiver."""
    probe = Probe()
    probe.handshake()
    conversation(probe, probe.sealed(APPLICATION_DATA, GET, padding_for(padding, GET)))


def test_record_padding_one_byte_over_the_limit_is_record_overflow() -> None:
    """The edge of test-tls13-record-padding.py's "max" case: one byte more than 2^14 + 1 of
    TLSInnerPlaintext. RFC 8446 §5.4: "The length MUST NOT exceed 2^14 + 1 octets" ... §5.2:
    "If the decryption ... results in a plaintext longer than 2^14 + 1 ... MUST terminate
    the connection with a "record_overflow" alert"."""
    probe = Probe()
    probe.handshake()
    assert probe.suite is not None
    inner = GET + bytes([APPLICATION_DATA]) + bytes(MAX_PADDING - len(GET) + 1)
    key, iv = traffic_key_iv(probe.suite, probe.write_secret)
    header = bytes([APPLICATION_DATA, 3, 3]) + (len(inner) + 16).to_bytes(2, "big")
    sealed = header + probe.suite.aead(key).encrypt(iv, inner, header)  # sequence number 0
    probe.expect_alert(sealed, AlertDescription.RECORD_OVERFLOW)


# == test-tls13-finished.py =======================================================================


def finished_probe(suite: int) -> Probe:
    probe = Probe()
    probe.send_hello(client_hello((suite, EMPTY_RENEGOTIATION_INFO_SCSV)))
    assert probe.server_finished
    return probe


SUITE_HASH = {AES_128_GCM: 32, AES_256_GCM: 48}


@pytest.mark.parametrize(
    ("suite", "bit"),
    [
        *((AES_128_GCM, bit) for bit in (0, 7, 8, 100, 255)),
        *((AES_256_GCM, bit) for bit in (0, 7, 8, 100, 255, 383)),
    ],
)
def test_finished_with_a_flipped_bit_is_decrypt_error(suite: int, bit: int) -> None:
    """tlsfuzzer test-tls13-finished.py, "single bit error - cipher ..., bit N" (a sample of
    the bits). RFC 8446 §4.4.4: "Recipients of Finished messages MUST verify that the contents
    are correct and if incorrect MUST terminate the connection with a "decrypt_error"
    alert."."""
    assert bit < 8 * SUITE_HASH[suite]  # a bit of the verify_data
    probe = finished_probe(suite)
    good = bytearray(probe.finished())
    good[-(bit // 8 + 1)] ^= 1 << (bit % 8)
    probe.use_handshake_keys()
    probe.expect_alert(probe.sealed(HANDSHAKE, bytes(good)), AlertDescription.DECRYPT_ERROR)


TRUNCATIONS = [(0, 0), (0, -1), (0, -2), (0, -16), (0, -32), (0, 12), (1, None), (16, None)]


@pytest.mark.parametrize("suite", [AES_128_GCM, AES_256_GCM])
@pytest.mark.parametrize(("start", "end"), TRUNCATIONS)
def test_finished_truncated_is_decode_error(suite: int, start: int, end: int | None) -> None:
    """tlsfuzzer test-tls13-finished.py, "empty - cipher ..." and "truncation - cipher ...,
    start S, end E": verify_data shorter than Hash.length (the header's length says so).
    RFC 8446 §4.4.4: "verify_data ... The size is Hash.length"; §6.2 decode_error: "A message
    could not be decoded because some field was out of the specified range or the length of
    the message was incorrect."."""
    probe = finished_probe(suite)
    verify_data = probe.finished()[4:][start:end]
    probe.use_handshake_keys()
    probe.expect_alert(
        probe.sealed(HANDSHAKE, handshake(HandshakeType.FINISHED, verify_data)),
        AlertDescription.DECODE_ERROR,
    )


PADDINGS = [(0, 1), (0, 16), (0, 48), (1, 0), (12, 0), (48, 0), (8, 8), (0, 2**14 - 4 - 48)]


@pytest.mark.parametrize("suite", [AES_128_GCM, AES_256_GCM])
@pytest.mark.parametrize(("left", "right"), PADDINGS)
def test_finished_padded_is_decode_error(suite: int, left: int, right: int) -> None:
    """tlsfuzzer test-tls13-finished.py, "padding - cipher ..., pad_byte 0, pad_left L,
    pad_right R": verify_data longer than Hash.length. RFC 8446 §4.4.4 (size Hash.length);
    §6.2 decode_error."""
    probe = finished_probe(suite)
    verify_data = bytes(left) + probe.finished()[4:] + bytes(right)
    message = handshake(HandshakeType.FINISHED, verify_data)
    probe.use_handshake_keys()
    records = b"".join(
        probe.sealed(HANDSHAKE, message[i : i + 2**14]) for i in range(0, len(message), 2**14)
    )
    probe.expect_alert(records, AlertDescription.DECODE_ERROR)


@pytest.mark.parametrize("size", [0x20000, 0x30000, 256**3 - 1 - 32])
def test_finished_far_too_long_is_refused_early(size: int) -> None:
    """tlsfuzzer test-tls13-finished.py, "padding ... pad_right 131072/196608/16777183": the
    Finished header announces a huge message. tlsfuzzer accepts the alert after any record;
    we refuse as soon as the header says more than a Finished can be (decode_error, without
    waiting for megabytes). RFC 8446 §4.4.4, §6.2."""
    probe = finished_probe(AES_128_GCM)
    header = bytes([HandshakeType.FINISHED]) + (32 + size).to_bytes(3, "big")
    probe.use_handshake_keys()
    first = header + probe.finished()[4:] + bytes(2**14 - 4 - 32)
    probe.expect_alert(probe.sealed(HANDSHAKE, first), AlertDescription.DECODE_ERROR)


# == test-tls13-ccs.py / test-tls13-multiple-ccs-messages.py ======================================


def test_change_cipher_spec_after_client_finished_is_unexpected_message() -> None:
    """tlsfuzzer test-tls13-ccs.py, "CCS message after Finished message". RFC 8446 §5: "If an
    implementation detects a change_cipher_spec record received before the first ClientHello
    message or after the peer's Finished message, it MUST be treated as an unexpected record
    type"."""
    probe = Probe()
    probe.handshake()
    probe.expect_alert(record(CCS, b"\x01"), AlertDescription.UNEXPECTED_MESSAGE)


def test_one_change_cipher_spec_after_client_hello_is_ignored() -> None:
    """tlsfuzzer test-tls13-multiple-ccs-messages.py, "sanity with one CCS message". RFC 8446
    §5: "An implementation may receive an unencrypted record of type change_cipher_spec
    consisting of the single byte value 0x01 at any time after the first ClientHello message
    has been sent or received and before the peer's Finished message has been sent or
    received and MUST simply drop it without further processing."."""
    probe = Probe()
    probe.send_hello()
    probe.send(record(CCS, b"\x01"))
    probe.send_finished()
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


def test_second_change_cipher_spec_before_client_finished_is_unexpected_message() -> None:
    """tlsfuzzer test-tls13-multiple-ccs-messages.py, "second CCS before client finished".
    RFC 8446 §5 allows dropping *a* change_cipher_spec (Appendix D.4: the client sends one);
    tlsfuzzer expects a second one to be refused with unexpected_message (CVE-2020-25648)."""
    probe = Probe()
    probe.send_hello()
    probe.send(record(CCS, b"\x01"))
    probe.use_handshake_keys()
    probe.expect_alert(
        lambda: probe.send(record(CCS, b"\x01") + probe.sealed(HANDSHAKE, probe.finished())),
        AlertDescription.UNEXPECTED_MESSAGE,
    )


@pytest.mark.parametrize("with_hello", [False, True], ids=["after-hello", "with-hello"])
def test_many_change_cipher_specs_are_unexpected_message(with_hello: bool) -> None:
    """tlsfuzzer test-tls13-multiple-ccs-messages.py, "multiple CCS Messages in one TCP packet"
    and "CH and multiple CCS Messages in one TCP packet" (32 records by default): the server
    answers the ClientHello (tlsfuzzer expects the whole server flight) and refuses the
    repeated change_cipher_spec with unexpected_message."""
    probe = Probe()
    ccs = record(CCS, b"\x01") * 32
    if with_hello:
        hello = client_hello()
        probe.transcript += hello
        data = record(HANDSHAKE, hello, version=0x0301) + ccs
    else:
        probe.send_hello()
        data = ccs
    probe.expect_alert(data, AlertDescription.UNEXPECTED_MESSAGE)
    assert probe.server_finished


def test_change_cipher_spec_record_of_many_bytes_is_unexpected_message() -> None:
    """tlsfuzzer test-tls13-multiple-ccs-messages.py, "multiple CCS Messages in one TLS
    record": a change_cipher_spec record of 32 bytes 0x01. RFC 8446 §5: "An implementation
    which receives any other change_cipher_spec value or which receives a protected
    change_cipher_spec record MUST abort the handshake with an "unexpected_message" alert."."""
    probe = Probe()
    probe.send_hello()
    probe.expect_alert(record(CCS, b"\x01" * 32), AlertDescription.UNEXPECTED_MESSAGE)


# == test-tls13-keyupdate.py ======================================================================

UPDATE_NOT_REQUESTED = 0
UPDATE_REQUESTED = 1


def server_key_updates(probe: Probe) -> list[bytes]:
    return [m for m in probe.messages if m[0] == HandshakeType.KEY_UPDATE]


@pytest.mark.parametrize("request_update", [UPDATE_REQUESTED, UPDATE_NOT_REQUESTED])
def test_key_update_then_request(request_update: int) -> None:
    """tlsfuzzer test-tls13-keyupdate.py, "post-handshake KeyUpdate msg with update_request"
    and "... with update_not_request". RFC 8446 §4.6.3: "If the request_update field is set to
    "update_requested", then the receiver MUST send a KeyUpdate of its own with request_update
    set to "update_not_requested" prior to sending its next Application Data record."."""
    probe = Probe()
    probe.handshake()
    update = probe.key_update(request_update)
    probe.send(update)
    probe.send(probe.sealed(APPLICATION_DATA, GET))
    probe.echo()
    answers = server_key_updates(probe)
    if request_update == UPDATE_REQUESTED:
        assert answers == [handshake(HandshakeType.KEY_UPDATE, b"\x00")]
    else:
        assert answers == []
    assert probe.application_data == GET  # readable under the server's updated keys
    probe.close()


@pytest.mark.parametrize("body", [b"", b"\x00\x00"], ids=["empty", "large"])
def test_key_update_of_the_wrong_length_is_decode_error(body: bytes) -> None:
    """tlsfuzzer test-tls13-keyupdate.py, "empty KeyUpdate message", "large KeyUpdate message".
    RFC 8446 §4.6.3 (KeyUpdate is one byte); §6.2 decode_error."""
    probe = Probe()
    probe.handshake()
    probe.expect_alert(
        probe.sealed(HANDSHAKE, handshake(HandshakeType.KEY_UPDATE, body)),
        AlertDescription.DECODE_ERROR,
    )


@pytest.mark.parametrize("request_update", [2, 3, 127, 128, 255])
def test_key_update_with_an_unknown_request_is_illegal_parameter(request_update: int) -> None:
    """tlsfuzzer test-tls13-keyupdate.py, "invalid message_type - N, in KeyUpdate msg" (a
    sample of 2..255). RFC 8446 §4.6.3: "If an implementation receives any other value, it MUST
    terminate the connection with an "illegal_parameter" alert."."""
    probe = Probe()
    probe.handshake()
    probe.expect_alert(
        probe.sealed(HANDSHAKE, handshake(HandshakeType.KEY_UPDATE, bytes([request_update]))),
        AlertDescription.ILLEGAL_PARAMETER,
    )


def test_key_update_between_the_pieces_of_a_request() -> None:
    """tlsfuzzer test-tls13-keyupdate.py, "app data splited, conversation with KeyUpdate msg":
    the request is split by a KeyUpdate(update_requested); the server's answer comes after its
    own KeyUpdate (RFC 8446 §4.6.3)."""
    probe = Probe()
    probe.handshake()
    probe.send(probe.key_update(UPDATE_REQUESTED))
    probe.send(probe.sealed(APPLICATION_DATA, b"GET / "))
    probe.send(probe.sealed(APPLICATION_DATA, b"HTTP/1.0\r\n\r\n"))
    probe.echo()
    assert server_key_updates(probe) == [handshake(HandshakeType.KEY_UPDATE, b"\x00")]
    assert probe.application_data == GET
    probe.close()


def test_many_key_updates_in_a_row() -> None:
    """tlsfuzzer test-tls13-keyupdate.py, "multiple KeyUpdate messages": 32
    KeyUpdate(update_requested) before the request. tlsfuzzer expects 32 KeyUpdates back
    (update_not_requested) unless the server is known to coalesce them (an option of
    test-tls13-keyupdate-from-server.py); RFC 8446 §4.6.3 only requires one before the next
    application data. We check: at least one, all update_not_requested, the data readable."""
    probe = Probe()
    probe.handshake()
    probe.send(b"".join(probe.key_update(UPDATE_REQUESTED) for _ in range(32)))
    probe.send(probe.sealed(APPLICATION_DATA, GET))
    probe.echo()
    answers = server_key_updates(probe)
    assert answers and set(answers) == {handshake(HandshakeType.KEY_UPDATE, b"\x00")}
    assert probe.application_data == GET
    probe.close()


# == test-tls13-keyupdate-from-server.py ==========================================================


def test_key_update_from_the_server() -> None:
    """tlsfuzzer test-tls13-keyupdate-from-server.py, "post-handshake KeyUpdate msg from
    server" (the server application sends KeyUpdate(update_requested) when asked): the client
    answers with its own KeyUpdate and the conversation goes on under the new keys both ways
    (RFC 8446 §4.6.3)."""
    probe = Probe()
    probe.handshake()
    probe.server.key_update(request_peer=True)
    probe.read()
    assert server_key_updates(probe) == [handshake(HandshakeType.KEY_UPDATE, b"\x01")]
    probe.send(probe.key_update(UPDATE_NOT_REQUESTED))
    assert server_key_updates(probe) == [handshake(HandshakeType.KEY_UPDATE, b"\x01")]
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


# == test-tls13-count-tickets.py ==================================================================


@pytest.mark.parametrize("tickets", [0, 1, 2, 5])
def test_new_session_tickets_come_right_after_client_finished(tickets: int) -> None:
    """tlsfuzzer test-tls13-count-tickets.py, "count NewSessionTickets" (-t N): exactly the
    configured number of NewSessionTicket messages arrive after the client's Finished, before
    any application data is sent (RFC 8446 §4.6.1: "At any time after the server has received
    the client Finished message, it MAY send a NewSessionTicket message")."""
    probe = Probe(session_tickets=tickets)
    probe.handshake()
    tickets_sent = [m for m in probe.messages if m[0] == HandshakeType.NEW_SESSION_TICKET]
    assert len(tickets_sent) == tickets
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


# == test-tls13-hrr.py ============================================================================


@pytest.mark.parametrize("cookie", [False, True])
def test_hello_retry_request_for_empty_key_shares(cookie: bool) -> None:
    """tlsfuzzer test-tls13-hrr.py, "HRR because of empty key_shares" (with --cookie when the
    server sends one): the HelloRetryRequest carries key_share and supported_versions (and the
    cookie), change_cipher_spec follows it, and a second ClientHello completes the handshake.
    RFC 8446 §4.1.4, §4.2.8, Appendix D.4."""
    probe = Probe(hello_retry_cookie=(lambda digest: b"cookie" + digest) if cookie else None)
    probe.send_hello(client_hello(extensions=tls13_extensions(shares=())))
    hrr = probe.server_hello
    assert hrr is not None and hrr[6:38] == HRR_RANDOM
    assert probe.received[1] == (CCS, b"\x01")
    types = hello_extension_types(hrr)
    assert types == ({EXT_KEY_SHARE, EXT_SUPPORTED_VERSIONS} | ({EXT_COOKIE} if cookie else set()))
    extensions = tls13_extensions()
    if cookie:
        extensions.append((EXT_COOKIE, hello_extension(hrr, EXT_COOKIE)))
    probe.send_hello(client_hello(extensions=extensions))
    assert probe.server_finished
    assert probe.received.count((CCS, b"\x01")) == 1  # only once, after the HRR
    probe.send_finished()
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


# == test-tls13-nociphers.py / test-tls13-invalid-ciphers.py ======================================


@pytest.mark.parametrize(
    "suites",
    [
        (0x0035, EMPTY_RENEGOTIATION_INFO_SCSV),  # TLS_RSA_WITH_AES_256_CBC_SHA
        (0x1306,),
        (0x13FF,),
        (0xC02F,),  # TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, a TLS 1.2 suite
        (0x009C,),
        (0x000A,),  # an SSLv3 suite
    ],
    ids=lambda v: "-".join(f"{x:04x}" for x in v),
)
def test_no_tls13_cipher_suite_is_handshake_failure(suites: tuple[int, ...]) -> None:
    """tlsfuzzer test-tls13-nociphers.py, "tls13-no-ciphers", and test-tls13-invalid-ciphers.py,
    "only invalid cipher 0x...": a TLS 1.3 ClientHello without a TLS 1.3 suite. RFC 8446 §4.1.1:
    "If the server is unable to negotiate a supported set of parameters (i.e., there is no
    overlap between the client and server parameters), it MUST abort the handshake with either
    a "handshake_failure" or "insufficient_security" fatal alert" (tlsfuzzer expects
    handshake_failure)."""
    probe = Probe()
    hello = client_hello(suites)
    probe.transcript += hello
    probe.expect_alert(record(HANDSHAKE, hello), AlertDescription.HANDSHAKE_FAILURE)


@pytest.mark.parametrize("unknown", [0x1306, 0x1380, 0x13FF])
def test_unknown_suite_before_a_valid_one_is_skipped(unknown: int) -> None:
    """tlsfuzzer test-tls13-invalid-ciphers.py, "non-existing cipher 0x... with valid one": the
    server selects TLS_AES_128_GCM_SHA256 (RFC 8446 §4.1.3 cipher_suite: "The single cipher
    suite selected by the server from the list in ClientHello.cipher_suites")."""
    probe = Probe()
    probe.handshake(client_hello((unknown, AES_128_GCM, EMPTY_RENEGOTIATION_INFO_SCSV)))
    assert probe.suite is not None and probe.suite.id == AES_128_GCM
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


# == test-tls13-unencrypted-alert.py / test-tls13-finished-plaintext.py ===========================


@pytest.mark.parametrize("protected", [False, True], ids=["unencrypted", "encrypted"])
def test_client_alert_instead_of_finished_closes_quietly(protected: bool) -> None:
    """tlsfuzzer test-tls13-unencrypted-alert.py, "unencrypted Alert" and "encrypted Alert": the
    client answers the server's flight with a fatal unknown_ca alert, in the clear or under its
    handshake keys. tlsfuzzer expects the connection closed and no alert of the server's own
    (RFC 8446 §6.2: "Upon receiving an error alert, the TLS implementation SHOULD indicate an
    error to the application and MUST NOT allow any further data to be sent or received on the
    connection")."""
    probe = Probe()
    probe.send_hello()
    alert = bytes([2, AlertDescription.UNKNOWN_CA])
    if protected:
        probe.use_handshake_keys()
        data = probe.sealed(ALERT, alert)
    else:
        data = record(ALERT, alert)
    before = len(probe.received)
    with pytest.raises(AlertReceived) as info:
        probe.send(data)
    assert info.value.description == AlertDescription.UNKNOWN_CA
    assert probe.received[before:] == []  # no alert back
    assert probe.server.state is ConnectionState.FAILED


def test_unencrypted_finished_is_unexpected_message() -> None:
    """tlsfuzzer test-tls13-finished-plaintext.py, "Unencrypted Finished message". RFC 8446
    §5.1 / §2: after the ServerHello, the client's handshake messages are protected;
    tlsfuzzer expects unexpected_message for a plaintext handshake record."""
    probe = Probe()
    probe.send_hello()
    probe.expect_alert(record(HANDSHAKE, probe.finished()), AlertDescription.UNEXPECTED_MESSAGE)


# == test-tls13-obsolete-curves.py ================================================================

OBSOLETE_GROUPS = [0x0001, 0x0009, 0x0016, 0x001A, 0x001C, 0xFF01, 0xFF02]
"""A sample of RFC 8446 Appendix B.3.1.4's obsolete_RESERVED ranges (0x0001-0x0016,
0x001A-0x001C, 0xFF01-0xFF02)."""


def bogus_share(group_id: int) -> bytes:
    return group_id.to_bytes(2, "big") + vector(2, b"\xab" * 32)


@pytest.mark.parametrize("group", OBSOLETE_GROUPS)
@pytest.mark.parametrize("with_share", [True, False], ids=["key_share", "empty-key_share"])
def test_only_obsolete_groups_is_handshake_failure(group: int, with_share: bool) -> None:
    """tlsfuzzer test-tls13-obsolete-curves.py, "<group> in supported_groups and key_share" and
    "... and empty key_share" (run with ``-a handshake_failure`` as servers that do not reject
    obsolete groups are). RFC 8446 Appendix B.3.1.4: obsolete_RESERVED values "MUST NOT be
    offered or negotiated by TLS 1.3 implementations"; §4.1.1: no overlap -> handshake_failure
    (or insufficient_security)."""
    probe = Probe()
    shares = bogus_share(group) if with_share else b""
    extensions = tls13_extensions()
    extensions[0] = (EXT_KEY_SHARE, vector(2, shares))
    extensions[2] = (EXT_SUPPORTED_GROUPS, vector(2, u16s([group])))
    hello = client_hello(extensions=extensions)
    probe.expect_alert(record(HANDSHAKE, hello), AlertDescription.HANDSHAKE_FAILURE)


@pytest.mark.parametrize("group", OBSOLETE_GROUPS)
@pytest.mark.parametrize("order", ["obsolete-first", "secp256r1-first"])
def test_obsolete_group_next_to_secp256r1_is_ignored(group: int, order: str) -> None:
    """tlsfuzzer test-tls13-obsolete-curves.py, "<group> and secp256r1 in supported_groups and
    key_share", "secp256r1 and <group> ..." in its relaxed mode (the server ignores the group
    it must not negotiate, RFC 8446 Appendix B.3.1.4, and uses secp256r1)."""
    probe = Probe()
    good = key_share_entry(SECP256R1)
    pair = [(group, bogus_share(group)), (SECP256R1.id, good)]
    if order == "secp256r1-first":
        pair.reverse()
    extensions = tls13_extensions()
    extensions[0] = (EXT_KEY_SHARE, vector(2, b"".join(e for _, e in pair)))
    extensions[2] = (EXT_SUPPORTED_GROUPS, vector(2, u16s(g for g, _ in pair)))
    probe.handshake(client_hello(extensions=extensions))
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


@pytest.mark.parametrize("group", [*OBSOLETE_GROUPS, 0x0017, 0x001D])
def test_key_share_for_a_group_not_in_supported_groups_is_illegal_parameter(group: int) -> None:
    """tlsfuzzer test-tls13-obsolete-curves.py, "<group> in key_share and secp256r1 in
    supported_groups (inconsistent extensions)". RFC 8446 §4.2.8: "Clients MUST NOT offer any
    KeyShareEntry values for groups not listed in the client's "supported_groups" extension.
    Servers MAY check for violations of these rules and abort the handshake with an
    "illegal_parameter" alert if one is violated." (tlsfuzzer expects the check.) Also with
    groups we support (secp256r1 listed, the share for secp384r1 / x25519)."""
    probe = Probe()
    share = bogus_share(group)
    if group == 0x0017:
        share = key_share_entry(group_or_fail(0x0018))
    elif group == 0x001D:
        share = key_share_entry(group_or_fail(0x001D))
    extensions = tls13_extensions()
    extensions[0] = (EXT_KEY_SHARE, vector(2, share))
    hello = client_hello(extensions=extensions)
    probe.expect_alert(record(HANDSHAKE, hello), AlertDescription.ILLEGAL_PARAMETER)


def group_or_fail(group_id: int) -> Group:
    group = group_by_id(group_id)
    assert group is not None
    return group


# == test-tls13-record-layer-limits.py ============================================================


def raw_sealed(probe: Probe, secret: bytes, inner: bytes) -> bytes:
    """The first record under ``secret`` around any TLSInnerPlaintext (no size check)."""
    assert probe.suite is not None
    key, iv = traffic_key_iv(probe.suite, secret)
    header = bytes([APPLICATION_DATA, 3, 3]) + (len(inner) + 16).to_bytes(2, "big")
    return header + probe.suite.aead(key).encrypt(iv, inner, header)


@pytest.mark.parametrize("suite", [AES_128_GCM, CHACHA20])
def test_max_size_application_data_is_accepted(suite: int) -> None:
    """tlsfuzzer test-tls13-record-layer-limits.py, "max size payload in app_data, cipher ...":
    2^14 bytes of application data in one record (RFC 8446 §5.1: "The length MUST NOT exceed
    2^14 bytes")."""
    probe = Probe()
    probe.handshake(client_hello((suite, EMPTY_RENEGOTIATION_INFO_SCSV)))
    data = b"GET / HTTP/1.0\r\nX-test: " + b"A" * (2**14 - 28) + b"\r\n\r\n"
    assert len(data) == 2**14
    conversation(probe, probe.sealed(APPLICATION_DATA, data), request=data)


@pytest.mark.parametrize("suite", [AES_128_GCM, CHACHA20])
@pytest.mark.parametrize(("size", "padding"), [(2**14 + 1, 0), (2**14 - 8, 9)])
def test_too_big_application_data_is_record_overflow(suite: int, size: int, padding: int) -> None:
    """tlsfuzzer test-tls13-record-layer-limits.py, "too big payload in app_data, data size:
    2**14 + 1" and "too big plaintext, size: 2**14 - 8, with an additional 9 bytes of padding".
    RFC 8446 §5.2: "If the decryption ... results in a plaintext longer than 2^14 + 1 octets
    ... the receiving implementation MUST terminate the connection with a "record_overflow"
    alert" (§5.4: TLSInnerPlaintext MUST NOT exceed 2^14 + 1)."""
    probe = Probe()
    probe.handshake(client_hello((suite, EMPTY_RENEGOTIATION_INFO_SCSV)))
    inner = b"A" * size + bytes([APPLICATION_DATA]) + bytes(padding)
    probe.expect_alert(
        raw_sealed(probe, probe.write_secret, inner), AlertDescription.RECORD_OVERFLOW
    )


@pytest.mark.parametrize("suite", [AES_128_GCM, CHACHA20])
@pytest.mark.parametrize(
    ("left", "record_padding", "alert"),
    [
        (2**14 - 32 - 4, 0, AlertDescription.DECODE_ERROR),
        (2**14 - 32 - 4 + 1, 0, AlertDescription.RECORD_OVERFLOW),
        (0, 2**14 + 256 - 32 - 16 - 5, AlertDescription.RECORD_OVERFLOW),
    ],
    ids=["max-size-finished", "finished-one-byte-too-big", "max-size-with-record-padding"],
)
def test_finished_at_the_record_size_limit(
    suite: int, left: int, record_padding: int, alert: AlertDescription
) -> None:
    """tlsfuzzer test-tls13-record-layer-limits.py, "max size payload (2**14) of Finished msg",
    "too big payload (2**14 + 1) of Finished msg", "max size of Finished msg, with N bytes of
    record layer padding": a record holding exactly 2^14 bytes of handshake is read (and the
    over-long Finished is decode_error, §4.4.4); one byte more, or the padding pushing
    TLSInnerPlaintext over 2^14 + 1, is record_overflow (RFC 8446 §5.2, §5.4)."""
    probe = finished_probe(suite)
    message = handshake(HandshakeType.FINISHED, bytes(left) + probe.finished()[4:])
    inner = message + bytes([HANDSHAKE]) + bytes(record_padding)
    secret = probe.secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"]
    probe.expect_alert(raw_sealed(probe, secret, inner), alert)


# == test-tls13-connection-abort.py ===============================================================


@pytest.mark.parametrize(
    "stage", ["before-hello", "after-hello", "after-finished", "after-request"]
)
def test_client_going_away_leaves_nothing_to_send(stage: str) -> None:
    """tlsfuzzer test-tls13-connection-abort.py, "Before ClientHello", "After ClientHello",
    "After client Finished", "After client ApplicationData" ...: the client drops the TCP
    connection without an alert. In memory: the server has nothing queued and no exception when
    the application closes it (tlsfuzzer checks that the server survives; its sanity run
    follows)."""
    probe = Probe()
    if stage != "before-hello":
        probe.send_hello()
    if stage in ("after-finished", "after-request"):
        probe.send_finished()
    if stage == "after-request":
        probe.send(probe.sealed(APPLICATION_DATA, GET))
    before = len(probe.received)
    probe.server.close()
    probe.read()
    closing = probe.received[before:]
    assert closing in ([], [(ALERT, bytes([1, AlertDescription.CLOSE_NOTIFY]))])


# == test-tls13-0rtt-garbage.py ===================================================================


def fake_psk_extensions(*, early_data: bool = True) -> Extensions:
    """early_data, psk_key_exchange_modes and a pre_shared_key with a random identity and binder
    (a ticket from some other server: the PSK cannot be accepted)."""
    identity = vector(2, b"\x5a" * 320) + (0x7A7A7A7A).to_bytes(4, "big")
    psk = vector(2, identity) + vector(2, vector(1, b"\x33" * 32))
    out: Extensions = [(EXT_EARLY_DATA, b"")] if early_data else []
    out += [(EXT_PSK_KEY_EXCHANGE_MODES, vector(1, b"\x01\x00")), (EXT_PRE_SHARED_KEY, psk)]
    return out


def garbage(size: int) -> bytes:
    return bytes((7 * i + 3) % 256 for i in range(size))


def test_unknown_psk_without_early_data_is_a_full_handshake() -> None:
    """tlsfuzzer test-tls13-0rtt-garbage.py, "handshake with invalid PSK": an unknown ticket
    identity is ignored (RFC 8446 §4.2.11: the server "MUST NOT" fail on an identity it does
    not recognise; it falls back to a full handshake with a certificate)."""
    probe = Probe()
    probe.handshake(client_hello(extensions=tls13_extensions() + fake_psk_extensions()[1:]))
    assert any(m[0] == HandshakeType.CERTIFICATE for m in probe.messages)
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


@pytest.mark.parametrize(
    "early",
    ["one-record", "fragmented", "ccs-between", "ccs-before"],
)
def test_rejected_early_data_is_skipped(early: str) -> None:
    """tlsfuzzer test-tls13-0rtt-garbage.py, "handshake with invalid 0-RTT", "... with fragmented
    early data", "... and CCS between early data records", "... and CCS": 2^14 bytes of early
    data the server cannot decrypt follow the ClientHello. RFC 8446 §4.2.10: the server "skips
    past early data by attempting to deprotect received records using the handshake traffic
    key, discarding records which fail deprotection (up to the configured
    max_early_data_size)"."""
    probe = Probe()
    hello = client_hello(extensions=tls13_extensions() + fake_psk_extensions())
    probe.transcript += hello
    ccs = record(CCS, b"\x01")
    half = record(APPLICATION_DATA, garbage(2**13))
    flights = {
        "one-record": record(APPLICATION_DATA, garbage(2**14)),
        "fragmented": half + half,
        "ccs-between": half + ccs + half,
        "ccs-before": ccs + record(APPLICATION_DATA, garbage(2**14)),
    }
    probe.send(record(HANDSHAKE, hello) + flights[early])
    assert probe.server_finished
    probe.send_finished()
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


def hrr_with_fake_early_data(probe: Probe) -> None:
    """The first flight of the HRR conversations of test-tls13-0rtt-garbage.py: a share for an
    unknown group (0x1300) only, a fake PSK with early_data, 2^14 bytes of early data."""
    extensions = tls13_extensions((SECP256R1,), shares=())
    extensions[0] = (EXT_KEY_SHARE, vector(2, bogus_share(0x1300)))
    extensions[2] = (EXT_SUPPORTED_GROUPS, vector(2, u16s([0x1300, SECP256R1.id])))
    hello = client_hello(extensions=extensions + fake_psk_extensions())
    probe.transcript += hello
    probe.send(record(HANDSHAKE, hello) + record(APPLICATION_DATA, garbage(2**14)))
    hrr = probe.server_hello
    assert hrr is not None and hrr[6:38] == HRR_RANDOM
    extensions = tls13_extensions((SECP256R1,))
    extensions[2] = (EXT_SUPPORTED_GROUPS, vector(2, u16s([0x1300, SECP256R1.id])))
    probe.send_hello(client_hello(extensions=extensions + fake_psk_extensions(early_data=False)))
    assert probe.server_finished


def test_hello_retry_request_skips_early_data() -> None:
    """tlsfuzzer test-tls13-0rtt-garbage.py, "handshake with invalid 0-RTT and HRR". RFC 8446
    §4.2.10: with a HelloRetryRequest the server "skip[s] all records with an external content
    type of "application_data" ... until it receives a second ClientHello"."""
    probe = Probe()
    hrr_with_fake_early_data(probe)
    probe.send_finished()
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


def test_plaintext_application_data_after_the_second_client_hello_is_bad_record_mac() -> None:
    """tlsfuzzer test-tls13-0rtt-garbage.py, "handshake with 0-RTT, HRR and early data after 2nd
    Client Hello": skipping ends with the second ClientHello (RFC 8446 §4.2.10), so 64 bytes of
    application_data after it fail deprotection: bad_record_mac (§5.2)."""
    probe = Probe()
    hrr_with_fake_early_data(probe)
    probe.expect_alert(record(APPLICATION_DATA, garbage(64)), AlertDescription.BAD_RECORD_MAC)


def test_undecryptable_record_after_the_first_finished_fragment_is_bad_record_mac() -> None:
    """tlsfuzzer test-tls13-0rtt-garbage.py, "undecryptable record later in handshake together
    with early_data": once a record opens under the handshake keys, skipping is over (RFC 8446
    §4.2.10), so garbage spliced into the client's Finished is bad_record_mac."""
    probe = Probe()
    hello = client_hello(extensions=tls13_extensions() + fake_psk_extensions())
    probe.transcript += hello
    probe.send(record(HANDSHAKE, hello) + record(APPLICATION_DATA, garbage(2**14)))
    assert probe.server_finished
    probe.use_handshake_keys()
    probe.send(probe.sealed(HANDSHAKE, probe.finished()[:16]))
    probe.expect_alert(record(APPLICATION_DATA, garbage(64)), AlertDescription.BAD_RECORD_MAC)


# == test-tls13-symetric-ciphers.py ===============================================================

SYMMETRIC_SUITES = [AES_128_GCM, AES_256_GCM, CHACHA20, AES_128_CCM]


def tls13_probe_for(suite: int) -> Probe:
    if suite == AES_128_CCM:
        ccm = suite_by_id(AES_128_CCM)
        assert ccm is not None
        return Probe(cipher_suites=(ccm,))
    return Probe()


@pytest.mark.parametrize("suite", SYMMETRIC_SUITES)
def test_each_suite_alone(suite: int) -> None:
    """tlsfuzzer test-tls13-symetric-ciphers.py, "check connection with <suite>" (CCM enabled
    in the server config, as it is not a default suite). RFC 8446 §9.1 / Appendix B.4."""
    probe = tls13_probe_for(suite)
    probe.handshake(client_hello((suite,)))
    assert probe.suite is not None and probe.suite.id == suite
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


@pytest.mark.parametrize("suite", SYMMETRIC_SUITES)
@pytest.mark.parametrize("position", [-1, -8, -16])
@pytest.mark.parametrize("what", ["application-data", "finished"])
def test_flipped_tag_bit_is_bad_record_mac(suite: int, position: int, what: str) -> None:
    """tlsfuzzer test-tls13-symetric-ciphers.py, "check connection with <suite> - fuzz tag on
    {application data, finished message} with V on pos P" (a sample). RFC 8446 §5.2: "If the
    decryption fails, the receiver MUST terminate the connection with a "bad_record_mac"
    alert."."""
    probe = tls13_probe_for(suite)
    if what == "finished":
        probe.send_hello(client_hello((suite,)))
        probe.use_handshake_keys()
        sealed = bytearray(probe.sealed(HANDSHAKE, probe.finished()))
    else:
        probe.handshake(client_hello((suite,)))
        sealed = bytearray(probe.sealed(APPLICATION_DATA, GET))
    sealed[position] ^= 0x40
    probe.expect_alert(bytes(sealed), AlertDescription.BAD_RECORD_MAC)


def test_aes_128_ccm_8_alone_is_handshake_failure() -> None:
    """tlsfuzzer test-tls13-symetric-ciphers.py, "check connection with TLS_AES_128_CCM_8_SHA256"
    expects a handshake; we deliberately do not implement CCM_8 (RFC 8446 §9.1 does not require
    it), so the answer is handshake_failure (§4.1.1) and that conversation is excluded."""
    probe = Probe()
    probe.expect_alert(
        record(HANDSHAKE, client_hello((AES_128_CCM_8,))), AlertDescription.HANDSHAKE_FAILURE
    )


# == test-tls13-large-number-of-extensions.py =====================================================

UNASSIGNED_EXTENSIONS = [
    *range(2, 5),
    *range(6, 10),
    11,
    12,
    17,
    *range(22, 28),
    *range(29, 41),
    46,
    *range(52, 65536),
]


def send_fragmented_hello(probe: Probe, hello: bytes) -> None:
    probe.transcript += hello
    probe.send(
        b"".join(record(HANDSHAKE, hello[i : i + 2**14]) for i in range(0, len(hello), 2**14))
    )


def extension_chunks(size: int) -> list[list[int]]:
    # renegotiation_info is sent right; ec_point_formats and extended_master_secret have their
    # own test below
    skip = (0xFF01, EXT_EC_POINT_FORMATS, EXT_EXTENDED_MASTER_SECRET)
    ids = [i for i in UNASSIGNED_EXTENSIONS if i not in skip]
    return [ids[j : j + size] for j in range(0, len(ids), size)]


@pytest.mark.parametrize("random_payload", [False, True], ids=["empty", "random-payload"])
def test_many_unassigned_extensions_are_ignored(random_payload: bool) -> None:
    """tlsfuzzer test-tls13-large-number-of-extensions.py, "empty unassigned extensions, ids in
    range from A to B" (4096 per ClientHello) and "unassigned extensions with random payload"
    (1024 per ClientHello), every chunk: the server ignores them, completes the handshake and
    puts only key_share and supported_versions in its ServerHello. RFC 8446 §4.1.2: "servers
    MUST ignore unrecognized extensions"; §4.2: implementations "MUST NOT" answer extensions
    the peer did not offer."""
    size = 1024 if random_payload else 4096
    for chunk in extension_chunks(size):
        probe = Probe()
        extensions = [(i, garbage(i % 64) if random_payload else b"") for i in chunk]
        extensions.append((0xFF01, b"\x00"))  # renegotiation_info, empty
        base = tls13_extensions()
        base[1] = (EXT_SUPPORTED_VERSIONS, vector(1, u16s([TLS13])))
        send_fragmented_hello(probe, client_hello(extensions=extensions + base))
        hello = probe.server_hello
        assert hello is not None, chunk[0]
        assert hello_extension_types(hello) == {EXT_KEY_SHARE, EXT_SUPPORTED_VERSIONS}
        probe.send_finished()
        conversation(probe, probe.sealed(APPLICATION_DATA, GET))


EXT_EC_POINT_FORMATS = 11
EXT_EXTENDED_MASTER_SECRET = 23


@pytest.mark.parametrize(
    ("ext_type", "payload"),
    [
        (EXT_EC_POINT_FORMATS, b""),
        (EXT_EC_POINT_FORMATS, b"\x01\x00" + bytes(7)),
        (EXT_EXTENDED_MASTER_SECRET, garbage(23)),
        (0xFF01, b"\x05ab"),
    ],
    ids=[
        "ec_point_formats-empty",
        "ec_point_formats-trailing",
        "extended_master_secret-data",
        "renegotiation_info-truncated",
    ],
)
def test_malformed_tls12_extension_in_a_tls13_only_client_hello_is_ignored(
    ext_type: int, payload: bytes
) -> None:
    """tlsfuzzer test-tls13-large-number-of-extensions.py lists 11 (ec_point_formats, RFC
    8422) and 23 (extended_master_secret, RFC 7627) among the extensions a TLS 1.3 server does
    not use, sends them empty or with random bytes in a ClientHello offering only TLS 1.3, and
    expects a normal handshake. RFC 8446 §4.1.2: "servers MUST ignore unrecognized
    extensions"; neither has a meaning in TLS 1.3 (§4.2 lists TLS 1.3's extensions), so a
    server that can only choose TLS 1.3 here does not judge their contents (a ClientHello that
    negotiates TLS 1.2 gets decode_error for them: test_rfc5246_audit.py)."""
    probe = Probe()
    base = tls13_extensions()
    base[1] = (EXT_SUPPORTED_VERSIONS, vector(1, u16s([TLS13])))
    probe.handshake(client_hello(extensions=[(ext_type, payload), *base]))
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))
