"""Sweep of the tlsfuzzer scripts the other audit files leave out, played against our
ServerConnection in memory.

Each test replays one conversation of a script of the tlsfuzzer project (``scripts/<name>.py``
in tlsfuzzer/tlsfuzzer, named in the docstring with the RFC rule behind the expectation). The
TLS 1.3 conversations use :class:`tls13_probe.Probe`, the TLS 1.2 ones
:class:`tls12_probe.Probe`: scripted clients that write every message byte by byte and hold the
keys, so they can misbehave where a real client would not. The TLS 1.2 scripts mostly offer
CBC or static-RSA suites, which we do not implement; their conversations keep the same shape
(the same malformation, the same expected answer) on an ECDHE or DHE AEAD suite.

Where we answer differently from tlsfuzzer, the RFC decides: a MUST settles it; where the RFC
allows several answers we want tlsfuzzer's, and a test we fail is marked ``xfail(strict=True)``
with the reason and the place of the fix.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

import tls12_probe
import tls13_probe
from tls12_probe import (
    AD,
    EMS,
    POINT_FORMATS,
    RENEGO,
    SERVER_NAME,
    SIGALGS,
    Ext,
    Reply,
    client_hello,
    groups_ext,
    refused,
)
from tls13_probe import (
    EXT_KEY_SHARE,
    EXT_SIGNATURE_ALGORITHMS,
    GET,
    conversation,
    hello_extension,
    tls13_extensions,
    vector,
)
from tls_fixtures import client_cert
from tlsmachine import ConnectionState
from tlsmachine.crypto.groups import (
    DEFAULT_GROUPS,
    FFDHE2048,
    SECP256R1,
    SECP384R1,
    SECP521R1,
    X448,
    X25519,
    Group,
)
from tlsmachine.crypto.kem import (
    MLKEM768,
    MLKEM1024,
    SECP256R1MLKEM768,
    SECP384R1MLKEM1024,
    X25519MLKEM768,
    KEMGroup,
)
from tlsmachine.crypto.suites import (
    TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
    TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
)
from tlsmachine.enums import AlertDescription, HandshakeType
from wire import ALERT, APPLICATION_DATA, CCS, HANDSHAKE, record

RSA_GCM = TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.id
DHE_GCM = TLS_DHE_RSA_WITH_AES_128_GCM_SHA256.id
DHE_CHACHA = TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256.id

# == test-tls13-mlkem.py ==========================================================================

HYBRIDS: tuple[KEMGroup, ...] = (X25519MLKEM768, SECP256R1MLKEM768, SECP384R1MLKEM1024)
ALL_KEMS: tuple[KEMGroup, ...] = (*HYBRIDS, MLKEM768, MLKEM1024)


def kem_probe() -> tls13_probe.Probe:
    """A server with every ML-KEM group configured (tlsfuzzer's ``--kems`` default lists the
    three hybrids), next to the default classical groups."""
    return tls13_probe.Probe(groups=(*ALL_KEMS, *DEFAULT_GROUPS[1:]))


def kem_hello(group: Group, change: Callable[[bytes], bytes] = bytes) -> bytes:
    """A TLS 1.3 ClientHello offering only ``group``, with its key share edited by ``change``."""
    share = change(group.generate().public_bytes)
    extensions = tls13_extensions((group,))
    entry = group.id.to_bytes(2, "big") + vector(2, share)
    extensions[0] = (EXT_KEY_SHARE, vector(2, entry))
    return tls13_probe.client_hello(extensions=extensions)


def server_share(probe: tls13_probe.Probe) -> tuple[int, bytes]:
    """The (group, key_exchange) of the ServerHello's key_share (RFC 8446 §4.2.8)."""
    assert probe.server_hello is not None
    data = hello_extension(probe.server_hello, EXT_KEY_SHARE)
    return int.from_bytes(data[:2], "big"), data[4:]


def test_mlkem_sanity_with_every_hybrid_offered() -> None:
    """tlsfuzzer test-tls13-mlkem.py "sanity": key shares for all three ECDHE-MLKEM hybrids;
    the server picks one and answers with a share of that group's server length
    (draft-ietf-tls-ecdhe-mlkem §4.2, §4.3), and the conversation completes."""
    probe = kem_probe()
    extensions = tls13_extensions(HYBRIDS, schemes=(0x0804, 0x0809, 0x0403, 0x0807, 0x0808))
    probe.handshake(tls13_probe.client_hello(extensions=extensions))
    group_id, share = server_share(probe)
    (chosen,) = [g for g in HYBRIDS if g.id == group_id]
    assert len(share) == chosen.server_share_len
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


@pytest.mark.parametrize("group", ALL_KEMS, ids=lambda g: g.name)
def test_mlkem_connection_with_each_group(group: KEMGroup) -> None:
    """tlsfuzzer test-tls13-mlkem.py "connection with <group>" (a group in ``--kems``): the
    ClientHello offers only that group, with a share; a full conversation (RFC 8446 §4.2.8:
    the server selects the client's share). The pure ML-KEM groups (draft-ietf-tls-mlkem) are
    played the same way."""
    probe = kem_probe()
    probe.handshake(kem_hello(group))
    group_id, share = server_share(probe)
    assert group_id == group.id and len(share) == group.server_share_len
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


@pytest.mark.parametrize(
    "group", [SECP256R1MLKEM768, SECP384R1MLKEM1024, MLKEM768, MLKEM1024], ids=lambda g: g.name
)
def test_mlkem_group_not_enabled_is_handshake_failure(group: KEMGroup) -> None:
    """tlsfuzzer test-tls13-mlkem.py "connection with <group>" for a group not in ``--kems``
    (our default configuration offers only X25519MLKEM768): handshake_failure (RFC 8446
    §4.1.1: no group in common, "the server MUST abort the handshake with ... a
    handshake_failure")."""
    probe = tls13_probe.Probe()
    probe.expect_alert(
        lambda: probe.send_hello(kem_hello(group)), AlertDescription.HANDSHAKE_FAILURE
    )


def _classical_broken(group: KEMGroup) -> Callable[[bytes], bytes]:
    """The script's "malformed classical part": X25519 all zeros (an all-zero shared secret,
    RFC 8446 §7.4.2), a flipped byte in the NIST point's x coordinate (off the curve)."""
    if group is X25519MLKEM768:
        return lambda share: share[:1184] + bytes(32)
    return lambda share: share[:2] + bytes((share[2] ^ 0xFF,)) + share[3:]


def _pqc_broken(group: KEMGroup) -> Callable[[bytes], bytes]:
    """The script's "malformed pqc part": 0xFF in the 2nd or 3rd byte of the encapsulation key
    makes a 12-bit coefficient >= q (FIPS 203 §7.2 modulus check)."""
    at = {X25519MLKEM768: 1, SECP256R1MLKEM768: 67, SECP384R1MLKEM1024: 98}.get(group, 1)
    return lambda share: share[:at] + b"\xff" + share[at + 1 :]


MALFORMED: dict[str, Callable[[KEMGroup], Callable[[bytes], bytes]]] = {
    "malformed classical part": _classical_broken,
    "malformed pqc part": _pqc_broken,
    "truncated key share": lambda group: lambda share: share[:-1],
    "padded key share": lambda group: lambda share: share + b"\x02",
}


@pytest.mark.parametrize(
    ("group", "what"),
    [
        pytest.param(group, what, id=f"{group.name}: {what}")
        for group in ALL_KEMS
        for what in MALFORMED
        if group.ecdh is not None or what != "malformed classical part"
    ],
)
def test_mlkem_malformed_key_share_is_illegal_parameter(group: KEMGroup, what: str) -> None:
    """tlsfuzzer test-tls13-mlkem.py "<group>: malformed classical part", "malformed pqc
    part", "truncated key share", "padded key share": illegal_parameter (ecdhe-mlkem §4.2:
    the server MUST perform the FIPS 203 encapsulation key check, a share of the wrong length
    and a failed ECDH check abort with illegal_parameter; RFC 8446 §4.2.8.2). The pure ML-KEM
    groups get the length and key checks too (draft-ietf-tls-mlkem)."""
    probe = kem_probe()
    hello = kem_hello(group, MALFORMED[what](group))
    probe.expect_alert(lambda: probe.send_hello(hello), AlertDescription.ILLEGAL_PARAMETER)


def test_mlkem_hello_retry_request_for_a_hybrid() -> None:
    """tlsfuzzer test-tls13-mlkem.py conversations, with the share left out (as
    test-tls13-hrr.py does for classical groups): supported_groups lists only X25519MLKEM768 and
    key_share is empty, so the server asks for it in a HelloRetryRequest (RFC 8446 §4.1.4), and
    the second ClientHello with a 1216-byte share completes."""
    probe = tls13_probe.Probe()
    first = tls13_extensions((X25519MLKEM768,), shares=())
    probe.send_hello(tls13_probe.client_hello(extensions=first))
    assert probe.server_hello is not None
    assert probe.server_hello[6:38] == tls13_probe.HRR_RANDOM
    assert hello_extension(probe.server_hello, EXT_KEY_SHARE) == X25519MLKEM768.id.to_bytes(2)
    probe.send(tls13_probe.record(CCS, b"\x01"))
    second = tls13_probe.client_hello(extensions=tls13_extensions((X25519MLKEM768,)))
    probe.transcript += second
    probe.send(tls13_probe.record(tls13_probe.HANDSHAKE, second))
    assert probe.server_finished
    assert server_share(probe)[0] == X25519MLKEM768.id
    probe.send_finished()
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


# == test-tls13-zero-content-type.py ==============================================================


@pytest.mark.parametrize("padding", [0, 42])
@pytest.mark.parametrize("when", ["during handshake", "after handshake", "during app data"])
def test_record_of_inner_content_type_zero_is_unexpected_message(when: str, padding: int) -> None:
    """tlsfuzzer test-tls13-zero-content-type.py "zero content type [with padding] during
    handshake / after handshake / during application data": a protected record whose
    plaintext is all zeros (no content type) is unexpected_message (RFC 8446 §5.4: "If a
    receiving implementation does not find a non-zero octet in the cleartext, it MUST terminate
    the connection with an "unexpected_message" alert")."""
    probe = tls13_probe.Probe()
    probe.send_hello()
    assert probe.server_finished
    if when == "during handshake":
        probe.use_handshake_keys()
    else:
        probe.send_finished()
        if when == "during app data":
            probe.send(probe.sealed(APPLICATION_DATA, b"GET /"))
    probe.expect_alert(probe.sealed(0, b"", padding), AlertDescription.UNEXPECTED_MESSAGE)


# == test-tls13-certificate-request.py ============================================================


def cr_probe() -> tls13_probe.Probe:
    """A server asking for an optional client certificate (trusting our ECDSA test client)."""
    trusted = client_cert().leaf.public_bytes(Encoding.PEM)
    return tls13_probe.Probe(client_auth="optional", client_cadata=trusted)


def _certificate_request(probe: tls13_probe.Probe) -> bytes:
    (request,) = [m for m in probe.messages if m[0] == HandshakeType.CERTIFICATE_REQUEST]
    return request


def _extensions(block: bytes) -> dict[int, bytes]:
    out, at = {}, 0
    while at < len(block):
        ext_type, size = struct.unpack(">HH", block[at : at + 4])
        out[ext_type] = block[at + 4 : at + 4 + size]
        at += 4 + size
    return out


def test_empty_client_certificate_in_tls13_completes() -> None:
    """tlsfuzzer test-tls13-certificate-request.py "sanity": the server asks for a certificate
    (optional), the client answers with an empty Certificate and its Finished, and the
    conversation completes (RFC 8446 §4.4.2.4: with no certificate the server "MAY continue
    the handshake without client authentication")."""
    probe = cr_probe()
    probe.send_hello()
    assert probe.server_finished
    request = _certificate_request(probe)
    context = request[4 : 5 + request[4]]
    certificate = tls13_probe.handshake(HandshakeType.CERTIFICATE, context + b"\x00\x00\x00")
    probe.transcript += certificate
    probe.send_finished(certificate + probe.finished())
    assert probe.server.state is ConnectionState.APP_DATA
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


def test_certificate_request_advertises_signature_algorithms() -> None:
    """tlsfuzzer test-tls13-certificate-request.py "check sigalgs in cert request": an empty
    certificate_request_context during the handshake (RFC 8446 §4.3.2: "SHALL be zero length
    unless used for ... post-handshake authentication"), a signature_algorithms extension
    ("MUST be specified"), listing only schemes TLS 1.3 allows in CertificateVerify: no SHA-1,
    no SHA-224, no DSA (RFC 8446 §4.2.3, §4.4.3)."""
    probe = cr_probe()
    probe.send_hello()
    request = _certificate_request(probe)
    assert request[4] == 0
    extensions = _extensions(request[7:])
    schemes_data = extensions[EXT_SIGNATURE_ALGORITHMS]
    schemes = [
        int.from_bytes(schemes_data[i : i + 2], "big") for i in range(2, len(schemes_data), 2)
    ]
    assert schemes and len(schemes_data) == 2 + 2 * len(schemes)
    assert not [s for s in schemes if s & 0xFF in (1, 2) and s >> 8 in (1, 2, 3)]  # md5/sha1/224
    assert not [s for s in schemes if s & 0xFF == 2]  # DSA
    assert 0x0804 in schemes  # rsa_pss_rsae_sha256: "MUST support" (RFC 8446 §9.1)


# == test-x25519.py (TLS 1.2) =====================================================================


def x_hello(groups: Ext | None, suites: tuple[int, ...] = (RSA_GCM, DHE_GCM)) -> bytes:
    extensions = [SIGALGS, EMS, RENEGO] if groups is None else [groups, SIGALGS, EMS, RENEGO]
    return client_hello(suites, extensions)


@pytest.mark.parametrize(
    ("groups", "curve"),
    [
        (groups_ext(SECP256R1.id, SECP384R1.id, SECP521R1.id), None),
        (None, SECP256R1.id),
        (groups_ext(X25519.id), X25519.id),
        (groups_ext(X448.id), X448.id),
        (groups_ext(X25519.id, X448.id), None),
    ],
    ids=["sanity", "default to P-256 when no groups specified", "sanity - negotiate x25519",
         "sanity - negotiate x448", "only x25519 and x448 groups"],
)  # fmt: skip
def test_x25519_script_ecdhe_negotiation(groups: Ext | None, curve: int | None) -> None:
    """tlsfuzzer test-x25519.py "sanity", "default to P-256 when no groups specified",
    "sanity - negotiate x25519 / x448", "only x25519 and x448 groups - [no] fallback to DHE":
    the ECDHE suite on a curve the client listed, P-256 when it listed none (RFC 8422 §4,
    §5.1.1; RFC 8422 §5.1.1 defines x25519 and x448 for ECDHE in TLS 1.2)."""
    probe = tls12_probe.Probe()
    probe.full_handshake(x_hello(groups))
    assert probe.server_hello is not None and probe.server_hello.cipher_suite == RSA_GCM
    assert probe.ske is not None
    named_curve = probe.ske.ecdhe().named_curve
    offered = struct.unpack(f">{(len(groups[1]) - 2) // 2}H", groups[1][2:]) if groups else ()
    assert named_curve == curve if curve is not None else named_curve in offered
    probe.echo()


def test_x25519_script_ec_point_formats_with_every_format() -> None:
    """tlsfuzzer test-x25519.py "EC point format - all types - x25519": ec_point_formats
    listing the compressed forms too does not stop x25519 (RFC 8422 §5.1.2: the extension
    does not apply to x25519 and x448)."""
    probe = tls12_probe.Probe()
    formats: Ext = (11, b"\x03\x01\x02\x00")
    probe.full_handshake(client_hello((RSA_GCM,), [groups_ext(X25519.id), formats, SIGALGS, EMS]))
    assert probe.ske is not None and probe.ske.ecdhe().named_curve == X25519.id
    probe.echo()


@pytest.mark.parametrize("groups", [groups_ext(0x0001), groups_ext(11200)],
                         ids=["only secp163k1", "only unknown group"])  # fmt: skip
def test_x25519_script_no_common_curve_falls_back_to_dhe(groups: Ext) -> None:
    """tlsfuzzer test-x25519.py "only secp163k1 group - fallback to DHE", "only unknown group
    - fallback to DHE": the DHE suite (RFC 8422 §5.1: without a common curve the server "MUST
    NOT negotiate the use of an ECC cipher suite")."""
    probe = tls12_probe.Probe()
    probe.full_handshake(x_hello(groups))
    assert probe.server_hello is not None and probe.server_hello.cipher_suite == DHE_GCM
    probe.echo()


def test_x25519_script_no_common_curve_and_no_dhe_is_handshake_failure() -> None:
    """tlsfuzzer test-x25519.py "only unknown group - no fallback to DHE": handshake_failure
    (RFC 8422 §5.1; RFC 5246 §7.4.1.3: no acceptable choices)."""
    refused(tls12_probe.Probe().hello(x_hello(groups_ext(11200), (RSA_GCM,))), AD.HANDSHAKE_FAILURE)


def cke_answer(curve: int, public: bytes) -> Reply:
    """The answer to a ClientKeyExchange carrying ``public`` on ``curve``, then CCS and a
    Finished under keys of an honest share (tlsfuzzer buffers the three together)."""
    probe = tls12_probe.Probe()
    assert probe.hello(client_hello((RSA_GCM,), [groups_ext(curve), SIGALGS, EMS])).error is None
    probe.client_key_exchange()  # keys for the records after it
    cke = tls12_probe.handshake(HandshakeType.CLIENT_KEY_EXCHANGE, bytes((len(public),)) + public)
    return probe.send(probe.handshake_record(cke) + probe.ccs() + probe.finished_record())


@pytest.mark.parametrize(
    ("curve", "public", "alert"),
    [
        (X25519.id, bytes([55] * 31), AD.ILLEGAL_PARAMETER),
        (X25519.id, b"", AD.DECODE_ERROR),
        (X25519.id, bytes([55] * 33), AD.ILLEGAL_PARAMETER),
        (X25519.id, bytes(32), AD.ILLEGAL_PARAMETER),
        (X25519.id, (1).to_bytes(32, "little"), AD.ILLEGAL_PARAMETER),
        (X25519.id, bytes([55] * 31 + [0x80]), AD.BAD_RECORD_MAC),
        (X448.id, b"", AD.DECODE_ERROR),
        (X448.id, bytes([55] * 55), AD.ILLEGAL_PARAMETER),
        (X448.id, bytes([55] * 57), AD.ILLEGAL_PARAMETER),
        (X448.id, bytes(56), AD.ILLEGAL_PARAMETER),
        (X448.id, (1).to_bytes(56, "little"), AD.ILLEGAL_PARAMETER),
    ],
    ids=["too small x25519", "empty x25519", "too big x25519", "all zero x25519",
         "x25519 of 1", "x25519 with high bit set", "empty x448", "too small x448",
         "too big x448", "all zero x448", "x448 of 1"],
)  # fmt: skip
def test_x25519_script_bad_client_key_share(curve: int, public: bytes, alert: AD) -> None:
    """tlsfuzzer test-x25519.py "too small / too big / empty / all zero / "1" x25519 (x448)
    key share", "x25519 key share with high bit set": a public value of the wrong length is
    illegal_parameter, an empty one decode_error (RFC 8422 §5.7 ``opaque point <1..2^8-1>``),
    a low-order value giving an all-zero secret illegal_parameter (RFC 8422 §5.11: "MUST check
    whether the computed premaster secret is the all-zero value and abort the handshake if
    so"); the high bit of the last x25519 byte is masked (RFC 7748 §5), so that share is used
    and the Finished under our (different) keys is bad_record_mac."""
    refused(cke_answer(curve, public), alert)


# == test-ffdhe-expected-params.py ================================================================


def test_dhe_without_supported_groups_uses_rfc7919_ffdhe2048() -> None:
    """tlsfuzzer test-ffdhe-expected-params.py "sanity", "FFDH parameters check": DHE_RSA
    suites, no supported_groups: the ServerKeyExchange carries the RFC 7919 ffdhe2048 prime
    and generator 2 (the script's default expected parameters; RFC 7919 §4: without the
    extension the server picks the group, and §3 recommends the named groups), and the
    conversation completes."""
    probe = tls12_probe.Probe()
    probe.full_handshake(client_hello((DHE_GCM,), [SIGALGS, RENEGO]))
    assert probe.ske is not None
    dhe = probe.ske.dhe()
    assert int.from_bytes(dhe.p, "big") == FFDHE2048.p
    assert int.from_bytes(dhe.g, "big") == 2
    probe.echo()


# == test-cve-2016-7054.py ========================================================================

BIG_REQUEST = b"GET / HTTP/1.0\r\nX-test: " + b"A" * (2**14 - 28) + b"\r\n\r\n"


def chacha_probe() -> tls12_probe.Probe:
    probe = tls12_probe.Probe()
    probe.full_handshake(client_hello((DHE_CHACHA,), [SIGALGS, EMS, RENEGO]))
    assert probe.server_hello is not None and probe.server_hello.cipher_suite == DHE_CHACHA
    return probe


def test_dhe_chacha20_max_size_record_is_accepted() -> None:
    """tlsfuzzer test-cve-2016-7054.py "sanity": DHE_RSA with ChaCha20-Poly1305 and a 2^14-byte
    application_data record; it is answered (RFC 5246 §6.2.1: up to 2^14 bytes; RFC 7905)."""
    assert len(BIG_REQUEST) == 2**14
    chacha_probe().echo(BIG_REQUEST)


@pytest.mark.parametrize("xor", [0x01, 0x80])
@pytest.mark.parametrize("position", range(-16, 0))
def test_dhe_chacha20_tag_with_a_flipped_bit_is_bad_record_mac(position: int, xor: int) -> None:
    """tlsfuzzer test-cve-2016-7054.py "XOR position P with V": one bit of the Poly1305 tag of a
    maximum-size record flipped: bad_record_mac (RFC 5246 §6.2.3.3: AEAD decryption failure
    "MUST" be bad_record_mac)."""
    probe = chacha_probe()
    sealed = bytearray(probe.seal(APPLICATION_DATA, BIG_REQUEST))
    sealed[position] ^= xor
    refused(probe.send(bytes(sealed)), AD.BAD_RECORD_MAC)


# == test-cve-2016-6309.py ========================================================================

PADDING = 21


def test_client_hello_with_a_large_padding_extension_completes() -> None:
    """tlsfuzzer test-cve-2016-6309.py "sanity" (10 bytes) and "Large ClientHello padding"
    (21798 bytes): a ClientHello of more than one record gets a handshake (RFC 7685 padding;
    RFC 5246 §6.2.1: a handshake message may span records)."""
    for size in (10, 21798):
        probe = tls12_probe.Probe()
        extensions = [*tls12_probe.default_extensions(), (PADDING, bytes(size))]
        probe.full_handshake(client_hello(extensions=extensions))
        probe.echo()


def test_client_hello_declaring_a_larger_length_is_waited_for() -> None:
    """tlsfuzzer test-cve-2016-6309.py "Large incorrect ClientHello length": the 2nd and 3rd
    bytes of the handshake header overwritten with 0x55 (a declared length of 0x5555 = 21845,
    far more than was sent): the server waits for the rest of the message, sending nothing
    and not failing (RFC 5246 §6.2.1: a handshake message may be fragmented across records)."""
    probe = tls12_probe.Probe()
    message = bytearray(client_hello())
    message[2] = message[3] = 0x55
    reply = probe.send(record(HANDSHAKE, bytes(message)))
    assert reply.error is None and reply.raw == b""
    assert reply.state is not ConnectionState.FAILED


# == test-early-application-data.py ===============================================================


@pytest.mark.parametrize("before", ["Client Key Exchange", "Change Cipher Spec", "Finished"])
def test_application_data_before_the_handshake_ends_is_unexpected_message(before: str) -> None:
    """tlsfuzzer test-early-application-data.py "before Client Key Exchange", "before Change
    Cipher Spec", "before Finished": application data before the handshake is complete gets a
    fatal alert and the connection closes (RFC 5246 §7.4: "It is a fatal error" to send
    messages out of order; application data is only sent after the Finished; unexpected_message,
    §7.2.2)."""
    probe = tls12_probe.Probe()
    assert probe.hello().error is None
    flight = b""
    if before != "Client Key Exchange":
        flight += probe.handshake_record(probe.client_key_exchange())
    if before == "Finished":
        flight += probe.ccs()
    reply = probe.send(flight + probe.seal(APPLICATION_DATA, b"hello server!\n"))
    refused(reply, AD.UNEXPECTED_MESSAGE)


# == test-invalid-server-name-extension.py ========================================================

HOST = b"localhost"


def sni(payload: bytes) -> Ext:
    return SERVER_NAME, payload


def names(*entries: tuple[int, bytes]) -> Ext:
    """server_name with a ServerNameList of (name_type, name) entries (RFC 6066 §3)."""
    body = b"".join(bytes((t,)) + len(n).to_bytes(2, "big") + n for t, n in entries)
    return sni(len(body).to_bytes(2, "big") + body)


def sni_answer(extension: Ext) -> tuple[tls12_probe.Probe, Reply]:
    probe = tls12_probe.Probe()
    extensions = [extension, groups_ext(X25519.id, SECP256R1.id), POINT_FORMATS, SIGALGS, EMS]
    return probe, probe.hello(client_hello(extensions=extensions))


def sni_handshake(extension: Ext) -> None:
    probe, reply = sni_answer(extension)
    assert reply.error is None, reply.error
    assert [content for kind, content in reply.records if kind == ALERT] == []  # no warning
    assert probe.finish().error is None
    probe.check_server_finished()
    probe.echo()


@pytest.mark.parametrize("host", [HOST, b"www." + HOST], ids=["Sanity check, SNI", "incorrect SNI"])
def test_server_name_handshake(host: bytes) -> None:
    """tlsfuzzer test-invalid-server-name-extension.py "Sanity check, SNI" and "incorrect SNI":
    a handshake. For a name the server does not know, tlsfuzzer's default expects a warning
    unrecognized_name first; RFC 6066 §3 says the server SHOULD either abort with a fatal
    unrecognized_name or continue, and "It is NOT RECOMMENDED to send a warning-level
    unrecognized_name(112) alert", so we continue without one (the script's ``--sni-fatal``
    mode is the other choice; a server_name_callback raising UnrecognizedName gives it)."""
    sni_handshake(names((0, host)))


@pytest.mark.parametrize(
    "payload",
    [b"", b"\x00\x00", b"\x00\x03\x00\x00\x00", b"\x00\x04\x00\x00\x01ex", b"\xff" * 4],
    ids=["Empty SNI extension", "Empty host list", "Empty hostname", "Trailing data in extension",
         "malformed overall length"],
)  # fmt: skip
def test_malformed_server_name_is_decode_error(payload: bytes) -> None:
    """tlsfuzzer test-invalid-server-name-extension.py "Empty SNI extension", "Empty host list
    in SNI extension", "Empty hostname in SNI extension", "Trailing data in extension",
    "malformed overall length": decode_error (RFC 6066 §3 ``server_name_list<1..2^16-1>``,
    ``HostName<1..2^16-1>``; RFC 5246 §7.2.2: a message that cannot be parsed)."""
    refused(sni_answer(sni(payload))[1], AD.DECODE_ERROR)


@pytest.mark.parametrize(
    "name",
    [HOST[:-1] + b"\x00" + HOST[-1:], HOST[:-1] + b"\x07" + HOST[-1:],
     HOST[:-1] + b"\xc4\x85" + HOST[-1:], HOST + b"\x1b[31mBAD\x1b[0;37m"],
    ids=["NULL", "BEL", "UTF-8", "ANSI color escapes"],
)  # fmt: skip
def test_server_name_that_is_not_a_host_name_is_illegal_parameter(name: bytes) -> None:
    """tlsfuzzer test-invalid-server-name-extension.py "SNI name with NULL / BEL / UTF-8 / ANSI
    color escapes code": illegal_parameter (RFC 6066 §3: HostName is a DNS host name "using
    ASCII encoding"; well-formed but not a valid value: illegal_parameter, RFC 5246 §7.2.2)."""
    refused(sni_answer(names((0, name)))[1], AD.ILLEGAL_PARAMETER)


def test_two_host_names_are_illegal_parameter() -> None:
    """tlsfuzzer test-invalid-server-name-extension.py "multiple host_names in SNI, RFC 6066
    compliance": illegal_parameter (RFC 6066 §3: "The ServerNameList MUST NOT contain more than
    one name of the same name_type")."""
    refused(sni_answer(names((0, HOST), (0, b"www." + HOST)))[1], AD.ILLEGAL_PARAMETER)


@pytest.mark.parametrize("host_name_first", [True, False], ids=["host_name first", "last"])
def test_unknown_server_name_type_is_ignored(host_name_first: bool) -> None:
    """tlsfuzzer test-invalid-server-name-extension.py "multiple types in SNI, host_name
    first / last": a host_name next to an entry of the unassigned name_type 1 (with a 16-bit
    length): the handshake completes, the unknown entry skipped (RFC 6066 §3: "all future data
    structures associated with new NameTypes MUST begin with a 16-bit length field", for
    backward compatibility; the RFC allows skipping it, and tlsfuzzer expects it)."""
    entries = [(0, HOST), (1, bytes(range(24)))]
    sni_handshake(names(*(entries if host_name_first else entries[::-1])))
