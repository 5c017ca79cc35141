"""Spike delivery of docs/spec.md section 3: exact sums, order independence, delays."""

import numpy as np
import pytest

from .netgen import random_inputs, random_network
from spikefab.golden import (Hardware, Network, Population, Projection, Simulator, deliver,
                             simulate)


def test_deliver_is_the_exact_shifted_sum():
    w = np.array([[1, -2, 3], [100, 0, -100], [7, 7, 7]], np.int64)
    e = np.array([[1, 0, 1], [0, 0, 0], [1, 1, 1]], bool)
    got = deliver(e, w, 3)
    assert got.tolist() == [[64, 40, 80], [0, 0, 0], [864, 40, -720]]


def test_deliver_per_run_weights():
    w = np.stack([np.eye(3, dtype=np.int64), -np.eye(3, dtype=np.int64)])
    e = np.array([[1, 1, 0], [0, 1, 1]], bool)
    assert deliver(e, w, 0).tolist() == [[1, 1, 0], [0, -1, -1]]


@pytest.mark.parametrize("seed", range(20))
def test_input_channel_order_does_not_matter(seed):
    """Permuting the input channels (and the weight rows with them) changes nothing."""
    net = random_network(seed, plastic=False)
    x = random_inputs(seed, net, 50)
    perm = np.random.default_rng(seed).permutation(net.inputs)
    projs = [Projection(p.source, p.target, p.weights[perm] if p.source == "input"
                        else p.weights, p.weight_shift, p.stdp) for p in net.projections]
    net2 = Network(net.name, net.inputs, net.populations, projs, net.hardware)
    a, b = simulate(net, x, record_state=True), simulate(net2, x[:, perm], record_state=True)
    for n in a.spikes:
        assert np.array_equal(a.spikes[n], b.spikes[n]), f"seed {seed}"
        assert np.array_equal(a.u[n], b.u[n]), f"seed {seed}"


@pytest.mark.parametrize("seed", range(20))
def test_splitting_a_projection_into_two_changes_nothing(seed):
    """W = W1 + W2 delivered as two projections from the same source equals W alone."""
    net = random_network(seed, plastic=False)
    rng = np.random.default_rng(seed)
    projs = []
    for p in net.projections:
        w1 = np.where(rng.random(p.weights.shape) < 0.5, p.weights, 0)
        projs += [Projection(p.source, p.target, w1, p.weight_shift),
                  Projection(p.source, p.target, p.weights - w1, p.weight_shift)]
    net2 = Network(net.name, net.inputs, net.populations, projs, net.hardware)
    x = random_inputs(seed, net, 50)
    a, b = simulate(net, x, record_state=True), simulate(net2, x, record_state=True)
    for n in a.spikes:
        assert np.array_equal(a.v[n], b.v[n]), f"seed {seed}"


@pytest.mark.parametrize("seed", range(20))
def test_splitting_a_population_over_two_changes_nothing(seed):
    """A population split in two (as over two cores), projections split by rows and columns,
    gives the same spikes, state and plastic weights."""
    net = random_network(seed, max_pops=2, max_size=10)
    big = max(net.populations, key=lambda p: p.size)
    if big.size < 2:
        big = None
    cut = big.size // 2 if big else 0
    pops, projs = [], []
    for p in net.populations:
        if p is big:
            pops += [Population(**{**p.__dict__, "name": p.name + "_a", "size": cut}),
                     Population(**{**p.__dict__, "name": p.name + "_b", "size": p.size - cut})]
        else:
            pops.append(p)

    def parts(name, axis_len):
        if big is not None and name == big.name:
            return [(name + "_a", slice(0, cut)), (name + "_b", slice(cut, axis_len))]
        return [(name, slice(None))]

    for p in net.projections:
        for src, rows in parts(p.source, net.source_size(p.source)):
            for dst, cols in parts(p.target, net.population(p.target).size):
                projs.append(Projection(src, dst, p.weights[rows, cols], p.weight_shift,
                                        p.stdp))
    net2 = Network(net.name, net.inputs, pops, projs, net.hardware)
    x = random_inputs(seed, net, 40)
    a, b = simulate(net, x, record_state=True), simulate(net2, x, record_state=True)
    for p in net.populations:
        if p is big:
            got = np.hstack([b.v[p.name + "_a"], b.v[p.name + "_b"]])
            gs = np.hstack([b.spikes[p.name + "_a"], b.spikes[p.name + "_b"]])
        else:
            got, gs = b.v[p.name], b.spikes[p.name]
        assert np.array_equal(a.v[p.name], got), f"v of {p.name}, seed {seed}"
        assert np.array_equal(a.spikes[p.name], gs), f"spikes of {p.name}, seed {seed}"


def _chain():
    hw = Hardware()
    return Network(
        name="chain", inputs=1, hardware=hw,
        populations=[Population("a", 1, threshold=10, du=4096, dv=4096),
                     Population("b", 1, threshold=10, du=4096, dv=4096)],
        projections=[Projection("input", "a", [[50]]), Projection("a", "b", [[50]]),
                     Projection("b", "a", [[0]])])


def test_input_arrives_the_same_step_and_population_spikes_one_step_later():
    res = simulate(_chain(), np.array([[1], [0], [0], [0]], np.uint8))
    assert res.spikes["a"][:, 0].tolist() == [1, 0, 0, 0]
    assert res.spikes["b"][:, 0].tolist() == [0, 1, 0, 0]


def test_self_recurrence_is_delayed_one_step():
    net = Network(name="osc", inputs=1, populations=[
        Population("p", 1, threshold=10, du=4096, dv=4096)],
        projections=[Projection("input", "p", [[50]]), Projection("p", "p", [[50]])])
    res = simulate(net, np.array([[1]] + [[0]] * 4, np.uint8))
    assert res.spikes["p"][:, 0].tolist() == [1, 1, 1, 1, 1]     # it keeps itself going


def test_inhibition_subtracts():
    net = Network(name="inh", inputs=2, populations=[
        Population("p", 1, threshold=10, du=4096, dv=4096)],
        projections=[Projection("input", "p", [[50], [-45]])])
    res = simulate(net, np.array([[1, 0], [1, 1]], np.uint8), record_state=True)
    assert res.u["p"][:, 0].tolist() == [50, 5]
    assert res.spikes["p"][:, 0].tolist() == [1, 0]


def test_step_by_step_equals_run():
    net = random_network(11)
    x = random_inputs(11, net, 30)
    sim = Simulator(net)
    steps = [sim.step(x[t][None].astype(bool)) for t in range(30)]
    res = simulate(net, x)
    for n in res.spikes:
        assert np.array_equal(np.array([s[n][0] for s in steps]), res.spikes[n].astype(bool))


def test_reset_state_keeps_learned_weights_and_clears_the_rest():
    net = random_network(5)
    x = random_inputs(5, net, 30).astype(bool)
    sim = Simulator(net)
    for t in range(30):
        sim.step(x[t][None])
    learned = [w.copy() for w in sim.weights]
    sim.reset_state()
    assert sim.t == 0
    assert all((a == 0).all() for d in (sim.u, sim.v, sim.r) for a in d.values())
    assert all(not a.any() for a in sim.spikes.values())
    assert all(p is None or (p == 0).all() for p in sim.pre + sim.post)
    assert all(np.array_equal(a, b) for a, b in zip(sim.weights, learned))
    # and a fresh run from the learned weights matches: same step after reset == first step
    fresh = Simulator(Network(net.name, net.inputs, net.populations, [
        Projection(p.source, p.target, w[0] if w.ndim == 3 else w, p.weight_shift, p.stdp)
        for p, w in zip(net.projections, learned)], net.hardware))
    for t in range(10):
        a, b = sim.step(x[t][None]), fresh.step(x[t][None])
        assert all(np.array_equal(a[n], b[n]) for n in a)
