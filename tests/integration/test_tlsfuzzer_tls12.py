"""TLS 1.2 server conformance, probe by probe, against what the tlsfuzzer scripts expect.

Each test plays one conversation of a tlsfuzzer script (named in its docstring, with the RFC
section that decides it) against our ServerConnection, in memory. The scripts mostly offer
static-RSA or CBC suites, which we do not implement; the probes keep each conversation's shape
(the same malformation, the same expected answer) on an ECDHE or DHE AEAD suite instead.

The client is played by :class:`Probe` (tests/tls12_probe.py), a small scripted TLS 1.2
client on top of tlsmachine's primitives (PRF, key block, record protectors): it builds every
message byte by byte, so a test can send anything a real peer holding the keys could send.
Where we answer differently from the script and the RFC decides against us, the test is marked
``xfail(strict=True)`` with the reason.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence

import pytest

from tls12_probe import (
    AD,
    ALPN,
    ECDSA_GCM,
    EMPTY_RENEGOTIATION_INFO_SCSV,
    EMS,
    EXTENDED_MASTER_SECRET,
    FALLBACK_SCSV,
    GROUPS,
    POINT_FORMATS,
    RECORD_SIZE_LIMIT,
    RENEGO,
    RENEGOTIATION_INFO,
    SIGALGS,
    SUITES,
    SUPPORTED_VERSIONS,
    Ext,
    Probe,
    client_hello,
    client_hello_no_ext,
    default_extensions,
    encode_extensions,
    groups_ext,
    handshake,
    refused,
    server_config,
)
from tlsmachine import ConnectionState, InMemorySessionCache, ServerConfig
from tlsmachine.crypto.groups import FFDHE2048
from tlsmachine.crypto.suites import (
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
)
from tlsmachine.enums import AlertDescription, HandshakeType
from wire import ALERT, APPLICATION_DATA, CCS, HANDSHAKE, record, records

# -- test-conversation / sanity ----------------------------------------------------------------


@pytest.mark.parametrize("suite", sorted(SUITES), ids=lambda s: SUITES[s].name)
def test_sanity_handshake_per_suite(suite: int) -> None:
    """tlsfuzzer test-conversation, and the "sanity" probe of every script: a full handshake,
    application data, close_notify answered (RFC 5246 §7.3, §7.2.1)."""
    extensions = default_extensions()
    if SUITES[suite].key_exchange == "DHE":
        extensions[0] = groups_ext(FFDHE2048.id)
    probe = Probe()
    probe.full_handshake(client_hello((suite,), extensions))
    probe.echo()
    reply = probe.send(probe.seal(ALERT, b"\x01\x00"))
    assert reply.records == [(ALERT, b"\x01\x00")]


def test_client_hello_without_signature_algorithms_is_handshake_failure() -> None:
    """Older versions of many tlsfuzzer scripts (e.g. test-dhe-rsa-key-exchange-with-bad-messages
    "sanity") send a ClientHello without signature_algorithms and expect a handshake.

    RFC 5246 §7.4.1.4.1: without the extension the server "MUST" behave as if the client had
    sent {sha1,rsa}/{sha1,ecdsa}: a SHA-1 signature or none. We sign with nothing weaker than
    SHA-256 (RFC 9155 deprecates SHA-1 in TLS 1.2 signatures), so no suite is usable and the
    answer is handshake_failure (RFC 5246 §7.4.1.3 "no acceptable choices"). Current tlsfuzzer
    scripts add signature_algorithms to the ECDHE/DHE hellos."""
    extensions = [GROUPS, POINT_FORMATS, EMS, RENEGO]
    refused(Probe().hello(client_hello(extensions=extensions)), AD.HANDSHAKE_FAILURE)


# -- test-invalid-client-hello ------------------------------------------------------------------


def _fields(message: bytes) -> dict[str, int]:
    """Offsets (from the handshake header) of the ClientHello's length fields."""
    at = {"session_id": 38}
    at["suites"] = 39 + message[38]
    at["compression"] = at["suites"] + 2 + int.from_bytes(message[at["suites"] : at["suites"] + 2])
    at["extensions"] = at["compression"] + 1 + message[at["compression"]]
    return at


def _substituted(message: bytes, offset: int, value: bytes) -> bytes:
    return message[:offset] + value + message[offset + len(value) :]


def _hello_answers(variants: dict[int, bytes]) -> dict[int, AlertDescription | None]:
    """Each variant (keyed by the fuzzed value) sent to a fresh server: its alert."""
    return {key: Probe().hello(message).alert for key, message in variants.items()}


def test_client_hello_type_fuzz_is_unexpected_message() -> None:
    """tlsfuzzer test-invalid-client-hello "Client Hello type fuzz to N": the first message's
    msg_type changed to any other value gets unexpected_message (RFC 5246 §7.4: messages out
    of the prescribed order are "a fatal error"; §7.2.2 unexpected_message: "An inappropriate
    message was received")."""
    message = client_hello()
    known = {2, 4, 5, 8, 11, 13, 15, 24}  # the next test
    variants = {t: bytes((t,)) + message[1:] for t in range(256) if t != 1 and t not in known}
    answers = _hello_answers(variants)
    assert {t: a for t, a in answers.items() if a is not AD.UNEXPECTED_MESSAGE} == {}


@pytest.mark.parametrize("msg_type", [2, 4, 5, 8, 11, 13, 15, 24])
def test_client_hello_type_fuzz_to_a_known_type_is_unexpected_message(msg_type: int) -> None:
    """tlsfuzzer test-invalid-client-hello "Client Hello type fuzz to N" for the N that are
    handshake types we can parse (server_hello, new_session_ticket, end_of_early_data,
    encrypted_extensions, certificate, certificate_request, certificate_verify, key_update):
    still unexpected_message, the message is out of order whatever its body (RFC 5246 §7.4,
    §7.2.2)."""
    message = client_hello()
    refused(Probe().hello(bytes((msg_type,)) + message[1:]), AD.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize("extensions", ["none", "with-extensions"])
def test_client_hello_session_id_length_fuzz_is_decode_error(extensions: str) -> None:
    """tlsfuzzer test-invalid-client-hello "session ID len fuzz to N" (and "... w/ext"): a
    legacy_session_id length that does not match the message is decode_error (RFC 5246
    §7.4.1.2 opaque SessionID<0..32>, §7.2.2)."""
    if extensions == "none":
        message = client_hello_no_ext((ECDSA_GCM, EMPTY_RENEGOTIATION_INFO_SCSV))
    else:
        message = client_hello((ECDSA_GCM,))
    variants = {n: _substituted(message, 38, bytes((n,))) for n in range(1, 256)}
    answers = _hello_answers(variants)
    assert {n: a for n, a in answers.items() if a is not AD.DECODE_ERROR} == {}


@pytest.mark.parametrize("field", ["suites", "extensions"])
def test_client_hello_vector_length_fuzz_is_decode_error(field: str) -> None:
    """tlsfuzzer test-invalid-client-hello "cipher suites len fuzz to N" and "extensions len
    fuzz to N": every other 16-bit length of the cipher_suites or extensions vector (the
    script's values: high byte 0, 1, 2, 4, 8, 16, 128, 254, 255 with any low byte) is
    decode_error (RFC 5246 §7.4.1.2, §7.2.2)."""
    message = client_hello((ECDSA_GCM,))
    offset = _fields(message)[field]
    actual = int.from_bytes(message[offset : offset + 2])
    lengths = {(hi << 8) + lo for hi in (0, 1, 2, 4, 8, 16, 128, 254, 255) for lo in range(256)}
    variants = {n: _substituted(message, offset, n.to_bytes(2)) for n in lengths - {actual}}
    answers = _hello_answers(variants)
    assert {n: a for n, a in answers.items() if a is not AD.DECODE_ERROR} == {}


def test_client_hello_compression_length_fuzz_is_decode_error() -> None:
    """tlsfuzzer test-invalid-client-hello "compression methods len fuzz to N": a
    compression_methods length that does not fit the message is decode_error (RFC 5246
    §7.4.1.2, §7.2.2). The script skips the one length that makes a valid extension-less
    hello; so do we (checked by parsing)."""
    message = client_hello((ECDSA_GCM,))
    offset = _fields(message)["compression"]
    variants = {n: _substituted(message, offset, bytes((n,))) for n in range(256) if n != 1}
    answers = _hello_answers(variants)
    # a length that swallows the whole extensions block leaves a valid hello without extensions
    whole = len(message) - offset - 1
    assert answers.pop(whole, AD.HANDSHAKE_FAILURE) in (AD.HANDSHAKE_FAILURE, AD.ILLEGAL_PARAMETER)
    assert {n: a for n, a in answers.items() if a is not AD.DECODE_ERROR} == {}


# -- test-invalid-session-id, test-invalid-cipher-suites, test-invalid-compression-methods --------


def test_33_byte_session_id_is_refused() -> None:
    """tlsfuzzer test-invalid-session-id "33 byte long session id": any fatal alert (RFC 5246
    §7.4.1.2: opaque SessionID<0..32>; a longer one cannot be decoded: decode_error)."""
    refused(Probe().hello(client_hello(session_id=b"\x03" * 33)), AD.DECODE_ERROR)


@pytest.mark.parametrize(
    "suites",
    [
        range(0x0001, 0x0003),  # NULL suites
        range(0x0003, 0x000A),  # EXPORT and weak
        range(0x0047, 0x0060),
        range(0x0060, 0x0067),
        range(0x00C6, 0x00FF),
        [0x00FF],  # only the renegotiation SCSV
        range(0x0100, 0x1001),
        range(0xC0B0, 0xCCA8),
        range(0xF000, 0xFFFF),
    ],
    ids=lambda r: f"{r[0]:04x}-{r[-1]:04x}",
)
def test_only_unknown_or_unusable_cipher_suites_are_refused(suites: Sequence[int]) -> None:
    """tlsfuzzer test-invalid-cipher-suites (one conversation per range, "NULL", "EXPORT",
    "Unknown 0x...", "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"): a ClientHello offering nothing we
    implement gets a fatal alert (any; RFC 5246 §7.4.1.3 says handshake_failure)."""
    refused(Probe().hello(client_hello(list(suites))), AD.HANDSHAKE_FAILURE)


def test_all_non_null_compression_methods_is_illegal_parameter() -> None:
    """tlsfuzzer test-invalid-compression-methods "invalid compression methods" (methods 1..255,
    null missing): illegal_parameter (RFC 5246 §7.4.1.2: the list "MUST" include null;
    the single-deflate case is in test_tls12_negative.py)."""
    refused(Probe().hello(client_hello(compression=bytes(range(1, 256)))), AD.ILLEGAL_PARAMETER)


# -- test-empty-extensions, test-extensions, test-large-number-of-extensions ----------------------


def test_empty_extensions_block_is_parsed_like_no_block() -> None:
    """tlsfuzzer test-empty-extensions "empty extensions": a ClientHello whose extensions block
    is present with length 0 is well formed (RFC 5246 §7.4.1.2: ``Extension
    extensions<0..2^16-1>``). The script expects a ServerHello; with no extensions there is no
    signature_algorithms, so we answer as for a hello without the block (see
    test_client_hello_without_signature_algorithms_is_handshake_failure): not decode_error."""
    with_block = Probe().hello(client_hello(extensions=[]))
    without_block = Probe().hello(client_hello_no_ext())
    refused(with_block, AD.HANDSHAKE_FAILURE)
    refused(without_block, AD.HANDSHAKE_FAILURE)


def _unknown_empty(count: int, first: int = 90) -> list[Ext]:
    """``count`` empty extensions of unassigned types from ``first`` on (NPN's 13172 skipped)."""
    types = [t for t in range(first, first + count + 1) if t != 13172][:count]
    return [(t, b"") for t in types]


@pytest.mark.parametrize("count", [31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 256, 1024, 4096,
                                   8192, 16372])  # fmt: skip
@pytest.mark.parametrize("where", ["first", "last"])
def test_many_unknown_extensions_are_ignored(count: int, where: str) -> None:
    """tlsfuzzer test-extensions "N extensions" and "N extensions last empty" (also
    test-large-number-of-extensions): up to the block's limit of empty extensions of unknown
    types, before or after the real ones, and a full handshake follows (RFC 5246 §7.4.1.4: "If
    a server receives an extension type it does not understand, it MUST ignore it"). The hello
    spans several records (RFC 5246 §6.2.1)."""
    unknown = _unknown_empty(count)
    extensions = (
        unknown + default_extensions() if where == "first" else default_extensions() + unknown
    )
    probe = Probe()
    probe.full_handshake(client_hello(extensions=extensions))
    probe.echo()


def test_fuzzed_extensions_block_length_is_decode_error() -> None:
    """tlsfuzzer test-extensions "fuzz ext length to N": nine empty extensions, then ours; the
    low byte of the extensions block's length changed to any other value is decode_error
    (RFC 5246 §7.4.1.2, §7.2.2)."""
    message = client_hello(extensions=[*_unknown_empty(9), *default_extensions()])
    offset = _fields(message)["extensions"] + 1
    variants = {
        n: _substituted(message, offset, bytes((n,))) for n in range(256) if n != message[offset]
    }
    answers = _hello_answers(variants)
    assert {n: a for n, a in answers.items() if a is not AD.DECODE_ERROR} == {}


# -- test-record-layer-fragmentation, test-client-hello-max-size, test-large-hello ---------------

PADDING = 21  # RFC 7685 padding extension: zero bytes, which servers ignore


def padded_hello(padding: int) -> bytes:
    """Our default ClientHello with a padding extension of ``padding`` zero bytes first."""
    return client_hello(extensions=[(PADDING, bytes(padding)), *default_extensions()])


FRAGMENTATION = [
    (20, None),
    (1024, None),
    (1024, 127),
    (1024, 128),
    (1024, 255),
    (1024, 256),
    (1024, 257),
    (2**12, None),
    (2**14 - 49, None),
    (2**14 - 48, None),
    (2**15, None),
    (2**16 - 5 - 4 - len(encode_extensions(default_extensions())), None),  # the block's maximum
    (20, 1024),
    (1024, 1024),
    (2**12, 1024),
    (20, 20),
    (1024, 20),
    (2**12, 20),
    (20, 1),
    (1024, 1),
]


@pytest.mark.parametrize(("padding", "size"), FRAGMENTATION, ids=lambda v: str(v))
def test_client_hello_of_any_size_in_records_of_any_size(padding: int, size: int | None) -> None:
    """tlsfuzzer test-record-layer-fragmentation ("small hello", "medium hello, pow2
    fragmentation", "big, needs fragmentation", "maximum size", "... maximum fragmentation"),
    test-client-hello-max-size, test-large-hello: a ClientHello padded from 20 bytes up to the
    largest extensions block, sent in records of 1 byte up to 2^14 bytes, then every later
    handshake record of that size too: a full handshake (RFC 5246 §6.2.1: "multiple client
    messages of the same ContentType MAY be coalesced into a single TLSPlaintext record, or a
    single message MAY be fragmented across several records")."""
    probe = Probe()
    if size is not None:
        probe.max_record = size
    probe.full_handshake(padded_hello(padding))
    probe.echo()
    reply = probe.send(probe.seal(ALERT, b"\x01\x00"))
    assert reply.records == [(ALERT, b"\x01\x00")]


def test_plaintext_record_over_2_14_is_record_overflow() -> None:
    """tlsfuzzer test-record-layer-fragmentation "non fragmented, over fragmentation limit": a
    ClientHello of more than 2^14 bytes in one record gets a fatal alert (RFC 5246 §6.2.1: "The
    length MUST NOT exceed 2^14"; §7.2.2 record_overflow)."""
    probe = Probe()
    probe.max_record = 2**16 - 1
    message = padded_hello(2**14 - 52)
    assert len(message) > 2**14
    refused(probe.hello(message), AD.RECORD_OVERFLOW)


# -- test-invalid-content-type, test-zero-length-data ------------------------------------------


@pytest.mark.parametrize("content_type", [0, 19, 24, 25, 0x80, 0xFF])
@pytest.mark.parametrize("where", ["before CKE", "before CCS", "before Finished", "after"])
def test_record_of_an_unknown_content_type_is_unexpected_message(
    content_type: int, where: str
) -> None:
    """tlsfuzzer test-invalid-content-type "before Client Key Exchange", "before Change Cipher
    Spec", "before Finished" (content type 24, "hello server!"; plaintext, then protected after
    the CCS): a fatal alert and the connection closed (RFC 5246 §6: "If a TLS implementation
    receives an unexpected record type, it MUST send an unexpected_message alert"). Also
    after the handshake, and for other unassigned types."""
    probe = Probe()
    assert probe.hello().error is None
    data = b"hello server!\n"
    if where == "before CKE":
        refused(probe.send(record(content_type, data)), AD.UNEXPECTED_MESSAGE)
        return
    cke = probe.handshake_record(probe.client_key_exchange())
    if where == "before CCS":
        refused(probe.send(cke + record(content_type, data)), AD.UNEXPECTED_MESSAGE)
        return
    ccs = probe.ccs()
    if where == "before Finished":
        refused(probe.send(cke + ccs + probe.seal(content_type, data)), AD.UNEXPECTED_MESSAGE)
        return
    assert probe.send(cke + ccs + probe.finished_record()).error is None
    refused(probe.send(probe.seal(content_type, data)), AD.UNEXPECTED_MESSAGE)


def test_zero_length_application_data_is_accepted() -> None:
    """tlsfuzzer test-zero-length-data "zero-length app data": an empty application_data
    record, then a request; the request is answered and close_notify gets close_notify (RFC
    5246 §6.2.1: "Zero-length fragments of Application data MAY be sent as they are
    potentially useful as a traffic analysis countermeasure")."""
    probe = Probe()
    probe.full_handshake()
    reply = probe.send(probe.seal(APPLICATION_DATA, b""))
    assert reply.error is None and reply.records == [] and reply.state is ConnectionState.APP_DATA
    probe.echo(b"GET / HTTP/1.0\nX-bad: aaaa\n\n")
    assert probe.send(probe.seal(ALERT, b"\x01\x00")).records == [(ALERT, b"\x01\x00")]


# -- test-invalid-version, test-fallback-scsv, test-downgrade-protection -------------------------


@pytest.mark.parametrize("version", [0x0103, 0x0200, 0x0300])
def test_client_hello_version_below_3_1_is_refused(version: int) -> None:
    """tlsfuzzer test-invalid-version "version < 3.0" ((1, 3)): any fatal alert; we send
    protocol_version (RFC 8446 Appendix D.5 / RFC 8996 §5: SSL 3.0 and older are refused with
    protocol_version)."""
    refused(Probe().hello(client_hello(version=version)), AD.PROTOCOL_VERSION)


@pytest.mark.parametrize("version", [0x0304, 0x0305, 0x03FF, 0x0400])
def test_client_hello_version_above_tls12_without_supported_versions_negotiates_tls12(
    version: int,
) -> None:
    """tlsfuzzer test-fallback-scsv "sanity - SSL3.4 version negotiation", "record SSL3.4 hello
    SSL3.4": a higher legacy_version without supported_versions gets a TLS 1.2 handshake (RFC
    5246 Appendix E.1, RFC 8446 §4.2.1: "servers ... MUST negotiate TLS 1.2 or prior ..., even
    if ClientHello.legacy_version is 0x0304 or later")."""
    probe = Probe()
    probe.full_handshake(client_hello(version=version))
    assert probe.server_hello is not None and probe.server_hello.legacy_version == 0x0303
    probe.echo()


@pytest.mark.parametrize("version", [0x0303, 0x0304])
@pytest.mark.parametrize("place", [0, 1, 2])
def test_fallback_scsv_to_tls12_from_a_tls13_server_is_inappropriate_fallback(
    version: int, place: int
) -> None:
    """tlsfuzzer test-fallback-scsv "FALLBACK - hello TLSv1.2 - pos N" and "FALLBACK - hello
    SSL3.4 - pos N" (with --tls-1.3): we support TLS 1.3, the client's hello can only get TLS
    1.2 and carries TLS_FALLBACK_SCSV: inappropriate_fallback (RFC 7507 §3)."""
    suites = [EMPTY_RENEGOTIATION_INFO_SCSV, ECDSA_GCM]
    suites.insert(place, FALLBACK_SCSV)
    refused(Probe().hello(client_hello(suites, version=version)), AD.INAPPROPRIATE_FALLBACK)


@pytest.mark.parametrize("place", [0, 1, 2])
def test_fallback_scsv_to_tls12_on_a_tls12_server_is_accepted(place: int) -> None:
    """tlsfuzzer test-fallback-scsv "FALLBACK - hello TLSv1.2 - pos N" (without --tls-1.3): a
    TLS 1.2-only server is not fallen back from: the handshake proceeds (RFC 7507 §3)."""
    suites = [EMPTY_RENEGOTIATION_INFO_SCSV, ECDSA_GCM]
    suites.insert(place, FALLBACK_SCSV)
    probe = Probe(server_config(max_version="TLSv1.2"))
    probe.full_handshake(client_hello(suites))
    probe.echo()


@pytest.mark.parametrize("place", [0, 1, 2])
def test_fallback_scsv_to_tls11_is_protocol_version(place: int) -> None:
    """tlsfuzzer test-fallback-scsv "FALLBACK - hello TLSv1.1 - pos N" and "FALLBACK - record
    TLSv1.1 hello TLSv1.1 - pos N" expect inappropriate_fallback, which RFC 7507 §3 allowed
    beside protocol_version ("unless it responds with a fatal protocol_version alert because the
    version ... is unsupported"). RFC 8996 obsoletes RFC 7507 and leaves one answer, §5: "Any
    party receiving a Hello message with the protocol version set to {03,02} MUST respond with
    a "protocol_version" alert message and close the connection." (tlsfuzzer asks the older RFC.)"""
    suites = [EMPTY_RENEGOTIATION_INFO_SCSV, ECDSA_GCM]
    suites.insert(place, FALLBACK_SCSV)
    refused(Probe().hello(client_hello(suites, version=0x0302)), AD.PROTOCOL_VERSION)


def test_tls11_hello_without_fallback_scsv_is_protocol_version() -> None:
    """tlsfuzzer test-fallback-scsv "sanity - TLSv1.1" expects a TLS 1.1 handshake; we do not
    implement TLS 1.1 (RFC 8996 §3: "TLSv1.1 MUST NOT be used"; §5: protocol_version)."""
    refused(Probe().hello(client_hello(version=0x0302)), AD.PROTOCOL_VERSION)


DOWNGRADE_TLS12 = b"DOWNGRD\x01"


@pytest.mark.parametrize("how", ["legacy_version", "supported_versions"])
def test_tls13_server_negotiating_tls12_sets_the_downgrade_sentinel(how: str) -> None:
    """tlsfuzzer test-downgrade-protection "TLS 1.2 ... downgrade" conversations: a server that
    supports TLS 1.3 and negotiates TLS 1.2 ends ServerHello.random with 44 4F 57 4E 47 52 44
    01 (RFC 8446 §4.1.3: "MUST"); a TLS 1.2-only server does not."""
    extensions = default_extensions()
    if how == "supported_versions":
        extensions.append((SUPPORTED_VERSIONS, b"\x02\x03\x03"))
    probe = Probe()
    probe.full_handshake(client_hello(extensions=extensions))
    assert probe.server_hello is not None
    assert probe.server_hello.random[-8:] == DOWNGRADE_TLS12
    only12 = Probe(server_config(max_version="TLSv1.2"))
    only12.full_handshake(client_hello(extensions=extensions))
    assert only12.server_hello is not None
    assert only12.server_hello.random[-8:] not in (DOWNGRADE_TLS12, b"DOWNGRD\x00")


def test_server_random_is_fresh_for_the_same_client_hello() -> None:
    """tlsfuzzer test-serverhello-random: the same ClientHello (same client random) sent to
    the server again gets a different ServerHello.random (RFC 5246 §7.4.1.3, RFC 8446
    §4.1.3: 32 bytes "generated by a secure random number generator")."""
    hello = client_hello(random=bytes(32))
    randoms = set()
    for _ in range(4):
        probe = Probe()
        assert probe.hello(hello).error is None
        assert probe.server_hello is not None
        randoms.add(probe.server_hello.random[:24])
    assert len(randoms) == 4


# -- test-message-skipping, test-message-duplication ---------------------------------------------


def test_client_key_exchange_instead_of_client_hello_is_unexpected_message() -> None:
    """tlsfuzzer test-message-skipping "skip Client Hello": a ClientKeyExchange as the first
    message is unexpected_message (RFC 5246 §7.3 / §7.4 order, §7.2.2)."""
    cke = handshake(HandshakeType.CLIENT_KEY_EXCHANGE, bytes((32,)) + os.urandom(32))
    refused(Probe().send(record(HANDSHAKE, cke)), AD.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize("record_version", [0x0300, 0x0301, 0x0302, 0x0303])
def test_finished_as_the_first_message_is_unexpected_message(record_version: int) -> None:
    """tlsfuzzer test-message-skipping "skip all but Finished in SSLv3 / TLS 1.0 / TLS 1.1 /
    TLS 1.2 / TLS 1.3": a Finished, in a record of that version, as the first message is
    unexpected_message (RFC 5246 §7.4.9: Finished follows ChangeCipherSpec; Appendix E.1: the
    first record's version is not checked strictly)."""
    finished_msg = handshake(HandshakeType.FINISHED, bytes(12))
    data = bytes((HANDSHAKE,)) + record_version.to_bytes(2) + record(HANDSHAKE, finished_msg)[3:]
    refused(Probe().send(data), AD.UNEXPECTED_MESSAGE)


def _after_hello() -> Probe:
    probe = Probe()
    assert probe.hello().error is None
    return probe


def test_skipped_client_key_exchange_is_unexpected_message() -> None:
    """tlsfuzzer test-message-skipping "skip Client Key Exchange": ChangeCipherSpec and
    Finished right after ServerHelloDone: unexpected_message (RFC 5246 §7.4.7: "It [CKE] MUST
    immediately follow the client certificate message, if it is sent. Otherwise, it MUST be
    the first message sent by the client after it receives the ServerHelloDone")."""
    probe = _after_hello()
    refused(probe.send(record(CCS, b"\x01") + record(HANDSHAKE, handshake(20, bytes(12)))),
            AD.UNEXPECTED_MESSAGE)  # fmt: skip


def test_skipped_change_cipher_spec_is_unexpected_message() -> None:
    """tlsfuzzer test-message-skipping "skip Change Cipher Spec": ClientKeyExchange then a
    plaintext Finished: unexpected_message (RFC 5246 §7.1, §7.4.9: "A Finished message is
    always sent immediately after a change cipher spec message")."""
    probe = _after_hello()
    cke = probe.client_key_exchange()
    refused(probe.send(probe.handshake_record(cke) + probe.handshake_record(
        probe.finished_message())), AD.UNEXPECTED_MESSAGE)  # fmt: skip


def test_skipped_finished_is_unexpected_message() -> None:
    """tlsfuzzer test-message-skipping "skip Finished": application data right after the
    ChangeCipherSpec, protected: unexpected_message (RFC 5246 §7.4.9: Finished "MUST" come
    first under the new keys; §6.2.1 application data only after the handshake)."""
    probe = _after_hello()
    cke = probe.handshake_record(probe.client_key_exchange())
    ccs = probe.ccs()
    refused(probe.send(cke + ccs + probe.seal(APPLICATION_DATA, b"GET / HTTP/1.0\r\n\r\n")),
            AD.UNEXPECTED_MESSAGE)  # fmt: skip


@pytest.mark.parametrize("where", ["before CKE", "before CCS", "before Finished"])
def test_duplicated_client_hello_is_unexpected_message(where: str) -> None:
    """tlsfuzzer test-message-duplication "duplicate client hello before CKE / CCS / Finished":
    a second ClientHello inside the handshake (protected after the CCS) is unexpected_message
    (RFC 5246 §7.4 order; a renegotiation can only start after the handshake)."""
    probe = _after_hello()
    data = b""
    if where != "before CKE":
        data += probe.handshake_record(probe.client_key_exchange())
    if where == "before Finished":
        data += probe.ccs()
    refused(probe.send(data + probe.seal(HANDSHAKE, client_hello())), AD.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize("where", ["before CCS", "before Finished", "after Finished"])
def test_duplicated_client_key_exchange_is_unexpected_message(where: str) -> None:
    """tlsfuzzer test-message-duplication "duplicate client key exchange before CCS / before
    Finished / after Finished": unexpected_message (RFC 5246 §7.4 order, §7.2.2)."""
    probe = _after_hello()
    cke = probe.client_key_exchange()
    data = probe.handshake_record(cke)
    if where != "before CCS":
        data += probe.ccs()
    if where == "after Finished":
        assert probe.send(data + probe.finished_record()).error is None
        data = b""
    refused(probe.send(data + probe.seal(HANDSHAKE, cke)), AD.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize("where", ["before Finished", "after Finished"])
def test_duplicated_change_cipher_spec_is_unexpected_message(where: str) -> None:
    """tlsfuzzer test-message-duplication "duplicate change cipher spec before Finished /
    after Finished": unexpected_message (RFC 5246 §7.1: a CCS only where the handshake
    expects one)."""
    probe = _after_hello()
    data = probe.handshake_record(probe.client_key_exchange()) + probe.ccs()
    if where == "after Finished":
        assert probe.send(data + probe.finished_record()).error is None
        data = b""
    refused(probe.send(data + probe.seal(CCS, b"\x01")), AD.UNEXPECTED_MESSAGE)


# -- test-fuzzed-finished, test-fuzzed-ciphertext / test-fuzzed-MAC (AEAD), test-aes-gcm-nonces ---


@pytest.mark.parametrize("position", [-1, -2, -6, -12])
@pytest.mark.parametrize("xor", [0x01, 0xFF])
def test_fuzzed_finished_verify_data_is_decrypt_error(position: int, xor: int) -> None:
    """tlsfuzzer test-fuzzed-finished "XOR position N with V": a client Finished whose
    verify_data has one byte changed (properly protected) is decrypt_error (RFC 5246 §7.4.9:
    "Recipients of Finished messages MUST verify that the contents are correct"; §7.2.2
    decrypt_error: "a handshake cryptographic operation failed, including being unable to ...
    validate a Finished message")."""
    probe = _after_hello()
    data = probe.handshake_record(probe.client_key_exchange()) + probe.ccs()
    good = bytearray(probe.finished_message())
    good[position] ^= xor
    refused(probe.send(data + probe.seal(HANDSHAKE, bytes(good))), AD.DECRYPT_ERROR)


@pytest.mark.parametrize("suite", [ECDSA_GCM, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256.id])
@pytest.mark.parametrize("where", [5, 8, 13, 20, -16, -1], ids=lambda w: f"byte{w}")
def test_fuzzed_ciphertext_or_tag_of_finished_is_bad_record_mac(suite: int, where: int) -> None:
    """tlsfuzzer test-fuzzed-ciphertext / test-fuzzed-MAC (the AEAD conversations): one bit
    flipped in the protected Finished record (explicit nonce, ciphertext or tag) is
    bad_record_mac (RFC 5246 §6.2.3.3: "If the decryption fails, a fatal bad_record_mac alert
    MUST be generated")."""
    probe = Probe()
    assert probe.hello(client_hello((suite,))).error is None
    data = probe.handshake_record(probe.client_key_exchange()) + probe.ccs()
    sealed = bytearray(probe.finished_record())
    sealed[where] ^= 0x01
    refused(probe.send(data + bytes(sealed)), AD.BAD_RECORD_MAC)


@pytest.mark.parametrize("suite", [ECDSA_GCM, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384.id])
def test_server_gcm_explicit_nonces_count_up_by_one(suite: int) -> None:
    """tlsfuzzer test-aes-gcm-nonces "aes-128-gcm cipher" / "aes-256-gcm cipher": the explicit
    nonces of the server's Finished and of its next record increase by exactly one (the
    script's monotonicity check; RFC 5288 §3: the nonce_explicit "MUST be distinct for each
    distinct invocation of the GCM encrypt function"; RFC 5116 §3.2 counter)."""
    probe = Probe()
    reply = probe.full_handshake(client_hello((suite,)))
    after_ccs = reply.raw[reply.raw.index(bytes((CCS, 3, 3, 0, 1, 1))) + 6 :]
    finished_nonce = int.from_bytes(after_ccs[5:13])
    server = probe.server
    server.send(b"HTTP/1.0 200 OK\r\n\r\n")
    data_nonce = int.from_bytes(server.data_to_send()[5:13])
    assert data_nonce == finished_nonce + 1


# -- test-renegotiation-disabled, test-legacy-renegotiation, test-hello-request-by-client ----------

NO_RENEGOTIATION_WARNING = (ALERT, bytes((1, AD.NO_RENEGOTIATION)))


@pytest.mark.parametrize("secure", [True, False], ids=["secure", "legacy"])
@pytest.mark.parametrize("get", ["GET after 2nd CH", "incomplete GET"])
def test_renegotiation_is_refused_with_a_warning_and_the_connection_goes_on(
    secure: bool, get: str
) -> None:
    """tlsfuzzer test-renegotiation-disabled "try secure renegotiation with GET after 2nd CH",
    "... with incomplete GET", "try insecure (legacy) renegotiation ..." (also
    test-legacy-renegotiation): after the handshake the client sends a new ClientHello
    (protected; with renegotiation_info holding its verify_data when secure, without the
    extension when the first handshake had none). The server answers a warning
    no_renegotiation and the connection carries on: the request split around the refused
    hello is answered (RFC 5246 §7.2.2 no_renegotiation: "This message is always a warning";
    RFC 5746 §4.4; §6.2.1 interleaved application data)."""
    probe = Probe()
    first_extensions = default_extensions() if secure else [GROUPS, POINT_FORMATS, SIGALGS, EMS]
    probe.full_handshake(client_hello(extensions=first_extensions))
    if get == "incomplete GET":
        assert probe.send(probe.seal(APPLICATION_DATA, b"GET / HTTP/1.0\r\n")).error is None
    second = [GROUPS, POINT_FORMATS, SIGALGS, EMS]
    if secure:
        verify = probe.client_verify_data
        second.append((RENEGOTIATION_INFO, bytes((len(verify),)) + verify))
    reply = probe.send(probe.seal(HANDSHAKE, client_hello(extensions=second)))
    assert reply.error is None, reply.error
    assert reply.records == [NO_RENEGOTIATION_WARNING]
    assert reply.state is ConnectionState.APP_DATA
    if get == "GET after 2nd CH":
        probe.echo(b"GET / HTTP/1.0\r\n")
    probe.echo(b"\r\n")
    assert probe.send(probe.seal(ALERT, b"\x01\x00")).records == [(ALERT, b"\x01\x00")]


def test_hello_request_from_the_client_after_the_handshake_is_unexpected_message() -> None:
    """tlsfuzzer test-hello-request-by-client "hello request to server" sends a HelloRequest as
    the first message (any alert; test_tls12_negative.py has it); here the same after the
    handshake, protected: HelloRequest is a server's message, so unexpected_message (RFC 5246
    §7.4.1.1, §7.2.2)."""
    probe = Probe()
    probe.full_handshake()
    refused(probe.send(probe.seal(HANDSHAKE, handshake(0, b""))), AD.UNEXPECTED_MESSAGE)


# -- test-extended-master-secret-extension, test-sessionID-resumption ------------------------------


def caching_config(**kwargs: object) -> ServerConfig:
    """A server that caches sessions by ID and issues no tickets (session-ID resumption)."""
    return server_config(session_cache=InMemorySessionCache(), session_tickets=0, **kwargs)


def resumed(probe: Probe) -> bool:
    """Whether the last ServerHello resumed: a CCS and Finished came right after it."""
    return probe.server_finished_message != b"" and probe.ske is None


def resume(
    first: Probe,
    config: ServerConfig,
    extensions: list[Ext] | None = None,
    suites: Sequence[int] | None = None,
) -> Probe:
    """A second connection offering ``first``'s session ID (and its suite, by default)."""
    assert first.server_hello is not None
    probe = Probe(config)
    probe.resume_master = first.master
    session_id = first.server_hello.legacy_session_id_echo
    assert session_id
    if suites is None:
        suites = (first.server_hello.cipher_suite,)
    reply = probe.hello(client_hello(suites, extensions, session_id=session_id))
    assert reply.error is None, reply.error
    return probe


def finish_resumption(probe: Probe) -> None:
    """Check the server's Finished, send ours (RFC 5246 §7.3, abbreviated handshake)."""
    probe.check_server_finished()
    probe.transcript.append(probe.server_finished_message)
    reply = probe.send(probe.ccs() + probe.finished_record())
    assert reply.error is None, reply.error
    assert reply.state is ConnectionState.APP_DATA
    probe.echo()


@pytest.mark.parametrize("suite", sorted(SUITES), ids=lambda s: SUITES[s].name)
def test_extended_master_secret_is_negotiated(suite: int) -> None:
    """tlsfuzzer test-extended-master-secret-extension "extended master secret", "... w/ECDHE",
    "... w/DHE", "... w/SHA384 PRF": the ServerHello echoes an empty extended_master_secret
    and the handshake completes with the extended master secret (RFC 7627 §5.2, §4)."""
    extensions = default_extensions()
    if SUITES[suite].key_exchange == "DHE":
        extensions[0] = groups_ext(FFDHE2048.id)
    probe = Probe()
    probe.full_handshake(client_hello((suite,), extensions))
    assert probe.server_extension(EXTENDED_MASTER_SECRET) == b""


def test_no_extended_master_secret_without_the_extension() -> None:
    """tlsfuzzer test-extended-master-secret-extension "no EMS by default": a client without the
    extension gets no extended_master_secret in the ServerHello and a handshake on the
    RFC 5246 master secret (keys derived the extended way would fail: bad_record_mac)
    (RFC 7627 §5.2: the server echoes it only when the client sent it)."""
    hello = client_hello(extensions=[GROUPS, POINT_FORMATS, SIGALGS, RENEGO])
    probe = Probe()
    probe.full_handshake(hello)
    assert probe.server_extension(EXTENDED_MASTER_SECRET) is None
    ems_probe = Probe()
    ems_probe.use_ems = True  # the client derives the keys the extended way all the same
    assert ems_probe.hello(hello).error is None
    cke = ems_probe.client_key_exchange()
    data = ems_probe.handshake_record(cke) + ems_probe.ccs() + ems_probe.finished_record()
    refused(ems_probe.send(data), AD.BAD_RECORD_MAC)


@pytest.mark.parametrize("suite", [ECDSA_GCM, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384.id])
def test_session_id_resumption_with_extended_master_secret(suite: int) -> None:
    """tlsfuzzer test-extended-master-secret-extension "EMS with session resume" (and "... and
    SHA384 PRF"), test-sessionID-resumption: the session ID of an EMS session offered again
    with the extension: resumed (ServerHello with the same ID, then CCS and Finished), EMS
    echoed (RFC 5246 §7.3, RFC 7627 §5.3)."""
    config = caching_config()
    first = Probe(config)
    first.full_handshake(client_hello((suite,)))
    second = resume(first, config)
    assert second.server_hello is not None and first.server_hello is not None
    assert second.server_hello.legacy_session_id_echo == first.server_hello.legacy_session_id_echo
    assert resumed(second)
    assert second.server_extension(EXTENDED_MASTER_SECRET) == b""
    finish_resumption(second)


def test_resuming_an_ems_session_without_the_extension_is_handshake_failure() -> None:
    """tlsfuzzer test-extended-master-secret-extension "EMS with session resume without
    extension": handshake_failure (RFC 7627 §5.3: "If the original session used the
    "extended_master_secret" extension but the new ClientHello does not contain it, the server
    MUST abort the abbreviated handshake")."""
    config = caching_config()
    first = Probe(config)
    first.full_handshake()
    assert first.server_hello is not None
    probe = Probe(config)
    hello = client_hello(extensions=[GROUPS, POINT_FORMATS, SIGALGS, RENEGO],
                         session_id=first.server_hello.legacy_session_id_echo)  # fmt: skip
    refused(probe.hello(hello), AD.HANDSHAKE_FAILURE)


def test_non_ems_session_offered_with_the_extension_gets_a_full_handshake() -> None:
    """tlsfuzzer test-extended-master-secret-extension "resume non-EMS session with EMS
    extension": a full handshake, not a resumption (RFC 7627 §5.3: "the server MUST NOT
    perform the abbreviated handshake.  Instead, it SHOULD continue with a full handshake")."""
    config = caching_config()
    first = Probe(config)
    first.full_handshake(client_hello(extensions=[GROUPS, POINT_FORMATS, SIGALGS, RENEGO]))
    assert first.server_hello is not None
    probe = Probe(config)
    hello = client_hello(session_id=first.server_hello.legacy_session_id_echo)
    reply = probe.hello(hello)
    assert reply.error is None, reply.error
    assert not resumed(probe)
    assert reply.handshake_types[-1] == HandshakeType.SERVER_HELLO_DONE
    assert probe.server_extension(EXTENDED_MASTER_SECRET) == b""
    probe.finish()
    probe.check_server_finished()


# -- test-resumption-with-wrong-ciphers ----------------------------------------------------------

AES256 = TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384.id


def test_session_id_resumption_with_the_session_suite_among_others() -> None:
    """tlsfuzzer test-resumption-with-wrong-ciphers "sanity - session ID resume": two suites
    offered, the session's among them: resumed with the session's suite (RFC 5246 §7.4.1.3:
    when resuming, cipher_suite is the one of the resumed session)."""
    config = caching_config()
    first = Probe(config)
    first.full_handshake(client_hello((ECDSA_GCM, AES256)))
    assert first.server_hello is not None
    second = resume(first, config, suites=(AES256, ECDSA_GCM))
    assert resumed(second)
    assert second.server_hello is not None
    assert second.server_hello.cipher_suite == first.server_hello.cipher_suite
    finish_resumption(second)


@pytest.mark.parametrize(
    "offered",
    ["other suite we implement", "NULL suite only"],
)
def test_resumption_without_the_session_suite_is_illegal_parameter(offered: str) -> None:
    """tlsfuzzer test-resumption-with-wrong-ciphers "resumption with cipher from old CH but not
    selected by server" and "resumption of safe session with NULL cipher" (CVE-2010-4180): the
    session ID offered again with a cipher_suites list lacking the session's suite:
    illegal_parameter (RFC 5246 §7.4.1.2: "the cipher_suites vector MUST include at least the
    cipher_suite from that session"; the server answers the client's violation with
    illegal_parameter, §7.2.2)."""
    config = caching_config()
    first = Probe(config)
    first.full_handshake(client_hello((ECDSA_GCM, AES256)))
    assert first.server_hello is not None
    suites = [AES256 if first.server_hello.cipher_suite == ECDSA_GCM else ECDSA_GCM]
    if offered == "NULL suite only":
        suites = [0x0002]  # TLS_RSA_WITH_NULL_SHA
    probe = Probe(config)
    hello = client_hello(suites, session_id=first.server_hello.legacy_session_id_echo)
    refused(probe.hello(hello), AD.ILLEGAL_PARAMETER)


# -- test-alpn-negotiation, test-record-size-limit (TLS 1.2 conversations) ----------------------


def alpn_ext(*names: bytes) -> Ext:
    body = b"".join(bytes((len(n),)) + n for n in names)
    return ALPN, struct.pack(">H", len(body)) + body


def test_alpn_protocol_is_negotiated() -> None:
    """tlsfuzzer test-alpn-negotiation "overlap" conversations: the ServerHello names one
    protocol the client offered (RFC 7301 §3.1)."""
    probe = Probe(server_config(alpn_protocols=("http/1.1",)))
    probe.full_handshake(client_hello(extensions=[*default_extensions(),
                                                   alpn_ext(b"h2", b"http/1.1")]))  # fmt: skip
    assert probe.server_extension(ALPN) == alpn_ext(b"http/1.1")[1]


@pytest.mark.parametrize(
    ("data", "alert"),
    [
        (b"\x00\x00", AD.DECODE_ERROR),  # empty protocol_name_list
        (b"\x00\x01\x00", AD.DECODE_ERROR),  # an empty ProtocolName
        (b"\x00\x05\x08http", AD.DECODE_ERROR),  # name longer than the list
        (alpn_ext(b"spdy/1", b"h3-99")[1], AD.NO_APPLICATION_PROTOCOL),  # no overlap
    ],
    ids=["empty-list", "empty-name", "overflowing-name", "no-overlap"],
)
def test_bad_alpn_extension_is_refused(data: bytes, alert: AlertDescription) -> None:
    """tlsfuzzer test-alpn-negotiation "empty list", "empty element", "underflow length",
    "mismatched protocols": decode_error for a malformed list (RFC 7301 §3.1:
    ``ProtocolName protocol_name_list<2..2^16-1>``, ``opaque ProtocolName<1..2^8-1>``),
    no_application_protocol when none is supported (§3.2: "the server MUST respond with a
    fatal "no_application_protocol" alert")."""
    probe = Probe(server_config(alpn_protocols=("http/1.1",)))
    refused(probe.hello(client_hello(extensions=[*default_extensions(), (ALPN, data)])), alert)


@pytest.mark.parametrize("limit", [64, 256, 2**14 + 1])
def test_record_size_limit_is_acknowledged_and_respected(limit: int) -> None:
    """tlsfuzzer test-record-size-limit (TLS 1.2 conversations, "check if server accepts
    maximum size in TLS 1.2", "... minimal ..."): the ServerHello carries record_size_limit
    and the server's protected records carry at most ``limit`` bytes of plaintext (RFC 8449
    §4: "When the "record_size_limit" extension is negotiated, an endpoint MUST NOT generate
    a protected record with plaintext that is larger than the RecordSizeLimit value it
    receives from its peer"; negotiating it is a SHOULD, "Endpoints SHOULD advertise the
    "record_size_limit" extension", and tlsfuzzer expects it)."""
    extensions = [*default_extensions(), (RECORD_SIZE_LIMIT, struct.pack(">H", limit))]
    probe = Probe()
    probe.full_handshake(client_hello(extensions=extensions))
    acknowledged = probe.server_extension(RECORD_SIZE_LIMIT)
    assert acknowledged is not None and 64 <= int.from_bytes(acknowledged) <= 2**14
    probe.server.send(bytes(3 * 2**14))
    sent = records(probe.server.data_to_send())
    assert all(len(fragment) - 8 - 16 <= min(limit, 2**14) for _, fragment in sent)


@pytest.mark.parametrize("limit", [0, 1, 63])
def test_record_size_limit_below_64_is_illegal_parameter(limit: int) -> None:
    """tlsfuzzer test-record-size-limit "too small limit": illegal_parameter (RFC 8449 §4:
    "Endpoints MUST NOT send a "record_size_limit" extension with a value smaller than 64.  An
    endpoint MUST treat receipt of a smaller value as a fatal error and generate an
    "illegal_parameter" alert")."""
    extensions = [*default_extensions(), (RECORD_SIZE_LIMIT, struct.pack(">H", limit))]
    refused(Probe().hello(client_hello(extensions=extensions)), AD.ILLEGAL_PARAMETER)
