"""Client: answering a CertificateRequest (RFC 8446 §4.3.2, §4.4.2, §4.4.3).

One answer serves both places a server may ask: in the handshake
(:class:`~tlsmachine.client.tls13.ExpectFinished`) and after it, in post-handshake
authentication (:mod:`tlsmachine.client.post_handshake_auth`, §4.6.2). The caller adds the
Finished that closes the answer; its key and transcript differ between the two (§4.4).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..certs import CertifiedKey
from ..config import ClientConfig
from ..crypto.signatures import (
    certificate_verify_input,
    schemes_for_key,
    sign,
    spki_is_rsassa_pss,
)
from ..extensions import CertificateAuthorities, SignatureAlgorithms
from ..machine import Output
from ..messages.tls13 import (
    Certificate,
    CertificateEntry,
    CertificateRequest,
    encode_certificate_verify,
)
from ..transcript import TranscriptHash


def by_authorities(
    certificates: Sequence[CertifiedKey], authorities: CertificateAuthorities | None
) -> Sequence[CertifiedKey]:
    """Our chains, those leading to a CA the server named first (RFC 8446 §4.2.4, RFC 5246
    §7.4.4), each group in configured order. The others stay candidates: the names are a hint
    (the server may accept more, e.g. through a custom verifier), not a filter."""
    if authorities is None or not authorities.authorities or len(certificates) < 2:
        return certificates
    names = frozenset(authorities.authorities)
    named = [c for c in certificates if c.issued_by_any(names)]
    return [*named, *(c for c in certificates if c not in named)]


def answer_certificate_request(
    config: ClientConfig, request: CertificateRequest, transcript: TranscriptHash, out: Output
) -> None:
    """Send Certificate and, with a certificate, CertificateVerify (RFC 8446 §4.4.2, §4.4.3).

    We send the first of our chains whose key can sign with a scheme the server listed, with
    its CertificateVerify; without one, an empty Certificate (the server decides, §4.4.2.4).
    The Certificate echoes the request's certificate_request_context (§4.4.2). Both messages
    join ``transcript``; ``config.signer``, when set, makes the signature.
    """
    offered = request.get(SignatureAlgorithms)
    server_schemes = offered.schemes if offered is not None else ()
    context = request.certificate_request_context
    authorities = request.get(CertificateAuthorities)
    for certified in by_authorities(config.certificates, authorities):
        pss = spki_is_rsassa_pss(certified.leaf)
        scheme = next(
            (
                s
                for s in schemes_for_key(certified.private_key, rsassa_pss=pss)
                if s in server_schemes
            ),
            None,
        )
        if scheme is None:
            continue
        entries = tuple(CertificateEntry(cert_data=der) for der in certified.der_chain)
        transcript.update(
            out.send(Certificate(certificate_request_context=context, certificate_list=entries))
        )
        content = certificate_verify_input(transcript.digest(), server=False)
        if config.signer is not None:
            signature = config.signer(scheme, certified.private_key, content)
        else:
            signature = sign(scheme, certified.private_key, content, rsassa_pss=pss)
        transcript.update(out.send_encoded(encode_certificate_verify(scheme, signature)))
        return
    transcript.update(
        out.send(Certificate(certificate_request_context=context, certificate_list=()))
    )


__all__ = ["answer_certificate_request", "by_authorities"]
