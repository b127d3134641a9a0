"""TLS 1.2 server conformance: the TLS-Anvil server tests for TLS 1.2, replayed in memory.

TLS-Anvil (tls-attacker/TLS-Anvil, TLS-Testsuite) drives a server with TLS-Attacker workflow
traces and checks each answer against one RFC sentence. It cannot run here (no Maven), so each
test below replays one TLS-Anvil test method (named in its docstring as ``Class.method``, with
the RFC sentence it checks) against our ServerConnection with the scripted client of
tests/tls12_probe.py. The classes replayed are those of ``tests/server/tls12/**``,
``tests/server/both/**``, ``tests/both/tls12/**`` and the TLS 1.2 server side of
``tests/both/lengthfield/**``.

TLS-Anvil combines every test with many parameter values (cipher suite, group, record length,
...); the replays keep the values that matter for us: every TLS 1.2 suite we implement
(ECDHE/DHE with AES-GCM and ChaCha20-Poly1305), every group, and the malformation's variants.
TLS-Anvil usually accepts any fatal alert; the replays assert the alert where the RFC names one,
otherwise a fatal alert and a failed connection. Where we answer against the RFC the test is
marked ``xfail(strict=True)`` with the rule (none at present).
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable

import pytest

from tls12_probe import (
    AD,
    ALL_SUITES,
    ALPN,
    ECDSA_GCM,
    EMS,
    ENCRYPT_THEN_MAC,
    EXTENDED_MASTER_SECRET,
    FALLBACK_SCSV,
    GROUPS,
    POINT_FORMATS,
    RECORD_SIZE_LIMIT,
    RENEGO,
    SERVER_NAME,
    SESSION_TICKET,
    SIGALGS,
    SIGNATURE_ALGORITHMS,
    Ext,
    Probe,
    Reply,
    client_hello,
    client_hello_no_ext,
    default_extensions,
    groups_ext,
    handshake,
    refused,
    rsa_cert,
    server_config,
    sigalgs_ext,
)
from tls_fixtures import server_cert
from tlsmachine import ConnectionState, InMemorySessionCache, ServerConfig
from tlsmachine.crypto.groups import (
    FFDHE2048,
    SECP256R1,
    SECP384R1,
    SECP521R1,
    X448,
    X25519,
)
from tlsmachine.crypto.signatures import verify
from tlsmachine.crypto.suites import (
    TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
)
from tlsmachine.enums import HandshakeType
from tlsmachine.errors import ProtocolError
from tlsmachine.handshake12 import server_key_exchange_input
from tlsmachine.prf import prf
from tlsmachine.record import protection12
from wire import ALERT, APPLICATION_DATA, CCS, HANDSHAKE, record

RSA_GCM = TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.id
DHE_GCM = TLS_DHE_RSA_WITH_AES_128_GCM_SHA256.id
ECDSA_AES256 = TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384.id
ECDSA_CHACHA = TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256.id
ECDHE_SUITES = sorted(s for s, v in ALL_SUITES.items() if v.key_exchange == "ECDHE")
DHE_SUITES = sorted(s for s, v in ALL_SUITES.items() if v.key_exchange == "DHE")
EC_GROUPS = {g.id: g for g in (X25519, SECP256R1, X448, SECP384R1, SECP521R1)}
AEAD_SUITES = [ECDSA_GCM, ECDSA_AES256, ECDSA_CHACHA]

STATUS_REQUEST = 5
PADDING = 21
HEARTBEAT_EXT = 15
HEARTBEAT = 24  # content type (RFC 6520 §3)
CLOSE_NOTIFY = (ALERT, b"\x01\x00")


def suite_name(suite: int) -> str:
    return ALL_SUITES[suite].name


def hello_for(suite: int, extensions: list[Ext] | None = None) -> bytes:
    """A ClientHello offering ``suite`` only, with the default extensions (ffdhe2048 as the
    group for a DHE suite)."""
    if extensions is None:
        extensions = default_extensions()
        if ALL_SUITES[suite].key_exchange == "DHE":
            extensions[0] = groups_ext(FFDHE2048.id)
    return client_hello((suite,), extensions)


def hello_answered(probe: Probe, message: bytes | None = None) -> Reply:
    """Send a ClientHello; the server answers up to ServerHelloDone."""
    reply = probe.hello(message)
    assert reply.error is None, reply.error
    assert reply.handshake_types[-1] == HandshakeType.SERVER_HELLO_DONE
    return reply


def after_hello(message: bytes | None = None, config: ServerConfig | None = None) -> Probe:
    probe = Probe(config)
    hello_answered(probe, message)
    return probe


def connected(message: bytes | None = None, config: ServerConfig | None = None) -> Probe:
    probe = Probe(config)
    probe.full_handshake(message)
    return probe


def refused_fatally(reply: Reply) -> None:
    """A fatal alert (any: the RFC names none) and a failed connection."""
    assert reply.alert is not None, (reply.records, reply.error)
    assert isinstance(reply.error, ProtocolError)
    assert reply.state is ConnectionState.FAILED


def server_hello_extensions(probe: Probe) -> list[int]:
    """The extension types of the ServerHello, in order, duplicates kept."""
    assert probe.server_hello is not None
    raw = probe.server_hello.raw[4:]
    at = 35 + raw[34] + 3
    if at >= len(raw):
        return []
    end = at + 2 + int.from_bytes(raw[at : at + 2], "big")
    at += 2
    types = []
    while at < end:
        t, n = struct.unpack(">HH", raw[at : at + 4])
        types.append(t)
        at += 4 + n
    return types


def with_length(message: bytes, delta: int) -> bytes:
    """``message`` with its handshake header length changed by ``delta`` (body kept)."""
    length = int.from_bytes(message[1:4], "big") + delta
    return message[:1] + length.to_bytes(3, "big") + message[4:]


def caching_config(**kwargs: object) -> ServerConfig:
    """A server resuming by session ID only (no tickets)."""
    return server_config(session_cache=InMemorySessionCache(), session_tickets=0, **kwargs)


def resumed(probe: Probe) -> bool:
    """The last ServerHello resumed: CCS and Finished came right after it."""
    return probe.server_finished_message != b"" and probe.ske is None


def offer_session(first: Probe, config: ServerConfig, extensions: list[Ext] | None = None) -> Probe:
    """A new connection offering ``first``'s session ID."""
    assert first.server_hello is not None
    session_id = first.server_hello.legacy_session_id_echo
    assert session_id
    probe = Probe(config)
    probe.resume_master = first.master
    hello = client_hello((first.server_hello.cipher_suite,), extensions, session_id=session_id)
    reply = probe.hello(hello)
    assert reply.error is None, reply.error
    return probe


def sni(name: bytes = b"localhost", *names: bytes) -> Ext:
    entries = b"".join(b"\x00" + struct.pack(">H", len(n)) + n for n in (name, *names))
    return SERVER_NAME, struct.pack(">H", len(entries)) + entries


def alpn(*protocols: bytes) -> Ext:
    body = b"".join(bytes((len(p),)) + p for p in protocols)
    return ALPN, struct.pack(">H", len(body)) + body


# == server/tls12/rfc5246/AlertProtocol ========================================================


def test_close_notify_after_server_hello_done_is_answered() -> None:
    """AlertProtocol.closeNotify: after ServerHelloDone the client sends a warning
    close_notify; TLS-Anvil wants close_notify back (or the connection closed).

    RFC 5246 §7.2.1: "Unless some other fatal alert has been transmitted, each party is required
    to send a close_notify alert before closing the write side of the connection.  The other
    party MUST respond with a close_notify alert of its own and close down the connection
    immediately"."""
    probe = after_hello()
    reply = probe.send(record(ALERT, b"\x01\x00"))
    assert CLOSE_NOTIFY in reply.records, reply.records
    assert reply.state is not ConnectionState.HANDSHAKING
    assert reply.alert is None


FATAL_ALERTS = [AD.HANDSHAKE_FAILURE, AD.DECODE_ERROR, AD.INTERNAL_ERROR, AD.UNEXPECTED_MESSAGE]


@pytest.mark.parametrize("alert", FATAL_ALERTS, ids=lambda a: a.name)
def test_fatal_alert_before_ccs_ends_the_handshake(alert: AD) -> None:
    """AlertProtocol.abortAfterFatalAlert_sendBeforeCCS: ClientKeyExchange, a fatal alert, then
    ChangeCipherSpec and Finished: the server closes and finishes nothing.

    RFC 5246 §7.2: "Upon transmission or receipt of a fatal alert message, both parties
    immediately close the connection." """
    probe = after_hello()
    cke = probe.handshake_record(probe.client_key_exchange())
    reply = probe.send(cke + record(ALERT, bytes((2, alert))))
    assert reply.state in (ConnectionState.FAILED, ConnectionState.SHUTDOWN)
    assert reply.records == []
    later = probe.send(probe.ccs() + probe.finished_record())
    assert HandshakeType.FINISHED not in later.handshake_types
    assert later.state is not ConnectionState.APP_DATA
    assert probe.server_finished == b""


@pytest.mark.parametrize("alert", FATAL_ALERTS, ids=lambda a: a.name)
def test_fatal_alert_after_server_hello_done_ends_the_handshake(alert: AD) -> None:
    """AlertProtocol.abortAfterFatalAlert_sendAfterServerHelloDone: a fatal alert right after
    the server's first flight: the connection is closed, and a ClientKeyExchange sent anyway
    gets nothing.

    RFC 5246 §7.2: "Upon transmission or receipt of a fatal alert message, both parties
    immediately close the connection." """
    probe = after_hello()
    reply = probe.send(record(ALERT, bytes((2, alert))))
    assert reply.state in (ConnectionState.FAILED, ConnectionState.SHUTDOWN)
    later = probe.send(probe.handshake_record(probe.client_key_exchange()))
    assert later.records == [] or later.alert is not None
    assert later.state is not ConnectionState.APP_DATA


# == server/tls12/rfc5246/ClientHello ===========================================================


def test_unknown_cipher_suite_first_is_ignored() -> None:
    """ClientHello.unknownCipherSuite: 0xFE00 put first in cipher_suites; the handshake goes on
    with a suite we implement.

    RFC 5246 §7.4.1.2: "If the list contains cipher suites the server does not recognize,
    support, or wish to use, the server MUST ignore those cipher suites, and process the
    remaining ones as usual." """
    probe = connected(client_hello((0xFE00, ECDSA_GCM)))
    assert probe.server_hello is not None and probe.server_hello.cipher_suite == ECDSA_GCM


def test_unknown_compression_method_beside_null_is_ignored() -> None:
    """ClientHello.unknownCompressionMethod: compression_methods {0x00, 0x04}: null is chosen.

    RFC 5246 §7.4.1.2: "This vector MUST contain, and all implementations MUST support,
    CompressionMethod.null.  Thus, a client and server will always be able to agree on a
    compression method." """
    probe = connected(client_hello(compression=b"\x00\x04"))
    assert probe.server_hello is not None
    raw = probe.server_hello.raw[4:]
    assert raw[35 + raw[34] + 2] == 0  # compression_method null


def test_unknown_extension_is_ignored_and_not_echoed() -> None:
    """ClientHello.includeUnknownExtension: an extension of the unassigned type 0xBA9F with 32
    bytes; the handshake goes on and the ServerHello does not carry it.

    RFC 5246 §7.4.1.4.1: "The rules specified in [TLSEXT] require servers to ignore extensions
    they do not understand." (and §7.4.1.4: "An extension type MUST NOT appear in the
    ServerHello unless the same extension type appeared in the corresponding ClientHello")."""
    probe = connected(client_hello(extensions=[*default_extensions(), (0xBA9F, bytes(32))]))
    assert 0xBA9F not in server_hello_extensions(probe)
    probe.echo()


def test_many_cipher_suites_offered() -> None:
    """ClientHello.offerManyCipherSuites: 407 pseudo suites from 0x0A00 on, then one of ours
    last (408 entries): the handshake uses ours.

    RFC 5246 §7.4.1.2: ``CipherSuite cipher_suites<2..2^16-2>``; unknown suites are ignored
    ("the server MUST ignore those cipher suites, and process the remaining ones as usual")."""
    pseudo = [0x0A00 + i for i in range(407)]
    assert all(p not in ALL_SUITES for p in pseudo)
    for suite in (ECDSA_GCM, RSA_GCM, DHE_GCM):
        message = hello_for(suite)
        message = client_hello([*pseudo, suite], hello_extensions(message))
        probe = connected(message)
        assert probe.server_hello is not None and probe.server_hello.cipher_suite == suite


def hello_extensions(message: bytes) -> list[Ext]:
    """The extensions of a ClientHello made by :func:`client_hello`."""
    at = 4 + 2 + 32
    at += 1 + message[at]
    at += 2 + int.from_bytes(message[at : at + 2], "big")
    at += 1 + message[at]
    end = at + 2 + int.from_bytes(message[at : at + 2], "big")
    at += 2
    out = []
    while at < end:
        t, n = struct.unpack(">HH", message[at : at + 4])
        out.append((t, message[at + 4 : at + 4 + n]))
        at += 4 + n
    return out


def test_client_hello_without_extensions_is_parsed_and_refused_for_want_of_sha1() -> None:
    """ClientHello.leaveOutExtensions (DHE and RSA key exchange): a ClientHello without the
    extensions block; TLS-Anvil wants a full handshake.

    RFC 5246 §7.4.1.2: "A server MUST accept ClientHello messages both with and without the
    extensions field". We parse it (no decode_error), but without signature_algorithms
    §7.4.1.4.1 says the server "MUST" act as if {sha1,rsa} was sent, and we do not sign with
    SHA-1 (RFC 9155 deprecates it): no suite can be completed, so handshake_failure (§7.4.1.3).
    A deliberate difference from TLS-Anvil."""
    refused(Probe().hello(client_hello_no_ext((DHE_GCM, RSA_GCM))), AD.HANDSHAKE_FAILURE)


# == server/tls12/rfc5246/E1CompatibilityWithTLS10_11andSSL30 ====================================


@pytest.mark.parametrize("version", [0x030F, 0x0304, 0x03FF])
def test_client_version_above_tls12_negotiates_tls12(version: int) -> None:
    """E1CompatibilityWithTLS10_11andSSL30.versionGreaterThanSupportedByServer: client_version
    {03,0F} (also {03,04}, {03,FF}; no supported_versions): ServerHello.server_version {03,03}.

    RFC 5246 Appendix E.1: "If a TLS server receives a ClientHello containing a version number
    greater than the highest version supported by the server, it MUST reply according to the
    highest version supported by the server." (RFC 8446 §4.2.1: without supported_versions the
    server "MUST negotiate TLS 1.2 or prior")"""
    probe = connected(client_hello(version=version))
    assert probe.server_hello is not None and probe.server_hello.legacy_version == 0x0303


@pytest.mark.parametrize("version", [0x0302, 0x0301])
def test_tls11_or_tls10_client_hello_is_protocol_version(version: int) -> None:
    """E1CompatibilityWithTLS10_11andSSL30.versionLowerThanSupportedByServer: a TLS 1.1 (or
    1.0) ClientHello, in a record of that version: protocol_version.

    RFC 8996 §4/§5: "Any party receiving a Hello message with the protocol version set to
    {03,01} [{03,02}] MUST respond with a "protocol_version" alert message and close the
    connection." """
    message = client_hello(version=version)
    data = bytes((HANDSHAKE,)) + version.to_bytes(2, "big") + len(message).to_bytes(2, "big")
    refused(Probe().send(data + message), AD.PROTOCOL_VERSION)


def hello_record(message: bytes, record_version: int) -> bytes:
    return (
        bytes((HANDSHAKE,)) + record_version.to_bytes(2, "big") + len(message).to_bytes(2, "big")
    ) + message


@pytest.mark.parametrize("record_version", [0x0300, 0x0301, 0x0302, 0x0304, 0x0305, 0x03FF])
def test_any_03xx_record_version_for_client_hello_is_accepted(record_version: int) -> None:
    """E1CompatibilityWithTLS10_11andSSL30.acceptAnyRecordVersionNumber ({03,05}) and
    DoNotUseSSLVersion30.sendClientHelloVersion0300WithDifferentVersionInTheRecord ({03,00},
    {03,01}, {03,02}, {03,04}, {03,05}, {03,FF}): a TLS 1.2 ClientHello in a record of that
    version gets a TLS 1.2 ServerHello.

    RFC 5246 Appendix E.1: "TLS servers compliant with this specification MUST accept any value
    {03,XX} as the record layer version number for ClientHello"; RFC 7568 §3 / RFC 8996 §4:
    "TLS servers MUST accept any value {03,XX} (including {03,00}) as the record layer version
    number for ClientHello, but they MUST NOT negotiate" SSLv3 / TLS 1.0."""
    probe = Probe()
    message = client_hello()
    probe.transcript.append(message)
    probe.client_random = message[6:38]
    reply = probe.send(hello_record(message, record_version))
    assert reply.error is None, reply.error
    assert reply.handshake_types[-1] == HandshakeType.SERVER_HELLO_DONE
    assert probe.server_hello is not None and probe.server_hello.legacy_version == 0x0303
    probe.finish()
    probe.check_server_finished()


# == server/tls12/rfc5246/Fragmentation and both/tls12/rfc5246/Fragmentation =====================


def test_zero_length_handshake_record_before_client_hello() -> None:
    """Fragmentation.sendZeroLengthRecord_CH: a zero-length handshake record, then the
    ClientHello; TLS-Anvil wants a fatal alert.

    RFC 5246 §6.2.1: "Implementations MUST NOT send zero-length fragments of Handshake, Alert,
    or ChangeCipherSpec content types." The sentence binds the sender; RFC 8446 §5.1 (which our
    record layer shares) says "Implementations MUST NOT send zero-length fragments of Handshake
    types, even if those fragments contain padding", and nothing requires the receiver to
    accept them. We refuse (unexpected_message or decode_error): asserted as a fatal alert."""
    probe = Probe()
    refused_fatally(probe.send(record(HANDSHAKE, b"") + record(HANDSHAKE, client_hello())))


def test_zero_length_alert_record_after_server_hello_done() -> None:
    """Fragmentation.sendZeroLengthRecord_Alert: after ServerHelloDone, a zero-length alert
    record; TLS-Anvil wants a fatal alert.

    RFC 5246 §6.2.1: "Implementations MUST NOT send zero-length fragments of Handshake, Alert,
    or ChangeCipherSpec content types." An alert record must hold whole 2-byte alerts; an
    empty one is malformed: a fatal alert."""
    probe = after_hello()
    refused_fatally(probe.send(record(ALERT, b"")))


def test_zero_length_ccs_record() -> None:
    """Fragmentation.sendZeroLengthRecord_CCS (both/tls12): ClientKeyExchange, a zero-length
    ChangeCipherSpec record, then Finished: a fatal alert.

    RFC 5246 §6.2.1: "Implementations MUST NOT send zero-length fragments of Handshake, Alert,
    or ChangeCipherSpec content types."; §7.1: the ChangeCipherSpec message "consists of a
    single byte of value 1"."""
    probe = after_hello()
    cke = probe.handshake_record(probe.client_key_exchange())
    reply = probe.send(cke + record(CCS, b""))
    if reply.error is None:  # waiting for the byte: then the Finished cannot be right
        probe.write, probe.read = probe.pending_keys  # type: ignore[misc]
        reply = probe.send(probe.finished_record())
    refused_fatally(reply)


@pytest.mark.parametrize("together", [False, True], ids=["CKE_CCS_F", "CKE_CCSF"])
def test_client_flight_in_separate_records(together: bool) -> None:
    """Fragmentation.sendHandshakeMessagesWithinMultipleRecords_CKE_CCS_F and _CKE_CCSF:
    ClientKeyExchange, ChangeCipherSpec and Finished each in its own record, sent in three
    writes or CCS and Finished in one: the handshake completes.

    RFC 5246 §6.2.1: "multiple client messages of the same ContentType MAY be coalesced into a
    single TLSPlaintext record, or a single message MAY be fragmented across several
    records"."""
    probe = after_hello()
    cke = probe.handshake_record(probe.client_key_exchange())
    if together:
        assert probe.send(cke).error is None
        reply = probe.send(probe.ccs() + probe.finished_record())
    else:
        assert probe.send(cke).error is None
        assert probe.send(probe.ccs()).error is None
        reply = probe.send(probe.finished_record())
    assert reply.error is None and reply.state is ConnectionState.APP_DATA
    probe.check_server_finished()
    probe.echo()


def test_zero_length_application_data_is_accepted() -> None:
    """Fragmentation.sendZeroLengthApplicationRecord: after the handshake, a protected
    application_data record with no content: no alert, the connection stays open.

    RFC 5246 §6.2.1: "Zero-length fragments of Application data MAY be sent as they are
    potentially useful as a traffic analysis countermeasure." """
    probe = connected()
    reply = probe.send(probe.seal(APPLICATION_DATA, b""))
    assert reply.error is None and reply.records == []
    assert reply.state is ConnectionState.APP_DATA
    probe.echo()


@pytest.mark.parametrize("content_type", [APPLICATION_DATA, HANDSHAKE],
                         ids=["application_data", "handshake (Finished)"])  # fmt: skip
def test_record_with_an_empty_protected_fragment_is_refused(content_type: int) -> None:
    """Fragmentation.sendEmptyApplicationRecord and sendEmptyFinishedRecord: a record of
    length 0 where a protected one is due (after the handshake, or the Finished after CCS):
    there is no explicit nonce nor tag to check, so the record cannot be opened.

    RFC 5246 §6.2.3.3: "If the decryption fails, a fatal bad_record_mac alert MUST be
    generated." """
    if content_type == APPLICATION_DATA:
        probe = connected()
        reply = probe.send(record(APPLICATION_DATA, b""))
    else:
        probe = after_hello()
        cke = probe.handshake_record(probe.client_key_exchange())
        reply = probe.send(cke + probe.ccs() + record(HANDSHAKE, b""))
    refused(reply, AD.BAD_RECORD_MAC)


def test_plaintext_over_2_14_is_record_overflow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fragmentation.sendRecordWithPlaintextOver2pow14: after the handshake, a protected record
    whose plaintext is 2^14+1 bytes: record_overflow.

    RFC 5246 §6.2.1: "The length (in bytes) of the following TLSPlaintext.fragment.  The length
    MUST NOT exceed 2^14."; §7.2.2 record_overflow: "a record decrypted to a TLSCompressed
    record with more than 2^14+1024 bytes" (without compression TLSCompressed is the
    TLSPlaintext, limited to 2^14)."""
    probe = connected()
    monkeypatch.setattr(protection12, "MAX_PLAINTEXT", 2**15)  # let the probe seal it
    refused(probe.send(probe.seal(APPLICATION_DATA, bytes(2**14 + 1))), AD.RECORD_OVERFLOW)


def test_ciphertext_over_2_14_plus_2048_is_record_overflow() -> None:
    """Fragmentation.sendRecordWithCiphertextOver2pow14plus2048: after the handshake, a record
    of 2^14+2049 bytes: record_overflow.

    RFC 5246 §7.2.2 record_overflow: "A TLSCiphertext record was received that had a length
    more than 2^14+2048 bytes"; §6.2.3: "The length MUST NOT exceed 2^14 + 2048." """
    probe = connected()
    refused(probe.send(record(APPLICATION_DATA, bytes(2**14 + 2049))), AD.RECORD_OVERFLOW)


@pytest.mark.parametrize("size", [1, 7, 100])
def test_record_fragmentation_supported(size: int) -> None:
    """Fragmentation.recordFragmentationSupported: the client's handshake messages in records
    of a few bytes each: the handshake completes.

    RFC 5246 §6.2.1: "a single message MAY be fragmented across several records"."""
    probe = Probe()
    probe.max_record = size
    probe.full_handshake()
    probe.echo()


# == server/tls12/rfc5246/Resumption =============================================================


def sni_config() -> ServerConfig:
    """A session-ID server that uses the client's server_name (SNI)."""
    return caching_config(server_name_callback=lambda name: None)


def test_resumption_with_another_server_name_is_refused() -> None:
    """Resumption.rejectSniDisparityResumption: a session made for "localhost", offered again
    with server_name "testlocalhost": a full handshake, not a resumption.

    RFC 6066 §3: "A server that implements this extension MUST NOT accept the request to resume
    the session if the server_name extension contains a different name.  Instead, it proceeds
    with a full handshake to establish a new session." """
    config = sni_config()
    first = connected(client_hello(extensions=[sni(), *default_extensions()]), config)
    assert SERVER_NAME in server_hello_extensions(first)
    second = offer_session(first, config, [sni(b"testlocalhost"), *default_extensions()])
    assert second.server_hello is not None and first.server_hello is not None
    assert not resumed(second)
    echo = second.server_hello.legacy_session_id_echo
    assert echo != first.server_hello.legacy_session_id_echo


def test_resumed_server_hello_has_no_server_name() -> None:
    """Resumption.serverHelloSniInResumption: a session resumed with the same server_name: the
    resumed ServerHello carries no server_name extension.

    RFC 6066 §3: "When resuming a session, the server MUST NOT include a server_name extension
    in the server hello." """
    config = sni_config()
    extensions = [sni(), *default_extensions()]
    first = connected(client_hello(extensions=extensions), config)
    second = offer_session(first, config, extensions)
    assert resumed(second)
    assert SERVER_NAME not in server_hello_extensions(second)


@pytest.mark.parametrize(
    "alert",
    [AD.HANDSHAKE_FAILURE, AD.INTERNAL_ERROR, AD.DECRYPT_ERROR, None],
    ids=["handshake_failure", "internal_error", "decrypt_error", "control: no alert"],
)
def test_session_ended_by_a_fatal_alert_is_not_resumed(alert: AD | None) -> None:
    """Resumption.rejectResumptionAfterFatalPostHandshake: the client's Finished and a fatal
    alert in one flight; its session ID offered again: not resumed (the control, the same
    flight without the alert, is resumed).

    RFC 5246 §7.2.2: "Thus, any connection terminated with a fatal alert MUST NOT be resumed."
    """
    config = caching_config()
    first = after_hello(config=config)
    cke = first.handshake_record(first.client_key_exchange())
    data = cke + first.ccs() + first.finished_record()
    if alert is not None:
        data += first.seal(ALERT, bytes((2, alert)))
    first.send(data)
    assert first.server_hello is not None and first.server_hello.legacy_session_id_echo
    second = offer_session(first, config)
    assert resumed(second) is (alert is None)


def test_session_of_a_bad_finished_is_not_resumed() -> None:
    """Resumption.rejectResumptionAfterInvalidFinished: the client's Finished with one bit
    flipped (the server answers with a fatal alert); its session ID offered again: not resumed.

    RFC 5246 §7.2.2: "Thus, any connection terminated with a fatal alert MUST NOT be resumed."
    """
    config = caching_config()
    first = after_hello(config=config)
    cke = first.handshake_record(first.client_key_exchange())
    good = first.finished_message()
    bad = good[:4] + bytes((good[4] ^ 1,)) + good[5:]
    reply = first.send(cke + first.ccs() + first.handshake_record(bad))
    refused(reply, AD.DECRYPT_ERROR)
    second = offer_session(first, config)
    assert not resumed(second)


# == server/tls12/rfc5246/ServerHello ============================================================


def test_server_random_differs_from_client_random() -> None:
    """ServerHello.serverRandom: ServerHello.random is not the ClientHello's.

    RFC 5246 §7.4.1.3: "random: This structure is generated by the server and MUST be
    independently generated from the ClientHello.random." """
    client_random = bytes(range(32))
    probe = after_hello(client_hello(random=client_random))
    assert probe.server_hello is not None and probe.server_hello.random != client_random


FULL_OFFER: list[Ext] = [
    sni(),
    *default_extensions(),
    alpn(b"h2", b"http/1.1"),
    (SESSION_TICKET, b""),
    (RECORD_SIZE_LIMIT, struct.pack(">H", 16385)),
    (ENCRYPT_THEN_MAC, b""),
    (STATUS_REQUEST, b"\x01\x00\x00\x00\x00"),
    (PADDING, bytes(20)),
    (HEARTBEAT_EXT, b"\x01"),
]


@pytest.mark.parametrize(
    "extensions",
    [[GROUPS, SIGALGS], default_extensions(), FULL_OFFER],
    ids=["minimal", "default", "many"],
)
def test_server_hello_extensions_were_offered_and_are_unique(extensions: list[Ext]) -> None:
    """ServerHello.checkExtensions: the ServerHello has only extension types the ClientHello
    offered, none twice, and no signature_algorithms.

    RFC 5246 §7.4.1.4: "An extension type MUST NOT appear in the ServerHello unless the same
    extension type appeared in the corresponding ClientHello." and "There MUST NOT be more
    than one extension of the same type."; §7.4.1.4.1: "Servers MUST NOT send this extension"
    (signature_algorithms)."""
    config = server_config(alpn_protocols=("http/1.1",), server_name_callback=lambda name: None)
    probe = after_hello(client_hello(extensions=extensions), config)
    types = server_hello_extensions(probe)
    offered = {t for t, _ in extensions}
    assert set(types) <= offered
    assert len(types) == len(set(types))
    assert SIGNATURE_ALGORITHMS not in types


# == server/tls12/rfc5246/ServerKeyExchange ======================================================


@pytest.mark.parametrize("suite", [ECDSA_GCM, RSA_GCM, DHE_GCM], ids=suite_name)
def test_server_key_exchange_signature_is_valid(suite: int) -> None:
    """ServerKeyExchange.signatureIsValid: the ServerKeyExchange signature verifies with the
    certificate's key over client_random + server_random + params.

    RFC 5246 §7.4.3: "signed_params: For non-anonymous key exchanges, a signature over the
    server's key exchange parameters."; ``digitally-signed struct { opaque
    client_random[32]; opaque server_random[32]; ServerDHParams params; }`` (RFC 8422 §5.4 for
    ServerECDHParams)."""
    probe = connected(hello_for(suite))
    assert probe.ske is not None and probe.server_hello is not None
    if ALL_SUITES[suite].key_exchange == "DHE":
        signed = probe.ske.dhe()
        key = rsa_cert().leaf.public_key()
    else:
        signed = probe.ske.ecdhe()  # type: ignore[assignment]
        key = (rsa_cert() if suite == RSA_GCM else server_cert()).leaf.public_key()
    content = server_key_exchange_input(probe.client_random, probe.server_hello.random,
                                        signed.params)  # fmt: skip
    verify(signed.algorithm, key, signed.signature, content, tls13=False)


# == server/tls12/rfc5246/SignatureAlgorithms ====================================================


def test_ecdsa_without_signature_algorithms_is_handshake_failure() -> None:
    """SignatureAlgorithms.ecdsaNoSignatureAlgorithmsExtension (dssNoSignatureAlgorithms...:
    no DSS here): an ECDHE_ECDSA ClientHello without signature_algorithms; TLS-Anvil wants an
    ECDSA-SHA1 signature.

    RFC 5246 §7.4.1.4.1: "If the client does not send the signature_algorithms extension, the
    server MUST do the following: ... behave as if client had sent value {sha1,ecdsa}". We do
    not sign with SHA-1 (RFC 9155 §2 deprecates it; not in our specs folder), so no suite fits:
    handshake_failure (§7.4.1.3). A deliberate difference from TLS-Anvil."""
    hello = client_hello((ECDSA_GCM,), [GROUPS, POINT_FORMATS, EMS, RENEGO])
    refused(Probe().hello(hello), AD.HANDSHAKE_FAILURE)


def test_unknown_signature_algorithm_first_is_ignored() -> None:
    """SignatureAlgorithms.includeUnknownSignatureAndHashAlgorithm: 0xFE44 first in
    signature_algorithms; the handshake goes on with a scheme we know.

    RFC 5246 §7.4.1.4: "If a server receives an extension type it does not understand, it MUST
    ignore it" and §7.4.1.4.1 lists the pairs the client "is willing to verify": one we do not
    know is one we do not use (RFC 8446 §3.5: "Implementations need to be able to parse and
    ignore unknown values")."""
    extensions = [GROUPS, POINT_FORMATS, sigalgs_ext(0xFE44, 0x0403, 0x0804), EMS, RENEGO]
    for suite in (ECDSA_GCM, RSA_GCM):
        probe = connected(client_hello((suite,), extensions))
        assert probe.ske is not None
        assert probe.ske.ecdhe().algorithm in (0x0403, 0x0804)


def test_many_signature_algorithms_offered() -> None:
    """SignatureAlgorithms.offerManyAlgorithms: 58 entries, pseudo values 0x0Axx first and the
    real ones last: the handshake completes.

    RFC 5246 §7.4.1.4.1: ``SignatureAndHashAlgorithm supported_signature_algorithms<2..2^16-2>``.
    """
    real = [0x0403, 0x0503, 0x0804, 0x0805, 0x0401, 0x0501]
    pseudo = [0x0A00 + 2 * i for i in range(58 - len(real))]
    extensions = [GROUPS, POINT_FORMATS, sigalgs_ext(*pseudo, *real), EMS, RENEGO]
    for suite in (ECDSA_GCM, RSA_GCM, DHE_GCM):
        exts = list(extensions)
        if suite == DHE_GCM:
            exts[0] = groups_ext(FFDHE2048.id)
        connected(client_hello((suite,), exts)).echo()


# == server/tls12/rfc5246/TLSRecordProtocol ======================================================


@pytest.mark.parametrize("where", ["ClientHello", "CCS and Finished"])
def test_record_of_undefined_type_is_unexpected_message(where: str) -> None:
    """TLSRecordProtocol.sendNotDefinedRecordTypesWithClientHello and
    sendNotDefinedRecordTypesWithCCSAndFinished: the ClientHello, or the ChangeCipherSpec and
    Finished, sent in records of content type 0xFF: unexpected_message.

    RFC 5246 §6: "If a TLS implementation receives an unexpected record type, it MUST send an
    unexpected_message alert." """
    probe = Probe()
    if where == "ClientHello":
        refused(probe.send(record(0xFF, client_hello())), AD.UNEXPECTED_MESSAGE)
        return
    hello_answered(probe)
    cke = probe.handshake_record(probe.client_key_exchange())
    probe.write, probe.read = probe.pending_keys  # type: ignore[misc]
    data = cke + record(0xFF, b"\x01") + record(0xFF, probe.finished_message())
    refused(probe.send(data), AD.UNEXPECTED_MESSAGE)


# == server/tls12/rfc6066/ServerNameIndication, CertificateStatusRequest ========================


def test_two_host_names_in_server_name_are_refused() -> None:
    """ServerNameIndication.moreThanOneNameOfTheSameType: a ServerNameList with the same
    host_name twice: TLS-Anvil wants a fatal alert.

    RFC 6066 §3: "The ServerNameList MUST NOT contain more than one name of the same
    name_type." A list breaking the rule cannot be read as one server name: we refuse it
    (illegal_parameter, RFC 5246 §7.2.2: "A field in the handshake was out of range or
    inconsistent with other fields")."""
    hello = client_hello(extensions=[sni(b"localhost", b"localhost"), *default_extensions()])
    config = server_config(server_name_callback=lambda name: None)
    refused_fatally(Probe(config).hello(hello))


def test_no_unrequested_certificate_status() -> None:
    """CertificateStatusRequest.doesNotSendUnrequestedCertificateStatus: a ClientHello without
    status_request: the ServerHello has no status_request and no CertificateStatus follows.

    RFC 6066 §8: "Servers that receive a client hello containing the "status_request" extension
    MAY return a suitable certificate status response"; RFC 5246 §7.4.1.4: an extension type
    "MUST NOT appear in the ServerHello unless the same extension type appeared in the
    corresponding ClientHello"."""
    probe = Probe()
    reply = hello_answered(probe)
    assert STATUS_REQUEST not in server_hello_extensions(probe)
    assert 22 not in reply.handshake_types  # certificate_status


# == server/tls12/rfc6176/ProhibitingSSLv2, rfc7568/DoNotUseSSLVersion30 ========================


def sslv2_client_hello() -> bytes:
    """An SSL 2.0-compatible CLIENT-HELLO for TLS 1.2 (RFC 5246 Appendix E.2)."""
    specs = b"\x00\xc0\x2b\x00\x00\xff"  # ECDHE_ECDSA_AES128_GCM, renegotiation SCSV
    challenge = os.urandom(16)
    body = b"\x01\x03\x03" + struct.pack(">HHH", len(specs), 0, len(challenge)) + specs
    body += challenge
    return bytes((0x80 | (len(body) >> 8), len(body) & 0xFF)) + body


def test_sslv2_compatible_client_hello_is_refused() -> None:
    """ProhibitingSSLv2.sendSSL2CompatibleClientHello: an SSL 2.0 CLIENT-HELLO: a fatal alert.

    RFC 6176 §3: "TLS clients MUST NOT send the SSL version 2.0 compatible CLIENT-HELLO message
    format." and "TLS servers MUST NOT reply with an SSL 2.0 SERVER-HELLO ... and instead MUST
    abort the connection". We do not accept the old format (RFC 5246 E.2 makes it optional):
    its first byte is no TLS content type."""
    reply = Probe().send(sslv2_client_hello())
    refused_fatally(reply)
    assert HandshakeType.SERVER_HELLO not in reply.handshake_types


@pytest.mark.parametrize("version", [0x0200, 0x0002, 0x0000])
def test_client_hello_version_below_0300_is_refused(version: int) -> None:
    """ProhibitingSSLv2.sendClientHelloVersionLower0300: client_version {02,00}: a fatal alert.

    RFC 6176 §3: "TLS servers MUST NOT reply with an SSL 2.0 SERVER-HELLO with a protocol
    version that is less than { 0x03, 0x00 } and instead MUST abort the connection"; we send
    protocol_version (RFC 5246 Appendix E.1)."""
    refused(Probe().hello(client_hello(version=version)), AD.PROTOCOL_VERSION)


def test_sslv3_client_hello_is_protocol_version() -> None:
    """DoNotUseSSLVersion30.sendClientHelloVersion0300: client_version {03,00}:
    protocol_version.

    RFC 7568 §3: "Any party receiving a Hello message with the protocol version set to {03,00}
    MUST respond with a "protocol_version" alert message and close the connection." """
    refused(Probe().hello(client_hello(version=0x0300)), AD.PROTOCOL_VERSION)


# == server/tls12/rfc7366/EncThenMacExtension ====================================================


@pytest.mark.parametrize("suite", sorted(ALL_SUITES), ids=suite_name)
def test_encrypt_then_mac_not_echoed_for_aead_suites(suite: int) -> None:
    """EncThenMacExtension.negotiatesEncThenMacExtOnlyWithBckCiphers (supportsEncThenMacExt
    needs CBC: not applicable): encrypt_then_mac offered with AEAD suites only: not echoed.

    RFC 7366 §3: "If a server receives an encrypt-then-MAC request extension from a client and
    then selects a stream or Authenticated Encryption with Associated Data (AEAD) ciphersuite,
    it MUST NOT send an encrypt-then-MAC response extension back to the client." """
    message = hello_for(suite)
    message = client_hello((suite,), [*hello_extensions(message), (ENCRYPT_THEN_MAC, b"")])
    probe = connected(message)
    assert ENCRYPT_THEN_MAC not in server_hello_extensions(probe)


# == server/tls12/rfc7465/RC4Ciphersuites, both/tls12 CipherSuites, A5CipherSuite, Mandatory ====

RC4_SUITES = [0x0004, 0x0005, 0x0018, 0xC007, 0xC011, 0xC016]
DES_IDEA_SUITES = [0x0007, 0x0009, 0x000A, 0x0012, 0x0013, 0x0015, 0x0016, 0xC012]
ANON_SUITES = [0x0018, 0x001B, 0x0034, 0x003A, 0x006C, 0x00A6, 0xC018, 0xC019]


@pytest.mark.parametrize(
    "suites",
    [RC4_SUITES, DES_IDEA_SUITES, ANON_SUITES, [0x0000], [0x002F], [0x002F, 0x0035, 0x003C]],
    ids=["RC4", "DES-IDEA", "anon", "NULL_WITH_NULL_NULL", "RSA_AES128_CBC_SHA", "RSA-kex-CBC"],
)
def test_only_deprecated_or_unimplemented_suites_is_handshake_failure(suites: list[int]) -> None:
    """RC4Ciphersuites.onlyRC4Suites, CipherSuites.supportOfDeprecatedCipherSuites (server and
    both), A5CipherSuite.negotiateTLS_NULL_WITH_NULL_NULL and anonCipherSuites,
    MandatoryCipherSuites.verify: a ClientHello offering only such suites is refused.

    RFC 7465 §2: "If the TLS client only offers RC4 cipher suites, the TLS server MUST
    terminate the handshake.  The TLS server MAY send the insufficient_security fatal alert";
    RFC 5246 §1.2 ("Removed IDEA and DES cipher suites"), Appendix A.5 (TLS_NULL_WITH_NULL_NULL
    "MUST NOT be negotiated"; anonymous suites "MUST NOT be used ... unless the application
    layer has specifically requested"); §7.4.1.3: with no acceptable suite, handshake_failure.
    MandatoryCipherSuites wants TLS_RSA_WITH_AES_128_CBC_SHA supported (RFC 5246 §9 "MUST
    implement"): we deliberately implement neither RSA key exchange nor CBC."""
    reply = Probe().hello(client_hello(suites))
    assert reply.alert in (AD.HANDSHAKE_FAILURE, AD.INSUFFICIENT_SECURITY), reply.alert
    refused_fatally(reply)


@pytest.mark.parametrize("bad", [RC4_SUITES, DES_IDEA_SUITES, ANON_SUITES],
                         ids=["RC4", "DES-IDEA", "anon"])  # fmt: skip
def test_deprecated_suites_beside_ours_are_never_chosen(bad: list[int]) -> None:
    """RC4Ciphersuites.offerRC4AndOtherCiphers: RC4 (and DES/IDEA, anon) suites first, one of
    ours last: ours is chosen.

    RFC 7465 §2: "TLS servers MUST NOT select an RC4 cipher suite when a TLS client sends such
    a cipher suite in the ClientHello message." """
    for suite in (ECDSA_GCM, RSA_GCM, DHE_GCM):
        message = client_hello([*bad, suite], hello_extensions(hello_for(suite)))
        probe = connected(message)
        assert probe.server_hello is not None and probe.server_hello.cipher_suite == suite


# == server/tls12/rfc7507/SCSV ===================================================================


@pytest.mark.parametrize("first", [True, False], ids=["scsv-last", "scsv-first"])
@pytest.mark.parametrize("version", [0x0303, 0x0302, 0x0301])
def test_fallback_scsv_below_our_highest_version(version: int, first: bool) -> None:
    """SCSV.includeFallbackSCSV and includeFallbackSCSV_nonRecommendedCipherSuiteOrder:
    TLS_FALLBACK_SCSV with a client_version below our highest (TLS 1.3): inappropriate_fallback,
    or protocol_version for a version we do not support at all.

    RFC 7507 §3: "If TLS_FALLBACK_SCSV appears in ClientHello.cipher_suites and the highest
    protocol version supported by the server is higher than the version indicated in
    ClientHello.client_version, the server MUST respond with a fatal inappropriate_fallback
    alert (unless it responds with a fatal protocol_version alert because the version indicated
    in ClientHello.client_version is unsupported)." """
    suites = [ECDSA_GCM, FALLBACK_SCSV] if first else [FALLBACK_SCSV, ECDSA_GCM]
    reply = Probe().hello(client_hello(suites, version=version))
    if version == 0x0303:
        refused(reply, AD.INAPPROPRIATE_FALLBACK)
    else:
        assert reply.alert in (AD.INAPPROPRIATE_FALLBACK, AD.PROTOCOL_VERSION), reply.alert
        refused_fatally(reply)


def test_fallback_scsv_at_our_highest_version_is_accepted() -> None:
    """SCSV (the other side of the rule): a TLS 1.2-only server receiving TLS_FALLBACK_SCSV
    with client_version TLS 1.2 continues.

    RFC 7507 §3: the alert is due only when "the highest protocol version supported by the
    server is higher than the version indicated in ClientHello.client_version"."""
    config = server_config(max_version="TLS1.2")
    connected(client_hello([ECDSA_GCM, FALLBACK_SCSV]), config).echo()


# == server/tls12/rfc7685/PaddingExtension =======================================================


def test_padding_with_non_zero_bytes() -> None:
    """PaddingExtension.paddingWithNonZero: a padding extension holding 0xBABE; TLS-Anvil wants
    a fatal alert.

    RFC 7685 §3: "The client MUST fill the padding extension completely with zero bytes,
    although the padding extension_data field may be empty." The rule binds the client; no
    receiver action is named (RFC 7685 is not in our specs folder). We accept either a
    refusal (decode_error or illegal_parameter) or a handshake that ignores the content, and
    assert that the server does one of the two cleanly."""
    hello = client_hello(extensions=[(PADDING, b"\xba\xbe"), *default_extensions()])
    reply = Probe().hello(hello)
    if reply.error is None:
        assert reply.handshake_types[-1] == HandshakeType.SERVER_HELLO_DONE
    else:
        assert reply.alert in (AD.DECODE_ERROR, AD.ILLEGAL_PARAMETER), reply.alert
        refused_fatally(reply)


def test_padding_is_not_echoed() -> None:
    """PaddingExtension.serverDoesNotEcho: a ClientHello with padding: no padding in the
    ServerHello.

    RFC 7685 §3: "The server MUST NOT echo the extension." """
    probe = after_hello(client_hello(extensions=[(PADDING, bytes(100)), *default_extensions()]))
    assert PADDING not in server_hello_extensions(probe)


# == server/tls12/rfc7919/FfDheShare =============================================================


def dhe_probe() -> Probe:
    return after_hello(hello_for(DHE_GCM))


P = FFDHE2048.p


@pytest.mark.parametrize(
    "yc",
    [b"\x00", b"\x01", (P - 1).to_bytes(256, "big"), P.to_bytes(256, "big"),
     (P + 1).to_bytes(256, "big"), b"\xff" * 256,
     (P << 64).to_bytes(264, "big"), b"\x01" + P.to_bytes(256, "big")],
    ids=["0", "1", "p-1", "p", "p+1", "2^2048-1", "p*2^64", "p+2^2048"],
)  # fmt: skip
def test_dhe_client_share_out_of_range_is_handshake_failure(yc: bytes) -> None:
    """FfDheShare.shareOutOfBounds (SHARE_IS_ONE, SHARE_PLUS_P): dh_Yc of 1, or at least p
    (also 0 and p-1): handshake_failure (TLS-Anvil also takes illegal_parameter).

    RFC 7919 §4: "When an FFDHE cipher suite is selected and the client sends a
    ClientKeyExchange, the server MUST verify that 1 < dh_Yc < dh_p - 1.  If dh_Yc is out of
    range, the server MUST terminate the connection with a fatal handshake_failure(40)
    alert." """
    probe = dhe_probe()
    cke = handshake(HandshakeType.CLIENT_KEY_EXCHANGE, struct.pack(">H", len(yc)) + yc)
    refused(probe.send(probe.handshake_record(cke)), AD.HANDSHAKE_FAILURE)


# == server/tls12/rfc8422/TLSExtensionForECC, PointFormatExtension, RespectClientExtensions ======


def test_unknown_group_first_is_ignored() -> None:
    """TLSExtensionForECC.addUnknownEllipticCurve: 0x7B7C first in supported_groups: the
    handshake completes on a group we know.

    RFC 8422 §5.1: "A server that receives a ClientHello containing one or both of these
    extensions MUST use the client's enumerated capabilities to guide its selection of an
    appropriate cipher suite." (unknown values are ignored, RFC 5246 §7.4.1.4)"""
    extensions = [groups_ext(0x7B7C, X25519.id, SECP256R1.id), POINT_FORMATS, SIGALGS, EMS]
    for suite in ECDHE_SUITES:
        probe = connected(client_hello((suite,), extensions))
        assert probe.ske is not None and probe.ske.ecdhe().named_curve in (X25519.id, SECP256R1.id)


def test_only_unknown_group_with_ecdhe_suites_is_refused() -> None:
    """TLSExtensionForECC.onlyInvalidEllipticCurve: supported_groups holds only 0x7B7C and only
    ECDHE suites are offered: the handshake fails (handshake_failure: no suite fits).

    RFC 8422 §5.1: "If a server ... is unable to complete the ECC handshake while restricting
    itself to the enumerated curves and point formats, it MUST NOT negotiate the use of an ECC
    cipher suite." """
    extensions = [groups_ext(0x7B7C), POINT_FORMATS, SIGALGS, EMS]
    refused(Probe().hello(client_hello(ECDHE_SUITES, extensions)), AD.HANDSHAKE_FAILURE)


@pytest.mark.parametrize("dhe", DHE_SUITES, ids=suite_name)
def test_only_unknown_group_falls_back_to_a_non_ecc_suite(dhe: int) -> None:
    """TLSExtensionForECC.invalidEllipticCurve_WithNonECCCiphersuite: every ECDHE suite and one
    DHE suite offered, supported_groups only 0x7B7C: the DHE suite is chosen.

    RFC 8422 §4/§5.1: servers "MUST NOT negotiate the use of an ECC cipher suite unless they can
    complete the handshake while respecting the choice of curves specified by the client";
    RFC 7919 §4: with no FFDHE group in the list, the server may use DHE with a group of its
    own choice."""
    extensions = [groups_ext(0x7B7C), POINT_FORMATS, SIGALGS, EMS]
    probe = after_hello(client_hello([*ECDHE_SUITES, dhe], extensions))
    assert probe.server_hello is not None and probe.server_hello.cipher_suite == dhe
    probe.finish()
    probe.check_server_finished()


@pytest.mark.parametrize("group", [*range(1, 23), 0xFF01, 0xFF02])
def test_deprecated_curves_are_not_used(group: int) -> None:
    """TLSExtensionForECC.supportsDeprecated: a ClientHello listing only a deprecated curve
    (1-22) or an explicit curve (0xFF01, 0xFF02) with ECDHE suites: refused, never used.

    RFC 8422 §5.1.1: "This specification is deprecating the rest (with numbers 1-22).  This
    specification also deprecates the explicit curves with identifiers 0xFF01 and 0xFF02." """
    extensions = [groups_ext(group), POINT_FORMATS, SIGALGS, EMS]
    refused(Probe().hello(client_hello(ECDHE_SUITES, extensions)), AD.HANDSHAKE_FAILURE)


@pytest.mark.parametrize("group", sorted(EC_GROUPS), ids=lambda g: EC_GROUPS[g].name)
def test_many_groups_offered(group: int) -> None:
    """TLSExtensionForECC.manyGroupsOffered: 52 pseudo groups 0x0Axx, then the real one (53
    entries): the handshake completes on it.

    RFC 8422 §5.1.1: ``NamedCurve named_curve_list<2..2^16-1>``. With ECDHE_RSA for every
    group; ECDHE_ECDSA only where the list holds P-256, the curve of our ECDSA certificate
    (RFC 8422 §5.3, see test_ecdsa_certificate_on_a_curve_the_client_did_not_list_is_not_used).
    """
    pseudo = [0x0A00 + 2 * i for i in range(52)]
    extensions = [groups_ext(*pseudo, group), POINT_FORMATS, SIGALGS, EMS]
    suites = (RSA_GCM, ECDSA_GCM) if group == SECP256R1.id else (RSA_GCM,)
    for suite in suites:
        probe = connected(client_hello((suite,), extensions))
        assert probe.ske is not None and probe.ske.ecdhe().named_curve == group


def p256_point_off_the_curve() -> bytes:
    """An uncompressed point (x, y) with y^2 != x^3 + ax + b over P-256."""
    share = SECP256R1.generate().public_bytes
    y = int.from_bytes(share[33:], "big") ^ 1
    return share[:33] + y.to_bytes(32, "big")


@pytest.mark.parametrize("group", [SECP256R1, SECP384R1, SECP521R1], ids=lambda g: g.name)
def test_client_point_not_on_the_curve_is_refused(group: object) -> None:
    """TLSExtensionForECC.rejectsInvalidCurvePoints: a ClientKeyExchange point that is not on
    the negotiated NIST curve: a fatal alert.

    RFC 8422 §5.11: "With the NIST curves, each party MUST validate the public key sent by its
    peer in the ClientKeyExchange and ServerKeyExchange messages.  A receiving party MUST check
    that the x and y parameters from the peer's public value satisfy the curve equation,
    y^2 = x^3 + ax + b mod p." """
    extensions = [groups_ext(group.id), POINT_FORMATS, SIGALGS, EMS]  # type: ignore[attr-defined]
    probe = after_hello(client_hello((RSA_GCM,), extensions))
    share = group.generate().public_bytes  # type: ignore[attr-defined]
    half = (len(share) - 1) // 2
    y = int.from_bytes(share[1 + half :], "big") ^ 1
    point = share[: 1 + half] + y.to_bytes(half, "big")
    cke = handshake(HandshakeType.CLIENT_KEY_EXCHANGE, bytes((len(point),)) + point)
    refused_fatally(probe.send(probe.handshake_record(cke)))


X25519_SMALL_ORDER = [bytes(32), (1).to_bytes(32, "little"), (2**255 - 19).to_bytes(32, "little")]


@pytest.mark.parametrize("group", [X25519, X448], ids=lambda g: g.name)
@pytest.mark.parametrize("point", [0, 1, 2], ids=["0", "1", "p"])
def test_x_curve_point_giving_an_all_zero_secret_is_refused(group: object, point: int) -> None:
    """TLSExtensionForECC.abortsWhenSharedSecretIsZero: an X25519/X448 ClientKeyExchange of
    small order (u = 0, 1, p) makes the shared secret all zeroes: a fatal alert.

    RFC 8422 §5.11: "With X25519 and X448, a receiving party MUST check whether the computed
    premaster secret is the all-zero value and abort the handshake if so"."""
    size = 32 if group is X25519 else 56
    p = 2**255 - 19 if group is X25519 else 2**448 - 2**224 - 1
    public = (0, 1, p)[point].to_bytes(size, "little")
    extensions = [groups_ext(group.id), POINT_FORMATS, SIGALGS, EMS]  # type: ignore[attr-defined]
    probe = after_hello(client_hello((RSA_GCM,), extensions))
    cke = handshake(HandshakeType.CLIENT_KEY_EXCHANGE, bytes((size,)) + public)
    refused_fatally(probe.send(probe.handshake_record(cke)))


@pytest.mark.parametrize("suite", ECDHE_SUITES, ids=suite_name)
def test_server_point_formats_are_uncompressed_only(suite: int) -> None:
    """PointFormatExtension.serverAdvertisesOnlyUncompressedPointFormat: the ServerHello's
    ec_point_formats, if sent, lists only uncompressed (0).

    RFC 8422 §5.2: "Implementations of this document MUST support the uncompressed format for
    all of their supported curves and MUST NOT support other formats for curves defined in this
    specification.  For backwards compatibility purposes, the point format list extension MAY
    still be included and contain exactly one value: the uncompressed point format (0)." """
    probe = after_hello(client_hello((suite,)))
    formats = probe.server_extension(11)
    assert formats in (None, b"\x01\x00")


@pytest.mark.parametrize("formats", [b"\x01\x21", b"\x02\x02\x01", b"\x01\x01", b"\x01\x02"],
                         ids=["33", "char2+prime", "prime", "char2"])  # fmt: skip
def test_point_formats_without_uncompressed_is_illegal_parameter(formats: bytes) -> None:
    """PointFormatExtension.invalidPointFormat ({33}) and deprecatedFormat (the two compressed
    formats): illegal_parameter.

    RFC 8422 §5.1: "If the client sends the extension and the extension does not contain the
    uncompressed point format, and the client has used the Supported Groups extension to
    indicate support for any of the curves defined in this specification, then the server MUST
    abort the handshake and return an illegal_parameter alert." """
    extensions = [GROUPS, (11, formats), SIGALGS, EMS]
    refused(Probe().hello(client_hello(ECDHE_SUITES, extensions)), AD.ILLEGAL_PARAMETER)


@pytest.mark.parametrize("formats", [True, False], ids=["with-formats", "without-formats"])
@pytest.mark.parametrize("group", sorted(EC_GROUPS), ids=lambda g: EC_GROUPS[g].name)
def test_server_key_exchange_uses_the_offered_curve(group: int, formats: bool) -> None:
    """RespectClientExtensions.respectChosenCurve and respectChosenCurveWithoutFormats: one
    curve offered (with or without ec_point_formats): the ServerKeyExchange uses it.

    RFC 8422 §5.1: "A server that receives a ClientHello containing one or both of these
    extensions MUST use the client's enumerated capabilities to guide its selection of an
    appropriate cipher suite.  One of the proposed ECC cipher suites must be negotiated only if
    the server can successfully complete the handshake while using the curves and point formats
    supported by the client". ECDHE_ECDSA only with P-256, the curve of our ECDSA certificate
    (§5.3: "the public key in the server's certificate MUST respect the client's choice of
    elliptic curves"); TLS-Anvil's own respectsChosenCurveForCertificates asks the same."""
    extensions = [groups_ext(group), SIGALGS, EMS]
    if formats:
        extensions.insert(1, POINT_FORMATS)
    suites = [s for s in ECDHE_SUITES if group == SECP256R1.id or "RSA" in suite_name(s)]
    for suite in suites:
        probe = connected(client_hello((suite,), extensions))
        assert probe.ske is not None and probe.ske.ecdhe().named_curve == group


def test_ecdsa_certificate_on_a_curve_the_client_did_not_list_is_not_used() -> None:
    """RespectClientExtensions.respectsChosenCurveForCertificates: our ECDSA certificate is on
    P-256; a client offering only ECDHE_ECDSA suites and supported_groups {x25519, secp384r1}:
    no ECDSA suite may be chosen, so handshake_failure.

    RFC 8422 §5.3: "If the client has used a Supported Elliptic Curves Extension, the public key
    in the server's certificate MUST respect the client's choice of elliptic curves.  A server
    that cannot satisfy this requirement MUST NOT choose an ECC cipher suite in its ServerHello
    message." """
    ecdsa_suites = [s for s in ECDHE_SUITES if "ECDSA" in suite_name(s)]
    extensions = [groups_ext(X25519.id, SECP384R1.id), POINT_FORMATS, SIGALGS, EMS]
    refused(Probe().hello(client_hello(ecdsa_suites, extensions)), AD.HANDSHAKE_FAILURE)


# == server/tls12/rfc8701/ClientInitiatedExtensionPoints =========================================

GREASE = [0x0A0A + 0x1010 * i for i in range(16)]


def test_grease_cipher_suites_are_never_chosen() -> None:
    """ClientInitiatedExtensionPoints.advertiseGreaseCiphersuites: a suite of ours plus all 16
    GREASE suites: ours is chosen.

    RFC 8701 §3.2: "Servers MUST NOT negotiate any GREASE value when offered in a ClientHello.
    Servers MUST correctly ignore unknown values in a ClientHello and attempt to negotiate with
    one of the remaining parameters." """
    for suite in (ECDSA_GCM, RSA_GCM, DHE_GCM):
        message = client_hello([suite, *GREASE], hello_extensions(hello_for(suite)))
        probe = connected(message)
        assert probe.server_hello is not None and probe.server_hello.cipher_suite == suite


@pytest.mark.parametrize("grease", GREASE, ids=hex)
def test_grease_extension_is_ignored(grease: int) -> None:
    """ClientInitiatedExtensionPoints.advertiseGreaseExtensions: a GREASE extension with 25
    bytes: the handshake completes and the ServerHello does not carry it.

    RFC 8701 §3.2: "Servers MUST NOT negotiate any GREASE value when offered in a ClientHello."
    """
    probe = connected(client_hello(extensions=[(grease, os.urandom(25)), *default_extensions()]))
    assert grease not in server_hello_extensions(probe)


def test_grease_named_groups_are_never_chosen() -> None:
    """ClientInitiatedExtensionPoints.advertiseGreaseNamedGroup: all GREASE groups and one real
    group: the real one is used.

    RFC 8701 §3.2: "Servers MUST NOT negotiate any GREASE value when offered in a ClientHello."
    """
    for group in sorted(EC_GROUPS):
        extensions = [groups_ext(*GREASE, group, SECP256R1.id), POINT_FORMATS, SIGALGS, EMS]
        probe = connected(client_hello((ECDSA_GCM,), extensions))
        assert probe.ske is not None and probe.ske.ecdhe().named_curve in (group, SECP256R1.id)
    exts = [groups_ext(*GREASE, FFDHE2048.id), SIGALGS, EMS]
    connected(client_hello((DHE_GCM,), exts)).echo()


def test_grease_signature_algorithms_are_never_chosen() -> None:
    """ClientInitiatedExtensionPoints.advertiseGreaseSignatureAlgorithms: GREASE values added to
    signature_algorithms: the ServerKeyExchange is signed with a real scheme.

    RFC 8701 §3.2: "Servers MUST NOT negotiate any GREASE value when offered in a ClientHello."
    """
    schemes = [*GREASE, 0x0403, 0x0804, 0x0401]
    for suite in (ECDSA_GCM, RSA_GCM):
        extensions = [GROUPS, POINT_FORMATS, sigalgs_ext(*schemes), EMS]
        probe = connected(client_hello((suite,), extensions))
        assert probe.ske is not None and probe.ske.ecdhe().algorithm not in GREASE


def test_grease_alpn_identifiers_are_never_chosen() -> None:
    """ClientInitiatedExtensionPoints.advertiseGreaseALPNIdentifiers: ALPN offering GREASE
    identifiers and "http/1.1": the ServerHello selects exactly one, not a GREASE one.

    RFC 8701 §3.2: "Servers MUST NOT negotiate any GREASE value when offered in a ClientHello."
    RFC 7301 §3.1: the server's ProtocolNameList "MUST contain exactly one" name."""
    config = server_config(alpn_protocols=("h2", "http/1.1"))
    names = [bytes((g >> 8, g & 0xFF)) for g in GREASE]
    probe = connected(client_hello(extensions=[*default_extensions(), alpn(*names, b"http/1.1")]),
                      config)  # fmt: skip
    assert probe.server_extension(ALPN) == b"\x00\x09\x08http/1.1"


# == server/tls12/statemachine/StateMachine, server/both/statemachine/SharedStateMachineTest ====


def heartbeat_request() -> bytes:
    """A HeartbeatRequest (RFC 6520 §4): type 1, payload_length, payload, 16 bytes padding."""
    payload = b"heartbeat"
    return b"\x01" + struct.pack(">H", len(payload)) + payload + os.urandom(16)


@pytest.mark.parametrize("where", ["after ClientHello", "after ClientKeyExchange", "after CCS"])
def test_heartbeat_without_negotiation_is_unexpected_message(where: str) -> None:
    """StateMachine.sendHeartbeatRequestAfterClientHello, ...AfterClientKeyExchange and
    ...AfterChangeCipherSpec: a heartbeat record (content type 24) that was never negotiated
    (we do not implement RFC 6520): unexpected_message (TLS-Anvil accepts a HeartbeatResponse
    or a fatal alert).

    RFC 5246 §6: "If a TLS implementation receives an unexpected record type, it MUST send an
    unexpected_message alert." """
    probe = after_hello()
    if where == "after ClientHello":
        refused(probe.send(record(HEARTBEAT, heartbeat_request())), AD.UNEXPECTED_MESSAGE)
        return
    cke = probe.handshake_record(probe.client_key_exchange())
    if where == "after ClientKeyExchange":
        data = cke + record(HEARTBEAT, heartbeat_request())
    else:
        data = cke + probe.ccs() + probe.seal(HEARTBEAT, heartbeat_request())
    refused(probe.send(data), AD.UNEXPECTED_MESSAGE)


def test_client_hello_after_client_key_exchange_is_unexpected_message() -> None:
    """StateMachine.secondClientHelloAfterClientKeyExchange: ClientKeyExchange then a new
    ClientHello: unexpected_message.

    RFC 5246 §7.3: the client's flight is "ClientKeyExchange ... [ChangeCipherSpec] Finished";
    §7.4: "Sending handshake messages in an unexpected order results in a fatal error";
    §7.2.2 unexpected_message: "An inappropriate message was received." """
    probe = after_hello()
    data = probe.handshake_record(probe.client_key_exchange(), client_hello())
    refused(probe.send(data), AD.UNEXPECTED_MESSAGE)


def test_finished_right_after_server_hello_done_is_unexpected_message() -> None:
    """StateMachine.sendFinishedAfterServerHello: after the server's flight the client sends
    Finished (no ClientKeyExchange, no CCS): unexpected_message.

    RFC 5246 §7.4.9: "It is a fatal error if a Finished message is not preceded by a
    ChangeCipherSpec message at the appropriate point in the handshake." """
    probe = after_hello()
    refused(probe.send(record(HANDSHAKE, handshake(20, bytes(12)))), AD.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize(
    "first",
    ["Finished", "ChangeCipherSpec", "empty application data", "application data"],
)
@pytest.mark.parametrize("max_version", ["TLS1.2", "TLS1.3"])
def test_handshake_beginning_with_something_else_is_unexpected_message(
    first: str, max_version: str
) -> None:
    """StateMachine.beginWithFinished, beginWithChangeCipherSpec, beginWithEmptyApplicationData
    and beginWithApplicationData (SharedStateMachineTest.sharedBeginWith...): the first record
    is no ClientHello: unexpected_message, with TLS 1.3 enabled as well.

    RFC 5246 §7.3: the handshake begins with the ClientHello; §7.2.2 unexpected_message; RFC
    8446 §5: a change_cipher_spec may be received only "after the first ClientHello message has
    been sent or received"."""
    data = {
        "Finished": record(HANDSHAKE, handshake(20, bytes(12))),
        "ChangeCipherSpec": record(CCS, b"\x01"),
        "empty application data": record(APPLICATION_DATA, b""),
        "application data": record(APPLICATION_DATA, b"Test"),
    }[first]
    probe = Probe(server_config(max_version=max_version))
    refused(probe.send(data), AD.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize("separate", [False, True], ids=["same record", "separate record"])
def test_second_client_key_exchange_is_unexpected_message(separate: bool) -> None:
    """StateMachine.secondClientKeyExchange and secondClientKeyExchangeDifferentAction: two
    ClientKeyExchange messages: unexpected_message.

    RFC 5246 §7.4: "Sending handshake messages in an unexpected order results in a fatal error";
    §7.2.2 unexpected_message."""
    probe = after_hello()
    cke = probe.client_key_exchange()
    if separate:
        data = probe.handshake_record(cke) + probe.handshake_record(cke)
    else:
        data = probe.handshake_record(cke, cke)
    refused(probe.send(data), AD.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize("protected", [True, False], ids=["encrypted", "unencrypted"])
def test_client_key_exchange_after_ccs(protected: bool) -> None:
    """StateMachine.secondClientKeyExchangeAfterChangeCipherSpec and ...Unencrypted:
    ClientKeyExchange, ChangeCipherSpec, then a second ClientKeyExchange instead of Finished:
    protected, unexpected_message; in the clear, the record cannot be opened: bad_record_mac.

    RFC 5246 §7.4.9: "A Finished message is always sent immediately after a change cipher spec
    message"; §7.2.2 unexpected_message; §6.2.3.3: "If the decryption fails, a fatal
    bad_record_mac alert MUST be generated." """
    probe = after_hello()
    cke = probe.client_key_exchange()
    data = probe.handshake_record(cke) + probe.ccs()
    if protected:
        refused(probe.send(data + probe.handshake_record(cke)), AD.UNEXPECTED_MESSAGE)
    else:
        refused(probe.send(data + record(HANDSHAKE, cke)), AD.BAD_RECORD_MAC)


@pytest.mark.parametrize("protected", [True, False], ids=["encrypted", "unencrypted"])
def test_second_ccs_after_the_handshake_is_refused(protected: bool) -> None:
    """StateMachine.secondChangeCipherSpecAfterHandshake and ...Unencrypted: after the
    handshake, a ChangeCipherSpec: protected, unexpected_message (no renegotiation pending); in
    the clear, a fatal alert (a 1-byte record cannot be a protected one: bad_record_mac or
    unexpected_message; we send unexpected_message).

    RFC 5246 §7.1: ChangeCipherSpec is sent during the handshake; §7.2.2 unexpected_message;
    §6.2.3.3: "If the decryption fails, a fatal bad_record_mac alert MUST be generated." """
    probe = connected()
    if protected:
        refused(probe.send(probe.seal(CCS, b"\x01")), AD.UNEXPECTED_MESSAGE)
    else:
        reply = probe.send(record(CCS, b"\x01"))
        assert reply.alert in (AD.UNEXPECTED_MESSAGE, AD.BAD_RECORD_MAC), reply.alert
        refused_fatally(reply)


def test_client_hello_after_server_hello_done_is_unexpected_message() -> None:
    """StateMachine.secondClientHelloAfterServerHello
    (SharedStateMachineTest.sharedSecondClientHelloAfterServerHelloTest): after the server's
    flight, a new ClientHello: unexpected_message.

    RFC 5246 §7.4: "Sending handshake messages in an unexpected order results in a fatal
    error"; §7.2.2 unexpected_message."""
    probe = after_hello()
    refused(probe.send(record(HANDSHAKE, client_hello())), AD.UNEXPECTED_MESSAGE)


def test_two_client_hellos_at_once_are_refused() -> None:
    """StateMachine.secondClientHello (SharedStateMachineTest.sharedSecondClientHelloTest): two
    ClientHellos in the first flight: a fatal alert (unexpected_message).

    RFC 5246 §7.4: "Sending handshake messages in an unexpected order results in a fatal
    error"; §7.2.2 unexpected_message."""
    reply = Probe().send(record(HANDSHAKE, client_hello() + client_hello()))
    refused(reply, AD.UNEXPECTED_MESSAGE)


def test_ccs_before_client_key_exchange_is_unexpected_message() -> None:
    """StateMachine.earlyChangeCipherSpec: ChangeCipherSpec, then ClientKeyExchange and
    Finished: unexpected_message (the CCS comes before any keys exist).

    RFC 5246 §7.1/§7.3: ChangeCipherSpec follows the ClientKeyExchange (and
    CertificateVerify); §7.2.2 unexpected_message."""
    probe = after_hello()
    refused(probe.send(record(CCS, b"\x01")), AD.UNEXPECTED_MESSAGE)


# == both/tls12/rfc5246/AEADCiphers ==============================================================


@pytest.mark.parametrize("suite", [*AEAD_SUITES, RSA_GCM, DHE_GCM], ids=suite_name)
@pytest.mark.parametrize("part", ["tag", "ciphertext", "explicit nonce"])
def test_tampered_record_is_bad_record_mac(suite: int, part: str) -> None:
    """AEADCiphers.invalidAuthTag and invalidCiphertext: after the handshake, an application
    data record with bits of its tag (or ciphertext, or GCM explicit nonce) flipped:
    bad_record_mac.

    RFC 5246 §6.2.3.3: "If the decryption fails, a fatal bad_record_mac alert MUST be
    generated." """
    probe = connected(hello_for(suite))
    sealed = bytearray(probe.seal(APPLICATION_DATA, b"GET / HTTP/1.0\r\n\r\n"))
    explicit = 8 if "GCM" in suite_name(suite) else 0
    if part == "tag":
        at = len(sealed) - 1
    elif part == "ciphertext":
        at = 5 + explicit + 3
    elif explicit:
        at = 5
    else:
        at = 5 + 1
    sealed[at] ^= 0x80
    refused(probe.send(bytes(sealed)), AD.BAD_RECORD_MAC)


# == both/tls12/rfc5246/ChangeCipherSpecProtocol =================================================


@pytest.mark.parametrize("content", [b"\x00", b"\x02", b"\xff", b"\x01\x01", b"\x01\x00"],
                         ids=lambda c: c.hex())  # fmt: skip
def test_ccs_of_invalid_content_is_refused(content: bytes) -> None:
    """ChangeCipherSpecProtocol.ccsContentTest: a ChangeCipherSpec whose content is not the
    single byte 1: a fatal alert.

    RFC 5246 §7.1: "The message consists of a single byte of value 1." """
    probe = after_hello()
    cke = probe.handshake_record(probe.client_key_exchange())
    reply = probe.send(cke + record(CCS, content))
    refused_fatally(reply)


# == both/tls12/rfc5246/Finished, both/tls12/statemachine/ClientServerStateMachine ===============


@pytest.mark.parametrize("bit", [0, 7, 44, 95])
def test_finished_with_a_flipped_bit_is_decrypt_error(bit: int) -> None:
    """Finished.verifyFinishedMessageCorrect: the client's verify_data with one bit flipped:
    decrypt_error.

    RFC 5246 §7.4.9: "Recipients of Finished messages MUST verify that the contents are
    correct."; §7.2.2 decrypt_error: "A handshake cryptographic operation failed, including
    being unable to correctly verify a signature or validate a Finished message." """
    probe = after_hello()
    cke = probe.handshake_record(probe.client_key_exchange())
    good = bytearray(probe.finished_message())
    good[4 + bit // 8] ^= 0x80 >> (bit % 8)
    refused(probe.send(cke + probe.ccs() + probe.handshake_record(bytes(good))), AD.DECRYPT_ERROR)


@pytest.mark.parametrize("suite", [ECDSA_GCM, ECDSA_AES256], ids=suite_name)
def test_finished_computed_with_the_wrong_prf_is_decrypt_error(suite: int) -> None:
    """Finished.invalidPRF: the client's Finished computed with the PRF of the other hash
    (SHA-384 for a SHA-256 suite and back): decrypt_error.

    RFC 5246 §7.4.9: "For the PRF defined in Section 5, the Hash MUST be the Hash used as the
    basis for the PRF." and "Recipients of Finished messages MUST verify that the contents are
    correct." """
    probe = after_hello(hello_for(suite))
    cke = probe.handshake_record(probe.client_key_exchange())
    wrong = "sha384" if ALL_SUITES[suite].hash_name == "sha256" else "sha256"
    transcript = hashlib.new(wrong, b"".join(probe.transcript)).digest()
    verify_data = prf(wrong, probe.master, b"client finished", transcript, 12)
    data = cke + probe.ccs() + probe.handshake_record(probe.finished_message(verify_data))
    refused(probe.send(data), AD.DECRYPT_ERROR)


def test_finished_without_ccs_is_unexpected_message() -> None:
    """Finished.omitCCS and ClientServerStateMachine.omitCCS: ClientKeyExchange, then Finished
    without ChangeCipherSpec: unexpected_message.

    RFC 5246 §7.4.9: "It is a fatal error if a Finished message is not preceded by a
    ChangeCipherSpec message at the appropriate point in the handshake." """
    probe = after_hello()
    cke = probe.handshake_record(probe.client_key_exchange())
    refused(probe.send(cke + probe.finished_record()), AD.UNEXPECTED_MESSAGE)


# == both/tls12/rfc5246/HappyFlow ================================================================

HAPPY = [(s, g) for s in ECDHE_SUITES for g in sorted(EC_GROUPS)] + [
    (s, FFDHE2048.id) for s in DHE_SUITES
]


@pytest.mark.parametrize(("suite", "group"), HAPPY,
                         ids=[f"{suite_name(s)}-{g:#06x}" for s, g in HAPPY])  # fmt: skip
def test_happy_flow(suite: int, group: int) -> None:
    """HappyFlow.happyFlow: a benign handshake for every suite and group we implement, then
    application data both ways and close_notify answered.

    RFC 5246 §7.3 (Handshake Protocol Overview): the full handshake message flow."""
    groups = [group] if group in (SECP256R1.id, FFDHE2048.id) else [group, SECP256R1.id]
    extensions = [groups_ext(*groups), POINT_FORMATS, SIGALGS, EMS, RENEGO]
    probe = connected(client_hello((suite,), extensions))
    probe.echo()
    assert probe.send(probe.seal(ALERT, b"\x01\x00")).records == [CLOSE_NOTIFY]


# == both/lengthfield: Hello, ClientKeyExchange, Finished =======================================


def hello_offsets(message: bytes) -> dict[str, int]:
    at = {"session_id": 38}
    at["suites"] = 39 + message[38]
    at["compression"] = at["suites"] + 2 + int.from_bytes(message[at["suites"] : at["suites"] + 2])
    at["extensions"] = at["compression"] + 1 + message[at["compression"]]
    return at


def changed(message: bytes, offset: int, size: int, delta: int) -> bytes:
    value = int.from_bytes(message[offset : offset + size], "big") + delta
    return message[:offset] + value.to_bytes(size, "big") + message[offset + size :]


HELLO_LENGTHS: dict[str, Callable[[bytes], bytes]] = {
    "helloLengthTLS12 (-1)": lambda m: with_length(m, -1),
    "helloSessionIdLengthTLS12 (+1)": lambda m: changed(m, 38, 1, 1),
    "helloExtensionsLengthTLS12 (-1)": lambda m: changed(m, hello_offsets(m)["extensions"], 2, -1),
    "clientHelloCipherSuitesLengthTLS12 (-1)": lambda m: changed(
        m, hello_offsets(m)["suites"], 2, -1
    ),
    "clientHelloCompressionLengthTLS12 (-1)": lambda m: changed(
        m, hello_offsets(m)["compression"], 1, -1
    ),
}


@pytest.mark.parametrize("session_id", [b"", os.urandom(32)], ids=["no-session-id", "session-id"])
@pytest.mark.parametrize("change", HELLO_LENGTHS.values(), ids=HELLO_LENGTHS.keys())
def test_client_hello_length_field_is_decode_error(
    change: Callable[[bytes], bytes], session_id: bytes
) -> None:
    """lengthfield Hello.helloLengthTLS12, helloSessionIdLengthTLS12, helloExtensionsLengthTLS12,
    clientHelloCipherSuitesLengthTLS12, clientHelloCompressionLengthTLS12: one length field of
    the ClientHello off by one: decode_error.

    RFC 5246 §7.2.2 decode_error: "A message could not be decoded because some field was out of
    the specified range or the length of the message was incorrect."; §4.3: "The length will be
    in the form of a number consuming as many bytes as required to hold the vector's specified
    maximum (ceiling) length"."""
    message = client_hello(session_id=session_id)
    refused(Probe().send(record(HANDSHAKE, change(message))), AD.DECODE_ERROR)


@pytest.mark.parametrize("suite", [ECDSA_GCM, DHE_GCM], ids=suite_name)
@pytest.mark.parametrize("field", ["clientKeyExchangeLength", "clientKeyExchangePublicKeyLength"])
def test_client_key_exchange_length_field_is_decode_error(suite: int, field: str) -> None:
    """lengthfield ClientKeyExchange.clientKeyExchangeLength and
    clientKeyExchangePublicKeyLength: the message length, or the public value's length, one
    less than what is sent: decode_error.

    RFC 5246 §7.2.2 decode_error: "the length of the message was incorrect"; §7.4.7.2 and RFC
    8422 §5.7 (``opaque dh_Yc<1..2^16-1>``, ``opaque point <1..2^8-1>``)."""
    probe = after_hello(hello_for(suite))
    cke = probe.client_key_exchange()
    if field == "clientKeyExchangeLength":
        cke = with_length(cke, -1)
    else:
        size = 1 if ALL_SUITES[suite].key_exchange == "ECDHE" else 2
        cke = changed(cke, 4, size, -1)
    refused(probe.send(probe.handshake_record(cke)), AD.DECODE_ERROR)


def test_finished_length_field_is_decode_error() -> None:
    """lengthfield Finished.finishedLengthTLS12: the client's Finished with length 11 (the 12
    bytes of verify_data sent): decode_error.

    RFC 5246 §7.4.9: "verify_data_length ... Any cipher suite which does not explicitly specify
    verify_data_length has a verify_data_length equal to 12"; §7.2.2 decode_error."""
    probe = after_hello()
    cke = probe.handshake_record(probe.client_key_exchange())
    fin = with_length(probe.finished_message(), -1)
    refused(probe.send(cke + probe.ccs() + probe.handshake_record(fin)), AD.DECODE_ERROR)


# == both/lengthfield/extensions ================================================================


def hello_with_changed_extension(ext_type: int, change: Callable[[bytes], bytes],
                                 extensions: list[Ext]) -> bytes:  # fmt: skip
    """A ClientHello whose extension ``ext_type`` has its bytes (header included) changed."""
    body = b""
    for t, d in extensions:
        raw = struct.pack(">HH", t, len(d)) + d
        body += change(raw) if t == ext_type else raw
    message = client_hello(extensions=[])
    head = message[4:-2]
    hello = head + struct.pack(">H", len(body)) + body
    return handshake(HandshakeType.CLIENT_HELLO, hello)


def ext_plus_one(raw: bytes) -> bytes:
    return changed(raw, 2, 2, 1)


def inner_minus_one(size: int) -> Callable[[bytes], bytes]:
    return lambda raw: changed(raw, 4, size, -1)


def inner_plus_one(size: int) -> Callable[[bytes], bytes]:
    return lambda raw: changed(raw, 4, size, 1)


EXTENSION_LENGTHS: dict[str, tuple[int, Callable[[bytes], bytes], Ext]] = {
    "ALPNExtension.alpnExtensionLengthTLS12": (ALPN, ext_plus_one, alpn(b"h2", b"http/1.1")),
    "ALPNExtension.alpnProposedAlpnProtocolsLengthTLS12": (
        ALPN, inner_minus_one(2), alpn(b"h2", b"http/1.1")),
    "ECPointFormatExtension.pointFormatExtensionLength": (11, ext_plus_one, POINT_FORMATS),
    "ECPointFormatExtension.pointFormatExtensionFormatsLength": (
        11, inner_minus_one(1), (11, b"\x02\x00\x01")),
    "EncryptThenMacExtension (+1)": (ENCRYPT_THEN_MAC, ext_plus_one, (ENCRYPT_THEN_MAC, b"")),
    "ExtendedMasterSecretExtension.extendedMasterSecretExtensionLengthTLS12": (
        EXTENDED_MASTER_SECRET, ext_plus_one, EMS),
    "HeartbeatExtension (+1)": (HEARTBEAT_EXT, ext_plus_one, (HEARTBEAT_EXT, b"\x01")),
    "PaddingExtension (+1)": (PADDING, ext_plus_one, (PADDING, bytes(10))),
    "RenegotiationExtension.renegotiationExtensionLengthTLS12": (0xFF01, ext_plus_one, RENEGO),
    "RenegotiationExtension.renegotiationExtensionInfoLengthTLS12": (
        0xFF01, inner_plus_one(1), RENEGO),
    "SignatureAndHashAlgorithmsExtension.signatureAndHashAlgorithmsExtensionLengthTLS12": (
        SIGNATURE_ALGORITHMS, ext_plus_one, SIGALGS),
    "SignatureAndHashAlgorithmsExtension.signatureAndHashAlgorithmsListLengthTLS12": (
        SIGNATURE_ALGORITHMS, inner_minus_one(2), SIGALGS),
}  # fmt: skip


@pytest.mark.parametrize("place", ["first", "last"])
@pytest.mark.parametrize("case", EXTENSION_LENGTHS.values(), ids=EXTENSION_LENGTHS.keys())
def test_extension_length_field_is_decode_error(
    case: tuple[int, Callable[[bytes], bytes], Ext], place: str
) -> None:
    """lengthfield extensions (ALPNExtension, ECPointFormatExtension, EncryptThenMacExtension,
    ExtendedMasterSecretExtension, HeartbeatExtension, PaddingExtension,
    RenegotiationExtension, SignatureAndHashAlgorithmsExtension; TLS 1.2): the extension's
    length +1, or a length inside it off by one, with the extension first or last in the
    block: decode_error.

    RFC 5246 §7.2.2 decode_error: "A message could not be decoded because some field was out of
    the specified range or the length of the message was incorrect."; §7.4.1.4 ``opaque
    extension_data<0..2^16-1>``."""
    ext_type, change, ext = case
    others = [e for e in default_extensions() if e[0] != ext_type]
    extensions = [ext, *others] if place == "first" else [*others, ext]
    config = server_config(alpn_protocols=("http/1.1",))
    message = hello_with_changed_extension(ext_type, change, extensions)
    refused(Probe(config).hello(message), AD.DECODE_ERROR)


# == sanity of the helpers used above ============================================================


def test_unchanged_extension_hellos_complete_a_handshake() -> None:
    """The hellos of the extension length tests, left unchanged, complete a handshake: the
    failures above come from the one changed length."""
    config = server_config(alpn_protocols=("http/1.1",))
    for ext_type, _, ext in EXTENSION_LENGTHS.values():
        others = [e for e in default_extensions() if e[0] != ext_type]
        for extensions in ([ext, *others], [*others, ext]):
            message = hello_with_changed_extension(ext_type, lambda raw: raw, extensions)
            connected(message, config)
    assert hello_extensions(client_hello()) == default_extensions()
