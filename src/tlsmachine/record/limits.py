"""The numbers of record protection: sizes, sequence-number and key-usage limits (RFC 8446 §5).

Shared by every protector (:mod:`.protection`, :mod:`.protection13`, :mod:`.protection12`) and
the record layer; re-exported by :mod:`tlsmachine.record.protection`. A leaf module, so the
protectors of each version can import it without a cycle.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "AES_CCM_MAX_RECORDS",
    "AES_GCM_MAX_RECORDS",
    "MAX_CIPHERTEXT",
    "MAX_INNER_PLAINTEXT",
    "MAX_PLAINTEXT",
    "SEQUENCE_LIMIT",
    "TLS12",
]

#: The legacy_record_version of protected records (RFC 8446 §5.2), and TLS 1.2 itself.
TLS12: Final = 0x0303
#: RFC 8446 §5.1: TLSPlaintext.length MUST NOT exceed 2^14.
MAX_PLAINTEXT: Final = 1 << 14
#: RFC 8446 §5.4: the full encoded TLSInnerPlaintext MUST NOT exceed 2^14 + 1 octets.
MAX_INNER_PLAINTEXT: Final = MAX_PLAINTEXT + 1
#: RFC 8446 §5.2: TLSCiphertext.length MUST NOT exceed 2^14 + 256.
MAX_CIPHERTEXT: Final = MAX_PLAINTEXT + 256
#: RFC 8446 §5.3: sequence numbers never wrap. We stop one short of 2^64 - 1 (as rustls does):
#: sequence numbers 0 .. 2^64 - 2 are used, 2^64 - 1 never is.
SEQUENCE_LIMIT: Final = (1 << 64) - 1
#: RFC 8446 §5.5: "up to 2^24.5 full-size records" under one AES-GCM key.
AES_GCM_MAX_RECORDS: Final = 23_726_566  # floor(2 ** 24.5)
#: RFC 9147 §4.5.3 (the AEAD-limits analysis applied to AES-CCM): 2^23.5 records.
AES_CCM_MAX_RECORDS: Final = 11_863_283  # floor(2 ** 23.5)
#: ChaCha20-Poly1305 needs no limit below SEQUENCE_LIMIT (RFC 8446 §5.5).
