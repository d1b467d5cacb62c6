# The two commands a newcomer needs (see README):
#   make example   set up .venv and analyze the bundled capture
#   make test      set up everything (venvs, Chromium) and run the whole test suite
# Everything else here is what those two need.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# mitmproxy 12 needs Python >= 3.12: the mitmproxy-facing tests run again there.
PY312 ?= $(lastword $(sort $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3)))
VENV312 := .venv312
EXAMPLE ?= examples/lab-session.capture.jsonl

.PHONY: example test setup setup-test chromium lint clean

example: setup
	$(BIN)/corscope analyze $(EXAMPLE) --json examples/analysis.json -o examples/report.html; test $$? -le 1

test: setup-test
	$(BIN)/ruff check .
	$(BIN)/pytest
	@if [ -x $(VENV312)/bin/pytest ]; then \
	  echo "== mitmproxy 12 on Python 3.12: readers and addon"; \
	  $(VENV312)/bin/pytest -p no:cacheprovider tests/analysis/readers tests/addons; \
	else echo "no Python 3.12 found: the mitmproxy 12 pass was not run"; exit 1; fi

setup: $(BIN)/corscope

$(BIN)/corscope: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup-test: setup chromium $(VENV312)/bin/pytest

$(VENV312)/bin/pytest: pyproject.toml
	@if [ -z "$(PY312)" ]; then echo "Python 3.12 (pyenv) not found"; exit 1; fi
	$(PY312) -m venv $(VENV312)
	$(VENV312)/bin/pip install --quiet --upgrade pip
	$(VENV312)/bin/pip install --quiet 'mitmproxy>=12' -e '.[test]'
	touch $@

chromium:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian's chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) $(VENV312) *.egg-info
