"""Spike emitter: per-row spike masks in, one neuron id per transfer out, with backpressure."""

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from spikefab.shape.core import CoreParams
from ..memory import Fifo

__all__ = ["spike_row_layout", "SpikeEmitter"]



def spike_row_layout(p):
    """A row that spiked: its index and one bit per lane."""
    return data.StructLayout({"row": unsigned(max(1, (p.rows - 1).bit_length())),
                              "mask": unsigned(p.lanes)})


class SpikeEmitter(wiring.Component):
    """Queue the spiking rows of one update sweep and emit their neuron ids in order.

    Infers one memory: a FIFO of ``rows + 1`` entries of ``{row, mask}`` (``SyncFIFOBuffered``,
    registered read port). A sweep pushes at most ``rows`` entries into a FIFO that is empty
    when the sweep starts, so a push is never refused: nothing can be dropped, and the update
    pipeline never stalls for the spike stream. The output emits one neuron id
    ``row * lanes + lane`` per transfer, lanes in increasing order, rows in sweep order, with
    no bubble between ids while ``o_spike.ready`` is high. Lanes past ``N`` (padding of the
    last row) never spike.

    Latency: :data:`~spikefab.shape.latency.EMIT_LATENCY` clocks from a push into the idle,
    empty emitter to the first id being valid.

    Parameters
    ----------
    params : CoreParams

    Members
    -------
    i_row : In(stream.Signature(spike_row_layout(params), always_ready=True))
        Rows with at least one spike (``valid`` may be high with an all-zero mask: ignored).
    o_spike : Out(stream.Signature(unsigned(bits of N - 1)))
        Neuron ids.
    idle : Out(1)
        Nothing queued or being emitted.
    """

    def __init__(self, params):
        if not isinstance(params, CoreParams):
            raise TypeError(f"Params must be a CoreParams, not {params!r}")
        self._p = params
        super().__init__({
            "i_row": In(stream.Signature(spike_row_layout(params), always_ready=True)),
            "o_spike": Out(stream.Signature(unsigned(max(1, (params.neurons - 1).bit_length())))),
            "idle": Out(1),
        })

    def elaborate(self, platform):
        p = self._p
        m = Module()
        lanes = p.lanes
        layout = spike_row_layout(p)
        m.submodules.fifo = fifo = Fifo(width=layout.size, depth=max(p.rows + 1, 3))

        # Padding lanes of the last row never spike. A plain expression, not an m.If: Icarus
        # never evaluates an ``always @*`` block whose inputs never change (the row of a
        # one-row core), which would leave the mask undefined.
        keep = Signal(lanes)
        spare = p.rows * lanes - p.neurons
        full = (1 << lanes) - 1
        m.d.comb += keep.eq(Mux(self.i_row.payload.row == p.rows - 1, full >> spare, full))
        pushed = Signal(layout)
        m.d.comb += [
            pushed.row.eq(self.i_row.payload.row),
            pushed.mask.eq(self.i_row.payload.mask & keep),
            fifo.w_data.eq(pushed),
            fifo.w_en.eq(self.i_row.valid & (pushed.mask != 0)),
        ]

        cur_row = Signal.like(pushed.row)
        cur_mask = Signal(lanes)
        lane = Signal(range(max(lanes, 2)))
        for k in reversed(range(lanes)):
            with m.If(cur_mask[k]):
                m.d.comb += lane.eq(k)
        o = self.o_spike
        m.d.comb += [o.valid.eq(cur_mask != 0), o.payload.eq(cur_row * lanes + lane)]

        transfer = o.valid & o.ready
        rest = Signal(lanes)
        m.d.comb += rest.eq(cur_mask & (cur_mask - 1))
        load = (cur_mask == 0) | (transfer & (rest == 0))
        head = data.View(layout, fifo.r_data)
        with m.If(load & fifo.r_rdy):
            m.d.comb += fifo.r_en.eq(1)
            m.d.sync += [cur_row.eq(head.row), cur_mask.eq(head.mask)]
        with m.Elif(transfer):
            m.d.sync += cur_mask.eq(rest)

        m.d.comb += self.idle.eq((cur_mask == 0) & (fifo.level == 0) & ~fifo.w_en)
        return m
