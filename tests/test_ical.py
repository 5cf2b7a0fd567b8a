"""The calendar feed: RFC 5545 structure, read back by two independent parsers (icalendar and
vobject), reproducible bytes, and the revision time that stamps it."""
from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
import yaml
from conftest import ROOT
from course_book.agenda_data import AgendaError, load_agenda, parse_agenda
from course_book.ical import render_ics, revision_time
from test_agenda_sphinx import build, make_project

STAMP = dt.datetime(2023, 1, 1, 12, 30, tzinfo=dt.timezone.utc)

# A term with a site address, text that needs escaping, a long title, and a session with an id (so that
# its event survives a change of date).
SMALL = """\
term: {name: "Small, term; test", slug: small, timezone: Europe/Brussels, time: "08:30", minutes: 90,
       room: "Room 1, building A", url: "https://example.org/course/"}
lectures:
  0: {title: "Commas, semicolons; and a back\\\\slash", page: lectures/lecture0}
  1: {title: "Éléments très longs: répétés répétés répétés répétés répétés répétés répétés répétés"}
sessions:
  - {id: first, date: 2023-03-24, lectures: [0]}
  - {date: 2023-03-31, time: "10:15", lectures: [1], room: Lab}
deadlines:
  - {id: hw, title: Homework, kind: homework, due: "2023-03-27 23:59", page: hw, submit: "Gradescope, alone"}
"""


@pytest.fixture(scope="module")
def term():
    return load_agenda(ROOT / "book" / "agenda.yml", source="book/agenda.yml")


def small(text: str = SMALL):
    return parse_agenda(yaml.safe_load(text), source="small.yml")


def unfolded(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")[:-1]


def test_every_session_and_deadline_is_an_event(term) -> None:
    cal = icalendar.Calendar.from_ical(render_ics(term, STAMP))
    events = list(cal.walk("VEVENT"))
    assert len(events) == len(term.sessions) + len(term.deadlines) > 0
    summaries = [str(e["SUMMARY"]) for e in events]
    for d in term.deadlines:
        assert any(d.title in s and s.startswith("Due:") for s in summaries), d.id
    for s in term.sessions:
        assert s.summary in summaries


def test_times_carry_the_time_zone(term) -> None:
    """Every event starts at its agenda time in the term's zone, whatever the term's dates."""
    cal = icalendar.Calendar.from_ical(render_ics(term, STAMP))
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == [term.timezone]
    starts = {str(e["UID"]): e["DTSTART"].dt for e in cal.walk("VEVENT")}
    expected = {f"{term.slug}-{s.id}@dl-course.invalid": s.start for s in term.sessions}
    expected |= {f"{term.slug}-deadline-{d.id}@dl-course.invalid": d.due for d in term.deadlines}
    assert set(starts) == set(expected)
    for uid, start in expected.items():
        assert starts[uid] == start and starts[uid].utcoffset() == start.utcoffset(), uid
        assert str(starts[uid].tzinfo) == term.timezone, uid


def test_uids_are_unique_and_stable(term) -> None:
    first = render_ics(term, stamp=dt.datetime(2023, 1, 1, tzinfo=dt.timezone.utc))
    second = render_ics(term, stamp=dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc))
    uids = [str(e["UID"]) for e in icalendar.Calendar.from_ical(first).walk("VEVENT")]
    assert len(set(uids)) == len(uids)
    assert uids == [str(e["UID"]) for e in icalendar.Calendar.from_ical(second).walk("VEVENT")]


def test_required_properties_and_line_format(term) -> None:
    text = render_ics(term, STAMP)
    assert text.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:")
    assert text.endswith("END:VCALENDAR\r\n")
    lines = text.split("\r\n")[:-1]
    assert all(len(line.encode("utf-8")) <= 75 for line in lines)
    assert "\n" not in text.replace("\r\n", "")
    for event in icalendar.Calendar.from_ical(text).walk("VEVENT"):
        for prop in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"):
            assert prop in event
        assert event["DTSTAMP"].dt == event["LAST-MODIFIED"].dt == STAMP
        assert "SEQUENCE" not in event  # 0 by default; the stamp tells clients which version is newer


def test_text_escaping_and_folding() -> None:
    text = render_ics(small(), STAMP)
    lines = text.split("\r\n")[:-1]
    assert all(len(line.encode("utf-8")) <= 75 for line in lines)
    assert max(len(line.encode("utf-8")) for line in lines) > 70  # the long title really was folded
    plain = unfolded(text)
    assert "SUMMARY:Lecture 0: Commas\\, semicolons\\; and a back\\\\slash" in plain
    assert "LOCATION:Room 1\\, building A" in plain
    assert "X-WR-CALNAME:Small\\, term\\; test" in plain
    long_title = "Lecture 1: " + small().lectures[1].title
    # Both parsers undo the escaping and the folding (the UTF-8 characters are not split).
    assert {str(e["SUMMARY"]) for e in icalendar.Calendar.from_ical(text).walk("VEVENT")} >= {
        "Lecture 0: Commas, semicolons; and a back\\slash", long_title}
    assert long_title in {e.summary.value for e in vobject.readOne(text).vevent_list}


def _icalendar_events(text: str) -> dict[str, dict]:
    out = {}
    for e in icalendar.Calendar.from_ical(text).walk("VEVENT"):
        alarms = e.walk("VALARM")
        out[str(e["UID"])] = {
            "start": e["DTSTART"].dt, "end": e["DTEND"].dt, "summary": str(e["SUMMARY"]),
            "location": str(e["LOCATION"]) if "LOCATION" in e else None,
            "url": str(e["URL"]) if "URL" in e else None, "description": str(e["DESCRIPTION"]),
            "categories": [str(c) for c in e.categories], "stamp": e["DTSTAMP"].dt,
            "modified": e["LAST-MODIFIED"].dt,
            "alarms": [(str(a["ACTION"]), a["TRIGGER"].dt, str(a["DESCRIPTION"])) for a in alarms]}
    return out


def _vobject_events(text: str) -> dict[str, dict]:
    cal = vobject.readOne(text)
    # vobject keeps the first zone it ever read under a TZID; read this feed's own VTIMEZONE instead.
    assert len(cal.contents["vtimezone"]) == 1
    zone = cal.vtimezone.gettzinfo()
    out = {}
    for e in cal.vevent_list:
        c = e.contents
        start, end = e.dtstart.value, e.dtend.value
        assert start.tzinfo is not None and start.utcoffset() is not None, e.uid.value
        out[e.uid.value] = {
            "start": start.replace(tzinfo=zone), "end": end.replace(tzinfo=zone), "summary": e.summary.value,
            "location": e.location.value if "location" in c else None,
            "url": e.url.value if "url" in c else None, "description": e.description.value,
            "categories": e.categories.value, "stamp": e.dtstamp.value,
            "modified": e.last_modified.value,
            "alarms": [(a.action.value, a.trigger.value, a.description.value) for a in c.get("valarm", [])]}
    return {"calendar": (cal.contents["x-wr-calname"][0].value, cal.vtimezone.tzid.value), **out}


@pytest.mark.parametrize("which", ["course", "small"])
def test_two_parsers_agree(term, which: str) -> None:
    chosen = term if which == "course" else small()
    text = render_ics(chosen, STAMP)
    first, second = _icalendar_events(text), _vobject_events(text)
    assert second.pop("calendar") == (chosen.name, chosen.timezone)
    assert sorted(first) == sorted(second) and len(first) == len(chosen.sessions) + len(chosen.deadlines)
    for uid, a in first.items():
        b = second[uid]
        # icalendar reads the TZID as the IANA zone; vobject builds the zone from the feed's VTIMEZONE.
        assert isinstance(a["start"].tzinfo, ZoneInfo) and a["start"].tzinfo.key == chosen.timezone
        for key in ("start", "end"):  # same instant and same offset, so the VTIMEZONE matches the zone
            assert a[key] == b[key] and a[key].utcoffset() == b[key].utcoffset(), (uid, key)
        assert {k: v for k, v in a.items() if k not in ("start", "end")} == {
            k: v for k, v in b.items() if k not in ("start", "end")}, uid


def test_the_time_zone_covers_every_event(term) -> None:
    cal = icalendar.Calendar.from_ical(render_ics(term, STAMP))
    onsets = []
    for observance in cal.walk("VTIMEZONE")[0].subcomponents:
        onsets.append(observance["DTSTART"].dt)
        rdates = observance.get("RDATE", [])
        onsets += [p.dt for r in (rdates if isinstance(rdates, list) else [rdates]) for p in r.dts]
    local = [e["DTSTART"].dt.replace(tzinfo=None) for e in cal.walk("VEVENT")]
    assert min(onsets) <= min(local) and max(onsets) > max(local)
    assert {o.name for o in cal.walk("VTIMEZONE")[0].subcomponents} == {"STANDARD", "DAYLIGHT"}


def test_sessions_and_deadlines_keep_their_details() -> None:
    events = _icalendar_events(render_ics(small(), STAMP))
    first = events["small-first@dl-course.invalid"]
    assert first["url"] == "https://example.org/course/lectures/lecture0.html"
    assert first["location"] == "Room 1, building A" and first["categories"] == ["Session"]
    assert first["end"] - first["start"] == dt.timedelta(minutes=90) and first["alarms"] == []
    second = events["small-session-2023-03-31@dl-course.invalid"]
    assert second["location"] == "Lab" and second["url"] is None  # its lecture has no page
    assert second["start"] == dt.datetime(2023, 3, 31, 10, 15, tzinfo=ZoneInfo("Europe/Brussels"))
    assert second["start"].utcoffset() == dt.timedelta(hours=2)  # summer time from 26 March 2023
    hw = events["small-deadline-hw@dl-course.invalid"]
    assert hw["summary"] == "Due: Homework" and hw["categories"] == ["Deadline"]
    assert hw["url"] == "https://example.org/course/hw.html"
    assert hw["description"] == "Homework. Submit: Gradescope, alone"
    assert hw["alarms"] == [("DISPLAY", -dt.timedelta(days=1), "Due: Homework")]


def test_a_moved_session_keeps_its_uid_with_a_later_stamp() -> None:
    before = _icalendar_events(render_ics(small(), STAMP))
    later = STAMP + dt.timedelta(days=3)
    after = _icalendar_events(render_ics(small(SMALL.replace("date: 2023-03-24", "date: 2023-03-23")), later))
    assert sorted(before) == sorted(after)
    uid = "small-first@dl-course.invalid"
    assert after[uid]["start"] - before[uid]["start"] == -dt.timedelta(days=1)
    assert after[uid]["stamp"] == after[uid]["modified"] == later > before[uid]["stamp"]
    # A session without an id keeps its event when it moves if it is given the id it had implicitly.
    moved = _icalendar_events(render_ics(small(SMALL.replace(
        "{date: 2023-03-31,", "{id: session-2023-03-31, date: 2023-04-03,")), later))
    uid = "small-session-2023-03-31@dl-course.invalid"
    assert sorted(moved) == sorted(before)
    assert moved[uid]["start"] - before[uid]["start"] == dt.timedelta(days=3)


# --------------------------------------------------------------------------- reproducible stamp


def test_two_builds_of_one_agenda_give_identical_feeds(tmp_path: Path) -> None:
    """Two Sphinx builds, on different build dates (as the daily rebuild does), into fresh folders."""
    src = make_project(tmp_path)
    assert build(src, "2023-02-17", tmp_path / "one").returncode == 0
    assert build(src, "2023-03-07", tmp_path / "two").returncode == 0
    feed = (tmp_path / "one" / "agenda.ics").read_bytes()
    assert feed == (tmp_path / "two" / "agenda.ics").read_bytes()
    stamp = revision_time(src / "agenda.yml").strftime("%Y%m%dT%H%M%SZ")  # no git here: the file's time
    assert f"DTSTAMP:{stamp}\r\n".encode() in feed


def _git(repo: Path, *args: str, when: str | None = None) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    if when:
        env |= {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
    subprocess.run(["git", "-c", "user.name=Test", "-c", "user.email=test@example.org", *args], cwd=repo,
                   env=env, check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_revision_time_follows_the_agenda_commits(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "book").mkdir(parents=True)
    agenda = repo / "book" / "agenda.yml"
    agenda.write_text(SMALL, encoding="utf-8")
    (repo / "other.txt").write_text("x\n", encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "agenda", when="2023-01-10T09:00:00+00:00")
    (repo / "other.txt").write_text("y\n", encoding="utf-8")  # a later commit that leaves the agenda alone
    _git(repo, "commit", "-q", "-am", "other", when="2023-01-20T09:00:00+00:00")
    os.utime(agenda, (1_700_000_000, 1_700_000_000))  # a fresh clone's file times are the checkout's
    assert revision_time(agenda, env={}) == dt.datetime(2023, 1, 10, 9, tzinfo=dt.timezone.utc)
    # An uncommitted edit is newer than any commit: the file's time.
    agenda.write_text(SMALL.replace("date: 2023-03-24", "date: 2023-03-23"), encoding="utf-8")
    os.utime(agenda, (1_700_000_600, 1_700_000_600))
    assert revision_time(agenda, env={}) == dt.datetime.fromtimestamp(1_700_000_600, dt.timezone.utc)
    _git(repo, "commit", "-q", "-am", "move the first session", when="2023-02-01T08:00:00+00:00")
    assert revision_time(agenda, env={}) == dt.datetime(2023, 2, 1, 8, tzinfo=dt.timezone.utc)


def test_revision_time_without_git_and_from_the_environment(tmp_path: Path) -> None:
    agenda = tmp_path / "agenda.yml"  # as unpacked from a tarball: no repository around it
    agenda.write_text(SMALL, encoding="utf-8")
    os.utime(agenda, (1_680_000_000.75, 1_680_000_000.75))
    assert revision_time(agenda, env={}) == dt.datetime.fromtimestamp(1_680_000_000, dt.timezone.utc)
    assert revision_time(agenda, env={"SOURCE_DATE_EPOCH": "1672531200"}) == dt.datetime(
        2023, 1, 1, tzinfo=dt.timezone.utc)
    with pytest.raises(AgendaError, match=r"SOURCE_DATE_EPOCH: expected whole seconds .* got 'yesterday'"):
        revision_time(agenda, env={"SOURCE_DATE_EPOCH": "yesterday"})
    with pytest.raises(AgendaError, match=r"missing\.yml: cannot read the agenda file's time"):
        revision_time(tmp_path / "missing.yml", env={})
