"""The digits learning example: a short unsupervised run learns far above chance, and what it
writes loads back as a network that the golden model runs identically."""

import os
import subprocess
import sys

import numpy as np

import spikefab

ROOT = os.path.join(os.path.dirname(__file__), "..")
SCRIPT = os.path.join(ROOT, "examples", "digits", "digits.py")


def test_short_unsupervised_run_learns_and_writes_a_loadable_network(tmp_path):
    r = subprocess.run([sys.executable, SCRIPT, "--neurons", "40", "--epochs", "1",
                        "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    line = [ln for ln in r.stdout.splitlines() if ln.startswith("test accuracy")][0]
    acc = float(line.split("spikefab STDP ")[1].split("%")[0]) / 100
    assert acc > 0.5, line                   # chance is 0.10; this run gives about 0.67
    assert "nearest centroid 87.5%" in line and "logistic regression 92.9%" in line
    png = (tmp_path / "receptive_fields.png").read_bytes()
    assert png[:4] == b"\x89PNG"
    net = spikefab.load(tmp_path / "digits_learned.toml")
    assert [p.name for p in net.populations] == ["exc", "tonic"]
    assert not any(p.plastic for p in net.projections)
    w = net.projections[0].weights
    assert w.shape == (129, 40) and (w[128] == 0).all()
    initial = np.random.default_rng(1).integers(0, 64, size=(129, 40), endpoint=True)
    assert (w[:128] != initial[:128]).mean() > 0.5     # STDP moved most synapses
    assert (np.load(tmp_path / "labels.npy") < 10).all()


def test_bad_option_is_one_line():
    r = subprocess.run([sys.executable, SCRIPT, "--neurons", "3"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 2 and "--neurons must be an integer >= 10, not 3" in r.stderr
    assert "Traceback" not in r.stderr
