# Two commands for a fresh machine: `make run` and `make test` (both bootstrap .venv themselves).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test test-quick lint bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e .
	touch $@

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[test]'
	touch $@

run: $(STAMP)
	$(BIN)/frontdesk serve

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy --strict src/frontdesk

test: lint
	$(BIN)/python -m pytest -q

test-quick: $(TEST_STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(TEST_STAMP)
	$(BIN)/python benchmarks/pingpong.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
