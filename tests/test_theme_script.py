"""book/_ext/course_book/theme_script.py: the theme's tab stops set lazily, and loudly refused when the
theme's code is not the one it rewrites. The behaviour in a browser is in tests/test_browser.py."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pydata_sphinx_theme
import pytest

from course_book import theme_script

INSTALLED = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static" / "scripts" \
    / "pydata-sphinx-theme.js"


def test_the_installed_theme_script_is_rewritten_once_and_still_parses(tmp_path: Path) -> None:
    original = INSTALLED.read_text(encoding="utf-8")
    patched = theme_script.lazy_tab_stops(original)
    assert patched != original and patched.count(theme_script.MARK) == 1
    assert "e.tabIndex=e.scrollWidth>e.clientWidth" not in patched
    assert "IntersectionObserver" in patched and '"Tab"' in patched
    # The theme's selector is kept as it is.
    assert '["pre",".nboutput > .output_area",".cell_output > .output"' in patched
    assert "sourceMappingURL" not in patched
    assert theme_script.lazy_tab_stops(patched) == patched
    node = shutil.which("node")
    assert node, "node is needed (make installs it)"
    (tmp_path / "theme.js").write_text(patched, encoding="utf-8")
    check = subprocess.run([node, "--check", str(tmp_path / "theme.js")], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize("script", ["function I(){}", "const a=()=>{document.querySelectorAll([\"pre\"].join(\", \"))"
                                    ".forEach(e=>{e.tabIndex=0})}"])
def test_an_unknown_theme_script_is_refused(script: str) -> None:
    with pytest.raises(theme_script.UnknownThemeScript, match="found it 0 times"):
        theme_script.lazy_tab_stops(script)
