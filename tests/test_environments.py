"""The environments that run the notebooks elsewhere cannot drift from the build's pins."""
from __future__ import annotations

import re

from binder_requirements import expected, pins
from conftest import ROOT


def test_binder_requirements_match_the_build() -> None:
    assert (ROOT / "binder" / "requirements.txt").read_text(encoding="utf-8") == expected(), \
        "binder/requirements.txt drifted from requirements.txt: run `make notebooks`"
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"


def test_every_requirement_is_pinned_exactly() -> None:
    for name in ("requirements.txt", "requirements-test.txt"):
        for line in pins((ROOT / name).read_text(encoding="utf-8")):
            assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][0-9A-Za-z.+\-]*", line), f"{name}: {line}"


def test_key_pins() -> None:
    build = dict(line.split("==") for line in pins((ROOT / "requirements.txt").read_text()))
    assert build["jupyter-book"] == "1.0.4.post1"
    assert build["torch"].startswith("2.14.") and build["torchvision"].startswith("0.29.")
    assert build["torch"] != "2.13.0"
    for needed in ("matplotlib", "plotly", "scikit-learn", "jupytext", "sphinx-exercise"):
        assert needed in build, needed
