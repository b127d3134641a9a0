"""Post-handshake client authentication (RFC 8446 §4.6.2) with OpenSSL, both directions.

* ``openssl s_client -enable_pha`` against our ServerConnection, which calls
  ``request_client_certificate()`` once the handshake is done and checks the reported chain.
* Our client (``post_handshake_auth=True``) against ``openssl s_server``, whose interactive
  ``c`` command (plain mode, stdin) sends a post-handshake CertificateRequest
  (``SSL_verify_client_post_handshake``) and then verifies our chain against ``-CAfile``.

OpenSSL computes the exchange's transcript and Finished key on its own, so these tests pin down
§4.4's "handshake transcript + this CertificateRequest ..." and the application-secret base key.
"""

from __future__ import annotations

import socket
import time

import pytest
from peers import TIMEOUT, PeerProcess, Peers, client_config, read_exactly, server_certificates

from tlsmachine import (
    AlertReceived,
    CertifiedKey,
    Event,
    ServerConfig,
    ServerConnection,
    UsageError,
)
from tlsmachine.enums import AlertDescription
from tlsmachine.events import ClientCertificateReceived, HandshakeMessageTraced
from tlsmachine.sockets import TLSSocket, connect

pytestmark = [pytest.mark.interop, pytest.mark.timeout(60)]


def certificate_events(events: list[Event]) -> list[ClientCertificateReceived]:
    return [e for e in events if isinstance(e, ClientCertificateReceived)]


# -- openssl s_client, our server -------------------------------------------------------------


@pytest.mark.parametrize("leaf", ["rsa-2048", "ecdsa-p256", None])
def test_s_client_answers_our_post_handshake_request(peers: Peers, leaf: str | None) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"),
        client_cafile=str(peers.pki.ca_path),  # client_auth "none": nothing asked in the handshake
    )
    options = ["-enable_pha"]
    if leaf is not None:
        issued = peers.pki.leaves[leaf]
        options += ["-cert", str(issued.cert_path), "-key", str(issued.key_path)]
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)
        client = peers.openssl_client(listener.getsockname()[1], extra=options)
        sock, _ = listener.accept()
    sock.settimeout(TIMEOUT)
    events: list[Event] = []
    with TLSSocket(sock, ServerConnection(config), on_event=events.append) as tls:
        info = tls.do_handshake()
        assert info.peer_certificates == ()
        client.wait_for(r"Verify return code: 0 \(ok\)")
        context = tls.connection.request_client_certificate()
        sock.sendall(tls.connection.data_to_send())
        deadline = time.monotonic() + TIMEOUT
        while not certificate_events(events):
            assert time.monotonic() < deadline, client.describe()
            assert tls.recv_once() is not None, client.describe()
        (event,) = certificate_events(events)
        assert event.certificate_request_context == context
        if leaf is None:
            assert event.certificates == ()  # an empty Certificate: reported, not fatal
        else:  # s_client sends the chain it built from -CAfile: leaf first
            assert event.certificates[0] == peers.pki.leaves[leaf].cert
        # Application data still flows both ways afterwards.
        client.write(b"after pha\n")
        assert read_exactly(tls, 10) == b"after pha\n"
        tls.sendall(b"server after pha\n")
        client.wait_for("server after pha")
    client.close_stdin()
    assert client.wait() == 0, client.describe()


def test_request_to_s_client_without_enable_pha_is_a_usage_error(peers: Peers) -> None:
    config = ServerConfig(
        certificates=server_certificates(peers, "ecdsa-p256"),
        client_cafile=str(peers.pki.ca_path),
    )
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(TIMEOUT)
        client = peers.openssl_client(listener.getsockname()[1], extra=())
        sock, _ = listener.accept()
    sock.settimeout(TIMEOUT)
    with TLSSocket(sock, ServerConnection(config)) as tls:
        tls.do_handshake()
        with pytest.raises(UsageError):
            tls.connection.request_client_certificate()  # RFC 8446 §4.2.6
        tls.sendall(b"still fine\n")
        client.wait_for("still fine")
    client.close_stdin()
    assert client.wait() == 0, client.describe()


# -- our client, openssl s_server -------------------------------------------------------------


def answered(events: list[Event]) -> list[str]:
    """The post-handshake auth messages we received and sent (traced under the app keys)."""
    return [
        f"{e.direction} {e.name}"
        for e in events
        if isinstance(e, HandshakeMessageTraced)
        and e.epoch == "application"
        and e.name != "new_session_ticket"
    ]


def s_server_request(
    peers: Peers, leaf: str, *, read_line: bool = True
) -> tuple[PeerProcess, TLSSocket, list[Event]]:
    """Our client (offering post_handshake_auth, with the ``leaf`` chain) connected to an
    ``s_server`` in plain mode that verifies client chains against the test CA; the server
    has sent its post-handshake CertificateRequest (``c``) and then a line of data, which we
    read (unless ``read_line`` is False), answering the request on the way."""
    server, port = peers.openssl_server(
        "ecdsa-p256",
        mode="-no_ign_eof",  # plain mode: stdin lines are data, or commands such as "c"
        extra=("-CAfile", str(peers.pki.ca_path), "-verify_return_error"),
    )
    issued = peers.pki.leaves[leaf]
    certified = CertifiedKey.load(issued.chain_path, issued.key_path)
    config = client_config(
        peers, certificates=(certified,), post_handshake_auth=True, trace_handshake=True
    )
    events: list[Event] = []
    tls = connect(
        "127.0.0.1",
        port,
        config=config,
        server_hostname="localhost",
        timeout=TIMEOUT,
        on_event=events.append,
    )
    try:
        server.wait_for(r"CIPHER is")  # s_server finished its side of the handshake
        server.write(b"c\n")  # SSL_verify_client_post_handshake(), then SSL_do_handshake()
        server.wait_for(r"SSL_do_handshake -> 1")
        server.write(b"after request\n")
        if not read_line:
            return server, tls, events
        assert read_exactly(tls, 14) == b"after request\n"
        assert answered(events) == [
            "received certificate_request",
            "sent certificate",
            "sent certificate_verify",
            "sent finished",
        ]
    except BaseException:
        tls.close()
        raise
    return server, tls, events


@pytest.mark.parametrize("leaf", ["ecdsa-p256", "rsa-2048"])
def test_our_client_answers_s_server_post_handshake_request(peers: Peers, leaf: str) -> None:
    server, tls, _ = s_server_request(peers, leaf)
    with tls:
        # s_server reads our answer before this line: it gets here only if it verified our
        # chain (-verify_return_error), CertificateVerify and Finished.
        tls.sendall(b"client data after pha\n")
        server.wait_for("client data after pha")
        server.wait_for(r"depth=0 O = tlsmachine tests, CN = localhost\nverify return:1")
    assert tls.clean_close is True
    assert server.wait() == 0, server.describe()
    assert "ERROR" not in server.stdout.decode(), server.describe()


def test_s_server_rejects_our_untrusted_certificate(peers: Peers) -> None:
    # The control: s_server really checks what we send (a self-signed leaf fails).
    server, tls, events = s_server_request(peers, "untrusted", read_line=False)

    def read_line_then_more() -> None:
        # s_server may read our certificate, and answer unknown_ca, before or after it
        # writes its line: the alert comes either while we read the line or after it
        assert read_exactly(tls, 14) == b"after request\n"
        tls.sendall(b"client data\n")
        tls.recv()

    with tls, pytest.raises(AlertReceived) as exc_info:
        read_line_then_more()
    assert exc_info.value.description == AlertDescription.UNKNOWN_CA
    assert "sent certificate" in answered(events)  # we did answer the request
    server.wait_for(r"certificate verify failed")
    assert "client data" not in server.stdout.decode(), server.describe()
