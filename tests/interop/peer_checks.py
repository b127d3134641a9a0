"""Checks shared by the interop tests with peer programs that echo and print one JSON record per
connection: Java (``test_java.py`` for JSSE, ``test_bouncycastle.py`` for Bouncy Castle's
BCJSSE, both with ``java_peer.py``) and Erlang/OTP (``test_erlang.py``).

* :func:`ok` and :func:`payload`: a peer's record checked for errors, and what a peer client
  sends with ``--size N``;
* :func:`echo`, :func:`echo_chunks`, :func:`info_of`, :func:`try_dial`, :func:`dial_each`:
  our client's side of a connection; :func:`dial_tls13_cases` and :func:`dial_tls12_cases`: of
  a matrix of them (:data:`LEAVES13`: the certificates of a TLS 1.3 matrix);
* :func:`ours_with`, :func:`served`, :func:`infos`, :class:`KeyUpdatingServer`: our servers
  and what they saw;
* :func:`sha256`, :func:`cert_sha256`: digests as the peers print them.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding
from peers import (
    TIMEOUT,
    OurServer,
    Peers,
    ServedConnection,
    client_config,
    dial,
    read_exactly,
    server_certificates,
)

from tlsmachine import ClientConfig, Event, HandshakeComplete, ServerConfig
from tlsmachine.sockets import TLSServer, TLSSocket

LEAVES13 = {
    # leaf -> the TLS 1.3 CertificateVerify scheme (RFC 8446 §4.2.3: RSA only with PSS; ECDSA
    # curve and hash go together)
    "ecdsa-p256": "ecdsa_secp256r1_sha256",
    "ecdsa-p384": "ecdsa_secp384r1_sha384",
    "rsa-2048": "rsa_pss_rsae_sha256",
    "ed25519": "ed25519",
}


def ok(record: dict[str, Any]) -> dict[str, Any]:
    """``record``, after checking that the peer saw no error on that connection."""
    assert "error" not in record, record
    return record


def payload(size: int) -> bytes:
    """What a peer client sends with ``--size N``: bytes ``i % 251``."""
    return bytes(i % 251 for i in range(size))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cert_sha256(peers: Peers, leaf: str) -> str:
    """The SHA-256 of a test-PKI leaf's DER certificate (a record's ``*_cert_sha256``)."""
    return sha256(peers.pki.leaves[leaf].cert.public_bytes(Encoding.DER))


def echo(tls: TLSSocket, message: bytes) -> None:
    tls.sendall(message)
    assert read_exactly(tls, len(message)) == message


def echo_chunks(tls: TLSSocket, data: bytes, size: int, *, update_every: int = 0) -> None:
    """Echo ``data`` in chunks of ``size`` bytes, each read back before the next; with
    ``update_every`` N, after chunks 0, N, 2N, ... echoed, update our keys asking the peer to
    update too (RFC 8446 §4.6.3)."""
    for i, at in enumerate(range(0, len(data), size)):
        chunk = data[at : at + size]
        tls.sendall(chunk)
        assert read_exactly(tls, len(chunk)) == chunk
        if update_every and i % update_every == 0:
            tls.key_update(request_peer=True)


def info_of(tls: TLSSocket) -> HandshakeComplete:
    assert tls.handshake_info is not None
    return tls.handshake_info


def ours_with(peers: Peers, leaf: str = "ecdsa-p256", **kwargs: Any) -> OurServer:
    """Our echo server with the certificate of ``leaf`` and other ServerConfig settings."""
    config = ServerConfig(certificates=server_certificates(peers, leaf), **kwargs)
    return peers.our_server(config)


def served(ours: OurServer, count: int = 1, *, clean_close: bool = False) -> list[ServedConnection]:
    """Our server's next ``count`` connections, each checked for errors (and, with
    ``clean_close``, for the peer's close_notify)."""
    found = [ours.next_connection() for _ in range(count)]
    for connection in found:
        assert connection.error is None, repr(connection.error)
        assert connection.info is not None
        if clean_close:
            assert connection.clean_close, connection
    return found


def infos(connections: list[ServedConnection]) -> list[HandshakeComplete]:
    return [c.info for c in connections if c.info is not None]


def try_dial(
    port: int, config: ClientConfig, message: bytes, *, closed_by: str | None = None
) -> HandshakeComplete | str:
    """One connection of a matrix, echoing ``message``: its handshake info, or the error as text
    (so one failing case does not hide the others, and the peer server moves on to its next
    connection). With ``closed_by`` (the peer's name), the peer's close_notify after ours is
    checked too."""
    try:
        with dial(port, config) as tls:
            echo(tls, message)
            info = info_of(tls)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    if closed_by is not None and not tls.clean_close:
        return f"no close_notify from {closed_by}"
    return info


def dial_each(
    port: int, config: ClientConfig, messages: Iterable[bytes]
) -> list[HandshakeComplete]:
    """One connection of our client per message, one after the other (a session store in
    ``config`` resumes), each echoing its message: their handshake infos."""
    seen = []
    for message in messages:
        with dial(port, config) as tls:
            echo(tls, message)
            seen.append(info_of(tls))
    return seen


def dial_tls13_cases(
    peers: Peers, port: int, cases: Iterable[tuple[str, str]], *, closed_by: str | None = None
) -> list[tuple[str | None, ...]]:
    """Our client once per (suite, group), offering that suite and group only (a key share for
    it) and echoing "suite group" (:func:`try_dial`): per case (suite, group, version, scheme)
    as negotiated, or (suite, group, the error)."""
    seen: list[tuple[str | None, ...]] = []
    for suite, group in cases:
        config = client_config(
            peers, cipher_suites=(suite,), groups=(group,), key_share_groups=(group,)
        )
        info = try_dial(port, config, f"{suite} {group}".encode(), closed_by=closed_by)
        if isinstance(info, str):
            seen.append((suite, group, info))  # the error, in place of version and scheme
        else:
            seen.append((info.cipher_suite, info.group, info.version, info.signature_scheme))
    return seen


def dial_tls12_cases(
    peers: Peers,
    ports: Mapping[str, int],
    cases: Iterable[tuple[str, str, str]],
    leaf_curves: Mapping[str, Sequence[str]],
    *,
    closed_by: str | None = None,
) -> list[tuple[str | None, ...]]:
    """Our client, TLS 1.2 only, once per (leaf, suite, group) to the server of that leaf
    (``ports``), offering that suite and the group, then the leaf's curves (``leaf_curves``:
    RFC 8422 §5.1), and echoing the suite: per case (suite, group, version) as negotiated, or
    (suite, group, the error)."""
    seen: list[tuple[str | None, ...]] = []
    for leaf, suite, group in cases:
        groups = tuple(dict.fromkeys([group, *leaf_curves.get(leaf, [])]))
        config = client_config(
            peers, max_version="TLSv1.2", tls12_cipher_suites=(suite,), groups=groups
        )
        info = try_dial(ports[leaf], config, suite.encode(), closed_by=closed_by)
        if isinstance(info, str):
            seen.append((suite, group, info))
        else:
            seen.append((info.cipher_suite, info.group, info.version))
    return seen


class KeyUpdatingServer:
    """Our TLSServer echoing, and updating its keys (asking the peer to update too) after
    every ``every`` bytes; it records its events, what it received, whether the peer closed
    with close_notify, and its errors."""

    def __init__(self, config: ServerConfig, every: int) -> None:
        self.every = every
        self.events: list[Event] = []
        self.received = bytearray()
        self.errors: list[BaseException] = []
        self.clean_close: bool | None = None
        self.done = threading.Event()
        self.server = TLSServer(
            config,
            self._handle,
            timeout=TIMEOUT,
            on_event=self.events.append,
            on_error=lambda _peer, exc: self.errors.append(exc),
        )
        self.port = self.server.address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handle(self, tls: TLSSocket) -> None:
        try:
            since = 0
            while data := tls.recv():
                self.received += data
                tls.sendall(data)
                since += len(data)
                if since >= self.every:
                    tls.key_update(request_peer=True)
                    since = 0
            self.clean_close = tls.clean_close
        except Exception as exc:
            self.errors.append(exc)
        finally:
            self.done.set()

    def stop(self) -> None:
        self.server.shutdown()
