"""Describing certificates and explaining why a chain was rejected.

pyca's verifier says little about a failure; :class:`Diagnosis` finds the certificate at fault
and turns pyca's reason into the alert and message the table in :mod:`tlsmachine.verify` gives
it. The small describers (labels, dates, subjectAltNames, the reference identity for a server
name) and the leaf checks pyca leaves to TLS live here too, shared by both verifiers.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import re
from collections.abc import Callable, Sequence

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

from .certs import MIN_RSA_BITS, TrustStore, certificate_sha256, public_key_problem
from .errors import (
    BadCertificate,
    CertificateExpired,
    CertificateUnknown,
    ConfigurationError,
    ProtocolError,
    UnknownCA,
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
    usage = _key_usage(leaf)
    if usage is not None and not usage.digital_signature:
        raise UnsupportedCertificate(
            f"{describe(leaf)} cannot be used: its keyUsage ({_key_usages(usage)}) lacks "
            "digitalSignature, which TLS needs to sign the handshake (RFC 8446 §4.4.2.2)"
        )


_ENCOUNTERED = re.compile(
    r" \(encountered processing <Certificate\(subject=(.*?), \.\.\.\)>\)$", re.DOTALL
)
_ADD_ANCHOR = "add its certificate with cafile=, capath= or cadata="


class Diagnosis:
    """Why pyca rejected a chain: which certificate, what exactly is wrong, and the fix.

    pyca's reasons are short and, for failures while building a path ("candidates
    exhausted: ..."), do not say which certificate they concern. Here the chain is walked by
    issuer name (RFC 5280 §4.1.2.4) from the leaf up towards a trust anchor only to find the
    certificate a reason is about and to describe the chain; validation itself stays pyca's.
    """

    def __init__(
        self,
        chain: Chain,
        now: dt.datetime,
        subject: Subject | None,
        trust: TrustStore,
        max_depth: int,
    ) -> None:
        self.chain = tuple(chain)
        self.leaf = self.chain[0]
        self.now = now
        self.subject = subject
        self.trust = trust
        self.max_depth = max_depth
        self.path, self.anchor = _path_by_name(self.chain, trust.certificates)
        self.issuers = [*self.path[1:], *([self.anchor] if self.anchor is not None else [])]

    def explain(self, message: str) -> ProtocolError:
        """The exception (hence the alert, see :mod:`tlsmachine.verify`) for pyca's ``message``."""
        reason = message.removeprefix("validation failed: ")
        encountered = _ENCOUNTERED.search(reason)
        culprit = self._certificate_named(encountered.group(1)) if encountered else None
        reason = _ENCOUNTERED.sub("", reason).removeprefix("candidates exhausted: ")
        leaf = self.leaf
        if "not valid at validation time" in reason:
            return CertificateExpired(self.validity(culprit))
        if "no matching subjectAltName" in reason and self.subject is not None:
            return BadCertificate(name_mismatch(self.subject, leaf))
        if "max depth" in reason and self.anchor is not None:
            return UnknownCA(self.too_long(self.anchor))
        if "no interior errors" in reason or "max depth" in reason:
            return UnknownCA(self.unknown_ca())
        if "cA must be asserted" in reason and leaf.issuer != leaf.subject:
            return UnknownCA(self.not_a_ca(reason))
        for needle, error_class, explain in _SPECIAL:
            if needle in reason:
                return error_class(explain(self, culprit or leaf, reason))
        for needle, error_class, explanation in _RULES:
            if error_class is UnknownCA and needle in reason and leaf.issuer == leaf.subject:
                # e.g. a self-signed leaf named like a trusted self-signed one: plain untrusted
                return UnknownCA(f"{self.unknown_ca()} ({reason})")
            if needle in reason:
                return error_class(f"{self.name(culprit or leaf)} {explanation} ({reason})")
        return CertificateUnknown(f"{self.name(culprit or leaf)} was rejected: {reason}")

    # --- naming certificates ------------------------------------------------------------------

    def _certificate_named(self, subject_repr: str) -> x509.Certificate | None:
        for cert in (*self.chain, *self.trust.certificates):
            if repr(cert.subject) == subject_repr:
                return cert
        return None

    def name(self, cert: x509.Certificate) -> str:
        """``certificate for 'host'``, ``intermediate CA certificate 'X'``, ``trusted CA ...``."""
        if cert is self.leaf:
            return describe(cert)
        if cert in self.chain and cert not in self.trust.certificates:
            return f"intermediate CA certificate {certificate_label(cert)!r}"
        return f"trusted CA certificate {certificate_label(cert)!r}"

    def where(self, cert: x509.Certificate) -> str:
        """Where ``cert`` came from: the peer's chain (and its position) or the trust anchors."""
        if cert is self.leaf:
            return "the peer's own certificate"
        if cert in self.chain and cert not in self.trust.certificates:
            return f"certificate {self.chain.index(cert) + 1} of {len(self.chain)} the peer sent"
        return f"a trust anchor from {self.trust.origin()}"

    # --- the failures -------------------------------------------------------------------------

    def validity(self, culprit: x509.Certificate | None) -> str:
        """Which certificate is outside its validity period (RFC 5280 §4.1.2.5), its dates."""
        issuers = {c.issuer for c in self.chain}
        related = [a for a in self.trust.certificates if a.subject in issuers]
        ordered = [*([culprit] if culprit else []), *self.path, *self.issuers, *self.chain]
        now = format_utc(self.now)
        for cert in ordered + related:
            nb, na = cert.not_valid_before_utc, cert.not_valid_after_utc
            dates = (
                f"now {now}; valid from {format_utc(nb)} to {format_utc(na)}; {self.where(cert)}"
            )
            if self.now > na:
                return (
                    f"{self.name(cert)} expired on {format_utc(na)} ({dates}): {_renew(self, cert)}"
                )
            if self.now < nb:
                return (
                    f"{self.name(cert)} is not valid before {format_utc(nb)} ({dates}): check that"
                    " this machine's clock is right; if it is, the certificate is not in force yet"
                )
        return f"a certificate of the chain for {certificate_label(self.leaf)!r} is not valid now"

    def unknown_ca(self) -> str:
        """No path to a trust anchor: self-signed, missing intermediate, or unknown issuer."""
        leaf, top = self.leaf, self.path[-1]
        anchors = f"trust anchors: {self.trust.describe()}"
        if top is leaf and leaf.issuer == leaf.subject:
            return (
                f"{describe(leaf)} is self-signed and not trusted ({anchors}); to trust exactly"
                " this certificate, add it to the trust anchors (cafile=, capath= or cadata=)"
                f" or pin it: PinnedCertificate({certificate_sha256(leaf)!r})"
            )
        sent = (
            f"the chain the peer sent ({len(self.chain)} certificate{'s' * (len(self.chain) > 1)})"
        )
        if top.issuer == top.subject:
            return (
                f"{describe(leaf)} was not issued by a trusted CA: {sent} ends at the"
                f" self-signed root CA {top.subject.rfc4514_string()!r}, which is not a trust"
                f" anchor ({anchors}); if you trust that CA, {_ADD_ANCHOR}"
                f" (its SHA-256 fingerprint is {certificate_sha256(top)})"
            )
        issuer = top.issuer.rfc4514_string()
        message = (
            f"{describe(leaf)} was not issued by a trusted CA: {sent} ends at issuer"
            f" {issuer!r}, which is not a trust anchor ({anchors})"
        )
        if top is not leaf:
            return f"{message}; if you trust {issuer!r}, {_ADD_ANCHOR}"
        published = _ca_issuers_url(leaf)
        return (
            f"{message}. The peer sent no intermediate CA certificate: if {issuer!r} is an"
            " intermediate CA, the peer is missing it and must send its full chain, its own"
            " certificate first, then the intermediates (RFC 8446 §4.4.2; e.g. fullchain.pem"
            " rather than cert.pem)"
            + (f"; the issuer's certificate is published at {published}" if published else "")
            + f"; if it is a root CA you trust, {_ADD_ANCHOR}"
        )

    def too_long(self, anchor: x509.Certificate) -> str:
        """More intermediates than ``max_chain_depth`` allows (pyca's "max depth")."""
        count = len(self.path) - 1
        return (
            f"{describe(self.leaf)} has a chain longer than allowed: {count} intermediate CA"
            f" certificate{'s' * (count != 1)} up to the trust anchor"
            f" {certificate_label(anchor)!r}, more than max_chain_depth={self.max_depth}"
        )

    def no_subject_alt_name(self, cert: x509.Certificate, reason: str) -> str:
        """RFC 6125 §6.4.4: names are looked up in subjectAltName only, never in the CN."""
        return (
            f"{self.name(cert)} has no subjectAltName extension, the only place a peer's names"
            " are looked up (RFC 6125 §6.4.4; its subject common name is ignored): the peer"
            " needs a certificate with DNS or IP address subjectAltNames"
        )

    def missing_extension(self, cert: x509.Certificate, reason: str) -> str:
        """An extension the web PKI profile requires (e.g. authorityKeyIdentifier) is absent."""
        missing = _OID.search(reason)
        what = _oid_name_and_number(missing.group()) if missing else reason
        return f"{self.name(cert)} lacks an extension the web PKI requires (RFC 5280 §4.2): {what}"

    def extended_key_usage(self, cert: x509.Certificate, reason: str) -> str:
        """Which certificate's extendedKeyUsage lacks the purpose (RFC 5280 §4.2.1.12)."""
        server = self.subject is not None
        wanted = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        purpose = f"id-kp-{_oid_name(wanted)}"
        culprit, usages = cert, _extended_key_usages(cert) or []
        for candidate in (*self.path, *self.issuers):
            found = _extended_key_usages(candidate)
            if found is not None and not {wanted, _ANY_EKU} & set(found):
                culprit, usages = candidate, found
                break
        allowed = ", ".join(f"id-kp-{_oid_name(u)}" for u in usages) or "nothing"
        role = "server" if server else "client"
        return (
            f"{self.name(culprit)} is not valid for this purpose: its extended key usage lacks"
            f" {purpose} (it allows {allowed}); a TLS {role} certificate and the CAs that issue"
            f" it need {purpose} (RFC 5280 §4.2.1.12) ({reason})"
        )

    def weak_signature(self, cert: x509.Certificate, reason: str) -> str:
        """Which certificate is signed with a forbidden algorithm (SHA-1, MD5, ...)."""
        # An anchor's own signature is never checked (RFC 5280 §6.1: it is trusted as given).
        for candidate in (*self.path, *self.chain[1:]):
            if candidate.signature_algorithm_oid not in _GOOD_SIGNATURES:
                name, weak = _signature_name(candidate)
                kind = "a weak signature algorithm" if weak else "a signature algorithm"
                return (
                    f"{self.name(candidate)} is signed with {name}, {kind} that is not"
                    f" accepted ({self.where(candidate)}): its CA must reissue it signed with"
                    " SHA-256 or better (RFC 9155; CA/Browser Forum Baseline Requirements"
                    " §7.1.3.2)"
                )
        return f"{self.name(cert)} has a signature made with a forbidden algorithm ({reason})"

    def weak_issuer_key(self, cert: x509.Certificate, reason: str) -> str:
        """Which CA's key is too weak or of a forbidden type to trust its signatures."""
        for candidate in self.issuers:
            key = candidate.public_key()
            if _acceptable_ca_key(key):
                continue
            return (
                f"{self.name(candidate)} has {_key_description(key)}, too weak or not allowed"
                f" for signing certificates ({self.where(candidate)}): the CA needs a new key"
                f" (RSA of {MIN_RSA_BITS} bits or more, ECDSA on P-256, P-384 or P-521, or ML-DSA)"
            )
        return f"{self.name(cert)} is signed by a CA whose key is not accepted ({reason})"

    def not_a_signer(self, cert: x509.Certificate, reason: str) -> str:
        """Which CA's keyUsage does not allow it to sign certificates (RFC 5280 §4.2.1.3)."""
        for candidate in self.issuers:
            usage = _key_usage(candidate)
            if usage is not None and not usage.key_cert_sign:
                return (
                    f"{self.name(candidate)} may not sign certificates: its keyUsage"
                    f" ({_key_usages(usage)}) lacks keyCertSign (RFC 5280 §4.2.1.3;"
                    f" {self.where(candidate)})"
                )
        return f"{self.name(cert)} has a CA with an invalid key usage ({reason})"

    def not_a_ca(self, reason: str) -> str:
        """The certificate found under an issuer's name is not a CA (RFC 5280 §4.2.1.9)."""
        for candidate in self.issuers:
            if not _is_ca(candidate):
                return (
                    f"{describe(self.leaf)} names an issuer that is not a CA certificate:"
                    f" {certificate_label(candidate)!r} ({self.where(candidate)}) has the"
                    f" issuer's name {candidate.subject.rfc4514_string()!r} but its"
                    f" basicConstraints do not make it a CA (RFC 5280 §4.2.1.9) ({reason})"
                )
        return f"{describe(self.leaf)} names an issuer that is not a CA certificate ({reason})"


def _renew(diagnosis: Diagnosis, cert: x509.Certificate) -> str:
    if cert is diagnosis.leaf:
        return "the peer must renew its certificate"
    if cert in diagnosis.chain and cert not in diagnosis.trust.certificates:
        return "the peer must send its CA's current intermediate certificate"
    return "the trust anchors need updating with this CA's current certificate"


def _path_by_name(
    chain: tuple[x509.Certificate, ...], anchors: Sequence[x509.Certificate]
) -> tuple[list[x509.Certificate], x509.Certificate | None]:
    """The leaf and the sent certificates above it, matched by issuer name (RFC 5280
    §4.1.2.4), and the trust anchor the walk reaches (or None). For messages only."""
    path = [chain[0]]
    while len(path) <= len(chain):
        cert = path[-1]
        if cert in anchors:
            return path, cert
        if cert.issuer == cert.subject:
            return path, None
        anchor = next((a for a in anchors if a.subject == cert.issuer), None)
        if anchor is not None:
            return path, anchor
        above = next((c for c in chain[1:] if c.subject == cert.issuer and c not in path), None)
        if above is None:
            break
        path.append(above)
    return path, None


_ANY_EKU = ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE
# What pyca's web PKI policy accepts (CA/B Baseline Requirements §7.1.3.2): anything else is
# named in the message.
_GOOD_SIGNATURES = frozenset(
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


def _signature_name(cert: x509.Certificate) -> tuple[str, bool]:
    """``("SHA-1 (sha1WithRSAEncryption)", True)``: the algorithm, and whether its hash is weak."""
    oid = _oid_name(cert.signature_algorithm_oid)
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return oid, True  # MD2, MD4, ...: pyca does not even know the hash
    hash_name = algorithm.name if algorithm is not None else ""
    if hash_name in _WEAK_HASHES:
        return f"{_WEAK_HASHES[hash_name]} ({oid})", True
    return oid, False


def _acceptable_ca_key(key: CertificatePublicKeyTypes) -> bool:
    if isinstance(key, rsa.RSAPublicKey):
        return key.key_size >= MIN_RSA_BITS
    if isinstance(key, ec.EllipticCurvePublicKey):
        return key.curve.name in ("secp256r1", "secp384r1", "secp521r1")
    return isinstance(key, _MLDSA_PUBLIC)  # RFC 9881 CA keys, accepted by pyca's verifier


_MLDSA_PUBLIC = mldsa.MLDSA44PublicKey | mldsa.MLDSA65PublicKey | mldsa.MLDSA87PublicKey


def _key_description(key: CertificatePublicKeyTypes) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        return f"a {key.key_size}-bit RSA key"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"an ECDSA key on {key.curve.name} ({key.curve.key_size} bits)"
    return f"a {type(key).__name__.removeprefix('_').removesuffix('PublicKey')} key"


def _extended_key_usages(cert: x509.Certificate) -> list[x509.ObjectIdentifier] | None:
    try:
        return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except (x509.ExtensionNotFound, ValueError):
        return None


def _key_usage(cert: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except (x509.ExtensionNotFound, ValueError):
        return None


def _key_usages(usage: x509.KeyUsage) -> str:
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


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except (x509.ExtensionNotFound, ValueError):
        return False


_OID = re.compile(r"\b[0-2](\.[0-9]+)+\b")


def _oid_name_and_number(dotted: str) -> str:
    """``"authorityKeyIdentifier (2.5.29.35)"`` for pyca's bare OIDs in reasons."""
    try:
        name = _oid_name(x509.ObjectIdentifier(dotted))
    except ValueError:
        return dotted
    return dotted if name == dotted else f"{name} ({dotted})"


def _oid_name(oid: x509.ObjectIdentifier) -> str:
    name = getattr(oid, "_name", "")
    return name if isinstance(name, str) and name and name != "Unknown OID" else oid.dotted_string


def _ca_issuers_url(cert: x509.Certificate) -> str | None:
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


# (substring of pyca's reason, alert class, what we say); checked in order after the special
# cases in Diagnosis.explain. Justification in the docstring of tlsmachine.verify.
_RULES: tuple[tuple[str, type[ProtocolError], str], ...] = (
    ("max depth", UnknownCA, "has a chain longer than allowed"),
    # Issuer side of basicConstraints: the certificate found by the issuer's name is no CA.
    ("cA must be asserted in a CA", UnknownCA, "names an issuer that is not a CA certificate"),
    ("path length constraint", UnknownCA, "has a chain violating a CA's path length limit"),
    ("Forbidden", UnsupportedCertificate, "uses a key or signature algorithm not accepted"),
    ("signature does not match", BadCertificate, "has a signature in its chain that is wrong"),
    ("RSA key is too weak", BadCertificate, "is signed by a CA with a too small RSA key"),
    ("name constraint", BadCertificate, "violates a CA's name constraints"),
    ("basicConstraints", BadCertificate, "has invalid basic constraints"),
    ("keyUsage", BadCertificate, "has an invalid key usage"),
    ("subjectAltName", BadCertificate, "has no usable subjectAltName"),
    ("extension", BadCertificate, "has an invalid or unknown critical extension"),
    ("ASN.1", BadCertificate, "is malformed"),
    ("malformed", BadCertificate, "is malformed"),
    ("UtcTime", BadCertificate, "has a malformed validity date"),
)


# (substring of pyca's reason, alert class, message maker): failures Diagnosis explains in
# full, naming the certificate at fault. Checked before _RULES; alerts as in verify.py's table.
_SPECIAL: tuple[
    tuple[str, type[ProtocolError], Callable[[Diagnosis, x509.Certificate, str], str]], ...
] = (
    ("has no subjectAltName", BadCertificate, Diagnosis.no_subject_alt_name),
    ("missing required extension", BadCertificate, Diagnosis.missing_extension),
    ("EKU", UnsupportedCertificate, Diagnosis.extended_key_usage),
    ("Forbidden signature algorithm", UnsupportedCertificate, Diagnosis.weak_signature),
    ("Forbidden public key algorithm", UnsupportedCertificate, Diagnosis.weak_issuer_key),
    ("RSA key is too weak", BadCertificate, Diagnosis.weak_issuer_key),
    ("keyCertSign must be asserted", BadCertificate, Diagnosis.not_a_signer),
)
