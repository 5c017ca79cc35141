"""Mismatch reports that name the step, the neuron, the field, both values and the seed."""

import numpy as np


def assert_same_trace(field, got, want, seed, pop=""):
    """``got``/``want`` are (T, N) arrays of one field of one population."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (
        f"{field} {pop}: shape {got.shape} != expected {want.shape} (seed {seed})")
    bad = np.argwhere(got != want)
    if len(bad):
        t, i = (int(x) for x in bad[0])
        raise AssertionError(
            f"{field} of {pop} neuron {i} at step {t}: got {int(got[t, i])}, expected "
            f"{int(want[t, i])} ({len(bad)} mismatches in all; replay with seed {seed})")


def assert_same_array(field, got, want, seed):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (
        f"{field}: shape {got.shape} != expected {want.shape} (seed {seed})")
    bad = np.argwhere(got != want)
    if len(bad):
        idx = tuple(int(x) for x in bad[0])
        raise AssertionError(
            f"{field} at {list(idx)}: got {int(got[idx])}, expected {int(want[idx])} "
            f"({len(bad)} mismatches in all; replay with seed {seed})")


def assert_same_run(got, want, seed):
    """A whole run (``SimResult``-like ``got``) equals golden's ``want``: the same arrays,
    spikes of every population, ``u`` and ``v`` when recorded, the final weights of every
    projection and the final traces of every plastic one."""
    g, w = got.to_npz_dict(), want.to_npz_dict()
    assert sorted(g) == sorted(w), f"arrays {sorted(g)}, expected {sorted(w)} (seed {seed})"
    for pop in want.spikes:
        assert_same_trace("spikes", got.spikes[pop], want.spikes[pop], seed, pop)
        if want.u is not None:
            assert_same_trace("u", got.u[pop], want.u[pop], seed, pop)
            assert_same_trace("v", got.v[pop], want.v[pop], seed, pop)
    for k, weights in enumerate(want.weights):
        assert_same_array(f"final weights of projection {k}", got.weights[k], weights, seed)
        if want.pre_traces[k] is not None:
            assert_same_array(f"final pre traces of projection {k}", got.pre_traces[k],
                              want.pre_traces[k], seed)
            assert_same_array(f"final post traces of projection {k}", got.post_traces[k],
                              want.post_traces[k], seed)
