"""The table of every board's build (apio style) and ``docs/boards.md``."""

import datetime

from spikefab.errors import InvalidValue

from .capacity import memory_bits_used
from .catalog import FAMILIES, board_names, get_board
from .toolflow import STDOUT, say

__all__ = ["report"]

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


def report(boards=None, *, out=STDOUT, write="docs/boards.md", rebuild=False, seeds=None,
           jobs=2):
    """Build (or reuse) every board's default network and print the apio-style table.

    With ``seeds`` (a count ``N`` or a list of seeds) every board's default network is also
    placed with seeds ``1 .. N`` (:func:`~.sweep.sweep`, ``jobs`` at a time) and the margin
    table follows: Fmax per seed, the seeds that meet the design clock, the peak synaptic
    events a second at that clock.

    Returns the list of results (:func:`build`), and the sweeps' if ``seeds``; writes
    ``write`` (Markdown) unless None.
    """
    from .flow import build       # at call time: flow imports this module
    from .sweep import sweep
    names = board_names() if boards is None else [get_board(b).name for b in boards]
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if seeds < 1:
            raise InvalidValue(f"Seeds must be a positive count or a list of seeds, not {seeds}")
        seeds = list(range(1, seeds + 1))
    sweeps = [sweep(name, seeds, jobs=jobs, reuse=not rebuild, out=out)
              for name in names] if seeds else []
    results = []
    for k, name in enumerate(names):
        # a board whose seed was swept: its row is that placement (no second one)
        row = _swept_row(sweeps[k], get_board(name)) if sweeps else None
        results.append(row or build(None, name, out=out, strict=False, reuse=not rebuild))
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
    say(out, line)
    say(out, "-" * len(line))
    for row in rows:
        say(out, "  ".join(c.ljust(w) for c, w in zip(row, widths)))
    for line in _sweep_lines(sweeps, markdown=False):
        say(out, line)
    if write:
        with open(write, "w") as f:
            f.write(_markdown(results, head, rows, sweeps))
        say(out, f"wrote {write}")
    return (results, sweeps) if seeds else results


def _swept_row(sw, board):
    """The table row of ``board`` from its sweep's placement with the board's own seed, or None
    when that seed was not swept (or failed)."""
    r = sw["seeds"].get(board.seed)
    if r is None or "fmax_mhz" not in r:
        return None
    util = {cell: [r["utilisation"].get(cell, 0), board.resources[key]]
            for key, cell in FAMILIES[board.family]["cells"].items()
            if cell is not None and key in board.resources}
    return {"board": board.name, "device": board.device, "utilisation": util,
            "fmax_mhz": r["fmax_mhz"], "constraint_mhz": r["constraint_mhz"],
            "timing_met": r["timing_met"], "synapses": sw["synapses"], "seed": board.seed,
            "memory_bits_used": memory_bits_used(util, board.family),
            "memory_bits_needed": sw["memory_bits_needed"],
            "critical_path": r.get("critical_path"),
            "date": r.get("date") or datetime.date.today().isoformat()}


def _sweep_lines(sweeps, markdown=True):
    """The margin table: one row per board, Fmax per seed (``*`` marks a miss)."""
    if not sweeps:
        return []
    seeds = sorted({s for sw in sweeps for s in sw["seeds"]})
    head = ["board", "design clock", *[f"seed {s}" for s in seeds], "met", "median",
            "peak synaptic events/s"]
    rows = []
    for sw in sweeps:
        cells = []
        for s in seeds:
            r = sw["seeds"].get(s)
            cells.append("-" if r is None else "failed" if "error" in r else
                         f"{r['fmax_mhz']:.1f}" + ("" if r["timing_met"] else "*"))
        rows.append([sw["board"], f"{sw['target_mhz']:g} MHz", *cells,
                     f"{sw['met']}/{len(sw['seeds'])}",
                     "-" if sw["fmax_median"] is None else f"{sw['fmax_median']:.1f}",
                     f"{sw['peak_synaptic_events'] / 1e6:,.0f} M ({sw['cores']} cores x "
                     f"{sw['lanes']} lanes)"])
    if markdown:
        return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head),
                *["| " + " | ".join(r) + " |" for r in rows]]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    return ["", "  ".join(h.ljust(w) for h, w in zip(head, widths)),
            *["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]]


def _markdown(results, head, rows, sweeps=()):
    lines = [
        "# Boards",
        "",
        "Generated by `make report` (`spikefab.boards.report`); do not edit by hand.",
        "",
        "The one board top (`boards/top.py`) requests the clock, UART, LEDs and buttons of",
        "each board's pin / clock table through amaranth-boards and instantiates the",
        "network top behind the host link",
        "(`LinkedNetwork`, `hdl/link/`, protocol in [`protocol.md`](protocol.md): the host",
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
        "  keep their weights in SPRAM (as many as the four tiles hold, two 8-bit weights a",
        "  tile word), the others in EBR;",
        "  on an ECP5 a static core of more than 2048 weight words gets the pipelined",
        "  `banked` weight memory (registered inputs and bank outputs, `docs/core.md`), and",
        "  a network with one has register slices on every core's streams (`docs/network.md`).",
        "- **Floorplan** (the ULX3S-85F and ECPIX-5, `Board.floorplan`; `boards/floorplan.py`):",
        "  before nextpnr, each core's DP16KD are pinned in one stretch of a block RAM row",
        "  (weight banks either side of its state memories), the router's and link's",
        "  together, and every flip-flop that a block RAM's output feeds directly in the",
        "  logic tile beside it (nextpnr times a DP16KD read at 5.6-5.8 ns on speed grade 6).",
        "- **Host link**: 8N1 framed commands with CRC-16 (`docs/protocol.md`) at the board's",
        "  baud rate (`Board.baud`: 1 Mbaud on every board);",
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
        "Utilisation and Fmax from nextpnr's `--report` JSON, placed with the board's seed",
        "(`Board.seed`: the placement of the seed sweep below; a build places again with the",
        "next two seeds while the constraint is missed); memory bits used are",
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
    if sweeps:
        lines += [
            "",
            "## Margin over placement seeds",
            "",
            "Each default network synthesised once and placed with every seed (`make report",
            "SEEDS=5`, `boards/sweep.py`); Fmax in MHz, `*` where it misses the design clock.",
            "Peak synaptic events a second: the design clock (the PLL's, not Fmax) times the",
            "synapses every core reads a clock (its lanes), all cores busy.",
            "",
            *_sweep_lines(sweeps),
        ]
    dates = sorted({r["date"] for r in results})
    lines += ["", f"Measured {', '.join(dates)}.", ""]
    return "\n".join(lines)
