"""The LaTeX templates of the project and the reading assignment: each compiles with latexmk without
errors, overfull boxes or undefined references, keeps within its page limit, and its committed PDF
(which the site links, so that the build needs no TeX) is current with its sources.

Needs latexmk and pdfLaTeX (tools/install-test-tools.sh installs them); without them these tests fail.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import latex_pdfs
import pytest
from conftest import ROOT
from latex_pdfs import TEMPLATES, Compiled, LatexError, Template
from sync_notebooks import toc_files

READING = next(t for t in TEMPLATES if t.stem.startswith("reading_assignment/"))


@pytest.fixture(scope="module")
def compiled() -> dict[str, Compiled]:
    """Every template compiled once from the working tree."""
    return {t.stem: latex_pdfs.compile_template(t) for t in TEMPLATES}


def copy_templates(root: Path) -> None:
    """The templates, their PDFs and manifests, copied into another root."""
    for t in TEMPLATES:
        for path in [*t.inputs(), t.path(".pdf"), t.path(".pdf").parent / latex_pdfs.MANIFEST]:
            target = root / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


# --------------------------------------------------------------------------- the templates themselves


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.stem)
def test_template_compiles_cleanly_within_its_limits(template: Template, compiled: dict[str, Compiled]) -> None:
    result = compiled[template.stem]
    assert latex_pdfs.check(template, result) == [], f"{template.stem}.tex"
    assert result.pdf.startswith(b"%PDF")


def test_reading_assignment_template_fits_in_two_pages(compiled: dict[str, Compiled]) -> None:
    """Filled with its own instructions, the whole summary template (references included) is 2 pages."""
    result = compiled[READING.stem]
    assert latex_pdfs.pages_written(result.log) <= 2
    assert latex_pdfs.pdf_page_count(result.pdf) == latex_pdfs.pages_written(result.log)
    assert latex_pdfs.label_page(result.aux) <= 2


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.stem)
def test_committed_pdf_has_the_pages_of_a_fresh_compilation(template: Template,
                                                            compiled: dict[str, Compiled]) -> None:
    committed = template.path(".pdf").read_bytes()
    entry = latex_pdfs.read_manifest(template.path(".pdf").parent)[template.path(".pdf").name]
    fresh = latex_pdfs.pages_written(compiled[template.stem].log)
    assert committed.startswith(b"%PDF")
    assert latex_pdfs.pdf_page_count(committed) == entry["pages"] == fresh, template.stem
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(template.path(".pdf"))], capture_output=True, text=True, check=True)
        assert re.search(r"^Pages:\s+(\d+)$", info.stdout, re.M).group(1) == str(fresh)


def test_committed_pdfs_are_current_with_their_sources() -> None:
    assert latex_pdfs.drift() == []


def test_pages_link_every_template_source_and_pdf() -> None:
    """Each .tex, .bib and .pdf is offered by a page of the book through a {download} role."""
    pages = "\n".join(p.read_text(encoding="utf-8") for p in toc_files())
    missing = [f"{t.stem}{suffix}" for t in TEMPLATES for suffix in (".tex", ".bib", ".pdf")
               if not re.search(r"\{download\}`[^`]*" + re.escape(f"{t.name}{suffix}") + r">?`", pages)]
    assert not missing, f"no page links these with {{download}}: {missing}"


# --------------------------------------------------------------------------- the checks can fail


def test_drift_names_an_edited_or_missing_source(tmp_path: Path) -> None:
    copy_templates(tmp_path)
    assert latex_pdfs.drift(tmp_path) == []
    tex = READING.path(".tex", tmp_path)
    # A checkout with Windows line endings has the same content.
    tex.write_bytes(tex.read_bytes().replace(b"\n", b"\r\n"))
    assert latex_pdfs.drift(tmp_path) == []
    tex.write_text(tex.read_text(encoding="utf-8") + "% one more line\n", encoding="utf-8")
    assert latex_pdfs.drift(tmp_path) == [
        f"{READING.stem}.pdf: out of date with {READING.name}.tex (run `python tools/latex_pdfs.py`)"]
    READING.path(".pdf", tmp_path).unlink()
    assert latex_pdfs.drift(tmp_path)[0].startswith(f"{READING.stem}.pdf: missing")
    report = next(t for t in TEMPLATES if t.stem.endswith("report"))
    (report.path(".pdf", tmp_path).parent / latex_pdfs.MANIFEST).unlink()
    assert any(p.startswith(f"{report.stem}.pdf: not recorded") for p in latex_pdfs.drift(tmp_path))


def edited(tmp_path: Path, change) -> Template:
    """A copy of the reading-assignment template under tmp_path with its .tex text changed."""
    copy_templates(tmp_path)
    tex = READING.path(".tex", tmp_path)
    tex.write_text(change(tex.read_text(encoding="utf-8")), encoding="utf-8")
    return READING


def test_check_reports_an_overfull_box_an_unknown_citation_and_a_missing_label(tmp_path: Path) -> None:
    def change(text: str) -> str:
        text = text.replace(r"\label{page-limit-end}", "")
        return text.replace(r"\section{Conclusion}", r"\section{Conclusion}"
                            + "\n" + "Unbreakable" * 12 + r" \citep{nosuchkey2099}." + "\n")
    template = edited(tmp_path, change)
    problems = latex_pdfs.check(template, latex_pdfs.compile_template(template, tmp_path))
    assert any(p.startswith("Overfull \\hbox") for p in problems), problems
    assert any("nosuchkey2099" in p for p in problems), problems
    assert any("page-limit-end" in p and "missing" in p for p in problems), problems


def test_check_reports_text_over_the_page_limit(tmp_path: Path) -> None:
    paragraph = ("This sentence stands for the summary a group wrote at too much length, which the page "
                 "limit of the reading assignment does not allow. ") * 8
    template = edited(tmp_path, lambda text: text.replace(r"\section{Conclusion}",
                                                          (paragraph + "\n\n") * 6 + r"\section{Conclusion}"))
    problems = latex_pdfs.check(template, latex_pdfs.compile_template(template, tmp_path))
    assert any(re.match(r"the text that counts runs to page [3-9], over the limit of 2", p) for p in problems), problems
    assert any(re.match(r"the compiled template has \d+ pages, more than its 2", p) for p in problems), problems


def test_a_latex_error_stops_the_compilation_with_the_template_named(tmp_path: Path) -> None:
    template = edited(tmp_path, lambda text: text.replace(r"\section{Conclusion}", r"\undefinedmacro \section{Conclusion}"))
    with pytest.raises(LatexError, match=r"template-summary\.tex: latexmk failed.*\n.*Undefined control sequence"):
        latex_pdfs.compile_template(template, tmp_path)


# --------------------------------------------------------------------------- the parsers


def test_log_parsers_on_known_lines() -> None:
    log = ("Overfull \\hbox (12.3pt too wide) in paragraph at lines 40--41\n"
           "Underfull \\hbox (badness 10000) in paragraph at lines 50--51\n"
           "Package natbib Warning: Citation `x2020' on page 1 undefined on input line 46.\n"
           "./a.tex:12: Undefined control sequence.\n"
           "Output written on template-summary.pdf (2 pag\nes, 94470 bytes).\n")
    problems = latex_pdfs.log_problems(log)
    assert [p.split(" ")[0] for p in problems] == ["Overfull", "Package", "error:"], problems
    assert latex_pdfs.pages_written(log) == 2
    assert latex_pdfs.label_page(r"\newlabel{page-limit-end}{{4}{2}{Conclusion}{section.4}{}}") == 2
    assert latex_pdfs.label_page(r"\newlabel{other}{{4}{2}{}{}{}}") is None
    with pytest.raises(LatexError, match="how many pages"):
        latex_pdfs.pages_written("no output line")
