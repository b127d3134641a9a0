"""BoGo (BoringSSL ssl/test/runner) conformance, third round: 0-RTT on the client, post-handshake
authentication, exporters, certificate verification on the client (and of client certificates
on the server), record_size_limit and ALPN with 0-RTT.

As in test_bogo_client.py, a BoGo ``clientTest`` is replayed by letting our ServerConnection
write the flight and editing it as BoGo's Go server would (the encrypted part is opened with
the logged secrets, edited and sealed again); server tests use our ClientConnection, a scripted
peer (tests/tls12_probe.py) or records sealed by the test under the logged keys. Each test
names its BoGo test (or says that BoGo has none: BoringSSL implements neither post-handshake
authentication nor RFC 8449) and the RFC sentence that decides. Where BoGo expects BoringSSL
policy beyond the RFC the RFC is followed; a violation of the RFC is a strict xfail.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from memory_pair import pump
from pki import build_certificate, generate_key
from server_flight import (
    SUITE,
    Flight13,
    aborts,
    client_config,
    keylog_into,
    opened,
    sealer,
    server_config,
)
from tls12_probe import GROUPS, POINT_FORMATS, RENEGO, SIGALGS
from tls12_probe import Probe as Probe12
from tls12_probe import client_hello as client_hello12
from tls_fixtures import Clock, client_cert, server_cert
from tlsmachine import (
    AeadTicketSealer,
    AlertReceived,
    ClientConfig,
    ClientConnection,
    ConnectionState,
    Event,
    HandshakeComplete,
    InMemoryClientSessionStore,
    ServerConfig,
    ServerConnection,
    UsageError,
)
from tlsmachine.certs import CertifiedKey
from tlsmachine.crypto.groups import SECP256R1, SECP384R1, X25519
from tlsmachine.crypto.suites import (
    TLS_AES_128_GCM_SHA256,
    TLS_AES_256_GCM_SHA384,
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
)
from tlsmachine.enums import AlertDescription, ContentType, HandshakeType, ProtocolVersion
from tlsmachine.errors import ProtocolError
from tlsmachine.events import (
    ApplicationData,
    EarlyDataReceived,
    EarlyDataRejected,
)
from tlsmachine.extensions import (
    ApplicationLayerProtocolNegotiation,
    EarlyData,
    PreSharedKeyClientHello,
    RecordSizeLimit,
    SignatureAlgorithms,
)
from tlsmachine.handshake12 import protectors
from tlsmachine.messages import HandshakeMessage, decode_handshake, encode_handshake
from tlsmachine.messages.hello import ClientHello, ServerHello
from tlsmachine.messages.tls13 import (
    Certificate,
    CertificateRequest,
    CertificateVerify,
    EncryptedExtensions,
)
from tlsmachine.prf import verify_data
from wire import CCS, HANDSHAKE, messages, record, records

ALERT = AlertDescription
TLS12 = ProtocolVersion.TLS12
EMS_EXT = 23

# == helpers (the shared ones are in tests/server_flight.py) ==================================


def of_type(events: list[Event], cls: type) -> list[Any]:
    return [e for e in events if isinstance(e, cls)]


def complete(events: list[Event]) -> HandshakeComplete:
    (done,) = of_type(events, HandshakeComplete)
    return done  # type: ignore[no-any-return]


def handshake_types(secret: bytes, data: bytes) -> list[int]:
    return [m[0] for t, c in opened(secret, data) if t == HANDSHAKE for m in messages(c)]


def ticket_client(
    clock: Clock,
    *,
    max_early: int = 4096,
    client_alpn: tuple[str, ...] = (),
    server_alpn: tuple[str, ...] = (),
    **client_kwargs: Any,
) -> tuple[ClientConfig, ServerConfig]:
    """A client config holding a ticket of our server (0-RTT up to ``max_early`` bytes), and the
    issuing server's config."""
    config = client_config(
        session_store=InMemoryClientSessionStore(),
        clock=clock,
        alpn_protocols=client_alpn,
        **{"early_data": True, **client_kwargs},
    )
    issuer = server_config(
        session_tickets=1,
        clock=clock,
        ticket_sealer=AeadTicketSealer(),
        max_early_data_size=max_early,
        alpn_protocols=server_alpn,
    )
    pump(ClientConnection(config, "localhost"), ServerConnection(issuer))
    clock.now += 1
    return config, issuer


@functools.cache
def other_server_cert() -> CertifiedKey:
    return CertifiedKey.self_signed(("localhost",), key_type="ecdsa-p384")


def first_hello(client: ClientConnection) -> tuple[ClientHello, bytes]:
    """The client's ClientHello (decoded) and everything it sent."""
    sent = client.data_to_send()
    hello = decode_handshake(records(sent)[0][1])
    assert isinstance(hello, ClientHello)
    return hello, sent


# == 0-RTT on the client =======================================================================


def test_rejected_early_data_is_returned_and_no_end_of_early_data_is_sent() -> None:
    """BoGo EarlyData-Reject-Client-TLS13 (AlwaysRejectEarlyData: the PSK is accepted, 0-RTT is
    not); TLS13-EarlyData-RejectUnfinishedWrite-Client (rejected data goes back to the caller).

    RFC 8446 §4.5: "If the server does not send an "early_data" extension in
    EncryptedExtensions, then the client MUST NOT send an EndOfEarlyData message." §4.2.10:
    "If the server rejects the "early_data" extension, the client application MAY opt to
    retransmit the Application Data previously sent in early data" -- so it gets it back."""
    clock = Clock()
    secrets: dict[str, bytes] = {}
    config, issuer = ticket_client(clock, keylog=keylog_into(secrets))
    client = ClientConnection(config, "localhost")
    server = ServerConnection(dataclasses.replace(issuer, max_early_data_size=0))
    client.send_early_data(b"early one")
    client.send_early_data(b"early two")
    server.receive_data(client.data_to_send())
    events = client.receive_data(server.data_to_send())
    (rejected,) = of_type(events, EarlyDataRejected)
    assert rejected.data == b"early oneearly two"
    second_flight = client.data_to_send()
    # everything the client sends now is under its handshake keys, and is only its Finished
    assert handshake_types(secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"], second_flight) == [
        HandshakeType.FINISHED
    ]
    server_events = server.receive_data(second_flight)
    assert complete(server_events).resumed and not of_type(server_events, EarlyDataReceived)
    assert complete(events).resumed and not complete(events).early_data_accepted


@pytest.mark.parametrize("hrr", [False, True], ids=["RejectTicket", "HRR-RejectTicket"])
def test_ticket_rejected_by_a_full_handshake_reports_the_new_server(hrr: bool) -> None:
    """BoGo EarlyData-RejectTicket-Client-TLS13 / EarlyData-HRR-RejectTicket-Client-TLS13 (the
    resuming server cannot open the ticket, has another certificate and issues no ticket;
    with a HelloRetryRequest in the second case): 0-RTT rejected, the handshake completes as a
    full one and reports the new server's certificate.

    RFC 8446 §4.2.10: "If any of these checks fail, the server MUST NOT respond with the
    extension and must discard all the first-flight data ... (thus falling back to 1-RTT or
    2-RTT)"; §4.4.2: in a full handshake the server's Certificate is the one authenticated."""
    clock = Clock()
    groups = {"groups": (X25519, SECP384R1)} if hrr else {}
    config, _ = ticket_client(clock, **groups)
    resumer = server_config(
        certificates=(other_server_cert(),),
        clock=clock,
        ticket_sealer=AeadTicketSealer(),  # another key: the ticket does not open
        max_early_data_size=4096,
        **({"groups": (SECP384R1,)} if hrr else {}),
    )
    client, server = ClientConnection(config, "localhost"), ServerConnection(resumer)
    client.send_early_data(b"GET /")
    client_events, server_events = pump(client, server)
    assert of_type(client_events, EarlyDataRejected)[0].data == b"GET /"
    done = complete(client_events)
    assert not done.resumed and not done.early_data_accepted and done.hello_retry is hrr
    assert done.peer_certificates[0] == other_server_cert().leaf
    assert not of_type(server_events, EarlyDataReceived)


@pytest.mark.parametrize("hrr", [False, True], ids=["DifferentPRF", "DifferentPRF-HRR"])
def test_rejected_0rtt_under_a_suite_of_another_hash_completes(hrr: bool) -> None:
    """BoGo EarlyData-Reject0RTT-DifferentPRF-Client / EarlyData-Reject0RTT-DifferentPRF-HRR-
    Client (ticket of AES-128-GCM-SHA256; the server only has AES-256-GCM-SHA384): a full
    handshake under the new suite, 0-RTT rejected, the true suite reported.

    RFC 8446 §4.2.11: "the server MUST ensure that it selects a compatible PSK (if any) and
    cipher suite"; a PSK of another hash cannot be used, so the server does a full handshake,
    and §4.2.10 the 0-RTT data is discarded."""
    clock = Clock()
    groups = {"groups": (X25519, SECP384R1)} if hrr else {}
    config, issuer = ticket_client(
        clock, cipher_suites=(TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384), **groups
    )
    resumer = dataclasses.replace(
        issuer,
        cipher_suites=(TLS_AES_256_GCM_SHA384,),
        **({"groups": (SECP384R1,)} if hrr else {}),
    )
    client, server = ClientConnection(config, "localhost"), ServerConnection(resumer)
    client.send_early_data(b"0-rtt")
    client_events, _ = pump(client, server)
    assert of_type(client_events, EarlyDataRejected)[0].data == b"0-rtt"
    done = complete(client_events)
    assert done.cipher_suite == "TLS_AES_256_GCM_SHA384" and not done.resumed
    assert done.hello_retry is hrr
    client.send(b"after")
    assert (
        b"".join(
            e.data for e in of_type(server.receive_data(client.data_to_send()), ApplicationData)
        )
        == b"after"
    )


@pytest.mark.parametrize(
    ("ticket_alpn", "server_alpn"),
    [(("foo",), ("bar",)), ((), ("foo",)), (("foo",), ())],
    ids=["BadALPNMismatch", "ALPNOmitted1-accepted", "ALPNOmitted2-accepted"],
)
def test_early_data_accepted_under_another_alpn_is_illegal_parameter(
    ticket_alpn: tuple[str, ...], server_alpn: tuple[str, ...]
) -> None:
    """BoGo EarlyData-BadALPNMismatch-Client-TLS13 (AlwaysAcceptEarlyData with ALPN "bar" for a
    ticket of "foo"): "remote error: illegal parameter"; the same when the ticket or the
    resumed connection has no ALPN protocol at all.

    RFC 8446 §4.2.10: to accept early data the server "MUST verify that the following values
    are the same as those associated with the selected PSK: ... The selected ALPN [RFC7301]
    protocol, if any"; "If any of these checks fail, the server MUST NOT respond with the
    extension". A client that gets it anyway aborts (illegal_parameter, BoGo's alert)."""
    clock = Clock()
    config, issuer = ticket_client(clock, client_alpn=("foo", "bar"), server_alpn=ticket_alpn)
    resumer = dataclasses.replace(issuer, alpn_protocols=server_alpn)
    flight = Flight13.start(config, resumer)
    ee = flight.decoded(HandshakeType.ENCRYPTED_EXTENSIONS)
    assert ee.get(EarlyData) is None  # our server itself rejects: the ALPN differs
    forged = EncryptedExtensions((*ee.extensions, EarlyData()))
    error = aborts(flight.client, flight.sealed(flight.replaced(ee_type(), forged)))
    assert error.alert is ALERT.ILLEGAL_PARAMETER


def ee_type() -> HandshakeType:
    return HandshakeType.ENCRYPTED_EXTENSIONS


@pytest.mark.parametrize(
    ("ticket_alpn", "server_alpn", "reported"),
    [((), ("foo",), "foo"), (("foo",), (), None)],
    ids=["ALPNOmitted1", "ALPNOmitted2"],
)
def test_rejected_0rtt_reports_the_alpn_protocol_of_the_connection(
    ticket_alpn: tuple[str, ...], server_alpn: tuple[str, ...], reported: str | None
) -> None:
    """BoGo EarlyData-ALPNOmitted1-Client-TLS13 / EarlyData-ALPNOmitted2-Client-TLS13: 0-RTT is
    rejected because the ALPN protocol changed; after the rejection the client reports the
    protocol actually negotiated (or none).

    RFC 8446 §4.2.10: "when the negotiated connection selects a different ALPN protocol from
    what was used for the early data, an application might need to construct different
    messages"; "A TLS implementation MUST NOT automatically resend early data unless the
    negotiated connection selects the same ALPN protocol." -- nothing is resent for us."""
    clock = Clock()
    config, issuer = ticket_client(clock, client_alpn=("foo", "bar"), server_alpn=ticket_alpn)
    resumer = dataclasses.replace(issuer, alpn_protocols=server_alpn)
    client, server = ClientConnection(config, "localhost"), ServerConnection(resumer)
    client.send_early_data(b"for the old protocol")
    client_events, server_events = pump(client, server)
    assert of_type(client_events, EarlyDataRejected)[0].data == b"for the old protocol"
    assert complete(client_events).alpn_protocol == reported
    assert complete(client_events).resumed  # the PSK itself still resumes
    assert not of_type(server_events, EarlyDataReceived)
    assert not of_type(server_events, ApplicationData)  # not resent behind the caller's back


def test_no_early_data_offered_when_the_tickets_alpn_is_no_longer_offered() -> None:
    """BoGo EarlyData-ALPNPreferenceChanged-TLS13 (ticket of "foo"; the resuming client offers
    only "bar"): the client does not offer 0-RTT (reason "alpn_mismatch") but still resumes.

    RFC 8446 §4.2.10: the 0-RTT parameters include "Application-Layer Protocol Negotiation
    (ALPN) [RFC7301] protocol" of the PSK, and the server may accept only with "The selected
    ALPN [RFC7301] protocol" unchanged; RFC 7301 §3.2 lets it select only an offered protocol,
    so early data for "foo" could never be accepted (BoringSSL policy: do not offer it)."""
    clock = Clock()
    config, issuer = ticket_client(clock, client_alpn=("foo",), server_alpn=("foo", "bar"))
    config = dataclasses.replace(config, alpn_protocols=("bar",))
    client = ClientConnection(config, "localhost")
    assert client.early_data_room == 0
    hello, sent = first_hello(client)
    assert hello.get(EarlyData) is None and hello.get(PreSharedKeyClientHello) is not None
    server = ServerConnection(issuer)
    server.receive_data(sent)
    client_events, _ = pump(client, server)
    assert complete(client_events).resumed and complete(client_events).alpn_protocol == "bar"


def test_ticket_without_early_data_gets_no_early_data_extension() -> None:
    """BoGo EarlyData-NonZeroRTTSession-Client-TLS13 (the server never advertised 0-RTT): the
    client does not offer it (reason "unsupported_for_session").

    RFC 8446 §4.6.1: the NewSessionTicket early_data extension "indicates that the ticket may
    be used to send 0-RTT data"; §4.2.10: "When a PSK is used and early data is allowed for that
    PSK, the client can send Application Data in its first flight of messages." -- not
    otherwise."""
    clock = Clock()
    config, _ = ticket_client(clock, max_early=0)
    client = ClientConnection(config, "localhost")
    assert client.early_data_room == 0
    with pytest.raises(UsageError):
        client.send_early_data(b"x")
    hello, _ = first_hello(client)
    assert hello.get(EarlyData) is None and hello.get(PreSharedKeyClientHello) is not None


def test_client_keeps_to_the_tickets_max_early_data_size() -> None:
    """BoGo TLS13-EarlyData-TooMuchData-Client (MaxEarlyDataSize 2: only two bytes of the
    shim's write go as 0-RTT data).

    RFC 8446 §4.6.1: "max_early_data_size: The maximum amount of 0-RTT data that the client is
    allowed to send when using this ticket, in bytes.\""""
    clock = Clock()
    config, issuer = ticket_client(clock, max_early=2)
    client = ClientConnection(config, "localhost")
    assert client.early_data_room == 2
    with pytest.raises(UsageError):
        client.send_early_data(b"hel")
    client.send_early_data(b"he")
    assert client.early_data_room == 0
    client_events, server_events = pump(client, ServerConnection(issuer))
    assert b"".join(e.data for e in of_type(server_events, EarlyDataReceived)) == b"he"
    assert complete(client_events).early_data_accepted


def test_bad_finished_after_accepted_early_data_is_decrypt_error() -> None:
    """BoGo EarlyData-Client-BadFinished-TLS13: "remote error: error decrypting message".

    RFC 8446 §4.4.4: "Recipients of Finished messages MUST verify that the contents are correct
    and if incorrect MUST terminate the connection with a "decrypt_error" alert.\""""
    clock = Clock()
    config, issuer = ticket_client(clock)
    flight = Flight13.start(config, issuer)
    assert flight.decoded(ee_type()).get(EarlyData) is not None  # 0-RTT accepted
    edited = list(flight.flight)
    at = flight.find(HandshakeType.FINISHED)
    edited[at] = edited[at][:-1] + bytes([edited[at][-1] ^ 1])
    assert aborts(flight.client, flight.sealed(edited)).alert is ALERT.DECRYPT_ERROR


def test_early_data_may_follow_the_server_hello() -> None:
    """BoGo EarlyData-WriteAfterServerHello / EarlyData-WriteAfterEncryptedExtensions: data
    written after part of the server's flight still goes as 0-RTT data and is accepted.

    RFC 8446 §4.5: the client sends EndOfEarlyData "after receiving the server Finished"; §2.3
    until then it is in its early-data epoch, so data it writes goes under the early keys and
    the server (which accepted it, §4.2.10) delivers it as early data."""
    clock = Clock()
    config, issuer = ticket_client(clock)
    client, server = ClientConnection(config, "localhost"), ServerConnection(issuer)
    client.send_early_data(b"one")
    server.receive_data(client.data_to_send())
    out = records(server.data_to_send())
    assert [t for t, _ in out][:2] == [HANDSHAKE, CCS]
    client.receive_data(record(*out[0]))  # ServerHello only
    client.send_early_data(b"two")
    client.receive_data(b"".join(record(*r) for r in out[1:]))
    server_events = server.receive_data(client.data_to_send())
    assert [e.data for e in of_type(server_events, EarlyDataReceived)] == [b"two"]
    assert complete(server_events).early_data_accepted


# == exporters =================================================================================


def hkdf_expand_label(name: str, secret: bytes, label: bytes, context: bytes, length: int) -> bytes:
    """RFC 8446 §7.1, written out independently of the library."""
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + bytes([len(context)]) + context
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(secret, block + info + bytes([counter]), name).digest()
        out, counter = out + block, counter + 1
    return out[:length]


def tls13_exporter(name: str, secret: bytes, label: bytes, context: bytes, length: int) -> bytes:
    """RFC 8446 §7.5: TLS-Exporter(label, context_value, key_length) =
    HKDF-Expand-Label(Derive-Secret(Secret, label, ""), "exporter", Hash(context_value),
    key_length)."""
    empty = hashlib.new(name, b"").digest()
    derived = hkdf_expand_label(name, secret, label, empty, len(empty))
    return hkdf_expand_label(
        name, derived, b"exporter", hashlib.new(name, context).digest(), length
    )


def tls12_prf(name: str, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """RFC 5246 §5: PRF = P_<hash>(secret, label + seed)."""
    seed, out, a = label + seed, b"", label + seed
    while len(out) < length:
        a = hmac.new(secret, a, name).digest()
        out += hmac.new(secret, a + seed, name).digest()
    return out[:length]


def hellos(sent: list[bytes]) -> tuple[bytes, bytes]:
    """Client and server random from the first plaintext ClientHello / ServerHello seen."""
    found: dict[int, bytes] = {}
    for data in sent:
        for t, body in records(data):
            if t == HANDSHAKE:
                for m in messages(body):
                    if m[0] in (1, 2) and m[0] not in found:
                        found[m[0]] = m[6:38]
    return found[1], found[2]


def connect_logged(
    version: ProtocolVersion, store: InMemoryClientSessionStore, clock: Clock, sealer_: Any
) -> tuple[ClientConnection, ServerConnection, dict[str, bytes], list[bytes]]:
    """A handshake at ``version`` (AES-128-GCM-SHA256 either way), the client's key log and all
    bytes exchanged."""
    secrets: dict[str, bytes] = {}
    client = ClientConnection(
        client_config(
            max_version=version,
            tls12_cipher_suites=(TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,),
            session_store=store,
            clock=clock,
            keylog=keylog_into(secrets),
        ),
        "localhost",
    )
    server = ServerConnection(server_config(session_tickets=1, clock=clock, ticket_sealer=sealer_))
    sent: list[bytes] = []
    for _ in range(6):
        data = client.data_to_send()
        sent.append(data)
        server.receive_data(data)
        data = server.data_to_send()
        sent.append(data)
        client.receive_data(data)
    assert client.state is ConnectionState.APP_DATA and server.state is ConnectionState.APP_DATA
    return client, server, secrets, sent


@pytest.mark.parametrize("version", [ProtocolVersion.TLS13, TLS12], ids=["TLS13", "TLS12"])
@pytest.mark.parametrize(
    ("context", "length"),
    [(b"context", 1024), (None, 1024), (b"", 1024), (b"context", 1)],
    ids=["context", "NoContext", "EmptyContext", "Small"],
)
def test_exporter_matches_on_both_ends_and_the_rfc_formula(
    version: ProtocolVersion, context: bytes | None, length: int
) -> None:
    """BoGo ExportKeyingMaterial-TLS-*, -NoContext-*, -EmptyContext-*, -Small-* (the first also
    after resumption): both ends export the same bytes, in the full and the resumed handshake.

    RFC 8446 §7.5: "TLS-Exporter(label, context_value, key_length) =
    HKDF-Expand-Label(Derive-Secret(Secret, label, ""), "exporter", Hash(context_value),
    key_length)"; RFC 5705 §4: "PRF(SecurityParameters.master_secret, label,
    SecurityParameters.client_random + SecurityParameters.server_random + context_value_length
    + context_value)[length]", where "If no context is provided, it then computes:
    PRF(SecurityParameters.master_secret, label, SecurityParameters.client_random +
    SecurityParameters.server_random)[length]"."""
    clock, store, ticket_key = Clock(), InMemoryClientSessionStore(), AeadTicketSealer()
    for resumed in (False, True):
        client, server, secrets, sent = connect_logged(version, store, clock, ticket_key)
        assert client.handshake_info is not None
        assert client.handshake_info.resumed is resumed
        label = b"EXPORTER-bogo label"
        ours = client.export_keying_material(label, length, context)
        assert ours == server.export_keying_material(label, length, context)
        assert len(ours) == length
        if version is ProtocolVersion.TLS13:
            secret = secrets["EXPORTER_SECRET"]
            assert ours == tls13_exporter("sha256", secret, label, context or b"", length)
        else:
            client_random, server_random = hellos(sent)
            seed = client_random + server_random
            if context is not None:
                seed += len(context).to_bytes(2, "big") + context
            assert ours == tls12_prf("sha256", secrets["CLIENT_RANDOM"], label, seed, length)
        clock.now += 1


@pytest.mark.parametrize("version", [ProtocolVersion.TLS13, TLS12], ids=["TLS13", "TLS12"])
def test_exporter_before_the_handshake_completes_is_refused(version: ProtocolVersion) -> None:
    """BoGo's exporter tests run after the handshake; exporting before it (SSL_export_keying_
    material failing with HANDSHAKE_NOT_COMPLETE) is refused on both ends, also by the server
    that has sent its first flight.

    RFC 8446 §7.5: the exporter is computed from exporter_master_secret, which §7.1 derives from
    the transcript through the server Finished; RFC 5705 §4 from the master_secret and both
    randoms -- none of which exists before the key exchange."""
    client = ClientConnection(client_config(max_version=version), "localhost")
    server = ServerConnection(server_config())
    for conn in (client, server):
        with pytest.raises(UsageError):
            conn.export_keying_material("EXPORTER-early", 16)
    server.receive_data(client.data_to_send())
    assert server.data_to_send()
    for conn in (client, server):
        with pytest.raises(UsageError):
            conn.export_keying_material("EXPORTER-early", 16)


def test_exporters_while_sending_0rtt_data() -> None:
    """BoGo NoEarlyKeyingMaterial-Client-InEarlyData-TLS-TLS13 (":HANDSHAKE_NOT_COMPLETE:") and
    the early exporter tests: while the client is still in its 0-RTT epoch the ordinary exporter
    is refused, the early exporter works and matches the server's; after the handshake both
    ends agree on the ordinary exporter too (BoGo ExportKeyingMaterial-Server-HalfRTT-*).

    RFC 8446 §7.5: "The exporter_master_secret ... [is] computed" at the end of the handshake,
    while "early_exporter_master_secret" derives from the PSK and the ClientHello alone; "[the
    early exporter] SHOULD be used for exporters used ... in 0-RTT data"."""
    clock = Clock()
    config, issuer = ticket_client(clock)
    client, server = ClientConnection(config, "localhost"), ServerConnection(issuer)
    client.send_early_data(b"0-rtt")
    with pytest.raises(UsageError):
        client.export_keying_material("EXPORTER-label", 32, b"context")
    early = client.export_early_keying_material("EXPORTER-label", 32, b"context")
    server.receive_data(client.data_to_send())
    assert server.export_early_keying_material("EXPORTER-label", 32, b"context") == early
    pump(client, server)
    assert client.export_keying_material("EXPORTER-label", 32, b"context") == (
        server.export_keying_material("EXPORTER-label", 32, b"context")
    )


def tls12_client_without_ems() -> ClientConnection:
    """A TLS 1.2 client that completed a full handshake without extended_master_secret: our
    server answered a copy of its ClientHello without the extension; the server's CCS and
    Finished are forged over the client's transcript from the master secret it logged."""
    secrets: dict[str, bytes] = {}
    client = ClientConnection(
        client_config(max_version=TLS12, groups=(SECP256R1,), keylog=keylog_into(secrets)),
        "localhost",
    )
    server = ServerConnection(server_config(groups=(SECP256R1,)))
    raw = records(client.data_to_send())[0][1]
    hello = decode_handshake(raw)
    assert isinstance(hello, ClientHello) and EMS_EXT in {e.ext_type for e in hello.extensions}
    kept = tuple(e for e in hello.extensions if e.ext_type != EMS_EXT)
    server.receive_data(
        record(HANDSHAKE, encode_handshake(dataclasses.replace(hello, raw=b"", extensions=kept)))
    )
    flight = server.data_to_send()
    server_messages = [m for t, b in records(flight) if t == HANDSHAKE for m in messages(b)]
    server_hello = decode_handshake(server_messages[0], version=TLS12)
    assert isinstance(server_hello, ServerHello)
    assert EMS_EXT not in {e.ext_type for e in server_hello.extensions}
    client.receive_data(flight)
    answer = client.data_to_send()
    master = secrets["CLIENT_RANDOM"]
    suite = TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
    keys = protectors(suite, master, hello.random, server_hello.random)
    client_messages, protected = [], False
    for content_type, body in records(answer):
        if content_type == CCS:
            protected = True
        elif protected:
            header = bytes((content_type, 3, 3)) + len(body).to_bytes(2, "big")
            client_messages += messages(bytes(keys.client_write.open(header, body)[1]))
        else:
            client_messages += messages(body)
    transcript = b"".join([raw, *server_messages, *client_messages])
    mac = verify_data("sha256", master, b"server finished", hashlib.sha256(transcript).digest())
    finished = bytes((HandshakeType.FINISHED,)) + len(mac).to_bytes(3, "big") + mac
    client.receive_data(record(CCS, b"\x01") + keys.server_write.seal(HANDSHAKE, finished))
    assert client.state is ConnectionState.APP_DATA
    return client


@pytest.mark.parametrize("side", ["client", "server"])
def test_tls12_exporter_is_disabled_without_extended_master_secret(side: str) -> None:
    """No BoGo test (BoringSSL refuses non-EMS tls-unique on resumption only, TLSUnique-*);
    the brief's "TLS 1.2 exporter requires EMS?": RFC 7627 says yes.

    RFC 7627 §5.4: "If a client or server chooses to continue with a full handshake without the
    extended master secret extension, then the new session becomes vulnerable to the
    man-in-the-middle key synchronization attack described in Section 1. Hence, the client or
    server MUST NOT export any key material based on the new master secret for any subsequent
    application-level authentication. In particular, it MUST disable [RFC5705]"."""
    if side == "client":
        conn: ClientConnection | ServerConnection = tls12_client_without_ems()
    else:
        probe = Probe12()
        probe.full_handshake(client_hello12(extensions=[GROUPS, POINT_FORMATS, SIGALGS, RENEGO]))
        assert probe.server_extension(EMS_EXT) is None
        conn = probe.server
    with pytest.raises(UsageError):
        conn.export_keying_material("EXPORTER-Channel-Binding", 32)


def test_tls12_exporter_with_extended_master_secret_works() -> None:
    """The control for the test above: with EMS the scripted client and our server agree on the
    RFC 5705 exporter computed from the extended master secret (RFC 7627 §4)."""
    probe = Probe12()
    probe.full_handshake()
    assert probe.server_extension(EMS_EXT) == b""
    ekm = probe.server.export_keying_material("EXPORTER-Channel-Binding", 32)
    seed = probe.client_random + probe.server_hello.random  # type: ignore[union-attr]
    assert ekm == tls12_prf("sha256", probe.master, b"EXPORTER-Channel-Binding", seed, 32)


# == post-handshake authentication (BoringSSL implements none; no BoGo tests) ==================


@dataclasses.dataclass
class Pair:
    client: ClientConnection
    server: ServerConnection
    secrets: dict[str, bytes]


class Channel:
    """One direction's application keys: opens what the real sender sent, seals in its place."""

    def __init__(self, secret: bytes) -> None:
        self._opener, self._sealer = sealer(secret), sealer(secret)

    def open(self, data: bytes) -> list[bytes]:
        out = []
        for content_type, body in records(data):
            header = bytes((content_type, 3, 3)) + len(body).to_bytes(2, "big")
            inner, content = self._opener.open(header, body)
            assert inner == ContentType.HANDSHAKE
            out += messages(bytes(content))
        return out

    def seal(self, *msgs: bytes | HandshakeMessage) -> bytes:
        raw = [m if isinstance(m, bytes) else encode_handshake(m) for m in msgs]
        return self._sealer.seal(ContentType.HANDSHAKE, b"".join(raw))


def pem(certified: CertifiedKey) -> bytes:
    return certified.leaf.public_bytes(Encoding.PEM)


def pha_pair(trusted: CertifiedKey | None = None) -> Pair:
    secrets: dict[str, bytes] = {}
    server = ServerConnection(
        server_config(client_cadata=pem(trusted or client_cert()), keylog=keylog_into(secrets))
    )
    client = ClientConnection(
        ClientConfig(
            cadata=pem(server_cert()),
            certificates=(client_cert(),),
            post_handshake_auth=True,
            cipher_suites=(SUITE,),
        ),
        "localhost",
    )
    pump(client, server)
    return Pair(client, server, secrets)


def answer_of(pair: Pair) -> tuple[bytes, list[bytes], Channel]:
    """The server asks; the client's answer (Certificate, CertificateVerify, Finished), opened,
    and the channel to send an edited answer in its place."""
    context = pair.server.request_client_certificate()
    pair.client.receive_data(pair.server.data_to_send())
    channel = Channel(pair.secrets["CLIENT_TRAFFIC_SECRET_0"])
    answer = channel.open(pair.client.data_to_send())
    assert [m[0] for m in answer] == [11, 15, 20]
    return context, answer, channel


def server_refuses(pair: Pair, data: bytes, alert: AlertDescription) -> None:
    assert aborts(pair.server, data).alert is alert
    with pytest.raises(AlertReceived) as info:
        pair.client.receive_data(pair.server.data_to_send())
    assert info.value.description == alert


def test_post_handshake_answer_without_certificate_verify_is_unexpected_message() -> None:
    """No BoGo PHA test; the handshake-time twin is BoGo ServerSkipCertificateVerify-TLS13
    ("remote error: unexpected message").

    RFC 8446 §4.4.3: "Clients MUST send this message whenever authenticating via a certificate
    (i.e., when the Certificate message is non-empty)."; §4.6.2: the client answers with
    "Certificate, CertificateVerify, and Finished"; a Finished where the CertificateVerify must
    be is a message out of order (§6.2 unexpected_message)."""
    pair = pha_pair()
    _, answer, channel = answer_of(pair)
    server_refuses(pair, channel.seal(answer[0], answer[2]), ALERT.UNEXPECTED_MESSAGE)


def test_post_handshake_certificate_verify_after_an_empty_certificate_is_unexpected_message() -> (
    None
):
    """No BoGo PHA test. RFC 8446 §4.4.3: CertificateVerify is sent "whenever authenticating via
    a certificate"; §4.4.2: a client without a certificate "MUST send a Certificate message
    containing no certificates" and then (§4.6.2, Figure in §2) only Finished -- a
    CertificateVerify after an empty Certificate is unexpected_message."""
    pair = pha_pair()
    context, answer, channel = answer_of(pair)
    empty = Certificate(certificate_request_context=context, certificate_list=())
    server_refuses(pair, channel.seal(empty, answer[1], answer[2]), ALERT.UNEXPECTED_MESSAGE)


def test_post_handshake_certificate_verify_with_a_bad_signature_is_decrypt_error() -> None:
    """No BoGo PHA test (handshake-time twin: BoGo's *-InvalidSignature tests).

    RFC 8446 §4.4.3: "The receiver of a CertificateVerify message MUST verify the signature
    field. ... If the verification fails, the receiver MUST terminate the handshake with a
    "decrypt_error" alert.\""""
    pair = pha_pair()
    _, answer, channel = answer_of(pair)
    cv = decode_handshake(answer[1])
    assert isinstance(cv, CertificateVerify)
    bad = CertificateVerify(cv.algorithm, cv.signature[:-1] + bytes([cv.signature[-1] ^ 1]))
    server_refuses(pair, channel.seal(answer[0], bad, answer[2]), ALERT.DECRYPT_ERROR)


def test_post_handshake_certificate_of_an_unknown_ca_is_unknown_ca() -> None:
    """No BoGo PHA test (handshake-time twin: CertificateVerificationFail-Server-*).

    RFC 8446 §6.2: "unknown_ca: A valid certificate chain or partial chain was received, but
    the certificate was not accepted because the CA certificate could not be located or could
    not be matched with a known trust anchor." (the server trusts another certificate)."""
    pair = pha_pair(trusted=server_cert())
    _, answer, channel = answer_of(pair)
    server_refuses(pair, channel.seal(*answer), ALERT.UNKNOWN_CA)


def test_client_answers_requests_that_reuse_a_context() -> None:
    """No BoGo PHA test. RFC 8446 §4.3.2: "the server SHOULD make the context unique to the
    connection" -- a SHOULD for the server only; the client echoes whatever context it gets:
    "The certificate_request_context ... MUST be ... the same value" in its Certificate
    (§4.4.2: "the value of certificate_request_context in the CertificateRequest")."""
    pair = pha_pair()
    to_client = Channel(pair.secrets["SERVER_TRAFFIC_SECRET_0"])
    from_client = Channel(pair.secrets["CLIENT_TRAFFIC_SECRET_0"])
    request = CertificateRequest(
        certificate_request_context=b"same",
        extensions=(SignatureAlgorithms(schemes=(0x0403, 0x0804)),),
    )
    for _ in range(2):
        pair.client.receive_data(to_client.seal(request))
        answer = from_client.open(pair.client.data_to_send())
        certificate = decode_handshake(answer[0])
        assert isinstance(certificate, Certificate)
        assert certificate.certificate_request_context == b"same"
        assert certificate.certificate_list and [m[0] for m in answer] == [11, 15, 20]
    assert pair.client.state is ConnectionState.APP_DATA


# == certificate verification ==================================================================


@dataclasses.dataclass(frozen=True)
class Chains:
    """A root, two intermediates (root -> int1 -> int2) and leaves issued by int2."""

    root_pem: bytes
    int1: x509.Certificate
    int2: x509.Certificate
    leaves: dict[str, tuple[x509.Certificate, Any]]
    unrelated: x509.Certificate

    def chain(self, name: str) -> tuple[x509.Certificate, ...]:
        return (self.leaves[name][0], self.int2, self.int1)

    def certified(self, name: str, chain: tuple[x509.Certificate, ...] | None = None) -> Any:
        return CertifiedKey(chain=chain or self.chain(name), private_key=self.leaves[name][1])


@pytest.fixture(scope="module")
def pki() -> Chains:
    now = dt.datetime.now(dt.UTC)
    start, end = now - dt.timedelta(days=1), now + dt.timedelta(days=30)
    root_key, k1, k2 = (generate_key("ecdsa-p256") for _ in range(3))
    root = build_certificate(
        subject="bogo root", key=root_key, issuer=None, not_before=start, not_after=end, ca=True
    )
    int1 = build_certificate(
        subject="bogo int1",
        key=k1,
        issuer=(root, root_key),
        not_before=start,
        not_after=end,
        ca=True,
    )
    int2 = build_certificate(
        subject="bogo int2", key=k2, issuer=(int1, k1), not_before=start, not_after=end, ca=True
    )
    leaves: dict[str, tuple[x509.Certificate, Any]] = {}
    both = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH)
    specs: dict[str, dict[str, Any]] = {
        "good": {},
        "expired": {
            "not_before": now - dt.timedelta(days=60),
            "not_after": now - dt.timedelta(days=30),
        },
        "not-yet-valid": {
            "not_before": now + dt.timedelta(days=30),
            "not_after": now + dt.timedelta(days=60),
        },
        "other-host": {"names": ("other.example",)},
        "client-auth-only": {"eku": (ExtendedKeyUsageOID.CLIENT_AUTH,)},
        "server-auth-only": {"eku": (ExtendedKeyUsageOID.SERVER_AUTH,)},
        "ca-leaf": {"ca": True},
    }
    for name, spec in specs.items():
        key = generate_key("ecdsa-p256")
        cert = build_certificate(
            subject="localhost",
            key=key,
            issuer=(int2, k2),
            not_before=spec.get("not_before", start),
            not_after=spec.get("not_after", end),
            ca=spec.get("ca", False),
            names=spec.get("names", ("localhost",)),
            eku=spec.get("eku", both),
        )
        leaves[name] = (cert, key)
    self_key = generate_key("ecdsa-p256")
    leaves["untrusted"] = (
        build_certificate(
            subject="localhost",
            key=self_key,
            issuer=None,
            not_before=start,
            not_after=end,
            ca=False,
            names=("localhost",),
        ),
        self_key,
    )
    unrelated_key = generate_key("ecdsa-p256")
    unrelated = build_certificate(
        subject="unrelated",
        key=unrelated_key,
        issuer=None,
        not_before=start,
        not_after=end,
        ca=True,
    )
    return Chains(root.public_bytes(Encoding.PEM), int1, int2, leaves, unrelated)


def verifying_handshake(
    pki: Chains, version: ProtocolVersion, certified: CertifiedKey, *, client_side: bool
) -> tuple[ClientConnection, ServerConnection, ProtocolError | None, str]:
    """A handshake in which the client (``client_side``) or the server verifies ``certified``
    against the root; the error of the verifying side, if any, and which side raised."""
    groups = (SECP256R1,)
    if client_side:
        client = ClientConnection(
            ClientConfig(cadata=pki.root_pem, max_version=version, groups=groups), "localhost"
        )
        server = ServerConnection(ServerConfig(certificates=(certified,), groups=groups))
    else:
        client = ClientConnection(
            ClientConfig(
                cadata=pem(server_cert()),
                max_version=version,
                groups=groups,
                certificates=(certified,),
            ),
            "localhost",
        )
        server = ServerConnection(
            ServerConfig(
                certificates=(server_cert(),),
                groups=groups,
                client_auth="required",
                client_cadata=pki.root_pem,
            )
        )
    for _ in range(6):
        for name, sender, receiver in (("server", client, server), ("client", server, client)):
            data = sender.data_to_send()
            if not data:
                continue
            try:
                receiver.receive_data(data)
            except ProtocolError as exc:
                return client, server, exc, name
    return client, server, None, ""


VERSIONS = [ProtocolVersion.TLS13, TLS12]
VERSION_IDS = ["TLS13", "TLS12"]


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
@pytest.mark.parametrize(
    ("leaf", "alerts"),
    [
        ("expired", (ALERT.CERTIFICATE_EXPIRED,)),
        ("not-yet-valid", (ALERT.CERTIFICATE_EXPIRED,)),
        ("untrusted", (ALERT.UNKNOWN_CA,)),
        ("other-host", (ALERT.BAD_CERTIFICATE, ALERT.CERTIFICATE_UNKNOWN)),
        ("client-auth-only", (ALERT.UNSUPPORTED_CERTIFICATE, ALERT.CERTIFICATE_UNKNOWN)),
        (
            "ca-leaf",
            (ALERT.BAD_CERTIFICATE, ALERT.UNSUPPORTED_CERTIFICATE, ALERT.CERTIFICATE_UNKNOWN),
        ),
    ],
)
def test_client_refuses_a_bad_server_certificate_with_its_alert(
    pki: Chains, version: ProtocolVersion, leaf: str, alerts: tuple[AlertDescription, ...]
) -> None:
    """BoGo CertificateVerificationFail-Client-* (a failing verifier; BoGo checks "remote error:
    handshake failure"/"unknown certificate" from BoringSSL's callbacks -- policy: we send the
    alert RFC 8446 §6.2 names for the cause) and the Verify-* cases of a real verifier.

    RFC 8446 §6.2: "certificate_expired: A certificate has expired or is not currently valid."
    (expired, not yet valid); "unknown_ca: ... the CA certificate could not be located or could
    not be matched with a known trust anchor."; "unsupported_certificate: A certificate was of
    an unsupported type." (no serverAuth EKU); "bad_certificate: A certificate was corrupt ...";
    "certificate_unknown: Some other (unspecified) issue arose in processing the certificate"
    (the RFC names none for a wrong host name or a CA certificate as leaf: one of these). The
    alert reaches the server (§6: sent, then the connection closed)."""
    client, server, error, side = verifying_handshake(
        pki, version, pki.certified(leaf), client_side=True
    )
    assert error is not None and side == "client", "the client accepted the chain"
    assert error.alert in alerts
    assert client.state is ConnectionState.FAILED
    with pytest.raises(AlertReceived) as info:
        server.receive_data(client.data_to_send())
    assert info.value.description == error.alert


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
@pytest.mark.parametrize(
    ("leaf", "alerts"),
    [
        ("expired", (ALERT.CERTIFICATE_EXPIRED,)),
        ("not-yet-valid", (ALERT.CERTIFICATE_EXPIRED,)),
        ("server-auth-only", (ALERT.UNSUPPORTED_CERTIFICATE, ALERT.CERTIFICATE_UNKNOWN)),
    ],
)
def test_server_refuses_a_bad_client_certificate_with_its_alert(
    pki: Chains, version: ProtocolVersion, leaf: str, alerts: tuple[AlertDescription, ...]
) -> None:
    """BoGo CertificateVerificationFail-Server-* (the server side of the same tests).

    RFC 8446 §6.2 as above: "certificate_expired: A certificate has expired or is not currently
    valid."; a client certificate without the clientAuth EKU is unsupported_certificate (or
    certificate_unknown); §4.4.2.4: "If the client ... certificate chain ... is not acceptable
    ... the server MAY ... abort the handshake with an appropriate certificate-related alert"."""
    _, server, error, side = verifying_handshake(
        pki, version, pki.certified(leaf), client_side=False
    )
    assert error is not None and side == "server", "the server accepted the chain"
    assert error.alert in alerts
    assert server.state is ConnectionState.FAILED


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
@pytest.mark.parametrize("shape", ["wrong-order", "duplicate", "extraneous"])
def test_client_accepts_intermediates_in_any_order_with_extras(
    pki: Chains, version: ProtocolVersion, shape: str
) -> None:
    """BoGo has no chain-shape tests of its own (its verifier is the callback); this is the
    RFC's requirement for "a chain in the wrong order" and "a duplicate certificate".

    RFC 8446 §4.4.2: "For maximum compatibility, all implementations SHOULD be prepared to
    handle potentially extraneous certificates and arbitrary orderings from any TLS version,
    with the exception of the end-entity certificate which MUST be first.\""""
    leaf = pki.leaves["good"][0]
    chain = {
        "wrong-order": (leaf, pki.int1, pki.int2),
        "duplicate": (leaf, pki.int2, pki.int2, pki.int1),
        "extraneous": (leaf, pki.unrelated, pki.int2, pki.int1),
    }[shape]
    client, _, error, _ = verifying_handshake(
        pki, version, pki.certified("good", chain), client_side=True
    )
    assert error is None, error
    assert client.state is ConnectionState.APP_DATA


@pytest.mark.parametrize("version", VERSIONS, ids=VERSION_IDS)
def test_client_accepts_the_well_formed_chain(pki: Chains, version: ProtocolVersion) -> None:
    """BoGo CertificateVerificationSucceed-Client-*: the control for the tests above."""
    client, _, error, _ = verifying_handshake(pki, version, pki.certified("good"), client_side=True)
    assert error is None and client.state is ConnectionState.APP_DATA


def test_end_entity_certificate_not_first_is_refused(pki: Chains) -> None:
    """RFC 8446 §4.4.2: "The sender's certificate MUST come in the first CertificateEntry in
    the list." and orderings are free "with the exception of the end-entity certificate which
    MUST be first" -- with an intermediate first, the client refuses the chain (an intermediate
    names no "localhost" and cannot be the leaf: a certificate-related fatal alert)."""
    certified = pki.certified("good")
    config = ClientConfig(cadata=pki.root_pem, cipher_suites=(SUITE,), groups=(SECP256R1,))
    flight = Flight13.start(config, ServerConfig(certificates=(certified,), groups=(SECP256R1,)))
    certificate = flight.decoded(HandshakeType.CERTIFICATE)
    entries = certificate.certificate_list
    swapped = Certificate(b"", (entries[1], entries[0], *entries[2:]))
    error = aborts(
        flight.client,
        flight.sealed(
            flight.refinished(
                flight.replaced(HandshakeType.CERTIFICATE, swapped), key=certified.private_key
            )
        ),
    )
    assert error.alert in (
        ALERT.BAD_CERTIFICATE,
        ALERT.UNKNOWN_CA,
        ALERT.UNSUPPORTED_CERTIFICATE,
        ALERT.CERTIFICATE_UNKNOWN,
        ALERT.DECRYPT_ERROR,
    )


# == record_size_limit (RFC 8449; BoringSSL does not implement it, so BoGo has no tests) =====


def test_client_refuses_a_protected_handshake_record_over_its_limit() -> None:
    """RFC 8449 §4: "A TLS endpoint that receives a record larger than its advertised limit
    MUST generate a fatal "record_overflow" alert"; "Records are subject to the limits that
    were set in the handshake that produces the keys that are used to protect those records"
    -- the handshake keys come from this handshake, so once EncryptedExtensions has agreed the
    limit, the rest of the server's encrypted flight is bound by it too ("the protected
    handshake message" is named in §4)."""
    flight = Flight13.start(client_config(record_size_limit=256), server_config())
    at = flight.find(ee_type())
    assert flight.decoded(ee_type()).get(RecordSizeLimit) is not None
    rest = b"".join(flight.flight[at + 1 :])
    assert len(rest) + 1 > 256
    protector = sealer(flight.secrets["SERVER_HANDSHAKE_TRAFFIC_SECRET"])
    ee_record = protector.seal(ContentType.HANDSHAKE, flight.flight[at])
    big_record = protector.seal(ContentType.HANDSHAKE, rest)
    error = aborts(flight.client, b"".join(flight.plain) + ee_record + big_record)
    assert error.alert is ALERT.RECORD_OVERFLOW


@pytest.mark.parametrize("echoed", [True, False], ids=["agreed", "not-agreed"])
def test_client_holds_the_record_carrying_encrypted_extensions_to_its_limit(echoed: bool) -> None:
    """RFC 8449 §4: "A TLS endpoint that receives a record larger than its advertised limit
    MUST generate a fatal "record_overflow" alert". A server that answers record_size_limit in
    EncryptedExtensions knew the client's limit when it sealed the record carrying that answer,
    so the client holds that record to the limit too, once it has read the answer. A server
    that does not answer never agreed ("If this extension is not negotiated, endpoints can send
    records of any size permitted by the protocol"): the same record is then fine."""
    flight = Flight13.start(client_config(record_size_limit=256), server_config())
    sent = messages(b"".join(flight.flight))  # whole messages: the server cut them at 256
    at = next(i for i, m in enumerate(sent) if m[0] == ee_type())
    ee = decode_handshake(sent[at])
    assert ee.get(RecordSizeLimit) is not None
    if not echoed:
        kept = [e for e in ee.extensions if not isinstance(e, RecordSizeLimit)]
        sent[at] = encode_handshake(EncryptedExtensions(tuple(kept)))
        sent = flight.refinished(sent)
    whole = b"".join(sent[at:])  # EncryptedExtensions .. Finished in ONE record
    assert len(whole) + 1 > 256
    protector = sealer(flight.secrets["SERVER_HANDSHAKE_TRAFFIC_SECRET"])
    data = b"".join(flight.plain) + protector.seal(ContentType.HANDSHAKE, whole)
    if echoed:
        assert aborts(flight.client, data).alert is ALERT.RECORD_OVERFLOW
    else:
        flight.client.receive_data(data)
        assert flight.client.state is ConnectionState.APP_DATA


def test_our_server_keeps_to_the_clients_limit_during_the_handshake() -> None:
    """RFC 8449 §4: "When the "record_size_limit" extension is negotiated, an endpoint MUST NOT
    generate a protected record with plaintext that is larger than the RecordSizeLimit value it
    receives from its peer." -- also for the encrypted handshake flight."""
    secrets: dict[str, bytes] = {}
    client = ClientConnection(client_config(record_size_limit=64), "localhost")
    server = ServerConnection(server_config(keylog=keylog_into(secrets)))
    server.receive_data(client.data_to_send())
    out = server.data_to_send()
    protected = opened(secrets["SERVER_HANDSHAKE_TRAFFIC_SECRET"], out)
    assert len(protected) > 5
    assert all(len(content) + 1 <= 64 for _, content in protected)
    client.receive_data(out)
    assert client.data_to_send()


@pytest.mark.parametrize("padding", [0, 1])
def test_client_refuses_an_application_record_over_its_limit(padding: int) -> None:
    """RFC 8449 §4: "The value includes the content type and padding added in TLS 1.3 (that is,
    the complete length of TLSInnerPlaintext)"; "A TLS endpoint that receives a record larger
    than its advertised limit MUST generate a fatal "record_overflow" alert"."""
    secrets: dict[str, bytes] = {}
    client = ClientConnection(
        client_config(record_size_limit=256, keylog=keylog_into(secrets)), "localhost"
    )
    pump(client, ServerConnection(server_config()))
    protector = sealer(secrets["SERVER_TRAFFIC_SECRET_0"])
    fits = protector.seal(ContentType.APPLICATION_DATA, bytes(255 - padding), padding=padding)
    events = client.receive_data(fits)
    assert sum(len(e.data) for e in of_type(events, ApplicationData)) == 255 - padding
    over = protector.seal(ContentType.APPLICATION_DATA, bytes(256 - padding), padding=padding)
    assert aborts(client, over).alert is ALERT.RECORD_OVERFLOW


def test_client_keeps_to_a_small_server_limit_for_its_certificate() -> None:
    """RFC 8449 §4: "an endpoint MUST NOT generate a protected record with plaintext that is
    larger than the RecordSizeLimit value it receives from its peer"; "In TLS 1.3, the server
    sends the "record_size_limit" extension in the EncryptedExtensions message", so the
    client's Certificate, CertificateVerify and Finished already keep to it."""
    secrets: dict[str, bytes] = {}
    client = ClientConnection(
        client_config(
            record_size_limit=2**14 + 1,
            certificates=(client_cert(),),
            keylog=keylog_into(secrets),
        ),
        "localhost",
    )
    server = ServerConnection(
        server_config(
            record_size_limit=64, client_auth="required", client_cadata=pem(client_cert())
        )
    )
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    flight = client.data_to_send()
    protected = opened(secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"], flight)
    assert sum(len(c) for _, c in protected) > 300  # the certificate is spread over records
    assert all(len(content) + 1 <= 64 for _, content in protected)
    server_events = server.receive_data(flight)
    assert complete(server_events).peer_certificates[0] == client_cert().leaf


def test_server_limit_above_the_protocol_maximum_is_capped_or_refused() -> None:
    """RFC 8449 §4: "A client MAY abort the handshake with an "illegal_parameter" alert if the
    record_size_limit extension includes a value greater than the maximum record size permitted
    by the negotiated protocol version"; "Even if a larger record size limit is provided by a
    peer, an endpoint MUST NOT send records larger than the protocol-defined limit" (TLS 1.3:
    2^14 + 1 octets of TLSInnerPlaintext)."""
    secrets: dict[str, bytes] = {}
    flight = Flight13.start(
        client_config(record_size_limit=2**14 + 1, keylog=keylog_into(secrets)),
        server_config(),
    )
    ee = flight.decoded(ee_type())
    kept = [e for e in ee.extensions if not isinstance(e, RecordSizeLimit)]
    bigger = EncryptedExtensions((*kept, RecordSizeLimit(record_size_limit=0xFFFF)))
    edited = flight.sealed(flight.refinished(flight.replaced(ee_type(), bigger)))
    refused: ProtocolError | None = None
    try:
        flight.client.receive_data(edited)
    except ProtocolError as exc:
        refused = exc
    if refused is not None:  # the MAY: abort with illegal_parameter
        assert refused.alert is ALERT.ILLEGAL_PARAMETER
        return
    assert flight.client.state is ConnectionState.APP_DATA  # else: cap it at 2^14 + 1
    flight.client.data_to_send()
    flight.client.send(bytes(40000))
    secret = secrets["CLIENT_TRAFFIC_SECRET_0"]
    sent = opened(secret, flight.client.data_to_send())
    assert sum(len(c) for _, c in sent) == 40000
    assert all(len(content) + 1 <= 2**14 + 1 for _, content in sent)


# == ALPN with resumption ======================================================================


def test_resumption_renegotiates_alpn() -> None:
    """BoGo ALPN resumption tests (ALPNClient-*/ALPNServer-* with resumeSession) and
    EarlyData-ALPNMismatch-Client-TLS13 without 0-RTT: a resumed connection negotiates ALPN
    afresh and reports the new protocol, both ends.

    RFC 8446 §4.6.1 / §2.2: resumption reuses the PSK, not the negotiated extensions; RFC 7301
    §3.2: the server selects from the client's list in each handshake ("the server MUST select
    ... from the list of protocols advertised by the client")."""
    clock = Clock()
    config, issuer = ticket_client(
        clock, client_alpn=("foo", "bar"), server_alpn=("foo",), early_data=False
    )
    resumer = dataclasses.replace(issuer, alpn_protocols=("bar",))
    client, server = ClientConnection(config, "localhost"), ServerConnection(resumer)
    hello, sent = first_hello(client)
    assert hello.get(ApplicationLayerProtocolNegotiation) is not None
    server.receive_data(sent)
    client_events, server_events = pump(client, server)
    assert complete(client_events).resumed and complete(server_events).resumed
    assert complete(client_events).alpn_protocol == "bar" == complete(server_events).alpn_protocol
