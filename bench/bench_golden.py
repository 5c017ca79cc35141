"""Golden model speed against Brian2 (numpy code generation) on the same LIF network.

A 1,000-neuron recurrent network with 10% connectivity (100,000 recurrent synapses) driven by
100 rate-coded input channels (10% connectivity, 10,000 synapses). Both simulators run the same
discrete-time current-based LIF (docs/spec.md section 2: u decays then integrates the step's
input, v decays and integrates u, spike when v > vth, reset to zero); spikefab in exact
integers, Brian2 in float64 with the same constants. Both are timed on the run alone, after a
warm-up, in this one process, and the ratio is printed.

    python bench/bench_golden.py [--steps 2000] [--write docs/benchmarks.md]
"""

import argparse
import os
import sys
import time
from datetime import date

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from report import machine, write_section  # noqa: E402

from spikefab.golden import (Hardware, Network, Population, Projection,  # noqa: E402
                             Simulator, rate_encode)

N, INPUTS, DENSITY = 1000, 100, 0.1
THRESHOLD, DU, DV, BIAS = 2000, 1024, 512, 0


def build(seed=1):
    rng = np.random.default_rng(seed)
    w_in = rng.integers(0, 120, size=(INPUTS, N), endpoint=True)
    w_in[rng.random(w_in.shape) >= DENSITY] = 0
    w_rec = rng.integers(-60, 50, size=(N, N), endpoint=True)
    w_rec[rng.random(w_rec.shape) >= DENSITY] = 0
    net = Network(
        name="bench1000", inputs=INPUTS, hardware=Hardware(current_bits=24, voltage_bits=24),
        populations=[Population("lif", N, threshold=THRESHOLD, du=DU, dv=DV, bias=BIAS)],
        projections=[Projection("input", "lif", w_in, weight_shift=2),
                     Projection("lif", "lif", w_rec, weight_shift=2)])
    return net


def events(net, x, spikes):
    """Synaptic events: every delivered spike times the synapses (non-zero weights) it hits."""
    fan_in = np.count_nonzero(net.projections[0].weights, axis=1)
    fan_rec = np.count_nonzero(net.projections[1].weights, axis=1)
    return int((x @ fan_in).sum() + (spikes[:-1] @ fan_rec).sum())


def run_golden(net, x, batch=1):
    sim = Simulator(net, batch=batch)
    xb = np.repeat(x[None].astype(bool), batch, axis=0)
    sim.step(xb[:, 0])                     # warm-up
    sim.reset()
    spikes = np.zeros((x.shape[0], N), np.uint8)
    t0 = time.perf_counter()
    for t in range(x.shape[0]):
        spikes[t] = sim.step(xb[:, t])["lif"][0]
    return time.perf_counter() - t0, spikes


def run_brian2(net, x):
    import brian2 as b2
    b2.prefs.codegen.target = "numpy"
    b2.BrianLogger.log_level_warn()
    b2.start_scope()
    b2.defaultclock.dt = 1 * b2.ms
    steps = x.shape[0]
    shift = 2 ** net.projections[0].weight_shift
    g = b2.NeuronGroup(N, "u : 1\nv : 1\na : 1", threshold="v > vth", reset="v = 0",
                       namespace={"vth": THRESHOLD, "ku": 1 - DU / 4096, "kv": 1 - DV / 4096,
                                  "bias": BIAS})
    g.run_regularly("u = u * ku + a\na = 0\nv = v * kv + u + bias", when="groups")
    t_idx, i_idx = np.nonzero(x)
    inp = b2.SpikeGeneratorGroup(INPUTS, i_idx, t_idx * b2.ms)
    syn = []
    for proj, src in ((net.projections[0], inp), (net.projections[1], g)):
        j, i = np.nonzero(proj.weights)
        s = b2.Synapses(src, g, "w : 1", on_pre="a_post += w")
        s.connect(i=j, j=i)
        s.w = proj.weights[j, i] * shift
        syn.append(s)
    mon = b2.SpikeMonitor(g)
    net_b2 = b2.Network(g, inp, *syn, mon)
    net_b2.run(10 * b2.ms)                 # warm-up: code generation happens here
    t0 = time.perf_counter()
    net_b2.run((steps - 10) * b2.ms)
    dt = time.perf_counter() - t0
    spikes = np.zeros((steps, N), np.uint8)
    ti = np.round(np.asarray(mon.t / b2.ms)).astype(int)
    spikes[ti, np.asarray(mon.i)] = 1
    return dt * steps / (steps - 10), spikes, b2.__version__


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--write", metavar="MD", help="record the figures in this Markdown file")
    args = ap.parse_args(argv)

    net = build()
    x = rate_encode(np.full(INPUTS, 1.0), args.steps, rate=0.05, seed=2)
    print(f"network: {N} LIF neurons, {np.count_nonzero(net.projections[1].weights):,} "
          f"recurrent + {np.count_nonzero(net.projections[0].weights):,} input synapses, "
          f"{args.steps} steps")
    tg, sg = run_golden(net, x)
    eg = events(net, x, sg)
    print(f"spikefab golden: {tg:.2f} s, {args.steps / tg:,.0f} steps/s, "
          f"{eg / tg / 1e6:.2f} M synaptic events/s, {int(sg.sum()):,} spikes")
    batch = 8
    tb, _ = run_golden(net, x, batch=batch)
    print(f"spikefab golden, batch of {batch}: {tb:.2f} s, "
          f"{batch * args.steps / tb:,.0f} network-steps/s")
    tb2, sb, b2ver = run_brian2(net, x)
    eb = events(net, x, sb)
    print(f"Brian2 {b2ver} (numpy): {tb2:.2f} s, {args.steps / tb2:,.0f} steps/s, "
          f"{eb / tb2 / 1e6:.2f} M synaptic events/s, {int(sb.sum()):,} spikes")
    ratio = tb2 / tg
    print(f"ratio: spikefab golden is {ratio:.2f}x the speed of Brian2 (steps/s)")
    if args.write:
        body = "\n".join([
            "## Golden model vs Brian2",
            "",
            f"Measured {date.today().isoformat()} by `make bench` (`bench/bench_golden.py`) on "
            f"{machine()}, NumPy {np.__version__}, Brian2 {b2ver} with numpy code generation.",
            f"Network: {N} current-based LIF neurons, 10% recurrent connectivity "
            f"({np.count_nonzero(net.projections[1].weights):,} synapses), {INPUTS} "
            f"rate-coded inputs at 10% connectivity, {args.steps} steps, one process.",
            "",
            "| simulator | wall time | steps/s | synaptic events/s | spikes |",
            "|---|---|---|---|---|",
            f"| spikefab golden (exact integers) | {tg:.2f} s | {args.steps / tg:,.0f} | "
            f"{eg / tg / 1e6:.2f} M | {int(sg.sum()):,} |",
            f"| spikefab golden, batch of {batch} | {tb:.2f} s | "
            f"{batch * args.steps / tb:,.0f} network-steps/s | "
            f"{batch * eg / tb / 1e6:.2f} M | {batch} x {int(sg.sum()):,} |",
            f"| Brian2 (numpy, float64) | {tb2:.2f} s | {args.steps / tb2:,.0f} | "
            f"{eb / tb2 / 1e6:.2f} M | {int(sb.sum()):,} |",
            "",
            f"Ratio (Brian2 time / spikefab time): **{ratio:.2f}x**. Spike counts differ "
            "slightly: Brian2 computes in floating point and delivers the host's input one "
            "step later; the workload is the same.",
        ])
        write_section(args.write, "golden-bench", body)
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
