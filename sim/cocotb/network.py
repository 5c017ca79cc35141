"""cocotb testbench of generated network tops (imported by cocotb, not by ``spikefab.hdl``).

The simulated design is a bundle of network tops side by side (ports ``n<k>__<port>``); the
jobs (one per top) come from the pickle named by ``SPIKEFAB_JOB`` and the results go to the
pickle it names. One :class:`NetworkTB` per top owns its input driver (random order within a
step, random gaps), its output monitor (random backpressure), both :mod:`.streams`' one driver
and monitor, and its :class:`~spikefab.sim.scoreboard.Scoreboard`, fed by the golden model:
every output event is checked when it is transferred (its step tag is the running step, its neuron spikes in that
step in the golden model, and it is not a duplicate), and at every step's ``done`` nothing of
that step may be missing.
"""

from types import SimpleNamespace

import numpy as np

import cocotb
from cocotb.triggers import ReadOnly

from spikefab.golden import simulate

from spikefab.shape.cfg import Space
from spikefab.shape.image import neuron_param_words
from spikefab.shape.router import TableSpace
from spikefab.shape.network import derive
from spikefab.shape.image import (weights_from_words, destination_words, learning_words, pack_input,
                                  pack_network_cfg, pointer_words, population_state,
                                  projection_traces, trace_addresses, unpack_output)

from ..scoreboard import Scoreboard, golden_checkpoints, network_weights
from .job import run_job_file
from .streams import TB, pulse_reset, start_clock

#: Clocks without a transfer or a step boundary after which a run fails.
_NO_PROGRESS = 200000


class NetworkTB(TB):
    """Driver, monitor and scoreboard of one network top of the bundle.

    Parameters
    ----------
    dut : cocotb handle of the bundle
    k : int
        Which top (port prefix ``n<k>__``).
    job : dict
        As :func:`spikefab.sim.network.run_networks` takes it.
    """

    def __init__(self, dut, k, job):
        super().__init__(dut, f"n{k}__")
        self.job = job
        net = job["net"]
        self.p = derive(net, **job.get("options", {}))
        self.t0 = 0                           # steps run before the current run
        seed = job.get("seed")
        self.what = ("" if seed is None else f"seed {seed}: ") + (f"network {net.name!r}: ")
        self.rng = np.random.default_rng([0 if seed is None else seed, 31, k])
        self.input = self.driver("i_input", self.rng, job.get("valid_prob", 1.0))
        self.output = self.monitor("o_output", self.rng, job.get("ready_prob", 1.0))
        self.cmd = self.driver("i_cfg")
        self.rdata = self.monitor("o_rdata")
        self._select(net, job["inputs"])

    def _select(self, net, inputs):
        """Make ``net`` (the built shape, its own weights and parameters) and ``inputs`` the
        current run."""
        self.net = net
        self.m = derive(net, **self.job.get("options", {})).mapping
        self.x = np.asarray(inputs, bool)
        self.golden = simulate(net, self.x, record_state=True) if self.job.get("check") \
            else None
        self.plastic = any(pr.plastic for pr in net.projections)
        # lock-step runs of plastic networks compare every plastic weight and trace every
        # ``checkpoint`` steps (traces are cheap to read; weights cost a read per word)
        every = int(self.job.get("checkpoint", 0)) if self.plastic else 0
        self.checkpoints = golden_checkpoints(net, self.x, every) \
            if self.golden is not None and every else {}

    # -- configuration port --------------------------------------------------------------

    async def cfg(self, target, write, space, addr, data=0):
        """One configuration command; returns the read data of a read."""
        await self.cmd.send(pack_network_cfg(self.p, target, write, space, addr, data),
                            timeout=10000,
                            message=f"{self.what}configuration command not taken")
        if write:
            return None
        return await self.rdata.recv()

    async def read_state(self):
        words = []
        for c, cp in enumerate(self.p.cores):
            words.append([await self.cfg(c, 0, Space.STATE, row) for row in range(cp.rows)])
        return population_state(self.m, self.p.cores, words)

    async def read_weights(self, plastic_only=False):
        per_core = []
        for c, (cp, mc) in enumerate(zip(self.p.cores, self.m.cores)):
            if plastic_only and not cp.plastic:
                per_core.append(np.zeros((cp.axons, cp.neurons), np.int64))
                continue
            words = [await self.cfg(c, 0, Space.WEIGHT, a) for a in range(cp.weight_depth)]
            per_core.append(weights_from_words(cp, words))
        return network_weights(self.what, self.p, per_core, plastic_only)

    async def read_traces(self):
        words = {}
        for c, space, addr in trace_addresses(self.m, self.p.cores):
            words[(c, space, addr)] = await self.cfg(c, 0, space, addr)
        return projection_traces(self.m, self.p.cores, words)

    async def configure(self):
        """Clear every core's state and accumulators, write the current network's weights,
        neuron parameters and routing table through the configuration port, and read the
        parameters back."""
        router = self.p.router_target
        for c, cp in enumerate(self.m.core_params(c, self.p.lanes)
                               for c in range(len(self.m.cores))):
            for row in range(cp.rows):
                await self.cfg(c, 1, Space.ACC, row, 0)
                await self.cfg(c, 1, Space.STATE, row, 0)
            for addr, word in enumerate(cp.weight_words()):
                await self.cfg(c, 1, Space.WEIGHT, addr, word)
            values = neuron_param_words(self.p.cores[c], cp.neuron_sets)
            for addr, value in values.items():
                await self.cfg(c, 1, Space.PARAM, addr, value)
            for addr, value in values.items():
                got = await self.cfg(c, 0, Space.PARAM, addr)
                assert got == value, (f"{self.what}core {c}, parameter {addr}: read "
                                      f"{got}, wrote {value}")
        for c, addr, word in learning_words(self.m, self.p.cores, self.net):
            await self.cfg(c, 1, Space.PARAM, addr, word)
        for c, addr, word in learning_words(self.m, self.p.cores, self.net):
            got = await self.cfg(c, 0, Space.PARAM, addr)
            assert got == word, (f"{self.what}core {c}, learning register {addr}: read "
                                 f"{got}, wrote {word}")
        for c, space, addr in trace_addresses(self.m, self.p.cores):
            await self.cfg(c, 1, space, addr, 0)
        for s, word in enumerate(pointer_words(self.p.router, self.m.pointer_words())):
            await self.cfg(router, 1, TableSpace.POINTER, s, word)
        for e, word in enumerate(destination_words(self.p.router,
                                                   self.m.destination_words())):
            await self.cfg(router, 1, TableSpace.DESTINATION, e, word)

    # -- the run -------------------------------------------------------------------------

    async def run(self):
        """Every run of the job: the built network, then each of ``job["runs"]``
        (reconfigured through the port, state cleared); one result dict per run. With
        ``job["configure"]`` the first run is loaded through the port too (a build whose
        weight memories have no initial contents: UP5K SPRAM)."""
        if self.job.get("configure"):
            await self.configure()
        out = [await self.run_one()]
        for r in self.job.get("runs", ()):
            self.t0 += self.x.shape[0]
            self._select(r["net"], r["inputs"])
            await self.configure()
            out.append(await self.run_one())
        return out

    def _words(self, t):
        chans = [int(j) for j in self.rng.permutation(np.flatnonzero(self.x[t]))]
        return [pack_input(self.p, j) for j in chans] + [pack_input(self.p, None)]

    async def run_one(self):
        """One run of the current network and inputs: every step's input words sent (after
        the previous step's barrier with ``lockstep``), every output event checked as it
        transfers, every step's counters at its end; then the final checks."""
        T, pops = self.x.shape[0], self.net.populations
        record = self.job.get("record_state", False)
        self.sb = Scoreboard(self)
        run = SimpleNamespace(
            lockstep=self.job.get("lockstep", False) or record, record=record,
            spikes={q.name: np.zeros((T, q.size), np.uint8) for q in pops},
            u={q.name: np.zeros((T, q.size), np.int64) for q in pops} if record else None,
            v={q.name: np.zeros((T, q.size), np.int64) for q in pops} if record else None,
            cycles=np.zeros(T, np.int64), starts=np.zeros(T, np.int64), order=[],
            t_send=0,                # steps whose words are queued
            t_done=0,                # steps ended
            t_run=None, begin=None,  # the step running and the clock it began
            pending=None,            # (step, begin, end): counters to read the next clock
            progress=self.clock)     # the clock of the last transfer or step boundary
        while run.t_done < T:
            self._drive(run, T)
            await ReadOnly()
            if self._sample(run) and record:
                await self._barrier(run)
                continue
            await self.cycle()
            assert self.clock - run.progress < _NO_PROGRESS, (
                f"{self.what}step {run.t_done}: no progress for {_NO_PROGRESS} clocks")
        await ReadOnly()
        if run.pending is not None:
            self._counters(run)
        await self.cycle()
        await self._drain()
        return await self._finish(run)

    def _drive(self, run, T):
        """The falling edge: the next step's words queued when due, input and ``ready``."""
        if not self.input.busy and run.t_send < T and (
                not run.lockstep or run.t_send == run.t_done):
            self.input.put(*self._words(run.t_send))
            run.t_send += 1
        self.input.drive()
        self.output.drive()

    def _sample(self, run):
        """``ReadOnly``: the transfers and the step boundaries of this clock; True at a
        step's ``done``."""
        if self.input.sample() is not None:
            run.progress = self.clock
        word = self.output.sample()
        if word is not None:
            h, tag = unpack_output(self.p, word)
            pop, i = self.sb.event(run.t_run, tag, h)
            run.order.append((run.t_run, h))
            run.spikes[pop][run.t_run, i] = 1
            run.progress = self.clock
        if int(self.signal("busy").value) and run.t_run is None:
            run.t_run, run.begin = run.t_done, self.clock
            run.starts[run.t_run] = run.begin
            run.progress = self.clock
        if run.pending is not None:
            self._counters(run)
        if not int(self.signal("done").value):
            return False
        assert run.t_run == run.t_done, f"{self.what}done without a running step"
        self.sb.step(run.t_run)
        run.pending = (run.t_run, run.begin, self.clock)
        run.t_done += 1
        run.t_run = None
        run.progress = self.clock
        return True

    def _counters(self, run):
        t, begin, end = run.pending
        run.cycles[t] = self.sb.cycles(t, begin, end, run.t_done,
                                        self.signal("cycles").value,
                                        self.signal("steps").value)
        run.pending = None

    async def _barrier(self, run):
        """After a step's ``done`` (``record_state``): its counters, then its state (and its
        plastic weights and traces at a checkpoint) read and checked. Nothing can transfer
        meanwhile: the step's inputs were all taken before it started, and the router is
        idle."""
        t = run.t_done - 1
        await self.cycle()
        await ReadOnly()
        self._counters(run)
        await self.cycle()
        self.input.stop()
        self.output.set_ready(0)
        uu, vv, rr = await self.read_state()
        for q in self.net.populations:
            run.u[q.name][t], run.v[q.name][t] = uu[q.name], vv[q.name]
        if self.golden is not None:
            self.sb.state(t, uu, vv)
        if t in self.checkpoints:
            w = await self.read_weights(plastic_only=True)
            self.sb.learning(t, w, await self.read_traces(), self.checkpoints[t])

    async def _drain(self):
        """After the last step: nothing more may come out."""
        self.input.stop()
        self.output.set_ready(1)
        for _ in range(20):
            await ReadOnly()
            assert not int(self.output.valid.value), (
                f"{self.what}after the last step: an output event was offered")
            await self.cycle()
        self.output.set_ready(0)

    async def _finish(self, run):
        """The run's output spikes against the golden model, the final weights and traces
        read back (``read_weights``) and checked; the run's result dict."""
        if self.golden is not None:
            self.sb.spikes(run.spikes)
        weights = pre = post = None
        if self.job.get("read_weights", False):
            weights = await self.read_weights()
            if self.golden is not None:
                self.sb.weights(weights)
            if self.plastic:
                traces = await self.read_traces()
                pre, post = traces[0], traces[1]
                if self.golden is not None:
                    self.sb.learning("final", None, traces,
                                     (self.golden.weights, self.golden.pre_traces,
                                      self.golden.post_traces))
        return {"spikes": run.spikes, "u": run.u, "v": run.v, "weights": weights,
                "cycles": run.cycles, "starts": run.starts, "outputs": run.order, "pre": pre,
                "post": post}


async def run_bundle(dut, spec):
    """Run every job of ``spec["jobs"]`` on its top of the bundle, side by side; their
    results (a list of runs for a job with ``runs``)."""
    tbs = [NetworkTB(dut, k, job) for k, job in enumerate(spec["jobs"])]
    start_clock(dut)
    for tb in tbs:
        tb.idle()
    await pulse_reset(dut)
    tasks = [cocotb.start_soon(tb.run()) for tb in tbs]
    res = []
    for task, job in zip(tasks, spec["jobs"]):
        runs = await task
        res.append(runs if "runs" in job else runs[0])
    return res


@cocotb.test()
async def run(dut):
    """Run every job named by ``SPIKEFAB_JOB`` on its top of the bundle; write the results."""
    async def body(spec):
        return await run_bundle(dut, spec)
    await run_job_file(body)
