"""The native Verilator harness: a core or a network top compiled with a C++ main
(``harness.cpp``) and driven from Python in bulk.

Where the cocotb testbenches make one Python call per clock, here Python sends a whole step (a
core's events) or a whole run of steps (a network top's input words) and a batch of
configuration commands at a time, over a pipe; the clock loop, the stream handshakes and the
step barrier run in C++. Every step is still compared with the golden model by the same
checks as the cocotb testbenches (:mod:`.scoreboard`), with the same messages.

Like the simulated board, a native build holds no network of its own: it is generated from the
shape alone (``params.shape``, blank run-time values), every network of one shape shares it,
and a run loads its weights, neuron parameters, learning registers and routes through the
configuration port first (in C++, a few clocks each).

:func:`run_core` and :func:`run_network` run a network and return what
:func:`~spikefab.sim.rtl.simulate_rtl` and :func:`~spikefab.sim.network.simulate_network_rtl`
return (they call these for ``sim="verilator"``). ``coverage=True`` builds with Verilator's
line and toggle coverage and writes each run's counts to a ``.dat`` file
(:mod:`spikefab.sim.coverage`).
"""

import numpy as np

from spikefab.golden import Simulator, simulate
from spikefab.shape.cfg import Space
from spikefab.shape.image import (CoreMap, RunResult, clear_entries, core_image, network_image,
                                  pack_cfg, pack_input, pack_network_cfg, population_state, population_theta,
                                  post_addr, projection_traces, trace_addresses, unpack_output,
                                  unpack_state, unpack_traces, weights_from_words)
from spikefab.shape.latency import update_start as compute_update_start
from spikefab.shape.network import derive

from .harness import (DRAIN, NO_PROGRESS, NativeBuild, NativeSim, build_native, check_prob,
                      native_verilog)
from .scoreboard import (Scoreboard, check_core_state, check_core_step, first_mismatch,
                         golden_checkpoints, network_weights)

__all__ = ["NativeBuild", "NativeSim", "build_native", "native_verilog", "run_core",
           "run_network", "result_of"]


def _stack(runs, batched, get):
    arr = np.stack([np.asarray(get(r)) for r in runs])
    return arr if batched else arr[0]


def _what(seed, net):
    return ("" if seed is None else f"seed {seed}: ") + f"network {net.name!r}: "


# -- a core top ------------------------------------------------------------------------------

def run_core(net, x, lanes=1, record_state=False, check=False, seed=None, ready_prob=1.0,
             shuffle=False, weight_ram="dual", check_learning_every=1, coverage_file=None,
             build_root=None):
    """Run the one-population network ``net`` on the inputs ``x`` ``(T, inputs)`` on the
    native harness of its core; the result dict of the cocotb core testbench (``spikes``,
    ``u``, ``v``, ``cycles``, and for a plastic core ``weights`` and ``traces``).

    Every step's spikes (in order, at the clock they transfer), its cycle count (against the
    measured span and :func:`~spikefab.shape.latency.step_cycles`) and, with ``check``, its
    state and the plastic weights and traces (every ``check_learning_every`` steps) are
    compared with the golden model, failing with the testbench's messages.
    """
    check_prob(ready_prob, "Ready probability")
    cmap = CoreMap(net, lanes=lanes)
    p = cmap.params
    build = build_native(p, weight_ram, coverage=coverage_file is not None,
                         build_root=build_root)
    what = "" if seed is None else f"seed {seed}: "
    rng = np.random.default_rng([0 if seed is None else seed, 17])
    name = cmap.pop.name
    steps, n = x.shape[0], p.neurons
    spikes = np.zeros((steps, n), np.uint8)
    record = record_state or check
    u = np.zeros((steps, n), np.int64) if record else None
    v = np.zeros((steps, n), np.int64) if record else None
    cycles = np.zeros(steps, np.int64)
    golden = Simulator(net) if check else None
    with NativeSim(build, coverage_file) as sim:
        sim.seed(0 if seed is None else seed)
        _load_core(sim, p, what)

        def cfg_reads(entries):
            return sim.config([(True, pack_cfg(p, 0, space, addr)) for space, addr in entries])

        def read_weights():
            return weights_from_words(p, cfg_reads([(Space.WEIGHT, a)
                                                    for a in range(p.weight_depth)]))

        def read_traces():
            out = []
            for k, g in enumerate(p.plastic_groups):
                off, size = p.pre_offsets[k], p.axon_shifts[g][0]
                pre = cfg_reads([(Space.PRE, off + j) for j in range(size)])
                post = []
                for word in cfg_reads([(Space.POST, post_addr(p, k, row))
                                       for row in range(p.rows)]):
                    post += unpack_traces(p, word)
                out.append((pre, post[:n]))
            return out

        prev = np.zeros(n, bool)
        for t in range(steps):
            events = cmap.events(x[t], prev)
            if shuffle:
                events = rng.permutation(events)
            expect = None
            if check:
                # the core takes this step's recurrent spikes with the next step's events
                expect = list(np.flatnonzero(golden.update(x[t][None])[name][0]))
            r = sim.run([int(e) for e in events], 1, core=True, ready_prob=ready_prob)
            assert not r.stalled and r.dones, (
                f"{what}step {t}: no done within {NO_PROGRESS} clocks of the last progress")
            begin_, done_at, cyc, _ = r.dones[0]
            ids = [word for _, _, word in r.outputs]
            clocks = [clock for clock, _, _ in r.outputs]
            if expect is not None:
                for k, nid in enumerate(ids):
                    assert k < len(expect) and expect[k] == nid, (
                        f"{what}step {t}, field spike #{k}: got neuron {nid}, expected "
                        f"{'none' if k >= len(expect) else f'neuron {expect[k]}'} "
                        f"(clock {clocks[k]})")
            ustart = compute_update_start(p, len(events), r.first, r.start, weight_ram)
            begin = r.first if len(events) else r.start
            check_core_step(what, t, p, ids, expect, clocks, ustart, begin, done_at, cyc,
                            len(events), weight_ram)
            cycles[t] = cyc
            spikes[t, ids] = 1
            prev = spikes[t].astype(bool)
            if record:
                uu, vv, rr = [], [], []
                for word in cfg_reads([(Space.STATE, row) for row in range(p.rows)]):
                    a, b, c = unpack_state(p, word)
                    uu += a
                    vv += b
                    rr += c
                u[t], v[t] = uu[:n], vv[:n]
                if check:
                    check_core_state(what, t, n, (uu, vv, rr), golden, name)
            if check and p.plastic and ((t + 1) % check_learning_every == 0
                                        or t == steps - 1):
                w = read_weights()
                for g, (off, (size, _)) in enumerate(zip(p.axon_offsets, p.axon_shifts)):
                    gw = golden.weights[g]
                    gw = gw[0] if gw.ndim == 3 else gw
                    first_mismatch(what, t, f"weight of projection {g}", w[off:off + size], gw)
                for k, (pre, post) in enumerate(read_traces()):
                    g = p.plastic_groups[k]
                    first_mismatch(what, t, f"pre trace of projection {g}", np.array(pre),
                                   golden.pre[g][0])
                    first_mismatch(what, t, f"post trace of projection {g}", np.array(post),
                                   golden.post[g][0])
            if check:
                golden.deliver()
        res = {"spikes": spikes, "u": u, "v": v, "cycles": cycles}
        if p.plastic:
            # the last step's recurrent spikes reach their synapses (accumulated for a step
            # that does not run, and depressed), as a network top's barrier does
            events = cmap.events(np.zeros(net.inputs, bool), prev)
            r = sim.run([int(e) for e in events], 0)
            assert not r.stalled, f"{what}after the last step: recurrent events not taken"
            res["weights"] = read_weights()
            res["traces"] = read_traces()
    return res


def _load_core(sim, p, what):
    """Write the run-time values of ``p`` into the blank core and clear its state
    (accumulators, neuron state, traces: as a network top's load does); read each back."""
    image = core_image(p) + [(space, row, 0) for space in (Space.STATE, Space.ACC)
                             for row in range(p.rows)]
    for k, g in enumerate(p.plastic_groups):
        image += [(Space.PRE, p.pre_offsets[k] + j, 0) for j in range(p.axon_shifts[g][0])]
        image += [(Space.POST, post_addr(p, k, row), 0) for row in range(p.rows)]
    sim.config([(False, pack_cfg(p, 1, space, addr, word)) for space, addr, word in image])
    got = sim.config([(True, pack_cfg(p, 0, space, addr)) for space, addr, _ in image])
    for (space, addr, word), back in zip(image, got):
        assert back == word, (f"{what}{Space(space).name.lower()} word {addr}: read {back:#x}, "
                              f"wrote {word:#x}")


# -- a network top ---------------------------------------------------------------------------

class _NetworkRun:
    """One run of a network top on the native harness: what the
    :class:`~spikefab.sim.scoreboard.Scoreboard` reads (``what``, ``net``, ``m``, ``p``,
    ``golden``, ``t0``) and the configuration port's reads."""

    def __init__(self, sim, p, net, what, golden):
        self.sim, self.p, self.m, self.net = sim, p, p.mapping, net
        self.what, self.golden, self.t0 = what, golden, 0

    def writes(self, entries):
        p = self.p
        self.sim.config([(False, pack_network_cfg(p, c, 1, space, addr, word))
                         for c, space, addr, word in entries])

    def reads(self, entries):
        p = self.p
        return self.sim.config([(True, pack_network_cfg(p, c, 0, space, addr))
                                for c, space, addr in entries])

    def load(self):
        """Write the network's weights, parameters and routes and clear its state; read the
        parameters and the cleared words (state, accumulators, traces) back."""
        image = network_image(self.p)
        clear = clear_entries(self.p)
        self.writes(image["weights"] + image["params"] + image["routes"] + clear)
        got = self.reads([(c, s, a) for c, s, a, _ in image["params"] + clear])
        for (c, space, addr, word), back in zip(image["params"] + clear, got):
            assert back == word, (f"{self.what}core {c}, {Space(space).name.lower()} word "
                                  f"{addr}: read {back}, wrote {word}")

    def _state_words(self):
        rows = [(c, Space.STATE, row) for c, cp in enumerate(self.p.cores)
                for row in range(cp.rows)]
        flat = self.reads(rows)
        words, k = [], 0
        for cp in self.p.cores:
            words.append(flat[k:k + cp.rows])
            k += cp.rows
        return words

    def read_state(self):
        return population_state(self.m, self.p.cores, self._state_words())

    def read_theta(self):
        """The adaptive threshold offsets of the populations that have one (dict)."""
        return population_theta(self.m, self.p.cores, self._state_words())

    def read_weights(self, plastic_only=False):
        per_core = []
        for c, cp in enumerate(self.p.cores):
            if plastic_only and not cp.plastic:
                per_core.append(np.zeros((cp.axons, cp.neurons), np.int64))
                continue
            words = self.reads([(c, Space.WEIGHT, a) for a in range(cp.weight_depth)])
            per_core.append(weights_from_words(cp, words))
        return network_weights(self.what, self.p, per_core, plastic_only)

    def read_traces(self):
        addrs = trace_addresses(self.m, self.p.cores)
        words = dict(zip(addrs, self.reads(addrs))) if addrs else {}
        return projection_traces(self.m, self.p.cores, words)


def run_network(net, x, options=None, record_state=False, read_weights=True, check=False,
                seed=None, ready_prob=1.0, valid_prob=1.0, checkpoint=0, chunk=4096,
                coverage_file=None, build_root=None):
    """Run ``net`` on the inputs ``x`` ``(T, inputs)`` on the native harness of its network
    top (``options``: keyword arguments of :func:`~spikefab.shape.network.derive`); the result
    dict of the cocotb network testbench (``spikes``, ``u``, ``v``, ``weights``, ``pre``,
    ``post``, ``cycles``, ``starts``, ``outputs``).

    Steps run ``chunk`` at a time (one at a time with ``record_state`` or ``checkpoint``:
    the state is read between steps), the input words of a step in a random order (``seed``).
    Every output event is checked as it comes (its tag, its neuron spiking in that step in the
    golden model, no duplicate), every step's counters at its barrier, and with ``check`` the
    state, the plastic weights and traces every ``checkpoint`` steps and the final weights,
    with the messages of the cocotb testbench.
    """
    check_prob(ready_prob, "Ready probability")
    check_prob(valid_prob, "Valid probability")
    options = dict(options or {})
    p = derive(net, **options)
    build = build_native(p, coverage=coverage_file is not None, build_root=build_root)
    what = _what(seed, net)
    rng = np.random.default_rng([0 if seed is None else seed, 31, 0])
    x = np.asarray(x, bool)
    T, pops = x.shape[0], net.populations
    golden = simulate(net, x, record_state=True) if check else None
    plastic = any(pr.plastic for pr in net.projections)
    every = int(checkpoint) if plastic and check else 0
    checkpoints = golden_checkpoints(net, x, every) if every else {}
    spikes = {q.name: np.zeros((T, q.size), np.uint8) for q in pops}
    u = {q.name: np.zeros((T, q.size), np.int64) for q in pops} if record_state else None
    v = {q.name: np.zeros((T, q.size), np.int64) for q in pops} if record_state else None
    cycles = np.zeros(T, np.int64)
    starts = np.zeros(T, np.int64)
    order = []
    step = 1 if record_state or every else max(1, int(chunk))
    with NativeSim(build, coverage_file) as sim:
        sim.seed(0 if seed is None else seed)
        run = _NetworkRun(sim, p, net, what, golden)
        run.load()
        sb = Scoreboard(run)
        for t0 in range(0, T, step):
            t1 = min(T, t0 + step)
            words = []
            for t in range(t0, t1):
                chans = [int(j) for j in rng.permutation(np.flatnonzero(x[t]))]
                words += [pack_input(p, j) for j in chans] + [pack_input(p, None)]
            r = sim.run(words, t1 - t0, valid_prob=valid_prob, ready_prob=ready_prob,
                        drain=DRAIN if t1 == T else 0)
            assert not r.stalled, (f"{what}step {t0 + len(r.dones)}: no progress for "
                                   f"{NO_PROGRESS} clocks")
            for clock, after, word in r.outputs:
                assert after < t1 - t0, (
                    f"{what}after the last step: an output event was offered")
                h, tag = unpack_output(p, word)
                t = t0 + after
                running = clock >= r.dones[after][0]
                pop, i = sb.event(t if running else None, tag, h)
                order.append((t, h))
                spikes[pop][t, i] = 1
            for k, (begin, end, cyc, stp) in enumerate(r.dones):
                t = t0 + k
                sb.step(t)
                starts[t] = begin
                cycles[t] = sb.cycles(t, begin, end, t + 1, cyc, stp)
                if record_state:
                    uu, vv, _ = run.read_state()
                    for q in pops:
                        u[q.name][t], v[q.name][t] = uu[q.name], vv[q.name]
                    if golden is not None:
                        sb.state(t, uu, vv)
                if t in checkpoints:
                    w = run.read_weights(plastic_only=True)
                    sb.learning(t, w, run.read_traces(), checkpoints[t])
        if golden is not None:
            sb.spikes(spikes)
        theta = None
        if any(q.adaptive for q in pops):
            theta = run.read_theta()
            if golden is not None:
                for name, got in theta.items():
                    first_mismatch(what, T - 1, f"adaptive threshold offset (theta) of "
                                   f"population {name}", got, golden.theta[name][-1])
        weights = pre = post = None
        if read_weights:
            weights = run.read_weights()
            if golden is not None:
                sb.weights(weights)
            if plastic:
                traces = run.read_traces()
                pre, post = traces[0], traces[1]
                if golden is not None:
                    sb.learning("final", None, traces,
                                (golden.weights, golden.pre_traces, golden.post_traces))
    return {"spikes": spikes, "u": u, "v": v, "weights": weights, "cycles": cycles,
            "starts": starts, "outputs": order, "pre": pre, "post": post, "theta": theta}


def result_of(net, runs, batched, record_state, read_weights=True):
    """The :class:`~spikefab.shape.image.RunResult` of :func:`run_network`'s result dicts (one
    per batch entry)."""
    names = [q.name for q in net.populations]
    spikes = {n: _stack(runs, batched, lambda r, n=n: r["spikes"][n]) for n in names}
    u = v = None
    if record_state:
        u = {n: _stack(runs, batched, lambda r, n=n: r["u"][n]) for n in names}
        v = {n: _stack(runs, batched, lambda r, n=n: r["v"][n]) for n in names}
    nb = len(runs)
    if read_weights:
        weights = [_stack(runs, batched, lambda r, k=k: r["weights"][k])
                   for k in range(len(net.projections))]
    else:
        weights = [np.repeat(pr.weights[None], nb, 0) if batched else pr.weights.copy()
                   for pr in net.projections]
    pre, post = [None] * len(net.projections), [None] * len(net.projections)
    if read_weights:
        for k, pr in enumerate(net.projections):
            if pr.plastic:
                pre[k] = _stack(runs, batched, lambda r, k=k: r["pre"][k])
                post[k] = _stack(runs, batched, lambda r, k=k: r["post"][k])
    return RunResult(spikes, u, v, weights, pre, post,
                     cycles=_stack(runs, batched, lambda r: r["cycles"]))
