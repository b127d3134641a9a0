"""Config checks: combinations of field values that cannot work, refused at construction.

:class:`~tlsmachine.config.ClientConfig` and :class:`~tlsmachine.config.ServerConfig` call these
from ``__post_init__`` after :mod:`tlsmachine.config_values` has resolved the names: versions,
suites with their groups, certificates with their signature schemes. Every problem is a
:class:`ConfigurationError` naming the field.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric import rsa

from .certs import CertifiedKey
from .config_values import version_name
from .crypto.groups import FFDHEGroup, Group
from .crypto.signatures import schemes_for_key, spki_is_rsassa_pss
from .enums import ProtocolVersion, SignatureScheme, name_of
from .errors import ConfigurationError

if TYPE_CHECKING:
    from .config_client import ClientConfig
    from .config_server import ServerConfig


# --- combinations that cannot work ---------------------------------------------------------

_TLS12_OFF = "; or set min_version='1.3' to turn TLS 1.2 off"


def check_common(config: ClientConfig | ServerConfig) -> tuple[bool, bool]:
    """Checks both roles share; returns whether TLS 1.3 and TLS 1.2 are enabled."""
    low, high = config.min_version, config.max_version
    if low < ProtocolVersion.TLS12:
        raise ConfigurationError(
            f"min_version: {version_name(low)} is not supported; TLS 1.2 is the oldest (RFC 8996)"
        )
    if high < ProtocolVersion.TLS12:
        raise ConfigurationError(
            f"max_version: {version_name(high)} is not supported; TLS 1.2 is the oldest (RFC 8996)"
        )
    if low > high:
        raise ConfigurationError(
            f"min_version {version_name(low)} is above max_version {version_name(high)}: "
            "no version in common"
        )
    tls13, tls12 = high >= ProtocolVersion.TLS13, low <= ProtocolVersion.TLS12
    if tls13 and not config.cipher_suites:
        raise ConfigurationError(
            "cipher_suites (TLS 1.3) is empty, but max_version enables TLS 1.3; add a suite "
            "or set max_version='1.2'"
        )
    if tls12 and not config.tls12_cipher_suites:
        raise ConfigurationError(
            "tls12_cipher_suites is empty, but min_version enables TLS 1.2; add a suite"
            + _TLS12_OFF
        )
    if not config.groups:
        raise ConfigurationError("groups must not be empty (RFC 8446 §4.2.7, RFC 8422 §5.1.1)")
    if not config.signature_schemes:
        raise ConfigurationError("signature_schemes must not be empty (RFC 8446 §4.2.3)")
    for proto in config.alpn_protocols:
        if not 1 <= len(proto.encode()) <= 255:
            raise ConfigurationError(
                f"alpn_protocols: {proto!r} must be 1..255 bytes (RFC 7301 §3.1)"
            )
    if len(set(config.alpn_protocols)) != len(config.alpn_protocols):
        raise ConfigurationError("alpn_protocols: a protocol is listed twice")
    modes = config.psk_modes
    if not modes:
        raise ConfigurationError("psk_modes: one or both of psk_dhe_ke and psk_ke (§4.2.9)")
    return tls13, tls12


def _ecdhe_group(group: Group) -> bool:
    """An elliptic curve usable for TLS 1.2 ECDHE (RFC 8422 §5.1.1: code points below 0x0100;
    FFDHE groups, RFC 7919, and post-quantum hybrids lie above)."""
    return group.id < 0x0100


def tls12_group_problem(config: ClientConfig | ServerConfig, *, server: bool) -> str | None:
    """Why no TLS 1.2 suite has a group to run on, or None.

    ECDHE needs one of our elliptic curves (RFC 8422 §5.1.1). For DHE a server needs an ffdhe
    group of its own, while a client takes the server's RFC 7919 or RFC 3526 group without
    listing it (RFC 7919 §4).
    """
    ecdhe, dhe = False, not server
    for group in config.groups:
        if _ecdhe_group(group):
            ecdhe = True
        elif isinstance(group, FFDHEGroup):
            dhe = True
    kinds = {s.key_exchange for s in config.tls12_cipher_suites}
    if ("ECDHE" in kinds and ecdhe) or ("DHE" in kinds and dhe):
        return None
    needs = [
        need
        for kx, need in (
            ("ECDHE", "ECDHE suites need an elliptic curve (x25519, secp256r1, ...)"),
            ("DHE", "DHE suites need an ffdhe group (RFC 7919)"),
        )
        if kx in kinds
    ]
    have = ", ".join(g.name for g in config.groups)
    return f"groups: none fits tls12_cipher_suites ({'; '.join(needs)}); groups has {have}"


def _scheme_names(schemes: Iterable[int]) -> str:
    return ", ".join(name_of(SignatureScheme, s).lower() for s in schemes) or "none"


def _key_schemes(certified: CertifiedKey, tls13: bool) -> tuple[int, ...]:
    pss = spki_is_rsassa_pss(certified.leaf)
    return schemes_for_key(certified.private_key, tls13=tls13, rsassa_pss=pss)


def _can_sign(config: ServerConfig, tls13: bool) -> str:
    return "; ".join(
        f"{c.leaf.subject.rfc4514_string()!r} can sign with "
        + _scheme_names(_key_schemes(c, tls13))
        for c in config.certificates
    )


def server_tls13_problem(config: ServerConfig) -> str | None:
    """A certificate needs a TLS 1.3 CertificateVerify scheme of its key among
    signature_schemes (RFC 8446 §4.4.2.2, §4.4.3); a PSK-only server needs none."""
    allowed = set(config.signature_schemes)
    if not config.certificates or any(
        allowed.intersection(_key_schemes(c, True)) for c in config.certificates
    ):
        return None
    return (
        "certificates: none can sign a TLS 1.3 CertificateVerify with a scheme in "
        f"signature_schemes (RFC 8446 §4.4.2.2): {_can_sign(config, True)}; "
        f"signature_schemes has {_scheme_names(config.signature_schemes)}"
    )


def server_tls12_problem(config: ServerConfig) -> str | None:
    """A TLS 1.2 suite needs a group, a certificate whose key fits its authentication
    (RFC 8422 §5.3: ECDSA suites take ECDSA and EdDSA keys; RFC 5246 §7.4.2), and a scheme in
    signature_schemes that key can sign the ServerKeyExchange with (RFC 5246 §7.4.1.4.1)."""
    if not config.certificates:
        return "certificates: TLS 1.2 needs one (external_psks are used in TLS 1.3 only)"
    problem = tls12_group_problem(config, server=True)
    if problem:
        return problem
    ffdhe = any(isinstance(g, FFDHEGroup) for g in config.groups)
    ecdhe = any(map(_ecdhe_group, config.groups))
    auths = {
        s.authentication
        for s in config.tls12_cipher_suites
        if (ecdhe if s.key_exchange == "ECDHE" else ffdhe)
    }
    fitting = [
        c
        for c in config.certificates
        if ("RSA" if isinstance(c.private_key, rsa.RSAPrivateKey) else "ECDSA") in auths
    ]
    if not fitting:
        return (
            "tls12_cipher_suites: none that groups can serve fits a certificate's key (ECDSA "
            "suites take ECDSA or EdDSA keys, RSA suites RSA keys; RFC 8422 §5.3); those "
            f"suites authenticate with {', '.join(sorted(auths))}"
        )
    allowed = set(config.signature_schemes)
    if any(allowed.intersection(_key_schemes(c, False)) for c in fitting):
        return None
    return (
        "certificates: none can sign a TLS 1.2 ServerKeyExchange with a scheme in "
        f"signature_schemes (RFC 5246 §7.4.1.4.1): {_can_sign(config, False)}"
    )


def check_versions_work(problems: dict[int, str | None], tls13: bool, tls12: bool) -> None:
    """Raise when no enabled version can work; the problems of each are in the message.

    One unusable version beside a usable one is accepted: e.g. ffdhe-only groups for TLS 1.3
    with ECDHE TLS 1.2 suites enabled by the default min_version.
    """
    enabled = [
        v for v, on in ((ProtocolVersion.TLS13, tls13), (ProtocolVersion.TLS12, tls12)) if on
    ]
    if any(problems.get(v) is None for v in enabled):
        return
    if len(enabled) == 1:
        raise ConfigurationError(str(problems[enabled[0]]))
    raise ConfigurationError(
        "no enabled version can work: "
        + "; and ".join(f"{version_name(v)}: {problems[v]}" for v in enabled)
    )
