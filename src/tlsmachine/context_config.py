"""Building the core's frozen configs from a :class:`~tlsmachine.context.Context`'s settings.

:class:`ContextConfigs` turns the settings that :mod:`tlsmachine.context_settings` holds into
the :class:`~tlsmachine.config.ClientConfig` / :class:`~tlsmachine.config.ServerConfig` a
connection made now would use, so later changes to the Context apply to later connections
only. Server state that must outlive one connection (ticket keys, the TLS 1.2 session cache)
belongs to the Context and goes into each ServerConfig, so resumption works across its
connections; a client's explicit ``session=`` goes in as a one-session store.
:class:`~tlsmachine.context.Context` (import it from :mod:`tlsmachine.context`) adds the
wrapping and ssl's SNI callback.
"""

from __future__ import annotations

from .client_session import OfferedSessionStore
from .config import ClientConfig, ServerConfig, ServerNameCallback
from .context_settings import ContextSettings
from .context_trust import AnyName as _AnyName
from .crypto.suites import DEFAULT_TLS12_SUITES
from .errors import ConfigurationError
from .session import ClientSession
from .ssl_names import CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED, OP_NO_TICKET
from .verify import CertificateVerifier

__all__ = ["ContextConfigs"]


class ContextConfigs(ContextSettings):
    """A Context's settings as frozen configs: :meth:`client_config`, :meth:`server_config`."""

    # -- building configs --------------------------------------------------------------------

    def client_config(self, server_hostname: str | None = None) -> ClientConfig:
        """The frozen config a client connection made now would use."""
        if self._server:
            raise ConfigurationError("this is a server context (PROTOCOL_TLS_SERVER)")
        return self._client_config(server_hostname, None)

    def _client_config(
        self, server_hostname: str | None, session: ClientSession | None
    ) -> ClientConfig:
        verify = self._verify_mode != CERT_NONE
        if verify and self._check_hostname and not server_hostname:
            raise ConfigurationError("check_hostname requires server_hostname")
        verifier: CertificateVerifier | None = None
        if verify:
            verifier = self._trust() if self._check_hostname else _AnyName(self._trust())
        low, high = self._versions()
        certificates = tuple(self._certificates.values())
        return ClientConfig(
            verify_certificates=verify,
            verifier=verifier,
            alpn_protocols=self._alpn,
            cipher_suites=self._suites13,
            tls12_cipher_suites=self._suites12 or DEFAULT_TLS12_SUITES,
            groups=self._groups,
            min_version=low,
            max_version=high,
            certificates=certificates,
            post_handshake_auth=bool(self.post_handshake_auth and certificates),
            session_store=None if session is None else OfferedSessionStore(session),
            keylog=self._keylog,
        )

    def server_config(self) -> ServerConfig:
        """The frozen config a server connection made now would use (without SNI callback)."""
        if not self._server:
            raise ConfigurationError("this is a client context (PROTOCOL_TLS_CLIENT)")
        return self._server_config(None)

    def _server_config(self, hook: ServerNameCallback | None) -> ServerConfig:
        if not self._certificates:
            raise ConfigurationError("a server context needs load_cert_chain() first")
        low, high = self._versions()
        asks = self._verify_mode != CERT_NONE
        client_verifier = self._trust() if asks or self.post_handshake_auth else None
        modes = {CERT_NONE: "none", CERT_OPTIONAL: "optional", CERT_REQUIRED: "required"}
        # as OpenSSL's SSL_VERIFY_POST_HANDSHAKE: with post_handshake_auth the server asks
        # only later, through verify_client_post_handshake() (RFC 8446 §4.6.2)
        client_auth = "none" if self.post_handshake_auth else modes[self._verify_mode]
        tickets = 0 if self._options & OP_NO_TICKET else self._num_tickets
        return ServerConfig(
            certificates=tuple(self._certificates.values()),
            alpn_protocols=self._alpn,
            cipher_suites=self._suites13,
            tls12_cipher_suites=self._suites12 or DEFAULT_TLS12_SUITES,
            groups=self._groups,
            min_version=low,
            max_version=high,
            client_auth=client_auth,
            client_verifier=client_verifier,
            session_tickets=tickets,
            session_cache=self._session_cache,
            ticket_sealer=self._ticket_sealer,
            keylog=self._keylog,
            server_name_callback=hook,
        )
