# Every target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install check lint test simulate clean

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
	$(BIN)/pytest

## simulate: the five upstream simulators on 127.0.0.1, until Ctrl-C
simulate: install
	$(BIN)/meetings-gateway simulate

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
