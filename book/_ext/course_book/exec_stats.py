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


# Extensions Jupyter Book always loads that do not say whether Sphinx may read pages in parallel
# (Sphinx then reads serially, with a warning that -W turns into an error), and why each is safe.
PARALLEL_SAFE = {
    # replaces how the main process numbers sections, once every page has been read
    "sphinx_multitoc_numbering": True,
    # adds nodes and transforms that act only for the LaTeX builders
    "sphinx_jupyterbook_latex": True,
}


def declare_parallel_safe(app: Sphinx) -> None:
    """Let Sphinx read (and so execute) notebooks in parallel when ``tools/build.py`` asks for it:
    declare the extensions of :data:`PARALLEL_SAFE` safe, unless they declared something themselves."""
    for name, safe in PARALLEL_SAFE.items():
        extension = app.extensions.get(name)
        if extension is not None and extension.parallel_read_safe is None:
            extension.parallel_read_safe = safe


def setup(app: Sphinx) -> None:
    app.connect("builder-inited", declare_parallel_safe)
    # Run-time budgets in seconds, checked by tests/test_notebooks.py: a default, and exceptions by
    # docname for the few notebooks allowed more.
    app.add_config_value("course_notebook_budget", 60, "", [int, float])
    app.add_config_value("course_notebook_budget_exceptions", {}, "", [dict])
    app.connect("build-finished", write_stats)
