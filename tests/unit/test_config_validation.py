"""ClientConfig / ServerConfig: names accepted, normalisation, and every construction-time rule.

Names and lists are accepted at run time and normalised to typed tuples; the helpers take
``**Any`` because the declared field types (what mypy sees) are the typed tuples.
"""

from __future__ import annotations

import dataclasses
import functools
import pathlib
import re
from typing import Any

import pytest

from memory_pair import pump
from tlsmachine import (
    ClientConfig,
    ClientConnection,
    ConnectionState,
    HandshakeComplete,
    ServerConfig,
    ServerConnection,
)
from tlsmachine.certs import CertifiedKey
from tlsmachine.config import openssl_name
from tlsmachine.crypto.groups import (
    DEFAULT_GROUPS,
    FFDHE2048,
    SECP256R1,
    SECP384R1,
    SECP521R1,
    X448,
    X25519,
)
from tlsmachine.crypto.signatures import DEFAULT_SIGNATURE_SCHEMES
from tlsmachine.crypto.suites import (
    DEFAULT_TLS12_SUITES,
    DEFAULT_TLS13_SUITES,
    TLS12_SUITES,
    TLS13_SUITES,
    TLS_AES_128_CCM_SHA256,
    TLS_AES_128_GCM_SHA256,
    TLS_AES_256_GCM_SHA384,
    TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
    TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
)
from tlsmachine.enums import (
    AlertDescription,
    CipherSuiteId,
    NamedGroup,
    ProtocolVersion,
    PskKeyExchangeMode,
    SignatureScheme,
)
from tlsmachine.errors import ConfigurationError, ProtocolError
from tlsmachine.session import AeadTicketSealer, ExternalPsk

S = SignatureScheme
TLS12, TLS13 = ProtocolVersion.TLS12, ProtocolVersion.TLS13
PSK = ExternalPsk(identity=b"client", key=bytes(range(32)))


@functools.cache
def ecdsa_cert() -> CertifiedKey:
    return CertifiedKey.self_signed(("localhost",), key_type="ecdsa-p256")


@functools.cache
def rsa_cert() -> CertifiedKey:
    return CertifiedKey.self_signed(("localhost",), key_type="rsa-2048")


def client(**kwargs: Any) -> ClientConfig:
    return ClientConfig(**kwargs)


def server(**kwargs: Any) -> ServerConfig:
    kwargs.setdefault("certificates", (ecdsa_cert(),))
    return ServerConfig(**kwargs)


def rejects(make: Any, match: str, **kwargs: Any) -> str:
    """``make(**kwargs)`` raises ConfigurationError matching ``match``; returns the message."""
    with pytest.raises(ConfigurationError, match=match) as info:
        make(**kwargs)
    return str(info.value)


# --- names accepted -------------------------------------------------------------------------


@pytest.mark.parametrize("make", [client, server])
def test_suites_by_iana_name_code_point_or_object(make: Any) -> None:
    config = make(
        cipher_suites=["TLS_AES_256_GCM_SHA384", "tls_aes_128_gcm_sha256", TLS_AES_128_CCM_SHA256],
        tls12_cipher_suites=[
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            CipherSuiteId.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            0xCCA9,
        ],
    )
    assert config.cipher_suites == (
        TLS_AES_256_GCM_SHA384,
        TLS_AES_128_GCM_SHA256,
        TLS_AES_128_CCM_SHA256,
    )
    assert config.tls12_cipher_suites == (
        TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    )
    assert type(config.cipher_suites) is tuple and type(config.tls12_cipher_suites) is tuple


def test_openssl_names_of_tls12_suites() -> None:
    assert openssl_name(TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256) == "ECDHE-ECDSA-AES128-GCM-SHA256"
    assert openssl_name(TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256) == (
        "ECDHE-RSA-CHACHA20-POLY1305"
    )
    assert openssl_name(TLS_DHE_RSA_WITH_AES_256_GCM_SHA384) == "DHE-RSA-AES256-GCM-SHA384"
    config = client(tls12_cipher_suites=[openssl_name(s) for s in TLS12_SUITES])
    assert config.tls12_cipher_suites == TLS12_SUITES
    lower = client(tls12_cipher_suites=["ecdhe-rsa-aes128-gcm-sha256"])
    assert lower.tls12_cipher_suites == (TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,)


@pytest.mark.parametrize(
    ("name", "group"),
    [
        ("x25519", X25519),
        ("X25519", X25519),
        ("x448", X448),
        ("secp256r1", SECP256R1),
        ("P-256", SECP256R1),
        ("p256", SECP256R1),
        ("prime256v1", SECP256R1),
        ("P-384", SECP384R1),
        ("secp384r1", SECP384R1),
        ("P-521", SECP521R1),
        ("ffdhe2048", FFDHE2048),
        (NamedGroup.SECP384R1, SECP384R1),
        (0x001D, X25519),
        (X448, X448),
    ],
)
def test_groups_by_name(name: object, group: object) -> None:
    config = client(groups=[name], key_share_groups=[name])
    assert config.groups == (group,) and config.key_share_groups == (group,)


def test_signature_schemes_by_name_or_code_point() -> None:
    config = client(
        signature_schemes=["ecdsa_secp256r1_sha256", "RSA_PSS_RSAE_SHA256", 0x0807, S.ED448]
    )
    assert config.signature_schemes == (
        S.ECDSA_SECP256R1_SHA256,
        S.RSA_PSS_RSAE_SHA256,
        S.ED25519,
        S.ED448,
    )
    assert all(isinstance(s, SignatureScheme) for s in config.signature_schemes)


def test_unknown_signature_code_points_may_be_advertised() -> None:
    """RFC 8448's ClientHellos list DSA schemes (0x0402...): a replay must be able to send
    them; a server that picks one is refused when we verify."""
    config = client(signature_schemes=(0x0402, S.ECDSA_SECP256R1_SHA256))
    assert config.signature_schemes == (0x0402, S.ECDSA_SECP256R1_SHA256)


@pytest.mark.parametrize(
    ("value", "version"),
    [
        ("1.2", TLS12),
        ("1.3", TLS13),
        ("TLSv1.2", TLS12),
        ("TLSv1.3", TLS13),
        ("tls1.3", TLS13),
        ("TLS 1.3", TLS13),
        ("TLS13", TLS13),
        ("tls1_2", TLS12),
        (TLS13, TLS13),
        (0x0303, TLS12),
    ],
)
def test_versions_by_name(value: object, version: ProtocolVersion) -> None:
    config = client(min_version=value, max_version=value)
    assert config.min_version is version and config.max_version is version
    assert server(min_version=value, max_version=value).max_version is version


def test_psk_modes_by_name() -> None:
    config = server(psk_modes=["psk_dhe_ke", "PSK_KE"])
    assert config.psk_modes == (PskKeyExchangeMode.PSK_DHE_KE, PskKeyExchangeMode.PSK_KE)


def test_lists_become_tuples_and_configs_stay_hashable() -> None:
    cert = ecdsa_cert()
    config = client(alpn_protocols=["h2", "http/1.1"], certificates=[cert], external_psks=[PSK])
    assert config.alpn_protocols == ("h2", "http/1.1")
    assert config.certificates == (cert,) and config.external_psks == (PSK,)
    hash(config)
    hash(server(certificates=[cert], alpn_protocols=["h2"]))


def test_typed_defaults_are_kept_as_they_are() -> None:
    """Nothing is copied when the values are already typed: a connection reads the same
    objects as before (no per-connection cost)."""
    for config in (client(), server()):
        assert config.cipher_suites is DEFAULT_TLS13_SUITES
        assert config.tls12_cipher_suites is DEFAULT_TLS12_SUITES
        assert config.groups is DEFAULT_GROUPS
        assert config.signature_schemes is DEFAULT_SIGNATURE_SCHEMES
    mine = (TLS_AES_128_GCM_SHA256,)
    assert client(cipher_suites=mine).cipher_suites is mine


def test_replace_normalises_again() -> None:
    changes: dict[str, Any] = {"groups": ["P-384", "x25519"], "min_version": "1.3"}
    config = dataclasses.replace(client(), **changes)
    assert config.groups == (SECP384R1, X25519) and config.min_version is TLS13
    with pytest.raises(ConfigurationError, match="groups"):
        dataclasses.replace(config, groups=["P-999"])  # type: ignore[arg-type]


def test_paths_accept_pathlike(tmp_path: pathlib.Path) -> None:
    (tmp_path / "ca.pem").write_bytes(CertifiedKey.self_signed().chain_pem())
    config = client(cafile=tmp_path / "ca.pem", capath=tmp_path)
    assert config.cafile == str(tmp_path / "ca.pem") and config.capath == str(tmp_path)
    anchors = server(client_auth="required", client_capath=tmp_path)
    assert anchors.client_capath == str(tmp_path)


# --- unknown names, wrong types ----------------------------------------------------------------


def test_unknown_suite_name_suggests_the_closest() -> None:
    message = rejects(client, "cipher_suites", cipher_suites=["TLS_AES_128_GCM_SHA265"])
    assert "unknown TLS 1.3 cipher suite 'TLS_AES_128_GCM_SHA265'" in message
    assert "did you mean 'TLS_AES_128_GCM_SHA256'?" in message
    assert all(s.name in message for s in TLS13_SUITES)  # the known names


def test_unknown_tls12_suite_name() -> None:
    message = rejects(
        server, "^tls12_cipher_suites: unknown", tls12_cipher_suites=["ECDHE-RSA-AES128-GCM-SHA265"]
    )
    assert "did you mean 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'?" in message


def test_a_suite_of_the_other_version_names_both_fields() -> None:
    message = rejects(
        client, "^cipher_suites: ", cipher_suites=["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"]
    )
    assert "is a TLS 1.2 cipher suite" in message and "tls12_cipher_suites" in message
    message = rejects(
        server, "^tls12_cipher_suites: ", tls12_cipher_suites=[TLS_AES_128_GCM_SHA256]
    )
    assert "is a TLS 1.3 cipher suite" in message and "list it in cipher_suites" in message
    message = rejects(client, "^cipher_suites: ", cipher_suites=["ECDHE-RSA-AES128-GCM-SHA256"])
    assert "list it in tls12_cipher_suites" in message
    # a misspelt suite of the other version: the suggestion names the right field
    message = rejects(
        client, "^cipher_suites: ", cipher_suites=["TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA265"]
    )
    assert "did you mean 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256' in tls12_cipher_suites?" in message


def test_unknown_groups() -> None:
    message = rejects(client, "^groups: unknown group 'x25591'", groups=["x25591"])
    assert "did you mean 'x25519'?" in message and "secp256r1" in message
    rejects(server, r"^groups: unknown group 0x0200", groups=[NamedGroup.MLKEM512])
    rejects(client, "^key_share_groups: unknown group", key_share_groups=["curve25518x"])
    rejects(client, "^groups: 3.5 is not a group; give a Group or its name", groups=[3.5])


def test_unknown_signature_schemes() -> None:
    message = rejects(
        server, "^signature_schemes: unknown signature scheme", signature_schemes=["ecdsa_p256"]
    )
    assert "ecdsa_secp256r1_sha256" in message
    rejects(
        client, "^signature_schemes: unknown signature scheme 0x10000", signature_schemes=[1 << 16]
    )


def test_unknown_psk_mode() -> None:
    rejects(client, "^psk_modes: unknown PSK key exchange mode 'psk'", psk_modes=["psk"])
    rejects(server, "^psk_modes: unknown PSK key exchange mode 0x0002", psk_modes=[2])


@pytest.mark.parametrize("value", ["1.4", "TLSv2", "", 1.3, None, 0x0305])
def test_unknown_versions(value: object) -> None:
    message = rejects(client, "^max_version: unknown TLS version", max_version=value)
    assert "'1.2' or '1.3'" in message
    rejects(server, "^min_version: unknown TLS version", min_version=value)


@pytest.mark.parametrize("make", [client, server])
def test_a_bare_string_is_not_a_sequence(make: Any) -> None:
    rejects(make, "^alpn_protocols must be a sequence of str, not str$", alpn_protocols="h2")
    rejects(make, "^alpn_protocols must be a sequence of str, not bytes$", alpn_protocols=b"h2")
    rejects(make, "^groups must be a sequence of groups, not str", groups="x25519")
    rejects(make, "^cipher_suites must be a sequence", cipher_suites="TLS_AES_128_GCM_SHA256")
    rejects(make, "^signature_schemes must be a sequence", signature_schemes=S.ED25519)


def test_sets_and_generators_have_no_order() -> None:
    message = rejects(client, "^groups must be a sequence of groups, not set", groups={"x25519"})
    assert "preference order" in message
    rejects(client, "^psk_modes must be a sequence", psk_modes=(m for m in ["psk_ke"]))


def test_wrong_item_types() -> None:
    rejects(client, r"^alpn_protocols\[1\] must be a str, not bytes", alpn_protocols=["h2", b"x"])
    rejects(
        server,
        "^certificates must be a sequence of CertifiedKey, not CertifiedKey",
        certificates=ecdsa_cert(),
    )
    rejects(server, r"^certificates\[0\] must be a CertifiedKey, not str", certificates=["c.pem"])
    rejects(client, r"^external_psks\[0\] must be a ExternalPsk", external_psks=[b"key"])
    rejects(client, "^capath must be a path", capath=3)
    rejects(server, "^client_capath must be a path", client_capath=b"/etc/ssl/certs")


# --- duplicates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"cipher_suites": ["TLS_AES_128_GCM_SHA256", TLS_AES_128_GCM_SHA256]},
            "^cipher_suites: TLS_AES_128_GCM_SHA256 is listed twice",
        ),
        (
            {
                "tls12_cipher_suites": [
                    "ECDHE-RSA-AES128-GCM-SHA256",
                    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                ]
            },
            "^tls12_cipher_suites: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 is listed twice",
        ),
        ({"groups": ["P-256", "secp256r1"]}, "^groups: secp256r1 is listed twice"),
        (
            {"signature_schemes": ["ed25519", S.ED25519]},
            "^signature_schemes: ed25519 is listed twice",
        ),
        ({"psk_modes": ["psk_ke", 0]}, "^psk_modes: psk_ke is listed twice"),
        ({"alpn_protocols": ["h2", "h2"]}, "^alpn_protocols: a protocol is listed twice"),
    ],
    ids=["suites", "suites12", "groups", "schemes", "psk_modes", "alpn"],
)
@pytest.mark.parametrize("make", [client, server])
def test_duplicates(make: Any, kwargs: dict[str, Any], match: str) -> None:
    rejects(make, match, **kwargs)


# --- versions and suites ---------------------------------------------------------------------


@pytest.mark.parametrize("make", [client, server])
def test_no_common_version(make: Any) -> None:
    rejects(
        make,
        "^min_version TLS 1.3 is above max_version TLS 1.2: no version in common",
        min_version="1.3",
        max_version="1.2",
    )


@pytest.mark.parametrize("make", [client, server])
def test_versions_below_tls12(make: Any) -> None:
    rejects(make, r"^min_version: TLS 1.1 is not supported.*RFC 8996", min_version="1.1")
    rejects(make, r"^min_version: TLS 1.0 is not supported", min_version="TLSv1")
    rejects(make, r"^max_version: SSL 3.0 is not supported", max_version="SSLv3")


@pytest.mark.parametrize("make", [client, server])
def test_empty_suites_for_an_enabled_version(make: Any) -> None:
    rejects(make, r"^cipher_suites \(TLS 1.3\) is empty, but max_version", cipher_suites=())
    rejects(make, "^tls12_cipher_suites is empty, but min_version", tls12_cipher_suites=[])
    # fine once that version is off
    assert make(cipher_suites=(), max_version="1.2").cipher_suites == ()
    assert make(tls12_cipher_suites=(), min_version="1.3").tls12_cipher_suites == ()


@pytest.mark.parametrize("make", [client, server])
def test_empty_groups_schemes_and_modes(make: Any) -> None:
    rejects(make, "^groups must not be empty", groups=())
    rejects(make, "^signature_schemes must not be empty", signature_schemes=[])
    rejects(make, "^psk_modes: one or both", psk_modes=())


@pytest.mark.parametrize("make", [client, server])
@pytest.mark.parametrize("proto", ["", "x" * 256])
def test_alpn_lengths(make: Any, proto: str) -> None:
    rejects(make, r"^alpn_protocols: .* must be 1\.\.255 bytes \(RFC 7301", alpn_protocols=[proto])


# --- groups that cannot serve the enabled versions ---------------------------------------------


def test_tls12_only_client_with_no_curve_for_ecdhe_suites() -> None:
    message = rejects(
        client,
        "^groups: none fits tls12_cipher_suites",
        max_version="1.2",
        groups=["ffdhe2048"],
        tls12_cipher_suites=["ECDHE-RSA-AES128-GCM-SHA256"],
    )
    assert "ECDHE suites need an elliptic curve" in message and "ffdhe2048" in message


def test_a_dhe_client_needs_no_ffdhe_group() -> None:
    """RFC 7919 §4: the client judges the server's group; it need not list one."""
    config = client(
        max_version="1.2", groups=["x25519"], tls12_cipher_suites=["DHE-RSA-AES128-GCM-SHA256"]
    )
    assert config.groups == (X25519,)


def test_tls12_only_server_with_no_ffdhe_group_for_dhe_suites() -> None:
    message = rejects(
        server,
        "^groups: none fits tls12_cipher_suites",
        certificates=(rsa_cert(),),
        max_version="1.2",
        groups=["x25519"],
        tls12_cipher_suites=["DHE-RSA-AES128-GCM-SHA256"],
    )
    assert "DHE suites need an ffdhe group (RFC 7919)" in message


def test_one_usable_version_is_enough() -> None:
    """ffdhe-only groups suit TLS 1.3 (RFC 8446 §4.2.7) even though TLS 1.2's ECDHE suites,
    enabled by the default min_version, have no curve: that is a config many tests use."""
    config = server(groups=["ffdhe2048"], tls12_cipher_suites=["ECDHE-ECDSA-AES128-GCM-SHA256"])
    assert config.min_version is TLS12
    client(groups=["ffdhe2048"], tls12_cipher_suites=["ECDHE-ECDSA-AES128-GCM-SHA256"])


# --- server certificates against suites and schemes ---------------------------------------------


def test_tls13_server_certificate_without_a_configured_scheme() -> None:
    message = rejects(
        server,
        "^certificates: none can sign a TLS 1.3 CertificateVerify",
        certificates=(rsa_cert(),),
        signature_schemes=["ecdsa_secp256r1_sha256", "ed25519"],
        min_version="1.3",
    )
    assert "'CN=localhost' can sign with rsa_pss_rsae_sha256" in message
    assert "signature_schemes has ecdsa_secp256r1_sha256, ed25519" in message


def test_rsa_pkcs1_only_serves_tls12() -> None:
    """rsa_pkcs1_* are not CertificateVerify schemes (RFC 8446 §4.2.3), but sign a TLS 1.2
    ServerKeyExchange: with TLS 1.2 enabled the config works; TLS 1.3 alone does not."""
    pkcs1 = ["rsa_pkcs1_sha256"]
    assert server(certificates=(rsa_cert(),), signature_schemes=pkcs1).signature_schemes
    rejects(
        server,
        "^certificates: none can sign a TLS 1.3",
        certificates=(rsa_cert(),),
        signature_schemes=pkcs1,
        min_version="1.3",
    )


def test_no_enabled_version_works() -> None:
    message = rejects(
        server,
        "^no enabled version can work: TLS 1.3: certificates: none can sign",
        certificates=(rsa_cert(),),
        signature_schemes=["ecdsa_secp256r1_sha256"],
    )
    assert "TLS 1.2: certificates: none can sign a TLS 1.2 ServerKeyExchange" in message


def test_tls12_only_server_whose_certificate_fits_no_suite() -> None:
    message = rejects(
        server,
        "^tls12_cipher_suites: none that groups can serve fits a certificate's key",
        certificates=(ecdsa_cert(),),
        max_version="1.2",
        tls12_cipher_suites=["ECDHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES128-GCM-SHA256"],
    )
    assert "authenticate with RSA" in message
    # with TLS 1.3 on, the same server works (over TLS 1.3)
    server(tls12_cipher_suites=["ECDHE-RSA-AES128-GCM-SHA256"])


def test_tls12_only_server_needs_a_certificate() -> None:
    rejects(server, "^certificates: TLS 1.2 needs one", certificates=(), external_psks=(PSK,),
            max_version="1.2")  # fmt: skip
    assert server(certificates=(), external_psks=(PSK,)).external_psks == (PSK,)  # TLS 1.3


def test_a_server_needs_certificates_or_psks() -> None:
    rejects(server, "^certificates: a server needs a certificate chain", certificates=())


def test_client_signature_schemes_for_tls13() -> None:
    rejects(
        client,
        "^signature_schemes: none is allowed in a TLS 1.3 CertificateVerify",
        signature_schemes=["rsa_pkcs1_sha256"],
        min_version="1.3",
    )
    client(signature_schemes=["rsa_pkcs1_sha256"])  # TLS 1.2 can use it
    client(signature_schemes=["rsa_pkcs1_sha256"], min_version="1.3", external_psks=[PSK])


def test_key_not_matching_the_certificate() -> None:
    """Checked where the chain and key meet: CertifiedKey (certs.py)."""
    other_key = CertifiedKey.self_signed(("localhost",), key_type="ecdsa-p256").private_key
    with pytest.raises(ConfigurationError, match="private key does not match the certificate"):
        CertifiedKey(ecdsa_cert().chain, other_key)
    with pytest.raises(ConfigurationError, match="does not match"):
        CertifiedKey(ecdsa_cert().chain, rsa_cert().private_key)


# --- client-only and server-only rules ---------------------------------------------------------


def test_key_share_groups_must_be_offered() -> None:
    message = rejects(
        client,
        "^key_share_groups: x448 not in groups",
        groups=["x25519"],
        key_share_groups=["x448"],
    )
    assert "RFC 8446 §4.2.8" in message
    assert client(key_share_groups=()).initial_share_groups == ()  # asks for an HRR: allowed
    rejects(
        client, "^key_share_groups: x25519 is listed twice", key_share_groups=["x25519", X25519]
    )


def test_key_shares_follow_the_order_of_groups() -> None:
    """RFC 8446 §4.2.8: each KeyShareEntry "MUST appear in the same order" as its group in
    supported_groups (TLS-Anvil KeyShare.testOrderOfKeyshareEntries)."""
    config = client(
        groups=["x25519", "secp256r1", "secp384r1"], key_share_groups=["secp384r1", "x25519"]
    )
    assert [g.name for g in config.key_share_groups or ()] == ["x25519", "secp384r1"]


def test_record_size_limits() -> None:
    rejects(client, "^record_size_limit must be 64..16385", record_size_limit=63)
    rejects(server, "^record_size_limit must be 64..16385", record_size_limit=16386)


def test_early_data_needs_tls13() -> None:
    rejects(client, "^early_data: 0-RTT exists only in TLS 1.3", early_data=True, max_version="1.2")
    rejects(
        server,
        "^max_early_data_size: 0-RTT exists only in TLS 1.3",
        max_early_data_size=1024,
        max_version="1.2",
    )


def test_early_data_without_tickets() -> None:
    """0-RTT rides on a ticket that allows it (RFC 8446 §4.2.10). A server that issues none
    may still accept tickets of servers sharing its ticket_sealer (fine); with its own random
    sealer no ticket could ever open (an error)."""
    message = rejects(
        server, "^max_early_data_size: 0-RTT needs a ticket", max_early_data_size=1024,
        session_tickets=0,
    )  # fmt: skip
    assert "ticket_sealer" in message
    shared = server(max_early_data_size=1024, session_tickets=0, ticket_sealer=AeadTicketSealer())
    assert shared.max_early_data_size == 1024
    assert server(max_early_data_size=1024).session_tickets == 2


def test_client_auth_rules(tmp_path: pathlib.Path) -> None:
    message = rejects(server, "^client_auth='required' needs client_cafile", client_auth="required")
    assert "client_capath" in message and "client_verifier" in message
    rejects(server, '^client_auth must be "none", "optional" or "required", not \'yes\'',
            client_auth="yes")  # fmt: skip
    (tmp_path / "ca.pem").write_bytes(ecdsa_cert().chain_pem())
    assert server(client_auth="optional", client_capath=str(tmp_path)).client_capath
    assert server(client_auth="required", client_cadata=ecdsa_cert().chain_pem()).client_cadata


@pytest.mark.parametrize(
    "anchors",
    [
        {"cafile": "/nonexistent/ca.pem"},
        {"capath": "/nonexistent/certs"},
        {"cadata": b"\x30\x03\x02\x01\x02"},  # a SEQUENCE, but no certificate
        {"cadata": "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"},
    ],
    ids=["cafile", "capath", "cadata-der", "cadata-pem"],
)
def test_unreadable_trust_anchors_fail_the_construction(anchors: dict[str, object]) -> None:
    """As ssl's load_verify_locations() does, not at the first handshake (the trust anchors
    named in a config are read when it is made; the system trust store stays lazy)."""
    with pytest.raises(ConfigurationError):
        client(**anchors)
    with pytest.raises(ConfigurationError):
        server(client_auth="optional", **{f"client_{k}": v for k, v in anchors.items()})


def test_ticket_limits() -> None:
    rejects(server, "^session_tickets must be 0..255", session_tickets=256)
    rejects(server, "^ticket_lifetime must be 1..604800", ticket_lifetime=0)
    rejects(server, "^max_early_data_size must fit in 32 bits", max_early_data_size=1 << 32)
    rejects(server, "^ticket_age_tolerance must be positive", ticket_age_tolerance=0)


def test_server_name_callback_must_be_callable() -> None:
    rejects(server, "^server_name_callback must be callable", server_name_callback="a.example")
    assert "server_name_callback" not in repr(server(server_name_callback=lambda name: None))


# --- every message names its field ------------------------------------------------------------

_FIELDS = re.compile(
    r"\b(cipher_suites|tls12_cipher_suites|groups|key_share_groups|signature_schemes|psk_modes|"
    r"alpn_protocols|certificates|external_psks|min_version|max_version|record_size_limit|"
    r"early_data|max_early_data_size|client_auth|session_tickets|ticket_lifetime|"
    r"ticket_age_tolerance|server_name_callback|capath|client_capath|cafile)\b"
)


@pytest.mark.parametrize(
    ("make", "kwargs"),
    [
        (client, lambda: {"cipher_suites": ["nope"]}),
        (client, lambda: {"groups": [object()]}),
        (client, lambda: {"alpn_protocols": "h2"}),
        (client, lambda: {"min_version": "1.3", "max_version": "1.2"}),
        (client, lambda: {"max_version": "1.2", "groups": ["ffdhe2048"],
                          "tls12_cipher_suites": ["ECDHE-RSA-AES128-GCM-SHA256"]}),
        (server, lambda: {"certificates": (rsa_cert(),), "signature_schemes": ["ed25519"]}),
        (server, lambda: {"certificates": (), "external_psks": (PSK,), "max_version": "1.2"}),
        (server, lambda: {"client_auth": "required"}),
        (server, lambda: {"max_early_data_size": 1, "session_tickets": 0}),
    ],
)  # fmt: skip
def test_every_message_names_a_field(make: Any, kwargs: Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        make(**kwargs())
    assert _FIELDS.search(str(info.value)), str(info.value)


# --- capath reaches the verifier -------------------------------------------------------------


def _handshake(client_config: ClientConfig, server_config: ServerConfig) -> HandshakeComplete:
    c = ClientConnection(client_config, "localhost")
    s = ServerConnection(server_config)
    client_events, _ = pump(c, s)
    assert c.state is ConnectionState.APP_DATA and s.state is ConnectionState.APP_DATA
    (complete,) = [e for e in client_events if isinstance(e, HandshakeComplete)]
    return complete


def test_capath_trusts_the_directory(tmp_path: pathlib.Path) -> None:
    (tmp_path / "server.pem").write_bytes(ecdsa_cert().chain_pem())
    (tmp_path / "client.pem").write_bytes(rsa_cert().chain_pem())
    client_config = client(capath=tmp_path, certificates=[rsa_cert()])
    server_config = server(client_auth="required", client_capath=tmp_path)
    done = _handshake(client_config, server_config)
    assert done.peer_certificates == ecdsa_cert().chain


def test_capath_without_the_anchor_fails(tmp_path: pathlib.Path) -> None:
    (tmp_path / "other.pem").write_bytes(rsa_cert().chain_pem())
    c = ClientConnection(client(capath=tmp_path), "localhost")
    s = ServerConnection(server())
    with pytest.raises(ProtocolError) as info:
        pump(c, s)
    assert info.value.alert is AlertDescription.UNKNOWN_CA
