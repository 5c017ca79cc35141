"""Gateware coverage of the RTL regression: Verilator's line, branch and toggle coverage of the
core, the router and the network top, per module, written to ``docs/coverage.md``.

``make coverage`` runs this: the regression's kinds of run on coverage builds of the native
harness (``spikefab.sim.native``): the examples on their core and network tops (1 and 2 lanes,
dual-port, single-port and banked weight memories, random gaps, backpressure and event order),
and random topologies (single-core and multi-core, static and plastic, recurrent, split and
packed populations) with random networks of their shapes loaded through the configuration
port, the steering runs that drive what random networks seldom reach (saturating currents and
voltages, full input queues, long bursts of output), every run checked against the golden
model. The counts of every run are merged and reported by module kind.

Usage: ``python scripts/coverage.py [--jobs 2] [--topologies 12] [--write docs/coverage.md]``
"""

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

RUNS = os.path.join(ROOT, "build", "coverage")


def _dat(name):
    return os.path.join(RUNS, f"{name}.dat")


def run_task(task):
    """One task of the regression: a build (cached) and its runs; returns (name, seconds)."""
    from spikefab.golden import load
    from spikefab.sim.native import run_core, run_network
    from tests.netgen import random_inputs, variant
    from tests.test_native import _sweep_network
    kind, name, arg = task
    t0 = time.perf_counter()
    if kind == "core":
        example, lanes, ram = arg
        net = load(os.path.join(ROOT, "examples", example))
        for k, (ready, steps) in enumerate(((0.5, 60), (1.0, 40))):
            x = random_inputs(k, net, steps, rate=0.3 + 0.3 * k)
            run_core(net, x, lanes=lanes, record_state=k == 0, check=True, seed=k,
                     ready_prob=ready, shuffle=True, weight_ram=ram, check_learning_every=7,
                     coverage_file=_dat(f"{name}-{k}"))
    elif kind == "network":
        example, options = arg
        net = load(os.path.join(ROOT, "examples", example))
        options = dict(options, outputs=[q.name for q in net.populations])
        for k, (ready, valid, record) in enumerate(((0.4, 0.6, False), (1.0, 1.0, True))):
            x = random_inputs(k, net, 120 if not record else 30, rate=0.25)
            run_network(net, x, options, record_state=record, check=True, seed=k,
                        ready_prob=ready, valid_prob=valid, checkpoint=5 if record else 0,
                        coverage_file=_dat(f"{name}-{k}"))
    elif kind == "topology":
        seed, variants = arg
        net, options = _sweep_network(seed)
        for k in range(variants):
            steer = {2: "flood", 3: "saturate"}.get(k)
            v = net if k == 0 else variant(net, 1000 * seed + k, steer)
            s = 1000 * seed + k
            rng = np.random.default_rng(s)
            x = random_inputs(s, v, 16, rate=float(rng.uniform(0.1, 0.8)))
            if steer == "flood":
                x[:] = 1
            ready = 0.05 if steer == "flood" else float(rng.uniform(0.3, 1.0))
            record = k % 2 == 0
            if options is None:
                run_core(v, x, record_state=record, check=True, seed=s, ready_prob=ready,
                         shuffle=True, check_learning_every=4,
                         coverage_file=_dat(f"{name}-{k}"))
            else:
                run_network(v, x, options, record_state=record, check=True, seed=s,
                            ready_prob=ready,
                            valid_prob=float(rng.uniform(0.3, 1.0)),
                            checkpoint=3 if record else 0, coverage_file=_dat(f"{name}-{k}"))
    elif kind == "steer":
        steered_runs(name, arg)
    return name, time.perf_counter() - t0


def steered_runs(name, what):
    """Runs aimed at what random networks seldom reach."""
    from spikefab.golden import Hardware, Network, Population, Projection, Stdp
    from spikefab.sim.native import run_core, run_network
    from tests.netgen import random_inputs
    if what == "saturation":
        # strong excitatory and inhibitory weights on narrow current and voltage registers:
        # u and v saturate at both ends; a large bias and a subtracting reset
        hw = Hardware(current_bits=8, voltage_bits=8, weight_bits=8, trace_bits=4)
        rng = np.random.default_rng(3)
        pops = [Population("a", 12, 100, du=0, dv=0, bias=60, refractory=1, reset="subtract",
                           output=True),
                Population("b", 9, 20, du=4096, dv=2048, bias=-60, reset="zero",
                           output=True)]
        w = rng.choice([-127, 127], size=(8, 12))
        projs = [Projection("input", "a", w),
                 Projection("a", "b", rng.choice([-127, 127], size=(12, 9))),
                 Projection("b", "a", np.full((9, 12), -127)),
                 Projection("input", "b", np.full((8, 9), 127), stdp=Stdp(
                     a_plus=255, a_minus=255, shift=0, d_pre=0, d_post=0, x_inc=15, y_inc=15,
                     w_min=-127, w_max=127))]
        net = Network("saturate", 8, pops, projs, hw)
        x = random_inputs(1, net, 40, rate=0.9)
        run_network(net, x, {"outputs": ["a", "b"], "neurons_per_core": 8}, check=True,
                    seed=1, record_state=True, checkpoint=1, coverage_file=_dat(f"{name}-0"))
        one = Network("saturate1", 8, [pops[0]], [projs[0], Projection("a", "a", np.full(
            (12, 12), 127))], hw)
        run_core(one, x, check=True, seed=2, coverage_file=_dat(f"{name}-1"))
    elif what == "backpressure":
        # every neuron spikes every step (bias above threshold) and the host takes an output
        # one clock in ten: the router's and the cores' output queues fill up
        hw = Hardware(weight_bits=4)
        pops = [Population(f"p{k}", 30, 0, bias=5, output=True) for k in range(3)]
        projs = [Projection("input", "p0", np.ones((4, 30), int)),
                 Projection("p0", "p1", np.ones((30, 30), int)),
                 Projection("p1", "p2", np.ones((30, 30), int)),
                 Projection("p2", "p0", np.ones((30, 30), int))]
        net = Network("flood", 4, pops, projs, hw)
        x = np.ones((10, 4), np.uint8)
        run_network(net, x, {"neurons_per_core": 16, "lanes": 2}, check=True, seed=3,
                    ready_prob=0.1, valid_prob=0.2, coverage_file=_dat(f"{name}-0"))
        one = Network("flood1", 4, [pops[0]], [projs[0]], hw)
        run_core(one, x, check=True, seed=4, ready_prob=0.1, coverage_file=_dat(f"{name}-1"))


def banked_static(cores):
    """Banked weight memories on the static cores (the plastic ones need a dual-port one)."""
    return tuple("dual" if c.plastic else "banked" for c in cores)


def tasks(topologies):
    out = [("core", "core-core.toml", ("core.toml", 1, "dual")),
           ("core", "core-core.toml-2", ("core.toml", 2, "dual")),
           ("core", "core-stdp.toml", ("stdp.toml", 1, "dual")),
           ("core", "core-stdp.toml-single", ("stdp.toml", 2, "single")),
           ("network", "net-demo", ("demo.toml", {})),
           ("network", "net-demo-banked", ("demo.toml", {"weight_ram": banked_static,
                                                          "neurons_per_core": 16})),
           ("network", "net-demo-single", ("demo.toml", {"weight_ram": "single", "lanes": 2})),
           ("steer", "steer-saturation", "saturation"),
           ("steer", "steer-backpressure", "backpressure")]
    out += [("topology", f"topology-{s}", (s, 4)) for s in range(500, 500 + topologies)]
    return out


def pct(m, kind):
    r = m.ratio(kind)
    return "n/a" if r is None else f"{100 * r:.1f}% ({m.hit[kind]:,}/{m.total[kind]:,})"


def report(mods, total, seconds, ntasks, nruns, unreachable):
    from spikefab.sim.coverage import KINDS, line_text
    lines = [
        "# Gateware coverage",
        "",
        "Verilator's coverage of the generated gateware (the core, the router and the network "
        "top) over the RTL regression's kinds of run, written by `make coverage` "
        "(`scripts/coverage.py`): the examples on their core and network tops (1 and 2 lanes; "
        "dual-port, single-port and banked weight memories), random topologies (single-core "
        "and multi-core, static and plastic, recurrent, split and packed populations) with "
        "random networks of their shapes loaded through the configuration port, and steering "
        "runs (saturating registers; every neuron spiking while the host takes an output one "
        "clock in ten). Every run is checked against the golden model as it goes; random gaps, "
        "backpressure and event order throughout.",
        "",
        f"Measured {time.strftime('%Y-%m-%d')}: {ntasks} builds, {nruns} runs, "
        f"{seconds / 60:.1f} minutes on 2 cores (builds already in the cache are reused; "
        f"about 8 minutes from scratch).",
        "",
        "*line*: Verilator's statement blocks; *branch*: both arms of every `if` and `case` "
        "(both from `--coverage-line`); *toggle*: every bit of every signal seen rising and "
        "falling (`--coverage-toggle`). A module kind sums all its instances in every build "
        "(`core_*.lif`: the LIF datapath of every core; `network`: the network top's own "
        "logic). Left out as unreachable by construction: the "
        f"{unreachable:,} line and branch points of the statement `if "
        "(\\$auto$verilog_backend...$N ) begin end` that yosys's Verilog backend puts in every "
        "combinational block (a register that is always 0, there only to make simulators run "
        "the block at time 0).",
        "",
        "| module | line | branch | toggle |",
        "|---|---|---|---|",
        f"| **all** | **{pct(total, 'line')}** | **{pct(total, 'branch')}** | "
        f"**{pct(total, 'toggle')}** |",
    ]
    for name in sorted(mods):
        if name == "wrapper":
            continue
        m = mods[name]
        lines.append(f"| `{name}` | " + " | ".join(pct(m, k) for k in KINDS) + " |")
    lines += ["", "## Uncovered lines and branches", "",
              "Each uncovered statement or branch of the generated Verilog, by module kind, "
              "with the number of instances in which it was never reached.", ""]
    for name in sorted(mods):
        m = mods[name]
        if name == "wrapper" or not m.missed:
            continue
        texts, cache = {}, {}
        for (path, line), n in m.missed.items():
            t = line_text(path, line, cache)
            texts[t] = texts.get(t, 0) + n
        lines.append(f"### `{name}`")
        lines.append("")
        for t, n in sorted(texts.items(), key=lambda kv: -kv[1])[:25]:
            lines.append(f"- `{t}` ({n})")
        if len(texts) > 25:
            lines.append(f"- ... and {len(texts) - 25} more")
        lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--topologies", type=int, default=12)
    ap.add_argument("--write", metavar="MD", help="write the report (docs/coverage.md)")
    args = ap.parse_args()
    os.makedirs(RUNS, exist_ok=True)
    for f in os.listdir(RUNS):
        if f.endswith(".dat"):
            os.remove(os.path.join(RUNS, f))
    todo = tasks(args.topologies)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        for name, dt in pool.map(run_task, todo):
            print(f"{name}: {dt:.1f} s", flush=True)
    seconds = time.perf_counter() - t0
    from spikefab.sim.coverage import read_dat, summarise
    counts = None
    dats = sorted(f for f in os.listdir(RUNS) if f.endswith(".dat"))
    for f in dats:
        counts = read_dat(os.path.join(RUNS, f), counts)
    mods, total, unreachable = summarise(counts)
    text = report(mods, total, seconds, len(todo), len(dats), unreachable)
    head = text.split("## Uncovered")[0]
    print(head)
    if args.write:
        explained = os.path.join(ROOT, "docs", "coverage-notes.md")
        if os.path.exists(explained):
            with open(explained) as f:
                text = text.replace("## Uncovered lines and branches",
                                    f.read().rstrip() + "\n\n## Uncovered lines and branches",
                                    1)
        with open(args.write, "w") as f:
            f.write(text + "\n")
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
