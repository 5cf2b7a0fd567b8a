"""Solutions published only after their deadline: the agenda rule, and a real Sphinx + myst-nb build
of a small book at several injected dates (the solution page, the assignment's box, the search index,
the copied sources)."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from course_book.agenda_data import AgendaError, _Loader, parse_agenda

TERM = {"name": "T", "slug": "t", "timezone": "Europe/Brussels", "time": "08:30", "minutes": 60, "room": "R"}
SECRET = "zebracorn_secret_answer"  # appears only in the solution notebook


def _agenda(deadline: dict) -> dict:
    return {"term": TERM, "lectures": {0: {"title": "Intro"}}, "sessions": [{"date": "2023-02-10", "lectures": [0]}],
            "deadlines": [{"id": "homework-1", "title": "Homework 1", "kind": "homework",
                           "due": "2023-03-06 23:59", **deadline}]}


@pytest.mark.parametrize(("today", "released"), [
    ("2023-02-01", False), ("2023-03-06", False), ("2023-03-07", True), ("2024-01-01", True)])
def test_release_rule(today: str, released: bool) -> None:
    term = parse_agenda(_agenda({"page": "hw", "solution": "hw-solution"}))
    deadline = term.deadline("homework-1")
    assert deadline.release_date(term.tz) == dt.date(2023, 3, 7)
    assert deadline.released(dt.date.fromisoformat(today), term.tz) is released


def test_solution_needs_its_assignment_page() -> None:
    with pytest.raises(AgendaError, match=r"deadline 1 \(homework-1\): field 'solution': a solution "
                                          r"needs the deadline's 'page'"):
        parse_agenda(_agenda({"solution": "hw-solution"}))


def test_solution_page_must_exist(tmp_path: Path) -> None:
    (tmp_path / "hw.md").write_text("# HW\n")
    with pytest.raises(AgendaError, match=r"field 'solution': page 'hw-solution' does not exist"):
        parse_agenda(_agenda({"page": "hw", "solution": "hw-solution"}), root=tmp_path)


def _notebook(*cells: tuple[str, str]) -> str:
    return json.dumps({"cells": [{"cell_type": kind, "metadata": {}, "source": text,
                                  **({"outputs": [], "execution_count": None} if kind == "code" else {})}
                                 for kind, text in cells],
                       "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                                   "name": "python3"}},
                       "nbformat": 4, "nbformat_minor": 5})


AGENDA = """\
term: {name: T, slug: t, timezone: Europe/Brussels, time: "08:30", minutes: 60, room: R}
lectures: {0: {title: Intro}}
sessions: [{date: 2023-02-10, lectures: [0]}]
deadlines:
  - {id: homework-1, title: "Homework 1", kind: homework, due: "2023-03-06 23:59",
     page: hw, solution: solutions/hw, submit: Gradescope}
"""

CONF = f"""\
import sys
sys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})
extensions = ["myst_nb", "course_book"]
course_agenda_file = "agenda.yml"
course_agenda_page = "index"
course_katex = False
course_vendor_thebe = False
nb_execution_mode = "off"
nitpicky = True
html_theme = "sphinx_book_theme"
html_theme_options = {{"launch_buttons": {{"colab_url": "https://colab.research.google.com"}},
                       "repository_url": "https://github.com/example/course"}}
"""


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("solutions") / "src"
    (src / "solutions").mkdir(parents=True)
    (src / "conf.py").write_text(CONF)
    (src / "agenda.yml").write_text(AGENDA)
    (src / "index.md").write_text("# Home\n\n```{toctree}\nhw\nsolutions/hw\n```\n")
    (src / "hw.ipynb").write_text(_notebook(("markdown", "# Homework 1\n\nFill in the blanks."),
                                            ("code", "answer = ...")))
    (src / "solutions" / "hw.ipynb").write_text(_notebook(
        ("markdown", "# Homework 1 (solution)"), ("code", f"{SECRET} = 42"),
        ("markdown", f"**Answer.** The {SECRET} explains it.")))
    return src


def _build(src: Path, today: str, out: Path | None = None) -> Path:
    """Build the small book as of ``today`` into ``out`` (by default a folder of its own per date)."""
    out = out or src.parent / f"html-{today}"
    result = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(src), str(out)],
                            env={**os.environ, "COURSE_TODAY": today}, capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, result.stderr
    return out


def _site_text(out: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in out.rglob("*")
                     if p.is_file() and p.suffix in {".html", ".js", ".ipynb", ".txt", ".md", ".json"})


@pytest.mark.parametrize("today", ["2023-02-20", "2023-03-06"])
def test_before_release_nothing_of_the_solution_is_published(book: Path, today: str) -> None:
    out = _build(book, today)
    assert SECRET not in _site_text(out), "solution text reached the built site before the deadline"
    page = (out / "solutions" / "hw.html").read_text()
    assert "published on this page after the deadline: on Tuesday 7 March 2023" in page
    assert not (out / "_sources" / "solutions" / "hw.ipynb").exists()
    assert "colab.research.google.com" not in page, "launch buttons on an unreleased solution"
    assert "download-buttons" not in page and "_sources/" not in page, "a download menu on the notice page"
    hw = (out / "hw.html").read_text()
    assert "will be published on this site after the deadline, on Tuesday 7 March 2023" in hw
    assert "Monday 6 March 2023, 23:59 (Europe/Brussels)" in hw and "Gradescope" in hw


@pytest.mark.parametrize("today", ["2023-03-07", "2023-06-01"])
def test_after_release_the_solution_is_published(book: Path, today: str) -> None:
    out = _build(book, today)
    page = (out / "solutions" / "hw.html").read_text()
    assert SECRET in page
    hw = (out / "hw.html").read_text()
    assert 'href="solutions/hw.html"' in hw and "the worked solution" in hw


def test_a_date_change_alone_releases_the_solution(book: Path, tmp_path: Path) -> None:
    """The same output directory rebuilt with only COURSE_TODAY changed: what the daily build does."""
    out = tmp_path / "html"
    for today, published in [("2023-03-01", False), ("2023-03-08", True), ("2023-03-02", False)]:
        _build(book, today, out)
        assert (SECRET in (out / "solutions" / "hw.html").read_text()) is published, today
        assert (SECRET in _site_text(out)) is published, f"{today}: a stale copy of the solution is published"
        assert (out / "_sources" / "solutions" / "hw.ipynb").exists() is published, today


def test_words_no_page_holds_leave_the_search_index() -> None:
    """Sphinx keeps a re-read page's old words with empty document lists; they must go."""
    from course_book.solutions import prune_search_index
    index = ('Search.setIndex({"docnames": ["a", "b"], "terms": {"kept": [0, 1], "one": 1, "zebracorn": []}, '
             '"titleterms": {"gone": [], "title": 0}})')
    pruned = prune_search_index(index)
    assert pruned.startswith("Search.setIndex(") and pruned.endswith(")")
    data = json.loads(pruned[len("Search.setIndex("):-1])
    assert data["terms"] == {"kept": [0, 1], "one": 1} and data["titleterms"] == {"title": 0}
    assert prune_search_index('Search.setIndex({"terms": {"a": 0}, "titleterms": {}})') == (
        'Search.setIndex({"terms": {"a": 0}, "titleterms": {}})'), "an index with nothing to drop is kept as is"
    assert prune_search_index("var x = 1") == "var x = 1"


# --------------------------------------------------------------------------- opening dates (guided projects)

STATEMENT = "quokkaprime_statement_text"  # appears only in the project's statement notebook

PROJECT_AGENDA = """\
term: {name: T, slug: t, timezone: Europe/Brussels, time: "08:30", minutes: 60, room: R}
lectures: {0: {title: Intro}, 1: {title: Next}}
sessions: [{date: 2023-02-10, lectures: [0]}, {date: 2023-02-17, lectures: [1]}]
deadlines:
  - {id: guided-project-1, title: "Guided project 1: gradients", kind: guided-project, due: "2023-03-06 23:59",
     opens: 2023-02-13, introduced: 2023-02-17, page: project, solution: solutions/project, submit: Gradescope}
"""


def _project_agenda(**changes: object) -> dict:
    data = yaml.load(PROJECT_AGENDA, Loader=_Loader)  # the agenda's loader: dates stay text
    data["deadlines"][0].update(changes)
    return data


@pytest.mark.parametrize(("today", "is_open"), [("2023-02-01", False), ("2023-02-12", False),
                                               ("2023-02-13", True), ("2023-06-01", True)])
def test_opening_rule(today: str, is_open: bool) -> None:
    deadline = parse_agenda(_project_agenda()).deadline("guided-project-1")
    assert deadline.opens == dt.date(2023, 2, 13)
    assert deadline.is_open(dt.date.fromisoformat(today)) is is_open


@pytest.mark.parametrize(("changes", "message"), [
    ({"page": None, "solution": None}, r"field 'opens': an opening date needs the deadline's 'page'"),
    ({"opens": "2023-03-06"}, r"field 'opens': 2023-03-06 is not before the due day \(2023-03-06\)"),
    ({"opens": "2023-02-31"}, r"field 'opens': impossible date '2023-02-31'"),
    ({"opens": "13 Feb"}, r"field 'opens': expected a date as YYYY-MM-DD"),
    ({"introduced": "2023-02-10"}, r"field 'introduced': the session that introduces it \('session-2023-02-10'\) "
                                   r"is before its opening date \(2023-02-13\)"),
])
def test_bad_opening_dates_name_the_entry(changes: dict, message: str) -> None:
    data = _project_agenda()
    for key, value in changes.items():
        if value is None:
            data["deadlines"][0].pop(key)
        else:
            data["deadlines"][0][key] = value
    with pytest.raises(AgendaError, match=r"deadline 1 \(guided-project-1\): " + message):
        parse_agenda(data)


@pytest.fixture(scope="module")
def project_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("projects") / "src"
    (src / "solutions").mkdir(parents=True)
    (src / "conf.py").write_text(CONF)
    (src / "agenda.yml").write_text(PROJECT_AGENDA)
    (src / "index.md").write_text("# Home\n\n```{agenda-table}\n```\n\n```{toctree}\nproject\nsolutions/project\n```\n")
    (src / "project.ipynb").write_text(_notebook(
        ("markdown", f"# Guided project 1: gradients\n\nThe {STATEMENT} explains the tasks."),
        ("code", "answer = ...")))
    (src / "solutions" / "project.ipynb").write_text(_notebook(
        ("markdown", "# Guided project 1 (solution)"), ("code", f"{SECRET} = 42")))
    return src


def test_before_its_opening_nothing_of_a_project_is_published(project_book: Path) -> None:
    out = _build(project_book, "2023-02-12")
    site = _site_text(out)
    assert STATEMENT not in site and SECRET not in site, "the project reached the site before it opens"
    page = (out / "project.html").read_text()
    assert "This assignment opens on Monday 13 February 2023" in page
    assert "Monday 6 March 2023, 23:59 (Europe/Brussels)" in page
    assert not (out / "_sources" / "project.ipynb").exists()
    assert "colab.research.google.com" not in page and "download-buttons" not in page
    agenda = (out / "index.html").read_text()
    assert "Opens: " in agenda and 'href="project.html"' in agenda, "the first session once it opens links it"


def test_a_project_opens_on_its_day_and_closes_again_on_an_earlier_date(project_book: Path, tmp_path: Path) -> None:
    """One output directory rebuilt with only COURSE_TODAY changed, as the daily build does."""
    out = tmp_path / "html"
    for today, published in [("2023-02-12", False), ("2023-02-13", True), ("2023-02-11", False)]:
        _build(project_book, today, out)
        assert (STATEMENT in (out / "project.html").read_text()) is published, today
        assert (STATEMENT in _site_text(out)) is published, f"{today}: a stale copy of the statement is published"
        assert (out / "_sources" / "project.ipynb").exists() is published, today
        assert SECRET not in _site_text(out), f"{today}: the solution is out before the deadline"
