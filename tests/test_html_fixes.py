"""The repairs that book/_ext/course_book/html_fixes.py makes to the written pages, on snippets of
the markup the theme and the extensions really write; and the built site already carries them."""
from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from course_book import html_fixes
from course_book.html_fixes import fix_page, fix_redirect_stub, fix_site, redirect_page

STUB = '<meta http-equiv="Refresh" content="0; url=book/intro.html" />\n'

HIDDEN_CELL = """<details class="admonition hide above-input">
<summary aria-label="Toggle hidden content">
<p class="collapsed admonition-title">Show code cell source</p>
<p class="expanded admonition-title">Hide code cell source</p>
</summary>
<div class="cell_input docutils container"><p>code</p></div>
</details>"""

NAV = """<li class="toctree-l1 has-children"><a class="reference internal" href="../lectures/lecture1.html">\
Lecture 1: <em>Fundamentals</em> &amp; more</a><details><summary><span class="toctree-toggle" \
role="presentation"><i class="fa-solid fa-chevron-down"></i></span></summary><ul>
<li class="toctree-l2"><a class="reference internal" href="../code/lec1.html">Code</a></li>
</ul>
</details></li>
<li class="toctree-l1 current active has-children"><a class="current reference internal" href="#">\
Exercises</a><details open="open"><summary><span class="toctree-toggle" role="presentation">\
<i class="fa-solid fa-chevron-down"></i></span></summary><ul></ul></details></li>"""

SEARCH = """<button class="btn search-button-field search-button__button pst-js-only" title="Search" \
aria-label="Search" data-bs-placement="bottom" data-bs-toggle="tooltip">
 <i class="fa-solid fa-magnifying-glass"></i>
 <span class="search-button__default-text">Search</span>
</button>
<button class="btn btn-sm pst-navbar-icon search-button search-button__button pst-js-only" \
title="Search" aria-label="Search" data-bs-placement="bottom" data-bs-toggle="tooltip">
    <i class="fa-solid fa-magnifying-glass fa-lg"></i>
</button>"""

THEME_SWITCH = """<button class="btn btn-sm nav-link pst-navbar-icon theme-switch-button pst-js-only" \
aria-label="Color mode" data-bs-title="Color mode"  data-bs-placement="bottom" data-bs-toggle="tooltip">
  <i class="theme-switch fa-solid fa-sun                fa-lg" data-mode="light" title="Light"></i>
  <i class="theme-switch fa-solid fa-moon               fa-lg" data-mode="dark"  title="Dark"></i>
</button>"""

TABS = """<div class="sd-tab-set docutils">
<input checked="checked" id="sd-tab-item-0" name="sd-tab-set-0" type="radio">
<label aria-controls="sd-tab-item-0-content" class="sd-tab-label" for="sd-tab-item-0">
Linux</label><div class="sd-tab-content docutils" id="sd-tab-item-0-content"><p>a</p></div>
<input id="sd-tab-item-1" name="sd-tab-set-0" type="radio">
<label aria-controls="sd-tab-item-1-content" class="sd-tab-label" for="sd-tab-item-1">
macOS</label><div class="sd-tab-content docutils" id="sd-tab-item-1-content"><p>b</p></div>
</div>"""

EXERCISES = """<div class="exercise admonition" id="ex-a"><p class="admonition-title">Exercise 1</p>
<section id="exercise-content"><p>A</p></section></div>
<div class="solution dropdown admonition" id="sol-a"><section id="solution-content"><p>a</p></section></div>
<div class="exercise admonition" id="ex-b"><p class="admonition-title">Exercise 2</p>
<section id="exercise-content"><p>B</p></section></div>
<div class="solution dropdown admonition" id="sol-b"><section id="solution-content"><p>b</p></section></div>"""

STYLE = """<style scoped>
    .dataframe tbody tr th {
        vertical-align: top;
    }
</style>
"""
PAGE = """<!DOCTYPE html>
<html lang="en"><head><title>t</title>
</head><body>
<div><STYLE><table border="1" class="dataframe">
  <thead>
    <tr><th></th><th colspan="2" halign="left">accuracy</th></tr>
    <tr><th>model</th><th></th><th></th></tr>
  </thead>
</table></div>
<div><STYLE><table border="1" class="dataframe"><thead><tr><th>a</th></tr></thead></table></div>
</body></html>""".replace("<STYLE>", STYLE)

OTTER = ("<p><strong><pre style='display: inline;'>q1</pre></strong> passed! 🍀</p>\n"
         "<p><strong style='color: red;'><pre style='display: inline;'>q2</pre> results:</strong></p>")

SIDEBAR = '<div id="pst-primary-sidebar" class="bd-sidebar-primary bd-sidebar">'

HEAD = """<!DOCTYPE html><html lang="en"><head><title>t</title>
  <script defer src="../_static/scripts/fontawesome.js?digest=55c26ed414f5f8a31ebb"></script>
  <link rel="preload" as="script" href="../_static/scripts/bootstrap.js?digest=55c26ed414f5f8a31ebb" />
    <script src="../_static/documentation_options.js?v=9eb32ce0"></script>
    <script src="../_static/doctools.js?v=9a2dae69"></script>
    <script src="../_static/copybutton.js?v=f281be69"></script>
    <script>let toggleHintShow = 'Click to show';</script>
    <script src="../_static/togglebutton.js?v=b8b12719"></script>
    <script data-sd-tabs-storage-prefix="sphinx-design-tab-id-" src="../_static/design-tabs.js?v=fcb327ea"></script>
    <script async="async" src="../_static/sphinx-thebe.js?v=c100c467"></script>
    <script src="../_static/searchtools.js"></script>
    <script src="../_static/language_data.js"></script>
    <script src="../searchindex.js"></script>
</head><body><input name="q"><i class="fab fa-github"></i></body></html>"""

SEARCH_PAGE = """<!DOCTYPE html><html lang="en"><head><title>Search</title>
    <script src="_static/doctools.js?v=9a2dae69"></script>
</head><body>
  <div id="search-results"></div>
  <script src="_static/searchtools.js"></script>
  <script src="_static/language_data.js"></script>
  <script src="searchindex.js"></script>
</body></html>"""

FILLER = "<p>" + "A sentence of lecture text that a reader scrolls past. " * 20 + "</p>"
ARTICLE = f"""<header><img alt="Binder logo" src="../_static/images/logo_binder.svg"></header>
<article class="bd-article"><h1>Lecture</h1><p>Short opening.</p>
<img alt="first" src="../_images/first.png" />
{FILLER}
<figure><img alt="plot" src="../_images/plot.png"></figure>
<img alt="sized" src="../_images/sized.png" style="width: 300px;">
<img alt="unknown" src="../_images/missing.png">
</article>"""
SIZES = {"../_images/first.png": (800, 600), "../_images/plot.png": (1200, 400),
         "../_images/sized.png": (900, 900)}


def soup(text: str) -> BeautifulSoup:
    return BeautifulSoup(text, "html.parser")


def test_redirect_stub_becomes_a_complete_page() -> None:
    page = soup(fix_redirect_stub(STUB, "Deep Learning on a CPU"))
    assert str(page).startswith("<!DOCTYPE html>")
    assert page.html["lang"] == "en"
    assert page.title.string == "Deep Learning on a CPU"
    assert page.find("meta", attrs={"http-equiv": "refresh"})["content"] == "0; url=book/intro.html"
    assert page.find("meta", charset=True)
    assert page.select_one("main a")["href"] == "book/intro.html"
    assert page.h1.string == "Deep Learning on a CPU"


def test_redirect_page_escapes_title_and_target() -> None:
    text = redirect_page('a b.html?x=1&y="2"', "Tom & Jerry <3", lang="fr")
    assert '<title>Tom &amp; Jerry &lt;3</title>' in text and 'lang="fr"' in text
    assert 'url=a b.html?x=1&amp;y=&quot;2&quot;"' in text


def test_only_the_bare_stub_is_rewritten() -> None:
    page = redirect_page("book/intro.html", "T")
    assert fix_redirect_stub(page, "T") == page
    other = "<!DOCTYPE html><html><head><title>x</title></head><body></body></html>"
    assert fix_redirect_stub(other, "T") == other


def test_summary_holds_spans_and_its_visible_name() -> None:
    fixed = soup(fix_page(HIDDEN_CELL))
    summary = fixed.summary
    assert not summary.find("p") and "aria-label" not in summary.attrs
    assert [s["class"] for s in summary.find_all("span")] == [["collapsed", "admonition-title"],
                                                              ["expanded", "admonition-title"]]
    # Paragraphs outside the summary stay paragraphs.
    assert fixed.select_one(".cell_input p")


def test_navigation_toggles_are_named_after_their_page() -> None:
    labels = [s.get("aria-label") for s in soup(fix_page(NAV)).find_all("summary")]
    assert labels == ["Toggle navigation of Lecture 1: Fundamentals & more",
                      "Toggle navigation of Exercises"]


def test_search_field_is_named_by_its_text_and_icon_button_keeps_its_label() -> None:
    field, icon = soup(fix_page(SEARCH)).find_all("button")
    assert "aria-label" not in field.attrs and field["title"] == "Search"
    assert icon["aria-label"] == "Search"


def test_theme_switch_icons_lose_their_titles_not_the_button_its_name() -> None:
    button = soup(fix_page(THEME_SWITCH)).button
    assert button["aria-label"] == "Color mode"
    assert [i.get("title") for i in button.find_all("i")] == [None, None]
    assert [i["data-mode"] for i in button.find_all("i")] == ["light", "dark"]


def test_primary_sidebar_is_a_landmark() -> None:
    div = soup(fix_page(SIDEBAR + "</div>")).div
    assert div["role"] == "complementary" and div["aria-label"]
    assert div["class"] == ["bd-sidebar-primary", "bd-sidebar"]


def test_tab_aria_controls_moves_to_the_input() -> None:
    fixed = soup(fix_page(TABS))
    assert [i.get("aria-controls") for i in fixed.find_all("input")] == [
        "sd-tab-item-0-content", "sd-tab-item-1-content"]
    assert all("aria-controls" not in label.attrs for label in fixed.find_all("label"))
    assert fixed.input["checked"] == "checked" and fixed.label["for"] == "sd-tab-item-0"


def test_exercise_and_solution_ids_are_unique() -> None:
    ids = [s["id"] for s in soup(fix_page(EXERCISES)).find_all("section")]
    assert ids == ["exercise-content", "solution-content", "exercise-content-2", "solution-content-2"]


def test_pandas_styles_move_to_the_head_once() -> None:
    fixed = fix_page(PAGE)
    page = soup(fixed)
    assert "scoped" not in fixed and "halign" not in fixed
    styles = page.find_all("style")
    assert len(styles) == 1 and styles[0].parent.name == "head"
    assert "vertical-align: top" in styles[0].string
    # Empty header cells became data cells; the others stay headers.
    assert [c.name for c in page.select("thead tr")[0].find_all(["th", "td"])] == ["td", "th"]
    assert [c.name for c in page.select("thead tr")[1].find_all(["th", "td"])] == ["th", "td", "td"]
    assert page.find("th", colspan="2").string == "accuracy"


def test_otter_results_use_inline_code() -> None:
    fixed = fix_page(OTTER)
    assert "<pre" not in fixed
    assert "<p><strong><code>q1</code></strong> passed! 🍀</p>" in fixed
    assert "<strong style='color: red;'><code>q2</code> results:</strong>" in fixed


DOI_LINK = ('<a class="reference external" href="https://doi.org/10.1175/1520-0493(1950)078&lt;0001:'
            'VOFEIT&gt;2.0.CO;2">doi:10.1175/1520-0493(1950)078&lt;0001:VOFEIT&gt;2.0.CO;2</a>')


def test_links_are_percent_encoded_and_their_text_is_kept() -> None:
    fixed = fix_page(DOI_LINK)
    link = BeautifulSoup(fixed, "html.parser").a
    assert link["href"] == "https://doi.org/10.1175/1520-0493(1950)078%3C0001:VOFEIT%3E2.0.CO;2"
    assert link.get_text() == "doi:10.1175/1520-0493(1950)078<0001:VOFEIT>2.0.CO;2"
    assert fix_page('<a href="https://example.org/a?b=1&amp;c=2#x">x</a>') == \
        '<a href="https://example.org/a?b=1&amp;c=2#x">x</a>'


def test_the_theme_css_import_becomes_a_direct_link() -> None:
    theme_css = ("/* Provided by Sphinx's 'basic' theme, and included in the final set of assets */\n"
                 '@import "../basic.css";\n')
    assert html_fixes.theme_css_only_imports_basic(theme_css)
    assert html_fixes.theme_css_only_imports_basic("@import url('../basic.css');")
    assert not html_fixes.theme_css_only_imports_basic(theme_css + "body { color: red }\n")
    assert not html_fixes.theme_css_only_imports_basic('@import "../other.css";')
    page = ('<link href="../_static/styles/theme.css?digest=55c26ed414f5f8a31ebb" rel="stylesheet" />\n'
            '<link href="../_static/styles/pydata-sphinx-theme.css?digest=55c2" rel="stylesheet" />')
    fixed = html_fixes.direct_basic_css(page)
    assert fixed == ('<link href="../_static/basic.css" rel="stylesheet" />\n'
                     '<link href="../_static/styles/pydata-sphinx-theme.css?digest=55c2" rel="stylesheet" />')
    assert html_fixes.direct_basic_css(fixed) == fixed


def test_fix_site_links_basic_css_only_when_theme_css_just_imports_it(tmp_path: Path) -> None:
    styles = tmp_path / "_static" / "styles"
    styles.mkdir(parents=True)
    page = tmp_path / "page.html"
    link = '<link href="_static/styles/theme.css?digest=1" rel="stylesheet" />'
    page.write_text(f"<!DOCTYPE html><html><head>{link}</head><body></body></html>", encoding="utf-8")
    (styles / "theme.css").write_text('@import "../basic.css";\nbody { margin: 0 }\n', encoding="utf-8")
    html_fixes.fix_site(tmp_path, "t")
    assert link in page.read_text(encoding="utf-8")
    (styles / "theme.css").write_text('@import "../basic.css";\n', encoding="utf-8")
    html_fixes.fix_site(tmp_path, "t")
    assert '<link href="_static/basic.css" rel="stylesheet" />' in page.read_text(encoding="utf-8")


def test_fontawesome_script_goes_and_icons_are_hidden_from_screen_readers() -> None:
    fixed = fix_page(HEAD)
    assert "fontawesome.js" not in fixed and "bootstrap.js" in fixed
    assert soup(fixed).find("i")["aria-hidden"] == "true"
    assert [i.get("aria-hidden") for i in soup(fix_page(THEME_SWITCH)).find_all("i")] == ["true", "true"]


def test_scripts_that_wait_for_the_document_are_deferred_in_order() -> None:
    scripts = soup(fix_page(HEAD)).head.find_all("script")
    by_name = {s["src"].split("/")[-1].split("?")[0]: s for s in scripts if s.get("src")}
    for name in ("doctools.js", "copybutton.js", "togglebutton.js", "design-tabs.js"):
        assert by_name[name].has_attr("defer"), name
    # documentation_options.js is extended by inline scripts that run at once; async stays async.
    assert not by_name["documentation_options.js"].has_attr("defer")
    assert by_name["sphinx-thebe.js"].has_attr("async") and not by_name["sphinx-thebe.js"].has_attr("defer")
    assert by_name["design-tabs.js"]["data-sd-tabs-storage-prefix"] == "sphinx-design-tab-id-"
    order = [s.get("src", "inline").split("/")[-1].split("?")[0] for s in scripts]
    assert order.index("doctools.js") < order.index("copybutton.js") < order.index("togglebutton.js")


def test_search_tools_load_when_search_opens() -> None:
    fixed = fix_page(HEAD)
    page = soup(fixed)
    assert not page.head.select("script[src*=searchindex], script[src*=searchtools]")
    loader = page.body.find_all("script")[-1].string
    assert '["../_static/searchtools.js", "../_static/language_data.js", "../searchindex.js"]' in loader
    assert "#pst-search-dialog" in loader and "focusin" in loader
    # The search page keeps its own tools, and the scripts they need before them, as they are.
    assert fix_page(SEARCH_PAGE) == SEARCH_PAGE


def test_content_images_get_their_size_and_load_lazily_below_the_first_screen() -> None:
    page = soup(fix_page(ARTICLE, SIZES.get))
    images = {img["alt"]: img for img in page.find_all("img")}
    first, plot, sized, unknown = (images[k] for k in ("first", "plot", "sized", "unknown"))
    assert (first["width"], first["height"]) == ("800", "600") and "loading" not in first.attrs
    assert (plot["width"], plot["height"], plot["loading"]) == ("1200", "400", "lazy")
    # A size the author set stays the only one; an image of unknown size still loads lazily.
    assert "width" not in sized.attrs and sized["loading"] == "lazy"
    assert "width" not in unknown.attrs and unknown["loading"] == "lazy"
    # The theme's images outside the article are left alone.
    assert images["Binder logo"].attrs == {"alt": "Binder logo", "src": "../_static/images/logo_binder.svg"}


def test_image_size_reads_png_svg_and_data_uris(tmp_path: Path) -> None:
    from PIL import Image

    (tmp_path / "_images").mkdir()
    Image.new("RGB", (320, 200)).save(tmp_path / "_images" / "a.png")
    (tmp_path / "_images" / "b.svg").write_text(
        '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="460.8pt" height="345.6pt">')
    (tmp_path / "_images" / "c.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 24">')
    page = tmp_path / "lectures" / "l.html"
    assert html_fixes.image_size(page, "../_images/a.png") == (320, 200)
    assert html_fixes.image_size(page, "../_images/b.svg") == (614, 461)
    assert html_fixes.image_size(page, "../_images/c.svg") == (48, 24)
    assert html_fixes.image_size(page, "../_images/nothing.png") is None
    assert html_fixes.image_size(page, "https://example.org/x.png") is None
    import base64
    import io

    buffer = io.BytesIO()
    Image.new("RGB", (3, 5)).save(buffer, "PNG")
    uri = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    assert html_fixes.image_size(page, uri) == (3, 5)


@pytest.mark.parametrize("snippet", [HIDDEN_CELL, NAV, SEARCH, THEME_SWITCH, TABS, EXERCISES, PAGE, OTTER,
                                     SIDEBAR, DOI_LINK, HEAD, ARTICLE])
def test_fixes_are_idempotent(snippet: str) -> None:
    once = fix_page(snippet, SIZES.get)
    assert once != snippet
    assert fix_page(once, SIZES.get) == once


def test_fix_site_rewrites_pages_and_the_root_stub(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text(STUB, encoding="utf-8")
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "intro.html").write_text(PAGE, encoding="utf-8")
    (tmp_path / "book" / "clean.html").write_text("<p>clean</p>", encoding="utf-8")
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "macros.html").write_text(TABS, encoding="utf-8")
    changed = fix_site(tmp_path, "Course")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in changed) == ["book/intro.html", "index.html"]
    assert "<title>Course</title>" in (tmp_path / "index.html").read_text(encoding="utf-8")
    assert (tmp_path / "_static" / "macros.html").read_text(encoding="utf-8") == TABS
    assert fix_site(tmp_path, "Course") == []


def test_register_runs_after_the_redirect_is_written() -> None:
    calls = []

    class App:
        def connect(self, event: str, callback: object, priority: int = 500) -> None:
            calls.append((event, callback, priority))

    html_fixes.register(App())
    assert calls == [("build-finished", html_fixes._build_finished, 900)]


def test_built_site_carries_the_fixes(site: Path) -> None:
    """The build ran the fixes (course_book registers html_fixes): nothing is left to repair."""
    unfixed = [p.relative_to(site).as_posix() for p in sorted(site.rglob("*.html"))
               if p.relative_to(site).parts[0] not in {"_static", "_sources", "_images"}
               and html_fixes.direct_basic_css(fix_page(text := p.read_text(encoding="utf-8"))) != text]
    assert not unfixed, f"pages the build did not repair (is html_fixes registered?): {unfixed}"
    assert fix_redirect_stub((site / "index.html").read_text(encoding="utf-8"), "x").startswith(
        "<!DOCTYPE html>")
