# spikefab: `make demo` (the main job) and `make test` (the whole suite) set everything up
# themselves. Other targets: `make bench`, `make check NET=...`, `make clean`.
PYTHON ?= python3
VENV ?= .venv
NET ?= examples/demo.toml
# pytest workers; the machine this is made for has 2 cores
JOBS ?= 2
PYTEST_ARGS ?=

BIN := $(VENV)/bin

.PHONY: all setup demo test test-fast bench check clean

all: demo

setup:
	@PYTHON=$(PYTHON) VENV=$(VENV) ./scripts/bootstrap

demo: setup
	$(BIN)/spikefab demo $(NET)

check: setup
	$(BIN)/spikefab check $(NET)

# The whole suite, slow sweeps and synthesis included: what CI runs.
test: setup
	$(BIN)/python -m pytest -n $(JOBS) $(PYTEST_ARGS)

# Everything but the slow sweeps and synthesis, for the edit-test loop.
test-fast: setup
	$(BIN)/python -m pytest -n $(JOBS) -m "not slow and not synth" $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/bench_golden.py --write docs/benchmarks.md

clean:
	rm -rf build .pytest_cache .hypothesis
