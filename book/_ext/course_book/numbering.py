"""Number figures, tables, code listings and equations from 1 on every page.

Without numbered chapters Sphinx counts figures and equations across the whole book, so the first
figure of lecture 2 would be "Fig. 20". Each lecture is read on its own, so each page starts at 1;
cross-references ({numref}, {eq}) use the same numbers because they read the same table.
"""
from __future__ import annotations

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment


def renumber_per_page(app: Sphinx, env: BuildEnvironment) -> list[str]:
    for types in env.toc_fignumbers.values():
        for figtype, numbers in types.items():
            ordered = sorted(numbers.items(), key=lambda item: item[1])
            types[figtype] = {node_id: (index,) for index, (node_id, _) in enumerate(ordered, start=1)}
    return []


def setup(app: Sphinx) -> None:
    # After Sphinx's own TocTreeCollector has assigned the book-wide numbers.
    app.connect("env-get-updated", renumber_per_page, priority=900)
