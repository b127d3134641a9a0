"""A tlslite-ng (pure-Python TLS, PyPI ``tlslite-ng``) peer for the interop tests, run as a
subprocess with ``sys.executable`` by ``test_tlslite.py``.

tlslite-ng's own ``tls.py`` script cannot listen on port 0, choose groups, key shares or ALPN
protocols, or report what it negotiated in a parseable form, so this script drives its API
directly and prints one JSON object per line on stdout:

* ``{"event": "listening", "port": N}`` once a server listens (on 127.0.0.1, port 0);
* ``{"event": "connection", ...}`` per connection (see :func:`describe`): what tlslite-ng
  negotiated, the bytes it received, whether the peer closed with close_notify, or the error.

``server`` serves ``--connections`` connections one after the other (echoing until the
client's close_notify, replying with its own) and exits; ``client`` makes ``--connections``
connections, each offering the session of the one before (TLS 1.3 tickets, TLS 1.2 session ID
or ticket), sends ``--message``, reads its echo and closes with a close_notify exchange.
Every socket operation has a timeout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import sys
import time
import traceback
from typing import Any

from tlslite.api import (
    HandshakeSettings,
    SessionCache,
    TLSAlert,
    TLSConnection,
    X509CertChain,
    parsePEMKey,
)
from tlslite.constants import CipherSuite, GroupName, KeyUpdateMessageType, SignatureScheme
from tlslite.extensions import SrvPreSharedKeyExtension
from tlslite.handshakesettings import Keypair, VirtualHost
from tlslite.utils.cryptomath import getRandomBytes

TIMEOUT = 10.0
EXPORTER_LABEL = b"EXPORTER-tlsmachine-interop"
"""Every connection reports 32 bytes of keying material for this label (RFC 5705, RFC 8446
§7.5; no context in TLS 1.2, the empty context in TLS 1.3)."""
VERSIONS = {"tls1.2": (3, 3), "tls1.3": (3, 4)}


SELECTED_PSKS: list[int] = []
"""Server: the pre_shared_key identity each TLS 1.3 ServerHello selected (see watch_psk)."""


def watch_psk() -> None:
    """Note the PSK identity a TLS 1.3 ServerHello selects.

    tlslite-ng 0.8.2's server reports ``resumed`` False after every TLS 1.3 handshake, with a
    ticket too (``handshakeServerAsync`` calls ``_handshakeDone(resumed=False)`` after
    ``_serverTLS13Handshake``), so the server role learns it from the pre_shared_key extension
    that tlslite-ng builds for its ServerHello (RFC 8446 §4.2.11).
    """
    create = SrvPreSharedKeyExtension.create

    def recording_create(self: Any, selected: int) -> Any:
        SELECTED_PSKS.append(selected)
        return create(self, selected)

    SrvPreSharedKeyExtension.create = recording_create


def emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


def load_chain(path: str) -> X509CertChain:
    chain = X509CertChain()
    with open(path) as f:
        chain.parsePemList(f.read())
    return chain


def load_key(path: str) -> Any:
    with open(path) as f:
        return parsePEMKey(f.read(), private=True, implementations=["python"])


def settings_from(args: argparse.Namespace) -> HandshakeSettings:
    settings = HandshakeSettings()
    settings.minVersion = VERSIONS[args.min_version]
    settings.maxVersion = VERSIONS[args.max_version]
    if args.ciphers:
        settings.cipherNames = args.ciphers.split(",")
    if args.groups:
        groups = args.groups.split(",")
        settings.eccCurves = [g for g in groups if not g.startswith("ffdhe")]
        settings.dhGroups = [g for g in groups if g.startswith("ffdhe")]
    if args.key_shares is not None:
        settings.keyShares = [g for g in args.key_shares.split(",") if g]
    elif args.groups:
        settings.keyShares = []  # a server: choose from eccCurves alone
    if args.no_ems:
        settings.useExtendedMasterSecret = False
    if args.record_size_limit:
        settings.record_size_limit = args.record_size_limit
    if args.pad:
        # TLS 1.3 records padded to the peer's limit (RFC 8446 §5.4)
        settings.padding_cb = lambda size, content_type, max_padding: max_padding
    if args.psk:
        settings.pskConfigs = [(args.psk_identity.encode(), bytes.fromhex(args.psk), args.psk_hash)]
    if args.psk_modes:
        settings.psk_modes = args.psk_modes.split(",")
    if args.fallback_scsv:
        settings.sendFallbackSCSV = True
    if not args.compress_certificate:
        # tlslite-ng 0.8.2's client compresses its Certificate (RFC 8879) whenever its own
        # ClientHello offered compress_certificate, instead of only when the server's
        # CertificateRequest does (tlsconnection.py passes clientHello to _create_cert_msg);
        # not compressing keeps it within RFC 8879 §3 (it still accepts compressed ones)
        settings.certificate_compression_send = []
    return settings


def cert_sha256(chain: X509CertChain | None) -> str | None:
    if chain is None or not chain.x509List:
        return None
    return hashlib.sha256(bytes(chain.x509List[0].bytes)).hexdigest()


def describe(conn: TLSConnection, *, server: bool) -> dict[str, Any]:
    """What tlslite-ng negotiated on ``conn`` (right after its handshake)."""
    session = conn.session
    resumed = bool(conn.resumed)
    if server and conn.version > (3, 3):
        resumed = bool(SELECTED_PSKS)
    sig = conn.serverSigAlg
    scheme = SignatureScheme.toRepr(sig) if sig is not None else None
    return {
        "version": conn.getVersionName(),
        "cipher_suite": CipherSuite.ietfNames.get(session.cipherSuite),
        "group": GroupName.toStr(conn.ecdhCurve) if conn.ecdhCurve is not None else None,
        "signature_scheme": scheme,
        "resumed": resumed,
        "alpn": bytes(session.appProto).decode() if session.appProto else None,
        "server_name": session.serverName or None,
        # a TLS 1.2 server sets conn.extendedMasterSecret in full handshakes only
        "extended_master_secret": bool(conn.extendedMasterSecret or session.extendedMasterSecret),
        "peer_cert_sha256": cert_sha256(
            session.clientCertChain if server else session.serverCertChain
        ),
        "exporter": bytes(conn.keyingMaterialExporter(bytearray(EXPORTER_LABEL), 32)).hex(),
    }


def error_record(exc: BaseException) -> dict[str, Any]:
    record: dict[str, Any] = {"error": f"{type(exc).__name__}: {exc}"}
    if isinstance(exc, TLSAlert):
        record["alert"] = exc.description
        record["remote"] = type(exc).__name__ == "TLSRemoteAlert"
    record["traceback"] = traceback.format_exc()
    return record


def key_update(conn: TLSConnection) -> None:
    for _ in conn.send_keyupdate_request(KeyUpdateMessageType.update_requested):
        pass


# -- server -------------------------------------------------------------------------------------


def serve(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    settings.ticket_count = args.tickets
    settings.ticketKeys = [getRandomBytes(32)] if args.tickets else []
    pairs = [(load_chain(c), load_key(k)) for c, k in zip(args.cert, args.key, strict=True)]
    if len(pairs) > 1:  # further chains: tlslite-ng takes them from a virtual host
        host = VirtualHost()
        host.keys = [Keypair(key, chain.x509List) for chain, key in pairs[1:]]
        settings.virtual_hosts = [host]
    chain, key = pairs[0]
    alpn = [bytearray(p.encode()) for p in args.alpn] or None
    cache = SessionCache()
    watch_psk()

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)
    emit({"event": "listening", "port": listener.getsockname()[1]})
    for _ in range(args.connections):
        raw, _ = listener.accept()
        raw.settimeout(TIMEOUT)
        record: dict[str, Any] = {"event": "connection"}
        SELECTED_PSKS.clear()
        conn = TLSConnection(raw)
        conn.closeSocket = False  # we close the socket ourselves, after the close_notify
        try:
            conn.handshakeServer(
                certChain=chain,
                privateKey=key,
                reqCert=args.request_cert,
                sessionCache=cache,
                settings=settings,
                alpn=alpn,
                sni=args.sni,
            )
            record.update(describe(conn, server=True))
            if args.key_update:
                key_update(conn)
            if args.post_handshake_auth:
                for _ in conn.request_post_handshake_auth():
                    pass
            received = b""
            while True:
                data = conn.read()
                if not data:
                    break
                received += data
                conn.write(data)
            record["received"] = received.hex()
            # read() returned b"" after the client's close_notify, and tlslite-ng answered it
            record["clean_close"] = conn.closed
            # a post-handshake Certificate is processed by the reads of the echo loop
            record["final_peer_cert_sha256"] = cert_sha256(conn.session.clientCertChain)
        except Exception as exc:
            record.update(error_record(exc))
        finally:
            raw.close()
        emit(record)
    listener.close()
    return 0


# -- client -------------------------------------------------------------------------------------


def run_client(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    chain = load_chain(args.cert) if args.cert else None
    key = load_key(args.key) if args.key else None
    alpn = [bytearray(p.encode()) for p in args.alpn] or None
    message = args.message.encode() * args.repeat
    session = None
    for _ in range(args.connections):
        record: dict[str, Any] = {"event": "connection"}
        raw = socket.create_connection(("127.0.0.1", args.port), timeout=TIMEOUT)
        conn = TLSConnection(raw)
        conn.closeSocket = False  # close(): send close_notify and wait for the server's
        try:
            conn.handshakeClientCert(
                certChain=chain,
                privateKey=key,
                session=session,
                settings=settings,
                serverName=args.server_name,
                alpn=alpn,
            )
            record.update(describe(conn, server=False))
            conn.write(message)
            if args.key_update:
                key_update(conn)
                conn.write(message)
            expected = len(message) * (2 if args.key_update else 1)
            received = b""
            deadline = time.monotonic() + TIMEOUT
            while len(received) < expected and time.monotonic() < deadline:
                data = conn.read()
                if not data:
                    break
                received += data
            record["received"] = received.hex()
            record["tickets"] = len(conn.tickets) + len(conn.tls_1_0_tickets)
            conn.close()  # close_notify both ways (raises on anything else)
            record["clean_close"] = True
            session = conn.session
            record["session_resumable"] = bool(session.resumable)
        except Exception as exc:
            record.update(error_record(exc))
        finally:
            raw.close()
        emit(record)
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("role", choices=("server", "client"))
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert", action="append", default=[])
    parser.add_argument("--key", action="append", default=[])
    parser.add_argument("--min-version", default="tls1.2", choices=VERSIONS)
    parser.add_argument("--max-version", default="tls1.3", choices=VERSIONS)
    parser.add_argument("--ciphers", help="tlslite-ng cipher names, comma-separated")
    parser.add_argument("--groups", help="supported groups (eccCurves), comma-separated")
    parser.add_argument("--key-shares", help="client: groups to send key shares for")
    parser.add_argument("--alpn", action="append", default=[])
    parser.add_argument("--server-name", default="localhost", help="client: the SNI name")
    parser.add_argument("--sni", help="server: the expected SNI name (else a warning alert)")
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--tickets", type=int, default=2, help="server: tickets per handshake")
    parser.add_argument("--request-cert", action="store_true")
    parser.add_argument("--key-update", action="store_true")
    parser.add_argument("--no-ems", action="store_true")
    parser.add_argument("--record-size-limit", type=int, help="announce RFC 8449's extension")
    parser.add_argument("--pad", action="store_true", help="pad TLS 1.3 records to the limit")
    parser.add_argument("--psk", help="an external PSK (hex), RFC 8446 §4.2.11")
    parser.add_argument("--psk-identity", default="tlsmachine-interop")
    parser.add_argument("--psk-hash", default="sha256", choices=("sha256", "sha384"))
    parser.add_argument("--psk-modes", help="psk_dhe_ke,psk_ke (RFC 8446 §4.2.9)")
    parser.add_argument("--fallback-scsv", action="store_true", help="client: RFC 7507")
    parser.add_argument("--post-handshake-auth", action="store_true", help="server: ask for it")
    parser.add_argument(
        "--compress-certificate",
        action="store_true",
        help="let tlslite-ng compress its own Certificate (see settings_from)",
    )
    parser.add_argument("--message", default="hello", help="client: what to send")
    parser.add_argument("--repeat", type=int, default=1, help="client: send the message N times")
    args = parser.parse_args(argv)
    if args.role == "server":
        return serve(args)
    args.cert = args.cert[0] if args.cert else None
    args.key = args.key[0] if args.key else None
    return run_client(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
