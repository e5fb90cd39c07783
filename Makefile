# solo-tase: `make demo` runs the main job on Digits-LT, `make test` runs the test suite
# (`make test-fast`: all but the tests marked slow).
# Both create ./.venv on first use (torch 2.14.1 / torchvision 0.29.1 and the plugin's extras).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# solo-learn is not on PyPI: scripts/install_solo_learn.sh finds a checkout (the places are
# SOLO_LEARN_PLACES in solo_tase/solo_compat.py), or clones one (exit code 3 when it cannot: no git
# or no network).

.PHONY: setup solo-learn test test-fast lint demo bench clean-venv

$(VENV)/.ready: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip 'setuptools<81' wheel
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e '.[solo,faiss,test,dev]'
	touch $@

setup: $(VENV)/.ready

# Finds or clones solo-learn and installs it into the venv (no-op when already there).
solo-learn: setup
	@PYTHON=$(PY) scripts/install_solo_learn.sh

# Without a solo-learn checkout the unit tier still runs; the integration tier is skipped.
# PYTEST_ARGS goes to pytest (a marker expression, a test file ...).
PYTEST_ARGS ?=
test: setup
	@PYTHON=$(PY) scripts/install_solo_learn.sh || { rc=$$?; [ $$rc -eq 3 ] || exit $$rc; \
	  echo "make test: no solo-learn checkout: the integration tier will be skipped" >&2; }
	$(PY) -m pytest -ra $(PYTEST_ARGS)

# The fast path: every test but those marked slow (over 5 s each on their own).
test-fast:
	@$(MAKE) --no-print-directory test PYTEST_ARGS='-m "not slow"'

# ruff (lint and format check) and mypy; CI runs it before the tests.
LINT_PATHS := solo_tase tests benchmarks scripts
lint: setup
	$(PY) -m ruff check $(LINT_PATHS)
	$(PY) -m ruff format --check $(LINT_PATHS)
	$(PY) -m mypy solo_tase

# Gets solo-learn before the venv is built (stops at once with the commands when it cannot), then
# the demo runs `solo-tase doctor` and stops when the main job cannot run.
demo:
	@PYTHON=$(PYTHON) scripts/install_solo_learn.sh --get
	@$(MAKE) --no-print-directory solo-learn
	$(PY) -m solo_tase.demo

clean-venv:
	rm -rf $(VENV)
