"""The neuron core: synapse array, LIF pipeline, spike emitter and step control, composed.

Its shape (:class:`~spikefab.shape.core.CoreParams`), the address map of its configuration port
(``spikefab.shape.cfg``) and its cycle formulas (``spikefab.shape.latency``) are pure Python in
``spikefab.shape``; this file is the gateware.
"""

import enum

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from spikefab.golden.fixed import DECAY_ONE
from spikefab.shape.cfg import (LEARN_STRIDE, Learn, Param, Space, cfg_data_bits, cfg_fields,
                                learn_base, param_addr, row_bits)
from spikefab.shape.core import CoreParams, check_weight_ram
from spikefab.shape.latency import (CYCLES_BITS, DRAIN_LATENCY as _DRAIN, LIF_LATENCY,
                                    TRACE_STAGES, read_latency, row_clocks)

from .delay import DelayLine
from .emitter import SpikeEmitter
from .layouts import struct
from .lif import LifPipeline
from .stdp import TraceUpdate, WeightUpdate, learn_layout
from .synapse import SynapseArray

__all__ = ["state_layout", "cfg_layout", "Core"]


def state_layout(p):
    """One state word: per lane ``{u, v, r}`` (``u`` in the low bits)."""
    return data.ArrayLayout(data.StructLayout({
        "u": signed(p.current_bits), "v": signed(p.voltage_bits),
        "r": unsigned(p.refractory_bits)}), p.lanes)




def cfg_layout(p):
    """:func:`~spikefab.shape.cfg.cfg_fields` as a layout."""
    return struct(cfg_fields(p))


class _Phase(enum.IntEnum):
    EVENT = 0
    UPDATE = 1
    DRAIN = 2
    LTP = 3


class Core(wiring.Component):
    """One time-multiplexed LIF core: ``N`` neurons, ``A`` axons, ``lanes`` neurons per clock.

    A step: the host streams the axon ids of the step's events into ``i_event`` (any order,
    repeats allowed), then pulses ``start``. Events keep flowing into the synapse array at one
    row per clock (``lanes`` synaptic operations) while they arrive; after ``start`` and the
    last event, the update phase sweeps the rows at one row per clock through the LIF pipeline,
    writes ``u, v, r`` back, clears the accumulators, and queues the spiking rows; their neuron
    ids leave through ``o_spike`` (with backpressure, never dropped). ``done`` pulses for one
    clock when the last spike of the step has been transferred, and ``cycles`` then holds the
    number of clocks the step kept the core busy (a clock is busy while an event is in flight,
    ``start`` is pending, or the update phase runs; host idle time is not counted). The exact
    count is :func:`step_cycles`: with events back to back and no backpressure,
    ``2 * [E > 0] + rows * (E + 1) + UPDATE_LATENCY``.

    Events transferred in the clock of ``start`` belong to the step; ``i_event.ready`` is low
    from the clock after ``start`` until ``done``.

    Configuration (``i_cfg`` / ``o_rdata``, only between steps: ``i_cfg.ready`` is low while
    the core is busy): a write takes effect in its transfer clock; a read answers on
    ``o_rdata`` three clocks after its transfer and holds until taken, and no command is accepted
    meanwhile. Spaces are :class:`Space`, neuron parameters :class:`Param`. ``u, v, r`` start
    at 0, the weights and parameters at the values of ``params``.

    Memories: weights (``rows * A`` x ``lanes * W_BITS``), accumulators (``rows`` x
    ``lanes * acc_bits``), neuron state (``rows`` x ``lanes * (U + V + refractory_bits)``),
    and the emitter's FIFO (``rows + 1`` x ``row bits + lanes``).

    Parameters
    ----------
    params : CoreParams
    weight_ram : str
        Kind of weight memory (:data:`~spikefab.shape.core.WEIGHT_RAMS`): ``"dual"``
        (inferred block RAM), ``"single"`` (behavioural single-port model) or
        ``"ice40_spram"`` (UP5K ``SB_SPRAM256KA``; no initial contents: weights are loaded
        through the configuration port).
    delay_ram : bool
        Put the pipeline words that only wait (``v`` and ``r`` in the LIF pipeline, the post
        traces beside it, the weight update's address and bounds) in block RAM delay lines
        instead of registers (``hdl/delay.py``): same latency, ~330 fewer iCE40 logic cells
        for a plastic lane, a few more EBR. The iCE40 boards use it.

    Members
    -------
    i_event : In(stream.Signature(unsigned(bits of A - 1)))
    start : In(1)
    o_spike : Out(stream.Signature(unsigned(bits of N - 1)))
    done : Out(1)
    busy : Out(1)
    cycles : Out(unsigned(CYCLES_BITS))
    i_cfg : In(stream.Signature(cfg_layout(params)))
    o_rdata : Out(stream.Signature(unsigned(cfg_data_bits(params))))
    """

    def __init__(self, params, weight_ram="dual", delay_ram=False):
        if not isinstance(params, CoreParams):
            raise TypeError(f"Params must be a CoreParams, not {params!r}")
        self._p = params
        self._delay_ram = bool(delay_ram)
        p = params
        self._ram = check_weight_ram(weight_ram, p.lanes * p.weight_bits, p.weight_slots,
                                     p.plastic)
        super().__init__({
            "i_event": In(stream.Signature(unsigned(max(1, (p.axons - 1).bit_length())))),
            "start": In(1),
            "o_spike": Out(stream.Signature(unsigned(max(1, (p.neurons - 1).bit_length())))),
            "done": Out(1),
            "busy": Out(1),
            "cycles": Out(unsigned(CYCLES_BITS)),
            "i_cfg": In(stream.Signature(cfg_layout(p))),
            "o_rdata": Out(stream.Signature(unsigned(cfg_data_bits(p)))),
        })

    @property
    def params(self):
        return self._p

    @property
    def weight_ram(self):
        """The kind of weight memory (argument of :func:`step_cycles`)."""
        return self._ram

    def elaborate(self, platform):
        p = self._p
        m = Module()
        m.submodules.synapses = syn = SynapseArray(p, self._ram)
        m.submodules.lif = lif = LifPipeline(p, self._delay_ram)
        m.submodules.emitter = emit = SpikeEmitter(p)
        st_layout = state_layout(p)
        m.submodules.state = state = Memory(shape=st_layout, depth=p.row_slots, init=[])
        st_rd = state.read_port()
        st_wr = state.write_port()

        wiring.connect(m, wiring.flipped(self.o_spike), emit.o_spike)

        # -- neuron parameters (run-time registers), one set per population of the core ---
        sets = []
        for k, ns in enumerate(p.neuron_sets):
            sets.append({
                Param.THRESHOLD: Signal(unsigned(max(1, p.voltage_bits - 1)),
                                        init=ns.threshold, name=f"threshold{k}"),
                Param.BIAS: Signal(signed(p.voltage_bits), init=ns.bias, name=f"bias{k}"),
                Param.DU: Signal(unsigned(13), init=DECAY_ONE - ns.du, name=f"k_u{k}"),
                Param.DV: Signal(unsigned(13), init=DECAY_ONE - ns.dv, name=f"k_v{k}"),
                Param.REFRACTORY: Signal(unsigned(p.refractory_bits), init=ns.refractory,
                                         name=f"refractory{k}"),
                Param.RESET_SUBTRACT: Signal(init=int(ns.reset_subtract),
                                             name=f"reset_sub{k}"),
            })
        for k, regs in enumerate(sets):
            m.d.comb += [lif.threshold[k].eq(regs[Param.THRESHOLD]),
                         lif.bias[k].eq(regs[Param.BIAS]), lif.k_u[k].eq(regs[Param.DU]),
                         lif.k_v[k].eq(regs[Param.DV]),
                         lif.refractory[k].eq(regs[Param.REFRACTORY]),
                         lif.reset_subtract[k].eq(regs[Param.RESET_SUBTRACT])]

        # -- step control -----------------------------------------------------------------
        phase = Signal(_Phase)
        start_pending = Signal()
        upd_row = Signal(range(p.row_slots))
        issue_valid = Signal()
        issue_row = Signal.like(upd_row)
        drain = Signal(range(_DRAIN + 1))
        in_event = phase == _Phase.EVENT
        cfg = self.i_cfg
        cfg_go = cfg.valid & cfg.ready
        # learning status (constant 0 in a static core): the weight update pipeline, the
        # pre-trace sweep and the LTP column pass are running
        unit_busy, sweep_busy, ltp_busy = Signal(), Signal(), Signal()

        m.d.comb += [
            syn.i_event.valid.eq(self.i_event.valid),
            syn.i_event.payload.eq(self.i_event.payload),
            self.i_event.ready.eq(syn.i_event.ready),
            syn.enable.eq(in_event & ~start_pending & ~cfg.valid),
        ]
        with m.If(in_event & self.start):
            m.d.sync += start_pending.eq(1)

        m.d.sync += [issue_valid.eq(0), issue_row.eq(upd_row)]
        # the parameter set of each lane of the issued row: local neuron row * lanes + lane is
        # in set k >= 1 when row >= ceil((first_k - lane) / lanes), one comparison per bound
        issue_set = [Signal(p.set_bits, name=f"issue_set{lane}") for lane in range(p.lanes)]
        for lane in range(p.lanes):
            idx = 0
            for k, ns in enumerate(p.neuron_sets[1:], 1):
                bound = max(0, -(-(ns.first - lane) // p.lanes))
                idx = Mux(upd_row >= bound, k, idx)
            m.d.sync += issue_set[lane].eq(idx)
        done = Signal()
        with m.Switch(phase):
            with m.Case(_Phase.EVENT):
                with m.If(start_pending & ~syn.busy & ~unit_busy):
                    m.d.sync += [phase.eq(_Phase.UPDATE), start_pending.eq(0), upd_row.eq(0)]
            with m.Case(_Phase.UPDATE):
                m.d.sync += issue_valid.eq(1)
                with m.If(upd_row == p.rows - 1):
                    m.d.sync += [phase.eq(_Phase.DRAIN), drain.eq(_DRAIN)]
                with m.Else():
                    m.d.sync += upd_row.eq(upd_row + 1)
            with m.Case(_Phase.DRAIN):
                with m.If(drain != 0):
                    m.d.sync += drain.eq(drain - 1)
                with m.Elif(~issue_valid & ~lif.busy & (~sweep_busy if p.plastic
                                                         else emit.idle)):
                    if p.plastic:
                        m.d.sync += phase.eq(_Phase.LTP)
                    else:
                        m.d.comb += done.eq(1)
                        m.d.sync += phase.eq(_Phase.EVENT)
            with m.Case(_Phase.LTP):
                with m.If(~ltp_busy & ~unit_busy & emit.idle):
                    m.d.comb += done.eq(1)
                    m.d.sync += phase.eq(_Phase.EVENT)

        # update sweep: read state and read-and-clear the accumulator row, one row per clock
        updating = phase == _Phase.UPDATE
        m.d.comb += [
            syn.ext.eq(~in_event | cfg_go),
            st_rd.addr.eq(Mux(updating, upd_row, cfg.payload.addr)),
            syn.x_a_addr.eq(Mux(updating, upd_row, cfg.payload.addr)),
        ]
        with m.If(updating):
            m.d.comb += [syn.x_a_wen.eq(1), syn.x_a_wdata.eq(0)]
        old = data.View(st_layout, st_rd.data)
        m.d.comb += [lif.i_neuron.valid.eq(issue_valid), lif.i_neuron.payload.row.eq(issue_row)]
        for lane in range(p.lanes):
            li = lif.i_neuron.payload.lanes[lane]
            m.d.comb += [li.u.eq(old[lane].u), li.v.eq(old[lane].v), li.r.eq(old[lane].r),
                         li.a.eq(syn.x_a_rdata[lane]), li.set.eq(issue_set[lane])]

        # results: state write-back and spiking rows
        res = lif.o_neuron.payload
        new = Signal(st_layout)
        for lane in range(p.lanes):
            m.d.comb += [new[lane].u.eq(res.lanes[lane].u), new[lane].v.eq(res.lanes[lane].v),
                         new[lane].r.eq(res.lanes[lane].r)]
        m.d.comb += [
            emit.i_row.valid.eq(lif.o_neuron.valid),
            emit.i_row.payload.row.eq(res.row),
            emit.i_row.payload.mask.eq(Cat(res.lanes[k].s for k in range(p.lanes))),
        ]
        with m.If(lif.o_neuron.valid):
            m.d.comb += [st_wr.addr.eq(res.row), st_wr.data.eq(new), st_wr.en.eq(1)]
        with m.Elif(cfg_go & cfg.payload.write & (cfg.payload.space == Space.STATE)):
            m.d.comb += [st_wr.addr.eq(cfg.payload.addr), st_wr.data.eq(cfg.payload.data),
                         st_wr.en.eq(1)]

        # -- cycle counter ----------------------------------------------------------------
        count = Signal(CYCLES_BITS)
        busy = syn.busy | unit_busy | start_pending | ~in_event
        m.d.comb += [self.busy.eq(busy), self.done.eq(done)]
        with m.If(done):
            m.d.sync += [self.cycles.eq(count + 1), count.eq(0)]
        with m.Elif(busy):
            m.d.sync += count.eq(count + 1)

        # -- configuration port -----------------------------------------------------------
        rd_pending = Signal()
        rd_wait = Signal(read_latency(self._ram) - 1)
        rd_select = Signal()
        rd_space = Signal(len(cfg.payload.space))
        rd_param = Signal(cfg_data_bits(p))
        rdata = self.o_rdata
        m.d.comb += [
            cfg.ready.eq(in_event & ~syn.busy & ~unit_busy & ~start_pending & ~self.start
                         & ~rd_pending & ~rd_wait.any()
                         & ~rd_select & ~rdata.valid),
            syn.x_w_wdata.eq(cfg.payload.data),
        ]
        with m.If(cfg_go & cfg.payload.write):
            with m.Switch(cfg.payload.space):
                with m.Case(Space.WEIGHT):
                    m.d.comb += syn.x_w_wen.eq(1)
                with m.Case(Space.ACC):
                    m.d.comb += [syn.x_a_wen.eq(1), syn.x_a_wdata.eq(cfg.payload.data)]
                with m.Case(Space.PARAM):
                    d = cfg.payload.data
                    with m.Switch(cfg.payload.addr):
                        for k, regs in enumerate(sets):
                            for q, reg in regs.items():
                                with m.Case(param_addr(p, k, q)):
                                    if q in (Param.DU, Param.DV):
                                        m.d.sync += reg.eq(DECAY_ONE - d[:13])
                                    else:
                                        m.d.sync += reg.eq(d)
        with m.If(cfg_go & ~cfg.payload.write):
            m.d.sync += [rd_pending.eq(1), rd_space.eq(cfg.payload.space)]
            with m.Switch(cfg.payload.addr):
                for k, regs in enumerate(sets):
                    for q, reg in regs.items():
                        with m.Case(param_addr(p, k, q)):
                            if q in (Param.DU, Param.DV):
                                m.d.sync += rd_param.eq(DECAY_ONE - reg)
                            else:
                                m.d.sync += rd_param.eq(reg.as_unsigned())
                with m.Default():
                    m.d.sync += rd_param.eq(0)
        # The memories' read data go straight into capture registers (block RAM clock-to-out
        # leaves no room for the space multiplexer in the same clock); the multiplexer works
        # one clock later.
        # A weight memory with a longer read latency (``"banked"``) delivers its word
        # ``rd_wait`` clocks after the others.
        cap_w = Signal.like(syn.x_w_rdata)
        cap_s = Signal.like(st_rd.data)
        cap_a = Signal.like(syn.x_a_rdata)
        with m.If(rd_pending):
            m.d.sync += [rd_pending.eq(0), cap_s.eq(st_rd.data), cap_a.eq(syn.x_a_rdata)]
        if len(rd_wait):
            m.d.sync += rd_wait.eq(Cat(rd_pending, rd_wait[:-1]))
            with m.If(rd_wait[-1]):
                m.d.sync += [rd_select.eq(1), cap_w.eq(syn.x_w_rdata)]
        else:
            with m.If(rd_pending):
                m.d.sync += [rd_select.eq(1), cap_w.eq(syn.x_w_rdata)]
        with m.If(rd_select):
            m.d.sync += [rd_select.eq(0), rdata.valid.eq(1)]
            with m.Switch(rd_space):
                with m.Case(Space.WEIGHT):
                    m.d.sync += rdata.payload.eq(cap_w)
                with m.Case(Space.STATE):
                    m.d.sync += rdata.payload.eq(cap_s)
                with m.Case(Space.ACC):
                    m.d.sync += rdata.payload.eq(cap_a)
                with m.Case(Space.PARAM):
                    m.d.sync += rdata.payload.eq(rd_param)
        with m.Elif(rdata.valid & rdata.ready):
            m.d.sync += rdata.valid.eq(0)

        if not p.plastic:
            m.d.comb += syn.x_w_addr.eq(cfg.payload.addr)
            return m
        self._learning(m, dict(
            syn=syn, lif=lif, phase=phase, cfg=cfg, cfg_go=cfg_go, upd_row=upd_row,
            unit_busy=unit_busy, sweep_busy=sweep_busy, ltp_busy=ltp_busy,
            rd_pending=rd_pending, rd_select=rd_select, rd_space=rd_space, rd_param=rd_param,
            rdata=rdata, i_event=self.i_event))
        return m

    def _learning(self, m, c):
        """STDP (``docs/spec.md`` section 4): LTD on the event phase's reads, the pre-trace
        sweep beside the update sweep, the post traces beside the LIF pipeline, and the LTP
        column pass after it. Called by :meth:`elaborate` for a plastic core only."""
        p = self._p
        syn, lif, phase, cfg, cfg_go = c["syn"], c["lif"], c["phase"], c["cfg"], c["cfg_go"]
        lanes, wb, tb, A = p.lanes, p.weight_bits, p.trace_bits, p.axons
        groups = p.plastic_groups
        npl = len(groups)
        pre_off = p.pre_offsets
        rbits = row_bits(p)
        tmax = (1 << tb) - 1
        cmd = cfg.payload
        in_event = phase == _Phase.EVENT
        updating = phase == _Phase.UPDATE
        in_ltp = phase == _Phase.LTP
        cfg_wr = cfg_go & cmd.write
        cfg_rd = cfg_go & ~cmd.write

        # -- learning registers, run-time writable --------------------------------------
        layout = learn_layout(wb, tb)
        learn = []
        for k, g in enumerate(groups):
            r = p.stdp[g]
            learn.append(Signal(layout, name=f"learn{k}", init={
                "a_plus": r.a_plus, "a_minus": r.a_minus, "shift": r.shift,
                "k_pre": DECAY_ONE - r.d_pre, "k_post": DECAY_ONE - r.d_post,
                "x_inc": r.x_inc, "y_inc": r.y_inc, "w_min": r.w_min, "w_max": r.w_max}))

        # Plain expressions, not m.Switch: Icarus never evaluates an ``always @*`` block whose
        # inputs never change (the index of a core with one plastic group).
        def select(index, field, width):
            """``learn[index].field``; ``index`` a plastic group index (Value)."""
            out = learn[0][field]
            for k in range(1, npl):
                out = Mux(index == k, learn[k][field], out)
            return out

        with m.If(cfg_wr & (cmd.space == Space.PARAM)):
            for k in range(npl):
                base = learn_base(p) + LEARN_STRIDE * k
                d = cmd.data
                with m.Switch(cmd.addr):
                    for f in Learn:
                        with m.Case(base + f):
                            name = f.name.lower()
                            if f in (Learn.D_PRE, Learn.D_POST):
                                m.d.sync += learn[k]["k_" + name[2:]].eq(DECAY_ONE - d[:13])
                            else:
                                m.d.sync += learn[k][name].eq(d)
        with m.If(cfg_rd & (cmd.space == Space.PARAM)):
            for k in range(npl):
                base = learn_base(p) + LEARN_STRIDE * k
                with m.Switch(cmd.addr):
                    for f in Learn:
                        with m.Case(base + f):
                            name = f.name.lower()
                            if f in (Learn.D_PRE, Learn.D_POST):
                                val = DECAY_ONE - learn[k]["k_" + name[2:]]
                            elif f in (Learn.W_MIN, Learn.W_MAX):
                                val = learn[k][name].as_unsigned()
                            else:
                                val = learn[k][name]
                            m.d.sync += c["rd_param"].eq(val)

        # -- memories: pre traces and their "hit this step" flags, post traces per group ---
        m.submodules.pre_traces = pre = Memory(shape=tb, depth=p.pre_slots, init=[])
        pre_rd, pre_wr = pre.read_port(), pre.write_port()
        m.submodules.pre_hits = hits = Memory(shape=1, depth=p.pre_slots, init=[])
        hit_rd, hit_wr = hits.read_port(), hits.write_port()
        post_rd, post_wr = [], []
        for k in range(npl):
            mem = Memory(shape=lanes * tb, depth=p.row_slots, init=[])
            m.submodules[f"post_traces_{k}"] = mem
            post_rd.append(mem.read_port())
            post_wr.append(mem.write_port())

        def slot_of(axon):
            """(is plastic, plastic group index, pre slot) of an axon id (Value)."""
            hit, idx, slot = 0, 0, 0
            for k, g in enumerate(groups):
                off, size = p.axon_offsets[g], p.axon_shifts[g][0]
                inside = (axon >= off) & (axon < off + size)
                hit = hit | inside
                idx = Mux(inside, k, idx)
                slot = Mux(inside, axon - off + pre_off[k], slot)
            return hit, idx, slot

        def columns(row, index):
            """Lanes of row ``row`` (Value) inside the columns of plastic group ``index``
            (Value): the target population's neurons, when the core holds several."""
            out = None
            for k, g in enumerate(groups):
                lo, hi = p.columns[g]
                if (lo, hi) == (0, p.neurons):
                    mask = Const((1 << lanes) - 1, lanes)
                else:
                    # neuron row * lanes + l is in [lo, hi) iff ceil((lo - l) / lanes) <= row
                    # < ceil((hi - l) / lanes)
                    mask = Cat((row >= max(0, -(-(lo - l) // lanes)))
                               & (row < max(0, -(-(hi - l) // lanes))) for l in range(lanes))
                out = mask if out is None else Mux(index == k, mask, out)
            return out

        def group_of_slot(slot):
            """(plastic group index, axon) of a pre slot (Value)."""
            idx, axon = 0, slot
            for k, g in enumerate(groups):
                above = slot >= pre_off[k]
                idx = Mux(above, k, idx)
                axon = Mux(above, slot - pre_off[k] + p.axon_offsets[g], axon)
            return idx, axon

        # -- the weight update pipeline, shared by LTD and LTP ---------------------------
        unit = WeightUpdate(lanes, wb, tb, len(syn.u_waddr), self._delay_ram)
        m.submodules.weight_update = unit
        m.d.comb += [c["unit_busy"].eq(unit.busy), syn.u_wen.eq(unit.o_valid),
                     syn.u_waddr.eq(unit.o_addr), syn.u_wdata.eq(unit.o_word)]

        # LTD: every op of the event phase goes through the unit (a static group's with an
        # empty mask, so that every event has the same tail); the post traces of step t-1
        # are read at the op's row together with the weight word.
        ltd_plastic, ltd_k = Signal(), Signal(range(max(npl, 2)))
        plastic_expr, k_expr = 0, 0
        for k, g in enumerate(groups):
            plastic_expr = plastic_expr | (syn.ltd_group == g)
            k_expr = Mux(syn.ltd_group == g, k, k_expr)
        m.d.comb += [ltd_plastic.eq(plastic_expr), ltd_k.eq(k_expr)]
        y_sel = post_rd[0].data
        for k in range(1, npl):
            y_sel = Mux(ltd_k == k, post_rd[k].data, y_sel)

        # LTP column pass: one spiking row at a time, every plastic axon slot of it.
        rowb = max(1, (p.rows - 1).bit_length())
        m.submodules.ltp_rows = fifo = SyncFIFOBuffered(width=rowb + lanes,
                                                        depth=max(p.rows + 1, 3))
        ltp_active = Signal()
        ltp_row = Signal(rowb)
        ltp_mask = Signal(lanes)
        ltp_base = Signal(range(p.weight_slots + A))
        ltp_slot = Signal(range(p.pre_slots))
        b_valid, b_addr, b_mask = Signal(), Signal.like(syn.u_waddr), Signal(lanes)
        b_k = Signal(range(max(npl, 2)))
        slot_k, slot_axon = group_of_slot(ltp_slot)
        # On a single-port weight memory each slot takes two clocks: the read, then a clock
        # left free for the write of the slot read 5 clocks earlier (``ltp_wclk``). The next
        # row is fetched in the last write clock of a row, so that reads stay on one parity
        # of clocks and writes on the other for the whole pass.
        slow = row_clocks(p, self._ram) == 2
        ltp_wclk = Signal() if slow else Const(1)
        head = fifo.r_data

        def fetch():
            m.d.comb += fifo.r_en.eq(1)
            m.d.sync += [ltp_active.eq(1), ltp_row.eq(head[:rowb]), ltp_mask.eq(head[rowb:]),
                         ltp_base.eq(head[:rowb] * A), ltp_slot.eq(0)]

        m.d.sync += [b_valid.eq(0)]
        with m.If(in_ltp):
            with m.If(ltp_active):
                if slow:
                    m.d.sync += ltp_wclk.eq(~ltp_wclk)
                with m.If(~ltp_wclk if slow else 1):
                    m.d.sync += [b_valid.eq(1), b_addr.eq(ltp_base + slot_axon),
                                 b_mask.eq(ltp_mask & columns(ltp_row, slot_k)),
                                 b_k.eq(slot_k)]
                with m.If(ltp_wclk):
                    with m.If(ltp_slot == p.pre_count - 1):
                        if slow:
                            with m.If(fifo.r_rdy):
                                fetch()
                            with m.Else():
                                m.d.sync += ltp_active.eq(0)
                        else:
                            m.d.sync += ltp_active.eq(0)
                    with m.Else():
                        m.d.sync += ltp_slot.eq(ltp_slot + 1)
            with m.Elif(fifo.r_rdy):
                fetch()
                if slow:
                    m.d.sync += ltp_wclk.eq(0)
        m.d.comb += [
            c["ltp_busy"].eq(ltp_active | fifo.r_rdy | b_valid),
            syn.x_w_addr.eq(Mux(in_ltp, ltp_base + slot_axon, cmd.addr)),
        ]

        with m.If(in_ltp):
            m.d.comb += [
                unit.i_valid.eq(b_valid), unit.i_addr.eq(b_addr), unit.i_word.eq(syn.x_w_rdata),
                unit.i_trace.eq(Cat(pre_rd.data for _ in range(lanes))),
                unit.i_mask.eq(b_mask), unit.i_neg.eq(0),
                unit.i_a.eq(select(b_k, "a_plus", 8)), unit.i_shift.eq(select(b_k, "shift", 4)),
                unit.i_w_min.eq(select(b_k, "w_min", signed(wb))),
                unit.i_w_max.eq(select(b_k, "w_max", signed(wb))),
            ]
        with m.Else():
            m.d.comb += [
                unit.i_valid.eq(syn.ltd_valid), unit.i_addr.eq(syn.ltd_addr),
                unit.i_word.eq(syn.ltd_word), unit.i_trace.eq(y_sel),
                unit.i_mask.eq(Mux(ltd_plastic, columns(syn.ltd_row, ltd_k), 0)),
                unit.i_neg.eq(1),
                unit.i_a.eq(select(ltd_k, "a_minus", 8)),
                unit.i_shift.eq(select(ltd_k, "shift", 4)),
                unit.i_w_min.eq(select(ltd_k, "w_min", signed(wb))),
                unit.i_w_max.eq(select(ltd_k, "w_max", signed(wb))),
            ]

        # -- pre traces: flag the delivered slots, then sweep them all after the events ---
        ev = c["i_event"]
        ev_plastic, _, ev_slot = slot_of(ev.payload)
        sw_active, sw_slot = Signal(), Signal(range(p.pre_slots))
        sw_started = Signal()
        with m.If(in_event):
            m.d.sync += sw_started.eq(0)
        with m.If(updating & ~sw_started):
            m.d.sync += [sw_active.eq(1), sw_slot.eq(0), sw_started.eq(1)]
        with m.Elif(sw_active):
            with m.If(sw_slot == p.pre_count - 1):
                m.d.sync += sw_active.eq(0)
            with m.Else():
                m.d.sync += sw_slot.eq(sw_slot + 1)
        sw_k, _ = group_of_slot(sw_slot)
        # stage 1: the read data; stages 2-4: TraceUpdate; write in stage 4
        s_valid = [Signal(name=f"sw_valid{i}") for i in range(1 + TRACE_STAGES)]
        s_slot = [Signal.like(sw_slot, name=f"sw_slot{i}") for i in range(1 + TRACE_STAGES)]
        s_k = [Signal(range(max(npl, 2)), name=f"sw_k{i}") for i in range(1 + TRACE_STAGES)]
        s_hit = [Signal(name=f"sw_hit{i}") for i in range(1 + TRACE_STAGES)]
        m.d.sync += [s_valid[0].eq(sw_active), s_slot[0].eq(sw_slot), s_k[0].eq(sw_k)]
        m.d.comb += s_hit[0].eq(hit_rd.data)
        for i in range(1, 1 + TRACE_STAGES):
            m.d.sync += [s_valid[i].eq(s_valid[i - 1]), s_slot[i].eq(s_slot[i - 1]),
                         s_k[i].eq(s_k[i - 1]), s_hit[i].eq(s_hit[i - 1])]
        busy = sw_active
        for v in s_valid:
            busy = busy | v
        m.d.comb += c["sweep_busy"].eq(busy | (updating & ~sw_started))
        m.submodules.pre_update = pre_unit = TraceUpdate(1, tb)
        m.d.comb += [pre_unit.i_trace.eq(pre_rd.data),
                     pre_unit.k.eq(select(s_k[0], "k_pre", 13))]
        last = TRACE_STAGES
        pre_new = TraceUpdate.bump(pre_unit.o_decayed, s_hit[last],
                                   select(s_k[last], "x_inc", tb), tb)

        sweeping = (phase == _Phase.UPDATE) | (phase == _Phase.DRAIN)
        m.d.comb += [
            pre_rd.addr.eq(Mux(in_ltp, ltp_slot, Mux(sweeping, sw_slot, cmd.addr))),
            hit_rd.addr.eq(sw_slot),
        ]
        with m.If(s_valid[last]):
            m.d.comb += [pre_wr.addr.eq(s_slot[last]), pre_wr.data.eq(pre_new), pre_wr.en.eq(1),
                         hit_wr.addr.eq(s_slot[last]), hit_wr.data.eq(0), hit_wr.en.eq(1)]
        with m.Elif(ev.valid & ev.ready & ev_plastic):
            m.d.comb += [hit_wr.addr.eq(ev_slot), hit_wr.data.eq(1), hit_wr.en.eq(1)]
        with m.Elif(cfg_wr & (cmd.space == Space.PRE)):
            # a written trace is the slot's whole state: a spike delivered since the last step
            # (already accumulated and depressed) no longer bumps it ("reset network state")
            m.d.comb += [pre_wr.addr.eq(cmd.addr), pre_wr.data.eq(cmd.data), pre_wr.en.eq(1),
                         hit_wr.addr.eq(cmd.addr), hit_wr.data.eq(0), hit_wr.en.eq(1)]

        # -- post traces: read with the state, decayed beside the LIF pipeline ------------
        res = lif.o_neuron.payload
        cfg_row = cmd.addr[:rbits]
        cfg_k = cmd.addr[rbits:]
        delay = LIF_LATENCY - TRACE_STAGES
        for k in range(npl):
            m.d.comb += post_rd[k].addr.eq(
                Mux(updating, c["upd_row"], Mux(in_event & cfg_go, cfg_row, syn.ev_row)))
            tu = TraceUpdate(lanes, tb)
            m.submodules[f"post_update_{k}"] = tu
            m.d.comb += [tu.i_trace.eq(post_rd[k].data), tu.k.eq(learn[k].k_post)]
            m.submodules[f"post_delay_{k}"] = pd = DelayLine(lanes * tb, delay,
                                                             self._delay_ram)
            m.d.comb += pd.i.eq(tu.o_decayed)
            dec = pd.o
            new = Cat(TraceUpdate.bump(dec[l * tb:(l + 1) * tb], res.lanes[l].s,
                                       learn[k].y_inc, tb)[:tb] for l in range(lanes))
            with m.If(lif.o_neuron.valid):
                m.d.comb += [post_wr[k].addr.eq(res.row), post_wr[k].data.eq(new),
                             post_wr[k].en.eq(1)]
            with m.Elif(cfg_wr & (cmd.space == Space.POST) & (cfg_k == k)):
                m.d.comb += [post_wr[k].addr.eq(cfg_row), post_wr[k].data.eq(cmd.data),
                             post_wr[k].en.eq(1)]

        # spiking rows (padding lanes removed) queue for the LTP pass
        spare = p.rows * lanes - p.neurons
        full = (1 << lanes) - 1
        keep = Signal(lanes)
        m.d.comb += keep.eq(Mux(res.row == p.rows - 1, full >> spare, full))
        mask = Cat(res.lanes[l].s for l in range(lanes)) & keep
        m.d.comb += [fifo.w_data.eq(Cat(res.row[:rowb], mask)),
                     fifo.w_en.eq(lif.o_neuron.valid & (mask != 0))]

        # -- readback of the traces ------------------------------------------------------
        cap_pre = Signal(tb)
        cap_post = [Signal(lanes * tb, name=f"cap_post{k}") for k in range(npl)]
        rd_k = Signal.like(cfg_k)
        with m.If(cfg_rd):
            m.d.sync += rd_k.eq(cfg_k)
        with m.If(c["rd_pending"]):
            m.d.sync += [cap_pre.eq(pre_rd.data)] + [cap_post[k].eq(post_rd[k].data)
                                                     for k in range(npl)]
        with m.If(c["rd_select"]):
            with m.Switch(c["rd_space"]):
                with m.Case(Space.PRE):
                    m.d.sync += c["rdata"].payload.eq(cap_pre)
                with m.Case(Space.POST):
                    with m.Switch(rd_k):
                        for k in range(npl):
                            with m.Case(k):
                                m.d.sync += c["rdata"].payload.eq(cap_post[k])
