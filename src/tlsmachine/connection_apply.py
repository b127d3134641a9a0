"""How a :class:`~tlsmachine.connection.Connection` applies a handshake state's
:class:`~tlsmachine.machine.Output`, in order: handshake messages and change_cipher_spec to
send, key changes (TLS 1.3 traffic keys, TLS 1.2 protectors; RFC 8446 §5.1: no handshake
message spans one), secrets for the key log, record size limits, 0-RTT progress, the early
exporter, the negotiated version, events, and the traces of what was sent. One mixin,
:class:`ConnectionApplying`, a base of :class:`~tlsmachine.connection.Connection`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .connection_state import ConnectionState
from .enums import (
    AlertDescription,
    AlertLevel,
    ContentType,
    HandshakeType,
    ProtocolVersion,
    name_of,
)
from .errors import UnexpectedMessage
from .events import (
    EarlyDataRejected,
    Event,
    HandshakeComplete,
    HandshakeMessageTraced,
    RecordTraced,
)
from .keyschedule import traffic_key_iv
from .machine import (
    EarlyDataStage,
    EmitEvent,
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
from .messages.tls12 import CHANGE_CIPHER_SPEC
from .record.protection import (
    AES_GCM_MAX_RECORDS,
    Aead13Protector,
    NullProtector,
    RecordProtector,
)

if TYPE_CHECKING:
    from .messages.framing import HandshakeBuffer
    from .record.layer import RecordLayer

__all__ = ["ConnectionApplying"]

_CCS_PAYLOAD = b"\x01"
_CCS_NAME = "change_cipher_spec"


if TYPE_CHECKING:

    class _ConnectionParts:
        """What :class:`ConnectionApplying` uses of Connection (for mypy only)."""

        state: ConnectionState
        handshake_info: HandshakeComplete | None
        _records: RecordLayer
        _write_protector: RecordProtector
        _fast_read: bool
        _messages: HandshakeBuffer
        _trace: bool
        _keylog: Callable[[str], None] | None
        _read_epoch: str
        _write_epoch: str
        _events: list[Event]
        _peer_finished: bool
        _early_data_room: int
        _early_data_sent: list[bytes]
        _early_exporter: tuple[str, bytes] | None
        _version: ProtocolVersion

        def _send_alert(self, level: AlertLevel, description: AlertDescription) -> None: ...

else:
    _ConnectionParts = object


class ConnectionApplying(_ConnectionParts):
    """The part of :class:`~tlsmachine.connection.Connection` that carries out what a
    handshake state asked for (see the module docstring)."""

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
                records.agree_receive_limit(min(action.receive, records.receive_limit))
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
                # §7.5: the early exporter serves 0-RTT data; the server that refused it has
                # none (nor, after a refused ticket, the PSK to make one)
                self._early_exporter = None

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
