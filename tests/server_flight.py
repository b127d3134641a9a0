"""Shared test helper: our ServerConnection writes a flight, the test edits it as a misbehaving
server would, and feeds it to a ClientConnection.

For TLS 1.3 (:class:`Flight13`) the plaintext ServerHello is decoded, changed and re-encoded
(:func:`hello_record`, :meth:`Flight13.server_hello_with`); the encrypted part is opened with the
server's logged handshake secret, edited and sealed again (:meth:`Flight13.sealed`), with the
CertificateVerify and the Finished recomputed when the handshake has to succeed
(:meth:`Flight13.refinished`). :class:`Established` is a client already in APP_DATA with the
server's application-traffic sealer. For TLS 1.2 (:class:`Handshake12`) the plaintext flight is
edited directly and the records after the ChangeCipherSpec are sealed with keys from the logged
master secret (``CLIENT_RANDOM``). :func:`rejects` and :func:`aborts` check the client's abort.

Used by tests/integration/test_bogo_client.py, test_bogo_client2.py, test_bogo_round3.py,
test_anvil_client13.py (TLS 1.3) and test_anvil_client12.py (TLS 1.2); the record and message
framing comes from tests/wire.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import struct
from collections.abc import Callable
from typing import Any

import pytest

from memory_pair import pump
from tls_fixtures import server_cert
from tlsmachine import (
    CertifiedKey,
    ClientConfig,
    ClientConnection,
    ConnectionState,
    HandshakeComplete,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.crypto.groups import SECP384R1, X25519, Group, PrivateKeyShare
from tlsmachine.crypto.signatures import certificate_verify_input, sign
from tlsmachine.crypto.suites import (
    TLS_AES_128_GCM_SHA256,
    CipherSuite,
    CipherSuite12,
    suite12_by_id,
)
from tlsmachine.enums import AlertDescription, ContentType, HandshakeType, ProtocolVersion
from tlsmachine.errors import ProtocolError
from tlsmachine.extensions import Extension, KeyShareClientHello, UnknownExtension
from tlsmachine.handshake12 import Protectors12, protectors, server_key_exchange_input
from tlsmachine.keyschedule import EarlySecret, finished_key, finished_mac, traffic_key_iv
from tlsmachine.messages import HandshakeMessage, decode_handshake, encode_handshake
from tlsmachine.messages.hello import ClientHello, ServerHello
from tlsmachine.messages.tls12 import ServerKeyExchange
from tlsmachine.messages.tls13 import CertificateVerify, EncryptedExtensions, NewSessionTicket
from tlsmachine.prf import key_block, verify_data
from tlsmachine.record.protection import MAX_PLAINTEXT, Aead13Protector
from wire import APPLICATION_DATA, CCS, HANDSHAKE, messages, plaintext_alert, record, records

SUITE = TLS_AES_128_GCM_SHA256
"""The suite of the TLS 1.3 tests, so that record keys follow from the logged secrets."""

TLS12 = ProtocolVersion.TLS12

# -- keys, records, messages -------------------------------------------------------------------


def keylog_into(secrets: dict[str, bytes]) -> Callable[[str], None]:
    """A ``keylog`` callback keeping the latest secret of each label."""

    def keylog(line: str) -> None:
        label, _, secret = line.split()
        secrets[label] = bytes.fromhex(secret)

    return keylog


def sealer(secret: bytes, suite: CipherSuite = SUITE) -> Aead13Protector:
    """Record protection under ``secret``, from its first record on (RFC 8446 §7.3)."""
    key, iv = traffic_key_iv(suite, secret)
    return Aead13Protector(suite.aead(key), iv)


def raw_sealed(secret: bytes, seq: int, inner: bytes, suite: CipherSuite = SUITE) -> bytes:
    """A TLSCiphertext of any TLSInnerPlaintext ``inner``, no size check (RFC 8446 §5.2)."""
    key, iv = traffic_key_iv(suite, secret)
    nonce = (int.from_bytes(iv, "big") ^ seq).to_bytes(12, "big")
    header = bytes((APPLICATION_DATA, 3, 3)) + (len(inner) + 16).to_bytes(2, "big")
    return header + suite.aead(key).encrypt(nonce, inner, header)


def opened(secret: bytes, data: bytes, suite: CipherSuite = SUITE) -> list[tuple[int, bytes]]:
    """The protected records of ``data`` (plaintext ones skipped), opened under ``secret``:
    (inner content type, content) per record."""
    opener, out = sealer(secret, suite), []
    for content_type, body in records(data):
        if content_type != APPLICATION_DATA:
            continue
        header = bytes((content_type, 3, 3)) + len(body).to_bytes(2, "big")
        inner_type, content = opener.open(header, body)
        out.append((int(inner_type), bytes(content)))
    return out


def frame(msg_type: int, body: bytes) -> bytes:
    """A handshake message: type, 24-bit length, body (RFC 8446 §4, RFC 5246 §7.4)."""
    return bytes((msg_type,)) + len(body).to_bytes(3, "big") + body


def encoded(message: HandshakeMessage | bytes) -> bytes:
    """``message`` as bytes (encoded unless it already is)."""
    return message if isinstance(message, bytes) else encode_handshake(message)


# -- configs and certificates ------------------------------------------------------------------


def client_config(**kwargs: Any) -> ClientConfig:
    """A TLS 1.3 client offering only :data:`SUITE`, certificate checks off."""
    return ClientConfig(**{"verify_certificates": False, "cipher_suites": (SUITE,), **kwargs})


def server_config(**kwargs: Any) -> ServerConfig:
    """A server with the ECDSA test certificate and no tickets."""
    return ServerConfig(**{"certificates": (server_cert(),), "session_tickets": 0, **kwargs})


def rsa_cert() -> CertifiedKey:
    """The shared RSA-2048 certificate for "localhost"."""
    return server_cert("rsa-2048")


# -- what the client does with it --------------------------------------------------------------


def rejects(
    client: ClientConnection,
    data: bytes,
    alert: AlertDescription | None,
    *,
    plaintext: bool = False,
    sends_alert: bool = False,
) -> ProtocolError:
    """``client`` aborts on ``data`` with ``alert`` (any fatal alert if ``None``); with
    ``plaintext`` it sends that alert in the clear (before any keys), with ``sends_alert`` it
    sends something (the alert, protected)."""
    with pytest.raises(ProtocolError) as info:
        client.receive_data(data)
    error = info.value
    if alert is not None:
        assert error.alert is alert, repr(error)
    assert client.state is ConnectionState.FAILED
    if plaintext:
        assert client.data_to_send() == plaintext_alert(error.alert)
    elif sends_alert:
        assert client.data_to_send(), "no alert was sent"
    return error


def aborts(conn: ClientConnection | ServerConnection, data: bytes) -> ProtocolError:
    """``conn`` aborts on ``data`` (for tests that check no alert); the error."""
    with pytest.raises(ProtocolError) as info:
        conn.receive_data(data)
    assert conn.state is ConnectionState.FAILED
    return info.value


def completes(client: ClientConnection, data: bytes) -> HandshakeComplete:
    """``client`` completes its handshake on ``data``; the event."""
    events = client.receive_data(data)
    done = [e for e in events if isinstance(e, HandshakeComplete)]
    assert done, events
    assert client.state is ConnectionState.APP_DATA
    return done[0]


# -- TLS 1.3 -----------------------------------------------------------------------------------


def hello_record(hello: ServerHello, **changes: Any) -> bytes:
    """``hello`` (a ServerHello or HelloRetryRequest) with ``changes``, in a plaintext record."""
    return record(HANDSHAKE, encode_handshake(dataclasses.replace(hello, raw=b"", **changes)))


def with_extensions(
    extensions: tuple[Extension, ...], *added: Extension, drop: tuple[type, ...] = ()
) -> tuple[Extension, ...]:
    """``extensions`` without those of a type in ``drop`` or of a type in ``added``, then
    ``added`` (an UnknownExtension replaces nothing: it is only appended)."""
    removed = drop + tuple(type(e) for e in added if not isinstance(e, UnknownExtension))
    return (*(e for e in extensions if not isinstance(e, removed)), *added)


def ticket(
    lifetime: int = 3600, *extensions: Extension, value: bytes = b"ticket", age_add: int = 7
) -> NewSessionTicket:
    """A NewSessionTicket (nonce 00) with ``extensions``."""
    return NewSessionTicket(lifetime, age_add, b"\x00", value, tuple(extensions))


@dataclasses.dataclass
class Flight13:
    """A client, and the first TLS 1.3 flight our server wrote to it, taken apart."""

    client: ClientConnection
    server: ServerConnection
    client_hello: bytes
    """The ClientHello the server answered (the second one after a HelloRetryRequest)."""
    server_hello: ServerHello
    plain: list[bytes]
    """ServerHello and change_cipher_spec records, as sent."""
    flight: list[bytes]
    """The encrypted handshake messages: EncryptedExtensions .. Finished."""
    secrets: dict[str, bytes]
    suite: CipherSuite
    server_key: CertifiedKey
    """The server's (first) certificate and key."""
    server_shares: list[PrivateKeyShare]
    """The server's key shares, in the order it made them."""

    @classmethod
    def start(
        cls,
        client: ClientConfig | None = None,
        server: ServerConfig | None = None,
        server_name: str = "localhost",
        suite: CipherSuite = SUITE,
    ) -> Flight13:
        """Run ``client`` (:func:`client_config`) against ``server`` (:func:`server_config`)
        up to the server's first flight (after a HelloRetryRequest, its second)."""
        secrets: dict[str, bytes] = {}
        shares: list[PrivateKeyShare] = []
        base = server or server_config()
        make_share = base.key_share_factory

        def factory(group: Group) -> PrivateKeyShare:
            shares.append(make_share(group))
            return shares[-1]

        conn = ClientConnection(client or client_config(), server_name)
        srv = ServerConnection(
            dataclasses.replace(base, keylog=keylog_into(secrets), key_share_factory=factory)
        )
        hello = next(body for t, body in records(conn.data_to_send()) if t == HANDSHAKE)
        srv.receive_data(record(HANDSHAKE, hello))
        out = srv.data_to_send()
        first = decode_handshake(records(out)[0][1])
        if isinstance(first, ServerHello) and first.is_hello_retry_request:
            conn.receive_data(out)
            hello = next(body for t, body in records(conn.data_to_send()) if t == HANDSHAKE)
            srv.receive_data(record(HANDSHAKE, hello))
            out = srv.data_to_send()
        plain = [record(t, b) for t, b in records(out) if t != APPLICATION_DATA]
        flight = []
        for content_type, content in opened(secrets["SERVER_HANDSHAKE_TRAFFIC_SECRET"], out, suite):
            assert content_type == ContentType.HANDSHAKE
            flight += messages(content)
        server_hello = decode_handshake(records(plain[0])[0][1])
        assert isinstance(server_hello, ServerHello)
        key = base.certificates[0] if base.certificates else server_cert()
        return cls(conn, srv, hello, server_hello, plain, flight, secrets, suite, key, shares)

    @property
    def hs_secret(self) -> bytes:
        """The server's handshake traffic secret."""
        return self.secrets["SERVER_HANDSHAKE_TRAFFIC_SECRET"]

    def find(self, msg_type: int) -> int:
        return next(i for i, m in enumerate(self.flight) if m[0] == msg_type)

    def decoded(self, msg_type: int) -> Any:
        return decode_handshake(self.flight[self.find(msg_type)])

    def sealed(
        self,
        flight: list[bytes],
        plain: list[bytes] | None = None,
        *,
        secret: bytes | None = None,
        pad: int = 0,
        suite: CipherSuite | None = None,
        size: int = MAX_PLAINTEXT,
    ) -> bytes:
        """``flight`` after the plaintext records (:attr:`plain` unless given), sealed under
        ``secret`` (the server's handshake secret) as handshake records of ``size`` bytes at
        most (one record unless the flight is larger), each with ``pad`` bytes of padding."""
        protector = sealer(secret or self.hs_secret, suite or self.suite)
        data = b"".join(flight)
        chunks = [data[i : i + size] for i in range(0, len(data), size)] or [data]
        protected = b"".join(protector.seal(ContentType.HANDSHAKE, c, pad) for c in chunks)
        return b"".join(self.plain if plain is None else plain) + protected

    def each_sealed(self, *fragments: tuple[int, bytes]) -> bytes:
        """The plaintext records, then one protected record per (inner type, content)."""
        protector = sealer(self.hs_secret, self.suite)
        return b"".join(self.plain) + b"".join(protector.seal(t, c) for t, c in fragments)

    def without(self, *msg_types: int) -> list[bytes]:
        """The flight without the messages of ``msg_types``."""
        return [m for m in self.flight if m[0] not in msg_types]

    def replaced(self, msg_type: int, message: HandshakeMessage | bytes) -> list[bytes]:
        """The flight with the message of ``msg_type`` replaced (not re-finished)."""
        flight = list(self.flight)
        flight[self.find(msg_type)] = encoded(message)
        return flight

    def replaced_sealed(self, msg_type: int, message: HandshakeMessage | bytes) -> bytes:
        """:meth:`replaced`, sealed: the whole flight as sent."""
        return self.sealed(self.replaced(msg_type, message))

    def refinished(
        self,
        flight: list[bytes],
        *,
        server_hello: bytes | None = None,
        secret: bytes | None = None,
        resign: bool = True,
        key: Any = None,
    ) -> list[bytes]:
        """``flight`` with its CertificateVerify signed again over the new transcript (with the
        same scheme, by ``key``, the server's own by default; kept as it is unless ``resign``)
        and its Finished recomputed (under ``secret``, the handshake secret by default).
        ``server_hello`` is the encoded ServerHello message, if not the one sent."""
        name = self.suite.hash_name
        hello_bytes = server_hello or records(self.plain[0])[0][1]
        transcript = hashlib.new(name, self.client_hello + hello_bytes)
        out = []
        for message in flight:
            if message[0] == HandshakeType.CERTIFICATE_VERIFY and resign:
                cv = decode_handshake(message)
                assert isinstance(cv, CertificateVerify)
                content = certificate_verify_input(transcript.digest(), server=True)
                signature = sign(cv.algorithm, key or self.server_key.private_key, content)
                message = encode_handshake(CertificateVerify(cv.algorithm, signature))
            elif message[0] == HandshakeType.FINISHED:
                base = finished_key(name, secret or self.hs_secret)
                message = frame(
                    HandshakeType.FINISHED, finished_mac(name, base, transcript.digest())
                )
            transcript.update(message)
            out.append(message)
        return out

    def resigned(self, algorithm: int, signer: Callable[[bytes], bytes]) -> list[bytes]:
        """The flight with a CertificateVerify of ``algorithm`` made by ``signer`` over the
        right content, and the Finished recomputed."""
        at = self.find(HandshakeType.CERTIFICATE_VERIFY)
        hello_bytes = records(self.plain[0])[0][1]
        transcript = hashlib.new(self.suite.hash_name, self.client_hello + hello_bytes)
        for message in self.flight[:at]:
            transcript.update(message)
        content = certificate_verify_input(transcript.digest(), server=True)
        cv = encode_handshake(CertificateVerify(algorithm, signer(content)))
        return self.refinished([*self.flight[:at], cv, *self.flight[at + 1 :]], resign=False)

    def with_ee(self, *extensions: Extension, replace: bool = False) -> bytes:
        """The flight with EncryptedExtensions carrying ``extensions`` (besides its own unless
        ``replace``), sealed."""
        ee = self.decoded(HandshakeType.ENCRYPTED_EXTENSIONS)
        kept = () if replace else ee.extensions
        changed = EncryptedExtensions(extensions=(*kept, *extensions))
        return self.replaced_sealed(HandshakeType.ENCRYPTED_EXTENSIONS, changed)

    def server_hello_with(
        self, *extensions: Extension, drop: tuple[type, ...] = (), **changes: Any
    ) -> bytes:
        """Only the ServerHello, with ``extensions`` added (or replacing their kind, see
        :func:`with_extensions`) and its fields ``changes``."""
        extended = with_extensions(self.server_hello.extensions, *extensions, drop=drop)
        return hello_record(self.server_hello, extensions=extended, **changes)

    def rekeyed(self, server_hello: bytes) -> bytes:
        """The whole flight, answering with the encoded ``server_hello`` instead: handshake
        secrets derived again over the new transcript, CertificateVerify and Finished redone."""
        hello = decode_handshake(self.client_hello)
        assert isinstance(hello, ClientHello)
        theirs = hello.get(KeyShareClientHello)
        assert theirs is not None
        share = self.server_shares[-1]
        peer = next(e.key_exchange for e in theirs.client_shares if e.group == share.group.id)
        secrets = EarlySecret.from_psk(self.suite, None).handshake(share.exchange(peer))
        th = hashlib.new(self.suite.hash_name, self.client_hello + server_hello).digest()
        secret = secrets.server_handshake_traffic_secret(th)
        flight = self.refinished(self.flight, server_hello=server_hello, secret=secret)
        protected = sealer(secret, self.suite).seal(ContentType.HANDSHAKE, b"".join(flight))
        return b"".join([record(HANDSHAKE, server_hello), *self.plain[1:], protected])


def retry_client(**client_kwargs: Any) -> tuple[ClientConnection, ServerHello]:
    """A client that offered an x25519 share, and our HelloRetryRequest for secp384r1."""
    config = client_config(**{"groups": (X25519, SECP384R1), **client_kwargs})
    client = ClientConnection(config, "localhost")
    server = ServerConnection(server_config(groups=(SECP384R1,)))
    server.receive_data(client.data_to_send())
    hrr = decode_handshake(records(server.data_to_send())[0][1])
    assert isinstance(hrr, ServerHello) and hrr.is_hello_retry_request
    return client, hrr


def retry_flight(**client_kwargs: Any) -> Flight13:
    """The flight that answers the second ClientHello, after a HelloRetryRequest for
    secp384r1."""
    config = client_config(**{"groups": (X25519, SECP384R1), **client_kwargs})
    flight = Flight13.start(config, server_config(groups=(SECP384R1,)))
    hello = decode_handshake(flight.client_hello)
    assert isinstance(hello, ClientHello)
    shares = hello.get(KeyShareClientHello)
    assert shares is not None and shares.client_shares[0].group == SECP384R1.id
    return flight


@dataclasses.dataclass
class Established:
    """A TLS 1.3 client in APP_DATA, and the server's application-traffic sealer."""

    client: ClientConnection
    server_sealer: Aead13Protector
    secrets: dict[str, bytes]

    @classmethod
    def start(cls, **client_kwargs: Any) -> Established:
        secrets: dict[str, bytes] = {}
        config = client_config(keylog=keylog_into(secrets), **client_kwargs)
        client = ClientConnection(config, "localhost")
        pump(client, ServerConnection(server_config()))  # session_tickets=0: nothing sealed yet
        assert client.state is ConnectionState.APP_DATA
        return cls(client, sealer(secrets["SERVER_TRAFFIC_SECRET_0"]), secrets)

    def seal(
        self, message: HandshakeMessage | bytes, content_type: int = ContentType.HANDSHAKE
    ) -> bytes:
        """The server's next protected record of ``message`` (encoded unless bytes)."""
        return self.server_sealer.seal(content_type, encoded(message))


# -- TLS 1.2 -----------------------------------------------------------------------------------

TLS12_FIRST_FLIGHT: tuple[tuple[HandshakeType, bool, str], ...] = (
    (HandshakeType.SERVER_HELLO, False, "ServerHello"),
    (HandshakeType.CERTIFICATE, False, "ServerCertificate"),
    (HandshakeType.SERVER_KEY_EXCHANGE, False, "ServerKeyExchange"),
    (HandshakeType.CERTIFICATE_REQUEST, True, "CertificateRequest"),
    (HandshakeType.SERVER_HELLO_DONE, False, "ServerHelloDone"),
)
"""The messages of our TLS 1.2 server's first flight (RFC 5246 §7.3): type, whether the
server must ask for a client certificate to send it, and BoGo's name for it."""


@dataclasses.dataclass
class Handshake12:
    """A TLS 1.2 client, our server, and the server's flights, ready to be edited.

    :meth:`start` stops after the server's first flight (:attr:`flight`, ServerHello ..
    ServerHelloDone); :meth:`finish` hands the client that flight (or an edited one), passes its
    answer (:attr:`client_flight`) to the server and keeps the server's last flight
    (:attr:`last`: ``[NewSessionTicket], ChangeCipherSpec, Finished``), so that a test can
    rebuild it (:meth:`server_finished`, :meth:`server_record`)."""

    client: ClientConnection
    server: ServerConnection
    hello_records: bytes
    """Everything the client sent first (its ClientHello)."""
    flight: bytes
    secrets: dict[str, bytes]
    client_flight: bytes = b""
    last: bytes = b""

    @classmethod
    def start(
        cls, client: ClientConfig, server: ServerConfig, server_name: str = "localhost"
    ) -> Handshake12:
        secrets: dict[str, bytes] = {}
        conn = ClientConnection(client, server_name)
        srv = ServerConnection(dataclasses.replace(server, keylog=keylog_into(secrets)))
        hello = conn.data_to_send()
        srv.receive_data(hello)
        return cls(conn, srv, hello, srv.data_to_send(), secrets)

    # -- the plaintext flight

    @property
    def client_hello_message(self) -> bytes:
        """The ClientHello message (raw, with its header)."""
        return next(m for t, b in records(self.hello_records) if t == HANDSHAKE
                    for m in messages(b))  # fmt: skip

    @property
    def client_hello(self) -> ClientHello:
        hello = decode_handshake(self.client_hello_message)
        assert isinstance(hello, ClientHello)
        return hello

    @property
    def server_messages(self) -> list[bytes]:
        """ServerHello .. ServerHelloDone as sent (raw, with headers)."""
        return [m for t, b in records(self.flight) if t == HANDSHAKE for m in messages(b)]

    def message(self, msg_type: int) -> bytes:
        return next(m for m in self.server_messages if m[0] == msg_type)

    @property
    def server_hello(self) -> ServerHello:
        hello = decode_handshake(self.message(HandshakeType.SERVER_HELLO), version=TLS12)
        assert isinstance(hello, ServerHello)
        return hello

    @property
    def suite(self) -> CipherSuite12:
        suite = suite12_by_id(self.server_hello.cipher_suite)
        assert suite is not None
        return suite

    def replaced(self, msg_type: int, new: bytes | None) -> bytes:
        """The flight, each message in a record of its own, that of ``msg_type`` replaced by
        ``new`` (``None`` drops it)."""
        out = []
        for m in self.server_messages:
            if m[0] == msg_type:
                if new is not None:
                    out.append(record(HANDSHAKE, new))
            else:
                out.append(record(HANDSHAKE, m))
        return b"".join(out)

    def hello_with(self, **changes: Any) -> bytes:
        """The flight with the ServerHello's fields changed (re-encoded)."""
        hello = dataclasses.replace(self.server_hello, raw=b"", **changes)
        return self.replaced(HandshakeType.SERVER_HELLO, encode_handshake(hello))

    def hello_extensions(self, change: Callable[[list[tuple[int, bytes]]], Any]) -> bytes:
        """The flight with the ServerHello's raw extension list changed in place by
        ``change`` (a list of (type, data) pairs)."""
        body = self.message(HandshakeType.SERVER_HELLO)[4:]
        at = 35 + body[34] + 3
        head, block = body[:at], body[at + 2 :]
        exts: list[tuple[int, bytes]] = []
        while block:
            t, n = struct.unpack(">HH", block[:4])
            exts.append((t, block[4 : 4 + n]))
            block = block[4 + n :]
        change(exts)
        encoded_exts = b"".join(struct.pack(">HH", t, len(d)) + d for t, d in exts)
        new = head + struct.pack(">H", len(encoded_exts)) + encoded_exts
        return self.replaced(HandshakeType.SERVER_HELLO, frame(HandshakeType.SERVER_HELLO, new))

    def resigned(self, params: bytes, scheme: int | None = None) -> bytes:
        """The flight with a ServerKeyExchange of ``params``, signed properly with the server's
        key (:func:`rsa_cert` for an RSA suite, else the ECDSA test certificate): what a server
        that chose those values would send."""
        ske = ServerKeyExchange(body=self.message(HandshakeType.SERVER_KEY_EXCHANGE)[4:])
        dhe = self.suite.key_exchange == "DHE"
        algorithm = (ske.dhe() if dhe else ske.ecdhe()).algorithm
        scheme = algorithm if scheme is None else scheme
        key = (rsa_cert() if "RSA" in self.suite.name else server_cert()).private_key
        content = server_key_exchange_input(
            self.client_hello.random, self.server_hello.random, params
        )
        new = ServerKeyExchange.signed(params, scheme, sign(scheme, key, content, tls13=False))
        return self.replaced(HandshakeType.SERVER_KEY_EXCHANGE, encode_handshake(new))

    # -- the rest of the handshake

    def answer(self, flight: bytes | None = None) -> bytes:
        """The client's flight for the (honest) server flight."""
        self.client.receive_data(self.flight if flight is None else flight)
        return self.client.data_to_send()

    def finish(self, flight: bytes | None = None) -> bytes:
        """The server's last flight (:attr:`last`) after the client's answer to ``flight``
        (the honest one by default)."""
        self.client_flight = self.answer(flight)
        self.server.receive_data(self.client_flight)
        self.last = self.server.data_to_send()
        return self.last

    def established(self) -> Handshake12:
        self.client.receive_data(self.finish())
        assert self.client.state is ConnectionState.APP_DATA
        return self

    @property
    def master(self) -> bytes:
        return self.secrets["CLIENT_RANDOM"]

    def keys(self) -> Protectors12:
        """Both directions' record protectors, fresh (sequence number 0)."""
        return protectors(self.suite, self.master, self.client_hello.random,
                          self.server_hello.random)  # fmt: skip

    def server_record(self, seq: int, content_type: int, data: bytes) -> bytes:
        """A record the server could seal as its ``seq``-th protected one, of any length
        (also more than 2^14, which our own sealer refuses)."""
        suite = self.suite
        block = key_block(suite, self.master, self.client_hello.random, self.server_hello.random)
        aead = suite.aead(block.server_write_key)
        aad = struct.pack(">QBHH", seq, content_type, 0x0303, len(data))
        if suite.record_iv_len:
            explicit = seq.to_bytes(8, "big")
            body = explicit + aead.encrypt(block.server_write_iv + explicit, data, aad)
        else:
            iv = int.from_bytes(block.server_write_iv, "big")
            body = aead.encrypt((iv ^ seq).to_bytes(12, "big"), data, aad)
        return bytes((content_type, 3, 3)) + len(body).to_bytes(2, "big") + body

    def client_messages(self) -> list[bytes]:
        """The client's handshake messages, its Finished opened with its key."""
        opener, out, protected = self.keys().client_write, [], False
        for content_type, body in records(self.client_flight):
            if content_type == CCS:
                protected = True
            elif content_type == HANDSHAKE and not protected:
                out += messages(body)
            elif content_type == HANDSHAKE:
                header = bytes((content_type, 3, 3)) + len(body).to_bytes(2, "big")
                out += messages(bytes(opener.open(header, body)[1]))
        return out

    def transcript(self, *extra: bytes) -> list[bytes]:
        """Every handshake message before the server's Finished (the client's Finished
        decrypted from its flight), then ``extra`` (e.g. a NewSessionTicket)."""
        return [self.client_hello_message, *self.server_messages, *self.client_messages(), *extra]

    def server_finished_message(self, *extra: bytes) -> bytes:
        """The server's Finished over the transcript, with ``extra`` messages after the
        client's (RFC 5246 §7.4.9)."""
        digest = hashlib.new(self.suite.hash_name, b"".join(self.transcript(*extra))).digest()
        verify = verify_data(self.suite.hash_name, self.master, b"server finished", digest)
        return frame(HandshakeType.FINISHED, verify)

    def server_finished(self, verify: bytes | None = None) -> bytes:
        """CCS and a Finished (``verify`` as verify_data, by default the right one), sealed."""
        if verify is None:
            message = self.server_finished_message()
        else:
            message = frame(HandshakeType.FINISHED, verify)
        return record(CCS, b"\x01") + self.server_record(0, HANDSHAKE, message)
