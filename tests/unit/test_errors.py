"""The error hierarchy: every ProtocolError names a real alert; alerts parse strictly."""

from __future__ import annotations

import pickle
import ssl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tlsmachine import errors
from tlsmachine.enums import AlertDescription, AlertLevel
from tlsmachine.errors import AlertReceived, DecodeError, ProtocolError, TLSError
from tlsmachine.messages.alert import Alert


def all_subclasses(cls: type) -> list[type]:
    found: list[type] = []
    for sub in cls.__subclasses__():
        found += [sub, *(s for s in all_subclasses(sub) if s not in found)]
    return list(dict.fromkeys(found))


PROTOCOL_ERRORS = [cls for cls in all_subclasses(ProtocolError) if "alert" in vars(cls)]
"""The classes of one alert each; the others are bases that group them."""
BASES = [cls for cls in all_subclasses(ProtocolError) if "alert" not in vars(cls)]


def test_the_hierarchy_is_complete() -> None:
    assert len(PROTOCOL_ERRORS) >= 25
    assert [errors.CertificateVerificationError] == BASES
    assert all(vars(sub).get("alert") for sub in all_subclasses(*BASES))
    assert all(issubclass(cls, TLSError) for cls in PROTOCOL_ERRORS)
    assert issubclass(AlertReceived, TLSError)
    assert not issubclass(AlertReceived, ProtocolError)  # we never answer an alert


@pytest.mark.parametrize("cls", PROTOCOL_ERRORS, ids=lambda c: c.__name__)
def test_every_protocol_error_carries_its_own_registered_alert(cls: type[ProtocolError]) -> None:
    assert isinstance(cls.alert, AlertDescription)
    assert cls.alert is not AlertDescription.CLOSE_NOTIFY
    if cls is not errors.InternalError:
        assert cls.alert is not AlertDescription.INTERNAL_ERROR, "forgot to set alert"


def test_alerts_are_distinct_per_class() -> None:
    alerts = [cls.alert for cls in PROTOCOL_ERRORS]
    assert len(alerts) == len(set(alerts)), "two classes for one alert: merge or document"


def test_certificate_alerts_are_ssl_certificate_verification_errors() -> None:
    """Code written for ssl catches them (``except ssl.SSLCertVerificationError``, urllib's
    URLError wrapping of OSError) and reads ``verify_code``/``verify_message``."""
    certificate_alerts = {
        errors.BadCertificate,
        errors.UnsupportedCertificate,
        errors.CertificateExpired,
        errors.CertificateRevoked,
        errors.CertificateUnknown,
        errors.UnknownCA,
    }
    assert set(all_subclasses(errors.CertificateVerificationError)) == certificate_alerts
    expired = errors.CertificateExpired("not valid before ...", verify_code=9)
    assert isinstance(expired, ssl.SSLCertVerificationError)
    assert isinstance(expired, OSError) and isinstance(expired, ValueError)
    assert (expired.verify_code, expired.verify_message) == (9, "not valid before ...")
    assert (str(expired), expired.reason, expired.library) == (
        "not valid before ...",
        "CERTIFICATE_VERIFY_FAILED",
        "SSL",
    )
    assert errors.UnknownCA("x").verify_code == 20  # X509_V_ERR_UNABLE_TO_GET_ISSUER_..._LOCALLY
    assert pickle.loads(pickle.dumps(expired)).verify_code == 9  # noqa: S301 - our own bytes
    assert not issubclass(errors.DecodeError, OSError)  # the others stay plain TLSErrors


def test_alert_received_names_the_alert() -> None:
    assert "bad_record_mac" in str(AlertReceived(20))
    assert "unknown alert 255" in str(AlertReceived(255))


@given(st.binary(max_size=8))
def test_alert_parse_accepts_exactly_two_bytes(data: bytes) -> None:
    if len(data) == 2:
        alert = Alert.parse(data)
        assert alert.serialize() == data
    else:
        with pytest.raises(DecodeError):
            Alert.parse(data)


def test_alert_round_trip() -> None:
    alert = Alert(AlertLevel.FATAL, AlertDescription.HANDSHAKE_FAILURE)
    assert alert.serialize() == b"\x02\x28"
    assert Alert.parse(b"\x02\x28") == alert
