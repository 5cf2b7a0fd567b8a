"""Turn one exercise source into a student notebook and a worked solution, with otter-grader.

A source (``code/exercises/source/<name>.md``) is a MyST notebook in otter-grader's assignment format:
questions, solutions between ``# BEGIN SOLUTION`` / ``# END SOLUTION`` and self-check tests. This
script runs ``otter assign`` on it and writes

- ``code/exercises/<name>.ipynb``: the student notebook. Solutions are replaced by blanks that raise
  "your code here", each question ends with ``grader.check("qN")``, and the first cell installs
  otter-grader where it is missing (Colab). Not executed on the site.
- ``code/exercises/solutions/<name>.ipynb``: the solution with its self-checks, executed at build.

``python tools/assignments.py`` rewrites them; ``--check`` reports the ones that are missing or out of
date (tests/test_assignments.py does the same).
"""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat

import generated

ROOT = Path(__file__).resolve().parent.parent
OTTER_VERSION = "7.0.0"
BLANK = "raise NotImplementedError(\"your code here\")"
MARKER = re.compile(r"^\s*# (BEGIN|END) SOLUTION( NO PROMPT)?\s*$")


@dataclass(frozen=True)
class Assignment:
    source: Path
    student: Path
    solution: Path

    @property
    def name(self) -> str:
        return self.source.stem


def assignments(root: Path = ROOT) -> list[Assignment]:
    """Every exercise source and where its two notebooks go."""
    found = []
    for source in sorted((root / "code" / "exercises" / "source").glob("*.md")):
        folder = source.parent.parent
        found.append(Assignment(source, folder / f"{source.stem}.ipynb",
                                folder / "solutions" / f"{source.stem}.ipynb"))
    return found


def run_otter(assignment: Assignment, workdir: Path) -> tuple[nbformat.NotebookNode, nbformat.NotebookNode]:
    """``otter assign`` the source; returns (student, solution) notebooks as otter wrote them."""
    nb = jupytext.read(assignment.source, fmt="md:myst")
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
    return student, solution


def _init_cell(name: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_code_cell(
        "# Self-checks: `grader.check(\"q1\")` runs the tests of question 1 (package otter-grader).\n"
        "try:\n"
        "    import otter\n"
        "except ImportError:  # e.g. on Colab\n"
        f"    %pip install --quiet otter-grader=={OTTER_VERSION}\n"
        "    import otter\n"
        f"grader = otter.Notebook(\"{name}.ipynb\")")


def _is_otter_init(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and "otter.Notebook(" in cell.source


def _finish(nb: nbformat.NotebookNode, name: str, *, student: bool) -> str:
    cells = []
    for cell in nb.cells:
        if not student and cell.cell_type == "markdown" and \
                cell.source.strip() == "_Type your answer here, replacing this text._":
            continue  # otter's prompt for a written answer; the solution shows the answer instead
        if _is_otter_init(cell):
            cells.append(_init_cell(name))
            continue
        if cell.cell_type == "code":
            lines = [line for line in cell.source.split("\n") if not MARKER.match(line)]
            if student:
                lines = [line[: len(line) - len(line.lstrip())] + BLANK if line.strip() == "..." else line
                         for line in lines]
            cell.source = "\n".join(lines)
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    # otter puts its set-up cell first; the title reads better above it.
    if len(cells) > 1 and _is_otter_init(cells[0]) and cells[1].cell_type == "markdown" \
            and cells[1].source.startswith("# "):
        cells[0], cells[1] = cells[1], cells[0]
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


def render(assignment: Assignment) -> tuple[str, str]:
    """The (student, solution) notebook texts the source yields."""
    with tempfile.TemporaryDirectory() as tmp:
        student, solution = run_otter(assignment, Path(tmp))
    return _finish(student, assignment.name, student=True), _finish(solution, assignment.name, student=False)


def outputs(root: Path = ROOT) -> Iterator[generated.Output]:
    for a in assignments(root):
        student, solution = render(a)
        yield a.student, a.source, student
        yield a.solution, a.source, solution


def drifted(root: Path = ROOT) -> list[str]:
    return generated.drift(outputs(root), root)


def main() -> int:
    return generated.main(__doc__, outputs, ROOT, "all exercise notebooks are up to date")


if __name__ == "__main__":
    sys.exit(main())

