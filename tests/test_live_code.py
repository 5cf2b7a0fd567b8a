"""Live Code: thebe served by the site and checked against its pinned integrity; the kernel settings
(a token is published only for a server on loopback, or on purpose with a notice) and the BinderHub
it asks, also through tiny Sphinx builds under -W; and, end to end in Chromium, a lecture page of
the pre-release build whose Live Code connects to a Jupyter server started here: start it, edit a
cell, run it, see the output, restart, run again."""
from __future__ import annotations

import functools
import http.server
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from conftest import ROOT, Variant
from playwright.sync_api import Page, sync_playwright
from sphinx.errors import ConfigError
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
                        "token": "abc", "host": "127.0.0.1:8888", "publicToken": False}


@pytest.mark.parametrize(("url", "loopback"), [
    ("http://127.0.0.1:8888/", True), ("http://localhost/", True), ("http://[::1]:8888/", True),
    ("http://127.5.0.9/", True), ("http://LocalHost:8888/", True), ("http://[::ffff:127.0.0.1]/", True),
    ("http://127.0.0.1.example.org/", False), ("http://10.0.0.5/", False), ("https://hub.example.org/", False),
    ("http://localhost.example.org/", False), ("http://[::2]/", False), ("http://0.0.0.0:8888/", False)])
def test_loopback_is_told_apart_from_public_hosts(url: str, loopback: bool) -> None:
    assert live_code.is_loopback(urlsplit(url).hostname) is loopback
    environ = {"COURSE_KERNEL_URL": url, "COURSE_KERNEL_TOKEN": "t0k3n"}
    if loopback:
        settings = live_code.kernel_settings(environ)
        assert settings is not None and settings["token"] == "t0k3n" and not settings["publicToken"]
        assert live_code.public_token_notice(settings) is None
    else:
        with pytest.raises(ConfigError, match="is not on the loopback interface"):
            live_code.kernel_settings(environ)


def test_token_for_a_public_server_is_refused_saying_why_and_what_instead() -> None:
    with pytest.raises(ConfigError) as refused:
        live_code.kernel_settings({"COURSE_KERNEL_URL": "https://hub.example.org/",
                                   "COURSE_KERNEL_TOKEN": "0dad2"})
    message = str(refused.value)
    assert "\n" not in message and "0dad2" not in message
    for part in ["'https://hub.example.org/' is not on the loopback interface", "every reader",
                 "code execution on that Jupyter server", "BinderHub", "launch_buttons.binderhub_url",
                 "JupyterHub", "README.md", "`make live`", "COURSE_KERNEL_TOKEN_IS_PUBLIC=1"]:
        assert part in message, part


def test_public_server_without_a_token_publishes_nothing_secret() -> None:
    settings = live_code.kernel_settings({"COURSE_KERNEL_URL": "https://hub.example.org/"})
    assert settings is not None and settings["token"] == "" and not settings["publicToken"]


def test_token_for_a_public_server_with_the_opt_in_is_published_with_a_notice() -> None:
    settings = live_code.kernel_settings({"COURSE_KERNEL_URL": "http://10.0.0.5:8888/",
                                          "COURSE_KERNEL_TOKEN": "0dad2", "COURSE_KERNEL_TOKEN_IS_PUBLIC": "1"})
    assert settings is not None and settings["token"] == "0dad2" and settings["publicToken"]
    notice = live_code.public_token_notice(settings)
    assert notice is not None and notice.startswith("WARNING") and "http://10.0.0.5:8888/" in notice
    assert "every reader" in notice and "0dad2" not in notice


@pytest.mark.parametrize(("env", "message"), [
    ({"COURSE_KERNEL_TOKEN": "abc"}, "COURSE_KERNEL_TOKEN is set but COURSE_KERNEL_URL is not"),
    ({"COURSE_KERNEL_URL": "127.0.0.1:8888"}, "expected an http\\(s\\) URL"),
    ({"COURSE_KERNEL_URL": "ftp://127.0.0.1/"}, "'ftp://127.0.0.1/': expected an http\\(s\\) URL"),
    ({"COURSE_KERNEL_URL": "http:///lab"}, "'http:///lab' names no host"),
    ({"COURSE_KERNEL_URL": "http://:8888/"}, "names no host"),
    ({"COURSE_KERNEL_URL": "http://127.0.0.1:99999/"}, "'http://127.0.0.1:99999/': Port out of range"),
    ({"COURSE_KERNEL_URL": "http://me:pw@127.0.0.1:8888/"}, "must carry no user, password, query"),
    ({"COURSE_KERNEL_URL": "https://hub.example.org/?token=0dad2"}, "must carry no user, password, query"),
    ({"COURSE_KERNEL_URL": "https://hub.example.org/", "COURSE_KERNEL_TOKEN": "x",
      "COURSE_KERNEL_TOKEN_IS_PUBLIC": "yes"}, "COURSE_KERNEL_TOKEN_IS_PUBLIC='yes': expected 1"),
    ({"COURSE_KERNEL_URL": "http://127.0.0.1:8888/", "COURSE_KERNEL_TOKEN_IS_PUBLIC": "true"},
     "COURSE_KERNEL_TOKEN_IS_PUBLIC='true': expected 1")])
def test_kernel_settings_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        live_code.kernel_settings(env)


# As jupyter-book 1 passes _config.yml's launch_buttons on: html_theme_options["launch_buttons"],
# the same dictionary the theme's Binder button is built from.
@pytest.mark.parametrize(("theme_options", "expected"), [
    ({"launch_buttons": {"binderhub_url": "https://binder.example.edu/", "thebe": True}},
     "https://binder.example.edu"),
    ({"launch_buttons": {"binderhub_url": "https://mybinder.org"}}, "https://mybinder.org"),
    ({"launch_buttons": {"binderhub_url": ""}}, "https://mybinder.org"),
    ({}, "https://mybinder.org")])
def test_live_code_binder_follows_launch_buttons(theme_options: dict, expected: str) -> None:
    assert live_code.binder_url(theme_options) == expected
    defaults = live_code.published_defaults(live_code.bootstrap_script(None, live_code.binder_url(theme_options)))
    assert defaults == {"mathjaxUrl": "", "binderOptions": {"binderUrl": expected}}


def test_bad_binderhub_url_is_refused() -> None:
    with pytest.raises(ConfigError, match="launch_buttons.binderhub_url='binder.example.edu' in _config.yml"):
        live_code.binder_url({"launch_buttons": {"binderhub_url": "binder.example.edu"}})


def test_bootstrap_script_connects_to_the_given_server() -> None:
    script = live_code.bootstrap_script(live_code.kernel_settings(
        {"COURSE_KERNEL_URL": "https://hub.example.org/user/me/", "COURSE_KERNEL_TOKEN": "t0k",
         "COURSE_KERNEL_TOKEN_IS_PUBLIC": "1"}))
    assert '"useBinder": false' in script and '"wsUrl": "wss://hub.example.org/user/me/"' in script
    assert '"token": "t0k"' in script and '"mathjaxUrl": ""' in script and "binderOptions" not in script
    binder = live_code.bootstrap_script(None)
    assert "useBinder" not in binder and '"mathjaxUrl": ""' in binder and "mybinder.org" in binder
    hub = live_code.bootstrap_script(None, "https://binder.example.edu")
    assert '"binderUrl": "https://binder.example.edu"' in hub and "Kernel from binder.example.edu" in hub


# --------------------------------------------------------------------------- a tiny Sphinx build

TINY_CONF = f"""\
import sys
sys.path.insert(0, {str(ROOT / 'book' / '_ext')!r})
extensions = ["course_book.live_code"]
exclude_patterns = ["node_modules"]
html_theme = "sphinx_book_theme"
html_theme_options = {{"launch_buttons": {{"binderhub_url": "https://binder.example.edu/"}}}}
"""


@pytest.fixture(scope="module")
def tiny_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One page, live_code alone, and a stand-in for thebe's bundle."""
    src = tmp_path_factory.mktemp("live_code") / "src"
    (src / "node_modules" / "thebe" / "lib").mkdir(parents=True)
    (src / "node_modules" / "thebe" / "lib" / "index.js").write_text("/* thebe */\n")
    (src / "conf.py").write_text(TINY_CONF)
    (src / "index.rst").write_text("Home\n====\n\nText.\n")
    return src


def tiny_build(src: Path, name: str, **kernel: str) -> tuple[subprocess.CompletedProcess, Path]:
    """Build with -W, as the course does, and the given COURSE_KERNEL_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURSE_KERNEL_")} | kernel
    out = src.parent / name
    result = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-b", "html", str(src), str(out)],
                            env=env, capture_output=True, text=True, timeout=120)
    return result, out / "_static" / live_code.TARGET / live_code.ENTRY


def test_tiny_build_asks_the_configured_binderhub(tiny_project: Path) -> None:
    result, entry = tiny_build(tiny_project, "binder")
    assert result.returncode == 0, result.stderr
    assert live_code.published_defaults(entry.read_text()) == {
        "mathjaxUrl": "", "binderOptions": {"binderUrl": "https://binder.example.edu"}}


def test_tiny_build_refuses_a_token_for_a_public_server(tiny_project: Path) -> None:
    result, entry = tiny_build(tiny_project, "refused", COURSE_KERNEL_URL="https://hub.example.org/",
                               COURSE_KERNEL_TOKEN="0dad2feed")
    assert result.returncode != 0 and not entry.exists()
    assert "is not on the loopback interface" in result.stderr, result.stderr


def test_tiny_build_publishes_a_token_on_purpose_with_a_visible_notice_under_w(tiny_project: Path) -> None:
    result, entry = tiny_build(tiny_project, "opt-in", COURSE_KERNEL_URL="https://hub.example.org/",
                               COURSE_KERNEL_TOKEN="0dad2feed", COURSE_KERNEL_TOKEN_IS_PUBLIC="1")
    assert result.returncode == 0, result.stderr  # -W: the notice is not a Sphinx warning
    assert result.stdout.count("WARNING (published on purpose, COURSE_KERNEL_TOKEN_IS_PUBLIC=1)") == 2
    assert '"token": "0dad2feed"' in entry.read_text()


def test_tiny_build_embeds_a_loopback_token_quietly(tiny_project: Path) -> None:
    result, entry = tiny_build(tiny_project, "loopback", COURSE_KERNEL_URL="http://127.0.0.1:8888/",
                               COURSE_KERNEL_TOKEN="0dad2feed")
    assert result.returncode == 0, result.stderr
    assert "published on purpose" not in result.stdout and '"token": "0dad2feed"' in entry.read_text()


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


def test_site_live_code_asks_the_binderhub_of_the_binder_button(site: Path) -> None:
    configured = yaml.safe_load((ROOT / "_config.yml").read_text())["launch_buttons"]["binderhub_url"]
    defaults = live_code.published_defaults((site / "_static" / live_code.TARGET / live_code.ENTRY).read_text())
    assert defaults is not None
    if "serverSettings" not in defaults:  # a `make live` build asks its own server instead
        assert defaults["binderOptions"] == {"binderUrl": configured.rstrip("/")}


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
