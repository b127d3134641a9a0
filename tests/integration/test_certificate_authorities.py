"""certificate_authorities in CertificateRequest (RFC 8446 §4.2.4, RFC 5246 §7.4.4).

The server names the CAs it trusts for client certificates; a client holding several chains
sends one of those CAs' first. Without the names, it sends its first usable chain.
"""

from __future__ import annotations

import datetime as dt
import functools

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from memory_pair import pump
from tls_fixtures import client_cert, server_cert
from tlsmachine import (
    ClientConfig,
    ClientConnection,
    Event,
    HandshakeComplete,
    HandshakeMessageTraced,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.certs import CertifiedKey
from tlsmachine.enums import ProtocolVersion
from tlsmachine.errors import UnknownCA
from tlsmachine.extensions import CertificateAuthorities
from tlsmachine.messages.tls12 import CertificateRequest12
from tlsmachine.messages.tls13 import CertificateRequest

VERSIONS = {"tls13": ProtocolVersion.TLS13, "tls12": ProtocolVersion.TLS12}


@functools.cache
def other_cert() -> CertifiedKey:
    """A client chain from a CA the server does not trust."""
    return CertifiedKey.self_signed(("other.example",), key_type="ecdsa-p256")


def server_config(version: str, **changes: object) -> ServerConfig:
    settings: dict[str, object] = {
        "certificates": (server_cert(),),
        "client_auth": "required",
        "client_cadata": client_cert().leaf.public_bytes(Encoding.PEM),
        "max_version": VERSIONS[version],
    }
    return ServerConfig(**{**settings, **changes})  # type: ignore[arg-type]


def client_config(*certificates: CertifiedKey) -> ClientConfig:
    return ClientConfig(
        cadata=server_cert().leaf.public_bytes(Encoding.PEM),
        certificates=certificates,
        trace_handshake=True,
        post_handshake_auth=True,
    )


def handshake(
    client_cfg: ClientConfig, server_cfg: ServerConfig
) -> tuple[list[Event], list[Event]]:
    return pump(ClientConnection(client_cfg, "localhost"), ServerConnection(server_cfg))


def named_authorities(events: list[Event]) -> tuple[bytes, ...]:
    """The names in the CertificateRequest the client received."""
    (request,) = [
        e.message
        for e in events
        if isinstance(e, HandshakeMessageTraced) and e.name == "certificate_request"
    ]
    if isinstance(request, CertificateRequest12):
        return request.certificate_authorities
    assert isinstance(request, CertificateRequest)
    extension = request.get(CertificateAuthorities)
    return extension.authorities if extension is not None else ()


def complete(events: list[Event]) -> HandshakeComplete:
    (done,) = [e for e in events if isinstance(e, HandshakeComplete)]
    return done


@pytest.mark.parametrize("version", VERSIONS)
def test_the_request_names_the_client_trust_anchors(version: str) -> None:
    ce, se = handshake(client_config(client_cert()), server_config(version))
    assert named_authorities(ce) == (client_cert().leaf.subject.public_bytes(),)
    assert complete(se).peer_certificates == (client_cert().leaf,)


@pytest.mark.parametrize("version", VERSIONS)
def test_client_sends_the_chain_of_a_named_ca_first(version: str) -> None:
    # other_cert() comes first in the config, but the server named client_cert()'s CA
    ce, se = handshake(client_config(other_cert(), client_cert()), server_config(version))
    assert complete(se).peer_certificates == (client_cert().leaf,)
    assert complete(ce).version == ("TLSv1.3" if version == "tls13" else "TLSv1.2")


@pytest.mark.parametrize("version", VERSIONS)
def test_without_names_the_client_sends_its_first_usable_chain(version: str) -> None:
    """The control for the test above: the names are what made the client choose."""
    config = server_config(version, client_ca_names=False)
    client = ClientConnection(client_config(other_cert(), client_cert()), "localhost")
    with pytest.raises(UnknownCA):
        pump(client, ServerConnection(config))


@pytest.mark.parametrize("version", VERSIONS)
def test_client_ca_names_off_names_none(version: str) -> None:
    ce, _ = handshake(client_config(client_cert()), server_config(version, client_ca_names=False))
    assert named_authorities(ce) == ()


def test_a_post_handshake_request_names_them_too() -> None:
    client = ClientConnection(client_config(other_cert(), client_cert()), "localhost")
    server = ServerConnection(server_config("tls13", client_auth="optional"))
    pump(client, server)
    server.request_client_certificate()
    events = client.receive_data(server.data_to_send())
    assert named_authorities(events) == (client_cert().leaf.subject.public_bytes(),)
    _, se = pump(client, server)
    (received,) = [e for e in se if type(e).__name__ == "ClientCertificateReceived"]
    assert received.certificates == (client_cert().leaf,)  # type: ignore[attr-defined]


def ca_pem(count: int) -> bytes:
    """``count`` self-signed CA certificates with long, distinct subjects (~230-byte DNs)."""
    key = ed25519.Ed25519PrivateKey.generate()
    now = dt.datetime.now(dt.UTC)
    pems = []
    for i in range(count):
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, f"CA {i}"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "o" * 200),
            ]
        )
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(i + 1)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, None)
        )
        pems.append(cert.public_bytes(Encoding.PEM))
    return b"".join(pems)


def test_names_that_do_not_fit_the_list_are_left_out() -> None:
    """RFC 8446 §4.2.4: the list is at most 2^16-1 bytes; a larger set is not named at all
    (the client may then send any chain) rather than cut to an arbitrary part."""
    too_many = ServerConfig(
        certificates=(server_cert(),), client_auth="required", client_cadata=ca_pem(300)
    )
    assert too_many.certificate_authorities() == ()
    fits = ServerConfig(
        certificates=(server_cert(),), client_auth="required", client_cadata=ca_pem(30)
    )
    assert len(fits.certificate_authorities()) == 30
