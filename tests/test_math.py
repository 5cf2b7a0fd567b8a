"""Math typeset at build time by KaTeX (book/_ext/course_book/vendor_assets.py): tiny Sphinx builds
under -W show that a formula KaTeX cannot render fails the build naming the page, the line and the
formula, that numbered equations, labels and references keep Sphinx's markup, and that MathJax-style
display blocks (a ``\\\\`` line break, several equations) render; and the built site carries
prerendered math, KaTeX's stylesheet and fonts from the site, and no math script."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from conftest import ROOT
from course_book import vendor_assets

KATEX = ROOT / "node_modules" / "katex" / "dist" / "katex.min.js"

CONF = f"""\
import sys
sys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})
extensions = ["myst_parser", "course_book.vendor_assets"]
myst_enable_extensions = ["dollarmath", "amsmath"]
exclude_patterns = ["node_modules"]
numfig = True
math_numfig = True
math_eqref_format = "({{number}})"
course_katex_macros = {{"\\\\RR": "\\\\mathbb{{R}}"}}
"""

GOOD = """# Good

$$
\\mathcal{L}(\\theta) = \\frac{1}{N} \\sum_{i=1}^N \\ell(f_\\theta(x_i), y_i)
$$ (eq-loss)

As {eq}`eq-loss` says, with $x \\in \\RR^d$ and $\\lVert w \\rVert_2$,

$$
a &= b + c \\\\
  &= d
$$

$$
x = 1

y = 2
$$

\\begin{align*}
u &= v
\\end{align*}
"""

BAD = """# Bad

Fine: $a + b$.

A typo: $\\fracc{1}{2}$ and an unbalanced brace $x^{2$.
"""


def sphinx(src: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", str(src),
                           str(out)], capture_output=True, text=True, timeout=300)


def make_book(tmp: Path, pages: dict[str, str]) -> Path:
    if not KATEX.is_file():
        pytest.fail(f"{KATEX} is missing: `npm ci` installs KaTeX (make book does)")
    src = tmp / "src"
    src.mkdir()
    (src / "node_modules").symlink_to(ROOT / "node_modules")
    (src / "conf.py").write_text(CONF, encoding="utf-8")
    toctree = "\n".join(pages)
    (src / "index.md").write_text(f"# Home\n\n```{{toctree}}\n{toctree}\n```\n", encoding="utf-8")
    for name, text in pages.items():
        (src / f"{name}.md").write_text(text, encoding="utf-8")
    return src


def test_display_blocks_are_wrapped_as_mathjax_wraps_them() -> None:
    assert vendor_assets.display_latex("x = 1", nowrap=False) == "x = 1"
    assert vendor_assets.display_latex("a &= b \\\\ &= c", nowrap=False) == \
        "\\begin{split}a &= b \\\\ &= c\\end{split}"
    assert vendor_assets.display_latex("x = 1\n\ny = 2", nowrap=False) == \
        "\\begin{aligned}x = 1\\\\y = 2\\end{aligned}"
    assert vendor_assets.display_latex("\\begin{align}u\\end{align}", nowrap=True) == \
        "\\begin{align}u\\end{align}"


def test_katex_markup_is_repaired_for_the_html_checker() -> None:
    repair = vendor_assets.repair_markup
    assert repair("<msub><mi>λ</mi><mi>max</mi><mo>\u2061</mo></msub>") == \
        "<msub><mi>λ</mi><mrow><mi>max</mi><mo>\u2061</mo></mrow></msub>"
    math = '<math xmlns="http://www.w3.org/1998/Math/MathML">{}</math>'.format
    assert repair(math('<mo lspace="0.22em"><mrow><mi mathvariant="normal">m</mi><mi mathvariant="normal">o</mi>'
                       '<mi mathvariant="normal">d</mi></mrow></mo><mi>s</mi>')) == \
        math('<mo lspace="0.22em">mod</mo><mi>s</mi>')
    # \overset{x}{=}: an <mover> in an <mo>, an <mo> in that <mo>.
    assert repair(math('<mi>a</mi><mo><mover><mo><mo>=</mo></mo><mi>x</mi></mover></mo><mo>&lt;</mo>')) == \
        math('<mi>a</mi><mover><mo>=</mo><mi>x</mi></mover><mo>&lt;</mo>')
    assert repair('<mtable columnalign="right" columnspacing="">') == '<mtable columnalign="right">'
    assert repair('<span class="vlist" style="height:-0.25em;"><span style="top:-3em;height:-1em">') == \
        '<span class="vlist"><span style="top:-3em;">'
    assert repair("<mi>x</mi><mo>+</mo><mn>1</mn>") == "<mi>x</mi><mo>+</mo><mn>1</mn>"
    # The TeX source kept in the MathML goes (page weight); what is read out stays.
    assert repair('<math><semantics><mrow><mi>x</mi></mrow><annotation encoding="application/x-tex">x</annotation>'
                  '</semantics></math>') == "<math><mrow><mi>x</mi></mrow></math>"


def test_good_math_renders_with_numbers_labels_and_references(tmp_path: Path) -> None:
    src = make_book(tmp_path, {"good": GOOD})
    result = sphinx(src, tmp_path / "html")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    page = BeautifulSoup((tmp_path / "html" / "good.html").read_text(encoding="utf-8"), "html.parser")
    blocks = page.select("div.math")
    assert len(blocks) == 4 and all(b.select_one(".katex-display") for b in blocks)
    numbered = page.select_one("div.math#equation-eq-loss")
    assert numbered.select_one("span.eqno").get_text(strip=True).startswith("(1)")
    assert numbered.select_one("span.eqno a.headerlink")["href"] == "#equation-eq-loss"
    reference = page.select_one("a[href='#equation-eq-loss']:not(.headerlink)")
    assert reference.get_text(strip=True) == "(1)"
    inline = page.select("span.math")
    assert len(inline) == 2 and all(s.select_one(".katex .katex-mathml math > mrow") for s in inline)
    assert not page.select("annotation, semantics"), "the TeX source is not kept in the MathML"
    assert page.select_one("span.math .mathbb"), "the macro \\RR of course_katex_macros did not expand"
    assert not page.select("script[src*=mathjax], script[src*=katex]"), "math needs no script"
    assert page.select_one("link[href='_static/vendor/katex/katex.min.css']")
    static = tmp_path / "html" / "_static" / "vendor" / "katex"
    assert (static / "katex.min.css").is_file() and list((static / "fonts").glob("KaTeX_Main-Regular.woff2"))
    # A page without math does not load KaTeX's stylesheet.
    home = (tmp_path / "html" / "index.html").read_text(encoding="utf-8")
    assert "katex.min.css" not in home


def test_a_formula_katex_cannot_render_fails_the_build_naming_page_and_formula(tmp_path: Path) -> None:
    src = make_book(tmp_path, {"good": GOOD, "bad": BAD})
    result = sphinx(src, tmp_path / "html")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    lines = [line for line in output.splitlines() if "KaTeX cannot render" in line]
    assert len(lines) == 2, output[-3000:]
    assert all("bad.md:" in line for line in lines), lines
    assert any("'\\\\fracc{1}{2}'" in line and "Undefined control sequence" in line for line in lines), lines
    assert any("'x^{2'" in line for line in lines), lines
    assert "good.md" not in "\n".join(lines)
