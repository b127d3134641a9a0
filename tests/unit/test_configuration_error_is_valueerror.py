"""ConfigurationError is also a ValueError, the class :mod:`ssl` raises for bad settings.

Code written for ``ssl`` that wraps ``SSLContext`` calls in ``except ValueError`` must catch our
configuration errors from :mod:`tlsmachine.context` too (docs/ssl-compat.md, "Errors"). And
the library's own ``except ValueError`` handlers must not swallow or relabel a
ConfigurationError raised inside them.
"""

from __future__ import annotations

import datetime as dt
import pickle
import re
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import tlsmachine.context as tssl
from tlsmachine import errors
from tlsmachine.certs import CertifiedKey
from tlsmachine.errors import ConfigurationError, TLSError
from tlsmachine.verify import DefaultVerifier


def all_subclasses(cls: type) -> list[type]:
    found: list[type] = [cls]
    subclasses: list[type] = cls.__subclasses__()
    for sub in subclasses:
        found += [s for s in all_subclasses(sub) if s not in found]
    return found


# -- the class ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", all_subclasses(ConfigurationError), ids=lambda c: c.__name__)
def test_configuration_errors_are_value_errors_and_tls_errors(cls: type[Exception]) -> None:
    error = cls("bad setting")
    assert isinstance(error, ValueError)
    assert isinstance(error, TLSError)
    assert not isinstance(error, OSError)  # not ssl.SSLError: `except OSError` code unchanged
    assert not isinstance(error, errors.ProtocolError)  # no alert is sent for it


def test_tls_error_comes_first_in_the_mro() -> None:
    """``except TLSError`` handlers and TLSError's own behaviour win over ValueError's."""
    mro = ConfigurationError.__mro__
    assert mro.index(TLSError) < mro.index(ValueError) < mro.index(Exception)


def test_message_args_repr_and_pickling_are_those_of_a_plain_exception() -> None:
    error = ConfigurationError("minimum_version: versions below TLS 1.2 are not supported")
    assert error.args == ("minimum_version: versions below TLS 1.2 are not supported",)
    assert str(error) == "minimum_version: versions below TLS 1.2 are not supported"
    assert repr(error) == (
        "ConfigurationError('minimum_version: versions below TLS 1.2 are not supported')"
    )
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert type(copy) is ConfigurationError
    assert (copy.args, str(copy)) == (error.args, str(error))
    assert str(ConfigurationError()) == ""  # no-argument form, as ValueError()


# -- the ssl facade: caught by `except ValueError` as with ssl -----------------------------------


def _client(mod: ModuleType) -> Any:
    return mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)


def _server(mod: ModuleType) -> Any:
    return mod.SSLContext(mod.PROTOCOL_TLS_SERVER)


def _verify_mode_none_with_check_hostname(mod: ModuleType) -> None:
    _client(mod).verify_mode = mod.CERT_NONE


def _num_tickets_on_a_client(mod: ModuleType) -> None:
    _client(mod).num_tickets = 1


def _negative_num_tickets(mod: ModuleType) -> None:
    _server(mod).num_tickets = -1


def _unknown_curve(mod: ModuleType) -> None:
    _client(mod).set_ecdh_curve("no-such-curve")


def _sni_callback_on_a_client(mod: ModuleType) -> None:
    _client(mod).sni_callback = lambda *_: None


def _server_hostname_on_a_server_wrap(mod: ModuleType) -> None:
    with socket.socket() as sock:
        _server(mod).wrap_socket(sock, server_side=True, server_hostname="example.com")


def _check_hostname_without_server_hostname(mod: ModuleType) -> None:
    with socket.socket() as sock:
        _client(mod).wrap_socket(sock)


SSL_VALUE_ERRORS: dict[str, Callable[[ModuleType], None]] = {
    "verify_mode=CERT_NONE with check_hostname": _verify_mode_none_with_check_hostname,
    "num_tickets on a client context": _num_tickets_on_a_client,
    "num_tickets=-1": _negative_num_tickets,
    "set_ecdh_curve(unknown)": _unknown_curve,
    "sni_callback on a client context": _sni_callback_on_a_client,
    "server_hostname on a server-side wrap_socket": _server_hostname_on_a_server_wrap,
    "wrap_socket without server_hostname": _check_hostname_without_server_hostname,
}
"""Bad settings for which ssl itself raises ValueError: the same call on each module."""


def _caught_as_value_error(call: Callable[[], None]) -> ValueError:
    try:
        call()
    except ValueError as exc:  # what code written for ssl does
        return exc
    pytest.fail("no ValueError raised")


@pytest.mark.parametrize("scenario", SSL_VALUE_ERRORS.values(), ids=list(SSL_VALUE_ERRORS))
def test_bad_settings_are_value_errors_as_in_ssl(scenario: Callable[[ModuleType], None]) -> None:
    reference = _caught_as_value_error(lambda: scenario(ssl))
    assert type(reference) is ValueError  # the baseline: ssl raises a plain ValueError here
    ours = _caught_as_value_error(lambda: scenario(tssl))
    assert isinstance(ours, ConfigurationError)


DOCUMENTED: dict[str, tuple[Callable[[], None], str]] = {
    "minimum_version=TLSv1_1": (
        lambda: setattr(_client(tssl), "minimum_version", tssl.TLSVersion.TLSv1_1),
        r"minimum_version: versions below TLS 1\.2 are not supported",
    ),
    "maximum_version=TLSv1": (
        lambda: setattr(_client(tssl), "maximum_version", tssl.TLSVersion.TLSv1),
        r"maximum_version: versions below TLS 1\.2 are not supported",
    ),
    "hostname_checks_common_name=True": (
        lambda: setattr(_client(tssl), "hostname_checks_common_name", True),
        "the common name is never checked",
    ),
    "set_ciphers selecting nothing": (
        lambda: _client(tssl).set_ciphers("RC4:3DES:aNULL"),
        "no cipher can be selected",
    ),
}
"""Settings ssl accepts (or refuses with an OSError) that docs/ssl-compat.md says raise
ConfigurationError: ``except ValueError`` catches them like ssl's bad-setting errors."""


@pytest.mark.parametrize(("call", "message"), DOCUMENTED.values(), ids=list(DOCUMENTED))
def test_documented_configuration_errors_are_caught_as_value_errors(
    call: Callable[[], None], message: str
) -> None:
    error = _caught_as_value_error(call)
    assert type(error) is ConfigurationError
    assert re.search(message, str(error)), str(error)


# -- except-ValueError sites that must let a ConfigurationError through --------------------------


def _missing_system_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """SSL_CERT_FILE alone replaces the default locations: pointing it nowhere leaves no
    system trust store (tlsmachine.trust_store.system_trust_store)."""
    missing = str(tmp_path / "missing.pem")
    monkeypatch.setenv("SSL_CERT_FILE", missing)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return missing


def test_verify_server_lets_a_missing_system_store_through_unchanged(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """verify.py: the ``except ValueError`` around building pyca's server verifier (which
    loads the system store on first use) relabels pyca's reference-identity ValueErrors as
    "server name ... is not usable"; the missing-store ConfigurationError must keep its own
    type and message (the one ``DefaultVerifier().trust_anchors`` raises)."""
    missing = _missing_system_store(monkeypatch, tmp_path)
    with pytest.raises(ConfigurationError) as direct:
        _ = DefaultVerifier().trust_anchors
    chain = CertifiedKey.self_signed(("localhost",)).chain
    with pytest.raises(ConfigurationError) as through_verify:
        DefaultVerifier().verify_server(chain, "localhost", dt.datetime.now(dt.UTC))
    assert type(through_verify.value) is ConfigurationError
    assert str(through_verify.value) == str(direct.value)
    assert str(through_verify.value).startswith("no trusted CA certificates found")
    assert f"SSL_CERT_FILE={missing} (missing)" in str(through_verify.value)
    assert "is not usable" not in str(through_verify.value)


def test_verify_server_still_relabels_pycas_own_value_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The other half of the same handler: a plain ValueError from pyca is still reported as
    an unusable server name (the ConfigurationError clause above it is not too wide)."""
    leaf = CertifiedKey.self_signed(("localhost",))
    verifier = DefaultVerifier(cadata=leaf.chain_pem())

    class _RefusingBuilder:
        def build_server_verifier(self, subject: object) -> object:
            raise ValueError("pyca refuses this reference identity")

    monkeypatch.setattr(verifier, "_builder", lambda now, leaf: _RefusingBuilder())
    with pytest.raises(ConfigurationError) as caught:
        verifier.verify_server(leaf.chain, "localhost", dt.datetime.now(dt.UTC))
    assert str(caught.value) == (
        "server name 'localhost' is not usable: pyca refuses this reference identity"
    )
