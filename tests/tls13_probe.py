"""Shared test helper: tlsfuzzer's scripted TLS 1.3 client, in memory.

:class:`Probe` plays the client of a ``scripts/test-tls13-*.py`` conversation of the tlsfuzzer
project against our :class:`ServerConnection`: it writes the ClientHello byte by byte, learns
every traffic secret from the server's key log and seals its own records, so it can misbehave
where a real client would not. The encoding helpers build the ClientHellos tlsfuzzer's
generators write (RFC 8446 §4.1.2, §4.2); ``hello_extensions`` takes a ServerHello apart.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Sequence

import pytest

from tls_fixtures import server_cert
from tlsmachine import (
    ApplicationData,
    ConnectionClosed,
    ConnectionState,
    Event,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.certs import CertifiedKey
from tlsmachine.crypto.groups import SECP256R1, Group
from tlsmachine.crypto.suites import CipherSuite, suite_by_id
from tlsmachine.enums import AlertDescription, ContentType, HandshakeType
from tlsmachine.errors import ProtocolError
from tlsmachine.keyschedule import finished_verify_data, hkdf_expand_label, traffic_key_iv
from tlsmachine.messages.tls13 import encode_finished
from tlsmachine.record.protection import Aead13Protector

# -- wire constants (RFC 8446 §4.1.2, §4.2, §B.4) -----------------------------------------------

AES_128_GCM = 0x1301
AES_256_GCM = 0x1302
CHACHA20 = 0x1303
AES_128_CCM = 0x1304
AES_128_CCM_8 = 0x1305
EMPTY_RENEGOTIATION_INFO_SCSV = 0x00FF

EXT_SERVER_NAME = 0
EXT_SUPPORTED_GROUPS = 10
EXT_SIGNATURE_ALGORITHMS = 13
EXT_RECORD_SIZE_LIMIT = 28
EXT_PRE_SHARED_KEY = 41
EXT_EARLY_DATA = 42
EXT_SUPPORTED_VERSIONS = 43
EXT_COOKIE = 44
EXT_PSK_KEY_EXCHANGE_MODES = 45
EXT_POST_HANDSHAKE_AUTH = 49
EXT_SIGNATURE_ALGORITHMS_CERT = 50
EXT_KEY_SHARE = 51

TLS13 = 0x0304
TLS12 = 0x0303

RSA_PSS_SCHEMES = (0x0804, 0x0809)  # rsa_pss_rsae_sha256, rsa_pss_pss_sha256
CERT_SCHEMES = (0x0804, 0x0805, 0x0806, 0x0809, 0x080A, 0x080B, 0x0401, 0x0501, 0x0601)

HANDSHAKE = int(ContentType.HANDSHAKE)
CCS = int(ContentType.CHANGE_CIPHER_SPEC)
ALERT = int(ContentType.ALERT)
APPLICATION_DATA = int(ContentType.APPLICATION_DATA)


# -- encoding helpers ---------------------------------------------------------------------------


def vector(length_bytes: int, body: bytes) -> bytes:
    """A TLS variable-length vector: a ``length_bytes``-byte length, then ``body``."""
    return len(body).to_bytes(length_bytes, "big") + body


def u16s(values: Iterable[int]) -> bytes:
    return b"".join(v.to_bytes(2, "big") for v in values)


def extension(ext_type: int, data: bytes) -> bytes:
    return ext_type.to_bytes(2, "big") + vector(2, data)


def handshake(msg_type: int, body: bytes) -> bytes:
    return bytes([msg_type]) + vector(3, body)


def record(content_type: int, body: bytes, version: int = TLS12) -> bytes:
    return bytes([content_type]) + version.to_bytes(2, "big") + vector(2, body)


def key_share_entry(group: Group) -> bytes:
    return group.id.to_bytes(2, "big") + vector(2, group.generate().public_bytes)


Extensions = list[tuple[int, bytes]]


def tls13_extensions(
    groups: Sequence[Group] = (SECP256R1,),
    *,
    shares: Sequence[Group] | None = None,
    schemes: Sequence[int] = RSA_PSS_SCHEMES,
) -> Extensions:
    """The extensions of tlsfuzzer's usual TLS 1.3 ClientHello: key_share, supported_versions
    (TLS 1.3, TLS 1.2), supported_groups, signature_algorithms, signature_algorithms_cert."""
    shares = groups if shares is None else shares
    return [
        (EXT_KEY_SHARE, vector(2, b"".join(key_share_entry(g) for g in shares))),
        (EXT_SUPPORTED_VERSIONS, vector(1, u16s((TLS13, TLS12)))),
        (EXT_SUPPORTED_GROUPS, vector(2, u16s(g.id for g in groups))),
        (EXT_SIGNATURE_ALGORITHMS, vector(2, u16s(schemes))),
        (EXT_SIGNATURE_ALGORITHMS_CERT, vector(2, u16s(CERT_SCHEMES))),
    ]


def client_hello(
    suites: Sequence[int] = (AES_128_GCM, EMPTY_RENEGOTIATION_INFO_SCSV),
    extensions: Extensions | None = None,
    *,
    session_id: bytes = bytes(range(32)),
    compression: bytes = b"\x00",
    legacy_version: int = TLS12,
) -> bytes:
    """A ClientHello handshake message (header included, RFC 8446 §4.1.2)."""
    extensions = tls13_extensions() if extensions is None else extensions
    body = legacy_version.to_bytes(2, "big") + bytes(range(32, 64))
    body += vector(1, session_id) + vector(2, u16s(suites)) + vector(1, compression)
    body += vector(2, b"".join(extension(t, d) for t, d in extensions))
    return handshake(HandshakeType.CLIENT_HELLO, body)


def rsa_certificate() -> CertifiedKey:
    """An RSA certificate, as the servers tlsfuzzer's TLS 1.3 scripts are run against have
    (their ClientHellos offer only RSA-PSS signatures): the shared one."""
    return server_cert("rsa-2048")


# -- the scripted client ------------------------------------------------------------------------


class Probe:
    """tlsfuzzer's scripted client, in memory: it feeds the server bytes it wrote itself and
    reads the server's answer with keys taken from the server's key log."""

    def __init__(self, **config: object) -> None:
        self.secrets: dict[str, bytes] = {}

        def keylog(line: str) -> None:
            label, _, secret = line.split()
            self.secrets[label] = bytes.fromhex(secret)

        settings: dict[str, object] = {"certificates": (rsa_certificate(),), "keylog": keylog}
        settings.update(config)
        self.server = ServerConnection(ServerConfig(**settings))  # type: ignore[arg-type]
        self.transcript = b""
        self.suite: CipherSuite | None = None
        self.reader: Aead13Protector | None = None  # opens the server's protected records
        self.writer: Aead13Protector | None = None  # seals ours
        self.received: list[tuple[int, bytes]] = []  # (content type, content) from the server
        self.messages: list[bytes] = []  # the server's handshake messages
        self.events: list[Event] = []
        self.write_secret = b""
        self.read_secret = b""

    # key material

    def protector(self, secret: bytes) -> Aead13Protector:
        assert self.suite is not None
        key, iv = traffic_key_iv(self.suite, secret)
        return Aead13Protector(self.suite.aead(key), iv)

    def next_secret(self, secret: bytes) -> bytes:
        """application_traffic_secret_N+1 (RFC 8446 §7.2)."""
        assert self.suite is not None
        return hkdf_expand_label(
            self.suite.hash_name, secret, b"traffic upd", b"", self.suite.hash_len
        )

    def use_handshake_keys(self) -> None:
        self.writer = self.protector(self.secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"])

    def use_application_keys(self) -> None:
        self.write_secret = self.secrets["CLIENT_TRAFFIC_SECRET_0"]
        self.writer = self.protector(self.write_secret)

    def key_update(self, request_update: int) -> bytes:
        """A KeyUpdate record under the current keys; later records use the next ones."""
        sealed = self.sealed(
            HANDSHAKE, handshake(HandshakeType.KEY_UPDATE, bytes([request_update]))
        )
        self.write_secret = self.next_secret(self.write_secret)
        self.writer = self.protector(self.write_secret)
        return sealed

    # sending

    def send(self, data: bytes) -> list[Event]:
        """Give the server ``data``; collect its events and read its answer."""
        try:
            events = self.server.receive_data(data)
        finally:
            self.read()
        self.events += events
        return events

    def send_hello(self, hello: bytes | None = None) -> list[Event]:
        hello = client_hello() if hello is None else hello
        self.transcript += hello
        return self.send(record(HANDSHAKE, hello, version=0x0301))

    def sealed(self, content_type: int, content: bytes, padding: int = 0) -> bytes:
        assert self.writer is not None
        return self.writer.seal(content_type, content, padding)

    def finished(self) -> bytes:
        """Our Finished message over the transcript so far (RFC 8446 §4.4.4)."""
        assert self.suite is not None
        digest = hashlib.new(self.suite.hash_name, self.transcript).digest()
        verify_data = finished_verify_data(
            self.suite.hash_name, self.secrets["CLIENT_HANDSHAKE_TRAFFIC_SECRET"], digest
        )
        return encode_finished(verify_data)

    def send_finished(self, message: bytes | None = None) -> list[Event]:
        self.use_handshake_keys()
        message = self.finished() if message is None else message
        events = self.send(self.sealed(HANDSHAKE, message))
        self.use_application_keys()
        return events

    def handshake(self, hello: bytes | None = None) -> None:
        """A complete, correct handshake."""
        self.send_hello(hello)
        assert self.server_finished
        self.send_finished()
        assert self.server.state is ConnectionState.APP_DATA

    # reading

    @property
    def server_hello(self) -> bytes | None:
        hellos = [m for m in self.messages if m[0] == HandshakeType.SERVER_HELLO]
        return hellos[-1] if hellos else None

    @property
    def server_finished(self) -> bool:
        return any(m[0] == HandshakeType.FINISHED for m in self.messages)

    def read(self) -> None:
        data = self.server.data_to_send()
        while data:
            end = 5 + int.from_bytes(data[3:5], "big")
            header, fragment, data = data[:5], data[5:end], data[end:]
            content_type = header[0]
            if content_type == APPLICATION_DATA and self.reader is not None:
                content_type, content = self.reader.open(header, fragment)
                content = bytes(content)
            else:
                content = fragment
            self.received.append((content_type, content))
            if content_type == HANDSHAKE:
                self._handshake_messages(content)

    def _handshake_messages(self, content: bytes) -> None:
        while content:
            end = 4 + int.from_bytes(content[1:4], "big")
            message, content = content[:end], content[end:]
            self.messages.append(message)
            kind = message[0]
            if kind == HandshakeType.NEW_SESSION_TICKET:
                continue
            if kind == HandshakeType.KEY_UPDATE:
                self.read_secret = self.next_secret(self.read_secret)
                self.reader = self.protector(self.read_secret)
                continue
            self.transcript += message
            if kind == HandshakeType.SERVER_HELLO:
                self.suite = suite_by_id(int.from_bytes(message[4 + 2 + 32 + 1 + 32 :][:2], "big"))
                if message[6:38] == HRR_RANDOM:
                    self._hello_retry_request(message)
                    continue
                self.reader = self.protector(self.secrets["SERVER_HANDSHAKE_TRAFFIC_SECRET"])
            elif kind == HandshakeType.FINISHED:
                self.read_secret = self.secrets["SERVER_TRAFFIC_SECRET_0"]
                self.reader = self.protector(self.read_secret)

    def _hello_retry_request(self, message: bytes) -> None:
        """RFC 8446 §4.4.1: ClientHello1 is replaced by a message_hash in the transcript."""
        assert self.suite is not None
        first = self.transcript[: -len(message)]
        digest = hashlib.new(self.suite.hash_name, first).digest()
        self.transcript = bytes([254]) + vector(3, digest) + message

    @property
    def alerts(self) -> list[tuple[int, int]]:
        return [(c[0], c[1]) for t, c in self.received if t == ALERT]

    @property
    def application_data(self) -> bytes:
        return b"".join(c for t, c in self.received if t == APPLICATION_DATA)

    # expectations

    def expect_alert(
        self, data: bytes | Callable[[], object], description: AlertDescription
    ) -> None:
        """tlsfuzzer's ExpectAlert(fatal, description) + ExpectClose: ``data`` makes the server
        fail with exactly that alert, and it is the last thing on the wire."""
        action = data if callable(data) else functools.partial(self.send, data)
        with pytest.raises(ProtocolError) as info:
            action()
        assert info.value.alert is description, info.value
        assert self.alerts and self.alerts[-1] == (2, description)
        assert self.server.state is ConnectionState.FAILED

    def echo(self) -> None:
        """Play an echo application: what the client wrote goes back (tlsfuzzer's scripts
        expect an answer to their ``GET / HTTP/1.0``)."""
        data = b"".join(e.data for e in self.events if isinstance(e, ApplicationData))
        self.events.clear()
        if data:
            self.server.send(data)
            self.read()

    def close(self) -> None:
        """close_notify from us; the server answers with its own (RFC 8446 §6.1)."""
        events = self.send(self.sealed(ALERT, bytes([1, AlertDescription.CLOSE_NOTIFY])))
        assert events == [ConnectionClosed()]
        self.server.close()
        self.read()
        assert self.alerts[-1] == (1, AlertDescription.CLOSE_NOTIFY)


HRR_RANDOM = hashlib.sha256(b"HelloRetryRequest").digest()

GET = b"GET / HTTP/1.0\r\n\r\n"


def conversation(probe: Probe, *records: bytes, request: bytes = GET) -> None:
    """The end of tlsfuzzer's "sanity" conversation: the client's records (its request), an
    answer from the application, close_notify both ways."""
    for data in records:
        probe.send(data)
    probe.echo()
    assert probe.application_data == request
    probe.close()


def hello_extensions(hello: bytes) -> list[tuple[int, bytes]]:
    """The extensions of a ServerHello / HelloRetryRequest message."""
    pos = 4 + 2 + 32
    pos += 1 + hello[pos]  # legacy_session_id_echo
    pos += 3  # cipher_suite, legacy_compression_method
    end = pos + 2 + int.from_bytes(hello[pos : pos + 2], "big")
    pos += 2
    out = []
    while pos < end:
        ext_type = int.from_bytes(hello[pos : pos + 2], "big")
        size = int.from_bytes(hello[pos + 2 : pos + 4], "big")
        out.append((ext_type, hello[pos + 4 : pos + 4 + size]))
        pos += 4 + size
    return out


def hello_extension_types(hello: bytes) -> set[int]:
    return {t for t, _ in hello_extensions(hello)}


def hello_extension(hello: bytes, ext_type: int) -> bytes:
    (data,) = [d for t, d in hello_extensions(hello) if t == ext_type]
    return data
