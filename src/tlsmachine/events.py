"""Events that :meth:`Connection.receive_data` returns to the application.

Frozen, keyword-only dataclasses (the h2 style): the adapter matches on their type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .fast_init import fast_init

if TYPE_CHECKING:
    from cryptography import x509

    from .session import ClientSession


@dataclass(frozen=True, kw_only=True, slots=True)
class Event:
    """Base class of all events."""


@fast_init
@dataclass(frozen=True, kw_only=True, slots=True)
class HandshakeComplete(Event):
    """The handshake finished; application data may flow in both directions."""

    version: str
    """Negotiated protocol version, e.g. ``"TLSv1.3"``."""
    cipher_suite: str
    """IANA name of the negotiated cipher suite."""
    group: str | None
    """Key-exchange group (``None`` for a psk_ke resumption)."""
    signature_scheme: str | None
    """Scheme of the server's CertificateVerify, on both sides (``None`` in a PSK handshake)."""
    alpn_protocol: str | None
    """The application protocol chosen through ALPN (RFC 7301), if any."""
    server_name: str | None
    """The SNI name (RFC 6066): what the client asked for, as seen by either side."""
    peer_certificates: tuple[x509.Certificate, ...] = field(default=(), repr=False)
    """The peer's certificate chain, leaf first (empty if it sent none). A resumed handshake
    has no Certificate message: it reports the chain of the session's original handshake."""
    verified_chain: tuple[x509.Certificate, ...] = field(default=(), repr=False)
    """The path the verifier validated for ``peer_certificates``, leaf to trust anchor (RFC 5280
    §6; the anchor from our store, certificates sent off the path left out). Empty when this
    handshake verified no chain: verification off, no peer certificate, a resumed handshake,
    or a verifier that reports no path (see :class:`~tlsmachine.verify.CertificateVerifier`)."""
    resumed: bool = False
    """True if the handshake was authenticated with a PSK (resumption)."""
    hello_retry: bool = False
    """True if the server sent a HelloRetryRequest (RFC 8446 §4.1.4)."""
    early_data_accepted: bool = False
    """True if the server accepted the client's 0-RTT data (RFC 8446 §4.2.10)."""
    psk_identity: bytes | None = None
    """The identity of the external PSK that authenticated the handshake (RFC 8446 §4.2.11);
    ``None`` for certificates or a session ticket (then ``resumed`` is True)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class ApplicationData(Event):
    """Decrypted application data from the peer."""

    data: bytes


# One ApplicationData per received record: the generated __init__ of a frozen dataclass (kwargs,
# then object.__setattr__ per field) costs about twice as much as allocating the object and
# setting its slot through the slot's own descriptor. new_application_data does the latter; the
# result is the same object as ApplicationData(data=...): equal, hashable, frozen to the user.
_new_event = object.__new__
_set_application_data: Callable[[ApplicationData, bytes], None] = vars(ApplicationData)[
    "data"
].__set__


def new_application_data(data: bytes) -> ApplicationData:
    """``ApplicationData(data=data)``, built faster (the receive hot path)."""
    event: ApplicationData = _new_event(ApplicationData)
    _set_application_data(event, data)
    return event


@dataclass(frozen=True, kw_only=True, slots=True)
class EarlyDataReceived(Event):
    """Server: 0-RTT data from the client (RFC 8446 §2.3).

    It arrived before the handshake completed, is not forward secret with respect to the
    ticket key, and the client's Finished has not yet confirmed it (§8): act on it only where a
    replay would do no harm. Replays of the same ClientHello are refused (§8.1, §8.2).
    """

    data: bytes


@dataclass(frozen=True, kw_only=True, slots=True)
class EarlyDataRejected(Event):
    """Client: the server did not accept our 0-RTT data (RFC 8446 §4.2.10).

    ``data`` is everything sent with :meth:`ClientConnection.send_early_data`; none of it was
    processed. Send it again as ordinary data once the handshake is complete, if it still
    applies (e.g. the ALPN protocol did not change).
    """

    data: bytes


@dataclass(frozen=True, kw_only=True, slots=True)
class ConnectionClosed(Event):
    """The peer sent close_notify (RFC 8446 §6.1): it will send no more data.

    We may still send (a half-closed connection, state ``PEER_CLOSED``); call ``close()`` to
    send our own close_notify when done.
    """


@dataclass(frozen=True, kw_only=True, slots=True)
class WarningAlertReceived(Event):
    """The peer sent a non-fatal alert such as user_canceled (RFC 8446 §6.1)."""

    description: int


@dataclass(frozen=True, kw_only=True, slots=True)
class KeyUpdated(Event):
    """Traffic keys changed through KeyUpdate (RFC 8446 §4.6.3)."""

    direction: str
    """``"receive"`` (the peer updated) or ``"send"`` (we updated)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class HandshakeMessageTraced(Event):
    """A handshake message was sent or received (only with ``trace_handshake=True``)."""

    direction: str
    """``"sent"`` or ``"received"``."""
    message: object = field(repr=False)
    """The message object (see :mod:`tlsmachine.messages`)."""
    name: str
    """The HandshakeType name, e.g. ``"client_hello"``."""
    length: int
    """Length of the whole handshake message in bytes, header included."""
    epoch: str
    """Under which keys it travels: ``"plaintext"``, ``"handshake"`` or ``"application"``."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordTraced(Event):
    """A change_cipher_spec or alert record was sent or received (only with
    ``trace_handshake=True``), in order with the :class:`HandshakeMessageTraced` events.

    ChangeCipherSpec: TLS 1.2's (RFC 5246 §7.1) and TLS 1.3's compatibility one (RFC 8446
    Appendix D.4). Alerts: every alert received, and the closure and warning alerts we send; a
    fatal alert we send reaches the application as the exception that caused it.
    """

    direction: str
    """``"sent"`` or ``"received"``."""
    message: object = field(repr=False)
    """:data:`~tlsmachine.messages.tls12.CHANGE_CIPHER_SPEC` or an
    :class:`~tlsmachine.messages.alert.Alert`."""
    name: str
    """``"change_cipher_spec"`` or ``"alert"``."""
    epoch: str
    """Under which keys it travels, as for :class:`HandshakeMessageTraced`."""


@fast_init
@dataclass(frozen=True, kw_only=True, slots=True)
class SessionTicketReceived(Event):
    """The server sent a NewSessionTicket (RFC 8446 §4.6.1); ``session`` can resume later."""

    session: ClientSession = field(repr=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class ClientCertificateReceived(Event):
    """Server: the client answered a post-handshake CertificateRequest (RFC 8446 §4.6.2).

    The chain was verified and the client's CertificateVerify and Finished checked. An empty
    ``certificates`` means the client declined (an empty Certificate, §4.4.2.4); with
    ``client_auth="required"`` that aborts with certificate_required instead.
    """

    certificates: tuple[x509.Certificate, ...] = field(repr=False)
    """The client's chain, leaf first; empty if it sent none."""
    certificate_request_context: bytes
    """The request answered: what ``request_client_certificate()`` returned."""
    verified_chain: tuple[x509.Certificate, ...] = field(default=(), repr=False)
    """The path the verifier validated for ``certificates``, leaf to trust anchor (as
    :attr:`HandshakeComplete.verified_chain`); empty if there is none to report."""
