"""BoGo (BoringSSL ssl/test/runner) conformance, seventh round: the ``TrailingMessageData-*``
matrix (a byte after the last field of each handshake message, the handshake length covering
it) on both ends and in both versions, unsolicited OCSP and SCT extensions in a TLS 1.3
CertificateEntry, the GREASE values a GREASE-enabled client writes into its ClientHello
(RFC 8701 §3.1) replayed against our server, and a server that answers with a GREASE value.

The techniques are those of the earlier rounds (``test_bogo_client*.py``,
``test_bogo_server*.py``, ``test_bogo_round3.py`` .. ``test_bogo_round6.py``): a BoGo
``clientTest`` (the shim is the client) is replayed against our ServerConnection, whose output is
edited where the Go server misbehaves (tests/server_flight.py); a ``serverTest`` is replayed with
a scripted client that writes every byte itself (tests/tls13_probe.py, tests/tls12_probe.py).

Only BoGo tests no earlier module cites are here. Each test names its BoGo test(s), says what
BoGo expects and quotes the RFC sentence that decides. BoGo wants ``:DECODE_ERROR:`` and
"remote error: error decoding message" for trailing data and ``:DIGEST_CHECK_FAILED:`` /
"error decrypting message" for a Finished one byte too long; where BoGo only wants a failure
(``:UNEXPECTED_EXTENSION:``, a bad GREASE answer) the alert the RFC names is asserted.
"""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

import tls12_probe
import tls13_probe
from server_flight import TLS12_FIRST_FLIGHT as FIRST_FLIGHT12
from server_flight import (
    Flight13,
    Handshake12,
    frame,
    rejects,
    server_config,
)
from tls_fixtures import Clock, client_cert
from tlsmachine import (
    AeadTicketSealer,
    ClientConfig,
    InMemoryClientSessionStore,
    ServerConfig,
)
from tlsmachine.crypto.groups import SECP256R1, X25519
from tlsmachine.enums import AlertDescription, HandshakeType, ProtocolVersion
from tlsmachine.extensions import (
    KeyShareServerHello,
    SupportedVersionsServerHello,
    UnknownExtension,
)
from tlsmachine.extensions.hello import KeyShareEntry
from tlsmachine.messages.tls13 import CertificateEntry
from wire import HANDSHAKE, messages, record, records

AD = AlertDescription
HT = HandshakeType
TLS12 = ProtocolVersion.TLS12

GREASE = tuple(0x0A0A + 0x1010 * i for i in range(16))
"""The sixteen GREASE code points of RFC 8701 §2 (0x0A0A, 0x1A1A, ..., 0xFAFA)."""
GREASE_VERSION = GREASE[3]
GREASE_SUITE = GREASE[5]
GREASE_GROUP = GREASE[7]
GREASE_EXTENSION = GREASE[9]
GREASE_SCHEME = GREASE[11]
GREASE_ALPN = bytes((0x2A, 0x2A))
"""A GREASE ALPN identifier: RFC 8701 §2 "{0x0A,0x0A}, {0x1A,0x1A}, ..." (the ALPN form)."""

ALPN = 16
STATUS_REQUEST = 5
SIGNED_CERTIFICATE_TIMESTAMP = 18


def trailing(message: bytes) -> bytes:
    """``message`` (type, 24-bit length, body) with one zero byte after its body, the length
    counting it: what BoGo's ``SendTrailingMessageData`` bug sends."""
    return frame(message[0], message[4:] + b"\x00")


# == TLS 1.3 client: trailing data in the server's messages ======================================


def auth_settings(**kwargs: object) -> dict[str, object]:
    """Server settings asking for a client certificate (checked against the test client's)."""
    cadata = client_cert().leaf.public_bytes(Encoding.PEM)
    return {"client_auth": "required", "client_cadata": cadata, **kwargs}


def client_auth_server() -> ServerConfig:
    return server_config(**auth_settings())


TLS13_SERVER_MESSAGES = [
    pytest.param(HT.ENCRYPTED_EXTENSIONS, False, id="TLS13-EncryptedExtensions-TLS"),
    pytest.param(HT.CERTIFICATE_REQUEST, True, id="TLS13-CertificateRequest-TLS"),
    pytest.param(HT.CERTIFICATE, False, id="TLS13-ServerCertificate-TLS"),
    pytest.param(HT.CERTIFICATE_VERIFY, False, id="TLS13-ServerCertificateVerify-TLS"),
]


@pytest.mark.parametrize(("msg_type", "auth"), TLS13_SERVER_MESSAGES)
def test_tls13_client_refuses_trailing_data_after_a_server_message(
    msg_type: HandshakeType, auth: bool
) -> None:
    """BoGo TrailingMessageData-TLS13-EncryptedExtensions-TLS,
    TrailingMessageData-TLS13-CertificateRequest-TLS,
    TrailingMessageData-TLS13-ServerCertificate-TLS,
    TrailingMessageData-TLS13-ServerCertificateVerify-TLS: ":DECODE_ERROR:" and "remote error:
    error decoding message". RFC 8446 §6: "Peers which receive a message which cannot be parsed
    according to the syntax (e.g., have a length extending beyond the message boundary or
    contain an out-of-range length) MUST terminate the connection with a "decode_error" alert"
    (§6.2 decode_error: "the length of the message was incorrect")."""
    flight = Flight13.start(server=client_auth_server() if auth else None)
    bad = trailing(flight.flight[flight.find(msg_type)])
    rejects(flight.client, flight.replaced_sealed(msg_type, bad), AD.DECODE_ERROR, sends_alert=True)


def test_tls13_client_refuses_trailing_data_after_the_server_hello() -> None:
    """BoGo TrailingMessageData-TLS13-ServerHello-TLS: ":DECODE_ERROR:" (BoGo leaves the
    local error unchecked: our alert goes out in plaintext, the Go server expects it
    encrypted). RFC 8446 §4.1.3: the ServerHello ends with its extensions vector; a byte after
    it "cannot be parsed according to the syntax" (§6: "MUST terminate the connection with a
    "decode_error" alert"). The alert is sent in the clear: no handshake keys exist yet."""
    flight = Flight13.start()
    hello = records(flight.plain[0])[0][1]
    data = record(HANDSHAKE, trailing(hello)) + b"".join(flight.plain[1:])
    rejects(flight.client, data, AD.DECODE_ERROR, plaintext=True)


def test_tls13_client_refuses_a_server_finished_one_byte_too_long() -> None:
    """BoGo TrailingMessageData-TLS13-ServerFinished-TLS: BoGo wants ":DIGEST_CHECK_FAILED:" and
    "remote error: error decrypting message" (BoringSSL reads the longer Finished as a wrong
    verify_data). RFC 8446 §4.4.4 makes the field fixed-size, ``opaque
    verify_data[Hash.length]``, so a 33-byte body for SHA-256 "cannot be parsed according to
    the syntax" and §6 says such a message MUST end the connection "with a "decode_error"
    alert"; that RFC alert is asserted (decrypt_error, §4.4.4, is for contents that are "not
    correct" in a well-formed Finished)."""
    flight = Flight13.start()
    bad = trailing(flight.flight[flight.find(HT.FINISHED)])
    rejects(
        flight.client, flight.replaced_sealed(HT.FINISHED, bad), AD.DECODE_ERROR, sends_alert=True
    )


# == TLS 1.3 server: trailing data in the client's messages ======================================


def test_tls13_server_refuses_trailing_data_after_the_client_hello() -> None:
    """BoGo TrailingMessageData-TLS13-ClientHello-TLS: ":CLIENTHELLO_PARSE_FAILED:" and
    "remote error: error decoding message". RFC 8446 §4.1.2: the ClientHello ends with
    ``Extension extensions<8..2^16-1>``; §6: a message "which cannot be parsed according to the
    syntax" MUST be answered with "decode_error"."""
    probe = tls13_probe.Probe()
    hello = trailing(tls13_probe.client_hello())
    probe.expect_alert(lambda: probe.send_hello(hello), AD.DECODE_ERROR)


def test_tls13_server_refuses_a_client_finished_one_byte_too_long() -> None:
    """BoGo TrailingMessageData-TLS13-ClientFinished-TLS: BoGo wants ":DIGEST_CHECK_FAILED:"
    and "remote error: error decrypting message" (BoringSSL policy). RFC 8446 §4.4.4:
    ``opaque verify_data[Hash.length]`` is fixed-size; a longer body breaks the syntax, and §6:
    such a message MUST end the connection "with a "decode_error" alert" -- asserted."""
    probe = tls13_probe.Probe()
    probe.send_hello()
    assert probe.server_finished
    probe.use_handshake_keys()
    bad = trailing(probe.finished())
    probe.expect_alert(probe.sealed(tls13_probe.HANDSHAKE, bad), AD.DECODE_ERROR)


# == TLS 1.2 client: trailing data in the server's messages ======================================


def client12(**kwargs: object) -> ClientConfig:
    settings: dict[str, object] = {
        "verify_certificates": False,
        "max_version": TLS12,
        "groups": (SECP256R1,),
    }
    settings.update(kwargs)
    return ClientConfig(**settings)  # type: ignore[arg-type]


def server12(**kwargs: object) -> ServerConfig:
    return server_config(**{"groups": (SECP256R1,), **kwargs})


TLS12_FIRST_FLIGHT = [
    pytest.param(msg_type, auth, id=f"{name}-TLS") for msg_type, auth, name in FIRST_FLIGHT12
]


@pytest.mark.parametrize(("msg_type", "auth"), TLS12_FIRST_FLIGHT)
def test_tls12_client_refuses_trailing_data_in_the_first_flight(
    msg_type: HandshakeType, auth: bool
) -> None:
    """BoGo TrailingMessageData-ServerHello-TLS, TrailingMessageData-ServerCertificate-TLS,
    TrailingMessageData-ServerKeyExchange-TLS, TrailingMessageData-CertificateRequest-TLS,
    TrailingMessageData-ServerHelloDone-TLS: ":DECODE_ERROR:" and "remote error: error decoding
    message". RFC 5246 §7.2.2: decode_error "A message could not be decoded because some field
    was out of the specified range or the length of the message was incorrect. This message is
    always fatal" (ServerHelloDone: §7.4.5 ``struct { } ServerHelloDone;``, an empty body)."""
    server = server12(**auth_settings()) if auth else server12()
    hs = Handshake12.start(client12(), server)
    bad = hs.replaced(msg_type, trailing(hs.message(msg_type)))
    rejects(hs.client, bad, AD.DECODE_ERROR, plaintext=True)


def test_tls12_client_refuses_trailing_data_after_the_new_session_ticket() -> None:
    """BoGo TrailingMessageData-NewSessionTicket-TLS: ":DECODE_ERROR:". RFC 5077 §3.3: the
    NewSessionTicket is ``uint32 ticket_lifetime_hint; opaque ticket<0..2^16-1>;`` -- a byte
    after the ticket makes the length incorrect (RFC 5246 §7.2.2 decode_error)."""
    clock = Clock()
    config = client12(session_store=InMemoryClientSessionStore(), clock=clock)
    server = server12(session_tickets=1, clock=clock, ticket_sealer=AeadTicketSealer())
    hs = Handshake12.start(config, server)
    last = hs.finish()
    out = b""
    for content_type, body in records(last):
        if content_type == HANDSHAKE and body[0] == HT.NEW_SESSION_TICKET:
            (nst,) = messages(body)
            out += record(HANDSHAKE, trailing(nst))
        else:
            out += record(content_type, body)
    rejects(hs.client, out, AD.DECODE_ERROR, sends_alert=True)


def test_tls12_client_refuses_a_server_finished_one_byte_too_long() -> None:
    """BoGo TrailingMessageData-ServerFinished-TLS: BoGo wants ":DIGEST_CHECK_FAILED:" and
    "remote error: error decrypting message" (BoringSSL policy). RFC 5246 §7.4.9:
    ``opaque verify_data[verify_data_length]`` and "Any cipher suite which does not explicitly
    specify verify_data_length has a verify_data_length equal to 12": a 13-byte body is malformed,
    and §7.2.2 decode_error is for "the length of the message was incorrect" -- asserted."""
    hs = Handshake12.start(client12(), server12())
    hs.finish()
    verify = hs.server_finished_message()[4:] + b"\x00"
    rejects(hs.client, hs.server_finished(verify), AD.DECODE_ERROR, sends_alert=True)


# == TLS 1.2 server: trailing data in the client's messages ======================================


def test_tls12_server_refuses_trailing_data_after_the_client_hello() -> None:
    """BoGo TrailingMessageData-ClientHello-TLS: ":CLIENTHELLO_PARSE_FAILED:" and "remote
    error: error decoding message". RFC 5246 §7.4.1.2: the extensions are the bytes after
    compression_methods; one more byte after the extension block is a malformed message (§7.2.2
    decode_error)."""
    probe = tls12_probe.Probe()
    reply = probe.hello(trailing(tls12_probe.client_hello()))
    tls12_probe.refused(reply, AD.DECODE_ERROR)


def test_tls12_server_refuses_trailing_data_after_the_client_key_exchange() -> None:
    """BoGo TrailingMessageData-ClientKeyExchange-TLS: ":DECODE_ERROR:". RFC 8422 §5.7: an
    ECDHE ClientKeyExchange is ``ECPoint ecdh_Yc`` (``opaque point <1..2^8-1>``) and nothing
    else; RFC 5246 §7.2.2: decode_error, "the length of the message was incorrect"."""
    probe = tls12_probe.Probe()
    assert probe.hello().error is None
    cke = probe.client_key_exchange()
    reply = probe.send(probe.handshake_record(trailing(cke)))
    tls12_probe.refused(reply, AD.DECODE_ERROR)


def test_tls12_server_refuses_a_client_finished_one_byte_too_long() -> None:
    """BoGo TrailingMessageData-ClientFinished-TLS: BoGo wants ":DIGEST_CHECK_FAILED:" and
    "remote error: error decrypting message" (BoringSSL policy). RFC 5246 §7.4.9: verify_data
    is 12 bytes here; a 13-byte Finished has "the length of the message [...] incorrect"
    (§7.2.2 decode_error) -- asserted."""
    probe = tls12_probe.Probe()
    assert probe.hello().error is None
    cke = probe.client_key_exchange()
    data = probe.handshake_record(cke) + probe.ccs()
    data += probe.handshake_record(trailing(probe.finished_message()))
    tls12_probe.refused(probe.send(data), AD.DECODE_ERROR)


# == TLS 1.3 CertificateEntry extensions ==========================================================


@pytest.mark.parametrize(
    ("ext_type", "body"),
    [
        pytest.param(STATUS_REQUEST, b"\x01" + b"\x00\x00\x05" + b"bogus", id="OCSP"),
        pytest.param(SIGNED_CERTIFICATE_TIMESTAMP, b"\x00\x07\x00\x05bogus", id="SCT"),
    ],
)
def test_tls13_client_refuses_an_unsolicited_certificate_entry_extension(
    ext_type: int, body: bytes
) -> None:
    """BoGo SendUnsolicitedOCSPOnCertificate-TLS13, SendUnsolicitedSCTOnCertificate-TLS13:
    status_request (an OCSP response) or signed_certificate_timestamp on the leaf
    CertificateEntry although the client asked for neither: ":UNEXPECTED_EXTENSION:". RFC 8446
    §4.4.2: "Extensions in the Certificate message from the server MUST correspond to ones from
    the ClientHello message"; §4.2: "Implementations MUST NOT send extension responses if the
    remote endpoint did not send the corresponding extension requests [...] Upon receiving such
    an extension, an endpoint MUST abort the handshake with an "unsupported_extension" alert"."""
    flight = Flight13.start()
    cert = flight.decoded(HT.CERTIFICATE)
    leaf = cert.certificate_list[0]
    entry = CertificateEntry(leaf.cert_data, (UnknownExtension(ext_type, body),))
    bad = dataclasses.replace(cert, certificate_list=(entry, *cert.certificate_list[1:]), raw=b"")
    data = flight.replaced_sealed(HT.CERTIFICATE, bad)
    rejects(flight.client, data, AD.UNSUPPORTED_EXTENSION, sends_alert=True)


# == GREASE (RFC 8701) ============================================================================


def grease_hello13() -> bytes:
    """A TLS 1.3 ClientHello as a GREASE-enabled client writes it (RFC 8701 §3.1): a GREASE
    cipher suite, extension (empty, and one with a byte), version, group with a one-byte key
    share, signature algorithm and ALPN identifier, each before the real values."""
    p = tls13_probe
    share = SECP256R1.generate().public_bytes
    shares = GREASE_GROUP.to_bytes(2, "big") + p.vector(2, b"\x00")
    shares += SECP256R1.id.to_bytes(2, "big") + p.vector(2, share)
    alpn = p.vector(1, GREASE_ALPN) + p.vector(1, b"h2")
    extensions = [
        (GREASE_EXTENSION, b""),
        (p.EXT_KEY_SHARE, p.vector(2, shares)),
        (p.EXT_SUPPORTED_VERSIONS, p.vector(1, p.u16s((GREASE_VERSION, p.TLS13)))),
        (p.EXT_SUPPORTED_GROUPS, p.vector(2, p.u16s((GREASE_GROUP, SECP256R1.id)))),
        (p.EXT_SIGNATURE_ALGORITHMS, p.vector(2, p.u16s((GREASE_SCHEME, *p.RSA_PSS_SCHEMES)))),
        (ALPN, p.vector(2, alpn)),
        (GREASE[13], b"\x00"),
    ]
    return p.client_hello((GREASE_SUITE, p.AES_128_GCM), extensions)


def test_tls13_server_ignores_every_grease_value_in_the_client_hello() -> None:
    """BoGo GREASE-Client-TLS13 (-enable-grease; the runner checks the shim's ClientHello
    carries GREASE), replayed the other way: that ClientHello, sent to our server, completes on
    the real values -- AES-128-GCM, TLS 1.3, P-256, RSA-PSS, "h2". RFC 8701 §3.2: "Servers
    MUST handle these values as unknown: they MUST correctly ignore unknown values in a
    ClientHello and attempt to negotiate with one of the remaining parameters" (§3.1 lists
    cipher suites, extensions, named groups, key shares, versions, signature algorithms and
    ALPN identifiers)."""
    probe = tls13_probe.Probe(alpn_protocols=("h2",))
    probe.handshake(grease_hello13())
    hello = probe.server_hello
    assert hello is not None
    assert int.from_bytes(hello[39 + hello[38] :][:2], "big") == tls13_probe.AES_128_GCM
    group = tls13_probe.hello_extension(hello, tls13_probe.EXT_KEY_SHARE)[:2]
    assert int.from_bytes(group, "big") == SECP256R1.id
    info = probe.server.handshake_info
    assert info is not None and info.alpn_protocol == "h2"


def test_tls12_server_ignores_every_grease_value_in_the_client_hello() -> None:
    """BoGo GREASE-Client-TLS12, replayed the other way: a TLS 1.2 ClientHello with a GREASE
    cipher suite, extensions, group and signature algorithm completes with our server on the
    real ones. RFC 8701 §3.2: servers "MUST correctly ignore unknown values in a ClientHello and
    attempt to negotiate with one of the remaining parameters"."""
    p = tls12_probe
    extensions = [
        (GREASE_EXTENSION, b""),
        p.groups_ext(GREASE_GROUP, SECP256R1.id),
        p.POINT_FORMATS,
        p.sigalgs_ext(GREASE_SCHEME, 0x0403, 0x0804),
        p.EMS,
        p.RENEGO,
        (GREASE[13], b"\x00"),
    ]
    probe = p.Probe()
    probe.full_handshake(p.client_hello((GREASE_SUITE, p.ECDSA_GCM), extensions))
    assert probe.server_hello is not None
    assert probe.server_hello.cipher_suite == p.ECDSA_GCM


@pytest.mark.parametrize("field", ["cipher_suite", "version", "group"])
def test_tls13_client_refuses_a_grease_value_chosen_by_the_server(field: str) -> None:
    """BoGo GREASE-Client-TLS13, the client's other duty: the server answers with a GREASE
    value. RFC 8701 §3.1: "Clients MUST reject GREASE values when negotiated by the server. In
    particular, the client MUST fail the connection if a GREASE value appears in [...] The
    "version" value in a ServerHello [...] The "cipher_suite" value in a ServerHello [...] The
    "key_share" value in a ServerHello". The alert is RFC 8446's for each: §4.1.3 "A client
    which receives a cipher suite that was not offered MUST abort the handshake with an
    "illegal_parameter" alert"; §4.2.1 a supported_versions "version not offered by the client
    [...] MUST abort the handshake with an "illegal_parameter" alert"; §4.2.8 the server's share
    "MUST be in the same group as the KeyShareEntry value offered by the client" (§6.2
    illegal_parameter)."""
    flight = Flight13.start()
    if field == "cipher_suite":
        data = flight.server_hello_with(cipher_suite=GREASE_SUITE)
    elif field == "version":
        data = flight.server_hello_with(
            SupportedVersionsServerHello(selected_version=GREASE_VERSION)
        )
    else:
        share = KeyShareServerHello(KeyShareEntry(GREASE_GROUP, X25519.generate().public_bytes))
        data = flight.server_hello_with(share)
    rejects(flight.client, data + b"".join(flight.plain[1:]), AD.ILLEGAL_PARAMETER, plaintext=True)
