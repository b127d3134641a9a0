"""Chain and name verification: alerts and messages (RFC 8446 §4.4.2.4, §6.2)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder

from tlsmachine.certs import CertifiedKey, system_trust_anchors
from tlsmachine.enums import AlertDescription
from tlsmachine.errors import (
    BadCertificate,
    CertificateExpired,
    CertificateRequired,
    CertificateUnknown,
    ConfigurationError,
    DecodeError,
    UnknownCA,
    UnsupportedCertificate,
)
from tlsmachine.verify import (
    CertificateVerifier,
    DefaultVerifier,
    NoVerification,
    parse_certificate_chain,
    server_name_subject,
)

try:
    import pki
except ModuleNotFoundError:  # tests/ is not on sys.path (no pytest `pythonpath = ["tests"]`)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import pki


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> pki.TestPKI:
    """Root -> intermediate -> leaves."""
    return pki.make_pki(tmp_path_factory.mktemp("pki-inter"), intermediate=True)


@pytest.fixture(scope="module")
def flat(tmp_path_factory: pytest.TempPathFactory) -> pki.TestPKI:
    """Root -> leaves."""
    return pki.make_pki(
        tmp_path_factory.mktemp("pki-flat"), key_types=("ecdsa-p256",), ca_name="other root CA"
    )


@pytest.fixture(scope="module")
def verifier(tree: pki.TestPKI) -> DefaultVerifier:
    return DefaultVerifier(cafile=tree.ca_path)


def leaf_signed_by(tree: pki.TestPKI, key: object = None, **kwargs: object) -> x509.Certificate:
    """A leaf for localhost issued by the tree's intermediate, with build_certificate knobs."""
    assert tree.intermediate is not None
    options: dict[str, object] = {
        "subject": "localhost",
        "key": key or pki.generate_key("ecdsa-p256"),
        "issuer": (tree.intermediate.cert, tree.intermediate.key),
        "not_before": tree.now - dt.timedelta(days=1),
        "not_after": tree.now + dt.timedelta(days=3),
        "ca": False,
        "names": pki.LOCAL_NAMES,
    }
    options.update(kwargs)
    return pki.build_certificate(**options)  # type: ignore[arg-type]


def chain_of(tree: pki.TestPKI, leaf: x509.Certificate) -> list[x509.Certificate]:
    assert tree.intermediate is not None
    return [leaf, tree.intermediate.cert]


# --- good chains -----------------------------------------------------------------------------


@pytest.mark.parametrize("key_type", pki.KEY_TYPES)
def test_chain_with_intermediate_is_accepted(
    tree: pki.TestPKI, verifier: DefaultVerifier, key_type: str
) -> None:
    leaf = tree.leaves[key_type]
    assert len(leaf.chain) == 2
    verifier.verify_server(leaf.chain, "localhost", tree.now)
    verifier.verify_client(leaf.chain, tree.now)


def test_chain_directly_under_root_is_accepted(flat: pki.TestPKI) -> None:
    leaf = flat.leaves["ecdsa-p256"]
    assert len(leaf.chain) == 1
    DefaultVerifier(cafile=flat.ca_path).verify_server(leaf.chain, "localhost", flat.now)


def test_extra_and_misordered_certificates_are_tolerated(
    tree: pki.TestPKI, verifier: DefaultVerifier
) -> None:
    # RFC 8446 §4.4.2: only the leaf's position is fixed; extra certificates may appear.
    leaf = tree.leaves["ed25519"]
    noise = [tree.untrusted.cert, tree.ca.cert, *leaf.chain[1:], tree.other_host.cert]
    verifier.verify_server([leaf.cert, *noise], "localhost", tree.now)


@pytest.mark.parametrize("name", ["127.0.0.1", "::1", "[::1]", "0:0::1", "LOCALHOST", "localhost."])
def test_names_and_ip_literals_match(
    tree: pki.TestPKI, verifier: DefaultVerifier, name: str
) -> None:
    verifier.verify_server(tree.leaves["ecdsa-p256"].chain, name, tree.now)


def test_naive_now_is_utc(tree: pki.TestPKI, verifier: DefaultVerifier) -> None:
    verifier.verify_server(
        tree.leaves["rsa-2048"].chain, "localhost", tree.now.replace(tzinfo=None)
    )
    with pytest.raises(CertificateExpired):
        verifier.verify_server(tree.leaves["rsa-2048"].chain, "localhost", dt.datetime(2199, 1, 1))


# --- validity --------------------------------------------------------------------------------


def test_expired_leaf(tree: pki.TestPKI, verifier: DefaultVerifier) -> None:
    with pytest.raises(CertificateExpired) as info:
        verifier.verify_server(tree.expired.chain, "localhost", tree.now)
    message = str(info.value)
    assert message.startswith("certificate for 'localhost' expired on 2020-01-01 00:00:00 UTC")
    assert f"(now {tree.now:%Y-%m-%d}" in message
    assert info.value.alert == AlertDescription.CERTIFICATE_EXPIRED


def test_not_yet_valid_leaf_is_certificate_expired(
    tree: pki.TestPKI, verifier: DefaultVerifier
) -> None:
    # RFC 8446 §6.2: certificate_expired covers "expired or is not currently valid".
    with pytest.raises(CertificateExpired, match=r"is not valid before 2099-01-01 00:00:00 UTC"):
        verifier.verify_server(tree.not_yet_valid.chain, "localhost", tree.now)


def test_expired_intermediate_is_named(tree: pki.TestPKI) -> None:
    key = pki.generate_key("ecdsa-p256")
    old = pki.build_certificate(
        subject="old intermediate",
        key=key,
        issuer=(tree.ca.cert, tree.ca.key),
        not_before=tree.now - dt.timedelta(days=100),
        not_after=tree.now - dt.timedelta(days=10),
        ca=True,
    )
    leaf = leaf_signed_by(tree, issuer=(old, key))
    with pytest.raises(CertificateExpired) as info:
        DefaultVerifier(cafile=tree.ca_path).verify_server([leaf, old], "localhost", tree.now)
    assert "intermediate CA certificate 'old intermediate' expired on" in str(info.value)


def test_expired_trust_anchor_is_named(tmp_path: Path) -> None:
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
    pem = ca.public_bytes(serialization.Encoding.PEM)
    with pytest.raises(CertificateExpired) as info:
        DefaultVerifier(cadata=pem).verify_server([leaf], "localhost", now)
    assert "trusted CA certificate 'short-lived root' expired on 2030-05-31" in str(info.value)


# --- trust -----------------------------------------------------------------------------------


def test_self_signed_untrusted_leaf(tree: pki.TestPKI, verifier: DefaultVerifier) -> None:
    with pytest.raises(UnknownCA) as info:
        verifier.verify_server(tree.untrusted.chain, "localhost", tree.now)
    message = str(info.value)
    assert "certificate for 'localhost' is self-signed and not trusted" in message
    assert f"1 certificate from cafile {tree.ca_path}" in message
    assert info.value.alert == AlertDescription.UNKNOWN_CA


def test_leaf_from_another_ca(tree: pki.TestPKI, flat: pki.TestPKI) -> None:
    with pytest.raises(UnknownCA, match="ends at issuer 'CN=other root CA"):
        DefaultVerifier(cafile=tree.ca_path).verify_server(
            flat.leaves["ecdsa-p256"].chain, "localhost", tree.now
        )


def test_same_named_non_ca_anchor_is_unknown_ca(tree: pki.TestPKI) -> None:
    # Two self-signed leaves both named CN=localhost: pyca tries the trusted one as the issuer
    # of the other and finds it is no CA. Still "no trusted issuer": unknown_ca.
    now = dt.datetime.now(dt.UTC)
    trusted, other = CertifiedKey.self_signed(), CertifiedKey.self_signed()
    with pytest.raises(UnknownCA, match=r"self-signed and not trusted") as info:
        DefaultVerifier(cadata=trusted.chain_pem()).verify_server(other.chain, "localhost", now)
    assert info.value.verify_code == 18  # X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, as ssl says
    # The same with a CA-issued leaf: its issuer name leads to a certificate that is no CA.
    fake_issuer = pki.build_certificate(
        subject="tlsmachine test intermediate CA",
        key=pki.generate_key("ecdsa-p256"),
        issuer=None,
        not_before=tree.now - dt.timedelta(days=1),
        not_after=tree.now + dt.timedelta(days=1),
        ca=False,
        names=("x.example",),
    )
    pem = fake_issuer.public_bytes(serialization.Encoding.PEM)
    with pytest.raises(UnknownCA, match="names an issuer that is not a CA certificate"):
        DefaultVerifier(cadata=pem).verify_server(
            tree.leaves["ed25519"].chain[:1], "localhost", tree.now
        )


def test_missing_intermediate(tree: pki.TestPKI, verifier: DefaultVerifier) -> None:
    with pytest.raises(UnknownCA) as info:
        verifier.verify_server(tree.leaves["ed25519"].chain[:1], "localhost", tree.now)
    assert "ends at issuer 'CN=tlsmachine test intermediate CA" in str(info.value)
    assert "(1 certificate)" in str(info.value)


def test_chain_longer_than_allowed(tree: pki.TestPKI) -> None:
    short = DefaultVerifier(cafile=tree.ca_path, max_chain_depth=0)
    with pytest.raises(UnknownCA, match="chain longer than allowed"):
        short.verify_server(tree.leaves["ed25519"].chain, "localhost", tree.now)


def test_wrong_signature_is_bad_certificate(tree: pki.TestPKI, verifier: DefaultVerifier) -> None:
    # Same issuer name, different key: the signature in the chain does not verify (§6.2).
    assert tree.intermediate is not None
    impostor = pki.generate_key("ecdsa-p256")
    leaf = leaf_signed_by(tree, issuer=(tree.intermediate.cert, impostor))
    with pytest.raises(BadCertificate, match="signature in its chain that is wrong"):
        verifier.verify_server(chain_of(tree, leaf), "localhost", tree.now)


# --- names -----------------------------------------------------------------------------------


def test_hostname_mismatch_lists_the_names(tree: pki.TestPKI, verifier: DefaultVerifier) -> None:
    with pytest.raises(BadCertificate) as info:
        verifier.verify_server(tree.leaves["ecdsa-p384"].chain, "example.com", tree.now)
    assert str(info.value) == (
        "host name 'example.com' does not match the certificate's names: localhost, 127.0.0.1, ::1"
    )
    assert info.value.alert == AlertDescription.BAD_CERTIFICATE
    with pytest.raises(BadCertificate, match=r"names: other\.example$"):
        verifier.verify_server(tree.other_host.chain, "localhost", tree.now)


@pytest.mark.parametrize("address", ["10.0.0.1", "::2", "127.0.0.2"])
def test_ip_mismatch(tree: pki.TestPKI, verifier: DefaultVerifier, address: str) -> None:
    with pytest.raises(BadCertificate, match=f"IP address '{address}' does not match"):
        verifier.verify_server(tree.leaves["ecdsa-p256"].chain, address, tree.now)


def test_ip_literal_needs_an_ip_san(tree: pki.TestPKI, verifier: DefaultVerifier) -> None:
    # A DNS SAN spelling "127.0.0.1" is not an iPAddress SAN (RFC 6125 §6.2.1 / RFC 5280).
    san = x509.SubjectAlternativeName([x509.DNSName("127.0.0.1")])
    leaf = leaf_signed_by(tree, san=san, names=())
    with pytest.raises(BadCertificate, match=r"IP address '127\.0\.0\.1' does not match"):
        verifier.verify_server(chain_of(tree, leaf), "127.0.0.1", tree.now)


def test_server_name_subject_kinds() -> None:
    assert server_name_subject("::1") == x509.IPAddress(ipaddress.ip_address("::1"))
    assert server_name_subject("fe80::1%eth0").value == ipaddress.ip_address("fe80::1")
    assert server_name_subject("Example.COM.") == x509.DNSName("example.com")
    assert server_name_subject("bücher.example") == x509.DNSName("xn--bcher-kva.example")


@pytest.mark.parametrize("bad", ["", "bad name!", "-x.example", "a..b", "x" * 64 + ".com"])
def test_invalid_server_name_is_a_configuration_error(
    tree: pki.TestPKI, verifier: DefaultVerifier, bad: str
) -> None:
    with pytest.raises(ConfigurationError, match="neither a valid DNS name nor an IP address"):
        verifier.verify_server(tree.leaves["ecdsa-p256"].chain, bad, tree.now)


def test_missing_server_name_needs_explicit_permission(
    tree: pki.TestPKI, verifier: DefaultVerifier
) -> None:
    with pytest.raises(ConfigurationError, match="no server name"):
        verifier.verify_server(tree.leaves["ecdsa-p256"].chain, None, tree.now)
    anyname = DefaultVerifier(cafile=tree.ca_path, require_server_name=False)
    anyname.verify_server(tree.other_host.chain, None, tree.now)
    # Everything except the name is still checked.
    with pytest.raises(UnknownCA):
        anyname.verify_server(tree.untrusted.chain, None, tree.now)
    with pytest.raises(CertificateExpired):
        anyname.verify_server(tree.expired.chain, None, tree.now)
    # ... and a given name is still compared.
    with pytest.raises(BadCertificate):
        anyname.verify_server(tree.other_host.chain, "localhost", tree.now)


# --- certificate contents ----------------------------------------------------------------------


def test_server_auth_only_certificate_cannot_be_a_client_certificate(
    tree: pki.TestPKI, verifier: DefaultVerifier
) -> None:
    leaf = leaf_signed_by(tree, eku=(ExtendedKeyUsageOID.SERVER_AUTH,))
    verifier.verify_server(chain_of(tree, leaf), "localhost", tree.now)
    with pytest.raises(UnsupportedCertificate, match="lacks id-kp-clientAuth") as info:
        verifier.verify_client(chain_of(tree, leaf), tree.now)
    assert info.value.alert == AlertDescription.UNSUPPORTED_CERTIFICATE


def test_client_auth_only_certificate_cannot_be_a_server_certificate(
    tree: pki.TestPKI, verifier: DefaultVerifier
) -> None:
    leaf = leaf_signed_by(tree, eku=(ExtendedKeyUsageOID.CLIENT_AUTH,))
    with pytest.raises(UnsupportedCertificate, match="extended key usage lacks id-kp-serverAuth"):
        verifier.verify_server(chain_of(tree, leaf), "localhost", tree.now)


def test_ca_certificate_as_leaf_is_bad(tree: pki.TestPKI, verifier: DefaultVerifier) -> None:
    leaf = leaf_signed_by(tree, ca=True)
    with pytest.raises(BadCertificate, match="basic constraints"):
        verifier.verify_server(chain_of(tree, leaf), "localhost", tree.now)


@pytest.mark.parametrize(
    ("make_key", "reason"),
    [
        (lambda: dsa.generate_private_key(2048), "DSA key cannot sign a TLS handshake we accept"),
        (lambda: ec.generate_private_key(ec.SECP256K1()), "on secp256k1"),
        (
            lambda: rsa.generate_private_key(65537, 1024),  # noqa: S505 - the point of the test
            "1024 bits, below the minimum of 2048",
        ),
    ],
    ids=["dsa", "secp256k1", "rsa-1024"],
)
def test_leaf_key_unusable_in_tls13(
    tree: pki.TestPKI, verifier: DefaultVerifier, make_key: object, reason: str
) -> None:
    assert callable(make_key)
    leaf = leaf_signed_by(tree, key=make_key())
    with pytest.raises(UnsupportedCertificate, match=reason):
        verifier.verify_server(chain_of(tree, leaf), "localhost", tree.now)


def test_unknown_pyca_reason_is_certificate_unknown(
    tree: pki.TestPKI, verifier: DefaultVerifier
) -> None:
    # A future pyca message we do not know: the catch-all alert, with pyca's words kept.
    error = verifier._explain(
        "validation failed: something new", tree.leaves["ed25519"].chain, tree.now, None
    )
    assert isinstance(error, CertificateUnknown)
    assert str(error) == "certificate for 'localhost' was rejected: something new"
    assert error.alert == AlertDescription.CERTIFICATE_UNKNOWN


# --- empty chains, parsing -------------------------------------------------------------------


def test_empty_chains(verifier: DefaultVerifier, tree: pki.TestPKI) -> None:
    # RFC 8446 §4.4.2.4: empty server Certificate -> decode_error; no client certificate when
    # one is required -> certificate_required.
    with pytest.raises(DecodeError, match="empty Certificate message"):
        verifier.verify_server([], "localhost", tree.now)
    with pytest.raises(CertificateRequired, match="sent no certificate"):
        verifier.verify_client([], tree.now)


def test_parse_certificate_chain(tree: pki.TestPKI) -> None:
    ders = tree.leaves["rsa-2048"].der_chain
    assert parse_certificate_chain(ders) == tree.leaves["rsa-2048"].chain
    assert parse_certificate_chain([]) == ()


@pytest.mark.parametrize(
    "mangle",
    [lambda d: d[:-3], lambda d: d + b"\x00", lambda d: b"", lambda d: b"\x30\x03abc"],
    ids=["truncated", "trailing-byte", "empty", "garbage"],
)
def test_parse_bad_der(tree: pki.TestPKI, mangle: object) -> None:
    assert callable(mangle)
    good = tree.leaves["ecdsa-p256"].der_chain[0]
    with pytest.raises(BadCertificate, match=r"^certificate 2 of 3 is not valid DER: ") as info:
        parse_certificate_chain([good, mangle(good), good])
    assert info.value.alert == AlertDescription.BAD_CERTIFICATE


def test_parse_malformed_extension(tree: pki.TestPKI) -> None:
    cert = tree.leaves["ecdsa-p256"].cert
    der = tree.leaves["ecdsa-p256"].der_chain[0]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    san_der = san.public_bytes()
    at = der.index(san_der)
    broken = der[:at] + b"\x31" + der[at + 1 :]  # SEQUENCE tag -> SET tag: wrong SAN syntax
    with pytest.raises(BadCertificate, match="certificate 1 of 1 has a malformed extension"):
        parse_certificate_chain([broken])


def test_malformed_extension_the_verifier_ignores_is_still_rejected(tree: pki.TestPKI) -> None:
    """pyca's verifier reads only the extensions its policy uses: a well-signed leaf with a
    malformed authorityKeyIdentifier passes it, so parse_certificate_chain must check them."""
    assert tree.intermediate is not None
    key = pki.generate_key("ecdsa-p256")
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(tree.intermediate.cert.subject)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(tree.now - dt.timedelta(days=1))
        .not_valid_after(tree.now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(pki.san_for(("localhost",)), critical=False)
        .add_extension(
            x509.UnrecognizedExtension(x509.oid.ExtensionOID.AUTHORITY_KEY_IDENTIFIER, b"\xff"),
            critical=False,
        )
        .sign(tree.intermediate.key, hashes.SHA256())
    )
    DefaultVerifier(cafile=tree.ca_path).verify_server(chain_of(tree, leaf), "localhost", tree.now)
    der = leaf.public_bytes(serialization.Encoding.DER)
    with pytest.raises(BadCertificate, match="certificate 1 of 2 has a malformed extension"):
        parse_certificate_chain(
            [der, tree.intermediate.cert.public_bytes(serialization.Encoding.DER)]
        )


def test_parsed_certificates_are_cached_by_der(tree: pki.TestPKI) -> None:
    # The same DER (a fresh bytes object, as from a new connection) gives the same object.
    ders = tree.leaves["ecdsa-p256"].der_chain
    first = parse_certificate_chain(ders)
    again = parse_certificate_chain([bytearray(d) for d in ders])
    assert all(a is b for a, b in zip(first, again, strict=True))
    # Failures are not cached: the second attempt fails the same way.
    broken = ders[0][:-3]
    for _ in range(2):
        with pytest.raises(BadCertificate, match=r"^certificate 1 of 1 is not valid DER"):
            parse_certificate_chain([broken])


def test_large_certificates_are_parsed_but_not_cached(tree: pki.TestPKI) -> None:
    big = leaf_signed_by(tree)
    builder = (
        x509.CertificateBuilder()
        .subject_name(big.subject)
        .issuer_name(big.issuer)
        .public_key(big.public_key())
        .serial_number(1)
        .not_valid_before(big.not_valid_before_utc)
        .not_valid_after(big.not_valid_after_utc)
        .add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), b"x" * 20000),
            critical=False,
        )
    )
    assert tree.intermediate is not None
    cert = builder.sign(tree.intermediate.key, hashes.SHA256())
    data = cert.public_bytes(serialization.Encoding.DER)
    assert len(data) > 16 * 1024
    first, again = parse_certificate_chain([data]), parse_certificate_chain([data])
    assert first == again and first[0] is not again[0]


class CountingVerifier(DefaultVerifier):
    """Counts the full verifications (each builds a pyca policy)."""

    runs = 0

    def _builder(self, now: dt.datetime, leaf: x509.Certificate) -> PolicyBuilder:
        self.runs += 1
        return super()._builder(now, leaf)


def test_accepted_chain_is_remembered(tree: pki.TestPKI) -> None:
    v = CountingVerifier(cafile=tree.ca_path)
    chain = tree.leaves["ecdsa-p256"].chain
    for _ in range(3):
        v.verify_server(chain, "localhost", tree.now)
        v.verify_client(chain, tree.now)
    assert v.runs == 2  # once as a server chain, once as a client chain
    v.verify_server(chain, "localhost", tree.now + dt.timedelta(days=2))  # still inside validity
    v.verify_server(list(chain), "127.0.0.1", tree.now)  # another name: verified in full
    assert v.runs == 3
    with pytest.raises(BadCertificate, match="does not match"):  # never answered from the cache
        v.verify_server(chain, "example.com", tree.now)
    with pytest.raises(BadCertificate, match="does not match"):
        v.verify_server(chain, "example.com", tree.now)
    assert v.runs == 5
    # Equal certificates in other objects: not found by identity, verified again, accepted.
    copies = [
        x509.load_der_x509_certificate(c.public_bytes(serialization.Encoding.DER)) for c in chain
    ]
    v.verify_server(copies, "localhost", tree.now)
    assert v.runs == 6


def test_remembered_chain_expires_with_any_certificate_of_its_path(tree: pki.TestPKI) -> None:
    # The leaf outlives its intermediate: the remembered acceptance ends with the intermediate.
    assert tree.intermediate is not None
    leaf = leaf_signed_by(tree, not_after=tree.now + dt.timedelta(days=4000))
    v = CountingVerifier(cafile=tree.ca_path)
    v.verify_server(chain_of(tree, leaf), "localhost", tree.now)
    end = tree.intermediate.cert.not_valid_after_utc
    v.verify_server(chain_of(tree, leaf), "localhost", end)  # inclusive (RFC 5280 §4.1.2.5)
    assert v.runs == 1
    with pytest.raises(CertificateExpired, match="intermediate CA certificate"):
        v.verify_server(chain_of(tree, leaf), "localhost", end + dt.timedelta(seconds=1))
    with pytest.raises(CertificateExpired, match="is not valid before"):
        v.verify_server(chain_of(tree, leaf), "localhost", tree.now - dt.timedelta(days=2))
    assert v.runs == 3


def test_verification_cache_limits(tree: pki.TestPKI) -> None:
    a, b = tree.leaves["ecdsa-p256"].chain, tree.leaves["ed25519"].chain
    off = CountingVerifier(cafile=tree.ca_path, cache_size=0)
    off.verify_server(a, "localhost", tree.now)
    off.verify_server(a, "localhost", tree.now)
    assert off.runs == 2
    one = CountingVerifier(cafile=tree.ca_path, cache_size=1)
    for chain in (a, b, a):  # b pushed a out
        one.verify_server(chain, "localhost", tree.now)
    assert one.runs == 3
    # A changed max_chain_depth applies at once, remembered chains included.
    one.max_chain_depth = 0
    with pytest.raises(UnknownCA, match="chain longer than allowed"):
        one.verify_server(a, "localhost", tree.now)
    with pytest.raises(ConfigurationError, match="cache_size"):
        DefaultVerifier(cafile=tree.ca_path, cache_size=-1)


# --- trust anchors ---------------------------------------------------------------------------


def test_self_signed_demo_certificate_trusted_through_cadata() -> None:
    demo = CertifiedKey.self_signed(("localhost", "127.0.0.1"))
    now = dt.datetime.now(dt.UTC)
    for cadata in (demo.chain_pem(), demo.chain_pem().decode(), demo.der_chain[0]):
        trusting = DefaultVerifier(cadata=cadata)
        trusting.verify_server(demo.chain, "localhost", now)
        trusting.verify_server(demo.chain, "127.0.0.1", now)
        trusting.verify_client(demo.chain, now)
    with pytest.raises(BadCertificate, match="does not match"):
        DefaultVerifier(cadata=demo.chain_pem()).verify_server(demo.chain, "example.com", now)
    other = CertifiedKey.self_signed(("localhost",))
    with pytest.raises(UnknownCA, match="self-signed and not trusted"):
        DefaultVerifier(cadata=demo.chain_pem()).verify_server(other.chain, "localhost", now)


def test_untrusted_self_signed_leaf_is_unknown_ca_before_anything_else(tree: pki.TestPKI) -> None:
    """An untrusted self-signed leaf fails as untrusted even when it is also expired: no issuer
    can vouch for it, so that is what to fix first (OpenSSL, and ssl, say code 18 too)."""
    expired = pki.build_certificate(
        subject="localhost",
        key=pki.generate_key("ecdsa-p256"),
        issuer=None,
        not_before=tree.now - dt.timedelta(days=10),
        not_after=tree.now - dt.timedelta(days=1),
        ca=False,
        names=("localhost",),
    )
    with pytest.raises(UnknownCA, match="self-signed and not trusted") as info:
        DefaultVerifier(cafile=tree.ca_path).verify_server((expired,), "localhost", tree.now)
    assert info.value.verify_code == 18
    # trusted as itself, its expiry is what fails
    pem = expired.public_bytes(serialization.Encoding.PEM)
    with pytest.raises(CertificateExpired):
        DefaultVerifier(cadata=pem).verify_server((expired,), "localhost", tree.now)


def test_system_store_loads() -> None:
    verifier = DefaultVerifier()
    anchors = verifier.trust_anchors
    assert len(anchors) > 50  # this machine has the Mozilla bundle in /etc/ssl/certs
    assert all(isinstance(c, x509.Certificate) for c in anchors)
    assert system_trust_anchors() is system_trust_anchors()  # cached
    assert len({c.subject for c in anchors}) > 50


def test_system_store_rejects_private_ca(tree: pki.TestPKI) -> None:
    with pytest.raises(UnknownCA, match="from the system trust store"):
        DefaultVerifier().verify_server(tree.leaves["ed25519"].chain, "localhost", tree.now)


def test_system_store_from_ssl_cert_file(
    tree: pki.TestPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tree.ca_path))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    verifier = DefaultVerifier()
    assert verifier.trust_anchors == (tree.ca.cert,)
    verifier.verify_server(tree.leaves["ed25519"].chain, "localhost", tree.now)


def test_system_store_from_hashed_capath(
    tree: pki.TestPKI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "0123abcd.0").write_bytes(tree.ca_pem)  # as c_rehash names them
    (tmp_path / "same-again.pem").symlink_to(tmp_path / "0123abcd.0")
    (tmp_path / "README").write_text("not a certificate")
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    assert DefaultVerifier().trust_anchors == (tree.ca.cert,)


def test_empty_system_store_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with pytest.raises(ConfigurationError, match="no trusted CA certificates found"):
        _ = DefaultVerifier().trust_anchors


def test_bad_trust_configuration(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read cafile"):
        DefaultVerifier(cafile=tmp_path / "missing.pem")
    with pytest.raises(ConfigurationError, match="cadata"):
        DefaultVerifier(cadata=b"not a certificate")
    with pytest.raises(ConfigurationError, match="max_chain_depth"):
        DefaultVerifier(cadata=b"", max_chain_depth=-1)


# --- other verifiers, protocol -----------------------------------------------------------------


def test_no_verification_accepts_anything(tree: pki.TestPKI) -> None:
    insecure = NoVerification()
    insecure.verify_server(tree.expired.chain, "wrong.example", tree.now)
    insecure.verify_server(tree.untrusted.chain, None, tree.now)
    insecure.verify_client(tree.untrusted.chain, tree.now)


def test_verifiers_satisfy_the_protocol(verifier: DefaultVerifier) -> None:
    assert isinstance(verifier, CertificateVerifier)
    assert isinstance(NoVerification(), CertificateVerifier)


# --- the PKI helper's files work with OpenSSL ---------------------------------------------------


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_openssl_verifies_the_pki_files(tree: pki.TestPKI, flat: pki.TestPKI) -> None:
    def openssl_verify(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["openssl", "verify", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    leaf = flat.leaves["ecdsa-p256"]
    done = openssl_verify("-CAfile", flat.ca_path, leaf.cert_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{leaf.cert_path}: OK"

    assert tree.intermediate is not None
    for key_type in pki.KEY_TYPES:
        path = tree.leaves[key_type].cert_path
        done = openssl_verify(
            "-CAfile", tree.ca_path, "-untrusted", tree.intermediate.cert_path, path
        )
        assert done.stdout.strip() == f"{path}: OK", done.stderr

    expired = openssl_verify("-CAfile", flat.ca_path, flat.expired.cert_path)
    assert expired.returncode != 0
    assert "certificate has expired" in expired.stdout + expired.stderr


@pytest.mark.skipif(shutil.which("certtool") is None, reason="GnuTLS certtool not installed")
def test_gnutls_verifies_the_pki_chains(tree: pki.TestPKI) -> None:
    for key_type in pki.KEY_TYPES:
        chain = str(tree.leaves[key_type].chain_path)
        done = subprocess.run(
            ["certtool", "--verify", "--load-ca-certificate", str(tree.ca_path), "--infile", chain],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert "Chain verification output: Verified." in done.stdout, done.stdout + done.stderr


# -- a self-signed leaf that is itself the trust anchor --------------------------------------


def _openssl_req_x509(tmp_path: Path, *extra: str) -> x509.Certificate:
    """A certificate as people make one for a test server: ``openssl req -x509`` (the system's
    openssl, as the interop tests use), which marks it cA=TRUE."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [shutil.which("openssl") or "openssl", "req", "-x509", "-newkey", "ec",
         "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-keyout", str(key), "-out", str(cert), *extra],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return x509.load_pem_x509_certificate(cert.read_bytes())


def _go_style_self_signed(not_after: dt.datetime | None = None) -> x509.Certificate:
    """Self-signed as Go's x509.CreateCertificate makes one: no authorityKeyIdentifier."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(x509.NameOID.ORGANIZATION_NAME, "Acme Co")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(not_after or now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False), True
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )


def test_openssl_req_x509_certificate_is_trusted_as_itself(tmp_path: Path) -> None:
    """``openssl req -x509`` marks the certificate cA=TRUE, which the CA/Browser Forum's
    end-entity profile forbids; trusted as itself (cadata/cafile), it authenticates its server
    all the same, as with OpenSSL (and Python's ssl). Its names are still checked."""
    cert = _openssl_req_x509(tmp_path, "-addext", "subjectAltName=DNS:localhost")
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca  # what the exception is for
    now = dt.datetime.now(dt.UTC)
    trusting = DefaultVerifier(cafile=tmp_path / "cert.pem")
    assert trusting.verify_server((cert,), "localhost", now) == (cert,)
    assert trusting.verify_client((cert,), now) == (cert,)
    with pytest.raises(BadCertificate, match="does not match"):
        trusting.verify_server((cert,), "example.com", now)
    with pytest.raises(CertificateExpired):
        trusting.verify_server((cert,), "localhost", now + dt.timedelta(days=3))


def test_openssl_req_x509_certificate_without_a_san_still_fails_the_name_check(
    tmp_path: Path,
) -> None:
    """The exception is for the CA flag only: the name must still be in subjectAltName (RFC
    6125 §6.4.4: no fallback to the subject's CN)."""
    cert = _openssl_req_x509(tmp_path)
    with pytest.raises(BadCertificate):
        DefaultVerifier(cafile=tmp_path / "cert.pem").verify_server(
            (cert,), "localhost", dt.datetime.now(dt.UTC)
        )


def test_self_signed_leaf_without_authority_key_identifier_is_trusted_as_itself() -> None:
    cert = _go_style_self_signed()
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    pem = cert.public_bytes(serialization.Encoding.PEM)
    assert DefaultVerifier(cadata=pem).verify_server((cert,), "localhost", now) == (cert,)
    with pytest.raises(BadCertificate, match="does not match"):
        DefaultVerifier(cadata=pem).verify_server((cert,), "example.com", now)
    # serverAuth only: not a client certificate (its extended key usage is still checked)
    with pytest.raises(UnsupportedCertificate, match="lacks id-kp-clientAuth"):
        DefaultVerifier(cadata=pem).verify_client((cert,), now)


def test_ca_flagged_leaf_that_is_not_itself_trusted_is_still_bad(
    tree: pki.TestPKI, tmp_path: Path
) -> None:
    """Only a leaf that is itself a trust anchor gets the exception: a cA=TRUE leaf issued by
    a trusted CA is still refused (with another self-signed anchor in the store too). A cA=TRUE
    self-signed one that is not in the store is refused as what it is, untrusted: unknown_ca
    with ssl's verify code 18, as OpenSSL reports it, not its cA flag."""
    leaf = leaf_signed_by(tree, ca=True)
    other = _go_style_self_signed().public_bytes(serialization.Encoding.PEM)
    trusting_both = DefaultVerifier(cadata=tree.ca_pem + other)
    with pytest.raises(BadCertificate, match="basic constraints"):
        trusting_both.verify_server(chain_of(tree, leaf), "localhost", tree.now)
    cert = _openssl_req_x509(tmp_path, "-addext", "subjectAltName=DNS:localhost")
    with pytest.raises(UnknownCA, match="'localhost' is self-signed and not trusted") as info:
        trusting_both.verify_server((cert,), "localhost", dt.datetime.now(dt.UTC))
    assert info.value.verify_code == 18
    assert info.value.alert == AlertDescription.UNKNOWN_CA
    assert "basic constraints" not in str(info.value)
