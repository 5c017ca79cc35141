"""Network-to-core mapping (``spikefab.shape.mapping``): placement, routing table, errors.

The proof is a functional model of the mapped hardware: every step, the source ids of the
step's events (host inputs and the previous step's core spikes) go through the routing table
into per-core accumulators (``W_core[slot] << shift[slot]``, exact), and each core's segments run
the golden ``lif_step`` with their population's parameters. Its spikes, ``u``, ``v`` and host
output events must equal ``spikefab.golden.simulate`` on random multi-population networks that
are split over and packed into small cores.
"""

import numpy as np
import pytest

from spikefab.golden import Hardware, Network, Population, Projection, Stdp, lif_step, simulate
from spikefab.shape.mapping import map_network

from .netgen import random_capacity, random_inputs, random_multicore_network


# -- the functional model of a mapped network ------------------------------------------------

def run_mapped(m, inputs):
    """Run mapping ``m`` on ``inputs`` ``(T, inputs)`` through its routing table.

    Returns spikes, u, v per population ``(T, size)`` (assembled from the cores) and the host
    output events as a sorted list of ``(step, host id)``.
    """
    net, hw = m.net, m.net.hardware
    steps = inputs.shape[0]
    shifts = []
    for c in m.cores:
        s = np.zeros(c.axons, np.int64)
        for g in c.groups:
            s[g.offset:g.offset + g.size] = g.shift
        shifts.append(s)
    u = [np.zeros(c.neurons, np.int64) for c in m.cores]
    v = [np.zeros(c.neurons, np.int64) for c in m.cores]
    r = [np.zeros(c.neurons, np.int64) for c in m.cores]
    prev = [np.zeros(c.neurons, bool) for c in m.cores]
    out = {k: {p.name: np.zeros((steps, p.size), np.int64) for p in net.populations}
           for k in ("spikes", "u", "v")}
    host = []
    for t in range(steps):
        events = list(np.flatnonzero(inputs[t]))
        for c in m.cores:
            events += [m.core_base[c.index] + i for i in np.flatnonzero(prev[c.index])]
        acc = [np.zeros(c.neurons, np.int64) for c in m.cores]
        for s in events:
            for port, index in m.table[s]:
                if port != m.host_port:
                    acc[port] += m.cores[port].weights[index] << shifts[port][index]
        for c in m.cores:
            k = c.index
            spikes = np.zeros(c.neurons, bool)
            for seg in c.segments:
                sl = slice(seg.offset, seg.offset + seg.size)
                pop = net.population(seg.population)
                u[k][sl], v[k][sl], r[k][sl], spikes[sl] = lif_step(
                    u[k][sl], v[k][sl], r[k][sl], acc[k][sl], pop, hw)
                gl = slice(seg.start, seg.start + seg.size)
                out["spikes"][seg.population][t, gl] = spikes[sl]
                out["u"][seg.population][t, gl] = u[k][sl]
                out["v"][seg.population][t, gl] = v[k][sl]
            prev[k] = spikes
            for i in np.flatnonzero(spikes):
                for port, index in m.table[m.core_base[k] + i]:
                    if port == m.host_port:
                        host.append((t, index))
    return out, sorted(host)


def check_against_golden(m, x, seed):
    net = m.net
    got, host = run_mapped(m, x)
    want = simulate(net, x, record_state=True)
    for field in ("spikes", "u", "v"):
        for pop in net.populations:
            g, w = got[field][pop.name], np.asarray(getattr(want, field)[pop.name], np.int64)
            if not np.array_equal(g, w):
                t, i = (int(a) for a in np.argwhere(g != w)[0])
                pytest.fail(f"seed {seed}: step {t}, {field} of {pop.name}[{i}]: mapped "
                            f"{g[t, i]}, golden {w[t, i]}\n{m.describe()}")
    expect = sorted((int(t), m.host_id(p.name, int(i)))
                    for p in net.populations if p.output
                    for t, i in np.argwhere(want.spikes[p.name]))
    assert host == expect, f"seed {seed}: host output events differ"
    return got


SWEEP = 120


def test_mapped_networks_match_golden():
    """>= 100 random networks, populations split over cores and packed, fan-out > 1."""
    split = packed = fanout = inhibitory = recurrent = 0
    for seed in range(SWEEP):
        net = random_multicore_network(seed)
        n_cap, a_cap = random_capacity(seed, net)
        m = map_network(net, n_cap, a_cap)
        x = random_inputs(seed, net, 12, rate=0.5)
        check_against_golden(m, x, seed)
        split += any(p.size > n_cap for p in net.populations)
        packed += any(len({s.population for s in c.segments}) > 1 for c in m.cores)
        fanout += m.max_fanout > 1
        inhibitory += any((p.weights < 0).any() for p in net.projections)
        recurrent += any(p.source == p.target for p in net.projections)
    # the sweep covers what it claims to cover
    assert min(split, packed, fanout, inhibitory, recurrent) >= SWEEP // 4, \
        (split, packed, fanout, inhibitory, recurrent)


def test_mapping_invariants():
    """Every synapse of the network is in exactly one core slot, nothing else is."""
    for seed in range(40):
        net = random_multicore_network(seed)
        n_cap, a_cap = random_capacity(seed, net)
        m = map_network(net, n_cap, a_cap)
        total = 0
        for c in m.cores:
            assert 1 <= c.neurons <= n_cap and c.axons <= a_cap
            assert c.weights.shape == (c.axons, c.neurons)
            assert len({s.population for s in c.segments}) == len(c.segments)
            total += int(np.abs(c.weights).sum())
        assert total == sum(int(np.abs(p.weights).sum()) for p in net.projections), seed
        seen = sorted((p, i) for c in m.cores for s in c.segments
                      for p, i in ((s.population, s.start + k) for k in range(s.size)))
        assert seen == sorted((p.name, i) for p in net.populations for i in range(p.size))
        assert len(m.table) == m.sources == net.inputs + net.neurons
        # the pointer/destination images describe the same table
        ptr, dst = m.pointer_words(), m.destination_words()
        assert [tuple(dst[b:b + n]) for b, n in ptr] == list(m.table)
        assert len(dst) == m.entries


def small_net(sizes, projs, inputs=4, outputs=()):
    pops = [Population(f"p{n}", s, 10, output=f"p{n}" in outputs) for n, s in enumerate(sizes)]
    size = {"input": inputs, **{p.name: p.size for p in pops}}
    return Network("small", inputs, pops,
                   [Projection(s, t, np.ones((size[s], size[t]), int), weight_shift=k)
                    for s, t, k in projs])


def test_split_is_balanced_and_packing_shares_cores():
    net = small_net([10, 3, 2], [("input", "p0", 0), ("p0", "p1", 0), ("p0", "p2", 0),
                                 ("p1", "p0", 1)], outputs=("p2",))
    m = map_network(net, neurons_per_core=5, axons_per_core=16)
    assert [[(s.population, s.start, s.size) for s in c.segments] for c in m.cores] == [
        [("p0", 0, 5)], [("p0", 5, 5)], [("p1", 0, 3), ("p2", 0, 2)]]
    # p0 -> p1 and p0 -> p2 come from the same source with the same shift into one core: one
    # slot holds both rows, so p0 neuron 6 has one destination
    assert [(g.source, g.shift, g.projections, g.offset, g.size) for g in m.cores[2].groups] \
        == [("p0", 0, (1, 2), 0, 10)]
    assert m.table[m.source_id("p0", 6)] == ((2, 6),)
    assert [(g.source, g.shift, g.offset) for g in m.cores[0].groups] == [
        ("input", 0, 0), ("p1", 1, 4)]
    # p1 neuron 2 (core 2, local 2) reaches both halves of p0; p2 only the host
    assert m.source_id("p1", 2) == 4 + 10 + 2
    assert m.table[m.source_id("p1", 2)] == ((0, 6), (1, 6))
    assert m.table[m.source_id("p2", 1)] == ((m.host_port, m.host_id("p2", 1)),)
    assert m.host_port == 3 and m.host_id("p2", 1) == 10 + 3 + 1
    assert m.host_neuron(14) == ("p2", 1) and m.core_neuron(2, 4) == ("p2", 1)
    unpacked = map_network(net, neurons_per_core=5, axons_per_core=16, pack=False)
    assert len(unpacked.cores) == 4
    assert all(len(c.segments) == 1 for c in unpacked.cores)


def test_same_source_same_shift_merges_into_one_group():
    net = small_net([2, 2], [("input", "p0", 2), ("input", "p1", 2), ("input", "p1", 2)])
    m = map_network(net, neurons_per_core=4, axons_per_core=8)
    (core,) = m.cores
    # p0 and the first p1 projection share rows; the second p1 projection needs its own
    assert [(g.projections, g.offset) for g in core.groups] == [((0, 1), 0), ((2,), 4)]
    assert m.table[0] == ((0, 0), (0, 4))
    want = np.zeros((8, 4), int)
    want[:4] = 1
    want[4:, 2:] = 1
    assert np.array_equal(core.weights, want)


def test_core_params_of_single_population_core():
    net = small_net([6], [("input", "p0", 1), ("p0", "p0", 0)])
    m = map_network(net, neurons_per_core=4, axons_per_core=16)
    p = m.core_params(1, lanes=2)
    assert (p.neurons, p.lanes, p.axon_shifts) == (3, 2, ((4, 1), (6, 0)))
    assert np.array_equal(p.weights, np.ones((10, 3)))



def test_core_params_of_a_shared_core():
    """Two populations in one core: a neuron parameter set each, in segment order, and the
    plastic group confined to its target's columns; static groups reach every neuron."""
    st = Stdp(a_plus=1, a_minus=1, shift=0, d_pre=0, d_post=0, x_inc=1, y_inc=1, w_min=0,
              w_max=10)
    pops = (Population("a", 2, 11, bias=-3, du=7, dv=9, refractory=1, reset="subtract"),
            Population("b", 3, 22))
    projs = (Projection("input", "a", np.ones((2, 2), int)),
             Projection("input", "b", np.ones((2, 3), int), weight_shift=1, stdp=st))
    m = map_network(Network("two", 2, pops, projs), 8, 16)
    p = m.core_params(0, lanes=2)
    assert [(s.first, s.size, s.threshold, s.bias, s.du, s.dv, s.refractory, s.reset_subtract)
            for s in p.neuron_sets] == [(0, 2, 11, -3, 7, 9, 1, True),
                                        (2, 3, 22, 0, 0, 0, 0, False)]
    assert p.columns == ((0, 5), (2, 5)) and p.stdp == (None, st)
    assert [p.set_of(n) for n in range(5)] == [0, 0, 1, 1, 1]


def test_errors_name_need_and_capacity():
    net = small_net([10, 3], [("input", "p0", 0), ("p0", "p1", 0), ("p1", "p1", 0)])
    with pytest.raises(ValueError, match=r"^Population 'p1' needs 13 axon slots \(p0 10, p1 3\), "
                                         r"more than the 12 of a core$"):
        map_network(net, 8, 12)
    with pytest.raises(ValueError, match=r"^Network 'small' needs 3 cores of 8 neurons x 16 axon "
                                         r"slots, more than the 2 of the build$"):
        map_network(net, 8, 16, max_cores=2)
    m = map_network(net, 8, 16)
    with pytest.raises(ValueError, match=rf"^Network 'small' needs {m.entries} routing table "
                                         rf"entries, more than the 20 of the build$"):
        map_network(net, 8, 16, max_entries=20)
    with pytest.raises(ValueError, match=r"^Neurons per core must be an integer in \[1, 65536\], "
                                         r"not 0$"):
        map_network(net, 0, 16)
    with pytest.raises(TypeError, match=r"^Axons per core must be an integer in \[1, 65536\], "
                                        r"not 2.5$"):
        map_network(net, 8, 2.5)
    with pytest.raises(TypeError, match=r"^Network must be a Network, not 3$"):
        map_network(3)


def test_plastic_projections_get_their_own_axon_group():
    """A plastic projection is never merged with another (its rule and its columns are its
    own); static projections of the same source and shift into other populations merge."""
    st = Stdp(a_plus=1, a_minus=1, shift=0, d_pre=0, d_post=0, x_inc=1, y_inc=1, w_min=0,
              w_max=10)
    pops = (Population("a", 3, 10), Population("b", 2, 10), Population("c", 2, 10))
    projs = (Projection("input", "a", np.ones((2, 3), int), stdp=st),
             Projection("input", "b", np.ones((2, 2), int)),
             Projection("input", "c", np.ones((2, 2), int)))
    m = map_network(Network("pl", 2, pops, projs), 8, 16)
    assert len(m.cores) == 1
    groups = m.cores[0].groups
    assert [(g.source, g.projections, g.stdp) for g in groups] == [
        ("input", (0,), st), ("input", (1, 2), None)]
    assert m.table[0] == ((0, 0), (0, 2)) and m.table[1] == ((0, 1), (0, 3))
    assert "inputx2<<0->a stdp" in m.describe()


def test_packing_respects_the_accumulator_limit():
    """Two populations whose merged worst-case accumulator would exceed 48 bits get their own
    cores even though their neurons and slots would fit together."""
    hw = Hardware(weight_bits=16)
    pops = [Population("a", 1, 10), Population("b", 1, 10)]
    projs = [Projection("input", "a", np.ones((200, 1), int), weight_shift=24),
             Projection("input", "b", np.ones((200, 1), int), weight_shift=23)]
    net = Network("wide", 200, pops, projs, hw)
    assert (net.accumulator_bits("a"), net.accumulator_bits("b")) == (48, 47)
    m = map_network(net, 4, 400)
    assert len(m.cores) == 2
    narrow = Network("narrow", 200, pops, [Projection("input", p.target, p.weights,
                                                      weight_shift=20) for p in projs], hw)
    assert len(map_network(narrow, 4, 400).cores) == 1
    assert all(c.acc_bits <= 48 for c in m.cores)


def test_describe_names_cores_slots_entries_and_memory():
    net = small_net([10, 3, 2], [("input", "p0", 0), ("p0", "p1", 0), ("p0", "p2", 0)],
                    outputs=("p2",))
    text = map_network(net, 5, 16, max_cores=8).describe()
    lines = text.splitlines()
    assert len(lines) == 3 + 3
    assert lines[0] == ("mapping: 3 of 8 cores of 5 neurons x 16 axon slots; 19 sources, "
                        "20 table entries (max fan-out 2)")
    # 4 slots x 5 neurons x 8-bit weights; 16 x 5 state bits
    assert lines[1].startswith("  core 0: 5/5 neurons (p0[0:5]); 4/16 axon slots "
                               "(inputx4<<0->p0); acc ")
    assert "weights 160," in lines[1] and "state 200)" in lines[1]
    assert lines[3].startswith("  core 2: 5/5 neurons (p1[0:3], p2[0:2]); 10/16 axon slots "
                               "(p0x10<<0->p1+p2); ")
    assert lines[-2].startswith("  router: 19 pointer words, 20 destination entries; memory ")
    assert lines[-1].startswith("  total memory ")


@pytest.mark.slow
def test_mapped_networks_match_golden_long():
    """A long run (2,000 steps) of a split, packed, recurrent network."""
    for seed in (7, 19):
        net = random_multicore_network(seed)
        m = map_network(net, *random_capacity(seed, net))
        check_against_golden(m, random_inputs(seed, net, 2000, rate=0.3), seed)


def test_outputs_option_names_the_host_populations():
    net = small_net([3, 2], [("input", "p0", 0), ("p0", "p1", 0)], outputs=("p1",))
    m = map_network(net)
    assert m.outputs == ("p1",)
    hosts = lambda m: sorted(i for d in m.table for q, i in d if q == m.host_port)  # noqa: E731
    assert hosts(m) == [3, 4]
    every = map_network(net, outputs=["p0", "p1"])
    assert every.outputs == ("p0", "p1") and hosts(every) == [0, 1, 2, 3, 4]
    assert map_network(net, outputs=[]).entries == m.entries - 2
    with pytest.raises(ValueError, match=r"^Output population must be one of p0, p1, not 'p9'$"):
        map_network(net, outputs=["p9"])


def test_core_with_no_projection_gets_one_dummy_slot():
    net = small_net([3, 2], [("p0", "p1", 0)])
    m = map_network(net, pack=False)
    p = m.core_params(0)
    assert m.cores[0].axons == 0
    assert p.axon_shifts == ((1, 0),) and not p.weights.any() and p.neurons == 3
    assert all(q != 0 for d in m.table for q, _ in d)       # no entry names core 0
