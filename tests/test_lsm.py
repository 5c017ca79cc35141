"""The liquid state machine example (``examples/lsm/lsm.py``): the seeded liquid and its
control, the task generators, the readouts' measures, the command line, and (slow) the quick
pipeline's claims: the liquid beats both baselines on the templates, the board slice equals
the golden model."""

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from spikefab.boards.capacity import check_capacity
from spikefab.boards.flow import board_params

ROOT = os.path.join(os.path.dirname(__file__), "..")
SCRIPT = os.path.join(ROOT, "examples", "lsm", "lsm.py")

_spec = importlib.util.spec_from_file_location("lsm_example", SCRIPT)
L = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(L)

SEED = 1


@pytest.fixture(scope="module")
def net():
    return L.build(L.Config(seed=SEED))


def _same(a, b):
    return (a.populations == b.populations and len(a.projections) == len(b.projections)
            and all(p.source == q.source and p.target == q.target
                    and p.weight_shift == q.weight_shift
                    and np.array_equal(p.weights, q.weights)
                    for p, q in zip(a.projections, b.projections)))


# -- the liquid ------------------------------------------------------------------------------

def test_liquid_is_seeded_and_deterministic(net):
    assert _same(net, L.build(L.Config(seed=SEED))), f"seed {SEED}"
    other = L.build(L.Config(seed=SEED + 1))
    assert not _same(net, other), f"seeds {SEED} and {SEED + 1} drew the same liquid"


def test_dales_law(net):
    for p in net.projections:
        if p.source == "exc":
            assert (p.weights >= 0).all(), f"seed {SEED}: {p.source} -> {p.target}"
        if p.source == "inh":
            assert (p.weights <= 0).all(), f"seed {SEED}: {p.source} -> {p.target}"
    # and both kinds are really there
    assert any((p.weights > 0).any() for p in net.projections if p.source == "exc")
    assert any((p.weights < 0).any() for p in net.projections if p.source == "inh")


def test_excitatory_inhibitory_ratio_and_outputs(net):
    exc, inh = net.population("exc"), net.population("inh")
    assert exc.size / (exc.size + inh.size) == pytest.approx(0.8)
    assert exc.output and inh.output
    assert [(p.source, p.target) for p in net.projections] == \
        [("input", "exc"), ("input", "inh")] + list(L.PAIRS)


def test_connectivity_falls_with_distance(net):
    pos_e, _ = L.grid(L.Config(seed=SEED))
    w = net.projections[2].weights                         # exc -> exc
    d2 = ((pos_e[:, None, :] - pos_e[None, :, :]) ** 2).sum(axis=-1)
    near = (w[(d2 >= 1) & (d2 <= 2)] != 0).mean()
    far = (w[d2 >= 9] != 0).mean()
    assert near > 0.1 and far < 0.01, (SEED, near, far)
    assert (np.diagonal(w) == 0).all()                     # no self-connections


def test_connection_probability_rule():
    a = np.array([[0, 0, 0]])
    b = np.array([[0, 0, 0], [1, 0, 0], [2, 0, 0]])
    p = L.connection_probability(a, b, 30, 20)
    np.testing.assert_allclose(p[0], [0.0, 0.3 * np.exp(-0.25), 0.3 * np.exp(-1.0)])


def test_liquid_fits_the_icebreaker(net):
    need = check_capacity(net, "icebreaker")
    assert need["cores"] >= 1 and need["neurons"] == 200
    params = board_params(net, "icebreaker", simulated=True)
    assert params.mapping.net is net
    assert sorted(params.mapping.outputs) == ["exc", "inh"]


def test_no_recurrence_has_no_liquid_synapses_and_the_same_input_weights(net):
    nr = L.no_recurrence(net)
    assert L.recurrent_synapses(net) > 500
    assert L.recurrent_synapses(nr) == 0
    assert all(p.source == "input" for p in nr.projections)
    assert nr.populations == net.populations
    inputs = [p for p in net.projections if p.source == "input"]
    assert len(nr.projections) == len(inputs) == 2
    for p, q in zip(inputs, nr.projections):
        assert p.target == q.target and p.weight_shift == q.weight_shift
        np.testing.assert_array_equal(p.weights, q.weights)
    check_capacity(nr, "icebreaker")


def test_liquid_is_neither_silent_nor_saturated(net):
    u, x = L.memory_stream(2, 200, 8, seed=SEED)
    s = L._liquid_spikes(net, x)
    rate = s.mean()
    assert 0.02 < rate < 0.3, (SEED, rate)


@pytest.mark.parametrize("field, value, message", [
    ("exc", 0, "Config exc must be an integer in [1, 256], not 0"),
    ("w_ee", 128, "Config w_ee must be an integer in [0, 127], not 128"),
    ("grid", (10, 5, 5), "Config grid must have exc + inh = 200 points, not 250 "
                         "((10, 5, 5))"),
])
def test_config_errors(field, value, message):
    with pytest.raises(ValueError) as e:
        replace(L.Config(), **{field: value})
    assert str(e.value) == message


# -- tasks -----------------------------------------------------------------------------------

def test_templates_are_seeded_jittered_and_count_preserving():
    a = L.templates(3, 20, 4, 5, 60, 3, seed=SEED)
    b = L.templates(3, 20, 4, 5, 60, 3, seed=SEED)
    c = L.templates(3, 20, 4, 5, 60, 3, seed=SEED + 1)
    np.testing.assert_array_equal(a[0], b[0], err_msg=f"seed {SEED}")
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    x, y = a
    assert x.shape == (60, 60, L.INPUTS) and x.dtype == np.uint8
    assert np.bincount(y).tolist() == [20, 20, 20]
    assert not x[:, :, 4:].any()
    counts = x.sum(axis=1)[:, :4]
    assert counts.max() <= 5 and counts.mean() > 4.5      # only merged spikes are lost
    # copies of one class differ (jitter), but less than copies of different classes
    pairs = [(i, j) for i in range(60) for j in range(i + 1, 60)]
    dist = {p: np.abs(x[p[0]].astype(int) - x[p[1]]).sum() for p in pairs}
    same = [d for (i, j), d in dist.items() if y[i] == y[j]]
    other = [d for (i, j), d in dist.items() if y[i] != y[j]]
    assert 0 < np.mean(same) < np.mean(other), (SEED, np.mean(same), np.mean(other))
    no_jitter = L.templates(3, 5, 4, 5, 60, 0, seed=SEED)
    for k in range(3):
        copies = no_jitter[0][no_jitter[1] == k]
        assert (copies == copies[0]).all()


def test_digit_sequences_show_one_row_at_a_time():
    img = np.zeros((1, 8, 8), int)
    img[0, 2, 5] = 16                                       # row 2, column 5: always spikes
    x = L.digit_sequences(img, 3, 4, seed=SEED)
    assert x.shape == (1, 28, L.INPUTS)
    assert np.argwhere(x[0]).tolist() == [[6, 5], [7, 5], [8, 5]]


def test_bin_counts():
    s = np.zeros((1, 6, 2), np.uint8)
    s[0, [0, 1, 4], 0] = 1
    s[0, 5, 1] = 1
    np.testing.assert_array_equal(L.bin_counts(s, 2), [[2, 0, 1, 1]])
    with pytest.raises(ValueError, match="Steps must be a multiple of bins = 4, not 6"):
        L.bin_counts(s, 4)


# -- measures --------------------------------------------------------------------------------

def test_memory_capacity_of_a_delay_line_is_its_depth():
    u, _ = L.memory_stream(6, 300, 1, seed=SEED)
    r2 = L.memory_curve(L.delay_features(u, 5), u, 8, 10, 4)
    np.testing.assert_allclose(r2[:5], 1.0, atol=1e-3, err_msg=f"seed {SEED}")
    assert r2[5:].max() < 0.02, (SEED, r2)
    assert r2.sum() == pytest.approx(5.0, abs=0.05)


def test_memory_capacity_of_noise_is_zero():
    u, _ = L.memory_stream(6, 300, 1, seed=SEED)
    noise = np.random.default_rng(SEED + 1).integers(0, 2, size=(6, 300, 50))
    r2 = L.memory_curve(noise, u, 8, 10, 4)
    assert r2.sum() < 0.1, (SEED, r2)


def test_fit_score_separates_and_does_not_warn():
    rng = np.random.default_rng(SEED)
    y = np.repeat([0, 1], 50)
    x = rng.normal(size=(100, 10))
    x[:, 0] += 4 * y
    x[:, 9] = 0                                             # a constant feature
    order = rng.permutation(100)
    acc, alpha = L.fit_score(x[order[:50]], y[order[:50]], x[order[50:]], y[order[50:]])
    assert acc > 0.9 and alpha in L.ALPHAS
    acc, _ = L.fit_score(x[order[:50], 1:], y[order[:50]], x[order[50:], 1:], y[order[50:]])
    assert acc < 0.75                                       # without the signal: near chance


# -- command line ----------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["--seed", "-1"], "--seed must be an integer in [0, 4294967295], not -1"),
    (["--write", "x.txt"], "--write must name a Markdown file (.md), not 'x.txt'"),
    (["--out", SCRIPT], f"--out must be a folder, not the file {SCRIPT!r}"),
])
def test_command_line_errors_are_one_line(args, message):
    r = subprocess.run([sys.executable, SCRIPT] + args, capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].endswith(message)


# -- the whole quick pipeline ----------------------------------------------------------------

@pytest.mark.slow
def test_quick_pipeline_beats_baselines_and_matches_the_board(tmp_path):
    r = subprocess.run([sys.executable, SCRIPT, "--quick", "--out", str(tmp_path)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    res = json.loads((tmp_path / "result.json").read_text())
    t = res["templates"]
    assert t["liquid"] > t["input_only"] and t["liquid"] > t["no_recurrence"], (SEED, t)
    mc = res["memory_capacity"]
    assert mc["liquid"] > mc["no_recurrence"], (SEED, mc)
    assert res["board_slice_equal"] is True, res["board_slice"]["mismatch"]
    for name in ("lsm.toml", "lsm_norec.toml", "lsm-memory.png"):
        assert (tmp_path / name).exists()
