"""Shape of the spike router: its sizes, its table as words, the words of its ports.

Pure Python: the router (``spikefab.hdl.router``) is generated from :class:`RouterParams`, the
host writes the table with the same word formats. See ``docs/router.md``.
"""

from dataclasses import dataclass, field

from spikefab.errors import InvalidType, InvalidValue
from spikefab.golden.params import check_int as _check_int

from .fields import Fields, uint_bits as _bits
from .latency import QUEUE_LATENCY, ROUTE_LATENCY
from .mapping import Mapping

__all__ = ["RouterParams", "ptr_fields", "dst_fields", "host_event_fields", "router_cfg_fields",
           "TableSpace", "ROUTE_LATENCY", "QUEUE_LATENCY"]

@dataclass(frozen=True, eq=False)
class RouterParams:
    """Generation-time shape of the router, and the reset contents of its table.

    Use :meth:`from_mapping`; the constructor is for tests that build a router directly.

    Parameters
    ----------
    inputs : int
        Host input channels, in ``[0, 65536]``: source ids ``0 .. inputs - 1``.
    core_neurons : tuple of int
        Neurons of each core, each in ``[1, 65536]``; core ``c``'s neuron ``n`` is source id
        ``inputs + sum(core_neurons[:c]) + n``. The number of cores is ``len(core_neurons)``,
        in ``[1, 255]``.
    entries : int
        Depth of the destination list, in ``[1, 2**24]``.
    index_bits : int
        Width of a destination's index (axon slot or host id), in ``[1, 24]``.
    step_bits : int
        Width of the step tag of host output events, in ``[1, 32]``.
    queue_depth : int
        Depth of the spike queue; at least the number of core neurons (every neuron spikes at
        most once per step), so that the queue can take a whole step's spikes while the
        destination cores still run their update. Default: that number.
    pointers : list of (int, int)
        Initial ``(base, count)`` of every source id (default: no destination).
    destinations : list of (int, int)
        Initial ``(port, index)`` entries (default: zeros).
    """

    inputs: int
    core_neurons: tuple
    entries: int
    index_bits: int
    step_bits: int = 16
    queue_depth: int = 0
    pointers: list = field(default=None, repr=False)
    destinations: list = field(default=None, repr=False)

    def __post_init__(self):
        _check_int(self.inputs, 0, 1 << 16, "Router inputs")
        if not isinstance(self.core_neurons, (tuple, list)):
            raise InvalidType(f"Router core_neurons must be a tuple of integers, not "
                              f"{self.core_neurons!r}")
        object.__setattr__(self, "core_neurons", tuple(self.core_neurons))
        _check_int(len(self.core_neurons), 1, 255, "Router cores")
        for n in self.core_neurons:
            _check_int(n, 1, 1 << 16, "Router core neurons")
        _check_int(self.entries, 1, 1 << 24, "Router entries")
        _check_int(self.index_bits, 1, 24, "Router index_bits")
        _check_int(self.step_bits, 1, 32, "Router step_bits")
        spikes = sum(self.core_neurons)
        if self.queue_depth == 0:
            object.__setattr__(self, "queue_depth", spikes)
        _check_int(self.queue_depth, spikes, 1 << 20, "Router queue_depth")
        ptrs = self.pointers
        if ptrs is None:
            ptrs = [(0, 0)] * self.sources
        ptrs = tuple((int(b), int(n)) for b, n in ptrs)
        if len(ptrs) != self.sources:
            raise InvalidValue(f"Router pointers must have one (base, count) per source, "
                               f"{self.sources}, not {len(ptrs)}")
        for s, (b, n) in enumerate(ptrs):
            if n and not (0 <= b and b + n <= self.entries):
                raise InvalidValue(f"Router pointer of source {s} must lie in [0, "
                                   f"{self.entries}), not [{b}, {b + n})")
        dsts = self.destinations
        if dsts is None:
            dsts = []
        dsts = tuple((int(p), int(i)) for p, i in dsts)
        if len(dsts) > self.entries:
            raise InvalidValue(f"Router destinations must be at most {self.entries}, "
                               f"not {len(dsts)}")
        for p, i in dsts:
            _check_int(p, 0, self.cores, "Router destination port")
            _check_int(i, 0, (1 << self.index_bits) - 1, "Router destination index")
        object.__setattr__(self, "pointers", ptrs)
        object.__setattr__(self, "destinations", dsts)

    @classmethod
    def from_mapping(cls, mapping, entries=None, step_bits=16, queue_depth=0):
        """The router of ``mapping`` (:func:`spikefab.shape.mapping.map_network`), with its
        table as the reset contents. ``entries`` (default: the mapping's ``max_entries``, or
        the table's size) sets the depth of the destination list."""
        if not isinstance(mapping, Mapping):
            raise InvalidType(f"Mapping must be a Mapping, not {mapping!r}")
        if entries is None:
            entries = mapping.max_entries or max(1, mapping.entries)
        return cls(inputs=mapping.net.inputs,
                   core_neurons=tuple(c.neurons for c in mapping.cores),
                   entries=entries, index_bits=mapping.index_bits, step_bits=step_bits,
                   queue_depth=queue_depth, pointers=mapping.pointer_words(),
                   destinations=mapping.destination_words())

    # -- derived ------------------------------------------------------------------------

    @property
    def cores(self):
        return len(self.core_neurons)

    @property
    def sources(self):
        return self.inputs + sum(self.core_neurons)

    @property
    def core_base(self):
        """Source id of neuron 0 of each core."""
        out, b = [], self.inputs
        for n in self.core_neurons:
            out.append(b)
            b += n
        return tuple(out)

    @property
    def source_bits(self):
        return _bits(self.sources - 1)

    @property
    def neuron_bits(self):
        """Width of ``i_spike`` payloads: the largest core's neuron ids."""
        return _bits(max(self.core_neurons) - 1)

    @property
    def channel_bits(self):
        return _bits(max(self.inputs, 1) - 1)

    def memory_bits(self):
        """Bits of the memories the router infers."""
        return {"pointers": self.sources * ptr_fields(self).size,
                "destinations": self.entries * dst_fields(self).size,
                "queue": self.queue_depth * self.source_bits}


def ptr_fields(p):
    """A pointer-table word: the first destination entry of a source and how many it has."""
    return Fields({"base": _bits(p.entries - 1), "count": _bits(p.entries)})


def dst_fields(p):
    """A destination entry: ``port`` (a core, or ``cores`` for the host) and ``index`` (axon
    slot of that core, or host id)."""
    return Fields({"port": _bits(p.cores), "index": p.index_bits})


def host_event_fields(p):
    """A host output event: a host id and the step in which that neuron spiked."""
    return Fields({"neuron": p.index_bits, "step": p.step_bits})


class TableSpace:
    """Address spaces of :func:`router_cfg_fields`."""
    #: Pointer table: address a source id, data a :func:`ptr_fields` word.
    POINTER = 0
    #: Destination list: address an entry, data a :func:`dst_fields` word.
    DESTINATION = 1


def router_cfg_fields(p):
    """A table write: space (:class:`TableSpace`), address, data (the low bits of ``data``
    hold the word of the space)."""
    return Fields({
        "space": 1,
        "addr": max(p.source_bits, _bits(p.entries - 1)),
        "data": max(ptr_fields(p).size, dst_fields(p).size)})
