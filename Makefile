# spikefab: `make demo` (the main job) and `make test` (the whole suite) set everything up
# themselves. Other targets: `make bench`, `make coverage`, `make digits`, `make coding`,
# `make lsm`, `make nir-digits`, `make demo-net NET=...`, `make check NET=...`, `make clean`.
PYTHON ?= python3
VENV ?= .venv
NET ?= examples/demo.toml
# pytest workers; the machine this is made for has 2 cores
JOBS ?= 2
PYTEST_ARGS ?=

BIN := $(VENV)/bin

.PHONY: all setup demo demo-net test test-slow bench check digits coding lsm verilog bitstream \
	nir-digits report flash fingerprint coverage clean

all: demo

setup:
	@PYTHON=$(PYTHON) VENV=$(VENV) ./scripts/bootstrap

# The main job: the digits network learned (or loaded), checked on the simulated iCEBreaker
# over the host link against the golden model, its bitstream built; PORT=/dev/ttyUSBx runs
# it on a real board (flashed first).
demo: setup
	$(BIN)/python examples/digits/demo.py $(if $(PORT),--port $(PORT))

# The golden-model demo of any network file: summary and raster plot
demo-net: setup
	$(BIN)/spikefab demo $(NET)

# Verilog of a network: build/verilog/<name>/ (one population: a core; several: the network top)
verilog: NET = examples/core.toml
LANES ?= 1
verilog: setup
	$(BIN)/spikefab generate $(NET) --lanes $(LANES)

# Bitstream for a board: build/<board>/ (NET: a network file; default the board's own network)
BOARD ?= icebreaker
bitstream: NET =
bitstream: setup
	$(BIN)/spikefab build $(NET) --board $(BOARD)

# Utilisation and Fmax of every board, and each default network placed with seeds 1..SEEDS
# (the margin table), written to docs/boards.md; builds and placements are reused while the
# design is unchanged (a full sweep from scratch: 30-45 minutes on 2 cores)
SEEDS ?= 5
report: setup
	$(BIN)/spikefab report --seeds $(SEEDS) --jobs $(JOBS)

flash: setup
	$(BIN)/spikefab flash --board $(BOARD) $(if $(DRY_RUN),--dry-run)

check: setup
	$(BIN)/spikefab check $(NET)

# The default suite: every tier but the long sweeps and synthesis (under 10 minutes). Both
# tiers end with their 20 slowest tests, so a run that creeps towards CI's time limit says why.
test: setup
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup -m "not slow and not synth" --durations=20 $(PYTEST_ARGS)

# The long sweeps (random networks, 2,000-step runs, fuzzing) and the synthesis and
# place-and-route tests against the Fmax floors. CI runs these after `make test`.
test-slow: setup
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup -m "slow or synth" --durations=20 $(PYTEST_ARGS)

# Digits learned by the chip's own rules in the golden model, against baselines: unsupervised
# STDP with adaptive thresholds (and accuracy against neurons), then a readout learned by
# reward-modulated STDP; a slice of each training replayed on the simulated board (identical
# spikes and weights); build/digits/result.json and docs/benchmarks.md (about 12 minutes).
DIGITS_UNSUPERVISED = --neurons 200 --epochs 1 --theta-inc 128
digits: setup
	$(BIN)/python examples/digits/digits.py $(DIGITS_UNSUPERVISED) --scaling 50,100,200,256 \
		--write docs/benchmarks.md
	$(BIN)/python examples/digits/readout.py --write docs/benchmarks.md

# A liquid state machine: a seeded recurrent E/I liquid for the iCEBreaker, ridge readouts on
# the host, three tasks against two baselines, a slice on the simulated board (a few minutes)
lsm: setup
	$(BIN)/python examples/lsm/lsm.py --write docs/lsm.md

# Every spike coding on the digits (the same 64 -> 10 LIF network, its readout trained per
# code), measured in the golden model and on a slice of the simulated iCEBreaker; written to
# docs/coding.md (about 15 s on a quiet 2-core machine, minutes under load)
coding: setup
	$(BIN)/python examples/coding/compare.py --write docs/coding.md

# A network trained elsewhere: the Spyx digits classifier of examples/nir_digits/digits.nir
# imported from NIR, float against quantised accuracy, its iCEBreaker bitstream, a slice of the
# test set on the simulated board (every spike equal to the golden model); written to
# build/nir_digits/result.json and docs/nir.md (retraining: examples/nir_digits/train.py, which
# needs `.venv/bin/pip install -e .[train]`)
nir-digits: setup
	$(BIN)/python examples/nir_digits/nir_digits.py --write docs/nir.md

bench: setup
	$(BIN)/python bench/bench_golden.py --write docs/benchmarks.md
	$(BIN)/python bench/bench_core.py
	$(BIN)/python bench/bench_network.py
	$(BIN)/python bench/bench_rtl.py --write docs/benchmarks.md
	$(BIN)/python bench/bench_link.py --write docs/benchmarks.md
	$(BIN)/python bench/bench_faults.py --write docs/benchmarks.md

# Gateware coverage of the RTL regression (Verilator line, branch and toggle coverage by
# module, the uncovered lines listed), written to docs/coverage.md; about 8 minutes from
# scratch (21 coverage builds), 2-3 minutes with the builds cached
coverage: setup
	$(BIN)/python scripts/coverage.py --write docs/coverage.md

# What a refactoring must not change: every step's cycle count of a fixed run and the
# flattened cell counts of the examples (1 and 2 lanes) and of every board's default network
# (scripts/fingerprint.py, about 25 minutes). Record before, record after, then
# `python scripts/fingerprint.py compare BEFORE.json AFTER.json`.
FP ?= build/fingerprint.json
fingerprint: setup
	$(BIN)/python scripts/fingerprint.py record $(FP)

clean:
	rm -rf build .pytest_cache .hypothesis
