"""The handshake's fast paths give exactly what the general code gives.

Messages the states encode straight to bytes must equal ``encode_handshake`` of the message
object; per-config caches must equal what they cache; the handshake buffer's zero-copy split must
behave like reassembly through a buffer.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import itertools

import pytest

from tlsmachine import ClientConfig, ServerConfig
from tlsmachine.certs import CertifiedKey
from tlsmachine.client.client_hello import build_client_hello, sni_host_name
from tlsmachine.client.hello import ExpectServerHello
from tlsmachine.codec import Reader
from tlsmachine.crypto.groups import SECP256R1, SECP384R1, X25519, Group
from tlsmachine.crypto.signatures import DEFAULT_SIGNATURE_SCHEMES
from tlsmachine.crypto.suites import TLS13_SUITES, CipherSuite
from tlsmachine.enums import HandshakeType, ProtocolVersion, SignatureScheme
from tlsmachine.errors import DecodeError, DecryptError, InternalError
from tlsmachine.extensions import (
    ApplicationLayerProtocolNegotiation,
    KeyShareEntry,
    KeyShareServerHello,
    Padding,
    RecordSizeLimit,
    ServerName,
    SupportedGroups,
    SupportedVersionsServerHello,
)
from tlsmachine.keyschedule import (
    EarlySecret,
    check_finished_mac,
    derive_secret,
    empty_hash,
    finished_key,
    finished_mac,
    finished_verify_data,
    handshake_traffic_keys,
    traffic_key_iv,
)
from tlsmachine.machine import Output, SendMessage, scheme_name
from tlsmachine.messages import HandshakeBuffer, decode_handshake, encode_handshake
from tlsmachine.messages.framing import frame_handshake
from tlsmachine.messages.hello import ServerHello, encode_server_hello_tls13
from tlsmachine.messages.tls13 import (
    CertificateVerify,
    EncryptedExtensions,
    Finished,
    encode_certificate_verify,
    encode_finished,
)
from tlsmachine.server.hello import ExpectClientHello
from tlsmachine.server.tls13 import ServerTemplate
from tlsmachine.transcript import TranscriptHash


@functools.cache
def certificate(key_type: str = "ecdsa-p256") -> CertifiedKey:
    return CertifiedKey.self_signed(("localhost",), key_type=key_type)


# --- Messages encoded straight to bytes ---------------------------------------------------------


@pytest.mark.parametrize(
    ("session_id", "group", "key_exchange"),
    [
        (b"", 0x001D, bytes(range(32))),
        (bytes(32), 0x0017, b"\x04" + bytes(64)),
        (b"\x01", 0x0100, bytes(256)),
        (b"\x02" * 32, 0x11EC, bytes(1216)),  # a hybrid KEM ciphertext size
    ],
)
def test_server_hello_encoding(session_id: bytes, group: int, key_exchange: bytes) -> None:
    random = bytes(range(100, 132))
    raw = encode_server_hello_tls13(random, session_id, 0x1302, group, key_exchange)
    hello = ServerHello(
        legacy_version=ProtocolVersion.TLS12,
        random=random,
        legacy_session_id_echo=session_id,
        cipher_suite=0x1302,
        legacy_compression_method=0,
        extensions=(
            KeyShareServerHello(KeyShareEntry(group=group, key_exchange=key_exchange)),
            SupportedVersionsServerHello(selected_version=ProtocolVersion.TLS13),
        ),
    )
    assert raw == encode_handshake(hello)
    assert decode_handshake(raw) == hello


def test_server_hello_encoding_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError, match="random"):
        encode_server_hello_tls13(bytes(31), b"", 0x1301, 0x001D, bytes(32))
    with pytest.raises(ValueError, match="legacy_session_id_echo"):
        encode_server_hello_tls13(bytes(32), bytes(33), 0x1301, 0x001D, bytes(32))


@pytest.mark.parametrize("size", [0, 1, 32, 48, 255, 256, 0xFFFF])
def test_finished_and_certificate_verify_encodings(size: int) -> None:
    data = bytes(i & 0xFF for i in range(size))
    assert encode_finished(data) == encode_handshake(Finished(verify_data=data))
    assert encode_certificate_verify(0x0804, data) == encode_handshake(
        CertificateVerify(algorithm=0x0804, signature=data)
    )


def test_encoding_limits() -> None:
    with pytest.raises(ValueError, match="signature"):
        encode_certificate_verify(0x0804, bytes(0x10000))
    with pytest.raises(ValueError, match="uint24"):
        frame_handshake(HandshakeType.CERTIFICATE, bytes(0x1000000))
    assert frame_handshake(HandshakeType.FINISHED, b"") == b"\x14\x00\x00\x00"


# --- The ClientHello from the per-config template -----------------------------------------------


def _share(group: Group) -> object:
    private = {X25519: bytes([7]) * 32, SECP256R1: (7).to_bytes(32, "big")}
    return group.from_private_bytes(private.get(group, (7).to_bytes(48, "big")))


CLIENT_CASES = list(
    itertools.product(
        # ALPN lists move the size across 256 and 512 bytes (RFC 7685 padding)
        [(), ("h2", "http/1.1"), ("x" * 60,), ("y" * 120, "z" * 70)],
        [None, 16385],
        ["localhost", "192.0.2.1", None, "a" * 60 + ".example."],
        [(X25519,), (X25519, SECP256R1, SECP384R1)],
        [True, False],  # middlebox compatibility
        [True, False],  # padding
    )
)


@pytest.mark.parametrize(("alpn", "limit", "name", "groups", "compat", "pad"), CLIENT_CASES)
def test_client_hello_bytes_equal_its_encoding(
    alpn: tuple[str, ...],
    limit: int | None,
    name: str | None,
    groups: tuple[Group, ...],
    compat: bool,
    pad: bool,
) -> None:
    config = ClientConfig(
        alpn_protocols=alpn,
        record_size_limit=limit,
        groups=groups,
        key_share_groups=groups[:2],
        middlebox_compatibility=compat,
        pad_client_hello=pad,
        verify_certificates=False,
    )
    shares = tuple(_share(g) for g in groups[:2])
    hello, raw = build_client_hello(config, name, shares)  # type: ignore[arg-type]
    assert raw == hello.raw == encode_handshake(hello)
    assert decode_handshake(raw) == hello
    padded = any(isinstance(e, Padding) for e in hello.extensions)
    unpadded = len(raw) - (4 + hello.extensions[-1].length if padded else 0)  # type: ignore[union-attr]
    assert padded == (pad and 256 <= unpadded < 512)  # RFC 7685 §1
    if padded:
        assert len(raw) == max(512, unpadded + 4)
    assert (hello.get(ServerName) is not None) == (sni_host_name(name) is not None)


def test_sni_host_name_is_cached_and_never_an_address() -> None:
    assert sni_host_name("Example.COM.") == "Example.COM"
    assert sni_host_name("2001:db8::1") is None
    assert sni_host_name("192.0.2.1") is None
    assert sni_host_name("") is None
    assert sni_host_name("localhost") is sni_host_name("localhost")


# --- Output: SendMessage built lazily -----------------------------------------------------------


def test_send_message_decodes_only_on_demand() -> None:
    out = Output()
    raw = out.send_encoded(encode_finished(bytes(32)))
    finished = Finished(verify_data=bytes(32))
    out.send(finished)
    first, second = out.actions
    assert isinstance(first, SendMessage) and isinstance(second, SendMessage)
    assert first.raw is raw and first.built is None
    assert first.message == finished and first.message.raw == raw
    assert second.message is finished
    assert second.raw == raw


def test_server_flight_messages_decode_to_what_was_sent() -> None:
    """The server encodes its flight straight to bytes; tracing decodes them again."""
    client_out = Output()
    ExpectServerHello.start(ClientConfig(verify_certificates=False), "localhost", client_out)
    (hello,) = [decode_handshake(a.raw) for a in client_out.actions if isinstance(a, SendMessage)]
    server_out = Output()
    ExpectClientHello(ServerConfig(certificates=(certificate(),))).handle(hello, server_out)
    sent = [a for a in server_out.actions if isinstance(a, SendMessage)]
    assert [type(a.message).__name__ for a in sent] == [
        "ServerHello",
        "EncryptedExtensions",
        "Certificate",
        "CertificateVerify",
        "Finished",
    ]
    for action in sent:
        assert encode_handshake(action.message) == action.raw


def test_scheme_names() -> None:
    assert scheme_name(SignatureScheme.ECDSA_SECP256R1_SHA256) == "ecdsa_secp256r1_sha256"
    assert scheme_name(SignatureScheme.RSA_PSS_RSAE_SHA256) == "rsa_pss_rsae_sha256"
    assert scheme_name(0x1234).lower() == scheme_name(0x1234)  # unknown: still a name


# --- Per-config server template -----------------------------------------------------------------


def test_server_template_is_built_once_per_config() -> None:
    config = ServerConfig(certificates=(certificate(), certificate("rsa-2048")))
    template = ServerTemplate.of(config)
    assert ServerTemplate.of(config) is template
    ecdsa, rsa = template.signers
    assert ecdsa.schemes == (SignatureScheme.ECDSA_SECP256R1_SHA256,)
    assert SignatureScheme.RSA_PSS_RSAE_SHA256 in rsa.schemes
    assert not rsa.rsassa_pss
    assert decode_handshake(ecdsa.certificate_raw) == ecdsa.certificate
    assert ecdsa.certificate_raw == encode_handshake(ecdsa.certificate)


def test_server_template_respects_configured_schemes() -> None:
    only_pss = (SignatureScheme.RSA_PSS_RSAE_SHA384,)
    config = ServerConfig(
        certificates=(certificate(), certificate("rsa-2048")), signature_schemes=only_pss
    )
    ecdsa, rsa = ServerTemplate.of(config).signers
    assert ecdsa.schemes == ()
    assert rsa.schemes == only_pss
    assert set(DEFAULT_SIGNATURE_SCHEMES) >= set(ServerTemplate.of(
        ServerConfig(certificates=(certificate("rsa-2048"),))
    ).signers[0].schemes)  # fmt: skip


@pytest.mark.parametrize(
    ("client_kwargs", "server_kwargs", "expected"),
    [
        ({}, {}, [SupportedGroups, ServerName]),
        ({"record_size_limit": 1000}, {}, [SupportedGroups, RecordSizeLimit, ServerName]),
        (
            {"alpn_protocols": ("h2",)},
            {"alpn_protocols": ("h2",), "send_supported_groups": False},
            [ServerName, ApplicationLayerProtocolNegotiation],
        ),
    ],
)
def test_encrypted_extensions_answer_the_client(
    client_kwargs: dict[str, object], server_kwargs: dict[str, object], expected: list[type]
) -> None:
    server_config = ServerConfig(certificates=(certificate(),), **server_kwargs)  # type: ignore[arg-type]
    for _ in range(2):  # the second handshake takes the memoised encoding
        out = Output()
        client_config = ClientConfig(verify_certificates=False, **client_kwargs)  # type: ignore[arg-type]
        ExpectServerHello.start(client_config, "localhost", out)
        hello = decode_handshake(out.actions[0].raw)  # type: ignore[union-attr]
        server_out = Output()
        ExpectClientHello(server_config).handle(hello, server_out)
        ee = next(
            a.message
            for a in server_out.actions
            if isinstance(a, SendMessage) and isinstance(a.message, EncryptedExtensions)
        )
        assert isinstance(ee, EncryptedExtensions)
        assert [type(e) for e in ee.extensions] == expected
        assert encode_handshake(ee) == ee.raw


# --- Reading ------------------------------------------------------------------------------------


def test_u16_tuple() -> None:
    assert Reader(b"\x04\x13\x01\x13\x02").u16_tuple(1, what="x") == (0x1301, 0x1302)
    long = b"".join(i.to_bytes(2, "big") for i in range(100))
    assert Reader(b"\x00\xc8" + long).u16_tuple(2, what="x") == tuple(range(100))
    with pytest.raises(DecodeError, match="odd length"):
        Reader(b"\x03\x13\x01\x13").u16_tuple(1, what="x")


def test_buffer_hands_out_a_whole_record_without_copying() -> None:
    buf = HandshakeBuffer()
    record = encode_finished(bytes(32))
    buf.feed(record)
    assert buf.pop() is record
    assert buf.empty


def test_buffer_over_limit_header_completed_by_a_later_feed() -> None:
    buf = HandshakeBuffer(max_message_size=100)
    buf.feed(encode_finished(bytes(32)) + b"\x0b\x00")  # a message, then half a header
    assert buf.pop() is not None
    assert not buf.empty
    with pytest.raises(DecodeError, match="announces 256 bytes"):
        buf.feed(bytearray(b"\x01\x00"))


def test_buffer_partial_message_over_several_feeds() -> None:
    body = bytes(range(256)) * 4
    message = frame_handshake(HandshakeType.CERTIFICATE, body)
    buf = HandshakeBuffer()
    for start in range(0, len(message), 300):
        assert buf.pop() is None
        buf.feed(memoryview(message)[start : start + 300])
    assert buf.pop() == message
    assert buf.empty


# --- Transcript and key schedule ----------------------------------------------------------------


@pytest.mark.parametrize("hash_name", ["sha256", "sha384", "sha512", "sha3_256"])
def test_transcript_hash_constructors(hash_name: str) -> None:
    transcript = TranscriptHash()
    transcript.update(b"one")
    transcript.select_hash(hash_name)
    transcript.update(b"two")
    assert transcript.digest() == hashlib.new(hash_name, b"onetwo").digest()
    assert transcript.hash_name == hash_name


def test_transcript_digest_needs_a_hash() -> None:
    with pytest.raises(InternalError, match="digest before"):
        TranscriptHash().digest()


@pytest.mark.parametrize("psk", [None, b"\x01" * 32])
def test_early_secret_derives_the_handshake_salt(psk: bytes | None) -> None:
    """Handshake Secret = HKDF-Extract(Derive-Secret(Early, "derived", ""), (EC)DHE) (§7.1),
    with the salt derived when the Early Secret is made (and cached without a PSK)."""
    early = EarlySecret.from_psk("sha256", psk)
    salt = derive_secret("sha256", early.secret, b"derived", empty_hash("sha256"))
    shared = bytes(range(32))
    extract = hmac.new(salt, shared, hashlib.sha256).digest()  # RFC 5869 §2.2, independently
    assert early.handshake(shared).secret == extract


@pytest.mark.parametrize("suite", TLS13_SUITES, ids=str)
def test_handshake_traffic_keys_are_key_iv_and_finished_key(suite: CipherSuite) -> None:
    secret = bytes(range(suite.hash_len))
    key, iv, fin = handshake_traffic_keys(suite, secret)
    assert (key, iv) == traffic_key_iv(suite, secret)
    assert fin == finished_key(suite.hash_name, secret)
    th = hashlib.new(suite.hash_name, b"transcript").digest()
    verify_data = finished_verify_data(suite.hash_name, secret, th)
    assert finished_mac(suite.hash_name, fin, th) == verify_data
    check_finished_mac(suite.hash_name, fin, th, verify_data, "Finished")
    with pytest.raises(DecryptError, match="Finished does not verify"):
        check_finished_mac(suite.hash_name, secret, th, verify_data, "Finished")  # base key


@pytest.mark.parametrize("traffic", ["Traffic12", "Traffic13"])
def test_closed_traffic_state_keeps_every_field(traffic: str) -> None:
    """``closed()`` builds its state field by field (``dataclasses.replace`` was a few µs on
    every close): it must keep every field, including any added later, as replace would."""
    import dataclasses

    from tlsmachine import traffic12, traffic13

    cls = getattr(traffic12 if traffic == "Traffic12" else traffic13, traffic)
    values: dict[str, object] = {}
    for number, f in enumerate(dataclasses.fields(cls)):
        # a distinct, non-default value per field (the types do not matter to closed())
        values[f.name] = False if f.name == "write_closed" else object()
        if f.name == "is_client":
            values[f.name] = number % 2 == 0
    state = cls(**values)
    closed = state.closed()
    assert closed == dataclasses.replace(state, write_closed=True)
    for f in dataclasses.fields(cls):
        expected = True if f.name == "write_closed" else values[f.name]
        assert getattr(closed, f.name) is expected, f.name
