# Thin wrappers over `python -m model`; each rule names the files it really depends on.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV    ?= .venv
PY      := $(VENV)/bin/python
DATA    ?= data/raw
PRIORS  ?= default
SEED    ?= 20260305
CLEAN   := data/clean
RAW_CSV := $(wildcard $(DATA)/*.csv)
SRC     := $(wildcard model/*.py)

.PHONY: help setup data fit report test test-slow lint bench clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml scripts/find-python
	@py=$$(scripts/find-python) || exit 1; echo "using $$py"; \
	  "$$py" -m venv $(VENV) && $(PY) -m pip install -q --upgrade pip && \
	  $(PY) -m pip install -q -e '.[dev]'
	@touch $@

setup: $(VENV)/.installed ## create .venv with a Python >= 3.12 and install the package + dev tools

$(CLEAN)/.built: $(VENV)/.installed $(RAW_CSV) $(SRC)
	$(PY) -m model data --raw $(DATA) --out $(CLEAN) --coverage data/COVERAGE.md
	@touch $@

data: $(CLEAN)/.built ## validate data/raw and build data/clean + data/COVERAGE.md

fit: data ## fit all models with PRIORS=default|skeptical|literature|path.toml, write runs/, figures/, reports/
	$(PY) -m model fit --clean $(CLEAN) --priors $(PRIORS) --seed $(SEED)

report: $(VENV)/.installed ## re-render the report from the latest run (no refit)
	$(PY) -m model report

test: $(VENV)/.installed ## fast test suite (what CI runs)
	$(PY) -m pytest -q -m "not slow"

test-slow: $(VENV)/.installed ## slow statistical checks (parameter recovery at full size, SBC)
	$(PY) -m pytest -q -m slow

lint: $(VENV)/.installed ## ruff
	$(VENV)/bin/ruff check model tests analysis
	$(VENV)/bin/ruff format --check model tests analysis

bench: data ## time each model under nutpie and PyMC NUTS; writes bench/results.json
	$(PY) -m model bench --clean $(CLEAN) --out bench/results.json --seed $(SEED)

clean: ## remove generated runs, figures and reports (keeps data/clean, which is committed)
	rm -rf runs/*/ figures/*.png figures/*.svg reports/*.html reports/*.md
