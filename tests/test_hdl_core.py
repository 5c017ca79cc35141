"""Amaranth-simulator tests of the neuron core blocks against the golden model (no tools)."""

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator

from spikefab.golden import Hardware, Population, Simulator as Golden, deliver, lif_step
from spikefab.golden.fixed import signed_max
from spikefab.hdl.core import Core
from spikefab.shape.cfg import Param, Space
from spikefab.shape.latency import step_cycles
from spikefab.hdl.core.emitter import SpikeEmitter
from spikefab.shape.image import CoreMap, pack_state, unpack_acc, unpack_weight_word
from spikefab.shape.latency import LIF_LATENCY
from spikefab.hdl.core.lif import LifPipeline
from spikefab.shape.core import CoreParams, NeuronSet
from spikefab.hdl.core.synapse import SynapseArray, WeightRam
from spikefab.shape.core import check_bank_words
from spikefab.shape.latency import read_latency

from .compare import assert_same_trace
from .hdl_support import core_lanes, core_network, single_core_network
from .hdl_support.amaranth_core import AmaranthCoreHost
from .netgen import random_inputs


def run(dut, tb):
    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()


# -- LIF pipeline ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(12))
def test_lif_pipeline_matches_lif_step(seed):
    """Seeds 0-5: wide random widths; 6-11: 2..5-bit state, so that saturation at both ends,
    ``v == vth`` (no spike: strictly greater) and ``vth = vmax`` are hit many times. Odd seeds
    give the pipeline 2-4 parameter sets (populations sharing a core) and every lane of every
    row a random set, so each parameter is taken from its row's own set at its own stage.
    Seeds 0, 3, 6, 9 build the delay lines in block RAM (``delay_ram``)."""
    rng = np.random.default_rng(seed)
    hi = 25 if seed < 6 else 6
    ub, vb = int(rng.integers(2, hi)), int(rng.integers(2, hi))
    rb = int(rng.integers(1, 6))
    lanes = int(rng.integers(1, 4))
    hw = Hardware(current_bits=ub, voltage_bits=vb, refractory_bits=rb)
    vmax, umax = signed_max(vb), signed_max(ub)
    nsets = int(rng.integers(2, 5)) if seed % 2 else 1
    pops = [Population(name=f"p{k}", size=1, threshold=int(rng.integers(0, vmax + 1)),
                       du=int(rng.choice([0, 4096, rng.integers(0, 4097)])),
                       dv=int(rng.choice([0, 4096, rng.integers(0, 4097)])),
                       bias=int(rng.integers(-vmax, vmax + 1)),
                       refractory=int(rng.integers(0, 2 ** rb)),
                       reset=str(rng.choice(["zero", "subtract"])))
            for k in range(nsets)]
    acc_bits = int(rng.integers(max(ub, 4), 40))
    neurons = max(lanes, nsets)
    sets = ()
    if nsets > 1:
        sizes = [1] * nsets
        sizes[-1] += neurons - nsets
        firsts = np.cumsum([0] + sizes[:-1])
        sets = tuple(NeuronSet(int(f), n, q.threshold, q.bias, q.du, q.dv, q.refractory,
                               q.reset == "subtract") for f, n, q in zip(firsts, sizes, pops))
    p = CoreParams(neurons=neurons, lanes=lanes, axon_shifts=((1, 0),), current_bits=ub,
                   voltage_bits=vb, refractory_bits=rb, acc_bits=max(acc_bits, 9),
                   weight_bits=8, neuron_sets=sets, **({} if nsets > 1 else {
                       "threshold": pops[0].threshold, "bias": pops[0].bias,
                       "du": pops[0].du, "dv": pops[0].dv, "refractory": pops[0].refractory,
                       "reset_subtract": pops[0].reset == "subtract"}))
    amax = signed_max(p.acc_bits)
    rows = 64
    u = rng.integers(-umax, umax + 1, (rows, lanes))
    v = rng.integers(-vmax, vmax + 1, (rows, lanes))
    r = rng.integers(0, 2 ** rb, (rows, lanes))
    r[rng.random((rows, lanes)) < 0.5] = 0
    a = rng.integers(-amax, amax + 1, (rows, lanes))
    a[rng.random((rows, lanes)) < 0.5] //= 1 << max(0, p.acc_bits - ub)
    sel = rng.integers(0, nsets, (rows, lanes))
    want = [np.zeros((rows, lanes), np.int64) for _ in range(4)]
    for k, pop in enumerate(pops):
        here = sel == k
        for out, res in zip(want, lif_step(u, v, r, a, pop, hw)):
            out[here] = np.asarray(res, np.int64)[here]
    want_u, want_v, want_r, want_s = want
    # every third seed: the waiting words go through block RAM delay lines
    dut = LifPipeline(p, delay_ram=seed % 3 == 0)
    got = []

    async def tb(ctx):
        ctx.set(dut.k_u, [4096 - q.du for q in pops])
        ctx.set(dut.k_v, [4096 - q.dv for q in pops])
        ctx.set(dut.bias, [q.bias for q in pops])
        ctx.set(dut.threshold, [q.threshold for q in pops])
        ctx.set(dut.refractory, [q.refractory for q in pops])
        ctx.set(dut.reset_subtract, [int(q.reset == "subtract") for q in pops])
        valid_at = []
        for c in range(rows + LIF_LATENCY + 2):
            if c < rows:
                ctx.set(dut.i_neuron.payload, {"row": 0, "lanes": [
                    {"u": int(u[c, k]), "v": int(v[c, k]), "r": int(r[c, k]),
                     "a": int(a[c, k]), "set": int(sel[c, k])} for k in range(lanes)]})
                ctx.set(dut.i_neuron.valid, 1)
            else:
                ctx.set(dut.i_neuron.valid, 0)
            if ctx.get(dut.o_neuron.valid):
                valid_at.append(c)
                got.append(ctx.get(dut.o_neuron.payload))
            await ctx.tick()
        assert valid_at == list(range(LIF_LATENCY, rows + LIF_LATENCY)), valid_at

    run(dut, tb)
    for c, o in enumerate(got):
        for k in range(lanes):
            lane = o.lanes[k]
            for field, g, w in (("u", lane.u, want_u[c, k]), ("v", lane.v, want_v[c, k]),
                                ("r", lane.r, want_r[c, k]), ("s", lane.s, want_s[c, k])):
                assert int(g) == int(w), (
                    f"row {c}, lane {k}, set {sel[c, k]}, field {field}: got {int(g)}, "
                    f"expected {int(w)} (inputs u={u[c, k]} v={v[c, k]} r={r[c, k]} "
                    f"a={a[c, k]}; seed {seed})")


# -- synapse array --------------------------------------------------------------------------

@pytest.mark.parametrize("seed,neurons,lanes", [(0, 1, 1), (1, 3, 4), (2, 7, 2), (3, 10, 3),
                                                (6, 4, 2),
                                                (4, 5, 1)])
def test_synapse_array_accumulates_exactly(seed, neurons, lanes):
    rng = np.random.default_rng(seed)
    groups = ((int(rng.integers(1, 5)), int(rng.integers(0, 5))),
              (int(rng.integers(1, 5)), int(rng.integers(0, 5))))
    wb = int(rng.integers(2, 9))
    axons = sum(s for s, _ in groups)
    w = rng.integers(-signed_max(wb), signed_max(wb) + 1, (axons, neurons))
    p = CoreParams(neurons=neurons, lanes=lanes, axon_shifts=groups, weight_bits=wb, weights=w)
    # each axon at most once per step (the accumulator is sized for that); back to back,
    # so that with rows == 1 every op hits the row written the clock before
    events = rng.permutation(axons)
    gaps = rng.random(len(events)) < 0.3
    dut = SynapseArray(p)
    got = []

    async def tb(ctx):
        ctx.set(dut.enable, 1)
        clocks = 0
        first = None
        for n, ev in enumerate(events):
            if gaps[n]:
                ctx.set(dut.i_event.valid, 0)
                await ctx.tick()
            ctx.set(dut.i_event.payload, int(ev))
            ctx.set(dut.i_event.valid, 1)
            while True:
                ok = ctx.get(dut.i_event.ready)
                if ok and first is None:
                    first = clocks
                await ctx.tick()
                clocks += 1
                if ok:
                    break
        ctx.set(dut.i_event.valid, 0)
        while ctx.get(dut.busy):
            await ctx.tick()
            clocks += 1
        ctx.set(dut.ext, 1)
        for row in range(p.rows):
            ctx.set(dut.acc_rd.addr, row)
            await ctx.tick()
            got.extend(unpack_acc(p, ctx.get(dut.acc_rd.data.as_value())))

    run(dut, tb)
    want = np.zeros(neurons, np.int64)
    o = 0
    for s, k in groups:
        ev = np.zeros((1, s), bool)
        for e in events:
            if o <= e < o + s:
                ev[0, e - o] = True
                want += deliver(ev, w[o:o + s], k)[0]
                ev[0, e - o] = False
        o += s
    got = np.array(got[:neurons])
    bad = np.flatnonzero(got != want)
    assert not len(bad), (f"accumulator of neuron {bad[0]}: got {got[bad[0]]}, expected "
                          f"{want[bad[0]]} (seed {seed})")


def test_synapse_array_sustains_one_row_per_clock():
    p = CoreParams(neurons=6, lanes=2, axon_shifts=((4, 0),))
    dut = SynapseArray(p)
    accepted = []

    async def tb(ctx):
        ctx.set(dut.enable, 1)
        ctx.set(dut.i_event.valid, 1)
        for c in range(30):
            ctx.set(dut.i_event.payload, c % 4)
            if ctx.get(dut.i_event.ready):
                accepted.append(c)
            await ctx.tick()

    run(dut, tb)
    assert accepted == list(range(0, 30, p.rows)), accepted


# -- spike emitter --------------------------------------------------------------------------

@pytest.mark.parametrize("seed,neurons,lanes", [(0, 5, 1), (1, 7, 3), (2, 16, 4)])
def test_emitter_orders_and_never_drops(seed, neurons, lanes):
    rng = np.random.default_rng(seed)
    p = CoreParams(neurons=neurons, lanes=lanes, axon_shifts=((1, 0),))
    masks = rng.integers(0, 1 << lanes, p.rows)
    masks[rng.random(p.rows) < 0.3] = 0
    dut = SpikeEmitter(p)
    got = []

    async def tb(ctx):
        for c in range(p.rows * lanes * 6 + 20):
            if c < p.rows:
                ctx.set(dut.i_row.payload, {"row": c, "mask": int(masks[c])})
                ctx.set(dut.i_row.valid, 1)
            else:
                ctx.set(dut.i_row.valid, 0)
            ready = int(rng.random() < 0.6)
            ctx.set(dut.o_spike.ready, ready)
            if ready and ctx.get(dut.o_spike.valid):
                got.append(int(ctx.get(dut.o_spike.payload)))
            await ctx.tick()
        assert ctx.get(dut.idle)

    run(dut, tb)
    want = [r * lanes + k for r in range(p.rows) for k in range(lanes)
            if masks[r] >> k & 1 and r * lanes + k < neurons]
    assert got == want, f"spikes {got}, expected {want} (seed {seed})"


# -- whole core -----------------------------------------------------------------------------

def run_core(net, lanes, inputs, seed, ready_prob=1.0, reconfigure=None, weight_ram="dual",
             final=None):
    """Run ``net`` on a core in the Amaranth simulator; compare every step with the golden
    model (spikes in order, u, v, r of every neuron) and return the per-step cycles (and what
    the coroutine ``final(host)`` returns at the end, if given)."""
    cmap = CoreMap(net, lanes=lanes)
    p = cmap.params
    dut = Core(p, weight_ram)
    golden = Golden(net)
    name = net.populations[0].name
    rng = np.random.default_rng([seed, 99])
    cycles = []

    async def tb(ctx):
        host = AmaranthCoreHost(ctx, dut, rng, ready_prob, what=f"seed {seed}: ")
        if reconfigure is not None:
            await reconfigure(host)
        prev = np.zeros(p.neurons, bool)
        for t in range(inputs.shape[0]):
            events = cmap.events(inputs[t], prev)
            events = rng.permutation(events)
            spikes, c = await host.step(events, t)
            cycles.append(c)
            want = golden.step(inputs[t][None])[name][0]
            want_ids = list(np.flatnonzero(want))
            assert spikes == want_ids, (f"step {t}: spikes {spikes}, expected {want_ids} "
                                        f"(seed {seed})")
            u, v, r = await host.read_state()
            for field, g, w in (("u", u, golden.u[name][0]), ("v", v, golden.v[name][0]),
                                ("r", r, golden.r[name][0])):
                assert_same_trace(field, np.array([g]), w[None], seed, name)
            prev = want
        if final is not None:
            result.append(await final(host))

    result = []
    run(dut, tb)
    return (p, cycles, *result)


@pytest.mark.parametrize("seed", range(16))
def test_core_matches_golden(seed):
    net = core_network(seed, max_size=10, max_inputs=6)
    inputs = random_inputs(seed, net, 8)
    run_core(net, core_lanes(seed), inputs, seed, ready_prob=0.5)


@pytest.mark.parametrize("seed", range(4))
def test_core_banked_weights_matches_golden(seed):
    net = core_network(seed + 40, max_size=10, max_inputs=6)
    inputs = random_inputs(seed, net, 6)
    run_core(net, core_lanes(seed), inputs, seed, ready_prob=0.5, weight_ram="banked")


@pytest.mark.seed(7)
def test_core_banked_weights_across_banks(seed):
    """A core whose weights fill two banks (4096 words): words of both banks overwritten and
    read back in the next clocks, then restored, then the run, then all weights read back
    through the configuration port."""
    rng = np.random.default_rng(seed)
    w = rng.integers(-127, 128, (256, 16))
    net = single_core_network("wide", 16, 256, w, threshold=900)
    inputs = (rng.random((3, 256)) < 0.4).astype(np.uint8)

    async def reconfigure(host):
        words = host.p.weight_words()
        for addr in (0, 2047, 2048, 4095, 1000, 3000):
            for value in (addr * 37 % 256, words[addr]):
                await host.cfg_write(Space.WEIGHT, addr, value)
                got = await host.cfg_read(Space.WEIGHT, addr)
                assert got == value, f"weight word {addr}: read {got}, wrote {value} (seed {seed})"

    p, cycles, final = run_core(net, 1, inputs, seed=seed, weight_ram="banked",
                                reconfigure=reconfigure, final=lambda host: host.read_weights())
    assert p.weight_slots == 4096
    assert (final == w).all(), f"weights read back after the run differ (seed {seed})"
    events = [int(x.sum()) for x in inputs]
    assert cycles[0] == step_cycles(p, events[0], weight_ram="banked")
    assert cycles[0] == step_cycles(p, events[0]) + 3


def test_core_cycles_formula_without_backpressure():
    w = np.full((4, 8), 60)
    net = single_core_network("busy", 8, 4, w, threshold=50, recurrent=np.eye(8, dtype=int) * 3)
    inputs = np.ones((4, 4), np.uint8)
    p, cycles = run_core(net, 1, inputs, seed=0)
    events = [4, 4 + 8, 4 + 8, 4 + 8]   # every neuron spikes from step 0 on
    assert cycles == [step_cycles(p, e) for e in events]
    assert cycles[0] == 2 + p.rows * (4 + 1) + 15


def test_core_config_port_rewrites_everything():
    """Weights, parameters and state written through the port; the golden model of the
    rewritten network must follow."""
    rng = np.random.default_rng(5)
    hw = Hardware(current_bits=12, voltage_bits=12, weight_bits=6, refractory_bits=3)
    net0 = single_core_network("c0", 5, 3, np.zeros((3, 5), int), threshold=10, hardware=hw)
    w = rng.integers(-31, 32, (3, 5))
    net1 = single_core_network("c1", 5, 3, w, threshold=40, du=100, dv=3000, bias=-7,
                               refractory=2, reset="subtract", hardware=hw)
    lanes = 2
    p1 = CoreParams.from_network(net1, lanes=lanes)

    async def reconfigure(host):
        p = host.p
        for addr, word in enumerate(p1.weight_words()):
            await host.cfg_write(Space.WEIGHT, addr, word)
        for param, value in ((Param.THRESHOLD, 40), (Param.BIAS, -7 & 0xfff), (Param.DU, 100),
                             (Param.DV, 3000), (Param.REFRACTORY, 2),
                             (Param.RESET_SUBTRACT, 1)):
            await host.cfg_write(Space.PARAM, param, value)
            got = await host.cfg_read(Space.PARAM, param)
            assert got == value, f"param {param.name}: read {got}, wrote {value}"
        for addr, word in enumerate(p1.weight_words()):
            got = await host.cfg_read(Space.WEIGHT, addr)
            assert unpack_weight_word(p, got) == unpack_weight_word(p, word), addr
        # state: write then clear back to the golden initial state
        await host.cfg_write(Space.STATE, 1, pack_state(p, [5, -6], [7, -8], [1, 2]))
        assert await host.cfg_read(Space.STATE, 1) == pack_state(p, [5, -6], [7, -8], [1, 2])
        await host.cfg_write(Space.STATE, 1, 0)
        await host.cfg_write(Space.ACC, 2, 123)
        assert unpack_acc(p, await host.cfg_read(Space.ACC, 2))[0] == 123
        await host.cfg_write(Space.ACC, 2, 0)

    inputs = (rng.random((10, 3)) < 0.7).astype(np.uint8)
    # the core is generated from net0 (all weights 0, other parameters) and rewritten at
    # run time into net1; the golden model runs net1
    cmap = CoreMap(net1, lanes=lanes)
    dut = Core(CoreParams.from_network(net0, lanes=lanes))
    golden = Golden(net1)

    async def tb(ctx):
        host = AmaranthCoreHost(ctx, dut, rng, 0.7, what="seed 5: ")
        await reconfigure(host)
        prev = np.zeros(5, bool)
        for t in range(inputs.shape[0]):
            spikes, _ = await host.step(cmap.events(inputs[t], prev), t)
            want = golden.step(inputs[t][None])["p0"][0]
            assert spikes == list(np.flatnonzero(want)), f"step {t} (seed 5)"
            u, v, r = await host.read_state()
            assert (u, v, r) == (list(golden.u["p0"][0]), list(golden.v["p0"][0]),
                                 list(golden.r["p0"][0])), f"step {t} (seed 5)"
            prev = want
        assert golden.spikes["p0"].any() or golden.v["p0"].any()

    run(dut, tb)


# -- parameters -----------------------------------------------------------------------------

def test_core_params_rejects_plastic_and_bad_lanes():
    from spikefab.golden import load
    net = load("examples/demo.toml")
    with pytest.raises(ValueError, match=r"^Population must be named for a network of 2 "
                                         r"populations$"):
        CoreParams.from_network(net)
    p = CoreParams.from_network(net, "exc")      # plastic input projection: accepted
    assert p.plastic and p.plastic_groups == (0,)
    with pytest.raises(ValueError, match=r"^Core lanes must be an integer in \[1, 16\], not 17$"):
        CoreParams(neurons=4, lanes=17, axon_shifts=((1, 0),))


# -- weight memories ------------------------------------------------------------------------

@pytest.mark.parametrize("seed,depth,bank_words", [(0, 40, 8), (1, 16, 16), (2, 5, 8),
                                                   (3, 64, 4)])
def test_banked_weight_ram_is_dual_three_clocks_later(seed, depth, bank_words):
    """Random reads and writes (same word in one clock, the next clock, ...) into a ``"dual"``
    and a ``"banked"`` memory against a Python model: a read returns the word before that
    clock's write, on ``rdata`` after ``read_latency`` clocks."""
    rng = np.random.default_rng(seed)
    width = 7
    init = [int(x) for x in rng.integers(0, 1 << width, depth)]
    m = Module()
    rams = {k: WeightRam(width, depth, k, init, bank_words) for k in ("dual", "banked")}
    for k, ram in rams.items():
        m.submodules[k] = ram
    clocks = 200
    ops = [(int(rng.integers(depth)), int(rng.integers(depth)), int(rng.random() < 0.5),
            int(rng.integers(1 << width))) for _ in range(clocks)]
    # hit the word just written, or about to be
    for t in range(1, clocks, 3):
        ops[t] = (ops[t - 1][1], *ops[t][1:])
    model = list(init)
    want = []
    for raddr, waddr, wen, wdata in ops:
        want.append(model[raddr])
        if wen:
            model[waddr] = wdata
    got = {k: [] for k in rams}

    async def tb(ctx):
        for t in range(clocks + 3):
            raddr, waddr, wen, wdata = ops[t] if t < clocks else (0, 0, 0, 0)
            for ram in rams.values():
                ctx.set(ram.raddr, raddr)
                ctx.set(ram.waddr, waddr)
                ctx.set(ram.wen, wen)
                ctx.set(ram.wdata, wdata)
            await ctx.tick()
            for k, ram in rams.items():
                got[k].append(ctx.get(ram.rdata))

    run(m, tb)
    for k in rams:
        lat = read_latency(k)
        seen = got[k][lat - 1:lat - 1 + clocks]
        bad = [t for t in range(clocks) if seen[t] != want[t]]
        assert not bad, (f"{k}: read of word {ops[bad[0]][0]} in clock {bad[0]}: got "
                         f"{seen[bad[0]]}, expected {want[bad[0]]} (seed {seed})")


def test_weight_ram_rejects_bad_banks_and_plastic_banked():
    for bad in (6, 0, True, 2.0):
        with pytest.raises(ValueError, match=rf"^Bank words must be a power of two, not {bad!r}$"):
            check_bank_words(bad)
    from spikefab.golden import load
    from spikefab.shape.network import derive
    net = load("examples/demo.toml")
    with pytest.raises(ValueError, match=r"^Weight RAM 'banked' is for static cores; a plastic "
                                         r"core \(STDP\) needs 'dual', 'single' or "
                                         r"'ice40_spram'$"):
        derive(net, weight_ram="banked")
