"""Seeded router shapes, tables, stimulus and the multiset scoreboard of the router tests.

Simulator-agnostic: ``test_hdl_router.py`` (Amaranth simulator) and ``tb_router.py`` (cocotb on
the generated Verilog) drive the ports their own way and report every transfer here. Every
failure message starts with ``what`` (the seed).
"""

from collections import Counter

import numpy as np

from spikefab.shape.router import RouterParams, TableSpace
from spikefab.hdl.router import dst_layout, ptr_layout

__all__ = ["random_params", "random_steps", "uniform_params", "Scoreboard", "ProtocolChecker",
           "cfg_word"]


def random_params(seed, max_cores=4, max_neurons=6, max_inputs=6, max_fanout=4,
                  step_bits=4):
    """A random router: 1..max_cores cores, random fan-out 0..max_fanout per source to random
    cores (and the host), random axon indices; some spare table entries."""
    rng = np.random.default_rng([seed, 11])
    cores = int(rng.integers(1, max_cores + 1))
    neurons = tuple(int(n) for n in rng.integers(1, max_neurons + 1, size=cores))
    inputs = int(rng.integers(1, max_inputs + 1))
    index_bits = int(rng.integers(2, 6))
    ptrs, dsts = [], []
    for _ in range(inputs + sum(neurons)):
        n = int(rng.integers(0, max_fanout + 1))
        ptrs.append((len(dsts), n))
        for _ in range(n):
            dsts.append((int(rng.integers(0, cores + 1)), int(rng.integers(0, 1 << index_bits))))
    entries = len(dsts) + int(rng.integers(1, 5))
    return RouterParams(inputs=inputs, core_neurons=neurons, entries=entries,
                        index_bits=index_bits, step_bits=step_bits, pointers=ptrs,
                        destinations=dsts)


def random_steps(seed, p, steps, spike_rate=0.5, input_rate=0.5):
    """Per step: host channel ids and, per core, spiking neuron ids (each neuron at most once,
    as a core emits them), in random order."""
    rng = np.random.default_rng([seed, 12])
    out = []
    for _ in range(steps):
        host = [int(c) for c in rng.permutation(np.flatnonzero(rng.random(p.inputs)
                                                                < input_rate))]
        spikes = [[int(n) for n in rng.permutation(np.flatnonzero(rng.random(n) < spike_rate))]
                  for n in p.core_neurons]
        out.append({"host": host, "spikes": spikes})
    return out


def cfg_word(p, space, addr, value):
    """Fields ``(space, addr, data)`` of an ``i_cfg`` write of ``value`` = ``(base, count)``
    (pointer) or ``(port, index)`` (destination)."""
    if space == TableSpace.POINTER:
        lay, (a, b), names = ptr_layout(p), value, ("base", "count")
    else:
        lay, (a, b), names = dst_layout(p), value, ("port", "index")
    return space, addr, (a << lay[names[0]].offset) | (b << lay[names[1]].offset)


class Scoreboard:
    """Expected deliveries as a multiset; every delivery must match one, none may remain.

    The table model starts as ``p``'s reset contents and follows :meth:`write`.
    """

    def __init__(self, p, what):
        self.p, self.what = p, what
        self.pointers = list(p.pointers)
        self.destinations = list(p.destinations) + [(0, 0)] * (p.entries - len(p.destinations))
        self.expected = Counter()
        self.delivered = 0
        self.sources = 0

    def write(self, space, addr, value):
        if space == TableSpace.POINTER:
            self.pointers[addr] = value
        else:
            self.destinations[addr] = value

    def _key(self, port, index, step):
        if port >= self.p.cores:
            return ("host", index, step)
        return (port, index)

    def source(self, sid, step):
        """A source event entered the router (``step``: the ``step`` input at that time)."""
        base, count = self.pointers[sid]
        mask = (1 << self.p.step_bits) - 1
        for port, index in self.destinations[base:base + count]:
            self.expected[self._key(port, index, step & mask)] += 1
        self.sources += 1

    def deliver(self, port, index, step, clock):
        """One output transfer: port ``c`` (a core) or ``"host"`` (``step`` its tag)."""
        key = ("host", index, step) if port == "host" else (port, index)
        if self.expected[key] <= 0:
            raise AssertionError(f"{self.what}: clock {clock}: delivered {key}, which no "
                                 f"source event asked for (invented or duplicated)")
        self.expected[key] -= 1
        self.delivered += 1

    @property
    def outstanding(self):
        return sum(self.expected.values())

    def check_empty(self, when):
        left = +self.expected
        if left:
            raise AssertionError(f"{self.what}: {when}: {sum(left.values())} events never "
                                 f"delivered, e.g. {sorted(left)[:4]}")


class ProtocolChecker:
    """Stream rule on an output: once ``valid`` is high, it stays high with the same payload
    until the transfer."""

    def __init__(self, name, what):
        self.name, self.what = name, what
        self.held = None

    def clock(self, valid, ready, payload, clock):
        if self.held is not None:
            if not valid or payload != self.held:
                raise AssertionError(f"{self.what}: clock {clock}: {self.name} dropped or "
                                     f"changed a payload before its transfer "
                                     f"({self.held} -> {payload if valid else 'not valid'})")
        self.held = payload if valid and not ready else None


def uniform_params(inputs, core_neurons, fanout, cores_only=False):
    """Every source has ``fanout`` destinations, spread over the cores and the host."""
    cores = len(core_neurons)
    ptrs, dsts = [], []
    for s in range(inputs + sum(core_neurons)):
        ptrs.append((len(dsts), fanout))
        for k in range(fanout):
            port = (s + k) % (cores if cores_only else cores + 1)
            dsts.append((port, s % 16))
    return RouterParams(inputs=inputs, core_neurons=core_neurons, entries=len(dsts),
                        index_bits=4, step_bits=4, pointers=ptrs, destinations=dsts)
