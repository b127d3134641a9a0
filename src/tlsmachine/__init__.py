"""tlsmachine: a sans-I/O TLS 1.3 and TLS 1.2 implementation on pyca/cryptography."""

from __future__ import annotations

__version__ = "0.1.0"
