"""offer_psks() splices the PSK extensions onto the hello's own bytes: the result must be the
encoding of the ClientHello object it returns, padding and binders included, in every shape
(RFC 8448 §4 checks one of them byte for byte)."""

from __future__ import annotations

import hashlib

import pytest

from tlsmachine import ClientConfig, ExternalPsk
from tlsmachine.client.client_hello import build_client_hello
from tlsmachine.client.offer import OfferedPsk, offer_psks
from tlsmachine.crypto.groups import X25519
from tlsmachine.extensions import Padding, PreSharedKeyClientHello
from tlsmachine.keyschedule import EarlySecret, finished_verify_data
from tlsmachine.messages import decode_handshake, encode_handshake


def offers(*sizes: int) -> tuple[OfferedPsk, ...]:
    return tuple(
        OfferedPsk(identity=bytes([i]) * size, psk=bytes(32), hash_name="sha256")
        for i, size in enumerate(sizes, 1)
    )


@pytest.mark.parametrize("pad", [True, False])
@pytest.mark.parametrize("early", [True, False])
@pytest.mark.parametrize("identity_sizes", [(16,), (16, 120), (200,), (400,)])
def test_spliced_offer_is_the_encoding_of_the_returned_hello(
    pad: bool, early: bool, identity_sizes: tuple[int, ...]
) -> None:
    config = ClientConfig(
        verify_certificates=False,
        groups=(X25519,),
        pad_client_hello=pad,
        external_psks=(ExternalPsk(identity=b"x", key=bytes(32)),),
    )
    hello, _ = build_client_hello(config, "example.com", (X25519.generate(),))
    psks = offers(*identity_sizes)
    final, raw = offer_psks(config, hello, psks, early_data=early)
    assert raw == final.raw == encode_handshake(final)
    assert decode_handshake(raw) == final  # parses back to the same message
    assert isinstance(final.extensions[-1], PreSharedKeyClientHello)  # §4.2.11: last
    if final.get(Padding) is not None:  # RFC 7685: only to lift a 256..511-byte hello
        assert pad and len(raw) >= 512
    else:
        assert not (pad and 256 <= len(raw) < 512)
    # the binders are HMACs over the truncated hello (§4.2.11.2)
    truncated = final.truncated_for_binders()
    digest = hashlib.sha256(truncated).digest()
    key = EarlySecret.from_psk("sha256", bytes(32)).binder_key(external=True)
    expected = finished_verify_data("sha256", key, digest)
    assert all(b == expected for b in final.extensions[-1].binders)  # type: ignore[attr-defined]


def test_offering_again_replaces_the_previous_offer() -> None:
    """After a HelloRetryRequest the hello already carries an offer: it is replaced, and
    padding is worked out again."""
    config = ClientConfig(verify_certificates=False, groups=(X25519,))
    hello, _ = build_client_hello(config, "example.com", (X25519.generate(),))
    first, _ = offer_psks(config, hello, offers(16), early_data=True)
    second, raw = offer_psks(config, first, offers(40))
    assert raw == encode_handshake(second)
    types = [type(e).__name__ for e in second.extensions]
    assert types.count("PreSharedKeyClientHello") == 1 and "EarlyData" not in types
