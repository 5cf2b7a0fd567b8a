"""Embed plotly figures without inlining plotly.js, and serve plotly.js from the site.

Plotly's default renderer in a build kernel emits a MIME type that myst-nb drops. During the build
we point the kernels' ``IPYTHONDIR`` at a profile whose startup file selects an HTML renderer that
does not inline plotly.js (about 4.8 MB per figure otherwise). Students running a notebook
elsewhere keep plotly's normal renderer: nothing here is part of a notebook.

plotly.js (3.6 MB, 1 MB gzipped) is served once, from this site (``_static/vendor/plotly.min.js``), and
loaded only when a figure comes near the viewport: each figure's drawing script is written as an
inert ``<script type="text/x-course-plotly">``, and a short loader (:data:`LOADER`) watches the
figures with an ``IntersectionObserver``. When the first one comes within :data:`NEAR` of the
screen, it loads plotly.js (once per page) and then runs that figure's script; every other figure
is drawn when it comes near in turn.

A figure's script holds its data (1.2 MB for the decision regions of lec2-spiral-classification),
which would make the page itself slow to arrive on a phone. So the script goes to a file of its own,
``_static/plotly-figures/<hash>.js`` (named by its content), which the inert tag names in
``data-src`` and the loader fetches with plotly.js; files no page names any more are removed at
the end of the build.
"""
from __future__ import annotations

import hashlib
import html
import json
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
# plotly's HTML renderer always adds a MathJax <script> from a CDN next to each figure: dropped (no
# page makes a third-party request; the course's figures put no LaTeX in plotly labels).
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


# The inline script plotly's HTML renderer writes after each figure's <div>.
FIGURE_SCRIPT = re.compile(r'<script(?: type="text/javascript")?>(\s*window\.PLOTLYENV\s*=)')
INERT_TYPE = "text/x-course-plotly"
# How close to the screen a figure must come for plotly.js to load (about one phone screen).
NEAR = "600px 0px"
LOADER = """
document.addEventListener("DOMContentLoaded", function () {
  var figures = document.querySelectorAll('script[type="%(type)s"]');
  if (!figures.length) return;
  var plotly = null;
  function load() {
    if (!plotly) plotly = new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = %(src)s;
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
    return plotly;
  }
  function draw(inert) {
    load().then(function () {
      var script = document.createElement("script");
      if (inert.dataset.src) script.src = inert.dataset.src;
      else script.text = inert.text;
      inert.replaceWith(script);
    });
  }
  var pending = new Map();
  var observer = "IntersectionObserver" in window ? new IntersectionObserver(function (entries) {
    entries.forEach(function (entry) {
      if (!entry.isIntersecting || !pending.has(entry.target)) return;
      observer.unobserve(entry.target);
      draw(pending.get(entry.target));
      pending.delete(entry.target);
    });
  }, {rootMargin: "%(near)s"}) : null;
  figures.forEach(function (inert) {
    var box = inert.parentElement || inert;
    if (!observer) return draw(inert);
    pending.set(box, inert);
    observer.observe(box);
  });
});
"""


def lazy_figures(body: str) -> str:
    """Drop plotly's CDN MathJax and make each figure's drawing script inert (see the docstring)."""
    return FIGURE_SCRIPT.sub(rf'<script type="{INERT_TYPE}">\1', CDN_MATHJAX.sub("", body))


FIGURES = "plotly-figures"  # in _static
INERT_FIGURE = re.compile(rf'<script type="{re.escape(INERT_TYPE)}">(.*?)</script>', re.S)
DATA_SRC = re.compile(rf'<script type="{re.escape(INERT_TYPE)}" data-src="[^"]*?{FIGURES}/([0-9a-f]+\.js)"')


def figure_file_name(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()[:20] + ".js"


def external_figures(body: str, save: Any) -> str:
    """Each inert figure script's code handed to ``save(name, code)``, which returns its URL; the tag
    keeps only that URL (``data-src``)."""
    def move(match: re.Match[str]) -> str:
        url = save(figure_file_name(match.group(1)), match.group(1))
        return f'<script type="{INERT_TYPE}" data-src="{html.escape(url)}"></script>'
    return INERT_FIGURE.sub(move, body)


def loader_script(plotly_src: str) -> str:
    return LOADER % {"type": INERT_TYPE, "src": json.dumps(plotly_src), "near": NEAR}


def add_plotly_js(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                  doctree: Any) -> None:
    body = context.get("body", "")
    if "plotly-graph-div" in body:
        folder = Path(app.outdir) / "_static" / FIGURES

        def save(name: str, code: str) -> str:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            if not path.is_file() or path.read_text(encoding="utf-8") != code:
                path.write_text(code, encoding="utf-8")
            return context["pathto"](f"_static/{FIGURES}/{name}", 1)

        context["body"] = external_figures(lazy_figures(body), save)
        app.add_js_file(None, body=loader_script(context["pathto"](f"_static/{PLOTLY_JS}", 1)))


def remove_unused_figures(outdir: Path) -> list[Path]:
    """Delete the figure files no page of ``outdir`` names (figures changed or gone); return them."""
    folder = outdir / "_static" / FIGURES
    if not folder.is_dir():
        return []
    used: set[str] = set()
    for page in outdir.rglob("*.html"):
        if page.relative_to(outdir).parts[0] not in {"_static", "_sources", "_images"}:
            text = page.read_text(encoding="utf-8", errors="replace")
            if INERT_TYPE in text:
                used.update(DATA_SRC.findall(text))
    unused = [path for path in folder.glob("*.js") if path.name not in used]
    for path in unused:
        path.unlink()
    return unused


def copy_plotly_js(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / PLOTLY_JS
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(plotly_js_source(), target)
    remove_unused_figures(Path(app.outdir))


def setup(app: Sphinx) -> None:
    app.connect("builder-inited", use_build_profile)
    app.connect("html-page-context", add_plotly_js)
    app.connect("build-finished", copy_plotly_js)
