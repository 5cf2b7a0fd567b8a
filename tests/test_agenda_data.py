"""Validation and date logic of book/agenda.yml, one test per kind of bad input."""
from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import pytest
from conftest import ROOT
from course_book.agenda_data import AgendaError, build_date, load_agenda, parse_agenda

SOURCE = "book/agenda.yml"


def valid() -> dict:
    return {
        "term": {"name": "Test term", "slug": "test-term", "timezone": "Europe/Brussels",
                 "time": "08:30", "minutes": 120, "room": "Room 1"},
        "lectures": {0: {"title": "Introduction", "page": "lectures/lecture0"},
                     1: {"title": "Fundamentals", "page": "lectures/lecture1",
                         "code": ["code/lec1-polynomial-regression"]},
                     2: {"title": "MLP"}},
        "sessions": [
            {"date": "2023-02-10", "lectures": [0, 1],
             "activities": [{"title": "Course syllabus", "page": "book/syllabus"}]},
            {"date": "2023-02-17", "lectures": [2], "tutorials": [{"title": "Experiment tracking"}],
             "exercises": [{"title": "1: warm-up"}]},
        ],
        "deadlines": [
            {"id": "homework-1", "title": "Homework 1", "kind": "homework", "due": "2023-03-06 23:59",
             "introduced": "2023-02-10"},
            {"id": "project", "title": "Project", "kind": "project", "due": "2023-05-19 23:59",
             "hard": True},
        ],
    }


def error_of(data: dict, root: Path | None = None) -> str:
    with pytest.raises(AgendaError) as info:
        parse_agenda(data, source=SOURCE, root=root)
    return str(info.value)


def test_valid_data_parses() -> None:
    term = parse_agenda(valid(), source=SOURCE, root=ROOT)
    assert [s.id for s in term.sessions] == ["session-2023-02-10", "session-2023-02-17"]
    assert term.sessions[0].start == dt.datetime(2023, 2, 10, 8, 30, tzinfo=term.tz)
    assert term.sessions[0].end.hour == 10 and term.sessions[0].end.minute == 30
    assert term.deadline("homework-1").introduced == "session-2023-02-10"
    assert term.sessions[1].tutorials[0].title == "Experiment tracking"
    assert [label for label, _ in term.sessions[0].items()] == [
        "Course syllabus", "Lecture 0: Introduction", "Lecture 1: Fundamentals"]
    assert term.sessions[1].summary == "Lecture 2: MLP; Tutorial: Experiment tracking; Exercise 1: warm-up"


def test_the_real_agenda_is_valid_and_its_pages_exist() -> None:
    term = load_agenda(ROOT / "book" / "agenda.yml", root=ROOT, source=SOURCE)
    assert len(term.sessions) == 12 and len(term.deadlines) == 8
    assert term.sessions[0].start.date() == dt.date(2023, 2, 10)
    assert term.deadline("reading-assignment").hard
    for lecture in term.lectures.values():
        for page in [lecture.page, *lecture.code]:
            if page:
                assert (ROOT / f"{page}.md").is_file(), page


def test_missing_key() -> None:
    data = valid()
    del data["sessions"][1]["date"]
    assert error_of(data) == "book/agenda.yml: sessions[1] (?): field 'date': missing required key"


def test_missing_top_level_section() -> None:
    data = valid()
    del data["deadlines"]
    assert error_of(data) == "book/agenda.yml: top level: field 'deadlines': missing required key"


def test_unknown_key() -> None:
    data = valid()
    data["sessions"][0]["romm"] = "B28"
    message = error_of(data)
    assert message.startswith("book/agenda.yml: sessions[0] (2023-02-10): field 'romm': unknown key")


def test_unknown_key_in_deadline() -> None:
    data = valid()
    data["deadlines"][1]["due_date"] = "2023-05-19"
    assert "deadlines[1] (project): field 'due_date': unknown key" in error_of(data)


def test_impossible_date() -> None:
    data = valid()
    data["sessions"][1]["date"] = "2023-02-30"
    message = error_of(data)
    assert message.startswith("book/agenda.yml: sessions[1] (2023-02-30): field 'date': impossible date "
                              "'2023-02-30'")


def test_impossible_deadline_time() -> None:
    data = valid()
    data["deadlines"][0]["due"] = "2023-03-06 24:30"
    assert "deadlines[0] (homework-1): field 'due': expected a time as HH:MM" in error_of(data)


def test_malformed_date() -> None:
    data = valid()
    data["sessions"][0]["date"] = "10/02/2023"
    assert "field 'date': expected a date as YYYY-MM-DD, got '10/02/2023'" in error_of(data)


def test_lecture_page_that_does_not_exist() -> None:
    data = valid()
    data["lectures"][1]["page"] = "lectures/lecture99"
    assert error_of(data, root=ROOT).startswith(
        "book/agenda.yml: lectures[1]: field 'page': page 'lectures/lecture99' does not exist")


def test_code_notebook_that_does_not_exist() -> None:
    data = valid()
    data["lectures"][1]["code"] = ["code/no-such-notebook"]
    assert "lectures[1]: field 'code': page 'code/no-such-notebook' does not exist" in error_of(data, ROOT)


def test_deadline_before_the_session_that_introduces_it() -> None:
    data = valid()
    data["deadlines"][0]["introduced"] = "2023-02-17"
    data["deadlines"][0]["due"] = "2023-02-16 23:59"
    assert error_of(data) == (
        "book/agenda.yml: deadlines[0] (homework-1): field 'due': 2023-02-16 23:59 is not after the "
        "session that introduces it ('session-2023-02-17', 2023-02-17 08:30)")


def test_deadline_introduced_by_an_unknown_session() -> None:
    data = valid()
    data["deadlines"][0]["introduced"] = "2023-02-11"
    assert "field 'introduced': no session with id or date '2023-02-11'" in error_of(data)


def test_duplicate_deadline() -> None:
    data = valid()
    data["deadlines"].append(copy.deepcopy(data["deadlines"][0]))
    assert error_of(data) == ("book/agenda.yml: deadlines[2] (homework-1): field 'id': duplicate deadline "
                              "'homework-1' (also deadlines[0] (homework-1))")


def test_duplicate_session() -> None:
    data = valid()
    data["sessions"].insert(1, {"date": "2023-02-10", "tutorials": [{"title": "Extra"}]})
    message = error_of(data)
    assert "sessions[1] (2023-02-10): field 'date': duplicate session 'session-2023-02-10'" in message


def test_lecture_scheduled_twice() -> None:
    data = valid()
    data["sessions"][1]["lectures"] = [1]
    assert "sessions[1] (2023-02-17): field 'lectures': lecture 1 is scheduled twice" in error_of(data)


def test_lecture_not_in_catalogue() -> None:
    data = valid()
    data["sessions"][1]["lectures"] = [7]
    assert "field 'lectures': lecture 7 is not in the 'lectures' catalogue" in error_of(data)


def test_sessions_out_of_order() -> None:
    data = valid()
    data["sessions"].reverse()
    assert "keep sessions in date order" in error_of(data)


def test_unknown_deadline_kind() -> None:
    data = valid()
    data["deadlines"][0]["kind"] = "quiz"
    assert "deadlines[0] (homework-1): field 'kind': unknown kind 'quiz'" in error_of(data)


def test_unknown_time_zone() -> None:
    data = valid()
    data["term"]["timezone"] = "Europe/Atlantis"
    assert error_of(data).startswith("book/agenda.yml: term: field 'timezone': unknown time zone")


def test_duplicate_yaml_key_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "agenda.yml"
    path.write_text("term:\n  name: a\n  name: b\n", encoding="utf-8")
    with pytest.raises(AgendaError) as info:
        load_agenda(path, source=SOURCE)
    assert str(info.value) == ("book/agenda.yml: line 3: key 'name' appears twice in the same entry "
                               "(first on line 2)")


def test_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "agenda.yml"
    path.write_text("term: [unclosed\n", encoding="utf-8")
    with pytest.raises(AgendaError, match=r"^book/agenda.yml: not valid YAML"):
        load_agenda(path, source=SOURCE)


def test_course_today_override() -> None:
    term = parse_agenda(valid(), source=SOURCE)
    assert build_date(term.tz, {"COURSE_TODAY": "2023-03-01"}) == dt.date(2023, 3, 1)
    assert build_date(term.tz, {}) == dt.datetime.now(term.tz).date()
    with pytest.raises(AgendaError, match="COURSE_TODAY: expected YYYY-MM-DD, got '1 March'"):
        build_date(term.tz, {"COURSE_TODAY": "1 March"})


@pytest.mark.parametrize(("today", "session", "deadline"), [
    ("2023-01-15", "session-2023-02-10", "homework-1"),
    ("2023-02-10", "session-2023-02-10", "homework-1"),   # a session today is still "next up"
    ("2023-02-11", "session-2023-02-17", "homework-1"),
    ("2023-03-06", None, "homework-1"),                   # due today
    ("2023-03-07", None, "project"),
    ("2023-05-20", None, None),
])
def test_next_up(today: str, session: str | None, deadline: str | None) -> None:
    term = parse_agenda(valid(), source=SOURCE)
    day = dt.date.fromisoformat(today)
    found = term.next_session(day)
    assert (found.id if found else None) == session
    due = term.next_deadline(day)
    assert (due.id if due else None) == deadline
    assert term.is_over(day) == (session is None and deadline is None)


def test_past_today_upcoming() -> None:
    term = parse_agenda(valid(), source=SOURCE)
    start = term.sessions[1].start
    assert term.state(start, dt.date(2023, 2, 18)) == "past"
    assert term.state(start, dt.date(2023, 2, 17)) == "today"
    assert term.state(start, dt.date(2023, 2, 16)) == "upcoming"
