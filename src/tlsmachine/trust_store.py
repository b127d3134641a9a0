"""Trust anchors: the certificates a peer's chain is validated to (RFC 8446 §4.4.2.4).

They come from a PEM file, a certificate directory (``capath``, ``c_rehash``'d or not), PEM/DER
data or the system store, found the way Python's :mod:`ssl` finds it (with ``certifi`` as a
fallback); :class:`tlsmachine.verify.DefaultVerifier` validates against them. A
:class:`TrustStore` remembers where they came from, for the messages of rejected chains. Also
the PEM reading that :meth:`tlsmachine.certs.CertifiedKey.load` shares. Import these names from
:mod:`tlsmachine.certs`, which re-exports them.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import re
import ssl
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.utils import CryptographyDeprecationWarning

from .errors import ConfigurationError

__all__ = [
    "UNREADABLE_CERTIFICATE",
    "PathLike",
    "TrustStore",
    "load_capath",
    "load_trust_anchors",
    "load_trust_store",
    "pem_certificates",
    "read_file",
    "system_trust_anchors",
    "system_trust_store",
    "unique_certificates",
]

PathLike: TypeAlias = str | os.PathLike[str]

UNREADABLE_CERTIFICATE: tuple[type[Exception], ...] = (ValueError, x509.InvalidVersion)
"""What pyca raises for bytes that are no certificate: ``ValueError``, and ``InvalidVersion``
(not a ValueError) for a version field other than v1..v3. Catch both wherever certificates
are read."""


# --- reading certificate files (shared with CertifiedKey.load) -------------------------------


def read_file(path: PathLike, what: str) -> bytes:
    """The bytes of ``path``; :class:`ConfigurationError` naming ``what`` if unreadable."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read {what} {os.fspath(path)}: {exc.strerror or exc}"
        ) from None


def pem_certificates(data: bytes, where: str) -> list[x509.Certificate]:
    """Every PEM certificate in ``data``; :class:`ConfigurationError` naming ``where`` if none."""
    try:
        return x509.load_pem_x509_certificates(data)
    except UNREADABLE_CERTIFICATE as exc:
        raise ConfigurationError(f"{where}: no readable PEM certificate ({exc})") from None


def unique_certificates(certs: Iterable[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    """``certs`` without duplicates (same DER), in first-seen order."""
    by_der = {c.public_bytes(serialization.Encoding.DER): c for c in certs}
    return tuple(by_der.values())


# --- trust anchors (RFC 8446 §4.4.2.4: the client validates the chain to these) -------------


@dataclass(frozen=True)
class TrustStore:
    """Trust anchors and where they were read, so an unknown_ca message can name both."""

    certificates: tuple[x509.Certificate, ...]
    sources: tuple[tuple[str, int], ...] = ()
    """``(where, number of certificates read there)``, e.g. ``("cafile /etc/ca.pem", 1)``."""

    def describe(self) -> str:
        """``"3 certificates from cafile /a.pem (1) and capath /etc/ca (2)"``."""
        count = len(self.certificates)
        several = len(self.sources) > 1
        where = " and ".join(f"{w} ({n})" if several else w for w, n in self.sources)
        return f"{count} certificate{'s' * (count != 1)} from {where or 'nowhere'}"

    def origin(self) -> str:
        """Where the anchors came from, without counts: ``"cafile /a.pem and cadata"``."""
        return " and ".join(w for w, _ in self.sources) or "nowhere"


def load_trust_store(
    cafile: PathLike | None = None,
    cadata: bytes | str | None = None,
    capath: PathLike | None = None,
) -> TrustStore:
    """Trust anchors from a PEM ``cafile``, a ``capath`` directory and/or ``cadata``.

    ``cadata`` is PEM text or one DER certificate. Raises :class:`ConfigurationError` for an
    unreadable file or directory, or one without any certificate.
    """
    anchors: list[x509.Certificate] = []
    sources: list[tuple[str, int]] = []
    if cafile is not None:
        where = f"cafile {os.fspath(cafile)}"
        found = pem_certificates(read_file(cafile, "cafile"), where)
        anchors += found
        sources.append((where, len(found)))
    if capath is not None:
        found = load_capath(capath)
        anchors += found
        sources.append((f"capath {os.fspath(capath)}", len(found)))
    if cadata is not None:
        found = _cadata_certificates(cadata)
        anchors += found
        sources.append(("cadata", len(found)))
    return TrustStore(unique_certificates(anchors), tuple(sources))


def load_trust_anchors(
    cafile: PathLike | None = None,
    cadata: bytes | str | None = None,
    capath: PathLike | None = None,
) -> tuple[x509.Certificate, ...]:
    """The certificates of :func:`load_trust_store` (duplicates dropped, order kept)."""
    return load_trust_store(cafile, cadata, capath).certificates


def _cadata_certificates(cadata: bytes | str) -> list[x509.Certificate]:
    data = cadata.encode("ascii", "replace") if isinstance(cadata, str) else bytes(cadata)
    if b"-----BEGIN" in data:
        return pem_certificates(data, "cadata")
    try:
        return [x509.load_der_x509_certificate(data)]
    except UNREADABLE_CERTIFICATE as exc:
        raise ConfigurationError(f"cadata is neither PEM nor DER ({exc})") from None


# File names read from a certificate directory: OpenSSL's c_rehash / `openssl rehash` links
# (<subject hash>.<n>, RFC-less but universal) and the usual certificate extensions.
_CERT_FILE_NAME = re.compile(r"(\.(pem|crt|cer|cert|der)|^[0-9a-f]{8}\.[0-9]+)\Z", re.IGNORECASE)
_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


def load_capath(directory: PathLike) -> list[x509.Certificate]:
    """Every certificate in ``directory``: PEM or DER files named ``*.pem``, ``*.crt``,
    ``*.cer``, ``*.cert``, ``*.der`` or ``<hash>.<n>`` (as ``c_rehash`` names them).

    Unlike OpenSSL, which looks up ``<hash>.<n>`` lazily by issuer name, everything is read
    up front: pyca's :class:`~cryptography.x509.verification.Store` takes a list. Files that
    hold no certificate are skipped; a directory without any is a :class:`ConfigurationError`
    that lists what it skipped.
    """
    where = os.fspath(directory)
    try:
        certs, skipped = _directory_certificates(where)
    except OSError as exc:
        raise ConfigurationError(f"cannot read capath {where}: {exc.strerror or exc}") from None
    if not certs:
        shown = ", ".join(skipped[:5]) + (", ..." if len(skipped) > 5 else "")
        raise ConfigurationError(
            f"capath {where}: no certificate found (read PEM or DER files named *.pem, *.crt, "
            f"*.cer, *.der or <hash>.0 as made by `openssl rehash`"
            + (f"; skipped: {shown})" if skipped else "; the directory is empty)")
        )
    return certs


def _directory_certificates(directory: str) -> tuple[list[x509.Certificate], list[str]]:
    """The certificates of a directory and the names of the files that held none."""
    certs: list[x509.Certificate] = []
    skipped: list[str] = []
    seen: set[str] = set()  # c_rehash links point at the *.pem files: read each file once
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        real = os.path.realpath(path)
        if real in seen or not os.path.isfile(real):
            continue
        seen.add(real)
        found = _file_certificates(real) if _CERT_FILE_NAME.search(name) else []
        certs += found
        if not found:
            skipped.append(name)
    return certs, skipped


def _file_certificates(path: str) -> list[x509.Certificate]:
    """All certificates of a PEM bundle or one DER certificate; unparsable ones are skipped
    (a system bundle may hold a certificate pyca rejects), an unreadable file gives none."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return []
    certs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)  # e.g. negative serials
        if b"-----BEGIN" not in data:
            with contextlib.suppress(*UNREADABLE_CERTIFICATE):
                certs.append(x509.load_der_x509_certificate(data))
            return certs
        for block in _PEM_BLOCK.findall(data):
            with contextlib.suppress(*UNREADABLE_CERTIFICATE):
                certs.append(x509.load_pem_x509_certificate(block))
    return certs


# --- the system trust store, found the way OpenSSL and Python's ssl find it ------------------

_FALLBACK_FILES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/ssl/cert.pem",  # macOS, BSDs
)
_FALLBACK_DIRS = ("/etc/ssl/certs",)
_FIX = (
    "pass cafile=, capath= or cadata= (ClientConfig(cafile=...)), set SSL_CERT_FILE to a PEM "
    "bundle or SSL_CERT_DIR to a certificate directory, install the system CA certificates "
    "(e.g. `apt-get install ca-certificates`) or `pip install certifi`"
)


@dataclass(frozen=True)
class _Source:
    """One place the system store may be: ``label`` is how messages name it."""

    label: str
    path: str
    is_dir: bool
    system: bool = True
    """False for certifi's bundle: not "the system trust store" in messages."""

    def exists(self) -> bool:
        return os.path.isdir(self.path) if self.is_dir else os.path.isfile(self.path)


def system_trust_store() -> TrustStore:
    """The system's trusted CA certificates and where they were found; cached per location.

    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` (``os.pathsep``-separated), when set, are used alone:
    an explicit setting is never silently widened (OpenSSL would add its defaults). Otherwise
    the first bundle with certificates among ``ssl.get_default_verify_paths()`` (``cafile``,
    ``openssl_cafile``) and the well-known distribution bundles, else the first certificate
    directory (``capath``, ``openssl_capath``, ``/etc/ssl/certs``), else the ``certifi``
    bundle if that package is installed. The directory is read only without a bundle: on
    Debian and Fedora both come from the same sources, and parsing ~300 files costs 25 times
    the bundle. Raises :class:`ConfigurationError` naming every place it looked otherwise.
    """
    env = _env_sources()
    if env:
        present = tuple(s for s in env if s.exists())
        store = _load_system(present) if present else None
        if store is not None:
            return store
        looked = ", ".join(f"{s.label} ({_status(s)})" for s in env)
        raise ConfigurationError(
            f"no trusted CA certificates found in the system trust store: {looked}; these "
            f"environment variables replace the default locations, so nothing else was "
            f"searched. Fix: {_FIX}, or unset them"
        )
    looked_at: list[str] = []
    for source in _default_sources():
        if source.exists():
            store = _load_system((source,))
            if store is not None:
                return store
        looked_at.append(f"{source.label} ({_status(source)})")
    certifi, why_not = _certifi_source()
    if certifi is not None:
        store = _load_system((certifi,)) if certifi.exists() else None
        if store is not None:
            return store
        why_not = _status(certifi)
    looked_at.append(f"certifi ({why_not})")
    raise ConfigurationError(
        "no trusted CA certificates found in the system trust store (looked in "
        f"{', '.join(looked_at)}). Fix: {_FIX}"
    )


def system_trust_anchors() -> tuple[x509.Certificate, ...]:
    """The certificates of :func:`system_trust_store` (the same tuple on every call)."""
    return system_trust_store().certificates


def _env_sources() -> tuple[_Source, ...]:
    env_file, env_dir = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    sources = [_Source(f"SSL_CERT_FILE={env_file}", env_file, False)] if env_file else []
    dirs = [d for d in (env_dir or "").split(os.pathsep) if d]
    sources += [_Source(f"SSL_CERT_DIR={d}", d, True) for d in dirs]
    return tuple(sources)


def _default_sources() -> list[_Source]:
    defaults = ssl.get_default_verify_paths()
    files = (defaults.cafile, defaults.openssl_cafile, *_FALLBACK_FILES)
    dirs = (defaults.capath, defaults.openssl_capath, *_FALLBACK_DIRS)
    sources = [_Source(f, f, False) for f in dict.fromkeys(files) if f]
    return sources + [_Source(d, d, True) for d in dict.fromkeys(dirs) if d]


def _certifi_source() -> tuple[_Source | None, str]:
    """certifi's bundle (Mozilla's roots, as pip and requests use), if certifi is installed."""
    try:
        certifi = importlib.import_module("certifi")
        where = certifi.where()
    except ImportError:
        return None, "not installed"
    except Exception as exc:  # a broken optional package is only a missing source
        return None, f"unusable: {exc}"
    if not isinstance(where, str):
        return None, f"unusable: certifi.where() returned {where!r}"
    return _Source(f"certifi ({where})", where, is_dir=False, system=False), ""


def _status(source: _Source) -> str:
    if source.exists():
        return "no certificates in it"
    if not os.path.exists(source.path):
        return "missing"
    return "not a directory" if source.is_dir else "not a file"


@functools.lru_cache(maxsize=8)
def _load_system(sources: tuple[_Source, ...]) -> TrustStore | None:
    anchors: list[x509.Certificate] = []
    for source in sources:
        if source.is_dir:
            with contextlib.suppress(OSError):
                anchors += _directory_certificates(source.path)[0]
        else:
            anchors += _file_certificates(source.path)
    if not anchors:
        return None
    if sources[0].system:
        where = f"the system trust store ({', '.join(s.label for s in sources)})"
    else:
        where = sources[0].label
    certificates = unique_certificates(anchors)
    return TrustStore(certificates, ((where, len(certificates)),))
