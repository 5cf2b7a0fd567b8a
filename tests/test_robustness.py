"""tools/robustness.py: notebooks run alone under several numeric paths, their glued numbers tabulated."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
import robustness

GLUE = "from myst_nb import glue\n"


def notebook(tmp_path: Path, *cells: str, student: bool = False, name: str = "nb.ipynb") -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    if student:
        nb.metadata["mystnb"] = {"execution_mode": "off"}
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def test_glued_numbers_are_collected(tmp_path: Path) -> None:
    path = notebook(tmp_path, GLUE + "import numpy as np\nglue('acc', 0.9375, display=False)\n"
                    "glue('n', 12, display=False)\nglue('np', np.float64(0.5), display=False)\n"
                    "glue('shown', 'text')")
    run = robustness.execute(path, "native", {})
    assert run.status == "pass", run.detail
    assert run.numbers == {"acc": 0.9375, "n": 12, "np": 0.5, "shown": "text"}


def test_a_failing_assert_fails_with_its_message(tmp_path: Path) -> None:
    run = robustness.execute(notebook(tmp_path, "x = 0.89", "assert x > 0.9, f'accuracy {x}'"), "native", {})
    assert run.status == "fail" and "AssertionError: accuracy 0.89" in run.detail


def test_each_run_starts_in_an_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "beside.txt").write_text("a file next to the notebook")
    run = robustness.execute(notebook(tmp_path, "import os\nassert os.listdir('.') == [], os.listdir('.')"),
                             "native", {})
    assert run.status == "pass", run.detail


def test_the_numeric_path_reaches_the_kernel(tmp_path: Path) -> None:
    path = notebook(tmp_path, "import os, torch\nassert os.environ['MKL_CBWR'] == 'COMPATIBLE'\n"
                    "assert torch.backends.cpu.get_cpu_capability() == 'DEFAULT'")
    run = robustness.execute(path, "default", robustness.PATHS["default"])
    assert run.status == "pass", run.detail


def test_a_student_notebook_must_stop_at_its_first_blank(tmp_path: Path) -> None:
    blank = notebook(tmp_path, "x = 1", "raise NotImplementedError(\"your code here\")", "y = 2",
                     student=True, name="student.ipynb")
    assert robustness.execute(blank, "native", {}).status == "pass"
    other_error = notebook(tmp_path, "import missing_module_42", student=True, name="broken.ipynb")
    assert robustness.execute(other_error, "native", {}).status == "fail"
    no_blank = notebook(tmp_path, "x = 1", student=True, name="complete.ipynb")
    run = robustness.execute(no_blank, "native", {})
    assert run.status == "fail" and "no blank" in run.detail


def test_available_paths() -> None:
    assert robustness.available_paths("AVX512") == ["native", "default", "avx2"]
    assert robustness.available_paths("AVX2") == ["native", "default"]


def test_spread_and_summary() -> None:
    runs = [robustness.Run("a.md", "native", numbers={"acc": 0.91, "label": "x"}),
            robustness.Run("a.md", "default", numbers={"acc": 0.95}),
            robustness.Run("a.md", "avx2", status="fail", detail="AssertionError: 0.89", numbers={"acc": 0.89})]
    assert robustness.spread(runs) == {"acc": (0.89, 0.95)}
    text = robustness.summary(runs, ["native", "default", "avx2"])
    assert "FAILED a.md [avx2]: AssertionError: 0.89" in text
    assert "acc: 0.89 .. 0.95" in text
    assert text.splitlines()[-1] == "2 passed, 1 failed"


def test_main_writes_the_table_and_fails_on_a_failure(tmp_path: Path) -> None:
    good = notebook(tmp_path, GLUE + "glue('v', 1.5, display=False)", name="good.ipynb")
    bad = notebook(tmp_path, "assert False, 'claim broken'", name="bad.ipynb")
    out = tmp_path / "r.json"
    assert robustness.main([str(good), "--paths", "native", "--out", str(out), "--jobs", "2"]) == 0
    assert robustness.main([str(good), str(bad), "--paths", "native", "--out", str(out)]) == 1
    report = json.loads(out.read_text())
    statuses = {Path(r["notebook"]).name: r["status"] for r in report["runs"]}
    assert statuses == {"good.ipynb": "pass", "bad.ipynb": "fail"}
    assert report["machine"]["cpu_capability"]


def test_unknown_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        robustness.main([str(notebook(tmp_path, "x = 1")), "--paths", "native,avx9000"])


def test_every_course_notebook_is_listed() -> None:
    names = {p.name for p in robustness.course_notebooks()}
    assert {"lec2-space-stretching.md", "exercise1-pretrained.ipynb", "homework1.ipynb"} <= names


def test_numbers_are_compared_with_the_build(tmp_path: Path) -> None:
    executed = tmp_path / "jupyter_execute"
    (executed / "code").mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")])
    nb.cells[0].outputs = [nbformat.v4.new_output("display_data", data={
        "application/papermill.record/text/plain": "0.93"}, metadata={"scrapbook": {"name": "acc"}})]
    nbformat.write(nb, executed / "code" / "a.ipynb")
    same = robustness.Run("code/a.md", "native", numbers={"acc": 0.93})
    other = robustness.Run("code/a.md", "native", numbers={"acc": 0.94})
    assert robustness.compare_with_build([same], executed) == {}
    assert robustness.compare_with_build([other], executed) == {"code/a.md": {"acc": (0.93, 0.94)}}
    assert robustness.compare_with_build([robustness.Run("code/a.md", "default", numbers={"acc": 0.5})],
                                         executed) == {}


def test_numbers_are_read_from_the_glue_file_of_the_build(tmp_path: Path) -> None:
    """myst-nb 1.x keeps glued values in <name>.glue.json beside the executed notebook, not in it."""
    executed = tmp_path / "jupyter_execute"
    (executed / "code").mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")]), executed / "code" / "a.ipynb")
    (executed / "code" / "a.glue.json").write_text(json.dumps({"acc": {
        "data": {"text/plain": "np.float64(0.93)"}, "metadata": {"scrapbook": {"name": "acc"}},
        "output_type": "display_data"}}), encoding="utf-8")
    assert robustness.compare_with_build([robustness.Run("code/a.md", "native", numbers={"acc": 0.93})],
                                         executed) == {}
    assert robustness.compare_with_build([robustness.Run("code/a.md", "native", numbers={"acc": 0.94})],
                                         executed) == {"code/a.md": {"acc": (0.93, 0.94)}}


def test_tables_merge(tmp_path: Path) -> None:
    def table(name: str, *runs: robustness.Run) -> Path:
        path = tmp_path / name
        path.write_text(json.dumps({"machine": {"cpu_capability": "AVX512"}, "paths": {"native": {}},
                                    "runs": [robustness.asdict(r) for r in runs]}))
        return path

    first = table("a.json", robustness.Run("a.md", "native", status="fail", detail="old"),
                  robustness.Run("b.md", "native", numbers={"x": 1.0}))
    second = table("b.json", robustness.Run("a.md", "native", numbers={"x": 2.0}))
    out = tmp_path / "merged.json"
    assert robustness.main(["--merge", str(first), str(second), "--out", str(out)]) == 0
    merged = json.loads(out.read_text())
    assert {(r["notebook"], r["status"]) for r in merged["runs"]} == {("a.md", "pass"), ("b.md", "pass")}
