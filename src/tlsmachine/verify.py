"""Certificate chain and peer name verification, on ``cryptography.x509.verification``.

RFC 8446 §4.4.2 leaves path validation to the application (RFC 5280, web PKI rules as
implemented by pyca's verifier); this module runs it and turns every failure into the alert
RFC 8446 §6.2 names for it, with a message that says in plain words what was wrong.

Alert mapping (first match wins; see ``_RULES``):

==========================================  =========================  ==========================
failure                                     alert                      why
==========================================  =========================  ==========================
outside notBefore..notAfter (any cert)      certificate_expired        §6.2: "expired or is not
                                                                       currently valid"
no path to a trust anchor, chain too long,  unknown_ca                 §6.2: "the CA certificate
path length violated, the certificate                                  could not be located or
found by the issuer's name is no CA                                    could not be matched"
peer name not in the leaf's SANs            bad_certificate            see below
EKU lacks serverAuth/clientAuth, forbidden  unsupported_certificate    the certificate is not of a
key or signature algorithm, leaf key TLS                               type usable here (OpenSSL
1.3 cannot use                                                         INVALID_PURPOSE, rustls)
bad signature, malformed DER/extensions,    bad_certificate            §6.2: "corrupt, contained
basicConstraints/keyUsage violations,                                  signatures that did not
weak issuer key, name constraints                                      verify correctly, etc."
anything else pyca reports                  certificate_unknown        §6.2: "some other
                                                                       (unspecified) issue"
==========================================  =========================  ==========================

Name mismatch: RFC 8446 names no alert for it. We send ``bad_certificate`` as OpenSSL
(X509_V_ERR_HOSTNAME_MISMATCH), BoringSSL and rustls (``NotValidForName``) do, so peers and
their logs see what they see from every mainstream stack; ``certificate_unknown`` would hide the
cause behind the catch-all.

Empty chains are not a verification matter: an empty server Certificate is a ``decode_error``
and a missing client certificate a ``certificate_required`` (RFC 8446 §4.4.2.4); both are raised
here too, defensively.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import os
import re
import threading
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol, runtime_checkable

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store, Subject, VerificationError

from .certs import (
    PathLike,
    load_trust_anchors,
    public_key_problem,
    system_trust_anchors,
    system_trust_sources,
)
from .errors import (
    BadCertificate,
    CertificateExpired,
    CertificateRequired,
    CertificateUnknown,
    ConfigurationError,
    DecodeError,
    ProtocolError,
    UnknownCA,
    UnsupportedCertificate,
)

Chain = Sequence[x509.Certificate]


@runtime_checkable
class CertificateVerifier(Protocol):
    """Decides whether a peer's certificate chain (leaf first, RFC 8446 §4.4.2) is acceptable.

    Implementations raise a :class:`~tlsmachine.errors.ProtocolError` subclass (its alert is
    sent) or :class:`~tlsmachine.errors.ConfigurationError`; returning means "accepted". The
    CertificateVerify signature (§4.4.3) is checked by the handshake, not here.
    """

    def verify_server(self, chain: Chain, server_name: str | None, now: dt.datetime) -> None:
        """Client side: the server's chain, for the DNS name or IP literal we connected to."""

    def verify_client(self, chain: Chain, now: dt.datetime) -> None:
        """Server side: a client certificate chain (RFC 8446 §4.4.2.3, §4.3.2)."""


class NoVerification:
    """ACCEPTS EVERY CERTIFICATE: NO TRUST CHECK, NO NAME CHECK, NO EXPIRY CHECK.

    For ``--insecure`` and tests only. A connection using it is encrypted but NOT
    authenticated: any active attacker can impersonate the peer. The CertificateVerify
    signature is still checked by the handshake, which proves only that the peer holds the key
    of whatever certificate it chose to send.
    """

    def verify_server(self, chain: Chain, server_name: str | None, now: dt.datetime) -> None:
        """Accept anything (see the class docstring)."""

    def verify_client(self, chain: Chain, now: dt.datetime) -> None:
        """Accept anything (see the class docstring)."""


def parse_certificate_chain(der_list: Sequence[bytes]) -> tuple[x509.Certificate, ...]:
    """Parse the ``cert_data`` of each CertificateEntry (RFC 8446 §4.4.2), X.509 DER.

    Extensions are parsed too (pyca parses them lazily, and its verifier reads only those its
    policy uses), so a malformed extension is reported here. Any failure raises
    :class:`BadCertificate` naming the position of the certificate.

    Parsed certificates are cached by their DER (:func:`_parse_certificate`): a peer sends the
    same chain on every connection, and a certificate object already verified once carries its
    parsed public key and extensions, which saves ~60 µs a handshake.
    """
    certs: list[x509.Certificate] = []
    for index, der in enumerate(der_list, 1):
        data = bytes(der)
        try:
            cert = _parse_certificate(data) if len(data) <= _CACHED_DER_MAX else _parse_der(data)
        except ValueError as exc:
            raise BadCertificate(f"certificate {index} of {len(der_list)} {exc}") from None
        certs.append(cert)
    return tuple(certs)


def _parse_der(der: bytes) -> x509.Certificate:
    """One certificate with its extensions; ``ValueError`` saying what is wrong otherwise."""
    try:
        cert = x509.load_der_x509_certificate(der)
    except (ValueError, x509.InvalidVersion) as exc:
        raise ValueError(f"is not valid DER: {exc}") from None
    try:
        _ = cert.extensions
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as exc:
        raise ValueError(f"has a malformed extension: {exc}") from None
    try:  # pyca reads these lazily; a garbled one must fail here, not in an error message
        _ = cert.subject, cert.issuer
    except ValueError as exc:
        raise ValueError(f"has a malformed name: {exc}") from None
    return cert


def public_key_of(cert: x509.Certificate, whose: str) -> CertificatePublicKeyTypes:
    """The certificate's public key, or :class:`UnsupportedCertificate` when pyca cannot load
    it (an unknown algorithm or curve, a point not on the curve): RFC 8446 §6.2 / RFC 5246
    §7.2.2's unsupported_certificate rather than an internal error."""
    try:
        return cert.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise UnsupportedCertificate(f"{whose} certificate key cannot be used: {exc}") from None


# Certificates are public and immutable and the key is the exact DER, so sharing the parsed
# objects between connections is safe. Failures are not cached (lru_cache never caches an
# exception). Bounded: at most 128 certificates of at most 16 KiB each (a peer picks the DER).
_CACHED_DER_MAX = 16 * 1024
_parse_certificate = functools.lru_cache(maxsize=128)(_parse_der)


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


class _Accepted(NamedTuple):
    """A chain the verifier accepted, and when all certificates of its validated path are valid."""

    chain: tuple[x509.Certificate, ...]
    not_before: dt.datetime
    not_after: dt.datetime


class DefaultVerifier:
    """RFC 5280 path validation plus RFC 6125 name checks, by ``cryptography``'s web PKI policy.

    Trust anchors come from ``cafile`` (PEM) and/or ``cadata`` (PEM text or one DER
    certificate), loaded at construction; with neither, from the system trust store, loaded on
    first use and cached (see :func:`system_trust_anchors`). A certificate in the store is
    trusted as it is, so a self-signed leaf passed as ``cadata`` authenticates exactly that
    server (the demo's flow). ``verify_server`` with ``server_name=None`` raises
    :class:`ConfigurationError` unless ``require_server_name=False``, in which case the chain,
    validity and extended key usage are still checked but ANY name in the leaf is accepted.

    Accepted chains are remembered (``cache_size`` of them, 0 turns it off) and not verified
    again while every certificate of the validated path is within its validity period (the
    reasoning is next to ``_recently_verified``). Rejections are never remembered.
    """

    def __init__(
        self,
        cafile: PathLike | None = None,
        cadata: bytes | str | None = None,
        *,
        max_chain_depth: int = 8,
        require_server_name: bool = True,
        cache_size: int = 64,
    ) -> None:
        if not 0 <= max_chain_depth <= 255:
            raise ConfigurationError(f"max_chain_depth must be 0..255, not {max_chain_depth}")
        if cache_size < 0:
            raise ConfigurationError(f"cache_size must be 0 or more, not {cache_size}")
        self.max_chain_depth = max_chain_depth
        self.require_server_name = require_server_name
        self.cache_size = cache_size
        self._lock = threading.Lock()
        self._accepted: dict[tuple[object, ...], _Accepted] = {}  # see _recently_verified
        self._store: Store | None = None
        self._policy: tuple[int, PolicyBuilder] | None = None  # (max_chain_depth, policy)
        self._anchors: tuple[x509.Certificate, ...] | None = None
        self._source = "the system trust store"
        if cafile is None and cadata is None:
            return
        self._anchors = load_trust_anchors(cafile, cadata)
        sources = [f"cafile {os.fspath(cafile)}"] if cafile is not None else []
        self._source = " and ".join(sources + ["cadata"] * (cadata is not None))

    @property
    def trust_anchors(self) -> tuple[x509.Certificate, ...]:
        """The trusted certificates (loads the system store on first use)."""
        with self._lock:
            if self._anchors is None:
                files, dirs = system_trust_sources()
                self._anchors = system_trust_anchors()
                self._source = f"the system trust store ({', '.join(files + dirs)})"
            return self._anchors

    def _builder(self, now: dt.datetime) -> PolicyBuilder:
        anchors, depth = self.trust_anchors, self.max_chain_depth
        with self._lock:
            if self._store is None:
                self._store = Store(list(anchors))
            if self._policy is None or self._policy[0] != depth:  # built once, not per call
                self._policy = depth, PolicyBuilder().store(self._store).max_chain_depth(depth)
            policy = self._policy[1]
        return policy.time(now)  # PolicyBuilder is immutable: each call returns a new one

    def verify_server(self, chain: Chain, server_name: str | None, now: dt.datetime) -> None:
        """Check the server's chain for ``server_name`` at ``now`` (RFC 8446 §4.4.2.4)."""
        if not chain:
            raise DecodeError("the server sent an empty Certificate message (RFC 8446 §4.4.2.4)")
        if server_name is not None:
            subject = server_name_subject(server_name)
        elif self.require_server_name:
            raise ConfigurationError(
                "no server name to check the certificate against: pass the host name or the IP "
                "address the client connected to, or use DefaultVerifier(require_server_name="
                "False) to accept any name"
            )
        else:
            subject = _any_name_of(chain[0])
        now = _utc(now)
        key = ("server", subject, self.max_chain_depth, *map(id, chain))
        if self._recently_verified(key, chain, now):
            return
        try:
            verifier = self._builder(now).build_server_verifier(subject)
        except ValueError as exc:  # pyca's own check of the reference identity
            raise ConfigurationError(f"server name {server_name!r} is not usable: {exc}") from None
        path = self._run(lambda: verifier.verify(chain[0], list(chain[1:])), chain, now, subject)
        self._remember(key, chain, path)

    def verify_client(self, chain: Chain, now: dt.datetime) -> None:
        """Check a client's chain at ``now`` (EKU clientAuth; RFC 8446 §4.4.2.4)."""
        if not chain:
            raise CertificateRequired(
                "the client sent no certificate, but this server requires one (RFC 8446 §4.4.2.4)"
            )
        now = _utc(now)
        key = ("client", None, self.max_chain_depth, *map(id, chain))
        if self._recently_verified(key, chain, now):
            return
        verifier = self._builder(now).build_client_verifier()
        path = self._run(lambda: verifier.verify(chain[0], list(chain[1:])).chain, chain, now, None)
        self._remember(key, chain, path)

    def _run(
        self,
        verify: Callable[[], Sequence[x509.Certificate]],
        chain: Chain,
        now: dt.datetime,
        subject: Subject | None,
    ) -> Sequence[x509.Certificate]:
        """Run pyca's verification; the validated path (leaf to trust anchor) if accepted."""
        leaf = chain[0]
        try:
            path = verify()
        except VerificationError as exc:
            raise self._explain(str(exc), chain, now, subject) from None
        except ValueError as exc:  # a malformed field pyca met only while verifying
            raise BadCertificate(f"{_describe(leaf)} is malformed: {exc}") from None
        try:
            problem = public_key_problem(leaf.public_key())
        except (UnsupportedAlgorithm, ValueError) as exc:
            problem = f"its public key is of an unsupported type ({exc})"
        if problem:
            raise UnsupportedCertificate(f"{_describe(leaf)} cannot be used: {problem}")
        return path

    # Accepted chains are remembered, as Chromium's CachingCertVerifier does: validating a path
    # costs a signature check per certificate (~90 µs for one ECDSA P-256 link), and a client
    # meets the same server chain on every connection. The result of pyca's verification
    # depends only on the chain, the reference identity, the trust store and the policy (all
    # in the key or fixed for this verifier) and on the time, through the validity periods of
    # the certificates on the path. So the accepted path stays valid exactly while ``now`` is
    # inside all of their validity periods (RFC 5280 §4.1.2.5: notBefore through notAfter,
    # inclusive); outside, and for every rejection, the chain is verified again in full.
    #
    # The key holds the ``id`` of each certificate object (hashing a Certificate hashes its DER,
    # ~1.5 µs each; parse_certificate_chain hands out the same objects for the same DER); the
    # entry keeps those objects alive, so an id cannot be reused while it is remembered, and a
    # hit also compares the chains. At most ``cache_size`` entries, the oldest dropped first.

    def _recently_verified(self, key: tuple[object, ...], chain: Chain, now: dt.datetime) -> bool:
        accepted = self._accepted.get(key)
        return (
            accepted is not None
            and accepted.chain == tuple(chain)
            and accepted.not_before <= now <= accepted.not_after
        )

    def _remember(
        self, key: tuple[object, ...], chain: Chain, path: Sequence[x509.Certificate]
    ) -> None:
        if self.cache_size <= 0 or not path:
            return
        not_before = max(c.not_valid_before_utc for c in path)
        not_after = min(c.not_valid_after_utc for c in path)
        with self._lock:
            self._accepted.pop(key, None)
            self._accepted[key] = _Accepted(tuple(chain), not_before, not_after)
            while len(self._accepted) > self.cache_size:
                del self._accepted[next(iter(self._accepted))]

    def _explain(
        self, message: str, chain: Chain, now: dt.datetime, subject: Subject | None
    ) -> ProtocolError:
        """Turn pyca's VerificationError text into the right alert and a plain message."""
        reason = message.removeprefix("validation failed: ")
        reason = _ENCOUNTERED.sub("", reason).removeprefix("candidates exhausted: ")
        leaf = chain[0]
        if "not valid at validation time" in reason:
            return CertificateExpired(self._validity_message(chain, now))
        if "no matching subjectAltName" in reason and subject is not None:
            what = "IP address" if isinstance(subject, x509.IPAddress) else "host name"
            names = ", ".join(_san_names(leaf)) or "(none)"
            return BadCertificate(
                f"{what} {str(subject.value)!r} does not match the certificate's names: {names}"
            )
        if "no interior errors" in reason:
            return UnknownCA(self._unknown_ca_message(chain))
        if "EKU" in reason:
            purpose = "serverAuth" if subject is not None else "clientAuth"
            return UnsupportedCertificate(
                f"{_describe(leaf)} is not valid for this purpose: its extended key usage lacks"
                f" id-kp-{purpose} ({reason})"
            )
        for needle, error_class, explanation in _RULES:
            if error_class is UnknownCA and needle in reason and leaf.issuer == leaf.subject:
                # e.g. a self-signed leaf named like a trusted self-signed one: plain untrusted
                return UnknownCA(f"{self._unknown_ca_message(chain)} ({reason})")
            if needle in reason:
                return error_class(f"{_describe(leaf)} {explanation} ({reason})")
        return CertificateUnknown(f"{_describe(leaf)} was rejected: {reason}")

    def _validity_message(self, chain: Chain, now: dt.datetime) -> str:
        issuers = {c.issuer for c in chain}
        anchors = [a for a in self.trust_anchors if a.subject in issuers]
        kinds = [("certificate for", chain[0])]
        kinds += [("intermediate CA certificate", c) for c in chain[1:]]
        kinds += [("trusted CA certificate", a) for a in anchors]
        for kind, cert in kinds:
            if now > cert.not_valid_after_utc:
                when = f"expired on {_fmt(cert.not_valid_after_utc)}"
            elif now < cert.not_valid_before_utc:
                when = f"is not valid before {_fmt(cert.not_valid_before_utc)}"
            else:
                continue
            return f"{kind} {certificate_label(cert)!r} {when} (now {_fmt(now)})"
        return f"a certificate of the chain for {certificate_label(chain[0])!r} is not valid now"

    def _unknown_ca_message(self, chain: Chain) -> str:
        leaf, count = chain[0], len(self.trust_anchors)
        anchors = f"trust anchors: {count} certificate{'s' * (count != 1)} from {self._source}"
        if leaf.issuer == leaf.subject:
            return f"{_describe(leaf)} is self-signed and not trusted ({anchors})"
        issuer = chain[-1].issuer.rfc4514_string()
        return (
            f"{_describe(leaf)} was not issued by a trusted CA: the chain the peer sent "
            f"({len(chain)} certificate{'s' * (len(chain) != 1)}) ends at issuer {issuer!r},"
            f" which is not a trust anchor ({anchors})"
        )


_ENCOUNTERED = re.compile(r" \(encountered processing <Certificate.*\)$", re.DOTALL)

# (substring of pyca's reason, alert class, what we say); checked in order after the special
# cases in DefaultVerifier._explain. Justification in the module docstring.
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


def certificate_label(cert: x509.Certificate) -> str:
    """A short human name for a certificate: its first DNS/IP SAN, else CN, else the full DN."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        for name in san:
            if isinstance(name, x509.DNSName | x509.IPAddress):
                return str(name.value)
    except (x509.ExtensionNotFound, ValueError):
        pass
    try:
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if cns:
            return str(cns[0].value)
        return cert.subject.rfc4514_string() or "(empty subject)"
    except ValueError:
        return "(unparsable subject)"


def _describe(cert: x509.Certificate) -> str:
    return f"certificate for {certificate_label(cert)!r}"


def _utc(now: dt.datetime) -> dt.datetime:
    """Naive datetimes are taken as UTC (as pyca does)."""
    return now.replace(tzinfo=dt.UTC) if now.tzinfo is None else now.astimezone(dt.UTC)


def _fmt(when: dt.datetime) -> str:
    return f"{_utc(when):%Y-%m-%d %H:%M:%S} UTC"


def _san_names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    return [str(n.value) for n in san if isinstance(n, x509.DNSName | x509.IPAddress)]


def _any_name_of(leaf: x509.Certificate) -> Subject:
    """A reference identity the leaf matches by construction (for require_server_name=False)."""
    for name in _san_names(leaf):
        if name.startswith("*."):
            name = "wildcard" + name[1:]  # a concrete name the wildcard pattern covers
        try:
            return server_name_subject(name)
        except ConfigurationError:
            continue
    raise BadCertificate(f"{_describe(leaf)} has no DNS or IP subjectAltName")
