"""tools/build.py: jupyter-book build with parallel readers, the parallel-safety declarations that let
Sphinx use them, and the worker's traceback when a parallel read fails (tests/test_build_failures.py
builds real books with it)."""
from __future__ import annotations

from types import ModuleType

import pytest

import build


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


def test_extensions_are_declared_parallel_safe_unless_they_say_otherwise() -> None:
    undeclared = ModuleType("undeclared")
    undeclared.setup = lambda app: None
    unsafe = ModuleType("unsafe")
    unsafe.setup = lambda app: {"parallel_read_safe": False, "version": "1"}
    for module in (undeclared, unsafe):
        build.declare_parallel_safe(module)
        build.declare_parallel_safe(module)  # twice: wrapped once
    assert undeclared.setup(None) == {"parallel_read_safe": True}
    assert unsafe.setup(None) == {"parallel_read_safe": False, "version": "1"}, "a declared 'unsafe' must stay"


def test_the_jupyter_book_extensions_that_block_parallel_reading_are_the_ones_declared() -> None:
    """If a new Jupyter Book release declares them itself, this list can shrink; if it adds another
    undeclared one, the course build warns (an error under -W) and this list must grow."""
    import importlib
    for name in build.PARALLEL_SAFE:
        assert hasattr(importlib.import_module(name), "setup"), name


def test_a_failed_parallel_read_prints_the_worker_traceback(capsys: pytest.CaptureFixture) -> None:
    from sphinx.errors import SphinxParallelError
    error = SphinxParallelError("ExecutionError: book/broken.md", "Traceback ...\nValueError: marker-1b2c")
    assert build.report_parallel_error(error) is error
    assert "ValueError: marker-1b2c" in capsys.readouterr().err
    assert build.report_parallel_error(0) == 0 and capsys.readouterr().err == ""
