"""Seeded random networks and stimulus, shared by the golden, RTL and CLI tests.

Every generator takes a ``numpy.random.Generator`` (or a seed) so that a failing case is
replayed from the seed printed in its message.
"""

import numpy as np

from spikefab.golden import Hardware, Network, Population, Projection, Stdp


def random_network(seed, max_pops=3, max_size=12, max_inputs=8, plastic=True, recurrent=True,
                   hardware=None, adaptive=False, modulated=False):
    """A random valid network: 1..max_pops populations, random projections and widths; with
    ``adaptive``, about half the populations get an adaptive threshold (drawn from a generator
    of their own, so the rest of the network is the one of the same seed without it)."""
    rng = np.random.default_rng(seed)
    hw = hardware or Hardware(
        current_bits=int(rng.integers(6, 25)), voltage_bits=int(rng.integers(6, 25)),
        weight_bits=int(rng.integers(3, 10)), trace_bits=int(rng.integers(3, 10)),
        refractory_bits=int(rng.integers(1, 5)))
    vmax = 2 ** (hw.voltage_bits - 1) - 1
    wmax = hw.weight_max
    npop = int(rng.integers(1, max_pops + 1))
    pops = []
    for n in range(npop):
        pops.append(Population(
            name=f"p{n}", size=int(rng.integers(1, max_size + 1)),
            threshold=int(rng.integers(0, max(1, vmax // 4))),
            du=int(rng.choice([0, 4096, rng.integers(0, 4097), 2048, 1])),
            dv=int(rng.choice([0, 4096, rng.integers(0, 4097), 1024])),
            bias=int(rng.integers(-vmax // 16, vmax // 16 + 1)),
            refractory=int(rng.integers(0, 2 ** hw.refractory_bits)),
            reset=str(rng.choice(["zero", "subtract"])), output=bool(rng.integers(2)),
            **(_random_theta(seed, n, vmax) if adaptive else {})))
    inputs = int(rng.integers(1, max_inputs + 1))
    sizes = {"input": inputs, **{p.name: p.size for p in pops}}
    projs = []
    for p in pops:
        sources = ["input"] + [q.name for q in pops if recurrent or q.name != p.name]
        for src in rng.choice(sources, size=int(rng.integers(1, 3)), replace=True):
            shape = (sizes[str(src)], p.size)
            st = None
            if plastic and rng.random() < 0.5:
                lo = int(rng.integers(-wmax, wmax + 1))
                hi = int(rng.integers(lo, wmax + 1))
                st = Stdp(a_plus=int(rng.integers(0, 256)), a_minus=int(rng.integers(0, 256)),
                          shift=int(rng.integers(0, 16)),
                          d_pre=int(rng.choice([0, 4096, rng.integers(0, 4097)])),
                          d_post=int(rng.choice([0, 4096, rng.integers(0, 4097)])),
                          x_inc=int(rng.integers(0, 2 ** hw.trace_bits)),
                          y_inc=int(rng.integers(0, 2 ** hw.trace_bits)), w_min=lo, w_max=hi,
                          **(_random_modulation(seed, len(projs)) if modulated else {}))
                w = rng.integers(lo, hi, size=shape, endpoint=True)
            else:
                w = rng.integers(-wmax, wmax, size=shape, endpoint=True)
                w[rng.random(shape) < 0.3] = 0
            projs.append(Projection(source=str(src), target=p.name, weights=w,
                                    weight_shift=int(rng.integers(0, 7)), stdp=st))
    return Network(name=f"random_{seed}", inputs=inputs, populations=pops, projections=projs,
                   hardware=hw)


def random_inputs(seed, net, steps, rate=None, batch=None):
    """Bernoulli 0/1 inputs ``(T, inputs)``, or ``(B, T, inputs)`` with ``batch``."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.05, 0.6) if rate is None else rate
    shape = (steps, net.inputs) if batch is None else (batch, steps, net.inputs)
    return (rng.random(shape) < p).astype(np.uint8)


def random_multicore_network(seed, plastic=False, adaptive=False, modulated=False):
    """2-4 populations of 1-40 neurons, recurrent, excitatory and inhibitory projections, several
    projections into one population with their own shifts, random widths. With ``plastic``,
    each projection is plastic with probability 1/2 (at least one is): a random STDP rule
    (corner values of the decays, shifts and increments often drawn), weights drawn inside its
    bounds; the static network of the same seed keeps its shape. With ``adaptive``, about
    half the populations get an adaptive threshold (``docs/spec.md`` v1.2), the rest of the
    network being the one of the same seed without; with ``modulated`` (and ``plastic``),
    about half the plastic projections get the third factor with a random modulation."""
    net = _random_multicore_network(seed)
    if adaptive:
        vmax = 2 ** (net.hardware.voltage_bits - 1) - 1
        pops = [Population(**{**q.__dict__, **_random_theta(seed, n, vmax)})
                for n, q in enumerate(net.populations)]
        if not any(q.adaptive for q in pops):
            pops[0] = Population(**{**pops[0].__dict__, "theta_bits": 4, "theta_inc": 9,
                                    "theta_decay": 300})
        net = Network(f"adaptive_{seed}", net.inputs, tuple(pops), net.projections,
                      net.hardware)
    if not plastic:
        return net
    rng = np.random.default_rng([seed, 77])
    hw = Hardware(**{**net.hardware.__dict__, "trace_bits": int(rng.integers(3, 10))})
    wmax = hw.weight_max
    flags = rng.random(len(net.projections)) < 0.5
    flags[int(rng.integers(len(flags)))] = True
    projs = []
    for pr, on in zip(net.projections, flags):
        if not on:
            projs.append(pr)
            continue
        lo = int(rng.choice([-wmax, 0, rng.integers(-wmax, wmax + 1)]))
        hi = int(rng.choice([wmax, rng.integers(lo, wmax + 1)]))
        hi = max(lo, hi)
        tmax = 2 ** hw.trace_bits - 1
        st = Stdp(a_plus=int(rng.choice([0, 255, rng.integers(0, 256)])),
                  a_minus=int(rng.choice([0, 255, rng.integers(0, 256)])),
                  shift=int(rng.choice([0, 15, rng.integers(0, 16)])),
                  d_pre=int(rng.choice([0, 4096, rng.integers(0, 4097)])),
                  d_post=int(rng.choice([0, 4096, rng.integers(0, 4097)])),
                  x_inc=int(rng.choice([tmax, rng.integers(0, tmax + 1)])),
                  y_inc=int(rng.choice([tmax, rng.integers(0, tmax + 1)])), w_min=lo, w_max=hi,
                  **(_random_modulation(seed, len(projs)) if modulated else {}))
        w = np.clip(pr.weights, lo, hi)
        projs.append(Projection(pr.source, pr.target, w, weight_shift=pr.weight_shift, stdp=st))
    return Network(f"plastic_{seed}", net.inputs, net.populations, projs, hw)


def _random_multicore_network(seed):
    rng = np.random.default_rng(seed)
    hw = Hardware(current_bits=int(rng.integers(8, 25)), voltage_bits=int(rng.integers(8, 25)),
                  weight_bits=int(rng.integers(3, 9)), refractory_bits=int(rng.integers(1, 4)))
    vmax, wmax = 2 ** (hw.voltage_bits - 1) - 1, hw.weight_max
    pops = [Population(
        name=f"p{n}", size=int(rng.integers(1, 41)),
        threshold=int(rng.integers(0, max(1, vmax // 8))),
        du=int(rng.choice([0, 4096, rng.integers(0, 4097)])),
        dv=int(rng.choice([0, 4096, rng.integers(0, 4097)])),
        bias=int(rng.integers(-vmax // 32, vmax // 32 + 1)),
        refractory=int(rng.integers(0, 2 ** hw.refractory_bits)),
        reset=str(rng.choice(["zero", "subtract"])), output=bool(rng.integers(2)))
        for n in range(int(rng.integers(2, 5)))]
    inputs = int(rng.integers(1, 17))
    sizes = {"input": inputs, **{p.name: p.size for p in pops}}
    sources = ["input"] + [p.name for p in pops]
    projs = []
    for p in pops:
        for src in rng.choice(sources, size=int(rng.integers(1, 4))):
            shape = (sizes[str(src)], p.size)
            kind = rng.integers(3)     # excitatory, inhibitory, mixed
            w = rng.integers(0, wmax, size=shape, endpoint=True)
            if kind == 1:
                w = -w
            elif kind == 2:
                w = rng.integers(-wmax, wmax, size=shape, endpoint=True)
            w[rng.random(shape) < 0.3] = 0
            projs.append(Projection(str(src), p.name, w, weight_shift=int(rng.integers(0, 4))))
    if not any(p.output for p in pops):
        pops[0] = Population(**{**pops[0].__dict__, "output": True})
    return Network(f"multi_{seed}", inputs, pops, projs, hw)


def random_capacity(seed, net):
    """A core capacity that splits some populations and packs others."""
    rng = np.random.default_rng([seed, 1])
    need = max(sum(net.source_size(q.source) for q in net.projections if q.target == p.name)
               for p in net.populations)
    n_cap = int(rng.integers(3, 25))
    a_cap = max(need, 1) + int(rng.integers(0, 40))
    return n_cap, a_cap


def small_network():
    """The small static network of the link and simulated-board tests (one quick build)."""
    return random_network(2, max_pops=2, max_size=6, max_inputs=4, plastic=False)


#: Variants steered at what uniform draws seldom reach (see :func:`variant`).
STEERED = ("flood", "saturate")


def variant(net, seed, steer=None):
    """A network of the same shape as ``net`` (populations, projections, shifts, widths,
    outputs, which projections learn) with new weights, neuron parameters and learning rules:
    what the configuration port can change.

    ``steer`` aims it where uniform draws seldom go: ``"flood"`` (every weight at its
    maximum, thresholds 0 and the largest bias: every neuron spikes every step, so that with
    slow output backpressure the cores' and the router's queues fill up), ``"saturate"``
    (weights at both extremes, no leak, the bias at both ends: currents and voltages
    saturate both ways)."""
    if steer is not None and steer not in STEERED:
        raise ValueError(f"steer must be one of {STEERED}, not {steer!r}")
    rng = np.random.default_rng([seed, 43])
    hw = net.hardware
    vmax, wmax = 2 ** (hw.voltage_bits - 1) - 1, hw.weight_max
    pops = [Population(**{**q.__dict__,
                          "threshold": int(rng.integers(0, max(1, vmax // 8))),
                          "du": int(rng.choice([0, 4096, rng.integers(0, 4097)])),
                          "dv": int(rng.choice([0, 4096, rng.integers(0, 4097)])),
                          "bias": int(rng.integers(-vmax // 32, vmax // 32 + 1)),
                          "refractory": int(rng.integers(0, 2 ** hw.refractory_bits)),
                          "reset": str(rng.choice(["zero", "subtract"]))})
            for q in net.populations]
    projs = []
    tmax = 2 ** hw.trace_bits - 1
    for pr in net.projections:
        st = None
        lo, hi = -wmax, wmax
        if pr.stdp is not None:
            lo = int(rng.integers(-wmax, wmax + 1))
            hi = int(rng.integers(lo, wmax + 1))
            st = Stdp(a_plus=int(rng.integers(0, 256)), a_minus=int(rng.integers(0, 256)),
                      shift=int(rng.integers(0, 16)), d_pre=int(rng.integers(0, 4097)),
                      d_post=int(rng.integers(0, 4097)), x_inc=int(rng.integers(0, tmax + 1)),
                      y_inc=int(rng.integers(0, tmax + 1)), w_min=lo, w_max=hi,
                      **({"modulated": True,
                          "modulation": int(np.random.default_rng([seed, 45]).choice(
                              [256, -256, 0, np.random.default_rng([seed, 46]).integers(
                                  -256, 257)]))} if pr.stdp.modulated else {}))
        w = rng.integers(lo, hi, size=pr.weights.shape, endpoint=True)
        w[rng.random(w.shape) < 0.3] = 0 if lo <= 0 <= hi else lo
        if steer == "flood":
            w[:] = hi
        elif steer == "saturate":
            w = np.where(rng.random(w.shape) < 0.5, lo, hi)
        projs.append(Projection(pr.source, pr.target, w, weight_shift=pr.weight_shift,
                                stdp=st))
    if steer == "flood":
        pops = [Population(**{**q.__dict__, "threshold": 0, "bias": vmax // 32,
                              "refractory": 0}) for q in pops]
    elif steer == "saturate":
        pops = [Population(**{**q.__dict__, "du": 0, "dv": 0,
                              "bias": int(rng.choice([-(vmax // 32), vmax // 32]))})
                for q in pops]
    # the adaptive threshold's run-time values, from a generator of their own
    trng = np.random.default_rng([seed, 44])
    pops = [q if not q.adaptive else Population(**{
        **q.__dict__,
        "theta_inc": int(trng.choice([0, 2 ** q.theta_bits - 1,
                                      trng.integers(0, 2 ** q.theta_bits)])),
        "theta_decay": int(trng.choice([0, 4096, trng.integers(0, 4097)]))}) for q in pops]
    return Network(f"{net.name}_v{seed}", net.inputs, pops, projs, hw)


def _random_theta(seed, n, vmax):
    """Adaptive threshold parameters of population ``n`` of network ``seed`` (or none): widths
    from 1 bit (saturating at once) to 16, increments up to the full range, every decay kind."""
    rng = np.random.default_rng([seed, n, 0x7E7A])
    if rng.random() < 0.4:
        return {}
    bits = int(rng.choice([1, 3, int(rng.integers(1, 17)), 16]))
    top = 2 ** bits - 1
    return {"theta_bits": bits,
            "theta_inc": int(rng.choice([0, top, rng.integers(0, top + 1),
                                         min(top, max(1, vmax // 8))])),
            "theta_decay": int(rng.choice([0, 4096, rng.integers(0, 4097), 64]))}


def _random_modulation(seed, k):
    """The third factor of plastic projection ``k`` of network ``seed`` (or none): modulations
    at both extremes, zero, "one", and anywhere between."""
    rng = np.random.default_rng([seed, k, 0x3F])
    if rng.random() < 0.4:
        return {}
    return {"modulated": True,
            "modulation": int(rng.choice([256, -256, 0, -1, 1, rng.integers(-256, 257)]))}

