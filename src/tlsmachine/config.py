"""Client and server configuration: frozen, validated at construction.

Randomness, key-share generation and the clock are injected here so the protocol core stays
deterministic under test (RFC 8448 traces are replayed byte for byte through these hooks).

Suites, groups, signature schemes, PSK modes and versions may be given as the objects, by code
point or by name: ``"TLS_AES_128_GCM_SHA256"``, ``"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"`` or
OpenSSL's ``"ECDHE-RSA-AES128-GCM-SHA256"``, ``"x25519"``, ``"secp256r1"`` or ``"P-256"``,
``"ecdsa_secp256r1_sha256"``, ``"psk_dhe_ke"``, ``"1.3"`` or ``"TLSv1.3"``; lists are accepted
where tuples are declared. ``__post_init__`` turns all of it into the typed tuples the protocol
code reads, once per config (configs are built once and shared, so no connection pays for it).
Every problem raises :class:`ConfigurationError` with a message that names the field.
"""

from __future__ import annotations

import difflib
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from cryptography.hazmat.primitives.asymmetric import rsa

from .certs import CertifiedKey
from .crypto.groups import (
    DEFAULT_GROUPS,
    GROUPS,
    SECP256R1,
    SECP384R1,
    SECP521R1,
    X448,
    X25519,
    FFDHEGroup,
    Group,
    PrivateKeyShare,
)
from .crypto.signatures import (
    DEFAULT_SIGNATURE_SCHEMES,
    TLS13_CERTIFICATE_VERIFY_SCHEMES,
    schemes_for_key,
    spki_is_rsassa_pss,
)
from .crypto.suites import (
    DEFAULT_TLS12_SUITES,
    DEFAULT_TLS13_SUITES,
    TLS12_SUITES,
    TLS13_SUITES,
    CipherSuite,
    CipherSuite12,
)
from .enums import ProtocolVersion, PskKeyExchangeMode, SignatureScheme, name_of
from .errors import ConfigurationError
from .session import (
    MAX_TICKET_LIFETIME,
    AeadTicketSealer,
    ClientHelloRecorder,
    ClientSessionStore,
    ExternalPsk,
    ReplayGuard,
    TicketSealer,
)
from .session_cache import InMemorySessionCache, ServerSessionCache

if TYPE_CHECKING:
    from .verify import CertificateVerifier

KeyLogCallback = Callable[[str], None]
"""Receives one NSS key log line (``LABEL client_random secret``) per secret, no newline."""

ServerNameCallback = Callable[[str | None], "ServerConfig | None"]
"""``ServerConfig.server_name_callback``: the client's SNI host name (RFC 6066 §3) or ``None``
-> the config for this connection, or ``None`` to keep the current one."""

SUPPORTED_VERSIONS = (ProtocolVersion.TLS13, ProtocolVersion.TLS12)

_T = TypeVar("_T")


def _generate_share(group: Group) -> PrivateKeyShare:
    return group.generate()


# --- names: what users may write instead of the typed objects ---------------------------------


def _key(name: str) -> str:
    """Names compare ignoring case and "-", "_", " " ("P-256", "p256" and "P_256" are one)."""
    return name.lower().replace("-", "").replace("_", "").replace(" ", "")


def openssl_name(suite: CipherSuite12) -> str:
    """OpenSSL's name of a TLS 1.2 AEAD suite: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 is
    ECDHE-RSA-AES128-GCM-SHA256; ChaCha20-Poly1305 drops the hash (ECDHE-RSA-CHACHA20-POLY1305)."""
    kx_auth, aead = suite.name.removeprefix("TLS_").split("_WITH_")
    aead = aead.replace("AES_128", "AES128").replace("AES_256", "AES256")
    aead = aead.replace("POLY1305_SHA256", "POLY1305")
    return f"{kx_auth}_{aead}".replace("_", "-")


@dataclass(frozen=True, slots=True)
class _Registry(Generic[_T]):
    """The values a field accepts: instances of ``kind``, names (with aliases), code points."""

    what: str  # "TLS 1.3 cipher suite", for messages
    kind: type[Any]
    by_name: dict[str, _T]  # by _key(name)
    by_code: dict[int, _T]
    name_of: Callable[[_T], str]
    code_of: Callable[[_T], int]
    any_code: bool = False  # code points we do not know pass as plain ints

    @classmethod
    def of(
        cls,
        what: str,
        kind: type[Any],
        items: Iterable[_T],
        name_of: Callable[[_T], str],
        code_of: Callable[[_T], int],
        aliases: dict[str, _T] | None = None,
        any_code: bool = False,
    ) -> _Registry[_T]:
        values = tuple(items)
        by_name = {_key(name_of(v)): v for v in values}
        by_name.update({_key(alias): v for alias, v in (aliases or {}).items()})
        by_code = {code_of(v): v for v in values}
        return cls(what, kind, by_name, by_code, name_of, code_of, any_code)

    def lookup(self, value: object) -> _T | None:
        if isinstance(value, self.kind):
            return cast(_T, value)
        if isinstance(value, str):
            return self.by_name.get(_key(value))
        if isinstance(value, int) and not isinstance(value, bool):
            found = self.by_code.get(value)
            if found is None and self.any_code and 0 <= value <= 0xFFFF:
                return cast(_T, value)
            return found
        return None

    def names(self) -> str:
        return ", ".join(self.name_of(v) for v in self.by_code.values())


_SUITES13 = _Registry.of(
    "TLS 1.3 cipher suite", CipherSuite, TLS13_SUITES, lambda s: s.name, lambda s: s.id
)
_SUITES12 = _Registry.of(
    "TLS 1.2 cipher suite",
    CipherSuite12,
    TLS12_SUITES,
    lambda s: s.name,
    lambda s: s.id,
    aliases={openssl_name(s): s for s in TLS12_SUITES},
)
_GROUPS = _Registry.of(
    "group",
    Group,
    GROUPS.values(),
    lambda g: g.name,
    lambda g: g.id,
    # RFC 8422 §5.1.1 / NIST and ANSI X9.62 names of the curves, as OpenSSL accepts them
    aliases={
        "P-256": SECP256R1,
        "prime256v1": SECP256R1,
        "P-384": SECP384R1,
        "P-521": SECP521R1,
        "curve25519": X25519,
        "curve448": X448,
    },
)
# Unknown code points may be advertised (RFC 8448's ClientHellos list DSA schemes); a peer that
# picks one is refused when we verify (crypto.signatures: illegal_parameter).
_SCHEMES = _Registry.of(
    "signature scheme",
    SignatureScheme,
    SignatureScheme,
    lambda s: s.name.lower(),
    int,
    any_code=True,
)
_PSK_MODES = _Registry.of(
    "PSK key exchange mode", PskKeyExchangeMode, PskKeyExchangeMode, lambda m: m.name.lower(), int
)


def _version_names() -> dict[str, ProtocolVersion]:
    """Spellings after _version's clean-up: "1.3", "tls1.3", "tls13" (from "TLSv1.3" too)."""
    v = ProtocolVersion
    names = {"ssl3": v.SSL3, "ssl3.0": v.SSL3, "tls1": v.TLS10}
    for version in (v.TLS10, v.TLS11, v.TLS12, v.TLS13):
        minor = version - v.TLS10
        names.update(dict.fromkeys((f"1.{minor}", f"tls1.{minor}", f"tls1{minor}"), version))
    return names


_VERSIONS = _version_names()


def version_name(version: int) -> str:
    """``TLS 1.3`` for 0x0304, ``SSL 3.0`` for 0x0300."""
    return "SSL 3.0" if version <= ProtocolVersion.SSL3 else f"TLS 1.{version - 0x0301}"


def _version(name: str, value: object) -> ProtocolVersion:
    """A ProtocolVersion from itself, its code point or "1.3" / "TLSv1.3" / "tls13"."""
    if isinstance(value, ProtocolVersion):
        return value
    found: object = None
    if isinstance(value, str):
        spelling = value.strip().lower().replace(" ", "").replace("_", ".").replace("v", "")
        found = _VERSIONS.get(spelling)
    elif isinstance(value, int) and not isinstance(value, bool):
        found = ProtocolVersion._value2member_map_.get(value)
    if not isinstance(found, ProtocolVersion):
        raise ConfigurationError(
            f"{name}: unknown TLS version {value!r}; use '1.2' or '1.3' (or 'TLSv1.2', "
            "'TLSv1.3', ProtocolVersion.TLS12, ProtocolVersion.TLS13)"
        )
    return found


def _sequence(name: str, value: object, what: str) -> tuple[object, ...]:
    """``value`` as a tuple; lists are fine, a bare string or an unordered set is not."""
    if type(value) is tuple:
        return value
    if isinstance(value, str | bytes | bytearray | memoryview) or not isinstance(value, Sequence):
        unordered = isinstance(value, set | frozenset)
        hint = " (a list or tuple in preference order; a set has no order)" if unordered else ""
        raise ConfigurationError(
            f"{name} must be a sequence of {what}, not {type(value).__name__}{hint}"
        )
    return tuple(value)


def _objects(name: str, value: object, kind: type[_T]) -> tuple[_T, ...]:
    """A tuple of ``kind`` instances (certificates, PSKs, ALPN protocol names)."""
    if value == ():
        return ()
    items = _sequence(name, value, kind.__name__)
    for index, item in enumerate(items):
        if not isinstance(item, kind):
            raise ConfigurationError(
                f"{name}[{index}] must be a {kind.__name__}, not {type(item).__name__} ({item!r})"
            )
    return cast(tuple[_T, ...], items)


_CHECKED: dict[tuple[int, int], tuple[Any, ...]] = {}
"""Tuples already resolved, by (registry, tuple) identity: a tuple and its typed items are
immutable, so the same object needs no second look (defaults, ``replace()``, shared constants
keep building a config cheap)."""


def _typed(
    name: str,
    value: object,
    registry: _Registry[_T],
    other: tuple[str, _Registry[Any]] | None = None,
) -> tuple[_T, ...]:
    """Resolve every item through ``registry``; ``other`` is the field a value from another
    registry belongs in (a TLS 1.2 suite in cipher_suites)."""
    if type(value) is tuple and _CHECKED.get((id(registry), id(value))) is value:
        return value
    items = _sequence(name, value, f"{registry.what}s")
    resolved: list[_T] = []
    for item in items:
        found = registry.lookup(item)
        if found is None:
            raise _unknown(name, item, registry, other)
        resolved.append(found)
    seen: set[int] = set()
    for item in resolved:
        code = registry.code_of(item)
        if code in seen:
            raise ConfigurationError(f"{name}: {registry.name_of(item)} is listed twice")
        seen.add(code)
    same = all(a is b for a, b in zip(resolved, items, strict=True))
    result = cast(tuple[_T, ...], items) if same else tuple(resolved)  # keep a typed tuple
    if len(_CHECKED) >= 256:
        _CHECKED.clear()
    _CHECKED[id(registry), id(result)] = result
    return result


def _unknown(
    name: str, value: object, registry: _Registry[Any], other: tuple[str, _Registry[Any]] | None
) -> ConfigurationError:
    if other is not None and (found := other[1].lookup(value)) is not None:
        return ConfigurationError(
            f"{name}: {other[1].name_of(found)} is a {other[1].what}, not a {registry.what}; "
            f"list it in {other[0]}"
        )
    known = f"known {registry.what}s: {registry.names()}"
    if isinstance(value, str):
        return ConfigurationError(
            f"{name}: unknown {registry.what} {value!r}{_did_you_mean(value, registry, other)}; "
            + known
        )
    if isinstance(value, int) and not isinstance(value, bool):
        return ConfigurationError(f"{name}: unknown {registry.what} 0x{value:04x}; {known}")
    return ConfigurationError(
        f"{name}: {value!r} is not a {registry.what}; give a {registry.kind.__name__} or its "
        f"name (str), not {type(value).__name__}"
    )


def _did_you_mean(
    value: str, registry: _Registry[Any], other: tuple[str, _Registry[Any]] | None
) -> str:
    candidates: dict[str, tuple[_Registry[Any], str | None]] = {}
    if other is not None:
        candidates.update(dict.fromkeys(other[1].by_name, (other[1], other[0])))
    candidates.update(dict.fromkeys(registry.by_name, (registry, None)))
    close = difflib.get_close_matches(_key(value), candidates, n=1, cutoff=0.6)
    if not close:
        return ""
    where, field_name = candidates[close[0]]
    suggestion = where.name_of(where.by_name[close[0]])
    return f" (did you mean {suggestion!r}{f' in {field_name}' if field_name else ''}?)"


def _path(name: str, value: object) -> str | None:
    """A trust anchor path as str (``os.PathLike`` is accepted); the file is read later."""
    if value is None or isinstance(value, str):
        return value
    path = os.fspath(value) if isinstance(value, os.PathLike) else None
    if not isinstance(path, str):
        raise ConfigurationError(
            f"{name} must be a path (str or os.PathLike[str]), not {type(value).__name__}"
        )
    return path


def _normalise_common(config: ClientConfig | ServerConfig) -> None:
    """Typed tuples and versions for the fields both roles share (frozen: object.__setattr__)."""
    for name, convert in _COMMON_FIELDS:
        value = getattr(config, name)
        typed = convert(name, value)
        if typed is not value:
            object.__setattr__(config, name, typed)


_COMMON_FIELDS: tuple[tuple[str, Callable[[str, Any], object]], ...] = (
    ("cipher_suites", lambda n, v: _typed(n, v, _SUITES13, ("tls12_cipher_suites", _SUITES12))),
    ("tls12_cipher_suites", lambda n, v: _typed(n, v, _SUITES12, ("cipher_suites", _SUITES13))),
    ("groups", lambda n, v: _typed(n, v, _GROUPS)),
    ("signature_schemes", lambda n, v: _typed(n, v, _SCHEMES)),
    ("psk_modes", lambda n, v: _typed(n, v, _PSK_MODES)),
    ("alpn_protocols", lambda n, v: _objects(n, v, str)),
    ("certificates", lambda n, v: _objects(n, v, CertifiedKey)),
    ("external_psks", lambda n, v: _objects(n, v, ExternalPsk)),
    ("min_version", _version),
    ("max_version", _version),
)


# --- combinations that cannot work ---------------------------------------------------------

_TLS12_OFF = "; or set min_version='1.3' to turn TLS 1.2 off"


def _check_common(config: ClientConfig | ServerConfig) -> tuple[bool, bool]:
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


def _tls12_group_problem(config: ClientConfig | ServerConfig, *, server: bool) -> str | None:
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


def _server_tls13_problem(config: ServerConfig) -> str | None:
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


def _server_tls12_problem(config: ServerConfig) -> str | None:
    """A TLS 1.2 suite needs a group, a certificate whose key fits its authentication
    (RFC 8422 §5.3: ECDSA suites take ECDSA and EdDSA keys; RFC 5246 §7.4.2), and a scheme in
    signature_schemes that key can sign the ServerKeyExchange with (RFC 5246 §7.4.1.4.1)."""
    if not config.certificates:
        return "certificates: TLS 1.2 needs one (external_psks are used in TLS 1.3 only)"
    problem = _tls12_group_problem(config, server=True)
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


def _check_versions_work(problems: dict[int, str | None], tls13: bool, tls12: bool) -> None:
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


@dataclass(frozen=True, kw_only=True)
class ClientConfig:
    """Everything a client needs; share one instance across connections.

    Suites, groups, schemes, PSK modes and versions may be given by name (module docstring).
    """

    cafile: str | None = None
    """PEM file of trust anchors; the system trust store when none of cafile, cadata and
    capath is set."""
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
    """Groups to send key shares for in the first ClientHello (default: the first group)."""
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
    key_share_factory: Callable[[Group], PrivateKeyShare] = _generate_share
    signer: Callable[[int, object, bytes], bytes] | None = field(default=None, repr=False)
    """Override the client CertificateVerify signing ``(scheme, private_key, content) ->
    signature``, e.g. for a hardware key. Default: :func:`tlsmachine.crypto.signatures.sign`."""

    def __post_init__(self) -> None:
        _normalise_common(self)
        if self.key_share_groups is not None:
            typed = _typed("key_share_groups", self.key_share_groups, _GROUPS)
            object.__setattr__(self, "key_share_groups", typed)
        object.__setattr__(self, "cafile", _path("cafile", self.cafile))
        object.__setattr__(self, "capath", _path("capath", self.capath))
        tls13, tls12 = _check_common(self)
        shares, offered = self.key_share_groups or (), {g.id for g in self.groups}
        if not {g.id for g in shares} <= offered:
            extra = ", ".join(g.name for g in shares if g.id not in offered)
            raise ConfigurationError(
                f"key_share_groups: {extra} not in groups; a key share must be for a group "
                "offered in supported_groups (RFC 8446 §4.2.8)"
            )
        cv_schemes = set(self.signature_schemes) & set(TLS13_CERTIFICATE_VERIFY_SCHEMES)
        problems: dict[int, str | None] = {}
        if tls13 and not self.external_psks and not cv_schemes:
            problems[ProtocolVersion.TLS13] = (
                "signature_schemes: none is allowed in a TLS 1.3 CertificateVerify (the "
                "rsa_pkcs1_* schemes only sign certificates, RFC 8446 §4.2.3); add e.g. "
                "ecdsa_secp256r1_sha256 and rsa_pss_rsae_sha256"
            )
        if tls12:
            problems[ProtocolVersion.TLS12] = _tls12_group_problem(self, server=False)
        _check_versions_work(problems, tls13, tls12)
        if self.record_size_limit is not None and not 64 <= self.record_size_limit <= 16385:
            raise ConfigurationError("record_size_limit must be 64..16385 (RFC 8449 §4)")
        if self.early_data and not tls13:
            raise ConfigurationError(
                "early_data: 0-RTT exists only in TLS 1.3 (RFC 8446 §4.2.10), but max_version "
                f"is {version_name(self.max_version)}"
            )

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
        return self.key_share_groups if self.key_share_groups is not None else self.groups[:1]


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
    key_share_factory: Callable[[Group], PrivateKeyShare] = _generate_share
    signer: Callable[[int, object, bytes], bytes] | None = field(default=None, repr=False)
    """Override CertificateVerify signing ``(scheme, private_key, content) -> signature``,
    e.g. for a hardware key. Default: :func:`tlsmachine.crypto.signatures.sign`."""

    def __post_init__(self) -> None:
        _normalise_common(self)
        object.__setattr__(self, "client_cafile", _path("client_cafile", self.client_cafile))
        object.__setattr__(self, "client_capath", _path("client_capath", self.client_capath))
        tls13, tls12 = _check_common(self)
        if not self.certificates and not self.external_psks:
            raise ConfigurationError(
                "certificates: a server needs a certificate chain (or external_psks)"
            )
        problems: dict[int, str | None] = {
            ProtocolVersion.TLS13: _server_tls13_problem(self) if tls13 else None,
            ProtocolVersion.TLS12: _server_tls12_problem(self) if tls12 else None,
        }
        _check_versions_work(problems, tls13, tls12)
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
