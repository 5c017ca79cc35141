"""cocotb tests of the generated core Verilog on Icarus and Verilator, against the golden model.

The ``TB`` (``spikefab.sim.cocotb.core``) checks every spike transfer at the clock it happens,
``u``/``v``/``r`` of every neuron after every step through the readback port, and every step's
cycle count against ``spikefab.hdl.core.step_cycles``; here the returned arrays are compared
once more with ``spikefab.golden.simulate``. ``WAVES=1`` writes waveforms into the build
folder (``build/rtl/<sim>/<hash>-waves/run-*``).
"""

import numpy as np
import pytest

from spikefab.golden import load, simulate
from spikefab.shape.latency import step_cycles
from spikefab.shape.core import CoreParams
from spikefab.sim.rtl import run_job, simulate_rtl

from .compare import assert_same_run
from .hdl_support import core_lanes, core_network, single_core_network
from .netgen import random_inputs

# Readable parameter sets: (seed, lanes, backpressure, configure through the port)
CASES = {
    "seed3-l2-bp-cfg": (3, 2, 0.5, True),
    "seed11-l1-bp": (11, 1, 0.4, False),
    "seed5-l3-nobp": (5, 3, 1.0, False),
}


@pytest.mark.parametrize("case", list(CASES))
def test_core_rtl_matches_golden(simulator, case):
    seed, lanes, ready, configure = CASES[case]
    net = core_network(seed)
    x = random_inputs(seed, net, 10)
    got = simulate_rtl(net, x, record_state=True, sim=simulator, lanes=lanes, check=True,
                       seed=seed, ready_prob=ready, configure=configure, shuffle=True)
    assert_same_run(got, simulate(net, x, record_state=True), seed)


def test_core_rtl_cycles_formula(simulator):
    """All neurons spike every step (one spiking lane per row, no backpressure): every step
    costs exactly ``2 * [E > 0] + rows * (E + 1) + UPDATE_LATENCY`` clocks."""
    net = single_core_network("busy", 9, 5, np.full((5, 9), 60), threshold=50,
                              recurrent=np.eye(9, dtype=int))
    x = np.zeros((5, 5), np.uint8)
    x[1:] = 1
    got = simulate_rtl(net, x, sim=simulator, lanes=1, check=True, seed=0)
    p = CoreParams.from_network(net)
    events = [0, 5, 5 + 9, 5 + 9, 5 + 9]
    assert list(got.cycles) == [step_cycles(p, e) for e in events]
    assert list(got.cycles) == [9 + 15, 2 + 9 * 6 + 15] + [2 + 9 * 15 + 15] * 3


def test_simulate_rtl_rejects_what_one_core_cannot_run():
    with pytest.raises(ValueError, match=r"^RTL simulation runs networks of one population "
                                         r"\(one core\), not 2$"):
        simulate_rtl(load("examples/demo.toml"), np.zeros((1, 16), np.uint8))
    net = single_core_network("x", 3, 2, np.ones((2, 3), int))
    with pytest.raises(ValueError, match=r"^Simulator must be one of icarus, verilator, "
                                         r"not 'modelsim'$"):
        simulate_rtl(net, np.zeros((1, 2), np.uint8), sim="modelsim")


def test_rtl_failure_names_step_neuron_field_and_seed(simulator):
    """The checker can fail: hardware generated with weights 50, golden model with weights 0;
    the first spike transfer must be reported with step, field, both values and the seed."""
    hw_net = single_core_network("f", 4, 2, np.full((2, 4), 50), threshold=30)
    golden_net = single_core_network("f", 4, 2, np.zeros((2, 4), int), threshold=30)
    job = {"net": golden_net, "inputs": np.ones((3, 2), bool), "lanes": 1, "check": True,
           "seed": 77}
    with pytest.raises(AssertionError, match=r"^seed 77: step 0, field spike #0: got neuron 0, "
                                             r"expected none \(clock \d+\) \(" + simulator):
        run_job(CoreParams.from_network(hw_net), job, simulator)


# -- the sweep: >= 50 random single-core networks -------------------------------------------

SWEEP = 50


def sweep_case(seed):
    net = core_network(1000 + seed, max_size=10, max_inputs=6)
    return net, random_inputs(1000 + seed, net, 8), core_lanes(1000 + seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(SWEEP))
def test_sweep_icarus(seed):
    net, x, lanes = sweep_case(seed)
    got = simulate_rtl(net, x, record_state=True, sim="icarus", lanes=lanes, check=True,
                       seed=1000 + seed, ready_prob=0.6, shuffle=True)
    assert_same_run(got, simulate(net, x, record_state=True), 1000 + seed)


@pytest.mark.seed(3)
@pytest.mark.parametrize("ram", ["single", "ice40_spram"])
def test_core_rtl_single_port_weights(ram, seed):
    """The single-port weight memory: its behavioural model, and the UP5K ``SB_SPRAM256KA``
    primitives under yosys's own simulation model (loaded through the configuration port;
    the primitive starts as ``x``, so a weight not written would poison the run)."""
    net = core_network(seed)
    x = random_inputs(seed, net, 6)
    got = simulate_rtl(net, x, record_state=True, sim="icarus", lanes=2, check=True,
                       seed=seed, ready_prob=0.7, configure=True, weight_ram=ram)
    assert_same_run(got, simulate(net, x, record_state=True), seed)


@pytest.mark.seed(11)
@pytest.mark.parametrize("sim,configure", [("icarus", True), ("verilator", False)])
def test_core_rtl_banked_weights(sim, configure, seed):
    """The pipelined weight memory of large ECP5 cores (``"banked"``): a core whose weights
    span three banks (16 rows x 272 axon slots, the last bank partial), loaded through the
    configuration port or initialised."""
    rng = np.random.default_rng(seed)
    net = single_core_network("wide", 16, 256, rng.integers(-127, 128, (256, 16)),
                              threshold=700, recurrent=rng.integers(-40, 40, (16, 16)))
    x = (rng.random((6, 256)) < 0.3).astype(np.uint8)
    got = simulate_rtl(net, x, record_state=True, sim=sim, lanes=1, check=True, seed=seed,
                       ready_prob=0.7, configure=configure, weight_ram="banked")
    want = simulate(net, x, record_state=True)
    assert want.spikes["p0"].any(), f"the case must spike (seed {seed})"
    assert_same_run(got, want, seed)


def test_simulate_rtl_spram_needs_configure():
    net = single_core_network("x", 3, 2, np.ones((2, 3), int))
    with pytest.raises(ValueError, match=r"^Weight RAM 'ice40_spram' has no initial contents: "
                                         r"configure must be True$"):
        simulate_rtl(net, np.zeros((1, 2), np.uint8), weight_ram="ice40_spram")
    with pytest.raises(ValueError, match=r"^Weight RAM must be one of dual, single, "
                                         r"ice40_spram, banked, not 'ultra'$"):
        simulate_rtl(net, np.zeros((1, 2), np.uint8), weight_ram="ultra")
