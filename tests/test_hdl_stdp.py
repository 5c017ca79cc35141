"""Amaranth-simulator tests of on-chip STDP (``docs/spec.md`` section 4) against the golden
model: spikes, ``u``/``v``/``r``, every weight and every trace after every step, and every
step's cycle count against ``spikefab.hdl.core.step_cycles``."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from spikefab.golden import Network, Population, Projection, Simulator as Golden, Stdp
from spikefab.hdl.core import Core, step_cycles
from spikefab.hdl.host import CoreMap
from spikefab.hdl.params import CoreParams

from compare import assert_same_array, assert_same_trace
from hdl_support import core_lanes, plastic_network
from hdl_support.amaranth_core import AmaranthCoreHost
from netgen import random_inputs


def run_plastic(net, lanes, inputs, seed, ready_prob=1.0):
    """Run ``net`` on a core in the Amaranth simulator and compare everything every step."""
    cmap = CoreMap(net, lanes=lanes)
    p = cmap.params
    dut = Core(p)
    golden = Golden(net)
    name = net.populations[0].name
    rng = np.random.default_rng([seed, 99])
    cycles = []

    async def tb(ctx):
        host = AmaranthCoreHost(ctx, dut, rng, ready_prob, what=f"seed {seed}: ")
        prev = np.zeros(p.neurons, bool)
        for t in range(inputs.shape[0]):
            events = rng.permutation(cmap.events(inputs[t], prev))
            spikes, c = await host.step(events, t)
            cycles.append(c)
            want = golden.step(inputs[t][None])[name][0]
            want_ids = list(np.flatnonzero(want))
            assert spikes == want_ids, (f"step {t}, field spikes: got {spikes}, expected "
                                        f"{want_ids} (seed {seed})")
            u, v, r = await host.read_state()
            for field, g, w in (("u", u, golden.u[name][0]), ("v", v, golden.v[name][0]),
                                ("r", r, golden.r[name][0])):
                assert_same_trace(field, np.array([g]), w[None], seed, f"{name} step {t}")
            w = await host.read_weights()
            for g, (off, (size, _)) in enumerate(zip(p.axon_offsets, p.axon_shifts)):
                gw = golden.weights[g]
                gw = gw[0] if gw.ndim == 3 else gw
                assert_same_array(f"step {t}: weights of projection {g}", w[off:off + size],
                                  gw, seed)
            for k, (pre, post) in enumerate(await host.read_traces()):
                g = p.plastic_groups[k]
                assert_same_array(f"step {t}: pre traces of projection {g}", pre,
                                  golden.pre[g][0], seed)
                assert_same_array(f"step {t}: post traces of projection {g}", post,
                                  golden.post[g][0], seed)
            prev = want

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    return p, cycles


@pytest.mark.parametrize("seed", range(8))
def test_plastic_core_matches_golden(seed):
    net = plastic_network(seed)
    run_plastic(net, core_lanes(seed), random_inputs(seed, net, 8, rate=0.5), seed,
                ready_prob=0.6)


def test_plastic_core_rejects_single_port_weights_and_bad_rules():
    net = plastic_network(1)
    p = CoreParams.from_network(net)
    with pytest.raises(ValueError, match=r"^Weight RAM of a plastic core must be 'dual' \(STDP "
                                         r"writes while the event phase reads\), not "
                                         r"'ice40_spram'$"):
        Core(p, "ice40_spram")
    st = Stdp(a_plus=1, a_minus=1, shift=0, d_pre=0, d_post=0, x_inc=1, y_inc=1, w_min=0,
              w_max=3)
    with pytest.raises(ValueError, match=r"^Core weights of plastic axon group 0 must be "
                                         r"integers in \[w_min, w_max\] = \[0, 3\], not 5$"):
        CoreParams(neurons=2, lanes=1, axon_shifts=((1, 0),), weights=[[5, 1]], stdp=(st,))
    with pytest.raises(ValueError, match=r"^Core stdp must name one rule \(or None\) per axon "
                                         r"group, 1, not 2$"):
        CoreParams(neurons=2, lanes=1, axon_shifts=((1, 0),), stdp=(st, None))
