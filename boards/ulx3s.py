"""Radiona ULX3S (ECP5 LFE5U-85F or -25F, CABGA381): 25 MHz oscillator, FTDI UART, 8 LEDs,
buttons.

Default networks: 1024 LIF neurons x 256 inputs (262144 8-bit synapses in DP16KD; four cores of
256 neurons, two synapses per clock each, floorplanned) on the 85F; 256 x 256 (65536 STDP
synapses, two per clock) on the 25F.
"""

from amaranth.hdl import ClockDomain, Elaboratable, Module
from amaranth_boards.ulx3s import ULX3S_25F_Platform, ULX3S_85F_Platform

from ._pins import linked_network
from .catalog import Board

__all__ = ["Top", "VARIANTS"]


class Top(Elaboratable):
    """The network behind the host link on the ULX3S's pins.

    Pins: ``clk25`` -> PLL -> ``sync``; ``button_pwr`` resets; ``uart`` 0 (the FTDI) carries
    the host link; LEDs 0-4: link activity, spikes, a step running, an error response, PLL
    locked.
    """

    def __init__(self, params, board):
        self.params, self.board = params, board

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = ClockDomain("sync")
        leds = [platform.request("led", i, dir="-") for i in range(5)]
        linked_network(m, self.params, self.board, platform.request("uart", 0, dir="-"),
                       dict(zip(("link", "spike", "busy", "error", "locked"), leds)),
                       clk=platform.request("clk25", 0, dir="-"),
                       button=platform.request("button_pwr", 0, dir="-"))
        return m


_ECP5_85F = {"logic": 83640, "ff": 83640, "bram": 208, "spram": 0, "dsp": 156, "pll": 4}
_ECP5_25F = {"logic": 24288, "ff": 24288, "bram": 56, "spram": 0, "dsp": 28, "pll": 2}

VARIANTS = [
    Board(name="ulx3s-85f", title="ULX3S (85F)", family="ecp5", device="LFE5U-85F",
          package="BG381", platform=ULX3S_85F_Platform, top=Top, resources=_ECP5_85F,
          clock_hz=25e6, target_hz=90e6, programmer="openFPGALoader",
          program_args=("-b", "ulx3s", "-m"), neurons=1024, inputs=256, lanes=2, stdp=False,
          core_neurons=256, floorplan=True,
          pack_opts=("--compress",)),
    Board(name="ulx3s-25f", title="ULX3S (25F)", family="ecp5", device="LFE5U-25F",
          package="BG381", platform=ULX3S_25F_Platform, top=Top, resources=_ECP5_25F,
          clock_hz=25e6, target_hz=90e6, programmer="openFPGALoader",
          program_args=("-b", "ulx3s", "-m"), neurons=256, inputs=256, lanes=2,
          pack_opts=("--compress",)),
]
