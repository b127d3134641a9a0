"""One readable line per handshake message: what ``--trace`` and the demo print.

``-> ClientHello  versions=[TLSv1.3,TLSv1.2] suites=[TLS_AES_128_GCM_SHA256,...] groups=[...]``

The line shows the fields that decide a handshake (versions, suites, groups, key shares,
signature schemes, ALPN, SNI, PSK offers, ...) by their IANA names; an unknown code point (GREASE,
a newer extension) is printed as hex, so the line never hides what was on the wire. Lengths are
printed as ``32B``. ``->`` is a message the printing side sent, ``<-`` one it received.

Pure formatting over the parsed message objects of :mod:`tlsmachine.messages`: no I/O, and no
exception for any message the parser accepted (a trace must never break a connection). It runs
only when tracing is on, so it favours clarity over speed; the name tables are built once.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from cryptography import x509

from .codec import Reader
from .crypto.groups import GROUPS, LEGACY_DHE_GROUPS, FFDHEGroup
from .enums import (
    AlertDescription,
    AlertLevel,
    CipherSuiteId,
    ExtensionType,
    KeyUpdateRequest,
    NamedGroup,
    ProtocolVersion,
    PskKeyExchangeMode,
    SignatureScheme,
)
from .errors import TLSError
from .events import Event, HandshakeMessageTraced, RecordTraced
from .extensions import (
    ApplicationLayerProtocolNegotiation,
    CertificateAuthorities,
    Cookie,
    EarlyData,
    EcPointFormats,
    ExtendedMasterSecret,
    Extension,
    KeyShareClientHello,
    KeyShareHelloRetryRequest,
    KeyShareServerHello,
    Padding,
    PostHandshakeAuth,
    PreSharedKeyClientHello,
    PreSharedKeyServerHello,
    PskKeyExchangeModes,
    RecordSizeLimit,
    RenegotiationInfo,
    ServerName,
    SessionTicket,
    SignatureAlgorithms,
    SignatureAlgorithmsCert,
    SupportedGroups,
    SupportedVersionsClientHello,
    SupportedVersionsServerHello,
    UnknownExtension,
    extension_name,
)
from .messages import (
    CERTIFICATE_TYPE_ECDSA_SIGN,
    CERTIFICATE_TYPE_RSA_SIGN,
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

ARROWS = {"sent": "->", "received": "<-"}
"""The arrow of each ``HandshakeMessageTraced.direction``, seen from the side printing."""


# -- names of code points -------------------------------------------------------------------------


def _hex(value: int) -> str:
    return f"0x{value:04x}"


def _table(enum_type: type[enum.IntEnum], rename: Callable[[str], str]) -> dict[int, str]:
    return {int(member): rename(member.name) for member in enum_type}


_VERSIONS = {
    int(ProtocolVersion.SSL3): "SSLv3",
    int(ProtocolVersion.TLS10): "TLSv1.0",
    int(ProtocolVersion.TLS11): "TLSv1.1",
    int(ProtocolVersion.TLS12): "TLSv1.2",
    int(ProtocolVersion.TLS13): "TLSv1.3",
}  # the names HandshakeComplete.version uses
_SUITES = _table(CipherSuiteId, str)
_GROUPS = _table(NamedGroup, str.lower)
_SCHEMES = _table(SignatureScheme, str.lower)
_PSK_MODES = _table(PskKeyExchangeMode, str.lower)
_KEY_UPDATE = _table(KeyUpdateRequest, str.lower)
_ALERTS = _table(AlertDescription, str.lower)
_ALERT_LEVELS = _table(AlertLevel, str.lower)
_CERTIFICATE_TYPES = {
    CERTIFICATE_TYPE_RSA_SIGN: "rsa_sign",
    2: "dss_sign",
    CERTIFICATE_TYPE_ECDSA_SIGN: "ecdsa_sign",
}  # ClientCertificateType, RFC 5246 §7.4.4 and RFC 8422 §5.5
_POINT_FORMATS = {0: "uncompressed", 1: "ansiX962_compressed_prime", 2: "ansiX962_compressed_char2"}
_DHE_PRIMES = {
    g.p: g.name for g in (*GROUPS.values(), *LEGACY_DHE_GROUPS) if isinstance(g, FFDHEGroup)
}


def _short_scheme(name: str) -> str:
    """``ecdsa_p256_sha256`` for ``ecdsa_secp256r1_sha256``, ``pss_rsae_sha256`` for
    ``rsa_pss_rsae_sha256``: lists of nine schemes stay readable, and nothing is ambiguous."""
    name = name.removeprefix("rsa_")
    return name.replace("_secp", "_p").replace("r1_", "_")


_SHORT_SCHEMES = {code: _short_scheme(name) for code, name in _SCHEMES.items()}


def _name(table: dict[int, str], value: int) -> str:
    return table.get(value) or _hex(value)


def _names(table: dict[int, str], values: Iterable[int]) -> str:
    return "[" + ",".join(table.get(v) or _hex(v) for v in values) + "]"


def version_name(version: int) -> str:
    """``TLSv1.3`` for 0x0304; hex for anything else (GREASE, drafts)."""
    return _VERSIONS.get(version) or _hex(version)


def _text(value: bytes) -> str:
    """Printable ASCII as is (an ALPN id, a host name), anything else as hex."""
    if value.isascii() and value.decode("ascii").isprintable() and not set(value) & set(b" ,[]"):
        return value.decode("ascii")
    return "0x" + value.hex()


def _size(value: bytes) -> str:
    return f"{len(value)}B"


# -- extensions -----------------------------------------------------------------------------------

# The order fields appear in, whatever order the sender chose: key exchange, authentication,
# application, resumption, then the rest; extensions not listed here come last.
_ORDER = {
    int(t): rank
    for rank, t in enumerate(
        (
            ExtensionType.SUPPORTED_VERSIONS,
            ExtensionType.SUPPORTED_GROUPS,
            ExtensionType.KEY_SHARE,
            ExtensionType.SIGNATURE_ALGORITHMS,
            ExtensionType.SIGNATURE_ALGORITHMS_CERT,
            ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION,
            ExtensionType.SERVER_NAME,
            ExtensionType.PSK_KEY_EXCHANGE_MODES,
            ExtensionType.PRE_SHARED_KEY,
            ExtensionType.EARLY_DATA,
            ExtensionType.COOKIE,
            ExtensionType.EXTENDED_MASTER_SECRET,
            ExtensionType.RENEGOTIATION_INFO,
            ExtensionType.SESSION_TICKET,
            ExtensionType.EC_POINT_FORMATS,
            ExtensionType.RECORD_SIZE_LIMIT,
            ExtensionType.POST_HANDSHAKE_AUTH,
            ExtensionType.CERTIFICATE_AUTHORITIES,
            ExtensionType.PADDING,
        )
    )
}


def _flag(name: str, value: bytes) -> str:
    """An extension that is usually empty: its name, or its name and size."""
    return f"{name}={_size(value)}" if value else name


def _alpn(ext: ApplicationLayerProtocolNegotiation, offer: bool) -> str:
    names = [_text(p) for p in ext.protocol_name_list]
    return f"alpn=[{','.join(names)}]" if offer else f"alpn={','.join(names)}"


# One formatter per extension class; ``offer`` is True in a ClientHello (lists offered) and False
# in a server's message (one value chosen).
_EXTENSIONS: dict[type[Any], Callable[[Any, bool], str]] = {
    SupportedVersionsClientHello: lambda e, o: "versions=" + _names(_VERSIONS, e.versions),
    SupportedVersionsServerHello: lambda e, o: "version=" + version_name(e.selected_version),
    SupportedGroups: lambda e, o: "groups=" + _names(_GROUPS, e.groups),
    KeyShareClientHello: lambda e, o: (
        "key_share=" + _names(_GROUPS, (s.group for s in e.client_shares))
    ),
    KeyShareServerHello: lambda e, o: "key_share=" + _name(_GROUPS, e.server_share.group),
    KeyShareHelloRetryRequest: lambda e, o: "selected_group=" + _name(_GROUPS, e.selected_group),
    SignatureAlgorithms: lambda e, o: "sigalgs=" + _names(_SHORT_SCHEMES, e.schemes),
    SignatureAlgorithmsCert: lambda e, o: "sigalgs_cert=" + _names(_SHORT_SCHEMES, e.schemes),
    ApplicationLayerProtocolNegotiation: _alpn,
    ServerName: lambda e, o: "sni" if e.host_name is None else f"sni={e.host_name}",
    PskKeyExchangeModes: lambda e, o: "psk_modes=" + _names(_PSK_MODES, e.ke_modes),
    PreSharedKeyClientHello: lambda e, o: f"psk_identities={len(e.identities)}",
    PreSharedKeyServerHello: lambda e, o: f"psk_selected={e.selected_identity}",
    EarlyData: lambda e, o: (
        "early_data" if e.max_early_data_size is None else f"max_early_data={e.max_early_data_size}"
    ),
    Cookie: lambda e, o: f"cookie={_size(e.cookie)}",
    ExtendedMasterSecret: lambda e, o: "ems",
    RenegotiationInfo: lambda e, o: _flag("reneg_info", e.renegotiated_connection),
    SessionTicket: lambda e, o: _flag("session_ticket", e.ticket),
    EcPointFormats: lambda e, o: "ec_point_formats=" + _names(_POINT_FORMATS, e.formats),
    RecordSizeLimit: lambda e, o: f"record_size_limit={e.record_size_limit}",
    PostHandshakeAuth: lambda e, o: "post_handshake_auth",
    CertificateAuthorities: lambda e, o: f"cas={len(e.authorities)}",
    Padding: lambda e, o: f"padding={e.length}B",
}


def _extension_fields(
    extensions: Sequence[Extension], *, offer: bool = False, skip: type[Any] | None = None
) -> list[str]:
    """The known extensions in a fixed order, then ``ext=[...]`` naming all the others."""
    fields: list[tuple[int, str]] = []
    others: list[str] = []
    for ext in extensions:
        render = _EXTENSIONS.get(type(ext))
        if isinstance(ext, UnknownExtension) or render is None:
            others.append(extension_name(ext.ext_type))
        elif type(ext) is not skip:
            fields.append((_ORDER.get(ext.ext_type, len(_ORDER)), render(ext, offer)))
    fields.sort(key=lambda item: item[0])  # stable: equal ranks keep the wire order
    out = [text for _, text in fields]
    if others:
        out.append(f"ext=[{','.join(others)}]")
    return out


# -- messages -------------------------------------------------------------------------------------


def _subject(der: bytes) -> str:
    try:
        return x509.load_der_x509_certificate(der).subject.rfc4514_string() or "(empty)"
    except ValueError:
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
