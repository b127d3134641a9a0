"""Blocking-socket adapter for the sans-I/O core, shaped like :class:`ssl.SSLSocket`.

Thin by design: it only loops (flush :meth:`Connection.data_to_send`, read from the socket, feed
:meth:`Connection.receive_data`, dispatch the events). Every protocol decision, alerts included,
is made by the core (RFC 8446 §6: the core queues the fatal alert; we make sure it is flushed to
the peer before the error propagates).

Closure (RFC 8446 §6.1): :meth:`TLSSocket.recv` returns ``b""`` after the peer's close_notify
(``clean_close`` is then True); a transport EOF without close_notify after the handshake also
returns ``b""`` but sets ``clean_close = False`` (a truncation the application may care about;
with ``suppress_ragged_eofs=False`` it raises :class:`RaggedEOFError` instead); during the
handshake it raises :class:`TLSError`.

Timeouts: the socket's timeout (``settimeout``) bounds each blocking operation as a whole, as
in :mod:`ssl`: the complete handshake, one ``recv``, one ``send``. A peer that trickles bytes
cannot stretch an operation past its deadline. Expiry raises :class:`TimeoutError`.
"""

from __future__ import annotations

import builtins
import contextlib
import datetime as dt
import errno
import io
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO, Literal, ParamSpec, TypeAlias, TypeVar, cast, overload

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import AuthorityInformationAccessOID

from .client import ClientConnection
from .config import ClientConfig, ServerConfig
from .config_values import openssl_name
from .connection import Connection, ConnectionState
from .crypto.suites import TLS12_SUITES
from .errors import ConfigurationError, ProtocolError, TLSError, UsageError
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
from .server import ServerConnection
from .session import ClientSession

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer

    from .context import Context

__all__ = [
    "ConnectionInfo",
    "PeerCertificate",
    "RaggedEOFError",
    "TLSServer",
    "TLSSocket",
    "TLSSocketIO",
    "connect",
    "peer_certificate_dict",
    "serve",
]

EventHook = Callable[[Event], None]
P = ParamSpec("P")
R = TypeVar("R")

_READ_SIZE = 65536
_SEND_SIZE = 65536
"""Bytes :meth:`TLSSocket.send` encrypts per call (four full records)."""
_CLOSE_WAIT = 5.0
"""How long close() waits for the peer's close_notify when the socket has no timeout."""


class RaggedEOFError(TLSError, ssl.SSLEOFError):
    """The transport ended without the peer's close_notify: the data may be truncated.

    Raised only when ragged EOFs are not suppressed (``suppress_ragged_eofs=False``, or always
    by :class:`tlsmachine.context.TLSObject`, as ``ssl`` does). Also an ``ssl.SSLEOFError``, so
    code ported from :mod:`ssl` catches it unchanged.
    """


# -- the peer certificate in ssl's shape ---------------------------------------------------------

_Pairs: TypeAlias = tuple[tuple[str, str], ...]
PeerCertificate: TypeAlias = dict[str, str | int | tuple[str, ...] | _Pairs | tuple[_Pairs, ...]]
"""What :meth:`TLSSocket.getpeercert` returns: the dict :meth:`ssl.SSLSocket.getpeercert` does."""

# OpenSSL's long names (what ssl's getpeercert prints) for the attributes certificates use.
_ATTRIBUTE_NAMES = {
    "2.5.4.3": "commonName",
    "2.5.4.4": "surname",
    "2.5.4.5": "serialNumber",
    "2.5.4.6": "countryName",
    "2.5.4.7": "localityName",
    "2.5.4.8": "stateOrProvinceName",
    "2.5.4.9": "streetAddress",
    "2.5.4.10": "organizationName",
    "2.5.4.11": "organizationalUnitName",
    "2.5.4.12": "title",
    "2.5.4.15": "businessCategory",
    "2.5.4.17": "postalCode",
    "2.5.4.42": "givenName",
    "2.5.4.46": "dnQualifier",
    "2.5.4.65": "pseudonym",
    "1.2.840.113549.1.9.1": "emailAddress",
    "0.9.2342.19200300.100.1.1": "userId",
    "0.9.2342.19200300.100.1.25": "domainComponent",
    "1.3.6.1.4.1.311.60.2.1.3": "jurisdictionCountryName",
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _name_tuple(name: x509.Name) -> tuple[_Pairs, ...]:
    return tuple(
        tuple(
            (_ATTRIBUTE_NAMES.get(a.oid.dotted_string, a.oid.dotted_string), str(a.value))
            for a in rdn
        )
        for rdn in name.rdns
    )


def _asn1_time(when: dt.datetime) -> str:
    """``'Jun  1 12:00:00 2030 GMT'``: OpenSSL's format, which :func:`ssl.cert_time_to_seconds`
    parses (no locale-dependent ``%b``)."""
    return f"{_MONTHS[when.month - 1]} {when.day:2d} {when:%H:%M:%S %Y} GMT"


def _general_name(name: x509.GeneralName) -> tuple[str, str] | None:
    if isinstance(name, x509.DNSName):
        return "DNS", name.value
    if isinstance(name, x509.IPAddress):
        address = name.value
        if isinstance(address, ipaddress.IPv6Address):  # OpenSSL: eight unpadded groups
            packed = address.packed
            groups = (int.from_bytes(packed[i : i + 2], "big") for i in range(0, 16, 2))
            return "IP Address", ":".join(f"{g:X}" for g in groups)
        return "IP Address", str(address)
    if isinstance(name, x509.RFC822Name):
        return "email", name.value
    if isinstance(name, x509.UniformResourceIdentifier):
        return "URI", name.value
    return None


def _serial_hex(serial: int) -> str:
    """OpenSSL prints the serial's bytes: an even number of upper-case hex digits."""
    digits = f"{serial:X}"
    return digits if len(digits) % 2 == 0 else "0" + digits


def peer_certificate_dict(cert: x509.Certificate) -> PeerCertificate:
    """A certificate as :meth:`ssl.SSLSocket.getpeercert` describes it (same keys and formats:
    subject/issuer as RDN tuples of (long name, value), hex serialNumber, OpenSSL dates,
    subjectAltName, OCSP/caIssuers URIs, crlDistributionPoints)."""
    result: PeerCertificate = {
        "subject": _name_tuple(cert.subject),
        "issuer": _name_tuple(cert.issuer),
        "version": cert.version.value + 1,
        "serialNumber": _serial_hex(cert.serial_number),
        "notBefore": _asn1_time(cert.not_valid_before_utc),
        "notAfter": _asn1_time(cert.not_valid_after_utc),
    }
    with contextlib.suppress(x509.ExtensionNotFound):
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = tuple(n for n in map(_general_name, san) if n is not None)
        if names:
            result["subjectAltName"] = names
    with contextlib.suppress(x509.ExtensionNotFound):
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        for method, key in (
            (AuthorityInformationAccessOID.OCSP, "OCSP"),
            (AuthorityInformationAccessOID.CA_ISSUERS, "caIssuers"),
        ):
            uris = tuple(
                d.access_location.value
                for d in aia
                if d.access_method == method
                and isinstance(d.access_location, x509.UniformResourceIdentifier)
            )
            if uris:
                result[key] = uris
    with contextlib.suppress(x509.ExtensionNotFound):
        cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        points = tuple(
            n.value
            for point in cdp
            for n in point.full_name or ()
            if isinstance(n, x509.UniformResourceIdentifier)
        )
        if points:
            result["crlDistributionPoints"] = points
    return result


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


class TLSSocket(ConnectionInfo):
    """A TLS connection over a connected, blocking :class:`socket.socket`.

    Offers what :class:`ssl.SSLSocket` users expect (``sendall``/``send``/``recv``/
    ``recv_into``/``makefile``/``shutdown``/``unwrap``/``getpeercert``/...), plus the
    tlsmachine extras (``handshake_info``, ``key_update``, ``recv_once``, ``clean_close``).
    Non-blocking mode is not supported: use :meth:`tlsmachine.context.Context.wrap_bio` (or
    the asyncio adapter) for that. Not thread-safe: use one thread per TLSSocket.
    """

    def __init__(
        self,
        sock: socket.socket,
        connection: Connection,
        *,
        on_event: EventHook | None = None,
        suppress_ragged_eofs: bool = True,
        do_handshake_on_connect: bool = True,
        context: Context | None = None,
    ) -> None:
        self.socket = sock
        self.connection = connection
        self.on_event = on_event
        """Called with every event, in order (e.g. to print handshake traces)."""
        self.suppress_ragged_eofs = suppress_ragged_eofs
        """True: a transport EOF without close_notify reads as ``b""`` (see ``clean_close``);
        False: it raises :class:`RaggedEOFError`."""
        self.do_handshake_on_connect = do_handshake_on_connect
        self.context = context
        """The :class:`tlsmachine.context.Context` that made this socket, if any."""
        self.clean_close: bool | None = None
        """None while open; True after the peer's close_notify; False after a bare EOF."""
        self.session: ClientSession | None = None
        """The newest session (ticket) the server sent: resume with ``wrap_socket(session=)``."""
        self._pending = bytearray()
        self._closed = False
        self._io_refs = 0
        self._close_timeout: float | None = None
        self._peer_chain = None
        self.early_data_received = 0
        """Server: bytes of 0-RTT data received; they start the stream :meth:`recv` reads."""
        self.rejected_early_data = b""
        """Client: the 0-RTT data the server did not accept (resend it if it still applies)."""

    # -- information -------------------------------------------------------------------------

    @property
    def peer_closed(self) -> bool:
        """True once the peer can send no more (close_notify or transport EOF)."""
        return self.clean_close is not None

    def pending(self) -> int:
        """Decrypted bytes ready for :meth:`recv` without touching the socket."""
        return len(self._pending)

    # -- the underlying socket ---------------------------------------------------------------

    def fileno(self) -> int:
        return self.socket.fileno()

    def getpeername(self) -> tuple[str, int] | tuple[str, int, int, int] | str:
        return self.socket.getpeername()  # type: ignore[no-any-return]

    def getsockname(self) -> tuple[str, int] | tuple[str, int, int, int] | str:
        return self.socket.getsockname()  # type: ignore[no-any-return]

    @property
    def family(self) -> int:
        return self.socket.family

    @property
    def type(self) -> int:
        return self.socket.type

    @property
    def closed(self) -> bool:
        return self._closed

    def gettimeout(self) -> float | None:
        return self.socket.gettimeout()

    def settimeout(self, value: float | None) -> None:
        """Bound every later blocking operation; ``0`` (non-blocking) is refused: use
        ``wrap_bio`` for non-blocking I/O."""
        if value is not None and value <= 0:
            raise UsageError("TLSSocket is blocking; use Context.wrap_bio for non-blocking I/O")
        self.socket.settimeout(value)

    def setblocking(self, flag: bool) -> None:
        self.settimeout(None if flag else 0.0)

    def getblocking(self) -> bool:
        return True

    def setsockopt(self, level: int, option: int, value: int | bytes) -> None:
        self.socket.setsockopt(level, option, value)

    def getsockopt(self, level: int, option: int) -> int:
        return self.socket.getsockopt(level, option)

    def connect(self, address: tuple[str, int] | str) -> None:
        """Connect the wrapped socket, then run the handshake (``do_handshake_on_connect``)."""
        self.socket.connect(address)
        if self.do_handshake_on_connect:
            self.do_handshake()

    def accept(self) -> tuple[TLSSocket, object]:
        """Server: accept on a listening socket wrapped by a Context; the new connection is
        wrapped (and, with ``do_handshake_on_connect``, handshaken) the same way."""
        if self.context is None:
            raise UsageError("accept() needs a TLSSocket made by Context.wrap_socket")
        sock, address = self.socket.accept()
        try:
            tls = self.context.wrap_socket(
                sock,
                server_side=True,
                do_handshake_on_connect=self.do_handshake_on_connect,
                suppress_ragged_eofs=self.suppress_ragged_eofs,
            )
        except BaseException:
            sock.close()
            raise
        return tls, address

    # -- I/O ---------------------------------------------------------------------------------

    def do_handshake(self) -> HandshakeComplete:
        """Run the handshake to completion (a no-op once done), within one timeout."""
        info = self.connection.handshake_info
        if info is not None:
            return info
        deadline = self._deadline()
        self._flush()
        while (info := self.connection.handshake_info) is None:
            self._read(deadline)  # raises at EOF during the handshake
        return info

    def sendall(self, data: ReadableBuffer) -> None:
        """Encrypt and send all of ``data``."""
        self.do_handshake()
        with memoryview(data) as view, view.cast("B") as octets:
            for start in range(0, len(octets), _SEND_SIZE):
                self._guard(self.connection.send, bytes(octets[start : start + _SEND_SIZE]))
                self._flush()

    def send(self, data: ReadableBuffer) -> int:
        """Encrypt and send up to 64 KiB of ``data``; returns how many bytes were consumed."""
        self.do_handshake()
        with memoryview(data) as view, view.cast("B") as octets:
            chunk = bytes(octets[:_SEND_SIZE])
        if chunk:
            self._guard(self.connection.send, chunk)
            self._flush()
        return len(chunk)

    def write(self, data: ReadableBuffer) -> int:
        """Like :meth:`ssl.SSLSocket.write`: :meth:`sendall`, returning the length."""
        with memoryview(data) as view:
            size = view.nbytes
        self.sendall(data)
        return size

    def recv(self, bufsize: int = _READ_SIZE, flags: int = 0) -> bytes:
        """Up to ``bufsize`` bytes of application data; ``b""`` once the peer closed."""
        if flags:
            raise ValueError("non-zero flags are not allowed in recv() on a TLSSocket")
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        self.do_handshake()
        if not self._pending and not self.peer_closed:
            deadline = self._deadline()
            while not self._pending and not self.peer_closed:
                self._read(deadline)
        if not self._pending and self.clean_close is False and not self.suppress_ragged_eofs:
            raise RaggedEOFError("EOF without close_notify: the data may be truncated")
        return self._take(bufsize)

    def read(self, size: int = 1024, buffer: WriteableBuffer | None = None) -> bytes | int:
        """Like :meth:`ssl.SSLSocket.read`: into ``buffer`` (returns a count) or as bytes."""
        if buffer is None:
            return self.recv(size)
        return self.recv_into(buffer, size)

    def recv_into(self, buffer: WriteableBuffer, nbytes: int | None = 0, flags: int = 0) -> int:
        """Read into ``buffer`` (up to ``nbytes``, default its size); returns the count."""
        with memoryview(buffer) as view, view.cast("B") as target:
            size = nbytes or target.nbytes
            if size > target.nbytes:
                raise ValueError("nbytes is greater than the length of the buffer")
            data = self.recv(size, flags)
            target[: len(data)] = data
        return len(data)

    def recv_once(self, bufsize: int = _READ_SIZE) -> bytes | None:
        """Read the socket once (it should be readable, e.g. per ``select``).

        Returns the application data available now (possibly ``b""`` when the read completed
        only a partial record or a post-handshake message), or None once the peer closed and
        everything was delivered.
        """
        if self.connection.handshake_info is None:
            self.do_handshake()
        elif not self._pending and not self.peer_closed:
            self._read(self._deadline())
        if not self._pending and self.peer_closed:
            return None
        return self._take(bufsize)

    def makefile(
        self,
        mode: str = "r",
        buffering: int | None = None,
        *,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> io.IOBase:
        """A file object over the connection, as :meth:`socket.socket.makefile` (``"rb"``,
        ``"wb"``, ``"rwb"``, text modes). The socket really closes only when it and every file
        made from it are closed."""
        if not set(mode) <= {"r", "w", "b"}:
            raise ValueError(f"invalid mode {mode!r} (only r, w, b allowed)")
        writing = "w" in mode
        reading = "r" in mode or not writing
        raw = TLSSocketIO(self, ("r" if reading else "") + ("w" if writing else ""))
        self._io_refs += 1
        if buffering is None or buffering < 0:
            buffering = io.DEFAULT_BUFFER_SIZE
        if buffering == 0:
            if "b" not in mode:
                raise ValueError("unbuffered streams must be binary")
            return raw
        buffer: io.BufferedIOBase
        if reading and writing:
            buffer = io.BufferedRWPair(raw, raw, buffering)
        elif reading:
            buffer = io.BufferedReader(raw, buffering)
        else:
            buffer = io.BufferedWriter(raw, buffering)
        if "b" in mode:
            return buffer
        return io.TextIOWrapper(
            cast("BinaryIO", buffer), io.text_encoding(encoding), errors, newline
        )

    def key_update(self, *, request_peer: bool = False) -> None:
        """Send a KeyUpdate (RFC 8446 §4.6.3)."""
        self._guard(self.connection.key_update, request_peer=request_peer)
        self._flush()

    def verify_client_post_handshake(self) -> None:
        """Server: ask for a client certificate now (RFC 8446 §4.6.2); it arrives with a later
        read, after which :meth:`getpeercert` returns it."""
        self._guard(self.connection.request_client_certificate)
        self._flush()

    def shutdown_write(self) -> None:
        """Send close_notify without waiting (a half-close, RFC 8446 §6.1): we send no more,
        but :meth:`recv` still returns what the peer sends until its own close_notify."""
        if self.connection.state in (ConnectionState.APP_DATA, ConnectionState.PEER_CLOSED):
            self.connection.close()
            self._flush()

    def shutdown(self, how: int) -> None:
        """``SHUT_WR``/``SHUT_RDWR``: send close_notify (RFC 8446 §6.1), then shut down the TCP
        direction(s); ``SHUT_RD``: TCP only. Unlike ssl (which drops TLS and sends nothing)
        the peer learns that our data ended cleanly."""
        if how in (socket.SHUT_WR, socket.SHUT_RDWR):
            self.shutdown_write()
        self.socket.shutdown(how)

    def unwrap(self, timeout: float | None = None) -> socket.socket:
        """Send close_notify, wait for the peer's (bounded), return the plain socket."""
        self._shutdown_tls(timeout)
        self._closed = True
        return self.socket

    def close(self, timeout: float | None = None) -> None:
        """Send close_notify, wait (bounded by ``timeout``, else the socket's timeout, else
        5 s) for the peer's, then close the socket; deferred while files from
        :meth:`makefile` are open (as for :class:`socket.socket`)."""
        if self._closed:
            return
        self._closed = True
        self._close_timeout = timeout
        if self._io_refs <= 0:
            self._real_close()

    def __enter__(self) -> TLSSocket:
        return self

    def __exit__(
        self,
        exc_type: builtins.type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        role = "server" if self.server_side else "client"
        return f"<TLSSocket {role} {self.connection.state.name} fd={self.socket.fileno()}>"

    # -- internals ---------------------------------------------------------------------------

    def _decref_socketios(self) -> None:
        """A file from :meth:`makefile` was closed (socket.socket's protocol, same name)."""
        self._io_refs -= 1
        if self._closed and self._io_refs <= 0:
            self._real_close()

    def _real_close(self) -> None:
        try:
            self._shutdown_tls(self._close_timeout)
        finally:
            with contextlib.suppress(OSError):
                self.socket.shutdown(socket.SHUT_RDWR)
            self.socket.close()

    def _shutdown_tls(self, timeout: float | None) -> None:
        conn = self.connection
        if conn.state is ConnectionState.IDLE:
            return  # nothing was ever exchanged (e.g. a wrapped listening socket)
        if conn.state in (ConnectionState.FAILED, ConnectionState.SHUTDOWN):
            with contextlib.suppress(OSError):
                self._flush()
            return
        handshaking = conn.handshake_info is None
        conn.close()
        if handshaking:  # nothing to wait for: the peer's answer would be handshake data
            with contextlib.suppress(OSError):
                self._flush()
            return
        saved = self.socket.gettimeout()
        if timeout is None:
            timeout = saved or _CLOSE_WAIT
        deadline = time.monotonic() + timeout
        try:
            with contextlib.suppress(OSError, TLSError):
                self._flush()
                while not self.peer_closed:
                    self._read(deadline)  # application data still arriving is dropped (§6.1)
        finally:
            with contextlib.suppress(OSError):
                self.socket.settimeout(saved)
        self._pending.clear()

    def _take(self, bufsize: int) -> bytes:
        data = bytes(self._pending[:bufsize])
        del self._pending[:bufsize]
        return data

    def _flush(self) -> None:
        data = self.connection.data_to_send()
        if data:
            self.socket.sendall(data)

    def _guard(self, fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a core call; on a protocol error, send the queued fatal alert, then re-raise."""
        try:
            return fn(*args, **kwargs)
        except ProtocolError:
            with contextlib.suppress(OSError):
                self._flush()
            raise

    def _deadline(self) -> float | None:
        timeout = self.socket.gettimeout()
        return None if not timeout else time.monotonic() + timeout

    def _recv_raw(self, deadline: float | None) -> bytes:
        """One socket read that ends by ``deadline`` (None: the socket's own behaviour)."""
        if deadline is None:
            return self.socket.recv(_READ_SIZE)
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        saved = self.socket.gettimeout()
        self.socket.settimeout(left)
        try:
            return self.socket.recv(_READ_SIZE)
        finally:
            self.socket.settimeout(saved)

    def _read(self, deadline: float | None = None) -> None:
        """One socket read fed to the core, its events dispatched, our answers flushed."""
        data = self._recv_raw(deadline)
        if not data:
            if self.connection.handshake_info is None:
                raise TLSError("connection closed by peer during handshake")
            if self.clean_close is None:
                self.clean_close = False
            return
        events = self._guard(self.connection.receive_data, data)
        for event in events:
            if isinstance(event, ApplicationData):
                self._pending += event.data
            elif isinstance(event, EarlyDataReceived):
                self._pending += event.data  # 0-RTT data precedes the 1-RTT stream
                self.early_data_received += len(event.data)
            elif isinstance(event, EarlyDataRejected):
                self.rejected_early_data = event.data
            elif isinstance(event, ConnectionClosed):
                self.clean_close = True
            elif isinstance(event, SessionTicketReceived):
                self.session = event.session
            elif isinstance(event, ClientCertificateReceived):
                self._peer_chain = event.certificates
            if self.on_event is not None:
                self.on_event(event)
        if self.clean_close:
            # our answering close_notify is best effort: the peer may have gone already
            with contextlib.suppress(OSError):
                self._flush()
        else:
            self._flush()


class TLSSocketIO(io.RawIOBase):
    """Raw I/O over a :class:`TLSSocket` (what :class:`socket.SocketIO` is for a socket), so
    :class:`io.BufferedReader` / :class:`io.TextIOWrapper` work on TLS (``readline`` for HTTP).
    """

    def __init__(self, tls: TLSSocket, mode: str) -> None:
        if mode not in ("r", "w", "rw"):
            raise ValueError(f"invalid mode: {mode!r}")
        super().__init__()
        self._tls: TLSSocket | None = tls
        self._mode = mode + "b"
        self._timeout_occurred = False

    def _socket(self) -> TLSSocket:
        if self._tls is None:
            raise ValueError("I/O operation on closed file")
        return self._tls

    def readinto(self, buffer: WriteableBuffer) -> int:
        tls = self._socket()
        if "r" not in self._mode:
            raise io.UnsupportedOperation("not readable")
        if self._timeout_occurred:  # a record may be half read: the stream is unusable
            raise OSError("cannot read from timed out object")
        try:
            return tls.recv_into(buffer)
        except TimeoutError:
            self._timeout_occurred = True
            raise

    def write(self, data: ReadableBuffer) -> int:
        tls = self._socket()
        if "w" not in self._mode:
            raise io.UnsupportedOperation("not writable")
        return tls.send(data)

    def readable(self) -> bool:
        self._socket()
        return "r" in self._mode

    def writable(self) -> bool:
        self._socket()
        return "w" in self._mode

    def seekable(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._socket().fileno()

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def name(self) -> int:
        return -1 if self.closed else self.fileno()

    def close(self) -> None:
        if self.closed:
            return
        super().close()
        if self._tls is not None:
            tls, self._tls = self._tls, None
            tls._decref_socketios()


# -- client ---------------------------------------------------------------------------------------


def connect(
    host: str,
    port: int,
    *,
    server_hostname: str | None = None,
    cafile: str | None = None,
    config: ClientConfig | None = None,
    timeout: float | None = None,
    on_event: EventHook | None = None,
    early_data: bytes = b"",
) -> TLSSocket:
    """Open a TCP connection and complete a TLS handshake, like ``ssl.create_connection`` plus
    ``wrap_socket``.

    ``server_hostname`` (default: ``host``) goes in SNI and is what the certificate must name.
    Trust comes from ``config`` (default: :class:`ClientConfig` with verification on) or, for
    the common case, ``cafile`` alone; giving both is a :class:`ConfigurationError`, because
    one would silently override the other. ``timeout`` bounds the connect, the whole handshake
    and each later blocking operation, as for :func:`socket.create_connection` (None: block).

    ``early_data`` goes out as 0-RTT data when a stored ticket allows it (RFC 8446 §2.3; see
    ``ClientConfig.early_data``). Check ``handshake_info.early_data_accepted``; data that was
    rejected, or not sent for want of such a ticket, is in ``rejected_early_data``.
    """
    if config is None:
        config = ClientConfig(cafile=cafile)
    elif cafile is not None:
        raise ConfigurationError(
            "connect(): cafile and config were both given; put the CA file in the config "
            "(ClientConfig(cafile=...)) or pass cafile alone"
        )
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        conn = ClientConnection(config, server_name=server_hostname or host)
        sent_early = bool(early_data) and conn.early_data_room >= len(early_data)
        if sent_early:
            conn.send_early_data(early_data)
        tls = TLSSocket(sock, conn, on_event=on_event)
        if not sent_early:
            tls.rejected_early_data = early_data  # no ticket allowing 0-RTT: never sent
        tls.do_handshake()
    except BaseException:
        sock.close()
        raise
    return tls


# -- server ---------------------------------------------------------------------------------------

Handler = Callable[[TLSSocket], None]
ErrorHook = Callable[[tuple[str, int], BaseException], None]

_ACCEPT_RETRY = 0.05
"""Pause after a failed accept() (e.g. EMFILE: out of file descriptors) before trying again."""
_TRANSIENT_ACCEPT_ERRORS = {
    errno.ECONNABORTED,
    errno.EMFILE,
    errno.ENFILE,
    errno.ENOBUFS,
    errno.ENOMEM,
    errno.EPROTO,
    errno.EPERM,
}


class TLSServer:
    """A TCP listener that runs ``handler(tls_socket)`` per connection, each in its own thread.

    One client cannot stop it: an error in a connection (garbage, a peer that hangs up
    mid-handshake) ends only that connection (the core's fatal alert is flushed, ``on_error``
    is told, the socket is closed); a silent client is dropped when ``handshake_timeout``
    expires, freeing its slot; beyond ``max_connections`` running at once, new connections
    are closed at once (``on_error`` gets a :class:`ConnectionRefusedError`) instead of
    queueing without bound; failures of accept() itself (out of file descriptors) are waited
    out. ``timeout`` bounds each blocking operation after the handshake.
    """

    def __init__(
        self,
        config: ServerConfig,
        handler: Handler,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        timeout: float | None = 30.0,
        handshake_timeout: float | None = 10.0,
        max_connections: int = 64,
        on_error: ErrorHook | None = None,
        on_event: EventHook | None = None,
    ) -> None:
        if max_connections < 1:
            raise ConfigurationError("max_connections must be at least 1")
        self.config = config
        self.handler = handler
        self.timeout = timeout
        self.handshake_timeout = handshake_timeout if handshake_timeout is not None else timeout
        self.max_connections = max_connections
        self.on_error = on_error
        self.on_event = on_event
        self._slots = threading.BoundedSemaphore(max_connections)
        self._stopping = threading.Event()
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.create_server((host, port), family=family, backlog=128)
        self.listener.settimeout(0.2)  # lets serve_forever notice shutdown()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.listener.getsockname()[:2]
        return str(host), int(port)

    def serve_forever(self) -> None:
        """Accept connections until :meth:`shutdown` (or KeyboardInterrupt)."""
        try:
            while not self._stopping.is_set():
                try:
                    sock, peer = self.listener.accept()
                except TimeoutError:
                    continue
                except OSError as exc:
                    if self._stopping.is_set() or self.listener.fileno() < 0:
                        break
                    if exc.errno not in _TRANSIENT_ACCEPT_ERRORS:
                        raise
                    time.sleep(_ACCEPT_RETRY)  # e.g. out of descriptors: let handlers finish
                    continue
                self._start(sock, peer)
        finally:
            self.listener.close()

    def _start(self, sock: socket.socket, peer: tuple[str, int]) -> None:
        if not self._slots.acquire(blocking=False):
            sock.close()  # at capacity: refuse rather than queue without bound
            self._report(peer, ConnectionRefusedError(f"at max_connections={self.max_connections}"))
            return
        thread = threading.Thread(target=self._run, args=(sock, peer), daemon=True)
        with self._lock:
            self._threads.add(thread)
        try:
            thread.start()
        except RuntimeError as exc:  # no more threads: this connection only
            with self._lock:
                self._threads.discard(thread)
            self._slots.release()
            sock.close()
            self._report(peer, exc)

    def handle_one(self, sock: socket.socket, peer: tuple[str, int]) -> None:
        """Serve one accepted connection in the calling thread; never raises (but ^C)."""
        tls: TLSSocket | None = None
        try:
            sock.settimeout(self.handshake_timeout)
            tls = TLSSocket(sock, ServerConnection(self.config), on_event=self.on_event)
            tls.do_handshake()
            sock.settimeout(self.timeout)
            self.handler(tls)
        except Exception as exc:
            self._report(peer, exc)
        finally:
            if tls is None:
                sock.close()
            else:
                with contextlib.suppress(Exception):
                    tls.close(timeout=1.0)

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop accepting and wait (bounded) for running connections."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    @property
    def active_connections(self) -> int:
        """Connections being served now."""
        with self._lock:
            return len(self._threads)

    def _report(self, peer: tuple[str, int], exc: BaseException) -> None:
        if self.on_error is not None:
            with contextlib.suppress(Exception):  # a failing hook must not stop the server
                self.on_error(peer, exc)

    def _run(self, sock: socket.socket, peer: tuple[str, int]) -> None:
        try:
            self.handle_one(sock, peer)
        finally:
            self._slots.release()
            with self._lock:
                self._threads.discard(threading.current_thread())


def serve(
    config: ServerConfig,
    handler: Handler,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    timeout: float | None = 30.0,
    handshake_timeout: float | None = 10.0,
    max_connections: int = 64,
    on_error: ErrorHook | None = None,
    on_event: EventHook | None = None,
) -> TLSServer:
    """Start a :class:`TLSServer` in a daemon thread and return it (``shutdown()`` to stop)."""
    server = TLSServer(
        config,
        handler,
        host,
        port,
        timeout=timeout,
        handshake_timeout=handshake_timeout,
        max_connections=max_connections,
        on_error=on_error,
        on_event=on_event,
    )
    threading.Thread(target=server.serve_forever, name="tlsmachine-accept", daemon=True).start()
    return server
