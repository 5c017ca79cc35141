"""1BitSquared iCEBreaker (iCE40UP5K-SG48): 12 MHz oscillator, FTDI UART, two LEDs, a button.

The network's weights live in the UP5K's four SPRAM tiles (1 Mbit): the default network is
512 LIF neurons x 256 inputs = 131072 8-bit synapses, two neurons per clock.
"""

from amaranth.hdl import Elaboratable, Module
from amaranth_boards.icebreaker import ICEBreakerPlatform

from spikefab.hdl.bridge import UartBridge
from spikefab.hdl.clocks import ClockReset

from .catalog import Board

__all__ = ["Top", "VARIANTS"]


class Top(Elaboratable):
    """``design`` behind the UART bridge on the iCEBreaker's pins.

    Pins: ``clk12`` -> PLL pad -> ``sync``; ``button`` 0 resets; ``uart`` 0 carries the bridge;
    LED red (``led`` 0) shows the design's ``busy``, green (``led`` 1) the link activity.
    """

    def __init__(self, design, board):
        self.design, self.board = design, board

    def elaborate(self, platform):
        m = Module()
        clk = platform.request("clk12", 0, dir="-")
        button = platform.request("button", 0)
        uart = platform.request("uart", 0)
        led_r = platform.request("led", 0)
        led_g = platform.request("led", 1)
        m.submodules.clocks = clocks = ClockReset("ice40", self.board.clock_hz,
                                                  self.board.target_hz, pad=clk)
        m.submodules.bridge = bridge = UartBridge(self.design, clocks.frequency,
                                                  status="busy")
        m.d.comb += [
            clocks.button.eq(button.i),
            bridge.rx.eq(uart.rx.i), uart.tx.o.eq(bridge.tx),
            led_r.o.eq(bridge.led_status), led_g.o.eq(bridge.led_link),
        ]
        return m


VARIANTS = [
    Board(name="icebreaker", title="iCEBreaker", family="ice40", device="iCE40UP5K",
          package="SG48", platform=ICEBreakerPlatform, top=Top,
          resources={"logic": 5280, "ff": 5280, "bram": 30, "spram": 4, "dsp": 8, "pll": 1},
          clock_hz=12e6, target_hz=30e6, programmer="iceprog", program_args=(),
          neurons=512, inputs=256, lanes=2),
]
