"""In-memory handshakes with ML-DSA certificates (draft-ietf-tls-mldsa, TLS 1.3 only).

The server sends an ML-DSA chain only to a client that offered its scheme (RFC 8446
§4.4.2.2), otherwise another configured chain; client authentication works the same way; and
TLS 1.2 never uses ML-DSA: no chain is chosen for it, and a ServerKeyExchange or
CertificateVerify that claims it is illegal_parameter (draft §3.3).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

import pki
from memory_pair import pump
from tlsmachine import (
    AlertReceived,
    ApplicationData,
    ClientConfig,
    ClientConnection,
    HandshakeComplete,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.certs import CertifiedKey
from tlsmachine.enums import AlertDescription, HandshakeType
from tlsmachine.enums import SignatureScheme as S
from tlsmachine.errors import HandshakeFailure, IllegalParameter
from tlsmachine.verify import PinnedCertificate

MLDSA_NAMES = ("mldsa44", "mldsa65", "mldsa87")
CLASSICAL_SCHEMES = ("ecdsa_secp256r1_sha256", "ecdsa_secp384r1_sha384", "rsa_pss_rsae_sha256")


@functools.cache
def certificate(key_type: str, name: str = "localhost") -> CertifiedKey:
    return CertifiedKey.self_signed((name,), key_type=key_type)


def trusting(*certs: CertifiedKey, **kwargs: object) -> ClientConfig:
    return ClientConfig(cadata=b"".join(c.chain_pem() for c in certs), **kwargs)  # type: ignore[arg-type]


def handshake(
    client_config: ClientConfig, server_config: ServerConfig
) -> tuple[HandshakeComplete, HandshakeComplete, ClientConnection, ServerConnection]:
    client = ClientConnection(client_config, "localhost")
    server = ServerConnection(server_config)
    client_events, server_events = pump(client, server)
    (client_done,) = [e for e in client_events if isinstance(e, HandshakeComplete)]
    (server_done,) = [e for e in server_events if isinstance(e, HandshakeComplete)]
    return client_done, server_done, client, server


@pytest.mark.parametrize("key_type", MLDSA_NAMES)
def test_tls13_handshake_with_an_mldsa_certificate(key_type: str) -> None:
    certified = certificate(key_type)
    done, server_done, client, server = handshake(
        trusting(certified), ServerConfig(certificates=(certified,))
    )
    assert done.version == "TLSv1.3"
    assert done.signature_scheme == server_done.signature_scheme == key_type
    assert done.peer_certificates == (certified.leaf,)
    client.send(b"ping")
    received = server.receive_data(client.data_to_send())
    assert received == [ApplicationData(data=b"ping")]


def test_mldsa_chain_under_an_mldsa_ca(tmp_path: Path) -> None:
    tree = pki.make_pki(
        tmp_path,
        intermediate=True,
        key_types=("mldsa65",),
        ca_key_type="mldsa87",
        intermediate_key_type="mldsa87",
    )
    issued = tree.leaves["mldsa65"]
    server_config = ServerConfig(certificates=(CertifiedKey.load(issued.combined_path),))
    done, *_ = handshake(ClientConfig(cafile=str(tree.ca_path)), server_config)
    assert done.signature_scheme == "mldsa65"
    assert done.peer_certificates == issued.chain


def test_pinned_mldsa_certificate() -> None:
    certified = certificate("mldsa87")
    config = ClientConfig(verifier=PinnedCertificate(certified.fingerprint_sha256()))
    done, *_ = handshake(config, ServerConfig(certificates=(certified,)))
    assert done.signature_scheme == "mldsa87"


# --- certificate selection (RFC 8446 §4.4.2.2) ----------------------------------------------------


def test_server_picks_mldsa_only_when_offered() -> None:
    mldsa65, ecdsa = certificate("mldsa65"), certificate("ecdsa-p256")
    server_config = ServerConfig(certificates=(mldsa65, ecdsa))
    done, *_ = handshake(trusting(mldsa65, ecdsa), server_config)
    assert done.signature_scheme == "mldsa65"
    assert done.peer_certificates == (mldsa65.leaf,)

    classical = trusting(mldsa65, ecdsa, signature_schemes=CLASSICAL_SCHEMES)
    done, *_ = handshake(classical, server_config)
    assert done.signature_scheme == "ecdsa_secp256r1_sha256"
    assert done.peer_certificates == (ecdsa.leaf,)

    # mldsa44 offered, but the server's ML-DSA key is ML-DSA-65: the ECDSA chain it is
    other_level = trusting(mldsa65, ecdsa, signature_schemes=("mldsa44", *CLASSICAL_SCHEMES))
    done, *_ = handshake(other_level, server_config)
    assert done.peer_certificates == (ecdsa.leaf,)


def test_mldsa_only_server_and_a_classical_client_is_handshake_failure() -> None:
    client = ClientConnection(
        trusting(certificate("mldsa44"), signature_schemes=CLASSICAL_SCHEMES), "localhost"
    )
    server = ServerConnection(ServerConfig(certificates=(certificate("mldsa44"),)))
    with pytest.raises(HandshakeFailure, match="signature_algorithms"):
        server.receive_data(client.data_to_send())
    with pytest.raises(AlertReceived) as received:
        client.receive_data(server.data_to_send())
    assert received.value.description == AlertDescription.HANDSHAKE_FAILURE


# --- client authentication -----------------------------------------------------------------------


@pytest.mark.parametrize("key_type", MLDSA_NAMES)
def test_mldsa_client_certificate(key_type: str) -> None:
    server_cert = certificate("ecdsa-p256")
    client_cert = certificate(key_type, "client.example")
    server_config = ServerConfig(
        certificates=(server_cert,), client_auth="required", client_cadata=client_cert.chain_pem()
    )
    done, server_done, *_ = handshake(
        trusting(server_cert, certificates=(client_cert,)), server_config
    )
    assert server_done.peer_certificates == (client_cert.leaf,)
    assert done.signature_scheme == "ecdsa_secp256r1_sha256"  # the server's, as always


def test_client_sends_mldsa_only_when_the_server_asks_for_it() -> None:
    server_cert = certificate("ecdsa-p256")
    mldsa_cert, ed25519_cert = certificate("mldsa65", "client.example"), certificate("ed25519")
    server_config = ServerConfig(
        certificates=(server_cert,),
        client_auth="required",
        client_cadata=mldsa_cert.chain_pem() + ed25519_cert.chain_pem(),
        # what its CertificateRequest lists (RFC 8446 §4.3.2): no ML-DSA
        signature_schemes=(*CLASSICAL_SCHEMES, "ed25519"),  # type: ignore[arg-type]
    )
    _, server_done, *_ = handshake(
        trusting(server_cert, certificates=(mldsa_cert, ed25519_cert)), server_config
    )
    assert server_done.peer_certificates == (ed25519_cert.leaf,)


# --- TLS 1.2 never uses ML-DSA (draft-ietf-tls-mldsa §3.3) -----------------------------------


def test_tls12_uses_the_classical_chain() -> None:
    mldsa65, ecdsa = certificate("mldsa65"), certificate("ecdsa-p256")
    done, *_ = handshake(
        trusting(mldsa65, ecdsa, max_version="1.2"), ServerConfig(certificates=(mldsa65, ecdsa))
    )
    assert done.version == "TLSv1.2"
    assert done.peer_certificates == (ecdsa.leaf,)
    assert done.signature_scheme == "ecdsa_secp256r1_sha256"


def test_tls12_client_and_an_mldsa_only_server_is_handshake_failure() -> None:
    client = ClientConnection(trusting(certificate("mldsa65"), max_version="1.2"), "localhost")
    server = ServerConnection(ServerConfig(certificates=(certificate("mldsa65"),)))
    with pytest.raises(HandshakeFailure):
        server.receive_data(client.data_to_send())
    with pytest.raises(AlertReceived) as received:
        client.receive_data(server.data_to_send())
    assert received.value.description == AlertDescription.HANDSHAKE_FAILURE


def test_tls12_client_authentication_skips_the_mldsa_chain() -> None:
    server_cert = certificate("ecdsa-p256")
    mldsa_cert, ecdsa_cert = certificate("mldsa44", "client.example"), certificate("ecdsa-p384")
    server_config = ServerConfig(
        certificates=(server_cert,),
        client_auth="required",
        client_cadata=mldsa_cert.chain_pem() + ecdsa_cert.chain_pem(),
    )
    client_config = trusting(server_cert, certificates=(mldsa_cert, ecdsa_cert), max_version="1.2")
    done, server_done, *_ = handshake(client_config, server_config)
    assert done.version == "TLSv1.2"
    assert server_done.peer_certificates == (ecdsa_cert.leaf,)


def _set_scheme(flight: bytes, msg_type: int, scheme: int) -> bytes:
    """Rewrite the SignatureAndHashAlgorithm of a plaintext TLS 1.2 ServerKeyExchange (ECDHE,
    RFC 8422 §5.4) or CertificateVerify (RFC 5246 §7.4.8) in a flight of records."""
    out = bytearray(flight)
    pos = 0
    while pos + 5 <= len(out):
        content_type, length = out[pos], int.from_bytes(out[pos + 3 : pos + 5], "big")
        at, end = pos + 5, pos + 5 + length
        while content_type == 22 and at + 4 <= end:
            body, body_len = at + 4, int.from_bytes(out[at + 1 : at + 4], "big")
            if out[at] == msg_type:
                if msg_type == HandshakeType.SERVER_KEY_EXCHANGE:
                    assert out[body] == 3  # ECParameters: named_curve
                    body += 4 + out[body + 3]  # curve type, NamedGroup, ECPoint
                out[body : body + 2] = scheme.to_bytes(2, "big")
                return bytes(out)
            at = body + body_len
        pos = end
    raise AssertionError(f"no handshake message {msg_type} in the flight")


def test_tls12_server_key_exchange_with_mldsa_is_illegal_parameter() -> None:
    ecdsa = certificate("ecdsa-p256")
    client = ClientConnection(trusting(ecdsa, max_version="1.2"), "localhost")
    server = ServerConnection(ServerConfig(certificates=(ecdsa,)))
    server.receive_data(client.data_to_send())
    flight = _set_scheme(server.data_to_send(), HandshakeType.SERVER_KEY_EXCHANGE, S.MLDSA65)
    with pytest.raises(IllegalParameter, match=r"(?i)mldsa65 is not allowed in TLS 1\.2") as raised:
        client.receive_data(flight)
    assert raised.value.alert == AlertDescription.ILLEGAL_PARAMETER


def test_tls12_client_certificate_verify_with_mldsa_is_illegal_parameter() -> None:
    server_cert, client_cert = certificate("ecdsa-p256"), certificate("ecdsa-p256", "c.example")
    client = ClientConnection(
        trusting(server_cert, certificates=(client_cert,), max_version="1.2"), "localhost"
    )
    server = ServerConnection(
        ServerConfig(
            certificates=(server_cert,),
            client_auth="required",
            client_cadata=client_cert.chain_pem(),
        )
    )
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    flight = _set_scheme(client.data_to_send(), HandshakeType.CERTIFICATE_VERIFY, S.MLDSA87)
    with pytest.raises(IllegalParameter, match=r"(?i)mldsa87 is not allowed in TLS 1\.2"):
        server.receive_data(flight)
    with pytest.raises(AlertReceived) as received:
        client.receive_data(server.data_to_send())
    assert received.value.description == AlertDescription.ILLEGAL_PARAMETER


MLDSA = {S.MLDSA44, S.MLDSA65, S.MLDSA87}


def test_tls12_advertisements_leave_out_mldsa() -> None:
    """draft-ietf-tls-mldsa §3.3: the schemes are TLS 1.3 only, so a TLS 1.2-only ClientHello
    and a TLS 1.2 CertificateRequest do not offer them; a 1.3-capable ClientHello does."""
    from tlsmachine.enums import ProtocolVersion
    from tlsmachine.extensions import SignatureAlgorithms
    from tlsmachine.messages import decode_handshake
    from tlsmachine.messages.tls12 import CertificateRequest12

    tls12 = ProtocolVersion.TLS12
    both = ClientConnection(ClientConfig(verify_certificates=False), "localhost")
    hello = decode_handshake(both.data_to_send()[5:])
    assert set(hello.get(SignatureAlgorithms).schemes) >= MLDSA  # type: ignore[attr-defined]
    only12 = ClientConfig(verify_certificates=False, max_version=tls12, trace_handshake=True)
    c = ClientConnection(only12, "localhost")
    hello = decode_handshake(c.data_to_send()[5:])
    offered = set(hello.get(SignatureAlgorithms).schemes)  # type: ignore[attr-defined]
    assert not MLDSA & offered and S.ECDSA_SECP256R1_SHA256 in offered
    ecdsa = certificate("ecdsa-p256")
    server = ServerConnection(
        ServerConfig(certificates=(ecdsa,), client_auth="optional", client_cadata=ecdsa.chain_pem())
    )
    c = ClientConnection(only12, "localhost")
    client_events, _ = pump(c, server)
    (request,) = [
        e.message
        for e in client_events
        if getattr(e, "message", None).__class__ is CertificateRequest12
    ]
    asked = set(request.supported_signature_algorithms)
    assert not MLDSA & asked and S.ECDSA_SECP256R1_SHA256 in asked
