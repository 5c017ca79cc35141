"""The spike router: table-driven multicast from spike sources to (core, axon) slots and the host.

Its shape (:class:`~spikefab.shape.router.RouterParams`), table words and latencies live in
``spikefab.shape.router``; see ``docs/router.md`` for the table format, the step barrier and
the latency figures.
"""

from amaranth.hdl import Module, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from spikefab.shape.router import (RouterParams, dst_fields, host_event_fields, ptr_fields,
                                   router_cfg_fields)

from ..layouts import struct
from .demux import OutputDemux
from .source import SourceStage
from .table import TableWritePort
from .walker import DestinationWalker
from ..slice import RegisterSlice
from .arbiter import SpikeArbiter
from ..memory import Fifo

__all__ = ["ptr_layout", "dst_layout", "host_event_layout", "router_cfg_layout", "Router"]


def ptr_layout(p):
    """:func:`~spikefab.shape.router.ptr_fields` as a layout."""
    return struct(ptr_fields(p))


def dst_layout(p):
    """:func:`~spikefab.shape.router.dst_fields` as a layout."""
    return struct(dst_fields(p))


def host_event_layout(p):
    """:func:`~spikefab.shape.router.host_event_fields` as a layout."""
    return struct(host_event_fields(p))


def router_cfg_layout(p):
    """:func:`~spikefab.shape.router.router_cfg_fields` as a layout."""
    return struct(router_cfg_fields(p))


class Router(wiring.Component):
    """Table-driven multicast spike router with backpressure on every port.

    Sources are the host's input channels (``i_host``, source id = channel) and the spikes of
    every core (``i_spike[c]``, source id = ``core_base[c] + neuron``). For each source event
    the router reads the pointer table (``base``, ``count``) and emits the ``count``
    destination entries ``base .. base + count - 1`` of the destination list, one per clock:
    entries with ``port = c < cores`` leave as axon slot ``index`` on ``o_event[c]``, entries
    with ``port >= cores`` leave on ``o_host`` as ``{neuron: index, step}``, tagged with the
    value of ``step`` in the clock of the transfer. A source with ``count = 0`` has no
    destination and costs one clock of the lookup stage.

    Core spikes first enter the spike queue (``queue_depth`` entries, default the number of
    core neurons, with a round-robin arbiter over the cores, one spike per clock); the lookup
    stage takes the queue's head and ``i_host`` in turn. Because one step emits at most one
    spike per neuron, the queue takes all spikes of a step even while every output is stalled
    by cores that are still in their update phase: a core's spike output is never blocked
    behind another core's step, so the step barrier cannot deadlock.

    Throughput: one destination entry per clock, sustained, while the outputs that the entries
    name are ready (every stall of an output stalls the whole router: the entries leave in
    order). Latency of an otherwise empty router with ready outputs:
    :data:`~spikefab.shape.latency.ROUTE_LATENCY` clocks from an ``i_host`` transfer, and
    :data:`~spikefab.shape.latency.QUEUE_LATENCY` more from an ``i_spike`` transfer, to the
    first destination being valid.

    ``idle`` is high when no event is held anywhere in the router and none is being
    transferred in: the step barrier is ``all cores done and idle``. The controller keeps
    ``step`` at the number of the step whose spikes the cores are emitting, from that step's
    ``start`` until ``idle``.

    Table writes (``i_cfg``) are accepted only while the lookup pipeline is empty, and take
    priority over new lookups, so that every event sees either the old or the new table. A
    write takes effect for lookups that begin in the clock after it.

    Memories: the pointer table (``sources`` x ``ptr_layout``), the destination list
    (``entries`` x ``dst_layout``), both with registered read ports, and the spike queue
    (``SyncFIFOBuffered``, ``queue_depth`` x ``source_bits``).

    The router only composes: the :class:`~spikefab.hdl.router.arbiter.SpikeArbiter` feeds
    the spike queue; the :class:`~spikefab.hdl.router.source.SourceStage` (S0) takes the
    queue's head and ``i_host`` in turn; the
    :class:`~spikefab.hdl.router.walker.DestinationWalker` reads the pointer word (S1) and the
    destination entries (S3) through the tables' read ports; a
    :class:`~spikefab.hdl.slice.RegisterSlice` is the output register; the
    :class:`~spikefab.hdl.router.demux.OutputDemux` sends each entry to its core or the host;
    the :class:`~spikefab.hdl.router.table.TableWritePort` writes ``i_cfg`` words.

    Parameters
    ----------
    params : RouterParams
    busy_register : bool
        The walker's ``busy_register`` (:class:`~.walker.DestinationWalker`).

    Members
    -------
    i_host : In(stream.Signature(unsigned(channel_bits)))
        Host input channel ids.
    i_spike : In(stream.Signature(unsigned(neuron_bits))).array(cores)
        Each core's spikes (local neuron ids).
    o_event : Out(stream.Signature(unsigned(index_bits))).array(cores)
        Each core's axon slot events.
    o_host : Out(stream.Signature(host_event_layout(params)))
        Spikes of output populations, tagged with their step.
    step : In(unsigned(step_bits))
    idle : Out(1)
    i_cfg : In(stream.Signature(router_cfg_layout(params)))
    """

    def __init__(self, params, busy_register=False):
        if not isinstance(params, RouterParams):
            raise TypeError(f"Params must be a RouterParams, not {params!r}")
        self._p = p = params
        self._busy_register = bool(busy_register)
        super().__init__({
            "i_host": In(stream.Signature(unsigned(p.channel_bits))),
            "i_spike": In(stream.Signature(unsigned(p.neuron_bits))).array(p.cores),
            "o_event": Out(stream.Signature(unsigned(p.index_bits))).array(p.cores),
            "o_host": Out(stream.Signature(host_event_layout(p))),
            "step": In(unsigned(p.step_bits)),
            "idle": Out(1),
            "i_cfg": In(stream.Signature(router_cfg_layout(p))),
        })

    @property
    def params(self):
        return self._p

    def elaborate(self, platform):
        p = self._p
        m = Module()
        pl, dl = ptr_layout(p), dst_layout(p)
        m.submodules.pointers = ptr_mem = Memory(
            shape=pl, depth=p.sources,
            init=[{"base": b, "count": n} for b, n in p.pointers])
        m.submodules.destinations = dst_mem = Memory(
            shape=dl, depth=p.entries,
            init=[{"port": q, "index": i} for q, i in p.destinations])
        ptr_rd, ptr_wr = ptr_mem.read_port(), ptr_mem.write_port()
        dst_rd, dst_wr = dst_mem.read_port(), dst_mem.write_port()
        m.submodules.queue = queue = Fifo(width=p.source_bits,
                                                      depth=p.queue_depth)
        m.submodules.arbiter = arbiter = SpikeArbiter(p)
        m.submodules.source = source = SourceStage(p)
        m.submodules.walker = walker = DestinationWalker(p, self._busy_register)
        # the output register: its skid register keeps the outputs' ready off the lookup
        # pipeline's combinational path
        m.submodules.output = output = RegisterSlice(dl)
        m.submodules.demux = demux = OutputDemux(p)
        m.submodules.table = table = TableWritePort(p)

        for c in range(p.cores):
            wiring.connect(m, wiring.flipped(self.i_spike[c]), arbiter.i_spike[c])
        wiring.connect(m, arbiter.o_source, queue.w_stream)
        wiring.connect(m, wiring.flipped(self.i_host), source.i_host)
        wiring.connect(m, queue.r_stream, source.i_queue)
        wiring.connect(m, source.o_source, walker.i_source)
        wiring.connect(m, walker.ptr, ptr_rd)
        wiring.connect(m, walker.dst, dst_rd)
        wiring.connect(m, walker.o_entry, output.i)
        wiring.connect(m, output.o, demux.i_entry)
        for c in range(p.cores):
            wiring.connect(m, demux.o_event[c], wiring.flipped(self.o_event[c]))
        wiring.connect(m, demux.o_host, wiring.flipped(self.o_host))
        wiring.connect(m, wiring.flipped(self.i_cfg), table.i_cfg)
        wiring.connect(m, table.ptr, ptr_wr)
        wiring.connect(m, table.dst, dst_wr)

        # table writes wait for an empty lookup pipeline and take priority over new lookups
        empty = ~source.o_source.valid & walker.empty & output.empty
        spike_in = arbiter.o_source.valid & arbiter.o_source.ready
        host_in = self.i_host.valid & self.i_host.ready
        m.d.comb += [
            source.hold.eq(self.i_cfg.valid),
            table.empty.eq(empty),
            demux.step.eq(self.step),
            self.idle.eq(empty & (queue.level == 0) & ~spike_in & ~host_in),
        ]
        return m
