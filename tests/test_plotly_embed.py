"""book/_ext/course_book/plotly_embed.py: figure scripts inert, their data in files of their own, and
the files no page names removed. The behaviour in a browser is in tests/test_browser.py."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from course_book import plotly_embed

FIGURE = """<div class="output text_html"><div>
<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-svg.js"></script>
<div id="f1" class="plotly-graph-div" style="height:420px; width:100%;"></div>
<script type="text/javascript">                window.PLOTLYENV=window.PLOTLYENV || {};
  if (document.getElementById("f1")) { Plotly.newPlot("f1", [{"x": [1, 2]}], {}, {}) };
</script></div></div>"""


def test_figure_scripts_become_inert_and_the_cdn_mathjax_goes() -> None:
    body = plotly_embed.lazy_figures(FIGURE)
    assert "mathjax" not in body.lower() and "https://" not in body
    assert body.count('<script type="text/x-course-plotly">') == 1 and "<script" not in body.replace(
        '<script type="text/x-course-plotly">', "")


def test_figure_code_moves_to_a_file_named_by_its_content() -> None:
    saved: dict[str, str] = {}

    def save(name: str, code: str) -> str:
        saved[name] = code
        return f"../_static/plotly-figures/{name}"

    body = plotly_embed.external_figures(plotly_embed.lazy_figures(FIGURE), save)
    (name, code), = saved.items()
    assert "Plotly.newPlot" in code and "Plotly.newPlot" not in body
    assert name == plotly_embed.figure_file_name(code) and len(name) == 23
    assert f'<script type="text/x-course-plotly" data-src="../_static/plotly-figures/{name}"></script>' in body
    assert plotly_embed.external_figures(body, save) == body  # already moved: nothing to do


def test_figure_files_no_page_names_are_removed(tmp_path: Path) -> None:
    folder = tmp_path / "_static" / plotly_embed.FIGURES
    folder.mkdir(parents=True)
    for name in ("0123456789abcdef0123.js", "fedcba9876543210fedc.js"):
        (folder / name).write_text("//")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "page.html").write_text(
        '<script type="text/x-course-plotly" data-src="../_static/plotly-figures/0123456789abcdef0123.js">'
        "</script>")
    removed = plotly_embed.remove_unused_figures(tmp_path)
    assert [p.name for p in removed] == ["fedcba9876543210fedc.js"]
    assert [p.name for p in folder.iterdir()] == ["0123456789abcdef0123.js"]


def test_the_loader_is_valid_javascript_that_fetches_external_figures(tmp_path: Path) -> None:
    script = plotly_embed.loader_script("../_static/vendor/plotly.min.js")
    assert '"../_static/vendor/plotly.min.js"' in script and "inert.dataset.src" in script
    assert "IntersectionObserver" in script and plotly_embed.NEAR in script
    node = shutil.which("node")
    assert node, "node is needed (make installs it)"
    (tmp_path / "loader.js").write_text(script, encoding="utf-8")
    check = subprocess.run([node, "--check", str(tmp_path / "loader.js")], capture_output=True, text=True,
                           timeout=60)
    assert check.returncode == 0, check.stderr
