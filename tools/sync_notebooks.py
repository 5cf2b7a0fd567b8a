"""Keep the .ipynb twin of every MyST notebook in the table of contents in sync.

Colab, Binder and the download button need an ``.ipynb``; the source of truth is the ``.md``.
``python tools/sync_notebooks.py`` rewrites the twins; ``--check`` only reports the ones that are
missing or differ (the test suite uses the same functions).
"""
from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import yaml

import generated

ROOT = Path(__file__).resolve().parent.parent


def toc_files(root: Path = ROOT) -> list[Path]:
    """Every source file named in ``_toc.yml``, in order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    names: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    names.append(node[key])
            for value in node.values():
                if isinstance(value, (list, dict)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    files = []
    for name in names:
        for suffix in (".md", ".ipynb", ".rst"):
            if (root / f"{name}{suffix}").is_file():
                files.append(root / f"{name}{suffix}")
                break
        else:
            raise FileNotFoundError(f"_toc.yml names '{name}' but no {name}.md/.ipynb/.rst exists")
    return files


def is_myst_notebook(path: Path) -> bool:
    """A markdown file with a jupytext header and a kernelspec is executed as a notebook."""
    if path.suffix != ".md":
        return False
    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return False
    header = text.split("---", 2)[1]
    return "kernelspec:" in header


def notebooks(root: Path = ROOT) -> list[Path]:
    return [p for p in toc_files(root) if is_myst_notebook(p)]


def twin(path: Path) -> Path:
    return path.with_suffix(".ipynb")


def expected_ipynb(path: Path) -> str:
    """The .ipynb text the MyST source yields (no outputs: the site shows executed ones)."""
    import jupytext  # here, not at the top: tools/robustness.py lists notebooks on Colab without it

    nb = jupytext.read(path, fmt="md:myst")
    nb.metadata.setdefault("jupytext", {})
    nb.metadata["jupytext"] = {"text_representation": nb.metadata["jupytext"].get("text_representation", {})}
    for index, cell in enumerate(nb.cells):  # stable ids: jupytext makes random ones
        cell["id"] = f"cell-{index}"
    return nbformat.writes(nb, version=4) + "\n"


def outputs(root: Path = ROOT) -> Iterator[generated.Output]:
    for md in notebooks(root):
        yield twin(md), md, expected_ipynb(md)


def drifted(root: Path = ROOT) -> list[str]:
    """Notebooks whose twin is missing or out of date, as 'path: problem' lines."""
    return generated.drift(outputs(root), root)


def main() -> int:
    return generated.main(__doc__, outputs, ROOT, "all notebook twins are in sync")


if __name__ == "__main__":
    sys.exit(main())
