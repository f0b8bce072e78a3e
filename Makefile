# Two commands: `make demo` and `make test`. Both create .venv from nothing; `make test` also
# installs and starts PostgreSQL (scripts/postgres.sh, as root) for the tests, and stops it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR := demo-workspace
# `make demo` ends by serving the web UI on the demo workspace (until Ctrl-C); `make demo UI=0`
# stops after the walkthrough (scripted use). UI_ARGS go to `runyard ui` (`UI_ARGS=` opens a
# browser, `UI_ARGS='--no-browser --port 8765'` a fixed port).
UI ?= 1
UI_ARGS ?= --no-browser

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

# The UI needs the server extra (FastAPI, uvicorn, Jinja2, Plotly).
$(VENV)/.installed-server: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[server]'
	touch $@ $(VENV)/.installed-core

demo: $(if $(filter 0,$(UI)),$(VENV)/.installed-core,$(VENV)/.installed-server)
	mkdir -p $(DEMO_DIR)
	@# Its own workspace: from_config() would otherwise put it at the top of this git checkout.
	cd $(DEMO_DIR) && ../$(BIN)/python -c "import runyard; runyard.Workspace.create('.').close()"
	cd $(DEMO_DIR) && ../$(BIN)/python ../examples/seed_walkthrough.py
	cd $(DEMO_DIR) && ../$(BIN)/runyard runs list --include-children
ifneq ($(UI),0)
	@echo "Serving the web UI on the demo workspace: open the address below; Ctrl-C stops it."
	cd $(DEMO_DIR) && ../$(BIN)/runyard ui $(UI_ARGS)
endif

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# Starts the services the tests use (PostgreSQL, an S3 server), runs pytest, stops them.
# Two pytest workers (pytest-xdist), a test file each at a time (its module-scoped servers stay
# one per file): most tests wait on subprocesses, servers and the browser, so two workers
# halve the wall time on two cores. `make pytest PYTEST_ARGS=` runs them one at a time.
PYTEST_ARGS ?= -n 2 --dist loadfile
pytest: $(VENV)/.installed-dev
	PYTEST=$(BIN)/pytest scripts/run-tests.sh $(PYTEST_ARGS)

test: lint typecheck pytest

# Benchmarks get their own venv (MLflow and its dependencies stay out of .venv).
# `make bench BENCH_ARGS='--points 200000'` passes options on to log_throughput.py,
# `INGEST_ARGS='--no-mlflow'` to server_ingest.py, `CREATE_ARGS='--runs 500'` to run_creation.py,
# `QUERY_ARGS='--sizes 1000,10000'` to run_queries.py and `MLFLOW_API_ARGS='--workers 1'` to
# mlflow_api.py; results also go to bench/.work/.
# run_queries.py builds its run populations once (the 10,000 MLflow runs take about 8 minutes)
# and keeps them in bench/.work/run_queries/.
BENCH_VENV := .venv-bench
BENCH_BIN := $(BENCH_VENV)/bin
BENCH_ARGS ?=
INGEST_ARGS ?=
QUERY_ARGS ?=
CREATE_ARGS ?=
MLFLOW_API_ARGS ?=

$(BENCH_BIN)/python:
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_BIN)/pip install --quiet --upgrade pip

$(BENCH_VENV)/.installed-bench: pyproject.toml | $(BENCH_BIN)/python
	$(BENCH_BIN)/pip install --quiet -e '.[bench,server,pandas]'
	touch $@

bench: $(BENCH_VENV)/.installed-bench
	mkdir -p bench/.work
	$(BENCH_BIN)/python bench/log_throughput.py --json bench/.work/log_throughput.json $(BENCH_ARGS)
	$(BENCH_BIN)/python bench/server_ingest.py --json bench/.work/server_ingest.json $(INGEST_ARGS)
	$(BENCH_BIN)/python bench/run_creation.py --json bench/.work/run_creation.json $(CREATE_ARGS)
	$(BENCH_BIN)/python bench/run_queries.py --json bench/.work/run_queries.json $(QUERY_ARGS)
	$(BENCH_BIN)/python bench/mlflow_api.py --json bench/.work/mlflow_api.json $(MLFLOW_API_ARGS)

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
