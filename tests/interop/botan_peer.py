"""Botan (a C++ crypto and TLS library) as an interop peer: the ``botan`` command-line tool's
``tls_server`` and ``tls_client`` (Debian's botan 2.19: TLS 1.2 and older, no TLS 1.3), over
127.0.0.1, both directions.

* :func:`botan_server`: ``botan tls_server CERT KEY --port=N --max-clients=N``. It cannot take
  port 0 and always binds every interface (``INADDR_ANY``, no option to restrict it): we pick a
  free port (retrying if it is taken meanwhile) and only ever connect to 127.0.0.1. It prints
  ``Listening ...`` *before* it binds, and a probing TCP connection would count as one of its
  ``--max-clients`` clients, so readiness is read from ``/proc/net/tcp`` instead
  (:func:`wait_bound`). It echoes *lines*: each ``\\n``-terminated line once it is complete; the
  line ``quit`` makes it close the connection (close_notify). It serves one client at a time
  and, with ``--max-clients=N``, exits (status 0) after the N-th. Its session manager is in
  memory (session-ID resumption across its clients) but its credentials manager has no ticket
  key, so it never issues RFC 5077 tickets. Its ALPN callback ignores the client's list and
  always answers ``echo/0.1``. It never asks for a client certificate.
* :func:`botan_client`: ``botan tls_client localhost --port=N``, trusting the test CA only
  (``--skip-system-cert-store --trusted-cas=``). It sends what it reads from stdin (1024 bytes
  per read; a read of exactly two bytes ending in ``\\n`` is a command, ``R``/``r``
  renegotiate (fully / allowing resumption), ``Q`` close, any other such read is dropped: the
  data sent here never contains ``\\n``), prints what it receives on stdout (unbuffered here,
  since the data has no line ends), and at EOF on
  stdin sends close_notify and exits at once. ``--session-db`` keeps sessions in an SQLite
  file (encrypted with ``--session-db-pass``), so that consecutive processes resume. It has no
  client certificate option (it answers a CertificateRequest with an empty Certificate).

Both tools take a text policy (``--policy=FILE``, ``key = value`` lines; :func:`write_policy`)
choosing versions, ciphers, key exchange, signature methods and groups. What they report per
handshake (:func:`botan_handshakes`)::

    Certificate validation status: Verified       (client, full handshakes only)
    Handshake complete, TLS v1.2 using ECDHE_RSA_WITH_AES_128_GCM_SHA256
    Session ID 6B03...                             (the session's ID, if any)
    Session ticket C93F...                         (client, if it holds a ticket)
    Server choose protocol: h2                     (client, ALPN)
    Alert: no_renegotiation                        (each alert received)

A missing ``botan`` fails the test (``make peers`` installs it).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from peers import TIMEOUT, OurServer, PeerProcess, Peers, free_port, tool

from tlsmachine import ServerConfig
from tlsmachine.events import HandshakeMessageTraced

BOTAN_GROUPS = {
    "x25519": "x25519",
    "secp256r1": "secp256r1",
    "secp384r1": "secp384r1",
    "secp521r1": "secp521r1",
    "ffdhe2048": "ffdhe/ietf/2048",
    "ffdhe3072": "ffdhe/ietf/3072",
}
"""Our group names -> Botan's (policy ``groups``)."""

BOTAN_CIPHERS = {
    "AES_128_GCM": "AES-128/GCM",
    "AES_256_GCM": "AES-256/GCM",
    "CHACHA20_POLY1305": "ChaCha20Poly1305",
}
BOTAN_KEX = {"ECDHE": "ECDH", "DHE": "DH"}
"""Suite key exchange -> Botan's ``key_exchange_methods`` name."""

DOWNGRADE_TLS12 = b"DOWNGRD\x01"
"""RFC 8446 §4.1.3: the last 8 bytes of a TLS 1.3 server's random when it negotiates TLS 1.2."""


def botan_suite(suite: str) -> str:
    """The name Botan prints for an IANA suite: ``ECDHE_RSA_WITH_AES_128_GCM_SHA256``."""
    return suite.removeprefix("TLS_")


def suite_policy(suite: str, groups: Sequence[str]) -> dict[str, str]:
    """Policy settings allowing only ``suite`` (IANA name) and ``groups`` (our names)."""
    kex_auth, aead = suite.removeprefix("TLS_").split("_WITH_")
    kex, auth = kex_auth.split("_")
    return {
        "ciphers": BOTAN_CIPHERS[aead.rsplit("_", 1)[0]],
        "key_exchange_methods": BOTAN_KEX[kex],
        "signature_methods": auth,
        "groups": " ".join(BOTAN_GROUPS[g] for g in groups),
    }


def write_policy(path: Path, settings: Mapping[str, str] | None = None) -> Path:
    """A Botan text policy: TLS 1.2 only (1.0/1.1 off), then ``settings`` (they may override
    that), one ``key = value`` line each."""
    lines = {"allow_tls10": "false", "allow_tls11": "false", "allow_tls12": "true"}
    lines.update(settings or {})
    path.write_text("".join(f"{key} = {value}\n" for key, value in lines.items()))
    return path


# -- what Botan prints ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BotanHandshake:
    """One ``Handshake complete`` block of Botan's output."""

    version: str
    """``TLS v1.2``."""
    suite: str
    """Botan's suite name (:func:`botan_suite`)."""
    session_id: str | None
    ticket: str | None


_HANDSHAKE = re.compile(
    r"Handshake complete, (?P<version>\S+ v\d\.\d) using (?P<suite>\S+)\n"
    r"(?:Session ID (?P<session_id>[0-9A-F]+)\n)?"
    r"(?:Session ticket (?P<ticket>[0-9A-F]+)\n)?"
)


def botan_handshakes(peer: PeerProcess) -> list[BotanHandshake]:
    """The handshakes a Botan tool reported so far, in order."""
    text = peer.stdout.decode("utf-8", "replace")
    return [BotanHandshake(**m.groupdict()) for m in _HANDSHAKE.finditer(text)]


def botan_alerts(peer: PeerProcess) -> list[str]:
    """The alerts a Botan tool reported receiving (``no_renegotiation``, ...)."""
    return re.findall(r"^Alert: (\S+)$", peer.stdout.decode("utf-8", "replace"), re.MULTILINE)


def wait_output(peer: PeerProcess, data: bytes, timeout: float = TIMEOUT) -> None:
    """Wait until ``data`` appears in the peer's stdout (bytes, no regex: large echoes)."""
    deadline = time.monotonic() + timeout
    while data not in peer.stdout:
        if time.monotonic() > deadline or peer.proc.poll() is not None:
            if data in peer.stdout:
                return
            raise AssertionError(
                f"{len(data)} bytes never appeared in {peer.name}'s output\n{peer.describe()}"
            )
        time.sleep(0.02)


# -- tls_server -----------------------------------------------------------------------------------


def _listening(port: int) -> bool:
    """Something listens on TCP ``port`` (any address), per the kernel's socket tables."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                return True
    return False


def wait_bound(peer: PeerProcess, port: int, timeout: float = TIMEOUT) -> None:
    """Wait until ``peer`` listens on ``port``, without connecting (a probe would be served
    as a client); fail with its output if it exits first or takes too long."""
    deadline = time.monotonic() + timeout
    while not _listening(port):
        if peer.proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{peer.name} does not listen on port {port}\n{peer.describe()}")
        time.sleep(0.02)


def botan_server(
    peers: Peers,
    directory: Path,
    leaf: str = "ecdsa-p256",
    *,
    policy: Mapping[str, str] | None = None,
    clients: int = 1,
) -> tuple[PeerProcess, int]:
    """``botan tls_server`` with ``leaf``'s chain and key and a policy file written in
    ``directory`` from ``policy`` (TLS 1.2 only unless overridden), serving ``clients``
    connections and then exiting. Returns the process and its port."""
    issued = peers.pki.leaves[leaf]
    policy_file = write_policy(directory / f"server-policy-{len(peers.started)}.txt", policy)
    for _attempt in range(5):
        port = free_port()
        argv = [tool("botan"), "tls_server", str(issued.chain_path), str(issued.key_path)]
        argv += [f"--port={port}", f"--max-clients={clients}", f"--policy={policy_file}"]
        server = peers.start(argv, "botan tls_server")
        try:
            wait_bound(server, port)
        except AssertionError:
            if "bind failed" in server.output:  # the port was taken meanwhile
                server.stop()
                continue
            raise
        return server, port
    raise AssertionError("botan tls_server could not bind a free port in 5 attempts")


def finish_server(server: PeerProcess, handshakes: int) -> list[BotanHandshake]:
    """Wait for ``botan tls_server`` to exit (after its ``--max-clients``) with status 0; the
    handshakes it reported, which must be ``handshakes`` many."""
    assert server.wait() == 0, server.describe()
    found = botan_handshakes(server)
    assert len(found) == handshakes, server.describe()
    assert "Connection problem" not in server.output, server.describe()
    return found


# -- tls_client -----------------------------------------------------------------------------------


def botan_client(
    peers: Peers,
    port: int,
    directory: Path,
    *,
    policy: Mapping[str, str] | None = None,
    alpn: Sequence[str] = (),
    session_db: Path | None = None,
    extra: Sequence[str] = (),
) -> PeerProcess:
    """``botan tls_client localhost`` to our server on 127.0.0.1:port, trusting only the test
    CA, with a policy file in ``directory``. ``localhost`` is both where it connects (tried in
    getaddrinfo order: an ``::1`` first would be refused, our servers listen on 127.0.0.1
    only, and it moves on) and the name it checks and sends as SNI; given an IP literal it
    would send no SNI and check no name."""
    policy_file = write_policy(directory / f"client-policy-{len(peers.started)}.txt", policy)
    # unbuffered stdout (an inner stdbuf wins over PeerProcess's line buffering): the echo
    # carries no newline, see the module docstring
    argv = [tool("stdbuf"), "-o0", tool("botan"), "tls_client", "localhost", f"--port={port}"]
    argv += ["--skip-system-cert-store", f"--trusted-cas={peers.pki.ca_path}"]
    argv += [f"--policy={policy_file}"]
    if alpn:
        argv.append("--next-protocols=" + ",".join(alpn))
    if session_db is not None:
        argv += [f"--session-db={session_db}", "--session-db-pass=botan-interop"]
    return peers.start([*argv, *extra], "botan tls_client")


def client_echo(client: PeerProcess, message: bytes) -> None:
    """Send ``message`` (no ``\\n`` in it: see the module docstring) through ``tls_client``
    once its handshake is done, and wait for the echo on its stdout."""
    assert b"\n" not in message
    client.wait_for(r"^Handshake complete")
    client.write(message)
    wait_output(client, message)


def client_close(client: PeerProcess) -> str:
    """EOF on ``tls_client``'s stdin: it sends close_notify and exits; its output."""
    client.close_stdin()
    assert client.wait() == 0, client.describe()
    assert "EOF on stdin" in client.output, client.describe()
    return client.output


# -- our server, recording each connection's events -----------------------------------------------


@dataclass
class TracingEchoServer(OurServer):
    """Our echo server (until the client closes), with a look at the handshake messages each
    connection traced (``trace_handshake=True``)."""

    def traced(self, connection: int, direction: str) -> list[HandshakeMessageTraced]:
        """The handshake messages of a finished connection (by finishing order) that went in
        ``direction`` (``"sent"``/``"received"``)."""
        return [
            e
            for e in self.events[connection]
            if isinstance(e, HandshakeMessageTraced) and e.direction == direction
        ]


def tracing_server(peers: Peers, config: ServerConfig) -> TracingEchoServer:
    """A :class:`TracingEchoServer`, stopped with the ``peers`` fixture's teardown."""
    server = TracingEchoServer(config)
    peers.servers.append(server)
    return server
