# Crossdock: two commands for a newcomer — `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | sha256sum | cut -c1-12)

.PHONY: setup run test test-fast lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev]'
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

## Start the hub on the embedded default (SQLite under ./var, http://127.0.0.1:8400)
run: setup
	$(BIN)/crossdock db upgrade
	$(BIN)/crossdock serve

## Run every test (SQLite and PostgreSQL; services must be up, see .ci/run). The chaos suite
## restarts a PostgreSQL server and a RabbitMQ node of its own, so it runs beside the rest.
## The 15 slowest tests are listed at the end: the whole suite must stay under 20 minutes.
test: setup
	$(BIN)/pytest -n 2 --dist loadgroup --durations=15 $(PYTEST_ARGS)

test-fast: setup
	$(BIN)/pytest -n 2 --dist loadgroup -m "not slow" $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check canonical connectors mappings pipelines deadletter hub tests benchmarks
	$(BIN)/mypy canonical connectors mappings pipelines deadletter hub
	$(BIN)/lint-imports

bench: setup
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
