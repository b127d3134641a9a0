"""ML-KEM groups (crypto/kem.py): layouts, shared-secret order, checks and defaults.

The shares and secrets are checked against an independent computation with pyca's primitives,
assembled as draft-ietf-tls-ecdhe-mlkem §4.1-§4.3 (and draft-ietf-tls-mlkem) describe them.
"""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, mlkem, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tls_fixtures import server_cert
from tlsmachine import ClientConfig, ServerConfig
from tlsmachine.crypto.groups import (
    DEFAULT_GROUPS,
    GROUPS,
    SECP256R1,
    X448,
    X25519,
    Group,
    PrivateKeyShare,
    ecdhe12_group,
    group_by_id,
)
from tlsmachine.crypto.kem import (
    ALL_KEM_GROUPS,
    KEM_GROUPS,
    MLKEM768,
    MLKEM1024,
    SECP256R1MLKEM768,
    SECP384R1MLKEM1024,
    X25519MLKEM768,
    KEMGroup,
)
from tlsmachine.enums import NamedGroup
from tlsmachine.errors import ConfigurationError, IllegalParameter, InternalError


def client(**kwargs: Any) -> ClientConfig:
    return ClientConfig(**kwargs)


def server(**kwargs: Any) -> ServerConfig:
    return ServerConfig(certificates=(server_cert(),), **kwargs)


SEED = bytes(range(64))  # an ML-KEM seed d || z (FIPS 203 §7.1)
X25519_KEY = bytes(range(100, 132))
P256_SCALAR = (0x1234567890ABCDEF).to_bytes(32, "big")
P384_SCALAR = (0xFEDCBA0987654321).to_bytes(48, "big")

# (group, client share, server share, shared secret) lengths: ecdhe-mlkem §4.1-§4.3
SIZES = [
    (X25519MLKEM768, 1216, 1120, 64),
    (SECP256R1MLKEM768, 1249, 1153, 64),
    (SECP384R1MLKEM1024, 1665, 1665, 80),
    (MLKEM768, 1184, 1088, 32),
    (MLKEM1024, 1568, 1568, 32),
]


def test_pyca_supports_every_parameter_set_here() -> None:
    # the suite runs on pyca 50 with OpenSSL 3.5+: nothing may silently drop out
    assert KEM_GROUPS == ALL_KEM_GROUPS


def test_registry_and_names() -> None:
    expected = {
        NamedGroup.X25519MLKEM768: "X25519MLKEM768",
        NamedGroup.SECP256R1MLKEM768: "SecP256r1MLKEM768",
        NamedGroup.SECP384R1MLKEM1024: "SecP384r1MLKEM1024",
        NamedGroup.MLKEM768: "MLKEM768",
        NamedGroup.MLKEM1024: "MLKEM1024",
    }
    for code, name in expected.items():
        group = group_by_id(code)
        assert group is not None and group.name == name == str(group) and group.id == code
        assert group.kem and not ecdhe12_group(group)  # TLS 1.3 only
    assert GROUPS[0x11EC] is X25519MLKEM768
    assert group_by_id(NamedGroup.MLKEM512) is None  # not implemented (not in pyca either)
    assert not X25519.kem and ecdhe12_group(X25519) and ecdhe12_group(SECP256R1)


def test_default_groups_lead_with_the_hybrid_and_skip_the_others() -> None:
    assert DEFAULT_GROUPS[:2] == (X25519MLKEM768, X25519)
    assert [g for g in DEFAULT_GROUPS if g.kem] == [X25519MLKEM768]


@pytest.mark.parametrize(
    "name",
    ["X25519MLKEM768", "x25519mlkem768", "x25519_mlkem768", 0x11EC, NamedGroup.X25519MLKEM768],
)
def test_config_accepts_hybrid_names(name: object) -> None:
    assert server(groups=[name], min_version="1.3").groups == (X25519MLKEM768,)
    config = client(groups=[name, "x25519"], key_share_groups=[name])
    assert config.groups == (X25519MLKEM768, X25519)
    assert config.initial_share_groups == (X25519MLKEM768,)


def test_config_accepts_the_other_kem_names() -> None:
    config = client(
        groups=["mlkem768", "MLKEM1024", "secp256r1mlkem768", "SecP384r1MLKEM1024", "x25519"]
    )
    assert config.groups == (MLKEM768, MLKEM1024, SECP256R1MLKEM768, SECP384R1MLKEM1024, X25519)


def test_default_key_shares_are_the_hybrid_and_x25519() -> None:
    assert client().initial_share_groups == (X25519MLKEM768, X25519)
    # a KEM first: the first classical group joins it, wherever it is listed
    config = client(groups=["MLKEM768", "SecP256r1MLKEM768", "secp256r1", "x25519"])
    assert config.initial_share_groups == (MLKEM768, SECP256R1)
    # a classical group first: that one alone, as before
    assert client(groups=["x25519", "X25519MLKEM768"]).initial_share_groups == (X25519,)
    # only KEM groups (TLS 1.3 only): just the first
    only_kem = client(groups=["X25519MLKEM768", "MLKEM1024"], min_version="1.3")
    assert only_kem.initial_share_groups == (X25519MLKEM768,)
    # explicit key_share_groups win, including none at all
    assert client(key_share_groups=["x25519"]).initial_share_groups == (X25519,)
    assert client(key_share_groups=[]).initial_share_groups == ()


def test_a_tls12_server_needs_a_curve_besides_the_kem_groups() -> None:
    with pytest.raises(ConfigurationError, match="ECDHE suites need an elliptic curve"):
        server(groups=["X25519MLKEM768"], max_version="1.2")
    # with TLS 1.3 on too, the KEM-only config works (TLS 1.3 only, in effect)
    server(groups=["X25519MLKEM768"])


# --- sizes and round trips -------------------------------------------------------------------


@pytest.mark.parametrize(("group", "client_len", "server_len", "secret_len"), SIZES, ids=str)
def test_sizes_and_round_trip(
    group: KEMGroup, client_len: int, server_len: int, secret_len: int
) -> None:
    assert (group.client_share_len, group.server_share_len) == (client_len, server_len)
    client = group.generate()
    assert client.group is group and len(client.public_bytes) == client_len
    server_share, server_secret = group.respond(client.public_bytes)
    assert len(server_share) == server_len and len(server_secret) == secret_len
    assert client.exchange(server_share) == server_secret
    # fresh randomness on both sides every time
    again_share, again_secret = group.respond(client.public_bytes)
    assert again_share != server_share and again_secret != server_secret
    assert group.generate().public_bytes != client.public_bytes
    assert client.public_bytes[:8].hex() in repr(client)


# --- layouts against an independent computation --------------------------------------------


def _x25519_exchange(private: bytes, peer: bytes) -> bytes:
    key = x25519.X25519PrivateKey.from_private_bytes(private)
    return key.exchange(x25519.X25519PublicKey.from_public_bytes(peer))


def test_x25519mlkem768_layout_and_secret_order() -> None:
    """§4.1: ek || X25519; §4.2: ct || X25519; §4.3: ML-KEM secret || X25519 secret."""
    group = X25519MLKEM768
    client = group.from_private_bytes(SEED + X25519_KEY)
    kem_key = mlkem.MLKEM768PrivateKey.from_seed_bytes(SEED)
    x_key = x25519.X25519PrivateKey.from_private_bytes(X25519_KEY)
    ek = kem_key.public_key().public_bytes_raw()
    assert client.public_bytes == ek + x_key.public_key().public_bytes_raw()

    # our server side, checked by decapsulating and exchanging the pieces ourselves
    server_share, secret = group.respond(client.public_bytes)
    ct, x_server = server_share[:1088], server_share[1088:]
    assert len(x_server) == 32
    assert secret == kem_key.decapsulate(ct) + _x25519_exchange(X25519_KEY, x_server)

    # our client side, against a server share assembled by hand
    kem_secret, ct = mlkem.MLKEM768PublicKey.from_public_bytes(ek).encapsulate()
    server_x = x25519.X25519PrivateKey.generate()
    server_x_public = server_x.public_key().public_bytes_raw()
    ecdh_secret = server_x.exchange(x_key.public_key())
    assert client.exchange(ct + server_x_public) == kem_secret + ecdh_secret


@pytest.mark.parametrize(
    ("group", "curve", "scalar", "private_cls", "public_cls", "ct_len"),
    [
        (
            SECP256R1MLKEM768,
            ec.SECP256R1(),
            P256_SCALAR,
            mlkem.MLKEM768PrivateKey,
            mlkem.MLKEM768PublicKey,
            1088,
        ),
        (
            SECP384R1MLKEM1024,
            ec.SECP384R1(),
            P384_SCALAR,
            mlkem.MLKEM1024PrivateKey,
            mlkem.MLKEM1024PublicKey,
            1568,
        ),
    ],
    ids=["SecP256r1MLKEM768", "SecP384r1MLKEM1024"],
)
def test_nist_hybrid_layout_and_secret_order(
    group: KEMGroup,
    curve: ec.EllipticCurve,
    scalar: bytes,
    private_cls: type[mlkem.MLKEM768PrivateKey] | type[mlkem.MLKEM1024PrivateKey],
    public_cls: type[mlkem.MLKEM768PublicKey] | type[mlkem.MLKEM1024PublicKey],
    ct_len: int,
) -> None:
    """§4.1: point || ek; §4.2: point || ct; §4.3: ECDH x-coordinate || ML-KEM secret."""
    point_len = 1 + 2 * len(scalar)
    client = group.from_private_bytes(scalar + SEED)
    kem_key = private_cls.from_seed_bytes(SEED)
    ec_key = ec.derive_private_key(int.from_bytes(scalar, "big"), curve)
    point = ec_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    ek = kem_key.public_key().public_bytes_raw()
    assert len(point) == point_len and client.public_bytes == point + ek

    server_share, secret = group.respond(client.public_bytes)
    server_point, ct = server_share[:point_len], server_share[point_len:]
    assert server_point[0] == 0x04 and len(ct) == ct_len
    peer = ec.EllipticCurvePublicKey.from_encoded_point(curve, server_point)
    assert secret == ec_key.exchange(ec.ECDH(), peer) + kem_key.decapsulate(ct)
    assert len(secret) == len(scalar) + 32

    kem_secret, ct = public_cls.from_public_bytes(ek).encapsulate()
    server_ec = ec.generate_private_key(curve)
    server_point = server_ec.public_key().public_bytes(
        Encoding.X962, PublicFormat.UncompressedPoint
    )
    ecdh_secret = server_ec.exchange(ec.ECDH(), ec_key.public_key())
    assert client.exchange(server_point + ct) == ecdh_secret + kem_secret


@pytest.mark.parametrize(
    ("group", "private_cls"),
    [(MLKEM768, mlkem.MLKEM768PrivateKey), (MLKEM1024, mlkem.MLKEM1024PrivateKey)],
    ids=["MLKEM768", "MLKEM1024"],
)
def test_pure_mlkem_layout(
    group: KEMGroup,
    private_cls: type[mlkem.MLKEM768PrivateKey] | type[mlkem.MLKEM1024PrivateKey],
) -> None:
    """draft-ietf-tls-mlkem: key_exchange = ek / ct, shared secret = the ML-KEM secret."""
    client = group.from_private_bytes(SEED)
    kem_key = private_cls.from_seed_bytes(SEED)
    assert client.public_bytes == kem_key.public_key().public_bytes_raw()
    ct, secret = group.respond(client.public_bytes)
    assert kem_key.decapsulate(ct) == secret == client.exchange(ct)


def test_from_private_bytes_is_deterministic_and_checks_lengths() -> None:
    a = X25519MLKEM768.from_private_bytes(SEED + X25519_KEY)
    b = X25519MLKEM768.from_private_bytes(SEED + X25519_KEY)
    assert a.public_bytes == b.public_bytes
    with pytest.raises(ValueError, match="64-byte ML-KEM seed"):
        X25519MLKEM768.from_private_bytes(SEED)
    with pytest.raises(ValueError, match="64-byte ML-KEM seed"):
        MLKEM768.from_private_bytes(SEED + b"\x00")
    with pytest.raises(ValueError, match="32 bytes"):  # pyca: the X25519 part is 32 bytes
        X25519MLKEM768.from_private_bytes(SEED + X25519_KEY[:-1])


# --- invalid shares: illegal_parameter (§4.2, §4.3) --------------------------------------------


@pytest.mark.parametrize("group", ALL_KEM_GROUPS, ids=str)
def test_wrong_length_shares(group: KEMGroup) -> None:
    client = group.generate()
    server_share, _ = group.respond(client.public_bytes)
    for bad in (client.public_bytes[:-1], client.public_bytes + b"\x00", b""):
        with pytest.raises(IllegalParameter, match=f"{group.name} key share: .* bytes, expected"):
            group.respond(bad)
    # §4.2: "the client MUST check if the ciphertext length matches the selected group"
    wrong = [server_share[:-1], server_share + b"\x00", b""]
    if group.client_share_len != group.server_share_len:  # ML-KEM-1024: both 1568 bytes
        wrong.append(client.public_bytes)
    for bad in wrong:
        with pytest.raises(IllegalParameter, match=f"{group.name} key share: .* bytes, expected"):
            client.exchange(bad)


def _ek_offset(group: KEMGroup) -> int:
    return group.ecdh_share_len if group.ecdh_first else 0


def _with_first_coefficient(group: KEMGroup, share: bytes, value: int) -> bytes:
    """The share with the ML-KEM key's first 12-bit coefficient set to ``value`` (FIPS 203
    ByteEncode_12: coefficient 0 is byte 0 and the low nibble of byte 1)."""
    at = _ek_offset(group)
    b0 = value & 0xFF
    b1 = (share[at + 1] & 0xF0) | (value >> 8)
    return share[:at] + bytes((b0, b1)) + share[at + 2 :]


@pytest.mark.parametrize("group", ALL_KEM_GROUPS, ids=str)
def test_encapsulation_key_modulus_check(group: KEMGroup) -> None:
    """§4.2: the server MUST run the FIPS 203 §7.2 check; pyca/OpenSSL refuse a coefficient of
    q = 3329 or more, and we turn that into illegal_parameter."""
    share = group.generate().public_bytes
    group.respond(_with_first_coefficient(group, share, 3328))  # q - 1: valid
    for value in (3329, 0xFFF):
        with pytest.raises(IllegalParameter, match=r"FIPS 203 §7\.2"):
            group.respond(_with_first_coefficient(group, share, value))
    at = _ek_offset(group)
    ek_len = group.mlkem.encapsulation_key_len
    all_ones = share[:at] + b"\xff" * ek_len + share[at + ek_len :]
    with pytest.raises(IllegalParameter, match=r"FIPS 203 §7\.2"):
        group.respond(all_ones)


def test_all_zero_x25519_part_is_refused_both_ways() -> None:
    group = X25519MLKEM768
    client = group.generate()
    zero_client = client.public_bytes[:-32] + bytes(32)
    with pytest.raises(IllegalParameter, match=r"X25519MLKEM768 key share: ECDH part: .*all zeros"):
        group.respond(zero_client)
    server_share, _ = group.respond(client.public_bytes)
    with pytest.raises(IllegalParameter, match=r"ECDH part: .*all zeros"):
        client.exchange(server_share[:-32] + bytes(32))
    with pytest.raises(IllegalParameter, match="all zeros"):  # an order-1 point too
        client.exchange(server_share[:-32] + b"\x01" + bytes(31))


@pytest.mark.parametrize("group", [SECP256R1MLKEM768, SECP384R1MLKEM1024], ids=str)
def test_bad_nist_point_is_refused_both_ways(group: KEMGroup) -> None:
    n = group.ecdh_share_len
    coordinate = (n - 1) // 2
    off_curve = b"\x04" + (1).to_bytes(coordinate, "big") + (1).to_bytes(coordinate, "big")
    client = group.generate()
    server_share, _ = group.respond(client.public_bytes)
    with pytest.raises(IllegalParameter, match=r"ECDH part: .*not a point on the curve"):
        group.respond(off_curve + client.public_bytes[n:])
    with pytest.raises(IllegalParameter, match=r"ECDH part: .*not a point on the curve"):
        client.exchange(off_curve + server_share[n:])
    compressed = b"\x02" + client.public_bytes[1:n]
    with pytest.raises(IllegalParameter, match="only uncompressed"):
        group.respond(compressed + client.public_bytes[n:])


@pytest.mark.parametrize("group", ALL_KEM_GROUPS, ids=str)
def test_a_forged_ciphertext_gives_another_secret_not_an_error(group: KEMGroup) -> None:
    """FIPS 203 implicit rejection: a ciphertext of the right length always decapsulates; the
    handshake then fails on the Finished/record MAC, not here."""
    client = group.generate()
    server_share, secret = group.respond(client.public_bytes)
    at = group.ecdh_share_len if group.ecdh_first else 0
    forged = server_share[:at] + bytes([server_share[at] ^ 1]) + server_share[at + 1 :]
    other = client.exchange(forged)
    assert len(other) == len(secret) and other != secret


class _FailingKey:
    def decapsulate(self, ciphertext: bytes) -> bytes:
        raise ValueError("simulated")

    def public_key(self) -> object:  # pragma: no cover - not called
        raise AssertionError


def test_other_decapsulation_failures_are_internal_error() -> None:
    """§4.2: "If ML-KEM decapsulation fails for any other reason, the connection MUST be
    aborted with an internal_error alert"."""
    client = MLKEM768.generate()
    ct, _ = MLKEM768.respond(client.public_bytes)
    client._decapsulation_key = _FailingKey()  # type: ignore[attr-defined]
    with pytest.raises(InternalError, match="decapsulation failed"):
        client.exchange(ct)


def test_a_server_never_uses_an_injected_share_for_a_kem() -> None:
    client = X25519MLKEM768.generate()
    share: PrivateKeyShare = X25519.generate()
    with pytest.raises(InternalError, match="is a KEM"):
        X25519MLKEM768.respond(client.public_bytes, share)


def test_the_classical_groups_are_unchanged() -> None:
    group: Group = X448
    client = group.generate()
    server_share, secret = group.respond(client.public_bytes)
    assert len(server_share) == 56 and client.exchange(server_share) == secret
