"""Second sweep of tlsfuzzer scripts the other audit files leave out, played against our
ServerConnection in memory: session-ID resumption (with SNI), version numbers, ChaCha20 and
AES-CCM in TLS 1.2, the ECDHE_RSA / DHE_RSA minimal scripts, malformed Finished and
ChangeCipherSpec in TLS 1.2, RSASSA-PSS certificates and client certificate compression in
TLS 1.3, and record_size_limit in TLS 1.3 (and its TLS 1.2 edges).

Each test replays one conversation of a script of the tlsfuzzer project (``scripts/<name>.py``
in tlsfuzzer/tlsfuzzer, named in the docstring with the RFC rule behind the expectation). The
TLS 1.3 conversations use :class:`tls13_probe.Probe`, the TLS 1.2 ones
:class:`tls12_probe.Probe`. The TLS 1.2 scripts mostly offer static-RSA or CBC suites, which we
do not implement, and some send no signature_algorithms (which we answer with handshake_failure,
see test_tlsfuzzer_tls12.py); their conversations keep the same shape (the same malformation, the
same expected answer) on an ECDHE or DHE AEAD suite with signature_algorithms added. Sessions
are cached only when they use the extended master secret (RFC 7627 §5.3), so the resumption
conversations also send extended_master_secret.

Where we answer differently from tlsfuzzer, the RFC decides: a MUST settles it; where the RFC
allows several answers we want tlsfuzzer's, and a test we fail is marked ``xfail(strict=True)``
with the reason and the place of the fix.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

import tls13_probe
from tls12_probe import (
    AD,
    EC_POINT_FORMATS,
    EMPTY_RENEGOTIATION_INFO_SCSV,
    EMS,
    EXTENDED_MASTER_SECRET,
    POINT_FORMATS,
    RECORD_SIZE_LIMIT,
    RENEGO,
    RENEGOTIATION_INFO,
    SERVER_NAME,
    SIGALGS,
    Ext,
    Probe,
    Reply,
    client_hello,
    default_extensions,
    groups_ext,
    handshake,
    refused,
    server_config,
)
from tls13_probe import (
    EXT_KEY_SHARE,
    EXT_RECORD_SIZE_LIMIT,
    EXT_SUPPORTED_GROUPS,
    GET,
    conversation,
    hello_extension_types,
    tls13_extensions,
    u16s,
    vector,
)
from tls_fixtures import client_cert
from tlsmachine import ConnectionState, InMemorySessionCache, ServerConfig
from tlsmachine.certs import CertifiedKey
from tlsmachine.crypto.groups import FFDHE2048, SECP256R1, SECP384R1
from tlsmachine.crypto.signatures import certificate_verify_input, sign, verify
from tlsmachine.crypto.suites import (
    TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
    TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
)
from tlsmachine.enums import AlertDescription, HandshakeType
from tlsmachine.messages.tls13 import encode_certificate_verify
from tlsmachine.prf import key_block
from wire import ALERT, APPLICATION_DATA, CCS, HANDSHAKE, record, records

ECDSA_GCM = TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256.id
RSA_GCM = TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.id
DHE_GCM = TLS_DHE_RSA_WITH_AES_128_GCM_SHA256.id
RSA_CHACHA = TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256.id
DHE_CHACHA = TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256.id
REQUEST = b"GET / HTTP/1.0\r\n\r\n"


def extension_types(data: bytes) -> dict[int, bytes]:
    """An extensions block's body (without its 2-byte length) as {type: data}."""
    out, at = {}, 0
    while at < len(data):
        ext_type, size = struct.unpack(">HH", data[at : at + 4])
        out[ext_type] = data[at + 4 : at + 4 + size]
        at += 4 + size
    return out


def server_hello_extensions(probe: Probe) -> dict[int, bytes]:
    """The extensions of the TLS 1.2 ServerHello the probe received."""
    assert probe.server_hello is not None
    raw = probe.server_hello.raw[4:]
    at = 35 + raw[34] + 3
    return extension_types(raw[at + 2 :]) if at < len(raw) else {}


def closes_cleanly(probe: Probe) -> None:
    """close_notify from the client is answered with close_notify (RFC 5246 §7.2.1)."""
    assert probe.send(probe.seal(ALERT, b"\x01\x00")).records == [(ALERT, b"\x01\x00")]


# == test-sessionID-resumption.py ================================================================


def caching_config(**kwargs: object) -> ServerConfig:
    """A server that caches TLS 1.2 sessions by ID and issues no tickets."""
    return server_config(session_cache=InMemorySessionCache(), session_tickets=0, **kwargs)


def full_handshake(config: ServerConfig, extensions: list[Ext], suite: int = RSA_GCM) -> Probe:
    probe = Probe(config)
    probe.full_handshake(client_hello((suite,), extensions))
    probe.echo()
    closes_cleanly(probe)
    return probe


def offer_session(first: Probe, config: ServerConfig, extensions: list[Ext]) -> tuple[Probe, Reply]:
    """A new connection offering ``first``'s session ID and suite."""
    assert first.server_hello is not None
    session_id = first.server_hello.legacy_session_id_echo
    assert len(session_id) == 32
    probe = Probe(config)
    probe.resume_master = first.master
    hello = client_hello((first.server_hello.cipher_suite,), extensions, session_id=session_id)
    return probe, probe.hello(hello)


def is_resumption(probe: Probe, reply: Reply) -> bool:
    """The ServerHello was followed by ChangeCipherSpec and Finished (RFC 5246 §7.3)."""
    return reply.handshake_types[-1] == HandshakeType.FINISHED and probe.ske is None


def finish_resumption(probe: Probe) -> None:
    probe.check_server_finished()
    probe.transcript.append(probe.server_finished_message)
    reply = probe.send(probe.ccs() + probe.finished_record())
    assert reply.error is None, reply.error
    assert reply.state is ConnectionState.APP_DATA
    probe.echo()
    closes_cleanly(probe)


def test_session_id_resumption_with_only_renegotiation_info() -> None:
    """test-sessionID-resumption.py "session ID resume": the second ClientHello offers the
    session ID with no other extension than renegotiation_info (plus extended_master_secret,
    see the module docstring: no supported_groups, no signature_algorithms): the session is
    resumed (RFC 5246 §7.4.1.2, §7.3: ServerHello with the same session_id, then
    ChangeCipherSpec and Finished) and the ServerHello answers renegotiation_info with an empty
    renegotiated_connection (RFC 5746 §3.6) and no ec_point_formats the client did not ask
    for (RFC 5246 §7.4.1.4: only extensions the client offered)."""
    config = caching_config()
    first = full_handshake(config, default_extensions())
    second, reply = offer_session(first, config, [RENEGO, EMS])
    assert reply.error is None, reply.error
    assert is_resumption(second, reply)
    assert second.server_hello is not None and first.server_hello is not None
    assert second.server_hello.legacy_session_id_echo == first.server_hello.legacy_session_id_echo
    assert server_hello_extensions(second) == {RENEGOTIATION_INFO: b"\x00",
                                               EXTENDED_MASTER_SECRET: b""}  # fmt: skip
    finish_resumption(second)


def test_session_without_extended_master_secret_is_not_resumable() -> None:
    """test-sessionID-resumption.py "session ID resume", exactly as the script sends it (no
    extended_master_secret in either hello): the script expects a resumption. RFC 7627 §5.3:
    "If neither the original session nor the new ClientHello uses the extension, the server
    SHOULD abort the handshake", resuming being the legacy insecure choice. We do not cache
    such sessions and say so with an empty session_id in the ServerHello (RFC 5246 §7.4.1.3:
    "the session will not be cached and therefore cannot be resumed"), so the script's second
    connection has no ID to offer and gets a full handshake: not the script's answer, but the
    insecure resumption the SHOULD is about never happens."""
    config = caching_config()
    no_ems = [groups_ext(SECP256R1.id), POINT_FORMATS, SIGALGS, RENEGO]
    first = full_handshake(config, no_ems)
    assert first.server_hello is not None and first.server_hello.legacy_session_id_echo == b""
    full_handshake(config, no_ems)


def test_garbage_session_id_gets_a_full_handshake() -> None:
    """test-sessionID-resumption.py "Client Hello with garbage session ID" (32 zero bytes, never
    issued): a full handshake under a new session ID, and the conversation completes (RFC 5246
    §7.4.1.3: a session_id the server does not find starts a new session, with a new ID)."""
    probe = Probe(caching_config())
    hello = client_hello((RSA_GCM,), default_extensions(), session_id=bytes(32))
    probe.full_handshake(hello)
    assert probe.server_hello is not None
    assert probe.server_hello.legacy_session_id_echo != bytes(32)
    probe.echo()
    closes_cleanly(probe)


# == test-invalid-server-name-extension-resumption.py ============================================

SNI_HOST = b"localhost4"


def sni_ext(host: bytes) -> Ext:
    entry = b"\x00" + struct.pack(">H", len(host)) + host
    return SERVER_NAME, struct.pack(">H", len(entry)) + entry


def test_resumption_with_a_malformed_server_name_is_illegal_parameter() -> None:
    """test-invalid-server-name-extension-resumption.py "session resume with malformed SNI": a
    session made with SNI "localhost4", then its ID offered with the name "localhost4\\0":
    illegal_parameter, before any resumption (RFC 6066 §3: HostName is an ASCII DNS host name;
    a well-formed extension with an invalid value is illegal_parameter, RFC 5246 §7.2.2)."""
    config = caching_config()
    first = full_handshake(config, [sni_ext(SNI_HOST), *default_extensions()])
    _, reply = offer_session(first, config, [sni_ext(SNI_HOST + b"\x00"), RENEGO, EMS])
    refused(reply, AD.ILLEGAL_PARAMETER)


def test_resumption_with_a_different_server_name_gets_a_full_handshake() -> None:
    """test-invalid-server-name-extension-resumption.py "session resume with different SNI": the
    session of "localhost4" offered with SNI "www.localhost4": a full handshake (RFC 6066 §3:
    "the server MUST NOT accept the request to resume the session if the server_name extension
    contains a different name. Instead, it proceeds with a full handshake to establish a new
    session"), and the new conversation completes."""
    config = caching_config()
    first = full_handshake(config, [sni_ext(SNI_HOST), *default_extensions()])
    second, reply = offer_session(
        first, config, [sni_ext(b"www." + SNI_HOST), *default_extensions()]
    )
    assert reply.error is None, reply.error
    assert not is_resumption(second, reply)
    assert reply.handshake_types[-1] == HandshakeType.SERVER_HELLO_DONE
    assert second.server_hello is not None and first.server_hello is not None
    assert second.server_hello.legacy_session_id_echo != first.server_hello.legacy_session_id_echo
    assert RENEGOTIATION_INFO in server_hello_extensions(second)
    assert second.finish().error is None
    second.check_server_finished()
    second.echo()
    closes_cleanly(second)


def test_resumption_with_the_same_server_name_is_resumed() -> None:
    """test-invalid-server-name-extension-resumption.py, the counterpart of "session resume with
    different SNI": the same name again resumes (RFC 6066 §3 forbids resumption only for a
    different name; RFC 5246 §7.4.1.2)."""
    config = caching_config()
    first = full_handshake(config, [sni_ext(SNI_HOST), *default_extensions()])
    second, reply = offer_session(first, config, [sni_ext(SNI_HOST), RENEGO, EMS])
    assert reply.error is None, reply.error
    assert is_resumption(second, reply)
    finish_resumption(second)


# == test-version-numbers.py / test-legacy-version.py ============================================


def hello_in_record(probe: Probe, message: bytes, record_version: int) -> Reply:
    """The ClientHello in one plaintext record whose legacy_record_version is given."""
    probe.client_random = message[6:38]
    probe.transcript.append(message)
    header = bytes((HANDSHAKE,)) + struct.pack(">HH", record_version, len(message))
    return probe.send(header + message)


VERSIONED_EXTENSIONS = [groups_ext(SECP256R1.id, FFDHE2048.id), POINT_FORMATS, SIGALGS, RENEGO]


@pytest.mark.parametrize(
    ("record_version", "hello_version"),
    [(0x0300, 0xFEFE), (0x0301, 0x0401), (0x0301, 0x0603), (0x0300, 0x0303), (0x03FE, 0x0303),
     (0x03FE, 0xFEFE)],
    ids=["very high version (254, 254)", "high version (4, 1)", "high version (6, 3)",
         "low record version (3, 0), TLS1.2", "high record version (3, 254), TLS1.2",
         "high record version (3, 254), very high protocol version (254, 254)"],
)  # fmt: skip
def test_unusual_version_numbers_negotiate_tls12(record_version: int, hello_version: int) -> None:
    """test-version-numbers.py (with -d): a ClientHello without supported_versions whose
    legacy_version is above TLS 1.2, or whose record carries an odd version, gets a TLS 1.2
    handshake with renegotiation_info, and the conversation completes (RFC 8446 §4.2.1: without
    supported_versions "servers MUST negotiate TLS 1.2 or prior ..., even if
    ClientHello.legacy_version is 0x0304 or later"; RFC 5246 Appendix E.1; RFC 8446 §5.1: the
    record version of a ClientHello "MUST be ignored")."""
    probe = Probe()
    message = client_hello((ECDSA_GCM, RSA_GCM, DHE_GCM), VERSIONED_EXTENSIONS,
                           version=hello_version)  # fmt: skip
    reply = hello_in_record(probe, message, record_version)
    assert reply.error is None, reply.error
    assert probe.server_hello is not None and probe.server_hello.legacy_version == 0x0303
    assert server_hello_extensions(probe)[RENEGOTIATION_INFO] == b"\x00"
    assert probe.finish().error is None
    probe.check_server_finished()
    probe.echo()
    closes_cleanly(probe)


@pytest.mark.parametrize("version", [0x0000, 0x0002, 0x0100, 0x0102, 0x0001], ids=hex)
def test_legacy_version_below_ssl3_is_protocol_version(version: int) -> None:
    """test-version-numbers.py "very low version (0, 0)" and test-legacy-version.py "version
    (0, 2)", "(1, 0)", "(1, 2)", "(0, 1)" ((3, 0), (2, 0), (1, 3) are in
    test_tlsfuzzer_tls12.py): protocol_version (RFC 8446 Appendix D.2: a server that only
    supports versions above legacy_version "MUST abort the handshake with a "protocol_version"
    alert"; RFC 8996 §5)."""
    refused(Probe().hello(client_hello(extensions=[*default_extensions()], version=version)),
            AD.PROTOCOL_VERSION)  # fmt: skip


# == test-chacha20.py, test-aesccm.py ============================================================

CHACHA_SUITES = (RSA_CHACHA, DHE_CHACHA, EMPTY_RENEGOTIATION_INFO_SCSV)
CCM_ECDHE_ECDSA = (0xC0AC, 0xC0AD, 0xC0AE, 0xC0AF)  # RFC 7251
CCM_DHE_RSA = (0xC09E, 0xC09F, 0xC0A2, 0xC0A3)  # RFC 6655
CCM_RSA = (0xC09C, 0xC09D, 0xC0A0, 0xC0A1)  # RFC 6655


def chacha_probe() -> Probe:
    """test-chacha20.py's handshake: ECDHE_RSA and DHE_RSA ChaCha20-Poly1305 offered, no
    supported_groups (signature_algorithms added, see the module docstring)."""
    probe = Probe()
    probe.full_handshake(client_hello(CHACHA_SUITES, [SIGALGS]))
    assert probe.server_hello is not None
    assert probe.server_hello.cipher_suite in (RSA_CHACHA, DHE_CHACHA)
    return probe


@pytest.mark.parametrize(
    "pieces",
    [[REQUEST], [b"", REQUEST], [b"G", REQUEST[1:]]],
    ids=["sanity", "empty app data", "1/n-1 record splitting"],
)
def test_chacha20_conversation(pieces: list[bytes]) -> None:
    """test-chacha20.py "sanity", "empty app data", "1/n-1 record splitting": the request, alone,
    after an empty application_data record, or split 1/n-1, reaches the application whole;
    close_notify gets close_notify (RFC 7905; RFC 5246 §6.2.1: zero-length application data
    fragments MAY be sent; §7.2.1)."""
    probe = chacha_probe()
    received = b""
    for piece in pieces:
        reply = probe.send(probe.seal(APPLICATION_DATA, piece))
        assert reply.error is None, reply.error
        received += reply.app_data()
    assert received == REQUEST
    closes_cleanly(probe)


def oversized_chacha_record(probe: Probe, content: bytes) -> bytes:
    """A ChaCha20-Poly1305 application_data record of any length, sealed as the client's
    second protected record (sequence number 1, after its Finished; RFC 7905 §2)."""
    assert probe.suite is not None and probe.server_hello is not None
    block = key_block(probe.suite, probe.master, probe.client_random, probe.server_hello.random)
    seq = 1
    nonce = (int.from_bytes(block.client_write_iv, "big") ^ seq).to_bytes(12, "big")
    aad = struct.pack(">QBHH", seq, APPLICATION_DATA, 0x0303, len(content))
    sealed = probe.suite.aead(block.client_write_key).encrypt(nonce, content, aad)
    return struct.pack(">BHH", APPLICATION_DATA, 0x0303, len(sealed)) + sealed


@pytest.mark.parametrize(
    "size",
    [2**14 + 1, 2**14 + 1024, 2**14 + 1024 + 1],
    ids=["too big plaintext", "max compress", "above TLSCompressed max"],
)
def test_chacha20_too_big_plaintext_is_record_overflow(size: int) -> None:
    """test-chacha20.py "too big plaintext", "too big plaintext - max compress", "too big
    plaintext - above TLSCompressed max": a record decrypting to more than 2^14 bytes:
    record_overflow (RFC 5246 §6.2.1: "The length MUST NOT exceed 2^14"; §7.2.2: a
    TLSCiphertext decrypting to a TLSCompressed.length over 2^14 + 1024 is record_overflow;
    tlsfuzzer accepts decompression_failure for the smaller ones, we send record_overflow)."""
    probe = chacha_probe()
    refused(probe.send(oversized_chacha_record(probe, b"A" * size)), AD.RECORD_OVERFLOW)


@pytest.mark.parametrize("length", range(16))
def test_chacha20_ciphertext_shorter_than_the_tag_is_bad_record_mac(length: int) -> None:
    """test-chacha20.py "N bytes long ciphertext" (0..15 bytes of 0xa1 as an application_data
    record after the handshake): shorter than the Poly1305 tag, so it cannot authenticate:
    bad_record_mac (RFC 5246 §6.2.3.3: "If the decryption fails, a fatal bad_record_mac alert
    MUST be generated")."""
    probe = chacha_probe()
    refused(probe.send(record(APPLICATION_DATA, b"\xa1" * length)), AD.BAD_RECORD_MAC)


@pytest.mark.parametrize(
    "suites",
    [CHACHA_SUITES, (*CCM_ECDHE_ECDSA, *CCM_DHE_RSA, EMPTY_RENEGOTIATION_INFO_SCSV),
     (*CCM_RSA, EMPTY_RENEGOTIATION_INFO_SCSV)],
    ids=["Chacha20 in TLS1.1", "AES-CCM in TLS1.1 (-d)", "AES-CCM in TLS1.1"],
)  # fmt: skip
def test_tls12_only_suites_in_a_tls11_hello_are_protocol_version(suites: tuple[int, ...]) -> None:
    """test-chacha20.py "Chacha20 in TLS1.1", test-aesccm.py "AES-CCM in TLS1.1": the scripts
    expect handshake_failure from a server that speaks TLS 1.1 but cannot use these suites in
    it. We do not speak TLS 1.1 at all, so the version decides first: protocol_version (RFC
    8446 Appendix D.2: "MUST abort the handshake with a "protocol_version" alert"; RFC 8996
    §5)."""
    refused(Probe().hello(client_hello(suites, [SIGALGS, groups_ext(SECP256R1.id)],
                                       version=0x0302)), AD.PROTOCOL_VERSION)  # fmt: skip


@pytest.mark.parametrize(
    ("suites", "extensions"),
    [((*CCM_ECDHE_ECDSA, *CCM_DHE_RSA), default_extensions()), (CCM_RSA, None)],
    ids=["sanity (-d)", "sanity"],
)
def test_tls12_aes_ccm_only_is_handshake_failure(
    suites: tuple[int, ...], extensions: list[Ext] | None
) -> None:
    """test-aesccm.py "sanity" (and every other conversation of it, all on CCM suites): we
    implement no TLS 1.2 CCM suite (RFC 6655, RFC 7251 are optional), so a ClientHello offering
    only those has no acceptable suite: handshake_failure (RFC 5246 §7.4.1.3). The script's
    conversations are not applicable past the ServerHello; TLS 1.3 AES-128-CCM is audited in
    test_tlsfuzzer_tls13_a.py."""
    message = client_hello((*suites, EMPTY_RENEGOTIATION_INFO_SCSV), extensions)
    refused(Probe().hello(message), AD.HANDSHAKE_FAILURE)


# == test-ecdhe-rsa-key-exchange.py, test-dhe-rsa-key-exchange.py ================================


def test_ecdhe_rsa_sanity_answers_ec_point_formats() -> None:
    """test-ecdhe-rsa-key-exchange.py "sanity": ECDHE_RSA with supported_groups {secp256r1,
    secp384r1} and ec_point_formats {uncompressed}: the ServerHello carries exactly
    renegotiation_info and ec_point_formats (RFC 8422 §5.2: a server selecting an ECC suite in
    answer to a hello with Supported Point Formats "appends this extension"; RFC 5746 §3.6),
    the curve is one of the two, and the conversation completes."""
    probe = Probe()
    extensions = [RENEGO, groups_ext(SECP256R1.id, SECP384R1.id), POINT_FORMATS, SIGALGS]
    probe.full_handshake(client_hello((RSA_GCM,), extensions))
    assert set(server_hello_extensions(probe)) == {RENEGOTIATION_INFO, EC_POINT_FORMATS}
    assert server_hello_extensions(probe)[EC_POINT_FORMATS][1:].count(0) == 1  # uncompressed
    assert probe.ske is not None
    assert probe.ske.ecdhe().named_curve in (SECP256R1.id, SECP384R1.id)
    probe.echo()
    closes_cleanly(probe)


@pytest.mark.parametrize("suite", [RSA_GCM, DHE_GCM], ids=["ECDHE w/o extension", "DHE_RSA sanity"])
def test_key_exchange_with_only_renegotiation_info(suite: int) -> None:
    """test-ecdhe-rsa-key-exchange.py "ECDHE w/o extension" and test-dhe-rsa-key-exchange.py
    "sanity": only renegotiation_info (and signature_algorithms, see the module docstring):
    a ServerKeyExchange, and a ServerHello whose only extension is renegotiation_info (RFC
    5246 §7.4.1.4: no extension the client did not offer, so no ec_point_formats; RFC 8422 §4:
    without supported_groups the server may pick any curve; RFC 7919 §4 for DHE); the
    conversation completes."""
    probe = Probe()
    probe.full_handshake(client_hello((suite,), [RENEGO, SIGALGS]))
    assert server_hello_extensions(probe) == {RENEGOTIATION_INFO: b"\x00"}
    assert probe.ske is not None
    probe.echo()
    closes_cleanly(probe)


# == test-truncating-of-finished.py, test-ccs.py, test-interleaved-CKE-with-CCS.py ===============


@pytest.mark.parametrize(
    "change",
    [lambda m: handshake(HandshakeType.FINISHED, m[4:] + b"\xfa"),
     lambda m: handshake(HandshakeType.FINISHED, m[4:-1])],
    ids=["padded Finished", "truncated Finished"],
)  # fmt: skip
def test_padded_or_truncated_finished_is_decode_error(change: Callable[[bytes], bytes]) -> None:
    """test-truncating-of-finished.py "padded Finished" (one 0xfa byte more, length adjusted)
    and "truncated Finished" (one byte less): the script accepts any fatal alert; verify_data is
    exactly 12 bytes (RFC 5246 §7.4.9), so the message cannot be decoded: decode_error (§7.2.2)."""
    probe = Probe()
    assert probe.hello(client_hello((RSA_GCM,), [RENEGO, *default_extensions()[:3]])).error is None
    cke = probe.client_key_exchange()
    data = probe.handshake_record(cke) + probe.ccs()
    message = change(probe.finished_message())
    refused(probe.send(data + probe.handshake_record(message)), AD.DECODE_ERROR)


def test_two_byte_change_cipher_spec_is_unexpected_message() -> None:
    """test-ccs.py "two bytes long CCS" (with -d): a ChangeCipherSpec record of 01 01 after the
    ClientKeyExchange: unexpected_message (RFC 5246 §7.1: the message "consists of a single
    byte of value 1"; RFC 5246 names no alert, tlsfuzzer expects unexpected_message, the
    answer RFC 8446 §5 requires for any other change_cipher_spec value in TLS 1.3)."""
    probe = Probe()
    assert probe.hello(client_hello((ECDSA_GCM, RSA_GCM, DHE_GCM),
                                    VERSIONED_EXTENSIONS)).error is None  # fmt: skip
    cke = probe.client_key_exchange()
    reply = probe.send(probe.handshake_record(cke) + record(CCS, b"\x01\x01"))
    refused(reply, AD.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize("interleaved", ["single", "multiple"])
def test_change_cipher_spec_inside_a_fragmented_client_key_exchange_is_unexpected_message(
    interleaved: str,
) -> None:
    """test-interleaved-CKE-with-CCS.py "Single interleaved ClientKeyExchange fragment" and
    "Multiple interleaved ClientKeyExchange fragment": the P-256 ClientKeyExchange in 2-byte
    handshake records with a ChangeCipherSpec after the first (or after each but the last):
    unexpected_message (RFC 5246 §7.1: ChangeCipherSpec comes after the client's key exchange
    message, not within it; RFC 8446 §5.1: handshake messages MUST NOT be interleaved with
    other record types)."""
    probe = Probe()
    extensions = [groups_ext(SECP256R1.id), POINT_FORMATS, SIGALGS, RENEGO]
    assert probe.hello(client_hello((ECDSA_GCM, RSA_GCM), extensions)).error is None
    cke = probe.client_key_exchange()
    fragments = [record(HANDSHAKE, cke[i : i + 2]) for i in range(0, len(cke), 2)]
    if interleaved == "single":
        data = fragments[0] + record(CCS, b"\x01") + b"".join(fragments[1:])
    else:
        data = b"".join(f + record(CCS, b"\x01") for f in fragments[:-1]) + fragments[-1]
    refused(probe.send(data), AD.UNEXPECTED_MESSAGE)


# == test-tls13-rsapss-signatures.py =============================================================

PSS_PSS = (0x0809, 0x080A, 0x080B)  # rsa_pss_pss_sha256/384/512
PSS_RSAE = (0x0804, 0x0805, 0x0806)  # rsa_pss_rsae_sha256/384/512


@functools.cache
def rsassa_pss_certificate() -> CertifiedKey:
    """An id-RSASSA-PSS key and certificate (RFC 4055), made by the openssl tool (tlsmachine
    loads such keys but cannot make them)."""
    openssl = shutil.which("openssl")
    assert openssl is not None, "the openssl tool makes the id-RSASSA-PSS certificate"
    with tempfile.TemporaryDirectory() as tmp:
        key, cert = Path(tmp) / "key.pem", Path(tmp) / "cert.pem"
        subprocess.run(
            [openssl, "genpkey", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048",
             "-out", str(key)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        subprocess.run(
            [openssl, "req", "-x509", "-new", "-key", str(key), "-out", str(cert), "-days", "30",
             "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        return CertifiedKey.load(cert, key)


def signed_handshake(certificates: tuple[CertifiedKey, ...], schemes: tuple[int, ...]) -> int:
    """A TLS 1.3 handshake offering ``schemes``; checks the server's CertificateVerify
    signature against its certificate and returns the scheme it used."""
    probe = tls13_probe.Probe(certificates=certificates)
    probe.handshake(tls13_probe.client_hello(extensions=tls13_extensions(schemes=schemes)))
    kinds = [m[0] for m in probe.messages]
    verify_message = probe.messages[kinds.index(HandshakeType.CERTIFICATE_VERIFY)]
    scheme = int.from_bytes(verify_message[4:6], "big")
    signature = verify_message[8:]
    assert probe.suite is not None
    before = probe.transcript[: probe.transcript.index(verify_message)]
    digest = hashlib.new(probe.suite.hash_name, before).digest()
    leaf = next(c for c in certificates if c.leaf.public_bytes(Encoding.DER) in before)
    verify(scheme, leaf.leaf.public_key(), signature,
           certificate_verify_input(digest, server=True), rsassa_pss=scheme in PSS_PSS)  # fmt: skip
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))
    return scheme


def test_rsassa_pss_certificate_sanity() -> None:
    """test-tls13-rsapss-signatures.py "sanity": rsa_pss_pss_sha256/384/512 offered, an
    id-RSASSA-PSS certificate: a CertificateVerify with one of them, valid (RFC 8446 §4.2.3:
    rsa_pss_pss_* for keys with the RSASSA-PSS OID), and the conversation completes."""
    assert signed_handshake((rsassa_pss_certificate(),), PSS_PSS) in PSS_PSS


@pytest.mark.parametrize("scheme", PSS_PSS, ids=["sha256", "sha384", "sha512"])
def test_rsassa_pss_certificate_signs_with_the_one_scheme_offered(scheme: int) -> None:
    """test-tls13-rsapss-signatures.py "tls13 signature rsa_pss_pss_shaN": that scheme alone is
    used (RFC 8446 §4.4.3: the algorithm MUST be one offered in signature_algorithms)."""
    assert signed_handshake((rsassa_pss_certificate(),), (scheme,)) == scheme


@pytest.mark.parametrize("scheme", PSS_RSAE, ids=["sha256", "sha384", "sha512"])
def test_rsassa_pss_certificate_with_only_an_rsae_scheme_is_handshake_failure(scheme: int) -> None:
    """test-tls13-rsapss-signatures.py "tls13 signature rsa_pss_rsae_shaN" (without -b: only the
    RSASSA-PSS certificate): handshake_failure (RFC 8446 §4.2.3: rsa_pss_rsae_* needs an
    rsaEncryption key; §4.4.2.2: no certificate fits the client's signature_algorithms, so
    "the server MUST abort the handshake with a "handshake_failure" alert")."""
    probe = tls13_probe.Probe(certificates=(rsassa_pss_certificate(),))
    hello = tls13_probe.client_hello(extensions=tls13_extensions(schemes=(scheme,)))
    probe.expect_alert(tls13_probe.record(HANDSHAKE, hello), AlertDescription.HANDSHAKE_FAILURE)


@pytest.mark.parametrize("scheme", [*PSS_RSAE, *PSS_PSS], ids=lambda s: f"{s:#06x}")
def test_both_rsa_certificates_sign_with_the_one_scheme_offered(scheme: int) -> None:
    """test-tls13-rsapss-signatures.py with -b (an rsaEncryption and an id-RSASSA-PSS
    certificate): each scheme offered alone is used, from the certificate whose key fits it
    (RFC 8446 §4.2.3, §4.4.2.2)."""
    certificates = (tls13_probe.rsa_certificate(), rsassa_pss_certificate())
    assert signed_handshake(certificates, (scheme,)) == scheme


# == test-tls13-client-certificate-compression.py ================================================

EXT_COMPRESS_CERTIFICATE = 27
COMPRESSED_CERTIFICATE = 25
ZLIB = 1


def client_auth_probe(compress: bool) -> tls13_probe.Probe:
    """A server asking for a client certificate, after a ClientHello that offers (or not)
    compress_certificate with zlib."""
    trusted = client_cert().leaf.public_bytes(Encoding.PEM)
    probe = tls13_probe.Probe(client_auth="required", client_cadata=trusted)
    extensions = tls13_extensions(schemes=(*tls13_probe.RSA_PSS_SCHEMES, 0x0403))
    if compress:
        extensions.append((EXT_COMPRESS_CERTIFICATE, vector(1, u16s([ZLIB]))))
    probe.send_hello(tls13_probe.client_hello(extensions=extensions))
    assert probe.server_finished
    return probe


def client_certificate_body() -> bytes:
    """The body of the client's Certificate: empty context, one entry (RFC 8446 §4.4.2)."""
    der = client_cert().leaf.public_bytes(Encoding.DER)
    return b"\x00" + vector(3, vector(3, der) + b"\x00\x00")


def test_client_certificate_compression_offer_gets_no_compression() -> None:
    """test-tls13-client-certificate-compression.py "sanity" and "CertificateRequest has
    correct extensions" for a server implementing no RFC 8879 algorithm: the server's
    Certificate is a plain Certificate, its CertificateRequest carries signature_algorithms
    but no compress_certificate (RFC 8879 §3: that extension "indicates support for
    compressed client certificates"), and a plain client Certificate with its
    CertificateVerify is accepted: the conversation completes."""
    probe = client_auth_probe(compress=True)
    kinds = [m[0] for m in probe.messages]
    assert COMPRESSED_CERTIFICATE not in kinds and HandshakeType.CERTIFICATE in kinds
    request = probe.messages[kinds.index(HandshakeType.CERTIFICATE_REQUEST)]
    extensions = extension_types(request[4 + 1 + request[4] + 2 :])
    assert tls13_probe.EXT_SIGNATURE_ALGORITHMS in extensions
    assert EXT_COMPRESS_CERTIFICATE not in extensions
    certificate = tls13_probe.handshake(HandshakeType.CERTIFICATE, client_certificate_body())
    probe.transcript += certificate
    assert probe.suite is not None
    digest = hashlib.new(probe.suite.hash_name, probe.transcript).digest()
    signature = sign(0x0403, client_cert().private_key,
                     certificate_verify_input(digest, server=False))  # fmt: skip
    certificate_verify = encode_certificate_verify(0x0403, signature)
    probe.transcript += certificate_verify
    probe.send_finished(certificate + certificate_verify + probe.finished())
    assert probe.server.state is ConnectionState.APP_DATA
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


@pytest.mark.parametrize("compress", [True, False], ids=["offered", "not offered"])
def test_unsolicited_compressed_client_certificate_is_unexpected_message(compress: bool) -> None:
    """test-tls13-client-certificate-compression.py "non advertized algorithm - zlib" (the
    script expects illegal_parameter) and "CertificateRequest has extension even if client
    doesn't" (expects the compressed certificate accepted): our CertificateRequest lists no
    algorithm, so a CompressedCertificate is a message the handshake never allowed: RFC 8446
    §4: "A peer which receives a handshake message in an unexpected order MUST abort the
    handshake with an "unexpected_message" alert" (RFC 8879 §4 names no alert for an
    algorithm outside the peer's list; the MUST decides)."""
    probe = client_auth_probe(compress)
    body = client_certificate_body()
    compressed = struct.pack(">H", ZLIB) + len(body).to_bytes(3, "big")
    compressed += vector(3, zlib.compress(body))
    message = tls13_probe.handshake(COMPRESSED_CERTIFICATE, compressed)
    probe.use_handshake_keys()
    probe.expect_alert(probe.sealed(HANDSHAKE, message), AlertDescription.UNEXPECTED_MESSAGE)


# == test-record-size-limit.py (TLS 1.3 and the TLS 1.2 edges) ===================================

MAX_FRAGMENT_LENGTH = 1


class SizedProbe(tls13_probe.Probe):
    """A Probe that also notes the length of every record the server sends, and puts together
    handshake messages split across records (RFC 8446 §5.1)."""

    def __init__(self, **config: object) -> None:
        super().__init__(**config)
        self.record_lengths: list[tuple[int, int]] = []  # (outer type, fragment length)
        self.partial = b""

    def _handshake_messages(self, content: bytes) -> None:
        self.partial += content
        whole = b""
        while len(self.partial) >= 4:
            end = 4 + int.from_bytes(self.partial[1:4], "big")
            if len(self.partial) < end:
                break
            whole, self.partial = whole + self.partial[:end], self.partial[end:]
        if whole:
            super()._handshake_messages(whole)

    def read(self) -> None:
        data = self.server.data_to_send()
        self.record_lengths += [(t, len(f)) for t, f in records(data)]
        pending = [data]

        def replay() -> bytes:
            return pending.pop() if pending else b""

        self.server.data_to_send = replay  # type: ignore[method-assign]
        try:
            super().read()
        finally:
            del self.server.data_to_send


def rsl_extensions(limit: bytes | None, *more: tuple[int, bytes]) -> tls13_probe.Extensions:
    extensions = [*tls13_extensions(), *more]
    if limit is not None:
        extensions.append((EXT_RECORD_SIZE_LIMIT, limit))
    return extensions


def encrypted_extensions(probe: tls13_probe.Probe) -> dict[int, bytes]:
    (message,) = [m for m in probe.messages if m[0] == HandshakeType.ENCRYPTED_EXTENSIONS]
    return extension_types(message[6:])


def protected_lengths(probe: SizedProbe) -> list[int]:
    """TLSInnerPlaintext lengths of the server's protected records (16-byte AEAD tags)."""
    return [n - 16 for t, n in probe.record_lengths if t == APPLICATION_DATA]


@pytest.mark.parametrize("limit", [2**14 + 1, 64, 2**16 - 1],
                         ids=["check server sent size in TLS 1.3",
                              "check if server accepts minimal size in TLS 1.3",
                              "check if server accepts maximum size in TLS 1.3"])  # fmt: skip
def test_tls13_record_size_limit_in_encrypted_extensions_and_respected(limit: int) -> None:
    """test-record-size-limit.py "check server sent size in TLS 1.3", "check if server accepts
    minimal size in TLS 1.3", "... maximum size ...": our limit (2^14 + 1, counting the inner
    content type) is sent in EncryptedExtensions, never in the ServerHello (RFC 8449 §4: "In
    TLS 1.3, the server sends the "record_size_limit" extension in the EncryptedExtensions
    message"), and every protected record we send, handshake and application data alike, has
    a TLSInnerPlaintext of at most the client's limit ("MUST NOT generate a protected record
    with plaintext that is larger than the RecordSizeLimit value it receives")."""
    probe = SizedProbe()
    probe.handshake(tls13_probe.client_hello(extensions=rsl_extensions(struct.pack(">H", limit))))
    assert probe.server_hello is not None
    assert EXT_RECORD_SIZE_LIMIT not in hello_extension_types(probe.server_hello)
    assert encrypted_extensions(probe)[EXT_RECORD_SIZE_LIMIT] == struct.pack(">H", 2**14 + 1)
    probe.server.send(b"A" * 3000)
    probe.read()
    assert probe.application_data == b"A" * 3000
    assert max(protected_lengths(probe)) <= min(limit, 2**14 + 1)
    conversation(probe, probe.sealed(APPLICATION_DATA, GET), request=b"A" * 3000 + GET)
    assert max(protected_lengths(probe)) <= min(limit, 2**14 + 1)


def test_tls13_record_size_limit_wins_over_max_fragment_length() -> None:
    """test-record-size-limit.py "check server sent size in TLS 1.3 with max_fragment_length":
    max_fragment_length (2^9) next to record_size_limit: EncryptedExtensions answers
    record_size_limit and not max_fragment_length (RFC 8449 §5: "A server that supports the
    "record_size_limit" extension MUST ignore a "max_fragment_length" that appears in a
    ClientHello if both extensions appear")."""
    probe = tls13_probe.Probe()
    extensions = rsl_extensions(struct.pack(">H", 2**14 + 1), (MAX_FRAGMENT_LENGTH, b"\x01"))
    probe.handshake(tls13_probe.client_hello(extensions=extensions))
    assert EXT_RECORD_SIZE_LIMIT in encrypted_extensions(probe)
    assert MAX_FRAGMENT_LENGTH not in encrypted_extensions(probe)
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


@pytest.mark.parametrize(
    ("data", "alert"),
    [(struct.pack(">H", 63), AlertDescription.ILLEGAL_PARAMETER),
     (b"", AlertDescription.DECODE_ERROR), (b"\x00\x40\x00", AlertDescription.DECODE_ERROR)],
    ids=["Invalid value", "empty extension", "padded extension"],
)  # fmt: skip
@pytest.mark.parametrize("version", ["TLS 1.3", "TLS 1.2"])
def test_malformed_record_size_limit(data: bytes, alert: AlertDescription, version: str) -> None:
    """test-record-size-limit.py "Invalid value in extension in TLS 1.x" (63), "empty extension
    in TLS 1.x", "padded extension in TLS 1.x": illegal_parameter for a value below 64 (RFC
    8449 §4: "MUST treat receipt of a smaller value as a fatal error and generate an
    "illegal_parameter" alert"), decode_error for extension_data that is not one uint16 (RFC
    8446 §6.2 / RFC 5246 §7.2.2: a message that cannot be parsed). (63 in TLS 1.2 is also in
    test_tlsfuzzer_tls12.py.)"""
    if version == "TLS 1.2":
        extensions = [*default_extensions(), (RECORD_SIZE_LIMIT, data)]
        refused(Probe().hello(client_hello(extensions=extensions)), alert)
        return
    probe = tls13_probe.Probe()
    hello = tls13_probe.client_hello(extensions=rsl_extensions(data))
    probe.expect_alert(tls13_probe.record(HANDSHAKE, hello), alert)


@pytest.mark.parametrize("padding", [0, 100], ids=["too large record payload", "with padding"])
def test_tls13_record_over_our_limit_is_record_overflow(padding: int) -> None:
    """test-record-size-limit.py "too large record payload in TLS 1.3" and "... with padding"
    (with --expect-size 1023: a server configured to receive at most 1024 bytes): a record whose
    TLSInnerPlaintext (content, content type, padding) is one byte over the limit we announced:
    record_overflow; exactly at the limit it is read (RFC 8449 §4: "the receiver MUST treat
    ... a record with plaintext larger than its limit ... as a fatal error ... record_overflow";
    the limit includes the content type and padding)."""
    probe = tls13_probe.Probe(record_size_limit=1024)
    probe.handshake(tls13_probe.client_hello(extensions=rsl_extensions(struct.pack(">H", 2**14))))
    assert encrypted_extensions(probe)[EXT_RECORD_SIZE_LIMIT] == struct.pack(">H", 1024)
    fits = b"A" * (1024 - 1 - padding)
    events = probe.send(probe.sealed(APPLICATION_DATA, fits, padding))
    assert b"".join(e.data for e in events if hasattr(e, "data")) == fits
    probe.expect_alert(probe.sealed(APPLICATION_DATA, fits + b"A", padding),
                       AlertDescription.RECORD_OVERFLOW)  # fmt: skip


def test_tls12_record_over_our_limit_is_record_overflow() -> None:
    """test-record-size-limit.py "too large record in TLS 1.2" (with --expect-size 1000): a
    record of 1001 bytes of plaintext to a server announcing 1000: record_overflow, while 1000
    bytes are read (RFC 8449 §4; in TLS 1.2 the limit covers the whole plaintext)."""
    probe = Probe(server_config(record_size_limit=1000))
    extensions = [*default_extensions(), (RECORD_SIZE_LIMIT, struct.pack(">H", 2**14 + 1))]
    probe.full_handshake(client_hello(extensions=extensions))
    assert probe.server_extension(RECORD_SIZE_LIMIT) == struct.pack(">H", 1000)
    assert probe.send(probe.seal(APPLICATION_DATA, b"A" * 1000)).error is None
    refused(probe.send(probe.seal(APPLICATION_DATA, b"A" * 1001)), AD.RECORD_OVERFLOW)


def hrr_hello(limit: int | None, *, share: bool) -> bytes:
    extensions = tls13_extensions()
    if not share:
        extensions[0] = (EXT_KEY_SHARE, vector(2, b""))
    if limit is not None:
        extensions.append((EXT_RECORD_SIZE_LIMIT, struct.pack(">H", limit)))
    return tls13_probe.client_hello(extensions=extensions)


def test_tls13_record_size_limit_after_hello_retry_request() -> None:
    """test-record-size-limit.py "HRR sanity": an empty key_share, so a HelloRetryRequest, which
    does not carry record_size_limit (RFC 8449 §4: the server sends it in EncryptedExtensions;
    RFC 8446 §4.1.4: HRR has only extensions that matter for the retry); the second ClientHello
    repeats it and EncryptedExtensions answers it."""
    probe = tls13_probe.Probe()
    probe.send_hello(hrr_hello(2**14 + 1, share=False))
    assert probe.server_hello is not None
    assert probe.server_hello[6:38] == tls13_probe.HRR_RANDOM
    assert EXT_RECORD_SIZE_LIMIT not in hello_extension_types(probe.server_hello)
    assert EXT_SUPPORTED_GROUPS not in hello_extension_types(probe.server_hello)
    probe.handshake(hrr_hello(2**14 + 1, share=True))
    assert EXT_RECORD_SIZE_LIMIT in encrypted_extensions(probe)
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


@pytest.mark.parametrize(
    ("first", "second"),
    [pytest.param(2**14 + 1, 2**14, id="modified extension in 2nd CH"),
     pytest.param(2**14 + 1, None, id="removed extension in 2nd CH"),
     pytest.param(None, 2**14 + 1, id="added extension in 2nd CH")],
)  # fmt: skip
def test_tls13_record_size_limit_changed_after_hello_retry_request_is_illegal_parameter(
    first: int | None, second: int | None
) -> None:
    """test-record-size-limit.py "modified / removed / added extension in 2nd CH in HRR
    handshake": illegal_parameter (RFC 8446 §4.1.2: the second ClientHello MUST be the first
    with only the listed changes (key_share, early_data, cookie, pre_shared_key, padding); the
    RFC does not oblige the server to check, tlsfuzzer expects it to notice, with
    illegal_parameter). The server compares the extensions it understands, bodies included
    (server/hello.py _kept_extensions)."""
    probe = tls13_probe.Probe()
    probe.send_hello(hrr_hello(first, share=False))
    assert probe.server_hello is not None
    assert probe.server_hello[6:38] == tls13_probe.HRR_RANDOM
    second_hello = hrr_hello(second, share=True)
    probe.expect_alert(lambda: probe.send_hello(second_hello), AlertDescription.ILLEGAL_PARAMETER)


def tls12_server_payload_lengths(probe: Probe, size: int) -> list[int]:
    """The plaintext lengths of the records carrying ``size`` bytes from the server (AES-GCM:
    an 8-byte explicit nonce and a 16-byte tag per record)."""
    probe.server.send(b"A" * size)
    return [len(f) - 8 - 16 for _, f in records(probe.server.data_to_send())]


@pytest.mark.parametrize("second", [64, None], ids=["change size", "drop extension"])
def test_tls12_resumption_uses_the_new_hellos_record_size_limit(second: int | None) -> None:
    """test-record-size-limit.py "change size in TLS 1.2 resumption" (2^14, then 64) and "drop
    extension in TLS 1.2 resumption" (64, then none): the resumed session answers the new
    ClientHello's record_size_limit (or none) and our records follow it (RFC 8449 §4: the
    limit is negotiated per handshake, in the ServerHello for TLS 1.2; RFC 5246 §7.4.1.4:
    extensions are answered for each hello)."""
    config = caching_config()
    first_limit = 2**14 if second is not None else 64
    first = full_handshake(
        config, [*default_extensions(), (RECORD_SIZE_LIMIT, struct.pack(">H", first_limit))]
    )
    extensions = [RENEGO, EMS]
    if second is not None:
        extensions.append((RECORD_SIZE_LIMIT, struct.pack(">H", second)))
    probe, reply = offer_session(first, config, extensions)
    assert reply.error is None, reply.error
    assert is_resumption(probe, reply)
    answered = server_hello_extensions(probe).get(RECORD_SIZE_LIMIT)
    assert (answered is not None) == (second is not None)
    probe.check_server_finished()
    probe.transcript.append(probe.server_finished_message)
    assert probe.send(probe.ccs() + probe.finished_record()).error is None
    lengths = tls12_server_payload_lengths(probe, 1000)
    assert max(lengths) <= (second or 2**14)
    assert sum(lengths) == 1000
