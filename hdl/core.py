"""The neuron core: synapse array, LIF pipeline, spike emitter and step control, composed."""

import enum

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from spikefab.golden.fixed import DECAY_ONE

from .emitter import EMIT_LATENCY, SpikeEmitter
from .lif import LIF_LATENCY, LifPipeline
from .params import CoreParams
from .synapse import EVENT_TAIL, SynapseArray, check_weight_ram

__all__ = ["Space", "Param", "CYCLES_BITS", "UPDATE_LATENCY", "cfg_layout", "state_layout",
           "cfg_data_bits", "step_cycles", "update_start", "Core"]

#: Width of the per-step cycle counter.
CYCLES_BITS = 32
#: Clocks of a step beyond one per row per event and one per row of the update sweep: the
#: hand-over from ``start`` (1), the state read (1), the LIF pipeline, the emitter's hand-over
#: of the last row, and the ``done`` clock (1).
UPDATE_LATENCY = 1 + 1 + LIF_LATENCY + EMIT_LATENCY + 1
#: Clocks that the drain phase waits after the last row at least (so that the step length does
#: not depend on whether the last row spiked).
_DRAIN = LIF_LATENCY + EMIT_LATENCY + 1


class Space(enum.IntEnum):
    """Address spaces of the configuration port."""
    #: Weight words: address ``row * A + axon``, data ``lanes * W_BITS`` bits (lane ``l`` in
    #: bits ``[l * W, (l + 1) * W)``, two's complement).
    WEIGHT = 0
    #: Neuron state words: address ``row``, data ``lanes`` times ``{u, v, r}`` (:func:`state_layout`).
    STATE = 1
    #: Accumulators: address ``row``, data ``lanes * acc_bits`` bits.
    ACC = 2
    #: Neuron parameters: address a :class:`Param`.
    PARAM = 3


class Param(enum.IntEnum):
    """Addresses of the neuron parameters in :attr:`Space.PARAM` (two's complement of the
    register width on readback: ``V_BITS - 1``, ``V_BITS``, 13, 13, ``refractory_bits``, 1)."""
    THRESHOLD = 0
    BIAS = 1
    DU = 2
    DV = 3
    REFRACTORY = 4
    RESET_SUBTRACT = 5


def state_layout(p):
    """One state word: per lane ``{u, v, r}`` (``u`` in the low bits)."""
    return data.ArrayLayout(data.StructLayout({
        "u": signed(p.current_bits), "v": signed(p.voltage_bits),
        "r": unsigned(p.refractory_bits)}), p.lanes)


def cfg_data_bits(p):
    """Width of the configuration data bus: the widest word of any space."""
    return max(p.lanes * p.weight_bits, p.lanes * p.state_bits, p.lanes * p.acc_bits,
               p.voltage_bits, 13, p.refractory_bits)


def cfg_layout(p):
    """One configuration command: write (1) or read (0), space, address, write data."""
    addr_bits = max(3, (p.weight_depth - 1).bit_length(), (p.rows - 1).bit_length())
    return data.StructLayout({"write": 1, "space": 2, "addr": unsigned(addr_bits),
                              "data": unsigned(cfg_data_bits(p))})


def step_cycles(p, events, last_spike=None):
    """The cycle count that :class:`Core` reports for one step (the latency formula).

    Parameters
    ----------
    p : CoreParams
    events : int
        ``E``, events delivered in the step, fed back to back (no gap between transfers) and
        with ``start`` no later than the clock after the last event transfer.
    last_spike : int or None
        Clock, counted from the first clock of the update phase (0), in which the step's last
        spike transfer happened; None if the step emitted no spike.

    Returns
    -------
    int
        ``EVENT_TAIL * [E > 0] + rows * E + max(rows + UPDATE_LATENCY, last_spike + 3)``
        with ``EVENT_TAIL = 2``.
        With ``o_spike.ready`` always high and at most one spiking lane per row (always so for
        ``lanes = 1``), the second term of the ``max`` never wins, and a step costs exactly
        ``2 * [E > 0] + rows * (E + 1) + UPDATE_LATENCY`` clocks: one clock per synaptic event per
        ``lanes`` synapses, one clock per ``lanes`` neuron updates.
    """
    upd = p.rows + UPDATE_LATENCY
    if last_spike is not None:
        upd = max(upd, last_spike + 3)
    return EVENT_TAIL * int(events > 0) + p.rows * events + upd


def update_start(p, events, first_event, start):
    """Clock of the first update-sweep clock, given the clock of the first event transfer
    (events back to back, ``start`` no later than the clock after the last) or, with no
    events, the clock of ``start``."""
    if events:
        return first_event + p.rows * events + EVENT_TAIL + 2
    return start + 2


class _Phase(enum.IntEnum):
    EVENT = 0
    UPDATE = 1
    DRAIN = 2


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
        Kind of weight memory (:data:`~spikefab.hdl.synapse.WEIGHT_RAMS`): ``"dual"``
        (inferred block RAM), ``"single"`` (behavioural single-port model) or
        ``"ice40_spram"`` (UP5K ``SB_SPRAM256KA``; no initial contents: weights are loaded
        through the configuration port).

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

    def __init__(self, params, weight_ram="dual"):
        if not isinstance(params, CoreParams):
            raise TypeError(f"Params must be a CoreParams, not {params!r}")
        self._p = params
        p = params
        self._ram = check_weight_ram(weight_ram, p.lanes * p.weight_bits, p.weight_slots)
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

    def elaborate(self, platform):
        p = self._p
        m = Module()
        m.submodules.synapses = syn = SynapseArray(p, self._ram)
        m.submodules.lif = lif = LifPipeline(p)
        m.submodules.emitter = emit = SpikeEmitter(p)
        st_layout = state_layout(p)
        m.submodules.state = state = Memory(shape=st_layout, depth=p.row_slots, init=[])
        st_rd = state.read_port()
        st_wr = state.write_port()

        wiring.connect(m, wiring.flipped(self.o_spike), emit.o_spike)

        # -- neuron parameters (run-time registers) ---------------------------------------
        threshold = Signal(unsigned(max(1, p.voltage_bits - 1)), init=p.threshold)
        bias = Signal(signed(p.voltage_bits), init=p.bias)
        k_u = Signal(unsigned(13), init=DECAY_ONE - p.du)
        k_v = Signal(unsigned(13), init=DECAY_ONE - p.dv)
        refractory = Signal(unsigned(p.refractory_bits), init=p.refractory)
        reset_sub = Signal(init=int(p.reset_subtract))
        m.d.comb += [lif.threshold.eq(threshold), lif.bias.eq(bias), lif.k_u.eq(k_u),
                     lif.k_v.eq(k_v), lif.refractory.eq(refractory),
                     lif.reset_subtract.eq(reset_sub)]

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

        m.d.comb += [
            syn.i_event.valid.eq(self.i_event.valid),
            syn.i_event.payload.eq(self.i_event.payload),
            self.i_event.ready.eq(syn.i_event.ready),
            syn.enable.eq(in_event & ~start_pending & ~cfg.valid),
        ]
        with m.If(in_event & self.start):
            m.d.sync += start_pending.eq(1)

        m.d.sync += [issue_valid.eq(0), issue_row.eq(upd_row)]
        done = Signal()
        with m.Switch(phase):
            with m.Case(_Phase.EVENT):
                with m.If(start_pending & ~syn.busy):
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
                with m.Elif(~issue_valid & ~lif.busy & emit.idle):
                    m.d.comb += done.eq(1)
                    m.d.sync += phase.eq(_Phase.EVENT)

        # update sweep: read state and read-and-clear the accumulator row, one row per clock
        updating = phase == _Phase.UPDATE
        m.d.comb += [
            syn.ext.eq(~in_event | cfg_go),
            st_rd.addr.eq(Mux(updating, upd_row, cfg.payload.addr)),
            syn.x_a_addr.eq(Mux(updating, upd_row, cfg.payload.addr)),
            syn.x_w_addr.eq(cfg.payload.addr),
        ]
        with m.If(updating):
            m.d.comb += [syn.x_a_wen.eq(1), syn.x_a_wdata.eq(0)]
        old = data.View(st_layout, st_rd.data)
        m.d.comb += [lif.i_neuron.valid.eq(issue_valid), lif.i_neuron.payload.row.eq(issue_row)]
        for lane in range(p.lanes):
            li = lif.i_neuron.payload.lanes[lane]
            m.d.comb += [li.u.eq(old[lane].u), li.v.eq(old[lane].v), li.r.eq(old[lane].r),
                         li.a.eq(syn.x_a_rdata[lane])]

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
        busy = syn.busy | start_pending | ~in_event
        m.d.comb += [self.busy.eq(busy), self.done.eq(done)]
        with m.If(done):
            m.d.sync += [self.cycles.eq(count + 1), count.eq(0)]
        with m.Elif(busy):
            m.d.sync += count.eq(count + 1)

        # -- configuration port -----------------------------------------------------------
        rd_pending = Signal()
        rd_select = Signal()
        rd_space = Signal(2)
        rd_param = Signal(cfg_data_bits(p))
        rdata = self.o_rdata
        m.d.comb += [
            cfg.ready.eq(in_event & ~syn.busy & ~start_pending & ~self.start & ~rd_pending
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
                        with m.Case(Param.THRESHOLD):
                            m.d.sync += threshold.eq(d)
                        with m.Case(Param.BIAS):
                            m.d.sync += bias.eq(d)
                        with m.Case(Param.DU):
                            m.d.sync += k_u.eq(DECAY_ONE - d[:13])
                        with m.Case(Param.DV):
                            m.d.sync += k_v.eq(DECAY_ONE - d[:13])
                        with m.Case(Param.REFRACTORY):
                            m.d.sync += refractory.eq(d)
                        with m.Case(Param.RESET_SUBTRACT):
                            m.d.sync += reset_sub.eq(d)
        with m.If(cfg_go & ~cfg.payload.write):
            m.d.sync += [rd_pending.eq(1), rd_space.eq(cfg.payload.space)]
            with m.Switch(cfg.payload.addr):
                with m.Case(Param.THRESHOLD):
                    m.d.sync += rd_param.eq(threshold)
                with m.Case(Param.BIAS):
                    m.d.sync += rd_param.eq(bias.as_unsigned())
                with m.Case(Param.DU):
                    m.d.sync += rd_param.eq(DECAY_ONE - k_u)
                with m.Case(Param.DV):
                    m.d.sync += rd_param.eq(DECAY_ONE - k_v)
                with m.Case(Param.REFRACTORY):
                    m.d.sync += rd_param.eq(refractory)
                with m.Case(Param.RESET_SUBTRACT):
                    m.d.sync += rd_param.eq(reset_sub)
                with m.Default():
                    m.d.sync += rd_param.eq(0)
        # The memories' read data go straight into capture registers (block RAM clock-to-out
        # leaves no room for the space multiplexer in the same clock); the multiplexer works
        # one clock later.
        cap_w = Signal.like(syn.x_w_rdata)
        cap_s = Signal.like(st_rd.data)
        cap_a = Signal.like(syn.x_a_rdata)
        with m.If(rd_pending):
            m.d.sync += [rd_pending.eq(0), rd_select.eq(1), cap_w.eq(syn.x_w_rdata),
                         cap_s.eq(st_rd.data), cap_a.eq(syn.x_a_rdata)]
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
        return m
