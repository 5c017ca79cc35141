"""The link's rate generator: images presented on the chip (``docs/spec.md`` section 7)."""

from types import SimpleNamespace

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from spikefab.golden.encode import RATE_INTENSITY_BITS
from spikefab.shape.image import clear_ranges
from spikefab.shape.latency import CYCLES_BITS
from spikefab.shape.rates import rate_slots, rate_stride

from ..memory import NO_RW_CHECK
from ..network import input_layout, network_cfg_layout

__all__ = ["RateGenerator"]


class RateGenerator(wiring.Component):
    """Runs queued presentations: for each, clears the network's state through the
    configuration port, then feeds ``steps`` steps of input channels made from the slot's
    intensities (``docs/spec.md`` section 7), one step ahead of the network.

    A presentation begins when one is queued and the cycle queue has ``room`` for its count:
    the generator writes zero to every address of
    :func:`~spikefab.shape.image.clear_ranges` (neuron state, accumulators, STDP traces), then
    scans the channels of each step in order, one a clock: channel ``c`` reads its intensity
    nibble and its accumulator (the phase, bit-reversed ``c``, on the presentation's first
    step), adds them, spikes on the carry out of ``rate_bits`` and writes the sum back. A
    spiking channel is offered on ``o_input`` (the scan waits while it is not taken); after
    the last channel the step's end word. The network top takes the words of step ``t + 1``
    while step ``t`` runs, so the scan costs no clock of a step but the first. The
    presentation ends at its last step's ``done``: its clocks, from the first clear write
    to that barrier, are offered once on ``count`` (``count_valid``), and its slot is free.

    Memories: the intensities (``slots * stride`` bytes, two channels a byte, written by the
    executor through ``w_*``) and the accumulators (``inputs`` x ``rate_bits``).

    Parameters
    ----------
    params : NetworkParams
        With ``rate_bits > 0``.

    Members
    -------
    w_addr, w_data, w_en : In
        The intensity memory's write port (``slot * stride + byte``).
    add : In(range(slots + 1))
        Presentations queued this clock (their slots written before).
    steps : In(16)
        Steps of every presentation (read as each one begins).
    room : In(1)
        The cycle queue can take a count.
    done : In(1)
        The network top's step barrier.
    clear : In(1)
        Forget every queued presentation (RESET).
    queued : Out(range(slots + 1))
        Presentations queued or running.
    wslot : Out(range(slots))
        The slot of the next image queued.
    active : Out(1)
        A presentation is running (from its clear to its last barrier, inclusive).
    o_cfg : Out(stream.Signature(network_cfg_layout(params)))
    o_input : Out(stream.Signature(input_layout(params)))
    count : Out(CYCLES_BITS)
    count_valid : Out(1)
    """

    def __init__(self, params):
        if not params.rate_bits:
            raise ValueError("RateGenerator needs params with rate_bits > 0")
        self._p = p = params
        self.slots = rate_slots(p.inputs)
        self.stride = rate_stride(p.inputs)
        super().__init__({
            "w_addr": In(range(self.slots * self.stride)),
            "w_data": In(8),
            "w_en": In(1),
            "add": In(range(self.slots + 1)),
            "steps": In(16),
            "room": In(1),
            "done": In(1),
            "clear": In(1),
            "queued": Out(range(self.slots + 1)),
            "wslot": Out(range(self.slots)),
            "active": Out(1),
            "o_cfg": Out(stream.Signature(network_cfg_layout(p))),
            "o_input": Out(stream.Signature(input_layout(p))),
            "count": Out(CYCLES_BITS),
            "count_valid": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        v = SimpleNamespace(done_one=Signal(name="done_one"), fresh=Signal(name="fresh"),
                            left=Signal(16, name="left"), count=Signal(CYCLES_BITS, name="count"),
                            issue=Signal(name="issue"))
        self._queue(m, v)
        self._clear_walk(m, v)
        self._scan(m, v)
        self._sequence(m, v)
        return m

    def _queue(self, m, v):
        """The ring of slots: presentations queued, the running one's slot, its count."""
        S = self.slots
        v.rslot = rslot = Signal(range(S), name="rslot")   # the running (or next) one's slot
        queued = self.queued
        # ``slots`` is a power of two (a block RAM over a power-of-two stride)
        m.d.comb += self.wslot.eq((rslot + queued)[:max(1, (S - 1).bit_length())])
        m.d.sync += queued.eq(queued + self.add - v.done_one)
        with m.If(v.done_one):
            m.d.sync += rslot.eq(rslot + 1)
        # the count is offered a clock after the last barrier (whose decode of the router's
        # state is long: it reaches the cycle queue's write through a register); ``count``
        # holds still in that clock (IDLE)
        m.d.comb += self.count.eq(v.count)
        m.d.sync += self.count_valid.eq(v.done_one & ~self.clear)
        with m.If(self.active):
            m.d.sync += v.count.eq(v.count + 1)

    def _clear_walk(self, m, v):
        """The clearing writes: runs of consecutive addresses of one target and space."""
        p = self._p
        v.runs = runs = clear_ranges(p)
        v.run = Signal(range(len(runs) + 1), name="run")
        v.addr = Signal(p.cfg_addr_bits, name="addr")
        v.last = Signal(p.cfg_addr_bits, name="last")
        cfg = self.o_cfg
        with m.Switch(v.run):
            for i, (target, space, first, end) in enumerate(runs):
                with m.Case(i):
                    m.d.comb += [cfg.payload.target.eq(target), cfg.payload.space.eq(space),
                                 v.last.eq(end)]
        m.d.comb += [cfg.payload.addr.eq(v.addr), cfg.payload.data.eq(0),
                     cfg.payload.write.eq(1)]
        v.firsts = [first for _, _, first, _ in runs] + [0]

    def _scan(self, m, v):
        """The memories and the scan: channel ``c0`` is read, ``c1`` (a clock later) is
        added, and a spiking channel goes to the output register (``o_input`` is valid from
        it alone, so that neither the memories nor the adder meet the network top's input
        logic in a clock); the scan waits while the register is full. The end word after the
        last channel is a bubble, so a step's first read never meets the write of the step
        before (one channel)."""
        p = self._p
        C, P, S = p.inputs, p.rate_bits, self.slots
        # PRESENT writes free slots only and the scan reads the running presentation's, a
        # queued slot: never one word in one clock (``hdl/memory.py``)
        m.submodules.rates = rates = Memory(shape=8, depth=S * self.stride, init=[],
                                            attrs=NO_RW_CHECK)
        m.submodules.accs = accs = Memory(shape=P, depth=C, init=[])
        wr = rates.write_port()
        m.d.comb += [wr.addr.eq(self.w_addr), wr.data.eq(self.w_data), wr.en.eq(self.w_en)]
        rd_q = rates.read_port(transparent_for=())
        rd_a = accs.read_port(transparent_for=())
        wa = accs.write_port()
        cb = max(1, (C - 1).bit_length())
        v.c0 = c0 = Signal(range(C + 1), name="c0")
        c1 = Signal(cb)
        v.v1 = v1 = Signal(name="v1")
        v.inflight = Signal(2, name="inflight")  # end words taken, their barriers not yet come
        inp = self.o_input
        v.ov, v.oend = ov, oend = Signal(name="ov"), Signal(name="oend")
        och = Signal.like(inp.payload.channel)
        m.d.comb += [inp.valid.eq(ov), inp.payload.channel.eq(och), inp.payload.end.eq(oend)]
        with m.If(inp.ready):
            m.d.sync += ov.eq(0)
        m.d.sync += v.inflight.eq(v.inflight + (ov & oend & inp.ready)
                                  - (self.active & self.done))
        nib = Mux(c1[0], rd_q.data[4:8], rd_q.data[0:4]) if C > 1 else rd_q.data[0:4]
        phase = Cat(*[c1[P - 1 - i] if P - 1 - i < cb else Const(0, 1) for i in range(P)])
        total = Signal(P + 1)
        m.d.comb += total.eq(Mux(v.fresh, phase, rd_a.data) +
                             nib[:RATE_INTENSITY_BITS])
        spike = total[P]
        stall = v1 & spike & ov
        with m.If(v1 & spike & ~ov):
            m.d.sync += [ov.eq(1), och.eq(c1), oend.eq(0)]
        byte = c0 >> 1
        m.d.comb += [
            rd_q.addr.eq(Cat(byte[:max(1, (self.stride - 1).bit_length())], v.rslot)
                         if self.stride > 1 else v.rslot),
            rd_a.addr.eq(c0),
            rd_q.en.eq(~stall), rd_a.en.eq(~stall),
            wa.addr.eq(c1), wa.data.eq(total[:P]), wa.en.eq(v1 & ~stall),
        ]
        with m.If(~stall):
            m.d.sync += [v1.eq(v.issue), c1.eq(c0)]
            with m.If(v.issue):
                m.d.sync += c0.eq(c0 + 1)

    def _sequence(self, m, v):
        """A presentation: wait for one and for room, clear, scan every step, wait for the
        last barrier."""
        C, cfg, runs = self._p.inputs, self.o_cfg, v.runs
        with m.FSM(name="rates_fsm") as fsm:
            with m.State("IDLE"):
                with m.If((self.queued != 0) & self.room):
                    m.d.sync += [v.run.eq(0), v.addr.eq(v.firsts[0]), v.count.eq(1),
                                 v.left.eq(self.steps), v.fresh.eq(1)]
                    m.next = "CLEAR"
            with m.State("CLEAR"):
                m.d.comb += cfg.valid.eq(1)
                with m.If(cfg.ready):
                    with m.If(v.addr == v.last):
                        with m.Switch(v.run):
                            for i in range(len(runs)):
                                with m.Case(i):
                                    m.d.sync += v.addr.eq(v.firsts[i + 1])
                        m.d.sync += v.run.eq(v.run + 1)
                        with m.If(v.run == len(runs) - 1):
                            m.d.sync += v.c0.eq(0)
                            m.next = "SCAN"
                    with m.Else():
                        m.d.sync += v.addr.eq(v.addr + 1)
            with m.State("SCAN"):
                m.d.comb += v.issue.eq(v.c0 != C)
                with m.If((v.c0 == C) & ~v.v1):
                    m.next = "END"
            with m.State("END"):
                with m.If(~v.ov):
                    m.d.sync += [v.ov.eq(1), v.oend.eq(1), v.left.eq(v.left - 1),
                                 v.fresh.eq(0), v.c0.eq(0)]
                    with m.If(v.left == 1):
                        m.next = "WAIT"
                    with m.Else():
                        m.next = "SCAN"
            with m.State("WAIT"):
                # the last end word was taken (``ov`` empty) and one step is out: its barrier
                # is the presentation's last
                with m.If(self.done & ~v.ov & (v.inflight == 1)):
                    m.d.comb += v.done_one.eq(1)
                    m.next = "IDLE"
            m.d.comb += self.active.eq(~fsm.ongoing("IDLE"))
