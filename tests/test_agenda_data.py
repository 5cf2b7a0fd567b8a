"""Validation and date logic of book/agenda.yml, one test per kind of bad input, and the form of the
messages: one line with the file, the line and column, the entry numbered from 1 and the field."""
from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from course_book.agenda_data import AgendaError, build_date, entry_name, load_agenda, load_yaml, parse_agenda

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
    # Whatever the term: every lecture of the catalogue is taught once, in order, and the deadlines
    # of the course map are all there.
    taught = [lecture.number for s in term.sessions for lecture in s.lectures]
    assert taught == sorted(taught) and len(set(taught)) == len(taught) >= 13, taught
    assert {d.kind for d in term.deadlines} >= {"homework", "project"}
    assert term.deadline("reading-assignment").hard
    for lecture in term.lectures.values():
        for page in [lecture.page, *lecture.code]:
            if page:
                assert (ROOT / f"{page}.md").is_file(), page


def test_missing_key() -> None:
    data = valid()
    del data["sessions"][1]["date"]
    assert error_of(data) == "book/agenda.yml: session 2: field 'date': missing required key"


def test_missing_top_level_section() -> None:
    data = valid()
    del data["deadlines"]
    assert error_of(data) == "book/agenda.yml: top level: field 'deadlines': missing required key"


def test_unknown_key() -> None:
    data = valid()
    data["sessions"][0]["romm"] = "B28"
    assert error_of(data) == ("book/agenda.yml: session 1 (2023-02-10): field 'romm': unknown key, did you "
                              "mean 'room'? (allowed: activities, date, exercises, id, lectures, minutes, "
                              "room, time, tutorials)")


def test_unknown_key_without_a_close_match_lists_the_allowed_keys() -> None:
    data = valid()
    data["sessions"][0]["weight"] = 3
    message = error_of(data)
    assert message.startswith("book/agenda.yml: session 1 (2023-02-10): field 'weight': unknown key (allowed: ")
    assert "did you mean" not in message


@pytest.mark.parametrize(("where", "typo", "meant"), [
    (("term",), "timzone", "timezone"),
    (("lectures", 1), "pgae", "page"),
    (("sessions", 1), "tutorial", "tutorials"),
    (("sessions", 1, "tutorials", 0), "titel", "title"),
    (("deadlines", 0), "introduce", "introduced"),
    ((), "deadline", "deadlines"),
])
def test_a_misspelled_key_gets_did_you_mean(where: tuple, typo: str, meant: str) -> None:
    data = valid()
    entry = data
    for key in where:
        entry = entry[key]
    entry[typo] = entry.pop(meant, "x")
    assert f"field '{typo}': unknown key, did you mean '{meant}'? (allowed: " in error_of(data)


def test_unknown_key_in_deadline() -> None:
    data = valid()
    data["deadlines"][1]["due_date"] = "2023-05-19"
    assert error_of(data) == ("book/agenda.yml: deadline 2 (project): field 'due_date': unknown key (allowed: "
                              "due, hard, id, introduced, kind, opens, page, solution, submit, title)")


def test_impossible_date() -> None:
    data = valid()
    data["sessions"][1]["date"] = "2023-02-30"
    assert error_of(data) == ("book/agenda.yml: session 2 (2023-02-30): field 'date': impossible date "
                              "'2023-02-30' (day is out of range for month)")


def test_impossible_deadline_time() -> None:
    data = valid()
    data["deadlines"][0]["due"] = "2023-03-06 24:30"
    assert error_of(data).startswith("book/agenda.yml: deadline 1 (homework-1): field 'due': expected a time "
                                     "as HH:MM")


def test_malformed_date() -> None:
    data = valid()
    data["sessions"][0]["date"] = "10/02/2023"
    assert "field 'date': expected a date as YYYY-MM-DD, got '10/02/2023'" in error_of(data)


def test_lecture_page_that_does_not_exist() -> None:
    data = valid()
    data["lectures"][1]["page"] = "lectures/lecture99"
    assert error_of(data, root=ROOT).startswith(
        "book/agenda.yml: lecture 1: field 'page': page 'lectures/lecture99' does not exist")


def test_code_notebook_that_does_not_exist() -> None:
    data = valid()
    data["lectures"][1]["code"] = ["code/no-such-notebook"]
    assert error_of(data, ROOT).startswith(
        "book/agenda.yml: lecture 1: field 'code': page 'code/no-such-notebook' does not exist")


def test_deadline_before_the_session_that_introduces_it() -> None:
    data = valid()
    data["deadlines"][0]["introduced"] = "2023-02-17"
    data["deadlines"][0]["due"] = "2023-02-16 23:59"
    assert error_of(data) == (
        "book/agenda.yml: deadline 1 (homework-1): field 'due': 2023-02-16 23:59 is not after the "
        "session that introduces it ('session-2023-02-17', 2023-02-17 08:30)")


def test_deadline_introduced_by_an_unknown_session() -> None:
    data = valid()
    data["deadlines"][0]["introduced"] = "2023-02-11"
    assert error_of(data) == ("book/agenda.yml: deadline 1 (homework-1): field 'introduced': no session with "
                              "id or date '2023-02-11'")


def test_duplicate_deadline() -> None:
    data = valid()
    data["deadlines"].append(copy.deepcopy(data["deadlines"][0]))
    assert error_of(data) == ("book/agenda.yml: deadline 3 (homework-1): field 'id': duplicate deadline "
                              "'homework-1' (also deadline 1 (homework-1))")


def test_duplicate_session() -> None:
    data = valid()
    data["sessions"].insert(1, {"date": "2023-02-10", "tutorials": [{"title": "Extra"}]})
    assert error_of(data).startswith("book/agenda.yml: session 2 (2023-02-10): field 'date': duplicate session "
                                     "'session-2023-02-10' (also session 1 (2023-02-10))")


def test_lecture_scheduled_twice() -> None:
    data = valid()
    data["sessions"][1]["lectures"] = [1]
    assert error_of(data) == ("book/agenda.yml: session 2 (2023-02-17): field 'lectures': lecture 1 is "
                              "scheduled twice (also in session 1 (2023-02-10))")


def test_lecture_not_in_catalogue() -> None:
    data = valid()
    data["sessions"][1]["lectures"] = [7]
    assert error_of(data) == ("book/agenda.yml: session 2 (2023-02-17): field 'lectures': lecture 7 is not "
                              "in the 'lectures' catalogue")


def test_sessions_out_of_order() -> None:
    data = valid()
    data["sessions"].reverse()
    assert error_of(data) == ("book/agenda.yml: session 2 (2023-02-10): field 'date': 2023-02-10 08:30 is "
                              "before the session listed above it (session 1 (2023-02-17), 2023-02-17 "
                              "08:30); keep sessions in date order")


def test_unknown_deadline_kind() -> None:
    data = valid()
    data["deadlines"][0]["kind"] = "quiz"
    assert error_of(data).startswith("book/agenda.yml: deadline 1 (homework-1): field 'kind': unknown kind "
                                     "'quiz' (allowed: homework, ")


def test_unknown_time_zone() -> None:
    data = valid()
    data["term"]["timezone"] = "Europe/Atlantis"
    assert error_of(data).startswith("book/agenda.yml: term: field 'timezone': unknown time zone")


def test_duplicate_yaml_key_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "agenda.yml"
    path.write_text("term:\n  name: a\n  name: b\n", encoding="utf-8")
    with pytest.raises(AgendaError) as info:
        load_agenda(path, source=SOURCE)
    assert str(info.value) == "book/agenda.yml:3:3: term: key 'name' appears twice (first on line 2)"


def test_duplicate_key_in_a_session_names_the_session(tmp_path: Path) -> None:
    path = tmp_path / "agenda.yml"
    path.write_text("sessions:\n  - date: 2023-02-10\n  - date: 2023-02-17\n    lectures: [1]\n"
                    "    lectures: [2]\n", encoding="utf-8")
    with pytest.raises(AgendaError) as info:
        load_agenda(path, source=SOURCE)
    assert str(info.value) == ("book/agenda.yml:5:5: session 2 (2023-02-17): key 'lectures' appears twice "
                               "(first on line 4)")


def test_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "agenda.yml"
    path.write_text("term: {name: a\nlectures: {}\n", encoding="utf-8")
    with pytest.raises(AgendaError) as info:
        load_agenda(path, source=SOURCE)
    message = str(info.value)
    assert message.startswith("book/agenda.yml:2:9: not valid YAML: while parsing a flow mapping; "), message
    assert "\n" not in message


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


# --------------------------------------------------------------------------- where the error is in the file


def yaml_text(data: dict) -> str:
    """``data`` as a block-style YAML file, one key per line (as book/agenda.yml is written)."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def file_error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "agenda.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AgendaError) as info:
        load_agenda(path, root=ROOT, source=SOURCE)
    return str(info.value)


def line_col(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the only occurrence of ``needle`` in ``text``."""
    assert text.count(needle) == 1, needle
    before = text[: text.index(needle)]
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


@pytest.mark.parametrize(("edit", "needle", "entry"), [
    (lambda d: d["sessions"][1].update(date="2023-02-30"), "date: '2023-02-30'",
     "session 2 (2023-02-30): field 'date': impossible date"),
    (lambda d: d["sessions"][0].update(romm="B28"), "romm:",
     "session 1 (2023-02-10): field 'romm': unknown key, did you mean 'room'?"),
    (lambda d: d["deadlines"][1].update(kind="quiz"), "kind: quiz",
     "deadline 2 (project): field 'kind': unknown kind 'quiz'"),
    (lambda d: d["lectures"][1].update(page="lectures/lecture99"), "page: lectures/lecture99",
     "lecture 1: field 'page': page 'lectures/lecture99' does not exist"),
    (lambda d: d["sessions"][1]["tutorials"][0].update(pgae="x"), "pgae:",
     "session 2 (2023-02-17): tutorial 1: field 'pgae': unknown key, did you mean 'page'?"),
    (lambda d: d["term"].update(timezone="Europe/Atlantis"), "timezone: Europe/Atlantis",
     "term: field 'timezone': unknown time zone"),
])
def test_a_file_error_gives_line_and_column(tmp_path: Path, edit, needle: str, entry: str) -> None:
    data = valid()
    edit(data)
    text = yaml_text(data)
    line, col = line_col(text, needle)
    message = file_error(tmp_path, text)
    assert message.startswith(f"book/agenda.yml:{line}:{col}: {entry}"), (message, text)
    assert "\n" not in message


def test_a_missing_field_points_at_its_entry(tmp_path: Path) -> None:
    data = valid()
    del data["deadlines"][1]["due"]
    text = yaml_text(data)
    line, col = line_col(text, "- id: project")
    assert file_error(tmp_path, text) == (f"book/agenda.yml:{line}:{col + 2}: deadline 2 (project): field "
                                          "'due': missing required key")


def test_a_lecture_entry_points_at_its_number(tmp_path: Path) -> None:
    text = yaml_text(valid()).replace("  2:\n    title: MLP\n", "  2:\n    title: MLP\n  -1:\n    title: X\n")
    line, col = line_col(text, "-1:")
    assert file_error(tmp_path, text) == (f"book/agenda.yml:{line}:{col}: lecture -1: lecture numbers must be "
                                          "whole numbers >= 0, got -1")


def test_entries_are_numbered_from_one() -> None:
    data = valid()
    assert entry_name(("sessions", 0), data) == "session 1 (2023-02-10)"
    assert entry_name(("sessions", 1, "tutorials", 0), data) == "session 2 (2023-02-17): tutorial 1"
    assert entry_name(("sessions", 1, "exercises", 0), data) == "session 2 (2023-02-17): exercise 1"
    assert entry_name(("sessions", 0, "activities", 0), data) == "session 1 (2023-02-10): activity 1"
    assert entry_name(("deadlines", 1), data) == "deadline 2 (project)"
    assert entry_name(("lectures", 0), data) == "lecture 0"  # lectures keep the course's own numbers
    assert entry_name(("term",), data) == "term"
    assert entry_name((), data) == "top level"


def test_the_real_agenda_reports_its_real_line(tmp_path: Path) -> None:
    """A bad date in a copy of book/agenda.yml is reported at the line and column of that date's key."""
    text = (ROOT / "book" / "agenda.yml").read_text(encoding="utf-8")
    _, marks = load_yaml(text, SOURCE)
    first = text.splitlines().index("sessions:") + 2  # the line of the first session's "- date:"
    assert marks.find(("sessions", 0), "date") == (first, 5)
    second_date = yaml.safe_load(text)["sessions"][1]["date"].isoformat()
    broken = text.replace(f"  - date: {second_date}\n", "  - date: 2023-02-30\n", 1)
    line, col = line_col(broken, "date: 2023-02-30")
    assert file_error(tmp_path, broken).startswith(
        f"book/agenda.yml:{line}:{col}: session 2 (2023-02-30): field 'date': impossible date '2023-02-30'")
