"""Client: the TLS 1.2 ServerHello (RFC 5246 §7.3, §7.4.1.3) and the choice of handshake.

This module checks the ServerHello and starts the full or the abbreviated handshake
(resumption); the full handshake's server flight and our answer to it are in
:mod:`tlsmachine.client.tls12_full`, the final states of both in
:mod:`tlsmachine.client.tls12_finish`. The states are importable from here too.

Full handshake (RFC 5246 §7.3, Figure 1)::

    ServerHello -> ExpectServerCertificate -> ExpectServerKeyExchange
        -> ExpectCertificateRequestOrServerHelloDone [-> ExpectServerHelloDone]
        -> (Certificate, ClientKeyExchange, CertificateVerify, ChangeCipherSpec, Finished sent)
        -> [ExpectNewSessionTicket] -> ExpectChangeCipherSpec -> ExpectServerFinished -> Traffic12

Abbreviated handshake (§7.3, Figure 2: the server echoed our session ID)::

    ServerHello -> [ExpectNewSessionTicket] -> ExpectChangeCipherSpec -> ExpectServerFinished
        -> (ChangeCipherSpec, Finished sent) -> Traffic12

ChangeCipherSpec is a record of its own content type, not a handshake message; the connection
hands it to the state as the :data:`~tlsmachine.messages.tls12.CHANGE_CIPHER_SPEC`
pseudo-message, so a Finished before it, or it anywhere else, is ``unexpected_message``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config import ClientConfig
from ..crypto.suites import CipherSuite12, suite12_by_id
from ..enums import ExtensionType, ProtocolVersion
from ..errors import HandshakeFailure, IllegalParameter, ProtocolVersionError, UnsupportedExtension
from ..extensions import (
    ApplicationLayerProtocolNegotiation,
    EcPointFormats,
    ExtendedMasterSecret,
    RecordSizeLimit,
    RenegotiationInfo,
    SessionTicket,
    UnknownExtension,
)
from ..fast_init import fast_init
from ..handshake12 import Agreed12, Transcript12, log_master_secret, protectors
from ..machine import Output
from ..messages.hello import DOWNGRADE_TLS11, DOWNGRADE_TLS12, ClientHello, ServerHello
from ..session import ClientSession
from ..verify import parse_certificate_chain
from .tls12_finish import (
    DEFAULT_SESSION_LIFETIME,
    ExpectChangeCipherSpec,
    ExpectNewSessionTicket,
    ExpectServerFinished,
)
from .tls12_full import (
    ExpectCertificateRequestOrServerHelloDone,
    ExpectServerCertificate,
    ExpectServerHelloDone,
    ExpectServerKeyExchange,
    KeyExchange12,
    _server_group,
)

if TYPE_CHECKING:
    from ..transcript import TranscriptHash

# What a TLS 1.2 ServerHello may answer (RFC 5246 §7.4.1.4: only extensions we offered).
_SERVER_HELLO_EXTENSIONS = frozenset(
    {
        ExtensionType.SERVER_NAME,
        ExtensionType.EC_POINT_FORMATS,
        ExtensionType.EXTENDED_MASTER_SECRET,
        ExtensionType.SESSION_TICKET,
        ExtensionType.RENEGOTIATION_INFO,
        ExtensionType.APPLICATION_LAYER_PROTOCOL_NEGOTIATION,
        ExtensionType.RECORD_SIZE_LIMIT,
    }
)
# Offered, not defined for a TLS 1.2 ServerHello (RFC 8422 §5.2), sent by some servers anyway:
# ignored rather than refused (no RFC asks the client to abort; BoGo SupportedCurves-ServerHello-
# TLS12 wants it tolerated).
_IGNORED_IN_SERVER_HELLO = frozenset({ExtensionType.SUPPORTED_GROUPS})


@fast_init
@dataclass(frozen=True, slots=True)
class Client12:
    """What the client knows after the TLS 1.2 ServerHello."""

    config: ClientConfig
    server_name: str | None
    client_hello: ClientHello
    server_hello: ServerHello
    suite: CipherSuite12
    transcript: Transcript12
    extended_master_secret: bool
    alpn_protocol: str | None
    ticket_expected: bool
    """The ServerHello carried session_ticket: a NewSessionTicket precedes the server's
    ChangeCipherSpec (RFC 5077 §3.3)."""
    resumed_session: ClientSession | None = None

    @property
    def client_random(self) -> bytes:
        return self.client_hello.random

    @property
    def server_random(self) -> bytes:
        return self.server_hello.random


def server_hello12(
    config: ClientConfig,
    server_name: str | None,
    client_hello: ClientHello,
    transcript: TranscriptHash,
    session: ClientSession | None,
    hello: ServerHello,
    out: Output,
) -> ExpectServerCertificate | ExpectNewSessionTicket | ExpectChangeCipherSpec:
    """Check a TLS 1.2 ServerHello (RFC 5246 §7.4.1.3) and choose the full or abbreviated
    handshake. ``transcript`` holds our ClientHello; ``session`` is what we offered to resume."""
    suite = _check_server_hello12(config, client_hello, hello)
    ems = hello.get(ExtendedMasterSecret) is not None
    if not ems and config.require_extended_master_secret:
        raise HandshakeFailure("server does not support extended_master_secret (RFC 7627 §5.4)")
    alpn = _alpn(config, hello)
    limit = hello.get(RecordSizeLimit)
    if limit is not None:
        ours = config.record_size_limit or limit.record_size_limit
        out.record_size_limits(send=limit.record_size_limit, receive=ours)
    out.version(ProtocolVersion.TLS12)
    transcript.select_hash(suite.hash_name)
    transcript.update(hello.raw)
    keep = bool(config.certificates)  # a CertificateVerify of ours may follow
    t12 = Transcript12(transcript, [client_hello.raw, hello.raw] if keep else None)
    echoed = hello.legacy_session_id_echo
    resumed = bool(echoed) and echoed == client_hello.legacy_session_id
    if resumed and session is None:
        raise IllegalParameter("server resumed a session we did not offer (RFC 5246 §7.4.1.3)")
    hs = Client12(
        config=config,
        server_name=server_name,
        client_hello=client_hello,
        server_hello=hello,
        suite=suite,
        transcript=t12,
        extended_master_secret=ems,
        alpn_protocol=alpn,
        ticket_expected=hello.get(SessionTicket) is not None,
        resumed_session=session if resumed else None,
    )
    if not resumed:
        return ExpectServerCertificate(hs)
    return _resume(hs, out)


def _check_server_hello12(
    config: ClientConfig, client_hello: ClientHello, hello: ServerHello
) -> CipherSuite12:
    """A TLS 1.2 ServerHello's version (no TLS 1.3 downgrade sentinel, RFC 8446 §4.1.3), cipher
    suite, compression method (RFC 5246 §7.4.1.3) and extensions; returns the suite."""
    if config.max_version >= ProtocolVersion.TLS13 and hello.random[-8:] in (
        DOWNGRADE_TLS12,
        DOWNGRADE_TLS11,
    ):
        # RFC 8446 §4.1.3: a TLS 1.3 server answered with an older version: an attacker
        # removed TLS 1.3 from our hello. MUST abort with illegal_parameter.
        raise IllegalParameter("ServerHello carries the TLS 1.3 downgrade sentinel (§4.1.3)")
    if hello.legacy_version != ProtocolVersion.TLS12 or config.min_version > ProtocolVersion.TLS12:
        raise ProtocolVersionError(
            f"server chose version 0x{hello.legacy_version:04x}; we accept "
            f"{config.min_version.name}..{config.max_version.name}"
        )
    suite = suite12_by_id(hello.cipher_suite)
    if suite is None or suite not in config.tls12_cipher_suites:
        raise IllegalParameter(f"server chose cipher suite 0x{hello.cipher_suite:04x}, not offered")
    if hello.legacy_compression_method != 0:
        raise IllegalParameter("ServerHello compression method must be null (RFC 5246 §7.4.1.3)")
    _check_server_extensions(client_hello, hello)
    return suite


def _check_server_extensions(client_hello: ClientHello, hello: ServerHello) -> None:
    """A TLS 1.2 ServerHello's extensions: ones we offered (RFC 5246 §7.4.1.4), an empty
    renegotiation_info (RFC 5746 §3.4), uncompressed points among the formats (RFC 8422)."""
    offered = {e.ext_type for e in client_hello.extensions}
    for ext in hello.extensions:
        if ext.ext_type in _IGNORED_IN_SERVER_HELLO and ext.ext_type in offered:
            continue
        if (
            isinstance(ext, UnknownExtension)
            or ext.ext_type not in _SERVER_HELLO_EXTENSIONS
            or ext.ext_type not in offered
        ):
            # RFC 5246 §7.4.1.4: only extensions the client offered -> unsupported_extension.
            raise UnsupportedExtension(
                f"TLS 1.2 ServerHello carries extension {ext.ext_type}, not offered"
            )
    renegotiation = hello.get(RenegotiationInfo)
    if renegotiation is not None and renegotiation.renegotiated_connection:
        # RFC 5746 §3.4: on an initial handshake it MUST be empty, else handshake_failure.
        raise HandshakeFailure("ServerHello renegotiation_info is not empty (RFC 5746 §3.4)")
    points = hello.get(EcPointFormats)
    if points is not None and 0 not in points.formats:
        raise IllegalParameter("server does not support uncompressed points (RFC 8422 §5.2)")


def _alpn(config: ClientConfig, hello: ServerHello) -> str | None:
    ext = hello.get(ApplicationLayerProtocolNegotiation)
    if ext is None:
        return None
    chosen = ext.protocol_name_list[0]
    if chosen not in [p.encode() for p in config.alpn_protocols]:
        # RFC 7301 §3.2: the server's choice must be one the client offered.
        raise IllegalParameter(f"server chose ALPN {chosen!r}, which was not offered")
    return chosen.decode("ascii", "replace")


def _resume(hs: Client12, out: Output) -> ExpectNewSessionTicket | ExpectChangeCipherSpec:
    """The server accepted our session (RFC 5246 §7.3 Figure 2, RFC 5077 §3.1)."""
    session = hs.resumed_session
    if session is None:  # server_hello12 resumes only an offered session
        raise ValueError("no session to resume")
    if hs.suite.id != session.cipher_suite:
        raise IllegalParameter("resumed session with a different cipher suite (§7.4.1.3)")
    if session.extended_master_secret and not hs.extended_master_secret:
        # RFC 7627 §5.3: the original session used it, the resumed one MUST too.
        raise HandshakeFailure("resumed session without extended_master_secret (RFC 7627 §5.3)")
    hs.transcript.forget_messages()  # no CertificateVerify in an abbreviated handshake
    master = session.psk
    keys = protectors(hs.suite, master, hs.client_random, hs.server_random)
    log_master_secret(out, hs.client_random, master)
    # no Certificate message: the session's server chain stands in for it (§7.3)
    chain = parse_certificate_chain(session.server_certificates)
    agreed = Agreed12(master, keys, peer_chain=chain)
    if hs.ticket_expected:
        return ExpectNewSessionTicket(hs, agreed)
    return ExpectChangeCipherSpec(hs, agreed, None)


__all__ = [
    "DEFAULT_SESSION_LIFETIME",
    "Agreed12",
    "Client12",
    "ExpectCertificateRequestOrServerHelloDone",
    "ExpectChangeCipherSpec",
    "ExpectNewSessionTicket",
    "ExpectServerCertificate",
    "ExpectServerFinished",
    "ExpectServerHelloDone",
    "ExpectServerKeyExchange",
    "KeyExchange12",
    "_server_group",
    "server_hello12",
]
