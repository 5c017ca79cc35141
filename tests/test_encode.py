"""The spike codings and decoders (``golden/encode.py``, ``docs/coding.md``): shapes, seeds,
the property each code promises, and the exact message of every bad parameter."""

import numpy as np
import pytest

from spikefab.golden import (SCHEMES, burst_encode, delta_decode, delta_encode, encode,
                             first_spike_time, phase_decode, phase_encode, phase_weights,
                             population_vote, rate_encode, regular_encode, spike_count,
                             ttfs_decode, ttfs_encode)

SEED = 20261206
X = np.linspace(0, 1, 21)


# -- common signature ---------------------------------------------------------------------------

@pytest.mark.parametrize("scheme", [s for s in SCHEMES if s != "delta"])
def test_every_scheme_shapes_and_determinism(scheme):
    x = np.random.default_rng(SEED).random((3, 7))
    a = encode(scheme, x, 24)
    assert a.shape == (3, 24, 7) and a.dtype == np.uint8 and set(np.unique(a)) <= {0, 1}
    assert np.array_equal(a, encode(scheme, x, 24))
    # a batch codes each stimulus as on its own
    assert np.array_equal(a[1], encode(scheme, x[1], 24)) or scheme == "rate"
    assert encode(scheme, x[0], 24).shape == (24, 7)


def test_delta_through_encode():
    s = np.cumsum(np.random.default_rng(SEED).normal(size=(30, 4)), axis=0)
    a = encode("delta", s, threshold=0.5)
    assert a.shape == (30, 8) and np.array_equal(a, delta_encode(s, 0.5))


# -- rate -----------------------------------------------------------------------------------------

def test_rate_seeded_and_shaped():
    a = rate_encode(np.linspace(0, 1, 10), 50, rate=0.5, seed=3)
    assert a.shape == (50, 10) and a.dtype == np.uint8
    assert np.array_equal(a, rate_encode(np.linspace(0, 1, 10), 50, rate=0.5, seed=3))
    assert not np.array_equal(a, rate_encode(np.linspace(0, 1, 10), 50, rate=0.5, seed=4))
    assert rate_encode(np.zeros((4, 3)), 7, seed=1).shape == (4, 7, 3)


def test_rate_converges_to_intensity():
    a = rate_encode(np.array([0.0, 0.5, 1.0]), 40000, rate=0.2, seed=9)
    assert a[:, 0].sum() == 0
    assert abs(a[:, 1].mean() - 0.1) < 0.006 and abs(a[:, 2].mean() - 0.2) < 0.008


# -- regular --------------------------------------------------------------------------------------

@pytest.mark.parametrize("rate, phase", [(0.25, 0.0), (1.0, 0.0), (0.37, 0.5), (0.9, 0.99)])
def test_regular_count_is_exact_and_evenly_spaced(rate, phase):
    T = 200
    a = regular_encode(X, T, rate=rate, phase=phase)
    q = np.floor(X * rate * 65536 + 0.5).astype(np.int64)
    start = int(np.floor(phase * 65536 + 0.5))
    assert np.array_equal(spike_count(a), (start + q * T) >> 16)
    assert np.all(np.abs(spike_count(a) - X * rate * T) <= 1.0 + 1e-9)
    for c in range(len(X)):
        gaps = np.diff(np.nonzero(a[:, c])[0])
        if len(gaps):       # an accumulator's spikes are at most one step apart from even
            assert gaps.max() - gaps.min() <= 1
    if rate == 1.0:
        assert a[:, -1].all()


# -- ttfs -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode, cutoff", [("linear", 0.0), ("linear", 0.3), ("log", 0.01),
                                          ("log", 0.2)])
def test_ttfs_one_spike_monotone_latency_and_cutoff(mode, cutoff):
    x = np.random.default_rng(SEED).random(500)
    a = ttfs_encode(x, 32, mode=mode, cutoff=cutoff)
    n = spike_count(a)
    assert np.array_equal(n, (x > cutoff).astype(int))         # one spike, or silent
    t = first_spike_time(a)
    order = np.argsort(x)
    fired = x[order] > cutoff
    assert np.all(np.diff(t[order][fired]) <= 0)                # stronger: never later
    assert ttfs_encode(np.array([1.0]), 32, mode, cutoff)[0, 0] == 1     # x = 1: step 0
    back = ttfs_decode(a, mode=mode, cutoff=cutoff)
    assert np.all(back[x <= cutoff] == 0)
    if mode == "linear":
        assert np.abs(back - x)[x > cutoff].max() <= (1 - cutoff) / (2 * 31) + 1e-12


def test_ttfs_zero_is_silent_with_no_cutoff():
    a = ttfs_encode(np.array([0.0, 1e-9, 1.0]), 10)
    assert spike_count(a).tolist() == [0, 1, 1] and first_spike_time(a).tolist() == [10, 9, 0]


# -- burst ----------------------------------------------------------------------------------------

def test_burst_counts_and_intervals_follow_intensity():
    x = np.array([0.0, 0.1, 0.2, 0.21, 0.6, 0.61, 0.8, 1.0])
    a = burst_encode(x, 30, max_spikes=5, min_isi=1, max_isi=4)
    assert spike_count(a).tolist() == [0, 1, 1, 2, 3, 4, 4, 5]
    isi = [np.diff(np.nonzero(a[:, c])[0]) for c in range(len(x))]
    assert isi[3].tolist() == [4] and isi[4].tolist() == [3, 3] and isi[-1].tolist() == [1] * 4
    assert all(a[0, c] for c in range(1, len(x)))              # every burst starts the window
    # more input: never fewer spikes, never a longer interval
    xs = np.linspace(0.01, 1, 300)
    b = burst_encode(xs, 40)
    assert np.all(np.diff(spike_count(b)) >= 0)
    mean_isi = [np.diff(np.nonzero(b[:, c])[0]).mean() for c in range(300)
                if spike_count(b)[c] > 1]
    assert np.all(np.diff(mean_isi) <= 0)


def test_burst_repeats_every_period():
    x = np.random.default_rng(SEED).random(40)
    a = burst_encode(x, 36, period=12)
    assert np.array_equal(a[:12], a[12:24]) and np.array_equal(a[:12], a[24:])
    assert np.array_equal(a[:12], burst_encode(x, 12))


# -- phase ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("bits", [1, 4, 8, 12])
def test_phase_round_trip_within_half_a_bit(bits):
    x = np.random.default_rng(SEED).random(300)
    a = phase_encode(x, 3 * bits, bits=bits)
    assert np.array_equal(a[:bits], a[bits:2 * bits])
    err = np.abs(phase_decode(a, bits) - x)
    assert err.max() <= 2.0 ** -bits        # half a step, or the top code clipped at 1
    assert err[x < 1 - 2.0 ** -bits].max() <= 2.0 ** -(bits + 1) + 1e-12
    assert phase_weights(2 * bits, bits)[0] == 0.5 and phase_weights(2 * bits, bits)[bits] == 0.5


def test_phase_bits_most_significant_first():
    a = phase_encode(np.array([0.8125]), 4, bits=4)      # 13/16 = 0b1101
    assert a[:, 0].tolist() == [1, 1, 0, 1]


# -- delta ----------------------------------------------------------------------------------------

def test_delta_tracks_a_slow_signal_within_the_threshold():
    rng = np.random.default_rng(SEED)
    s = np.cumsum(rng.uniform(-0.09, 0.09, size=(2, 400, 5)), axis=1)
    a = delta_encode(s, 0.1)
    assert a.shape == (2, 400, 10) and not a[:, 0].any()
    level = delta_decode(a, 0.1, start=s[:, 0])
    assert np.abs(level - s).max() < 0.1
    assert not (a[..., :5] & a[..., 5:]).any()          # never ON and OFF at once


def test_delta_sends_a_jump_over_several_steps():
    s = np.array([[0.0], [1.0], [1.0], [1.0], [1.0], [1.0]])
    a = delta_encode(s, 0.3)
    assert a[:, 0].tolist() == [0, 1, 1, 1, 0, 0] and not a[:, 1].any()
    assert delta_decode(a, 0.3)[-1, 0] == pytest.approx(0.9)
    assert delta_encode(-s, 0.3)[:, 1].tolist() == [0, 1, 1, 1, 0, 0]


# -- decoders -------------------------------------------------------------------------------------

def test_first_spike_time_and_count():
    s = np.zeros((2, 6, 3), dtype=np.uint8)
    s[0, 2, 0] = s[0, 4, 0] = s[1, 5, 2] = 1
    assert first_spike_time(s).tolist() == [[2, 6, 6], [6, 6, 5]]
    assert spike_count(s).tolist() == [[2, 0, 0], [0, 0, 1]]


def test_population_vote_means_and_ties():
    s = np.zeros((3, 4, 5), dtype=np.uint8)
    s[0, :, 0] = 1                       # class 0's one neuron: 4 spikes
    s[0, :2, 1] = s[0, :2, 2] = 1        # class 1's two neurons: 2 spikes each, mean 2
    s[1, :, 3] = 1                       # class 2 (neuron 3)
    s[1, :, 4] = 1                       # unassigned neuron: no vote
    assign = [0, 1, 1, 2, -1]
    assert population_vote(s, assign).tolist() == [0, 2, 0]     # silent: lowest class
    assert population_vote(s, assign, classes=4).tolist() == [0, 2, 0]


# -- bad parameters: one exact line each ---------------------------------------------------------

@pytest.mark.parametrize("call, message", [
    (lambda: rate_encode(np.array([1.5]), 3),
     r"^Intensities must be in \[0, 1\], not values in \[1.5, 1.5\]$"),
    (lambda: rate_encode(np.array([0.5]), -1), r"^Steps must be a non-negative integer, not -1$"),
    (lambda: rate_encode(np.array([0.5]), 3, 1.5), r"^Rate must be a number in \[0, 1\], not 1.5$"),
    (lambda: rate_encode(0.5, 3), r"^Intensities must have a channel axis, not shape \(\)$"),
    (lambda: regular_encode(X, 5, phase=1.0), r"^Phase must be a number in \[0, 1\), not 1.0$"),
    (lambda: ttfs_encode(X, 0), r"^Steps must be an integer >= 1, not 0$"),
    (lambda: ttfs_encode(X, 5, mode="exp"), r"^TTFS mode must be 'linear' or 'log', not 'exp'$"),
    (lambda: ttfs_encode(X, 5, mode="log"),
     r"^Cutoff of the log TTFS code must be a number in \(0, 1\), not 0.0$"),
    (lambda: ttfs_encode(X, 5, cutoff=-0.1), r"^Cutoff must be a number in \[0, 1\), not -0.1$"),
    (lambda: burst_encode(X, 5), r"^Steps must be at least 10 to hold the longest burst "
                                 r"\(4 spikes 3 steps apart\), not 5$"),
    (lambda: burst_encode(X, 30, period=6), r"^Burst period must be at least 10 steps to hold "
                                            r"the longest burst \(4 spikes 3 steps apart\), not 6$"),
    (lambda: burst_encode(X, 30, min_isi=3, max_isi=2),
     r"^Burst max_isi must be an integer in \[3, 255\], not 2$"),
    (lambda: burst_encode(X, 30, max_spikes=0),
     r"^Burst max_spikes must be an integer in \[1, 255\], not 0$"),
    (lambda: phase_encode(X, 4, bits=8),
     r"^Steps must be at least one period of the phase code \(8 steps, --bits\), not 4$"),
    (lambda: phase_encode(X, 40, bits=17), r"^Phase bits must be an integer in \[1, 16\], not 17$"),
    (lambda: delta_encode(X, 0.1), r"^A delta-coded series must have shape \(T, N\) or "
                                   r"\(B, T, N\), not \(21,\)$"),
    (lambda: delta_encode(np.zeros((3, 2)), 0), r"^Delta threshold must be a number > 0, not 0$"),
    (lambda: delta_encode(np.full((3, 2), np.nan), 0.1),
     r"^A delta-coded series must hold finite numbers, not NaN or inf$"),
    (lambda: delta_encode(np.zeros((3, 2)), 0.1, steps=4),
     r"^Steps must equal the series' length 3 for the delta code, not 4$"),
    (lambda: encode("morse", X, 3),
     r"^Scheme must be one of rate, regular, ttfs, burst, phase, delta, not 'morse'$"),
    (lambda: encode("ttfs", X), r"^The ttfs code needs the number of steps$"),
    (lambda: population_vote(np.zeros((4, 3)), [0, 1]),
     r"^Assignment must have one class per neuron, shape \(3,\), not \(2,\)$"),
    (lambda: population_vote(np.zeros((4, 3)), [0, 1, 2], classes=2),
     r"^Assignment holds class 2, but classes is 2$"),
    (lambda: spike_count(np.zeros(4)), r"^Spikes must have shape \(T, N\) or \(B, T, N\), not \(4,\)$"),
])
def test_bad_parameters(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# -- the command line ----------------------------------------------------------------------------

def _cli(capsys, *args):
    from spikefab.cli import main
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_writes_what_the_api_codes(tmp_path, capsys):
    x = np.random.default_rng(SEED).random((4, 9))
    np.save(tmp_path / "x.npy", x)
    for scheme, opts, expect in [
            ("rate", ["--rate", "0.5", "--seed", "7"], rate_encode(x, 30, rate=0.5, seed=7)),
            ("regular", ["--phase", "0.5"], regular_encode(x, 30, phase=0.5)),
            ("ttfs", ["--mode", "log", "--cutoff", "0.05"], ttfs_encode(x, 30, "log", 0.05)),
            ("burst", ["--period", "15", "--max-spikes", "3"],
             burst_encode(x, 30, max_spikes=3, period=15)),
            ("phase", ["--bits", "6"], phase_encode(x, 30, bits=6))]:
        rc, out, err = _cli(capsys, "encode", tmp_path / "x.npy", "--scheme", scheme, "--steps",
                            30, *opts, "-o", tmp_path / f"{scheme}.npy")
        assert rc == 0 and err == "", err
        assert np.array_equal(np.load(tmp_path / f"{scheme}.npy"), expect)
        assert f"{scheme} code, shape (4, 30, 9) uint8 (batch, steps, channels)" in out
    s = np.cumsum(np.random.default_rng(SEED).normal(size=(40, 3)), axis=0)
    np.save(tmp_path / "s.npy", s)
    rc, out, _ = _cli(capsys, "encode", tmp_path / "s.npy", "--scheme", "delta", "--threshold",
                      "0.4", "-o", tmp_path / "d.npy")
    assert rc == 0 and np.array_equal(np.load(tmp_path / "d.npy"), delta_encode(s, 0.4))
    assert "shape (40, 6) uint8 (steps, channels)" in out


@pytest.mark.parametrize("file, args, message", [
    ("x", ["--scheme", "regular", "--steps", "5", "--bits", "3"],
     "--bits applies to the phase code, not to regular"),
    ("x", ["--scheme", "rate", "--steps", "5", "--cutoff", "0.1"],
     "--cutoff applies to the ttfs and burst codes, not to rate"),
    ("x", ["--scheme", "ttfs"], "--steps is needed for the ttfs code"),
    ("x", ["--scheme", "burst", "--steps", "5"],
     "Steps must be at least 10 to hold the longest burst (4 spikes 3 steps apart), not 5"),
    ("x", ["--scheme", "rate", "--steps", "5", "--rate", "2"],
     "Rate must be a number in [0, 1], not 2.0"),
    ("bright", ["--scheme", "rate", "--steps", "5"],
     "bright.npy: Intensities must be in [0, 1], not values in [0.5, 2.0]"),
    ("cube", ["--scheme", "ttfs", "--steps", "5"],
     "cube.npy: Intensities must have shape (N,) or (B, N), not (2, 2, 2)"),
    ("x", ["--scheme", "delta", "--steps", "3"],
     "Steps must equal the series' length 4 for the delta code, not 3"),
    ("missing", ["--scheme", "rate", "--steps", "5"],
     "missing.npy: Inputs file '{d}/missing.npy' does not exist"),
])
def test_cli_bad_input_is_one_line(tmp_path, capsys, file, args, message):
    np.save(tmp_path / "x.npy", np.random.default_rng(SEED).random((4, 9)))
    np.save(tmp_path / "bright.npy", np.array([0.5, 2.0]))
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2)))
    path = tmp_path / f"{file}.npy"
    rc, out, err = _cli(capsys, "encode", path, *args, "-o", tmp_path / "o.npy")
    message = message.replace("missing.npy:", f"{tmp_path}/missing.npy:").format(d=tmp_path)
    message = message.replace("bright.npy:", f"{tmp_path}/bright.npy:")
    message = message.replace("cube.npy:", f"{tmp_path}/cube.npy:")
    assert rc == 2 and err == f"spikefab: error: {message}\n" and out == ""
    assert not (tmp_path / "o.npy").exists()
