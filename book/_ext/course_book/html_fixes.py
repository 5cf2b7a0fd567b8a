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

And repairs for speed on a phone (``tests/test_lighthouse.py``):

- pydata-sphinx-theme loads Font Awesome's 1.5 MB ``fontawesome.js``, which redraws every ``<i>`` icon
  as an SVG. The theme's stylesheet already draws the same icons with Font Awesome's fonts, which
  :mod:`.vendor_assets` cuts down to the icons the site shows: the script goes, and the icons, which
  are decorative (their buttons and links carry the names), are hidden from screen readers as the
  script hid its SVGs.
- Sphinx's search tools and the whole search index (``searchtools.js``, ``language_data.js``,
  ``searchindex.js``) load, render-blocking, on every page, for the theme's search-as-you-type, which
  the course leaves off. Outside the search page they now load when the reader opens search.
- The theme's first stylesheet, ``styles/theme.css``, only imports Sphinx's ``basic.css``, which the
  browser then finds one round trip later: pages link ``basic.css`` directly.
- Small scripts that wait for the document anyway (Sphinx's, the theme's, copy button, toggle
  button, tabs) are deferred, so they no longer block the first paint.
- Content images carry their width and height (the page does not jump when they arrive), and those
  below the first screen load lazily.
"""
from __future__ import annotations

import base64
import html
import io
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

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
# --- speed ----------------------------------------------------------------------------------------

FONTAWESOME_JS = re.compile(r'[ \t]*<script\b[^>]*\ssrc="[^"]*/scripts/fontawesome\.js(?:\?[^"]*)?"[^>]*>'
                            r'</script>\n?')


def no_fontawesome_script(text: str) -> str:
    """Drop the theme's ``fontawesome.js`` (1.5 MB): its stylesheet draws the icons with fonts."""
    return FONTAWESOME_JS.sub("", text)


ICON = re.compile(r'<i class="(?:[^"]*\s)?(?:fa[srb]?|fa-[a-z0-9-]+)(?:\s[^"]*)?"[^>]*>')


def icons_hidden_from_screen_readers(text: str) -> str:
    """A font icon's glyph would be read out as an odd character: hide the (decorative) icons, as
    Font Awesome's script did with the SVGs it drew."""
    return ICON.sub(lambda m: m.group(0) if "aria-hidden" in m.group(0)
                    else m.group(0)[:-1] + ' aria-hidden="true">', text)


# Scripts that run their work once the document is parsed anyway; ``defer`` keeps their order.
# documentation_options.js stays as it is: inline scripts after it extend DOCUMENTATION_OPTIONS.
DEFERRABLE = ("doctools.js", "sphinx_highlight.js", "clipboard.min.js", "copybutton.js",
              "sphinx-book-theme.js", "togglebutton.js", "design-tabs.js")
SCRIPT_TAG = re.compile(r'<script\b([^>]*)\ssrc="([^"]+)"([^>]*)></script>')


def defer_scripts(text: str) -> str:
    """Add ``defer`` to the scripts of :data:`DEFERRABLE` that are neither deferred nor async; not on
    the search page, whose search tools run at once and need doctools.js before them."""
    if 'id="search-results"' in text:
        return text
    def repair(match: re.Match[str]) -> str:
        before, src, after = match.groups()
        name = urlsplit(src).path.rsplit("/", 1)[-1]
        if name not in DEFERRABLE or re.search(r"\s(defer|async)\b", before + " " + after):
            return match.group(0)
        return f'<script{before} defer src="{src}"{after}></script>'
    return SCRIPT_TAG.sub(repair, text)


SEARCH_TOOLS = re.compile(r'[ \t]*<script src="([^"]*_static/searchtools\.js)"></script>\s*'
                          r'<script src="([^"]*_static/language_data\.js)"></script>\s*'
                          r'<script src="([^"]*searchindex\.js)"></script>\n?')
SEARCH_LOADER_MARK = "course_book: search tools load when search opens"
SEARCH_LOADER = """<script>/* %s */
(function () {
  var sources = %s, loaded = false;
  function load() {
    if (loaded) return;
    loaded = true;
    // searchtools.js fills every search field from the address when it starts: keep what the
    // reader has typed meanwhile.
    var fields = Array.prototype.slice.call(document.querySelectorAll('input[name="q"]'));
    var typed = fields.map(function (field) { return field.value; });
    sources.forEach(function (src, i) {
      var script = document.createElement("script");
      script.src = src;
      script.async = false;
      if (i === 0) script.onload = function () {
        fields.forEach(function (field, j) { if (typed[j]) field.value = typed[j]; });
      };
      document.head.appendChild(script);
    });
  }
  var opens = "#pst-search-dialog, .search-button__button, .bd-search, input[name='q']";
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest(opens)) load();
  }, true);
  document.addEventListener("focusin", function (event) {
    if (event.target.closest && event.target.closest(opens)) load();
  });
  document.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && (event.key || "").toLowerCase() === "k") load();
  });
})();
</script>
"""


def search_tools_on_demand(text: str) -> str:
    """Outside the search page, load Sphinx's search tools and index when the reader opens search
    (the search page, which shows the results, keeps them as they are)."""
    match = SEARCH_TOOLS.search(text)
    if not match or SEARCH_LOADER_MARK in text or "</body>" not in text or 'id="search-results"' in text:
        return text
    loader = SEARCH_LOADER % (SEARCH_LOADER_MARK, json.dumps(list(match.groups())))
    text = text[:match.start()] + text[match.end():]
    head, tail = text.rsplit("</body>", 1)
    return head + loader + "</body>" + tail


ARTICLE = re.compile(r'<article class="bd-article"[^>]*>.*?</article>', re.S)
IMG = re.compile(r"<img\b[^>]*>")
TAG = re.compile(r"<[^>]+>")
# Text read before an image, beyond which it is taken to be below the first screen of a phone
# (about a dozen lines at 390 px after the title). Images before it load at once: one of them may
# be the largest paint, which must not wait.
FOLD_CHARS = 600


def _attribute(tag: str, name: str) -> str | None:
    match = re.search(rf'\s{name}="([^"]*)"', tag)
    return html.unescape(match.group(1)) if match else None


def lazy_images(text: str, size_of: Callable[[str], tuple[int, int] | None] | None = None) -> str:
    """Content images get their ``width`` and ``height`` (from ``size_of(src)``, when it knows them and
    neither is set already, as attribute or style), and ``loading="lazy"`` below the first screen."""
    article = ARTICLE.search(text)
    if not article:
        return text
    body = article.group(0)
    pieces, last = [], 0
    for match in IMG.finditer(body):
        tag = match.group(0)
        before = " ".join(html.unescape(TAG.sub(" ", body[:match.start()])).split())
        new = tag
        style = _attribute(tag, "style") or ""
        sized = any(_attribute(tag, a) is not None for a in ("width", "height")) or re.search(
            r"(^|;)\s*(width|height)\s*:", style)
        src = _attribute(tag, "src")
        if not sized and src and size_of is not None:
            size = size_of(src)
            if size:
                new = new[:-1].rstrip("/").rstrip() + f' width="{size[0]}" height="{size[1]}"' + ">"
        if len(before) > FOLD_CHARS and _attribute(tag, "loading") is None:
            new = new[:-1].rstrip("/").rstrip() + ' loading="lazy">'
        pieces.append(body[last:match.start()] + new)
        last = match.end()
    pieces.append(body[last:])
    return text[:article.start()] + "".join(pieces) + text[article.end():]


def image_size(page: Path, src: str) -> tuple[int, int] | None:
    """The pixel size of the image ``src`` (relative to ``page``, or a data URI): PNG, JPEG, GIF,
    WebP through Pillow, SVG from its width and height (px or pt) or viewBox. None when unknown."""
    try:
        if src.startswith("data:"):
            header, _, payload = src.partition(",")
            data = base64.b64decode(payload) if header.endswith(";base64") else unquote(payload).encode()
        else:
            parts = urlsplit(src)
            if parts.scheme or parts.netloc:
                return None
            data = Path(os.path.normpath(page.parent / unquote(parts.path))).read_bytes()
    except (OSError, ValueError):
        return None
    if data.lstrip()[:5] in (b"<?xml", b"<svg ") or b"<svg" in data[:500]:
        return _svg_size(data)
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:  # noqa: BLE001 - not an image Pillow reads: leave the tag as it is
        return None


def _svg_size(data: bytes) -> tuple[int, int] | None:
    root = re.search(rb"<svg\b[^>]*>", data)
    if not root:
        return None
    tag = root.group(0).decode("utf-8", "replace")
    units = {"": 1.0, "px": 1.0, "pt": 4 / 3}

    def length(name: str) -> float | None:
        match = re.search(rf'\s{name}="([\d.]+)(px|pt)?"', tag)
        return float(match.group(1)) * units[match.group(2) or ""] if match else None

    width, height = length("width"), length("height")
    if width is None or height is None:
        box = re.search(r'\sviewBox="[\d.-]+[ ,]+[\d.-]+[ ,]+([\d.]+)[ ,]+([\d.]+)"', tag)
        if not box:
            return None
        width, height = float(box.group(1)), float(box.group(2))
    return (round(width), round(height)) if width and height else None


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
    no_fontawesome_script,
    icons_hidden_from_screen_readers,
    defer_scripts,
    search_tools_on_demand,
)


THEME_CSS_LINK = re.compile(r'<link href="([^"]*?)_static/styles/theme\.css(?:\?[^"]*)?" rel="stylesheet" ?/?>')
ONLY_BASIC_IMPORT = re.compile(r'\s*(?:/\*.*?\*/\s*)*@import\s+(?:url\()?(["\'])\.\./basic\.css\1\)?\s*;\s*', re.S)


def theme_css_only_imports_basic(css: str) -> bool:
    return ONLY_BASIC_IMPORT.fullmatch(css) is not None


def direct_basic_css(text: str) -> str:
    """pydata-sphinx-theme's ``styles/theme.css`` does nothing but ``@import "../basic.css"``: link
    Sphinx's basic.css itself, in the same place, which saves a round trip before the first paint."""
    return THEME_CSS_LINK.sub(r'<link href="\1_static/basic.css" rel="stylesheet" />', text)


def fix_page(text: str, size_of: Callable[[str], tuple[int, int] | None] | None = None) -> str:
    """Every fix; ``size_of(src)`` gives image sizes (without it, images get no width and height)."""
    for fix in FIXES:
        text = fix(text)
    return lazy_images(text, size_of)


# --- the build -------------------------------------------------------------------------------------

def fix_site(outdir: Path, title: str, lang: str = "en") -> list[Path]:
    """Repair every page under ``outdir`` (not ``_static``); return the pages that changed."""
    changed = []
    theme_css = outdir / "_static" / "styles" / "theme.css"
    flatten = theme_css.is_file() and theme_css_only_imports_basic(theme_css.read_text(encoding="utf-8"))
    for page in sorted(outdir.rglob("*.html")):
        if page.relative_to(outdir).parts[0] in {"_static", "_sources", "_images"}:
            continue
        text = page.read_text(encoding="utf-8")
        fixed = fix_redirect_stub(text, title, lang) if page == outdir / "index.html" else text
        fixed = fix_page(fixed, lambda src, page=page: image_size(page, src))
        if flatten:
            fixed = direct_basic_css(fixed)
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
