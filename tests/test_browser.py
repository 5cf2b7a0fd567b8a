"""The built site in a real browser (Debian's Chromium driven by Playwright), with every request to
another host blocked and recorded: pages render, math is typeset, plotly figures are interactive."""
from __future__ import annotations

import functools
import json
import http.server
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SITE
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from live import QuietHandler  # the quiet static server of `make live`

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def base_url(site: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Network:
    """The requests a page has in flight, for :func:`settle`."""

    def __init__(self, page: Page) -> None:
        self.inflight: set = set()
        self.changed = time.monotonic()
        page.on("request", self._start)
        page.on("requestfinished", self._end)
        page.on("requestfailed", self._end)
        page._course_network = self  # noqa: SLF001 - found again by settle()

    def _start(self, request) -> None:  # noqa: ANN001 - playwright types
        self.inflight.add(request)
        self.changed = time.monotonic()

    def _end(self, request) -> None:  # noqa: ANN001 - playwright types
        self.inflight.discard(request)
        self.changed = time.monotonic()


def settle(page: Page, quiet: float = 0.5, timeout: float = 30.0) -> None:
    """Wait for the load event and then until no request has been in flight for ``quiet`` seconds.

    Playwright's own "networkidle" can be lost for good on a long page whose requests all start and
    finish while it is still being parsed (microsoft/playwright#42598): the lecture pages, since
    their math arrives typeset and their scripts are deferred.
    """
    network = getattr(page, "_course_network", None)
    if network is None:
        raise RuntimeError("settle() needs a page opened with Network(page) before its navigation")
    page.wait_for_load_state("load", timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    while network.inflight or time.monotonic() - network.changed < quiet:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{page.url}: requests still in flight after {timeout:.0f} s: "
                               f"{[r.url for r in network.inflight]}")
        page.wait_for_timeout(100)


def new_page(context: BrowserContext) -> Page:
    page = context.new_page()
    Network(page)
    return page


class Visit:
    """A page load that records blocked requests to other hosts and uncaught page errors."""

    def __init__(self, browser: Browser, base_url: str) -> None:
        self.base_url = base_url
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)

    def _route(self, route, request) -> None:  # noqa: ANN001 - playwright types
        if request.url.startswith(self.base_url) or request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.blocked.append(request.url)
            route.abort()

    def open(self, path: str) -> Page:
        page = new_page(self.context)
        page.on("pageerror", lambda exc: self.errors.append(f"{path}: {exc}"))
        page.on("console", lambda msg: self.errors.append(f"{path}: console {msg.type}: {msg.text}")
                if msg.type == "error" else None)
        page.goto(self.base_url + path, wait_until="load")
        return page


@pytest.fixture()
def visit(browser: Browser, base_url: str) -> Iterator[Visit]:
    v = Visit(browser, base_url)
    yield v
    v.context.close()


@pytest.mark.parametrize("path", ["index.html", "book/agenda.html", "lectures/lecture1.html",
                                  "code/lec2-spiral-classification.html", "search.html?q=gradient",
                                  "homeworks/homework1.html", "code/exercises/exercise1-pretrained.html"])
def test_page_renders_without_other_hosts(visit: Visit, path: str) -> None:
    page = visit.open(path)
    settle(page)
    assert page.locator("h1:visible").count() >= 1, "no visible title"
    assert not visit.blocked, f"requests to other hosts: {visit.blocked}"
    assert not visit.errors, visit.errors


def open_settled(visit: Visit, path: str) -> tuple[Page, list[str]]:
    """Open a page, wait until its requests are done, and return it with every URL it requested."""
    requested: list[str] = []
    visit.context.on("request", lambda request: requested.append(request.url))
    page = visit.open(path)
    settle(page)
    return page, requested


def test_math_is_typeset(visit: Visit) -> None:
    """Math arrives typeset (KaTeX at build time): no math script runs, KaTeX's fonts come from the site."""
    page, requested = open_settled(visit, "lectures/lecture1.html")
    assert page.locator("span.math .katex").count() > 10 and page.locator("div.math .katex-display").count() > 3
    assert page.locator(".katex-error, code.katex-error").count() == 0
    assert not [u for u in requested if "mathjax" in u.lower() or u.endswith("katex.min.js")], requested
    assert page.evaluate("document.fonts.ready.then(() => document.fonts.check('16px KaTeX_Main'))")
    assert any("/_static/vendor/katex/fonts/" in u for u in requested)
    assert not visit.blocked, visit.blocked


def test_icons_come_from_the_cut_down_fonts(visit: Visit) -> None:
    """No fontawesome.js; the icons are drawn with the site's cut-down Font Awesome fonts."""
    page, requested = open_settled(visit, "lectures/lecture1.html")
    assert not [u for u in requested if "fontawesome.js" in u or "/webfonts/fa-" in u], requested
    assert any("/_static/vendor/icons/fa-solid-900.woff" in u for u in requested), requested
    glyph = page.evaluate("""() => {
        const icon = [...document.querySelectorAll('.fa-magnifying-glass')].find(i => i.offsetParent);
        const style = getComputedStyle(icon, '::before');
        return [style.content, style.fontFamily, icon.getBoundingClientRect().width];
    }""")
    assert glyph[0] == '"\uf002"' and "Font Awesome 6 Free" in glyph[1] and glyph[2] > 0, glyph


def test_search_index_loads_when_search_opens(visit: Visit) -> None:
    page, requested = open_settled(visit, "lectures/lecture1.html")
    assert not [u for u in requested if "searchindex.js" in u or "searchtools.js" in u], requested
    page.keyboard.press("Control+k")
    page.wait_for_selector("#pst-search-dialog[open] input[name=q]", timeout=5_000)
    page.wait_for_function("() => typeof Search !== 'undefined'", timeout=10_000)  # a global const
    assert sum("searchindex.js" in u for u in requested) == 1
    page.fill("#pst-search-dialog input[name=q]", "backpropagation")
    page.keyboard.press("Enter")
    page.wait_for_selector("#search-results li", timeout=20_000)
    assert not visit.blocked and not visit.errors, (visit.blocked, visit.errors)


def test_search_finds_a_lecture(visit: Visit) -> None:
    page = visit.open("search.html?q=backpropagation")
    page.wait_for_selector("#search-results li", timeout=20_000)
    assert page.locator("#search-results li").count() >= 1


def test_plotly_loads_once_when_a_figure_comes_near(visit: Visit) -> None:
    page, requested = open_settled(visit, "code/lec2-spiral-classification.html")
    figure = page.locator(".plotly-graph-div").first
    if figure.bounding_box()["y"] > 900 + 600:  # far below the first screen: not loaded yet
        assert not [u for u in requested if "plotly" in u], requested
    for div in page.locator(".plotly-graph-div").all():
        div.scroll_into_view_if_needed()
    page.wait_for_selector(".plotly-graph-div .main-svg", timeout=20_000)
    settle(page)
    assert sum("plotly.min.js" in u for u in requested) == 1, requested
    assert not visit.blocked and not visit.errors, (visit.blocked, visit.errors)


def test_scrolling_blocks_are_tab_stops_for_a_keyboard_reader(browser: Browser, base_url: str) -> None:
    """The theme's tab stops (every code block or output that scrolls is reachable with Tab), set
    lazily (theme_script.py): near the screen at once, everywhere at the reader's first Tab."""
    context = browser.new_context(viewport=PHONE, is_mobile=True)
    context.route("**/*", lambda route, request: route.continue_()
                  if request.url.startswith(base_url) else route.abort())
    try:
        page = new_page(context)
        page.goto(base_url + "code/lec2-spiral-classification.html", wait_until="load")
        # The reader scrolls to the first code block (the page opens on its introduction).
        page.evaluate("document.querySelector('pre').scrollIntoView()")
        settle(page)
        state = """() => [...document.querySelectorAll('pre, .cell_output > .output')].map(e => [
            e.tabIndex, e.hasAttribute('tabindex'), e.scrollWidth > e.clientWidth || e.scrollHeight > e.clientHeight,
            e.getBoundingClientRect().top < innerHeight && e.getBoundingClientRect().bottom > 0])"""
        before = page.evaluate(state)
        assert len(before) > 10
        near = [b for b in before if b[3]]
        assert near and all(b[1] and b[0] == (0 if b[2] else -1) for b in near), near
        assert not all(b[1] for b in before), "every block was measured on load: not lazy"
        page.keyboard.press("Tab")
        after = page.evaluate(state)
        assert all(a[1] and a[0] == (0 if a[2] else -1) for a in after), after
        assert any(a[2] for a in after), "no block scrolls at 390 px: the check checked nothing"
    finally:
        context.close()


def test_plotly_figure_is_interactive(visit: Visit) -> None:
    page = visit.open("code/lec2-spiral-classification.html")
    # plotly.js loads when a figure comes near the screen, as when a reader scrolls to it.
    page.locator(".plotly-graph-div").first.scroll_into_view_if_needed()
    page.wait_for_selector(".plotly-graph-div .main-svg", timeout=20_000)
    traces = page.evaluate("document.querySelector('.plotly-graph-div')._fullData.length")
    assert traces >= 1
    # Move the mouse over the middle of the plotting area, as a reader would, and read the tooltip.
    area = page.locator(".plotly-graph-div .nsewdrag").first
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector(".plotly-graph-div .hoverlayer .hovertext", timeout=5_000)
    assert page.locator(".plotly-graph-div .hoverlayer .hovertext").first.text_content().strip()
    assert not visit.blocked, visit.blocked


def test_agenda_marks_past_sessions(visit: Visit) -> None:
    page = visit.open("book/agenda.html")
    rows = page.locator("table.agenda-table tbody tr")
    assert rows.count() == 20
    # The site is built as of today or COURSE_TODAY; every row is past, today or upcoming, and past
    # rows are drawn dimmer than upcoming ones.
    opacities = page.evaluate("""() => [...document.querySelectorAll('table.agenda-table tbody tr')]
        .map(r => [r.className, getComputedStyle(r).opacity])""")
    for classes, opacity in opacities:
        assert ("agenda-past" in classes) == (float(opacity) < 1), (classes, opacity)


SCREENSHOTS = [("home", "index.html"), ("lecture", "lectures/lecture2.html"),
               ("notebook", "code/lec2-spiral-classification.html")]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_light_and_dark(browser: Browser, base_url: str, site: Path, scheme: str) -> None:
    """Writes _build/screenshots/<page>-<scheme>.png for a person to look at, and checks that the
    theme really switched (the page background follows the mode)."""
    out = site.parent / "screenshots"
    out.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    context.add_init_script(f"localStorage.setItem('mode', '{scheme}'); localStorage.setItem('theme', '{scheme}');")
    context.route("**/*", lambda route, request: route.continue_()
                  if request.url.startswith(base_url) else route.abort())
    try:
        for name, path in SCREENSHOTS:
            page = new_page(context)
            page.goto(base_url + path, wait_until="load")
            settle(page)
            page.wait_for_timeout(500)
            assert page.evaluate("document.documentElement.dataset.theme") == scheme
            background = page.evaluate("getComputedStyle(document.body).backgroundColor")
            channels = [float(c) for c in re.findall(r"[\d.]+", background)[:3]]
            assert (sum(channels) / 3 > 128) == (scheme == "light"), (path, scheme, background)
            if name == "notebook":  # scroll to the first figure: the point is to see one in each mode
                page.locator(".cell_output img, .plotly-graph-div").first.scroll_into_view_if_needed()
                page.wait_for_timeout(300)
            page.screenshot(path=str(out / f"{name}-{scheme}.png"))
            page.close()
    finally:
        context.close()


def _settle(page, finished: list, path: str, quiet_ms: int = 700, limit_ms: int = 30000) -> None:
    """Wait until the requests started by scrolling have finished: no request finishes for ``quiet_ms``.
    (Playwright's "networkidle" is a state of the first load; waiting for it again after a scroll
    timed out once in CI though nothing was loading.)"""
    waited, seen = 0, -1
    while seen != len(finished):
        seen = len(finished)
        page.wait_for_timeout(quiet_ms)
        waited += quiet_ms
        assert waited < limit_ms, f"{path}: requests still finishing after {limit_ms / 1000:.0f} s of scrolling"


def _weigh(browser: Browser, base_url: str, path: str) -> tuple[int, int]:
    """(bytes transferred, requests) for a cold load of one page, including what it loads lazily
    while the reader scrolls to the end."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    finished: list = []
    page = new_page(context)
    page.on("requestfinished", lambda request: finished.append(request))
    page.goto(base_url + path, wait_until="load")
    settle(page)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    _settle(page, finished, path)
    total = sum(r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"] for r in finished)
    context.close()
    return total, len(finished)


def test_page_weight(browser: Browser, base_url: str, site: Path) -> None:
    """Home and the heaviest lecture page stay light: plotly.js once, no inlined libraries. Sizes are
    uncompressed (the test server does not gzip; GitHub Pages does, and tools/lighthouse.py
    measures the compressed first load)."""
    weights = {"index.html": _weigh(browser, base_url, "index.html")}
    for lecture in sorted((site / "lectures").glob("lecture*.html")):
        path = lecture.relative_to(site).as_posix()
        weights[path] = _weigh(browser, base_url, path)
    heaviest = max((p for p in weights if p != "index.html"), key=lambda p: weights[p][0])
    report = {p: {"bytes": b, "requests": n} for p, (b, n) in weights.items()}
    (site.parent / "page-weight.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nhome: {weights['index.html'][0] / 1e6:.2f} MB in {weights['index.html'][1]} requests; "
          f"heaviest lecture {heaviest}: {weights[heaviest][0] / 1e6:.2f} MB in {weights[heaviest][1]} requests")
    assert weights["index.html"][0] < 5e6 and weights["index.html"][1] < 60
    assert weights[heaviest][0] < 12e6, report


# --------------------------------------------------------------------------- phones

PHONE = {"width": 390, "height": 844}


def _all_pages(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if p.relative_to(site).parts[0] not in {"_static", "_sources", "_images"}
                  and p.relative_to(site).as_posix() != "index.html")  # the redirect stub


def test_no_page_scrolls_sideways_on_a_phone(browser: Browser, base_url: str, site: Path) -> None:
    """At 390 px wide no page is wider than the screen, and the agenda's rows fit without scrolling.

    Sections off the screen are not laid out (``content-visibility: auto``) and clip what overflows
    them: the check lays every section out, unclipped, so that a too-wide element cannot hide."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=3, is_mobile=True, has_touch=True)
    context.route("**/*", lambda route, request: route.continue_()
                  if request.url.startswith(base_url) else route.abort())
    wide = []
    try:
        page = context.new_page()
        for path in _all_pages(site):
            page.goto(base_url + path, wait_until="load")
            page.add_style_tag(content="* { content-visibility: visible !important; contain: none !important; }")
            page.evaluate("document.fonts.ready.then(() => 0)")
            width = page.evaluate("""() => {
                const root = document.documentElement;
                const culprits = [...document.querySelectorAll('body *')].filter(e => {
                    const r = e.getBoundingClientRect();
                    return r.width > 0 && r.right > root.clientWidth + 1 && !e.closest('[hidden], dialog');
                }).filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > root.clientWidth + 1))
                  .slice(0, 3).map(e => e.tagName.toLowerCase() + '.' + [...e.classList].join('.'));
                return [root.scrollWidth, root.clientWidth, culprits];
            }""")
            if width[0] > width[1]:
                wide.append(f"{path}: {width[0]} px wide on a {width[1]} px screen; widest: {width[2]}")
        page.goto(base_url + "book/agenda.html", wait_until="load")
        agenda = page.evaluate("""() => {
            const table = document.querySelector('table.agenda-table');
            const box = table.closest('.pst-scrollable-table-container') || table.parentElement;
            const rows = [...table.querySelectorAll('tbody tr')];
            return {box: [box.scrollWidth, box.clientWidth], rows: rows.length,
                    fitting: rows.filter(r => r.getBoundingClientRect().right <= box.getBoundingClientRect().right + 1).length,
                    stacked: getComputedStyle(rows[0]).display};
        }""")
    finally:
        context.close()
    assert not wide, "pages that scroll sideways at 390 px:\n" + "\n".join(wide)
    assert agenda["box"][0] <= agenda["box"][1], f"the agenda scrolls inside its box: {agenda}"
    assert agenda["rows"] == agenda["fitting"] == 20 and agenda["stacked"] == "block", agenda
