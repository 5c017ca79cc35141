"""Synthesis and place-and-route of a core for iCE40 UP5K and ECP5-85F, with figures.

The core is wrapped in :class:`SerialTop`, which keeps every port of the core observable
through four pins, so that synthesis cannot trim any of it. The flow runs through the board
flow's tool driver (``boards/toolflow.py``: the YoWASP ``YOSYS``, ``NEXTPNR_ICE40``,
``NEXTPNR_ECP5`` as stages, the result cached by the design) in a folder under ``build/``.
"""

import json
import os

from amaranth.back import rtlil
from amaranth.hdl import Cat, Elaboratable, Module, Signal, Value
from amaranth.lib import wiring

from spikefab.errors import InvalidValue
from spikefab.hdl.core import Core
from spikefab.shape.core import SPRAM_BITS, SPRAM_WORDS, CoreParams

from .rtlil import mark_collisions
from .toolflow import (SYNTH_OPTS, cached_result, design_key, pnr_device, run_tools, save_result,
                       say, stage)

__all__ = ["DEVICES", "FLOORS", "SerialTop", "default_params", "plastic_params", "core_memory_bits",
           "run_flow"]

#: Device name -> (family, nextpnr arguments, yosys synth command, goal MHz, weight memory
#: kind).
DEVICES = {
    "up5k": ("ice40", pnr_device("iCE40UP5K", "SG48"),
             f"synth_ice40 {SYNTH_OPTS['ice40']} -top top", 40, "ice40_spram"),
    "ecp5-85f": ("ecp5", pnr_device("LFE5U-85F", "BG381"),
                 f"synth_ecp5 {SYNTH_OPTS['ecp5']} -top top", 120, "dual"),
}
#: The Fmax floor of a core on each device (MHz): the iCEBreaker's and the ULX3S's design
#: clocks. A placement below it is tried again with the next seed (``run_flow``).
FLOORS = {"up5k": 30.0, "ecp5-85f": 90.0}


def default_params(lanes=2):
    """The default core of the figures: 256 neurons x 256 axons x 8-bit weights."""
    return CoreParams(neurons=256, lanes=lanes, axon_shifts=((256, 0),), weight_bits=8)


def plastic_params(lanes=2, neurons=256, axons=256):
    """The plastic core of the figures: by default 256 neurons x 256 axons x 8-bit weights
    (64k synapses), every axon plastic (8-bit traces), the iCEBreaker floor of
    ``docs/spec.md``."""
    from spikefab.golden import Stdp
    rule = Stdp(a_plus=64, a_minus=48, shift=6, d_pre=512, d_post=512, x_inc=64, y_inc=64,
                w_min=-127, w_max=127)
    return CoreParams(neurons=neurons, lanes=lanes, axon_shifts=((axons, 0),), weight_bits=8,
                      trace_bits=8, stdp=(rule,))


def _ports(core):
    ins, outs = [], []
    for path, member, value in core.signature.flatten(core):
        (ins if member.flow == wiring.In else outs).append(Value.cast(value))
    return ins, outs


class SerialTop(Elaboratable):
    """A core whose every input comes from, and every output goes to, a shift register.

    Pins: ``sdi`` (serial data in), ``shift`` (shift both registers by one bit), ``latch``
    (copy the input shift register onto the core's inputs), ``sdo`` (serial data out). The
    output register captures all core outputs every clock in which ``shift`` is low.
    """

    def __init__(self, params, weight_ram="dual"):
        self.params = params
        self.weight_ram = weight_ram
        self.sdi = Signal()
        self.shift = Signal()
        self.latch = Signal()
        self.sdo = Signal()

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = Core(self.params, self.weight_ram)
        ins, outs = _ports(core)
        in_bits = sum(len(v) for v in ins)
        out_bits = sum(len(v) for v in outs)
        sin = Signal(in_bits)
        held = Signal(in_bits)
        sout = Signal(out_bits)
        with m.If(self.shift):
            m.d.sync += [sin.eq(Cat(sin[1:], self.sdi)), sout.eq(sout[1:])]
        with m.Else():
            m.d.sync += sout.eq(Cat(*outs))
        with m.If(self.latch):
            m.d.sync += held.eq(sin)
        m.d.comb += [Cat(*ins).eq(held), self.sdo.eq(sout[0])]
        return m


def core_memory_bits(params):
    """Bits of every memory of the core, including the spike FIFO: what synthesis must keep."""
    bits = dict(params.memory_bits())
    row_bits = max(1, (params.rows - 1).bit_length())
    bits["spike_fifo"] = (max(params.rows + 1, 3) - 1) * (row_bits + params.lanes)
    if params.plastic:
        bits["ltp_rows"] = bits["spike_fifo"]
    return bits


def _memory_bits(outdir, yosys, out):
    """Memory bits as inferred, before any mapping: every ``$mem_v2`` cell, WIDTH x SIZE, and
    the weights' SPRAM tiles (16384 x 16 bits each) when the core instantiates them."""
    stage(out, 1, 3, "yosys (memories)",
          [yosys, "-p", "read_rtlil top.il; hierarchy -top top; proc; flatten; opt_clean; "
           "memory_collect; select -module top t:$mem_v2 t:SB_SPRAM256KA; "
           "write_json -selected mem.json"], outdir, "memstat.log")
    with open(os.path.join(outdir, "mem.json")) as f:
        cells = json.load(f)["modules"]["top"]["cells"]
    mems = {}
    short = [name.split(".")[-1] for name, c in cells.items() if c["type"] == "$mem_v2"]
    for name, c in cells.items():
        if c["type"] == "$mem_v2":
            # the short name unless two memories share it (the FIFOs' "storage")
            key = name.split(".")[-1]
            mems[key if short.count(key) == 1 else name] = (
                int(c["parameters"]["WIDTH"], 2) * int(c["parameters"]["SIZE"], 2))
    spram = sum(1 for c in cells.values() if c["type"] == "SB_SPRAM256KA")
    if spram:
        mems["weights"] = spram * SPRAM_WORDS * SPRAM_BITS
    return mems


def run_flow(params, device, outdir, out=None, reuse=True, tries=3):
    """Synthesise, place and route ``SerialTop(params)`` for ``device`` (nextpnr's ``--freq``
    the device's goal; seed 1, then seeds 2, 3, ... up to ``tries`` placements while Fmax is
    below the device's floor, :data:`FLOORS`, as a board build places again while it misses
    its clock).

    ``out`` takes the stage lines (None: silent); with ``reuse`` an unchanged design (its
    RTLIL and the device's options) returns the result of its last run in ``outdir``.

    Returns
    -------
    dict
        ``fmax_mhz`` (achieved, nextpnr), ``utilisation`` (cell type -> (used, available)),
        ``memory_bits_rtl`` (memory name -> bits, as yosys found them before mapping),
        ``log`` (folder of the logs and reports).
    """
    from spikefab.toolchain import find, setup_environ
    setup_environ()
    if device not in DEVICES:
        raise InvalidValue(f"Device must be one of {', '.join(DEVICES)}, not {device!r}")
    family, pnr_args, synth, goal, ram = DEVICES[device]
    os.makedirs(outdir, exist_ok=True)
    top = SerialTop(params, ram)
    # RTLIL, not Verilog: Verilog spells a memory's contents as one statement per word, which
    # yosys reads slowly; RTLIL keeps them as one parameter.
    text = rtlil.convert(top, name="top", emit_src=False,
                         ports=[top.sdi, top.shift, top.latch, top.sdo])
    text, _ = mark_collisions(text)
    with open(os.path.join(outdir, "top.il"), "w") as f:
        f.write(text)
    pnr_args = pnr_args + ["--freq", str(goal), "--pcf-allow-unconstrained" if family == "ice40"
                           else "--lpf-allow-unconstrained"]
    key = design_key({"top.il": text}, [device, pnr_args, synth, tries, FLOORS[device]])
    old = cached_result(outdir, key) if reuse else None
    if old is not None:
        say(out, f"[1-3/3] unchanged design: reusing {os.path.join(outdir, 'result.json')}")
        del old["key"]
        old["utilisation"] = {k: tuple(v) for k, v in old["utilisation"].items()}
        return old
    mems = _memory_bits(outdir, find("YOSYS"), out)
    ran = run_tools(outdir, family, ["-p", f"read_rtlil top.il; {synth} -json top.json"],
                    pnr_args, tries=tries, floor=FLOORS[device], out=out, first=2, total=3)
    rep = ran["report"]
    fmax = min(v["achieved"] for v in rep["fmax"].values())
    util = {k: (v["used"], v["available"]) for k, v in rep["utilization"].items() if v["used"]}
    result = {"device": device, "fmax_mhz": fmax, "seed": ran["seed"], "utilisation": util,
              "memory_bits_rtl": mems, "log": outdir}
    save_result(outdir, {"key": key, **result})
    return result
