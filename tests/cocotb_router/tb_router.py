"""cocotb testbench of the generated router Verilog (run by ``tests/test_hdl_router_rtl.py``).

The job comes from the pickle named by ``SPIKEFAB_JOB``: router params, steps of source
events, table writes, stall probabilities, the seed, and optionally the params whose table the
scoreboard expects (``model``, to prove that a wrong table fails). :class:`RouterTB` owns the
clock, reset, drivers (random ``valid`` gaps on every input), random ``ready`` on every output
(:mod:`spikefab.sim.cocotb.streams`' one driver and monitor), the stream rule checker and the
multiset scoreboard. Figures go to ``out``; the first failure message goes to ``error`` (and
fails the test).
"""

import numpy as np

import cocotb
from cocotb.triggers import ReadOnly

from spikefab.sim.cocotb.job import run_job_file
from spikefab.sim.cocotb.streams import TB

from .stimulus import ProtocolChecker, Scoreboard, cfg_word


class RouterTB(TB):
    """Drivers, monitors and scoreboard of one router.

    Every clock draws, from the one generator seeded by ``seed``: a gap for each input with
    an event waiting (host first, then the cores in order), then ``ready`` of each output
    (the cores in order, then the host).
    """

    def __init__(self, dut, p, seed, valid_prob, ready_prob, model=None):
        super().__init__(dut)
        self.p = p
        self.rng = np.random.default_rng([seed, 13])
        self.what = f"seed {seed}"
        self.sb = Scoreboard(model or p, self.what)
        self.checkers = ([ProtocolChecker(f"o_event[{c}]", self.what) for c in range(p.cores)]
                         + [ProtocolChecker("o_host", self.what)])
        # (driver, source id of its payload)
        self.inputs = [(self.driver("i_host", self.rng, valid_prob), lambda x: x)]
        self.inputs += [(self.driver(f"i_spike__{c}", self.rng, valid_prob),
                         lambda x, c=c: p.core_base[c] + x) for c in range(p.cores)]
        self.events = [self.monitor(f"o_event__{c}", self.rng, ready_prob)
                       for c in range(p.cores)]
        self.host = self.monitor("o_host", self.rng, ready_prob)
        self.cmd = self.driver("i_cfg")

    async def reset(self):
        await super().reset("step")

    async def write(self, space, addr, value):
        p = self.p
        space, addr, data = cfg_word(p, space, addr, value)
        # i_cfg payload: space in bit 0, then addr, then data (router_cfg_layout)
        abits = max(p.source_bits, max(1, (p.entries - 1).bit_length()))
        await self.cmd.send(space | (addr << 1) | (data << (1 + abits)))
        self.sb.write(space, addr, value)

    def _outputs(self):
        """Every output transfer of this clock to the scoreboard; the stream rule checked."""
        p, sb = self.p, self.sb
        for c, m in enumerate(self.events):
            word = m.sample()
            self.checkers[c].clock(m.offered is not None, m.ready_now, m.offered, self.clock)
            if word is not None:
                sb.deliver(c, word, None, self.clock)
        word = self.host.sample()
        ev = None if self.host.offered is None else (
            self.host.offered & ((1 << p.index_bits) - 1), self.host.offered >> p.index_bits)
        self.checkers[-1].clock(ev is not None, self.host.ready_now, ev, self.clock)
        if word is not None:
            sb.deliver("host", ev[0], ev[1], self.clock)

    async def run_step(self, t, st, max_step=5000):
        d, p, sb = self.dut, self.p, self.sb
        d.step.value = t % (1 << p.step_bits)
        self.inputs[0][0].put(*st["host"])
        for c in range(p.cores):
            self.inputs[1 + c][0].put(*st["spikes"][c])
        start = self.clock
        while True:
            for drv, _ in self.inputs:
                drv.drive()
            for m in self.events + [self.host]:
                m.drive()
            await ReadOnly()
            idle = int(d.idle.value)
            if idle and not any(drv.busy for drv, _ in self.inputs):
                break
            if idle and sb.outstanding:
                raise AssertionError(f"{self.what}: clock {self.clock}: idle is high with "
                                     f"{sb.outstanding} events not yet delivered")
            for drv, sid in self.inputs:
                word = drv.sample()
                if word is not None:
                    sb.source(sid(word), t)
            self._outputs()
            await self.cycle()
            if self.clock - start > max_step:
                raise AssertionError(f"{self.what}: step {t} not drained after {max_step} "
                                     f"clocks ({sb.outstanding} events outstanding)")
        clocks = self.clock - start
        await self.cycle()
        sb.check_empty(f"end of step {t}")
        return clocks


async def run_router(dut, job):
    """The job's steps (and table writes) on the router; its figures."""
    tb = RouterTB(dut, job["params"], job["seed"], job["valid_prob"], job["ready_prob"],
                  job.get("model"))
    await tb.reset()
    clocks = []
    for t, st in enumerate(job["steps"]):
        for space, addr, value in job.get("writes", {}).get(t, ()):
            await tb.write(space, addr, value)
        clocks.append(await tb.run_step(t, st))
    return {"clocks": clocks, "delivered": tb.sb.delivered, "sources": tb.sb.sources}


@cocotb.test()
async def router_job(dut):
    """Run the job named by ``SPIKEFAB_JOB`` and write its figures."""
    async def body(job):
        return await run_router(dut, job)
    await run_job_file(body)
