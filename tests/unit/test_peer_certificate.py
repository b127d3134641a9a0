"""getpeercert()'s dict against the stdlib's own decoder, on a certificate with every field
the dict shows.

``ssl._ssl._test_decode_cert(path)`` is CPython's decoder behind ``SSLSocket.getpeercert()``
(the function its own test suite uses): the reference, byte for byte, for our
:func:`~tlsmachine.peer_certificate.peer_certificate_dict`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from tlsmachine.peer_certificate import peer_certificate_dict


def _name(*attributes: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])


def _rich_certificate() -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(
        (NameOID.COUNTRY_NAME, "DE"),
        (NameOID.ORGANIZATION_NAME, "Example"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "Unit"),
        (NameOID.COMMON_NAME, "example.com"),
        (NameOID.EMAIL_ADDRESS, "a@example.com"),
    )
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    san = x509.SubjectAlternativeName(
        [
            x509.DNSName("example.com"),
            x509.IPAddress(ipaddress.ip_address("192.0.2.1")),
            x509.IPAddress(ipaddress.ip_address("2001:db8::1")),
            x509.RFC822Name("b@example.com"),
            x509.UniformResourceIdentifier("https://example.com/x"),
            x509.DirectoryName(_name((NameOID.COMMON_NAME, "dir"), (NameOID.COUNTRY_NAME, "FR"))),
            x509.RegisteredID(x509.ObjectIdentifier("1.2.3.4")),  # unknown to OpenSSL
        ]
    )
    ocsp, ca_issuers = AuthorityInformationAccessOID.OCSP, AuthorityInformationAccessOID.CA_ISSUERS
    aia = x509.AuthorityInformationAccess(
        [
            x509.AccessDescription(ocsp, x509.UniformResourceIdentifier("http://ocsp.example")),
            x509.AccessDescription(ca_issuers, x509.UniformResourceIdentifier("http://ca.example")),
        ]
    )
    crl = x509.UniformResourceIdentifier("http://crl.example/a.crl")
    cdp = x509.CRLDistributionPoints([x509.DistributionPoint([crl], None, None, None)])
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(0x0F1234)  # an odd number of hex digits: OpenSSL pads it
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(san, critical=False)
        .add_extension(aia, critical=False)
        .add_extension(cdp, critical=False)
        .sign(key, hashes.SHA256())
    )


def test_getpeercert_dict_is_what_ssl_decodes(tmp_path: Path) -> None:
    cert = _rich_certificate()
    path = tmp_path / "cert.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    reference = ssl._ssl._test_decode_cert(str(path))  # type: ignore[attr-defined]
    ours = peer_certificate_dict(cert)
    assert ours == reference
    # the fields the comparison covers, so that a decoder that drops them cannot pass
    assert {"subjectAltName", "OCSP", "caIssuers", "crlDistributionPoints"} <= set(ours)
    kinds = {kind for kind, _ in ours["subjectAltName"]}  # type: ignore[misc]
    assert kinds == {"DNS", "IP Address", "email", "URI", "DirName", "Registered ID"}
