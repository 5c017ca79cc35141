"""The ECP5 block RAM floorplan (``boards/floorplan.py``) on small yosys-style netlists: where
each core's DP16KD go, which flip-flops follow them, what is left to nextpnr.

The 85F builds themselves (nextpnr honouring the pins, the Fmax) are measured by
``make report`` / ``spikefab build --board ulx3s-85f`` and recorded in ``docs/benchmarks.md``.
"""

import re

import pytest
from spikefab.boards import get_board
from spikefab.boards.floorplan import DEVICES, floorplan

EBR = re.compile(r"^X(\d+)/Y(\d+)/EBR([0-3])$")
FF = re.compile(r"^X(\d+)/Y(\d+)/SLICE([ABCD])\.FF([01])$")
COLS = DEVICES["LFE5U-85F"]["cols"]
ROWS = DEVICES["LFE5U-85F"]["rows"]


class Netlist:
    """A yosys JSON netlist under construction: block RAMs, flip-flops, LUTs."""

    def __init__(self):
        self.cells, self.bit = {}, 10

    def net(self):
        self.bit += 1
        return self.bit

    def bram(self, name, width=8):
        outs = [self.net() for _ in range(width)]
        self.cells[name] = {"type": "DP16KD", "parameters": {}, "attributes": {},
                            "connections": {f"DOA{i}": [b] for i, b in enumerate(outs)}}
        return outs

    def ff(self, name, d, lsr=5, ce=None, regset="RESET"):
        conn = {"CLK": [3], "LSR": [lsr], "DI": [d], "Q": [self.net()]}
        if ce is not None:
            conn["CE"] = [ce]
        self.cells[name] = {"type": "TRELLIS_FF", "attributes": {}, "connections": conn,
                            "parameters": {"REGSET": regset, "CLKMUX": "CLK"}}

    def lut(self, name, a):
        z = self.net()
        self.cells[name] = {"type": "LUT4", "parameters": {}, "attributes": {},
                            "connections": {"A": [a], "Z": [z]}}
        return z

    def json(self):
        return {"modules": {"top": {"attributes": {"top": 1}, "cells": self.cells}}}

    def bel(self, name):
        return self.cells[name]["attributes"].get("BEL")


def core(nl, c, banks=4, per_bank=2, state=2):
    """A core's memories: ``banks`` weight banks of ``per_bank`` block RAMs whose outputs are
    registered (``bankN_data``), ``state`` state memories read through a LUT."""
    for b in range(banks):
        for k in range(per_bank):
            name = f"design.net.core_{c}.synapses.weights.bank{b}.{k}.0"
            for i, d in enumerate(nl.bram(name)):
                nl.ff(f"design.net.core_{c}.synapses.weights.bank{b}_data_{k}_{i}", d)
    for s in range(state):
        outs = nl.bram(f"design.net.core_{c}.state.0.{s}")
        nl.lut(f"design.net.core_{c}.lif_{s}", outs[0])


def site(bel):
    x, y, z = EBR.match(bel).groups()
    assert int(x) in COLS and int(y) in ROWS, bel
    assert COLS.index(int(x)) % 4 == int(z), f"{bel}: the site's EBR index"
    return COLS.index(int(x)), int(y)


def test_each_core_in_one_row_banks_either_side_of_its_state():
    nl = Netlist()
    for c in range(4):
        core(nl, c)
    summary = floorplan(nl.json(), "LFE5U-85F")
    assert summary == {"brams": 40, "flops": 4 * 4 * 2 * 8, "cores": 4, "others": 0,
                       "skipped": []}
    for c in range(4):
        order = [f"design.net.core_{c}.synapses.weights.bank{b}.{k}.0"
                 for b in (0, 1) for k in (0, 1)]
        order += [f"design.net.core_{c}.state.0.{s}" for s in (0, 1)]
        order += [f"design.net.core_{c}.synapses.weights.bank{b}.{k}.0"
                  for b in (2, 3) for k in (0, 1)]
        sites = [site(nl.bel(n)) for n in order]
        assert {y for _, y in sites} == {ROWS[c]}, f"core {c}: {sites}"
        idx = [i for i, _ in sites]
        assert idx == list(range(idx[0], idx[0] + len(order))), f"core {c}: {idx}"
        # centred in the row
        assert abs((idx[0] + idx[-1]) / 2 - (len(COLS) - 1) / 2) <= 1


def test_registers_after_a_block_ram_sit_in_the_tile_beside_it():
    nl = Netlist()
    core(nl, 0)
    floorplan(nl.json(), "LFE5U-85F")
    used = set()
    for name, cell in nl.cells.items():
        if cell["type"] != "TRELLIS_FF":
            continue
        b, k = re.search(r"bank(\d+)_data_(\d+)_", name).groups()
        bx, by = map(int, EBR.match(nl.bel(f"design.net.core_0.synapses.weights.bank{b}.{k}.0"))
                     .groups()[:2])
        x, y, s, i = FF.match(nl.bel(name)).groups()
        assert abs(int(x) - bx) <= 2 and 1 <= abs(int(y) - by) <= 2, (name, nl.bel(name))
        assert nl.bel(name) not in used, nl.bel(name)
        used.add(nl.bel(name))
    # LUTs and block RAMs read through logic: no flip-flop to pin, the LUT is left alone
    assert nl.bel("design.net.core_0.lif_0") is None


def test_one_control_set_per_tile():
    nl = Netlist()
    outs = nl.bram("design.net.core_0.synapses.weights.bank0.0.0")
    for i, d in enumerate(outs):
        nl.ff(f"r{i}", d, lsr=5 if i < 5 else 6)          # two resets
    nl.ff("ce", outs[0], ce=7)                            # and a clock enable
    nl.ff("set", outs[1], regset="SET")                   # and a set
    floorplan(nl.json(), "LFE5U-85F")
    tiles = {}
    for name in [f"r{i}" for i in range(8)] + ["ce", "set"]:
        x, y, _, _ = FF.match(nl.bel(name)).groups()
        tiles.setdefault((x, y), set()).add(
            "ce" if name == "ce" else "set" if name == "set" else int(name[1:]) < 5)
    assert len(tiles) == 4 and all(len(v) == 1 for v in tiles.values()), tiles


def test_memories_outside_the_cores_together_in_a_free_run():
    nl = Netlist()
    for c in range(4):
        core(nl, c, banks=16)                              # 34 sites of each row
    for name in ("design.link.cfifo.storage.0.0", "design.net.router.destinations.0.0",
                 "design.net.router.pointers.0.0", "design.net.router.queue.storage.0.0"):
        nl.bram(name)
    summary = floorplan(nl.json(), "LFE5U-85F")
    assert summary["others"] == 4 and summary["brams"] == 4 * 34 + 4
    sites = [site(nl.bel(n)) for n in sorted(nl.cells) if nl.cells[n]["type"] == "DP16KD"
             and "core" not in n]
    assert len({y for _, y in sites}) == 1
    idx = sorted(i for i, _ in sites)
    assert idx == list(range(idx[0], idx[0] + 4))
    bels = [nl.bel(n) for n in nl.cells if nl.cells[n]["type"] == "DP16KD"]
    assert len(set(bels)) == len(bels)                     # no site given twice


def test_more_cores_than_rows_share_them_and_a_core_too_big_is_left_to_nextpnr():
    nl = Netlist()
    for c in range(7):
        core(nl, c, banks=8)                               # 18 sites: two cores a row
    core(nl, 7, banks=20)                                  # 42 sites: more than half a row
    summary = floorplan(nl.json(), "LFE5U-85F")
    assert summary["skipped"] == [7] and summary["cores"] == 7
    assert nl.bel("design.net.core_7.state.0.0") is None
    assert nl.bel("design.net.core_7.synapses.weights.bank0_data_0_0") is None
    at = [site(nl.bel(f"design.net.core_{c}.state.0.0")) for c in range(7)]
    assert [y for _, y in at] == [ROWS[c // 2] for c in range(7)]
    assert all(i < 26 for i, _ in at[0::2]) and all(i >= 26 for i, _ in at[1::2])


def test_pins_already_there_are_kept():
    nl = Netlist()
    core(nl, 0, banks=1, state=0)
    nl.cells["design.net.core_0.synapses.weights.bank0.0.0"]["attributes"]["BEL"] = "X4/Y22/EBR0"
    floorplan(nl.json(), "LFE5U-85F")
    assert nl.bel("design.net.core_0.synapses.weights.bank0.0.0") == "X4/Y22/EBR0"
    # its registers are the user's business too; the other block RAM of the bank is pinned
    assert nl.bel("design.net.core_0.synapses.weights.bank0_data_0_0") is None
    assert nl.bel("design.net.core_0.synapses.weights.bank0.1.0") is not None


def test_unknown_device():
    with pytest.raises(ValueError, match=r"^Floorplan device must be one of LFE5U-85F, "
                                         r"LFE5UM5G-85F, not 'LFE5U-25F'$"):
        floorplan(Netlist().json(), "LFE5U-25F")


def test_the_85f_board_is_floorplanned():
    assert get_board("ulx3s-85f").floorplan
    assert not get_board("ulx3s-25f").floorplan and not get_board("icebreaker").floorplan
    for name in ("ulx3s-85f", "ecpix5-85f"):
        b = get_board(name)
        assert not b.floorplan or b.device in DEVICES
