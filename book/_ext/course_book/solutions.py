"""Solutions published only after their deadline, and assignments only from their opening date.

A deadline in ``book/agenda.yml`` may name a ``solution`` page next to its ``page``. Until the build
date (``COURSE_TODAY``, else today) reaches the day after the due day:

- the solution page is built from a short notice instead of its source (``source-read``), so no
  solution text reaches the HTML, the search index or the downloadable notebook; the page keeps no
  copy of its source, no download and no launch buttons;
- the deadline's page carries a box saying when the solution will appear.

From that day on, the solution page is the executed solution and the box links to it. Both pages are
re-read on every build, so the daily scheduled build publishes a solution without anyone acting.

A deadline may also have an ``opens`` date (the guided projects do). Before it, the deadline's own page
is built from a notice saying when it opens, with the same guarantees: no statement, starter notebook,
source copy or search words of it are published, and the daily build publishes it on that day.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

from .agenda_data import Deadline, Term, format_day, format_due
from .agenda_sphinx import _doc_link, _para


def _term(app: Sphinx) -> Term:
    return app.course_term  # type: ignore[attr-defined]


def _with_solutions(app: Sphinx) -> list[Deadline]:
    return [d for d in _term(app).deadlines if d.solution]


def unreleased(app: Sphinx) -> dict[str, Deadline]:
    """Solution docname -> its deadline, for solutions not yet published at the build date."""
    term, today = _term(app), app.course_today  # type: ignore[attr-defined]
    return {d.solution: d for d in _with_solutions(app) if not d.released(today, term.tz)}


def unopened(app: Sphinx) -> dict[str, Deadline]:
    """Assignment docname -> its deadline, for pages whose opening date is after the build date."""
    today = app.course_today  # type: ignore[attr-defined]
    return {d.page: d for d in _term(app).deadlines if d.page and not d.is_open(today)}


def withheld(app: Sphinx) -> set[str]:
    """Every page built from a notice at this build date: unreleased solutions and unopened assignments."""
    return set(unreleased(app)) | set(unopened(app))


def opens_markdown(deadline: Deadline, term: Term, agenda: str) -> str:
    return (f"# {deadline.title}\n\n"
            f"```{{note}}\nThis assignment opens on {format_day(deadline.opens)}: its statement, its "
            "starter notebook and its self-checks are published on this page that day. It is due "
            f"{format_due(deadline, term.tz)}; the {{doc}}`agenda </{agenda}>` lists every date.\n```\n")


def notice_markdown(deadline: Deadline, term: Term) -> str:
    release = format_day(deadline.release_date(term.tz))
    return (f"# {deadline.title} (solution)\n\n"
            f"```{{note}}\nThe worked solution is published on this page after the deadline: "
            f"on {release}. The deadline is {format_due(deadline, term.tz)}; see "
            f"{{doc}}`the assignment </{deadline.page}>`.\n```\n")


def notice_notebook(markdown: str) -> str:
    """The stand-in for a withheld notebook: one markdown cell, nothing to execute."""
    notebook = {"cells": [{"cell_type": "markdown", "id": "notice", "metadata": {},
                           "source": markdown}],
                "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                            "name": "python3"}},
                "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(notebook, indent=1)


def hide_unreleased(app: Sphinx, docname: str, source: list[str]) -> None:
    term = _term(app)
    if (deadline := unreleased(app).get(docname)) is not None:
        markdown = notice_markdown(deadline, term)
    elif (deadline := unopened(app).get(docname)) is not None:
        markdown = opens_markdown(deadline, term, app.config.course_agenda_page)
    else:
        return
    path = Path(app.env.doc2path(docname))
    source[0] = notice_notebook(markdown) if path.suffix == ".ipynb" else markdown


def always_reread(app: Sphinx, env: BuildEnvironment, added: set, changed: set, removed: set) -> list[str]:
    """Release depends on the date, not on the files: re-read solutions and their assignments."""
    docs = {d.solution for d in _with_solutions(app)} | {d.page for d in _with_solutions(app)}
    docs |= {d.page for d in _term(app).deadlines if d.page and d.opens}
    return sorted(doc for doc in docs if doc in env.found_docs and doc not in removed)


def status_box(app: Sphinx, doctree: nodes.document) -> None:
    """On an assignment page: its deadline, how to submit, and when its solution appears (or a link)."""
    docname = app.env.docname
    term, today = _term(app), app.course_today  # type: ignore[attr-defined]
    for deadline in _with_solutions(app):
        if deadline.page != docname:
            continue
        passed = today > deadline.due.astimezone(term.tz).date()
        box = nodes.admonition(classes=["course-deadline", "course-solution-status",
                                        "note" if passed else "important"])
        box += nodes.title("", "Deadline" + (" (passed)" if passed else ""))
        box += _para(nodes.strong("", "Due: "), format_due(deadline, term.tz)
                     + (", a hard deadline." if deadline.hard else "."))
        if deadline.submit:
            box += _para(nodes.strong("", "Submit: "), deadline.submit + ".")
        if deadline.released(today, term.tz):
            box += _para(nodes.strong("", "Solution: "),
                         _doc_link(deadline.solution, docname, "the worked solution"), " is published.")
        else:
            box += _para(nodes.strong("", "Solution: "),
                         "the worked solution will be published on this site after the deadline, "
                         f"on {format_day(deadline.release_date(term.tz))}.")
        section = next(iter(doctree.findall(nodes.section)), None)
        if section is None:
            doctree.insert(0, box)
        else:
            title = next((i for i, child in enumerate(section.children) if isinstance(child, nodes.title)), -1)
            section.insert(title + 1, box)


def strip_unreleased_page(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                          doctree: Any) -> None:
    """No source copy, download or launch buttons on a page that is only a notice (an unreleased
    solution or an unopened assignment).

    Runs before sphinx-book-theme builds its header buttons (priority 501)."""
    if pagename not in withheld(app):
        return
    context["sourcename"] = ""
    context["page_source_suffix"] = ""  # no suffix, no download menu (it would link to _sources/)
    app.env.metadata.get(pagename, {}).pop("kernelspec", None)


def remove_stale_output(app: Sphinx, exception: Exception | None) -> None:
    """Delete what an earlier build, dated after a release, left of a solution that is now unreleased.

    Sphinx rewrites the pages it builds but never deletes files: a rebuild dated before a deadline
    would keep the full solution's ``_sources`` copy and the images of its outputs. Images that no
    page of this build references are removed too (they can only come from pages built earlier), and
    so are the search index's words that no page of this build holds."""
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    for docname in withheld(app):
        for stale in (out / "_sources").glob(f"{docname}.*"):
            stale.unlink()
    images = out / "_images"
    if images.is_dir():
        referenced = set()
        for page in out.rglob("*.html"):
            referenced.update(re.findall(r"_images/([^\"'?#\s)]+)", page.read_text(encoding="utf-8", errors="replace")))
        for image in images.iterdir():
            if image.is_file() and image.name not in referenced:
                image.unlink()
    index = out / "searchindex.js"
    if index.is_file():
        index.write_text(prune_search_index(index.read_text(encoding="utf-8")), encoding="utf-8")


SEARCH_PREFIX, SEARCH_SUFFIX = "Search.setIndex(", ")"


def prune_search_index(text: str) -> str:
    """Drop the words of the search index that no page holds any more.

    Sphinx updates ``searchindex.js`` in place: a page read again loses its documents from each word's
    list, but the word itself stays, with an empty list. A rebuild dated before a release would then
    keep every word of the solution an earlier build indexed (identifiers of its code, words of its
    answers), searchable by anyone who reads the file."""
    if not (text.startswith(SEARCH_PREFIX) and text.rstrip().endswith(SEARCH_SUFFIX)):
        return text  # not the format this knows: leave it to the leak tests
    body = text[len(SEARCH_PREFIX):text.rstrip().rindex(SEARCH_SUFFIX)]
    data = json.loads(body)
    changed = False
    for key in ("terms", "titleterms"):
        words = data.get(key)
        if isinstance(words, dict):
            kept = {word: docs for word, docs in words.items() if docs != []}
            changed |= len(kept) != len(words)
            data[key] = kept
    if not changed:
        return text
    return SEARCH_PREFIX + json.dumps(data, sort_keys=True) + SEARCH_SUFFIX  # as Sphinx writes it


def setup(app: Sphinx) -> None:
    app.connect("source-read", hide_unreleased)
    app.connect("env-get-outdated", always_reread)
    app.connect("doctree-read", status_box)
    app.connect("html-page-context", strip_unreleased_page, priority=400)
    app.connect("build-finished", remove_stale_output)
