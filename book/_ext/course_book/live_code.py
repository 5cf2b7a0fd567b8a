"""Live Code (thebe) served from the site, connected to Binder or to a Jupyter server of our choice.

sphinx-thebe 0.3.1 loads thebe from unpkg when a reader clicks Live Code. We copy thebe's prebuilt
bundle (``node_modules/thebe/lib``, installed by ``tools/vendor_thebe.py``) to
``_static/vendor/thebe/`` and point sphinx-thebe's ``THEBE_JS_URL`` at ``course-thebe.js``: thebe's
``index.js`` followed by a short script of ours (:func:`bootstrap_script`) that

- asks the BinderHub named by ``launch_buttons.binderhub_url`` (sphinx-thebe passes no Binder URL,
  so thebe would always use mybinder.org): one setting moves both the Binder button and Live Code;
- or connects to the Jupyter server named by ``COURSE_KERNEL_URL``/``COURSE_KERNEL_TOKEN`` when they
  are set at build time (thebe 0.9's ``bootstrap()`` otherwise always asks Binder, and sphinx-thebe
  calls it without options, so wrapping it is the only hook);
- says where the kernel comes from in the status line (sphinx-thebe hard-codes "mybinder.org");
- loads ``thebe.css``;
- typesets LaTeX outputs (``text/latex``, such as ``IPython.display.Math`` or sympy results) with
  KaTeX, whose script and stylesheet the site serves (:mod:`.vendor_assets`) and this loads only
  when such an output first appears: the pages themselves carry math rendered at build time and no
  math script.

Only that one file depends on the kernel settings, so switching them needs no page to be rebuilt.

That file is public: a token in it is every reader's token, and a Jupyter token is code execution
as the server's user. The build therefore embeds a token only for a server on the loopback
interface (``make live``, the tests), where a reader's browser can reach nothing but the reader's
own machine. A public server needs ``COURSE_KERNEL_TOKEN_IS_PUBLIC=1`` and gets a notice in the
build log (see :func:`public_token_notice`).
"""
from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sphinx.application import Sphinx
from sphinx.errors import ConfigError, ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

TARGET = "vendor/thebe"
ENTRY = "course-thebe.js"
CDN_URL = re.compile(r"https://unpkg\.com/thebe@[^\"']+")
KERNEL_URL, KERNEL_TOKEN = "COURSE_KERNEL_URL", "COURSE_KERNEL_TOKEN"
TOKEN_IS_PUBLIC = "COURSE_KERNEL_TOKEN_IS_PUBLIC"
DEFAULT_BINDER = "https://mybinder.org"
# The line of the bootstrap script that carries the published settings (read back by
# :func:`published_defaults`, which the scan of the built site uses).
DEFAULTS_LINE = "  const defaults = "


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` names this machine's loopback interface: ``localhost``, 127.0.0.0/8 or ::1.

    ``host`` is a URL's hostname as :func:`urllib.parse.urlsplit` gives it (lower case, IPv6 without
    brackets). Anything else counts as public, including names that merely start with 127.0.0.1.
    """
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1
    return address.is_loopback


def refusal(url: str) -> str:
    """Why the build will not publish a token for the server at ``url``, and what to do instead."""
    return (f"{KERNEL_URL}={url!r} is not on the loopback interface (127.0.0.0/8, ::1, localhost), so "
            f"the build refuses to publish {KERNEL_TOKEN}: it would be written in clear into "
            f"_static/{TARGET}/{ENTRY}, every reader of the site would get it, and with it code "
            "execution on that Jupyter server as the server's user. Host a class's kernels on Binder "
            "instead (mybinder.org, or your institution's BinderHub: set launch_buttons.binderhub_url "
            "in _config.yml) or on a JupyterHub (students log in and use its launch button); see "
            "README.md, 'Live Code'. A token is only for `make live` on this machine. For a disposable "
            f"server inside a closed network only, {TOKEN_IS_PUBLIC}=1 publishes it anyway.")


def _token_is_public(environ: Mapping[str, str]) -> bool:
    value = environ.get(TOKEN_IS_PUBLIC, "").strip()
    if value not in {"", "0", "1"}:
        raise ConfigError(f"{TOKEN_IS_PUBLIC}={value!r}: expected 1 (publish {KERNEL_TOKEN} for a "
                          "server that is not on loopback) or 0/unset")
    return value == "1"


def kernel_settings(environ: Mapping[str, str] = os.environ) -> dict[str, Any] | None:
    """The Jupyter server Live Code should use, or None for Binder.

    Raises :class:`ConfigError` for a malformed URL and for a token of a server that is not on
    loopback, unless ``COURSE_KERNEL_TOKEN_IS_PUBLIC=1`` (then ``publicToken`` is true).
    """
    url = environ.get(KERNEL_URL, "").strip()
    token = environ.get(KERNEL_TOKEN, "").strip()
    token_is_public = _token_is_public(environ)  # checked even when unused: a typo fails early
    if not url:
        if token:
            raise ConfigError(f"{KERNEL_TOKEN} is set but {KERNEL_URL} is not: set both "
                              "(Live Code connects to that Jupyter server) or neither (Binder)")
        return None
    parsed = urlsplit(url)
    example = "such as http://127.0.0.1:8888/"
    if parsed.scheme not in {"http", "https"}:
        raise ConfigError(f"{KERNEL_URL}={url!r}: expected an http(s) URL {example}")
    if not parsed.hostname:
        raise ConfigError(f"{KERNEL_URL}={url!r} names no host: expected a URL {example}")
    try:
        parsed.port  # noqa: B018 - urllib checks the port only when asked
    except ValueError as error:
        raise ConfigError(f"{KERNEL_URL}={url!r}: {error}; expected a URL {example}") from None
    if parsed.username is not None or parsed.query or parsed.fragment:
        raise ConfigError(f"{KERNEL_URL}={url!r}: the URL must carry no user, password, query or "
                          f"fragment (they would be published; the token goes in {KERNEL_TOKEN})")
    loopback = is_loopback(parsed.hostname)
    if token and not loopback and not token_is_public:
        raise ConfigError(refusal(url))
    base = url if url.endswith("/") else url + "/"
    return {"baseUrl": base, "wsUrl": re.sub(r"^http", "ws", base), "token": token,
            "host": parsed.netloc, "publicToken": bool(token) and not loopback}


def public_token_notice(settings: dict[str, Any] | None) -> str | None:
    """The build-log notice of a token published on purpose (``COURSE_KERNEL_TOKEN_IS_PUBLIC=1``).

    It is logged at info level, in red, not as a Sphinx warning: the course builds with ``-W``, where
    a warning fails the build, and a warning silenced through ``suppress_warnings`` is not printed at
    all, so neither would be an opt-in that stays visible.
    """
    if not settings or not settings["publicToken"]:
        return None
    return (f"WARNING (published on purpose, {TOKEN_IS_PUBLIC}=1): _static/{TARGET}/{ENTRY} carries "
            f"{KERNEL_TOKEN} of the Jupyter server at {settings['baseUrl']}, which is not on loopback: "
            "every reader of this site can run code there as the server's user. Publish this build "
            "only inside a closed network, for a disposable server.")


def binder_url(theme_options: Mapping[str, Any]) -> str:
    """The BinderHub Live Code asks for a kernel: ``launch_buttons.binderhub_url``, the one the
    theme's Binder button opens, or mybinder.org (thebe's own default) when it is unset."""
    launch_buttons = theme_options.get("launch_buttons") or {}
    url = str(launch_buttons.get("binderhub_url") or "").strip() or DEFAULT_BINDER
    parsed = urlsplit(url)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise ConfigError(f"launch_buttons.binderhub_url={url!r} in _config.yml: expected a BinderHub's "
                          "http(s) URL such as https://mybinder.org")
    return url.rstrip("/")


def bootstrap_script(settings: dict[str, Any] | None, binder: str = DEFAULT_BINDER) -> str:
    """JavaScript appended to thebe's bundle; see the module docstring."""
    # An empty mathjaxUrl stops thebe from loading MathJax 2 from cdnjs for LaTeX outputs; they are
    # typeset by the KaTeX served with the site instead (LATEX_OUTPUTS below).
    defaults: dict[str, Any] = {"mathjaxUrl": ""}
    if settings is None:
        where = urlsplit(binder).netloc
        # thebe deep-merges these options over the page's x-thebe-config (lodash.merge), so the
        # repository and branch that sphinx-thebe writes there stay.
        defaults.update(binderOptions={"binderUrl": binder})
    else:
        where = settings["host"]
        defaults.update(useBinder=False, requestKernel=True,
                        serverSettings={"baseUrl": settings["baseUrl"], "wsUrl": settings["wsUrl"],
                                        "token": settings["token"], "appendToken": True})
    wrap = f"""
  const bootstrap = thebelab.bootstrap;
  const defaults = {json.dumps(defaults)};
  thebelab.bootstrap = (options = {{}}) => {{
    // With predefinedOutput, thebe writes a cell's output into the page's existing output area;
    // a cell that had no output when the page was built needs an empty one, or its results vanish.
    document.querySelectorAll("[data-executable]").forEach((input) => {{
      const next = input.nextElementSibling;
      if (!next || !next.hasAttribute("data-output")) {{
        const output = document.createElement("div");
        output.className = "cell_output docutils container";
        output.setAttribute("data-output", "");
        input.insertAdjacentElement("afterend", output);
      }}
    }});
    // Registered here, after sphinx-thebe's own status handler, so that ours has the last word.
    thebelab.on("status", (event, data) => {{
      document.querySelectorAll(".thebe-launch-button").forEach((button) => {{
        button.dataset.status = data.status;
        const message = button.querySelector(".launch_msg");
        if (message) message.textContent = {json.dumps(f"Kernel from {where}: ")};
      }});
    }});
    return bootstrap(Object.assign({{}}, defaults, options));
  }};"""
    return f"""
/* Course book: thebe served by the site ({where}). Generated by course_book.live_code. */
(function () {{
  const here = document.currentScript ? document.currentScript.src : "";
  if (here) {{
    const css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = new URL("thebe.css", here).href;
    document.head.appendChild(css);
  }}{wrap}{LATEX_OUTPUTS}
}})();
"""


# LaTeX outputs of Live Code cells arrive as text in thebe's ``.jp-RenderedLatex`` elements (thebe
# has no typesetter with an empty mathjaxUrl). The first one loads KaTeX and its auto-render
# extension from the site's vendor/katex folder (beside vendor/thebe); each is then typeset in place.
LATEX_OUTPUTS = """
  let katexReady = null;
  const katexFile = (name) => new URL("../katex/" + name, here || document.baseURI).href;
  const loadKatex = () => katexReady || (katexReady = new Promise((resolve, reject) => {
    if (!document.querySelector('link[href$="katex.min.css"]')) {
      const css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = katexFile("katex.min.css");
      document.head.appendChild(css);
    }
    const add = (name, next) => {
      const script = document.createElement("script");
      script.src = katexFile(name);
      script.onload = next;
      script.onerror = reject;
      document.head.appendChild(script);
    };
    add("katex.min.js", () => add("contrib/auto-render.min.js", resolve));
  }));
  const typeset = (element) => loadKatex().then(() => window.renderMathInElement(element, {
    delimiters: [{left: "$$", right: "$$", display: true}, {left: "\\\\[", right: "\\\\]", display: true},
                 {left: "\\\\(", right: "\\\\)", display: false}, {left: "$", right: "$", display: false}],
    throwOnError: false}));
  const watch = () => new MutationObserver((changes) => changes.forEach((change) => change.addedNodes.forEach(
    (node) => {
      if (node.nodeType !== 1) return;
      const found = node.matches(".jp-RenderedLatex") ? [node] : node.querySelectorAll(".jp-RenderedLatex");
      found.forEach(typeset);
    }))).observe(document.body, {childList: true, subtree: true});
  if (document.body) watch(); else document.addEventListener("DOMContentLoaded", watch);"""


def published_defaults(script: str) -> dict[str, Any] | None:
    """The options :func:`bootstrap_script` wrote into a published ``course-thebe.js``, or None
    when the text has none (not a file of ours)."""
    for line in reversed(script.splitlines()):  # ours is appended after thebe's bundle
        if line.startswith(DEFAULTS_LINE):
            return json.loads(line[len(DEFAULTS_LINE):].rstrip().removesuffix(";"))
    return None


def thebe_source(app: Sphinx) -> Path:
    return Path(app.srcdir) / "node_modules" / "thebe" / "lib"


def announce_public_token(settings: dict[str, Any] | None) -> None:
    notice = public_token_notice(settings)
    if notice:
        logger.info(notice, color="red")


def check_assets(app: Sphinx) -> None:
    # Fail early on a malformed COURSE_KERNEL_URL, a token for a public server or a bad Binder URL.
    announce_public_token(kernel_settings())
    binder_url(app.config.html_theme_options)
    if not app.config.course_vendor_thebe:
        return
    if not (thebe_source(app) / "index.js").is_file():
        raise ExtensionError("thebe is not installed: run `make book` (or `python3 tools/vendor_thebe.py`) "
                             "so that node_modules/thebe exists; the site serves Live Code itself")


def point_to_local_thebe(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                         doctree: Any) -> None:
    """Rewrite sphinx-thebe's inline ``THEBE_JS_URL`` to the copy served by this site."""
    if not app.config.course_vendor_thebe:
        return
    scripts = context.get("script_files")
    if not scripts:
        return
    local = context["pathto"](f"_static/{TARGET}/{ENTRY}", 1)
    rewritten = []
    for script in scripts:
        attributes = getattr(script, "attributes", None)
        body = attributes.get("body", "") if attributes else ""
        if body and CDN_URL.search(body):
            script = type(script)(script.filename, priority=getattr(script, "priority", 500),
                                  **{**attributes, "body": CDN_URL.sub(local, body)})
        rewritten.append(script)
    context["script_files"] = rewritten


def copy_thebe(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html" or not app.config.course_vendor_thebe:
        return
    source, target = thebe_source(app), Path(app.outdir) / "_static" / TARGET
    target.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if path.suffix in {".js", ".css", ".txt"}:  # the bundle and its licence texts, not the source maps
            shutil.copyfile(path, target / path.name)
    entry = (source / "index.js").read_text(encoding="utf-8")
    settings = kernel_settings()
    script = bootstrap_script(settings, binder_url(app.config.html_theme_options))
    (target / ENTRY).write_text(entry + "\n" + script, encoding="utf-8")
    announce_public_token(settings)  # again at the end of the log, where it is read


def setup(app: Sphinx) -> None:
    app.add_config_value("course_vendor_thebe", True, "html", [bool])
    app.connect("builder-inited", check_assets)
    app.connect("html-page-context", point_to_local_thebe, priority=950)
    app.connect("build-finished", copy_thebe)
