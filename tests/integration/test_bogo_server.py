"""BoGo (BoringSSL ssl/test/runner) server tests, replayed against our ServerConnection.

In a BoGo ``serverTest`` the shim is the server and a Go client misbehaves as its ``Bugs``
flags say; ``expectedLocalError: "remote error: <alert>"`` names the alert the shim must send.
Here the misbehaving client is the scripted client of ``tls13_probe`` / ``tls12_probe``: it
writes every byte itself and learns the server's keys from its key log.

Only what the tlsfuzzer replays, the BoGo client audit and the RFC audits do not already check
is here. Each test names its BoGo test and the RFC sentence. A MUST of the RFC decides; where
the RFC allows several answers (and tlsfuzzer says nothing), BoGo's is the one wanted. The
differences found were fixed: a second ClientHello dropping the accepted PSK, tickets for a
client whose modes are not ours, and the limits on records in a row without application data
(32; 4 warning alerts), which the RFCs leave to the receiver and BoringSSL and OpenSSL set.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

import tls12_probe
from tls13_probe import (
    AES_128_GCM,
    ALERT,
    APPLICATION_DATA,
    EXT_EARLY_DATA,
    EXT_KEY_SHARE,
    EXT_PRE_SHARED_KEY,
    EXT_PSK_KEY_EXCHANGE_MODES,
    EXT_SERVER_NAME,
    EXT_SUPPORTED_GROUPS,
    EXT_SUPPORTED_VERSIONS,
    GET,
    HANDSHAKE,
    HRR_RANDOM,
    TLS12,
    TLS13,
    Extensions,
    Probe,
    client_hello,
    conversation,
    hello_extension,
    hello_extension_types,
    key_share_entry,
    record,
    tls13_extensions,
    u16s,
    vector,
)
from tls_fixtures import client_cert
from tlsmachine import ConnectionState
from tlsmachine.crypto.groups import SECP256R1, X25519
from tlsmachine.enums import AlertDescription, HandshakeType, PskKeyExchangeMode
from tlsmachine.errors import AlertReceived, ProtocolError
from tlsmachine.keyschedule import EarlySecret, finished_verify_data, traffic_key_iv
from tlsmachine.session import ExternalPsk

AD = AlertDescription
PSK = ExternalPsk(identity=b"psk1", key=b"ABCD" * 8)
"""BoGo's pskSHA256Credential (identity "psk1", a 32-byte key, SHA-256)."""
DHE_KE = bytes([PskKeyExchangeMode.PSK_DHE_KE])
BINDER_KEY = EarlySecret.from_psk("sha256", PSK.key).binder_key(external=True)
GREASE = 0x0A0A
KEY_UPDATE_NOT_REQUESTED = 0

# -- helpers ------------------------------------------------------------------------------------


def psk_extension(
    identities: Sequence[bytes], binders: Sequence[bytes], ages: Sequence[int] | None = None
) -> tuple[int, bytes]:
    """pre_shared_key (RFC 8446 §4.2.11): ``identities`` with ``ages``, then ``binders``."""
    ages = [0] * len(identities) if ages is None else ages
    pairs = zip(identities, ages, strict=True)
    ids = b"".join(vector(2, i) + a.to_bytes(4, "big") for i, a in pairs)
    return EXT_PRE_SHARED_KEY, vector(2, ids) + vector(2, b"".join(vector(1, b) for b in binders))


def psk_hello(
    extensions: Extensions | None = None,
    *,
    identities: Sequence[bytes] = (PSK.identity,),
    binder_count: int = 1,
    binder_len: int = 32,
    flip: bool = False,
    first: bool = False,
    prefix: bytes = b"",
    modes: bytes = DHE_KE,
    key: bytes = BINDER_KEY,
) -> bytes:
    """A ClientHello offering the external PSK, its binders computed as BoGo's Go client does
    (``generatePSKBinders``): the HMAC over ``prefix`` (the transcript before it, after a
    HelloRetryRequest) and the hello truncated before the binders (RFC 8446 §4.2.11.2), cut to
    ``binder_len`` bytes, its first byte flipped if ``flip``, repeated ``binder_count`` times.
    ``first`` puts pre_shared_key first instead of last."""
    extensions = tls13_extensions() if extensions is None else extensions
    placeholder = psk_extension(identities, [bytes(binder_len)] * binder_count)
    extensions = [*extensions, (EXT_PSK_KEY_EXCHANGE_MODES, vector(1, modes))]
    extensions = [placeholder, *extensions] if first else [*extensions, placeholder]
    hello = client_hello((AES_128_GCM,), extensions)
    if first or binder_count == 0:
        return hello
    size = 2 + binder_count * (1 + binder_len)
    truncated = hello[:-size]
    digest = hashlib.sha256(prefix + truncated).digest()
    binder = bytearray(finished_verify_data("sha256", key, digest)[:binder_len])
    if flip:
        binder[0] ^= 1
    return truncated + vector(2, b"".join(vector(1, bytes(binder)) for _ in range(binder_count)))


def psk_probe(**config: object) -> Probe:
    return Probe(external_psks=(PSK,), **config)


def no_share_extensions() -> Extensions:
    """An empty key_share list (BoGo's ``DefaultCurves: []CurveID{}``): forces a
    HelloRetryRequest for secp256r1."""
    return tls13_extensions((SECP256R1,), shares=())


def retry(probe: Probe, first_hello: bytes) -> None:
    """Send ``first_hello`` and check the server asks again (HelloRetryRequest)."""
    probe.send_hello(first_hello)
    assert probe.server_hello is not None and probe.server_hello[6:38] == HRR_RANDOM


def psk_selected(probe: Probe) -> bool:
    hello = probe.server_hello
    assert hello is not None
    return EXT_PRE_SHARED_KEY in hello_extension_types(hello)


# == PSK binders (resumption_tests.go, psk_tests.go) ============================================


def test_external_psk_sanity() -> None:
    """BoGo PSK-Server-SHA256-SHA256-TLS: the helper's ClientHello is a valid PSK offer; the
    server resumes with it (RFC 8446 §4.2.11) and the conversation completes."""
    probe = psk_probe()
    probe.handshake(psk_hello())
    assert psk_selected(probe)
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


def test_short_binder_is_decode_error() -> None:
    """BoGo PSK-Server-BinderWrongLength-FirstBinder / Resume-Server-BinderWrongLength
    (SendShortPSKBinder: a 31-byte binder) expects "remote error: error decrypting message".
    RFC 8446 §4.2.11 decides otherwise: ``opaque PskBinderEntry<32..255>`` and
    ``PskBinderEntry binders<33..2^16-1>``, so a lone 31-byte binder does not parse, and §4:
    a message with "an out-of-range length" MUST be answered with "decode_error" (BoringSSL
    does not enforce the lower bounds)."""
    probe = psk_probe()
    probe.expect_alert(lambda: probe.send_hello(psk_hello(binder_len=31)), AD.DECODE_ERROR)


def test_no_binders_is_decode_error() -> None:
    """BoGo PSK-Server-NoPSKBinder-FirstBinder / Resume-Server-NoPSKBinder (SendNoPSKBinder:
    an empty binders list): "remote error: error decoding message". RFC 8446 §4.2.11:
    ``PskBinderEntry binders<33..2^16-1>``, so an empty list does not parse (§6.2
    decode_error)."""
    probe = psk_probe()
    probe.expect_alert(lambda: probe.send_hello(psk_hello(binder_count=0)), AD.DECODE_ERROR)


def test_more_binders_than_identities_is_illegal_parameter() -> None:
    """BoGo PSK-Server-ExtraPSKBinder / Resume-Server-ExtraPSKBinder (SendExtraPSKBinder: two
    binders for one identity): "remote error: illegal parameter". RFC 8446 §4.2.11: binders
    are "one for each value in the identities list"; a count mismatch is a parameter that
    does not fit (§6.2 illegal_parameter)."""
    probe = psk_probe()
    probe.expect_alert(lambda: probe.send_hello(psk_hello(binder_count=2)), AD.ILLEGAL_PARAMETER)


def test_more_identities_than_binders_is_illegal_parameter() -> None:
    """BoGo Resume-Server-ExtraIdentityNoBinder (ExtraPSKIdentity without SendExtraPSKBinder):
    two identities, one binder: "remote error: illegal parameter" (RFC 8446 §4.2.11, as
    above)."""
    probe = psk_probe()
    hello = psk_hello(identities=(PSK.identity, b"extra identity"))
    probe.expect_alert(lambda: probe.send_hello(hello), AD.ILLEGAL_PARAMETER)


def test_extra_unknown_identity_with_its_binder_is_ignored() -> None:
    """BoGo ExtraPSKIdentity-TLS13 (ExtraPSKIdentity + SendExtraPSKBinder): a second, unknown
    identity with a binder of its own; the handshake succeeds on the first. RFC 8446 §4.2.11:
    unknown PSKs "SHOULD simply be ignored"; the server selects identity 0."""
    probe = psk_probe()
    probe.handshake(psk_hello(identities=(PSK.identity, b"extra identity"), binder_count=2))
    assert probe.server_hello is not None
    assert hello_extension(probe.server_hello, EXT_PRE_SHARED_KEY) == b"\x00\x00"


def test_pre_shared_key_not_last_is_illegal_parameter() -> None:
    """BoGo PSK-Server-PSKBinderFirstExtension / Resume-Server-PSKBinderFirstExtension
    (PSKBinderFirst): "remote error: illegal parameter". RFC 8446 §4.2.11: "Servers MUST check
    that it is the last extension and otherwise fail the handshake with an "illegal_parameter"
    alert"."""
    probe = psk_probe()
    probe.expect_alert(lambda: probe.send_hello(psk_hello(first=True)), AD.ILLEGAL_PARAMETER)


@pytest.mark.parametrize(
    ("binder_len", "flip", "alert"),
    [(31, False, AD.DECODE_ERROR), (32, True, AD.DECRYPT_ERROR)],
    ids=["short", "flip"],
)
def test_bad_binder_in_the_second_client_hello(binder_len: int, flip: bool, alert: AD) -> None:
    """BoGo PSK-Server-BinderWrongLength-SecondBinder, PSK-Server-InvalidPSKBinder-SecondBinder
    (OnlyCorruptSecondPSKBinder after a HelloRetryRequest): the first ClientHello's binder is
    right, the second's is short or wrong. A wrong binder: "decrypt_error" (RFC 8446
    §4.2.11.2: "If the binder does not validate, the server MUST abort the handshake with a
    "decrypt_error" alert"); a 31-byte one does not parse: "decode_error" (RFC 8446 §4.2.11,
    see test_short_binder_is_decode_error; BoGo expects decrypt_error for both)."""
    probe = psk_probe()
    retry(probe, psk_hello(no_share_extensions()))
    second = psk_hello(
        tls13_extensions((SECP256R1,)), prefix=probe.transcript, binder_len=binder_len, flip=flip
    )
    probe.expect_alert(lambda: probe.send_hello(second), alert)


def test_good_binder_in_the_second_client_hello_resumes() -> None:
    """The passing counterpart of the SecondBinder tests (BoGo PSK-Client-HRR-* from the other
    side): the second binder over message_hash(ClientHello1) + HelloRetryRequest + the
    truncated ClientHello2 validates (RFC 8446 §4.2.11.2, §4.4.1)."""
    probe = psk_probe()
    retry(probe, psk_hello(no_share_extensions()))
    probe.send_hello(psk_hello(tls13_extensions((SECP256R1,)), prefix=probe.transcript))
    assert probe.server_finished and psk_selected(probe)
    probe.send_finished()
    assert probe.server.state is ConnectionState.APP_DATA


def test_second_client_hello_without_the_psk_is_illegal_parameter() -> None:
    """BoGo Resume-Server-OmitPSKsOnSecondClientHello: "remote error: illegal parameter"
    (INCONSISTENT_CLIENT_HELLO). RFC 8446 §4.1.2: the second ClientHello is the first with
    only the listed changes; for pre_shared_key, updating the ages and binders and
    "(optionally) removing any PSKs which are incompatible with the server's indicated cipher
    suite" — this PSK is compatible, so dropping it is not allowed."""
    probe = psk_probe()
    retry(probe, psk_hello(no_share_extensions()))
    second = client_hello(
        (AES_128_GCM,),
        [*tls13_extensions((SECP256R1,)), (EXT_PSK_KEY_EXCHANGE_MODES, vector(1, DHE_KE))],
    )
    probe.expect_alert(lambda: probe.send_hello(second), AD.ILLEGAL_PARAMETER)


def test_unknown_psk_modes_next_to_psk_dhe_ke_are_ignored() -> None:
    """BoGo TLS13-SendUnknownModeSessionTicket-Server (modes 0x1a, psk_dhe_ke, 0x2a): the PSK
    is used. RFC 8446 §4.2.9: the client lists the modes it supports; unknown values are
    ignored like any unknown code point."""
    probe = psk_probe()
    probe.handshake(psk_hello(modes=bytes([0x1A, PskKeyExchangeMode.PSK_DHE_KE, 0x2A])))
    assert psk_selected(probe)


def test_only_unknown_psk_modes_decline_the_psk() -> None:
    """BoGo TLS13-SendBadKEModeSessionTicket-Server (modes 0x1a only): the PSK is declined and
    the server falls back to a full handshake. RFC 8446 §4.2.9: "Servers MUST NOT select a key
    exchange mode that is not listed by the client"."""
    probe = psk_probe(certificates=(tls12_probe.rsa_cert(),))
    probe.handshake(psk_hello(modes=b"\x1a"))
    assert not psk_selected(probe)
    assert any(m[0] == HandshakeType.CERTIFICATE for m in probe.messages)


def test_no_ticket_without_a_usable_psk_mode() -> None:
    """BoGo TLS13-ExpectNoSessionTicketOnBadKEMode-Server (ExpectNoNewSessionTicket with modes
    0x1a): no NewSessionTicket. RFC 8446 §4.2.9: "Servers SHOULD NOT send NewSessionTicket
    with tickets that are not compatible with the advertised modes"."""
    probe = Probe()
    hello = client_hello(
        extensions=[*tls13_extensions(), (EXT_PSK_KEY_EXCHANGE_MODES, vector(1, b"\x1a"))]
    )
    probe.handshake(hello)
    assert not any(m[0] == HandshakeType.NEW_SESSION_TICKET for m in probe.messages)


def test_psk_handshake_sends_no_certificate_request() -> None:
    """BoGo PSK-Server-DoNotRequestClientCertificate (the shim requires a client certificate):
    the PSK handshake goes on without one. RFC 8446 §4.3.2: "Servers which are authenticating
    with a PSK MUST NOT send the CertificateRequest message in the main handshake"."""
    probe = psk_probe(client_auth="required", client_cadata=_any_ca())
    probe.handshake(psk_hello())
    assert psk_selected(probe)
    assert not any(m[0] == HandshakeType.CERTIFICATE_REQUEST for m in probe.messages)


def _any_ca() -> bytes:
    return client_cert().leaf.public_bytes(Encoding.PEM)


# == 0-RTT skipping (tls13 handshake tests) ======================================================


def fake_early_data_extensions() -> Extensions:
    """early_data with an identity the server does not know (BoGo SendFakeEarlyDataLength:
    the Go client pretends to offer 0-RTT)."""
    return [(EXT_EARLY_DATA, b""), (EXT_PSK_KEY_EXCHANGE_MODES, vector(1, DHE_KE))]


def fake_psk_hello(extensions: Extensions, *, early_data: bool = True) -> bytes:
    out = [*extensions, *fake_early_data_extensions()[0 if early_data else 1 :]]
    out.append(psk_extension([b"\x5a" * 40], [b"\x33" * 32]))
    return client_hello((AES_128_GCM,), out)


def garbage(size: int) -> bytes:
    return bytes((5 * i + 1) % 256 for i in range(size))


def test_skipped_early_data_over_the_limit_is_refused() -> None:
    """BoGo SkipEarlyData-TooMuchData-TLS13 (16385 bytes of early data the server cannot
    decrypt; TOO_MUCH_SKIPPED_EARLY_DATA). RFC 8446 §4.2.10: the server skips records
    "discarding records which fail deprotection (up to the configured max_early_data_size)";
    beyond that nothing allows skipping (we announce no early data at all)."""
    probe = Probe()
    hello = fake_psk_hello(tls13_extensions())
    probe.transcript += hello
    chunks = b"".join(record(APPLICATION_DATA, garbage(4096)) for _ in range(4))
    probe.send(record(HANDSHAKE, hello) + chunks)  # 2^14 bytes: skipped
    before = probe.server.state
    with pytest.raises(ProtocolError) as info:
        probe.send(record(APPLICATION_DATA, garbage(256)))
    assert before is ConnectionState.HANDSHAKING
    assert info.value.alert in (AD.UNEXPECTED_MESSAGE, AD.BAD_RECORD_MAC)
    assert probe.server.state is ConnectionState.FAILED


def test_early_data_records_without_the_extension_are_bad_record_mac() -> None:
    """BoGo SkipEarlyData-OmitEarlyDataExtension-TLS13 (OmitEarlyDataExtension: early data
    records, but no early_data extension): DECRYPTION_FAILED_OR_BAD_RECORD_MAC. RFC 8446
    §4.2.10: skipping applies only when the client offered early_data; otherwise the record
    fails deprotection under the handshake keys: "bad_record_mac" (§5.2)."""
    probe = Probe()
    hello = fake_psk_hello(tls13_extensions(), early_data=False)
    probe.transcript += hello
    probe.expect_alert(
        record(HANDSHAKE, hello) + record(APPLICATION_DATA, garbage(20)), AD.BAD_RECORD_MAC
    )


def test_early_data_records_after_retry_without_the_extension_are_unexpected_message() -> None:
    """BoGo SkipEarlyData-OmitEarlyDataExtension-HelloRetryRequest-TLS13: after a
    HelloRetryRequest, application_data records although the client offered no early_data:
    "remote error: unexpected message". RFC 8446 §4.2.10 lets the server skip them only "if
    the server sent a HelloRetryRequest" in answer to early_data; otherwise a plaintext
    application_data record before the handshake is unexpected (§5: "unexpected_message")."""
    probe = Probe()
    hello = fake_psk_hello(no_share_extensions(), early_data=False)
    retry(probe, hello)
    probe.expect_alert(record(APPLICATION_DATA, garbage(20)), AD.UNEXPECTED_MESSAGE)


def test_fatal_alert_while_skipping_early_data_ends_the_connection() -> None:
    """BoGo SkipEarlyData-HRR-FatalAlert-TLS13 (SendEarlyAlert: a plaintext fatal
    handshake_failure alert among the early data the server skips after a HelloRetryRequest):
    the shim reports the alert (SSLV3_ALERT_HANDSHAKE_FAILURE). RFC 8446 §4.2.10 skips only
    application_data records; §6.2: a fatal alert closes the connection."""
    probe = Probe()
    retry(probe, fake_psk_hello(no_share_extensions()))
    probe.send(record(APPLICATION_DATA, garbage(4)))
    with pytest.raises(AlertReceived) as info:
        probe.send(record(ALERT, bytes([2, AD.HANDSHAKE_FAILURE])))
    assert info.value.description == AD.HANDSHAKE_FAILURE
    assert probe.server.state is ConnectionState.FAILED
    assert not [a for a in probe.alerts if a[0] == 2]  # no alert back to a fatal alert


# == record layer: empty records, warning alerts, KeyUpdates (runner.go basic tests) =============


def test_32_empty_records_are_accepted_tls13() -> None:
    """BoGo SendEmptyRecords-Pass: 32 empty application_data records, then data. RFC 8446
    §5.4: "Zero-length fragments of Application Data MAY be sent"."""
    probe = Probe()
    probe.handshake()
    empties = b"".join(probe.sealed(APPLICATION_DATA, b"") for _ in range(32))
    conversation(probe, empties + probe.sealed(APPLICATION_DATA, GET))


def test_33_empty_records_are_refused_tls13() -> None:
    """BoGo SendEmptyRecords (33 empty records: TOO_MANY_EMPTY_FRAGMENTS). The RFC sets no
    limit (RFC 8446 §5.4 only allows zero-length application data); BoringSSL caps a run of
    records that deliver nothing at 32 so a peer cannot keep the reader busy for free, and
    tlsfuzzer sends at most three in a row. We want BoGo's cap."""
    probe = Probe()
    probe.handshake()
    empties = b"".join(probe.sealed(APPLICATION_DATA, b"") for _ in range(33))
    with pytest.raises(ProtocolError) as info:
        probe.send(empties)
    assert info.value.alert is AD.UNEXPECTED_MESSAGE


def test_33_empty_records_are_refused_tls12() -> None:
    """BoGo SendEmptyRecords with TLS 1.2 (the basic tests run at every version): the 33rd
    empty application_data record in a row fails. RFC 5246 §6.2.1 allows zero-length
    application data but sets no limit; BoGo's cap is what we want."""
    probe = tls12_probe.Probe()
    probe.full_handshake()
    reply = probe.send(b"".join(probe.seal(APPLICATION_DATA, b"") for _ in range(33)))
    assert isinstance(reply.error, ProtocolError)


def test_4_warning_alerts_are_accepted_tls12() -> None:
    """BoGo SendWarningAlerts-Pass (TLS 1.2: four warning-level unexpected_message alerts, then
    data). RFC 5246 §7.2: on a warning the connection may go on."""
    probe = tls12_probe.Probe()
    probe.full_handshake()
    warnings = b"".join(probe.seal(ALERT, bytes([1, AD.UNEXPECTED_MESSAGE])) for _ in range(4))
    reply = probe.send(warnings)
    assert reply.error is None and reply.state is ConnectionState.APP_DATA
    probe.echo()


def test_5_warning_alerts_are_refused_tls12() -> None:
    """BoGo SendWarningAlerts (TLS 1.2, five warnings in a row: TOO_MANY_WARNING_ALERTS).
    RFC 5246 §7.2 leaves the reaction to a warning to the receiver; BoGo's cap is wanted."""
    probe = tls12_probe.Probe()
    probe.full_handshake()
    warnings = b"".join(probe.seal(ALERT, bytes([1, AD.UNEXPECTED_MESSAGE])) for _ in range(5))
    reply = probe.send(warnings)
    assert isinstance(reply.error, ProtocolError)
    assert reply.alert is AD.UNEXPECTED_MESSAGE


def test_user_canceled_warning_does_not_end_a_tls13_connection() -> None:
    """BoGo SendUserCanceledAlerts-TLS13 (four warning user_canceled alerts, then data: the
    connection goes on). RFC 8446 §6.1: user_canceled is a closure alert, not an error alert
    (it "should be followed by a "close_notify""), so receiving it does not abort."""
    probe = Probe()
    probe.handshake()
    cancels = b"".join(probe.sealed(ALERT, bytes([1, AD.USER_CANCELED])) for _ in range(4))
    conversation(probe, cancels + probe.sealed(APPLICATION_DATA, GET))


def test_bogus_alert_level_ends_the_connection() -> None:
    """BoGo SendBogusAlertType (an alert of level 0x42, description unexpected_message:
    UNKNOWN_ALERT_TYPE, "remote error: illegal parameter"). RFC 8446 §6: the level "can
    safely be ignored" and unexpected_message is an error alert, so the connection ends;
    whether an alert answers it is not fixed by the RFC (§6.2: after an error alert the
    connection is closed), so only the failure is asserted."""
    probe = Probe()
    probe.handshake()
    with pytest.raises(AlertReceived):
        probe.send(probe.sealed(ALERT, bytes([0x42, AD.UNEXPECTED_MESSAGE])))
    assert probe.server.state is ConnectionState.FAILED


def test_32_key_updates_in_a_row_are_accepted() -> None:
    """BoGo KeyUpdate-ToServer at the cap: 32 KeyUpdate(update_not_requested) in a row, then
    data (BoringSSL allows 32; RFC 8446 §4.6.3)."""
    probe = Probe()
    probe.handshake()
    updates = b"".join(probe.key_update(KEY_UPDATE_NOT_REQUESTED) for _ in range(32))
    conversation(probe, updates + probe.sealed(APPLICATION_DATA, GET))


def test_33_key_updates_in_a_row_are_refused() -> None:
    """BoGo TooManyKeyUpdates (33 KeyUpdate(update_not_requested) before any data:
    TOO_MANY_KEY_UPDATES). RFC 8446 §4.6.3 sets no limit; tlsfuzzer sends 32 and expects
    success, which the cap keeps; BoGo's cap is what we want."""
    probe = Probe()
    probe.handshake()
    updates = b"".join(probe.key_update(KEY_UPDATE_NOT_REQUESTED) for _ in range(33))
    with pytest.raises(ProtocolError) as info:
        probe.send(updates)
    assert info.value.alert is AD.UNEXPECTED_MESSAGE


def test_padded_record_is_accepted() -> None:
    """BoGo TLS13-RecordPadding (10 bytes of padding on every record the client sends, the
    handshake included). RFC 8446 §5.4: padding is zeros after the content type and the
    receiver strips it."""
    probe = Probe()
    probe.send_hello()
    probe.use_handshake_keys()
    probe.send(probe.sealed(HANDSHAKE, probe.finished(), padding=10))
    probe.use_application_keys()
    assert probe.server.state is ConnectionState.APP_DATA
    conversation(probe, probe.sealed(APPLICATION_DATA, GET, padding=10))


@pytest.mark.parametrize("padding", [0, 10], ids=["empty", "only-padding"])
def test_inner_plaintext_without_a_content_type_is_unexpected_message(padding: int) -> None:
    """BoGo TLS13-EmptyRecords / TLS13-OnlyPadding (OmitRecordContents: a protected record
    whose plaintext is empty or all zeros). BoGo expects only a failure; RFC 8446 §5.4 decides
    the alert: "If a receiving implementation does not find a non-zero octet in the cleartext,
    it MUST terminate the connection with an "unexpected_message" alert"."""
    probe = Probe()
    probe.handshake()
    bare = _seal_raw(probe, bytes(padding))
    probe.expect_alert(bare, AD.UNEXPECTED_MESSAGE)


def _seal_raw(probe: Probe, inner: bytes) -> bytes:
    """A TLSCiphertext whose decrypted TLSInnerPlaintext is exactly ``inner`` (RFC 8446 §5.2),
    under the client's application key 0, sequence number 0."""
    assert probe.suite is not None
    key, iv = traffic_key_iv(probe.suite, probe.write_secret)
    aead = probe.suite.aead(key)
    header = bytes([APPLICATION_DATA, 3, 3]) + (len(inner) + 16).to_bytes(2, "big")
    return header + aead.encrypt(iv, inner, header)


# == ClientHello (runner.go basic tests, tls13 handshake tests) ==================================


def test_extra_compression_methods_in_tls13_is_illegal_parameter() -> None:
    """BoGo ExtraCompressionMethods-TLS13 (methods 1, 2, 3, null, 4, 5, 6): "remote error:
    illegal parameter". RFC 8446 §4.1.2: the vector "MUST contain exactly one byte, set to
    zero ... If a TLS 1.3 ClientHello is received with any other value in this field, the
    server MUST abort the handshake with an "illegal_parameter" alert"."""
    probe = Probe()
    hello = client_hello(compression=bytes([1, 2, 3, 0, 4, 5, 6]))
    probe.expect_alert(lambda: probe.send_hello(hello), AD.ILLEGAL_PARAMETER)


def test_extra_compression_methods_in_tls12_are_fine() -> None:
    """BoGo ExtraCompressionMethods-TLS12: with null among them, TLS 1.2 goes on. RFC 5246
    §7.4.1.2: the list "MUST contain, and all implementations MUST support,
    CompressionMethod.null"; the server picks null."""
    probe = tls12_probe.Probe()
    probe.full_handshake(tls12_probe.client_hello(compression=bytes([1, 2, 3, 0, 4, 5, 6])))
    probe.echo()


def test_duplicate_key_shares_are_illegal_parameter() -> None:
    """BoGo DuplicateKeyShares-TLS13 (two shares for the same group: DUPLICATE_KEY_SHARE).
    RFC 8446 §4.2.8: "Clients MUST NOT offer multiple KeyShareEntry values for the same group
    ... Servers MAY check for violations of these rules and abort the handshake with an
    "illegal_parameter" alert if one is violated"."""
    probe = Probe()
    extensions = tls13_extensions()
    extensions[0] = (
        EXT_KEY_SHARE,
        vector(2, key_share_entry(SECP256R1) + key_share_entry(SECP256R1)),
    )
    probe.expect_alert(
        lambda: probe.send_hello(client_hello(extensions=extensions)), AD.ILLEGAL_PARAMETER
    )


def test_trailing_byte_after_the_key_shares_is_decode_error() -> None:
    """BoGo TrailingKeyShareData-TLS13 (a byte after the last KeyShareEntry inside the
    client_shares vector): DECODE_ERROR. RFC 8446 §4.2.8 / §6.2: a vector that does not parse
    is "decode_error"."""
    probe = Probe()
    extensions = tls13_extensions()
    extensions[0] = (EXT_KEY_SHARE, vector(2, key_share_entry(SECP256R1) + b"\x00"))
    probe.expect_alert(
        lambda: probe.send_hello(client_hello(extensions=extensions)), AD.DECODE_ERROR
    )


def test_second_client_hello_without_a_key_share_is_illegal_parameter() -> None:
    """BoGo SecondClientHelloMissingKeyShare-TLS13 (after a HelloRetryRequest for secp256r1 the
    second ClientHello has an empty key_share list: MISSING_KEY_SHARE). RFC 8446 §4.2.8:
    "servers MUST verify that the selected NamedGroup ... matches the group in the key_share
    of the second ClientHello" — "If this check fails, the server MUST abort the handshake
    with an "illegal_parameter" alert" (§4.1.4 also allows it)."""
    probe = Probe()
    retry(probe, client_hello(extensions=no_share_extensions()))
    second = client_hello(extensions=no_share_extensions())
    probe.expect_alert(lambda: probe.send_hello(second), AD.ILLEGAL_PARAMETER)


@pytest.mark.parametrize("session_id", [b"", bytes(16), bytes(32)], ids=["empty", "16", "32"])
def test_any_session_id_length_is_echoed(session_id: bytes) -> None:
    """BoGo EmptySessionID-TLS13, Server-ShortSessionID-TLS13, Server-FullSessionID-TLS13: the
    server answers and legacy_session_id_echo is the client's (RFC 8446 §4.1.3: "A client
    which receives a legacy_session_id_echo field that does not match what it sent in the
    ClientHello MUST abort")."""
    probe = Probe()
    probe.server.receive_data(record(HANDSHAKE, client_hello(session_id=session_id)))
    data = probe.server.data_to_send()
    server_hello = data[5 : 5 + int.from_bytes(data[3:5], "big")]
    assert server_hello[0] == HandshakeType.SERVER_HELLO
    assert server_hello[38] == len(session_id)
    assert server_hello[39 : 39 + len(session_id)] == session_id
    assert probe.server.state is not ConnectionState.FAILED


def test_grease_everywhere_is_ignored() -> None:
    """BoGo GREASE-Server-TLS13 from the client side (the Go client sends GREASE code points,
    RFC 8701 §3): GREASE cipher suite, extension, group and key share, version, signature
    algorithm and PSK mode are ignored and the handshake completes. RFC 8701 §3.2: servers
    "MUST NOT negotiate any GREASE value when offered in a ClientHello" and treat them as
    unknown."""
    probe = Probe()
    extensions: Extensions = [
        (GREASE, b""),
        (
            EXT_KEY_SHARE,
            vector(2, GREASE.to_bytes(2, "big") + vector(2, b"\x00") + key_share_entry(X25519)),
        ),
        (EXT_SUPPORTED_VERSIONS, vector(1, u16s((GREASE, TLS13, TLS12)))),
        (EXT_SUPPORTED_GROUPS, vector(2, u16s((GREASE, X25519.id)))),
        (13, vector(2, u16s((GREASE, 0x0804)))),
        (EXT_PSK_KEY_EXCHANGE_MODES, vector(1, bytes([0x0B, PskKeyExchangeMode.PSK_DHE_KE]))),
        (0x1A1A, b"\x00"),
    ]
    probe.handshake(client_hello((GREASE, AES_128_GCM), extensions))
    assert probe.server_hello is not None
    assert (
        int.from_bytes(hello_extension(probe.server_hello, EXT_SUPPORTED_VERSIONS), "big") == TLS13
    )
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


def test_empty_host_name_is_decode_error() -> None:
    """BoGo's server-name tests feed only valid names; RFC 6066 §3 defines ``HostName
    <1..2^16-1>``, so an empty host name does not parse: "decode_error" (RFC 8446 §6.2)."""
    probe = Probe()
    sni = vector(2, b"\x00" + vector(2, b""))
    hello = client_hello(extensions=[*tls13_extensions(), (EXT_SERVER_NAME, sni)])
    probe.expect_alert(lambda: probe.send_hello(hello), AD.DECODE_ERROR)


def test_empty_handshake_record_before_client_hello_is_refused() -> None:
    """BoGo V2ClientHello-EmptyRecordPrefix (an empty handshake record before the hello:
    the shim fails). RFC 8446 §5.1: "Implementations MUST NOT send zero-length fragments of
    Handshake types" — the server aborts ("unexpected_message" or "decode_error")."""
    probe = Probe()
    with pytest.raises(ProtocolError) as info:
        probe.send(record(HANDSHAKE, b"") + record(HANDSHAKE, client_hello()))
    assert info.value.alert in (AD.UNEXPECTED_MESSAGE, AD.DECODE_ERROR)
    assert probe.server.state is ConnectionState.FAILED
