# solo-tase: `make demo` runs the main job on Digits-LT, `make test` runs the test suite.
# Both create ./.venv on first use (torch 2.14.1 / torchvision 0.29.1 and the plugin's extras).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# A solo-learn checkout (v1.0.6, commit 9187ea3): github.com/vturrisi/solo-learn
SOLO_LEARN_DIR ?= $(firstword $(wildcard ./solo-learn ../solo-learn))
export SOLO_LEARN_DIR

.PHONY: setup solo-learn test demo bench clean-venv

$(VENV)/.ready: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip 'setuptools<81' wheel
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e '.[solo,faiss,test]'
	touch $@

setup: $(VENV)/.ready

# Installs solo-learn from the checkout in SOLO_LEARN_DIR into the venv (no-op when already there).
solo-learn: setup
	@PYTHON=$(PY) scripts/install_solo_learn.sh

test: setup
	@if [ -n "$(SOLO_LEARN_DIR)" ]; then PYTHON=$(PY) scripts/install_solo_learn.sh; fi
	$(PY) -m pytest -ra

demo:
	@PYTHON=$(PYTHON) scripts/install_solo_learn.sh --check
	@$(MAKE) --no-print-directory solo-learn
	$(PY) -m solo_tase.demo

clean-venv:
	rm -rf $(VENV)
