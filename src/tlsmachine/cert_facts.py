"""What a certificate says, in words: labels, dates, subjectAltNames, keys, signatures, usages.

The describers :class:`~tlsmachine.verify_diagnosis.Diagnosis`, the verifiers and pinning use
to name a certificate and explain a problem with it, the reference identity for a server name
(RFC 6125), and the leaf checks pyca leaves to TLS (RFC 8446 §4.4.2.2).
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import re
from collections.abc import Sequence

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, mldsa, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import (
    AuthorityInformationAccessOID,
    ExtendedKeyUsageOID,
    NameOID,
    SignatureAlgorithmOID,
)
from cryptography.x509.verification import Subject

from .certs import MIN_RSA_BITS, public_key_problem
from .errors import (
    BadCertificate,
    ConfigurationError,
    UnsupportedCertificate,
)

Chain = Sequence[x509.Certificate]


@functools.lru_cache(maxsize=64)
def server_name_subject(server_name: str) -> Subject:
    """The reference identity for ``server_name``: an IP SAN for IP literals, else a DNS SAN.

    Accepts ``127.0.0.1``, ``::1``, ``[::1]``, ``fe80::1%eth0`` (zone dropped), host names with
    one trailing dot and internationalised names (converted to A-labels with IDNA 2003).
    Raises :class:`ConfigurationError` for anything else: the name comes from our caller.
    Cached: a client connects to the same few names again and again.
    """
    name = server_name.strip()
    literal = name[1:-1] if name.startswith("[") and name.endswith("]") else name
    try:
        return x509.IPAddress(ipaddress.ip_address(literal.split("%", 1)[0]))
    except ValueError:
        pass
    host = name[:-1] if name.endswith(".") else name
    try:
        host = host.encode("idna").decode("ascii").lower() if not host.isascii() else host.lower()
    except UnicodeError:
        host = ""
    if len(host) > 253 or not _HOSTNAME.match(host):
        raise ConfigurationError(
            f"server name {server_name!r} is neither a valid DNS name nor an IP address"
        )
    return x509.DNSName(host)


_LABEL = r"(?!-)[a-z0-9_-]{1,63}(?<!-)"


_HOSTNAME = re.compile(rf"{_LABEL}(\.{_LABEL})*\Z")


def certificate_label(cert: x509.Certificate) -> str:
    """A short human name for a certificate: its first DNS/IP SAN, else CN, else the full DN."""
    names = san_names(cert)
    if names:
        return names[0]
    try:
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if cns:
            return str(cns[0].value)
        return cert.subject.rfc4514_string() or "(empty subject)"
    except ValueError:
        return "(unparsable subject)"


def describe(cert: x509.Certificate) -> str:
    return f"certificate for {certificate_label(cert)!r}"


def as_utc(now: dt.datetime) -> dt.datetime:
    """Naive datetimes are taken as UTC (as pyca does)."""
    return now.replace(tzinfo=dt.UTC) if now.tzinfo is None else now.astimezone(dt.UTC)


def format_utc(when: dt.datetime) -> str:
    return f"{as_utc(when):%Y-%m-%d %H:%M:%S} UTC"


def subject_alt_names(cert: x509.Certificate) -> list[x509.GeneralName]:
    try:
        return list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except (x509.ExtensionNotFound, ValueError):
        return []


def san_names(
    cert: x509.Certificate,
    kinds: type[x509.GeneralName] | tuple[type[x509.GeneralName], ...] = (
        x509.DNSName,
        x509.IPAddress,
    ),
) -> list[str]:
    """The DNS and/or IP subjectAltNames (RFC 5280 §4.2.1.6) as text, in order."""
    return [str(n.value) for n in subject_alt_names(cert) if isinstance(n, kinds)]


def check_leaf_usable(leaf: x509.Certificate) -> None:
    """What pyca's web PKI policy leaves to TLS: the leaf's own key must be one TLS can sign
    with and not weak, and a keyUsage extension must allow digitalSignature (RFC 8446
    §4.2.3, §4.4.2.2; RFC 5280 §4.2.1.3). :class:`UnsupportedCertificate` otherwise."""
    try:
        problem = public_key_problem(leaf.public_key())
    except (UnsupportedAlgorithm, ValueError) as exc:
        problem = f"its public key is of an unsupported type ({exc})"
    if problem:
        raise UnsupportedCertificate(
            f"{describe(leaf)} cannot be used: {problem}; the peer needs a new key and certificate"
        )
    usage = key_usage(leaf)
    if usage is not None and not usage.digital_signature:
        raise UnsupportedCertificate(
            f"{describe(leaf)} cannot be used: its keyUsage ({key_usages_text(usage)}) lacks "
            "digitalSignature, which TLS needs to sign the handshake (RFC 8446 §4.4.2.2)"
        )


ANY_EKU = ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE


# What pyca's web PKI policy accepts (CA/B Baseline Requirements §7.1.3.2): anything else is
# named in the message.
GOOD_SIGNATURES = frozenset(
    {
        SignatureAlgorithmOID.RSA_WITH_SHA256,
        SignatureAlgorithmOID.RSA_WITH_SHA384,
        SignatureAlgorithmOID.RSA_WITH_SHA512,
        SignatureAlgorithmOID.RSASSA_PSS,
        SignatureAlgorithmOID.ECDSA_WITH_SHA256,
        SignatureAlgorithmOID.ECDSA_WITH_SHA384,
        SignatureAlgorithmOID.ECDSA_WITH_SHA512,
        # ML-DSA (RFC 9881), which pyca's verifier accepts: never the weak one in a chain
        SignatureAlgorithmOID.ML_DSA_44,
        SignatureAlgorithmOID.ML_DSA_65,
        SignatureAlgorithmOID.ML_DSA_87,
    }
)


_WEAK_HASHES = {"md5": "MD5", "sha1": "SHA-1", "sha224": "SHA-224"}


def signature_name(cert: x509.Certificate) -> tuple[str, bool]:
    """``("SHA-1 (sha1WithRSAEncryption)", True)``: the algorithm, and whether its hash is weak."""
    oid = oid_name(cert.signature_algorithm_oid)
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return oid, True  # MD2, MD4, ...: pyca does not even know the hash
    hash_name = algorithm.name if algorithm is not None else ""
    if hash_name in _WEAK_HASHES:
        return f"{_WEAK_HASHES[hash_name]} ({oid})", True
    return oid, False


def broken_hash(cert: x509.Certificate) -> bool:
    """Is the certificate signed over MD5 or SHA-1 (or MD2/MD4, unknown to pyca)? RFC 8446
    §4.4.2.4 wants bad_certificate for those (MUST for MD5, RECOMMENDED for SHA-1)."""
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return True
    return algorithm is not None and algorithm.name in ("md5", "sha1")


def acceptable_ca_key(key: CertificatePublicKeyTypes) -> bool:
    if isinstance(key, rsa.RSAPublicKey):
        return key.key_size >= MIN_RSA_BITS
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.curve.name in ("secp256r1", "secp384r1", "secp521r1")
    return isinstance(key, _MLDSA_PUBLIC)  # RFC 9881 CA keys, accepted by pyca's verifier


_MLDSA_PUBLIC = mldsa.MLDSA44PublicKey | mldsa.MLDSA65PublicKey | mldsa.MLDSA87PublicKey


def key_description(key: CertificatePublicKeyTypes) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        return f"a {key.key_size}-bit RSA key"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"an ECDSA key on {key.curve.name} ({key.curve.key_size} bits)"
    return f"a {type(key).__name__.removeprefix('_').removesuffix('PublicKey')} key"


def extended_key_usages(cert: x509.Certificate) -> list[x509.ObjectIdentifier] | None:
    try:
        return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except (x509.ExtensionNotFound, ValueError):
        return None


def key_usage(cert: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        return None


def key_usages_text(usage: x509.KeyUsage) -> str:
    """The bits a KeyUsage asserts, by their RFC 5280 §4.2.1.3 names."""
    names = [
        ("digitalSignature", "digital_signature"),
        ("nonRepudiation", "content_commitment"),
        ("keyEncipherment", "key_encipherment"),
        ("dataEncipherment", "data_encipherment"),
        ("keyAgreement", "key_agreement"),
        ("keyCertSign", "key_cert_sign"),
        ("cRLSign", "crl_sign"),
    ]
    return ", ".join(rfc for rfc, attr in names if getattr(usage, attr)) or "no bits"


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (x509.ExtensionNotFound, ValueError):
        return False


OID_PATTERN = re.compile(r"\b[0-2](\.[0-9]+)+\b")


def oid_name_and_number(dotted: str) -> str:
    """``"authorityKeyIdentifier (2.5.29.35)"`` for pyca's bare OIDs in reasons."""
    try:
        name = oid_name(x509.ObjectIdentifier(dotted))
    except ValueError:
        return dotted
    return dotted if name == dotted else f"{name} ({dotted})"


def oid_name(oid: x509.ObjectIdentifier) -> str:
    name = getattr(oid, "_name", "")
    return name if isinstance(name, str) and name and name != "Unknown OID" else oid.dotted_string


def ca_issuers_url(cert: x509.Certificate) -> str | None:
    """The authorityInfoAccess caIssuers URI (RFC 5280 §4.2.2.1), where the issuer is published."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except (x509.ExtensionNotFound, ValueError):
        return None
    for description in aia:
        location = description.access_location
        if description.access_method == AuthorityInformationAccessOID.CA_ISSUERS and (
            isinstance(location, x509.UniformResourceIdentifier)
        ):
            return location.value
    return None


#: ssl's ``verify_code`` for a certificate of other names: OpenSSL's
#: X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH
HOSTNAME_MISMATCH = 62
IP_ADDRESS_MISMATCH = 64


def name_mismatch_error(subject: Subject, leaf: x509.Certificate) -> BadCertificate:
    """The leaf is not for ``subject``: bad_certificate, with :func:`name_mismatch`'s message
    and ssl's ``verify_code`` (:data:`HOSTNAME_MISMATCH` or :data:`IP_ADDRESS_MISMATCH`)."""
    code = IP_ADDRESS_MISMATCH if isinstance(subject, x509.IPAddress) else HOSTNAME_MISMATCH
    return BadCertificate(name_mismatch(subject, leaf), verify_code=code)


def name_mismatch(subject: Subject, leaf: x509.Certificate) -> str:
    """The reference identity, the names the leaf covers, and a hint for the usual mistakes
    (RFC 6125 §6.4: DNS names match DNS SANs, IP addresses only iPAddress SANs)."""
    value = str(subject.value)
    names = san_names(leaf)
    dns = [n.lower() for n in san_names(leaf, x509.DNSName)]
    ips = san_names(leaf, x509.IPAddress)
    what = "IP address" if isinstance(subject, x509.IPAddress) else "host name"
    message = (
        f"{what} {value!r} does not match the certificate's names: {', '.join(names) or '(none)'}"
    )
    if isinstance(subject, x509.IPAddress):
        if value in dns:
            return (
                f"{message}; {value!r} is there as a DNS name, which never matches an IP address:"
                " the certificate needs it as an iPAddress subjectAltName (RFC 6125 §6.2.1)"
            )
        if dns and not ips:
            return f"{message}; the certificate has no IP address names: connect by host name"
        return message
    if ips and not dns:
        return f"{message}; the certificate has only IP address names: connect by IP address"
    for pattern in dns:
        base = pattern[2:] if pattern.startswith("*.") else None
        if base and value == base:
            return f"{message}; {pattern!r} does not cover {base!r} itself (RFC 6125 §6.4.3)"
        if base and value.endswith("." + base):
            return (
                f"{message}; the wildcard {pattern!r} covers exactly one label, not"
                f" {value!r} (RFC 6125 §6.4.3)"
            )
    return message
