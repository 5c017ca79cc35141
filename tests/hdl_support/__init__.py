"""Shared stimulus and drivers of the RTL tests (Amaranth simulator and cocotb).

Every random choice comes from a seed that the failure messages print.
"""

import numpy as np

from spikefab.golden import Network, Population, Projection

from netgen import random_network

__all__ = ["core_network", "core_lanes"]


def core_network(seed, max_size=12, max_inputs=8):
    """A random single-population, static network: what one core runs.

    Sizes, widths, decays (0, 4096 and random), reset modes, refractory, signed weights,
    shifts, recurrent or not all vary with the seed.
    """
    net = random_network(seed, max_pops=1, max_size=max_size, max_inputs=max_inputs,
                         plastic=False, recurrent=True)
    return net


def core_lanes(seed):
    """A lane count for ``seed``: 1 half of the time, else 2..4."""
    rng = np.random.default_rng([seed, 7])
    return 1 if rng.random() < 0.5 else int(rng.integers(2, 5))


def single_core_network(name, size, inputs, weights_in, threshold=100, du=0, dv=0, bias=0,
                        refractory=0, reset="zero", hardware=None, recurrent=None,
                        shift_in=0, shift_rec=0):
    """A hand-written one-population network (for directed tests)."""
    pop = Population(name="p0", size=size, threshold=threshold, du=du, dv=dv, bias=bias,
                     refractory=refractory, reset=reset, output=True)
    projs = [Projection("input", "p0", np.asarray(weights_in), weight_shift=shift_in)]
    if recurrent is not None:
        projs.append(Projection("p0", "p0", np.asarray(recurrent), weight_shift=shift_rec))
    kw = {} if hardware is None else {"hardware": hardware}
    return Network(name=name, inputs=inputs, populations=(pop,), projections=tuple(projs), **kw)
