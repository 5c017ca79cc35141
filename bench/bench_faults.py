"""The fault campaign of ``docs/protocol.md``: a noisy cable between the host and the simulated
board (:class:`spikefab.host.faults.FaultyTransport`), every kind of fault in its own runs.

The demo network (``examples/demo.toml``: STDP, recurrent excitation and inhibition; 16
neurons a core, so exc is split over two cores and inh has its own) is loaded and run for ``--steps`` steps of rate-coded input ``--runs`` times per fault
kind, with a fault in ``--rate`` of the transfers (a request written, a response read), on the
lock-step simulated board (its build in Verilator). Every run is sorted: recovered (it
completed, spikes and learnt weights equal to the golden model's), reported (it stopped with
one line saying what may and what was applied) or silently wrong (completed, differs: must be
0). Faults are counted likewise. Then the same with presentations (``Device.present``): the
network with the rate generator (``rate_bits = 5``), ``--images`` images of 4-bit intensities,
each ``--steps`` / 4 steps from a cleared state, against ``golden.present``.

Usage: ``python bench/bench_faults.py [--runs 6] [--steps 100] [--rate 0.05]
[--write docs/benchmarks.md]``
"""

import argparse
import os
import sys
import time
from datetime import date

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from report import machine, write_section  # noqa: E402

from spikefab.golden import load, rate_encode  # noqa: E402
from spikefab.host.faults import FAULT_KINDS, fault_campaign  # noqa: E402
from spikefab.shape.network import derive  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--rate", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--images", type=int, default=12)
    ap.add_argument("--write", metavar="MD")
    args = ap.parse_args(argv)
    net = load(os.path.join(ROOT, "examples", "demo.toml"))
    # split over cores (exc over two of them): the router and the barrier in the loop too
    params = derive(net, outputs=[q.name for q in net.populations], neurons_per_core=16,
                    pack=False)
    x = rate_encode([0.4] * net.inputs, args.steps, seed=args.seed).astype(bool)
    t0 = time.perf_counter()
    table = fault_campaign(params, net, x, runs=args.runs, rate=args.rate, seed=args.seed)
    wall = time.perf_counter() - t0
    import dataclasses

    import numpy as np

    from spikefab.golden import Network
    rnet = Network(net.name, net.inputs, net.populations, net.projections,
                   dataclasses.replace(net.hardware, rate_bits=5))
    rparams = derive(rnet, outputs=[q.name for q in net.populations], neurons_per_core=16,
                     pack=False)
    q = np.random.default_rng(args.seed).integers(0, 16, size=(args.images, net.inputs))
    t0 = time.perf_counter()
    ptable = fault_campaign(rparams, rnet, None, runs=args.runs, rate=args.rate,
                            seed=args.seed, intensities=q, steps=args.steps // 4)
    pwall = time.perf_counter() - t0
    lines = [
        f"Measured {date.today()} on {machine()}; `python bench/bench_faults.py` (in `make "
        f"bench`), {wall:.0f} s. The demo network (`examples/demo.toml`, {len(params.cores)} "
        f"cores, STDP), loaded and run for {args.steps} steps, {args.runs} runs per kind, a "
        f"fault in {args.rate:.0%} of the transfers; the host's timeout 0.05 simulated s, 5 "
        f"retries.",
        "",
        "| fault | runs | faults injected | recovered | reported (one line) | silently wrong "
        "| frames re-sent |",
        "|---|---|---|---|---|---|---|"]
    def rows(table):
        total = {k: 0 for k in ("runs", "injected", "faults_recovered", "faults_reported",
                                "faults_wrong", "resent")}
        out = []
        for kind in FAULT_KINDS:
            r = table[kind]
            for k in total:
                total[k] += r[k]
            out.append(f"| {kind} | {r['runs']} | {r['injected']} | {r['faults_recovered']} "
                       f"({r['recovered']} runs) | {r['faults_reported']} | "
                       f"{r['faults_wrong']} | {r['resent']} |")
        out.append(f"| all | {total['runs']} | {total['injected']} | "
                   f"{total['faults_recovered']} | {total['faults_reported']} | "
                   f"**{total['faults_wrong']}** | {total['resent']} |")
        return out, total
    body, total = rows(table)
    lines += body
    pbody, ptotal = rows(ptable)
    lines += ["", f"Presentations ({pwall:.0f} s): the same network with the rate generator, "
              f"{args.images} images of random 4-bit intensities, {args.steps // 4} steps each "
              f"(`Device.present`: several images a PRESENT frame, queued on the board; a "
              f"retried PRESENT is answered from the replay memory, its images queued once):",
              "", "| fault | runs | faults injected | recovered | reported (one line) | "
              "silently wrong | frames re-sent |", "|---|---|---|---|---|---|---|"] + pbody
    examples = {kind: table[kind]["messages"][0] for kind in FAULT_KINDS
                if table[kind]["messages"]}
    if examples:
        lines += ["", "What a reported run said (first of each kind):", ""]
        lines += [f"- {kind}: `{msg}`" for kind, msg in examples.items()]
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section(args.write, "fault-bench", "## Faults on the host link\n\n" + text)
    if total["faults_wrong"] or ptotal["faults_wrong"]:
        raise SystemExit("a run completed with results that differ from the golden model")


if __name__ == "__main__":
    main()
