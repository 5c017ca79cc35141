"""What a refactoring of the gateware must not change, recorded as JSON.

``python scripts/fingerprint.py record OUT.json`` runs, for every ``examples/*.toml`` at 1 and 2
lanes, a fixed 60-step run of its network top on Verilator (every step checked against the
golden model) and, for every board's default network, a fixed 20-step run on its simulated board;
it keeps every step's cycle count. It also keeps the flattened synthesized cell counts (yosys
``stat``): ``synth_ice40`` (which flattens) of each example's network top, and each board's own
synthesis script (``synth_ice40`` / ``synth_ecp5``) of its top. ``compare A.json B.json`` prints
every difference and exits 1 if there is any. ``--only cycles|cells`` records one half.

This is the check the redesign issue asks for ("per-step cycle counts of a fixed run and the
flattened synthesized cell counts, before and after"); later issues that must not change the
gateware (timing work, refactors) use it the same way.
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import time

import numpy as np

LANES = (1, 2)
STEPS, BOARD_STEPS = 60, 20


# -- the library calls it makes (the only lines a move of modules changes) ---------------------

def simulate_network_rtl(*a, **k):
    from spikefab.sim.network import simulate_network_rtl as f
    return f(*a, **k)


def board_params(*a, **k):
    from spikefab.boards import board_params as f
    return f(*a, **k)


def run(*a, **k):
    from spikefab.host import run as f
    return f(*a, **k)


def network_verilog_of(net, lanes):
    from spikefab.shape.network import derive
    from spikefab.sim.generate import network_verilog
    return network_verilog(derive(net, lanes=lanes))[0]


def board_plan(name):
    """The files of the board's synthesis (Verilog / RTLIL, ``top.ys``, constraints)."""
    from spikefab.boards.flow import _SYNTH_OPTS, build_top, get_board
    board = get_board(name)
    top, platform, _ = build_top(None, board)
    return platform.prepare(top, name="top", synth_opts=_SYNTH_OPTS[board.family]).files


def _inputs(n, steps, seed):
    rng = np.random.default_rng(seed)
    return (rng.random((steps, n)) < 0.3).astype(bool)


def _stat(log_text):
    """Cell counts of the last ``stat`` in a yosys log: ``{cell type: count}``."""
    blocks = log_text.split("Printing statistics.")
    if len(blocks) < 2:
        raise RuntimeError("yosys printed no statistics")
    last = blocks[-1]
    cells = {}
    for m in re.finditer(r"^\s+(\$?[A-Za-z_][\w$]*)\s+(\d+)\s*$", last, re.M):
        cells[m.group(1)] = int(m.group(2))
    for m in re.finditer(r"^\s+(\d+)\s+\S*\s+(\$?[A-Za-z_][\w$]*)\s*$", last, re.M):
        cells[m.group(2)] = int(m.group(1))       # yosys >= 0.4x "count  area  type" rows
    tot = re.search(r"Number of cells:\s+(\d+)", last) or re.search(r"^\s+(\d+)\s+cells\s*$",
                                                                     last, re.M)
    if tot:
        cells["total"] = int(tot.group(1))
    return cells


def _yosys(script, cwd):
    from spikefab.toolchain import find
    r = subprocess.run([find("YOSYS"), "-q", "-l", "fp.log", "-p", script], cwd=cwd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    with open(os.path.join(cwd, "fp.log")) as f:
        text = f.read()
    if r.returncode:
        raise RuntimeError(f"yosys failed in {cwd}")
    return _stat(text)


def example_cycles(out):
    from spikefab.golden import load
    for path in sorted(glob.glob("examples/*.toml")):
        net = load(path)
        x = _inputs(net.inputs, STEPS, 1)
        for lanes in LANES:
            t0 = time.time()
            r = simulate_network_rtl(net, x, sim="verilator", lanes=lanes, check=True, seed=1,
                                     build_root="build/fingerprint/rtl")
            key = f"{os.path.basename(path)} lanes={lanes}"
            out[key] = [int(c) for c in np.asarray(r.cycles).ravel()]
            print(f"  cycles {key}: {sum(out[key])} in {STEPS} steps ({time.time() - t0:.0f} s)",
                  flush=True)


def board_cycles(out):
    from spikefab.boards import board_names, default_network
    for name in board_names():
        net = default_network(name)
        x = _inputs(net.inputs, BOARD_STEPS, 2)
        t0 = time.time()
        p = board_params(net, name, simulated=True)
        r = run(net, x, sim=True, params=p, read_weights=False)
        out[f"board {name}"] = [int(c) for c in np.asarray(r.cycles).ravel()]
        print(f"  cycles board {name}: {sum(out[f'board {name}'])} ({time.time() - t0:.0f} s)",
              flush=True)


def _example_tops(root):
    """``(key, folder)`` of every example at every lane count, with the Verilog of its network
    top written to ``top.v`` in the folder."""
    from spikefab.golden import load
    for path in sorted(glob.glob("examples/*.toml")):
        net = load(path)
        for lanes in LANES:
            key = f"{os.path.basename(path)} lanes={lanes}"
            d = os.path.join(root, key.replace(" ", "_").replace("=", ""))
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "top.v"), "w") as f:
                f.write(network_verilog_of(net, lanes))
            yield key, d


def example_cells(out):
    for key, d in _example_tops(os.path.abspath("build/fingerprint/cells")):
        # the iCE40 mapping (flattened): memories become block RAM, not flip-flops
        out[key] = _yosys("read_verilog top.v; synth_ice40 -top spikefab_network; stat", d)
        print(f"  cells {key}: {out[key].get('total')}", flush=True)


def board_cells(out):
    from spikefab.boards import board_names
    root = os.path.abspath("build/fingerprint/boards")
    for name in board_names():
        d = os.path.join(root, name)
        os.makedirs(d, exist_ok=True)
        t0 = time.time()
        files = board_plan(name)
        for fname, content in files.items():
            with open(os.path.join(d, fname), "wb" if isinstance(content, bytes) else "w") as f:
                f.write(content)
        from spikefab.toolchain import find
        r = subprocess.run([find("YOSYS"), "-q", "-l", "fp.log", "top.ys"], cwd=d,
                           stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        with open(os.path.join(d, "fp.log")) as f:
            text = f.read()
        if r.returncode:
            raise RuntimeError(f"yosys failed for {name}: {d}/fp.log")
        # the board script ends with its own stat of the flattened, mapped design
        out[f"board {name}"] = _stat(text)
        print(f"  cells board {name}: {out[f'board {name}'].get('total')} "
              f"({time.time() - t0:.0f} s)", flush=True)


def _save(path, res):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
        f.write("\n")


#: Blackbox models of the vendor primitives a board top instantiates, for the word-level pass.
_PRIMITIVES = {"ice40": "read_verilog -lib +/ice40/cells_sim.v",
               "ecp5": "read_verilog -lib +/ecp5/cells_sim.v +/ecp5/cells_bb.v"}
#: The word-level pass: flattened, optimised, arithmetic and memories still whole cells, no
#: LUT mapping (whose results move with the names and order of cells alone).
_COARSE = "synth -flatten -top {top} -run begin:fine; stat -width"


def coarse_cells(out):
    """Word-level cell counts (with widths) of the examples' network tops and every board's
    top: the logic itself, before the technology mapping."""
    from spikefab.boards import board_names, get_board
    root = os.path.abspath("build/fingerprint/coarse")
    for key, d in _example_tops(root):
        out[key] = _yosys("read_verilog top.v; " + _COARSE.format(top="spikefab_network"), d)
        print(f"  coarse {key}: {out[key].get('total')}", flush=True)
    for name in board_names():
        d = os.path.join(root, name)
        os.makedirs(d, exist_ok=True)
        files = board_plan(name)
        with open(os.path.join(d, "top.il"), "w") as f:
            f.write(files["top.il"])
        fam = get_board(name).family
        out[f"board {name}"] = _yosys(f"{_PRIMITIVES[fam]}; read_rtlil top.il; "
                                      + _COARSE.format(top="top"), d)
        print(f"  coarse board {name}: {out[f'board {name}'].get('total')}", flush=True)


def record(path, only):
    """Record into ``path``, saved after each part (an existing file's other parts stay)."""
    from spikefab.toolchain import setup_environ
    setup_environ()
    res = {"cycles": {}, "cells": {}, "coarse": {}}
    if os.path.exists(path):
        with open(path) as f:
            res.update(json.load(f))
    parts = {"cycles": (example_cycles, board_cycles), "cells": (example_cells, board_cells),
             "coarse": (coarse_cells,)}
    for part, fns in parts.items():
        if only in (None, part):
            for fn in fns:
                fn(res[part])
                _save(path, res)
    print(f"wrote {path}")


#: Cell counts that are not logic: ``$scopeinfo`` marks a level of the (flattened) hierarchy,
#: so a split into components adds some; the totals include them.
_NOT_LOGIC = {"$scopeinfo", "total", "cells"}


def compare(a_path, b_path):
    with open(a_path) as f:
        a = json.load(f)
    with open(b_path) as f:
        b = json.load(f)
    bad = 0
    for part in ("cycles", "coarse", "cells"):
        for key in sorted(set(a.get(part, {})) | set(b.get(part, {}))):
            x, y = a.get(part, {}).get(key), b.get(part, {}).get(key)
            if x is None or y is None:
                continue
            if part in ("cells", "coarse"):
                scopes = (x.get("$scopeinfo", 0), y.get("$scopeinfo", 0))
                x = {k: v for k, v in x.items() if k not in _NOT_LOGIC}
                y = {k: v for k, v in y.items() if k not in _NOT_LOGIC}
                if scopes[0] != scopes[1]:
                    print(f"{part} {key}: hierarchy scopes {scopes[0]} -> {scopes[1]} "
                          f"(not logic)")
            if x != y:
                bad += 1
                if part == "cycles":
                    diff = [i for i, (p, q) in enumerate(zip(x, y)) if p != q]
                    print(f"{part} {key}: {len(diff)} steps differ, first step "
                          f"{diff[0] if diff else len(x)}: {x[diff[0]] if diff else len(x)} "
                          f"vs {y[diff[0]] if diff else len(y)}")
                else:
                    keys = sorted((set(x) | set(y)) - _NOT_LOGIC)
                    print(f"{part} {key}: " + ", ".join(
                        f"{k} {x.get(k, 0)} -> {y.get(k, 0)}" for k in keys
                        if x.get(k, 0) != y.get(k, 0)))
            else:
                print(f"{part} {key}: same")
    print(f"{bad} differences")
    return 1 if bad else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("out")
    r.add_argument("--only", choices=("cycles", "cells", "coarse"))
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    args = ap.parse_args(argv)
    if args.cmd == "record":
        record(args.out, args.only)
        return 0
    return compare(args.a, args.b)


if __name__ == "__main__":
    sys.exit(main())
