"""The link's step runner: steps in the background, their outputs queued for the host."""

from amaranth.hdl import Cat, Const, Module, ResetInserter, Signal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from spikefab.shape.latency import CYCLES_BITS

from ..network import input_layout, network_cfg_layout
from ..router import host_event_layout
from .rates import RateGenerator
from ..memory import Fifo

__all__ = ["pad16", "StepRunner"]


def pad16(v):
    """``v`` zero-extended to 16 bits (a host id, a step tag: 2 bytes on the link)."""
    v = Value.cast(v)
    return Cat(v, Const(0, 16 - len(v))) if len(v) < 16 else v


class StepRunner(wiring.Component):
    """Feeds the network top input channels and step ends, and queues what the steps give
    back: output events ``host id(16) step tag(16)`` and per-step cycle counts.

    Steps queued on ``run`` are started one at a time (a step's end word on ``o_input``)
    while the cycle queue has room for their counts, so no count is ever dropped; the
    output-event queue applies backpressure to the network top. ``o_input`` leaves from a
    one-word buffer, so that the network top's ready (through the router's arbiter) never
    reaches the executor's state in the same clock: an input channel or a step's end word is
    loaded when the buffer is free. ``clear`` empties the queues and forgets the steps.

    With a rate generator (``params.rate_bits``, :class:`~.rates.RateGenerator`) queued
    presentations run too: the generator owns ``o_input`` and ``o_cfg`` while one runs, its
    steps' barriers are its own, and each presentation queues one cycle count (its clocks)
    instead of one per step.

    Memories: the output-event queue (``out_depth`` x 32) and the cycle-count queue
    (``cycles_depth`` x 32), and the generator's. With ``registered`` (a network on banked weight memories: a
    large ECP5 whose block RAMs are far from the transmitter) the queues' heads are
    registered first, so that the block RAM's clock-to-out and the trip across the chip get
    a clock of their own; a head is then valid a clock after the previous one is taken.

    Parameters
    ----------
    params : NetworkParams
    out_depth, cycles_depth : int
    registered : bool

    Members
    -------
    o_input : Out(stream.Signature(input_layout(params)))
    i_output : In(stream.Signature(host_event_layout(params.router)))
    busy, done : In(1)
    cycles : In(CYCLES_BITS)
        The network top's status (a step's count is valid a clock after its ``done``).
    i_channel : In(stream.Signature(16))
        An input channel that spikes in the next step.
    run : In(16)
        Steps to queue this clock.
    clear : In(1)
    running : Out(1)
        Steps are queued, in flight or running, or presentations queued.
    outstanding : Out(16)
        Steps queued or in flight, plus presentations queued or running.
    rate_w_addr, rate_w_data, rate_w_en, present, present_steps : In
        With a generator: its intensity write port, presentations queued this clock, their
        steps.
    presenting : Out(1)
        With a generator: presentations are queued or running.
    rate_queued, rate_wslot : Out
        The generator's ``queued`` and ``wslot``.
    o_cfg : Out(stream.Signature(network_cfg_layout(params)))
        With a generator: its clear walk.
    o_events, o_cycles : Out(stream.Signature(32))
        The queues' heads. Without ``registered`` a head is valid whenever the queue's
        level is non-zero; the executor takes only as many as a snapshot of the level says.
    event_level, cycle_level : Out(range(depth + 1))
    event : Out(1)
        An output event is queued this clock.
    """

    def __init__(self, params, out_depth=256, cycles_depth=64, registered=False):
        self._p = p = params
        self.out_depth, self.cycles_depth = out_depth, cycles_depth
        self.registered = bool(registered)
        rates = {}
        if p.rate_bits:
            self.generator = RateGenerator(p)
            S, W = self.generator.slots, self.generator.slots * self.generator.stride
            rates = {"rate_w_addr": In(range(W)), "rate_w_data": In(8), "rate_w_en": In(1),
                     "present": In(range(S + 1)), "present_steps": In(16),
                     "rate_queued": Out(range(S + 1)), "rate_wslot": Out(range(S)),
                     "presenting": Out(1),
                     "o_cfg": Out(stream.Signature(network_cfg_layout(p)))}
        else:
            self.generator = None
        super().__init__({
            **rates,
            "o_input": Out(stream.Signature(input_layout(p))),
            "i_output": In(stream.Signature(host_event_layout(p.router))),
            "busy": In(1),
            "done": In(1),
            "cycles": In(CYCLES_BITS),
            "i_channel": In(stream.Signature(16)),
            "run": In(16),
            "clear": In(1),
            "running": Out(1),
            "outstanding": Out(16),
            "o_events": Out(stream.Signature(32)),
            "o_cycles": Out(stream.Signature(CYCLES_BITS)),
            "event_level": Out(range(out_depth + 1)),
            "cycle_level": Out(range(cycles_depth + 1)),
            "event": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        clear = self.clear
        ofifo = Fifo(width=32, depth=self.out_depth)
        cfifo = Fifo(width=CYCLES_BITS, depth=self.cycles_depth)
        m.submodules.ofifo = ResetInserter(clear)(ofifo)
        m.submodules.cfifo = ResetInserter(clear)(cfifo)
        o_head, c_head = ofifo.r_data, cfifo.r_data
        o_ok, c_ok = ofifo.r_rdy, cfifo.r_rdy
        if self.registered:
            o_head, c_head = Signal.like(ofifo.r_data), Signal.like(cfifo.r_data)
            o_ok, c_ok = Signal(), Signal()
            m.d.sync += [o_head.eq(ofifo.r_data), c_head.eq(cfifo.r_data),
                         o_ok.eq(ofifo.r_rdy & ~ofifo.r_en), c_ok.eq(cfifo.r_rdy & ~cfifo.r_en)]
        m.d.comb += [self.o_events.payload.eq(o_head), self.o_events.valid.eq(o_ok),
                     ofifo.r_en.eq(self.o_events.ready),
                     self.o_cycles.payload.eq(c_head), self.o_cycles.valid.eq(c_ok),
                     cfifo.r_en.eq(self.o_cycles.ready),
                     self.event_level.eq(ofifo.r_level), self.cycle_level.eq(cfifo.r_level)]

        gen = self.generator
        if gen is not None:
            m.submodules.generator = gen = ResetInserter(clear)(gen)
            queued, active = gen.queued, gen.active
            m.d.comb += [gen.w_addr.eq(self.rate_w_addr), gen.w_data.eq(self.rate_w_data),
                         gen.w_en.eq(self.rate_w_en), gen.add.eq(self.present),
                         gen.steps.eq(self.present_steps), gen.done.eq(self.done),
                         gen.room.eq(cfifo.level < self.cycles_depth - 1),
                         self.rate_queued.eq(gen.queued), self.rate_wslot.eq(gen.wslot)]
            wiring.connect(m, gen.o_cfg, wiring.flipped(self.o_cfg))
            m.d.comb += self.presenting.eq(queued != 0)
        pending = Signal(16)
        inflight = Signal(2)
        running = (pending != 0) | (inflight != 0) | self.busy
        outstanding = pending + inflight
        # a barrier of a presentation's step is the generator's
        step_done = self.done
        if gen is not None:
            running = running | (queued != 0)
            outstanding = outstanding + queued
            step_done = self.done & ~active
        m.d.comb += [self.running.eq(running), self.outstanding.eq(outstanding[:16])]
        # ``level + inflight < depth - 1`` as one comparison with a constant per value of
        # ``inflight``: no adder between the queue's level and ``pending``
        room = Signal()
        with m.Switch(inflight):
            for k in range(4):
                with m.Case(k):
                    m.d.comb += room.eq(cfifo.level < self.cycles_depth - 1 - k)
        ob_valid = Signal()
        ob = Signal(input_layout(self._p))
        push_end = Signal()
        m.d.comb += push_end.eq((pending != 0) & room & ~ob_valid)
        with m.If(clear):
            m.d.sync += [pending.eq(0), inflight.eq(0)]
        with m.Else():
            # RUN is taken only while nothing runs (``pending`` is 0): an end word and a RUN
            # never meet, and the end word's decrement needs no adder after ``room``
            with m.If(push_end):
                m.d.sync += pending.eq(pending - 1)
            with m.Else():
                m.d.sync += pending.eq(pending + self.run)
            m.d.sync += inflight.eq(inflight + push_end - step_done)
        done_d = Signal()                  # ``cycles`` holds the step's count one clock later
        m.d.sync += done_d.eq(step_done & ~clear)
        m.d.comb += [cfifo.w_data.eq(self.cycles), cfifo.w_en.eq(done_d)]
        if gen is not None:
            with m.If(gen.count_valid):
                m.d.comb += [cfifo.w_data.eq(gen.count), cfifo.w_en.eq(~clear)]
        o = self.i_output
        m.d.comb += [ofifo.w_data.eq(Cat(pad16(o.payload.neuron), pad16(o.payload.step))),
                     ofifo.w_en.eq(o.valid), o.ready.eq(ofifo.w_rdy),
                     self.event.eq(o.valid & o.ready)]

        inp = self.o_input
        m.d.comb += [inp.valid.eq(ob_valid), inp.payload.eq(ob),
                     self.i_channel.ready.eq(~ob_valid)]
        if gen is not None:
            # the executor takes no INPUT or RUN while presentations are queued: the
            # generator's words and the buffer's never meet
            with m.If(gen.o_input.valid):
                m.d.comb += [inp.valid.eq(1), inp.payload.eq(gen.o_input.payload)]
            m.d.comb += gen.o_input.ready.eq(inp.ready)
        with m.If(inp.valid & inp.ready):
            m.d.sync += ob_valid.eq(0)
        with m.If(push_end):
            m.d.sync += [ob_valid.eq(1), ob.end.eq(1), ob.channel.eq(0)]
        with m.If(self.i_channel.valid & self.i_channel.ready):
            m.d.sync += [ob_valid.eq(1), ob.end.eq(0), ob.channel.eq(self.i_channel.payload)]
        with m.If(clear):
            m.d.sync += ob_valid.eq(0)
        return m
