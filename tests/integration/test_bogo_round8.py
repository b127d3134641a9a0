"""BoGo (BoringSSL ssl/test/runner) conformance, eighth round: server tests (BoGo ``serverTest``:
the shim is the server, the Go runner a misbehaving client) no earlier round cites. The client's
handshake messages with the wrong type (``WrongMessageType-*``) and, in TLS 1.2, client
certificate messages with a trailing byte; client certificates that are skipped, garbage, empty
or carry an extension; version negotiation and record-layer versions; SNI, ALPN and
certificate_authorities on the server; a ClientHello without any extensions or without
key_share; HelloRetryRequest group choice; fake 0-RTT skipped or interleaved; the
``Resume-Server-*-SecondBinder`` PSK errors after a HelloRetryRequest; corrupt, forged and
session-ID-carrying tickets.

The techniques are those of the earlier rounds (``test_bogo_server*.py``,
``test_bogo_round3.py`` .. ``test_bogo_round7.py``): the Go client is replaced by the scripted
client of tests/tls13_probe.py / tests/tls12_probe.py, which writes every byte itself and learns
the server's secrets from its key log; a resumption opens the ticket with the server's own sealer
to learn the PSK (or master secret), and a forged ticket is sealed with it.

Each test names its BoGo test(s), says what BoGo expects and quotes the RFC sentence that decides.
Where BoGo checks BoringSSL policy beyond the RFC, the RFC's answer is asserted and the docstring
says so.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Callable, Sequence

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

import tls12_probe
from tls13_probe import (
    AES_128_GCM,
    AES_256_GCM,
    APPLICATION_DATA,
    CHACHA20,
    EXT_EARLY_DATA,
    EXT_KEY_SHARE,
    EXT_PRE_SHARED_KEY,
    EXT_PSK_KEY_EXCHANGE_MODES,
    EXT_SERVER_NAME,
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
    handshake,
    hello_extension,
    hello_extension_types,
    record,
    tls13_extensions,
    u16s,
    vector,
)
from tls_fixtures import client_cert
from tlsmachine import ConnectionState
from tlsmachine.crypto.groups import SECP256R1, SECP384R1, X25519
from tlsmachine.crypto.signatures import certificate_verify_input, sign
from tlsmachine.crypto.suites import (
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    suite_by_id,
)
from tlsmachine.enums import AlertDescription, HandshakeType, PskKeyExchangeMode
from tlsmachine.events import EarlyDataReceived
from tlsmachine.keyschedule import EarlySecret, finished_verify_data
from tlsmachine.messages import decode_handshake
from tlsmachine.messages.tls13 import NewSessionTicket, encode_certificate_verify
from tlsmachine.session import AeadTicketSealer, TicketState, open_ticket
from tlsmachine.session_cache import open_tls12_ticket
from wire import record as record12

AD = AlertDescription
HT = HandshakeType
DHE_KE = bytes([PskKeyExchangeMode.PSK_DHE_KE])
EXT_ALPN = 16
EXT_CERTIFICATE_AUTHORITIES = 47
EXT_SESSION_TICKET = 35
STATUS_REQUEST = 5
ECDSA_SHA256 = 0x0403
MAX_EARLY = 16384
EARLY = b"early data!"
DOWNGRADE_TLS12 = bytes.fromhex("444f574e47524401")
"""RFC 8446 §4.1.3: the last 8 bytes of a TLS 1.3 server's Random when it negotiates TLS 1.2."""
END_OF_EARLY_DATA = handshake(HT.END_OF_EARLY_DATA, b"")


def wrong_type(message: bytes) -> bytes:
    """BoGo ``SendWrongMessageType``: the message with ``msg_type + 42`` (an unassigned
    handshake type for every message here), body and length unchanged."""
    return bytes((message[0] + 42,)) + message[1:]


def trailing(message: bytes) -> bytes:
    """BoGo ``SendTrailingMessageData``: one zero byte after the body, the length counting it."""
    return bytes((message[0],)) + (len(message) - 3).to_bytes(3, "big") + message[4:] + b"\x00"


def sni(name: bytes) -> tuple[int, bytes]:
    """server_name with one host_name (RFC 6066 §3)."""
    return EXT_SERVER_NAME, vector(2, b"\x00" + vector(2, name))


def alpn(*names: bytes) -> tuple[int, bytes]:
    """application_layer_protocol_negotiation (RFC 7301 §3.1)."""
    return EXT_ALPN, vector(2, b"".join(vector(1, n) for n in names))


def sv(*versions: int) -> tuple[int, bytes]:
    """supported_versions (RFC 8446 §4.2.1)."""
    return EXT_SUPPORTED_VERSIONS, vector(1, u16s(versions))


def extensions_of(message: bytes) -> dict[int, bytes]:
    """The extensions of an EncryptedExtensions message, by type."""
    body, out = message[6:], {}
    while body:
        size = int.from_bytes(body[2:4], "big")
        out[int.from_bytes(body[:2], "big")] = body[4 : 4 + size]
        body = body[4 + size :]
    return out


def encrypted_extensions(probe: Probe) -> dict[int, bytes]:
    return extensions_of(next(m for m in probe.messages if m[0] == HT.ENCRYPTED_EXTENSIONS))


def is_hello_retry(probe: Probe) -> bool:
    return probe.server_hello is not None and probe.server_hello[6:38] == HRR_RANDOM


# == client certificates (the test client's ECDSA P-256 key, signed with ecdsa_secp256r1_sha256)


def trusted() -> bytes:
    return client_cert().leaf.public_bytes(Encoding.PEM)


def auth_probe13(client_auth: str = "required") -> Probe:
    """A TLS 1.3 server asking for a client certificate, its first flight read; the probe
    writes under the client handshake keys."""
    probe = Probe(client_auth=client_auth, client_cadata=trusted())
    probe.send_hello()
    assert HT.CERTIFICATE_REQUEST in [m[0] for m in probe.messages]
    assert probe.server_finished
    probe.use_handshake_keys()
    return probe


def certificate13(der: bytes | None = None, extensions: bytes = b"") -> bytes:
    """A TLS 1.3 client Certificate: empty context, one entry (RFC 8446 §4.4.2)."""
    der = client_cert().der_chain[0] if der is None else der
    return handshake(HT.CERTIFICATE, b"\x00" + vector(3, vector(3, der) + vector(2, extensions)))


def certificate_verify13(transcript: bytes) -> bytes:
    content = certificate_verify_input(hashlib.sha256(transcript).digest(), server=False)
    signature = sign(ECDSA_SHA256, client_cert().private_key, content)
    return encode_certificate_verify(ECDSA_SHA256, signature)


EMPTY_CERTIFICATE13 = handshake(HT.CERTIFICATE, b"\x00" + vector(3, b""))


def auth_probe12(client_auth: str = "required") -> tls12_probe.Probe:
    """A TLS 1.2 server asking for a client certificate, after its first flight."""
    config = tls12_probe.server_config(client_auth=client_auth, client_cadata=trusted())
    probe = tls12_probe.Probe(config)
    reply = probe.hello()
    assert reply.error is None
    assert HT.CERTIFICATE_REQUEST in reply.handshake_types
    return probe


def certificate12(der: bytes | None = None) -> bytes:
    """A TLS 1.2 Certificate of one certificate (RFC 5246 §7.4.6), or none with ``b""``."""
    der = client_cert().der_chain[0] if der is None else der
    return handshake(HT.CERTIFICATE, vector(3, vector(3, der) if der else b""))


def certificate_verify12(probe: tls12_probe.Probe) -> bytes:
    """A CertificateVerify over the handshake messages so far (RFC 5246 §7.4.8)."""
    content = b"".join(probe.transcript)
    signature = sign(ECDSA_SHA256, client_cert().private_key, content, tls13=False)
    return handshake(HT.CERTIFICATE_VERIFY, ECDSA_SHA256.to_bytes(2, "big") + vector(2, signature))


Edit = Callable[[bytes], bytes]


def client_flight12(
    probe: tls12_probe.Probe,
    certificate: bytes | None,
    *,
    edit_certificate: Edit | None = None,
    edit_verify: Edit | None = None,
) -> tls12_probe.Reply:
    """[Certificate], ClientKeyExchange, [CertificateVerify] in one record, then
    ChangeCipherSpec and Finished; ``edit_*`` changes a message as sent (and as hashed)."""
    sent = []
    signs = certificate is not None and certificate != certificate12(b"")
    if certificate is not None:
        certificate = edit_certificate(certificate) if edit_certificate else certificate
        probe.transcript.append(certificate)
        sent.append(certificate)
    key_exchange = probe.client_key_exchange()
    probe.transcript.append(key_exchange)
    sent.append(key_exchange)
    if signs:
        verify = certificate_verify12(probe)
        verify = edit_verify(verify) if edit_verify else verify
        probe.transcript.append(verify)
        sent.append(verify)
    data = record12(HANDSHAKE, b"".join(sent)) + probe.ccs() + probe.finished_record()
    return probe.send(data)


# == tickets and PSK ClientHellos (RFC 8446 §4.2.11, §4.6.1) =====================================


@dataclasses.dataclass(frozen=True)
class Ticket:
    """A TLS 1.3 ticket as the client holds it, with the state the server sealed into it."""

    ticket: bytes
    state: TicketState

    @property
    def psk(self) -> bytes:
        return self.state.psk


def issue_ticket(
    suites: Sequence[int] = (AES_128_GCM,), **config: object
) -> tuple[Ticket, dict[str, object]]:
    """A full handshake against a server made from ``config`` (plus a ticket sealer of its own);
    the first ticket and the config to resume with."""
    config.setdefault("ticket_sealer", AeadTicketSealer())
    probe = Probe(**config)
    modes = (EXT_PSK_KEY_EXCHANGE_MODES, vector(1, DHE_KE))
    probe.handshake(client_hello(suites, [*tls13_extensions(), modes]))
    nst = decode_handshake(next(m for m in probe.messages if m[0] == HT.NEW_SESSION_TICKET))
    assert isinstance(nst, NewSessionTicket)
    sealer = config["ticket_sealer"]
    assert isinstance(sealer, AeadTicketSealer)
    state = open_ticket(sealer, nst.ticket)
    assert state is not None
    return Ticket(nst.ticket, state), config


def resume_hello(
    ticket: Ticket,
    extensions: Extensions | None = None,
    *,
    prefix: bytes = b"",
    early_data: bool = False,
    suites: Sequence[int] = (AES_128_GCM,),
    binders: str = "ok",
    hash_name: str = "sha256",
) -> bytes:
    """A ClientHello resuming ``ticket`` (its age 0) with a binder over ``prefix`` (the
    transcript before it, after a HelloRetryRequest) and the truncated hello (RFC 8446
    §4.2.11.2). ``binders`` spoils the pre_shared_key extension as BoGo's bugs do: "none" (an
    empty binder list, SendNoPSKBinder), "extra" (two binders for one identity,
    SendExtraPSKBinder), "extra-identity" (two identities, one binder, ExtraPSKIdentity), "short"
    (a 31-byte binder, SendShortPSKBinder), "first" (pre_shared_key not last, PSKBinderFirst)."""
    extensions = tls13_extensions() if extensions is None else list(extensions)
    extensions.append((EXT_PSK_KEY_EXCHANGE_MODES, vector(1, DHE_KE)))
    if early_data:
        extensions.append((EXT_EARLY_DATA, b""))
    age = ticket.state.ticket_age_add % 2**32
    identities = vector(2, ticket.ticket) + age.to_bytes(4, "big")
    if binders == "extra-identity":
        identities += vector(2, b"an identity without a binder") + bytes(4)
    size = hashlib.new(hash_name).digest_size
    count = {"none": 0, "extra": 2}.get(binders, 1)
    length = size - 1 if binders == "short" else size
    placeholder = vector(2, b"".join(vector(1, bytes(length)) for _ in range(count)))
    psk = (EXT_PRE_SHARED_KEY, vector(2, identities) + placeholder)
    ordered = [psk, *extensions] if binders == "first" else [*extensions, psk]
    hello = client_hello(suites, ordered)
    if binders == "first":
        return hello
    truncated = hello[: -len(placeholder)]
    key = EarlySecret.from_psk(hash_name, ticket.psk).binder_key(external=False)
    digest = hashlib.new(hash_name, prefix + truncated).digest()
    binder = finished_verify_data(hash_name, key, digest)[:length]
    return truncated + vector(2, b"".join(vector(1, binder) for _ in range(count)))


def psk_selected(probe: Probe) -> bool:
    assert probe.server_hello is not None
    return EXT_PRE_SHARED_KEY in hello_extension_types(probe.server_hello)


def sent_certificate(probe: Probe) -> bool:
    return any(m[0] == HT.CERTIFICATE for m in probe.messages)


def no_share_extensions() -> Extensions:
    """A P-256 offer without a key share (BoGo ``DefaultCurves: []CurveID{}``): the server
    answers with a HelloRetryRequest."""
    return tls13_extensions((SECP256R1,), shares=())


def accepted_0rtt() -> Probe:
    """A resumption whose 0-RTT data the server accepted; the probe writes under the client's
    early traffic keys (RFC 8446 §7.1)."""
    ticket, config = issue_ticket(max_early_data_size=MAX_EARLY)
    probe = Probe(**config)
    hello = resume_hello(ticket, early_data=True)
    probe.transcript += hello
    secret = EarlySecret.from_psk("sha256", ticket.psk).client_early_traffic_secret(
        hashlib.sha256(hello).digest()
    )
    probe.suite = suite_by_id(AES_128_GCM)
    probe.writer = probe.protector(secret)
    probe.send(record(HANDSHAKE, hello) + probe.sealed(APPLICATION_DATA, EARLY))
    assert early_data_received(probe) == EARLY
    assert EXT_EARLY_DATA in encrypted_extensions(probe)
    return probe


def early_data_received(probe: Probe) -> bytes:
    return b"".join(e.data for e in probe.events if isinstance(e, EarlyDataReceived))


# == WrongMessageType-*: a client message of the wrong type =====================================


def _wrong_client_hello13() -> tuple[Probe, Callable[[], object]]:
    probe = Probe()
    return probe, lambda: probe.send_hello(wrong_type(client_hello()))


def _wrong_certificate13() -> tuple[Probe, Callable[[], object]]:
    probe = auth_probe13()
    return probe, lambda: probe.send(probe.sealed(HANDSHAKE, wrong_type(certificate13())))


def _wrong_certificate_verify13() -> tuple[Probe, Callable[[], object]]:
    probe = auth_probe13()
    certificate = certificate13()
    verify = certificate_verify13(probe.transcript + certificate)
    data = probe.sealed(HANDSHAKE, certificate + wrong_type(verify))
    return probe, lambda: probe.send(data)


def _wrong_finished13() -> tuple[Probe, Callable[[], object]]:
    probe = Probe()
    probe.send_hello()
    assert probe.server_finished
    probe.use_handshake_keys()
    return probe, lambda: probe.send(probe.sealed(HANDSHAKE, wrong_type(probe.finished())))


def _wrong_end_of_early_data() -> tuple[Probe, Callable[[], object]]:
    probe = accepted_0rtt()
    return probe, lambda: probe.send(probe.sealed(HANDSHAKE, wrong_type(END_OF_EARLY_DATA)))


WRONG13: dict[str, Callable[[], tuple[Probe, Callable[[], object]]]] = {
    "TLS13-ClientHello-TLS": _wrong_client_hello13,
    "TLS13-ClientCertificate-TLS": _wrong_certificate13,
    "TLS13-ClientCertificateVerify-TLS": _wrong_certificate_verify13,
    "TLS13-ClientFinished-TLS": _wrong_finished13,
    "TLS13-EndOfEarlyData-TLS": _wrong_end_of_early_data,
}


@pytest.mark.parametrize("name", list(WRONG13))
def test_tls13_client_message_of_the_wrong_type_is_unexpected_message(name: str) -> None:
    """BoGo WrongMessageType-TLS13-ClientHello-TLS, WrongMessageType-TLS13-ClientCertificate-TLS,
    WrongMessageType-TLS13-ClientCertificateVerify-TLS, WrongMessageType-TLS13-ClientFinished-TLS,
    WrongMessageType-TLS13-EndOfEarlyData-TLS (SendWrongMessageType: the message's type plus
    42): ":UNEXPECTED_MESSAGE:", "remote error: unexpected message". RFC 8446 §4: "A peer which
    receives a handshake message in an unexpected order MUST abort the handshake with an
    "unexpected_message" alert" (§6.2: "the wrong handshake message")."""
    probe, send = WRONG13[name]()
    probe.expect_alert(send, AD.UNEXPECTED_MESSAGE)


def _wrong_client_hello12() -> tls12_probe.Reply:
    return tls12_probe.Probe().hello(wrong_type(tls12_probe.client_hello()))


def _wrong_certificate12() -> tls12_probe.Reply:
    return client_flight12(auth_probe12(), certificate12(), edit_certificate=wrong_type)


def _wrong_certificate_verify12() -> tls12_probe.Reply:
    return client_flight12(auth_probe12(), certificate12(), edit_verify=wrong_type)


def _wrong_client_key_exchange12() -> tls12_probe.Reply:
    probe = tls12_probe.Probe()
    assert probe.hello().error is None
    return probe.send(probe.handshake_record(wrong_type(probe.client_key_exchange())))


def _wrong_finished12() -> tls12_probe.Reply:
    probe = tls12_probe.Probe()
    assert probe.hello().error is None
    data = probe.handshake_record(probe.client_key_exchange()) + probe.ccs()
    return probe.send(data + probe.handshake_record(wrong_type(probe.finished_message())))


WRONG12: dict[str, Callable[[], tls12_probe.Reply]] = {
    "ClientHello-TLS": _wrong_client_hello12,
    "ClientCertificate-TLS": _wrong_certificate12,
    "CertificateVerify-TLS": _wrong_certificate_verify12,
    "ClientKeyExchange-TLS": _wrong_client_key_exchange12,
    "ClientFinished-TLS": _wrong_finished12,
}


@pytest.mark.parametrize("name", list(WRONG12))
def test_tls12_client_message_of_the_wrong_type_is_unexpected_message(name: str) -> None:
    """BoGo WrongMessageType-ClientHello-TLS, WrongMessageType-ClientCertificate-TLS,
    WrongMessageType-CertificateVerify-TLS, WrongMessageType-ClientKeyExchange-TLS,
    WrongMessageType-ClientFinished-TLS: ":UNEXPECTED_MESSAGE:", "remote error: unexpected
    message". RFC 5246 §7.4: the handshake messages are listed "in the order they MUST be sent;
    sending handshake messages in an unexpected order results in a fatal error"; §7.2.2
    unexpected_message: "An inappropriate message was received"."""
    tls12_probe.refused(WRONG12[name](), AD.UNEXPECTED_MESSAGE)


# == TrailingMessageData-* for the TLS 1.2 client certificate messages ===========================


@pytest.mark.parametrize("message", ["ClientCertificate-TLS", "CertificateVerify-TLS"])
def test_tls12_trailing_data_after_a_client_auth_message_is_decode_error(message: str) -> None:
    """BoGo TrailingMessageData-ClientCertificate-TLS, TrailingMessageData-CertificateVerify-TLS
    (TLS 1.2, -require-any-client-certificate): ":DECODE_ERROR:", "remote error: error
    decoding message". RFC 5246 §7.4.6 / §7.4.8: the message ends with ``certificate_list`` /
    ``digitally-signed struct``; a byte after it makes "the length of the message [...]
    incorrect" (§7.2.2 decode_error)."""
    probe = auth_probe12()
    if message == "ClientCertificate-TLS":
        reply = client_flight12(probe, certificate12(), edit_certificate=trailing)
    else:
        reply = client_flight12(probe, certificate12(), edit_verify=trailing)
    tls12_probe.refused(reply, AD.DECODE_ERROR)


# == client certificates: skipped, garbage, empty, with an extension ============================


def test_tls13_skipped_client_certificate_is_unexpected_message() -> None:
    """BoGo SkipClientCertificate-TLS13 (-verify-peer, i.e. the certificate is optional; the Go
    client sends Finished without a Certificate): ":UNEXPECTED_MESSAGE:". RFC 8446 §4.4.2: "The
    client MUST send a Certificate message if and only if the server has requested client
    authentication via a CertificateRequest message"; a Finished in its place is a message in
    an unexpected order (§4: "unexpected_message")."""
    probe = auth_probe13("optional")
    probe.expect_alert(probe.sealed(HANDSHAKE, probe.finished()), AD.UNEXPECTED_MESSAGE)


def test_tls12_skipped_client_certificate_is_unexpected_message() -> None:
    """BoGo SkipClientCertificate-TLS12 (optional client certificate; the Go client sends
    ClientKeyExchange without a Certificate): ":UNEXPECTED_MESSAGE:". RFC 5246 §7.4.6: "If no
    suitable certificate is available, the client MUST send a certificate message containing
    no certificates"; skipping it sends messages out of order (§7.4, §7.2.2
    unexpected_message)."""
    reply = client_flight12(auth_probe12("optional"), None)
    tls12_probe.refused(reply, AD.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize("version", ["TLS13", "TLS12"])
def test_garbage_client_certificate_is_bad_certificate(version: str) -> None:
    """BoGo GarbageCertificate-Server-TLS12 / -TLS13 (the client's "certificate" is the bytes
    GARBAGE): BoGo wants ":CANNOT_PARSE_LEAF_CERT:" and "remote error: error decoding message".
    The Certificate message itself parses (``opaque cert_data<1..2^24-1>``); it is the
    certificate that is corrupt, and the RFCs name the alert for that: RFC 8446 §6.2
    "bad_certificate: A certificate was corrupt, contained signatures that did not verify
    correctly, etc." (RFC 5246 §7.2.2: "A certificate was corrupt, contains signatures that did
    not verify correctly, etc."). The RFC's alert is asserted, not BoGo's decode_error."""
    if version == "TLS13":
        probe = auth_probe13()
        probe.expect_alert(probe.sealed(HANDSHAKE, certificate13(b"GARBAGE")), AD.BAD_CERTIFICATE)
        return
    tls12_probe.refused(
        client_flight12(auth_probe12(), certificate12(b"GARBAGE")), AD.BAD_CERTIFICATE
    )


def test_tls13_empty_client_certificate_when_optional_completes_and_resumes() -> None:
    """BoGo NoClientCertificate-Server-TLS13 (-verify-peer; the Go client has no certificate;
    resumeSession): the handshake completes without a client identity, and so does the
    resumption. RFC 8446 §4.4.2.4: "If the client does not send any certificates (i.e., it
    sends an empty Certificate message), the server MAY at its discretion either continue the
    handshake without client authentication or abort"; §4.3.2: "Servers which are
    authenticating with a PSK MUST NOT send the CertificateRequest message in the main
    handshake"."""
    sealer = AeadTicketSealer()
    probe = Probe(client_auth="optional", client_cadata=trusted(), ticket_sealer=sealer)
    modes = (EXT_PSK_KEY_EXCHANGE_MODES, vector(1, DHE_KE))
    probe.send_hello(client_hello((AES_128_GCM,), [*tls13_extensions(), modes]))
    assert HT.CERTIFICATE_REQUEST in [m[0] for m in probe.messages]
    probe.use_handshake_keys()
    probe.transcript += EMPTY_CERTIFICATE13
    probe.send(probe.sealed(HANDSHAKE, EMPTY_CERTIFICATE13 + probe.finished()))
    probe.use_application_keys()
    info = probe.server.handshake_info
    assert probe.server.state is ConnectionState.APP_DATA and info is not None
    assert info.peer_certificates == ()
    nst = decode_handshake(next(m for m in probe.messages if m[0] == HT.NEW_SESSION_TICKET))
    assert isinstance(nst, NewSessionTicket)
    state = open_ticket(sealer, nst.ticket)
    assert state is not None
    again = Probe(client_auth="optional", client_cadata=trusted(), ticket_sealer=sealer)
    again.handshake(resume_hello(Ticket(nst.ticket, state)))
    assert psk_selected(again)
    assert HT.CERTIFICATE_REQUEST not in [m[0] for m in again.messages]
    resumed = again.server.handshake_info
    assert resumed is not None and resumed.resumed and resumed.peer_certificates == ()


def test_tls12_empty_client_certificate_when_optional_completes() -> None:
    """BoGo NoClientCertificate-Server-TLS12 (-verify-peer; an empty Certificate, no
    CertificateVerify): the handshake completes without a client identity. RFC 5246 §7.4.6:
    "If the client does not send any certificates, the server MAY at its discretion either
    continue the handshake without client authentication, or respond with a fatal
    handshake_failure alert"; §7.4.8: CertificateVerify "is only sent following a client
    certificate that has signing capability"."""
    probe = auth_probe12("optional")
    reply = client_flight12(probe, certificate12(b""))
    assert reply.error is None and reply.state is ConnectionState.APP_DATA
    info = probe.server.handshake_info
    assert info is not None and info.peer_certificates == ()
    probe.echo()


def test_tls13_ocsp_response_on_the_client_certificate_is_unsupported_extension() -> None:
    """BoGo SendExtensionOnClientCertificate-TLS13 (an OCSP response, status_request, on the
    client's CertificateEntry; the shim even has -enable-ocsp-stapling): ":UNEXPECTED_EXTENSION:".
    RFC 8446 §4.4.2: "Extensions in the Certificate message from the client MUST correspond to
    extensions in the CertificateRequest message from the server" (ours requests none), and
    §4.2: "Implementations MUST NOT send extension responses if the remote endpoint did not
    send the corresponding extension requests [...] Upon receiving such an extension, an
    endpoint MUST abort the handshake with an "unsupported_extension" alert"."""
    probe = auth_probe13()
    ocsp = b"\x01" + vector(3, b"\x01\x02\x03\x04")  # CertificateStatus: ocsp, a response
    certificate = certificate13(extensions=STATUS_REQUEST.to_bytes(2, "big") + vector(2, ocsp))
    verify = certificate_verify13(probe.transcript + certificate)
    probe.transcript += certificate + verify
    data = probe.sealed(HANDSHAKE, certificate + verify + probe.finished())
    probe.expect_alert(data, AD.UNSUPPORTED_EXTENSION)


# == version negotiation (version_tests.go, basic tests) ========================================


def hello12(*extra: tuple[int, bytes], version: int = TLS12, suites: Sequence[int] = ()) -> bytes:
    """A ClientHello of the TLS 1.2 probe (ECDHE_ECDSA), with ``extra`` extensions."""
    suites = tuple(suites) or (tls12_probe.ECDSA_GCM,)
    extensions = [*tls12_probe.default_extensions(), *extra]
    return tls12_probe.client_hello(suites, extensions, version=version)


def negotiated_tls12(hello: bytes) -> tls12_probe.Probe:
    """Send ``hello``; the server answered with a TLS 1.2 flight. The probe, to finish it."""
    probe = tls12_probe.Probe()
    reply = probe.hello(hello)
    assert reply.error is None, reply.error
    assert reply.handshake_types[-1] == HT.SERVER_HELLO_DONE
    assert probe.server_hello is not None
    assert probe.server_hello.legacy_version == TLS12
    assert probe.server_extension(EXT_SUPPORTED_VERSIONS) is None
    return probe


@pytest.mark.parametrize(
    ("legacy_version", "versions"),
    [
        pytest.param(0x0304, None, id="ClientHelloVersionTooHigh"),
        pytest.param(0x03FF, None, id="MinorVersionTolerance"),
        pytest.param(0x0302, (TLS12,), id="ConflictingVersionNegotiation-2"),
        pytest.param(TLS12, (TLS12,), id="Downgrade-TLS12-Server-TLS"),
    ],
)
def test_tls12_is_negotiated_with_the_downgrade_signal(
    legacy_version: int, versions: tuple[int, ...] | None
) -> None:
    """BoGo ClientHelloVersionTooHigh (legacy_version 0x0304, no supported_versions),
    MinorVersionTolerance (0x03ff, none), ConflictingVersionNegotiation-2 (legacy_version TLS
    1.1, supported_versions {TLS 1.2}), Downgrade-TLS12-Server-TLS (supported_versions {TLS
    1.2}; the Go client checks "tls: downgrade from TLS 1.3 detected"): TLS 1.2, and our TLS
    1.3-capable server marks its Random. RFC 8446 §4.2.1: without supported_versions TLS 1.3 is
    never negotiated, and with it servers "MUST NOT use the ClientHello.legacy_version value for
    version negotiation"; Appendix D.2: otherwise "the server MUST negotiate the minimum of
    ClientHello.legacy_version and TLS 1.2"; §4.1.3: "If negotiating TLS 1.2, TLS 1.3 servers
    MUST set the last 8 bytes of their Random value to the bytes: 44 4F 57 4E 47 52 44 01"."""
    extra = [] if versions is None else [sv(*versions)]
    probe = negotiated_tls12(hello12(*extra, version=legacy_version))
    assert probe.server_hello is not None
    assert probe.server_hello.random[-8:] == DOWNGRADE_TLS12
    reply = probe.finish()
    assert reply.error is None and reply.state is ConnectionState.APP_DATA


def test_highest_offered_version_is_chosen_whatever_the_client_order() -> None:
    """BoGo IgnoreClientVersionOrder (supported_versions {TLS 1.2, TLS 1.3}): TLS 1.3. RFC 8446
    §4.2.1 lists the versions "in preference order", but only requires that "Servers MUST only
    select a version of TLS present in that extension"; the choice is the server's, and ours is
    BoGo's: TLS 1.3, the best one both support."""
    probe = Probe()
    extensions = [e for e in tls13_extensions() if e[0] != EXT_SUPPORTED_VERSIONS]
    probe.handshake(client_hello(extensions=[*extensions, sv(TLS12, TLS13)]))
    assert probe.server_hello is not None
    assert hello_extension(probe.server_hello, EXT_SUPPORTED_VERSIONS) == TLS13.to_bytes(2, "big")


@pytest.mark.parametrize(
    ("legacy_version", "versions"),
    [
        pytest.param(TLS12, (0x1111,), id="NoSupportedVersions"),
        pytest.param(0x0200, None, id="VersionTooLow"),
        pytest.param(0x0300, None, id="NoSSL3-Server"),
        pytest.param(TLS12, (0x0302,), id="Downgrade-TLS11-Server-TLS"),
    ],
)
def test_no_acceptable_version_is_protocol_version(
    legacy_version: int, versions: tuple[int, ...] | None
) -> None:
    """BoGo NoSupportedVersions (supported_versions {0x1111}: ":UNSUPPORTED_PROTOCOL:"),
    VersionTooLow (legacy_version 0x0200: the same), NoSSL3-Server (an SSL 3.0 client: "remote
    error: protocol version not supported") and Downgrade-TLS11-Server-TLS (supported_versions
    {TLS 1.1}), where BoGo wants a TLS 1.1 handshake with the "DOWNGRD\\x00" Random; the RFC
    forbids TLS 1.1, so protocol_version is asserted there too. RFC 8446 §4.2.1: servers "MUST
    ignore any unknown versions"; Appendix D.2: "If the "supported_versions" extension is absent
    and the server only supports versions greater than ClientHello.legacy_version, the server
    MUST abort the handshake with a "protocol_version" alert"; Appendix D.5: "Any endpoint
    receiving a Hello message with ClientHello.legacy_version [...] set to 0x0300 MUST abort the
    handshake with a "protocol_version" alert"; RFC 8996 §5: "TLS 1.1 MUST NOT be used.
    Negotiation of TLS 1.1 from any version of TLS MUST NOT be permitted.\""""
    extra = [] if versions is None else [sv(*versions)]
    reply = tls12_probe.Probe().hello(hello12(*extra, version=legacy_version))
    tls12_probe.refused(reply, AD.PROTOCOL_VERSION)
    assert HT.SERVER_HELLO not in reply.handshake_types


def test_tls11_client_hello_with_fallback_scsv_is_protocol_version() -> None:
    """BoGo FallbackSCSV (MaxVersion TLS 1.1, SendFallbackSCSV): ":INAPPROPRIATE_FALLBACK:",
    which RFC 7507 §3 allowed ("MUST respond with a fatal inappropriate_fallback alert (unless it
    responds with a fatal protocol_version alert because the version indicated in
    ClientHello.client_version is unsupported)"). RFC 8996 obsoletes RFC 7507 (its header:
    "Obsoletes: 5469, 7507") and leaves one answer for a TLS 1.1 hello, §5: "Any party receiving
    a Hello message with the protocol version set to {03,02} MUST respond with a
    "protocol_version" alert message and close the connection." The RFC's alert is asserted."""
    hello = hello12(version=0x0302, suites=(tls12_probe.ECDSA_GCM, tls12_probe.FALLBACK_SCSV))
    tls12_probe.refused(tls12_probe.Probe().hello(hello), AD.PROTOCOL_VERSION)


# == record-layer version of the first ClientHello (addRecordVersionTests) ======================


@pytest.mark.parametrize(
    "record_version",
    [
        pytest.param(0x03FF, id="LooseInitialRecordVersion"),
        pytest.param(0xFFFF, id="GarbageInitialRecordVersion"),
    ],
)
@pytest.mark.parametrize("version", ["TLS13", "TLS12"])
def test_client_hello_record_version_is_ignored(record_version: int, version: str) -> None:
    """BoGo LooseInitialRecordVersion-TLS12 / -TLS13 (the ClientHello's record says 0x03ff):
    accepted. BoGo GarbageInitialRecordVersion-TLS12 / -TLS13 (0xffff): BoGo wants
    ":WRONG_VERSION_NUMBER:"; the RFC disagrees and is followed. RFC 8446 §5.1
    legacy_record_version: "This field is deprecated and MUST be ignored for all purposes";
    Appendix D: "The value of TLSPlaintext.legacy_record_version MUST be ignored by all
    implementations"; Appendix D.2 (a TLS 1.2 client): "Servers will receive various TLS 1.x
    versions in this field, but its value MUST always be ignored." (RFC 5246 Appendix E.1 only
    adds that servers "MUST accept any value {03,XX}".) Both handshakes complete."""
    header = bytes((HANDSHAKE,)) + record_version.to_bytes(2, "big")
    if version == "TLS13":
        probe = Probe()
        hello = client_hello()
        probe.transcript += hello
        probe.send(header + vector(2, hello))
        assert probe.server_finished
        probe.send_finished()
        assert probe.server.state is ConnectionState.APP_DATA
        return
    probe12 = tls12_probe.Probe()
    hello12_ = hello12()
    probe12.client_random = hello12_[6:38]
    probe12.transcript.append(hello12_)
    reply = probe12.send(header + vector(2, hello12_))
    assert reply.error is None and reply.handshake_types[-1] == HT.SERVER_HELLO_DONE
    assert probe12.finish().state is ConnectionState.APP_DATA


# == SNI, ALPN, certificate_authorities, missing extensions (extension_tests.go) ================


def test_tls13_server_name_is_acknowledged_with_an_empty_extension() -> None:
    """BoGo ServerNameExtensionServer-TLS-TLS13 (-expect-server-name example.com; the runner
    checks serverNameAck in full handshakes): server_name empty in EncryptedExtensions, the
    name reported. RFC 6066 §3: a server using the name "SHALL include an extension of type
    "server_name" in the (extended) server hello. The "extension_data" field of this extension
    SHALL be empty."; RFC 8446 §4.2 moves it to EncryptedExtensions ("EE")."""
    probe = Probe()
    probe.handshake(client_hello(extensions=[*tls13_extensions(), sni(b"example.com")]))
    assert encrypted_extensions(probe).get(EXT_SERVER_NAME) == b""
    assert EXT_SERVER_NAME not in hello_extension_types(probe.server_hello or b"")
    info = probe.server.handshake_info
    assert info is not None and info.server_name == "example.com"


def test_tls12_server_name_is_acknowledged_but_not_on_resumption() -> None:
    """BoGo ServerNameExtensionServer-TLS-TLS12 (with resumeSession): the full handshake's
    ServerHello carries an empty server_name, the resuming one none. RFC 6066 §3: the server
    "SHALL include an extension of type "server_name" in the (extended) server hello. The
    "extension_data" field of this extension SHALL be empty." and "When resuming a session,
    the server MUST NOT include a server_name extension in the server hello"."""
    sealer = AeadTicketSealer()
    config = tls12_probe.server_config(ticket_sealer=sealer)
    first = tls12_probe.Probe(config)
    first.full_handshake(hello12(sni(b"example.com"), (EXT_SESSION_TICKET, b"")))
    assert first.server_extension(EXT_SERVER_NAME) == b""
    nst = next(m for m in first.transcript if m[0] == HT.NEW_SESSION_TICKET)
    ticket = nst[10:]
    session = open_tls12_ticket(sealer, ticket)
    assert session is not None
    second = tls12_probe.Probe(config)
    second.resume_master = session.master_secret
    hello = tls12_probe.client_hello(
        extensions=[*tls12_probe.default_extensions(), sni(b"example.com"),
                    (EXT_SESSION_TICKET, ticket)],
        session_id=os.urandom(32),
    )  # fmt: skip
    reply = second.hello(hello)
    assert reply.error is None and reply.handshake_types == [HT.SERVER_HELLO, HT.FINISHED]
    assert second.server_extension(EXT_SERVER_NAME) is None
    second.check_server_finished()
    second.transcript.append(second.server_finished_message)
    assert second.send(second.ccs() + second.finished_record()).state is ConnectionState.APP_DATA


def test_tls12_server_without_alpn_ignores_the_offer() -> None:
    """BoGo ALPNServer-Decline-TLS-TLS12 (-decline-alpn): the handshake completes without ALPN
    in the ServerHello. RFC 7301 §3.1: servers "MAY return a suitable protocol selection
    response to the client. The server will ignore any protocol name that it does not
    recognize". The RFC leaves a server without ALPN protocols free to take no part in ALPN;
    ours does, as BoGo expects (noNextProto)."""
    probe = negotiated_tls12(hello12(alpn(b"foo", b"bar", b"baz")))
    assert probe.server_extension(EXT_ALPN) is None
    assert probe.finish().state is ConnectionState.APP_DATA


def test_tls12_empty_alpn_protocol_name_is_decode_error() -> None:
    """BoGo ALPNServer-EmptyProtocolName-TLS-TLS12 (NextProtos {"foo", "", "baz"}):
    ":PARSE_TLSEXT:". RFC 7301 §3.1: ``opaque ProtocolName<1..2^8-1>``; "Empty strings MUST NOT
    be included" -- the list does not parse: RFC 5246 §7.2.2 decode_error."""
    probe = tls12_probe.Probe(tls12_probe.server_config(alpn_protocols=("foo",)))
    tls12_probe.refused(probe.hello(hello12(alpn(b"foo", b"", b"baz"))), AD.DECODE_ERROR)


def test_empty_certificate_authorities_in_the_client_hello_is_decode_error() -> None:
    """BoGo RejectEmptyCertificateAuthorities-Server-TLS-TLS13 (SendEmptyCertificateAuthorities):
    ":ERROR_PARSING_EXTENSION:", "remote error: error decoding message". RFC 8446 §4.2.4:
    ``DistinguishedName authorities<3..2^16-1>`` -- an empty list is out of range; §6.2
    decode_error: "some field was out of the specified range"."""
    probe = Probe()
    hello = client_hello(
        extensions=[*tls13_extensions(), (EXT_CERTIFICATE_AUTHORITIES, vector(2, b""))]
    )
    probe.expect_alert(lambda: probe.send_hello(hello), AD.DECODE_ERROR)


def test_tls13_client_hello_without_key_share_is_missing_extension() -> None:
    """BoGo MissingKeyShare-Server-TLS13 (MissingKeyShare: supported_groups but no key_share
    extension): ":MISSING_KEY_SHARE:". RFC 8446 §9.2: a ClientHello "If containing a
    "supported_groups" extension, it MUST also contain a "key_share" extension, and vice versa.
    An empty KeyShare.client_shares vector is permitted." and "Servers receiving a ClientHello
    which does not conform to these requirements MUST abort the handshake with a
    "missing_extension" alert" -- not a HelloRetryRequest."""
    probe = Probe()
    extensions = [e for e in tls13_extensions() if e[0] != EXT_KEY_SHARE]
    probe.expect_alert(
        lambda: probe.send_hello(client_hello(extensions=extensions)), AD.MISSING_EXTENSION
    )
    assert probe.server_hello is None


@pytest.mark.parametrize(
    "hello",
    [
        pytest.param(tls12_probe.client_hello_no_ext(), id="OmitExtensions-ClientHello-TLS12"),
        pytest.param(
            tls12_probe.client_hello(extensions=[]), id="EmptyExtensions-ClientHello-TLS12"
        ),
    ],
)
def test_tls12_client_hello_without_extensions_is_handshake_failure(hello: bytes) -> None:
    """BoGo OmitExtensions-ClientHello-TLS12 / EmptyExtensions-ClientHello-TLS12 (no extensions
    block, or an empty one; ExpectOmitExtensions): BoGo wants a handshake, BoringSSL signing the
    ServerKeyExchange with SHA-1 as RFC 5246 §7.4.1.4.1 once said: "If the client does not send
    the signature_algorithms extension, the server MUST [...] behave as if the client had sent
    value {sha1,ecdsa}". RFC 9155 (not in our specs folder) updates that section and deprecates
    SHA-1 signatures in TLS 1.2: without signature_algorithms the server must abort with
    handshake_failure unless no signature is used. No suite is left (RFC 5246 §7.4.1.2: "if no
    acceptable choices are presented, return a handshake failure alert") -- asserted."""
    reply = tls12_probe.Probe().hello(hello)
    tls12_probe.refused(reply, AD.HANDSHAKE_FAILURE)
    assert HT.SERVER_HELLO not in reply.handshake_types


# == HelloRetryRequest and the group choice (tls13 handshake tests) =============================


def test_hello_retry_request_asks_for_the_offered_group() -> None:
    """BoGo SendHelloRetryRequest-TLS13 (DefaultCurves empty, CurvePreferences {X25519}; the
    runner expects the handshake on X25519 after -expect-hrr). RFC 8446 §4.1.4: the server
    sends a HelloRetryRequest "if it is able to find an acceptable set of parameters but the
    ClientHello does not contain sufficient information to proceed with the handshake"; §4.2.8
    selected_group: "The mutually supported group the server intends to negotiate and is
    requesting a retried ClientHello/KeyShare for"."""
    probe = Probe()
    probe.send_hello(client_hello(extensions=tls13_extensions((X25519,), shares=())))
    assert is_hello_retry(probe)
    assert probe.server_hello is not None
    assert hello_extension(probe.server_hello, EXT_KEY_SHARE) == X25519.id.to_bytes(2, "big")
    probe.send_hello(client_hello(extensions=tls13_extensions((X25519,))))
    assert probe.server_finished
    probe.send_finished()
    info = probe.server.handshake_info
    assert info is not None and info.group == "x25519" and info.hello_retry


@pytest.mark.parametrize("strict", [False, True], ids=["default", "strict_group_preference"])
def test_share_for_a_less_preferred_group(strict: bool) -> None:
    """BoGo SendHelloRetryRequest-2-TLS13 (the client sends a P-384 share, the server prefers
    X25519; BoringSSL always asks with a HelloRetryRequest for its preferred group). RFC 8446
    §4.1.1 leaves it to the server: "If the server selects an (EC)DHE group and the client did
    not offer a compatible "key_share" extension in the initial ClientHello, the server MUST
    respond with a HelloRetryRequest" -- a share the server accepts is compatible. Asserted: by
    default we use the P-384 share (one round trip less); with strict_group_preference we ask
    for X25519 as BoringSSL does."""
    probe = Probe(groups=(X25519, SECP384R1), strict_group_preference=strict)
    probe.send_hello(
        client_hello(extensions=tls13_extensions((X25519, SECP384R1), shares=(SECP384R1,)))
    )
    assert probe.server_hello is not None
    assert is_hello_retry(probe) is strict
    group = hello_extension(probe.server_hello, EXT_KEY_SHARE)[:2]
    assert group == (X25519 if strict else SECP384R1).id.to_bytes(2, "big")


# == fake 0-RTT data (tls13 handshake tests) ====================================================


def fake_early_data_hello(extensions: Extensions) -> bytes:
    """A ClientHello offering 0-RTT with a PSK the server does not know (BoGo
    SendFakeEarlyDataLength)."""
    identities = vector(2, vector(2, b"\x5a" * 40) + bytes(4))
    return client_hello(
        (AES_128_GCM,),
        [
            *extensions,
            (EXT_PSK_KEY_EXCHANGE_MODES, vector(1, DHE_KE)),
            (EXT_EARLY_DATA, b""),
            (EXT_PRE_SHARED_KEY, identities + vector(2, vector(1, b"\x33" * 32))),
        ],
    )


def test_fake_early_data_is_skipped() -> None:
    """BoGo SkipEarlyData-TLS13 (SendFakeEarlyDataLength 4: the Go client sends 0-RTT records
    for a PSK the server does not know): the handshake completes, the data skipped. RFC 8446
    §4.2.10: the server may "Ignore the extension and return a regular 1-RTT response. The
    server then skips past early data by attempting to deprotect received records using the
    handshake traffic key, discarding records which fail deprotection (up to the configured
    max_early_data_size)"."""
    probe = Probe()
    hello = fake_early_data_hello(tls13_extensions())
    probe.transcript += hello
    probe.send(record(HANDSHAKE, hello) + record(APPLICATION_DATA, os.urandom(4 + 16)))
    assert probe.server_finished and not psk_selected(probe)
    assert EXT_EARLY_DATA not in encrypted_extensions(probe)
    probe.send_finished()
    assert probe.server.state is ConnectionState.APP_DATA
    assert not early_data_received(probe)
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


def test_fake_early_data_inside_the_client_finished_is_bad_record_mac() -> None:
    """BoGo SkipEarlyData-Interleaved-TLS13 (SendFakeEarlyDataLength 4, InterleaveEarlyData:
    "early data interleaved with the second ClientHello and the client Finished" -- without a
    HelloRetryRequest, a fake 0-RTT record, the first 16 bytes of Finished, another fake 0-RTT
    record, the rest): ":DECRYPTION_FAILED_OR_BAD_RECORD_MAC:". RFC 8446 §4.2.10: the server
    skips records "which fail deprotection [...] Once a record is deprotected successfully, it
    is treated as the start of the client's second flight and the server proceeds as with an
    ordinary 1-RTT handshake"; §5.2: "If the decryption fails, the receiver MUST terminate the
    connection with a "bad_record_mac" alert"."""
    probe = Probe()
    hello = fake_early_data_hello(tls13_extensions())
    probe.transcript += hello
    probe.send(record(HANDSHAKE, hello) + record(APPLICATION_DATA, os.urandom(4 + 16)))
    assert probe.server_finished and not psk_selected(probe)
    probe.use_handshake_keys()
    finished = probe.finished()
    probe.send(probe.sealed(HANDSHAKE, finished[:16]))
    assert probe.server.state is ConnectionState.HANDSHAKING
    probe.expect_alert(record(APPLICATION_DATA, os.urandom(4 + 16)), AD.BAD_RECORD_MAC)


# == Resume-Server-*-SecondBinder: the second ClientHello's PSK (resumption_tests.go) ============


@pytest.mark.parametrize(
    ("binders", "alert"),
    [
        pytest.param("none", AD.DECODE_ERROR, id="Resume-Server-NoPSKBinder-SecondBinder"),
        pytest.param("extra", AD.ILLEGAL_PARAMETER, id="Resume-Server-ExtraPSKBinder-SecondBinder"),
        pytest.param(
            "extra-identity",
            AD.ILLEGAL_PARAMETER,
            id="Resume-Server-ExtraIdentityNoBinder-SecondBinder",
        ),
        pytest.param(
            "first", AD.ILLEGAL_PARAMETER, id="Resume-Server-PSKBinderFirstExtension-SecondBinder"
        ),
        pytest.param("short", AD.DECODE_ERROR, id="Resume-Server-BinderWrongLength-SecondBinder"),
    ],
)
def test_second_client_hello_with_a_broken_psk_extension(binders: str, alert: AD) -> None:
    """BoGo Resume-Server-NoPSKBinder-SecondBinder (":DECODE_ERROR:"),
    Resume-Server-ExtraPSKBinder-SecondBinder and Resume-Server-ExtraIdentityNoBinder-SecondBinder
    (":PSK_IDENTITY_BINDER_COUNT_MISMATCH:", "remote error: illegal parameter"),
    Resume-Server-PSKBinderFirstExtension-SecondBinder (":PRE_SHARED_KEY_MUST_BE_LAST:", illegal
    parameter), Resume-Server-BinderWrongLength-SecondBinder (BoGo: ":DIGEST_CHECK_FAILED:",
    "remote error: error decrypting message"): a ticket resumption whose first ClientHello is
    right (no key share: a HelloRetryRequest follows, OnlyCorruptSecondPSKBinder) and whose
    second one breaks pre_shared_key. RFC 8446 §4.2.11: ``opaque PskBinderEntry<32..255>``,
    ``PskBinderEntry binders<33..2^16-1>`` -- no binder or a 31-byte one does not parse (§6.2
    decode_error, also for the short binder, where BoGo wants decrypt_error); "binders: A series
    of HMAC values, one for each value in the identities list" -- a count that does not match is
    inconsistent (§6.2 illegal_parameter); "Servers MUST check that it is the last extension and
    otherwise fail the handshake with an "illegal_parameter" alert"."""
    ticket, config = issue_ticket()
    probe = Probe(**config)
    probe.send_hello(resume_hello(ticket, no_share_extensions()))
    assert is_hello_retry(probe)
    second = resume_hello(
        ticket, tls13_extensions((SECP256R1,)), prefix=probe.transcript, binders=binders
    )
    probe.expect_alert(lambda: probe.send_hello(second), alert)


# == tickets: corrupt, forged, with session IDs (extension_tests.go, resumption_tests.go) ========


def test_tls13_corrupt_ticket_gets_a_full_handshake() -> None:
    """BoGo CorruptTicket-TLS-TLS13 (FilterTicket flips the ticket's last bit;
    expectResumeRejected): a full handshake. RFC 8446 §4.2.11: "Any unknown PSKs (e.g., ones not
    in the PSK database or encrypted with an unknown key) SHOULD simply be ignored. If no
    acceptable PSKs are found, the server SHOULD perform a non-PSK handshake if possible"."""
    ticket, config = issue_ticket()
    corrupt = bytearray(ticket.ticket)
    corrupt[-1] ^= 1
    probe = Probe(**config)
    probe.handshake(resume_hello(dataclasses.replace(ticket, ticket=bytes(corrupt))))
    assert not psk_selected(probe) and sent_certificate(probe)


def tls12_ticket(sealer: AeadTicketSealer) -> bytes:
    """A TLS 1.2 full handshake asking for an RFC 5077 ticket; the ticket."""
    probe = tls12_probe.Probe(tls12_probe.server_config(ticket_sealer=sealer))
    probe.full_handshake(hello12((EXT_SESSION_TICKET, b"")))
    nst = next(m for m in probe.transcript if m[0] == HT.NEW_SESSION_TICKET)
    assert len(nst) == 4 + 4 + 2 + int.from_bytes(nst[8:10], "big")
    return nst[10:]


def tls12_resume(
    sealer: AeadTicketSealer,
    ticket: bytes,
    session_id: bytes,
    suites: Sequence[int] = (),
    **config: object,
) -> tuple[tls12_probe.Probe, tls12_probe.Reply]:
    """Offer ``ticket`` (and ``session_id``) in a TLS 1.2 ClientHello; the probe is ready to
    follow an abbreviated handshake with the ticket's master secret."""
    probe = tls12_probe.Probe(tls12_probe.server_config(ticket_sealer=sealer, **config))
    session = open_tls12_ticket(sealer, ticket)
    if session is not None:
        probe.resume_master = session.master_secret
    suites = tuple(suites) or (tls12_probe.ECDSA_GCM,)
    hello = tls12_probe.client_hello(
        suites,
        [*tls12_probe.default_extensions(), (EXT_SESSION_TICKET, ticket)],
        session_id=session_id,
    )
    return probe, probe.hello(hello)


def full_tls12_handshake(reply: tls12_probe.Reply, probe: tls12_probe.Probe) -> None:
    assert reply.error is None, reply.error
    assert reply.handshake_types[-1] == HT.SERVER_HELLO_DONE
    probe.resume_master = b""
    assert probe.finish().state is ConnectionState.APP_DATA


def test_tls12_corrupt_ticket_gets_a_full_handshake() -> None:
    """BoGo CorruptTicket-TLS-TLS12 (the ticket's last bit flipped): a full handshake. RFC 5077
    §3.4: "If the server cannot or does not want to honor the ticket, then it can initiate a
    full handshake with the client"."""
    sealer = AeadTicketSealer()
    corrupt = bytearray(tls12_ticket(sealer))
    corrupt[-1] ^= 1
    probe, reply = tls12_resume(sealer, bytes(corrupt), os.urandom(32))
    full_tls12_handshake(reply, probe)


@pytest.mark.parametrize("length", [0, 16, 32], ids=lambda n: f"TicketSessionIDLength-{n}")
def test_tls12_ticket_resumes_whatever_the_session_id_length(length: int) -> None:
    """BoGo TicketSessionIDLength-0-TLS-TLS12 / -16- / -32- (the resuming ClientHello carries a
    session ID of that length next to the ticket): the ticket is accepted and the session ID
    echoed. RFC 5077 §3.4: "When presenting a ticket, the client MAY generate and include a
    Session ID in the TLS ClientHello. If the server accepts the ticket and the Session ID is
    not empty, then it MUST respond with the same Session ID present in the ClientHello", and
    "Alternatively, the client MAY include an empty Session ID in the ClientHello"."""
    sealer = AeadTicketSealer()
    session_id = os.urandom(length)
    probe, reply = tls12_resume(sealer, tls12_ticket(sealer), session_id)
    assert reply.error is None and reply.handshake_types == [HT.SERVER_HELLO, HT.FINISHED]
    assert probe.server_hello is not None
    assert probe.server_hello.legacy_session_id_echo == session_id
    probe.check_server_finished()
    probe.transcript.append(probe.server_finished_message)
    assert probe.send(probe.ccs() + probe.finished_record()).state is ConnectionState.APP_DATA
    probe.echo()


def test_tls12_ticket_with_a_33_byte_session_id_is_decode_error() -> None:
    """BoGo TicketSessionIDLength-33-TLS-TLS12: ":CLIENTHELLO_PARSE_FAILED:". RFC 5246
    §7.4.1.2: ``opaque SessionID<0..32>``; 33 bytes are "out of the specified range" (§7.2.2
    decode_error)."""
    sealer = AeadTicketSealer()
    _, reply = tls12_resume(sealer, tls12_ticket(sealer), os.urandom(33))
    tls12_probe.refused(reply, AD.DECODE_ERROR)


@pytest.mark.parametrize(
    ("suite", "offered", "enabled"),
    [
        pytest.param(AES_128_GCM, (), (), id="Resume-Server-DeclineBadCipher"),
        pytest.param(
            TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384.id,
            (TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384.id, tls12_probe.ECDSA_GCM),
            (TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,),
            id="Resume-Server-DeclineBadCipher-2",
        ),
    ],
)
def test_tls12_ticket_of_an_unusable_suite_gets_a_full_handshake(
    suite: int, offered: tuple[int, ...], enabled: tuple[object, ...]
) -> None:
    """BoGo Resume-Server-DeclineBadCipher (the ticket's session names TLS_AES_128_GCM_SHA256, a
    TLS 1.3 suite) and Resume-Server-DeclineBadCipher-2 (an AES-256 session, the shim limited
    to AES-128): ExpectNewTicket, expectResumeRejected. RFC 5246 §7.4.1.3: the ServerHello's
    cipher_suite is "The single cipher suite selected by the server from the list in
    ClientHello.cipher_suites. For resumed sessions, this field is the value from the state of
    the session being resumed" -- a suite that is not a TLS 1.2 suite or that the server does
    not use cannot be; RFC 5077 §3.4: the server "can initiate a full handshake" instead, with
    a new ticket (§3.3)."""
    sealer = AeadTicketSealer()
    ticket = tls12_ticket(sealer)
    session = open_tls12_ticket(sealer, ticket)
    assert session is not None
    forged = sealer.seal(dataclasses.replace(session, cipher_suite=suite).serialize())
    config = {"tls12_cipher_suites": enabled} if enabled else {}
    probe, reply = tls12_resume(sealer, forged, os.urandom(32), offered, **config)
    assert probe.server_hello is not None
    assert probe.server_hello.cipher_suite == tls12_probe.ECDSA_GCM
    full_tls12_handshake(reply, probe)
    assert any(m[0] == HT.NEW_SESSION_TICKET for m in probe.transcript)


def test_tls13_ticket_of_a_tls12_suite_gets_a_full_handshake() -> None:
    """BoGo Resume-Server-DeclineBadCipher-TLS13 (the ticket's state names
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256): expectResumeRejected. RFC 8446 §4.2.11: "Each PSK is
    associated with a single Hash algorithm. For PSKs established via the ticket mechanism
    (Section 4.6.1), this is the KDF Hash algorithm on the connection where the ticket was
    established" -- a TLS 1.2 suite has none, and "The server MUST ensure that it selects a
    compatible PSK (if any) and cipher suite"; an unusable PSK is ignored and "the server
    SHOULD perform a non-PSK handshake if possible"."""
    ticket, config = issue_ticket()
    sealer = config["ticket_sealer"]
    assert isinstance(sealer, AeadTicketSealer)
    state = dataclasses.replace(ticket.state, cipher_suite=0xC02F)
    forged = Ticket(sealer.seal(state.serialize()), state)
    probe = Probe(**config)
    probe.handshake(resume_hello(forged))
    assert not psk_selected(probe) and sent_certificate(probe)


def test_tls13_resumption_picks_a_suite_of_the_sessions_hash() -> None:
    """BoGo Resume-Server-CipherNotPreferred-TLS13 (an AES-256-GCM session; the resuming client
    offers ChaCha20-Poly1305 first, then AES-256-GCM): BoringSSL picks ChaCha20 and declines the
    session. RFC 8446 leaves the choice open: §4.6.1 "Any ticket MUST only be resumed with a
    cipher suite that has the same KDF hash algorithm as that used to establish the original
    connection", §4.2.11 "The server MUST ensure that it selects a compatible PSK (if any) and
    cipher suite". We resume, at AES-256-GCM (SHA-384 like the session): RFC-compliant, and
    asserted as such."""
    ticket, config = issue_ticket(suites=(AES_256_GCM,))
    assert ticket.state.cipher_suite == AES_256_GCM
    probe = Probe(**config)
    probe.handshake(resume_hello(ticket, suites=(CHACHA20, AES_256_GCM), hash_name="sha384"))
    assert psk_selected(probe) and not sent_certificate(probe)
    assert probe.suite is not None and probe.suite.id == AES_256_GCM
