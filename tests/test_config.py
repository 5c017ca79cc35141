"""The network file: every form of weights, frozen results, and exact error messages."""

import dataclasses
import os

import numpy as np
import pytest

import spikefab
from spikefab.golden import Hardware, Network, Population, Projection, Stdp, load, loads

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")

BASE = """
[network]
name = "t"
inputs = 4

[[population]]
name = "exc"
size = 3
threshold = 900
{pop_extra}

[[projection]]
source = "input"
target = "exc"
weights = {weights}
{proj_extra}
"""

STDP = """
[projection.stdp]
a_plus = 4
a_minus = 3
shift = 6
d_pre = 512
d_post = 512
x_inc = 64
y_inc = 64
w_min = 0
w_max = 127
"""


def doc(weights="{init = \"uniform\", low = -8, high = 64, seed = 1}", pop_extra="",
        proj_extra="", head=""):
    return head + BASE.format(weights=weights, pop_extra=pop_extra, proj_extra=proj_extra)


def test_demo_example_loads_with_defaults():
    net = spikefab.load(os.path.join(EXAMPLES, "demo.toml"))
    assert net.name == "demo" and net.inputs == 16
    assert [p.name for p in net.populations] == ["exc", "inh"]
    assert net.projections[0].plastic and not net.projections[1].plastic
    assert net.hardware == Hardware(16, 16, 8, 8, 8)


def test_defaults_of_optional_keys():
    net = loads(doc())
    p = net.populations[0]
    assert (p.du, p.dv, p.bias, p.refractory, p.reset, p.output) == (0, 0, 0, 0, "zero", False)
    assert net.projections[0].weight_shift == 0 and net.hardware == Hardware()


def test_inline_weights():
    net = loads(doc(weights="[[1, 2, 3], [4, 5, 6], [-1, -2, -3], [0, 0, 0]]"))
    assert net.projections[0].weights.tolist() == [[1, 2, 3], [4, 5, 6], [-1, -2, -3], [0, 0, 0]]


def test_npy_weights_relative_to_the_file(tmp_path):
    w = np.arange(12).reshape(4, 3) - 6
    os.makedirs(tmp_path / "w")
    np.save(tmp_path / "w" / "in_exc.npy", w)
    (tmp_path / "net.toml").write_text(doc(weights='"w/in_exc.npy"'))
    net = load(tmp_path / "net.toml")
    assert net.projections[0].weights.tolist() == w.tolist()
    assert net.projections[0].weights.dtype == np.int64


def test_uniform_init_is_seeded_inclusive_and_sparse():
    a = loads(doc(weights='{init = "uniform", low = -2, high = 2, seed = 5}'))
    b = loads(doc(weights='{init = "uniform", low = -2, high = 2, seed = 5}'))
    c = loads(doc(weights='{init = "uniform", low = -2, high = 2, seed = 6}'))
    assert np.array_equal(a.projections[0].weights, b.projections[0].weights)
    assert not np.array_equal(a.projections[0].weights, c.projections[0].weights)
    big = loads(doc(weights='{init = "uniform", low = 1, high = 3, seed = 1, density = 0.5}')
                .replace("size = 3", "size = 500"))
    w = big.projections[0].weights
    assert set(np.unique(w)) == {0, 1, 2, 3}
    assert 0.4 < (w != 0).mean() < 0.6


def test_constant_init():
    net = loads(doc(weights='{init = "constant", value = -7}'))
    assert (net.projections[0].weights == -7).all()


def test_results_are_frozen_and_weights_read_only():
    net = loads(doc())
    with pytest.raises(dataclasses.FrozenInstanceError):
        net.populations[0].threshold = 1
    with pytest.raises(ValueError, match="read-only"):
        net.projections[0].weights[0, 0] = 1


def test_weights_are_copied_from_the_callers_array():
    w = np.ones((1, 1), np.int64)
    p = Projection("input", "p", w)
    w[0, 0] = 5
    assert p.weights[0, 0] == 1


BAD = [
    # (document, exception, exact message)
    (doc(pop_extra="threshold = 40000").replace("threshold = 900\n", ""), ValueError,
     "Threshold of population 'exc' must be an integer in [0, 32767], not 40000"),
    (doc(pop_extra="du = 5000"), ValueError,
     "Du of population 'exc' must be an integer in [0, 4096], not 5000"),
    (doc(pop_extra="dv = -1"), ValueError,
     "Dv of population 'exc' must be an integer in [0, 4096], not -1"),
    (doc(pop_extra="bias = 32768"), ValueError,
     "Bias of population 'exc' must be an integer in [-32767, 32767], not 32768"),
    (doc(pop_extra="refractory = 256"), ValueError,
     "Refractory of population 'exc' must be an integer in [0, 255], not 256"),
    (doc(pop_extra='reset = "hard"'), ValueError,
     "Reset of population 'exc' must be one of 'zero', 'subtract', not 'hard'"),
    (doc(pop_extra='output = 1'), TypeError,
     "Output of population 'exc' must be true or false, not 1"),
    (doc(pop_extra='du = "512"'), TypeError,
     "Du of population 'exc' must be an integer in [0, 4096], not '512'"),
    (doc(pop_extra='du = 0.5'), TypeError,
     "Du of population 'exc' must be an integer in [0, 4096], not 0.5"),
    (doc(pop_extra="theta_bits = 17"), ValueError,
     "Theta_bits of population 'exc' must be an integer in [0, 16], not 17"),
    (doc(pop_extra="theta_bits = 4\ntheta_inc = 16"), ValueError,
     "Theta_inc of population 'exc' must be an integer in [0, 15], not 16"),
    (doc(pop_extra="theta_inc = 3"), ValueError,
     "Theta_inc of population 'exc' (no adaptive threshold: theta_bits = 0) must be an "
     "integer in [0, 0], not 3"),
    (doc(pop_extra="theta_bits = 4\ntheta_decay = 5000"), ValueError,
     "Theta_decay of population 'exc' must be an integer in [0, 4096], not 5000"),
    (doc(pop_extra="treshold = 1"), ValueError,
     "Unknown key 'treshold' in population 0 ('exc'); allowed keys: name, size, threshold, "
     "du, dv, bias, refractory, reset, output, theta_bits, theta_inc, theta_decay"),
    (doc().replace("size = 3", "size = 0"), ValueError,
     "Size of population 'exc' must be an integer in [1, 65536], not 0"),
    (doc().replace("size = 3\n", ""), ValueError,
     "Missing key 'size' in population 0 ('exc')"),
    (doc().replace('name = "exc"', 'name = "input"'), ValueError,
     "Population name must not be 'input', which names the external input channels"),
    (doc().replace('name = "exc"', 'name = "2exc"'), ValueError,
     "Population name must be an identifier (letters, digits, '_', not starting with a digit), "
     "not '2exc'"),
    (doc().replace("inputs = 4", "inputs = -1"), ValueError,
     "Network inputs must be an integer in [0, 65536], not -1"),
    (doc(head="[hardware]\nvoltage_bits = 40\n"), ValueError,
     "Hardware voltage_bits must be an integer in [2, 32], not 40"),
    (doc(head="[hardware]\nweight_bit = 8\n"), ValueError,
     "Unknown key 'weight_bit' in [hardware]; allowed keys: current_bits, voltage_bits, "
     "weight_bits, trace_bits, refractory_bits, rate_bits"),
    (doc(head="[hardware]\nweight_bits = 4\n"), ValueError,
     "Weights low of projection 0 (input -> exc) must be an integer in [-7, 7], not -8"),
    (doc(weights="[[1, 2, 3], [4, 5, 6], [-1, -2, -3]]"), ValueError,
     "Weights of projection 0 (input -> exc) must have shape (source size, target size) = "
     "(4, 3), not (3, 3)"),
    (doc(weights="[[1, 2, 3], [4, 5, 6], [-1, -2, -3], [0, 128, 0]]"), ValueError,
     "Weights of projection 0 (input -> exc) must be integers in [-127, 127] (8-bit signed), "
     "not 128 at [3][1]"),
    (doc(weights="[[1, 2, 3], [4, 5.5, 6], [-1, -2, -3], [0, 1, 0]]"), TypeError,
     "Weights of projection 0 (input -> exc) must be integers, not float64"),
    (doc(weights="[[1, 2, 3], [4, 5]]"), ValueError,
     "Weights of projection 0 (input -> exc) must be a rectangular nested list of integers"),
    (doc(weights='"missing.npy"').replace("", ""), ValueError, None),   # message has a path
    (doc(weights='{init = "gauss"}'), ValueError,
     "Weights init of projection 0 (input -> exc) must be one of 'uniform', 'constant', "
     "not 'gauss'"),
    (doc(weights='{init = "uniform", low = 5, high = 1}'), ValueError,
     "Weights high of projection 0 (input -> exc) must be an integer in [5, 127], not 1"),
    (doc(weights='{init = "uniform", low = 0, high = 1, density = 2}'), ValueError,
     "Weights density of projection 0 (input -> exc) must be a number in [0, 1], not 2"),
    (doc(weights='{init = "uniform", low = -8, high = 64}', proj_extra=STDP), ValueError,
     "Weights of projection 0 (input -> exc) must be integers in [w_min, w_max] = [0, 127], "
     "not -6 at [1][2]"),
    (doc(proj_extra=STDP.replace("a_plus = 4", "a_plus = 300")), ValueError,
     "STDP a_plus of projection 0 (input -> exc) must be an integer in [0, 255], not 300"),
    (doc(proj_extra=STDP.replace("shift = 6", "shift = 16")), ValueError,
     "STDP shift of projection 0 (input -> exc) must be an integer in [0, 15], not 16"),
    (doc(proj_extra=STDP.replace("x_inc = 64", "x_inc = 256")), ValueError,
     "STDP x_inc of projection 0 (input -> exc) must be an integer in [0, 255], not 256"),
    (doc(proj_extra=STDP.replace("w_max = 127", "w_max = -1")), ValueError,
     "STDP w_max of projection 0 (input -> exc) must be an integer in [0, 127], not -1"),
    (doc(proj_extra=STDP.replace("d_post = 512\n", "")), ValueError,
     "Missing key 'd_post' in STDP of projection 0 (input -> exc)"),
    (doc(proj_extra="weight_shift = 25"), ValueError,
     "Weight_shift of projection 0 (input -> exc) must be an integer in [0, 24], not 25"),
    (doc().replace('source = "input"', 'source = "inh"'), ValueError,
     "Source of projection 0 must be 'input' or one of ['exc'], not 'inh'"),
    (doc().replace('target = "exc"', 'target = "input"'), ValueError,
     "Target of projection 0 must be one of ['exc'], not 'input'"),
    (doc(proj_extra="delay = 1"), ValueError,
     "Unknown key 'delay' in projection 0; allowed keys: source, target, weights, "
     "weight_shift, stdp"),
    (doc() + "\n[[population]]\nname = \"exc\"\nsize = 1\nthreshold = 1\n", ValueError,
     "Population name 'exc' is used twice; names must be unique"),
    (doc().replace("[network]", "[net]"), ValueError,
     "Unknown table 'net'; allowed: [network], [hardware], [[population]], [[projection]]"),
    ("[network]\nname = \"t\"\ninputs = 1\n", ValueError,
     "Network must have at least one population, not 0"),
    (doc().replace("inputs = 4", "inputs = 4\nseed = 3"), ValueError,
     "Unknown key 'seed' in [network]; allowed keys: name, inputs"),
    (doc(head="[hardware]\ncurrent_bits = 32\nvoltage_bits = 32\nweight_bits = 16\n",
         proj_extra="weight_shift = 24").replace("inputs = 4", "inputs = 65536")
     .replace('{init = "uniform", low = -8, high = 64, seed = 1}',
              '{init = "constant", value = 0}'), ValueError,
     "Accumulator of population 'exc' needs 56 bits for the worst-case fan-in, more than the "
     "48 that the hardware builds; reduce the fan-in, weight_bits or weight_shift"),
]


@pytest.mark.parametrize("text, exc, message", BAD, ids=[f"bad{n}" for n in range(len(BAD))])
def test_bad_network_is_rejected_with_an_exact_message(text, exc, message, tmp_path):
    with pytest.raises(exc) as info:
        loads(text, base_dir=str(tmp_path))
    if message is None:
        assert str(info.value).startswith(
            "Weights file 'missing.npy' of projection 0 (input -> exc) does not exist")
    else:
        assert str(info.value) == message


def test_invalid_toml_names_the_line():
    with pytest.raises(ValueError, match=r"^Network file is not valid TOML: .*line 3"):
        loads("[network]\nname = 't'\ninputs = = 3\n")


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match=r"^Network file '.*nope.toml' does not exist$"):
        load(tmp_path / "nope.toml")


def test_python_construction_validates_too():
    with pytest.raises(ValueError, match=r"^Du of population 'p' must be an integer in "
                                         r"\[0, 4096\], not 4097$"):
        Population("p", 1, threshold=1, du=4097)
    with pytest.raises(TypeError, match=r"^Size of population 'p' must be an integer in "
                                        r"\[1, 65536\], not True$"):
        Population("p", True, threshold=1)
    st = Stdp(1, 1, 1, 1, 1, 1, 1, w_min=5, w_max=4)
    with pytest.raises(ValueError, match=r"^STDP w_max of projection 0 \(input -> p\) must be "
                                         r"an integer in \[5, 127\], not 4$"):
        Network("n", 1, [Population("p", 1, 1)], [Projection("input", "p", [[5]], stdp=st)])


def test_memory_and_counts():
    net = loads(doc(proj_extra=STDP, weights='{init = "uniform", low = 0, high = 9}'))
    assert (net.neurons, net.synapses, net.plastic_synapses) == (3, 12, 12)
    assert net.accumulator_bits("exc") == 10            # 4 * 127 = 508 -> 10 signed bits
    assert net.memory_bits() == {"weights": 96, "neuron_state": 3 * (16 + 16 + 8),
                                 "accumulators": 30, "traces": (4 + 3) * 8}


def test_dump_then_load_round_trips(tmp_path):
    from .netgen import random_network
    from spikefab.golden import dump
    for seed in range(10):
        net = random_network(seed)
        paths = dump(net, tmp_path / f"n{seed}" / "net.toml")
        assert len(paths) == 1 + len(net.projections)
        back = load(paths[0])
        assert (back.name, back.inputs, back.hardware, back.populations) == \
            (net.name, net.inputs, net.hardware, net.populations)
        for a, b in zip(net.projections, back.projections):
            assert (a.source, a.target, a.weight_shift, a.stdp) == \
                (b.source, b.target, b.weight_shift, b.stdp)
            assert np.array_equal(a.weights, b.weights)


def test_adaptive_threshold_round_trips_and_is_written_only_when_used(tmp_path):
    from spikefab.golden import dump, load, loads
    net = loads(doc(pop_extra="theta_bits = 7\ntheta_inc = 100\ntheta_decay = 12"))
    pop = net.populations[0]
    assert (pop.theta_bits, pop.theta_inc, pop.theta_decay) == (7, 100, 12)
    dump(net, tmp_path / "a.toml")
    assert load(tmp_path / "a.toml").populations == net.populations
    assert "theta_bits = 7" in (tmp_path / "a.toml").read_text()
    dump(loads(doc()), tmp_path / "b.toml")
    assert "theta" not in (tmp_path / "b.toml").read_text()

