"""Live Code: thebe served by the site and checked against its pinned integrity; the kernel settings;
and, end to end in Chromium, a lecture page of the pre-release build whose Live Code connects to a
Jupyter server started here: start it, edit a cell, run it, see the output, restart, run again."""
from __future__ import annotations

import functools
import http.server
import io
import json
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, Variant
from playwright.sync_api import Page, sync_playwright
from test_browser import CHROMIUM, CHROMIUM_ARGS, QuietHandler

import live
import vendor_thebe
from course_book import live_code

LECTURE = "lectures/lecture1.html"


# --------------------------------------------------------------------------- units


def test_kernel_settings_default_to_binder() -> None:
    assert live_code.kernel_settings({}) is None


def test_kernel_settings_from_environment() -> None:
    settings = live_code.kernel_settings({"COURSE_KERNEL_URL": "http://127.0.0.1:8888",
                                          "COURSE_KERNEL_TOKEN": "abc"})
    assert settings == {"baseUrl": "http://127.0.0.1:8888/", "wsUrl": "ws://127.0.0.1:8888/",
                        "token": "abc", "host": "127.0.0.1:8888"}


@pytest.mark.parametrize(("env", "message"), [
    ({"COURSE_KERNEL_TOKEN": "abc"}, "COURSE_KERNEL_TOKEN is set but COURSE_KERNEL_URL is not"),
    ({"COURSE_KERNEL_URL": "127.0.0.1:8888"}, "expected an http\\(s\\) URL")])
def test_kernel_settings_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(Exception, match=message):
        live_code.kernel_settings(env)


def test_bootstrap_script_connects_to_the_given_server() -> None:
    script = live_code.bootstrap_script(live_code.kernel_settings(
        {"COURSE_KERNEL_URL": "https://hub.example.org/user/me/", "COURSE_KERNEL_TOKEN": "t0k"}))
    assert '"useBinder": false' in script and '"wsUrl": "wss://hub.example.org/user/me/"' in script
    assert '"token": "t0k"' in script and '"mathjaxUrl": ""' in script
    binder = live_code.bootstrap_script(None)
    assert "useBinder" not in binder and '"mathjaxUrl": ""' in binder and "mybinder.org" in binder


def test_integrity_check_refuses_a_different_tarball(tmp_path: Path) -> None:
    tarball = tmp_path / "pkg.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        data = b"console.log(1)"
        info = tarfile.TarInfo("package/lib/index.js")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    assert vendor_thebe.integrity_of(tarball).startswith("sha512-")
    version, pinned = vendor_thebe.pinned(ROOT / "package.json", "thebe")
    assert version == "0.9.3" and vendor_thebe.integrity_of(tarball) != pinned
    vendor_thebe.extract(tarball, tmp_path / "out")
    assert (tmp_path / "out" / "lib" / "index.js").read_bytes() == data


def test_installed_thebe_matches_its_pin() -> None:
    stamp = ROOT / "node_modules" / "thebe" / vendor_thebe.STAMP
    assert stamp.is_file(), "node_modules/thebe is missing: `make book` installs it"
    assert stamp.read_text().strip() == vendor_thebe.pinned(ROOT / "package.json", "thebe")[1]


def test_site_serves_thebe_itself(site: Path) -> None:
    entry = site / "_static" / live_code.TARGET / live_code.ENTRY
    assert entry.is_file() and (entry.parent / "thebe.css").is_file()
    page = (site / LECTURE).read_text()
    assert "unpkg.com" not in page and 'THEBE_JS_URL = "../_static/vendor/thebe/course-thebe.js"' in page
    chunks = list(entry.parent.glob("*.index.js"))
    assert len(chunks) > 50, "thebe's lazily loaded chunks were not copied"


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def live_site(variant: Variant, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The pre-release build served on the port its Live Code expects, with its Jupyter server."""
    handler = functools.partial(QuietHandler, directory=str(variant.site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_port}"
    log = tmp_path_factory.mktemp("jupyter") / "server.log"
    jupyter = live.start_jupyter(variant.kernel_port, variant.token, origin, log=log)
    try:
        live.wait_until_ready(variant.kernel_port, variant.token)
        yield origin + "/"
    finally:
        jupyter.terminate()
        jupyter.wait(timeout=20)
        server.shutdown()


def _edit(page: Page, cell_index: int, code: str) -> None:
    editor = page.locator(".thebe-cell").nth(cell_index).locator(".CodeMirror").first
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type(code)


def _run_and_wait(page: Page, cell_index: int, expected: str, timeout: float = 60_000) -> float:
    started = time.monotonic()
    page.locator(".thebe-cell").nth(cell_index).locator(".thebe-run-button").click()
    page.wait_for_function(
        "([i, text]) => { const out = document.querySelectorAll('.thebe-cell')[i]"
        "  .closest('div.cell').querySelector('[data-output]');"
        "  return out && out.innerText.includes(text); }", arg=[cell_index, expected], timeout=timeout)
    return time.monotonic() - started


def test_live_code_end_to_end(variant: Variant, live_site: str) -> None:
    kernel = f"127.0.0.1:{variant.kernel_port}"
    blocked: list[str] = []
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})

        def route(route, request) -> None:  # noqa: ANN001 - playwright types
            if request.url.startswith((live_site, f"http://{kernel}/", f"ws://{kernel}/", "data:", "blob:")):
                route.continue_()
            else:
                blocked.append(request.url)
                route.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on("console", lambda msg: problems.append(f"console error: {msg.text}")
                if msg.type == "error" else None)
        page.goto(live_site + LECTURE, wait_until="load")

        clicked = time.monotonic()
        page.click("button[aria-label='Launch interactive content']")
        page.click(".btn-launch-thebe")
        page.wait_for_selector(".thebe-launch-button[data-status=ready]", timeout=60_000)
        ready = time.monotonic() - clicked
        status = page.locator(".thebe-launch-button").inner_text()
        assert f"Kernel from {kernel}" in status, status
        assert page.locator(".thebe-cell").count() >= 3, "code cells did not become live"

        _edit(page, 0, "live_value = 6 * 7\nprint(f'live value {live_value}')")
        run = _run_and_wait(page, 0, "live value 42")
        first_output = time.monotonic() - clicked

        page.on("dialog", lambda dialog: dialog.accept())
        page.locator(".thebe-cell").nth(0).locator(".thebe-restart-button").click()
        page.wait_for_timeout(1500)
        page.wait_for_selector(".thebe-launch-button[data-status=ready]", timeout=60_000)
        _edit(page, 0, "print('still defined:', 'live_value' in globals())")
        _run_and_wait(page, 0, "still defined: False")
        page.screenshot(path=str(ROOT / "_build" / "live-code.png"))
        browser.close()
    print(f"\nLive Code: kernel ready {ready:.1f} s after the click, first output {first_output:.1f} s "
          f"after the click (the run itself {run:.2f} s)")
    (ROOT / "_build" / "live-code-timing.json").write_text(json.dumps(
        {"ready_s": round(ready, 2), "click_to_first_output_s": round(first_output, 2),
         "run_s": round(run, 3)}) + "\n")
    assert not blocked, f"requests to other hosts: {blocked}"
    assert not problems, "\n".join(problems)
