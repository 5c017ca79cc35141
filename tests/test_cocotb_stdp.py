"""cocotb tests of on-chip STDP in the generated Verilog, on Icarus and Verilator, against the
golden model: spikes at every transfer, ``u``/``v``/``r`` after every step, every weight and
trace after every step (or at checkpoints in the long run), every step's cycle count against
``spikefab.hdl.core.step_cycles``; then the returned arrays once more against
``spikefab.golden.simulate``."""

import numpy as np
import pytest

from spikefab.golden import Hardware, Network, Population, Projection, Stdp, simulate
from spikefab.shape.latency import step_cycles
from spikefab.shape.core import CoreParams
from spikefab.sim.rtl import run_job, simulate_rtl

from .compare import assert_same_run
from .hdl_support import core_lanes, plastic_network
from .netgen import random_inputs



def corner_network(name, stdp_in, stdp_rec=None, n=4, inputs=3, w_in=None, w_rec=None,
                   threshold=20, trace_bits=6, weight_bits=6):
    hw = Hardware(weight_bits=weight_bits, trace_bits=trace_bits)
    pop = Population("p0", n, threshold, du=1024, dv=512, output=True)
    w_in = np.full((inputs, n), stdp_in.w_max) if w_in is None else w_in
    projs = [Projection("input", "p0", w_in, stdp=stdp_in)]
    if stdp_rec is not None or w_rec is not None:
        w_rec = np.full((n, n), stdp_rec.w_min if stdp_rec else 1) if w_rec is None else w_rec
        projs.append(Projection("p0", "p0", w_rec, stdp=stdp_rec))
    return Network(name, inputs, (pop,), tuple(projs), hardware=hw)


def rule(**kw):
    base = dict(a_plus=40, a_minus=30, shift=4, d_pre=512, d_post=512, x_inc=20, y_inc=20,
                w_min=-31, w_max=31)
    base.update(kw)
    return Stdp(**base)


# Readable directed corner cases: each runs every input every step or at a random rate.
CORNERS = {
    # weights start at w_max, potentiation pushes against it, depression against w_min
    "bounds-wide": corner_network("bw", rule(a_plus=255, a_minus=255, shift=0)),
    # narrow bounds, weights at w_min; traces saturate at once (x_inc = y_inc = T max)
    "bounds-narrow-saturated": corner_network(
        "bn", rule(w_min=2, w_max=5, x_inc=63, y_inc=63, d_pre=0, d_post=0, shift=0),
        w_in=np.full((3, 4), 2), threshold=3),
    # d = 4096 clears the traces every step: only same-step pre+post pairs potentiate
    "decay-4096-shift15": corner_network(
        "d4", rule(d_pre=4096, d_post=4096, shift=15, a_plus=255, a_minus=255, x_inc=63,
                   y_inc=63)),
    # d = 0 never decays: traces only grow to saturation
    "decay-0": corner_network("d0", rule(d_pre=0, d_post=0, x_inc=7, y_inc=5, shift=2)),
    # a recurrent plastic projection beside the plastic input one
    "recurrent-plastic": corner_network(
        "rp", rule(), rule(a_plus=10, a_minus=200, shift=3, w_min=-20, w_max=20),
        threshold=30),
}


# Every corner on Icarus with the dual-port weight memory, and with the UP5K's SB_SPRAM256KA
# primitives (yosys's model; two corners by default, all in the slow run); on Verilator (a
# model build each) with the dual-port memory and the single-port model, the recurrent one on
# the dual-port memory by default, the others in the slow run.
_SPRAM_FAST = ("recurrent-plastic", "bounds-narrow-saturated")
CORNER_RUNS = [pytest.param("icarus", "dual", c, id=f"icarus-dual-{c}") for c in CORNERS] + [
    pytest.param("icarus", "ice40_spram", c, id=f"icarus-ice40_spram-{c}",
                 marks=[] if c in _SPRAM_FAST else [pytest.mark.slow]) for c in CORNERS] + [
    pytest.param("verilator", ram, c, id=f"verilator-{ram}-{c}",
                 marks=[] if (ram, c) == ("dual", "recurrent-plastic") else [pytest.mark.slow])
    for ram in ("dual", "single") for c in CORNERS]


@pytest.mark.parametrize("sim,ram,case", CORNER_RUNS)
def test_stdp_corners(sim, ram, case):
    net = CORNERS[case]
    seed = sorted(CORNERS).index(case)
    x = random_inputs(seed, net, 12, rate=0.7)
    x[0] = 1                                # pre and post in the same step
    got = simulate_rtl(net, x, record_state=True, sim=sim, lanes=2 if seed % 2 else 1,
                       check=True, seed=seed, ready_prob=0.7, shuffle=True,
                       configure=sim == "icarus" or ram != "dual", weight_ram=ram)
    assert_same_run(got, simulate(net, x, record_state=True), seed)


@pytest.mark.parametrize("sim,ram", [
    ("icarus", "dual"), ("icarus", "ice40_spram"),
    # the same clocks on Verilator (a model build each): in the slow run
    pytest.param("verilator", "dual", marks=pytest.mark.slow),
    pytest.param("verilator", "single", marks=pytest.mark.slow)])
def test_stdp_cycles_formula(sim, ram):
    """Every neuron spikes every step, lanes = 1, no backpressure: LTD rides on the event
    phase (3 clocks of tail), the LTP pass costs ``P_A + 1`` clocks per spiking row; on a
    single-port weight memory two clocks per row and per LTP slot."""
    net = corner_network("cy", rule(), n=5, inputs=3, threshold=0,
                         w_in=np.full((3, 5), 31))
    x = np.ones((4, 3), np.uint8)
    got = simulate_rtl(net, x, sim=sim, lanes=1, check=True, seed=0, weight_ram=ram,
                       configure=ram != "dual")
    p = CoreParams.from_network(net)
    want = [step_cycles(p, 3, spiking_rows=5, weight_ram=ram)] * 4
    assert list(got.cycles) == want
    if ram == "dual":
        # tail 5, 3 events * 5 rows, update 2 + (5 + 13), LTP 5 rows * (3 + 1) + 6
        assert want[0] == 5 + 15 + 2 + 18 + 20 + 6
    else:
        # tail 4, 3 events * 5 rows * 2, update 2 + (5 + 13), LTP 5 rows * 2 * 3 + 6
        assert want[0] == 4 + 30 + 2 + 18 + 30 + 6


@pytest.mark.parametrize("sim", ["icarus", pytest.param("verilator", marks=pytest.mark.slow)])
def test_stdp_failure_names_step_synapse_field_and_seed(sim):
    """The weight checker can fail: hardware generated with a_plus = 200, golden model with
    a_plus = 0 (the spikes agree, the weights do not)."""
    hw_net = corner_network("f", rule(a_plus=200, shift=0, w_max=31),
                            w_in=np.full((3, 4), 5), threshold=0)
    golden_net = corner_network("f", rule(a_plus=0, shift=0, w_max=31),
                                w_in=np.full((3, 4), 5), threshold=0)
    job = {"net": golden_net, "inputs": np.ones((2, 3), bool), "lanes": 1, "check": True,
           "seed": 78}
    with pytest.raises(AssertionError, match=r"^seed 78: step 0, synapse \[0, 0\], field weight "
                                             r"of projection 0: got 31, expected 5 \(" + sim):
        run_job(CoreParams.from_network(hw_net), job, sim)


# -- long run and sweep ---------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.seed(4242)
@pytest.mark.parametrize("sim,ram", [("icarus", "dual"), ("verilator", "dual"),
                                     ("icarus", "ice40_spram"), ("verilator", "single")])
def test_stdp_long_run(sim, ram, seed):
    """2,000 steps of a plastic recurrent network: spikes every step, state and all weights
    and traces every 100 steps and at the end."""
    net = CORNERS["recurrent-plastic"]
    x = random_inputs(seed, net, 2000, rate=0.3)
    got = simulate_rtl(net, x, sim=sim, lanes=2, check=True, seed=seed,
                       check_learning_every=100, weight_ram=ram, configure=ram != "dual")
    assert_same_run(got, simulate(net, x), seed)


SWEEP = 50


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(SWEEP))
def test_stdp_sweep(seed):
    net = plastic_network(2000 + seed)
    x = random_inputs(2000 + seed, net, 10, rate=0.5)
    got = simulate_rtl(net, x, record_state=True, sim="icarus" if seed % 3 else "verilator",
                       lanes=core_lanes(seed), check=True, seed=2000 + seed, ready_prob=0.6,
                       shuffle=True)
    assert_same_run(got, simulate(net, x, record_state=True), 2000 + seed)
