"""Explaining why a chain was rejected.

pyca's verifier says little about a failure; :class:`Diagnosis` finds the certificate at fault
and turns pyca's reason into the alert and message the table in :mod:`tlsmachine.verify` gives
it, with the describers of :mod:`tlsmachine.cert_facts`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence

from cryptography import x509
from cryptography.x509.oid import (
    ExtendedKeyUsageOID,
)
from cryptography.x509.verification import Subject

from .cert_facts import (
    ANY_EKU,
    GOOD_SIGNATURES,
    OID_PATTERN,
    Chain,
    acceptable_ca_key,
    broken_hash,
    ca_issuers_url,
    certificate_label,
    describe,
    extended_key_usages,
    format_utc,
    is_ca,
    key_description,
    key_usage,
    key_usages_text,
    name_mismatch_error,
    oid_name,
    oid_name_and_number,
    signature_name,
)
from .certs import MIN_RSA_BITS, certificate_sha256
from .errors import (
    BadCertificate,
    CertificateExpired,
    CertificateUnknown,
    ProtocolError,
    UnknownCA,
    UnsupportedCertificate,
)
from .trust_store import TrustStore

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
        if leaf.issuer == leaf.subject and leaf not in self.trust.certificates:
            # A self-signed leaf that is not itself a trust anchor can have no trusted issuer:
            # that is the failure, whatever pyca met first while trying (e.g. the cA=TRUE of an
            # `openssl req -x509` certificate, or its expiry). OpenSSL, hence ssl, reports it the
            # same way: X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT (18), alert unknown_ca.
            return UnknownCA(self.unknown_ca(), verify_code=18)
        if "not valid at validation time" in reason:
            message, not_yet = self.validity(culprit)
            # ssl's verify_code: X509_V_ERR_CERT_NOT_YET_VALID (9) or _CERT_HAS_EXPIRED (10)
            return CertificateExpired(message, verify_code=9 if not_yet else 10)
        if "no matching subjectAltName" in reason and self.subject is not None:
            return name_mismatch_error(self.subject, leaf)
        if "max depth" in reason and self.anchor is not None:
            return UnknownCA(self.too_long(self.anchor))
        if "no interior errors" in reason or "max depth" in reason:
            # ssl's verify_code: X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY (UnknownCA's default)
            return UnknownCA(self.unknown_ca())
        if "cA must be asserted" in reason:
            return UnknownCA(self.not_a_ca(reason))
        if "Forbidden signature algorithm" in reason:
            return self.weak_signature(culprit or leaf, reason)
        for needle, error_class, explain in _SPECIAL:
            if needle in reason:
                return error_class(explain(self, culprit or leaf, reason))
        for needle, error_class, explanation in _RULES:
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

    def validity(self, culprit: x509.Certificate | None) -> tuple[str, bool]:
        """Which certificate is outside its validity period (RFC 5280 §4.1.2.5), its dates;
        and whether it is not valid yet (rather than expired)."""
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
                renew = _renew(self, cert)
                return f"{self.name(cert)} expired on {format_utc(na)} ({dates}): {renew}", False
            if self.now < nb:
                return (
                    f"{self.name(cert)} is not valid before {format_utc(nb)} ({dates}): check that"
                    " this machine's clock is right; if it is, the certificate is not in force yet",
                    True,
                )
        return (
            f"a certificate of the chain for {certificate_label(self.leaf)!r} is not valid now",
            False,
        )

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
        published = ca_issuers_url(leaf)
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
        missing = OID_PATTERN.search(reason)
        what = oid_name_and_number(missing.group()) if missing else reason
        return f"{self.name(cert)} lacks an extension the web PKI requires (RFC 5280 §4.2): {what}"

    def extended_key_usage(self, cert: x509.Certificate, reason: str) -> str:
        """Which certificate's extendedKeyUsage lacks the purpose (RFC 5280 §4.2.1.12)."""
        server = self.subject is not None
        wanted = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        purpose = f"id-kp-{oid_name(wanted)}"
        culprit, usages = cert, extended_key_usages(cert) or []
        for candidate in (*self.path, *self.issuers):
            found = extended_key_usages(candidate)
            if found is not None and not {wanted, ANY_EKU} & set(found):
                culprit, usages = candidate, found
                break
        allowed = ", ".join(f"id-kp-{oid_name(u)}" for u in usages) or "nothing"
        role = "server" if server else "client"
        return (
            f"{self.name(culprit)} is not valid for this purpose: its extended key usage lacks"
            f" {purpose} (it allows {allowed}); a TLS {role} certificate and the CAs that issue"
            f" it need {purpose} (RFC 5280 §4.2.1.12) ({reason})"
        )

    def weak_signature(self, cert: x509.Certificate, reason: str) -> ProtocolError:
        """Which certificate is signed with a forbidden algorithm (SHA-1, MD5, ...).

        RFC 8446 §4.4.2.4: a certificate that would need an MD5 signature validated MUST be
        bad_certificate, and SHA-1 is RECOMMENDED to be (so are older hashes pyca does not even
        know, MD2 and MD4); any other algorithm we do not accept is unsupported_certificate.
        """
        # An anchor's own signature is never checked (RFC 5280 §6.1: it is trusted as given).
        for candidate in (*self.path, *self.chain[1:]):
            if candidate.signature_algorithm_oid not in GOOD_SIGNATURES:
                name, weak = signature_name(candidate)
                kind = "a weak signature algorithm" if weak else "a signature algorithm"
                error = BadCertificate if broken_hash(candidate) else UnsupportedCertificate
                return error(
                    f"{self.name(candidate)} is signed with {name}, {kind} that is not"
                    f" accepted ({self.where(candidate)}): its CA must reissue it signed with"
                    " SHA-256 or better (RFC 9155; CA/Browser Forum Baseline Requirements"
                    " §7.1.3.2)"
                )
        return UnsupportedCertificate(
            f"{self.name(cert)} has a signature made with a forbidden algorithm ({reason})"
        )

    def weak_issuer_key(self, cert: x509.Certificate, reason: str) -> str:
        """Which CA's key is too weak or of a forbidden type to trust its signatures."""
        for candidate in self.issuers:
            key = candidate.public_key()
            if acceptable_ca_key(key):
                continue
            return (
                f"{self.name(candidate)} has {key_description(key)}, too weak or not allowed"
                f" for signing certificates ({self.where(candidate)}): the CA needs a new key"
                f" (RSA of {MIN_RSA_BITS} bits or more, ECDSA on P-256, P-384 or P-521, or ML-DSA)"
            )
        return f"{self.name(cert)} is signed by a CA whose key is not accepted ({reason})"

    def not_a_signer(self, cert: x509.Certificate, reason: str) -> str:
        """Which CA's keyUsage does not allow it to sign certificates (RFC 5280 §4.2.1.3)."""
        for candidate in self.issuers:
            usage = key_usage(candidate)
            if usage is not None and not usage.key_cert_sign:
                return (
                    f"{self.name(candidate)} may not sign certificates: its keyUsage"
                    f" ({key_usages_text(usage)}) lacks keyCertSign (RFC 5280 §4.2.1.3;"
                    f" {self.where(candidate)})"
                )
        return f"{self.name(cert)} has a CA with an invalid key usage ({reason})"

    def not_a_ca(self, reason: str) -> str:
        """The certificate found under an issuer's name is not a CA (RFC 5280 §4.2.1.9)."""
        for candidate in self.issuers:
            if not is_ca(candidate):
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
    ("Forbidden public key algorithm", UnsupportedCertificate, Diagnosis.weak_issuer_key),
    ("RSA key is too weak", BadCertificate, Diagnosis.weak_issuer_key),
    ("keyCertSign must be asserted", BadCertificate, Diagnosis.not_a_signer),
)
