"""OpenSSL cipher strings (``ciphers(1)``) read into our suites, and our suites described in
the dict shape of :meth:`ssl.SSLContext.get_ciphers`: the name-level translation that
:meth:`Context.set_ciphers <tlsmachine.context.Context.set_ciphers>` and
:meth:`~tlsmachine.context.Context.get_ciphers` need, kept apart from the Context so the
parser can be read (and tested) on its own.
"""

from __future__ import annotations

from collections.abc import Callable

from .config_values import openssl_name
from .crypto.suites import TLS12_SUITES, TLS13_SUITES, CipherSuite, CipherSuite12
from .errors import ConfigurationError

__all__ = ["cipher_description", "parse_cipher_string"]


_SUITE_NAMES: dict[str, CipherSuite | CipherSuite12] = {
    **{s.name: s for s in TLS13_SUITES},
    **{s.name: s for s in TLS12_SUITES},
    **{openssl_name(s): s for s in TLS12_SUITES},
}


def _keyword(word: str) -> Callable[[CipherSuite12], bool] | None:
    """OpenSSL cipher-string keywords (``ciphers(1)``) that can select our TLS 1.2 suites;
    None for a keyword that selects nothing here (RC4, aNULL, kRSA, CBC-only ones, ...)."""
    kx = {"ECDHE": "ECDHE", "EECDH": "ECDHE", "KECDHE": "ECDHE", "KEECDH": "ECDHE"}
    kx |= {"ECDH": "ECDHE", "DHE": "DHE", "EDH": "DHE", "KDHE": "DHE", "KEDH": "DHE"}
    auth = {"ARSA": "RSA", "ECDSA": "ECDSA", "AECDSA": "ECDSA"}
    aead = {
        "AESGCM": ("AES_", "_GCM"),
        "AES": ("AES_", ""),
        "AES128": ("AES_128", ""),
        "AES256": ("AES_256", ""),
        "CHACHA20": ("CHACHA20", ""),
        "SHA256": ("_SHA256", ""),
        "SHA384": ("_SHA384", ""),
    }
    key = word.upper()
    if key in ("ALL", "DEFAULT", "HIGH", "AEAD", "TLSV1.2"):
        return lambda s: True
    if key in kx:
        return lambda s: s.key_exchange == kx[key]
    if key in auth:
        return lambda s: s.authentication == auth[key]
    if key in aead:
        first, second = aead[key]
        return lambda s: first in s.name and second in s.name
    return None


def _select(token: str) -> list[CipherSuite | CipherSuite12]:
    """The suites one cipher-string token names: a suite name or ``KEYWORD+KEYWORD``."""
    named = _SUITE_NAMES.get(token) or _SUITE_NAMES.get(token.upper())
    if named is not None:
        return [named]
    tests = [_keyword(word) for word in token.split("+")]
    if not tests or None in tests:
        return []
    return [s for s in TLS12_SUITES if all(t(s) for t in tests if t is not None)]


def parse_cipher_string(spec: str) -> tuple[tuple[CipherSuite, ...], tuple[CipherSuite12, ...]]:
    """An OpenSSL cipher string -> (TLS 1.3 suites named in it, TLS 1.2 suites it selects).

    ``!X`` removes X for good, ``-X`` removes it for now, ``+X``/``@STRENGTH``/``@SECLEVEL=n``
    are accepted and ignored (order is ours); keywords that can only select suites we never
    implement (static RSA, CBC, RC4, NULL ...) select nothing.
    """
    chosen: list[CipherSuite | CipherSuite12] = []
    banned: set[int] = set()
    for token in spec.replace(",", ":").replace(" ", ":").split(":"):
        if not token or token.startswith(("@", "+")):
            continue
        if token[0] in "!-":
            removed = {s.id for s in _select(token[1:])}
            if token[0] == "!":
                banned |= removed
            chosen = [s for s in chosen if s.id not in removed]
            continue
        chosen += [s for s in _select(token) if s.id not in banned and s not in chosen]
    tls13 = tuple(s for s in chosen if isinstance(s, CipherSuite))
    tls12 = tuple(s for s in chosen if isinstance(s, CipherSuite12))
    if not tls13 and not tls12:
        raise ConfigurationError(f"set_ciphers: no cipher can be selected by {spec!r}")
    return tls13, tls12


def cipher_description(suite: CipherSuite | CipherSuite12) -> dict[str, object]:
    """One entry of :meth:`Context.get_ciphers`, in ssl's shape."""
    tls13 = isinstance(suite, CipherSuite)
    name = suite.name if isinstance(suite, CipherSuite) else openssl_name(suite)
    bits = 128 if "AES_128" in suite.name else 256
    symmetric = "chacha20-poly1305" if "CHACHA20" in suite.name else f"aes-{bits}-gcm"
    if "_CCM" in suite.name:
        symmetric = "aes-128-ccm"
    kx = "any" if isinstance(suite, CipherSuite) else suite.key_exchange.lower()
    auth = "any" if isinstance(suite, CipherSuite) else suite.authentication.lower()
    return {
        "id": 0x03000000 | suite.id,
        "name": name,
        "protocol": "TLSv1.3" if tls13 else "TLSv1.2",
        "description": f"{name} {'TLSv1.3' if tls13 else 'TLSv1.2'} Kx={kx} Au={auth}",
        "strength_bits": bits,
        "alg_bits": bits,
        "aead": True,
        "symmetric": symmetric,
        "digest": None,
        "kea": f"kx-{kx}",
        "auth": f"auth-{auth}",
    }
