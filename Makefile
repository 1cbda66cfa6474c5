# socialpulse - every target sets up what it needs; `make demo` and `make test` work on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Test workers (pytest-xdist), one per file at a time: Spark's driver and the test servers
# leave a core idle much of the time, so two workers on two cores finish the suite sooner.
# Each worker starts its own Spark session and test servers; TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= 2
EXTRAS ?= dev

.PHONY: help setup demo test test-fast bench lint format clean check-java
.PHONY: dist spark-archive cluster-up cluster-down bench-scale

help:
	@echo "make demo   - set up, then run the whole system end to end on the embedded default"
	@echo "make test   - set up, then run the test suite"
	@echo "make bench  - benchmarks (results in docs/BENCHMARKS.md)"
	@echo "make lint   - ruff + mypy"
	@echo "make dist   - the socialpulse wheel in dist/ (for spark-submit --py-files)"
	@echo "make spark-archive - dist/socialpulse-env.tar.gz, a packed venv for spark.archives"
	@echo "make cluster-up / cluster-down - a Spark standalone cluster on 127.0.0.1"

check-java:
	@bash scripts/check_java.sh

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	@touch $(STAMP)

# The JVM class archive (socialpulse/jvm_archive.py) makes every later Spark start-up seconds
# faster; built once per JVM + pyspark (about a minute), a no-op after. Not fatal: without it
# Spark only starts slower.
setup: check-java $(STAMP)
	@$(VENV)/bin/socialpulse jvm-archive || echo "note: no JVM class archive; Spark starts without it"

demo: setup
	$(VENV)/bin/socialpulse demo

test: setup
	bash scripts/ensure_test_services.sh
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

test-fast: setup
	$(PY) -m pytest -m "not slow"

bench: setup
	@# bench_recommend_library compares with the `implicit` library on MovieLens-100k from the
	@# `recbole` wheel; neither is a dependency of socialpulse itself.
	$(PY) -m pip install --quiet implicit && $(PY) -m pip install --quiet --no-deps recbole
	$(PY) bench/run_all.py

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

format: setup
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) data spark-warehouse .pytest_cache .mypy_cache .ruff_cache

# -- scale out (docs/DEPLOYMENT.md) -----------------------------------------------------------
DIST := dist
SPARK_ENV := build/spark-env

# The project as one wheel, and the same file as .zip: PySpark puts only .zip/.egg py-files on
# the executors' sys.path (--py-files, SOCIALPULSE_SPARK_PY_FILES).
dist: setup
	rm -f $(DIST)/socialpulse-*.whl $(DIST)/socialpulse-*.zip
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir $(DIST) .
	for w in $(DIST)/socialpulse-*.whl; do cp "$$w" "$${w%.whl}.zip"; done
	@ls -l $(DIST)/socialpulse-*

# Everything executors need (the wheel and all its dependencies) as one relocatable archive for
# spark.archives=dist/socialpulse-env.tar.gz#environment. Executors need Python 3.11 at the path
# this machine has it (a venv links to its base interpreter).
spark-archive: dist
	rm -rf $(SPARK_ENV) $(DIST)/socialpulse-env.tar.gz
	$(PYTHON) -m venv $(SPARK_ENV)
	$(SPARK_ENV)/bin/python -m pip install --quiet $(DIST)/socialpulse-*.whl
	$(VENV)/bin/venv-pack --quiet --prefix $(SPARK_ENV) --output $(DIST)/socialpulse-env.tar.gz
	@ls -l $(DIST)/socialpulse-env.tar.gz

cluster-up: setup
	$(VENV)/bin/socialpulse cluster up

cluster-down: setup
	$(VENV)/bin/socialpulse cluster down

bench-scale: setup
	$(PY) bench/run_all.py scale
