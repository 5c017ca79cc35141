"""A noisy cable: exactly-once execution of the link (protocol v2: sequence numbers and the
replay memory) and the fault campaign of :mod:`spikefab.host.faults` on the simulated board.

Every run that completes must equal the golden model; a run that cannot recover stops with one
line saying what may and what was applied. The default tier checks the mechanism and one short
campaign; the slow tier runs the campaign of ``docs/protocol.md`` on a multi-core plastic
network.
"""

import numpy as np
import pytest

import spikefab.host as h
from .netgen import random_multicore_network, small_network
from spikefab.errors import InvalidValue
from spikefab.host.faults import FAULT_KINDS, FaultyTransport, fault_campaign
from spikefab.shape.cfg import Space
from spikefab.shape.network import derive
from spikefab.shape.protocol import Cmd, Status


def _params(net):
    return derive(net, outputs=[q.name for q in net.populations])


@pytest.fixture(scope="module")
def dev():
    net = small_network()
    d = h.Device.sim(_params(net))
    d.identify()
    d.load()
    yield d
    d.close()


def _answers(dev, frame, wait=0.02):
    """Send ``frame`` raw; the ``(cmd, seq, payload)`` of the answers within ``wait``
    simulated seconds."""
    dec = h.FrameDecoder()
    dev.t.write(frame)
    end = dev.t.now + wait + len(frame) * 10 * dev.t.divisor * 1e-6
    while dev.t.now < end:
        dec.feed(dev.t.read(0.002))
    return [(c, s, bytes(p)) for c, s, p in dec.frames]


def _frame(dev, cmd, payload=b""):
    dev.seq = (dev.seq + 1) & 0xFF
    return h.encode_frame(cmd, payload, dev.seq)


def _steps_done(dev):
    done, left, _ = dev.read_spikes()
    assert left == 0
    return done


def test_a_retried_run_is_executed_once(dev):
    before = _steps_done(dev)
    run = _frame(dev, Cmd.RUN, (3).to_bytes(2, "little"))
    first = _answers(dev, run)                 # the host "lost" this answer ...
    again = _answers(dev, run)                 # ... and sends the same frame again
    assert first == again == [(Cmd.RUN, dev.seq, bytes([Status.OK]))]
    dev.t.idle(0.01)
    while dev.read_cycles():
        pass
    assert _steps_done(dev) == before + 3      # not 6


def test_a_retried_read_spikes_answers_the_same_events(dev):
    dev.inject(range(dev.p.mapping.net.inputs))
    dev.start(4)
    dev.t.idle(0.01)
    read = _frame(dev, Cmd.READ_SPIKES)
    first = _answers(dev, read)
    again = _answers(dev, read)
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
        assert _answers(dev, _frame(dev, Cmd.RUN, (1).to_bytes(2, "little"))) == \
            [(Cmd.RUN, dev.seq, bytes([Status.OK]))]
    dev.t.idle(0.01)
    while dev.read_cycles():
        pass
    assert _steps_done(dev) == before + 2


def test_a_broken_frame_does_not_disturb_the_replay(dev):
    w = dev.read([(0, Space.WEIGHT, 0)])[0]
    write = _frame(dev, Cmd.WRITE_WEIGHTS, dev._entry(0, Space.WEIGHT, 0, w ^ 1))
    assert _answers(dev, write) == [(Cmd.WRITE_WEIGHTS, dev.seq, bytes([Status.OK]))]
    broken = bytearray(write)
    broken[-1] ^= 0x40
    assert [a[2] for a in _answers(dev, bytes(broken))] == [bytes([Status.BAD_CRC])]
    # the retry is still recognised (and not written twice: the same value either way, but
    # the answer comes from the replay memory, with the same sequence number)
    assert _answers(dev, write) == [(Cmd.WRITE_WEIGHTS, dev.seq, bytes([Status.OK]))]
    assert dev.read([(0, Space.WEIGHT, 0)])[0] == w ^ 1
    dev.write(Cmd.WRITE_WEIGHTS, [(0, Space.WEIGHT, 0, w)])


def test_identify_is_always_executed(dev):
    ident = _frame(dev, Cmd.IDENTIFY)
    first, again = _answers(dev, ident), _answers(dev, ident)
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


def test_fault_kinds_are_checked():
    with pytest.raises(InvalidValue, match="Fault kinds must be among drop, flip"):
        FaultyTransport(None, 0, kinds=("lightning",))
    with pytest.raises(InvalidValue, match=r"Fault rate must be in \[0, 1\]"):
        FaultyTransport(None, 0, rate=2)


def _campaign(net, steps, runs, rate, seed):
    p = _params(net)
    x = np.random.default_rng(seed).random((steps, net.inputs)) < 0.3
    return fault_campaign(p, net, x, runs=runs, rate=rate, seed=seed)


def _check(table):
    for kind, row in table.items():
        assert row["wrong"] == 0 and row["faults_wrong"] == 0, (kind, row)
        assert row["injected"] > 0, (kind, row)
        for msg in row["messages"]:
            assert "\n" not in msg and "may or may not have been applied" in msg, msg
        if kind == "vanish":
            assert row["reported"] == row["runs"], row
            assert all(m.startswith("The serial port vanished") for m in row["messages"])
        else:
            assert row["recovered"] >= row["runs"] - 1, (kind, row)


def test_short_fault_campaign():
    _check(_campaign(small_network(), steps=20, runs=1, rate=0.05, seed=1))


@pytest.mark.slow
def test_fault_campaign_multicore_plastic():
    net = random_multicore_network(10, plastic=True)
    table = _campaign(net, steps=40, runs=3, rate=0.05, seed=2)
    _check(table)
    assert set(table) == set(FAULT_KINDS)
