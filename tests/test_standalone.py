"""A notebook a student downloads or opens in Colab works alone: self-checks on Colab and in a renamed
copy, course files fetched (and checked) when missing, glued numbers that never need the course build.

The build itself runs every notebook in an empty temporary folder (``execute: run_in_temp``), so any
notebook that silently needs a file beside it already fails there; these tests cover what the build
cannot see: Colab's interpreter, a renamed file, and the download path that the offline build never takes.
"""
from __future__ import annotations

import ast
import hashlib
import functools
import http.server
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import jupytext
import nbclient
import nbformat
import pytest
import yaml
from assignments import assignments
from conftest import ROOT
from sync_notebooks import notebooks

BY_NAME = {a.name: a for a in assignments()}
# One exercise and one homework: the mechanism is the same for all (tools/assignments.py).
CHECKED = ["exercise4-conv2d", "homework1"]

# otter recognises Colab by the class of the IPython shell (otter/check/utils.py): a shell whose module
# is google.colab. Giving the running shell such a class makes otter behave as on Colab.
SIMULATE_COLAB = (
    "import IPython\n"
    "_shell = IPython.get_ipython()\n"
    "_shell.__class__ = type('Shell', (type(_shell),), {'__module__': 'google.colab._shell'})\n"
    "assert 'google.colab' in str(IPython.get_ipython())"
)


def check_results(nb: nbformat.NotebookNode) -> dict[str, str]:
    """The text of every ``grader.check("qN")`` cell's outputs, by question."""
    results = {}
    for cell in nb.cells:
        match = re.fullmatch(r'grader\.check\("(\w+)"\)', cell.source.strip()) if cell.cell_type == "code" else None
        if match:
            results[match[1]] = " ".join(
                o.get("data", {}).get("text/plain", "") + o.get("text", "") + o.get("ename", "") + " "
                + o.get("evalue", "") for o in cell.outputs)
    return results


def run_alone(source: Path, tmp_path: Path, name: str, *, colab: bool,
              allow_errors: bool = False) -> nbformat.NotebookNode:
    """Run ``source`` copied alone into an empty folder under the file name ``name``."""
    nb = nbformat.read(source, as_version=4)
    if colab:
        nb.cells.insert(0, nbformat.v4.new_code_cell(SIMULATE_COLAB))
    folder = tmp_path / "content"
    folder.mkdir()
    nbformat.write(nb, folder / name)
    nbclient.NotebookClient(nb, resources={"metadata": {"path": str(folder)}}, allow_errors=allow_errors,
                            timeout=300, kernel_name="python3").execute()
    return nb


def test_the_colab_simulation_reproduces_otters_refusal(tmp_path: Path) -> None:
    """Positive control: under the simulation, otter's own default set-up fails as on Colab."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SIMULATE_COLAB),
                                         nbformat.v4.new_code_cell("import otter\notter.Notebook('x.ipynb')")])
    nbclient.NotebookClient(nb, resources={"metadata": {"path": str(tmp_path)}}, allow_errors=True,
                            timeout=120, kernel_name="python3").execute()
    errors = [o for o in nb.cells[1].outputs if o.get("output_type") == "error"]
    assert errors and "Tests directory ./tests does not exist" in errors[0]["evalue"], nb.cells[1].outputs


@pytest.mark.parametrize("name", CHECKED)
def test_solution_passes_every_self_check_on_colab_in_a_renamed_copy(name: str, tmp_path: Path) -> None:
    a = BY_NAME[name]
    nb = run_alone(a.solution, tmp_path, f"Copy of {name} (1).ipynb", colab=True)
    results = check_results(nb)
    assert results, f"{a.solution.relative_to(ROOT)} has no grader.check cell"
    failed = {q: text[:300] for q, text in results.items() if "All test cases passed" not in text}
    assert not failed, failed


@pytest.mark.parametrize("name", CHECKED)
def test_student_self_checks_answer_on_colab_in_a_renamed_copy(name: str, tmp_path: Path) -> None:
    """Every check of the blank notebook reports failing tests: none crashes for want of its tests."""
    a = BY_NAME[name]
    nb = run_alone(a.student, tmp_path, f"{name} (1).ipynb", colab=True, allow_errors=True)
    results = check_results(nb)
    assert results
    crashed = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.strip().startswith("grader.check("):
            crashed.update({cell.source.strip(): f"{o['ename']}: {o['evalue']}" for o in cell.outputs
                            if o.get("output_type") == "error"})
    assert not crashed, crashed
    assert all("failed" in text for text in results.values()), results


# --------------------------------------------------------------------------- course files fetched when missing

def _loader_namespace() -> dict:
    """The solution notebook's cell that finds (or downloads) the GlyphNet checkpoint, executed alone."""
    nb = nbformat.read(BY_NAME["exercise1-pretrained"].solution, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code" and "def find_checkpoint" in c.source)
    # Only the constants and the function: the rest of the cell loads the model.
    keep = [node for node in ast.parse(cell.source).body
            if isinstance(node, ast.FunctionDef) and node.name == "find_checkpoint"
            or isinstance(node, ast.Assign) and all(getattr(t, "id", "").startswith("GLYPHNET_") for t in node.targets)]
    assert len(keep) == 3, "expected GLYPHNET_URL, GLYPHNET_SHA256 and find_checkpoint in one cell"
    namespace: dict = {}
    exec("import hashlib, os, urllib.request\nfrom pathlib import Path\n" + ast.unparse(ast.Module(keep, [])),
         namespace)
    return namespace


def _raw_url(relative: str) -> str:
    """The raw-file URL of a repository file, from _config.yml's repository settings (GitHub)."""
    repo = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]
    owner_repo = repo["url"].removeprefix("https://github.com/").strip("/")
    prefix = f"{repo.get('path_to_book', '').strip('/')}/" if repo.get("path_to_book") else ""
    return f"https://raw.githubusercontent.com/{owner_repo}/{repo['branch']}/{prefix}{relative}"


def test_checkpoint_url_and_fingerprint_follow_the_repository() -> None:
    ns = _loader_namespace()
    assert ns["GLYPHNET_URL"] == _raw_url("code/exercises/glyphnet.pt"), \
        "exercise 1's GLYPHNET_URL must follow _config.yml's repository url and branch"
    digest = hashlib.sha256((ROOT / "code/exercises/glyphnet.pt").read_bytes()).hexdigest()
    assert ns["GLYPHNET_SHA256"] == digest, \
        "code/exercises/glyphnet.pt changed: update GLYPHNET_SHA256 in exercise 1's source"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """code/exercises/ served on 127.0.0.1, standing in for the repository's raw files."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(ROOT / "code/exercises"))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder outside the course build (no COURSE_REPO_DIR), as on Colab."""
    monkeypatch.delenv("COURSE_REPO_DIR", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_missing_checkpoint_is_downloaded_and_checked(served: str, alone: Path) -> None:
    ns = _loader_namespace()
    path = ns["find_checkpoint"](url=f"{served}/glyphnet.pt")
    assert path.resolve() == (alone / "glyphnet.pt").resolve()
    assert path.read_bytes() == (ROOT / "code/exercises/glyphnet.pt").read_bytes()
    assert ns["find_checkpoint"](url="http://127.0.0.1:9/never-asked") == path  # found, not fetched again


def test_a_wrong_download_is_refused_and_not_saved(served: str, alone: Path) -> None:
    ns = _loader_namespace()
    with pytest.raises(RuntimeError, match="not the course's checkpoint"):
        ns["find_checkpoint"](url=f"{served}/pretrain_glyphnet.py")
    assert not list(alone.iterdir())


def test_offline_the_error_says_what_to_do(alone: Path) -> None:
    ns = _loader_namespace()
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RuntimeError, match="Without a network, copy code/exercises/glyphnet.pt"):
        ns["find_checkpoint"](url=f"http://127.0.0.1:{port}/glyphnet.pt")


def test_the_build_finds_course_files_in_the_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the build does (COURSE_REPO_DIR, set by course_book): no download is tried."""
    ns = _loader_namespace()
    monkeypatch.setenv("COURSE_REPO_DIR", str(ROOT))
    monkeypatch.chdir(tmp_path)
    path = ns["find_checkpoint"](url="http://127.0.0.1:9/never-asked")
    assert path.resolve() == (ROOT / "code/exercises/glyphnet.pt").resolve()


def test_the_build_runs_notebooks_in_an_empty_folder() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["execute"].get("run_in_temp") is True


# --------------------------------------------------------------------------- glue without the course build

def _sources() -> list[Path]:
    return notebooks() + [p for a in assignments() for p in (a.student, a.solution)]


@pytest.mark.parametrize("path", _sources(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_glue_falls_back_outside_the_course_build(path: Path) -> None:
    """myst_nb is not on Colab: a notebook that glues numbers must still run there."""
    nb = jupytext.read(path, fmt="md:myst") if path.suffix == ".md" else nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    if "glue(" not in code:
        return
    tree = ast.parse("\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("%", "!"))))
    guarded = [node for node in ast.walk(tree) if isinstance(node, ast.Try)
               and any(isinstance(n, ast.ImportFrom) and n.module == "myst_nb" for n in node.body)
               and any(isinstance(h.type, ast.Name) and h.type.id == "ImportError" for h in node.handlers)]
    bare = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module == "myst_nb"]
    assert guarded and len(bare) == len(guarded), (
        f"{path.relative_to(ROOT)}: import glue as `try: from myst_nb import glue` / `except ImportError:` "
        "with a stand-in (see AUTHORING.md), or the notebook fails on Colab")
