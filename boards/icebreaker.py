"""1BitSquared iCEBreaker (iCE40UP5K-SG48): 12 MHz oscillator, FTDI UART, two LEDs, a button.

The network's weights live in the UP5K's four SPRAM tiles (1 Mbit; weights of up to 8 bits
two to a 16-bit tile word). The default network is 256 LIF neurons x 256 inputs = 65536 8-bit
plastic (STDP) synapses in two tiles, one neuron per clock: a plastic core of two lanes needs 9
multipliers and the UP5K has 8. A static network fills the SPRAM: 512 x 256 = 131072 synapses
at two lanes. One plastic core of 131072 synapses would fit the SPRAM too, but its weights need
17 configuration address bits and the host link's protocol carries 16 (issue #19's note).
"""

from amaranth_boards.icebreaker import ICEBreakerPlatform

from .catalog import Board, Pins

__all__ = ["PINS", "VARIANTS"]


#: ``clk12`` -> PLL pad -> ``sync``; ``button`` 0 resets; ``uart`` 0 (the FTDI) carries the host
#: link; LED red (``led`` 0) shows spikes, green (``led`` 1) the link's activity.
PINS = Pins(clock=("clk12", 0), clock_source="pad", uart=("uart", 0),
            leds={"spike": ("led", 0), "link": ("led", 1)}, reset=("button", 0))

VARIANTS = [
    Board(name="icebreaker", title="iCEBreaker", family="ice40", device="iCE40UP5K",
          package="SG48", platform=ICEBreakerPlatform, pins=PINS,
          resources={"logic": 5280, "ff": 5280, "bram": 30, "spram": 4, "dsp": 8, "pll": 1},
          clock_hz=12e6, target_hz=30e6, programmer="iceprog", program_args=(),
          neurons=256, inputs=256, lanes=1,
          # LC 96% full: after the redesign into components (same logic, a new netlist) seeds
          # 5-27 place the default network at 24.9-29.8 MHz, 28 at 30.1 (docs/benchmarks.md;
          # margin is issue #19's). A build without the rate generator is the same netlist as
          # before it (protocol v2 on the wire); with one (protocol v3), seeds 1-4 placed a
          # version of this network at 29.5 / 30.4 / - / 27.9 MHz and 28 at 28.1 (2026-12-07)
          seed=28),
]
