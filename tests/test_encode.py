"""The seeded rate encoder."""

import numpy as np
import pytest

from spikefab.golden import rate_encode


def test_seeded_and_shaped():
    a = rate_encode(np.linspace(0, 1, 10), 50, rate=0.5, seed=3)
    assert a.shape == (50, 10) and a.dtype == np.uint8
    assert np.array_equal(a, rate_encode(np.linspace(0, 1, 10), 50, rate=0.5, seed=3))
    assert not np.array_equal(a, rate_encode(np.linspace(0, 1, 10), 50, rate=0.5, seed=4))
    assert rate_encode(np.zeros((4, 3)), 7, seed=1).shape == (4, 7, 3)


def test_rates_follow_intensity():
    a = rate_encode(np.array([0.0, 0.5, 1.0]), 40000, rate=0.2, seed=9)
    assert a[:, 0].sum() == 0
    assert abs(a[:, 1].mean() - 0.1) < 0.006 and abs(a[:, 2].mean() - 0.2) < 0.008
    assert set(np.unique(a)) == {0, 1}


@pytest.mark.parametrize("args, message", [
    ((np.array([1.5]), 3), r"^Intensities must be in \[0, 1\], not values in \[1.5, 1.5\]$"),
    ((np.array([0.5]), -1), r"^Steps must be a non-negative integer, not -1$"),
    ((np.array([0.5]), 3, 1.5), r"^Rate must be a probability in \[0, 1\], not 1.5$"),
])
def test_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        rate_encode(*args)
