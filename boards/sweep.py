"""The placement-seed sweep of a board build: one synthesis, nextpnr once per seed.

A design whose Fmax holds on one placement seed breaks on the next unrelated change, so the
margin of a board is measured over several seeds (:func:`sweep`, ``spikefab report --seeds``):
the design is elaborated and synthesised once (floorplanned on a board that asks for it), then
placed and routed with every seed, ``jobs`` placements at a time, into
``build/<board>/seeds/``. No bitstream is packed (``spikefab build`` makes the one to flash).

A sweep is cached like a build: ``seeds.json`` keeps each seed's figures under the design's
key, and a seed already placed from the same design is not placed again.
"""

import datetime
import json
import os
import subprocess
import time

from spikefab.errors import InvalidValue
from spikefab.toolchain import find, setup_environ

from . import floorplan
from .catalog import get_board, network_of
from .toolflow import (NEXTPNR, STDOUT, SYNTH_OPTS, clock_fmax, critical_path, design_key,
                       pnr_device, say, stage)

__all__ = ["sweep", "summarise"]

#: nextpnr's constraint file, by family (no output is written: the sweep packs nothing).
_CONSTRAINTS = {"ice40": ["--pcf", "top.pcf"], "ecp5": ["--lpf", "top.lpf"]}


def _check_seeds(seeds, jobs):
    seeds = list(seeds)
    if not seeds or any(not isinstance(s, int) or isinstance(s, bool) or s < 0 for s in seeds):
        raise InvalidValue(f"Seeds must be non-negative integers, at least one, not {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise InvalidValue(f"Seeds must differ, not {seeds!r}")
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise InvalidValue(f"Jobs must be a positive integer, not {jobs!r}")
    return seeds


def _place(nextpnr, args, outdir, seeds, jobs, out):
    """nextpnr with each of ``seeds`` (``jobs`` at a time) in ``outdir``: ``{seed: figures}``."""
    pending, running, done = list(seeds), {}, {}
    t0 = time.monotonic()
    while pending or running:
        while pending and len(running) < jobs:
            s = pending.pop(0)
            log = open(os.path.join(outdir, f"nextpnr-{s}.log"), "w")
            cmd = [nextpnr, *args, "--report", f"report-{s}.json", "--seed", str(s),
                   "--timing-allow-fail"]
            running[s] = (subprocess.Popen(cmd, cwd=outdir, stdout=log,
                                           stderr=subprocess.STDOUT), log)
        time.sleep(0.5)
        for s, (proc, log) in list(running.items()):
            if proc.poll() is None:
                continue
            log.close()
            del running[s]
            logname = os.path.join(outdir, f"nextpnr-{s}.log")
            if proc.returncode:
                done[s] = {"error": f"nextpnr failed (exit {proc.returncode}); log: {logname}"}
            else:
                with open(os.path.join(outdir, f"report-{s}.json")) as f:
                    rep = json.load(f)
                fmax, constraint, _ = clock_fmax(rep)
                util = {k: v["used"] for k, v in rep["utilization"].items() if v["used"]}
                done[s] = {"fmax_mhz": round(fmax, 2), "constraint_mhz": round(constraint, 2),
                           "timing_met": fmax >= constraint, "utilisation": util,
                           "critical_path": critical_path(logname),
                           "date": datetime.date.today().isoformat()}
            r = done[s]
            say(out, f"      seed {s}: " + (r["error"] if "error" in r else
                                             f"{r['fmax_mhz']:.2f} MHz "
                                             f"({'met' if r['timing_met'] else 'missed'})")
                + f"  [{time.monotonic() - t0:.0f} s]")
    return done


def sweep(board="icebreaker", seeds=(1, 2, 3, 4, 5), *, net=None, outdir=None, jobs=2,
          reuse=True, out=STDOUT):
    """Place and route ``net`` (default: the board's default network) on ``board`` with each
    of ``seeds``.

    Parameters
    ----------
    board : str or Board
    seeds : iterable of int
        Placement seeds (distinct, non-negative).
    net : Network, path or None
    outdir : str or None
        Default ``build/<board>/seeds``; not under ``/tmp`` (YoWASP).
    jobs : int
        Placements run side by side (nextpnr uses one core each).
    reuse : bool
        Keep the figures of seeds already placed from the same design and options.

    Returns
    -------
    dict
        ``board``, ``network``, ``neurons``, ``synapses``, ``cores``, ``lanes``,
        ``target_mhz`` (the design clock), ``memory_bits_needed`` (the network's state),
        ``seeds`` (``{seed: {fmax_mhz, constraint_mhz,
        timing_met, utilisation, critical_path}}``, or ``{error}`` for a failed placement)
        and :func:`summarise`'s figures.
    """
    from .flow import _elaborate          # at call time: flow imports the board modules
    seeds = _check_seeds(seeds, jobs)
    setup_environ()
    board = get_board(board)
    net = network_of(net, board)
    outdir = outdir or os.path.join("build", board.name, "seeds")
    os.makedirs(outdir, exist_ok=True)
    files, platform, n, _ = _elaborate(net, board, outdir, out, total=3)
    args = pnr_device(board.device, board.package)
    if board.family == "ecp5":
        args += ["--speed", str(platform.speed)]
    args += [*board.pnr_opts, *_CONSTRAINTS[board.family], "--json",
             "top.floorplan.json" if board.floorplan else "top.json"]
    key = design_key(files, [args, {"synth_opts": SYNTH_OPTS[board.family]}],
                     [floorplan.__file__] if board.floorplan else [])
    path = os.path.join(outdir, "seeds.json")
    old = {}
    if reuse and os.path.exists(path):
        with open(path) as f:
            cached = json.load(f)
        if cached.get("key") == key:
            old = {int(s): r for s, r in cached["seeds"].items()}
    todo = [s for s in seeds if s not in old]
    if todo:
        netlist = "top.floorplan.json" if board.floorplan else "top.json"
        if not (old and os.path.exists(os.path.join(outdir, netlist))):
            stage(out, 2, 3, "yosys (synth)", [find("YOSYS"), "-l", "top.rpt", "top.ys"],
                  outdir, "yosys.log")
            if board.floorplan:
                floorplan.floorplan_file(os.path.join(outdir, "top.json"),
                                         os.path.join(outdir, netlist), board.device)
        say(out, f"[3/3] nextpnr: seeds {', '.join(map(str, todo))}, {jobs} at a time")
        old.update(_place(find(NEXTPNR[board.family]), args, outdir, todo, jobs, out))
        with open(path, "w") as f:
            json.dump({"key": key, "seeds": {str(s): r for s, r in sorted(old.items())}}, f,
                      indent=1)
    else:
        say(out, f"[2-3/3] unchanged design: reusing {path}")
    result = {"board": board.name, "device": board.device, "network": net.name,
              "neurons": net.neurons, "synapses": net.synapses, "cores": n["cores"],
              "lanes": board.lanes, "target_mhz": round(board.target_hz / 1e6, 2),
              "memory_bits_needed": n["memory_bits"],
              "seeds": {s: old[s] for s in seeds}}
    result.update(summarise(result))
    return result


def summarise(result):
    """The margin of a sweep: ``met`` (seeds meeting the design clock), ``placed`` (seeds
    placed), ``fmax_min``, ``fmax_median``, ``fmax_max`` (MHz), and ``peak_synaptic_events``:
    synaptic events a second at the design clock (the PLL's, not Fmax) with every lane of
    every core busy: ``target * lanes * cores``."""
    figs = [r for r in result["seeds"].values() if "fmax_mhz" in r]
    fmax = sorted(r["fmax_mhz"] for r in figs)
    mid = len(fmax) // 2
    median = (fmax[mid] if len(fmax) % 2 else (fmax[mid - 1] + fmax[mid]) / 2) if fmax else None
    return {"met": sum(r["timing_met"] for r in figs), "placed": len(figs),
            "fmax_min": fmax[0] if fmax else None, "fmax_median": median,
            "fmax_max": fmax[-1] if fmax else None,
            "peak_synaptic_events": round(result["target_mhz"] * 1e6 * result["lanes"]
                                          * result["cores"])}
