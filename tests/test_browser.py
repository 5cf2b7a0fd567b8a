"""The built site in a real browser (Debian's Chromium driven by Playwright), with every request to
another host blocked and recorded: pages render, math is typeset, plotly figures are interactive."""
from __future__ import annotations

import functools
import json
import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import SITE
from playwright.sync_api import Browser, Page, sync_playwright

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
        page = self.context.new_page()
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
    page.wait_for_load_state("networkidle")
    assert page.locator("h1:visible").count() >= 1, "no visible title"
    assert not visit.blocked, f"requests to other hosts: {visit.blocked}"
    assert not visit.errors, visit.errors


def test_math_is_typeset(visit: Visit) -> None:
    page = visit.open("lectures/lecture1.html")
    page.wait_for_selector("mjx-container", timeout=20_000)
    assert page.locator("mjx-container").count() > 10
    assert not visit.blocked, visit.blocked


def test_search_finds_a_lecture(visit: Visit) -> None:
    page = visit.open("search.html?q=backpropagation")
    page.wait_for_selector("#search-results li", timeout=20_000)
    assert page.locator("#search-results li").count() >= 1


def test_plotly_figure_is_interactive(visit: Visit) -> None:
    page = visit.open("code/lec2-spiral-classification.html")
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
            page = context.new_page()
            page.goto(base_url + path, wait_until="networkidle")
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
    page = context.new_page()
    page.on("requestfinished", lambda request: finished.append(request))
    page.goto(base_url + path, wait_until="networkidle")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    _settle(page, finished, path)
    total = sum(r.sizes()["responseBodySize"] + r.sizes()["responseHeadersSize"] for r in finished)
    context.close()
    return total, len(finished)


def test_page_weight(browser: Browser, base_url: str, site: Path) -> None:
    """Home and the heaviest lecture page stay light: plotly.js once, no inlined libraries. Sizes are
    uncompressed (the test server does not gzip; GitHub Pages does). The theme's fontawesome.js
    (1.5 MB) and MathJax (1.2 MB) are most of a page's weight."""
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
