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

# Three workers on two cores: most of the suite waits on sockets and child processes, so the cores stay busy.
test: lint typecheck
	$(BIN)/pytest -q -m "not slow" -n 3

# The whole suite with the proofs that take more than a few seconds (a fresh virtual environment and a release
# build, deep property runs, every soak seed), under line coverage with a floor (95% measured; measuring it
# costs about a third more CPU, which would push `make test` past its minute). .ci/run runs it after `make test`.
slow: $(STAMP)
	$(BIN)/pytest -q -n 3 --cov --cov-report=term --cov-fail-under=92

demo: $(STAMP)
	bash examples/demo.sh

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run --apps 100 1000

clean:
	rm -rf $(VENV) build *.egg-info
