"""Shared paths and helpers for the test suite (run with `make test`, which builds the site first)."""
from __future__ import annotations

import datetime as dt
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
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


# --------------------------------------------------------------------------- a second build of the book

VARIANT = ROOT / "_build" / "variants" / "prerelease"


@dataclass(frozen=True)
class Variant:
    """The whole book rebuilt as of a date before every solution's release, with Live Code pointed
    at a Jupyter server on 127.0.0.1 (started by the tests that need it)."""

    site: Path
    today: dt.date
    kernel_port: int
    token: str


def _prerelease_date() -> dt.date:
    from course_book.agenda_data import load_agenda

    term = load_agenda(ROOT / "book" / "agenda.yml", root=ROOT)
    dues = [d.due.astimezone(term.tz).date() for d in term.deadlines if d.solution]
    if not dues:
        pytest.fail("book/agenda.yml names no solution page: nothing is date-gated")
    return min(dues)


@pytest.fixture(scope="session")
def variant(site: Path) -> Variant:
    sys.path.insert(0, str(ROOT / "tools"))
    import live

    today, port, token = _prerelease_date(), live.free_port(), secrets.token_hex(16)
    cache = ROOT / "_build" / ".jupyter_cache"
    if cache.is_dir():  # reuse the main build's executed notebooks: only changed pages run again
        shutil.copytree(cache, VARIANT / "_build" / ".jupyter_cache", dirs_exist_ok=True)
    env = {**live.kernel_env(port, token), "COURSE_TODAY": today.isoformat()}
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "jupyter-book"), "build", ".", "--path-output",
                             str(VARIANT), "-W", "-n", "--keep-going"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        pytest.fail(f"the pre-release build (COURSE_TODAY={today}) failed:\n{result.stdout[-4000:]}\n"
                    f"{result.stderr[-4000:]}")
    return Variant(VARIANT / "_build" / "html", today, port, token)
