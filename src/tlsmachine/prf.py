"""The TLS 1.2 PRF and the secrets derived from it (RFC 5246 §5, §6.3, §7.4.9, §8.1).

::

    PRF(secret, label, seed) = P_<hash>(secret, label + seed)                      (§5)
    P_hash(secret, seed) = HMAC(secret, A(1) + seed) + HMAC(secret, A(2) + seed) + ...
    A(0) = seed, A(i) = HMAC(secret, A(i-1))

    master_secret = PRF(pre_master_secret, "master secret",
                        ClientHello.random + ServerHello.random)[0..47]         (§8.1)
                  = PRF(pre_master_secret, "extended master secret",
                        session_hash)[0..47]                                   (RFC 7627 §4)
    key_block     = PRF(master_secret, "key expansion",
                        server_random + client_random)                         (§6.3)
    verify_data   = PRF(master_secret, finished_label,
                        Hash(handshake_messages))[0..11]                       (§7.4.9)
    exporter      = PRF(master_secret, label, client_random + server_random
                        [+ uint16 context length + context])                   (RFC 5705 §4)

The hash is the suite's PRF hash (SHA-256 for every suite with "SHA256" in its name, SHA-384 for
"SHA384", RFC 5246 §5 and RFC 5288 §3). HMAC comes from pyca/cryptography; only the P_hash
chaining is ours.

Hot path (every handshake runs four to five PRFs): keying an HMAC costs about as much as two
short HMAC computations, so :func:`prf` keys it once and every A(i) and output block starts from
a ``copy()``; the output blocks are joined once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as pyca_hmac

from .crypto.suites import CipherSuite12
from .errors import UsageError
from .fast_init import fast_init

__all__ = [
    "CLIENT_FINISHED",
    "MASTER_SECRET_LEN",
    "SERVER_FINISHED",
    "VERIFY_DATA_LEN",
    "KeyBlock",
    "export_keying_material12",
    "extended_master_secret",
    "key_block",
    "master_secret",
    "prf",
    "verify_data",
]

_ALGORITHMS: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
}

#: RFC 5246 §8.1: the master secret is always 48 bytes.
MASTER_SECRET_LEN = 48
#: RFC 5246 §7.4.9: verify_data_length defaults to 12 (no suite of ours changes it).
VERIFY_DATA_LEN = 12
#: RFC 5246 §7.4.9 finished_label values.
CLIENT_FINISHED = b"client finished"
SERVER_FINISHED = b"server finished"

_RANDOM_LEN = 32  # RFC 5246 §7.4.1.2: ClientHello.random / ServerHello.random
_MAX_CONTEXT = 0xFFFF  # RFC 5705 §4: the context length is a uint16
#: The labels of the handshake's own PRF calls: reserved, "MUST NOT be used" by an exporter
#: (RFC 5705 §6; the last is RFC 7627 §4's), whose output would otherwise be a handshake secret
#: or a Finished value.
_RESERVED_EXPORTER_LABELS = frozenset(
    (
        CLIENT_FINISHED,
        SERVER_FINISHED,
        b"master secret",
        b"key expansion",
        b"extended master secret",
    )
)


def _algorithm(hash_name: str) -> hashes.HashAlgorithm:
    try:
        return _ALGORITHMS[hash_name]
    except KeyError:
        raise ValueError(f"unsupported TLS 1.2 PRF hash {hash_name!r}") from None


def prf(hash_name: str, secret: bytes, label: bytes, seed: bytes, length: int) -> bytes:
    """``PRF(secret, label, seed)`` truncated to ``length`` bytes (RFC 5246 §5).

    ``P_hash`` iterates HMAC under one key: the HMAC is keyed once and each of the two HMACs per
    output block works on a ``copy()``.
    """
    if length < 0:
        raise ValueError(f"PRF output length must not be negative, got {length}")
    keyed = pyca_hmac.HMAC(secret, _algorithm(hash_name))
    label_seed = label + seed
    a = label_seed  # A(0)
    blocks: list[bytes] = []
    append = blocks.append
    produced = 0
    while produced < length:
        mac = keyed.copy()
        mac.update(a)
        a = mac.finalize()  # A(i) = HMAC(secret, A(i-1))
        mac = keyed.copy()
        mac.update(a + label_seed)
        block = mac.finalize()  # HMAC(secret, A(i) + seed)
        append(block)
        produced += len(block)
    out = b"".join(blocks)
    return out if produced == length else out[:length]


def _check_randoms(client_random: bytes, server_random: bytes) -> None:
    if len(client_random) != _RANDOM_LEN or len(server_random) != _RANDOM_LEN:
        raise ValueError("client_random and server_random are 32 bytes (RFC 5246 §7.4.1.2)")


def master_secret(
    hash_name: str, pre_master_secret: bytes, client_random: bytes, server_random: bytes
) -> bytes:
    """The 48-byte master secret of a handshake without extended_master_secret (RFC 5246 §8.1).

    Prefer :func:`extended_master_secret`: this one does not bind the session to the handshake
    (the triple handshake attack, RFC 7627 §1); it remains for peers without RFC 7627.
    """
    _check_randoms(client_random, server_random)
    return prf(
        hash_name,
        pre_master_secret,
        b"master secret",
        client_random + server_random,
        MASTER_SECRET_LEN,
    )


def extended_master_secret(hash_name: str, pre_master_secret: bytes, session_hash: bytes) -> bytes:
    """The 48-byte master secret under extended_master_secret (RFC 7627 §4).

    ``session_hash`` is the hash of the handshake messages from ClientHello up to and including
    ClientKeyExchange (RFC 7627 §3), with the PRF hash.
    """
    return prf(
        hash_name, pre_master_secret, b"extended master secret", session_hash, MASTER_SECRET_LEN
    )


@fast_init
@dataclass(frozen=True, slots=True)
class KeyBlock:
    """The record keys of a TLS 1.2 AEAD suite, cut from the key block (RFC 5246 §6.3).

    AEAD suites have no MAC keys (§6.2.3.3). The IVs are the implicit nonce parts: the 4-byte
    GCM salt (RFC 5288 §3) or the 12-byte ChaCha20-Poly1305 IV (RFC 7905 §2). Never shown in
    ``repr``.
    """

    client_write_key: bytes = field(repr=False)
    server_write_key: bytes = field(repr=False)
    client_write_iv: bytes = field(repr=False)
    server_write_iv: bytes = field(repr=False)


def key_block(
    suite: CipherSuite12, master_secret: bytes, client_random: bytes, server_random: bytes
) -> KeyBlock:
    """``PRF(master_secret, "key expansion", server_random + client_random)`` cut into the
    write keys and IVs of both sides (RFC 5246 §6.3; note the order of the randoms, which is
    the reverse of §8.1's)."""
    _check_randoms(client_random, server_random)
    key_len, iv_len = suite.key_len, suite.fixed_iv_len
    block = prf(
        suite.hash_name,
        master_secret,
        b"key expansion",
        server_random + client_random,
        2 * (key_len + iv_len),
    )
    ivs = 2 * key_len
    return KeyBlock(
        block[:key_len], block[key_len:ivs], block[ivs : ivs + iv_len], block[ivs + iv_len :]
    )


def verify_data(
    hash_name: str, master_secret: bytes, finished_label: bytes, handshake_hash: bytes
) -> bytes:
    """The 12-byte Finished ``verify_data`` (RFC 5246 §7.4.9).

    ``finished_label`` is :data:`CLIENT_FINISHED` or :data:`SERVER_FINISHED`; ``handshake_hash``
    is the PRF hash of all handshake messages before this Finished. Compare a received value
    with ``hmac.compare_digest``.
    """
    return prf(hash_name, master_secret, finished_label, handshake_hash, VERIFY_DATA_LEN)


def export_keying_material12(
    hash_name: str,
    master_secret: bytes,
    client_random: bytes,
    server_random: bytes,
    label: bytes,
    context: bytes | None,
    length: int,
) -> bytes:
    """The TLS 1.2 exporter (RFC 5705 §4).

    ``PRF(master_secret, label, client_random + server_random [+ context_length + context])``.
    Unlike TLS 1.3 (RFC 8446 §7.5), no context (``None``) and an empty context give different
    outputs: the uint16 length is present only with a context. The labels the handshake itself
    uses are refused (RFC 5705 §6), so an exporter can never reveal a key or Finished value.
    Without extended_master_secret the output is not unique to the session (RFC 7627 §6.1).
    """
    if label in _RESERVED_EXPORTER_LABELS:
        raise UsageError(f"exporter label {label!r} is reserved (RFC 5705 §6)")
    if length < 0:
        raise UsageError(f"exporter length must not be negative, got {length}")
    _check_randoms(client_random, server_random)
    seed = client_random + server_random
    if context is not None:
        if len(context) > _MAX_CONTEXT:
            raise UsageError(f"exporter context of {len(context)} bytes exceeds 2^16 - 1")
        seed += len(context).to_bytes(2, "big") + context
    return prf(hash_name, master_secret, label, seed, length)
