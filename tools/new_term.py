"""Move the course to a new term: every date of ``book/agenda.yml`` by whole weeks, and the rest of a rollover.

    python tools/new_term.py 2027-02-12 --name "Deep Learning on a CPU, spring 2027" --slug spring-2027
    make new-term FIRST=2027-02-12 TERM_NAME="Deep Learning on a CPU, spring 2027" SLUG=spring-2027

The first argument is the date of the new first session. It must fall on the same weekday as the
current first session, so that every session keeps its weekday. Then

- every date of the sessions and deadlines moves: session ``date``, deadline ``due``, ``introduced``
  and any other date or ``session-YYYY-MM-DD`` id below ``sessions:`` and ``deadlines:``. Without
  ``--breaks`` all of them move by the same number of weeks, so the term keeps its gaps (check them
  against the new year's holidays: the tool lists them, with the date of Easter). ``--breaks`` names
  the break weeks of the new term by their Monday: the sessions are laid out week after week from the
  first one, skipping those weeks (the old gaps are dropped), and each deadline follows its week;
- the term's ``name`` and ``slug`` are set (the slug prefixes the calendar UIDs and names the tag);
- the previous edition is tagged in git as its old slug (``git tag -a``; ``--no-tag`` skips it,
  and so does a folder that is not a git checkout), and listed on ``book/archives.md``;
- the copyright years of ``_config.yml`` reach the new term's last year.

Files are edited in place, value by value: comments, order and layout stay as they were. The moved
agenda is validated with the build's own loader before anything is written; ``--dry-run`` prints the
changes as a diff and writes nothing. The tool ends with what is left by hand (holidays, Gradescope,
``make notebooks``, pushing).
"""
from __future__ import annotations

import argparse
import datetime as dt
import difflib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from dateutil.easter import easter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from course_book.agenda_data import AgendaError, Term, load_yaml, parse_agenda  # noqa: E402

AGENDA, ARCHIVES, CONFIG = Path("book/agenda.yml"), Path("book/archives.md"), Path("_config.yml")
SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
# A value that is a date, a date and time, or a session's implicit id: the date part moves.
DATED = re.compile(r"(?P<pre>(?:session-)?)(?P<date>\d{4}-\d{2}-\d{2})(?P<post>(?:[ T]\d{1,2}:\d{2})?)")
ANY_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
EDITIONS = "### Editions taught so far"
WEEK = dt.timedelta(weeks=1)


class NewTermError(Exception):
    """Bad input or a state the tool cannot roll over from; the message says which."""


# --------------------------------------------------------------------------- YAML values and their places


@dataclass(frozen=True)
class Scalar:
    """A scalar value of a YAML file: its keys from the top, its text and its span in the file."""

    path: tuple[str | int, ...]
    value: str
    start: int  # character offsets of the whole token, quotes included
    end: int


def scalars(text: str) -> Iterator[Scalar]:
    """Every scalar value (not the keys) of a YAML document, with where it is."""
    def walk(node: yaml.Node, path: tuple[str | int, ...]) -> Iterator[Scalar]:
        if isinstance(node, yaml.ScalarNode):
            yield Scalar(path, node.value, node.start_mark.index, node.end_mark.index)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    yield from walk(value, path + (key.value,))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                yield from walk(item, path + (i,))

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        yield from walk(root, ())


def replace_spans(text: str, edits: list[tuple[int, int, str]]) -> str:
    """``text`` with each (start, end) span replaced, spans given in any order, none overlapping."""
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def yaml_token(value: str, like: str) -> str:
    """``value`` written as a YAML scalar in the style of the token ``like`` (quoted or plain)."""
    if like.startswith("'"):
        return "'" + value.replace("'", "''") + "'"
    if not like.startswith('"'):
        try:
            if yaml.safe_load(f"k: {value}\n") == {"k": value}:
                return value
        except yaml.YAMLError:
            pass
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a double-quoted YAML scalar


def set_value(text: str, found: Scalar, value: str) -> str:
    return replace_spans(text, [(found.start, found.end, yaml_token(value, text[found.start:found.end]))])


def find(text: str, path: tuple[str | int, ...], source: str) -> Scalar:
    for item in scalars(text):
        if item.path == path:
            return item
    raise NewTermError(f"{source}: no value at {'.'.join(map(str, path))}")


# --------------------------------------------------------------------------- weeks


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def long_day(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def short_day(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def session_weeks(term: Term) -> list[dt.date]:
    """The Mondays of the weeks that have a session, in order."""
    return sorted({monday(s.start.date()) for s in term.sessions})


def gaps(term: Term) -> list[dt.date]:
    """The Mondays of the weeks without a session between the first session and the last."""
    weeks = session_weeks(term)
    if not weeks:
        return []
    every = [weeks[0] + i * WEEK for i in range((weeks[-1] - weeks[0]).days // 7 + 1)]
    return [w for w in every if w not in set(weeks)]


def week_map(old_weeks: list[dt.date], new_first: dt.date,
             breaks: Sequence[dt.date] | None) -> Callable[[dt.date], dt.date]:
    """Where each day of the old term goes: the same weekday of the week it moves to.

    Without ``breaks`` every week moves by the same number of weeks. With ``breaks`` the weeks that
    had a session are laid out one after the other from the new first week, skipping the break weeks;
    a day in an old gap keeps its distance to the last session week before it; a day after the last
    session keeps counting weeks (skipping breaks), one before the first keeps its distance to it.
    """
    first, shift = old_weeks[0], monday(new_first) - old_weeks[0]
    if breaks is None:
        return lambda day: day + shift
    skip = set(breaks)

    def teaching_week(k: int) -> dt.date:  # the k-th week (from 0) of the new term that is not a break
        week, seen = monday(new_first), 0
        while True:
            if week not in skip:
                if seen == k:
                    return week
                seen += 1
            week += WEEK

    position = {week: k for k, week in enumerate(old_weeks)}

    def moved(day: dt.date) -> dt.date:
        week, weekday = monday(day), day - monday(day)
        if week < first:
            return week + shift + weekday
        if week > old_weeks[-1]:
            return teaching_week(len(old_weeks) - 1 + (week - old_weeks[-1]).days // 7) + weekday
        if week in position:
            return teaching_week(position[week]) + weekday
        before = max(w for w in old_weeks if w < week)
        return teaching_week(position[before]) + (week - before) + weekday

    return moved


def parse_day(value: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise NewTermError(f"{what}: expected a date as YYYY-MM-DD, got {value!r}") from None


def check_breaks(values: Sequence[str], new_first: dt.date) -> list[dt.date]:
    breaks = []
    for value in values:
        day = parse_day(value, "--breaks")
        if day.weekday() != 0:
            raise NewTermError(f"--breaks: {value} is a {day:%A}; give the Monday of the break week, "
                               f"{monday(day).isoformat()}")
        if day <= monday(new_first):
            raise NewTermError(f"--breaks: the week of {value} is not after the week of the first session "
                               f"({new_first.isoformat()})")
        breaks.append(day)
    return sorted(set(breaks))


# --------------------------------------------------------------------------- the three files


def validate(text: str, source: str) -> Term:
    data, marks = load_yaml(text, source)
    return parse_agenda(data, source=source, root=None, marks=marks)


@dataclass
class Moved:
    text: str
    moved: int  # how many values changed
    leftovers: list[str]  # "line N: 2023-03-06" for dates the tool did not move (in comments or text)


def move_agenda(text: str, move: Callable[[dt.date], dt.date], name: str, slug: str,
                source: str = str(AGENDA)) -> Moved:
    """The agenda text with its dates moved and the term's name and slug set."""
    edits, spans = [], []
    for item in scalars(text):
        if not item.path or item.path[0] not in ("sessions", "deadlines"):
            continue
        m = DATED.fullmatch(item.value)
        if not m:
            continue
        new_day = move(dt.date.fromisoformat(m["date"]))
        token = text[item.start:item.end]
        if m["date"] not in token:
            raise NewTermError(f"{source}: cannot find {m['date']} in {token!r}")
        edits.append((item.start, item.end, token.replace(m["date"], new_day.isoformat(), 1)))
        spans.append((item.start, item.end))
    leftovers = []
    for m in ANY_DATE.finditer(text):
        if not any(start <= m.start() < end for start, end in spans):
            leftovers.append(f"line {text.count(chr(10), 0, m.start()) + 1}: {m.group()}")
    moved = replace_spans(text, edits)
    moved = set_value(moved, find(moved, ("term", "name"), source), name)
    moved = set_value(moved, find(moved, ("term", "slug"), source), slug)
    return Moved(moved, len(edits), leftovers)


def first_and_last(term: Term) -> tuple[dt.date, dt.date]:
    days = [s.start.date() for s in term.sessions] + [d.due.astimezone(term.tz).date() for d in term.deadlines]
    return min(days), max(days)


def add_edition(text: str, tag: str, term: Term, repo_url: str | None, source: str = str(ARCHIVES)) -> str:
    """``book/archives.md`` with the edition ``tag`` listed first under "Editions taught so far" (the
    section is made, before the first subsection of "Past editions", when it is not there yet)."""
    lines = text.splitlines(keepends=True)
    if any(line.startswith(f"- [`{tag}`]") or line.startswith(f"- `{tag}`") for line in lines):
        return text
    first, last = first_and_last(term)
    label = f"[`{tag}`]({repo_url.rstrip('/')}/tree/{tag})" if repo_url else f"`{tag}`"
    span = (f"from {first.day} {first:%B} to {short_day(last)}" if first.year == last.year
            else f"from {short_day(first)} to {short_day(last)}")
    entry = f"- {label}: {term.name}, taught {span}.\n"
    heading = next((i for i, line in enumerate(lines) if line.rstrip() == EDITIONS), None)
    if heading is not None:
        at = heading + 1
        while at < len(lines) and not lines[at].startswith("- ") and not lines[at].startswith("#"):
            at += 1
        return "".join(lines[:at] + [entry] + lines[at:])
    past = next((i for i, line in enumerate(lines) if line.rstrip() == "## Past editions"), None)
    if past is None:
        raise NewTermError(f"{source}: no '## Past editions' section to list the edition {tag} in")
    at = next((i for i in range(past + 1, len(lines)) if lines[i].startswith(("## ", "### "))), len(lines))
    block = [f"{EDITIONS}\n", "\n", "Newest first (`make new-term` adds the edition that has just ended):\n",
             "\n", entry, "\n"]
    if at and lines[at - 1].strip():
        block.insert(0, "\n")
    return "".join(lines[:at] + block + lines[at:])


def bump_copyright(text: str, last_year: int, source: str = str(CONFIG)) -> str:
    """``_config.yml`` with its ``copyright`` years ("2023-2026") reaching ``last_year``."""
    found = next((s for s in scalars(text) if s.path == ("copyright",)), None)
    if found is None:
        raise NewTermError(f"{source}: no top-level 'copyright' to update")
    m = re.fullmatch(r"(\d{4})(?:\s*([-–])\s*(\d{4}))?", found.value.strip())
    if not m:
        raise NewTermError(f"{source}: copyright {found.value!r} is not a year or a range of years "
                           "(such as 2023-2026); update it by hand")
    start, end = int(m[1]), int(m[3] or m[1])
    if last_year <= end:
        return text
    return set_value(text, found, f"{start}{m[2] or '-'}{last_year}")


def repository_url(config_text: str) -> str | None:
    config = yaml.safe_load(config_text) or {}
    url = (config.get("repository") or {}).get("url")
    return url if isinstance(url, str) and url.startswith(("http://", "https://")) else None


def diff(old: str, new: str, name: Path) -> str:
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        f"a/{name.as_posix()}", f"b/{name.as_posix()}"))


# --------------------------------------------------------------------------- git


def git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)


def tag_edition(root: Path, tag: str, name: str, dry_run: bool) -> str:
    """Tag the current commit as the edition ``tag`` (annotated), unless the tag exists; a message."""
    by_hand = f'tag it by hand in the repository: git tag -a {tag} -m "Edition taught in {name}"'
    if shutil.which("git") is None:
        return f"git is not installed: the previous edition is not tagged; {by_hand}"
    top = git(root, "rev-parse", "--show-toplevel")
    if top.returncode != 0 or Path(top.stdout.strip()).resolve() != root.resolve():
        return f"{root} is not a git checkout: the previous edition is not tagged; {by_hand}"
    if git(root, "rev-parse", "-q", "--verify", f"refs/tags/{tag}").returncode == 0:
        return f"the tag {tag} exists already: left as it is"
    head = git(root, "rev-parse", "HEAD")
    if head.returncode != 0:
        return f"the repository has no commit yet: the previous edition is not tagged; {by_hand}"
    sha = head.stdout.strip()[:12]
    if dry_run:
        return f"would tag the current commit {sha} as {tag}"
    note = ""
    if git(root, "status", "--porcelain", "--untracked-files=no").stdout.strip():
        note = " (uncommitted changes are not part of it)"
    result = git(root, "tag", "-a", tag, "-m", f"Edition taught in {name}")
    if result.returncode != 0:
        raise NewTermError(f"git tag -a {tag} failed, nothing was changed: {result.stderr.strip()}")
    return f"tagged the current commit {sha} as {tag}{note}; publish it with: git push origin {tag}"


# --------------------------------------------------------------------------- the command


def holiday_notes(term: Term) -> list[str]:
    """Where Easter falls in the new term, and whether its weeks have sessions."""
    first, last = first_and_last(term)
    days = {s.start.date() for s in term.sessions}
    notes = []
    for year in range(first.year, last.year + 1):
        sunday = easter(year)
        if not first <= sunday <= last:
            continue
        around = [monday(sunday), monday(sunday) + WEEK]  # Holy Week and Easter week
        held = sorted(d for d in days if monday(d) in around)
        notes.append(f"Easter {year} is on {short_day(sunday)}: "
                     + (f"sessions on {', '.join(short_day(d) for d in held)} in the weeks around it"
                        if held else "no session in the weeks around it"))
    return notes


def run(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("first", help="date of the new first session (YYYY-MM-DD), on the weekday of the "
                                      "current first session")
    parser.add_argument("--name", required=True, help='the new term\'s name, e.g. "Deep Learning on a CPU, '
                                                      'spring 2027"')
    parser.add_argument("--slug", required=True, help="the new term's slug, e.g. spring-2027")
    parser.add_argument("--breaks", nargs="*", metavar="MONDAY", action="extend",
                        help="break weeks of the new term, by their Monday (spaces or commas between "
                             "them); without this option the term keeps its current gaps")
    parser.add_argument("--no-tag", action="store_true", help="do not tag the previous edition in git")
    parser.add_argument("--dry-run", action="store_true", help="print the changes as a diff, write nothing")
    parser.add_argument("--root", type=Path, default=ROOT, help="the course repository (default: this one)")
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except (NewTermError, AgendaError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    root: Path = args.root
    paths = {p: root / p for p in (AGENDA, ARCHIVES, CONFIG)}
    for rel, path in paths.items():
        if not path.is_file():
            raise NewTermError(f"{rel}: not found under {root}")
    texts = {rel: path.read_text(encoding="utf-8") for rel, path in paths.items()}
    try:
        old = validate(texts[AGENDA], str(AGENDA))
    except AgendaError as exc:
        raise NewTermError(f"the current agenda is not valid, fix it first: {exc}") from None
    if not old.sessions:
        raise NewTermError(f"{AGENDA}: no session to move")

    first = parse_day(args.first, "first session")
    old_first = old.sessions[0].start.date()
    if first.weekday() != old_first.weekday():
        before = first - dt.timedelta(days=(first.weekday() - old_first.weekday()) % 7)
        raise NewTermError(
            f"{first.isoformat()} is a {first:%A}, but the first session ({old_first.isoformat()}) is on a "
            f"{old_first:%A}: every session keeps its weekday, so give a {old_first:%A}, such as "
            f"{before.isoformat()} or {(before + WEEK).isoformat()}")
    if first == old_first:
        raise NewTermError(f"the term already starts on {long_day(first)}")
    name = args.name.strip()
    if not name:
        raise NewTermError("--name: give the new term's name")
    if not SLUG.fullmatch(args.slug):
        raise NewTermError(f"--slug: expected lower-case letters, digits and dashes, got {args.slug!r}")
    if args.slug == old.slug:
        raise NewTermError(f"--slug: {args.slug} is the current term's slug; the new term needs its own "
                           "(it prefixes the calendar UIDs, and the old one names the previous edition's tag)")
    breaks = None
    if args.breaks is not None:
        breaks = check_breaks([v for value in args.breaks for v in value.split(",") if v.strip()], first)

    moved = move_agenda(texts[AGENDA], week_map(session_weeks(old), first, breaks), name, args.slug)
    try:
        new = validate(moved.text, str(AGENDA))
    except AgendaError as exc:
        raise NewTermError(f"the moved agenda would not be valid, nothing was written: {exc}") from None
    new_texts = {AGENDA: moved.text,
                 ARCHIVES: add_edition(texts[ARCHIVES], old.slug, old, repository_url(texts[CONFIG])),
                 CONFIG: bump_copyright(texts[CONFIG], first_and_last(new)[1].year)}

    weeks = (monday(first) - monday(old_first)).days // 7
    print(f"{old.name} -> {name} ({old.slug} -> {args.slug})")
    print(f"first session: {long_day(old_first)} -> {long_day(new.sessions[0].start.date())} "
          f"({weeks:+d} weeks); {moved.moved} dates moved")
    print(f"last session: {long_day(new.sessions[-1].start.date())}; last deadline: "
          f"{long_day(first_and_last(new)[1])}")
    new_gaps = ", ".join(short_day(w) for w in gaps(new)) or "none"
    if breaks is None:
        print(f"warning: the term keeps its gaps, which were the weeks of "
              f"{', '.join(short_day(w) for w in gaps(old)) or 'none'}; now the weeks of {new_gaps}. "
              "Check them against the holidays of the new term, or give --breaks")
    else:
        print(f"weeks without a session: {new_gaps}")
    for note in holiday_notes(new):
        print(f"note: {note}")
    for leftover in moved.leftovers:
        print(f"warning: {AGENDA} {leftover} is a date the tool did not move (in a comment or a text); "
              "check it by hand")
    if new_texts[ARCHIVES] == texts[ARCHIVES]:
        print(f"{ARCHIVES}: lists {old.slug} already")
    print(tag_edition(root, old.slug, old.name, args.dry_run) if not args.no_tag
          else "--no-tag: the previous edition is not tagged")

    if args.dry_run:
        for rel in paths:
            print(diff(texts[rel], new_texts[rel], rel), end="")
        print("dry run: nothing was written")
        return 0
    for rel, path in paths.items():
        if new_texts[rel] != texts[rel]:
            path.write_text(new_texts[rel], encoding="utf-8")
            print(f"wrote {rel}")
    print(left_by_hand(root, new, old.slug))
    return 0


def left_by_hand(root: Path, term: Term, old_slug: str) -> str:
    homeworks = sorted(p.stem for p in (root / "homeworks" / "source").glob("*.md"))
    gradescope = [d for d in term.deadlines if d.submit and "gradescope" in d.submit.lower()]
    steps = [
        "Left by hand:",
        "1. Check the dates against the academic calendar and the holidays (above); move single "
        "sessions in book/agenda.yml if needed.",
        "2. make notebooks: regenerate the student notebooks, whose first cell states the deadline.",
        "3. make test, then preview the site as of the first day: COURSE_TODAY="
        f"{term.sessions[0].start.date().isoformat()} make book",
        "4. Gradescope: in the new term's course, create each assignment with its new deadline"
        + "".join(f"\n     - {d.title}: {d.due:%Y-%m-%d %H:%M} ({term.timezone})" for d in gradescope)
        + "\n   and upload each homework's autograder, _build/autograder/<homework>.zip from make book "
        "(Configure Autograder -> Zip file upload)"
        + (f": {', '.join(f'{h}.zip' for h in homeworks)}" if homeworks else "") + ".",
        f"5. Commit, then push the branch and the previous edition's tag: git push origin HEAD {old_slug}",
    ]
    return "\n".join(steps)


if __name__ == "__main__":
    sys.exit(run())
