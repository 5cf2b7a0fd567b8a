"""Record every notebook's execution data (run time, CPU time, status) for the budget tests.

myst-nb keeps run times in the build environment and shows them with ``{nb-exec-table}``; this writes
them to ``_build/execution-stats.json`` so tests can compare each notebook with its budget.

The build executes two notebooks at a time (tools/build.py), so a notebook's wall time there is
inflated by the other one sharing the machine. Its kernel's CPU time is not: with one torch thread, it
is what the notebook costs when it runs alone. The kernel is a child process of the process that
executes the notebook, reaped when the execution ends, so the growth of ``RUSAGE_CHILDREN`` over
one execution is that kernel's CPU time (user + system, its own children included). It is kept in
the execution cache beside myst-nb's run time, so a cached notebook keeps the CPU time of its run.
"""
from __future__ import annotations

import functools
import json
import resource
from pathlib import Path
from typing import Any, Callable

from myst_nb.sphinx_ import NbMetadataCollector
from sphinx.application import Sphinx

CPU_KEY = "execution_cpu_seconds"


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure_cpu(execute: Callable[..., Any], record: dict[str, float | None]) -> Callable[..., Any]:
    """``execute`` (jupyter-cache's ``single_nb_execution``), noting the CPU time of the kernels it
    started and reaped in ``record["cpu"]``."""
    @functools.wraps(execute)
    def timed(*args: Any, **kwargs: Any) -> Any:
        record["cpu"] = None
        before = children_cpu_seconds()
        result = execute(*args, **kwargs)
        record["cpu"] = round(children_cpu_seconds() - before, 3)
        return result
    return timed


def install_cpu_timer() -> None:
    """Patch myst-nb's cache client: every execution measures its kernel's CPU time, stores it in the
    cache record's data and in the page's execution data (``"cpu"``); a cache hit reads it back."""
    from myst_nb.core.execute import cache as client

    if getattr(client.NotebookClientCache.start_client, "course_cpu_timer", False):
        return
    record: dict[str, float | None] = {"cpu": None}
    client.single_nb_execution = measure_cpu(client.single_nb_execution, record)
    bundle = client.CacheBundleIn

    def bundle_with_cpu(notebook: Any, uri: str, data: dict | None = None, **kwargs: Any) -> Any:
        return bundle(notebook, uri, data={**(data or {}), CPU_KEY: record["cpu"]}, **kwargs)

    client.CacheBundleIn = bundle_with_cpu
    start_client = client.NotebookClientCache.start_client

    @functools.wraps(start_client)
    def start(self: Any) -> None:
        record["cpu"] = None
        start_client(self)
        cpu = record["cpu"]
        if cpu is None:  # a cache hit: the record holds the CPU time of the run that made it
            cache = client.get_cache(self.nb_config.execution_cache_path or ".jupyter_cache")
            try:
                cpu = cache.match_cache_notebook(self.notebook).data.get(CPU_KEY)
            except KeyError:
                cpu = None
        if self.exec_metadata is not None:
            self.exec_metadata["cpu"] = cpu

    start.course_cpu_timer = True  # type: ignore[attr-defined]
    client.NotebookClientCache.start_client = start


def collect(app: Sphinx) -> dict[str, dict]:
    stats = {}
    for docname in sorted(app.env.found_docs):
        data = NbMetadataCollector.get_exec_data(app.env, docname)
        if not data:
            continue
        stats[docname] = {
            "path": str(Path(app.env.doc2path(docname, base=False))),
            "method": data.get("method"),
            "runtime": data.get("runtime"),
            "cpu": data.get("cpu"),
            "succeeded": data.get("succeeded"),
            "error": data.get("error"),
        }
    return stats


def write_stats(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir).parent / "execution-stats.json"
    target.write_text(json.dumps(collect(app), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    # The build date decides what is released: tests read it to know what this site must show.
    today = getattr(app, "course_today", None)
    info = {"course_today": today.isoformat() if today else None, "jobs": app.parallel or 1}
    (Path(app.outdir).parent / "build-info.json").write_text(json.dumps(info) + "\n", encoding="utf-8")


def setup(app: Sphinx) -> dict[str, bool]:
    # Run-time budgets in seconds, checked by tests/test_notebooks.py: a default, and exceptions by
    # docname for the few notebooks allowed more.
    app.add_config_value("course_notebook_budget", 60, "", [int, float])
    app.add_config_value("course_notebook_budget_exceptions", {}, "", [dict])
    install_cpu_timer()
    app.connect("build-finished", write_stats)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
