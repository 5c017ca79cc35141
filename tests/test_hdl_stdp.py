"""Amaranth-simulator tests of on-chip STDP (``docs/spec.md`` section 4) against the golden
model: spikes, ``u``/``v``/``r``, every weight and every trace after every step, and every
step's cycle count against ``spikefab.hdl.core.step_cycles``."""

import numpy as np
import pytest
from amaranth.sim import Simulator

from spikefab.golden import Network, Population, Projection, Simulator as Golden, Stdp
from spikefab.hdl.core import Core
from spikefab.shape.latency import step_cycles
from spikefab.shape.image import CoreMap
from spikefab.shape.core import CoreParams

from .compare import assert_same_array, assert_same_trace
from .hdl_support import core_lanes, plastic_network
from .hdl_support.amaranth_core import AmaranthCoreHost
from .netgen import random_inputs


def run_plastic(net, lanes, inputs, seed, ready_prob=1.0, weight_ram="dual", delay_ram=False):
    """Run ``net`` on a core in the Amaranth simulator and compare everything every step."""
    cmap = CoreMap(net, lanes=lanes)
    p = cmap.params
    dut = Core(p, weight_ram, delay_ram)
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
            # the core takes the step's recurrent spikes with the next step's events: compare
            # before golden's delivery of them (SPEC section 4, step 6), then deliver
            want = golden.update(inputs[t][None])[name][0]
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
            golden.deliver()
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


@pytest.mark.parametrize("seed", range(100, 106))
def test_plastic_core_single_port_matches_golden(seed):
    """The single-port weight memory model (UP5K SPRAM schedule): two clocks per row and per
    LTP slot, every cycle count exact; odd seeds with the pipeline delays in block RAM, as
    the iCE40 boards build the core."""
    net = plastic_network(seed)
    run_plastic(net, core_lanes(seed), random_inputs(seed, net, 8, rate=0.5), seed,
                ready_prob=0.6, weight_ram="single", delay_ram=bool(seed % 2))


def test_single_port_stdp_cycles():
    """LTD at two clocks per row (``lanes`` synapses), LTP at two clocks per plastic slot per
    spiking row, against the dual-port figures; every neuron spikes every step."""
    net = Network("cy", 3, (Population("p0", 5, 0, du=1024, dv=512, output=True),),
                  (Projection("input", "p0", np.full((3, 5), 3), stdp=Stdp(
                      a_plus=40, a_minus=30, shift=4, d_pre=512, d_post=512, x_inc=20,
                      y_inc=20, w_min=-31, w_max=31)),))
    x = np.ones((3, 3), np.uint8)
    _, dual = run_plastic(net, 1, x, 0)
    p, single = run_plastic(net, 1, x, 0, weight_ram="single")
    assert dual == [step_cycles(p, 3, spiking_rows=5)] * 3
    assert single == [step_cycles(p, 3, spiking_rows=5, weight_ram="single")] * 3
    # events: 3 * 5 rows at 1 / 2 clocks, tail 5 / 4; update 2 + (5 + 13); LTP 5 rows of
    # 1 + 3 / 2 * 3 clocks, tail 6
    assert dual[0] == 5 + 15 + 2 + 18 + 5 * 4 + 6
    assert single[0] == 4 + 30 + 2 + 18 + 5 * 6 + 6


def test_plastic_core_rejects_bad_rules():
    st = Stdp(a_plus=1, a_minus=1, shift=0, d_pre=0, d_post=0, x_inc=1, y_inc=1, w_min=0,
              w_max=3)
    with pytest.raises(ValueError, match=r"^Core weights of plastic axon group 0 must be "
                                         r"integers in \[w_min, w_max\] = \[0, 3\], not 5$"):
        CoreParams(neurons=2, lanes=1, axon_shifts=((1, 0),), weights=[[5, 1]], stdp=(st,))
    with pytest.raises(ValueError, match=r"^Core stdp must name one rule \(or None\) per axon "
                                         r"group, 1, not 2$"):
        CoreParams(neurons=2, lanes=1, axon_shifts=((1, 0),), stdp=(st, None))
