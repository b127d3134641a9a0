"""Conformance audit against the expectations of tlsfuzzer's TLS 1.3 scripts (part C).

Each test replays, in memory, one conversation of a tlsfuzzer script (``scripts/<name>.py`` in
tlsfuzzer/tlsfuzzer, named in the docstring with the RFC rule behind the expectation) against our
:class:`ServerConnection`. The client is :class:`tls13_probe.Probe`: it writes ClientHellos
byte by byte, learns the traffic secrets from the server's key log and seals its own records.
Where the key log would make a check circular (the DHE shared secret, the resumption secret),
the test derives the secrets itself from its own private key and compares.

Tests marked ``xfail(strict=True)`` document where we answer differently from tlsfuzzer while
RFC 8446 demands tlsfuzzer's answer or allows it among several (the reason names the rule and
the place of the fix).
"""

from __future__ import annotations

import functools
import hashlib

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from tls13_probe import (
    AES_128_GCM,
    AES_256_GCM,
    APPLICATION_DATA,
    CCS,
    CHACHA20,
    EMPTY_RENEGOTIATION_INFO_SCSV,
    EXT_COOKIE,
    EXT_KEY_SHARE,
    EXT_POST_HANDSHAKE_AUTH,
    EXT_PRE_SHARED_KEY,
    EXT_PSK_KEY_EXCHANGE_MODES,
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
    extension,
    handshake,
    hello_extension,
    hello_extension_types,
    record,
    rsa_certificate,
    tls13_extensions,
    u16s,
    vector,
)
from tls_fixtures import client_cert
from tlsmachine import ApplicationData, ConnectionState, ServerConfig, ServerConnection
from tlsmachine.crypto.groups import (
    FFDHE2048,
    FFDHE3072,
    FFDHE4096,
    FFDHE6144,
    FFDHE8192,
    SECP256R1,
    SECP384R1,
    SECP521R1,
    X448,
    X25519,
    ECGroup,
    FFDHEGroup,
    Group,
    PrivateKeyShare,
    group_by_id,
)
from tlsmachine.crypto.signatures import certificate_verify_input, sign
from tlsmachine.crypto.suites import suite12_by_id
from tlsmachine.enums import AlertDescription, HandshakeType, ProtocolVersion, PskKeyExchangeMode
from tlsmachine.events import ClientCertificateReceived
from tlsmachine.handshake12 import finished as finished12
from tlsmachine.handshake12 import protectors
from tlsmachine.keyschedule import EarlySecret, finished_verify_data, resumption_psk
from tlsmachine.messages import decode_handshake
from tlsmachine.messages.tls13 import NewSessionTicket, encode_certificate_verify
from tlsmachine.prf import master_secret
from tlsmachine.session import AeadTicketSealer, ExternalPsk
from wire import messages, records

EXT_PADDING = 21
EXT_ALPN = 16
EXT_COMPRESS_CERTIFICATE = 27
EXT_RENEGOTIATION_INFO = 0xFF01

SIG_ALL = (
    0x0403,  # ecdsa_secp256r1_sha256
    0x0503,
    0x0603,
    0x0807,  # ed25519
    0x0808,  # ed448
    0x0804,  # rsa_pss_rsae_sha256
    0x0805,
    0x0806,
    0x0809,  # rsa_pss_pss_sha256
    0x080A,
    0x080B,
    0x0401,  # rsa_pkcs1_sha256
    0x0501,
    0x0601,
    0x0203,  # ecdsa_sha1
    0x0201,  # rsa_pkcs1_sha1
)
"""The ECDSA, EdDSA and RSA schemes of tlsfuzzer's ``SIG_ALL``, which test-tls13-lengths
offers."""


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def share_entry(share: PrivateKeyShare) -> bytes:
    return share.group.id.to_bytes(2, "big") + vector(2, share.public_bytes)


def with_share(extensions: Extensions, *shares: PrivateKeyShare) -> Extensions:
    """``extensions`` (from :func:`tls13_extensions`) with key_share entries for ``shares``,
    whose private keys the test keeps."""
    out = [(t, d) for t, d in extensions if t != EXT_KEY_SHARE]
    return [(EXT_KEY_SHARE, vector(2, b"".join(share_entry(s) for s in shares))), *out]


def server_share(hello: bytes) -> bytes:
    """key_exchange of the ServerHello's key_share (RFC 8446 §4.2.8)."""
    return hello_extension(hello, EXT_KEY_SHARE)[4:]


def message_types(probe: Probe) -> list[int]:
    return [m[0] for m in probe.messages]


# == test-tls13-lengths.py =======================================================================

LENGTHS = [1, 2, 15, 16, 17, 255, 256, 257, 1000, 4095, 4096, 8192, 2**14 - 1, 2**14]


@pytest.mark.parametrize("suite", [AES_128_GCM, AES_256_GCM, CHACHA20])
@pytest.mark.parametrize("length", LENGTHS)
def test_application_data_of_any_length_is_echoed(suite: int, length: int) -> None:
    """tlsfuzzer test-tls13-lengths.py, "length: N" (a sample of 1..2^14, with -C for each
    suite): a request of N bytes ("A"s and a newline) comes back as application data of the
    same size. RFC 8446 §5.1: a record carries up to 2^14 bytes of data; §5.2: every length
    up to it encrypts and decrypts (the suites' AEADs have no block alignment)."""
    probe = Probe()
    extensions = tls13_extensions(
        (SECP256R1, SECP384R1, SECP521R1, FFDHE2048), shares=(SECP256R1,), schemes=SIG_ALL
    )
    probe.handshake(client_hello((suite, EMPTY_RENEGOTIATION_INFO_SCSV), extensions))
    data = b"A" * (length - 1) + b"\n"
    conversation(probe, probe.sealed(APPLICATION_DATA, data), request=data)
    answers = [c for t, c in probe.received if t == APPLICATION_DATA]
    assert answers[-1] == data  # one record of exactly N bytes


# == test-tls13-shuffled-extentions.py ===========================================================


def hrr_then_reversed(probe: Probe, unassigned: list[int], cookie: bool) -> bytes:
    """First flight: no key share, so a HelloRetryRequest; return the second ClientHello,
    its extensions in reverse order (the key share filled in and the cookie echoed last)."""
    first = tls13_extensions(shares=()) + [(ext, b"") for ext in unassigned]
    send_in_records(probe, client_hello(extensions=first))
    hrr = probe.server_hello
    assert hrr is not None and hrr[6:38] == HRR_RANDOM
    assert probe.received[-1] == (CCS, b"\x01")
    second = dict(reversed(first))
    second[EXT_KEY_SHARE] = dict(tls13_extensions())[EXT_KEY_SHARE]
    if cookie:
        second[EXT_COOKIE] = hello_extension(hrr, EXT_COOKIE)
    return client_hello(extensions=list(second.items()))


def cookie_config(cookie: bool) -> dict[str, object]:
    return {"hello_retry_cookie": (lambda digest: b"c" + digest) if cookie else None}


@pytest.mark.parametrize("cookie", [False, True], ids=["no-cookie", "cookie"])
def test_second_client_hello_with_reversed_known_extensions_is_illegal_parameter(
    cookie: bool,
) -> None:
    """tlsfuzzer test-tls13-shuffled-extentions.py, "HRR reversed order of known extensions"
    (and with --cookie): after a HelloRetryRequest for empty key_shares, the second ClientHello
    lists key_share, supported_versions, supported_groups, signature_algorithms and
    signature_algorithms_cert in reverse order. tlsfuzzer: illegal_parameter. RFC 8446 §4.1.2:
    "the client MUST send the same ClientHello without modification, except as follows"
    (key_share, early_data, cookie, pre_shared_key, padding); the server may enforce it."""
    probe = Probe(**cookie_config(cookie))
    second = hrr_then_reversed(probe, [], cookie)
    probe.expect_alert(lambda: send_in_records(probe, second), AlertDescription.ILLEGAL_PARAMETER)


UNASSIGNED = list(range(52, 65279))
CHUNKS = [UNASSIGNED[i : i + 4096] for i in range(0, len(UNASSIGNED), 4096)]


@pytest.mark.parametrize("chunk", [0, 7, len(CHUNKS) - 1])
def test_second_client_hello_with_reversed_unassigned_extensions_is_illegal_parameter(
    chunk: int,
) -> None:
    """tlsfuzzer test-tls13-shuffled-extentions.py, "HRR reversed order of unassigned
    extensions, ext_ids in range from A to B" (chunks of 4096 empty extensions from 52 up; a
    sample): the same as above with the unassigned extensions reversed too. RFC 8446 §4.1.2
    (as above)."""
    probe = Probe()
    second = hrr_then_reversed(probe, CHUNKS[chunk], cookie=False)
    probe.expect_alert(lambda: send_in_records(probe, second), AlertDescription.ILLEGAL_PARAMETER)


def test_second_client_hello_in_the_same_order_with_unassigned_extensions_completes() -> None:
    """The control for the shuffled-extensions conversations: the same two ClientHellos with
    the extensions in the same order complete the handshake (RFC 8446 §4.1.2, §4.1.4; unknown
    extensions are ignored, §4.1.2), so only the order makes the difference above."""
    probe = Probe()
    unassigned = [(ext, b"") for ext in CHUNKS[0]]
    send_in_records(probe, client_hello(extensions=tls13_extensions(shares=()) + unassigned))
    assert probe.server_hello is not None and probe.server_hello[6:38] == HRR_RANDOM
    send_in_records(probe, client_hello(extensions=tls13_extensions() + unassigned))
    assert probe.server_finished
    probe.send_finished()
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


# == test-tls13-serverhello-random.py ============================================================

RANDOM_GROUPS = [SECP256R1, SECP384R1, SECP521R1, X25519, X448, FFDHE2048, FFDHE3072]


@pytest.mark.parametrize("group", RANDOM_GROUPS, ids=lambda g: g.name)
def test_server_hello_random_and_key_share_are_fresh_every_time(group: Group) -> None:
    """tlsfuzzer test-tls13-serverhello-random.py, "sanity" (secp256r1) and "TLS 1.3 with
    <group>", repeated (--repeat, 32 by default; 8 here): no two ServerHello.random values and
    no two server key shares are equal. RFC 8446 §4.1.3: random is "32 bytes generated by a
    secure random number generator"; §4.2.8 / Appendix C.1: ephemeral keys are fresh per
    handshake (else no forward secrecy, §1.2, E.1)."""
    randoms: set[bytes] = set()
    shares: set[bytes] = set()
    repeats = 8
    for _ in range(repeats):
        probe = Probe()
        probe.handshake(client_hello(extensions=tls13_extensions((group,))))
        hello = probe.server_hello
        assert hello is not None
        random = hello[6:38]
        assert random != HRR_RANDOM and random[-8:-1] != b"DOWNGRD"
        randoms.add(random)
        shares.add(server_share(hello))
        conversation(probe, probe.sealed(APPLICATION_DATA, GET))
    assert len(randoms) == len(shares) == repeats


# == test-tls13-dhe-shared-secret-padding.py =====================================================

PADDING_GROUPS = [SECP384R1, SECP521R1, X25519, X448, FFDHE2048, FFDHE3072]


def private_bytes(group: Group, counter: int) -> bytes:
    """Deterministic private key material for ``group`` (below every curve's order)."""
    seed = f"{group.name}/{counter}".encode()
    if isinstance(group, ECGroup):  # a leading zero byte keeps the scalar below the order
        return bytes(1) + hashlib.shake_256(seed).digest(group.coordinate_len - 1)
    return hashlib.shake_256(seed).digest(56 if group is X448 else 32)


def first_key_byte(group: Group, public: bytes) -> int:
    """The most significant byte of a key share (past the 0x04 point format of the NIST
    curves, as the script looks at it)."""
    return public[1] if isinstance(group, ECGroup) else public[0]


PADDED_COUNTERS = {
    "secp384r1": (167, 325),
    "secp521r1": (1, 5),
    "x25519": (374, 612),
    "x448": (108, 155),
    "ffdhe2048": (166, 202),
    "ffdhe3072": (242, 362),
}
"""For each group, the first counter from 1 up whose key has a public value starting with a
zero byte (the server's), and the next one after it whose shared secret with that key starts
with a zero byte (the client's): found once by searching, as the script does by repeating
handshakes; the test checks both properties."""


@functools.cache
def padded_pair(group: Group) -> tuple[PrivateKeyShare, PrivateKeyShare]:
    """The (server, client) key shares of :data:`PADDED_COUNTERS`."""
    server_counter, client_counter = PADDED_COUNTERS[group.name]
    server = group.from_private_bytes(private_bytes(group, server_counter))
    client = group.from_private_bytes(private_bytes(group, client_counter))
    return server, client


@pytest.mark.parametrize("group", PADDING_GROUPS, ids=lambda g: g.name)
def test_shared_secret_and_key_share_with_leading_zeros(group: Group) -> None:
    """tlsfuzzer test-tls13-dhe-shared-secret-padding.py, "TLS 1.3 with <group>": the script
    repeats handshakes until the (EC)DHE shared secret and the server's key share start with a
    zero byte; here the server's key share factory hands out such a key and the client's key
    is chosen so. The key share keeps its fixed size (RFC 8446 §4.2.8.1: Y "left-padded with
    zeros up to the size of the prime"; §4.2.8.2 / RFC 7748: fixed-size encodings) and the key
    schedule uses the shared secret with its leading zeros (§7.4.1: "the shared secret is ...
    left-padded with zeros"; §7.4.2: the x-coordinate "of length ... field size"): the
    handshake secrets the server logs match those derived here independently."""
    server_key, client_key = padded_pair(group)

    def factory(wanted: Group) -> PrivateKeyShare:
        return server_key if wanted.id == group.id else wanted.generate()

    probe = Probe(key_share_factory=factory)
    hello = client_hello(extensions=with_share(tls13_extensions((group,)), client_key))
    probe.handshake(hello)
    server_hello = probe.server_hello
    assert server_hello is not None
    assert server_share(server_hello) == server_key.public_bytes
    shared = client_key.exchange(server_key.public_bytes)
    assert shared[0] == 0 and first_key_byte(group, server_key.public_bytes) == 0
    secret = EarlySecret.from_psk("sha256", None).handshake(shared)
    digest = sha256(hello + server_hello)
    assert (
        secret.client_handshake_traffic_secret(digest)
        == probe.secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"]
    )
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


# == test-tls13-ffdhe-sanity.py ==================================================================

FFDHE_ALL = [FFDHE2048, FFDHE3072, FFDHE4096, FFDHE6144, FFDHE8192]


def test_all_ffdhe_groups_offered_picks_one() -> None:
    """tlsfuzzer test-tls13-ffdhe-sanity.py, "sanity": key shares and supported_groups for
    every RFC 7919 group (GroupName.allFF); the server uses one of the shares (RFC 8446
    §4.2.8: the server "selects a single key share entry" from the client's)."""
    probe = Probe()
    probe.handshake(client_hello(extensions=tls13_extensions(FFDHE_ALL)))
    hello = probe.server_hello
    assert hello is not None
    chosen = int.from_bytes(hello_extension(hello, EXT_KEY_SHARE)[:2], "big")
    assert chosen in {g.id for g in FFDHE_ALL}
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


@pytest.mark.parametrize("group", FFDHE_ALL, ids=lambda g: g.name)
def test_each_ffdhe_group_alone(group: FFDHEGroup) -> None:
    """tlsfuzzer test-tls13-ffdhe-sanity.py, "ffdhe2048" .. "ffdhe8192": one group in
    supported_groups and key_share. ffdhe4096/6144/8192 are not in our default groups (they
    cost much and add nothing over secp384r1/x448 at their level), so the server is configured
    with the group under test, as a server tlsfuzzer runs this script against would be (RFC
    8446 §4.2.7, RFC 7919 §2)."""
    probe = Probe(groups=(group,))
    probe.handshake(client_hello(extensions=tls13_extensions((group,))))
    hello = probe.server_hello
    assert hello is not None
    assert int.from_bytes(hello_extension(hello, EXT_KEY_SHARE)[:2], "big") == group.id
    assert len(server_share(hello)) == group.prime_len  # left-padded Y (RFC 8446 §4.2.8.1)
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


@pytest.mark.parametrize("group", [FFDHE4096, FFDHE6144, FFDHE8192], ids=lambda g: g.name)
def test_large_ffdhe_group_alone_without_configuring_it_is_handshake_failure(
    group: Group,
) -> None:
    """The same ClientHellos against our default configuration: no group in common. RFC 8446
    §4.1.1: "If the server is unable to negotiate a supported set of parameters ... it MUST
    abort the handshake with either a "handshake_failure" or "insufficient_security" fatal
    alert"."""
    probe = Probe()
    hello = client_hello(extensions=tls13_extensions((group,)))
    probe.expect_alert(record(HANDSHAKE, hello), AlertDescription.HANDSHAKE_FAILURE)


# == test-tls13-psk_dhe_ke.py / test-tls13-psk_ke.py =============================================

PSK = ExternalPsk(identity=b"test", key=b"\xaa" * 32)
"""tlsfuzzer's --psk-iden test with a 32-byte key (its default 1-byte key is below the 16
bytes we insist on for an external PSK)."""


def psk_extension(identity: bytes, obfuscated_age: int, hash_len: int) -> tuple[int, bytes]:
    """pre_shared_key with one identity and a placeholder binder (RFC 8446 §4.2.11)."""
    identities = vector(2, vector(2, identity) + obfuscated_age.to_bytes(4, "big"))
    return EXT_PRE_SHARED_KEY, identities + vector(2, vector(1, bytes(hash_len)))


def bind(hello: bytes, binder_key: bytes, hash_name: str = "sha256") -> bytes:
    """Fill in the single binder, the last bytes of the ClientHello: the HMAC over the
    ClientHello truncated before the binders list (RFC 8446 §4.2.11.2)."""
    size = hashlib.new(hash_name).digest_size
    truncated = hello[: -(2 + 1 + size)]
    digest = hashlib.new(hash_name, truncated).digest()
    return truncated + vector(2, vector(1, finished_verify_data(hash_name, binder_key, digest)))


def external_psk_hello(extensions: Extensions, modes: bytes) -> bytes:
    hello = client_hello(
        (AES_128_GCM,),
        [
            *extensions,
            (EXT_PSK_KEY_EXCHANGE_MODES, vector(1, modes)),
            psk_extension(PSK.identity, 0, 32),
        ],
    )
    binder_key = EarlySecret.from_psk("sha256", PSK.key).binder_key(external=True)
    return bind(hello, binder_key)


def assert_psk_flight(probe: Probe, *, key_share: bool) -> None:
    """ServerHello with pre_shared_key (identity 0), then EncryptedExtensions and Finished:
    no Certificate or CertificateVerify in a PSK handshake (RFC 8446 §2.2)."""
    hello = probe.server_hello
    assert hello is not None
    expected = {EXT_SUPPORTED_VERSIONS, EXT_PRE_SHARED_KEY} | (
        {EXT_KEY_SHARE} if key_share else set()
    )
    assert hello_extension_types(hello) == expected
    assert hello_extension(hello, EXT_PRE_SHARED_KEY) == b"\x00\x00"
    assert message_types(probe)[:3] == [
        HandshakeType.SERVER_HELLO,
        HandshakeType.ENCRYPTED_EXTENSIONS,
        HandshakeType.FINISHED,
    ]


@pytest.mark.parametrize("group", [SECP256R1, FFDHE2048, X25519], ids=lambda g: g.name)
def test_external_psk_with_dhe(group: Group) -> None:
    """tlsfuzzer test-tls13-psk_dhe_ke.py, "sanity" (secp256r1), "ffdhe2048", "x25519": a
    ClientHello with supported_versions, key_share, supported_groups, psk_key_exchange_modes
    (psk_dhe_ke) and pre_shared_key, and no signature_algorithms (RFC 8446 §9.2 requires it
    only without pre_shared_key). The server answers with pre_shared_key and key_share, then
    EncryptedExtensions and Finished (RFC 8446 §2.2, §4.2.9, §4.2.11)."""
    probe = Probe(external_psks=(PSK,))
    extensions: Extensions = [
        (EXT_SUPPORTED_VERSIONS, vector(1, u16s((TLS13, TLS12)))),
        *[
            (t, d)
            for t, d in tls13_extensions((group,))
            if t in (EXT_KEY_SHARE, EXT_SUPPORTED_GROUPS)
        ],
    ]
    probe.handshake(external_psk_hello(extensions, bytes([PskKeyExchangeMode.PSK_DHE_KE])))
    assert_psk_flight(probe, key_share=True)
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


def test_external_psk_without_dhe() -> None:
    """tlsfuzzer test-tls13-psk_ke.py, "sanity": only supported_versions,
    psk_key_exchange_modes (psk_ke) and pre_shared_key; the server (configured to allow
    psk_ke, as the script requires) answers without key_share (RFC 8446 §4.2.9: psk_ke is
    "PSK-only key establishment"; §4.2.8: no key_share in a psk_ke ServerHello)."""
    probe = Probe(
        external_psks=(PSK,), psk_modes=(PskKeyExchangeMode.PSK_DHE_KE, PskKeyExchangeMode.PSK_KE)
    )
    extensions: Extensions = [(EXT_SUPPORTED_VERSIONS, vector(1, u16s((TLS13, TLS12))))]
    probe.handshake(external_psk_hello(extensions, bytes([PskKeyExchangeMode.PSK_KE])))
    assert_psk_flight(probe, key_share=False)
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


# == test-tls13-session-resumption.py ============================================================

BOTH_MODES = bytes([PskKeyExchangeMode.PSK_DHE_KE, PskKeyExchangeMode.PSK_KE])


def resumption_extensions(share: PrivateKeyShare) -> Extensions:
    """The script's ClientHello extensions: the usual ones with psk_key_exchange_modes
    (psk_dhe_ke, psk_ke)."""
    modes = (EXT_PSK_KEY_EXCHANGE_MODES, vector(1, BOTH_MODES))
    return [*with_share(tls13_extensions(), share), modes]


def first_connection(sealer: AeadTicketSealer) -> tuple[bytes, NewSessionTicket]:
    """The script's first conversation: a full handshake, at least one NewSessionTicket, a
    request and close_notify. Returns the resumption master secret, derived here from our own
    key share and the transcript (checked against the traffic secrets the server logs), and
    the first ticket."""
    probe = Probe(ticket_sealer=sealer)
    share = SECP256R1.generate()
    hello = client_hello(extensions=resumption_extensions(share))
    probe.send_hello(hello)
    assert probe.server_finished and probe.server_hello is not None
    server_hello = probe.server_hello
    client_finished = probe.finished()
    probe.send_finished(client_finished)
    tickets = [m for m in probe.messages if m[0] == HandshakeType.NEW_SESSION_TICKET]
    assert tickets  # "ensure that the server sends at least one NST always"
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))

    handshake_secret = EarlySecret.from_psk("sha256", None).handshake(
        share.exchange(server_share(server_hello))
    )
    assert (
        handshake_secret.client_handshake_traffic_secret(sha256(hello + server_hello))
        == probe.secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"]
    )
    master = handshake_secret.master()
    assert (
        master.client_application_traffic_secret_0(sha256(probe.transcript))
        == (probe.secrets["CLIENT_TRAFFIC_SECRET_0"])
    )
    rms = master.resumption_master_secret(sha256(probe.transcript + client_finished))
    ticket = decode_handshake(tickets[0])
    assert isinstance(ticket, NewSessionTicket)
    return rms, ticket


def test_session_resumption() -> None:
    """tlsfuzzer test-tls13-session-resumption.py, "session resumption": a full handshake
    that yields a ticket, then a new connection offering it (pre_shared_key last, with the
    obfuscated age and a "res binder" binder, RFC 8446 §4.2.11, §4.6.1) and the same
    extensions. The server resumes with psk_dhe_ke: ServerHello with pre_shared_key and
    key_share, EncryptedExtensions, Finished, no certificate, and (not optional in the script)
    a new ticket (RFC 8446 §4.6.1: "At any time after the server has received the client
    Finished message, it MAY send a NewSessionTicket message"); the request is answered."""
    sealer = AeadTicketSealer()
    rms, ticket = first_connection(sealer)
    psk = resumption_psk("sha256", rms, ticket.ticket_nonce)
    age = ticket.ticket_age_add % 2**32  # a ticket used at once: age 0 ms
    hello = client_hello(
        extensions=[
            *resumption_extensions(SECP256R1.generate()),
            psk_extension(ticket.ticket, age, 32),
        ]
    )
    hello = bind(hello, EarlySecret.from_psk("sha256", psk).binder_key(external=False))

    probe = Probe(ticket_sealer=sealer)
    probe.handshake(hello)
    assert_psk_flight(probe, key_share=True)
    # "ensure that the server sends at least one NST always", after a resumption too
    assert HandshakeType.NEW_SESSION_TICKET in message_types(probe)
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


# == test-tls13-post-handshake-auth.py ===========================================================


def pha_probe() -> tuple[Probe, bytes]:
    """A handshake whose ClientHello offers post_handshake_auth, against a server that trusts
    our RSA client certificate; returns the probe and the transcript through the client
    Finished (the base of every post-handshake exchange, RFC 8446 §4.4)."""
    trusted = client_cert("rsa-2048").leaf.public_bytes(Encoding.PEM)
    probe = Probe(client_cadata=trusted)
    extensions = [*tls13_extensions(), (EXT_POST_HANDSHAKE_AUTH, b"")]
    probe.send_hello(client_hello(extensions=extensions))
    assert probe.server_finished
    client_finished = probe.finished()
    probe.send_finished(client_finished)
    assert probe.server.state is ConnectionState.APP_DATA
    return probe, probe.transcript + client_finished


def pha_request(probe: Probe) -> tuple[bytes, bytes]:
    """The server application asks for a certificate; returns the context and the
    CertificateRequest as received (RFC 8446 §4.6.2)."""
    context = probe.server.request_client_certificate()
    probe.read()
    request = probe.messages[-1]
    assert request[0] == HandshakeType.CERTIFICATE_REQUEST
    assert request[4 : 5 + len(context)] == vector(1, context)
    return context, request


def pha_certificate(context: bytes) -> bytes:
    der = client_cert("rsa-2048").der_chain[0]
    entries = vector(3, vector(3, der) + vector(2, b""))
    return handshake(HandshakeType.CERTIFICATE, vector(1, context) + entries)


def pha_certificate_verify(transcript: bytes, *, corrupt: bool = False) -> bytes:
    """rsa_pss_rsae_sha256 over the client context string and the transcript hash (RFC 8446
    §4.4.3); ``corrupt`` XORs the last signature byte with 0xff (tlsfuzzer's
    padding_xors={-1: 0xff})."""
    content = certificate_verify_input(sha256(transcript), server=False)
    signature = bytearray(sign(0x0804, client_cert("rsa-2048").private_key, content))
    if corrupt:
        signature[-1] ^= 0xFF
    return encode_certificate_verify(0x0804, bytes(signature))


def test_malformed_signature_in_post_handshake_auth_is_decrypt_error() -> None:
    """tlsfuzzer test-tls13-post-handshake-auth.py, "malformed signature in PHA": the client
    answers the post-handshake CertificateRequest with its certificate and a CertificateVerify
    whose last signature byte is XORed with 0xff. RFC 8446 §4.4.3: "If the verification
    fails, the receiver MUST terminate the handshake with a "decrypt_error" alert." (§4.6.2:
    the post-handshake messages are verified as in the handshake)."""
    probe, base = pha_probe()
    context, request = pha_request(probe)
    certificate = pha_certificate(context)
    verify = pha_certificate_verify(base + request + certificate, corrupt=True)
    probe.expect_alert(
        probe.sealed(HANDSHAKE, certificate + verify), AlertDescription.DECRYPT_ERROR
    )


def test_post_handshake_auth_with_key_update_requested() -> None:
    """tlsfuzzer test-tls13-post-handshake-auth.py, "post-handshake authentication with
    KeyUpdate": after the CertificateRequest the client sends KeyUpdate(update_requested), then
    Certificate, CertificateVerify and Finished under its new keys (the Finished keyed by
    client_application_traffic_secret_1, RFC 8446 §4.4), then its request. The server accepts
    the certificate and sends KeyUpdate(update_not_requested) before its next application data
    (RFC 8446 §4.6.3: "MUST send a KeyUpdate of its own ... prior to sending its next
    Application Data record"; §4.6.2: other messages may come before the answer)."""
    probe, base = pha_probe()
    context, request = pha_request(probe)
    probe.send(probe.key_update(1))
    certificate = pha_certificate(context)
    transcript = base + request + certificate
    verify = pha_certificate_verify(transcript)
    assert probe.suite is not None
    verify_data = finished_verify_data("sha256", probe.write_secret, sha256(transcript + verify))
    finished = handshake(HandshakeType.FINISHED, verify_data)
    probe.send(probe.sealed(HANDSHAKE, certificate + verify + finished))
    (event,) = [e for e in probe.events if isinstance(e, ClientCertificateReceived)]
    assert event.certificate_request_context == context
    assert event.certificates[0] == client_cert("rsa-2048").leaf
    probe.send(probe.sealed(APPLICATION_DATA, GET))
    probe.echo()
    updates = [m for m in probe.messages if m[0] == HandshakeType.KEY_UPDATE]
    assert updates == [handshake(HandshakeType.KEY_UPDATE, b"\x00")]
    assert probe.application_data == GET  # readable only under the server's updated keys
    probe.close()


# == test-tls13-non-support.py ===================================================================

ECDHE_RSA_AES_128_GCM = 0xC02F
"""The script offers TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA for TLS 1.2; we implement no CBC suite
(as in test_tlsfuzzer_tls12.py), so the probes offer this AEAD suite instead."""
DOWNGRADE_TLS12 = b"DOWNGRD\x01"


def tls12_conversation(server: ServerConnection, hello: bytes) -> bytes:
    """tlsfuzzer's TLS 1.2 ECDHE conversation: ServerHello, Certificate, ServerKeyExchange,
    ServerHelloDone; ClientKeyExchange, ChangeCipherSpec, Finished; the server's
    ChangeCipherSpec and Finished (checked); a request, its echo, close_notify (RFC 5246 §7.3,
    RFC 8422 §5). Returns the ServerHello."""
    server.receive_data(record(HANDSHAKE, hello, version=0x0301))
    flight = [m for t, f in records(server.data_to_send()) if t == HANDSHAKE for m in messages(f)]
    assert [m[0] for m in flight] == [
        HandshakeType.SERVER_HELLO,
        HandshakeType.CERTIFICATE,
        HandshakeType.SERVER_KEY_EXCHANGE,
        HandshakeType.SERVER_HELLO_DONE,
    ]
    server_hello, _, key_exchange, _ = flight
    suite = suite12_by_id(int.from_bytes(server_hello[39 + server_hello[38] :][:2], "big"))
    assert suite is not None
    params = key_exchange[4:]
    assert params[0] == 3  # named_curve
    group = group_by_id(int.from_bytes(params[1:3], "big"))
    assert group is not None
    share = group.generate()
    premaster = share.exchange(params[4 : 4 + params[3]])
    key_exchange_message = handshake(
        HandshakeType.CLIENT_KEY_EXCHANGE, vector(1, share.public_bytes)
    )
    client_random, server_random = hello[6:38], server_hello[6:38]
    master = master_secret(suite.hash_name, premaster, client_random, server_random)
    keys = protectors(suite, master, client_random, server_random)
    transcript = hello + b"".join(flight) + key_exchange_message
    verify_data = finished12(suite, master, client=True, handshake_hash=sha256(transcript))
    client_finished = handshake(HandshakeType.FINISHED, verify_data)
    server.receive_data(
        record(HANDSHAKE, key_exchange_message)
        + record(CCS, b"\x01")
        + keys.client_write.seal(HANDSHAKE, client_finished)
    )
    (ccs, fin) = records(server.data_to_send())
    assert ccs == (CCS, b"\x01")
    header = bytes([fin[0], 3, 3]) + len(fin[1]).to_bytes(2, "big")
    content_type, content = keys.server_write.open(header, fin[1])
    expected = finished12(
        suite, master, client=False, handshake_hash=sha256(transcript + client_finished)
    )
    assert (content_type, bytes(content)) == (
        HANDSHAKE,
        handshake(HandshakeType.FINISHED, expected),
    )
    assert server.receive_data(keys.client_write.seal(APPLICATION_DATA, GET)) == [
        ApplicationData(data=GET)
    ]
    server.send(GET)
    ((kind, fragment),) = records(server.data_to_send())
    header = bytes([kind, 3, 3]) + len(fragment).to_bytes(2, "big")
    assert keys.server_write.open(header, fragment) == (APPLICATION_DATA, GET)
    return server_hello


def non_support_hello(versions: tuple[int, ...] | None) -> bytes:
    """The script's ClientHello: TLS_AES_128_GCM_SHA256 and a TLS 1.2 suite, key_share and
    supported_groups for secp256r1, RSA-PSS and PKCS#1 signatures; supported_versions as
    given (none in "sanity")."""
    extensions = tls13_extensions(schemes=(0x0804, 0x0809, 0x0401))
    extensions = [(t, d) for t, d in extensions if t != EXT_SUPPORTED_VERSIONS]
    if versions is not None:
        extensions.append((EXT_SUPPORTED_VERSIONS, vector(1, u16s(versions))))
    suites = (AES_128_GCM, ECDHE_RSA_AES_128_GCM, EMPTY_RENEGOTIATION_INFO_SCSV)
    return client_hello(suites, extensions)


def tls12_server(**config: object) -> ServerConnection:
    return ServerConnection(ServerConfig(certificates=(rsa_certificate(),), **config))  # type: ignore[arg-type]


@pytest.mark.parametrize("draft", [0, 18, 22, 23, 26, 28, 49])
def test_draft_tls13_versions_negotiate_tls12(draft: int) -> None:
    """tlsfuzzer test-tls13-non-support.py, "try negotiating (127, N) - draft version" (a
    sample of 0..49): supported_versions lists a TLS 1.3 draft (0x7fNN) and TLS 1.2. A draft
    is not TLS 1.3 (RFC 8446 §4.2.1: "Implementations of this specification MUST NOT send a
    ... version number not in this list"; unknown versions are ignored), so TLS 1.2 is
    negotiated, in a ServerHello without supported_versions; and, as we do support TLS 1.3,
    with the downgrade sentinel (§4.1.3: "TLS 1.3 servers which negotiate TLS 1.2 ... MUST
    set the last 8 bytes of their Random value to ... 44 4F 57 4E 47 52 44 01")."""
    hello = tls12_conversation(tls12_server(), non_support_hello((0x7F00 | draft, TLS12)))
    assert hello[4:6] == TLS12.to_bytes(2, "big")
    assert EXT_SUPPORTED_VERSIONS not in hello_extension_types(hello)
    assert hello[6:38][-8:] == DOWNGRADE_TLS12


@pytest.mark.parametrize(
    "versions", [None, (TLS13, TLS12)], ids=["sanity", "try-negotiating-tls13"]
)
def test_server_without_tls13_negotiates_tls12(versions: tuple[int, ...] | None) -> None:
    """tlsfuzzer test-tls13-non-support.py, "sanity" and "try negotiating TLS 1.3", against a
    server with TLS 1.3 disabled (max_version TLS 1.2): TLS 1.2, with renegotiation_info as
    the only ServerHello extension (RFC 5746 §3.6, answering the SCSV; RFC 8446 §4.2.1: a
    server that does not negotiate TLS 1.3 does not answer supported_versions)."""
    server = tls12_server(max_version=ProtocolVersion.TLS12)
    hello = tls12_conversation(server, non_support_hello(versions))
    assert hello[4:6] == TLS12.to_bytes(2, "big")
    assert hello_extension_types(hello) == {EXT_RENEGOTIATION_INFO}


# == test-tls13-certificate-compression.py =======================================================


@pytest.mark.parametrize("algorithm", [1, 2, 3, 0, 10, 256, 770, 16383, 16384, 65534, 65535])
def test_compress_certificate_offer_gets_a_plain_certificate(algorithm: int) -> None:
    """tlsfuzzer test-tls13-certificate-compression.py, "unreasonable algorithm N" (0, 10,
    256, 770, 16383, 16384, 65534, 65535) and, since we implement no RFC 8879 algorithm,
    "smoke, zlib/brotli/zstd" as the script runs for a server without them: the server ignores
    compress_certificate and sends a plain Certificate (RFC 8879 §3: compression is used only
    with an algorithm both support; RFC 8446 §4.1.2: unrecognized extensions are ignored)."""
    probe = Probe()
    extensions = [
        *tls13_extensions(),
        (EXT_COMPRESS_CERTIFICATE, vector(1, u16s([algorithm]))),
    ]
    probe.handshake(client_hello(extensions=extensions))
    assert message_types(probe)[1:5] == [
        HandshakeType.ENCRYPTED_EXTENSIONS,
        HandshakeType.CERTIFICATE,
        HandshakeType.CERTIFICATE_VERIFY,
        HandshakeType.FINISHED,
    ]
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


# == test-large-hello.py / test-client-hello-max-size.py, in TLS 1.3 =============================

BASE_EXTENSIONS_SIZE = sum(4 + len(d) for _, d in tls13_extensions())
MAX_PADDING = 0xFFFF - BASE_EXTENSIONS_SIZE - 4
"""The largest padding extension that fits the extensions block (<8..2^16-1>, RFC 8446
§4.1.2) next to the usual TLS 1.3 extensions."""


def many_suites(count: int) -> list[int]:
    """``count`` unassigned cipher suite values from 0x0100 up (skipping 0x5600,
    TLS_FALLBACK_SCSV), as the scripts build them."""
    values = [v for v in range(0x0100, 0x0100 + count + 1) if v != 0x5600]
    return values[:count]


def send_in_records(probe: Probe, hello: bytes, first: int | None = None) -> None:
    """The ClientHello in handshake records of at most 2^14 bytes; with ``first``, the first
    record holds only that many bytes (tlsfuzzer's split_message)."""
    probe.transcript += hello
    pieces = [hello[:first]] if first else []
    rest = hello[first or 0 :]
    pieces += [rest[i : i + 2**14] for i in range(0, len(rest), 2**14)]
    probe.send(b"".join(record(HANDSHAKE, p) for p in pieces))


def completes_with(probe: Probe) -> None:
    assert probe.server_finished, message_types(probe)
    probe.send_finished()
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


PADDING_SIZES = [0, 1, 9, 0x1FFF, 0x2000, 0x3FFF, 0x4000, 0x400F, 0x8FFF, 0x9000, MAX_PADDING]


@pytest.mark.parametrize("size", PADDING_SIZES)
@pytest.mark.parametrize("ext_type", [EXT_PADDING, 80], ids=["padding", "ext-80"])
def test_large_extension_in_a_tls13_client_hello(ext_type: int, size: int) -> None:
    """tlsfuzzer test-large-hello.py, "ext padding, N bytes" and "ext #80, N bytes" (a sample
    of its sizes, up to the largest that fits), in a TLS 1.3 ClientHello (the script itself
    speaks TLS 1.2): the server reads a ClientHello spread over several records (RFC 8446
    §5.1: handshake messages may be fragmented across records) and ignores the padding (RFC
    7685 §3) or the unknown extension (RFC 8446 §4.1.2)."""
    probe = Probe()
    send_in_records(probe, client_hello(extensions=[*tls13_extensions(), (ext_type, bytes(size))]))
    completes_with(probe)


@pytest.mark.parametrize("size", [0, 9, 0x2FFF, 0x3000, 0x4000, 0x9000, MAX_PADDING - 0x1004])
def test_two_large_extensions_in_a_tls13_client_hello(size: int) -> None:
    """tlsfuzzer test-large-hello.py, "two ext, #80 N bytes": extension 80 of N bytes and
    4096 bytes of padding, in a TLS 1.3 ClientHello (RFC 8446 §4.1.2, RFC 7685 §3)."""
    probe = Probe()
    extensions = [*tls13_extensions(), (80, bytes(size)), (EXT_PADDING, bytes(0x1000))]
    send_in_records(probe, client_hello(extensions=extensions))
    completes_with(probe)


@pytest.mark.parametrize("count", [1, 4, 0x1FF8, 0x2000, 0x4800, 0x7FFE - 2])
@pytest.mark.parametrize("odd", [False, True], ids=["even", "odd"])
def test_many_cipher_suites_in_a_tls13_client_hello(count: int, odd: bool) -> None:
    """tlsfuzzer test-large-hello.py, "ciphers even N" and "ciphers odd N" (odd: with a
    1-byte padding extension): N unassigned cipher suites before the renegotiation SCSV and
    TLS_AES_128_GCM_SHA256, up to the 2^16-2 bytes the list may hold (RFC 8446 §4.1.2:
    cipher_suites<2..2^16-2>). The server skips the values it does not know (§4.1.2) and
    picks the TLS 1.3 suite."""
    probe = Probe()
    suites = [*many_suites(count), EMPTY_RENEGOTIATION_INFO_SCSV, AES_128_GCM]
    extensions = [*tls13_extensions(), *([(EXT_PADDING, b"\x00")] if odd else [])]
    send_in_records(probe, client_hello(suites, extensions))
    assert probe.suite is not None and probe.suite.id == AES_128_GCM
    completes_with(probe)


@pytest.mark.parametrize("size", [0, 9, 0x3F00, 0x4000, 0x9000, MAX_PADDING])
def test_fragmented_tls13_client_hello_with_a_two_byte_first_record(size: int) -> None:
    """tlsfuzzer test-large-hello.py, "fragmented, padding ext N bytes" and "sanity check -
    fragmented": the first record holds 2 bytes of the ClientHello (RFC 8446 §5.1: a handshake
    message may span records; only zero-length handshake fragments are forbidden)."""
    probe = Probe()
    padding = [(EXT_PADDING, bytes(size))] if size else []
    send_in_records(probe, client_hello(extensions=[*tls13_extensions(), *padding]), first=2)
    completes_with(probe)


def huge_hello(compression: bytes, shrink: int = 0) -> bytes:
    """The largest ClientHello: 2^15-1 cipher suites (the last TLS_AES_128_GCM_SHA256),
    a 32-byte session id, ``compression``, and the extensions block filled to 2^16-1 bytes
    with an ALPN list of 255-byte names and "http/1.1" (test-client-hello-max-size.py) and
    padding (``shrink`` bytes less of it)."""
    suites = [*many_suites(0x7FFF - 2), EMPTY_RENEGOTIATION_INFO_SCSV, AES_128_GCM]
    names = [b"A" * 255] * 200 + [b"http/1.1"]
    alpn = (EXT_ALPN, vector(2, b"".join(vector(1, n) for n in names)))
    extensions = [*tls13_extensions(), alpn]
    used = sum(4 + len(d) for _, d in extensions)
    extensions.append((EXT_PADDING, bytes(0xFFFF - used - 4 - shrink)))
    hello = client_hello(suites, extensions, session_id=bytes(32), compression=compression)
    assert len(b"".join(extension(t, d) for t, d in extensions)) == 0xFFFF - shrink
    return hello


def test_largest_tls13_client_hello() -> None:
    """tlsfuzzer test-large-hello.py, "huge hello", and test-client-hello-max-size.py, "max
    client hello", in TLS 1.3: every variable-length field of the ClientHello at its maximum
    (cipher_suites 2^16-2 bytes, extensions 2^16-1 bytes, RFC 8446 §4.1.2), 131146 bytes in
    9 records. The server reads it, picks TLS_AES_128_GCM_SHA256 and "http/1.1" from the ALPN
    list (RFC 7301 §3.2), and completes the handshake."""
    probe = Probe(alpn_protocols=("http/1.1",))
    send_in_records(probe, huge_hello(b"\x00"))
    encrypted_extensions = probe.messages[1]
    assert encrypted_extensions[0] == HandshakeType.ENCRYPTED_EXTENSIONS
    assert vector(2, vector(1, b"http/1.1")) in encrypted_extensions
    completes_with(probe)


@pytest.mark.parametrize(
    "filled",
    [
        pytest.param(True, id="largest"),
        pytest.param(False, id="within-2^17"),
    ],
)
def test_tls13_client_hello_with_255_compression_methods_is_illegal_parameter(
    filled: bool,
) -> None:
    """tlsfuzzer test-client-hello-max-size.py, "max client hello", sends the compression
    methods 0..254; that is fine for the TLS 1.2 handshake the script makes, but this hello
    offers TLS 1.3 (the largest one, and one with 1 KiB less padding). RFC 8446 §4.1.2: "For
    every TLS 1.3 ClientHello, this vector MUST contain exactly one byte, set to zero ... If
    a TLS 1.3 ClientHello is received with any other value in this field, the server MUST
    abort the handshake with an "illegal_parameter" alert."."""
    probe = Probe(alpn_protocols=("http/1.1",))
    hello = huge_hello(bytes(range(255)), shrink=0 if filled else 1024)
    pieces = [hello[i : i + 2**14] for i in range(0, len(hello), 2**14)]
    probe.expect_alert(
        b"".join(record(HANDSHAKE, p) for p in pieces), AlertDescription.ILLEGAL_PARAMETER
    )
