"""Compile the course's LaTeX templates into the PDFs the site links, and check that they are current.

The published build needs no TeX: each template's compiled PDF is committed beside its ``.tex`` and
``.bib``, and ``latex-pdfs.json`` in the same folder records the SHA-256 of the inputs each PDF was
made from (and its page count). A PDF is out of date when its inputs' content changed since; PDFs
themselves are not compared, as two compilations of the same source are not byte-identical on
every TeX installation.

    python tools/latex_pdfs.py            # recompile the templates whose inputs changed
    python tools/latex_pdfs.py --force    # recompile all of them
    python tools/latex_pdfs.py --check    # list the stale PDFs (exit status 1 if there are any)

A compilation that fails, writes an overfull box or leaves a reference undefined, or a template
whose text runs past its page limit, writes nothing and stops with the template's name and the
problem. Needs ``latexmk`` and pdfLaTeX (``tools/install-test-tools.sh`` installs Debian's).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = "latex-pdfs.json"
# The label every template puts where the text that counts towards its page limit ends.
LIMIT_LABEL = "page-limit-end"
# Fixed creation date written into the PDFs (10 February 2023, 00:00 UTC), so that recompiling
# unchanged sources on the same TeX installation gives the same bytes and no spurious diff.
SOURCE_DATE_EPOCH = "1675987200"


@dataclass(frozen=True)
class Template:
    """A LaTeX template of the course: ``<stem>.tex`` and ``<stem>.bib``, compiled to ``<stem>.pdf``."""

    stem: str          # path from the repository root without suffix, e.g. "project/template-report"
    page_limit: int    # pages allowed up to the LIMIT_LABEL (references and appendices excluded)
    max_pages: int     # pages the compiled template itself (filled with its instructions) may have

    def path(self, suffix: str, root: Path = ROOT) -> Path:
        return root / f"{self.stem}{suffix}"

    @property
    def name(self) -> str:
        return Path(self.stem).name

    def inputs(self, root: Path = ROOT) -> list[Path]:
        return [self.path(".tex", root), self.path(".bib", root)]


TEMPLATES = (
    # The reading assignment: 2 pages; the template, filled with its instructions, fits in them.
    Template("reading_assignment/template-summary", page_limit=2, max_pages=2),
    Template("project/template-proposal", page_limit=2, max_pages=3),
    Template("project/template-report", page_limit=8, max_pages=10),
)


class LatexError(RuntimeError):
    """A template that does not compile cleanly; the message names the template and the problem."""


@dataclass(frozen=True)
class Compiled:
    pdf: bytes
    log: str
    aux: str


# --------------------------------------------------------------------------- hashing and drift


def content_hash(path: Path) -> str:
    """SHA-256 of a text file's content, with line endings normalized (a CRLF checkout is the same)."""
    if not path.is_file():
        raise LatexError(f"{path}: missing (every template needs its .tex and .bib)")
    return hashlib.sha256(path.read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def input_hashes(template: Template, root: Path = ROOT) -> dict[str, str]:
    return {p.name: content_hash(p) for p in template.inputs(root)}


def read_manifest(folder: Path) -> dict[str, dict]:
    path = folder / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LatexError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise LatexError(f"{path}: expected an object mapping PDF names to their inputs")
    return data


def drift(root: Path = ROOT, templates: tuple[Template, ...] = TEMPLATES) -> list[str]:
    """The templates whose committed PDF is missing or was made from other inputs than today's."""
    problems = []
    for t in templates:
        pdf = t.path(".pdf", root)
        rel = pdf.relative_to(root)
        if not pdf.is_file():
            problems.append(f"{rel}: missing (run `python tools/latex_pdfs.py`)")
            continue
        entry = read_manifest(pdf.parent).get(pdf.name)
        if not isinstance(entry, dict) or not isinstance(entry.get("inputs"), dict):
            problems.append(f"{rel}: not recorded in {rel.parent / MANIFEST} (run `python tools/latex_pdfs.py`)")
            continue
        current = input_hashes(t, root)
        changed = sorted(name for name in current if entry["inputs"].get(name) != current[name])
        if changed:
            problems.append(f"{rel}: out of date with {', '.join(changed)} (run `python tools/latex_pdfs.py`)")
    return problems


# --------------------------------------------------------------------------- compiling and checking


def compile_template(template: Template, root: Path = ROOT, workdir: Path | None = None) -> Compiled:
    """Compile a template with ``latexmk -pdf`` in a scratch folder; raise LatexError if it fails."""
    if shutil.which("latexmk") is None:
        raise LatexError("latexmk not found: install TeX Live (tools/install-test-tools.sh does, on Debian)")
    with tempfile.TemporaryDirectory(prefix="latex-") as scratch:
        work = Path(workdir or scratch)
        work.mkdir(parents=True, exist_ok=True)
        for path in template.inputs(root):
            if not path.is_file():
                raise LatexError(f"{path}: missing (every template needs its .tex and .bib)")
            shutil.copyfile(path, work / path.name)
        env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH, "FORCE_SOURCE_DATE": "1"}
        result = subprocess.run(
            ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
             f"{template.name}.tex"],
            cwd=work, env=env, capture_output=True, text=True, timeout=300)
        log_path, pdf_path = work / f"{template.name}.log", work / f"{template.name}.pdf"
        log = log_path.read_text(encoding="latin-1") if log_path.is_file() else ""
        if result.returncode != 0 or not pdf_path.is_file():
            errors = [line for line in log.splitlines() if line.startswith("!") or ": error" in line.lower()
                      or re.match(r"^\S+\.tex:\d+: ", line)]
            detail = "\n".join(errors[:5]) or (result.stdout + result.stderr)[-1500:]
            raise LatexError(f"{template.stem}.tex: latexmk failed (exit status {result.returncode}):\n{detail}")
        aux_path = work / f"{template.name}.aux"
        aux = aux_path.read_text(encoding="latin-1") if aux_path.is_file() else ""
        return Compiled(pdf=pdf_path.read_bytes(), log=log, aux=aux)


def log_problems(log: str) -> list[str]:
    """Errors, overfull boxes and unresolved references or citations reported in a LaTeX log."""
    problems = []
    for line in log.splitlines():
        if line.startswith("!") or re.match(r"^\S+\.tex:\d+: ", line):
            problems.append(f"error: {line.strip()}")
        elif line.startswith(("Overfull \\hbox", "Overfull \\vbox")):
            problems.append(line.strip())
        elif re.search(r"(Citation|Reference) `[^']*' on page \d+ undefined", line):
            problems.append(line.strip())
        elif "There were undefined references" in line or "Label(s) may have changed" in line:
            problems.append(line.strip())
    return problems


def pages_written(log: str) -> int:
    """The page count pdfTeX reports at the end of its log ('Output written on x.pdf (2 pages, ...')."""
    matches = re.findall(r"Output written on .*?\((\d+) pages?", log.replace("\n", ""))
    if not matches:
        raise LatexError("the LaTeX log does not say how many pages were written")
    return int(matches[-1])


def label_page(aux: str, label: str = LIMIT_LABEL) -> int | None:
    """The page on which ``\\label{label}`` fell, read from the .aux file (None if it is absent)."""
    match = re.search(r"\\newlabel\{" + re.escape(label) + r"\}\{\{[^{}]*\}\{(\d+)\}", aux)
    return int(match.group(1)) if match else None


def pdf_page_count(data: bytes) -> int:
    """Number of page objects in a PDF, looking inside compressed object streams too."""
    chunks = [data]
    for match in re.finditer(rb"stream\r?\n", data):
        start = match.end()
        end = data.find(b"endstream", start)
        if end < 0:
            break
        try:
            chunks.append(zlib.decompressobj().decompress(data[start:end]))
        except zlib.error:
            continue  # not a Flate stream (an image or a font in another encoding)
    return sum(len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", chunk)) for chunk in chunks)


def check(template: Template, compiled: Compiled) -> list[str]:
    """Everything wrong with a compiled template: log problems, page limit, total length."""
    problems = log_problems(compiled.log)
    end = label_page(compiled.aux)
    if end is None:
        problems.append(f"\\label{{{LIMIT_LABEL}}} is missing: it marks where the page limit is measured")
    elif end > template.page_limit:
        problems.append(f"the text that counts runs to page {end}, over the limit of {template.page_limit}")
    pages = pages_written(compiled.log)
    if pages > template.max_pages:
        problems.append(f"the compiled template has {pages} pages, more than its {template.max_pages}")
    return problems


# --------------------------------------------------------------------------- writing


def write(template: Template, compiled: Compiled, root: Path = ROOT) -> None:
    """Write the PDF and record its inputs in the folder's manifest."""
    pdf = template.path(".pdf", root)
    pdf.write_bytes(compiled.pdf)
    manifest = read_manifest(pdf.parent)
    manifest[pdf.name] = {"inputs": input_hashes(template, root), "pages": pages_written(compiled.log)}
    (pdf.parent / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="report stale PDFs, write nothing")
    parser.add_argument("--force", action="store_true", help="recompile every template")
    args = parser.parse_args(argv)
    try:
        stale = drift()
        if args.check:
            print("\n".join(stale) or "every template PDF is up to date with its sources")
            return 1 if stale else 0
        for t in TEMPLATES:
            if not args.force and not any(s.startswith(f"{t.stem}.pdf:") for s in stale):
                continue
            compiled = compile_template(t)
            problems = check(t, compiled)
            if problems:
                raise LatexError(f"{t.stem}.tex:\n  " + "\n  ".join(problems))
            write(t, compiled)
            print(f"wrote {t.stem}.pdf ({pages_written(compiled.log)} pages)")
    except LatexError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
