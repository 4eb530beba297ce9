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
# pip's config on some machines lists local index folders that do not exist; hide that noise only
QUIET_PIP := grep -v "^WARNING: Location '.*' is ignored" || true

.PHONY: help install test test-integration test-all demo bench lint clean

help:
	@echo "make demo   - set up, then run the main job end to end on TempoWorld with a tiny model"
	@echo "make test   - set up, then run the default test suite"
	@echo "make test-integration - the slower end-to-end tests (2-process training, Ray, ...)"
	@echo "make bench  - speed/memory benchmarks against the tools users would otherwise use"
	@echo "make lint   - ruff + mypy"
	@echo "make install - create $(VENV) and install (quick when nothing changed)"

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -c 'import sys; assert sys.version_info >= (3, 11), "tempoforge needs Python >= 3.11"'
	@echo "installing $(TORCH) (CPU build where available) ..."
	@$(PIP) install -q --disable-pip-version-check "$(TORCH)" 2>&1 | $(QUIET_PIP)
	@echo "installing tempoforge with its dev, eval, bench, ray and transnet extras ..."
	@$(PIP) install -q --disable-pip-version-check -e ".[dev,eval,bench,ray,transnet]" "$(TORCH)" 2>&1 | $(QUIET_PIP)
	@$(PY) -c 'import torch, tempoforge; assert torch.__version__.startswith("2.13.0"), torch.__version__'
	@touch $(STAMP)

test: install
	$(PY) -m pytest -q

test-integration: install
	$(PY) -m pytest -q -m integration || { rc=$$?; [ $$rc -eq 5 ] && echo "no integration tests yet"; }

test-all: install
	$(PY) -m pytest -q -m "integration or not integration"

demo: install
	$(VENV)/bin/tempoforge demo

bench: install
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b; done

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info
