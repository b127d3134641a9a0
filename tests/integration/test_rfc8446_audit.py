"""RFC 8446 audit: MUST / MUST NOT rules a conformance suite probes, each test quoting its sentence.

The first group were violations when the audit found them (fixed since; the tests guard the
fixes), the rest guard rules that held. Peers that misbehave are played by the test: it learns
traffic secrets through the key log and seals records itself, or edits a message and re-encodes
it, as a peer holding the keys could.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

import pki
from memory_pair import pump
from tls_fixtures import Clock, server_cert
from tlsmachine import (
    AlertReceived,
    ApplicationData,
    ClientConfig,
    ClientConnection,
    ConnectionClosed,
    ConnectionState,
    HandshakeComplete,
    InMemoryClientSessionStore,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.certs import CertifiedKey
from tlsmachine.client.offer import OfferedPsk, offer_psks
from tlsmachine.crypto.groups import SECP384R1, X25519
from tlsmachine.crypto.suites import TLS_AES_128_GCM_SHA256
from tlsmachine.enums import AlertDescription, ContentType, ProtocolVersion, PskKeyExchangeMode
from tlsmachine.errors import ProtocolError
from tlsmachine.extensions import (
    Cookie,
    EarlyData,
    Extension,
    KeyShareClientHello,
    KeyShareEntry,
    KeyShareHelloRetryRequest,
    KeyShareServerHello,
    PreSharedKeyClientHello,
    PreSharedKeyServerHello,
    PskKeyExchangeModes,
    SignatureAlgorithms,
    SupportedGroups,
    UnknownExtension,
)
from tlsmachine.keyschedule import traffic_key_iv
from tlsmachine.messages import decode_handshake, encode_handshake
from tlsmachine.messages.hello import ClientHello, ServerHello
from tlsmachine.messages.tls13 import EncryptedExtensions
from tlsmachine.record.protection import Aead13Protector
from tlsmachine.session import AeadTicketSealer, ExternalPsk
from wire import plaintext_alert

SUITE = TLS_AES_128_GCM_SHA256
"""One suite, so that the test can derive record keys from the logged secrets."""


# -- helpers ---------------------------------------------------------------------------------


def keylog_into(secrets: dict[str, bytes]) -> Callable[[str], None]:
    """A ``keylog`` callback that keeps the latest secret of each label."""

    def keylog(line: str) -> None:
        label, _, secret = line.split()
        secrets[label] = bytes.fromhex(secret)

    return keylog


def sealer(secret: bytes) -> Aead13Protector:
    """Record protection under ``secret`` from its first record on (RFC 8446 §7.3)."""
    key, iv = traffic_key_iv(SUITE, secret)
    return Aead13Protector(SUITE.aead(key), iv)


def records(data: bytes) -> list[bytes]:
    """Split a byte stream into whole records (header included)."""
    out = []
    while data:
        end = 5 + int.from_bytes(data[3:5], "big")
        out.append(data[:end])
        data = data[end:]
    return out


def handshake_messages(content: bytes) -> list[bytes]:
    """Split handshake record content into whole messages (header included)."""
    out = []
    while content:
        end = 4 + int.from_bytes(content[1:4], "big")
        out.append(content[:end])
        content = content[end:]
    return out


def handshake_record(raw: bytes) -> bytes:
    return b"\x16\x03\x03" + len(raw).to_bytes(2, "big") + raw


def first_client_hello(config: ClientConfig) -> tuple[ClientConnection, ClientHello]:
    client = ClientConnection(config, "localhost")
    (record, *_) = records(client.data_to_send())
    hello = decode_handshake(record[5:])
    assert isinstance(hello, ClientHello)
    return client, hello


# -- Appendix D.5: legacy_version 0x0300 ----------------------------------------------------


@pytest.mark.parametrize("legacy_version", [0x0300, 0x0200, 0x0103, 0x0002, 0x0000])
def test_client_hello_legacy_version_ssl3_or_lower_is_protocol_version(
    legacy_version: int,
) -> None:
    """RFC 8446 Appendix D.5: "Implementations MUST NOT send a ClientHello.legacy_version or
    ServerHello.legacy_version set to 0x0300 or less.  Any endpoint receiving a Hello message
    with ClientHello.legacy_version or ServerHello.legacy_version set to 0x0300 MUST abort the
    handshake with a "protocol_version" alert."

    The server negotiates TLS 1.3 from supported_versions and never looks at legacy_version
    (tlsfuzzer's test-tls13-legacy-version sends these values, with supported_versions offering
    TLS 1.3, and expects protocol_version)."""
    _, hello = first_client_hello(ClientConfig(verify_certificates=False))
    old = dataclasses.replace(hello, legacy_version=legacy_version, raw=b"")
    server = ServerConnection(ServerConfig(certificates=(server_cert(),)))
    with pytest.raises(ProtocolError) as info:
        server.receive_data(handshake_record(encode_handshake(old)))
    assert info.value.alert is AlertDescription.PROTOCOL_VERSION
    assert server.data_to_send() == plaintext_alert(AlertDescription.PROTOCOL_VERSION)
    assert server.state is ConnectionState.FAILED


@pytest.mark.parametrize("retry", [False, True], ids=["server_hello", "hello_retry_request"])
def test_server_hello_legacy_version_ssl3_is_protocol_version(retry: bool) -> None:
    """RFC 8446 Appendix D.5: "Any endpoint receiving a Hello message with
    ClientHello.legacy_version or ServerHello.legacy_version set to 0x0300 MUST abort the
    handshake with a "protocol_version" alert."

    A TLS 1.3 ServerHello (or HelloRetryRequest) saying 0x0300 gets illegal_parameter (the
    generic "must be 0x0303" check in client/hello.py runs instead); only the TLS 1.2 path
    answers protocol_version."""
    groups = (X25519, SECP384R1)
    client = ClientConnection(ClientConfig(verify_certificates=False, groups=groups), "localhost")
    server_groups = (SECP384R1,) if retry else groups
    server = ServerConnection(ServerConfig(certificates=(server_cert(),), groups=server_groups))
    server.receive_data(client.data_to_send())
    (first, *_) = records(server.data_to_send())
    hello = decode_handshake(first[5:])
    assert isinstance(hello, ServerHello) and hello.is_hello_retry_request is retry
    old = dataclasses.replace(hello, legacy_version=0x0300, raw=b"")
    with pytest.raises(ProtocolError) as info:
        client.receive_data(handshake_record(encode_handshake(old)))
    assert info.value.alert is AlertDescription.PROTOCOL_VERSION
    assert client.data_to_send() == plaintext_alert(AlertDescription.PROTOCOL_VERSION)


# -- §6.1: nothing after close_notify -------------------------------------------------------


def test_data_after_close_notify_in_the_same_read_is_ignored() -> None:
    """RFC 8446 §6.1: "close_notify: This alert notifies the recipient that the sender will not
    send any more messages on this connection.  Any data received after a closure alert has
    been received MUST be ignored."

    Data in a *later* receive_data() call is ignored (test_loopback); a record that follows the
    close_notify in the same call is still decoded and delivered, because the receive loop in
    Connection._receive only stops at SHUTDOWN, not at PEER_CLOSED."""
    secrets: dict[str, bytes] = {}
    client_config = ClientConfig(
        verify_certificates=False, cipher_suites=(SUITE,), keylog=keylog_into(secrets)
    )
    client = ClientConnection(client_config, "localhost")
    server = ServerConnection(ServerConfig(certificates=(server_cert(),), session_tickets=0))
    pump(client, server)
    assert server.state is ConnectionState.APP_DATA
    # The client's application keys have sealed nothing yet: records 0 and 1 under them.
    peer = sealer(secrets["CLIENT_TRAFFIC_SECRET_0"])
    close_notify = peer.seal(ContentType.ALERT, bytes([1, AlertDescription.CLOSE_NOTIFY]))
    after = peer.seal(ContentType.APPLICATION_DATA, b"written after close_notify")
    events = server.receive_data(close_notify + after)
    assert not [e for e in events if isinstance(e, ApplicationData)]
    assert events == [ConnectionClosed()]


# -- §4.2.11: early_data accepted for a PSK other than the first ------------------------------


def test_early_data_for_a_psk_other_than_the_first_is_illegal_parameter() -> None:
    """RFC 8446 §4.2.11: "If the server supplies an "early_data" extension, the client MUST
    verify that the server's selected_identity is 0.  If any other value is returned, the
    client MUST abort the handshake with an "illegal_parameter" alert."

    The client offers its ticket (0-RTT allowed) first and an external PSK second. The server
    cannot open the ticket and selects identity 1; the test adds early_data to its
    EncryptedExtensions. client/tls13.py's _early_data_answer checks that a PSK was accepted,
    the suite and the ALPN, but not which PSK: it accepts the 0-RTT (and only fails later, at the
    Finished, with decrypt_error)."""
    clock = Clock()
    store = InMemoryClientSessionStore()
    external = ExternalPsk(identity=b"external", key=bytes(range(32)))
    client_config = ClientConfig(
        verify_certificates=False,
        cipher_suites=(SUITE,),
        session_store=store,
        clock=clock,
        early_data=True,
        external_psks=(external,),
    )
    issuer = ServerConfig(
        certificates=(server_cert(),),
        clock=clock,
        ticket_sealer=AeadTicketSealer(),
        max_early_data_size=4096,
    )
    pump(ClientConnection(client_config, "localhost"), ServerConnection(issuer))
    assert len(store) > 0
    clock.now += 1

    secrets: dict[str, bytes] = {}
    other = ServerConfig(  # another ticket key: the ticket does not open here
        certificates=(server_cert(),),
        clock=clock,
        external_psks=(external,),
        keylog=keylog_into(secrets),
    )
    client = ClientConnection(client_config, "localhost")
    assert client.early_data_room > 0  # 0-RTT offered with the ticket, identity 0
    server = ServerConnection(other)
    server.receive_data(client.data_to_send())
    flight = records(server.data_to_send())
    hello = decode_handshake(flight[0][5:])
    assert isinstance(hello, ServerHello)
    selected = hello.get(PreSharedKeyServerHello)
    assert selected is not None and selected.selected_identity == 1

    opener = sealer(secrets["SERVER_HANDSHAKE_TRAFFIC_SECRET"])
    messages: list[bytes] = []
    plain = []
    for record in flight:
        if record[0] == ContentType.APPLICATION_DATA:
            content_type, content = opener.open(record[:5], record[5:])
            assert content_type == ContentType.HANDSHAKE
            messages += handshake_messages(bytes(content))
        else:
            plain.append(record)  # ServerHello, change_cipher_spec
    ee = decode_handshake(messages[0])
    assert isinstance(ee, EncryptedExtensions) and ee.get(EarlyData) is None
    forged = EncryptedExtensions(extensions=(*ee.extensions, EarlyData()))
    messages[0] = encode_handshake(forged)
    resealed = sealer(secrets["SERVER_HANDSHAKE_TRAFFIC_SECRET"]).seal(
        ContentType.HANDSHAKE, b"".join(messages)
    )
    with pytest.raises(ProtocolError) as info:
        client.receive_data(b"".join(plain) + resealed)
    assert info.value.alert is AlertDescription.ILLEGAL_PARAMETER


# -- §9.2: supported_groups and key_share go together -----------------------------------------


@pytest.mark.parametrize(
    "dropped", [KeyShareClientHello, SupportedGroups], ids=lambda c: c.__name__
)
def test_supported_groups_without_key_share_is_missing_extension_in_psk_ke_mode(
    dropped: type,
) -> None:
    """RFC 8446 §9.2: a TLS 1.3 ClientHello "If containing a "supported_groups" extension, it
    MUST also contain a "key_share" extension, and vice versa. ... Servers receiving a
    ClientHello which does not conform to these requirements MUST abort the handshake with a
    "missing_extension" alert."

    server/choose13.py's choose() checks the pair only when (EC)DHE is needed; when it accepts a
    PSK in psk_ke mode, a ClientHello with one of the two and not the other is answered with a
    ServerHello."""
    psk = ExternalPsk(identity=b"client-1", key=bytes(range(32)))
    ke, dhe = PskKeyExchangeMode.PSK_KE, PskKeyExchangeMode.PSK_DHE_KE
    client_config = ClientConfig(external_psks=(psk,), verify_certificates=False, psk_modes=(ke,))
    _, hello = first_client_hello(client_config)
    removed = dropped | PreSharedKeyClientHello | PskKeyExchangeModes
    kept = tuple(e for e in hello.extensions if not isinstance(e, removed))
    _, raw = offer_psks(  # psk_key_exchange_modes and pre_shared_key again, with a fresh binder
        client_config,
        dataclasses.replace(hello, extensions=kept, raw=b""),
        (OfferedPsk(psk.identity, psk.key, psk.hash_name),),
    )
    server = ServerConnection(ServerConfig(external_psks=(psk,), psk_modes=(ke, dhe)))
    with pytest.raises(ProtocolError) as info:
        server.receive_data(handshake_record(raw))
    assert info.value.alert is AlertDescription.MISSING_EXTENSION
    assert server.data_to_send() == plaintext_alert(AlertDescription.MISSING_EXTENSION)


# -- §4.4.2.4: MD5-signed certificates ----------------------------------------------------------

_SHA256_WITH_RSA = bytes.fromhex("06092a864886f70d01010b")  # OID 1.2.840.113549.1.1.11, DER
_MD5_WITH_RSA = bytes.fromhex("06092a864886f70d010104")  # OID 1.2.840.113549.1.1.4, DER


def _der(tag: int, body: bytes) -> bytes:
    if len(body) < 128:
        return bytes([tag, len(body)]) + body
    size = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def md5_signed(cert: x509.Certificate, key: rsa.RSAPrivateKey) -> x509.Certificate:
    """``cert`` (sha256WithRSAEncryption) signed again, validly, with md5WithRSAEncryption
    (pyca no longer signs with MD5: the TBS is signed by hand)."""
    tbs = cert.tbs_certificate_bytes.replace(_SHA256_WITH_RSA, _MD5_WITH_RSA, 1)
    signature = key.sign(tbs, padding.PKCS1v15(), hashes.MD5())  # noqa: S303 - the point
    algorithm = _der(0x30, _MD5_WITH_RSA + b"\x05\x00")
    return x509.load_der_x509_certificate(
        _der(0x30, tbs + algorithm + _der(0x03, b"\x00" + signature))
    )


def test_md5_signed_server_certificate_is_bad_certificate() -> None:
    """RFC 8446 §4.4.2.4: "Any endpoint receiving any certificate which it would need to
    validate using any signature algorithm using an MD5 hash MUST abort the handshake with a
    "bad_certificate" alert."

    The verifier (verify.py / verify_diagnosis.py, "forbidden key or signature algorithm")
    answers unsupported_certificate for MD5 as for SHA-1 (for SHA-1 that is allowed: the RFC
    only RECOMMENDS bad_certificate; for MD5 it is a MUST). tests/unit/test_verify_explained.py
    test_weak_signature_on_the_leaf[md5] asserts the current alert and changes with the fix."""
    now = dt.datetime.now(dt.UTC)
    root_key = rsa.generate_private_key(65537, 2048)
    root = pki.build_certificate(
        subject="md5 audit root",
        key=root_key,
        issuer=None,
        not_before=now - dt.timedelta(days=1),
        not_after=now + dt.timedelta(days=30),
        ca=True,
    )
    leaf_key = pki.generate_key("ecdsa-p256")
    leaf = pki.build_certificate(
        subject="localhost",
        key=leaf_key,
        issuer=(root, root_key),
        not_before=now - dt.timedelta(days=1),
        not_after=now + dt.timedelta(days=3),
        ca=False,
        names=("localhost",),
    )
    leaf = md5_signed(leaf, root_key)
    certified = CertifiedKey(chain=(leaf,), private_key=leaf_key)
    client = ClientConnection(
        ClientConfig(cadata=root.public_bytes(serialization.Encoding.PEM)), "localhost"
    )
    server = ServerConnection(ServerConfig(certificates=(certified,)))
    server.receive_data(client.data_to_send())
    with pytest.raises(ProtocolError) as info:
        client.receive_data(server.data_to_send())
    assert info.value.alert is AlertDescription.BAD_CERTIFICATE
    with pytest.raises(AlertReceived) as received:
        server.receive_data(client.data_to_send())
    assert received.value.description == AlertDescription.BAD_CERTIFICATE


# -- §5.1: legacy_record_version is ignored -----------------------------------------------------


@pytest.mark.parametrize("version", [0x0400, 0x0404, 0xFFFF])
def test_legacy_record_version_of_a_protected_record_is_ignored(version: int) -> None:
    """RFC 8446 §5.1: "legacy_record_version:  MUST be set to 0x0303 for all records generated
    by a TLS 1.3 implementation other than an initial ClientHello ... This field is deprecated
    and MUST be ignored for all purposes."  (Appendix D.5 only allows refusing versions
    *below* 0x0300: "Implementations SHOULD NOT accept any records with a version less than
    0x0300".)

    record/layer_receive.py's _check_header rejects any record whose major version byte is not 3
    with decode_error, also once TLS 1.3 is negotiated and the header is only the AEAD's
    additional data. Here a correctly protected application_data record whose header says
    ``version`` is refused. Low severity: a peer conforming to §5.1 never sends this."""
    secrets: dict[str, bytes] = {}
    client_config = ClientConfig(
        verify_certificates=False, cipher_suites=(SUITE,), keylog=keylog_into(secrets)
    )
    client = ClientConnection(client_config, "localhost")
    server = ServerConnection(ServerConfig(certificates=(server_cert(),), session_tickets=0))
    pump(client, server)
    key, iv = traffic_key_iv(SUITE, secrets["CLIENT_TRAFFIC_SECRET_0"])
    inner = b"hello" + bytes([ContentType.APPLICATION_DATA])  # TLSInnerPlaintext, no padding
    header = bytes([ContentType.APPLICATION_DATA]) + version.to_bytes(2, "big")
    header += (len(inner) + 16).to_bytes(2, "big")
    record = header + SUITE.aead(key).encrypt(iv, inner, header)  # sequence number 0
    assert server.receive_data(record) == [ApplicationData(data=b"hello")]


# == Checked and found correct: regression tests where none existed ===========================
# The HelloRetryRequest rules of RFC 8446 §4.1.4 / §4.2.8 (client) and §4.1.2 (server) had no
# negative tests. These pass today; they are here so that they keep passing.


@dataclasses.dataclass
class Retry:
    """A client that offered an x25519 share to a secp384r1-only server, and that server."""

    client: ClientConnection
    server: ServerConnection
    hrr: ServerHello

    @classmethod
    def start(cls, *, cookie: bool = False) -> Retry:
        groups = (X25519, SECP384R1)
        client = ClientConnection(
            ClientConfig(verify_certificates=False, groups=groups), "localhost"
        )
        server_config = ServerConfig(
            certificates=(server_cert(),),
            groups=(SECP384R1,),
            hello_retry_cookie=(lambda digest: b"cookie" + digest) if cookie else None,
        )
        server = ServerConnection(server_config)
        server.receive_data(client.data_to_send())
        (first, *_) = records(server.data_to_send())  # the HRR, then change_cipher_spec
        hrr = decode_handshake(first[5:])
        assert isinstance(hrr, ServerHello) and hrr.is_hello_retry_request
        return cls(client, server, hrr)

    def second_client_hello(self) -> ClientHello:
        """Let the client answer the real HRR; return its second ClientHello."""
        self.client.receive_data(handshake_record(encode_handshake(self.hrr)))
        (hello_record,) = [r for r in records(self.client.data_to_send()) if r[0] == 22]
        hello = decode_handshake(hello_record[5:])
        assert isinstance(hello, ClientHello)
        return hello


def client_rejects(client: ClientConnection, message: object, alert: AlertDescription) -> None:
    with pytest.raises(ProtocolError) as info:
        client.receive_data(handshake_record(encode_handshake(message)))  # type: ignore[arg-type]
    assert info.value.alert is alert
    assert client.state is ConnectionState.FAILED


def _hrr_extensions(hrr: ServerHello, *replacements: Extension) -> tuple[Extension, ...]:
    """The HRR's extensions with those of the same type replaced (or added)."""
    types = {type(r) for r in replacements}
    return (*(e for e in hrr.extensions if type(e) not in types), *replacements)


def test_client_second_hello_retry_request_is_unexpected_message() -> None:
    """RFC 8446 §4.1.4: "If a client receives a second HelloRetryRequest in the same
    connection (i.e., where the ClientHello was itself in response to a HelloRetryRequest), it
    MUST abort the handshake with an "unexpected_message" alert."""
    retry = Retry.start()
    retry.second_client_hello()
    client_rejects(retry.client, retry.hrr, AlertDescription.UNEXPECTED_MESSAGE)


def test_client_hello_retry_request_that_changes_nothing_is_illegal_parameter() -> None:
    """RFC 8446 §4.1.4: "Clients MUST abort the handshake with an "illegal_parameter" alert if
    the HelloRetryRequest would not result in any change in the ClientHello."""
    retry = Retry.start()
    kept = tuple(e for e in retry.hrr.extensions if not isinstance(e, KeyShareHelloRetryRequest))
    bare = dataclasses.replace(retry.hrr, extensions=kept, raw=b"")
    client_rejects(retry.client, bare, AlertDescription.ILLEGAL_PARAMETER)


@pytest.mark.parametrize(
    "group", [X25519.id, 0x0019], ids=["already-sent-x25519", "not-offered-secp521r1"]
)
def test_client_hello_retry_request_group_must_be_new_and_offered(group: int) -> None:
    """RFC 8446 §4.2.8: "Upon receipt of this extension in a HelloRetryRequest, the client MUST
    verify that (1) the selected_group field corresponds to a group which was provided in the
    "supported_groups" extension in the original ClientHello and (2) the selected_group field
    does not correspond to a group which was provided in the "key_share" extension in the
    original ClientHello.  If either of these checks fails, then the client MUST abort the
    handshake with an "illegal_parameter" alert."""
    retry = Retry.start()
    share = KeyShareHelloRetryRequest(selected_group=group)
    bad = dataclasses.replace(retry.hrr, extensions=_hrr_extensions(retry.hrr, share), raw=b"")
    client_rejects(retry.client, bad, AlertDescription.ILLEGAL_PARAMETER)


@pytest.mark.parametrize(
    ("field", "value", "alert"),
    [
        ("legacy_session_id_echo", bytes(32), AlertDescription.ILLEGAL_PARAMETER),
        ("cipher_suite", 0xC02F, AlertDescription.ILLEGAL_PARAMETER),  # a TLS 1.2 suite
        ("legacy_compression_method", 1, AlertDescription.ILLEGAL_PARAMETER),
    ],
)
def test_client_checks_the_hello_retry_request_fields(
    field: str, value: Any, alert: AlertDescription
) -> None:
    """RFC 8446 §4.1.4: "Upon receipt of a HelloRetryRequest, the client MUST check the
    legacy_version, legacy_session_id_echo, cipher_suite, and legacy_compression_method as
    specified in Section 4.1.3"; §4.1.3: "A client which receives a legacy_session_id_echo
    field that does not match what it sent in the ClientHello MUST abort the handshake with an
    "illegal_parameter" alert", "A client which receives a cipher suite that was not offered
    MUST abort the handshake with an "illegal_parameter" alert"."""
    retry = Retry.start()
    bad = dataclasses.replace(retry.hrr, raw=b"", **{field: value})
    client_rejects(retry.client, bad, alert)


def test_client_hello_retry_request_with_an_unoffered_extension_is_unsupported_extension() -> None:
    """RFC 8446 §4.1.4: "a HelloRetryRequest MUST NOT contain any extensions that were not
    first offered by the client in its ClientHello, with the exception of optionally the
    "cookie" extension"; §4.2: "Upon receiving such an extension, an endpoint MUST abort the
    handshake with an "unsupported_extension" alert."""
    retry = Retry.start()
    extra = UnknownExtension(ext_type=0x7777, extension_data=b"")
    bad = dataclasses.replace(retry.hrr, extensions=(*retry.hrr.extensions, extra), raw=b"")
    client_rejects(retry.client, bad, AlertDescription.UNSUPPORTED_EXTENSION)


@pytest.mark.parametrize("field", ["cipher_suite", "group"])
def test_client_server_hello_after_hello_retry_request_keeps_suite_and_group(field: str) -> None:
    """RFC 8446 §4.1.4: "Upon receiving the ServerHello, clients MUST check that the cipher
    suite supplied in the ServerHello is the same as that in the HelloRetryRequest and
    otherwise abort the handshake with an "illegal_parameter" alert."  §4.2.8: "If using
    (EC)DHE key establishment and a HelloRetryRequest containing a "key_share" extension was
    received by the client, the client MUST verify that the selected NamedGroup in the
    ServerHello is the same as that in the HelloRetryRequest.  If this check fails, the client
    MUST abort the handshake with an "illegal_parameter" alert."""
    retry = Retry.start()
    retry.server.receive_data(handshake_record(retry.second_client_hello().raw))
    (first, *_) = records(retry.server.data_to_send())
    hello = decode_handshake(first[5:])
    assert isinstance(hello, ServerHello) and not hello.is_hello_retry_request
    if field == "cipher_suite":
        assert hello.cipher_suite != 0x1302
        bad = dataclasses.replace(hello, cipher_suite=0x1302, raw=b"")  # offered, not the HRR's
    else:
        share = KeyShareServerHello(KeyShareEntry(X25519.id, X25519.generate().public_bytes))
        kept = tuple(e for e in hello.extensions if not isinstance(e, KeyShareServerHello))
        bad = dataclasses.replace(hello, extensions=(share, *kept), raw=b"")
    client_rejects(retry.client, bad, AlertDescription.ILLEGAL_PARAMETER)


def server_rejects(server: ServerConnection, hello: ClientHello, alert: AlertDescription) -> None:
    with pytest.raises(ProtocolError) as info:
        server.receive_data(handshake_record(encode_handshake(hello)))
    assert info.value.alert is alert
    assert server.state is ConnectionState.FAILED


def test_server_second_client_hello_key_share_must_be_for_the_requested_group() -> None:
    """RFC 8446 §4.2.8: "when sending the new ClientHello, the client MUST replace the original
    "key_share" extension with one containing only a new KeyShareEntry for the group indicated
    in the selected_group field of the triggering HelloRetryRequest" (the server MAY check,
    and does, with illegal_parameter)."""
    retry = Retry.start()
    hello = retry.second_client_hello()
    share = KeyShareClientHello(
        client_shares=(KeyShareEntry(X25519.id, X25519.generate().public_bytes),)
    )
    kept = tuple(e for e in hello.extensions if not isinstance(e, KeyShareClientHello))
    bad = dataclasses.replace(hello, extensions=(*kept, share), raw=b"")
    server_rejects(retry.server, bad, AlertDescription.ILLEGAL_PARAMETER)


def test_server_second_client_hello_with_other_cipher_suites_is_illegal_parameter() -> None:
    """RFC 8446 §4.1.2: "the client MUST send the same ClientHello without modification, except
    as follows: ..." (the cipher suites are not among the exceptions)."""
    retry = Retry.start()
    hello = retry.second_client_hello()
    bad = dataclasses.replace(hello, cipher_suites=tuple(reversed(hello.cipher_suites)), raw=b"")
    server_rejects(retry.server, bad, AlertDescription.ILLEGAL_PARAMETER)


def test_server_second_client_hello_must_echo_the_cookie() -> None:
    """RFC 8446 §4.2.2: "When sending the new ClientHello, the client MUST copy the contents of
    the extension received in the HelloRetryRequest into a "cookie" extension in the new
    ClientHello." (The server checks the echo: illegal_parameter.)"""
    retry = Retry.start(cookie=True)
    hello = retry.second_client_hello()
    assert hello.get(Cookie) is not None
    kept = tuple(e for e in hello.extensions if not isinstance(e, Cookie))
    bad = dataclasses.replace(hello, extensions=kept, raw=b"")
    server_rejects(retry.server, bad, AlertDescription.ILLEGAL_PARAMETER)


def test_a_warning_level_alert_is_an_error_and_says_so() -> None:
    """RFC 8446 §6: "All the alerts listed in Section 6.2 MUST be sent with AlertLevel=fatal
    and MUST be treated as error alerts when received regardless of the AlertLevel in the
    message" (close_notify and user_canceled aside). The error names the level it came with."""
    secrets: dict[str, bytes] = {}
    client_config = ClientConfig(
        verify_certificates=False, cipher_suites=(SUITE,), keylog=keylog_into(secrets)
    )
    client = ClientConnection(client_config, "localhost")
    server = ServerConnection(ServerConfig(certificates=(server_cert(),), session_tickets=0))
    pump(client, server)
    peer = sealer(secrets["CLIENT_TRAFFIC_SECRET_0"])
    warning = peer.seal(ContentType.ALERT, bytes([1, AlertDescription.UNRECOGNIZED_NAME]))
    with pytest.raises(AlertReceived, match="unrecognized_name at warning level") as caught:
        server.receive_data(warning)
    assert caught.value.description == AlertDescription.UNRECOGNIZED_NAME
    assert server.state is ConnectionState.FAILED


# -- §5, D.4: dummy change_cipher_spec records --------------------------------------------------

CCS_RECORD = b"\x14\x03\x03\x00\x01\x01"


@pytest.mark.parametrize("extra", [0, 1, 2, 5])
def test_client_drops_the_servers_change_cipher_specs(extra: int) -> None:
    """RFC 8446 §5: a change_cipher_spec of 0x01 received "at any time after the first
    ClientHello message has been sent or received and before the peer's Finished message has
    been received" MUST be dropped; D.4 has the server send one "immediately after its first
    handshake message", which JSSE reads as one after its HelloRetryRequest and one after its
    ServerHello. Our client drops them all, counted with the records that carry no data (a
    flood is refused: test_bogo_client2)."""
    groups = (X25519, SECP384R1)
    client = ClientConnection(ClientConfig(verify_certificates=False, groups=groups), "localhost")
    server = ServerConnection(ServerConfig(certificates=(server_cert(),), groups=(SECP384R1,)))
    server.receive_data(client.data_to_send())
    retry = server.data_to_send()
    assert retry.count(CCS_RECORD) == 1  # our server: one, after the HelloRetryRequest
    client.receive_data(retry)
    server.receive_data(client.data_to_send())
    flight = server.data_to_send()
    client.receive_data(CCS_RECORD * extra + flight)
    server.receive_data(client.data_to_send())
    assert client.state is ConnectionState.APP_DATA
    assert server.state is ConnectionState.APP_DATA


def test_first_client_hello_lists_psk_key_exchange_modes() -> None:
    """RFC 8446 §4.2.9: the modes also restrict "the modes for use with PSK resumption";
    "Servers SHOULD NOT send NewSessionTicket with tickets that are not compatible with the
    advertised modes" (Go's and Java's servers send none without them). So a ClientHello that
    offers TLS 1.3 lists them even when it has no PSK to offer; TLS 1.2-only does not."""
    _, hello = first_client_hello(ClientConfig(verify_certificates=False))
    modes = hello.get(PskKeyExchangeModes)
    assert modes is not None and modes.ke_modes == (PskKeyExchangeMode.PSK_DHE_KE,)
    assert hello.get(PreSharedKeyClientHello) is None
    tls12 = ClientConfig(verify_certificates=False, max_version=ProtocolVersion.TLS12)
    _, hello12 = first_client_hello(tls12)
    assert hello12.get(PskKeyExchangeModes) is None


def test_client_without_key_shares_completes_after_hello_retry_request() -> None:
    """A client may send an empty key_share and let the server ask (RFC 8446 §4.2.8: "This
    vector MAY be empty if the client is requesting a HelloRetryRequest"): the HelloRetryRequest
    selects TLS 1.3, which the client offered in supported_versions (§4.2.1)."""
    config = ClientConfig(verify_certificates=False, key_share_groups=())
    client, hello = first_client_hello(config)
    shares = hello.get(KeyShareClientHello)
    assert shares is not None and shares.client_shares == ()
    server = ServerConnection(ServerConfig(certificates=(server_cert(),)))
    server.receive_data(handshake_record(hello.raw))
    pump(client, server)
    assert client.state is ConnectionState.APP_DATA
    assert client.handshake_info is not None and client.handshake_info.hello_retry


@pytest.mark.parametrize("change", ["modes-moved", "modes-dropped", "others-swapped"])
def test_server_second_client_hello_extension_order(change: str) -> None:
    """RFC 8446 §4.1.2: "the client MUST send the same ClientHello without modification",
    except key_share, early_data, cookie, pre_shared_key and padding. The server compares the
    extension types and their order (tlsfuzzer's test-tls13-shuffled-extentions), except the
    place of psk_key_exchange_modes, which wolfSSL 5.5-5.8 moves in its second hello: that
    hello is served; one without the extension, or with two others swapped, is not."""
    retry = Retry.start()
    hello = retry.second_client_hello()
    extensions = list(hello.extensions)
    modes = next(i for i, e in enumerate(extensions) if isinstance(e, PskKeyExchangeModes))
    if change == "modes-moved":  # to the front, as far as it can go
        extensions.insert(0, extensions.pop(modes))
    elif change == "modes-dropped":
        del extensions[modes]
    else:
        i = next(i for i, e in enumerate(extensions) if isinstance(e, SupportedGroups))
        j = next(i for i, e in enumerate(extensions) if isinstance(e, SignatureAlgorithms))
        extensions[i], extensions[j] = extensions[j], extensions[i]
    assert extensions != list(hello.extensions)
    edited = dataclasses.replace(hello, extensions=tuple(extensions), raw=b"")
    if change != "modes-moved":
        server_rejects(retry.server, edited, AlertDescription.ILLEGAL_PARAMETER)
        return
    retry.server.receive_data(handshake_record(encode_handshake(edited)))
    (first, *_) = records(retry.server.data_to_send())
    server_hello = decode_handshake(first[5:])
    assert isinstance(server_hello, ServerHello) and not server_hello.is_hello_retry_request


@pytest.mark.parametrize(
    ("name", "sent"),
    [("127.0.0.1", None), ("::1", None), ("localhost.", "localhost"), ("localhost", "localhost")],
)
def test_both_ends_report_the_server_name_that_was_sent(name: str, sent: str | None) -> None:
    """RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not permitted in "HostName"", and the
    name is sent without a trailing dot. HandshakeComplete.server_name is the SNI name: the
    client reports what it sent (None for an address, whatever it verified the certificate
    against), the server what it received."""
    client = ClientConnection(ClientConfig(verify_certificates=False), name)
    server = ServerConnection(ServerConfig(certificates=(server_cert(),)))
    client_events, server_events = pump(client, server)
    done = [e for e in (*client_events, *server_events) if isinstance(e, HandshakeComplete)]
    assert [e.server_name for e in done] == [sent, sent]


def test_client_offering_only_psk_ke_refuses_a_psk_with_a_key_share() -> None:
    """RFC 8446 §4.2.9: "Servers MUST NOT select a key exchange mode that is not listed by the
    client." A ServerHello that accepts the PSK and carries a key_share has chosen psk_dhe_ke;
    a client that listed only psk_ke refuses it at once (illegal_parameter), instead of mixing
    a key share into a psk_ke key schedule and failing later on the server's records."""
    psk = ExternalPsk(identity=b"client-1", key=bytes(range(32)))
    ke = PskKeyExchangeMode.PSK_KE
    client = ClientConnection(
        ClientConfig(external_psks=(psk,), verify_certificates=False, psk_modes=(ke,)),
        "localhost",
    )
    hello = decode_handshake(records(client.data_to_send())[0][5:])
    assert isinstance(hello, ClientHello)
    offered = hello.get(KeyShareClientHello)
    assert offered is not None  # a share is sent all the same, for a full handshake
    server = ServerConnection(ServerConfig(external_psks=(psk,), psk_modes=(ke,)))
    server.receive_data(handshake_record(hello.raw))
    server_hello = decode_handshake(records(server.data_to_send())[0][5:])
    assert isinstance(server_hello, ServerHello)
    assert server_hello.get(PreSharedKeyServerHello) is not None  # psk_ke: no key_share
    assert server_hello.get(KeyShareServerHello) is None
    ours = X25519.generate()
    share = KeyShareServerHello(server_share=KeyShareEntry(ours.group.id, ours.public_bytes))
    edited = dataclasses.replace(
        server_hello, extensions=(*server_hello.extensions, share), raw=b""
    )
    with pytest.raises(ProtocolError) as info:
        client.receive_data(handshake_record(encode_handshake(edited)))
    assert info.value.alert is AlertDescription.ILLEGAL_PARAMETER
    assert "psk_dhe_ke" in str(info.value)
