"""docs/api.md is generated from the docstrings and must match them (run docs/gen_api.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_api", ROOT / "docs" / "gen_api.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_reference_is_up_to_date() -> None:
    expected = _generator().render()
    actual = (ROOT / "docs" / "api.md").read_text()
    assert actual == expected, "docs/api.md is stale: run `python docs/gen_api.py`"


def test_api_reference_covers_the_public_entry_points() -> None:
    text = (ROOT / "docs" / "api.md").read_text()
    for heading in (
        "## `tlsmachine.config`",
        "### `ClientConfig`",
        "### `ServerConfig`",
        "## `tlsmachine.sockets`",
        "### `connect(",
        "## `tlsmachine.asyncio`",
        "### `open_connection(",
        "## `tlsmachine.context`",
        "### `Context`",
        "### `HandshakeComplete`",
        "### `PinnedCertificate`",
    ):
        assert heading in text, heading
    # field docs are read from the source: every ClientConfig field is documented
    assert "| `server_name_callback` |" in text
    assert "| `cafile` | `str \\| None` | `None` | PEM file of trust anchors" in text
