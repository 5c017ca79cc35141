"""ECP5 block RAM floorplan: each core's DP16KD in one stretch of a block RAM row, and the
registers a block RAM's output feeds directly in the logic tile beside it.

Why: nextpnr times a DP16KD read at its NOREG clock-to-out (5.6 ns on speed grade 6) whatever
its output register, and its placer puts the register after a block RAM by that register's
consumer, often tens of columns from the block RAM. The banked weight memory
(``hdl/synapse.py``) registers every bank's read data; this pass pins those registers next to
their block RAMs, so the slow clock-to-out meets a short route, and lays each core's block RAMs
out contiguously around its state memories (banks in order on either side), so the bank
multiplexer's inputs are close together. Everything else is left to nextpnr.

:func:`floorplan` edits the yosys JSON netlist (``BEL`` attributes, which nextpnr's placers
honour) and returns a summary; the sites are those of the device (:data:`DEVICES`).
"""

import json
import re
from collections import defaultdict

from spikefab.errors import InvalidValue

__all__ = ["DEVICES", "floorplan", "floorplan_file"]

#: Block RAM sites per device: the rows (Y) and the columns (X) of each row, as nextpnr-ecp5
#: places 208 DP16KD on the LFE5U-85F; the BEL of the i-th site of a row is
#: ``X{x}/Y{y}/EBR{i % 4}`` (the sites come in groups of four).
_COLS_85F = (4, 6, 8, 10, 13, 15, 17, 19, 22, 24, 26, 28, 31, 33, 35, 37, 40, 42, 44, 46, 49,
             51, 53, 55, 58, 60, 62, 64, 69, 71, 73, 75, 78, 80, 82, 84, 87, 89, 91, 93, 96, 98,
             100, 102, 105, 107, 109, 111, 114, 116, 118, 120)
DEVICES = {
    "LFE5U-85F": {"rows": (22, 46, 70, 82), "cols": _COLS_85F},
    "LFE5UM5G-85F": {"rows": (22, 46, 70, 82), "cols": _COLS_85F},
}

_CORE = re.compile(r"\.core_(\d+)\.")
_BANK = re.compile(r"\.bank(\d+)\.")
_SLICES = ("SLICEA", "SLICEB", "SLICEC", "SLICED")


def _natural(name):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _core_order(names):
    """A core's block RAMs in row order: the first half of the weight banks, the core's other
    memories (state, accumulators), the second half of the banks."""
    banks = sorted((n for n in names if _BANK.search(n)),
                   key=lambda n: (int(_BANK.search(n).group(1)), _natural(n)))
    rest = sorted((n for n in names if not _BANK.search(n)), key=_natural)
    half = len(banks) // 2
    return banks[:half] + rest + banks[half:]


def floorplan(netlist, device):
    """Pin the block RAMs of each core and the flip-flops their outputs feed.

    Parameters
    ----------
    netlist : dict
        yosys JSON netlist (``write_json``) of the top; edited in place.
    device : str
        A key of :data:`DEVICES`.

    Returns
    -------
    dict
        ``brams`` (pinned DP16KD), ``flops`` (pinned TRELLIS_FF), ``cores`` (laid out),
        ``others`` (block RAMs outside the cores, pinned together), ``skipped`` (cores whose
        block RAMs did not fit their stretch of a row; left to nextpnr).
    """
    if device not in DEVICES:
        raise InvalidValue(f"Floorplan device must be one of {', '.join(DEVICES)}, "
                           f"not {device!r}")
    sites = DEVICES[device]
    tops = [m for m in netlist["modules"].values() if m.get("attributes", {}).get("top")]
    module = tops[0] if tops else next(iter(netlist["modules"].values()))
    cells = module["cells"]

    # sites and logic tiles the netlist pins already (left as they are)
    taken, used_tiles = set(), set()
    for cell in cells.values():
        bel = cell.get("attributes", {}).get("BEL")
        m = re.match(r"X(\d+)/Y(\d+)/", bel) if isinstance(bel, str) else None
        if m and cell["type"] == "DP16KD":
            taken.add((int(m.group(1)), int(m.group(2))))
        elif m and cell["type"] == "TRELLIS_FF":
            used_tiles.add((int(m.group(1)), int(m.group(2))))

    by_core = defaultdict(list)
    for name, cell in cells.items():
        if cell["type"] == "DP16KD" and "BEL" not in cell.get("attributes", {}):
            m = _CORE.search(name)
            if m:
                by_core[int(m.group(1))].append(name)
    cores = sorted(by_core)
    rows, cols = sites["rows"], sites["cols"]
    per_row = -(-len(cores) // len(rows)) if cores else 1
    span = len(cols) // per_row

    placed = {}                                   # DP16KD name -> (x, y)
    skipped = []
    for i, core in enumerate(cores):
        order = _core_order(by_core[core])
        y = rows[i // per_row]
        free = [(x, y) for x in cols[(i % per_row) * span:(i % per_row + 1) * span]
                if (x, y) not in taken]
        if len(order) > len(free):
            skipped.append(core)
            continue
        lo = (len(free) - len(order)) // 2
        placed.update(zip(order, free[lo:]))
    taken |= set(placed.values())

    # the memories outside the cores (router, host link) together, in the contiguous run of
    # free sites nearest the middle of the chip (the lower column on a tie)
    others = sorted((name for name, cell in cells.items()
                     if cell["type"] == "DP16KD" and name not in placed
                     and not _CORE.search(name) and "BEL" not in cell.get("attributes", {})),
                    key=_natural)
    mid = ((cols[0] + cols[-1]) / 2, (rows[0] + rows[-1]) / 2)
    runs = []
    for y in rows:
        for lo in range(len(cols) - len(others) + 1):
            run = [(cols[lo + j], y) for j in range(len(others))]
            if others and not any(site in taken for site in run):
                cx = (run[0][0] + run[-1][0]) / 2
                runs.append((abs(cx - mid[0]) + abs(y - mid[1]), run[0][0], y, run))
    if runs:
        placed.update(zip(others, min(runs)[3]))

    # the flip-flops each pinned block RAM's outputs feed directly (D = a DO bit)
    driver = {}
    for name in placed:
        for port, bits in cells[name]["connections"].items():
            if port.startswith("DO"):
                for b in bits:
                    if isinstance(b, int):
                        driver[b] = name
    flops = defaultdict(list)
    for name, cell in cells.items():
        if cell["type"] == "TRELLIS_FF" and "BEL" not in cell.get("attributes", {}):
            d = cell["connections"].get("DI", [None])[0]
            if d in driver:
                flops[driver[d]].append(name)

    def control(cell):
        conn = cell["connections"]
        return (tuple(sorted(cell.get("parameters", {}).items())),
                tuple(str(conn.get(p)) for p in ("CLK", "LSR", "CE")))

    n_flops = 0
    for name in sorted(placed, key=_natural):
        x, y = placed[name]
        cells[name].setdefault("attributes", {})["BEL"] = f"X{x}/Y{y}/EBR{cols.index(x) % 4}"
        groups = defaultdict(list)
        for ff in sorted(flops[name], key=_natural):
            groups[control(cells[ff])].append(ff)
        # one control set per logic tile: the tiles above, then below, the block RAM
        tiles = [(x + dx, y + dy) for dy in (-1, 1, -2, 2) for dx in (0, 1, -1, 2)]
        for group in groups.values():
            while group:
                tile = next((t for t in tiles if t not in used_tiles), None)
                if tile is None:
                    break
                used_tiles.add(tile)
                for k, ff in enumerate(group[:8]):
                    bel = f"X{tile[0]}/Y{tile[1]}/{_SLICES[k // 2]}.FF{k % 2}"
                    cells[ff].setdefault("attributes", {})["BEL"] = bel
                    n_flops += 1
                group = group[8:]
    return {"brams": len(placed), "flops": n_flops, "cores": len(cores) - len(skipped),
            "others": len(others) if runs else 0, "skipped": skipped}


def floorplan_file(src, dst, device):
    """:func:`floorplan` of the JSON netlist ``src``, written to ``dst``; the summary."""
    with open(src) as f:
        netlist = json.load(f)
    summary = floorplan(netlist, device)
    with open(dst, "w") as f:
        json.dump(netlist, f)
    return summary
