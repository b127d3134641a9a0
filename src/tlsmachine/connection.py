"""The sans-I/O connection driver shared by client and server.

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

import enum
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, cast

from .enums import (
    AlertDescription,
    AlertLevel,
    ContentType,
    HandshakeType,
    ProtocolVersion,
    name_of,
)
from .errors import (
    AlertReceived,
    ConnectionClosedError,
    InternalError,
    ProtocolError,
    TLSError,
    UnexpectedMessage,
    UsageError,
)
from .events import (
    ConnectionClosed,
    EarlyDataReceived,
    EarlyDataRejected,
    Event,
    HandshakeComplete,
    HandshakeMessageTraced,
    RecordTraced,
    WarningAlertReceived,
    new_application_data,
)
from .keyschedule import export_keying_material, traffic_key_iv
from .machine import (
    EarlyDataStage,
    EmitEvent,
    HandshakeState,
    InstallKeys,
    InstallProtector,
    LogSecret,
    Output,
    RecordSizeLimits,
    SendAlert,
    SendChangeCipherSpec,
    SendMessage,
    SetEarlyExporter,
    SetVersion,
)
from .messages import decode_handshake
from .messages.alert import Alert
from .messages.framing import HandshakeBuffer
from .messages.tls12 import CHANGE_CIPHER_SPEC, HelloRequest
from .record.layer import RecordLayer
from .record.protection import (
    AES_GCM_MAX_RECORDS,
    Aead13Protector,
    NullProtector,
    RecordProtector,
)
from .traffic12 import Traffic12

if TYPE_CHECKING:
    from .messages import HandshakeMessage
from .traffic13 import Traffic13

_CCS_PAYLOAD = b"\x01"
_CCS_NAME = "change_cipher_spec"
_HANDSHAKE = int(ContentType.HANDSHAKE)
_APPLICATION_DATA = int(ContentType.APPLICATION_DATA)
_ALERT = int(ContentType.ALERT)


class ConnectionState(enum.Enum):
    """Public lifecycle of a connection (see ARCHITECTURE.md)."""

    IDLE = "idle"
    HANDSHAKING = "handshaking"
    APP_DATA = "app_data"
    HOST_INITIATED_CLOSING = "host_initiated_closing"
    """We sent close_notify and wait for the peer's (RFC 8446 §6.1)."""
    PEER_CLOSED = "peer_closed"
    """The peer sent close_notify; we may still send, then close() (RFC 8446 §6.1)."""
    SHUTDOWN = "shutdown"
    FAILED = "failed"


# Enum members as module constants: ``ConnectionState.APP_DATA`` costs an enum class attribute
# lookup, a measurable part of the per-record cost of send() and receive_data().
_APP_DATA_STATE = ConnectionState.APP_DATA
_PEER_CLOSED_STATE = ConnectionState.PEER_CLOSED


class Connection:
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
        self._ccs_received = False
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

    def send(self, data: bytes) -> None:
        """Encrypt application data into the outgoing buffer."""
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
            if isinstance(self._handshake, Traffic13):
                # RFC 8446 §6.1: nothing follows our close_notify, not even post-handshake
                # answers (a KeyUpdate for update_requested, a client Certificate).
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
        after the handshake; it lacks forward secrecy and replay protection (§8), like 0-RTT.
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
        self._records.flush_handshake()
        alert = Alert(level, description)
        self._records.write(ContentType.ALERT, alert.serialize())
        if self._trace and level == AlertLevel.WARNING:
            # a fatal alert reaches the application as the exception that caused it
            self._trace_record("sent", alert, "alert", self._write_epoch)

    # -- receiving ----------------------------------------------------------------------------

    def _receive(self, data: bytes) -> None:
        records = self._records
        records.feed(data)
        # RFC 8446 §6.1: "Any data received after a closure alert has been received MUST be
        # ignored", also the rest of this read
        while self.state is not ConnectionState.SHUTDOWN and not self._peer_closed:
            record = records.next_record()
            if record is None:
                break
            self._dispatch(*record)
        records.flush_handshake()

    def _dispatch(self, content_type: int, payload: bytes) -> None:
        """Handle one decrypted record by its content type (RFC 8446 §5.1)."""
        if content_type == _APPLICATION_DATA:
            if self._read_epoch != "application":
                self._receive_early_data(payload)
                return
            if payload:
                if not self._messages.empty and not self._renegotiation_pending():
                    # RFC 8446 §5.1: handshake messages MUST NOT be interleaved with others.
                    raise UnexpectedMessage("application data inside a handshake message")
                self._events.append(new_application_data(payload))
        elif content_type == _HANDSHAKE:
            self._receive_handshake(payload)
        elif content_type == _ALERT:
            self._receive_alert(payload)
        else:
            self._receive_change_cipher_spec(payload)

    def _renegotiation_pending(self) -> bool:
        """TLS 1.2 after the first handshake: the buffered handshake bytes start a
        renegotiation (which Traffic12 refuses). RFC 5246 §6.2.1: "Recipients MUST receive and
        process interleaved application layer traffic during handshakes subsequent to the
        first one on a connection"."""
        return self._version == ProtocolVersion.TLS12 and self._peer_finished

    def _receive_handshake(self, payload: bytes) -> None:
        buffer = self._messages
        self._fast_read = False  # until the buffer is known to be empty again
        buffer.feed(payload)
        version = self._version
        while (raw := buffer.pop()) is not None:
            msg = decode_handshake(raw, version=version)
            if isinstance(msg, HelloRequest) and self._is_client and not self._peer_finished:
                continue  # RFC 5246 §7.4.1.1: a client ignores it while negotiating
            if self._trace:
                self._trace_message("received", msg, raw, self._read_epoch)
            out = Output(keylog=self._keylog is not None)
            self._handshake = self._handshake.handle(msg, out)
            self._apply(out)
            version = self._version
        self._fast_read = self._read_epoch == "application" and buffer.empty

    def _receive_early_data(self, payload: bytes) -> None:
        """Application data under the client's early keys (RFC 8446 §2.3, §4.2.10)."""
        if self._read_epoch != "early":
            raise UnexpectedMessage("application data before the handshake finished")
        if len(payload) > self._early_data_room:
            # §4.2.10: more than max_early_data_size SHOULD be unexpected_message.
            raise UnexpectedMessage("early data beyond max_early_data_size")
        if not self._messages.empty:
            raise UnexpectedMessage("early data inside a handshake message (RFC 8446 §5.1)")
        self._early_data_room -= len(payload)
        if payload:
            self._events.append(EarlyDataReceived(data=payload))

    def _receive_alert(self, payload: bytes) -> None:
        alert = Alert.parse(payload)
        if self._trace:
            self._trace_record("received", alert, "alert", self._read_epoch)
        if alert.description == AlertDescription.CLOSE_NOTIFY:
            # RFC 8446 §6.1: the peer closed its write side. We may still send (half-close)
            # until the application calls close(); TLS 1.3 dropped the old "answer at once".
            self._events.append(ConnectionClosed())
            self._peer_closed = True
            tls12 = self._version == ProtocolVersion.TLS12
            if tls12 and not self._close_sent and self.state is not ConnectionState.FAILED:
                # RFC 5246 §7.2.1: answer with our own close_notify at once (also during the
                # handshake: "The other party MUST respond with a close_notify alert")
                self.close()
            elif self._close_sent or self.state is not ConnectionState.APP_DATA:
                self.state = ConnectionState.SHUTDOWN
            else:
                self.state = ConnectionState.PEER_CLOSED
        elif alert.description == AlertDescription.USER_CANCELED or (
            self._version == ProtocolVersion.TLS12 and alert.level == AlertLevel.WARNING
        ):
            # RFC 5246 §7.2: TLS 1.2 warnings (e.g. no_renegotiation) do not end the connection.
            self._events.append(WarningAlertReceived(description=alert.description))
        else:
            # RFC 8446 §6: every other alert is an error alert, whatever its level says.
            if alert.level == AlertLevel.FATAL:
                raise AlertReceived(alert.description)
            name = name_of(AlertDescription, alert.description).lower()
            raise AlertReceived(
                alert.description,
                f"peer sent alert {name} at warning level: an error all the same (RFC 8446 §6)",
            )

    def _receive_change_cipher_spec(self, payload: bytes) -> None:
        if self._trace:
            self._trace_record("received", CHANGE_CIPHER_SPEC, _CCS_NAME, self._read_epoch)
        if self._version == ProtocolVersion.TLS12:
            # RFC 5246 §7.1: one byte of value 1, a message of its own that the handshake
            # state expects at one point only (before the peer's Finished).
            if payload != _CCS_PAYLOAD:
                raise UnexpectedMessage("change_cipher_spec record must contain exactly 0x01")
            if not self._messages.empty:
                raise UnexpectedMessage("change_cipher_spec inside a handshake message")
            out = Output(keylog=self._keylog is not None)
            # Only TLS 1.2 states see this pseudo-message (the version gate above); each one
            # narrows its input with expect(), so CCS anywhere else is unexpected_message.
            self._handshake = self._handshake.handle(
                cast("HandshakeMessage", CHANGE_CIPHER_SPEC), out
            )
            self._apply(out)
            return
        # RFC 8446 §5: a single unprotected 0x01 between the first ClientHello and the peer's
        # Finished MUST be dropped; any other change_cipher_spec is unexpected_message.
        if payload != _CCS_PAYLOAD:
            raise UnexpectedMessage("change_cipher_spec record must contain exactly 0x01")
        if self._ccs_received or self._peer_finished or not self._hello_seen():
            raise UnexpectedMessage("change_cipher_spec outside the TLS 1.3 handshake")
        self._ccs_received = True

    def _hello_seen(self) -> bool:
        """Has the first ClientHello been sent (client) or received (server)?"""
        return True

    # -- applying state outputs ---------------------------------------------------------------

    def _apply(self, out: Output) -> None:
        records = self._records
        for action in out.actions:
            if isinstance(action, SendMessage):
                records.write_handshake(action.raw)
                if self._trace:
                    self._trace_message("sent", action.message, action.raw, self._write_epoch)
            elif isinstance(action, InstallKeys):
                self._install_keys(action)
            elif isinstance(action, SendChangeCipherSpec):
                records.flush_handshake()
                records.write(ContentType.CHANGE_CIPHER_SPEC, _CCS_PAYLOAD)
                if self._trace:
                    self._trace_record("sent", CHANGE_CIPHER_SPEC, _CCS_NAME, self._write_epoch)
            elif isinstance(action, LogSecret):
                if self._keylog is not None:
                    line = f"{action.label} {action.client_random.hex()} {action.secret.hex()}"
                    self._keylog(line)
            elif isinstance(action, RecordSizeLimits):
                records.send_limit = action.send
                records.receive_limit = min(action.receive, records.receive_limit)
            elif isinstance(action, EmitEvent):
                self._emit(action.event)
            elif isinstance(action, EarlyDataStage):
                self._early_data_stage(action)
            elif isinstance(action, SetEarlyExporter):
                self._early_exporter = action.hash_name, action.secret
            elif isinstance(action, SetVersion):
                self._version = ProtocolVersion(action.version)
            elif isinstance(action, InstallProtector):
                self._install_protector(action)
            elif isinstance(action, SendAlert):
                self._send_alert(AlertLevel.WARNING, AlertDescription(action.description))

    def _early_data_stage(self, action: EarlyDataStage) -> None:
        """Apply 0-RTT progress (see :class:`~tlsmachine.machine.EarlyDataStage`)."""
        stage = action.stage
        if stage in ("offered", "accepting"):
            self._early_data_room = action.limit
        elif stage == "skipping":
            self._records.skip_early_data = action.limit
        else:  # the client learnt the server's answer: no more early data
            self._early_data_room = 0
            sent, self._early_data_sent = self._early_data_sent, []
            if stage == "rejected":
                # §4.2.10: the data was not processed; the application decides what to resend.
                self._events.append(EarlyDataRejected(data=b"".join(sent)))

    def _install_keys(self, action: InstallKeys) -> None:
        suite = action.suite
        protector: RecordProtector
        if suite is None:
            protector = NullProtector()
        else:
            # The states hand over handshake keys derived together with the Finished keys.
            key, iv = action.keys or traffic_key_iv(suite, action.secret)
            # RFC 8446 §5.5: AES-GCM keys protect at most 2^24.5 records; we count our sends.
            limit = (
                AES_GCM_MAX_RECORDS
                if action.direction == "write" and "_GCM_" in suite.name
                else None
            )
            protector = Aead13Protector(suite.aead(key), iv, max_records=limit)
        if action.direction == "read":
            if not self._messages.empty:
                # RFC 8446 §5.1: handshake messages MUST NOT span a key change.
                raise UnexpectedMessage("handshake data left over across a key change")
            self._records.set_read_protector(protector)
            self._records.allow_plaintext_alerts = action.epoch == "handshake"
            self._read_epoch = action.epoch
            self._fast_read = action.epoch == "application"  # the buffer is empty (above)
        else:
            self._records.set_write_protector(protector)
            self._write_protector = protector
            self._write_epoch = action.epoch

    def _install_protector(self, action: InstallProtector) -> None:
        """TLS 1.2 keys (RFC 5246 §7.1): read keys after the peer's ChangeCipherSpec, for its
        Finished and then application data, which is accepted only once the handshake is
        complete (see _emit)."""
        if action.direction == "read":
            if not self._messages.empty:
                raise UnexpectedMessage("handshake data left over across a key change")
            self._records.set_read_protector(action.protector)
            self._read_epoch = "handshake"
            self._fast_read = False
        else:
            self._records.set_write_protector(action.protector)
            self._write_protector = action.protector
            self._write_epoch = action.epoch

    def _emit(self, event: Event) -> None:
        if isinstance(event, HandshakeComplete):
            self.state = ConnectionState.APP_DATA
            self.handshake_info = event
            self._peer_finished = True
            if self._version == ProtocolVersion.TLS12:
                # The peer's Finished was the last handshake record under these keys.
                self._read_epoch = "application"
                self._fast_read = self._messages.empty
        self._events.append(event)

    def _trace_message(self, direction: str, msg: object, raw: bytes, epoch: str) -> None:
        self._events.append(
            HandshakeMessageTraced(
                direction=direction,
                message=msg,
                name=name_of(HandshakeType, raw[0]).lower(),
                length=len(raw),
                epoch=epoch,
            )
        )

    def _trace_record(self, direction: str, msg: object, name: str, epoch: str) -> None:
        self._events.append(RecordTraced(direction=direction, message=msg, name=name, epoch=epoch))
