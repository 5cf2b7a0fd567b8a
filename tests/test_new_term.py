"""tools/new_term.py on a copy of this term's agenda, archives page and _config.yml: the move by whole
weeks, gaps and break weeks, name and slug, the archives entry, the copyright, the git tag, the dry run
and bad input."""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from dateutil.easter import easter

import new_term
from course_book.agenda_data import Term, load_agenda

FILES = (Path("book/agenda.yml"), Path("book/archives.md"), Path("_config.yml"))
WEEKS = 209  # spring 2023 -> spring 2027, as in the issue that asked for the tool


def copy_course(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    for rel in FILES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, root / rel)
    return root


def agenda(root: Path) -> Term:
    return load_agenda(root / "book" / "agenda.yml", source="book/agenda.yml")


OLD = agenda(ROOT)
OLD_FIRST = OLD.sessions[0].start.date()
NEW_FIRST = OLD_FIRST + dt.timedelta(weeks=WEEKS)
NEW_YEAR = NEW_FIRST.year
NAME, SLUG = f"Deep Learning on a CPU, spring {NEW_YEAR}", f"spring-{NEW_YEAR}"


def run(root: Path, capsys: pytest.CaptureFixture, *args: str, first: dt.date = NEW_FIRST,
        name: str = NAME, slug: str = SLUG) -> tuple[int, str, str]:
    code = new_term.run([first.isoformat(), "--name", name, "--slug", slug, "--root", str(root), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def snapshot(root: Path) -> dict[Path, bytes]:
    return {rel: (root / rel).read_bytes() for rel in FILES}


@pytest.fixture
def moved(tmp_path: Path, capsys: pytest.CaptureFixture) -> tuple[Path, str]:
    root = copy_course(tmp_path)
    code, out, err = run(root, capsys, "--no-tag")
    assert code == 0, err
    return root, out


def test_the_move_keeps_every_weekday_and_time(moved: tuple[Path, str]) -> None:
    root, out = moved
    new = agenda(root)
    assert NEW_FIRST.year == 2027 and new.sessions[0].start.date() == NEW_FIRST
    assert len(new.sessions) == len(OLD.sessions) and len(new.deadlines) == len(OLD.deadlines)
    for old_s, new_s in zip(OLD.sessions, new.sessions):
        assert new_s.start.date() - old_s.start.date() == dt.timedelta(weeks=WEEKS)
        assert new_s.start.strftime("%A %H:%M") == old_s.start.strftime("%A %H:%M")  # local time kept
        assert new_s.items() == old_s.items()
    for old_d, new_d in zip(OLD.deadlines, new.deadlines):
        old_local, new_local = old_d.due.astimezone(OLD.tz), new_d.due.astimezone(new.tz)
        assert new_local.date() - old_local.date() == dt.timedelta(weeks=WEEKS), new_d.id
        assert new_local.strftime("%A %H:%M") == old_local.strftime("%A %H:%M")
        # the same session hands the work out
        if old_d.introduced:
            index = [s.id for s in OLD.sessions].index(old_d.introduced)
            assert new_d.introduced == new.sessions[index].id
    assert f"(+{WEEKS} weeks)" in out


def test_the_move_keeps_the_gaps_and_warns_about_holidays(moved: tuple[Path, str]) -> None:
    root, out = moved
    old_gaps = new_term.gaps(OLD)
    assert old_gaps, "this term has a break: the test needs one"
    assert new_term.gaps(agenda(root)) == [g + dt.timedelta(weeks=WEEKS) for g in old_gaps]
    assert "warning: the term keeps its gaps" in out and "Check them against the holidays" in out
    assert f"Easter {NEW_YEAR} is on {new_term.short_day(easter(NEW_YEAR))}" in out


def test_name_and_slug_are_set_and_the_layout_kept(moved: tuple[Path, str]) -> None:
    root, _ = moved
    new = agenda(root)
    assert (new.name, new.slug) == (NAME, SLUG)
    old_lines = (ROOT / "book" / "agenda.yml").read_text(encoding="utf-8").splitlines()
    new_lines = (root / "book" / "agenda.yml").read_text(encoding="utf-8").splitlines()
    assert len(new_lines) == len(old_lines)
    changed = [(a, b) for a, b in zip(old_lines, new_lines) if a != b]
    assert changed and all(new_term.ANY_DATE.search(b) or "name:" in b or "slug:" in b for _, b in changed)
    # only the value changes: the key, its indentation and the comment after it stay
    slug_line = next(b for a, b in changed if "slug:" in b)
    old_slug_line = next(a for a, b in changed if "slug:" in b)
    assert slug_line == old_slug_line.replace(OLD.slug, SLUG)
    assert all(line.startswith("#") for line in new_lines[:3])  # the header comment is still there


def test_the_moved_agenda_is_valid_with_every_page(moved: tuple[Path, str]) -> None:
    root, _ = moved
    term = load_agenda(root / "book" / "agenda.yml", root=ROOT, source="book/agenda.yml")
    assert term.sessions[-1].start.date() == OLD.sessions[-1].start.date() + dt.timedelta(weeks=WEEKS)


def test_archives_and_copyright(moved: tuple[Path, str], capsys: pytest.CaptureFixture) -> None:
    root, _ = moved
    archives = (root / "book" / "archives.md").read_text(encoding="utf-8")
    entry = next(line for line in archives.splitlines() if line.startswith("- [`"))
    assert entry.startswith(f"- [`{OLD.slug}`](https://github.com/deep-learning-on-a-cpu/course/tree/"
                            f"{OLD.slug}): {OLD.name}, taught from ")
    # the list sits in "Past editions", before its first subsection
    past, listed, browsing = (archives.index(s) for s in ("## Past editions", new_term.EDITIONS,
                                                          "### Browsing an old edition"))
    assert past < listed < archives.index(entry) < browsing
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    old_config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    start = str(old_config["copyright"]).split("-")[0]
    assert config["copyright"] == f"{start}-{agenda(root).deadlines[-1].due.year}"
    # a second rollover lists the edition that has just ended first, and keeps the older one
    code, _, err = run(root, capsys, "--no-tag", first=NEW_FIRST + dt.timedelta(weeks=52),
                       name="Deep Learning on a CPU, spring 2028", slug="spring-2028")
    assert code == 0, err
    entries = [line for line in (root / "book" / "archives.md").read_text(encoding="utf-8").splitlines()
               if line.startswith("- [`")]
    assert [e.split("`")[1] for e in entries] == [SLUG, OLD.slug]
    assert yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))["copyright"] == f"{start}-2028"


def test_breaks_move_the_later_sessions(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = copy_course(tmp_path)
    holy_week = new_term.monday(easter(NEW_YEAR))  # break: the week before Easter and the week after
    breaks = [holy_week, holy_week + dt.timedelta(weeks=1)]
    code, out, err = run(root, capsys, "--no-tag", "--breaks", f"{breaks[0]},{breaks[1]}")
    assert code == 0, err
    assert "keeps its gaps" not in out
    new = agenda(root)
    weeks = [new_term.monday(s.start.date()) for s in new.sessions]
    expected, week = [], new_term.monday(NEW_FIRST)
    while len(expected) < len(new.sessions):  # one session week after the other, skipping the breaks
        if week not in breaks:
            expected.append(week)
        week += dt.timedelta(weeks=1)
    assert weeks == expected
    assert new_term.gaps(new) == breaks
    uniform = [s.start.date() + dt.timedelta(weeks=WEEKS) for s in OLD.sessions]
    before = [d for d in uniform if d < breaks[0]]
    assert [s.start.date() for s in new.sessions][:len(before)] == before  # untouched before the break
    assert any(s.start.date() > u for s, u in zip(new.sessions, uniform))  # later ones moved
    assert all(s.start.weekday() == OLD_FIRST.weekday() for s in new.sessions)
    # a deadline in a session's week stays in that session's week
    for old_d in OLD.deadlines:
        due = old_d.due.astimezone(OLD.tz).date()
        same_week = [i for i, s in enumerate(OLD.sessions) if new_term.monday(s.start.date()) == new_term.monday(due)]
        if same_week:
            new_due = new.deadline(old_d.id).due.astimezone(new.tz).date()
            assert new_term.monday(new_due) == weeks[same_week[0]], old_d.id
            assert new_due.weekday() == due.weekday()


def test_dry_run_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = copy_course(tmp_path)
    before = snapshot(root)
    code, out, err = run(root, capsys, "--dry-run")
    assert code == 0, err
    assert snapshot(root) == before
    assert "--- a/book/agenda.yml" in out and f"+  - date: {NEW_FIRST.isoformat()}" in out
    assert "+++ b/book/archives.md" in out and "+++ b/_config.yml" in out
    assert "dry run: nothing was written" in out
    assert "is not a git checkout" in out  # and it says why nothing would be tagged


FIRST_MONDAY = new_term.monday(NEW_FIRST)
BREAK = FIRST_MONDAY + dt.timedelta(weeks=7)
WEDNESDAY = BREAK + dt.timedelta(days=2)


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    ((), {"first": NEW_FIRST + dt.timedelta(days=3)},
     f"{(NEW_FIRST + dt.timedelta(days=3)).isoformat()} is a {(NEW_FIRST + dt.timedelta(days=3)):%A}, but the "
     f"first session ({OLD_FIRST.isoformat()}) is on a {OLD_FIRST:%A}: every session keeps its weekday, so "
     f"give a {OLD_FIRST:%A}, such as {NEW_FIRST.isoformat()} or "
     f"{(NEW_FIRST + dt.timedelta(weeks=1)).isoformat()}"),
    ((), {"first": OLD_FIRST}, f"the term already starts on {new_term.long_day(OLD_FIRST)}"),
    ((), {"slug": OLD.slug}, f"--slug: {OLD.slug} is the current term's slug"),
    ((), {"slug": "Spring 2027"}, "--slug: expected lower-case letters, digits and dashes, got 'Spring 2027'"),
    (("--breaks", WEDNESDAY.isoformat()), {}, f"--breaks: {WEDNESDAY.isoformat()} is a Wednesday; give the "
                                              f"Monday of the break week, {BREAK.isoformat()}"),
    (("--breaks", FIRST_MONDAY.isoformat()), {}, f"--breaks: the week of {FIRST_MONDAY.isoformat()} is not "
                                                 "after the week of the first session"),
    (("--breaks", f"{BREAK:%d/%m/%Y}"), {}, f"--breaks: expected a date as YYYY-MM-DD, got '{BREAK:%d/%m/%Y}'"),
])
def test_bad_input_is_refused_and_nothing_written(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                  args: tuple, kwargs: dict, message: str) -> None:
    root = copy_course(tmp_path)
    before = snapshot(root)
    code, out, err = run(root, capsys, "--no-tag", *args, **kwargs)
    assert code == 1
    assert err == f"error: {message}\n" or err.startswith(f"error: {message}"), err
    assert snapshot(root) == before


def test_an_invalid_agenda_is_refused_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = copy_course(tmp_path)
    path = root / "book" / "agenda.yml"
    text = path.read_text(encoding="utf-8").replace("  - date:", "  - dat:", 1)
    path.write_text(text, encoding="utf-8")
    code, _, err = run(root, capsys, "--no-tag")
    line = text.splitlines().index(next(x for x in text.splitlines() if x.startswith("  - dat:"))) + 1
    assert code == 1
    assert err.startswith(f"error: the current agenda is not valid, fix it first: book/agenda.yml:{line}:5: "
                          "session 1: field 'dat': unknown key, did you mean 'date'?"), err


def test_a_date_in_a_comment_is_pointed_out(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = copy_course(tmp_path)
    path = root / "book" / "agenda.yml"
    path.write_text(path.read_text(encoding="utf-8") + "# moved from 2023-05-12 after the strike\n",
                    encoding="utf-8")
    code, out, err = run(root, capsys, "--no-tag")
    assert code == 0, err
    lines = path.read_text(encoding="utf-8").splitlines()
    assert f"warning: book/agenda.yml line {len(lines)}: 2023-05-12 is a date the tool did not move" in out


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def git_identity(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{var}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{var}_EMAIL", "test@example.org")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


@pytest.mark.usefixtures("git_identity")
def test_the_previous_edition_is_tagged(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = copy_course(tmp_path)
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "spring term")
    head = git(root, "rev-parse", "HEAD").strip()
    code, out, err = run(root, capsys)
    assert code == 0, err
    assert git(root, "cat-file", "-t", OLD.slug).strip() == "tag"  # annotated
    assert git(root, "rev-parse", f"{OLD.slug}^{{commit}}").strip() == head
    assert f"as {OLD.slug}; publish it with: git push origin {OLD.slug}" in out
    assert "Gradescope" in out and "make notebooks" in out  # what is left by hand
    # the tag is never moved: a second run leaves it where it was
    (root / "book" / "agenda.yml").write_bytes((ROOT / "book" / "agenda.yml").read_bytes())
    code, out, err = run(root, capsys)
    assert code == 0, err
    assert f"the tag {OLD.slug} exists already: left as it is" in out
    assert git(root, "rev-parse", f"{OLD.slug}^{{commit}}").strip() == head


@pytest.mark.usefixtures("git_identity")
def test_no_tag_leaves_git_alone(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = copy_course(tmp_path)
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "spring term")
    code, out, err = run(root, capsys, "--no-tag")
    assert code == 0, err
    assert git(root, "tag", "--list") == ""
    assert "--no-tag: the previous edition is not tagged" in out
