"""The simulated board on Verilator (``spikefab.sim.board``, ``VerilatorTransport``):
the whole host path against the golden model on multi-core networks, fuzzing of the link, and
the simulator's own failure modes (a crash, a stuck line, a runaway request, a dead host).

Every failure names the seed; the fuzz messages also name the round and the kind of stream.
"""

import dataclasses
import json
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import spikefab
from .compare import assert_same_array, assert_same_trace
from .netgen import random_inputs, random_multicore_network, small_network
from spikefab.golden import Hardware, Network, Population, Projection, simulate
from spikefab.shape.cfg import Param, Space
from spikefab.shape.network import derive
from spikefab.shape.protocol import Cmd, Status
from spikefab.sim.board import SIM_TIMEOUT, build_board

import spikefab.host as h


# -- networks ----------------------------------------------------------------------------

def ei_network(seed):
    """Excitatory / inhibitory network over several cores: input -> exc, exc -> exc
    (recurrent), exc -> inh, inh -> exc (inhibitory), exc -> out; weights and neuron
    parameters drawn from ``seed``, the shape fixed (so every seed runs on one build)."""
    rng = np.random.default_rng([seed, 5])
    hw = Hardware(current_bits=14, voltage_bits=14, weight_bits=6, refractory_bits=2)
    wmax = hw.weight_max

    def pop(name, size, output):
        return Population(name, size, threshold=int(rng.integers(20, 200)),
                          du=int(rng.integers(0, 4097)), dv=int(rng.integers(0, 2049)),
                          bias=int(rng.integers(-5, 20)), refractory=int(rng.integers(0, 4)),
                          reset=str(rng.choice(["zero", "subtract"])), output=output)

    def w(shape, sign):
        a = rng.integers(0, wmax, size=shape, endpoint=True) * sign
        a[rng.random(shape) < 0.3] = 0
        return a

    pops = [pop("exc", 10, True), pop("inh", 4, False), pop("out", 3, True)]
    projs = [Projection("input", "exc", w((6, 10), 1), weight_shift=2),
             Projection("exc", "exc", w((10, 10), 1), weight_shift=0),
             Projection("exc", "inh", w((10, 4), 1), weight_shift=1),
             Projection("inh", "exc", w((4, 10), -1), weight_shift=2),
             Projection("exc", "out", w((10, 3), 1), weight_shift=1)]
    return Network(f"ei_{seed}", 6, pops, projs, hw)


#: exc split over 3 cores of 4 neurons, inh and out on one each: 5 cores.
EI_CAPACITY = {"neurons_per_core": 4, "axons_per_core": 32}


def _params(net, **capacity):
    return derive(net, outputs=[q.name for q in net.populations], **capacity)


def check_device_run(dev, net, x, seed, record_state=True):
    """``dev`` loaded with ``net`` runs ``x`` exactly like the golden model: spikes of every
    population, ``u`` and ``v`` after every step, the final weights read back."""
    dev.load(net)
    r = dev.run(x, record_state=record_state)
    g = simulate(net, x, record_state=True)
    assert sum(int(s.sum()) for s in g.spikes.values()) > 0, (
        f"seed {seed}: a network that never spikes tests nothing")
    for q in net.populations:
        assert_same_trace("spikes", r.spikes[q.name], g.spikes[q.name], seed, q.name)
        if record_state:
            assert_same_trace("u", r.u[q.name], g.u[q.name], seed, q.name)
            assert_same_trace("v", r.v[q.name], g.v[q.name], seed, q.name)
    for k, w in enumerate(dev.read_weights()):
        assert_same_array(f"final weights of projection {k}", w, net.projections[k].weights,
                          seed)
    assert len(r.cycles) == x.shape[0] and (r.cycles > 0).all(), f"seed {seed}: {r.cycles}"


@pytest.fixture(scope="module")
def ei_dev():
    p = _params(ei_network(0), **EI_CAPACITY)
    assert len(p.cores) == 5
    d = h.Device.sim(p)
    d.identify()
    assert d.matches
    yield d
    d.close()


@pytest.mark.parametrize("seed", [1, 2, pytest.param(3, marks=pytest.mark.slow),
                                  pytest.param(4, marks=pytest.mark.slow),
                                  pytest.param(5, marks=pytest.mark.slow)])
def test_ei_networks_on_one_build_match_golden(ei_dev, seed):
    net = ei_network(seed)
    # every network of the shape maps like the build and identifies as it
    assert _params(net, **EI_CAPACITY).mapping.describe().splitlines()[0] == \
        ei_dev.p.mapping.describe().splitlines()[0]
    x = random_inputs(seed, net, 12, rate=0.4)
    check_device_run(ei_dev, net, x, seed)


def test_runs_back_to_back_count_steps_from_the_reset(ei_dev):
    # the tags of the second run continue from the first unless the host resets
    net = ei_network(1)
    x = random_inputs(9, net, 8, rate=0.5)
    ei_dev.load(net)
    first = ei_dev.run(x[:5])
    second = ei_dev.run(x[5:])
    g = simulate(net, x)
    for q in net.populations:
        assert_same_trace("spikes", np.concatenate([first.spikes[q.name],
                                                    second.spikes[q.name]]),
                          g.spikes[q.name], 9, q.name)


def test_empty_steps_go_out_as_one_run(ei_dev):
    net = ei_network(2)
    x = np.zeros((300, net.inputs), np.uint8)
    x[0] = 1
    x[150, :3] = 1
    check_device_run(ei_dev, net, x, 2, record_state=False)


def _multicore_job(seed):
    net = random_multicore_network(seed)
    rng = np.random.default_rng([seed, 77])
    largest = max(q.size for q in net.populations)
    need = max(sum(net.source_size(pr.source) for pr in net.projections
                   if pr.target == q.name) for q in net.populations)
    capacity = {"neurons_per_core": int(rng.integers(max(1, -(-largest // 2)), largest + 1)),
                "axons_per_core": max(need, 1), "lanes": int(rng.choice([1, 2]))}
    return net, capacity, random_inputs(seed, net, 10, rate=float(rng.uniform(0.2, 0.7)))


@pytest.mark.parametrize("seed", [4, pytest.param(10, marks=pytest.mark.slow),
                                  pytest.param(16, marks=pytest.mark.slow)])
def test_random_multicore_network_matches_golden(seed):
    net, capacity, x = _multicore_job(seed)
    lanes = capacity.pop("lanes")
    p = derive(net, lanes=lanes, outputs=[q.name for q in net.populations],
                       **capacity)
    with h.Device.sim(p) as dev:
        assert dev.identify()["cores"] == len(p.cores)
        check_device_run(dev, net, x, seed)


def test_load_weights_into_a_running_board(ei_dev):
    net = ei_network(1)
    x = random_inputs(4, net, 10, rate=0.5)
    ei_dev.load(net)
    ei_dev.run(x[:3])
    # new weights for two projections, written while the board keeps its state
    rng = np.random.default_rng(4)
    wmax = net.hardware.weight_max
    new = {0: rng.integers(0, wmax, size=(6, 10), endpoint=True),
           3: -rng.integers(0, wmax, size=(4, 10), endpoint=True)}
    ei_dev.load_weights(new)
    projs = list(net.projections)
    for k, w in new.items():
        projs[k] = dataclasses.replace(projs[k], weights=w)
    changed = dataclasses.replace(net, projections=projs)
    for k, w in enumerate(ei_dev.read_weights()):
        assert_same_array(f"weights of projection {k}", w, changed.projections[k].weights, 4)
    # the rest of the run goes on from the state of step 2 with the new weights
    rest = ei_dev.run(x[3:])
    sim = spikefab.golden.Simulator(net)
    for t in range(3):
        sim.step(x[t:t + 1].astype(bool))
    sim2 = spikefab.golden.Simulator(changed)
    for name in ("u", "v", "r"):
        for q in net.populations:
            getattr(sim2, name)[q.name][:] = getattr(sim, name)[q.name]
    for q in net.populations:
        sim2.spikes[q.name][:] = sim.spikes[q.name]
    for t in range(3, 10):
        sim2.step(x[t:t + 1].astype(bool))
        for q in net.populations:
            assert_same_trace("spikes", rest.spikes[q.name][t - 3:t - 2],
                              sim2.spikes[q.name].astype(np.uint8), 4, q.name)


def test_load_weights_errors(ei_dev):
    net = ei_network(1)
    wmax = net.hardware.weight_max
    before = ei_dev.read_weights()
    with pytest.raises(ValueError, match=r"^Weights of projection 1 \(exc -> exc\) must have "
                                         r"shape \(10, 10\), not \(10, 9\)$"):
        ei_dev.load_weights({1: np.zeros((10, 9), np.int64)})
    bad = np.zeros((10, 10), np.int64)
    bad[2, 3] = wmax + 1
    with pytest.raises(ValueError, match=rf"^Weights of projection 1 \(exc -> exc\) must be "
                                         rf"integers in \[-{wmax}, {wmax}\], not {wmax + 1} at "
                                         rf"\[2\]\[3\]$"):
        ei_dev.load_weights({0: np.zeros((6, 10), np.int64), 1: bad})
    with pytest.raises(ValueError, match=r"^Projection index must be an integer in \[0, 4\], "
                                         r"not 5$"):
        ei_dev.load_weights({5: bad})
    with pytest.raises(TypeError, match=r"^Weights of projection 0 \(input -> exc\) must be "
                                        r"integers, not float64$"):
        ei_dev.load_weights({0: np.zeros((6, 10))})
    shifted = dataclasses.replace(net, projections=[
        dataclasses.replace(pr, weight_shift=3) if k == 2 else pr
        for k, pr in enumerate(net.projections)])
    with pytest.raises(ValueError, match=r"^Weight_shift of projection 2 \(exc -> inh\) must "
                                         r"be the build's 1, not 3 \(a different shift needs "
                                         r"a new build\)$"):
        ei_dev.load_weights(shifted)
    with pytest.raises(TypeError, match=r"^Weights must be a Network or a dict of projection "
                                        r"index to array, not \[1\]$"):
        ei_dev.load_weights([1])
    # nothing was written by any of them
    for k, w in enumerate(ei_dev.read_weights()):
        assert_same_array(f"weights of projection {k}", w, before[k], 0)


def test_cli_run_record_state_equals_golden(tmp_path):
    # two populations on two cores (the board of the fuzz tests: no build of its own)
    from .test_cli import run_cli
    net = small_network()
    spikefab.golden.dump(net, tmp_path / "net.toml")
    x = random_inputs(3, net, 8, rate=0.5)
    np.save(tmp_path / "in.npy", x)
    r = run_cli("run", tmp_path / "net.toml", "--sim", "--record-state", "--inputs",
                tmp_path / "in.npy", "--out", tmp_path / "run.npz")
    assert r.returncode == 0, r.stderr
    assert "on the simulated board (verilator)" in r.stdout
    want = simulate(spikefab.load(tmp_path / "net.toml"), x, record_state=True).to_npz_dict()
    assert sum(int(v.sum()) for k, v in want.items() if k.startswith("spikes/")) > 0
    with np.load(tmp_path / "run.npz") as got:
        assert sorted(got.files) == sorted(want)
        for k in want:
            assert got[k].dtype == want[k].dtype, k
            assert_same_array(k, got[k], want[k], 3)


def test_board_builds_are_shared_by_shape():
    a, b = _params(ei_network(1), **EI_CAPACITY), _params(ei_network(2), **EI_CAPACITY)
    assert a.cores[0].threshold != b.cores[0].threshold
    assert a.shape == b.shape
    first, second = build_board(a), build_board(b)
    assert first.folder == second.folder and second.seconds == 0.0     # cached
    # generated from the shape alone: no run-time value of either network is in the build
    assert a.shape.params().cores[0].threshold == 0
    with open(os.path.join(first.folder, "params.json")) as f:
        built = json.load(f)
    assert not {"weights_init", "threshold", "stdp"} & set(built["cores"][0]), built["cores"][0]


# -- fuzzing -------------------------------------------------------------------------------

def _has_good_frame(data):
    """Whether any start byte in ``data`` begins a frame whose CRC is right (the device
    would execute it)."""
    return any(_frame_at(data, i) for i in range(len(data)))


def _good_frame(rng, dev):
    """A well-formed state-changing frame: what the corruptions start from."""
    p = dev.p
    c = rng.randrange(len(p.cores))
    cp = p.cores[c]
    kind = rng.choice(["weights", "params", "state", "routes", "input", "run", "reset"])
    if kind == "weights":
        ents = [dev._entry(c, Space.WEIGHT, rng.randrange(cp.weight_depth), rng.getrandbits(16))
                for _ in range(rng.randint(1, 6))]
        return h.encode_frame(Cmd.WRITE_WEIGHTS, b"".join(ents))
    if kind == "params":
        return h.encode_frame(Cmd.WRITE_PARAMS, dev._entry(c, Space.PARAM, rng.randrange(6),
                                                           rng.getrandbits(8)))
    if kind == "state":
        return h.encode_frame(Cmd.WRITE_STATE, dev._entry(c, Space.STATE,
                                                          rng.randrange(cp.rows),
                                                          rng.getrandbits(24)))
    if kind == "routes":
        return h.encode_frame(Cmd.WRITE_ROUTES, dev._entry(p.router_target, 0, 0,
                                                           rng.getrandbits(8)))
    if kind == "input":
        return h.encode_frame(Cmd.INPUT, rng.randrange(p.mapping.net.inputs).to_bytes(2,
                                                                                    "little"))
    if kind == "run":
        return h.encode_frame(Cmd.RUN, rng.randrange(1, 5).to_bytes(2, "little"))
    return h.encode_frame(Cmd.RESET)


def _bits(byte, div, stop=1):
    return [(0, div)] + [((byte >> i) & 1, div) for i in range(8)] + [(stop, div)]


def corrupted_stream(rng, dev):
    """``(kind, line segments, bytes as the device's receiver sees them)``: random junk or a
    corrupted good frame, never containing a frame with a good CRC."""
    div = dev.t.divisor
    while True:
        kind = rng.choice(["junk", "flip", "cut", "gap", "framing", "glitch", "insert",
                           "drop", "mixed"])
        frame = bytearray(_good_frame(rng, dev))
        pieces = [frame]
        segs, seen = None, None
        if kind == "junk":
            data = bytearray(rng.choice([h.START, rng.randrange(256)])
                             for _ in range(rng.randint(1, 300)))
            pieces = [data]
        elif kind == "flip":
            for _ in range(rng.randint(1, 3)):
                frame[rng.randrange(len(frame))] ^= 1 << rng.randrange(8)
        elif kind == "cut":
            pieces = [frame[:rng.randrange(1, len(frame))]]
        elif kind == "insert":
            frame.insert(rng.randrange(1, len(frame)), rng.randrange(256))
        elif kind == "drop":
            del frame[rng.randrange(1, len(frame))]
        elif kind == "gap":
            # a pause longer than the link's timeout inside the frame
            k = rng.randrange(1, len(frame))
            segs = [s for b in frame[:k] for s in _bits(b, div)]
            segs.append((1, SIM_TIMEOUT + 100 + rng.randrange(2000)))
            segs += [s for b in frame[k:] for s in _bits(b, div)]
            pieces = [frame[:k], frame[k:]]
        elif kind == "framing":
            # one byte with a low stop bit: the receiver drops it
            k = rng.randrange(1, len(frame))
            segs = [s for i, b in enumerate(frame) for s in _bits(b, div, stop=int(i != k))]
            segs.append((1, div))
            seen = frame[:k] + frame[k + 1:]
            pieces = [seen]
        elif kind == "glitch":
            # pulses shorter than half a bit between the bytes of a cut frame
            cut = frame[:rng.randrange(1, len(frame))]
            segs = []
            for b in cut:
                segs += _bits(b, div)
                segs += [(0, rng.randrange(1, div // 2)), (1, rng.randrange(div, 4 * div))]
            pieces = [cut]
        else:
            junk = bytearray(rng.randrange(256) for _ in range(rng.randint(1, 20)))
            frame[rng.randrange(1, len(frame))] ^= 1 << rng.randrange(8)
            pieces = [junk + frame]
        data = bytearray().join(pieces)
        if segs is None:
            segs = [s for b in data for s in _bits(b, div)]
        if not any(_has_good_frame(piece) for piece in pieces + [data]):
            return kind, segs, bytes(data)


def settle(dev):
    """Clock until the device has been silent for a whole timeout; its responses."""
    dec = h.FrameDecoder()
    while True:
        b = dev.t.read(2 * SIM_TIMEOUT / dev.t.clk_hz)
        if not b:
            return [(cmd, payload) for cmd, _, payload in dec.frames]
        dec.feed(b)


def board_state(dev):
    entries = []
    for c, cp in enumerate(dev.p.cores):
        entries += [(c, Space.WEIGHT, a) for a in range(cp.weight_depth)]
        entries += [(c, Space.PARAM, int(k)) for k in Param]
        entries += [(c, sp, row) for sp in (Space.STATE, Space.ACC) for row in range(cp.rows)]
    words = dev.read(entries)
    steps, left, ev = dev.read_spikes()
    return words, steps, left, ev, dev.read_cycles()


@pytest.fixture(scope="module")
def small_dev():
    net = small_network()
    d = h.Device.sim(_params(net))
    d.identify()
    d.load()
    yield d
    d.close()


def fuzz(dev, seed, rounds):
    rng = random.Random(seed)
    before = board_state(dev)
    for n in range(rounds):
        kind, segs, seen = corrupted_stream(rng, dev)
        dev.t.write_line(segs)
        for cmd, body in settle(dev):
            assert body[:1] != bytes([Status.OK]), (
                f"seed {seed}, round {n} ({kind}): a bad stream was answered OK "
                f"(command 0x{cmd:02x}); device saw {seen.hex()}")
        after = board_state(dev)
        assert after == before, (
            f"seed {seed}, round {n} ({kind}): the board's state changed; device saw "
            f"{seen.hex()}")
        assert dev.identify()["cores"] == len(dev.p.cores), f"seed {seed}, round {n}"


@pytest.mark.parametrize("seed", [101, 102])
def test_fuzz_short(small_dev, seed):
    fuzz(small_dev, seed, rounds=25)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(200, 212))
def test_fuzz_long(small_dev, seed):
    fuzz(small_dev, seed, rounds=40)


@pytest.mark.slow
def test_fuzz_multicore(ei_dev):
    ei_dev.load(ei_network(1))
    fuzz(ei_dev, 300, rounds=40)


def _bad_starts_only(stream, starts):
    """No start byte of ``stream`` other than those at ``starts`` begins a good frame."""
    for i, b in enumerate(stream):
        if b == h.START and i not in starts and _frame_at(stream, i):
            return False
    return True


def _frame_at(data, i):
    """Whether a frame with a right CRC begins at ``data[i]``."""
    if data[i] != h.START or i + 1 >= len(data):
        return False
    end = i + data[i + 1] + h.FRAME_OVERHEAD
    return end <= len(data) and \
        h.crc16(bytes(data[i + 1:end - 2])) == (data[end - 2] << 8) | data[end - 1]


@pytest.mark.parametrize("seed", range(40))
def test_decoder_finds_exactly_the_good_frames(seed):
    # the host's decoder on random streams with good frames hidden in them, fed in random
    # pieces: a start byte in the junk whose frame would reach past the end of the stream
    # must not hide a complete good frame behind it
    rng = random.Random(seed)
    while True:
        stream, want, starts = bytearray(), [], set()
        for _ in range(rng.randint(1, 6)):
            stream += bytearray(rng.choice([h.START, rng.randrange(256)])
                                for _ in range(rng.randint(0, 40)))
            payload = bytes(rng.randrange(256) for _ in range(rng.randint(0, 30)))
            cmd, seq = rng.randrange(256), rng.randrange(256)
            starts.add(len(stream))
            stream += h.encode_frame(cmd, payload, seq)
            want.append((cmd, seq, payload))
        stream += bytearray(rng.randrange(256) for _ in range(rng.randint(0, 10)))
        if _bad_starts_only(stream, starts):
            break
    dec = h.FrameDecoder()
    i = 0
    while i < len(stream):
        k = rng.randint(1, 64)
        dec.feed(stream[i:i + k])
        i += k
    assert [(c, q, bytes(p)) for c, q, p in dec.frames] == want, f"seed {seed}"


# -- failure modes of the simulator itself ----------------------------------------------------

def test_stuck_rx_line_times_out_then_recovers(small_dev):
    # a break (rx held low for 0.2 simulated s): the device sees no frame; the host's
    # retries run out in bounded simulated time; after the break it answers again
    small_dev.t.write_line([(0, 200_000)])
    with pytest.raises(h.IdentifyError, match=r"^The device did not answer IDENTIFY "
                                              r"within the timeout \(.* s, 3 attempts\)"):
        small_dev.identify()
    settle(small_dev)
    assert small_dev.identify()["cores"] == len(small_dev.p.cores)


def test_crashed_simulator_is_a_link_error():
    dev = h.Device.sim(_params(small_network()))
    dev.identify()
    os.kill(dev.t.proc.pid, signal.SIGKILL)
    dev.t.proc.wait()
    with pytest.raises(h.LinkError, match=r"^The simulated board exited with status -9; log "
                                          r".*\.log; IDENTIFY \(sequence 2\) may or may not "
                                          r"have been applied"):
        dev.identify()
    dev.close()


def test_runaway_request_is_stopped_by_the_wall_clock_watchdog():
    dev = h.Device.sim(_params(small_network()), timeout=1000.0, retries=0)
    dev.t.wall_limit = 0.5
    dev.t.min_rate = 1e15             # no allowance for the clocks asked for
    t0 = time.monotonic()
    with pytest.raises(h.LinkError, match=r"^The simulated board did not finish "
                                          r"1,000,000,000 clocks within 0.5 s of wall time "
                                          r"and was stopped; log "):
        dev.t.read(1000.0)
    assert time.monotonic() - t0 < 30
    assert dev.t.proc.poll() is not None
    dev.close()


def test_simulator_dies_with_its_host(tmp_path):
    # a host process that is killed without closing anything: its simulator follows it
    build_board(_params(small_network()))               # build here, not in the child
    code = (
        "import time\n"
        "from tests.netgen import small_network\n"
        "from tests.test_simboard import _params\n"
        "import spikefab.host as h\n"
        "d = h.Device.sim(_params(small_network())); d.identify()\n"
        "print(d.t.proc.pid, flush=True); time.sleep(600)\n")
    host = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        pid = int(host.stdout.readline())
        os.kill(host.pid, signal.SIGKILL)
        host.wait()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(") ")[1].startswith("Z"):
                    break                                 # exited, waiting to be reaped
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
            pytest.fail(f"simulator {pid} outlived its host by 20 s")
    finally:
        if host.poll() is None:
            host.kill()
            host.wait()
        host.stdout.close()


def test_no_waveforms_unless_asked(small_dev, monkeypatch):
    monkeypatch.delenv("WAVES", raising=False)
    assert small_dev.t.waves is None and not small_dev.t.build.waves
    assert not [f for f in os.listdir(small_dev.t.build.folder) if f.endswith(".vcd")]


@pytest.mark.slow
def test_waves_build_writes_a_vcd(monkeypatch):
    monkeypatch.setenv("WAVES", "1")
    p = _params(small_network())
    with h.Device.sim(p) as dev:
        dev.identify()
        path = dev.t.waves
        assert dev.t.build.folder != build_board(p, waves=False).folder
    with open(path) as f:
        text = f.read()
    assert "$var wire 1" in text and " tx $end" in text
    # the IDENTIFY answer left through tx: the line toggled at least once per response bit
    tx = [ln for ln in text.split("$enddefinitions")[0].splitlines() if ln.endswith(" tx $end")]
    code = tx[0].split()[3]
    assert sum(1 for ln in text.splitlines() if ln[1:] == code) > 40


def plastic_recurrent_network(seed):
    """input -> exc and exc -> exc plastic (LTD strong enough that one delivery shows), exc
    -> inh -> exc static; exc split over two cores."""
    from spikefab.golden import Stdp
    rng = np.random.default_rng([seed, 8])
    hw = Hardware(current_bits=14, voltage_bits=14, weight_bits=6, refractory_bits=2,
                  trace_bits=8)
    st_in = Stdp(a_plus=40, a_minus=20, shift=4, d_pre=500, d_post=700, x_inc=60, y_inc=90,
                 w_min=0, w_max=31)
    st_rec = Stdp(a_plus=10, a_minus=60, shift=3, d_pre=300, d_post=300, x_inc=80, y_inc=80,
                  w_min=-8, w_max=20)
    pops = [Population("exc", 8, 40, du=1000, dv=600, bias=6, output=True),
            Population("inh", 3, 30, du=2000, dv=1000, output=True)]
    projs = [Projection("input", "exc", rng.integers(0, 32, (5, 8)), weight_shift=1, stdp=st_in),
             Projection("exc", "exc", rng.integers(-8, 21, (8, 8)), stdp=st_rec),
             Projection("exc", "inh", rng.integers(0, 32, (8, 3)), weight_shift=1),
             Projection("inh", "exc", -rng.integers(0, 32, (3, 8)))]
    return Network(f"plastic_rec_{seed}", 5, pops, projs, hw)


def test_reset_between_runs_keeps_the_last_deliveries_depression():
    """A run that ends with exc spiking (their delivery onto the recurrent plastic projection
    depresses it at the barrier), RESET (``Device.reset``: state, accumulators and traces
    cleared, and with the pre traces each slot's "delivered" bit), a second run of two steps
    (short: the exc traces saturate within a few more): spikes, weights and traces equal
    golden's ``run``, ``reset_state``, ``run`` (SPEC section 4, step 6)."""
    from spikefab.golden import Simulator
    net = plastic_recurrent_network(3)
    x = random_inputs(3, net, 10, rate=0.5)
    sim = Simulator(net)
    first = sim.run(x[None, :8])
    assert first.spikes["exc"][0, -1].any(), "the first run must end with exc spikes"
    sim.reset_state()
    second = sim.run(x[None, 8:])
    p = derive(net, neurons_per_core=4, outputs=["exc", "inh"])
    with h.Device.sim(p) as dev:
        dev.load(net)
        r1 = dev.run(x[:8])
        for k, w in enumerate(dev.read_weights()):
            assert_same_array(f"weights of projection {k} after the first run", w,
                              first.weights[k][0], 3)
        dev.reset()
        r2 = dev.run(x[8:])
        for r, g in ((r1, first), (r2, second)):
            for q in net.populations:
                assert_same_trace("spikes", r.spikes[q.name], g.spikes[q.name][0], 3, q.name)
        for k, w in enumerate(dev.read_weights()):
            assert_same_array(f"final weights of projection {k}", w, second.weights[k][0], 3)
        pre, post = dev.read_traces()
        for k in (0, 1):
            assert_same_array(f"pre traces of projection {k}", pre[k], second.pre_traces[k][0], 3)
            assert_same_array(f"post traces of projection {k}", post[k],
                              second.post_traces[k][0], 3)
    assert not np.array_equal(second.weights[1][0], net.projections[1].weights)
