"""Weights trained elsewhere (``spikefab.golden.quantize``, ``spikefab import-weights``):
the quantisation rule and its error report, every rejection with its exact message, the
command line, and imported weights loaded into a running simulated board."""

import os

import numpy as np
import pytest

import spikefab
from spikefab.cli import main
from spikefab.golden import (Hardware, Network, Population, Projection, Stdp, import_weights,
                             quantize, simulate)
from spikefab.golden.quantize import projection_index, projection_keys

from .compare import assert_same_array, assert_same_trace
from .netgen import random_inputs, small_network

ROOT = os.path.join(os.path.dirname(__file__), "..")
DEMO = os.path.join(ROOT, "examples", "demo.toml")


def two_layer(weight_bits=8, plastic=False):
    """input(4) -> a(3) -> b(2), a -> a (recurrent), and a second input -> b."""
    st = Stdp(1, 1, 4, 0, 0, 1, 1, 0, 100) if plastic else None
    z = np.zeros
    return Network("two", 4, [Population("a", 3, threshold=50, output=True),
                              Population("b", 2, threshold=50, output=True)],
                   [Projection("input", "a", z((4, 3), int), weight_shift=1, stdp=st),
                    Projection("a", "b", z((3, 2), int)),
                    Projection("a", "a", z((3, 3), int), weight_shift=2),
                    Projection("input", "b", z((4, 2), int)),
                    Projection("input", "b", z((4, 2), int), weight_shift=3)],
                   Hardware(weight_bits=weight_bits))


# -- the rule ----------------------------------------------------------------------------

def test_integers_at_scale_one_are_exact():
    f = np.array([[3.0, -7.0, 0.0], [127.0, -127.0, 1.0]])
    q = quantize(f, 8, scale=1.0, weight_shift=0)
    assert q.weights.tolist() == [[3, -7, 0], [127, -127, 1]]
    assert (q.max_error, q.rms_error, q.rel_max_error, q.zeroed) == (0.0, 0.0, 0.0, 0)
    assert q.nonzero == 5 and q.step == 1.0


def test_auto_scale_fills_the_range_and_reports_the_error():
    rng = np.random.default_rng(3)
    f = rng.normal(0, 0.2, (20, 30))
    f[rng.random(f.shape) < 0.2] = 0
    q = quantize(f, 6, weight_shift=2)
    assert int(np.abs(q.weights).max()) == 31
    assert q.scale == pytest.approx(4 * 31 / np.abs(f).max())
    assert q.step == pytest.approx(4 / q.scale)
    err = q.weights * q.step - f
    assert q.max_error == pytest.approx(np.abs(err).max())
    assert q.max_error <= q.step / 2 * (1 + 1e-12)
    assert q.rms_error == pytest.approx(np.sqrt((err ** 2).mean()))
    assert q.rel_max_error == pytest.approx(q.max_error / np.abs(f).max())
    assert q.rel_rms_error == pytest.approx(q.rms_error / np.sqrt((f ** 2).mean()))
    assert q.zeroed == int(((q.weights == 0) & (f != 0)).sum()) and q.zeroed > 0
    assert ((q.weights == 0) | (f != 0)).all()                    # zero stays zero
    assert (np.sign(q.weights) * np.sign(f) >= 0).all()            # no sign flips


def test_auto_scale_of_an_asymmetric_plastic_range():
    f = np.array([[0.5, -0.1], [0.25, 0.0]])
    q = quantize(f, 8, weight_shift=0, w_range=(-20, 100))
    # the positive side limits: 0.5 -> 100; -0.1 -> -20 exactly as well
    assert q.weights.tolist() == [[100, -20], [50, 0]]


@pytest.mark.parametrize("seed", range(20))
def test_random_matrices_round_to_nearest_within_half_a_step(seed):
    rng = np.random.default_rng([seed, 8])
    bits = int(rng.integers(2, 17))
    f = rng.normal(0, float(rng.uniform(1e-3, 1e3)), (int(rng.integers(1, 9)),
                                                      int(rng.integers(1, 9))))
    scale = float(rng.uniform(0.1, 10)) * (2 ** (bits - 1)) / np.abs(f).max()
    q = quantize(f, bits, scale=scale, weight_shift="auto")
    wmax = 2 ** (bits - 1) - 1
    assert np.abs(q.weights).max() <= wmax, f"seed {seed}"
    assert np.array_equal(q.weights, np.rint(f * scale / 2 ** q.weight_shift)), f"seed {seed}"
    if q.weight_shift > 0:      # the smallest shift that fits: one less does not
        assert np.abs(np.rint(f * scale / 2 ** (q.weight_shift - 1))).max() > wmax
    assert q.max_error <= q.step / 2 * (1 + 1e-9), f"seed {seed}"


def test_explicit_scale_picks_the_smallest_shift():
    f = np.array([[1.0, -2.5], [0.01, 0.0]])
    q = quantize(f, 8, scale=200.0, weight_shift="auto")
    # 2.5 * 200 = 500: >> 2 gives 125 <= 127, >> 1 gives 250
    assert q.weight_shift == 2 and q.weights.tolist() == [[50, -125], [0, 0]]
    assert q.zeroed == 1


# -- rejections (exact messages) ----------------------------------------------------------

W = "projection 0 (input -> exc)"


@pytest.mark.parametrize("f, kw, exc, message", [
    (np.zeros((2, 2, 2)), {}, ValueError,
     f"Weights of {W} must be a 2-D (source size, target size) array, not 3-D"),
    (np.array([[1.0, np.nan]]), {}, ValueError,
     f"Weights of {W} must be finite numbers, not nan at [0][1]"),
    (np.array([[1.0], [-np.inf]]), {}, ValueError,
     f"Weights of {W} must be finite numbers, not -inf at [1][0]"),
    (np.ones((2, 2), complex), {}, TypeError,
     f"Weights of {W} must be real numbers, not complex128"),
    (np.ones((2, 2), bool), {}, TypeError, f"Weights of {W} must be real numbers, not bool"),
    (np.array([["a"]]), {}, TypeError, f"Weights of {W} must be real numbers, not <U1"),
    (np.ones((2, 2)), {"scale": -1.0}, ValueError,
     f"Scale of {W} must be a positive finite number, not -1.0"),
    (np.ones((2, 2)), {"scale": float("nan")}, ValueError,
     f"Scale of {W} must be a positive finite number, not nan"),
    (np.ones((2, 2)), {"scale": "2"}, TypeError,
     f"Scale of {W} must be a positive finite number, not '2'"),
    (np.ones((2, 2)), {"weight_shift": 25}, ValueError,
     f"Weight_shift of {W} must be an integer in [0, 24] or 'auto', not 25"),
    (np.ones((2, 2)), {"weight_shift": 1.5}, TypeError,
     f"Weight_shift of {W} must be an integer in [0, 24] or 'auto', not 1.5"),
    (np.ones((2, 2)), {"weight_shift": "auto"}, ValueError,
     f"Weight_shift of {W} can be 'auto' only with a given scale"),
    (np.array([[1.0, 2.0]]), {"scale": 100.0, "weight_shift": 0}, ValueError,
     f"Weights of {W} must quantise to integers in [-127, 127] (8-bit signed), not 200 "
     f"(2 at [0][1] times scale 100 >> weight_shift 0)"),
    (np.array([[1.0, 3e9]]), {"scale": 1e3, "weight_shift": "auto"}, ValueError,
     f"Weights of {W} times scale 1000 must fit [-127, 127] (8-bit signed) after >> "
     f"weight_shift, for some weight_shift in [0, 24]; 3e+09 at [0][1] is 3e+12"),
    (np.array([[0.5, -0.5]]), {"w_range": (0, 127)}, ValueError,
     f"Weights of {W} must be >= 0 to fit [w_min, w_max] = [0, 127], not -0.5 at [0][1]"),
    (np.array([[0.5, 0.0]]), {"w_range": (10, 127)}, ValueError,
     f"Weights of {W} must quantise to integers in [w_min, w_max] = [10, 127], not 0 "
     f"(0 at [0][1] times scale 254 >> weight_shift 0)"),
])
def test_quantize_rejects(f, kw, exc, message):
    with pytest.raises(exc) as e:
        quantize(f, 8, what=W, **kw)
    assert str(e.value) == message


def test_projection_keys():
    net = two_layer()
    assert projection_keys(net) == {"0": 0, "input->a": 0, "1": 1, "a->b": 1, "2": 2,
                                    "a->a": 2, "3": 3, "4": 4}
    assert projection_index(net, "a -> b") == 1 and projection_index(net, 4) == 4


@pytest.mark.parametrize("weights, kw, exc, message", [
    ({"x->a": np.ones((4, 3))}, {}, ValueError,
     "Weights key must be a projection index in [0, 4] or one of 'input->a', 'a->b', 'a->a' "
     "of network 'two', not 'x->a'"),
    ({"7": np.ones((4, 3))}, {}, ValueError,
     "Weights key must be a projection index in [0, 4] or one of 'input->a', 'a->b', 'a->a' "
     "of network 'two', not '7'"),
    ({"input->b": np.ones((4, 2))}, {}, ValueError,
     "Weights key 'input->b' names projections 3, 4 of network 'two'; use the index"),
    ({"0": np.ones((4, 3)), "input->a": np.ones((4, 3))}, {}, ValueError,
     "Projection 0 (input -> a) is given twice, as '0' and 'input->a'"),
    ({"a->b": np.ones((2, 3))}, {}, ValueError,
     "Weights of projection 1 (a -> b) must have shape (source size, target size) = (3, 2), "
     "not (2, 3)"),
    ({"a->b": np.ones(6)}, {}, ValueError,
     "Weights of projection 1 (a -> b) must have shape (source size, target size) = (3, 2), "
     "not (6,)"),
    ({"1": np.ones((3, 2))}, {"scale": {"2": 5.0}}, ValueError,
     "Scale is given for projection 2 (a -> a), whose weights are not imported"),
    ({"1": np.ones((3, 2))}, {"weight_shift": {"nope": 1}}, ValueError,
     "Weight_shift key must be a projection index in [0, 4] or one of 'input->a', 'a->b', "
     "'a->a' of network 'two', not 'nope'"),
    ({}, {}, ValueError, "Weights must name at least one projection, not none"),
    ([np.ones((3, 2))], {}, TypeError,
     "Weights must be a mapping of projection key to array, not [array([[1., 1.],\n"
     "       [1., 1.],\n       [1., 1.]])]"),
    # a plastic projection's range is [w_min, w_max] of its rule
    ({"0": -np.ones((4, 3))}, {"plastic": True}, ValueError,
     "Weights of projection 0 (input -> a) must be >= 0 to fit [w_min, w_max] = [0, 100], "
     "not -1 at [0][0]"),
])
def test_import_rejects(weights, kw, exc, message):
    net = two_layer(plastic=kw.pop("plastic", False))
    with pytest.raises(exc) as e:
        import_weights(net, weights, **kw)
    assert str(e.value) == message


def test_import_rejects_what_the_network_cannot_hold():
    # 600 inputs at 16 bits, shifted by 24 (the smallest shift that fits 3e11): the
    # accumulator would need more than 48 bits, which the network itself refuses
    net = Network("wide", 600, [Population("a", 1, threshold=1)],
                  [Projection("input", "a", np.zeros((600, 1), int))], Hardware(weight_bits=16))
    with pytest.raises(ValueError, match=r"^Accumulator of population 'a' needs 50 bits for "
                                         r"the worst-case fan-in, more than the 48 that the "
                                         r"hardware builds"):
        import_weights(net, {"0": np.full((600, 1), 3e11)}, scale=1.0, weight_shift="auto")


def test_import_quantises_named_projections_and_keeps_the_rest():
    net = two_layer()
    rng = np.random.default_rng(1)
    fa, fb = rng.normal(0, 1, (4, 3)), rng.normal(0, 1, (3, 2))
    out, report = import_weights(net, {"input->a": fa, 1: fb}, scale={"0": 30.0},
                                 weight_shift={"0": "auto"})
    assert sorted(report) == [0, 1]
    assert report[0].scale == 30.0 and report[0].weight_shift == \
        out.projections[0].weight_shift
    assert report[1].weight_shift == 0 and int(np.abs(out.projections[1].weights).max()) == 127
    for k in (0, 1):
        assert np.array_equal(out.projections[k].weights, report[k].weights)
    for k in (2, 3, 4):
        assert out.projections[k] is net.projections[k]
    assert out.populations == net.populations and out.hardware == net.hardware


# -- the command line ---------------------------------------------------------------------

def _demo_weights(tmp_path, **arrays):
    rng = np.random.default_rng(0)
    arrays = arrays or {"0": rng.random((16, 32)) * 0.8,
                        "exc->inh": rng.random((32, 8)) * 0.1}
    path = tmp_path / "trained.npz"
    np.savez(path, **arrays)
    return path


def test_cli_import_weights_writes_a_loadable_network(tmp_path, capsys):
    path = _demo_weights(tmp_path)
    out = tmp_path / "out" / "demo_imported.toml"
    assert main(["import-weights", DEMO, str(path), "-o", str(out)]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0] == f"importing 2 array(s) from {path} into demo (weight_bits 8)"
    assert text[1].split() == ["projection", "key", "source", "->", "target", "scale", "shift",
                               "step", "max", "error", "rms", "error", "rel", "max", "rel",
                               "rms", "zeroed"]
    assert text[2].split()[:5] == ["0", "0", "input", "->", "exc"]
    assert text[3].split()[:5] == ["1", "exc->inh", "exc", "->", "inh"]
    assert text[-1] == (f"wrote {out} and 3 weight file(s); same shapes and shifts as the "
                        f"network: it loads into a board built for it")
    net, imported = spikefab.load(DEMO), spikefab.load(out)
    with np.load(path) as arrays:
        want, report = import_weights(net, dict(arrays))
    for k, pr in enumerate(imported.projections):
        assert_same_array(f"weights of projection {k}", pr.weights, want.projections[k].weights,
                          0)
    assert np.array_equal(imported.projections[2].weights, net.projections[2].weights)
    # the demo's first projection is plastic: its range is [w_min, w_max] = [0, 127]
    assert int(imported.projections[0].weights.max()) == 127
    assert f"{report[0].max_error:.4g}" in text[2] and "0.39%" in text[2]


def test_cli_import_weights_with_scale_and_auto_shift(tmp_path, capsys):
    path = _demo_weights(tmp_path, **{"1": np.full((32, 8), 0.25), "2": -np.ones((8, 32))})
    out = tmp_path / "o.toml"
    assert main(["import-weights", DEMO, str(path), "-o", str(out), "--scale", "100",
                 "--shift", "1=auto", "--shift", "inh->exc=3"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[-1] == (f"wrote {out} and 3 weight file(s); weight_shift changed for "
                        f"projection(s) 1: it needs its own build")
    imported = spikefab.load(out)
    # 0.25 * 100 = 25 fits at shift 0; -1 * 100 >> 3 = -12.5 -> -12 (ties to even)
    assert imported.projections[1].weight_shift == 0
    assert set(imported.projections[1].weights.ravel()) == {25}
    assert set(imported.projections[2].weights.ravel()) == {-12}


@pytest.mark.parametrize("setup, args, message", [
    (None, ["missing.npz"], "Weights file 'missing.npz' does not exist"),
    ("npy", ["w.npy"], "Weights file 'w.npy' must be an .npz archive of arrays named by "
                       "projection, not a single array"),
    ("text", ["w.npz"], "Weights file 'w.npz' is not a readable .npz archive: "),
    ("object", ["w.npz"], "Weights file 'w.npz': array '0' cannot be read: Object arrays "
                          "cannot be loaded when allow_pickle=False"),
    ("bad_key", ["w.npz"], "w.npz: Weights key must be a projection index in [0, 2] or one "
                           "of 'input->exc', 'exc->inh', 'inh->exc' of network 'demo', not "
                           "'input->inh'"),
    ("shape", ["w.npz"], "w.npz: Weights of projection 0 (input -> exc) must have shape "
                         "(source size, target size) = (16, 32), not (16, 31)"),
    ("nan", ["w.npz"], "w.npz: Weights of projection 1 (exc -> inh) must be finite numbers, "
                       "not nan at [3][4]"),
    ("good", ["w.npz", "--scale", "zero"],
     "--scale must be [KEY=]VALUE with VALUE a positive number, not 'zero'"),
    ("good", ["w.npz", "--scale", "0=-2"],
     "--scale must be [KEY=]VALUE with VALUE a positive number, not '0=-2'"),
    ("good", ["w.npz", "--shift", "x=half"],
     "--shift must be [KEY=]VALUE with VALUE an integer, 'auto' or 'keep', not 'x=half'"),
    ("good", ["w.npz", "--shift", "2", "--shift", "0=1"],
     "--shift without a KEY applies to every projection; it cannot be mixed with '0=1'"),
    ("good", ["w.npz", "--shift", "30"],
     "w.npz: Weight_shift of projection 0 (input -> exc) must be an integer in [0, 24] or "
     "'auto', not 30"),
])
def test_cli_import_weights_errors(setup, args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    if setup == "npy":
        np.save("w.npy", np.ones((16, 32)))
    elif setup == "text":
        (tmp_path / "w.npz").write_text("not a zip")
    elif setup == "object":
        np.savez("w.npz", **{"0": np.array([1, "a", None], dtype=object)})
    elif setup == "bad_key":
        np.savez("w.npz", **{"input->inh": np.ones((16, 8))})
    elif setup == "shape":
        np.savez("w.npz", **{"0": np.ones((16, 31))})
    elif setup == "nan":
        w = rng.random((32, 8))
        w[3, 4] = np.nan
        np.savez("w.npz", **{"1": w})
    elif setup == "good":
        np.savez("w.npz", **{"0": rng.random((16, 32))})
    assert main(["import-weights", DEMO, *args, "-o", "out.toml"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"spikefab: error: {message}") and err.count("\n") == 1, err
    if setup != "text":
        assert err == f"spikefab: error: {message}\n"
    assert not (tmp_path / "out.toml").exists()          # nothing half-written


# -- into a running board -------------------------------------------------------------------

def test_imported_weights_load_into_a_running_board():
    import spikefab.host as h
    from spikefab.shape.network import derive
    net = small_network()
    rng = np.random.default_rng(12)
    floats = {str(k): rng.normal(0, 1, pr.weights.shape) for k, pr in
              enumerate(net.projections)}
    imported, report = import_weights(net, floats)
    assert all(q.weight_shift == net.projections[k].weight_shift for k, q in report.items())
    p = derive(net, outputs=[q.name for q in net.populations])
    x = random_inputs(12, net, 8, rate=0.6)
    with h.Device.sim(p) as dev:
        dev.identify()
        dev.load()
        dev.load_weights(imported)           # weights only: parameters and routes stay
        r = dev.run(x, record_state=True)
        for k, w in enumerate(dev.read_weights()):
            assert_same_array(f"weights of projection {k}", w,
                              imported.projections[k].weights, 12)
    g = simulate(imported, x, record_state=True)
    assert sum(int(s.sum()) for s in g.spikes.values()) > 0
    for q in net.populations:
        assert_same_trace("spikes", r.spikes[q.name], g.spikes[q.name], 12, q.name)
        assert_same_trace("v", r.v[q.name], g.v[q.name], 12, q.name)
