"""Shared paths and helpers for the test suite (run with `make test`, which builds the site first)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"
sys.path.insert(0, str(ROOT / "book" / "_ext"))
sys.path.insert(0, str(ROOT / "tools"))


@pytest.fixture(scope="session")
def site() -> Path:
    """The built site; tests that need it fail (not skip) when it is missing."""
    if not (SITE / "index.html").is_file():
        pytest.fail(f"{SITE} has no index.html: build the site first (`make test` does)")
    return SITE
