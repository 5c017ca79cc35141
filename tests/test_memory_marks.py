"""Memories marked ``no_rw_check`` (``hdl/memory.py``) and the board flow's RTLIL edit
(``boards/rtlil.py``): only the marked memories' read ports become collision don't-care, the
FIFO behaves as Amaranth's, and yosys then builds no read-first emulation around the block RAM.
Also the seed sweep's checks and summary (``boards/sweep.py``)."""

import os
import re
import subprocess

import pytest
from amaranth.back import rtlil
from amaranth.hdl import Module, Signal
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.memory import Memory
from amaranth.sim import Simulator

from spikefab.boards.rtlil import mark_collisions
from spikefab.boards.sweep import _check_seeds, summarise
from spikefab.errors import InvalidValue
from spikefab.hdl.delay import DelayLine
from spikefab.hdl.memory import NO_RW_CHECK, Fifo
from spikefab.toolchain import find, setup_environ


def _two_memories():
    m = Module()
    m.submodules.marked = a = Memory(shape=8, depth=16, init=[], attrs=NO_RW_CHECK)
    m.submodules.plain = b = Memory(shape=8, depth=16, init=[])
    ports = []
    for mem in (a, b):
        wp, rp = mem.write_port(), mem.read_port(transparent_for=())
        addr, data, out = Signal(4), Signal(8), Signal(8)
        m.d.comb += [wp.addr.eq(addr), wp.data.eq(data), wp.en.eq(1), rp.addr.eq(addr),
                     out.eq(rp.data)]
        ports += [addr, data, out]
    return rtlil.convert(m, ports=ports)


def _fifo_il(width, depth):
    f = Fifo(width=width, depth=depth)
    return rtlil.convert(f, ports=[f.w_data, f.w_en, f.w_rdy, f.r_data, f.r_en, f.r_rdy,
                                   f.level])


def _masks(text):
    """``{memid: COLLISION_X_MASK}`` of every read port in ``text``."""
    out, memid = {}, None
    for line in text.split("\n"):
        m = re.match(r'\s*parameter \\MEMID "\\\\(.+)"', line)
        if m:
            memid = m.group(1)
        m = re.match(r"\s*parameter \\COLLISION_X_MASK (\S+)", line)
        if m:
            out[memid] = m.group(1)
    return out


def test_only_marked_memories_are_edited():
    text = _two_memories()
    assert _masks(text) == {"marked": "1'0", "plain": "1'0"}
    edited, ports = mark_collisions(text)
    assert ports == 1
    assert _masks(edited) == {"marked": "1'1", "plain": "1'0"}
    # nothing else changes
    diff = [(a, b) for a, b in zip(text.split("\n"), edited.split("\n")) if a != b]
    assert len(diff) == 1 and "COLLISION_X_MASK" in diff[0][0]
    # applied twice: the same text
    assert mark_collisions(edited) == (edited, 1)


def test_fifo_and_delay_line_mark_their_memories():
    for what, text in (("fifo", _fifo_il(8, 8)),
                       ("delay", rtlil.convert(DelayLine(8, 5, ram=True)))):
        assert mark_collisions(text)[1] == 1, what
    # a FIFO of depth 1 has no memory; a delay line in registers neither
    for what, text in (("fifo", _fifo_il(8, 1)),
                       ("delay", rtlil.convert(DelayLine(8, 2, ram=True)))):
        assert mark_collisions(text)[1] == 0, what


@pytest.mark.seed(5)
def test_fifo_behaves_as_amaranths(seed):
    """Same pushes and pops, random enables: the same outputs every clock."""
    import random
    rng = random.Random(seed)
    m = Module()
    m.submodules.a = a = Fifo(width=8, depth=5)
    m.submodules.b = b = SyncFIFOBuffered(width=8, depth=5)
    sim = Simulator(m)
    sim.add_clock(1e-6)
    trace = [(rng.getrandbits(8), rng.random() < 0.6, rng.random() < 0.5) for _ in range(300)]

    async def bench(ctx):
        for data, w, r in trace:
            for f in (a, b):
                ctx.set(f.w_data, data)
                ctx.set(f.w_en, w)
                ctx.set(f.r_en, r)
            got = [(ctx.get(f.r_rdy), ctx.get(f.r_data) if ctx.get(f.r_rdy) else 0,
                    ctx.get(f.w_rdy), ctx.get(f.level)) for f in (a, b)]
            assert got[0] == got[1], (got, seed)
            await ctx.tick()
    sim.add_testbench(bench)
    sim.run()


def _ice40_flops(text, tmp):
    """Flip-flops of ``text`` (RTLIL) after yosys' ``synth_ice40``."""
    setup_environ()
    with open(os.path.join(tmp, "top.il"), "w") as f:
        f.write(text)
    r = subprocess.run([find("YOSYS"), "-q", "-p",
                        "read_rtlil top.il; synth_ice40 -top top; tee -q -o stat.txt stat"],
                       cwd=tmp, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    with open(os.path.join(tmp, "stat.txt")) as f:
        return sum(int(n) for n, cell in re.findall(r"^\s+(\d+)\s+(SB_DFF\w*)\s*$", f.read(),
                                                     re.M))


def test_marked_fifo_has_no_read_first_emulation(build_dir):
    """yosys builds a 256 x 32 FIFO's block RAM with its write word, address and enable
    delayed in ~40 flip-flops and a multiplexer per bit when read-first must hold; marked,
    only the FIFO's own counters are left."""
    tmp = str(build_dir)
    fifo = _fifo_il(32, 256)
    plain = _ice40_flops(fifo, tmp)
    marked = _ice40_flops(mark_collisions(fifo)[0], tmp)
    assert marked <= plain - 40, (plain, marked)


def test_seed_sweep_checks_and_summary():
    assert _check_seeds(range(1, 6), 2) == [1, 2, 3, 4, 5]
    for seeds, jobs, what in (([], 1, "at least one"), ([1, 1], 1, "differ"),
                              ([-1], 1, "non-negative"), ([True], 1, "non-negative"),
                              ([1], 0, "Jobs")):
        with pytest.raises(InvalidValue, match=what):
            _check_seeds(seeds, jobs)
    sw = {"target_mhz": 30.0, "lanes": 1, "cores": 1, "seeds": {
        1: {"fmax_mhz": 29.0, "timing_met": False}, 2: {"fmax_mhz": 31.0, "timing_met": True},
        3: {"error": "nextpnr failed"}, 4: {"fmax_mhz": 30.5, "timing_met": True}}}
    s = summarise(sw)
    assert s == {"met": 2, "placed": 3, "fmax_min": 29.0, "fmax_median": 30.5,
                 "fmax_max": 31.0, "peak_synaptic_events": 30_000_000}


def test_margin_table_and_swept_row():
    """``make report SEEDS=N``: the margin table marks misses, and a board whose seed was
    swept takes its row from that placement (utilisation against the board's totals)."""
    from spikefab.boards.catalog import get_board
    from spikefab.boards.reporting import _swept_row, _sweep_lines
    b = get_board("icebreaker")
    sw = {"board": b.name, "target_mhz": 30.0, "lanes": 1, "cores": 1, "synapses": 65536,
          "memory_bits_needed": 543232,
          "seeds": {s: {"fmax_mhz": 29.5 + s / 2, "constraint_mhz": 30.02,
                        "timing_met": 29.5 + s / 2 >= 30.02, "critical_path": "a -> b",
                        "utilisation": {"ICESTORM_LC": 4589, "ICESTORM_RAM": 27,
                                        "ICESTORM_SPRAM": 2, "ICESTORM_DSP": 5}}
                    for s in (1, 2, 3)}}
    sw.update(summarise(sw))
    lines = _sweep_lines([sw])
    assert lines[2].startswith("| icebreaker | 30 MHz | 30.0* | 30.5 | 31.0 | 2/3 | 30.5 |")
    row = _swept_row(sw, b) if b.seed in sw["seeds"] else _swept_row(
        {**sw, "seeds": {b.seed: sw["seeds"][1]}}, b)
    assert row["utilisation"]["ICESTORM_LC"] == [4589, 5280]
    assert row["memory_bits_used"] == 27 * 4096 + 2 * 16384 * 16
    assert row["memory_bits_needed"] == 543232 and row["fmax_mhz"] == 30.0
    assert _swept_row({**sw, "seeds": {}}, b) is None
