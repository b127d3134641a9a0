"""What :class:`ssl.SSLSocket` and :class:`ssl.SSLObject` tell about a connection (version,
cipher, ALPN, peer certificate, channel binding, exporters), read from the sans-I/O core. One
mixin, :class:`ConnectionInfo`, shared by the blocking :class:`~tlsmachine.sockets.TLSSocket`
and the BIO-based :class:`~tlsmachine.context.TLSObject`, so the two cannot answer differently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Literal, overload

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .client import ClientConnection
from .client_session import OfferedSessionStore
from .config_values import openssl_name
from .connection import Connection
from .crypto.suites import TLS12_SUITES
from .enums import ProtocolVersion
from .events import (
    ApplicationData,
    ClientCertificateReceived,
    ConnectionClosed,
    EarlyDataReceived,
    EarlyDataRejected,
    Event,
    HandshakeComplete,
    SessionTicketReceived,
)
from .peer_certificate import PeerCertificate, peer_certificate_dict
from .server import ServerConnection
from .session import ClientSession

if TYPE_CHECKING:
    from .context_stats import SessionStats
    from .plaintext_buffer import PlaintextBuffer

__all__ = ["ConnectionInfo"]


def _cipher_bits(suite: str) -> int:
    """Secret bits of a suite's AEAD key, from its IANA name."""
    return 128 if "AES_128" in suite else 256


_OPENSSL_NAMES = {suite.name: openssl_name(suite) for suite in TLS12_SUITES}


class ConnectionInfo:
    """What :class:`ssl.SSLSocket` and :class:`ssl.SSLObject` tell about a connection, for
    :class:`TLSSocket` and :class:`tlsmachine.context.TLSObject` alike (read from the core)."""

    connection: Connection
    _peer_chain: tuple[x509.Certificate, ...] | None = None
    """A client chain received after the handshake (RFC 8446 §4.6.2), else None."""
    _verified_peer_chain: tuple[x509.Certificate, ...] = ()
    """The verifier's path for ``_peer_chain``, when that is set."""
    _pending: PlaintextBuffer
    """Application data received and not yet read."""
    clean_close: bool | None
    _session: ClientSession | None = None
    _io_begun = False
    """Set when the core's first bytes (a client's ClientHello) were taken to be sent."""
    on_event: Callable[[Event], None] | None
    early_data_received = 0
    """Server: bytes of 0-RTT data received; they start the stream the application reads."""
    rejected_early_data = b""
    """Client: the 0-RTT data the server did not accept (resend it if it still applies)."""
    _stats: SessionStats | None = None
    """The counters of the Context that wrapped this connection (ssl's ``session_stats()``)."""
    _stats_started = False

    def _take_events(self, events: list[Event]) -> None:
        """What the application reads later, from the core's events (the same for sockets and
        BIOs); each event then goes to ``on_event``."""
        for event in events:
            if isinstance(event, ApplicationData):
                self._pending.append(event.data)
            elif isinstance(event, EarlyDataReceived):
                self._pending.append(event.data)  # 0-RTT data precedes the 1-RTT stream
                self.early_data_received += len(event.data)
            elif isinstance(event, EarlyDataRejected):
                self.rejected_early_data = event.data
            elif isinstance(event, ConnectionClosed):
                self.clean_close = True
            elif isinstance(event, SessionTicketReceived):
                self._session = event.session
            elif isinstance(event, ClientCertificateReceived):
                self._peer_chain = event.certificates
                self._verified_peer_chain = event.verified_chain
            elif isinstance(event, HandshakeComplete) and self._stats is not None:
                offered = self._resumption_offered(event)
                self._stats.completed(
                    server=self.server_side, resumed=event.resumed, offered=offered
                )
            if self.on_event is not None:
                self.on_event(event)

    def _count_handshake_start(self) -> None:
        """For ``session_stats()``: the handshake begins (once per connection)."""
        if self._stats is not None and not self._stats_started:
            self._stats_started = True
            self._stats.started(server=self.server_side)

    def _resumption_offered(self, info: HandshakeComplete) -> bool:
        """For ``session_stats()`` misses: a client was given a session to offer; a server's
        ClientHello offered one for the version agreed (a PSK, or a session ID or ticket)."""
        conn = self.connection
        if isinstance(conn, ServerConnection):
            offer = conn.client_offer
            return offer.psk if info.version == "TLSv1.3" else offer.tls12_session
        return isinstance(conn, ClientConnection) and isinstance(
            conn.config.session_store, OfferedSessionStore
        )

    def _data_to_send(self) -> bytes:
        """The core's bytes to send; from the first call on, the handshake has begun."""
        self._io_begun = True
        return self.connection.data_to_send()

    @property
    def session(self) -> ClientSession | None:
        """Client: the newest session (ticket) the server sent, to resume with in a later
        connection (``wrap_socket(session=...)``, or this attribute of a new socket); before the
        handshake, the session assigned to be offered."""
        return self._session

    @session.setter
    def session(self, session: ClientSession) -> None:
        """As :attr:`ssl.SSLSocket.session`: offer ``session`` in this client's handshake
        (RFC 8446 §4.2.11), which must not have begun. Tickets received still go to the
        config's session store, if it has one."""
        conn = self.connection
        if not isinstance(conn, ClientConnection):
            raise ValueError("cannot set a session on a server-side connection")
        if not isinstance(session, ClientSession):
            raise TypeError(f"session must be a ClientSession, not {type(session).__name__}")
        if self._io_begun:
            raise ValueError("cannot set the session once the handshake has begun")
        config = conn.config
        store = config.session_store
        if isinstance(store, OfferedSessionStore):  # wrap_socket(session=...), or set before
            store = store.then
        offered = replace(config, session_store=OfferedSessionStore(session, store))
        self.connection = ClientConnection(offered, server_name=conn.server_name)
        self._session = session

    @property
    def handshake_info(self) -> HandshakeComplete | None:
        return self.connection.handshake_info

    @property
    def server_side(self) -> bool:
        return isinstance(self.connection, ServerConnection)

    @property
    def server_hostname(self) -> str | None:
        """Client: the name sent in SNI and checked in the certificate; server: None (the
        client's SNI name is ``handshake_info.server_name``)."""
        conn = self.connection
        return conn.server_name if isinstance(conn, ClientConnection) else None

    @property
    def session_reused(self) -> bool:
        """True if the handshake resumed a session (RFC 8446 §2.2)."""
        info = self.connection.handshake_info
        return info is not None and info.resumed

    def version(self) -> str | None:
        """``"TLSv1.3"`` or ``"TLSv1.2"``; None before the handshake."""
        info = self.connection.handshake_info
        return None if info is None else info.version

    def cipher(self) -> tuple[str, str, int] | None:
        """``(name, version, secret bits)`` as ssl gives it (OpenSSL's suite name, e.g.
        ``ECDHE-RSA-AES128-GCM-SHA256``; TLS 1.3 names are IANA's); None before the handshake."""
        info = self.connection.handshake_info
        if info is None:
            return None
        name = info.cipher_suite
        return _OPENSSL_NAMES.get(name, name), info.version, _cipher_bits(name)

    def shared_ciphers(self) -> list[tuple[str, str, int]] | None:
        """Server, after the handshake: the suites the client offered that we have enabled, as
        ``(name, protocol, secret bits)`` in our preference order, TLS 1.3 first (as ssl; TLS 1.2
        names in OpenSSL's spelling). None on a client and before the handshake, as in ssl."""
        conn = self.connection
        if not isinstance(conn, ServerConnection) or conn.handshake_info is None:
            return None
        offered = conn.client_offer.cipher_suites
        if offered is None:
            return None
        config = conn.config
        shared: list[tuple[str, str, int]] = []
        if config.max_version >= ProtocolVersion.TLS13:
            shared += [
                (s.name, "TLSv1.3", _cipher_bits(s.name))
                for s in config.cipher_suites
                if s.id in offered
            ]
        if config.min_version <= ProtocolVersion.TLS12:
            shared += [
                (_OPENSSL_NAMES.get(s.name, s.name), "TLSv1.2", _cipher_bits(s.name))
                for s in config.tls12_cipher_suites
                if s.id in offered
            ]
        return shared

    def selected_alpn_protocol(self) -> str | None:
        info = self.connection.handshake_info
        return None if info is None else info.alpn_protocol

    def compression(self) -> None:
        """Always None: TLS compression is gone (RFC 8446 §1.2; CRIME)."""
        return

    @overload
    def getpeercert(self, binary_form: Literal[False] = False) -> PeerCertificate | None: ...
    @overload
    def getpeercert(self, binary_form: Literal[True]) -> bytes | None: ...
    @overload
    def getpeercert(self, binary_form: bool) -> PeerCertificate | bytes | None: ...
    def getpeercert(self, binary_form: bool = False) -> PeerCertificate | bytes | None:
        """The peer's leaf certificate: DER with ``binary_form``, else ssl's dict (``{}`` when
        it was not verified, as with ``CERT_NONE``); None if the peer sent none. ValueError
        before the handshake, as in ssl."""
        conn = self.connection
        info = conn.handshake_info
        if info is None:
            raise ValueError("handshake not done yet")
        chain = info.peer_certificates if self._peer_chain is None else self._peer_chain
        if not chain:
            return None
        if binary_form:
            return chain[0].public_bytes(serialization.Encoding.DER)
        # ssl returns {} for a certificate it did not verify (CERT_NONE); a server verifies
        # every client chain it receives (RFC 8446 §4.4.2.4).
        if isinstance(conn, ClientConnection) and not conn.config.verify_certificates:
            return {}
        return peer_certificate_dict(chain[0])

    def get_unverified_chain(self) -> list[bytes]:
        """The peer's chain as it sent it (DER, leaf first, extra certificates included), as
        ssl's (3.13). A resumed handshake reports its session's chain, as ``getpeercert()``
        does (ssl: ``[]``). ``[]`` before the handshake (no ValueError, as in ssl) or without
        a peer certificate."""
        info = self.connection.handshake_info
        if info is None:
            return []
        chain = info.peer_certificates if self._peer_chain is None else self._peer_chain
        return [cert.public_bytes(serialization.Encoding.DER) for cert in chain]

    def get_verified_chain(self) -> list[bytes]:
        """The path the verifier validated (DER, leaf to trust anchor: the root from our store
        included, certificates the peer sent off the path left out), as ssl's (3.13). ``[]``
        when this handshake verified nothing: before it, ``CERT_NONE`` on a client (ssl returns
        OpenSSL's unchecked chain there), no client certificate, a resumed session (as ssl)."""
        info = self.connection.handshake_info
        if info is None:
            return []
        chain = info.verified_chain if self._peer_chain is None else self._verified_peer_chain
        return [cert.public_bytes(serialization.Encoding.DER) for cert in chain]

    def get_channel_binding(self, cb_type: str = "tls-exporter") -> bytes | None:
        """Channel binding data: only ``tls-exporter`` (RFC 9266; TLS 1.3 has no
        tls-unique), 32 bytes of the exporter with label EXPORTER-Channel-Binding."""
        if cb_type != "tls-exporter":
            raise ValueError(f"{cb_type} channel binding type not implemented (only tls-exporter)")
        if self.connection.handshake_info is None:
            return None
        return self.connection.export_keying_material("EXPORTER-Channel-Binding", 32)

    def export_keying_material(
        self, label: str | bytes, length: int, context: bytes | None = None
    ) -> bytes:
        """Keying material bound to this connection (RFC 8446 §7.5, RFC 5705)."""
        return self.connection.export_keying_material(label, length, context)
