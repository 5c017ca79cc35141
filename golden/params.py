"""Validated, frozen parameter dataclasses: the network that every other part of spikefab reads.

Constructors validate and raise; a constructed object is always legal, so the golden model,
the RTL generators and the board flows never re-check it. Errors follow one form, naming the
field, the allowed range and the value::

    ValueError: Threshold of population 'exc' must be an integer in [0, 32767], not 40000

``TypeError`` is raised for a value of the wrong kind, ``ValueError`` for a value out of range.
Sizes and widths are generation-time (they shape the hardware); parameter values and weights are
run-time (the hardware can be rewritten through its configuration port).
"""

import re
from dataclasses import dataclass, field

import numpy as np

from spikefab.errors import InvalidType, InvalidValue

from .fixed import DECAY_ONE, signed_bits_for, signed_max, unsigned_max

__all__ = [
    "ACC_MAX_BITS", "MAX_SIZE", "MAX_WEIGHT_SHIFT", "MAX_THETA_BITS", "MODULATION_ONE",
    "modulated_rate", "check_modulation",
    "Hardware", "Population", "Stdp", "Projection", "Network",
]

#: Widest exact synaptic accumulator that the generator builds (and that int64 holds with room).
ACC_MAX_BITS = 48
#: Largest population and largest number of external input channels.
MAX_SIZE = 1 << 16
#: Largest per-projection left shift of the weights.
MAX_WEIGHT_SHIFT = 24
#: Widest adaptive threshold offset ``theta``.
MAX_THETA_BITS = 16
#: The third factor's "one" (``docs/spec.md`` section 4, v1.2): plain STDP.
MODULATION_ONE = 256

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_int(value, lo, hi, what):
    """Return ``value`` as ``int`` if it is an integer in ``[lo, hi]``, else raise.

    ``what`` is the field as the user knows it, e.g. ``"Threshold of population 'exc'"``.
    ``bool`` is rejected: ``true`` is not a threshold.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidType(f"{what} must be an integer in [{lo}, {hi}], not {value!r}")
    if not lo <= value <= hi:
        raise InvalidValue(f"{what} must be an integer in [{lo}, {hi}], not {value}")
    return int(value)


#: The shared range check, for the other layers' parameter classes (``spikefab.hdl``).
check_int = _check_int


def _check_bool(value, what):
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidType(f"{what} must be true or false, not {value!r}")
    return bool(value)


def _check_name(value, what):
    if not isinstance(value, str):
        raise InvalidType(f"{what} must be a string, not {value!r}")
    if not _NAME_RE.match(value):
        raise InvalidValue(f"{what} must be an identifier (letters, digits, '_', not starting "
                           f"with a digit), not {value!r}")
    return value


@dataclass(frozen=True)
class Hardware:
    """Datapath widths, fixed when the hardware is generated.

    Parameters
    ----------
    current_bits : int
        ``U_BITS``, signed width of the synaptic current ``u``, in ``[2, 32]``.
    voltage_bits : int
        ``V_BITS``, signed width of the membrane voltage ``v``, in ``[2, 32]``.
    weight_bits : int
        ``W_BITS``, signed width of a weight, in ``[2, 16]``.
    trace_bits : int
        ``T_BITS``, unsigned width of an STDP trace, in ``[1, 16]``.
    refractory_bits : int
        Unsigned width of the refractory counter, in ``[1, 16]``; bounds ``refractory``.
    rate_bits : int
        The on-chip rate generator's accumulator width ``p`` (``docs/spec.md`` section 7,
        v1.3): the host sends 4-bit intensities and the chip makes the input spikes, a channel
        of intensity ``q`` spiking ``q`` times in ``2**p`` steps. 0 (the default): no
        generator, and none is built; else in ``[4, 16]``.
    """

    current_bits: int = 16
    voltage_bits: int = 16
    weight_bits: int = 8
    trace_bits: int = 8
    refractory_bits: int = 8
    rate_bits: int = 0

    def __post_init__(self):
        for name, lo, hi in (("current_bits", 2, 32), ("voltage_bits", 2, 32),
                             ("weight_bits", 2, 16), ("trace_bits", 1, 16),
                             ("refractory_bits", 1, 16)):
            _check_int(getattr(self, name), lo, hi, f"Hardware {name}")
        if self.rate_bits != 0:
            _check_int(self.rate_bits, 4, 16, "Hardware rate_bits (0: no rate generator)")

    @property
    def weight_max(self):
        """Largest weight magnitude, ``2**(weight_bits-1) - 1``."""
        return signed_max(self.weight_bits)


_RESETS = ("zero", "subtract")


@dataclass(frozen=True)
class Population:
    """A population of identical current-based LIF neurons (``docs/spec.md`` section 2).

    Ranges that depend on the datapath widths (``threshold``, ``bias``, ``refractory``) are
    checked by :class:`Network`, which knows the :class:`Hardware`.

    Parameters
    ----------
    name : str
        Identifier, unique in the network, not ``"input"``.
    size : int
        Number of neurons, in ``[1, 65536]``.
    threshold : int
        ``vth``; a neuron spikes when ``v > vth`` (strictly).
    du, dv : int
        Decay constants of ``u`` and ``v``, in ``[0, 4096]``.
    bias : int
        Constant added to ``v`` every non-refractory step.
    refractory : int
        Steps that ``v`` is held after a spike.
    reset : str
        ``"zero"`` (``v = 0`` after a spike) or ``"subtract"`` (``v -= vth``, the effective
        threshold with an adaptive one).
    output : bool
        Report this population's spikes to the host.
    theta_bits : int
        ``THETA_BITS`` of the adaptive threshold offset ``theta`` (``docs/spec.md`` section 2,
        v1.2), in ``[0, 16]``; 0 (the default): no adaptive threshold, no ``theta`` state.
    theta_inc : int
        Added to ``theta`` on each spike, in ``[0, 2**theta_bits - 1]``.
    theta_decay : int
        Decay constant of ``theta``, in ``[0, 4096]`` (0 without an adaptive threshold).
    """

    name: str
    size: int
    threshold: int
    du: int = 0
    dv: int = 0
    bias: int = 0
    refractory: int = 0
    reset: str = "zero"
    output: bool = False
    theta_bits: int = 0
    theta_inc: int = 0
    theta_decay: int = 0

    def __post_init__(self):
        _check_name(self.name, "Population name")
        if self.name == "input":
            raise InvalidValue("Population name must not be 'input', which names the external "
                               "input channels")
        what = f"of population {self.name!r}"
        _check_int(self.size, 1, MAX_SIZE, f"Size {what}")
        _check_int(self.du, 0, DECAY_ONE, f"Du {what}")
        _check_int(self.dv, 0, DECAY_ONE, f"Dv {what}")
        if not isinstance(self.reset, str):
            raise InvalidType(f"Reset {what} must be one of 'zero', 'subtract', not {self.reset!r}")
        if self.reset not in _RESETS:
            raise InvalidValue(f"Reset {what} must be one of 'zero', 'subtract', "
                               f"not {self.reset!r}")
        _check_bool(self.output, f"Output {what}")
        _check_int(self.theta_bits, 0, MAX_THETA_BITS, f"Theta_bits {what}")
        _check_int(self.theta_inc, 0, unsigned_max(self.theta_bits) if self.theta_bits else 0,
                   f"Theta_inc {what}" + ("" if self.theta_bits else
                                          " (no adaptive threshold: theta_bits = 0)"))
        _check_int(self.theta_decay, 0, DECAY_ONE if self.theta_bits else 0,
                   f"Theta_decay {what}" + ("" if self.theta_bits else
                                            " (no adaptive threshold: theta_bits = 0)"))

    @property
    def adaptive(self):
        """The population has an adaptive threshold (``theta_bits > 0``)."""
        return self.theta_bits > 0

    def check_widths(self, hw):
        """Check the width-dependent ranges against ``hw``; raise on the first violation."""
        what = f"of population {self.name!r}"
        vmax = signed_max(hw.voltage_bits)
        _check_int(self.threshold, 0, vmax, f"Threshold {what}")
        _check_int(self.bias, -vmax, vmax, f"Bias {what}")
        _check_int(self.refractory, 0, unsigned_max(hw.refractory_bits), f"Refractory {what}")


@dataclass(frozen=True)
class Stdp:
    """Pair-based, trace-form STDP of one plastic projection (``docs/spec.md`` section 4).

    Parameters
    ----------
    a_plus, a_minus : int
        Potentiation and depression rates, in ``[0, 255]``.
    shift : int
        ``stdp_shift``: ``(a * trace) >> shift`` is the weight change, in ``[0, 15]``.
    d_pre, d_post : int
        Decay constants of the pre and post traces, in ``[0, 4096]``.
    x_inc, y_inc : int
        Trace increments on a pre / post spike, in ``[0, 2**trace_bits - 1]``.
    w_min, w_max : int
        Weight bounds, ``w_min <= w_max``, both within the signed weight range.
    modulated : bool
        A third factor scales and can invert both updates (``docs/spec.md`` section 4,
        v1.2): a signed modulation ``m`` that the host writes at run time.
    modulation : int
        The initial ``m``, in ``[-256, 256]`` (256: "one", plain STDP); 256 unless
        ``modulated``.
    """

    a_plus: int
    a_minus: int
    shift: int
    d_pre: int
    d_post: int
    x_inc: int
    y_inc: int
    w_min: int
    w_max: int
    modulated: bool = False
    modulation: int = MODULATION_ONE

    def check(self, hw, what):
        """Check every field against ``hw``; ``what`` names the projection in messages."""
        _check_int(self.a_plus, 0, 255, f"STDP a_plus of {what}")
        _check_int(self.a_minus, 0, 255, f"STDP a_minus of {what}")
        _check_int(self.shift, 0, 15, f"STDP shift of {what}")
        _check_int(self.d_pre, 0, DECAY_ONE, f"STDP d_pre of {what}")
        _check_int(self.d_post, 0, DECAY_ONE, f"STDP d_post of {what}")
        tmax = unsigned_max(hw.trace_bits)
        _check_int(self.x_inc, 0, tmax, f"STDP x_inc of {what}")
        _check_int(self.y_inc, 0, tmax, f"STDP y_inc of {what}")
        wmax = hw.weight_max
        _check_int(self.w_min, -wmax, wmax, f"STDP w_min of {what}")
        _check_int(self.w_max, self.w_min, wmax, f"STDP w_max of {what}")
        _check_bool(self.modulated, f"STDP modulated of {what}")
        if self.modulated:
            check_modulation(self.modulation, f"STDP modulation of {what}")
        else:
            _check_int(self.modulation, MODULATION_ONE, MODULATION_ONE,
                       f"STDP modulation of {what} (not modulated)")

    def rates(self, m=None):
        """The effective rates ``(a+, a-)`` under modulation ``m`` (default: the initial
        one): ``sign(m) * ((a * |m|) >> 8)`` each, ``(a_plus, a_minus)`` at ``m = 256``."""
        m = self.modulation if m is None else m
        return modulated_rate(self.a_plus, m), modulated_rate(self.a_minus, m)


def modulated_rate(a, m):
    """``sign(m) * ((a * |m|) >> 8)``: an STDP rate under the third factor ``m`` (scalars or
    arrays)."""
    out = np.sign(m) * ((a * np.abs(np.asarray(m, np.int64))) >> 8)
    return int(out) if out.ndim == 0 else out


def check_modulation(m, what="Modulation"):
    """``m`` as an int if it is a modulation in ``[-256, 256]``, else raise naming ``what``."""
    return _check_int(m, -MODULATION_ONE, MODULATION_ONE, what)


def check_weights_array(weights, what):
    """Return ``weights`` as a 2-D integer array, or raise naming ``what``."""
    w = np.asarray(weights)
    if w.dtype == np.bool_ or not np.issubdtype(w.dtype, np.integer):
        raise InvalidType(f"Weights of {what} must be integers, not {w.dtype}")
    if w.ndim != 2:
        raise InvalidValue(f"Weights of {what} must be a 2-D (source size, target size) array, "
                           f"not {w.ndim}-D")
    return w


@dataclass(frozen=True, eq=False)
class Projection:
    """All-to-all weights from a source (``"input"`` or a population) to a target population.

    Parameters
    ----------
    source : str
        ``"input"`` for the external input channels, or a population name.
    target : str
        A population name.
    weights : numpy.ndarray
        ``(source size, target size)`` integers, stored read-only as ``int64``; ``W[j][i]`` is
        the weight from source ``j`` to target ``i``. A zero weight is an absent synapse.
    weight_shift : int
        Each delivered spike adds ``W[j][i] << weight_shift``, in ``[0, 24]``.
    stdp : Stdp or None
        Present for a plastic projection.
    """

    source: str
    target: str
    weights: np.ndarray = field(repr=False)
    weight_shift: int = 0
    stdp: "Stdp | None" = None

    def __post_init__(self):
        if not isinstance(self.source, str):
            raise InvalidType(f"Projection source must be a string, not {self.source!r}")
        if not isinstance(self.target, str):
            raise InvalidType(f"Projection target must be a string, not {self.target!r}")
        _check_int(self.weight_shift, 0, MAX_WEIGHT_SHIFT,
                   f"Weight_shift of projection {self.source} -> {self.target}")
        if self.stdp is not None and not isinstance(self.stdp, Stdp):
            raise InvalidType(f"STDP of projection {self.source} -> {self.target} must be an "
                              f"Stdp, not {self.stdp!r}")
        w = check_weights_array(self.weights, f"projection {self.source} -> {self.target}")
        w = w.astype(np.int64)   # a copy: the caller's array can change, ours cannot
        w.flags.writeable = False
        object.__setattr__(self, "weights", w)

    @property
    def plastic(self):
        return self.stdp is not None


@dataclass(frozen=True, eq=False)
class Network:
    """A whole validated network: input channels, populations, projections, widths.

    Parameters
    ----------
    name : str
        Identifier of the network.
    inputs : int
        External input channels, in ``[0, 65536]``.
    populations : tuple of Population
    projections : tuple of Projection
        In file order; the order defines the projection index ``k``.
    hardware : Hardware
    """

    name: str
    inputs: int
    populations: tuple
    projections: tuple = ()
    hardware: Hardware = field(default_factory=Hardware)

    def __post_init__(self):
        _check_name(self.name, "Network name")
        _check_int(self.inputs, 0, MAX_SIZE, "Network inputs")
        if not isinstance(self.hardware, Hardware):
            raise InvalidType(f"Network hardware must be a Hardware, not {self.hardware!r}")
        object.__setattr__(self, "populations", tuple(self.populations))
        object.__setattr__(self, "projections", tuple(self.projections))
        if not self.populations:
            raise InvalidValue("Network must have at least one population, not 0")
        hw = self.hardware
        seen = set()
        for pop in self.populations:
            if not isinstance(pop, Population):
                raise InvalidType(f"Network populations must be Population, not {pop!r}")
            if pop.name in seen:
                raise InvalidValue(f"Population name {pop.name!r} is used twice; names must "
                                   f"be unique")
            seen.add(pop.name)
            pop.check_widths(hw)
        sizes = {p.name: p.size for p in self.populations}
        sizes["input"] = self.inputs
        for k, proj in enumerate(self.projections):
            if not isinstance(proj, Projection):
                raise InvalidType(f"Network projections must be Projection, not {proj!r}")
            what = f"projection {k} ({proj.source} -> {proj.target})"
            if proj.source not in sizes:
                raise InvalidValue(f"Source of projection {k} must be 'input' or one of "
                                   f"{_names(self.populations)}, not {proj.source!r}")
            if proj.target not in sizes or proj.target == "input":
                raise InvalidValue(f"Target of projection {k} must be one of "
                                   f"{_names(self.populations)}, not {proj.target!r}")
            want = (sizes[proj.source], sizes[proj.target])
            if proj.weights.shape != want:
                raise InvalidValue(f"Weights of {what} must have shape (source size, target "
                                   f"size) = {want}, not {proj.weights.shape}")
            if proj.stdp is not None:
                proj.stdp.check(hw, what)
                lo, hi = proj.stdp.w_min, proj.stdp.w_max
                rng = f"[w_min, w_max] = [{lo}, {hi}]"
            else:
                lo, hi = -hw.weight_max, hw.weight_max
                rng = f"[{lo}, {hi}] ({hw.weight_bits}-bit signed)"
            if proj.weights.size:
                bad = np.argwhere((proj.weights < lo) | (proj.weights > hi))
                if len(bad):
                    j, i = (int(x) for x in bad[0])
                    raise InvalidValue(f"Weights of {what} must be integers in {rng}, not "
                                       f"{int(proj.weights[j, i])} at [{j}][{i}]")
        for pop in self.populations:
            bits = self.accumulator_bits(pop.name)
            if bits > ACC_MAX_BITS:
                raise InvalidValue(
                    f"Accumulator of population {pop.name!r} needs {bits} bits for the "
                    f"worst-case fan-in, more than the {ACC_MAX_BITS} that the hardware "
                    f"builds; reduce the fan-in, weight_bits or weight_shift")

    # -- derived figures ------------------------------------------------------------------

    def population(self, name):
        """The :class:`Population` called ``name``."""
        for pop in self.populations:
            if pop.name == name:
                return pop
        raise KeyError(name)

    def source_size(self, source):
        """Number of channels of ``source`` (``"input"`` or a population name)."""
        return self.inputs if source == "input" else self.population(source).size

    def accumulator_bits(self, name):
        """Width of the exact synaptic accumulator of population ``name``.

        Weights are rewritable at run time, so the width covers the worst case of the widths,
        not of today's values: every source of every projection into the population spiking
        with the largest weight magnitude, ``sum(S_k * (2**(W-1) - 1) << shift_k)``.
        """
        wmax = self.hardware.weight_max
        worst = sum(self.source_size(p.source) * (wmax << p.weight_shift)
                    for p in self.projections if p.target == name)
        return signed_bits_for(worst)

    @property
    def neurons(self):
        return sum(p.size for p in self.populations)

    @property
    def synapses(self):
        """Synapse slots: every ``W[j][i]`` of every projection, zero or not."""
        return sum(p.weights.size for p in self.projections)

    @property
    def plastic_synapses(self):
        return sum(p.weights.size for p in self.projections if p.plastic)

    def memory_bits(self):
        """Bits of state the hardware holds, by kind: a dict of name to bit count.

        ``weights``: every synapse slot at ``weight_bits``; ``neuron_state``: ``u``, ``v``
        and the refractory counter of every neuron; ``accumulators``: one exact accumulator per
        neuron; ``traces``: a pre trace per source and a post trace per target of every plastic
        projection; ``adaptive_thresholds`` (only when a population has one): ``theta`` of every
        neuron of those populations at its ``theta_bits``.
        """
        hw = self.hardware
        state = hw.current_bits + hw.voltage_bits + hw.refractory_bits
        return {
            "weights": self.synapses * hw.weight_bits,
            "neuron_state": self.neurons * state,
            "accumulators": sum(p.size * self.accumulator_bits(p.name)
                                for p in self.populations),
            "traces": sum((p.weights.shape[0] + p.weights.shape[1]) * hw.trace_bits
                          for p in self.projections if p.plastic),
            **({"adaptive_thresholds": sum(p.size * p.theta_bits for p in self.populations)}
               if any(p.adaptive for p in self.populations) else {}),
        }


def _names(populations):
    return "[" + ", ".join(repr(p.name) for p in populations) + "]"
