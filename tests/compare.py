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
