"""The trust pieces behind a :class:`~tlsmachine.context.Context`: the verifier used when no
trust anchors are loaded (it refuses every chain, as ssl does), the wrapper that
``check_hostname = False`` puts around a verifier, and the reading of ssl's ``cadata`` bytes
(DER certificates back to back). Kept apart from the Context, which only chooses among them.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509

from .errors import ConfigurationError, UnknownCA
from .trust_store import load_trust_anchors
from .verify import CertificateVerifier, Chain

__all__ = ["AnyName", "NoTrustAnchors", "der_certificates", "is_ca"]


class NoTrustAnchors:
    """What a Context without trust anchors verifies against: nothing (ssl fails the same way)."""

    def verify_server(self, chain: Chain, server_name: str | None, now: dt.datetime) -> None:
        raise UnknownCA(
            "no trust anchors loaded: call load_verify_locations() or load_default_certs(), "
            "or use create_default_context()"
        )

    def verify_client(self, chain: Chain, now: dt.datetime) -> None:
        raise UnknownCA("no trust anchors loaded for client certificates")


class AnyName:
    """``check_hostname = False``: the chain is verified, the name in it is not."""

    def __init__(self, inner: CertificateVerifier) -> None:
        self.inner = inner

    def verify_server(
        self, chain: Chain, server_name: str | None, now: dt.datetime
    ) -> Chain | None:
        return self.inner.verify_server(chain, None, now)  # the path, for get_verified_chain()

    def verify_client(self, chain: Chain, now: dt.datetime) -> Chain | None:
        return self.inner.verify_client(chain, now)


def der_certificates(data: bytes) -> list[x509.Certificate]:
    """ssl's ``cadata`` bytes: one or more DER certificates back to back."""
    certs: list[x509.Certificate] = []
    view = memoryview(data)
    while view:
        size = _der_size(view)
        certs += load_trust_anchors(cadata=bytes(view[:size]))
        view = view[size:]
    return certs


def _der_size(der: memoryview) -> int:
    """The length of the DER SEQUENCE at the start of ``der`` (X.690 §8.1.3)."""
    if len(der) < 2 or der[0] != 0x30:
        raise ConfigurationError("cadata: not a DER certificate (pass PEM as str)")
    first = der[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if not 1 <= count <= 4 or len(der) < 2 + count:
        raise ConfigurationError("cadata: bad DER length")
    return 2 + count + int.from_bytes(der[2 : 2 + count], "big")


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False
