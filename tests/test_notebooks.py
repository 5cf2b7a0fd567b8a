"""Every executed notebook: it ran, within its budget, and its .ipynb twin is in sync."""
from __future__ import annotations

import json

import pytest
import yaml
from conftest import ROOT
from assignments import assignments
from sync_notebooks import drifted, expected_ipynb, notebooks

STATS = ROOT / "_build" / "execution-stats.json"


def budgets() -> tuple[float, dict[str, float]]:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["sphinx"]["config"]
    return config["course_notebook_budget"], config["course_notebook_budget_exceptions"] or {}


@pytest.fixture(scope="module")
def stats() -> dict:
    if not STATS.is_file():
        pytest.fail(f"{STATS} is missing: build the site first (`make test` does)")
    return json.loads(STATS.read_text(encoding="utf-8"))


def docname(path) -> str:
    return str(path.relative_to(ROOT).with_suffix(""))


def executed_pages() -> list[str]:
    """MyST notebook pages, and the worked solutions generated from exercise and homework sources
    (student notebooks are not executed: their blanks raise on purpose)."""
    return [docname(p) for p in notebooks()] + [docname(a.solution) for a in assignments()]


def test_every_notebook_was_executed_successfully(stats: dict) -> None:
    names = executed_pages()
    assert len(names) >= 6
    missing = [n for n in names if n not in stats]
    assert not missing, f"notebooks without execution data: {missing}"
    failed = {n: stats[n]["error"] for n in names if not stats[n]["succeeded"]}
    assert not failed, failed


def cost(stat: dict) -> float | None:
    """What a notebook costs alone on 2 cores: its kernel's CPU time where the build measured it (the
    build runs two notebooks at once, which inflates each one's wall time, not its CPU time; with one
    torch thread the CPU time is the wall time it takes alone), else its wall time."""
    return stat["cpu"] if stat.get("cpu") is not None else stat["runtime"]


def test_every_notebook_runs_within_its_budget(stats: dict) -> None:
    default, exceptions = budgets()
    slow = {n: {"cpu": s.get("cpu"), "wall": round(s["runtime"], 1)} for n, s in stats.items()
            if cost(s) is not None and cost(s) > exceptions.get(n, default)}
    assert not slow, (f"over budget (seconds of kernel CPU time, else wall time; default {default} s; "
                      f"a notebook that runs several threads counts each): {slow}")
    print("\n".join(f"{n}: {s['runtime']:.1f} s wall, {s.get('cpu')} s CPU" for n, s in sorted(stats.items())))


def test_the_build_measured_cpu_times(stats: dict) -> None:
    """Every notebook executed by this build (or by the one that filled the cache) has its CPU time,
    and it is plausible: a kernel that ran at least a second and at most its wall time on 2 cores."""
    executed = {n: s for n, s in stats.items() if s["succeeded"] and s["runtime"]}
    missing = [n for n, s in executed.items() if s.get("cpu") is None]
    assert not missing, (f"no CPU time for {missing}: cached by a build that did not record it; "
                         "delete _build/.jupyter_cache (or `make clean`) and build again")
    odd = {n: (s["cpu"], s["runtime"]) for n, s in executed.items()
           if s.get("cpu") is not None and not 0.5 < s["cpu"] <= 2 * s["runtime"] + 1}
    assert not odd, f"implausible CPU times (cpu, wall): {odd}"


def test_budget_exceptions_name_real_notebooks() -> None:
    default, exceptions = budgets()
    names = set(executed_pages())
    assert set(exceptions) <= names
    assert all(default < seconds <= 120 for seconds in exceptions.values())


def test_ipynb_twins_are_in_sync() -> None:
    assert not drifted(), "\n".join(drifted())


def test_drift_is_detected(tmp_path) -> None:
    source = notebooks()[0]
    twin = json.loads(expected_ipynb(source))
    assert twin["cells"], source
    copy = tmp_path / source.name
    copy.write_text(source.read_text(encoding="utf-8") + "\n```{code-cell} ipython3\n1 + 1\n```\n",
                    encoding="utf-8")
    assert json.loads(expected_ipynb(copy))["cells"] != twin["cells"]
