"""Named policy profiles: ready-made config field values for a purpose.

A :class:`Profile` holds values for :class:`~tlsmachine.config.ClientConfig` and
:class:`~tlsmachine.config.ServerConfig` fields (versions, suites, groups, signature schemes);
``None`` leaves the library default. Values are names, resolved by the configs themselves
(:mod:`tlsmachine.config_values`), so a profile never imports a group or suite object::

    config = profiles.get("cnsa2").client_config(cafile="ca.pem")
    server = profiles.PROFILES["pq-only"].server_config(certificates=(certified,))

Keyword arguments override the profile's values. Profiles:

``default``  the library defaults, unchanged.
``compat``   older peers first: classical groups ahead of ML-KEM, every suite, TLS 1.2 too.
``pq-only``  only post-quantum (hybrid or pure ML-KEM) key exchange, TLS 1.3 only.
``cnsa2``    NSA's CNSA 2.0 choice: ML-KEM-1024, AES-256-GCM, ML-DSA-87 or P-384, TLS 1.3.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from typing import Any, TypeVar

from .config import ClientConfig, ServerConfig
from .errors import ConfigurationError

__all__ = [
    "PROFILES",
    "Cnsa2Profile",
    "CompatProfile",
    "DefaultProfile",
    "PqOnlyProfile",
    "Profile",
    "get",
]

_C = TypeVar("_C", ClientConfig, ServerConfig)

_CLIENT_ONLY = frozenset({"key_share_groups"})
"""Profile fields a ServerConfig does not have (it answers the client's key shares)."""


@dataclass(frozen=True)
class Profile:
    """Config field values under a name; a field left ``None`` keeps the library default.

    Suites, groups, schemes and versions are given by name (as ``ClientConfig`` accepts them),
    so building a config resolves and validates them: a name this build does not implement
    raises :class:`~tlsmachine.errors.ConfigurationError` naming the profile and the field.
    """

    name: str
    summary: str = ""
    """One line: what the profile is for."""
    min_version: str | None = None
    max_version: str | None = None
    cipher_suites: tuple[str, ...] | None = None
    """TLS 1.3 cipher suites (RFC 8446 §B.4), in preference order."""
    tls12_cipher_suites: tuple[str, ...] | None = None
    groups: tuple[str, ...] | None = None
    """supported_groups (RFC 8446 §4.2.7), in preference order."""
    key_share_groups: tuple[str, ...] | None = None
    """Client only: the groups of the first ClientHello's key shares (RFC 8446 §4.2.8)."""
    signature_schemes: tuple[str, ...] | None = None
    """signature_algorithms (RFC 8446 §4.2.3), in preference order."""

    def values(self, *, server: bool = False) -> dict[str, object]:
        """The config fields this profile sets (``server``: without client-only fields)."""
        skip = {"name", "summary"} | (_CLIENT_ONLY if server else set())
        return {
            f.name: value
            for f in dataclasses.fields(self)
            if f.name not in skip and (value := getattr(self, f.name)) is not None
        }

    def client_config(self, **overrides: Any) -> ClientConfig:
        """A :class:`ClientConfig` with this profile's values; ``overrides`` win.

        Overriding ``groups`` alone also drops the profile's ``key_share_groups``, which were
        chosen for its own groups: the first of the new groups gets the key share then.
        """
        values = self.values(server=False)
        if "groups" in overrides and "key_share_groups" not in overrides:
            values.pop("key_share_groups", None)
        return self._build(ClientConfig, values, overrides)

    def server_config(self, **overrides: Any) -> ServerConfig:
        """A :class:`ServerConfig` with this profile's values; ``overrides`` win (a server
        needs at least ``certificates=`` or ``external_psks=``)."""
        return self._build(ServerConfig, self.values(server=True), overrides)

    def _build(self, kind: type[_C], values: dict[str, object], overrides: dict[str, Any]) -> _C:
        known = {f.name for f in dataclasses.fields(kind) if f.init}
        for key in overrides:
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigurationError(
                    f"profile {self.name!r}: {kind.__name__} has no field {key!r}{hint}"
                )
        try:
            return kind(**{**values, **overrides})
        except ConfigurationError as exc:
            if not values:  # a profile that sets nothing (the default) plays no part in it
                raise
            raise ConfigurationError(f"profile {self.name!r}: {exc}") from None


@dataclass(frozen=True)
class DefaultProfile(Profile):
    """The library defaults, exactly ``ClientConfig()`` / ``ServerConfig()``.

    TLS 1.2 and 1.3; the default suites (AEAD only, RFC 9325 §4.2), groups and signature
    schemes. At the time of writing the default groups lead with the hybrid X25519MLKEM768
    (draft-ietf-tls-ecdhe-mlkem) ahead of the classical curves, and the default schemes offer
    ML-DSA (draft-ietf-tls-mldsa) after the classical ones. Whatever the defaults become, this
    profile follows them: it sets nothing.
    """

    name: str = "default"
    summary: str = "the library defaults"


@dataclass(frozen=True)
class CompatProfile(Profile):
    """For older peers: every suite and group they may need, classical ones first.

    - TLS 1.2 and 1.3; all TLS 1.3 suites including TLS_AES_128_CCM_SHA256 (constrained
      devices, RFC 8446 §B.4) and all TLS 1.2 AEAD suites: ECDHE-ECDSA, ECDHE-RSA and
      DHE-RSA (RFC 5288, RFC 7905). Static RSA and CBC suites stay out (RFC 9325 §4.1, §4.2).
    - Groups: the classical curves first (x25519, secp256r1, x448, secp384r1, secp521r1),
      then ffdhe2048/3072/4096 for DHE suites and TLS 1.3 peers without curves (RFC 7919),
      then X25519MLKEM768 (draft-ietf-tls-ecdhe-mlkem) so that a post-quantum server can
      still ask for it with a HelloRetryRequest. The first ClientHello carries an x25519 key
      share only: small enough for peers and middleboxes that break on the 1.2 KB hybrid
      share.
    - Signature schemes: ECDSA, EdDSA, RSA-PSS and RSASSA-PKCS1-v1_5 (which TLS 1.2
      ServerKeyExchange and most CA signatures still use, RFC 5246 §7.4.1.4.1, RFC 8446
      §4.2.3), then ML-DSA (TLS 1.3 only). SHA-1 schemes are never offered (RFC 9155).
    """

    name: str = "compat"
    summary: str = "older peers: classical groups first, all suites, TLS 1.2 and 1.3"
    min_version: str | None = "1.2"
    max_version: str | None = "1.3"
    cipher_suites: tuple[str, ...] | None = (
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
        "TLS_AES_128_CCM_SHA256",
    )
    tls12_cipher_suites: tuple[str, ...] | None = (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    )
    groups: tuple[str, ...] | None = (
        "x25519",
        "secp256r1",
        "x448",
        "secp384r1",
        "secp521r1",
        "ffdhe2048",
        "ffdhe3072",
        "ffdhe4096",
        "X25519MLKEM768",
    )
    key_share_groups: tuple[str, ...] | None = ("x25519",)
    signature_schemes: tuple[str, ...] | None = (
        "ecdsa_secp256r1_sha256",
        "ecdsa_secp384r1_sha384",
        "ecdsa_secp521r1_sha512",
        "ed25519",
        "ed448",
        "rsa_pss_rsae_sha256",
        "rsa_pss_rsae_sha384",
        "rsa_pss_rsae_sha512",
        "rsa_pss_pss_sha256",
        "rsa_pss_pss_sha384",
        "rsa_pss_pss_sha512",
        "rsa_pkcs1_sha256",
        "rsa_pkcs1_sha384",
        "rsa_pkcs1_sha512",
        "mldsa44",
        "mldsa65",
        "mldsa87",
    )


@dataclass(frozen=True)
class PqOnlyProfile(Profile):
    """Only post-quantum key exchange: a recorded session cannot be decrypted later by a
    quantum computer ("harvest now, decrypt later").

    - Groups: the hybrids X25519MLKEM768, SecP256r1MLKEM768 and SecP384r1MLKEM1024
      (draft-ietf-tls-ecdhe-mlkem: secure while either component is), then pure MLKEM768
      and MLKEM1024 (draft-ietf-tls-mlkem). No classical group: a peer without any of them
      fails with handshake_failure (RFC 8446 §4.1.1) instead of falling back.
    - TLS 1.3 only: these groups are defined for TLS 1.3, and TLS 1.2 would mean a classical
      key exchange.
    - Suites and signature schemes stay the defaults: authentication only has to hold at
      handshake time, so classical certificates remain acceptable; ML-DSA certificates are
      used when the peer has them (draft-ietf-tls-mldsa).
    """

    name: str = "pq-only"
    summary: str = "only hybrid or pure ML-KEM key exchange, TLS 1.3 only"
    min_version: str | None = "1.3"
    max_version: str | None = "1.3"
    groups: tuple[str, ...] | None = (
        "X25519MLKEM768",
        "SecP256r1MLKEM768",
        "SecP384r1MLKEM1024",
        "MLKEM768",
        "MLKEM1024",
    )


@dataclass(frozen=True)
class Cnsa2Profile(Profile):
    """NSA's Commercial National Security Algorithm Suite 2.0 (CNSA 2.0) for TLS 1.3.

    CNSA 2.0 (NSA cybersecurity advisory, 2022; the TLS profile is draft-becker-cnsa2-tls-
    profile) names ML-KEM-1024 for key establishment, ML-DSA-87 for signatures, AES-256 and
    SHA-384 or better. Here:

    - TLS 1.3 only, with TLS_AES_256_GCM_SHA384 as the only suite.
    - MLKEM1024 as the only group (pure ML-KEM, draft-ietf-tls-mlkem).
    - Signatures mldsa87 (draft-ietf-tls-mldsa), then ecdsa_secp384r1_sha384: P-384 ECDSA is
      the CNSA 1.0 algorithm still allowed while certificates move to ML-DSA-87. A server
      needs an ML-DSA-87 or P-384 certificate (anything else is a ConfigurationError).
    """

    name: str = "cnsa2"
    summary: str = "CNSA 2.0: MLKEM1024, AES-256-GCM, ML-DSA-87 or P-384, TLS 1.3 only"
    min_version: str | None = "1.3"
    max_version: str | None = "1.3"
    cipher_suites: tuple[str, ...] | None = ("TLS_AES_256_GCM_SHA384",)
    groups: tuple[str, ...] | None = ("MLKEM1024",)
    signature_schemes: tuple[str, ...] | None = ("mldsa87", "ecdsa_secp384r1_sha384")


PROFILES: dict[str, Profile] = {
    p.name: p for p in (DefaultProfile(), CompatProfile(), PqOnlyProfile(), Cnsa2Profile())
}
"""The named profiles, by name."""


def get(name: str) -> Profile:
    """The profile called ``name`` (case and ``_``/``-`` do not matter: ``PQ_ONLY`` is
    ``pq-only``); :class:`ConfigurationError` listing the known names otherwise."""
    profile = (
        PROFILES.get(name.strip().lower().replace("_", "-")) if isinstance(name, str) else None
    )
    if profile is None:
        raise ConfigurationError(f"unknown profile {name!r}; known profiles: {', '.join(PROFILES)}")
    return profile
