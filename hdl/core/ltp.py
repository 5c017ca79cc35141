"""The LTP column pass of a plastic core: after the update sweep, every plastic axon slot of
every spiking row goes through the weight update."""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from spikefab.shape.latency import row_clocks

from .lif import lif_out_layout
from .control import Phase
from .groups import columns, group_of_slot
from .layouts import check_params, ltp_op_layout
from ..memory import Fifo

__all__ = ["LtpPass"]


class LtpPass(wiring.Component):
    """Queues the spiking rows of the update sweep, then, in the LTP phase, issues one op per
    plastic axon slot of each: the weight word ``row * A + axon`` (``addr``, read this clock),
    and a clock later on ``o_op`` the same address, the row's spiking lanes inside the group's
    columns and the plastic group, for the weight update (``W + ((a_plus * x) >> shift)``).

    One slot per clock (``P_A`` clocks per spiking row, back to back); on a single-port weight
    memory (:func:`row_clocks` = 2) two: the read, then a clock left free for the write of the
    slot read 5 clocks earlier. ``busy`` is high while a row is queued or in the pass.

    Infers one memory: a FIFO (``SyncFIFOBuffered``) of ``max(rows + 1, 3)`` entries of
    ``{row, mask}``; a sweep pushes at most ``rows`` into a FIFO empty at its start.

    Parameters
    ----------
    params : CoreParams
    weight_ram : str

    Members
    -------
    phase : In(Phase)
    i_result : In(stream.Signature(lif_out_layout(params), always_ready=True))
    slot : Out(range(P_A))
        The pre-trace slot of this clock's read.
    addr : Out(range(rows * A))
        The weight word of this clock's read.
    o_op : Out(stream.Signature(ltp_op_layout(params), always_ready=True))
    busy : Out(1)
    """

    def __init__(self, params, weight_ram="dual"):
        p = self._p = check_params(params)
        self._slow = row_clocks(p, weight_ram) == 2
        super().__init__({
            "phase": In(Phase),
            "i_result": In(stream.Signature(lif_out_layout(p), always_ready=True)),
            "slot": Out(range(p.pre_slots)),
            "addr": Out(range(p.weight_slots)),
            "o_op": Out(stream.Signature(ltp_op_layout(p), always_ready=True)),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        p = self._p
        m = Module()
        lanes, A = p.lanes, p.axons
        rowb = max(1, (p.rows - 1).bit_length())
        m.submodules.ltp_rows = fifo = Fifo(width=rowb + lanes,
                                                        depth=max(p.rows + 1, 3))
        # spiking rows (padding lanes removed) queue for the pass
        res = self.i_result.payload
        spare = p.rows * lanes - p.neurons
        full = (1 << lanes) - 1
        keep = Signal(lanes)
        m.d.comb += keep.eq(Mux(res.row == p.rows - 1, full >> spare, full))
        mask = Cat(res.lanes[l].s for l in range(lanes)) & keep
        m.d.comb += [fifo.w_data.eq(Cat(res.row[:rowb], mask)),
                     fifo.w_en.eq(self.i_result.valid & (mask != 0))]

        active = Signal()
        row = Signal(rowb)
        row_mask = Signal(lanes)
        base = Signal(range(p.weight_slots + A))
        slot = self.slot
        op = self.o_op
        slot_k, slot_axon = group_of_slot(p, slot)
        # On a single-port weight memory each slot takes two clocks: the read, then a clock
        # left free for the write of the slot read 5 clocks earlier (``wclk``). The next row
        # is fetched in the last write clock of a row, so that reads stay on one parity of
        # clocks and writes on the other for the whole pass.
        slow = self._slow
        wclk = Signal() if slow else Const(1)
        head = fifo.r_data

        def fetch():
            m.d.comb += fifo.r_en.eq(1)
            m.d.sync += [active.eq(1), row.eq(head[:rowb]), row_mask.eq(head[rowb:]),
                         base.eq(head[:rowb] * A), slot.eq(0)]

        m.d.sync += [op.valid.eq(0)]
        with m.If(self.phase == Phase.LTP):
            with m.If(active):
                if slow:
                    m.d.sync += wclk.eq(~wclk)
                with m.If(~wclk if slow else 1):
                    m.d.sync += [op.valid.eq(1), op.payload.addr.eq(base + slot_axon),
                                 op.payload.mask.eq(row_mask & columns(p, row, slot_k)),
                                 op.payload.k.eq(slot_k)]
                with m.If(wclk):
                    with m.If(slot == p.pre_count - 1):
                        if slow:
                            with m.If(fifo.r_rdy):
                                fetch()
                            with m.Else():
                                m.d.sync += active.eq(0)
                        else:
                            m.d.sync += active.eq(0)
                    with m.Else():
                        m.d.sync += slot.eq(slot + 1)
            with m.Elif(fifo.r_rdy):
                fetch()
                if slow:
                    m.d.sync += wclk.eq(0)
        m.d.comb += [self.busy.eq(active | fifo.r_rdy | op.valid),
                     self.addr.eq(base + slot_axon)]
        return m
