"""TLS 1.2 PRF and derived secrets (RFC 5246 §5, §6.3, §7.4.9, §8.1; RFC 7627 §4; RFC 5705 §4).

Every expected value here comes from outside our code:

* the P_SHA256 and P_SHA384 "test label" vectors posted to the IETF TLS working group
  (https://www.ietf.org/mail-archive/web/tls/current/msg03416.html), used by GnuTLS and others;
* vectors computed once with OpenSSL 3.0.19's own TLS 1.2 PRF (``openssl kdf ... TLS1-PRF``,
  whose seed is label || seed), for example the SHA-256 master secret::

      openssl kdf -keylen 48 -kdfopt digest:SHA256 -kdfopt hexsecret:$PREMASTER \\
          -kdfopt hexseed:$(printf 'master secret' | xxd -p)$CLIENT_RANDOM$SERVER_RANDOM \\
          TLS1-PRF

  The inputs are arbitrary fixed bytes (SHAKE-256 of a description, e.g. of
  ``"tlsmachine premaster"``), the seeds are written out longhand next to each vector.

When ``openssl`` is on PATH, :func:`test_prf_matches_openssl_on_random_inputs` also compares
random inputs with it live.
"""

from __future__ import annotations

import hashlib
import hmac
import shutil
import subprocess
from dataclasses import FrozenInstanceError

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tlsmachine.crypto.suites import (
    TLS12_SUITES,
    TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    CipherSuite12,
)
from tlsmachine.errors import UsageError
from tlsmachine.prf import (
    CLIENT_FINISHED,
    MASTER_SECRET_LEN,
    SERVER_FINISHED,
    VERIFY_DATA_LEN,
    KeyBlock,
    export_keying_material12,
    extended_master_secret,
    key_block,
    master_secret,
    prf,
    verify_data,
)

H = bytes.fromhex

# -- the IETF TLS WG vectors (msg03416) ---------------------------------------------------------

IETF_SHA256 = H(
    "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a"
    "6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab"
    "4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701"
    "87347b66"
)
IETF_SHA384 = H(
    "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd"
    "e9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd"
    "8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425"
    "9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee6"
    "91c8f3a26854308d5eaa3be85e0990703d73e56f"
)


def test_ietf_sha256_vector() -> None:
    secret, seed = H("9bbe436ba940f017b17652849a71db35"), H("a0ba9f936cda311827a6f796ffd5198c")
    out = prf("sha256", secret, b"test label", seed, 100)
    assert len(IETF_SHA256) == 100
    assert out == IETF_SHA256


def test_ietf_sha384_vector() -> None:
    secret, seed = H("b80b733d6ceefcdc71566ea48e5567df"), H("cd665cf6a8447dd6ff8b27555edb7465")
    out = prf("sha384", secret, b"test label", seed, 148)
    assert len(IETF_SHA384) == 148
    assert out == IETF_SHA384


@pytest.mark.parametrize("length", [0, 1, 31, 32, 33, 64, 99])
def test_prf_output_is_a_prefix_of_longer_output(length: int) -> None:
    """P_hash output does not depend on the requested length (RFC 5246 §5: truncate)."""
    secret, seed = H("9bbe436ba940f017b17652849a71db35"), H("a0ba9f936cda311827a6f796ffd5198c")
    out = prf("sha256", secret, b"test label", seed, length)
    assert out == IETF_SHA256[:length]


def test_prf_longhand() -> None:
    """P_hash written out with the standard library's hmac (RFC 5246 §5), 3 blocks."""
    secret, label, seed = b"k" * 20, b"a label", b"s" * 40
    a1 = hmac.new(secret, label + seed, "sha384").digest()
    a2 = hmac.new(secret, a1, "sha384").digest()
    a3 = hmac.new(secret, a2, "sha384").digest()
    expected = b"".join(hmac.new(secret, a + label + seed, "sha384").digest() for a in (a1, a2, a3))
    assert prf("sha384", secret, label, seed, 130) == expected[:130]


def test_prf_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="hash"):
        prf("md5", b"k", b"l", b"s", 16)
    with pytest.raises(ValueError, match="negative"):
        prf("sha256", b"k", b"l", b"s", -1)


# -- vectors from OpenSSL 3.0.19's TLS1-PRF ---------------------------------------------------

PREMASTER = H(  # SHAKE-256("tlsmachine premaster", 48)
    "31d06cd2d8bae8f50b6e3cd476661ec612d541158eb5d48760d57266c2ec2b19"
    "004ea89884b29ed8a80dcab6009244c6"
)
CLIENT_RANDOM = H("9e1a2f416417d3b1cf0e16d14f77aab3ffb129abc5f77aa8a6ecff69949f14e6")
SERVER_RANDOM = H("484c1e9b0b64e218dbab6d457e524f2dc903714bb911f7e66af0759c970a175f")
MASTER = H(  # SHAKE-256("tlsmachine master_secret", 48)
    "2877152466b5d94b61bc875f40c89f15664e1e6121d9cb6acc3b1b63481f82ee"
    "f8c6e856a28a3f5b71b58b87df34340a"
)
SESSION_HASH = {
    "sha256": H("bc09ea6316435b6c294b4c0bc49d325ec4a3a321e4df10a4d3747cc1f21560e2"),
    "sha384": H(
        "3db17f7640342aa4a257a8146ded86cffb44f1b681d91f1578fcd5620cc82817"
        "b1eeb8804cfd7b875832ec45df38c623"
    ),
}
HANDSHAKE_HASH = {
    "sha256": H("93956fd170ecd957b73fcf9c542f91b3aaf609f300b36eac65446f42d9df137b"),
    "sha384": H(
        "622a84e74c47dd58ab02ab95a8978b930e03090103e8984566a725906bae85a5"
        "1d45972a035b1a23634f4384f1bf1cdb"
    ),
}

# seed "master secret" || CLIENT_RANDOM || SERVER_RANDOM, secret PREMASTER, 48 bytes
MASTER_SECRET = {
    "sha256": H(
        "627b23938358835a820b3d30cf38c88e9f866be04fb96165a9276db79f69fd30"
        "27b8da0a65db72625076fd1c1b990160"
    ),
    "sha384": H(
        "41763f1a050b580d0f37892872cbfa7b9900c17fb69dee567f51c91ecc731038"
        "3bd44384057b50c4b6532e19edb86d4a"
    ),
}
# seed "extended master secret" || SESSION_HASH, secret PREMASTER, 48 bytes
EXTENDED_MASTER_SECRET = {
    "sha256": H(
        "b24ef66d8e4e1f42f7ac325b72cfd5284342e3aaa4151d8b192cf5b0375c70ee"
        "e3ad29719fab7fb196aed956f8edffdf"
    ),
    "sha384": H(
        "6239182f956675e74f9a7bbc48f37ff37607deea34a54a3fe64d0ee850644c00"
        "363fb8f0a52ad5cd8f4882c141ea523f"
    ),
}
# seed "key expansion" || SERVER_RANDOM || CLIENT_RANDOM, secret MASTER
KEY_BLOCK_SHA256_88 = H(
    "a389f8c1903073d2c5a8ee6f9b302f9d6994ac0bf78398e23fb0642213a263b6"
    "eefa3ff49dd710845de0bcb27e5baa806a32777845f805915029dfd3db301b8c"
    "9105b57d03da4a2d4b671c20268e6b042906b004aca191e4"
)
KEY_BLOCK_SHA384_72 = H(
    "9ecf7a6d88de7a8c832a7e59016064b53ee5a898a0e867ce63e87557429336ef"
    "367a0c76ad5af16d213c2f94c853e13725ede04c7cfb497f83a9ce24dd0aa6ba"
    "a88359b576a7810e"
)
# seed "client finished" / "server finished" || HANDSHAKE_HASH, secret MASTER, 12 bytes
VERIFY_DATA = {
    ("sha256", CLIENT_FINISHED): H("30e09523df706ba2ad10e3cb"),
    ("sha256", SERVER_FINISHED): H("d893605536f536ce13f42870"),
    ("sha384", CLIENT_FINISHED): H("3c4dcaedc251bce58adbb6b1"),
    ("sha384", SERVER_FINISHED): H("03dbfc105fdf90ad009c9afc"),
}
# RFC 5705 §4, secret MASTER, 42 bytes, label "EXPERIMENTAL tlsmachine", seeds:
#   no context:    CLIENT_RANDOM || SERVER_RANDOM
#   empty context: CLIENT_RANDOM || SERVER_RANDOM || 00 00
#   "some context": CLIENT_RANDOM || SERVER_RANDOM || 00 0c || "some context"
EXPORTER_LABEL = b"EXPERIMENTAL tlsmachine"
EXPORTER = {
    ("sha256", None): H(
        "74f77795c450b930e04dee29cc7fd0d4cc11df44fc24e2b4f114da669f2e337a70e253ee38e4cff3b1f0"
    ),
    ("sha256", b""): H(
        "d0563248706af8c09430c553b4905ae6692dbcee29bc4069d3c5232407c92f173b7646dc0b42008ac0d3"
    ),
    ("sha256", b"some context"): H(
        "c2de075a10e0106be179ff2f54f4a6f0d094b036496c0361895adc614a3435f54cce30ff95d4b9fbceb7"
    ),
    ("sha384", None): H(
        "c3e3257f4a8732bc0be6ec0162890cfdd2912d755d1ecc1165092f72b046c082f5f6e81ba6c1f0331d8a"
    ),
    ("sha384", b""): H(
        "9b156772e9cfe0a38f069613bcc9d6727c785877d4efff227f5b8fcd1d17b6ab1574e079aee80221f9bb"
    ),
    ("sha384", b"some context"): H(
        "21dd7a1b25c46398e4dae4fa58b8ebb46ac3f8b7d59b287036d19e8926b5a746f5620d7ac4171d3f27f2"
    ),
}
HASHES = ["sha256", "sha384"]


def test_inputs_are_what_the_comments_say() -> None:
    """The fixed inputs are SHAKE-256 of their descriptions (so they can be regenerated)."""

    def shake(text: str, n: int) -> bytes:
        return hashlib.shake_256(text.encode()).digest(n)

    assert shake("tlsmachine premaster", 48) == PREMASTER
    assert shake("tlsmachine client_random", 32) == CLIENT_RANDOM
    assert shake("tlsmachine server_random", 32) == SERVER_RANDOM
    assert shake("tlsmachine master_secret", 48) == MASTER
    for name, digest in (("sha256", "SHA256"), ("sha384", "SHA384")):
        n = len(SESSION_HASH[name])
        assert shake(f"tlsmachine session_hash {digest}", n) == SESSION_HASH[name]
        assert shake(f"tlsmachine handshake_hash {digest}", n) == HANDSHAKE_HASH[name]


@pytest.mark.parametrize("hash_name", HASHES)
def test_master_secret(hash_name: str) -> None:
    out = master_secret(hash_name, PREMASTER, CLIENT_RANDOM, SERVER_RANDOM)
    assert len(out) == MASTER_SECRET_LEN == 48
    assert out == MASTER_SECRET[hash_name]
    # RFC 5246 §8.1: client_random first; swapping them gives another secret
    assert master_secret(hash_name, PREMASTER, SERVER_RANDOM, CLIENT_RANDOM) != out


@pytest.mark.parametrize("hash_name", HASHES)
def test_extended_master_secret(hash_name: str) -> None:
    out = extended_master_secret(hash_name, PREMASTER, SESSION_HASH[hash_name])
    assert out == EXTENDED_MASTER_SECRET[hash_name]
    assert out != MASTER_SECRET[hash_name]


def test_key_block_aes_128_gcm_sha256() -> None:
    kb = key_block(TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, MASTER, CLIENT_RANDOM, SERVER_RANDOM)
    # RFC 5246 §6.3: no MAC keys; client key, server key, client IV, server IV
    block = KEY_BLOCK_SHA256_88[:40]
    assert kb == KeyBlock(block[0:16], block[16:32], block[32:36], block[36:40])


def test_key_block_aes_256_gcm_sha384() -> None:
    kb = key_block(TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, MASTER, CLIENT_RANDOM, SERVER_RANDOM)
    block = KEY_BLOCK_SHA384_72
    assert kb == KeyBlock(block[0:32], block[32:64], block[64:68], block[68:72])


def test_key_block_chacha20_poly1305_sha256() -> None:
    kb = key_block(TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256, MASTER, CLIENT_RANDOM, SERVER_RANDOM)
    block = KEY_BLOCK_SHA256_88
    assert kb == KeyBlock(block[0:32], block[32:64], block[64:76], block[76:88])


@pytest.mark.parametrize("suite", TLS12_SUITES, ids=str)
def test_key_block_lengths(suite: CipherSuite12) -> None:
    kb = key_block(suite, MASTER, CLIENT_RANDOM, SERVER_RANDOM)
    assert len(kb.client_write_key) == len(kb.server_write_key) == suite.key_len
    assert len(kb.client_write_iv) == len(kb.server_write_iv) == suite.fixed_iv_len
    assert len({kb.client_write_key, kb.server_write_key}) == 2


def test_key_block_hides_keys_and_is_frozen() -> None:
    kb = key_block(TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, MASTER, CLIENT_RANDOM, SERVER_RANDOM)
    assert repr(kb) == "KeyBlock()"
    assert kb.client_write_key.hex() not in repr(kb)
    with pytest.raises(FrozenInstanceError):
        kb.client_write_key = b""  # type: ignore[misc]


@pytest.mark.parametrize("hash_name", HASHES)
@pytest.mark.parametrize("label", [CLIENT_FINISHED, SERVER_FINISHED])
def test_verify_data(hash_name: str, label: bytes) -> None:
    out = verify_data(hash_name, MASTER, label, HANDSHAKE_HASH[hash_name])
    assert len(out) == VERIFY_DATA_LEN == 12
    assert out == VERIFY_DATA[hash_name, label]


def test_randoms_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        master_secret("sha256", PREMASTER, CLIENT_RANDOM[:31], SERVER_RANDOM)
    with pytest.raises(ValueError, match="32 bytes"):
        key_block(TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, MASTER, CLIENT_RANDOM, b"")


# -- exporter (RFC 5705 §4) -------------------------------------------------------------------


@pytest.mark.parametrize("hash_name", HASHES)
@pytest.mark.parametrize("context", [None, b"", b"some context"], ids=["none", "empty", "ctx"])
def test_exporter(hash_name: str, context: bytes | None) -> None:
    out = export_keying_material12(
        hash_name, MASTER, CLIENT_RANDOM, SERVER_RANDOM, EXPORTER_LABEL, context, 42
    )
    assert out == EXPORTER[hash_name, context]


def test_exporter_no_context_differs_from_empty_context() -> None:
    """Unlike TLS 1.3 (RFC 8446 §7.5), absent and empty contexts differ (RFC 5705 §4)."""
    assert EXPORTER["sha256", None] != EXPORTER["sha256", b""]


def test_exporter_longhand() -> None:
    """The RFC 5705 §4 seed construction written out, over our (independently tested) PRF."""
    context = bytes(range(200)) * 2
    seed = CLIENT_RANDOM + SERVER_RANDOM + b"\x01\x90" + context
    expected = prf("sha384", MASTER, b"EXPERIMENTAL x", seed, 100)
    out = export_keying_material12(
        "sha384", MASTER, CLIENT_RANDOM, SERVER_RANDOM, b"EXPERIMENTAL x", context, 100
    )
    assert out == expected


@pytest.mark.parametrize(
    "label",
    [
        b"client finished",
        b"server finished",
        b"master secret",
        b"key expansion",
        b"extended master secret",
    ],
)
def test_exporter_refuses_reserved_labels(label: bytes) -> None:
    with pytest.raises(UsageError, match="reserved"):
        export_keying_material12("sha256", MASTER, CLIENT_RANDOM, SERVER_RANDOM, label, None, 32)


def test_exporter_rejects_bad_arguments() -> None:
    args = ("sha256", MASTER, CLIENT_RANDOM, SERVER_RANDOM, EXPORTER_LABEL)
    with pytest.raises(UsageError, match="2\\^16"):
        export_keying_material12(*args, bytes(0x10000), 32)
    assert len(export_keying_material12(*args, bytes(0xFFFF), 32)) == 32
    with pytest.raises(UsageError, match="negative"):
        export_keying_material12(*args, None, -1)
    assert export_keying_material12(*args, None, 0) == b""


# -- live comparison with OpenSSL ------------------------------------------------------------

_OPENSSL = shutil.which("openssl")


def _openssl_prf(digest: str, secret: bytes, seed: bytes, length: int) -> bytes | None:
    """OpenSSL's TLS1-PRF (seed = label || seed); None if this openssl has no ``kdf``."""
    assert _OPENSSL is not None
    args = ["-kdfopt", f"digest:{digest}", "-kdfopt", f"hexsecret:{secret.hex()}"]
    args += ["-kdfopt", f"hexseed:{seed.hex()}", "-binary", "TLS1-PRF"]
    result = subprocess.run(
        [_OPENSSL, "kdf", "-keylen", str(length), *args], capture_output=True, check=False
    )
    return result.stdout if result.returncode == 0 else None


@pytest.mark.skipif(_OPENSSL is None, reason="openssl not on PATH")
@settings(max_examples=8, deadline=None)
@given(
    hash_name=st.sampled_from(HASHES),
    secret=st.binary(min_size=1, max_size=64),
    label=st.binary(min_size=1, max_size=30),
    seed=st.binary(min_size=1, max_size=100),
    length=st.integers(1, 200),
)
def test_prf_matches_openssl_on_random_inputs(
    hash_name: str, secret: bytes, label: bytes, seed: bytes, length: int
) -> None:
    expected = _openssl_prf(hash_name.upper(), secret, label + seed, length)
    if expected is None:
        pytest.skip("this openssl has no TLS1-PRF kdf (OpenSSL 3.0 or later needed)")
    assert prf(hash_name, secret, label, seed, length) == expected
