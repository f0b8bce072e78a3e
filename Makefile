# Two commands: `make demo` and `make test`. Both create .venv from nothing; `make test` also
# installs and starts PostgreSQL (scripts/postgres.sh, as root) for the tests, and stops it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR := demo-workspace

.PHONY: demo test lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-core: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed-core

demo: $(VENV)/.installed-core
	mkdir -p $(DEMO_DIR)
	cd $(DEMO_DIR) && ../$(BIN)/python ../examples/seed_walkthrough.py
	cd $(DEMO_DIR) && ../$(BIN)/runyard runs list --include-children

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# Starts the services the tests use (PostgreSQL, an S3 server), runs pytest, stops them.
pytest: $(VENV)/.installed-dev
	PYTEST=$(BIN)/pytest scripts/run-tests.sh

test: lint typecheck pytest

# Benchmarks get their own venv (MLflow and its dependencies stay out of .venv).
# `make bench BENCH_ARGS='--points 200000'` passes options on to log_throughput.py, and
# `INGEST_ARGS='--no-mlflow'` to server_ingest.py, `CREATE_ARGS='--runs 500'` to
# run_creation.py; results also go to bench/.work/.
BENCH_VENV := .venv-bench
BENCH_BIN := $(BENCH_VENV)/bin
BENCH_ARGS ?=
INGEST_ARGS ?=
CREATE_ARGS ?=

$(BENCH_BIN)/python:
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_BIN)/pip install --quiet --upgrade pip

$(BENCH_VENV)/.installed-bench: pyproject.toml | $(BENCH_BIN)/python
	$(BENCH_BIN)/pip install --quiet -e '.[bench,server]'
	touch $@

bench: $(BENCH_VENV)/.installed-bench
	mkdir -p bench/.work
	$(BENCH_BIN)/python bench/log_throughput.py --json bench/.work/log_throughput.json $(BENCH_ARGS)
	$(BENCH_BIN)/python bench/server_ingest.py --json bench/.work/server_ingest.json $(INGEST_ARGS)
	$(BENCH_BIN)/python bench/run_creation.py --json bench/.work/run_creation.json $(CREATE_ARGS)

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
