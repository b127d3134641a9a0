"""A certificate whose version field is not v1..v3: pyca raises ``InvalidVersion``, which is
not a ``ValueError``. Every place that reads certificates reports it like any other
unreadable certificate (trust_store.UNREADABLE_CERTIFICATE): a ConfigurationError for our
own settings, skipped in a certificate directory, bad_certificate from a peer, "(unparsable)"
in a trace, never the bare pyca exception.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tlsmachine import ClientConfig, ClientConnection, ServerConfig, ServerConnection
from tlsmachine.certs import CertifiedKey
from tlsmachine.context import PROTOCOL_TLS_CLIENT, Context
from tlsmachine.enums import AlertDescription, ProtocolVersion
from tlsmachine.errors import BadCertificate, ConfigurationError
from tlsmachine.events import HandshakeMessageTraced
from tlsmachine.pinning import PinnedCertificate
from tlsmachine.trace import _subject, describe
from tlsmachine.trust_store import load_capath, load_trust_anchors
from tlsmachine.verify import DefaultVerifier, parse_certificate_chain

_V3 = b"\xa0\x03\x02\x01\x02"  # tbsCertificate's [0] EXPLICIT Version v3 (RFC 5280 §4.1)
_V8 = b"\xa0\x03\x02\x01\x07"  # a version no standard defines


def with_bad_version(der: bytes) -> bytes:
    assert der.count(_V3) == 1
    return der.replace(_V3, _V8)


@pytest.fixture(scope="module")
def good() -> CertifiedKey:
    return CertifiedKey.self_signed()


@pytest.fixture(scope="module")
def bad_der(good: CertifiedKey) -> bytes:
    der = with_bad_version(good.leaf.public_bytes(serialization.Encoding.DER))
    with pytest.raises(x509.InvalidVersion):  # the premise: pyca's own exception
        x509.load_der_x509_certificate(der)
    return der


def pem(der: bytes) -> bytes:
    return ssl.DER_cert_to_PEM_cert(der).encode("ascii")


def test_trust_anchors_from_cadata_der_or_pem(bad_der: bytes) -> None:
    for cadata in (bad_der, pem(bad_der)):
        with pytest.raises(ConfigurationError):
            load_trust_anchors(cadata=cadata)
        with pytest.raises(ConfigurationError):
            DefaultVerifier(cadata=cadata)
    with pytest.raises(ConfigurationError):
        Context(PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=bad_der)


def test_a_certificate_directory_skips_it(
    tmp_path: Path, good: CertifiedKey, bad_der: bytes
) -> None:
    (tmp_path / "bad.der").write_bytes(bad_der)
    (tmp_path / "bad.pem").write_bytes(pem(bad_der))
    (tmp_path / "good.pem").write_bytes(good.chain_pem())
    assert load_capath(tmp_path) == [good.leaf]


def test_a_pin_of_it_is_a_configuration_error(bad_der: bytes) -> None:
    for pin in (bad_der, pem(bad_der)):
        with pytest.raises(ConfigurationError):
            PinnedCertificate(pin)


def test_from_a_peer_it_is_bad_certificate_also_when_tracing(
    good: CertifiedKey, bad_der: bytes
) -> None:
    assert _subject(bad_der) == "(unparsable)"
    with pytest.raises(BadCertificate, match="certificate 1 of 1"):
        parse_certificate_chain([bad_der])
    # A TLS 1.2 server's Certificate travels in the clear: swap in the bad version there.
    client = ClientConnection(
        ClientConfig(
            cadata=good.chain_pem(), max_version=ProtocolVersion.TLS12, trace_handshake=True
        ),
        "localhost",
    )
    server = ServerConnection(ServerConfig(certificates=(good,)))
    server.receive_data(client.data_to_send())
    flight = server.data_to_send()
    leaf = good.leaf.public_bytes(serialization.Encoding.DER)
    assert flight.count(leaf) == 1
    with pytest.raises(BadCertificate) as info:
        client.receive_data(flight.replace(leaf, with_bad_version(leaf)))
    assert info.value.alert is AlertDescription.BAD_CERTIFICATE
    # the CLI's --trace line for the Certificate it received (rendered from the traced message)
    (certificate,) = [
        e.message
        for e in client.take_events()
        if isinstance(e, HandshakeMessageTraced) and e.name == "certificate"
    ]
    assert "leaf=(unparsable)" in describe(certificate)
