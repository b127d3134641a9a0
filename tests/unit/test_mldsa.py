"""ML-DSA signature schemes (draft-ietf-tls-mldsa; FIPS 204; certificates as RFC 9881).

mldsa44/65/87 (0x0904-0x0906) sign the RFC 8446 §4.4.3 content in pure ML-DSA with an empty
FIPS 204 context (draft §3.2), need the matching id-ML-DSA-* key, and exist in TLS 1.3 only: a
TLS 1.2 ServerKeyExchange or CertificateVerify with one is illegal_parameter (draft §3.3).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, mldsa
from cryptography.x509.oid import PublicKeyAlgorithmOID, SignatureAlgorithmOID

import pki
from tlsmachine import ConfigurationError, ServerConfig
from tlsmachine.certs import KEY_TYPES, CertifiedKey, generate_private_key, public_key_problem
from tlsmachine.crypto.signatures import (
    DEFAULT_SIGNATURE_SCHEMES,
    TLS12_SCHEMES,
    TLS13_CERTIFICATE_VERIFY_SCHEMES,
    certificate_verify_input,
    key_kind,
    schemes_for_key,
    select_scheme,
    sign,
    verify,
)
from tlsmachine.enums import SignatureScheme as S
from tlsmachine.errors import DecryptError, IllegalParameter, InternalError, UnsupportedCertificate
from tlsmachine.machine import scheme_name
from tlsmachine.verify import DefaultVerifier, PinnedCertificate, check_leaf_usable

PrivateKey = mldsa.MLDSA44PrivateKey | mldsa.MLDSA65PrivateKey | mldsa.MLDSA87PrivateKey

LEVELS = [
    pytest.param(S.MLDSA44, "mldsa44", mldsa.MLDSA44PrivateKey, 2420, id="mldsa44"),
    pytest.param(S.MLDSA65, "mldsa65", mldsa.MLDSA65PrivateKey, 3309, id="mldsa65"),
    pytest.param(S.MLDSA87, "mldsa87", mldsa.MLDSA87PrivateKey, 4627, id="mldsa87"),
]
MLDSA = (S.MLDSA44, S.MLDSA65, S.MLDSA87)
CONTENT = certificate_verify_input(b"\x5a" * 32, server=True)


def _key(key_class: Any) -> PrivateKey:
    key: PrivateKey = key_class.generate()
    return key


# --- the scheme table ---------------------------------------------------------------------------


def test_code_points_and_names() -> None:
    assert (S.MLDSA44, S.MLDSA65, S.MLDSA87) == (0x0904, 0x0905, 0x0906)
    assert [scheme_name(s) for s in MLDSA] == ["mldsa44", "mldsa65", "mldsa87"]


def test_tls13_only() -> None:
    for scheme in MLDSA:
        assert scheme in TLS13_CERTIFICATE_VERIFY_SCHEMES
        assert scheme not in TLS12_SCHEMES  # draft-ietf-tls-mldsa §3.3
    assert S.ECDSA_SECP256R1_SHA256 in TLS12_SCHEMES
    assert S.RSA_PKCS1_SHA256 in TLS12_SCHEMES


def test_offered_by_default_after_the_classical_schemes() -> None:
    """After every classical CertificateVerify scheme; then the rsa_pkcs1_* ones, which sign
    only certificates and TLS 1.2 messages, so they never compete with ML-DSA."""
    assert TLS13_CERTIFICATE_VERIFY_SCHEMES[-3:] == MLDSA
    assert DEFAULT_SIGNATURE_SCHEMES[-6:] == (
        *MLDSA,
        S.RSA_PKCS1_SHA256,
        S.RSA_PKCS1_SHA384,
        S.RSA_PKCS1_SHA512,
    )
    assert len(set(DEFAULT_SIGNATURE_SCHEMES)) == len(DEFAULT_SIGNATURE_SCHEMES)
    assert S.ECDSA_SECP256R1_SHA256 in DEFAULT_SIGNATURE_SCHEMES[:-6]


# --- sign / verify ------------------------------------------------------------------------------


@pytest.mark.parametrize(("scheme", "kind", "key_class", "sig_len"), LEVELS)
def test_sign_verify(scheme: int, kind: str, key_class: type, sig_len: int) -> None:
    key = _key(key_class)
    signature = sign(scheme, key, CONTENT)
    assert len(signature) == sig_len  # FIPS 204 Table 2
    verify(scheme, key.public_key(), signature, CONTENT)
    with pytest.raises(DecryptError, match="does not verify"):
        verify(scheme, key.public_key(), signature, CONTENT[:-1] + b"\x00")


@pytest.mark.parametrize(("scheme", "kind", "key_class", "sig_len"), LEVELS)
def test_empty_fips204_context(scheme: int, kind: str, key_class: type, sig_len: int) -> None:
    """draft-ietf-tls-mldsa §3.2: the FIPS 204 ctx is empty; §4.4.3's string is in the data."""
    key = _key(key_class)
    verify(scheme, key.public_key(), key.sign(CONTENT, b""), CONTENT)
    with pytest.raises(DecryptError):
        verify(scheme, key.public_key(), key.sign(CONTENT, b"TLS 1.3"), CONTENT)
    key.public_key().verify(sign(scheme, key, CONTENT), CONTENT, b"")


@pytest.mark.parametrize(("scheme", "kind", "key_class", "sig_len"), LEVELS)
def test_wrong_length_signature_is_decrypt_error(
    scheme: int, kind: str, key_class: type, sig_len: int
) -> None:
    """draft-ietf-tls-mldsa §3.2: a signature of the wrong length is a verification failure."""
    key = _key(key_class)
    good = sign(scheme, key, CONTENT)
    for bad in (b"", good[:-1], good + b"\x00", b"\xff" * sig_len):
        with pytest.raises(DecryptError):
            verify(scheme, key.public_key(), bad, CONTENT)


@pytest.mark.parametrize(("scheme", "kind", "key_class", "sig_len"), LEVELS)
def test_not_allowed_in_tls12(scheme: int, kind: str, key_class: type, sig_len: int) -> None:
    key = _key(key_class)
    signature = sign(scheme, key, CONTENT)
    with pytest.raises(IllegalParameter, match=r"not allowed in TLS 1\.2"):
        verify(scheme, key.public_key(), signature, CONTENT, tls13=False)
    with pytest.raises(InternalError, match=r"not allowed in TLS 1\.2"):
        sign(scheme, key, CONTENT, tls13=False)
    assert schemes_for_key(key, tls13=False) == ()
    assert select_scheme(key, DEFAULT_SIGNATURE_SCHEMES, tls13=False) is None


def test_scheme_must_match_the_parameter_set() -> None:
    key65 = mldsa.MLDSA65PrivateKey.generate()
    signature = sign(S.MLDSA65, key65, CONTENT)
    for other in (S.MLDSA44, S.MLDSA87, S.ECDSA_SECP256R1_SHA256, S.ED25519):
        with pytest.raises(IllegalParameter, match="does not fit a mldsa65"):
            verify(other, key65.public_key(), signature, CONTENT)
        with pytest.raises(InternalError):
            sign(other, key65, CONTENT)
    p256 = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(IllegalParameter, match="does not fit a ec"):
        verify(S.MLDSA65, p256.public_key(), signature, CONTENT)


# --- key detection and scheme choice -------------------------------------------------------------


@pytest.mark.parametrize(("scheme", "kind", "key_class", "sig_len"), LEVELS)
def test_key_detection(scheme: int, kind: str, key_class: type, sig_len: int) -> None:
    key = _key(key_class)
    assert key_kind(key) == kind
    assert key_kind(key.public_key()) == kind
    assert schemes_for_key(key) == (scheme,)
    assert select_scheme(key, DEFAULT_SIGNATURE_SCHEMES) == scheme
    classical_only = [s for s in DEFAULT_SIGNATURE_SCHEMES if s not in MLDSA]
    assert select_scheme(key, classical_only) is None
    assert public_key_problem(key.public_key()) is None


def test_classical_keys_never_get_mldsa() -> None:
    for key_type in ("ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-2048"):
        key = generate_private_key(key_type)
        assert not set(MLDSA) & set(schemes_for_key(key))


# --- certificates -------------------------------------------------------------------------------


@pytest.mark.parametrize(("scheme", "kind", "key_class", "sig_len"), LEVELS)
def test_self_signed(scheme: int, kind: str, key_class: type, sig_len: int) -> None:
    assert kind in KEY_TYPES
    certified = CertifiedKey.self_signed(("localhost", "127.0.0.1"), key_type=kind)
    leaf = certified.leaf
    assert isinstance(certified.private_key, key_class)
    assert leaf.public_key_algorithm_oid == getattr(PublicKeyAlgorithmOID, f"ML_DSA_{kind[5:]}")
    assert leaf.signature_algorithm_oid == getattr(SignatureAlgorithmOID, f"ML_DSA_{kind[5:]}")
    assert leaf.signature_hash_algorithm is None  # pure ML-DSA (RFC 9881 §3)
    leaf.verify_directly_issued_by(leaf)
    check_leaf_usable(leaf)  # not judged weak or unknown


@pytest.mark.parametrize("password", [None, b"secret"])
def test_load_pem_key_and_chain(tmp_path: Path, password: bytes | None) -> None:
    certified = CertifiedKey.self_signed(key_type="mldsa65")
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(certified.chain_pem())
    key_path.write_bytes(certified.private_key_pem(password))
    loaded = CertifiedKey.load(cert_path, key_path, password)
    assert isinstance(loaded.private_key, mldsa.MLDSA65PrivateKey)
    assert loaded.der_chain == certified.der_chain
    combined = tmp_path / "combined.pem"
    combined.write_bytes(certified.chain_pem() + certified.private_key_pem())
    assert CertifiedKey.load(combined).leaf == certified.leaf


def test_key_must_match_the_certificate() -> None:
    leaf = CertifiedKey.self_signed(key_type="mldsa65").leaf
    with pytest.raises(ConfigurationError, match="does not match"):
        CertifiedKey((leaf,), mldsa.MLDSA65PrivateKey.generate())
    with pytest.raises(ConfigurationError, match="does not match"):
        CertifiedKey((leaf,), mldsa.MLDSA87PrivateKey.generate())


def test_server_config_with_only_an_mldsa_certificate() -> None:
    certified = CertifiedKey.self_signed(key_type="mldsa44")
    ServerConfig(certificates=(certified,))  # TLS 1.3 works; TLS 1.2 just has no certificate
    with pytest.raises(ConfigurationError, match=r"TLS 1\.2"):
        ServerConfig(certificates=(certified,), max_version="1.2")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="mldsa44"):
        ServerConfig(
            certificates=(certified,),
            signature_schemes=("ecdsa_secp256r1_sha256",),  # type: ignore[arg-type]
        )


# --- chain validation (pyca's verifier accepts ML-DSA: RFC 9881 keys and signatures) ------------


@pytest.fixture(scope="module")
def mldsa_pki(tmp_path_factory: pytest.TempPathFactory) -> pki.TestPKI:
    return pki.make_pki(
        tmp_path_factory.mktemp("mldsa-pki"),
        intermediate=True,
        key_types=("mldsa44", "mldsa87", "ecdsa-p256"),
        ca_key_type="mldsa87",
        intermediate_key_type="mldsa65",
    )


@pytest.mark.parametrize("leaf_type", ["mldsa44", "mldsa87", "ecdsa-p256"])
def test_mldsa_chain_validates(mldsa_pki: pki.TestPKI, leaf_type: str) -> None:
    issued = mldsa_pki.leaves[leaf_type]
    verifier = DefaultVerifier(cafile=mldsa_pki.ca_path)
    now = dt.datetime.now(dt.UTC)
    verifier.verify_server(issued.chain, "localhost", now)
    verifier.verify_client(issued.chain, now)


def test_mldsa_leaf_under_a_classical_ca(tmp_path: Path) -> None:
    tree = pki.make_pki(tmp_path, intermediate=True, key_types=("mldsa65",))
    leaf = tree.leaves["mldsa65"]
    DefaultVerifier(cafile=tree.ca_path).verify_server(leaf.chain, "127.0.0.1", tree.now)


def test_pinned_mldsa_certificate() -> None:
    certified = CertifiedKey.self_signed(key_type="mldsa87")
    now = dt.datetime.now(dt.UTC)
    PinnedCertificate(certified.leaf).verify_server(certified.chain, "localhost", now)
    DefaultVerifier(cadata=certified.chain_pem()).verify_server(certified.chain, "localhost", now)


def test_weak_signature_diagnosis_does_not_blame_mldsa(tmp_path: Path) -> None:
    """A chain pyca rejects for a weak signature names the SHA-224 link, not the ML-DSA one."""
    now = dt.datetime.now(dt.UTC)
    start, end = now - dt.timedelta(days=1), now + dt.timedelta(days=30)
    root_key = pki.generate_key("ecdsa-p256")
    root = pki.build_certificate(
        subject="root", key=root_key, issuer=None, not_before=start, not_after=end, ca=True
    )
    inter_key = pki.generate_key("mldsa65")
    inter = pki.build_certificate(
        subject="inter", key=inter_key, issuer=(root, root_key), not_before=start, not_after=end,
        ca=True,
    )  # fmt: skip
    assert isinstance(root_key, ec.EllipticCurvePrivateKey)
    inter = _resign(inter, root_key, hashes.SHA224())  # pyca's web PKI forbids SHA-224
    leaf = pki.build_certificate(
        subject="localhost", key=pki.generate_key("mldsa44"), issuer=(inter, inter_key),
        not_before=start, not_after=end, ca=False, names=("localhost",),
    )  # fmt: skip
    verifier = DefaultVerifier(cadata=root.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(UnsupportedCertificate) as failure:
        verifier.verify_server((leaf, inter), "localhost", now)
    message = str(failure.value)
    assert "'inter' is signed with SHA-224" in message
    assert "ML-DSA" not in message


def _resign(
    cert: x509.Certificate, key: ec.EllipticCurvePrivateKey, algorithm: hashes.SHA224
) -> x509.Certificate:
    """The same certificate fields signed again by ``key`` with ``algorithm``."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(cert.subject)
        .issuer_name(cert.issuer)
        .public_key(cert.public_key())
        .serial_number(cert.serial_number)
        .not_valid_before(cert.not_valid_before_utc)
        .not_valid_after(cert.not_valid_after_utc)
    )
    for extension in cert.extensions:
        builder = builder.add_extension(extension.value, extension.critical)
    return builder.sign(key, algorithm)
