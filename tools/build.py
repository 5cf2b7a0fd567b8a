"""``jupyter-book build`` with Sphinx reading (and so executing) notebooks on several cores.

Jupyter Book 1's command line has no ``-j``: its ``build_sphinx`` takes a ``jobs`` argument that the
command never passes. This runs the same command with that argument set, so that Sphinx's parallel
reader executes two notebooks at a time on a 2-core machine. Each notebook keeps one torch thread
(the build's kernels get ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` = 1 unless already set), so two
kernels share two cores without oversubscribing them.

    python tools/build.py . -W -n --keep-going     # jobs: COURSE_BUILD_JOBS, else the CPU count
"""
from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

# Extensions Jupyter Book always loads that do not say whether Sphinx may read pages in parallel
# (Sphinx then reads serially, with a warning that -W turns into an error), and why each is safe.
PARALLEL_SAFE = {
    # replaces how the main process numbers sections, once every page has been read
    "sphinx_multitoc_numbering",
    # adds nodes and transforms that act only for the LaTeX builders
    "sphinx_jupyterbook_latex",
}


def build_jobs(environ: dict[str, str] | os._Environ = os.environ, cpus: int | None = None) -> int:
    """The number of parallel readers: ``COURSE_BUILD_JOBS`` if set (a positive integer), else the
    number of CPUs this process may use."""
    value = environ.get("COURSE_BUILD_JOBS", "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise SystemExit(f"error: COURSE_BUILD_JOBS must be a positive integer, got {value!r}")
        return int(value)
    if cpus is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cpus)


def with_jobs(build_sphinx: Callable[..., Any], jobs: int) -> Callable[..., Any]:
    """``build_sphinx`` with ``jobs`` defaulting to ``jobs`` instead of 1."""
    @functools.wraps(build_sphinx)
    def build(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("jobs", jobs)
        return report_parallel_error(build_sphinx(*args, **kwargs))
    return build


def declare_parallel_safe(module: ModuleType) -> None:
    """Make an extension's ``setup`` declare it safe for parallel reading, unless it says otherwise."""
    setup = module.setup
    if getattr(setup, "declared_parallel_safe", False):
        return

    @functools.wraps(setup)
    def safe_setup(app: Any) -> dict[str, Any]:
        metadata = dict(setup(app) or {})
        metadata.setdefault("parallel_read_safe", True)
        return metadata

    safe_setup.declared_parallel_safe = True  # type: ignore[attr-defined]
    module.setup = safe_setup


def report_parallel_error(result: Any) -> Any:
    """Print the worker's traceback of a failed parallel read (a failing notebook cell, say).

    Sphinx's parallel reader drops the failed worker's log, where myst-nb wrote the cell's traceback,
    and Jupyter Book prints only the exception's one-line message (the notebook's path): the
    traceback it carries holds the cell, the error and the notebook."""
    from sphinx.errors import SphinxParallelError

    if isinstance(result, SphinxParallelError):
        print(f"error while reading pages in parallel: {result.message}\n{result.traceback}",
              file=sys.stderr, flush=True)
    return result


def main(argv: Sequence[str] | None = None) -> None:
    import jupyter_book.sphinx as jb_sphinx
    from jupyter_book.cli.main import main as jupyter_book

    jobs = build_jobs()
    for name in sorted(PARALLEL_SAFE):
        declare_parallel_safe(importlib.import_module(name))
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")  # inherited by the notebook kernels Sphinx's workers start
    jb_sphinx.build_sphinx = with_jobs(jb_sphinx.build_sphinx, jobs)
    print(f"building with {jobs} parallel reader(s)", flush=True)
    sys.argv = ["jupyter-book", "build", *(sys.argv[1:] if argv is None else argv)]
    jupyter_book()


if __name__ == "__main__":
    main()
