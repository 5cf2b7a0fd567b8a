"""Embed plotly figures without inlining plotly.js, and serve plotly.js from the site.

Plotly's default renderer in a build kernel emits a MIME type that myst-nb drops. During the build
we point the kernels' ``IPYTHONDIR`` at a profile whose startup file selects an HTML renderer that
does not inline plotly.js (about 4.8 MB per figure otherwise). Pages whose body holds a plotly figure
then load ``_static/vendor/plotly.min.js`` once, from this site. Students running a notebook
elsewhere keep plotly's normal renderer: nothing here is part of a notebook.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

PROFILE_FILES = Path(__file__).parent / "ipython_startup"
STARTUP = PROFILE_FILES / "00-course-build.py"
KERNEL_CONFIG = PROFILE_FILES / "ipython_kernel_config.py"
PLOTLY_JS = "vendor/plotly.min.js"
# plotly's HTML renderer always adds a MathJax <script> from a CDN next to each figure; pages with
# math already load the site's own MathJax.
CDN_MATHJAX = re.compile(r'<script[^>]*\ssrc="https?://[^"]*mathjax[^"]*"[^>]*>\s*</script>', re.I)


def plotly_js_source() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def use_build_profile(app: Sphinx) -> None:
    """Point notebook kernels started by this build at a profile with the HTML renderer."""
    ipython_dir = Path(app.doctreedir).parent / "ipython"
    startup_dir = ipython_dir / "profile_default" / "startup"
    startup_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(STARTUP, startup_dir / STARTUP.name)
    shutil.copyfile(KERNEL_CONFIG, startup_dir.parent / KERNEL_CONFIG.name)
    os.environ["IPYTHONDIR"] = str(ipython_dir)


def add_plotly_js(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                  doctree: Any) -> None:
    body = context.get("body", "")
    if "plotly-graph-div" in body:
        context["body"] = CDN_MATHJAX.sub("", body)
        app.add_js_file(PLOTLY_JS, priority=400)


def copy_plotly_js(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / PLOTLY_JS
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(plotly_js_source(), target)


def setup(app: Sphinx) -> None:
    app.connect("builder-inited", use_build_profile)
    app.connect("html-page-context", add_plotly_js)
    app.connect("build-finished", copy_plotly_js)
