"""The step controller of a core: phases, start, update-row issue, drain, done, cycle count."""

import enum

from amaranth.hdl import Module, Mux, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from spikefab.shape.latency import CYCLES_BITS, DRAIN_LATENCY

from .layouts import check_params, issue_layout

__all__ = ["Phase", "StepControl"]


class Phase(enum.IntEnum):
    """Phases of a step."""
    #: Events are delivered; configuration commands are taken between steps.
    EVENT = 0
    #: One row per clock is issued to the update sweep.
    UPDATE = 1
    #: The LIF pipeline (and the pre-trace sweep) empty.
    DRAIN = 2
    #: The LTP column pass of a plastic core.
    LTP = 3


class StepControl(wiring.Component):
    """Sequences a step: ``EVENT`` until ``start`` and the last event, then ``UPDATE`` (one
    row per clock), ``DRAIN`` and, in a plastic core, ``LTP``; ``done`` ends the step.

    ``start`` in the event phase is kept pending; once the synapse array and the weight update
    are idle the phase turns to ``UPDATE`` and rows ``0 .. rows - 1`` are issued one per clock:
    ``row`` is the row read this clock (state and accumulators have registered reads), and
    ``o_issue`` carries it one clock later, with each lane's neuron parameter set, when the
    read data is there. ``DRAIN`` then waits
    :data:`~spikefab.shape.latency.DRAIN_LATENCY` clocks and for the LIF pipeline to empty, then
    for the spike emitter (static core) or the pre-trace sweep (plastic core, whose ``LTP``
    phase then waits for the column pass, the weight update and the emitter). ``done`` pulses
    in the last clock of the step; ``cycles`` then holds the clocks the step kept the core
    busy (``busy``: an event in flight, ``start`` pending, or any phase but ``EVENT``); the
    count is :func:`~spikefab.shape.latency.step_cycles`.

    Infers no memory; its latency is that of the step (a few registers: phase, row, drain
    counter, cycle counter).

    Parameters
    ----------
    params : CoreParams

    Members
    -------
    start : In(1)
        The step's events are all given (taken in ``EVENT`` only).
    hold : In(1)
        A configuration command is waiting: events pause.
    cfg_go : In(1)
        A configuration command transfers this clock.
    syn_busy, unit_busy, lif_busy, sweep_busy, ltp_busy : In(1)
        Status of the synapse array, the weight update, the LIF pipeline, the pre-trace sweep
        and the LTP column pass (the last three of a plastic core; 0 otherwise).
    emit_idle : In(1)
        The spike emitter has nothing left to send.
    phase : Out(Phase)
    row : Out(range(rows))
        The row the update sweep reads this clock.
    o_issue : Out(stream.Signature(issue_layout(params), always_ready=True))
        The row whose state and accumulators are read out this clock.
    enable : Out(1)
        The synapse array may take events.
    ext : Out(1)
        The synapse array's memories belong to the external ports (update phase, commands).
    idle : Out(1)
        Between steps, nothing in flight: a configuration command may be taken.
    done, busy : Out(1)
    cycles : Out(unsigned(CYCLES_BITS))
    """

    def __init__(self, params):
        self._p = check_params(params)
        super().__init__({
            "start": In(1), "hold": In(1), "cfg_go": In(1),
            "syn_busy": In(1), "unit_busy": In(1), "lif_busy": In(1), "sweep_busy": In(1),
            "ltp_busy": In(1), "emit_idle": In(1),
            "phase": Out(Phase),
            "row": Out(range(params.row_slots)),
            "o_issue": Out(stream.Signature(issue_layout(params), always_ready=True)),
            "enable": Out(1), "ext": Out(1), "idle": Out(1),
            "done": Out(1), "busy": Out(1), "cycles": Out(unsigned(CYCLES_BITS)),
        })

    def elaborate(self, platform):
        p = self._p
        m = Module()
        phase = self.phase
        start_pending = Signal()
        upd_row = self.row
        issue = self.o_issue
        drain = Signal(range(DRAIN_LATENCY + 1))
        in_event = phase == Phase.EVENT
        m.d.comb += [
            self.enable.eq(in_event & ~start_pending & ~self.hold),
            self.ext.eq(~in_event | self.cfg_go),
            self.idle.eq(in_event & ~self.syn_busy & ~self.unit_busy & ~start_pending
                         & ~self.start),
        ]
        with m.If(in_event & self.start):
            m.d.sync += start_pending.eq(1)

        m.d.sync += [issue.valid.eq(0), issue.payload.row.eq(upd_row)]
        # the parameter set of each lane of the issued row: local neuron row * lanes + lane is
        # in set k >= 1 when row >= ceil((first_k - lane) / lanes), one comparison per bound
        for lane in range(p.lanes):
            idx = 0
            for k, ns in enumerate(p.neuron_sets[1:], 1):
                bound = max(0, -(-(ns.first - lane) // p.lanes))
                idx = Mux(upd_row >= bound, k, idx)
            m.d.sync += issue.payload.set[lane].eq(idx)
        done = Signal()
        with m.Switch(phase):
            with m.Case(Phase.EVENT):
                with m.If(start_pending & ~self.syn_busy & ~self.unit_busy):
                    m.d.sync += [phase.eq(Phase.UPDATE), start_pending.eq(0), upd_row.eq(0)]
            with m.Case(Phase.UPDATE):
                m.d.sync += issue.valid.eq(1)
                with m.If(upd_row == p.rows - 1):
                    m.d.sync += [phase.eq(Phase.DRAIN), drain.eq(DRAIN_LATENCY)]
                with m.Else():
                    m.d.sync += upd_row.eq(upd_row + 1)
            with m.Case(Phase.DRAIN):
                with m.If(drain != 0):
                    m.d.sync += drain.eq(drain - 1)
                with m.Elif(~issue.valid & ~self.lif_busy & (~self.sweep_busy if p.plastic
                                                             else self.emit_idle)):
                    if p.plastic:
                        m.d.sync += phase.eq(Phase.LTP)
                    else:
                        m.d.comb += done.eq(1)
                        m.d.sync += phase.eq(Phase.EVENT)
            with m.Case(Phase.LTP):
                with m.If(~self.ltp_busy & ~self.unit_busy & self.emit_idle):
                    m.d.comb += done.eq(1)
                    m.d.sync += phase.eq(Phase.EVENT)

        # the cycle counter
        count = Signal(CYCLES_BITS)
        busy = self.syn_busy | self.unit_busy | start_pending | ~in_event
        m.d.comb += [self.busy.eq(busy), self.done.eq(done)]
        with m.If(done):
            m.d.sync += [self.cycles.eq(count + 1), count.eq(0)]
        with m.Elif(busy):
            m.d.sync += count.eq(count + 1)
        return m
