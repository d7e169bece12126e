# Every target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install check lint test demo serve simulate schema clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

## check: lint, type-check and run every test (what CI runs)
check: lint test

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install
	scripts/ensure-chromium
	scripts/ensure-npm-packages
	$(BIN)/pytest

## demo: simulators with seeded data + the gateway; GraphiQL on http://127.0.0.1:8000/graphql
demo: install
	$(BIN)/meetings-gateway demo

## serve: the gateway against the upstreams configured by GATEWAY_* variables
serve: install
	$(BIN)/meetings-gateway serve

## schema: regenerate schema.graphql (client SDL) and subgraph.graphql (federation) from the code
schema: install
	$(BIN)/meetings-gateway export-schema > schema.graphql
	$(BIN)/meetings-gateway export-schema --federation > subgraph.graphql

## simulate: the five upstream simulators on 127.0.0.1, until Ctrl-C
simulate: install
	$(BIN)/meetings-gateway simulate

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
