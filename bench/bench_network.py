"""Network benchmark: router events per clock under load, and whole-network cycles per step
against the formula of ``docs/network.md``.

Run: ``python bench/bench_network.py [--sim icarus|verilator] [--steps N]``. Prints the figures
(``docs/benchmarks.md`` records them).
"""

import argparse
import time

import numpy as np
from amaranth.sim import Simulator

from spikefab.golden import Hardware, Network, Population, Projection, Stdp, simulate
from spikefab.shape.latency import BARRIER_LATENCY, step_cycles
from spikefab.shape.latency import row_clocks
from spikefab.shape.network import derive
from spikefab.sim.network import run_networks
from spikefab.hdl.router import Router
from spikefab.shape.router import RouterParams


def router_load(fanout, ready_prob, events=400, cores=4, seed=0):
    """The router alone (Amaranth simulator): ``events`` host events, each with ``fanout``
    destinations spread over the cores, input always valid, every output ready with
    ``ready_prob``. Returns (entries delivered, clocks from first input to last output)."""
    inputs = 64
    dests = [(k % cores, (j * 7 + k) % 64) for j in range(inputs) for k in range(fanout)]
    p = RouterParams(inputs=inputs, core_neurons=(64,) * cores, entries=len(dests),
                     index_bits=6, pointers=[(j * fanout, fanout) for j in range(inputs)]
                     + [(0, 0)] * (64 * cores),
                     destinations=dests)
    dut = Router(p)
    rng = np.random.default_rng(seed)
    chans = rng.integers(0, inputs, events)
    got = {"n": 0, "first": None, "last": None}

    async def tb(ctx):
        sent, clock = 0, 0
        while got["n"] < events * fanout:
            ctx.set(dut.i_host.valid, int(sent < events))
            ctx.set(dut.i_host.payload, int(chans[min(sent, events - 1)]))
            for c in range(cores):
                ctx.set(dut.o_event[c].ready, int(rng.random() < ready_prob))
            ctx.set(dut.o_host.ready, 1)
            if sent < events and ctx.get(dut.i_host.ready):
                if got["first"] is None:
                    got["first"] = clock
                sent += 1
            for c in range(cores):
                if ctx.get(dut.o_event[c].valid) and ctx.get(dut.o_event[c].ready):
                    got["n"] += 1
                    got["last"] = clock
            await ctx.tick()
            clock += 1

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    return got["n"], got["last"] - got["first"] + 1


def bench_net(kind, seed=0):
    """Benchmark networks: ``idle`` (2 x 64, no input), ``feedforward`` (input -> 64 -> 64,
    fan-out 2 for the inputs), ``recurrent`` (4 x 48, recurrent and inhibitory), ``plastic``
    (STDP from 32 inputs onto 64 excitatory neurons, 16 inhibitory ones feeding back, all on
    one shared core), ``shared`` (the recurrent network with 4 x 12 neurons: one core holds
    all four populations)."""
    rng = np.random.default_rng(seed)
    hw = Hardware()
    if kind == "plastic":
        st = Stdp(a_plus=4, a_minus=3, shift=6, d_pre=512, d_post=512, x_inc=64, y_inc=64,
                  w_min=0, w_max=127)
        pops = [Population("exc", 64, 300, du=1024, dv=512, refractory=2, output=True),
                Population("inh", 16, 200, du=2048, dv=512)]
        projs = [Projection("input", "exc", rng.integers(0, 64, (32, 64)), stdp=st),
                 Projection("exc", "inh", rng.integers(0, 40, (64, 16))),
                 Projection("inh", "exc", rng.integers(-60, 0, (16, 64)))]
        return Network(kind, 32, pops, projs, hw)
    if kind == "shared":
        pops = [Population(f"p{k}", 12, 150, du=1024, dv=512, refractory=2, output=k == 3)
                for k in range(4)]
        projs = [Projection("input", "p0", rng.integers(0, 60, (16, 12)))]
        for k in range(1, 4):
            projs.append(Projection(f"p{k - 1}", f"p{k}", rng.integers(-5, 45, (12, 12))))
        projs.append(Projection("p3", "p0", rng.integers(-40, 0, (12, 12))))
        return Network(kind, 16, pops, projs, hw)
    if kind == "idle":
        pops = [Population("a", 64, 100), Population("b", 64, 100, output=True)]
        projs = [Projection("input", "a", np.zeros((8, 64), np.int64)),
                 Projection("a", "b", np.zeros((64, 64), np.int64))]
        return Network(kind, 8, pops, projs, hw)
    if kind == "feedforward":
        pops = [Population("a", 64, 200, du=1024, dv=512),
                Population("b", 64, 200, du=1024, dv=512, output=True)]
        projs = [Projection("input", "a", rng.integers(0, 60, (32, 64))),
                 Projection("input", "b", rng.integers(0, 20, (32, 64))),
                 Projection("a", "b", rng.integers(-10, 40, (64, 64)))]
        return Network(kind, 32, pops, projs, hw)
    pops = [Population(f"p{k}", 48, 150, du=1024, dv=512, refractory=2, output=k == 3)
            for k in range(4)]
    projs = [Projection("input", "p0", rng.integers(0, 60, (16, 48)))]
    for k in range(1, 4):
        projs.append(Projection(f"p{k - 1}", f"p{k}", rng.integers(-5, 45, (48, 48))))
    projs.append(Projection("p3", "p0", rng.integers(-40, 0, (48, 48))))      # inhibitory
    projs.append(Projection("p1", "p1", rng.integers(-20, 20, (48, 48))))     # recurrent
    return Network(kind, 16, pops, projs, hw)


def update_clocks(p, spikes, t):
    """``U``: clocks of the slowest core's update phase in step ``t`` (``step_cycles`` with no
    events: ``rows + UPDATE_LATENCY`` for a static core; a plastic core adds its pre-trace
    sweep and the LTP pass over its spiking rows)."""
    m = p.mapping
    worst = 0
    for core, cp, ram in zip(m.cores, p.cores, p.weight_rams):
        fired = set()
        for seg in core.segments:
            for i in np.flatnonzero(spikes[seg.population][t][seg.start:seg.start + seg.size]):
                fired.add((seg.offset + int(i)) // cp.lanes)
        worst = max(worst, step_cycles(cp, 0, None, len(fired), ram))
    return worst


def step_formula(p, x, spikes):
    """Lower and upper bound of each step's period (start to next start), and its destination
    entries.

    Step ``t`` (outputs always ready): the cores update in ``U`` clocks (the slowest core's
    update phase, :func:`update_clocks`, and the registered barrier: ``R + UPDATE_LATENCY +
    BARRIER_LATENCY`` with ``R`` the largest core's rows when no core is plastic); then the router delivers the step's entries (spikes of
    step ``t`` and inputs of step ``t + 1``), one per clock at best, while core ``c`` takes
    one axon event per ``rows_c`` clocks (``2 rows_c`` for a plastic core on single-port
    weights) and the router's in-order output lets a busy core hold up the others: between
    ``max(E, max_c E_c rows_c)`` and ``sum_c E_c rows_c + E_host`` clocks.
    """
    m = p.mapping
    rows = [cp.rows * row_clocks(cp, ram) for cp, ram in zip(p.cores, p.weight_rams)]
    T = x.shape[0]
    lo, hi, ent = np.zeros(T, np.int64), np.zeros(T, np.int64), np.zeros(T, np.int64)
    for t in range(T):
        U = update_clocks(p, spikes, t) + BARRIER_LATENCY
        srcs = []
        for q in m.net.populations:
            srcs += [m.source_id(q.name, i) for i in np.flatnonzero(spikes[q.name][t])]
        if t + 1 < T:
            srcs += [int(j) for j in np.flatnonzero(x[t + 1])]
        per_core = np.zeros(len(rows), np.int64)
        host = 0
        for s in srcs:
            for port, _ in m.table[s]:
                if port == m.host_port:
                    host += 1
                else:
                    per_core[port] += 1
        e = int(per_core.sum()) + host
        ent[t] = e
        work = per_core * np.array(rows)
        lo[t] = U + max(e, int(work.max(initial=0)))
        hi[t] = U + int(work.sum()) + host + 8
    return lo, hi, ent


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sim", default="verilator", choices=["icarus", "verilator"])
    ap.add_argument("--steps", type=int, default=60)
    args = ap.parse_args()

    print("router alone (Amaranth simulator), 400 host events, 4 cores, input always valid:")
    print(f"  {'fan-out':>7} {'ready':>6} {'entries':>8} {'clocks':>7} {'events/clock':>12}")
    for fanout in (1, 4):
        for ready in (1.0, 0.9, 0.5):
            n, clocks = router_load(fanout, ready)
            print(f"  {fanout:>7} {ready:>6.1f} {n:>8} {clocks:>7} {n / clocks:>12.2f}")

    print(f"\nwhole network on {args.sim}, {args.steps} steps, outputs always ready, checked "
          f"against the golden model; cycles/step = start to next start:")
    print(f"  {'network':<12} {'cores':>5} {'rows':>5} {'entries/step':>12} "
          f"{'cycles/step':>11} {'lower':>7} {'upper':>7} {'events/clock':>12} {'wall s':>6}")
    for kind in ("idle", "feedforward", "recurrent", "plastic", "shared"):
        net = bench_net(kind)
        rng = np.random.default_rng(1)
        x = (rng.random((args.steps, net.inputs)) < 0.15).astype(np.uint8)
        t0 = time.time()
        options = {"outputs": [q.name for q in net.populations]}
        job = {"net": net, "inputs": x, "options": options, "check": True, "seed": 1}
        res = run_networks([job], args.sim, name=f"bench-{kind}")[0]
        wall = time.time() - t0
        p = derive(net, **options)
        lo, hi, ent = step_formula(p, x, simulate(net, x).spikes)
        # a step's period: from its start to the next step's start (the last step has none).
        # The last event a core takes in a period is accumulated (rows clocks) after the
        # barrier, while the next start waits for it: single periods shift by up to R, so
        # the bounds hold for the sum over the run.
        per = np.diff(res["starts"])
        lo, hi, ent = lo[:-1], hi[:-1], ent[:-1]
        R = max(c.rows for c in p.cores)
        assert lo.sum() - R <= per.sum() <= hi.sum() + R, (kind, per.sum(), lo.sum(), hi.sum())
        print(f"  {kind:<12} {len(p.cores):>5} {max(c.rows for c in p.cores):>5} "
              f"{ent.mean():>12.1f} {per.mean():>11.1f} {lo.mean():>7.1f} {hi.mean():>7.1f} "
              f"{ent.sum() / per.sum():>12.2f} {wall:>6.1f}")


if __name__ == "__main__":
    main()
