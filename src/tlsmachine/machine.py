"""Plumbing shared by the handshake state machines: the output sink and message gating.

A state's ``handle(msg, out)`` never performs I/O. It records what must happen, in order, on an
:class:`Output`: messages to send, traffic keys to install, events to report. The connection
applies the list only after ``handle`` returned, so a state that raises leaves nothing half-done
and "keys change only after the message that triggers them" holds in one place (RFC 8446 §5.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, Protocol, TypeVar

from .crypto.signatures import (
    TLS13_CERTIFICATE_VERIFY_SCHEMES,
    certificate_verify_input,
    spki_is_rsassa_pss,
    verify,
)
from .enums import HandshakeType, SignatureScheme, name_of
from .errors import DecodeError, IllegalParameter, UnexpectedMessage
from .events import Event
from .fast_init import fast_init
from .keyschedule import HandshakeSecret, check_finished_mac, handshake_traffic_keys
from .messages import decode_handshake, encode_handshake
from .messages.tls13 import CertificateVerify, Finished
from .verify import public_key_of

if TYPE_CHECKING:
    from cryptography import x509

    from .crypto.suites import CipherSuite
    from .messages import HandshakeMessage
    from .record.protection import RecordProtector

M = TypeVar("M")


class SendMessage(NamedTuple):
    """Send one handshake message; ``raw`` is its encoding (already in the transcript).

    The actions are named tuples, not dataclasses: a handshake records some 25 of them and a
    tuple costs less than half as much to build. ``built`` is the message object when the state
    had one; messages encoded straight to bytes are decoded again only if someone asks for
    :attr:`message` (handshake tracing).
    """

    raw: bytes
    built: HandshakeMessage | None = None

    @property
    def message(self) -> HandshakeMessage:
        return self.built if self.built is not None else decode_handshake(self.raw)


class SendChangeCipherSpec(NamedTuple):
    """Send the dummy change_cipher_spec record of RFC 8446 Appendix D.4."""


class InstallKeys(NamedTuple):
    """Switch one direction to a new traffic secret.

    ``keys`` is ``(write_key, write_iv)`` when the state derived them already (the handshake
    keys, together with the Finished key: :func:`~tlsmachine.keyschedule.handshake_traffic_keys`);
    otherwise the connection derives them from ``secret`` (RFC 8446 §7.3).
    """

    direction: str  # "read" or "write"
    suite: CipherSuite | None  # None: back to plaintext (the client's second hello after 0-RTT)
    secret: bytes
    epoch: str  # "plaintext", "early", "handshake", "application"
    keys: tuple[bytes, bytes] | None = None


class LogSecret(NamedTuple):
    """One NSS key log line (SSLKEYLOGFILE format)."""

    label: str
    client_random: bytes
    secret: bytes


class RecordSizeLimits(NamedTuple):
    """record_size_limit agreed (RFC 8449 §4): ``send`` is the peer's, ``receive`` ours."""

    send: int
    receive: int


class EmitEvent(NamedTuple):
    event: Event


class EarlyDataStage(NamedTuple):
    """0-RTT progress the connection acts on (RFC 8446 §2.3, §4.2.10).

    ``stage`` is one of: ``"offered"`` (client: early data may now be sent, up to ``limit``
    bytes), ``"accepted"`` / ``"rejected"`` (client: the server's answer; rejected data is
    handed back to the application), ``"accepting"`` (server: early data arrives under the
    early keys, at most ``limit`` bytes), ``"skipping"`` (server: rejected; discard up to
    ``limit`` bytes of the client's early records, §4.2.10).
    """

    stage: str
    limit: int = 0


class SetEarlyExporter(NamedTuple):
    """The early exporter master secret is known (RFC 8446 §7.5)."""

    hash_name: str
    secret: bytes


class SetVersion(NamedTuple):
    """The protocol version is chosen (RFC 8446 §4.2.1, RFC 5246 §7.4.1.3): from here on the
    connection decodes that version's message set and, in TLS 1.2, hands change_cipher_spec
    records to the handshake state instead of dropping them (RFC 8446 Appendix D.4)."""

    version: int


class InstallProtector(NamedTuple):
    """Switch one direction to a ready TLS 1.2 record protector (RFC 5246 §6.1, §7.1): the
    state derived the key block itself (:mod:`tlsmachine.prf`)."""

    direction: str  # "read" or "write"
    protector: RecordProtector
    epoch: str  # "application": TLS 1.2 has one epoch of protection


class SendAlert(NamedTuple):
    """Send a warning alert and go on, e.g. no_renegotiation (RFC 5246 §7.2.2, RFC 5746 §4)."""

    description: int


_CHANGE_CIPHER_SPEC = SendChangeCipherSpec()


Action = (
    SendMessage
    | SendChangeCipherSpec
    | InstallKeys
    | LogSecret
    | RecordSizeLimits
    | EmitEvent
    | EarlyDataStage
    | SetEarlyExporter
    | SetVersion
    | InstallProtector
    | SendAlert
)


class Output:
    """Collects a state's actions in order; the connection applies them afterwards."""

    __slots__ = ("actions", "keylog")

    def __init__(self, *, keylog: bool = False) -> None:
        self.actions: list[Action] = []
        self.keylog = keylog
        """Record :class:`LogSecret` actions only when someone listens (SSLKEYLOGFILE)."""

    def send(self, message: HandshakeMessage, raw: bytes | None = None) -> bytes:
        """Queue ``message`` and return its encoding (for the transcript).

        ``raw`` is the encoding when the caller already has it.
        """
        if raw is None:
            raw = encode_handshake(message)
        self.actions.append(SendMessage(raw, message))
        return raw

    def send_encoded(self, raw: bytes) -> bytes:
        """Queue a message the state encoded itself (no object built); return ``raw``."""
        self.actions.append(SendMessage(raw))
        return raw

    def change_cipher_spec(self) -> None:
        self.actions.append(_CHANGE_CIPHER_SPEC)

    def read_keys(
        self,
        suite: CipherSuite,
        secret: bytes,
        epoch: str,
        keys: tuple[bytes, bytes] | None = None,
    ) -> None:
        self.actions.append(InstallKeys("read", suite, secret, epoch, keys))

    def write_keys(
        self,
        suite: CipherSuite,
        secret: bytes,
        epoch: str,
        keys: tuple[bytes, bytes] | None = None,
    ) -> None:
        self.actions.append(InstallKeys("write", suite, secret, epoch, keys))

    def write_plaintext(self) -> None:
        """Write unprotected records again: the second ClientHello after 0-RTT was offered
        and a HelloRetryRequest came back (RFC 8446 §4.1.2, §5.1)."""
        self.actions.append(InstallKeys("write", None, b"", "plaintext"))

    def log_secret(self, label: str, client_random: bytes, secret: bytes) -> None:
        if self.keylog:
            self.actions.append(LogSecret(label, client_random, secret))

    def record_size_limits(self, send: int, receive: int) -> None:
        self.actions.append(RecordSizeLimits(send, receive))

    def event(self, event: Event) -> None:
        self.actions.append(EmitEvent(event))

    def early_data(self, stage: str, limit: int = 0) -> None:
        self.actions.append(EarlyDataStage(stage, limit))

    def early_exporter(self, hash_name: str, secret: bytes) -> None:
        self.actions.append(SetEarlyExporter(hash_name, secret))

    def version(self, version: int) -> None:
        self.actions.append(SetVersion(version))

    def read_protector(self, protector: RecordProtector) -> None:
        self.actions.append(InstallProtector("read", protector, "application"))

    def write_protector(self, protector: RecordProtector) -> None:
        self.actions.append(InstallProtector("write", protector, "application"))

    def warning_alert(self, description: int) -> None:
        self.actions.append(SendAlert(description))


class HandshakeState(Protocol):
    """One state of a handshake machine (RFC 8446 Appendix A).

    A state of the handshake proper also has ``expects``, the frozenset of HandshakeTypes it
    takes (empty while waiting for a ChangeCipherSpec), so that a message of another type is
    ``unexpected_message`` even when its body would not decode (the type is judged first,
    RFC 8446 §4, RFC 5246 §7.4); see :func:`out_of_order`. The post-handshake states, which
    take several kinds, leave it out.
    """

    def handle(self, msg: HandshakeMessage, out: Output) -> HandshakeState: ...


def out_of_order(state: object, msg_type: int) -> UnexpectedMessage | None:
    """The error for a message of ``msg_type`` that ``state`` does not take, if it says which
    it takes (``expects``); ``None`` if it takes it or does not say."""
    expects: frozenset[int] | None = getattr(state, "expects", None)
    if expects is None or msg_type in expects:
        return None
    got = name_of(HandshakeType, msg_type).lower()
    return UnexpectedMessage(f"{got} is not allowed in state {type(state).__name__}")


@fast_init
@dataclass(frozen=True, slots=True)
class HandshakeTrafficKeys:
    """One direction's handshake traffic secret, its key and IV, and its Finished key."""

    secret: bytes = field(repr=False)
    key_iv: tuple[bytes, bytes] = field(repr=False)
    finished_key: bytes = field(repr=False)


def derive_handshake_traffic(
    out: Output,
    suite: CipherSuite,
    handshake_secret: HandshakeSecret,
    transcript_hash: bytes,
    client_random: bytes,
) -> tuple[HandshakeTrafficKeys, HandshakeTrafficKeys]:
    """Both directions' handshake traffic keys after ServerHello (RFC 8446 §7.1, §7.3, §4.4.4),
    logged for SSLKEYLOGFILE; returns ``(client, server)``. Each role installs them itself."""
    sides = []
    for label, secret in (
        ("CLIENT_HANDSHAKE_TRAFFIC_SECRET",
         handshake_secret.client_handshake_traffic_secret(transcript_hash)),
        ("SERVER_HANDSHAKE_TRAFFIC_SECRET",
         handshake_secret.server_handshake_traffic_secret(transcript_hash)),
    ):  # fmt: skip
        out.log_secret(label, client_random, secret)
        key, iv, finished_key = handshake_traffic_keys(suite, secret)
        sides.append(HandshakeTrafficKeys(secret, (key, iv), finished_key))
    return sides[0], sides[1]


def check_certificate_verify(
    cv: CertificateVerify,
    chain: tuple[x509.Certificate, ...],
    offered: tuple[int, ...],
    transcript_hash: bytes,
    *,
    by_server: bool,
) -> None:
    """The peer's CertificateVerify (RFC 8446 §4.4.3): a scheme we offered that TLS 1.3 allows,
    then the signature over the transcript with the leaf's key (decrypt_error if it fails)."""
    if cv.algorithm not in offered or cv.algorithm not in TLS13_CERTIFICATE_VERIFY_SCHEMES:
        role = "server" if by_server else "client"
        raise IllegalParameter(f"{role} CertificateVerify uses {scheme_name(cv.algorithm)}")
    content = certificate_verify_input(transcript_hash, server=by_server)
    leaf = chain[0]
    pss = spki_is_rsassa_pss(leaf)
    key = public_key_of(leaf, "server" if by_server else "client")
    verify(cv.algorithm, key, cv.signature, content, rsassa_pss=pss)


def check_finished(
    finished: Finished, suite: CipherSuite, finished_key: bytes, transcript_hash: bytes, peer: str
) -> None:
    """Verify the peer's Finished (RFC 8446 §4.4.4): length, then a constant-time compare of
    ``HMAC(finished_key, transcript_hash)`` (the key from :func:`handshake_traffic_keys`)."""
    if len(finished.verify_data) != suite.hash_len:
        raise DecodeError(
            f"{peer} Finished is {len(finished.verify_data)} bytes, expected {suite.hash_len}"
        )
    check_finished_mac(
        suite.hash_name, finished_key, transcript_hash, finished.verify_data, f"{peer} Finished"
    )


_SCHEME_NAMES = {int(s): s.name.lower() for s in SignatureScheme}


def scheme_name(scheme: int) -> str:
    """``ecdsa_secp256r1_sha256``: the name HandshakeComplete reports (a table: ``name_of``
    goes through the enum, which costs more than the lookup)."""
    return _SCHEME_NAMES.get(scheme) or name_of(SignatureScheme, scheme).lower()


def expect(msg: object, cls: type[M], state: object) -> M:
    """Narrow ``msg`` to ``cls`` or abort with unexpected_message (RFC 8446 §4)."""
    if isinstance(msg, cls):
        return msg
    raise unexpected(msg, state)


def unexpected(msg: object, state: object) -> UnexpectedMessage:
    """The error for a message that the current state does not accept (RFC 8446 §4)."""
    msg_type = getattr(msg, "msg_type", None)
    got = name_of(HandshakeType, msg_type).lower() if isinstance(msg_type, int) else repr(msg)
    return UnexpectedMessage(f"{got} is not allowed in state {type(state).__name__}")
