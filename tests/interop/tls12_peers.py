"""TLS 1.2 peers for the interop tests: the suite/group/certificate matrix and peer launchers.

Built on :mod:`peers` (the ``peers`` fixture stops everything started here): the helpers there
speak TLS 1.3 only, these pin the peer to TLS 1.2 (``openssl -tls1_2``, GnuTLS
``-VERS-ALL:+VERS-TLS1.2``, Python ``maximum_version=TLSv1_2``).

The matrix covers every pair of (suite, group), (suite, certificate) and (certificate, group)
at least once instead of the full product, so that the three peers and both directions stay
well under a minute:

* ECDHE-ECDSA: 3 suites x 5 curves, the certificate rotating over ECDSA P-256, ECDSA P-384
  and Ed25519 (RFC 8422 §5.3: ECDSA suites take EdDSA keys too);
* ECDHE-RSA: 3 suites x 5 curves, RSA 2048;
* DHE-RSA: 3 suites x the finite-field groups (RFC 7919 ffdhe2048/3072, and OpenSSL 3.0's
  default RFC 3526 MODP group when ``s_server`` gets no ``-dhparam``).
"""

from __future__ import annotations

import functools
import re
import socket
import ssl
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

import pytest
from peers import (
    OPENSSL_GROUPS,
    TIMEOUT,
    PeerProcess,
    Peers,
    PythonTLSServer,
    free_port,
    server_certificates,
    tool,
)

from tlsmachine import ServerConfig
from tlsmachine.crypto.groups import GROUPS, Group
from tlsmachine.crypto.suites import TLS12_SUITES, CipherSuite12
from tlsmachine.session_cache import InMemorySessionCache

TLS12_PRIORITY = "NORMAL:-VERS-ALL:+VERS-TLS1.2"
"""GnuTLS: TLS 1.2 only, its default suites and groups."""

ECDHE_GROUPS = ("x25519", "x448", "secp256r1", "secp384r1", "secp521r1")
ECDSA_LEAVES = ("ecdsa-p256", "ecdsa-p384", "ed25519")
CERT_CURVE = {"ecdsa-p256": "secp256r1", "ecdsa-p384": "secp384r1"}
"""RFC 8422 §4: in TLS 1.2 the client's supported_groups also constrains the curve of an
ECDSA server certificate; a peer that offers only other curves rejects the certificate."""

SCHEME12 = {
    # the server's ServerKeyExchange signature scheme, per certificate (TLS 1.2 names)
    "ecdsa-p256": "ecdsa_secp256r1_sha256",
    "ecdsa-p384": "ecdsa_secp384r1_sha384",
    "ed25519": "ed25519",
    "rsa-2048": "rsa_pss_rsae_sha256",
}
OPENSSL_SUITE = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256": "DHE-RSA-AES128-GCM-SHA256",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384": "DHE-RSA-AES256-GCM-SHA384",
    "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "DHE-RSA-CHACHA20-POLY1305",
}
"""IANA name -> OpenSSL name (also what Python's ``SSLSocket.cipher()`` reports)."""
OPENSSL_TEMP_KEY = {
    # what s_client prints as "Server Temp Key: ..." for each group
    "x25519": "X25519, 253 bits",
    "x448": "X448, 448 bits",
    "secp256r1": "ECDH, prime256v1, 256 bits",
    "secp384r1": "ECDH, secp384r1, 384 bits",
    "secp521r1": "ECDH, secp521r1, 521 bits",
    "ffdhe2048": "DH, 2048 bits",
    "ffdhe3072": "DH, 3072 bits",
}
GNUTLS_GROUP = {
    "x25519": "X25519",
    "x448": "X448",
    "secp256r1": "SECP256R1",
    "secp384r1": "SECP384R1",
    "secp521r1": "SECP521R1",
    "ffdhe2048": "FFDHE2048",
    "ffdhe3072": "FFDHE3072",
}
GNUTLS_SIGN = {
    # GnuTLS's SIGN-* name (also in its "- Description:" line) of SCHEME12[leaf]
    "ecdsa-p256": "ECDSA-SHA256",
    "ecdsa-p384": "ECDSA-SHA384",
    "ed25519": "EdDSA-Ed25519",
    "rsa-2048": "RSA-PSS-RSAE-SHA256",
}
PYTHON_CURVE = {
    # names for ssl.SSLContext.set_ecdh_curve (OpenSSL 3: the only group offered/accepted)
    "x25519": "X25519",
    "x448": "X448",
    "secp256r1": "prime256v1",
    "secp384r1": "secp384r1",
    "secp521r1": "secp521r1",
}

_SUITES = {s.name: s for s in TLS12_SUITES}
_GROUPS = {g.name: g for g in GROUPS.values()}


def cached_sessions(config: ServerConfig) -> int:
    """How many TLS 1.2 sessions our server keeps by session ID (RFC 5246 §7.4.1.2)."""
    cache = config.tls12_session_cache()
    assert isinstance(cache, InMemorySessionCache)
    return len(cache)


def suite12(name: str) -> CipherSuite12:
    return _SUITES[name]


def group(name: str) -> Group:
    return _GROUPS[name]


def gnutls_kx(suite: str) -> str:
    """``TLS_ECDHE_RSA_WITH_...`` -> ``ECDHE-RSA`` (a GnuTLS KX name)."""
    return suite.removeprefix("TLS_").split("_WITH_")[0].replace("_", "-")


def gnutls_cipher(suite: str) -> str:
    """``..._WITH_AES_128_GCM_SHA256`` -> ``AES-128-GCM`` (a GnuTLS CIPHER name)."""
    aead = suite.split("_WITH_")[1]
    return "CHACHA20-POLY1305" if "CHACHA20" in aead else aead.rsplit("_", 1)[0].replace("_", "-")


def short(suite: str) -> str:
    """A readable test id: ``ECDHE_ECDSA_AES_128_GCM``."""
    return suite.removeprefix("TLS_").replace("_WITH", "").rsplit("_SHA", 1)[0]


# -- the matrix ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One negotiation to test: the suite, the key exchange group and the server's leaf."""

    suite: str
    group: str
    leaf: str

    @property
    def dhe(self) -> bool:
        return self.suite.startswith("TLS_DHE_")

    def param(self) -> object:
        return pytest.param(self, id=f"{short(self.suite)}-{self.group}-{self.leaf}")


def _ecdhe_cases() -> list[Case]:
    cases = []
    ecdsa = [s.name for s in TLS12_SUITES if s.authentication == "ECDSA"]
    for i, (suite, grp) in enumerate(product(ecdsa, ECDHE_GROUPS)):
        # 15 cases, 3 leaves in rotation: each suite and each curve meets each leaf once
        cases.append(Case(suite, grp, ECDSA_LEAVES[i % len(ECDSA_LEAVES)]))
    rsa = [s.name for s in TLS12_SUITES if s.key_exchange == "ECDHE" and s.authentication == "RSA"]
    cases += [Case(suite, grp, "rsa-2048") for suite, grp in product(rsa, ECDHE_GROUPS)]
    return cases


ECDHE_CASES = _ecdhe_cases()
DHE_SUITES = tuple(s.name for s in TLS12_SUITES if s.key_exchange == "DHE")
FFDHE_CASES = [Case(s, g, "rsa-2048") for s, g in product(DHE_SUITES, ("ffdhe2048", "ffdhe3072"))]


def case_groups(case: Case) -> list[str]:
    """The case's group, plus the ECDSA certificate's curve: in TLS 1.2 the client's
    supported_groups also covers the curve of an ECDSA server certificate (RFC 8422 §4)."""
    curve = CERT_CURVE.get(case.leaf)
    return [case.group] + ([curve] if curve and curve != case.group else [])


def case_server_config(peers: Peers, case: Case, groups: Sequence[str]) -> ServerConfig:
    """Our server with only the case's certificate and suite, and only ``groups``."""
    return ServerConfig(
        certificates=server_certificates(peers, case.leaf),
        tls12_cipher_suites=(suite12(case.suite),),
        groups=tuple(group(g) for g in groups),
    )


# -- files the peers need ---------------------------------------------------------------------


@functools.cache
def ffdhe_params(directory: Path, name: str) -> Path:
    """PKCS#3 parameters of an RFC 7919 group (``openssl genpkey -genparam``), made once."""
    path = directory / f"{name}-params.pem"
    argv = [tool("openssl"), "genpkey", "-genparam", "-algorithm", "DH"]
    argv += ["-pkeyopt", f"group:{name}", "-out", str(path)]
    subprocess.run(argv, check=True, capture_output=True, timeout=TIMEOUT)
    assert b"BEGIN DH PARAMETERS" in path.read_bytes()
    return path


@functools.cache
def no_ems_openssl_conf(directory: Path) -> Path:
    """An OPENSSL_CONF that turns the extended master secret off (RFC 7627): OpenSSL 3.0 has
    no ``-no_ems`` flag, but its SSL_CONF ``Options = -ExtendedMasterSecret`` does the same."""
    path = directory / "openssl-no-ems.cnf"
    path.write_text(
        "openssl_conf = openssl_init\n"
        "[openssl_init]\nssl_conf = ssl_sect\n"
        "[ssl_sect]\nsystem_default = system_default_sect\n"
        "[system_default_sect]\nOptions = -ExtendedMasterSecret\n"
    )
    return path


# -- OpenSSL --------------------------------------------------------------------------------


def _env(openssl_conf: Path | None) -> list[str]:
    return [tool("env"), f"OPENSSL_CONF={openssl_conf}"] if openssl_conf else []


def openssl_server12(
    peers: Peers,
    leaf: str = "ecdsa-p256",
    *,
    mode: str = "-rev",
    cipher: str | None = None,
    groups: Sequence[str] = (),
    naccept: int = 1,
    version: str = "-tls1_2",
    openssl_conf: Path | None = None,
    extra: Sequence[str] = (),
) -> tuple[PeerProcess, int]:
    """``openssl s_server -tls1_2`` on an ephemeral port; ``cipher`` is an IANA suite name.

    ``mode``: ``-rev`` (answers each line reversed), ``-www`` (a status page) or ``""`` (prints
    what it receives, sends its stdin, takes commands such as ``r`` = renegotiate)."""
    issued = peers.pki.leaves[leaf]
    argv = [*_env(openssl_conf), tool("openssl"), "s_server", "-accept", "127.0.0.1:0"]
    if version:
        argv.append(version)
    argv += ["-cert", str(issued.chain_path), "-key", str(issued.key_path)]
    argv += ["-naccept", str(naccept)]
    if cipher:
        argv += ["-cipher", OPENSSL_SUITE[cipher]]
    if groups:
        argv += ["-groups", ":".join(OPENSSL_GROUPS[g] for g in groups)]
    argv += [mode, *extra] if mode else list(extra)  # no mode: s_server's interactive one
    peer = peers.start(argv, "openssl s_server")
    port = int(peer.wait_for(r"ACCEPT 127\.0\.0\.1:(\d+)").group(1))
    return peer, port


def openssl_client12(
    peers: Peers,
    port: int,
    *,
    cipher: str | None = None,
    groups: Sequence[str] = (),
    sigalgs: str | None = None,
    version: str = "-tls1_2",
    openssl_conf: Path | None = None,
    extra: Sequence[str] = (),
) -> PeerProcess:
    """``openssl s_client -tls1_2`` verifying our server against the test CA."""
    argv = [*_env(openssl_conf), tool("openssl"), "s_client", "-connect", f"127.0.0.1:{port}"]
    if version:
        argv.append(version)
    argv += ["-CAfile", str(peers.pki.ca_path), "-verify_return_error"]
    argv += ["-servername", "localhost", "-verify_hostname", "localhost"]
    if cipher:
        argv += ["-cipher", OPENSSL_SUITE[cipher]]
    if groups:
        argv += ["-groups", ":".join(OPENSSL_GROUPS[g] for g in groups)]
    if sigalgs:
        argv += ["-sigalgs", sigalgs]
    argv += list(extra)
    return peers.start(argv, "openssl s_client")


def s_client_echo(
    client: PeerProcess, lines: Sequence[bytes] = (b"ping one\n", b"ping two\n")
) -> str:
    """Wait for the handshake, echo ``lines`` through our server one at a time (each must come
    back before the next goes), then end stdin: s_client sends close_notify and exits 0."""
    client.wait_for(r"CONNECTION ESTABLISHED|Verify return code: 0 \(ok\)")
    for line in lines:
        client.write(line)
        client.wait_for("^" + re.escape(line.decode()))
    client.close_stdin()
    assert client.wait() == 0, client.describe()
    return client.output


def run_to_exit(peer: PeerProcess, timeout: float = TIMEOUT) -> tuple[int, str]:
    """End a peer's stdin and wait (bounded) for it to exit: ``(status, output)``."""
    peer.close_stdin()
    return peer.wait(timeout), peer.output


def msg_handshake(output: str, message: str) -> bytes:
    """The bytes of the first handshake ``message`` (e.g. "ServerHello") in ``-msg`` output."""
    match = re.search(
        rf"^(?:<<<|>>>) TLS 1\.2, Handshake \[length [0-9a-f]+\], {message}\n((?:    .*\n)+)",
        output,
        re.MULTILINE,
    )
    assert match, f"no {message} in the -msg output:\n{output}"
    return bytes.fromhex(" ".join(line.strip() for line in match.group(1).splitlines()))


def server_random(output: str) -> bytes:
    """The ServerHello random (RFC 5246 §7.4.1.3) from ``openssl ... -msg`` output."""
    hello = msg_handshake(output, "ServerHello")
    assert hello[0] == 2 and hello[4:6] == b"\x03\x03", hello.hex()  # msg_type, legacy_version
    return hello[6:38]


# -- GnuTLS ---------------------------------------------------------------------------------


def gnutls_priority12(
    case: Case | None = None,
    *,
    groups: Sequence[str] = (),
    sign: str | None = None,
    extra: str = "",
) -> str:
    """TLS 1.2 only; with a ``case``, only its suite, and only ``groups`` (default: the case's
    group), and only ``sign`` (a SIGN-* name) when given."""
    prio = TLS12_PRIORITY
    if case is not None:
        prio += f":-KX-ALL:+{gnutls_kx(case.suite)}:-CIPHER-ALL:+{gnutls_cipher(case.suite)}"
        prio += ":-MAC-ALL:+AEAD"
        groups = groups or [case.group]
    if groups:
        prio += ":-GROUP-ALL:" + ":".join(f"+GROUP-{GNUTLS_GROUP[g]}" for g in groups)
    if sign:
        prio += f":-SIGN-ALL:+SIGN-{sign}"
    return prio + extra


def gnutls_description(case: Case, *, resumed: bool = False) -> str:
    """The session line GnuTLS prints, e.g. ``(TLS1.2-X.509)-(ECDHE-X25519)-(...)-(...)``
    (a resumed session has no signature)."""
    kx = "DHE" if case.dhe else "ECDHE"
    parts = ["TLS1.2-X.509", f"{kx}-{GNUTLS_GROUP[case.group]}"]
    if not resumed:
        parts.append(GNUTLS_SIGN[case.leaf])
    parts.append(gnutls_cipher(case.suite))
    return "- Description: " + "-".join(f"({p})" for p in parts)


def gnutls_server12(
    peers: Peers,
    leaf: str = "ecdsa-p256",
    *,
    priority: str = TLS12_PRIORITY,
    mode: str = "--echo",
    client_cert: bool = False,
    extra: Sequence[str] = (),
) -> tuple[PeerProcess, int]:
    """``gnutls-serv`` (it cannot pick its own port: we choose a free one, retrying); with
    ``client_cert`` it requires and verifies a client certificate against the test CA."""
    issued = peers.pki.leaves[leaf]
    for _attempt in range(5):
        port = free_port()
        argv = [tool("gnutls-serv"), "-p", str(port), mode]
        if client_cert:
            argv += ["--require-client-cert", "--verify-client-cert"]
            argv += ["--x509cafile", str(peers.pki.ca_path)]
        else:
            argv.append("--disable-client-cert")
        argv += ["--x509certfile", str(issued.chain_path), "--x509keyfile", str(issued.key_path)]
        argv += ["--priority", priority, *extra]
        peer = peers.start(argv, "gnutls-serv")
        try:
            peer.wait_for(r"listening on IPv4 .* port \d+\.\.\.done")
        except AssertionError:
            if "bind() failed" in peer.output or "in use" in peer.output:
                peer.stop()
                continue
            raise
        return peer, port
    raise AssertionError("gnutls-serv could not bind a free port in 5 attempts")


def gnutls_client12(
    peers: Peers, port: int, *, priority: str = TLS12_PRIORITY, extra: Sequence[str] = ()
) -> PeerProcess:
    """``gnutls-cli`` verifying our server against the test CA."""
    return peers.gnutls_client(port, priority=priority, extra=extra)


def gnutls_cli_echo(
    client: PeerProcess, lines: Sequence[bytes] = (b"ping one\n", b"ping two\n")
) -> str:
    """Echo ``lines`` through our server, then end stdin: gnutls-cli sends close_notify, waits
    for ours and exits 0."""
    client.wait_for(r"- Handshake was completed")
    for line in lines:
        client.write(line)
        client.wait_for("^" + re.escape(line.decode()))
    client.close_stdin()
    client.wait_for(r"- Peer has closed the GnuTLS connection")
    assert client.wait() == 0, client.describe()
    return client.output


# -- Python's ssl ---------------------------------------------------------------------------


def python_context12(
    purpose: ssl.Purpose,
    *,
    cipher: str | None = None,
    curve: str | None = None,
    options: int = 0,
) -> ssl.SSLContext:
    """A TLS-1.2-only context; ``cipher`` (IANA name) and ``curve`` restrict it to one each."""
    ctx = ssl.create_default_context(purpose)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if cipher:
        ctx.set_ciphers(OPENSSL_SUITE[cipher])
    if curve:
        ctx.set_ecdh_curve(PYTHON_CURVE[curve])
    ctx.options |= options
    return ctx


def python_server12(
    peers: Peers,
    leaf: str = "ecdsa-p256",
    *,
    connections: int = 1,
    cipher: str | None = None,
    curve: str | None = None,
    dh_params: Path | None = None,
    options: int = 0,
) -> tuple[PythonTLSServer, list[bool | None]]:
    """:class:`PythonTLSServer` (an echo server in a thread) switched to TLS 1.2 before any
    client connects; also returns the list where each connection's ``session_reused`` goes."""
    server = peers.python_server(leaf, connections=connections)
    ctx = server.ctx
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if cipher:
        ctx.set_ciphers(OPENSSL_SUITE[cipher])
    if curve:
        ctx.set_ecdh_curve(PYTHON_CURVE[curve])
    if dh_params:
        ctx.load_dh_params(str(dh_params))  # without it OpenSSL's server has no DHE
    ctx.options |= options
    reused: list[bool | None] = []

    class RecordingSocket(ssl.SSLSocket):
        def do_handshake(self, block: bool = False) -> None:
            super().do_handshake(block)
            reused.append(self.session_reused)

    ctx.sslsocket_class = RecordingSocket
    return server, reused


@dataclass
class PythonClientResult:
    version: str | None = None
    cipher: str | None = None
    alpn: str | None = None
    received: bytes = b""
    session_reused: bool | None = None
    session: ssl.SSLSession | None = field(default=None, repr=False)


def python_client12(
    port: int,
    ctx: ssl.SSLContext,
    message: bytes,
    *,
    session: ssl.SSLSession | None = None,
) -> PythonClientResult:
    """One connection: send ``message``, read its echo, close with close_notify both ways."""
    result = PythonClientResult()
    with (
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost", session=session) as tls,
    ):
        result.version, result.cipher = tls.version(), (tls.cipher() or ("",))[0]
        result.alpn = tls.selected_alpn_protocol()
        result.session_reused = tls.session_reused
        tls.sendall(message)
        while len(result.received) < len(message):
            data = tls.recv(65536)
            if not data:
                break
            result.received += data
        result.session = tls.session
        tls.unwrap()
    return result
