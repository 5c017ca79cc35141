"""cocotb testbench of the generated router Verilog (run by ``tests/test_hdl_router_rtl.py``).

The job comes from the pickle named by ``SPIKEFAB_ROUTER_JOB``: router params, steps of source
events, table writes, stall probabilities, the seed, and optionally the params whose table the
scoreboard expects (``model``, to prove that a wrong table fails). :class:`TB` owns the clock,
reset, drivers (random ``valid`` gaps on every input), random ``ready`` on every output, the
stream rule checker and the multiset scoreboard. Figures go to ``out``; the first failure message goes
to ``error`` (and fails the test).

Every clock of the driver: falling edge (drive), ``ReadOnly`` (sample; a stream transfers at
the next rising edge iff ``valid & ready`` here).
"""

import os
import pickle
import traceback

import numpy as np

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly

from .stimulus import ProtocolChecker, Scoreboard, cfg_word


class TB:
    """Drivers, monitors and scoreboard of one router."""

    def __init__(self, dut, p, seed, valid_prob, ready_prob, model=None):
        self.dut, self.p = dut, p
        self.rng = np.random.default_rng([seed, 13])
        self.what = f"seed {seed}"
        self.valid_prob, self.ready_prob = valid_prob, ready_prob
        self.sb = Scoreboard(model or p, self.what)
        self.clock = 0
        self.checkers = ([ProtocolChecker(f"o_event[{c}]", self.what) for c in range(p.cores)]
                         + [ProtocolChecker("o_host", self.what)])
        self.spike = [getattr(dut, f"i_spike__{c}__valid") for c in range(p.cores)]
        self.spike_data = [getattr(dut, f"i_spike__{c}__payload") for c in range(p.cores)]
        self.spike_ready = [getattr(dut, f"i_spike__{c}__ready") for c in range(p.cores)]
        self.ev = [(getattr(dut, f"o_event__{c}__valid"), getattr(dut, f"o_event__{c}__ready"),
                    getattr(dut, f"o_event__{c}__payload")) for c in range(p.cores)]

    async def reset(self):
        d = self.dut
        Clock(d.clk, 10, unit="ns").start()
        for sig in ([d.i_host__valid, d.i_host__payload, d.o_host__ready, d.i_cfg__valid,
                     d.i_cfg__payload, d.step] + self.spike + self.spike_data
                    + [r for _, r, _ in self.ev]):
            sig.value = 0
        d.rst.value = 1
        for _ in range(3):
            await FallingEdge(d.clk)
        d.rst.value = 0

    async def cycle(self):
        await FallingEdge(self.dut.clk)
        self.clock += 1

    def _ready(self):
        return 1 if self.ready_prob >= 1 else int(self.rng.random() < self.ready_prob)

    async def write(self, space, addr, value):
        d, p = self.dut, self.p
        space, addr, data = cfg_word(p, space, addr, value)
        # i_cfg payload: space in bit 0, then addr, then data (router_cfg_layout)
        abits = max(p.source_bits, max(1, (p.entries - 1).bit_length()))
        d.i_cfg__payload.value = space | (addr << 1) | (data << (1 + abits))
        d.i_cfg__valid.value = 1
        while True:
            await ReadOnly()
            go = int(d.i_cfg__ready.value)
            await self.cycle()
            if go:
                break
        d.i_cfg__valid.value = 0
        self.sb.write(space, addr, value)

    def _outputs(self):
        p, sb = self.p, self.sb
        for c, (v, r, d) in enumerate(self.ev):
            v, r, d = int(v.value), int(r.value), int(d.value)
            self.checkers[c].clock(v, r, d, self.clock)
            if v and r:
                sb.deliver(c, d, None, self.clock)
        d = self.dut
        v, r = int(d.o_host__valid.value), int(d.o_host__ready.value)
        word = int(d.o_host__payload.value)
        ev = (word & ((1 << p.index_bits) - 1), word >> p.index_bits)
        self.checkers[-1].clock(v, r, ev, self.clock)
        if v and r:
            sb.deliver("host", ev[0], ev[1], self.clock)

    async def run_step(self, t, st, max_step=5000):
        d, p, sb = self.dut, self.p, self.sb
        d.step.value = t % (1 << p.step_bits)
        ports = [(d.i_host__valid, d.i_host__payload, d.i_host__ready, list(st["host"]),
                  lambda x: x)]
        for c in range(p.cores):
            ports.append((self.spike[c], self.spike_data[c], self.spike_ready[c],
                          list(st["spikes"][c]), lambda x, c=c: p.core_base[c] + x))
        holding = [None] * len(ports)
        start = self.clock
        while True:
            for k, (valid, payload, _, pending, _) in enumerate(ports):
                if holding[k] is None and pending and self.rng.random() < self.valid_prob:
                    holding[k] = pending.pop(0)
                    valid.value = 1
                    payload.value = holding[k]
            for _, r, _ in self.ev:
                r.value = self._ready()
            d.o_host__ready.value = self._ready()
            await ReadOnly()
            idle = int(d.idle.value)
            busy = any(h is not None for h in holding) or any(q[3] for q in ports)
            if not busy and idle:
                break
            if idle and sb.outstanding:
                raise AssertionError(f"{self.what}: clock {self.clock}: idle is high with "
                                     f"{sb.outstanding} events not yet delivered")
            taken = []
            for k, (_, _, ready, _, sid) in enumerate(ports):
                if holding[k] is not None and int(ready.value):
                    sb.source(sid(holding[k]), t)
                    taken.append(k)
            self._outputs()
            await self.cycle()
            for k in taken:
                holding[k] = None
                ports[k][0].value = 0
            if self.clock - start > max_step:
                raise AssertionError(f"{self.what}: step {t} not drained after {max_step} "
                                     f"clocks ({sb.outstanding} events outstanding)")
        clocks = self.clock - start
        await self.cycle()
        sb.check_empty(f"end of step {t}")
        return clocks


@cocotb.test()
async def router_job(dut):
    with open(os.environ["SPIKEFAB_ROUTER_JOB"], "rb") as f:
        job = pickle.load(f)
    try:
        tb = TB(dut, job["params"], job["seed"], job["valid_prob"], job["ready_prob"],
                job.get("model"))
        await tb.reset()
        clocks = []
        for t, st in enumerate(job["steps"]):
            for space, addr, value in job.get("writes", {}).get(t, ()):
                await tb.write(space, addr, value)
            clocks.append(await tb.run_step(t, st))
        out = {"clocks": clocks, "delivered": tb.sb.delivered, "sources": tb.sb.sources}
        with open(job["out"], "wb") as f:
            pickle.dump(out, f)
    except AssertionError as e:
        with open(job["error"], "w") as f:
            f.write(f"{e}\n{traceback.format_exc()}")
        raise
