"""RTL simulation speed against the golden model, side by side in one run.

1. The demo network (``examples/demo.toml``), 2,000 steps through the command line, start-up
   included: ``spikefab simulate`` (golden model) against ``spikefab simulate --rtl --sim
   verilator`` (the native harness, every step compared with the golden model), each run
   ``--repeat`` times alternately (builds cached by a first run); and the cocotb testbench on
   Verilator for a few hundred steps (what ``--sim verilator`` ran before the native harness).
2. A 1,000-neuron recurrent network (``bench_golden.py``'s) on one core with 4 lanes: golden
   steps/s against the native harness's steps/s and clocks/s.
3. A 100,000-step plastic run of the demo network on its network top (every output checked as
   it comes, the learnt weights against the golden model's at the end).

Usage: ``python bench/bench_rtl.py [--repeat 3] [--write docs/benchmarks.md]``
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from report import machine, write_section  # noqa: E402

from spikefab.golden import load, rate_encode, simulate  # noqa: E402


def cli(*args):
    """Wall time of one ``spikefab`` command (a new process: start-up included)."""
    exe = os.path.join(os.path.dirname(sys.executable), "spikefab")
    t0 = time.perf_counter()
    subprocess.run([exe, *map(str, args)], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def demo_cli(steps, repeat, tmp):
    net = load(os.path.join(ROOT, "examples", "demo.toml"))
    x = rate_encode(np.full(net.inputs, 0.2), steps, rate=1.0, seed=1)
    inp = os.path.join(tmp, "in.npy")
    np.save(inp, x)
    common = ["simulate", "examples/demo.toml", "--inputs", inp]
    gold = common + ["--out", os.path.join(tmp, "g.npz")]
    rtl = common + ["--out", os.path.join(tmp, "r.npz"), "--rtl", "--sim", "verilator"]
    first = cli(*rtl)                       # builds (or finds) the native harness
    tg, tr = [], []
    for _ in range(repeat):
        tg.append(cli(*gold))
        tr.append(cli(*rtl))
    with np.load(os.path.join(tmp, "g.npz")) as a, np.load(os.path.join(tmp, "r.npz")) as b:
        same = all(np.array_equal(a[k], b[k]) for k in a.files if k.startswith("spikes/"))
    return statistics.median(tg), statistics.median(tr), first, same


def demo_cocotb(steps):
    from spikefab.sim.network import simulate_network_rtl
    net = load(os.path.join(ROOT, "examples", "demo.toml"))
    x = rate_encode(np.full(net.inputs, 0.2), steps, rate=1.0, seed=1)
    simulate_network_rtl(net, x[:2], sim="verilator", harness="cocotb")     # the build
    t0 = time.perf_counter()
    simulate_network_rtl(net, x, sim="verilator", harness="cocotb", check=True)
    return time.perf_counter() - t0


def big_core(steps, lanes=4):
    from bench_golden import INPUTS, build
    from spikefab.sim.native import run_core
    net = build()
    x = rate_encode(np.full(INPUTS, 1.0), steps, rate=0.05, seed=2)
    t0 = time.perf_counter()
    want = simulate(net, x)
    tg = time.perf_counter() - t0
    run_core(net, x[:1], lanes=lanes)                     # the build
    t0 = time.perf_counter()
    got = run_core(net, x, lanes=lanes, check=False)
    tr = time.perf_counter() - t0
    same = np.array_equal(got["spikes"], want.spikes["lif"])
    return tg, tr, int(got["cycles"].sum()), same


def plastic_long(steps):
    from spikefab.sim.native import run_network
    net = load(os.path.join(ROOT, "examples", "demo.toml"))
    x = rate_encode(np.full(net.inputs, 0.1), steps, rate=1.0, seed=3)
    t0 = time.perf_counter()
    want = simulate(net, x)
    tg = time.perf_counter() - t0
    t0 = time.perf_counter()
    got = run_network(net, x, {"outputs": ["exc", "inh"]}, check=True, seed=3)
    tr = time.perf_counter() - t0
    same = all(np.array_equal(got["weights"][k], want.weights[k])
               for k in range(len(net.projections)))
    return tg, tr, int(got["cycles"].sum()), same


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cocotb-steps", type=int, default=200)
    ap.add_argument("--big-steps", type=int, default=200)
    ap.add_argument("--long-steps", type=int, default=100_000)
    ap.add_argument("--write", metavar="MD")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tg, tr, first, same = demo_cli(args.steps, args.repeat, tmp)
    s = args.steps
    print(f"demo, {s} steps via the CLI: golden {tg:.2f} s, RTL native {tr:.2f} s "
          f"(ratio {tr / tg:.1f}x; first RTL run with its build {first:.1f} s); spikes "
          f"equal: {same}")
    tc = demo_cocotb(args.cocotb_steps)
    print(f"demo, {args.cocotb_steps} steps through cocotb on Verilator: {tc:.1f} s "
          f"({args.cocotb_steps / tc:.0f} steps/s)")
    bg, br, bcycles, bsame = big_core(args.big_steps)
    print(f"1,000 neurons, {args.big_steps} steps: golden {bg:.2f} s, RTL native {br:.2f} s "
          f"({bcycles / br:,.0f} clocks/s); spikes equal: {bsame}")
    lg, lr, lcycles, lsame = plastic_long(args.long_steps)
    print(f"plastic demo, {args.long_steps:,} steps: golden {lg:.1f} s, RTL native {lr:.1f} s "
          f"({lcycles / lr:,.0f} clocks/s); weights equal: {lsame}")
    if args.write:
        body = "\n".join([
            "## RTL simulation vs the golden model",
            "",
            f"Measured {time.strftime('%Y-%m-%d')} by `bench/bench_rtl.py` on {machine()}; "
            f"each pair side by side in one run. RTL: the generated Verilog on Verilator "
            f"through the native harness (`spikefab.sim.native`: the clock loop in C++, a "
            f"whole run or a step per call from Python), every step compared with the golden "
            f"model. Builds are cached: a first RTL run makes (or finds) the build, here "
            f"{first:.1f} s.",
            "",
            "| run | golden | RTL | golden steps/s | RTL steps/s | RTL / golden time |",
            "|---|---|---|---|---|---|",
            f"| demo, {s:,} steps, `spikefab simulate` (start-up included, median of "
            f"{args.repeat}) | {tg:.2f} s | {tr:.2f} s | {s / tg:,.0f} | {s / tr:,.0f} | "
            f"{tr / tg:.1f}x |",
            f"| 1,000 neurons (1,100 axons, 10% recurrent), one core of 4 lanes, "
            f"{args.big_steps} steps | {bg:.2f} s | {br:.2f} s | {args.big_steps / bg:,.0f} "
            f"| {args.big_steps / br:,.1f} | {br / bg:.0f}x |",
            f"| demo, {args.long_steps:,} steps, plastic (weights checked at the end) | "
            f"{lg:.1f} s | {lr:.1f} s | {args.long_steps / lg:,.0f} | "
            f"{args.long_steps / lr:,.0f} | {lr / lg:.1f}x |",
            "",
            f"Before the native harness, `--sim verilator` drove every clock from Python "
            f"through cocotb: the demo's {args.cocotb_steps} steps take {tc:.1f} s that way "
            f"today ({args.cocotb_steps / tc:.0f} steps/s, against the native harness's "
            f"{s / tr:,.0f} steps/s with start-up). The 1,000-neuron core needs "
            f"{bcycles / args.big_steps:,.0f} clocks a step (each event walks the core's "
            f"250 rows of 4 neurons): the hardware's own cost, which the golden model does not "
            f"pay; the harness runs it at {bcycles / br:,.0f} clocks/s, the demo's network "
            f"top at {lcycles / lr:,.0f} clocks/s.",
        ])
        write_section(args.write, "rtl-bench", body)
        print(f"wrote {args.write}")
    ok = same and bsame and lsame
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
