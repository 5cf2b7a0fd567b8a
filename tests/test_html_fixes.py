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


@pytest.mark.parametrize("snippet", [HIDDEN_CELL, NAV, SEARCH, THEME_SWITCH, TABS, EXERCISES, PAGE, OTTER,
                                     SIDEBAR, DOI_LINK])
def test_fixes_are_idempotent(snippet: str) -> None:
    once = fix_page(snippet)
    assert once != snippet
    assert fix_page(once) == once


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
               and fix_page(text := p.read_text(encoding="utf-8")) != text]
    assert not unfixed, f"pages the build did not repair (is html_fixes registered?): {unfixed}"
    assert fix_redirect_stub((site / "index.html").read_text(encoding="utf-8"), "x").startswith(
        "<!DOCTYPE html>")
