"""Host link (issue 7): UART timing, CRC, framing and error paths on the simulated board, and
``spikefab.host.run`` against the golden model. Seeds are in the test ids."""

import random

import numpy as np
import pytest
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from netgen import random_inputs, random_network
from spikefab.golden import simulate
from spikefab.hdl.core import Space
from spikefab.hdl.generate_network import network_params
from spikefab.hdl.link import Cmd, Status
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


def _small_net():
    return random_network(2, max_pops=2, max_size=6, max_inputs=4, plastic=False)


@pytest.fixture(scope="module")
def dev():
    net = _small_net()
    p = network_params(net, outputs=[q.name for q in net.populations])
    d = h.Device.sim(p)
    d.identify()
    return d


def _raw(dev, data, wait=0.01):
    """Send raw bytes; the decoded response frames."""
    dec = h.FrameDecoder()
    dev.t.write(data)
    end = dev.t.now + wait
    while dev.t.now < end:
        dec.feed(dev.t.read(0.002))
    return dec.frames


def test_identify(dev):
    info = dev.identify()
    assert info["version"] == 1 and info["cores"] == len(dev.p.cores)
    assert info["inputs"] == dev.p.mapping.net.inputs
    assert dev.matches


def _weight(dev, addr=0):
    return dev.read([(0, Space.WEIGHT, addr)])[0]


def test_write_read_weight(dev):
    old = _weight(dev, 1)
    dev.write(Cmd.WRITE_WEIGHTS, [(0, Space.WEIGHT, 1, old ^ 0x5)])
    assert _weight(dev, 1) == old ^ 0x5
    dev.write(Cmd.WRITE_WEIGHTS, [(0, Space.WEIGHT, 1, old)])
    assert _weight(dev, 1) == old


def _write_frame(dev, target, data, addr=0, cmd=Cmd.WRITE_WEIGHTS, space=Space.WEIGHT):
    return h.encode_frame(cmd, dev._entry(target, space, addr, data))


def test_bad_crc_rejected_without_state_change(dev):
    old = _weight(dev)
    frame = bytearray(_write_frame(dev, 0, old ^ 1))
    frame[5] ^= 0x10
    assert _raw(dev, bytes(frame)) == [(Cmd.WRITE_WEIGHTS, bytes([Status.BAD_CRC]))]
    assert _weight(dev) == old


def test_truncated_frame_times_out(dev):
    old = _weight(dev)
    frame = _write_frame(dev, 0, old ^ 1)
    assert _raw(dev, frame[:6], wait=0.01) == [(0xFF, bytes([Status.TRUNCATED]))]
    assert _weight(dev) == old


@pytest.mark.parametrize("case", ["unknown", "length", "target", "space", "mixed"])
def test_rejected_commands_change_nothing(dev, case):
    old0, old1 = _weight(dev, 0), _weight(dev, 1)
    good = dev._entry(0, Space.WEIGHT, 0, old0 ^ 3)
    frame, want = {
        "unknown": (h.encode_frame(0x77, b""), Status.UNKNOWN),
        "length": (h.encode_frame(Cmd.WRITE_WEIGHTS, good + b"\x00"), Status.BAD_LENGTH),
        "target": (_write_frame(dev, 9, 1), Status.BAD_FIELD),
        "space": (_write_frame(dev, 0, 1, space=Space.STATE), Status.BAD_FIELD),
        # a good entry before a bad one: the good one must not be written either
        "mixed": (h.encode_frame(Cmd.WRITE_WEIGHTS, good + dev._entry(0, Space.WEIGHT, 1 << 15,
                                                                       1)), Status.BAD_FIELD),
    }[case]
    frames = _raw(dev, frame)
    assert len(frames) == 1 and frames[0][1] == bytes([want]), frames
    assert (_weight(dev, 0), _weight(dev, 1)) == (old0, old1)
    with pytest.raises(h.DeviceError, match="Device rejected command 0x77: UNKNOWN"):
        dev.transact(0x77)


def test_garbage_then_good_frame(dev):
    rng = random.Random(11)
    old = _weight(dev)
    junk = bytes(rng.randrange(256) for _ in range(40)).replace(bytes([h.START]), b"\x00")
    assert _raw(dev, junk) == []
    assert dev.identify()["cores"] == len(dev.p.cores)
    assert _weight(dev) == old


def test_silent_device_raises_link_error():
    class Silent:
        def write(self, data):
            pass

        def read(self, timeout):
            return b""

        def close(self):
            pass

    net = _small_net()
    d = h.Device(Silent(), network_params(net), timeout=0.01, retries=2)
    with pytest.raises(h.LinkError, match=r"No answer to command 0x01 after 3 attempt\(s\)"):
        d.identify()
    with pytest.raises(h.LinkError, match=r"after 1 attempt\(s\)"):
        d.start(1)


@pytest.mark.parametrize("seed", [2, pytest.param(7, marks=pytest.mark.slow),
                                  pytest.param(3, marks=pytest.mark.slow)])
def test_run_matches_golden(seed, tmp_path):
    net = random_network(seed, max_pops=2, max_size=6, max_inputs=4, plastic=False)
    x = random_inputs(seed, net, 6, rate=0.5)
    out = tmp_path / "out.npz"
    res = h.run(net, x, sim=True, out=str(out))
    g = simulate(net, x)
    assert any(v.any() for v in g.spikes.values()), "a network that never spikes tests nothing"
    for k, v in g.spikes.items():
        np.testing.assert_array_equal(res["spikes"][k], v, err_msg=f"seed {seed}: {k}")
    assert (res["cycles"] > 0).all()
    saved = np.load(out)
    for k, v in g.spikes.items():
        np.testing.assert_array_equal(saved[f"spikes_{k}"], v)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(20, 26))
def test_fuzz_corrupted_streams(seed, dev):
    rng = random.Random(seed)
    before = dev.read([(0, Space.WEIGHT, a) for a in range(4)])
    for _ in range(6):
        frame = bytearray(_write_frame(dev, 0, rng.randrange(256), addr=rng.randrange(4)))
        kind = rng.choice(["flip", "cut", "junk"])
        if kind == "flip":
            frame[rng.randrange(2, len(frame))] ^= 1 << rng.randrange(8)
        elif kind == "cut":
            frame = frame[:rng.randrange(1, len(frame) - 1)]
        else:
            frame = bytearray(rng.randrange(256) for _ in range(rng.randrange(1, 30)))
            frame = frame.replace(bytes([h.START]), b"\x00")
        for resp in _raw(dev, bytes(frame), wait=0.012):
            assert resp[1][:1] != bytes([Status.OK]), (seed, kind, resp)
        assert dev.read([(0, Space.WEIGHT, a) for a in range(4)]) == before, (seed, kind)
    assert dev.identify()["cores"] == len(dev.p.cores)
