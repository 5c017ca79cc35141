"""The board build: network -> board top -> yosys, nextpnr, icepack / ecppack under
``build/<board>/`` (:func:`build`), through the one tool driver (``boards/toolflow.py``).

The other jobs of the board flow live beside it, and this module keeps their names so that
``spikefab.boards.flow`` stays the one place a caller imports the flow from:

* ``boards/capacity.py``: :func:`needs`, :func:`check_capacity` (before any synthesis);
* ``boards/design.py``: :func:`board_params`, :func:`design_for`, :func:`build_top`;
* ``boards/reporting.py``: :func:`report` (the table of every board and ``docs/boards.md``);
* ``boards/flashing.py``: :func:`flash`, :func:`flash_command`, :data:`PROGRAMMERS`.
"""

import datetime
import os
import time

from spikefab.errors import InvalidValue
from spikefab.toolchain import setup_environ

from . import floorplan
from .capacity import check_capacity, memory_bits_used, needs
from .catalog import FAMILIES, get_board, network_of
from .design import board_params, build_top, design_for
from .flashing import PROGRAMMERS, FlashError, flash, flash_command
from .reporting import report
from .rtlil import mark_collisions
from .toolflow import (STDOUT, SYNTH_OPTS, BuildError, TimingError, cached_result, clock_fmax,
                       critical_path, design_key, pnr_device, run_tools, save_result, say)

__all__ = ["PROGRAMMERS", "BuildError", "TimingError", "FlashError", "needs", "check_capacity",
           "board_params", "design_for", "build_top", "build", "report", "flash_command",
           "flash"]

#: yosys' synthesis options by family (``scripts/fingerprint.py`` reads them here).
_SYNTH_OPTS = SYNTH_OPTS
#: nextpnr's constraints and its output (the packer's input), by family.
_PNR_IO = {"ice40": ["--pcf", "top.pcf", "--asc", "top.asc"],
           "ecp5": ["--lpf", "top.lpf", "--textcfg", "top.config"]}


def _check_options(seed, tries):
    if not isinstance(tries, int) or isinstance(tries, bool) or tries < 1:
        raise InvalidValue(f"Tries must be a positive integer, not {tries!r}")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
        raise InvalidValue(f"Seed must be a non-negative integer, not {seed!r}")


def _elaborate(net, board, outdir, out, total=4):
    """Stage 1: the board top's files in ``outdir``; ``(files, platform, needs, seconds)``."""
    say(out, f"[1/{total}] elaborate {net.name} for {board.name} ({board.device}) ...", end="")
    t0 = time.monotonic()
    top, platform, n = build_top(net, board)
    plan = platform.prepare(top, name="top", synth_opts=_SYNTH_OPTS[board.family])
    files = dict(plan.files)
    files["top.il"], _ = mark_collisions(files["top.il"])
    for fname, content in files.items():
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(os.path.join(outdir, fname), mode) as f:
            f.write(content)
    dt = time.monotonic() - t0
    say(out, f" {dt:.1f} s")
    return files, platform, n, dt


def _floorplanner(board, outdir, out):
    """After synthesis on a floorplanned board: pin the block RAMs (``boards/floorplan.py``)."""
    def run():
        s = floorplan.floorplan_file(os.path.join(outdir, "top.json"),
                                     os.path.join(outdir, "top.floorplan.json"), board.device)
        run.summary = s
        say(out, f"      floorplan: {s['brams']} DP16KD ({s['cores']} cores, {s['others']} "
                 f"outside them) and the {s['flops']} flip-flops they feed directly, pinned")
    run.summary = None
    return run


def _result(net, board, n, ran, outdir, key, secs, plan_summary):
    """The ``result.json`` of a board build from nextpnr's report."""
    fam = FAMILIES[board.family]
    rep = ran["report"]
    util = {k: [v["used"], v["available"]] for k, v in rep["utilization"].items()
            if v["used"] or k in fam["cells"].values()}
    fmax, constraint, clocks = clock_fmax(rep)
    used_bits = memory_bits_used(util, board.family)
    return {
        "key": key, "board": board.name, "title": board.title, "device": board.device,
        "network": net.name, "neurons": net.neurons, "synapses": net.synapses,
        "cores": n["cores"], "lanes": board.lanes, "seed": ran["seed"], "utilisation": util,
        "fmax_mhz": round(fmax, 2),
        "constraint_mhz": round(constraint, 2), "timing_met": fmax >= constraint,
        "clocks": {k: [round(a, 2), round(c, 2)] for k, (a, c) in clocks.items()},
        "critical_path": ran["critical_path"],
        "memory_bits_used": used_bits, "memory_bits_needed": n["memory_bits"],
        "core_memory_bits": n["core_bits"], "seconds": secs, "floorplan": plan_summary,
        "synaptic_ops_per_s": round(fmax * 1e6 * board.lanes * n["cores"]),
        # at the design clock (the PLL's): what the board runs, every lane of every core busy
        "peak_synaptic_events": round(board.target_hz * board.lanes * n["cores"]),
        "bitstream": os.path.join(outdir, board.bitstream), "log": outdir,
        "date": datetime.date.today().isoformat(),
    }


def build(net=None, board="icebreaker", outdir=None, *, seed=None, out=STDOUT, strict=True,
          reuse=True, tries=3):
    """Build the bitstream of ``net`` for ``board``.

    Parameters
    ----------
    net : Network, path or None
        The network (None: the board's default network, :func:`~.catalog.default_network`).
    board : str or Board
    outdir : str or None
        Output folder, default ``build/<board>``; it must not be under ``/tmp`` (YoWASP).
    seed : int or None
        nextpnr's (first) placement seed; None: the board's (:attr:`Board.seed`).
    tries : int
        Placements to try: while the design misses its clock constraint, place and route
        again with the next seed (``seed + 1``, ...), at most ``tries`` in all; the result
        names the seed of the bitstream.
    out : file or None
        Where the stage lines go.
    strict : bool
        Raise :class:`TimingError` (after writing everything) if the design misses its clock
        constraint.
    reuse : bool
        Reuse the previous result in ``outdir`` if the design (its RTLIL) and the options are
        unchanged.

    Returns
    -------
    dict
        ``board``, ``device``, ``network``, ``neurons``, ``synapses``, ``lanes``,
        ``utilisation`` (resource -> [used, available], nextpnr cell names), ``fmax_mhz``,
        ``constraint_mhz``, ``timing_met``, ``memory_bits_used`` (block RAM and SPRAM bits the
        placed design occupies), ``memory_bits_needed`` (the network's state),
        ``core_memory_bits``, ``seconds`` (per stage), ``bitstream``, ``log``.

    Raises
    ------
    ValueError
        The network does not fit the board (before any synthesis).
    BuildError
        A tool failed (the message names the log), e.g. the design did not fit after all.
    TimingError
        ``strict`` and the design misses its clock constraint.
    """
    _check_options(seed, tries)
    setup_environ()
    board = get_board(board)
    seed = board.seed if seed is None else seed
    net = network_of(net, board)
    outdir = outdir or os.path.join("build", board.name)
    os.makedirs(outdir, exist_ok=True)
    files, platform, n, t_elab = _elaborate(net, board, outdir, out)

    pnr_args = pnr_device(board.device, board.package)
    if board.family == "ecp5":
        pnr_args += ["--speed", str(platform.speed)]
    pnr_args += list(board.pnr_opts)
    overrides = {"synth_opts": _SYNTH_OPTS[board.family]}
    key = design_key(files, [pnr_args, seed, tries, overrides, list(board.pack_opts)],
                     [floorplan.__file__] if board.floorplan else [])
    old = cached_result(outdir, key, board.bitstream) if reuse else None
    if old is not None:
        say(out, f"[2-4/4] unchanged design: reusing {os.path.join(outdir, 'result.json')}")
        old.setdefault("critical_path", critical_path(os.path.join(outdir, "nextpnr.log")))
        return _finish(old, out, strict)

    if board.family == "ice40":
        pack = ["top.asc", "top.bin"]
    else:
        pack = [*board.pack_opts, "--input", "top.config", "--bit", "top.bit"]
    planner = _floorplanner(board, outdir, out) if board.floorplan else None
    ran = run_tools(outdir, board.family, ["-l", "top.rpt", "top.ys"],
                    pnr_args + _PNR_IO[board.family],
                    netlist="top.floorplan.json" if board.floorplan else "top.json",
                    seed=seed, tries=tries, pack=pack, after_synth=planner, out=out,
                    first=2, total=4)
    secs = {"elaborate": round(t_elab, 1), **ran["seconds"]}
    result = _result(net, board, n, ran, outdir, key, secs, planner and planner.summary)
    save_result(outdir, result)
    return _finish(result, out, strict)


def _finish(result, out, strict):
    u = result["utilisation"]
    mark = "met" if result["timing_met"] else "MISSED"
    say(out, f"{result['board']}: {result['bitstream']}; {result['synapses']} synapses, "
             f"{result['neurons']} neurons; Fmax {result['fmax_mhz']:.1f} MHz ({mark} "
             f"{result['constraint_mhz']:.1f} MHz); "
             + ", ".join(f"{k} {a}/{b}" for k, (a, b) in u.items()
                         if k.endswith(("LC", "COMB", "RAM", "SPRAM", "DSP", "DP16KD",
                                        "MULT18X18D"))))
    if strict and not result["timing_met"]:
        raise TimingError(f"{result['board']}: Fmax {result['fmax_mhz']:.1f} MHz misses the "
                          f"{result['constraint_mhz']:.1f} MHz constraint; log: "
                          f"{os.path.join(result['log'], 'nextpnr.log')}")
    return result
