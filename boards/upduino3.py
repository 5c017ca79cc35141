"""tinyVision UPduino v3 (iCE40UP5K-SG48): internal 48 MHz oscillator, an RGB LED.

amaranth-boards gives this board no UART and no button: its FTDI chip only programs the flash.
The host link's UART is on header pins 4 (tx) and 3 (rx) (``J1``), for a USB-serial adapter at
3.3 V; the design has no reset button (it resets at power-on). The 12 MHz oscillator pin needs
a solder jumper, so the PLL takes its reference from ``SB_HFOSC``.
"""

from amaranth.build import Attrs
from amaranth.hdl import ClockDomain, Elaboratable, Module
from amaranth_boards.resources import UARTResource
from amaranth_boards.upduino_v3 import UpduinoV3Platform

from ._pins import linked_network
from .catalog import Board

__all__ = ["Top", "VARIANTS", "UART"]

#: The UART this board file adds (header pins; the board has no UART of its own).
UART = UARTResource(0, rx="3", tx="4", attrs=Attrs(IO_STANDARD="SB_LVCMOS", PULLUP=1))


class Top(Elaboratable):
    """The network behind the host link on the UPduino v3's pins.

    Pins: ``SB_HFOSC`` (48 MHz) -> PLL -> ``sync``; ``uart`` 0 (header) carries the host link;
    the RGB LED shows the link's activity (green), spikes (blue) and error responses (red).
    """

    def __init__(self, params, board):
        self.params, self.board = params, board

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = ClockDomain("sync")
        platform.add_resources([UART])
        rgb = platform.request("rgb_led", 0, dir="-")
        linked_network(m, self.params, self.board, platform.request("uart", 0, dir="-"),
                       {"error": rgb.r, "link": rgb.g, "spike": rgb.b}, hfosc=True)
        return m

VARIANTS = [
    Board(name="upduino3", title="UPduino v3", family="ice40", device="iCE40UP5K",
          package="SG48", platform=UpduinoV3Platform, top=Top,
          resources={"logic": 5280, "ff": 5280, "bram": 30, "spram": 4, "dsp": 8, "pll": 1},
          clock_hz=48e6, target_hz=27e6, programmer="iceprog", program_args=(),
          neurons=256, inputs=256, lanes=1,
          notes="UART on header pins 4 (tx) / 3 (rx); no button; clock from SB_HFOSC"),
]
