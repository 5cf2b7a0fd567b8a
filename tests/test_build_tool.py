"""tools/build.py: jupyter-book build with parallel readers, and the parallel-safety declaration that
lets Sphinx use them (book/_ext/course_book/exec_stats.py)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

import build
from course_book.exec_stats import declare_parallel_safe


@pytest.mark.parametrize(("environ", "cpus", "jobs"), [
    ({}, 2, 2), ({}, 1, 1), ({"COURSE_BUILD_JOBS": "1"}, 8, 1), ({"COURSE_BUILD_JOBS": " 3 "}, 2, 3)])
def test_jobs_follow_the_cpus_unless_set(environ: dict[str, str], cpus: int, jobs: int) -> None:
    assert build.build_jobs(environ, cpus=cpus) == jobs


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_bad_job_count_is_refused_by_name(value: str) -> None:
    with pytest.raises(SystemExit, match=f"COURSE_BUILD_JOBS must be a positive integer, got '{value}'"):
        build.build_jobs({"COURSE_BUILD_JOBS": value}, cpus=2)


def test_the_wrapped_build_gets_the_jobs_unless_given() -> None:
    calls = []
    wrapped = build.with_jobs(lambda *a, **k: calls.append((a, k)) or 0, 2)
    assert wrapped("src", "out", quiet=True) == 0
    wrapped("src", "out", jobs=1)
    assert calls == [(("src", "out"), {"quiet": True, "jobs": 2}), (("src", "out"), {"jobs": 1})]


def test_multitoc_numbering_is_declared_parallel_safe_only_when_undeclared() -> None:
    undeclared, unsafe = SimpleNamespace(parallel_read_safe=None), SimpleNamespace(parallel_read_safe=False)
    declare_parallel_safe(SimpleNamespace(extensions={"sphinx_multitoc_numbering": undeclared}))
    assert undeclared.parallel_read_safe is True
    declare_parallel_safe(SimpleNamespace(extensions={"sphinx_multitoc_numbering": unsafe}))
    assert unsafe.parallel_read_safe is False, "an extension that says it is unsafe must stay so"
    declare_parallel_safe(SimpleNamespace(extensions={}))
    latex = SimpleNamespace(parallel_read_safe=None)
    declare_parallel_safe(SimpleNamespace(extensions={"sphinx_jupyterbook_latex": latex}))
    assert latex.parallel_read_safe is True
