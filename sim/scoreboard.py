"""The checks of an RTL run against the golden model, shared by the cocotb testbenches
(:mod:`spikefab.sim.cocotb`) and the native Verilator harness (:mod:`spikefab.sim.native`):
one sentence per mismatch, naming the step, the population and neuron (or synapse), the field,
both values and the seed to replay.
"""

import numpy as np

from spikefab.golden import Simulator

__all__ = ["golden_checkpoints", "Scoreboard", "first_mismatch", "check_core_step",
           "check_core_state", "network_weights"]


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


class Scoreboard:
    """The checks of one run of a network top against the golden model; every failure message
    starts with ``what`` (the seed and the network) and names the step, the population, the
    neuron and both values.

    Parameters
    ----------
    tb : object
        The testbench (cocotb's ``NetworkTB`` or the native harness's run), for its current
        run: ``what``, ``net``, ``m`` (mapping), ``p`` (shape), ``golden`` (None: only the
        protocol is checked), ``t0`` (steps run before this run).
    """

    def __init__(self, tb):
        self.tb, self.what = tb, tb.what
        self.seen = set()

    def event(self, t_run, tag, h):
        """An output event of host id ``h`` tagged ``tag`` while step ``t_run`` runs."""
        tb = self.tb
        mask = (1 << tb.p.step_bits) - 1
        pop, i = tb.m.host_neuron(h)
        assert pop in tb.m.outputs, (
            f"{self.what}step {t_run}: output event of neuron {h} ({pop}[{i}]), not of an "
            f"output population")
        assert t_run is not None and tag == ((tb.t0 + t_run) & mask), (
            f"{self.what}step {t_run}, population {pop}, neuron {i}: output tagged with step "
            f"{tag}, expected {tb.t0 + t_run}")
        assert (t_run, h) not in self.seen, (
            f"{self.what}step {t_run}, population {pop}, neuron {i}: reported twice")
        if tb.golden is not None:
            want = int(tb.golden.spikes[pop][t_run][i])
            assert want == 1, (
                f"{self.what}step {t_run}, population {pop}, neuron {i}: spike 1, golden "
                f"{want}")
        self.seen.add((t_run, h))
        return pop, i

    def step(self, t):
        """At the barrier of step ``t``: every golden spike of the output populations of step
        ``t`` has been reported."""
        tb = self.tb
        if tb.golden is None:
            return
        for pop in tb.m.outputs:
            for i in np.flatnonzero(tb.golden.spikes[pop][t]):
                assert (t, tb.m.host_id(pop, int(i))) in self.seen, (
                    f"{self.what}step {t}, population {pop}, neuron {i}: spike 0 (none "
                    f"reported by the end of the step), golden 1")

    def cycles(self, t, begin, end, t_done, cycles, steps):
        """The ``cycles`` and ``steps`` counters read the clock after step ``t``'s ``done``
        (which came at clock ``end``, its ``busy`` having risen at ``begin``; ``t_done`` steps
        ended by then); returns the reported cycles."""
        tb = self.tb
        cycles, steps = int(cycles), int(steps)
        assert cycles == end - begin + 1, (
            f"{self.what}step {t}, field cycles: reported {cycles}, measured "
            f"{end - begin + 1}")
        assert steps == (tb.t0 + t_done) % (1 << tb.p.step_bits), (
            f"{self.what}step {t}, field steps: reported {steps}, expected "
            f"{tb.t0 + t_done}")
        return cycles

    def state(self, t, uu, vv):
        tb = self.tb
        for field, got, want in (("u", uu, tb.golden.u), ("v", vv, tb.golden.v)):
            for q in tb.net.populations:
                g, w = got[q.name], want[q.name][t]
                bad = np.flatnonzero(g != w)
                assert not len(bad), (
                    f"{self.what}step {t}, population {q.name}, neuron {bad[0]}, field "
                    f"{field}: {g[bad[0]]}, golden {w[bad[0]]}")

    def learning(self, t, weights, traces, want):
        """Plastic weights and traces (read) against the golden model's ``want`` =
        ``(weights, pre, post)`` after step ``t`` (``"final"`` at the end)."""
        w_want, pre_want, post_want = want
        pre, post, copies = traces
        at = f"step {t}" if t != "final" else "end of the run"
        for k, pr in enumerate(self.tb.net.projections):
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

    def spikes(self, spikes):
        """The whole run's output spikes."""
        tb = self.tb
        for q in tb.net.populations:
            if q.name not in tb.m.outputs:
                continue
            g = tb.golden.spikes[q.name]
            bad = np.argwhere(spikes[q.name] != g)
            assert not len(bad), (
                f"{self.what}step {bad[0][0]}, population {q.name}, neuron {bad[0][1]}: "
                f"spike {spikes[q.name][tuple(bad[0])]}, golden {g[tuple(bad[0])]}")

    def weights(self, weights):
        """The final weights of every projection."""
        for k, (w, want) in enumerate(zip(weights, self.tb.golden.weights)):
            bad = np.argwhere(w != want)
            assert not len(bad), (
                f"{self.what}final weights of projection {k}, row {bad[0][0]}, column "
                f"{bad[0][1]}: read {w[tuple(bad[0])]}, golden {want[tuple(bad[0])]}")


def first_mismatch(what, step, field, got, want):
    """Assert ``got == want`` (arrays); name step, index, field, both values and the seed."""
    got, want = np.asarray(got), np.asarray(want)
    bad = np.argwhere(got != want)
    assert not len(bad), (
        f"{what}step {step}, {'neuron' if got.ndim == 1 else 'synapse'} "
        f"{list(int(x) for x in bad[0])}, field {field}: got {int(got[tuple(bad[0])])}, "
        f"expected {int(want[tuple(bad[0])])}")


def check_core_step(what, step_no, p, spikes, expect, transfers, update_start, begin, done_at,
                    cycles, events, weight_ram):
    """The checks of one step of a core top: its spikes (neuron ids in transfer order)
    against ``expect`` (the golden ids in order, or None), no spike before the update phase
    (clock ``update_start``), and the reported ``cycles`` against the measured span
    (``begin`` to the clock of ``done``) and :func:`~spikefab.shape.latency.step_cycles`."""
    from spikefab.shape.image import spiking_rows
    from spikefab.shape.latency import step_cycles
    if expect is not None:
        assert list(spikes) == list(expect), (
            f"{what}step {step_no}: spikes {list(spikes)}, expected {list(expect)}")
    assert not transfers or transfers[0] >= update_start, (
        f"{what}step {step_no}: spike at clock {transfers[0]}, before the update "
        f"phase (clock {update_start})")
    last = transfers[-1] - update_start if transfers else None
    want = step_cycles(p, events, last, spiking_rows(p, spikes), weight_ram)
    assert done_at - begin == cycles == want, (
        f"{what}step {step_no}, field cycles: reported {cycles}, measured "
        f"{done_at - begin}, formula {want} (E={events}, rows={p.rows}, last spike "
        f"{last}, spiking rows {spiking_rows(p, spikes)})")


def check_core_state(what, t, n, state, golden, name):
    """The ``(u, v, r)`` lists of a core's ``n`` neurons read after step ``t`` against the
    golden simulator's (population ``name``)."""
    for field, got, want in zip("uvr", state, (golden.u[name][0], golden.v[name][0],
                                                golden.r[name][0])):
        bad = [i for i in range(n) if got[i] != want[i]]
        assert not bad, (
            f"{what}step {t}, neuron {bad[0]}, field {field}: got {got[bad[0]]}, "
            f"expected {int(want[bad[0]])}")


def network_weights(what, p, per_core, plastic_only=False):
    """Every projection's weights from the weight matrices read from the cores of the network
    top ``p`` (zeros for the static cores skipped with ``plastic_only``); a weight where no
    projection has a synapse fails."""
    from spikefab.shape.image import projection_weights, stray_synapses
    stray = [s for s in stray_synapses(p.mapping, per_core)
             if not plastic_only or p.cores[s[0]].plastic]
    assert not stray, (
        f"{what}core {stray[0][0]}, axon slot {stray[0][1]}, neuron {stray[0][2]}: "
        f"weight {stray[0][3]} where no projection has a synapse (golden 0)")
    return projection_weights(p.mapping, per_core)
