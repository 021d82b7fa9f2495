# Quick start: `make lab` opens the lab, `make test` checks everything.
# `make lab` sets up .venv with what the lab needs (requirements.txt); `make test` and
# `make bench` add the test tools (requirements-test.txt). Each again only when it changed.
# Both files come from pyproject.toml (tools/pins.py). With uv on PATH, uv installs them
# (the same pins, faster); otherwise pip does.

VENV   := .venv
# GNU make on Windows (with Git Bash): python.org's Python is `python`; venvs keep it in Scripts.
ifeq ($(OS),Windows_NT)
PYTHON ?= python
BIN    := $(VENV)/Scripts
else
PYTHON ?= python3
BIN    := $(VENV)/bin
endif
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
UV ?= $(shell command -v uv 2>/dev/null)
ifneq ($(UV),)
INSTALL = $(UV) pip install --quiet --python $(BIN)/python
else
INSTALL = $(BIN)/python -m pip install --quiet
endif
NOTEBOOK := notebooks/00_start_here.ipynb
# JupyterLab refuses to run as root unless told that it is on purpose.
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup setup-test lab test test-fast test-browser browser-deps pythons test-versions \
        test-versions-ci free-threaded bench clean

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml $(wildcard jupyter-config/share/jupyter/lab/settings/*/*.json)
	@$(PYTHON) tools/check_python.py
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
ifeq ($(UV),)
	$(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --upgrade
	$(BIN)/python -m pip install --quiet --upgrade pip
endif
	$(INSTALL) -r requirements.txt \
	  || { $(BIN)/python tools/check_python.py --install-failed; exit 1; }
	$(INSTALL) --no-deps -e .
	touch $@

# The test tools; installed again if they went missing (`uv sync` keeps only the lab).
setup-test: setup
	@$(BIN)/python -c "import pytest, nbval, playwright, repo2docker" 2>/dev/null \
	  || rm -f $(TEST_STAMP)
	@$(MAKE) --no-print-directory $(TEST_STAMP)

$(TEST_STAMP): requirements-test.txt $(STAMP)
	$(INSTALL) -r requirements-test.txt
	touch $@

lab: setup
	$(BIN)/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/$(NOTEBOOK)

browser-deps: setup-test
	bash tools/install_browser.sh

test: setup-test browser-deps
	LAB_QUICK=1 $(BIN)/python -m pytest

# Unit tests only: seconds, for the edit-test loop.
test-fast: setup-test
	LAB_QUICK=1 $(BIN)/python -m pytest --ignore=tests/browser --deselect tests/test_notebooks_run.py

# Real-browser tests only (~2 min); screenshots in test-artifacts/browser/
test-browser: setup-test browser-deps
	LAB_QUICK=1 $(BIN)/python -m pytest tests/browser

# CPython 3.14 and 3.15 from Debian sid's binary packages into ~/.cache/concurrency-lab
# (Debian as root, no compiler, under a minute; a cached pair is reused).
pythons:
	bash tools/newest_pythons.sh

# Unit and notebook tests (every notebook under every start method, no browser) on each
# CPython 3.10–3.15 found (pyenv, `make pythons`' cache, python3.1X on PATH, or LAB_PYTHONS),
# each in .venvs/pyX.Y. Where `make pythons` cannot work, it runs on what it finds.
test-versions:
	bash tools/newest_pythons.sh || true
	$(PYTHON) tools/test_versions.py

# What CI runs: the oldest and newest supported version (3.10 and 3.15), notebooks under each
# one's default start method (fork on 3.10, forkserver on 3.14+).
test-versions-ci: pythons
	$(PYTHON) tools/test_versions.py --oldest-newest --start-methods default

# A free-threaded Python (found, or built into ~/.cache/concurrency-lab), its venv .venv-ft,
# and a "Python 3.13t (free-threaded)" kernel; notebook 07 uses it.
free-threaded: setup
	bash tools/free_threaded.sh

# Benchmarks (~10 min): figures beside their goals in bench/results.{json,md} and README.md.
# `make bench BENCH_ARGS=--quick` for a fast check with small sizes.
bench: setup-test browser-deps
	$(BIN)/python -m bench --update-readme README.md $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .venv-ft .venvs test-artifacts *.egg-info
