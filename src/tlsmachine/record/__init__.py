"""The TLS record layer (RFC 8446 §5): framing in ``layer``, protection in ``protection``."""

from __future__ import annotations

from .layer import MIN_RECORD_SIZE_LIMIT, PaddingPolicy, RecordLayer
from .protection import (
    AES_CCM_MAX_RECORDS,
    AES_GCM_MAX_RECORDS,
    MAX_CIPHERTEXT,
    MAX_INNER_PLAINTEXT,
    MAX_PLAINTEXT,
    SEQUENCE_LIMIT,
    Aead13Protector,
    AEADCipher,
    NullProtector,
    RecordProtector,
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
    "Aead13Protector",
    "NullProtector",
    "PaddingPolicy",
    "RecordLayer",
    "RecordProtector",
]
