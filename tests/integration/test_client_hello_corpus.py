"""Real clients' first flights, replayed against our server: testssl.sh's client simulation.

testssl.sh (the Debian package ``testssl.sh``, which ``make peers`` installs) keeps, in
``/etc/testssl/client-simulation.txt``, the ClientHello that 162 real clients sent, captured
from the wire: browsers from Android 2.3 and IE 6 to Chrome 101 and Safari 15, Java 6 to 17,
OpenSSL 0.9.8 to 3.0, Go, LibreSSL, mail clients and crawlers. ``testssl --client-simulation``
sends these bytes and reads the ServerHello; here the same bytes go, in memory, to a
:class:`ServerConnection` with an ECDSA P-256 and an RSA-2048 certificate and the default
settings. The file is read where the package put it (it is testssl.sh's data, not ours).

The server's answer is taken apart by the small parser below (not tlsmachine's) and held to the
RFCs and to the server's documented policy (its own order of suites and groups; no TLS below 1.2,
no CBC, RC4 or static-RSA suites, no SHA-1 signatures):

* a client that cannot do TLS 1.2 or 1.3 gets protocol_version (RFC 8996 §5, RFC 8446 D.5);
  one whose suites, groups or signature algorithms leave nothing in common gets
  handshake_failure (RFC 5246 §7.4.1.3, RFC 8446 §4.1.1); SSL 2.0 hellos get unexpected_message;
* TLS 1.3 (RFC 8446 §4.1.3, §4.1.4, §4.2): the ServerHello (or HelloRetryRequest) carries only
  extensions the client offered and that may appear there, the suite and group the policy
  predicts, a key share of the right size, the client's session ID echoed, and a dummy
  change_cipher_spec only in middlebox compatibility mode (Appendix D.4);
* TLS 1.2 (RFC 5246 §7.4.1.3, §7.4.1.4): the downgrade sentinel (RFC 8446 §4.1.3), only
  extensions the client offered (renegotiation_info also for the SCSV, RFC 5746 §3.6;
  extended_master_secret whenever offered, RFC 7627 §5.1; ec_point_formats only for an ECC suite,
  RFC 8422 §5.2), a certificate that fits the suite, and a ServerKeyExchange on a group the
  client named with a signature scheme it offered, whose signature verifies (RFC 5246 §7.4.3,
  RFC 8422 §5.4).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server_flight import rsa_cert
from tls_fixtures import server_cert
from tlsmachine import ConnectionState, ServerConfig, ServerConnection
from tlsmachine.errors import InternalError, TLSError
from wire import ALERT, CCS, HANDSHAKE, messages, records

CORPUS = Path("/etc/testssl/client-simulation.txt")

# code points (RFC 8446 §4.2 and App. B.3; RFC 5246 App. A; RFC 5746; RFC 7627; RFC 8422)
SERVER_NAME, SUPPORTED_GROUPS, EC_POINT_FORMATS, SIGNATURE_ALGORITHMS = 0, 10, 11, 13
ALPN, EMS, SESSION_TICKET, PRE_SHARED_KEY = 16, 23, 35, 41
SUPPORTED_VERSIONS, COOKIE, KEY_SHARE, RENEGOTIATION_INFO = 43, 44, 51, 0xFF01
EMPTY_RENEGOTIATION_INFO_SCSV = 0x00FF
TLS12, TLS13 = 0x0303, 0x0304
SERVER_HELLO, CERTIFICATE, SERVER_KEY_EXCHANGE, SERVER_HELLO_DONE = 2, 11, 12, 14
PROTOCOL_VERSION, HANDSHAKE_FAILURE, UNEXPECTED_MESSAGE = 70, 40, 10
HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")
DOWNGRADE_TLS12 = b"DOWNGRD\x01"
KEY_SHARE_SIZES = {23: 65, 24: 97, 25: 133, 29: 32, 30: 56, 256: 256, 257: 384}
ECDH_GROUPS = {23, 24, 25, 29, 30}
FFDHE_GROUPS = range(256, 512)  # RFC 7919 §4: any code point in this range counts
ECDSA_P256_TLS12 = {0x0403}  # what our P-256 key can sign with in TLS 1.2 (SHA-256)
RSA_TLS12 = {0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601}  # rsa_pss_rsae_*, rsa_pkcs1_sha2*
HASHES = {0x0403: hashes.SHA256(), 0x0804: hashes.SHA256(), 0x0805: hashes.SHA384()}
HASHES |= {0x0806: hashes.SHA512(), 0x0401: hashes.SHA256(), 0x0501: hashes.SHA384()}
HASHES |= {0x0601: hashes.SHA512()}


# -- the corpus ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Capture:
    """One client of client-simulation.txt: its name and the bytes it sent first."""

    name: str
    flight: bytes


def load_corpus() -> list[Capture]:
    """The ``names`` and ``handshakebytes`` arrays of the file (bash: ``names+=("...")``)."""
    text = CORPUS.read_text()
    names = re.findall(r'^\s*names\+=\("(.*)"\)\s*$', text, re.M)
    flights = re.findall(r'^\s*handshakebytes\+=\("([0-9a-fA-F]*)"\)\s*$', text, re.M)
    assert len(names) == len(flights) > 100, (len(names), len(flights))
    return [Capture(n, bytes.fromhex(h)) for n, h in zip(names, flights, strict=True)]


CAPTURES = load_corpus() if CORPUS.exists() else []


# -- taking messages apart (our own small parser, not tlsmachine's) -----------------------------


class Cursor:
    """Reads big-endian integers and length-prefixed vectors off a byte string."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def uint(self, size: int) -> int:
        value = int.from_bytes(self.data[self.pos : self.pos + size], "big")
        self.pos += size
        return value

    def take(self, size: int) -> bytes:
        value = self.data[self.pos : self.pos + size]
        assert len(value) == size, "truncated"
        self.pos += size
        return value

    def vector(self, length_size: int) -> bytes:
        return self.take(self.uint(length_size))

    def done(self) -> bool:
        return self.pos == len(self.data)


def u16_list(data: bytes) -> list[int]:
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def extensions(cursor: Cursor) -> dict[int, bytes]:
    """An extensions block (absent in some old hellos): type -> extension_data, in order."""
    out: dict[int, bytes] = {}
    if cursor.done():
        return out
    block = Cursor(cursor.vector(2))
    while not block.done():
        ext_type = block.uint(2)
        out[ext_type] = block.vector(2)
    return out


@dataclass
class Hello:
    """What a ClientHello offers (RFC 5246 §7.4.1.2, RFC 8446 §4.1.2)."""

    legacy_version: int
    random: bytes
    session_id: bytes
    suites: list[int]
    compressions: bytes
    extensions: dict[int, bytes]

    @classmethod
    def parse(cls, body: bytes) -> Hello:
        c = Cursor(body)
        version = c.uint(2)
        random = c.take(32)
        session_id = c.vector(1)
        suites = u16_list(c.vector(2))
        compressions = c.vector(1)
        return cls(version, random, session_id, suites, compressions, extensions(c))

    @property
    def versions(self) -> set[int]:
        """supported_versions, else legacy_version (RFC 8446 §4.2.1; RFC 5246 App. E.1: a
        higher legacy_version still gets TLS 1.2)."""
        if SUPPORTED_VERSIONS in self.extensions:
            return set(u16_list(self.extensions[SUPPORTED_VERSIONS][1:]))
        return {self.legacy_version}

    @property
    def groups(self) -> list[int] | None:
        data = self.extensions.get(SUPPORTED_GROUPS)
        return None if data is None else u16_list(data[2:])

    @property
    def share_groups(self) -> list[int]:
        c = Cursor(self.extensions.get(KEY_SHARE, b"\x00\x00"))
        shares, out = Cursor(c.vector(2)), []
        while not shares.done():
            out.append(shares.uint(2))
            shares.vector(2)
        return out

    @property
    def schemes(self) -> list[int]:
        return u16_list(self.extensions.get(SIGNATURE_ALGORITHMS, b"\x00\x00")[2:])


def client_hello(flight: bytes) -> Hello:
    fragment = b"".join(body for kind, body in records(flight) if kind == HANDSHAKE)
    (message,) = messages(fragment)
    assert message[0] == 1, "not a ClientHello"
    return Hello.parse(message[4:])


# -- what the server should choose (its documented policy) --------------------------------------

CONFIG = ServerConfig(certificates=(server_cert(), rsa_cert()))
OUR_SUITES13 = [int(s.id) for s in CONFIG.cipher_suites]
OUR_SUITES12 = [(int(s.id), s.key_exchange, s.authentication) for s in CONFIG.tls12_cipher_suites]
OUR_GROUPS = [int(g.id) for g in CONFIG.groups]


def expected_tls13(hello: Hello) -> tuple[int, int, bool] | None:
    """(suite, group, retry?) for a TLS 1.3 client: our first suite it offers; our first group
    it sent a share for, else (HelloRetryRequest) our first group it supports (§4.1.1)."""
    suites = [s for s in OUR_SUITES13 if s in hello.suites]
    supported = hello.groups or []
    shared = [g for g in OUR_GROUPS if g in hello.share_groups and g in supported]
    retry = [g for g in OUR_GROUPS if g in supported]
    if not suites or not retry:
        return None
    return (suites[0], shared[0], False) if shared else (suites[0], retry[0], True)


def usable12(hello: Hello, key_exchange: str, auth: str) -> bool:
    """Whether a TLS 1.2 suite can be used with this client: a group for its key exchange
    (RFC 8422 §4, RFC 7919 §4) and a signature scheme for our key of its kind (RFC 5246
    §7.4.1.4.1; no signature_algorithms means SHA-1, which we do not sign with)."""
    groups = hello.groups
    if key_exchange == "ECDHE" and groups is not None and not ECDH_GROUPS & set(groups):
        return False
    if key_exchange == "DHE" and groups is not None:
        ffdhe = [g for g in groups if g in FFDHE_GROUPS]
        if ffdhe and not {256, 257} & set(ffdhe):
            return False  # RFC 7919 §4: it named FFDHE groups, none of ours
    wanted = ECDSA_P256_TLS12 if auth == "ECDSA" else RSA_TLS12
    return bool(wanted & set(hello.schemes))


def expected_tls12(hello: Hello) -> int | None:
    for suite, key_exchange, auth in OUR_SUITES12:
        if suite in hello.suites and usable12(hello, key_exchange, auth):
            return suite
    return None


# -- the replay ----------------------------------------------------------------------------------


def answer(capture: Capture) -> tuple[bytes, TLSError | None]:
    server = ServerConnection(CONFIG)
    try:
        server.receive_data(capture.flight)
    except TLSError as exc:
        return server.data_to_send(), exc
    return server.data_to_send(), None


def alert_of(out: bytes) -> int:
    (kind, body), *_ = records(out)
    assert kind == ALERT and body[0] == 2, out.hex()  # fatal
    return body[1]


def server_hello(out: bytes) -> tuple[Cursor, list[tuple[int, bytes]]]:
    """The ServerHello's body (a cursor after the type) and all the flight's records."""
    recs = records(out)
    kind, fragment = recs[0]
    assert kind == HANDSHAKE
    first = messages(fragment)[0]
    assert first[0] == SERVER_HELLO
    return Cursor(first[4:]), recs


def check_tls13(hello: Hello, out: bytes) -> str:
    expected = expected_tls13(hello)
    assert expected is not None
    suite, group, retry = expected
    c, recs = server_hello(out)
    assert c.uint(2) == TLS12  # legacy_version (§4.1.3)
    random = c.take(32)
    assert c.vector(1) == hello.session_id  # legacy_session_id_echo
    assert c.uint(2) == suite
    assert c.uint(1) == 0  # legacy_compression_method
    exts = extensions(c)
    assert c.done()
    assert exts[SUPPORTED_VERSIONS] == TLS13.to_bytes(2, "big")
    allowed = {SUPPORTED_VERSIONS, KEY_SHARE, COOKIE} if retry else {SUPPORTED_VERSIONS, KEY_SHARE}
    assert set(exts) <= allowed & ({COOKIE} | set(hello.extensions)), sorted(exts)
    share = Cursor(exts[KEY_SHARE])
    assert share.uint(2) == group
    assert (random == HRR_RANDOM) is retry
    if retry:
        assert share.done()  # HRR: selected_group only (§4.2.8)
    else:
        assert len(share.vector(2)) == KEY_SHARE_SIZES[group] and share.done()
    # Appendix D.4: a dummy change_cipher_spec right after the first handshake message, in
    # middlebox compatibility mode only (the client sent a legacy_session_id)
    ccs = len(recs) > 1 and recs[1][0] == CCS
    assert ccs == bool(hello.session_id), [kind for kind, _ in recs]
    return f"TLS 1.3 {'HRR ' if retry else ''}{suite:#06x} group {group}"


def check_tls12(hello: Hello, out: bytes) -> str:
    suite = expected_tls12(hello)
    assert suite is not None
    key_exchange, auth = next((k, a) for s, k, a in OUR_SUITES12 if s == suite)
    c, recs = server_hello(out)
    assert c.uint(2) == TLS12
    random = c.take(32)
    assert random[-8:] == DOWNGRADE_TLS12  # RFC 8446 §4.1.3: we could do TLS 1.3
    assert len(c.vector(1)) <= 32
    assert c.uint(2) == suite
    assert c.uint(1) == 0 and 0 in hello.compressions
    exts = extensions(c)
    assert c.done()
    offered = set(hello.extensions)
    signalled = RENEGOTIATION_INFO in offered or EMPTY_RENEGOTIATION_INFO_SCSV in hello.suites
    assert set(exts) <= offered | ({RENEGOTIATION_INFO} if signalled else set()), sorted(exts)
    assert (exts.get(RENEGOTIATION_INFO) == b"\x00") is signalled  # RFC 5746 §3.6
    assert (EMS in exts) is (EMS in offered)  # RFC 7627 §5.1
    assert SUPPORTED_VERSIONS not in exts  # RFC 8446 §4.2.1
    if EC_POINT_FORMATS in exts:  # RFC 8422 §5.2
        assert key_exchange == "ECDHE" and 0 in exts[EC_POINT_FORMATS][1:]
    body = b"".join(fragment for kind, fragment in recs if kind == HANDSHAKE)
    flight = {m[0]: m[4:] for m in messages(body)}
    assert list(flight) == [SERVER_HELLO, CERTIFICATE, SERVER_KEY_EXCHANGE, SERVER_HELLO_DONE]
    certs = Cursor(Cursor(flight[CERTIFICATE]).vector(3))
    leaf = x509.load_der_x509_certificate(certs.vector(3))
    key = leaf.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey if auth == "ECDSA" else rsa.RSAPublicKey)
    ske = Cursor(flight[SERVER_KEY_EXCHANGE])
    if key_exchange == "ECDHE":
        assert ske.uint(1) == 3  # named_curve (RFC 8422 §5.4)
        group = ske.uint(2)
        assert group in ECDH_GROUPS and group in (hello.groups or [group])
        assert len(ske.vector(1)) == KEY_SHARE_SIZES[group]
    else:
        p = ske.vector(2)
        ske.vector(2), ske.vector(2)  # g, Ys
        group = {256: 256, 384: 257}[len(p)]
    params = flight[SERVER_KEY_EXCHANGE][: ske.pos]
    scheme = ske.uint(2)
    signature = ske.vector(2)
    assert ske.done() and scheme in hello.schemes
    verify(key, scheme, signature, hello.random + random + params)
    return f"TLS 1.2 {suite:#06x} group {group} scheme {scheme:#06x}"


def verify(key: object, scheme: int, signature: bytes, content: bytes) -> None:
    """The ServerKeyExchange signature, checked with pyca (raises InvalidSignature)."""
    algorithm = HASHES[scheme]
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(signature, content, ec.ECDSA(algorithm))
    else:
        assert isinstance(key, rsa.RSAPublicKey)
        pad: padding.AsymmetricPadding = (
            padding.PSS(padding.MGF1(algorithm), padding.PSS.DIGEST_LENGTH)
            if scheme >> 8 == 0x08
            else padding.PKCS1v15()
        )
        key.verify(signature, content, pad, algorithm)


def outcome(capture: Capture) -> str:
    """What the server did for one client, after checking it (see the module docstring)."""
    out, error = answer(capture)
    if capture.flight[0] & 0x80:  # SSL 2.0 CLIENT-HELLO (RFC 8446 D.5: never negotiated)
        assert error is not None and alert_of(out) == UNEXPECTED_MESSAGE
        return "refused: SSL 2.0 hello"
    hello = client_hello(capture.flight)
    versions = hello.versions
    if TLS13 in versions and expected_tls13(hello) is not None:
        assert error is None, error
        return check_tls13(hello, out)
    if TLS12 in versions or (SUPPORTED_VERSIONS not in hello.extensions and max(versions) > TLS12):
        if expected_tls12(hello) is None:
            assert error is not None and alert_of(out) == HANDSHAKE_FAILURE, (error, out.hex())
            return "refused: nothing in common"
        assert error is None, error
        return check_tls12(hello, out)
    assert error is not None and alert_of(out) == PROTOCOL_VERSION, (error, out.hex())
    return "refused: below TLS 1.2"


def test_corpus_is_installed() -> None:
    """testssl.sh's data file is there (``make peers`` installs the package)."""
    assert CAPTURES, f"{CORPUS} is missing: run `make peers` (Debian package testssl.sh)"


@pytest.mark.parametrize("capture", CAPTURES, ids=[c.name for c in CAPTURES])
def test_real_client_hello_gets_the_answer_the_rfcs_require(capture: Capture) -> None:
    outcome(capture)


def test_corpus_outcomes_add_up() -> None:
    """Every client that can do TLS 1.2 with an AEAD suite connects (testssl.sh 3.0.8's file:
    30 with TLS 1.3, 82 with TLS 1.2); the refusals are SSL 2.0 hellos, versions below TLS 1.2
    and clients with only CBC or RC4 suites (Safari 5 to 8, Chrome 30)."""
    counts = Counter(outcome(c).split(" 0x")[0].split(":")[0] for c in CAPTURES)
    assert set(counts) <= {"TLS 1.3", "TLS 1.3 HRR", "TLS 1.2", "refused"}, counts
    assert counts["TLS 1.3"] + counts["TLS 1.3 HRR"] >= 30, counts
    assert counts["TLS 1.2"] >= 80, counts
    assert sum(counts.values()) == len(CAPTURES), counts


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_real_client_hellos_get_an_alert_never_a_crash(data: st.DataObject) -> None:
    """162 real ClientHellos as seeds: a few bytes replaced, inserted or cut, the result fed in
    pieces. The server answers with a TLSError (its alert) or goes on; nothing else escapes,
    and internal_error is never the answer to peer input. (A longer run of the same mutations,
    9 million inputs, found nothing either.)"""
    assert CAPTURES
    mutated = bytearray(data.draw(st.sampled_from(CAPTURES)).flight)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(mutated)))
        edit = data.draw(st.sampled_from(("replace", "insert", "cut")))
        if edit == "replace" and at < len(mutated):
            mutated[at] = data.draw(st.integers(0, 255))
        elif edit == "insert":
            mutated[at:at] = data.draw(st.binary(min_size=1, max_size=8))
        else:
            del mutated[at : at + data.draw(st.integers(1, 16))]
    cut = data.draw(st.integers(0, len(mutated)))
    server = ServerConnection(CONFIG)
    try:
        for piece in (bytes(mutated[:cut]), bytes(mutated[cut:])):
            server.receive_data(piece)
    except InternalError:
        raise
    except TLSError:
        assert server.state is ConnectionState.FAILED
        assert server.data_to_send()  # the alert (after the flight, if one was answered)
