"""The neuron core: its blocks, instantiated and connected.

Its shape (:class:`~spikefab.shape.core.CoreParams`), the address map of its configuration port
(``spikefab.shape.cfg``) and its cycle formulas (``spikefab.shape.latency``) are pure Python in
``spikefab.shape``; this package is the gateware.
"""

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from spikefab.shape.cfg import cfg_data_bits
from spikefab.shape.core import CoreParams, check_weight_ram
from spikefab.shape.latency import CYCLES_BITS

from .emitter import SpikeEmitter
from .lif import LifPipeline
from .synapse import SynapseArray
from .config import ConfigPort
from .control import StepControl
from .layouts import cfg_layout
from .learning import Learning
from .sweep import UpdateSweep

__all__ = ["Core"]

#: The run-time neuron parameters, from the configuration port to the LIF pipeline.
_NEURON_PARAMS = ("k_u", "k_v", "bias", "threshold", "refractory", "reset_subtract")
#: Those of the adaptive threshold, in a core with one.
_THETA_PARAMS = ("k_theta", "theta_inc")


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
    count is :func:`~spikefab.shape.latency.step_cycles`: with events back to back and no
    backpressure, ``2 * [E > 0] + rows * (E + 1) + UPDATE_LATENCY``.

    Events transferred in the clock of ``start`` belong to the step; ``i_event.ready`` is low
    from the clock after ``start`` until ``done``.

    Configuration (``i_cfg`` / ``o_rdata``, only between steps: ``i_cfg.ready`` is low while
    the core is busy): a write takes effect in its transfer clock; a read answers on
    ``o_rdata`` three clocks after its transfer and holds until taken, and no command is
    accepted meanwhile. Spaces are :class:`~spikefab.shape.cfg.Space`, neuron parameters
    :class:`~spikefab.shape.cfg.Param`. ``u, v, r`` start at 0, the weights and parameters at
    the values of ``params``.

    Blocks (each in its own file): :class:`~spikefab.hdl.core.synapse.SynapseArray` (weights and
    accumulators, the event phase), :class:`~.control.StepControl` (phases, cycle count),
    :class:`~.sweep.UpdateSweep` (neuron state, the update sweep) around
    :class:`~spikefab.hdl.core.lif.LifPipeline`, :class:`~spikefab.hdl.core.emitter.SpikeEmitter`,
    :class:`~.config.ConfigPort` (commands, parameter registers, readback) and, in a plastic
    core, :class:`~.learning.Learning` (STDP).

    Memories: weights (``rows * A`` x ``lanes * W_BITS``), accumulators (``rows`` x
    ``lanes * acc_bits``), neuron state (``rows`` x ``lanes * (U + V + refractory_bits)``),
    and the emitter's FIFO (``rows + 1`` x ``row bits + lanes``); a plastic core adds the
    traces and the LTP row FIFO (:class:`~.learning.Learning`).

    Parameters
    ----------
    params : CoreParams
    weight_ram : str
        Kind of weight memory (:data:`~spikefab.shape.core.WEIGHT_RAMS`): ``"dual"``
        (inferred block RAM), ``"single"`` (behavioural single-port model), ``"ice40_spram"``
        (UP5K ``SB_SPRAM256KA``; no initial contents: weights are loaded through the
        configuration port) or ``"banked"`` (dual port, pipelined for a large ECP5).
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
        """The kind of weight memory (argument of :func:`~spikefab.shape.latency.step_cycles`)."""
        return self._ram

    def elaborate(self, platform):
        p = self._p
        m = Module()
        m.submodules.synapses = syn = SynapseArray(p, self._ram)
        m.submodules.lif = lif = LifPipeline(p, self._delay_ram)
        m.submodules.emitter = emit = SpikeEmitter(p)
        m.submodules.control = ctl = StepControl(p)
        m.submodules.sweep = sweep = UpdateSweep(p)
        m.submodules.config = cfg = ConfigPort(p, self._ram, mux_first=self._delay_ram)

        wiring.connect(m, wiring.flipped(self.i_event), syn.i_event)
        wiring.connect(m, wiring.flipped(self.o_spike), emit.o_spike)
        wiring.connect(m, wiring.flipped(self.i_cfg), cfg.i_cfg)
        wiring.connect(m, wiring.flipped(self.o_rdata), cfg.o_rdata)
        m.d.comb += [
            ctl.start.eq(self.start), ctl.hold.eq(self.i_cfg.valid), ctl.cfg_go.eq(cfg.go),
            ctl.syn_busy.eq(syn.busy), ctl.lif_busy.eq(lif.busy), ctl.emit_idle.eq(emit.idle),
            syn.enable.eq(ctl.enable), syn.ext.eq(ctl.ext),
            self.done.eq(ctl.done), self.busy.eq(ctl.busy), self.cycles.eq(ctl.cycles),
            sweep.phase.eq(ctl.phase), sweep.row.eq(ctl.row),
        ]
        # The configuration port's ``idle`` from a register: the core was idle last clock and
        # took no event then (a waiting command holds the events back, so idle stays idle), and
        # no ``start`` comes this clock. Exact when it says idle; at most one clock late after
        # the core drains. The busy flags of every pipeline then stay out of the port's
        # ``ready`` and of the memories' write enables behind it (issue #19: ``cfg.ready``).
        idle_r = Signal()
        m.d.sync += idle_r.eq(ctl.idle & ~(self.i_event.valid & self.i_event.ready))
        m.d.comb += cfg.idle.eq(idle_r & ~self.start)
        m.d.comb += [getattr(lif, name).eq(getattr(cfg, name)) for name in _NEURON_PARAMS
                     + (_THETA_PARAMS if p.theta_bits else ())]

        # the update sweep: control -> state and accumulators -> LIF -> state, emitter
        wiring.connect(m, ctl.o_issue, sweep.i_issue)
        wiring.connect(m, sweep.o_neuron, lif.i_neuron)
        wiring.connect(m, sweep.o_row, emit.i_row)
        wiring.connect(m, sweep.acc_rd, syn.acc_rd)
        wiring.connect(m, sweep.acc_wr, syn.acc_wr)
        # the configuration port's accesses
        wiring.connect(m, cfg.state_rd, sweep.cfg_state_rd)
        wiring.connect(m, cfg.state_wr, sweep.cfg_state_wr)
        wiring.connect(m, cfg.acc_rd, sweep.cfg_acc_rd)
        wiring.connect(m, cfg.acc_wr, sweep.cfg_acc_wr)
        wiring.connect(m, lif.o_neuron, sweep.i_result)
        if not p.plastic:
            wiring.connect(m, cfg.weight, syn.weight)
            return m

        m.submodules.learning = learn = Learning(p, self._ram, self._delay_ram)
        wiring.connect(m, cfg.weight, learn.cfg_weight)
        wiring.connect(m, learn.weight, syn.weight)
        wiring.connect(m, learn.update, syn.update)
        wiring.connect(m, syn.o_ltd, learn.i_ltd)
        wiring.connect(m, cfg.pre_rd, learn.cfg_pre_rd)
        wiring.connect(m, cfg.pre_wr, learn.cfg_pre_wr)
        for k in range(len(p.plastic_groups)):
            wiring.connect(m, cfg.post_rd[k], learn.cfg_post_rd[k])
            wiring.connect(m, cfg.post_wr[k], learn.cfg_post_wr[k])
        m.d.comb += [
            learn.phase.eq(ctl.phase), learn.row.eq(ctl.row), learn.ev_row.eq(syn.ev_row),
            learn.learn.eq(cfg.learn),
            # taps (always-ready streams fan out by plain assignment: ``connect`` would join
            # their ``ready`` outputs): the LIF results, and the events the synapses take
            learn.i_result.valid.eq(lif.o_neuron.valid),
            learn.i_result.payload.eq(lif.o_neuron.payload),
            learn.i_delivered.valid.eq(self.i_event.valid & self.i_event.ready),
            learn.i_delivered.payload.eq(self.i_event.payload),
            ctl.unit_busy.eq(learn.unit_busy), ctl.sweep_busy.eq(learn.sweep_busy),
            ctl.ltp_busy.eq(learn.ltp_busy),
        ]
        return m
