"""LambdaConcept ECPIX-5 (ECP5-5G LFE5UM5G-85F, CABGA554): 100 MHz oscillator, FTDI UART, RGB
LEDs, a reset button.

Default network as the ULX3S-85F: 1024 LIF neurons x 256 inputs (262144 8-bit synapses; four
cores of 256 neurons, two synapses per clock each).
"""

from amaranth.hdl import ClockDomain, Elaboratable, Module
from amaranth_boards.ecpix5 import ECPIX585Platform

from ._pins import linked_network
from .catalog import Board

__all__ = ["Top", "VARIANTS"]


class Top(Elaboratable):
    """The network behind the host link on the ECPIX-5's pins.

    Pins: ``clk100`` -> PLL -> ``sync``; ``rst`` resets; ``uart`` 0 (the FTDI) carries the
    host link; RGB LED 0 shows the link's activity (green), spikes (blue) and error responses
    (red).
    """

    def __init__(self, params, board):
        self.params, self.board = params, board

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = ClockDomain("sync")
        rgb = platform.request("rgb_led", 0, dir="-")
        linked_network(m, self.params, self.board, platform.request("uart", 0, dir="-"),
                       {"error": rgb.r, "link": rgb.g, "spike": rgb.b},
                       clk=platform.request("clk100", 0, dir="-"),
                       button=platform.request("rst", 0, dir="-"))
        return m

VARIANTS = [
    Board(name="ecpix5-85f", title="ECPIX-5 (85F)", family="ecp5", device="LFE5UM5G-85F",
          package="BG554", platform=ECPIX585Platform, top=Top,
          resources={"logic": 83640, "ff": 83640, "bram": 208, "spram": 0, "dsp": 156,
                     "pll": 4},
          clock_hz=100e6, target_hz=90e6, programmer="openFPGALoader",
          program_args=("-b", "ecpix5", "-m"), neurons=1024, inputs=256, lanes=2, stdp=False,
          core_neurons=256, floorplan=True, seed=3,
          pack_opts=("--compress",)),
]
