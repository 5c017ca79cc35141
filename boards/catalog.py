"""The boards that spikefab builds for: device, resources, clock, default network, programmer.

Every board module (``icebreaker.py``, ``ulx3s.py``, ...) defines its pin / clock table
(:class:`Pins`: the amaranth-boards resources of its clock, reset, UART and LEDs, which the one
generic top of ``boards/top.py`` requests) and one :class:`Board` per variant; :data:`BOARDS`
collects them by the name used on the command line.
"""

import os
from dataclasses import dataclass

import numpy as np

from spikefab.errors import InvalidType, InvalidValue
from spikefab.golden.config import load as load_network
from spikefab.golden.params import Hardware, Network, Population, Projection, Stdp

__all__ = ["FAMILIES", "CLOCK_SOURCES", "LED_SIGNALS", "Pins", "Board", "BOARDS", "DEFAULT_STDP",
           "get_board", "board_names", "default_network", "network_of", "describe_boards"]

#: Per family: block RAM name, bits per block, its (depth, width) modes; nextpnr cell names of
#: the resources in the report (logic, flip-flops, block RAM, SPRAM, multipliers).
FAMILIES = {
    "ice40": {
        "bram": "EBR", "bram_bits": 4096,
        "bram_modes": ((256, 16), (512, 8), (1024, 4), (2048, 2)),
        "cells": {"logic": "ICESTORM_LC", "ff": None, "bram": "ICESTORM_RAM",
                  "spram": "ICESTORM_SPRAM", "dsp": "ICESTORM_DSP", "pll": "ICESTORM_PLL"},
    },
    "ecp5": {
        "bram": "DP16KD", "bram_bits": 18432,
        "bram_modes": ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1)),
        "cells": {"logic": "TRELLIS_COMB", "ff": "TRELLIS_FF", "bram": "DP16KD", "spram": None,
                  "dsp": "MULT18X18D", "pll": "EHXPLLL"},
    },
}


#: Where a board's PLL takes its reference: a clock pin through an input buffer (ECP5), the
#: iCE40 PLL's own pad (``SB_PLL40_PAD``), or the iCE40's internal 48 MHz ``SB_HFOSC``.
CLOCK_SOURCES = ("pin", "pad", "hfosc")
#: What a board's LEDs can show (``LinkedNetwork``'s LED outputs and the PLL's lock).
LED_SIGNALS = ("link", "spike", "busy", "error", "locked")


@dataclass(frozen=True)
class Pins:
    """The pin / clock table of a board: which amaranth-boards resources the generic top
    (``boards/top.py``) requests, all with ``dir`` (``"-"``: the top places its own
    ``io.Buffer``).

    A resource is ``(name, number)``, or ``(name, number, subsignal)`` for one pin of a
    resource (``("rgb_led", 0, "g")``; a resource is requested once however many of its
    pins are used).

    Attributes
    ----------
    clock : tuple or None
        The oscillator's resource; None with ``clock_source="hfosc"``.
    clock_source : str
        One of :data:`CLOCK_SOURCES`.
    uart : tuple
        The host link's UART (``rx``, ``tx``).
    leds : dict
        ``{signal: resource}``, signals from :data:`LED_SIGNALS`, in the order requested.
    reset : tuple or None
        The reset button (active high as amaranth-boards inverts it); None: no button, the
        design resets at power-on only.
    resources : tuple
        Resources the board file adds to the platform before requesting (amaranth-boards has
        no UART for some boards).
    dir : str
        Direction of every request.
    """

    clock: tuple
    clock_source: str
    uart: tuple
    leds: dict
    reset: tuple = None
    resources: tuple = ()
    dir: str = "-"

    def __post_init__(self):
        if self.clock_source not in CLOCK_SOURCES:
            raise InvalidValue(f"Clock source must be one of {', '.join(CLOCK_SOURCES)}, not "
                               f"{self.clock_source!r}")
        if (self.clock is None) != (self.clock_source == "hfosc"):
            raise InvalidValue(f"Clock must be None exactly with clock source 'hfosc', not "
                               f"{self.clock!r} with {self.clock_source!r}")
        for what in self.leds:
            if what not in LED_SIGNALS:
                raise InvalidValue(f"LED signal must be one of {', '.join(LED_SIGNALS)}, not "
                                   f"{what!r}")


@dataclass(frozen=True)
class Board:
    """One buildable board.

    Attributes
    ----------
    name : str
        Command-line name (``icebreaker``, ``ulx3s-85f``, ...).
    title : str
        Human name.
    family : str
        ``"ice40"`` or ``"ecp5"``.
    device, package : str
        As amaranth-boards spells them.
    platform : type
        amaranth-boards platform class.
    pins : Pins
        The board's pin / clock table, for the generic top (``boards/top.py``).
    resources : dict
        Totals of the device: ``logic`` (LC / LUT4), ``ff``, ``bram`` (EBR / DP16KD), ``spram``
        (UP5K 256 Kbit tiles), ``dsp`` (iCE40 DSP / ECP5 MULT18X18D), ``pll``.
    clock_hz : float
        The board's oscillator.
    target_hz : float
        The design clock the PLL makes; nextpnr's constraint.
    programmer : str
        ``"iceprog"``, ``"openFPGALoader"`` or ``"dfu-util"``.
    program_args : tuple of str
        Arguments before the bitstream.
    bitstream : str
        ``"top.bin"`` (iCE40) or ``"top.bit"`` (ECP5).
    neurons, inputs, lanes : int
        Default network: one population of ``neurons`` LIF neurons fed by ``inputs`` channels,
        all-to-all (``neurons * inputs`` synapses), ``lanes`` neurons per clock.
    stdp : bool
        The default network's projection is plastic (STDP).
    core_neurons : int or None
        Neurons per core when a population is split over several cores (the network top,
        ``hdl/network.py``); None: a core holds up to 256 neurons, or a whole population
        larger than that.
    seed : int
        First nextpnr placement seed of the board's builds (``spikefab build`` places again
        with the next ones while the clock constraint is missed: ``--tries``): one with which
        the default network meets the constraint.
    pnr_opts : tuple of str
        Extra nextpnr arguments of the board's builds (placer options).
    floorplan : bool
        Pin the block RAMs and the registers after them before placement
        (``boards/floorplan.py``; ECP5-85F devices).
    pack_opts : tuple of str
        Extra ``ecppack`` options (compression, SPI clock) the board's loader wants.
    notes : str
        What the board file had to add to amaranth-boards (pins of a UART, ...).
    baud : int
        The host link's baud rate in the board's build (``docs/protocol.md``): what its
        USB-UART bridge and a UART of ``target_hz / baud >= 4`` clocks a bit both take.
    """

    name: str
    title: str
    family: str
    device: str
    package: str
    platform: type
    pins: Pins
    resources: dict
    clock_hz: float
    target_hz: float
    programmer: str
    program_args: tuple
    neurons: int
    inputs: int
    lanes: int
    stdp: bool = True
    core_neurons: int = None
    seed: int = 1
    pack_opts: tuple = ()
    pnr_opts: tuple = ()
    floorplan: bool = False
    notes: str = ""
    baud: int = 1_000_000

    @property
    def bitstream(self):
        return "top.bin" if self.family == "ice40" else "top.bit"

    @property
    def weight_ram(self):
        """Kind of weight memory of the cores (``spikefab.shape.core.WEIGHT_RAMS``): UP5K
        SPRAM on an iCE40 that has it, the pipelined ``"banked"`` memory for the static cores
        of an ECP5 whose weights span several block RAM banks (the others ``"dual"``)."""
        if self.resources.get("spram"):
            return "ice40_spram"
        return "banked" if self.family == "ecp5" else "dual"

    @property
    def synapses(self):
        return self.neurons * self.inputs


#: The learning rule of the default networks (that of ``examples/demo.toml``).
DEFAULT_STDP = Stdp(a_plus=4, a_minus=3, shift=6, d_pre=512, d_post=512, x_inc=64, y_inc=64,
                    w_min=0, w_max=127)


def default_network(board, seed=0):
    """The board's default network: one output population fed by every input channel, through
    a plastic (STDP, :data:`DEFAULT_STDP`) projection if the board's ``stdp``.

    Weights are uniform in ``[0, 63]`` (8-bit), seeded; the neuron parameters are those of
    ``examples/core.toml``. It is sized to fill the board's weight memory sensibly (see the
    ``neurons`` and ``inputs`` of each :class:`Board`).
    """
    board = get_board(board) if isinstance(board, str) else board
    rng = np.random.default_rng(seed)
    w = rng.integers(0, 64, size=(board.inputs, board.neurons), dtype=np.int64)
    name = board.name.replace("-", "_")
    return Network(
        name=f"{name}_default", inputs=board.inputs,
        populations=(Population("lif", board.neurons, threshold=600, du=1024, dv=512,
                                refractory=1, reset="subtract", output=True),),
        projections=(Projection("input", "lif", w, weight_shift=2,
                                stdp=DEFAULT_STDP if board.stdp else None),),
        hardware=Hardware())


def network_of(net, board):
    """The network to build for ``board``: ``net`` itself (a ``Network``), read from a network
    file (a path), or the board's :func:`default_network` (None)."""
    if net is None:
        return default_network(board)
    if isinstance(net, Network):
        return net
    if isinstance(net, (str, os.PathLike)):
        return load_network(net)
    raise InvalidType(f"Network must be a Network, a network file path or None, not {net!r}")


def _collect():
    from . import ecpix5, icebreaker, orangecrab, ulx3s, upduino3
    boards = {}
    for mod in (icebreaker, upduino3, ulx3s, orangecrab, ecpix5):
        for b in mod.VARIANTS:
            boards[b.name] = b
    return boards


_BOARDS = None


def _all():
    global _BOARDS
    if _BOARDS is None:
        _BOARDS = _collect()
    return _BOARDS


def board_names():
    """Names of every board, in catalog order."""
    return list(_all())


def get_board(name):
    """The :class:`Board` called ``name``; ValueError naming the boards otherwise."""
    if isinstance(name, Board):
        return name
    boards = _all()
    if not isinstance(name, str) or name not in boards:
        raise InvalidValue(f"Board must be one of {', '.join(boards)}, not {name!r}")
    return boards[name]


def describe_boards():
    """One line per board, for ``spikefab boards``: name, device, clocks, default network,
    programmer."""
    rows = [("board", "device", "clock", "default network", "programmer")]
    for b in _all().values():
        cores = "" if b.core_neurons is None else f" on {-(-b.neurons // b.core_neurons)} cores"
        net = (f"{b.neurons} x {b.inputs} ({b.synapses} synapses, "
               f"{'STDP' if b.stdp else 'static'}){cores}, {b.lanes} lane"
               + ("s" if b.lanes > 1 else ""))
        rows.append((b.name, f"{b.device} ({b.title})",
                     f"{b.clock_hz / 1e6:g} -> {b.target_hz / 1e6:g} MHz", net, b.programmer))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


class _Boards:
    """Read-only mapping view of the catalog, filled on first use (board modules import this)."""

    def __getitem__(self, name):
        return get_board(name)

    def __iter__(self):
        return iter(_all())

    def __len__(self):
        return len(_all())

    def items(self):
        return _all().items()

    def values(self):
        return _all().values()

    def keys(self):
        return _all().keys()


#: Every board by command-line name.
BOARDS = _Boards()
