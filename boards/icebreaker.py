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
          # 87% of the logic cells since issue #19 (no read-first emulation around the FIFOs,
          # delay lines and link buffers; was 99%): seeds 1-5 place the default network at
          # 31.0 / 31.2 / 31.4 / 30.9 / 29.3 MHz (docs/boards.md, the margin table)
          seed=1),
]
