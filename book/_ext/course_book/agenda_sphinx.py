"""Sphinx side of the agenda: directives, a role, the calendar feed and date-driven rebuilds.

- ``{agenda-table}``: the term as a table, past rows distinct from upcoming ones.
- ``{next-up}``: the next session and the next deadline as of the build date.
- ``{deadline} <id>``: the deadline box of a homework or project page; ``{deadline}`<id>``` inline.
- ``agenda.ics`` is written at the root of the HTML output.

The build date comes from ``COURSE_TODAY`` (YYYY-MM-DD) or today's date; pages that use these
directives are re-read on every build because their content depends on that date.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective, SphinxRole

from .agenda_data import (AgendaError, Deadline, Session, Term, build_date, chronological, format_day, format_due,
                          load_agenda)
from .ical import render_ics, revision_time

ICS_NAME = "agenda.ics"
logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- state


def _term(env: BuildEnvironment) -> Term:
    term = getattr(env.app, "course_term", None)
    if term is None:  # loaded in builder-inited; this only guards against misuse
        raise ExtensionError("the course agenda was not loaded")
    return term


def _today(env: BuildEnvironment) -> dt.date:
    return env.app.course_today  # type: ignore[attr-defined]


def load_term(app: Sphinx) -> None:
    """Load and validate the agenda once per build; a bad file stops the build with its message.

    The message is the whole report: one ``ERROR:`` line naming the file, line, column, entry and
    field. An exception would add tracebacks: Sphinx prints an ``ExtensionError`` with its category,
    and Jupyter Book then raises its own error from it, two tracebacks ending in "Look above for the
    cause". So the error is logged (``-W`` must not turn the log record itself into an exception) and
    the build ends with exit status 1, which neither Sphinx nor Jupyter Book catches.
    """
    path = Path(app.srcdir) / app.config.course_agenda_file
    try:
        term = load_agenda(path, root=Path(app.srcdir), source=app.config.course_agenda_file)
        app.course_today = build_date(term.tz)  # type: ignore[attr-defined]
    except AgendaError as exc:
        with logging.skip_warningiserror():
            logger.error(str(exc))
        raise SystemExit(1) from None
    app.course_term = term  # type: ignore[attr-defined]


def _note_user(directive: SphinxDirective | SphinxRole) -> None:
    env = directive.env
    if not hasattr(env, "course_agenda_docs"):
        env.course_agenda_docs = set()  # type: ignore[attr-defined]
    env.course_agenda_docs.add(env.docname)  # type: ignore[attr-defined]
    env.note_dependency(str(Path(env.srcdir) / env.app.config.course_agenda_file))


def always_reread(app: Sphinx, env: BuildEnvironment, added: set, changed: set, removed: set) -> list[str]:
    return sorted(getattr(env, "course_agenda_docs", set()) - removed)


def purge_doc(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    getattr(env, "course_agenda_docs", set()).discard(docname)


def merge_info(app: Sphinx, env: BuildEnvironment, docnames: set, other: BuildEnvironment) -> None:
    if not hasattr(env, "course_agenda_docs"):
        env.course_agenda_docs = set()  # type: ignore[attr-defined]
    env.course_agenda_docs |= getattr(other, "course_agenda_docs", set())  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- node helpers


def _doc_link(page: str, docname: str, text: str | None = None) -> nodes.Node:
    """A cross-reference to a page of the book, resolved (and checked) like the {doc} role."""
    ref = addnodes.pending_xref("", refdomain="std", reftype="doc", reftarget="/" + page,
                                refexplicit=text is not None, refwarn=True, refdoc=docname)
    ref += nodes.inline(text or page, text or page)
    return ref


def _titled(title: str, page: str | None, docname: str) -> nodes.Node:
    return _doc_link(page, docname, title) if page else nodes.Text(title)


def _relative_uri(docname: str, target: str) -> str:
    return "../" * docname.count("/") + target


def _para(*children: nodes.Node | str, classes: list[str] | None = None) -> nodes.paragraph:
    para = nodes.paragraph(classes=classes or [])
    for child in children:
        para += nodes.Text(child) if isinstance(child, str) else child
    return para


def _when(value: dt.datetime, tz: Any) -> str:
    local = value.astimezone(tz)
    return f"{local:%A} {local.day} {local:%B %Y}, {local:%H:%M}"


def _relative_day(day: dt.date, today: dt.date) -> str:
    delta = (day - today).days
    if delta == 0:
        return "today"
    if delta == 1:
        return "tomorrow"
    return f"in {delta} days"


# --------------------------------------------------------------------------- agenda table


class AgendaTable(SphinxDirective):
    """The whole term as a table, one row per session and per deadline."""

    has_content = False
    option_spec = {"class": directives.class_option}

    def run(self) -> list[nodes.Node]:
        _note_user(self)
        term, today = _term(self.env), _today(self.env)
        docname = self.env.docname
        intro = _para(
            f"All times are local time in {term.timezone}. This page was built as of "
            f"{today:%A} {today.day} {today:%B %Y}; past sessions are greyed out, deadlines are "
            "highlighted. ",
            nodes.reference("", "Add the agenda to your calendar (agenda.ics)",
                            refuri=_relative_uri(docname, ICS_NAME), classes=["agenda-ics-link"]),
            ": import the file into Google Calendar, Outlook or Apple Calendar.")
        table = nodes.table(classes=["agenda-table", "table"] + self.options.get("class", []))
        headers = ["Date", "Time", "Session or deadline", "Material", "Where / how"]
        group = nodes.tgroup(cols=len(headers))
        table += group
        for width in (14, 10, 36, 26, 14):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        head += self._row([nodes.Text(h) for h in headers], [])
        group += head
        body = nodes.tbody()
        for item in chronological(term):
            if isinstance(item, Session):
                body += self._session_row(term, item, today, docname)
            else:
                body += self._deadline_row(term, item, today, docname)
        group += body
        return [intro, table]

    @staticmethod
    def _row(cells: list[nodes.Node], classes: list[str]) -> nodes.row:
        row = nodes.row(classes=classes)
        for content in cells:
            entry = nodes.entry()
            entry += content if isinstance(content, nodes.Body) else _para(content)
            row += entry
        return row

    def _session_row(self, term: Term, s: Session, today: dt.date, docname: str) -> nodes.row:
        state = term.state(s.start, today)
        what = nodes.bullet_list(classes=["agenda-items"])
        for title, page in s.items():
            what += nodes.list_item("", _para(_titled(title, page, docname)))
        for d in term.opening_at(s):
            what += nodes.list_item("", _para(nodes.strong("", "Opens: "), _titled(d.title, d.page, docname),
                                              classes=["agenda-opens"]))
        material = nodes.bullet_list(classes=["agenda-items"])
        for lec in s.lectures:
            for code in lec.code:
                material += nodes.list_item("", _para(_doc_link(code, docname)))
            if lec.slides:
                material += nodes.list_item("", _para(nodes.reference(
                    "", f"Slides, lecture {lec.number} (PDF)", refuri=lec.slides)))
            if lec.video:
                material += nodes.list_item("", _para(nodes.reference(
                    "", f"Video, lecture {lec.number}", refuri=lec.video)))
        date_cell = _para(f"{s.start:%a} {s.start.day} {s.start:%b %Y}")
        if state == "past":
            date_cell += nodes.inline("", " (done)", classes=["agenda-badge"])
        elif state == "today":
            date_cell += nodes.inline("", " (today)", classes=["agenda-badge"])
        time_cell = _para(f"{s.start:%H:%M}–{s.end:%H:%M}")
        return self._row([date_cell, time_cell, what if len(what) else _para(""),
                          material if len(material) else _para("–"), _para(s.room)],
                         ["agenda-session", f"agenda-{state}"])

    def _deadline_row(self, term: Term, d: Deadline, today: dt.date, docname: str) -> nodes.row:
        state = term.state(d.due, today)
        local = d.due.astimezone(term.tz)
        date_cell = _para(f"{local:%a} {local.day} {local:%b %Y}")
        if state == "past":
            date_cell += nodes.inline("", " (passed)", classes=["agenda-badge"])
        what = _para(nodes.strong("", "Due: "), _titled(d.title, d.page, docname))
        if d.hard:
            what += nodes.inline("", " (hard deadline)", classes=["agenda-hard"])
        return self._row([date_cell, _para(f"{local:%H:%M}"), what, _para("–"),
                          _para(d.submit or "")],
                         ["agenda-deadline", f"agenda-{state}", f"agenda-kind-{d.kind}"])


# --------------------------------------------------------------------------- next up


class NextUp(SphinxDirective):
    """The next session and the next deadline as of the build date, or that the term is over."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        _note_user(self)
        term, today = _term(self.env), _today(self.env)
        docname = self.env.docname
        box = nodes.admonition(classes=["course-next-up", "tip"])
        box += nodes.title("", f"Next up (as of {today:%A} {today.day} {today:%B %Y})")
        if term.is_over(today):
            box += _para(f"The {term.name} term is over. Every lecture, notebook and exercise stays "
                         "online; the ", _doc_link(self.config.course_agenda_page, docname, "agenda"),
                         " shows what was covered when.", classes=["next-up-over"])
            return [box]
        session = term.next_session(today)
        if session is not None:
            what: list[nodes.Node | str] = [nodes.strong("", "Next session: ")]
            what.append(f"{_when(session.start, term.tz)} ({_relative_day(session.start.date(), today)}), "
                        f"{session.room}: ")
            for i, (title, page) in enumerate(session.items()):
                if i:
                    what.append("; ")
                what.append(_titled(title, page, docname))
            what.append(".")
            box += _para(*what, classes=["next-up-session"])
        else:
            box += _para(nodes.strong("", "Next session: "), "none, the last session has taken place.",
                         classes=["next-up-session"])
        deadline = term.next_deadline(today)
        if deadline is not None:
            due_day = deadline.due.astimezone(term.tz).date()
            box += _para(nodes.strong("", "Next deadline: "), _titled(deadline.title, deadline.page, docname),
                         f", due {_when(deadline.due, term.tz)} ({_relative_day(due_day, today)})"
                         + (", a hard deadline." if deadline.hard else "."),
                         classes=["next-up-deadline"])
        else:
            box += _para(nodes.strong("", "Next deadline: "), "none left this term.",
                         classes=["next-up-deadline"])
        box += _para("Full schedule: ", _doc_link(self.config.course_agenda_page, docname, "the agenda"), ".")
        return [box]


# --------------------------------------------------------------------------- deadlines on pages


def _deadline_or_error(term: Term, deadline_id: str, where: str) -> Deadline:
    try:
        return term.deadline(deadline_id)
    except AgendaError as exc:
        raise ExtensionError(f"{where}: {exc}") from None


class DeadlineBox(SphinxDirective):
    """The deadline of a homework or project page, taken from the agenda: ``{deadline} homework-1``."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        _note_user(self)
        term, today = _term(self.env), _today(self.env)
        where = f"{self.env.doc2path(self.env.docname)}:{self.lineno}"
        d = _deadline_or_error(term, self.arguments[0], where)
        state = term.state(d.due, today)
        box = nodes.admonition(classes=["course-deadline", "important" if state != "past" else "note",
                                        f"agenda-{state}"])
        box += nodes.title("", "Deadline" + (" (passed)" if state == "past" else ""))
        box += _para(nodes.strong("", f"{d.title}: "), f"due {format_due(d, term.tz)}"
                     + (", a hard deadline: no late submission is accepted." if d.hard else "."))
        if d.submit:
            box += _para(nodes.strong("", "Submit: "), d.submit + ".")
        return [box]


class DeadlineRole(SphinxRole):
    """Inline due date: ``{deadline}`homework-1``` gives 'Monday 6 March 2023, 23:59 (Europe/Brussels)'."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        _note_user(self)
        term = _term(self.env)
        where = f"{self.env.doc2path(self.env.docname)}:{self.lineno}"
        d = _deadline_or_error(term, self.text.strip(), where)
        return [nodes.inline("", format_due(d, term.tz), classes=["course-due"])], []


class OpensRole(SphinxRole):
    """Inline opening day: ``{opens}`guided-project-1``` gives 'Friday 3 February 2023'."""

    def run(self) -> tuple[list[nodes.Node], list[nodes.system_message]]:
        _note_user(self)
        term = _term(self.env)
        where = f"{self.env.doc2path(self.env.docname)}:{self.lineno}"
        d = _deadline_or_error(term, self.text.strip(), where)
        if d.opens is None:
            raise ExtensionError(f"{where}: {{opens}}`{d.id}`: {term.source} gives this deadline no 'opens' date")
        return [nodes.inline("", format_day(d.opens), classes=["course-opens"])], []


# --------------------------------------------------------------------------- calendar feed


def write_ics(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    term: Term = app.course_term  # type: ignore[attr-defined]
    try:  # stamped with the agenda's revision time, so that rebuilding an unchanged agenda changes nothing
        stamp = revision_time(Path(app.srcdir) / app.config.course_agenda_file)
    except AgendaError as exc:
        raise ExtensionError(f"calendar feed: {exc}") from None
    (Path(app.outdir) / ICS_NAME).write_bytes(render_ics(term, stamp).encode("utf-8"))


def setup(app: Sphinx) -> None:
    app.add_config_value("course_agenda_file", "book/agenda.yml", "env", [str])
    app.add_config_value("course_agenda_page", "book/agenda", "env", [str])
    app.connect("builder-inited", load_term)
    app.connect("env-get-outdated", always_reread)
    app.connect("env-purge-doc", purge_doc)
    app.connect("env-merge-info", merge_info)
    app.connect("build-finished", write_ics)
    app.add_directive("agenda-table", AgendaTable)
    app.add_directive("next-up", NextUp)
    app.add_directive("deadline", DeadlineBox)
    app.add_role("deadline", DeadlineRole())
    app.add_role("opens", OpensRole())
