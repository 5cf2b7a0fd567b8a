"""Checks over the whole built site (_build/html): pages, links, anchors, images, outputs, requests."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import icalendar
import pytest
from bs4 import BeautifulSoup
from conftest import ROOT, SITE
from course_book.agenda_data import chronological, load_agenda
from sync_notebooks import toc_files

# Pages Sphinx writes that are not content pages.
GENERATED = {"genindex.html", "search.html"}


@lru_cache(maxsize=None)
def parse(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


@lru_cache(maxsize=None)
def ids_of(path: Path) -> frozenset[str]:
    """The ids of a page, once per page (a lecture's typeset math makes its tree 50,000 elements)."""
    return frozenset(tag.get("id") for tag in parse(path).select("[id]"))


def pages() -> list[Path]:
    return sorted(p for p in SITE.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts)


def content_pages() -> list[Path]:
    return [SITE / f"{f.relative_to(ROOT).with_suffix('')}.html" for f in toc_files()]


def rel(path: Path) -> str:
    return str(path.relative_to(SITE))


def test_every_toc_entry_produced_a_page(site: Path) -> None:
    missing = [rel(p) for p in content_pages() if not p.is_file()]
    assert not missing, f"table-of-contents entries without a page: {missing}"
    assert len(content_pages()) >= 12


def test_only_toc_files_are_built(site: Path) -> None:
    built = {rel(p) for p in pages()} - GENERATED - {"index.html"}
    expected = {rel(p) for p in content_pages()}
    assert built == expected, f"pages built but not in the toc: {sorted(built - expected)}"


def test_no_broken_internal_link_or_anchor(site: Path) -> None:
    broken = []
    for page in pages():
        for a in parse(page).select("a[href]"):
            href = a["href"]
            parts = urlsplit(href)
            if parts.scheme or parts.netloc or href.startswith(("mailto:", "javascript:")):
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{rel(page)}: link to missing file {href}")
                continue
            if parts.fragment and target.suffix == ".html":
                if unquote(parts.fragment) not in ids_of(target):
                    broken.append(f"{rel(page)}: link to missing anchor {href}")
    assert not broken, "\n".join(broken)


def test_every_image_has_alt_text(site: Path) -> None:
    missing = [f"{rel(page)}: {img.get('src')}" for page in pages()
               for img in parse(page).select("img") if not (img.get("alt") or "").strip()]
    assert not missing, "images without alt text:\n" + "\n".join(missing)


def test_no_markup_is_left_in_the_prose(site: Path) -> None:
    """A backtick in a page's prose (outside code, math and outputs) is MyST markup that did not render,
    such as a glue role closed with two backticks, which prints a stray backtick after the number."""
    found = {}
    for page in content_pages():
        # A fresh parse: the nodes removed here must not go from parse()'s cached trees.
        main = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").select_one("main")
        for node in main.select("script, style, pre, code, .highlight, .math, .katex, .output, .cell_output"):
            node.decompose()
        text = " ".join(main.get_text(" ").split())
        hits = [text[max(0, m.start() - 40):m.start() + 20] for m in re.finditer("`", text)]
        if hits:
            found[rel(page)] = hits[:3]
    assert not found, f"unrendered markup in the prose: {found}"


def test_no_executed_output_holds_an_error(site: Path) -> None:
    bad = []
    for page in content_pages():
        doc = parse(page)
        for output in doc.select(".cell_output .output, .cell_output"):
            classes = set(output.get("class", []))
            if classes & {"traceback", "stderr", "error"}:
                bad.append(f"{rel(page)}: output of class {sorted(classes)}: {output.get_text()[:200]!r}")
        text = " ".join(o.get_text(" ") for o in doc.select(".cell_output"))
        if "Traceback (most recent call last)" in text:
            bad.append(f"{rel(page)}: a traceback in an output")
    assert not bad, "\n".join(bad)


def test_no_page_requests_another_host(site: Path) -> None:
    """Scripts, styles, images, frames and fonts all come from the site itself."""
    external = []
    attrs = {"script": "src", "link": "href", "img": "src", "iframe": "src", "source": "src",
             "video": "src", "audio": "src", "embed": "src", "object": "data"}
    for page in pages():
        for tag, attr in attrs.items():
            for node in parse(page).select(f"{tag}[{attr}]"):
                if tag == "link" and not set(node.get("rel", [])) & {"stylesheet", "preload", "icon",
                                                                      "modulepreload", "prefetch"}:
                    continue
                url = node[attr]
                if urlsplit(url).scheme in ("http", "https") or url.startswith("//"):
                    external.append(f"{rel(page)}: <{tag} {attr}={url}>")
    assert not external, "\n".join(external)


def test_math_arrives_typeset_with_the_site_s_katex_stylesheet(site: Path) -> None:
    """Math is typeset at build time: pages carry KaTeX's markup and stylesheet (from the site) and no
    math script; a page without math does not load the stylesheet."""
    katex = SITE / "_static" / "vendor" / "katex"
    assert (katex / "katex.min.css").is_file() and list((katex / "fonts").glob("KaTeX_Main-Regular.woff2"))
    without_math = []
    for page in content_pages():
        doc = parse(page)
        assert not doc.select("script[src*=mathjax i], script[src*=katex i]"), rel(page)
        assert not doc.select(".katex-error"), f"{rel(page)}: a formula KaTeX could not render"
        styles = [link["href"] for link in doc.select("link[rel~=stylesheet][href*=katex]")]
        if doc.select("span.math, div.math"):
            assert doc.select(".katex"), f"{rel(page)}: math not typeset"
            assert len(styles) == 1 and "_static/vendor/katex/katex.min.css" in styles[0], (rel(page), styles)
        else:
            assert not styles, f"{rel(page)} has no math but loads KaTeX's stylesheet"
            without_math.append(rel(page))
    lecture = parse(SITE / "lectures" / "lecture1.html")
    assert len(lecture.select("div.math .katex-display")) > 3 and lecture.select("span.eqno a.headerlink")
    assert without_math, "every page has math: the check of pages without it checked nothing"


def test_the_theme_script_sets_tab_stops_lazily(site: Path) -> None:
    from course_book.theme_script import MARK

    script = (SITE / "_static" / "scripts" / "pydata-sphinx-theme.js").read_text(encoding="utf-8")
    assert script.count(MARK) == 1


def test_long_pages_skip_the_sections_off_the_screen(site: Path) -> None:
    css = (SITE / "_static" / "course.css").read_text(encoding="utf-8")
    assert re.search(r"\.bd-article > section > section \{[^}]*content-visibility: auto", css)
    lecture = parse(SITE / "lectures" / "lecture1.html")
    assert len(lecture.select("article.bd-article > section > section")) >= 5


def test_plotly_figures_load_plotly_once_from_the_site(site: Path) -> None:
    with_plotly = [p for p in content_pages() if parse(p).select(".plotly-graph-div")]
    assert with_plotly, "no page holds an interactive plotly figure"
    assert (SITE / "_static" / "vendor" / "plotly.min.js").stat().st_size > 1_000_000
    for page in with_plotly:
        doc = parse(page)
        # plotly.js is loaded by one small loader when a figure comes near the screen
        # (plotly_embed.py): no script tag loads it, and each figure's drawing script waits, inert.
        assert not [s["src"] for s in doc.select("script[src]") if "plotly" in s["src"]], rel(page)
        loaders = [s.string for s in doc.select("script:not([src])") if s.string and "plotly.min.js" in s.string]
        assert len(loaders) == 1 and "_static/vendor/plotly.min.js" in loaders[0], rel(page)
        # Each figure's drawing script (and its data) is a file of its own, fetched with plotly.js.
        figures = doc.select(".plotly-graph-div")
        inert = doc.select('script[type="text/x-course-plotly"][data-src]')
        assert len(inert) == len(figures) and not any(s.string for s in inert), rel(page)
        for script in inert:
            code = (page.parent / unquote(script["data-src"])).resolve()
            assert code.is_relative_to(SITE / "_static" / "plotly-figures"), (rel(page), script["data-src"])
            assert "Plotly.newPlot" in code.read_text(encoding="utf-8"), (rel(page), script["data-src"])
        assert page.stat().st_size < 500_000, f"{rel(page)}: figure data or plotly.js inlined?"
    for page in content_pages():
        if page not in with_plotly:
            assert "plotly.min.js" not in page.read_text(encoding="utf-8"), f"{rel(page)} loads plotly.js"


def test_home_page_has_next_up(site: Path) -> None:
    box = parse(SITE / "book" / "intro.html").select_one(".course-next-up")
    assert box is not None
    assert "Next up" in box.get_text()


def test_agenda_page_matches_the_data(site: Path) -> None:
    term = load_agenda(ROOT / "book" / "agenda.yml", root=ROOT)
    page = parse(SITE / "book" / "agenda.html")
    rows = page.select("table.agenda-table tbody tr")
    items = list(chronological(term))
    assert len(rows) == len(items) == 20
    for row, item in zip(rows, items):
        cells = [c.get_text(" ", strip=True) for c in row.select("td")]
        when = item.start if hasattr(item, "start") else item.due.astimezone(term.tz)
        assert cells[0].startswith(f"{when:%a} {when.day} {when:%b %Y}"), cells
        if hasattr(item, "lectures"):
            for lecture in item.lectures:
                assert lecture.label in cells[2]
                if lecture.page:
                    assert row.select_one(f"a[href='../{lecture.page}.html']") is not None, lecture.page
                for code in lecture.code:
                    assert row.select_one(f"a[href='../{code}.html']") is not None, code
        else:
            assert "agenda-deadline" in row["class"] and item.title in cells[2]
    assert page.select_one("a.agenda-ics-link")["href"] == "../agenda.ics"


def test_calendar_feed_holds_every_session_and_deadline(site: Path) -> None:
    term = load_agenda(ROOT / "book" / "agenda.yml")
    cal = icalendar.Calendar.from_ical((SITE / "agenda.ics").read_bytes())
    uids = {str(e["UID"]) for e in cal.walk("VEVENT")}
    assert {f"{term.slug}-{s.id}@dl-course.invalid" for s in term.sessions} <= uids
    assert {f"{term.slug}-deadline-{d.id}@dl-course.invalid" for d in term.deadlines} <= uids
    assert len(uids) == len(term.sessions) + len(term.deadlines)


@pytest.mark.parametrize("page", ["lectures/lecture0.html", "lectures/lecture1.html", "lectures/lecture2.html"])
def test_lectures_are_complete(site: Path, page: str) -> None:
    """A lecture has numbered figures with captions, exercises with solutions and references."""
    doc = parse(SITE / page)
    text = doc.get_text(" ")
    assert len(text.split()) > 2500, f"{page}: only {len(text.split())} words"
    figures = doc.select("figure")
    assert len(figures) >= 3 and all(f.select_one("figcaption") for f in figures), page
    assert doc.select(".exercise") and doc.select(".solution"), page
    assert doc.select("#key-takeaways") and doc.select("#references"), page
    assert doc.select("aside.footnote, .footnote-list"), f"{page}: no cited references"
    assert not re.search(r"\b(TODO|TBD|lorem ipsum|coming soon)\b", text, re.I), page


MAX_IMAGE_BYTES = 200_000


def test_no_image_is_over_200_kb(site: Path) -> None:
    """Images are light enough for a phone: photographs as JPEG or WebP, plots as optimized PNG or SVG."""
    heavy = sorted((p.stat().st_size, p.name) for p in (site / "_images").rglob("*")
                   if p.is_file() and p.stat().st_size > MAX_IMAGE_BYTES)
    pages: dict[str, list[str]] = {}
    for page in content_pages():
        for img in parse(page).select("img[src]"):
            pages.setdefault(Path(unquote(urlsplit(img["src"]).path)).name, []).append(rel(page))
    assert not heavy, f"images over {MAX_IMAGE_BYTES // 1000} KB in _build/html/_images:\n" + "\n".join(
        f"{name}: {size / 1000:.0f} KB, on {', '.join(sorted(set(pages.get(name, ['?']))))}" for size, name in heavy)
