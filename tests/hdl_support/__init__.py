"""Shared stimulus and drivers of the RTL tests (Amaranth simulator and cocotb).

Every random choice comes from a seed that the failure messages print.
"""

import numpy as np

from spikefab.golden import Hardware, Network, Population, Projection, Stdp

from ..netgen import random_network

__all__ = ["core_network", "core_lanes", "plastic_network"]


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


def random_stdp(rng, hw):
    """A random learning rule for ``hw``: rates, shifts and decays often at their ends."""
    wmax, tmax = hw.weight_max, 2 ** hw.trace_bits - 1
    lo = int(rng.choice([-wmax, 0, rng.integers(-wmax, wmax + 1)]))
    hi = int(rng.choice([wmax, rng.integers(lo, wmax + 1)]))
    hi = max(lo, hi)

    def pick(*choices):
        return int(rng.choice(choices))

    return Stdp(a_plus=pick(0, 255, rng.integers(1, 256), rng.integers(1, 256)),
                a_minus=pick(0, 255, rng.integers(1, 256), rng.integers(1, 256)),
                shift=pick(0, 15, rng.integers(0, 16), rng.integers(0, 16)),
                d_pre=pick(0, 4096, rng.integers(0, 4097), rng.integers(0, 4097)),
                d_post=pick(0, 4096, rng.integers(0, 4097), rng.integers(0, 4097)),
                x_inc=pick(0, tmax, rng.integers(0, tmax + 1), rng.integers(0, tmax + 1)),
                y_inc=pick(0, tmax, rng.integers(0, tmax + 1), rng.integers(0, tmax + 1)),
                w_min=lo, w_max=hi)


def plastic_network(seed, max_size=10, max_inputs=6):
    """A random, active single-population network with at least one plastic projection:
    widths, STDP parameters (0, 255, 0/15 shifts, 0/4096 decays, saturating increments,
    bounds at the ends of the weight range) and a recurrent projection (plastic or not) vary
    with the seed."""
    rng = np.random.default_rng([seed, 5])
    hw = Hardware(current_bits=int(rng.integers(8, 20)), voltage_bits=int(rng.integers(8, 20)),
                  weight_bits=int(rng.integers(3, 10)), trace_bits=int(rng.integers(2, 10)),
                  refractory_bits=int(rng.integers(1, 4)))
    wmax = hw.weight_max
    n = int(rng.integers(1, max_size + 1))
    inputs = int(rng.integers(1, max_inputs + 1))
    vmax = 2 ** (hw.voltage_bits - 1) - 1
    pop = Population(name="p0", size=n, threshold=int(rng.integers(0, min(wmax, vmax) + 1)),
                     du=int(rng.choice([0, 4096, rng.integers(0, 4097)])),
                     dv=int(rng.choice([0, 4096, rng.integers(0, 4097)])),
                     bias=int(rng.integers(-1, 4)),
                     refractory=int(rng.integers(0, min(3, 2 ** hw.refractory_bits))),
                     reset=str(rng.choice(["zero", "subtract"])), output=True)
    projs = []
    for src, size in (("input", inputs), ("p0", n)):
        if src == "p0" and rng.random() < 0.4:
            continue
        plastic = src == "input" or rng.random() < 0.6
        st = random_stdp(rng, hw) if plastic else None
        lo, hi = (st.w_min, st.w_max) if st else (-wmax, wmax)
        w = rng.integers(lo, hi, size=(size, n), endpoint=True)
        projs.append(Projection(src, "p0", w, weight_shift=int(rng.integers(0, 3)), stdp=st))
    return Network(name=f"plastic_{seed}", inputs=inputs, populations=(pop,),
                   projections=tuple(projs), hardware=hw)
