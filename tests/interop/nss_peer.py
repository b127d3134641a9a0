"""NSS (Mozilla's TLS library, Firefox's) as an interop peer: ``selfserv`` and ``tstclnt`` from
Debian's ``libnss3-tools``, over 127.0.0.1, with throw-away NSS databases made from the test PKI.

* :func:`make_nss_db`: an NSS database (``certutil -N``) trusting the test CA (``-t CT,C,C``:
  for servers and for client certificates) and, optionally, holding one leaf and its key
  (imported with ``pk12util`` from a PKCS#12 file written with ``cryptography``). One database
  per leaf: every test leaf has the same subject (``CN=localhost``) and NSS gives all
  certificates with one subject the same nickname, so two leaves in one database could not be
  told apart.
* :func:`selfserv`: NSS's test server. It cannot listen on port 0 (we pick a free port and
  retry), and it always binds every interface (``PR_INADDR_ANY``; no option to restrict it):
  the tests only ever connect to 127.0.0.1. It is a toy HTTP server: it reads until a blank
  line, answers ``HTTP/1.0 200 OK`` with its canned headers, the request itself and
  ``EOF\\r\\n\\r\\n\\r\\n``, then closes the connection (close_notify). A request starting with
  ``GET `` would make it open the named local file (``GET /stop`` stops it), so requests here
  never start with ``GET``.
* :func:`tstclnt`: NSS's test client. It sends what it reads from its request file (``-A``; a
  regular file, because on a pipe at EOF it spins on POLLHUP), prints what it receives on
  stdout, and never closes by itself: it exits when the server closes. ``-L N`` makes N
  connections one after the other in one process, sharing NSS's client session cache
  (resumption) and sending the request file each time.
* :class:`ClosingEchoServer`: our server for ``tstclnt``: it echoes, and closes (close_notify,
  then waiting for NSS's) once the request ends with a blank line, like ``selfserv`` does.

What NSS reports (``-v``): ``SSL version 3.4 using 128-bit AES-GCM with 128-bit AEAD MAC``, then
``Server Auth: 256-bit ECDSA, Key Exchange: 255-bit ECDHE`` (TLS 1.2; TLS 1.3 says ``TLS 1.3``
for both algorithms but still gives the key sizes: 255 bits is x25519, 2048 ffdhe2048) and,
from ``tstclnt``, ``Signature Scheme: ecdsa_secp256r1_sha256``. Resumption shows in the session
cache counters: ``N cache hits`` (tstclnt, cumulative over its connections; ``selfserv`` says
``N cache hits`` for ID/cache resumptions and ``N stateless resumes`` for tickets).
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from peers import TIMEOUT, OurServer, PeerProcess, Peers, ServedConnection, free_port, tool

from pki import TestPKI
from tlsmachine import ServerConfig
from tlsmachine.sockets import TLSSocket

NSS_GROUPS = {
    "x25519": "x25519",
    "secp256r1": "P256",
    "secp384r1": "P384",
    "secp521r1": "P521",
    "ffdhe2048": "FF2048",
    "ffdhe3072": "FF3072",
}
"""Our group names -> NSS's ``-I`` names."""

GROUP_BITS = {
    "x25519": 255,
    "secp256r1": 256,
    "secp384r1": 384,
    "secp521r1": 521,
    "ffdhe2048": 2048,
    "ffdhe3072": 3072,
}
"""The key exchange size NSS prints for each group (``Key Exchange: 255-bit ...``)."""

SUITE_CODES = {
    "TLS_AES_128_GCM_SHA256": 0x1301,
    "TLS_AES_256_GCM_SHA384": 0x1302,
    "TLS_CHACHA20_POLY1305_SHA256": 0x1303,
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": 0xC02B,
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": 0xC02C,
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": 0xC02F,
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": 0xC030,
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": 0xCCA8,
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": 0xCCA9,
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256": 0x009E,
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384": 0x009F,
    "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256": 0xCCAA,
}
"""IANA names -> code points, for NSS's ``-c :XXXX`` cipher restriction."""

NSS_VERSIONS = {"TLSv1.2": "tls1.2", "TLSv1.3": "tls1.3"}


def nss_cipher(suite: str) -> str:
    """What NSS prints for a suite's AEAD: ``128-bit AES-GCM``, ``256-bit CHACHA20POLY1305``."""
    if "CHACHA20" in suite:
        return "256-bit CHACHA20POLY1305"
    return "128-bit AES-GCM" if "AES_128" in suite else "256-bit AES-GCM"


def cipher_arg(suites: Sequence[str]) -> list[str]:
    """``-c :1301:1302``: only these suites (every other one is disabled)."""
    return ["-c", "".join(f":{SUITE_CODES[s]:04X}" for s in suites)] if suites else []


def groups_arg(groups: Sequence[str]) -> list[str]:
    return ["-I", ",".join(NSS_GROUPS[g] for g in groups)] if groups else []


# -- NSS databases --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NssDb:
    """An NSS database directory (``sql:`` format, empty password) and its leaf's nickname."""

    directory: Path
    nickname: str | None

    @property
    def arg(self) -> str:
        return f"sql:{self.directory}"


def _run(argv: Sequence[str]) -> None:
    done = subprocess.run(argv, capture_output=True, timeout=TIMEOUT, check=False)
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(argv)} failed ({done.returncode}):\n"
            f"{done.stdout.decode(errors='replace')}{done.stderr.decode(errors='replace')}"
        )


def make_nss_db(pki: TestPKI, directory: Path, leaf: str | None = None) -> NssDb:
    """A fresh database in ``directory`` trusting the test CA, with ``leaf`` (nickname = the
    leaf's name) and its private key when given."""
    directory.mkdir(parents=True, exist_ok=False)
    db = f"sql:{directory}"
    _run([tool("certutil"), "-N", "-d", db, "--empty-password"])
    _run([tool("certutil"), "-A", "-d", db, "-n", "test-ca", "-t", "CT,C,C", "-a", "-i",
          str(pki.ca_path)])  # fmt: skip
    if leaf is None:
        return NssDb(directory, None)
    issued = pki.leaves[leaf]
    p12 = directory / f"{leaf}.p12"
    password = b"nss-interop"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            leaf.encode(),
            issued.key,
            issued.cert,
            list(issued.chain[1:]) or None,
            BestAvailableEncryption(password),
        )
    )
    _run([tool("pk12util"), "-i", str(p12), "-d", db, "-W", password.decode(), "-K", ""])
    return NssDb(directory, leaf)


# -- selfserv -------------------------------------------------------------------------------------


def selfserv(
    peers: Peers,
    db: NssDb,
    *,
    versions: str = "tls1.3:tls1.3",
    groups: Sequence[str] = (),
    suites: Sequence[str] = (),
    extra: Sequence[str] = (),
) -> tuple[PeerProcess, int]:
    """``selfserv -v`` with ``db``'s leaf on a free port (retried if taken meanwhile)."""
    assert db.nickname is not None
    for _attempt in range(5):
        port = free_port()
        argv = [tool("selfserv"), "-d", db.arg, "-n", db.nickname, "-p", str(port), "-v"]
        argv += ["-V", versions, *groups_arg(groups), *cipher_arg(suites), *extra]
        server = peers.start(argv, "selfserv")
        try:
            server.wait_for(r"selfserv: About to call accept")
        except AssertionError:
            if "PR_Bind" in server.output or "in use" in server.output:
                server.stop()
                continue
            raise
        return server, port
    raise AssertionError("selfserv could not bind a free port in 5 attempts")


def selfserv_request(tag: str, size: int = 0) -> bytes:
    """A request ``selfserv`` echoes: text lines ended by a blank line (not ``GET``/``POST``)."""
    body = b"".join(b"line %04d %s\r\n" % (i, b"z" * 60) for i in range(size // 72))
    return b"PING " + tag.encode() + b"\r\n" + body + b"\r\n"


SELFSERV_HEADER = (
    b"HTTP/1.0 200 OK\r\nServer: Generic Web Server\r\nDate: Tue, 26 Aug 1997 22:10:05 GMT\r\n"
    b"Content-type: text/plain\r\n\r\n"
)
SELFSERV_EOF = b"EOF\r\n\r\n\r\n"


def selfserv_answer(request: bytes) -> bytes:
    """What ``selfserv`` answers to ``request`` (then it closes the connection)."""
    return SELFSERV_HEADER + request + SELFSERV_EOF


# -- tstclnt --------------------------------------------------------------------------------------


def tstclnt(
    peers: Peers,
    port: int,
    db: NssDb,
    request_file: Path,
    *,
    versions: str = "tls1.3:tls1.3",
    groups: Sequence[str] = (),
    suites: Sequence[str] = (),
    connections: int = 1,
    client_cert: bool = False,
    extra: Sequence[str] = (),
) -> PeerProcess:
    """``tstclnt -v`` to 127.0.0.1:port, SNI and certificate check for ``localhost``, sending
    ``request_file`` on each of ``connections`` connections (``-L``)."""
    argv = [tool("tstclnt"), "-h", "127.0.0.1", "-p", str(port), "-a", "localhost", "-4"]
    argv += ["-d", db.arg, "-v", "-A", str(request_file), "-V", versions]
    argv += [*groups_arg(groups), *cipher_arg(suites)]
    if connections > 1:
        argv += ["-L", str(connections)]
    if client_cert:
        assert db.nickname is not None
        argv += ["-n", db.nickname]
    return peers.start([*argv, *extra], "tstclnt")


def run_tstclnt(client: PeerProcess, timeout: float = TIMEOUT) -> str:
    """Wait for ``tstclnt`` to exit (it does when the server closes); its output."""
    status = client.wait(timeout)
    assert status == 0, client.describe()
    return client.output


def security_info(output: str, program: str = "tstclnt") -> list[dict[str, str]]:
    """Each handshake's ``SSL version ...`` / ``Server Auth ...`` lines, parsed."""
    pattern = re.compile(
        program + r": SSL version (?P<version>\d\.\d) using (?P<cipher>\d+-bit \S+) with .*\n"
        + program + r": Server Auth: (?P<auth_bits>\d+)-bit (?P<auth>.+?), "
        r"Key Exchange: (?P<kea_bits>\d+)-bit (?P<kea>.+)\n"
        r"\s+Compression: NULL, Extended Master Secret: (?P<ems>Yes|No)"
        r"(?:\n\s+Signature Scheme: (?P<scheme>\S+))?"
    )  # fmt: skip
    return [m.groupdict() for m in pattern.finditer(output)]


# -- our server, for tstclnt ----------------------------------------------------------------------


@dataclass
class ClosingEchoServer(OurServer):
    """Our server for ``tstclnt``: echo until the request's blank line, then close (sending
    close_notify and waiting for NSS's), as ``selfserv`` does."""

    post_handshake_auth: bool = False
    """Ask for the client's certificate after its first data (RFC 8446 §4.6.2)."""

    def _echo(self, tls: TLSSocket) -> None:
        record = self._current[threading.get_ident()] = ServedConnection()
        record.info = tls.handshake_info
        asked = False
        while not record.received.endswith(b"\r\n\r\n"):
            data = tls.recv()
            if not data:
                break
            record.received += data
            if self.post_handshake_auth and not asked:
                tls.verify_client_post_handshake()  # the answer comes with a later read
                asked = True
            tls.sendall(data)
        record.early_data = tls.early_data_received
        tls.close(timeout=TIMEOUT)  # close_notify, then wait for the peer's
        record.clean_close = tls.clean_close
        self._finish(self._current.pop(threading.get_ident()))


def closing_echo_server(
    peers: Peers, config: ServerConfig, *, post_handshake_auth: bool = False
) -> ClosingEchoServer:
    """A :class:`ClosingEchoServer`, stopped with the ``peers`` fixture's teardown."""
    server = ClosingEchoServer(config, post_handshake_auth=post_handshake_auth)
    peers.servers.append(server)
    return server
