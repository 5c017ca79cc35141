"""Memories that never read a word in the clock it is written: no read-first emulation.

An Amaranth read port that is not transparent returns a word's old value when the same word is
written in the same clock (read-first). Neither the iCE40 EBR nor the ECP5 DP16KD promises that
across its two ports, so yosys emulates it around every such memory: the write address, data
and enable delayed a clock in flip-flops, an address comparator and a multiplexer per data bit
on the read data. On the iCE40 UP5K that cost about 550 logic cells in the iCEBreaker's
default network (5,162 -> 4,607 with the memories below marked), and it sits on the block
RAM's output path on every family.

A memory marked with :data:`NO_RW_CHECK` promises that no read whose data is used ever meets a
write of the same word in the same clock, so the old value never matters. The board flow
(``boards/rtlil.py``) then tells yosys that such a collision returns don't-care
(``COLLISION_X_MASK`` of each read port; yosys' own ``no_rw_check`` attribute, which this is,
reaches only ports that ``memory_dff`` merges, and Amaranth's ports are synchronous already).
Simulation keeps Amaranth's read-first semantics, so the promise is each memory's own
argument, written beside it:

* :class:`Fifo`: a word is read only when the FIFO holds it and written only when it does not,
  so the write and read addresses of one clock always differ;
* the delay lines (``hdl/delay.py``): the read address is the write address plus one, modulo a
  depth of at least three;
* the link's frame buffer, replay memory and rate slots (``hdl/link/``), whose arguments are
  in their modules.
"""

from amaranth.lib.fifo import SyncFIFOBuffered

__all__ = ["NO_RW_CHECK", "Fifo"]

#: Attributes of a memory that never reads a word in the clock it is written (see above).
NO_RW_CHECK = {"no_rw_check": 1}


class Fifo(SyncFIFOBuffered):
    """``amaranth.lib.fifo.SyncFIFOBuffered`` whose storage is marked :data:`NO_RW_CHECK`.

    Its inner FIFO reads the word at ``consume`` only while it holds one and writes at
    ``produce`` only while it is not full; ``produce == consume`` means empty or full, so
    no clock both reads and writes one word. Same ports, latency and behaviour.
    """

    def elaborate(self, platform):
        m = super().elaborate(platform)
        if self.depth > 1:                       # depth 0 and 1 have no memory
            m.submodules.storage.attrs.update(NO_RW_CHECK)
        return m
