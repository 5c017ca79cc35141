"""LambdaConcept ECPIX-5 (ECP5-5G LFE5UM5G-85F, CABGA554): 100 MHz oscillator, FTDI UART, RGB
LEDs, a reset button.

Default network as the ULX3S-85F: 1024 LIF neurons x 256 inputs (262144 8-bit synapses; four
cores of 256 neurons, two synapses per clock each).
"""

from amaranth_boards.ecpix5 import ECPIX585Platform

from .catalog import Board, Pins

__all__ = ["PINS", "VARIANTS"]


#: ``clk100`` -> PLL -> ``sync``; ``rst`` resets; ``uart`` 0 (the FTDI) carries the host link;
#: RGB LED 0 shows error responses (red), the link's activity (green), spikes (blue).
PINS = Pins(clock=("clk100", 0), clock_source="pin", uart=("uart", 0),
            leds={"error": ("rgb_led", 0, "r"), "link": ("rgb_led", 0, "g"),
                  "spike": ("rgb_led", 0, "b")},
            reset=("rst", 0))

VARIANTS = [
    Board(name="ecpix5-85f", title="ECPIX-5 (85F)", family="ecp5", device="LFE5UM5G-85F",
          package="BG554", platform=ECPIX585Platform, pins=PINS,
          resources={"logic": 83640, "ff": 83640, "bram": 208, "spram": 0, "dsp": 156,
                     "pll": 4},
          clock_hz=100e6, target_hz=90e6, programmer="openFPGALoader",
          program_args=("-b", "ecpix5", "-m"), neurons=1024, inputs=256, lanes=2, stdp=False,
          core_neurons=256, floorplan=True, seed=1,
          pack_opts=("--compress",)),
]
