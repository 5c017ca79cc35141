"""A fixed delay of a word: a chain of registers, or a block RAM used as a circular buffer."""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .memory import NO_RW_CHECK

__all__ = ["DelayLine"]


class DelayLine(wiring.Component):
    """``o`` is ``i`` of ``depth`` clocks earlier, every clock (no enable, never stalls).

    With ``ram`` (and ``depth >= 3``) the word goes through a ``depth``-word memory with a
    registered read port instead of ``depth`` registers: written at ``k``, read at
    ``k + 1`` (mod ``depth``), so the read register holds the word written ``depth`` clocks
    earlier. On the iCE40 UP5K a flip-flop that only delays costs a whole logic cell, and a
    16-bit slice of a 7-stage pipeline costs 112 of them; one 4-kbit EBR holds it instead
    (``ram_style = "block"`` asks yosys for the block RAM). Until ``depth`` clocks after
    reset the memory's output is undefined: the caller's valid bits, which travel in
    registers beside it, mark those clocks.

    Parameters
    ----------
    width, depth : int
        Bits of the word, clocks of delay (``depth >= 1``).
    ram : bool
        Use a block RAM (ignored for ``depth < 3``, where registers are cheaper).

    Members
    -------
    i : In(width)
    o : Out(width)
    """

    def __init__(self, width, depth, ram=False):
        if not isinstance(depth, int) or depth < 1:
            raise ValueError(f"Delay depth must be a positive integer, not {depth!r}")
        self.width, self.depth = width, depth
        self.ram = bool(ram) and depth >= 3
        super().__init__({"i": In(width), "o": Out(width)})

    def elaborate(self, platform):
        m = Module()
        if not self.ram:
            prev = self.i
            for k in range(self.depth):
                r = Signal(self.width, name=f"d{k + 1}")
                m.d.sync += r.eq(prev)
                prev = r
            m.d.comb += self.o.eq(prev)
            return m
        # the read address is the write address plus one (mod depth >= 3): never the word
        # being written (``hdl/memory.py``)
        m.submodules.mem = mem = Memory(shape=self.width, depth=self.depth, init=[],
                                        attrs={"ram_style": "block", **NO_RW_CHECK})
        wr = mem.write_port()
        rd = mem.read_port(transparent_for=())
        wp = Signal(range(self.depth))
        rp = Signal(range(self.depth), init=1)
        m.d.sync += [wp.eq(_next(wp, self.depth)), rp.eq(_next(rp, self.depth))]
        m.d.comb += [wr.addr.eq(wp), wr.data.eq(self.i), wr.en.eq(1), rd.addr.eq(rp),
                     self.o.eq(rd.data)]
        return m


def _next(counter, modulus):
    """``counter + 1`` modulo ``modulus``."""
    return Mux(counter == modulus - 1, 0, counter + 1)
