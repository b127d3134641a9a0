"""CertifiedKey and trust-anchor loading (RFC 8446 §4.4.2, §4.2.3)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import ipaddress
import ssl
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from tlsmachine.certs import (
    KEY_TYPES,
    CertifiedKey,
    load_trust_anchors,
    public_key_problem,
    unique_certificates,
)
from tlsmachine.errors import ConfigurationError

FAST_KEY_TYPES = [k for k in KEY_TYPES if k not in ("rsa-3072", "rsa-4096")]

try:
    import pki
except ModuleNotFoundError:  # tests/ is not on sys.path (no pytest `pythonpath = ["tests"]`)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import pki


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> pki.TestPKI:
    return pki.make_pki(tmp_path_factory.mktemp("pki"), intermediate=True)


# --- load ------------------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", pki.KEY_TYPES)
def test_load_round_trip(tree: pki.TestPKI, key_type: str) -> None:
    issued = tree.leaves[key_type]
    loaded = CertifiedKey.load(issued.chain_path, issued.key_path)
    assert loaded.chain == issued.chain
    assert loaded.leaf == issued.cert
    assert loaded.der_chain == issued.der_chain
    assert type(loaded.private_key) is type(issued.key)
    assert loaded.private_key_pem() == issued.key_path.read_bytes()


def test_load_key_from_the_certificate_file(tree: pki.TestPKI) -> None:
    issued = tree.leaves["ecdsa-p384"]
    loaded = CertifiedKey.load(str(issued.combined_path))
    assert loaded.chain == issued.chain
    assert isinstance(loaded.private_key, ec.EllipticCurvePrivateKey)


def test_load_encrypted_key(tree: pki.TestPKI, tmp_path: Path) -> None:
    issued = tree.leaves["ed25519"]
    original = CertifiedKey.load(issued.chain_path, issued.key_path)
    keyfile = tmp_path / "encrypted.pem"
    keyfile.write_bytes(original.private_key_pem(b"s3cret"))
    assert b"ENCRYPTED PRIVATE KEY" in keyfile.read_bytes()
    for password in (b"s3cret", "s3cret"):
        assert CertifiedKey.load(issued.chain_path, keyfile, password).chain == issued.chain
    with pytest.raises(ConfigurationError, match="cannot load the private key"):
        CertifiedKey.load(issued.chain_path, keyfile, b"wrong")
    with pytest.raises(ConfigurationError, match="cannot load the private key"):
        CertifiedKey.load(issued.chain_path, keyfile)


def test_load_errors(tree: pki.TestPKI, tmp_path: Path) -> None:
    issued = tree.leaves["ecdsa-p256"]
    with pytest.raises(ConfigurationError, match=r"cannot read certificate file .*missing\.pem"):
        CertifiedKey.load(tmp_path / "missing.pem", issued.key_path)
    with pytest.raises(ConfigurationError, match="cannot read key file"):
        CertifiedKey.load(issued.chain_path, tmp_path / "missing-key.pem")
    with pytest.raises(ConfigurationError, match="no PEM private key found"):
        CertifiedKey.load(issued.chain_path)  # key not in the certificate file
    with pytest.raises(ConfigurationError, match="no readable PEM certificate"):
        CertifiedKey.load(issued.key_path, issued.key_path)


def test_key_mismatch(tree: pki.TestPKI) -> None:
    cert_of, key_of = tree.leaves["ecdsa-p256"], tree.leaves["rsa-2048"]
    with pytest.raises(ConfigurationError, match="private key does not match the certificate"):
        CertifiedKey.load(cert_of.chain_path, key_of.key_path)
    other_same_type = tree.leaves["expired"]  # also ECDSA P-256: a different key of that type
    with pytest.raises(ConfigurationError, match="CN=localhost"):
        CertifiedKey(cert_of.chain, other_same_type.key)


def test_construction_checks() -> None:
    with pytest.raises(ConfigurationError, match="at least the leaf"):
        CertifiedKey((), ec.generate_private_key(ec.SECP256R1()))
    dsa_key = dsa.generate_private_key(2048)
    cert = pki.build_certificate(
        subject="dsa",
        key=dsa_key,
        issuer=None,
        not_before=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        not_after=dt.datetime(2034, 1, 1, tzinfo=dt.UTC),
        ca=False,
        names=("localhost",),
    )
    with pytest.raises(ConfigurationError, match="DSAPrivateKey keys cannot sign"):
        CertifiedKey((cert,), dsa_key)  # type: ignore[arg-type]
    k1 = ec.generate_private_key(ec.SECP256K1())
    cert = pki.build_certificate(
        subject="k1",
        key=k1,
        issuer=None,
        not_before=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        not_after=dt.datetime(2034, 1, 1, tzinfo=dt.UTC),
        ca=False,
        names=("localhost",),
    )
    with pytest.raises(ConfigurationError, match="secp256k1"):
        CertifiedKey((cert,), k1)


def test_is_frozen_and_der_chain_is_computed_once(tree: pki.TestPKI) -> None:
    issued = tree.leaves["rsa-2048"]
    certified = CertifiedKey(issued.chain, issued.key)
    assert certified.der_chain is certified.der_chain
    assert certified.der_chain == issued.der_chain
    with pytest.raises(dataclasses.FrozenInstanceError):
        certified.chain = ()  # type: ignore[misc]
    assert "private_key" not in repr(certified)


def test_chain_is_stored_as_a_tuple(tree: pki.TestPKI) -> None:
    issued = tree.leaves["ed25519"]
    certified = CertifiedKey(list(issued.chain), issued.key)  # type: ignore[arg-type]
    assert certified.chain == issued.chain
    assert isinstance(certified.chain, tuple)


# --- self_signed -----------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", FAST_KEY_TYPES)
def test_self_signed(key_type: str) -> None:
    now = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    certified = CertifiedKey.self_signed(
        ("localhost", "127.0.0.1", "::1", "demo.example"), key_type, valid_days=10, now=now
    )
    leaf = certified.leaf
    assert leaf.issuer == leaf.subject
    assert leaf.not_valid_before_utc == now - dt.timedelta(hours=1)
    assert leaf.not_valid_after_utc == now + dt.timedelta(days=10)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "demo.example"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    basic = leaf.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical
    assert not basic.value.ca
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    leaf.verify_directly_issued_by(leaf)  # the self-signature is valid


@pytest.mark.parametrize(
    ("key_type", "key_class"),
    [
        ("ecdsa-p521", ec.EllipticCurvePrivateKey),
        ("ed25519", ed25519.Ed25519PrivateKey),
        ("ed448", ed448.Ed448PrivateKey),
        ("rsa-2048", rsa.RSAPrivateKey),
    ],
)
def test_self_signed_key_types(key_type: str, key_class: type) -> None:
    assert isinstance(CertifiedKey.self_signed(key_type=key_type).private_key, key_class)


def test_self_signed_errors() -> None:
    with pytest.raises(ConfigurationError, match="unknown key type 'dsa-1024'"):
        CertifiedKey.self_signed(key_type="dsa-1024")
    with pytest.raises(ConfigurationError, match="at least one host name"):
        CertifiedKey.self_signed(())
    with pytest.raises(ConfigurationError, match="valid_days"):
        CertifiedKey.self_signed(valid_days=0)
    with pytest.raises(ConfigurationError, match="not a valid host name"):
        CertifiedKey.self_signed(("a" * 70 + ".example",))
    long_name = ".".join(["a" * 60] * 3)  # valid, but longer than a CN may be (RFC 5280 ub-cn)
    leaf = CertifiedKey.self_signed((long_name,), "ed25519").leaf
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [long_name]


def test_fingerprint(tree: pki.TestPKI) -> None:
    issued = tree.leaves["ecdsa-p256"]
    certified = CertifiedKey(issued.chain, issued.key)
    fingerprint = certified.fingerprint_sha256()
    parts = fingerprint.split(":")
    assert len(parts) == 32
    assert all(len(p) == 2 and p == p.upper() for p in parts)
    assert bytes.fromhex("".join(parts)) == hashlib.sha256(issued.der_chain[0]).digest()


def test_pem_output_round_trips(tmp_path: Path) -> None:
    certified = CertifiedKey.self_signed(("localhost",), "ed25519")
    (tmp_path / "c.pem").write_bytes(certified.chain_pem())
    (tmp_path / "k.pem").write_bytes(certified.private_key_pem())
    again = CertifiedKey.load(tmp_path / "c.pem", tmp_path / "k.pem")
    assert again.der_chain == certified.der_chain


def test_python_ssl_accepts_the_files(tree: pki.TestPKI, tmp_path: Path) -> None:
    # The PKI helper's and self_signed()'s PEM files are usable by other TLS stacks.
    for issued in (tree.leaves["rsa-2048"], tree.leaves["ecdsa-p256"]):
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(issued.chain_path, issued.key_path)
        server.load_cert_chain(issued.combined_path)
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.load_verify_locations(tree.ca_path)
    assert client.cert_store_stats()["x509_ca"] == 1
    demo = CertifiedKey.self_signed()
    (tmp_path / "demo.pem").write_bytes(demo.chain_pem() + demo.private_key_pem())
    ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(tmp_path / "demo.pem")
    ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=demo.chain_pem().decode())


# --- trust anchors, key checks ---------------------------------------------------------------


def test_load_trust_anchors(tree: pki.TestPKI) -> None:
    assert tree.intermediate is not None
    bundle = tree.ca_pem + tree.intermediate.cert_path.read_bytes() + tree.ca_pem
    anchors = load_trust_anchors(cadata=bundle)
    assert anchors == (tree.ca.cert, tree.intermediate.cert)  # duplicates dropped, order kept
    der = tree.ca.cert.public_bytes(serialization.Encoding.DER)
    assert load_trust_anchors(tree.ca_path, der) == (tree.ca.cert,)
    assert load_trust_anchors() == ()
    assert unique_certificates([tree.ca.cert, tree.ca.cert]) == (tree.ca.cert,)
    with pytest.raises(ConfigurationError, match="cadata: no readable PEM certificate"):
        load_trust_anchors(cadata="-----BEGIN CERTIFICATE-----\nnope\n")


def test_public_key_problem() -> None:
    assert public_key_problem(ec.generate_private_key(ec.SECP384R1()).public_key()) is None
    assert public_key_problem(ed25519.Ed25519PrivateKey.generate().public_key()) is None
    small = rsa.generate_private_key(65537, 1024).public_key()  # noqa: S505 - tested as too small
    assert public_key_problem(small) == "its RSA key has 1024 bits, below the minimum of 2048"
    assert public_key_problem(small, min_rsa_bits=1024) is None
    assert "DSA" in str(public_key_problem(dsa.generate_private_key(2048).public_key()))
