"""Three ssl APIs the facade gained for ported code: ``Context.verify_flags``,
``shared_ciphers()`` (TLSSocket and TLSObject) and ``Context.session_stats()``.

Both ends are ours unless a test says otherwise; where we deliberately differ from ssl
(docs/ssl-compat.md), ssl's own behaviour is asserted next to ours, so the difference stays a
measured fact. The differential tests with stdlib peers are at the end of test_ssl_parity.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

import pki
import tlsmachine.context as tssl
from facade_peers import TIMEOUT, Peer, client_context, server_context, socket_pair
from tlsmachine.context import Context, TLSObject, create_default_context
from tlsmachine.context_stats import SESSION_STATS_KEYS
from tlsmachine.errors import (
    AlertReceived,
    CertificateVerificationError,
    ConfigurationError,
    WantReadError,
)
from tlsmachine.session_cache import InMemorySessionCache, Tls12Session

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def gap_pki(tmp_path_factory: pytest.TempPathFactory) -> pki.TestPKI:
    """Root CA -> intermediate CA -> leaves: the intermediate is what PARTIAL_CHAIN is about."""
    return pki.make_pki(
        tmp_path_factory.mktemp("gaps-pki"), key_types=("ecdsa-p256",), intermediate=True
    )


def serve(ctx: Any, sock: socket.socket, body: Callable[[Any], object] | None = None) -> Peer:
    """A server (ours or ssl's ``ctx``) on ``sock``: handshake, ``body``, wait for the client
    to close."""

    def run() -> object:
        with ctx.wrap_socket(sock, server_side=True) as tls:
            result = body(tls) if body is not None else None
            tls.recv(100)
            return result

    return Peer(run)


def connect(
    client_ctx: Any, server_ctx: Any, session: Any = None
) -> tuple[Any, object]:  # (the client's session afterwards, what the server's body returned)
    """One connection; the client reads one record, so the server's tickets have come."""
    with socket_pair() as (a, b):

        def greet(tls: Any) -> bool:
            tls.sendall(b"hi")
            return bool(tls.session_reused)

        server = serve(server_ctx, b, greet)
        with client_ctx.wrap_socket(a, server_hostname="localhost", session=session) as tls:
            assert tls.recv(100) == b"hi"
            new_session = tls.session
        return new_session, server.join()


def stats(**counts: int) -> dict[str, int]:
    """A session_stats() dict: ``counts``, every other key 0."""
    return {key: counts.get(key, 0) for key in SESSION_STATS_KEYS}


# -- verify_flags ------------------------------------------------------------------------------


def test_verify_flags_defaults_are_ssls(gap_pki: pki.TestPKI) -> None:
    """Python 3.11 with OpenSSL 3 starts every context at VERIFY_X509_TRUSTED_FIRST; so do
    we, for both roles and create_default_context(), as an ssl.VerifyFlags."""
    cafile = str(gap_pki.ca_path)
    pairs = [
        (Context(), ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)),
        (Context(tssl.PROTOCOL_TLS_SERVER), ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)),
        (create_default_context(cafile=cafile), ssl.create_default_context(cafile=cafile)),
        (
            create_default_context(tssl.Purpose.CLIENT_AUTH),
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH),
        ),
    ]
    for ours, theirs in pairs:
        assert type(ours.verify_flags) is ssl.VerifyFlags
        assert ours.verify_flags == theirs.verify_flags == ssl.VERIFY_X509_TRUSTED_FIRST


def test_verify_flags_accepts_what_pycas_verifier_always_does(gap_pki: pki.TestPKI) -> None:
    """Python 3.13's create_default_context() idiom, ``verify_flags |= ...``, and every flag
    the verifier honours by construction; the names are ssl's own objects."""
    assert tssl.VERIFY_X509_STRICT is ssl.VERIFY_X509_STRICT
    assert tssl.VerifyFlags is ssl.VerifyFlags
    ctx = client_context(gap_pki)
    ctx.verify_flags |= tssl.VERIFY_X509_PARTIAL_CHAIN | tssl.VERIFY_X509_STRICT
    assert ctx.verify_flags == (
        ssl.VERIFY_X509_TRUSTED_FIRST | ssl.VERIFY_X509_PARTIAL_CHAIN | ssl.VERIFY_X509_STRICT
    )
    ctx.verify_flags |= ssl.VERIFY_ALLOW_PROXY_CERTS
    assert ctx.verify_flags & ssl.VERIFY_ALLOW_PROXY_CERTS
    # with every accepted flag set, a good chain still verifies and a bad one still fails
    connect(ctx, server_context(gap_pki))
    bad = client_context(gap_pki)
    bad.verify_flags = ctx.verify_flags
    bad.check_hostname = False
    untrusted = Context(tssl.PROTOCOL_TLS_SERVER)
    untrusted.load_cert_chain(gap_pki.untrusted.chain_path, gap_pki.untrusted.key_path)
    with pytest.raises(CertificateVerificationError):
        connect(bad, untrusted)
    ctx.verify_flags = tssl.VERIFY_DEFAULT
    assert ctx.verify_flags == ssl.VerifyFlags(0)


@pytest.mark.parametrize(
    "flags",
    [
        ssl.VERIFY_CRL_CHECK_LEAF,
        ssl.VERIFY_CRL_CHECK_CHAIN,
        8,  # OpenSSL's X509_V_FLAG_CRL_CHECK_ALL on its own
        ssl.VERIFY_CRL_CHECK_LEAF | ssl.VERIFY_X509_STRICT,
        -1,
    ],
    ids=["leaf", "chain", "check-all-bit", "leaf+strict", "all-bits"],
)
def test_crl_flags_fail_closed(flags: int) -> None:
    """ssl accepts the CRL flags and checks revocation; with no CRL support, accepting them
    would skip revocation checks silently, so they are refused and nothing changes."""
    reference: Any = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    reference.verify_flags = flags  # ssl takes them
    ctx = Context()
    with pytest.raises(ConfigurationError, match="CRL checking is not supported") as caught:
        ctx.verify_flags = flags
    assert isinstance(caught.value, ValueError)  # what ported except clauses catch
    assert ctx.verify_flags == ssl.VERIFY_X509_TRUSTED_FIRST
    with pytest.raises(ConfigurationError, match="CRL"):
        ctx.verify_flags |= flags  # the |= idiom fails the same way


@pytest.mark.parametrize(
    "flags",
    [1 << 30, 0x10, 0x200000, ssl.VERIFY_X509_STRICT | 0x100],
    ids=["unknown", "ignore-critical", "no-check-time", "strict+explicit-policy"],
)
def test_other_verify_flag_bits_are_refused(flags: int) -> None:
    """ssl hands any int to OpenSSL (X509_V_FLAG_IGNORE_CRITICAL, NO_CHECK_TIME, policy
    checks ...); we cannot honour those bits, so they are refused rather than ignored."""
    reference: Any = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    reference.verify_flags = flags
    assert reference.verify_flags & flags == flags  # ssl keeps any bit (adding implied ones)
    ctx = Context()
    with pytest.raises(ConfigurationError, match="not supported"):
        ctx.verify_flags = flags
    assert ctx.verify_flags == ssl.VERIFY_X509_TRUSTED_FIRST


def test_verify_flags_type_errors_as_ssl() -> None:
    for value in ("32", 32.0, None):
        with pytest.raises(TypeError):
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).verify_flags = value  # type: ignore[assignment]
        with pytest.raises(TypeError):
            Context().verify_flags = value  # type: ignore[assignment]


def trust_intermediate_only(mod: Any, gap_pki: pki.TestPKI, partial_chain: bool) -> Any:
    """A client of ``mod`` that trusts the intermediate CA alone, not the root."""
    assert gap_pki.intermediate is not None
    ctx = mod.SSLContext(mod.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(gap_pki.intermediate.cert_path))
    if partial_chain:
        ctx.verify_flags |= mod.VERIFY_X509_PARTIAL_CHAIN
    return ctx


@pytest.mark.parametrize("partial_chain", [False, True], ids=["no-flag", "partial-chain"])
def test_an_intermediate_in_the_trust_store_is_a_trust_anchor(
    gap_pki: pki.TestPKI, partial_chain: bool
) -> None:
    """pyca's verifier treats every certificate in its store as a trust anchor: a chain that
    ends at a trusted intermediate verifies, with VERIFY_X509_PARTIAL_CHAIN or without it.
    OpenSSL (ssl) insists on reaching a self-signed root unless the flag is set."""
    server = server_context(gap_pki)  # sends leaf + intermediate
    if partial_chain:
        connect(trust_intermediate_only(ssl, gap_pki, True), server)
    else:
        with pytest.raises(ssl.SSLCertVerificationError, match="unable to get issuer"):
            connect(trust_intermediate_only(ssl, gap_pki, False), server)
    ours = trust_intermediate_only(tssl, gap_pki, partial_chain)
    connect(ours, server)
    leaf_only = Context(tssl.PROTOCOL_TLS_SERVER)  # the intermediate comes from the store
    leaf = gap_pki.leaves["ecdsa-p256"]
    leaf_only.load_cert_chain(leaf.cert_path, leaf.key_path)
    connect(ours, leaf_only)
    # only a chain to that intermediate: the untrusted self-signed leaf still fails
    untrusted = Context(tssl.PROTOCOL_TLS_SERVER)
    untrusted.load_cert_chain(gap_pki.untrusted.chain_path, gap_pki.untrusted.key_path)
    with pytest.raises(CertificateVerificationError):
        connect(ours, untrusted)


PROXY_CERT_INFO = ObjectIdentifier("1.3.6.1.5.5.7.1.14")  # id-pe-proxyCertInfo, RFC 3820 §3.8
INHERIT_ALL = bytes.fromhex("300c300a06082b06010505071501")  # ProxyCertInfo, id-ppl-inheritAll


def proxy_chain(gap_pki: pki.TestPKI, directory: Path) -> tuple[Path, Path]:
    """An RFC 3820 proxy certificate issued by the ecdsa leaf (an end entity): the chain
    file (proxy, leaf, intermediate) and its key. OpenSSL accepts it with
    VERIFY_ALLOW_PROXY_CERTS (shown below), so it is a well-formed proxy certificate."""
    leaf = gap_pki.leaves["ecdsa-p256"]
    key = ec.generate_private_key(ec.SECP256R1())
    proxy_cn = x509.NameAttribute(NameOID.COMMON_NAME, "proxy")
    subject = x509.Name([*leaf.cert.subject.rdns, x509.RelativeDistinguishedName([proxy_cn])])
    now = dt.datetime.now(dt.UTC)
    proxy = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(leaf.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.UnrecognizedExtension(PROXY_CERT_INFO, INHERIT_ALL), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .sign(leaf.key, hashes.SHA256())
    )
    chain, key_path = directory / "proxy-chain.pem", directory / "proxy-key.pem"
    pems = [c.public_bytes(serialization.Encoding.PEM) for c in (proxy, *leaf.chain)]
    chain.write_bytes(b"".join(pems))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return chain, key_path


def test_allow_proxy_certs_is_accepted_but_proxy_certificates_stay_refused(
    gap_pki: pki.TestPKI, tmp_path: Path
) -> None:
    """VERIFY_ALLOW_PROXY_CERTS only permits: accepting it is safe because pyca's verifier
    refuses proxy certificates anyway (the critical proxyCertInfo extension, RFC 3820 §3.8,
    is unknown to it, and their issuer is no CA)."""
    chain, key = proxy_chain(gap_pki, tmp_path)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(chain, key)

    def client(mod: Any, allow: bool) -> Any:
        ctx = mod.create_default_context(cafile=str(gap_pki.ca_path))
        ctx.check_hostname = False  # a proxy certificate has no subjectAltName (RFC 3820)
        if allow:
            ctx.verify_flags |= mod.VERIFY_ALLOW_PROXY_CERTS
        return ctx

    with pytest.raises(ssl.SSLCertVerificationError, match="proxy certificates not allowed"):
        connect(client(ssl, False), server)
    connect(client(ssl, True), server)  # the baseline: a valid proxy chain for OpenSSL
    for allow in (False, True):
        with pytest.raises(CertificateVerificationError):
            connect(client(tssl, allow), server)


# -- shared_ciphers ----------------------------------------------------------------------------


def offered_and_enabled(server_ctx: Context, client_ctx: Context) -> list[tuple[str, str, int]]:
    """What shared_ciphers() must be: the server's enabled suites (its order) that the client
    offers, as (name, protocol, bits), from the two get_ciphers() lists."""
    offered = {c["name"] for c in client_ctx.get_ciphers()}
    return [
        (str(c["name"]), str(c["protocol"]), int(c["strength_bits"]))  # type: ignore[call-overload]
        for c in server_ctx.get_ciphers()
        if c["name"] in offered
    ]


def test_shared_ciphers_on_the_server_after_the_handshake(gap_pki: pki.TestPKI) -> None:
    server_ctx, client_ctx = server_context(gap_pki), client_context(gap_pki)
    with socket_pair() as (a, b):

        def server_side() -> dict[str, object]:
            with server_ctx.wrap_socket(b, server_side=True, do_handshake_on_connect=False) as tls:
                seen: dict[str, object] = {"before": tls.shared_ciphers()}
                tls.do_handshake()
                seen |= {"after": tls.shared_ciphers(), "cipher": tls.cipher()}
                tls.sendall(b"hi")
                tls.recv(100)
                return seen

        server = Peer(server_side)
        tls = client_ctx.wrap_socket(a, server_hostname="localhost", do_handshake_on_connect=False)
        with tls:
            client_before = tls.shared_ciphers()
            assert tls.recv(100) == b"hi"
            client_after = tls.shared_ciphers()
        seen = server.join()
    assert client_before is None and client_after is None  # as ssl: never on a client
    assert isinstance(seen, dict) and seen["before"] is None
    shared = seen["after"]
    assert shared == offered_and_enabled(server_ctx, client_ctx)
    assert isinstance(shared, list) and len(shared) == 12  # 3 TLS 1.3 + 9 TLS 1.2 suites
    assert shared[0] == ("TLS_AES_128_GCM_SHA256", "TLSv1.3", 128)
    assert ("ECDHE-ECDSA-CHACHA20-POLY1305", "TLSv1.2", 256) in shared  # OpenSSL's spelling
    assert seen["cipher"] in shared


def test_shared_ciphers_is_the_intersection_of_both_sides_settings(
    gap_pki: pki.TestPKI,
) -> None:
    """The client offers four TLS 1.2 suites (one TLS 1.3 suite via set_ciphers), the server
    enables three of ours: only what both have appears, in the server's order."""
    server_ctx, client_ctx = server_context(gap_pki), client_context(gap_pki)
    server_ctx.set_ciphers(
        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:"
        "TLS_AES_256_GCM_SHA384:ECDHE-ECDSA-CHACHA20-POLY1305"
    )
    client_ctx.set_ciphers(
        "TLS_AES_256_GCM_SHA384:DHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:"
        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256"
    )
    with socket_pair() as (a, b):
        server = serve(server_ctx, b, lambda tls: (tls.shared_ciphers(), tls.cipher()))
        with client_ctx.wrap_socket(a, server_hostname="localhost"):
            pass
        result = server.join()
    assert isinstance(result, tuple)
    shared, cipher = result
    assert shared == [
        ("TLS_AES_256_GCM_SHA384", "TLSv1.3", 256),
        ("ECDHE-ECDSA-AES256-GCM-SHA384", "TLSv1.2", 256),
        ("ECDHE-ECDSA-CHACHA20-POLY1305", "TLSv1.2", 256),
    ]
    assert shared == offered_and_enabled(server_ctx, client_ctx)
    assert cipher == shared[0]
    # a server limited to TLS 1.2 lists no TLS 1.3 suite: it cannot use one (ssl still would)
    server_ctx.maximum_version = tssl.TLSVersion.TLSv1_2
    with socket_pair() as (a, b):
        server = serve(server_ctx, b, lambda tls: tls.shared_ciphers())
        with client_ctx.wrap_socket(a, server_hostname="localhost"):
            pass
        assert server.join() == shared[1:]


def test_shared_ciphers_on_tls_objects(gap_pki: pki.TestPKI) -> None:
    server_ctx, client_ctx = server_context(gap_pki), client_context(gap_pki)
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = client_ctx.wrap_bio(c_in, c_out, server_hostname="localhost")
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(5):
        for end in (client, server):
            with contextlib.suppress(WantReadError):
                end.do_handshake()
            if end is server and server.version() is None:
                assert server.shared_ciphers() is None  # the ClientHello came; not done yet
        s_in.write(c_out.read())
        c_in.write(s_out.read())
    assert client.version() == server.version() == "TLSv1.3"
    assert client.shared_ciphers() is None
    assert server.shared_ciphers() == offered_and_enabled(server_ctx, client_ctx)
    assert server.cipher() in (server.shared_ciphers() or [])


# -- session_stats -----------------------------------------------------------------------------


def test_session_stats_keys_are_ssls() -> None:
    reference = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).session_stats()
    for ctx in (Context(), Context(tssl.PROTOCOL_TLS_SERVER)):
        assert ctx.session_stats() == reference  # same keys, same order, all 0
        assert list(ctx.session_stats()) == list(reference)


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_session_stats_count_full_and_resumed_handshakes(
    gap_pki: pki.TestPKI, version: str
) -> None:
    server_ctx, client_ctx = server_context(gap_pki), client_context(gap_pki)
    if version == "TLSv1.2":
        client_ctx.maximum_version = tssl.TLSVersion.TLSv1_2
    session, reused = connect(client_ctx, server_ctx)
    assert reused is False
    assert server_ctx.session_stats() == stats(accept=1, accept_good=1)
    assert client_ctx.session_stats() == stats(connect=1, connect_good=1)
    _, reused = connect(client_ctx, server_ctx, session)
    assert reused is True
    # ssl counts a resumption as a hit on both sides (test_ssl_parity checks ssl's numbers)
    assert server_ctx.session_stats() == stats(accept=2, accept_good=2, hits=1)
    assert client_ctx.session_stats() == stats(connect=2, connect_good=2, hits=1)


@pytest.mark.parametrize("version", ["TLSv1.3", "TLSv1.2"])
def test_session_stats_misses_when_an_offered_session_is_not_resumed(
    gap_pki: pki.TestPKI, version: str
) -> None:
    """A session from one server offered to another (other ticket keys): a full handshake,
    counted as a miss by the client that offered it and by the server that got the offer."""
    first, other = server_context(gap_pki), server_context(gap_pki)
    client_ctx = client_context(gap_pki)
    if version == "TLSv1.2":
        client_ctx.maximum_version = tssl.TLSVersion.TLSv1_2
    session, _ = connect(client_ctx, first)
    _, reused = connect(client_ctx, other, session)
    assert reused is False
    assert other.session_stats() == stats(accept=1, accept_good=1, misses=1)
    assert client_ctx.session_stats() == stats(connect=2, connect_good=2, misses=1)
    assert first.session_stats() == stats(accept=1, accept_good=1)


def test_session_stats_count_begun_handshakes_that_fail(gap_pki: pki.TestPKI) -> None:
    server_ctx, no_anchors = server_context(gap_pki), Context()
    with socket_pair() as (a, b):
        server = serve(server_ctx, b)
        with pytest.raises(CertificateVerificationError):
            no_anchors.wrap_socket(a, server_hostname="localhost")
        with pytest.raises(AlertReceived):
            server.join()
    assert no_anchors.session_stats() == stats(connect=1)
    assert server_ctx.session_stats() == stats(accept=1)


def test_session_stats_count_a_handshake_when_it_begins(gap_pki: pki.TestPKI) -> None:
    """Wrapping is not a handshake: with do_handshake_on_connect=False it begins at the first
    I/O; a TLSObject's do_handshake() counts once however often it raises WantReadError."""
    server_ctx, client_ctx = server_context(gap_pki), client_context(gap_pki)
    with socket_pair() as (a, b):
        server = serve(server_ctx, b, lambda tls: tls.sendall(b"hi"))
        tls = client_ctx.wrap_socket(a, server_hostname="localhost", do_handshake_on_connect=False)
        with tls:
            assert client_ctx.session_stats()["connect"] == 0
            assert tls.recv(100) == b"hi"  # the handshake runs here
            assert client_ctx.session_stats() == stats(connect=1, connect_good=1)
        server.join()
    bio_client, bio_server = client_context(gap_pki), server_context(gap_pki)
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    client = bio_client.wrap_bio(c_in, c_out, server_hostname="localhost")
    server_obj: TLSObject = bio_server.wrap_bio(s_in, s_out, server_side=True)
    assert bio_client.session_stats()["connect"] == bio_server.session_stats()["accept"] == 0
    wants = 0
    for _ in range(5):
        for end in (client, server_obj):
            try:
                end.do_handshake()
            except WantReadError:
                wants += 1
        s_in.write(c_out.read())
        c_in.write(s_out.read())
    assert wants >= 3
    assert bio_client.session_stats() == stats(connect=1, connect_good=1)
    assert bio_server.session_stats() == stats(accept=1, accept_good=1)


def test_session_stats_are_counted_by_the_context_that_wrapped(gap_pki: pki.TestPKI) -> None:
    """As OpenSSL counts on the SSL_CTX a connection was made with, not the one an SNI
    callback switches to."""
    outer, inner = server_context(gap_pki), server_context(gap_pki)

    def switch(tls: Any, name: str | None, ctx: Context) -> None:
        tls.context = inner

    outer.sni_callback = switch
    connect(client_context(gap_pki), outer)
    assert outer.session_stats() == stats(accept=1, accept_good=1)
    assert inner.session_stats() == stats()


def test_session_stats_report_the_tls12_session_cache(gap_pki: pki.TestPKI) -> None:
    """Without tickets a TLS 1.2 server resumes by session ID from its cache: ``number`` is
    its size, ``cache_full`` its evictions, ``timeouts`` the expired sessions asked for."""
    server_ctx = server_context(gap_pki)
    server_ctx.options |= tssl.OP_NO_TICKET
    cache = InMemorySessionCache(max_entries=1)
    server_ctx._session_cache = cache  # a small cache, to fill it with two clients

    def tls12_client() -> Context:
        ctx = client_context(gap_pki)
        ctx.maximum_version = tssl.TLSVersion.TLSv1_2
        return ctx

    session, _ = connect(tls12_client(), server_ctx)
    assert server_ctx.session_stats() == stats(number=1, accept=1, accept_good=1)
    assert session is not None and session.session_id and not session.ticket
    _, reused = connect(tls12_client(), server_ctx, session)
    assert reused is True
    assert server_ctx.session_stats() == stats(number=1, accept=2, accept_good=2, hits=1)
    connect(tls12_client(), server_ctx)  # a third session pushes the first out
    assert server_ctx.session_stats() == stats(
        number=1, accept=3, accept_good=3, hits=1, cache_full=1
    )
    # expiry cannot be waited for here (24 h): ask the cache for its one session later
    (cached_id,) = list(cache._entries)
    assert cache.get(cached_id, time.time() + 10**6) is None
    assert server_ctx.session_stats() == stats(
        accept=3, accept_good=3, hits=1, timeouts=1, cache_full=1
    )


def test_session_stats_are_exact_under_concurrent_handshakes(gap_pki: pki.TestPKI) -> None:
    """One server Context and one client Context shared by eight threads."""
    server_ctx, client_ctx = server_context(gap_pki), client_context(gap_pki)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(4):
                connect(client_ctx, server_ctx)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(4 * TIMEOUT)
    assert not errors and not any(t.is_alive() for t in threads)
    assert server_ctx.session_stats() == stats(accept=32, accept_good=32)
    assert client_ctx.session_stats() == stats(connect=32, connect_good=32)


def test_in_memory_session_cache_counts_evictions_and_expirations() -> None:
    def session(issued_at: int) -> Tls12Session:
        return Tls12Session(0xC02B, bytes(48), True, issued_at, 100, b"", b"")

    cache = InMemorySessionCache(max_entries=2)
    now = int(time.time())
    for sid in (b"a", b"b", b"c"):
        cache.put(sid, session(now))
    assert (len(cache), cache.evictions, cache.expirations) == (2, 1, 0)
    assert cache.get(b"a", now) is None  # evicted, not expired
    assert cache.get(b"b", now + 1000) is None  # expired
    assert cache.get(b"c", now) is not None
    assert (len(cache), cache.evictions, cache.expirations) == (1, 1, 1)
