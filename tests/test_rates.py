"""The on-chip rate generator (``docs/spec.md`` section 7, ``docs/protocol.md`` PRESENT):
the golden code against an explicit accumulator loop, the shape it adds only when used, and
the simulated board's presentations against the golden model image by image (static and
plastic multi-core networks, a noisy link), with every rejection of PRESENT.

Every failure names the seed, the image, the step and the population.
"""

import dataclasses

import numpy as np
import pytest

from .compare import assert_same_trace
from .netgen import random_multicore_network
from spikefab.errors import InvalidValue
from spikefab.golden import (Hardware, Network, Population, Projection, Simulator,
                             chip_rate_encode, chip_rate_phases, dump, load, present)
from spikefab.host import Device, DeviceError
from spikefab.host.faults import FaultyTransport
from spikefab.shape.image import clear_entries, clear_ranges
from spikefab.shape.network import derive, shape_json
from spikefab.shape.protocol import Cmd, Status, link_info, link_memories
from spikefab.shape.rates import image_bytes, pack_rates, per_frame, rate_slots, rate_stride


# -- the code -----------------------------------------------------------------------------

def _loop_reference(q, steps, bits):
    """The accumulator of ``docs/spec.md`` section 7, one channel and one step at a time."""
    q = np.asarray(q)
    out = np.zeros(q.shape[:-1] + (steps, q.shape[-1]), np.uint8)
    for idx in np.ndindex(q.shape[:-1]):
        for c in range(q.shape[-1]):
            a = int("".join(reversed(format(c % (1 << bits), f"0{bits}b"))), 2)
            for t in range(steps):
                s = a + int(q[idx + (c,)])
                out[idx + (t, c)] = s >= 1 << bits
                a = s % (1 << bits)
    return out


@pytest.mark.parametrize("bits", [4, 5, 7, 16])
def test_chip_rate_encode_is_the_accumulator(bits, seed):
    rng = np.random.default_rng(seed)
    q = rng.integers(0, 16, size=(3, 37))
    q[0, :16] = np.arange(16)
    got = chip_rate_encode(q, 40, bits)
    want = _loop_reference(q, 40, bits)
    bad = np.argwhere(got != want)
    assert not len(bad), (f"seed {seed}, bits {bits}: image {bad[0][0]}, step {bad[0][1]}, "
                          f"channel {bad[0][2]}: {got[tuple(bad[0])]} != {want[tuple(bad[0])]}")
    # the count of a channel over T steps is (phase + q T) >> bits
    T = 1 << bits if bits <= 8 else 300
    counts = chip_rate_encode(q, T, bits).sum(axis=-2)
    phase = chip_rate_phases(37, bits)
    np.testing.assert_array_equal(counts, (phase + q * T) >> bits, err_msg=f"seed {seed}")


def test_chip_rate_phases_spread():
    np.testing.assert_array_equal(chip_rate_phases(8, 4), [0, 8, 4, 12, 2, 10, 6, 14])
    # 2**bits consecutive channels take every phase once
    assert sorted(chip_rate_phases(32, 5)) == list(range(32))


@pytest.mark.parametrize("q, steps, bits, words", [
    ([[0, 16]], 5, 5, "integers in [0, 15], not values in [0, 16]"),
    ([[0.5, 1]], 5, 5, "integers in [0, 15]"),
    ([[-1, 2]], 5, 5, "not values in [-1, 2]"),
    ([[1, 2]], -1, 5, "Steps must be a non-negative integer, not -1"),
    ([[1, 2]], 5, 3, "Rate bits must be an integer in [4, 16], not 3"),
    (np.zeros((2, 2, 2), int), 5, 5, "shape (N,) or (B, N)"),
])
def test_chip_rate_encode_rejects(q, steps, bits, words):
    with pytest.raises(InvalidValue, match=".*".join(map(_re, words.split("*")))):
        chip_rate_encode(q, steps, bits)


def _re(s):
    import re
    return re.escape(s)


def test_rate_bits_is_checked_and_kept_in_toml(tmp_path):
    for bad in (1, 3, 17, -1):
        with pytest.raises(InvalidValue, match=rf"rate_bits.*\[4, 16\], not {bad}"):
            Hardware(rate_bits=bad)
    net = _net(rate_bits=6)
    dump(net, tmp_path / "n.toml")
    assert "rate_bits = 6" in (tmp_path / "n.toml").read_text()
    assert load(tmp_path / "n.toml").hardware.rate_bits == 6
    dump(_net(rate_bits=0), tmp_path / "m.toml")
    assert "rate_bits" not in (tmp_path / "m.toml").read_text()


def test_a_network_without_the_generator_has_no_trace_of_it():
    """rate_bits = 0 adds nothing to the shape (so no build hash moved) and no memory."""
    p = derive(_net(rate_bits=0))
    assert "rates" not in shape_json(p)
    assert not any(name.startswith("rate") for name, _, _ in link_memories(p))
    q = derive(_net(rate_bits=5))
    assert shape_json(q)["rates"] == {"bits": 5, "intensity_bits": 4, "slots": 8, "stride": 8,
                                      "image_bytes": 6}
    assert link_info(q)["build_hash"] != link_info(p)["build_hash"]
    # without it the device is a protocol v2 device, IDENTIFY and all; with it v3
    from spikefab.shape.protocol import identify_bytes, parse_identify
    assert link_info(p)["version"] == 2 and len(identify_bytes(link_info(p))) == 2 + 17
    assert link_info(q)["version"] == 3 and len(identify_bytes(link_info(q))) == 2 + 19
    assert parse_identify(identify_bytes(link_info(q)))["rate_slots"] == 8
    assert parse_identify(identify_bytes(link_info(p)))["rate_bits"] == 0
    assert ("rate intensities", 64, 8) in link_memories(q)
    from spikefab.describe import describe
    assert "on-chip rate inputs: 5-bit accumulators (a period of 32 steps)" in describe(_net())
    assert "on-chip rate" not in describe(_net(rate_bits=0))


def test_rate_frames():
    assert (image_bytes(128), rate_stride(128), rate_slots(128), per_frame(128)) == (64, 64, 8, 3)
    assert (image_bytes(7), rate_stride(7), rate_slots(7), per_frame(7)) == (4, 4, 8, 8)
    assert (rate_slots(300), per_frame(300)) == (2, 1)
    assert pack_rates([1, 2, 15]) == bytes([0x21, 0x0F])
    with pytest.raises(InvalidValue, match="1 to 506 input channels.*not 507"):
        derive(dataclasses.replace(_net(rate_bits=0, inputs=507), hardware=Hardware(
            rate_bits=5)))


@pytest.mark.parametrize("seed", range(6))
def test_clear_ranges_cover_clear_entries(seed):
    net = random_multicore_network(seed, plastic=True, adaptive=True)
    p = derive(net, neurons_per_core=8, axons_per_core=256)
    want = sorted((c, s, a) for c, s, a, _ in clear_entries(p))
    got = sorted((c, s, a) for c, s, lo, hi in clear_ranges(p) for a in range(lo, hi + 1))
    assert got == want, f"seed {seed}"


# -- on the simulated board ---------------------------------------------------------------

def _net(rate_bits=5, inputs=12, seed=0):
    rng = np.random.default_rng([seed, 9])
    w = rng.integers(-40, 100, size=(inputs, 8))
    r = rng.integers(-60, 60, size=(8, 8))
    return Network(f"rates_{seed}", inputs,
                   [Population("a", 8, threshold=300, du=512, dv=256, refractory=1,
                               output=True)],
                   [Projection("input", "a", w, 4), Projection("a", "a", r, 4)],
                   Hardware(rate_bits=rate_bits))


def _with_rates(net, bits):
    return Network(net.name, net.inputs, net.populations, net.projections,
                   dataclasses.replace(net.hardware, rate_bits=bits))


def golden_presentations(net, q, steps):
    """Image by image from a cleared state (``Simulator.reset_state``), the weights carried,
    written out here: what a board's presentations compute. ``(spikes {pop: (B, T, n)},
    final weights)``."""
    x = chip_rate_encode(q, steps, net.hardware.rate_bits)
    sim = Simulator(net)
    out = {pop.name: [] for pop in net.populations}
    for b in range(len(x)):
        sim.reset_state()
        r = sim.run(x[b:b + 1].astype(bool))
        for name in out:
            out[name].append(r.spikes[name][0])
    return {k: np.stack(v) for k, v in out.items()}, [w[0] if w.ndim == 3 else w
                                                     for w in sim.weights]


@pytest.mark.parametrize("seed", [3, 4])
def test_golden_present_is_image_after_image(seed):
    """``golden.present`` equals the loop above, plastic or static (where it runs a batch)."""
    for net in (_plastic(seed), _net(seed=seed)):
        q = np.random.default_rng(seed).integers(0, 16, size=(5, net.inputs))
        got = present(net, q, 13)
        want, wl = golden_presentations(net, q, 13)
        for name in want:
            np.testing.assert_array_equal(got.spikes[name], want[name], err_msg=f"seed {seed}")
        for a, b in zip(got.weights, wl):
            np.testing.assert_array_equal(a, b, err_msg=f"seed {seed}")
    with pytest.raises(InvalidValue, match="has no rate generator"):
        present(_net(rate_bits=0), np.zeros((1, 12), int), 3)


def check_presentations(got, want, net, seed):
    for pop in net.populations:
        g, w = got[pop.name], want[pop.name]
        for b in range(len(w)):
            assert_same_trace("spikes", g[b], w[b], seed, f"{pop.name} of image {b}")


def _plastic(seed):
    net = random_multicore_network(seed, plastic=True, adaptive=True, modulated=True)
    return _with_rates(net, 4 + seed % 4)


def _plastic_params(net):
    return derive(net, neurons_per_core=8, axons_per_core=256,
                  outputs=[pop.name for pop in net.populations])


#: The default tier's board: STDP, adaptive thresholds and the third factor over several
#: cores (one build, shared by every test here that needs the generator).
BOARD_SEED = 3


@pytest.fixture(scope="module")
def board():
    net = _plastic(BOARD_SEED)
    with Device.sim(_plastic_params(net), retries=4) as dev:
        dev.check_build()
        yield net, dev


def _golden_after(net, q, steps, x_then=None):
    """The golden model after presenting ``q`` (image after image from a cleared state),
    then cleared again and run on ``x_then`` ``(T, inputs)``: that run's spikes."""
    x = chip_rate_encode(q, steps, net.hardware.rate_bits).astype(bool)
    sim = Simulator(net)
    for b in range(len(x)):
        sim.reset_state()
        sim.run(x[b:b + 1])
    sim.reset_state()
    r = sim.run(np.asarray(x_then, bool)[None])
    return {k: v[0] for k, v in r.spikes.items()}


def test_presentations_equal_the_golden_model(board, seed):
    """Each image from a cleared state (traces and theta too), the weights learned from image
    to image; then a run from RESET starts from the learned weights."""
    net, dev = board
    dev.load()
    q = np.random.default_rng(seed).integers(0, 16, size=(11, net.inputs))
    q[3] = 0                                             # an image without input spikes
    got = dev.present(q, 17)
    want = present(net, q, 17)
    assert sum(int(s.sum()) for s in want.spikes.values()) > 0, f"seed {seed}: no spike"
    check_presentations(got.spikes, want.spikes, net, seed)
    for k, (a, b) in enumerate(zip(dev.read_weights(), want.weights)):
        np.testing.assert_array_equal(a, b, err_msg=f"seed {seed}: weights of projection {k} "
                                                    f"after the presentations")
    assert got.cycles.shape == (11,) and (got.cycles > 17).all()
    x = np.random.default_rng(seed).random((9, net.inputs)) < 0.4
    dev.reset()
    r = dev.run(x)
    then = _golden_after(net, q, 17, x)
    for pop in net.populations:
        assert_same_trace("spikes", r.spikes[pop.name], then[pop.name], seed,
                          f"{pop.name} in the run after the presentations")


def test_presentations_after_a_run_and_one_image(board, seed):
    """The step tags go on counting through runs and presentations."""
    net, dev = board
    rng = np.random.default_rng(seed)
    dev.load()
    x = rng.random((30, net.inputs)) < 0.3
    dev.run(x)
    q = rng.integers(0, 16, size=net.inputs)
    got = dev.present(q, 25)
    sim = Simulator(net)
    sim.run(x[None])
    sim.reset_state()
    want = sim.run(chip_rate_encode(q[None], 25, net.hardware.rate_bits).astype(bool))
    check_presentations(got.spikes, want.spikes, net, seed)


def test_present_rejections(board):
    net, dev = board
    B = image_bytes(net.inputs)
    dev.reset()
    for payload, status in ((bytes(3), Status.BAD_LENGTH),
                            (bytes(2 + B + 1), Status.BAD_LENGTH),
                            (bytes(2 + B * (per_frame(net.inputs) + 1)), Status.BAD_LENGTH),
                            (bytes(2 + B), Status.BAD_FIELD)):          # 0 steps
        with pytest.raises(DeviceError) as e:
            dev.transact(Cmd.PRESENT, payload)
        assert e.value.status == status, payload
    # fill the slots with long images: the next is BUSY, so are RUN, INPUT and WRITE_*,
    # and so is a PRESENT of another length of image; RESET forgets them
    long = (3000).to_bytes(2, "little")
    S = rate_slots(net.inputs)
    for _ in range(S):
        dev.transact(Cmd.PRESENT, long + bytes(B))
    _, left, _ = dev.read_spikes()
    assert 0 < left <= S
    for cmd, payload in ((Cmd.PRESENT, long + bytes(B)) if left == S else
                         (Cmd.PRESENT, long + bytes(B * (S - left + 1))),
                         (Cmd.PRESENT, (10).to_bytes(2, "little") + bytes(B)),
                         (Cmd.RUN, (1).to_bytes(2, "little")), (Cmd.INPUT, bytes(2)),
                         (Cmd.WRITE_STATE, bytes(4 + dev.D))):
        with pytest.raises(DeviceError) as e:
            dev.transact(cmd, payload)
        assert e.value.status == Status.BUSY, cmd
    dev.reset()
    assert dev.read_spikes()[1] == 0


def test_a_retried_present_is_queued_once(board):
    net, dev = board
    dev.reset()
    B = image_bytes(net.inputs)
    payload = (2000).to_bytes(2, "little") + bytes(2 * B)
    first = dev.transact(Cmd.PRESENT, payload)
    dev.seq -= 1                                        # the same frame again: a retry
    again = dev.transact(Cmd.PRESENT, payload)
    assert again == first
    assert 1 <= dev.read_spikes()[1] <= 2
    dev.reset()


def test_present_user_errors(board):
    net, dev = board
    n = net.inputs
    with pytest.raises(InvalidValue, match=r"integers in \[0, 15\], not values in \[0, 16\]"):
        q = np.zeros((2, n), int)
        q[1, 0] = 16
        dev.present(q, 5)
    with pytest.raises(InvalidValue, match=rf"shape \(B, {n}\), not \(2, {n + 1}\)"):
        dev.present(np.zeros((2, n + 1), int), 5)
    with pytest.raises(InvalidValue, match=r"Steps of a presentation must be an integer in "
                                           r"\[1, 4095\].*not 0"):
        dev.present(np.zeros((2, n), int), 0)


def test_a_build_without_the_generator():
    """PRESENT is no command of it, and Device.present says how to get one (the build of
    tests/test_link.py: a protocol v2 device)."""
    from .netgen import small_network
    net = small_network()
    with Device.sim(derive(net, outputs=[q.name for q in net.populations])) as dev:
        assert dev.identify()["version"] == 2
        dev.load()
        with pytest.raises(DeviceError) as e:
            dev.transact(Cmd.PRESENT, bytes(2 + image_bytes(net.inputs)))
        assert e.value.status == Status.UNKNOWN
        with pytest.raises(InvalidValue, match="no rate generator: set rate_bits"):
            dev.present(np.zeros((1, net.inputs), int), 5)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [4, 16, 20, 24])
def test_plastic_multicore_presentations_sweep(seed):
    check_plastic(seed)


def check_plastic(seed, faults=None):
    net = _plastic(seed)
    p = _plastic_params(net)
    q = np.random.default_rng(seed).integers(0, 16, size=(9, net.inputs))
    dev = Device.sim(p, retries=4)
    if faults:
        dev.t = FaultyTransport(dev.t, seed=seed, rate=0.05, kinds=faults)
    try:
        dev.load()
        got = dev.present(q, 23)
        weights = dev.read_weights()
    finally:
        dev.close()
    want, wl = golden_presentations(net, q, 23)
    assert sum(int(s.sum()) for s in want.values()) > 0, f"seed {seed}: no spike"
    check_presentations(got.spikes, want, net, seed)
    for k, (a, b) in enumerate(zip(weights, wl)):
        np.testing.assert_array_equal(a, b, err_msg=f"seed {seed}: weights of projection {k} "
                                                    f"after the presentations")
    return dev


def test_presentations_over_a_noisy_link():
    """Dropped, flipped, inserted and stalled bytes: every PRESENT queued once, every
    answer's events read once."""
    dev = check_plastic(BOARD_SEED, faults=("drop", "flip", "garbage", "stall"))
    assert dev.counts["resent"] > 0


@pytest.mark.slow
def test_presentations_through_the_pty_equal_simulate(tmp_path):
    """``spikefab run --port PTY --intensities`` (pyserial, the board's exact build served by
    ``spikefab simboard --pty``, at the iCEBreaker's 3 Mbaud) writes what
    ``spikefab simulate --intensities`` writes."""
    from .test_cli import run_cli
    from .test_pty_board import BOARD, HOST_TIMEOUT, start_simboard, stop
    net = _with_rates(random_multicore_network(24, plastic=True), 5)
    dump(net, tmp_path / "net.toml")
    q = np.random.default_rng(24).integers(0, 16, size=(7, net.inputs))
    np.save(tmp_path / "q.npy", q)
    proc, path = start_simboard(tmp_path / "net.toml")
    try:
        r = run_cli("run", tmp_path / "net.toml", "--board", BOARD, "--port", path,
                    "--intensities", tmp_path / "q.npy", "--steps", 21, "--out",
                    tmp_path / "run.npz", "--timeout", HOST_TIMEOUT)
    finally:
        code, err = stop(proc)
    assert r.returncode == 0, r.stderr
    assert "presented 7 images x 21 steps" in r.stdout, r.stdout
    g = run_cli("simulate", tmp_path / "net.toml", "--intensities", tmp_path / "q.npy",
                "--steps", 21, "--out", tmp_path / "golden.npz")
    assert g.returncode == 0, g.stderr
    from spikefab.boards import board_params
    outputs = board_params(net, BOARD, simulated=True).mapping.outputs
    with np.load(tmp_path / "run.npz") as got, np.load(tmp_path / "golden.npz") as want:
        assert sum(int(want[f"spikes/{o}"].sum()) for o in outputs) > 0, "seed 24: no spike"
        for k in got.files:
            np.testing.assert_array_equal(got[k], want[k], err_msg=f"{k}, seed 24")
