"""The agenda extension inside a real Sphinx build: next up for injected dates, the table, deadline
boxes, the calendar file, rebuilds when only the date changes, and a bad agenda failing the build."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import icalendar
import pytest
from bs4 import BeautifulSoup
from conftest import ROOT

AGENDA = """\
term: {name: Test term, slug: test-term, timezone: Europe/Brussels, time: "08:30", minutes: 120,
       room: Room 1}
lectures:
  0: {title: Introduction, page: lectures/lecture0}
  1: {title: Fundamentals, page: lectures/lecture1, code: [code/nb1]}
  2: {title: MLP}
sessions:
  - {date: 2023-02-10, lectures: [0, 1], activities: [{title: Course syllabus, page: syllabus}]}
  - {date: 2023-02-17, lectures: [2]}
deadlines:
  - {id: homework-1, title: Homework 1, kind: homework, due: "2023-03-06 23:59", introduced: 2023-02-10,
     page: hw}
  - {id: project, title: Project, kind: project, due: "2023-05-19 23:59", hard: true}
"""

PAGES = {
    "index.rst": "Home\n====\n\n.. next-up::\n\n.. toctree::\n\n   agenda\n   syllabus\n   hw\n"
                 "   lectures/lecture0\n   lectures/lecture1\n   code/nb1\n",
    "agenda.rst": "Agenda\n======\n\n.. agenda-table::\n",
    "syllabus.rst": "Syllabus\n========\n\nHomework 1 is due :deadline:`homework-1`.\n",
    "hw.rst": "Homework 1\n==========\n\n.. deadline:: homework-1\n",
    "lectures/lecture0.rst": "Lecture 0\n=========\n\nText.\n",
    "lectures/lecture1.rst": "Lecture 1\n=========\n\nText.\n",
    "code/nb1.rst": "Notebook 1\n==========\n\nText.\n",
}

CONF = f"""\
import sys
sys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})
extensions = ["course_book"]
course_agenda_file = "agenda.yml"
course_agenda_page = "agenda"
course_katex = False
course_vendor_thebe = False
nitpicky = True
"""


def make_project(tmp: Path, agenda: str = AGENDA) -> Path:
    src = tmp / "src"
    for name, text in {**PAGES, "conf.py": CONF, "agenda.yml": agenda}.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text, encoding="utf-8")
    return src


def build(src: Path, today: str, out: Path | None = None) -> subprocess.CompletedProcess:
    out = out or src.parent / f"html-{today}"
    env = {**os.environ, "COURSE_TODAY": today}
    return subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(src), str(out)],
                          env=env, capture_output=True, text=True, timeout=120)


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_project(tmp_path_factory.mktemp("agenda"))


@pytest.mark.parametrize(("today", "session", "deadline"), [
    ("2023-01-15", "Friday 10 February 2023, 08:30 (in 26 days)", "Homework 1, due Monday 6 March 2023"),
    ("2023-02-17", "Friday 17 February 2023, 08:30 (today)", "Homework 1, due Monday 6 March 2023"),
    ("2023-03-01", "none, the last session has taken place.", "Homework 1, due Monday 6 March 2023, "
                                                               "23:59 (in 5 days)."),
    ("2023-05-18", "none, the last session has taken place.", "Project, due Friday 19 May 2023, 23:59 "
                                                              "(tomorrow), a hard deadline."),
])
def test_next_up_for_injected_dates(project: Path, today: str, session: str, deadline: str) -> None:
    result = build(project, today)
    assert result.returncode == 0, result.stderr
    box = soup(project.parent / f"html-{today}" / "index.html").select_one(".course-next-up")
    text = " ".join(box.get_text(" ").split())
    assert session in text
    assert deadline.replace(", due", " , due") in text or deadline in text


def test_term_over(project: Path) -> None:
    result = build(project, "2023-05-20")
    assert result.returncode == 0, result.stderr
    box = soup(project.parent / "html-2023-05-20" / "index.html").select_one(".course-next-up")
    assert "The Test term term is over" in box.get_text()
    assert box.select_one("a[href='agenda.html']") is not None


def test_agenda_table_past_and_upcoming(project: Path) -> None:
    result = build(project, "2023-02-17")
    assert result.returncode == 0, result.stderr
    page = soup(project.parent / "html-2023-02-17" / "agenda.html")
    rows = page.select("table.agenda-table tbody tr")
    assert [r.select("td")[0].get_text(" ", strip=True) for r in rows] == [
        "Fri 10 Feb 2023 (done)", "Fri 17 Feb 2023 (today)", "Mon 6 Mar 2023", "Fri 19 May 2023"]
    assert [c for r in rows for c in r["class"] if c in ("agenda-past", "agenda-today", "agenda-upcoming")] == [
        "agenda-past", "agenda-today", "agenda-upcoming", "agenda-upcoming"]
    assert [("agenda-deadline" in r["class"]) for r in rows] == [False, False, True, True]
    first = rows[0]
    links = {a.get_text(" ", strip=True): a["href"] for a in first.select("a")}
    assert links == {"Course syllabus": "syllabus.html", "Lecture 0: Introduction": "lectures/lecture0.html",
                     "Lecture 1: Fundamentals": "lectures/lecture1.html", "Notebook 1": "code/nb1.html"}
    assert page.select_one("a.agenda-ics-link")["href"] == "agenda.ics"
    cal = icalendar.Calendar.from_ical((project.parent / "html-2023-02-17" / "agenda.ics").read_bytes())
    assert len(list(cal.walk("VEVENT"))) == 4


def test_deadline_box_and_role(project: Path) -> None:
    result = build(project, "2023-03-07")
    assert result.returncode == 0, result.stderr
    out = project.parent / "html-2023-03-07"
    box = soup(out / "hw.html").select_one(".course-deadline")
    assert "Deadline (passed)" in box.get_text()
    assert "due Monday 6 March 2023, 23:59 (Europe/Brussels)" in " ".join(box.get_text(" ").split())
    assert soup(out / "syllabus.html").select_one(".course-due").get_text() == (
        "Monday 6 March 2023, 23:59 (Europe/Brussels)")


def test_a_rebuild_with_another_date_updates_date_driven_pages(tmp_path: Path) -> None:
    src = make_project(tmp_path)
    out = tmp_path / "html"
    assert build(src, "2023-01-15", out).returncode == 0
    assert build(src, "2023-05-20", out).returncode == 0  # incremental: nothing but the date changed
    assert "term is over" in soup(out / "index.html").select_one(".course-next-up").get_text()
    assert "(passed)" in soup(out / "hw.html").select_one(".course-deadline").get_text()


def at(text: str, needle: str) -> str:
    """'line:column' (1-based) of the only occurrence of ``needle`` in ``text``."""
    assert text.count(needle) == 1, needle
    before = text[: text.index(needle)]
    return f"{before.count(chr(10)) + 1}:{len(before) - (before.rfind(chr(10)) + 1) + 1}"


BAD_AGENDAS = [
    (("2023-02-17, lectures: [2]", "2023-02-30, lectures: [2]"), "date: 2023-02-30",
     "session 2 (2023-02-30): field 'date': impossible date '2023-02-30'"),
    (("page: lectures/lecture0", "page: lectures/lecture9"), "page: lectures/lecture9",
     "lecture 0: field 'page': page 'lectures/lecture9' does not exist"),
    (("kind: homework,", "kind: homework, weight: 10,"), "weight: 10",
     "deadline 1 (homework-1): field 'weight': unknown key (allowed: "),
    (("introduced: 2023-02-10", "introduce: 2023-02-10"), "introduce: 2023-02-10",
     "deadline 1 (homework-1): field 'introduce': unknown key, did you mean 'introduced'? (allowed: "),
]


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


@pytest.mark.parametrize(("change", "needle", "message"), BAD_AGENDAS)
def test_a_bad_agenda_fails_the_build_with_one_line(tmp_path: Path, change: tuple[str, str], needle: str,
                                                    message: str) -> None:
    agenda = AGENDA.replace(*change)
    src = make_project(tmp_path, agenda)
    result = build(src, "2023-03-01")
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    # -q: Sphinx prints nothing but the error, on one line that starts with the file, line and column.
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr
    assert f"ERROR: agenda.yml:{at(agenda, needle)}: {message}" in lines[0]


def test_a_bad_agenda_fails_a_jupyter_book_build_without_traceback(tmp_path: Path) -> None:
    """Jupyter Book (what `make book` runs) adds no traceback and no "Look above for the cause" box."""
    book = tmp_path / "book"
    agenda = AGENDA.replace("2023-02-17, lectures: [2]", "2023-02-30, lectures: [2]")
    for name, text in {**PAGES, "agenda.yml": agenda, "intro.md": "# Home\n\n```{next-up}\n```\n",
                       "_toc.yml": "format: jb-book\nroot: intro\n"}.items():
        (book / name).parent.mkdir(parents=True, exist_ok=True)
        (book / name).write_text(text, encoding="utf-8")
    config = {"title": "Agenda error", "only_build_toc_files": True,
              "execute": {"execute_notebooks": "off"},
              "sphinx": {"local_extensions": {"course_book": str(ROOT / "book" / "_ext")},
                         "config": {"course_agenda_file": "agenda.yml", "course_agenda_page": "intro"}}}
    (book / "_config.yml").write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "jupyter-book"), "build", str(book), "-W", "-n",
                             "--keep-going"], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "COURSE_TODAY": "2023-03-01"})
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert "Traceback" not in output and "Look above" not in output, output[-3000:]
    expected = (f"agenda.yml:{at(agenda, 'date: 2023-02-30')}: session 2 (2023-02-30): field 'date': "
                "impossible date '2023-02-30'")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and expected in lines[0], result.stderr[-3000:]


def test_unknown_deadline_id_on_a_page_fails_the_build(tmp_path: Path) -> None:
    src = make_project(tmp_path)
    (src / "hw.rst").write_text("Homework\n========\n\n.. deadline:: homework-9\n", encoding="utf-8")
    result = build(src, "2023-03-01")
    assert result.returncode != 0
    assert "hw.rst:4: agenda.yml: no deadline" in result.stderr  # names the page, the line and the file
    assert "no deadline with id 'homework-9' (known: homework-1, project)" in result.stderr
