"""The native Verilator harness (``spikefab.sim.native``): core and network tops driven in bulk
from Python, every step against the golden model.

It is held to the same checks as the cocotb testbenches (the shared
``spikefab.sim.scoreboard``): every spike, every step's cycle count, the state, the plastic
weights and traces; its cycle counts equal the cocotb testbench's on the same run; a
deliberately wrong golden model makes it fail with a message naming the step, the neuron, both
values and the seed. The slow sweep runs hundreds of random networks (static, plastic,
multi-core, recurrent): a build per random topology, and random networks of that shape
(weights, neuron parameters, learning rules, stimulus) loaded into it through the
configuration port.
"""

import numpy as np
import pytest

from spikefab.errors import InvalidValue
from spikefab.golden import load, simulate
from spikefab.shape.network import derive
from spikefab.sim import native
from spikefab.sim.native import build_native, run_core, run_network
from spikefab.sim.network import run_networks, simulate_network_rtl
from spikefab.sim.rtl import simulate_rtl

from .compare import assert_same_run
from .netgen import (random_capacity, random_inputs, random_multicore_network, random_network,
                     variant)


@pytest.mark.parametrize("example", ["core.toml", "stdp.toml"])
def test_core_examples_equal_golden(example, seed):
    """A one-population example on its core: spikes, ``u``, ``v``, final weights and traces
    equal the golden model's, with random backpressure and event order."""
    net = load(f"examples/{example}")
    x = random_inputs(seed, net, 40, rate=0.4)
    got = simulate_rtl(net, x, record_state=True, sim="verilator", check=True, seed=seed,
                       ready_prob=0.6, shuffle=True, check_learning_every=5)
    assert_same_run(got, simulate(net, x, record_state=True), seed)


def test_demo_network_equals_golden(seed):
    """The demo network (two populations, plastic input) on its network top, 300 steps, with
    random gaps and backpressure; and the same run in lock-step with the state read after
    every step."""
    net = load("examples/demo.toml")
    x = random_inputs(seed, net, 300, rate=0.2)
    want = simulate(net, x, record_state=True)
    got = simulate_network_rtl(net, x, sim="verilator", check=True, seed=seed, ready_prob=0.5,
                               valid_prob=0.7)
    assert got.u is None
    for pop in want.spikes:
        np.testing.assert_array_equal(got.spikes[pop], want.spikes[pop], f"seed {seed}")
    got = simulate_network_rtl(net, x[:40], record_state=True, sim="verilator", check=True,
                               seed=seed)
    assert_same_run(got, simulate(net, x[:40], record_state=True), seed)


@pytest.mark.slow               # 90 s of the default tier's 10 minutes; CI's slow tier runs it
def test_cycles_equal_the_cocotb_testbench(seed):
    """The same run of a random multi-core network through cocotb and through the native
    harness (both on Verilator, lock-step): the same cycles of every step, the same spikes."""
    net = random_multicore_network(seed % 50, plastic=True)
    n_cap, a_cap = random_capacity(seed % 50, net)
    options = {"neurons_per_core": n_cap, "axons_per_core": a_cap,
               "outputs": [q.name for q in net.populations]}
    x = random_inputs(seed, net, 8, rate=0.4)
    job = {"net": net, "inputs": x, "options": options, "seed": seed, "check": True,
           "record_state": True, "read_weights": True, "lockstep": True}
    ref = run_networks([job], "verilator", name=f"native-ref{seed}")[0]
    got = run_network(net, x, options, record_state=True, check=True, seed=seed)
    np.testing.assert_array_equal(got["cycles"], ref["cycles"], f"seed {seed}")
    for q in net.populations:
        np.testing.assert_array_equal(got["spikes"][q.name], ref["spikes"][q.name])


def test_batch_and_build_reuse(tmp_path, seed):
    """A batch runs entry by entry; a second network of the same shape reuses the build (no
    compile, no Verilog generated)."""
    net = random_multicore_network(3)
    x = random_inputs(seed, net, 6, rate=0.5, batch=2)
    got = simulate_network_rtl(net, x, sim="verilator", check=True, seed=seed,
                               build_root=str(tmp_path))
    want = simulate(net, x)
    for pop in want.spikes:
        np.testing.assert_array_equal(got.spikes[pop], want.spikes[pop])
    options = {"outputs": [q.name for q in net.populations]}
    other = variant(net, seed)
    assert derive(other, **options).shape == derive(net, **options).shape
    b = build_native(derive(other, **options), build_root=str(tmp_path))
    assert b.seconds == 0.0


def test_a_wrong_golden_model_fails_naming_step_neuron_values_and_seed(monkeypatch):
    """The checks can fail: against the golden model of a network with a lower threshold,
    the network run fails at the first differing spike, the core run likewise."""
    net = load("examples/demo.toml")
    x = random_inputs(5, net, 60, rate=0.3)
    lower = type(net)(net.name, net.inputs,
                      [type(q)(**{**q.__dict__, "threshold": q.threshold // 2})
                       for q in net.populations], net.projections, net.hardware)
    real = native.simulate
    monkeypatch.setattr(native, "simulate", lambda n, *a, **k: real(lower, *a, **k))
    with pytest.raises(AssertionError,
                       match=r"seed 5: network 'demo': step \d+, population \w+, neuron \d+"):
        run_network(net, x, {"outputs": ["exc", "inh"]}, check=True, seed=5)
    core = load("examples/core.toml")
    low = type(core)(core.name, core.inputs,
                     [type(q)(**{**q.__dict__, "threshold": q.threshold // 2})
                      for q in core.populations], core.projections, core.hardware)
    real_sim = native.Simulator
    monkeypatch.setattr(native, "Simulator", lambda n: real_sim(low))
    x = random_inputs(5, core, 30, rate=0.5)
    with pytest.raises(AssertionError, match=r"seed 7: step \d+.*(neuron|spike)"):
        run_core(core, x, check=True, seed=7)


def test_bad_requests_are_one_line_errors():
    net = load("examples/core.toml")
    with pytest.raises(InvalidValue, match="Simulator for the native harness must be "
                                           "verilator, not 'icarus'"):
        simulate_rtl(net, np.zeros((1, net.inputs), np.uint8), sim="icarus", harness="native")
    with pytest.raises(InvalidValue, match="Harness must be one of native, cocotb"):
        simulate_rtl(net, np.zeros((1, net.inputs), np.uint8), sim="verilator", harness="pyuvm")
    with pytest.raises(InvalidValue, match=r"Ready probability must be a probability in "
                                           r"\(0, 1\], not 0"):
        simulate_rtl(net, np.zeros((2, net.inputs), np.uint8), sim="verilator", ready_prob=0)


def _sweep_network(seed, adaptive=False, modulated=False):
    """A random topology from ``seed``: single-population (recurrent, often plastic) on its
    core, or multi-core (split and packed populations, often plastic) on a network top; with
    ``adaptive``, populations with adaptive thresholds among them."""
    rng = np.random.default_rng([seed, 97])
    if seed % 4 == 0:
        net = random_network(seed, max_pops=1, max_size=24,
                             plastic=bool(rng.integers(2)) or modulated, adaptive=adaptive,
                             modulated=modulated)
        if adaptive and not net.populations[0].adaptive:
            q = net.populations[0]
            net = type(net)(net.name, net.inputs, (type(q)(**{
                **q.__dict__, "theta_bits": 5, "theta_inc": 31, "theta_decay": 200}),),
                net.projections, net.hardware)
        return net, None
    net = random_multicore_network(seed, plastic=bool(seed % 2) or modulated, adaptive=adaptive,
                                   modulated=modulated)
    n_cap, a_cap = random_capacity(seed, net)
    return net, {"neurons_per_core": n_cap, "axons_per_core": a_cap,
                 "lanes": int(rng.choice([1, 2])), "pack": [False, True, "small"][seed % 3],
                 "outputs": [q.name for q in net.populations]}


def run_topology(seed, variants, steps=12, adaptive=False, modulated=False):
    """The topology of ``seed`` with its own network and ``variants - 1`` random networks of
    its shape: each against the golden model (every step, state in some runs, the plastic
    weights and traces, the adaptive threshold offsets at the end). Returns how many of the
    networks raised an adaptive threshold and how many changed a modulated projection's
    weights (in the golden model), ``{"rose": n, "moved": n}``: a sweep checks that theta and
    the third factor were exercised."""
    net, options = _sweep_network(seed, adaptive, modulated)
    rose = moved = 0
    for k in range(variants):
        # every tenth network floods the queues, every tenth saturates the registers
        steer = {4: "flood", 9: "saturate"}.get(k % 10)
        v = net if k == 0 else variant(net, 1000 * seed + k, steer)
        s = 1000 * seed + k
        rng = np.random.default_rng(s)
        x = random_inputs(s, v, steps, rate=float(rng.uniform(0.1, 0.7)))
        if steer == "flood":
            x[:] = 1
        if adaptive or modulated:
            g = simulate(v, x, record_state=True)
            rose += any(g.theta[q.name].max() > 0 for q in v.populations if q.adaptive)
            moved += any(not np.array_equal(g.weights[k], pr.weights)
                         for k, pr in enumerate(v.projections)
                         if pr.plastic and pr.stdp.modulated)
        record = k % 3 == 0
        if options is None:
            got = run_core(v, x, record_state=record, check=True, seed=s,
                           ready_prob=0.05 if steer == "flood" else float(rng.uniform(0.4, 1.0)),
                           shuffle=True, check_learning_every=4)
            want = simulate(v, x)
            np.testing.assert_array_equal(got["spikes"], want.spikes[v.populations[0].name],
                                          f"seed {s}")
        else:
            run_network(v, x, options, record_state=record, check=True, seed=s,
                        ready_prob=0.05 if steer == "flood" else float(rng.uniform(0.4, 1.0)),
                        valid_prob=float(rng.uniform(0.4, 1.0)), checkpoint=4 if record else 0)
    return {"rose": rose, "moved": moved}


def test_random_topologies_with_variants(seed):
    """Two random topologies (a core, a multi-core plastic network), five networks each (the
    fifth floods every queue)."""
    run_topology(4 * (seed % 100), 5)
    run_topology(4 * (seed % 100) + 1, 5)


#: Random topologies of the slow sweep and networks run on each (its own and variants).
SWEEP_TOPOLOGIES, SWEEP_VARIANTS, SWEEP_CHUNKS = 18, 50, 6


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(SWEEP_CHUNKS))
def test_native_sweep(chunk):
    """``SWEEP_TOPOLOGIES * SWEEP_VARIANTS`` random networks (900): a quarter single-core
    (recurrent, half plastic), the rest multi-core (half plastic); a build per topology and
    50 networks of its shape (its own, then random weights, neuron parameters, learning rules
    and stimulus), each run against the golden model with random gaps, backpressure and event
    order."""
    per = SWEEP_TOPOLOGIES // SWEEP_CHUNKS
    for seed in range(500 + per * chunk, 500 + per * (chunk + 1)):
        run_topology(seed, SWEEP_VARIANTS)


def test_adaptive_thresholds_and_third_factor_random_topology():
    """Spec v1.2 on the native harness: a multi-core plastic topology with adaptive thresholds
    and modulated projections (random initial modulations: both extremes, zero, one, between),
    three networks of its shape (its own, then new parameters, weights, rules, theta
    increments and decays and modulations written through the configuration port). Theta
    rises and a modulated projection's weights move in at least one of them, so a wrong
    effective threshold or rate sign would show. (60 + 60 more networks: the slow sweeps.)"""
    r = run_topology(819, 3, steps=20, adaptive=True, modulated=True)
    assert r["rose"] >= 1 and r["moved"] >= 1, r


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(2))
def test_native_modulated_sweep(chunk):
    """60 random plastic networks with the third factor (and adaptive thresholds): 6
    topologies, 10 networks each with new rules and modulations written through the
    configuration port, 30 steps each, weights and traces against the golden model."""
    runs = [run_topology(seed, 10, steps=30, adaptive=True, modulated=True)
            for seed in range(810 + 3 * chunk, 813 + 3 * chunk)]
    moved = sum(r["moved"] for r in runs)
    assert moved >= 5, f"only {moved} of 30 networks changed a modulated projection's weights"


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(2))
def test_native_adaptive_sweep(chunk):
    """60 random networks with adaptive thresholds: 6 topologies (single- and multi-core,
    plastic and static) with 10 networks of each shape, 30 steps each, against the golden
    model (spikes every step, state in a third of the runs, theta at the end)."""
    rose = sum(run_topology(seed, 10, steps=30, adaptive=True)["rose"]
               for seed in range(700 + 3 * chunk, 703 + 3 * chunk))
    assert rose >= 6, f"only {rose} of 30 networks raised an adaptive threshold"


@pytest.mark.slow
def test_adaptive_and_modulated_2000_steps():
    """A multi-core plastic network with adaptive thresholds and the third factor (one
    projection at m = -256, anti-STDP) for 2,000 steps on the native harness: every spike,
    the final weights and traces, and theta at the end against the golden model."""
    net, options = _sweep_network(753, adaptive=True, modulated=True)
    x = random_inputs(753, net, 2000, rate=0.4)
    got = run_network(net, x, options, check=True, seed=753)
    want = simulate(net, x, record_state=True)
    assert any(want.theta[q.name].max() > 0 for q in net.populations if q.adaptive)
    assert any(not np.array_equal(want.weights[k], pr.weights)
               for k, pr in enumerate(net.projections) if pr.plastic and pr.stdp.modulated)
    for q in net.populations:
        if q.adaptive:
            assert np.array_equal(got["theta"][q.name], want.theta[q.name][-1]), q.name


@pytest.mark.slow
def test_plastic_100k_steps_on_the_demo_network():
    """The demo network (plastic input projection) for 100,000 steps on its network top:
    every output spike and step counter checked as it comes, the plastic weights and traces
    against the golden model at the end."""
    net = load("examples/demo.toml")
    x = random_inputs(3, net, 100_000, rate=0.1)
    got = run_network(net, x, {"outputs": ["exc", "inh"]}, check=True, seed=3)
    want = simulate(net, x)
    for k, pr in enumerate(net.projections):
        np.testing.assert_array_equal(got["weights"][k], want.weights[k])
    assert any(not np.array_equal(got["weights"][k], pr.weights)
               for k, pr in enumerate(net.projections) if pr.plastic)
