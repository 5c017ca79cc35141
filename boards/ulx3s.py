"""Radiona ULX3S (ECP5 LFE5U-85F or -25F, CABGA381): 25 MHz oscillator, FTDI UART, 8 LEDs,
buttons.

Default networks: 1024 LIF neurons x 256 inputs (262144 8-bit synapses in DP16KD, four neurons
per clock) on the 85F; 256 x 256 (65536 synapses, two per clock) on the 25F.
"""

from amaranth.hdl import Elaboratable, Module
from amaranth_boards.ulx3s import ULX3S_25F_Platform, ULX3S_85F_Platform

from spikefab.hdl.bridge import UartBridge
from spikefab.hdl.clocks import ClockReset

from .catalog import Board

__all__ = ["Top", "VARIANTS"]


class Top(Elaboratable):
    """``design`` behind the UART bridge on the ULX3S's pins.

    Pins: ``clk25`` -> PLL -> ``sync``; ``button_pwr`` resets; ``uart`` 0 (the FTDI) carries
    the bridge; LEDs 0-3: received, sent, the design's ``busy``, PLL locked.
    """

    def __init__(self, design, board):
        self.design, self.board = design, board

    def elaborate(self, platform):
        m = Module()
        clk = platform.request("clk25", 0)
        button = platform.request("button_pwr", 0)
        uart = platform.request("uart", 0)
        leds = [platform.request("led", i) for i in range(4)]
        m.submodules.clocks = clocks = ClockReset("ecp5", self.board.clock_hz,
                                                  self.board.target_hz)
        m.submodules.bridge = bridge = UartBridge(self.design, clocks.frequency,
                                                  status="busy")
        m.d.comb += [
            clocks.clk.eq(clk.i), clocks.button.eq(button.i),
            bridge.rx.eq(uart.rx.i), uart.tx.o.eq(bridge.tx),
            leds[0].o.eq(bridge.led_rx), leds[1].o.eq(bridge.led_tx),
            leds[2].o.eq(bridge.led_status), leds[3].o.eq(clocks.locked),
        ]
        return m


_ECP5_85F = {"logic": 83640, "ff": 83640, "bram": 208, "spram": 0, "dsp": 156, "pll": 4}
_ECP5_25F = {"logic": 24288, "ff": 24288, "bram": 56, "spram": 0, "dsp": 28, "pll": 2}

VARIANTS = [
    Board(name="ulx3s-85f", title="ULX3S (85F)", family="ecp5", device="LFE5U-85F",
          package="BG381", platform=ULX3S_85F_Platform, top=Top, resources=_ECP5_85F,
          clock_hz=25e6, target_hz=90e6, programmer="openFPGALoader",
          program_args=("-b", "ulx3s", "-m"), neurons=1024, inputs=256, lanes=4,
          pack_opts=("--compress",)),
    Board(name="ulx3s-25f", title="ULX3S (25F)", family="ecp5", device="LFE5U-25F",
          package="BG381", platform=ULX3S_25F_Platform, top=Top, resources=_ECP5_25F,
          clock_hz=25e6, target_hz=90e6, programmer="openFPGALoader",
          program_args=("-b", "ulx3s", "-m"), neurons=256, inputs=256, lanes=2,
          pack_opts=("--compress",)),
]
