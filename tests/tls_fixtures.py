"""Shared test helpers: self-signed test certificates (made once) and a settable clock."""

from __future__ import annotations

import functools

from tlsmachine.certs import CertifiedKey


def server_cert(key_type: str = "ecdsa-p256") -> CertifiedKey:
    """A self-signed certificate for "localhost" with a key of ``key_type``, made once per
    type and shared by every test module (RSA key generation is slow)."""
    return _localhost_cert(key_type)


@functools.cache
def _localhost_cert(key_type: str) -> CertifiedKey:
    return CertifiedKey.self_signed(("localhost",), key_type=key_type)


@functools.cache
def client_cert(key_type: str = "ecdsa-p256") -> CertifiedKey:
    """A client certificate for "client.example"."""
    return CertifiedKey.self_signed(("client.example",), key_type=key_type)


class Clock:
    """A clock for configs (``clock=``) that tests move forward by hand."""

    def __init__(self, now: float = 1_900_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


KEYLOG_LABELS = frozenset(
    {
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
        "EXPORTER_SECRET",
    }
)
"""The NSS key log labels of a full TLS 1.3 handshake (without 0-RTT)."""
