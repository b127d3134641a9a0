"""Config field values: names turned into typed objects, and the hooks both roles share.

:class:`~tlsmachine.config.ClientConfig` and :class:`~tlsmachine.config.ServerConfig` call these
from ``__post_init__``: suites, groups, signature schemes, PSK modes and versions may be given
as objects, code points or names (IANA, OpenSSL's suite names, ``"P-256"``, ``"1.3"``), lists
where tuples are declared. Every problem is a :class:`ConfigurationError` naming the field.
Also here: ``KeyLogCallback``, ``SUPPORTED_VERSIONS`` and ``generate_share`` (the default
``key_share_factory``), which both configs use. Combinations of values that cannot work are
refused by :mod:`tlsmachine.config_checks`.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from .certs import CertifiedKey
from .crypto.groups import (
    GROUPS,
    SECP256R1,
    SECP384R1,
    SECP521R1,
    X448,
    X25519,
    Group,
    PrivateKeyShare,
)
from .crypto.suites import (
    TLS12_SUITES,
    TLS13_SUITES,
    CipherSuite,
    CipherSuite12,
)
from .enums import ProtocolVersion, PskKeyExchangeMode, SignatureScheme
from .errors import ConfigurationError
from .session import (
    ExternalPsk,
)

if TYPE_CHECKING:
    from .config_client import ClientConfig
    from .config_server import ServerConfig

_T = TypeVar("_T")


# --- shared by both roles: hook types and defaults ----------------------------------------

KeyLogCallback = Callable[[str], None]
"""Receives one NSS key log line (``LABEL client_random secret``) per secret, no newline."""

SUPPORTED_VERSIONS = (ProtocolVersion.TLS13, ProtocolVersion.TLS12)


def generate_share(group: Group) -> PrivateKeyShare:
    """The default ``key_share_factory``: a fresh share from pyca's randomness."""
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
GROUP_NAMES = _Registry.of(
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


def typed(
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


def path_value(name: str, value: object) -> str | None:
    """A trust anchor path as str (``os.PathLike`` is accepted); the file is read later."""
    if value is None or isinstance(value, str):
        return value
    path = os.fspath(value) if isinstance(value, os.PathLike) else None
    if not isinstance(path, str):
        raise ConfigurationError(
            f"{name} must be a path (str or os.PathLike[str]), not {type(value).__name__}"
        )
    return path


def normalise_common(config: ClientConfig | ServerConfig) -> None:
    """Typed tuples and versions for the fields both roles share (frozen: object.__setattr__)."""
    for name, convert in _COMMON_FIELDS:
        value = getattr(config, name)
        typed = convert(name, value)
        if typed is not value:
            object.__setattr__(config, name, typed)


_COMMON_FIELDS: tuple[tuple[str, Callable[[str, Any], object]], ...] = (
    ("cipher_suites", lambda n, v: typed(n, v, _SUITES13, ("tls12_cipher_suites", _SUITES12))),
    ("tls12_cipher_suites", lambda n, v: typed(n, v, _SUITES12, ("cipher_suites", _SUITES13))),
    ("groups", lambda n, v: typed(n, v, GROUP_NAMES)),
    ("signature_schemes", lambda n, v: typed(n, v, _SCHEMES)),
    ("psk_modes", lambda n, v: typed(n, v, _PSK_MODES)),
    ("alpn_protocols", lambda n, v: _objects(n, v, str)),
    ("certificates", lambda n, v: _objects(n, v, CertifiedKey)),
    ("external_psks", lambda n, v: _objects(n, v, ExternalPsk)),
    ("min_version", _version),
    ("max_version", _version),
)
