"""What the TLS 1.2 client and server handshakes share (RFC 5246 §7.3-§8, RFC 7627).

* :class:`Transcript12`: the handshake messages so far, both as a running hash (for the
  extended master secret's session_hash and the Finished messages) and, while a
  CertificateVerify may still need them, as the messages themselves: a TLS 1.2 signature covers
  the concatenated messages, hashed with the signature scheme's hash (RFC 5246 §7.4.8).
* :func:`derive_master_secret`, :func:`install_keys`: premaster secret -> master secret
  (extended, RFC 7627 §4, unless the peer does not support it) -> key block -> record protectors
  (RFC 5246 §6.3, §8.1).
* :func:`finished`, :func:`check_finished`: verify_data (§7.4.9), compared in constant time.
* :func:`server_key_exchange_input`: what the ServerKeyExchange signature covers (§7.4.3).
* :func:`session_hash_premaster`: the (EC)DHE premaster secret of each key exchange.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .crypto.suites import CipherSuite12
from .errors import DecodeError, DecryptError
from .events import HandshakeComplete
from .fast_init import fast_init
from .machine import Output, scheme_name
from .messages.tls13 import Finished
from .prf import extended_master_secret, key_block, master_secret, verify_data
from .record.protection import Aead12Protector, aead12_protectors
from .transcript import TranscriptHash

if TYPE_CHECKING:
    from cryptography import x509

#: RFC 5246 §7.4.9: verify_data_length is 12 for every suite we implement.
VERIFY_DATA_LENGTH = 12


@dataclass(slots=True)
class Transcript12:
    """The handshake messages of one TLS 1.2 handshake (RFC 5246 §7.4.8, §7.4.9).

    ``keep_messages``: also keep the messages, for a CertificateVerify (ours or the peer's);
    dropped as soon as none can follow, so a handshake without client authentication copies
    nothing.
    """

    hash: TranscriptHash
    messages: list[bytes] | None = field(default_factory=list)

    def update(self, raw: bytes) -> None:
        self.hash.update(raw)
        if self.messages is not None:
            self.messages.append(raw)

    def digest(self) -> bytes:
        return self.hash.digest()

    def signed_content(self) -> bytes:
        """All messages so far, for a CertificateVerify (RFC 5246 §7.4.8)."""
        if self.messages is None:
            raise ValueError("the handshake messages were not kept")
        return b"".join(self.messages)

    def forget_messages(self) -> None:
        self.messages = None


def derive_master_secret(
    suite: CipherSuite12,
    premaster: bytes,
    client_random: bytes,
    server_random: bytes,
    session_hash: bytes | None,
) -> bytes:
    """The master secret (RFC 5246 §8.1), extended when both sides agreed on it: then it is
    bound to the handshake through ``session_hash`` (RFC 7627 §4), else to the randoms only."""
    if session_hash is not None:
        return extended_master_secret(suite.hash_name, premaster, session_hash)
    return master_secret(suite.hash_name, premaster, client_random, server_random)


@fast_init
@dataclass(frozen=True, slots=True)
class Protectors12:
    """The record protectors of one connection, from the key block (RFC 5246 §6.3)."""

    client_write: Aead12Protector = field(repr=False)
    server_write: Aead12Protector = field(repr=False)


@fast_init
@dataclass(frozen=True, slots=True)
class Agreed12:
    """What both sides of a TLS 1.2 handshake agreed: the master secret and the protectors, and
    what the summary reports (the (EC)DHE group, the signature scheme, the peer's chain: from
    the Certificate message, or from the session when resuming, RFC 5246 §7.3)."""

    master_secret: bytes
    keys: Protectors12
    group_name: str | None = None
    signature_scheme: int | None = None
    peer_chain: tuple[x509.Certificate, ...] = ()
    verified_chain: tuple[x509.Certificate, ...] = ()
    """The verifier's path for ``peer_chain``; empty when resumed or not verified."""
    peer_chain_der: tuple[bytes, ...] = ()
    """``peer_chain`` as received, where a session will keep it (the client's view of a full
    handshake); empty elsewhere."""


def protectors(
    suite: CipherSuite12, master: bytes, client_random: bytes, server_random: bytes
) -> Protectors12:
    """Both directions' AEAD protectors (RFC 5246 §6.3, RFC 5288 §3, RFC 7905 §2)."""
    block = key_block(suite, master, client_random, server_random)
    from_server, from_client = aead12_protectors(suite, block, client=True)  # (read, write)
    return Protectors12(client_write=from_client, server_write=from_server)


def finished(suite: CipherSuite12, master: bytes, *, client: bool, handshake_hash: bytes) -> bytes:
    """verify_data of a Finished message (RFC 5246 §7.4.9)."""
    label = b"client finished" if client else b"server finished"
    return verify_data(suite.hash_name, master, label, handshake_hash)


def check_finished(
    msg: Finished, suite: CipherSuite12, master: bytes, *, client: bool, handshake_hash: bytes
) -> None:
    """The peer's Finished (RFC 5246 §7.4.9): 12 bytes, compared in constant time."""
    peer = "client" if client else "server"
    if len(msg.verify_data) != VERIFY_DATA_LENGTH:
        raise DecodeError(
            f"{peer} Finished is {len(msg.verify_data)} bytes, expected {VERIFY_DATA_LENGTH}"
        )
    expected = finished(suite, master, client=client, handshake_hash=handshake_hash)
    if not hmac.compare_digest(expected, msg.verify_data):
        raise DecryptError(f"{peer} Finished does not verify (RFC 5246 §7.4.9)")


def handshake_complete(
    suite: CipherSuite12,
    group_name: str | None,
    signature_scheme: int | None,
    alpn_protocol: str | None,
    server_name: str | None,
    peer_certificates: tuple[x509.Certificate, ...],
    *,
    resumed: bool,
    verified_chain: tuple[x509.Certificate, ...] = (),
) -> HandshakeComplete:
    """The summary both roles report after the peer's Finished (no group or scheme when
    resumed: the abbreviated handshake exchanges no keys, RFC 5246 §7.3)."""
    return HandshakeComplete(
        version="TLSv1.2",
        cipher_suite=suite.name,
        group=group_name,
        signature_scheme=scheme_name(signature_scheme) if signature_scheme is not None else None,
        alpn_protocol=alpn_protocol,
        server_name=server_name,
        peer_certificates=peer_certificates,
        verified_chain=verified_chain,
        resumed=resumed,
    )


def server_key_exchange_input(client_random: bytes, server_random: bytes, params: bytes) -> bytes:
    """What the server signs: ClientHello.random + ServerHello.random + the params
    (RFC 5246 §7.4.3, RFC 8422 §5.4)."""
    return client_random + server_random + params


def log_master_secret(out: Output, client_random: bytes, master: bytes) -> None:
    """The NSS key log line of TLS 1.2: ``CLIENT_RANDOM <client_random> <master_secret>``."""
    out.log_secret("CLIENT_RANDOM", client_random, master)


def install_keys(out: Output, keys: Protectors12, *, client: bool, direction: str) -> None:
    """Switch one direction to the new keys: ``write`` right after our ChangeCipherSpec,
    ``read`` when the peer's arrives (RFC 5246 §7.1)."""
    if direction == "write":
        out.write_protector(keys.client_write if client else keys.server_write)
    else:
        out.read_protector(keys.server_write if client else keys.client_write)


def dh_public12(public: bytes) -> bytes:
    """A DH public value (dh_Ys, dh_Yc) as TLS 1.2 sends it: an unsigned integer without
    leading zero octets (RFC 5246 §4: "leading zero octets are not required"), as OpenSSL and
    Go send it. TLS 1.3 pads it to the prime's length (RFC 8446 §4.2.8.1); Haskell's tls 1.5
    derives a wrong premaster secret from a padded TLS 1.2 dh_Yc (1 handshake in 256)."""
    return public.lstrip(b"\x00")


def dh_premaster(secret: bytes) -> bytes:
    """RFC 5246 §8.1.2: the DH premaster secret has its leading zero bytes stripped (unlike
    TLS 1.3, RFC 8446 §7.4.1, which keeps it padded to the prime's length)."""
    return secret.lstrip(b"\x00")
