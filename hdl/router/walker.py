"""The router's destination walker: a source's pointer word, then its destination entries."""

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import ReadPort
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from spikefab.shape.fields import uint_bits as _bits
from spikefab.shape.router import RouterParams, dst_fields, ptr_fields

from ..layouts import struct

__all__ = ["DestinationWalker"]


class DestinationWalker(wiring.Component):
    """For each source id, the ``count`` destination entries ``base .. base + count - 1``.

    S1 holds a source whose pointer word (``base``, ``count``) is being read; the walker then
    reads one destination entry per clock, and S3 holds the entry read. A source with
    ``count = 0`` costs one clock of S1. S1 takes the next source in the clock the walker
    issues its last read, so that consecutive sources follow without a gap.

    Infers no memory: it takes a read port of the router's pointer table (``ptr``) and of
    its destination list (``dst``), both registered. Latency three clocks from an
    ``i_source`` transfer to the first entry's ``o_entry.valid``; throughput one entry per
    clock while ``o_entry`` is ready.

    Parameters
    ----------
    params : RouterParams
    busy_register : bool
        Keep ``count != 0`` of the walked source in a register of its own, loaded with the
        count, so that ``empty`` (the router's ``idle``, the step barrier) starts from a
        flip-flop and not from a wide OR of ``w_left`` (the iCE40 builds, where that OR sat on
        the barrier's path); otherwise ``w_left != 0`` itself (the ECP5 builds, where the
        comparison after the pointer table's block RAM, 5.8 ns clock-to-out on speed grade 6,
        would take its clock). The same behaviour either way.

    Members
    -------
    i_source : In(stream.Signature(unsigned(source_bits)))
    ptr : In(ReadPort.Signature(addr_width=ceil_log2(sources), shape=ptr_layout(params)))
    dst : In(ReadPort.Signature(addr_width=ceil_log2(entries), shape=dst_layout(params)))
    o_entry : Out(stream.Signature(dst_layout(params)))
    empty : Out(1)
        No source or entry is held in S1, the walker or S3.
    """

    def __init__(self, params, busy_register=False):
        self._busy_register = bool(busy_register)
        if not isinstance(params, RouterParams):
            raise TypeError(f"Params must be a RouterParams, not {params!r}")
        self._p = p = params
        pl, dl = struct(ptr_fields(p)), struct(dst_fields(p))
        super().__init__({
            "i_source": In(stream.Signature(unsigned(p.source_bits))),
            "ptr": In(ReadPort.Signature(addr_width=ceil_log2(p.sources), shape=pl)),
            "dst": In(ReadPort.Signature(addr_width=ceil_log2(p.entries), shape=dl)),
            "o_entry": Out(stream.Signature(dl)),
            "empty": Out(1),
        })

    def elaborate(self, platform):
        p = self._p
        m = Module()
        s1_valid = Signal()
        s3_valid = Signal()
        w_addr = Signal(_bits(p.entries))
        w_left = Signal(_bits(p.entries))
        w_busy = Signal(name="w_busy") if self._busy_register else (w_left != 0)
        s3_adv = Signal()
        issue = Signal()
        w_free = Signal()
        s1_adv = Signal()
        m.d.comb += [
            issue.eq(w_busy & s3_adv),
            w_free.eq(~w_busy | (issue & (w_left == 1))),
            s1_adv.eq(~s1_valid | w_free),
            s3_adv.eq(~s3_valid | self.o_entry.ready),
        ]

        m.d.comb += [self.i_source.ready.eq(s1_adv),
                     self.ptr.addr.eq(self.i_source.payload), self.ptr.en.eq(s1_adv)]
        with m.If(s1_adv):
            m.d.sync += s1_valid.eq(self.i_source.valid)

        ptr = self.ptr.data
        with m.If(s1_valid & w_free):
            m.d.sync += [w_addr.eq(ptr.base), w_left.eq(ptr.count)]
            if self._busy_register:
                m.d.sync += w_busy.eq(ptr.count != 0)
        with m.Elif(issue):
            m.d.sync += [w_addr.eq(w_addr + 1), w_left.eq(w_left - 1)]
            if self._busy_register:
                m.d.sync += w_busy.eq(w_left != 1)
        m.d.comb += [self.dst.addr.eq(w_addr), self.dst.en.eq(s3_adv)]
        with m.If(s3_adv):
            m.d.sync += s3_valid.eq(issue)

        m.d.comb += [self.o_entry.valid.eq(s3_valid), self.o_entry.payload.eq(self.dst.data),
                     self.empty.eq(~s1_valid & ~w_busy & ~s3_valid)]
        return m
