"""tinyVision UPduino v3 (iCE40UP5K-SG48): internal 48 MHz oscillator, an RGB LED.

amaranth-boards gives this board no UART and no button: its FTDI chip only programs the flash.
The host link's UART is on header pins 4 (tx) and 3 (rx) (``J1``), for a USB-serial adapter at
3.3 V; the design has no reset button (it resets at power-on). The 12 MHz oscillator pin needs
a solder jumper, so the PLL takes its reference from ``SB_HFOSC``.
"""

from amaranth.build import Attrs
from amaranth_boards.resources import UARTResource
from amaranth_boards.upduino_v3 import UpduinoV3Platform

from .catalog import Board, Pins

__all__ = ["PINS", "VARIANTS", "UART"]

#: The UART this board file adds (header pins; the board has no UART of its own).
UART = UARTResource(0, rx="3", tx="4", attrs=Attrs(IO_STANDARD="SB_LVCMOS", PULLUP=1))


#: ``SB_HFOSC`` (48 MHz) -> PLL -> ``sync``; ``uart`` 0 (header, :data:`UART`) carries the host
#: link; the RGB LED shows error responses (red), the link's activity (green), spikes (blue).
PINS = Pins(clock=None, clock_source="hfosc", uart=("uart", 0),
            leds={"error": ("rgb_led", 0, "r"), "link": ("rgb_led", 0, "g"),
                  "spike": ("rgb_led", 0, "b")},
            resources=(UART,))

VARIANTS = [
    Board(name="upduino3", title="UPduino v3", family="ice40", device="iCE40UP5K",
          package="SG48", platform=UpduinoV3Platform, pins=PINS,
          resources={"logic": 5280, "ff": 5280, "bram": 30, "spram": 4, "dsp": 8, "pll": 1},
          clock_hz=48e6, target_hz=27e6, programmer="iceprog", program_args=(),
          neurons=256, inputs=256, lanes=1,
          notes="UART on header pins 4 (tx) / 3 (rx); no button; clock from SB_HFOSC"),
]
