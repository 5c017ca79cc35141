"""Radiona ULX3S (ECP5 LFE5U-85F or -25F, CABGA381): 25 MHz oscillator, FTDI UART, 8 LEDs,
buttons.

Default networks: 1024 LIF neurons x 256 inputs (262144 8-bit synapses in DP16KD; eight cores of
128 neurons, two synapses per clock each, floorplanned: 16 synapses a clock, 1.44 G synaptic
events a second at 90 MHz) on the 85F; 256 x 256 (65536 STDP synapses, two per clock) on the
25F.
"""

from amaranth_boards.ulx3s import ULX3S_25F_Platform, ULX3S_85F_Platform

from .catalog import Board, Pins

__all__ = ["PINS", "VARIANTS"]


#: ``clk25`` -> PLL -> ``sync``; ``button_pwr`` resets; ``uart`` 0 (the FTDI) carries the host
#: link; LEDs 0-4: link activity, spikes, a step running, an error response, PLL locked.
PINS = Pins(clock=("clk25", 0), clock_source="pin", uart=("uart", 0),
            leds={what: ("led", i) for i, what in enumerate(
                ("link", "spike", "busy", "error", "locked"))},
            reset=("button_pwr", 0))


_ECP5_85F = {"logic": 83640, "ff": 83640, "bram": 208, "spram": 0, "dsp": 156, "pll": 4}
_ECP5_25F = {"logic": 24288, "ff": 24288, "bram": 56, "spram": 0, "dsp": 28, "pll": 2}

VARIANTS = [
    Board(name="ulx3s-85f", title="ULX3S (85F)", family="ecp5", device="LFE5U-85F",
          package="BG381", platform=ULX3S_85F_Platform, pins=PINS, resources=_ECP5_85F,
          clock_hz=25e6, target_hz=90e6, programmer="openFPGALoader",
          program_args=("-b", "ulx3s", "-m"), neurons=1024, inputs=256, lanes=2, stdp=False,
          # eight cores of 128 neurons (issue #19: >= 1 G synaptic events a second; four
          # cores of 256 gave 0.72 G); the margin over seeds 1-5 is docs/boards.md's
          core_neurons=128, floorplan=True, seed=1,
          pack_opts=("--compress",)),
    Board(name="ulx3s-25f", title="ULX3S (25F)", family="ecp5", device="LFE5U-25F",
          package="BG381", platform=ULX3S_25F_Platform, pins=PINS, resources=_ECP5_25F,
          clock_hz=25e6, target_hz=90e6, programmer="openFPGALoader",
          program_args=("-b", "ulx3s", "-m"), neurons=256, inputs=256, lanes=2,
          # seeds 1-5 meet 90 MHz since issue #19 (98.4 / 94.5 / 96.2 / 97.5 / 90.3; were
          # 87.2 / 88.4 / 91.7 / 94.5 / 89.7): docs/boards.md, the margin table
          seed=1, pack_opts=("--compress",)),
]
