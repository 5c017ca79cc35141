"""The spike router: table-driven multicast from spike sources to (core, axon) slots and the host.

Its shape (:class:`~spikefab.shape.router.RouterParams`), table words and latencies live in
``spikefab.shape.router``; see ``docs/router.md`` for the table format, the step barrier and
the latency figures.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, stream, wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from spikefab.shape.fields import uint_bits as _bits
from spikefab.shape.router import (RouterParams, TableSpace, dst_fields, host_event_fields,
                                   ptr_fields, router_cfg_fields)

from .layouts import struct

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
    order). Latency of an otherwise empty router with ready outputs: :data:`~spikefab.shape.latency.ROUTE_LATENCY`
    clocks from an ``i_host`` transfer, and :data:`~spikefab.shape.latency.QUEUE_LATENCY` more from an ``i_spike``
    transfer, to the first destination being valid.

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

    Parameters
    ----------
    params : RouterParams

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

    def __init__(self, params):
        if not isinstance(params, RouterParams):
            raise TypeError(f"Params must be a RouterParams, not {params!r}")
        self._p = p = params
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
        m.submodules.queue = queue = SyncFIFOBuffered(width=p.source_bits,
                                                      depth=p.queue_depth)

        # -- spike arbiter: round robin over the cores into the queue ---------------------
        # Expressions, not a switch: Icarus never evaluates an always block whose inputs do
        # not change after time 0 (idle cores), which left the grant undefined.
        last = Signal(range(max(2, p.cores)), init=p.cores - 1)
        any_spike = Signal()
        grant = Signal(range(max(2, p.cores)))
        sid = Signal(p.source_bits)
        valid = [self.i_spike[c].valid for c in range(p.cores)]

        # Balanced trees, not chains: depth log2(cores), so that neither the logic nor the
        # Python simulator's generated code (which nests one level per Mux) grows with cores.
        def first_valid(order):
            """(any valid, first valid core) of ``order``, as a balanced priority tree."""
            if len(order) == 1:
                return valid[order[0]], Const(order[0], grant.shape())
            half = len(order) // 2
            v_lo, i_lo = first_valid(order[:half])
            v_hi, i_hi = first_valid(order[half:])
            return v_lo | v_hi, Mux(v_lo, i_lo, i_hi)

        def select(sel, options):
            """``options[sel]`` as a balanced tree on the bits of ``sel`` (missing: last)."""
            def tree(lo, n, bit):
                if n == 1 or bit < 0:
                    return options[min(lo, len(options) - 1)]
                half = 1 << bit
                if lo + half >= len(options):
                    return tree(lo, n, bit - 1)
                return Mux(sel[bit], tree(lo + half, half, bit - 1), tree(lo, half, bit - 1))
            bits = max(1, (len(options) - 1).bit_length())
            return tree(0, 1 << bits, bits - 1)

        g = select(last, [first_valid([(prev + 1 + k) % p.cores for k in range(p.cores)])[1]
                          for prev in range(p.cores)])
        s_id = select(grant, [p.core_base[c] + self.i_spike[c].payload
                              for c in range(p.cores)])
        m.d.comb += [any_spike.eq(Cat(*valid).any()), grant.eq(g), sid.eq(s_id)]
        for c in range(p.cores):
            m.d.comb += self.i_spike[c].ready.eq(queue.w_rdy & (grant == c))
        spike_in = any_spike & queue.w_rdy
        m.d.comb += [queue.w_en.eq(any_spike), queue.w_data.eq(sid)]
        with m.If(spike_in):
            m.d.sync += last.eq(grant)

        # -- lookup: S1 holds a source whose pointer word is being read -------------------
        cfg = self.i_cfg
        s1_valid = Signal()
        s3_valid = Signal()
        w_addr = Signal(_bits(p.entries))
        w_left = Signal(_bits(p.entries))
        w_busy = w_left != 0
        s3_adv = Signal()
        issue = Signal()
        w_free = Signal()
        s1_adv = Signal()
        m.d.comb += [
            issue.eq(w_busy & s3_adv),
            w_free.eq(~w_busy | (issue & (w_left == 1))),
            s1_adv.eq(~s1_valid | w_free),
        ]

        # S0: the source id, registered, so that neither the queue's read data nor the host's
        # payload reaches the pointer memory's address combinationally. The queue's head and
        # the host take turns.
        host_turn = Signal()
        h = self.i_host
        s0_valid = Signal()
        s0_sid = Signal(p.source_bits)
        s0_adv = Signal()
        pick_host = Signal()
        take = Signal()
        m.d.comb += [
            s0_adv.eq(~s0_valid | s1_adv),
            pick_host.eq(h.valid & (host_turn | ~queue.r_rdy)),
            take.eq(s0_adv & ~cfg.valid & (h.valid | queue.r_rdy)),
            h.ready.eq(take & pick_host),
            queue.r_en.eq(take & ~pick_host),
        ]
        with m.If(take):
            m.d.sync += host_turn.eq(~pick_host)
        with m.If(s0_adv):
            m.d.sync += s0_valid.eq(take)
            with m.If(pick_host):
                m.d.sync += s0_sid.eq(h.payload)
            with m.Else():
                m.d.sync += s0_sid.eq(queue.r_data)
        m.d.comb += [ptr_rd.addr.eq(s0_sid), ptr_rd.en.eq(s1_adv)]
        with m.If(s1_adv):
            m.d.sync += s1_valid.eq(s0_valid)

        # -- walker: one destination entry per clock ----------------------------------------
        ptr = data.View(pl, ptr_rd.data)
        with m.If(s1_valid & w_free):
            m.d.sync += [w_addr.eq(ptr.base), w_left.eq(ptr.count)]
        with m.Elif(issue):
            m.d.sync += [w_addr.eq(w_addr + 1), w_left.eq(w_left - 1)]
        m.d.comb += [dst_rd.addr.eq(w_addr), dst_rd.en.eq(s3_adv)]
        with m.If(s3_adv):
            m.d.sync += s3_valid.eq(issue)

        # -- S3: the destination entry; into the output register or its skid register ---
        # The skid register keeps the outputs' ready off the pipeline's combinational path:
        # S3 advances on ``~skid_valid`` (a register), not on the ready of an output.
        dst = data.View(dl, dst_rd.data)
        out = Signal(dl)
        out_valid = Signal()
        skid = Signal(dl)
        skid_valid = Signal()
        out_ready = Signal()
        out_fire = out_valid & out_ready
        m.d.comb += s3_adv.eq(~s3_valid | ~skid_valid)
        with m.If(out_fire | ~out_valid):
            with m.If(skid_valid):
                m.d.sync += [out.eq(skid), out_valid.eq(1), skid_valid.eq(0)]
            with m.Else():
                m.d.sync += [out.eq(dst), out_valid.eq(s3_valid)]
        with m.Elif(s3_valid & ~skid_valid):
            m.d.sync += [skid.eq(dst), skid_valid.eq(1)]

        to_host = out.port >= p.cores
        m.d.comb += [
            self.o_host.valid.eq(out_valid & to_host),
            self.o_host.payload.neuron.eq(out.index),
            self.o_host.payload.step.eq(self.step),
        ]
        with m.If(to_host):
            m.d.comb += out_ready.eq(self.o_host.ready)
        for c in range(p.cores):
            o = self.o_event[c]
            m.d.comb += [o.valid.eq(out_valid & (out.port == c)), o.payload.eq(out.index)]
            with m.If(out.port == c):
                m.d.comb += out_ready.eq(o.ready)

        # -- table writes -------------------------------------------------------------------
        m.d.comb += cfg.ready.eq(~s0_valid & ~s1_valid & ~w_busy & ~s3_valid & ~skid_valid
                                 & ~out_valid)
        cfg_go = cfg.valid & cfg.ready
        m.d.comb += [
            ptr_wr.addr.eq(cfg.payload.addr), ptr_wr.data.eq(cfg.payload.data[:pl.size]),
            dst_wr.addr.eq(cfg.payload.addr), dst_wr.data.eq(cfg.payload.data[:dl.size]),
            ptr_wr.en.eq(cfg_go & (cfg.payload.space == TableSpace.POINTER)),
            dst_wr.en.eq(cfg_go & (cfg.payload.space == TableSpace.DESTINATION)),
        ]

        m.d.comb += self.idle.eq(~s0_valid & ~s1_valid & ~w_busy & ~s3_valid & ~out_valid
                                 & ~skid_valid & (queue.level == 0)
                                 & ~spike_in & ~(h.valid & h.ready))
        return m
