PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test slow lint typecheck unit bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check sfdeclare tests benchmarks
	$(BIN)/ruff format --check sfdeclare tests benchmarks

# The package strictly for Python 3.10 (its oldest); the tests and benchmarks strictly too, for 3.11 (what CI runs),
# in two passes because tests/ and tests/emulator/ each have a conftest.py and import their helpers by bare name.
typecheck: $(STAMP)
	$(BIN)/mypy
	MYPYPATH=tests $(BIN)/mypy --python-version 3.11 --explicit-package-bases --exclude 'tests/emulator/' tests benchmarks
	MYPYPATH=tests/emulator:tests $(BIN)/mypy --python-version 3.11 --explicit-package-bases tests/emulator

# Two workers: most of the suite waits on sockets and child processes, so two cores run it in about half the
# time. Line coverage is measured on every run and may not fall below the floor (measured at 95%).
test: lint typecheck
	$(BIN)/pytest -q -m "not slow" -n 2 --cov --cov-report=term --cov-fail-under=92

# Proofs that take more than a few seconds (a fresh virtual environment, deep property runs): .ci/run runs them
# after `make test`. pytest exits 5 when no test is marked slow; that is not a failure.
slow: $(STAMP)
	$(BIN)/pytest -q -m slow || [ $$? -eq 5 ]

demo: $(STAMP)
	bash examples/demo.sh

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run --apps 100 1000

clean:
	rm -rf $(VENV) build *.egg-info
