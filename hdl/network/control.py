"""The network's step controller: the step barrier, the start of each step, the host inputs."""

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from spikefab.shape.latency import CYCLES_BITS
from spikefab.shape.network import NetworkParams, input_fields

from ..layouts import struct

__all__ = ["StepController"]


class StepController(wiring.Component):
    """Starts each step and finds its barrier; passes the host's input words of a step.

    Step ``t`` starts (``start``, one clock) the clock after its end word (``end = 1``) has
    been taken from ``i_input``, every core has reported ``done`` for step ``t - 1``, the
    router is ``idle`` and no configuration command is pending (``hold``). It ends at the
    barrier, the clock after every core is done and the router idle (``BARRIER_LATENCY``:
    the condition is registered, so that the router's state decode reaches one flip-flop and
    not the step counter, the host link and every core): ``done`` pulses in that clock,
    ``steps`` becomes ``t + 1`` and ``cycles`` (from the next clock) the clocks from step
    ``t``'s start to its barrier. Nothing can undo the condition in between: a done core
    emits nothing more, and the next step's inputs are the next step's whenever they enter.
    ``busy`` is high from a start to its barrier; ``tag`` is the number of the running step,
    for the router's host events. The input words of a step pass to ``o_channel`` until its
    end word; the next step's words wait for the start.

    No memory. ``go`` is registered into ``start``: two clocks from a barrier to the next
    start.

    Parameters
    ----------
    params : NetworkParams

    Members
    -------
    i_input : In(stream.Signature(input_layout(params)))
    o_channel : Out(stream.Signature(unsigned(params.router.channel_bits)))
        The input channels, to the router's ``i_host``.
    core_done : In(cores)
        Each core's ``done``.
    idle : In(1)
        Nothing is held in the router or between it and the cores.
    hold : In(1)
        A configuration command is pending.
    start : Out(1)
    between : Out(1)
        No step is starting or running: configuration commands may pass.
    tag : Out(unsigned(step_bits))
    busy : Out(1)
    done : Out(1)
    steps : Out(unsigned(step_bits))
    cycles : Out(unsigned(CYCLES_BITS))
    """

    def __init__(self, params):
        if not isinstance(params, NetworkParams):
            raise TypeError(f"Params must be a NetworkParams, not {params!r}")
        self._p = p = params
        super().__init__({
            "i_input": In(stream.Signature(struct(input_fields(p)))),
            "o_channel": Out(stream.Signature(unsigned(p.router.channel_bits))),
            "core_done": In(len(p.cores)),
            "idle": In(1),
            "hold": In(1),
            "start": Out(1),
            "between": Out(1),
            "tag": Out(unsigned(p.step_bits)),
            "busy": Out(1),
            "done": Out(1),
            "steps": Out(unsigned(p.step_bits)),
            "cycles": Out(unsigned(CYCLES_BITS)),
        })

    def elaborate(self, platform):
        p = self._p
        m = Module()
        cores = len(p.cores)
        running = Signal()
        inputs_in = Signal()                    # the end word of the next step was taken
        core_done = Signal(cores, init=(1 << cores) - 1)
        count = Signal(CYCLES_BITS)
        go = Signal()
        barrier = Signal()
        all_done = core_done.all()
        # ``go`` is registered into ``start``, which does everything a start does: ``go``
        # depends on the router's ``idle`` (most of its state) and ``start`` enables most of
        # the controller's registers and reaches every core, so the register keeps the two
        # out of one clock. Nothing can change the conditions in between (no input word
        # passes once the end word is in, the cores are done, ``i_cfg`` is not ready while
        # ``start`` is high), and ``go`` is low while ``start`` is high.
        start = self.start
        m.d.sync += start.eq(go)
        m.d.comb += [
            self.between.eq(~running & ~start),
            go.eq(self.between & inputs_in & all_done & self.idle & ~self.hold),
            self.busy.eq(running),
            self.done.eq(barrier),
        ]
        # the barrier's condition, registered (once: ``running`` falls the clock after)
        m.d.sync += barrier.eq(running & all_done & self.idle & ~barrier)
        for c in range(cores):
            with m.If(self.core_done[c]):
                m.d.sync += core_done[c].eq(1)
        # ``start`` and ``barrier`` never coincide (a barrier needs ``running``, which
        # ``start`` sets); ``count`` runs on through the barrier clock, so that its enable
        # is registers only and the router's ``idle`` reaches just the barrier's registers
        with m.If(start):
            m.d.sync += [running.eq(1), inputs_in.eq(0), core_done.eq(0),
                         self.tag.eq(self.steps), count.eq(1)]
        with m.Elif(running):
            m.d.sync += count.eq(count + 1)
        with m.If(barrier):
            m.d.sync += [running.eq(0), self.steps.eq(self.steps + 1)]
        # ``cycles`` follows ``count`` while a step runs (its enable is a register, not the
        # barrier, whose decode of the router's state is the longest path on the UP5K), so
        # that from the clock after a barrier to the next start it holds that step's count
        with m.If(running):
            m.d.sync += self.cycles.eq(count)

        # host inputs: the words of the next step pass until its end word
        inp, ch = self.i_input, self.o_channel
        m.d.comb += [
            ch.payload.eq(inp.payload.channel),
            ch.valid.eq(inp.valid & ~inp.payload.end & ~inputs_in),
            inp.ready.eq(~inputs_in & (inp.payload.end | ch.ready)),
        ]
        with m.If(inp.valid & inp.ready & inp.payload.end):
            m.d.sync += inputs_in.eq(1)
        return m
