"""The TLS 1.3 key schedule as typed stages (RFC 8446 §7.1-§7.5, HKDF from RFC 5869).

::

             0
             |
   PSK ->  HKDF-Extract = Early Secret        -> EarlySecret: binder_key, c e traffic, e exp master
             |
       Derive-Secret(., "derived", "")
             |
   (EC)DHE -> HKDF-Extract = Handshake Secret -> HandshakeSecret: c/s hs traffic
             |
       Derive-Secret(., "derived", "")
             |
   0 -> HKDF-Extract = Master Secret          -> MasterSecret: c/s ap traffic, exp/res master

Each stage is a frozen dataclass holding one secret (never shown in ``repr``) and offering only
the derivations RFC 8446 §7.1 allows at that point; the next stage comes from a method call
(``early.handshake(shared)``, ``hs.master()``), so a state can only hold keys it may have.
Transcript hashes (``th``) are passed in, already computed (see ``transcript.py``).

HKDF comes from pyca/cryptography. A full handshake needs ~18 HKDF-Expand-Label calls per side,
all with an output no longer than the hash (one HMAC block, RFC 5869 §2.3: ``T(1) = HMAC(PRK,
info | 0x01)``), computed with pyca's ``HMAC``. Keying an ``HMAC`` costs twice as much as the
block itself, so a stage keys it once and every Derive-Secret from it works on a ``copy()``,
and :func:`handshake_traffic_keys` gets the write key, IV and Finished key of a handshake traffic
secret from one keyed HMAC; longer outputs go to pyca's ``HKDFExpand``. The serialised HkdfLabel
heads (length and label) are constant and cached, and so are the Early Secret of a handshake
without PSK (a constant of the hash: HKDF-Extract(0, 0)) and the salt derived from it.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as pyca_hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand

from .crypto.suites import CipherSuite
from .errors import DecryptError
from .fast_init import fast_init

_ALGORITHMS: dict[str, hashes.HashAlgorithm] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}
_HASH_LEN = {name: algorithm.digest_size for name, algorithm in _ALGORITHMS.items()}
_EMPTY_HASH = {name: hashlib.new(name).digest() for name in _ALGORITHMS}
_MAX_LABEL = 255 - len(b"tls13 ")  # opaque label<7..255> includes the "tls13 " prefix
_MAX_CONTEXT = 255  # opaque context<0..255>


def _algorithm(hash_name: str) -> hashes.HashAlgorithm:
    try:
        return _ALGORITHMS[hash_name]
    except KeyError:
        raise ValueError(f"unsupported key schedule hash {hash_name!r}") from None


def hash_len(hash_name: str) -> int:
    """Output length of ``hash_name`` in bytes (``Hash.length`` in RFC 8446 §7.1)."""
    return _algorithm(hash_name).digest_size


def empty_hash(hash_name: str) -> bytes:
    """``Transcript-Hash("")``: the hash of the empty string."""
    return _EMPTY_HASH[hash_name]


def hkdf_extract(hash_name: str, salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract(salt, IKM) (RFC 5869 §2.2); an empty salt means HashLen zeros."""
    return HKDF.extract(_algorithm(hash_name), salt, ikm)


def hkdf_expand(hash_name: str, prk: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand(PRK, info, L) (RFC 5869 §2.3)."""
    return HKDFExpand(_algorithm(hash_name), length, info).derive(prk)


@functools.lru_cache(maxsize=256)
def _label_head(label: bytes, length: int) -> bytes:
    """``uint16 length`` and ``opaque label<7..255>`` of an HkdfLabel: constant per label."""
    if len(label) > _MAX_LABEL:
        raise ValueError(f"HkdfLabel: label ({len(label)}) too long")
    return bytes((length >> 8, length & 0xFF, len(label) + 6)) + b"tls13 " + label


def hkdf_label(label: bytes, context: bytes, length: int) -> bytes:
    """The serialised HkdfLabel (RFC 8446 §7.1), the ``info`` of HKDF-Expand-Label.

    ``struct { uint16 length; opaque label<7..255> = "tls13 " + Label;
    opaque context<0..255>; } HkdfLabel;``
    """
    if len(context) > _MAX_CONTEXT:
        raise ValueError(f"HkdfLabel: label ({len(label)}) or context ({len(context)}) too long")
    return _label_head(bytes(label), length) + bytes((len(context),)) + context


@functools.lru_cache(maxsize=64)
def _fixed_label(label: bytes, length: int) -> bytes:
    """The HkdfLabel of a constant label with an empty context ("key", "iv", "finished", ...),
    with HKDF-Expand's block counter ``0x01`` appended: the whole input of the one HMAC block
    (see :func:`_expand_block`)."""
    return hkdf_label(label, b"", length) + b"\x01"


def _keyed(hash_name: str, prk: bytes) -> pyca_hmac.HMAC:
    return pyca_hmac.HMAC(prk, _algorithm(hash_name))


def _expand_block(mac: pyca_hmac.HMAC, info: bytes, length: int) -> bytes:
    """HKDF-Expand for ``length <= HashLen`` (RFC 5869 §2.3): ``T(1) = HMAC(PRK, info | 0x01)``.

    ``mac`` is keyed with the PRK and is used up.
    """
    mac.update(info + b"\x01")
    return mac.finalize()[:length]


def hkdf_expand_label(
    hash_name: str, secret: bytes, label: bytes, context: bytes, length: int
) -> bytes:
    """HKDF-Expand-Label(Secret, Label, Context, Length) (RFC 8446 §7.1).

    ``label`` is given without the ``"tls13 "`` prefix (``b"c hs traffic"``).
    """
    info = hkdf_label(label, context, length)
    if not 0 < length <= hash_len(hash_name):  # more than one block: pyca's HKDF-Expand
        return hkdf_expand(hash_name, secret, info, length)
    return _expand_block(_keyed(hash_name, secret), info, length)


def derive_secret(hash_name: str, secret: bytes, label: bytes, transcript_hash: bytes) -> bytes:
    """Derive-Secret(Secret, Label, Messages), given ``Transcript-Hash(Messages)`` (§7.1)."""
    return hkdf_expand_label(hash_name, secret, label, transcript_hash, hash_len(hash_name))


@dataclass(frozen=True, slots=True)
class _Stage:
    """One secret of the schedule (never shown in ``repr``).

    Keying a pyca ``HMAC`` costs twice as much as hashing a short HkdfLabel, and each secret
    derives two to four others, so the HMAC keyed with the secret is made once and each
    Derive-Secret (one HKDF-Expand block) starts from a ``copy()`` of it.
    """

    hash_name: str
    secret: bytes = field(repr=False)
    _mac: pyca_hmac.HMAC = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_mac", _keyed(self.hash_name, self.secret))

    def _derive_secret(self, label: bytes, transcript_hash: bytes) -> bytes:
        """Derive-Secret(this secret, label, Messages) from ``Transcript-Hash(Messages)``.

        One HKDF-Expand block of HashLen bytes: ``HMAC(secret, HkdfLabel | 0x01)`` (§7.1).
        """
        if len(transcript_hash) > _MAX_CONTEXT:
            raise ValueError(f"HkdfLabel: context ({len(transcript_hash)}) too long")
        mac = self._mac.copy()
        head = _label_head(label, _HASH_LEN[self.hash_name])
        mac.update(head + bytes((len(transcript_hash),)) + transcript_hash + b"\x01")
        return mac.finalize()

    def _next_salt(self) -> bytes:
        """Derive-Secret(., "derived", ""): the salt of the next stage's HKDF-Extract."""
        return self._derive_secret(b"derived", _EMPTY_HASH[self.hash_name])


@fast_init
@dataclass(frozen=True, slots=True)
class EarlySecret(_Stage):
    """Early Secret = HKDF-Extract(0, PSK) (RFC 8446 §7.1).

    The salt of the Handshake Secret is derived at once: without a PSK the Early Secret is a
    constant (cached), and so is that salt.
    """

    _salt: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _Stage.__post_init__(self)
        object.__setattr__(self, "_salt", self._next_salt())

    @classmethod
    def from_psk(cls, suite_or_hash: CipherSuite | str, psk: bytes | None) -> EarlySecret:
        """From a PSK, or from ``None`` (no PSK: HashLen zeros) for a full handshake."""
        name = suite_or_hash if isinstance(suite_or_hash, str) else suite_or_hash.hash_name
        if psk is None and cls is EarlySecret:
            return _no_psk_early_secret(name)
        zeros = bytes(hash_len(name))
        return cls(name, hkdf_extract(name, zeros, zeros if psk is None else psk))

    def binder_key(self, external: bool) -> bytes:
        """``ext binder`` (external PSK) or ``res binder`` (resumption) key (§7.1, §4.2.11.2)."""
        label = b"ext binder" if external else b"res binder"
        return self._derive_secret(label, _EMPTY_HASH[self.hash_name])

    def client_early_traffic_secret(self, th: bytes) -> bytes:
        """``c e traffic`` over Transcript-Hash(ClientHello)."""
        return self._derive_secret(b"c e traffic", th)

    def early_exporter_master_secret(self, th: bytes) -> bytes:
        """``e exp master`` over Transcript-Hash(ClientHello)."""
        return self._derive_secret(b"e exp master", th)

    def handshake(self, shared_secret: bytes | None) -> HandshakeSecret:
        """Handshake Secret = HKDF-Extract(Derive-Secret(., "derived", ""), (EC)DHE).

        ``None`` is psk_ke mode (no key exchange): the IKM is HashLen zeros.
        """
        ikm = bytes(hash_len(self.hash_name)) if shared_secret is None else shared_secret
        return HandshakeSecret(self.hash_name, hkdf_extract(self.hash_name, self._salt, ikm))


@functools.cache
def _no_psk_early_secret(hash_name: str) -> EarlySecret:
    """HKDF-Extract(0, 0): the Early Secret of every full handshake, a public constant."""
    zeros = bytes(hash_len(hash_name))
    return EarlySecret(hash_name, hkdf_extract(hash_name, zeros, zeros))


@fast_init
@dataclass(frozen=True, slots=True)
class HandshakeSecret(_Stage):
    """Handshake Secret (RFC 8446 §7.1): handshake traffic secrets and the master secret."""

    def client_handshake_traffic_secret(self, th: bytes) -> bytes:
        """``c hs traffic`` over Transcript-Hash(ClientHello...ServerHello)."""
        return self._derive_secret(b"c hs traffic", th)

    def server_handshake_traffic_secret(self, th: bytes) -> bytes:
        """``s hs traffic`` over Transcript-Hash(ClientHello...ServerHello)."""
        return self._derive_secret(b"s hs traffic", th)

    def master(self) -> MasterSecret:
        """Master Secret = HKDF-Extract(Derive-Secret(., "derived", ""), 0)."""
        zeros = bytes(hash_len(self.hash_name))
        return MasterSecret(self.hash_name, hkdf_extract(self.hash_name, self._next_salt(), zeros))


@fast_init
@dataclass(frozen=True, slots=True)
class MasterSecret(_Stage):
    """Master Secret (RFC 8446 §7.1): application traffic, exporter and resumption secrets."""

    def client_application_traffic_secret_0(self, th: bytes) -> bytes:
        """``c ap traffic`` over Transcript-Hash(ClientHello...server Finished)."""
        return self._derive_secret(b"c ap traffic", th)

    def server_application_traffic_secret_0(self, th: bytes) -> bytes:
        """``s ap traffic`` over Transcript-Hash(ClientHello...server Finished)."""
        return self._derive_secret(b"s ap traffic", th)

    def exporter_master_secret(self, th: bytes) -> bytes:
        """``exp master`` over Transcript-Hash(ClientHello...server Finished)."""
        return self._derive_secret(b"exp master", th)

    def resumption_master_secret(self, th: bytes) -> bytes:
        """``res master`` over Transcript-Hash(ClientHello...client Finished)."""
        return self._derive_secret(b"res master", th)


def traffic_key_iv(suite: CipherSuite, secret: bytes) -> tuple[bytes, bytes]:
    """``[sender]_write_key`` and ``[sender]_write_iv`` from a traffic secret (§7.3)."""
    hash_name, key_len, iv_len = suite.hash_name, suite.key_len, suite.iv_len
    if key_len > suite.hash_len or iv_len > suite.hash_len:  # no TLS 1.3 suite
        key = hkdf_expand_label(hash_name, secret, b"key", b"", key_len)
        return key, hkdf_expand_label(hash_name, secret, b"iv", b"", iv_len)
    key_mac = _keyed(hash_name, secret)  # one block each: key the HMAC once, copy it
    iv_mac = key_mac.copy()
    key_mac.update(_fixed_label(b"key", key_len))
    iv_mac.update(_fixed_label(b"iv", iv_len))
    return key_mac.finalize()[:key_len], iv_mac.finalize()[:iv_len]


def handshake_traffic_keys(suite: CipherSuite, secret: bytes) -> tuple[bytes, bytes, bytes]:
    """``[sender]_write_key``, ``[sender]_write_iv`` (§7.3) and the ``finished_key`` (§4.4.4)
    of a handshake traffic secret.

    All three are HKDF-Expand-Label over the same secret, one HMAC block each (every TLS 1.3
    suite): the HMAC is keyed once and copied, where :func:`traffic_key_iv` and
    :func:`finished_key` would key it once each.
    """
    hash_name, key_len, iv_len = suite.hash_name, suite.key_len, suite.iv_len
    if key_len > suite.hash_len or iv_len > suite.hash_len:  # no TLS 1.3 suite
        return (*traffic_key_iv(suite, secret), finished_key(hash_name, secret))
    key_mac = _keyed(hash_name, secret)
    iv_mac = key_mac.copy()
    fin_mac = key_mac.copy()
    key_mac.update(_fixed_label(b"key", key_len))
    iv_mac.update(_fixed_label(b"iv", iv_len))
    fin_mac.update(_fixed_label(b"finished", _HASH_LEN[hash_name]))
    return key_mac.finalize()[:key_len], iv_mac.finalize()[:iv_len], fin_mac.finalize()


def finished_key(hash_name: str, base_key: bytes) -> bytes:
    """finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length) (§4.4.4)."""
    mac = _keyed(hash_name, base_key)
    mac.update(_fixed_label(b"finished", _HASH_LEN[hash_name]))
    return mac.finalize()


def finished_mac(hash_name: str, key: bytes, transcript_hash: bytes) -> bytes:
    """verify_data = HMAC(finished_key, Transcript-Hash(...)) from the ``finished_key``."""
    mac = _keyed(hash_name, key)
    mac.update(transcript_hash)
    return mac.finalize()


def finished_verify_data(hash_name: str, base_key: bytes, transcript_hash: bytes) -> bytes:
    """verify_data = HMAC(finished_key, Transcript-Hash(...)) (§4.4.4).

    Also the PSK binder (§4.2.11.2): ``base_key`` is the binder key and ``transcript_hash`` the
    hash of the truncated ClientHello.
    """
    return finished_mac(hash_name, finished_key(hash_name, base_key), transcript_hash)


def check_finished_mac(
    hash_name: str, key: bytes, transcript_hash: bytes, received: bytes, what: str
) -> None:
    """Compare a received Finished/binder with ``HMAC(key, transcript_hash)`` in constant time;
    mismatch -> ``DecryptError``. ``key`` is the ``finished_key`` (not the base key).

    RFC 8446 §4.4.4: "Recipients of Finished messages MUST verify that the contents are correct
    and if incorrect MUST terminate the connection with a "decrypt_error" alert."
    """
    if not hmac.compare_digest(finished_mac(hash_name, key, transcript_hash), received):
        raise DecryptError(f"{what} does not verify")


def check_verify_data(
    hash_name: str, base_key: bytes, transcript_hash: bytes, received: bytes, what: str
) -> None:
    """:func:`check_finished_mac` from the base key (a traffic secret or binder key)."""
    check_finished_mac(
        hash_name, finished_key(hash_name, base_key), transcript_hash, received, what
    )


def next_traffic_secret(hash_name: str, secret: bytes) -> bytes:
    """application_traffic_secret_N+1 = HKDF-Expand-Label(N, "traffic upd", "", Hash.length)."""
    return hkdf_expand_label(hash_name, secret, b"traffic upd", b"", hash_len(hash_name))


def resumption_psk(hash_name: str, rms: bytes, nonce: bytes) -> bytes:
    """PSK = HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce, Hash.length)
    (RFC 8446 §4.6.1)."""
    return hkdf_expand_label(hash_name, rms, b"resumption", nonce, hash_len(hash_name))


def export_keying_material(
    hash_name: str, secret: bytes, label: bytes, context: bytes, length: int
) -> bytes:
    """TLS-Exporter(label, context_value, key_length) (RFC 8446 §7.5).

    ``secret`` is the (early_)exporter_master_secret. ``HKDF-Expand-Label(Derive-Secret(Secret,
    label, ""), "exporter", Hash(context_value), key_length)``; in TLS 1.3 an absent context and
    an empty one are the same.
    """
    derived = derive_secret(hash_name, secret, label, _EMPTY_HASH[hash_name])
    context_hash = hashlib.new(hash_name, context).digest()
    return hkdf_expand_label(hash_name, derived, b"exporter", context_hash, length)
