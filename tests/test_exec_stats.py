"""course_book.exec_stats: the kernel's CPU time measured around one execution."""
from __future__ import annotations

import subprocess
import sys
import time

import nbformat

from course_book import exec_stats

BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.6: pass\n"


def test_cpu_of_reaped_children_is_measured_and_sleep_is_not() -> None:
    record: dict = {"cpu": None}

    def execute(code: str) -> str:
        subprocess.run([sys.executable, "-c", code], check=True)
        return "result"

    timed = exec_stats.measure_cpu(execute, record)
    assert timed(BURN) == "result"
    assert 0.6 <= record["cpu"] < 3.0, record
    start = time.perf_counter()
    timed("import time; time.sleep(1.0)")
    assert time.perf_counter() - start >= 1.0
    assert record["cpu"] < 0.9, record  # an idle kernel costs wall time, not CPU time


def test_the_timer_is_installed_once_and_keeps_the_cache_data() -> None:
    from myst_nb.core.execute import cache as client

    exec_stats.install_cpu_timer()
    first = client.single_nb_execution
    exec_stats.install_cpu_timer()
    assert client.single_nb_execution is first
    assert client.NotebookClientCache.start_client.course_cpu_timer
    bundle = client.CacheBundleIn(nbformat.v4.new_notebook(), "uri", data={"execution_seconds": 1.0})
    assert bundle.data["execution_seconds"] == 1.0 and exec_stats.CPU_KEY in bundle.data
