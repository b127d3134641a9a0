"""Shared test helper: a scripted TLS 1.2 client ("probe") for playing tlsfuzzer conversations
against our ServerConnection, in memory.

:class:`Probe` is written on top of tlsmachine's primitives (PRF, key block, record
protectors): it builds every message byte by byte, so a test can send anything a real peer
holding the keys could send. The helpers build ClientHellos and extensions by hand
(RFC 5246 §7.4.1.2); :func:`refused` checks a fatal alert and a closed connection (tlsfuzzer's
ExpectAlert + ExpectClose).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import struct
from collections.abc import Sequence

from tls_fixtures import server_cert
from tlsmachine import (
    ApplicationData,
    CertifiedKey,
    ConnectionState,
    Event,
    ServerConfig,
    ServerConnection,
    TLSError,
)
from tlsmachine.crypto.groups import FFDHE2048, SECP256R1, X25519, Group, group_by_id
from tlsmachine.crypto.suites import (
    TLS12_SUITES,
    TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    CipherSuite12,
)
from tlsmachine.enums import AlertDescription, HandshakeType, ProtocolVersion
from tlsmachine.errors import ProtocolError
from tlsmachine.handshake12 import dh_premaster, finished, protectors
from tlsmachine.messages import decode_handshake
from tlsmachine.messages.hello import ServerHello
from tlsmachine.messages.tls12 import ServerKeyExchange
from tlsmachine.prf import extended_master_secret, master_secret
from tlsmachine.record.protection12 import Aead12Protector
from wire import ALERT, APPLICATION_DATA, CCS, HANDSHAKE, messages, record, records

AD = AlertDescription
TLS12 = ProtocolVersion.TLS12

SUITES: dict[int, CipherSuite12] = {
    s.id: s
    for s in (
        TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
    )
}
ALL_SUITES: dict[int, CipherSuite12] = {s.id: s for s in TLS12_SUITES}
"""Every TLS 1.2 suite we implement: the probe follows whichever the server picks."""
ECDSA_GCM = TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256.id
EMPTY_RENEGOTIATION_INFO_SCSV = 0x00FF
FALLBACK_SCSV = 0x5600

# extension code points (IANA TLS ExtensionType registry)
SERVER_NAME = 0
SUPPORTED_GROUPS = 10
EC_POINT_FORMATS = 11
SIGNATURE_ALGORITHMS = 13
ALPN = 16
ENCRYPT_THEN_MAC = 22
EXTENDED_MASTER_SECRET = 23
RECORD_SIZE_LIMIT = 28
SESSION_TICKET = 35
SUPPORTED_VERSIONS = 43
RENEGOTIATION_INFO = 0xFF01

Ext = tuple[int, bytes]


# -- building a ClientHello byte by byte -------------------------------------------------------


def u16_list(values: Sequence[int]) -> bytes:
    """``uint16 values<..>`` with its 2-byte length."""
    body = b"".join(struct.pack(">H", v) for v in values)
    return struct.pack(">H", len(body)) + body


def groups_ext(*groups: int) -> Ext:
    return SUPPORTED_GROUPS, u16_list(groups)


def sigalgs_ext(*schemes: int) -> Ext:
    return SIGNATURE_ALGORITHMS, u16_list(schemes)


POINT_FORMATS: Ext = (EC_POINT_FORMATS, b"\x01\x00")  # uncompressed only
EMS: Ext = (EXTENDED_MASTER_SECRET, b"")
RENEGO: Ext = (RENEGOTIATION_INFO, b"\x00")  # empty renegotiated_connection
SIGALGS: Ext = sigalgs_ext(0x0403, 0x0503, 0x0804, 0x0805, 0x0401, 0x0501)
GROUPS: Ext = groups_ext(X25519.id, SECP256R1.id)


def default_extensions() -> list[Ext]:
    """What a modern TLS 1.2 ECDHE client sends (tlsfuzzer's ECDHE probes add the same)."""
    return [GROUPS, POINT_FORMATS, SIGALGS, EMS, RENEGO]


def encode_extensions(extensions: Sequence[Ext]) -> bytes:
    body = b"".join(struct.pack(">HH", t, len(d)) + d for t, d in extensions)
    return struct.pack(">H", len(body)) + body


def handshake(msg_type: int, body: bytes) -> bytes:
    """A handshake message: type, 24-bit length, body (RFC 5246 §7.4)."""
    return bytes((msg_type,)) + len(body).to_bytes(3, "big") + body


def client_hello(
    suites: Sequence[int] = (ECDSA_GCM,),
    extensions: Sequence[Ext] | None = None,
    *,
    version: int = 0x0303,
    session_id: bytes = b"",
    compression: bytes = b"\x00",
    random: bytes | None = None,
) -> bytes:
    """A ClientHello message (RFC 5246 §7.4.1.2); ``extensions=None``: the default ones,
    ``[]``: an empty extensions block; use :func:`client_hello_no_ext` for none at all."""
    if extensions is None:
        extensions = default_extensions()
    return handshake(
        HandshakeType.CLIENT_HELLO,
        _hello_head(suites, version, session_id, compression, random)
        + encode_extensions(extensions),
    )


def client_hello_no_ext(suites: Sequence[int] = (ECDSA_GCM,), **kwargs: object) -> bytes:
    """A ClientHello without the extensions block (allowed in TLS 1.2, RFC 5246 §7.4.1.2)."""
    head = _hello_head(suites, 0x0303, b"", b"\x00", None)
    assert not kwargs
    return handshake(HandshakeType.CLIENT_HELLO, head)


def _hello_head(
    suites: Sequence[int],
    version: int,
    session_id: bytes,
    compression: bytes,
    random: bytes | None,
) -> bytes:
    return (
        struct.pack(">H", version)
        + (random if random is not None else os.urandom(32))
        + bytes((len(session_id),))
        + session_id
        + u16_list(suites)
        + bytes((len(compression),))
        + compression
    )


# -- the scripted client ----------------------------------------------------------------------


@dataclasses.dataclass
class Reply:
    """What the server answered to one send: its records (decrypted once its keys are on),
    the error it raised, and its state afterwards."""

    records: list[tuple[int, bytes]]
    error: TLSError | None
    events: list[Event]
    state: ConnectionState
    raw: bytes = b""

    @property
    def alert(self) -> AlertDescription | None:
        """The fatal alert the server sent, if any."""
        for content_type, content in self.records:
            if content_type == ALERT and content[0] == 2:
                return AlertDescription(content[1])
        return None

    @property
    def handshake_types(self) -> list[int]:
        return [m[0] for t, c in self.records if t == HANDSHAKE for m in messages(c) if len(m) >= 4]

    def app_data(self) -> bytes:
        return b"".join(e.data for e in self.events if isinstance(e, ApplicationData))


def rsa_cert() -> CertifiedKey:
    """The shared RSA-2048 certificate for "localhost", for the *_RSA suites."""
    return server_cert("rsa-2048")


def server_config(**kwargs: object) -> ServerConfig:
    kwargs.setdefault("certificates", (server_cert(), rsa_cert()))
    return ServerConfig(**kwargs)  # type: ignore[arg-type]


class Probe:
    """A TLS 1.2 client played step by step, as a tlsfuzzer conversation does."""

    def __init__(self, config: ServerConfig | None = None) -> None:
        self.server = ServerConnection(config or server_config())
        self.transcript: list[bytes] = []
        self.write: Aead12Protector | None = None
        self.read: Aead12Protector | None = None
        self.reading_protected = False
        self.server_hello: ServerHello | None = None
        self.ske: ServerKeyExchange | None = None
        self.client_random = b""
        self.suite: CipherSuite12 | None = None
        self.master = b""
        self.pending_keys: tuple[Aead12Protector, Aead12Protector] | None = None
        self.server_finished = b""
        self.server_finished_message = b""
        self.max_record = 2**14
        self.client_verify_data = b""
        self.resume_master = b""
        self.use_ems: bool | None = None
        """Derive the extended master secret: None follows the ServerHello."""
        """The master secret of the session we try to resume (abbreviated handshake)."""
        """The largest record we send (tlsfuzzer SetMaxRecordSize)."""

    # sending

    def send(self, data: bytes) -> Reply:
        """Feed ``data`` to the server; collect its answer."""
        error: TLSError | None = None
        events: list[Event] = []
        try:
            events = self.server.receive_data(data)
        except TLSError as exc:
            error = exc
        raw = self.server.data_to_send()
        return Reply(self._receive(raw), error, events, self.server.state, raw)

    def seal(self, content_type: int, content: bytes) -> bytes:
        """A record as we would send it now: protected once our CCS has gone out."""
        if self.write is None:
            return record(content_type, content)
        return self.write.seal(content_type, content)

    def handshake_record(self, *msgs: bytes, size: int | None = None) -> bytes:
        """``msgs`` in one handshake record (more if longer than ``size``, by default
        :attr:`max_record`), added to the transcript."""
        size = size or self.max_record
        self.transcript += msgs
        data = b"".join(msgs)
        return b"".join(
            self.seal(HANDSHAKE, data[at : at + size]) for at in range(0, len(data), size)
        )

    def _receive(self, data: bytes) -> list[tuple[int, bytes]]:
        out = []
        for content_type, fragment in records(data):
            if self.reading_protected and self.read is not None:
                header = bytes((content_type, 3, 3)) + len(fragment).to_bytes(2, "big")
                content_type, fragment = self.read.open(header, fragment)
            out.append((content_type, fragment))
            if content_type == CCS:
                self.reading_protected = True
                if self.read is None and self.resume_master:  # an abbreviated handshake
                    self.master = self.resume_master
                    assert self.suite is not None and self.server_hello is not None
                    keys = protectors(self.suite, self.master, self.client_random,
                                      self.server_hello.random)  # fmt: skip
                    self.pending_keys = (keys.client_write, keys.server_write)
                    self.read = keys.server_write
            elif content_type == HANDSHAKE:
                self._server_messages(fragment)
        return out

    def _server_messages(self, fragment: bytes) -> None:
        for message in messages(fragment):
            if message[0] == HandshakeType.FINISHED:
                self.server_finished = message[4:]
                self.server_finished_message = message
            else:
                self.transcript.append(message)
            if message[0] == HandshakeType.SERVER_HELLO:
                self.server_hello = decode_handshake(message, version=TLS12)  # type: ignore[assignment]
                assert self.server_hello is not None
                self.suite = ALL_SUITES[self.server_hello.cipher_suite]
            elif message[0] == HandshakeType.SERVER_KEY_EXCHANGE:
                self.ske = decode_handshake(message, version=TLS12)  # type: ignore[assignment]

    # the steps of a handshake

    def hello(self, message: bytes | None = None) -> Reply:
        """Send a ClientHello (by default :func:`client_hello`) in one plaintext record."""
        message = message or client_hello()
        self.client_random = message[6:38]
        return self.send(self.handshake_record(message))

    def server_extension(self, ext_type: int) -> bytes | None:
        """The raw extension_data of ``ext_type`` in the ServerHello, or None."""
        assert self.server_hello is not None
        raw = self.server_hello.raw[4:]
        sid_len = raw[34]
        at = 35 + sid_len + 3
        if at >= len(raw):
            return None
        end = at + 2 + int.from_bytes(raw[at : at + 2], "big")
        at += 2
        while at < end:
            t, n = struct.unpack(">HH", raw[at : at + 4])
            if t == ext_type:
                return raw[at + 4 : at + 4 + n]
            at += 4 + n
        return None

    def client_key_exchange(self) -> bytes:
        """An honest ClientKeyExchange message for the server's key exchange; derives the keys
        (they come into use with :meth:`ccs`)."""
        assert self.ske is not None and self.suite is not None and self.server_hello is not None
        if self.suite.key_exchange == "ECDHE":
            params = self.ske.ecdhe()
            group = group_by_id(params.named_curve)
            assert group is not None
            share = group.generate()
            secret = share.exchange(params.public)
            body = bytes((len(share.public_bytes),)) + share.public_bytes
        else:
            dhe = self.ske.dhe()
            group = ffdhe_by_prime(int.from_bytes(dhe.p, "big"))
            share = group.generate()
            # dh_Ys comes without leading zero octets (RFC 5246 §4); the group wants it padded.
            secret = dh_premaster(share.exchange(dhe.ys.rjust(group.prime_len, b"\x00")))
            body = struct.pack(">H", len(share.public_bytes)) + share.public_bytes
        message = handshake(HandshakeType.CLIENT_KEY_EXCHANGE, body)
        self.derive(secret, message)
        return message

    def derive(self, premaster: bytes, cke: bytes) -> None:
        """The master secret and keys, with ``cke`` as the last message before them."""
        assert self.suite is not None and self.server_hello is not None
        server_random = self.server_hello.random
        use_ems = self.use_ems
        if use_ems is None:
            use_ems = self.server_extension(EXTENDED_MASTER_SECRET) is not None
        if use_ems:
            session_hash = self.hash([*self.transcript, cke])
            self.master = extended_master_secret(self.suite.hash_name, premaster, session_hash)
        else:
            self.master = master_secret(
                self.suite.hash_name, premaster, self.client_random, server_random
            )
        keys = protectors(self.suite, self.master, self.client_random, server_random)
        self.pending_keys = (keys.client_write, keys.server_write)

    def hash(self, msgs: Sequence[bytes]) -> bytes:
        assert self.suite is not None
        return hashlib.new(self.suite.hash_name, b"".join(msgs)).digest()

    def ccs(self, payload: bytes = b"\x01") -> bytes:
        """A ChangeCipherSpec record; later records are protected with the new keys."""
        out = self.seal(CCS, payload)
        assert self.pending_keys is not None
        self.write, self.read = self.pending_keys
        return out

    def finished_message(self, verify_data: bytes | None = None) -> bytes:
        assert self.suite is not None
        if verify_data is None:
            verify_data = finished(
                self.suite, self.master, client=True, handshake_hash=self.hash(self.transcript)
            )
            self.client_verify_data = verify_data
        return handshake(HandshakeType.FINISHED, verify_data)

    def finish(self) -> Reply:
        """ClientKeyExchange, ChangeCipherSpec, Finished, each in its own record."""
        cke = self.client_key_exchange()
        return self.send(self.handshake_record(cke) + self.ccs() + self.finished_record())

    def finished_record(self) -> bytes:
        message = self.finished_message()
        return self.handshake_record(message)

    def full_handshake(self, hello: bytes | None = None) -> Reply:
        reply = self.hello(hello)
        assert reply.error is None, reply.error
        assert reply.handshake_types[-1] == HandshakeType.SERVER_HELLO_DONE
        reply = self.finish()
        assert reply.error is None, reply.error
        assert self.server.state is ConnectionState.APP_DATA
        self.check_server_finished()
        return reply

    def check_server_finished(self) -> None:
        assert self.suite is not None
        expected = finished(
            self.suite, self.master, client=False, handshake_hash=self.hash(self.transcript)
        )
        assert self.server_finished == expected

    def echo(self, data: bytes = b"GET / HTTP/1.0\r\n\r\n") -> Reply:
        """Application data to the server; the test asserts what arrives."""
        reply = self.send(self.seal(APPLICATION_DATA, data))
        assert reply.error is None, reply.error
        assert reply.app_data() == data
        return reply


def ffdhe_by_prime(p: int) -> Group:
    assert p == FFDHE2048.p, "the probes offer ffdhe2048 only"
    return FFDHE2048


def refused(reply: Reply, alert: AlertDescription) -> None:
    """The server answered with the fatal ``alert`` and closed (tlsfuzzer ExpectAlert +
    ExpectClose)."""
    assert reply.alert is alert, (reply.alert, reply.error)
    assert isinstance(reply.error, ProtocolError)
    assert reply.state is ConnectionState.FAILED
