"""cocotb testbench of the generated core Verilog (imported by cocotb, not by ``spikefab.hdl``).

The job (what to run, and whether to check against the golden model as it runs) comes from a
pickle named by ``SPIKEFAB_JOB``; the results go to the pickle it names. :class:`CoreTB` owns
the clock, the reset, the event driver, the configuration port, the spike monitor with random
backpressure, and the scoreboard fed by the golden model; the streams are
:mod:`.streams`' one driver and monitor.
"""

import numpy as np

import cocotb
from cocotb.triggers import ReadOnly

from spikefab.golden import Simulator as Golden

from spikefab.shape.cfg import Space
from spikefab.shape.latency import update_start as compute_update_start
from spikefab.shape.image import (CoreMap, learn_addr, learn_values, neuron_param_words, pack_cfg,
                                  post_addr, unpack_state, unpack_traces,
                                  weights_from_words)

from ..scoreboard import check_core_state, check_core_step, first_mismatch
from .job import run_job_file
from .streams import TB

class CoreTB(TB):
    """Driver, monitor and scoreboard of one core.

    Parameters
    ----------
    dut : cocotb handle of the generated ``spikefab_core``
    params : CoreParams
    rng : numpy.random.Generator
        Backpressure pattern.
    ready_prob : float
        Probability of ``o_spike.ready`` in each clock.
    what : str
        Prefix of every failure message (the seed).
    weight_ram : str
        The generated core's weight memory kind (its cycle counts depend on it).
    """

    def __init__(self, dut, params, rng, ready_prob=1.0, what="", weight_ram="dual"):
        super().__init__(dut)
        self.p, self.rng = params, rng
        self.weight_ram = weight_ram
        self.what = what
        self.events = self.driver("i_event")                  # back to back: no gaps
        self.spikes = self.monitor("o_spike", rng, ready_prob)
        self.cmd = self.driver("i_cfg")
        self.rdata = self.monitor("o_rdata")

    async def reset(self):
        await super().reset("start")

    async def cfg(self, write, space, addr, data=0):
        """One configuration command; returns the read data of a read."""
        await self.cmd.send(pack_cfg(self.p, write, space, addr, data))
        if write:
            return None
        return await self.rdata.recv()

    async def read_state(self):
        """``(u, v, r)`` lists of all ``N`` neurons through the configuration port."""
        u, v, r = [], [], []
        for row in range(self.p.rows):
            uu, vv, rr = unpack_state(self.p, await self.cfg(0, Space.STATE, row))
            u += uu
            v += vv
            r += rr
        n = self.p.neurons
        return u[:n], v[:n], r[:n]

    async def read_weights(self):
        """The ``(A, N)`` weight matrix through the configuration port."""
        words = [await self.cfg(0, Space.WEIGHT, a) for a in range(self.p.weight_depth)]
        return weights_from_words(self.p, words)

    async def read_traces(self):
        """Per plastic group: (pre traces of its axon slots, post traces of all neurons)."""
        p, out = self.p, []
        for k, g in enumerate(p.plastic_groups):
            off, size = p.pre_offsets[k], p.axon_shifts[g][0]
            pre = [await self.cfg(0, Space.PRE, off + j) for j in range(size)]
            post = []
            for row in range(p.rows):
                post += unpack_traces(p, await self.cfg(0, Space.POST, post_addr(p, k, row)))
            out.append((pre, post[:p.neurons]))
        return out

    async def configure(self, params):
        """Write every weight and neuron parameter of ``params`` through the port, and read
        each back."""
        for addr, word in enumerate(params.weight_words()):
            await self.cfg(1, Space.WEIGHT, addr, word)
        values = neuron_param_words(params)
        for k, g in enumerate(params.plastic_groups):
            for field, value in learn_values(params, params.stdp[g]).items():
                values[learn_addr(params, k, field)] = value
        for param, value in values.items():
            await self.cfg(1, Space.PARAM, param, value)
        for param, value in values.items():
            got = await self.cfg(0, Space.PARAM, param)
            assert got == value, f"{self.what}parameter {param}: read {got}, wrote {value}"
        for addr, word in enumerate(params.weight_words()):
            got = await self.cfg(0, Space.WEIGHT, addr)
            assert got == word, f"{self.what}weight word {addr}: read {got:#x}, wrote {word:#x}"

    async def deliver(self, events):
        """Events outside a step (no ``start``): taken, accumulated and depressed."""
        await self.events.send(*events)

    async def step(self, events, step_no, expect=None):
        """Run one step: events back to back, ``start`` the clock after the last transfer.

        With ``expect`` (the golden spike ids in order), every spike transfer is checked at
        the clock it happens. Returns ``(spike ids, reported cycles)``; the cycles are checked
        against the measured span and :func:`~spikefab.shape.latency.step_cycles`.
        """
        d, p = self.dut, self.p
        mark = len(self.spikes.transfers)
        first = None
        self.events.put(*events)
        while self.events.busy:
            self.spikes.drive()
            self.events.drive()
            await ReadOnly()
            self._spike(mark, expect, step_no)
            if self.events.sample() is not None and first is None:
                first = self.clock
            await self.cycle()
        self.events.stop()
        s = self.clock
        d.start.value = 1
        update_start = compute_update_start(p, len(events), first, s, self.weight_ram)
        begin = first if len(events) else s
        limit = self.clock + 64 * (p.rows + 20) * p.lanes
        while True:
            self.spikes.drive()
            await ReadOnly()
            self._spike(mark, expect, step_no)
            if int(d.done.value):
                break
            assert self.clock < limit, f"{self.what}step {step_no}: no done by clock {limit}"
            await self.cycle()
            d.start.value = 0
        done_at = self.clock
        await self.cycle()
        d.start.value = 0
        self.spikes.set_ready(0)
        await ReadOnly()
        cycles = int(d.cycles.value)
        await self.cycle()
        transfers = [c for c, _ in self.spikes.transfers[mark:]]
        spikes = [n for _, n in self.spikes.transfers[mark:]]
        check_core_step(self.what, step_no, p, spikes, expect, transfers, update_start, begin,
                        done_at, cycles, len(events), self.weight_ram)
        return spikes, cycles

    def _spike(self, mark, expect, step_no):
        """Take a spike transfer of this clock (if any); check it against ``expect``."""
        n = self.spikes.sample()
        if n is None or expect is None:
            return
        k = len(self.spikes.transfers) - 1 - mark
        assert k < len(expect) and expect[k] == n, (
            f"{self.what}step {step_no}, field spike #{k}: got neuron {n}, expected "
            f"{'none' if k >= len(expect) else f'neuron {expect[k]}'} "
            f"(clock {self.clock})")


async def run_job(dut, job):
    """Run the job's network on ``dut``; return the results dict."""
    net, inputs = job["net"], job["inputs"]
    cmap = CoreMap(net, lanes=job["lanes"])
    p = cmap.params
    seed = job.get("seed")
    what = "" if seed is None else f"seed {seed}: "
    rng = np.random.default_rng([0 if seed is None else seed, 17])
    tb = CoreTB(dut, p, rng, job.get("ready_prob", 1.0), what, job.get("weight_ram", "dual"))
    await tb.reset()
    if job.get("configure"):
        await tb.configure(p)
    check = job.get("check", False)
    golden = Golden(net) if check else None
    name = cmap.pop.name
    steps, n = inputs.shape[0], p.neurons
    spikes = np.zeros((steps, n), np.uint8)
    record = job.get("record_state", False) or check
    u = np.zeros((steps, n), np.int64) if record else None
    v = np.zeros((steps, n), np.int64) if record else None
    cycles = np.zeros(steps, np.int64)
    prev = np.zeros(n, bool)
    every = job.get("check_learning_every", 1)

    async def check_learning(t):
        w = await tb.read_weights()
        for g, (off, (size, _)) in enumerate(zip(p.axon_offsets, p.axon_shifts)):
            gw = golden.weights[g]
            gw = gw[0] if gw.ndim == 3 else gw
            first_mismatch(what, t, f"weight of projection {g}", w[off:off + size], gw)
        for k, (pre, post) in enumerate(await tb.read_traces()):
            g = p.plastic_groups[k]
            first_mismatch(what, t, f"pre trace of projection {g}", np.array(pre),
                            golden.pre[g][0])
            first_mismatch(what, t, f"post trace of projection {g}", np.array(post),
                            golden.post[g][0])
    for t in range(steps):
        events = cmap.events(inputs[t], prev)
        if job.get("shuffle", False):
            events = rng.permutation(events)
        expect = None
        if check:
            # the core takes this step's recurrent spikes with the next step's events, so
            # the step is compared before golden delivers them (SPEC section 4, step 6)
            expect = list(np.flatnonzero(golden.update(inputs[t][None])[name][0]))
        ids, cycles[t] = await tb.step(events, t, expect)
        spikes[t, ids] = 1
        prev = spikes[t].astype(bool)
        if record:
            uu, vv, rr = await tb.read_state()
            u[t], v[t] = uu, vv
            if check:
                check_core_state(what, t, n, (uu, vv, rr), golden, name)
        if check and p.plastic and ((t + 1) % every == 0 or t == steps - 1):
            await check_learning(t)
        if check:
            golden.deliver()
    res = {"spikes": spikes, "u": u, "v": v, "cycles": cycles}
    if p.plastic:
        # the last step's recurrent spikes reach their synapses (accumulated for a step that
        # does not run, and depressed), as a network top's barrier does: the final weights
        # are golden's after the run
        await tb.deliver(cmap.events(np.zeros(net.inputs, bool), prev))
        res["weights"] = await tb.read_weights()
        res["traces"] = await tb.read_traces()
    return res


@cocotb.test()
async def run(dut):
    """Run the job named by ``SPIKEFAB_JOB`` and write its results."""
    async def body(job):
        return await run_job(dut, job)
    await run_job_file(body)
