"""Verification that explains itself: every rejection names the certificate, the facts and the
fix, and carries the RFC 8446 §6.2 alert the verify.py table gives it. Also capath, system store
discovery (SSL_CERT_FILE/SSL_CERT_DIR, ssl.get_default_verify_paths, certifi) and pinning."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import shutil
import ssl
import subprocess
import sys
import types
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder

from tlsmachine import (
    AlertReceived,
    ClientConfig,
    ClientConnection,
    ServerConfig,
    ServerConnection,
)
from tlsmachine import trust_store as trust_store_module
from tlsmachine.certs import (
    CertifiedKey,
    certificate_sha256,
    load_trust_store,
    spki_sha256,
    system_trust_store,
)
from tlsmachine.enums import AlertDescription, ProtocolVersion
from tlsmachine.errors import (
    BadCertificate,
    CertificateExpired,
    CertificateRequired,
    ConfigurationError,
    DecodeError,
    ProtocolError,
    UnknownCA,
    UnsupportedCertificate,
)
from tlsmachine.verify import CertificateVerifier, DefaultVerifier, PinnedCertificate

try:
    import pki
    from memory_pair import pump
except ModuleNotFoundError:  # tests/ is not on sys.path (no pytest `pythonpath = ["tests"]`)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import pki
    from memory_pair import pump

Chain = list[x509.Certificate]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> pki.TestPKI:
    """Root -> intermediate -> leaves (ECDSA P-256 only: fast)."""
    return pki.make_pki(
        tmp_path_factory.mktemp("pki-explained"), intermediate=True, key_types=("ecdsa-p256",)
    )


@pytest.fixture(scope="module")
def other(tmp_path_factory: pytest.TempPathFactory) -> pki.TestPKI:
    """Another root with an intermediate: its chains are unknown to ``tree``'s verifier."""
    return pki.make_pki(
        tmp_path_factory.mktemp("pki-other"),
        intermediate=True,
        key_types=("ecdsa-p256",),
        ca_name="other root CA",
    )


@pytest.fixture(scope="module")
def verifier(tree: pki.TestPKI) -> DefaultVerifier:
    return DefaultVerifier(cafile=tree.ca_path)


@pytest.fixture(scope="module")
def rsa_root() -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """An RSA root: the only kind of CA a SHA-1/MD5 signature can be made with here."""
    key = rsa.generate_private_key(65537, 2048)
    now = dt.datetime.now(dt.UTC)
    cert = pki.build_certificate(
        subject="rsa root",
        key=key,
        issuer=None,
        not_before=now - dt.timedelta(days=1),
        not_after=now + dt.timedelta(days=30),
        ca=True,
    )
    return cert, key


def issued(
    tree: pki.TestPKI,
    key: object = None,
    issuer: tuple[x509.Certificate, object] | None = None,
    **kwargs: object,
) -> x509.Certificate:
    """A certificate for localhost issued by ``issuer`` (default: the tree's intermediate)."""
    assert tree.intermediate is not None
    options: dict[str, object] = {
        "subject": "localhost",
        "key": key or pki.generate_key("ecdsa-p256"),
        "issuer": issuer or (tree.intermediate.cert, tree.intermediate.key),
        "not_before": tree.now - dt.timedelta(days=1),
        "not_after": tree.now + dt.timedelta(days=3),
        "ca": False,
        "names": pki.LOCAL_NAMES,
    }
    options.update(kwargs)
    return pki.build_certificate(**options)  # type: ignore[arg-type]


def under_intermediate(tree: pki.TestPKI, leaf: x509.Certificate) -> Chain:
    assert tree.intermediate is not None
    return [leaf, tree.intermediate.cert]


def bare_builder(
    subject: str, issuer: x509.Certificate, key: object, now: dt.datetime, days: int = 1
) -> x509.CertificateBuilder:
    """A certificate builder with only a subject, an issuer, a key and a validity period
    (serial 9): the tests add exactly the extensions they are about."""
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer.subject)
        .public_key(key.public_key())  # type: ignore[attr-defined]
        .serial_number(9)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
    )


def ca_certificate(
    tree: pki.TestPKI,
    subject: str,
    key: object,
    *,
    key_usage: x509.KeyUsage | None = None,
    eku: tuple[x509.ObjectIdentifier, ...] = (),
) -> x509.Certificate:
    """An intermediate CA under the tree's root with the given keyUsage / EKU restrictions."""
    public = key.public_key()  # type: ignore[attr-defined]
    usage = key_usage or x509.KeyUsage(True, False, False, False, False, True, True, False, False)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(tree.ca.cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(tree.now - dt.timedelta(days=1))
        .not_valid_after(tree.now + dt.timedelta(days=10))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(tree.ca.key.public_key()),
            critical=False,
        )
    )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    return builder.sign(tree.ca.key, hashes.SHA256())


def rejected(
    verifier: DefaultVerifier | PinnedCertificate,
    chain: Chain | tuple[x509.Certificate, ...],
    now: dt.datetime,
    error: type[ProtocolError],
    alert: AlertDescription,
    name: str | None = "localhost",
) -> str:
    """Verify ``chain`` as a server chain; it must fail with ``error`` / ``alert``: the message."""
    with pytest.raises(error) as info:
        verifier.verify_server(list(chain), name, now)
    assert type(info.value) is error
    assert info.value.alert is alert
    return str(info.value)


def fmt(when: dt.datetime) -> str:
    return f"{when.astimezone(dt.UTC):%Y-%m-%d %H:%M:%S} UTC"


# --- SHA-1 and MD5 signatures: pyca no longer makes them, so sign the TBS by hand -------------

_SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")  # OID 1.2.840.113549.1.1.11, DER
_WEAK_RSA = {
    "sha1": (bytes.fromhex("06092a864886f70d010105"), hashes.SHA1()),  # noqa: S303 - the test
    "md5": (bytes.fromhex("06092a864886f70d010104"), hashes.MD5()),  # noqa: S303 - the test
}


def _der(tag: int, body: bytes) -> bytes:
    if len(body) < 128:
        return bytes([tag, len(body)]) + body
    size = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def signed_with(cert: x509.Certificate, key: rsa.RSAPrivateKey, weak: str) -> x509.Certificate:
    """``cert`` (sha256WithRSAEncryption) signed again, validly, with SHA-1 or MD5."""
    oid, algorithm = _WEAK_RSA[weak]
    tbs = cert.tbs_certificate_bytes.replace(_SHA256_RSA, oid, 1)
    signature = key.sign(tbs, padding.PKCS1v15(), algorithm)
    der = _der(0x30, tbs + _der(0x30, oid + b"\x05\x00") + _der(0x03, b"\x00" + signature))
    return x509.load_der_x509_certificate(der)


# --- validity: certificate_expired, with the dates ----------------------------------------------


def test_expired_leaf_names_the_dates_and_the_fix(
    tree: pki.TestPKI, verifier: DefaultVerifier
) -> None:
    message = rejected(
        verifier,
        tree.expired.chain,
        tree.now,
        CertificateExpired,
        AlertDescription.CERTIFICATE_EXPIRED,
    )
    assert message.startswith("certificate for 'localhost' expired on 2020-01-01 00:00:00 UTC")
    assert f"now {fmt(tree.now)}" in message
    assert "valid from 2019-01-01 00:00:00 UTC to 2020-01-01 00:00:00 UTC" in message
    assert "the peer's own certificate" in message
    assert message.endswith("the peer must renew its certificate")


def test_not_yet_valid_leaf_hints_at_the_clock(
    tree: pki.TestPKI, verifier: DefaultVerifier
) -> None:
    message = rejected(
        verifier,
        tree.not_yet_valid.chain,
        tree.now,
        CertificateExpired,
        AlertDescription.CERTIFICATE_EXPIRED,
    )
    assert message.startswith(
        "certificate for 'localhost' is not valid before 2099-01-01 00:00:00 UTC"
    )
    assert "valid from 2099-01-01 00:00:00 UTC to 2099-01-31 00:00:00 UTC" in message
    assert f"now {fmt(tree.now)}" in message
    assert "check that this machine's clock is right" in message


def test_expired_intermediate_is_named_with_its_position(tree: pki.TestPKI) -> None:
    key = pki.generate_key("ecdsa-p256")
    old = pki.build_certificate(
        subject="old intermediate",
        key=key,
        issuer=(tree.ca.cert, tree.ca.key),
        not_before=tree.now - dt.timedelta(days=100),
        not_after=tree.now - dt.timedelta(days=10),
        ca=True,
    )
    leaf = issued(tree, issuer=(old, key))
    message = rejected(
        DefaultVerifier(cafile=tree.ca_path),
        [leaf, old],
        tree.now,
        CertificateExpired,
        AlertDescription.CERTIFICATE_EXPIRED,
    )
    when = fmt(tree.now - dt.timedelta(days=10))
    assert message.startswith(f"intermediate CA certificate 'old intermediate' expired on {when}")
    assert "certificate 2 of 2 the peer sent" in message
    assert "the peer must send its CA's current intermediate certificate" in message


def test_expired_trust_anchor_names_where_it_came_from() -> None:
    now = dt.datetime(2030, 6, 1, tzinfo=dt.UTC)
    ca_key = pki.generate_key("ecdsa-p256")
    ca = pki.build_certificate(
        subject="short-lived root",
        key=ca_key,
        issuer=None,
        not_before=now - dt.timedelta(days=10),
        not_after=now - dt.timedelta(days=1),
        ca=True,
    )
    leaf = pki.build_certificate(
        subject="localhost",
        key=pki.generate_key("ecdsa-p256"),
        issuer=(ca, ca_key),
        not_before=now - dt.timedelta(days=5),
        not_after=now + dt.timedelta(days=5),
        ca=False,
        names=("localhost",),
    )
    message = rejected(
        DefaultVerifier(cadata=ca.public_bytes(serialization.Encoding.PEM)),
        [leaf],
        now,
        CertificateExpired,
        AlertDescription.CERTIFICATE_EXPIRED,
    )
    assert message.startswith("trusted CA certificate 'short-lived root' expired on 2030-05-31")
    assert "a trust anchor from cadata" in message
    assert "the trust anchors need updating" in message


# --- names: bad_certificate, with the names the certificate covers ------------------------------


def test_hostname_mismatch_lists_dns_and_ip_names(
    tree: pki.TestPKI, verifier: DefaultVerifier
) -> None:
    message = rejected(
        verifier,
        tree.leaves["ecdsa-p256"].chain,
        tree.now,
        BadCertificate,
        AlertDescription.BAD_CERTIFICATE,
        name="www.example.com",
    )
    assert message == (
        "host name 'www.example.com' does not match the certificate's names:"
        " localhost, 127.0.0.1, ::1"
    )


def test_ip_address_against_dns_only_certificate_hints_to_use_the_host_name(
    tree: pki.TestPKI, verifier: DefaultVerifier
) -> None:
    message = rejected(
        verifier,
        tree.other_host.chain,
        tree.now,
        BadCertificate,
        AlertDescription.BAD_CERTIFICATE,
        name="192.0.2.7",
    )
    assert message.startswith(
        "IP address '192.0.2.7' does not match the certificate's names: other.example;"
    )
    assert "the certificate has no IP address names: connect by host name" in message


def test_ip_written_as_a_dns_name_is_explained(
    tree: pki.TestPKI, verifier: DefaultVerifier
) -> None:
    leaf = issued(tree, san=x509.SubjectAlternativeName([x509.DNSName("192.0.2.7")]), names=())
    message = rejected(
        verifier,
        under_intermediate(tree, leaf),
        tree.now,
        BadCertificate,
        AlertDescription.BAD_CERTIFICATE,
        name="192.0.2.7",
    )
    assert "'192.0.2.7' is there as a DNS name, which never matches an IP address" in message
    assert "iPAddress subjectAltName" in message


def test_host_name_against_ip_only_certificate(
    tree: pki.TestPKI, verifier: DefaultVerifier
) -> None:
    leaf = issued(tree, names=("192.0.2.7", "2001:db8::1"))
    message = rejected(
        verifier,
        under_intermediate(tree, leaf),
        tree.now,
        BadCertificate,
        AlertDescription.BAD_CERTIFICATE,
        name="localhost",
    )
    assert "names: 192.0.2.7, 2001:db8::1;" in message
    assert "only IP address names: connect by IP address" in message


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("a.b.example.com", "the wildcard '*.example.com' covers exactly one label"),
        ("example.com", "'*.example.com' does not cover 'example.com' itself"),
    ],
)
def test_wildcard_mismatches_are_explained(
    tree: pki.TestPKI, verifier: DefaultVerifier, name: str, hint: str
) -> None:
    leaf = issued(tree, names=("*.example.com",))
    verifier.verify_server(under_intermediate(tree, leaf), "www.example.com", tree.now)
    message = rejected(
        verifier,
        under_intermediate(tree, leaf),
        tree.now,
        BadCertificate,
        AlertDescription.BAD_CERTIFICATE,
        name=name,
    )
    assert hint in message


def test_certificate_without_subject_alt_name(tree: pki.TestPKI, verifier: DefaultVerifier) -> None:
    leaf = issued(tree, names=())
    message = rejected(
        verifier,
        under_intermediate(tree, leaf),
        tree.now,
        BadCertificate,
        AlertDescription.BAD_CERTIFICATE,
    )
    assert message.startswith("certificate for 'localhost' has no subjectAltName extension")
    assert "subject common name is ignored" in message


# --- trust: unknown_ca, naming the issuer and the trust anchors -----------------------------------


def test_self_signed_leaf_says_how_to_trust_it(
    tree: pki.TestPKI, verifier: DefaultVerifier
) -> None:
    message = rejected(
        verifier, tree.untrusted.chain, tree.now, UnknownCA, AlertDescription.UNKNOWN_CA
    )
    assert message.startswith("certificate for 'localhost' is self-signed and not trusted")
    assert f"trust anchors: 1 certificate from cafile {tree.ca_path}" in message
    assert "cafile=, capath= or cadata=" in message
    assert f"PinnedCertificate('{certificate_sha256(tree.untrusted.cert)}')" in message


def test_missing_intermediate_says_the_server_must_send_its_chain(
    tree: pki.TestPKI, verifier: DefaultVerifier
) -> None:
    message = rejected(
        verifier,
        tree.leaves["ecdsa-p256"].chain[:1],
        tree.now,
        UnknownCA,
        AlertDescription.UNKNOWN_CA,
    )
    issuer = "CN=tlsmachine test intermediate CA,O=tlsmachine tests"
    assert f"ends at issuer '{issuer}', which is not a trust anchor" in message
    assert f"(trust anchors: 1 certificate from cafile {tree.ca_path})" in message
    assert "The peer sent no intermediate CA certificate" in message
    assert "must send its full chain" in message
    assert "published at" not in message


def test_missing_intermediate_points_at_the_published_issuer(tree: pki.TestPKI) -> None:
    assert tree.intermediate is not None
    aia = x509.AuthorityInformationAccess(
        [
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS,
                x509.UniformResourceIdentifier("http://ca.example/intermediate.der"),
            )
        ]
    )
    key = pki.generate_key("ecdsa-p256")
    leaf = (
        bare_builder("localhost", tree.intermediate.cert, key, tree.now)
        .add_extension(pki.san_for(("localhost",)), critical=False)
        .add_extension(aia, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(tree.intermediate.key.public_key()),
            critical=False,
        )
        .sign(tree.intermediate.key, hashes.SHA256())
    )
    message = rejected(
        DefaultVerifier(cafile=tree.ca_path),
        [leaf],
        tree.now,
        UnknownCA,
        AlertDescription.UNKNOWN_CA,
    )
    assert "the issuer's certificate is published at http://ca.example/intermediate.der" in message


def test_missing_required_extension_is_named(tree: pki.TestPKI, verifier: DefaultVerifier) -> None:
    """An intermediate CA without basicConstraints (RFC 5280 §4.2.1.9: a CA certificate
    without it cannot issue, §6.1.4 (k))."""
    key = pki.generate_key("ecdsa-p256")
    inter = (
        bare_builder("no-constraints CA", tree.ca.cert, key, tree.now, days=10)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(tree.ca.key.public_key()),
            critical=False,
        )
        .sign(tree.ca.key, hashes.SHA256())
    )
    message = rejected(
        verifier,
        [issued(tree, issuer=(inter, key)), inter],
        tree.now,
        BadCertificate,
        AlertDescription.BAD_CERTIFICATE,
    )
    assert "lacks an extension the web PKI requires (RFC 5280 §4.2): basicConstraints" in message


def test_leaf_without_authority_key_identifier_is_accepted(
    tree: pki.TestPKI, verifier: DefaultVerifier
) -> None:
    """authorityKeyIdentifier is a rule for issuing certificates (RFC 5280 §4.2.1.1) that path
    validation does not need (§6.1); OpenSSL 1.1's ``x509 -req`` leaves it out, and OpenSSL,
    GnuTLS and Go accept such a leaf. pyca's web PKI profile alone would not."""
    assert tree.intermediate is not None
    key = pki.generate_key("ecdsa-p256")
    leaf = (
        bare_builder("localhost", tree.intermediate.cert, key, tree.now)
        .add_extension(pki.san_for(("localhost",)), critical=False)
        .sign(tree.intermediate.key, hashes.SHA256())
    )
    chain = under_intermediate(tree, leaf)
    assert verifier.verify_server(chain, "localhost", tree.now)[0] == leaf
    with pytest.raises(BadCertificate, match="does not match"):
        verifier.verify_server(chain, "example.com", tree.now)


def test_ca_without_key_usage_is_accepted(tree: pki.TestPKI, tmp_path: Path) -> None:
    """The usual private CA of OpenSSL 3.0: ``openssl req -x509`` (cA=TRUE, no keyUsage), and
    a server certificate from ``openssl x509 -req``. RFC 5280 checks keyCertSign only when
    keyUsage is there (§6.1.4 (n)); OpenSSL accepts the chain, and so do we."""
    openssl = shutil.which("openssl") or "openssl"

    def run(*argv: str) -> None:
        subprocess.run([openssl, *argv], check=True, capture_output=True, timeout=30)

    ec_key = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    run("req", "-x509", *ec_key, "-keyout", str(tmp_path / "ca.key"), "-out",
        str(tmp_path / "ca.pem"), "-subj", "/CN=Private CA", "-days", "30")  # fmt: skip
    run("req", *ec_key, "-keyout", str(tmp_path / "srv.key"), "-out", str(tmp_path / "srv.csr"),
        "-subj", "/CN=localhost")  # fmt: skip
    (tmp_path / "ext.cnf").write_text("subjectAltName=DNS:localhost\n")
    run("x509", "-req", "-in", str(tmp_path / "srv.csr"), "-CA", str(tmp_path / "ca.pem"),
        "-CAkey", str(tmp_path / "ca.key"), "-CAcreateserial", "-out", str(tmp_path / "srv.pem"),
        "-days", "30", "-extfile", str(tmp_path / "ext.cnf"))  # fmt: skip
    ca = x509.load_pem_x509_certificate((tmp_path / "ca.pem").read_bytes())
    with pytest.raises(x509.ExtensionNotFound):
        ca.extensions.get_extension_for_class(x509.KeyUsage)
    leaf = x509.load_pem_x509_certificate((tmp_path / "srv.pem").read_bytes())
    path = DefaultVerifier(cafile=tmp_path / "ca.pem").verify_server(
        (leaf,), "localhost", dt.datetime.now(dt.UTC)
    )
    assert path == (leaf, ca)


def test_unknown_issuer_names_it_and_the_anchors(
    tree: pki.TestPKI, other: pki.TestPKI, verifier: DefaultVerifier
) -> None:
    # The peer sends its intermediate; the intermediate's issuer (another root) is unknown.
    message = rejected(
        verifier,
        other.leaves["ecdsa-p256"].chain,
        tree.now,
        UnknownCA,
        AlertDescription.UNKNOWN_CA,
    )
    assert "the chain the peer sent (2 certificates) ends at issuer" in message
    assert "'CN=other root CA,O=tlsmachine tests', which is not a trust anchor" in message
    assert f"trust anchors: 1 certificate from cafile {tree.ca_path}" in message
    assert "if you trust 'CN=other root CA,O=tlsmachine tests', add its certificate" in message


def test_untrusted_root_sent_by_the_peer(
    tree: pki.TestPKI, other: pki.TestPKI, verifier: DefaultVerifier
) -> None:
    # pyca reports this as "exceeds max depth": still plainly an unknown CA.
    chain = [*other.leaves["ecdsa-p256"].chain, other.ca.cert]
    message = rejected(verifier, chain, tree.now, UnknownCA, AlertDescription.UNKNOWN_CA)
    assert "ends at the self-signed root CA 'CN=other root CA,O=tlsmachine tests'" in message
    assert certificate_sha256(other.ca.cert) in message
    assert "longer than allowed" not in message


def test_unknown_issuer_counts_anchors_from_several_sources(
    tree: pki.TestPKI, other: pki.TestPKI, tmp_path: Path
) -> None:
    (tmp_path / "a.pem").write_bytes(other.ca_pem)
    assert other.intermediate is not None
    extra = other.intermediate.cert.public_bytes(serialization.Encoding.DER)
    both = DefaultVerifier(cafile=tree.ca_path, capath=tmp_path, cadata=extra)
    message = rejected(both, tree.untrusted.chain, tree.now, UnknownCA, AlertDescription.UNKNOWN_CA)
    assert (
        f"trust anchors: 3 certificates from cafile {tree.ca_path} (1) and capath {tmp_path} (1)"
        " and cadata (1)"
    ) in message


def test_chain_longer_than_allowed_counts_the_intermediates(tree: pki.TestPKI) -> None:
    short = DefaultVerifier(cafile=tree.ca_path, max_chain_depth=0)
    message = rejected(
        short, tree.leaves["ecdsa-p256"].chain, tree.now, UnknownCA, AlertDescription.UNKNOWN_CA
    )
    assert message == (
        "certificate for 'localhost' has a chain longer than allowed: 1 intermediate CA"
        " certificate up to the trust anchor 'tlsmachine test root CA', more than"
        " max_chain_depth=0"
    )


def test_issuer_name_held_by_a_non_ca(tree: pki.TestPKI) -> None:
    fake = pki.build_certificate(
        subject="tlsmachine test intermediate CA",
        key=pki.generate_key("ecdsa-p256"),
        issuer=None,
        not_before=tree.now - dt.timedelta(days=1),
        not_after=tree.now + dt.timedelta(days=1),
        ca=False,
        names=("x.example",),
    )
    message = rejected(
        DefaultVerifier(cadata=fake.public_bytes(serialization.Encoding.PEM)),
        tree.leaves["ecdsa-p256"].chain[:1],
        tree.now,
        UnknownCA,
        AlertDescription.UNKNOWN_CA,
    )
    assert "names an issuer that is not a CA certificate: 'x.example'" in message
    assert "a trust anchor from cadata" in message


# --- usages: unsupported_certificate / bad_certificate, naming the missing usage ---------------


def test_extended_key_usage_lists_what_the_certificate_allows(
    tree: pki.TestPKI, verifier: DefaultVerifier
) -> None:
    leaf = issued(tree, eku=(ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.CODE_SIGNING))
    message = rejected(
        verifier,
        under_intermediate(tree, leaf),
        tree.now,
        UnsupportedCertificate,
        AlertDescription.UNSUPPORTED_CERTIFICATE,
    )
    assert message.startswith(
        "certificate for 'localhost' is not valid for this purpose: its extended key usage"
        " lacks id-kp-serverAuth (it allows id-kp-clientAuth, id-kp-codeSigning)"
    )
    server_only = issued(tree, eku=(ExtendedKeyUsageOID.SERVER_AUTH,))
    with pytest.raises(UnsupportedCertificate, match="lacks id-kp-clientAuth") as info:
        verifier.verify_client(under_intermediate(tree, server_only), tree.now)
    assert "a TLS client certificate" in str(info.value)


def test_extended_key_usage_of_an_intermediate_is_blamed_on_it(tree: pki.TestPKI) -> None:
    key = pki.generate_key("ecdsa-p256")
    inter = ca_certificate(tree, "client-only CA", key, eku=(ExtendedKeyUsageOID.CLIENT_AUTH,))
    message = rejected(
        DefaultVerifier(cafile=tree.ca_path),
        [issued(tree, issuer=(inter, key)), inter],
        tree.now,
        UnsupportedCertificate,
        AlertDescription.UNSUPPORTED_CERTIFICATE,
    )
    assert message.startswith("intermediate CA certificate 'client-only CA' is not valid")
    assert "lacks id-kp-serverAuth (it allows id-kp-clientAuth)" in message


def test_key_usage_without_digital_signature(tree: pki.TestPKI, verifier: DefaultVerifier) -> None:
    # RFC 8446 §4.4.2.2: pyca's policy does not check this; TLS needs it to sign the handshake.
    assert tree.intermediate is not None
    key = pki.generate_key("ecdsa-p256")
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(tree.intermediate.cert.subject)
        .public_key(key.public_key())
        .serial_number(8)
        .not_valid_before(tree.now - dt.timedelta(days=1))
        .not_valid_after(tree.now + dt.timedelta(days=1))
        .add_extension(pki.san_for(("localhost",)), critical=False)
        .add_extension(
            x509.KeyUsage(False, False, False, False, True, False, False, False, False),
            critical=True,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(tree.intermediate.key.public_key()),
            critical=False,
        )
        .sign(tree.intermediate.key, hashes.SHA256())
    )
    message = rejected(
        verifier,
        under_intermediate(tree, leaf),
        tree.now,
        UnsupportedCertificate,
        AlertDescription.UNSUPPORTED_CERTIFICATE,
    )
    assert message == (
        "certificate for 'localhost' cannot be used: its keyUsage (keyAgreement) lacks"
        " digitalSignature, which TLS needs to sign the handshake (RFC 8446 §4.4.2.2)"
    )


def test_ca_without_key_cert_sign_is_named(tree: pki.TestPKI) -> None:
    key = pki.generate_key("ecdsa-p256")
    usage = x509.KeyUsage(True, False, False, False, False, False, True, False, False)
    inter = ca_certificate(tree, "no-signing CA", key, key_usage=usage)
    message = rejected(
        DefaultVerifier(cafile=tree.ca_path),
        [issued(tree, issuer=(inter, key)), inter],
        tree.now,
        BadCertificate,
        AlertDescription.BAD_CERTIFICATE,
    )
    assert message.startswith(
        "intermediate CA certificate 'no-signing CA' may not sign certificates: its keyUsage"
        " (digitalSignature, cRLSign) lacks keyCertSign"
    )
    assert "certificate 2 of 2 the peer sent" in message


# --- weak keys and signatures -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("make_key", "facts"),
    [
        (
            lambda: rsa.generate_private_key(65537, 1024),  # noqa: S505 - the point of the test
            "its RSA key has 1024 bits, below the minimum of 2048",
        ),
        (
            lambda: ec.generate_private_key(ec.SECP192R1()),
            "its ECDSA key is on secp192r1, a weak 192-bit curve",
        ),
    ],
    ids=["rsa-1024", "p-192"],
)
def test_weak_leaf_key(
    tree: pki.TestPKI, verifier: DefaultVerifier, make_key: object, facts: str
) -> None:
    assert callable(make_key)
    leaf = issued(tree, key=make_key())
    message = rejected(
        verifier,
        under_intermediate(tree, leaf),
        tree.now,
        UnsupportedCertificate,
        AlertDescription.UNSUPPORTED_CERTIFICATE,
    )
    assert message.startswith(f"certificate for 'localhost' cannot be used: {facts}")
    assert "the peer needs a new key and certificate" in message


@pytest.mark.parametrize(
    ("make_key", "error", "alert", "facts"),
    [
        (
            lambda: rsa.generate_private_key(65537, 1024),  # noqa: S505 - the point of the test
            BadCertificate,
            AlertDescription.BAD_CERTIFICATE,
            "has a 1024-bit RSA key",
        ),
        (
            lambda: ec.generate_private_key(ec.SECP192R1()),
            UnsupportedCertificate,
            AlertDescription.UNSUPPORTED_CERTIFICATE,
            "has an ECDSA key on secp192r1 (192 bits)",
        ),
    ],
    ids=["rsa-1024", "p-192"],
)
def test_weak_intermediate_key_is_named(
    tree: pki.TestPKI,
    make_key: object,
    error: type[ProtocolError],
    alert: AlertDescription,
    facts: str,
) -> None:
    assert callable(make_key)
    key = make_key()
    inter = ca_certificate(tree, "weak CA", key)
    message = rejected(
        DefaultVerifier(cafile=tree.ca_path),
        [issued(tree, issuer=(inter, key)), inter],
        tree.now,
        error,
        alert,
    )
    assert message.startswith(f"intermediate CA certificate 'weak CA' {facts}")
    assert "certificate 2 of 2 the peer sent" in message
    assert "the CA needs a new key" in message


@pytest.mark.parametrize(
    ("weak", "facts"), [("sha1", "SHA-1 (sha1WithRSAEncryption)"), ("md5", "MD5 (md5WithRSA")]
)
def test_weak_signature_on_the_leaf(
    tree: pki.TestPKI,
    rsa_root: tuple[x509.Certificate, rsa.RSAPrivateKey],
    weak: str,
    facts: str,
) -> None:
    root, root_key = rsa_root
    leaf = signed_with(issued(tree, issuer=rsa_root), root_key, weak)
    # RFC 8446 §4.4.2.4: bad_certificate (MUST for MD5, RECOMMENDED for SHA-1)
    message = rejected(
        DefaultVerifier(cadata=root.public_bytes(serialization.Encoding.PEM)),
        [leaf],
        tree.now,
        BadCertificate,
        AlertDescription.BAD_CERTIFICATE,
    )
    assert message.startswith(f"certificate for 'localhost' is signed with {facts}")
    assert "a weak signature algorithm that is not accepted" in message
    assert "SHA-256 or better" in message


def test_weak_signature_on_an_intermediate(
    tree: pki.TestPKI, rsa_root: tuple[x509.Certificate, rsa.RSAPrivateKey]
) -> None:
    root, root_key = rsa_root
    key = pki.generate_key("ecdsa-p256")
    inter = signed_with(
        pki.build_certificate(
            subject="sha1 CA",
            key=key,
            issuer=rsa_root,
            not_before=tree.now - dt.timedelta(days=1),
            not_after=tree.now + dt.timedelta(days=9),
            ca=True,
        ),
        root_key,
        "sha1",
    )
    message = rejected(
        DefaultVerifier(cadata=root.public_bytes(serialization.Encoding.PEM)),
        [issued(tree, issuer=(inter, key)), inter],
        tree.now,
        BadCertificate,  # RFC 8446 §4.4.2.4, SHA-1 anywhere in the chain
        AlertDescription.BAD_CERTIFICATE,
    )
    assert message.startswith("intermediate CA certificate 'sha1 CA' is signed with SHA-1")
    assert "(certificate 2 of 2 the peer sent)" in message


# --- the cache still works --------------------------------------------------------------------


class CountingVerifier(DefaultVerifier):
    runs = 0

    def _builder(self, now: dt.datetime, leaf: x509.Certificate) -> PolicyBuilder:
        self.runs += 1
        return super()._builder(now, leaf)


def test_accepted_chains_are_still_remembered(tree: pki.TestPKI, tmp_path: Path) -> None:
    (tmp_path / "root.pem").write_bytes(tree.ca_pem)
    counting = CountingVerifier(capath=tmp_path)
    chain = tree.leaves["ecdsa-p256"].chain
    for _ in range(3):
        counting.verify_server(chain, "localhost", tree.now)
    assert counting.runs == 1
    for _ in range(2):  # rejections are explained every time, never remembered
        with pytest.raises(CertificateExpired):
            counting.verify_server(tree.expired.chain, "localhost", tree.now)
    assert counting.runs == 3


# --- capath ---------------------------------------------------------------------------------


def test_capath_reads_pem_der_and_rehashed_files(
    tree: pki.TestPKI, other: pki.TestPKI, tmp_path: Path
) -> None:
    assert other.intermediate is not None
    (tmp_path / "root.pem").write_bytes(tree.ca_pem)
    (tmp_path / "1a2b3c4d.0").symlink_to(tmp_path / "root.pem")  # c_rehash link: read once
    (tmp_path / "9f8e7d6c.1").write_bytes(other.ca_pem)  # a rehashed plain file
    (tmp_path / "other-inter.der").write_bytes(
        other.intermediate.cert.public_bytes(serialization.Encoding.DER)
    )
    (tmp_path / "README").write_text("not a certificate")
    (tmp_path / "server-key.pem").write_bytes(other.leaves["ecdsa-p256"].key_path.read_bytes())
    (tmp_path / "sub.pem").mkdir()
    verifier = DefaultVerifier(capath=tmp_path)
    assert set(verifier.trust_anchors) == {tree.ca.cert, other.ca.cert, other.intermediate.cert}
    assert len(verifier.trust_anchors) == 3
    verifier.verify_server(tree.leaves["ecdsa-p256"].chain, "localhost", tree.now)
    verifier.verify_server(other.leaves["ecdsa-p256"].chain[:1], "localhost", tree.now)
    message = rejected(
        verifier, tree.untrusted.chain, tree.now, UnknownCA, AlertDescription.UNKNOWN_CA
    )
    assert f"trust anchors: 3 certificates from capath {tmp_path}" in message


def test_bad_capath_is_a_configuration_error(tree: pki.TestPKI, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"cannot read capath .*missing"):
        DefaultVerifier(capath=tmp_path / "missing")
    with pytest.raises(ConfigurationError, match="the directory is empty"):
        DefaultVerifier(capath=tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "empty.pem").write_text("")
    with pytest.raises(ConfigurationError) as info:
        DefaultVerifier(capath=tmp_path)
    assert str(info.value).startswith(f"capath {tmp_path}: no certificate found")
    assert "skipped: empty.pem, notes.txt" in str(info.value)
    with pytest.raises(ConfigurationError, match="cannot read capath"):
        DefaultVerifier(capath=tree.ca_path)  # a file, not a directory


def test_load_trust_store_describes_its_sources(tree: pki.TestPKI, tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(tree.ca_pem)
    store = load_trust_store(tree.ca_path, capath=tmp_path)
    assert store.certificates == (tree.ca.cert,)  # the same root twice: kept once
    assert store.sources == ((f"cafile {tree.ca_path}", 1), (f"capath {tmp_path}", 1))
    assert store.describe() == (
        f"1 certificate from cafile {tree.ca_path} (1) and capath {tmp_path} (1)"
    )
    assert store.origin() == f"cafile {tree.ca_path} and capath {tmp_path}"


# --- the system trust store -----------------------------------------------------------------


@pytest.fixture
def no_system_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No env vars, no default paths, no certifi: each test adds back what it needs."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    nowhere = str(tmp_path / "nowhere")
    paths = ssl.DefaultVerifyPaths(
        None, None, "SSL_CERT_FILE", nowhere + ".pem", "SSL_CERT_DIR", nowhere
    )
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: paths)
    monkeypatch.setattr(trust_store_module, "_FALLBACK_FILES", ())
    monkeypatch.setattr(trust_store_module, "_FALLBACK_DIRS", ())
    monkeypatch.setitem(sys.modules, "certifi", None)  # `import certifi` raises ImportError
    return Path(nowhere)


def default_paths(cafile: Path | None, capath: Path | None) -> ssl.DefaultVerifyPaths:
    return ssl.DefaultVerifyPaths(
        None if cafile is None else str(cafile),
        None if capath is None else str(capath),
        "SSL_CERT_FILE",
        "/nonexistent/cert.pem",
        "SSL_CERT_DIR",
        "/nonexistent/certs",
    )


def test_default_verify_paths_bundle_is_used_first(
    tree: pki.TestPKI, other: pki.TestPKI, tmp_path: Path, no_system_store: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(tree.ca_pem)
    directory = tmp_path / "certs"
    directory.mkdir()
    (directory / "other.pem").write_bytes(other.ca_pem)
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: default_paths(bundle, directory))
    store = system_trust_store()
    assert store.certificates == (tree.ca.cert,)
    assert store.describe() == f"1 certificate from the system trust store ({bundle})"


def test_default_verify_paths_directory_without_a_bundle(
    tree: pki.TestPKI, tmp_path: Path, no_system_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-bundle.pem"
    empty.write_text("")  # a bundle without certificates: go on to the directory
    directory = tmp_path / "certs"
    directory.mkdir()
    (directory / "5ca1ab1e.0").write_bytes(tree.ca_pem)
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: default_paths(empty, directory))
    verifier = DefaultVerifier()
    assert verifier.trust_anchors == (tree.ca.cert,)
    message = rejected(
        verifier, tree.untrusted.chain, tree.now, UnknownCA, AlertDescription.UNKNOWN_CA
    )
    assert f"1 certificate from the system trust store ({directory})" in message


def test_env_vars_are_combined_and_named(
    tree: pki.TestPKI, other: pki.TestPKI, tmp_path: Path, no_system_store: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    bundle = tmp_path / "env.pem"
    bundle.write_bytes(tree.ca_pem)
    first, second = tmp_path / "d1", tmp_path / "d2"
    first.mkdir()
    second.mkdir()
    (second / "other.crt").write_bytes(other.ca_pem)
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("SSL_CERT_DIR", f"{first}{os.pathsep}{second}")
    store = system_trust_store()
    assert store.certificates == (tree.ca.cert, other.ca.cert)
    assert store.describe() == (
        f"2 certificates from the system trust store (SSL_CERT_FILE={bundle},"
        f" SSL_CERT_DIR={first}, SSL_CERT_DIR={second})"
    )


def test_env_var_pointing_nowhere_is_not_widened(
    tmp_path: Path, no_system_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "certifi.pem"
    bundle.write_bytes(CertifiedKey.self_signed().chain_pem())
    monkeypatch.setitem(sys.modules, "certifi", fake_certifi(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "typo.pem"))
    with pytest.raises(ConfigurationError) as info:
        system_trust_store()
    message = str(info.value)
    assert f"SSL_CERT_FILE={tmp_path / 'typo.pem'} (missing)" in message
    assert "nothing else was searched" in message
    assert "or unset them" in message


def fake_certifi(bundle: Path) -> types.ModuleType:
    module = types.ModuleType("certifi")
    module.where = lambda: str(bundle)  # type: ignore[attr-defined]
    return module


def test_certifi_is_the_fallback(
    tree: pki.TestPKI, tmp_path: Path, no_system_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "cacert.pem"
    bundle.write_bytes(tree.ca_pem)
    monkeypatch.setitem(sys.modules, "certifi", fake_certifi(bundle))
    verifier = DefaultVerifier()
    verifier.verify_server(tree.leaves["ecdsa-p256"].chain, "localhost", tree.now)
    message = rejected(
        verifier, tree.untrusted.chain, tree.now, UnknownCA, AlertDescription.UNKNOWN_CA
    )
    assert f"trust anchors: 1 certificate from certifi ({bundle})" in message


def test_no_trust_anchors_anywhere(no_system_store: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        _ = DefaultVerifier().trust_anchors
    message = str(info.value)
    assert message.startswith("no trusted CA certificates found in the system trust store")
    assert f"{no_system_store}.pem (missing)" in message
    assert f"{no_system_store} (missing)" in message
    assert "certifi (not installed)" in message
    for fix in ("cafile=", "SSL_CERT_FILE", "ca-certificates", "pip install certifi"):
        assert fix in message


def test_broken_certifi_is_reported(
    tmp_path: Path, no_system_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "certifi", fake_certifi(tmp_path / "gone.pem"))
    with pytest.raises(ConfigurationError, match=r"certifi \(missing\)"):
        system_trust_store()


# --- PinnedCertificate ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def pinned() -> CertifiedKey:
    return CertifiedKey.self_signed(("pinned.example", "192.0.2.1", "*.pinned.example"))


def pin_forms(cert: x509.Certificate, certified: CertifiedKey) -> list[object]:
    pem = cert.public_bytes(serialization.Encoding.PEM)
    der = cert.public_bytes(serialization.Encoding.DER)
    hex_digits = hashlib.sha256(der).hexdigest()
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key_pin = base64.b64encode(hashlib.sha256(spki).digest()).decode()
    return [
        cert,
        pem,
        pem.decode(),
        der,
        hex_digits,
        hex_digits.upper(),
        certified.fingerprint_sha256(),
        f"sha256 Fingerprint={certified.fingerprint_sha256()}",  # openssl x509 -fingerprint
        f"sha256/{key_pin}",
        f"sha256//{key_pin}",  # curl --pinnedpubkey
    ]


def test_pinned_certificate_accepts_every_pin_form(pinned: CertifiedKey) -> None:
    now = dt.datetime.now(dt.UTC)
    for pin in pin_forms(pinned.leaf, pinned):
        verifier = PinnedCertificate(pin)  # type: ignore[arg-type]
        verifier.verify_server(pinned.chain, "anything.example", now)
        verifier.verify_server(pinned.chain, None, now)
        verifier.verify_client(pinned.chain, now)
    assert PinnedCertificate(pinned.leaf).pins == (certificate_sha256(pinned.leaf),)
    assert PinnedCertificate(f"sha256//{spki_sha256(pinned.leaf)[7:]}").pins == (
        spki_sha256(pinned.leaf),
    )
    assert isinstance(PinnedCertificate(pinned.leaf), CertificateVerifier)


@pytest.mark.parametrize("prefix", ["sha256/", "sha256//"])
def test_a_key_pin_whose_base64_starts_with_a_slash(prefix: str) -> None:
    """One digest in 64 encodes to base64 beginning with "/" (a first byte of 0xFC..0xFF): the
    slash is part of the pin, not of the prefix."""
    encoded = base64.b64encode(bytes([0xFC]) + bytes(range(31))).decode("ascii")
    assert encoded.startswith("/")
    assert PinnedCertificate(prefix + encoded).pins == ("sha256/" + encoded,)


def test_pin_mismatch_shows_both_fingerprints(pinned: CertifiedKey, tree: pki.TestPKI) -> None:
    verifier = PinnedCertificate(pinned.leaf, spki_sha256(tree.ca.cert))
    message = rejected(
        verifier, tree.untrusted.chain, tree.now, UnknownCA, AlertDescription.UNKNOWN_CA
    )
    assert message.startswith("certificate for 'localhost' is not the pinned certificate")
    assert f"expected certificate SHA-256 {pinned.fingerprint_sha256()}" in message
    assert f"or public key {spki_sha256(tree.ca.cert)}" in message
    assert f"received certificate SHA-256 {certificate_sha256(tree.untrusted.cert)}" in message
    assert f"(public key {spki_sha256(tree.untrusted.cert)})" in message
    with pytest.raises(UnknownCA):
        verifier.verify_client(tree.untrusted.chain, tree.now)


def test_public_key_pin_survives_renewal_and_ignores_the_rest_of_the_chain(
    tree: pki.TestPKI,
) -> None:
    leaf = tree.leaves["ecdsa-p256"]
    renewed = issued(tree, key=leaf.key, not_after=tree.now + dt.timedelta(days=90))
    by_key = PinnedCertificate(spki_sha256(leaf.cert))
    by_key.verify_server([renewed, tree.ca.cert, tree.untrusted.cert], "localhost", tree.now)
    by_cert = PinnedCertificate(leaf.cert)
    by_cert.verify_server(leaf.chain, "localhost", tree.now)
    with pytest.raises(UnknownCA):
        by_cert.verify_server([renewed], "localhost", tree.now)


def test_pinned_certificate_checks_dates_unless_told_not_to(tree: pki.TestPKI) -> None:
    expired = tree.expired.cert
    message = rejected(
        PinnedCertificate(expired),
        [expired],
        tree.now,
        CertificateExpired,
        AlertDescription.CERTIFICATE_EXPIRED,
    )
    assert message.startswith("certificate for 'localhost' expired on 2020-01-01 00:00:00 UTC")
    assert f"now {fmt(tree.now)}" in message
    assert "check_validity=False" in message
    PinnedCertificate(expired, check_validity=False).verify_server([expired], None, tree.now)
    early = tree.not_yet_valid.cert
    with pytest.raises(CertificateExpired, match=r"not valid before 2099-01-01.*clock"):
        PinnedCertificate(early).verify_client([early], tree.now)


def test_pinned_certificate_optional_hostname_check(pinned: CertifiedKey) -> None:
    now = dt.datetime.now(dt.UTC)
    checking = PinnedCertificate(pinned.leaf, check_hostname=True)
    for name in ("pinned.example", "PINNED.example.", "192.0.2.1", "www.pinned.example"):
        checking.verify_server(pinned.chain, name, now)
    for name, hint in [
        ("other.example", "names: pinned.example, 192.0.2.1, *.pinned.example"),
        ("a.b.pinned.example", "covers exactly one label"),
        ("192.0.2.2", "IP address '192.0.2.2' does not match"),
    ]:
        message = rejected(
            checking, pinned.chain, now, BadCertificate, AlertDescription.BAD_CERTIFICATE, name
        )
        assert hint in message
    with pytest.raises(ConfigurationError, match="needs the server name"):
        checking.verify_server(pinned.chain, None, now)


def test_pinned_certificate_still_rejects_weak_keys(tree: pki.TestPKI) -> None:
    weak = issued(tree, key=rsa.generate_private_key(65537, 1024))  # noqa: S505 - tested
    with pytest.raises(UnsupportedCertificate, match="1024 bits"):
        PinnedCertificate(weak).verify_server([weak], "localhost", tree.now)


def test_pinned_certificate_empty_chains_and_bad_pins(pinned: CertifiedKey) -> None:
    verifier = PinnedCertificate(pinned.leaf)
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(DecodeError):
        verifier.verify_server([], "pinned.example", now)
    with pytest.raises(CertificateRequired):
        verifier.verify_client([], now)
    with pytest.raises(ConfigurationError, match="at least one"):
        PinnedCertificate()
    for bad in ("AB:CD", "sha256/not-base64!", "sha256/" + base64.b64encode(b"short").decode()):
        with pytest.raises(ConfigurationError, match="pin"):
            PinnedCertificate(bad)
    with pytest.raises(ConfigurationError, match="neither PEM nor DER"):
        PinnedCertificate(b"\x30\x03abc")
    with pytest.raises(ConfigurationError, match="no readable certificate"):
        PinnedCertificate("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")


# --- end to end: the client's verification failure reaches the server as the alert ------------


def _client(verifier: CertificateVerifier, version: ProtocolVersion) -> ClientConnection:
    config = ClientConfig(verifier=verifier, min_version=version, max_version=version)
    return ClientConnection(config, "localhost")


def _server(
    leaf: pki.Issued, chain: tuple[x509.Certificate, ...] | None = None
) -> ServerConnection:
    certified = CertifiedKey(chain or leaf.chain, leaf.key)
    return ServerConnection(ServerConfig(certificates=(certified,)))


@pytest.mark.parametrize("version", [ProtocolVersion.TLS13, ProtocolVersion.TLS12])
@pytest.mark.parametrize(
    ("scenario", "error", "alert"),
    [
        ("expired", CertificateExpired, AlertDescription.CERTIFICATE_EXPIRED),
        ("other-host", BadCertificate, AlertDescription.BAD_CERTIFICATE),
        ("untrusted", UnknownCA, AlertDescription.UNKNOWN_CA),
        ("missing-intermediate", UnknownCA, AlertDescription.UNKNOWN_CA),
        ("pin-mismatch", UnknownCA, AlertDescription.UNKNOWN_CA),
        ("client-auth-only", UnsupportedCertificate, AlertDescription.UNSUPPORTED_CERTIFICATE),
    ],
)
def test_client_sends_the_matching_alert(
    tree: pki.TestPKI,
    scenario: str,
    error: type[ProtocolError],
    alert: AlertDescription,
    version: ProtocolVersion,
) -> None:
    verifier: CertificateVerifier = DefaultVerifier(cafile=tree.ca_path)
    leaf = tree.leaves.get(scenario, tree.leaves["ecdsa-p256"])
    chain = None
    if scenario == "missing-intermediate":
        chain = leaf.chain[:1]
    elif scenario == "pin-mismatch":
        verifier = PinnedCertificate(tree.untrusted.cert)
    elif scenario == "client-auth-only":
        chain = (issued(tree, key=leaf.key, eku=(ExtendedKeyUsageOID.CLIENT_AUTH,)),)
        chain += leaf.chain[1:]
    client, server = _client(verifier, version), _server(leaf, chain)
    server.receive_data(client.data_to_send())
    with pytest.raises(error) as failed:
        client.receive_data(server.data_to_send())
    assert failed.value.alert is alert
    with pytest.raises(AlertReceived) as received:
        server.receive_data(client.data_to_send())
    assert received.value.description == alert


def test_pinned_server_completes_a_handshake(tree: pki.TestPKI) -> None:
    leaf = tree.untrusted
    client = _client(PinnedCertificate(spki_sha256(leaf.cert)), ProtocolVersion.TLS13)
    client_events, _ = pump(client, _server(leaf))
    assert any(type(e).__name__ == "HandshakeComplete" for e in client_events)


def test_server_rejecting_a_client_certificate_sends_the_alert(tree: pki.TestPKI) -> None:
    server_leaf = tree.leaves["ecdsa-p256"]
    expired = tree.expired
    client = ClientConnection(
        ClientConfig(
            cafile=str(tree.ca_path),
            certificates=(CertifiedKey(expired.chain, expired.key),),
        ),
        "localhost",
    )
    server = ServerConnection(
        ServerConfig(
            certificates=(CertifiedKey(server_leaf.chain, server_leaf.key),),
            client_auth="required",
            client_cafile=str(tree.ca_path),
        )
    )
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    with pytest.raises(CertificateExpired, match="expired on 2020-01-01"):
        server.receive_data(client.data_to_send())
    with pytest.raises(AlertReceived) as received:
        client.receive_data(server.data_to_send())
    assert received.value.description == AlertDescription.CERTIFICATE_EXPIRED


# --- ssl's verify_code: OpenSSL's X509_V_ERR_* number for each failure ----------------------


@pytest.mark.parametrize(
    ("case", "verify_code"),
    [
        ("expired", 10),  # X509_V_ERR_CERT_HAS_EXPIRED
        ("not-yet-valid", 9),  # X509_V_ERR_CERT_NOT_YET_VALID
        ("host-name", 62),  # X509_V_ERR_HOSTNAME_MISMATCH
        ("ip-address", 64),  # X509_V_ERR_IP_ADDRESS_MISMATCH
        ("self-signed", 18),  # X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
        ("missing-intermediate", 20),  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    ],
)
def test_verify_code_is_openssls_number_for_the_failure(
    tree: pki.TestPKI, verifier: DefaultVerifier, case: str, verify_code: int
) -> None:
    """The error is also an ``ssl.SSLCertVerificationError``: code ported from ssl that reads
    ``verify_code`` sees the number OpenSSL reports for the same failure."""
    chain, name = {
        "expired": (tree.expired.chain, "localhost"),
        "not-yet-valid": (tree.not_yet_valid.chain, "localhost"),
        "host-name": (tree.leaves["ecdsa-p256"].chain, "www.example.com"),
        "ip-address": (tree.other_host.chain, "192.0.2.7"),
        "self-signed": (tree.untrusted.chain, "localhost"),
        "missing-intermediate": (tree.leaves["ecdsa-p256"].chain[:1], "localhost"),
    }[case]
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        verifier.verify_server(list(chain), name, tree.now)
    assert info.value.verify_code == verify_code
    assert info.value.verify_message == str(info.value)
