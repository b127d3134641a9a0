"""An Mbed TLS peer for the interop tests (PyPI ``python-mbedtls``, which bundles Mbed TLS
2.28), run as a subprocess with ``sys.executable`` by ``test_mbedtls.py``.

It prints one JSON object per line on stdout:

* ``{"event": "listening", "port": N}`` once a server listens (on 127.0.0.1, port 0);
* ``{"event": "connection", ...}`` per connection (see :func:`describe`): what Mbed TLS
  negotiated, the bytes it received, whether the peer closed with close_notify, or the error.

``server`` serves ``--connections`` connections one after the other (echoing until the
client's close_notify, replying with its own) and exits; ``client`` makes ``--connections``
connections, each offering the session of the one before (session ID or RFC 5077 ticket),
sends ``--message``, reads its echo and closes with a close_notify exchange. Every socket
operation has a timeout.

The configuration, the handshake and writes go through python-mbedtls's API
(:class:`~mbedtls.tls.TLSConfiguration`, ``ServerContext``/``ClientContext.wrap_buffers``,
the buffer's ``do_handshake``/``write``/``peek_outgoing``), with our own socket pump. What
python-mbedtls 2.10.1 does not expose is reached through :mod:`ctypes` on the very Mbed TLS
library it loaded (see :class:`Native`): the curves, DHE parameters, the extended master
secret switch, the server's session cache and ticket keys, the client's saved session, the
server's client-authentication mode, the keys of each handshake (for the RFC 5705 exporter)
and ``mbedtls_ssl_read`` (the binding's own read resets the context when a close_notify
arrives, so it could not answer with its own).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import hashlib
import hmac
import json
import socket
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import mbedtls
from mbedtls import pk, x509
from mbedtls.exceptions import TLSError
from mbedtls.tls import (
    ClientContext,
    ServerContext,
    TLSConfiguration,
    TLSVersion,
    TLSWrappedBuffer,
    TrustStore,
    WantReadError,
    WantWriteError,
)

TIMEOUT = 10.0
EXPORTER_LABEL = b"EXPORTER-tlsmachine-interop"
"""Every connection reports 32 bytes of keying material for this label (RFC 5705 §4, no
context), computed here from the master secret Mbed TLS hands to its export-keys callback."""
VERSIONS = {
    "tls1.0": TLSVersion.TLSv1,
    "tls1.1": TLSVersion.TLSv1_1,
    "tls1.2": TLSVersion.TLSv1_2,
    "tls1.3": TLSVersion.TLSv1_3,
}
ERR_PEER_CLOSE_NOTIFY = -0x7880
ERR_WANT_READ = -0x6900
ERR_WANT_WRITE = -0x6880
VERIFY_MODES = {"none": 0, "optional": 1, "required": 2}
PRF_HASH = {3: hashlib.sha384, 4: hashlib.sha256}
"""mbedtls_tls_prf_types: MBEDTLS_SSL_TLS_PRF_SHA384 = 3, MBEDTLS_SSL_TLS_PRF_SHA256 = 4."""
CHUNK = 8192
"""Plaintext per write: the binding's output ring holds 32 KiB, we empty it after each."""


def emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


# -- what python-mbedtls does not expose: the same library through ctypes --------------------


EXPORT_KEYS_CB = ctypes.CFUNCTYPE(
    ctypes.c_int,
    ctypes.c_void_p,  # p_expkey
    ctypes.POINTER(ctypes.c_ubyte),  # master secret (48 bytes)
    ctypes.c_void_p,  # key block
    ctypes.c_size_t,
    ctypes.c_size_t,
    ctypes.c_size_t,
    ctypes.POINTER(ctypes.c_ubyte),  # client random (32 bytes)
    ctypes.POINTER(ctypes.c_ubyte),  # server random (32 bytes)
    ctypes.c_int,  # mbedtls_tls_prf_types
)


class Native:
    """The Mbed TLS libraries python-mbedtls loaded, and pointers into its objects.

    python-mbedtls keeps the ``mbedtls_ssl_config`` in a ``MbedTLSConfiguration`` object owned
    by the context, and the ``mbedtls_ssl_context`` inside each buffer. The first member of an
    ``mbedtls_ssl_context`` is its ``conf`` pointer: :meth:`locate` finds the context as the
    place in the buffer object that points into the configuration object, which gives both.
    """

    def __init__(self) -> None:
        libs = Path(mbedtls.__file__).resolve().parent.parent / "python_mbedtls.libs"
        self.tls = ctypes.CDLL(str(next(libs.glob("libmbedtls-*"))))
        self.crypto = ctypes.CDLL(str(next(libs.glob("libmbedcrypto-*"))))
        vp, sz, i = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int
        signatures: list[tuple[str, list[Any], Any]] = [
            ("mbedtls_ssl_conf_curves", [vp, vp], None),
            ("mbedtls_ssl_conf_dh_param_bin", [vp, vp, sz, vp, sz], i),
            ("mbedtls_ssl_conf_extended_master_secret", [vp, ctypes.c_char], None),
            ("mbedtls_ssl_conf_session_tickets", [vp, i], None),
            ("mbedtls_ssl_conf_session_cache", [vp, vp, vp, vp], None),
            ("mbedtls_ssl_conf_session_tickets_cb", [vp, vp, vp, vp], None),
            ("mbedtls_ssl_conf_export_keys_ext_cb", [vp, EXPORT_KEYS_CB, vp], None),
            ("mbedtls_ssl_conf_authmode", [vp, i], None),
            ("mbedtls_ssl_conf_renegotiation", [vp, i], None),
            ("mbedtls_ssl_cache_init", [vp], None),
            ("mbedtls_ssl_ticket_init", [vp], None),
            ("mbedtls_ssl_ticket_setup", [vp, vp, vp, i, ctypes.c_uint32], i),
            ("mbedtls_ssl_session_init", [vp], None),
            ("mbedtls_ssl_session_free", [vp], None),
            ("mbedtls_ssl_get_session", [vp, vp], i),
            ("mbedtls_ssl_set_session", [vp, vp], i),
            ("mbedtls_ssl_get_version", [vp], ctypes.c_char_p),
            ("mbedtls_ssl_get_ciphersuite", [vp], ctypes.c_char_p),
            ("mbedtls_ssl_read", [vp, vp, sz], i),
            ("mbedtls_ssl_renegotiate", [vp], i),
        ]
        for name, args, res in signatures:
            func = getattr(self.tls, name)
            func.argtypes, func.restype = args, res
        signatures = [
            ("mbedtls_ecp_curve_info_from_name", [ctypes.c_char_p], ctypes.POINTER(i)),
            ("mbedtls_cipher_info_from_string", [ctypes.c_char_p], ctypes.POINTER(i)),
            ("mbedtls_entropy_init", [vp], None),
            ("mbedtls_ctr_drbg_init", [vp], None),
            ("mbedtls_ctr_drbg_seed", [vp, vp, vp, vp, sz], i),
        ]
        for name, args, res in signatures:
            func = getattr(self.crypto, name)
            func.argtypes, func.restype = args, res
        self.keep: list[Any] = []  # what the configuration points to stays alive
        self.keys: dict[str, Any] = {}  # the last handshake's keys (export-keys callback)
        self._rng: ctypes.c_void_p | None = None

    def fn(self, lib: ctypes.CDLL, name: str) -> int:
        address = ctypes.cast(getattr(lib, name), ctypes.c_void_p).value
        assert address is not None
        return address

    @staticmethod
    def locate(buffer: TLSWrappedBuffer) -> tuple[int, int]:
        """(the buffer's ``mbedtls_ssl_context *``, its ``mbedtls_ssl_config *``)."""
        configs = [
            r
            for r in gc.get_referents(buffer.context)
            if type(r).__name__ == "MbedTLSConfiguration"
        ]
        assert len(configs) == 1, configs
        low, high = id(configs[0]), id(configs[0]) + sys.getsizeof(configs[0])
        for offset in range(16, sys.getsizeof(buffer), 8):
            pointer = ctypes.c_void_p.from_address(id(buffer) + offset).value
            if pointer is not None and low <= pointer < high:
                return id(buffer) + offset, pointer
        raise AssertionError("no mbedtls_ssl_context found in the python-mbedtls buffer")

    def rng(self) -> ctypes.c_void_p:
        """A CTR-DRBG of our own (for the ticket keys)."""
        if self._rng is None:
            entropy = ctypes.create_string_buffer(1 << 16)
            drbg = ctypes.create_string_buffer(1 << 12)
            self.crypto.mbedtls_entropy_init(entropy)
            self.crypto.mbedtls_ctr_drbg_init(drbg)
            seed = self.fn(self.crypto, "mbedtls_entropy_func")
            assert self.crypto.mbedtls_ctr_drbg_seed(drbg, seed, entropy, None, 0) == 0
            self.keep += [entropy, drbg]
            self._rng = ctypes.cast(drbg, ctypes.c_void_p)
        return self._rng

    # -- configuration ------------------------------------------------------------------------

    def configure(self, conf: int, args: argparse.Namespace, *, server: bool) -> None:
        if args.groups:
            ids = []
            for name in args.groups.split(","):
                info = self.crypto.mbedtls_ecp_curve_info_from_name(name.encode())
                assert info, f"Mbed TLS knows no curve {name}"
                ids.append(info[0])  # mbedtls_ecp_curve_info.grp_id
            curves = (ctypes.c_int * (len(ids) + 1))(*ids, 0)
            self.keep.append(curves)
            self.tls.mbedtls_ssl_conf_curves(conf, curves)
        if args.no_ems:
            self.tls.mbedtls_ssl_conf_extended_master_secret(conf, b"\0")
        if args.renegotiation:
            self.tls.mbedtls_ssl_conf_renegotiation(conf, 1)
        callback = EXPORT_KEYS_CB(self._export_keys)
        self.keep.append(callback)
        self.tls.mbedtls_ssl_conf_export_keys_ext_cb(conf, callback, None)
        if server:
            self.tls.mbedtls_ssl_conf_authmode(conf, VERIFY_MODES[args.client_auth])
            if args.dh_prime:
                prime = bytes.fromhex(args.dh_prime)
                generator = bytes([args.dh_generator])
                self.keep += [prime, generator]
                assert (
                    self.tls.mbedtls_ssl_conf_dh_param_bin(
                        conf, prime, len(prime), generator, len(generator)
                    )
                    == 0
                )
            if args.session_cache:
                cache = ctypes.create_string_buffer(1 << 12)
                self.tls.mbedtls_ssl_cache_init(cache)
                self.keep.append(cache)
                get = self.fn(self.tls, "mbedtls_ssl_cache_get")
                put = self.fn(self.tls, "mbedtls_ssl_cache_set")
                self.tls.mbedtls_ssl_conf_session_cache(conf, cache, get, put)
            if args.tickets:
                ticket = ctypes.create_string_buffer(1 << 12)
                self.tls.mbedtls_ssl_ticket_init(ticket)
                cipher = self.crypto.mbedtls_cipher_info_from_string(b"AES-256-GCM")
                random = self.fn(self.crypto, "mbedtls_ctr_drbg_random")
                setup = self.tls.mbedtls_ssl_ticket_setup
                assert setup(ticket, random, self.rng(), cipher[0], 3600) == 0
                self.keep.append(ticket)
                write = self.fn(self.tls, "mbedtls_ssl_ticket_write")
                parse = self.fn(self.tls, "mbedtls_ssl_ticket_parse")
                self.tls.mbedtls_ssl_conf_session_tickets_cb(conf, write, parse, ticket)
        elif args.no_tickets:
            self.tls.mbedtls_ssl_conf_session_tickets(conf, 0)

    def _export_keys(
        self,
        _p: Any,
        master: Any,
        _kb: Any,
        _maclen: int,
        _keylen: int,
        _ivlen: int,
        client_random: Any,
        server_random: Any,
        prf: int,
    ) -> int:
        self.keys = {
            "master": bytes(master[:48]),
            "client_random": bytes(client_random[:32]),
            "server_random": bytes(server_random[:32]),
            "prf": prf,
        }
        return 0


NATIVE = Native()


def tls12_prf(digest: Any, secret: bytes, label: bytes, seed: bytes, size: int) -> bytes:
    """RFC 5246 §5: P_hash(secret, label + seed), ``size`` bytes."""
    seed = label + seed
    out, a = b"", seed
    while len(out) < size:
        a = hmac.new(secret, a, digest).digest()
        out += hmac.new(secret, a + seed, digest).digest()
    return out[:size]


def exporter(keys: dict[str, Any]) -> str | None:
    if not keys or keys["prf"] not in PRF_HASH:
        return None
    seed = keys["client_random"] + keys["server_random"]
    return tls12_prf(PRF_HASH[keys["prf"]], keys["master"], EXPORTER_LABEL, seed, 32).hex()


# -- one connection -------------------------------------------------------------------------------


class Channel:
    """A python-mbedtls buffer pumped through a blocking socket (with a timeout)."""

    def __init__(self, sock: socket.socket, buffer: TLSWrappedBuffer) -> None:
        self.sock = sock
        self.buffer = buffer
        self.ssl, self.conf = NATIVE.locate(buffer)
        self.states: list[str] = []  # HandshakeStep names, after each step
        self.wire_log: list[bytes] | None = None  # what pull() received, while set

    def flush(self) -> None:
        while data := self.buffer.peek_outgoing(1 << 16):
            self.sock.sendall(data)
            self.buffer.consume_outgoing(len(data))

    def pull(self) -> None:
        if len(self.buffer._input_buffer):
            # Mbed TLS said "want read" after handling a record it ignores (e.g. a warning
            # alert): what follows may already be here
            return
        data = self.sock.recv(1 << 14)  # less than the input ring's free space
        if not data:
            raise EOFError("the peer closed the TCP connection")
        if self.wire_log is not None:
            self.wire_log.append(data)
        self.buffer.receive_from_network(data)

    def handshake(self) -> None:
        while self.buffer._handshake_state.name != "HANDSHAKE_OVER":
            try:
                self.buffer.do_handshake()
            except WantReadError:
                self.flush()
                self.pull()
            except WantWriteError:
                self.flush()
            except TLSError:
                self.flush()  # the alert Mbed TLS queued before giving up
                raise
            self.states.append(self.buffer._handshake_state.name)
        self.flush()

    @property
    def resumed(self) -> bool:
        """An abbreviated handshake (RFC 5246 §7.3) skips the server's Certificate state."""
        return "SERVER_CERTIFICATE" not in self.states

    def write(self, data: bytes) -> None:
        for start in range(0, len(data), CHUNK):
            with contextlib.suppress(WantWriteError):  # in the ring: flushed below
                self.buffer.write(data[start : start + CHUNK])
            self.flush()

    def read(self) -> bytes | None:
        """Application data; None once the peer's close_notify arrived."""
        out = ctypes.create_string_buffer(1 << 15)
        while True:
            ret = NATIVE.tls.mbedtls_ssl_read(self.ssl, out, len(out))
            self.flush()  # e.g. an alert Mbed TLS answered with
            if ret > 0:
                return out.raw[:ret]
            if ret == ERR_PEER_CLOSE_NOTIFY:
                return None
            if ret in (ERR_WANT_READ, ERR_WANT_WRITE):
                self.pull()
                continue
            if ret == 0:
                raise EOFError("TCP EOF without close_notify")
            raise TLSError(ret)

    def renegotiate(self) -> int:
        """Start a renegotiation (a HelloRequest from a server, a ClientHello from a client)."""
        ret = NATIVE.tls.mbedtls_ssl_renegotiate(self.ssl)
        self.flush()
        return int(ret)

    def close(self) -> None:
        self.buffer.shutdown()  # mbedtls_ssl_close_notify, then the binding resets
        self.flush()

    def describe(self) -> dict[str, Any]:
        cert = self.buffer.getpeercert(binary_form=True)
        cipher: str | None = self.buffer.cipher()  # type: ignore[assignment]  # a str, not bytes
        version = NATIVE.tls.mbedtls_ssl_get_version(self.ssl)
        return {
            "version": version.decode() if version else None,
            "binding_version": self.buffer.negotiated_tls_version().name,
            "cipher_suite": cipher.replace("-", "_") if cipher else None,
            "resumed": self.resumed,
            "alpn": self.buffer.negotiated_protocol(),
            "peer_cert_sha256": hashlib.sha256(cert).hexdigest() if cert else None,
            "exporter": exporter(NATIVE.keys),
        }


def record_headers(data: bytes) -> list[list[int]]:
    """[content type, length] of each TLS record in ``data`` (RFC 5246 §6.2.1)."""
    headers = []
    while len(data) >= 5:
        length = int.from_bytes(data[3:5], "big")
        headers.append([data[0], length])
        data = data[5 + length :]
    return headers


def error_record(exc: BaseException) -> dict[str, Any]:
    record: dict[str, Any] = {"error": f"{type(exc).__name__}: {exc}"}
    if isinstance(exc, TLSError):
        err = getattr(exc, "err", None)
        record["mbedtls_error"] = -abs(err) if err else None  # as Mbed TLS defines it
    record["traceback"] = traceback.format_exc()
    return record


# -- configuration ----------------------------------------------------------------------------


def load_chain(path: str) -> tuple[x509.CRT, ...]:
    text = Path(path).read_text()
    marker = "-----END CERTIFICATE-----"
    pems = [p + marker for p in text.split(marker) if "BEGIN CERTIFICATE" in p]
    return tuple(x509.CRT.from_PEM(p.strip() + "\n") for p in pems)


def load_key(path: str) -> pk.CipherBase:
    text = Path(path).read_text()
    try:
        return pk.ECC.from_PEM(text)
    except (TLSError, ValueError, TypeError):
        return pk.RSA.from_PEM(text)


def configuration(args: argparse.Namespace, *, server: bool) -> TLSConfiguration:
    options: dict[str, Any] = {
        "lowest_supported_version": VERSIONS[args.min_version],
        "highest_supported_version": VERSIONS[args.max_version],
        "validate_certificates": server or not args.no_verify,
    }
    if args.cert:
        options["certificate_chain"] = (load_chain(args.cert), load_key(args.key))
    if args.ca:
        options["trust_store"] = TrustStore(load_chain(args.ca))
    if args.ciphers:
        options["ciphers"] = tuple(args.ciphers.split(","))
    if args.alpn:
        options["inner_protocols"] = tuple(p.encode() for p in args.alpn)
    return TLSConfiguration(**options)


# -- server -------------------------------------------------------------------------------------


def serve(args: argparse.Namespace) -> int:
    context = ServerContext(configuration(args, server=True))
    configured = False
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)
    emit({"event": "listening", "port": listener.getsockname()[1]})
    for _ in range(args.connections):
        raw, _ = listener.accept()
        raw.settimeout(TIMEOUT)
        record: dict[str, Any] = {"event": "connection"}
        NATIVE.keys = {}
        try:
            channel = Channel(raw, context.wrap_buffers())
            if not configured:  # the one mbedtls_ssl_config of the context, set up once
                NATIVE.configure(channel.conf, args, server=True)
                configured = True
            channel.handshake()
            record.update(channel.describe())
            received = b""
            renegotiation_asked = False
            while (data := channel.read()) is not None:
                received += data
                channel.write(data)
                if args.renegotiate and not renegotiation_asked:
                    renegotiation_asked = True
                    record["renegotiate"] = channel.renegotiate()
            record["received"] = received.hex()
            record["clean_close"] = True
            channel.close()
        except Exception as exc:
            record.update(error_record(exc))
        finally:
            raw.close()
        emit(record)
    listener.close()
    return 0


# -- client -------------------------------------------------------------------------------------


def run_client(args: argparse.Namespace) -> int:
    context = ClientContext(configuration(args, server=False))
    configured = False
    message = args.message.encode() * args.repeat
    session: ctypes.Array[ctypes.c_char] | None = None
    for _ in range(args.connections):
        record: dict[str, Any] = {"event": "connection"}
        NATIVE.keys = {}
        raw = socket.create_connection(("127.0.0.1", args.port), timeout=TIMEOUT)
        try:
            channel = Channel(raw, context.wrap_buffers(args.server_name))
            if not configured:
                NATIVE.configure(channel.conf, args, server=False)
                configured = True
            if session is not None:
                assert NATIVE.tls.mbedtls_ssl_set_session(channel.ssl, session) == 0
            channel.handshake()
            record.update(channel.describe())
            channel.write(message)
            received = b""
            deadline = time.monotonic() + TIMEOUT
            while len(received) < len(message) and time.monotonic() < deadline:
                data = channel.read()
                if data is None:
                    break
                received += data
            if args.renegotiate:
                channel.wire_log = []
                record["renegotiate"] = channel.renegotiate()
                try:  # whatever the server answers: Mbed TLS reads it while it waits
                    raw.settimeout(1.0)
                    channel.read()
                except Exception as exc:
                    record["after_renegotiate"] = f"{type(exc).__name__}: {exc}"
                record["records_after_renegotiate"] = record_headers(b"".join(channel.wire_log))
            record["received"] = received.hex()
            saved = ctypes.create_string_buffer(1 << 13)
            NATIVE.tls.mbedtls_ssl_session_init(saved)
            if NATIVE.tls.mbedtls_ssl_get_session(channel.ssl, saved) == 0:
                session = saved
            if not args.renegotiate:
                channel.close()
                raw.shutdown(socket.SHUT_WR)
                # the server's close_notify, then its TCP FIN
                record["clean_close"] = raw.recv(64) != b""
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
    parser.add_argument("--cert", help="PEM chain, leaf first")
    parser.add_argument("--key", help="PEM private key")
    parser.add_argument("--ca", help="trust anchors (server: for client certificates)")
    parser.add_argument("--no-verify", action="store_true", help="client: verify optionally")
    parser.add_argument("--min-version", default="tls1.2", choices=VERSIONS)
    parser.add_argument("--max-version", default="tls1.2", choices=VERSIONS)
    parser.add_argument("--ciphers", help="Mbed TLS suite names, comma-separated")
    parser.add_argument("--groups", help="Mbed TLS curve names (x25519, secp256r1, ...)")
    parser.add_argument("--alpn", action="append", default=[])
    parser.add_argument("--server-name", default="localhost", help="client: SNI and the name")
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--client-auth", default="none", choices=VERIFY_MODES)
    parser.add_argument("--dh-prime", help="server: DHE prime (hex)")
    parser.add_argument("--dh-generator", type=int, default=2)
    parser.add_argument("--session-cache", action="store_true", help="server: session IDs")
    parser.add_argument("--tickets", action="store_true", help="server: RFC 5077 tickets")
    parser.add_argument("--no-tickets", action="store_true", help="client: no ticket extension")
    parser.add_argument("--no-ems", action="store_true", help="no extended master secret")
    parser.add_argument("--renegotiation", action="store_true", help="allow renegotiation")
    parser.add_argument("--renegotiate", action="store_true", help="start one after the echo")
    parser.add_argument("--message", default="hello", help="client: what to send")
    parser.add_argument("--repeat", type=int, default=1, help="client: send the message N times")
    args = parser.parse_args(argv)
    try:
        return serve(args) if args.role == "server" else run_client(args)
    except Exception as exc:  # e.g. a configuration Mbed TLS refuses
        emit({"event": "setup", **error_record(exc)})
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
