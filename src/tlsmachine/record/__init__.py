"""The TLS record layer (RFC 8446 §5, RFC 5246 §6): framing in ``layer`` (receiving and its
checks in ``layer_receive``), protection in ``protection`` (the AEAD protectors by version in
``protection13`` and ``protection12``, the size and usage limits in ``limits``)."""

from __future__ import annotations

from .layer import MIN_RECORD_SIZE_LIMIT, PaddingPolicy, RecordLayer
from .protection import (
    AES_CCM_MAX_RECORDS,
    AES_GCM_MAX_RECORDS,
    MAX_CIPHERTEXT,
    MAX_INNER_PLAINTEXT,
    MAX_PLAINTEXT,
    SEQUENCE_LIMIT,
    Aead12Protector,
    Aead13Protector,
    AEADCipher,
    NullProtector,
    RecordProtector,
    aead12_protectors,
)

__all__ = [
    "AES_CCM_MAX_RECORDS",
    "AES_GCM_MAX_RECORDS",
    "MAX_CIPHERTEXT",
    "MAX_INNER_PLAINTEXT",
    "MAX_PLAINTEXT",
    "MIN_RECORD_SIZE_LIMIT",
    "SEQUENCE_LIMIT",
    "AEADCipher",
    "Aead12Protector",
    "Aead13Protector",
    "NullProtector",
    "PaddingPolicy",
    "RecordLayer",
    "RecordProtector",
    "aead12_protectors",
]
