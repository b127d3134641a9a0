"""Server: ClientHello processing and negotiation (RFC 8446 §4.1, §4.2, Appendix A.2).

    ExpectClientHello -> [HelloRetryRequest sent: ExpectSecondClientHello] -> (flight sent)
        -> tls13.ExpectFinished

First ``ServerConfig.server_name_callback`` may swap the config for the client's SNI name (RFC
6066 §3); everything after, in either version and across a HelloRetryRequest, uses that config.
Negotiation order follows RFC 8446 §4.1.1: version (supported_versions), cipher suite (server
preference), key exchange group (a share the client sent, else HelloRetryRequest for the best
common group), then certificate by the client's signature_algorithms (§4.4.2.2) and ALPN.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, replace

from ..config import SUPPORTED_VERSIONS, ServerConfig
from ..crypto.groups import Group
from ..crypto.suites import CipherSuite
from ..enums import CipherSuiteId, ExtensionType, HandshakeType, ProtocolVersion, PskKeyExchangeMode
from ..errors import (
    HandshakeFailure,
    IllegalParameter,
    InappropriateFallback,
    InternalError,
    MissingExtension,
    ProtocolError,
    ProtocolVersionError,
)
from ..extensions import (
    Cookie,
    EarlyData,
    Extension,
    KeyShareClientHello,
    KeyShareEntry,
    KeyShareHelloRetryRequest,
    PreSharedKeyClientHello,
    PskKeyExchangeModes,
    SignatureAlgorithms,
    SupportedGroups,
    SupportedVersionsClientHello,
    SupportedVersionsServerHello,
)
from ..machine import Output, expect
from ..messages import HandshakeMessage
from ..messages.hello import HELLO_RETRY_REQUEST_RANDOM, ClientHello, ServerHello
from ..transcript import TranscriptHash
from .client_auth import ExpectClientCertificate
from .negotiate import choose_alpn, server_name_of
from .psk import AcceptedPsk, accept_early_data, accept_psk, early_data_skip_limit
from .tls12 import ServerHandshake12, start_tls12
from .tls13 import (
    Choice,
    ExpectEndOfEarlyData,
    ExpectFinished,
    Offer,
    ServerTemplate,
    Signer,
    send_server_flight,
)

_SSL3 = 0x0300


def negotiate_version(config: ServerConfig, hello: ClientHello) -> ProtocolVersion:
    """The version to speak (RFC 8446 §4.2.1, RFC 5246 §7.4.1.2, Appendix E.1).

    supported_versions, when present, is all that counts (its legacy_version is 0x0303);
    without it the client speaks TLS 1.2 or older, by legacy_version. Below TLS 1.2 (RFC 8996)
    or outside our range: protocol_version. TLS_FALLBACK_SCSV from a client that could have
    offered more than it did while we support more: inappropriate_fallback (RFC 7507 §3).
    """
    if hello.legacy_version <= _SSL3:
        # RFC 8446 Appendix D.5: a hello with legacy_version 0x0300 or below MUST be answered
        # with protocol_version, whatever supported_versions says.
        raise ProtocolVersionError(f"ClientHello legacy_version 0x{hello.legacy_version:04x}")
    versions = hello.get(SupportedVersionsClientHello)
    if versions is not None:
        offered = versions.versions
    elif hello.legacy_version >= ProtocolVersion.TLS12:
        offered = (ProtocolVersion.TLS12,)  # §4.2.1: never 1.3 without supported_versions
    else:
        offered = ()
    version = next(
        (
            v
            for v in SUPPORTED_VERSIONS
            if v in offered and config.min_version <= v <= config.max_version
        ),
        None,
    )
    fallback = CipherSuiteId.TLS_FALLBACK_SCSV in hello.cipher_suites
    if version is None:
        names = ", ".join(f"0x{v:04x}" for v in offered) or f"0x{hello.legacy_version:04x}"
        if fallback and max(offered, default=hello.legacy_version) < config.max_version:
            # RFC 7507 §3 allows protocol_version here too; inappropriate_fallback says more
            # (what tlsfuzzer's test-fallback-scsv expects of a TLS 1.2+ server)
            raise InappropriateFallback(f"client signals a fallback to {names}")
        raise ProtocolVersionError(
            f"client offers TLS versions {names}; we accept "
            f"{config.min_version.name}..{config.max_version.name}"
        )
    if fallback and version < config.max_version:
        raise InappropriateFallback(
            f"client signals a fallback to 0x{version:04x}; we support 0x{config.max_version:04x}"
        )
    return version


def config_for_server_name(config: ServerConfig, hello: ClientHello) -> ServerConfig:
    """The config for this connection, from ``server_name_callback`` (RFC 6066 §3).

    Called once, with the first ClientHello's host name (``None`` without server_name), before
    anything is negotiated. A :class:`ProtocolError` it raises (e.g. ``UnrecognizedName``)
    aborts with that alert; anything else is the application's bug: internal_error.
    """
    callback = config.server_name_callback
    if callback is None:
        return config
    name = server_name_of(hello)
    try:
        chosen = callback(name)
    except ProtocolError:
        raise
    except Exception as exc:
        raise InternalError(f"server_name_callback({name!r}) raised {exc!r}") from exc
    if chosen is None:
        return config
    if not isinstance(chosen, ServerConfig):
        raise InternalError(
            f"server_name_callback({name!r}) returned {type(chosen).__name__}, "
            "not a ServerConfig or None"
        )
    return chosen


def _check_tls13_hello(hello: ClientHello) -> None:
    versions = hello.get(SupportedVersionsClientHello)
    if versions is None or ProtocolVersion.TLS13 not in versions.versions:
        # RFC 8446 §4.1.2: the second ClientHello offers TLS 1.3 like the first.
        raise IllegalParameter("ClientHello does not offer TLS 1.3 in supported_versions")
    if hello.legacy_compression_methods != b"\x00":
        raise IllegalParameter("TLS 1.3 ClientHello compression methods must be [null] (§4.1.2)")
    if hello.get(PreSharedKeyClientHello) is not None and hello.get(PskKeyExchangeModes) is None:
        # RFC 8446 §4.2.9: pre_shared_key without psk_key_exchange_modes MUST be refused.
        raise MissingExtension("ClientHello offers a PSK without psk_key_exchange_modes")
    if (hello.get(SupportedGroups) is None) != (hello.get(KeyShareClientHello) is None):
        # RFC 8446 §9.2: supported_groups and key_share come together "and vice versa", also
        # when a psk_ke handshake would use neither -> missing_extension
        raise MissingExtension("ClientHello has one of supported_groups and key_share (§9.2)")


def _hash(hash_name: str, data: bytes) -> bytes:
    return hashlib.new(hash_name, data).digest()


def _choose_suite_and_psk(
    config: ServerConfig, hello: ClientHello
) -> tuple[CipherSuite, AcceptedPsk | None]:
    """Our preferred common suite, and a PSK for it (RFC 8446 §4.1.1, §4.2.11).

    A PSK works only with a suite of its hash: when none fits our first choice, a common
    suite of the other hash is tried, since using a PSK beats our order of suites.
    """
    common = [s for s in config.cipher_suites if s.id in hello.cipher_suites]
    if not common:
        raise HandshakeFailure("no cipher suite in common with the client")
    name = server_name_of(hello)
    tried: set[str] = set()
    for suite in common:
        if suite.hash_name in tried:
            continue
        tried.add(suite.hash_name)
        psk = accept_psk(config, hello, suite, name, functools.partial(_hash, suite.hash_name))
        if psk is not None or hello.get(PreSharedKeyClientHello) is None:
            return suite, psk
    return common[0], None


def _choose(
    config: ServerConfig, hello: ClientHello, suite: CipherSuite, psk: AcceptedPsk | None
) -> Choice:
    """The rest of the negotiation, once the suite and any PSK are settled (RFC 8446 §4.1.1).

    (EC)DHE unless the PSK is used in psk_ke mode; a certificate unless a PSK authenticates
    (one is still chosen when possible, for a second ClientHello that drops the PSK).
    """
    groups_ext = hello.get(SupportedGroups)
    shares_ext = hello.get(KeyShareClientHello)
    sigalgs = hello.get(SignatureAlgorithms)
    group = None
    if psk is None or psk.mode == PskKeyExchangeMode.PSK_DHE_KE:
        # RFC 8446 §9.2: key_share goes with supported_groups (mandatory without a PSK).
        if groups_ext is None or shares_ext is None:
            raise MissingExtension("ClientHello needs supported_groups and key_share (§9.2)")
        for entry in shares_ext.client_shares:
            if entry.group not in groups_ext.groups:
                raise IllegalParameter("key_share for a group not in supported_groups (§4.2.8)")
        group = _choose_group(config, groups_ext.groups, shares_ext.client_shares)
    signer, scheme = None, None
    if sigalgs is not None and config.certificates:
        try:
            signer, scheme = _choose_certificate(config, sigalgs.schemes)
        except HandshakeFailure:
            if psk is None:
                raise
    elif psk is None:
        if sigalgs is None:
            raise MissingExtension("ClientHello without signature_algorithms (RFC 8446 §9.2)")
        raise HandshakeFailure("no PSK was accepted and the server has no certificate")
    return Choice(
        suite=suite,
        group=group,
        signer=signer,
        signature_scheme=scheme,
        alpn_protocol=choose_alpn(config, hello),
        server_name=server_name_of(hello),
        psk=psk,
    )


def _choose_group(
    config: ServerConfig, client_groups: tuple[int, ...], shares: tuple[KeyShareEntry, ...]
) -> Group:
    shared = [g for g in config.groups if g.id in client_groups]
    if not shared:
        raise HandshakeFailure("no key exchange group in common with the client")
    if config.strict_group_preference:
        return shared[0]
    sent = {e.group for e in shares}
    # Prefer a group the client already sent a share for: it saves a round trip.
    return next((g for g in shared if g.id in sent), shared[0])


def _choose_certificate(
    config: ServerConfig, client_schemes: tuple[int, ...]
) -> tuple[Signer, int]:
    """RFC 8446 §4.4.2.2: a chain whose key can sign with a scheme the client offered."""
    for signer in ServerTemplate.of(config).signers:
        for scheme in signer.schemes:  # what the key can do and the config allows
            if scheme in client_schemes:
                return signer, scheme
    raise HandshakeFailure("no certificate can sign with the client's signature_algorithms")


def _client_share(hello: ClientHello, group: Group) -> KeyShareEntry | None:
    shares = hello.get(KeyShareClientHello)
    if shares is None:
        return None
    return next((e for e in shares.client_shares if e.group == group.id), None)


#: What a second ClientHello may change (RFC 8446 §4.1.2).
_MAY_CHANGE_AFTER_RETRY = frozenset(
    {
        ExtensionType.KEY_SHARE,
        ExtensionType.EARLY_DATA,
        ExtensionType.COOKIE,
        ExtensionType.PRE_SHARED_KEY,
        ExtensionType.PADDING,
    }
)


def _kept_extensions(hello: ClientHello) -> tuple[list[int], frozenset[int]]:
    """What a ClientHello after a HelloRetryRequest must repeat: the order of its extension
    types and the set of them (RFC 8446 §4.1.2).

    Only the types and their order are compared (as tlsfuzzer's test-tls13-shuffled-extentions
    does): a client may legitimately send fresh GREASE ECH contents (draft-ietf-tls-esni §6.1)
    in the second hello, so comparing the bodies would refuse real clients. For the same
    reason psk_key_exchange_modes, which wolfSSL (5.5 to 5.8 at least) moves behind other
    extensions in its second hello, counts in the set but not in the order.
    """
    kept = [e.ext_type for e in hello.extensions if e.ext_type not in _MAY_CHANGE_AFTER_RETRY]
    order = [t for t in kept if t != ExtensionType.PSK_KEY_EXCHANGE_MODES]
    return order, frozenset(kept)


@dataclass(frozen=True, slots=True)
class ExpectClientHello:
    """Waiting for the first ClientHello (RFC 8446 §4.1.2)."""

    expects = frozenset({HandshakeType.CLIENT_HELLO})

    config: ServerConfig

    def handle(
        self, msg: HandshakeMessage, out: Output
    ) -> (
        ExpectSecondClientHello
        | ExpectFinished
        | ExpectClientCertificate
        | ExpectEndOfEarlyData
        | ServerHandshake12
    ):
        hello = expect(msg, ClientHello, self)
        config = config_for_server_name(self.config, hello)
        if negotiate_version(config, hello) == ProtocolVersion.TLS12:
            return start_tls12(config, hello, out)
        _check_tls13_hello(hello)
        suite, psk = _choose_suite_and_psk(config, hello)
        choice = _choose(config, hello, suite, psk)
        transcript = TranscriptHash()
        transcript.update(hello.raw)
        share = _client_share(hello, choice.group) if choice.group is not None else None
        if choice.group is not None and share is None:
            return self._hello_retry(config, hello, choice, transcript, out)
        early = accept_early_data(config, hello, psk, suite, choice.alpn_protocol)
        if not early and hello.get(EarlyData) is not None:
            out.early_data("skipping", early_data_skip_limit(config))  # §4.2.10
        offer = Offer(config, hello, share, transcript)
        return send_server_flight(
            offer, replace(choice, early_data=early), hello_retry=False, ccs_sent=False, out=out
        )

    def _hello_retry(
        self,
        config: ServerConfig,
        hello: ClientHello,
        choice: Choice,
        transcript: TranscriptHash,
        out: Output,
    ) -> ExpectSecondClientHello:
        """Send HelloRetryRequest for the chosen group (RFC 8446 §4.1.4); the second
        ClientHello is answered with the same ``config`` (server_name_callback's choice)."""
        group = choice.group
        if group is None:  # handle() asks again only for a key share
            raise ValueError("HelloRetryRequest without a group")
        transcript.select_hash(choice.suite.hash_name)
        cookie = None
        if config.hello_retry_cookie is not None:
            cookie = config.hello_retry_cookie(transcript.digest())
        transcript.hello_retry_restart()
        extensions: list[Extension] = [KeyShareHelloRetryRequest(selected_group=group.id)]
        if cookie is not None:
            extensions.append(Cookie(cookie=cookie))
        extensions.append(SupportedVersionsServerHello(selected_version=ProtocolVersion.TLS13))
        hrr = ServerHello(
            legacy_version=ProtocolVersion.TLS12,
            random=HELLO_RETRY_REQUEST_RANDOM,
            legacy_session_id_echo=hello.legacy_session_id,
            cipher_suite=choice.suite.id,
            legacy_compression_method=0,
            extensions=tuple(extensions),
        )
        transcript.update(out.send(hrr))
        if hello.get(EarlyData) is not None:
            out.early_data("skipping", early_data_skip_limit(config))  # §4.2.10
        ccs_sent = bool(hello.legacy_session_id)
        if ccs_sent:
            out.change_cipher_spec()  # RFC 8446 D.4: right after the first handshake message
        return ExpectSecondClientHello(config, hello, choice, transcript, cookie, ccs_sent)


@dataclass(frozen=True, slots=True)
class ExpectSecondClientHello:
    """HelloRetryRequest sent; waiting for the updated ClientHello (RFC 8446 §4.1.2, §4.1.4)."""

    expects = frozenset({HandshakeType.CLIENT_HELLO})

    config: ServerConfig
    first_hello: ClientHello
    choice: Choice
    transcript: TranscriptHash
    cookie: bytes | None
    ccs_sent: bool

    def handle(
        self, msg: HandshakeMessage, out: Output
    ) -> ExpectFinished | ExpectClientCertificate | ExpectEndOfEarlyData:
        hello = expect(msg, ClientHello, self)
        first, choice = self.first_hello, self.choice
        # RFC 8446 §4.1.2: the client MUST send the same ClientHello except for key_share,
        # early_data, cookie, pre_shared_key and padding.
        if (
            hello.legacy_version != first.legacy_version
            or hello.random != first.random
            or hello.legacy_session_id != first.legacy_session_id
            or hello.cipher_suites != first.cipher_suites
            or hello.legacy_compression_methods != first.legacy_compression_methods
            or _kept_extensions(hello) != _kept_extensions(first)
        ):
            raise IllegalParameter("second ClientHello differs from the first (RFC 8446 §4.1.2)")
        _check_tls13_hello(hello)
        if hello.get(EarlyData) is not None:
            # RFC 8446 §4.1.2: early data is not permitted after a HelloRetryRequest.
            raise IllegalParameter("second ClientHello still offers early_data")
        if choice.suite.id not in hello.cipher_suites:
            raise IllegalParameter("second ClientHello dropped the chosen cipher suite")
        if self.cookie is not None:
            echoed = hello.get(Cookie)
            if echoed is None or echoed.cookie != self.cookie:
                raise IllegalParameter("second ClientHello does not echo the cookie (§4.2.2)")
        group = choice.group
        if group is None:  # we asked for a key share, so we chose a group
            raise ValueError("HelloRetryRequest without a group")
        shares = hello.get(KeyShareClientHello)
        if shares is None or len(shares.client_shares) != 1:
            raise IllegalParameter("second ClientHello must carry exactly one key share (§4.2.8)")
        share = shares.client_shares[0]
        if share.group != group.id:
            raise IllegalParameter("second ClientHello key share is not for the requested group")
        groups = hello.get(SupportedGroups)
        if groups is None or group.id not in groups.groups:
            raise IllegalParameter("second ClientHello no longer supports the requested group")
        # The binder of a second hello covers message_hash(CH1) and the HRR (§4.2.11.2); we
        # asked for a key share, so only psk_dhe_ke fits.
        psk = accept_psk(
            self.config, hello, choice.suite, choice.server_name, self.transcript.digest_with,
            modes=(PskKeyExchangeMode.PSK_DHE_KE,),
        )  # fmt: skip
        if psk is None and choice.signer is None:
            raise HandshakeFailure("the second ClientHello dropped the PSK; we have no certificate")
        self.transcript.update(hello.raw)
        offer = Offer(self.config, hello, share, self.transcript)
        return send_server_flight(
            offer, replace(choice, psk=psk), hello_retry=True, ccs_sent=self.ccs_sent, out=out
        )
