"""Corner cases of the spec's primitives (docs/spec.md section 1)."""

import numpy as np
import pytest

from spikefab.golden import decay, sat, usat
from spikefab.golden.fixed import signed_bits_for


@pytest.mark.parametrize("bits", [2, 8, 16, 24, 32])
def test_sat_is_symmetric(bits):
    m = 2 ** (bits - 1) - 1
    x = np.array([-2 ** bits, -m - 1, -m, -1, 0, 1, m, m + 1, 2 ** bits])
    got = sat(x, bits)
    assert got.tolist() == [-m, -m, -m, -1, 0, 1, m, m, m]
    assert -(2 ** (bits - 1)) not in got          # the most negative code never occurs
    assert [sat(int(a), bits) for a in x] == got.tolist()


def test_usat_bounds():
    assert usat(np.array([-5, 0, 7, 255, 256, 10**9]), 8).tolist() == [0, 0, 7, 255, 255, 255]
    assert usat(-1, 3) == 0 and usat(8, 3) == 7 and usat(5, 3) == 5


@pytest.mark.parametrize("x", [0, 1, -1, 7, -7, 12345, -12345, 2**31 - 1, -(2**31 - 1)])
def test_decay_zero_keeps_and_full_clears(x):
    assert decay(x, 0) == x
    assert decay(x, 4096) == 0


@pytest.mark.parametrize("x, d, want", [
    (5, 2048, 2),          # 5 * 2048 / 4096 = 2.5 -> 2
    (-5, 2048, -2),        # truncation toward zero, not floor (-3)
    (-1, 1, 0),            # a decayed -1 reaches 0, never sticks
    (1, 1, 0),
    (4096, 1, 4095),
    (-4096, 1, -4095),
    (100, 4095, 0),        # 100 * 1 / 4096
    (-8191, 4095, -1),
    (-(2**23 - 1), 410, -7548927),  # 8388607 * 3686 = 30920405402, >> 12
])
def test_decay_truncates_toward_zero(x, d, want):
    assert decay(x, d) == want
    assert decay(np.array([x]), d).tolist() == [want]


def test_decay_always_reaches_zero():
    x = np.array([2**15 - 1, -(2**15 - 1), 3, -3])
    for _ in range(1000):
        x = decay(x, 64)
    assert (x == 0).all()


def test_decay_array_equals_scalar():
    rng = np.random.default_rng(7)
    x = rng.integers(-2**31 + 1, 2**31, size=2000)
    d = int(rng.integers(0, 4097))
    assert decay(x, d).tolist() == [decay(int(a), d) for a in x]


@pytest.mark.parametrize("mag, bits", [(0, 2), (1, 2), (2, 3), (3, 3), (127, 8), (128, 9)])
def test_signed_bits_for(mag, bits):
    assert signed_bits_for(mag) == bits
