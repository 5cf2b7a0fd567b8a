"""A failing cell or a stray stderr warning fails a book build with the same execution settings and build
command as the course (pages read in parallel), and the message names the notebook and shows the
traceback."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup
from conftest import ROOT

HEADER = """---
jupytext:
  text_representation: {extension: .md, format_name: myst, format_version: 0.13}
kernelspec: {display_name: Python 3, language: python, name: python3}
---
"""


def make_book(tmp: Path, cell: str, text: str = "") -> Path:
    """A two-page book using the course's execute/parse settings (without its local extensions)."""
    course = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config = {
        "title": "Failure test",
        "only_build_toc_files": True,
        "execute": course["execute"],
        "parse": course["parse"],
        "sphinx": {"config": {k: v for k, v in course["sphinx"]["config"].items()
                              if k.startswith(("nb_", "suppress_warnings"))}},
    }
    (tmp / "_config.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    # Six more pages than the two that matter: Sphinx reads in parallel only above five pages.
    fillers = [f"page{i}" for i in range(6)]
    (tmp / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: broken\n"
                                  + "".join(f"  - file: {name}\n" for name in fillers), encoding="utf-8")
    (tmp / "intro.md").write_text("# Intro\n\nText.\n", encoding="utf-8")
    for name in fillers:
        (tmp / f"{name}.md").write_text(f"# Page {name}\n\nText.\n", encoding="utf-8")
    (tmp / "broken.md").write_text(
        HEADER + "# Broken notebook\n\n```{code-cell} ipython3\nx = 1\n```\n\n"
        f"```{{code-cell}} ipython3\n{cell}\n```\n\n{text}\n", encoding="utf-8")
    return tmp


def build(book: Path) -> subprocess.CompletedProcess:
    """The course's build command (tools/build.py), reading pages with two parallel workers."""
    return subprocess.run([str(ROOT / ".venv" / "bin" / "python"), str(ROOT / "tools" / "build.py"), str(book),
                           "-W", "-n", "--keep-going"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COURSE_BUILD_JOBS": "2"})


@pytest.mark.parametrize(("cell", "expected"), [
    ("def helper():\n    raise ValueError('marker-7f3a: the data are wrong')\nhelper()",
     ["ValueError", "marker-7f3a: the data are wrong", "helper()"]),
    ("import sys\nprint('marker-9c1d: a stray warning', file=sys.stderr)",
     ["broken.md:14", "stderr was found in the cell outputs"]),
])
def test_build_fails_naming_the_notebook(tmp_path: Path, cell: str, expected: list[str]) -> None:
    result = build(make_book(tmp_path, cell))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-2000:]
    assert "broken.md" in output, output[-2000:]
    for text in expected:
        assert text in output, (text, output[-3000:])


def test_the_same_book_builds_when_the_cell_is_fixed(tmp_path: Path) -> None:
    result = build(make_book(tmp_path, "print('fine')"))
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]


GLUE_CELL = "from myst_nb import glue\nglue('acc', 0.9312, display=False)"


def test_a_glued_number_reaches_the_text(tmp_path: Path) -> None:
    result = build(make_book(tmp_path, GLUE_CELL, "Accuracy {glue:text}`acc:.3f` on the test set."))
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    html = (tmp_path / "_build" / "html" / "broken.html").read_text(encoding="utf-8")
    text = " ".join(BeautifulSoup(html, "html.parser").get_text(" ").split())
    assert "Accuracy 0.931 on the test set" in text


def test_a_glue_key_never_defined_fails_the_build(tmp_path: Path) -> None:
    """Prose that quotes a number the notebook no longer produces must not build."""
    result = build(make_book(tmp_path, GLUE_CELL, "Accuracy {glue:text}`accuracy-typo:.3f`."))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-2000:]
    assert "broken.md" in output and "accuracy-typo" in output, output[-3000:]


BURN_CELL = ("import time\nt = time.process_time()\nwhile time.process_time() - t < 1.5:\n    pass\n"
             "time.sleep(1.5)")


def test_the_kernels_cpu_time_is_recorded_and_kept_by_the_cache(tmp_path: Path) -> None:
    """With course_book's exec_stats, the stats carry the kernel's CPU time (1.5 s of work, not the
    1.5 s of sleep), and a rebuild served from the cache keeps it."""
    book = make_book(tmp_path, BURN_CELL)
    config = yaml.safe_load((book / "_config.yml").read_text(encoding="utf-8"))
    config["sphinx"]["local_extensions"] = {"course_book.exec_stats": str(ROOT / "book" / "_ext")}
    (book / "_config.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
    runs = []
    for _ in range(2):
        result = build(book)
        assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
        runs.append(yaml.safe_load((book / "_build" / "execution-stats.json").read_text())["broken"])
    first, cached = runs
    assert 1.5 <= first["cpu"] < first["runtime"] - 1.0, first
    assert cached["cpu"] == first["cpu"] and cached["runtime"] == first["runtime"], (first, cached)
