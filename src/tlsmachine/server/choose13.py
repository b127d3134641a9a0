"""Server: the TLS 1.3 negotiation of a ClientHello (RFC 8446 §4.1.1, §4.2): the checks a
TLS 1.3 ClientHello must pass, then cipher suite (server preference) and PSK, key exchange
group (a share the client sent, else the best common group for a HelloRetryRequest),
certificate by the client's signature_algorithms (§4.4.2.2) and ALPN. The TLS 1.2
counterpart is :mod:`tlsmachine.server.choose12`; the states that use both are in
:mod:`tlsmachine.server.hello`.
"""

from __future__ import annotations

import functools

from ..config import ServerConfig
from ..crypto.groups import Group
from ..crypto.suites import CipherSuite
from ..enums import PskKeyExchangeMode
from ..errors import HandshakeFailure, IllegalParameter, MissingExtension
from ..extensions import (
    KeyShareClientHello,
    KeyShareEntry,
    PreSharedKeyClientHello,
    PskKeyExchangeModes,
    SignatureAlgorithms,
    SupportedGroups,
)
from ..messages.hello import ClientHello
from ..transcript import hash_of
from .negotiate import choose_alpn, server_name_of
from .psk import AcceptedPsk, accept_psk
from .tls13 import Choice, ServerTemplate, Signer

__all__ = [
    "check_tls13_hello",
    "choose",
    "choose_certificate",
    "choose_group",
    "choose_suite_and_psk",
    "client_share",
]


def check_tls13_hello(hello: ClientHello) -> None:
    """What every TLS 1.3 ClientHello must have, the second one too (RFC 8446 §4.1.2, §9.2).

    Its supported_versions offers TLS 1.3 already: version negotiation chose TLS 1.3 from the
    first hello, and a second one repeats that extension exactly (§4.1.2)."""
    if hello.legacy_compression_methods != b"\x00":
        raise IllegalParameter("TLS 1.3 ClientHello compression methods must be [null] (§4.1.2)")
    if hello.get(PreSharedKeyClientHello) is not None and hello.get(PskKeyExchangeModes) is None:
        # RFC 8446 §4.2.9: pre_shared_key without psk_key_exchange_modes MUST be refused.
        raise MissingExtension("ClientHello offers a PSK without psk_key_exchange_modes")
    if (hello.get(SupportedGroups) is None) != (hello.get(KeyShareClientHello) is None):
        # RFC 8446 §9.2: supported_groups and key_share come together "and vice versa", also
        # when a psk_ke handshake would use neither -> missing_extension
        raise MissingExtension("ClientHello has one of supported_groups and key_share (§9.2)")


def choose_suite_and_psk(
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
        psk = accept_psk(config, hello, suite, name, functools.partial(hash_of, suite.hash_name))
        if psk is not None or hello.get(PreSharedKeyClientHello) is None:
            return suite, psk
    return common[0], None


def choose(
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
        group = choose_group(config, groups_ext.groups, shares_ext.client_shares)
    signer, scheme = None, None
    if sigalgs is not None and config.certificates:
        try:
            signer, scheme = choose_certificate(config, sigalgs.schemes)
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


def choose_group(
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


def choose_certificate(config: ServerConfig, client_schemes: tuple[int, ...]) -> tuple[Signer, int]:
    """RFC 8446 §4.4.2.2: a chain whose key can sign with a scheme the client offered."""
    for signer in ServerTemplate.of(config).signers:
        for scheme in signer.schemes:  # what the key can do and the config allows
            if scheme in client_schemes:
                return signer, scheme
    raise HandshakeFailure("no certificate can sign with the client's signature_algorithms")


def client_share(hello: ClientHello, group: Group) -> KeyShareEntry | None:
    shares = hello.get(KeyShareClientHello)
    if shares is None:
        return None
    return next((e for e in shares.client_shares if e.group == group.id), None)
