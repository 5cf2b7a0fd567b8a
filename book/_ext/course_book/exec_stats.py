"""Record every notebook's execution data (run time, status) for the budget tests.

myst-nb keeps these in the build environment and shows them with ``{nb-exec-table}``; this writes
them to ``_build/execution-stats.json`` so tests can compare each run time with its budget.
"""
from __future__ import annotations

import json
from pathlib import Path

from myst_nb.sphinx_ import NbMetadataCollector
from sphinx.application import Sphinx


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
    info = {"course_today": today.isoformat() if today else None}
    (Path(app.outdir).parent / "build-info.json").write_text(json.dumps(info) + "\n", encoding="utf-8")


def setup(app: Sphinx) -> None:
    # Run-time budgets in seconds, checked by tests/test_notebooks.py: a default, and exceptions by
    # docname for the few notebooks allowed more.
    app.add_config_value("course_notebook_budget", 60, "", [int, float])
    app.add_config_value("course_notebook_budget_exceptions", {}, "", [dict])
    app.connect("build-finished", write_stats)
