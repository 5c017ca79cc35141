"""The router's output demultiplexer: each destination entry to its core or to the host."""

from amaranth.hdl import Module, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from spikefab.shape.router import RouterParams, dst_fields, host_event_fields

from ..layouts import struct

__all__ = ["OutputDemux"]


class OutputDemux(wiring.Component):
    """Sends a destination entry ``(port, index)`` to ``o_event[port]`` as axon slot
    ``index`` (``port < cores``) or to ``o_host`` as ``{neuron: index, step}`` (``port >=
    cores``), tagged with ``step`` in the clock of the transfer.

    Combinational: no memory, no register; ``i_entry.ready`` is the ready of the output that
    the entry names.

    Parameters
    ----------
    params : RouterParams

    Members
    -------
    i_entry : In(stream.Signature(dst_layout(params)))
    o_event : Out(stream.Signature(unsigned(index_bits))).array(cores)
    o_host : Out(stream.Signature(host_event_layout(params)))
    step : In(unsigned(step_bits))
    """

    def __init__(self, params):
        if not isinstance(params, RouterParams):
            raise TypeError(f"Params must be a RouterParams, not {params!r}")
        self._p = p = params
        super().__init__({
            "i_entry": In(stream.Signature(struct(dst_fields(p)))),
            "o_event": Out(stream.Signature(unsigned(p.index_bits))).array(p.cores),
            "o_host": Out(stream.Signature(struct(host_event_fields(p)))),
            "step": In(unsigned(p.step_bits)),
        })

    def elaborate(self, platform):
        p = self._p
        m = Module()
        i = self.i_entry
        to_host = i.payload.port >= p.cores
        m.d.comb += [
            self.o_host.valid.eq(i.valid & to_host),
            self.o_host.payload.neuron.eq(i.payload.index),
            self.o_host.payload.step.eq(self.step),
        ]
        with m.If(to_host):
            m.d.comb += i.ready.eq(self.o_host.ready)
        for c in range(p.cores):
            o = self.o_event[c]
            m.d.comb += [o.valid.eq(i.valid & (i.payload.port == c)),
                         o.payload.eq(i.payload.index)]
            with m.If(i.payload.port == c):
                m.d.comb += i.ready.eq(o.ready)
        return m
