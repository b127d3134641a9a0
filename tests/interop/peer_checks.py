"""Checks shared by the interop tests with peer programs that echo and print one JSON record per
connection: Java (``test_java.py`` for JSSE, ``test_bouncycastle.py`` for Bouncy Castle's
BCJSSE, both with ``java_peer.py``), Erlang/OTP (``test_erlang.py``) and Haskell's ``tls``
(``test_haskell.py``); some also by the tests with Go (``test_go.py``), wolfSSL
(``test_wolfssl.py``) and tlslite-ng (``test_tlslite.py``).

* :func:`ok` and :func:`payload`: a peer's record checked for errors, and what a peer client
  sends with ``--size N``;
* :func:`echo`, :func:`echo_chunks`, :func:`info_of`, :func:`try_dial`, :func:`dial_each`:
  our client's side of a connection; :func:`dial_tls13_cases` and :func:`dial_tls12_cases`: of
  a matrix of them (:data:`LEAVES13`: the certificates of a TLS 1.3 matrix);
* :func:`ours_with`, :func:`served`, :func:`infos`, :class:`KeyUpdatingServer`: our servers
  and what they saw;
* :func:`sha256`, :func:`cert_sha256`: digests as the peers print them;
* :func:`check_scheme`, :func:`check_handshake`, :func:`dial_echoing`, :func:`check_transfer`,
  :func:`key_updates`: checks of handshakes, transfers and KeyUpdates;
* :func:`refused`, :func:`failed_with`, :func:`served_cleanly`: connections ended with an
  alert, and our server's connections closed with close_notify;
* ``check_client_*``, ``check_*_refusals`` and the servers they check: tests that the
  Erlang/OTP and Haskell ``tls`` peers (both :class:`peers.JsonPeerServer`) share, apart from
  the peer.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from matrix import TLS13_SCHEMES
from peers import (
    TIMEOUT,
    JsonPeerServer,
    OurServer,
    Peers,
    ServedConnection,
    client_config,
    dial,
    read_exactly,
    server_certificates,
)

from tlsmachine import (
    AlertReceived,
    ClientConfig,
    Event,
    HandshakeComplete,
    KeyUpdated,
    ServerConfig,
)
from tlsmachine.enums import AlertDescription
from tlsmachine.errors import (
    CertificateRequired,
    HandshakeFailure,
    ProtocolVersionError,
    UnknownCA,
)
from tlsmachine.sockets import TLSServer, TLSSocket, connect

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


def check_scheme(leaf: str, scheme: str | None, version: str = "TLSv1.3") -> None:
    """The server's signature scheme fits its certificate."""
    assert scheme is not None
    if leaf == "rsa-2048":
        prefix = "rsa_pss_rsae_" if version == "TLSv1.3" else "rsa_"  # no PKCS#1 in 1.3
        assert scheme.startswith(prefix), scheme
    elif version == "TLSv1.3" or leaf == "ed25519":
        assert scheme == TLS13_SCHEMES[leaf], scheme
    else:
        assert scheme.startswith("ecdsa_"), scheme  # TLS 1.2: the hash is not bound to the curve


def check_handshake(
    peers: Peers, tls: TLSSocket, leaf: str, version: str, suite: str, group: str
) -> HandshakeComplete:
    """Our client's handshake info, after checking the version, suite, group, the server's
    signature scheme (:func:`check_scheme`) and its certificate (``leaf``)."""
    info = tls.handshake_info
    assert info is not None
    assert (info.version, info.cipher_suite, info.group) == (version, suite, group)
    check_scheme(leaf, info.signature_scheme, version)
    assert info.peer_certificates[0] == peers.pki.leaves[leaf].cert
    return info


def dial_echoing(
    port: int, config: ClientConfig, message: bytes, count: int
) -> list[HandshakeComplete | None]:
    """``count`` connections of our client one after the other (a session store in ``config``
    resumes), each echoing ``message``: their handshake infos."""
    infos = []
    for _ in range(count):
        with dial(port, config) as tls:
            tls.sendall(message)
            assert read_exactly(tls, len(message)) == message
            infos.append(tls.handshake_info)
    return infos


def check_transfer(record: dict[str, Any], data: bytes) -> None:
    """A peer's record of a large transfer: it received ``data`` (length and SHA-256) and the
    connection closed cleanly."""
    assert record["received_len"] == len(data)
    assert record["received_sha256"] == hashlib.sha256(data).hexdigest()
    assert record["clean_close"] is True


def key_updates(events: Iterable[Event]) -> list[str]:
    """The directions of the KeyUpdates among ``events``."""
    return [e.direction for e in events if isinstance(e, KeyUpdated)]


def refused(port: int, config: ClientConfig, message: bytes = b"refused") -> AlertReceived:
    """Our client's connection that the peer must end with a fatal alert (during the
    handshake, or right after it in TLS 1.3, for a client certificate)."""
    with pytest.raises(AlertReceived) as caught, dial(port, config) as tls:
        echo(tls, message)
    return caught.value


def failed_with(record: dict[str, Any], alert: str, *, received_alert: bool) -> None:
    """A peer's record of a connection that ended with ``alert``, sent
    (``received_alert=False``) or received by the peer."""
    assert (record.get("alert"), record.get("alert_received")) == (alert, received_alert), record


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


def served_cleanly(ours: OurServer, count: int = 1) -> list[HandshakeComplete]:
    """Our server's next ``count`` connections, each checked for errors and a clean close
    (the peer's close_notify), as handshake infos."""
    return infos(served(ours, count, clean_close=True))


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


Received = Callable[[dict[str, Any]], bytes]
"""A peer's reading of the bytes a record says it received."""
StartServer = Callable[..., JsonPeerServer]
"""A peer's server factory: ``start(*options, leaf=..., connections=...)``."""


def check_client_alpn(peers: Peers, server: JsonPeerServer) -> None:
    """Our client with a peer server preferring h2 to http/1.1 (three connections): its choice
    (RFC 7301 §3.2), no ALPN, and no_application_protocol for a protocol it lacks."""
    with dial(server.port, client_config(peers, alpn_protocols=("http/1.1", "h2"))) as tls:
        assert info_of(tls).alpn_protocol == "h2"  # the server's preference (RFC 7301 §3.2)
        echo(tls, b"alpn")
    with dial(server.port, client_config(peers)) as tls:
        assert info_of(tls).alpn_protocol is None
        echo(tls, b"no alpn")
    alert = refused(server.port, client_config(peers, alpn_protocols=("h3",)))
    assert alert.description == AlertDescription.NO_APPLICATION_PROTOCOL
    first, second, third = server.results()
    assert (ok(first)["alpn"], ok(second)["alpn"]) == ("h2", None)
    failed_with(third, "no_application_protocol", received_alert=False)


def check_client_sni(peers: Peers, server: JsonPeerServer, received: Received) -> None:
    """Our client with a peer server (two connections): a host name goes in server_name (RFC
    6066 §3); an IP address does not."""
    with dial(server.port, client_config(peers)) as tls:
        echo(tls, b"named")
    with connect(
        "127.0.0.1", server.port, config=client_config(peers), server_hostname="127.0.0.1"
    ) as tls:
        echo(tls, b"by address")
    first, second = server.results()
    assert (ok(first)["sni"], received(first)) == ("localhost", b"named")
    assert (ok(second)["sni"], received(second)) == (None, b"by address")


def check_client_certificates(
    peers: Peers, start: StartServer, received: Received, *, closed_by: str
) -> None:
    """Our client's certificates (RSA, ECDSA P-384 and Ed25519 in TLS 1.3, RSA and ECDSA P-256
    in TLS 1.2) to peer servers requiring one, which report each certificate."""
    cases = [("1.3", leaf) for leaf in ("rsa-2048", "ecdsa-p384", "ed25519")]
    cases += [("1.2", leaf) for leaf in ("rsa-2048", "ecdsa-p256")]
    servers = {
        v: start(
            "--versions", v, "--client-auth", "required", connections=sum(c[0] == v for c in cases)
        )
        for v in ("1.3", "1.2")
    }
    seen = []
    for version, leaf in cases:
        config = client_config(peers, certificates=server_certificates(peers, leaf))
        info = try_dial(servers[version].port, config, leaf.encode(), closed_by=closed_by)
        seen.append(info if isinstance(info, str) else info.version)
    assert seen == [f"TLSv{v}" for v, _ in cases]
    for version, server in servers.items():
        assert [(ok(r)["peer_cert_sha256"], received(r)) for r in server.results()] == [
            (cert_sha256(peers, leaf), leaf.encode()) for v, leaf in cases if v == version
        ]


def check_client_anonymous(peers: Peers, optional: JsonPeerServer, received: Received) -> None:
    """Our client without a certificate, to a peer server asking for an optional one."""
    with dial(optional.port, client_config(peers)) as tls:
        echo(tls, b"anonymous")
    (record,) = optional.results()
    assert (ok(record)["peer_cert_sha256"], received(record)) == (None, b"anonymous")


def check_client_key_updates(peers: Peers, server: JsonPeerServer) -> None:
    """Our client updating its keys (asking the peer to update too) every 256 KiB, with a peer
    server updating its own (and asking us to) after each 64 KiB it echoes, while 1 MiB goes
    through."""
    size = 1 << 20
    events: list[Any] = []
    data = payload(size)
    with dial(server.port, client_config(peers), on_event=events.append) as tls:
        echo_chunks(tls, data, 65536, update_every=4)
    assert tls.clean_close
    (record,) = server.results()
    assert (ok(record)["received_length"], record["received_sha256"]) == (size, sha256(data))
    assert record["key_updates"] == 16
    # the peer's 16 updates, ours (4), and the answers to each side's requests; RFC 8446
    # §4.6.3 lets an answer cover several requests received while its sender was silent
    updates = key_updates(events)
    assert updates.count("receive") >= 16
    assert updates.count("send") >= 16


def client_auth_servers(peers: Peers) -> tuple[OurServer, OurServer, OurServer]:
    """Our servers requiring a client certificate in TLS 1.3 and in TLS 1.2, and asking for an
    optional one."""
    anchors = {"client_cafile": str(peers.pki.ca_path)}
    required13 = ours_with(peers, client_auth="required", **anchors)
    required12 = ours_with(peers, client_auth="required", max_version="TLSv1.2", **anchors)
    optional = ours_with(peers, client_auth="optional", **anchors)
    return required13, required12, optional


def check_client_auth_refusals(
    required13: OurServer, required12: OurServer, optional: OurServer
) -> None:
    """The :func:`client_auth_servers` and a peer client without a certificate:
    certificate_required (RFC 8446 §4.4.2.4), handshake_failure (RFC 5246 §7.4.6), and a
    connection without a client certificate."""
    assert isinstance(required13.next_connection().error, CertificateRequired)
    assert isinstance(required12.next_connection().error, HandshakeFailure)
    (info,) = served_cleanly(optional)
    assert info.peer_certificates == ()


def version_servers(peers: Peers) -> tuple[OurServer, OurServer, OurServer]:
    """Our servers: TLS 1.3-capable, TLS 1.2 at most, TLS 1.3 only."""
    ours13 = ours_with(peers)
    ours12 = ours_with(peers, max_version="TLSv1.2")
    only13 = ours_with(peers, min_version="TLSv1.3")
    return ours13, ours12, only13


def check_version_refusals(
    too_new: dict[str, Any],
    too_old: dict[str, Any],
    servers: tuple[OurServer, OurServer, OurServer],
) -> None:
    """The :func:`version_servers` after a peer client connected to the first two, then with
    TLS 1.3 only to the second (``too_new``) and TLS 1.2 only to the third (``too_old``):
    protocol_version (RFC 8446 §4.2.1)."""
    ours13, ours12, only13 = servers
    failed_with(too_new, "protocol_version", received_alert=True)
    failed_with(too_old, "protocol_version", received_alert=True)
    assert [i.version for i in served_cleanly(ours13)] == ["TLSv1.3"]
    assert [i.version for i in served_cleanly(ours12)] == ["TLSv1.2"]
    assert isinstance(ours12.next_connection().error, ProtocolVersionError)
    assert isinstance(only13.next_connection().error, ProtocolVersionError)


def no_common_peer_servers(start: StartServer) -> tuple[JsonPeerServer, JsonPeerServer]:
    """Peer servers with one suite and group: TLS 1.3 (ChaCha20, P-384; two connections) and
    TLS 1.2 (ECDHE-ECDSA with ChaCha20)."""
    server13 = start(
        "--versions",
        "1.3",
        "--suites",
        "TLS_CHACHA20_POLY1305_SHA256",
        "--groups",
        "secp384r1",
        connections=2,
    )
    server12 = start(
        "--versions", "1.2", "--suites", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
    )
    return server13, server12


def no_common_configs(peers: Peers) -> tuple[ClientConfig, ClientConfig, ClientConfig]:
    """Our clients with no suite, no group and no TLS 1.2 suite of the
    :func:`no_common_peer_servers`."""
    no_suite = client_config(peers, cipher_suites=("TLS_AES_128_GCM_SHA256",))
    no_group = client_config(peers, groups=("x25519", "secp256r1"))
    no_suite12 = client_config(
        peers,
        max_version="TLSv1.2",
        tls12_cipher_suites=("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",),
    )
    return no_suite, no_group, no_suite12


def no_common_servers(peers: Peers) -> tuple[OurServer, OurServer, OurServer]:
    """Our servers with one TLS 1.3 suite (AES-128-GCM), one group (P-384), and one TLS 1.2
    suite (ECDHE-ECDSA with AES-128-GCM)."""
    aes13 = ours_with(peers, cipher_suites=("TLS_AES_128_GCM_SHA256",))
    p384 = ours_with(peers, groups=("secp384r1",))
    aes12 = ours_with(
        peers,
        max_version="TLSv1.2",
        tls12_cipher_suites=("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",),
    )
    return aes13, p384, aes12


def check_no_common_refusals(
    records: Iterable[dict[str, Any]], servers: Iterable[OurServer]
) -> None:
    """Peer clients' records and :func:`no_common_servers` after a peer client found nothing
    in common with each: handshake_failure (RFC 8446 §4.1.1, RFC 5246 §7.4.1.3)."""
    for record in records:
        failed_with(record, "handshake_failure", received_alert=True)
    for ours in servers:
        assert isinstance(ours.next_connection().error, HandshakeFailure)


def check_untrusted_peer_server(peers: Peers, server: JsonPeerServer) -> None:
    """A peer server with a self-signed certificate: we send unknown_ca (RFC 8446 §6.2)."""
    with pytest.raises(UnknownCA, match="self-signed and not trusted"):
        dial(server.port, client_config(peers))
    failed_with(server.results()[0], "unknown_ca", received_alert=True)


def check_untrusted_by_peer(
    ours: OurServer, record: dict[str, Any], alert: str, description: AlertDescription
) -> None:
    """Our server with a self-signed certificate and a peer client's record: it sent ``alert``
    (``description``), which our server reports."""
    failed_with(record, alert, received_alert=False)
    error = ours.next_connection().error
    assert isinstance(error, AlertReceived), repr(error)
    assert error.description == description


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
