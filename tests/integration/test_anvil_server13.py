"""Conformance audit against TLS-Anvil's server TLS 1.3 tests.

Each test replays, in memory, the intent of one test method of the TLS-Anvil test suite
(tls-attacker/TLS-Anvil, ``TLS-Testsuite/src/main/java/de/rub/nds/tlstest/suite/tests/``:
``server/tls13/**``, and the parts of ``both/tls13/**`` and ``both/lengthfield/**`` that apply
to a TLS 1.3 server receiving messages) against our :class:`ServerConnection`. The docstring
names the TLS-Anvil ``Class.method`` and quotes the RFC sentence checked. The client is played
by :class:`Probe` (``tests/tls13_probe.py``): it writes the ClientHello byte by byte, learns every
traffic secret from the server's key log and seals its own records, so it can misbehave where a
real client would not.

TLS-Anvil mostly accepts any fatal alert; where the RFC names one, these tests assert that one.
Where TLS-Anvil enforces a sender-side rule on the receiver (``@EnforcedSenderRestriction``)
and the RFC leaves the receiver free, the test checks what the RFC does require and says so.

Tests marked ``xfail(strict=True)`` document a place where we break an RFC rule (the reason
names it).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from memory_pair import pump
from tls13_probe import (
    AES_128_GCM,
    AES_256_GCM,
    ALERT,
    APPLICATION_DATA,
    CCS,
    CHACHA20,
    EMPTY_RENEGOTIATION_INFO_SCSV,
    EXT_COOKIE,
    EXT_KEY_SHARE,
    EXT_POST_HANDSHAKE_AUTH,
    EXT_PRE_SHARED_KEY,
    EXT_PSK_KEY_EXCHANGE_MODES,
    EXT_RECORD_SIZE_LIMIT,
    EXT_SERVER_NAME,
    EXT_SIGNATURE_ALGORITHMS,
    EXT_SIGNATURE_ALGORITHMS_CERT,
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
    handshake,
    hello_extension,
    hello_extensions,
    key_share_entry,
    record,
    rsa_certificate,
    tls13_extensions,
    u16s,
    vector,
)
from tlsmachine import (
    ApplicationData,
    ClientConfig,
    ClientConnection,
    ConnectionState,
    InMemoryClientSessionStore,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.crypto.groups import (
    FFDHE2048,
    SECP256R1,
    SECP384R1,
    SECP521R1,
    X448,
    X25519,
    Group,
)
from tlsmachine.crypto.suites import (
    TLS_AES_128_GCM_SHA256,
    TLS_CHACHA20_POLY1305_SHA256,
)
from tlsmachine.enums import AlertDescription, HandshakeType, ProtocolVersion, PskKeyExchangeMode
from tlsmachine.errors import AlertReceived, ConfigurationError, ProtocolError
from tlsmachine.events import EarlyDataReceived, HandshakeComplete
from tlsmachine.keyschedule import EarlySecret, finished_verify_data, traffic_key_iv
from tlsmachine.session import AeadTicketSealer, ExternalPsk
from wire import messages, records

EXT_ALPN = 16
EXT_PADDING = 21
EXT_EARLY_DATA = 42
EXT_OID_FILTERS = 48
EXT_TRUNCATED_HMAC = 4
ECDHE_RSA_AES_128_GCM = 0xC02F
FALLBACK_SCSV = 0x5600  # RFC 7507 §6
DOWNGRADE_TLS12 = b"DOWNGRD\x01"

# RFC 8446 §4.2: the extensions that may appear in EncryptedExtensions ("EE" in the table)
ALLOWED_IN_ENCRYPTED_EXTENSIONS = {0, 1, 10, 14, 15, 16, 19, 20, 28, EXT_EARLY_DATA}

TLS13_SCHEMES = (0x0804, 0x0805, 0x0806, 0x0809, 0x080A, 0x080B, 0x0403, 0x0503, 0x0603)
LEGACY_SCHEMES = (0x0201, 0x0203, 0x0401, 0x0501, 0x0601, 0x0202, 0x0301)
"""TLS-Anvil's ``getLegacySigHashAlgoritms``: schemes not suited for TLS 1.3 signatures
(RSASSA-PKCS1-v1_5, SHA-1, DSA, SHA-224)."""

GREASE = (0x0A0A, 0x3A3A, 0xFAFA)


# -- helpers ------------------------------------------------------------------------------------


def without(extensions: Extensions, *types: int) -> Extensions:
    return [(t, d) for t, d in extensions if t not in types]


def replaced(extensions: Extensions, ext_type: int, data: bytes) -> Extensions:
    return [(t, data if t == ext_type else d) for t, d in extensions]


def fails(probe: Probe, data: bytes | Callable[[], object]) -> AlertDescription:
    """The server refuses ``data`` with a fatal alert, the last thing it writes; returns it."""
    action = data if callable(data) else functools.partial(probe.send, data)
    with pytest.raises(ProtocolError) as info:
        action()
    description = info.value.alert
    assert description is not None, info.value
    assert probe.alerts and probe.alerts[-1] == (2, description)
    assert probe.server.state is ConnectionState.FAILED
    return description


def hello_fails(hello: bytes, **config: object) -> AlertDescription:
    probe = Probe(**config)
    return fails(probe, lambda: probe.send_hello(hello))


def completes(hello: bytes | None = None, **config: object) -> Probe:
    """A handshake that must complete; the probe afterwards (application keys in place)."""
    probe = Probe(**config)
    probe.handshake(hello)
    return probe


def server_types(probe: Probe) -> list[int]:
    return [m[0] for m in probe.messages]


def sh_suite(hello: bytes) -> int:
    pos = 4 + 2 + 32
    pos += 1 + hello[pos]
    return int.from_bytes(hello[pos : pos + 2], "big")


def sh_session_id(hello: bytes) -> bytes:
    return hello[39 : 39 + hello[38]]


def sh_compression(hello: bytes) -> int:
    return hello[39 + hello[38] + 2]


def first(probe: Probe, kind: int) -> bytes:
    (message, *_) = [m for m in probe.messages if m[0] == kind]
    return message


def extensions_block(body: bytes) -> list[tuple[int, bytes]]:
    """Extensions of an extensions block with its 2-byte length."""
    end = 2 + int.from_bytes(body[:2], "big")
    pos, out = 2, []
    while pos < end:
        ext_type = int.from_bytes(body[pos : pos + 2], "big")
        size = int.from_bytes(body[pos + 2 : pos + 4], "big")
        out.append((ext_type, body[pos + 4 : pos + 4 + size]))
        pos += 4 + size
    return out


class WireProbe(Probe):
    """A probe that also keeps the raw record headers the server wrote."""

    def __init__(self, **config: object) -> None:
        super().__init__(**config)
        self.headers: list[bytes] = []
        original = self.server.data_to_send

        def capture() -> bytes:
            data = original()
            rest = data
            while rest:
                self.headers.append(rest[:5])
                rest = rest[5 + int.from_bytes(rest[3:5], "big") :]
            return data

        self.server.data_to_send = capture  # type: ignore[method-assign]


def tls12_flight(hello: bytes, **config: object) -> list[bytes]:
    """The server's first flight to a ClientHello that negotiates TLS 1.2 (messages)."""
    settings: dict[str, object] = {"certificates": (rsa_certificate(),)}
    settings.update(config)
    server = ServerConnection(ServerConfig(**settings))  # type: ignore[arg-type]
    server.receive_data(record(HANDSHAKE, hello, version=0x0301))
    return [m for t, f in records(server.data_to_send()) if t == HANDSHAKE for m in messages(f)]


def tls12_hello(
    *,
    versions: tuple[int, ...] | None = None,
    legacy_version: int = TLS12,
    compression: bytes = b"\x00",
) -> bytes:
    extensions = tls13_extensions(schemes=(0x0804, 0x0809, 0x0401))
    extensions = without(extensions, EXT_SUPPORTED_VERSIONS)
    if versions is not None:
        extensions.append((EXT_SUPPORTED_VERSIONS, vector(1, u16s(versions))))
    suites = (AES_128_GCM, ECDHE_RSA_AES_128_GCM, EMPTY_RENEGOTIATION_INFO_SCSV)
    return client_hello(suites, extensions, legacy_version=legacy_version, compression=compression)


def hrr_probe(
    suites: tuple[int, ...] = (AES_128_GCM,), *, session_id: bytes = bytes(range(32))
) -> tuple[Probe, Extensions]:
    """A ClientHello with an empty key_share (RFC 8446 §4.2.8: "This vector MAY be empty if
    the client is requesting a HelloRetryRequest"); the probe holds the HelloRetryRequest."""
    extensions = tls13_extensions((SECP256R1, X25519), shares=())
    probe = Probe()
    probe.send_hello(client_hello(suites, extensions, session_id=session_id))
    hrr = probe.server_hello
    assert hrr is not None and hrr[6:38] == HRR_RANDOM
    return probe, extensions


def second_hello(
    probe: Probe, extensions: Extensions, suites: tuple[int, ...] = (AES_128_GCM,), **kw: bytes
) -> None:
    hrr = probe.server_hello
    assert hrr is not None
    group_id = int.from_bytes(hello_extension(hrr, EXT_KEY_SHARE), "big")
    group = {g.id: g for g in (SECP256R1, X25519)}[group_id]
    extensions = replaced(extensions, EXT_KEY_SHARE, vector(2, key_share_entry(group)))
    if EXT_COOKIE in {t for t, _ in hello_extensions(hrr)}:
        extensions.append((EXT_COOKIE, hello_extension(hrr, EXT_COOKIE)))
    probe.send_hello(client_hello(suites, extensions, **kw))


# == server/tls13/rfc8446/ClientHello ============================================================


def test_client_hello_include_unknown_cipher_suite() -> None:
    """TLS-Anvil ClientHello.includeUnknownCipherSuite: 0xfe00 before the real suites.
    RFC 8446 §4.1.2: "If the list contains cipher suites that the server does not recognize,
    support, or wish to use, the server MUST ignore those cipher suites and process the
    remaining ones as usual."."""
    probe = completes(client_hello((0xFE00, AES_128_GCM)))
    assert probe.server_hello is not None and sh_suite(probe.server_hello) == AES_128_GCM


@pytest.mark.parametrize("legacy_version", [0x0304, 0x0302], ids=["higher", "lower"])
def test_client_hello_invalid_legacy_version(legacy_version: int) -> None:
    """TLS-Anvil ClientHello.invalidLegacyVersion_higher / _lower (``@EnforcedSenderRestriction``:
    TLS-Anvil wants a fatal alert). The RFC only restricts the sender; for the receiver
    RFC 8446 §4.2.1 says: "If this extension is present in the ClientHello, servers MUST NOT
    use the ClientHello.legacy_version value for version negotiation and MUST use only the
    "supported_versions" extension to determine client preferences." So TLS 1.3 is
    negotiated."""
    probe = completes(client_hello(legacy_version=legacy_version))
    assert probe.server_hello is not None
    assert hello_extension(probe.server_hello, EXT_SUPPORTED_VERSIONS) == TLS13.to_bytes(2, "big")


def test_client_hello_invalid_legacy_version_ssl30() -> None:
    """TLS-Anvil ClientHello.invalidLegacyVersion_ssl30. RFC 8446 §D.5: "Any endpoint receiving
    a Hello message with ClientHello.legacy_version or ServerHello.legacy_version set to 0x0300
    MUST abort the handshake with a "protocol_version" alert."."""
    assert hello_fails(client_hello(legacy_version=0x0300)) is AlertDescription.PROTOCOL_VERSION


def test_client_hello_invalid_compression() -> None:
    """TLS-Anvil ClientHello.invalidCompression. RFC 8446 §4.1.2: "If a TLS 1.3 ClientHello is
    received with any other value in this field, the server MUST abort the handshake with an
    "illegal_parameter" alert."."""
    hello = client_hello(compression=b"\x01")
    assert hello_fails(hello) is AlertDescription.ILLEGAL_PARAMETER


def test_client_hello_include_unknown_extension() -> None:
    """TLS-Anvil ClientHello.includeUnknownExtension: extension 0xBA9F with 32 bytes.
    RFC 8446 §4.1.2: "Servers MUST ignore unrecognized extensions."; §4.1.3: the ServerHello
    "MUST NOT contain any extensions that were not first offered by the client"."""
    extensions = [*tls13_extensions(), (0xBA9F, bytes(32))]
    probe = completes(client_hello(extensions=extensions))
    assert probe.server_hello is not None
    assert 0xBA9F not in {t for t, _ in hello_extensions(probe.server_hello)}


@pytest.mark.parametrize(
    "omitted",
    [(EXT_KEY_SHARE, EXT_SUPPORTED_GROUPS), (EXT_KEY_SHARE,), (EXT_SUPPORTED_GROUPS,)],
    ids=["omitKeyShareAndSupportedGroups", "omitKeyShare", "omitSupportedGroups"],
)
def test_client_hello_missing_extension(omitted: tuple[int, ...]) -> None:
    """TLS-Anvil ClientHello.omitKeyShareAndSupportedGroups / omitKeyShare /
    omitSupportedGroups. RFC 8446 §9.2: "If not containing a "pre_shared_key" extension, it
    MUST contain both a "signature_algorithms" extension and a "supported_groups" extension.
    If containing a "supported_groups" extension, it MUST also contain a "key_share"
    extension, and vice versa. ... Servers receiving a ClientHello which does not conform to
    these requirements MUST abort the handshake with a "missing_extension" alert."."""
    hello = client_hello(extensions=without(tls13_extensions(), *omitted))
    assert hello_fails(hello) is AlertDescription.MISSING_EXTENSION


@pytest.mark.parametrize(
    ("scsv", "alert"),
    [(True, AlertDescription.INAPPROPRIATE_FALLBACK), (False, AlertDescription.PROTOCOL_VERSION)],
    ids=["fallback_scsv", "no_scsv"],
)
def test_tls12_hello_to_a_tls13_only_server(scsv: bool, alert: AlertDescription) -> None:
    """A TLS 1.2 ClientHello to a server that speaks only TLS 1.3: protocol_version, or with
    TLS_FALLBACK_SCSV inappropriate_fallback. RFC 7507 §3: "If TLS_FALLBACK_SCSV appears in
    ClientHello.cipher_suites and the highest protocol version supported by the server is
    higher than the version indicated in ClientHello.client_version, the server MUST respond
    with a fatal inappropriate_fallback alert (unless it responds with a fatal protocol_version
    alert because the version indicated in ClientHello.client_version is unsupported)": of the
    two, inappropriate_fallback says more."""
    suites = (AES_128_GCM, ECDHE_RSA_AES_128_GCM, *((FALLBACK_SCSV,) if scsv else ()))
    extensions = without(tls13_extensions(), EXT_SUPPORTED_VERSIONS)
    hello = client_hello(suites, extensions)
    assert hello_fails(hello, min_version=ProtocolVersion.TLS13) is alert


def test_client_hello_accepts_compression_list_for_legacy_client() -> None:
    """TLS-Anvil ClientHello.acceptsCompressionListForLegacyClient: a TLS 1.2 ClientHello
    offering null and DEFLATE. RFC 8446 §4.1.2: "Note that TLS 1.3 servers might receive TLS
    1.2 or prior ClientHellos which contain other compression methods and (if negotiating such
    a prior version) MUST follow the procedures for the appropriate prior version of TLS."
    (RFC 5246 §7.4.1.2: the server picks one offered, null here)."""
    flight = tls12_flight(tls12_hello(compression=b"\x00\x01"))
    assert [m[0] for m in flight][:2] == [HandshakeType.SERVER_HELLO, HandshakeType.CERTIFICATE]
    server_hello = flight[0]
    assert server_hello[4:6] == b"\x03\x03" and sh_compression(server_hello) == 0


# == server/tls13/rfc8446/Certificate, CertificateVerify =========================================


def test_certificate_list_is_not_empty() -> None:
    """TLS-Anvil Certificate.certificateListIsNotEmpty. RFC 8446 §4.4.2.4: "The server's
    certificate_list MUST always be non-empty."."""
    probe = completes()
    body = first(probe, HandshakeType.CERTIFICATE)[4:]
    context_len = body[0]
    assert context_len == 0  # §4.4.2: empty request context in the handshake
    entries = body[1 + 3 :]
    assert int.from_bytes(body[1:4], "big") == len(entries) > 0
    der = entries[3 : 3 + int.from_bytes(entries[:3], "big")]
    assert der == rsa_certificate().der_chain[0]


def test_certificate_verify_signature_is_valid() -> None:
    """TLS-Anvil CertificateVerify.signatureIsValid: the server's signature checked with the
    certificate's key, over 64 spaces, "TLS 1.3, server CertificateVerify", 0 and the
    transcript hash through Certificate (RFC 8446 §4.4.3: "The digital signature is then
    computed over the concatenation of ..."; "RSA signatures MUST use an RSASSA-PSS
    algorithm")."""
    probe = completes()
    verify = first(probe, HandshakeType.CERTIFICATE_VERIFY)
    scheme = int.from_bytes(verify[4:6], "big")
    assert scheme == 0x0804  # rsa_pss_rsae_sha256, the first one offered that fits
    signature = verify[8 : 8 + int.from_bytes(verify[6:8], "big")]
    transcript = probe.transcript[: probe.transcript.index(verify)]
    content = b" " * 64 + b"TLS 1.3, server CertificateVerify\x00"
    content += hashlib.sha256(transcript).digest()
    der = rsa_certificate().der_chain[0]
    key = x509.load_der_x509_certificate(der).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(
        signature,
        content,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
        hashes.SHA256(),
    )


# == server/tls13/rfc8446/Cookie =================================================================


@pytest.mark.parametrize("cookies", [False, True], ids=["stateful", "cookie-server"])
def test_client_hello_with_unsolicited_cookie_extension(cookies: bool) -> None:
    """TLS-Anvil Cookie.clientHelloWithUnsolicitedCookieExtension (``@EnforcedSenderRestriction``:
    TLS-Anvil wants a fatal alert). The RFC rule is the client's (RFC 8446 §4.2.2: "Clients
    MUST NOT use cookies in their initial ClientHello in subsequent connections."); the server
    must not take a cookie it never issued as a retried hello: it answers the first
    ClientHello as usual, with a ServerHello (not a second HelloRetryRequest nor a failure)."""
    config: dict[str, object] = {"hello_retry_cookie": lambda b: b"\x07" * 32} if cookies else {}
    extensions = [*tls13_extensions(), (EXT_COOKIE, vector(2, b"\x02"))]
    probe = completes(client_hello(extensions=extensions), **config)
    assert probe.server_hello is not None and probe.server_hello[6:38] != HRR_RANDOM


# == server/tls13/rfc8446/CryptographicNegotiation ===============================================

NO_OVERLAP = {AlertDescription.HANDSHAKE_FAILURE, AlertDescription.INSUFFICIENT_SECURITY}


def test_no_overlapping_groups() -> None:
    """TLS-Anvil CryptographicNegotiation.noOverlappingParameters: supported_groups only GREASE
    0x0A0A and a key share for it. RFC 8446 §4.1.1: "If there is no overlap between the
    received "supported_groups" and the groups supported by the server, then the server MUST
    abort the handshake with a "handshake_failure" or an "insufficient_security" alert."."""
    extensions = replaced(tls13_extensions(), EXT_SUPPORTED_GROUPS, vector(2, u16s((0x0A0A,))))
    extensions = replaced(extensions, EXT_KEY_SHARE, vector(2, b"\x0a\x0a\x00\x02\x12\x34"))
    assert hello_fails(client_hello(extensions=extensions)) in NO_OVERLAP


def test_no_overlapping_cipher_suites() -> None:
    """TLS-Anvil CryptographicNegotiation.noOverlappingParametersCipherSuite: only a GREASE
    suite. RFC 8446 §4.1.1: "If the server is unable to negotiate a supported set of
    parameters (i.e., there is no overlap between the client and server parameters), it MUST
    abort the handshake with either a "handshake_failure" or "insufficient_security" fatal
    alert"."""
    assert hello_fails(client_hello((0x0A0A,))) in NO_OVERLAP


# == server/tls13/rfc8446/EarlyData (disabled in TLS-Anvil; we implement 0-RTT) ================


@dataclasses.dataclass
class ZeroRtt:
    client: ClientConfig
    server: ServerConfig


@pytest.fixture
def zero_rtt() -> ZeroRtt:
    """A server issuing tickets that allow early data, and a client holding one."""
    client = ClientConfig(
        verify_certificates=False, session_store=InMemoryClientSessionStore(), early_data=True
    )
    server = ServerConfig(
        certificates=(rsa_certificate(),),
        ticket_sealer=AeadTicketSealer(),
        max_early_data_size=4096,
    )
    pump(ClientConnection(client, "localhost"), ServerConnection(server))
    return ZeroRtt(client, server)


@pytest.mark.parametrize("where", ["ciphertext", "tag"])
def test_early_data_undecryptable_record_is_bad_record_mac(zero_rtt: ZeroRtt, where: str) -> None:
    """TLS-Anvil EarlyData.invalidCiphertext / invalidAuthTag (``@Disabled`` there): a bit of
    the 0-RTT record flipped. RFC 8446 §4.2.10: "if the server fails to decrypt a 0-RTT record
    following an accepted "early_data" extension, it MUST terminate the connection with a
    "bad_record_mac" alert as per Section 5.2."."""
    client = ClientConnection(zero_rtt.client, "localhost")
    client.send_early_data(GET)
    flight = records(client.data_to_send())
    assert flight[-1][0] == APPLICATION_DATA
    early = bytearray(flight[-1][1])
    early[0 if where == "ciphertext" else -1] ^= 0x01
    data = b"".join(record(t, f) for t, f in flight[:-1]) + record(APPLICATION_DATA, bytes(early))
    server = ServerConnection(zero_rtt.server)
    with pytest.raises(ProtocolError) as info:
        server.receive_data(data)
    assert info.value.alert is AlertDescription.BAD_RECORD_MAC


def test_early_data_with_another_cipher_suite_is_not_accepted(zero_rtt: ZeroRtt) -> None:
    """TLS-Anvil EarlyData.cipherSuiteDisparity (``@Disabled`` there): the resumption selects a
    different cipher suite (same hash) from the ticket's. RFC 8446 §4.2.10: "it MUST verify
    that the following values are the same as those associated with the selected PSK: ... The
    selected cipher suite ... If any of these checks fail, the server MUST NOT respond with the
    extension"."""
    other = dataclasses.replace(
        zero_rtt.server, cipher_suites=(TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_GCM_SHA256)
    )
    client = ClientConnection(zero_rtt.client, "localhost")
    client.send_early_data(GET)
    _, server_events = pump(client, ServerConnection(other))
    (done,) = [e for e in server_events if isinstance(e, HandshakeComplete)]
    assert done.resumed and done.cipher_suite == "TLS_CHACHA20_POLY1305_SHA256"
    assert not done.early_data_accepted
    assert not [e for e in server_events if isinstance(e, EarlyDataReceived)]


# == server/tls13/rfc8446/EncryptedExtensions ====================================================


def test_encrypted_extensions_contain_only_allowed_extensions() -> None:
    """TLS-Anvil EncryptedExtensions.includedInvalidExtensions, with a ClientHello offering
    many extensions (SNI, ALPN, record_size_limit, post_handshake_auth, padding, ...).
    RFC 8446 §4.2: "If an implementation receives an extension which it recognizes and which is
    not specified for the message in which it appears, it MUST abort the handshake"; the
    table lists which extensions go in EncryptedExtensions ("EE")."""
    extensions = [
        *tls13_extensions(),
        (EXT_SERVER_NAME, vector(2, b"\x00" + vector(2, b"localhost"))),
        (EXT_ALPN, vector(2, vector(1, b"h2") + vector(1, b"http/1.1"))),
        (EXT_RECORD_SIZE_LIMIT, (2**14 + 1).to_bytes(2, "big")),
        (EXT_POST_HANDSHAKE_AUTH, b""),
        (EXT_PSK_KEY_EXCHANGE_MODES, vector(1, b"\x01")),
        (EXT_PADDING, bytes(16)),
    ]
    probe = completes(client_hello(extensions=extensions), alpn_protocols=("http/1.1",))
    found = extensions_block(first(probe, HandshakeType.ENCRYPTED_EXTENSIONS)[4:])
    types = [t for t, _ in found]
    assert set(types) <= ALLOWED_IN_ENCRYPTED_EXTENSIONS
    assert len(types) == len(set(types))
    assert EXT_ALPN in types


# == server/tls13/rfc8446/HelloRetryRequest ======================================================


FORBIDDEN_IN_SERVER_HELLO = {EXT_PSK_KEY_EXCHANGE_MODES, EXT_POST_HANDSHAKE_AUTH, EXT_OID_FILTERS}


def test_hello_retry_request_valid() -> None:
    """TLS-Anvil HelloRetryRequest.helloRetryRequestValid and .sentHelloRetryRequest: an empty
    key_share gets a HelloRetryRequest. RFC 8446 §4.1.4: "the server MUST respond with a
    HelloRetryRequest" ... it "MUST contain the "supported_versions" extension"; "The server's
    extensions MUST contain "supported_versions""; §4.2.8: the HRR key_share holds only the
    selected group, which "MUST be in the "supported_groups" extension"; §4.1.3 / §4.2: no
    extension the client did not offer (except cookie) and none twice."""
    extensions = [*tls13_extensions((SECP256R1, X25519), shares=()), (EXT_POST_HANDSHAKE_AUTH, b"")]
    probe = Probe()
    probe.send_hello(client_hello((AES_128_GCM,), extensions))
    hrr = probe.server_hello
    assert hrr is not None and hrr[6:38] == HRR_RANDOM
    assert sh_suite(hrr) == AES_128_GCM
    found = [t for t, _ in hello_extensions(hrr)]
    assert len(found) == len(set(found))
    offered = {t for t, _ in extensions} | {EXT_COOKIE}
    assert set(found) <= offered and not set(found) & FORBIDDEN_IN_SERVER_HELLO
    assert hello_extension(hrr, EXT_SUPPORTED_VERSIONS) == b"\x03\x04"
    selected = hello_extension(hrr, EXT_KEY_SHARE)
    assert len(selected) == 2 and int.from_bytes(selected, "big") in (SECP256R1.id, X25519.id)


@pytest.mark.parametrize(
    "suites",
    [(AES_128_GCM,), (AES_256_GCM,), (CHACHA20,), (AES_128_GCM, AES_256_GCM, CHACHA20)],
    ids=["aes128", "aes256", "chacha20", "allAtOnce"],
)
def test_hello_retry_request_selects_same_cipher_suite(suites: tuple[int, ...]) -> None:
    """TLS-Anvil HelloRetryRequest.selectsSameCipherSuite / selectsSameCipherSuiteAllAtOnce
    and .retainsProtocolVersion; at most one compatibility CCS (checkForDuplicateCcs).
    RFC 8446 §4.1.4: "Upon receipt of a HelloRetryRequest, the client MUST check the
    legacy_version, legacy_session_id_echo, cipher_suite ... Clients MUST check that the
    cipher suite supplied in the ServerHello is the same as that in the HelloRetryRequest"
    and "The value of selected_version in the HelloRetryRequest "supported_versions"
    extension MUST be retained in the ServerHello"."""
    probe, extensions = hrr_probe(suites)
    hrr = probe.server_hello
    assert hrr is not None and sh_suite(hrr) in suites
    second_hello(probe, extensions, suites)
    server_hello = probe.server_hello
    assert server_hello is not None and server_hello[6:38] != HRR_RANDOM
    assert sh_suite(server_hello) == sh_suite(hrr)
    assert hello_extension(server_hello, EXT_SUPPORTED_VERSIONS) == hello_extension(
        hrr, EXT_SUPPORTED_VERSIONS
    )
    assert probe.server_finished
    probe.send_finished()
    assert probe.server.state is ConnectionState.APP_DATA
    assert [c for t, c in probe.received if t == CCS] == [b"\x01"]


# == server/tls13/rfc8446/KeyShare ===============================================================


def test_order_of_key_share_entries() -> None:
    """TLS-Anvil KeyShare.testOrderOfKeyshareEntries: key shares for secp256r1, secp384r1,
    secp521r1, x25519, x448 with supported_groups in the reverse order. RFC 8446 §4.2.8:
    "Servers MAY check for violations of these rules and abort the handshake with an
    "illegal_parameter" alert if one is violated."; if it goes on, "the server's share MUST be
    in the same group as one of the client's shares"."""
    groups = (SECP256R1, SECP384R1, SECP521R1, X25519, X448)
    extensions = tls13_extensions(tuple(reversed(groups)), shares=groups)
    probe = Probe()
    error: ProtocolError | None = None
    try:
        probe.handshake(client_hello(extensions=extensions))
    except ProtocolError as exc:
        error = exc
    if error is not None:
        assert error.alert is AlertDescription.ILLEGAL_PARAMETER
        return
    assert probe.server_hello is not None and probe.server_hello[6:38] != HRR_RANDOM
    selected = int.from_bytes(hello_extension(probe.server_hello, EXT_KEY_SHARE)[:2], "big")
    assert selected in {g.id for g in groups}


@pytest.mark.parametrize(
    "group", [SECP256R1, SECP384R1, SECP521R1, X25519, X448, FFDHE2048], ids=lambda g: g.name
)
def test_server_only_offers_one_key_share(group: Group) -> None:
    """TLS-Anvil KeyShare.serverOnlyOffersOneKeyshare: the chosen group first in
    supported_groups and the only share. RFC 8446 §4.2.8: "If using (EC)DHE key
    establishment, servers offer exactly one KeyShareEntry in the ServerHello. This value MUST
    be in the same group as the KeyShareEntry value offered by the client that the server has
    selected for the negotiated key exchange."."""
    others = tuple(g for g in (SECP256R1, X25519) if g is not group)
    extensions = tls13_extensions((group, *others), shares=(group,))
    probe = completes(client_hello(extensions=extensions))
    assert probe.server_hello is not None
    entry = hello_extension(probe.server_hello, EXT_KEY_SHARE)
    assert int.from_bytes(entry[:2], "big") == group.id
    assert 4 + int.from_bytes(entry[2:4], "big") == len(entry)  # exactly one entry


def test_server_only_offers_one_key_share_all_groups_at_once() -> None:
    """TLS-Anvil KeyShare.serverOnlyOffersOneKeyshareAllGroupsAtOnce. RFC 8446 §4.2.8: one
    KeyShareEntry, in a group the client sent a share for; "Servers MUST NOT send a
    KeyShareEntry for any group not indicated in the client's "supported_groups"
    extension"."""
    groups = (X25519, SECP256R1, X448, SECP384R1, SECP521R1)
    probe = completes(client_hello(extensions=tls13_extensions(groups)))
    assert probe.server_hello is not None
    entry = hello_extension(probe.server_hello, EXT_KEY_SHARE)
    assert int.from_bytes(entry[:2], "big") in {g.id for g in groups}
    assert 4 + int.from_bytes(entry[2:4], "big") == len(entry)


LEGACY_GROUPS = (0x0001, 0x0013, 0x0015, 0x0016, 0x001A, 0x001B, 0x001C)
"""sect163k1, secp192r1, secp224r1, secp256k1 and the brainpool curves of RFC 7027: groups
TLS-Anvil's ``getLegacyGroups`` offers (implemented by TLS-Attacker, not TLS 1.3 groups)."""


@pytest.mark.parametrize("group_ids", [*((g,) for g in LEGACY_GROUPS), LEGACY_GROUPS], ids=str)
def test_server_rejects_deprecated_groups(group_ids: tuple[int, ...]) -> None:
    """TLS-Anvil KeyShare.serverAcceptsDeprecatedGroups / ...AllAtOnce: only legacy groups, with
    (arbitrary) shares. RFC 8446 §4.2.7: "Values within "obsolete_RESERVED" ranges are used in
    previous versions of TLS and MUST NOT be offered or negotiated by TLS 1.3
    implementations."; with nothing else in common, §4.1.1: "handshake_failure" or
    "insufficient_security"."""
    shares = b"".join(g.to_bytes(2, "big") + vector(2, b"\x04" + bytes(64)) for g in group_ids)
    extensions = replaced(tls13_extensions(), EXT_SUPPORTED_GROUPS, vector(2, u16s(group_ids)))
    extensions = replaced(extensions, EXT_KEY_SHARE, vector(2, shares))
    assert hello_fails(client_hello(extensions=extensions)) in NO_OVERLAP


def test_include_unknown_group() -> None:
    """TLS-Anvil KeyShare.includeUnknownGroup: group 0x7B7C (56 zero bytes of share) first in
    supported_groups and key_share. RFC 8446 §9.3: "A server receiving a ClientHello MUST
    correctly ignore all unrecognized cipher suites, extensions, and other parameters."."""
    unknown = (0x7B7C).to_bytes(2, "big")
    extensions = tls13_extensions()
    extensions = replaced(
        extensions, EXT_SUPPORTED_GROUPS, vector(2, unknown + u16s((SECP256R1.id,)))
    )
    share = unknown + vector(2, bytes(56)) + key_share_entry(SECP256R1)
    extensions = replaced(extensions, EXT_KEY_SHARE, vector(2, share))
    probe = completes(client_hello(extensions=extensions))
    assert probe.server_hello is not None
    assert hello_extension(probe.server_hello, EXT_KEY_SHARE)[:2] == SECP256R1.id.to_bytes(2, "big")


def off_curve_point(group: Group) -> bytes:
    """An uncompressed point (x, y) that is not on the curve: a valid x with y + 1."""
    good = bytearray(group.generate().public_bytes)
    good[-1] ^= 0x01
    return bytes(good)


@pytest.mark.parametrize("group", [SECP256R1, SECP384R1, SECP521R1], ids=lambda g: g.name)
def test_rejects_points_not_on_curve(group: Group) -> None:
    """TLS-Anvil KeyShare.rejectsPointsNotOnCurve. RFC 8446 §4.2.8.2: "For the curves
    secp256r1, secp384r1, and secp521r1, peers MUST validate each other's public value Q by
    ensuring that the point is a valid point on the elliptic curve." (no alert named: a fatal
    one; TLS-Anvil also accepts a HelloRetryRequest, we do not ask for a retry)."""
    extensions = replaced(
        tls13_extensions((group,)),
        EXT_KEY_SHARE,
        vector(2, group.id.to_bytes(2, "big") + vector(2, off_curve_point(group))),
    )
    hello_fails(client_hello(extensions=extensions))


FFDHE2048_P = FFDHE2048.p  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["zero", "one", "p_plus_one"])
def test_ffdhe_share_out_of_bounds(kind: str) -> None:
    """TLS-Anvil KeyShare.ffdheShareOutOfBounds (ffdhe2048). RFC 8446 §4.2.8.1: "Peers MUST
    validate each other's public key Y by ensuring that 1 < Y < p-1." (no alert named: a
    fatal one)."""
    value = {"zero": 0, "one": 1, "p_plus_one": FFDHE2048_P + 1}[kind]
    size = (FFDHE2048_P.bit_length() + 7) // 8
    share = value.to_bytes(size + (1 if value.bit_length() > 8 * size else 0), "big")[-size:]
    extensions = replaced(
        tls13_extensions((FFDHE2048,)),
        EXT_KEY_SHARE,
        vector(2, FFDHE2048.id.to_bytes(2, "big") + vector(2, share)),
    )
    hello_fails(client_hello(extensions=extensions))


SMALL_ORDER = {X25519: bytes(32), X448: bytes(56)}


@pytest.mark.parametrize("group", [X25519, X448], ids=lambda g: g.name)
def test_aborts_when_shared_secret_is_zero(group: Group) -> None:
    """TLS-Anvil KeyShare.abortsWhenSharedSecretIsZero: a small-order point (the zero
    u-coordinate). RFC 8446 §7.4.2: "Implementations MUST check whether the computed
    Diffie-Hellman shared secret is the all-zero value and abort if so"."""
    extensions = replaced(
        tls13_extensions((group,)),
        EXT_KEY_SHARE,
        vector(2, group.id.to_bytes(2, "big") + vector(2, SMALL_ORDER[group])),
    )
    hello_fails(client_hello(extensions=extensions))


# == server/tls13/rfc8446/MiddleboxCompatibility =================================================


def test_respects_client_compatibility_wish() -> None:
    """TLS-Anvil MiddleboxCompatibility.respectsClientCompatibilityWish: a non-empty session
    ID. RFC 8446 §D.4: "if the client sends a non-empty session ID, the server MUST send the
    change_cipher_spec as described in this appendix"; "The server sends a dummy
    change_cipher_spec record immediately after its first handshake message"."""
    probe = Probe()
    probe.send_hello(client_hello(session_id=b"\xaa" * 32))
    assert probe.received[0][0] == HANDSHAKE and probe.received[0][1][0] == 2
    assert probe.received[1] == (CCS, b"\x01")
    assert [t for t, _ in probe.received].count(CCS) == 1


def test_respects_client_compatibility_wish_with_hello_retry_request() -> None:
    """TLS-Anvil MiddleboxCompatibility.respectsClientCompatibilityWishWithHrr. RFC 8446 §D.4:
    the dummy change_cipher_spec goes "immediately after its first handshake message, which may
    either be a ServerHello or a HelloRetryRequest"; only one (§D.4 / TLS-Anvil's
    checkForDuplicateCcs)."""
    probe, extensions = hrr_probe(session_id=b"\xbb" * 32)
    assert probe.received[0][0] == HANDSHAKE and probe.received[1] == (CCS, b"\x01")
    second_hello(probe, extensions, session_id=b"\xbb" * 32)
    assert probe.server_finished
    assert [t for t, _ in probe.received].count(CCS) == 1


# == server/tls13/rfc8446/NewSessionTicket =======================================================


def test_new_session_tickets_are_valid() -> None:
    """TLS-Anvil NewSessionTicket.newSessionTicketsAreValid. RFC 8446 §4.6.1: ticket_lifetime
    "Servers MUST NOT use any value greater than 604800 seconds (7 days)."; ticket_age_add
    "The server MUST generate a fresh value for each ticket it sends."."""
    probe = completes(psk_modes=(PskKeyExchangeMode.PSK_DHE_KE,), session_tickets=3)
    tickets = [m for m in probe.messages if m[0] == HandshakeType.NEW_SESSION_TICKET]
    assert len(tickets) == 3
    assert all(int.from_bytes(t[4:8], "big") <= 604800 for t in tickets)
    assert len({t[8:12] for t in tickets}) == len(tickets)


def test_ticket_lifetime_above_seven_days_is_refused() -> None:
    """The configuration side of NewSessionTicket.newSessionTicketsAreValid: RFC 8446 §4.6.1
    "Servers MUST NOT use any value greater than 604800 seconds (7 days)." A larger
    configured lifetime is refused rather than sent."""
    with pytest.raises(ConfigurationError):
        ServerConfig(certificates=(rsa_certificate(),), ticket_lifetime=604801)


# == server/tls13/rfc8446/PreSharedKey ===========================================================

PSK = ExternalPsk(identity=b"anvil", key=b"\x5a" * 32)


def psk_extension(identities: list[bytes], hash_len: int = 32) -> tuple[int, bytes]:
    body = vector(2, b"".join(vector(2, i) + bytes(4) for i in identities))
    return EXT_PRE_SHARED_KEY, body + vector(
        2, b"".join(vector(1, bytes(hash_len)) for _ in identities)
    )


def bind(hello: bytes, keys: list[bytes], hash_name: str = "sha256") -> bytes:
    """Fill in the binders (the last bytes of the ClientHello, RFC 8446 §4.2.11.2)."""
    size = hashlib.new(hash_name).digest_size
    truncated = hello[: -(2 + len(keys) * (1 + size))]
    digest = hashlib.new(hash_name, truncated).digest()
    binders = b"".join(vector(1, finished_verify_data(hash_name, k, digest)) for k in keys)
    return truncated + vector(2, binders)


BINDER_KEY = EarlySecret.from_psk("sha256", PSK.key).binder_key(external=True)


def psk_hello(
    *,
    modes: bytes = bytes([PskKeyExchangeMode.PSK_DHE_KE]),
    key_share: bool = True,
    identities: tuple[bytes, ...] = (PSK.identity,),
    suites: tuple[int, ...] = (AES_128_GCM,),
    before_psk: Extensions = (),  # type: ignore[assignment]
) -> bytes:
    extensions = tls13_extensions()
    if not key_share:
        extensions = without(extensions, EXT_KEY_SHARE, EXT_SUPPORTED_GROUPS)
    extensions = [*extensions, (EXT_PSK_KEY_EXCHANGE_MODES, vector(1, modes)), *before_psk]
    hello = client_hello(suites, [*extensions, psk_extension(list(identities))])
    keys = [BINDER_KEY if i == PSK.identity else b"\x00" * 32 for i in identities]
    return bind(hello, keys)


def psk_server(**config: object) -> dict[str, object]:
    return {"external_psks": (PSK,), **config}


def test_second_client_hello_offering_a_new_psk_is_illegal_parameter() -> None:
    """RFC 8446 §4.1.2: after a HelloRetryRequest the client sends "the same ClientHello",
    its pre_shared_key less the PSKs that do not fit the chosen suite. The first hello offered
    an identity we do not know (a full handshake, asked to retry for a key share); a second
    hello that adds our PSK to it is illegal_parameter, whatever its binders."""
    modes = (EXT_PSK_KEY_EXCHANGE_MODES, vector(1, bytes([PskKeyExchangeMode.PSK_DHE_KE])))
    extensions = [*tls13_extensions((SECP256R1, X25519), shares=()), modes]
    probe = Probe(**psk_server())
    probe.send_hello(client_hello((AES_128_GCM,), [*extensions, psk_extension([b"unknown"])]))
    hrr = probe.server_hello
    assert hrr is not None and hrr[6:38] == HRR_RANDOM
    again = [*extensions, psk_extension([b"unknown", PSK.identity])]
    with pytest.raises(ProtocolError, match="offers PSKs the first did not") as info:
        second_hello(probe, again)
    assert info.value.alert is AlertDescription.ILLEGAL_PARAMETER
    assert probe.alerts[-1] == (2, AlertDescription.ILLEGAL_PARAMETER)
    # the control: the same second hello with only the first's identity completes
    probe = Probe(**psk_server())
    probe.send_hello(client_hello((AES_128_GCM,), [*extensions, psk_extension([b"unknown"])]))
    second_hello(probe, [*extensions, psk_extension([b"unknown"])])
    assert probe.server_finished


def test_pre_shared_key_is_not_last_extension() -> None:
    """TLS-Anvil PreSharedKey.isNotLastExtension. RFC 8446 §4.2.11: "The "pre_shared_key"
    extension MUST be the last extension in the ClientHello ... Servers MUST check that it is
    the last extension and otherwise fail the handshake with an "illegal_parameter"
    alert."."""
    # pre_shared_key before psk_key_exchange_modes
    extensions = tls13_extensions()
    pre = psk_extension([PSK.identity])
    modes = (EXT_PSK_KEY_EXCHANGE_MODES, vector(1, bytes([PskKeyExchangeMode.PSK_DHE_KE])))
    hello = client_hello((AES_128_GCM,), [*extensions, pre, modes])
    assert hello_fails(hello, **psk_server()) is AlertDescription.ILLEGAL_PARAMETER


def test_pre_shared_key_last_but_duplicated() -> None:
    """TLS-Anvil PreSharedKey.isLastButDuplicatedExtension: a pre_shared_key in the middle and
    another one last. RFC 8446 §4.2: "There MUST NOT be more than one extension of the same
    type in a given extension block."; §4.2.11: the one that is not last gives
    "illegal_parameter"."""
    hello = psk_hello(before_psk=[psk_extension([PSK.identity])])
    assert hello_fails(hello, **psk_server()) is AlertDescription.ILLEGAL_PARAMETER


def test_respects_key_exchange_choice_psk_only() -> None:
    """TLS-Anvil PreSharedKey.respectsKeyExchangeChoicePskOnly: psk_ke only, no key_share.
    RFC 8446 §4.2.9: "Servers MUST NOT select a key exchange mode that is not listed by the
    client."; psk_ke: "the server MUST NOT supply any "key_share" values"."""
    modes = (PskKeyExchangeMode.PSK_DHE_KE, PskKeyExchangeMode.PSK_KE)
    hello = psk_hello(modes=bytes([PskKeyExchangeMode.PSK_KE]), key_share=False)
    probe = completes(hello, **psk_server(psk_modes=modes))
    assert probe.server_hello is not None
    found = {t for t, _ in hello_extensions(probe.server_hello)}
    assert EXT_PRE_SHARED_KEY in found and EXT_KEY_SHARE not in found


def test_respects_key_exchange_choice_psk_dhe() -> None:
    """TLS-Anvil PreSharedKey.respectsKeyExchangeChoicePskDhe: psk_dhe_ke only. RFC 8446
    §4.2.9: psk_dhe_ke: "the client and server MUST supply "key_share" values as described in
    Section 4.2.8"."""
    modes = (PskKeyExchangeMode.PSK_DHE_KE, PskKeyExchangeMode.PSK_KE)
    probe = completes(psk_hello(), **psk_server(psk_modes=modes))
    assert probe.server_hello is not None
    found = {t for t, _ in hello_extensions(probe.server_hello)}
    assert {EXT_PRE_SHARED_KEY, EXT_KEY_SHARE} <= found


@pytest.mark.parametrize("position", [0, 15, 31])
def test_invalid_binder_is_decrypt_error(position: int) -> None:
    """TLS-Anvil PreSharedKey.invalidBinder: one bit of the binder flipped. RFC 8446 §4.2.11:
    "If this value is not present or does not validate, the server MUST abort the handshake.";
    §6.2 decrypt_error: "... validate a Finished message or a PSK binder"."""
    hello = bytearray(psk_hello())
    hello[len(hello) - 32 + position] ^= 0x04
    assert hello_fails(bytes(hello), **psk_server()) is AlertDescription.DECRYPT_ERROR


def test_no_binder_is_decode_error() -> None:
    """TLS-Anvil PreSharedKey.noBinder: an empty binder list. RFC 8446 §4.2.11: "PskBinderEntry
    binders<33..2^16-1>" and "If this value is not present ... the server MUST abort the
    handshake."; §6: a message "containing an out-of-range length MUST terminate the connection
    with a "decode_error" alert"."""
    hello = psk_hello()
    hello = hello[: -(2 + 33)] + b"\x00\x00"
    hello = hello[:1] + (len(hello) - 4).to_bytes(3, "big") + hello[4:]
    ext_start = 4 + 2 + 32 + 1 + 32 + 2 + 2 + 2
    body_len = len(hello) - ext_start - 2
    hello = hello[:ext_start] + body_len.to_bytes(2, "big") + hello[ext_start + 2 :]
    # fix the pre_shared_key extension's own length (last extension)
    pos = ext_start + 2
    while pos < len(hello):
        size = int.from_bytes(hello[pos + 2 : pos + 4], "big")
        if int.from_bytes(hello[pos : pos + 2], "big") == EXT_PRE_SHARED_KEY:
            new = len(hello) - pos - 4
            hello = hello[: pos + 2] + new.to_bytes(2, "big") + hello[pos + 4 :]
            break
        pos += 4 + size
    assert hello_fails(hello, **psk_server()) is AlertDescription.DECODE_ERROR


def test_selected_psk_index_is_within_offered_list() -> None:
    """TLS-Anvil PreSharedKey.selectedPSKIndexIsWithinOfferedListSize: an unknown identity,
    then ours. RFC 8446 §4.2.11: "selected_identity: The server's chosen identity expressed as
    a (0-based) index into the identities in the client's "OfferedPsks.identities" list."."""
    hello = psk_hello(identities=(b"unknown", PSK.identity))
    probe = completes(hello, **psk_server())
    assert probe.server_hello is not None
    assert hello_extension(probe.server_hello, EXT_PRE_SHARED_KEY) == b"\x00\x01"


def test_psk_with_another_hkdf_hash_is_not_selected() -> None:
    """TLS-Anvil PreSharedKey.resumeWithCipherWithDifferentHkdfHash: a SHA-256 PSK offered with
    only TLS_AES_256_GCM_SHA384. RFC 8446 §4.2.11: "the server MUST ensure that it selects a
    compatible PSK (if any) and cipher suite." (the PSK's hash must match the suite's): the
    server falls back to a full handshake."""
    hello = client_hello(
        (AES_256_GCM,),
        [
            *tls13_extensions(),
            (EXT_PSK_KEY_EXCHANGE_MODES, vector(1, bytes([PskKeyExchangeMode.PSK_DHE_KE]))),
            psk_extension([PSK.identity], 48),
        ],
    )
    hello = bind(
        hello, [EarlySecret.from_psk("sha384", PSK.key).binder_key(external=True)], "sha384"
    )
    probe = Probe(**psk_server())
    probe.send_hello(hello)
    assert probe.server_hello is not None and probe.server_finished
    assert EXT_PRE_SHARED_KEY not in {t for t, _ in hello_extensions(probe.server_hello)}
    assert HandshakeType.CERTIFICATE in server_types(probe)


def test_psk_without_psk_key_exchange_modes_is_missing_extension() -> None:
    """TLS-Anvil PreSharedKey.sendPskExtensionWithoutPskKeyExchangeModes. RFC 8446 §4.2.9: "If
    clients offer "pre_shared_key" without a "psk_key_exchange_modes" extension, servers MUST
    abort the handshake."; §9.2: "If containing a "pre_shared_key" extension, it MUST also
    contain a "psk_key_exchange_modes" extension. ... MUST abort the handshake with a
    "missing_extension" alert."."""
    hello = client_hello((AES_128_GCM,), [*tls13_extensions(), psk_extension([PSK.identity])])
    hello = bind(hello, [BINDER_KEY])
    assert hello_fails(hello, **psk_server()) is AlertDescription.MISSING_EXTENSION


# == server/tls13/rfc8446/RecordLayer ============================================================


def test_zero_length_client_hello_record() -> None:
    """TLS-Anvil RecordLayer.zeroLengthRecord_CH (``@EnforcedSenderRestriction``): a
    zero-length handshake record before the ClientHello. RFC 8446 §5.1: "Implementations MUST
    NOT send zero-length fragments of Handshake types, even if those fragments contain
    padding." (a sender rule; we refuse such a record with unexpected_message, §5)."""
    probe = Probe()
    assert fails(probe, record(HANDSHAKE, b"", 0x0301)) is AlertDescription.UNEXPECTED_MESSAGE


def test_zero_length_finished_record() -> None:
    """TLS-Anvil RecordLayer.zeroLengthRecord_Finished (and RecordProtocol
    .sendEmptyFinishedRecord): an empty protected
    handshake record where the Finished goes. RFC 8446 §5.4: "Implementations MUST NOT send
    Handshake and Alert records that have a zero-length TLSInnerPlaintext.content; if such a
    message is received, the receiving implementation MUST terminate the connection with an
    "unexpected_message" alert."."""
    probe = Probe()
    probe.send_hello()
    probe.use_handshake_keys()
    probe.expect_alert(probe.sealed(HANDSHAKE, b""), AlertDescription.UNEXPECTED_MESSAGE)


def test_empty_application_data_record_instead_of_finished() -> None:
    """TLS-Anvil ClientServerStateMachine.sendEmptyRecordFinished: an empty application_data
    record under the handshake keys where the Finished goes. RFC 8446 §2: "Application Data
    MUST NOT be sent prior to sending the Finished message, except as specified in
    Section 2.3"; §4: a message out of order is "unexpected_message"."""
    probe = Probe()
    probe.send_hello()
    probe.use_handshake_keys()
    probe.expect_alert(probe.sealed(APPLICATION_DATA, b""), AlertDescription.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize(
    "description",
    [AlertDescription.UNEXPECTED_MESSAGE, AlertDescription.HANDSHAKE_FAILURE, 200],
    ids=["unexpected_message", "handshake_failure", "unknown-200"],
)
def test_interleaved_error_alert_ends_the_handshake(description: int) -> None:
    """TLS-Anvil RecordLayer.interleaveRecords: the Finished split, the first 10 bytes, then a
    warning-level alert record. RFC 8446 §5.1: "Handshake messages MUST NOT be interleaved
    with other record types."; §6: error alerts end the connection ("MUST be treated as error
    alerts when received regardless of the AlertLevel"): the handshake never completes."""
    probe = Probe()
    probe.send_hello()
    probe.use_handshake_keys()
    finished = probe.finished()
    probe.send(probe.sealed(HANDSHAKE, finished[:10]))
    with pytest.raises(AlertReceived):
        probe.send(probe.sealed(ALERT, bytes([1, description])))
    assert probe.server.state is ConnectionState.FAILED


@pytest.mark.parametrize(
    "description", [AlertDescription.CLOSE_NOTIFY, AlertDescription.USER_CANCELED]
)
def test_interleaved_closure_alert_is_unexpected_message(description: AlertDescription) -> None:
    """TLS-Anvil RecordLayer.interleaveRecords with close_notify or user_canceled (warning)
    between the two Finished fragments. RFC 8446 §5.1: "Handshake messages MUST NOT be
    interleaved with other record types. That is, if a handshake message is split over two or
    more records, there MUST NOT be any other records between them."; §5: "If a TLS
    implementation receives an unexpected record type, it MUST terminate the connection with an
    "unexpected_message" alert." (as we do for interleaved application data)."""
    probe = Probe()
    probe.send_hello()
    probe.use_handshake_keys()
    finished = probe.finished()
    probe.send(probe.sealed(HANDSHAKE, finished[:10]))
    alert = probe.sealed(ALERT, bytes([1, description]))
    probe.expect_alert(alert, AlertDescription.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize("version", [0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0x0305])
def test_ignores_initial_record_version(version: int) -> None:
    """TLS-Anvil RecordLayer.ignoresInitialRecordVersion. RFC 8446 §5.1: legacy_record_version
    "MUST be ignored for all purposes"."""
    probe = Probe()
    hello = client_hello()
    probe.transcript += hello
    probe.send(record(HANDSHAKE, hello, version))
    assert probe.server_finished
    probe.send_finished()
    assert probe.server.state is ConnectionState.APP_DATA


def test_check_record_protocol_version() -> None:
    """TLS-Anvil RecordLayer.checkRecordProtocolVersion and RecordProtocol
    .checkMinimumRecordProtocolVersions: every record of a handshake and conversation.
    RFC 8446 §5.1: "legacy_record_version: MUST be set to 0x0303 for all records generated by a
    TLS 1.3 implementation other than an initial ClientHello"; §D.5: "Implementations MUST NOT
    send any records with a version less than 0x0300."."""
    probe = WireProbe()
    probe.handshake()
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))
    assert len(probe.headers) > 5
    assert {h[1:3] for h in probe.headers} == {b"\x03\x03"}


# == both/tls13/rfc8446/D5_SecurityRestrictions ==================================================


def test_invalid_record_version_below_ssl30() -> None:
    """TLS-Anvil D5_SecurityRestrictions.invalidRecordVersion_ssl30: the ClientHello record with
    version 0x0203. RFC 8446 §D.5: "Implementations SHOULD NOT accept any records with a version
    less than 0x0300" (we refuse it: decode_error)."""
    probe = Probe()
    assert fails(probe, record(HANDSHAKE, client_hello(), 0x0203)) is AlertDescription.DECODE_ERROR


# == server/tls13/rfc8446/ServerHello ============================================================


def test_server_hello_legacy_version() -> None:
    """TLS-Anvil ServerHello.testLegacyVersion. RFC 8446 §4.1.3: "In TLS 1.3, ... the
    legacy_version field ... MUST be set to 0x0303"."""
    probe = completes()
    assert probe.server_hello is not None and probe.server_hello[4:6] == b"\x03\x03"


def test_server_random_for_tls12() -> None:
    """TLS-Anvil ServerHello.testServerRandomFor12: a TLS 1.2 ClientHello to our TLS 1.3
    server. RFC 8446 §4.1.3: "If negotiating TLS 1.2, TLS 1.3 servers MUST set the last 8 bytes
    of their Random value to the bytes: 44 4F 57 4E 47 52 44 01"."""
    server_hello = tls12_flight(tls12_hello())[0]
    assert server_hello[4:6] == b"\x03\x03"
    assert server_hello[6:38][-8:] == DOWNGRADE_TLS12


@pytest.mark.parametrize(
    "session_id", [b"\xff" + bytes(15) + b"\xff" + bytes(15), b"\xff" + bytes(7)], ids=["32", "8"]
)
def test_session_id_echoed(session_id: bytes) -> None:
    """TLS-Anvil ServerHello.testSessionIdEchoed / testShortSessionIdEchoed. RFC 8446 §4.1.3:
    "legacy_session_id_echo: The contents of the client's legacy_session_id field." (read off
    the wire: the probe itself expects 32-byte session IDs)."""
    server = ServerConnection(ServerConfig(certificates=(rsa_certificate(),)))
    server.receive_data(record(HANDSHAKE, client_hello(session_id=session_id), 0x0301))
    kind, fragment = records(server.data_to_send())[0]
    assert kind == HANDSHAKE and fragment[0] == HandshakeType.SERVER_HELLO
    assert sh_session_id(messages(fragment)[0]) == session_id


def test_server_hello_compression_value() -> None:
    """TLS-Anvil ServerHello.testCompressionValue. RFC 8446 §4.1.3:
    "legacy_compression_method: A single byte which MUST have the value 0."."""
    probe = completes()
    assert probe.server_hello is not None and sh_compression(probe.server_hello) == 0


def test_server_hello_provided_extensions() -> None:
    """TLS-Anvil ServerHello.testProvidedExtensions, with a ClientHello that also offers
    psk_key_exchange_modes, post_handshake_auth, ALPN and padding. RFC 8446 §4.1.3: the
    ServerHello "MUST NOT contain any extensions that were not first offered by the client";
    §4.2: "There MUST NOT be more than one extension of the same type"; §4.2.9: "The server
    MUST NOT send a "psk_key_exchange_modes" extension."; §4.2.6: "Servers MUST NOT send this
    extension." (post_handshake_auth); oid_filters only in CertificateRequest."""
    extensions = [
        *tls13_extensions(),
        (EXT_PSK_KEY_EXCHANGE_MODES, vector(1, b"\x01")),
        (EXT_POST_HANDSHAKE_AUTH, b""),
        (EXT_ALPN, vector(2, vector(1, b"h2"))),
        (EXT_PADDING, bytes(8)),
    ]
    probe = completes(client_hello(extensions=extensions))
    assert probe.server_hello is not None
    found = [t for t, _ in hello_extensions(probe.server_hello)]
    assert len(found) == len(set(found))
    assert set(found) <= {t for t, _ in extensions}
    assert not set(found) & (FORBIDDEN_IN_SERVER_HELLO | {EXT_TRUNCATED_HMAC})
    assert set(found) == {EXT_SUPPORTED_VERSIONS, EXT_KEY_SHARE}


# == server/tls13/rfc8446/SignatureAlgorithms ====================================================


def test_omit_signature_algorithms_extension() -> None:
    """TLS-Anvil SignatureAlgorithms.omitSignatureAlgorithmsExtension. RFC 8446 §4.2.3: "If a
    server is authenticating via a certificate and the client has not sent a
    "signature_algorithms" extension, then the server MUST abort the handshake with a
    "missing_extension" alert (see Section 9.2)."."""
    extensions = without(
        tls13_extensions(), EXT_SIGNATURE_ALGORITHMS, EXT_SIGNATURE_ALGORITHMS_CERT
    )
    assert hello_fails(client_hello(extensions=extensions)) is AlertDescription.MISSING_EXTENSION


@pytest.mark.parametrize("legacy", LEGACY_SCHEMES, ids=hex)
def test_offer_legacy_signature_algorithms(legacy: int) -> None:
    """TLS-Anvil SignatureAlgorithms.offerLegacySignatureAlgorithms: a legacy scheme first,
    then the TLS 1.3 ones. RFC 8446 §4.2.3: the legacy ones "are not defined for use in signed
    TLS handshake messages"; §4.4.3: "RSA signatures MUST use an RSASSA-PSS algorithm"."""
    probe = completes(client_hello(extensions=tls13_extensions(schemes=(legacy, *TLS13_SCHEMES))))
    scheme = int.from_bytes(first(probe, HandshakeType.CERTIFICATE_VERIFY)[4:6], "big")
    assert scheme in (0x0804, 0x0805, 0x0806)


@pytest.mark.parametrize(
    "legacy", [0x0401, 0x0501, 0x0601, 0x0201, (0x0401, 0x0501, 0x0601)], ids=str
)
def test_offer_only_legacy_signature_algorithms(legacy: int | tuple[int, ...]) -> None:
    """TLS-Anvil SignatureAlgorithms.offerOnlyLegacySignatureAlgorithms. RFC 8446 §4.4.3: "RSA
    signatures MUST use an RSASSA-PSS algorithm, regardless of whether RSASSA-PKCS1-v1_5
    algorithms appear in "signature_algorithms"."; no common scheme, §4.1.1:
    "handshake_failure" or "insufficient_security"."""
    schemes = legacy if isinstance(legacy, tuple) else (legacy,)
    hello = client_hello(extensions=tls13_extensions(schemes=schemes))
    assert hello_fails(hello) in NO_OVERLAP


def test_include_unknown_signature_algorithm() -> None:
    """TLS-Anvil SignatureAlgorithms.includeUnknownSignatureAndHashAlgorithm: 0xfe44 first.
    RFC 8446 §9.3: "A server receiving a ClientHello MUST correctly ignore all unrecognized
    cipher suites, extensions, and other parameters."."""
    probe = completes(client_hello(extensions=tls13_extensions(schemes=(0xFE44, 0x0804))))
    assert int.from_bytes(first(probe, HandshakeType.CERTIFICATE_VERIFY)[4:6], "big") == 0x0804


# == server/tls13/rfc8446/SupportedVersions ======================================================


def test_version_preference() -> None:
    """TLS-Anvil SupportedVersions.testVersionPreferrence: supported_versions lists TLS 1.2
    before TLS 1.3, TLS 1.2 and 1.3 suites. RFC 8446 §4.2.1: "Servers MUST only select a
    version of TLS present in that extension"; TLS-Anvil expects TLS 1.3 (our server
    prefers the highest common version; the RFC lets the server choose)."""
    extensions = replaced(
        tls13_extensions(), EXT_SUPPORTED_VERSIONS, vector(1, u16s((TLS12, TLS13)))
    )
    hello = client_hello((ECDHE_RSA_AES_128_GCM, AES_128_GCM), extensions)
    probe = completes(hello)
    assert probe.server_hello is not None
    assert hello_extension(probe.server_hello, EXT_SUPPORTED_VERSIONS) == b"\x03\x04"


def test_omit_supported_versions_extension() -> None:
    """TLS-Anvil SupportedVersions.omitSupportedVersionsExtension. RFC 8446 §4.2.1: "If this
    extension is not present, servers which are compliant with this specification and which
    also support TLS 1.2 MUST negotiate TLS 1.2 or prior as specified in [RFC5246]"."""
    flight = tls12_flight(tls12_hello())
    assert [m[0] for m in flight] == [
        HandshakeType.SERVER_HELLO,
        HandshakeType.CERTIFICATE,
        HandshakeType.SERVER_KEY_EXCHANGE,
        HandshakeType.SERVER_HELLO_DONE,
    ]
    assert flight[0][4:6] == b"\x03\x03" and sh_suite(flight[0]) == ECDHE_RSA_AES_128_GCM


@pytest.mark.parametrize("legacy_version", [0x0200, 0x0300, 0x0301, 0x0302], ids=hex)
def test_supported_versions_absent_only_unsupported_legacy_version(legacy_version: int) -> None:
    """TLS-Anvil SupportedVersions.supportedVersionsAbsentOnlyUnsupportedLegacyVersion.
    RFC 8446 §D.2: "If the "supported_versions" extension is absent and the server only
    supports versions greater than ClientHello.legacy_version, the server MUST abort the
    handshake with a "protocol_version" alert."."""
    probe = Probe()
    hello = tls12_hello(legacy_version=legacy_version)
    assert fails(probe, record(HANDSHAKE, hello, 0x0301)) is AlertDescription.PROTOCOL_VERSION


def test_old_legacy_version_with_supported_versions() -> None:
    """TLS-Anvil SupportedVersions.oldLegacyVersion: legacy_version 0x0303, TLS 1.2 suites and
    one TLS 1.3 suite, supported_versions with TLS 1.3. RFC 8446 §4.2.1: "servers MUST NOT use
    the ClientHello.legacy_version value for version negotiation and MUST use only the
    "supported_versions" extension"."""
    probe = completes(client_hello((ECDHE_RSA_AES_128_GCM, 0xC030, CHACHA20)))
    assert probe.server_hello is not None
    assert hello_extension(probe.server_hello, EXT_SUPPORTED_VERSIONS) == b"\x03\x04"
    assert sh_suite(probe.server_hello) == CHACHA20


def test_unknown_version_in_supported_versions() -> None:
    """TLS-Anvil SupportedVersions.unknownVersion: supported_versions 0x0505, 0x0304.
    RFC 8446 §4.2.1: servers "MUST ignore any unknown versions that are present in that
    extension"."""
    extensions = replaced(
        tls13_extensions(), EXT_SUPPORTED_VERSIONS, vector(1, u16s((0x0505, TLS13)))
    )
    probe = completes(client_hello(extensions=extensions))
    assert probe.server_hello is not None
    assert hello_extension(probe.server_hello, EXT_SUPPORTED_VERSIONS) == b"\x03\x04"


def test_supported_versions_without_tls13() -> None:
    """TLS-Anvil SupportedVersions.supportedVersionsWithoutTls13. RFC 8446 §4.2.1: "Servers MUST
    be prepared to receive ClientHellos that include this extension but do not include 0x0304
    in the list of versions. A server which negotiates a version of TLS prior to TLS 1.3 MUST
    set ServerHello.version and MUST NOT send the "supported_versions" extension."."""
    server_hello = tls12_flight(tls12_hello(versions=(TLS12,)))[0]
    assert server_hello[0] == HandshakeType.SERVER_HELLO and server_hello[4:6] == b"\x03\x03"
    assert EXT_SUPPORTED_VERSIONS not in {t for t, _ in hello_extensions(server_hello)}


def test_tls13_handshake() -> None:
    """TLS-Anvil SupportedVersions.tls13Handshake. RFC 8446 §4.2.1: "A server which negotiates
    TLS 1.3 MUST respond by sending a "supported_versions" extension containing the selected
    version value (0x0304). It MUST set the ServerHello.legacy_version field to 0x0303"."""
    probe = completes()
    assert probe.server_hello is not None and probe.server_hello[4:6] == b"\x03\x03"
    assert hello_extension(probe.server_hello, EXT_SUPPORTED_VERSIONS) == b"\x03\x04"


def test_legacy_version_0304_with_only_tls12_in_supported_versions() -> None:
    """TLS-Anvil SupportedVersions.setLegacyVersionTo0304: legacy_version 0x0304,
    supported_versions only TLS 1.2, only TLS 1.3 suites. RFC 8446 §4.2.1: the server "MUST use
    only the "supported_versions" extension": TLS 1.2, for which no suite is offered, so §4.1.1
    / RFC 5246 §7.4.1.3: handshake_failure."""
    extensions = replaced(tls13_extensions(), EXT_SUPPORTED_VERSIONS, vector(1, u16s((TLS12,))))
    hello = client_hello((AES_128_GCM,), extensions, legacy_version=0x0304)
    assert hello_fails(hello) in NO_OVERLAP


def test_legacy_version_0304_without_supported_versions() -> None:
    """TLS-Anvil SupportedVersions.setLegacyVersionTo0304WithoutSVExt: only TLS 1.3 suites.
    RFC 8446 §4.2.1: "If this extension is not present, servers which are compliant with this
    specification and which also support TLS 1.2 MUST negotiate TLS 1.2 or prior ..., even if
    ClientHello.legacy_version is 0x0304 or later." No TLS 1.2 suite offered: the handshake
    fails: §4.1.1 "handshake_failure" or "insufficient_security"."""
    hello = client_hello(
        (AES_128_GCM,), without(tls13_extensions(), EXT_SUPPORTED_VERSIONS), legacy_version=0x0304
    )
    assert hello_fails(hello) in NO_OVERLAP


# == server/tls13/rfc8701/ClientInitiatedExtensionPoints =========================================


@pytest.mark.parametrize("grease", GREASE, ids=hex)
def test_advertise_grease_cipher_suites(grease: int) -> None:
    """TLS-Anvil ClientInitiatedExtensionPoints.advertiseGreaseCiphersuites. RFC 8701 §3.2:
    "Servers MUST NOT negotiate any GREASE value when offered in a ClientHello. Servers MUST
    correctly ignore unknown values in a ClientHello and attempt to negotiate with one of the
    remaining parameters."."""
    probe = completes(client_hello((grease, AES_128_GCM)))
    assert probe.server_hello is not None and sh_suite(probe.server_hello) == AES_128_GCM


@pytest.mark.parametrize("grease", GREASE, ids=hex)
def test_advertise_grease_extensions(grease: int) -> None:
    """TLS-Anvil ClientInitiatedExtensionPoints.advertiseGreaseExtensions: a GREASE extension
    of 25 bytes. RFC 8701 §3.2 (MUST NOT negotiate GREASE, MUST ignore unknown values)."""
    probe = completes(client_hello(extensions=[(grease, bytes(25)), *tls13_extensions()]))
    assert probe.server_hello is not None
    assert grease not in {t for t, _ in hello_extensions(probe.server_hello)}
    found = extensions_block(first(probe, HandshakeType.ENCRYPTED_EXTENSIONS)[4:])
    assert grease not in {t for t, _ in found}


@pytest.mark.parametrize("grease", GREASE, ids=hex)
def test_advertise_grease_named_group(grease: int) -> None:
    """TLS-Anvil ClientInitiatedExtensionPoints.advertiseGreaseNamedGroup: GREASE first in
    supported_groups and a 32-byte share for it first in key_share. RFC 8701 §3.2."""
    extensions = tls13_extensions()
    groups = grease.to_bytes(2, "big") + u16s((SECP256R1.id,))
    extensions = replaced(extensions, EXT_SUPPORTED_GROUPS, vector(2, groups))
    share = grease.to_bytes(2, "big") + vector(2, bytes(32)) + key_share_entry(SECP256R1)
    extensions = replaced(extensions, EXT_KEY_SHARE, vector(2, share))
    probe = completes(client_hello(extensions=extensions))
    assert probe.server_hello is not None
    assert hello_extension(probe.server_hello, EXT_KEY_SHARE)[:2] == SECP256R1.id.to_bytes(2, "big")


@pytest.mark.parametrize("grease", GREASE, ids=hex)
def test_advertise_grease_signature_algorithms(grease: int) -> None:
    """TLS-Anvil ClientInitiatedExtensionPoints.advertiseGreaseSignatureAlgorithms: GREASE
    first in signature_algorithms. RFC 8701 §3.2."""
    probe = completes(client_hello(extensions=tls13_extensions(schemes=(grease, 0x0804))))
    assert int.from_bytes(first(probe, HandshakeType.CERTIFICATE_VERIFY)[4:6], "big") == 0x0804


GREASE_ALPN = [bytes([g >> 8, g & 0xFF]) for g in (0x0A0A, 0x1A1A, 0x2A2A, 0xFAFA)]


@pytest.mark.parametrize("configured", [False, True], ids=["server-without-alpn", "server-h2"])
def test_advertise_grease_alpn_identifiers(configured: bool) -> None:
    """TLS-Anvil ClientInitiatedExtensionPoints.advertiseGreaseALPNIdentifiers: GREASE protocol
    identifiers (plus "h2", which TLS-Anvil does not send: against a server configured for
    ALPN, RFC 7301 §3.2 would make a GREASE-only list a no_application_protocol failure).
    RFC 8701 §3.2: "Servers MUST NOT negotiate any GREASE value"."""
    protocols = [*GREASE_ALPN, b"h2"]
    extensions = [
        *tls13_extensions(),
        (EXT_ALPN, vector(2, b"".join(vector(1, p) for p in protocols))),
    ]
    config: dict[str, object] = {"alpn_protocols": ("h2",)} if configured else {}
    probe = completes(client_hello(extensions=extensions), **config)
    found = dict(extensions_block(first(probe, HandshakeType.ENCRYPTED_EXTENSIONS)[4:]))
    if configured:
        assert found[EXT_ALPN] == vector(2, vector(1, b"h2"))
    else:
        assert EXT_ALPN not in found


# == server/tls13/statemachine/StateMachine ======================================================


def test_second_client_hello() -> None:
    """TLS-Anvil StateMachine.secondClientHello / secondClientHelloAfterServerHelloMessages: a
    second ClientHello after the server's flight. RFC 8446 §4.1.2: "if a server has negotiated
    TLS 1.3 and receives a ClientHello at any other time, it MUST terminate the connection with
    an "unexpected_message" alert."."""
    probe = Probe()
    probe.send_hello()
    probe.expect_alert(record(HANDSHAKE, client_hello()), AlertDescription.UNEXPECTED_MESSAGE)


def test_two_client_hellos_in_one_record() -> None:
    """TLS-Anvil StateMachine.secondClientHello, both ClientHellos sent at once. RFC 8446 §4.1.2
    (as above); §5.1: "Handshake messages MUST NOT span key changes"."""
    probe = Probe()
    hello = client_hello()
    probe.expect_alert(
        record(HANDSHAKE, hello + hello, 0x0301), AlertDescription.UNEXPECTED_MESSAGE
    )


@pytest.mark.parametrize(
    "data",
    [
        record(CCS, b"\x01"),
        record(APPLICATION_DATA, bytes(24)),
        record(HANDSHAKE, handshake(HandshakeType.FINISHED, bytes(32))),
    ],
    ids=["beginWithChangeCipherSpec", "beginWithApplicationData", "beginWithFinished"],
)
def test_begin_handshake_with_something_else(data: bytes) -> None:
    """TLS-Anvil StateMachine.beginWithChangeCipherSpec / beginWithApplicationData /
    beginWithFinished. RFC 8446 §5: a change_cipher_spec "received before the first
    ClientHello message ... MUST be treated as an unexpected record type"; "If a TLS
    implementation receives an unexpected record type, it MUST terminate the connection with
    an "unexpected_message" alert."; §4: "A peer which receives a handshake message in an
    unexpected order MUST abort the handshake with an "unexpected_message" alert."."""
    probe = Probe()
    probe.expect_alert(data, AlertDescription.UNEXPECTED_MESSAGE)


def test_legacy_change_cipher_spec_after_finished() -> None:
    """TLS-Anvil StateMachine.sendLegacyChangeCipherSpecAfterFinished. RFC 8446 §5: "If an
    implementation detects a change_cipher_spec record received before the first ClientHello
    message or after the peer's Finished message, it MUST be treated as an unexpected record
    type"."""
    probe = completes()
    probe.expect_alert(record(CCS, b"\x01"), AlertDescription.UNEXPECTED_MESSAGE)


def test_encrypted_change_cipher_spec() -> None:
    """TLS-Anvil StateMachine.sendEncryptedChangeCipherSpec. RFC 8446 §5: "An implementation
    which receives any other change_cipher_spec value or which receives a protected
    change_cipher_spec record MUST abort the handshake with an "unexpected_message"
    alert."."""
    probe = completes()
    probe.expect_alert(probe.sealed(CCS, b"\x01"), AlertDescription.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize(
    "body",
    [
        vector(1, SECP256R1.generate().public_bytes),
        vector(2, (2).to_bytes(256, "big")),
        vector(2, bytes(256)),
    ],
    ids=["ECDH", "DH", "RSA"],
)
def test_legacy_client_key_exchange_instead_of_finished(body: bytes) -> None:
    """TLS-Anvil StateMachine.sendLegacyFlowECDHClientKeyExchange / DH / RSA: a TLS 1.2
    ClientKeyExchange (under the handshake keys) where the Finished goes. RFC 8446 §4: "A peer
    which receives a handshake message in an unexpected order MUST abort the handshake with an
    "unexpected_message" alert."."""
    probe = Probe()
    probe.send_hello()
    probe.use_handshake_keys()
    message = handshake(HandshakeType.CLIENT_KEY_EXCHANGE, body)
    probe.expect_alert(probe.sealed(HANDSHAKE, message), AlertDescription.UNEXPECTED_MESSAGE)


def test_client_hello_after_finished_handshake() -> None:
    """TLS-Anvil StateMachine.sendClientHelloAfterFinishedHandshake. RFC 8446 §4.1.2: "Because
    TLS 1.3 forbids renegotiation, if a server has negotiated TLS 1.3 and receives a
    ClientHello at any other time, it MUST terminate the connection with an
    "unexpected_message" alert."."""
    probe = completes()
    probe.expect_alert(probe.sealed(HANDSHAKE, client_hello()), AlertDescription.UNEXPECTED_MESSAGE)


# == both/tls13/rfc8446/AlertProtocol ============================================================

ERROR_ALERTS = (10, 20, 40, 42, 47, 50, 51, 70, 80, 109, 116)


@pytest.mark.parametrize("stage", ["handshake", "post-handshake"])
@pytest.mark.parametrize(
    ("level", "description"), [*((1, d) for d in ERROR_ALERTS), (1, 200), (2, 200)]
)
def test_error_alerts_are_fatal(stage: str, level: int, description: int) -> None:
    """TLS-Anvil AlertProtocol.treatsFatalAlertsAsFatalHandshake / ...PostHandshake (error
    alerts at warning level) and treatsUnknownWarningAlertsAsFatal... / treatsUnknownFatal
    AlertsAsFatal... (alert 200). RFC 8446 §6.2: "All the alerts listed in Section 6.2 MUST be
    sent with AlertLevel=fatal and MUST be treated as error alerts when received regardless of
    the AlertLevel in the message. Unknown Alert types MUST be treated as error alerts."; §6.2:
    "Upon transmission or receipt of a fatal alert message, both parties MUST immediately close
    the connection." (the server sends nothing back)."""
    probe = Probe()
    if stage == "handshake":
        probe.send_hello()
        probe.use_handshake_keys()
    else:
        probe.handshake()
    sent = len(probe.received)
    with pytest.raises(AlertReceived) as info:
        probe.send(probe.sealed(ALERT, bytes([level, description])))
    assert info.value.description == description
    assert probe.server.state is ConnectionState.FAILED
    assert len(probe.received) == sent


def test_sends_close_notify() -> None:
    """TLS-Anvil AlertProtocol.sendsCloseNotify. RFC 8446 §6.1: "Each party MUST send a
    "close_notify" alert before closing its write side of the connection, unless it has already
    sent some error alert."."""
    probe = completes()
    probe.close()
    assert probe.alerts[-1] == (1, AlertDescription.CLOSE_NOTIFY)


# == both/tls13/rfc8446/ComplianceRequirements, HappyFlow ========================================


def test_supports_aes_128_gcm_sha256() -> None:
    """TLS-Anvil ComplianceRequirements.supportsAes128GcmSha256. RFC 8446 §9.1: "A
    TLS-compliant application MUST implement the TLS_AES_128_GCM_SHA256 [GCM] cipher
    suite"."""
    probe = completes(client_hello((AES_128_GCM,)))
    assert probe.server_hello is not None and sh_suite(probe.server_hello) == AES_128_GCM


def test_supports_secp256r1() -> None:
    """TLS-Anvil ComplianceRequirements.supportsSecp256r1. RFC 8446 §9.1: "A TLS-compliant
    application ... MUST support key exchange with secp256r1 (NIST P-256)"."""
    probe = completes(client_hello(extensions=tls13_extensions((SECP256R1,))))
    assert probe.server_hello is not None
    assert hello_extension(probe.server_hello, EXT_KEY_SHARE)[:2] == b"\x00\x17"


@pytest.mark.parametrize("suite", [AES_128_GCM, AES_256_GCM, CHACHA20], ids=hex)
@pytest.mark.parametrize("group", [X25519, SECP256R1, SECP384R1], ids=lambda g: g.name)
def test_happy_flow(suite: int, group: Group) -> None:
    """TLS-Anvil HappyFlow.happyFlow: a benign handshake and a request over a few parameter
    combinations (RFC 8446 §2)."""
    probe = completes(client_hello((suite,), tls13_extensions((group,))))
    assert probe.suite is not None and probe.suite.id == suite
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


# == both/tls13/rfc8446/Finished =================================================================


@pytest.mark.parametrize("bit", [0, 77, 255])
def test_verify_finished_message_correct(bit: int) -> None:
    """TLS-Anvil Finished.verifyFinishedMessageCorrect (invalidSignature). RFC 8446 §4.4.4:
    "Recipients of Finished messages MUST verify that the contents are correct and if incorrect
    MUST terminate the connection with a "decrypt_error" alert."."""
    probe = Probe()
    probe.send_hello()
    finished = bytearray(probe.finished())
    finished[4 + bit // 8] ^= 1 << (bit % 8)
    probe.use_handshake_keys()
    probe.expect_alert(probe.sealed(HANDSHAKE, bytes(finished)), AlertDescription.DECRYPT_ERROR)


# == both/tls13/rfc8446/KeyUpdate ================================================================


def test_key_update_before_finished() -> None:
    """TLS-Anvil KeyUpdate.sendKeyUpdateBeforeFinished. RFC 8446 §4.6.3: "Implementations that
    receive a KeyUpdate message prior to receiving a Finished message MUST terminate the
    connection with an "unexpected_message" alert."."""
    probe = Probe()
    probe.send_hello()
    probe.use_handshake_keys()
    message = handshake(HandshakeType.KEY_UPDATE, b"\x01")
    probe.expect_alert(probe.sealed(HANDSHAKE, message), AlertDescription.UNEXPECTED_MESSAGE)


def test_key_update_unknown_request_mode() -> None:
    """TLS-Anvil KeyUpdate.sendUnknownRequestMode: request_update 3. RFC 8446 §4.6.3: "If an
    implementation receives any other value, it MUST terminate the connection with an
    "illegal_parameter" alert."."""
    probe = completes()
    message = handshake(HandshakeType.KEY_UPDATE, b"\x03")
    probe.expect_alert(probe.sealed(HANDSHAKE, message), AlertDescription.ILLEGAL_PARAMETER)


def test_responds_with_valid_key_update_and_app_data_under_new_keys() -> None:
    """TLS-Anvil KeyUpdate.respondsWithValidKeyUpdate and appDataUnderNewKeysSucceeds.
    RFC 8446 §4.6.3: "If the request_update field is set to "update_requested", then the
    receiver MUST send a KeyUpdate of its own with request_update set to
    "update_not_requested" prior to sending its next Application Data record."; data under the
    new keys is read."""
    probe = completes()
    probe.send(probe.key_update(1))
    updates = [m for m in probe.messages if m[0] == HandshakeType.KEY_UPDATE]
    assert updates == [handshake(HandshakeType.KEY_UPDATE, b"\x00")]  # opened with the new key
    events = probe.send(probe.sealed(APPLICATION_DATA, GET))
    assert events == [ApplicationData(data=GET)]
    probe.server.send(GET)
    probe.read()
    assert probe.application_data == GET
    assert probe.server.state is ConnectionState.APP_DATA and not probe.alerts


# == both/tls13/rfc8446/RecordProtocol ===========================================================


def test_invalid_record_content_type() -> None:
    """TLS-Anvil RecordProtocol.invalidRecordContentType: the ClientHello in a record of type
    0xff. RFC 8446 §5: "If a TLS implementation receives an unexpected record type, it MUST
    terminate the connection with an "unexpected_message" alert."."""
    probe = Probe()
    probe.expect_alert(record(0xFF, client_hello(), 0x0301), AlertDescription.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize("where", ["outer", "inner"])
def test_invalid_record_content_type_after_encryption(where: str) -> None:
    """TLS-Anvil RecordProtocol.invalidRecordContentTypeAfterEncryption: the Finished in a
    protected record whose type is 0xff (the outer opaque_type, or the inner type). RFC 8446
    §5 (unexpected record type: "unexpected_message"); §5.2: opaque_type "MUST be set to 23
    (application_data)"."""
    probe = Probe()
    probe.send_hello()
    probe.use_handshake_keys()
    if where == "outer":
        sealed = bytearray(probe.sealed(HANDSHAKE, probe.finished()))
        sealed[0] = 0xFF
        data = bytes(sealed)
    else:
        data = probe.sealed(0xFF, probe.finished())
    probe.expect_alert(data, AlertDescription.UNEXPECTED_MESSAGE)


@pytest.mark.parametrize("where", ["tag", "ciphertext"])
@pytest.mark.parametrize("size", [1, 64, 600])
def test_invalid_auth_tag_or_ciphertext(where: str, size: int) -> None:
    """TLS-Anvil RecordProtocol.invalidAuthTag / invalidCiphertext: application data with a
    bit of the tag or of the ciphertext flipped. RFC 8446 §5.2: "If the decryption fails, the
    receiver MUST terminate the connection with a "bad_record_mac" alert."."""
    probe = completes()
    sealed = bytearray(probe.sealed(APPLICATION_DATA, bytes(size)))
    sealed[-1 if where == "tag" else 5] ^= 0x10
    probe.expect_alert(bytes(sealed), AlertDescription.BAD_RECORD_MAC)


def test_record_with_plaintext_over_2_pow_14() -> None:
    """TLS-Anvil RecordProtocol.sendRecordWithPlaintextOver2pow14 (plaintext 2^14 + 1 bytes,
    content type byte added). RFC 8446 §5.2: "If the decryption ... results in a plaintext
    longer than 2^14 + 1 ... MUST terminate the connection with a "record_overflow" alert"
    (TLSInnerPlaintext: "The length MUST NOT exceed 2^14 + 1 octets", §5.4)."""
    probe = completes()
    assert probe.suite is not None
    inner = bytes(2**14 + 1) + bytes([APPLICATION_DATA])
    key, iv = traffic_key_iv(probe.suite, probe.write_secret)
    header = bytes([APPLICATION_DATA, 3, 3]) + (len(inner) + 16).to_bytes(2, "big")
    sealed = header + probe.suite.aead(key).encrypt(iv, inner, header)  # sequence number 0
    probe.expect_alert(sealed, AlertDescription.RECORD_OVERFLOW)


def test_record_with_ciphertext_over_2_pow_14_plus_256() -> None:
    """TLS-Anvil RecordProtocol.sendRecordWithCiphertextOver2pow14plus256: a protected record of
    2^14 + 257 bytes. RFC 8446 §5.2: "The length MUST NOT exceed 2^14 + 256 bytes. An endpoint
    that receives a record that exceeds this length MUST terminate the connection with a
    "record_overflow" alert."."""
    probe = completes()
    data = record(APPLICATION_DATA, bytes(2**14 + 257))
    probe.expect_alert(data, AlertDescription.RECORD_OVERFLOW)


@pytest.mark.parametrize("padding", [1, 100, 2**14 - 40])
def test_accepts_optional_padding(padding: int) -> None:
    """TLS-Anvil RecordProtocol.acceptsOptionalPadding: the client's Finished and data padded.
    RFC 8446 §5.4: "Implementations MAY pad any TLSCiphertext ... the receiving implementation
    scans the field from the end toward the beginning until it finds a non-zero octet."."""
    probe = Probe()
    probe.send_hello()
    probe.use_handshake_keys()
    probe.send(probe.sealed(HANDSHAKE, probe.finished(), padding))
    probe.use_application_keys()
    assert probe.server.state is ConnectionState.APP_DATA
    conversation(probe, probe.sealed(APPLICATION_DATA, GET, padding))


@pytest.mark.parametrize("content_type", [HANDSHAKE, ALERT, CCS], ids=["handshake", "alert", "ccs"])
def test_send_empty_record(content_type: int) -> None:
    """TLS-Anvil RecordProtocol.sendEmptyRecord (and sendEmptyApplicationRecord's handshake
    twin): a protected record with no content after the handshake. RFC 8446 §5.4: zero-length
    Handshake or Alert content: "MUST terminate the connection with an "unexpected_message"
    alert."; §5: a protected change_cipher_spec: "unexpected_message"."""
    probe = completes()
    probe.expect_alert(probe.sealed(content_type, b""), AlertDescription.UNEXPECTED_MESSAGE)


def test_zero_length_application_record() -> None:
    """TLS-Anvil RecordProtocol.sendZeroLengthApplicationRecord. RFC 8446 §5.1: "Zero-length
    fragments of Application Data MAY be sent, as they are potentially useful as a traffic
    analysis countermeasure." (no alert, the connection stays open)."""
    probe = completes()
    assert probe.send(probe.sealed(APPLICATION_DATA, b"")) == []
    assert probe.server.state is ConnectionState.APP_DATA and not probe.alerts
    conversation(probe, probe.sealed(APPLICATION_DATA, GET))


def all_zero_record(probe: Probe, size: int = 4) -> bytes:
    """A protected record whose TLSInnerPlaintext is ``size`` zero bytes: no content type."""
    assert probe.writer is not None
    return probe.writer.seal(0, b"\x00" * (size - 1))  # inner: size - 1 zeros, then type 0


@pytest.mark.parametrize("stage", ["handshake", "application"])
def test_encrypted_record_with_no_non_zero_octet(stage: str) -> None:
    """TLS-Anvil RecordProtocol.sendEncryptedHandshakeRecordWithNoNonZeroOctet /
    sendEncryptedAppRecordWithNoNonZeroOctet: a TLSInnerPlaintext of four zero bytes. RFC 8446
    §5.4: "If a receiving implementation does not find a non-zero octet in the cleartext, it
    MUST terminate the connection with an "unexpected_message" alert."."""
    probe = Probe()
    if stage == "handshake":
        probe.send_hello()
        probe.use_handshake_keys()
    else:
        probe.handshake()
    probe.expect_alert(all_zero_record(probe), AlertDescription.UNEXPECTED_MESSAGE)


# == both/lengthfield (TLS 1.3 server) ==========================================================


def shifted(hello: bytes, offset: int, size: int, delta: int) -> bytes:
    """``hello`` with the ``size``-byte length field at ``offset`` changed by ``delta``."""
    value = int.from_bytes(hello[offset : offset + size], "big") + delta
    return hello[:offset] + value.to_bytes(size, "big") + hello[offset + size :]


def hello_offsets(hello: bytes) -> dict[str, int]:
    pos = 4 + 2 + 32
    out = {"session_id": pos}
    pos += 1 + hello[pos]
    out["cipher_suites"] = pos
    pos += 2 + int.from_bytes(hello[pos : pos + 2], "big")
    out["compression"] = pos
    pos += 1 + hello[pos]
    out["extensions"] = pos
    pos += 2
    while pos < len(hello):
        ext_type = int.from_bytes(hello[pos : pos + 2], "big")
        out[f"ext{ext_type}"] = pos + 2
        pos += 4 + int.from_bytes(hello[pos + 2 : pos + 4], "big")
    return out


LENGTH_CASES = {
    "Hello.helloSessionIdLengthTLS13": ("session_id", 1, +1),
    "Hello.helloLengthTLS13": ("message", 3, -1),
    "Hello.helloExtensionsLengthTLS13": ("extensions", 2, -1),
    "Hello.clientHelloCipherSuitesLengthTLS13": ("cipher_suites", 2, -1),
    "Hello.clientHelloCompressionLengthTLS13": ("compression", 1, -1),
    "KeyShareExtension.keyShareExtensionLength": (f"ext{EXT_KEY_SHARE}", 2, -1),
    "KeyShareExtension.keyShareEntryListLength": (f"ext{EXT_KEY_SHARE}+2", 2, -1),
    "SupportedVersionsExtension.supportedVersionsExtensionLength": (
        f"ext{EXT_SUPPORTED_VERSIONS}",
        2,
        -1,
    ),
    "SupportedVersionsExtension.supportedVersionsListLength": (
        f"ext{EXT_SUPPORTED_VERSIONS}+2",
        1,
        -1,
    ),
    "SignatureAndHashAlgorithmsExtension.signatureAndHashAlgorithmsExtensionLengthTLS13": (
        f"ext{EXT_SIGNATURE_ALGORITHMS}",
        2,
        -1,
    ),
    "SignatureAndHashAlgorithmsExtension.signatureAndHashAlgorithmsListLengthTLS13": (
        f"ext{EXT_SIGNATURE_ALGORITHMS}+2",
        2,
        -1,
    ),
    "PSKKeyExchangeModesExtension.pskKeyExchangeModesExtensionLength": (
        f"ext{EXT_PSK_KEY_EXCHANGE_MODES}",
        2,
        -1,
    ),
    "PSKKeyExchangeModesExtension.pskKeyExchangeModesExtensionListLength": (
        f"ext{EXT_PSK_KEY_EXCHANGE_MODES}+2",
        1,
        -1,
    ),
    "ALPNExtension.alpnExtensionLengthTLS13": (f"ext{EXT_ALPN}", 2, -1),
    "ALPNExtension.alpnProposedAlpnProtocolsLengthTLS13": (f"ext{EXT_ALPN}+2", 2, -1),
    "PaddingExtension.paddingExtensionLengthTLS13": (f"ext{EXT_PADDING}", 2, -1),
    "PreSharedKeyExtension.preSharedKeyExtensionLength": (f"ext{EXT_PRE_SHARED_KEY}", 2, -1),
    "PreSharedKeyExtension.preSharedKeyExtensionIdentityListLength": (
        f"ext{EXT_PRE_SHARED_KEY}+2",
        2,
        -1,
    ),
    "PreSharedKeyExtension.preSharedKeyExtensionBinderListLength": ("binders", 2, -1),
}


def length_test_hello() -> bytes:
    """The ClientHello the length field tests start from: the usual extensions plus ALPN,
    padding (in the middle) and psk_key_exchange_modes, and a bound pre_shared_key last."""
    return psk_hello(
        before_psk=[
            (EXT_ALPN, vector(2, vector(1, b"h2"))),
            (EXT_PADDING, bytes(12)),
            (EXT_SERVER_NAME, vector(2, b"\x00" + vector(2, b"localhost"))),
        ]
    )


@pytest.mark.parametrize("case", list(LENGTH_CASES))
def test_client_hello_length_fields(case: str) -> None:
    """TLS-Anvil both/lengthfield ``<Class>.<method>`` (the id): one length field of the
    ClientHello off by one (TLS 1.3, server side). RFC 8446 §6: "Peers which receive a message
    which cannot be parsed according to the syntax (e.g., have a length extending beyond the
    message boundary or containing an out-of-range length) MUST terminate the connection with
    a "decode_error" alert."."""
    hello = length_test_hello()
    intact = Probe(**psk_server(alpn_protocols=("h2",)))
    intact.send_hello(hello)  # unchanged, the ClientHello is good: a PSK handshake
    assert intact.server_finished and intact.server_hello is not None
    assert hello_extension(intact.server_hello, EXT_PRE_SHARED_KEY) == b"\x00\x00"
    field, size, delta = LENGTH_CASES[case]
    offsets = hello_offsets(hello)
    if field == "message":
        offset = 1
    elif field == "binders":
        offset = len(hello) - (2 + 33)
    else:
        name, _, extra = field.partition("+")
        offset = offsets[name] + (int(extra) if extra else 0)
    broken = shifted(hello, offset, size, delta)
    alert = hello_fails(broken, **psk_server(alpn_protocols=("h2",)))
    assert alert is AlertDescription.DECODE_ERROR


def test_finished_length_tls13() -> None:
    """TLS-Anvil lengthfield Finished.finishedLengthTLS13: the Finished header one short of the
    verify_data sent. RFC 8446 §4.4.4 (verify_data is Hash.length bytes) and §6 ("MUST
    terminate the connection with a "decode_error" alert")."""
    probe = Probe()
    probe.send_hello()
    finished = probe.finished()
    broken = finished[:1] + (len(finished) - 5).to_bytes(3, "big") + finished[4:]
    probe.use_handshake_keys()
    probe.expect_alert(probe.sealed(HANDSHAKE, broken), AlertDescription.DECODE_ERROR)
