"""Write the agenda as an iCalendar feed (RFC 5545) with the ``icalendar`` library.

One VEVENT per session and per deadline, in the term's time zone with a VTIMEZONE generated from the
IANA zone, and UIDs derived from the stable entry ids, so that a client refreshing the feed updates
its events instead of duplicating them.

The feed is reproducible: every DTSTAMP and LAST-MODIFIED is the agenda's revision time
(:func:`revision_time`), never the clock, so two builds of one agenda give the same bytes. Moving a
session and committing the agenda gives a later stamp; calendar clients take the event with the
same UID and SEQUENCE (always 0 here) and the later DTSTAMP as the newer version (RFC 5546, 2.1.5).
A SEQUENCE derived from content could go down, and a hand-kept one is easy to forget.
"""
from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from icalendar import Alarm, Calendar, Event, Timezone, vText

from .agenda_data import AgendaError, Deadline, Session, Term, chronological

PRODID = "-//Deep Learning on a CPU//course agenda//EN"


def _git_commit_time(path: Path) -> int | None:
    """Seconds since 1970 of the last commit that touched ``path``; None when git does not know the
    file, has no git, or the file has uncommitted changes (then the commit time would be stale)."""
    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["git", "-C", str(path.parent), *args, "--", path.name],
                              capture_output=True, text=True, check=False)
    try:
        log, status = git("log", "-1", "--format=%ct"), git("status", "--porcelain")
    except OSError:
        return None
    if log.returncode or status.returncode or status.stdout.strip() or not log.stdout.strip():
        return None
    return int(log.stdout)


def revision_time(path: Path, env: Mapping[str, str] | None = None) -> dt.datetime:
    """When the agenda at ``path`` last changed, in UTC to the second: the feed's DTSTAMP.

    In order: ``SOURCE_DATE_EPOCH`` if set (the reproducible-builds convention); the time of the
    last commit of the file, in a git checkout where it is unmodified; else the file's modification
    time, which a tarball keeps (``git archive`` sets it to the commit's time).
    """
    env = os.environ if env is None else env
    epoch = env.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch and not epoch.isdigit():
        raise AgendaError(f"environment variable SOURCE_DATE_EPOCH: expected whole seconds since "
                          f"1970-01-01 UTC, got {epoch!r}")
    if epoch:
        seconds = int(epoch)
    else:
        try:
            seconds = _git_commit_time(path) or int(path.stat().st_mtime)
        except OSError as exc:
            raise AgendaError(f"{path}: cannot read the agenda file's time ({exc.strerror})") from None
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


def _page_url(term: Term, page: str | None) -> str | None:
    return f"{term.url.rstrip('/')}/{page}.html" if term.url and page else None


def _session_event(term: Term, s: Session, uid: str, stamp: dt.datetime) -> Event:
    description = "\n".join(title for title, _ in s.items()) or s.summary
    first_page = s.lectures[0].page if s.lectures else None
    return Event.new(uid=uid, stamp=stamp, last_modified=stamp, start=s.start, end=s.end,
                     summary=s.summary, location=s.room or None, url=_page_url(term, first_page),
                     description=description, categories=["Session"], transparency="OPAQUE")


def _deadline_event(term: Term, d: Deadline, uid: str, stamp: dt.datetime) -> Event:
    summary = f"Due: {d.title}" + (" (hard deadline)" if d.hard else "")
    event = Event.new(uid=uid, stamp=stamp, last_modified=stamp, start=d.due, end=d.due,
                      summary=summary, url=_page_url(term, d.page),
                      description=d.title + (f". Submit: {d.submit}" if d.submit else ""),
                      categories=["Deadline"], transparency="TRANSPARENT")
    alarm = Alarm.new(description=summary)
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", -dt.timedelta(days=1))
    event.add_component(alarm)
    return event


def render_ics(term: Term, stamp: dt.datetime, domain: str = "dl-course.invalid") -> str:
    """The whole calendar as text (CRLF line endings, folded lines); ``stamp`` is the DTSTAMP and
    LAST-MODIFIED of every event, normally :func:`revision_time` of the agenda file."""
    stamp = stamp.astimezone(dt.timezone.utc).replace(microsecond=0)
    cal = Calendar.new(prodid=PRODID, uid=f"{term.slug}@{domain}", calscale="GREGORIAN", method="PUBLISH")
    for name in ("NAME", "X-WR-CALNAME"):  # as TEXT: icalendar 7.3 would write them unescaped
        cal.add(name, vText(term.name))
    cal.add("X-WR-TIMEZONE", term.timezone)
    items = chronological(term)
    days = [item.start.date() if isinstance(item, Session) else item.due.date() for item in items]
    if days:  # observances from a year before the first event to a year after the last
        cal.add_component(Timezone.from_tzinfo(term.tz, tzid=term.timezone,
                                               first_date=min(days) - dt.timedelta(days=366),
                                               last_date=max(days) + dt.timedelta(days=366)))
    for item in items:
        if isinstance(item, Session):
            cal.add_component(_session_event(term, item, f"{term.slug}-{item.id}@{domain}", stamp))
        else:
            cal.add_component(_deadline_event(term, item, f"{term.slug}-deadline-{item.id}@{domain}", stamp))
    return cal.to_ical().decode("utf-8")
