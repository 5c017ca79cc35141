"""The link's LEDs: short pulses stretched so that a person sees them."""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Leds"]


class Leds(wiring.Component):
    """Each pulse stretched to 3-4 ticks of a shared 2**14-clock prescaler (49,152 to
    65,536 clocks). No memories.

    Members
    -------
    byte_in, byte_out, spike, frame_error, cmd_error : In(1)
        Pulses: a byte received or sent, an output event, a frame rejected, an error
        response.
    led_link, led_spike, led_error : Out(1)
        A byte in or out, an output spike, an error (frame or command).
    """

    byte_in: In(1)
    byte_out: In(1)
    spike: In(1)
    frame_error: In(1)
    cmd_error: In(1)
    led_link: Out(1)
    led_spike: Out(1)
    led_error: Out(1)

    def elaborate(self, platform):
        m = Module()
        tick = Signal()
        pre = Signal(14)
        m.d.sync += pre.eq(pre + 1)
        m.d.comb += tick.eq(pre == (1 << 14) - 1)
        for led, pulse in ((self.led_link, self.byte_in | self.byte_out),
                           (self.led_spike, self.spike),
                           (self.led_error, self.cmd_error | self.frame_error)):
            hold = Signal(2, name=f"{led.name}_hold")
            with m.If(pulse):
                m.d.sync += hold.eq(3)
            with m.Elif(tick & (hold != 0)):
                m.d.sync += hold.eq(hold - 1)
            m.d.comb += led.eq(hold != 0)
        return m
