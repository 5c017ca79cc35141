"""Shape of a whole network on the chip: its cores, its router, and the one function that
derives them from a validated network (:func:`derive`).

Pure Python (no Amaranth). The Verilog generator, the board flow, the simulated board and the
host all call :func:`derive`, so a network maps onto the same cores, routes and memories
everywhere. :func:`shape_json` is what two builds must share to be the same hardware: the
shape without the run-time values (weights, neuron and learning parameters), which the host
writes through the configuration port; the build caches and the link's build hash key on it.
"""

import json
from dataclasses import dataclass

from spikefab.errors import InvalidType, InvalidValue
from spikefab.golden.params import Network

from .cfg import Space, cfg_data_bits, cfg_fields, param_map
from .core import check_weight_ram
from .fields import Fields, uint_bits as _bits
from .latency import CYCLES_BITS, QUEUE_LATENCY, ROUTE_LATENCY, UPDATE_LATENCY
from .mapping import Mapping, map_network
from .router import RouterParams, TableSpace, host_event_fields, router_cfg_fields

__all__ = ["DEFAULT_BUILD", "NetworkParams", "NetworkShape", "input_fields",
           "network_cfg_fields", "derive", "params_json", "shape_json"]

#: The default build's capacity: 4 cores of 256 neurons x 256 axon slots, and a routing table
#: of ``cores * (axons + neurons)`` entries, the most that any network mapped onto those cores
#: can need (every axon slot is fed by exactly one source row; every neuron has at most one
#: host entry), so that the table never limits what fits.
DEFAULT_BUILD = {"neurons_per_core": 256, "axons_per_core": 256, "max_cores": 4,
                 "max_entries": 4 * (256 + 256)}



@dataclass(frozen=True, eq=False)
class NetworkParams:
    """Generation-time shape of a network top: a mapping, the cores' and the router's params.

    Use :meth:`from_mapping`.

    Attributes
    ----------
    mapping : Mapping or None
        The mapping the top was derived from (None for a top made from a
        :class:`NetworkShape`, which describes no particular network).
    lanes : int
    cores : tuple of CoreParams
        One per mapped core (:meth:`Mapping.core_params`).
    router : RouterParams
    weight_rams : tuple of str
        The weight memory kind of every core (``"dual"`` unless a board chose otherwise).
    delay_ram : bool
        Every core's pure pipeline delays in block RAM (``Core(..., delay_ram=True)``: what
        the iCE40 boards build, where a delay register costs a logic cell).
    layout : dict or None
        Of a top made from a shape: where its mapping put the neurons (``NetworkShape``).
    rate_bits : int
        The link's on-chip rate generator (``Hardware.rate_bits``; 0: none,
        :mod:`spikefab.shape.rates`).
    """

    mapping: "Mapping | None"
    lanes: int
    cores: tuple
    router: RouterParams
    weight_rams: tuple = ()
    delay_ram: bool = False
    layout: dict = None
    rate_bits: int = 0

    def __post_init__(self):
        object.__setattr__(self, "delay_ram", bool(self.delay_ram))
        rams = self.weight_rams
        if isinstance(rams, str) or not rams:
            rams = (rams or "dual",) * len(self.cores)
        rams = tuple(rams)
        if len(rams) != len(self.cores):
            raise InvalidValue(f"Weight RAMs must name one kind per core, {len(self.cores)}, "
                               f"not {len(rams)}")
        for cp, kind in zip(self.cores, rams):
            check_weight_ram(kind, cp.lanes * cp.weight_bits, cp.weight_slots, cp.plastic)
        object.__setattr__(self, "weight_rams", rams)
        if self.rate_bits:
            from .rates import check_rates
            check_rates(self.router.inputs, self.rate_bits)

    @classmethod
    def from_mapping(cls, mapping, lanes=1, step_bits=16, entries=None, weight_rams=None,
                     delay_ram=False):
        """The top of ``mapping``.

        Parameters
        ----------
        mapping : Mapping
            A core that holds several populations gets one neuron parameter set for each
            (:meth:`Mapping.core_params`).
        lanes : int
            Neurons per clock of every core.
        step_bits : int
            Width of the step counter and of the step tag of host output events (wraps).
        entries : int or None
            Depth of the router's destination list (default: the mapping's ``max_entries``, or
            the table's size).
        weight_rams : str, tuple of str, callable or None
            Weight memory kind of every core (:data:`~spikefab.shape.core.WEIGHT_RAMS`), or
            one kind for all; default ``"dual"`` (inferred block RAM). A board puts its
            largest cores in UP5K SPRAM with ``"ice40_spram"``.
        delay_ram : bool
            Pure pipeline delays in block RAM (the iCE40 boards).
        """
        if not isinstance(mapping, Mapping):
            raise InvalidType(f"Mapping must be a Mapping, not {mapping!r}")
        cores = tuple(mapping.core_params(c, lanes) for c in range(len(mapping.cores)))
        router = RouterParams.from_mapping(mapping, entries=entries, step_bits=step_bits)
        if callable(weight_rams):
            weight_rams = weight_rams(cores)
        return cls(mapping, lanes, cores, router, weight_rams, delay_ram,
                   rate_bits=mapping.net.hardware.rate_bits)

    @property
    def shape(self):
        """The :class:`NetworkShape` of this top: its run-time values left out."""
        layout = self.layout if self.mapping is None else _layout_json(self.mapping)
        return NetworkShape(tuple(c.shape for c in self.cores), self.router, self.lanes,
                            self.weight_rams, self.delay_ram, layout, self.rate_bits)

    @property
    def inputs(self):
        """Input channels of the network."""
        return self.router.inputs

    @property
    def step_bits(self):
        return self.router.step_bits

    @property
    def cfg_addr_bits(self):
        rl = router_cfg_fields(self.router)
        return max([rl["addr"].width] + [cfg_fields(p)["addr"].width for p in self.cores])

    @property
    def cfg_data_bits(self):
        rl = router_cfg_fields(self.router)
        return max([rl["data"].width] + [cfg_data_bits(p) for p in self.cores])

    @property
    def rdata_bits(self):
        return max(cfg_data_bits(p) for p in self.cores)

    @property
    def router_target(self):
        """``target`` of a configuration command that writes the router's table."""
        return len(self.cores)


def input_fields(p):
    """A host input word: an input channel of the step being sent, or (``end = 1``, channel
    ignored) the end of that step's inputs."""
    return Fields({"channel": p.router.channel_bits, "end": 1})


def network_cfg_fields(p):
    """A configuration command of the top: ``target`` a core (its ``write, space, addr,
    data`` as :func:`~spikefab.shape.cfg.cfg_fields`), or :attr:`NetworkParams.router_target`
    for a write of the router's table (``space`` a :class:`~spikefab.shape.router.TableSpace`,
    ``write`` ignored: the table is write-only)."""
    space_bits = max([2] + [cfg_fields(c)["space"].width for c in p.cores])
    return Fields({"write": 1, "space": space_bits, "addr": p.cfg_addr_bits,
                   "data": p.cfg_data_bits, "target": _bits(len(p.cores))})


def derive(net, lanes=1, neurons_per_core=256, axons_per_core=256, max_cores=None,
           max_entries=None, step_bits=16, outputs=None, weight_ram="dual", pack="small",
           delay_ram=False, entries=None):
    """Map ``net`` onto cores and return the :class:`NetworkParams` of its top.

    ``pack`` (:func:`~spikefab.shape.mapping.map_network`): by default (``"small"``) a small
    population rides along in a larger one's core (a neuron parameter set each; the rows
    every axon event costs grow by at most a quarter); ``True`` packs whenever the
    populations fit (fewest cores, but an event into a shared core costs all its rows);
    ``False`` gives every population its own cores. ``weight_ram`` is the weight memory kind
    of every core, a tuple with one per core, or a policy: a function of the tuple of
    :class:`~spikefab.shape.core.CoreParams` that returns that tuple (a board's choice of
    SPRAM or banked memories by core size); ``delay_ram`` puts every core's pure pipeline
    delays in block RAM (what the iCE40 boards build); ``entries`` sets the depth of the
    router's destination list (:meth:`NetworkParams.from_mapping`).

    This is the one place where a network's hardware shape is derived: the Verilog
    generator, the board flow, the simulated board and the host all call it.

    Raises
    ------
    ValueError
        If the network does not fit (the message names what does not fit).
    """
    if not isinstance(net, Network):
        raise InvalidType(f"Network must be a Network, not {net!r}")
    if net.hardware.rate_bits:
        from .rates import check_rates
        check_rates(net.inputs, net.hardware.rate_bits)
    m = map_network(net, neurons_per_core, axons_per_core, max_cores, max_entries, pack=pack,
                    outputs=outputs)
    return NetworkParams.from_mapping(m, lanes=lanes, step_bits=step_bits, entries=entries,
                                      weight_rams=weight_ram, delay_ram=delay_ram)


def _layout_json(m):
    """Where a mapping put the network: per core its segments and axon groups, the output
    populations, the first host id of each population, the capacity (all shape)."""
    return {
        "cores": [{"segments": [{"population": s.population, "start": s.start, "size": s.size,
                                 "offset": s.offset} for s in mc.segments],
                   "groups": [{"source": g.source, "shift": g.shift, "offset": g.offset,
                               "size": g.size, "projections": list(g.projections)}
                              for g in mc.groups]}
                  for mc in m.cores],
        "outputs": list(m.outputs),
        "host_ids": {q.name: m.host_id(q.name, 0) for q in m.net.populations},
        "capacity": {"neurons_per_core": m.neurons_per_core,
                     "axons_per_core": m.axons_per_core, "max_cores": m.max_cores,
                     "max_entries": m.max_entries},
    }


def _top_json(p, cores, layout):
    """The parts of ``params.json`` that a network top's shape fixes, with ``cores`` (one
    dict per core) and ``layout`` (:func:`_layout_json`)."""
    for info, ram, where in zip(cores, p.weight_rams, layout["cores"]):
        info.update(weight_ram=ram, **where)
    rp = p.router
    rates = {}
    if p.rate_bits:                      # written only when built: no generator, same hash
        from .rates import rate_info
        rates = {"rates": rate_info(rp.inputs, p.rate_bits)}
    return {
        **rates,
        "inputs": rp.inputs, "lanes": p.lanes, "delay_ram": p.delay_ram,
        "outputs": layout["outputs"], "host_ids": layout["host_ids"],
        "capacity": layout["capacity"], "cores": cores,
        "router": {"inputs": rp.inputs, "core_neurons": list(rp.core_neurons),
                   "core_base": list(rp.core_base), "entries": rp.entries,
                   "index_bits": rp.index_bits, "step_bits": rp.step_bits,
                   "queue_depth": rp.queue_depth, "memory_bits": rp.memory_bits(),
                   "pointers": [list(w) for w in rp.pointers],
                   "destinations": [list(w) for w in rp.destinations],
                   "route_latency": ROUTE_LATENCY, "queue_latency": QUEUE_LATENCY},
        "update_latency": UPDATE_LATENCY, "cycles_bits": CYCLES_BITS,
        "ports": {"input": input_fields(p).to_json(),
                  "output": host_event_fields(rp).to_json(),
                  "cfg": network_cfg_fields(p).to_json(),
                  "rdata_bits": p.rdata_bits, "router_target": p.router_target,
                  "core_spaces": {s.name.lower(): int(s) for s in Space},
                  "router_spaces": {"pointer": TableSpace.POINTER,
                                    "destination": TableSpace.DESTINATION},
                  "params": param_map(any(cp.theta_bits for cp in p.cores))},
    }


def params_json(p):
    """``params.json`` of a network top: its shape (:func:`shape_json`) and its run-time
    values (every core's weights and parameters), the network's name and the mapping's
    description."""
    m = p.mapping
    cores = []
    for cp in p.cores:
        info = cp.to_json()
        info["weights_init"] = cp.weight_words()
        cores.append(info)
    d = _top_json(p, cores, _layout_json(m))
    d.update(network=m.net.name, describe=m.describe())
    return d


def shape_json(p):
    """The generation-time shape of a network top (a :class:`NetworkParams` or a
    :class:`NetworkShape`) as JSON: what two builds must share to be the same hardware. It
    holds no run-time value by construction (it is made from :class:`NetworkShape`); the
    build caches and the link's build hash key on it."""
    return (p if isinstance(p, NetworkShape) else p.shape).to_json()


@dataclass(frozen=True, eq=False)
class NetworkShape:
    """The generation-time shape of a network top, and nothing else: the cores' shapes
    (:class:`~spikefab.shape.core.CoreShape`), the router (its sizes and routing table, which
    the mapping fixes), lanes, memory kinds, and where the mapping put the network's neurons.

    Get it from :attr:`NetworkParams.shape`. :meth:`params` makes the top of this shape whose
    run-time values are all blank: what the simulated board is generated from, so that every
    network of one shape shares one build, which the host loads with each network's values.
    Two shapes are equal when their :meth:`to_json` are.
    """

    cores: tuple
    router: RouterParams
    lanes: int
    weight_rams: tuple
    delay_ram: bool
    layout: dict
    rate_bits: int = 0

    def params(self):
        """The :class:`NetworkParams` of this shape with blank run-time values (no mapping:
        it describes no particular network)."""
        return NetworkParams(None, self.lanes, tuple(c.params() for c in self.cores),
                             self.router, self.weight_rams, self.delay_ram, layout=self.layout,
                             rate_bits=self.rate_bits)

    def to_json(self):
        return _top_json(self.params(), [c.to_json() for c in self.cores],
                         json.loads(json.dumps(self.layout)))

    def __eq__(self, other):
        return isinstance(other, NetworkShape) and self.to_json() == other.to_json()

    def __hash__(self):
        return hash(json.dumps(self.to_json(), sort_keys=True))
