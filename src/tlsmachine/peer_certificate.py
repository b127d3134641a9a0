"""The peer certificate in :mod:`ssl`'s shape: the dict :meth:`ssl.SSLSocket.getpeercert`
returns (OpenSSL's long attribute names, its date and serial formats), built from a pyca
certificate. Kept apart so :class:`~tlsmachine.sockets.TLSSocket`,
:class:`~tlsmachine.context.TLSObject` and :meth:`~tlsmachine.context.Context.get_ca_certs`
describe certificates in one way, and code ported from :mod:`ssl` reads the keys it expects.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
from typing import TypeAlias

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

__all__ = ["PeerCertificate", "peer_certificate_dict"]

_Pairs: TypeAlias = tuple[tuple[str, str], ...]
# a subjectAltName entry: (type, value), a directoryName's value being a name like "subject"
_AltName: TypeAlias = tuple[str, str] | tuple[str, tuple[_Pairs, ...]]
PeerCertificate: TypeAlias = dict[
    str, str | int | tuple[str, ...] | tuple[_Pairs, ...] | tuple[_AltName, ...]
]
"""What :meth:`TLSSocket.getpeercert` returns: the dict :meth:`ssl.SSLSocket.getpeercert` does."""

# OpenSSL's long names (what ssl's getpeercert prints) for the attributes certificates use.
_ATTRIBUTE_NAMES = {
    "2.5.4.3": "commonName",
    "2.5.4.4": "surname",
    "2.5.4.5": "serialNumber",
    "2.5.4.6": "countryName",
    "2.5.4.7": "localityName",
    "2.5.4.8": "stateOrProvinceName",
    "2.5.4.9": "streetAddress",
    "2.5.4.10": "organizationName",
    "2.5.4.11": "organizationalUnitName",
    "2.5.4.12": "title",
    "2.5.4.15": "businessCategory",
    "2.5.4.17": "postalCode",
    "2.5.4.42": "givenName",
    "2.5.4.46": "dnQualifier",
    "2.5.4.65": "pseudonym",
    "1.2.840.113549.1.9.1": "emailAddress",
    "0.9.2342.19200300.100.1.1": "userId",
    "0.9.2342.19200300.100.1.25": "domainComponent",
    "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionCountryName",
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _name_tuple(name: x509.Name) -> tuple[_Pairs, ...]:
    return tuple(
        tuple(
            (_ATTRIBUTE_NAMES.get(a.oid.dotted_string, a.oid.dotted_string), str(a.value))
            for a in rdn
        )
        for rdn in name.rdns
    )


def _asn1_time(when: dt.datetime) -> str:
    """``'Jun  1 12:00:00 2030 GMT'``: OpenSSL's format, which :func:`ssl.cert_time_to_seconds`
    parses (no locale-dependent ``%b``)."""
    return f"{_MONTHS[when.month - 1]} {when.day:2d} {when:%H:%M:%S %Y} GMT"


def _general_name(name: x509.GeneralName) -> _AltName | None:
    if isinstance(name, x509.DNSName):
        return "DNS", name.value
    if isinstance(name, x509.IPAddress):
        address = name.value
        if isinstance(address, ipaddress.IPv6Address):  # OpenSSL: eight unpadded groups
            packed = address.packed
            groups = (int.from_bytes(packed[i : i + 2], "big") for i in range(0, 16, 2))
            return "IP Address", ":".join(f"{g:X}" for g in groups)
        return "IP Address", str(address)
    if isinstance(name, x509.RFC822Name):
        return "email", name.value
    if isinstance(name, x509.UniformResourceIdentifier):
        return "URI", name.value
    if isinstance(name, x509.DirectoryName):
        return "DirName", _name_tuple(name.value)
    if isinstance(name, x509.RegisteredID):
        return "Registered ID", name.value.dotted_string
    return None  # otherName, x400Address, ediPartyName: left out


def _serial_hex(serial: int) -> str:
    """OpenSSL prints the serial's bytes: an even number of upper-case hex digits."""
    digits = f"{serial:X}"
    return digits if len(digits) % 2 == 0 else "0" + digits


def peer_certificate_dict(cert: x509.Certificate) -> PeerCertificate:
    """A certificate as :meth:`ssl.SSLSocket.getpeercert` describes it (same keys and formats:
    subject/issuer as RDN tuples of (long name, value), hex serialNumber, OpenSSL dates,
    subjectAltName, OCSP/caIssuers URIs, crlDistributionPoints)."""
    result: PeerCertificate = {
        "subject": _name_tuple(cert.subject),
        "issuer": _name_tuple(cert.issuer),
        "version": cert.version.value + 1,
        "serialNumber": _serial_hex(cert.serial_number),
        "notBefore": _asn1_time(cert.not_valid_before_utc),
        "notAfter": _asn1_time(cert.not_valid_after_utc),
    }
    with contextlib.suppress(x509.ExtensionNotFound):
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = tuple(n for n in map(_general_name, san) if n is not None)
        if names:
            result["subjectAltName"] = names
    with contextlib.suppress(x509.ExtensionNotFound):
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        for method, key in (
            (AuthorityInformationAccessOID.OCSP, "OCSP"),
            (AuthorityInformationAccessOID.CA_ISSUERS, "caIssuers"),
        ):
            uris = tuple(
                d.access_location.value
                for d in aia
                if d.access_method == method
                and isinstance(d.access_location, x509.UniformResourceIdentifier)
            )
            if uris:
                result[key] = uris
    with contextlib.suppress(x509.ExtensionNotFound):
        cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        points = tuple(
            n.value
            for point in cdp
            for n in point.full_name or ()
            if isinstance(n, x509.UniformResourceIdentifier)
        )
        if points:
            result["crlDistributionPoints"] = points
    return result
