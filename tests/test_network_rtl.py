"""The whole network on the generated Verilog (Icarus and Verilator): cores, router, barrier.

Random networks (2-4 populations, recurrent, excitatory, inhibitory and mixed projections,
several projections into one population, populations split over cores, fan-out > 1) run in
bundles (several tops side by side in one build and one simulation, so that a sweep costs a few
builds). The testbench (``spikefab.sim.cocotb.network``) sends each step's inputs in random
order with random gaps, takes the outputs with random backpressure, and checks every output
event when it is transferred and every step at its barrier against the golden model; ``u`` and
``v`` are read back after every step in lock-step runs, the final weights at the end. Every
failure names the step, population, neuron, both values and the seed.
"""

import numpy as np
import pytest

from spikefab.golden import Hardware, Network, Population, Projection, Stdp, simulate
from spikefab.shape.network import DEFAULT_BUILD, derive
from spikefab.sim.generate import generate_network
from spikefab.sim.network import run_networks, simulate_network_rtl

from .netgen import random_capacity, random_inputs, random_multicore_network, variant

def make_job(seed, steps=10, lanes=(1, 1, 2), rate=(0.2, 0.7), plastic=False, adaptive=False,
             **kw):
    """A random network, capacity, stimulus and backpressure, all from ``seed`` (``lanes``
    drawn from the choices given, the input rate from the interval given). A ``plastic``
    network in a lock-step run compares every plastic weight and trace every 3 steps."""
    net = random_multicore_network(seed, plastic=plastic, adaptive=adaptive)
    _, a_cap = random_capacity(seed, net)
    rng = np.random.default_rng([seed, 41])
    # the largest population split in two (or not), most others on one core each: every
    # core is a full LIF datapath to build
    largest = max(q.size for q in net.populations)
    n_cap = int(rng.integers(max(1, -(-largest // 2)), largest + 1))
    record = bool(rng.integers(2))
    options = {"neurons_per_core": n_cap, "axons_per_core": a_cap,
               "lanes": int(rng.choice(lanes)), "step_bits": int(rng.choice([3, 16]))}
    job = {"net": net, "inputs": random_inputs(seed, net, steps, rate=float(rng.uniform(*rate))),
           "options": options, "seed": seed, "check": True, "record_state": record,
           "read_weights": bool(rng.integers(2)),
           "ready_prob": float(rng.uniform(0.3, 1.0)), "valid_prob": float(rng.uniform(0.3, 1.0))}
    # populations share cores whenever they fit, never, or only small ones ride along
    options["pack"] = [False, True, "small"][int(rng.integers(3))]
    if plastic:
        job["read_weights"] = True
        job["checkpoint"] = 3
    job.update(kw)
    return job


def check_results(jobs, results):
    """What the testbench returned equals ``golden.simulate`` (the testbench already checked
    as it ran; this checks the returned arrays too)."""
    for job, res in zip(jobs, results):
        net, seed = job["net"], job["seed"]
        want = simulate(net, job["inputs"], record_state=True)
        p = derive(net, **job["options"])
        for q in net.populations:
            if q.name not in p.mapping.outputs:
                continue
            g, w = res["spikes"][q.name], want.spikes[q.name]
            if not np.array_equal(g, w):
                t, i = (int(a) for a in np.argwhere(g != w)[0])
                pytest.fail(f"seed {seed}: step {t}, population {q.name}, neuron {i}: RTL "
                            f"spike {g[t, i]}, golden {w[t, i]}")
            if job["record_state"]:
                for field in ("u", "v"):
                    g, w = res[field][q.name], getattr(want, field)[q.name]
                    if not np.array_equal(g, w):
                        t, i = (int(a) for a in np.argwhere(g != w)[0])
                        pytest.fail(f"seed {seed}: step {t}, population {q.name}, neuron {i}, "
                                    f"field {field}: RTL {g[t, i]}, golden {w[t, i]}")
        if job["read_weights"]:
            for k, (g, w) in enumerate(zip(res["weights"], want.weights)):
                assert np.array_equal(g, w), f"seed {seed}: final weights of projection {k}"
            for k, pr in enumerate(net.projections):
                if pr.plastic:
                    for name, g, w in (("pre", res["pre"][k], want.pre_traces[k]),
                                       ("post", res["post"][k], want.post_traces[k])):
                        assert np.array_equal(g, w), f"seed {seed}: {name} traces of {k}"
        assert (res["cycles"] > 0).all()


def split(job):
    """True when the job's mapping splits a population over several cores."""
    m = derive(job["net"], **job["options"]).mapping
    return any(sum(s.population == q.name for c in m.cores for s in c.segments) > 1
               for q in m.net.populations)


def shared(job):
    """True when the job's mapping puts several populations in one core."""
    m = derive(job["net"], **job["options"]).mapping
    return any(len(c.segments) > 1 for c in m.cores)


def run_seeds(seeds, sim, **kw):
    """Random networks of ``seeds`` side by side in one build; every result against golden."""
    jobs = [make_job(s, **kw) for s in seeds]
    assert any(split(j) for j in jobs), "no population split over cores"
    results = run_networks(jobs, sim, name=f"seeds{seeds[0]}")
    check_results(jobs, results)
    return jobs, results


def test_random_networks_match_golden():
    """Four random networks side by side on Icarus."""
    run_seeds(list(range(4)), "icarus")


@pytest.mark.parametrize("sim,seeds", [("icarus", (20, 21)), ("verilator", (22, 23, 24))])
def test_random_networks_on_banked_weight_memories(sim, seeds):
    """Every core on the pipelined weight memory of large ECP5 boards (``"banked"``: read
    data 3 clocks later, so the network's barrier and cycle counts move)."""
    jobs = [make_job(s, read_weights=True) for s in seeds]
    for job in jobs:
        job["options"]["weight_ram"] = "banked"
    check_results(jobs, run_networks(jobs, sim, name=f"banked{seeds[0]}"))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_register_slice_passes_every_event_once_in_order(seed):
    """The slice between the router and a banked core: every transfer once and in order under
    random valid / ready, one per clock while ``o`` is ready, ``empty`` when nothing is in."""
    from amaranth.sim import Simulator

    from spikefab.hdl.slice import RegisterSlice

    dut = RegisterSlice(8)
    rng = np.random.default_rng(seed)
    sent, got, n = [], [], 200
    stats = {}

    async def tb(ctx):
        k, calm = 0, None                 # calm: the clock from which valid, ready stay high
        for clock in range(6 * n):
            if calm is None and k >= n // 2:
                calm = clock
            random = calm is None
            ctx.set(dut.i.valid, k < n and (not random or rng.random() < 0.7))
            ctx.set(dut.i.payload, (k * 37 + seed) % 256)
            ctx.set(dut.o.ready, not random or rng.random() < 0.6)
            await ctx.delay(1e-9)
            if ctx.get(dut.o.valid) and ctx.get(dut.o.ready):
                got.append((ctx.get(dut.o.payload), clock))
            if ctx.get(dut.i.valid) and ctx.get(dut.i.ready):
                sent.append((k * 37 + seed) % 256)
                k += 1
            await ctx.tick()
            if len(got) == n:
                break
        await ctx.tick()
        stats["empty"] = ctx.get(dut.empty)
        # once valid and ready stay high, the rest passes one per clock
        tail = [c for _, c in got if c >= calm + 2]
        stats["full_rate"] = len(tail) > n // 3 and tail[-1] - tail[0] + 1 == len(tail)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    assert [v for v, _ in got] == sent and len(sent) == 200, f"seed {seed}"
    assert stats["full_rate"], f"seed {seed}: the slice did not pass one event per clock"
    assert stats["empty"], f"seed {seed}: the slice is not empty after the last event"


@pytest.mark.slow
def test_random_networks_match_golden_verilator():
    """The same kind of bundle on Verilator (a build of ~20 cores takes a minute)."""
    run_seeds(list(range(4, 8)), "verilator")


@pytest.mark.slow
@pytest.mark.parametrize("chunk", range(20))
def test_random_networks_match_golden_sweep(chunk):
    """100 random topologies on Icarus, 5 per build (Verilator: see
    ``test_verilator_sweep_100_networks``). Icarus runs ~300 clocks/s on 80 cores, every top
    of a bundle as long as its slowest: small bundles, 2 or 4 lanes (fewer clocks per
    event) and moderate input rates keep the sweep to minutes."""
    run_seeds(list(range(100 + 5 * chunk, 105 + 5 * chunk)), "icarus", steps=6,
              lanes=(2, 4), rate=(0.05, 0.3))


@pytest.mark.seed(3)
def test_simulate_network_rtl_equals_golden_arrays(seed):
    """``simulate_network_rtl`` returns golden's arrays (npz keys and values), batch too."""
    net = random_multicore_network(seed)
    x = random_inputs(seed, net, 8, rate=0.5, batch=2)
    got = simulate_network_rtl(net, x, record_state=True, neurons_per_core=7, seed=seed,
                               ready_prob=0.5, valid_prob=0.5)
    want = simulate(net, x, record_state=True)
    g, w = got.to_npz_dict(), want.to_npz_dict()
    assert sorted(g) == sorted(w)
    for key in w:
        assert np.array_equal(g[key], w[key]), key
    assert got.cycles.shape == (2, 8)


def _net(pops, projs, inputs=3, hw=None):
    return Network("t", inputs, pops, projs, hw or Hardware())


@pytest.mark.seed(9)
def test_population_without_projections_and_one_core(seed):
    """A population that nothing projects into (a dummy axon slot) next to a one-neuron
    population; on Verilator."""
    pops = [Population("drive", 5, 0, bias=40, output=True), Population("one", 1, 30)]
    w = np.full((5, 1), 9)
    net = _net(pops, [Projection("drive", "one", w),
                      Projection("input", "one", np.ones((3, 1), np.int64))])
    x = random_inputs(seed, net, 12, rate=0.5)
    got = simulate_network_rtl(net, x, record_state=True, sim="verilator", check=True,
                               seed=seed)
    want = simulate(net, x, record_state=True)
    for q in pops:
        assert np.array_equal(got.spikes[q.name], want.spikes[q.name]), q.name
        assert np.array_equal(got.v[q.name], want.v[q.name]), q.name
    assert want.spikes["one"].any() and want.spikes["drive"].any()


def test_random_plastic_networks_match_golden():
    """Three random plastic networks side by side on Icarus (STDP on several cores: plastic
    projections from the inputs, between populations and recurrent, split targets); one in
    lock-step with every plastic weight and trace compared every 3 steps, all at the end."""
    jobs = [make_job(s, plastic=True, steps=8, record_state=(s == 0)) for s in range(3)]
    results = run_networks(jobs, "icarus", name="plastic")
    check_results(jobs, results)
    # the runs learned something: some plastic weight moved
    assert any(not np.array_equal(r["weights"][k], pr.weights)
               for j, r in zip(jobs, results) for k, pr in enumerate(j["net"].projections)
               if pr.plastic)


def test_random_adaptive_networks_match_golden():
    """Three random networks with adaptive thresholds (spec v1.2) side by side on Icarus
    through the cocotb testbench (one plastic, one in lock-step with ``u`` and ``v`` read
    after every step): the effective threshold and theta's decay, increment and saturation
    in the generated Verilog; the thresholds change spikes in at least one of them."""
    jobs = [make_job(s, adaptive=True, steps=16, rate=(0.5, 0.9), record_state=(s == 31),
                     plastic=(s == 32)) for s in (30, 31, 32)]
    plain = [simulate(random_multicore_network(j["seed"], plastic=(j["seed"] == 32)),
                      j["inputs"]) for j in jobs]
    assert any(not np.array_equal(simulate(j["net"], j["inputs"]).spikes[q.name],
                                  g.spikes[q.name])
               for j, g in zip(jobs, plain) for q in j["net"].populations), \
        "no adaptive threshold changed a spike: the test would not see a wrong one"
    check_results(jobs, run_networks(jobs, "icarus", name="adaptive"))


def test_shared_cores_match_golden():
    """Populations sharing cores (a neuron parameter set each; plastic groups confined to
    their target's columns): a static and two plastic networks on Icarus, one of them in
    lock-step with its plastic weights and traces compared every 3 steps."""
    jobs = [make_job(4), make_job(5, plastic=True, record_state=True),
            make_job(11, plastic=True, steps=8)]
    assert all(shared(j) for j in jobs)
    check_results(jobs, run_networks(jobs, "icarus", name="shared"))


def test_stdp_outside_its_columns_fails_naming_core_slot_and_neuron(monkeypatch):
    """The column check can fail: two populations share a core, and the hardware is built
    with the plastic group's columns widened to the whole core, so its clipping to
    ``[w_min, w_max] = [5, 50]`` turns the zero synapses onto ``b`` into 5 at step 0."""
    st = Stdp(a_plus=0, a_minus=1, shift=0, d_pre=0, d_post=0, x_inc=1, y_inc=1, w_min=5,
              w_max=50)
    pops = [Population("a", 2, 1000, output=True), Population("b", 2, 1000)]
    net = _net(pops, [Projection("input", "a", np.full((3, 2), 10), stdp=st),
                      Projection("input", "b", np.ones((3, 2), np.int64))])
    p = derive(net, pack=True)
    assert len(p.cores) == 1 and p.cores[0].columns == ((0, 2), (0, 4))
    from spikefab.shape.mapping import Mapping
    real = Mapping.core_params

    def widened(self, c, lanes=1):
        cp = real(self, c, lanes)
        # past the validation (which would refuse the zero weights inside the bounds)
        object.__setattr__(cp, "columns", ((0, cp.neurons),) * len(cp.axon_shifts))
        return cp

    monkeypatch.setattr(Mapping, "core_params", widened)
    job = {"net": net, "inputs": np.ones((2, 3), np.uint8), "options": {"pack": True}, "seed": 6,
           "check": True, "record_state": True, "read_weights": True, "checkpoint": 1}
    with pytest.raises(AssertionError, match=r"^seed 6: network 't': core 0, axon slot 0, "
                                             r"neuron 2: weight 5 where no projection has a "
                                             r"synapse \(golden 0\)"):
        run_networks([job], "icarus", name="columns")


@pytest.mark.slow
@pytest.mark.parametrize("chunk", [0, 2])
def test_random_plastic_networks_sweep(chunk):
    """20 random plastic networks on Icarus, 5 per build, every plastic weight and trace
    compared at checkpoints (lock-step runs) and at the end. (On Verilator, the native
    harness's sweep runs hundreds: ``tests/test_native.py``.)"""
    sim = "icarus"
    seeds = list(range(300 + 20 * chunk, 310 + 20 * chunk))
    for part in (seeds[:5], seeds[5:]):
        jobs = [make_job(s, plastic=True, steps=8, lanes=(1, 2, 4), rate=(0.1, 0.5))
                for s in part]
        check_results(jobs, run_networks(jobs, sim, name=f"plastic{part[0]}"))


@pytest.mark.seed(22)
@pytest.mark.parametrize("sim, ram", [("icarus", "ice40_spram"), ("verilator", "single")])
def test_plastic_network_with_single_port_weight_memories(sim, ram, seed):
    """Cores on single-port weight memories (the UP5K's SPRAM, its primitive's own model on
    Icarus, loaded through the configuration port; the behavioural model on Verilator) next
    to dual-port ones in one top, pipeline delays in block RAM as the iCE40 boards build
    them: the single-port STDP schedule composes with the router."""
    net = random_multicore_network(seed, plastic=True)
    p = derive(net, neurons_per_core=12)
    rams = tuple(ram if k % 2 == 0 else "dual" for k in range(len(p.cores)))
    assert ram in rams and any(cp.plastic for cp, r in zip(p.cores, rams) if r == ram)
    x = random_inputs(seed, net, 8, rate=0.4)
    got = simulate_network_rtl(net, x, sim=sim, neurons_per_core=12, weight_ram=rams, seed=seed,
                               check=True, ready_prob=0.8, delay_ram=True)
    want = simulate(net, x)
    for k, pr in enumerate(net.projections):
        assert np.array_equal(got.weights[k], want.weights[k]), k
    for q in net.populations:
        assert np.array_equal(got.spikes[q.name], want.spikes[q.name]), q.name


def test_single_port_weight_memory_kinds_are_checked():
    net = random_multicore_network(22)
    with pytest.raises(ValueError, match=r"^Weight RAM must be one of dual, single, "
                                         r"ice40_spram, banked, not 'ebr'$"):
        derive(net, weight_ram="ebr")
    n = len(derive(net).cores)
    with pytest.raises(ValueError, match=rf"^Weight RAMs must name one kind per core, {n}, "
                                         rf"not {n + 1}$"):
        derive(net, weight_ram=("dual",) * (n + 1))
    with pytest.raises(ValueError, match=r"^Simulator for weight RAM 'ice40_spram' \(the "
                                         r"primitive's own model\) must be icarus, not "
                                         r"'verilator'$"):
        simulate_network_rtl(net, np.zeros((2, net.inputs), np.uint8), sim="verilator",
                             weight_ram="ice40_spram")


def _learning_net():
    """One population driven by its bias (it spikes every step whatever its weights) and a
    plastic projection from the inputs that potentiates at step 0."""
    st = Stdp(a_plus=255, a_minus=0, shift=0, d_pre=0, d_post=0, x_inc=10, y_inc=10,
              w_min=-100, w_max=100)
    pops = [Population("a", 4, 0, bias=50, output=True), Population("b", 2, 1000)]
    projs = [Projection("input", "a", np.zeros((3, 4), np.int64), stdp=st),
             Projection("a", "b", np.ones((4, 2), np.int64))]
    return _net(pops, projs)


def test_a_wrong_learning_rule_fails_naming_step_projection_synapse_and_seed(monkeypatch):
    """The learning check can fail: the hardware is built with a_plus = 0 where the golden
    network potentiates by (255 * 10) >> 0, clipped to 100, at step 0."""
    net = _learning_net()
    pr = net.projections[0]
    bad_rule = Stdp(**{**pr.stdp.__dict__, "a_plus": 0})
    bad = _net(net.populations, [Projection(pr.source, pr.target, pr.weights, stdp=bad_rule),
                                 net.projections[1]])
    import spikefab.sim.network as gn
    real = gn.derive
    monkeypatch.setattr(gn, "derive",
                        lambda n, **kw: real(bad if n is net else n, **kw))
    job = {"net": net, "inputs": np.ones((3, 3), np.uint8), "options": {}, "seed": 5,
           "check": True, "record_state": True, "read_weights": True, "checkpoint": 1}
    with pytest.raises(AssertionError, match=r"^seed 5: network 't': step 0, weights of "
                                             r"projection 0, row 0, column 0: read 0, golden "
                                             r"100 \(icarus; log "):
        run_networks([job], "icarus", name="wrong-rule")


@pytest.mark.slow
def test_plastic_network_on_verilator_returns_golden_arrays():
    """``simulate_network_rtl`` of a plastic network on Verilator: every npz array (spikes,
    u, v, final weights) and the final traces equal the golden model's."""
    net = random_multicore_network(21, plastic=True)
    x = random_inputs(21, net, 12, rate=0.4)
    got = simulate_network_rtl(net, x, record_state=True, sim="verilator", neurons_per_core=9,
                               lanes=2, seed=21, check=True, ready_prob=0.7)
    want = simulate(net, x, record_state=True)
    g, w = got.to_npz_dict(), want.to_npz_dict()
    assert sorted(g) == sorted(w)
    for key in w:
        assert np.array_equal(g[key], w[key]), key
    for k, pr in enumerate(net.projections):
        if pr.plastic:
            assert np.array_equal(got.pre_traces[k], want.pre_traces[k]), k
            assert np.array_equal(got.post_traces[k], want.post_traces[k]), k


def test_bad_simulator_is_rejected():
    net = random_multicore_network(0)
    with pytest.raises(ValueError, match=r"^Simulator must be one of icarus, verilator, not "
                                         r"'xcelium'$"):
        simulate_network_rtl(net, np.zeros((2, net.inputs)), sim="xcelium")


@pytest.mark.seed(2)
def test_a_wrong_weight_fails_with_step_population_neuron_and_seed(monkeypatch, seed):
    """The check can fail: the built network's weights differ from the golden network's."""
    job = make_job(seed, record_state=True, read_weights=False)
    net = job["net"]
    # golden sees the network; the hardware is built from a copy with one weight changed
    k = next(i for i, pr in enumerate(net.projections) if pr.source == "input")
    w = net.projections[k].weights.copy()
    w[:, 0] = np.where(w[:, 0] > 0, -w[:, 0], net.hardware.weight_max)
    projs = list(net.projections)
    projs[k] = Projection(projs[k].source, projs[k].target, w, projs[k].weight_shift)
    bad = Network(net.name, net.inputs, net.populations, projs, net.hardware)
    import spikefab.sim.network as gn
    real = gn.derive
    monkeypatch.setattr(gn, "derive",
                        lambda n, **kw: real(bad if n is net else n, **kw))
    job["inputs"] = np.ones_like(job["inputs"])
    with pytest.raises(AssertionError, match=rf"^seed {seed}: network 'multi_{seed}': step \d+, "
                                             rf"population p\d+, neuron \d+"):
        run_networks([job], "icarus", name="wrong")


def test_generate_network_writes_verilog_params_and_metadata(tmp_path):
    import json
    from pathlib import Path
    net = random_multicore_network(5)
    paths = generate_network(net, tmp_path, neurons_per_core=9, name="top5")
    text = Path(paths["verilog"]).read_text()
    assert "module top5(" in text
    info = json.loads(Path(paths["params"]).read_text())
    p = derive(net, neurons_per_core=9)
    assert len(info["cores"]) == len(p.cores) and info["top"] == "top5"
    assert info["router"]["destinations"] == [list(d) for d in p.router.destinations]
    meta = json.loads(Path(paths["metadata"]).read_text())
    assert "i_input" in meta["interface"]["members"]
    # deterministic
    again = generate_network(net, tmp_path / "again", neurons_per_core=9, name="top5")
    assert Path(again["verilog"]).read_text() == text


@pytest.mark.slow
@pytest.mark.seed(7)
def test_long_run_2000_steps(seed):
    """2,000 steps of a 3-population recurrent network, inputs sent ahead of the steps."""
    job = make_job(seed, steps=2000, record_state=False, read_weights=True, ready_prob=0.7,
                   valid_prob=0.8)
    jobs = [job]
    results = run_networks(jobs, "icarus", name="long")
    check_results(jobs, results)
    assert sum(int(results[0]["spikes"][q].sum()) for q in results[0]["spikes"]) > 500


@pytest.mark.slow
@pytest.mark.seed(38)
def test_plastic_long_run_2000_steps(seed):
    """2,000 steps of a random plastic multi-core network on Verilator, inputs sent ahead of
    the steps: every spike checked as it arrives, every plastic weight and every copy of
    every trace at the end."""
    job = make_job(seed, steps=2000, plastic=True, record_state=False, lanes=(2,),
                   rate=(0.2, 0.2), ready_prob=0.8, valid_prob=0.9)
    results = run_networks([job], "verilator", name="plastic-long")
    check_results([job], results)
    net = job["net"]
    assert sum(int(s.sum()) for s in results[0]["spikes"].values()) > 500
    assert any(not np.array_equal(results[0]["weights"][k], pr.weights)
               for k, pr in enumerate(net.projections) if pr.plastic)


@pytest.mark.slow
def test_default_build_every_core_and_table_entry():
    """A network that fills the default build: 4 cores of 256 neurons, each with all 256
    axon slots, every neuron an output: ``4 * (256 + 256)`` table entries, all of them."""
    b = DEFAULT_BUILD
    n, a = b["neurons_per_core"], b["axons_per_core"]
    rng = np.random.default_rng(11)
    hw = Hardware(weight_bits=6)
    pops = [Population(f"p{k}", n, 60, du=512, dv=256, bias=-2, refractory=1, output=True)
            for k in range(4)]
    srcs = ["input", "p0", "p1", "p2"]         # p0 <- input, p1 <- p0, ... ; input has 256 ch.
    projs = []
    for k, src in enumerate(srcs):
        w = rng.integers(-8, 31, size=(a, n))
        projs.append(Projection(src, f"p{k}", w))
    net = Network("full", a, pops, projs, hw)
    p = derive(net, **{k: v for k, v in b.items()}, outputs=None)
    assert len(p.cores) == b["max_cores"]
    assert len(p.router.destinations) == p.router.entries == b["max_entries"]
    x = (rng.random((4, a)) < 0.05).astype(np.uint8)
    job = {"net": net, "inputs": x, "options": dict(b), "seed": 11, "check": True,
           "record_state": False, "read_weights": False, "ready_prob": 0.8, "valid_prob": 1.0}
    # Icarus: Verilator spends 3 minutes compiling the 4 x 65,536 initial weight words
    results = run_networks([job], "icarus", name="full")
    check_results([job], results)
    want = simulate(net, x)
    assert all(want.spikes[q.name].any() for q in pops)


def run_variants(seeds, sim, per_topology, steps=8):
    """``len(seeds) * per_topology`` networks: each topology built once, then reconfigured
    through the configuration port (weights, neuron parameters, routing table, state
    cleared) for each further variant."""
    jobs = []
    for s in seeds:
        job = make_job(s, steps=steps)
        job["runs"] = [{"net": variant(job["net"], 1000 * s + k),
                        "inputs": random_inputs(1000 * s + k, job["net"], steps, rate=0.5)}
                       for k in range(1, per_topology)]
        jobs.append(job)
    results = run_networks(jobs, sim, name=f"variants{seeds[0]}")
    for job, runs in zip(jobs, results):
        assert len(runs) == per_topology
        check_results([job], [runs[0]])
        for k, (r, res) in enumerate(zip(job["runs"], runs[1:])):
            sub = dict(job, net=r["net"], inputs=r["inputs"], seed=f"{job['seed']}/{k + 1}")
            check_results([sub], [res])


def test_reconfigured_variants_match_golden():
    """A topology run with its built network and then two more networks written through the
    configuration port (Icarus)."""
    run_variants([9], "icarus", 3, steps=6)


@pytest.mark.slow
def test_verilator_sweep_50_networks():
    """50 networks through the cocotb testbench on Verilator: 5 random topologies in one
    build, each run with its own network and 9 more random networks of its shape written
    through the configuration port. (The native harness's sweep runs hundreds more on
    Verilator, ``tests/test_native.py``; Icarus runs 100 separate topologies in
    ``test_random_networks_match_golden_sweep``.)"""
    run_variants(list(range(200, 205)), "verilator", 10)
