"""The router's source stage: the host's channels and the queued core spikes take turns."""

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from spikefab.shape.router import RouterParams

__all__ = ["SourceStage"]


class SourceStage(wiring.Component):
    """The first stage of the router's lookup: one source id per clock, registered.

    ``i_host`` (a host channel is its own source id) and ``i_queue`` (the spike queue's
    head) take turns when both are valid; the one taken goes into the output register, so
    that neither the queue's read data nor the host's payload reaches the pointer memory's
    address combinationally. Nothing is taken while ``hold`` is high (a table write is
    waiting for the lookup pipeline to empty).

    No memory; one register stage. Latency one clock, throughput one source per clock.

    Parameters
    ----------
    params : RouterParams

    Members
    -------
    i_host : In(stream.Signature(unsigned(channel_bits)))
    i_queue : In(stream.Signature(unsigned(source_bits)))
    hold : In(1)
    o_source : Out(stream.Signature(unsigned(source_bits)))
    """

    def __init__(self, params):
        if not isinstance(params, RouterParams):
            raise TypeError(f"Params must be a RouterParams, not {params!r}")
        p = params
        super().__init__({
            "i_host": In(stream.Signature(unsigned(p.channel_bits))),
            "i_queue": In(stream.Signature(unsigned(p.source_bits))),
            "hold": In(1),
            "o_source": Out(stream.Signature(unsigned(p.source_bits))),
        })

    def elaborate(self, platform):
        m = Module()
        h, q, o = self.i_host, self.i_queue, self.o_source
        host_turn = Signal()
        adv = Signal()
        pick_host = Signal()
        take = Signal()
        m.d.comb += [
            adv.eq(~o.valid | o.ready),
            pick_host.eq(h.valid & (host_turn | ~q.valid)),
            take.eq(adv & ~self.hold & (h.valid | q.valid)),
            h.ready.eq(take & pick_host),
            q.ready.eq(take & ~pick_host),
        ]
        with m.If(take):
            m.d.sync += host_turn.eq(~pick_host)
        with m.If(adv):
            m.d.sync += o.valid.eq(take)
            with m.If(pick_host):
                m.d.sync += o.payload.eq(h.payload)
            with m.Else():
                m.d.sync += o.payload.eq(q.payload)
        return m
