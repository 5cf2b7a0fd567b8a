"""Every page with code offers Live Code, Binder, Colab, JupyterHub and the notebook download, and every
launch link names a notebook that exists in the repository (committed) at that path."""
from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pytest
import yaml
from bs4 import BeautifulSoup
from conftest import ROOT, SITE

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO = urlparse(CONFIG["repository"]["url"]).path.strip("/")
BRANCH = CONFIG["repository"]["branch"]


def code_pages() -> list[Path]:
    pages = []
    for path in sorted(SITE.rglob("*.html")):
        rel = path.relative_to(SITE).as_posix()
        if rel.startswith(("_static", "_sources", "reports")) or rel in {"search.html", "genindex.html"}:
            continue
        if 'class="cell docutils container"' in path.read_text(encoding="utf-8"):
            pages.append(path)
    return pages


@cache
def tracked() -> set[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return set(out.splitlines())


def notebook_path(url: str) -> str:
    """The repository path of the notebook a Binder, Colab or JupyterHub link opens."""
    parsed = urlparse(url)
    if "colab.research.google.com" in parsed.netloc:
        prefix = f"/github/{REPO}/blob/{BRANCH}/"
        assert parsed.path.startswith(prefix), url
        return unquote(parsed.path[len(prefix):])
    query = parse_qs(parsed.query)
    if "mybinder.org" in parsed.netloc:
        assert parsed.path == f"/v2/gh/{REPO}/{BRANCH}", url
        return query["urlpath"][0].removeprefix("lab/tree/")
    # JupyterHub + nbgitpuller: the repository is cloned into a folder named after it.
    assert query["repo"][0] == CONFIG["repository"]["url"] and query["branch"][0] == BRANCH, url
    return query["urlpath"][0].removeprefix("lab/tree/").split("/", 1)[1]


def test_there_are_code_pages(site: Path) -> None:
    assert len(code_pages()) >= 25


@pytest.mark.parametrize("page", code_pages(), ids=lambda p: p.relative_to(SITE).as_posix())
def test_code_page_offers_every_way_to_run_it(page: Path) -> None:
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    links = {a.get("title"): a["href"] for a in soup.select(".dropdown-launch-buttons a[href]")}
    assert soup.select_one(".dropdown-launch-buttons button.btn-launch-thebe"), "no Live Code button"
    for title, host in [("Launch on Binder", "mybinder.org"), ("Launch on Colab", "colab.research.google.com"),
                        ("Launch on JupyterHub", urlparse(CONFIG["launch_buttons"]["jupyterhub_url"]).netloc)]:
        assert title in links and host in links[title], f"{title} missing: {links}"
        path = notebook_path(links[title])
        assert path.endswith(".ipynb"), f"{title} opens {path}, not a notebook"
        assert (ROOT / path).is_file() and path in tracked(), f"{title} opens {path}: not in the repository"
    downloads = [a["href"] for a in soup.select(".dropdown-download-buttons a[href]")]
    assert any(href.endswith(".ipynb") for href in downloads), f"no .ipynb download: {downloads}"
    for href in downloads:
        assert (page.parent / href).resolve().is_file(), f"download {href} is missing from the site"
