"""The sans-I/O connection driver shared by client and server: :class:`Connection`'s public
API (``receive_data``, ``send``, ``close``, ``data_to_send``, ``take_events``, ``key_update``,
the exporters), its lifecycle and the one error-to-alert choke point. Its bases do the rest:
:class:`~tlsmachine.connection_receive.ConnectionReceiving` dispatches received records,
:class:`~tlsmachine.connection_apply.ConnectionApplying` applies a state's outputs;
:class:`~tlsmachine.connection_state.ConnectionState` (re-exported here) is the lifecycle.

Theory of operation
-------------------
Bytes from the network go into :meth:`Connection.receive_data`. The record layer frames and
decrypts them one record at a time with the *current* read keys. Handshake records feed a
reassembly buffer; each complete message is decoded and handed to the current handshake state,
whose ``handle(msg, out)`` returns the next state and records its outputs (messages, key changes,
events) on an :class:`~tlsmachine.machine.Output`. The driver applies those outputs in order, so a
key change takes effect exactly after the message that caused it, and checks that no handshake
message straddles a key change (RFC 8446 §5.1).

Errors: any :class:`ProtocolError` raised anywhere below is caught here, at the one choke point,
turned into exactly one fatal alert (RFC 8446 §6.2) under the current write keys, the lifecycle
moves to ``FAILED``, and the error is re-raised to the caller. Anything else is a bug: we send
``internal_error`` and re-raise the original exception.

Outgoing bytes accumulate until the caller collects them with :meth:`data_to_send`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from .connection_apply import ConnectionApplying
from .connection_receive import ConnectionReceiving
from .connection_state import ConnectionState as ConnectionState
from .enums import AlertDescription, AlertLevel, ContentType, ProtocolVersion
from .errors import (
    AlertReceived,
    ConnectionClosedError,
    InternalError,
    ProtocolError,
    TLSError,
    UsageError,
)
from .events import Event, HandshakeComplete, new_application_data
from .keyschedule import export_keying_material
from .machine import HandshakeState, Output
from .messages.alert import Alert
from .messages.framing import HandshakeBuffer
from .record.layer import RecordLayer
from .record.protection import NullProtector, RecordProtector
from .traffic12 import Traffic12
from .traffic13 import Traffic13

_APPLICATION_DATA = int(ContentType.APPLICATION_DATA)


# Enum members as module constants: ``ConnectionState.APP_DATA`` costs an enum class attribute
# lookup, a measurable part of the per-record cost of send() and receive_data().
_APP_DATA_STATE = ConnectionState.APP_DATA
_PEER_CLOSED_STATE = ConnectionState.PEER_CLOSED


class Connection(ConnectionReceiving, ConnectionApplying):
    """Common driver; use :class:`ClientConnection` or :class:`ServerConnection`."""

    _is_client = False

    def __init__(
        self, handshake: HandshakeState, *, trace: bool, keylog: Callable[[str], None] | None
    ) -> None:
        self.state = ConnectionState.IDLE
        self._handshake: HandshakeState = handshake
        self._records = RecordLayer()
        self._write_protector: RecordProtector = self._records.write_protector
        # receive_data's bulk fast path is open when the read keys are application keys and
        # no partial handshake message is buffered (kept where either changes).
        self._fast_read = False
        self._messages = HandshakeBuffer()
        self._trace = trace
        self._keylog = keylog
        self._read_epoch = "plaintext"
        self._write_epoch = "plaintext"
        self._events: list[Event] = []
        self._close_sent = False
        self._fatal_sent = False
        # RFC 8446 §5 / D.4: dummy change_cipher_spec records dropped so far (a client sends
        # one; see ConnectionReceiving._receive_change_cipher_spec)
        self._ccs_received = 0
        self._idle_records = 0  # see ConnectionReceiving._count_idle_record
        self._idle_warnings = 0
        # a warning alert received before the version was decided (ConnectionReceiving)
        self._open_version_warning: int | None = None
        self._peer_finished = False
        self._peer_closed = False
        # 0-RTT (RFC 8446 §4.2.10): bytes that may still be sent (client) or received (server)
        # as early data, what the client sent (handed back if rejected), the early exporter.
        self._early_data_room = 0
        self._early_data_sent: list[bytes] = []
        self._early_exporter: tuple[str, bytes] | None = None
        self.handshake_info: HandshakeComplete | None = None
        # The negotiated version decides the message set and what change_cipher_spec means:
        # TLS 1.3 until a TLS 1.2 ServerHello / ClientHello says otherwise (SetVersion).
        self._version = ProtocolVersion.TLS13

    # -- public API ---------------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        """Return (and forget) everything that should go to the peer now."""
        return self._records.data_to_send()

    def receive_data(self, data: bytes) -> list[Event]:
        """Process bytes from the peer and return the resulting events in order."""
        state = self.state
        if state is not _APP_DATA_STATE:
            if state is ConnectionState.FAILED:
                raise ConnectionClosedError("the connection failed earlier and cannot be used")
            if state is ConnectionState.SHUTDOWN or state is ConnectionState.PEER_CLOSED:
                return []  # RFC 8446 §6.1: data after a closure alert MUST be ignored
            if state is ConnectionState.IDLE and data:
                self.state = ConnectionState.HANDSHAKING
        records = self._records
        try:
            # Bulk fast path: exactly one whole protected record, nothing buffered (records or
            # handshake bytes), application keys: see _fast_read.
            record = records.open_single_record(data) if self._fast_read else None
            if record is None:
                self._receive(data)
            else:
                content_type, content = record
                if content_type == _APPLICATION_DATA and content:
                    self._idle_records = 0
                    if not self._events:
                        return [new_application_data(content)]
                    self._events.append(new_application_data(content))
                else:
                    self._dispatch(content_type, content)
                    records.flush_handshake()
        except BaseException as exc:
            self._on_error(exc)
            raise
        # Also returns events raised outside receive_data (the first ClientHello's trace,
        # our own KeyUpdate), in the order they happened.
        events, self._events = self._events, []
        return events

    def bytes_to_record_end(self) -> int:
        """How many more received bytes complete the record in progress (a header's 5 when
        none is): what an adapter reads when it must leave the bytes after a record in the
        transport, as ``ssl``'s ``unwrap()`` leaves the cleartext that follows the peer's
        close_notify in the socket."""
        return self._records.bytes_to_record_end

    def take_events(self) -> list[Event]:
        """The events not yet returned by :meth:`receive_data`, in order.

        Two kinds: those of calls that return nothing (the trace of our own close_notify after
        :meth:`close`, of a KeyUpdate we send), and those a :meth:`receive_data` call decoded
        before an error ended it (e.g. application data authenticated before a bad record).
        The next :meth:`receive_data` would return the first kind too; after an error there is
        no next call, so adapters ask here.
        """
        events, self._events = self._events, []
        return events

    def send(self, data: bytes | bytearray | memoryview) -> None:
        """Encrypt application data into the outgoing buffer (a view of bytes is sealed
        without a copy of its own: it is read before this returns)."""
        state = self.state
        if state is not _APP_DATA_STATE and state is not _PEER_CLOSED_STATE:
            raise UsageError(f"cannot send application data in state {state.name}")
        self._records.write(_APPLICATION_DATA, data)
        if self._write_protector.needs_key_update:
            self.key_update()  # RFC 8446 §5.5: rekey well before the usage limit

    def close(self) -> None:
        """Send close_notify (RFC 8446 §6.1); the peer's close_notify completes the shutdown."""
        if self.state in (ConnectionState.FAILED, ConnectionState.SHUTDOWN):
            return
        if not self._close_sent:
            self._send_alert(AlertLevel.WARNING, AlertDescription.CLOSE_NOTIFY)
            self._close_sent = True
            if isinstance(self._handshake, Traffic13 | Traffic12):
                # RFC 8446 §6.1, RFC 5246 §7.2.1: nothing follows our close_notify, not even
                # post-handshake answers (a KeyUpdate for update_requested, a client
                # Certificate, a no_renegotiation warning).
                self._handshake = self._handshake.closed()
        peer_done = self._peer_closed or self.state is ConnectionState.PEER_CLOSED
        self.state = (
            ConnectionState.SHUTDOWN if peer_done else ConnectionState.HOST_INITIATED_CLOSING
        )

    def export_keying_material(
        self, label: str | bytes, length: int, context: bytes | None = None
    ) -> bytes:
        """Keying material for the application, bound to this connection (RFC 8446 §7.5).

        Both peers get the same bytes for the same label, context and length; RFC 5705 labels
        ("EXPORTER-..."), as used by e.g. channel bindings (RFC 9266, "EXPORTER-Channel-Binding").
        TLS 1.2 exports only with the extended master secret (RFC 7627 §5.4).
        """
        traffic = self._handshake
        if not isinstance(traffic, Traffic13 | Traffic12):
            raise UsageError("keying material can be exported only after the handshake")
        if not 0 < length <= 255 * 64:
            raise UsageError("length must be 1..16320 bytes (HKDF-Expand limit)")
        name = label.encode("ascii") if isinstance(label, str) else label
        return traffic.export_keying_material(name, context, length)

    def request_client_certificate(self) -> bytes:
        """Server: ask the client for a certificate now (RFC 8446 §4.6.2).

        Sends a CertificateRequest with a fresh random certificate_request_context and returns
        that context; the answer comes later as a ``ClientCertificateReceived`` event carrying
        it. Only after a TLS 1.3 handshake in which the client offered post_handshake_auth
        (§4.2.6), and with trust anchors for client certificates; else :class:`UsageError`.
        """
        state, traffic = self.state, self._handshake
        if state is not _APP_DATA_STATE and state is not _PEER_CLOSED_STATE:
            raise UsageError(f"cannot request a client certificate in state {state.name}")
        if not isinstance(traffic, Traffic13) or traffic.is_client:
            raise UsageError("only a TLS 1.3 server requests a client certificate")
        with self._choke_point():
            out = Output(keylog=self._keylog is not None)
            self._handshake, context = traffic.request_client_certificate(out)
            self._apply(out)
        return context

    def export_early_keying_material(
        self, label: str | bytes, length: int, context: bytes | None = None
    ) -> bytes:
        """The early exporter (RFC 8446 §7.5), from the early exporter master secret.

        Available once a PSK was offered with 0-RTT (client) or accepted with it (server), also
        after the handshake; on the client it ends when the server refuses the 0-RTT data (the
        server then has none). It lacks forward secrecy and replay protection (§8), like 0-RTT.
        """
        if self._early_exporter is None:
            raise UsageError("no early exporter: 0-RTT was not offered or not accepted")
        if not 0 < length <= 255 * 64:
            raise UsageError("length must be 1..16320 bytes (HKDF-Expand limit)")
        name = label.encode("ascii") if isinstance(label, str) else label
        hash_name, secret = self._early_exporter
        return export_keying_material(hash_name, secret, name, context or b"", length)

    def key_update(self, *, request_peer: bool = False) -> None:
        """Send KeyUpdate and switch our write keys (RFC 8446 §4.6.3)."""
        if (
            self.state is not ConnectionState.APP_DATA
            and self.state is not ConnectionState.PEER_CLOSED
        ):
            raise UsageError("KeyUpdate is only possible after the handshake")
        traffic = self._handshake
        if not isinstance(traffic, Traffic13):
            raise UsageError("this connection's protocol version has no KeyUpdate")
        with self._choke_point():
            out = Output(keylog=self._keylog is not None)
            self._handshake = traffic.start_key_update(out, request_peer)
            self._apply(out)
        if request_peer:
            self._idle_records = 0  # the peer's answering KeyUpdate is not idle chatter

    # -- the choke point ----------------------------------------------------------------------

    @contextmanager
    def _choke_point(self) -> Iterator[None]:
        """Turn every error into exactly one fatal alert (RFC 8446 §6.2) and FAILED."""
        try:
            yield
        except BaseException as exc:
            self._on_error(exc)
            raise

    def _on_error(self, exc: BaseException) -> None:
        """The choke point: one fatal alert for a ProtocolError, internal_error for a bug."""
        invalidate = getattr(self._handshake, "invalidate_session", None)
        if invalidate is not None and isinstance(exc, ProtocolError | AlertReceived):
            invalidate()  # RFC 5246 §7.2.2: a session ended by a fatal alert is not resumed
        if isinstance(exc, ProtocolError):
            self._fail(exc.alert)
        elif isinstance(exc, AlertReceived):
            self.state = ConnectionState.FAILED
        elif isinstance(exc, Exception) and not isinstance(exc, TLSError):
            self._fail(AlertDescription.INTERNAL_ERROR)
            raise InternalError(f"internal error: {exc!r}") from exc

    def _fail(self, alert: AlertDescription) -> None:
        if not self._fatal_sent:
            self._fatal_sent = True
            # If even the alert cannot be sealed there is nothing more to do; the error is raised.
            with suppress(Exception):
                self._send_alert(AlertLevel.FATAL, alert)
        self.state = ConnectionState.FAILED

    def _send_alert(self, level: AlertLevel, description: AlertDescription) -> None:
        if self._write_epoch == "early":
            # the early traffic keys carry 0-RTT data and EndOfEarlyData only (RFC 8446 §7.3,
            # §4.5): an alert then goes in the clear, as before them
            self._records.set_write_protector(NullProtector())
            self._write_epoch = "plaintext"
        self._records.flush_handshake()
        alert = Alert(level, description)
        self._records.write(ContentType.ALERT, alert.serialize())
        if self._trace and level == AlertLevel.WARNING:
            # a fatal alert reaches the application as the exception that caused it
            self._trace_record("sent", alert, "alert", self._write_epoch)
