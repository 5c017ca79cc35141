"""LambdaConcept ECPIX-5 (ECP5-5G LFE5UM5G-85F, CABGA554): 100 MHz oscillator, FTDI UART, RGB
LEDs, a reset button.

Default network as the ULX3S-85F: 1024 LIF neurons x 256 inputs (262144 8-bit synapses), four
neurons per clock.
"""

from amaranth.hdl import ClockDomain, Elaboratable, Module
from amaranth_boards.ecpix5 import ECPIX585Platform

from spikefab.hdl.bridge import UartBridge
from spikefab.hdl.clocks import ClockReset

from ._pins import pin_in, pin_out
from .catalog import Board

__all__ = ["Top", "VARIANTS"]


class Top(Elaboratable):
    """``design`` behind the UART bridge on the ECPIX-5's pins.

    Pins: ``clk100`` -> PLL -> ``sync``; ``rst`` resets; ``uart`` 0 (the FTDI) carries the
    bridge; RGB LED 0 shows the design's ``busy`` (red), received (green) and sent (blue).
    """

    def __init__(self, design, board):
        self.design, self.board = design, board

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = ClockDomain("sync")
        clk = platform.request("clk100", 0, dir="-")
        button = platform.request("rst", 0, dir="-")
        uart = platform.request("uart", 0, dir="-")
        rgb = platform.request("rgb_led", 0, dir="-")
        m.submodules.clocks = clocks = ClockReset("ecp5", self.board.clock_hz,
                                                  self.board.target_hz)
        m.submodules.bridge = bridge = UartBridge(self.design, clocks.frequency,
                                                  status="busy")
        m.d.comb += [
            clocks.clk.eq(pin_in(m, "clk", clk)),
            clocks.button.eq(pin_in(m, "button", button)),
            bridge.rx.eq(pin_in(m, "uart_rx", uart.rx)),
            pin_out(m, "uart_tx", uart.tx).eq(bridge.tx),
            pin_out(m, "led_r", rgb.r).eq(bridge.led_status),
            pin_out(m, "led_g", rgb.g).eq(bridge.led_rx),
            pin_out(m, "led_b", rgb.b).eq(bridge.led_tx),
        ]
        return m


VARIANTS = [
    Board(name="ecpix5-85f", title="ECPIX-5 (85F)", family="ecp5", device="LFE5UM5G-85F",
          package="BG554", platform=ECPIX585Platform, top=Top,
          resources={"logic": 83640, "ff": 83640, "bram": 208, "spram": 0, "dsp": 156,
                     "pll": 4},
          clock_hz=100e6, target_hz=90e6, programmer="openFPGALoader",
          program_args=("-b", "ecpix5", "-m"), neurons=1024, inputs=256, lanes=2, stdp=False,
          core_neurons=256,
          pack_opts=("--compress",)),
]
