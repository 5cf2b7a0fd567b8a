"""Serve MathJax from the site instead of a CDN.

MathJax comes from the npm package pinned in ``package.json`` (installed into ``node_modules`` by
``make``). Only what the CommonHTML output needs is copied: the ``tex-chtml.js`` bundle, the TeX
extensions it may autoload, its fonts, and the accessibility and menu components it loads on demand.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

MATHJAX_TARGET = "vendor/mathjax"
MATHJAX_PARTS = ("tex-chtml.js", "input", "output/chtml", "a11y", "ui", "sre")


def mathjax_source(app: Sphinx) -> Path:
    return Path(app.srcdir) / "node_modules" / "mathjax" / "es5"


def use_local_mathjax(app: Sphinx, config: Any) -> None:
    if not config.course_vendor_mathjax:
        return
    config.mathjax_path = f"{MATHJAX_TARGET}/tex-chtml.js"


def check_assets(app: Sphinx) -> None:
    if not app.config.course_vendor_mathjax:
        return
    if not (mathjax_source(app) / "tex-chtml.js").is_file():
        raise ExtensionError(
            "MathJax is not installed: run `make book` (or `npm ci` in the repository root) so that "
            "node_modules/mathjax exists; the site serves MathJax itself instead of using a CDN")


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html" or not app.config.course_vendor_mathjax:
        return
    source, target = mathjax_source(app), Path(app.outdir) / "_static" / MATHJAX_TARGET
    for part in MATHJAX_PARTS:
        src, dst = source / part, target / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copyfile(src, dst)


def setup(app: Sphinx) -> None:
    app.add_config_value("course_vendor_mathjax", True, "html", [bool])
    app.connect("config-inited", use_local_mathjax)
    app.connect("builder-inited", check_assets)
    app.connect("build-finished", copy_mathjax)
