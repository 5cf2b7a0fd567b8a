"""Shared paths and helpers for the test suite (run with `make test`, which builds the site first)."""
from __future__ import annotations

import datetime as dt
import json
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

VARIANT = ROOT / "_build" / "variants" / "second"


@dataclass(frozen=True)
class Variant:
    """The whole book rebuilt as of a date on the other side of the releases from the main build
    (:func:`variant_date`), with Live Code pointed at a Jupyter server on 127.0.0.1 (started by the
    tests that need it)."""

    site: Path
    today: dt.date
    kernel_port: int
    token: str


def _term():
    from course_book.agenda_data import load_agenda

    return load_agenda(ROOT / "book" / "agenda.yml", root=ROOT)


def built_on(site: Path) -> dt.date:
    """The build date (COURSE_TODAY or the day) of a built site, as the build recorded it."""
    info = site.parent / "build-info.json"
    if not info.is_file():
        pytest.fail(f"{info} is missing: the build writes it (course_book.exec_stats)")
    return dt.date.fromisoformat(json.loads(info.read_text(encoding="utf-8"))["course_today"])


def variant_date(main: dt.date) -> dt.date:
    """The second build's date: the other side of the releases from the main build. After every
    release (the term is over), a date before any; otherwise a date after the last one. Together the
    two builds show every solution both unreleased and released, except in mid-term, where a solution
    already out on the main build is also out on the second (the small dated builds of
    test_solutions.py cover that case)."""
    term = _term()
    gated = [d for d in term.deadlines if d.solution]
    if not gated:
        pytest.fail("book/agenda.yml names no solution page: nothing is date-gated")
    if all(d.released(main, term.tz) for d in gated):
        return min(d.due.astimezone(term.tz).date() for d in gated)
    return max(d.release_date(term.tz) for d in gated)


@dataclass(frozen=True)
class Dated:
    site: Path
    today: dt.date


@dataclass(frozen=True)
class Builds:
    """The main build and the second one, each with its date: where a solution is (un)released."""

    dated: tuple[Dated, ...]

    def released(self, solution: str) -> Dated | None:
        return next((b for b in self.dated if self._is_released(solution, b.today)), None)

    def unreleased(self, solution: str) -> list[Dated]:
        return [b for b in self.dated if not self._is_released(solution, b.today)]

    @staticmethod
    def _is_released(solution: str, today: dt.date) -> bool:
        term = _term()
        deadline = next((d for d in term.deadlines if d.solution == solution), None)
        return deadline is None or deadline.released(today, term.tz)


@pytest.fixture(scope="session")
def variant(site: Path) -> Variant:
    sys.path.insert(0, str(ROOT / "tools"))
    import live

    today, port, token = variant_date(built_on(site)), live.free_port(), secrets.token_hex(16)
    cache = ROOT / "_build" / ".jupyter_cache"
    if cache.is_dir():  # reuse the main build's executed notebooks: only changed pages run again
        shutil.copytree(cache, VARIANT / "_build" / ".jupyter_cache", dirs_exist_ok=True)
    env = {**live.kernel_env(port, token), "COURSE_TODAY": today.isoformat()}
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "tools/build.py", ".", "--path-output",
                             str(VARIANT), "-W", "-n", "--keep-going"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        pytest.fail(f"the second build (COURSE_TODAY={today}) failed:\n{result.stdout[-4000:]}\n"
                    f"{result.stderr[-4000:]}")
    return Variant(VARIANT / "_build" / "html", today, port, token)


@pytest.fixture(scope="session")
def builds(site: Path, variant: Variant) -> Builds:
    return Builds((Dated(site, built_on(site)), Dated(variant.site, variant.today)))
