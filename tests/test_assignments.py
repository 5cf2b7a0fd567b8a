"""Exercises: one source yields a student notebook (blanks, self-checks that fail until answered) and a
worked solution whose self-checks all pass on the built site."""
from __future__ import annotations

import json
import re
from pathlib import Path

import jupytext
import nbclient
import nbformat
import pytest
from assignments import BLANK, MARKER, assignments, drifted
from bs4 import BeautifulSoup
from conftest import ROOT, Builds

ALL = assignments()
IDS = [a.name for a in ALL]


def questions(path: Path) -> list[str]:
    return sorted(json.loads(path.read_text(encoding="utf-8"))["metadata"]["otter"]["tests"])


def solution_lines(source: Path) -> list[str]:
    """Code lines that occur only between in-code BEGIN/END SOLUTION markers in the source (and are
    long enough to be telling); a line that also appears in given code is not a leak."""
    hidden, given = [], set()
    for cell in jupytext.read(source, fmt="md:myst").cells:
        if cell.cell_type != "code":
            continue
        inside = False
        for line in cell.source.splitlines():
            if MARKER.match(line):
                inside = "BEGIN" in line
            elif inside:
                hidden.append(line.strip())
            else:
                given.add(line.strip())
    return [line for line in hidden if len(line) > 25 and not line.startswith("#") and line not in given]


def code_of(path: Path) -> str:
    return "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")


def test_there_are_exercises() -> None:
    assert len(ALL) >= 3, IDS


def test_generated_notebooks_are_up_to_date() -> None:
    assert not drifted(), "\n".join(drifted())


@pytest.mark.parametrize("a", ALL, ids=IDS)
def test_student_notebook_holds_no_solution(a) -> None:
    code = code_of(a.student)
    student_lines = {line.strip() for line in code.splitlines()}
    leaked = [line for line in solution_lines(a.source) if line in student_lines]
    assert not leaked, f"{a.student.relative_to(ROOT)} contains solution lines: {leaked[:3]}"
    assert BLANK in code
    assert "BEGIN SOLUTION" not in code and "BEGIN SOLUTION" not in code_of(a.solution)
    assert json.loads(a.student.read_text(encoding="utf-8"))["metadata"]["mystnb"] == {"execution_mode": "off"}


@pytest.mark.parametrize("a", ALL, ids=IDS)
def test_blank_student_notebook_fails_its_self_checks(a, tmp_path: Path) -> None:
    """Run the untouched student notebook: no question may pass, and the blanks say what to do."""
    nb = nbformat.read(a.student, as_version=4)
    (tmp_path / a.student.name).write_text(a.student.read_text(encoding="utf-8"), encoding="utf-8")
    for extra in a.student.parent.glob("*.pt"):  # files the notebook loads from its folder
        (tmp_path / extra.name).write_bytes(extra.read_bytes())
    nbclient.NotebookClient(nb, resources={"metadata": {"path": str(tmp_path)}}, allow_errors=True,
                            timeout=300).execute()
    results = {}
    for cell in nb.cells:
        match = re.fullmatch(r'grader\.check\("(\w+)"\)', cell.source.strip()) if cell.cell_type == "code" else None
        if match:
            text = " ".join(o.get("data", {}).get("text/plain", "") + o.get("text", "") + o.get("evalue", "")
                            for o in cell.outputs)
            results[match[1]] = text
    assert sorted(results) == questions(a.student)
    passed = [q for q, text in results.items() if "All test cases passed" in text]
    assert not passed, f"questions passing on a blank notebook: {passed}"
    errors = [o.get("evalue", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.get("output_type") == "error"]
    assert "your code here" in errors


@pytest.mark.parametrize("a", ALL, ids=IDS)
def test_solution_page_passes_every_self_check(builds: Builds, a) -> None:
    """On a build in which the solution is published (homework solutions wait for their deadline)."""
    released = builds.released(a.solution.relative_to(ROOT).with_suffix("").as_posix())
    if released is None:
        pytest.skip(f"{a.name}'s solution is released in neither build (mid-term)")
    page = released.site / a.solution.relative_to(ROOT).with_suffix(".html")
    text = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").get_text(" ")
    for q in questions(a.solution):
        assert re.search(rf"\b{q}\s+passed!", text), f"{page.name}: {q} did not pass"


@pytest.mark.parametrize("a", ALL, ids=IDS)
def test_exercise_pages_exist(site: Path, a) -> None:
    student_page = site / a.student.relative_to(ROOT).with_suffix(".html")
    assert student_page.is_file() and (site / a.solution.relative_to(ROOT).with_suffix(".html")).is_file()
    assert "your code here" in student_page.read_text(encoding="utf-8")


def test_a_moved_deadline_blames_the_agenda(tmp_path: Path) -> None:
    """When only book/agenda.yml changed, the drift check says so (not the homework's source)."""
    import datetime as dt

    from assignments import Assignment, render, student_cause
    from course_book.agenda_data import load_agenda

    homework = next(a for a in ALL if a.graded)
    agenda = ROOT / "book" / "agenda.yml"
    term = load_agenda(agenda, root=None)
    due = next(d for d in term.deadlines if d.page == homework.docname()).due.astimezone(term.tz)
    text = agenda.read_text(encoding="utf-8")
    old_due = f"{due:%Y-%m-%d %H:%M}"
    assert text.count(old_due) == 1, f"{old_due} not found once in book/agenda.yml"
    (tmp_path / "agenda.yml").write_text(text.replace(old_due, f"{due + dt.timedelta(days=1):%Y-%m-%d %H:%M}"))
    moved = load_agenda(tmp_path / "agenda.yml", root=None, source="book/agenda.yml")
    stale = tmp_path / homework.student.name
    stale.write_text(render(homework, term)[0], encoding="utf-8")  # up to date with the old agenda
    copy = Assignment(homework.source, stale, homework.solution, homework.kind)
    expected, _ = render(homework, moved)
    assert expected != stale.read_text(encoding="utf-8")
    assert student_cause(copy, expected) == "book/agenda.yml (its deadline changed)"
    stale.write_text(expected.replace("Question 1", "Question one"), encoding="utf-8")
    assert student_cause(copy, expected) == homework.source


def test_hidden_cases_carry_the_points_and_start_with_the_public_checks() -> None:
    """grade_on_hidden_tests on a question with one public and two hidden cases (one with its own points)."""
    import yaml
    from assignments import TEST_CONFIG, grade_on_hidden_tests

    def test_cell(body: str, **config) -> nbformat.NotebookNode:
        header = f'""" # BEGIN TEST CONFIG\n{yaml.safe_dump(config)}""" # END TEST CONFIG\n' if config else ""
        return nbformat.v4.new_code_cell(header + body)

    raw = nbformat.v4.new_raw_cell
    nb = nbformat.v4.new_notebook(cells=[
        raw("# BEGIN TESTS"), test_cell("assert f(1) == 2"), test_cell("assert f(5) == 10", hidden=True),
        test_cell("assert f(-1) == -2", hidden=True, points=1.5), raw("# END TESTS"),
        raw("# BEGIN TESTS"), test_cell("assert g() == 0"), raw("# END TESTS")])  # public only: untouched
    before = nbformat.writes(nb)
    grade_on_hidden_tests(nb)
    public, hidden, weighted, alone = (nb.cells[i] for i in (1, 2, 3, 6))
    configs = [yaml.safe_load(TEST_CONFIG.match(c.source)[1]) for c in (public, hidden, weighted)]
    assert configs == [{"points": 0}, {"hidden": True}, {"hidden": True, "points": 1.5}]
    for cell, check in ((hidden, "assert f(5) == 10"), (weighted, "assert f(-1) == -2")):
        body = TEST_CONFIG.sub("", cell.source)
        assert body.index("assert f(1) == 2") < body.index(check), "the public check must run first"
    assert TEST_CONFIG.sub("", public.source).strip() == "assert f(1) == 2"
    assert alone.source == "assert g() == 0", f"a question without hidden cases is left alone:\n{before}"


def test_student_notebooks_drop_the_paragraphs_that_quote_results() -> None:
    from assignments import without_results
    source = ("The vocabulary has {glue:text}`p-size:,d` entries (asserted).\n\n### Next part\n\n"
              "Write the function.\n\n```python\nx = 1\n\ny = 2\n```\n\n$$\na\n\nb\n$$ (eq-p-a)")
    assert without_results(source) == ("### Next part\n\nWrite the function.\n\n```python\nx = 1\n\ny = 2\n```"
                                       "\n\n$$\na\n\nb\n$$ (eq-p-a)")
    assert without_results("No results here.\n\nNone.") == "No results here.\n\nNone."
    assert without_results("Only {glue:text}`k` here.") == ""


def test_solutions_rename_their_equation_labels() -> None:
    from assignments import rename_equation_labels
    cells = [nbformat.v4.new_markdown_cell("$$ y = Wx $$ (eq-p-forward)\n\nand $$ z $$ (eq-p-forward-2)"),
             nbformat.v4.new_markdown_cell("By {eq}`eq-p-forward` and {eq}`eq-p-forward-2`; eq-p-forwarding stays."),
             nbformat.v4.new_code_cell("label = 'eq-p-forward'")]
    rename_equation_labels(cells)
    assert cells[0].source == "$$ y = Wx $$ (eq-p-forward-solution)\n\nand $$ z $$ (eq-p-forward-2-solution)"
    assert cells[1].source == ("By {eq}`eq-p-forward-solution` and {eq}`eq-p-forward-2-solution`; "
                               "eq-p-forwarding stays.")
    assert cells[2].source == "label = 'eq-p-forward'"
