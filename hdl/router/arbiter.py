"""The router's spike arbiter: the cores' spikes, one per clock, as source ids."""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from spikefab.shape.router import RouterParams

__all__ = ["SpikeArbiter"]


def _first_valid(valid, order, shape):
    """(any valid, first valid core) of ``order``, as a balanced priority tree."""
    if len(order) == 1:
        return valid[order[0]], Const(order[0], shape)
    half = len(order) // 2
    v_lo, i_lo = _first_valid(valid, order[:half], shape)
    v_hi, i_hi = _first_valid(valid, order[half:], shape)
    return v_lo | v_hi, Mux(v_lo, i_lo, i_hi)


def _select(sel, options):
    """``options[sel]`` as a balanced tree on the bits of ``sel`` (missing: last)."""
    def tree(lo, n, bit):
        if n == 1 or bit < 0:
            return options[min(lo, len(options) - 1)]
        half = 1 << bit
        if lo + half >= len(options):
            return tree(lo, n, bit - 1)
        return Mux(sel[bit], tree(lo + half, half, bit - 1), tree(lo, half, bit - 1))
    bits = max(1, (len(options) - 1).bit_length())
    return tree(0, 1 << bits, bits - 1)


class SpikeArbiter(wiring.Component):
    """Round-robin arbiter over the cores' spike streams, into one stream of source ids.

    The core granted is the first with a valid spike after the core last taken; its spike
    leaves as source id ``core_base[c] + neuron`` in the same clock (combinational: ``valid``
    is any core's ``valid``, and ``ready`` reaches only the granted core). The router puts
    the stream into its spike queue.

    No memory; one register (the core last taken). Latency zero, throughput one spike per
    clock.

    Parameters
    ----------
    params : RouterParams

    Members
    -------
    i_spike : In(stream.Signature(unsigned(neuron_bits))).array(cores)
        Each core's spikes (local neuron ids).
    o_source : Out(stream.Signature(unsigned(source_bits)))
    """

    def __init__(self, params):
        if not isinstance(params, RouterParams):
            raise TypeError(f"Params must be a RouterParams, not {params!r}")
        self._p = p = params
        super().__init__({
            "i_spike": In(stream.Signature(unsigned(p.neuron_bits))).array(p.cores),
            "o_source": Out(stream.Signature(unsigned(p.source_bits))),
        })

    def elaborate(self, platform):
        p = self._p
        m = Module()
        # Expressions, not a switch: Icarus never evaluates an always block whose inputs do
        # not change after time 0 (idle cores), which left the grant undefined.
        last = Signal(range(max(2, p.cores)), init=p.cores - 1)
        any_spike = Signal()
        grant = Signal(range(max(2, p.cores)))
        sid = Signal(p.source_bits)
        valid = [self.i_spike[c].valid for c in range(p.cores)]
        # Balanced trees, not chains: depth log2(cores), so that neither the logic nor the
        # Python simulator's generated code (which nests one level per Mux) grows with cores.
        g = _select(last, [_first_valid(valid, [(prev + 1 + k) % p.cores
                                                for k in range(p.cores)], grant.shape())[1]
                           for prev in range(p.cores)])
        s_id = _select(grant, [p.core_base[c] + self.i_spike[c].payload
                               for c in range(p.cores)])
        out = self.o_source
        m.d.comb += [any_spike.eq(Cat(*valid).any()), grant.eq(g), sid.eq(s_id)]
        for c in range(p.cores):
            m.d.comb += self.i_spike[c].ready.eq(out.ready & (grant == c))
        m.d.comb += [out.valid.eq(any_spike), out.payload.eq(sid)]
        with m.If(any_spike & out.ready):
            m.d.sync += last.eq(grant)
        return m
