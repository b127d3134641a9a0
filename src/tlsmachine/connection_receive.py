"""How a :class:`~tlsmachine.connection.Connection` receives: records from the record layer,
dispatched by content type (RFC 8446 §5.1) to the handshake (reassembled, decoded, handed to
the current state, whose outputs are applied), to alerts (close_notify, warnings, error
alerts; RFC 8446 §6), to change_cipher_spec (RFC 8446 §5, RFC 5246 §7.1) and to early data
(RFC 8446 §4.2.10). One mixin, :class:`ConnectionReceiving`, a base of
:class:`~tlsmachine.connection.Connection`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from .connection_state import ConnectionState
from .enums import (
    AlertDescription,
    AlertLevel,
    ContentType,
    HandshakeType,
    ProtocolVersion,
    name_of,
)
from .errors import AlertReceived, DecodeError, ProtocolError, UnexpectedMessage
from .events import ConnectionClosed, EarlyDataReceived, WarningAlertReceived, new_application_data
from .machine import Output, out_of_order
from .messages import decode_handshake
from .messages.alert import Alert
from .messages.tls12 import CHANGE_CIPHER_SPEC, HelloRequest

if TYPE_CHECKING:
    from .events import Event
    from .machine import HandshakeState
    from .messages import HandshakeMessage
    from .messages.framing import HandshakeBuffer
    from .record.layer import RecordLayer

__all__ = ["ConnectionReceiving"]

_CCS_PAYLOAD = b"\x01"
_CCS_NAME = "change_cipher_spec"
_HANDSHAKE = int(ContentType.HANDSHAKE)
_APPLICATION_DATA = int(ContentType.APPLICATION_DATA)
_ALERT = int(ContentType.ALERT)
_HELLO_REQUEST = int(HandshakeType.HELLO_REQUEST)
_KEY_UPDATE = int(HandshakeType.KEY_UPDATE)
# RFC 8446 §6.1: the closure alerts; every other alert is an error alert (§6.2)
_NON_ERROR_ALERTS = frozenset({AlertDescription.CLOSE_NOTIFY, AlertDescription.USER_CANCELED})
MAX_IDLE_RECORDS = 32
"""Records in a row without application data we take, all kinds together (BoringSSL allows
32 of each)."""
MAX_WARNING_ALERTS = 4
"""Warning alerts in a row we take (BoringSSL's limit; OpenSSL's is 5)."""


if TYPE_CHECKING:

    class _ConnectionParts:
        """What :class:`ConnectionReceiving` uses of Connection (for mypy only)."""

        _is_client: bool
        state: ConnectionState
        _handshake: HandshakeState
        _records: RecordLayer
        _fast_read: bool
        _messages: HandshakeBuffer
        _trace: bool
        _keylog: Callable[[str], None] | None
        _read_epoch: str
        _events: list[Event]
        _close_sent: bool
        _ccs_received: int
        _idle_records: int
        _idle_warnings: int
        _open_version_warning: int | None
        _peer_finished: bool
        _peer_closed: bool
        _early_data_room: int
        _version: ProtocolVersion

        def close(self) -> None: ...
        def _apply(self, out: Output) -> None: ...
        def _trace_message(self, direction: str, msg: object, raw: bytes, epoch: str) -> None: ...
        def _trace_record(self, direction: str, msg: object, name: str, epoch: str) -> None: ...

else:
    _ConnectionParts = object


class ConnectionReceiving(_ConnectionParts):
    """The receiving half of :class:`~tlsmachine.connection.Connection`: from a record to the
    events and state changes it causes (see the module docstring)."""

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
                self._idle_records = 0
                self._events.append(new_application_data(payload))
            else:
                self._count_idle_record()  # RFC 8446 §5.4 allows it; a flood of them is not
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

    def _count_idle_record(self, *, warning: bool = False) -> None:
        """One more record in a row that carries nothing for the application: an empty
        application data record, a warning alert, a KeyUpdate. The RFCs set no limit (RFC
        8446 §5.4, §4.6.3; RFC 5246 §7.2), but an endless stream of them would keep us busy
        for nothing, so, as BoringSSL and OpenSSL do, more than :data:`MAX_IDLE_RECORDS` (or
        :data:`MAX_WARNING_ALERTS` warnings) in a row is unexpected_message."""
        if not self._idle_records:
            self._idle_warnings = 0
        self._idle_records += 1
        self._idle_warnings += warning
        if self._idle_records > MAX_IDLE_RECORDS:
            raise UnexpectedMessage(
                f"more than {MAX_IDLE_RECORDS} records in a row without application data "
                "(empty records, KeyUpdates, warning alerts)"
            )
        if self._idle_warnings > MAX_WARNING_ALERTS:
            raise UnexpectedMessage(f"more than {MAX_WARNING_ALERTS} warning alerts in a row")

    def _pop_message(self) -> bytes | None:
        try:
            return self._messages.pop()
        except DecodeError as exc:
            raise self._refused_header(exc) from None

    def _refused_header(self, exc: DecodeError) -> ProtocolError:
        """A header announcing more than its type can carry: an out-of-order type is
        unexpected_message first (judged in the state the message arrives in)."""
        refused = self._messages.refused_type
        return (refused is not None and self._type_error(refused)) or exc

    def _negotiating_client(self) -> bool:
        return self._is_client and not self._peer_finished

    def _type_error(self, msg_type: int) -> UnexpectedMessage | None:
        """A message is judged by its type before its body (RFC 8446 §4): the error for a type
        the state does not take. A client lets HelloRequest through while negotiating (it
        ignores it, RFC 5246 §7.4.1.1)."""
        if msg_type == _HELLO_REQUEST and self._negotiating_client():
            return None
        return out_of_order(self._handshake, msg_type)

    def _receive_handshake(self, payload: bytes) -> None:
        buffer = self._messages
        self._fast_read = False  # until the buffer is known to be empty again
        try:
            buffer.feed(payload)
        except DecodeError as exc:
            raise self._refused_header(exc) from None
        version = self._version
        while (raw := self._pop_message()) is not None:
            if (error := self._type_error(raw[0])) is not None:
                raise error
            if raw[0] == _KEY_UPDATE or (raw[0] == _HELLO_REQUEST and self._peer_finished):
                self._count_idle_record()  # each costs us work, a no_renegotiation answer
            msg = decode_handshake(raw, version=version)
            if isinstance(msg, HelloRequest) and self._negotiating_client():
                continue  # RFC 5246 §7.4.1.1: a client ignores it while negotiating
            if self._trace:
                self._trace_message("received", msg, raw, self._read_epoch)
            out = Output(keylog=self._keylog is not None)
            self._handshake = self._handshake.handle(msg, out)
            self._apply(out)
            version = self._version
            if self._open_version_warning is not None and not self._version_open():
                self._settle_version_warning(version)
        pending = buffer.pending_type
        if pending is not None and (error := self._type_error(pending)) is not None:
            raise error  # judged by its type now, not after a body that may never come
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
        else:
            self._count_idle_record()

    def _receive_alert(self, payload: bytes) -> None:
        alert = Alert.parse(payload)
        if self._trace:
            self._trace_record("received", alert, "alert", self._read_epoch)
        tls12 = self._version == ProtocolVersion.TLS12
        if not (tls12 or self._messages.empty) and alert.description in _NON_ERROR_ALERTS:
            # RFC 8446 §5.1: handshake messages MUST NOT be interleaved with other record
            # types (RFC 5246 §6.2.1 allowed it). An error alert ends the connection anyway
            # and is reported as the peer's; one that would not is unexpected_message.
            raise UnexpectedMessage("alert inside a handshake message (RFC 8446 §5.1)")
        if alert.description == AlertDescription.CLOSE_NOTIFY:
            # RFC 8446 §6.1: the peer closed its write side. We may still send (half-close)
            # until the application calls close(); TLS 1.3 dropped the old "answer at once".
            self._events.append(ConnectionClosed())
            self._peer_closed = True
            if tls12 and not self._close_sent and self.state is not ConnectionState.FAILED:
                # RFC 5246 §7.2.1: answer with our own close_notify at once (also during the
                # handshake: "The other party MUST respond with a close_notify alert")
                self.close()
            elif self._close_sent or self.state is not ConnectionState.APP_DATA:
                self.state = ConnectionState.SHUTDOWN
            else:
                self.state = ConnectionState.PEER_CLOSED
        elif alert.description == AlertDescription.USER_CANCELED or (
            alert.level == AlertLevel.WARNING and (tls12 or self._version_open())
        ):
            # RFC 5246 §7.2: TLS 1.2 warnings (e.g. no_renegotiation) do not end the connection.
            # Before the ServerHello the version is open: the ServerHello settles whether this
            # one was a TLS 1.2 warning or a TLS 1.3 error alert (_settle_version_warning).
            if not tls12 and alert.description != AlertDescription.USER_CANCELED:
                self._open_version_warning = alert.description
            self._count_idle_record(warning=True)
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

    def _version_open(self) -> bool:
        """Whether the handshake state has yet to learn the version (a client waiting for the
        first ServerHello: ``version_open``)."""
        version_open: bool = getattr(self._handshake, "version_open", False)
        return version_open

    def _settle_version_warning(self, version: ProtocolVersion) -> None:
        """The version is decided; judge the warning alert that came before it. From a TLS 1.2
        server it was a warning (RFC 5246 §7.2), e.g. the unrecognized_name of RFC 6066 §3;
        from a TLS 1.3 one an error alert, "regardless of the AlertLevel" (RFC 8446 §6.2)."""
        description, self._open_version_warning = self._open_version_warning, None
        if description is not None and version != ProtocolVersion.TLS12:
            name = name_of(AlertDescription, description).lower()
            raise AlertReceived(
                description,
                f"peer sent alert {name} at warning level, then TLS 1.3: an error all the same "
                "(RFC 8446 §6.2)",
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
        # RFC 8446 §5: an unprotected 0x01 between the first ClientHello and the peer's
        # Finished MUST be dropped; any other change_cipher_spec is unexpected_message. A
        # client sends one in all (D.4): a second is refused, as tlsfuzzer's
        # test-tls13-multiple-ccs-messages wants (CVE-2020-25648). The server's are dropped
        # (JSSE sends one after a HelloRetryRequest and one after its ServerHello), each
        # counted as an idle record, which bounds a flood of them.
        if payload != _CCS_PAYLOAD:
            raise UnexpectedMessage("change_cipher_spec record must contain exactly 0x01")
        if self._peer_finished or not self._hello_seen():
            raise UnexpectedMessage("change_cipher_spec outside the TLS 1.3 handshake")
        if self._is_client:
            self._count_idle_record()
        elif self._ccs_received:
            raise UnexpectedMessage("a second change_cipher_spec from the client (RFC 8446 D.4)")
        self._ccs_received += 1

    def _hello_seen(self) -> bool:
        """Has the first ClientHello been sent (client) or received (server)?"""
        return True
