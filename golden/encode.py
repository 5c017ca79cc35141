"""Seeded rate coding of intensities into 0/1 input spikes for the host to inject."""

import numpy as np

from spikefab.errors import InvalidValue

__all__ = ["rate_encode"]


def rate_encode(intensities, steps, rate=0.25, seed=0):
    """Bernoulli (discrete-time Poisson) rate code.

    Channel ``c`` spikes at each step independently with probability
    ``intensities[..., c] * rate``. Floats appear only here, in the stimulus; what the model
    receives is an exact 0/1 array.

    Parameters
    ----------
    intensities : array_like of float, (..., C)
        Values in ``[0, 1]``; a leading axis makes a batch of independent stimuli.
    steps : int
        Number of time steps ``T``.
    rate : float
        Spike probability per step at intensity 1, in ``[0, 1]``.
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed gives the same spikes.

    Returns
    -------
    numpy.ndarray of uint8, (..., T, C)
    """
    x = np.asarray(intensities, dtype=float)
    if x.ndim < 1:
        raise InvalidValue(f"Intensities must have a channel axis, not shape {x.shape}")
    if x.size and (np.isnan(x).any() or x.min() < 0.0 or x.max() > 1.0):
        raise InvalidValue(f"Intensities must be in [0, 1], not values in "
                           f"[{np.nanmin(x)}, {np.nanmax(x)}]")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise InvalidValue(f"Steps must be a non-negative integer, not {steps!r}")
    if not 0.0 <= rate <= 1.0:
        raise InvalidValue(f"Rate must be a probability in [0, 1], not {rate}")
    rng = np.random.default_rng(seed)
    p = (x * rate)[..., None, :]
    shape = x.shape[:-1] + (steps, x.shape[-1])
    return (rng.random(shape) < p).astype(np.uint8)
