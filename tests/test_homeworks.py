"""Homeworks: the Gradescope archives grade the solution, a blank and a public-checks-only notebook
as they should (with otter's own runner, offline), and neither the site as published today nor the
site as built before the deadlines gives away hidden tests or (before release) solutions."""
from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jupytext
import nbformat
import pytest
from conftest import ROOT, Builds, _term

from assignments import COURSE_PYTHON, Assignment, assignments

HOMEWORKS = [a for a in assignments() if a.graded]
AUTOGRADERS = ROOT / "_build" / "autograder"
FIXTURES = Path(__file__).parent / "fixtures"
OTTER = Path(sys.executable).with_name("otter")
SCANNED = {".html", ".txt", ".js", ".ipynb", ".json", ".md", ".py"}


def test_there_are_two_homeworks_and_three_guided_projects() -> None:
    assert [a.name for a in HOMEWORKS] == ["homework1", "homework2", "project1-backprop", "project2-detection",
                                           "project3-sequences"]


# --------------------------------------------------------------------------- autograder outcomes


@dataclass(frozen=True)
class Graded:
    score: float
    possible: float
    seconds: float
    tests: dict[str, float]
    public_passed: bool


def grade(assignment: Assignment, notebook: nbformat.NotebookNode, workdir: Path) -> Graded:
    """Run the Gradescope archive on a submission, as Gradescope would but locally (``otter run``)."""
    archive = AUTOGRADERS / f"{assignment.name}.zip"
    assert archive.is_file(), f"{archive} is missing: `make book` (tools/assignments.py --autograder) writes it"
    workdir.mkdir(parents=True, exist_ok=True)
    submission = workdir / f"{assignment.name}.ipynb"  # Gradescope keeps the student's file name
    nbformat.write(notebook, submission)
    (workdir / "out").mkdir(exist_ok=True)
    started = time.monotonic()
    result = subprocess.run([str(OTTER), "run", "-a", str(archive), "-o", "out", submission.name],
                            cwd=workdir, capture_output=True, text=True, timeout=600)
    seconds = time.monotonic() - started
    assert result.returncode == 0, f"otter run failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    tests = json.loads((workdir / "out" / "results.json").read_text())["tests"]
    scored = {t["name"]: t["score"] for t in tests if t.get("max_score")}
    public = [t for t in tests if t["name"] == "Public Tests"]
    assert len(public) == 1, f"no 'Public Tests' entry in otter's results: {tests}"
    return Graded(sum(scored.values()), sum(t["max_score"] for t in tests if t.get("max_score")),
                  seconds, scored, public[0].get("status") == "passed")


CHECK_CELL = re.compile(r'\s*grader\.check\("\w+"\)\s*')


def public_only(assignment: Assignment) -> nbformat.NotebookNode:
    """The solution with some answers replaced by versions that pass only the public checks.

    Under ``otter run`` a question is graded (hidden tests included) when its ``grader.check`` cell
    runs, so those cells go: the questions are then graded after the last cell, the fixture's."""
    notebook = nbformat.read(assignment.solution, as_version=4)
    notebook.cells = [c for c in notebook.cells if not (c.cell_type == "code" and CHECK_CELL.fullmatch(c.source))]
    fixture = FIXTURES / f"{assignment.name}_public_only.py"
    notebook.cells.append(nbformat.v4.new_code_cell(fixture.read_text()))
    return notebook


SUBMISSIONS = {
    "solution": lambda a: nbformat.read(a.solution, as_version=4),
    "blank": lambda a: nbformat.read(a.student, as_version=4),
    "public-only": public_only,
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Graded]:
    # Each grading is an `otter run` process with one torch thread: two at a time use both cores.
    jobs = [(a, kind, make) for a in HOMEWORKS for kind, make in SUBMISSIONS.items()]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {(a.name, kind): pool.submit(grade, a, make(a), tmp_path_factory.mktemp(f"{a.name}-{kind}"))
                   for a, kind, make in jobs}
        results = {key: future.result() for key, future in futures.items()}
    report = {f"{name}/{kind}": {"score": g.score, "possible": g.possible, "seconds": round(g.seconds, 1)}
              for (name, kind), g in results.items()}
    (ROOT / "_build" / "autograder" / "outcomes.json").write_text(json.dumps(report, indent=1) + "\n")
    print("\n" + "\n".join(f"{k}: {v['score']:g}/{v['possible']:g} in {v['seconds']} s" for k, v in report.items()))
    return results


@pytest.mark.parametrize("name", [a.name for a in HOMEWORKS])
def test_solution_gets_full_marks(outcomes: dict, name: str) -> None:
    graded = outcomes[name, "solution"]
    assert graded.possible > 0
    assert graded.score == graded.possible, f"{name}: solution scored {graded.score}/{graded.possible}: {graded.tests}"


@pytest.mark.parametrize("name", [a.name for a in HOMEWORKS])
def test_blank_notebook_gets_zero(outcomes: dict, name: str) -> None:
    graded = outcomes[name, "blank"]
    assert graded.score == 0, f"{name}: the blank student notebook scored {graded.score}: {graded.tests}"


def replaced_questions(name: str) -> list[str]:
    """The questions whose answers the public-only fixture replaces (named in each docstring)."""
    text = (FIXTURES / f"{name}_public_only.py").read_text(encoding="utf-8")
    return sorted(set(re.findall(r'(?:"""|^# )(q\d+)\b', text, re.M)))


@pytest.mark.parametrize("name", [a.name for a in HOMEWORKS])
def test_public_checks_alone_earn_nothing(outcomes: dict, name: str) -> None:
    """Public cases carry 0 points (tools/assignments.py): an answer that passes every public check
    but fails a hidden test loses points on its question, and the half-right answers together keep at
    most 30 % of their questions' points (measured: homework 1 12.5 %, homework 2 23.5 %)."""
    graded, full = outcomes[name, "public-only"], outcomes[name, "solution"]
    replaced = replaced_questions(name)
    assert len(replaced) >= 3, f"{name}: the fixture replaces too few answers: {replaced}"
    kept = {q: (graded.tests.get(q, 0), full.tests[q]) for q in replaced}
    assert all(got < possible for got, possible in kept.values()), f"{name}: {kept}"
    assert sum(g for g, _ in kept.values()) <= 0.3 * sum(p for _, p in kept.values()), f"{name}: {kept}"


@pytest.mark.parametrize("name", [a.name for a in HOMEWORKS])
def test_public_only_submission_passes_every_public_check(outcomes: dict, name: str) -> None:
    """The partial submission is honest: a student running every grader.check would see all green."""
    assert outcomes[name, "public-only"].public_passed, f"{name}: a public check fails with the fixture"
    assert outcomes[name, "solution"].public_passed
    assert not outcomes[name, "blank"].public_passed


def archive_tests(name: str) -> dict[str, dict]:
    """The test files of a Gradescope archive, as otter reads them (question -> OK-format test dict)."""
    with zipfile.ZipFile(AUTOGRADERS / f"{name}.zip") as archive:
        tests = {}
        for member in archive.namelist():
            if member.startswith("tests/") and member.endswith(".py"):
                namespace: dict = {}
                exec(archive.read(member).decode("utf-8"), namespace)  # noqa: S102 - our own generated file
                tests[Path(member).stem] = namespace["test"]
    assert tests, f"{name}.zip holds no tests"
    return tests


@pytest.mark.parametrize("name", [a.name for a in HOMEWORKS])
def test_hidden_cases_carry_the_points_and_run_the_public_checks_first(name: str) -> None:
    """A notebook that passes only the public checks earns 0 (their cases carry no points), and one
    whose public check fails earns 0 too (every hidden case runs the public checks first)."""
    for question, test in archive_tests(name).items():
        cases = test["suites"][0]["cases"]
        public, hidden = [c for c in cases if not c["hidden"]], [c for c in cases if c["hidden"]]
        assert public and hidden, f"{name} {question}: expected public and hidden cases"
        assert all(c.get("points") == 0 for c in public), f"{name} {question}: a public case carries points"
        checks = "".join(c["code"] for c in public)
        assert all(c["code"].startswith(checks) for c in hidden), \
            f"{name} {question}: a hidden case does not start with the question's public checks"


def test_the_archives_grade_on_the_course_python() -> None:
    """Gradescope builds the grading image from the archive's environment.yml: otter's default Python
    (3.13 for otter 7) is not the one the course is built and tested on."""
    runtime = (ROOT / "binder" / "runtime.txt").read_text(encoding="utf-8").strip()
    workflow = (ROOT / ".github" / "workflows" / "book.yml").read_text(encoding="utf-8")
    assert runtime == f"python-{COURSE_PYTHON}", f"binder/runtime.txt says {runtime}, tools/assignments.py {COURSE_PYTHON}"
    assert f'python-version: "{COURSE_PYTHON}"' in workflow, "the book workflow builds on another Python"
    for a in HOMEWORKS:
        with zipfile.ZipFile(AUTOGRADERS / f"{a.name}.zip") as archive:
            environment = archive.read("environment.yml").decode("utf-8")
        pythons = re.findall(r"^\s*-\s*python=(\S+)\s*$", environment, re.M)
        assert pythons == [COURSE_PYTHON], f"{a.name}.zip environment.yml asks for Python {pythons}:\n{environment}"


# --------------------------------------------------------------------------- nothing leaks


# Math is compared by the words around it: a page shows a formula as KaTeX's markup (its glyphs, then
# its MathML), a source as TeX, and neither reads like the other once normalized.
TEX_MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$", re.S)
KATEX_START = '<span class="katex">'
SPAN_TAG = re.compile(r"<span\b|</span>")


def _without_katex(page: str) -> str:
    """The page without its typeset formulas (each a <span class="katex">, nested spans inside)."""
    kept, start = [], 0
    while (begin := page.find(KATEX_START, start)) >= 0:
        kept.append(page[start:begin])
        depth = 0
        for tag in SPAN_TAG.finditer(page, begin):
            depth += 1 if tag.group(0) == "<span" else -1
            if depth == 0:
                start = tag.end()
                break
        else:
            raise AssertionError(f"a formula's markup does not close: {page[begin:begin + 200]}")
    return "".join(kept) + page[start:]


def _normalize(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", TEX_MATH.sub(" ", text).lower())


def _page_text(path: Path) -> str:
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".html":
        text = html.unescape(re.sub(r"<[^>]+>", " ", _without_katex(text)))
    return _normalize(text)


@dataclass
class Secrets:
    solutions: set[str]
    hidden_tests: set[str]


def _regions(notebook: nbformat.NotebookNode) -> Iterator[tuple[nbformat.NotebookNode, bool, bool]]:
    """(cell, in_solution, in_tests) for every cell of an otter source."""
    in_solution = in_tests = False
    for cell in notebook.cells:
        if cell.cell_type == "raw":
            marker = cell.source.strip().upper()
            in_solution = {"# BEGIN SOLUTION": True, "# END SOLUTION": False}.get(marker, in_solution)
            in_tests = {"# BEGIN TESTS": True, "# END TESTS": False}.get(marker, in_tests)
            continue
        yield cell, in_solution, in_tests


@cache
def secrets_of(name: str) -> Secrets:
    assignment = next(a for a in HOMEWORKS if a.name == name)
    source = jupytext.read(assignment.source, fmt="md:myst")
    public = _normalize(assignment.student.read_text())
    solutions, hidden = set(), set()
    for cell, in_solution, in_tests in _regions(source):
        if cell.cell_type == "code" and in_tests and "hidden: true" in cell.source:
            hidden |= {_normalize(line) for line in cell.source.splitlines() if line.strip().startswith("assert")}
        elif cell.cell_type == "code" and in_solution:
            inside = False
            for line in cell.source.splitlines():
                if re.match(r"\s*# (BEGIN|END) SOLUTION", line):
                    inside = "BEGIN" in line
                elif inside and not line.strip().startswith("#"):
                    solutions.add(_normalize(line))
        elif cell.cell_type == "markdown" and in_solution:
            solutions |= {_normalize(s) for s in re.split(r"(?<=[.!?])\s+", cell.source)}
    keep = lambda snippet: len(snippet) >= 25 and snippet not in public  # noqa: E731
    return Secrets({s for s in solutions if keep(s)}, {s for s in hidden if keep(s)})


@cache
def _corpus(site: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Every scanned file of a built site, normalized (read once per site and skip list)."""
    return {str(p.relative_to(site)): _page_text(p) for p in site.rglob("*")
            if p.is_file() and p.suffix in SCANNED and not str(p.relative_to(site)).startswith(skip)
            and "_static/vendor" not in str(p)}


def published_elsewhere(site: Path) -> str:
    """Everything a site shows outside the solution pages (public by design)."""
    folders = sorted({_solution(a.name).rpartition("/")[0] for a in HOMEWORKS})
    return "\n".join(_corpus(site, skip=tuple(folders) + tuple(f"_sources/{f}" for f in folders)).values())


def _solution(name: str) -> str:
    """The solution's docname: homeworks/solutions/homework1, project/guided/solutions/project1-backprop."""
    assignment = next(a for a in HOMEWORKS if a.name == name)
    return assignment.solution.relative_to(ROOT).with_suffix("").as_posix()


@pytest.mark.parametrize("name", [a.name for a in HOMEWORKS])
def test_secrets_are_found_where_they_belong(builds: Builds, name: str) -> None:
    """The scan can fail: the released solution page does show the solution snippets."""
    released = builds.released(_solution(name))
    if released is None:
        pytest.skip(f"{name}'s solution is released in neither build (mid-term); test_solutions.py covers it")
    secrets = secrets_of(name)
    elsewhere = published_elsewhere(released.site)
    solutions = {s for s in secrets.solutions if s not in elsewhere}
    assert len(solutions) >= 20 and len(secrets.hidden_tests) >= 5, (len(solutions), len(secrets.hidden_tests))
    page = _page_text(released.site / f"{_solution(name)}.html")
    found = sum(s in page for s in solutions)
    assert found >= 0.8 * len(solutions), f"only {found}/{len(solutions)} solution lines found on the solution page"


@pytest.mark.parametrize("name", [a.name for a in HOMEWORKS])
def test_published_site_has_no_hidden_tests(builds: Builds, name: str) -> None:
    hidden = secrets_of(name).hidden_tests
    for build in builds.dated:
        leaks = [(path, s) for path, text in _corpus(build.site).items() for s in hidden if s in text]
        assert not leaks, f"hidden tests of {name} on the site built for {build.today}: {leaks[:5]}"


@pytest.mark.parametrize("name", [a.name for a in HOMEWORKS])
def test_site_before_the_deadline_gives_nothing_away(builds: Builds, name: str) -> None:
    """On every build dated before the solution's release, the main one included, whatever its date."""
    before = builds.unreleased(_solution(name))
    if not before:
        pytest.skip(f"{name}'s solution is released in both builds (mid-term); test_solutions.py covers it")
    secrets = secrets_of(name)
    for build in before:
        # Snippets the released site also shows elsewhere (given code, public checks) are not secrets.
        released = builds.released(_solution(name))
        elsewhere = published_elsewhere(released.site) if released else published_elsewhere(build.site)
        solutions = {s for s in secrets.solutions if s not in elsewhere}
        corpus = _corpus(build.site)
        leaks = [(path, s) for path, text in corpus.items() for s in solutions | secrets.hidden_tests if s in text]
        assert not leaks, f"{name} leaks before its deadline ({build.today}): {leaks[:5]}"
        page = (build.site / f"{_solution(name)}.html").read_text()
        assert "published on this page after the deadline" in page
        assert not (build.site / "_sources" / f"{_solution(name)}.ipynb").exists()


def _search_terms_per_doc(site: Path) -> dict[str, int]:
    text = (site / "searchindex.js").read_text()
    index = json.loads(text[text.index("(") + 1: text.rindex(")")])
    counts = dict.fromkeys(index["docnames"], 0)
    for docs in index["terms"].values():
        for doc in (docs if isinstance(docs, list) else [docs]):
            counts[index["docnames"][doc]] += 1
    return counts


@pytest.mark.parametrize("name", [a.name for a in HOMEWORKS])
def test_search_index_holds_only_the_notice_before_release(builds: Builds, name: str) -> None:
    doc = _solution(name)
    released, unreleased = builds.released(doc), builds.unreleased(doc)
    if released is None or not unreleased:
        pytest.skip(f"{doc} is not both released and unreleased across the two builds (mid-term)")
    before, after = _search_terms_per_doc(unreleased[0].site)[doc], _search_terms_per_doc(released.site)[doc]
    assert before < 40 < after, f"{doc}: {before} search terms before release, {after} after"


# --------------------------------------------------------------------------- guided projects before they open

PROJECTS = [a for a in HOMEWORKS if a.kind == "project"]


def _statement(assignment: Assignment) -> set[str]:
    """The sentences of a project's starter notebook (its statement and instructions), normalized."""
    notebook = nbformat.read(assignment.student, as_version=4)
    sentences = {_normalize(s) for c in notebook.cells if c.cell_type == "markdown"
                 for s in re.split(r"(?<=[.!?])\s+", c.source)}
    return {s for s in sentences if len(s) >= 40}


@pytest.mark.parametrize("name", [a.name for a in PROJECTS])
def test_site_before_a_project_opens_shows_only_its_notice(builds: Builds, name: str) -> None:
    """On every build dated before a project's opening day (the second build is, for all but the first
    project): none of its statement anywhere on the site, only the notice on its page."""
    assignment = next(a for a in PROJECTS if a.name == name)
    doc, term = assignment.docname(), _term()
    deadline = next(d for d in term.deadlines if d.page == doc)
    assert deadline.opens is not None, f"book/agenda.yml: {deadline.id} has no 'opens' date"
    before = [b for b in builds.dated if not deadline.is_open(b.today)]
    opened = [b for b in builds.dated if deadline.is_open(b.today)]
    if not before:
        pytest.skip(f"{name} is open in both builds; tests/test_solutions.py covers the rule at injected dates")
    statement = _statement(assignment)
    if opened:  # the scan can fail: the opened page does show these sentences
        page = _page_text(opened[0].site / f"{doc}.html")
        assert sum(s in page for s in statement) >= 0.8 * len(statement) >= 8, "statement not found when open"
        skip = (doc, f"_sources/{doc}", _solution(name), f"_sources/{_solution(name)}")
        elsewhere = "\n".join(_corpus(opened[0].site, skip=skip).values())
        statement -= {s for s in statement if s in elsewhere}
    for build in before:
        corpus = _corpus(build.site)
        everything = "\n".join(corpus.values())
        leaks = [(path, s) for s in statement if s in everything for path, text in corpus.items() if s in text]
        assert not leaks, f"{name} is on the site built for {build.today}, before it opens: {leaks[:5]}"
        page = (build.site / f"{doc}.html").read_text()
        assert "This assignment opens on" in page, f"{doc}.html ({build.today}) does not say when it opens"
        assert not (build.site / "_sources" / f"{doc}.ipynb").exists()
