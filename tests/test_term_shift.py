"""The date-dependent checks of the suite, run in a term that tools/new_term.py moved to another year.

This course's own agenda is moved by whole weeks (as an instructor would do with ``make new-term``), then a
small real Sphinx + myst-nb build holds the agenda page, the home page's "next up" box, a page for every
page the agenda names and a secret-bearing page for every solution. The same output directory is rebuilt
at four dates inside the moved term, out of order (a later date, then an earlier one), as the daily build
does, and each build is checked against what the moved YAML says, computed here with plain dates:

- the agenda table: one row per session and deadline, each marked past, today or upcoming;
- next up: the next session and the next deadline;
- deadline boxes: passed or not;
- solutions: published from the day after their deadline, and before that nothing of them anywhere in
  the output (pages, ``_sources``, search index), even though an earlier build of the same folder had it;
- the calendar feed: every event, all of them in the new term's years.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import icalendar
import pytest
from bs4 import BeautifulSoup
from conftest import ROOT

import new_term
from course_book.agenda_data import Term, load_agenda

WEEKS = 209  # spring 2023 -> spring 2027, keeping weekdays (the move the issue tried by hand)
FILES = (Path("book/agenda.yml"), Path("book/archives.md"), Path("_config.yml"))

CONF = f"""\
import sys
sys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})
extensions = ["myst_nb", "course_book"]
course_agenda_file = "book/agenda.yml"
course_agenda_page = "book/agenda"
course_vendor_mathjax = False  # the math assets play no part here (either name, as the extension has it)
course_katex = False
course_vendor_thebe = False
nb_execution_mode = "off"
nitpicky = True
exclude_patterns = ["_build", "book/archives.md"]  # copied for new_term.py only
html_theme = "sphinx_book_theme"
html_theme_options = {{"launch_buttons": {{"colab_url": "https://colab.research.google.com"}},
                       "repository_url": "https://github.com/example/course"}}
"""


def secret(page: str) -> str:
    """A word that appears only in one solution page, so a leak of it is unambiguous."""
    return "zebracorn_" + page.replace("/", "_").replace("-", "_")


def notebook(*cells: tuple[str, str]) -> str:
    return json.dumps({"cells": [{"cell_type": kind, "metadata": {}, "source": text,
                                  **({"outputs": [], "execution_count": None} if kind == "code" else {})}
                                 for kind, text in cells],
                       "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                                   "name": "python3"}},
                       "nbformat": 4, "nbformat_minor": 5})


def pages_named(term: Term) -> set[str]:
    pages = {lec.page for lec in term.lectures.values() if lec.page}
    pages |= {code for lec in term.lectures.values() for code in lec.code}
    pages |= {page for s in term.sessions for _, page in s.items() if page}
    pages |= {d.page for d in term.deadlines if d.page}
    return pages


def day_text(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B} {day.year}"


@pytest.fixture(scope="module")
def moved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Term, Term]:
    """The course's agenda moved by make new-term's tool, and a small book around it."""
    src = tmp_path_factory.mktemp("term-shift") / "src"
    for rel in FILES:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, src / rel)
    old = load_agenda(src / "book" / "agenda.yml")
    first = old.sessions[0].start.date() + dt.timedelta(weeks=WEEKS)
    code = new_term.run([first.isoformat(), "--name", f"Deep Learning on a CPU, spring {first.year}",
                         "--slug", f"spring-{first.year}", "--root", str(src), "--no-tag"])
    assert code == 0, "tools/new_term.py refused to move this course's agenda"
    term = load_agenda(src / "book" / "agenda.yml")

    solutions = {d.solution for d in term.deadlines if d.solution}
    toc = ["book/agenda"]
    for page in sorted(pages_named(term) | solutions):
        path = src / f"{page}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        if page in solutions:
            path.with_suffix(".ipynb").write_text(notebook(
                ("markdown", f"# Solution {page}"), ("code", f"{secret(page)} = 42"),
                ("markdown", f"**Answer.** The {secret(page)} explains it.")))
        else:
            boxes = "".join(f"\n```{{deadline}} {d.id}\n```\n" for d in term.deadlines if d.page == page)
            path.write_text(f"# Page {page}\n\nText.\n{boxes}")
        toc.append(page)
    (src / "book" / "agenda.md").write_text("# Agenda\n\n```{agenda-table}\n```\n")
    (src / "index.md").write_text("# Home\n\n```{next-up}\n```\n\n```{toctree}\n" + "\n".join(toc) + "\n```\n")
    (src / "conf.py").write_text(CONF)
    return src, old, term


def four_dates(term: Term) -> list[dt.date]:
    """Four build dates inside the term, between pairs of its deadlines, in a rebuild order that goes
    forward and back: a solution's release day, the first session's day, the day before the last
    deadline, and the due day of the first deadline that has a solution (one day before its release)."""
    tz = term.tz
    with_solution = [d for d in term.deadlines if d.solution]
    assert with_solution, "the agenda names no solution page: the release checks below need one"
    first_release = with_solution[0].release_date(tz)
    last_due = max(d.due.astimezone(tz).date() for d in term.deadlines)
    return [first_release, term.sessions[0].start.date(), last_due - dt.timedelta(days=1),
            with_solution[0].due.astimezone(tz).date()]


def build(src: Path, out: Path, today: dt.date) -> None:
    result = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(src), str(out)],
                            env={**os.environ, "COURSE_TODAY": today.isoformat()}, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, f"build dated {today} failed:\n{result.stderr[-3000:]}"


def site_text(out: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in out.rglob("*")
                     if p.is_file() and p.suffix in {".html", ".js", ".ipynb", ".txt", ".md", ".json"})


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def test_the_term_moved_to_another_year(moved: tuple[Path, Term, Term]) -> None:
    _, old, term = moved
    years = {s.start.year for s in term.sessions} | {d.due.year for d in term.deadlines}
    assert min(years) > max(s.start.year for s in old.sessions), years
    assert [s.start.weekday() for s in term.sessions] == [s.start.weekday() for s in old.sessions]
    assert len(term.sessions) == len(old.sessions) and len(term.deadlines) == len(old.deadlines)


def test_date_dependent_pages_at_four_dates_in_the_moved_term(moved: tuple[Path, Term, Term],
                                                              tmp_path: Path) -> None:
    src, _, term = moved
    tz, out = term.tz, tmp_path / "html"
    dates = four_dates(term)
    assert all(term.sessions[0].start.date() <= d <= term.deadlines[-1].due.date() for d in dates), dates
    for today in dates:
        build(src, out, today)
        where = f"(build dated {today})"

        # The agenda table: every session and deadline, each in its state as of the build date.
        rows = soup(out / "book" / "agenda.html").select("table.agenda-table tbody tr")
        events = sorted([(s.start, "session") for s in term.sessions]
                        + [(d.due, "deadline") for d in term.deadlines], key=lambda e: e[0])
        assert len(rows) == len(events), where
        for row, (when, _) in zip(rows, events):
            day = when.astimezone(tz).date()
            want = "agenda-past" if day < today else "agenda-today" if day == today else "agenda-upcoming"
            assert want in row["class"], f"{where} the row of {day} is not {want}: {row['class']}"

        # Next up: the first session and the first deadline on or after the build date.
        box = " ".join(soup(out / "index.html").select_one(".course-next-up").get_text(" ").split())
        session = next((s for s in term.sessions if s.start.date() >= today), None)
        deadline = next((d for d in term.deadlines if d.due.astimezone(tz).date() >= today), None)
        if session is not None:
            assert day_text(session.start.date()) in box, f"{where} next session missing: {box}"
        else:
            assert "the last session has taken place" in box, f"{where} {box}"
        assert deadline is not None and deadline.title in box, f"{where} next deadline missing: {box}"

        # Deadline boxes on the pages that hand the work out.
        for d in term.deadlines:
            if not d.page:
                continue
            text = soup(out / f"{d.page}.html").select_one(".course-deadline").get_text(" ")
            passed = d.due.astimezone(tz).date() < today
            assert ("(passed)" in text) is passed, f"{where} {d.id}: {' '.join(text.split())}"
            assert day_text(d.due.astimezone(tz).date()) in " ".join(text.split()), where

        # Solutions: published from the day after the deadline; before, nothing of them anywhere.
        everything = site_text(out)
        for d in term.deadlines:
            if not d.solution:
                continue
            released = today > d.due.astimezone(tz).date()
            page = (out / f"{d.solution}.html").read_text(encoding="utf-8")
            assert (secret(d.solution) in page) is released, f"{where} {d.solution} released={released}"
            assert (out / "_sources" / f"{d.solution}.ipynb").exists() is released, where
            if not released:
                assert secret(d.solution) not in everything, f"{where} {d.solution} leaked into the output"
                assert day_text(d.release_date(tz)) in page, f"{where} the notice lacks the release day"

        # The calendar: every session and deadline, in the new term's years.
        cal = icalendar.Calendar.from_ical((out / "agenda.ics").read_bytes())
        starts = [e.decoded("DTSTART") for e in cal.walk("VEVENT")]
        assert len(starts) == len(events), where
        assert {s.year for s in starts} == {w.year for w, _ in events}, where
