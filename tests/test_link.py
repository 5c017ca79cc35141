"""Host link (issue 7): UART timing, CRC, framing and the error paths on the simulated board
(Verilator, the default backend), the Amaranth backend against the golden model, and a silent
device. Seeds are in the test ids; the fuzzing, the multi-core runs and the simulator's own
failure modes are in ``test_simboard.py``."""

import dataclasses
import random

import numpy as np
import pytest
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from .compare import assert_same_array, assert_same_trace
from .netgen import random_inputs, random_network, small_network
from spikefab.golden import Network, simulate
from spikefab.host.faults import FaultyTransport
from spikefab.shape.cfg import Param, Space
from spikefab.shape.network import derive
from spikefab.shape.protocol import Cmd, Status, link_info
from spikefab.shape.router import TableSpace
from spikefab.hdl.uart import UartRx, UartTx, crc16_update, uart_divisor

import spikefab.host as h


def test_crc16_check_value():
    # CRC-16/CCITT-FALSE catalogue check value
    assert h.crc16(b"123456789") == 0x29B1


def test_crc16_gateware_matches_host():
    crc, byte = Signal(16), Signal(8)
    m = Module()
    out = Signal(16)
    m.d.comb += out.eq(crc16_update(crc, byte))
    rng = random.Random(7)
    cases = [(rng.randrange(1 << 16), rng.randrange(256)) for _ in range(200)]

    async def bench(ctx):
        for c, b in cases:
            ctx.set(crc, c)
            ctx.set(byte, b)
            await ctx.delay(1e-9)
            assert ctx.get(out) == h.crc16(bytes([b]), c), (c, b)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()


def test_uart_divisor_errors():
    assert uart_divisor(12e6, 1_000_000) == 12
    with pytest.raises(ValueError, match=r"Baud rate must be within 2% of clk / n for an "
                                         r"integer n >= 4; 3000000 at 10 MHz is not"):
        uart_divisor(10e6, 3_000_000)


@pytest.mark.parametrize("divisor", [4, 7])
def test_uart_bit_timing_and_loopback(divisor):
    m = Module()
    m.submodules.tx = tx = UartTx(divisor)
    m.submodules.rx = rx = UartRx(divisor)
    m.d.comb += rx.rx.eq(tx.tx)
    data = [0x55, 0x00, 0xFF, 0xA5, 0x3C]
    got, levels = [], []

    async def send(ctx):
        for b in data:
            ctx.set(tx.i_data.payload, b)
            ctx.set(tx.i_data.valid, 1)
            await ctx.tick().until(tx.i_data.ready)
            ctx.set(tx.i_data.valid, 0)
            # the line, sampled once per clock, for the whole frame
            line = []
            for _ in range(10 * divisor):
                line.append(ctx.get(tx.tx))
                await ctx.tick()
            levels.append(line)
        for _ in range(4 * divisor):
            await ctx.tick()

    async def recv(ctx):
        while True:
            await ctx.tick()
            if ctx.get(rx.o_data.valid):
                got.append(ctx.get(rx.o_data.payload))

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(send)
    sim.add_testbench(recv, background=True)
    sim.run()
    assert got == data
    for b, line in zip(data, levels):
        bits = [0] + [(b >> i) & 1 for i in range(8)] + [1]
        assert line == [x for x in bits for _ in range(divisor)], hex(b)


@pytest.fixture(scope="module")
def dev():
    net = small_network()
    p = derive(net, outputs=[q.name for q in net.populations])
    d = h.Device.sim(p)
    d.identify()
    d.load()
    yield d
    d.close()


def _raw(dev, data, wait=0.01, seqs=False):
    """Send raw bytes; the ``(cmd, payload)`` (with ``seqs``: ``(cmd, seq, payload)``) of
    the response frames decoded within ``wait`` simulated seconds after the bytes went
    out."""
    dec = h.FrameDecoder()
    dev.t.write(data)
    end = dev.t.now + wait + len(data) * 10 * dev.t.divisor * 1e-6
    while dev.t.now < end:
        dec.feed(dev.t.read(0.002))
    if seqs:
        return [(cmd, seq, bytes(payload)) for cmd, seq, payload in dec.frames]
    return [(cmd, payload) for cmd, _, payload in dec.frames]


def _fresh(dev, cmd, payload=b""):
    """A frame with the device's next sequence number (a repeated one would be a retry)."""
    dev.seq = (dev.seq + 1) & 0xFF
    return h.encode_frame(cmd, payload, dev.seq)


def snapshot(dev, state=True):
    """Everything a rejected frame could change: every weight, parameter, neuron state and
    accumulator word of every core, the step counter and the queues (read without draining
    anything: the queues must be empty)."""
    p = dev.p
    entries = []
    for c, cp in enumerate(p.cores):
        entries += [(c, Space.WEIGHT, a) for a in range(cp.weight_depth)]
        entries += [(c, Space.PARAM, int(k)) for k in Param]
        if state:
            entries += [(c, sp, row) for sp in (Space.STATE, Space.ACC)
                        for row in range(cp.rows)]
    words = dev.read(entries)
    steps, left, ev = dev.read_spikes()
    assert dev.read_cycles() == [] and left == 0 and ev == [], (left, ev)
    return words, steps


def test_identify(dev):
    info = dev.identify()
    # a build without the rate generator is a protocol v2 device (v3 adds PRESENT)
    assert info["version"] == 2 and info["cores"] == len(dev.p.cores)
    assert info["inputs"] == dev.p.mapping.net.inputs
    assert dev.matches


def test_build_hash_covers_the_shape_only():
    # same shape, other weights and parameters: the same build; another shift: another build
    net = small_network()
    p = derive(net)
    other = Network(net.name + "_b", net.inputs,
                    [dataclasses.replace(q, threshold=q.threshold + 1, bias=-q.bias)
                     for q in net.populations],
                    [dataclasses.replace(pr, weights=-pr.weights) for pr in net.projections],
                    net.hardware)
    assert link_info(derive(other))["build_hash"] == link_info(p)["build_hash"]
    shifted = Network(net.name, net.inputs, net.populations,
                      [dataclasses.replace(pr, weight_shift=(pr.weight_shift + 1) % 7)
                       for pr in net.projections], net.hardware)
    assert link_info(derive(shifted))["build_hash"] != link_info(p)["build_hash"]


def _weight(dev, addr=0):
    return dev.read([(0, Space.WEIGHT, addr)])[0]


def test_write_read_weight(dev):
    old = _weight(dev, 1)
    dev.write(Cmd.WRITE_WEIGHTS, [(0, Space.WEIGHT, 1, old ^ 0x5)])
    assert _weight(dev, 1) == old ^ 0x5
    dev.write(Cmd.WRITE_WEIGHTS, [(0, Space.WEIGHT, 1, old)])
    assert _weight(dev, 1) == old


def _write_frame(dev, target, data, addr=0, cmd=Cmd.WRITE_WEIGHTS, space=Space.WEIGHT):
    return _fresh(dev, cmd, dev._entry(target, space, addr, data))


def test_bad_crc_rejected_without_state_change(dev):
    before = snapshot(dev)
    frame = bytearray(_write_frame(dev, 0, before[0][0] ^ 1))
    frame[5] ^= 0x10
    assert _raw(dev, bytes(frame)) == [(Cmd.WRITE_WEIGHTS, bytes([Status.BAD_CRC]))]
    assert snapshot(dev) == before


@pytest.mark.parametrize("cut", [2, 3, 6, 9])
def test_truncated_frame_times_out(dev, cut):
    before = snapshot(dev)
    frame = _write_frame(dev, 0, before[0][0] ^ 1)
    assert _raw(dev, frame[:cut], wait=0.01) == [(0xFF, bytes([Status.TRUNCATED]))]
    assert snapshot(dev) == before


def test_slow_bytes_within_the_timeout_are_one_frame(dev):
    # 30 idle bit times between bytes (120 clocks) stay far below the 4,000-clock timeout
    dev.t.line_gap = 30
    try:
        assert dev.identify()["cores"] == len(dev.p.cores)
    finally:
        dev.t.line_gap = 0


@pytest.mark.parametrize("case", ["unknown", "length", "target", "space", "mixed", "address",
                                  "route_target", "input_channel", "run_length",
                                  "read_too_many", "identify_length"])
def test_rejected_commands_change_nothing(dev, case):
    before = snapshot(dev)
    p = dev.p
    assert 254 // dev.R < 63, "the network's read words must be wide enough for read_too_many"
    good = dev._entry(0, Space.WEIGHT, 0, before[0][0] ^ 3)
    frame, want = {
        "unknown": (_fresh(dev, 0x77, b""), Status.UNKNOWN),
        "length": (_fresh(dev, Cmd.WRITE_WEIGHTS, good + b"\x00"), Status.BAD_LENGTH),
        "target": (_write_frame(dev, 9, 1), Status.BAD_FIELD),
        "space": (_write_frame(dev, 0, 1, space=Space.STATE), Status.BAD_FIELD),
        # a good entry before a bad one: the good one must not be written either
        "mixed": (_fresh(dev, Cmd.WRITE_WEIGHTS, good + dev._entry(0, Space.WEIGHT, 1 << 15,
                                                                       1)), Status.BAD_FIELD),
        "address": (_fresh(dev, Cmd.WRITE_STATE, dev._entry(
            0, Space.STATE, 1 << p.cfg_addr_bits, 1)), Status.BAD_FIELD),
        "route_target": (_fresh(dev, Cmd.WRITE_ROUTES, dev._entry(
            0, TableSpace.POINTER, 0, 0)), Status.BAD_FIELD),
        "input_channel": (_fresh(dev, Cmd.INPUT, (0).to_bytes(2, "little")
                                         + p.mapping.net.inputs.to_bytes(2, "little")),
                          Status.BAD_FIELD),
        "run_length": (_fresh(dev, Cmd.RUN, b"\x01\x00\x00"), Status.BAD_LENGTH),
        # 63 entries fill a frame; more than 254 / R words do not fit the answer
        "read_too_many": (_fresh(dev, Cmd.READ, dev._entry(0, Space.WEIGHT, 0) * 63),
                          Status.BAD_LENGTH),
        "identify_length": (_fresh(dev, Cmd.IDENTIFY, b"\x00"), Status.BAD_LENGTH),
    }[case]
    frames = _raw(dev, frame)
    assert len(frames) == 1 and frames[0][1][:1] == bytes([want]), frames
    assert snapshot(dev) == before


def test_unknown_command_raises_device_error(dev):
    with pytest.raises(h.DeviceError, match="Device rejected command 0x77: UNKNOWN"):
        dev.transact(0x77)


def test_busy_rejects_state_changes_and_keeps_answering(dev):
    before = snapshot(dev, state=False)
    base = before[1]
    dev.start(200)        # stalls after the cycle queue fills: busy until the host drains it
    for cmd, payload in [
            (Cmd.WRITE_WEIGHTS, dev._entry(0, Space.WEIGHT, 0, before[0][0] ^ 1)),
            (Cmd.WRITE_PARAMS, dev._entry(0, Space.PARAM, 0, 1)),
            (Cmd.WRITE_ROUTES, dev._entry(dev.p.router_target, TableSpace.POINTER, 0, 0)),
            (Cmd.WRITE_STATE, dev._entry(0, Space.STATE, 0, 1)),
            (Cmd.READ, dev._entry(0, Space.WEIGHT, 0)),
            (Cmd.INPUT, b"\x00\x00"),
            (Cmd.RUN, b"\x05\x00")]:
        with pytest.raises(h.DeviceError, match=f"Device rejected {h.cmd_name(cmd)}: BUSY"):
            dev.transact(cmd, payload)
    assert dev.identify()["cores"] == len(dev.p.cores)
    steps, cycles, left = base, [], 1
    while left:
        steps, left, _ = dev.read_spikes()
        cycles += dev.read_cycles()
    cycles += dev.read_cycles()
    # exactly the 200 steps asked for: the rejected RUN added none
    assert (steps - base, len(cycles)) == (200, 200)
    dev.reset()
    assert snapshot(dev, state=False)[0] == before[0]


def test_reset_keeps_loaded_parameters_and_clears_state(dev):
    dev.write(Cmd.WRITE_STATE, [(0, Space.STATE, 0, 5), (0, Space.ACC, 0, 7)])
    dev.reset()
    words, steps = snapshot(dev)
    assert steps == 0
    cp = dev.p.cores[0]
    # a parameter register returns to its build value (0 on the simulated board) on RESET;
    # the host writes the loaded one back
    assert dev.read([(0, Space.PARAM, int(Param.THRESHOLD))]) == [cp.threshold]
    assert dev.read([(0, Space.STATE, 0), (0, Space.ACC, 0)]) == [0, 0]


def test_garbage_then_good_frame(dev):
    rng = random.Random(11)
    before = snapshot(dev)
    junk = bytes(rng.randrange(256) for _ in range(40)).replace(bytes([h.START]), b"\x00")
    assert _raw(dev, junk) == []
    assert dev.identify()["cores"] == len(dev.p.cores)
    assert snapshot(dev) == before


def test_silent_device_raises_link_error():
    class Silent:
        def write(self, data):
            pass

        def read(self, timeout):
            return b""

        def close(self):
            pass

    net = small_network()
    d = h.Device(Silent(), derive(net), timeout=0.01, retries=2)
    with pytest.raises(h.IdentifyError, match=r"^The device did not answer IDENTIFY "
                                              r"within the timeout \(0.01 s, 3 attempts\)"):
        d.identify()
    # every command is retried (protocol v2: a retry is never executed twice), and the
    # message says what is not known
    with pytest.raises(h.LinkError, match=r"No answer to RUN after 3 attempt\(s\) of 0.01 s "
                                          r"\(met by silence, silence, silence\); "
                                          r"RUN \(sequence 2\) may or may not have been "
                                          r"applied, once at most"):
        d.start(1)


def test_unknown_backend():
    with pytest.raises(ValueError, match="Simulated board backend must be one of verilator, "
                                         "amaranth, not 'icarus'"):
        h.Device.sim(derive(small_network()), backend="icarus")


def _check_run(res, net, x, seed, record_state):
    g = simulate(net, x, record_state=record_state)
    assert any(v.any() for v in g.spikes.values()), "a network that never spikes tests nothing"
    for k in g.spikes:
        assert_same_trace("spikes", res.spikes[k], g.spikes[k], seed, k)
        if record_state:
            assert_same_trace("u", res.u[k], g.u[k], seed, k)
            assert_same_trace("v", res.v[k], g.v[k], seed, k)
    for k, w in enumerate(g.weights):
        assert_same_array(f"final weights of projection {k}", res.weights[k], w, seed)
    assert (res.cycles > 0).all()


@pytest.mark.parametrize("backend, seed", [
    ("verilator", 2), pytest.param("amaranth", 2, marks=pytest.mark.slow),
    pytest.param("verilator", 7, marks=pytest.mark.slow),
    pytest.param("verilator", 3, marks=pytest.mark.slow),
    pytest.param("amaranth", 7, marks=pytest.mark.slow)])
def test_run_matches_golden(backend, seed, tmp_path):
    net = random_network(seed, max_pops=2, max_size=6, max_inputs=4, plastic=False)
    steps = 6 if backend == "verilator" else 4
    x = random_inputs(seed, net, steps, rate=0.5)
    out = tmp_path / "out.npz"
    record = backend == "verilator"
    res = h.run(net, x, sim=True, out=str(out), record_state=record, backend=backend)
    _check_run(res, net, x, seed, record)
    want = simulate(net, x, record_state=record).to_npz_dict()
    with np.load(out) as saved:
        assert sorted(saved.files) == sorted(want)
        for k, v in want.items():
            assert_same_array(k, saved[k], v, seed)


@pytest.mark.seed(5)
def test_board_on_banked_weight_memories_matches_golden(seed):
    """A network on ``"banked"`` weight memories (the ULX3S-85F's kind), whose link also
    registers its FIFOs' heads and its RESET: spikes and cycle counts drained from both FIFOs,
    the state and the final weights against golden on the simulated board, before and after
    a RESET."""
    net = random_network(seed, max_pops=2, max_size=6, max_inputs=4, plastic=False)
    x = random_inputs(seed, net, 8, rate=0.5)
    p = derive(net, outputs=[q.name for q in net.populations], weight_ram="banked")
    assert set(p.weight_rams) == {"banked"}
    g = simulate(net, x, record_state=True)
    assert any(v.any() for v in g.spikes.values()), "a network that never spikes tests nothing"
    with h.Device.sim(p) as dev:
        dev.load(net)
        # a second run after RESET (registered on this link) starts from the initial state
        for run in range(2):
            if run:
                dev.reset()
            r = dev.run(x, record_state=True)
            for k in g.spikes:
                for field in ("spikes", "u", "v"):
                    assert_same_trace(field, getattr(r, field)[k], getattr(g, field)[k],
                                      seed, k)
            for k, w in enumerate(dev.read_weights()):
                assert_same_array(f"final weights of projection {k}", w, g.weights[k], seed)
            assert len(r.cycles) == x.shape[0] and (r.cycles > 0).all(), (
                f"seed {seed}, run {run}: {r.cycles}")


# -- exactly once (protocol v2: sequence numbers and the replay memory) -----------------------

def _steps_done(dev):
    done, left, _ = dev.read_spikes()
    assert left == 0
    return done


def test_a_retried_run_is_executed_once(dev):
    before = _steps_done(dev)
    run = _fresh(dev, Cmd.RUN, (3).to_bytes(2, "little"))
    first = _raw(dev, run, seqs=True)                 # the host "lost" this answer ...
    again = _raw(dev, run, seqs=True)                 # ... and sends the same frame again
    assert first == again == [(Cmd.RUN, dev.seq, bytes([Status.OK]))]
    dev.t.idle(0.01)
    while dev.read_cycles():
        pass
    assert _steps_done(dev) == before + 3      # not 6


def test_a_retried_read_spikes_answers_the_same_events(dev):
    dev.inject(range(dev.p.mapping.net.inputs))
    dev.start(4)
    dev.t.idle(0.01)
    read = _fresh(dev, Cmd.READ_SPIKES)
    first = _raw(dev, read, seqs=True)
    again = _raw(dev, read, seqs=True)
    assert len(first) == 1 and first == again, (first, again)
    # the events of the first answer were taken off the queue once: the next read is new
    _, _, body = first[0]
    assert len(body) > 5, "the steps must have produced events for this test"
    assert dev.read_spikes()[2] == []
    while dev.read_cycles():
        pass


def test_a_new_sequence_number_executes_again(dev):
    before = _steps_done(dev)
    for _ in range(2):
        assert _raw(dev, _fresh(dev, Cmd.RUN, (1).to_bytes(2, "little")), seqs=True) == \
            [(Cmd.RUN, dev.seq, bytes([Status.OK]))]
    dev.t.idle(0.01)
    while dev.read_cycles():
        pass
    assert _steps_done(dev) == before + 2


def test_a_broken_frame_does_not_disturb_the_replay(dev):
    w = dev.read([(0, Space.WEIGHT, 0)])[0]
    write = _fresh(dev, Cmd.WRITE_WEIGHTS, dev._entry(0, Space.WEIGHT, 0, w ^ 1))
    assert _raw(dev, write, seqs=True) == [(Cmd.WRITE_WEIGHTS, dev.seq, bytes([Status.OK]))]
    broken = bytearray(write)
    broken[-1] ^= 0x40
    assert [a[2] for a in _raw(dev, bytes(broken), seqs=True)] == [bytes([Status.BAD_CRC])]
    # the retry is still recognised (and not written twice: the same value either way, but
    # the answer comes from the replay memory, with the same sequence number)
    assert _raw(dev, write, seqs=True) == [(Cmd.WRITE_WEIGHTS, dev.seq, bytes([Status.OK]))]
    assert dev.read([(0, Space.WEIGHT, 0)])[0] == w ^ 1
    dev.write(Cmd.WRITE_WEIGHTS, [(0, Space.WEIGHT, 0, w)])


def test_identify_is_always_executed(dev):
    ident = _fresh(dev, Cmd.IDENTIFY)
    first, again = _raw(dev, ident, seqs=True), _raw(dev, ident, seqs=True)
    assert first == again and first[0][2][0] == Status.OK


def test_host_skips_late_answers(dev):
    # an answer that arrives after the host gave up on it (a stall) is skipped by its
    # sequence number, not taken for the next command's
    t = FaultyTransport(dev.t, seed=3, rate=1.0, kinds=("stall",), limit=1)
    dev.t, inner = t, dev.t
    try:
        before = dev.counts["stale"]
        assert dev.identify()["cores"] == len(dev.p.cores)
        dev.read([(0, Space.WEIGHT, 0)])
        assert t.injected["stall"] == 1 and dev.counts["stale"] > before
    finally:
        dev.t = inner


# -- adaptive thresholds over the link (spec v1.2) ---------------------------------------------

@pytest.mark.seed(17)
def test_adaptive_thresholds_over_the_link_kept_or_cleared(seed):
    """A network with an adaptive threshold on the simulated board: spikes and ``theta``
    against the golden model; a RESET that keeps ``theta`` (the homeostasis carried into the
    next presentation) and one that clears it, each against ``Simulator.reset_state``."""
    from spikefab.golden import Network, Population, Projection, Simulator
    rng = np.random.default_rng(seed)
    net = Network("adapt", 6, (
        Population("exc", 8, threshold=60, du=4096, dv=300, theta_bits=7, theta_inc=40,
                   theta_decay=60, reset="subtract", output=True),
        Population("plain", 3, threshold=30, output=True)),
        (Projection("input", "exc", rng.integers(0, 60, (6, 8))),
         Projection("exc", "plain", rng.integers(-20, 40, (8, 3)))))
    x = random_inputs(seed, net, 25, rate=0.6)
    p = derive(net, outputs=["exc", "plain"])
    gold = Simulator(net)
    with h.Device.sim(p) as dev:
        dev.load(net)
        for run, keep in enumerate((None, True, False)):
            if keep is not None:
                dev.reset(keep_theta=keep)
                gold.reset_state(keep_theta=keep)
            want = gold.run(x[None].astype(bool))
            r = dev.run(x)
            for k in ("exc", "plain"):
                assert_same_trace("spikes", r.spikes[k], want.spikes[k][0], seed, k)
            theta = dev.read_theta()
            assert list(theta) == ["exc"]
            assert_same_array(f"theta after run {run}", theta["exc"], gold.theta["exc"][0], seed)
            assert gold.theta["exc"].any(), f"seed {seed}: theta never rose in run {run}"


# -- the third factor over the link (spec v1.2) ------------------------------------------------

@pytest.mark.seed(23)
def test_third_factor_over_the_link_with_sign_flips(seed):
    """A modulated plastic projection on the simulated board: the host writes the modulation
    between runs (one, a sign flip to -256, zero, a fraction, back to one) and the weights and
    spikes follow the golden model's ``set_modulation`` at the same steps; a reset keeps it."""
    from spikefab.golden import Network, Population, Projection, Simulator, Stdp
    rng = np.random.default_rng(seed)
    st = Stdp(a_plus=120, a_minus=90, shift=5, d_pre=600, d_post=600, x_inc=100, y_inc=100,
              w_min=-60, w_max=60, modulated=True)
    net = Network("reward", 6, (Population("exc", 7, threshold=40, du=4096, dv=500,
                                           output=True),),
                  (Projection("input", "exc", rng.integers(-20, 40, (6, 7)), stdp=st),))
    x = random_inputs(seed, net, 12, rate=0.6)
    p = derive(net, outputs=["exc"])
    gold = Simulator(net)
    moved = []
    with h.Device.sim(p) as dev:
        dev.load(net)
        for run, m in enumerate((256, -256, 0, 77, 256)):
            if run:
                dev.set_modulation(0, m)
                gold.set_modulation(0, m)
            if run == 3:
                dev.reset()
                gold.reset_state()
            before = gold.weights[0][0].copy()
            want = gold.run(x[None].astype(bool))
            r = dev.run(x)
            assert_same_trace("spikes", r.spikes["exc"], want.spikes["exc"][0], seed, "exc")
            assert_same_array(f"weights after run {run} (m = {m})", dev.read_weights()[0],
                              gold.weights[0][0], seed)
            moved.append(not np.array_equal(before, gold.weights[0][0]))
        with pytest.raises(ValueError,
                           match=r"^Modulation of projection 0 must be an integer in "
                                 r"\[-256, 256\], not 257$"):
            dev.set_modulation(0, 257)
    assert moved[0] and moved[1] and not moved[2], f"seed {seed}: {moved}"
