"""What every extension module shares: the message an extension block belongs to
(:class:`ExtensionContext`, the columns of the RFC 8446 §4.2 table) and the helper that reads a
list of structures up to the end of its vector.

Package-internal: the short context names (``_CH``, ``_EE``...) and ``_items`` are for the
sibling modules; :class:`ExtensionContext` is public through :mod:`tlsmachine.extensions`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TypeVar

from ..codec import Reader

_T = TypeVar("_T")


class ExtensionContext(enum.Enum):
    """The message an extension block belongs to (the columns of the RFC 8446 §4.2 table)."""

    CLIENT_HELLO = "ClientHello"
    SERVER_HELLO = "ServerHello"
    HELLO_RETRY_REQUEST = "HelloRetryRequest"
    ENCRYPTED_EXTENSIONS = "EncryptedExtensions"
    CERTIFICATE = "Certificate"
    CERTIFICATE_REQUEST = "CertificateRequest"
    NEW_SESSION_TICKET = "NewSessionTicket"
    TLS12_SERVER_HELLO = "TLS 1.2 ServerHello"

    # Members are singletons compared by identity, so the identity hash agrees with ``==``;
    # it is computed in C, where Enum's own ``__hash__`` is a Python call on every dict or set
    # lookup (and every extension block is parsed through one).
    __hash__ = object.__hash__


_CH = ExtensionContext.CLIENT_HELLO
_SH = ExtensionContext.SERVER_HELLO
_HRR = ExtensionContext.HELLO_RETRY_REQUEST
_EE = ExtensionContext.ENCRYPTED_EXTENSIONS
_CT = ExtensionContext.CERTIFICATE
_CR = ExtensionContext.CERTIFICATE_REQUEST
_NST = ExtensionContext.NEW_SESSION_TICKET
_SH12 = ExtensionContext.TLS12_SERVER_HELLO


def _items(r: Reader, parse: Callable[[Reader], _T]) -> tuple[_T, ...]:
    """Parse structures from ``r`` until it is exhausted."""
    out: list[_T] = []
    while not r.at_end():
        out.append(parse(r))
    return tuple(out)
