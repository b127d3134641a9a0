"""Server: choosing the TLS 1.2 cipher suite, certificate, scheme and group (RFC 5246 §7.4.1.3).

A TLS 1.2 suite fixes the key exchange and the certificate's key type, so the three are chosen
together: our suites in preference order, the first the client offers for which

* a certificate of ours has the key type the suite authenticates with (RFC 8422 §5.3: ECDSA
  suites take ECDSA or EdDSA keys; RFC 5246 §7.4.2), an ECDSA key on a curve the client lists
  in supported_groups (RFC 8422 §4), and can sign with a scheme in the client's
  signature_algorithms (§7.4.1.4.1; without that extension the default is SHA-1, which we
  never sign with: RFC 9155 §5 has the server abort with handshake_failure), and
* a group fits the key exchange: for ECDHE a curve the client lists in supported_groups
  (secp256r1 when it sends none, RFC 8422 §4; never a TLS 1.3-only ML-KEM group); for DHE an
  RFC 7919 group it lists, or, when it lists no FFDHE group at all, our first (RFC 7919 §4: a
  client that lists FFDHE groups but none we know gets no DHE suite).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..certs import CertifiedKey
from ..config import ServerConfig
from ..crypto.groups import FFDHE_CODEPOINTS, SECP256R1, FFDHEGroup, Group, ecdhe12_group
from ..crypto.signatures import schemes_for_key, spki_is_rsassa_pss
from ..crypto.suites import CipherSuite12
from ..enums import NamedGroup
from ..errors import HandshakeFailure, InsufficientSecurity
from ..extensions import SignatureAlgorithms, SupportedGroups
from ..fast_init import fast_init
from ..messages.hello import ClientHello

_CURVES = {
    "secp256r1": NamedGroup.SECP256R1,
    "secp384r1": NamedGroup.SECP384R1,
    "secp521r1": NamedGroup.SECP521R1,
}


@dataclass(frozen=True, slots=True)
class Signer12:
    """One of our chains and the TLS 1.2 schemes its key can sign with (our order)."""

    certified: CertifiedKey
    authentication: str  # "RSA" or "ECDSA": the suites it serves
    schemes: tuple[int, ...]
    curve: int | None
    """The NamedGroup of an ECDSA key's curve: the client must list it (RFC 8422 §4)."""


@fast_init
@dataclass(frozen=True, slots=True)
class Choice12:
    suite: CipherSuite12
    signer: Signer12
    scheme: int
    group: Group


def signers12(config: ServerConfig) -> tuple[Signer12, ...]:
    """Our chains with their TLS 1.2 schemes, worked out once per config."""
    cached: tuple[Signer12, ...] | None = config.__dict__.get("_signers12")
    if cached is not None:
        return cached
    signers = []
    for certified in config.certificates:
        key = certified.private_key
        pss = spki_is_rsassa_pss(certified.leaf)
        schemes = tuple(
            s
            for s in schemes_for_key(key, tls13=False, rsassa_pss=pss)
            if s in config.signature_schemes
        )
        kind = "RSA" if isinstance(key, rsa.RSAPrivateKey) else "ECDSA"
        curve = None
        if isinstance(key, ec.EllipticCurvePrivateKey):
            curve = _CURVES.get(key.curve.name, -1)  # -1: a curve no client can list
        signers.append(Signer12(certified, kind, schemes, curve))
    result = tuple(signers)
    object.__setattr__(config, "_signers12", result)  # a cache on a frozen config
    return result


def _group_for(
    suite: CipherSuite12, config: ServerConfig, client_groups: tuple[int, ...] | None
) -> Group | None:
    if suite.key_exchange == "ECDHE":
        offered = client_groups if client_groups is not None else (SECP256R1.id,)
        # RFC 8422 §5.1.1: a curve. Never an FFDHE group, nor a KEM group: the ML-KEM hybrids
        # are TLS 1.3 only (draft-ietf-tls-ecdhe-mlkem), so a client's hybrid is skipped here.
        return next((g for g in config.groups if g.id in offered and ecdhe12_group(g)), None)
    ours = [g for g in config.groups if isinstance(g, FFDHEGroup)]
    if client_groups is not None and any(g in FFDHE_CODEPOINTS for g in client_groups):
        return next((g for g in ours if g.id in client_groups), None)
    return ours[0] if ours else None


def choose_full_handshake(config: ServerConfig, hello: ClientHello) -> Choice12:
    """Suite, certificate, scheme and group for a full TLS 1.2 handshake (module docstring)."""
    sigalgs = hello.get(SignatureAlgorithms)
    client_schemes = sigalgs.schemes if sigalgs is not None else ()
    groups_ext = hello.get(SupportedGroups)
    client_groups = groups_ext.groups if groups_ext is not None else None
    signers = signers12(config)
    for suite in config.tls12_cipher_suites:
        if suite.id not in hello.cipher_suites:
            continue
        group = _group_for(suite, config, client_groups)
        if group is None:
            continue
        for signer in signers:
            if signer.authentication != suite.authentication:
                continue
            if (
                signer.curve is not None
                and client_groups is not None
                and signer.curve not in client_groups
            ):
                continue  # RFC 8422 §4: an ECDSA key on a curve the client cannot use
            scheme = next((s for s in signer.schemes if s in client_schemes), None)
            if scheme is not None:
                return Choice12(suite, signer, scheme, group)
    if client_groups is not None and any(g in FFDHE_CODEPOINTS for g in client_groups):
        usable = (g.id for g in config.groups if isinstance(g, FFDHEGroup) or ecdhe12_group(g))
        if not set(usable) & set(client_groups):
            # RFC 7919 §4: FFDHE groups offered, none of the client's groups acceptable and no
            # non-FFDHE suite either -> insufficient_security
            raise InsufficientSecurity(
                "none of the client's groups (FFDHE ones among them) is one we accept (RFC 7919)"
            )
    raise HandshakeFailure(
        "no TLS 1.2 cipher suite in common with the client for which we have a certificate, "
        "a signature scheme and a group"
    )
