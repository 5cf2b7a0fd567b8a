"""GitHub Actions workflows: linted offline with actionlint, and the publishing rules DEVELOPERS.md sets."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import ROOT

ACTIONLINT = Path(sys.executable).with_name("actionlint")
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def lint(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(ACTIONLINT), "-no-color", *map(str, paths)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_workflows_pass_actionlint() -> None:
    assert WORKFLOWS
    result = lint(*WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_reports_a_broken_workflow(tmp_path: Path) -> None:
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n"
                   "      - run: echo ${{ github.nonexistent_context }}\n", encoding="utf-8")
    assert lint(bad).returncode != 0


def test_actions_are_pinned_to_full_commit_shas() -> None:
    for path in WORKFLOWS:
        for uses in re.findall(r"uses:\s*(\S+)", path.read_text(encoding="utf-8")):
            if uses.startswith("./"):
                continue
            assert re.fullmatch(r"[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}", uses), f"{path.name}: {uses}"


def test_publishing_workflow_shape() -> None:
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text(encoding="utf-8"))
    triggers = flow[True]  # YAML reads the key `on` as True
    assert {"pull_request", "push", "schedule", "workflow_dispatch"} <= set(triggers)
    assert flow["permissions"] == {"contents": "read"}
    deploy = flow["jobs"]["deploy"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["concurrency"]["group"] == "pages"
    assert "download.pytorch.org/whl/cpu" in flow["env"]["PIP_EXTRA_INDEX_URL"]
    steps = flow["jobs"]["build"]["steps"]
    assert any("actions/cache@" in s.get("uses", "") and "jupyter_cache" in s["with"]["path"] for s in steps)
    assert any(s.get("run") == "make test" for s in steps)


def test_platforms_workflow_runs_every_notebook_where_students_do() -> None:
    """Weekly and on demand: Linux, macOS (Apple silicon) and Windows, and Colab's own runtime image."""
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "platforms.yml").read_text(encoding="utf-8"))
    assert {"schedule", "workflow_dispatch"} <= set(flow[True])
    assert flow["permissions"] == {"contents": "read"}
    jobs = flow["jobs"]
    assert set(jobs["notebooks"]["strategy"]["matrix"]["os"]) == {"ubuntu-latest", "macos-latest", "windows-latest"}
    install = next(s["run"] for s in jobs["notebooks"]["steps"] if "requirements.txt" in s.get("run", ""))
    assert "download.pytorch.org/whl/cpu" in install and "macOS" in install
    assert jobs["colab"]["container"]["image"].startswith("us-docker.pkg.dev/colab-images/public/")
    colab_runs = " ".join(s.get("run", "") for s in jobs["colab"]["steps"])
    assert "pip install" not in colab_runs, "the Colab job must use Colab's packages only"
    for job in jobs.values():
        runs = " ".join(s.get("run", "") for s in job["steps"])
        assert "tools/robustness.py" in runs
        assert any("upload-artifact@" in s.get("uses", "") for s in job["steps"])
