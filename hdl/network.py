"""The network top: one neuron core per mapped core, the spike router, the step barrier and
the host ports.

Its shape is :class:`~spikefab.shape.network.NetworkParams` (``spikefab.shape.network``); see
``docs/network.md`` for the host protocol and the cycle formula.
"""

from amaranth.hdl import Cat, Module, Mux, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from spikefab.shape.latency import CYCLES_BITS
from spikefab.shape.network import NetworkParams, input_fields, network_cfg_fields

from .core import Core
from .layouts import struct
from .router import Router, host_event_layout

__all__ = ["input_layout", "network_cfg_layout", "NetworkTop"]


def input_layout(p):
    """:func:`~spikefab.shape.network.input_fields` as a layout."""
    return struct(input_fields(p))


def network_cfg_layout(p):
    """:func:`~spikefab.shape.network.network_cfg_fields` as a layout."""
    return struct(network_cfg_fields(p))


class _Slice(wiring.Component):
    """A register slice of a stream: ``o`` is ``i`` one clock later, one transfer per clock,
    and ``i.ready`` and ``o.valid`` are registers (a spare register takes the transfer of the
    clock in which ``o`` stalls). ``empty``: neither register holds a transfer."""

    def __init__(self, shape):
        super().__init__({"i": In(stream.Signature(shape)), "o": Out(stream.Signature(shape)),
                          "empty": Out(1)})
        self._shape = shape

    def elaborate(self, platform):
        m = Module()
        spare = Signal(self._shape)
        spare_valid = Signal()
        m.d.comb += [self.i.ready.eq(~spare_valid),
                     self.empty.eq(~self.o.valid & ~spare_valid)]
        with m.If(self.o.ready | ~self.o.valid):
            with m.If(spare_valid):
                m.d.sync += [self.o.payload.eq(spare), self.o.valid.eq(1), spare_valid.eq(0)]
            with m.Else():
                m.d.sync += [self.o.payload.eq(self.i.payload), self.o.valid.eq(self.i.valid)]
        with m.Elif(self.i.valid & ~spare_valid):
            m.d.sync += [spare.eq(self.i.payload), spare_valid.eq(1)]
        return m


class NetworkTop(wiring.Component):
    """A whole network: ``C`` neuron cores and the spike router between them.

    Core ``c``'s spikes enter the router at ``i_spike[c]``; the router's ``o_event[c]`` feeds
    core ``c``'s axon slots. Output-population spikes leave at ``o_output``, tagged with their
    step.

    **Steps.** The host streams the input channels of step ``t`` into ``i_input``, then a word
    with ``end = 1``. Step ``t`` starts (every core's ``start``, one clock) the clock after its
    end word has been taken, every core has finished step ``t - 1``, the router is idle, and
    no configuration command is pending. During step ``t`` the cores update and emit their
    spikes; the router delivers them to the cores' axon slots (which open as each core
    finishes) and tags those of output populations with ``t``; the host may already send the
    inputs of step ``t + 1`` (``i_input`` takes no word of step ``t + 1`` before step ``t``
    has started, and none of step ``t + 2`` before ``t + 1`` has started). Step ``t`` ends at
    the barrier: every core done and the router idle, so that every spike of step ``t`` has
    reached its cores (for step ``t + 1``) and the host. ``done`` pulses in that clock,
    ``steps`` becomes ``t + 1`` and ``cycles`` (from the next clock) the clocks from step
    ``t``'s start to its barrier. ``busy`` is high from a start to its barrier.

    **Configuration** (``i_cfg``, ``o_rdata``), only between steps: ``i_cfg.ready`` is low
    while ``busy``, and a pending command holds back the next start. A command addresses core
    ``target`` (its configuration port, see ``docs/core.md``) or the router's table
    (``target = C``, write only). A command is taken into a register stage and passed to
    its target from there; ``i_cfg.ready`` stays low until the target has taken it (at most
    one command every two clocks). A read answers on ``o_rdata``; no command is taken until
    it has been.

    No memory of its own; the cores' and the router's (``docs/core.md``, ``docs/router.md``).
    The controller adds two clocks between a barrier and the next start (``go`` is
    registered).

    Parameters
    ----------
    params : NetworkParams

    Members
    -------
    i_input : In(stream.Signature(input_layout(params)))
    o_output : Out(stream.Signature(host_event_layout(params.router)))
    busy : Out(1)
    done : Out(1)
    steps : Out(unsigned(step_bits))
        Steps completed since reset (wraps).
    cycles : Out(unsigned(CYCLES_BITS))
        From the clock after a barrier until the next start: that step's clocks (during a
        step it follows the running count).
    i_cfg : In(stream.Signature(network_cfg_layout(params)))
    o_rdata : Out(stream.Signature(unsigned(params.rdata_bits)))
    """

    def __init__(self, params):
        if not isinstance(params, NetworkParams):
            raise TypeError(f"Params must be a NetworkParams, not {params!r}")
        self._p = p = params
        super().__init__({
            "i_input": In(stream.Signature(input_layout(p))),
            "o_output": Out(stream.Signature(host_event_layout(p.router))),
            "busy": Out(1),
            "done": Out(1),
            "steps": Out(unsigned(p.step_bits)),
            "cycles": Out(unsigned(CYCLES_BITS)),
            "i_cfg": In(stream.Signature(network_cfg_layout(p))),
            "o_rdata": Out(stream.Signature(unsigned(p.rdata_bits))),
        })

    @property
    def params(self):
        return self._p

    def elaborate(self, platform):
        p = self._p
        m = Module()
        m.submodules.router = router = Router(p.router)
        cores = []
        # A network on banked weight memories (a large ECP5, its cores spread over the die)
        # has a register slice on each of a core's four streams (axon events in, spikes out,
        # configuration in, read data out): no path runs from a core through the router or
        # the configuration stage and back into a core in one clock.
        sliced = "banked" in p.weight_rams
        flow_slices, cfg_slices = [], []      # events and spikes; configuration commands
        cfg_ports, rd_ports = [], []

        def cut(name, shape, group=None):
            m.submodules[name] = s = _Slice(shape)
            if group is not None:
                group.append(s)
            return s

        for c, (cp, kind) in enumerate(zip(p.cores, p.weight_rams)):
            core = Core(cp, weight_ram=kind, delay_ram=p.delay_ram)
            m.submodules[f"core_{c}"] = core
            cores.append(core)
            event, spike = router.o_event[c], core.o_spike
            cfg_port, rd_port = core.i_cfg, core.o_rdata
            if sliced:
                s = cut(f"event_slice_{c}", event.payload.shape(), flow_slices)
                wiring.connect(m, event, s.i)
                event = s.o
                s = cut(f"spike_slice_{c}", spike.payload.shape(), flow_slices)
                wiring.connect(m, spike, s.i)
                spike = s.o
                s = cut(f"cfg_slice_{c}", cfg_port.payload.shape(), cfg_slices)
                wiring.connect(m, s.o, cfg_port)
                cfg_port = s.i
                s = cut(f"rdata_slice_{c}", rd_port.payload.shape())
                wiring.connect(m, rd_port, s.i)
                rd_port = s.o
            cfg_ports.append(cfg_port)
            rd_ports.append(rd_port)
            # widths differ (the router's index covers every core and host id; a core's
            # spike ids cover its own neurons), so the streams are joined field by field
            m.d.comb += [
                core.i_event.valid.eq(event.valid),
                core.i_event.payload.eq(event.payload),
                event.ready.eq(core.i_event.ready),
                router.i_spike[c].valid.eq(spike.valid),
                router.i_spike[c].payload.eq(spike.payload),
                spike.ready.eq(router.i_spike[c].ready),
            ]
        wiring.connect(m, wiring.flipped(self.o_output), router.o_host)

        # -- step controller -------------------------------------------------------------
        running = Signal()
        inputs_in = Signal()                    # the end word of the next step was taken
        core_done = Signal(len(cores), init=(1 << len(cores)) - 1)
        tag = Signal(p.step_bits)
        count = Signal(CYCLES_BITS)
        cfg_hold = Signal()
        go = Signal()
        barrier = Signal()
        all_done = core_done.all()
        idle = router.idle
        for s in flow_slices:
            idle &= s.empty
        # ``go`` is registered into ``start``, which does everything a start does: ``go``
        # depends on the router's ``idle`` (most of its state) and ``start`` enables most of
        # the controller's registers and reaches every core, so the register keeps the two
        # out of one clock. Nothing can change the conditions in between (no input word
        # passes once the end word is in, the cores are done, ``i_cfg`` is not ready while
        # ``start`` is high), and ``go`` is low while ``start`` is high.
        start = Signal()
        m.d.sync += start.eq(go)
        m.d.comb += [
            go.eq(~running & ~start & inputs_in & all_done & idle & ~cfg_hold),
            barrier.eq(running & all_done & idle),
            router.step.eq(tag),
            self.busy.eq(running),
            self.done.eq(barrier),
        ]
        for c, core in enumerate(cores):
            m.d.comb += core.start.eq(start)
            with m.If(core.done):
                m.d.sync += core_done[c].eq(1)
        # ``start`` and ``barrier`` never coincide (a barrier needs ``running``, which
        # ``start`` sets); ``count`` runs on through the barrier clock, so that its enable
        # is registers only and the router's ``idle`` reaches just the barrier's registers
        with m.If(start):
            m.d.sync += [running.eq(1), inputs_in.eq(0), core_done.eq(0), tag.eq(self.steps),
                         count.eq(1)]
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
        inp = self.i_input
        m.d.comb += [
            router.i_host.payload.eq(inp.payload.channel),
            router.i_host.valid.eq(inp.valid & ~inp.payload.end & ~inputs_in),
            inp.ready.eq(~inputs_in & (inp.payload.end | router.i_host.ready)),
        ]
        with m.If(inp.valid & inp.ready & inp.payload.end):
            m.d.sync += inputs_in.eq(1)

        # -- configuration: a register stage, then demultiplex by target -----------------
        # A command is taken into ``q`` (and its one-hot target into ``q_sel``) and passed to
        # its target from there: no path from ``i_cfg`` reaches a core's or the router's
        # memories in the same clock, and ``i_cfg.ready`` depends on registers only.
        cfg = self.i_cfg
        cmd = cfg.payload
        rd_pending = Signal()
        rd_target = Signal(range(max(2, len(cores))))
        q = Signal(network_cfg_layout(p))
        q_sel = Signal(len(cores) + 1)          # one bit per core, then the router
        hold = cfg.valid | rd_pending | q_sel.any()
        if cfg_slices:
            hold = hold | Cat(~s.empty for s in cfg_slices).any()
        m.d.comb += [
            cfg.ready.eq(~running & ~start & ~rd_pending & ~q_sel.any()),
            cfg_hold.eq(hold),
        ]
        with m.If(cfg.valid & cfg.ready):       # a target > router_target: taken, ignored
            m.d.sync += q.eq(cmd)
            m.d.sync += [q_sel[c].eq(cmd.target == c) for c in range(len(cores))]
            m.d.sync += q_sel[len(cores)].eq(cmd.target == p.router_target)
            with m.If(~cmd.write & (cmd.target < p.router_target)):
                m.d.sync += [rd_pending.eq(1), rd_target.eq(cmd.target)]
        for c, port in enumerate(cfg_ports):
            m.d.comb += [
                port.valid.eq(q_sel[c]),
                port.payload.write.eq(q.write),
                port.payload.space.eq(q.space),
                port.payload.addr.eq(q.addr),
                port.payload.data.eq(q.data),
            ]
            with m.If(port.valid & port.ready):
                m.d.sync += q_sel[c].eq(0)
        rc = router.i_cfg
        m.d.comb += [
            rc.valid.eq(q_sel[len(cores)]),
            rc.payload.space.eq(q.space[0]),
            rc.payload.addr.eq(q.addr),
            rc.payload.data.eq(q.data),
        ]
        with m.If(rc.valid & rc.ready):
            m.d.sync += q_sel[len(cores)].eq(0)
        rdata = self.o_rdata
        r_valid, r_data = rd_ports[-1].valid, rd_ports[-1].payload
        for c in reversed(range(len(cores) - 1)):
            r_valid = Mux(rd_target == c, rd_ports[c].valid, r_valid)
            r_data = Mux(rd_target == c, rd_ports[c].payload, r_data)
        m.d.comb += [rdata.valid.eq(r_valid), rdata.payload.eq(r_data)]
        for c, port in enumerate(rd_ports):
            m.d.comb += port.ready.eq(rdata.ready & (rd_target == c))
        with m.If(rdata.valid & rdata.ready):
            m.d.sync += rd_pending.eq(0)
        return m
