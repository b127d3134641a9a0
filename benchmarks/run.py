"""tlsmachine against the stdlib ``ssl`` module, in memory, in the same run (``make bench``).

Each figure is measured twice, once per implementation, with the same work on both sides:

* **handshakes/s**: full TLS 1.3 handshakes, client and server in one process (their CPU
  together), x25519, TLS_AES_128_GCM_SHA256, no session tickets, certificate and host name
  verification on in the client against the same test CA; one row per server key
  (ECDSA P-256, RSA-2048).
* **resumed handshakes/s**: the same, but every handshake resumes (psk_dhe_ke with x25519)
  with the newest ticket and receives one new ticket, which the next handshake uses; every
  handshake is checked to have resumed on both ends and to have brought a new ticket.
* **bulk MB/s**: after a handshake, 64 MiB one way (client to server) in 16 KiB writes; the
  sender encrypts, the receiver decrypts (their CPU together); AES-128-GCM and
  ChaCha20-Poly1305.
* **TLS 1.2** (``--tls12``, which ``make bench`` passes, or ``--only tls12-...``): full handshakes
  (ECDHE x25519, AES-128-GCM, ECDSA P-256 and RSA-2048 certificates, session tickets off) and
  resumed handshakes, by session ID (tickets off) and by RFC 5077 ticket; TLS 1.2 only on both
  sides (stdlib ``maximum_version``, tlsmachine ``max_version``); every "resumed" handshake is
  checked to have resumed on both ends.

The stdlib side drives two ``ssl.SSLObject`` over ``ssl.MemoryBIO`` pairs; the tlsmachine side
moves ``data_to_send()`` into ``receive_data()``. Python 3.11's ``ssl`` cannot choose the TLS 1.3
cipher suite, so each side runs in its own worker process and the stdlib worker gets an
``OPENSSL_CONF`` that pins ``Ciphersuites`` and ``Groups`` for every SSL_CTX (OpenSSL's
``system_default`` section). What was actually negotiated is read off the ServerHello on the
wire for both sides and printed; a mismatch with the intended suite or group is an error.

Every figure is the median of several timed repetitions after a warm-up (``time.perf_counter``).
The output is a report: the exit status is 0 unless ``--check`` is given and a target is missed.

Usage: ``python benchmarks/run.py [--quick] [--json] [--check] [--repeat N] [--clock wall|cpu]
[--tls12] [--only CASE ...]`` (see benchmarks/README.md).
Profiling one side: ``python -m cProfile -s tottime benchmarks/run.py --worker tlsmachine
--case bulk-aes-128-gcm --pki DIR`` (``DIR`` from ``--keep-pki DIR``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from worker_process import WorkerProcess, child_env

if TYPE_CHECKING:
    from tlsmachine import ClientConnection, ServerConnection

ROOT = Path(__file__).resolve().parent.parent
HOST = "localhost"
CHUNK = 16 * 1024
MIB = 1024 * 1024
MAX_ROUNDS = 16  # flights per handshake before we call it a hang
WORKER_TIMEOUT = 900  # seconds per worker process

SUITE_IDS = {
    "TLS_AES_128_GCM_SHA256": 0x1301,
    "TLS_AES_256_GCM_SHA384": 0x1302,
    "TLS_CHACHA20_POLY1305_SHA256": 0x1303,
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": 0xC02B,
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": 0xC02F,
}
SUITE_NAMES = {v: k for k, v in SUITE_IDS.items()}
GROUP_NAMES = {0x0017: "secp256r1", 0x0018: "secp384r1", 0x001D: "x25519", 0x001E: "x448"}
# TLS 1.2 suites by their OpenSSL names (SSLContext.set_ciphers, CipherString)
OPENSSL_CIPHERS = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
}
SCHEME_NAMES = {
    0x0401: "rsa_pkcs1_sha256",
    0x0403: "ecdsa_secp256r1_sha256",
    0x0804: "rsa_pss_rsae_sha256",
    0x0809: "rsa_pss_pss_sha256",
}
# the ServerKeyExchange signature of a TLS 1.2 full handshake, by server key (both sides)
TLS12_SCHEMES = {"ecdsa-p256": "ecdsa_secp256r1_sha256", "rsa-2048": "rsa_pss_rsae_sha256"}


@dataclass(frozen=True)
class Case:
    """One benchmark row."""

    name: str
    kind: str  # "handshake" (full), "resumed" (PSK with the newest ticket) or "bulk"
    key_type: str  # server certificate key, a tests/pki.py leaf name
    suite: str
    target: float  # minimum tlsmachine / stdlib ratio
    label: str
    version: str = "TLSv1.3"
    # TLS 1.2 resumed handshakes: "session-id" (RFC 5246 §7.4.1.2, tickets off) or "ticket"
    # (RFC 5077); TLS 1.3 resumption is always by ticket
    resumption: str = ""

    @property
    def tls12(self) -> bool:
        return self.version == "TLSv1.2"


CASES = (
    Case(
        "handshake-ecdsa-p256",
        "handshake",
        "ecdsa-p256",
        "TLS_AES_128_GCM_SHA256",
        1.0,
        "handshakes/s, ECDSA P-256",
    ),
    Case(
        "handshake-rsa-2048",
        "handshake",
        "rsa-2048",
        "TLS_AES_128_GCM_SHA256",
        1.0,
        "handshakes/s, RSA-2048",
    ),
    Case(
        "resumed-ecdsa-p256",
        "resumed",
        "ecdsa-p256",
        "TLS_AES_128_GCM_SHA256",
        1.3,
        "resumed handshakes/s, ECDSA P-256",
    ),
    Case(
        "resumed-rsa-2048",
        "resumed",
        "rsa-2048",
        "TLS_AES_128_GCM_SHA256",
        1.3,
        "resumed handshakes/s, RSA-2048",
    ),
    Case(
        "bulk-aes-128-gcm",
        "bulk",
        "ecdsa-p256",
        "TLS_AES_128_GCM_SHA256",
        1.5,
        "bulk MB/s, AES-128-GCM",
    ),
    Case(
        "bulk-chacha20-poly1305",
        "bulk",
        "ecdsa-p256",
        "TLS_CHACHA20_POLY1305_SHA256",
        0.9,
        "bulk MB/s, ChaCha20-Poly1305",
    ),
)
# Run with --tls12 (make bench passes it) or picked with --only; the default set is TLS 1.3.
TLS12_CASES = (
    Case(
        "tls12-handshake-ecdsa-p256",
        "handshake",
        "ecdsa-p256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        1.0,
        "TLS 1.2 handshakes/s, ECDSA P-256",
        version="TLSv1.2",
    ),
    Case(
        "tls12-handshake-rsa-2048",
        "handshake",
        "rsa-2048",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        1.0,
        "TLS 1.2 handshakes/s, RSA-2048",
        version="TLSv1.2",
    ),
    Case(
        "tls12-resumed-session-id",
        "resumed",
        "ecdsa-p256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        1.3,
        "TLS 1.2 resumed/s, session ID",
        version="TLSv1.2",
        resumption="session-id",
    ),
    Case(
        "tls12-resumed-ticket",
        "resumed",
        "ecdsa-p256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        1.3,
        "TLS 1.2 resumed/s, ticket",
        version="TLSv1.2",
        resumption="ticket",
    ),
)
CASES_BY_NAME = {c.name: c for c in (*CASES, *TLS12_CASES)}


@dataclass(frozen=True)
class Sizes:
    """How much work each measurement does (all loops are bounded by these)."""

    handshakes: int  # per repetition
    bulk_bytes: int  # per repetition
    repeat: int
    warmup_handshakes: int
    warmup_bytes: int


@dataclass
class Counts:
    """Resumed handshakes checked so far (warm-up included), reported with each sample: each
    one resumed on both ends (tlsmachine: ``HandshakeComplete.resumed``; stdlib:
    ``session_reused``) and brought one new ticket."""

    resumed: int = 0
    tickets: int = 0
    session_getter_ns: int = 0
    """stdlib only: time in the client's ``SSLObject.session`` getter, which CPython makes
    dear (it copies the session through i2d/d2i_SSL_SESSION) and a resumption cannot skip."""


@dataclass
class Counts12:
    """TLS 1.2 resumed handshakes checked so far (warm-up included): each one resumed on both
    ends and left the client holding the same session (the same ID, or the same ticket, which
    neither server renews when resuming) for the next handshake."""

    resumed: int = 0
    session_kept: int = 0


FULL = Sizes(handshakes=100, bulk_bytes=64 * MIB, repeat=7, warmup_handshakes=20, warmup_bytes=MIB)
QUICK = Sizes(handshakes=5, bulk_bytes=MIB, repeat=2, warmup_handshakes=1, warmup_bytes=CHUNK)


# -- what went over the wire ------------------------------------------------------------------


def server_hello_params(flight: bytes) -> dict[str, str]:
    """Version, suite, group and handshake mode from the ServerHello at the start of a server's
    first flight.

    RFC 8446 §4.1.3: the record header (5 bytes) and handshake header (4) come first, then
    legacy_version, random, legacy_session_id_echo, cipher_suite, compression, extensions;
    supported_versions (43) carries the version and key_share (51) the group; pre_shared_key
    (41) means the server accepted a PSK (§4.2.11): "psk_dhe_ke" with a key share, else
    "psk_ke"; "full" without it.
    """
    if len(flight) < 9 or flight[0] != 22 or flight[5] != 2:
        raise RuntimeError("the server's first flight does not start with a ServerHello")
    body = flight[9 : 9 + int.from_bytes(flight[6:9], "big")]
    pos = 2 + 32
    pos += 1 + body[pos]
    suite = int.from_bytes(body[pos : pos + 2], "big")
    pos += 3
    end = pos + 2 + int.from_bytes(body[pos : pos + 2], "big")
    pos += 2
    version, group, psk = "TLSv1.2", "?", False
    while pos + 4 <= end:
        ext_type = int.from_bytes(body[pos : pos + 2], "big")
        ext_len = int.from_bytes(body[pos + 2 : pos + 4], "big")
        data = body[pos + 4 : pos + 4 + ext_len]
        if ext_type == 43 and data == b"\x03\x04":
            version = "TLSv1.3"
        elif ext_type == 51 and len(data) >= 2:
            gid = int.from_bytes(data[:2], "big")
            group = GROUP_NAMES.get(gid, f"0x{gid:04x}")
        elif ext_type == 41:
            psk = True
        pos += 4 + ext_len
    return {
        "version": version,
        "suite": SUITE_NAMES.get(suite, f"0x{suite:04x}"),
        "group": group,
        "handshake": ("psk_dhe_ke" if group != "?" else "psk_ke") if psk else "full",
    }


HANDSHAKE_NAMES = {
    1: "ClientHello",
    2: "ServerHello",
    4: "NewSessionTicket",
    11: "Certificate",
    12: "ServerKeyExchange",
    13: "CertificateRequest",
    14: "ServerHelloDone",
}


def _plaintext_messages(flight: bytes) -> tuple[list[tuple[int, bytes]], bool]:
    """The handshake messages (type, body) of the plaintext records that start a flight, up to a
    ChangeCipherSpec record; and whether one came (RFC 5246 §6.2.1, §7.1, §7.4)."""
    data, pos, ccs = b"", 0, False
    while pos + 5 <= len(flight):
        content_type = flight[pos]
        length = int.from_bytes(flight[pos + 3 : pos + 5], "big")
        if content_type == 20:
            ccs = True
            break
        if content_type != 22:
            raise RuntimeError(f"unexpected record type {content_type} in a TLS 1.2 flight")
        data += flight[pos + 5 : pos + 5 + length]
        pos += 5 + length
    messages, pos = [], 0
    while pos + 4 <= len(data):
        length = int.from_bytes(data[pos + 1 : pos + 4], "big")
        messages.append((data[pos], data[pos + 4 : pos + 4 + length]))
        pos += 4 + length
    return messages, ccs


def _hello_fields(body: bytes, client: bool) -> tuple[bytes, int, dict[int, bytes]]:
    """Session ID, cipher suite (ServerHello; 0 for a ClientHello) and extensions of a hello."""
    pos = 2 + 32
    session_id = body[pos + 1 : pos + 1 + body[pos]]
    pos += 1 + body[pos]
    suite = 0
    if client:
        pos += 2 + int.from_bytes(body[pos : pos + 2], "big")  # cipher_suites
        pos += 1 + body[pos]  # compression_methods
    else:
        suite = int.from_bytes(body[pos : pos + 2], "big")
        pos += 3  # cipher_suite, compression_method
    extensions: dict[int, bytes] = {}
    end = pos + 2 + int.from_bytes(body[pos : pos + 2], "big")
    pos += 2
    while pos + 4 <= end:
        ext_type = int.from_bytes(body[pos : pos + 2], "big")
        ext_len = int.from_bytes(body[pos + 2 : pos + 4], "big")
        extensions[ext_type] = body[pos + 4 : pos + 4 + ext_len]
        pos += 4 + ext_len
    return session_id, suite, extensions


def tls12_params(client_flight: bytes, server_flight: bytes) -> dict[str, str]:
    """What a TLS 1.2 handshake negotiated, from the client's ClientHello and the server's
    first flight.

    Version and suite come from the ServerHello (RFC 5246 §7.4.1.3; TLS 1.2 when it has no
    supported_versions), the group and signature scheme from the ServerKeyExchange (RFC 8422
    §5.4; "none" when resuming), extended_master_secret (23) from the ServerHello (RFC 7627).
    Handshake mode: "full" when the server sent a Certificate; resumed when it echoed the
    non-empty session ID of the ClientHello instead (§7.3 Figure 2): "resumed-ticket" if the
    ClientHello carried a non-empty session_ticket (35, RFC 5077 §3.4), else
    "resumed-session-id". ``flight``: the server's first flight, message by message.
    """
    client_messages, _ = _plaintext_messages(client_flight)
    if not client_messages or client_messages[0][0] != 1:
        raise RuntimeError("the client's first flight does not start with a ClientHello")
    offered_id, _, client_extensions = _hello_fields(client_messages[0][1], client=True)
    messages, ccs = _plaintext_messages(server_flight)
    if not messages or messages[0][0] != 2:
        raise RuntimeError("the server's first flight does not start with a ServerHello")
    body = messages[0][1]
    echoed_id, suite, extensions = _hello_fields(body, client=False)
    version = "TLSv1.2" if body[:2] == b"\x03\x03" and 43 not in extensions else "?"
    group = scheme = "none"
    for msg_type, ske in messages:
        if msg_type == 12 and ske[:1] == b"\x03":  # named_curve
            gid = int.from_bytes(ske[1:3], "big")
            group = GROUP_NAMES.get(gid, f"0x{gid:04x}")
            pos = 4 + ske[3]
            sid = int.from_bytes(ske[pos : pos + 2], "big")
            scheme = SCHEME_NAMES.get(sid, f"0x{sid:04x}")
    types = [t for t, _ in messages]
    if 11 in types:
        mode = "full"
    elif echoed_id and echoed_id == offered_id:
        mode = "resumed-ticket" if client_extensions.get(35) else "resumed-session-id"
    else:
        mode = "?"
    flight = [HANDSHAKE_NAMES.get(t, str(t)) for t in types]
    flight += ["ChangeCipherSpec", "Finished"] if ccs else []
    return {
        "version": version,
        "suite": SUITE_NAMES.get(suite, f"0x{suite:04x}"),
        "group": group,
        "handshake": mode,
        "scheme": scheme,
        "ems": "yes" if 23 in extensions else "no",
        "flight": " ".join(flight),
    }


def wire_params(case: Case, client_flight: bytes, server_flight: bytes) -> dict[str, str]:
    if case.tls12:
        return tls12_params(client_flight, server_flight)
    return server_hello_params(server_flight)


def check_negotiated(case: Case, seen: dict[str, str], side: str) -> None:
    want = {
        "version": "TLSv1.3",
        "suite": case.suite,
        "group": "x25519",
        "handshake": "psk_dhe_ke" if case.kind == "resumed" else "full",
    }
    if case.tls12:
        resumed = case.kind == "resumed"
        want = {
            "version": "TLSv1.2",
            "suite": case.suite,
            "group": "none" if resumed else "x25519",
            "handshake": f"resumed-{case.resumption}" if resumed else "full",
            "scheme": "none" if resumed else TLS12_SCHEMES[case.key_type],
            "ems": "yes",
            # both servers: no CertificateRequest, and no new ticket when resuming
            "flight": "ServerHello ChangeCipherSpec Finished"
            if resumed
            else "ServerHello Certificate ServerKeyExchange ServerHelloDone",
        }
    for key, value in want.items():
        if seen.get(key) != value:
            raise RuntimeError(f"{side} negotiated {key} {seen.get(key)!r}, expected {value!r}")


# -- the stdlib side --------------------------------------------------------------------------

OPENSSL_CONF_TEMPLATE = """\
# Written by benchmarks/run.py: pins what Python 3.11's ssl module cannot set itself.
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
Ciphersuites = {suite}
Groups = X25519
"""
# TLS 1.2: the client lists P-256 too, since OpenSSL's TLS 1.2 server only uses an ECDSA
# certificate whose curve is in the client's supported_groups; the server is pinned to x25519
# with set_ecdh_curve (tlsmachine: the same two groups in the client, x25519 in the server).
OPENSSL_CONF_TEMPLATE_TLS12 = """\
# Written by benchmarks/run.py: the same settings for every SSL_CTX of the stdlib worker.
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MaxProtocol = TLSv1.2
CipherString = {cipher}
Groups = X25519:P-256
"""


class StdlibSide:
    """Two ``ssl.SSLObject`` talking through ``ssl.MemoryBIO`` pairs."""

    def __init__(self, pki: Path, case: Case) -> None:
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
        client.load_verify_locations(cafile=str(pki / "ca.pem"))
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(pki / f"{case.key_type}-chain.pem", pki / f"{case.key_type}-key.pem")
        server.set_ecdh_curve("X25519")
        if case.tls12:
            for ctx in (client, server):
                ctx.maximum_version = ssl.TLSVersion.TLSv1_2
                ctx.set_ciphers(OPENSSL_CIPHERS[case.suite])
                if case.resumption != "ticket":
                    # full handshakes and session-ID resumption: no tickets (tlsmachine:
                    # session_tickets=0); the server then caches each session by its ID
                    ctx.options |= ssl.OP_NO_TICKET
        else:
            client.minimum_version = ssl.TLSVersion.TLSv1_3
            server.minimum_version = ssl.TLSVersion.TLSv1_3
            client.set_ecdh_curve("X25519")
            # full handshakes: no tickets; resumed: one per handshake (tlsmachine:
            # session_tickets)
            server.num_tickets = 1 if case.kind == "resumed" else 0
        if client.verify_mode != ssl.CERT_REQUIRED or not client.check_hostname:
            raise RuntimeError("the stdlib client must verify the certificate and host name")
        self.case = case
        self.client_ctx, self.server_ctx = client, server
        self.negotiated: dict[str, str] = {}
        self.counts: Counts | Counts12 = Counts12() if case.tls12 else Counts()
        self.session: ssl.SSLSession | None = None
        if case.kind == "resumed" and case.tls12:
            client_obj, server_obj, _, _ = self.handshake()
            self._close_for_cache(server_obj)
            if client_obj.session_reused or server_obj.session_reused:
                raise RuntimeError("stdlib: the first handshake resumed a session")
            self.session = self._session12(client_obj, None)
            self.negotiated = {}  # recorded again by the first resumed handshake
        elif case.kind == "resumed":
            # the first ticket comes from a full handshake, which is not what we measure
            client_obj, server_obj, _, _ = self.handshake()
            if client_obj.session_reused or server_obj.session_reused:
                raise RuntimeError("stdlib: the first handshake resumed a session")
            self.session = self._take_ticket(client_obj, None)
            self.negotiated = {}  # recorded again by the first resumed handshake
            self.counts = Counts()  # the counts are of resumed handshakes

    def handshake(
        self, session: ssl.SSLSession | None = None
    ) -> tuple[ssl.SSLObject, ssl.SSLObject, ssl.MemoryBIO, ssl.MemoryBIO]:
        c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
        client = self.client_ctx.wrap_bio(c_in, c_out, server_hostname=HOST, session=session)
        server = self.server_ctx.wrap_bio(s_in, s_out, server_side=True)
        client_done = server_done = False
        client_flight = first_flight = b""
        for _ in range(MAX_ROUNDS):
            if not client_done:
                try:
                    client.do_handshake()
                    client_done = True
                except ssl.SSLWantReadError:
                    pass
            data = c_out.read()
            client_flight = client_flight or data
            s_in.write(data)
            if not server_done:
                try:
                    server.do_handshake()
                    server_done = True
                except ssl.SSLWantReadError:
                    pass
            flight = s_out.read()
            first_flight = first_flight or flight
            c_in.write(flight)
            if client_done and server_done:
                break
        else:
            raise RuntimeError("stdlib handshake did not finish")
        if not self.negotiated:
            self.negotiated = wire_params(self.case, client_flight, first_flight)
            self.negotiated["api"] = (
                f"{client.version()} {client.cipher()[0]}"  # type: ignore[index]
                f" session_reused={client.session_reused}"
            )
        return client, server, s_in, c_out

    def handshakes(self, count: int) -> None:
        for _ in range(count):
            self.handshake()

    def _take_ticket(self, client: ssl.SSLObject, old: ssl.SSLSession | None) -> ssl.SSLSession:
        """Process the NewSessionTicket that came with the server's last flight.

        In TLS 1.3 the ticket is a post-handshake message: OpenSSL reads it on the next read
        (which then wants more data), and only then does ``client.session`` hold a new session.
        """
        try:
            client.read(1)
        except ssl.SSLWantReadError:
            pass
        else:
            raise RuntimeError("stdlib: unexpected application data after the handshake")
        start = time.perf_counter_ns()
        session = client.session
        if isinstance(self.counts, Counts):
            self.counts.session_getter_ns += time.perf_counter_ns() - start
        if session is None or not session.has_ticket or (old is not None and session.id == old.id):
            raise RuntimeError("stdlib: the handshake did not bring a new session ticket")
        return session

    def resumed_handshakes(self, count: int) -> None:
        if self.case.tls12:
            self._resumed_handshakes12(count)
            return
        counts, take_ticket = self.counts, self._take_ticket
        assert isinstance(counts, Counts)
        for _ in range(count):
            old = self.session
            client, server, _, _ = self.handshake(old)
            if not (client.session_reused and server.session_reused):
                raise RuntimeError("stdlib: a handshake did not resume (session_reused False)")
            self.session = take_ticket(client, old)
            counts.resumed += 1
            counts.tickets += 1

    def _close_for_cache(self, server: ssl.SSLObject) -> None:
        """Session-ID resumption: the server sends close_notify (tlsmachine's too, the same
        work), or OpenSSL drops the session from its cache when the SSLObject goes away
        (``ssl_clear_bad_session``: a connection not shut down, RFC 2246 §7.2.1), and the next
        handshake could not resume."""
        if self.case.resumption != "session-id":
            return
        with contextlib.suppress(ssl.SSLWantReadError):
            server.unwrap()  # sends close_notify, then wants the client's

    def _session12(self, client: ssl.SSLObject, old: ssl.SSLSession | None) -> ssl.SSLSession:
        """The client's session after a TLS 1.2 handshake: resumable by the same ID, or with the
        same ticket (neither server renews a ticket when resuming, RFC 5077 §3.3 lets it)."""
        session = client.session
        ticket = self.case.resumption == "ticket"
        if session is None or session.has_ticket != ticket or not session.id:
            raise RuntimeError(f"stdlib: the handshake left no {self.case.resumption} session")
        if old is not None and session.id != old.id:
            raise RuntimeError("stdlib: the resumed handshake changed the session")
        return session

    def _resumed_handshakes12(self, count: int) -> None:
        counts, close, session = self.counts, self._close_for_cache, self.session
        assert isinstance(counts, Counts12)
        client: ssl.SSLObject | None = None
        for _ in range(count):
            # The session does not change when it is resumed (neither server renews tickets),
            # so the client keeps the SSLSession it has: a Python program need not call the
            # SSLObject.session getter, which costs ~160 µs (CPython copies the session
            # through i2d/d2i_SSL_SESSION), and a TLS 1.3 resumption cannot avoid.
            client, server, _, _ = self.handshake(session)
            close(server)
            if not (client.session_reused and server.session_reused):
                raise RuntimeError("stdlib: a handshake did not resume (session_reused False)")
            counts.resumed += 1
            counts.session_kept += 1
        if client is not None:  # still the first session (once per run, as tlsmachine's check)
            self._session12(client, session)

    def bulk(self) -> Callable[[int], None]:
        client, server, s_in, c_out = self.handshake()
        chunk = os.urandom(CHUNK)

        def run(total: int) -> None:
            received = 0
            for _ in range(total // CHUNK):
                client.write(chunk)
                s_in.write(c_out.read())
                need = CHUNK
                while need:  # one 16 KiB record; a short read would raise SSLWantReadError
                    need -= len(server.read(need))
                received += CHUNK
            if received != total:
                raise RuntimeError("stdlib bulk transfer lost data")

        return run


# -- the tlsmachine side ----------------------------------------------------------------------


class TlsmachineSide:
    """A ClientConnection and a ServerConnection moving bytes between them."""

    def __init__(self, pki: Path, case: Case) -> None:
        import tlsmachine
        from tlsmachine.crypto import groups, suites
        from tlsmachine.enums import PskKeyExchangeMode
        from tlsmachine.session import AeadTicketSealer

        x25519 = groups.X25519
        suite = getattr(suites, case.suite)
        self.tls = tlsmachine
        self.case = case
        resumed = case.kind == "resumed"
        # resumed: the client takes the newest ticket from the store (and removes it), each
        # ticket received goes back in; full handshakes: no store, no tickets
        self.store = tlsmachine.InMemoryClientSessionStore() if resumed else None
        self.negotiated: dict[str, str] = {}
        self.counts: Counts | Counts12 = Counts12() if case.tls12 else Counts()
        if case.tls12:
            self._init_tls12(pki, case)
            return
        # what OpenSSL does by default: resume with (EC)DHE only, stateless tickets
        psk_modes = (PskKeyExchangeMode.PSK_DHE_KE,)
        self.client_config = tlsmachine.ClientConfig(
            cadata=(pki / "ca.pem").read_bytes(),
            cipher_suites=(suite,),
            groups=(x25519,),
            session_store=self.store,
            psk_modes=psk_modes,
        )
        self.server_config = tlsmachine.ServerConfig(
            certificates=(
                tlsmachine.CertifiedKey.load(
                    pki / f"{case.key_type}-chain.pem", pki / f"{case.key_type}-key.pem"
                ),
            ),
            cipher_suites=(suite,),
            groups=(x25519,),
            # full handshakes: no tickets (stdlib: num_tickets = 0); resumed: one (num_tickets = 1)
            session_tickets=1 if resumed else 0,
            ticket_sealer=AeadTicketSealer(),
            psk_modes=psk_modes,
        )
        if not self.client_config.verify_certificates:
            raise RuntimeError("the tlsmachine client must verify the certificate and host name")
        if resumed:
            # the first ticket comes from a full handshake, which is not what we measure
            client, _ = self.handshake()
            info = client.handshake_info
            if info is None or info.resumed or self._stored() != 1:
                raise RuntimeError("tlsmachine: the first handshake did not bring one ticket")
            self.negotiated = {}  # recorded again by the first resumed handshake

    def _init_tls12(self, pki: Path, case: Case) -> None:
        """TLS 1.2 only on both ends; the stdlib side's settings, the tlsmachine way."""
        import tlsmachine
        from tlsmachine.crypto import groups, suites
        from tlsmachine.enums import ProtocolVersion
        from tlsmachine.session import AeadTicketSealer

        suite = getattr(suites, case.suite)
        tls12 = ProtocolVersion.TLS12
        self._first_master_secret: bytes | None = None
        self.client_config = tlsmachine.ClientConfig(
            cadata=(pki / "ca.pem").read_bytes(),
            max_version=tls12,
            tls12_cipher_suites=(suite,),
            # as the stdlib client (OPENSSL_CONF Groups = X25519:P-256)
            groups=(groups.X25519, groups.SECP256R1),
            session_store=self.store,
        )
        self.server_config = tlsmachine.ServerConfig(
            certificates=(
                tlsmachine.CertifiedKey.load(
                    pki / f"{case.key_type}-chain.pem", pki / f"{case.key_type}-key.pem"
                ),
            ),
            max_version=tls12,
            tls12_cipher_suites=(suite,),
            groups=(groups.X25519,),
            # full handshakes and session-ID resumption: no tickets (stdlib: OP_NO_TICKET),
            # each session gets an ID and goes in the server's session cache (session_ids,
            # as OpenSSL's default server cache); ticket resumption: RFC 5077 tickets
            session_tickets=1 if case.resumption == "ticket" else 0,
            ticket_sealer=AeadTicketSealer(),
        )
        if not self.client_config.verify_certificates:
            raise RuntimeError("the tlsmachine client must verify the certificate and host name")
        if case.kind == "resumed":
            # the first session comes from a full handshake, which is not what we measure
            client, server = self.handshake()
            self._close_for_cache(server)
            info = client.handshake_info
            if info is None or info.resumed or self._stored() != 1:
                raise RuntimeError("tlsmachine: the first handshake did not bring a session")
            self._check_session12()
            self.negotiated = {}  # recorded again by the first resumed handshake

    def handshake(self) -> tuple[ClientConnection, ServerConnection]:
        tls = self.tls
        client = tls.ClientConnection(self.client_config, server_name=HOST)
        server = tls.ServerConnection(self.server_config)
        app_data = tls.ConnectionState.APP_DATA
        client_flight = first_flight = b""
        for _ in range(MAX_ROUNDS):
            data = client.data_to_send()
            client_flight = client_flight or data
            server.receive_data(data)
            flight = server.data_to_send()
            first_flight = first_flight or flight
            client.receive_data(flight)
            if client.state is app_data and server.state is app_data:
                break
        else:
            raise RuntimeError("tlsmachine handshake did not finish")
        if not self.negotiated:
            self.negotiated = wire_params(self.case, client_flight, first_flight)
            info = client.handshake_info
            assert info is not None
            self.negotiated["api"] = (
                f"{info.version} {info.cipher_suite} {info.group} {info.signature_scheme}"
                f" resumed={info.resumed}"
            )
        return client, server

    def handshakes(self, count: int) -> None:
        for _ in range(count):
            self.handshake()

    def _stored(self) -> int:
        assert self.store is not None
        return len(self.store)

    def resumed_handshakes(self, count: int) -> None:
        if self.case.tls12:
            self._resumed_handshakes12(count)
            return
        counts, stored = self.counts, self._stored
        assert isinstance(counts, Counts)
        for _ in range(count):
            # the ClientConnection takes the ticket out of the store; the server's
            # NewSessionTicket arrives with its last flight and the client stores it
            client, server = self.handshake()
            c_info, s_info = client.handshake_info, server.handshake_info
            if not (c_info and c_info.resumed and s_info and s_info.resumed):
                raise RuntimeError("tlsmachine: a handshake did not resume (resumed False)")
            if stored() != 1:
                raise RuntimeError("tlsmachine: the handshake did not bring a new session ticket")
            counts.resumed += 1
            counts.tickets += 1

    def _close_for_cache(self, server: ServerConnection) -> None:
        """Session-ID resumption: the server sends close_notify, as the stdlib side must (see
        ``StdlibSide._close_for_cache``); tlsmachine keeps the session either way."""
        if self.case.resumption == "session-id":
            server.close()
            server.data_to_send()

    def _check_session12(self) -> None:
        """The store holds one TLS 1.2 session (the client took it out to offer it and put it
        back after resuming) with an ID, or a ticket, and the first one's master secret."""
        assert self.store is not None
        session = self.store.get(HOST, time.time())
        if session is None or len(self.store) != 0:
            raise RuntimeError("tlsmachine: the handshake did not leave exactly one session")
        self.store.put(session)
        if self.case.resumption == "ticket":
            ok = bool(session.ticket)
        else:
            ok = bool(session.session_id) and not session.ticket
        if self._first_master_secret is None:
            self._first_master_secret = session.psk
        if not ok or session.psk != self._first_master_secret:
            raise RuntimeError(f"tlsmachine: the handshake left no {self.case.resumption} session")

    def _resumed_handshakes12(self, count: int) -> None:
        counts, stored, close = self.counts, self._stored, self._close_for_cache
        assert isinstance(counts, Counts12)
        for _ in range(count):
            # the ClientConnection takes the session out of the store, offers its ID or
            # ticket, and puts it back after resuming (SessionTicketReceived)
            client, server = self.handshake()
            close(server)
            c_info, s_info = client.handshake_info, server.handshake_info
            if not (c_info and c_info.resumed and s_info and s_info.resumed):
                raise RuntimeError("tlsmachine: a handshake did not resume (resumed False)")
            if stored() != 1:
                raise RuntimeError("tlsmachine: the client did not keep the session")
            counts.resumed += 1
            counts.session_kept += 1
        self._check_session12()  # still the first session (once per run: cheap)

    def bulk(self) -> Callable[[int], None]:
        client, server = self.handshake()
        send, flush, receive = client.send, client.data_to_send, server.receive_data
        application_data = self.tls.ApplicationData
        chunk = os.urandom(CHUNK)

        def run(total: int) -> None:
            received = 0
            for _ in range(total // CHUNK):
                send(chunk)
                for event in receive(flush()):
                    if not isinstance(event, application_data):
                        raise RuntimeError(f"unexpected event {event!r}")
                    received += len(event.data)
            if received != total:
                raise RuntimeError("tlsmachine bulk transfer lost data")

        return run


# -- measuring (inside a worker process) ------------------------------------------------------


class AeadSide:
    """pyca's AEAD alone on the same 16 KiB records, encrypt + decrypt, no TLS: the most the
    tlsmachine side could reach in the bulk benchmarks (the gap is our record layer)."""

    def __init__(self, pki: Path, case: Case) -> None:
        self.case = case
        self.negotiated: dict[str, str] = {}

    def bulk(self) -> Callable[[int], None]:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

        chacha = "CHACHA20" in self.case.suite
        key = os.urandom(32 if chacha else 16)
        sender, receiver = (
            (ChaCha20Poly1305(key), ChaCha20Poly1305(key))
            if chacha
            else (
                AESGCM(key),
                AESGCM(key),
            )
        )
        chunk, aad = os.urandom(CHUNK + 1), b"\x17\x03\x03\x40\x11"  # + inner content type

        def run(total: int) -> None:
            for seq in range(total // CHUNK):
                nonce = seq.to_bytes(12, "big")
                receiver.decrypt(nonce, sender.encrypt(nonce, chunk, aad), aad)

        return run


SIDES: dict[str, Callable[[Path, Case], StdlibSide | TlsmachineSide | AeadSide]] = {
    "stdlib": StdlibSide,
    "tlsmachine": TlsmachineSide,
    "aead": AeadSide,
}


class Measurement:
    """One side of one case, set up and warmed up; :meth:`sample` times one repetition."""

    def __init__(
        self, side_name: str, case: Case, pki: Path, sizes: Sizes, clock: str = "wall"
    ) -> None:
        self.clock = time.process_time if clock == "cpu" else time.perf_counter
        side = SIDES[side_name](pki, case)
        self.counts = getattr(side, "counts", Counts())
        if case.kind in ("handshake", "resumed"):
            assert not isinstance(side, AeadSide)
            count = sizes.handshakes
            run_handshakes = (
                side.handshakes if case.kind == "handshake" else side.resumed_handshakes
            )
            run_handshakes(sizes.warmup_handshakes)
            self.work: Callable[[], None] = lambda: run_handshakes(count)
            self.amount = float(count)  # handshakes
        else:
            run = side.bulk()
            run(sizes.warmup_bytes)
            total = sizes.bulk_bytes
            self.work = lambda: run(total)
            self.amount = total / 1e6  # MB (10^6 bytes)
        if side_name != "aead":
            check_negotiated(case, side.negotiated, side_name)
        self.negotiated = side.negotiated

    def sample(self) -> float:
        gc.collect()
        clock = self.clock
        start = clock()
        self.work()
        return self.amount / (clock() - start)


def worker_main(args: argparse.Namespace) -> int:
    """Serve samples on request (``--serve``: one ``run`` line in, one JSON line out), or
    take all repetitions at once and print them (for profiling a side on its own)."""
    sizes = QUICK if args.quick else FULL
    if args.repeat:
        sizes = Sizes(**{**sizes.__dict__, "repeat": args.repeat})
    m = Measurement(args.worker, CASES_BY_NAME[args.case], Path(args.pki), sizes, args.clock)
    if not args.serve:
        samples = [m.sample() for _ in range(sizes.repeat)]
        result = {"median": statistics.median(samples), "samples": samples}
        result["counts"] = m.counts.__dict__
        print(json.dumps({**result, "negotiated": m.negotiated}))
        return 0
    print(json.dumps({"negotiated": m.negotiated}), flush=True)
    for line in sys.stdin:
        if line.strip() != "run":
            break
        sample = m.sample()
        print(json.dumps({"sample": sample, "counts": m.counts.__dict__}), flush=True)
    return 0


# -- orchestration (the parent process) -------------------------------------------------------


class Worker(WorkerProcess):
    """A worker process for one side of one case, answering sample requests."""

    def __init__(self, side: str, case: Case, pki: Path, args: argparse.Namespace) -> None:
        cmd = [sys.executable, __file__, "--worker", side, "--case", case.name]
        cmd += ["--pki", str(pki), "--serve"]
        if args.quick:
            cmd.append("--quick")
        if args.repeat:
            cmd += ["--repeat", str(args.repeat)]
        cmd += ["--clock", args.clock]
        env = child_env(ROOT / "src")
        if side == "stdlib":
            conf = pki / f"openssl-{case.suite}.cnf"
            if case.tls12:
                text = OPENSSL_CONF_TEMPLATE_TLS12.format(cipher=OPENSSL_CIPHERS[case.suite])
            else:
                text = OPENSSL_CONF_TEMPLATE.format(suite=case.suite)
            conf.write_text(text)
            env["OPENSSL_CONF"] = str(conf)
        self.samples: list[float] = []
        self.counts: dict[str, int] = {}
        super().__init__(cmd, env, f"{side} worker for {case.name}", WORKER_TIMEOUT)
        self.negotiated: dict[str, str] = self.reply()["negotiated"]

    def sample(self) -> None:
        reply = self.request("run")
        self.samples.append(float(reply["sample"]))
        self.counts = reply["counts"]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)


def rounds_of(repeat: int, processes: int) -> list[int]:
    """``repeat`` timed runs split as evenly as may be over ``processes`` rounds (at most one
    round per run): ``rounds_of(9, 3) == [3, 3, 3]``, ``rounds_of(7, 3) == [3, 2, 2]``."""
    count = max(1, min(processes, repeat))
    return [repeat // count + (1 if i < repeat % count else 0) for i in range(count)]


def run_case(case: Case, pki: Path, sizes: Sizes, args: argparse.Namespace) -> dict[str, object]:
    """Measure every side of one case with interleaved repetitions, so that load changes on
    the machine hit all sides alike, in ``--processes`` rounds of fresh worker processes, so
    that no side's figure rests on one process: on a shared VM one process can run at a
    different speed from the next for its whole life."""
    sides = ["stdlib", "tlsmachine"] + (["aead"] if case.kind == "bulk" else [])
    samples: dict[str, list[float]] = {side: [] for side in sides}
    pairs: list[float] = []  # ours / stdlib of runs taken back to back, in the same round
    counts: dict[str, dict[str, int]] = {side: {} for side in sides}
    negotiated: dict[str, dict[str, str]] = {}
    rounds = rounds_of(sizes.repeat, args.processes)
    for runs in rounds:
        workers: list[Worker] = []
        try:
            for side in sides:
                workers.append(Worker(side, case, pki, args))  # noqa: PERF401 - close on failure
            for rep in range(runs):
                for i in range(len(workers)):
                    workers[(rep + i) % len(workers)].sample()
        finally:
            for w in workers:
                w.close()
        for side, worker in zip(sides, workers, strict=True):
            samples[side] += worker.samples
            negotiated.setdefault(side, worker.negotiated)
            for key, value in worker.counts.items():  # each worker counts its own handshakes
                counts[side][key] = counts[side].get(key, 0) + value
        pairs += [a / b for a, b in zip(workers[1].samples, workers[0].samples, strict=True)]
    ours, stdlib = statistics.median(samples["tlsmachine"]), statistics.median(samples["stdlib"])
    ratio = ours / stdlib
    row: dict[str, object] = {
        "name": case.name,
        "label": case.label,
        "unit": "MB/s" if case.kind == "bulk" else "handshakes/s",
        "tlsmachine": ours,
        "stdlib": stdlib,
        "ratio": ratio,
        # median of the ratios of runs taken back to back: less sensitive to load drift
        "ratio_paired": statistics.median(pairs),
        "target": case.target,
        "pass": ratio >= case.target,
        "processes": len(rounds),
        "samples": {"tlsmachine": samples["tlsmachine"], "stdlib": samples["stdlib"]},
        "negotiated": {"tlsmachine": negotiated["tlsmachine"], "stdlib": negotiated["stdlib"]},
    }
    if case.kind == "resumed":
        # the workers checked every handshake (they fail otherwise); these are their counts
        row["resumed"] = {
            "handshakes": len(rounds) * sizes.warmup_handshakes + sizes.repeat * sizes.handshakes,
            "tlsmachine": counts["tlsmachine"],
            "stdlib": counts["stdlib"],
        }
    if case.kind == "bulk":
        row["aead_ceiling"] = statistics.median(samples["aead"])
        row["samples"]["aead_ceiling"] = samples["aead"]  # type: ignore[index]
    return row


def each_case_in_child(script: str, case_names: Sequence[str], args: list[str]) -> list[Any]:
    """For the scripts that measure every side in one process per case: make a test PKI, run
    ``script --case CASE --pki DIR ARGS`` for each case in a child process that has the
    ``OPENSSL_CONF`` pinning the case's suite for the stdlib side (as run.py's own workers
    do), and return their JSON outputs in order."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        pki = Path(tmp)
        make_test_pki(pki)
        for case_name in case_names:
            conf = pki / f"openssl-{case_name}.cnf"
            conf.write_text(OPENSSL_CONF_TEMPLATE.format(suite=CASES_BY_NAME[case_name].suite))
            env = {**child_env(ROOT / "src"), "OPENSSL_CONF": str(conf)}
            cmd = [sys.executable, script, "--case", case_name, "--pki", tmp, *args]
            child = subprocess.run(
                cmd, env=env, capture_output=True, text=True, timeout=WORKER_TIMEOUT, check=True
            )
            results.append(json.loads(child.stdout))
    return results


def make_test_pki(directory: Path) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from pki import make_pki
    finally:
        sys.path.remove(str(ROOT / "tests"))
    make_pki(directory, key_types=("ecdsa-p256", "rsa-2048"))


def environment() -> dict[str, str]:
    import cryptography
    from cryptography.hazmat.backends.openssl import backend

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": platform.processor() or platform.machine(),
        "stdlib_ssl_openssl": ssl.OPENSSL_VERSION,
        "cryptography": cryptography.__version__,
        "cryptography_openssl": backend.openssl_version_text(),
    }


def table(rows: list[dict[str, object]]) -> str:
    head = ("benchmark", "tlsmachine", "stdlib ssl", "ratio", "paired", "target", "result")
    body = [
        (
            str(r["label"]),
            f"{r['tlsmachine']:,.1f}",
            f"{r['stdlib']:,.1f}",
            f"{r['ratio']:.2f}x",
            f"{r['ratio_paired']:.2f}x",
            f">= {r['target']:.1f}x",
            "PASS" if r["pass"] else "FAIL",
        )
        for r in rows
    ]
    widths = [max(len(line[i]) for line in (head, *body)) for i in range(len(head))]
    right = (False, True, True, True, True, True, False)

    def fmt(line: tuple[str, ...]) -> str:
        cells = (
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(line, widths, right, strict=True)
        )
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(head), rule, *(fmt(line) for line in body)])


def main_parent(args: argparse.Namespace) -> int:
    if args.only:
        cases = [CASES_BY_NAME[n] for n in args.only]
    else:
        cases = [*CASES, *(TLS12_CASES if args.tls12 else ())]
    sizes = QUICK if args.quick else FULL
    if args.repeat:
        sizes = Sizes(**{**sizes.__dict__, "repeat": args.repeat})
    with tempfile.TemporaryDirectory(prefix="tlsmachine-bench-") as tmp:
        pki = Path(args.keep_pki) if args.keep_pki else Path(tmp)
        pki.mkdir(parents=True, exist_ok=True)
        make_test_pki(pki)
        rows: list[dict[str, object]] = []
        for case in cases:
            if not args.json:
                print(f"  running {case.name} ...", file=sys.stderr, flush=True)
            rows.append(run_case(case, pki, sizes, args))
    report = {
        "quick": args.quick,
        "clock": "time.process_time" if args.clock == "cpu" else "time.perf_counter",
        "sizes": sizes.__dict__,
        "processes": args.processes,
        "environment": environment(),
        "results": rows,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report, rows, sizes)
    missed = [r["name"] for r in rows if not r["pass"]]
    return 1 if args.check and missed else 0


def print_report(report: dict[str, object], rows: list[dict[str, object]], sizes: Sizes) -> None:
    env = report["environment"]
    assert isinstance(env, dict)
    print()
    print(table(rows))
    print()
    print(
        f"medians of {sizes.repeat} interleaved runs in {report['processes']} rounds of fresh"
        f" worker processes ({report['clock']}; paired: the median"
        " of the ratios of runs taken back to back, steadier when the machine's speed"
        " changes; the targets are judged on ratio);"
        f" handshakes: {sizes.handshakes} per run, client + server CPU;"
        f" bulk: {sizes.bulk_bytes // MIB} MiB one way in {CHUNK // 1024} KiB writes,"
        " encrypt + decrypt CPU; MB = 10^6 bytes"
    )
    for r in rows:
        if "resumed" in r and "session_kept" in r["resumed"]["stdlib"]:  # type: ignore[index]
            checked = r["resumed"]
            assert isinstance(checked, dict)
            how = CASES_BY_NAME[str(r["name"])].resumption.replace("-", " ")
            seen = ", ".join(
                f"{side} {checked[side]['resumed']} resumed + {checked[side]['session_kept']} kept"
                for side in ("tlsmachine", "stdlib")
            )
            print(
                f"  {r['name']}: every handshake ({checked['handshakes']} per side, warm-up"
                f" included) resumed on both ends by {how} and left the client the same session"
                f" for the next one: {seen}"
            )
        elif "resumed" in r:
            checked = r["resumed"]
            assert isinstance(checked, dict)
            seen = ", ".join(
                f"{side} {checked[side]['resumed']} resumed"
                f" + {checked[side]['tickets']} new tickets"
                for side in ("tlsmachine", "stdlib")
            )
            print(
                f"  {r['name']}: every handshake ({checked['handshakes']} per side, warm-up"
                f" included) resumed on both ends with the newest ticket and got a new one: {seen}"
            )
            getter = checked["stdlib"].get("session_getter_ns", 0) / 1e9 / checked["handshakes"]
            if getter:
                stdlib_seconds = 1 / float(r["stdlib"]) - getter  # type: ignore[arg-type]
                print(
                    f"  {r['name']}: {getter * 1e6:,.0f} µs of each stdlib handshake is the"
                    " client's SSLObject.session getter (counted: resuming needs it); without"
                    f" it the ratio would be {float(r['tlsmachine']) * stdlib_seconds:.2f}x"  # type: ignore[arg-type]
                )
        if "aead_ceiling" in r:
            ceiling = float(r["aead_ceiling"])  # type: ignore[arg-type]
            print(
                f"  {r['name']}: pyca AEAD alone (no TLS) does {ceiling:,.1f} MB/s;"
                f" tlsmachine reaches {float(r['tlsmachine']) / ceiling:.0%} of it"  # type: ignore[arg-type]
            )
    print("negotiated, read off the ServerHello on the wire (and as the API reports it):")
    width = max(len(str(r["name"])) for r in rows)
    for r in rows:
        for side in ("tlsmachine", "stdlib"):
            n = r["negotiated"][side]  # type: ignore[index]
            wire = f"{n['version']} {n['suite']} {n['group']} {n['handshake']}"
            if "flight" in n:  # TLS 1.2: ServerKeyExchange scheme, EMS, the server's flight
                wire += f" {n['scheme']} ems={n['ems']} [{n['flight']}]"
            print(f"  {r['name']:<{width}} {side:<10}  {wire}  ({n['api']})")
    print(
        f"python {env['python']}; stdlib ssl: {env['stdlib_ssl_openssl']}; cryptography"
        f" {env['cryptography']} on {env['cryptography_openssl']}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--repeat", type=int, default=0, help="timed runs per figure")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="time.perf_counter (default) or time.process_time of each worker process:"
        " steadier on a busy machine (both count client + server together)",
    )
    parser.add_argument(
        "--tls12",
        action="store_true",
        help="also run the TLS 1.2 cases (tls12-*), which are not in the default set",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=sorted(CASES_BY_NAME),
        metavar="CASE",
        help=f"run only these cases: {', '.join(CASES_BY_NAME)}",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=0,
        help="rounds of fresh worker processes per case, the timed runs split between them"
        " (default 3; 1 with --quick)",
    )
    parser.add_argument("--keep-pki", metavar="DIR", help="write the test PKI here and keep it")
    parser.add_argument("--worker", choices=sorted(SIDES), help=argparse.SUPPRESS)
    parser.add_argument("--case", choices=sorted(CASES_BY_NAME), help=argparse.SUPPRESS)
    parser.add_argument("--pki", help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 0 or args.repeat > 100:
        parser.error("--repeat must be 1..100")
    if args.processes < 0 or args.processes > 20:
        parser.error("--processes must be 1..20")
    args.processes = args.processes or (1 if args.quick else 3)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker_main(args)
    return main_parent(args)


if __name__ == "__main__":
    sys.exit(main())
