"""Local Sphinx extensions of the course book (loaded through ``_config.yml``).

- :mod:`.agenda_sphinx`: the agenda page, "next up", deadline boxes and ``agenda.ics``.
- :mod:`.plotly_embed`: plotly figures without inlined plotly.js.
- :mod:`.exec_stats`: notebook run times and kernel CPU times for the budget tests.
- :mod:`.vendor_assets`: math rendered at build time with KaTeX, its CSS and fonts served from the site.
- :mod:`.numbering`: figures and equations numbered from 1 on each page.
- :mod:`.solutions`: solution pages published only after their deadline.
- :mod:`.html_fixes`: valid HTML and accessible markup (repairs of theme and extension output).
- :mod:`.images`: the site's PNG images made smaller without changing a pixel.
- :mod:`.theme_script`: the theme's script without its page-wide layout work on load.
- :mod:`.live_code`: thebe served from the site, connected to Binder or a chosen Jupyter server.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

from . import (agenda_sphinx, exec_stats, html_fixes, images, live_code, numbering, plotly_embed, solutions,
               theme_script, vendor_assets)

STATIC = Path(__file__).parent / "static"


def _add_static(app: Sphinx, config: Any) -> None:
    config.html_static_path.append(str(STATIC))


def _course_files(app: Sphinx, config: Any) -> None:
    """Tell notebook kernels where the course repository is. Notebooks run in an empty folder at build
    (``run_in_temp``); one that needs a course file (the GlyphNet checkpoint) looks there before it
    would download the file, so the build stays offline."""
    os.environ["COURSE_REPO_DIR"] = str(Path(app.srcdir).resolve())


def _exclude_notebook_twins(app: Sphinx, config: Any) -> None:
    """An ``.ipynb`` beside a same-named ``.md`` is a generated twin (for Colab, Binder and downloads);
    the ``.md`` is the page. Generated notebooks without a twin (exercises) are pages themselves."""
    root = Path(app.srcdir)
    for ipynb in root.rglob("*.ipynb"):
        rel = ipynb.relative_to(root)
        if rel.parts[0] in {".venv", "_build", "node_modules"}:
            continue
        if ipynb.with_suffix(".md").is_file():
            config.exclude_patterns.append(rel.as_posix())


def _dedupe_scripts(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                    doctree: Any) -> None:
    """Drop repeated script tags. sphinx-thebe's inline configuration is added twice under
    Jupyter Book 1, which redeclares a ``const`` and raises a SyntaxError in every page."""
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in context.get("script_files", []):
        # The second copy has filename '' instead of None: compare what ends up in the page.
        key = (str(getattr(script, "filename", script) or ""),
               str(getattr(script, "attributes", {}).get("body", "")))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict[str, Any]:
    agenda_sphinx.setup(app)
    solutions.setup(app)
    plotly_embed.setup(app)
    exec_stats.setup(app)
    vendor_assets.setup(app)
    images.setup(app)
    theme_script.setup(app)
    numbering.setup(app)
    live_code.setup(app)
    html_fixes.register(app)
    app.connect("config-inited", _add_static)
    app.connect("config-inited", _exclude_notebook_twins)
    app.connect("config-inited", _course_files)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.add_css_file("course.css")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
