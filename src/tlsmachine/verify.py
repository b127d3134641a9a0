"""Certificate chain and peer name verification, on ``cryptography.x509.verification``.

RFC 8446 §4.4.2 leaves path validation to the application (RFC 5280, web PKI rules as
implemented by pyca's verifier); this module runs it and turns every failure into the alert
RFC 8446 §6.2 names for it, with a message that names the certificate at fault, the facts
(dates, names, issuer, trust anchors and where they came from) and the fix.

Alert mapping (first match wins; see ``_Diagnosis.explain`` and ``_RULES``):

==========================================  =========================  ==========================
failure                                     alert                      why
==========================================  =========================  ==========================
outside notBefore..notAfter (any cert)      certificate_expired        §6.2: "expired or is not
                                                                       currently valid"
no path to a trust anchor (unknown issuer,  unknown_ca                 §6.2: "the CA certificate
missing intermediate, untrusted self-                                  could not be located or
signed), chain too long, path length                                   could not be matched"
violated, the certificate found by the
issuer's name is no CA; a leaf that does
not match a PinnedCertificate pin
peer name not in the leaf's SANs            bad_certificate            see below
EKU lacks serverAuth/clientAuth, keyUsage   unsupported_certificate    the certificate is not of a
lacks digitalSignature (RFC 8446                                       type usable here (OpenSSL
§4.4.2.2), forbidden key or signature                                  INVALID_PURPOSE, rustls)
algorithm (SHA-1, MD5, P-192), leaf key
TLS cannot use or too weak (RSA < 2048)
bad signature, malformed DER/extensions,    bad_certificate            §6.2: "corrupt, contained
basicConstraints/keyUsage violations,                                  signatures that did not
weak issuer RSA key, name constraints                                  verify correctly, etc."
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

import base64
import binascii
import datetime as dt
import functools
import ipaddress
import re
import threading
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol, runtime_checkable

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import (
    AuthorityInformationAccessOID,
    ExtendedKeyUsageOID,
    NameOID,
    SignatureAlgorithmOID,
)
from cryptography.x509.verification import PolicyBuilder, Store, Subject, VerificationError

from .certs import (
    MIN_RSA_BITS,
    PathLike,
    TrustStore,
    certificate_sha256,
    load_trust_store,
    public_key_problem,
    spki_sha256,
    system_trust_store,
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

    Trust anchors come from ``cafile`` (PEM), ``capath`` (a directory of PEM or DER files,
    ``c_rehash``'d ``<hash>.0`` links included; see :func:`~tlsmachine.certs.load_capath`)
    and/or ``cadata`` (PEM text or one DER certificate), loaded at construction; with none of
    them, from the system trust store, loaded on first use and cached (see
    :func:`~tlsmachine.certs.system_trust_store`: ``SSL_CERT_FILE``/``SSL_CERT_DIR``, the
    paths of ``ssl.get_default_verify_paths()``, then ``certifi``). A certificate in the store
    is trusted as it is, so a self-signed leaf passed as ``cadata`` authenticates exactly that
    server (the demo's flow). ``verify_server`` with ``server_name=None`` raises
    :class:`ConfigurationError` unless ``require_server_name=False``, in which case the chain,
    validity and extended key usage are still checked but ANY name in the leaf is accepted.

    After pyca accepts a path, the leaf must also be usable for TLS: a key TLS can sign with
    that is not weak (RSA >= 2048 bits, P-256/P-384/P-521, Ed25519/Ed448) and, if it has a
    keyUsage extension, digitalSignature (RFC 8446 §4.4.2.2).

    Accepted chains are remembered (``cache_size`` of them, 0 turns it off) and not verified
    again while every certificate of the validated path is within its validity period (the
    reasoning is next to ``_recently_verified``). Rejections are never remembered.
    """

    def __init__(
        self,
        cafile: PathLike | None = None,
        cadata: bytes | str | None = None,
        capath: PathLike | None = None,
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
        self._trust: TrustStore | None = None
        if cafile is not None or cadata is not None or capath is not None:
            self._trust = load_trust_store(cafile, cadata, capath)

    @property
    def trust_store(self) -> TrustStore:
        """The trust anchors and where they came from (loads the system store on first use)."""
        with self._lock:
            if self._trust is None:
                self._trust = system_trust_store()
            return self._trust

    @property
    def trust_anchors(self) -> tuple[x509.Certificate, ...]:
        """The trusted certificates (loads the system store on first use)."""
        return self.trust_store.certificates

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
        try:
            path = verify()
        except VerificationError as exc:
            raise self._explain(str(exc), chain, now, subject) from None
        except ValueError as exc:  # a malformed field pyca met only while verifying
            raise BadCertificate(f"{_describe(chain[0])} is malformed: {exc}") from None
        check_leaf_usable(chain[0])
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
        diagnosis = _Diagnosis(chain, now, subject, self.trust_store, self.max_chain_depth)
        return diagnosis.explain(message)


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
            f"{_describe(leaf)} cannot be used: {problem}; the peer needs a new key and certificate"
        )
    usage = _key_usage(leaf)
    if usage is not None and not usage.digital_signature:
        raise UnsupportedCertificate(
            f"{_describe(leaf)} cannot be used: its keyUsage ({_key_usages(usage)}) lacks "
            "digitalSignature, which TLS needs to sign the handshake (RFC 8446 §4.4.2.2)"
        )


_ENCOUNTERED = re.compile(
    r" \(encountered processing <Certificate\(subject=(.*?), \.\.\.\)>\)$", re.DOTALL
)
_ADD_ANCHOR = "add its certificate with cafile=, capath= or cadata="


class _Diagnosis:
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
        """The exception (hence the alert, see the module docstring) for pyca's ``message``."""
        reason = message.removeprefix("validation failed: ")
        encountered = _ENCOUNTERED.search(reason)
        culprit = self._certificate_named(encountered.group(1)) if encountered else None
        reason = _ENCOUNTERED.sub("", reason).removeprefix("candidates exhausted: ")
        leaf = self.leaf
        if "not valid at validation time" in reason:
            return CertificateExpired(self.validity(culprit))
        if "no matching subjectAltName" in reason and self.subject is not None:
            return BadCertificate(_name_mismatch(self.subject, leaf))
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
            return _describe(cert)
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
        now = _fmt(self.now)
        for cert in ordered + related:
            nb, na = cert.not_valid_before_utc, cert.not_valid_after_utc
            dates = f"now {now}; valid from {_fmt(nb)} to {_fmt(na)}; {self.where(cert)}"
            if self.now > na:
                return f"{self.name(cert)} expired on {_fmt(na)} ({dates}): {_renew(self, cert)}"
            if self.now < nb:
                return (
                    f"{self.name(cert)} is not valid before {_fmt(nb)} ({dates}): check that this"
                    " machine's clock is right; if it is, the certificate is not in force yet"
                )
        return f"a certificate of the chain for {certificate_label(self.leaf)!r} is not valid now"

    def unknown_ca(self) -> str:
        """No path to a trust anchor: self-signed, missing intermediate, or unknown issuer."""
        leaf, top = self.leaf, self.path[-1]
        anchors = f"trust anchors: {self.trust.describe()}"
        if top is leaf and leaf.issuer == leaf.subject:
            return (
                f"{_describe(leaf)} is self-signed and not trusted ({anchors}); to trust exactly"
                " this certificate, add it to the trust anchors (cafile=, capath= or cadata=)"
                f" or pin it: PinnedCertificate({certificate_sha256(leaf)!r})"
            )
        sent = (
            f"the chain the peer sent ({len(self.chain)} certificate{'s' * (len(self.chain) > 1)})"
        )
        if top.issuer == top.subject:
            return (
                f"{_describe(leaf)} was not issued by a trusted CA: {sent} ends at the"
                f" self-signed root CA {top.subject.rfc4514_string()!r}, which is not a trust"
                f" anchor ({anchors}); if you trust that CA, {_ADD_ANCHOR}"
                f" (its SHA-256 fingerprint is {certificate_sha256(top)})"
            )
        issuer = top.issuer.rfc4514_string()
        message = (
            f"{_describe(leaf)} was not issued by a trusted CA: {sent} ends at issuer"
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
            f"{_describe(self.leaf)} has a chain longer than allowed: {count} intermediate CA"
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
                f" (RSA of {MIN_RSA_BITS} bits or more, or ECDSA on P-256, P-384 or P-521)"
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
                    f"{_describe(self.leaf)} names an issuer that is not a CA certificate:"
                    f" {certificate_label(candidate)!r} ({self.where(candidate)}) has the"
                    f" issuer's name {candidate.subject.rfc4514_string()!r} but its"
                    f" basicConstraints do not make it a CA (RFC 5280 §4.2.1.9) ({reason})"
                )
        return f"{_describe(self.leaf)} names an issuer that is not a CA certificate ({reason})"


def _renew(diagnosis: _Diagnosis, cert: x509.Certificate) -> str:
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
    return False


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


def _name_mismatch(subject: Subject, leaf: x509.Certificate) -> str:
    """The reference identity, the names the leaf covers, and a hint for the usual mistakes
    (RFC 6125 §6.4: DNS names match DNS SANs, IP addresses only iPAddress SANs)."""
    value = str(subject.value)
    names = _san_names(leaf)
    dns = [n.lower() for n in _san_names(leaf, x509.DNSName)]
    ips = _san_names(leaf, x509.IPAddress)
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


class PinnedCertificate:
    """Trusts exactly the pinned certificate(s) or public key(s) instead of any CA.

    For a self-signed or private server (or client) known in advance. Each pin is one of:

    * a certificate (an :class:`x509.Certificate`, or PEM or DER bytes/text) or the SHA-256
      fingerprint of its DER in hex, colons optional, as ``openssl x509 -noout -fingerprint
      -sha256`` and :meth:`CertifiedKey.fingerprint_sha256` print it: matches exactly that
      certificate;
    * ``"sha256/<base64>"`` (or curl's ``"sha256//<base64>"``): the SHA-256 of the
      SubjectPublicKeyInfo, an RFC 7469 §2.4 ``pin-sha256``: matches any certificate for that
      key, so the pin survives renewing the certificate with the same key.

    Only the leaf (the first certificate, RFC 8446 §4.4.2) is compared; the rest of the chain
    is ignored, as the pin replaces RFC 5280 path validation. The handshake still proves that
    the peer holds the key (CertificateVerify, §4.4.3). A leaf matching no pin is
    ``unknown_ca`` (the pins are the only trust anchors, §6.2), with both fingerprints in the
    message. ``check_validity`` (default on) still requires notBefore <= now <= notAfter
    (``certificate_expired``); ``check_hostname`` (default off: the pin already names the
    peer) also requires the server name in the leaf's subjectAltNames (``bad_certificate``).
    The leaf's key must be usable and not weak, as with :class:`DefaultVerifier`.
    """

    def __init__(
        self,
        *pins: x509.Certificate | bytes | str,
        check_validity: bool = True,
        check_hostname: bool = False,
    ) -> None:
        if not pins:
            raise ConfigurationError("PinnedCertificate needs at least one certificate or pin")
        parsed = [p for pin in pins for p in _parse_pin(pin)]
        self.pins: tuple[str, ...] = tuple(dict.fromkeys(parsed))
        """Normalised pins: ``AB:CD:...`` (certificate) or ``sha256/...`` (public key)."""
        self.check_validity = check_validity
        self.check_hostname = check_hostname

    def verify_server(self, chain: Chain, server_name: str | None, now: dt.datetime) -> None:
        """Accept the server's chain if its leaf matches a pin (and, if asked, the name)."""
        if not chain:
            raise DecodeError("the server sent an empty Certificate message (RFC 8446 §4.4.2.4)")
        if self.check_hostname and server_name is None:
            raise ConfigurationError(
                "PinnedCertificate(check_hostname=True) needs the server name the client"
                " connected to"
            )
        self._check(chain[0], now)
        if self.check_hostname and server_name is not None:
            subject = server_name_subject(server_name)
            if not _name_matches(subject, chain[0]):
                raise BadCertificate(_name_mismatch(subject, chain[0]))

    def verify_client(self, chain: Chain, now: dt.datetime) -> None:
        """Accept a client's chain if its leaf matches a pin."""
        if not chain:
            raise CertificateRequired(
                "the client sent no certificate, but this server requires one (RFC 8446 §4.4.2.4)"
            )
        self._check(chain[0], now)

    def _check(self, leaf: x509.Certificate, now: dt.datetime) -> None:
        cert_pin, key_pin = certificate_sha256(leaf), spki_sha256(leaf)
        if cert_pin not in self.pins and key_pin not in self.pins:
            expected = " or ".join(_pin_label(p) for p in self.pins)
            raise UnknownCA(
                f"{_describe(leaf)} is not the pinned certificate: expected {expected}; received"
                f" certificate SHA-256 {cert_pin} (public key {key_pin}); if the peer's"
                " certificate changed on purpose, pin the new one"
            )
        now = _utc(now)
        if self.check_validity:
            nb, na = leaf.not_valid_before_utc, leaf.not_valid_after_utc
            dates = f"now {_fmt(now)}; valid from {_fmt(nb)} to {_fmt(na)}; the pinned certificate"
            if now > na:
                raise CertificateExpired(
                    f"{_describe(leaf)} expired on {_fmt(na)} ({dates}): the peer must renew it"
                    " (and the pin be updated), or use PinnedCertificate(check_validity=False)"
                )
            if now < nb:
                raise CertificateExpired(
                    f"{_describe(leaf)} is not valid before {_fmt(nb)} ({dates}): check that this"
                    " machine's clock is right"
                )
        check_leaf_usable(leaf)


def _parse_pin(pin: x509.Certificate | bytes | str) -> list[str]:
    """A pin in the normalised forms of :attr:`PinnedCertificate.pins`."""
    if isinstance(pin, x509.Certificate):
        return [certificate_sha256(pin)]
    if isinstance(pin, bytes | bytearray | memoryview):
        data = bytes(pin)
        if b"-----BEGIN" in data:
            try:
                return [certificate_sha256(c) for c in x509.load_pem_x509_certificates(data)]
            except ValueError as exc:
                raise ConfigurationError(f"pinned PEM: no readable certificate ({exc})") from None
        try:
            return [certificate_sha256(x509.load_der_x509_certificate(data))]
        except ValueError as exc:
            raise ConfigurationError(f"pinned bytes are neither PEM nor DER ({exc})") from None
    text = pin.strip()
    if "-----BEGIN" in text:
        return _parse_pin(text.encode("ascii", "replace"))
    if text.lower().startswith("sha256/"):
        try:
            digest = base64.b64decode(text[7:].lstrip("/"), validate=True)
        except (binascii.Error, ValueError):
            digest = b""
        if len(digest) != 32:
            raise ConfigurationError(
                f"public key pin {pin!r} is not sha256/ followed by the base64 of 32 bytes"
            )
        return ["sha256/" + base64.b64encode(digest).decode("ascii")]
    hex_digits = re.sub(r"[\s:]", "", text.rpartition("=")[2])  # "SHA256 Fingerprint=AB:..."
    if not re.fullmatch(r"[0-9A-Fa-f]{64}", hex_digits):
        raise ConfigurationError(
            f"pin {pin!r} is neither a SHA-256 certificate fingerprint (64 hex digits, colons"
            " optional), a sha256/<base64> public key pin nor a PEM certificate"
        )
    return [":".join(re.findall("..", hex_digits.upper()))]


def _pin_label(pin: str) -> str:
    return f"public key {pin}" if pin.startswith("sha256/") else f"certificate SHA-256 {pin}"


def _name_matches(subject: Subject, cert: x509.Certificate) -> bool:
    """RFC 6125 §6.4 matching for :class:`PinnedCertificate`, which builds no path for pyca to
    check names on: an IP address equals an iPAddress SAN; a DNS name equals a DNS SAN
    (ignoring case), or a ``*.`` wildcard SAN standing for exactly its first label (§6.4.3)."""
    if isinstance(subject, x509.IPAddress):
        return any(isinstance(n, x509.IPAddress) and n.value == subject.value for n in _sans(cert))
    host = str(subject.value).lower()
    rest = host.partition(".")[2]
    for name in _sans(cert):
        if not isinstance(name, x509.DNSName):
            continue
        pattern = name.value.lower().removesuffix(".")
        if pattern == host or (pattern.startswith("*.") and rest and pattern[2:] == rest):
            return True
    return False


# (substring of pyca's reason, alert class, what we say); checked in order after the special
# cases in _Diagnosis.explain. Justification in the module docstring.
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


# (substring of pyca's reason, alert class, message maker): failures _Diagnosis explains in
# full, naming the certificate at fault. Checked before _RULES; alerts as in the module table.
_SPECIAL: tuple[
    tuple[str, type[ProtocolError], Callable[[_Diagnosis, x509.Certificate, str], str]], ...
] = (
    ("has no subjectAltName", BadCertificate, _Diagnosis.no_subject_alt_name),
    ("missing required extension", BadCertificate, _Diagnosis.missing_extension),
    ("EKU", UnsupportedCertificate, _Diagnosis.extended_key_usage),
    ("Forbidden signature algorithm", UnsupportedCertificate, _Diagnosis.weak_signature),
    ("Forbidden public key algorithm", UnsupportedCertificate, _Diagnosis.weak_issuer_key),
    ("RSA key is too weak", BadCertificate, _Diagnosis.weak_issuer_key),
    ("keyCertSign must be asserted", BadCertificate, _Diagnosis.not_a_signer),
)


def certificate_label(cert: x509.Certificate) -> str:
    """A short human name for a certificate: its first DNS/IP SAN, else CN, else the full DN."""
    names = _san_names(cert)
    if names:
        return names[0]
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


def _sans(cert: x509.Certificate) -> list[x509.GeneralName]:
    try:
        return list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except (x509.ExtensionNotFound, ValueError):
        return []


def _san_names(
    cert: x509.Certificate,
    kinds: type[x509.GeneralName] | tuple[type[x509.GeneralName], ...] = (
        x509.DNSName,
        x509.IPAddress,
    ),
) -> list[str]:
    """The DNS and/or IP subjectAltNames (RFC 5280 §4.2.1.6) as text, in order."""
    return [str(n.value) for n in _sans(cert) if isinstance(n, kinds)]


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
