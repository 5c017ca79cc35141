"""1BitSquared iCEBreaker (iCE40UP5K-SG48): 12 MHz oscillator, FTDI UART, two LEDs, a button.

The network's weights live in the UP5K's four SPRAM tiles (1 Mbit). The default network is
256 LIF neurons x 256 inputs = 65536 8-bit plastic (STDP) synapses, one neuron per clock: a
plastic core of two lanes needs 9 multipliers and the UP5K has 8, and one lane uses half of
each 16-bit SPRAM word. A static network fills the SPRAM: 512 x 256 = 131072 synapses at two
lanes.
"""

from amaranth.hdl import ClockDomain, Elaboratable, Module
from amaranth_boards.icebreaker import ICEBreakerPlatform

from spikefab.hdl.bridge import UartBridge
from spikefab.hdl.clocks import ClockReset

from ._pins import pin_in, pin_out
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
        m.domains.sync = ClockDomain("sync")
        clk = platform.request("clk12", 0, dir="-")
        button = platform.request("button", 0, dir="-")
        uart = platform.request("uart", 0, dir="-")
        led_r = platform.request("led", 0, dir="-")
        led_g = platform.request("led", 1, dir="-")
        m.submodules.clocks = clocks = ClockReset("ice40", self.board.clock_hz,
                                                  self.board.target_hz, pad=clk)
        m.submodules.bridge = bridge = UartBridge(self.design, clocks.frequency,
                                                  status="busy")
        m.d.comb += [
            clocks.button.eq(pin_in(m, "button", button)),
            bridge.rx.eq(pin_in(m, "uart_rx", uart.rx)),
            pin_out(m, "uart_tx", uart.tx).eq(bridge.tx),
            pin_out(m, "led_r", led_r).eq(bridge.led_status),
            pin_out(m, "led_g", led_g).eq(bridge.led_link),
        ]
        return m


VARIANTS = [
    Board(name="icebreaker", title="iCEBreaker", family="ice40", device="iCE40UP5K",
          package="SG48", platform=ICEBreakerPlatform, top=Top,
          resources={"logic": 5280, "ff": 5280, "bram": 30, "spram": 4, "dsp": 8, "pll": 1},
          clock_hz=12e6, target_hz=30e6, programmer="iceprog", program_args=(),
          neurons=256, inputs=256, lanes=1),
]
