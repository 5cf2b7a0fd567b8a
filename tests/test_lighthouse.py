"""Page speed on a phone: Lighthouse's mobile preset on the built site, served gzip-compressed as GitHub
Pages serves it, three runs per page, the median run counts.

The pages, the thresholds and the host calibration are tools/lighthouse.py's (``make test`` runs this
file; the tool is also run by hand and exits with 1 on any missed target). The scores are written to
``_build/lighthouse.json``.

One target is not met reliably yet: performance 90 on the heaviest lecture. Lecture 4 scores 86-92
(December 2026): its HTML is 1.8 MB before compression, 1.1 MB of it KaTeX's markup of 750 formulas
(25,000 of the page's 49,000 elements), which a phone must parse before the first paint. Until that is
solved (issue 20), the lecture is held to a floor that catches a regression, and its score is recorded.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from lighthouse import MAX_LECTURE_BYTES, MIN_PERFORMANCE, chosen_pages, measure, table

LECTURE_FLOOR = 80  # below the target of 90 (see the module docstring), with room for run-to-run noise


@pytest.fixture(scope="module")
def measured(site: Path) -> dict[str, dict]:
    results = measure(site)
    (site.parent / "lighthouse.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    print("\n" + table(results))
    return results


def test_the_measured_pages_are_the_heaviest(site: Path, measured: dict[str, dict]) -> None:
    pages = chosen_pages(site)
    assert pages["home"] == "book/intro.html"
    assert pages["lecture"].startswith("lectures/lecture") and "lecture-no-plotly" in pages
    assert {name: r["page"] for name, r in measured.items()} == pages


def test_home_and_plotly_pages_meet_their_targets(measured: dict[str, dict]) -> None:
    """Performance >= 90 on the home page and >= 80 on the heaviest plotly page (median of 3 runs)."""
    assert MIN_PERFORMANCE["home"] == 90 and MIN_PERFORMANCE["plotly"] == 80
    missed = [f"{measured[name]['page']}: {measured[name]['median']['performance']}, below {MIN_PERFORMANCE[name]}"
              for name in ("home", "plotly") if measured[name]["median"]["performance"] < MIN_PERFORMANCE[name]]
    assert not missed, "below the page-speed targets:\n" + "\n".join(missed) + "\n" + table(measured)


def test_a_lecture_first_load_is_at_most_1_mb(measured: dict[str, dict]) -> None:
    assert MAX_LECTURE_BYTES == 1_000_000
    r = measured["lecture-no-plotly"]
    assert r["median"]["transfer_bytes"] <= MAX_LECTURE_BYTES, table(measured)


def test_the_heaviest_lecture_keeps_its_speed(measured: dict[str, dict]) -> None:
    """Target 90 (not met yet, see the module docstring); a score under the floor is a regression."""
    assert MIN_PERFORMANCE["lecture"] == 90
    r = measured["lecture"]
    assert r["median"]["performance"] >= LECTURE_FLOOR, f"{r['page']} slowed down:\n{table(measured)}"
