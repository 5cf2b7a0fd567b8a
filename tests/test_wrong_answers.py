"""Wrong answers lose their points, right ones keep them: a test of the grading itself.

For every homework and exercise, ``tests/fixtures/wrong_answers/<name>.py`` holds a table of plausible
wrong answers (``WRONG``: question -> list of (label, replacement code)) and of unusual but right ones
(``RIGHT``). One notebook per assignment grades them all: the executed solution (up to its last
graded question, its own check cells removed) and a last cell that, for each entry, runs the
replacement code over the solution's definitions, calls ``grader.check`` on the question and puts the
solution's definitions back (an entry is what a student's answer cell would hold: when the cell also
computes results that the checks read, the entry recomputes them). So one run grades dozens of
answers, and two assignments run at a time:

- a homework runs under ``otter run`` with its Gradescope archive, so ``grader.check`` runs the
  public *and* hidden tests with their points, exactly as on Gradescope. Last, the harness applies
  the first wrong answer of every question at once and grades them again; ``otter run`` reports these
  grades in its results JSON, and each must equal the grade of the same answer graded alone: no
  question's grade depends on the answer to another one;
- an exercise has public checks only; its notebook runs as a student's does (nbclient, in a process
  of its own).

A wrong answer must lose points (homework: fewer points than the question's; exercise: a failing
self-check); one whose label ends in "(public)" is a cheap mistake that the public check itself must
catch. A right answer must pass everything. ``_build/wrong_answers.json`` records every outcome.
"""
from __future__ import annotations

import json
import re
import runpy
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT

from assignments import Assignment, assignments

ALL = assignments()
TABLES = Path(__file__).parent / "fixtures" / "wrong_answers"
AUTOGRADERS = ROOT / "_build" / "autograder"
REPORT = ROOT / "_build" / "wrong_answers.json"
OTTER = Path(sys.executable).with_name("otter")
CHECK_CELL = re.compile(r'\s*grader\.check\("(\w+)"\)\s*')
# Runs an exercise's notebook as a student's runs (its folder as the working directory), in its own process.
EXECUTE = ("import sys, nbclient, nbformat, pathlib; path = pathlib.Path(sys.argv[1]); "
           "nbclient.NotebookClient(nbformat.read(path, as_version=4), timeout=900, "
           "resources={'metadata': {'path': str(path.parent)}}).execute()")

# The harness cell. It runs in the notebook's namespace; {entries}, {wave} and {out} are filled in.
HARNESS = '''\
import json as _wa_json
import linecache as _wa_linecache


def _wa_grade(question):
    result = grader.check(question, global_env=globals())
    return {{"public": bool(result.passed_all_public), "passed": bool(result.passed_all),
             "score": float(result.score), "possible": float(result.possible)}}


def _wa_run(entries, wave, out):
    outcomes = []
    for question, label, kind, code in entries:
        saved = dict(globals())
        outcome = {{"question": question, "label": label, "kind": kind}}
        try:
            filename = f"<{{kind}} answer {{len(outcomes)}} to {{question}}>"
            _wa_linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)  # for inspect.getsource
            exec(compile(code, filename, "exec"), globals())
            outcome.update(_wa_grade(question))
        except Exception as error:  # a broken table entry: reported, and the test fails on it
            outcome["error"] = f"{{type(error).__name__}}: {{error}}"
        finally:
            for name in [name for name in globals() if name not in saved]:
                del globals()[name]
            globals().update(saved)
        outcomes.append(outcome)
    for question, code in wave:  # all at once: the grades otter run reports in its results JSON
        filename = f"<wave answer to {{question}}>"
        _wa_linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        exec(compile(code, filename, "exec"), globals())
    for question, _ in wave:
        outcomes.append({{"question": question, "kind": "wave", **_wa_grade(question)}})
    with open(out, "w", encoding="utf-8") as f:
        _wa_json.dump(outcomes, f)


_wa_run(_wa_json.loads({entries!r}), _wa_json.loads({wave!r}), {out!r})
'''


@dataclass
class Run:
    """The outcomes of one assignment's harness run."""

    name: str
    seconds: float
    outcomes: list[dict]
    reported: dict[str, float] = field(default_factory=dict)  # otter run's results JSON (homeworks)

    def of(self, kind: str) -> list[dict]:
        return [o for o in self.outcomes if o["kind"] == kind]


def table(name: str) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """The assignment's tables; empty when its file is missing (test_every_graded_question_has_wrong_answers fails then)."""
    path = TABLES / f"{name}.py"
    tables = runpy.run_path(str(path)) if path.is_file() else {}
    return {"wrong": tables.get("WRONG", {}), "right": tables.get("RIGHT", {})}


def graded_questions(a: Assignment) -> list[str]:
    """The auto-graded questions of an assignment (those with tests), in order."""
    names = json.loads(a.solution.read_text(encoding="utf-8"))["metadata"]["otter"]["tests"]
    return sorted(names, key=lambda q: int(q[1:]))


def submission(a: Assignment, entries: list, wave: list, out: Path) -> nbformat.NotebookNode:
    """The solution up to the check cell of its last graded question, without check cells, then the harness."""
    notebook = nbformat.read(a.solution, as_version=4)
    last = max(i for i, c in enumerate(notebook.cells) if c.cell_type == "code" and CHECK_CELL.fullmatch(c.source))
    notebook.cells = [c for c in notebook.cells[:last + 1]
                      if not (c.cell_type == "code" and CHECK_CELL.fullmatch(c.source))]
    notebook.cells.append(nbformat.v4.new_code_cell(
        HARNESS.format(entries=json.dumps(entries), wave=json.dumps(wave), out=str(out))))
    return notebook


def run_assignment(a: Assignment, workdir: Path) -> Run:
    tables = table(a.name)
    entries = [[q, "solution", "solution", ""] for q in graded_questions(a)]
    entries += [[q, label, kind, code] for kind in ("wrong", "right")
                for q, rows in tables[kind].items() for label, code in rows]
    wave = [[q, rows[0][1]] for q, rows in tables["wrong"].items()] if a.graded else []
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "wrong_answers.json"
    notebook = submission(a, entries, wave, out)
    started = time.monotonic()
    reported = {}
    if a.graded:
        archive = AUTOGRADERS / f"{a.name}.zip"
        assert archive.is_file(), f"{archive} is missing: `make book` (tools/assignments.py --autograder) writes it"
        nbformat.write(notebook, workdir / f"{a.name}.ipynb")
        (workdir / "out").mkdir(exist_ok=True)
        result = subprocess.run([str(OTTER), "run", "-a", str(archive), "-o", "out", f"{a.name}.ipynb"],
                                cwd=workdir, capture_output=True, text=True, timeout=1200)
        assert result.returncode == 0, f"otter run failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        tests = json.loads((workdir / "out" / "results.json").read_text())["tests"]
        reported = {t["name"]: t["score"] for t in tests if t.get("max_score")}
    else:
        for extra in a.student.parent.glob("*.pt"):  # files the notebook loads from its folder
            shutil.copyfile(extra, workdir / extra.name)
        nbformat.write(notebook, workdir / f"{a.name}.ipynb")
        result = subprocess.run([sys.executable, "-c", EXECUTE, str(workdir / f"{a.name}.ipynb")],
                                cwd=workdir, capture_output=True, text=True, timeout=1200)
        assert result.returncode == 0, f"{a.name}: the notebook failed:\n{result.stderr[-3000:]}"
    seconds = time.monotonic() - started
    assert out.is_file(), f"{a.name}: the harness cell did not write {out}"
    return Run(a.name, seconds, json.loads(out.read_text(encoding="utf-8")), reported)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """One harness run per assignment that has a table; two at a time (each notebook runs on one
    thread), the homeworks, which take longest, first."""
    todo = sorted((a for a in ALL if table(a.name)["wrong"]), key=lambda a: not a.graded)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {a.name: pool.submit(run_assignment, a, tmp_path_factory.mktemp(a.name)) for a in todo}
        done = {name: future.result() for name, future in futures.items()}
    seconds = time.monotonic() - started
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps({"seconds": round(seconds, 1), **{
        name: {"seconds": round(run.seconds, 1), "outcomes": run.outcomes} for name, run in done.items()}},
        indent=1) + "\n", encoding="utf-8")
    print(f"\n{len(done)} assignments graded in {seconds:.0f} s")
    for name, run in done.items():
        wrong = run.of("wrong")
        kept = sum(o.get("score", 0) for o in wrong) / max(sum(o.get("possible", 0) for o in wrong), 1e-9)
        caught = sum(not o.get("public", True) for o in wrong)
        print(f"\n{name}: {len(wrong)} wrong answers, {caught} caught by a public check, "
              f"{kept:.0%} of their points kept; {len(run.of('right'))} right answers; {run.seconds:.0f} s")
    return done


IDS = [a.name for a in ALL]


def run_of(runs: dict[str, Run], a: Assignment) -> Run:
    if a.name not in runs:
        pytest.skip(f"{a.name} has no table of wrong answers (test_every_graded_question_has_wrong_answers fails)")
    return runs[a.name]


def failures(run: Run, kind: str) -> list[str]:
    return [f"{o['question']} ({o.get('label')}): {o['error']}" for o in run.of(kind) if "error" in o]


@pytest.mark.parametrize("a", ALL, ids=IDS)
def test_every_graded_question_has_wrong_answers(a: Assignment) -> None:
    path = (TABLES / f"{a.name}.py").relative_to(ROOT)
    assert path.exists(), f"{path} is missing: every homework and exercise needs its table of wrong answers"
    wrong = table(a.name)["wrong"]
    missing = [q for q in graded_questions(a) if not wrong.get(q)]
    assert not missing, f"{a.name}: no wrong answers for {missing} in {path}"
    unknown = sorted((set(wrong) | set(table(a.name)["right"])) - set(graded_questions(a)))
    assert not unknown, f"{a.name}: the table names questions that are not graded: {unknown}"


@pytest.mark.parametrize("a", ALL, ids=IDS)
def test_the_harness_grades_the_solution_in_full(runs: dict[str, Run], a: Assignment) -> None:
    """The test can fail: graded by the harness, the solution passes every check of every question."""
    run = run_of(runs, a)
    assert not failures(run, "solution"), failures(run, "solution")
    solution = run.of("solution")
    assert [o["question"] for o in solution] == graded_questions(a)
    short = [(o["question"], o["score"], o["possible"]) for o in solution if not o["passed"] or o["score"] < o["possible"]]
    assert not short, f"{a.name}: the solution loses points in the harness: {short}"


@pytest.mark.parametrize("a", ALL, ids=IDS)
def test_wrong_answers_lose_their_points(runs: dict[str, Run], a: Assignment) -> None:
    run = run_of(runs, a)
    assert not failures(run, "wrong"), failures(run, "wrong")
    if a.graded:
        kept = [f"{o['question']} ({o['label']}): {o['score']:g}/{o['possible']:g}"
                for o in run.of("wrong") if o["score"] >= o["possible"]]
        assert not kept, f"{a.name}: wrong answers that keep every point: {kept}"
    else:
        passing = [f"{o['question']} ({o['label']})" for o in run.of("wrong") if o["public"]]
        assert not passing, f"{a.name}: wrong answers that pass their self-check: {passing}"
    unseen = [f"{o['question']} ({o['label']})" for o in run.of("wrong") if o["label"].endswith("(public)") and o["public"]]
    assert not unseen, f"{a.name}: cheap mistakes that the public check does not catch: {unseen}"


@pytest.mark.parametrize("a", ALL, ids=IDS)
def test_right_answers_keep_their_points(runs: dict[str, Run], a: Assignment) -> None:
    run = run_of(runs, a)
    assert not failures(run, "right"), failures(run, "right")
    lost = [f"{o['question']} ({o['label']}): {o['score']:g}/{o['possible']:g}"
            for o in run.of("right") if not o["passed"] or o["score"] < o["possible"]]
    assert not lost, f"{a.name}: right answers that are marked down: {lost}"


@pytest.mark.parametrize("a", [a for a in ALL if a.graded], ids=[a.name for a in ALL if a.graded])
def test_questions_are_graded_independently(runs: dict[str, Run], a: Assignment) -> None:
    """With the first wrong answer of every question in place at once, otter run's results JSON gives
    each question the grade that its own wrong answer gets alone: no test uses another question's answer."""
    run = run_of(runs, a)
    alone = {}
    for o in run.of("wrong"):
        alone.setdefault(o["question"], o["score"])
    together = {o["question"]: o["score"] for o in run.of("wave")}
    assert together and set(together) == set(alone)
    differ = {q: (alone[q], together[q]) for q in alone if abs(alone[q] - together[q]) > 1e-9}
    assert not differ, f"{a.name}: grades that change when other answers are wrong too (alone, together): {differ}"
    reported = {q: run.reported.get(q) for q in together}
    assert all(abs(reported[q] - together[q]) < 1e-9 for q in together), \
        f"{a.name}: otter run's results JSON disagrees with the harness: {reported} vs {together}"
