"""Generation-time shape of one neuron core, derived from a validated network.

A core holds one population (or a slice of it) of ``N`` neurons, processed ``lanes`` at a time.
Neuron ``i`` lives in row ``i // lanes``, lane ``i % lanes``; the core has ``rows =
ceil(N / lanes)`` rows. Its axon slots are the sources of the projections into the population,
concatenated in projection order: projection ``k`` owns axons ``[offset_k, offset_k + S_k)`` and
adds ``W << shift_k`` for each of them.

Sizes, widths and shifts are generation-time (they shape the hardware); the neuron parameters
and the weights are run-time (they are only the reset values of registers and memories that the
configuration port rewrites).
"""

from dataclasses import dataclass, field, replace

import numpy as np

from spikefab.errors import InvalidType, InvalidValue
from spikefab.golden.fixed import DECAY_ONE, signed_max
from spikefab.golden.params import MAX_SIZE, Hardware, Network, Stdp
from spikefab.golden.params import check_int as _check_int

__all__ = ["MAX_LANES", "MAX_NEURON_SETS", "WEIGHT_RAMS", "BANK_WORDS", "SPRAM_WORDS",
           "SPRAM_BITS", "SPRAM_TILES", "spram_pack", "spram_tiles", "check_weight_ram",
           "check_bank_words", "NeuronSet",
           "CoreShape", "CoreParams"]

#: Widest core that the generator builds: lanes of neurons updated in parallel.
MAX_LANES = 16
#: Most neuron parameter sets (populations sharing a core) that one core holds.
MAX_NEURON_SETS = 16

#: Kinds of weight memory: ``"dual"`` (one read and one write port, inferred: iCE40 EBR,
#: ECP5 DP16KD), ``"single"`` (the behavioural model of a single-port RAM: one address, reads
#: and writes never in the same clock) and ``"ice40_spram"`` (the same single-port schedule on
#: iCE40 UP5K ``SB_SPRAM256KA`` primitives; for synthesis, or simulation with the primitive's
#: own model) and ``"banked"`` (dual port, pipelined for a large ECP5: banks of
#: :data:`BANK_WORDS` words with registered inputs, registered bank outputs and a registered
#: bank multiplexer, read latency 4; static cores only).
WEIGHT_RAMS = ("dual", "single", "ice40_spram", "banked")
#: Words per bank of a ``"banked"`` weight memory: one ECP5 DP16KD deep (2048 x 9).
BANK_WORDS = 2048
#: Words, bits per word and number of the UP5K's ``SB_SPRAM256KA`` tiles.
SPRAM_WORDS, SPRAM_BITS, SPRAM_TILES = 16384, 16, 4


def spram_pack(width):
    """Weight words a 16-bit SPRAM word holds: two of up to 8 bits (each half written alone
    through the tile's nibble write mask, ``MASKWREN``), else one."""
    return 2 if width <= SPRAM_BITS // 2 else 1


def spram_tiles(width, depth):
    """``SB_SPRAM256KA`` tiles of a ``depth`` x ``width`` weight memory (:func:`spram_pack`
    words a tile word): a one-lane core of 8-bit weights keeps 32,768 in a tile."""
    pack = spram_pack(width)
    return -(-width * pack // SPRAM_BITS) * -(-depth // (SPRAM_WORDS * pack))


def check_weight_ram(kind, width, depth, plastic=False):
    """Validate a weight memory kind for a ``depth`` x ``width`` memory of a core (``plastic``:
    with STDP); return ``kind``."""
    if not isinstance(kind, str) or kind not in WEIGHT_RAMS:
        raise InvalidValue(f"Weight RAM must be one of {', '.join(WEIGHT_RAMS)}, not {kind!r}")
    if kind == "banked" and plastic:
        raise InvalidValue("Weight RAM 'banked' is for static cores; a plastic core (STDP) needs "
                           "'dual', 'single' or 'ice40_spram'")
    if kind == "ice40_spram":
        tiles = spram_tiles(width, depth)
        if tiles > SPRAM_TILES:
            raise InvalidValue(f"Weight memory of {depth} x {width} bits needs {tiles} "
                               f"SB_SPRAM256KA tiles; the UP5K has {SPRAM_TILES}")
    return kind


def check_bank_words(n):
    """Validate the words per bank of a ``"banked"`` memory (a power of two); return ``n``."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1 or n & (n - 1):
        raise InvalidValue(f"Bank words must be a power of two, not {n!r}")
    return n


@dataclass(frozen=True)
class NeuronSet:
    """The neuron parameters of ``size`` consecutive neurons of a core, from local neuron
    ``first``: one population (or a slice of one) when several share a core.

    The fields are the reset values of the set's parameter registers (``docs/core.md``), but
    ``theta_bits``, the width of the set's adaptive threshold offset (0: none; ``docs/spec.md``
    v1.2), which is shape: a core with an adaptive set stores ``theta`` in its state words.
    """

    first: int
    size: int
    threshold: int = 0
    bias: int = 0
    du: int = 0
    dv: int = 0
    refractory: int = 0
    reset_subtract: bool = False
    theta_bits: int = 0
    theta_inc: int = 0
    theta_decay: int = 0




@dataclass(frozen=True)
class CoreShape:
    """The generation-time shape of one core, and nothing else: what its hardware is (sizes,
    widths, shifts, which axon groups learn, where its neuron parameter sets start, the columns
    of each plastic group), without a single run-time value. Two cores of equal shapes are the
    same hardware; the host loads each its own weights and parameters.

    Get it from :attr:`CoreParams.shape`; :meth:`params` makes the core of this shape whose
    run-time values are all blank (what a build that the host loads is generated from).
    """

    neurons: int
    lanes: int
    axon_shifts: tuple
    current_bits: int
    voltage_bits: int
    weight_bits: int
    refractory_bits: int
    acc_bits: int
    trace_bits: int
    plastic: tuple
    sets: tuple
    columns: tuple
    modulated: tuple = ()

    def params(self):
        """The :class:`CoreParams` of this shape with blank run-time values: zero weights,
        zero neuron parameters (reset to zero), and on each plastic group a rule of zeros."""
        blank = Stdp(a_plus=0, a_minus=0, shift=0, d_pre=0, d_post=0, x_inc=0, y_inc=0,
                     w_min=0, w_max=0)
        return CoreParams(
            neurons=self.neurons, lanes=self.lanes, axon_shifts=self.axon_shifts,
            current_bits=self.current_bits, voltage_bits=self.voltage_bits,
            weight_bits=self.weight_bits, refractory_bits=self.refractory_bits,
            acc_bits=self.acc_bits, trace_bits=self.trace_bits,
            stdp=tuple((replace(blank, modulated=True) if g in self.modulated else blank)
                       if p else None for g, p in enumerate(self.plastic)),
            neuron_sets=tuple(NeuronSet(first, size, theta_bits=tb)
                              for first, size, *tb_ in self.sets
                              for tb in (tb_[0] if tb_ else 0,)),
            columns=self.columns)

    def to_json(self):
        """The shape as a JSON-able dict (what build hashes key on)."""
        p = self.params()
        return {
            "neurons": self.neurons, "lanes": self.lanes, "rows": p.rows, "axons": p.axons,
            "axon_groups": [{"offset": o, "size": s, "shift": k}
                            for o, (s, k) in zip(p.axon_offsets, self.axon_shifts)],
            "current_bits": self.current_bits, "voltage_bits": self.voltage_bits,
            "weight_bits": self.weight_bits, "refractory_bits": self.refractory_bits,
            "acc_bits": self.acc_bits, "trace_bits": self.trace_bits,
            "memory_bits": p.memory_bits(), "plastic": list(self.plastic),
            # a set's theta_bits only when it has an adaptive threshold: the shapes (and build
            # hashes) of networks without one are those of v1.1
            "neuron_sets": [{"first": f, "size": n, **({"theta_bits": tb[0]} if tb else {})}
                            for f, n, *tb in self.sets],
            "columns": [list(c) for c in self.columns],
            # the third factor's groups only when there are: v1.1 shapes keep their hashes
            **({"modulated": list(self.modulated)} if self.modulated else {}),
        }


@dataclass(frozen=True, eq=False)
class CoreParams:
    """Everything the RTL of one core needs, validated: its shape (:attr:`shape`) and the
    reset values of its memories and registers (the run-time values that the configuration
    port rewrites).

    A network's cores come from :func:`spikefab.shape.derive` (:meth:`Mapping.core_params`);
    :meth:`from_network` is the core of one population as that mapping builds it; the
    constructor is for tests that build a core directly.

    Parameters
    ----------
    neurons : int
        ``N``, neurons of the core, in ``[1, 65536]``.
    lanes : int
        Neurons updated (and synapses accumulated) in parallel, in ``[1, 16]``.
    axon_shifts : tuple of (int, int)
        ``(S_k, shift_k)`` per axon group, in axon order; ``A = sum(S_k)``.
    current_bits, voltage_bits, weight_bits, refractory_bits : int
        Datapath widths (``Hardware``).
    acc_bits : int
        Width of the exact accumulator (``Network.accumulator_bits``).
    threshold, bias, du, dv, refractory : int
        Reset values of the neuron parameter registers.
    reset_subtract : bool
        Reset value of the reset-mode register.
    weights : numpy.ndarray of int64, (A, N)
        Initial contents of the weight memory.
    trace_bits : int
        ``T_BITS``, width of the STDP traces.
    stdp : tuple of (Stdp or None)
        Per axon group: the learning rule of a plastic projection (reset values of its
        learning registers), or None for a static one; empty for an all-static core.
    neuron_sets : tuple of NeuronSet
        Several populations in one core: the parameter sets, consecutive, covering the
        neurons ``0 .. N - 1`` in order. Empty (the default): one set of all neurons with
        ``threshold``, ``bias``, ``du``, ``dv``, ``refractory``, ``reset_subtract``; when
        given, those fields are set 0's.
    columns : tuple of (int, int)
        Per axon group, the local neurons ``[lo, hi)`` that its synapses reach: the target
        population's slice of a plastic group in a shared core, so that STDP never touches
        the (zero) synapses of the group's rows onto the other populations. Empty (the
        default): every group reaches every neuron.
    """

    neurons: int
    lanes: int
    axon_shifts: tuple
    current_bits: int = 16
    voltage_bits: int = 16
    weight_bits: int = 8
    refractory_bits: int = 8
    acc_bits: int = 0
    threshold: int = 0
    bias: int = 0
    du: int = 0
    dv: int = 0
    refractory: int = 0
    reset_subtract: bool = False
    weights: np.ndarray = field(default=None, repr=False)
    trace_bits: int = 8
    stdp: tuple = ()
    neuron_sets: tuple = ()
    columns: tuple = ()

    def __post_init__(self):
        _check_int(self.neurons, 1, 1 << 16, "Core neurons")
        _check_int(self.lanes, 1, MAX_LANES, "Core lanes")
        groups = tuple((int(s), int(k)) for s, k in self.axon_shifts)
        if not groups:
            raise InvalidValue("Core axon_shifts must name at least one axon group, not 0")
        for s, k in groups:
            _check_int(s, 1, 1 << 16, "Core axon group size")
            _check_int(k, 0, 24, "Core axon group shift")
        object.__setattr__(self, "axon_shifts", groups)
        _check_int(self.current_bits, 2, 32, "Core current_bits")
        _check_int(self.voltage_bits, 2, 32, "Core voltage_bits")
        _check_int(self.weight_bits, 2, 16, "Core weight_bits")
        _check_int(self.refractory_bits, 1, 16, "Core refractory_bits")
        wmax = signed_max(self.weight_bits)
        need = max(2, (sum(s * (wmax << k) for s, k in groups)).bit_length() + 1)
        if self.acc_bits == 0:
            object.__setattr__(self, "acc_bits", need)
        _check_int(self.acc_bits, need, 48, "Core acc_bits")
        vmax = signed_max(self.voltage_bits)
        _check_int(self.threshold, 0, vmax, "Core threshold")
        _check_int(self.bias, -vmax, vmax, "Core bias")
        _check_int(self.du, 0, DECAY_ONE, "Core du")
        _check_int(self.dv, 0, DECAY_ONE, "Core dv")
        _check_int(self.refractory, 0, (1 << self.refractory_bits) - 1, "Core refractory")
        self._check_sets(vmax)
        w = self.weights
        if w is None:
            w = np.zeros((self.axons, self.neurons), np.int64)
        w = np.array(w, dtype=np.int64)
        if w.shape != (self.axons, self.neurons):
            raise InvalidValue(f"Core weights must have shape (axons, neurons) = "
                               f"{(self.axons, self.neurons)}, not {w.shape}")
        if w.size and np.abs(w).max() > wmax:
            raise InvalidValue(f"Core weights must be integers in [{-wmax}, {wmax}], not "
                               f"{int(w.flat[np.abs(w).argmax()])}")
        _check_int(self.trace_bits, 1, 16, "Core trace_bits")
        rules = tuple(self.stdp)
        if rules and len(rules) != len(groups):
            raise InvalidValue(f"Core stdp must name one rule (or None) per axon group, "
                               f"{len(groups)}, not {len(rules)}")
        if not any(r is not None for r in rules):
            rules = ()
        cols = tuple((int(lo), int(hi)) for lo, hi in self.columns)
        if not cols:
            cols = ((0, self.neurons),) * len(groups)
        if len(cols) != len(groups):
            raise InvalidValue(f"Core columns must name one range per axon group, {len(groups)}, "
                               f"not {len(cols)}")
        for g, (lo, hi) in enumerate(cols):
            _check_int(lo, 0, self.neurons - 1, f"Core columns start of axon group {g}")
            _check_int(hi, lo + 1, self.neurons, f"Core columns end of axon group {g}")
        hw = Hardware(weight_bits=self.weight_bits, trace_bits=self.trace_bits)
        for g, r in enumerate(rules):
            if r is None:
                continue
            if not isinstance(r, Stdp):
                raise InvalidType(f"Core stdp of axon group {g} must be an Stdp or None, not "
                                  f"{r!r}")
            r.check(hw, f"axon group {g}")
            o, n = self.axon_offsets[g], groups[g][0]
            lo, hi = cols[g]
            blk = w[o:o + n, lo:hi]
            if blk.size and (blk.min() < r.w_min or blk.max() > r.w_max):
                raise InvalidValue(f"Core weights of plastic axon group {g} must be integers in "
                                   f"[w_min, w_max] = [{r.w_min}, {r.w_max}], not "
                                   f"{int(blk.min() if blk.min() < r.w_min else blk.max())}")
        object.__setattr__(self, "stdp", rules)
        object.__setattr__(self, "columns", cols)
        w.flags.writeable = False
        object.__setattr__(self, "weights", w)

    def _check_sets(self, vmax):
        sets = tuple(self.neuron_sets)
        if not sets:
            sets = (NeuronSet(0, self.neurons, self.threshold, self.bias, self.du, self.dv,
                              self.refractory, bool(self.reset_subtract)),)
        if len(sets) > MAX_NEURON_SETS:
            raise InvalidValue(f"Core neuron sets must number at most {MAX_NEURON_SETS}, not "
                               f"{len(sets)}")
        nxt = 0
        for k, ns in enumerate(sets):
            if not isinstance(ns, NeuronSet):
                raise InvalidType(f"Core neuron set {k} must be a NeuronSet, not {ns!r}")
            what = f"Core neuron set {k}"
            _check_int(ns.first, nxt, nxt, f"{what} first")
            _check_int(ns.size, 1, self.neurons - nxt, f"{what} size")
            nxt += ns.size
            _check_int(ns.threshold, 0, vmax, f"{what} threshold")
            _check_int(ns.bias, -vmax, vmax, f"{what} bias")
            _check_int(ns.du, 0, DECAY_ONE, f"{what} du")
            _check_int(ns.dv, 0, DECAY_ONE, f"{what} dv")
            _check_int(ns.refractory, 0, (1 << self.refractory_bits) - 1, f"{what} refractory")
            _check_int(ns.theta_bits, 0, 16, f"{what} theta_bits")
            _check_int(ns.theta_inc, 0, (1 << ns.theta_bits) - 1, f"{what} theta_inc")
            _check_int(ns.theta_decay, 0, DECAY_ONE if ns.theta_bits else 0, f"{what} theta_decay")
        if nxt != self.neurons:
            raise InvalidValue(f"Core neuron sets must cover the {self.neurons} neurons, not "
                               f"{nxt}")
        s0 = sets[0]
        for name in ("threshold", "bias", "du", "dv", "refractory", "reset_subtract"):
            object.__setattr__(self, name, getattr(s0, name))
        object.__setattr__(self, "neuron_sets", sets)

    @classmethod
    def from_network(cls, net, population=None, lanes=1):
        """The core that runs population ``population`` (default: the only one) of ``net``.

        Raises
        ------
        ValueError
            If the population has no projection into it, or if a parameter is out of range.
        """
        if not isinstance(net, Network):
            raise InvalidType(f"Network must be a Network, not {net!r}")
        if population is None:
            if len(net.populations) != 1:
                raise InvalidValue(f"Population must be named for a network of "
                                   f"{len(net.populations)} populations")
            population = net.populations[0].name
        pop = net.population(population)
        projs = [(k, p) for k, p in enumerate(net.projections) if p.target == pop.name]
        if not projs:
            raise InvalidValue(f"Population {pop.name!r} must have at least one projection "
                               f"into it to be built as a core, not 0")
        # the core that the one mapping gives the population when it has a core of its own
        from .mapping import map_network
        m = map_network(net, neurons_per_core=MAX_SIZE, axons_per_core=MAX_SIZE, pack=False)
        core = next(c for c in m.cores if c.segments[0].population == pop.name)
        return m.core_params(core.index, lanes)

    # -- derived shape -------------------------------------------------------------------

    @property
    def shape(self):
        """The :class:`CoreShape` of this core: its run-time values left out."""
        nplastic = self.stdp or (None,) * len(self.axon_shifts)
        return CoreShape(
            neurons=self.neurons, lanes=self.lanes, axon_shifts=self.axon_shifts,
            current_bits=self.current_bits, voltage_bits=self.voltage_bits,
            weight_bits=self.weight_bits, refractory_bits=self.refractory_bits,
            acc_bits=self.acc_bits, trace_bits=self.trace_bits,
            plastic=tuple(r is not None for r in nplastic),
            sets=tuple((ns.first, ns.size) + ((ns.theta_bits,) if ns.theta_bits else ())
                       for ns in self.neuron_sets),
            columns=self.columns,
            modulated=tuple(g for g, r in enumerate(nplastic) if r is not None and r.modulated))

    @property
    def axons(self):
        """``A``, the number of axon slots."""
        return sum(s for s, _ in self.axon_shifts)

    @property
    def rows(self):
        """``ceil(N / lanes)``: cycles per delivered event and per update sweep."""
        return -(-self.neurons // self.lanes)

    @property
    def axon_offsets(self):
        """First axon of each group."""
        out, o = [], 0
        for s, _ in self.axon_shifts:
            out.append(o)
            o += s
        return tuple(out)

    @property
    def row_slots(self):
        """Depth of the per-row memories and range of row counters: ``max(rows, 2)``, so that
        no address is zero bits wide (the Verilog of a zero-width signal is not portable)."""
        return max(self.rows, 2)

    @property
    def weight_slots(self):
        """Depth of the weight memory: ``max(weight_depth, 2)``."""
        return max(self.weight_depth, 2)

    @property
    def weight_depth(self):
        """Words of the weight memory: ``rows * A``; word ``row * A + axon``."""
        return self.rows * self.axons

    @property
    def state_bits(self):
        """Bits of one neuron's state word ``{r, v, u}`` (and ``theta`` in a core with an
        adaptive threshold)."""
        return self.current_bits + self.voltage_bits + self.refractory_bits + self.theta_bits

    @property
    def theta_bits(self):
        """Bits of the adaptive threshold offset in every state word: the widest of the
        neuron sets' (0: no set has one, the state word is ``{r, v, u}``)."""
        return max(ns.theta_bits for ns in self.neuron_sets)

    @property
    def set_bits(self):
        """Bits of a neuron set index (at least 1)."""
        return max(1, (len(self.neuron_sets) - 1).bit_length())

    def set_of(self, neuron):
        """Index of the neuron set of local neuron ``neuron``."""
        for k, ns in enumerate(self.neuron_sets):
            if ns.first <= neuron < ns.first + ns.size:
                return k
        raise IndexError(neuron)

    @property
    def plastic(self):
        """True when at least one axon group is plastic."""
        return bool(self.stdp)

    @property
    def modulated(self):
        """True when a plastic group has the third factor (``docs/spec.md`` v1.2): the
        learning registers then hold the signs of the effective rates."""
        return any(r is not None and r.modulated for r in self.stdp)

    @property
    def plastic_groups(self):
        """Indices of the plastic axon groups, in axon order."""
        return tuple(g for g, r in enumerate(self.stdp) if r is not None)

    @property
    def pre_offsets(self):
        """First pre-trace slot of each plastic axon group (by plastic group index)."""
        out, o = [], 0
        for g in self.plastic_groups:
            out.append(o)
            o += self.axon_shifts[g][0]
        return tuple(out)

    @property
    def pre_count(self):
        """``P_A``: plastic axon slots, one pre trace each (the LTP column pass length)."""
        return sum(self.axon_shifts[g][0] for g in self.plastic_groups)

    @property
    def pre_slots(self):
        """Depth of the pre-trace memory: ``max(P_A, 2)``."""
        return max(self.pre_count, 2)

    def weight_words(self, weights=None):
        """The weight memory image: a list of ``rows * A`` words of ``lanes * W`` bits.

        Word ``row * A + axon`` holds ``W[axon][row * lanes + lane]`` in bits
        ``[lane * W, (lane + 1) * W)`` (two's complement); padding lanes are 0.
        """
        w = self.weights if weights is None else np.asarray(weights, np.int64)
        lw, wb = self.lanes, self.weight_bits
        pad = np.zeros((self.axons, self.rows * lw), np.int64)
        pad[:, :self.neurons] = w
        mask = (1 << wb) - 1
        words = []
        for row in range(self.rows):
            for a in range(self.axons):
                word = 0
                for lane in range(lw):
                    word |= (int(pad[a, row * lw + lane]) & mask) << (lane * wb)
                words.append(word)
        return words

    def memory_bits(self):
        """Bits of each memory the core infers, by name (the synthesis test checks these)."""
        bits = {
            "weights": self.weight_depth * self.lanes * self.weight_bits,
            "accumulators": self.rows * self.lanes * self.acc_bits,
            "state": self.rows * self.lanes * self.state_bits,
        }
        if self.plastic:
            bits["pre_traces"] = self.pre_count * self.trace_bits
            bits["pre_hits"] = self.pre_count
            for k, _ in enumerate(self.plastic_groups):
                bits[f"post_traces_{k}"] = self.rows * self.lanes * self.trace_bits
        return bits

    def to_json(self):
        """The parameters as a JSON-able dict (``params.json`` beside the Verilog)."""
        return {
            "neurons": self.neurons, "lanes": self.lanes, "rows": self.rows,
            "axons": self.axons,
            "axon_groups": [{"offset": o, "size": s, "shift": k}
                            for o, (s, k) in zip(self.axon_offsets, self.axon_shifts)],
            "current_bits": self.current_bits, "voltage_bits": self.voltage_bits,
            "weight_bits": self.weight_bits, "refractory_bits": self.refractory_bits,
            "acc_bits": self.acc_bits,
            "threshold": self.threshold, "bias": self.bias, "du": self.du, "dv": self.dv,
            "refractory": self.refractory,
            "reset": "subtract" if self.reset_subtract else "zero",
            "memory_bits": self.memory_bits(),
            "trace_bits": self.trace_bits,
            "stdp": [None if r is None else {k: x for k, x in vars(r).items()
                                             if r.modulated or k not in ("modulated",
                                                                         "modulation")}
                     for r in self.stdp],
            "neuron_sets": [{**{k: x for k, x in vars(ns).items()
                                if ns.theta_bits or not k.startswith("theta")},
                             "reset": "subtract" if ns.reset_subtract else "zero"}
                            for ns in self.neuron_sets],
            "columns": [list(c) for c in self.columns],
        }
