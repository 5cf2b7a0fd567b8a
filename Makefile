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
STAMPS := $(VENV)/.stamps
# Gradescope archives of the homeworks (hidden tests inside): next to the site, never in it.
AUTOGRADERS = $(BIN)/python tools/assignments.py --autograder _build/autograder

.PHONY: book build test pytest notebooks robustness serve live assets deps test-deps live-deps clean help

help:
	@echo "make book       install what the build needs (first time) and build the site into _build/html"
	@echo "make test       install test tools, build the site without network access, run all tests"
	@echo "make notebooks  regenerate generated notebooks: .ipynb twins of MyST pages, exercise student/solution notebooks"
	@echo "make robustness run every notebook alone under several numeric paths (NOTEBOOKS=... for some)"
	@echo "make serve      preview the built site on http://127.0.0.1:8000"
	@echo "make live       build and serve the site with Live Code connected to a local Jupyter server"
	@echo "make clean      remove _build (the execution cache too)"

book: deps
	$(BIN)/jupyter-book build . $(JB_FLAGS)
	$(AUTOGRADERS)
	@echo
	@echo "Built. Preview with:  $(BIN)/python -m http.server -d _build/html 8000"
	@echo "then open http://127.0.0.1:8000 (or open _build/html/index.html directly)."

# The build itself without the dependency check (what CI and the tests use once deps are in place).
build:
	$(BIN)/jupyter-book build . $(JB_FLAGS)
	$(AUTOGRADERS)

deps: $(STAMPS)/build assets

$(STAMPS)/build: requirements.txt
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if v == (3, 11) else print(f"warning: the course pins are tested with Python 3.11, this is {v[0]}.{v[1]}"))' || true
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -r requirements.txt
	mkdir -p $(STAMPS) && touch $@

assets: node_modules/.package-lock.json node_modules/thebe/.course-integrity

node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: installing Debian's nodejs and npm"; \
	  (apt-get update -qq && apt-get install -y -qq nodejs npm) || \
	  { echo "error: npm is needed to install MathJax (package.json); install Node.js and npm"; exit 1; }; }
	npm ci --no-audit --no-fund --loglevel=error

# thebe (Live Code) comes from npm's tarball, checked against the integrity pinned in package.json.
node_modules/thebe/.course-integrity: package.json node_modules/.package-lock.json tools/vendor_thebe.py
	$(PYTHON) tools/vendor_thebe.py

test-deps: deps $(STAMPS)/test

$(STAMPS)/test: requirements-test.txt requirements-live.txt $(STAMPS)/build
	$(BIN)/python -m pip install --quiet -r requirements-test.txt
	bash tools/install-test-tools.sh
	touch $@

# The build runs in an empty network namespace where the machine allows it (root, unshare), which
# proves that building needs no network; elsewhere it runs normally.
test: test-deps
	bash tools/offline.sh $(BIN)/jupyter-book build . $(JB_FLAGS)
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

$(STAMPS)/live: requirements-live.txt $(STAMPS)/build
	$(BIN)/python -m pip install --quiet -r requirements-live.txt
	touch $@

clean:
	rm -rf _build
