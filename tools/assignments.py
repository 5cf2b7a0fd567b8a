"""Turn one exercise or homework source into a student notebook and a worked solution, with otter-grader.

A source (``code/exercises/source/<name>.md``, ``homeworks/source/<name>.md`` or, for a guided project,
``project/guided/source/<name>.md``) is a MyST notebook in
otter-grader's assignment format: questions, solutions between ``# BEGIN SOLUTION`` / ``# END SOLUTION``,
public self-check tests and, for homeworks and guided projects (graded alike), hidden tests. This script runs ``otter assign`` on it and
writes, beside the ``source`` folder,

- ``<name>.ipynb``: the student notebook. Solutions are replaced by blanks that raise "your code
  here", each question ends with ``grader.check("qN")`` (public tests only), and the first cell
  installs otter-grader where it is missing (Colab). A homework also gets its deadline and how to
  submit, from ``book/agenda.yml``. Not executed on the site.
- ``solutions/<name>.ipynb``: the solution with its public self-checks, executed at build. Hidden
  tests are never written here. A homework's solution page is published only after its deadline
  (see ``book/_ext/course_book/solutions.py``).

``python tools/assignments.py`` rewrites them; ``--check`` reports the ones that are missing or out of
date (tests/test_assignments.py does the same). ``--autograder DIR`` writes each homework's
Gradescope archive ``DIR/<name>.zip`` (hidden tests and points included, graded on the course's
Python, ``COURSE_PYTHON``); ``make book`` puts them in ``_build/autograder/``, outside the published site.

How a homework question is graded (``grade_on_hidden_tests``): its public checks carry 0 points and
run first inside every hidden test case, so the points go to the hidden cases and a hidden case passes
only if the public checks pass too. An answer that ignores a failing self-check cannot keep points.
"""
from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat
import yaml

import generated

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from course_book.agenda_data import Term, format_due, load_agenda  # noqa: E402

# What Gradescope's autograder image installs before grading a homework (pins from requirements.txt).
AUTOGRADER_PACKAGES = ("torch", "torchvision", "numpy", "matplotlib", "scikit-learn", "pillow", "pandas")
OTTER_VERSION = "7.0.0"
# The Python the course is built and tested on (Makefile, binder/runtime.txt, .github/workflows): the
# Gradescope image must grade on the same one, not on otter's default (3.13 for otter 7).
COURSE_PYTHON = "3.11"
BLANK = "raise NotImplementedError(\"your code here\")"
MARKER = re.compile(r"^\s*# (BEGIN|END) SOLUTION( NO PROMPT)?\s*$")


SOURCE_FOLDERS = {"exercise": Path("code/exercises/source"), "homework": Path("homeworks/source"),
                  "project": Path("project/guided/source")}
# Graded like a homework (hidden tests, Gradescope archive, deadline from the agenda): homeworks and
# the guided projects. Exercises are practice: public self-checks only.
GRADED_KINDS = ("homework", "project")


@dataclass(frozen=True)
class Assignment:
    source: Path
    student: Path
    solution: Path
    kind: str = "exercise"

    @property
    def name(self) -> str:
        return self.source.stem

    @property
    def graded(self) -> bool:
        return self.kind in GRADED_KINDS

    def docname(self, root: Path = ROOT) -> str:
        return self.student.relative_to(root).with_suffix("").as_posix()


def assignments(root: Path = ROOT) -> list[Assignment]:
    """Every exercise and homework source and where its two notebooks go."""
    found = []
    for kind, folder in SOURCE_FOLDERS.items():
        for source in sorted((root / folder).glob("*.md")):
            parent = source.parent.parent
            found.append(Assignment(source, parent / f"{source.stem}.ipynb",
                                    parent / "solutions" / f"{source.stem}.ipynb", kind))
    return found


def autograder_requirements(root: Path = ROOT) -> str:
    """requirements.txt for Gradescope: the course's pins of what homeworks import, torch from the CPU index."""
    pins = {}
    for line in (root / "requirements.txt").read_text(encoding="utf-8").splitlines():
        name, sep, version = line.strip().partition("==")
        if sep:
            pins[name.lower()] = f"{name}=={version}"
    missing = [p for p in AUTOGRADER_PACKAGES if p not in pins]
    if missing:
        raise RuntimeError(f"requirements.txt pins none of {missing}; the autograder needs them")
    return ("--extra-index-url https://download.pytorch.org/whl/cpu\n"
            + "\n".join(pins[p] for p in AUTOGRADER_PACKAGES) + "\n")


TEST_CONFIG = re.compile(r'^\s*"""\s*# BEGIN TEST CONFIG\n(.*?)"""\s*# END TEST CONFIG\s*\n', re.S)


def grade_on_hidden_tests(nb: nbformat.NotebookNode) -> None:
    """Let the hidden tests carry a question's grade, gated by its public checks (in place).

    otter splits a question's points evenly over all its test cases, public ones included, so a
    notebook that passes only the checks a student sees would earn part of every question. For a
    question that has hidden cases, every public case gets 0 points (a case that sets its own points
    keeps them), so the points are shared by the hidden cases alone: the public checks give feedback,
    the hidden tests give the grade. And each hidden case starts with the question's public checks, so
    it fails whenever one of them fails: an answer whose self-check is red earns nothing, even if it
    happens to pass the hidden checks."""
    question: list[nbformat.NotebookNode] = []
    in_tests = False

    def settle() -> None:
        configs = [yaml.safe_load(m[1]) or {} if (m := TEST_CONFIG.match(c.source)) else {} for c in question]
        if not any(c.get("hidden") for c in configs):
            return
        public = [TEST_CONFIG.sub("", cell.source, count=1).strip("\n")
                  for cell, config in zip(question, configs) if not config.get("hidden")]
        gate = "# The question's public checks, first: this hidden case fails when one of them fails.\n"
        for cell, config in zip(question, configs):
            body = TEST_CONFIG.sub("", cell.source, count=1)
            if config.get("hidden"):
                body = gate + "\n".join(public) + "\n# The hidden checks.\n" + body
            elif "points" not in config:
                config = {**config, "points": 0}
            else:
                continue
            cell.source = f'""" # BEGIN TEST CONFIG\n{yaml.safe_dump(config)}""" # END TEST CONFIG\n{body}'

    for cell in nb.cells:
        text = cell.source.strip()
        if cell.cell_type == "raw" and text == "# BEGIN TESTS":
            in_tests, question = True, []
        elif cell.cell_type == "raw" and text == "# END TESTS":
            in_tests = False
            settle()
        elif in_tests and cell.cell_type == "code":
            question.append(cell)


def run_otter(assignment: Assignment, workdir: Path) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    """``otter assign`` the source in ``workdir``; returns (student, solution) notebooks as otter wrote
    them. The Gradescope archive is left in ``workdir/dist/autograder``."""
    nb = jupytext.read(assignment.source, fmt="md:myst")
    if assignment.graded:
        requirements = workdir / "autograder-requirements.txt"
        requirements.write_text(autograder_requirements(), encoding="utf-8")
        config = nb.cells[0]
        if config.cell_type != "raw" or "# ASSIGNMENT CONFIG" not in config.source:
            raise RuntimeError(f"{assignment.source.relative_to(ROOT)}: the first cell must be the raw "
                               "'# ASSIGNMENT CONFIG' cell")
        config.source = (config.source.rstrip() + f"\nrequirements: {requirements.name}\n"
                         f"python_version: \"{COURSE_PYTHON}\"\n")
        grade_on_hidden_tests(nb)
    master = workdir / f"{assignment.name}.ipynb"
    nbformat.write(nb, master)
    otter = Path(sys.executable).with_name("otter")
    result = subprocess.run([str(otter), "assign", "--no-run-tests", master.name, "dist"], cwd=workdir,
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{assignment.source.relative_to(ROOT)}: otter assign failed:\n"
                           f"{result.stdout}\n{result.stderr}")
    student = nbformat.read(workdir / "dist" / "student" / master.name, as_version=4)
    solution = nbformat.read(workdir / "dist" / "autograder" / master.name, as_version=4)
    # The autograder copy carries every test; published notebooks keep the public ones only.
    if "otter" in student.metadata:
        solution.metadata["otter"] = student.metadata["otter"]
    return student, solution


def deadline_cell(assignment: Assignment, term: Term) -> nbformat.NotebookNode:
    """Deadline and submission, from the agenda, for the downloaded notebook. The site shows the same
    facts in a box kept current by the build, so the cell is removed from the page (tag)."""
    docname = assignment.docname()
    matches = [d for d in term.deadlines if d.page == docname]
    if len(matches) != 1:
        raise RuntimeError(f"book/agenda.yml: expected one deadline with 'page: {docname}' for "
                           f"{assignment.source.relative_to(ROOT)}, found {len(matches)}")
    d = matches[0]
    lines = [f"**Deadline:** {format_due(d, term.tz)}" + (" (hard deadline)." if d.hard else "."),
             f"**Submit:** {d.submit}." if d.submit else "",
             f"Submit this notebook under its name, `{assignment.name}.ipynb`, after *Restart & Run All*: "
             "the autograder runs it from top to bottom, then grades it with the public checks you see "
             "here and further hidden tests; written answers are graded by hand."]
    cell = nbformat.v4.new_markdown_cell("\n\n".join(line for line in lines if line))
    cell.metadata["tags"] = ["remove-cell"]
    return cell


def public_test_files(tests: dict) -> dict[str, str]:
    """otter's test files (``qN.py``) for the public tests that otter assign put in the notebook's metadata."""
    return {f"{name}.py": f"OK_FORMAT = True\n\ntest = {test!r}\n" for name, test in sorted(tests.items())}


def _packed(files: dict[str, str], width: int = 96) -> str:
    blob = base64.b64encode(zlib.compress(json.dumps(files, sort_keys=True).encode("utf-8"), 9)).decode("ascii")
    return "\n".join(f'    "{blob[i:i + width]}"' for i in range(0, len(blob), width))


def _init_cell(name: str, tests: dict) -> nbformat.NotebookNode:
    """otter's set-up cell. It writes the public checks to a fresh temporary folder and points otter there,
    so ``grader.check`` works wherever the notebook runs: on Colab (where otter refuses tests kept in the
    notebook's metadata), in a renamed copy ("Copy of ...", "name (1).ipynb") and in an empty folder."""
    cell = nbformat.v4.new_code_cell(
        "# Self-checks: `grader.check(\"q1\")` runs the public checks of question 1 (package otter-grader).\n"
        "# This cell writes those checks to a temporary folder, so they work on Colab and in a renamed copy.\n"
        "try:\n"
        "    import otter\n"
        "except ImportError:  # e.g. on Colab\n"
        f"    %pip install --quiet otter-grader=={OTTER_VERSION}\n"
        "    import otter\n"
        "import base64, json, pathlib, tempfile, zlib\n"
        f"_checks = pathlib.Path(tempfile.mkdtemp(prefix=\"{name}-checks-\"))\n"
        "for _file, _text in json.loads(zlib.decompress(base64.b64decode(\n"
        f"{_packed(public_test_files(tests))}\n"
        "))).items():\n"
        "    (_checks / _file).write_text(_text, encoding=\"utf-8\")\n"
        "grader = otter.Notebook(tests_dir=str(_checks))")
    cell.metadata["tags"] = ["hide-input"]
    return cell


def _is_otter_init(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and "otter.Notebook(" in cell.source


GLUE = "{glue:"
EQUATION_LABEL = re.compile(r"\$\$\s*\((eq-[A-Za-z0-9_-]+)\)")


def _paragraphs(text: str) -> list[str]:
    """Markdown split at blank lines, except inside fenced blocks and display math."""
    paragraphs, current, fenced, math = [], [], False, False
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped and not fenced and not math:
            if current:
                paragraphs.append("\n".join(current))
            current = []
            continue
        current.append(line)
        if stripped.startswith(("```", "~~~")):
            fenced = not fenced
        elif stripped.startswith("$$") and not fenced:
            math = not (math or stripped.count("$$") > 1)
    if current:
        paragraphs.append("\n".join(current))
    return paragraphs


def without_results(source: str) -> str:
    """A markdown cell of the student notebook without the paragraphs that quote executed results.

    The solution's prose quotes its numbers with ``{glue:...}``; the student notebook is not executed,
    so those paragraphs would render nothing (and fail the build), and they would give the answers away."""
    if GLUE not in source:
        return source
    return "\n\n".join(p for p in _paragraphs(source) if GLUE not in p)


def rename_equation_labels(cells: list[nbformat.NotebookNode], suffix: str = "-solution") -> None:
    """Give the solution's numbered equations labels of their own (in place).

    The student page and the solution page both show the statement, and a label defined on two pages
    is a duplicate (a build warning); references inside the solution follow the renamed labels."""
    labels = {m for c in cells if c.cell_type == "markdown" for m in EQUATION_LABEL.findall(c.source)}
    if not labels:
        return
    pattern = re.compile(r"(?<![A-Za-z0-9_-])(" + "|".join(map(re.escape, sorted(labels, key=len, reverse=True)))
                         + r")(?![A-Za-z0-9_-])")
    for cell in cells:
        if cell.cell_type == "markdown":
            cell.source = pattern.sub(lambda m: m.group(1) + suffix, cell.source)


def _finish(nb: nbformat.NotebookNode, name: str, *, student: bool,
            deadline: nbformat.NotebookNode | None = None) -> str:
    cells = []
    for cell in nb.cells:
        if not student and cell.cell_type == "markdown" and \
                cell.source.strip() == "_Type your answer here, replacing this text._":
            continue  # otter's prompt for a written answer; the solution shows the answer instead
        if _is_otter_init(cell):
            cells.append(_init_cell(name, nb.metadata.get("otter", {}).get("tests", {})))
            continue
        if cell.cell_type == "code":
            lines = [line for line in cell.source.split("\n") if not MARKER.match(line)]
            if student:
                lines = [line[: len(line) - len(line.lstrip())] + BLANK if line.strip() == "..." else line
                         for line in lines]
            cell.source = "\n".join(lines)
            cell.outputs, cell.execution_count = [], None
        elif student and cell.cell_type == "markdown":
            cell.source = without_results(cell.source)
            if not cell.source.strip():
                continue
        cells.append(cell)
    if not student:
        rename_equation_labels(cells)
    # otter puts its set-up cell first; the title reads better above it.
    if len(cells) > 1 and _is_otter_init(cells[0]) and cells[1].cell_type == "markdown" \
            and cells[1].source.startswith("# "):
        cells[0], cells[1] = cells[1], cells[0]
    if deadline is not None:
        title = next((i for i, c in enumerate(cells) if c.cell_type == "markdown" and c.source.startswith("# ")), 0)
        cells.insert(title + 1, deadline)
    if not student:
        for cell in cells:
            if cell.cell_type == "markdown" and cell.source.startswith("# "):
                title, _, rest = cell.source.partition("\n")
                cell.source = f"{title} (solution)\n{rest}".rstrip("\n") + "\n"
                break
    nb.cells = cells
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index}"
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    if student:
        # The site shows the statement and the blanks; running them would raise on purpose.
        nb.metadata["mystnb"] = {"execution_mode": "off"}
    return nbformat.writes(nb, version=4) + "\n"


def render(assignment: Assignment, term: Term | None = None) -> tuple[str, str]:
    """The (student, solution) notebook texts the source yields."""
    with tempfile.TemporaryDirectory() as tmp:
        student, solution = run_otter(assignment, Path(tmp))
    deadline = None
    if assignment.graded:
        # root=None: the student notebook this writes is the page the agenda names; it may not exist yet.
        term = term or load_agenda(ROOT / "book" / "agenda.yml", root=None, source="book/agenda.yml")
        deadline = deadline_cell(assignment, term)
    return (_finish(student, assignment.name, student=True, deadline=deadline),
            _finish(solution, assignment.name, student=False))


def write_autograders(target: Path, root: Path = ROOT) -> list[Path]:
    """Each homework's and guided project's Gradescope archive as ``target/<name>.zip``."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for a in assignments(root):
        if not a.graded:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            run_otter(a, Path(tmp))
            zips = sorted((Path(tmp) / "dist" / "autograder").glob("*.zip"))
            if len(zips) != 1:
                raise RuntimeError(f"{a.source.relative_to(root)}: otter assign wrote {len(zips)} archives")
            written.append(Path(shutil.copyfile(zips[0], target / f"{a.name}.zip")))
    return written


def _without_deadline(text: str) -> list:
    """A notebook's cells without the deadline cell (the one part that comes from the agenda)."""
    cells = nbformat.reads(text, as_version=4).cells
    return [(c.cell_type, c.source) for c in cells if not c.source.startswith("**Deadline:**")]


def student_cause(a: Assignment, expected: str) -> Path | str:
    """What a stale student notebook is out of date with: its source, or only the agenda's deadline."""
    if a.graded and a.student.is_file():
        current = a.student.read_text(encoding="utf-8")
        if current != expected and _without_deadline(current) == _without_deadline(expected):
            return "book/agenda.yml (its deadline changed)"
    return a.source


def outputs(root: Path = ROOT) -> Iterator[generated.Output]:
    for a in assignments(root):
        student, solution = render(a)
        yield a.student, student_cause(a, student), student
        yield a.solution, a.source, solution


def drifted(root: Path = ROOT) -> list[str]:
    return generated.drift(outputs(root), root)


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--autograder":
        for path in write_autograders(Path(sys.argv[2]).resolve()):
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        return 0
    return generated.main(__doc__, outputs, ROOT, "all exercise and homework notebooks are up to date")


if __name__ == "__main__":
    sys.exit(main())

