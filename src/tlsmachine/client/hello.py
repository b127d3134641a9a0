"""Client: send the first ClientHello and handle ServerHello / HelloRetryRequest (RFC 8446 §4.1).

This is the part of the client shared until the server chooses the version: the state
:class:`ExpectServerHello` picks TLS 1.3 or 1.2 from the answer, checks a HelloRetryRequest and
sends the second ClientHello, accepts a PSK and starts 0-RTT. The first ClientHello is built in
:mod:`tlsmachine.client.client_hello`; the states that follow a TLS 1.3 ServerHello live in
:mod:`tlsmachine.client.tls13`, those after a TLS 1.2 one in :mod:`tlsmachine.client.tls12`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..config import ClientConfig
from ..crypto.groups import PrivateKeyShare
from ..crypto.suites import CipherSuite, suite_by_id
from ..enums import ExtensionType, HandshakeType, ProtocolVersion, PskKeyExchangeMode
from ..errors import (
    IllegalParameter,
    MissingExtension,
    ProtocolVersionError,
    UnexpectedMessage,
)
from ..extensions import (
    Cookie,
    EarlyData,
    Extension,
    KeyShareClientHello,
    KeyShareEntry,
    KeyShareHelloRetryRequest,
    KeyShareServerHello,
    Padding,
    PreSharedKeyClientHello,
    PreSharedKeyServerHello,
    SignatureAlgorithms,
    SupportedVersionsClientHello,
    SupportedVersionsServerHello,
)
from ..fast_init import fast_init
from ..keyschedule import EarlySecret
from ..machine import Output, derive_handshake_traffic, expect
from ..messages import HandshakeMessage, encode_handshake
from ..messages.hello import ClientHello, ServerHello
from ..session import ClientSession
from ..transcript import TranscriptHash, hash_of
from .client_hello import build_client_hello, check_extension_answer, initial_shares
from .client_hello import sni_host_name as sni_host_name
from .offer import (
    OfferedPsk,
    early_data_allowed,
    offer_psks,
    pad_client_hello,
    psks_to_offer,
    session_hash_name,
    usable_session,
)
from .tls12 import ExpectChangeCipherSpec as ExpectChangeCipherSpec12
from .tls12 import ExpectNewSessionTicket as ExpectNewSessionTicket12
from .tls12 import ExpectServerCertificate as ExpectServerCertificate12
from .tls12 import server_hello12
from .tls13 import ClientHandshake, EarlyDataOffer, ExpectEncryptedExtensions

ClientHandshake12 = ExpectServerCertificate12 | ExpectNewSessionTicket12 | ExpectChangeCipherSpec12

# RFC 8446 §4.1.3: the extensions a TLS 1.3 ServerHello / HelloRetryRequest may carry.
_SERVER_HELLO_EXTENSIONS = frozenset(
    {ExtensionType.KEY_SHARE, ExtensionType.SUPPORTED_VERSIONS, ExtensionType.PRE_SHARED_KEY}
)
_HRR_EXTENSIONS = frozenset(
    {ExtensionType.KEY_SHARE, ExtensionType.SUPPORTED_VERSIONS, ExtensionType.COOKIE}
)
_SSL3 = 0x0300


@fast_init
@dataclass(frozen=True, slots=True)
class ExpectServerHello:
    """Client sent ClientHello; waiting for ServerHello or HelloRetryRequest (RFC 8446 §4.1.3)."""

    expects = frozenset({HandshakeType.SERVER_HELLO})

    config: ClientConfig
    server_name: str | None
    client_hello: ClientHello
    client_hello_raw: bytes
    shares: tuple[PrivateKeyShare, ...]
    transcript: TranscriptHash
    hello_retry: ServerHello | None = None
    ccs_sent: bool = False
    psks: tuple[OfferedPsk, ...] = ()
    """The PSKs offered (RFC 8446 §4.2.11): a stored session first, then external ones."""
    early_data: bool = False
    """0-RTT offered with the first PSK's session (RFC 8446 §4.2.10); until the answer."""
    session12: ClientSession | None = None
    """A TLS 1.2 session offered for resumption (RFC 5246 §7.4.1.2, RFC 5077 §3.4)."""

    @property
    def version_open(self) -> bool:
        """No ServerHello or HelloRetryRequest yet: the version is not decided, so a warning
        alert now (e.g. the unrecognized_name of RFC 6066 §3) is judged once it is: a warning
        in TLS 1.2, an error alert in TLS 1.3 (RFC 8446 §6.2)."""
        return self.hello_retry is None

    @classmethod
    def start(cls, config: ClientConfig, server_name: str | None, out: Output) -> ExpectServerHello:
        tls13 = config.max_version >= ProtocolVersion.TLS13
        groups = config.initial_share_groups if tls13 else ()
        shares = initial_shares(config, groups)
        session = usable_session(config, server_name)
        session12 = session if session is not None and session.is_tls12 else None
        if session12 is not None:
            session = None
        hello, raw = build_client_hello(config, server_name, shares, session12)
        psks = psks_to_offer(config, session) if tls13 else ()
        if psks:
            early = session is not None and early_data_allowed(config, session)
            hello, raw = offer_psks(config, hello, psks, early_data=early)
        return cls.after_sending(
            config, server_name, hello, shares, out, raw, psks=psks, session12=session12
        )

    @classmethod
    def after_sending(
        cls,
        config: ClientConfig,
        server_name: str | None,
        hello: ClientHello,
        shares: tuple[PrivateKeyShare, ...],
        out: Output,
        raw: bytes | None = None,
        session: ClientSession | None = None,
        *,
        psks: tuple[OfferedPsk, ...] = (),
        session12: ClientSession | None = None,
    ) -> ExpectServerHello:
        """Queue ``hello`` and wait for the answer (also used to replay RFC 8448 traces).

        ``hello`` offers ``psks``, or just ``session`` when that is given instead. When it offers
        early_data, the early keys follow it (§4.2.10). ``session12``: the TLS 1.2 session it
        offers (its ID or ticket).
        """
        if session is not None and not psks:
            psks = (OfferedPsk(session.ticket, session.psk, session_hash_name(session), session),)
        raw = out.send(hello, raw or hello.raw or None)
        transcript = TranscriptHash()
        transcript.update(raw)
        first = psks[0].session if psks else None
        early = first is not None and hello.get(EarlyData) is not None
        ccs_sent = False
        if early and first is not None:
            ccs_sent = _start_early_data(hello, raw, first, out)
        return cls(
            config, server_name, hello, raw, shares, transcript, None, ccs_sent, psks, early,
            session12,
        )  # fmt: skip

    def handle(
        self, msg: HandshakeMessage, out: Output
    ) -> ExpectServerHello | ExpectEncryptedExtensions | ClientHandshake12:
        hello = expect(msg, ServerHello, self)
        if hello.get(SupportedVersionsServerHello) is None and not hello.is_hello_retry_request:
            if self.hello_retry is not None:
                # RFC 8446 §4.1.4: the ServerHello after a HelloRetryRequest keeps TLS 1.3.
                raise IllegalParameter("TLS 1.2 ServerHello after a HelloRetryRequest")
            if self.early_data:
                # RFC 8446 Appendix D.3: "A client that attempts to send 0-RTT data MUST fail
                # a connection if it receives a ServerHello with TLS 1.2 or older."
                raise ProtocolVersionError("TLS 1.2 ServerHello after we sent 0-RTT data")
            return server_hello12(
                self.config, self.server_name, self.client_hello, self.transcript,
                self.session12, hello, out,
            )  # fmt: skip
        suite = self._check_common(hello)
        if hello.is_hello_retry_request:
            return self._retry(hello, suite, out)
        return self._accept(hello, suite, out)

    def _check_common(self, hello: ServerHello) -> CipherSuite:
        versions = hello.get(SupportedVersionsServerHello)
        if versions is None:  # a HelloRetryRequest without it (handle() took TLS 1.2)
            raise MissingExtension("HelloRetryRequest without supported_versions (§4.1.4)")
        offered = self.client_hello.get(SupportedVersionsClientHello)
        if versions.selected_version != ProtocolVersion.TLS13 or (
            offered is None or ProtocolVersion.TLS13 not in offered.versions
        ):
            # RFC 8446 §4.2.1: a version not offered, or prior to TLS 1.3 -> illegal_parameter.
            raise IllegalParameter(
                f"server selected version 0x{versions.selected_version:04x}, which was not offered"
            )
        if hello.legacy_version <= _SSL3:
            # RFC 8446 Appendix D.5: SSL 3.0 or below in a hello -> protocol_version
            raise ProtocolVersionError(
                f"ServerHello legacy_version 0x{hello.legacy_version:04x} (RFC 8446 D.5)"
            )
        # Any other legacy_version is ignored: §4.2.1, "clients MUST ignore the
        # ServerHello.legacy_version value" when supported_versions is present.
        if hello.legacy_session_id_echo != self.client_hello.legacy_session_id:
            raise IllegalParameter("ServerHello legacy_session_id_echo differs from ours (§4.1.3)")
        if hello.legacy_compression_method != 0:
            raise IllegalParameter("ServerHello legacy_compression_method must be 0")
        suite = suite_by_id(hello.cipher_suite)
        if suite is None or hello.cipher_suite not in self.client_hello.cipher_suites:
            raise IllegalParameter(
                f"server chose cipher suite 0x{hello.cipher_suite:04x}, not offered"
            )
        retry = hello.is_hello_retry_request
        allowed = _HRR_EXTENSIONS if retry else _SERVER_HELLO_EXTENSIONS
        sent = {e.ext_type for e in self.client_hello.extensions}
        for ext in hello.extensions:
            # RFC 8446 §4.2: the cookie is the one extension an HRR may carry unasked
            unasked = retry and ext.ext_type == ExtensionType.COOKIE
            ours = ext.ext_type in sent or unasked
            check_extension_answer("ServerHello", ext, ours, ext.ext_type in allowed)
        # RFC 8446 §4.1.4: the ServerHello after HRR keeps the HRR's suite and version.
        if self.hello_retry is not None and hello.cipher_suite != self.hello_retry.cipher_suite:
            raise IllegalParameter("ServerHello cipher suite differs from the HelloRetryRequest")
        return suite

    def _retry(self, hrr: ServerHello, suite: CipherSuite, out: Output) -> ExpectServerHello:
        if self.hello_retry is not None:
            raise UnexpectedMessage("a second HelloRetryRequest (RFC 8446 §4.1.4)")
        key_share = hrr.get(KeyShareHelloRetryRequest)
        cookie = hrr.get(Cookie)
        offered = {s.group.id for s in self.shares}
        group = None
        if key_share is not None:
            # RFC 8446 §4.2.8: the group must be supported and not already have a share.
            if key_share.selected_group in offered:
                raise IllegalParameter("HelloRetryRequest asks for a group we already sent")
            group = next((g for g in self.config.groups if g.id == key_share.selected_group), None)
            if group is None:
                raise IllegalParameter("HelloRetryRequest selected a group we did not offer")
        elif cookie is None:
            raise IllegalParameter("HelloRetryRequest would not change the ClientHello")
        self.transcript.select_hash(suite.hash_name)
        self.transcript.hello_retry_restart()
        self.transcript.update(hrr.raw)
        shares = (self.config.key_share_factory(group),) if group is not None else self.shares
        if self.early_data:
            # RFC 8446 §4.2.10: a HelloRetryRequest rejects 0-RTT; the second hello is sent in
            # the clear, without early_data (§4.1.2).
            out.write_plaintext()
            out.early_data("rejected")
        hello, raw = self._second_hello(shares, cookie)
        # RFC 8446 §4.1.4: keep only the PSKs the HRR's suite can use (its hash).
        psks = tuple(p for p in self.psks if p.hash_name == suite.hash_name)
        if psks:
            # RFC 8446 §4.2.11.2: the binders now cover message_hash(CH1), HRR and CH2.
            hello, raw = offer_psks(self.config, hello, psks, self.transcript.digest_with)
        elif self.psks:
            kept = tuple(e for e in hello.extensions if not isinstance(e, PreSharedKeyClientHello))
            hello = replace(hello, extensions=kept, raw=b"")
            hello, raw = (
                pad_client_hello(hello)
                if self.config.pad_client_hello
                else (hello, encode_handshake(hello))
            )
        ccs_sent = self.ccs_sent
        if self.client_hello.legacy_session_id and not ccs_sent:
            out.change_cipher_spec()  # RFC 8446 D.4: before the second flight
            ccs_sent = True
        out.send(hello, raw)
        self.transcript.update(raw)
        return ExpectServerHello(
            self.config, self.server_name, hello, raw, shares, self.transcript, hrr, ccs_sent,
            psks,
        )  # fmt: skip

    def _second_hello(
        self, shares: tuple[PrivateKeyShare, ...], cookie: Cookie | None
    ) -> tuple[ClientHello, bytes]:
        """RFC 8446 §4.1.2: the same ClientHello with the new key share and the cookie."""
        entries = tuple(
            KeyShareEntry(group=s.group.id, key_exchange=s.public_bytes) for s in shares
        )
        extensions: list[Extension] = []
        for ext in self.client_hello.extensions:
            if isinstance(ext, KeyShareClientHello):
                extensions.append(KeyShareClientHello(client_shares=entries))
            elif not isinstance(ext, Padding | EarlyData):
                extensions.append(ext)
            if isinstance(ext, SignatureAlgorithms) and cookie is not None:
                extensions.append(cookie)
        hello = replace(self.client_hello, extensions=tuple(extensions), raw=b"")
        if self.config.pad_client_hello:
            return pad_client_hello(hello)
        return hello, encode_handshake(hello)

    def _accepted_psk(self, hello: ServerHello, suite: CipherSuite) -> OfferedPsk | None:
        """The PSK the server selected (RFC 8446 §4.2.11), else ``None``."""
        selected = hello.get(PreSharedKeyServerHello)
        if selected is None:
            return None
        # "Clients MUST verify that the server's selected_identity is within the range supplied
        # by the client, that the server selected a cipher suite indicating a Hash associated
        # with the PSK" -- else illegal_parameter.
        if selected.selected_identity >= len(self.psks):
            raise IllegalParameter(f"server selected PSK identity {selected.selected_identity}")
        psk = self.psks[selected.selected_identity]
        if psk.hash_name != suite.hash_name:
            raise IllegalParameter("server chose a suite whose hash differs from the PSK's")
        return psk

    def _key_exchange(
        self, hello: ServerHello, psk: OfferedPsk | None
    ) -> tuple[bytes | None, str | None]:
        """The (EC)DHE shared secret and group name; ``(None, None)`` in psk_ke mode (§4.2.9)."""
        key_share = hello.get(KeyShareServerHello)
        if key_share is None:
            if psk is None:
                raise IllegalParameter("ServerHello without key_share (no PSK was accepted)")
            if PskKeyExchangeMode.PSK_KE not in self.config.psk_modes:
                raise IllegalParameter("server chose psk_ke, which we did not offer (§4.2.9)")
            retry = self.hello_retry
            if retry is not None and retry.get(KeyShareHelloRetryRequest) is not None:
                raise IllegalParameter("ServerHello without the key share the HRR asked for")
            return None, None
        if psk is not None and PskKeyExchangeMode.PSK_DHE_KE not in self.config.psk_modes:
            # §4.2.9: "Servers MUST NOT select a key exchange mode that is not listed by the
            # client"; a PSK with a key share is psk_dhe_ke
            raise IllegalParameter("server chose psk_dhe_ke, which we did not offer (§4.2.9)")
        share = next((s for s in self.shares if s.group.id == key_share.server_share.group), None)
        if share is None:
            # After a HelloRetryRequest for a group we hold only its share, so this is also
            # §4.2.8's check that the ServerHello selects "the same" group as the HRR.
            retry = self.hello_retry
            if retry is not None and retry.get(KeyShareHelloRetryRequest) is not None:
                raise IllegalParameter("ServerHello group differs from the HelloRetryRequest's")
            raise IllegalParameter("server key_share is for a group we sent no share for (§4.2.8)")
        return share.exchange(key_share.server_share.key_exchange), share.group.name

    def _accept(
        self, hello: ServerHello, suite: CipherSuite, out: Output
    ) -> ExpectEncryptedExtensions:
        psk = self._accepted_psk(hello, suite)
        shared, group_name = self._key_exchange(hello, psk)
        transcript = self.transcript
        transcript.select_hash(suite.hash_name)
        transcript.update(hello.raw)
        early = psk.early_secret if psk is not None else EarlySecret.from_psk(suite, None)
        secrets = early.handshake(shared)
        th = transcript.digest()
        client, server = derive_handshake_traffic(out, suite, secrets, th, self.client_hello.random)
        out.read_keys(suite, server.secret, "handshake", server.key_iv)
        early_data = None
        session = self.psks[0].session if self.psks else None
        if self.early_data and session is not None:
            # Our write keys change only when the server has answered the 0-RTT offer: after
            # EncryptedExtensions, or after EndOfEarlyData if it accepted (RFC 8446 §4.5).
            early_data = EarlyDataOffer(session, client.secret, client.key_iv)
        else:
            out.write_keys(suite, client.secret, "handshake", client.key_iv)
        context = ClientHandshake(
            config=self.config,
            server_name=self.server_name,
            client_hello=self.client_hello,
            suite=suite,
            group_name=group_name,
            transcript=transcript,
            handshake_secret=secrets,
            client_finished_key=client.finished_key,
            server_finished_key=server.finished_key,
            hello_retry=self.hello_retry is not None,
            resumed=psk is not None,
            psk_identity=psk.identity if psk is not None and psk.external else None,
            resumed_session=psk.session if psk is not None else None,
            ccs_sent=self.ccs_sent,
            early_data=early_data,
        )
        return ExpectEncryptedExtensions(context)


def _start_early_data(hello: ClientHello, raw: bytes, session: ClientSession, out: Output) -> bool:
    """Switch to the early keys after a ClientHello offering 0-RTT (RFC 8446 §4.2.10, §7.1).

    The data travels under the ticket's cipher suite. Returns whether the dummy
    change_cipher_spec went out: in compatibility mode it precedes the early data (App. D.4).
    """
    suite = suite_by_id(session.cipher_suite)
    if suite is None:  # early_data_allowed() let only our own suites through
        raise ValueError(f"session for unknown cipher suite 0x{session.cipher_suite:04x}")
    early = EarlySecret.from_psk(suite.hash_name, session.psk)
    th = hash_of(suite.hash_name, raw)
    secret = early.client_early_traffic_secret(th)
    exporter = early.early_exporter_master_secret(th)
    out.log_secret("CLIENT_EARLY_TRAFFIC_SECRET", hello.random, secret)
    out.log_secret("EARLY_EXPORTER_SECRET", hello.random, exporter)
    out.early_exporter(suite.hash_name, exporter)
    ccs = bool(hello.legacy_session_id)
    if ccs:
        out.change_cipher_spec()
    out.write_keys(suite, secret, "early")
    out.early_data("offered", session.max_early_data_size)
    return ccs
