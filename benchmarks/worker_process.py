"""The parent's end of a benchmark worker process: one request line in, one JSON line out.

Shared by ``benchmarks/run.py`` and ``benchmarks/pq.py``, which run as scripts and import this
module from their own directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import tempfile
from pathlib import Path
from typing import Any


def child_env(src: Path) -> dict[str, str]:
    """This process's environment with ``src`` first on PYTHONPATH and no OPENSSL_CONF."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(src), env.get("PYTHONPATH", "")) if p)
    env.pop("OPENSSL_CONF", None)
    return env


class WorkerProcess:
    """A child process with stdin/stdout pipes that answers each request with one JSON line.

    ``name`` is the subject of the error raised when a reply does not come (for example
    ``"the stdlib worker"``); ``timeout`` is how many seconds to wait for each reply.
    """

    def __init__(self, cmd: list[str], env: dict[str, str], name: str, timeout: float) -> None:
        self.name = name
        self.timeout = timeout
        # stderr goes to a file, not a pipe that could fill up; it lives as long as the worker
        self.stderr = tempfile.TemporaryFile("w+")  # noqa: SIM115
        self.proc = subprocess.Popen(
            cmd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )

    def reply(self) -> dict[str, Any]:
        """The next JSON line; the worker is killed and RuntimeError raised if none comes."""
        out = self.proc.stdout
        assert out is not None
        ready, _, _ = select.select([out], [], [], self.timeout)
        line = out.readline() if ready else ""
        if not line:
            errors = self.close(kill=True)
            raise RuntimeError(f"{self.name} failed or timed out:\n{errors}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def request(self, line: str) -> dict[str, Any]:
        """Send ``line`` (a newline is added) and return the reply."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.reply()

    def close(self, kill: bool = False) -> str:
        """End the worker (EOF on stdin; killed if asked or stuck); return its stderr."""
        if kill and self.proc.poll() is None:
            self.proc.kill()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()  # EOF on stdin ends a healthy worker's loop
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        errors = ""
        if not self.stderr.closed:
            self.stderr.seek(0)
            errors = self.stderr.read()
            self.stderr.close()
        return errors
