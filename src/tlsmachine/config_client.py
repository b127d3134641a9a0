"""ClientConfig: everything a client needs, frozen and validated at construction.

Field values are resolved by :mod:`tlsmachine.config_values` and checked by
:mod:`tlsmachine.config_checks`; import the class from :mod:`tlsmachine.config`, whose
docstring ("module docstring" below) lists the names fields accept.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .certs import CertifiedKey
from .config_checks import check_common, check_versions_work, tls12_group_problem
from .config_values import (
    GROUP_NAMES,
    KeyLogCallback,
    generate_share,
    normalise_common,
    path_value,
    typed,
    version_name,
)
from .crypto.groups import DEFAULT_GROUPS, Group, PrivateKeyShare
from .crypto.signatures import DEFAULT_SIGNATURE_SCHEMES, TLS13_CERTIFICATE_VERIFY_SCHEMES
from .crypto.suites import DEFAULT_TLS12_SUITES, DEFAULT_TLS13_SUITES, CipherSuite, CipherSuite12
from .enums import ProtocolVersion, PskKeyExchangeMode
from .errors import ConfigurationError
from .session import ClientSessionStore, ExternalPsk

if TYPE_CHECKING:
    from .verify import CertificateVerifier


@dataclass(frozen=True, kw_only=True)
class ClientConfig:
    """Everything a client needs; share one instance across connections.

    Suites, groups, schemes, PSK modes and versions may be given by name (module docstring).
    """

    cafile: str | None = None
    """PEM file of trust anchors; the system trust store when none of cafile, cadata and
    capath is set. Named anchors are read when the config is made (an unreadable one is a
    ConfigurationError then); the system store is read at the first handshake."""
    cadata: bytes | None = None
    """PEM trust anchors given in memory."""
    capath: str | None = None
    """A directory of trust anchors: PEM or DER files, or an ``openssl rehash`` directory."""
    verify_certificates: bool = True
    """Check the server's chain and host name (RFC 8446 §4.4.2.4). Turn off only for tests."""
    verifier: CertificateVerifier | None = None
    """A custom verifier; overrides cafile/cadata/capath."""
    alpn_protocols: tuple[str, ...] = ()
    cipher_suites: tuple[CipherSuite, ...] = DEFAULT_TLS13_SUITES
    """TLS 1.3 suites offered, in preference order (objects or names)."""
    tls12_cipher_suites: tuple[CipherSuite12, ...] = DEFAULT_TLS12_SUITES
    """TLS 1.2 suites offered when ``min_version`` allows TLS 1.2: (EC)DHE with AEADs only;
    static RSA and CBC suites are never offered (RFC 9325 §4.1, §4.2)."""
    groups: tuple[Group, ...] = DEFAULT_GROUPS
    """Groups offered in supported_groups, in preference order."""
    key_share_groups: tuple[Group, ...] | None = None
    """Groups to send key shares for in the first ClientHello. Default: the first group and,
    when that is a post-quantum KEM group (the default X25519MLKEM768), also the first classical
    one (x25519 by default), so that servers with and without ML-KEM answer in one round trip
    (RFC 8446 §4.2.8 allows several shares). ``()`` sends none and waits for a
    HelloRetryRequest. The shares go out in the order of ``groups`` (§4.2.8)."""
    signature_schemes: tuple[int, ...] = DEFAULT_SIGNATURE_SCHEMES
    min_version: ProtocolVersion = ProtocolVersion.TLS12
    max_version: ProtocolVersion = ProtocolVersion.TLS13
    fallback_scsv: bool = False
    """Send TLS_FALLBACK_SCSV (RFC 7507 §4): only for a connection retried with a lower
    ``max_version`` after a failure, so that a server supporting more can refuse it."""
    require_extended_master_secret: bool = False
    """Refuse TLS 1.2 servers without extended_master_secret (RFC 7627 §5.4). It is always
    offered, and sessions without it are never resumed (§5.3)."""
    middlebox_compatibility: bool = True
    """Send a legacy_session_id and dummy change_cipher_spec (RFC 8446 Appendix D.4)."""
    record_size_limit: int | None = None
    """Advertise record_size_limit (RFC 8449) with this value, e.g. 16385."""
    certificates: tuple[CertifiedKey, ...] = ()
    """Client certificate chains for servers that ask (RFC 8446 §4.3.2, §4.4.2)."""
    post_handshake_auth: bool = False
    """Offer post-handshake client authentication (RFC 8446 §4.2.6, §4.6.2): the server may
    then ask for a certificate at any time after the handshake."""
    early_data: bool = False
    """Offer 0-RTT early data when resuming with a ticket that allows it (RFC 8446 §4.2.10);
    send it with :meth:`ClientConnection.send_early_data`."""
    external_psks: tuple[ExternalPsk, ...] = ()
    """Pre-shared keys to offer (RFC 8446 §4.2.11), after a stored ticket if there is one."""
    psk_modes: tuple[PskKeyExchangeMode, ...] = (PskKeyExchangeMode.PSK_DHE_KE,)
    """PSK key exchange modes offered (RFC 8446 §4.2.9). psk_ke (no (EC)DHE) gives up forward
    secrecy; offer it only where that is acceptable."""
    session_store: ClientSessionStore | None = None
    """Where received tickets go (e.g. :class:`InMemoryClientSessionStore`); every ticket is
    also reported as a :class:`SessionTicketReceived` event."""
    pad_client_hello: bool = True
    """Pad ClientHellos of 256..511 bytes to 512 with the padding extension (RFC 7685 §1:
    some middleboxes hang on hellos of that size)."""
    trace_handshake: bool = False
    """Emit :class:`HandshakeMessageTraced` events (the demo prints them)."""
    keylog: KeyLogCallback | None = None
    random: Callable[[int], bytes] = os.urandom
    clock: Callable[[], float] = time.time
    key_share_factory: Callable[[Group], PrivateKeyShare] = generate_share
    signer: Callable[[int, object, bytes], bytes] | None = field(default=None, repr=False)
    """Override the client CertificateVerify signing ``(scheme, private_key, content) ->
    signature``, e.g. for a hardware key. Default: :func:`tlsmachine.crypto.signatures.sign`."""

    def __post_init__(self) -> None:
        normalise_common(self)
        if self.key_share_groups is not None:
            shares = typed("key_share_groups", self.key_share_groups, GROUP_NAMES)
            object.__setattr__(self, "key_share_groups", shares)
        object.__setattr__(self, "cafile", path_value("cafile", self.cafile))
        object.__setattr__(self, "capath", path_value("capath", self.capath))
        tls13, tls12 = check_common(self)
        shares, offered = self.key_share_groups or (), {g.id for g in self.groups}
        if not {g.id for g in shares} <= offered:
            extra = ", ".join(g.name for g in shares if g.id not in offered)
            raise ConfigurationError(
                f"key_share_groups: {extra} not in groups; a key share must be for a group "
                "offered in supported_groups (RFC 8446 §4.2.8)"
            )
        if self.key_share_groups is not None:
            # RFC 8446 §4.2.8: the shares "MUST appear in the same order" as supported_groups
            rank = {g.id: i for i, g in enumerate(self.groups)}
            ordered = tuple(sorted(shares, key=lambda g: rank[g.id]))
            object.__setattr__(self, "key_share_groups", ordered)
        cv_schemes = set(self.signature_schemes) & set(TLS13_CERTIFICATE_VERIFY_SCHEMES)
        problems: dict[int, str | None] = {}
        if tls13 and not self.external_psks and not cv_schemes:
            problems[ProtocolVersion.TLS13] = (
                "signature_schemes: none is allowed in a TLS 1.3 CertificateVerify (the "
                "rsa_pkcs1_* schemes only sign certificates, RFC 8446 §4.2.3); add e.g. "
                "ecdsa_secp256r1_sha256 and rsa_pss_rsae_sha256"
            )
        if tls12:
            problems[ProtocolVersion.TLS12] = tls12_group_problem(self, server=False)
        check_versions_work(problems, tls13, tls12)
        if self.record_size_limit is not None and not 64 <= self.record_size_limit <= 16385:
            raise ConfigurationError("record_size_limit must be 64..16385 (RFC 8449 §4)")
        if self.early_data and not tls13:
            raise ConfigurationError(
                "early_data: 0-RTT exists only in TLS 1.3 (RFC 8446 §4.2.10), but max_version "
                f"is {version_name(self.max_version)}"
            )
        if self.verifier is None and (self.cafile, self.cadata, self.capath) != (None,) * 3:
            # Trust anchors named here are read now, so that an unreadable file or bad cadata
            # fails the construction, as ssl's load_verify_locations() does, not the first
            # handshake. (The system trust store, used when none is named, stays lazy.)
            self.certificate_verifier()

    def certificate_verifier(self) -> CertificateVerifier:
        """The verifier for server chains, built once per config (loading a store is slow)."""
        cached: CertificateVerifier | None = self.__dict__.get("_verifier_cache")
        if cached is None:
            from .verify import DefaultVerifier

            cached = self.verifier or DefaultVerifier(
                cafile=self.cafile, cadata=self.cadata, capath=self.capath
            )
            object.__setattr__(self, "_verifier_cache", cached)
        return cached

    @property
    def initial_share_groups(self) -> tuple[Group, ...]:
        """The groups of the first ClientHello's key shares (see ``key_share_groups``)."""
        if self.key_share_groups is not None:
            return self.key_share_groups
        cached: tuple[Group, ...] | None = self.__dict__.get("_initial_share_groups")
        if cached is None:
            first = self.groups[0]
            classical = next((g for g in self.groups if not g.kem), None) if first.kem else None
            cached = (first,) if classical is None else (first, classical)
            object.__setattr__(self, "_initial_share_groups", cached)  # a cache on a frozen config
        return cached
