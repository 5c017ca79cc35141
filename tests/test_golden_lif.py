"""The LIF neuron of docs/spec.md section 2, case by case."""

import numpy as np

from spikefab.golden import Hardware, Population, lif_step

HW = Hardware(current_bits=16, voltage_bits=16)


def step(pop, u, v, r, a, hw=HW):
    arr = [np.array([x], np.int64) for x in (u, v, r, a)]
    u, v, r, s = lif_step(*arr, pop, hw)
    return int(u[0]), int(v[0]), int(r[0]), bool(s[0])


def pop(**kw):
    base = dict(name="p", size=1, threshold=100)
    base.update(kw)
    return Population(**base)


def test_threshold_equality_does_not_spike():
    assert step(pop(), 0, 0, 0, 100) == (100, 100, 0, False)
    assert step(pop(), 0, 0, 0, 101) == (101, 0, 0, True)


def test_subtract_reset_keeps_the_excess():
    assert step(pop(reset="subtract"), 0, 0, 0, 130) == (130, 30, 0, True)


def test_bias_and_decays():
    # u = decay(40, 2048) + 10 = 30; v = decay(50, 1024) + 30 + 7 = 37 + 37
    assert step(pop(du=2048, dv=1024, bias=7), 40, 50, 0, 10) == (30, 74, 0, False)


def test_refractory_holds_v_and_counts_down_while_u_integrates():
    p = pop(refractory=2, du=0)
    u, v, r, s = step(p, 0, 0, 0, 200)
    assert (u, v, r, s) == (200, 0, 2, True)
    u, v, r, s = step(p, u, v, r, 50)                 # refractory: v held at 0
    assert (u, v, r, s) == (250, 0, 1, False)
    u, v, r, s = step(p, u, v, r, 0)
    assert (u, v, r, s) == (250, 0, 0, False)
    u, v, r, s = step(p, u, v, r, 0)                  # active again: integrates u
    assert (u, v, r, s) == (250, 0, 2, True)


def test_refractory_holds_negative_v():
    assert step(pop(refractory=3), 5, -40, 2, 0) == (5, -40, 1, False)


def test_no_spike_clears_refractory_counter():
    assert step(pop(refractory=4), 0, 0, 0, 10) == (10, 10, 0, False)


def test_current_and_voltage_saturate_symmetrically():
    hw = Hardware(current_bits=8, voltage_bits=8)
    p = pop(threshold=127)
    assert step(p, 0, 0, 0, 1000, hw) == (127, 127, 0, False)   # v == vth: no spike
    assert step(p, 0, 0, 0, -1000, hw) == (-127, -127, 0, False)


def test_zero_threshold_spikes_on_any_positive_voltage():
    p = pop(threshold=0)
    assert step(p, 0, 0, 0, 0)[3] is False
    assert step(p, 0, 0, 0, 1)[3] is True


def test_vectorised_over_neurons_and_batch():
    p = pop(size=3, threshold=10, reset="subtract")
    z = np.zeros((2, 3), np.int64)
    a = np.array([[5, 11, 30], [-4, 10, 12]], np.int64)
    u, v, r, s = lif_step(z, z, z, a, p, HW)
    assert v.tolist() == [[5, 1, 20], [-4, 10, 2]]
    assert s.tolist() == [[False, True, True], [False, False, True]]
