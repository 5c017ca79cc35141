"""Mapping of a validated network onto neuron cores and the spike router's table.

Pure Python and NumPy (no Amaranth): ``spikefab check`` prints it, the router (``router.py``)
and the network top are generated from it, and the tests replay it against the golden model.

The terms are those of ``docs/router.md``:

* A **core** holds at most ``neurons_per_core`` neurons and ``axons_per_core`` axon slots. Its
  neurons are one or more **segments**: contiguous slices of populations. A population larger
  than a core is split into ``ceil(size / neurons_per_core)`` slices of near-equal size (so
  that the cores of a split population finish their update sweeps together); slices of
  different populations share a core when they fit (first fit, largest slice first).
* An **axon slot** is one row of a core's weight memory: the synapses of one source neuron (or
  input channel) onto the core's neurons. Slots come in **axon groups**: the ``S`` rows of one
  source (``"input"`` or a population) with one ``weight_shift``. A group serves one
  projection, or several projections from the same source with the same shift into different
  populations of the core (their columns do not overlap, so one row holds all of them). Every
  row of a source gets a slot, zero or not, because weights are rewritable at run time.
* A **source id** numbers every spike source of the network: the input channels first
  (``0 .. inputs - 1``), then the neurons of core 0, core 1, ... in local order
  (:meth:`Mapping.source_id`). The **routing table** lists, for every source id, its
  destinations: ``(core, axon slot)`` pairs and, for neurons of output populations, one
  ``(host_port, host id)`` entry, where the host id numbers the network's neurons in
  population order (:meth:`Mapping.host_id`). The router's memories hold it as a pointer
  table (one ``(base, count)`` word per source id) and a destination list (one ``(port,
  index)`` word per entry, the entries of a source contiguous).

A plastic projection (STDP, ``docs/spec.md`` section 4) gets an axon group of its own, never
merged with another projection's: its learning rule is the group's, and the core's STDP
hardware updates exactly the columns of that group's target population. Every core that holds
a slice of the target keeps its own copy of the pre traces of the group's source; the copies
see the same delivered spikes, so they stay equal.
"""

from dataclasses import dataclass

import numpy as np

from spikefab.errors import InvalidType, InvalidValue
from spikefab.golden.fixed import signed_max
from spikefab.golden.params import MAX_SIZE, Network
from spikefab.golden.params import check_int as _check_int

from .fields import uint_bits as _bits
from .placement import (axon_groups, fits, order_bins, pack_slices, slice_populations,
                        worst_acc)

__all__ = ["Segment", "AxonGroup", "MappedCore", "Mapping", "map_network"]


@dataclass(frozen=True)
class Segment:
    """A slice of a population placed in a core.

    Attributes
    ----------
    population : str
    start : int
        Index, in the population, of the slice's first neuron.
    size : int
    offset : int
        Local index, in the core, of the slice's first neuron.
    """

    population: str
    start: int
    size: int
    offset: int


@dataclass(frozen=True)
class AxonGroup:
    """``size`` consecutive axon slots of a core: the rows of one source with one shift.

    Attributes
    ----------
    source : str
        ``"input"`` or a population name; row ``j`` of the source is slot ``offset + j``.
    shift : int
        ``weight_shift`` of every projection the group serves.
    projections : tuple of int
        Indices of the projections whose columns this group holds (their targets differ).
    offset, size : int
    stdp : Stdp or None
        The learning rule of the group's one plastic projection, or None for a static group.
    """

    source: str
    shift: int
    projections: tuple
    offset: int
    size: int
    stdp: object = None


@dataclass(frozen=True, eq=False)
class MappedCore:
    """One core of a mapping.

    Attributes
    ----------
    index : int
    segments : tuple of Segment
        In local neuron order.
    groups : tuple of AxonGroup
        In axon slot order.
    weights : numpy.ndarray of int64, (axons, neurons), read-only
        Initial weight memory: ``weights[slot][local neuron]``; zero where no projection of the
        slot's group targets the neuron's population.
    acc_bits : int
        Width of the exact accumulator that covers the worst case of this core's groups (every
        slot at the largest weight), as ``CoreParams`` sizes it.
    """

    index: int
    segments: tuple
    groups: tuple
    weights: np.ndarray
    acc_bits: int

    @property
    def neurons(self):
        return sum(s.size for s in self.segments)

    @property
    def axons(self):
        return sum(g.size for g in self.groups)

    @property
    def axon_shifts(self):
        """``(size, shift)`` per axon group, as ``CoreParams.axon_shifts`` takes them."""
        return tuple((g.size, g.shift) for g in self.groups)

    def memory_bits(self, hw, theta_bits=0):
        """Bits of the core's memories (lanes = 1): weights, accumulators, neuron state (with
        ``theta_bits`` of adaptive threshold offset per neuron when one of its populations has
        one: every state word of the core holds it)."""
        return {
            "weights": self.axons * self.neurons * hw.weight_bits,
            "accumulators": self.neurons * self.acc_bits,
            "state": self.neurons * (hw.current_bits + hw.voltage_bits + hw.refractory_bits
                                     + theta_bits),
        }


class Mapping:
    """A network placed on cores, with its routing table. Build it with :func:`map_network`.

    Attributes
    ----------
    net : Network
    neurons_per_core, axons_per_core : int
        Capacity of one core.
    max_cores, max_entries : int or None
        Capacity of the build (None: as many as needed).
    pack : bool or str
        The packing policy the mapping was made with (:func:`map_network`).
    cores : tuple of MappedCore
    outputs : tuple of str
        Populations whose spikes go to the host, in network order.
    table : tuple of tuple of (int, int)
        ``table[source id]``: the destinations ``(port, index)`` of that source; ``port`` is a
        core index, or :attr:`host_port` with ``index`` the host id of an output neuron.
    """

    def __init__(self, net, neurons_per_core, axons_per_core, max_cores, max_entries, cores,
                 outputs=None, pack=True):
        self.net = net
        self.pack = pack
        self.outputs = tuple(p.name for p in net.populations
                             if (p.output if outputs is None else p.name in outputs))
        self.neurons_per_core = neurons_per_core
        self.axons_per_core = axons_per_core
        self.max_cores = max_cores
        self.max_entries = max_entries
        self.cores = tuple(cores)
        self._locate = {}        # (population, index) -> (core, local neuron)
        for core in self.cores:
            for seg in core.segments:
                for i in range(seg.size):
                    self._locate[(seg.population, seg.start + i)] = (core.index, seg.offset + i)
        self.core_base = []
        base = net.inputs
        for core in self.cores:
            self.core_base.append(base)
            base += core.neurons
        self.core_base = tuple(self.core_base)
        self._host_base, hb = {}, 0
        for pop in net.populations:
            self._host_base[pop.name] = hb
            hb += pop.size
        self.table = tuple(self._build_table())

    # -- numbering ----------------------------------------------------------------------

    @property
    def host_port(self):
        """Port number of the host output in the table: the number of cores."""
        return len(self.cores)

    @property
    def sources(self):
        """Number of source ids: input channels plus every neuron of every core."""
        return self.net.inputs + sum(c.neurons for c in self.cores)

    def locate(self, population, index):
        """``(core, local neuron)`` of neuron ``index`` of ``population``."""
        return self._locate[(population, int(index))]

    def source_id(self, source, index):
        """Source id of input channel ``index`` (``source == "input"``) or of a neuron."""
        if source == "input":
            return int(index)
        core, local = self.locate(source, index)
        return self.core_base[core] + local

    def host_id(self, population, index):
        """Host id of a neuron: its index in the network's neurons in population order."""
        return self._host_base[population] + int(index)

    def host_neuron(self, host_id):
        """``(population, index)`` of a host id."""
        for pop in reversed(self.net.populations):
            if host_id >= self._host_base[pop.name]:
                return pop.name, host_id - self._host_base[pop.name]
        raise KeyError(host_id)

    def core_neuron(self, core, local):
        """``(population, index)`` of local neuron ``local`` of core ``core``."""
        for seg in self.cores[core].segments:
            if seg.offset <= local < seg.offset + seg.size:
                return seg.population, seg.start + local - seg.offset
        raise KeyError((core, local))

    # -- routing table ------------------------------------------------------------------

    def _build_table(self):
        net = self.net
        by_source = {}           # source name -> [(core, group offset)]
        for core in self.cores:
            for g in core.groups:
                by_source.setdefault(g.source, []).append((core.index, g.offset))
        outputs = set(self.outputs)
        for j in range(net.inputs):
            yield tuple((c, off + j) for c, off in by_source.get("input", ()))
        for core in self.cores:
            for local in range(core.neurons):
                pop, i = self.core_neuron(core.index, local)
                dest = [(c, off + i) for c, off in by_source.get(pop, ())]
                if pop in outputs:
                    dest.append((self.host_port, self.host_id(pop, i)))
                yield tuple(dest)

    @property
    def entries(self):
        """Destination entries of the routing table (all sources)."""
        return sum(len(d) for d in self.table)

    @property
    def max_fanout(self):
        return max((len(d) for d in self.table), default=0)

    def pointer_words(self):
        """The pointer table: ``(base, count)`` per source id into :meth:`destination_words`."""
        out, base = [], 0
        for dest in self.table:
            out.append((base, len(dest)))
            base += len(dest)
        return out

    def destination_words(self):
        """The destination list: ``(port, index)`` per entry, the entries of a source together."""
        return [d for dest in self.table for d in dest]

    @property
    def index_bits(self):
        """Width of a destination's index: the widest axon slot id or host id."""
        hosts = self.net.neurons - 1 if self.outputs else 0
        return _bits(max([hosts] + [c.axons - 1 for c in self.cores]))

    def router_memory_bits(self):
        """Bits of the router's table memories (pointer table and destination list)."""
        entries = max(self.entries, 1)
        ptr = self.sources * (_bits(entries - 1) + _bits(self.max_fanout))
        dst = entries * (_bits(self.host_port) + self.index_bits)
        return {"pointers": ptr, "destinations": dst}

    # -- cores as the neuron core takes them --------------------------------------------

    def core_params(self, core, lanes=1):
        """The ``CoreParams`` of core ``core`` (``spikefab.shape.core``).

        A core that holds several populations gets one neuron parameter set per segment
        (``CoreParams.neuron_sets``), and each plastic group the columns of its target's
        segment (``CoreParams.columns``), so that its STDP never touches the other
        populations' synapses.
        """
        from .core import CoreParams, NeuronSet
        c = self.cores[core]
        net, hw = self.net, self.net.hardware
        sets = []
        for seg in c.segments:
            pop = net.population(seg.population)
            sets.append(NeuronSet(seg.offset, seg.size, pop.threshold, pop.bias, pop.du,
                                  pop.dv, pop.refractory, pop.reset == "subtract",
                                  pop.theta_bits, pop.theta_inc, pop.theta_decay))
        shifts, weights, acc = c.axon_shifts, c.weights, c.acc_bits
        rules = tuple(g.stdp for g in c.groups)
        cols = []
        for g in c.groups:
            target = net.projections[g.projections[0]].target
            seg = next(s for s in c.segments if s.population == target)
            cols.append((seg.offset, seg.offset + seg.size) if g.stdp is not None
                        else (0, c.neurons))
        if not shifts:
            # nothing projects into the core: one dummy slot of zero weights, which no table
            # entry names (the neuron core has at least one axon slot)
            shifts, weights, acc = ((1, 0),), np.zeros((1, c.neurons), np.int64), 0
            rules, cols = (), [(0, c.neurons)]
        return CoreParams(
            neurons=c.neurons, lanes=lanes, axon_shifts=shifts,
            current_bits=hw.current_bits, voltage_bits=hw.voltage_bits,
            weight_bits=hw.weight_bits, refractory_bits=hw.refractory_bits,
            acc_bits=acc, weights=weights, trace_bits=hw.trace_bits, stdp=rules,
            neuron_sets=tuple(sets), columns=tuple(cols))

    # -- report -------------------------------------------------------------------------

    def describe(self):
        """The mapping as text, for ``spikefab check``: cores, axon slots, table, memory."""
        net, hw = self.net, self.net.hardware
        cap = "" if self.max_cores is None else f" of {self.max_cores}"
        lines = [f"mapping: {len(self.cores)}{cap} cores of {self.neurons_per_core} neurons x "
                 f"{self.axons_per_core} axon slots; {self.sources} sources, "
                 f"{self.entries} table entries (max fan-out {self.max_fanout})"]
        total = 0
        for c in self.cores:
            segs = ", ".join(f"{s.population}[{s.start}:{s.start + s.size}]"
                             for s in c.segments)
            groups = ", ".join(
                f"{g.source}x{g.size}<<{g.shift}->"
                + "+".join(net.projections[k].target for k in g.projections)
                + (" stdp" if g.stdp is not None else "")
                for g in c.groups) or "none"
            mem = c.memory_bits(hw, max(net.population(s.population).theta_bits
                                        for s in c.segments))
            bits = sum(mem.values())
            total += bits
            lines.append(f"  core {c.index}: {c.neurons}/{self.neurons_per_core} neurons "
                         f"({segs}); {c.axons}/{self.axons_per_core} axon slots ({groups}); "
                         f"acc {c.acc_bits} b; memory {bits} b (weights {mem['weights']}, "
                         f"accumulators {mem['accumulators']}, state {mem['state']})")
        rmem = self.router_memory_bits()
        rbits = sum(rmem.values())
        cap = "" if self.max_entries is None else f" of {self.max_entries}"
        lines.append(f"  router: {self.sources} pointer words, {self.entries}{cap} destination "
                     f"entries; memory {rbits} b (pointers {rmem['pointers']}, destinations "
                     f"{rmem['destinations']})")
        lines.append(f"  total memory {total + rbits} b")
        return "\n".join(lines)


def map_network(net, neurons_per_core=256, axons_per_core=256, max_cores=None,
                max_entries=None, pack=True, outputs=None):
    """Place ``net`` on cores and build its routing table.

    Parameters
    ----------
    net : Network
    neurons_per_core, axons_per_core : int
        Capacity of one core, in ``[1, 65536]``.
    max_cores : int or None
        Cores that the build has; None for as many as the network needs.
    max_entries : int or None
        Destination entries that the router's table holds; None for as many as needed.
    pack : bool or str
        Let slices of different populations share a core whenever they fit (True), give
        every population its own cores (False), or let only small slices join a core
        (``"small"``: at most a quarter of the neurons already in it, so that the rows every
        axon event costs grow by at most a quarter; a one-neuron population rides along with
        a large one, two equal populations keep their own cores). A shared core has one
        neuron parameter set per population (:meth:`Mapping.core_params`).
    outputs : iterable of str or None
        Populations whose spikes the table sends to the host; None for those marked
        ``output`` (RTL simulation names every population, to observe every spike).

    Returns
    -------
    Mapping

    Raises
    ------
    ValueError
        If the network does not fit: the message names what does not fit, what it needs and
        what is available.
    """
    n_cap, a_cap, max_cores, max_entries, outputs = _check_capacity(
        net, neurons_per_core, axons_per_core, max_cores, max_entries, pack, outputs)
    bins = pack_slices(slice_populations(net, n_cap), net, n_cap, a_cap, pack)
    if max_cores is not None and len(bins) > max_cores:
        raise InvalidValue(f"Network {net.name!r} needs {len(bins)} cores of {n_cap} neurons x "
                           f"{a_cap} axon slots, more than the {max_cores} of the build")
    cores = [_build_core(c, b, net, a_cap) for c, b in enumerate(order_bins(bins, net))]
    m = Mapping(net, n_cap, a_cap, max_cores, max_entries, cores, outputs, pack)
    if max_entries is not None and m.entries > max_entries:
        raise InvalidValue(f"Network {net.name!r} needs {m.entries} routing table entries, more "
                           f"than the {max_entries} of the build")
    return m


def _check_capacity(net, neurons_per_core, axons_per_core, max_cores, max_entries, pack,
                    outputs):
    """The arguments of :func:`map_network`, validated: ``(neurons_per_core,
    axons_per_core, max_cores, max_entries, outputs)``. Also checks that every population
    fits a core's axon slots on its own."""
    if not isinstance(net, Network):
        raise InvalidType(f"Network must be a Network, not {net!r}")
    n_cap = _check_int(neurons_per_core, 1, MAX_SIZE, "Neurons per core")
    a_cap = _check_int(axons_per_core, 1, MAX_SIZE, "Axons per core")
    if max_cores is not None:
        max_cores = _check_int(max_cores, 1, 4096, "Max cores")
    if max_entries is not None:
        max_entries = _check_int(max_entries, 1, 1 << 24, "Max table entries")
    if not (isinstance(pack, (bool, np.bool_)) or pack == "small"):
        raise InvalidType(f"Pack must be true, false or 'small', not {pack!r}")
    if outputs is not None:
        outputs = tuple(outputs)
        names = {p.name for p in net.populations}
        for name in outputs:
            if name not in names:
                raise InvalidValue(f"Output population must be one of {', '.join(sorted(names))}"
                                   f", not {name!r}")
    # a population must fit a core's axon slots on its own (its accumulator width was
    # checked by Network; groups of one population never merge, so it is the same here)
    for pop in net.populations:
        groups = axon_groups(net, {pop.name})
        need = sum(net.source_size(src) for src, _, _ in groups)
        if need > a_cap:
            parts = ", ".join(f"{src} {net.source_size(src)}" for src, _, _ in groups)
            raise InvalidValue(f"Population {pop.name!r} needs {need} axon slots ({parts}), "
                               f"more than the {a_cap} of a core")
    return n_cap, a_cap, max_cores, max_entries, outputs


def _build_core(index, slices, net, a_cap):
    """The :class:`MappedCore` that holds ``slices`` (in local order): its segments, its
    axon groups and their initial weights."""
    segs, off = [], 0
    for pop, start, size in slices:
        segs.append(Segment(pop, start, size, off))
        off += size
    groups, a = [], 0
    for src, shift, members in fits(slices, a_cap, net):
        size = net.source_size(src)
        rule = net.projections[members[0]].stdp
        groups.append(AxonGroup(src, shift, tuple(members), a, size, rule))
        a += size
    w = np.zeros((a, off), np.int64)
    for g in groups:
        for k in g.projections:
            proj = net.projections[k]
            for s in segs:
                if s.population == proj.target:
                    w[g.offset:g.offset + g.size, s.offset:s.offset + s.size] = \
                        proj.weights[:, s.start:s.start + s.size]
    w.flags.writeable = False
    acc = worst_acc([(g.size, g.shift) for g in groups], signed_max(net.hardware.weight_bits))
    return MappedCore(index, tuple(segs), tuple(groups), w, acc)
