"""Drive a :class:`spikefab.hdl.core.Core` in the Amaranth simulator, step by step.

The same protocol as the cocotb ``TB`` (``tests/cocotb_core.py``): events back to back, ``start``
in the clock after the last event transfer, random backpressure on ``o_spike``, every spike
transfer recorded with its clock, and the step's span checked against the core's ``cycles``
and :func:`spikefab.hdl.core.step_cycles`.
"""

from spikefab.shape.cfg import Space
from spikefab.shape.latency import step_cycles
from spikefab.shape.latency import update_start as compute_update_start
from spikefab.shape.image import (pack_cfg, post_addr, spiking_rows, unpack_state, unpack_traces,
                                  weights_from_words)


class AmaranthCoreHost:
    """Host side of a core inside an Amaranth testbench coroutine."""

    def __init__(self, ctx, dut, rng, ready_prob=1.0, what=""):
        self.ctx, self.dut, self.p = ctx, dut, dut.params
        self.rng, self.ready_prob, self.what = rng, ready_prob, what
        self.clock = 0

    async def tick(self):
        await self.ctx.tick()
        self.clock += 1

    def _ready(self):
        r = 1 if self.ready_prob >= 1 else int(self.rng.random() < self.ready_prob)
        self.ctx.set(self.dut.o_spike.ready, r)
        return r

    async def cfg_write(self, space, addr, data):
        ctx, dut = self.ctx, self.dut
        ctx.set(dut.i_cfg.payload.as_value(), pack_cfg(self.p, 1, space, addr, data))
        ctx.set(dut.i_cfg.valid, 1)
        while not ctx.get(dut.i_cfg.ready):
            await self.tick()
        await self.tick()
        ctx.set(dut.i_cfg.valid, 0)

    async def cfg_read(self, space, addr):
        ctx, dut = self.ctx, self.dut
        ctx.set(dut.i_cfg.payload.as_value(), pack_cfg(self.p, 0, space, addr))
        ctx.set(dut.i_cfg.valid, 1)
        while not ctx.get(dut.i_cfg.ready):
            await self.tick()
        await self.tick()
        ctx.set(dut.i_cfg.valid, 0)
        ctx.set(dut.o_rdata.ready, 1)
        while not ctx.get(dut.o_rdata.valid):
            await self.tick()
        value = ctx.get(dut.o_rdata.payload)
        await self.tick()
        ctx.set(dut.o_rdata.ready, 0)
        return int(value)

    async def read_state(self):
        """``(u, v, r)`` lists of all ``N`` neurons through the configuration port."""
        u, v, r = [], [], []
        for row in range(self.p.rows):
            uu, vv, rr = unpack_state(self.p, await self.cfg_read(Space.STATE, row))
            u += uu
            v += vv
            r += rr
        n = self.p.neurons
        return u[:n], v[:n], r[:n]

    async def read_weights(self):
        """The ``(A, N)`` weight matrix through the configuration port."""
        words = [await self.cfg_read(Space.WEIGHT, a) for a in range(self.p.weight_depth)]
        return weights_from_words(self.p, words)

    async def read_traces(self):
        """Per plastic group ``k``: (pre traces of its axon slots, post traces of all ``N``
        neurons)."""
        p, out = self.p, []
        for k, g in enumerate(p.plastic_groups):
            off, size = p.pre_offsets[k], p.axon_shifts[g][0]
            pre = [await self.cfg_read(Space.PRE, off + j) for j in range(size)]
            post = []
            for row in range(p.rows):
                post += unpack_traces(p, await self.cfg_read(Space.POST, post_addr(p, k, row)))
            out.append((pre, post[:p.neurons]))
        return out

    async def step(self, events, step_no):
        """Run one step; return ``(spike ids in transfer order, reported cycles)``.

        Asserts that no spike leaves before the update phase, that ``done`` comes, and that
        the span, the reported count and :func:`step_cycles` agree.
        """
        ctx, dut, p = self.ctx, self.dut, self.p
        spikes, transfers = [], []
        first = None
        for ev in events:
            ctx.set(dut.i_event.payload, int(ev))
            ctx.set(dut.i_event.valid, 1)
            while True:
                self._collect(spikes, transfers, step_no)
                accepted = ctx.get(dut.i_event.ready)
                if accepted and first is None:
                    first = self.clock
                await self.tick()
                if accepted:
                    break
        ctx.set(dut.i_event.valid, 0)
        s = self.clock
        ctx.set(dut.start, 1)
        update_start = compute_update_start(p, len(events), first, s, dut.weight_ram)
        begin = first if events.size else s
        for _ in range(100 * (p.rows + 20) + p.rows * len(events)):
            self._collect(spikes, transfers, step_no)
            if ctx.get(dut.done):
                break
            await self.tick()
            ctx.set(dut.start, 0)
        else:
            raise AssertionError(f"{self.what}step {step_no}: no done")
        d = self.clock
        await self.tick()
        ctx.set(dut.start, 0)
        cycles = int(ctx.get(dut.cycles))
        last = transfers[-1] - update_start if transfers else None
        want = step_cycles(p, len(events), last, spiking_rows(p, spikes), dut.weight_ram)
        assert not transfers or transfers[0] >= update_start, (
            f"{self.what}step {step_no}: spike at clock {transfers[0]} before update start "
            f"{update_start}")
        assert d - begin == cycles == want, (
            f"{self.what}step {step_no}: cycles reported {cycles}, span {d - begin}, formula "
            f"{want} (E={len(events)}, rows={p.rows}, last spike {last}, spiking rows "
            f"{spiking_rows(p, spikes)})")
        return spikes, cycles

    def _collect(self, spikes, transfers, step_no):
        ctx, dut = self.ctx, self.dut
        r = self._ready()
        if r and ctx.get(dut.o_spike.valid):
            spikes.append(int(ctx.get(dut.o_spike.payload)))
            transfers.append(self.clock)
