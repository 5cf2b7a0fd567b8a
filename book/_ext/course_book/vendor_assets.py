"""Math rendered at build time with KaTeX, and KaTeX's CSS and fonts served from the site.

Pages carry typeset math (KaTeX's HTML, with MathML for screen readers) and no math script: each
formula is rendered while the page is written, by the Node.js render server of
``sphinxcontrib-katex`` (pinned in requirements.txt) running the ``katex`` npm package pinned in
``package.json``. The same package provides the stylesheet and fonts, copied to
``_static/vendor/katex/`` and linked from the pages that have math only.

We register our own math renderer around sphinxcontrib-katex's render server rather than its
visitors, for three reasons:

- a formula KaTeX cannot render is a build warning (an error under ``-W``, as the course builds)
  naming the page, the line and the formula; sphinxcontrib-katex renders it as red source text
  without a word (its ``throwOnError`` is off and ``katex_options`` do not reach the prerenderer);
- display math is wrapped as Sphinx's MathJax renderer wraps it (a block with ``\\\\`` becomes a
  ``split``, several blank-line separated equations an ``aligned``), so sources written for MathJax
  render unchanged, and the markup around it (``div.math``, the ``eqno`` number and its permalink)
  stays the same, so equation numbers, labels and ``{eq}`` references do not change;
- macros (``course_katex_macros``) reach every formula.

Math that appears later in the browser (Live Code outputs) is handled by :mod:`.live_code`, which
loads KaTeX's script from the same folder only when such an output arrives.

Icons: pydata-sphinx-theme ships Font Awesome twice, as a 1.5 MB script that redraws each ``<i>``
icon as an SVG (dropped from the pages by :mod:`.html_fixes`) and as fonts its stylesheet uses
(about 300 KB for the solid, regular and brand styles). :func:`subset_icon_fonts` cuts the fonts
down to the icons this site shows, found in the built pages' ``fa-*`` classes, the theme's scripts
and the icon codes of the stylesheets, and declares the cut-down fonts (a few KB) for exactly those
characters (``unicode-range``): any other icon still comes from the theme's full font.
"""
from __future__ import annotations

import atexit
import html
import multiprocessing.util
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.locale import _
from sphinx.util import logging
from sphinx.util.math import get_node_equation_number

logger = logging.getLogger(__name__)

RENDERER = "course_katex"
KATEX_TARGET = "vendor/katex"
# Copied to the site: the stylesheet and fonts for the pages, the script and auto-render for math
# that appears in the browser (Live Code outputs), and the licence.
KATEX_FILES = ("katex.min.css", "katex.min.js", "contrib/auto-render.min.js", "fonts")
KATEX_CSS = f"{KATEX_TARGET}/katex.min.css"
# MathJax's TeX input accepts Unicode text in math mode and other LaTeX-incompatible spellings that
# KaTeX's strict mode would report; what does not parse at all is still an error.
KATEX_OPTIONS: dict[str, Any] = {"throwOnError": True, "strict": "ignore", "output": "htmlAndMathml"}


class KatexMissing(ExtensionError):
    pass


def katex_source(app: Sphinx) -> Path:
    return Path(app.srcdir) / "node_modules" / "katex"


def check_katex(app: Sphinx) -> Path:
    """The installed KaTeX, or a clear error saying how to install it."""
    source = katex_source(app)
    if not (source / "dist" / "katex.min.js").is_file():
        raise KatexMissing(
            "KaTeX is not installed: run `make book` (or `npm ci` in the repository root) so that "
            "node_modules/katex exists; math is rendered at build time with it and its fonts are "
            "served by the site")
    if shutil.which("node") is None:
        raise ExtensionError("node is not on PATH: math is rendered at build time by KaTeX in Node.js "
                             "(Debian: apt-get install nodejs)")
    return source


# --- the render server: one per process (Sphinx forks workers for a parallel write) ---------------

_servers: dict[int, Any] = {}
# Seconds to wait for the Node.js server to come up, and for one formula: generous, for a loaded
# two-core machine (sphinxcontrib-katex's own 5 s can run out, and a formula would then "fail").
STARTUP_TIMEOUT = 60.0
RENDER_TIMEOUT = 60.0


def start_server(katex_js: Path) -> Any:
    """Start sphinxcontrib-katex's render server on a Unix socket, as its ``KaTeXServer.start`` does,
    but with the server's output in a file: a build run with captured output (the tests) would
    otherwise wait for the server's inherited pipe to close. Stopped at exit (:func:`_stop`)."""
    import sphinxcontrib.katex
    from sphinxcontrib.katex import KaTeXServer

    # The server script finds katex.min.js by a path relative to its own folder, which it checks with
    # os.path.exists; Node resolves symbolic links before it follows that path. With a linked .venv
    # (one environment shared by several clones) the two disagree unless the folder is the real one.
    sphinxcontrib.katex.SRC_DIR = os.path.realpath(sphinxcontrib.katex.SRC_DIR)
    KaTeXServer.katex_path = str(katex_js)
    rundir = Path(tempfile.mkdtemp(prefix="course-katex-"))
    socket_path = rundir / "katex.sock"
    with open(rundir / "server.log", "wb") as log:
        process = subprocess.Popen(KaTeXServer.build_command(socket=socket_path), stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT, cwd=rundir)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    try:
        while not socket_path.is_socket():
            if process.poll() is not None or time.monotonic() > deadline:
                output = (rundir / "server.log").read_text(encoding="utf-8", errors="replace")
                raise ExtensionError(f"the KaTeX render server (node) did not start: {output[-2000:]}")
            time.sleep(0.01)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(str(socket_path))
    except BaseException:
        process.kill()
        process.wait()
        shutil.rmtree(rundir, ignore_errors=True)
        raise
    server = KaTeXServer(rundir, process, sock)
    pid = os.getpid()
    atexit.register(_stop, server, pid)
    # A forked worker (parallel write) leaves through multiprocessing, which skips atexit but runs these.
    multiprocessing.util.Finalize(server, _stop, args=(server, pid), exitpriority=10)
    return server


def _server(app: Sphinx) -> Any:
    pid = os.getpid()
    if pid not in _servers:
        _servers[pid] = start_server(check_katex(app) / "dist" / "katex.min.js")
    return _servers[pid]


def _stop(server: Any, pid: int) -> None:
    """Stop a render server once, in the process that started it."""
    if os.getpid() == pid and server.rundir.exists():
        server.terminate()


def render(app: Sphinx, latex: str, display: bool) -> str:
    """KaTeX's HTML for ``latex``; raises :class:`sphinxcontrib.katex.KaTeXError` when it fails."""
    from sphinxcontrib.katex import KaTeXError

    options = {**KATEX_OPTIONS, "displayMode": display, "macros": dict(app.config.course_katex_macros)}
    try:
        response = _server(app).render({"latex": latex, "katex_options": options}, RENDER_TIMEOUT)
    except TimeoutError:
        raise KaTeXError(f"no answer from the KaTeX render server within {RENDER_TIMEOUT:.0f} s") from None
    if "html" in response:
        return repair_markup(response["html"])
    raise KaTeXError(response.get("error", "no answer from the KaTeX render server"))


# KaTeX's markup that the Nu HTML checker rejects (tests/test_html_validity.py), repaired without
# changing what is drawn or read out:
# - a function name and the invisible function application after it (U+2061) are two children where
#   MathML wants one, as in the subscript of \lambda_{\max}: group them in an <mrow>;
# - an <mo> holds text only, but KaTeX puts markup in one for \bmod and \overset{...}{=}: see
#   _unwrap_operators_of_markup;
# - an empty columnspacing attribute (aligned blocks): drop it;
# - negative CSS heights, which browsers ignore as invalid: drop them.
# And one cut for page weight: the TeX source that KaTeX keeps in the MathML (an <annotation> in a
# <semantics> wrapper) is read by no screen reader and is a sixteenth of a lecture page compressed.
TEX_ANNOTATION = re.compile(r'<annotation encoding="application/x-tex">.*?</annotation>', re.S)
FUNCTION_APPLICATION = re.compile(r"(<m[io]\b[^>]*>[^<]*</m[io]>)(<mo>\u2061</mo>)")
EMPTY_COLUMNSPACING = re.compile(r'\scolumnspacing=""')
NEGATIVE_HEIGHT = re.compile(r"height:-[0-9.]+em;?")


MATH_ELEMENT = re.compile(r"<math\b.*?</math>", re.S)
MATHML = "http://www.w3.org/1998/Math/MathML"


def _unwrap_operators_of_markup(math: str) -> str:
    """An <mo> holds text only. KaTeX puts markup in one in two cases: \\bmod (an <mrow> of letters:
    keep the text) and a relation with something over it, as in \\overset{...}{=} (an <mover> in an
    <mo>, and an <mo> in that <mo>: keep the markup, without the outer <mo>)."""
    import xml.etree.ElementTree as ET

    if "<mo" not in math:
        return math
    ET.register_namespace("", MATHML)
    root = ET.fromstring(math)
    tag = f"{{{MATHML}}}mo"
    changed = False
    for parent in list(root.iter()):
        for index, child in enumerate(list(parent)):
            if child.tag != tag or len(child) == 0:
                continue
            changed = True
            if all(e.tag in {f"{{{MATHML}}}mrow", f"{{{MATHML}}}mi"} for e in child.iter() if e is not child):
                text, tail, attributes = "".join(child.itertext()), child.tail, dict(child.attrib)
                child.clear()
                child.attrib.update(attributes)
                child.text, child.tail = text, tail
            else:
                inner = list(child)
                replacement = inner[0] if len(inner) == 1 else ET.Element(f"{{{MATHML}}}mrow")
                if len(inner) > 1:
                    replacement.extend(inner)
                replacement.tail = child.tail
                parent.remove(child)
                parent.insert(index, replacement)
    if not changed:
        return math
    # Unwrapping can leave an <mo> directly in an <mo> (the \\overset case): repeat until none is left.
    return _unwrap_operators_of_markup(ET.tostring(root, encoding="unicode", short_empty_elements=True))


def repair_markup(markup: str) -> str:
    markup = TEX_ANNOTATION.sub("", markup).replace("<semantics>", "").replace("</semantics>", "")
    markup = FUNCTION_APPLICATION.sub(r"<mrow>\1\2</mrow>", markup)
    markup = MATH_ELEMENT.sub(lambda m: _unwrap_operators_of_markup(m.group(0)), markup)
    markup = EMPTY_COLUMNSPACING.sub("", markup)
    return NEGATIVE_HEIGHT.sub("", markup).replace(' style=""', "")


def display_latex(text: str, nowrap: bool) -> str:
    """What Sphinx's MathJax renderer would typeset for a display block (see the module docstring)."""
    if nowrap:
        return text
    parts = [part for part in text.split("\n\n") if part.strip()]
    wrapped = [rf"\begin{{split}}{part}\end{{split}}" if r"\\" in part else part for part in parts]
    if len(wrapped) > 1:
        return r"\begin{aligned}" + r"\\".join(wrapped) + r"\end{aligned}"
    return wrapped[0] if wrapped else ""


def _typeset(self: Any, node: nodes.Element, latex: str, display: bool) -> str:
    from sphinxcontrib.katex import KaTeXError

    try:
        return render(self.builder.app, latex, display)
    except KaTeXError as error:
        formula = " ".join(node.astext().split())
        logger.warning("KaTeX cannot render the formula %r: %s", formula, error,
                       location=node, type="course", subtype="katex")
        return f'<code class="katex-error">{html.escape(node.astext())}</code>'


def html_visit_math(self: Any, node: nodes.math) -> None:
    self.body.append(self.starttag(node, "span", "", CLASS="math notranslate nohighlight"))
    self.body.append(_typeset(self, node, node.astext(), display=False))
    self.body.append("</span>")
    raise nodes.SkipNode


def html_visit_displaymath(self: Any, node: nodes.math_block) -> None:
    self.body.append(self.starttag(node, "div", CLASS="math notranslate nohighlight"))
    if node["number"] and not node["nowrap"]:
        number = get_node_equation_number(self, node)
        self.body.append(f'<span class="eqno">({number})')
        self.add_permalink_ref(node, _("Link to this equation"))
        self.body.append("</span>")
    self.body.append(_typeset(self, node, display_latex(node.astext(), node["nowrap"]), display=True))
    self.body.append("</div>\n")
    raise nodes.SkipNode


# --- configuration, the stylesheet on pages with math, and the copy ------------------------------

def use_katex(app: Sphinx, config: Any) -> None:
    if config.course_katex:
        config.html_math_renderer = RENDERER


def add_stylesheet(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                   doctree: Any) -> None:
    if app.builder.format != "html" or getattr(app.builder, "math_renderer_name", None) != RENDERER:
        return
    # The page's own math only: MathDomain.has_equations(pagename) also counts its toctree children.
    if app.env.get_domain("math").data["has_equations"].get(pagename):
        app.add_css_file(KATEX_CSS, priority=400)


def copy_katex(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html" or not app.config.course_katex:
        return
    if not katex_source(app).is_dir() and not app.env.get_domain("math").has_equations():
        return  # a book without math (the tests' tiny builds) needs no KaTeX
    source, target = check_katex(app), Path(app.outdir) / "_static" / KATEX_TARGET
    for part in KATEX_FILES:
        src, dst = source / "dist" / part, target / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copyfile(src, dst)
    shutil.copyfile(source / "LICENSE", target / "LICENSE.txt")


# --- Font Awesome cut down to the icons the site shows ---------------------------------------------

ICONS_TARGET = "vendor/icons"
ICONS_CSS = f"{ICONS_TARGET}/icons.css"
THEME_FONTS = "vendor/fontawesome/webfonts"
# (file in the theme's webfonts folder, CSS family, weight)
FONT_FACES = (("fa-solid-900", "Font Awesome 6 Free", 900), ("fa-regular-400", "Font Awesome 6 Free", 400),
              ("fa-brands-400", "Font Awesome 6 Brands", 400))
CATALOGUE_RULE = re.compile(r"((?:\.fa-[a-z0-9-]+:{1,2}before,?)+)\{content:\s*\"\\([0-9a-fA-F]{4,5})\"\}")
CSS_RULE = re.compile(r"([^{}]*)\{([^{}]*)\}")
CSS_ESCAPE = re.compile(r"\\([0-9a-fA-F]{4,5})")
CLASS_ATTRIBUTE = re.compile(r'class="([^"]*)"')
FA_NAME = re.compile(r"\bfa-[a-z0-9-]+")
PRIVATE_USE = range(0xE000, 0xF900)


def icon_catalogue(css: str) -> dict[str, int]:
    """Font Awesome's ``.fa-NAME:before {content: "\\f0c9"}`` rules: icon class to character."""
    catalogue = {}
    for selectors, code in CATALOGUE_RULE.findall(css):
        for name in re.findall(r"\.(fa-[a-z0-9-]+):", selectors):
            catalogue[name] = int(code, 16)
    return catalogue


def stylesheet_icons(css: str) -> set[int]:
    """Icon characters a stylesheet draws outside the catalogue (admonition and navigation icons,
    written as CSS escapes or as the characters themselves, often in ``--pst-icon-*`` variables)."""
    found: set[int] = set()
    for selectors, body in CSS_RULE.findall(CATALOGUE_RULE.sub("", css)):
        found |= {int(code, 16) for code in CSS_ESCAPE.findall(body)}
        found |= {ord(char) for char in body if ord(char) in PRIVATE_USE}
    return {code for code in found if code in PRIVATE_USE}


def used_icon_names(outdir: Path) -> set[str]:
    """The ``fa-*`` classes of the built pages and of the theme's scripts (which insert icons, such as
    the search dialog's close button)."""
    static = outdir / "_static"
    names: set[str] = set()
    for page in outdir.rglob("*.html"):
        if page.relative_to(outdir).parts[0] in {"_static", "_sources", "_images"}:
            continue
        for classes in CLASS_ATTRIBUTE.findall(page.read_text(encoding="utf-8", errors="replace")):
            names.update(FA_NAME.findall(classes))
    # Icons the theme's scripts insert (the search dialog's close button, ...).
    for script in [*static.glob("*.js"), *static.glob("scripts/*.js")]:
        if script.name != "fontawesome.js":
            names.update(FA_NAME.findall(script.read_text(encoding="utf-8", errors="replace")))
    return names


def used_icons(outdir: Path, names: set[str] | None = None) -> set[int]:
    """Every icon character the built site can show (see the module docstring)."""
    static = outdir / "_static"
    stylesheets = [p for p in static.rglob("*.css") if ICONS_TARGET not in p.as_posix()
                   and "vendor/thebe" not in p.as_posix()]  # thebe's widgets use Font Awesome 4's font
    catalogue: dict[str, int] = {}
    codes: set[int] = set()
    for path in stylesheets:
        css = path.read_text(encoding="utf-8", errors="replace")
        catalogue.update(icon_catalogue(css))
        codes |= stylesheet_icons(css)
    names = used_icon_names(outdir) if names is None else names
    return codes | {catalogue[name] for name in names if name in catalogue}


def without_unused_icon_rules(css: str, names: set[str]) -> str:
    """The theme's stylesheet without the ``.fa-NAME:before{content:...}`` rules of the icons no page
    shows: Font Awesome's catalogue of about 2,000 icons is a fifth of the stylesheet (86 KB), and the
    stylesheet blocks the first paint of every page. A rule that names a used icon keeps its used
    selectors."""
    def keep(match: re.Match) -> str:
        selectors = [s for s in match.group(1).split(",")
                     if s and re.match(r"\.(fa-[a-z0-9-]+):", s).group(1) in names]
        return f'{",".join(selectors)}{{content:"\\{match.group(2)}"}}' if selectors else ""
    return CATALOGUE_RULE.sub(keep, css)


def trim_theme_stylesheet(outdir: Path, names: set[str]) -> int:
    """Rewrite the copied theme stylesheet without the unused icon rules; return the bytes saved."""
    path = outdir / "_static" / "styles" / "pydata-sphinx-theme.css"
    if not path.is_file():
        return 0
    css = path.read_text(encoding="utf-8")
    trimmed = without_unused_icon_rules(css, names)
    if trimmed != css:
        path.write_text(trimmed, encoding="utf-8")
    return len(css.encode()) - len(trimmed.encode())


def subset_icon_fonts(outdir: Path) -> dict[str, list[int]]:
    """Write the cut-down fonts and ``icons.css`` into ``_static/vendor/icons``; return, per font,
    the characters it holds. Without the theme's fonts (another theme) the stylesheet is empty."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    target = outdir / "_static" / ICONS_TARGET
    target.mkdir(parents=True, exist_ok=True)
    fonts = outdir / "_static" / THEME_FONTS
    names = used_icon_names(outdir)
    codes = used_icons(outdir, names) if fonts.is_dir() else set()
    theme_css = outdir / "_static" / "styles" / "pydata-sphinx-theme.css"
    version = re.search(r"Font Awesome Free [\d.]+", theme_css.read_text(encoding="utf-8")) \
        if theme_css.is_file() else None
    rules = [f"/* {version.group(0) if version else 'Font Awesome Free'} by @fontawesome - "
             "https://fontawesome.com, License - https://fontawesome.com/license/free (Icons: CC BY 4.0, "
             "Fonts: SIL OFL 1.1, Code: MIT License). Cut down by course_book (vendor_assets.py) to the "
             "icons this site shows. */"]
    held: dict[str, list[int]] = {}
    for stem, family, weight in FONT_FACES:
        source = fonts / f"{stem}.ttf"
        if not codes or not source.is_file():
            continue
        with TTFont(source) as font:
            present = sorted(codes & set(font.getBestCmap()))
        if not present:
            continue
        options = subset.Options()
        options.flavor = "woff"  # zlib; woff2 would need brotli
        options.name_IDs = ["*"]  # keep the copyright and licence records
        options.name_languages = ["*"]
        options.layout_features = []
        font = subset.load_font(str(source), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=present)
        subsetter.subset(font)
        subset.save_font(font, str(target / f"{stem}.woff"), options)
        held[stem] = present
        ranges = ",".join(f"U+{code:04X}" for code in present)
        rules.append(f'@font-face{{font-family:"{family}";font-style:normal;font-weight:{weight};'
                     f'font-display:block;src:url({stem}.woff) format("woff");unicode-range:{ranges}}}')
    (target / "icons.css").write_text("\n".join(rules) + "\n", encoding="utf-8")
    if codes:  # the catalogue was read above: now the unused part of it can go
        trim_theme_stylesheet(outdir, names)
    return held


def add_icon_stylesheet(app: Sphinx) -> None:
    if app.config.course_icon_subset and app.builder.format == "html":
        app.add_css_file(ICONS_CSS)


def write_icon_fonts(app: Sphinx, exception: Exception | None) -> None:
    if exception is None and app.builder.format == "html" and app.config.course_icon_subset:
        subset_icon_fonts(Path(app.outdir))


def setup(app: Sphinx) -> None:
    app.add_config_value("course_icon_subset", True, "html", [bool])
    app.connect("builder-inited", add_icon_stylesheet)
    app.connect("build-finished", write_icon_fonts)
    app.add_config_value("course_katex", True, "html", [bool])
    app.add_config_value("course_katex_macros", {}, "html", [dict])
    app.add_html_math_renderer(RENDERER, (html_visit_math, None), (html_visit_displaymath, None))
    app.connect("config-inited", use_katex)
    app.connect("html-page-context", add_stylesheet)
    app.connect("build-finished", copy_katex)
