"""The whole network on the generated Verilog (Icarus and Verilator): cores, router, barrier.

Random networks (2-4 populations, recurrent, excitatory, inhibitory and mixed projections,
several projections into one population, populations split over cores, fan-out > 1) run in
bundles (several tops side by side in one build and one simulation, so that a sweep costs a few
builds). The testbench (``spikefab.hdl.cocotb_network``) sends each step's inputs in random
order with random gaps, takes the outputs with random backpressure, and checks every output
event when it is transferred and every step at its barrier against the golden model; ``u`` and
``v`` are read back after every step in lock-step runs, the final weights at the end. Every
failure names the step, population, neuron, both values and the seed.
"""

import numpy as np
import pytest

from spikefab.golden import Hardware, Network, Population, Projection, Stdp, simulate
from spikefab.hdl.generate_network import (DEFAULT_BUILD, generate_network, network_params,
                                           run_networks, simulate_network_rtl)

from netgen import random_inputs
from test_mapping import random_capacity, random_multicore_network

def make_job(seed, steps=10, lanes=(1, 1, 2), rate=(0.2, 0.7), **kw):
    """A random network, capacity, stimulus and backpressure, all from ``seed`` (``lanes``
    drawn from the choices given, the input rate from the interval given)."""
    net = random_multicore_network(seed)
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
    job.update(kw)
    return job


def check_results(jobs, results):
    """What the testbench returned equals ``golden.simulate`` (the testbench already checked
    as it ran; this checks the returned arrays too)."""
    for job, res in zip(jobs, results):
        net, seed = job["net"], job["seed"]
        want = simulate(net, job["inputs"], record_state=True)
        p = network_params(net, **job["options"])
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
        assert (res["cycles"] > 0).all()


def run_seeds(seeds, sim, **kw):
    jobs = [make_job(s, **kw) for s in seeds]
    assert any(len(network_params(j["net"], **j["options"]).cores) > len(j["net"].populations)
               for j in jobs), "no population split over cores"
    results = run_networks(jobs, sim, name=f"seeds{seeds[0]}")
    check_results(jobs, results)
    return jobs, results


def test_random_networks_match_golden():
    """Four random networks side by side on Icarus."""
    run_seeds(list(range(4)), "icarus")


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


def test_simulate_network_rtl_equals_golden_arrays():
    """``simulate_network_rtl`` returns golden's arrays (npz keys and values), batch too."""
    net = random_multicore_network(3)
    x = random_inputs(3, net, 8, rate=0.5, batch=2)
    got = simulate_network_rtl(net, x, record_state=True, neurons_per_core=7, seed=3,
                               ready_prob=0.5, valid_prob=0.5)
    want = simulate(net, x, record_state=True)
    g, w = got.to_npz_dict(), want.to_npz_dict()
    assert sorted(g) == sorted(w)
    for key in w:
        assert np.array_equal(g[key], w[key]), key
    assert got.cycles.shape == (2, 8)


def _net(pops, projs, inputs=3, hw=None):
    return Network("t", inputs, pops, projs, hw or Hardware())


def test_population_without_projections_and_one_core():
    """A population that nothing projects into (a dummy axon slot) next to a one-neuron
    population; on Verilator."""
    pops = [Population("drive", 5, 0, bias=40, output=True), Population("one", 1, 30)]
    w = np.full((5, 1), 9)
    net = _net(pops, [Projection("drive", "one", w),
                      Projection("input", "one", np.ones((3, 1), np.int64))])
    x = random_inputs(9, net, 12, rate=0.5)
    got = simulate_network_rtl(net, x, record_state=True, sim="verilator", check=True, seed=9)
    want = simulate(net, x, record_state=True)
    for q in pops:
        assert np.array_equal(got.spikes[q.name], want.spikes[q.name]), q.name
        assert np.array_equal(got.v[q.name], want.v[q.name]), q.name
    assert want.spikes["one"].any() and want.spikes["drive"].any()


def test_plastic_projection_is_rejected():
    pops = [Population("a", 2, 10)]
    st = Stdp(a_plus=1, a_minus=1, shift=0, d_pre=0, d_post=0, x_inc=1, y_inc=1, w_min=-5,
              w_max=5)
    net = _net(pops, [Projection("input", "a", np.ones((3, 2), np.int64), stdp=st)])
    with pytest.raises(ValueError, match=r"^Projection 0 \(input -> a\) is plastic; the network "
                                         r"top runs static projections only; a plastic network "
                                         r"must be one population, which runs on one core$"):
        simulate_network_rtl(net, np.zeros((2, 3)))


def test_bad_simulator_is_rejected():
    net = random_multicore_network(0)
    with pytest.raises(ValueError, match=r"^Simulator must be one of icarus, verilator, not "
                                         r"'xcelium'$"):
        simulate_network_rtl(net, np.zeros((2, net.inputs)), sim="xcelium")


def test_a_wrong_weight_fails_with_step_population_neuron_and_seed(monkeypatch):
    """The check can fail: the built network's weights differ from the golden network's."""
    seed = 2
    job = make_job(seed, record_state=True, read_weights=False)
    net = job["net"]
    # golden sees the network; the hardware is built from a copy with one weight changed
    k = next(i for i, pr in enumerate(net.projections) if pr.source == "input")
    w = net.projections[k].weights.copy()
    w[:, 0] = np.where(w[:, 0] > 0, -w[:, 0], net.hardware.weight_max)
    projs = list(net.projections)
    projs[k] = Projection(projs[k].source, projs[k].target, w, projs[k].weight_shift)
    bad = Network(net.name, net.inputs, net.populations, projs, net.hardware)
    import spikefab.hdl.generate_network as gn
    real = gn.network_params
    monkeypatch.setattr(gn, "network_params",
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
    p = network_params(net, neurons_per_core=9)
    assert len(info["cores"]) == len(p.cores) and info["top"] == "top5"
    assert info["router"]["destinations"] == [list(d) for d in p.router.destinations]
    meta = json.loads(Path(paths["metadata"]).read_text())
    assert "i_input" in meta["interface"]["members"]
    # deterministic
    again = generate_network(net, tmp_path / "again", neurons_per_core=9, name="top5")
    assert Path(again["verilog"]).read_text() == text


@pytest.mark.slow
def test_long_run_2000_steps():
    """2,000 steps of a 3-population recurrent network, inputs sent ahead of the steps."""
    seed = 7
    job = make_job(seed, steps=2000, record_state=False, read_weights=True, ready_prob=0.7,
                   valid_prob=0.8)
    jobs = [job]
    results = run_networks(jobs, "icarus", name="long")
    check_results(jobs, results)
    assert sum(int(results[0]["spikes"][q].sum()) for q in results[0]["spikes"]) > 500


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
    p = network_params(net, **{k: v for k, v in b.items()}, outputs=None)
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


def variant(net, seed):
    """A network of the same shape as ``net`` (populations, projections, shifts, widths,
    outputs) with new weights and neuron parameters: what the configuration port can change."""
    rng = np.random.default_rng([seed, 43])
    hw = net.hardware
    vmax, wmax = 2 ** (hw.voltage_bits - 1) - 1, hw.weight_max
    pops = [Population(**{**q.__dict__,
                          "threshold": int(rng.integers(0, max(1, vmax // 8))),
                          "du": int(rng.choice([0, 4096, rng.integers(0, 4097)])),
                          "dv": int(rng.choice([0, 4096, rng.integers(0, 4097)])),
                          "bias": int(rng.integers(-vmax // 32, vmax // 32 + 1)),
                          "refractory": int(rng.integers(0, 2 ** hw.refractory_bits)),
                          "reset": str(rng.choice(["zero", "subtract"]))})
            for q in net.populations]
    projs = []
    for pr in net.projections:
        w = rng.integers(-wmax, wmax, size=pr.weights.shape, endpoint=True)
        w[rng.random(w.shape) < 0.3] = 0
        projs.append(Projection(pr.source, pr.target, w, weight_shift=pr.weight_shift))
    return Network(f"{net.name}_v{seed}", net.inputs, pops, projs, hw)


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
@pytest.mark.parametrize("chunk", range(2))
def test_verilator_sweep_100_networks(chunk):
    """100 networks on Verilator: 10 random topologies (5 per build), each run with its own
    network and 9 more random networks of its shape written through the configuration port.
    (A Verilator build costs ~1.5 s per core, so 100 separate topologies would cost ~10 min;
    Icarus runs 100 separate topologies in ``test_random_networks_match_golden_sweep``.)"""
    run_variants(list(range(200 + 5 * chunk, 205 + 5 * chunk)), "verilator", 10)
