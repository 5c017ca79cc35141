"""Good Stuff Department OrangeCrab r0.2 (ECP5 LFE5U-25F, csfBGA285): 48 MHz oscillator, an RGB
LED, a button, USB DFU bootloader.

amaranth-boards gives this board no UART (its USB port is the FPGA's own): the bridge's UART is
on the Feather header's pins 0 (rx) and 1 (tx), for a USB-serial adapter at 3.3 V. Default
network: 256 LIF neurons x 256 inputs (65536 8-bit synapses), two neurons per clock.
"""

from amaranth.build import Attrs
from amaranth.hdl import ClockDomain, Elaboratable, Module
from amaranth_boards.orangecrab_r0_2 import OrangeCrabR0_2_25FPlatform
from amaranth_boards.resources import UARTResource

from spikefab.hdl.bridge import UartBridge
from spikefab.hdl.clocks import ClockReset

from ._pins import pin_in, pin_out
from .catalog import Board

__all__ = ["Top", "VARIANTS", "UART"]

#: The UART this board file adds (Feather header pins 0 and 1).
UART = UARTResource(0, rx="0", tx="1", conn=("io", 0), attrs=Attrs(IO_TYPE="LVCMOS33"))


class Top(Elaboratable):
    """``design`` behind the UART bridge on the OrangeCrab's pins.

    Pins: ``clk`` (48 MHz) -> PLL -> ``sync``; ``button`` 0 resets; ``uart`` 0 (header) carries
    the bridge; the RGB LED shows the design's ``busy`` (red), received (green) and sent (blue).
    """

    def __init__(self, design, board):
        self.design, self.board = design, board

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = ClockDomain("sync")
        platform.add_resources([UART])
        clk = platform.request("clk", 0, dir="-")
        button = platform.request("button", 0, dir="-")
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
    Board(name="orangecrab-25f", title="OrangeCrab r0.2 (25F)", family="ecp5",
          device="LFE5U-25F", package="MG285", platform=OrangeCrabR0_2_25FPlatform, top=Top,
          resources={"logic": 24288, "ff": 24288, "bram": 56, "spram": 0, "dsp": 28, "pll": 2},
          clock_hz=48e6, target_hz=90e6, programmer="dfu-util",
          program_args=("-d", "1209:5af0", "-a", "0", "-D"), neurons=256, inputs=256, lanes=2,
          pack_opts=("--compress", "--freq", "38.8"),
          notes="UART on Feather header pins 0 (rx) / 1 (tx)"),
]
