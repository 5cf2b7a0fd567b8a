"""What the scripts that write generated files share: compare them with their sources, or write them.

Each script yields ``(target, source, expected text)`` triples; ``drift`` lists the targets that are
missing or stale, ``main`` is the command line (``--check`` reports, otherwise only changed files
are written).
"""
from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from pathlib import Path

# (target, what it is made from, expected text). The source is a path, or a text that names the cause
# when a script knows it better (e.g. "book/agenda.yml (the deadline)").
Output = tuple[Path, Path | str, str]


def drift(outputs: Iterable[Output], root: Path) -> list[str]:
    problems = []
    for target, source, text in outputs:
        rel = target.relative_to(root)
        if not target.is_file():
            problems.append(f"{rel}: missing (run `make notebooks`)")
        elif target.read_text(encoding="utf-8") != text:
            cause = source if isinstance(source, str) else source.relative_to(root)
            problems.append(f"{rel}: out of date with {cause} (run `make notebooks`)")
    return problems


def main(doc: str | None, outputs: Callable[[], Iterable[Output]], root: Path, in_sync: str) -> int:
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--check", action="store_true", help="report drift, write nothing")
    if parser.parse_args().check:
        problems = drift(outputs(), root)
        print("\n".join(problems) or in_sync)
        return 1 if problems else 0
    for target, _, text in outputs():
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target.relative_to(root)}")
    return 0
