"""TLS 1.2 after the handshake: application data, and renegotiation refused (RFC 5246, 5746).

Both roles end a TLS 1.2 handshake in :class:`Traffic12` (the seed design's ``APP_DATA``). We
never renegotiate: a HelloRequest (to a client) or a ClientHello (to a server) is answered with
a ``no_renegotiation`` warning and otherwise ignored, as RFC 5246 §7.4.1.1 / §7.4.1.2 and
RFC 5746 §4.2 allow; the peer then decides whether to go on. Any other handshake message is
``unexpected_message``. The exporter is RFC 5705's (over the TLS 1.2 PRF), and only with the
extended master secret (RFC 7627 §5.4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .crypto.suites import CipherSuite12
from .enums import AlertDescription
from .errors import UsageError
from .fast_init import fast_init
from .machine import Output, unexpected
from .messages import ClientHello, HandshakeMessage
from .messages.tls12 import HelloRequest
from .prf import export_keying_material12


@fast_init
@dataclass(frozen=True, slots=True)
class Traffic12:
    """Handshake done; application data flows (RFC 5246 §7.3; APP_DATA)."""

    suite: CipherSuite12
    is_client: bool
    master_secret: bytes = field(repr=False)
    client_random: bytes = field(repr=False)
    server_random: bytes = field(repr=False)
    extended_master_secret: bool
    """RFC 7627: the master secret covers the session hash; without it, no exporter (§5.4)."""
    forget_session: Callable[[], None] | None = field(default=None, repr=False)
    """Server: drops this connection's session from the session cache."""
    write_closed: bool = False
    """Our close_notify is out: "the sender will not send any more messages on this
    connection" (RFC 5246 §7.2.1), not even a no_renegotiation warning (see :meth:`closed`)."""

    def closed(self) -> Traffic12:
        """This state once our close_notify is out (see :attr:`write_closed`).

        Built field by field: ``dataclasses.replace`` costs a few µs, on every close."""
        return Traffic12(
            self.suite,
            self.is_client,
            self.master_secret,
            self.client_random,
            self.server_random,
            self.extended_master_secret,
            self.forget_session,
            write_closed=True,
        )

    def invalidate_session(self) -> None:
        """RFC 5246 §7.2.2: a connection ended by a fatal alert must not be resumed; the
        server forgets its cached session ID (a ticket cannot be recalled)."""
        if self.forget_session is not None:
            self.forget_session()

    def handle(self, msg: HandshakeMessage, out: Output) -> Traffic12:
        renegotiation = HelloRequest if self.is_client else ClientHello
        if isinstance(msg, renegotiation):
            if not self.write_closed:
                out.warning_alert(AlertDescription.NO_RENEGOTIATION)
            return self
        raise unexpected(msg, self)

    def export_keying_material(self, label: bytes, context: bytes | None, length: int) -> bytes:
        """RFC 5705 §4 keying material exporter."""
        if not self.extended_master_secret:
            # RFC 7627 §5.4: without the extension, a client or server "MUST NOT export any
            # key material based on the new master secret ... In particular, it MUST disable
            # [RFC5705]"
            raise UsageError(
                "no keying material without the extended master secret (RFC 7627 §5.4)"
            )
        return export_keying_material12(
            self.suite.hash_name,
            self.master_secret,
            self.client_random,
            self.server_random,
            label,
            context,
            length,
        )
