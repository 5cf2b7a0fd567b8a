"""The term's agenda: load ``book/agenda.yml``, validate it, and answer date questions.

Nothing here imports Sphinx, so the validation rules are unit-tested directly. Every error is an
:class:`AgendaError` whose one-line message names the file, the line and column in it (when the data
came from the file), the entry (numbered from 1, as a person counts) and the field, e.g.::

    book/agenda.yml:72:5: session 2 (2023-02-30): field 'date': impossible date '2023-02-30'
"""
from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

DEADLINE_KINDS = ("homework", "guided-project", "proposal", "project", "reading-assignment", "exam")
PAGE_SUFFIXES = (".md", ".ipynb", ".rst")

TERM_KEYS = {"name": True, "slug": True, "timezone": True, "time": True, "minutes": True, "room": True,
             "url": False}
LECTURE_KEYS = {"title": True, "page": False, "code": False, "slides": False, "video": False}
SESSION_KEYS = {"id": False, "date": True, "time": False, "minutes": False, "room": False,
                "lectures": False, "activities": False, "tutorials": False, "exercises": False}
ACTIVITY_KEYS = {"title": True, "page": False}
DEADLINE_KEYS = {"id": True, "title": True, "kind": True, "due": True, "page": False,
                 "introduced": False, "hard": False, "submit": False, "solution": False, "opens": False}
TOP_KEYS = {"term": True, "lectures": True, "sessions": True, "deadlines": True}


class AgendaError(ValueError):
    """A problem in the agenda file, with the file, entry and field in its message."""


@dataclass(frozen=True)
class Link:
    """A titled item that may point at a page of the book (a docname such as ``book/syllabus``)."""

    title: str
    page: str | None = None


@dataclass(frozen=True)
class Lecture:
    number: int
    title: str
    page: str | None
    code: tuple[str, ...]
    slides: str | None
    video: str | None

    @property
    def label(self) -> str:
        return f"Lecture {self.number}: {self.title}"


@dataclass(frozen=True)
class Session:
    id: str
    start: dt.datetime  # aware, in the term's time zone
    minutes: int
    room: str
    lectures: tuple[Lecture, ...]
    activities: tuple[Link, ...]
    tutorials: tuple[Link, ...]
    exercises: tuple[Link, ...] = ()

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(minutes=self.minutes)

    @property
    def summary(self) -> str:
        parts = [a.title for a in self.activities] + [lec.label for lec in self.lectures]
        parts += [f"Tutorial: {t.title}" for t in self.tutorials]
        parts += [f"Exercise {e.title}" for e in self.exercises]
        return "; ".join(parts)

    def items(self) -> list[tuple[str, str | None]]:
        """Everything the session holds, as (label, page) in display order."""
        return ([(a.title, a.page) for a in self.activities] + [(lec.label, lec.page) for lec in self.lectures]
                + [(f"Tutorial: {t.title}", t.page) for t in self.tutorials]
                + [(f"Exercise {e.title}", e.page) for e in self.exercises])


@dataclass(frozen=True)
class Deadline:
    id: str
    title: str
    kind: str
    due: dt.datetime  # aware
    page: str | None
    introduced: str | None  # id of the session that introduces it
    hard: bool
    submit: str | None
    solution: str | None = None  # page published only once the deadline has passed
    opens: dt.date | None = None  # the deadline's page is published only from this day on

    def is_open(self, today: dt.date) -> bool:
        """Whether the deadline's page is published on ``today`` (always, without an ``opens`` date)."""
        return self.opens is None or today >= self.opens

    def release_date(self, tz: ZoneInfo) -> dt.date:
        """The first build date on which the solution is published: the day after the due day."""
        return self.due.astimezone(tz).date() + dt.timedelta(days=1)

    def released(self, today: dt.date, tz: ZoneInfo) -> bool:
        return today >= self.release_date(tz)


@dataclass(frozen=True)
class Term:
    name: str
    slug: str
    timezone: str
    url: str | None
    lectures: dict[int, Lecture]
    sessions: tuple[Session, ...]
    deadlines: tuple[Deadline, ...]
    source: str = "book/agenda.yml"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def deadline(self, deadline_id: str) -> Deadline:
        for d in self.deadlines:
            if d.id == deadline_id:
                return d
        known = ", ".join(d.id for d in self.deadlines)
        raise AgendaError(f"{self.source}: no deadline with id '{deadline_id}' (known: {known})")

    def session(self, session_id: str) -> Session:
        for s in self.sessions:
            if s.id == session_id:
                return s
        raise AgendaError(f"{self.source}: no session with id '{session_id}'")

    def state(self, when: dt.datetime, today: dt.date) -> str:
        """'past', 'today' or 'upcoming' for something happening at ``when``, seen on ``today``."""
        day = when.astimezone(self.tz).date()
        if day < today:
            return "past"
        return "today" if day == today else "upcoming"

    def opening_at(self, session: Session) -> tuple[Deadline, ...]:
        """The assignments with an opening date that this session announces: those whose opening date
        is after the previous session and no later than this one (the first session once they are out)."""
        index = self.sessions.index(session)
        after = self.sessions[index - 1].start.date() if index else dt.date.min
        return tuple(d for d in self.deadlines
                     if d.opens is not None and after < d.opens <= session.start.date())

    def next_session(self, today: dt.date) -> Session | None:
        return next((s for s in self.sessions if s.start.date() >= today), None)

    def next_deadline(self, today: dt.date) -> Deadline | None:
        return next((d for d in self.deadlines if d.due.astimezone(self.tz).date() >= today), None)

    def is_over(self, today: dt.date) -> bool:
        return self.next_session(today) is None and self.next_deadline(today) is None


# --------------------------------------------------------------------------- loading


class _Loader(yaml.SafeLoader):
    """A YAML loader that keeps dates as text.

    Dates stay strings so that an impossible date ('2023-02-30') is reported with its entry and field
    instead of as a bare ``ValueError`` from the YAML parser.
    """


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

KeyPath = tuple[Any, ...]  # keys and list indices from the top of the file to a value: ("sessions", 1, "date")

# Entry names: a list or mapping of entries under these keys is named by its singular, numbered from 1
# for lists (session 2) and by its own key for mappings (lecture 3).
_SINGULAR = {"sessions": "session", "deadlines": "deadline", "lectures": "lecture",
             "activities": "activity", "tutorials": "tutorial", "exercises": "exercise"}
_HINT = {"sessions": "date", "deadlines": "id"}  # shown in brackets after the entry's number


def _child(container: Any, key: Any) -> Any:
    if isinstance(container, dict):
        return container.get(key)
    if isinstance(container, list) and isinstance(key, int) and 0 <= key < len(container):
        return container[key]
    return None


def entry_name(path: KeyPath, data: Any) -> str:
    """How a person names the entry at ``path``: ``()`` is 'top level', ``("sessions", 1)`` is
    'session 2 (2023-02-17)', ``("sessions", 0, "tutorials", 1)`` is 'session 1 (...): tutorial 2'."""
    if not path:
        return "top level"
    names: list[str] = []
    node, rest = data, list(path)
    while rest:
        key = rest.pop(0)
        section = _child(node, key)
        if rest and key in _SINGULAR and isinstance(section, (list, dict)):
            index = rest.pop(0)
            item = _child(section, index)
            number = index + 1 if isinstance(section, list) and isinstance(index, int) else index
            label = f"{_SINGULAR[key]} {number if isinstance(number, int) else repr(number)}"
            hint = item.get(_HINT[key]) if key in _HINT and isinstance(item, dict) else None
            names.append(label if hint is None else f"{label} ({hint})")
            node = item
        else:
            names.append(str(key))
            node = section
    return ": ".join(names)


@dataclass
class Marks:
    """Where each value of the agenda file is: 1-based (line, column) of the value's node and of the key
    that introduces it, by :data:`KeyPath`."""

    nodes: dict[KeyPath, tuple[int, int]]
    keys: dict[KeyPath, tuple[int, int]]

    def find(self, path: KeyPath, fld: str | None = None) -> tuple[int, int] | None:
        """The field's key if it is there, else the entry's key (lecture 3's ``3:``), else the entry."""
        if fld is not None and path + (fld,) in self.keys:
            return self.keys[path + (fld,)]
        return self.keys.get(path) or self.nodes.get(path)


def _at(mark: yaml.Mark) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


def _index_nodes(loader: _Loader, node: yaml.Node, path: KeyPath, marks: Marks,
                 duplicates: list[tuple[KeyPath, Any, tuple[int, int], int]], active: set[int]) -> None:
    """Record the marks of ``node`` and everything under it, and every key repeated in one mapping."""
    if id(node) in active:  # a recursive alias: nothing new below
        return
    marks.nodes.setdefault(path, _at(node.start_mark))
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            try:
                key = loader.construct_object(key_node, deep=True)
                hash(key)
            except (yaml.YAMLError, TypeError):  # a merge key (<<) or an unhashable key
                continue
            if key in seen:
                duplicates.append((path, key, _at(key_node.start_mark), seen[key]))
                continue
            seen[key] = key_node.start_mark.line + 1
            marks.keys[path + (key,)] = _at(key_node.start_mark)
            _index_nodes(loader, value_node, path + (key,), marks, duplicates, active)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_nodes(loader, item, path + (i,), marks, duplicates, active)
    active.discard(id(node))


def _where(source: str, at: tuple[int, int] | None) -> str:
    return f"{source}:{at[0]}:{at[1]}" if at else source


def load_yaml(text: str, source: str) -> tuple[Any, Marks]:
    """Parse the agenda's YAML text: the data (dates as text) and the position of every value.

    A key repeated within one entry is an error (plain YAML loaders keep the last one silently).
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        marks, duplicates = Marks({}, {}), []
        if node is not None:
            _index_nodes(loader, node, (), marks, duplicates, set())
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = "; ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise AgendaError(f"{_where(source, _at(mark) if mark else None)}: not valid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise AgendaError(f"{source}: not valid YAML: {' '.join(str(exc).split())}") from None
    finally:
        loader.dispose()
    if duplicates:
        path, key, at, first = duplicates[0]
        raise AgendaError(f"{_where(source, at)}: {entry_name(path, data)}: key {str(key)!r} appears twice "
                          f"(first on line {first})")
    return data, marks


class _Ctx:
    """Formats error messages for one entry of the file: the entry at ``path`` of the whole ``data``,
    located in the file by ``marks`` (``None`` for data that did not come from a file)."""

    def __init__(self, source: str, path: KeyPath, data: Any, marks: Marks | None) -> None:
        self.source, self.path, self.data, self.marks = source, path, data, marks
        self.entry = entry_name(path, data)

    def sub(self, *keys: Any) -> _Ctx:
        """The context of an entry inside this one (``ctx.sub("tutorials", 0)``)."""
        return _Ctx(self.source, self.path + keys, self.data, self.marks)

    def error(self, fld: str | None, problem: str) -> AgendaError:
        at = self.marks.find(self.path, fld) if self.marks is not None else None
        where = f"{_where(self.source, at)}: {self.entry}"
        if fld is not None:
            where += f": field '{fld}'"
        return AgendaError(f"{where}: {problem}")

    def check_keys(self, data: Any, spec: dict[str, bool]) -> dict:
        if not isinstance(data, dict):
            raise self.error(None, f"expected a mapping of fields, got {type(data).__name__}")
        unknown = [str(k) for k in data if str(k) not in spec]
        if unknown:
            close = difflib.get_close_matches(unknown[0], list(spec), n=1)
            hint = f", did you mean '{close[0]}'?" if close else ""
            raise self.error(unknown[0], f"unknown key{hint} (allowed: {', '.join(sorted(spec))})")
        missing = [k for k, req in spec.items() if req and k not in data]
        if missing:
            raise self.error(missing[0], "missing required key")
        return data

    def text(self, data: dict, fld: str, default: str | None = None) -> str | None:
        value = data.get(fld, default)
        if value is None:
            return None
        if not isinstance(value, (str, int, float)) or isinstance(value, bool) or str(value).strip() == "":
            raise self.error(fld, f"expected non-empty text, got {value!r}")
        return str(value).strip()

    def integer(self, data: dict, fld: str, default: int, low: int, high: int) -> int:
        value = data.get(fld, default)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.error(fld, f"expected a whole number from {low} to {high}, got {value!r}")
        return value

    def date(self, data: dict, fld: str) -> dt.date:
        value = str(data.get(fld))
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise self.error(fld, f"expected a date as YYYY-MM-DD, got {value!r}")
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise self.error(fld, f"impossible date '{value}' ({exc})") from None

    def time(self, data: dict, fld: str, default: str | None) -> dt.time:
        value = str(data.get(fld, default))
        m = re.fullmatch(r"(\d{1,2}):(\d{2})", value)
        if not m or int(m[1]) > 23 or int(m[2]) > 59:
            raise self.error(fld, f"expected a time as HH:MM (24-hour clock), got {value!r}")
        return dt.time(int(m[1]), int(m[2]))

    def datetime(self, data: dict, fld: str, tz: ZoneInfo) -> dt.datetime:
        value = str(data.get(fld))
        m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2})", value)
        if not m:
            raise self.error(fld, f"expected 'YYYY-MM-DD HH:MM' (in the term's time zone), got {value!r}")
        day = self.date({fld: m[1]}, fld)
        clock = self.time({fld: m[2]}, fld, None)
        return dt.datetime.combine(day, clock, tzinfo=tz)

    def page(self, data: dict, fld: str, root: Path | None) -> str | None:
        page = self.text(data, fld)
        if page is None:
            return None
        page = page.strip("/")
        for suffix in PAGE_SUFFIXES:
            if page.endswith(suffix):
                page = page[: -len(suffix)]
        if root is not None and not any((root / f"{page}{s}").is_file() for s in PAGE_SUFFIXES):
            raise self.error(fld, f"page '{page}' does not exist (looked for {page}.md, .ipynb, .rst "
                                  f"under {root})")
        return page

    def url(self, data: dict, fld: str) -> str | None:
        value = self.text(data, fld)
        if value is not None and not re.match(r"https?://[^\s]+$", value):
            raise self.error(fld, f"expected an http(s) URL, got {value!r}")
        return value


def _as_list(ctx: _Ctx, data: dict, fld: str) -> list:
    value = data.get(fld, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise ctx.error(fld, f"expected a list, got {type(value).__name__}")
    return value


def _links(ctx: _Ctx, data: dict, fld: str, root: Path | None) -> tuple[Link, ...]:
    links = []
    for i, item in enumerate(_as_list(ctx, data, fld)):
        sub = ctx.sub(fld, i)
        sub.check_keys(item, ACTIVITY_KEYS)
        links.append(Link(sub.text(item, "title") or "", sub.page(item, "page", root)))
    return tuple(links)


def parse_agenda(data: Any, source: str = "book/agenda.yml", root: Path | None = None,
                 marks: Marks | None = None) -> Term:
    """Validate already-loaded YAML data and build the :class:`Term`.

    ``root`` is the book's root folder, used to check that linked pages exist; ``None`` skips that check.
    ``marks`` (from :func:`load_yaml`) puts the line and column of the entry or field into error messages.
    """
    top = _Ctx(source, (), data, marks)
    top.check_keys(data, TOP_KEYS)

    tctx = top.sub("term")
    tdata = tctx.check_keys(data["term"], TERM_KEYS)
    tzname = tctx.text(tdata, "timezone") or ""
    try:
        tz = ZoneInfo(tzname)
    except (ZoneInfoNotFoundError, ValueError):
        raise tctx.error("timezone", f"unknown time zone '{tzname}' (use an IANA name such as "
                                     "Europe/Brussels)") from None
    default_time = tctx.time(tdata, "time", None)
    default_minutes = tctx.integer(tdata, "minutes", 0, 1, 24 * 60)
    default_room = tctx.text(tdata, "room") or ""
    slug = tctx.text(tdata, "slug") or ""
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", slug):
        raise tctx.error("slug", f"expected lower-case letters, digits and dashes, got {slug!r}")

    lectures = _parse_lectures(top.sub("lectures"), data["lectures"], root)
    sessions = _parse_sessions(top.sub("sessions"), data["sessions"], root, tz, default_time,
                               default_minutes, default_room, lectures)
    deadlines = _parse_deadlines(top.sub("deadlines"), data["deadlines"], root, tz, sessions)
    return Term(name=tctx.text(tdata, "name") or "", slug=slug, timezone=tzname,
                url=tctx.url(tdata, "url"), lectures=lectures, sessions=sessions,
                deadlines=deadlines, source=source)


def _parse_lectures(ctx: _Ctx, raw: Any, root: Path | None) -> dict[int, Lecture]:
    if not isinstance(raw, dict):
        raise ctx.error(None, "expected a mapping from lecture number to its title, page and code")
    lectures = {}
    for number, item in raw.items():
        lctx = ctx.sub(number)
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise lctx.error(None, f"lecture numbers must be whole numbers >= 0, got {number!r}")
        lctx.check_keys(item, LECTURE_KEYS)
        page = lctx.page(item, "page", root)
        code = [lctx.page({"code": c}, "code", root) or "" for c in _as_list(lctx, item, "code")]
        lectures[number] = Lecture(number=number, title=lctx.text(item, "title") or "",
                                   page=page, code=tuple(code),
                                   slides=lctx.url(item, "slides"), video=lctx.url(item, "video"))
    return dict(sorted(lectures.items()))


def _parse_sessions(sctx: _Ctx, raw: Any, root: Path | None, tz: ZoneInfo, default_time: dt.time,
                    default_minutes: int, default_room: str,
                    lectures: dict[int, Lecture]) -> tuple[Session, ...]:
    if not isinstance(raw, list):
        raise sctx.error(None, "expected a list of sessions")
    sessions: list[Session] = []
    contexts: list[_Ctx] = []
    ids: dict[str, str] = {}
    scheduled: dict[int, str] = {}
    for i, item in enumerate(raw):
        ctx = sctx.sub(i)
        ctx.check_keys(item, SESSION_KEYS)
        day = ctx.date(item, "date")
        clock = ctx.time(item, "time", f"{default_time:%H:%M}")
        sid = ctx.text(item, "id") or f"session-{day.isoformat()}"
        if sid in ids:
            raise ctx.error("id" if "id" in item else "date",
                            f"duplicate session '{sid}' (also {ids[sid]}); give each session on the "
                            "same day its own 'id'")
        ids[sid] = ctx.entry
        numbers = _as_list(ctx, item, "lectures")
        session_lectures = []
        for n in numbers:
            if n not in lectures:
                raise ctx.error("lectures", f"lecture {n!r} is not in the 'lectures' catalogue")
            if n in scheduled:
                raise ctx.error("lectures", f"lecture {n} is scheduled twice (also in {scheduled[n]})")
            scheduled[n] = ctx.entry
            session_lectures.append(lectures[n])
        activities = _links(ctx, item, "activities", root)
        tutorials = _links(ctx, item, "tutorials", root)
        exercises = _links(ctx, item, "exercises", root)
        if not (session_lectures or activities or tutorials or exercises):
            raise ctx.error("lectures", "a session needs at least one lecture, activity, tutorial or exercise")
        sessions.append(Session(id=sid, start=dt.datetime.combine(day, clock, tzinfo=tz),
                                minutes=ctx.integer(item, "minutes", default_minutes, 1, 24 * 60),
                                room=ctx.text(item, "room", default_room) or "",
                                lectures=tuple(session_lectures), activities=activities,
                                tutorials=tutorials, exercises=exercises))
        contexts.append(ctx)
    for (a, b), (actx, bctx) in zip(zip(sessions, sessions[1:]), zip(contexts, contexts[1:])):
        if b.start < a.start:
            raise bctx.error("date", f"{b.start:%Y-%m-%d %H:%M} is before the session listed above it "
                                     f"({actx.entry}, {a.start:%Y-%m-%d %H:%M}); keep sessions in date order")
    return tuple(sessions)


def _parse_deadlines(dctx: _Ctx, raw: Any, root: Path | None, tz: ZoneInfo,
                     sessions: tuple[Session, ...]) -> tuple[Deadline, ...]:
    if not isinstance(raw, list):
        raise dctx.error(None, "expected a list of deadlines")
    by_key = {s.id: s for s in sessions} | {s.start.date().isoformat(): s for s in sessions}
    deadlines: list[Deadline] = []
    seen: dict[str, str] = {}
    for i, item in enumerate(raw):
        ctx = dctx.sub(i)
        ctx.check_keys(item, DEADLINE_KEYS)
        did = ctx.text(item, "id") or ""
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", did):
            raise ctx.error("id", f"expected lower-case letters, digits and dashes, got {did!r}")
        if did in seen:
            raise ctx.error("id", f"duplicate deadline '{did}' (also {seen[did]})")
        seen[did] = ctx.entry
        kind = ctx.text(item, "kind") or ""
        if kind not in DEADLINE_KINDS:
            raise ctx.error("kind", f"unknown kind '{kind}' (allowed: {', '.join(DEADLINE_KINDS)})")
        due = ctx.datetime(item, "due", tz)
        introduced = ctx.text(item, "introduced")
        if introduced is not None:
            session = by_key.get(introduced)
            if session is None:
                raise ctx.error("introduced", f"no session with id or date '{introduced}'")
            if due <= session.start:
                raise ctx.error("due", f"{due:%Y-%m-%d %H:%M} is not after the session that introduces "
                                       f"it ('{session.id}', {session.start:%Y-%m-%d %H:%M})")
            introduced = session.id
        hard = item.get("hard", False)
        if not isinstance(hard, bool):
            raise ctx.error("hard", f"expected true or false, got {hard!r}")
        page, solution = ctx.page(item, "page", root), ctx.page(item, "solution", root)
        if solution is not None and page is None:
            raise ctx.error("solution", "a solution needs the deadline's 'page' too (the page that "
                                        "announces when the solution is published)")
        if solution is not None and solution == page:
            raise ctx.error("solution", f"'{solution}' is the deadline's own page; the solution must be "
                                        "a separate page")
        opens = None
        if "opens" in item:
            opens = ctx.date(item, "opens")
            if page is None:
                raise ctx.error("opens", "an opening date needs the deadline's 'page' too (the page "
                                         "published from that day on)")
            if opens >= due.date():
                raise ctx.error("opens", f"{opens:%Y-%m-%d} is not before the due day "
                                         f"({due:%Y-%m-%d})")
            if introduced is not None and by_key[introduced].start.date() < opens:
                raise ctx.error("introduced", f"the session that introduces it ('{introduced}') is before "
                                              f"its opening date ({opens:%Y-%m-%d}): its page would not "
                                              "be published yet")
        deadlines.append(Deadline(id=did, title=ctx.text(item, "title") or "", kind=kind, due=due,
                                  page=page, introduced=introduced, hard=hard,
                                  submit=ctx.text(item, "submit"), solution=solution, opens=opens))
    return tuple(sorted(deadlines, key=lambda d: (d.due, d.id)))


def load_agenda(path: Path, root: Path | None = None, source: str | None = None) -> Term:
    """Read and validate the agenda file at ``path``."""
    source = source or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AgendaError(f"{source}: cannot read the agenda file ({exc.strerror})") from None
    data, marks = load_yaml(text, source)
    return parse_agenda(data, source=source, root=root, marks=marks)


def build_date(tz: ZoneInfo, env: dict[str, str] | None = None) -> dt.date:
    """The date the site is built 'as of': ``COURSE_TODAY`` (YYYY-MM-DD) if set, else today in ``tz``."""
    env = os.environ if env is None else env
    value = env.get("COURSE_TODAY", "").strip()
    if not value:
        return dt.datetime.now(tz).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise AgendaError(f"environment variable COURSE_TODAY: expected YYYY-MM-DD, got {value!r}") from None


def chronological(term: Term) -> Iterable[Session | Deadline]:
    """Sessions and deadlines merged in time order (a session before a deadline at the same time)."""
    items: list[tuple[dt.datetime, int, Session | Deadline]] = [(s.start, 0, s) for s in term.sessions]
    items += [(d.due, 1, d) for d in term.deadlines]
    return [item for _, _, item in sorted(items, key=lambda t: (t[0], t[1]))]


def format_day(day: dt.date) -> str:
    """'Tuesday 7 March 2023'."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def format_due(deadline: Deadline, tz: ZoneInfo) -> str:
    """'Monday 6 March 2023, 23:59 (Europe/Brussels)'."""
    local = deadline.due.astimezone(tz)
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M} ({tz.key})"


__all__ = ["AgendaError", "Deadline", "Lecture", "Link", "Marks", "Session", "Term", "build_date",
           "chronological", "entry_name", "format_day", "format_due", "load_agenda", "load_yaml",
           "parse_agenda"]
