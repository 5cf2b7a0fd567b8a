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
