"""The coding comparison (``examples/coding/compare.py``): the readout is trained on what the
network really integrates, the decision rule, and (slow) the whole comparison with the board."""

import os
import sys

import numpy as np
import pytest

from spikefab.golden import simulate

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples", "coding"))
import compare as C  # noqa: E402

SEED = 20261206


@pytest.mark.parametrize("du, dv, exact", [(4096, 0, True), (0, 0, True), (4096, 256, False)])
def test_features_are_the_golden_voltage(du, dv, exact):
    """The weights are fitted on ``features @ W``: it must be the output voltage at the last
    step of the bit-exact network (exactly without leak; to within the truncation of the
    leak's products otherwise)."""
    rng = np.random.default_rng(SEED)
    w = rng.integers(-127, 128, (64, 10))
    x = (rng.random((6, C.STEPS, 64)) < 0.05).astype(np.uint8)
    res = simulate(C.build(w, 2 ** 19 - 2, du, dv), x, record_state=True)
    err = np.abs(res.v["out"][:, -1] - C.features(x, du, dv) @ w)
    assert (err.max() == 0) if exact else (err.max() <= C.STEPS), f"seed {SEED}: {err.max()}"


def test_response_shapes():
    assert np.array_equal(C.response(4096, 0), np.ones(C.STEPS))
    assert np.array_equal(C.response(0, 0), np.arange(C.STEPS, 0, -1))
    assert C.response(4096, 256)[-1] == 1 and C.response(4096, 256)[0] == pytest.approx(
        0.9375 ** (C.STEPS - 1))


def test_decide_counts_and_settling_step():
    s = np.zeros((3, C.STEPS, 10), dtype=np.uint8)
    s[0, 2, 4] = 1                       # class 4 from step 2 on
    s[1, 1, 7] = 1
    s[1, 5, 3] = s[1, 9, 3] = 1          # 7 leads from step 1; at 5, 3 ties and wins (lowest)
    pred, settled = C.decide(s)
    assert pred.tolist() == [4, 3, -1]
    assert settled.tolist() == [2, 5, C.STEPS]


@pytest.mark.parametrize("name", list(C.CODES))
def test_every_code_gives_the_network_its_inputs(name):
    x = np.random.default_rng(SEED).random((2, 64))
    s = C.code(name, x, seed=3)
    assert s.shape == (2, C.STEPS, 64) and s.dtype == np.uint8
    assert np.array_equal(s, C.code(name, x, seed=3))


@pytest.mark.slow
def test_comparison_end_to_end(tmp_path, capsys):
    """The whole comparison with one test image of every code on the simulated iCEBreaker
    (every output spike equal to the golden model): the latency and count codes reach the
    float logistic regression's accuracy to within 2 points."""
    import json
    assert C.main(["--out", str(tmp_path), "--board-images", "1"]) == 0
    with open(tmp_path / "result.json") as f:
        r = json.load(f)
    by = {c["code"]: c for c in r["codes"]}
    assert set(by) == set(C.CODES)
    for name in ("regular", "ttfs", "burst"):
        assert by[name]["accuracy"] >= r["logistic_regression"] - 0.02, (name, by[name])
    assert by["ttfs"]["input_spikes_per_image"] < by["regular"]["input_spikes_per_image"] / 3
    assert all(c["board_images"] == 1 for c in r["codes"])
    assert "every output spike equal to the golden model" in capsys.readouterr().out
