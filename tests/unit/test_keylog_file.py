"""KeyLogFile: the NSS key log writer behind ``--keylog`` and ``Context.keylog_filename``."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tlsmachine.keylog import HEADER, KeyLogFile

LINE = "CLIENT_HANDSHAKE_TRAFFIC_SECRET " + "ab" * 32 + " " + "cd" * 48


def test_a_new_file_is_private_and_starts_with_the_header_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "keys.log"
    log = KeyLogFile(path, header=True)
    log(LINE)
    assert path.read_text() == f"{HEADER}\n{LINE}\n"  # flushed at once
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # it holds every traffic secret
    log.close()


def test_an_existing_file_is_appended_to_without_a_second_header(tmp_path: Path) -> None:
    path = tmp_path / "keys.log"
    path.write_text("# earlier\n")
    log = KeyLogFile(path, header=True)
    log(LINE)
    log.close()
    assert path.read_text() == f"# earlier\n{LINE}\n"


def test_after_close_lines_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "keys.log"
    log = KeyLogFile(path)
    log(LINE)
    log.close()
    log("SERVER_TRAFFIC_SECRET_0 " + "00" * 32 + " " + "11" * 32)
    log.close()  # a second close is harmless
    assert path.read_text() == f"{LINE}\n"


def test_opening_fails_at_once(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        KeyLogFile(tmp_path / "missing" / "keys.log")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
def test_a_failed_write_stops_logging_and_is_reported_once() -> None:
    """Writes to /dev/full fail with ENOSPC: the first failure goes to on_error, later lines
    are dropped silently, and nothing is raised into the connection that logs, nor by close()
    (the file was closed at the failure, its unwritten buffer discarded)."""
    errors: list[OSError] = []
    log = KeyLogFile("/dev/full", on_error=errors.append)
    log(LINE)
    log(LINE)
    assert len(errors) == 1 and isinstance(errors[0], OSError)
    log.close()
