"""The case matrix the interop tests share: TLS 1.3 suites x groups x server certificates, and
the TLS 1.2 ECDHE suites with a certificate and curve each."""

from __future__ import annotations

from collections.abc import Sequence

TLS13_SUITES = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]
LEAVES = ["ecdsa-p256", "rsa-2048", "ed25519", "ecdsa-p384"]
"""The test-PKI leaves (tests/pki.py) the server certificates rotate through."""
TLS13_SCHEMES = {
    "ecdsa-p256": "ecdsa_secp256r1_sha256",
    "ecdsa-p384": "ecdsa_secp384r1_sha384",
    "ed25519": "ed25519",
}
"""TLS 1.3 binds ECDSA to its curve (RFC 8446 §4.2.3); RSA keys sign with rsa_pss_rsae_*."""

ECDHE_CASES12 = [
    ("ecdsa-p256", "x25519", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    ("ecdsa-p384", "secp384r1", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    ("ed25519", "secp256r1", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    ("rsa-2048", "secp256r1", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    ("rsa-2048", "secp521r1", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    ("rsa-2048", "x25519", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
]
"""TLS 1.2: ECDHE-ECDSA (ECDSA and Ed25519 certificates, RFC 8422 §5.1) and ECDHE-RSA, each
AEAD once: (leaf, curve, suite)."""


def rotated_cases13(
    groups: Sequence[str], suites: Sequence[str] = TLS13_SUITES
) -> list[tuple[str, str, str]]:
    """Every suite with every group, the certificates taking turns: (leaf, group, suite)."""
    return [
        (LEAVES[(i + j) % len(LEAVES)], group, suite)
        for i, suite in enumerate(suites)
        for j, group in enumerate(groups)
    ]


def case_id(case: tuple[str, ...]) -> str:
    """A readable pytest id for a (leaf, group, suite) case."""
    return "-".join(case)
