# spikefab: `make demo` (the main job) and `make test` (the whole suite) set everything up
# themselves. Other targets: `make bench`, `make digits`, `make check NET=...`, `make clean`.
PYTHON ?= python3
VENV ?= .venv
NET ?= examples/demo.toml
# pytest workers; the machine this is made for has 2 cores
JOBS ?= 2
PYTEST_ARGS ?=

BIN := $(VENV)/bin

.PHONY: all setup demo test test-fast bench check digits verilog clean

all: demo

setup:
	@PYTHON=$(PYTHON) VENV=$(VENV) ./scripts/bootstrap

demo: setup
	$(BIN)/spikefab demo $(NET)

# Verilog of one neuron core: build/verilog/<name>/ (NET must have one population for now)
verilog: NET = examples/core.toml
LANES ?= 1
verilog: setup
	$(BIN)/spikefab generate $(NET) --lanes $(LANES)

check: setup
	$(BIN)/spikefab check $(NET)

# The whole suite, slow sweeps and synthesis included: what CI runs.
test: setup
	$(BIN)/python -m pytest -n $(JOBS) $(PYTEST_ARGS)

# Everything but the slow sweeps and synthesis, for the edit-test loop.
test-fast: setup
	$(BIN)/python -m pytest -n $(JOBS) -m "not slow and not synth" $(PYTEST_ARGS)

# Unsupervised STDP learning of 8x8 digits in the golden model, against baselines.
digits: setup
	$(BIN)/python examples/digits/digits.py --write docs/benchmarks.md

bench: setup
	$(BIN)/python bench/bench_golden.py --write docs/benchmarks.md
	$(BIN)/python bench/bench_core.py

clean:
	rm -rf build .pytest_cache .hypothesis
