"""Round four of the tlsfuzzer replays: the scripts no other test file plays yet, against our
ServerConnection, in memory.

Each test replays one conversation of a script of the tlsfuzzer project (``scripts/<name>.py``
in tlsfuzzer/tlsfuzzer, named in the docstring with the RFC rule behind the expectation). The
TLS 1.2 conversations use :class:`tls12_probe.Probe`, the TLS 1.3 ones
:class:`tls13_probe.Probe`: scripted clients that write every message byte by byte and hold the
keys, so they can misbehave where a real client would not.

Scripts covered here: test-TLSv1_2-rejected-without-TLSv1_2, test-connection-abort,
test-cve-2004-0079, test-cve-2020-25648, test-dhe-key-share-random,
test-ecdhe-rsa-key-share-random, test-dhe-no-shared-secret-padding, test-encrypt-then-mac,
test-export-ciphers-rejected, test-no-heartbeat, test-ssl-death-alert, test-sslv2-connection
(and test-sslv2-force-cipher*), test-sslv2hello-protocol, test-signature-algorithms,
test-fuzzed-plaintext (its AEAD shape) and test-tls13-ecdhe-curves.

The TLS 1.2 scripts mostly offer static-RSA or CBC suites, which we do not implement; their
conversations keep the same shape (the same malformation, the same expected answer) on an
ECDHE or DHE AEAD suite with signature_algorithms added. Scripts that check we refuse something
we do not support (SSL 2.0 hellos, export suites, CBC-only offers, heartbeat) assert the refusal
and the alert.

Where tlsfuzzer expects something the RFC does not require, the RFC decides and the docstring
says so; where the RFC allows several answers we want tlsfuzzer's. A test we fail where the RFC
agrees with tlsfuzzer is marked ``xfail(strict=True)`` with the reason and the place of the fix.
"""

from __future__ import annotations

import os
import struct

import pytest

import tls13_probe
from tls12_probe import (
    AD,
    EMS,
    POINT_FORMATS,
    RENEGO,
    SIGALGS,
    SIGNATURE_ALGORITHMS,
    Ext,
    Probe,
    Reply,
    client_hello,
    default_extensions,
    groups_ext,
    handshake,
    refused,
    server_config,
    sigalgs_ext,
    u16_list,
)
from tls13_probe import (
    EXT_KEY_SHARE,
    EXT_SIGNATURE_ALGORITHMS,
    EXT_SIGNATURE_ALGORITHMS_CERT,
    EXT_SUPPORTED_GROUPS,
    EXT_SUPPORTED_VERSIONS,
    GET,
    TLS12,
    TLS13,
    conversation,
    u16s,
    vector,
)
from tlsmachine import ConnectionState
from tlsmachine.crypto.groups import (
    FFDHE2048,
    SECP256R1,
    SECP384R1,
    SECP521R1,
    X448,
    X25519,
    Group,
    PrivateKeyShare,
)
from tlsmachine.crypto.suites import (
    TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
    TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
)
from tlsmachine.enums import AlertDescription, HandshakeType
from tlsmachine.handshake12 import dh_premaster
from wire import ALERT, APPLICATION_DATA, CCS, HANDSHAKE, record

RSA_GCM = TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.id
DHE_GCM = TLS_DHE_RSA_WITH_AES_128_GCM_SHA256.id
SCSV = 0x00FF
HEARTBEAT_EXT = 15
HEARTBEAT = 24  # content type (RFC 6520 §3)
ENCRYPT_THEN_MAC = 22
CLOSE_NOTIFY = (ALERT, b"\x01\x00")

RSA_PKCS1_SHA256 = 0x0401
RSA_PKCS1_SHA1 = 0x0201

# tlsfuzzer's RSA_SIG_ALL (helpers.py): RSA-PSS (rsae, pss) and PKCS#1 v1.5 with SHA-2 and SHA-1
RSA_SIG_ALL = (
    0x0804,
    0x0805,
    0x0806,
    0x0809,
    0x080A,
    0x080B,
    0x0601,
    0x0501,
    0x0401,
    0x0301,
    0x0201,
)
SIG_ALGS_CERT = 50


def rsa_hello(
    sigalgs: Ext = SIGALGS,
    *,
    suites: tuple[int, ...] = (RSA_GCM, DHE_GCM, SCSV),
    extra: tuple[Ext, ...] = (),
    version: int = 0x0303,
) -> bytes:
    """tlsfuzzer's ``-d`` ClientHello on our suites: ECDHE_RSA / DHE_RSA AES-128-GCM,
    supported_groups secp256r1 and ffdhe2048, the given signature_algorithms."""
    extensions = [groups_ext(SECP256R1.id, FFDHE2048.id), POINT_FORMATS, sigalgs, *extra]
    return client_hello(suites, extensions, version=version)


def completes(probe: Probe, hello: bytes, request: bytes = GET) -> Reply:
    """A whole conversation: handshake, request echoed, close_notify answered."""
    probe.full_handshake(hello)
    probe.echo(request)
    reply = probe.send(probe.seal(ALERT, b"\x01\x00"))
    assert reply.records == [CLOSE_NOTIFY]
    return reply


def any_fatal_alert(reply: Reply) -> None:
    """tlsfuzzer ExpectAlert() + ExpectClose(): some fatal alert, nothing else, closed."""
    assert reply.error is not None
    assert [t for t, _ in reply.records] == [ALERT]
    assert reply.records[0][1][0] == 2
    assert reply.state is ConnectionState.FAILED
    assert HandshakeType.SERVER_HELLO not in reply.handshake_types


# == test-TLSv1_2-rejected-without-TLSv1_2 =========================================================

TLS12_ONLY_SUITES = {
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256": 0x0067,
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256": 0x006B,
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256": TLS_DHE_RSA_WITH_AES_128_GCM_SHA256.id,
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384": TLS_DHE_RSA_WITH_AES_256_GCM_SHA384.id,
    "TLS_RSA_WITH_AES_128_CBC_SHA256": 0x003C,
    "TLS_RSA_WITH_AES_256_CBC_SHA256": 0x003D,
    "TLS_RSA_WITH_AES_128_GCM_SHA256": 0x009C,
    "TLS_RSA_WITH_AES_256_GCM_SHA384": 0x009D,
}


@pytest.mark.parametrize("suite", TLS12_ONLY_SUITES.values(), ids=TLS12_ONLY_SUITES.keys())
def test_tls12_only_suite_in_a_tls11_hello_is_protocol_version(suite: int) -> None:
    """test-TLSv1_2-rejected-without-TLSv1_2 "<suite> in TLSv1.1": a ClientHello with
    client_version {3,2} offering one TLS 1.2-only suite (and renegotiation_info). tlsfuzzer
    wants any alert; RFC 8996 §5: "Any party receiving a Hello message with the protocol
    version set to {03,02} MUST respond with a "protocol_version" alert message and close the
    connection." (we implement TLS 1.2 and 1.3 only)."""
    reply = Probe().hello(client_hello((suite,), [RENEGO], version=0x0302))
    refused(reply, AD.PROTOCOL_VERSION)
    assert reply.handshake_types == []


# == test-connection-abort =========================================================================

ABORT_STAGES = [
    "Before ClientHello",
    "After ClientHello",
    "After ServerHello",
    "After server Certificate",
    "After ServerKeyExchange",
    "After ServerHelloDone",
    "After ClientKeyExchange",
    "After client CCS",
    "After client Finished",
    "After server CCS",
    "After server Finished",
    "After sending ApplicationData",
    "After receiving ApplicationData",
]


@pytest.mark.parametrize("stage", ABORT_STAGES)
def test_tls12_client_going_away_leaves_nothing_but_close_notify(stage: str) -> None:
    """test-connection-abort (``-d``) "<stage>": the client closes the TCP connection without
    an alert at each point of a TLS 1.2 handshake (the server's flight comes in one go, so the
    stages after ServerHello differ only in what the client read). tlsfuzzer checks that the
    server survives (its sanity run follows). In memory: the data so far raises nothing, and
    when the application then closes, the server sends at most a close_notify (RFC 5246
    §7.2.1: "Either party may initiate a close by sending a close_notify alert"; an
    incomplete handshake leaves nothing to resume, RFC 5246 §7.2)."""
    probe = Probe()
    at = ABORT_STAGES.index(stage)
    if at >= 1:
        reply = probe.hello(rsa_hello())
        assert reply.error is None
        assert reply.handshake_types[-1] == HandshakeType.SERVER_HELLO_DONE
    if at >= 6:
        data = probe.handshake_record(probe.client_key_exchange())
        if at >= 7:
            data += probe.ccs()
        if at >= 8:
            data += probe.finished_record()
        reply = probe.send(data)
        assert reply.error is None, reply.error
    if at >= 8:
        assert probe.server.state is ConnectionState.APP_DATA
        probe.check_server_finished()
    if at == 11:
        assert probe.send(probe.seal(APPLICATION_DATA, GET)).error is None
    if at == 12:
        probe.echo()
    before = probe.server.state
    probe.server.close()
    closing = probe.send(b"").records
    assert closing in ([], [CLOSE_NOTIFY]), (before, closing)


# == test-cve-2004-0079 ============================================================================


def test_change_cipher_spec_inside_a_fragmented_client_hello_is_unexpected_message() -> None:
    """test-cve-2004-0079 "Single interleaved ClientHello fragment": the ClientHello split into
    2-byte handshake records, the first of them, then a ChangeCipherSpec (OpenSSL's null
    pointer dereference). Expected: unexpected_message. RFC 5246 §7.1: ChangeCipherSpec is sent
    "during the handshake after the security parameters have been agreed upon"; before a whole
    ClientHello nothing is agreed, and §7.2.2 unexpected_message: "An inappropriate message
    was received"."""
    message = client_hello((RSA_GCM, DHE_GCM), default_extensions())
    reply = Probe().send(record(HANDSHAKE, message[:2]) + record(CCS, b"\x01"))
    refused(reply, AD.UNEXPECTED_MESSAGE)
    assert reply.handshake_types == []


def test_change_cipher_specs_between_every_client_hello_fragment_are_unexpected_message() -> None:
    """test-cve-2004-0079 "Multiple interleaved ClientHello fragment": every 2-byte fragment of
    the ClientHello followed by a ChangeCipherSpec, all in one TCP write. The first
    ChangeCipherSpec is already out of order: unexpected_message and nothing else (RFC 5246
    §7.1, §7.2.2)."""
    message = client_hello((RSA_GCM, DHE_GCM), default_extensions())
    fragments = [message[at : at + 2] for at in range(0, len(message), 2)]
    data = b"".join(record(HANDSHAKE, f) + record(CCS, b"\x01") for f in fragments)
    reply = Probe().send(data)
    refused(reply, AD.UNEXPECTED_MESSAGE)
    assert reply.handshake_types == []


def test_cve_2004_0079_sanity() -> None:
    """test-cve-2004-0079 "sanity" (``-d``): the same ClientHello unfragmented completes."""
    completes(Probe(), client_hello((RSA_GCM, DHE_GCM, SCSV), default_extensions()))


# == test-cve-2020-25648 (TLS 1.3) =================================================================


def _cve_2020_25648_hello() -> bytes:
    """The script's ClientHello: secp256r1 share, rsa_pss_rsae/pss_sha256 and ecdsa P-256."""
    extensions = tls13_probe.tls13_extensions(schemes=(0x0804, 0x0809, 0x0403))
    return tls13_probe.client_hello(extensions=extensions)


def test_cve_2020_25648_sanity() -> None:
    """test-cve-2020-25648 "sanity": the handshake and a request (RFC 8446 §4)."""
    probe = tls13_probe.Probe()
    probe.handshake(_cve_2020_25648_hello())
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


@pytest.mark.parametrize("with_hello", [False, True], ids=["after-CH", "CH-and-CCS-together"])
def test_ten_change_cipher_specs_after_the_client_hello_are_unexpected_message(
    with_hello: bool,
) -> None:
    """test-cve-2020-25648 "Multiple CCS Messages in one TCP packet" and "CH and multiple CCS
    Messages in one TCP packet": ten change_cipher_spec records after the ClientHello (NSS's
    CVE-2020-25648: a flood of them kept the server busy). tlsfuzzer expects the server's whole
    flight, then unexpected_message.

    RFC 8446 §5 says a change_cipher_spec between the first ClientHello and the peer's Finished
    "MUST simply drop it", and sets no count; Appendix D.4 has a client send one. Refusing the
    second is what tlsfuzzer (and test-tls13-multiple-ccs-messages) wants, and what we do."""
    probe = tls13_probe.Probe()
    hello = _cve_2020_25648_hello()
    ccs = record(CCS, b"\x01") * 10
    if with_hello:
        probe.transcript += hello
        data = tls13_probe.record(HANDSHAKE, hello, version=0x0301) + ccs
    else:
        probe.send_hello(hello)
        data = ccs
    probe.expect_alert(data, AlertDescription.UNEXPECTED_MESSAGE)
    assert probe.server_finished  # the server's flight came first


# == test-dhe-key-share-random, test-ecdhe-rsa-key-share-random ====================================


def _server_values(suite: int) -> tuple[bytes, bytes, bytes]:
    """One full conversation; the ServerHello random, session_id and the key share of the
    ServerKeyExchange."""
    probe = Probe()
    completes(probe, rsa_hello(suites=(suite, SCSV)))
    assert probe.ske is not None and probe.server_hello is not None
    share = probe.ske.dhe().ys if suite == DHE_GCM else probe.ske.ecdhe().public
    return probe.server_hello.random, probe.server_hello.legacy_session_id_echo, share


@pytest.mark.parametrize("suite", [DHE_GCM, RSA_GCM], ids=["dhe", "ecdhe"])
def test_server_randoms_session_ids_and_key_shares_are_unique(suite: int) -> None:
    """test-dhe-key-share-random and test-ecdhe-rsa-key-share-random "Protocol (3, 3)" (and
    "sanity"), repeated: every connection has its own ServerHello.random, session_id and
    (EC)DHE public value. RFC 5246 §7.4.1.2: the random is "generated by a secure random
    number generator"; RFC 5246 §F.1.1.3 / RFC 8422 §5.4: the key is ephemeral; RFC 7919 §5
    and RFC 7525 §6.4 (DH exponent reuse) advise against reusing a DHE key."""
    values = [_server_values(suite) for _ in range(6)]
    for column in range(3):
        seen = [v[column] for v in values]
        if column == 1:
            seen = [s for s in seen if s]  # an empty session_id is allowed (not cached)
        assert len(set(seen)) == len(seen), column
    assert all(len(v[0]) == 32 for v in values)


@pytest.mark.parametrize("version", [0x0300, 0x0301, 0x0302])
def test_key_share_random_with_old_protocol_is_protocol_version(version: int) -> None:
    """test-dhe-key-share-random / test-ecdhe-rsa-key-share-random "Protocol (3, 0)", "(3, 1)",
    "(3, 2)": tlsfuzzer expects a handshake at each version a server supports; we support TLS
    1.2 and 1.3 only. RFC 7568 §3 ({03,00}) and RFC 8996 §4, §5 ({03,01}, {03,02}): "MUST
    respond with a "protocol_version" alert message and close the connection"."""
    refused(Probe().hello(rsa_hello(version=version)), AD.PROTOCOL_VERSION)


def sslv2_client_hello(
    suites: tuple[int, ...], version: int = 0x0303, *, challenge: bytes | None = None
) -> bytes:
    """An SSL 2.0 CLIENT-HELLO record (RFC 5246 Appendix E.2): msg_type 1, version,
    cipher_spec_length, session_id_length (0), challenge_length, 3-byte cipher specs (a TLS
    suite is 0x00 followed by its 2 bytes), the challenge."""
    specs = b"".join(s.to_bytes(3, "big") for s in suites)
    challenge = os.urandom(16) if challenge is None else challenge
    body = bytes((1,)) + version.to_bytes(2, "big")
    body += struct.pack(">HHH", len(specs), 0, len(challenge)) + specs + challenge
    return bytes((0x80 | (len(body) >> 8), len(body) & 0xFF)) + body


@pytest.mark.parametrize("version", [0x0300, 0x0301, 0x0302, 0x0303])
@pytest.mark.parametrize("suite", [DHE_GCM, RSA_GCM], ids=["dhe", "ecdhe"])
def test_key_share_random_in_sslv2_compatible_hello_is_refused(suite: int, version: int) -> None:
    """test-dhe-key-share-random / test-ecdhe-rsa-key-share-random / test-dhe-no-shared-secret-
    padding "Protocol (3, N) in SSLv2 compatible ClientHello": tlsfuzzer expects a handshake for
    every version the server supports. Deliberate difference: RFC 8446 Appendix D.5
    "Implementations are NOT RECOMMENDED to accept an SSL version 2.0 compatible CLIENT-HELLO in
    order to negotiate older versions of TLS" (RFC 5246 Appendix E.2 makes accepting it a MAY).
    We refuse with a fatal alert and no ServerHello."""
    any_fatal_alert(Probe().send(sslv2_client_hello((suite, SCSV), version)))


# == test-dhe-no-shared-secret-padding =============================================================


def _short_secret_pair() -> tuple[int, int, bytes]:
    """A client exponent ``xc`` and a server exponent ``xs`` whose ffdhe2048 shared secret
    g^(xc*xs) mod p has a leading zero byte: walking xs upwards multiplies the secret by
    g^xc each step, so about 256 cheap multiplications find one."""
    p = FFDHE2048.p
    xc = int.from_bytes(os.urandom(32), "big") | 1 << 255
    yc = pow(2, xc, p)
    xs = int.from_bytes(os.urandom(32), "big") | 1 << 255
    z = pow(yc, xs, p)
    while z.bit_length() > 2048 - 8:
        z = z * yc % p
        xs += 1
    return xc, xs, z.to_bytes(256, "big")


def test_dhe_shared_secret_with_leading_zero_byte_is_stripped() -> None:
    """test-dhe-no-shared-secret-padding "Protocol (3, 3)" (and "sanity"): tlsfuzzer repeats
    DHE handshakes until one has a shared secret shorter than the prime and checks the
    handshake still completes. RFC 5246 §8.1.2: "Leading bytes of Z that contain all zero bits
    are stripped before it is used as the pre_master_secret." (TLS 1.2 only; RFC 8446 §7.4.1
    pads in TLS 1.3.) In memory we pick both exponents so that Z starts with a zero byte (the
    server's through its key_share_factory) and derive the keys from the stripped value."""
    xc, xs, z = _short_secret_pair()
    assert z[0] == 0

    def factory(group: Group) -> PrivateKeyShare:
        assert group is FFDHE2048
        return group.from_private_bytes(xs.to_bytes(32, "big"))

    probe = Probe(server_config(key_share_factory=factory))
    reply = probe.hello(rsa_hello(suites=(DHE_GCM, SCSV), extra=(EMS, RENEGO)))
    assert reply.handshake_types[-1] == HandshakeType.SERVER_HELLO_DONE
    assert probe.ske is not None
    client = FFDHE2048.from_private_bytes(xc.to_bytes(32, "big"))
    assert client.exchange(probe.ske.dhe().ys.rjust(256, b"\x00")) == z
    premaster = z.lstrip(b"\x00")
    assert len(premaster) < 256 and premaster == dh_premaster(z)
    cke = handshake(HandshakeType.CLIENT_KEY_EXCHANGE, vector(2, client.public_bytes))
    probe.derive(premaster, cke)
    reply = probe.send(probe.handshake_record(cke) + probe.ccs() + probe.finished_record())
    assert reply.error is None, reply.error
    probe.check_server_finished()
    probe.echo()


# == test-encrypt-then-mac =========================================================================


def test_encrypt_then_mac_with_aead_suites_is_not_echoed() -> None:
    """test-encrypt-then-mac "Encrypt-then-MAC smoke test" (``-d``), on AEAD suites: the
    script offers CBC suites and expects encrypt_then_mac in the ServerHello. We implement no
    CBC suite; RFC 7366 §3: "If a server receives an encrypt-then-MAC request extension from a
    client and then selects a stream or Authenticated Encryption with Associated Data (AEAD)
    ciphersuite, it MUST NOT send an encrypt-then-MAC response extension back to the client."
    The handshake completes (renegotiation_info answered, RFC 5746 §3.6)."""
    probe = Probe()
    completes(probe, rsa_hello(extra=((ENCRYPT_THEN_MAC, b""), RENEGO)))
    assert probe.server_extension(ENCRYPT_THEN_MAC) is None
    assert probe.server_extension(0xFF01) == b"\x00"


def test_encrypt_then_mac_with_cbc_suites_only_is_handshake_failure() -> None:
    """test-encrypt-then-mac "Encrypt-then-MAC smoke test" as written: ECDHE_RSA and DHE_RSA
    AES_128_CBC_SHA only, with encrypt_then_mac. We implement no CBC suite, so there is no
    suite in common: RFC 5246 §7.4.1.3 / §7.2.2 handshake_failure."""
    hello = rsa_hello(suites=(0xC013, 0x0033, SCSV), extra=((ENCRYPT_THEN_MAC, b""),))
    refused(Probe().hello(hello), AD.HANDSHAKE_FAILURE)


# == test-export-ciphers-rejected ==================================================================

EXPORT_SUITES = {
    "TLS_RSA_EXPORT_WITH_RC4_40_MD5": 0x0003,
    "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5": 0x0006,
    "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA": 0x0008,
    "TLS_DH_DSS_EXPORT_WITH_DES40_CBC_SHA": 0x000B,
    "TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA": 0x000E,
    "TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA": 0x0011,
    "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA": 0x0014,
    "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5": 0x0017,
    "TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA": 0x0019,
    "TLS_KRB5_EXPORT_WITH_DES_CBC_40_SHA": 0x0026,
    "TLS_KRB5_EXPORT_WITH_RC2_CBC_40_SHA": 0x0027,
    "TLS_KRB5_EXPORT_WITH_RC4_40_SHA": 0x0028,
    "TLS_KRB5_EXPORT_WITH_DES_CBC_40_MD5": 0x0029,
    "TLS_KRB5_EXPORT_WITH_RC2_CBC_40_MD5": 0x002A,
    "TLS_KRB5_EXPORT_WITH_RC4_40_MD5": 0x002B,
    "TLS_RSA_EXPORT1024_WITH_DES_CBC_SHA": 0x0062,
    "TLS_DHE_DSS_EXPORT1024_WITH_DES_CBC_SHA": 0x0063,
    "TLS_RSA_EXPORT1024_WITH_RC4_56_SHA": 0x0064,
    "TLS_DHE_DSS_EXPORT1024_WITH_RC4_56_SHA": 0x0065,
}
EXPORT_IDS = list(EXPORT_SUITES)


@pytest.mark.parametrize("suite", EXPORT_SUITES.values(), ids=EXPORT_IDS)
def test_export_suite_next_to_a_good_one_is_never_picked(suite: int) -> None:
    """test-export-ciphers-rejected "<export suite> with AES_128 in TLSv1.2": the export suite
    first, then an acceptable suite (the script's is RSA AES_128_CBC_SHA; ours ECDHE_RSA
    AES_128_GCM). The server picks the acceptable one and completes. RFC 7525 §4.1:
    "Implementations MUST NOT negotiate cipher suites offering less than 112 bits of security,
    including so-called "export-level" encryption"; RFC 5246 Appendix A.5 lists none of them."""
    probe = Probe()
    completes(probe, rsa_hello(suites=(suite, RSA_GCM, SCSV)))
    assert probe.server_hello is not None and probe.server_hello.cipher_suite == RSA_GCM


@pytest.mark.parametrize("suite", EXPORT_SUITES.values(), ids=EXPORT_IDS)
def test_export_suite_alone_is_handshake_failure(suite: int) -> None:
    """test-export-ciphers-rejected "<export suite> in TLSv1.2" (the script's "alone" probes
    all send a TLS 1.2 hello): only the export suite and the SCSV. tlsfuzzer accepts
    handshake_failure or protocol_version; with no suite in common, RFC 5246 §7.4.1.3 says
    handshake_failure (RFC 7525 §4.1: export suites MUST NOT be negotiated)."""
    refused(Probe().hello(rsa_hello(suites=(suite, SCSV))), AD.HANDSHAKE_FAILURE)


@pytest.mark.parametrize("version", [0x0300, 0x0301, 0x0302], ids=["SSLv3", "TLSv1.0", "TLSv1.1"])
def test_export_suite_in_an_old_version_hello_is_protocol_version(version: int) -> None:
    """test-export-ciphers-rejected "<export suite> with AES_128 in TLSv1.1 / TLSv1.0 / SSLv3"
    with ``--min-ver TLSv1.2`` (our lowest version): handshake_failure or protocol_version
    expected. RFC 8996 §4, §5 and RFC 7568 §3: a hello with {03,02}, {03,01} or {03,00} "MUST"
    get protocol_version."""
    answers = {
        Probe().hello(rsa_hello(suites=(suite, RSA_GCM, SCSV), version=version)).alert
        for suite in EXPORT_SUITES.values()
    }
    assert answers == {AD.PROTOCOL_VERSION}


# == test-no-heartbeat =============================================================================

HEARTBEAT_REQUEST = b"\x01" + struct.pack(">H", 14) + b"test heartbeat" + bytes(16)
HEARTBLEED_REQUEST = b"\x01" + struct.pack(">H", 64) + b"test heartbeat" + bytes(16)


def test_heartbeat_extension_is_not_answered() -> None:
    """test-no-heartbeat "no extension in Server Hello": heartbeat (peer_allowed_to_send) in the
    ClientHello; the ServerHello has renegotiation_info but no heartbeat, and the connection
    works. We do not implement RFC 6520; RFC 5246 §7.4.1.4: "An extension type MUST NOT
    appear in the ServerHello unless the same extension type appeared in the corresponding
    ClientHello" -- and a server that does not understand one ignores it."""
    probe = Probe()
    completes(probe, rsa_hello(extra=((HEARTBEAT_EXT, b"\x01"), RENEGO)))
    assert probe.server_extension(HEARTBEAT_EXT) is None
    assert probe.server_extension(0xFF01) == b"\x00"


@pytest.mark.parametrize("payload", [HEARTBEAT_REQUEST, HEARTBLEED_REQUEST], ids=["hb", "bleed"])
def test_heartbeat_during_handshake_is_unexpected_message(payload: bytes) -> None:
    """test-no-heartbeat "heartbeat in handshake without support in server" and "heartbleed in
    handshake ...": a heartbeat record (content type 24; the heartbleed one claims 64 bytes of
    payload) right behind the ClientHello in one TCP write. Expected: the server's flight, then
    unexpected_message. RFC 5246 §6: "If a TLS implementation receives an unexpected record
    type, it MUST send an unexpected_message alert."; RFC 6520 §2: heartbeat messages MUST NOT
    be sent to a peer that did not negotiate them."""
    probe = Probe()
    hello = rsa_hello(extra=((HEARTBEAT_EXT, b"\x01"),))
    probe.client_random = hello[6:38]
    reply = probe.send(probe.handshake_record(hello) + record(HEARTBEAT, payload))
    refused(reply, AD.UNEXPECTED_MESSAGE)
    assert reply.handshake_types[-1] == HandshakeType.SERVER_HELLO_DONE


@pytest.mark.parametrize("payload", [HEARTBEAT_REQUEST, HEARTBLEED_REQUEST], ids=["hb", "bleed"])
def test_heartbeat_after_handshake_is_unexpected_message(payload: bytes) -> None:
    """test-no-heartbeat "heartbeat after handshake" and "heartbleed after handshake": a
    protected heartbeat record once the handshake is done: unexpected_message (RFC 5246 §6)."""
    probe = Probe()
    probe.full_handshake(rsa_hello())
    refused(probe.send(probe.seal(HEARTBEAT, payload)), AD.UNEXPECTED_MESSAGE)


# == test-ssl-death-alert ==========================================================================


def _hello_then_warnings(count: int) -> tuple[Probe, Reply]:
    probe = Probe()
    hello = rsa_hello()
    probe.client_random = hello[6:38]
    warning = record(ALERT, bytes((1, AD.UNSUPPORTED_CERTIFICATE)))
    return probe, probe.send(probe.handshake_record(hello) + warning * count)


def test_four_warning_alerts_during_the_handshake_are_tolerated() -> None:
    """test-ssl-death-alert "SSL Death Alert without getting alert" (default ``--alerts 4``):
    the ClientHello and four warning unsupported_certificate alerts in one write; the
    handshake then completes and close_notify is answered. RFC 5246 §7.2: "If an alert with a
    level of warning is sent and received, generally the connection can continue normally."."""
    probe, reply = _hello_then_warnings(4)
    assert reply.error is None, reply.error
    assert reply.handshake_types[-1] == HandshakeType.SERVER_HELLO_DONE
    reply = probe.finish()
    assert reply.error is None, reply.error
    probe.check_server_finished()
    assert probe.send(probe.seal(ALERT, b"\x01\x00")).records == [CLOSE_NOTIFY]


def test_five_warning_alerts_during_the_handshake_end_the_connection() -> None:
    """test-ssl-death-alert "SSL Death Alert with getting alert": five warnings in a row (one
    more than tolerated): the server's flight, then a fatal alert (tlsfuzzer's default: level
    fatal, any description). RFC 5246 sets no limit on warnings; OpenSSL's CVE-2016-8610 ("SSL
    Death Alert": endless warnings keep a server busy) is why tlsfuzzer wants one. Our limit is
    4 in a row (connection_receive.MAX_WARNING_ALERTS), answered with unexpected_message."""
    _, reply = _hello_then_warnings(5)
    refused(reply, AD.UNEXPECTED_MESSAGE)
    assert reply.handshake_types[-1] == HandshakeType.SERVER_HELLO_DONE


# == test-sslv2-connection, test-sslv2-force-cipher*, test-sslv2hello-protocol =====================

SSL2_CIPHERS = {
    "DES-CBC3-MD5": 0x0700C0,
    "RC4-MD5": 0x010080,
    "EXP-RC4-MD5": 0x020080,
    "RC2-CBC-MD5": 0x030080,
    "EXP-RC2-CBC-MD5": 0x040080,
    "IDEA-CBC-MD5": 0x050080,
    "DES-CBC-MD5": 0x060040,
}


@pytest.mark.parametrize("cipher", SSL2_CIPHERS.values(), ids=SSL2_CIPHERS.keys())
def test_sslv2_client_hello_is_refused(cipher: int) -> None:
    """test-sslv2-connection "Connect with SSLv2 <cipher>" (and test-sslv2-force-cipher,
    -force-cipher-3des, -force-cipher-non3des, -force-export-cipher, which go on to force a
    cipher in CLIENT-MASTER-KEY): an SSL 2.0 CLIENT-HELLO, version {0,2}, SSL 2.0 cipher
    specs only. The script fails if any connection succeeds. RFC 6176 §3: "TLS servers MUST NOT
    reply with an SSL 2.0 SERVER-HELLO with a protocol version that is less than { 0x03, 0x00 }
    and instead MUST abort the connection". We answer with a fatal alert (a TLS record)."""
    specs = (0x0700C0, 0x010080, 0x020080, cipher)
    any_fatal_alert(Probe().send(sslv2_client_hello(specs, version=0x0002)))


def test_sslv2_hello_that_is_a_broken_tls_record_is_refused() -> None:
    """test-sslv2hello-protocol "SSLv2 Client Hello" with ``--no-ssl2`` (our case): an SSL 2.0
    CLIENT-HELLO with TLS suites, the list padded to 256 specs so that read as a TLS record
    it is a broken one. Expected: any alert, then close. Without ``--no-ssl2`` the script wants
    a TLS handshake: RFC 8446 Appendix D.5 makes accepting SSL 2.0 hellos NOT RECOMMENDED, we
    refuse them (deliberate difference, see test_key_share_random_in_sslv2_compatible...)."""
    suites = [0x002F, SCSV]
    suites += [0x0A00 + i for i in range(1, 1 + 256 - len(suites))]
    any_fatal_alert(Probe().send(sslv2_client_hello(tuple(suites), version=0x0303)))


@pytest.mark.parametrize(
    "prefix",
    [b"\x80\x00", b"\x80\x01\x00", b"\x80\x01\x01", b"\x80\x03\x01\x03\x03"],
    ids=["Empty SSLv2 record", "type 0", "type 1", "Just version in SSLv2 hello"],
)
def test_short_sslv2_records_before_the_hello_are_refused(prefix: bytes) -> None:
    """test-sslv2hello-protocol "Empty SSLv2 record", "Empty SSLv2 record - type 0", "... -
    type 1", "Just version in SSLv2 hello": an SSL 2.0 record (2-byte header 0x80|length) that
    is empty or holds only part of a CLIENT-HELLO, then an SSL 2.0 CLIENT-HELLO. Expected: an
    alert and close. Read as TLS, the first byte 0x80 is no content type (RFC 5246 §6.2.1,
    §6: "If a TLS implementation receives an unexpected record type, it MUST send an
    unexpected_message alert")."""
    hello = sslv2_client_hello((0x002F, SCSV), version=0x0303)
    any_fatal_alert(Probe().send(prefix + hello))


def test_sslv2_hello_with_tls13_only_is_not_a_downgrade_path() -> None:
    """test-sslv2hello-protocol "SSLv2 Client Hello" with a {3,4} version: RFC 8446 Appendix
    D.5: "Implementations MUST NOT negotiate TLS 1.3 using an SSL version 2.0 compatible
    CLIENT-HELLO." -- a fatal alert, no ServerHello."""
    any_fatal_alert(Probe().send(sslv2_client_hello((0x1301, SCSV), version=0x0304)))


# == test-signature-algorithms =====================================================================

CERT_EXT: Ext = (SIG_ALGS_CERT, u16_list(RSA_SIG_ALL))


def _sigalgs_raw(schemes: list[int]) -> Ext:
    return SIGNATURE_ALGORITHMS, u16_list(schemes)


def _grid(hashes: range, sigs: range) -> list[int]:
    return [h << 8 | s for h in hashes for s in sigs]


def _signed_with(probe: Probe) -> int:
    assert probe.ske is not None and probe.suite is not None
    if probe.suite.key_exchange == "DHE":
        return probe.ske.dhe().algorithm
    return probe.ske.ecdhe().algorithm


SIGALG_TOLERANCE = {
    "explicit SHA-256+RSA": ([RSA_PKCS1_SHA256], True),
    "tolerance none+RSA": ([0x0001, RSA_PKCS1_SHA256], True),
    "tolerance 10+RSA method": ([0x0A01, RSA_PKCS1_SHA256], True),
    "tolerance 215 RSA methods": ([*_grid(range(10, 224), range(1, 2)), RSA_PKCS1_SHA256], True),
    "tolerance 2355 methods": ([*_grid(range(10, 224), range(10, 21)), RSA_PKCS1_SHA256], True),
    "tolerance 8132 methods": ([*_grid(range(10, 224), range(21, 59)), RSA_PKCS1_SHA256], True),
    "tolerance 23754 methods": (
        [*_grid(range(10, 224), range(10, 121)), RSA_PKCS1_SHA256],
        False,
    ),
    "tolerance max (32764) number of methods": (
        [
            *_grid(range(10, 224), range(10, 163)),
            *_grid(range(10, 31), range(163, 164)),
            RSA_PKCS1_SHA256,
        ],
        False,
    ),
}


@pytest.mark.parametrize("name", SIGALG_TOLERANCE)
def test_only_rsa_pkcs1_sha256_usable_among_many_schemes(name: str) -> None:
    """test-signature-algorithms "explicit SHA-256+RSA", "tolerance none+RSA", "tolerance
    10+RSA method", "tolerance 215 RSA methods", "tolerance 2355 / 8132 / 23754 methods",
    "tolerance max (32764) number of methods": signature_algorithms full of unknown (hash,
    signature) pairs (up to the 65535-byte extension limit) with rsa_pkcs1_sha256 last; the
    ServerKeyExchange must be signed with rsa_pkcs1_sha256 (ECDHE_RSA or DHE_RSA; like the
    script, the hello carries no supported_groups, RFC 8422 §4 lets the server choose the
    curve, and the longest lists leave room for nothing else). RFC 5246
    §7.4.1.4.1: the server's signature uses one of the listed pairs; unknown values are
    ignored (RFC 8446 §4.2.3 for the TLS 1.2 semantics of the code points)."""
    schemes, with_cert_ext = SIGALG_TOLERANCE[name]
    extensions = [_sigalgs_raw(schemes)]
    if with_cert_ext:
        extensions.append(CERT_EXT)
    probe = Probe()
    completes(probe, client_hello((RSA_GCM, DHE_GCM, SCSV), extensions))
    assert _signed_with(probe) == RSA_PKCS1_SHA256


@pytest.mark.parametrize("total", [32760, 32761], ids=["32760-both-lists", "32761-cert-ext"])
def test_max_methods_with_signature_algorithms_cert(total: int) -> None:
    """test-signature-algorithms "tolerance 32760 methods with sig_alg_cert" (the same long
    list in both extensions) and "tolerance max (32761) number of methods with sig_alg_cert"
    (RSA_SIG_ALL in signature_algorithms_cert): still rsa_pkcs1_sha256 (RFC 5246
    §7.4.1.4.1; signature_algorithms_cert, RFC 8446 §4.2.3, says nothing about the
    ServerKeyExchange)."""
    if total == 32760:
        schemes = [*_grid(range(10, 224), range(10, 86)), *_grid(range(10, 125), range(163, 164))]
        schemes.append(RSA_PKCS1_SHA256)
        cert: Ext = _sigalgs_raw(schemes)
        cert = (SIG_ALGS_CERT, cert[1])
    else:
        n = 32761 - 1 - len(RSA_SIG_ALL)
        schemes = [*_grid(range(10, 224), range(10, n // 214 + 10))]
        schemes += [*_grid(range(10, n % 214 + 10), range(163, 164)), RSA_PKCS1_SHA256]
        cert = CERT_EXT
    probe = Probe()
    completes(probe, client_hello((RSA_GCM, DHE_GCM, SCSV), [_sigalgs_raw(schemes), cert]))
    assert _signed_with(probe) == RSA_PKCS1_SHA256


def test_empty_signature_algorithms_list_is_decode_error() -> None:
    """test-signature-algorithms "empty list of signature methods": RFC 5246 §7.4.1.4.1
    ``SignatureAndHashAlgorithm supported_signature_algorithms<2..2^16-2>``: an empty list
    does not decode; §7.2.2 decode_error (the script's default alert)."""
    hello = rsa_hello(_sigalgs_raw([]), extra=(CERT_EXT,))
    refused(Probe().hello(hello), AD.DECODE_ERROR)


@pytest.mark.parametrize("count", [215, 2355, 8132, 23754, 32761])
def test_duplicated_unusable_schemes_before_rsa(count: int) -> None:
    """test-signature-algorithms "duplicated N non-rsa schemes": (sha1, dsa) repeated
    N - 1 - len(RSA_SIG_ALL) times, then rsa_pkcs1_sha256: the handshake completes with a
    signature from the list (RFC 5246 §7.4.1.4.1; duplicates are not forbidden there)."""
    n = count - 1 - len(RSA_SIG_ALL)
    schemes = [0x0202] * n + [RSA_PKCS1_SHA256]
    probe = Probe()
    completes(probe, client_hello((RSA_GCM, DHE_GCM, SCSV), [_sigalgs_raw(schemes), CERT_EXT]))
    assert _signed_with(probe) == RSA_PKCS1_SHA256


def test_well_known_schemes_with_rsa_last() -> None:
    """test-signature-algorithms "unique and well-known sig_algs, rsa algorithms last": MD5 to
    SHA-512 with ecdsa, dsa, then rsa. The ServerKeyExchange uses an RSA scheme from the list,
    neither MD5 nor SHA-1 (RFC 5246 §7.4.1.4.1; RFC 9155 §3: servers MUST NOT sign with MD5
    or SHA-1 in TLS 1.2)."""
    schemes = [h << 8 | s for s in (3, 2, 1) for h in (1, 2, 3, 4, 5, 6)]
    probe = Probe()
    completes(probe, rsa_hello(_sigalgs_raw(schemes), extra=(CERT_EXT,)))
    assert _signed_with(probe) in (0x0401, 0x0501, 0x0601)


def test_signature_algorithms_list_length_fuzz_is_decode_error() -> None:
    """test-signature-algorithms "fuzz length inside extension to N" (N = 4 ^ i, i in 1..255):
    signature_algorithms (rsa_pkcs1_sha256, rsa_pkcs1_sha1) as the last extension, the list's
    2-byte length low byte XORed with i. A length that disagrees with the extension is
    decode_error (RFC 5246 §7.4.1.4.1, §7.2.2: "a message could not be decoded because some
    field was out of the specified range or the length of the message was incorrect")."""
    hello = rsa_hello(sigalgs_ext(RSA_PKCS1_SHA256, RSA_PKCS1_SHA1), suites=(RSA_GCM, SCSV))
    assert hello[-5] == 4
    answers = {}
    for i in range(1, 256):
        fuzzed = hello[:-5] + bytes((4 ^ i,)) + hello[-4:]
        answers[4 ^ i] = Probe().hello(fuzzed).alert
    assert {n: a for n, a in answers.items() if a is not AD.DECODE_ERROR} == {}


@pytest.mark.parametrize("name", ["sanity", "explicit SHA-1+RSA"])
def test_sha1_only_signatures_are_handshake_failure(name: str) -> None:
    """test-signature-algorithms "sanity" (no signature_algorithms: SHA-1 implied, RFC 5246
    §7.4.1.4.1) and "explicit SHA-1+RSA" (only rsa_pkcs1_sha1): tlsfuzzer expects a handshake
    signed with SHA-1. Deliberate difference: RFC 9155 §3 "Servers MUST NOT include MD5 and
    SHA-1 in ServerKeyExchange messages. If the client receives a ServerKeyExchange message
    indicating MD5 or SHA-1, then it MUST abort" and, with nothing else usable, the server
    "MUST abort the handshake with a handshake_failure alert or select a different cipher
    suite" (there is none without signatures here)."""
    extensions = [groups_ext(SECP256R1.id, FFDHE2048.id), POINT_FORMATS]
    if name != "sanity":
        extensions += [sigalgs_ext(RSA_PKCS1_SHA1), CERT_EXT]
    refused(Probe().hello(client_hello((RSA_GCM, DHE_GCM, SCSV), extensions)), AD.HANDSHAKE_FAILURE)


# == test-fuzzed-plaintext (AEAD shape) ============================================================

PLAINTEXTS = {
    "16 x 00": bytes(16),
    "16 x ff": b"\xff" * 16,
    "48 x 0f": b"\x0f" * 48,
    "256 x 80": b"\x80" * 256,
    "random 1024": os.urandom(1024),
    "random 16384": os.urandom(2**14),
}


@pytest.mark.parametrize("kind", ["Application Data", "Handshake"])
@pytest.mark.parametrize("data", PLAINTEXTS.values(), ids=PLAINTEXTS.keys())
def test_encrypted_record_of_arbitrary_bytes_is_bad_record_mac(kind: str, data: bytes) -> None:
    """test-fuzzed-plaintext "encrypted Application Data plaintext of StructuredRandom(...)"
    and "encrypted Handshake plaintext of ..." (the Handshake one in place of the Finished):
    the script writes arbitrary bytes where the CBC plaintext (data, MAC, padding) goes, so
    the MAC never verifies; it needs CBC. The AEAD shape: the record's fragment is the
    explicit nonce and arbitrary bytes instead of a sealed message. Expected bad_record_mac:
    RFC 5246 §6.2.3.3 "If the decryption fails, a fatal bad_record_mac alert MUST be
    generated."."""
    probe = Probe()
    if kind == "Application Data":
        probe.full_handshake(rsa_hello(suites=(RSA_GCM, SCSV)))
        reply = probe.send(record(APPLICATION_DATA, bytes(8) + data))
    else:
        probe.hello(rsa_hello(suites=(RSA_GCM, SCSV)))
        cke = probe.handshake_record(probe.client_key_exchange())
        reply = probe.send(cke + probe.ccs() + record(HANDSHAKE, bytes(8) + data))
    refused(reply, AD.BAD_RECORD_MAC)


# == test-tls13-ecdhe-curves =======================================================================

CURVES: dict[str, Group] = {
    "secp256r1": SECP256R1,
    "secp384r1": SECP384R1,
    "secp521r1": SECP521R1,
    "x25519": X25519,
    "x448": X448,
}
ECDSA_TLS13_ALL = (0x0403, 0x0503, 0x0603)
ECDHE_SCHEMES = (0x0804, 0x0809, *ECDSA_TLS13_ALL)


def _curve_hello(group: Group, share: bytes) -> bytes:
    extensions = [
        (EXT_KEY_SHARE, vector(2, group.id.to_bytes(2, "big") + vector(2, share))),
        (EXT_SUPPORTED_VERSIONS, vector(1, u16s((TLS13, TLS12)))),
        (EXT_SUPPORTED_GROUPS, vector(2, u16s((group.id,)))),
        (EXT_SIGNATURE_ALGORITHMS, vector(2, u16s(ECDHE_SCHEMES))),
        (EXT_SIGNATURE_ALGORITHMS_CERT, vector(2, u16s(tls13_probe.CERT_SCHEMES))),
    ]
    return tls13_probe.client_hello(extensions=extensions)


def test_tls13_ecdhe_curves_sanity_with_all_groups() -> None:
    """test-tls13-ecdhe-curves "sanity": key shares for all five curves offered; the server
    takes one of them (RFC 8446 §4.2.8) and the conversation completes."""
    groups = tuple(CURVES.values())
    probe = tls13_probe.Probe()
    hello = tls13_probe.client_hello(
        extensions=tls13_probe.tls13_extensions(groups, schemes=ECDHE_SCHEMES)
    )
    probe.handshake(hello)
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


@pytest.mark.parametrize("name", CURVES)
def test_tls13_ecdhe_curve_sanity(name: str) -> None:
    """test-tls13-ecdhe-curves "sanity - <group>": one group offered, its share used
    (RFC 8446 §4.2.8: the server's key_share is in the group of the client's)."""
    group = CURVES[name]
    probe = tls13_probe.Probe()
    probe.handshake(_curve_hello(group, group.generate().public_bytes))
    assert probe.server_hello is not None
    share = tls13_probe.hello_extension(probe.server_hello, EXT_KEY_SHARE)
    assert int.from_bytes(share[:2], "big") == group.id
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


def _bad_shares(group: Group) -> dict[str, bytes]:
    good = group.generate().public_bytes
    other = (SECP384R1 if group is SECP256R1 else SECP256R1).generate().public_bytes
    shares = {
        "right 0-padded key_share": good + b"\x00",
        "right-truncated key_share": good[:-1],
        "key share from other curve": other,
        "point at infinity": b"\x00",
    }
    if group not in (X25519, X448):
        shares["point outside curve"] = good[:-1] + bytes((good[-1] ^ 0xFF,))
        shares["x=0, y=0"] = b"\x04" + bytes(len(good) - 1)
    return shares


BAD_SHARE_CASES = [(name, case) for name, g in CURVES.items() for case in _bad_shares(g)]


@pytest.mark.parametrize(
    ("name", "case"), BAD_SHARE_CASES, ids=[f"{n} - {c}" for n, c in BAD_SHARE_CASES]
)
def test_tls13_invalid_ecdhe_key_share_is_illegal_parameter(name: str, case: str) -> None:
    """test-tls13-ecdhe-curves "<group> - right 0-padded key_share", "- right-truncated
    key_share", "- key share from other curve", "- point at infinity" and, for the NIST
    curves, "- point outside curve", "- x=0, y=0": illegal_parameter. RFC 8446 §4.2.8.2: the
    NIST share is the 65/97/133-byte uncompressed point; X25519/X448 shares are 32/56 bytes;
    "Peers MUST validate each other's public key Y by ensuring that 1 < Y < p-1" (FFDHE) and
    §4.2.8.2 for ECDHE: the point must be on the curve (RFC 8422 §5.11); §6.2 illegal_parameter:
    "A field in the handshake was incorrect or inconsistent with other fields"."""
    group = CURVES[name]
    share = _bad_shares(group)[case]
    probe = tls13_probe.Probe()
    probe.expect_alert(
        lambda: probe.send_hello(_curve_hello(group, share)), AlertDescription.ILLEGAL_PARAMETER
    )
    assert probe.server_hello is None
