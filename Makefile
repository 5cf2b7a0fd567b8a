# Two commands matter:
#   make book   create .venv, install the pinned dependencies, execute every notebook, build _build/html
#   make test   install the test tools too, build the site offline, run the whole test suite
# See README.md for the rest.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# -W: warnings are errors; -n: nitpicky (every reference must resolve); --keep-going: report them all.
JB_FLAGS ?= -W -n --keep-going
# jupyter-book build, with Sphinx reading (executing) notebooks on every core (tools/build.py);
# COURSE_BUILD_JOBS=1 makes it serial.
JUPYTER_BOOK = $(BIN)/python tools/build.py
STAMPS := $(VENV)/.stamps
# Each install leaves a stamp that holds the SHA-256 of the files it installed from; it runs again
# only when those contents change (or what it installed is gone), never because of file times, so
# a fresh clone with a built .venv or node_modules (copied or symlinked) installs nothing.
SHA256 := $(if $(shell command -v sha256sum),sha256sum,shasum -a 256)
# $(call stale,STAMP,FILES): non-empty unless STAMP holds the hashes of FILES.
stale = $(if $(subst $(shell cat $(1) 2>/dev/null),,$(shell $(SHA256) $(2) 2>&1)),stale)
TEST_REQUIREMENTS := requirements.txt requirements-test.txt requirements-live.txt
LIVE_REQUIREMENTS := requirements.txt requirements-live.txt
NODE_STAMP := node_modules/.course-install
# thebe's stamp holds the integrity pinned in package.json (tools/vendor_thebe.py writes it).
THEBE_STAMP := node_modules/thebe/.course-integrity
# A new .venv needs every pip install again, and npm (which empties node_modules) needs thebe again.
BUILD_STALE := $(or $(call stale,$(STAMPS)/build,requirements.txt),$(if $(wildcard $(BIN)/python),,missing))
NODE_STALE := $(call stale,$(NODE_STAMP),package.json package-lock.json)
THEBE_STALE := $(if $(findstring $(shell cat $(THEBE_STAMP) 2>/dev/null),$(shell cat package.json 2>/dev/null)),,stale)
# Gradescope archives of the homeworks (hidden tests inside): next to the site, never in it.
AUTOGRADERS = $(BIN)/python tools/assignments.py --autograder _build/autograder

.PHONY: book build test pytest notebooks robustness serve live new-term assets deps test-deps live-deps clean help FORCE

help:
	@echo "make book       install what the build needs (first time) and build the site into _build/html"
	@echo "make test       install test tools, build the site without network access, run all tests"
	@echo "make notebooks  regenerate generated notebooks: .ipynb twins of MyST pages, exercise student/solution notebooks"
	@echo "make robustness run every notebook alone under several numeric paths (NOTEBOOKS=... for some)"
	@echo "make serve      preview the built site on http://127.0.0.1:8000"
	@echo "make live       build and serve the site with Live Code connected to a local Jupyter server"
	@echo "make new-term   move book/agenda.yml to a new term: FIRST=YYYY-MM-DD SLUG=... TERM_NAME=\"...\" [BREAKS=...]"
	@echo "make clean      remove _build (the execution cache too)"

book: deps
	$(JUPYTER_BOOK) . $(JB_FLAGS)
	$(AUTOGRADERS)
	@echo
	@echo "Built. Preview with:  $(BIN)/python -m http.server -d _build/html 8000"
	@echo "then open http://127.0.0.1:8000 (or open _build/html/index.html directly)."

# The build itself without the dependency check (what CI and the tests use once deps are in place).
build:
	$(JUPYTER_BOOK) . $(JB_FLAGS)
	$(AUTOGRADERS)

deps: $(STAMPS)/build assets

# venv refuses a symlink: a linked .venv (shared with another clone) is made where the link points.
# torch comes from PyTorch's CPU wheel index where that answers (tools/torch_index.py probes it once,
# for 5 s), else from PyPI after a one-line notice: never a blind extra index, which costs pip retries.
$(STAMPS)/build: $(if $(BUILD_STALE),FORCE)
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if v == (3, 11) else print(f"warning: the course pins are tested with Python 3.11, this is {v[0]}.{v[1]}"))' || true
	test -x $(BIN)/python || $(PYTHON) -m venv "$$([ -L $(VENV) ] && readlink -f $(VENV) || echo $(VENV))"
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	opts=$$($(BIN)/python tools/torch_index.py) && \
	  $(BIN)/python -m pip install --quiet -r requirements.txt $$opts
	mkdir -p $(STAMPS) && $(SHA256) requirements.txt > $@

assets: $(NODE_STAMP) $(THEBE_STAMP)

# npm ci deletes node_modules and makes a new folder. When node_modules is a symlink (shared with
# another clone), the install runs in a temporary folder and its result replaces what the link points
# to: the link itself stays.
$(NODE_STAMP): $(if $(NODE_STALE),FORCE)
	@command -v npm >/dev/null || { echo "npm not found: installing Debian's nodejs and npm"; \
	  (apt-get update -qq && apt-get install -y -qq nodejs npm) || \
	  { echo "error: npm is needed to install MathJax (package.json); install Node.js and npm"; exit 1; }; }
	@if [ -L node_modules ]; then \
	  target=$$(readlink -f node_modules) && \
	  case "$$target" in /|"$$HOME") echo "error: node_modules links to $$target; refusing to install there" >&2; exit 1;; esac && \
	  tmp=$$(mktemp -d) && \
	  echo "node_modules is a symlink to $$target: npm ci in $$tmp, then its packages replace those in $$target" && \
	  cp package.json package-lock.json "$$tmp"/ && \
	  (cd "$$tmp" && npm ci --no-audit --no-fund --loglevel=error) && \
	  mkdir -p "$$target" && find "$$target" -mindepth 1 -maxdepth 1 -exec rm -rf {} + && \
	  cp -a "$$tmp"/node_modules/. "$$target"/ && rm -rf "$$tmp"; \
	else \
	  echo "npm ci --no-audit --no-fund --loglevel=error" && npm ci --no-audit --no-fund --loglevel=error; \
	fi
	$(SHA256) package.json package-lock.json > $@

# thebe (Live Code) comes from npm's tarball, checked against the integrity pinned in package.json.
$(THEBE_STAMP): $(if $(or $(NODE_STALE),$(THEBE_STALE)),FORCE) | $(NODE_STAMP)
	$(PYTHON) tools/vendor_thebe.py

test-deps: deps $(STAMPS)/test

$(STAMPS)/test: $(if $(or $(BUILD_STALE),$(call stale,$(STAMPS)/test,$(TEST_REQUIREMENTS))),FORCE) | $(STAMPS)/build
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	bash tools/install-test-tools.sh
	$(SHA256) $(TEST_REQUIREMENTS) > $@

# The build runs in an empty network namespace where the machine allows it (root, unshare), which
# proves that building needs no network; elsewhere it runs normally.
test: test-deps
	bash tools/offline.sh $(JUPYTER_BOOK) . $(JB_FLAGS)
	bash tools/offline.sh $(AUTOGRADERS)
	$(BIN)/python -m pytest tests

pytest:
	$(BIN)/python -m pytest tests

notebooks: deps
	$(BIN)/python tools/assignments.py
	$(BIN)/python tools/sync_notebooks.py
	$(BIN)/python tools/binder_requirements.py

# Every notebook (or NOTEBOOKS="a.md b.ipynb") run alone in an empty folder under each numeric path
# (native, ATEN_CPU_CAPABILITY=default, avx2 on an AVX-512 CPU); writes _build/robustness.json.
NOTEBOOKS ?=
ROBUSTNESS_FLAGS ?=
robustness: deps
	$(BIN)/python tools/robustness.py $(NOTEBOOKS) $(ROBUSTNESS_FLAGS)

serve:
	$(BIN)/python -m http.server -d _build/html --bind 127.0.0.1 8000

# Live Code against a Jupyter server on this machine: try every cell of every page in the browser.
# LIVE_PORT serves the site, KERNEL_PORT the Jupyter server; Ctrl-C stops both.
LIVE_PORT ?= 8000
KERNEL_PORT ?= 8888
live: live-deps
	$(BIN)/python tools/live.py --site-port $(LIVE_PORT) --kernel-port $(KERNEL_PORT) -- $(JB_FLAGS)

live-deps: deps $(STAMPS)/live

$(STAMPS)/live: $(if $(or $(BUILD_STALE),$(call stale,$(STAMPS)/live,$(LIVE_REQUIREMENTS))),FORCE) | $(STAMPS)/build
	$(BIN)/python -m pip install --quiet -r requirements-live.txt
	$(SHA256) $(LIVE_REQUIREMENTS) > $@

# A new term: every date of book/agenda.yml moved by whole weeks (see tools/new_term.py), e.g.
#   make new-term FIRST=2027-02-12 SLUG=spring-2027 TERM_NAME="Deep Learning on a CPU, spring 2027"
# BREAKS="2027-03-22 2027-03-29" lays the sessions out around those break weeks (Mondays);
# NEW_TERM_FLAGS="--dry-run" shows the changes without writing them, "--no-tag" skips the git tag.
FIRST ?=
SLUG ?=
TERM_NAME ?=
BREAKS ?=
NEW_TERM_FLAGS ?=
new-term: $(STAMPS)/build
	@[ -n "$(FIRST)" ] && [ -n "$(SLUG)" ] && [ -n "$(TERM_NAME)" ] || { echo 'usage: make new-term' \
	  'FIRST=YYYY-MM-DD SLUG=spring-2027 TERM_NAME="Deep Learning on a CPU, spring 2027" [BREAKS="MONDAY ..."]' \
	  '[NEW_TERM_FLAGS="--dry-run --no-tag"]' >&2; exit 2; }
	$(BIN)/python tools/new_term.py "$(FIRST)" --slug "$(SLUG)" --name "$(TERM_NAME)" \
	  $(if $(strip $(BREAKS)),--breaks $(BREAKS)) $(NEW_TERM_FLAGS)

clean:
	rm -rf _build

FORCE:
