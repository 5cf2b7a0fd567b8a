"""Every built page is valid HTML for the Nu HTML Checker (npm ``vnu-jar``, pinned in package.json;
it needs a Java runtime, 11 or later). Markup that the theme or an extension writes wrong is repaired
in the build (``book/_ext/course_book/html_fixes.py``), not excused here."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import ROOT

VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


def site_pages(site: Path) -> list[Path]:
    """Every HTML page of the site: the root redirect, the index and the search page included."""
    return sorted(p for p in site.rglob("*.html")
                  if p.relative_to(site).parts[0] not in {"_static", "_sources", "_images"})


def where(site: Path, message: dict) -> str:
    path = Path(unquote(urlsplit(message.get("url", "")).path))
    name = path.relative_to(site).as_posix() if path.is_relative_to(site) else str(path)
    return f"{name}:{message.get('lastLine', message.get('firstLine', '?'))}"


def test_every_page_is_valid_html(site: Path) -> None:
    java = shutil.which("java")
    if java is None:
        pytest.fail("java is missing: the Nu HTML Checker needs a Java runtime (Debian: "
                    "apt-get install openjdk-17-jre-headless)")
    if not VNU.is_file():
        pytest.fail(f"{VNU} is missing: run `npm ci` (make test does)")
    pages = site_pages(site)
    assert len(pages) >= 30 and site / "index.html" in pages
    # One run over all pages: starting the JVM costs more than checking a page.
    run = subprocess.run([java, "-jar", str(VNU), "--errors-only", "--format", "json", "--stdout",
                          *map(str, pages)], capture_output=True, text=True, timeout=900)
    try:
        messages = json.loads(run.stdout)["messages"]
    except (json.JSONDecodeError, KeyError):
        pytest.fail(f"the checker did not report (exit {run.returncode}):\n{run.stdout}\n{run.stderr}")
    errors = [m for m in messages if m.get("type") != "info"]
    assert not errors, (f"{len(errors)} HTML errors (repair the markup in "
                        "book/_ext/course_book/html_fixes.py):\n"
                        + "\n".join(f"{where(site, m)}: {m.get('message', '').strip()}"
                                    for m in errors))
    assert run.returncode == 0, run.stderr
