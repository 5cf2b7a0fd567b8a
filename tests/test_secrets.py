"""No published file of the site carries a secret: a token or password in JavaScript or JSON, a
``token=`` in a URL, or the value of a ``COURSE_KERNEL_*`` variable of the build's environment.

The one exception is a loopback build (``make live``, the tests' pre-release build): its
``course-thebe.js`` names a Jupyter server on 127.0.0.1 and that server's token, which a reader's
browser can only try against the reader's own machine. :func:`scan_site` reads that file back and
lets exactly that token and those URLs through; anything else is still reported.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import Variant

from course_book import live_code

# A quoted value under a quoted secret-sounding key, as JSON (and course-thebe.js) writes it:
# `"token": "0dad2"`, `'password':'x'`. Not code such as `"token": e.token` or `"token": ""`, nor
# the unquoted keys of minified JavaScript, where CodeMirror's modes say `token:"keyword"` hundreds
# of times in thebe's bundle.
KEYED = re.compile(r"""(?P<quote>["'])\b(?P<key>token|password|passwd|secret|api[_-]?key)(?P=quote)"""
                   r"""\s*:\s*(?P<delim>["'])(?P<value>[^"'\s]+)(?P=delim)""", re.IGNORECASE)
# `?token=...` or `&token=...` (also `&amp;token=` in HTML) with a literal value, not `token=" + t`.
QUERY = re.compile(r"""[?&;]token=(?P<value>[^\s&#"'<>`\\+(){}$,;]+)""", re.IGNORECASE)
ENV_PREFIX = "COURSE_KERNEL_"
# Shorter environment values would match everywhere and identify nothing (the opt-in switch is "1").
MIN_ENV_VALUE = 6


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str
    value: str

    def __str__(self) -> str:
        shown = self.value[:4] + "…" if len(self.value) > 4 else self.value  # keep the secret out of logs
        return f"{self.path}:{self.line}: {self.kind} {shown!r}"


def loopback_values(site: Path) -> set[str]:
    """The token and URLs of the loopback server that ``site``'s Live Code names, if it names one."""
    script = site / "_static" / live_code.TARGET / live_code.ENTRY
    if not script.is_file():
        return set()
    defaults = live_code.published_defaults(script.read_text(encoding="utf-8"))
    server = (defaults or {}).get("serverSettings") or {}
    if not live_code.is_loopback(urlsplit(server.get("baseUrl", "")).hostname):
        return set()
    urls = {server["baseUrl"], server.get("wsUrl", "")}
    return ({server.get("token", "")} | urls | {url.rstrip("/") for url in urls}) - {""}


def kernel_values(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``COURSE_KERNEL_*`` values a published file must not contain, by variable name."""
    return {name: value.strip() for name, value in environ.items()
            if name.startswith(ENV_PREFIX) and name != live_code.TOKEN_IS_PUBLIC
            and len(value.strip()) >= MIN_ENV_VALUE}


def _findings(rel: str, text: str, env: dict[str, str]) -> Iterator[Finding]:
    def line(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    for match in KEYED.finditer(text):
        yield Finding(rel, line(match.start()), f'"{match["key"]}" value', match["value"])
    for match in QUERY.finditer(text):
        yield Finding(rel, line(match.start()), "token= in a URL", match["value"])
    for name, value in env.items():
        start = text.find(value)
        while start != -1:
            yield Finding(rel, line(start), f"value of {name}", value)
            start = text.find(value, start + 1)


def scan_site(site: Path, environ: Mapping[str, str] = os.environ, allow_loopback: bool = True) -> list[Finding]:
    """Every secret-looking string in the files under ``site`` (an HTML build folder).

    With ``allow_loopback``, the token and URLs of the loopback server named by the site's own
    ``course-thebe.js`` are not reported (see the module docstring).
    """
    allowed = loopback_values(site) if allow_loopback else set()
    env = kernel_values(environ)
    found = []
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        # Latin-1 decodes any byte string, so the ASCII patterns are found in every file, text or not.
        text = path.read_bytes().decode("latin-1")
        found.extend(f for f in _findings(path.relative_to(site).as_posix(), text, env)
                     if f.value not in allowed)
    return found


# --------------------------------------------------------------------------- the scan itself


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


CLEAN = {
    "index.html": '<a href="https://mybinder.org/v2/gh/org/repo/main?urlpath=lab/tree/a.ipynb">Binder</a>',
    "_static/app.js": 'const s={token:"",password:e.password};u=base+"?token="+t;v=`/api?token=${t}`;'
                      'w={"token": opts.token, "secret": ""};m={token:"keyword",next:"string-2"};',
    "lecture.html": "<p>The tokenizer splits text into tokens; token = 'hello' is Python, not JSON.</p>",
}


def test_scan_finds_every_kind_of_leak(tmp_path: Path) -> None:
    """Positive control: a fake site with leaked secrets, beside clean look-alikes."""
    site = _write(tmp_path / "site", {**CLEAN,
        "_static/vendor/thebe/course-thebe.js": 'x();\n  const defaults = {"serverSettings": {"token": "0dad2f00"}};',
        "data.json": "{'password': 'hunter22'}",
        "page.html": '<a href="https://hub.example.org/lab?foo=1&amp;token=abc123">open</a>',
        "_sources/notes.txt": "the kernel lives at https://kernels.example.org/u/me/ today",
        "logo.png": "\x89PNG\x00 header then 'apiKey':'k-123' in the bytes"})
    environ = {"COURSE_KERNEL_URL": "https://kernels.example.org/u/me/", "COURSE_KERNEL_TOKEN_IS_PUBLIC": "1",
               "PATH": "/usr/bin"}
    found = {(f.path, f.line, f.kind, f.value) for f in scan_site(site, environ)}
    assert found == {
        ("_static/vendor/thebe/course-thebe.js", 2, '"token" value', "0dad2f00"),
        ("data.json", 1, '"password" value', "hunter22"),
        ("page.html", 1, "token= in a URL", "abc123"),
        ("_sources/notes.txt", 1, "value of COURSE_KERNEL_URL", "https://kernels.example.org/u/me/"),
        ("logo.png", 1, '"apiKey" value', "k-123"),
    }
    report = "\n".join(map(str, scan_site(site, environ)))
    assert "course-thebe.js:2: \"token\" value '0dad…'" in report and "0dad2f00" not in report


def test_scan_passes_a_clean_site(tmp_path: Path) -> None:
    assert scan_site(_write(tmp_path, CLEAN), {"COURSE_KERNEL_TOKEN_IS_PUBLIC": "1"}) == []


def _built_script(environ: dict[str, str]) -> str:
    return "/* thebe */\n" + live_code.bootstrap_script(live_code.kernel_settings(environ))


def test_scan_lets_through_only_a_loopback_builds_own_token(tmp_path: Path) -> None:
    token = "5e3b9f0c2d7a41e8b6c0d9f1a2b3c4d5"
    environ = {"COURSE_KERNEL_URL": "http://127.0.0.1:8899/", "COURSE_KERNEL_TOKEN": token}
    entry = f"_static/{live_code.TARGET}/{live_code.ENTRY}"
    site = _write(tmp_path / "loopback", {**CLEAN, entry: _built_script(environ)})
    assert scan_site(site, environ) == []
    kinds = {f.kind for f in scan_site(site, environ, allow_loopback=False)}
    assert kinds == {'"token" value', "value of COURSE_KERNEL_URL", "value of COURSE_KERNEL_TOKEN"}
    # The exemption covers that token only: another one in the same loopback build is reported.
    (site / "leak.js").write_text('fetch("https://hub.example.org/api?token=other-secret")')
    assert [(f.path, f.value) for f in scan_site(site, environ)] == [("leak.js", "other-secret")]


def test_scan_reports_a_token_published_for_a_public_server(tmp_path: Path) -> None:
    environ = {"COURSE_KERNEL_URL": "https://hub.example.org/", "COURSE_KERNEL_TOKEN": "0dad2c0ffee",
               live_code.TOKEN_IS_PUBLIC: "1"}
    site = _write(tmp_path, {f"_static/{live_code.TARGET}/{live_code.ENTRY}": _built_script(environ)})
    found = {(f.kind, f.value) for f in scan_site(site, environ)}
    assert ('"token" value', "0dad2c0ffee") in found and ("value of COURSE_KERNEL_TOKEN", "0dad2c0ffee") in found


# --------------------------------------------------------------------------- the built sites


def test_published_site_carries_no_secret(site: Path) -> None:
    found = scan_site(site)
    assert not found, "secrets in the built site:\n" + "\n".join(map(str, found[:50]))


def test_loopback_build_publishes_only_its_own_token(variant: Variant) -> None:
    """The pre-release build points Live Code at a server on 127.0.0.1: its token is there, and the
    scan lets through that token and nothing else."""
    environ = {"COURSE_KERNEL_URL": f"http://127.0.0.1:{variant.kernel_port}/",
               "COURSE_KERNEL_TOKEN": variant.token}
    assert scan_site(variant.site, environ) == []
    leaked = {f.value for f in scan_site(variant.site, environ, allow_loopback=False)}
    assert variant.token in leaked, "the scan did not see the loopback build's own token"


if __name__ == "__main__":  # scan any folder: python tests/test_secrets.py _build/html
    import sys

    results = [f for folder in sys.argv[1:] for f in scan_site(Path(folder))]
    print("\n".join(map(str, results)) or "no secrets found")
    sys.exit(1 if results else 0)
