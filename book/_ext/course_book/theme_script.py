"""pydata-sphinx-theme's script without its page-wide layout work when a page loads.

When a page has loaded, the theme's ``addTabStopsToScrollableElements`` visits every code block,
cell output and table of the page and makes it a tab stop if it scrolls (``tabIndex`` 0, else -1),
reading each element's scroll size right after writing the previous one's tab index. Each read then
lays the whole page out again: on a lecture page (about 25 000 elements, most of them typeset
math) that is seconds of blocked main thread on a phone, and it defeats ``content-visibility: auto``,
which lets the browser skip the sections off the screen (``static/course.css``).

The copied theme script is rewritten at the end of the build so that the same tab stops are set:

- for the blocks near the screen (and display formulas, which scroll when wider than the text), as they come near it (an ``IntersectionObserver``), all reads
  before all writes;
- for every block at once when the reader first presses Tab, before the focus moves, so a keyboard
  reader finds every scrolling block in the tab order as before; from then on, as the theme did.

The rewrite fails loudly (a build warning, an error under ``-W``) when the theme's code is not what
it expects, e.g. after a theme upgrade: then see whether the theme still needs it.
"""
from __future__ import annotations

import re
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

THEME_SCRIPT = Path("_static") / "scripts" / "pydata-sphinx-theme.js"
MARK = "course_book: lazy tab stops"
# The theme's (minified) updateTabStops: `() => {querySelectorAll(SELECTOR).forEach(set the tab stop)}`.
UPDATE_TAB_STOPS = re.compile(
    r'\(\)=>\{document\.querySelectorAll\((\[[^\]]*\]\.join\("[^"]*"\))\)\.forEach\(\s*'
    r'(\w+)=>\{\2\.tabIndex=\2\.scrollWidth>\2\.clientWidth\|\|\2\.scrollHeight>\2\.clientHeight\?0:-1\}\)\}')
LAZY_TAB_STOPS = """(() => {
  /* %(mark)s (book/_ext/course_book/theme_script.py) */
  /* and display math, which scrolls sideways when a formula is wider than the text (course.css) */
  const selector = %(selector)s + ", div.math";
  const update = (elements) => {
    const stops = elements.map((e) => e.scrollWidth > e.clientWidth || e.scrollHeight > e.clientHeight ? 0 : -1);
    elements.forEach((e, i) => { e.tabIndex = stops[i]; });
  };
  const all = () => update(Array.from(document.querySelectorAll(selector)));
  let keyboard = false;
  const observer = "IntersectionObserver" in window ? new IntersectionObserver(
    (entries) => update(entries.filter((entry) => entry.isIntersecting).map((entry) => entry.target)),
    {rootMargin: "100%% 0px"}) : null;
  document.addEventListener("keydown", (event) => {
    if (event.key === "Tab" && !keyboard) { keyboard = true; all(); }
  }, true);
  return () => {
    if (keyboard || !observer) return all();
    document.querySelectorAll(selector).forEach((e) => { observer.unobserve(e); observer.observe(e); });
  };
})()"""
SOURCE_MAP = re.compile(r"\n?//# sourceMappingURL=\S+\s*$")


class UnknownThemeScript(ValueError):
    pass


def lazy_tab_stops(script: str) -> str:
    """The theme script with lazy tab stops (see the module docstring); unchanged if already done.
    Raises :class:`UnknownThemeScript` when the theme's tab-stop code is not found exactly once."""
    if MARK in script:
        return script
    found = UPDATE_TAB_STOPS.findall(script)
    if len(found) != 1:
        raise UnknownThemeScript(f"expected the theme's tab-stop update once, found it {len(found)} times")
    script = UPDATE_TAB_STOPS.sub(lambda m: LAZY_TAB_STOPS % {"mark": MARK, "selector": m.group(1)}, script)
    # The theme's source map describes the original file.
    return SOURCE_MAP.sub("\n", script)


def patch_theme_script(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html" or not app.config.course_lazy_tab_stops:
        return
    path = Path(app.outdir) / THEME_SCRIPT
    if not path.is_file():
        return  # another theme
    text = path.read_text(encoding="utf-8")
    try:
        patched = lazy_tab_stops(text)
    except UnknownThemeScript as error:
        logger.warning("%s: %s; the theme changed (see book/_ext/course_book/theme_script.py, or set "
                       "course_lazy_tab_stops = False)", THEME_SCRIPT.as_posix(), error,
                       type="course", subtype="theme_script")
        return
    if patched != text:
        path.write_text(patched, encoding="utf-8")


def setup(app: Sphinx) -> None:
    app.add_config_value("course_lazy_tab_stops", True, "html", [bool])
    app.connect("build-finished", patch_theme_script)
