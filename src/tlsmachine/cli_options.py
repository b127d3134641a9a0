"""Options shared by ``tlsmachine client`` and ``tlsmachine server``, and their config fields.

Options are defined once per group (``add_*``, used by both subcommands where both have them)
and turned into config fields by the matching ``*_config`` helper: a new option goes into its
group and its dict.
"""

from __future__ import annotations

import argparse
import os
import sys

from . import (
    CertifiedKey,
    ConfigurationError,
    ExternalPsk,
    profiles,
)
from .cli_report import (
    CliError,
    describe_error,
)
from .config import KeyLogCallback
from .enums import ProtocolVersion
from .keylog import KeyLogFile
from .profiles import PROFILES, Profile

VERSIONS = {"1.2": ProtocolVersion.TLS12, "1.3": ProtocolVersion.TLS13}
CLIENT_AUTH = ("none", "optional", "required")


def err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- shared options -------------------------------------------------------------------------------


def _alpn(value: str) -> tuple[str, ...]:
    protocols = tuple(p.strip() for p in value.split(",") if p.strip())
    if not protocols:
        raise argparse.ArgumentTypeError("give at least one protocol, e.g. h2,http/1.1")
    return protocols


def _groups(value: str) -> tuple[str, ...]:
    """Group names, checked by the config (which accepts "x25519mlkem768", "P-256", ...)."""
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    if not names:
        raise argparse.ArgumentTypeError("give at least one group, e.g. X25519MLKEM768,x25519")
    return names


def add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--alpn", type=_alpn, default=(), metavar="P,...", help="ALPN protocols")
    p.add_argument(
        "--groups", type=_groups, metavar="G,...", help="key exchange groups, preferred first"
    )
    p.add_argument(
        "--profile",
        choices=tuple(PROFILES),
        help="a named policy (default, compat, pq-only, cnsa2); other options refine it",
    )
    p.add_argument("--min-version", choices=VERSIONS, help="lowest TLS version (1.2)")
    p.add_argument("--max-version", choices=VERSIONS, help="highest TLS version (1.3)")
    p.add_argument(
        "--timeout", type=float, default=30.0, metavar="SEC", help="network timeout (30)"
    )
    p.add_argument(
        "--keylog",
        metavar="FILE",
        help="append TLS secrets to FILE in NSS key log format (default: $SSLKEYLOGFILE)",
    )
    p.add_argument(
        "--psk",
        type=_external_psk,
        action="append",
        default=[],
        metavar="ID:HEX",
        help="an external pre-shared key: identity and key in hex (repeatable; RFC 8446 §2.2)",
    )
    p.add_argument(
        "--trace",
        action="store_true",
        help="print each handshake message to stderr as it is sent (->) or received (<-)",
    )


def _external_psk(value: str) -> ExternalPsk:
    identity, sep, key = value.rpartition(":")
    try:
        if not sep or not identity:
            raise ValueError("expected ID:HEX")
        return ExternalPsk(identity=identity.encode(), key=bytes.fromhex(key))
    except (ValueError, ConfigurationError) as exc:
        raise argparse.ArgumentTypeError(f"--psk {value!r}: {exc}") from None


def common_config(args: argparse.Namespace) -> dict[str, object]:
    # defaults: TLS 1.2 and 1.3 (RFC 8996: nothing older)
    options: dict[str, object] = {
        "alpn_protocols": args.alpn,
        "keylog": _keylog(args),
        "external_psks": tuple(args.psk),
        "trace_handshake": args.trace,
    }
    if args.min_version:  # else the profile's (default TLS 1.2; RFC 8996: nothing older)
        options["min_version"] = VERSIONS[args.min_version]
    if args.max_version:
        options["max_version"] = VERSIONS[args.max_version]
    if args.groups:
        options["groups"] = args.groups
    return options


def profile_of(args: argparse.Namespace) -> Profile:
    return profiles.get(args.profile or "default")


def add_certificates(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--cert", action="append", metavar="PEM", help=f"{what} chain, leaf first (repeatable)"
    )
    p.add_argument(
        "--key",
        action="append",
        metavar="PEM",
        help="key of each --cert (default: the --cert file)",
    )


def load_certificates(args: argparse.Namespace) -> tuple[CertifiedKey, ...]:
    """The --cert/--key chains (empty when none were given)."""
    certs, keys = args.cert or [], args.key or []
    if keys and len(keys) != len(certs):
        raise CliError("give one --key per --cert (or put each key into its --cert file)", 2)
    return tuple(CertifiedKey.load(cert, keys[i] if keys else None) for i, cert in enumerate(certs))


def _keylog(args: argparse.Namespace) -> KeyLogCallback | None:
    path = args.keylog or os.environ.get("SSLKEYLOGFILE") or None
    if path is None:
        return None

    def stopped(exc: OSError) -> None:
        err(f"tlsmachine: warning: key log {path}: {describe_error(exc)}; stopped")

    try:
        keylog = KeyLogFile(path, on_error=stopped)
    except OSError as exc:
        raise CliError(f"cannot open key log file {path}: {describe_error(exc)}", 2) from None
    source = "" if args.keylog else " (SSLKEYLOGFILE)"
    err(f"* appending TLS secrets to {path}{source}")
    return keylog


def host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host.removeprefix("[").removesuffix("]"), int(port)
