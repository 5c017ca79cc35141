"""Figures of the neuron core: cycles per synaptic event and per neuron update, and the STDP
cycles (LTD clocks per synapse, LTP clocks per spiking row, dual-port and single-port weight
memory), measured in the Amaranth simulator; utilisation and Fmax of the static and the
plastic core on iCE40 UP5K and ECP5-85F (YoWASP yosys/nextpnr).

Usage: ``python bench/bench_core.py [--lanes 2] [--no-synth] [--json OUT]``. Prints a table;
exits non-zero if a device misses its Fmax floor (UP5K 30 MHz, ECP5 90 MHz).
"""

import argparse
import json
import os
import sys

import numpy as np
from amaranth.sim import Simulator

from spikefab.shape.latency import LTP_TAIL, event_tail, step_cycles
from spikefab.hdl.core import Core
from spikefab.shape.core import CoreParams
from spikefab.shape.latency import EVENT_TAIL
from spikefab.boards.synth import (DEVICES, core_memory_bits, default_params, plastic_params,
                                   run_flow)

FLOORS = {"up5k": 30.0, "ecp5-85f": 90.0}


def measure_cycles(params, events, weight_ram="dual"):
    """Clock cycles of one step with ``events`` back-to-back events, measured in simulation."""
    dut = Core(params, weight_ram)
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


def stdp_cycle_figures(neurons=32, axons=16, lanes=(1, 2), events=8):
    """LTD and LTP cost of a plastic core (every axon plastic), measured: a step with
    ``events`` events and no spike against one without events gives the LTD clocks per row;
    a step in which every neuron spikes (bias 1 > threshold 0) against a quiet one gives the LTP
    clocks per spiking row. Every measured count is also checked against ``step_cycles``."""
    out = []
    for ram in ("dual", "single"):
        for ln in lanes:
            base = plastic_params(ln, neurons, axons)
            quiet = CoreParams(neurons=neurons, lanes=ln, axon_shifts=((axons, 0),),
                               weight_bits=8, trace_bits=8, stdp=base.stdp, threshold=30000)
            fire = CoreParams(neurons=neurons, lanes=ln, axon_shifts=((axons, 0),),
                              weight_bits=8, trace_bits=8, stdp=base.stdp, threshold=0, bias=1)
            ev = list(range(events))
            c0 = measure_cycles(quiet, [], ram)
            ce = measure_cycles(quiet, ev, ram)
            cs = measure_cycles(fire, [], ram)
            rows = quiet.rows
            assert c0 == step_cycles(quiet, 0, weight_ram=ram), c0
            assert ce == step_cycles(quiet, events, weight_ram=ram), ce
            assert cs == step_cycles(fire, 0, spiking_rows=rows, weight_ram=ram), cs
            per_row = (ce - c0 - event_tail(quiet, ram)) / (events * rows)
            ltp_row = (cs - c0 - (LTP_TAIL - 1)) / rows
            out.append({"weight_ram": ram, "lanes": ln, "neurons": neurons,
                        "plastic_axons": axons, "ltd_clocks_per_row": per_row,
                        "ltd_clocks_per_synapse_per_lane": per_row,
                        "ltd_synapses_per_clock": ln / per_row,
                        "ltp_clocks_per_spiking_row": ltp_row,
                        "ltp_clocks_per_plastic_slot": ltp_row / axons,
                        "quiet_step": c0, "step_all_spiking": cs})
    return out


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
    fig["stdp_cycles"] = stdp_cycle_figures()
    print("STDP cycles (Amaranth simulation, 32 neurons x 16 plastic axons, 8 events):")
    for r in fig["stdp_cycles"]:
        print(f"  {r['weight_ram']:6s} lanes {r['lanes']}: LTD {r['ltd_clocks_per_row']:.2f} "
              f"clocks per row of {r['lanes']} synapses ({r['ltd_synapses_per_clock']:.2f} "
              f"synapses/clock), LTP {r['ltp_clocks_per_spiking_row']:.2f} clocks per spiking "
              f"row ({r['ltp_clocks_per_plastic_slot']:.2f} per plastic axon slot)")
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
        pp = plastic_params(args.lanes)
        print(f"synthesis, plastic: {pp.neurons} neurons x {pp.axons} plastic axons x 8-bit "
              f"weights ({pp.neurons * pp.axons} synapses with STDP), lanes {args.lanes}; "
              f"memory bits {core_memory_bits(pp)}")
        fig["synth_plastic"] = []
        for dev in DEVICES:
            r = run_flow(pp, dev, os.path.join("build", "bench", f"plastic-{dev}-l{args.lanes}"))
            fig["synth_plastic"].append(r)
            ok &= r["fmax_mhz"] >= FLOORS[dev]
            verdict = "floor met" if r["fmax_mhz"] >= FLOORS[dev] else "BELOW FLOOR"
            util = ", ".join(f"{k} {u}/{a}" for k, (u, a) in sorted(r["utilisation"].items()))
            print(f"  {dev} ({DEVICES[dev][4]} weights): Fmax {r['fmax_mhz']:.1f} MHz "
                  f"({verdict}; floor {FLOORS[dev]}); {util}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(fig, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
