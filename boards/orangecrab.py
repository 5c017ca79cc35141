"""Good Stuff Department OrangeCrab r0.2 (ECP5 LFE5U-25F, csfBGA285): 48 MHz oscillator, an RGB
LED, a button, USB DFU bootloader.

amaranth-boards gives this board no UART (its USB port is the FPGA's own): the host link's UART is
on the Feather header's pins 0 (rx) and 1 (tx), for a USB-serial adapter at 3.3 V. Default
network: 256 LIF neurons x 256 inputs (65536 8-bit synapses), two neurons per clock.
"""

from amaranth.build import Attrs
from amaranth_boards.orangecrab_r0_2 import OrangeCrabR0_2_25FPlatform
from amaranth_boards.resources import UARTResource

from .catalog import Board, Pins

__all__ = ["PINS", "VARIANTS", "UART"]

#: The UART this board file adds (Feather header pins 0 and 1).
UART = UARTResource(0, rx="0", tx="1", conn=("io", 0), attrs=Attrs(IO_TYPE="LVCMOS33"))


#: ``clk`` (48 MHz) -> PLL -> ``sync``; ``button`` 0 resets; ``uart`` 0 (header, :data:`UART`)
#: carries the host link; the RGB LED shows error responses (red), the link's activity
#: (green), spikes (blue).
PINS = Pins(clock=("clk", 0), clock_source="pin", uart=("uart", 0),
            leds={"error": ("rgb_led", 0, "r"), "link": ("rgb_led", 0, "g"),
                  "spike": ("rgb_led", 0, "b")},
            reset=("button", 0), resources=(UART,))

VARIANTS = [
    Board(name="orangecrab-25f", title="OrangeCrab r0.2 (25F)", family="ecp5",
          device="LFE5U-25F", package="MG285", platform=OrangeCrabR0_2_25FPlatform, pins=PINS,
          resources={"logic": 24288, "ff": 24288, "bram": 56, "spram": 0, "dsp": 28, "pll": 2},
          clock_hz=48e6, target_hz=90e6, programmer="dfu-util",
          program_args=("-d", "1209:5af0", "-a", "0", "-D"), neurons=256, inputs=256, lanes=2,
          pack_opts=("--compress", "--freq", "38.8"),
          notes="UART on Feather header pins 0 (rx) / 1 (tx)"),
]
