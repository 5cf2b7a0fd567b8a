"""Accessibility of every built page, checked by axe-core (npm ``axe-core``, pinned in package.json)
in Debian's Chromium, in light and in dark mode.

A violation of impact serious or critical fails the test with the page, the rule, the elements and
axe's advice. Moderate and minor violations are listed and counted; their totals may not rise above
``tests/a11y_baseline.json`` (lower the numbers there when they fall). Faults in the theme's and the
extensions' markup are repaired in the build (``book/_ext/course_book/html_fixes.py``, ``course.css``),
not excused here.

The pages are served from 127.0.0.1 and every request to another host is blocked, as in
test_browser.py. One browser and one context audit the whole site once (a module-scoped fixture that
the tests below read), with two tabs taking pages in turn. Each page is loaded once and axe runs every
rule on it in light mode. On the pages of DARK_PAGES, which together hold every kind of content the
site has, the system colour scheme then turns dark, the theme follows it (its "auto" mode, the
default) and axe runs the colour rules again: axe takes seconds on a long page, and the other pages
are drawn with the same styles.
"""
from __future__ import annotations

import asyncio
import functools
import http.server
import json
import os
import re
import threading
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import ROOT
from playwright.async_api import Page, Request, Route, async_playwright
from test_browser import CHROMIUM, CHROMIUM_ARGS, QuietHandler

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
BASELINE = Path(__file__).with_name("a11y_baseline.json")
BLOCKING = ("critical", "serious")
COUNTED = ("moderate", "minor")
TABS = max(1, min(2, os.cpu_count() or 1))
LIGHT = {"resultTypes": ["violations"], "elementRef": True}
# In dark mode only the rules that read colours run again (the others see the same markup), on pages
# that between them show every component: the home page's "next up" box, the agenda table and its
# deadline rows, deadline boxes, sphinx-design tabs, a lecture (math, figures, exercises and
# solutions), a plotly figure, pandas tables, a student exercise with collapsed cells, a solution
# with otter-grader's results, a tutorial and the search page.
DARK_PAGES = ("book/intro.html", "book/agenda.html", "book/syllabus.html", "book/setup.html",
              "lectures/lecture1.html", "code/lec2-spiral-classification.html",
              "code/lec4-training.html", "code/exercises/exercise1-pretrained.html",
              "code/exercises/solutions/exercise3-analysis.html",
              "code/tutorials/tutorial1-datasets.html", "search.html")
DARK = {"resultTypes": ["violations"], "elementRef": True,
        "runOnly": {"type": "rule", "values": ["color-contrast", "link-in-text-block"]}}

# The page as a reader sees it: the web fonts have loaded (axe compares each text's colour with what
# is drawn behind it). Math arrives typeset (KaTeX at build time): there is nothing to wait for.
# Two things a reader's visit does before axe can judge the whole page at once: sections off the screen
# are rendered (course.css gives them content-visibility: auto, and axe cannot tell the colours of text
# the browser has not rendered yet), and the first Tab key press sets the tab stops of every scrolling
# block (theme_script.py sets them lazily, before the focus moves).
SETTLE = """async () => {
    await document.fonts.ready;
    const style = document.createElement("style");
    style.textContent = ".bd-article > section > section { content-visibility: visible !important; }";
    document.head.appendChild(style);
    // The sections just rendered may need fonts (KaTeX's) that nothing on the first screen used.
    await new Promise(resolve => requestAnimationFrame(() => resolve()));
    await document.fonts.ready;
    document.dispatchEvent(new KeyboardEvent("keydown", {key: "Tab", bubbles: true}));
    return document.documentElement.dataset.theme || "";
}"""
# After the colour scheme changes: wait for the theme to switch and its colour transitions to end.
SWITCHED = """async (wanted) => {
    const root = document.documentElement;
    for (let i = 0; i < 100 && root.dataset.mode && root.dataset.theme !== wanted; i++)
        await new Promise(resolve => setTimeout(resolve, 20));
    await new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    const ending = document.getAnimations()
        .filter(a => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
        .map(a => a.finished.catch(() => null));
    await Promise.race([Promise.all(ending), new Promise(resolve => setTimeout(resolve, 1000))]);
    return root.dataset.theme || "";
}"""
# axe's empty-table-header rule looks for visible text that is not hidden from screen readers. A header
# cell holding only typeset math (e.g. "x_1" above a truth table) has KaTeX's drawing, hidden from
# screen readers, and its MathML, which screen readers read but which is visually hidden: it counts
# as empty although everyone gets the formula. A false positive, dropped for exactly those cells.
RUN_AXE = """async (options) => {
    const mathOnly = (rule, node) => rule === "empty-table-header" && node.element
        && [...node.element.querySelectorAll(".katex-mathml")].some(m => m.textContent.trim());
    const result = await axe.run(document, options);
    return result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.filter(n => !mathOnly(v.id, n))
            .map(n => ({target: n.target.join(" "), impact: n.impact || v.impact}))
    })).filter(v => v.nodes.length);
}"""


def site_pages(site: Path) -> list[str]:
    """Every HTML page of the site: the root redirect, the index and the search page included."""
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if p.relative_to(site).parts[0] not in {"_static", "_sources", "_images"})


@dataclass
class Finding:
    mode: str
    page: str
    rule: str
    impact: str
    help: str
    targets: list[str] = field(default_factory=list)

    def line(self, limit: int = 6) -> str:
        shown = ", ".join(self.targets[:limit])
        if len(self.targets) > limit:
            shown += f", ... ({len(self.targets)} elements)"
        return f"{self.page} [{self.mode}]: {self.rule} ({self.impact}) at {shown}: {self.help}"


@dataclass
class Audit:
    pages: list[str]
    findings: list[Finding] = field(default_factory=list)
    themes: dict[str, set[str]] = field(default_factory=lambda: {"light": set(), "dark": set()})
    blocked: list[str] = field(default_factory=list)


def redirect_stub(site: Path) -> str:
    """The root redirect as written minus its zero-second refresh: otherwise the browser has left
    it for the page it points to before axe runs."""
    text = (site / "index.html").read_text(encoding="utf-8")
    return re.sub(r'<meta http-equiv="refresh"[^>]*>', "", text, flags=re.I)


async def audit_page(page: Page, url: str, path: str, audit: Audit) -> None:
    await page.emulate_media(color_scheme="light")
    await page.goto(url, wait_until="load")
    audit.themes["light"].add(await page.evaluate(SETTLE) or "(none)")
    await page.add_script_tag(path=str(AXE))
    for mode, options in (("light", LIGHT), ("dark", DARK)):
        if mode == "dark":
            if path not in DARK_PAGES:
                break
            await page.emulate_media(color_scheme="dark")
            audit.themes["dark"].add(await page.evaluate(SWITCHED, "dark") or "(none)")
        for v in await page.evaluate(RUN_AXE, options):
            audit.findings.append(Finding(mode, path, v["id"], v["impact"], v["help"],
                                          [n["target"] for n in v["nodes"]]))


async def audit_site(site: Path, base_url: str) -> Audit:
    audit = Audit(site_pages(site))
    stub = redirect_stub(site)

    async def route(route: Route, request: Request) -> None:
        if request.url == base_url + "index.html":
            await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=stub)
        elif request.url.startswith(base_url) or request.url.startswith(("data:", "blob:")):
            await route.continue_()
        else:
            audit.blocked.append(request.url)
            await route.abort()

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        await context.route("**/*", route)
        todo = list(audit.pages)

        async def tab() -> None:
            page = await context.new_page()
            while todo:
                path = todo.pop(0)
                await audit_page(page, base_url + path, path, audit)
            await page.close()

        await asyncio.gather(*(tab() for _ in range(TABS)))
        await browser.close()
    return audit


@pytest.fixture(scope="module")
def audit(site: Path) -> Iterator[Audit]:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `npm ci` (make test does)")
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield asyncio.run(audit_site(site, f"http://127.0.0.1:{server.server_port}/"))
    finally:
        server.shutdown()


def element_counts(findings: list[Finding]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for f in findings:
        counts[f.impact] += len(f.targets)
    return counts


def test_every_page_was_audited_in_both_modes(audit: Audit) -> None:
    assert len(audit.pages) >= 30 and {"index.html", "search.html"} <= set(audit.pages)
    missing = sorted(set(DARK_PAGES) - set(audit.pages))
    assert not missing, f"update DARK_PAGES in {Path(__file__).name}: no such pages {missing}"
    # The root redirect has no theme; every other page must have been drawn in the mode asked for,
    # or the dark run would silently test the light colours again.
    assert audit.themes == {"light": {"light", "(none)"}, "dark": {"dark"}}, audit.themes


def test_no_serious_or_critical_violation(audit: Audit) -> None:
    bad = [f for f in audit.findings if f.impact in BLOCKING]
    assert not bad, (f"{len(bad)} serious or critical accessibility violations (repair the markup in "
                     "book/_ext/course_book/html_fixes.py or the colours in course.css):\n"
                     + "\n".join(f.line() for f in bad))


def test_moderate_and_minor_violations_do_not_increase(audit: Audit) -> None:
    counted = [f for f in audit.findings if f.impact in COUNTED]
    for f in counted:
        print(f.line(limit=20))
    counts = element_counts(counted)
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    print(f"elements with moderate or minor violations: {dict(counts)}; {BASELINE.name}: {baseline}")
    worse = {impact: (counts[impact], baseline.get(impact, 0)) for impact in COUNTED
             if counts[impact] > baseline.get(impact, 0)}
    assert not worse, ("more elements with moderate or minor accessibility violations than "
                       f"tests/{BASELINE.name} allows (found, allowed): {worse}\n"
                       + "\n".join(f.line(limit=20) for f in counted))
    better = {impact: (counts[impact], baseline.get(impact, 0)) for impact in COUNTED
              if counts[impact] < baseline.get(impact, 0)}
    if better:
        message = ("fewer elements with moderate or minor accessibility violations than allowed "
                   f"(found, allowed): {better}: lower the numbers in tests/{BASELINE.name}")
        print(message)
        warnings.warn(message, stacklevel=1)
