"""The learning datapaths of a plastic core: ``docs/spec.md`` section 4.

:class:`WeightUpdate` is the one read-modify-write pipeline of the weights: LTD (event phase,
``W - ((a_minus * y) >> shift)``) and LTP (column pass, ``W + ((a_plus * x) >> shift)``) take
turns on it, each followed by the clip to ``[w_min, w_max]``. :class:`TraceUpdate` is the trace
recurrence ``t = decay(t, d)``, then ``usat(t + inc, T_BITS)`` where a spike happened, used
for the pre traces (sweep after the event phase) and the post traces (beside the LIF pipeline).
"""

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import WritePort
from amaranth.lib.wiring import In, Out

from spikefab.golden.fixed import DECAY_SHIFT

from spikefab.shape.latency import UPDATE_STAGES

from ..delay import DelayLine

__all__ = ["learn_layout", "update_op_layout", "WeightUpdate", "TraceUpdate"]


def learn_layout(weight_bits, trace_bits, modulated=False):
    """Learning registers of one plastic projection (``k_pre = 4096 - d_pre``, likewise
    ``k_post``); in a core with a modulated group (third factor, ``docs/spec.md`` v1.2) also
    the signs of the effective rates, whose magnitudes ``a_plus`` / ``a_minus`` hold."""
    return data.StructLayout({
        "a_plus": unsigned(8), "a_minus": unsigned(8), "shift": unsigned(4),
        "k_pre": unsigned(13), "k_post": unsigned(13),
        "x_inc": unsigned(trace_bits), "y_inc": unsigned(trace_bits),
        "w_min": signed(weight_bits), "w_max": signed(weight_bits),
        **({"neg_plus": unsigned(1), "neg_minus": unsigned(1)} if modulated else {})})


def update_op_layout(lanes, weight_bits, trace_bits, addr_bits):
    """One operand of :class:`WeightUpdate`: the weight word read and its address, per lane
    the trace (``lanes * T_BITS``), the lanes to change, 1 for depression (subtract), and the
    rate, ``stdp_shift`` and bounds of the operand's projection."""
    return data.StructLayout({
        "addr": unsigned(addr_bits), "word": unsigned(lanes * weight_bits),
        "trace": unsigned(lanes * trace_bits), "mask": unsigned(lanes), "neg": unsigned(1),
        "a": unsigned(8), "shift": unsigned(4),
        "w_min": signed(weight_bits), "w_max": signed(weight_bits)})


class WeightUpdate(wiring.Component):
    """``lanes`` weights per clock: ``W' = clip(W +- ((a * t) >> shift), w_min, w_max)``.

    Stages: 1 registers the operands (they come from block RAM outputs), 2 the products
    ``a * t`` (one small multiplier per lane: SB_MAC16 / MULT18), 3 ``W +- (prod >> shift)``
    (exact), 4 the clip; lanes whose ``mask`` bit is 0 pass ``W`` through unchanged. Latency
    :data:`~spikefab.shape.latency.UPDATE_STAGES`, one word per clock, never stalls; ``write``
    drives the weight memory's write port directly. Infers no memory, unless ``delay_ram``:
    then the address and the bounds, which only wait, go through block RAM delay lines.

    Members
    -------
    i_op : In(stream.Signature(update_op_layout(...), always_ready=True))
        The operands, one word per clock.
    write : In(WritePort.Signature(addr_width=addr_bits, shape=lanes * W_BITS))
        The updated words (the memory's side is ``Out``).
    busy : Out(1)
        An operand is in the pipeline (or entering it).
    """

    def __init__(self, lanes, weight_bits, trace_bits, addr_bits, delay_ram=False):
        self.lanes, self.wb, self.tb = lanes, weight_bits, trace_bits
        self.delay_ram = bool(delay_ram)
        super().__init__({
            "i_op": In(stream.Signature(
                update_op_layout(lanes, weight_bits, trace_bits, addr_bits), always_ready=True)),
            "write": In(WritePort.Signature(addr_width=addr_bits, shape=lanes * weight_bits)),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        lanes, wb, tb = self.lanes, self.wb, self.tb
        op = self.i_op.payload
        abits = len(op.addr)

        def pipe(sig, n, name):
            out = [sig]
            for k in range(1, n + 1):
                r = Signal.like(sig, name=f"{name}{k}")
                m.d.sync += r.eq(out[-1])
                out.append(r)
            return out

        valid = pipe(self.i_op.valid, UPDATE_STAGES, "valid")
        mask = pipe(op.mask, UPDATE_STAGES, "mask")
        neg = pipe(op.neg, 2, "neg")
        shift = pipe(op.shift, 2, "shift")
        # the address and the bounds only wait: block RAM delay lines when ``delay_ram``
        m.submodules.addr_delay = ad = DelayLine(abits, UPDATE_STAGES, self.delay_ram)
        m.submodules.bounds_delay = bd = DelayLine(2 * wb, 3, self.delay_ram)
        m.d.comb += [ad.i.eq(op.addr), bd.i.eq(Cat(op.w_min, op.w_max))]
        lo = [None] * 3 + [bd.o[:wb].as_signed()]
        hi = [None] * 3 + [bd.o[wb:].as_signed()]
        addr = [None] * UPDATE_STAGES + [ad.o]
        a1 = Signal(8)
        m.d.sync += a1.eq(op.a)
        busy = 0
        for v in valid:
            busy = busy | v
        m.d.comb += [self.busy.eq(busy), self.write.en.eq(valid[UPDATE_STAGES]),
                     self.write.addr.eq(addr[UPDATE_STAGES][:abits])]
        for lane in range(lanes):
            w1 = Signal(signed(wb), name=f"l{lane}_w1")
            t1 = Signal(tb, name=f"l{lane}_t1")
            m.d.sync += [w1.eq(op.word[lane * wb:(lane + 1) * wb].as_signed()),
                         t1.eq(op.trace[lane * tb:(lane + 1) * tb])]
            prod = Signal(8 + tb, name=f"l{lane}_prod")
            w2 = Signal(signed(wb), name=f"l{lane}_w2")
            m.d.sync += [prod.eq(a1 * t1), w2.eq(w1)]
            total = Signal(signed(wb + 8 + tb + 1), name=f"l{lane}_total")
            w3 = Signal(signed(wb), name=f"l{lane}_w3")
            dw = prod >> shift[2]
            m.d.sync += [total.eq(Mux(neg[2], w2 - dw, w2 + dw)), w3.eq(w2)]
            new = Signal(signed(wb), name=f"l{lane}_new")
            clipped = Mux(total < lo[3], lo[3], Mux(total > hi[3], hi[3], total))
            m.d.sync += new.eq(Mux(mask[3][lane], clipped, w3))
            m.d.comb += self.write.data[lane * wb:(lane + 1) * wb].eq(new)
        return m


class TraceUpdate(wiring.Component):
    """``lanes`` traces per clock: ``decay(t, d)`` in
    :data:`~spikefab.shape.latency.TRACE_STAGES` clocks, then, in the clock the caller knows
    the spikes, ``usat(. + inc, T_BITS)`` where ``spike`` is set.

    Stages: 1 registers the traces (block RAM outputs), 2 the products ``t * (4096 - d)``,
    3 the truncated ``>> 12`` (traces are unsigned: truncation toward zero is the floor).
    ``o_decayed`` is valid :data:`~spikefab.shape.latency.TRACE_STAGES` clocks after
    ``i_trace``; ``bump(decayed, spike, inc)`` (combinational, a method) gives the final
    value. Infers no memory.

    Members
    -------
    i_trace : In(lanes * T_BITS)
    k : In(unsigned(13))
        ``4096 - d``.
    o_decayed : Out(lanes * T_BITS)
    """

    def __init__(self, lanes, trace_bits):
        self.lanes, self.tb = lanes, trace_bits
        super().__init__({"i_trace": In(lanes * trace_bits), "k": In(unsigned(13)),
                          "o_decayed": Out(lanes * trace_bits)})

    def elaborate(self, platform):
        m = Module()
        tb = self.tb
        k1 = Signal(13)
        m.d.sync += k1.eq(self.k)
        for lane in range(self.lanes):
            t1 = Signal(tb, name=f"l{lane}_t1")
            prod = Signal(tb + 13, name=f"l{lane}_prod")
            dec = Signal(tb, name=f"l{lane}_dec")
            m.d.sync += [t1.eq(self.i_trace[lane * tb:(lane + 1) * tb]), prod.eq(t1 * k1),
                         dec.eq(prod[DECAY_SHIFT:])]
            m.d.comb += self.o_decayed[lane * tb:(lane + 1) * tb].eq(dec)
        return m

    @staticmethod
    def bump(decayed, spike, inc, trace_bits):
        """``usat(decayed + inc, T_BITS)`` if ``spike`` else ``decayed`` (one lane)."""
        tmax = (1 << trace_bits) - 1
        s = decayed + inc
        return Mux(spike, Mux(s > tmax, tmax, s), decayed)
