#!/usr/bin/env bash
# Install the system packages the tests need, unless they are already there:
#   Debian's Chromium for the browser tests (Playwright's own browser download does not work on
#   these machines; see README), a Java runtime for the Nu HTML Checker (vnu.jar), and TeX Live with
#   latexmk for the LaTeX templates of the project and the reading assignment (tests/test_latex.py):
#   pdfLaTeX, the recommended packages (microtype, booktabs) and the Times fonts (mathptmx).
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v latexmk >/dev/null || missing+=(latexmk)
command -v pdflatex >/dev/null || missing+=(texlive-latex-base)
kpsewhich microtype.sty >/dev/null 2>&1 || missing+=(texlive-latex-recommended)
kpsewhich utmr8a.pfb >/dev/null 2>&1 || missing+=(texlive-fonts-recommended)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "error: the tests need ${missing[*]} (Debian packages): Chromium at /usr/bin/chromium for the" \
       "browser tests, java for the HTML checker, TeX Live and latexmk for the LaTeX templates" >&2
  exit 1
fi
