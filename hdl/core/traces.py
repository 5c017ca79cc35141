"""The STDP traces of a plastic core: pre traces (one per plastic axon slot, swept after the
event phase) and post traces (one per neuron and plastic group, beside the LIF pipeline)."""

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory, ReadPort, WritePort
from amaranth.lib.wiring import In, Out

from spikefab.shape.latency import LIF_LATENCY, TRACE_STAGES

from ..delay import DelayLine
from .lif import lif_out_layout
from .stdp import TraceUpdate, learn_layout
from .control import Phase
from .groups import group_of_slot, select, slot_of
from .layouts import addr_bits, check_params

__all__ = ["PreTraces", "PostTraces"]


def _learn(p):
    return In(data.ArrayLayout(learn_layout(p.weight_bits, p.trace_bits, p.modulated),
                               len(p.plastic_groups)))


class PreTraces(wiring.Component):
    """The pre traces: a delivered plastic event flags its slot; after the event phase every
    slot is swept once, ``x = decay(x, d_pre)``, then ``usat(x + x_inc)`` where flagged.

    The sweep starts in the first clock of the update phase and takes one slot per clock
    (``P_A`` clocks, :data:`~spikefab.shape.latency.TRACE_STAGES` ``+ 1`` more until its last
    write); ``busy`` is high from the update phase's start until then. In the LTP phase the
    trace of ``ltp_slot`` is read (``trace``, one clock later) for the column pass; between
    steps the configuration port reads and writes the traces (a write also clears the flag).

    Infers two memories of ``max(P_A, 2)`` words: the traces (``T_BITS``) and the flags
    (1 bit), both with registered reads; one :class:`~spikefab.hdl.core.stdp.TraceUpdate`.

    Parameters
    ----------
    params : CoreParams

    Members
    -------
    phase : In(Phase)
    i_delivered : In(stream.Signature(unsigned(bits of A - 1), always_ready=True))
        The events the synapse array takes.
    learn : In(ArrayLayout(learn_layout(W_BITS, T_BITS), plastic groups))
    ltp_slot : In(range(P_A))
    trace : Out(T_BITS)
        The trace read (registered read data).
    busy : Out(1)
    cfg_rd, cfg_wr : Out(ReadPort.Signature(...)), Out(WritePort.Signature(...))
        The configuration port's access.
    """

    def __init__(self, params):
        p = self._p = check_params(params)
        pre = dict(addr_width=addr_bits(p.pre_slots), shape=p.trace_bits)
        super().__init__({
            "phase": In(Phase),
            "i_delivered": In(stream.Signature(unsigned(max(1, (p.axons - 1).bit_length())),
                                               always_ready=True)),
            "learn": _learn(p),
            "ltp_slot": In(range(p.pre_slots)),
            "trace": Out(p.trace_bits),
            "busy": Out(1),
            "cfg_rd": Out(ReadPort.Signature(**pre)),
            "cfg_wr": Out(WritePort.Signature(**pre)),
        })

    def elaborate(self, platform):
        p = self._p
        m = Module()
        tb = p.trace_bits
        m.submodules.pre_traces = pre = Memory(shape=tb, depth=p.pre_slots, init=[])
        pre_rd, pre_wr = pre.read_port(), pre.write_port()
        m.submodules.pre_hits = hits = Memory(shape=1, depth=p.pre_slots, init=[])
        hit_rd, hit_wr = hits.read_port(), hits.write_port()
        updating = self.phase == Phase.UPDATE

        sw_active, sw_slot = Signal(), Signal(range(p.pre_slots))
        sw_started = Signal()
        with m.If(self.phase == Phase.EVENT):
            m.d.sync += sw_started.eq(0)
        with m.If(updating & ~sw_started):
            m.d.sync += [sw_active.eq(1), sw_slot.eq(0), sw_started.eq(1)]
        with m.Elif(sw_active):
            with m.If(sw_slot == p.pre_count - 1):
                m.d.sync += sw_active.eq(0)
            with m.Else():
                m.d.sync += sw_slot.eq(sw_slot + 1)
        sw_k, _ = group_of_slot(p, sw_slot)
        # stage 1: the read data; stages 2-4: TraceUpdate; write in stage 4
        npl = len(p.plastic_groups)
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
        m.d.comb += self.busy.eq(busy | (updating & ~sw_started))
        m.submodules.pre_update = unit = TraceUpdate(1, tb)
        m.d.comb += [unit.i_trace.eq(pre_rd.data),
                     unit.k.eq(select(self.learn, s_k[0], "k_pre"))]
        last = TRACE_STAGES
        new = TraceUpdate.bump(unit.o_decayed, s_hit[last],
                               select(self.learn, s_k[last], "x_inc"), tb)

        sweeping = (self.phase == Phase.UPDATE) | (self.phase == Phase.DRAIN)
        in_ltp = self.phase == Phase.LTP
        m.d.comb += [
            pre_rd.addr.eq(Mux(in_ltp, self.ltp_slot, Mux(sweeping, sw_slot,
                                                          self.cfg_rd.addr))),
            hit_rd.addr.eq(sw_slot),
            self.trace.eq(pre_rd.data),
            self.cfg_rd.data.eq(pre_rd.data),
        ]
        ev = self.i_delivered
        ev_plastic, _, ev_slot = slot_of(p, ev.payload)
        cfg = self.cfg_wr
        with m.If(s_valid[last]):
            m.d.comb += [pre_wr.addr.eq(s_slot[last]), pre_wr.data.eq(new), pre_wr.en.eq(1),
                         hit_wr.addr.eq(s_slot[last]), hit_wr.data.eq(0), hit_wr.en.eq(1)]
        with m.Elif(ev.valid & ev_plastic):
            m.d.comb += [hit_wr.addr.eq(ev_slot), hit_wr.data.eq(1), hit_wr.en.eq(1)]
        with m.Elif(cfg.en):
            # a written trace is the slot's whole state: a spike delivered since the last step
            # (already accumulated and depressed) no longer bumps it ("reset network state")
            m.d.comb += [pre_wr.addr.eq(cfg.addr), pre_wr.data.eq(cfg.data), pre_wr.en.eq(1),
                         hit_wr.addr.eq(cfg.addr), hit_wr.data.eq(0), hit_wr.en.eq(1)]
        return m


class PostTraces(wiring.Component):
    """The post traces of each plastic group: read with the neuron state in the update sweep,
    ``y = decay(y, d_post)`` beside the LIF pipeline, then ``usat(y + y_inc)`` where the
    neuron spiked, written back with the state.

    In the event phase they are read at the synapse array's row (``ev_row``; ``traces`` one
    clock later) for LTD; between steps the configuration port reads and writes them.

    Infers per plastic group one memory of ``rows`` words of ``lanes * T_BITS`` bits
    (registered read), one :class:`~spikefab.hdl.core.stdp.TraceUpdate` and one
    :class:`~spikefab.hdl.delay.DelayLine` of
    :data:`~spikefab.shape.latency.LIF_LATENCY` ``-`` :data:`~spikefab.shape.latency.TRACE_STAGES`
    clocks (block RAM with ``delay_ram``).

    Parameters
    ----------
    params : CoreParams
    delay_ram : bool

    Members
    -------
    phase : In(Phase)
    row : In(range(rows))
        The update sweep's row.
    ev_row : In(range(rows))
        The synapse array's row.
    i_result : In(stream.Signature(lif_out_layout(params), always_ready=True))
    learn : In(ArrayLayout(learn_layout(W_BITS, T_BITS), plastic groups))
    traces : Out(ArrayLayout(unsigned(lanes * T_BITS), plastic groups))
        The traces read (registered read data).
    cfg_rd, cfg_wr : Out(ReadPort.Signature(...)).array(plastic groups), likewise
        The configuration port's access (a read port's ``en``: its address is valid).
    """

    def __init__(self, params, delay_ram=False):
        p = self._p = check_params(params)
        self._delay_ram = delay_ram
        npl = len(p.plastic_groups)
        post = dict(addr_width=addr_bits(p.row_slots), shape=p.lanes * p.trace_bits)
        super().__init__({
            "phase": In(Phase),
            "row": In(range(p.row_slots)),
            "ev_row": In(range(p.row_slots)),
            "i_result": In(stream.Signature(lif_out_layout(p), always_ready=True)),
            "learn": _learn(p),
            "traces": Out(data.ArrayLayout(unsigned(p.lanes * p.trace_bits), npl)),
            "cfg_rd": Out(ReadPort.Signature(**post)).array(npl),
            "cfg_wr": Out(WritePort.Signature(**post)).array(npl),
        })

    def elaborate(self, platform):
        p = self._p
        m = Module()
        lanes, tb = p.lanes, p.trace_bits
        res = self.i_result.payload
        updating = self.phase == Phase.UPDATE
        in_event = self.phase == Phase.EVENT
        delay = LIF_LATENCY - TRACE_STAGES
        for k in range(len(p.plastic_groups)):
            mem = Memory(shape=lanes * tb, depth=p.row_slots, init=[])
            m.submodules[f"post_traces_{k}"] = mem
            rd, wr = mem.read_port(), mem.write_port()
            cfg_rd, cfg_wr, learn = self.cfg_rd[k], self.cfg_wr[k], self.learn[k]
            m.d.comb += [
                rd.addr.eq(Mux(updating, self.row, Mux(in_event & cfg_rd.en, cfg_rd.addr,
                                                       self.ev_row))),
                self.traces[k].eq(rd.data),
                cfg_rd.data.eq(rd.data),
            ]
            m.submodules[f"post_update_{k}"] = tu = TraceUpdate(lanes, tb)
            m.d.comb += [tu.i_trace.eq(rd.data), tu.k.eq(learn.k_post)]
            m.submodules[f"post_delay_{k}"] = pd = DelayLine(lanes * tb, delay,
                                                             self._delay_ram)
            m.d.comb += pd.i.eq(tu.o_decayed)
            dec = pd.o
            new = Cat(TraceUpdate.bump(dec[l * tb:(l + 1) * tb], res.lanes[l].s,
                                       learn.y_inc, tb)[:tb] for l in range(lanes))
            with m.If(self.i_result.valid):
                m.d.comb += [wr.addr.eq(res.row), wr.data.eq(new), wr.en.eq(1)]
            with m.Elif(cfg_wr.en):
                m.d.comb += [wr.addr.eq(cfg_wr.addr), wr.data.eq(cfg_wr.data), wr.en.eq(1)]
        return m
