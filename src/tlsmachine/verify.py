"""Certificate chain and peer name verification, on ``cryptography.x509.verification``.

RFC 8446 §4.4.2 leaves path validation to the application (RFC 5280, web PKI rules as
implemented by pyca's verifier); this module runs it and turns every failure into the alert
RFC 8446 §6.2 names for it, with a message that names the certificate at fault, the facts
(dates, names, issuer, trust anchors and where they came from) and the fix.

Alert mapping (first match wins; see ``Diagnosis.explain`` and ``_RULES`` in
:mod:`tlsmachine.verify_diagnosis`):

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
§4.4.2.2), forbidden key type (P-192) or                               INVALID_PURPOSE, rustls)
signature algorithm without a weak hash,
leaf key TLS cannot use or too weak
(RSA < 2048)
signed with an MD5 or SHA-1 hash            bad_certificate            §4.4.2.4: MD5 "MUST",
                                                                       SHA-1 "RECOMMENDED"
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

import datetime as dt
import functools
import threading
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol, runtime_checkable

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    Subject,
    VerificationError,
)

from .cert_facts import (
    Chain,
    as_utc,
    certificate_label,
    check_leaf_usable,
    describe,
    san_names,
    server_name_subject,
)
from .errors import (
    BadCertificate,
    CertificateRequired,
    ConfigurationError,
    DecodeError,
    ProtocolError,
    UnsupportedCertificate,
)
from .pinning import PinnedCertificate
from .trust_store import (
    UNREADABLE_CERTIFICATE,
    PathLike,
    TrustStore,
    load_trust_store,
    system_trust_store,
)
from .verify_diagnosis import Diagnosis

__all__ = [
    "CertificateVerifier",
    "Chain",
    "DefaultVerifier",
    "NoVerification",
    "PinnedCertificate",
    "certificate_label",
    "check_leaf_usable",
    "parse_certificate_chain",
    "public_key_of",
    "server_name_subject",
]


@runtime_checkable
class CertificateVerifier(Protocol):
    """Decides whether a peer's certificate chain (leaf first, RFC 8446 §4.4.2) is acceptable.

    Implementations raise a :class:`~tlsmachine.errors.ProtocolError` subclass (its alert is
    sent) or :class:`~tlsmachine.errors.ConfigurationError`; returning means "accepted". A
    verifier that builds a path (RFC 5280 §6) returns it, leaf to trust anchor: it becomes
    ``verified_chain`` of the handshake's events (ssl's ``get_verified_chain()``); None
    reports no path. The CertificateVerify signature (§4.4.3) is checked by the handshake,
    not here.
    """

    def verify_server(
        self, chain: Chain, server_name: str | None, now: dt.datetime
    ) -> Chain | None:
        """Client side: the server's chain, for the DNS name or IP literal we connected to."""

    def verify_client(self, chain: Chain, now: dt.datetime) -> Chain | None:
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


def verified_path(result: Chain | None) -> tuple[x509.Certificate, ...]:
    """What the handshake keeps of a verifier's answer: the path it returned, or ``()`` for None
    and for anything else (verifiers written when the answer was ignored may return True)."""
    if isinstance(result, tuple):
        return result
    return tuple(result) if isinstance(result, list) else ()


def _parse_der(der: bytes) -> x509.Certificate:
    """One certificate with its extensions; ``ValueError`` saying what is wrong otherwise."""
    try:
        cert = x509.load_der_x509_certificate(der)
    except UNREADABLE_CERTIFICATE as exc:
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


class _Accepted(NamedTuple):
    """A chain the verifier accepted, its validated path, and when all certificates of that path
    are valid."""

    chain: tuple[x509.Certificate, ...]
    path: tuple[x509.Certificate, ...]
    not_before: dt.datetime
    not_after: dt.datetime


def _key_cert_sign(policy: Policy, cert: x509.Certificate, usage: x509.KeyUsage | None) -> None:
    """RFC 5280 §6.1.4 (n): a CA certificate's keyUsage, if it has one, asserts keyCertSign."""
    if usage is not None and not usage.key_cert_sign:
        raise ValueError("keyUsage: keyCertSign must be asserted in a CA certificate")


# pyca's web PKI profiles, less two rules for *issuing* certificates that path validation
# (RFC 5280 §6.1) does not need and that private CAs often break: a CA certificate without
# keyUsage (``openssl req -x509`` of OpenSSL 3.0 makes one), and any certificate without an
# authorityKeyIdentifier (OpenSSL 1.1's ``x509 -req`` and Go's self-signed ones). OpenSSL,
# GnuTLS and Go accept both; everything else of the profiles stays (see DefaultVerifier).
_CA_POLICY = (
    ExtensionPolicy.webpki_defaults_ca()
    .may_be_present(x509.KeyUsage, Criticality.AGNOSTIC, _key_cert_sign)
    .may_be_present(x509.AuthorityKeyIdentifier, Criticality.AGNOSTIC, None)
)
_EE_POLICY = ExtensionPolicy.webpki_defaults_ee().may_be_present(
    x509.AuthorityKeyIdentifier, Criticality.AGNOSTIC, None
)
#: A leaf that is itself a trust anchor may also say cA=TRUE (see DefaultVerifier).
_ANCHOR_LEAF_POLICY = _EE_POLICY.may_be_present(x509.BasicConstraints, Criticality.AGNOSTIC, None)


class DefaultVerifier:
    """RFC 5280 path validation plus RFC 6125 name checks, by ``cryptography``'s web PKI policy.

    Trust anchors come from ``cafile`` (PEM), ``capath`` (a directory of PEM or DER files,
    ``c_rehash``'d ``<hash>.0`` links included; see :func:`~tlsmachine.certs.load_capath`)
    and/or ``cadata`` (PEM text or one DER certificate), loaded at construction; with none of
    them, from the system trust store, loaded on first use and cached (see
    :func:`~tlsmachine.certs.system_trust_store`: ``SSL_CERT_FILE``/``SSL_CERT_DIR``, the
    paths of ``ssl.get_default_verify_paths()``, then ``certifi``). A certificate in the store
    is trusted as it is, so a self-signed leaf passed as ``cadata`` authenticates exactly that
    server (the demo's flow); such a leaf may even say ``cA=TRUE``, as ``openssl req -x509``
    makes it, since the certificate itself is trusted.

    pyca's profile is the CA/Browser Forum's, which also has rules for *issuing* certificates
    that RFC 5280 path validation does not need and that private CAs often break. Two are
    relaxed, as OpenSSL (and so Python's ``ssl``), GnuTLS and Go relax them: a CA certificate
    need not have keyUsage (if it has, it must assert keyCertSign, RFC 5280 §6.1.4), and no
    certificate needs an authorityKeyIdentifier. Names, validity, basic constraints, extended
    key usage, signatures and keys are checked as pyca checks them.
    ``verify_server`` with ``server_name=None`` raises
    :class:`ConfigurationError` unless ``require_server_name=False``, in which case the chain,
    validity and extended key usage are still checked but ANY name in the leaf is accepted.

    After pyca accepts a path, the leaf must also be usable for TLS: a key TLS can sign with
    that is not weak (RSA >= 2048 bits, P-256/P-384/P-521, Ed25519/Ed448) and, if it has a
    keyUsage extension, digitalSignature (RFC 8446 §4.4.2.2).

    Accepted chains are remembered (``cache_size`` of them, 0 turns it off) and not verified
    again while every certificate of the validated path is within its validity period (the
    reasoning is next to ``_recently_verified``). Rejections are never remembered.

    Both methods return pyca's validated path, leaf to trust anchor (the anchor from our store
    even when the peer did not send it; certificates sent off the path left out).
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
        self._anchors: frozenset[x509.Certificate] = frozenset()  # the store's, for `in`
        # (max_chain_depth, policy, policy for a leaf that is itself a trust anchor)
        self._policy: tuple[int, PolicyBuilder, PolicyBuilder] | None = None
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

    def _builder(self, now: dt.datetime, leaf: x509.Certificate) -> PolicyBuilder:
        """pyca's policy at ``now`` for a chain whose leaf is ``leaf`` (see the class
        docstring for a leaf that is itself a trust anchor)."""
        anchors, depth = self.trust_anchors, self.max_chain_depth
        with self._lock:
            if self._store is None:
                self._store = Store(list(anchors))
                self._anchors = frozenset(anchors)
            if self._policy is None or self._policy[0] != depth:  # built once, not per call
                base = PolicyBuilder().store(self._store).max_chain_depth(depth)
                policy = base.extension_policies(ca_policy=_CA_POLICY, ee_policy=_EE_POLICY)
                anchor_leaf = base.extension_policies(
                    ca_policy=_CA_POLICY, ee_policy=_ANCHOR_LEAF_POLICY
                )
                self._policy = depth, policy, anchor_leaf
            policy = self._policy[2] if leaf in self._anchors else self._policy[1]
        return policy.time(now)  # PolicyBuilder is immutable: each call returns a new one

    def verify_server(
        self, chain: Chain, server_name: str | None, now: dt.datetime
    ) -> tuple[x509.Certificate, ...]:
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
        now = as_utc(now)
        key = ("server", subject, self.max_chain_depth, *map(id, chain))
        remembered = self._recently_verified(key, chain, now)
        if remembered is not None:
            return remembered
        try:
            verifier = self._builder(now, chain[0]).build_server_verifier(subject)
        except ConfigurationError:  # a ValueError too (no system trust store): keep it as is
            raise
        except ValueError as exc:  # pyca's own check of the reference identity
            raise ConfigurationError(f"server name {server_name!r} is not usable: {exc}") from None
        path = self._run(lambda: verifier.verify(chain[0], list(chain[1:])), chain, now, subject)
        self._remember(key, chain, path)
        return path

    def verify_client(self, chain: Chain, now: dt.datetime) -> tuple[x509.Certificate, ...]:
        """Check a client's chain at ``now`` (EKU clientAuth; RFC 8446 §4.4.2.4)."""
        if not chain:
            raise CertificateRequired(
                "the client sent no certificate, but this server requires one (RFC 8446 §4.4.2.4)"
            )
        now = as_utc(now)
        key = ("client", None, self.max_chain_depth, *map(id, chain))
        remembered = self._recently_verified(key, chain, now)
        if remembered is not None:
            return remembered
        verifier = self._builder(now, chain[0]).build_client_verifier()
        path = self._run(lambda: verifier.verify(chain[0], list(chain[1:])).chain, chain, now, None)
        self._remember(key, chain, path)
        return path

    def _run(
        self,
        verify: Callable[[], Sequence[x509.Certificate]],
        chain: Chain,
        now: dt.datetime,
        subject: Subject | None,
    ) -> tuple[x509.Certificate, ...]:
        """Run pyca's verification; the validated path (leaf to trust anchor) if accepted."""
        try:
            path = verify()
        except VerificationError as exc:
            raise self._explain(str(exc), chain, now, subject) from None
        except ValueError as exc:  # a malformed field pyca met only while verifying
            raise BadCertificate(f"{describe(chain[0])} is malformed: {exc}") from None
        check_leaf_usable(chain[0])
        return tuple(path)

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

    def _recently_verified(
        self, key: tuple[object, ...], chain: Chain, now: dt.datetime
    ) -> tuple[x509.Certificate, ...] | None:
        """The path remembered for ``chain``, if it is still valid at ``now``; else None."""
        accepted = self._accepted.get(key)
        if (
            accepted is not None
            and accepted.chain == tuple(chain)
            and accepted.not_before <= now <= accepted.not_after
        ):
            return accepted.path
        return None

    def _remember(
        self, key: tuple[object, ...], chain: Chain, path: tuple[x509.Certificate, ...]
    ) -> None:
        if self.cache_size <= 0 or not path:
            return
        not_before = max(c.not_valid_before_utc for c in path)
        not_after = min(c.not_valid_after_utc for c in path)
        with self._lock:
            self._accepted.pop(key, None)
            self._accepted[key] = _Accepted(tuple(chain), path, not_before, not_after)
            while len(self._accepted) > self.cache_size:
                del self._accepted[next(iter(self._accepted))]

    def _explain(
        self, message: str, chain: Chain, now: dt.datetime, subject: Subject | None
    ) -> ProtocolError:
        """Turn pyca's VerificationError text into the right alert and a plain message."""
        diagnosis = Diagnosis(chain, now, subject, self.trust_store, self.max_chain_depth)
        return diagnosis.explain(message)


def _any_name_of(leaf: x509.Certificate) -> Subject:
    """A reference identity the leaf matches by construction (for require_server_name=False)."""
    for name in san_names(leaf):
        if name.startswith("*."):
            name = "wildcard" + name[1:]  # a concrete name the wildcard pattern covers
        try:
            return server_name_subject(name)
        except ConfigurationError:
            continue
    raise BadCertificate(f"{describe(leaf)} has no DNS or IP subjectAltName")
