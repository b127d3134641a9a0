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

The two configs live in :mod:`tlsmachine.config_client` and :mod:`tlsmachine.config_server`,
the name resolution and the hooks both share in :mod:`tlsmachine.config_values`, the checks of
value combinations in :mod:`tlsmachine.config_checks`; import them all from here.
"""

from __future__ import annotations

from .config_client import ClientConfig
from .config_server import ServerConfig, ServerNameCallback
from .config_values import (
    SUPPORTED_VERSIONS,
    KeyLogCallback,
    openssl_name,
    version_name,
)
from .config_values import (
    generate_share as generate_share,  # the default key_share_factory (client_hello)
)

__all__ = [
    "SUPPORTED_VERSIONS",
    "ClientConfig",
    "KeyLogCallback",
    "ServerConfig",
    "ServerNameCallback",
    "openssl_name",
    "version_name",
]
