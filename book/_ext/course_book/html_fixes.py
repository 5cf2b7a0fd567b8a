"""Repairs to the HTML that the theme and the extensions write: invalid markup (the Nu HTML checker,
``tests/test_html_validity.py``) and accessibility faults (axe-core, ``tests/test_accessibility.py``).

Each fix is a function from a page's text to its repaired text that leaves an already repaired page
unchanged, so running the fixes again (every build does, over every page) is harmless. When the build
finishes, :func:`fix_site` applies :func:`fix_page` to every written page and rewrites the root
``index.html`` redirect stub as a complete HTML5 document (:func:`redirect_page`).

Where each fault comes from:

- sphinx-external-toc writes the root ``index.html`` as a bare ``<meta http-equiv="Refresh">`` line:
  no doctype, no title, no language.
- myst-nb's collapsed cells put ``<p>`` titles inside ``<summary>``, which allows only phrasing
  content, and label the summary "Toggle hidden content" while it shows "Show code cell source".
- pydata-sphinx-theme: the sidebar's expand buttons (``<summary>``) have no name; the search field
  is named "Search" while it shows "Search Ctrl+K"; the colour-mode icons carry titles ("Light") that
  differ from the button's name ("Color mode"); the site logo sits outside every landmark.
- sphinx-design puts ``aria-controls`` on the tab ``<label>``, which the checker forbids there.
- sphinx-exercise gives every exercise and solution body the same ``id`` (``exercise-content``).
- pandas tables carry ``<style scoped>`` in the body (``scoped`` no longer exists; browsers apply the
  rules to the whole page anyway), ``halign`` attributes and empty ``<th>`` corner cells.
- otter-grader's check results put a ``<pre>`` inside ``<p><strong>``, which the parser breaks apart.
"""
from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

# --- the root redirect -----------------------------------------------------------------------------

REDIRECT_STUB = re.compile(r'\A\s*<meta http-equiv="Refresh" content="0; url=([^"]+)"\s*/?>\s*\Z', re.I)


def redirect_page(target: str, title: str, lang: str = "en") -> str:
    """A valid HTML5 page that sends the reader to ``target`` at once (and says where, without it)."""
    url = html.escape(target, quote=True)
    name = html.escape(title, quote=False)
    return (f'<!DOCTYPE html>\n<html lang="{html.escape(lang, quote=True)}">\n<head>\n'
            f'<meta charset="utf-8">\n<title>{name}</title>\n'
            f'<meta http-equiv="refresh" content="0; url={url}">\n'
            f'<link rel="canonical" href="{url}">\n</head>\n<body>\n'
            f'<main>\n<h1>{name}</h1>\n<p>The book starts at <a href="{url}">{url}</a>.</p>\n'
            f'</main>\n</body>\n</html>\n')


def fix_redirect_stub(text: str, title: str, lang: str = "en") -> str:
    match = REDIRECT_STUB.match(text)
    return redirect_page(html.unescape(match.group(1)), title, lang) if match else text


# --- one function per fault ------------------------------------------------------------------------

SUMMARY = re.compile(r"(<summary\b[^>]*>)(.*?)(</summary>)", re.S)
TOGGLE_LABEL = ' aria-label="Toggle hidden content"'


def summary_phrasing_content(text: str) -> str:
    """``<p>`` inside ``<summary>`` becomes ``<span>`` (course.css keeps myst-nb's layout), and
    myst-nb's fixed "Toggle hidden content" label gives way to the visible "Show code cell source"."""
    def repair(match: re.Match[str]) -> str:
        opening, inner, closing = match.groups()
        if "<p" in inner:
            inner = re.sub(r"<p\b", "<span", inner).replace("</p>", "</span>")
            opening = opening.replace(TOGGLE_LABEL, "")
        return opening + inner + closing
    return SUMMARY.sub(repair, text)


NAV_TOGGLE = re.compile(
    r'(<li class="[^"]*\bhas-children\b[^"]*">\s*<a\b[^>]*>)(.*?)(</a>\s*<details\b[^>]*>\s*<summary)>',
    re.S)


def name_navigation_toggles(text: str) -> str:
    """The sidebar's expand buttons are icons only: name each after the page whose children it shows."""
    def repair(match: re.Match[str]) -> str:
        title = " ".join(html.unescape(re.sub(r"<[^>]+>", "", match.group(2))).split())
        label = html.escape(f"Toggle navigation of {title}", quote=True)
        return f'{match.group(1)}{match.group(2)}{match.group(3)} aria-label="{label}">'
    return NAV_TOGGLE.sub(repair, text)


SEARCH_FIELD = re.compile(r'<button\b[^>]*\bsearch-button-field\b[^>]*>')


def search_field_named_by_its_text(text: str) -> str:
    """The search field shows "Search Ctrl+K": let that text name it instead of ``aria-label="Search"``
    (the name must contain the visible text; the ``title`` still says "Search")."""
    return SEARCH_FIELD.sub(lambda m: re.sub(r'\saria-label="[^"]*"', "", m.group(0)), text)


THEME_ICON = re.compile(r'(<i class="theme-switch [^"]*" data-mode="[^"]*")\s+title="[^"]*"')


def theme_switch_icons_untitled(text: str) -> str:
    """Font Awesome turns each titled icon into a named image ("Light"), which the button's name
    "Color mode" does not contain; without titles the icons are decorative and the button keeps its
    name and its "Color mode" tooltip."""
    return THEME_ICON.sub(r"\1", text)


PRIMARY_SIDEBAR = re.compile(r'<div id="pst-primary-sidebar" class="([^"]*)">')


def sidebar_landmark(text: str) -> str:
    """The logo at the top of the primary sidebar is outside every landmark: make the sidebar one."""
    return PRIMARY_SIDEBAR.sub(
        r'<div id="pst-primary-sidebar" class="\1" role="complementary" aria-label="Site navigation">', text)


TAB_LABEL = re.compile(r'<input ([^>]*)>(\s*)<label aria-controls="([^"]*)" class="sd-tab-label"')


def tab_controls_on_input(text: str) -> str:
    """``aria-controls`` moves from each sphinx-design tab's ``<label>`` to its radio ``<input>``."""
    return TAB_LABEL.sub(r'<input \1 aria-controls="\3">\2<label class="sd-tab-label"', text)


REPEATED_IDS = ("exercise-content", "solution-content")


def unique_exercise_ids(text: str) -> str:
    """sphinx-exercise gives every exercise and solution body the same id; number the repeats
    (``exercise-content-2``, ...). Nothing links to these ids."""
    for name in REPEATED_IDS:
        count = 0

        def number(match: re.Match[str]) -> str:
            nonlocal count
            count += 1
            return match.group(0) if count == 1 else f'{match.group(1)}{name}-{count}"'

        text = re.sub(rf'(<section id="){re.escape(name)}"', number, text)
    return text


SCOPED_STYLE = re.compile(r"[ \t]*<style scoped>(.*?)</style>\n?", re.S)


def hoist_scoped_styles(text: str) -> str:
    """pandas writes ``<style scoped>`` before each table. ``scoped`` is not HTML and browsers apply
    the rules to the whole page, so the same rules, once each, in ``<head>`` render identically."""
    blocks: list[str] = []
    for block in SCOPED_STYLE.findall(text):
        if block not in blocks:
            blocks.append(block)
    if not blocks or "</head>" not in text:
        return text
    text = SCOPED_STYLE.sub("", text)
    styles = "".join(f'<style class="course-hoisted">{block}</style>\n' for block in blocks)
    return text.replace("</head>", styles + "</head>", 1)


def no_halign(text: str) -> str:
    """pandas' MultiIndex headers carry ``halign``, not an HTML attribute (its CSS aligns them)."""
    return re.sub(r'(<th\b[^>]*?)\s+halign="[^"]*"', r"\1", text)


EMPTY_TH = re.compile(r"<th\b([^>]*)>(\s*)</th>")


def empty_header_cells_are_data_cells(text: str) -> str:
    """An empty header cell (pandas' corner cell, a markdown table's blank heading) heads nothing:
    screen readers announce it as a nameless header. Make it a plain cell."""
    return EMPTY_TH.sub(r"<td\1>\2</td>", text)


INLINE_PRE = re.compile(r"<pre style=(['\"])display: ?inline;?\1>(.*?)</pre>", re.S)


def otter_inline_pre(text: str) -> str:
    """otter-grader prints ``<p><strong><pre style='display: inline;'>q1</pre></strong> passed!``;
    a ``<pre>`` cannot sit in a paragraph, so the parser splits the line. ``<code>`` is inline."""
    return INLINE_PRE.sub(r"<code>\2</code>", text)


HREF = re.compile(r'(\bhref=")([^"]*)(")')
URL_UNSAFE = {"&lt;": "%3C", "&gt;": "%3E", "<": "%3C", ">": "%3E", " ": "%20"}
URL_UNSAFE_RE = re.compile("|".join(map(re.escape, URL_UNSAFE)))


def url_safe_hrefs(text: str) -> str:
    """Some DOIs hold ``<`` and ``>`` (old AMS journals: ``078<0001:VOFEIT>2.0.CO;2``), which a URL
    may not: percent-encode them in links (doi.org resolves the encoded form); the text keeps them."""
    return HREF.sub(lambda m: m[1] + URL_UNSAFE_RE.sub(lambda c: URL_UNSAFE[c[0]], m[2]) + m[3], text)


FIXES: tuple[Callable[[str], str], ...] = (
    summary_phrasing_content,
    name_navigation_toggles,
    search_field_named_by_its_text,
    theme_switch_icons_untitled,
    sidebar_landmark,
    tab_controls_on_input,
    unique_exercise_ids,
    hoist_scoped_styles,
    no_halign,
    empty_header_cells_are_data_cells,
    otter_inline_pre,
    url_safe_hrefs,
)


def fix_page(text: str) -> str:
    for fix in FIXES:
        text = fix(text)
    return text


# --- the build -------------------------------------------------------------------------------------

def fix_site(outdir: Path, title: str, lang: str = "en") -> list[Path]:
    """Repair every page under ``outdir`` (not ``_static``); return the pages that changed."""
    changed = []
    for page in sorted(outdir.rglob("*.html")):
        if page.relative_to(outdir).parts[0] in {"_static", "_sources", "_images"}:
            continue
        text = page.read_text(encoding="utf-8")
        fixed = fix_redirect_stub(text, title, lang) if page == outdir / "index.html" else text
        fixed = fix_page(fixed)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")
            changed.append(page)
    return changed


def _build_finished(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    title = app.config.html_title or app.config.project
    fix_site(Path(app.outdir), title, app.config.language or "en")


def register(app: Sphinx) -> None:
    # After sphinx-external-toc writes the root redirect (build-finished, default priority 500).
    app.connect("build-finished", _build_finished, priority=900)


def setup(app: Sphinx) -> dict[str, Any]:
    register(app)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
