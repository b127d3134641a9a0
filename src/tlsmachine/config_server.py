"""ServerConfig: everything a server needs, frozen and validated at construction.

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
from .config_checks import (
    check_common,
    check_versions_work,
    server_tls12_problem,
    server_tls13_problem,
)
from .config_values import (
    KeyLogCallback,
    generate_share,
    normalise_common,
    path_value,
    version_name,
)
from .crypto.groups import DEFAULT_GROUPS, Group, PrivateKeyShare
from .crypto.signatures import DEFAULT_SIGNATURE_SCHEMES
from .crypto.suites import DEFAULT_TLS12_SUITES, DEFAULT_TLS13_SUITES, CipherSuite, CipherSuite12
from .enums import ProtocolVersion, PskKeyExchangeMode
from .errors import ConfigurationError
from .session import (
    MAX_TICKET_LIFETIME,
    AeadTicketSealer,
    ClientHelloRecorder,
    ExternalPsk,
    ReplayGuard,
    TicketSealer,
)
from .session_cache import InMemorySessionCache, ServerSessionCache

if TYPE_CHECKING:
    from cryptography import x509

    from .verify import CertificateVerifier

ServerNameCallback = Callable[[str | None], "ServerConfig | None"]
"""``ServerConfig.server_name_callback``: the client's SNI host name (RFC 6066 §3) or ``None``
-> the config for this connection, or ``None`` to keep the current one."""


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """Everything a server needs; share one instance across connections.

    Suites, groups, schemes, PSK modes and versions may be given by name (module docstring).
    """

    certificates: tuple[CertifiedKey, ...] = ()
    """Certificate chains with their keys; the server picks one by the client's
    signature_algorithms (RFC 8446 §4.4.2.2). May be empty when ``external_psks`` are set."""
    external_psks: tuple[ExternalPsk, ...] = ()
    """Pre-shared keys the server accepts by identity (RFC 8446 §4.2.11)."""
    psk_modes: tuple[PskKeyExchangeMode, ...] = (PskKeyExchangeMode.PSK_DHE_KE,)
    """PSK key exchange modes accepted, in preference order (RFC 8446 §4.2.9). Add psk_ke only
    where giving up forward secrecy is acceptable."""
    alpn_protocols: tuple[str, ...] = ()
    """Protocols in server preference order (RFC 7301 §3.2)."""
    cipher_suites: tuple[CipherSuite, ...] = DEFAULT_TLS13_SUITES
    tls12_cipher_suites: tuple[CipherSuite12, ...] = DEFAULT_TLS12_SUITES
    """TLS 1.2 suites in server preference order; a suite is chosen only when a certificate
    fits its authentication and a group its key exchange (RFC 5246 §7.4.1.3, RFC 8422 §5.1,
    RFC 7919 §4)."""
    groups: tuple[Group, ...] = DEFAULT_GROUPS
    signature_schemes: tuple[int, ...] = DEFAULT_SIGNATURE_SCHEMES
    min_version: ProtocolVersion = ProtocolVersion.TLS12
    max_version: ProtocolVersion = ProtocolVersion.TLS13
    require_extended_master_secret: bool = False
    """Refuse TLS 1.2 clients without extended_master_secret (RFC 7627 §5.4). Sessions without
    it are never cached or resumed either way (§5.3)."""
    session_cache: ServerSessionCache | None = field(default=None, repr=False)
    """TLS 1.2 session-ID resumption (RFC 5246 §7.4.1.2): default, a bounded in-memory LRU
    (:class:`~tlsmachine.session_cache.InMemorySessionCache`) per config."""
    session_ids: bool = True
    """Give TLS 1.2 sessions an ID and keep them in ``session_cache`` (when no ticket is
    issued instead, RFC 5077 §3.4)."""
    record_size_limit: int = 16385
    """Our receive limit, announced when the client sends record_size_limit (RFC 8449)."""
    strict_group_preference: bool = False
    """Ask with HelloRetryRequest for our most preferred common group even when the client sent
    a share for another common group (default: use a share the client sent, saving a round
    trip; RFC 8446 §4.2.8 allows both)."""
    send_supported_groups: bool = True
    """Tell the client our group preferences in EncryptedExtensions (RFC 8446 §4.2.7)."""
    hello_retry_cookie: Callable[[bytes], bytes] | None = None
    """If set, HelloRetryRequests carry ``cookie(hash_of_first_client_hello)`` and the second
    ClientHello must echo it (RFC 8446 §4.2.2)."""
    client_auth: str = "none"
    """Ask for a client certificate: "none", "optional" or "required" (certificate_required
    alert when missing, RFC 8446 §4.4.2.4)."""
    client_cafile: str | None = None
    """Trust anchors for client certificates (PEM)."""
    client_cadata: bytes | None = None
    client_capath: str | None = None
    """A directory of trust anchors for client certificates (as ``ClientConfig.capath``)."""
    client_verifier: CertificateVerifier | None = None
    """A custom verifier for client chains; overrides client_cafile/cadata/capath."""
    client_ca_names: bool = True
    """Name the client trust anchors in CertificateRequest (certificate_authorities, RFC 8446
    §4.2.4, RFC 5246 §7.4.4), so a client holding several certificates can send one they
    issued. Named only when the anchors come from client_cafile/cadata/capath (or a verifier
    with ``trust_anchors``) and fit the 2^16-1 byte list; otherwise, or when False, the request
    names none and the client may send any certificate."""
    session_tickets: int = 2
    """NewSessionTickets sent after each full handshake (RFC 8446 §4.6.1); 0 turns them off."""
    ticket_lifetime: int = 7200
    """Seconds a ticket stays valid; at most 604800 (RFC 8446 §4.6.1)."""
    max_early_data_size: int = 0
    """Accept 0-RTT data up to this many bytes per connection: announced in tickets'
    early_data extension when non-zero (RFC 8446 §4.2.10, §4.6.1). Early data can be replayed
    (§8, Appendix E.5): enable it only for requests that are safe to repeat."""
    ticket_age_tolerance: float = 10.0
    """Seconds the client's view of a ticket's age may differ from ours for 0-RTT to be
    accepted (the freshness check of RFC 8446 §8.3)."""
    replay_guard: ReplayGuard | None = field(default=None, repr=False)
    """Refuses 0-RTT for a ClientHello seen before (RFC 8446 §8.2); default: an in-memory
    :class:`~tlsmachine.session.ClientHelloRecorder` per config. Single-use tickets
    (:class:`~tlsmachine.session.InMemorySessionStore`) are replay-proof by themselves (§8.1)."""
    ticket_sealer: TicketSealer | None = field(default=None, repr=False)
    """Seals ticket state; default: AES-256-GCM with a random key made per config (stateless
    tickets). :class:`~tlsmachine.session.InMemorySessionStore` keeps the state on the server."""
    server_name_callback: ServerNameCallback | None = field(default=None, repr=False)
    """Virtual hosting by SNI (RFC 6066 §3): called once per connection, after the first
    ClientHello is parsed and before anything is negotiated, with the client's host name
    (``None`` without server_name). It returns the config for the rest of the connection
    (certificates, ALPN, suites, versions, session cache and tickets; after a
    HelloRetryRequest too) or ``None`` to keep this one. Raising a ``ProtocolError`` such as
    :class:`~tlsmachine.errors.UnrecognizedName` aborts with its alert; any other exception
    becomes internal_error. Return configs built in advance (each validates once and caches
    its certificate messages). The returned config's own callback is not called, and
    ``trace_handshake``/``keylog`` stay those of the config the connection was made with."""
    trace_handshake: bool = False
    keylog: KeyLogCallback | None = None
    random: Callable[[int], bytes] = os.urandom
    clock: Callable[[], float] = time.time
    key_share_factory: Callable[[Group], PrivateKeyShare] = generate_share
    signer: Callable[[int, object, bytes], bytes] | None = field(default=None, repr=False)
    """Override CertificateVerify signing ``(scheme, private_key, content) -> signature``,
    e.g. for a hardware key. Default: :func:`tlsmachine.crypto.signatures.sign`."""

    def __post_init__(self) -> None:
        normalise_common(self)
        object.__setattr__(self, "client_cafile", path_value("client_cafile", self.client_cafile))
        object.__setattr__(self, "client_capath", path_value("client_capath", self.client_capath))
        tls13, tls12 = check_common(self)
        if not self.certificates and not self.external_psks:
            raise ConfigurationError(
                "certificates: a server needs a certificate chain (or external_psks)"
            )
        problems: dict[int, str | None] = {
            ProtocolVersion.TLS13: server_tls13_problem(self) if tls13 else None,
            ProtocolVersion.TLS12: server_tls12_problem(self) if tls12 else None,
        }
        check_versions_work(problems, tls13, tls12)
        if not 64 <= self.record_size_limit <= 16385:
            raise ConfigurationError("record_size_limit must be 64..16385 (RFC 8449 §4)")
        self._check_client_auth()
        self._check_tickets(tls13)
        if self.server_name_callback is not None and not callable(self.server_name_callback):
            raise ConfigurationError("server_name_callback must be callable")

    def _check_client_auth(self) -> None:
        if self.client_auth not in ("none", "optional", "required"):
            raise ConfigurationError(
                f'client_auth must be "none", "optional" or "required", not {self.client_auth!r}'
            )
        anchors = (self.client_cafile, self.client_cadata, self.client_capath)
        if self.client_auth != "none" and self.client_verifier is None and anchors == (None,) * 3:
            raise ConfigurationError(
                f"client_auth={self.client_auth!r} needs client_cafile, client_cadata, "
                "client_capath or a client_verifier to check client certificates against"
            )
        if self.client_verifier is None and anchors != (None,) * 3:
            self.client_certificate_verifier()  # read now: bad anchors fail here (ClientConfig)

    def _check_tickets(self, tls13: bool) -> None:
        if not 0 <= self.session_tickets <= 255:
            raise ConfigurationError("session_tickets must be 0..255")
        if not 0 < self.ticket_lifetime <= MAX_TICKET_LIFETIME:
            raise ConfigurationError("ticket_lifetime must be 1..604800 seconds (RFC 8446 §4.6.1)")
        if not 0 <= self.max_early_data_size <= 0xFFFFFFFF:
            raise ConfigurationError("max_early_data_size must fit in 32 bits (RFC 8446 §4.2.10)")
        if not self.ticket_age_tolerance > 0:
            raise ConfigurationError("ticket_age_tolerance must be positive (RFC 8446 §8.3)")
        if self.max_early_data_size and not tls13:
            raise ConfigurationError(
                "max_early_data_size: 0-RTT exists only in TLS 1.3 (RFC 8446 §4.2.10), but "
                f"max_version is {version_name(self.max_version)}"
            )
        # 0-RTT is accepted only with a ticket that allows it (RFC 8446 §4.2.10, §4.6.1). With
        # session_tickets=0 that is fine if the tickets come from servers sharing ticket_sealer,
        # but with the default per-config sealer no ticket could ever be opened.
        if self.max_early_data_size and not self.session_tickets and self.ticket_sealer is None:
            raise ConfigurationError(
                "max_early_data_size: 0-RTT needs a ticket that allows it (RFC 8446 §4.2.10), "
                "but session_tickets=0 and no shared ticket_sealer: set session_tickets > 0, "
                "or pass the ticket_sealer of the servers that issue the tickets"
            )

    def client_certificate_verifier(self) -> CertificateVerifier:
        """The verifier for client chains, built once per config."""
        cached: CertificateVerifier | None = self.__dict__.get("_client_verifier_cache")
        if cached is None:
            from .verify import DefaultVerifier

            cached = self.client_verifier or DefaultVerifier(
                cafile=self.client_cafile, cadata=self.client_cadata, capath=self.client_capath
            )
            object.__setattr__(self, "_client_verifier_cache", cached)
        return cached

    def certificate_authorities(self) -> tuple[bytes, ...]:
        """The DER subjects of the client trust anchors for CertificateRequest (see
        :attr:`client_ca_names`), in the anchors' order without repeats; worked out once."""
        cached: tuple[bytes, ...] | None = self.__dict__.get("_ca_names_cache")
        if cached is None:
            cached = ()
            anchors: tuple[x509.Certificate, ...] = ()
            if self.client_ca_names and (
                self.client_verifier is not None
                or self.client_cafile
                or self.client_cadata
                or self.client_capath
            ):
                # never the system store: a DefaultVerifier without anchors would load it
                verifier = self.client_certificate_verifier()
                if self.client_verifier is None or hasattr(verifier, "trust_anchors"):
                    anchors = getattr(verifier, "trust_anchors", ())
            names = tuple(dict.fromkeys(a.subject.public_bytes() for a in anchors))
            # RFC 8446 §4.2.4: DistinguishedName authorities<3..2^16-1>, each <1..2^16-1>
            if 3 <= sum(2 + len(n) for n in names) <= 0xFFFF:
                cached = names
            object.__setattr__(self, "_ca_names_cache", cached)
        return cached

    def session_ticket_sealer(self) -> TicketSealer:
        """The ticket sealer, made once per config when none was given."""
        cached: TicketSealer | None = self.__dict__.get("_ticket_sealer_cache")
        if cached is None:
            cached = self.ticket_sealer
            if cached is None:  # not `or`: an empty stateful store has len() == 0
                cached = AeadTicketSealer(random=self.random)
            object.__setattr__(self, "_ticket_sealer_cache", cached)
        return cached

    def tls12_session_cache(self) -> ServerSessionCache:
        """The TLS 1.2 session cache, made once per config when none was given."""
        cached: ServerSessionCache | None = self.__dict__.get("_session_cache_cache")
        if cached is None:
            cached = self.session_cache
            if cached is None:  # not `or`: an empty cache has len() == 0
                cached = InMemorySessionCache()
            object.__setattr__(self, "_session_cache_cache", cached)
        return cached

    def early_data_replay_guard(self) -> ReplayGuard:
        """The 0-RTT replay guard, made once per config when none was given (§8.2)."""
        cached: ReplayGuard | None = self.__dict__.get("_replay_guard_cache")
        if cached is None:
            cached = self.replay_guard
            if cached is None:
                cached = ClientHelloRecorder()
            object.__setattr__(self, "_replay_guard_cache", cached)
        return cached
