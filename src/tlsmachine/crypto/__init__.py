"""Package marker."""

from __future__ import annotations
