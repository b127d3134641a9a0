"""crypto/: cipher suites (AEAD), key exchange groups, signature schemes."""

from __future__ import annotations

import hashlib
import os

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa, x25519

from rfc8448 import load_rfc8448
from tlsmachine.codec import Reader
from tlsmachine.crypto import groups
from tlsmachine.crypto.groups import (
    DEFAULT_GROUPS,
    GROUPS,
    SECP256R1,
    X448,
    X25519,
    FFDHEGroup,
    Group,
    group_by_id,
)
from tlsmachine.crypto.signatures import (
    DEFAULT_SIGNATURE_SCHEMES,
    TLS13_CERTIFICATE_VERIFY_SCHEMES,
    certificate_verify_input,
    schemes_for_key,
    select_scheme,
    sign,
    spki_is_rsassa_pss,
    verify,
)
from tlsmachine.crypto.suites import (
    DEFAULT_TLS13_SUITES,
    TLS13_SUITES,
    CipherSuite,
    suite_by_id,
)
from tlsmachine.enums import NamedGroup
from tlsmachine.enums import SignatureScheme as S
from tlsmachine.errors import DecryptError, IllegalParameter, InternalError
from tlsmachine.keyschedule import traffic_key_iv
from tlsmachine.transcript import TranscriptHash

TRACE = load_rfc8448()
HRR_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()  # RFC 8446 §4.1.3

# --- Cipher suites ---------------------------------------------------------------------------


def test_suite_registry() -> None:
    assert [s.id for s in TLS13_SUITES] == [0x1301, 0x1302, 0x1303, 0x1304]
    assert TLS13_SUITES[:3] == DEFAULT_TLS13_SUITES
    for s in TLS13_SUITES:
        assert suite_by_id(s.id) is s
        assert hashlib.new(s.hash_name).digest_size == s.hash_len
        assert str(s) == s.name
    assert suite_by_id(0x1305) is None  # TLS_AES_128_CCM_8_SHA256 is not implemented
    assert suite_by_id(0xC02F) is None  # TLS 1.2 suites live elsewhere


@pytest.mark.parametrize("suite", TLS13_SUITES, ids=str)
def test_aead_round_trip(suite: CipherSuite) -> None:
    aead = suite.aead(os.urandom(suite.key_len))
    nonce, aad = os.urandom(suite.iv_len), b"\x17\x03\x03\x00\x15"
    sealed = aead.encrypt(nonce, b"hello", aad)
    assert len(sealed) == 5 + suite.tag_len
    assert aead.decrypt(nonce, sealed, aad) == b"hello"
    with pytest.raises(InvalidTag):
        aead.decrypt(nonce, sealed[:-1] + bytes([sealed[-1] ^ 1]), aad)
    with pytest.raises(InvalidTag):
        aead.decrypt(nonce, sealed, b"\x17\x03\x03\x00\x16")


@pytest.mark.parametrize(
    ("actor", "occurrence", "secret_label", "seq"),
    [
        ("server", 1, '{server}  derive secret "tls13 s hs traffic"', 0),  # EE..Finished
        ("client", 1, '{server}  derive secret "tls13 c hs traffic"', 0),  # client Finished
        ("server", 2, '{server}  derive secret "tls13 s ap traffic"', 0),  # NewSessionTicket
    ],
)
def test_rfc8448_section3_records_decrypt(
    actor: str, occurrence: int, secret_label: str, seq: int
) -> None:
    """RFC 8446 §5.2/§5.3 with the trace's keys: our AEAD objects open the trace's records."""
    sec = TRACE.section("3")
    suite = TLS13_SUITES[0]
    key, iv = traffic_key_iv(suite, sec.get(secret_label, "expanded"))
    step = sec.step(f"{{{actor}}}  send handshake record", occurrence=occurrence)
    record = step["complete record"]
    nonce = (int.from_bytes(iv, "big") ^ seq).to_bytes(12, "big")
    plaintext = suite.aead(key).decrypt(nonce, record[5:], record[:5])
    assert plaintext == step["payload"] + b"\x16"  # TLSInnerPlaintext: content || type


# --- Groups ----------------------------------------------------------------------------------

# The Diffie-Hellman groups; the ML-KEM groups are tested in test_kem_groups.py.
ALL_GROUPS = [g for g in GROUPS.values() if not g.kem]


def test_group_registry() -> None:
    assert set(GROUPS) == {
        NamedGroup.X25519, NamedGroup.X448, NamedGroup.SECP256R1, NamedGroup.SECP384R1,
        NamedGroup.SECP521R1, NamedGroup.FFDHE2048, NamedGroup.FFDHE3072, NamedGroup.FFDHE4096,
        NamedGroup.FFDHE6144, NamedGroup.FFDHE8192, NamedGroup.X25519MLKEM768,
        NamedGroup.SECP256R1MLKEM768, NamedGroup.SECP384R1MLKEM1024, NamedGroup.MLKEM768,
        NamedGroup.MLKEM1024,
    }  # fmt: skip
    assert [g.name for g in DEFAULT_GROUPS] == [
        "X25519MLKEM768", "x25519", "secp256r1", "x448", "secp384r1", "secp521r1", "ffdhe2048",
        "ffdhe3072",
    ]  # fmt: skip
    assert group_by_id(NamedGroup.X25519) is X25519
    assert group_by_id(NamedGroup.MLKEM512) is None
    assert str(SECP256R1) == "secp256r1"


SHARE_LEN = {"x25519": 32, "x448": 56, "secp256r1": 65, "secp384r1": 97, "secp521r1": 133}
SECRET_LEN = {"x25519": 32, "x448": 56, "secp256r1": 32, "secp384r1": 48, "secp521r1": 66}


@pytest.mark.parametrize("group", ALL_GROUPS, ids=str)
def test_group_round_trip(group: Group) -> None:
    client = group.generate()
    assert client.group is group
    server_share, server_secret = group.respond(client.public_bytes)
    assert client.exchange(server_share) == server_secret
    if isinstance(group, FFDHEGroup):
        share_len = secret_len = group.prime_len
    else:
        share_len, secret_len = SHARE_LEN[group.name], SECRET_LEN[group.name]
    assert len(client.public_bytes) == len(server_share) == share_len
    assert len(server_secret) == secret_len
    assert client.public_bytes.hex()[:16] in repr(client)
    assert "private" not in repr(client).replace("PrivateKey", "")


@pytest.mark.parametrize("group", ALL_GROUPS, ids=str)
def test_wrong_length_share(group: Group) -> None:
    share = group.generate()
    good = group.generate().public_bytes
    for bad in (good + b"\x00", good[:-1], b""):
        with pytest.raises(IllegalParameter, match=f"{group.name} key share: .* bytes"):
            share.exchange(bad)
        with pytest.raises(IllegalParameter):
            group.respond(bad)


def test_respond_with_injected_share_of_another_group() -> None:
    with pytest.raises(InternalError, match="x25519 share used for x448"):
        X448.respond(X448.generate().public_bytes, X25519.generate())


@pytest.mark.parametrize("name", ["secp256r1", "secp384r1", "secp521r1"])
def test_ec_point_not_on_curve(name: str) -> None:
    group = next(g for g in ALL_GROUPS if g.name == name)
    n = SHARE_LEN[name] // 2
    share = group.generate()
    with pytest.raises(IllegalParameter, match="not a point on the curve"):
        share.exchange(b"\x04" + (1).to_bytes(n, "big") + (1).to_bytes(n, "big"))
    good = group.generate().public_bytes
    for first in (0x02, 0x03, 0x00, 0x06):  # compressed, infinity, hybrid: all refused
        with pytest.raises(IllegalParameter, match="only uncompressed"):
            share.exchange(bytes([first]) + good[1:])


@pytest.mark.parametrize(
    ("group", "point"),
    [
        (X25519, bytes(32)),  # the all-zero point: shared secret all zeros
        (X25519, b"\x01" + bytes(31)),  # order-1 point
        (X25519, bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")),
        (X448, bytes(56)),
        (X448, b"\x01" + bytes(55)),
    ],
)
def test_montgomery_small_order_points(group: Group, point: bytes) -> None:
    """RFC 8446 §7.4.2: an all-zero X25519/X448 shared secret MUST be refused."""
    with pytest.raises(IllegalParameter, match="all zeros"):
        group.generate().exchange(point)


FFDHE = [g for g in ALL_GROUPS if isinstance(g, FFDHEGroup)]


@pytest.mark.parametrize("group", FFDHE, ids=str)
def test_ffdhe_public_value_range(group: FFDHEGroup) -> None:
    """RFC 7919 §5.1: reject Y <= 1 and Y >= p-1."""
    share = group.generate()
    for y in (0, 1, group.p - 1, group.p, 2 ** (8 * group.prime_len) - 1):
        with pytest.raises(IllegalParameter, match=r"not in 2\.\.p-2"):
            share.exchange(y.to_bytes(group.prime_len, "big"))
    assert len(share.exchange((2).to_bytes(group.prime_len, "big"))) == group.prime_len


def test_ffdhe_shared_secret_is_left_padded() -> None:
    """RFC 8446 §7.4.1: the shared secret keeps leading zeros (padded to the prime length)."""
    group = groups.FFDHE2048
    p, n = group.p, group.prime_len
    peer = group.from_private_bytes((12345).to_bytes(32, "big"))
    y = int.from_bytes(peer.public_bytes, "big")
    x = next(x for x in range(1, 4096) if pow(y, x, p) < 1 << (8 * n - 8))
    ours = group.from_private_bytes(x.to_bytes(2, "big"))
    secret = ours.exchange(peer.public_bytes)
    assert secret[0] == 0
    assert secret == pow(y, x, p).to_bytes(n, "big")
    assert group.respond(peer.public_bytes, ours) == (ours.public_bytes, secret)


def _e_fixed_point(bits: int) -> int:
    """floor(2^bits * e), exactly enough for RFC 7919's formula (64 guard bits)."""
    guard, total, term, k = 64, 0, 1 << (bits + 64), 0
    while term:
        total += term
        k += 1
        term //= k
    return total >> guard


@pytest.mark.parametrize(
    ("group", "x"),
    list(zip(FFDHE, [560316, 2625351, 5736041, 15705020, 10965728], strict=True)),
    ids=str,
)
def test_ffdhe_primes_follow_rfc7919_formula(group: FFDHEGroup, x: int) -> None:
    """RFC 7919 Appendix A: p = 2^b - 2^{b-64} + {[2^{b-130} e] + X} * 2^64 - 1."""
    b = group.prime_len * 8
    assert group.p == 2**b - 2 ** (b - 64) + (_e_fixed_point(b - 130) + x) * 2**64 - 1


def test_from_private_bytes_checks_ec_scalar_length() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SECP256R1.from_private_bytes(b"\x01" * 31)


# --- Signatures ------------------------------------------------------------------------------

RSA_2048 = rsa.generate_private_key(65537, 2048)
RSA_1024 = rsa.generate_private_key(65537, 1024)  # noqa: S505 - too short for PSS-SHA512
Key = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
)
KEYS: dict[str, Key] = {
    "rsa2048": RSA_2048,
    "p256": ec.generate_private_key(ec.SECP256R1()),
    "p384": ec.generate_private_key(ec.SECP384R1()),
    "p521": ec.generate_private_key(ec.SECP521R1()),
    "ed25519": ed25519.Ed25519PrivateKey.generate(),
    "ed448": ed448.Ed448PrivateKey.generate(),
}
OTHER_KEYS: dict[str, Key] = {
    "rsa2048": rsa.generate_private_key(65537, 2048),
    "p256": ec.generate_private_key(ec.SECP256R1()),
    "p384": ec.generate_private_key(ec.SECP384R1()),
    "p521": ec.generate_private_key(ec.SECP521R1()),
    "ed25519": ed25519.Ed25519PrivateKey.generate(),
    "ed448": ed448.Ed448PrivateKey.generate(),
}
TLS13_PAIRS = [
    (S.ECDSA_SECP256R1_SHA256, "p256", False),
    (S.ECDSA_SECP384R1_SHA384, "p384", False),
    (S.ECDSA_SECP521R1_SHA512, "p521", False),
    (S.RSA_PSS_RSAE_SHA256, "rsa2048", False),
    (S.RSA_PSS_RSAE_SHA384, "rsa2048", False),
    (S.RSA_PSS_RSAE_SHA512, "rsa2048", False),
    (S.RSA_PSS_PSS_SHA256, "rsa2048", True),
    (S.RSA_PSS_PSS_SHA384, "rsa2048", True),
    (S.RSA_PSS_PSS_SHA512, "rsa2048", True),
    (S.ED25519, "ed25519", False),
    (S.ED448, "ed448", False),
]
TLS12_PAIRS = [
    (S.RSA_PKCS1_SHA256, "rsa2048"),
    (S.RSA_PKCS1_SHA384, "rsa2048"),
    (S.RSA_PKCS1_SHA512, "rsa2048"),
    (S.RSA_PKCS1_SHA1, "rsa2048"),
    (S.ECDSA_SHA1, "p256"),
    (S.ECDSA_SECP256R1_SHA256, "p384"),  # TLS 1.2: the scheme names only the hash
    (S.RSA_PSS_RSAE_SHA256, "rsa2048"),
]


@pytest.mark.parametrize(("scheme", "key_name", "pss"), TLS13_PAIRS)
def test_tls13_sign_verify_round_trip(scheme: int, key_name: str, pss: bool) -> None:
    key = KEYS[key_name]
    data = certificate_verify_input(b"\x42" * 32, server=True)
    sig = sign(scheme, key, data, rsassa_pss=pss)
    verify(scheme, key.public_key(), sig, data, rsassa_pss=pss)
    with pytest.raises(DecryptError, match="does not verify"):
        verify(scheme, key.public_key(), sig, data + b"x", rsassa_pss=pss)
    with pytest.raises(DecryptError):
        verify(scheme, key.public_key(), sig[:-1] + bytes([sig[-1] ^ 1]), data, rsassa_pss=pss)
    with pytest.raises(DecryptError):  # a signature by another key of the same kind
        verify(scheme, OTHER_KEYS[key_name].public_key(), sig, data, rsassa_pss=pss)


@pytest.mark.parametrize(("scheme", "key_name"), TLS12_PAIRS)
def test_tls12_sign_verify_round_trip(scheme: int, key_name: str) -> None:
    key = KEYS[key_name]
    sig = sign(scheme, key, b"params", tls13=False)
    verify(scheme, key.public_key(), sig, b"params", tls13=False)
    with pytest.raises(DecryptError):
        verify(scheme, key.public_key(), sig, b"paramz", tls13=False)


@pytest.mark.parametrize(
    "scheme", [S.RSA_PKCS1_SHA256, S.RSA_PKCS1_SHA384, S.RSA_PKCS1_SHA512, S.RSA_PKCS1_SHA1]
)
def test_pkcs1_is_refused_in_tls13(scheme: int) -> None:
    """RFC 8446 §4.2.3/§4.4.3: PKCS#1 v1.5 is never valid in a 1.3 CertificateVerify."""
    sig = sign(scheme, RSA_2048, b"data", tls13=False)
    with pytest.raises(IllegalParameter, match=r"not allowed in TLS 1\.3"):
        verify(scheme, RSA_2048.public_key(), sig, b"data")
    with pytest.raises(InternalError, match=r"not allowed in TLS 1\.3"):
        sign(scheme, RSA_2048, b"data")


def test_ecdsa_sha1_is_refused_in_tls13() -> None:
    sig = sign(S.ECDSA_SHA1, KEYS["p256"], b"data", tls13=False)
    with pytest.raises(IllegalParameter, match=r"not allowed in TLS 1\.3"):
        verify(S.ECDSA_SHA1, KEYS["p256"].public_key(), sig, b"data")


@pytest.mark.parametrize(
    ("scheme", "key_name", "pss"),
    [
        (S.ECDSA_SECP256R1_SHA256, "p384", False),  # wrong curve for the scheme in TLS 1.3
        (S.ECDSA_SECP384R1_SHA384, "p256", False),
        (S.ECDSA_SECP521R1_SHA512, "rsa2048", False),
        (S.ED25519, "ed448", False),
        (S.ED448, "ed25519", False),
        (S.ED25519, "p256", False),
        (S.RSA_PSS_RSAE_SHA256, "p256", False),
        (S.RSA_PSS_RSAE_SHA256, "rsa2048", True),  # rsae needs an rsaEncryption key
        (S.RSA_PSS_PSS_SHA256, "rsa2048", False),  # pss needs an RSASSA-PSS key
        (0x0000, "rsa2048", False),  # unknown scheme
        (0x0807 + 0x100, "ed25519", False),
    ],
)
def test_scheme_unfit_for_key(scheme: int, key_name: str, pss: bool) -> None:
    key = KEYS[key_name]
    with pytest.raises(IllegalParameter):
        verify(scheme, key.public_key(), b"\x00" * 64, b"data", rsassa_pss=pss)
    with pytest.raises(InternalError):
        sign(scheme, key, b"data", rsassa_pss=pss)


def test_pkcs1_with_rsassa_pss_key_is_unfit_in_tls12() -> None:
    with pytest.raises(IllegalParameter, match="RSASSA-PSS key"):
        verify(S.RSA_PKCS1_SHA256, RSA_2048.public_key(), b"", b"", tls13=False, rsassa_pss=True)


def test_unsupported_key_types() -> None:
    dsa_key = dsa.generate_private_key(1024)  # noqa: S505 - only its type matters
    with pytest.raises(IllegalParameter, match="DSAPublicKey"):
        verify(S.RSA_PSS_RSAE_SHA256, dsa_key.public_key(), b"", b"")
    with pytest.raises(IllegalParameter, match="X25519PublicKey"):
        verify(S.ED25519, x25519.X25519PrivateKey.generate().public_key(), b"", b"")
    assert schemes_for_key(dsa_key) == ()
    assert select_scheme(dsa_key, DEFAULT_SIGNATURE_SCHEMES) is None


def test_pss_salt_length_must_equal_hash_length() -> None:
    """RFC 8446 §4.2.3: the salt length MUST equal the digest length; we verify strictly."""
    data = b"data"
    sig = RSA_2048.sign(
        data, padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.MAX_LENGTH), hashes.SHA256()
    )
    with pytest.raises(DecryptError):
        verify(S.RSA_PSS_RSAE_SHA256, RSA_2048.public_key(), sig, data)


def test_garbage_signatures_are_decrypt_errors() -> None:
    for scheme, key_name in [(S.ECDSA_SECP256R1_SHA256, "p256"), (S.ED25519, "ed25519")]:
        for sig in (b"", b"\x30\x00", b"\xff" * 200):
            with pytest.raises(DecryptError):
                verify(scheme, KEYS[key_name].public_key(), sig, b"data")
    with pytest.raises(DecryptError):
        verify(S.RSA_PSS_RSAE_SHA256, RSA_2048.public_key(), b"\x01" * 255, b"data")


def test_schemes_for_key() -> None:
    assert schemes_for_key(KEYS["p256"]) == (S.ECDSA_SECP256R1_SHA256,)
    assert schemes_for_key(KEYS["p384"]) == (S.ECDSA_SECP384R1_SHA384,)
    assert schemes_for_key(KEYS["p521"]) == (S.ECDSA_SECP521R1_SHA512,)
    assert schemes_for_key(ec.generate_private_key(ec.SECP256K1())) == ()
    assert schemes_for_key(KEYS["ed25519"]) == (S.ED25519,)
    assert schemes_for_key(KEYS["ed448"]) == (S.ED448,)
    rsae = (S.RSA_PSS_RSAE_SHA256, S.RSA_PSS_RSAE_SHA384, S.RSA_PSS_RSAE_SHA512)
    assert schemes_for_key(RSA_2048) == rsae
    assert schemes_for_key(RSA_2048, rsassa_pss=True) == (
        S.RSA_PSS_PSS_SHA256, S.RSA_PSS_PSS_SHA384, S.RSA_PSS_PSS_SHA512,
    )  # fmt: skip
    # RFC 8017 §9.1.1: a 1024-bit modulus is too short for PSS-SHA512 with a 64-byte salt
    assert schemes_for_key(RSA_1024) == rsae[:2]
    assert schemes_for_key(RSA_2048, tls13=False) == (
        *rsae, S.RSA_PKCS1_SHA256, S.RSA_PKCS1_SHA384, S.RSA_PKCS1_SHA512,
    )  # fmt: skip
    assert schemes_for_key(KEYS["p384"], tls13=False) == (
        S.ECDSA_SECP384R1_SHA384, S.ECDSA_SECP256R1_SHA256, S.ECDSA_SECP521R1_SHA512,
    )  # fmt: skip
    for key in KEYS.values():  # everything schemes_for_key offers actually signs
        for scheme in schemes_for_key(key):
            verify(scheme, key.public_key(), sign(scheme, key, b"d"), b"d")


def test_select_scheme() -> None:
    peer = [S.RSA_PKCS1_SHA256, S.RSA_PSS_RSAE_SHA512, S.RSA_PSS_RSAE_SHA384]
    assert select_scheme(RSA_2048, peer) == S.RSA_PSS_RSAE_SHA384  # our preference wins
    assert select_scheme(RSA_2048, [S.RSA_PKCS1_SHA256]) is None  # never PKCS#1 in 1.3
    assert select_scheme(RSA_2048, [S.RSA_PKCS1_SHA256], tls13=False) == S.RSA_PKCS1_SHA256
    assert select_scheme(KEYS["p256"], []) is None
    assert select_scheme(KEYS["p256"], DEFAULT_SIGNATURE_SCHEMES) == S.ECDSA_SECP256R1_SHA256
    assert select_scheme(RSA_2048, [S.RSA_PSS_PSS_SHA256], rsassa_pss=True) == 0x0809


def test_advertised_scheme_lists() -> None:
    assert TLS13_CERTIFICATE_VERIFY_SCHEMES == (
        S.ECDSA_SECP256R1_SHA256, S.ECDSA_SECP384R1_SHA384, S.ECDSA_SECP521R1_SHA512,
        S.ED25519, S.ED448,
        S.RSA_PSS_RSAE_SHA256, S.RSA_PSS_RSAE_SHA384, S.RSA_PSS_RSAE_SHA512,
        S.RSA_PSS_PSS_SHA256, S.RSA_PSS_PSS_SHA384, S.RSA_PSS_PSS_SHA512,
        S.MLDSA44, S.MLDSA65, S.MLDSA87,  # draft-ietf-tls-mldsa: TLS 1.3 only
    )  # fmt: skip
    pkcs1 = (S.RSA_PKCS1_SHA256, S.RSA_PKCS1_SHA384, S.RSA_PKCS1_SHA512)
    assert DEFAULT_SIGNATURE_SCHEMES[-3:] == pkcs1
    assert DEFAULT_SIGNATURE_SCHEMES[:-3] == TLS13_CERTIFICATE_VERIFY_SCHEMES


def test_certificate_verify_input_layout() -> None:
    """RFC 8446 §4.4.3: 64 x 0x20, the context string, 0x00, the transcript hash."""
    th = bytes(range(32))
    server = certificate_verify_input(th, server=True)
    assert server == b" " * 64 + b"TLS 1.3, server CertificateVerify\x00" + th
    client = certificate_verify_input(th, server=False)
    assert client == b" " * 64 + b"TLS 1.3, client CertificateVerify\x00" + th


# An RSASSA-PSS (id-RSASSA-PSS SPKI) 1024-bit test certificate and key, made with
# `openssl genpkey -algorithm RSA-PSS` + `openssl req -x509`; pyca loads the key as plain RSA.
PSS_CERT = b"""-----BEGIN CERTIFICATE-----
MIICeDCCAa2gAwIBAgIURjZyP7i2bvHTosj1ZxBiYINzdy4wQQYJKoZIhvcNAQEK
MDSgDzANBglghkgBZQMEAgEFAKEcMBoGCSqGSIb3DQEBCDANBglghkgBZQMEAgEF
AKIDAgFeMBoxGDAWBgNVBAMMD3JzYXNzYS1wc3MudGVzdDAgFw0yNjExMjIxNDAz
NDdaGA8yMTI2MTAyOTE0MDM0N1owGjEYMBYGA1UEAwwPcnNhc3NhLXBzcy50ZXN0
MIGdMAsGCSqGSIb3DQEBCgOBjQAwgYkCgYEAx+qWI5eln/wnEf4utXqs+yr3d07P
rxHoZbsM+/30fZq7eiLuJEVGyw7tetgIOvSTc0a90llrHyZSzfFL2ffmdXI3YAgE
go/h5NQSKkI4dWwFPpxsYN+YMtiisgY7QMhUJ3U4Wfp/7dUIwLyHnslJfsrK+0+k
16RiqbHkkmjDDUsCAwEAAaNTMFEwHQYDVR0OBBYEFEMQD35uV9x/1Qyrn/IQseqk
J3vJMB8GA1UdIwQYMBaAFEMQD35uV9x/1Qyrn/IQseqkJ3vJMA8GA1UdEwEB/wQF
MAMBAf8wQQYJKoZIhvcNAQEKMDSgDzANBglghkgBZQMEAgEFAKEcMBoGCSqGSIb3
DQEBCDANBglghkgBZQMEAgEFAKIDAgFeA4GBABd/fUzMXipfb0UPImSPz6oLLdiB
TeIbQVyuxri8rREr/tmcsAftqAMnbj2WNvqhfSPvlRY+U9JwyAuamc1XkS223OiK
6Qws3W2QUaSchZLFaY9axmJzoNcDxHwHHwxZRHtGFxADsG6KUhfrStEhF503QO4U
Zc1nbgJQCX4vZZAF
-----END CERTIFICATE-----
"""
PSS_KEY = b"""-----BEGIN PRIVATE KEY-----
MIICdAIBADALBgkqhkiG9w0BAQoEggJgMIICXAIBAAKBgQDH6pYjl6Wf/CcR/i61
eqz7Kvd3Ts+vEehluwz7/fR9mrt6Iu4kRUbLDu162Ag69JNzRr3SWWsfJlLN8UvZ
9+Z1cjdgCASCj+Hk1BIqQjh1bAU+nGxg35gy2KKyBjtAyFQndThZ+n/t1QjAvIee
yUl+ysr7T6TXpGKpseSSaMMNSwIDAQABAoGAdLWq+RRrCL84P/TYZ/I6Uld/KRPF
gzs9JUbSCbr0pO9US7VguaQH9Du+wFymUWS/QCkoYEj7lK/W34vi8FkdHKMwCmXU
0beWVIAEbYF2gsEk05RRegUIVfI9pSPj5oQKraBgjUTzU106CkJSalHbUNRQoALJ
dbOUkctIY5WjZ8ECQQDsV0j5oi9H16rzN9qF5hG+WbTAGU5UwsulCbmoPzMZGzH7
y+L43fHzmKEFjCfD5rgam/SVJ1cqBgN0G9B4GXxDAkEA2IuqPzvr8SLZPmM6Jqf0
BTEkCrMqzPqjl1nB1ozwYMS8xGcMJ0k7SAruhQkjHQH6iHSxAaxc3+PoG/CJbV0e
WQJAE+58igkCgcWPdjmUpUw03N/F3ZmEwKM4928tiCHkVk6z1W9pceGN4SRTGBus
0tmnVx8l7lpGAJZHPkiGOUq07wJBAK3lMrmHEElb9+Nu4eLrGz4UIWJqUSO83ySK
0uvN0LeVJhX+vrbJy05mYPb6yHTiAuQT+ZVjak3tgpb1ShdGITkCQCngiqfdnklJ
p7Wiv806KPPe2+fN7/0AefuLZb+B3EmtC7+mLW80jy+TXItn7Uzdo5HnUzaV4SvJ
chUMhBv+9qc=
-----END PRIVATE KEY-----
"""


def test_rsassa_pss_certificate_and_key() -> None:
    cert = x509.load_pem_x509_certificate(PSS_CERT)
    key = serialization.load_pem_private_key(PSS_KEY, None)
    assert isinstance(key, rsa.RSAPrivateKey)  # pyca forgets the PSS OID on the key object
    assert spki_is_rsassa_pss(cert)
    pss = spki_is_rsassa_pss(cert)
    assert schemes_for_key(key, rsassa_pss=pss) == (S.RSA_PSS_PSS_SHA256, S.RSA_PSS_PSS_SHA384)
    data = certificate_verify_input(bytes(32), server=True)
    sig = sign(S.RSA_PSS_PSS_SHA256, key, data, rsassa_pss=pss)
    verify(S.RSA_PSS_PSS_SHA256, cert.public_key(), sig, data, rsassa_pss=pss)
    with pytest.raises(IllegalParameter):  # same key bytes, but its certificate says PSS
        verify(S.RSA_PSS_RSAE_SHA256, cert.public_key(), sig, data, rsassa_pss=pss)


# --- RFC 8448 CertificateVerify messages -------------------------------------------------------


def _first_certificate(certificate_msg: bytes) -> x509.Certificate:
    r = Reader(certificate_msg[4:])
    r.opaque(1, what="certificate_request_context")
    entries = r.vector(3, what="certificate_list")
    return x509.load_der_x509_certificate(entries.opaque(3, what="cert_data"))


CV_CASES = [
    (n, actor)
    for n in ("3", "5", "6", "7")
    for actor in ("server", "client")
    if any(a == actor and m == "CertificateVerify" for a, m, _ in TRACE.section(n).messages())
]


@pytest.mark.parametrize(("number", "actor"), CV_CASES)
def test_rfc8448_certificate_verify(number: str, actor: str) -> None:
    """Every CertificateVerify in RFC 8448 verifies over our transcript hash."""
    transcript = TranscriptHash()
    transcript.select_hash("sha256")
    cert: x509.Certificate | None = None
    for who, name, raw in TRACE.section(number).messages():
        if name == "ServerHello" and raw[6:38] == HRR_RANDOM:
            transcript.hello_retry_restart()
        if name == "Certificate" and who == actor:
            cert = _first_certificate(raw)
        if name == "CertificateVerify" and who == actor:
            break
        transcript.update(raw)
    assert cert is not None
    scheme = int.from_bytes(raw[4:6], "big")
    signature = Reader(raw[6:]).opaque(2, what="signature")
    assert not spki_is_rsassa_pss(cert)
    data = certificate_verify_input(transcript.digest(), server=actor == "server")
    verify(scheme, cert.public_key(), signature, data)
    with pytest.raises(DecryptError):  # the other side's context string
        verify(
            scheme,
            cert.public_key(),
            signature,
            certificate_verify_input(transcript.digest(), server=actor != "server"),
        )


def test_rfc8448_section2_key_matches_certificate_and_signs() -> None:
    key_step = TRACE.section("2").step("server RSA private key")
    as_int = {k: int.from_bytes(v, "big") for k, v in key_step.fields.items()}
    public = rsa.RSAPublicNumbers(as_int["public exponent"], as_int["modulus"])
    private = rsa.RSAPrivateNumbers(
        as_int["prime1"], as_int["prime2"], as_int["private exponent"], as_int["exponent1"],
        as_int["exponent2"], as_int["coefficient"], public,
    ).private_key()  # fmt: skip
    certificate = TRACE.section("3").find("construct a Certificate", "Certificate")
    cert_key = _first_certificate(certificate).public_key()
    assert isinstance(cert_key, rsa.RSAPublicKey)
    assert cert_key.public_numbers() == public
    sig = sign(S.RSA_PSS_RSAE_SHA256, private, b"data")
    verify(S.RSA_PSS_RSAE_SHA256, cert_key, sig, b"data")
