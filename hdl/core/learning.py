"""The learning unit of a plastic core: traces, LTP column pass and the one weight update,
steered between LTD (event phase) and LTP (column pass)."""

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import ReadPort, WritePort
from amaranth.lib.wiring import In, Out

from .lif import lif_out_layout
from .stdp import WeightUpdate, learn_layout
from .synapse import WeightPortSignature, ltd_layout
from .control import Phase
from .groups import columns, select
from .layouts import addr_bits, check_params
from .ltp import LtpPass
from .traces import PostTraces, PreTraces

__all__ = ["Learning"]


class Learning(wiring.Component):
    """STDP (``docs/spec.md`` section 4) beside the synapse array and the LIF pipeline.

    LTD: every op of the event phase (``i_ltd``: the weight word the synapse array reads) goes
    through the :class:`~spikefab.hdl.core.stdp.WeightUpdate`, ``W - ((a_minus * y) >> shift)``
    with the post traces of step ``t - 1`` read at the op's row (a static group's op with an
    empty mask, so that every event has the same tail). The pre traces (:class:`PreTraces`)
    are swept beside the update sweep, the post traces (:class:`PostTraces`) updated beside
    the LIF pipeline; in the LTP phase the column pass (:class:`LtpPass`) reads the weights
    of the spiking rows through ``weight`` and steers the same unit to
    ``W + ((a_plus * x) >> shift)``. The unit writes through ``update``. Between steps the
    configuration port's weight accesses pass through (``cfg_weight``), and it reaches the
    traces through ``cfg_pre_*`` and ``cfg_post_*``.

    Infers the memories of its blocks (pre traces and flags, post traces per plastic group,
    the LTP row FIFO, delay lines with ``delay_ram``); latency
    :data:`~spikefab.shape.latency.UPDATE_STAGES` from an op to its write, one op per clock.

    Parameters
    ----------
    params : CoreParams
    weight_ram : str
    delay_ram : bool

    Members
    -------
    phase : In(Phase)
    row : In(range(rows))
        The update sweep's row.
    ev_row : In(range(rows))
        The synapse array's row.
    i_delivered : In(stream.Signature(unsigned(bits of A - 1), always_ready=True))
        The events the synapse array takes.
    i_ltd : In(stream.Signature(ltd_layout(params), always_ready=True))
    i_result : In(stream.Signature(lif_out_layout(params), always_ready=True))
    learn : In(ArrayLayout(learn_layout(W_BITS, T_BITS), plastic groups))
    weight : In(WeightPortSignature(...))
        The synapse array's weight port (LTP reads; the commands' accesses).
    update : In(WritePort.Signature(...))
        The synapse array's update port (the weight update's writes).
    cfg_weight : Out(WeightPortSignature(...))
    cfg_pre_rd, cfg_pre_wr, cfg_post_rd, cfg_post_wr : Out(...)
        The configuration port's accesses.
    unit_busy, sweep_busy, ltp_busy : Out(1)
        The weight update, the pre-trace sweep, the LTP column pass are running.
    """

    def __init__(self, params, weight_ram="dual", delay_ram=False):
        p = self._p = check_params(params)
        self._ram, self._delay_ram = weight_ram, delay_ram
        npl, lanes, tb = len(p.plastic_groups), p.lanes, p.trace_bits
        wbits, width = addr_bits(p.weight_slots), lanes * p.weight_bits
        weight = WeightPortSignature(addr_width=wbits, width=width)
        pre = dict(addr_width=addr_bits(p.pre_slots), shape=tb)
        post = dict(addr_width=addr_bits(p.row_slots), shape=lanes * tb)
        super().__init__({
            "phase": In(Phase),
            "row": In(range(p.row_slots)),
            "ev_row": In(range(p.row_slots)),
            "i_delivered": In(stream.Signature(unsigned(max(1, (p.axons - 1).bit_length())),
                                               always_ready=True)),
            "i_ltd": In(stream.Signature(ltd_layout(p), always_ready=True)),
            "i_result": In(stream.Signature(lif_out_layout(p), always_ready=True)),
            "learn": In(data.ArrayLayout(learn_layout(p.weight_bits, tb, p.modulated),
                                         npl)),
            "weight": In(weight),
            "update": In(WritePort.Signature(addr_width=wbits, shape=width)),
            "cfg_weight": Out(weight),
            "cfg_pre_rd": Out(ReadPort.Signature(**pre)),
            "cfg_pre_wr": Out(WritePort.Signature(**pre)),
            "cfg_post_rd": Out(ReadPort.Signature(**post)).array(npl),
            "cfg_post_wr": Out(WritePort.Signature(**post)).array(npl),
            "unit_busy": Out(1), "sweep_busy": Out(1), "ltp_busy": Out(1),
        })

    def elaborate(self, platform):
        p = self._p
        m = Module()
        m.submodules.pre = pre = PreTraces(p)
        m.submodules.post = post = PostTraces(p, self._delay_ram)
        m.submodules.ltp = ltp = LtpPass(p, self._ram)
        m.submodules.weight_update = unit = WeightUpdate(
            p.lanes, p.weight_bits, p.trace_bits, len(self.update.addr), self._delay_ram)

        for block in (pre, post, ltp):
            m.d.comb += block.phase.eq(self.phase)
        for block in (pre, post):
            m.d.comb += block.learn.eq(self.learn)
        m.d.comb += [post.row.eq(self.row), post.ev_row.eq(self.ev_row),
                     pre.ltp_slot.eq(ltp.slot)]
        wiring.connect(m, wiring.flipped(self.i_delivered), pre.i_delivered)
        for block in (post, ltp):
            m.d.comb += [block.i_result.valid.eq(self.i_result.valid),
                         block.i_result.payload.eq(self.i_result.payload)]
        wiring.connect(m, wiring.flipped(self.cfg_pre_rd), pre.cfg_rd)
        wiring.connect(m, wiring.flipped(self.cfg_pre_wr), pre.cfg_wr)
        for k in range(len(p.plastic_groups)):
            wiring.connect(m, wiring.flipped(self.cfg_post_rd[k]), post.cfg_rd[k])
            wiring.connect(m, wiring.flipped(self.cfg_post_wr[k]), post.cfg_wr[k])
        wiring.connect(m, unit.write, wiring.flipped(self.update))
        m.d.comb += [self.unit_busy.eq(unit.busy), self.sweep_busy.eq(pre.busy),
                     self.ltp_busy.eq(ltp.busy)]

        # the weight port: the column pass reads in the LTP phase, the commands otherwise
        in_ltp = self.phase == Phase.LTP
        w, cw = self.weight, self.cfg_weight
        m.d.comb += [w.addr.eq(Mux(in_ltp, ltp.addr, cw.addr)), w.w_en.eq(cw.w_en),
                     w.w_data.eq(cw.w_data), cw.data.eq(w.data)]
        self._steer(m, unit, in_ltp, pre.trace, post.traces, ltp.o_op)
        return m

    def _steer(self, m, unit, in_ltp, pre_trace, post_traces, op):
        """The weight update's operands: the column pass's ops in the LTP phase, the event
        phase's ops (LTD) otherwise."""
        p = self._p
        groups, npl = p.plastic_groups, len(p.plastic_groups)
        ltd = self.i_ltd.payload
        ltd_plastic, ltd_k = Signal(), Signal(range(max(npl, 2)))
        plastic_expr, k_expr = 0, 0
        for k, g in enumerate(groups):
            plastic_expr = plastic_expr | (ltd.group == g)
            k_expr = Mux(ltd.group == g, k, k_expr)
        m.d.comb += [ltd_plastic.eq(plastic_expr), ltd_k.eq(k_expr)]
        y_sel = post_traces[0]
        for k in range(1, npl):
            y_sel = Mux(ltd_k == k, post_traces[k], y_sel)

        learn = self.learn
        u = unit.i_op.payload
        with m.If(in_ltp):
            b = op.payload
            m.d.comb += [
                unit.i_op.valid.eq(op.valid), u.addr.eq(b.addr), u.word.eq(self.weight.data),
                u.trace.eq(Cat(pre_trace for _ in range(p.lanes))),
                u.mask.eq(b.mask),
                # potentiation adds, unless a negative third factor inverts it (v1.2)
                u.neg.eq(select(learn, b.k, "neg_plus") if p.modulated else 0),
                u.a.eq(select(learn, b.k, "a_plus")), u.shift.eq(select(learn, b.k, "shift")),
                u.w_min.eq(select(learn, b.k, "w_min")), u.w_max.eq(select(learn, b.k, "w_max")),
            ]
        with m.Else():
            m.d.comb += [
                unit.i_op.valid.eq(self.i_ltd.valid), u.addr.eq(ltd.addr), u.word.eq(ltd.word),
                u.trace.eq(y_sel),
                u.mask.eq(Mux(ltd_plastic, columns(p, ltd.row, ltd_k), 0)),
                # depression subtracts, unless a negative third factor inverts it (v1.2)
                u.neg.eq(~select(learn, ltd_k, "neg_minus") if p.modulated else 1),
                u.a.eq(select(learn, ltd_k, "a_minus")), u.shift.eq(select(learn, ltd_k, "shift")),
                u.w_min.eq(select(learn, ltd_k, "w_min")),
                u.w_max.eq(select(learn, ltd_k, "w_max")),
            ]
