"""Figures of the neuron core: cycles per synaptic event and per neuron update (measured in the
Amaranth simulator), utilisation and Fmax on iCE40 UP5K and ECP5-85F (YoWASP yosys/nextpnr).

Usage: ``python bench/bench_core.py [--lanes 2] [--no-synth] [--json OUT]``. Prints a table;
exits non-zero if a device misses its Fmax floor (UP5K 30 MHz, ECP5 90 MHz).
"""

import argparse
import json
import os
import sys

import numpy as np
from amaranth.sim import Simulator

from spikefab.hdl.core import Core, step_cycles
from spikefab.hdl.params import CoreParams
from spikefab.hdl.synapse import EVENT_TAIL
from spikefab.hdl.synth import DEVICES, core_memory_bits, default_params, run_flow

FLOORS = {"up5k": 30.0, "ecp5-85f": 90.0}


def measure_cycles(params, events):
    """Clock cycles of one step with ``events`` back-to-back events, measured in simulation."""
    dut = Core(params)
    out = {}

    async def tb(ctx):
        ctx.set(dut.o_spike.ready, 1)
        for ev in events:
            ctx.set(dut.i_event.payload, int(ev))
            ctx.set(dut.i_event.valid, 1)
            while not ctx.get(dut.i_event.ready):
                await ctx.tick()
            await ctx.tick()
        ctx.set(dut.i_event.valid, 0)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        while not ctx.get(dut.done):
            await ctx.tick()
        await ctx.tick()
        out["cycles"] = ctx.get(dut.cycles)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    return out["cycles"]


def cycle_figures(neurons=64, axons=32, lanes=(1, 2, 4)):
    rows = []
    for ln in lanes:
        p = CoreParams(neurons=neurons, lanes=ln, axon_shifts=((axons, 0),), threshold=1000)
        rng = np.random.default_rng(0)
        c0 = measure_cycles(p, [])
        c1 = measure_cycles(p, rng.permutation(axons)[:16])
        assert c0 == step_cycles(p, 0) and c1 == step_cycles(p, 16), (c0, c1)
        per_event = (c1 - c0 - EVENT_TAIL) / 16
        rows.append({"lanes": ln, "neurons": neurons, "cycles_per_event": per_event,
                     "synaptic_ops_per_cycle": neurons / per_event,
                     "cycles_per_neuron_update": (c0 - (c0 - p.rows)) / neurons,
                     "step_overhead": c0 - p.rows})
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lanes", type=int, default=2, help="lanes of the synthesised core")
    ap.add_argument("--no-synth", action="store_true", help="cycle figures only")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)
    fig = {"cycles": cycle_figures()}
    print("cycles (Amaranth simulation, 64 neurons, 16 events):")
    for r in fig["cycles"]:
        print(f"  lanes {r['lanes']}: {r['cycles_per_event']:.2f} cycles/event "
              f"({r['synaptic_ops_per_cycle']:.1f} synaptic ops/cycle), "
              f"{r['cycles_per_neuron_update']:.3f} cycles/neuron update, "
              f"+{r['step_overhead']} cycles/step")
    ok = True
    if not args.no_synth:
        p = default_params(args.lanes)
        print(f"synthesis: 256 neurons x 256 axons x 8-bit weights, lanes {args.lanes}; "
              f"memory bits {core_memory_bits(p)}")
        fig["synth"] = []
        for dev in DEVICES:
            r = run_flow(p, dev, os.path.join("build", "bench", f"{dev}-l{args.lanes}"))
            fig["synth"].append(r)
            goal = DEVICES[dev][3]
            verdict = ("goal met" if r["fmax_mhz"] >= goal else
                       "floor met" if r["fmax_mhz"] >= FLOORS[dev] else "BELOW FLOOR")
            ok &= r["fmax_mhz"] >= FLOORS[dev]
            util = ", ".join(f"{k} {u}/{a}" for k, (u, a) in sorted(r["utilisation"].items()))
            sops = r["fmax_mhz"] * 1e6 * args.lanes
            print(f"  {dev}: Fmax {r['fmax_mhz']:.1f} MHz ({verdict}; floor {FLOORS[dev]}, "
                  f"goal {goal}), {sops / 1e6:.0f} M synaptic ops/s; {util}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(fig, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
