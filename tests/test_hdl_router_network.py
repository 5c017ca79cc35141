"""The router in a network: RTL router (Amaranth simulator) between Python models of the cores.

Each core model behaves like the neuron core at its ports: it accepts axon events only in its
event phase (random ``ready``), accumulates ``W[slot] << shift[slot]`` exactly, and after
``start`` runs the golden ``lif_step`` on each of its segments and emits its spikes (random
order, random ``valid`` gaps) before it is done and accepts events again. The host sends the
inputs of step ``t + 1`` while step ``t`` runs. A step starts at the barrier: the host's inputs
sent, every core done, the router ``idle``. Spikes, ``u``, ``v`` and the host output events
(with their step tags) must equal ``spikefab.golden.simulate``; this is the router, the mapping
and the barrier protocol of the network top, checked before the top exists.
"""

import numpy as np
import pytest
from amaranth.sim import Simulator

from spikefab.golden import lif_step, simulate
from spikefab.shape.mapping import map_network
from spikefab.hdl.router import Router
from spikefab.shape.router import RouterParams

from .netgen import random_capacity, random_inputs, random_multicore_network


def run_network(m, x, seed, valid_prob=0.7, ready_prob=0.7, max_phase=20000):
    """Run mapping ``m`` on inputs ``x`` ``(T, inputs)``; return per-population spikes, u, v
    ``(T, size)``, the host output events ``[(step, host id)]`` and the clocks per step."""
    net, hw = m.net, m.net.hardware
    p = RouterParams.from_mapping(m, step_bits=16)
    dut = Router(p)
    rng = np.random.default_rng([seed, 21])
    what = f"seed {seed}"
    steps = x.shape[0]
    shifts = []
    for c in m.cores:
        s = np.zeros(c.axons, np.int64)
        for g in c.groups:
            s[g.offset:g.offset + g.size] = g.shift
        shifts.append(s)
    out = {k: {q.name: np.zeros((steps, q.size), np.int64) for q in net.populations}
           for k in ("spikes", "u", "v")}
    host, clocks = [], []

    async def tb(ctx):
        C = len(m.cores)
        acc = [np.zeros(c.neurons, np.int64) for c in m.cores]
        u = [np.zeros(c.neurons, np.int64) for c in m.cores]
        v = [np.zeros(c.neurons, np.int64) for c in m.cores]
        r = [np.zeros(c.neurons, np.int64) for c in m.cores]
        emit = [[] for _ in range(C)]          # spikes a core still has to emit
        hold = [None] * C                      # spike offered on i_spike[c]
        hold_host = None
        for t in range(steps + 1):
            pending = [int(j) for j in rng.permutation(np.flatnonzero(x[t]))] \
                if t < steps else []
            phase_clocks = 0
            while True:
                # drive: host inputs, core spikes, event readiness (only cores that are done)
                if hold_host is None and pending and rng.random() < valid_prob:
                    hold_host = pending.pop(0)
                    ctx.set(dut.i_host.valid, 1)
                    ctx.set(dut.i_host.payload, hold_host)
                for c in range(C):
                    if hold[c] is None and emit[c] and rng.random() < valid_prob:
                        hold[c] = emit[c].pop(0)
                        ctx.set(dut.i_spike[c].valid, 1)
                        ctx.set(dut.i_spike[c].payload, hold[c])
                    done = hold[c] is None and not emit[c]
                    ctx.set(dut.o_event[c].ready, int(done and rng.random() < ready_prob))
                ctx.set(dut.o_host.ready, int(rng.random() < ready_prob))
                cores_done = all(h is None and not e for h, e in zip(hold, emit))
                if (hold_host is None and not pending and cores_done and ctx.get(dut.idle)):
                    break
                # sample transfers
                host_go = hold_host is not None and ctx.get(dut.i_host.ready)
                spike_go = [hold[c] is not None and ctx.get(dut.i_spike[c].ready)
                            for c in range(C)]
                for c in range(C):
                    o = dut.o_event[c]
                    if ctx.get(o.valid) and ctx.get(o.ready):
                        slot = ctx.get(o.payload)
                        assert slot < m.cores[c].axons, f"{what}: core {c} got slot {slot}"
                        acc[c] += m.cores[c].weights[slot] << shifts[c][slot]
                if ctx.get(dut.o_host.valid) and ctx.get(dut.o_host.ready):
                    host.append((ctx.get(dut.o_host.payload.step),
                                 ctx.get(dut.o_host.payload.neuron)))
                await ctx.tick()
                phase_clocks += 1
                if host_go:
                    hold_host = None
                    ctx.set(dut.i_host.valid, 0)
                for c in range(C):
                    if spike_go[c]:
                        hold[c] = None
                        ctx.set(dut.i_spike[c].valid, 0)
                if phase_clocks > max_phase:
                    raise AssertionError(f"{what}: step {t}: barrier not reached after "
                                         f"{max_phase} clocks")
            if t > 0:
                clocks.append(phase_clocks)
            if t == steps:
                break
            # start step t: every core updates its segments and queues its spikes
            ctx.set(dut.step, t)
            for core in m.cores:
                k = core.index
                spikes = np.zeros(core.neurons, bool)
                for seg in core.segments:
                    sl = slice(seg.offset, seg.offset + seg.size)
                    u[k][sl], v[k][sl], r[k][sl], spikes[sl] = lif_step(
                        u[k][sl], v[k][sl], r[k][sl], acc[k][sl],
                        net.population(seg.population), hw)
                    gl = slice(seg.start, seg.start + seg.size)
                    out["spikes"][seg.population][t, gl] = spikes[sl]
                    out["u"][seg.population][t, gl] = u[k][sl]
                    out["v"][seg.population][t, gl] = v[k][sl]
                acc[k][:] = 0
                emit[k] = [int(i) for i in rng.permutation(np.flatnonzero(spikes))]

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    return out, sorted(host), clocks


def check_network(seed, steps=8, **kw):
    net = random_multicore_network(seed)
    m = map_network(net, *random_capacity(seed, net))
    x = random_inputs(seed, net, steps, rate=0.5)
    got, host, clocks = run_network(m, x, seed, **kw)
    want = simulate(net, x, record_state=True)
    for field in ("spikes", "u", "v"):
        for pop in net.populations:
            g, w = got[field][pop.name], np.asarray(getattr(want, field)[pop.name], np.int64)
            if not np.array_equal(g, w):
                t, i = (int(a) for a in np.argwhere(g != w)[0])
                pytest.fail(f"seed {seed}: step {t}, {field} of {pop.name}[{i}]: router "
                            f"network {g[t, i]}, golden {w[t, i]}")
    expect = sorted((int(t), m.host_id(q.name, int(i))) for q in net.populations if q.output
                    for t, i in np.argwhere(want.spikes[q.name]))
    assert host == expect, f"seed {seed}: host output events (step, host id) differ"
    return m, clocks


@pytest.mark.parametrize("seed", range(12))
def test_router_network_matches_golden(seed):
    rng = np.random.default_rng([seed, 22])
    valid_prob, ready_prob = (float(a) for a in rng.uniform(0.3, 1.0, size=2))
    m, _ = check_network(seed, valid_prob=valid_prob, ready_prob=ready_prob)
    assert len(m.cores) >= 2


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12, 112))
def test_router_network_matches_golden_sweep(seed):
    rng = np.random.default_rng([seed, 22])
    valid_prob, ready_prob = (float(a) for a in rng.uniform(0.2, 1.0, size=2))
    check_network(seed, steps=12, valid_prob=valid_prob, ready_prob=ready_prob)


@pytest.mark.seed(4)
def test_router_network_catches_a_misrouted_event(seed):
    """The check can fail: one destination of the hardware table points at the wrong slot."""
    net = random_multicore_network(seed)
    m = map_network(net, *random_capacity(seed, net))
    ptrs = m.pointer_words()
    # pick a source with a core destination that is driven often (an input channel)
    s = next(j for j in range(net.inputs) if any(d[0] != m.host_port for d in m.table[j]))
    k = next(i for i, d in enumerate(m.table[s]) if d[0] != m.host_port)
    core, slot = m.table[s][k]
    bad = list(m.table)
    bad[s] = tuple((core, (slot + 1) % m.cores[core].axons) if i == k else d
                   for i, d in enumerate(m.table[s]))
    object.__setattr__(m, "table", tuple(bad))
    assert m.pointer_words() == ptrs
    x = np.ones((6, net.inputs), np.uint8)
    got, _, _ = run_network(m, x, seed, 1.0, 1.0)
    want = simulate(net, x, record_state=True)
    assert any(not np.array_equal(got["u"][q.name], want.u[q.name]) for q in net.populations)
