"""Fixtures for the interop tests: a test PKI and the ``peers`` registry that stops every peer.

The tests run real peer programs (OpenSSL, GnuTLS) and Python's ssl module over 127.0.0.1 on
ports chosen at run time. A missing peer program fails the test (``make peers`` installs them).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: pki.py
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/interop/: peers.py

from peers import Peers

import pki


@pytest.fixture(scope="session")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> pki.TestPKI:
    """A CA with RSA and ECDSA leaves for localhost / 127.0.0.1."""
    return pki.make_pki(tmp_path_factory.mktemp("interop-pki"))


@pytest.fixture(scope="session")
def chained_pki(tmp_path_factory: pytest.TempPathFactory) -> pki.TestPKI:
    """A CA, an intermediate CA and leaves issued by the intermediate (chains of two)."""
    return pki.make_pki(
        tmp_path_factory.mktemp("interop-pki-chain"),
        intermediate=True,
        key_types=("rsa-2048", "ecdsa-p256"),
    )


@pytest.fixture
def chained_peers(chained_pki: pki.TestPKI) -> Iterator[Peers]:
    """Like ``peers``, with certificates issued through an intermediate CA."""
    registry = Peers(chained_pki)
    try:
        yield registry
    finally:
        registry.stop_all()


@pytest.fixture
def peers(test_pki: pki.TestPKI) -> Iterator[Peers]:
    """Starts peers for one test; every one of them is stopped at teardown, pass or fail."""
    registry = Peers(test_pki)
    try:
        yield registry
    finally:
        registry.stop_all()
