"""``tlsmachine client | server | demo``: a command line for interop testing and the quick start.

Uses only the public API, :mod:`tlsmachine.sockets` and :mod:`tlsmachine.trace`. Every wait
is bounded by ``--timeout`` (except reading stdin interactively); failures print one line
``tlsmachine: error: ...`` and exit non-zero (2 for bad arguments or configuration, 1 for
connection and TLS failures).

The client prints a summary of what was negotiated (and the server's chain), the server one
line per connection; ``--trace`` adds every handshake message as it is sent or received.

The subcommands live in cli_client.py, cli_server.py and cli_demo.py, the options they share
in cli_options.py, what they print in cli_report.py; this module builds the parser and turns
every failure into one line and an exit status.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable, Sequence

from . import (
    ConfigurationError,
    TLSError,
    __version__,
)
from .cli_client import add_client_resumption, run_client
from .cli_demo import run_demo
from .cli_options import (
    add_certificates,
    add_common,
    err,
    host_port,
)
from .cli_report import (
    CliError,
    describe_error,
)
from .cli_server import add_client_auth, add_server_resumption, check_server, run_server

# -- entry point ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tlsmachine", description="A sans-I/O TLS 1.3 library: client, server and demo."
    )
    parser.add_argument("--version", action="version", version=f"tlsmachine {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    client = sub.add_parser("client", help="connect; copy stdin to the server, replies to stdout")
    client.add_argument("target", type=host_port, metavar="HOST:PORT")
    client.add_argument("--cafile", metavar="PEM", help="trust anchors (default: system store)")
    client.add_argument(
        "--insecure", action="store_true", help="do not verify the server certificate"
    )
    client.add_argument("--servername", metavar="NAME", help="SNI and name to verify")
    client.add_argument(
        "--half-close",
        action="store_true",
        help="send close_notify at the end of stdin (then read until the server closes)",
    )
    add_certificates(client, "client certificate")
    add_common(client)
    add_client_resumption(client)
    client.set_defaults(func=run_client)

    server = sub.add_parser("server", help="serve TLS (echo or a -www style status page)")
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=4433, help="0 picks a free port")
    add_certificates(server, "certificate")
    mode = server.add_mutually_exclusive_group()
    mode.add_argument("--www", action="store_true", help="answer HTTP GET with a status page")
    mode.add_argument("--echo", action="store_true", help="echo application data (default)")
    add_common(server)
    add_server_resumption(server)
    add_client_auth(server)
    server.set_defaults(func=run_server, check=functools.partial(check_server, server))

    demo = sub.add_parser("demo", help="a local handshake with a traced message flow")
    demo.add_argument(
        "--key-type",
        default="ecdsa-p256",
        choices=("ecdsa-p256", "ecdsa-p384", "rsa-2048", "ed25519", "mldsa65"),
    )
    demo.add_argument("--hrr", action="store_true", help="force a HelloRetryRequest")
    demo.add_argument("--timeout", type=float, default=10.0, metavar="SEC")
    demo.set_defaults(func=run_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    check: Callable[[argparse.Namespace], None] | None = getattr(args, "check", None)
    if check is not None:
        check(args)  # exits with status 2 and the subcommand's usage on a conflict
    try:
        status: int = args.func(args)
    except CliError as exc:
        err(f"tlsmachine: error: {exc}")
        return exc.status
    except ConfigurationError as exc:
        err(f"tlsmachine: error: {describe_error(exc)}")
        return 2
    except KeyboardInterrupt:
        err("tlsmachine: interrupted")
        return 130
    except (TLSError, OSError) as exc:
        err(f"tlsmachine: error: {describe_error(exc)}")
        return 1
    except Exception as exc:  # a bug: still one line, with the exception type to report it
        err(f"tlsmachine: internal error: {exc!r}")
        return 1
    return status
