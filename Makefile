# Thin wrappers over `python -m model`; each rule names the files it really depends on.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV    ?= .venv
PY      := $(VENV)/bin/python
DATA    ?= data/raw
PRIORS  ?= default
SEED    ?= 20260305
SBC_SIMS ?= 200
SBC_MODELS ?=
MODELS  ?=
SKIP    ?=
DRAWS   ?=
# Processes for leave-one-cycle-out, the runoff forecast, the prior sweep and SBC (1: serial); the numbers are the
# same for any count. SCHEDULER=tcp://host:8786 runs them on a Dask cluster instead (needs the dask extra).
WORKERS ?= 1
SCHEDULER ?=
PARALLEL = --workers $(WORKERS) $(if $(SCHEDULER),--scheduler $(SCHEDULER))
CLEAN   := data/clean
RAW_CSV := $(wildcard $(DATA)/*.csv)
SRC     := $(shell find model -name "*.py")

.PHONY: help setup setup-jax lock data fit iterate report priors models browser test test-slow validate lint bench sbc clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# Exact versions come from requirements.lock (made by `make lock`); the project itself is installed on top without
# resolving anything, and check-lock fails the install unless `pip freeze` is exactly the lock.
$(VENV)/.installed: pyproject.toml requirements.lock scripts/find-python scripts/check-lock
	@py=$$(scripts/find-python) || exit 1; echo "using $$py"; \
	  "$$py" -m venv $(VENV) && $(PY) -m pip install -q --upgrade pip && \
	  $(PY) -m pip install -q -r requirements.lock && \
	  $(PY) -m pip install -q --no-deps -e . && \
	  $(PY) scripts/check-lock --exact
	@echo "compiling the models once (PyTensor keeps the code on disk for every later fit)"
	$(PY) -m model warm
	@touch $@

setup: $(VENV)/.installed ## create .venv with a Python >= 3.12 and install the locked versions + the package

# The optional JAX extra on top of the locked install: pinned packages keep their lock versions (-c), JAX,
# numpyro and blackjax come from pyproject's [jax] ranges. check-lock (without --exact) still passes after it.
setup-jax: $(VENV)/.installed ## add the optional JAX samplers (fit --sampler numpyro|blackjax) to .venv
	$(PY) -m pip install -q -c requirements.lock -e '.[jax]'
	$(PY) -c "import jax, numpyro, blackjax; print('jax', jax.__version__, jax.devices())"

UV_VERSION := 0.13.9
LOCK_TOOLS := .lock-tools
# One lock for every Python >= 3.12 (--universal: markers where a pin differs by platform or version).
# Pins already in requirements.lock are kept unless UPGRADE=1 (then every package goes to its newest allowed version).
lock: ## refresh requirements.lock from pyproject.toml (UPGRADE=1 to move every pin to the newest allowed)
	@test -x $(LOCK_TOOLS)/bin/uv || { py=$$(scripts/find-python) || exit 1; \
	  "$$py" -m venv $(LOCK_TOOLS) && $(LOCK_TOOLS)/bin/python -m pip install -q uv==$(UV_VERSION); }
	$(LOCK_TOOLS)/bin/uv pip compile --quiet pyproject.toml --extra dev --universal --python-version 3.12 \
	  --custom-compile-command "make lock" -o requirements.lock $(if $(UPGRADE),--upgrade)

$(CLEAN)/.built: $(VENV)/.installed $(RAW_CSV) $(SRC)
	$(PY) -m model data --raw $(DATA) --out $(CLEAN) --coverage data/COVERAGE.md
	@touch $@

data: $(CLEAN)/.built ## validate data/raw and build data/clean + data/COVERAGE.md

RUNS    ?= runs
# Empty: figures/ and reports/ for the bundled data, else beside RUNS (a bring-your-own run never overwrites them).
FIGURES ?=
REPORTS ?=
OUT_ARGS = $(if $(FIGURES),--figures $(FIGURES))
STRICT  ?= --strict
FIT_ARGS ?=

# Another DATA dir is validated and built in memory by `fit`; only the bundled data rebuilds data/clean.
FIT_DEPS := $(VENV)/.installed $(if $(filter data/raw,$(DATA)),$(CLEAN)/.built)

# A failed strict check (exit 1) still renders the report, which carries a warning banner, then exits 1; a user
# error (exit 2: bad data, a misspelled prior) writes nothing.
fit: $(FIT_DEPS) ## fit the registered models (MODELS="a b" or main; SKIP="loco forecast sweep unknown"; PRIORS=default|skeptical|literature|file.toml, DATA=dir, WORKERS=n, DRAWS=n)
	@status=0; $(PY) -m model fit --raw $(DATA) --priors $(PRIORS) --seed $(SEED) --runs $(RUNS) $(OUT_ARGS) \
	  $(STRICT) $(if $(MODELS),--models $(MODELS)) $(if $(SKIP),--skip $(SKIP)) $(if $(DRAWS),--draws $(DRAWS)) \
	  $(PARALLEL) $(FIT_ARGS) || status=$$?; \
	  if [ $$status -le 1 ]; then $(PY) -m model report --runs $(RUNS) $(if $(REPORTS),--out $(REPORTS)) || exit $$?; fi; exit $$status

iterate: ## after a priors edit: refit only the main model, without the secondary steps, and re-render the report
	$(MAKE) fit MODELS=main SKIP="loco forecast sweep unknown"

report: $(VENV)/.installed ## render reports/ from the latest run (never refits; skipped when already rendered from the same run, code and data; `.venv/bin/python -m model report --force` renders anyway)
	$(PY) -m model report --runs $(RUNS) $(if $(REPORTS),--out $(REPORTS))

# default.toml is generated from the code's declarative defaults (model/priors.py); tests/test_priors.py fails when
# the committed file differs from what this writes.
priors: $(VENV)/.installed ## regenerate analysis/priors/default.toml from model/priors.py DEFAULT_PRIORS
	$(PY) -m model priors --write-default

models: $(VENV)/.installed ## list the registered models and classical estimators, one line each
	$(PY) -m model models

browser: ## install headless Chromium (Debian package) for the report test, if missing
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	    else echo "no chromium: 'sudo apt-get install chromium' to run the browser test (skipped otherwise)" >&2; fi; }

# Two workers on the 2-core machine (auto: one per core); --dist loadfile keeps a file's shared fixtures (one quick
# fit each) in one worker instead of fitting them once per worker. TEST_WORKERS=0 runs in this process.
TEST_WORKERS ?= auto
test: $(VENV)/.installed browser ## fast test suite (what CI runs; TEST_WORKERS=n processes, default one per core)
	$(PY) -m pytest -q -m "not slow" -n $(TEST_WORKERS) --dist loadfile --durations=15

test-slow: $(VENV)/.installed ## slow checks: SBC (100 sims), recovery (100 datasets), a killed fit, the default strict fit, main-model determinism
	$(PY) -m pytest -q -m slow

# The approximate held-out numbers against exact refits of every fold, date and preset (exit 1 beyond tolerance;
# tables in the exact run's validation-*.csv), then the slow tests, so that marking a test slow never retires it.
validate: $(FIT_DEPS) ## refit every fold, forecast date and prior preset exactly and compare; then make test-slow
	$(PY) -m model fit --raw $(DATA) --priors $(PRIORS) --seed $(SEED) --runs $(RUNS) $(OUT_ARGS) --validate \
	  $(if $(MODELS),--models $(MODELS)) $(if $(DRAWS),--draws $(DRAWS)) $(PARALLEL) $(FIT_ARGS)
	$(MAKE) test-slow

lint: $(VENV)/.installed ## ruff check, ruff format --check, mypy (what CI runs besides the tests)
	$(VENV)/bin/ruff check model tests
	$(VENV)/bin/ruff format --check model tests
	$(VENV)/bin/mypy model

bench: $(CLEAN)/.built ## time each model (nutpie vs PyMC NUTS), cold/warm make fit; writes bench/results.json
	$(PY) -m model.tools.bench --raw $(DATA) --out bench/results.json

sbc: $(CLEAN)/.built ## simulation-based calibration of the registered models (SBC_MODELS="a b" for some; slow)
	$(PY) -m model.evaluation.sbc $(if $(SBC_MODELS),--models $(SBC_MODELS)) --sims $(SBC_SIMS) --seed $(SEED) --out figures --table $(RUNS)/sbc.csv \
	  $(PARALLEL)

clean: ## remove generated runs, figures and reports (keeps data/clean, which is committed)
	rm -rf runs/ figures/*.png reports/
