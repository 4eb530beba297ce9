# tempoforge: every target sets itself up (creates .venv, installs torch first, then the project).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.tempoforge-installed
TORCH := torch==2.13.0
# every other dependency of the dev install, pinned (pip-compile output; `make lock` renews it)
LOCK := requirements.lock
EXTRAS := dev,eval,bench,ray,transnet
LATEST_VENV ?= .venv-latest
# pip's config on some machines lists local index folders that do not exist; hide that noise only
QUIET_PIP := grep -v "^WARNING: Location '.*' is ignored" || true

.PHONY: help install lock test test-latest test-integration test-all demo bench gpu-suite lint clean

help:
	@echo "make demo   - set up, then run the main job end to end on TempoWorld with a tiny model"
	@echo "make test   - set up, then run the default test suite"
	@echo "make test-integration - the slower end-to-end tests (2-process training, Ray, ...)"
	@echo "make bench  - speed/memory benchmarks against the tools users would otherwise use"
	@echo "make gpu-suite - on a CUDA GPU: the unattended <= 8 min suite (benchmarks/gpu_suite.sh)"
	@echo "make lint   - ruff + mypy"
	@echo "make install - create $(VENV) and install exactly $(LOCK) (quick when nothing changed)"
	@echo "make lock   - renew $(LOCK) with the newest releases pyproject.toml allows (then run make test)"
	@echo "make test-latest - the default suite in $(LATEST_VENV) against the newest releases (no upper bounds)"

install: $(STAMP)

$(STAMP): pyproject.toml $(LOCK)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c 'import sys; assert sys.version_info >= (3, 11), "tempoforge needs Python >= 3.11"'
	@echo "installing $(TORCH) (CPU build where available) ..."
	@$(PIP) install -q --disable-pip-version-check "$(TORCH)" 2>&1 | $(QUIET_PIP)
	@echo "installing the locked dependencies ($(LOCK)) and tempoforge ..."
	@$(PIP) install -q --disable-pip-version-check -r $(LOCK) "$(TORCH)" 2>&1 | $(QUIET_PIP)
	@$(PIP) install -q --disable-pip-version-check --no-deps --no-build-isolation -e . 2>&1 | $(QUIET_PIP)
	@$(PY) -c 'import torch, tempoforge; assert torch.__version__.startswith("2.13.0"), torch.__version__'
	@touch $(STAMP)

# Renew the lock: newest releases within pyproject.toml's ranges, torch left to the line above (its build is
# machine-specific). Commit requirements.lock together with the change that needed it.
lock:
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PIP) install -q --disable-pip-version-check "pip-tools>=7.4" 2>&1 | $(QUIET_PIP)
	$(VENV)/bin/pip-compile --quiet --upgrade --strip-extras --extra $(EXTRAS) --unsafe-package torch \
		--no-emit-index-url --no-emit-find-links --no-emit-trusted-host -o $(LOCK) pyproject.toml

# The newest upstream releases (upper bounds lifted, torch pinned) in a separate venv: run it to learn early
# when a release breaks us; not part of CI.
test-latest:
	@test -x $(LATEST_VENV)/bin/python || $(PYTHON) -m venv $(LATEST_VENV)
	@$(LATEST_VENV)/bin/python -m pip install -q --disable-pip-version-check "$(TORCH)" packaging 2>&1 | $(QUIET_PIP)
	@$(LATEST_VENV)/bin/python .ci/latest_requirements.py $(EXTRAS) > $(LATEST_VENV)/latest.txt
	@$(LATEST_VENV)/bin/python -m pip install -q --disable-pip-version-check --upgrade -r $(LATEST_VENV)/latest.txt 2>&1 | $(QUIET_PIP)
	@$(LATEST_VENV)/bin/python -m pip install -q --disable-pip-version-check --no-deps -e . 2>&1 | $(QUIET_PIP)
	@$(LATEST_VENV)/bin/python -m pip list --format=freeze 2>/dev/null | grep -iE '^(transformers|trl|peft|accelerate|datasets|tokenizers|av)==' | tr '\n' ' '; echo
	$(LATEST_VENV)/bin/python -m pytest -q

test: install
	$(PY) -m pytest -q

test-integration: install
	$(PY) -m pytest -q -m integration || { rc=$$?; [ $$rc -eq 5 ] && echo "no integration tests yet"; }

test-all: install
	$(PY) -m pytest -q -m "integration or not integration"

demo: install
	$(VENV)/bin/tempoforge demo

bench: install
	@for b in benchmarks/*.py; do [ "$$b" = benchmarks/gpu_suite.py ] && continue; echo "== $$b"; $(PY) $$b; done

# the one unattended run for a CUDA GPU (<= 8 minutes): JSON + markdown summary under runs/gpu_suite_<date>
gpu-suite: install
	PY=$(PY) benchmarks/gpu_suite.sh

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) $(LATEST_VENV) .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info
