"""A register slice of a stream."""

from amaranth.hdl import Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["RegisterSlice"]


class RegisterSlice(wiring.Component):
    """A register slice of a stream: ``o`` is ``i`` one clock later, one transfer per clock.

    ``i.ready`` and ``o.valid`` are registers, so neither the consumer's ``ready`` nor the
    producer's ``valid`` and ``payload`` pass through in the same clock: a spare register
    takes the transfer of the clock in which ``o`` stalls, and ``i.ready`` is low while it is
    full. The router's output stage is one (its ``ready`` stays off the lookup pipeline), and
    a network on banked weight memories has one on each of a core's streams.

    No memory; two registers of ``shape``. Latency one clock, throughput one transfer per
    clock.

    Parameters
    ----------
    shape : shape-like
        The payload.

    Members
    -------
    i : In(stream.Signature(shape))
    o : Out(stream.Signature(shape))
    empty : Out(1)
        Neither register holds a transfer.
    """

    def __init__(self, shape):
        super().__init__({"i": In(stream.Signature(shape)), "o": Out(stream.Signature(shape)),
                          "empty": Out(1)})
        self._shape = shape

    def elaborate(self, platform):
        m = Module()
        spare = Signal(self._shape)
        spare_valid = Signal()
        m.d.comb += [self.i.ready.eq(~spare_valid),
                     self.empty.eq(~self.o.valid & ~spare_valid)]
        with m.If(self.o.ready | ~self.o.valid):
            with m.If(spare_valid):
                m.d.sync += [self.o.payload.eq(spare), self.o.valid.eq(1), spare_valid.eq(0)]
            with m.Else():
                m.d.sync += [self.o.payload.eq(self.i.payload), self.o.valid.eq(self.i.valid)]
        with m.Elif(self.i.valid & ~spare_valid):
            m.d.sync += [spare.eq(self.i.payload), spare_valid.eq(1)]
        return m
