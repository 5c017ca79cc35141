"""cocotb tests of the generated router Verilog on Icarus and Verilator.

The testbench (``tests/cocotb_router/tb_router.py``) applies random valid/ready stalls on every
port and checks every transfer against the multiset scoreboard shared with the Amaranth-simulator
tests. The design is compiled and run through :mod:`spikefab.sim.runner` (the library's one
cocotb path) inside the test's own build folder (``build/tests/test_hdl_router_rtl/<test id>``),
so ``pytest -n 2`` is safe; ``WAVES=1`` writes waveforms there.
"""

import numpy as np
import pytest
from amaranth.back import verilog

from spikefab.hdl.router import Router
from spikefab.shape.latency import QUEUE_LATENCY, ROUTE_LATENCY
from spikefab.shape.router import RouterParams, TableSpace
from spikefab.sim.runner import compile_design, run_job

from .cocotb_router.stimulus import random_params, random_steps, uniform_params

TOP = "spikefab_router"


def run_rtl(p, steps, seed, sim, valid_prob, ready_prob, build_root, writes=None, name="run",
            model=None):
    """Run the cocotb router job on ``p``'s generated router (compiled in ``build_root``,
    reused while its Verilog is unchanged); return its figures or raise its first failure."""
    text = verilog.convert(Router(p), name=TOP, emit_src=False)
    runner, bdir = compile_design(text, TOP, sim, build_root)
    job = {"params": p, "steps": steps, "seed": seed, "valid_prob": valid_prob,
           "ready_prob": ready_prob, "writes": writes or {}, "model": model}
    return run_job(runner, bdir, "tests.cocotb_router.tb_router", TOP, job, sim, name)


def _writes(p, seed):
    rng = np.random.default_rng([seed, 15])
    ws = [(TableSpace.DESTINATION, int(rng.integers(0, p.entries)),
           (int(rng.integers(0, p.cores + 1)), int(rng.integers(0, 1 << p.index_bits))))
          for _ in range(5)]
    ws.append((TableSpace.POINTER, 0, (0, p.entries)))
    return {2: ws}


@pytest.mark.seed(21)
def test_router_rtl_random_stalls(simulator, seed, build_dir):
    """Random table (fan-out 0..4, cores and host), 4 steps with random valid/ready stalls, a
    table rewrite before step 2 that multicasts host channel 0 to the whole table."""
    p = random_params(seed, max_cores=3)
    steps = random_steps(seed, p, 4)
    steps[2]["host"] = [0] + [c for c in steps[2]["host"] if c != 0]
    fig = run_rtl(p, steps, seed, simulator, 0.6, 0.5, build_dir, writes=_writes(p, seed))
    assert fig["delivered"] >= p.entries and fig["sources"] > 0


def test_router_rtl_throughput(simulator, build_dir):
    """Every input valid, every output ready, fan-out 2: one event per clock after the
    pipeline fills (the Amaranth-simulator figure, on the generated Verilog)."""
    p = uniform_params(16, (12, 12), 2)
    steps = [{"host": list(range(16)), "spikes": [[], []]},
             {"host": [], "spikes": [list(range(12)), list(range(12))]}]
    fig = run_rtl(p, steps, 0, simulator, 1.0, 1.0, build_dir, name="throughput")
    assert fig["clocks"] == [32 + ROUTE_LATENCY, 48 + ROUTE_LATENCY + QUEUE_LATENCY]


def test_router_rtl_scoreboard_catches_a_wrong_table(simulator, build_dir):
    """The testbench can fail: the hardware's table differs from the scoreboard's."""
    seed = 21          # its first pointer has a destination (asserted below)
    p = random_params(seed, max_cores=3)
    steps = random_steps(seed, p, 1, input_rate=1.0, spike_rate=1.0)
    # destination 0 differs between the hardware and the scoreboard's model
    port, index = p.destinations[0]
    hw = RouterParams(inputs=p.inputs, core_neurons=p.core_neurons, entries=p.entries,
                      index_bits=p.index_bits, step_bits=p.step_bits, pointers=p.pointers,
                      destinations=[(port, index ^ 1)] + list(p.destinations[1:]))
    assert any(b == 0 and n for b, n in p.pointers)
    with pytest.raises(AssertionError, match=r"^seed 21: (clock \d+: delivered .* which no "
                                             r"source event asked for|end of step 0: 1 events "
                                             r"never delivered)"):
        run_rtl(hw, steps, seed, simulator, 1.0, 1.0, build_dir, name="wrong", model=p)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 106))
def test_router_rtl_sweep(simulator, seed, build_dir):
    p = random_params(seed, max_cores=4, max_neurons=8, max_fanout=5)
    rng = np.random.default_rng([seed, 14])
    valid_prob, ready_prob = (float(x) for x in rng.uniform(0.2, 1.0, size=2))
    run_rtl(p, random_steps(seed, p, 5), seed, simulator, valid_prob, ready_prob, build_dir,
            name=f"s{seed}")
