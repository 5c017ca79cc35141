"""Property tests: the vectorised golden model equals the loop-based reference on random
networks (every population, plastic and recurrent projections, every width), single runs and
batches."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .compare import assert_same_array, assert_same_trace
from .netgen import random_inputs, random_network
from .reference import reference_simulate
from spikefab.golden import simulate

SEEDS = st.integers(0, 2**32 - 1)


def _check(net, inputs, res, seed):
    s, u, v, w, pre, post = reference_simulate(net, inputs)
    for pop in net.populations:
        n = pop.name
        assert_same_trace("spike", res.spikes[n], s[n], seed, n)
        assert_same_trace("u", res.u[n], u[n], seed, n)
        assert_same_trace("v", res.v[n], v[n], seed, n)
        if pop.adaptive:
            assert_same_trace("theta", res.theta[n], reference_simulate.theta[n], seed, n)
    for k, proj in enumerate(net.projections):
        assert_same_array(f"weights of projection {k}", res.weights[k], w[k], seed)
        if proj.plastic:
            assert_same_array(f"pre trace of projection {k}", res.pre_traces[k], pre[k], seed)
            assert_same_array(f"post trace of projection {k}", res.post_traces[k], post[k], seed)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=SEEDS)
def test_random_network_equals_reference(seed):
    net = random_network(seed)
    inputs = random_inputs(seed, net, steps=40)
    res = simulate(net, inputs, record_state=True)
    _check(net, inputs, res, seed)


@settings(max_examples=40, deadline=None)
@given(seed=SEEDS, batch=st.integers(2, 4))
def test_batch_runs_are_independent_and_exact(seed, batch):
    net = random_network(seed)
    inputs = random_inputs(seed, net, steps=30, batch=batch)
    res = simulate(net, inputs, record_state=True)
    for b in range(batch):
        one = simulate(net, inputs[b], record_state=True)
        for n in res.spikes:
            assert np.array_equal(res.spikes[n][b], one.spikes[n]), f"batch {b} seed {seed}"
            assert np.array_equal(res.v[n][b], one.v[n]), f"batch {b} seed {seed}"
        for k in range(len(net.projections)):
            assert np.array_equal(res.weights[k][b], one.weights[k]), f"batch {b} seed {seed}"
        _check(net, inputs[b], type(one)(
            {n: a[b] for n, a in res.spikes.items()}, {n: a[b] for n, a in res.u.items()},
            {n: a[b] for n, a in res.v.items()}, [w[b] for w in res.weights],
            [None if x is None else x[b] for x in res.pre_traces],
            [None if y is None else y[b] for y in res.post_traces]), seed)


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS)
def test_saturating_widths_equal_reference(seed):
    """Narrow u/v and strong weights: sat() bounds are hit often."""
    from spikefab.golden import Hardware
    hw = Hardware(current_bits=6, voltage_bits=6, weight_bits=8, trace_bits=3,
                  refractory_bits=2)
    net = random_network(seed, hardware=hw)
    inputs = random_inputs(seed, net, steps=30, rate=0.7)
    res = simulate(net, inputs, record_state=True)
    _check(net, inputs, res, seed)


@settings(max_examples=240, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=SEEDS, modulated=st.booleans())
def test_v12_networks_equal_reference(seed, modulated):
    """Spec v1.2 in random networks: adaptive thresholds (narrow and wide offsets), and with
    ``modulated`` plastic projections with the third factor too (modulations at both
    extremes, zero, one and between)."""
    net = random_network(seed, adaptive=True, modulated=modulated)
    inputs = random_inputs(seed, net, steps=40, rate=0.6)
    res = simulate(net, inputs, record_state=True)
    _check(net, inputs, res, seed)
