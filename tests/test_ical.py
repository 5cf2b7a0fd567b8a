"""The calendar feed: RFC 5545 structure, parsed back with the icalendar library."""
from __future__ import annotations

import datetime as dt

import icalendar
import pytest
from conftest import ROOT
from course_book.agenda_data import load_agenda
from course_book.ical import escape_text, fold, render_ics


@pytest.fixture(scope="module")
def term():
    return load_agenda(ROOT / "book" / "agenda.yml", source="book/agenda.yml")


def test_every_session_and_deadline_is_an_event(term) -> None:
    cal = icalendar.Calendar.from_ical(render_ics(term))
    events = list(cal.walk("VEVENT"))
    assert len(events) == len(term.sessions) + len(term.deadlines) == 20
    summaries = [str(e["SUMMARY"]) for e in events]
    for d in term.deadlines:
        assert any(d.title in s and s.startswith("Due:") for s in summaries), d.id
    for s in term.sessions:
        assert s.summary in summaries


def test_times_carry_the_time_zone(term) -> None:
    cal = icalendar.Calendar.from_ical(render_ics(term))
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Brussels"]
    starts = {str(e["UID"]): e["DTSTART"].dt for e in cal.walk("VEVENT")}
    first = starts["spring-2023-session-2023-02-10@dl-course.invalid"]
    assert first == dt.datetime(2023, 2, 10, 8, 30, tzinfo=term.tz)
    assert first.utcoffset() == dt.timedelta(hours=1)  # winter time
    last = starts["spring-2023-deadline-project@dl-course.invalid"]
    assert last.astimezone(dt.timezone.utc) == dt.datetime(2023, 5, 19, 21, 59, tzinfo=dt.timezone.utc)


def test_uids_are_unique_and_stable(term) -> None:
    first = render_ics(term, stamp=dt.datetime(2023, 1, 1, tzinfo=dt.timezone.utc))
    second = render_ics(term, stamp=dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc))
    uids = [str(e["UID"]) for e in icalendar.Calendar.from_ical(first).walk("VEVENT")]
    assert len(set(uids)) == len(uids)
    assert uids == [str(e["UID"]) for e in icalendar.Calendar.from_ical(second).walk("VEVENT")]


def test_required_properties_and_line_format(term) -> None:
    text = render_ics(term)
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:")
    assert text.endswith("END:VCALENDAR\r\n")
    lines = text.split("\r\n")[:-1]
    assert all(len(line.encode("utf-8")) <= 75 for line in lines)
    assert "\n" not in text.replace("\r\n", "")
    for event in icalendar.Calendar.from_ical(text).walk("VEVENT"):
        for prop in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"):
            assert prop in event


def test_text_escaping_and_folding() -> None:
    assert escape_text("a, b; c\\d\ne") == "a\\, b\\; c\\\\d\\ne"
    line = "SUMMARY:" + "é" * 60
    folded = fold(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode("utf-8")) <= 75 for p in parts)
    assert "".join(p[1:] if i else p for i, p in enumerate(parts)) == line
