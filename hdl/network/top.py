"""The network top: one neuron core per mapped core, the spike router, the step barrier and
the host ports.

Its shape is :class:`~spikefab.shape.network.NetworkParams` (``spikefab.shape.network``); see
``docs/network.md`` for the host protocol and the cycle formula.
"""

from amaranth.hdl import Cat, Module, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from spikefab.shape.latency import CYCLES_BITS
from spikefab.shape.network import NetworkParams, input_fields, network_cfg_fields

from .dispatch import ConfigDispatcher
from ..core import Core
from ..layouts import struct
from ..router import Router, host_event_layout
from ..slice import RegisterSlice
from .control import StepController

__all__ = ["input_layout", "network_cfg_layout", "NetworkTop"]


def input_layout(p):
    """:func:`~spikefab.shape.network.input_fields` as a layout."""
    return struct(input_fields(p))


def network_cfg_layout(p):
    """:func:`~spikefab.shape.network.network_cfg_fields` as a layout."""
    return struct(network_cfg_fields(p))


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

    The top only composes: the cores (:class:`~spikefab.hdl.core.Core`), the
    :class:`~spikefab.hdl.router.Router`, the
    :class:`~spikefab.hdl.network.control.StepController` (steps, barrier, host inputs), the
    :class:`~spikefab.hdl.network.dispatch.ConfigDispatcher` (configuration register stage and
    read data) and, on banked weight memories, a
    :class:`~spikefab.hdl.slice.RegisterSlice` on each of a core's four streams.

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
        # the walker's busy flag in a register on the iCE40 builds (``delay_ram``: there its
        # wide OR sat on the barrier's path; on an ECP5 the pointer table's clock-to-out does)
        m.submodules.router = router = Router(p.router, busy_register=p.delay_ram)
        m.submodules.control = control = StepController(p)
        m.submodules.config = config = ConfigDispatcher(p)
        # A network on banked weight memories (a large ECP5, its cores spread over the die)
        # has a register slice on each of a core's four streams (axon events in, spikes out,
        # configuration in, read data out): no path runs from a core through the router or
        # the configuration stage and back into a core in one clock.
        sliced = "banked" in p.weight_rams
        flow_slices, cfg_slices = [], []      # events and spikes; configuration commands

        def cut(name, shape, group=None):
            m.submodules[name] = s = RegisterSlice(shape)
            if group is not None:
                group.append(s)
            return s

        cores = []
        for c, (cp, kind) in enumerate(zip(p.cores, p.weight_rams)):
            m.submodules[f"core_{c}"] = core = Core(cp, weight_ram=kind, delay_ram=p.delay_ram)
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
            # widths differ (the router's index covers every core and host id; a core's
            # spike ids cover its own neurons; a core's command fields are the low bits of
            # the top's), so the streams are joined field by field
            _join(m, event, core.i_event)
            _join(m, spike, router.i_spike[c])
            _join(m, config.o_core[c], cfg_port, ("write", "space", "addr", "data"))
            _join(m, rd_port, config.i_rdata[c])
            m.d.comb += [core.start.eq(control.start), control.core_done[c].eq(core.done)]

        idle = router.idle
        for s in flow_slices:
            idle &= s.empty
        pending = config.pending
        if cfg_slices:
            pending = pending | Cat(~s.empty for s in cfg_slices).any()
        wiring.connect(m, wiring.flipped(self.i_input), control.i_input)
        wiring.connect(m, control.o_channel, router.i_host)
        wiring.connect(m, router.o_host, wiring.flipped(self.o_output))
        wiring.connect(m, wiring.flipped(self.i_cfg), config.i_cfg)
        wiring.connect(m, config.o_router, router.i_cfg)
        wiring.connect(m, config.o_rdata, wiring.flipped(self.o_rdata))
        m.d.comb += [
            control.idle.eq(idle),
            control.hold.eq(pending),
            router.step.eq(control.tag),
            config.between.eq(control.between),
            self.busy.eq(control.busy),
            self.done.eq(control.done),
            self.steps.eq(control.steps),
            self.cycles.eq(control.cycles),
        ]
        return m


def _join(m, src, dst, fields=None):
    """Stream ``src`` into ``dst`` whose payload differs in width: assigned whole (extended
    or truncated) or, for layouts, field by field (``fields``)."""
    m.d.comb += [dst.valid.eq(src.valid), src.ready.eq(dst.ready)]
    if fields is None:
        m.d.comb += dst.payload.eq(src.payload)
    else:
        m.d.comb += [getattr(dst.payload, f).eq(getattr(src.payload, f)) for f in fields]
