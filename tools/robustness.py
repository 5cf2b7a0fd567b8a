"""Run notebooks as a student gets them, under several numeric paths, and tabulate what they claim.

A seeded notebook follows another trajectory on another CPU: torch picks AVX-512, AVX2 or plain
kernels (``ATEN_CPU_CAPABILITY``), MKL its code path (``MKL_CBWR``) and oneDNN its instruction set
(``ONEDNN_MAX_CPU_ISA``). Each path rounds differently, so an assert tuned to one machine's arithmetic
can fail on the next. This script executes every notebook (or those named) once per path:

- in a fresh empty folder, as a download or Colab gives it (so it is also the standalone check);
- solutions and lecture notebooks must run to the end;
- student notebooks must stop at their first blank (``NotImplementedError: your code here``), with
  every self-check before it working.

It writes ``_build/robustness.json`` (notebook x path: status, run time, and the headline numbers, i.e.
every value the notebook glues into its text with myst-nb's ``glue``) and prints a summary with the
spread of each headline number across paths. The exit status is 1 when any run failed.

    python tools/robustness.py                        # every notebook, every path
    python tools/robustness.py code/lec2-space-stretching.md --paths native,default
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

# Only nbformat and nbclient at import: on Colab's runtime image (the platforms workflow) this runs
# with nothing installed but what Colab ships. jupytext is needed only to read MyST (.md) notebooks.
sys.path.insert(0, str(Path(__file__).resolve().parent))

ROOT = Path(__file__).resolve().parent.parent
KERNEL_CONFIG = ROOT / "book" / "_ext" / "course_book" / "ipython_startup" / "ipython_kernel_config.py"
BLANK_ERROR = ("NotImplementedError", "your code here")

# The numeric paths. "native" is whatever this CPU offers; the others force a lower instruction set in
# torch's own kernels, in MKL (matrix products) and in oneDNN (convolutions), as an older CPU would.
PATHS: dict[str, dict[str, str]] = {
    "native": {},
    "default": {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "SSE41"},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"},
}


@dataclass
class Run:
    notebook: str
    path: str
    status: str = "pass"  # "pass" or "fail"
    seconds: float = 0.0
    detail: str = ""
    numbers: dict[str, object] = field(default_factory=dict)


def cpu_capability(python: str = sys.executable) -> str:
    """torch's kernel set on this machine (AVX512, AVX2, DEFAULT...), asked in a fresh interpreter."""
    out = subprocess.run([python, "-c", "import torch; print(torch.backends.cpu.get_cpu_capability())"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def available_paths(capability: str) -> list[str]:
    """The paths worth running here: forcing AVX2 on a machine without AVX-512 repeats "native"."""
    names = ["native", "default"]
    if capability.upper().startswith("AVX512"):
        names.append("avx2")
    return names


def course_notebooks(root: Path = ROOT, twins: bool = False) -> list[Path]:
    """Every notebook of the table of contents that a student can download: MyST pages with code and
    the generated exercise/homework notebooks (solutions and student versions). With ``twins``, the
    ``.ipynb`` twin of each MyST page instead of the page: the file Colab and downloads give."""
    import sync_notebooks

    found = []
    for path in sync_notebooks.toc_files(root):
        if path.suffix == ".ipynb":
            found.append(path)
        elif sync_notebooks.is_myst_notebook(path):
            found.append(sync_notebooks.twin(path) if twins else path)
    return found


def read_notebook(path: Path) -> nbformat.NotebookNode:
    if path.suffix == ".md":
        import jupytext

        return jupytext.read(path, fmt="md:myst")
    return nbformat.read(path, as_version=4)


def is_student_notebook(nb: nbformat.NotebookNode) -> bool:
    """Student notebooks are shown, not executed, on the site; their blanks raise on purpose."""
    return nb.metadata.get("mystnb", {}).get("execution_mode") == "off"


def glued_numbers(nb: nbformat.NotebookNode) -> dict[str, object]:
    """Every value the executed notebook glued (myst-nb marks those outputs with ``scrapbook`` metadata)."""
    found: dict[str, object] = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if not name:
                continue
            found[name] = output_value(output)
    return found


def output_value(output: dict) -> object:
    """The value of one glue output, read back from its text/plain representation."""
    return parse_value(next((v for k, v in output.get("data", {}).items() if k.endswith("text/plain")), None))


def parse_value(text: str | None) -> object:
    if text is None:
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        # numpy and torch scalars print as np.float64(0.93) or tensor(0.93)
        inner = text[text.find("(") + 1: text.rfind(")")] if "(" in text else text
        try:
            value = ast.literal_eval(inner.split(",")[0])
        except (ValueError, SyntaxError):
            return text
    return value


def execute(path: Path, path_name: str, env: dict[str, str], timeout: int = 900,
            root: Path = ROOT) -> Run:
    """Execute one notebook in an empty folder with the environment of one numeric path."""
    nb = read_notebook(path)
    run = Run(notebook=path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path),
              path=path_name)
    student = is_student_notebook(nb)
    kernel_env = {k: v for k, v in os.environ.items() if k not in {"ATEN_CPU_CAPABILITY", "MKL_CBWR",
                                                                    "ONEDNN_MAX_CPU_ISA", "IPYTHONDIR"}}
    kernel_env.update(env)
    # Course files a notebook needs (the GlyphNet checkpoint) come from this checkout, as in the build,
    # instead of the repository's URL: these runs stay offline.
    kernel_env["COURSE_REPO_DIR"] = str(root)
    with tempfile.TemporaryDirectory(prefix="robustness-") as folder:
        # A fresh IPython profile, as a student has; it only quiets ipykernel's warning about TCP.
        profile = Path(folder) / ".ipython" / "profile_default"
        profile.mkdir(parents=True)
        (profile / "ipython_kernel_config.py").write_text(KERNEL_CONFIG.read_text(encoding="utf-8"))
        kernel_env["IPYTHONDIR"] = str(profile.parent)
        work = Path(folder) / "work"
        work.mkdir()
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(work)}})
        start = time.perf_counter()
        try:
            client.execute(env=kernel_env)
            if student:
                run.status, run.detail = "fail", "a student notebook ran to the end: no blank raised"
        except CellExecutionError as error:
            message = str(error)
            if student and all(part in message for part in BLANK_ERROR):
                run.detail = "stopped at its first blank, as it should"
            else:
                run.status = "fail"
                run.detail = f"{error.ename}: {error.evalue}"[:500]
        except Exception as error:  # a timeout or a dead kernel
            run.status, run.detail = "fail", f"{type(error).__name__}: {error}"[:500]
        run.seconds = round(time.perf_counter() - start, 1)
    run.numbers = glued_numbers(nb)
    return run


def spread(runs: list[Run]) -> dict[str, tuple[float, float]]:
    """For each glued number, its smallest and largest value over the runs of one notebook."""
    values: dict[str, list[float]] = {}
    for run in runs:
        for key, value in run.numbers.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                values.setdefault(key, []).append(float(value))
    return {key: (min(v), max(v)) for key, v in values.items()}


def built_glue(built: Path) -> dict[str, object]:
    """The values a site build glued: myst-nb 1.x moves the glue outputs out of the executed notebook
    into ``<name>.glue.json`` beside it (older versions left them in the notebook)."""
    store = built.with_suffix(".glue.json")
    if store.is_file():
        outputs = json.loads(store.read_text(encoding="utf-8"))
        return {name: output_value(output) for name, output in outputs.items()}
    return glued_numbers(nbformat.read(built, as_version=4))


def compare_with_build(runs: list[Run], executed: Path) -> dict[str, dict[str, tuple[object, object]]]:
    """Glued numbers of the native runs that differ from the site build's executed notebooks
    (``_build/jupyter_execute``): two cold executions on one machine must agree exactly."""
    differences = {}
    for run in runs:
        built = executed / Path(run.notebook).with_suffix(".ipynb")
        if run.path != "native" or run.status != "pass" or not built.is_file():
            continue
        theirs = built_glue(built)
        diff = {k: (theirs.get(k), v) for k, v in run.numbers.items() if theirs.get(k) != v}
        if diff:
            differences[run.notebook] = diff
    return differences


def summary(runs: list[Run], paths: list[str]) -> str:
    by_notebook: dict[str, dict[str, Run]] = {}
    for run in runs:
        by_notebook.setdefault(run.notebook, {})[run.path] = run
    width = max(len(n) for n in by_notebook) if by_notebook else 10
    lines = [f"{'notebook':<{width}}  " + "  ".join(f"{p:>14}" for p in paths)]
    for name, row in by_notebook.items():
        cells = []
        for p in paths:
            r = row.get(p)
            cells.append(f"{'-':>14}" if r is None else f"{r.status + f' {r.seconds:.0f}s':>14}")
        lines.append(f"{name:<{width}}  " + "  ".join(cells))
    failures = [r for r in runs if r.status != "pass"]
    for r in failures:
        lines.append(f"FAILED {r.notebook} [{r.path}]: {r.detail}")
    lines.append("")
    lines.append("headline numbers (glued), smallest .. largest over the paths:")
    for name, row in by_notebook.items():
        for key, (lo, hi) in spread(list(row.values())).items():
            lines.append(f"  {name}  {key}: {lo:.6g} .. {hi:.6g}")
    lines.append("")
    lines.append(f"{len(runs) - len(failures)} passed, {len(failures)} failed")
    return "\n".join(lines)


def merge(tables: list[Path], out: Path) -> int:
    """One table from several (e.g. runs over parts of the course): the last run of each
    notebook and path wins."""
    latest: dict[tuple[str, str], Run] = {}
    reports = [json.loads(t.read_text(encoding="utf-8")) for t in tables]
    for report in reports:
        for r in report["runs"]:
            latest[r["notebook"], r["path"]] = Run(**r)
    runs = list(latest.values())
    paths = list(dict.fromkeys(r.path for r in runs))
    merged = {"machine": reports[-1]["machine"], "paths": {k: v for r in reports for k, v in r["paths"].items()},
              "runs": [asdict(r) for r in runs],
              "spread": {nb: spread([r for r in runs if r.notebook == nb]) for nb in dict.fromkeys(r.notebook for r in runs)}}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(merged, indent=2, default=str) + "\n", encoding="utf-8")
    print(summary(runs, paths))
    print(f"table written to {out}")
    return 0 if all(r.status == "pass" for r in runs) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: all of the book)")
    parser.add_argument("--paths", help="comma-separated subset of " + ",".join(PATHS))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "robustness.json")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per notebook run")
    parser.add_argument("--merge", nargs="+", type=Path, metavar="JSON",
                        help="run nothing: merge earlier tables (later runs of a notebook and path win)")
    parser.add_argument("--twins", action="store_true",
                        help="run the .ipynb twins of MyST pages (what Colab opens) instead of the pages")
    args = parser.parse_args(argv)

    if args.merge:
        return merge(args.merge, args.out)
    capability = cpu_capability()
    paths = args.paths.split(",") if args.paths else available_paths(capability)
    unknown = [p for p in paths if p not in PATHS]
    if unknown:
        parser.error(f"unknown path(s) {unknown}; known: {', '.join(PATHS)}")
    notebooks = [p.resolve() for p in args.notebooks] or course_notebooks(twins=args.twins)
    missing = [str(p) for p in notebooks if not p.is_file()]
    if missing:
        parser.error(f"no such notebook: {', '.join(missing)}")

    jobs = [(nb, p) for nb in notebooks for p in paths]
    print(f"torch CPU capability here: {capability}; {len(notebooks)} notebook(s) x {len(paths)} path(s) "
          f"({', '.join(paths)}), {args.jobs} at a time", flush=True)

    def one(job: tuple[Path, str]) -> Run:
        run = execute(job[0], job[1], PATHS[job[1]], timeout=args.timeout)
        print(f"  {run.status:4s} {run.seconds:6.1f}s  {run.notebook} [{run.path}]"
              + (f"  {run.detail}" if run.status != "pass" else ""), flush=True)
        return run

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        runs = list(pool.map(one, jobs))

    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": {"cpu_capability": capability, "platform": platform.platform(),
                    "processor": platform.processor(), "python": platform.python_version()},
        "paths": {p: PATHS[p] for p in paths},
        "runs": [asdict(r) for r in runs],
        "spread": {nb: spread([r for r in runs if r.notebook == nb])
                   for nb in dict.fromkeys(r.notebook for r in runs)},
    }
    executed = ROOT / "_build" / "jupyter_execute"
    if "native" in paths and executed.is_dir():
        report["differs_from_build"] = compare_with_build(runs, executed)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    print()
    print(summary(runs, paths))
    if "differs_from_build" in report:
        compared = sum(1 for r in runs if r.path == "native" and r.numbers)
        print(f"glued numbers of the native runs against the last site build ({executed}): "
              f"{len(report['differs_from_build'])} of {compared} notebook(s) differ")
        for name, diff in report["differs_from_build"].items():
            print(f"  {name}: " + ", ".join(f"{k} build {a} vs now {b}" for k, (a, b) in diff.items()))
    print(f"table written to {args.out}")
    return 0 if all(r.status == "pass" for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
