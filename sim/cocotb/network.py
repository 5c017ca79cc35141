"""cocotb testbench of generated network tops (imported by cocotb, not by ``spikefab.hdl``).

The simulated design is a bundle of network tops side by side (ports ``n<k>__<port>``); the
jobs (one per top) come from the pickle named by ``SPIKEFAB_JOB`` and the results go to the
pickle it names. One :class:`NetworkTB` per top owns its input driver (random order within a
step, random gaps), its output monitor (random backpressure) and its scoreboard, fed by the
golden model: every output event is checked when it is transferred (its step tag is the
running step, its neuron spikes in that step in the golden model, and it is not a duplicate),
and at every step's ``done`` nothing of that step may be missing.

Every clock is one iteration of: falling edge (drive inputs), ``ReadOnly`` (sample; a stream
transfers at the next rising edge iff ``valid & ready`` here).
"""

import os
import pickle
import traceback

import numpy as np

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly

from spikefab.golden import Simulator, simulate

from spikefab.shape.cfg import Space
from spikefab.shape.image import neuron_param_words
from spikefab.shape.router import TableSpace
from spikefab.shape.network import derive
from spikefab.shape.image import (weights_from_words, destination_words, learning_words, pack_input,
                                  pack_network_cfg, pointer_words, population_state,
                                  projection_traces, projection_weights, stray_synapses,
                                  trace_addresses, unpack_output)


def golden_checkpoints(net, x, every):
    """The golden model's weights and traces of every plastic projection after step ``t``
    for every ``t`` with ``(t + 1) % every == 0`` (``every > 0``): ``{t: (weights, pre,
    post)}``, lists by projection (None for a static one)."""
    sim = Simulator(net)
    out = {}
    for t in range(x.shape[0]):
        sim.step(x[t][None])
        if every and (t + 1) % every == 0:
            out[t] = ([None if w.ndim == 2 else w[0].copy() for w in sim.weights],
                      [None if a is None else a[0].copy() for a in sim.pre],
                      [None if a is None else a[0].copy() for a in sim.post])
    return out


class NetworkTB:
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
        self.dut, self.job = dut, job
        self.prefix = f"n{k}__"
        net = job["net"]
        self.p = derive(net, **job.get("options", {}))
        self.t0 = 0                           # steps run before the current run
        seed = job.get("seed")
        self.what = ("" if seed is None else f"seed {seed}: ") + (f"network {net.name!r}: ")
        self.rng = np.random.default_rng([0 if seed is None else seed, 31, k])
        self.ready_prob = float(job.get("ready_prob", 1.0))
        self.valid_prob = float(job.get("valid_prob", 1.0))
        self.clock = 0
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

    def s(self, name):
        return getattr(self.dut, self.prefix + name)

    async def cycle(self):
        await FallingEdge(self.dut.clk)
        self.clock += 1

    def idle_inputs(self):
        for n in ("i_input__valid", "i_input__payload", "o_output__ready", "i_cfg__valid",
                  "i_cfg__payload", "o_rdata__ready"):
            self.s(n).value = 0

    # -- configuration port --------------------------------------------------------------

    async def cfg(self, target, write, space, addr, data=0):
        """One configuration command; returns the read data of a read."""
        self.s("i_cfg__payload").value = pack_network_cfg(self.p, target, write, space, addr,
                                                          data)
        self.s("i_cfg__valid").value = 1
        limit = self.clock + 10000
        while True:
            await ReadOnly()
            go = int(self.s("i_cfg__ready").value)
            await self.cycle()
            if go:
                break
            assert self.clock < limit, f"{self.what}configuration command not taken"
        self.s("i_cfg__valid").value = 0
        if write:
            return None
        self.s("o_rdata__ready").value = 1
        while True:
            await ReadOnly()
            if int(self.s("o_rdata__valid").value):
                value = int(self.s("o_rdata__payload").value)
                await self.cycle()
                break
            await self.cycle()
        self.s("o_rdata__ready").value = 0
        return value

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
        stray = [s for s in stray_synapses(self.m, per_core)
                 if not plastic_only or self.p.cores[s[0]].plastic]
        assert not stray, (
            f"{self.what}core {stray[0][0]}, axon slot {stray[0][1]}, neuron {stray[0][2]}: "
            f"weight {stray[0][3]} where no projection has a synapse (golden 0)")
        return projection_weights(self.m, per_core)

    async def read_traces(self):
        words = {}
        for c, space, addr in trace_addresses(self.m, self.p.cores):
            words[(c, space, addr)] = await self.cfg(c, 0, space, addr)
        return projection_traces(self.m, self.p.cores, words)

    def check_learning(self, t, weights, traces, want):
        """Plastic weights and traces (read) against the golden model's ``want`` =
        ``(weights, pre, post)`` after step ``t`` (``"final"`` at the end)."""
        w_want, pre_want, post_want = want
        pre, post, copies = traces
        at = f"step {t}" if t != "final" else "end of the run"
        for k, pr in enumerate(self.net.projections):
            if not pr.plastic:
                continue
            if weights is not None:
                bad = np.argwhere(weights[k] != w_want[k])
                assert not len(bad), (
                    f"{self.what}{at}, weights of projection {k}, row {bad[0][0]}, column "
                    f"{bad[0][1]}: read {weights[k][tuple(bad[0])]}, golden "
                    f"{w_want[k][tuple(bad[0])]}")
            for c, x in copies[k]:
                bad = np.flatnonzero(x != pre_want[k])
                assert not len(bad), (
                    f"{self.what}{at}, pre trace {bad[0]} of projection {k} (core {c}): "
                    f"read {x[bad[0]]}, golden {pre_want[k][bad[0]]}")
            bad = np.flatnonzero(post[k] != post_want[k])
            assert not len(bad), (
                f"{self.what}{at}, post trace of projection {k}, population {pr.target}, "
                f"neuron {bad[0]}: read {post[k][bad[0]]}, golden {post_want[k][bad[0]]}")

    # -- the run -------------------------------------------------------------------------

    def _words(self, t):
        chans = [int(j) for j in self.rng.permutation(np.flatnonzero(self.x[t]))]
        return [pack_input(self.p, j) for j in chans] + [pack_input(self.p, None)]

    def _check_step(self, t, seen):
        """At the barrier of step ``t``: every golden spike of the output populations of step
        ``t`` has been reported."""
        if self.golden is None:
            return
        for pop in self.m.outputs:
            want = self.golden.spikes[pop][t]
            for i in np.flatnonzero(want):
                h = self.m.host_id(pop, int(i))
                assert (t, h) in seen, (
                    f"{self.what}step {t}, population {pop}, neuron {i}: spike 0 (none "
                    f"reported by the end of the step), golden 1")

    def _check_event(self, t_run, tag, h, seen):
        mask = (1 << self.p.step_bits) - 1
        pop, i = self.m.host_neuron(h)
        assert pop in self.m.outputs, (
            f"{self.what}step {t_run}: output event of neuron {h} ({pop}[{i}]), not of an "
            f"output population")
        assert t_run is not None and tag == ((self.t0 + t_run) & mask), (
            f"{self.what}step {t_run}, population {pop}, neuron {i}: output tagged with step "
            f"{tag}, expected {self.t0 + t_run}")
        assert (t_run, h) not in seen, (
            f"{self.what}step {t_run}, population {pop}, neuron {i}: reported twice")
        if self.golden is not None:
            want = int(self.golden.spikes[pop][t_run][i])
            assert want == 1, (
                f"{self.what}step {t_run}, population {pop}, neuron {i}: spike 1, golden "
                f"{want}")

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

    async def run_one(self):
        T = self.x.shape[0]
        net, m = self.net, self.m
        record = self.job.get("record_state", False)
        lockstep = self.job.get("lockstep", False) or record
        spikes = {q.name: np.zeros((T, q.size), np.uint8) for q in net.populations}
        u = {q.name: np.zeros((T, q.size), np.int64) for q in net.populations} if record \
            else None
        v = {q.name: np.zeros((T, q.size), np.int64) for q in net.populations} if record \
            else None
        cycles = np.zeros(T, np.int64)
        starts = np.zeros(T, np.int64)
        seen, order = set(), []
        t_send, words, cur = 0, [], None      # step being sent, its words, the word offered
        t_done, t_run, begin = 0, None, None  # steps ended, step running, clock it began
        pending = None                        # (step, begin, end): cycles to read next clock
        limit_gap = 200000
        last_progress = self.clock
        while t_done < T:
            # drive
            if cur is None and not words and t_send < T and (not lockstep or t_send == t_done):
                words = self._words(t_send)
                t_send += 1
            if cur is None and words and self.rng.random() < self.valid_prob:
                cur = words.pop(0)
            self.s("i_input__valid").value = int(cur is not None)
            self.s("i_input__payload").value = 0 if cur is None else cur
            ready = int(self.ready_prob >= 1 or self.rng.random() < self.ready_prob)
            self.s("o_output__ready").value = ready
            await ReadOnly()
            # sample
            if cur is not None and int(self.s("i_input__ready").value):
                cur = None
                last_progress = self.clock
            if ready and int(self.s("o_output__valid").value):
                h, tag = unpack_output(self.p, int(self.s("o_output__payload").value))
                self._check_event(t_run, tag, h, seen)
                seen.add((t_run, h))
                order.append((t_run, h))
                pop, i = m.host_neuron(h)
                spikes[pop][t_run, i] = 1
                last_progress = self.clock
            busy = int(self.s("busy").value)
            if busy and t_run is None:
                t_run, begin = t_done, self.clock
                starts[t_run] = begin
                last_progress = self.clock
            if pending is not None:
                self._check_cycles(pending, cycles, t_done)
                pending = None
            if int(self.s("done").value):
                assert t_run == t_done, f"{self.what}done without a running step"
                self._check_step(t_run, seen)
                pending = (t_run, begin, self.clock)
                t_done += 1
                t_run = None
                last_progress = self.clock
                if record:
                    # nothing can transfer now: the step's inputs were all taken before it
                    # started, and the router is idle
                    await self.cycle()
                    await ReadOnly()
                    self._check_cycles(pending, cycles, t_done)
                    pending = None
                    await self.cycle()
                    self.s("i_input__valid").value = 0
                    self.s("o_output__ready").value = 0
                    uu, vv, rr = await self.read_state()
                    for q in net.populations:
                        u[q.name][t_done - 1], v[q.name][t_done - 1] = uu[q.name], vv[q.name]
                    if self.golden is not None:
                        self._check_state(t_done - 1, uu, vv)
                    if t_done - 1 in self.checkpoints:
                        w = await self.read_weights(plastic_only=True)
                        self.check_learning(t_done - 1, w, await self.read_traces(),
                                            self.checkpoints[t_done - 1])
                    continue
            await self.cycle()
            assert self.clock - last_progress < limit_gap, (
                f"{self.what}step {t_done}: no progress for {limit_gap} clocks")
        await ReadOnly()
        if pending is not None:
            self._check_cycles(pending, cycles, t_done)
        await self.cycle()
        # nothing more may come out
        self.s("i_input__valid").value = 0
        self.s("o_output__ready").value = 1
        for _ in range(20):
            await ReadOnly()
            assert not int(self.s("o_output__valid").value), (
                f"{self.what}after the last step: an output event was offered")
            await self.cycle()
        self.s("o_output__ready").value = 0
        if self.golden is not None:
            for q in net.populations:
                if q.name not in m.outputs:
                    continue
                g = self.golden.spikes[q.name]
                bad = np.argwhere(spikes[q.name] != g)
                assert not len(bad), (
                    f"{self.what}step {bad[0][0]}, population {q.name}, neuron {bad[0][1]}: "
                    f"spike {spikes[q.name][tuple(bad[0])]}, golden {g[tuple(bad[0])]}")
        weights = None
        if self.job.get("read_weights", False):
            weights = await self.read_weights()
            if self.golden is not None:
                for k, (w, want) in enumerate(zip(weights, self.golden.weights)):
                    bad = np.argwhere(w != want)
                    assert not len(bad), (
                        f"{self.what}final weights of projection {k}, row {bad[0][0]}, column "
                        f"{bad[0][1]}: read {w[tuple(bad[0])]}, golden "
                        f"{want[tuple(bad[0])]}")
        pre = post = None
        if self.plastic and self.job.get("read_weights", False):
            traces = await self.read_traces()
            pre, post = traces[0], traces[1]
            if self.golden is not None:
                self.check_learning("final", None, traces,
                                    (self.golden.weights, self.golden.pre_traces,
                                     self.golden.post_traces))
        return {"spikes": spikes, "u": u, "v": v, "weights": weights, "cycles": cycles,
                "starts": starts, "outputs": order, "pre": pre, "post": post}

    def _check_cycles(self, pending, cycles, t_done):
        t, begin, end = pending
        cycles[t] = int(self.s("cycles").value)
        assert cycles[t] == end - begin + 1, (
            f"{self.what}step {t}, field cycles: reported {cycles[t]}, measured "
            f"{end - begin + 1}")
        steps = int(self.s("steps").value)
        assert steps == (self.t0 + t_done) % (1 << self.p.step_bits), (
            f"{self.what}step {t}, field steps: reported {steps}, expected "
            f"{self.t0 + t_done}")

    def _check_state(self, t, uu, vv):
        for field, got, want in (("u", uu, self.golden.u), ("v", vv, self.golden.v)):
            for q in self.net.populations:
                g, w = got[q.name], want[q.name][t]
                bad = np.flatnonzero(g != w)
                assert not len(bad), (
                    f"{self.what}step {t}, population {q.name}, neuron {bad[0]}, field "
                    f"{field}: {g[bad[0]]}, golden {w[bad[0]]}")


@cocotb.test()
async def run(dut):
    """Run every job named by ``SPIKEFAB_JOB`` on its top of the bundle; write the results."""
    path = os.environ["SPIKEFAB_JOB"]
    with open(path, "rb") as f:
        spec = pickle.load(f)
    try:
        tbs = [NetworkTB(dut, k, job) for k, job in enumerate(spec["jobs"])]
        Clock(dut.clk, 10, unit="ns").start()
        for tb in tbs:
            tb.idle_inputs()
        dut.rst.value = 1
        for _ in range(3):
            await FallingEdge(dut.clk)
        dut.rst.value = 0
        tasks = [cocotb.start_soon(tb.run()) for tb in tbs]
        res = []
        for task, job in zip(tasks, spec["jobs"]):
            runs = await task
            res.append(runs if "runs" in job else runs[0])
    except BaseException as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        with open(spec["error"], "w") as f:
            f.write(first + "\n\n" + traceback.format_exc())
        raise
    with open(spec["out"], "wb") as f:
        pickle.dump(res, f)
