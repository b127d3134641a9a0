"""TLS 1.2 server conformance against the tlsfuzzer scripts, second part: client certificates
and CertificateVerify, signature algorithms, key exchange values, ClientHello lengths and
compatibility.

Each test plays one conversation of a tlsfuzzer script (named in its docstring, with the RFC
rule that decides it) against our ServerConnection, in memory, with the scripted client of
tests/tls12_probe.py. The scripts mostly offer static-RSA or CBC suites, which we do not
implement; the probes keep each conversation's malformation and expected answer on an ECDHE or
DHE AEAD suite instead. Where we answer differently from the script, the RFC decides: a MUST
settles it; where the RFC allows several answers we want tlsfuzzer's, and a test we fail is
marked ``xfail(strict=True)`` with the reason.

Conversations that expect a SHA-1, SHA-224 or MD5 signature to be accepted are played with our
answer instead: we neither sign with SHA-1 nor list it (or SHA-224) in a CertificateRequest
(RFC 9155 §3), and RFC 5246 §7.4.8 requires the client's CertificateVerify to use one of the
listed algorithms.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import struct
from collections.abc import Callable, Sequence

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, padding, rsa, x25519
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from tls12_probe import (
    AD,
    ECDSA_GCM,
    EMPTY_RENEGOTIATION_INFO_SCSV,
    EMS,
    EXTENDED_MASTER_SECRET,
    GROUPS,
    POINT_FORMATS,
    RENEGO,
    RENEGOTIATION_INFO,
    SIGALGS,
    SUITES,
    Ext,
    Probe,
    Reply,
    client_hello,
    client_hello_no_ext,
    default_extensions,
    groups_ext,
    handshake,
    refused,
    rsa_cert,
    server_config,
    sigalgs_ext,
    u16_list,
)
from tls_fixtures import client_cert, server_cert
from tlsmachine import (
    CertifiedKey,
    ConnectionState,
    HandshakeComplete,
    InMemorySessionCache,
    ServerConfig,
)
from tlsmachine.crypto.groups import FFDHE2048, SECP256R1, SECP384R1, SECP521R1, X25519
from tlsmachine.crypto.signatures import sign, verify
from tlsmachine.crypto.suites import (
    TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
)
from tlsmachine.enums import HandshakeType, ProtocolVersion
from tlsmachine.enums import SignatureScheme as S
from tlsmachine.handshake12 import server_key_exchange_input
from tlsmachine.messages import decode_handshake
from tlsmachine.messages.tls12 import CertificateRequest12
from wire import ALERT, APPLICATION_DATA, HANDSHAKE, record

ECDSA_AES256 = TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384.id
ECDSA_CHACHA = TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256.id
RSA_GCM = TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.id
DHE_GCM = TLS_DHE_RSA_WITH_AES_128_GCM_SHA256.id
STATUS_REQUEST = 5
CERTIFICATE_STATUS = 22
UNCOMPRESSED = PublicFormat.UncompressedPoint

# (hash, signature) pairs of RFC 5246 §7.4.1.4.1 that are no SignatureScheme we implement
MD5_RSA, SHA224_RSA, MD5_ECDSA, SHA224_ECDSA = 0x0101, 0x0301, 0x0103, 0x0303
SHA1_DSA, SHA256_DSA = 0x0202, 0x0402

HASHES: dict[int, hashes.HashAlgorithm] = {
    S.RSA_PKCS1_SHA1: hashes.SHA1(),  # noqa: S303 - a probe's deliberately weak signature
    S.RSA_PKCS1_SHA256: hashes.SHA256(),
    S.RSA_PKCS1_SHA384: hashes.SHA384(),
    S.RSA_PKCS1_SHA512: hashes.SHA512(),
    S.ECDSA_SHA1: hashes.SHA1(),  # noqa: S303
    S.ECDSA_SECP256R1_SHA256: hashes.SHA256(),
    S.ECDSA_SECP384R1_SHA384: hashes.SHA384(),
    S.ECDSA_SECP521R1_SHA512: hashes.SHA512(),
    SHA224_RSA: hashes.SHA224(),
    SHA224_ECDSA: hashes.SHA224(),
}
PSS_HASHES: dict[int, hashes.HashAlgorithm] = {
    S.RSA_PSS_RSAE_SHA256: hashes.SHA256(),
    S.RSA_PSS_RSAE_SHA384: hashes.SHA384(),
    S.RSA_PSS_RSAE_SHA512: hashes.SHA512(),
    S.RSA_PSS_PSS_SHA256: hashes.SHA256(),
    S.RSA_PSS_PSS_SHA384: hashes.SHA384(),
    S.RSA_PSS_PSS_SHA512: hashes.SHA512(),
}


# -- client authentication helpers ------------------------------------------------------------


def pem(*certified: CertifiedKey) -> bytes:
    return b"".join(c.leaf.public_bytes(Encoding.PEM) for c in certified)


def client_certs() -> tuple[CertifiedKey, ...]:
    return client_cert("ecdsa-p256"), client_cert("rsa-2048"), client_cert("ed25519")


def auth_config(mode: str = "required", **kwargs: object) -> ServerConfig:
    """Our server asking for a client certificate and trusting the three test client keys."""
    return server_config(client_auth=mode, client_cadata=pem(*client_certs()), **kwargs)


def certificate_message(*der: bytes) -> bytes:
    """A TLS 1.2 Certificate message (RFC 5246 §7.4.2): ``ASN.1Cert certificate_list<..>``."""
    body = b"".join(len(c).to_bytes(3, "big") + c for c in der)
    return handshake(HandshakeType.CERTIFICATE, len(body).to_bytes(3, "big") + body)


def certificate_verify(scheme: int, signature: bytes) -> bytes:
    """CertificateVerify (RFC 5246 §7.4.8): a ``digitally-signed`` struct (§4.7)."""
    body = struct.pack(">HH", scheme, len(signature)) + signature
    return handshake(HandshakeType.CERTIFICATE_VERIFY, body)


Signer = Callable[[bytes], bytes]
"""Makes the CertificateVerify message from the handshake messages it signs."""


def honest(certified: CertifiedKey, scheme: int) -> Signer:
    def make(signed: bytes) -> bytes:
        return certificate_verify(scheme, sign(scheme, certified.private_key, signed, tls13=False))

    return make


def default_scheme(certified: CertifiedKey) -> int:
    key = certified.private_key
    if isinstance(key, rsa.RSAPrivateKey):
        return S.RSA_PKCS1_SHA256
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return S.ECDSA_SECP256R1_SHA256
    return S.ED25519


def client_flight(
    probe: Probe,
    certificate: bytes,
    signer: Signer | None,
) -> bytes:
    """Certificate, ClientKeyExchange, [CertificateVerify], ChangeCipherSpec, Finished, each
    in its own record; ``signer`` gets the handshake messages so far (RFC 5246 §7.4.8)."""
    data = probe.handshake_record(certificate)
    data += probe.handshake_record(probe.client_key_exchange())
    if signer is not None:
        data += probe.handshake_record(signer(b"".join(probe.transcript)))
    return data + probe.ccs() + probe.finished_record()


def requested(config: ServerConfig, hello: bytes | None = None) -> Probe:
    """A probe whose ClientHello got our flight with a CertificateRequest."""
    probe = Probe(config)
    reply = probe.hello(hello)
    assert reply.error is None, reply.error
    assert HandshakeType.CERTIFICATE_REQUEST in reply.handshake_types
    return probe


def authenticate(
    certified: CertifiedKey,
    signer: Signer | None = None,
    hello: bytes | None = None,
    config: ServerConfig | None = None,
) -> tuple[Probe, Reply]:
    """A full handshake presenting ``certified``; the reply to the client's flight."""
    probe = requested(config or auth_config(), hello)
    signer = signer or honest(certified, default_scheme(certified))
    reply = probe.send(client_flight(probe, certificate_message(*certified.der_chain), signer))
    return probe, reply


def accepted(probe: Probe, reply: Reply, certified: CertifiedKey | None) -> None:
    """The handshake completed, with ``certified`` as the client's identity."""
    assert reply.error is None, reply.error
    assert reply.state is ConnectionState.APP_DATA
    probe.check_server_finished()
    (done,) = [e for e in reply.events if isinstance(e, HandshakeComplete)]
    assert done.peer_certificates == ((certified.leaf,) if certified else ())
    probe.echo()


def raw_signer(certified: CertifiedKey, scheme: int, signature: Callable[[bytes], bytes]) -> Signer:
    def make(signed: bytes) -> bytes:
        return certificate_verify(scheme, signature(signed))

    return make


def rsa_pkcs1(key: PrivateKeyTypes, algorithm: hashes.HashAlgorithm) -> Callable[[bytes], bytes]:
    assert isinstance(key, rsa.RSAPrivateKey)
    return lambda data: key.sign(data, padding.PKCS1v15(), algorithm)


def ecdsa(key: PrivateKeyTypes, algorithm: hashes.HashAlgorithm) -> Callable[[bytes], bytes]:
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return lambda data: key.sign(data, ec.ECDSA(algorithm))


def rsa_emsa_pkcs1(key: PrivateKeyTypes, payload: bytes) -> bytes:
    """The RSA signature of an EMSA-PKCS1-v1_5 block holding ``payload`` as is (RFC 8017
    §9.2 without choosing the DigestInfo): lets a probe put any hash structure inside."""
    assert isinstance(key, rsa.RSAPrivateKey)
    numbers = key.private_numbers()
    n = numbers.public_numbers.n
    size = (n.bit_length() + 7) // 8
    block = b"\x00\x01" + b"\xff" * (size - 3 - len(payload)) + b"\x00" + payload
    return pow(int.from_bytes(block, "big"), numbers.d, n).to_bytes(size, "big")


MD5_DIGEST_INFO = bytes.fromhex("3020300c06082a864886f70d020505000410")


def md5(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).digest()


def sha1(data: bytes) -> bytes:
    return hashlib.sha1(data, usedforsecurity=False).digest()


# -- test-certificate-request, test-certificate-malformed "sanity - no client cert" ----------


def test_empty_client_certificate_completes_when_certificates_are_optional() -> None:
    """tlsfuzzer test-certificate-request "sanity", test-certificate-malformed "sanity - no
    client cert", test-extended-master-secret-extension-with-client-cert "sanity": the server
    asks, the client answers an empty Certificate and no CertificateVerify; the handshake
    completes with EMS (RFC 5246 §7.4.6: "If no suitable certificate is available, the client
    MUST send a certificate message containing no certificates"; RFC 7627 §4 session hash)."""
    probe = requested(auth_config("optional"))
    assert probe.server_extension(EXTENDED_MASTER_SECRET) == b""
    reply = probe.send(client_flight(probe, certificate_message(), None))
    accepted(probe, reply, None)


@pytest.mark.parametrize("key_type", ["rsa-2048", "ecdsa-p256", "ed25519"])
@pytest.mark.parametrize("suite", [ECDSA_GCM, ECDSA_AES256, RSA_GCM, DHE_GCM],
                         ids=lambda s: SUITES[s].name)  # fmt: skip
def test_client_certificate_with_certificate_verify_completes(key_type: str, suite: int) -> None:
    """tlsfuzzer test-certificate-request "with certificate", test-certificate-verify
    "sanity", test-ecdsa-in-certificate-verify / test-eddsa-in-certificate-verify "sanity",
    test-extended-master-secret-extension-with-client-cert "with certificate": Certificate,
    ClientKeyExchange, CertificateVerify over all handshake messages so far, then the
    handshake completes with the client identified (RFC 5246 §7.4.8; RFC 7627 §4: the
    session hash covers the client Certificate; RFC 8422 §2/§3 EdDSA in TLS 1.2)."""
    certified = client_cert(key_type)
    extensions = default_extensions()
    if SUITES[suite].key_exchange == "DHE":
        extensions[0] = groups_ext(FFDHE2048.id)
    probe, reply = authenticate(certified, hello=client_hello((suite,), extensions))
    accepted(probe, reply, certified)


def certificate_request_of(probe: Probe) -> CertificateRequest12:
    (message,) = [m for m in probe.transcript if m[0] == HandshakeType.CERTIFICATE_REQUEST]
    request = decode_handshake(message, version=ProtocolVersion.TLS12)
    assert isinstance(request, CertificateRequest12)
    return request


def test_certificate_request_lists_only_schemes_we_accept() -> None:
    """tlsfuzzer test-certificate-request "check sigalgs in cert request",
    test-rsa-pss-sigs-on-certificate-verify "check CertificateRequest sigalgs": the
    CertificateRequest names rsa_sign and ecdsa_sign certificates and signature algorithms
    without MD5, SHA-1 or SHA-224 (RFC 5246 §7.4.4; RFC 9155 §3: "Servers MUST NOT include
    MD5 and SHA-1 in CertificateRequest messages"), the RSA-PSS schemes among them (RFC 8446
    §4.2.3: implementations of TLS 1.2 that support them use them in TLS 1.2 too)."""
    request = certificate_request_of(requested(auth_config()))
    assert set(request.certificate_types) == {1, 64}
    schemes = set(request.supported_signature_algorithms)
    assert not schemes & {MD5_RSA, MD5_ECDSA, S.RSA_PKCS1_SHA1, S.ECDSA_SHA1, SHA224_RSA,
                          SHA224_ECDSA, SHA1_DSA}  # fmt: skip
    assert {S.RSA_PKCS1_SHA256, S.ECDSA_SECP256R1_SHA256, S.RSA_PSS_RSAE_SHA256, S.ED25519} <= (
        schemes
    )


# -- test-certificate-verify (SLOTH), test-certificate-verify-malformed-sig ------------------


def rsa_client() -> CertifiedKey:
    return client_cert("rsa-2048")


def test_md5_certificate_verify_is_refused() -> None:
    """tlsfuzzer test-certificate-verify "MD5 forced" (CVE-2015-7575, SLOTH): a CertificateVerify
    labelled md5+rsa with an MD5 signature; the script accepts any alert. We never list MD5 in
    the CertificateRequest, so the label alone is refused: illegal_parameter (RFC 5246
    §7.4.8: the algorithm "MUST be one of those present in the supported_signature_algorithms
    field of the CertificateRequest message")."""
    key = rsa_client().private_key
    signer = raw_signer(rsa_client(), MD5_RSA,
                        lambda data: rsa_emsa_pkcs1(key, MD5_DIGEST_INFO + md5(data)))  # fmt: skip
    _, reply = authenticate(rsa_client(), signer)
    refused(reply, AD.ILLEGAL_PARAMETER)


@pytest.mark.parametrize(
    ("label", "payload"),
    [
        (S.RSA_PKCS1_SHA256, lambda data: MD5_DIGEST_INFO + md5(data)),
        (S.RSA_PKCS1_SHA256, lambda data: md5(data) + sha1(data)),
        (S.RSA_PKCS1_SHA256, lambda data: sha1(data)),
    ],
    ids=["MD5 in HashInfo", "TLS 1.1 signature", "bare SHA-1 hash"],
)
def test_certificate_verify_signature_of_another_hash_is_decrypt_error(
    label: int, payload: Callable[[bytes], bytes]
) -> None:
    """tlsfuzzer test-certificate-verify "MD5 forced in HashInfo" and "TLSv1.1 signature in
    TLSv1.2 Certificate Verify" (the script accepts any alert): a sha256+rsa CertificateVerify
    whose PKCS#1 block holds an MD5 DigestInfo, or the TLS 1.1 MD5||SHA-1 concatenation without
    any DigestInfo: decrypt_error (RFC 5246 §7.4.8 / §4.7: the signature is over the hash the
    algorithm names, in a DigestInfo (RFC 8017 §9.2); §7.2.2 decrypt_error: "unable to
    correctly verify a signature")."""
    key = rsa_client().private_key
    signer = raw_signer(rsa_client(), label, lambda data: rsa_emsa_pkcs1(key, payload(data)))
    _, reply = authenticate(rsa_client(), signer)
    refused(reply, AD.DECRYPT_ERROR)


def test_sha1_signature_in_sha256_envelope_is_decrypt_error() -> None:
    """tlsfuzzer test-certificate-verify-malformed-sig "SHA-1 signature in SHA-256 envelope"
    (any alert): a proper PKCS#1 SHA-1 signature labelled sha256+rsa: decrypt_error (RFC 5246
    §7.4.8, §7.2.2)."""
    key = rsa_client().private_key
    signer = raw_signer(rsa_client(), S.RSA_PKCS1_SHA256, rsa_pkcs1(key, HASHES[S.RSA_PKCS1_SHA1]))
    _, reply = authenticate(rsa_client(), signer)
    refused(reply, AD.DECRYPT_ERROR)


@pytest.mark.parametrize(
    ("scheme", "how"),
    [(S.RSA_PKCS1_SHA1, "sha1"), (S.RSA_PKCS1_SHA1, "TLS 1.1 in SHA-1 envelope"),
     (SHA224_RSA, "sha224")],
    ids=["sha1", "tls11-in-sha1", "sha224"],
)  # fmt: skip
def test_certificate_verify_with_an_unrequested_weak_hash_is_illegal_parameter(
    scheme: int, how: str
) -> None:
    """tlsfuzzer test-certificate-verify-malformed-sig "sanity - sha1" (expects a handshake),
    "TLSv1.1 signature in SHA-1 TLSv1.2 envelope" (any alert), test-rsa-sigs-on-certificate-
    verify "check sha1 w/sha256 PRF" (expects a handshake). The scripts' servers list SHA-1 in
    their CertificateRequest; ours does not (RFC 9155 §3), and the client "MUST" sign with a
    listed algorithm (RFC 5246 §7.4.8), so the signature is refused before it is checked:
    illegal_parameter (the alert tlsfuzzer's ECDSA/EdDSA scripts expect for an unrequested
    algorithm)."""
    key = rsa_client().private_key
    if how == "TLS 1.1 in SHA-1 envelope":
        signer = raw_signer(rsa_client(), scheme,
                            lambda data: rsa_emsa_pkcs1(key, md5(data) + sha1(data)))  # fmt: skip
    else:
        signer = raw_signer(rsa_client(), scheme, rsa_pkcs1(key, HASHES[scheme]))
    _, reply = authenticate(rsa_client(), signer)
    refused(reply, AD.ILLEGAL_PARAMETER)


# -- test-rsa-sigs-on-certificate-verify, test-rsa-pss-sigs-on-certificate-verify ------------


@pytest.mark.parametrize("scheme", [S.RSA_PKCS1_SHA256, S.RSA_PKCS1_SHA384, S.RSA_PKCS1_SHA512,
                                    S.RSA_PSS_RSAE_SHA256, S.RSA_PSS_RSAE_SHA384,
                                    S.RSA_PSS_RSAE_SHA512])  # fmt: skip
@pytest.mark.parametrize("suite", [ECDSA_GCM, ECDSA_AES256], ids=["sha256-prf", "sha384-prf"])
def test_rsa_certificate_verify_with_any_listed_hash(scheme: int, suite: int) -> None:
    """tlsfuzzer test-rsa-sigs-on-certificate-verify "check sha256/sha384/sha512 w/sha256 PRF",
    "... w/sha384 PRF", test-rsa-pss-sigs-on-certificate-verify "rsa_pss_rsae_shaN in
    CertificateVerify with rsa key": the client may sign with any algorithm the
    CertificateRequest lists, whatever the PRF hash (RFC 5246 §7.4.8; RFC 8446 §4.2.3 for
    rsa_pss_rsae_* in TLS 1.2)."""
    certified = rsa_client()
    probe, reply = authenticate(certified, honest(certified, scheme), client_hello((suite,)))
    accepted(probe, reply, certified)


@pytest.mark.parametrize("scheme", [S.RSA_PSS_PSS_SHA256, S.RSA_PSS_PSS_SHA384,
                                    S.RSA_PSS_PSS_SHA512])  # fmt: skip
def test_rsa_pss_pss_scheme_with_an_rsa_encryption_key_is_refused(scheme: int) -> None:
    """tlsfuzzer test-rsa-pss-sigs-on-certificate-verify "rsa_pss_pss_shaN in
    CertificateVerify with rsa key": a PSS signature labelled rsa_pss_pss_* from a key whose
    certificate says rsaEncryption: illegal_parameter (the script accepts illegal_parameter or
    decrypt_error; RFC 8446 §4.2.3: rsa_pss_pss_* is for id-RSASSA-PSS keys)."""
    key = rsa_client().private_key
    assert isinstance(key, rsa.RSAPrivateKey)
    algorithm = PSS_HASHES[scheme]
    pss = padding.PSS(mgf=padding.MGF1(algorithm), salt_length=algorithm.digest_size)
    signer = raw_signer(rsa_client(), scheme, lambda data: key.sign(data, pss, algorithm))
    _, reply = authenticate(rsa_client(), signer)
    assert reply.alert in (AD.ILLEGAL_PARAMETER, AD.DECRYPT_ERROR)
    refused(reply, reply.alert)


@pytest.mark.parametrize("scheme", [S.RSA_PSS_RSAE_SHA256, S.RSA_PSS_RSAE_SHA384,
                                    S.RSA_PSS_RSAE_SHA512])  # fmt: skip
def test_rsa_pss_certificate_verify_with_a_20_byte_salt_is_decrypt_error(scheme: int) -> None:
    """tlsfuzzer test-rsa-pss-sigs-on-certificate-verify "rsa_pss_rsae_shaN in
    CertificateVerify with incorrect salt len": a salt of 20 bytes instead of the hash length:
    decrypt_error (RFC 8446 §4.2.3: "The length of the Salt MUST be equal to the length of the
    output of the digest algorithm"; RFC 5246 §7.2.2)."""
    key = rsa_client().private_key
    assert isinstance(key, rsa.RSAPrivateKey)
    algorithm = PSS_HASHES[scheme]
    pss = padding.PSS(mgf=padding.MGF1(algorithm), salt_length=20)
    signer = raw_signer(rsa_client(), scheme, lambda data: key.sign(data, pss, algorithm))
    _, reply = authenticate(rsa_client(), signer)
    refused(reply, AD.DECRYPT_ERROR)


@pytest.mark.parametrize("position", [0, 1, 17, 128, 254, 255])
@pytest.mark.parametrize("xor", [0x01, 0x80])
def test_rsa_pss_certificate_verify_with_a_flipped_bit_is_decrypt_error(
    position: int, xor: int
) -> None:
    """tlsfuzzer test-rsa-pss-sigs-on-certificate-verify "malformed rsa-pss in
    CertificateVerify - xor 0xN at position N" (a sample of the positions): decrypt_error
    (RFC 5246 §7.4.8, §7.2.2)."""
    certified = rsa_client()
    good = honest(certified, S.RSA_PSS_RSAE_SHA256)

    def flipped(signed: bytes) -> bytes:
        message = bytearray(good(signed))
        message[8 + position] ^= xor  # header 4, scheme 2, length 2
        return bytes(message)

    _, reply = authenticate(certified, flipped)
    refused(reply, AD.DECRYPT_ERROR)


# -- test-ecdsa-in-certificate-verify, test-eddsa-in-certificate-verify ---------------------

ECDSA_HASHES = {
    "sha256": S.ECDSA_SECP256R1_SHA256,
    "sha384": S.ECDSA_SECP384R1_SHA384,
    "sha512": S.ECDSA_SECP521R1_SHA512,
}


@pytest.mark.parametrize("made", list(ECDSA_HASHES))
@pytest.mark.parametrize("advertised", list(ECDSA_HASHES))
def test_ecdsa_certificate_verify_hash_must_match_its_label(made: str, advertised: str) -> None:
    """tlsfuzzer test-ecdsa-in-certificate-verify "make shaN+ecdsa signature in
    CertificateVerify" (a handshake, whatever the curve: TLS 1.2 does not tie the hash to the
    curve, RFC 8422 §5.8) and "make shaN+ecdsa signature, advertise it as shaM+ecdsa"
    (decrypt_error, RFC 5246 §7.4.8, §7.2.2), with a P-256 client key."""
    certified = client_cert("ecdsa-p256")
    label = ECDSA_HASHES[advertised]
    signer = raw_signer(certified, label,
                        ecdsa(certified.private_key, HASHES[ECDSA_HASHES[made]]))  # fmt: skip
    probe, reply = authenticate(certified, signer)
    if made == advertised:
        accepted(probe, reply, certified)
    else:
        refused(reply, AD.DECRYPT_ERROR)


@pytest.mark.parametrize("label", [MD5_ECDSA, S.ECDSA_SHA1, SHA224_ECDSA],
                         ids=["md5", "sha1", "sha224"])  # fmt: skip
def test_ecdsa_certificate_verify_with_an_unrequested_hash_is_illegal_parameter(
    label: int,
) -> None:
    """tlsfuzzer test-ecdsa-in-certificate-verify "md5+ecdsa forced" (illegal_parameter), and
    "make sha1+ecdsa / sha224+ecdsa signature in CertificateVerify" (a handshake from a server
    that lists them). Ours lists neither (RFC 9155 §3 for SHA-1), and the client MUST use a
    listed algorithm (RFC 5246 §7.4.8): illegal_parameter, as for MD5."""
    certified = client_cert("ecdsa-p256")
    algorithm = HASHES.get(label, hashes.SHA256())
    signer = raw_signer(certified, label, ecdsa(certified.private_key, algorithm))
    _, reply = authenticate(certified, signer)
    refused(reply, AD.ILLEGAL_PARAMETER)


@pytest.mark.parametrize("label", [MD5_ECDSA, S.ECDSA_SECP521R1_SHA512, S.ED448],
                         ids=["md5+ecdsa", "sha512+ecdsa", "ed448"])  # fmt: skip
def test_ed25519_signature_under_another_label_is_illegal_parameter(label: int) -> None:
    """tlsfuzzer test-eddsa-in-certificate-verify "md5+ecdsa forced", "sha512+ecdsa forced",
    "advertise ed25519 sig as ed448": an Ed25519 signature from an Ed25519 client key under a
    label that does not fit the key: illegal_parameter (RFC 8422 §5.8 / RFC 8446 §4.2.3: the
    scheme names the key type)."""
    certified = client_cert("ed25519")
    ed = honest(certified, S.ED25519)
    signer = raw_signer(certified, label, lambda data: ed(data)[8:])
    _, reply = authenticate(certified, signer)
    refused(reply, AD.ILLEGAL_PARAMETER)


# -- test-dsa-in-certificate-verify --------------------------------------------------------------


@functools.cache
def dsa_client() -> tuple[dsa.DSAPrivateKey, bytes]:
    """A self-signed DSA client certificate (DER) and its key (made here: CertifiedKey does
    not do DSA)."""
    key = dsa.generate_private_key(key_size=1024)  # noqa: S505 - fast; refused anyway
    public = key.public_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dsa.example")])
    now = server_cert().leaf.not_valid_before_utc
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(server_cert().leaf.not_valid_after_utc)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("dsa.example")]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(Encoding.DER)


@pytest.mark.parametrize("label", [SHA256_DSA, SHA1_DSA, 0x0102], ids=["sha256", "sha1", "md5"])
def test_dsa_client_certificate_is_refused(label: int) -> None:
    """tlsfuzzer test-dsa-in-certificate-verify "sanity", "sign with shaN+dsa", "md5+dsa
    forced": we implement no DSA (RFC 8446 §4.2.3 removed it; RFC 5246 leaves the choice of
    algorithms to the implementation), so a DSA client certificate with its CertificateVerify
    is refused: unsupported_certificate, "a certificate was of an unsupported type" (RFC 5246
    §7.2.2). The script expects a handshake from a server with DSA support; "md5+dsa forced"
    expects any alert."""
    key, der = dsa_client()
    trusted = pem(*client_certs()) + x509.load_der_x509_certificate(der).public_bytes(Encoding.PEM)
    probe = requested(server_config(client_auth="required", client_cadata=trusted))
    algorithm = {SHA256_DSA: hashes.SHA256(), SHA1_DSA: hashes.SHA1()}.get(label, hashes.MD5())  # noqa: S303
    signer: Signer = lambda data: certificate_verify(label, key.sign(data, algorithm))  # noqa: E731
    reply = probe.send(client_flight(probe, certificate_message(der), signer))
    refused(reply, AD.UNSUPPORTED_CERTIFICATE)


# -- test-certificate-verify-malformed ----------------------------------------------------------


def ecdsa_client() -> CertifiedKey:
    return client_cert("ecdsa-p256")


def edited(signer: Signer, change: Callable[[bytes], bytes]) -> Signer:
    """``signer``'s CertificateVerify with its body changed (the header follows the body)."""
    return lambda signed: handshake(HandshakeType.CERTIFICATE_VERIFY, change(signer(signed)[4:]))


@pytest.mark.parametrize(
    ("change", "alert"),
    [
        (lambda body: body + b"\x00", AD.DECODE_ERROR),
        (lambda body: body[:-1], AD.DECODE_ERROR),
        *[(lambda body, n=n: body[:2] + struct.pack(">H", n) + b"\xac\x96\x22"[:n],
           AD.DECRYPT_ERROR) for n in range(4)],
        *[(lambda body, n=n: (body[:2] + b"\x00\x00")[:n], AD.DECODE_ERROR) for n in range(4)],
    ],
    ids=["pad", "truncate", *[f"{n}-byte-sig" for n in range(4)],
         *[f"truncated-to-{n}-bytes" for n in range(4)]],
)  # fmt: skip
def test_malformed_certificate_verify(change: Callable[[bytes], bytes], alert: AD) -> None:
    """tlsfuzzer test-certificate-verify-malformed "pad CertificateVerify", "truncate
    CertificateVerify" (decode_error), "N byte sig in CertificateVerify" (a well-formed
    struct with a 0..3 byte signature: decrypt_error), "CertificateVerify truncated to N
    bytes" (decode_error): RFC 5246 §4.7 ``digitally-signed`` = algorithm, then
    ``opaque signature<0..2^16-1>``; a struct that does not fill the message exactly is
    decode_error (§7.2.2), a signature that does not verify decrypt_error."""
    certified = ecdsa_client()
    _, reply = authenticate(certified, edited(honest(certified, S.ECDSA_SECP256R1_SHA256), change))
    refused(reply, alert)


def test_fuzzed_certificate_verify_signature_length_is_decode_error() -> None:
    """tlsfuzzer test-certificate-verify-malformed "fuzz signature length with N": the low byte
    of the signature's length XORed with every value 1..255: decode_error (RFC 5246 §4.7,
    §7.2.2)."""
    certified = ecdsa_client()
    good = honest(certified, S.ECDSA_SECP256R1_SHA256)
    answers = {}
    for xor in range(1, 256):

        def change(body: bytes, xor: int = xor) -> bytes:
            return body[:3] + bytes((body[3] ^ xor,)) + body[4:]

        answers[xor] = authenticate(certified, edited(good, change))[1].alert
    assert {x: a for x, a in answers.items() if a is not AD.DECODE_ERROR} == {}


# -- test-certificate-malformed -------------------------------------------------------------------


def certificate_answer(body: bytes, certified: CertifiedKey | None = None) -> Reply:
    """The server's answer to a Certificate message with ``body`` (then CKE,
    [CertificateVerify], CCS, Finished; tlsfuzzer buffers them into one flight)."""
    probe = requested(auth_config("optional"))
    signer = honest(certified, default_scheme(certified)) if certified else None
    message = handshake(HandshakeType.CERTIFICATE, body)
    return probe.send(client_flight(probe, message, signer))


@pytest.mark.parametrize("offset", [2, 5], ids=["list-length", "first-cert-length"])
def test_fuzzed_client_certificate_lengths_are_decode_error(offset: int) -> None:
    """tlsfuzzer test-certificate-malformed "fuzz certificates length with N" and "fuzz first
    certificate length with N": the low byte of the certificate_list length, or of the first
    certificate's length, XORed with 1..255: decode_error (RFC 5246 §7.4.2
    ``ASN.1Cert certificate_list<0..2^24-1>``, §7.2.2)."""
    certified = ecdsa_client()
    body = certificate_message(*certified.der_chain)[4:]
    answers = {
        xor: certificate_answer(body[:offset] + bytes((body[offset] ^ xor,)) + body[offset + 1 :],
                                certified).alert
        for xor in range(1, 256)
    }  # fmt: skip
    assert {x: a for x, a in answers.items() if a is not AD.DECODE_ERROR} == {}


def test_fuzzed_empty_certificate_list_length_is_decode_error() -> None:
    """tlsfuzzer test-certificate-malformed "fuzz empty certificates length - N": an empty
    Certificate message whose 3-byte list length is 1..255 instead of 0: decode_error (RFC 5246
    §7.4.2, §7.2.2)."""
    answers = {n: certificate_answer(b"\x00\x00" + bytes((n,))).alert for n in range(1, 256)}
    assert {n: a for n, a in answers.items() if a is not AD.DECODE_ERROR} == {}


def test_zero_length_certificate_in_the_list_is_decode_error() -> None:
    """tlsfuzzer test-certificate-malformed "sanity - empty client cert": a certificate_list
    holding one certificate of length 0. The script allows a handshake or decode_error; RFC
    5246 §7.4.2 says ``opaque ASN.1Cert<1..2^24-1>``, so a zero-length entry cannot be decoded:
    decode_error."""
    refused(certificate_answer(b"\x00\x00\x03\x00\x00\x00"), AD.DECODE_ERROR)


def test_fuzzed_empty_certificate_message_is_decode_error_or_bad_certificate() -> None:
    """tlsfuzzer test-certificate-malformed "fuzz empty certificate - overall N, certs M, cert
    K": an empty Certificate padded with K zero bytes, its list length set to N and (when
    there is room) the first certificate's length to M. A message whose lengths all agree and
    hold M zero bytes as the certificate is bad_certificate (garbage DER, RFC 5246 §7.2.2);
    every other one is decode_error (§7.4.2)."""
    answers = {}
    expected = {}
    for total, first, pad in ((t, f, p) for t in range(8) for f in range(8) for p in range(6)):
        if (total == 3 and first == 0) or (pad == 0 and total == 0):
            continue  # the two well-formed messages: tested above
        body = bytearray(b"\x00\x00\x00" + bytes(pad))
        body[2] = total
        if pad >= 3:
            body[5] = first
        key = (total, first, pad)
        answers[key] = certificate_answer(bytes(body)).alert
        consistent = total == first + 3 and pad == total and first > 0
        expected[key] = AD.BAD_CERTIFICATE if consistent else AD.DECODE_ERROR
    assert {k: a for k, a in answers.items() if a is not expected[k]} == {}


# -- test-extended-master-secret-extension-with-client-cert -----------------------------------


def test_session_with_client_certificate_and_ems_is_resumed() -> None:
    """tlsfuzzer test-extended-master-secret-extension-with-client-cert "resume with
    certificate and EMS": a full handshake with a client certificate and EMS, then the session
    ID offered again: an abbreviated handshake (ServerHello, CCS, Finished; no
    CertificateRequest), EMS echoed, the client's identity kept (RFC 5246 §7.3 Figure 2,
    RFC 7627 §5.3)."""
    config = auth_config(session_cache=InMemorySessionCache(), session_tickets=0)
    certified = ecdsa_client()
    first, reply = authenticate(certified, config=config)
    accepted(first, reply, certified)
    assert first.server_hello is not None
    session_id = first.server_hello.legacy_session_id_echo
    assert session_id
    probe = Probe(config)
    probe.resume_master = first.master
    reply = probe.hello(client_hello(session_id=session_id))
    assert reply.error is None, reply.error
    assert reply.handshake_types == [HandshakeType.SERVER_HELLO, HandshakeType.FINISHED]
    assert probe.server_extension(EXTENDED_MASTER_SECRET) == b""
    probe.check_server_finished()
    probe.transcript.append(probe.server_finished_message)
    reply = probe.send(probe.ccs() + probe.finished_record())
    assert reply.error is None, reply.error
    (done,) = [e for e in reply.events if isinstance(e, HandshakeComplete)]
    assert done.peer_certificates == (certified.leaf,)
    probe.echo()


# -- test-renegotiation-disabled-client-cert -----------------------------------------------------


@pytest.mark.parametrize("secure", [True, False], ids=["secure", "legacy"])
def test_renegotiation_for_a_client_certificate_is_refused(secure: bool) -> None:
    """tlsfuzzer test-renegotiation-disabled-client-cert "try secure renegotiation", "try
    insecure (legacy) renegotiation": the script expects a server that asks for a certificate
    on a later request by HelloRequest and renegotiation. We never renegotiate: a server with
    client authentication asks in the initial handshake, sends no HelloRequest on a request,
    and answers a renegotiating ClientHello with a no_renegotiation warning, the connection
    going on (RFC 5246 §7.2.2 no_renegotiation; RFC 5746 §4.4; the script's --no-ins-renego
    expects the legacy one refused)."""
    first = default_extensions() if secure else [GROUPS, POINT_FORMATS, SIGALGS, EMS]
    certified = ecdsa_client()
    probe, reply = authenticate(certified, hello=client_hello(extensions=first))
    accepted(probe, reply, certified)
    reply = probe.echo(b"GET /secure/test HTTP/1.0\r\n\r\n")
    assert reply.records == []  # no HelloRequest
    second = [GROUPS, POINT_FORMATS, SIGALGS, EMS]
    if secure:
        verify_data = probe.client_verify_data
        second.append((RENEGOTIATION_INFO, bytes((len(verify_data),)) + verify_data))
    reply = probe.send(probe.seal(HANDSHAKE, client_hello(extensions=second)))
    assert reply.error is None, reply.error
    assert reply.records == [(ALERT, bytes((1, AD.NO_RENEGOTIATION)))]
    probe.echo()


# -- ServerKeyExchange signatures: test-sig-algs, test-ecdsa-sig-flexibility,
# -- test-dhe-rsa-key-exchange-signatures, test-clienthello-md5 ---------------------------------


def ske_scheme(probe: Probe) -> int:
    """The scheme of the server's ServerKeyExchange, after checking its signature over both
    randoms and the params with the key of the certificate the server sent (RFC 5246 §7.4.3)."""
    assert probe.ske is not None and probe.suite is not None and probe.server_hello is not None
    signed = probe.ske.ecdhe() if probe.suite.key_exchange == "ECDHE" else probe.ske.dhe()
    leaf = (rsa_cert() if probe.suite.authentication == "RSA" else server_cert()).leaf
    public: PublicKeyTypes = leaf.public_key()
    content = server_key_exchange_input(probe.client_random, probe.server_hello.random,
                                        signed.params)  # fmt: skip
    verify(signed.algorithm, public, signed.signature, content, tls13=False)
    return signed.algorithm


def signed_handshake(suites: Sequence[int], schemes: Sequence[int], **kwargs: object) -> int:
    """A full handshake offering ``schemes`` in signature_algorithms; the SKE's scheme."""
    extensions = [groups_ext(X25519.id, SECP256R1.id, FFDHE2048.id), POINT_FORMATS,
                  sigalgs_ext(*schemes), EMS, RENEGO]  # fmt: skip
    probe = Probe(**kwargs)  # type: ignore[arg-type]
    probe.full_handshake(client_hello(suites, extensions))
    probe.echo()
    return ske_scheme(probe)


RSA_AND_DHE = (RSA_GCM, DHE_GCM)


@pytest.mark.parametrize("scheme", [S.RSA_PSS_RSAE_SHA256, S.RSA_PSS_RSAE_SHA384,
                                    S.RSA_PSS_RSAE_SHA512])  # fmt: skip
def test_server_key_exchange_with_the_only_rsa_pss_scheme_offered(scheme: int) -> None:
    """tlsfuzzer test-sig-algs "rsa_pss_rsae_shaN only": the ServerKeyExchange is signed with
    the one scheme offered (RFC 5246 §7.4.1.4.1, RFC 8446 §4.2.3 for RSA-PSS in TLS 1.2)."""
    assert signed_handshake(RSA_AND_DHE, [scheme]) == scheme


@pytest.mark.parametrize("scheme", [S.RSA_PSS_PSS_SHA256, S.RSA_PSS_PSS_SHA384,
                                    S.RSA_PSS_PSS_SHA512])  # fmt: skip
def test_rsa_pss_pss_only_without_an_rsassa_pss_certificate_is_handshake_failure(
    scheme: int,
) -> None:
    """tlsfuzzer test-sig-algs "rsa_pss_pss_shaN only" assumes a server with an id-RSASSA-PSS
    certificate (the script says to disable these probes otherwise). Ours has an rsaEncryption
    RSA key, which cannot sign rsa_pss_pss_* (RFC 8446 §4.2.3): no acceptable choice,
    handshake_failure (RFC 5246 §7.4.1.3)."""
    probe = Probe()
    extensions = [GROUPS, POINT_FORMATS, sigalgs_ext(scheme), EMS, RENEGO]
    refused(probe.hello(client_hello(RSA_AND_DHE, extensions)), AD.HANDSHAKE_FAILURE)


WEAK_FIRST = [MD5_RSA, S.RSA_PKCS1_SHA512, S.RSA_PKCS1_SHA384, S.RSA_PKCS1_SHA256, SHA224_RSA,
              S.RSA_PKCS1_SHA1, S.RSA_PSS_PSS_SHA256, S.RSA_PSS_PSS_SHA384,
              S.RSA_PSS_PSS_SHA512]  # fmt: skip
UNDEFINED = [0x0418, 0x1801, 0x0A0A, 0x0918, 0xFFFF]


@pytest.mark.parametrize(
    "schemes",
    [
        WEAK_FIRST,
        [s for s in WEAK_FIRST if s != S.RSA_PKCS1_SHA1],
        WEAK_FIRST[1:5] + WEAK_FIRST[6:],
        UNDEFINED + WEAK_FIRST[1:5] + WEAK_FIRST[6:],
    ],
    ids=["MD5 first", "MD5 first, no SHA-1", "no SHA-1", "extra sigalgs"],
)
def test_server_key_exchange_never_uses_md5_sha1_or_undefined_schemes(schemes: list[int]) -> None:
    """tlsfuzzer test-sig-algs "MD5 first", "MD5 first, no SHA-1", "no SHA-1", "extra
    sigalgs": the ServerKeyExchange is signed with one of the offered strong schemes, never
    MD5, SHA-1 or an undefined pair (RFC 5246 §7.4.1.4.1: the server signs with a pair the
    client listed; RFC 9155 §3: not MD5 or SHA-1; unknown pairs are ignored)."""
    scheme = signed_handshake(RSA_AND_DHE, schemes)
    assert scheme in schemes
    assert scheme not in (MD5_RSA, S.RSA_PKCS1_SHA1, SHA224_RSA, *UNDEFINED)


@pytest.mark.parametrize(
    ("schemes", "suites"),
    [(UNDEFINED, RSA_AND_DHE), ([MD5_RSA], (DHE_GCM,)), ([0x1545], (DHE_GCM,))],
    ids=["only undefined sigalgs", "only-md5-rsa-signature_algorithm",
         "unknown-signature_algorithm-numbers"],
)  # fmt: skip
def test_no_usable_signature_algorithm_is_handshake_failure(
    schemes: list[int], suites: Sequence[int]
) -> None:
    """tlsfuzzer test-sig-algs "only undefined sigalgs", test-clienthello-md5
    "only-md5-rsa-signature_algorithm" and "unknown-signature_algorithm-numbers":
    handshake_failure (RFC 5246 §7.4.1.3: no acceptable choices; RFC 9155 §3)."""
    extensions = [groups_ext(X25519.id, FFDHE2048.id), POINT_FORMATS, sigalgs_ext(*schemes),
                  EMS, RENEGO]  # fmt: skip
    refused(Probe().hello(client_hello(suites, extensions)), AD.HANDSHAKE_FAILURE)


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x00",  # empty list
        b"\x00\x03\x04\x01",  # list length one more than the list
        b"\x00\x04\x04\x01",  # list length beyond the extension
        b"\x00\x03\x04\x01\x04",  # odd length
        b"\x00\x04\x02\x01\x04\x01\x04\x03",  # bytes after the list
    ],
    ids=["empty sigalgs", "fuzz length of sigalgs", "truncate sigalgs extension",
         "odd length of sigalgs", "padded sigalgs"],
)  # fmt: skip
def test_malformed_signature_algorithms_is_decode_error(data: bytes) -> None:
    """tlsfuzzer test-sig-algs "empty sigalgs", "fuzz length of sigalgs", "truncate sigalgs
    extension", "odd length of sigalgs", "padded sigalgs": decode_error (RFC 5246
    §7.4.1.4.1 ``SignatureAndHashAlgorithm supported_signature_algorithms<2..2^16-2>``;
    §7.2.2)."""
    extensions = [GROUPS, POINT_FORMATS, EMS, RENEGO, (13, data)]
    refused(Probe().hello(client_hello(RSA_AND_DHE, extensions)), AD.DECODE_ERROR)


@pytest.mark.parametrize("hash_name", ["sha256", "sha384", "sha512", "strongest to weakest"])
def test_ecdsa_server_key_exchange_with_any_hash_on_a_p256_key(hash_name: str) -> None:
    """tlsfuzzer test-ecdsa-sig-flexibility "connect with shaN+ecdsa only", "sanity - strongest
    to weakest": our P-256 key signs the ServerKeyExchange with whichever ECDSA hash the client
    offers; TLS 1.2 does not tie the hash to the curve (RFC 8422 §5.4, §5.8; the TLS 1.3
    restriction of RFC 8446 §4.2.3 does not apply)."""
    offered = {
        "sha256": [S.ECDSA_SECP256R1_SHA256],
        "sha384": [S.ECDSA_SECP384R1_SHA384],
        "sha512": [S.ECDSA_SECP521R1_SHA512],
        "strongest to weakest": [S.ECDSA_SECP521R1_SHA512, S.ECDSA_SECP384R1_SHA384,
                                 S.ECDSA_SECP256R1_SHA256, S.ECDSA_SHA1],
    }[hash_name]  # fmt: skip
    extensions = [groups_ext(SECP256R1.id, SECP384R1.id, SECP521R1.id), POINT_FORMATS,
                  sigalgs_ext(*offered), EMS, RENEGO]  # fmt: skip
    probe = Probe()
    probe.full_handshake(client_hello((ECDSA_GCM,), extensions))
    assert ske_scheme(probe) in offered[:3] and ske_scheme(probe) != S.ECDSA_SHA1


def test_ecdsa_with_sha1_only_is_handshake_failure() -> None:
    """tlsfuzzer test-ecdsa-sig-flexibility "connect with sha1+ecdsa only" expects a
    ServerHello. RFC 9155 §3: servers "MUST NOT include MD5 and SHA-1 in ServerKeyExchange
    messages. If no other signature algorithms are available ..., the server MUST abort the
    handshake with a handshake_failure alert or select a different cipher suite"."""
    extensions = [groups_ext(SECP256R1.id), POINT_FORMATS, sigalgs_ext(S.ECDSA_SHA1), EMS,
                  RENEGO]  # fmt: skip
    refused(Probe().hello(client_hello((ECDSA_GCM,), extensions)), AD.HANDSHAKE_FAILURE)


@pytest.mark.parametrize("suite", [DHE_GCM, 0x009F, 0xCCAA], ids=["aes128gcm", "aes256gcm",
                                                                   "chacha20"])  # fmt: skip
@pytest.mark.parametrize("scheme", [S.RSA_PKCS1_SHA256, S.RSA_PKCS1_SHA384, S.RSA_PKCS1_SHA512,
                                    S.RSA_PKCS1_SHA1, SHA224_RSA])  # fmt: skip
def test_dhe_rsa_server_key_exchange_signed_with_the_offered_hash(suite: int, scheme: int) -> None:
    """tlsfuzzer test-dhe-rsa-key-exchange-signatures "TLS_DHE_RSA_WITH_* shaN signature"
    (the script's CBC suites replaced by our DHE_RSA AEAD suites): with only shaN+rsa offered,
    the ServerKeyExchange is signed with exactly that (RFC 5246 §7.4.1.4.1). For sha1 the
    script expects a handshake, but RFC 9155 §3 says the server MUST NOT sign with SHA-1 and
    "MUST abort the handshake with a handshake_failure alert"; sha224+rsa we do not implement
    (RFC 5246 leaves the set to the implementation; RFC 8446 dropped it), so no acceptable
    choice either (§7.4.1.3)."""
    extensions = [groups_ext(FFDHE2048.id), sigalgs_ext(scheme), EMS, RENEGO]
    probe = Probe()
    reply = probe.hello(client_hello((suite,), extensions))
    if scheme in (S.RSA_PKCS1_SHA1, SHA224_RSA):
        refused(reply, AD.HANDSHAKE_FAILURE)
        return
    assert reply.error is None, reply.error
    assert probe.server_hello is not None and probe.server_hello.cipher_suite == suite
    assert probe.ske is not None
    dhe = probe.ske.dhe()
    content = server_key_exchange_input(probe.client_random, probe.server_hello.random,
                                        dhe.params)  # fmt: skip
    assert dhe.algorithm == scheme
    verify(dhe.algorithm, rsa_cert().leaf.public_key(), dhe.signature, content, tls13=False)


# -- test-unsupported-curve-fallback, test-no-mlkem-in-old-tls -----------------------------------


def test_unsupported_curve_falls_back_to_dhe() -> None:
    """tlsfuzzer test-unsupported-curve-fallback "check for unsupported curve fallback": the
    client offers an ECDHE_RSA and a DHE_RSA suite but only secp160k1: the server picks the
    DHE suite (RFC 8422 §5.1: a server that cannot agree on a curve "MUST NOT negotiate the use
    of an ECC cipher suite"; RFC 7919 §4: no FFDHE group listed, any DHE group may be used)."""
    extensions = [groups_ext(0x000F), SIGALGS, EMS, RENEGO]
    probe = Probe()
    probe.full_handshake(client_hello((RSA_GCM, DHE_GCM), extensions))
    assert probe.server_hello is not None and probe.server_hello.cipher_suite == DHE_GCM
    assert probe.server_extension(RENEGOTIATION_INFO) == b"\x00"
    probe.echo()


def test_no_supported_groups_gets_ecdhe_on_p256() -> None:
    """tlsfuzzer test-unsupported-curve-fallback "sanity": without supported_groups the ECDHE
    suite is used with secp256r1 (RFC 8422 §4: a client without the extension supports
    secp256r1... the server uses a curve both support)."""
    probe = Probe()
    probe.full_handshake(client_hello((RSA_GCM, DHE_GCM), [SIGALGS, EMS, RENEGO]))
    assert probe.server_hello is not None and probe.server_hello.cipher_suite == RSA_GCM
    assert probe.ske is not None and probe.ske.ecdhe().named_curve == SECP256R1.id
    probe.echo()


KEM_GROUPS = [25497, 25498, 0x11EB, 0x11EC, 0x11ED, 0x0200, 0x0201, 0x0202]


@pytest.mark.parametrize("kem", KEM_GROUPS, ids=hex)
def test_ml_kem_groups_are_never_used_in_tls12(kem: int) -> None:
    """tlsfuzzer test-no-mlkem-in-old-tls "normal groups with G" (a handshake on a classical
    group) and "only G" (handshake_failure), for the Kyber drafts, the ECDHE-MLKEM hybrids and
    pure ML-KEM: these groups are defined for TLS 1.3 only (draft-ietf-tls-ecdhe-mlkem §3,
    draft-ietf-tls-mlkem) and have no TLS 1.2 ServerECDHParams encoding (RFC 8422 §5.4)."""
    suites = (ECDSA_GCM, RSA_GCM)
    probe = Probe()
    hello = client_hello(suites, [groups_ext(SECP256R1.id, X25519.id, SECP384R1.id,
                                             FFDHE2048.id, kem), POINT_FORMATS, SIGALGS, EMS,
                                  RENEGO])  # fmt: skip
    probe.full_handshake(hello)
    assert probe.ske is not None and probe.ske.ecdhe().named_curve != kem
    probe.echo()
    only = client_hello(suites, [groups_ext(kem), POINT_FORMATS, SIGALGS, EMS, RENEGO])
    refused(Probe().hello(only), AD.HANDSHAKE_FAILURE)


# -- test-ecdhe-padded-shared-secret ----------------------------------------------------------


def client_share(curve: int, server_public: bytes) -> tuple[bytes, bytes]:
    """A client key share (cryptography's, not ours) whose shared secret with the server's
    public value begins with a zero byte: (our public value, the full-length secret)."""
    for _ in range(20_000):
        if curve == X25519.id:
            x_key = x25519.X25519PrivateKey.generate()
            peer_x = x25519.X25519PublicKey.from_public_bytes(server_public)
            secret = x_key.exchange(peer_x)
            public = x_key.public_key().public_bytes_raw()
        else:
            named = {SECP256R1.id: ec.SECP256R1(), SECP384R1.id: ec.SECP384R1(),
                     SECP521R1.id: ec.SECP521R1()}[curve]  # fmt: skip
            ec_key = ec.generate_private_key(named)
            peer = ec.EllipticCurvePublicKey.from_encoded_point(named, server_public)
            secret = ec_key.exchange(ec.ECDH(), peer)
            public = ec_key.public_key().public_bytes(Encoding.X962, UNCOMPRESSED)
        if secret[0] == 0:
            return public, secret
    raise AssertionError("no key share with a zero-led shared secret")  # pragma: no cover


@pytest.mark.parametrize("curve", [X25519.id, SECP256R1.id, SECP384R1.id, SECP521R1.id],
                         ids=["x25519", "secp256r1", "secp384r1", "secp521r1"])  # fmt: skip
def test_ecdhe_shared_secret_with_a_leading_zero_byte(curve: int) -> None:
    """tlsfuzzer test-ecdhe-padded-shared-secret "Protocol (3, 3) with G group": a handshake
    whose ECDH shared secret begins with 0x00 completes, so the server kept the zero byte in
    the premaster secret (RFC 8422 §5.10: FE2OSP, the x-coordinate in its full field length;
    RFC 7748 §6.1 for X25519). The client computes its side with pyca, not tlsmachine."""
    probe = Probe()
    extensions = [groups_ext(curve), POINT_FORMATS, SIGALGS, EMS, RENEGO]
    assert probe.hello(client_hello((RSA_GCM,), extensions)).error is None
    assert probe.ske is not None
    params = probe.ske.ecdhe()
    assert params.named_curve == curve
    public, secret = client_share(curve, params.public)
    cke = handshake(HandshakeType.CLIENT_KEY_EXCHANGE, bytes((len(public),)) + public)
    probe.derive(secret, cke)
    reply = probe.send(probe.handshake_record(cke) + probe.ccs() + probe.finished_record())
    assert reply.error is None, reply.error
    probe.check_server_finished()
    probe.echo()


# -- test-ecdhe-rsa-key-exchange-with-bad-messages, test-point-extension ----------------------


def p256_cke_answer(public: bytes) -> Reply:
    """The answer to a ClientKeyExchange carrying ``public`` on secp256r1 (then CCS and
    Finished, sent together as tlsfuzzer buffers them)."""
    probe = Probe()
    extensions = [groups_ext(SECP256R1.id), POINT_FORMATS, SIGALGS, EMS, RENEGO]
    assert probe.hello(client_hello((RSA_GCM,), extensions)).error is None
    honest_cke = probe.client_key_exchange()  # for the keys of the records after it
    assert len(honest_cke) == 4 + 1 + 65
    cke = handshake(HandshakeType.CLIENT_KEY_EXCHANGE, bytes((len(public),)) + public)
    return probe.send(probe.handshake_record(cke) + probe.ccs() + probe.finished_record())


def good_p256_point() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.public_key().public_bytes(Encoding.X962, UNCOMPRESSED)


@pytest.mark.parametrize(
    "public",
    [
        lambda p: b"\x04" + bytes(63) + b"\x01",
        lambda p: b"\x04" + bytes(64),
        lambda p: p[:33] + bytes(32),
        lambda p: p[:-1] + bytes((p[-1] ^ 0xFF,)),
        lambda p: p[1:],
        lambda p: b"\x06" + p[1:],
        lambda p: b"\x07" + p[1:],
        lambda p: bytes((2 + (p[-1] & 1),)) + p[1:33],
    ],
    ids=["(0, 1)", "(0, 0)", "y all zero", "self-inconsistent", "raw encoding",
         "hybrid encoding 6", "hybrid encoding 7", "compressed encoding"],
)  # fmt: skip
def test_bad_p256_client_point_is_illegal_parameter(public: Callable[[bytes], bytes]) -> None:
    """tlsfuzzer test-ecdhe-rsa-key-exchange-with-bad-messages "invalid point (0, 1)", "invalid
    point (0, 0)", "invalid point (self-inconsistent, y all zero)", "invalid point
    (self-inconsistent)", and test-point-extension "ECDHE raw encoding", "ECDHE hybrid
    encoding": illegal_parameter (RFC 8422 §5.10: the point is validated; §5.1.2: only
    uncompressed points, form 4). test-point-extension "ECDHE compressed encoding from the
    client, if server does not support -> reject" expects internal_error; a point the client
    should not have sent is the peer's fault, which internal_error is not for (RFC 5246 §7.2.2:
    "An internal error unrelated to the peer"): illegal_parameter here too."""
    refused(p256_cke_answer(public(good_p256_point())), AD.ILLEGAL_PARAMETER)


def test_uncompressed_point_format_handshake() -> None:
    """tlsfuzzer test-point-extension "ECDHE uncompressed point extension": ec_point_formats
    [uncompressed] and an uncompressed point: a handshake, the ServerHello answering
    ec_point_formats with uncompressed (RFC 8422 §5.2)."""
    probe = Probe()
    extensions = [groups_ext(SECP256R1.id), POINT_FORMATS, SIGALGS, EMS]
    probe.full_handshake(client_hello((ECDSA_GCM, RSA_GCM, DHE_GCM), extensions))
    assert probe.server_extension(11) == b"\x01\x00"
    probe.echo()


# -- test-ocsp-stapling


def test_status_request_is_ignored_as_ocsp_stapling_is_not_implemented() -> None:
    """tlsfuzzer test-ocsp-stapling expects a status_request in the ServerHello and a
    CertificateStatus message. We do not implement OCSP stapling: the extension is ignored, no
    CertificateStatus, and the handshake completes (RFC 6066 §8: a server "MAY return a
    suitable certificate status response"; one that does not echoes no status_request)."""
    ocsp = (STATUS_REQUEST, b"\x01\x00\x00\x00\x00")  # ocsp, no responder IDs, no extensions
    probe = Probe()
    reply = probe.hello(client_hello(extensions=[*default_extensions(), ocsp]))
    assert reply.error is None, reply.error
    assert CERTIFICATE_STATUS not in reply.handshake_types
    assert probe.server_extension(STATUS_REQUEST) is None
    assert probe.finish().error is None
    probe.check_server_finished()
    probe.echo()


# -- test-truncating-of-client-hello, test-invalid-client-hello-w-record-overflow ---------------


def resized_hello(delta: int, pad_byte: int = 0) -> bytes:
    """A 48-byte ClientHello body (one suite, renegotiation_info only, as the script's) padded
    with ``delta`` bytes or truncated by ``-delta``, the handshake length following (tlsfuzzer
    pad_handshake)."""
    body = client_hello((ECDSA_GCM,), [RENEGO])[4:]
    assert len(body) == 48
    body = body + bytes((pad_byte,)) * delta if delta >= 0 else body[:delta]
    return handshake(HandshakeType.CLIENT_HELLO, body)


RESIZES = [(1, 0), (2, 0), (3, 0), (1, 0xFF), (2, 0xFF), (3, 0xFF), (256, 0), (4096, 0),
           (2**16, 0), (2**17 + 512, 0), (2**24 - 1 - 48, 0),
           *[(-n, 0) for n in (1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 32, 39, 47, 48)],
]  # fmt: skip


@pytest.mark.parametrize(("delta", "pad_byte"), RESIZES, ids=[f"{d}x{b:#x}" for d, b in RESIZES])
def test_padded_or_truncated_client_hello_is_decode_error(delta: int, pad_byte: int) -> None:
    """tlsfuzzer test-truncating-of-client-hello "small/medium/large/big/huge/max pad: N of
    "B" byte padding", "small truncate", "hello truncate", "full message truncate: N of bytes
    truncated": the hello, in records of 2^14 bytes, is decode_error (RFC 5246 §7.4.1.2: the
    server "MUST check that the amount of data in the message precisely matches one of these
    formats; if not, then it MUST send a fatal "decode_error" alert"). Truncating 7 bytes
    removes exactly the extensions and leaves a valid hello: the script skips it, so do we."""
    message = resized_hello(delta, pad_byte)
    data = b"".join(record(HANDSHAKE, message[at : at + 2**14])
                    for at in range(0, len(message), 2**14))  # fmt: skip
    refused(Probe().send(data), AD.DECODE_ERROR)


def test_extension_after_the_extensions_block_is_decode_error() -> None:
    """tlsfuzzer test-truncating-of-client-hello "extension past extensions": an empty
    extensions block followed by a renegotiation_info the block does not cover. The script
    allows a ServerHello that ignores it or decode_error; RFC 5246 §7.4.1.2 (quoted above)
    requires decode_error."""
    message = client_hello((ECDSA_GCM,), [])
    message = handshake(HandshakeType.CLIENT_HELLO, message[4:] + b"\xff\x01\x00\x01\x00")
    refused(Probe().hello(message), AD.DECODE_ERROR)


def _extensionless_hello() -> bytes:
    return client_hello_no_ext((ECDSA_GCM, EMPTY_RENEGOTIATION_INFO_SCSV))


def test_cipher_suites_length_fuzz_without_extensions_is_decode_error() -> None:
    """tlsfuzzer test-invalid-client-hello-w-record-overflow "cipher suites len fuzz to N" (the
    hello without extensions; test_tlsfuzzer_tls12.py has the one with them): every other
    16-bit length of cipher_suites (low byte XORed with 1..255, and high byte 1, 2, 4, 8, 16,
    128, 254, 255 with any low byte) is decode_error (RFC 5246 §7.4.1.2, §7.2.2)."""
    message = _extensionless_hello()
    at = 39  # 4 header + 2 version + 32 random + 1 session ID length (empty)
    actual = int.from_bytes(message[at : at + 2], "big")
    lengths = {actual ^ x for x in range(1, 256)}
    lengths |= {(hi << 8) + lo for hi in (1, 2, 4, 8, 16, 128, 254, 255) for lo in range(256)}
    answers = {
        n: Probe()
        .send(record(HANDSHAKE, message[:at] + n.to_bytes(2, "big") + message[at + 2 :]))
        .alert
        for n in sorted(lengths)
    }
    assert {n: a for n, a in answers.items() if a is not AD.DECODE_ERROR} == {}


def test_compression_methods_length_fuzz_without_extensions_is_decode_error() -> None:
    """tlsfuzzer test-invalid-client-hello-w-record-overflow "compression methods len fuzz to
    N" (the hello without extensions): any length but 1 is decode_error (RFC 5246 §7.4.1.2,
    §7.2.2)."""
    message = _extensionless_hello()
    at = len(message) - 2
    assert message[at:] == b"\x01\x00"
    answers = {
        n: Probe().send(record(HANDSHAKE, message[:at] + bytes((n,)) + message[at + 1 :])).alert
        for n in range(256)
        if n != 1
    }
    assert {n: a for n, a in answers.items() if a is not AD.DECODE_ERROR} == {}


# -- test-lengths

LENGTHS = [1, 2, 15, 16, 17, 255, 256, 257, 1000, 4095, 4096, 2**14 - 1, 2**14]


@pytest.mark.parametrize("suite", [ECDSA_GCM, ECDSA_CHACHA, ECDSA_AES256, DHE_GCM],
                         ids=lambda s: SUITES[s].name)  # fmt: skip
def test_application_data_of_every_length_goes_both_ways(suite: int) -> None:
    """tlsfuzzer test-lengths "length: N" (the script samples 1..2^14; we take the edges): a
    record of N bytes of application data reaches the application whole, and N bytes sent by
    the server arrive as one record of N bytes (RFC 5246 §6.2.1: "The length ... MUST NOT
    exceed 2^14"; §6.2.3.3 AEAD records)."""
    extensions = default_extensions()
    if SUITES[suite].key_exchange == "DHE":
        extensions[0] = groups_ext(FFDHE2048.id)
    probe = Probe()
    probe.full_handshake(client_hello((suite,), extensions))
    for length in LENGTHS:
        probe.echo(b"A" * (length - 1) + b"\n")
        probe.server.send(b"B" * length)
        sent = probe._receive(probe.server.data_to_send())
        assert sent == [(APPLICATION_DATA, b"B" * length)]


# -- test-client-compatibility


@dataclasses.dataclass(frozen=True)
class Browser:
    """A real client's TLS 1.2 ClientHello, from the values the script lists."""

    name: str
    version: int
    suites: tuple[int, ...]
    extensions: tuple[Ext, ...]


def _sni(name: bytes) -> Ext:
    entry = b"\x00" + struct.pack(">H", len(name)) + name
    return 0, struct.pack(">H", len(entry)) + entry


ANDROID_SIGALGS = (13, u16_list([0x0601, 0x0603, 0x0501, 0x0503, 0x0401, 0x0403, 0x0301,
                                 0x0303, 0x0201, 0x0203]))  # fmt: skip
BROWSERS = [
    Browser("62: Android 4.4.2", 0x0303,
            (0xC030, 0xC02C, 0xC014, 0xC00A, 0x00A3, 0x009F, 0x006B, 0x006A, 0x0039, 0x0038,
             0x009D, 0x003D, 0x0035, 0xC012, 0xC008, 0x0016, 0x0013, 0x000A, 0xC02F, 0xC02B,
             0xC027, 0xC023, 0xC013, 0xC009, 0x00A2, 0x009E, 0x0067, 0x0040, 0x0033, 0x0032,
             0x009C, 0x003C, 0x002F, 0xC011, 0xC007, 0x0005, 0x0004, 0x00FF),
            (_sni(b"localhost"), (11, b"\x01\x00"), groups_ext(25, 24, 23), (35, b""),
             (13, u16_list([0x0601, 0x0602, 0x0603, 0x0501, 0x0502, 0x0503, 0x0401, 0x0402,
                            0x0403, 0x0301, 0x0302, 0x0303, 0x0201, 0x0202, 0x0203, 0x0101])),
             (13172, b""))),
    Browser("129: Android 6.0", 0x0303,
            (0xCC14, 0xCC13, 0xCC15, 0xC02B, 0xC02F, 0x009E, 0xC00A, 0xC014, 0x0039, 0xC009,
             0xC013, 0x0033, 0x009C, 0x0035, 0x002F, 0x000A, 0x00FF),
            (_sni(b"localhost"), (23, b""), (35, b""), ANDROID_SIGALGS,
             (5, b"\x01\x00\x00\x00\x00"), (13172, b""), (18, b""),
             (16, b"\x00\x12\x08http/1.1\x08spdy/3.1"), (11, b"\x01\x00"), groups_ext(23, 24))),
    Browser("139: Android 7.0", 0x0303,
            (0xCCA9, 0xCCA8, 0xCC14, 0xCC13, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xC009, 0xC013,
             0xC00A, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035, 0x000A),
            ((0xFF01, b"\x00"), _sni(b"localhost"), (23, b""), (35, b""),
             (13, u16_list([0x0601, 0x0603, 0x0501, 0x0503, 0x0401, 0x0403, 0x0201, 0x0203])),
             (5, b"\x01\x00\x00\x00\x00"), (18, b""),
             (16, b"\x00\x15\x02h2\x08spdy/3.1\x08http/1.1"), (11, b"\x01\x00"),
             groups_ext(29, 23, 24))),
]  # fmt: skip


@pytest.mark.parametrize("browser", BROWSERS, ids=lambda b: b.name)
def test_real_client_hellos_get_a_tls12_handshake(browser: Browser) -> None:
    """tlsfuzzer test-client-compatibility, the conversations whose hello offers TLS 1.2 with an
    ECDHE AEAD suite we implement ("62: Android 4.4.2", "129: Android 6.0", "139: Android 7.0",
    rebuilt from the script's values): a ServerHello with a suite from the hello, then a full
    handshake. The script's TLS 1.0 and CBC/RC4-only hellos are refused by design (RFC 8996
    §5; no CBC suites); status_request, SCT, NPN and unknown ALPN names are ignored (RFC 5246
    §7.4.1.4: unknown extensions are ignored; RFC 7301 §3.2 for ALPN without a server
    list)."""
    hello = client_hello(browser.suites, list(browser.extensions), version=browser.version)
    probe = Probe()
    reply = probe.hello(hello)
    assert reply.error is None, reply.error
    assert probe.server_hello is not None
    assert probe.server_hello.cipher_suite in browser.suites
    assert reply.handshake_types[-1] == HandshakeType.SERVER_HELLO_DONE
    assert probe.finish().error is None
    probe.check_server_finished()
    probe.echo()
