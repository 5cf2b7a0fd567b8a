"""Write the agenda as an iCalendar feed (RFC 5545).

One VEVENT per session and per deadline, times in the term's time zone with a generated VTIMEZONE,
UIDs derived from the stable entry ids so that re-importing the feed updates events instead of
duplicating them.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from .agenda_data import Deadline, Session, Term, chronological

PRODID = "-//Deep Learning on a CPU//course agenda//EN"


def escape_text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 section 3.3.11)."""
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def fold(line: str) -> str:
    """Fold a content line at 75 octets without splitting a UTF-8 character (section 3.1)."""
    out, current, size = [], "", 0
    for char in line:
        n = len(char.encode("utf-8"))
        limit = 75 if not out else 74  # continuation lines start with one space
        if size + n > limit:
            out.append(current)
            current, size = "", 0
        current += char
        size += n
    out.append(current)
    return "\r\n ".join(out)


def _local(value: dt.datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%S")


def _offset(delta: dt.timedelta | None) -> str:
    minutes = int((delta or dt.timedelta()).total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}{minutes % 60:02d}"


def transitions(tz: ZoneInfo, year: int) -> list[tuple[dt.datetime, dt.timedelta, dt.timedelta, str, bool]]:
    """UTC-offset changes of ``tz`` during ``year``: (local wall time at which the new offset starts,
    offset before, offset after, abbreviation after, is_dst after)."""
    found = []
    hour = dt.timedelta(hours=1)
    t = dt.datetime(year, 1, 1, tzinfo=dt.timezone.utc)
    end = dt.datetime(year + 1, 1, 1, tzinfo=dt.timezone.utc)
    before = t.astimezone(tz).utcoffset()
    while t < end:
        after = (t + hour).astimezone(tz).utcoffset()
        if after != before:
            moment = (t + hour).astimezone(tz)
            wall = (t + hour + (before or dt.timedelta())).replace(tzinfo=None)
            found.append((wall, before, after, moment.tzname() or "", bool(moment.dst())))
            before = after
        t += hour
    return found


def vtimezone(tz: ZoneInfo, years: range) -> list[str]:
    """A VTIMEZONE with one observance per offset change in ``years`` (plus the state on 1 January)."""
    lines = ["BEGIN:VTIMEZONE", f"TZID:{tz.key}"]
    start = dt.datetime(years.start, 1, 1, tzinfo=tz)
    changes = [c for y in years for c in transitions(tz, y)]
    # The state in force on 1 January of the first year, so that every event has an observance.
    off = _offset(start.utcoffset())
    kind = "DAYLIGHT" if start.dst() else "STANDARD"
    lines += [f"BEGIN:{kind}", f"DTSTART:{_local(start.replace(tzinfo=None))}",
              f"TZOFFSETFROM:{off}", f"TZOFFSETTO:{off}", f"TZNAME:{start.tzname()}", f"END:{kind}"]
    for wall, before, after, name, is_dst in changes:
        kind = "DAYLIGHT" if is_dst else "STANDARD"
        lines += [f"BEGIN:{kind}", f"DTSTART:{_local(wall)}", f"TZOFFSETFROM:{_offset(before)}",
                  f"TZOFFSETTO:{_offset(after)}", f"TZNAME:{name}", f"END:{kind}"]
    lines.append("END:VTIMEZONE")
    return lines


def _session_event(term: Term, s: Session, stamp: str, domain: str) -> list[str]:
    description = [title for title, _ in s.items()]
    lines = ["BEGIN:VEVENT", f"UID:{term.slug}-{s.id}@{domain}", f"DTSTAMP:{stamp}",
             f"DTSTART;TZID={term.timezone}:{_local(s.start)}",
             f"DTEND;TZID={term.timezone}:{_local(s.end)}",
             f"SUMMARY:{escape_text(s.summary)}"]
    if s.room:
        lines.append(f"LOCATION:{escape_text(s.room)}")
    if term.url and s.lectures and s.lectures[0].page:
        lines.append(f"URL:{term.url.rstrip('/')}/{s.lectures[0].page}.html")
    lines += [f"DESCRIPTION:{escape_text(chr(10).join(description) or s.summary)}",
              "CATEGORIES:Session", "TRANSP:OPAQUE", "END:VEVENT"]
    return lines


def _deadline_event(term: Term, d: Deadline, stamp: str, domain: str) -> list[str]:
    summary = f"Due: {d.title}" + (" (hard deadline)" if d.hard else "")
    lines = ["BEGIN:VEVENT", f"UID:{term.slug}-deadline-{d.id}@{domain}", f"DTSTAMP:{stamp}",
             f"DTSTART;TZID={term.timezone}:{_local(d.due)}",
             f"DTEND;TZID={term.timezone}:{_local(d.due)}",
             f"SUMMARY:{escape_text(summary)}"]
    if term.url and d.page:
        lines.append(f"URL:{term.url.rstrip('/')}/{d.page}.html")
    detail = d.title + (f". Submit: {d.submit}" if d.submit else "")
    lines += [f"DESCRIPTION:{escape_text(detail)}", "CATEGORIES:Deadline", "TRANSP:TRANSPARENT",
              "BEGIN:VALARM", "ACTION:DISPLAY", f"DESCRIPTION:{escape_text(summary)}",
              "TRIGGER:-P1D", "END:VALARM", "END:VEVENT"]
    return lines


def render_ics(term: Term, stamp: dt.datetime | None = None, domain: str = "dl-course.invalid") -> str:
    """The whole calendar as text with CRLF line endings."""
    stamp_text = (stamp or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    stamp_str = stamp_text.strftime("%Y%m%dT%H%M%SZ")
    starts = [s.start.year for s in term.sessions] + [d.due.year for d in term.deadlines]
    years = range(min(starts, default=2000), max(starts, default=2000) + 1)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH", f"X-WR-CALNAME:{escape_text(term.name)}", f"X-WR-TIMEZONE:{term.timezone}"]
    lines += vtimezone(term.tz, years)
    for item in chronological(term):
        if isinstance(item, Session):
            lines += _session_event(term, item, stamp_str, domain)
        else:
            lines += _deadline_event(term, item, stamp_str, domain)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
