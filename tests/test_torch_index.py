"""tools/torch_index.py: PyTorch's CPU index for pip only where it answers, probed once with a timeout."""
from __future__ import annotations

import http.server
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from conftest import ROOT

import torch_index
from torch_index import CPU_INDEX, PROBE_URL, pip_options

EXTRA = ["--extra-index-url", CPU_INDEX]


class Probe:
    def __init__(self, answer: bool) -> None:
        self.answer, self.urls = answer, []

    def __call__(self, url: str) -> bool:
        self.urls.append(url)
        return self.answer


def test_the_cpu_index_is_passed_when_it_answers() -> None:
    probe = Probe(True)
    options, notice = pip_options({}, "linux", probe)
    assert options == EXTRA and probe.urls == [PROBE_URL]
    assert notice and CPU_INDEX in notice and "\n" not in notice


def test_pypi_with_a_one_line_notice_when_it_does_not() -> None:
    options, notice = pip_options({}, "linux", Probe(False))
    assert options == []
    assert notice.startswith("notice: ") and "PyPI" in notice and "\n" not in notice


@pytest.mark.parametrize(("environ", "platform", "options"), [
    ({"COURSE_TORCH_INDEX": "pypi"}, "linux", []),
    ({"COURSE_TORCH_INDEX": " CPU "}, "linux", EXTRA),
    ({"PIP_EXTRA_INDEX_URL": CPU_INDEX}, "linux", []),  # GitHub Actions: pip has it already
    ({"PIP_INDEX_URL": f"{CPU_INDEX} https://pypi.org/simple"}, "win32", []),
    ({}, "darwin", []),  # PyPI's macOS torch has no CUDA
])
def test_no_probe_when_the_answer_is_known(environ: dict[str, str], platform: str, options: list[str]) -> None:
    probe = Probe(True)
    assert pip_options(environ, platform, probe)[0] == options
    assert probe.urls == []


def test_a_bad_setting_is_refused_by_name() -> None:
    with pytest.raises(SystemExit, match="COURSE_TORCH_INDEX must be one of auto, cpu, pypi, got 'gpu'"):
        pip_options({"COURSE_TORCH_INDEX": "gpu"}, "linux", Probe(True))


@pytest.fixture
def server() -> Iterator[tuple[str, list[float]]]:
    """A local server: /ok answers 200, /missing 404, /slow after `delay[0]` seconds."""
    delay = [0.0]

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_HEAD(self) -> None:  # noqa: N802 - the http.server hook
            if self.path == "/slow":
                time.sleep(delay[0])
            self.send_response(404 if self.path == "/missing" else 200)
            self.end_headers()

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", delay
    finally:
        httpd.shutdown()


def test_reachable_asks_the_server(server: tuple[str, list[float]]) -> None:
    base, _ = server
    assert torch_index.reachable(f"{base}/ok", timeout=5)
    assert not torch_index.reachable(f"{base}/missing", timeout=5)


def test_reachable_gives_up_after_the_timeout(server: tuple[str, list[float]]) -> None:
    base, delay = server
    delay[0] = 3.0
    start = time.monotonic()
    assert not torch_index.reachable(f"{base}/slow", timeout=0.5)
    assert time.monotonic() - start < 2.0


def test_reachable_is_false_for_a_closed_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert not torch_index.reachable(f"http://127.0.0.1:{port}/", timeout=2)


def test_the_command_prints_only_the_options_on_stdout() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "torch_index.py")], capture_output=True,
                            text=True, timeout=30, env={"COURSE_TORCH_INDEX": "cpu", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0 and result.stdout == " ".join(EXTRA) + "\n" and result.stderr == ""


def test_make_installs_the_requirements_with_the_probed_options() -> None:
    """The one recipe that installs requirements.txt (and so torch) passes the probe's options."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    installs = re.findall(r"pip install[^\n]*-r requirements\.txt[^\n]*", makefile)
    assert installs == ["pip install --quiet -r requirements.txt $$opts"], installs
    recipe = re.search(r"^\$\(STAMPS\)/build:.*?\n\n", makefile, re.S | re.M).group(0)
    assert "opts=$$($(BIN)/python tools/torch_index.py) && \\\n" in recipe, recipe
