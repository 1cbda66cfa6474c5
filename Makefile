# socialpulse - every target sets up what it needs; `make demo` and `make test` work on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS ?= dev

.PHONY: help setup demo test test-fast bench lint format clean check-java

help:
	@echo "make demo   - set up, then run the whole system end to end on the embedded default"
	@echo "make test   - set up, then run the test suite"
	@echo "make bench  - benchmarks (results in docs/BENCHMARKS.md)"
	@echo "make lint   - ruff + mypy"

check-java:
	@bash scripts/check_java.sh

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	@touch $(STAMP)

setup: check-java $(STAMP)

demo: setup
	$(VENV)/bin/socialpulse demo

test: setup
	bash scripts/ensure_test_services.sh
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not slow"

bench: setup
	$(PY) bench/run_all.py

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) data spark-warehouse .pytest_cache .mypy_cache .ruff_cache
