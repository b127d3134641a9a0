"""One readable line per handshake message: what ``--trace`` and the demo print.

``-> ClientHello  versions=[TLSv1.3,TLSv1.2] suites=[TLS_AES_128_GCM_SHA256,...] groups=[...]``

The line shows the fields that decide a handshake (versions, suites, groups, key shares,
signature schemes, ALPN, SNI, PSK offers, ...) by their IANA names; an unknown code point (GREASE,
a newer extension) is printed as hex, so the line never hides what was on the wire. Lengths are
printed as ``32B``. ``->`` is a message the printing side sent, ``<-`` one it received.

Pure formatting over the parsed message objects of :mod:`tlsmachine.messages`: no I/O, and no
exception for any message the parser accepted (a trace must never break a connection). It runs
only when tracing is on, so it favours clarity over speed; the name tables are built once.
This module formats the messages and keeps :class:`TraceLog`; the code-point names and the
extension formatters are in :mod:`tlsmachine.trace_extensions`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from cryptography import x509

from .codec import Reader
from .errors import TLSError
from .events import Event, HandshakeMessageTraced, RecordTraced
from .extensions import (
    SupportedVersionsClientHello,
    SupportedVersionsServerHello,
)
from .messages import (
    DOWNGRADE_TLS11,
    DOWNGRADE_TLS12,
    Alert,
    Certificate,
    Certificate12,
    CertificateRequest,
    CertificateRequest12,
    CertificateVerify,
    ChangeCipherSpec,
    ClientHello,
    ClientKeyExchange,
    EncryptedExtensions,
    EndOfEarlyData,
    Finished,
    HelloRequest,
    KeyUpdate,
    NewSessionTicket,
    NewSessionTicket12,
    ServerHello,
    ServerHelloDone,
    ServerKeyExchange,
)
from .trace_extensions import (
    _ALERT_LEVELS,
    _ALERTS,
    _CERTIFICATE_TYPES,
    _DHE_PRIMES,
    _EXTENSIONS,
    _GROUPS,
    _KEY_UPDATE,
    _SCHEMES,
    _SHORT_SCHEMES,
    _SUITES,
    _extension_fields,
    _name,
    _names,
    _size,
    version_name,
)
from .trust_store import UNREADABLE_CERTIFICATE

ARROWS = {"sent": "->", "received": "<-"}
"""The arrow of each ``HandshakeMessageTraced.direction``, seen from the side printing."""


# -- messages -------------------------------------------------------------------------------------


def _subject(der: bytes) -> str:
    try:
        return x509.load_der_x509_certificate(der).subject.rfc4514_string() or "(empty)"
    except UNREADABLE_CERTIFICATE:
        return "(unparsable)"


def _chain(certificates: Sequence[bytes]) -> list[str]:
    fields = [f"certs={len(certificates)}"]
    if certificates:
        fields.append(f"leaf={_subject(certificates[0])}")
    return fields


def _client_hello(m: ClientHello) -> list[str]:
    versions = m.get(SupportedVersionsClientHello)
    head = [
        _EXTENSIONS[SupportedVersionsClientHello](versions, True)
        if versions is not None
        else "version=" + version_name(m.legacy_version),
        "suites=" + _names(_SUITES, m.cipher_suites),
    ]
    rest = _extension_fields(m.extensions, offer=True, skip=SupportedVersionsClientHello)
    return [*head, *rest, f"session_id={_size(m.legacy_session_id)}"]


_DOWNGRADE_SENTINELS = {DOWNGRADE_TLS12: "TLSv1.2", DOWNGRADE_TLS11: "TLSv1.1"}


def _server_hello(m: ServerHello) -> list[str]:
    selected = m.get(SupportedVersionsServerHello)
    head = [
        "version="
        + version_name(m.legacy_version if selected is None else selected.selected_version),
        "suite=" + _name(_SUITES, m.cipher_suite),
    ]
    rest = _extension_fields(m.extensions, skip=SupportedVersionsServerHello)
    fields = [*head, *rest, f"session_id={_size(m.legacy_session_id_echo)}"]
    sentinel = _DOWNGRADE_SENTINELS.get(m.random[-8:])
    if sentinel is not None:  # a TLS 1.3 server negotiating less (RFC 8446 §4.1.3)
        fields.append(f"downgrade_sentinel={sentinel}")
    return fields


def _certificate(m: Certificate) -> list[str]:
    context = [f"context={_size(m.certificate_request_context)}"]
    chain = _chain([entry.cert_data for entry in m.certificate_list])
    return context + chain if m.certificate_request_context else chain


def _certificate_request(m: CertificateRequest) -> list[str]:
    fields = _extension_fields(m.extensions)
    return [f"context={_size(m.certificate_request_context)}", *fields]


def _certificate_request12(m: CertificateRequest12) -> list[str]:
    return [
        "types=" + _names(_CERTIFICATE_TYPES, m.certificate_types),
        "sigalgs=" + _names(_SHORT_SCHEMES, m.supported_signature_algorithms),
        f"cas={len(m.certificate_authorities)}",
    ]


def _new_session_ticket(m: NewSessionTicket) -> list[str]:
    head = [f"lifetime={m.ticket_lifetime}s", f"ticket={_size(m.ticket)}"]
    return [*head, f"nonce={_size(m.ticket_nonce)}", *_extension_fields(m.extensions)]


def _server_key_exchange(m: ServerKeyExchange) -> list[str]:
    """The body's form depends on the suite, which a message alone does not say: ECDHE first
    (it starts with named_curve, 3), then DHE."""
    try:
        ecdhe = m.ecdhe()
        group = "group=" + _name(_GROUPS, ecdhe.named_curve)
        return [
            group,
            f"public={_size(ecdhe.public)}",
            "scheme=" + _name(_SCHEMES, ecdhe.algorithm),
        ]
    except TLSError:
        pass
    try:
        dhe = m.dhe()
    except TLSError:
        return [f"body={_size(m.body)}"]
    p = int.from_bytes(dhe.p, "big")
    group = _DHE_PRIMES.get(p) or f"{p.bit_length()}-bit"
    return [f"dh={group}", f"public={_size(dhe.ys)}", "scheme=" + _name(_SCHEMES, dhe.algorithm)]


def _client_key_exchange(m: ClientKeyExchange) -> list[str]:
    """ECDHE's ``opaque point<1..2^8-1>`` or DHE's ``opaque dh_Yc<1..2^16-1>``, whichever fits."""
    for length_bytes in (1, 2):
        r = Reader(m.body)
        try:
            public = r.opaque(length_bytes, min=1, what="ClientKeyExchange")
            r.expect_end("ClientKeyExchange")
        except TLSError:
            continue
        return [f"public={_size(public)}"]
    return [f"body={_size(m.body)}"]


_MESSAGES: dict[type[Any], Callable[[Any], list[str]]] = {
    ClientHello: _client_hello,
    ServerHello: _server_hello,
    EncryptedExtensions: lambda m: _extension_fields(m.extensions),
    Certificate: _certificate,
    CertificateRequest: _certificate_request,
    CertificateVerify: lambda m: [
        "scheme=" + _name(_SCHEMES, m.algorithm),
        f"signature={_size(m.signature)}",
    ],
    Finished: lambda m: [f"verify_data={_size(m.verify_data)}"],
    NewSessionTicket: _new_session_ticket,
    KeyUpdate: lambda m: ["request=" + _name(_KEY_UPDATE, m.request_update)],
    Certificate12: lambda m: _chain(m.certificate_list),
    ServerKeyExchange: _server_key_exchange,
    CertificateRequest12: _certificate_request12,
    ClientKeyExchange: _client_key_exchange,
    NewSessionTicket12: lambda m: [
        f"lifetime_hint={m.ticket_lifetime_hint}s",
        f"ticket={_size(m.ticket)}",
    ],
    Alert: lambda m: [
        "level=" + _name(_ALERT_LEVELS, m.level),
        "description=" + _name(_ALERTS, m.description),
    ],
}
_NAMES: dict[type[Any], str] = {
    Certificate12: "Certificate",
    CertificateRequest12: "CertificateRequest",
    NewSessionTicket12: "NewSessionTicket",
}
_NO_FIELDS = (EndOfEarlyData, ServerHelloDone, HelloRequest, ChangeCipherSpec)


def message_name(message: object) -> str:
    """The RFC's name: ``ClientHello``, ``HelloRetryRequest``, ``Certificate`` (either version)."""
    if isinstance(message, ServerHello) and message.is_hello_retry_request:
        return "HelloRetryRequest"
    cls = type(message)
    return _NAMES.get(cls) or cls.__name__


def message_fields(message: object) -> str:
    """The important fields, space-separated ``key=value`` or bare flags (may be empty)."""
    render = _MESSAGES.get(type(message))
    if render is None:
        return "" if isinstance(message, _NO_FIELDS) else "(not decoded)"
    return " ".join(render(message))


def describe(message: object) -> str:
    """``ClientHello  suites=[...] ...``: the name, two spaces, the fields."""
    fields = message_fields(message)
    name = message_name(message)
    return f"{name}  {fields}" if fields else name


def trace_line(direction: str, message: object) -> str:
    """``-> ClientHello  ...`` for ``direction`` ``"sent"``, ``<-`` for ``"received"``."""
    return f"{ARROWS.get(direction, '??')} {describe(message)}"


def alert_line(direction: str, description: int, level: str | None = None) -> str:
    """``<- Alert  level=fatal description=unknown_ca`` (``level`` left out when unknown)."""
    fields = f"level={level} " if level else ""
    return f"{ARROWS.get(direction, '??')} Alert  {fields}description={_name(_ALERTS, description)}"


class TraceLog:
    """The trace lines of one connection's events, in order (one instance per connection).

    Handshake messages come as :class:`HandshakeMessageTraced`, ChangeCipherSpec and alert
    records as :class:`RecordTraced` (both only with ``trace_handshake=True``), in the order
    they were sent or received. A fatal alert we send is not an event: it is the exception
    that ended the connection, which the caller prints.
    """

    __slots__ = ()

    def lines(self, event: Event) -> list[str]:
        """Zero or one line for ``event``."""
        if isinstance(event, HandshakeMessageTraced | RecordTraced):
            return [trace_line(event.direction, event.message)]
        return []
