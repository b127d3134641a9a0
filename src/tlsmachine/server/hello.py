"""Server: ClientHello processing and negotiation (RFC 8446 §4.1, §4.2, Appendix A.2).

    ExpectClientHello -> [HelloRetryRequest sent: ExpectSecondClientHello] -> (flight sent)
        -> tls13.ExpectFinished

First ``ServerConfig.server_name_callback`` may swap the config for the client's SNI name (RFC
6066 §3); everything after, in either version and across a HelloRetryRequest, uses that config.
Negotiation order follows RFC 8446 §4.1.1: version (supported_versions), cipher suite (server
preference), key exchange group (a share the client sent, else HelloRetryRequest for the best
common group), then certificate by the client's signature_algorithms (§4.4.2.2) and ALPN; the
steps shared with TLS 1.2 are in :mod:`.negotiate`, the TLS 1.3 ones in :mod:`.choose13`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ..config import ServerConfig
from ..enums import ExtensionType, HandshakeType, ProtocolVersion, PskKeyExchangeMode
from ..errors import (
    HandshakeFailure,
    IllegalParameter,
)
from ..extensions import (
    Cookie,
    EarlyData,
    Extension,
    KeyShareClientHello,
    KeyShareHelloRetryRequest,
    PreSharedKeyClientHello,
    SupportedVersionsServerHello,
    UnknownExtension,
)
from ..fast_init import fast_init
from ..machine import Output, expect
from ..messages import HandshakeMessage
from ..messages.hello import HELLO_RETRY_REQUEST_RANDOM, ClientHello, ServerHello
from ..transcript import TranscriptHash
from .choose13 import check_tls13_hello, choose, choose_suite_and_psk, client_share
from .client_auth import ExpectClientCertificate
from .negotiate import config_for_server_name, negotiate_version
from .psk import accept_early_data, accept_psk, early_data_skip_limit
from .tls12 import ServerHandshake12, start_tls12
from .tls13 import (
    Choice,
    ExpectEndOfEarlyData,
    ExpectFinished,
    Offer,
    send_server_flight,
)

#: What a second ClientHello may change (RFC 8446 §4.1.2).
_MAY_CHANGE_AFTER_RETRY = frozenset(
    {
        ExtensionType.KEY_SHARE,
        ExtensionType.EARLY_DATA,
        ExtensionType.COOKIE,
        ExtensionType.PRE_SHARED_KEY,
        ExtensionType.PADDING,
    }
)


def _kept_extensions(hello: ClientHello) -> tuple[list[int], dict[int, Extension]]:
    """What a ClientHello after a HelloRetryRequest must repeat (RFC 8446 §4.1.2): the order
    of its extension types, and each extension we understand, contents included
    (tlsfuzzer's shuffled-extensions and record-size-limit "modified extension in 2nd CH").

    Extensions we do not understand are compared by type and place only: a client may send
    fresh GREASE ECH contents (draft-ietf-tls-esni §6.1) in its second hello. And
    psk_key_exchange_modes, which wolfSSL (5.5 to 5.8 at least) moves behind other extensions
    in its second hello, is compared by contents but not by place.
    """
    kept = [e for e in hello.extensions if e.ext_type not in _MAY_CHANGE_AFTER_RETRY]
    order = [e.ext_type for e in kept if e.ext_type != ExtensionType.PSK_KEY_EXCHANGE_MODES]
    known: dict[int, Extension] = {
        e.ext_type: e for e in kept if not isinstance(e, UnknownExtension)
    }
    return order, known


def _check_repeated_hello(
    first: ClientHello, hello: ClientHello, choice: Choice, cookie: bytes | None
) -> None:
    """RFC 8446 §4.1.2: after a HelloRetryRequest "the client MUST send the same ClientHello
    without modification", except key_share, early_data (removed), cookie, pre_shared_key
    (binders and ticket ages recomputed, PSKs that do not fit the suite removed) and padding.
    The same cipher suites and supported_groups keep the suite and the group we chose."""
    if (
        hello.legacy_version != first.legacy_version
        or hello.random != first.random
        or hello.legacy_session_id != first.legacy_session_id
        or hello.cipher_suites != first.cipher_suites
        or hello.legacy_compression_methods != first.legacy_compression_methods
        or _kept_extensions(hello) != _kept_extensions(first)
    ):
        raise IllegalParameter("second ClientHello differs from the first (RFC 8446 §4.1.2)")
    check_tls13_hello(hello)
    if hello.get(EarlyData) is not None:
        raise IllegalParameter("second ClientHello still offers early_data")
    _check_repeated_psks(first, hello, choice)
    if cookie is not None:
        echoed = hello.get(Cookie)
        if echoed is None or echoed.cookie != cookie:
            raise IllegalParameter("second ClientHello does not echo the cookie (§4.2.2)")


def _check_repeated_psks(first: ClientHello, hello: ClientHello, choice: Choice) -> None:
    """pre_shared_key after a HelloRetryRequest (RFC 8446 §4.1.2): the same identities in the
    same order, less those "incompatible with the server's selected cipher suite"; the one we
    accepted fits the suite and must stay (BoGo Resume-Server-OmitPSKsOnSecondClientHello)."""
    offered = first.get(PreSharedKeyClientHello)
    again = hello.get(PreSharedKeyClientHello)
    identities = [i.identity for i in again.identities] if again is not None else []
    if choice.psk is not None:
        assert offered is not None  # the PSK was chosen from the first hello
        if offered.identities[choice.psk.selected_identity].identity not in identities:
            raise IllegalParameter("second ClientHello dropped a PSK that fits the cipher suite")
    first_identities = iter(i.identity for i in offered.identities) if offered else iter(())
    if not all(identity in first_identities for identity in identities):  # a subsequence
        raise IllegalParameter("second ClientHello offers PSKs the first did not (§4.1.2)")


@fast_init
@dataclass(frozen=True, slots=True)
class ExpectClientHello:
    """Waiting for the first ClientHello (RFC 8446 §4.1.2)."""

    expects = frozenset({HandshakeType.CLIENT_HELLO})

    config: ServerConfig
    on_hello: Callable[[ClientHello], None] | None = field(default=None, compare=False)
    """Told of the ClientHello before anything is negotiated; it only observes (the server
    keeps what ssl's ``shared_ciphers()`` and ``session_stats()`` report)."""

    def handle(
        self, msg: HandshakeMessage, out: Output
    ) -> (
        ExpectSecondClientHello
        | ExpectFinished
        | ExpectClientCertificate
        | ExpectEndOfEarlyData
        | ServerHandshake12
    ):
        hello = expect(msg, ClientHello, self)
        if self.on_hello is not None:
            self.on_hello(hello)
        config = config_for_server_name(self.config, hello)
        if negotiate_version(config, hello) == ProtocolVersion.TLS12:
            return start_tls12(config, hello, out)
        check_tls13_hello(hello)
        suite, psk = choose_suite_and_psk(config, hello)
        choice = choose(config, hello, suite, psk)
        transcript = TranscriptHash()
        transcript.update(hello.raw)
        share = client_share(hello, choice.group) if choice.group is not None else None
        if choice.group is not None and share is None:
            return self._hello_retry(config, hello, choice, transcript, out)
        early = accept_early_data(config, hello, psk, suite, choice.alpn_protocol)
        if not early and hello.get(EarlyData) is not None:
            out.early_data("skipping", early_data_skip_limit(config))  # §4.2.10
        offer = Offer(config, hello, share, transcript)
        if early:
            choice = replace(choice, early_data=True)
        return send_server_flight(offer, choice, hello_retry=False, ccs_sent=False, out=out)

    def _hello_retry(
        self,
        config: ServerConfig,
        hello: ClientHello,
        choice: Choice,
        transcript: TranscriptHash,
        out: Output,
    ) -> ExpectSecondClientHello:
        """Send HelloRetryRequest for the chosen group (RFC 8446 §4.1.4); the second
        ClientHello is answered with the same ``config`` (server_name_callback's choice)."""
        group = choice.group
        if group is None:  # handle() asks again only for a key share
            raise ValueError("HelloRetryRequest without a group")
        transcript.select_hash(choice.suite.hash_name)
        cookie = None
        if config.hello_retry_cookie is not None:
            cookie = config.hello_retry_cookie(transcript.digest())
        transcript.hello_retry_restart()
        extensions: list[Extension] = [KeyShareHelloRetryRequest(selected_group=group.id)]
        if cookie is not None:
            extensions.append(Cookie(cookie=cookie))
        extensions.append(SupportedVersionsServerHello(selected_version=ProtocolVersion.TLS13))
        hrr = ServerHello(
            legacy_version=ProtocolVersion.TLS12,
            random=HELLO_RETRY_REQUEST_RANDOM,
            legacy_session_id_echo=hello.legacy_session_id,
            cipher_suite=choice.suite.id,
            legacy_compression_method=0,
            extensions=tuple(extensions),
        )
        transcript.update(out.send(hrr))
        if hello.get(EarlyData) is not None:
            out.early_data("skipping", early_data_skip_limit(config))  # §4.2.10
        ccs_sent = bool(hello.legacy_session_id)
        if ccs_sent:
            out.change_cipher_spec()  # RFC 8446 D.4: right after the first handshake message
        return ExpectSecondClientHello(config, hello, choice, transcript, cookie, ccs_sent)


@dataclass(frozen=True, slots=True)
class ExpectSecondClientHello:
    """HelloRetryRequest sent; waiting for the updated ClientHello (RFC 8446 §4.1.2, §4.1.4)."""

    expects = frozenset({HandshakeType.CLIENT_HELLO})

    config: ServerConfig
    first_hello: ClientHello
    choice: Choice
    transcript: TranscriptHash
    cookie: bytes | None
    ccs_sent: bool

    def handle(
        self, msg: HandshakeMessage, out: Output
    ) -> ExpectFinished | ExpectClientCertificate | ExpectEndOfEarlyData:
        hello = expect(msg, ClientHello, self)
        choice = self.choice
        _check_repeated_hello(self.first_hello, hello, choice, self.cookie)
        group = choice.group
        if group is None:  # we asked for a key share, so we chose a group
            raise ValueError("HelloRetryRequest without a group")
        shares = hello.get(KeyShareClientHello)
        if shares is None or len(shares.client_shares) != 1:
            raise IllegalParameter("second ClientHello must carry exactly one key share (§4.2.8)")
        share = shares.client_shares[0]
        if share.group != group.id:
            raise IllegalParameter("second ClientHello key share is not for the requested group")
        # The binder of a second hello covers message_hash(CH1) and the HRR (§4.2.11.2); we
        # asked for a key share, so only psk_dhe_ke fits.
        psk = accept_psk(
            self.config, hello, choice.suite, choice.server_name, self.transcript.digest_with,
            modes=(PskKeyExchangeMode.PSK_DHE_KE,),
        )  # fmt: skip
        if psk is None and choice.signer is None:
            raise HandshakeFailure("the second ClientHello dropped the PSK; we have no certificate")
        self.transcript.update(hello.raw)
        offer = Offer(self.config, hello, share, self.transcript)
        return send_server_flight(
            offer, replace(choice, psk=psk), hello_retry=True, ccs_sent=self.ccs_sent, out=out
        )
