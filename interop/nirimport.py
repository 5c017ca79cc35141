"""NIR graph -> spikefab network: discretisation, one voltage scale per population, quantisation,
and the fidelity report (``docs/nir.md`` has the mapping and its reasons).

Per neuron node, with ``d = dt / tau`` (exact) and ``I`` the node's input::

    LIF, LI      du = 4096, dv = rint(4096 d);  gain = d * r;  bias = d * v_leak
    CubaLIF/LI   du = rint(4096 dt/tau_syn), dv = rint(4096 dt/tau_mem);
                 gain = (dt/tau_mem) * r * (dt/tau_syn) * w_in;  bias = (dt/tau_mem) * v_leak
    IF, I        du = 4096, dv = 0;  gain = dt * r

``gain`` (per neuron, folded into the weights' columns) turns an input spike into ``u`` in the
node's voltage units; an Affine or convolution bias ``b`` reaching the node adds ``gain_v * b``
per step (``d * r * b``; for a Cuba node its steady state ``(dt/tau_mem) * r * w_in * b``). A
voltage scale ``c`` per population turns voltages into integers: ``threshold = rint(c *
v_threshold)``, ``bias = rint(c * bias)``, ``W << shift = rint(c * gain * matrix)``
(``quantize``, the smallest shift that fits). ``c`` puts the threshold at an eighth of the
voltage range (``v`` and ``u`` hold 8 thresholds either way: inhibition and strong drive do not
saturate), lowered where the largest single weight would not fit ``u``, the bias would not fit
``v``, or the deepest ``v`` of the float reference on the probe would not fit ``v``. A readout
(LI, CubaLI, I) never spikes (threshold at the voltage maximum) and its ``c`` puts the largest
``|v|`` of the float reference on the probe at half the voltage range (without a probe ``v``:
the largest weight fills the weight range at shift 0); its ``v / c`` is the NIR voltage.
"""

import math
import os
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from spikefab.errors import Error, InvalidType, InvalidValue
from spikefab.golden import (DECAY_ONE, Hardware, Network, Population, Projection, quantize,
                             signed_max, simulate)
from spikefab.golden.simulator import check_inputs

from .nirgraph import parse, population_names
from .nirsim import reference

__all__ = ["PopulationMap", "ProjectionMap", "Agreement", "FidelityReport", "import_nir",
           "read_nir", "UNITS_KEY"]

#: Graph metadata written by ``export_nir``: its values are spikefab integers (scale 1).
UNITS_KEY = "spikefab_units"


@dataclass(frozen=True)
class PopulationMap:
    """How one neuron node became a population: exact values (after the scale) and integers."""

    node: str
    kind: str
    name: str
    size: int
    scale: float
    threshold: float
    threshold_raw: int
    bias: float
    bias_raw: int
    du: float
    du_raw: int
    dv: float
    dv_raw: int


@dataclass(frozen=True)
class ProjectionMap:
    """One path of linear nodes, become projection ``index``; ``quantized`` has its errors."""

    index: int
    source: str
    target: str
    nodes: tuple
    quantized: object


@dataclass(frozen=True)
class Agreement:
    """The quantised population against the float reference on the probe.

    ``agreement``: fraction of (run, step, neuron) whose spike is the same; ``float_spikes``,
    ``spikes``: the counts; ``v_error``: RMS of ``v / scale - v_float`` over the RMS of
    ``v_float`` (readouts only, else None)."""

    population: str
    agreement: float
    float_spikes: int
    spikes: int
    v_error: "float | None"


@dataclass(frozen=True)
class FidelityReport:
    """What ``import_nir`` did and how close the result is to the NIR graph."""

    dt: float
    units: str
    populations: tuple
    projections: tuple
    agreement: tuple
    probe: str
    notes: tuple

    @property
    def max_weight_error(self):
        """Largest weight error relative to the projection's largest weight."""
        return max((p.quantized.rel_max_error for p in self.projections), default=0.0)

    @property
    def max_decay_error(self):
        """Largest ``|du_raw - du|`` or ``|dv_raw - dv|``, in 1/4096 units."""
        return max((max(abs(p.du_raw - p.du), abs(p.dv_raw - p.dv)) for p in self.populations),
                   default=0.0)

    @property
    def max_threshold_error(self):
        """Largest ``|threshold_raw - threshold|`` relative to the threshold."""
        return max((abs(p.threshold_raw - p.threshold) / p.threshold
                    for p in self.populations if p.kind in _SPIKING and p.threshold > 0),
                   default=0.0)

    def describe(self):
        """The report as text: populations, projections, agreement, notes."""
        from spikefab.describe import table
        rows = [(p.name, f"{p.node} ({p.kind})", p.size, f"{p.scale:.6g}",
                 f"{p.threshold_raw}" + ("" if p.kind in _SPIKING else " (never)"),
                 f"{p.bias_raw} ({p.bias:.4g})", f"{p.du_raw} ({p.du:.4g})",
                 f"{p.dv_raw} ({p.dv:.4g})") for p in self.populations]
        out = [table(rows, ("population", "node", "size", "scale", "threshold",
                            "bias (exact)", "du (exact)", "dv (exact)"))]
        rows = [(p.index, f"{p.source} -> {p.target}", " ".join(p.nodes) or "-",
                 p.quantized.weight_shift, f"{100 * p.quantized.rel_max_error:.2f}%",
                 f"{100 * p.quantized.rel_rms_error:.2f}%",
                 f"{p.quantized.zeroed}/{p.quantized.nonzero}") for p in self.projections]
        out += ["", table(rows, ("projection", "source -> target", "via", "shift", "rel max",
                                 "rel rms", "zeroed"))]
        rows = [(a.population, f"{100 * a.agreement:.2f}%", a.float_spikes, a.spikes,
                 "-" if a.v_error is None else f"{100 * a.v_error:.2f}%")
                for a in self.agreement]
        out += ["", f"against the float reference on {self.probe}:",
                table(rows, ("population", "spikes agree", "float spikes", "spikes",
                             "v error (rms)"))]
        out += ["", f"largest errors: weights {100 * self.max_weight_error:.2f}% of the "
                    f"largest weight, decays {self.max_decay_error:.3g}/4096, thresholds "
                    f"{100 * self.max_threshold_error:.3g}%"]
        out += [f"note: {n}" for n in self.notes]
        return "\n".join(out)


_SPIKING = ("LIF", "CubaLIF", "IF")


def read_nir(path):
    """``nir.read(path)``, with a user error for a missing or unreadable file.

    NIR's type inference starts from the edges that leave the Input node; a graph without
    one (every population driven by others or by its bias alone) is read without it:
    :func:`~.nirgraph.parse` checks every edge's size itself."""
    import nir
    path = os.fspath(path)
    if not os.path.exists(path):
        raise InvalidValue(f"NIR file {path!r} does not exist")
    try:
        try:
            return nir.read(path)
        except (ValueError, AssertionError):
            return nir.read(path, type_check=False)
    except (OSError, ValueError, KeyError, TypeError, AssertionError) as e:
        raise InvalidValue(f"NIR file {path!r} is not a readable NIR graph: {e}") from None


def _positive(value, what):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise InvalidType(f"{what} must be a positive number of seconds, not {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise InvalidValue(f"{what} must be a positive number of seconds, not {value!r}")
    return float(value)


def _uniform(m, param, values=None):
    a = m.params[param] if values is None else values
    if a.size and not np.allclose(a, a[0], rtol=1e-9, atol=0):
        distinct = np.unique(a)
        shown = ", ".join(f"{x:g}" for x in distinct[:4]) + (", ..." if len(distinct) > 4
                                                            else "")
        raise InvalidValue(f"Parameter {param} of node {m.name!r} ({m.kind}) must be the same "
                           f"for every neuron (a population shares it), not {len(distinct)} "
                           f"values: {shown}")
    return float(a[0]) if a.size else 0.0


def _ratio(m, param, dt):
    tau = _uniform(m, param)
    if not tau >= dt:
        raise InvalidValue(f"Parameter {param} of node {m.name!r} ({m.kind}) must be at least "
                           f"dt = {dt:g} s (a decay of at most one step), not {tau:g}")
    return dt / tau


def _dynamics(m, dt, affine, affine_nodes, kinds):
    """Decays (exact, in 1/4096), per-neuron gain, bias per step (voltage units), threshold;
    ``affine`` is the constant input from the biases of ``affine_nodes`` (Affine, Conv)."""
    q = m.params
    if m.kind in ("LIF", "LI"):
        d = _ratio(m, "tau", dt)
        du, dv, gain, gain_b = DECAY_ONE, DECAY_ONE * d, d * q["r"], d * q["r"]
        leak = d * _uniform(m, "v_leak")
    elif m.kind in ("CubaLIF", "CubaLI"):
        ds, dm = _ratio(m, "tau_syn", dt), _ratio(m, "tau_mem", dt)
        du, dv = DECAY_ONE * ds, DECAY_ONE * dm
        gain, gain_b = dm * q["r"] * ds * q["w_in"], dm * q["r"] * q["w_in"]
        leak = dm * _uniform(m, "v_leak")
    else:
        du, dv, gain, gain_b, leak = DECAY_ONE, 0.0, dt * q["r"], dt * q["r"], 0.0
    extra = gain_b * affine
    if affine_nodes and not np.allclose(extra, extra[0], rtol=1e-9, atol=1e-12):
        names = _named(affine_nodes, kinds)
        shown = ", ".join(f"{x:g}" for x in np.unique(extra)[:4])
        raise InvalidValue(f"Parameter bias of node {names} must give every neuron of "
                           f"node {m.name!r} ({m.kind}) the same constant input (spikefab's "
                           f"bias is one per population), not {shown} per step")
    threshold = None
    if m.spiking:
        threshold = _uniform(m, "v_threshold")
        reset = _uniform(m, "v_reset")
        if reset != 0:
            raise InvalidValue(f"Parameter v_reset of node {m.name!r} ({m.kind}) must be 0 "
                               f"(spikefab resets v to 0), not {reset:g}")
        if threshold < 0:
            raise InvalidValue(f"Parameter v_threshold of node {m.name!r} ({m.kind}) must be "
                               f">= 0, not {threshold:g}")
    return du, dv, gain, leak + float(extra[0]) if extra.size else leak, threshold


def _named(names, kinds):
    """``'a', 'b' (Affine)``, or ``'a' (Affine), 'c' (Conv2d)`` where the types differ."""
    types = [kinds.get(n, "Affine") for n in names]
    if len(set(types)) == 1:
        return ", ".join(repr(n) for n in names) + f" ({types[0]})"
    return ", ".join(f"{n!r} ({t})" for n, t in zip(names, types))


def _scale(hw, fmax, bias, threshold, peak):
    """The voltage scale ``c`` of one population (module docstring); ``peak`` is the largest
    ``|v|`` of a readout, or the deepest ``-v`` of a spiking node, in the float reference on
    the probe."""
    vmax, umax = signed_max(hw.voltage_bits), signed_max(hw.current_bits)
    limits = ([umax / fmax] if fmax else []) + ([vmax / abs(bias)] if bias else [])
    if threshold:
        c = min(limits + [(vmax // 8) / threshold] + ([vmax / peak] if peak else []))
        raw = math.floor(c * threshold)
        return raw / threshold if raw >= 1 else c
    if peak and threshold is None:
        return min(limits + [(vmax // 2) / peak])
    return min(limits + ([hw.weight_max / fmax] if fmax else []), default=1.0)


def _integral(x, lo, hi):
    return abs(x - round(x)) <= 1e-6 * max(1.0, abs(x)) and lo <= round(x) <= hi


def _quantize_all(hw, target, c, incoming, exact):
    out = []
    for p, f in incoming:
        what = f"the path {' -> '.join([p.source, *p.nodes, target])}"
        q = quantize(f, hw.weight_bits, scale=c, weight_shift="auto", what=what)
        if exact and q.max_error > 1e-6 * max(1.0, float(np.abs(f).max(initial=0))):
            bad = f.flat[int(np.argmax(np.abs(q.weights * q.step - f)))]
            raise InvalidValue(f"Weights of {what} must be {hw.weight_bits}-bit integers "
                               f"(times 2**shift) in integer units, not {bad:g}")
        out.append((p, q))
    return out


def import_nir(model, dt=None, weight_bits=None, voltage_bits=None, current_bits=None,
               units="auto", inputs=None, probe_steps=200, probe_rate=0.2, seed=0,
               name="nir"):
    """Import a NIR graph as a spikefab network and report its fidelity.

    Parameters
    ----------
    model : nir.NIRGraph or path
    dt : float or None
        Time step in seconds; None: the one a graph written by :func:`export_nir` carries.
    weight_bits, voltage_bits, current_bits : int or None
        Widths of the network (None: what ``export_nir`` wrote, else spikefab's defaults).
    units : {"auto", "integer", "scaled"}
        ``scaled``: one voltage scale per population (module docstring); ``integer``: the
        graph's values are spikefab integers already (scale 1, an error if not); ``auto``:
        ``integer`` for a graph that ``export_nir`` wrote and whose values are integers.
    inputs : array_like of 0/1, (T, inputs) or (B, T, inputs), or None
        The probe; None: seeded Bernoulli spikes, ``probe_steps`` steps at ``probe_rate``.
    name : str
        The network's name.

    Returns
    -------
    (Network, FidelityReport)
    """
    if not hasattr(model, "nodes"):
        model = read_nir(model)
    parsed = parse(model)
    meta = parsed.metadata
    ours = str(meta.get(UNITS_KEY, "")) == "integer"
    if dt is None:
        if not ours or "dt" not in meta:
            raise InvalidValue("NIR graph has no time step: give dt (--dt SECONDS), the step "
                               "its model was trained or run with")
        dt = float(meta["dt"])
    dt = _positive(dt, "Dt")
    if units not in ("auto", "integer", "scaled"):
        raise InvalidValue(f"Units must be one of 'auto', 'integer', 'scaled', not {units!r}")
    widths = {}
    for key, given in (("weight_bits", weight_bits), ("voltage_bits", voltage_bits),
                       ("current_bits", current_bits)):
        if given is None and ours and f"spikefab_{key}" in meta:
            given = int(meta[f"spikefab_{key}"])
        if given is not None:
            widths[key] = given
    hw = Hardware(**widths)
    notes = []
    exact = units == "integer" or (units == "auto" and ours)
    x, probe, ref = _probe(parsed, dt, inputs, probe_steps, probe_rate, seed)
    # a readout has no threshold to scale by: its largest |v| on the probe sets its scale; a
    # spiking node's deepest v (strong inhibition) lowers it so that v does not saturate
    peaks = {n: float(np.abs(v).max(initial=0) if not parsed.neurons[n].spiking
                      else max(-v.min(initial=0), 0.0)) for n, v in ref[1].items()}
    try:
        net, pmaps, projs = _build(parsed, dt, hw, exact, name, notes, peaks)
        used = "integer" if exact else "scaled"
    except Error:
        if units != "auto" or not exact:
            raise
        notes.append("the graph carries spikefab's integer units but its values are not "
                     "integers that fit the widths: scaled instead")
        net, pmaps, projs = _build(parsed, dt, hw, False, name, notes, peaks)
        used = "scaled"
    agreement = _fidelity(net, pmaps, x, ref)
    return net, FidelityReport(dt, used, tuple(pmaps), tuple(projs), agreement, probe,
                               tuple(notes))


def _build(parsed, dt, hw, exact, name, notes, peaks):
    names = population_names(parsed.neurons)
    names[parsed.input_name] = "input"
    vmax = signed_max(hw.voltage_bits)
    pops, pmaps, projections, projs = [], [], [], []
    for node, m in parsed.neurons.items():
        du, dv, gain, bias, threshold = _dynamics(m, dt, parsed.bias[node],
                                                  parsed.bias_nodes[node], parsed.kinds)
        if parsed.bias_nodes[node] and m.kind.startswith("Cuba"):
            notes.append(f"the bias of node {_named(parsed.bias_nodes[node], parsed.kinds)} "
                         f"into {node!r} ({m.kind}) is added to v as its steady state, not "
                         f"through the synaptic current")
        incoming = [(p, (p.matrix * gain[:, None]).T) for p in parsed.paths if p.target == node]
        fmax = max((float(np.abs(f).max(initial=0)) for _, f in incoming), default=0.0)
        if exact:
            c = 1.0
            for what, x, lo in (("v_threshold", threshold, 0), ("bias", bias, -vmax)):
                if x is not None and not _integral(x, lo, vmax):
                    raise InvalidValue(f"Parameter {what} of node {node!r} ({m.kind}) must be "
                                       f"an integer in [{lo}, {vmax}] in integer units, not "
                                       f"{x:g}")
        else:
            c = _scale(hw, fmax, bias, threshold, peaks[node])
        thr_raw = int(round(c * threshold)) if m.spiking else vmax
        if thr_raw > vmax:
            raise InvalidValue(f"Parameter v_threshold of node {node!r} ({m.kind}) must fit "
                               f"{hw.voltage_bits} bits at scale {c:g}, not {threshold:g}")
        pm = PopulationMap(node, m.kind, names[node], m.size, c,
                           c * threshold if m.spiking else float(vmax), thr_raw, c * bias,
                           int(round(c * bias)), du, int(round(du)), dv, int(round(dv)))
        pmaps.append(pm)
        if m.spiking and not exact and 0 < threshold and thr_raw < 256:
            notes.append(f"the threshold of {pm.name!r} is only {thr_raw} (v reached "
                         f"{peaks[node] / threshold:.3g} thresholds below 0 on the probe, or a "
                         f"weight is large): wider --voltage-bits / --current-bits refine it")
        pops.append(Population(pm.name, m.size, threshold=thr_raw, du=pm.du_raw, dv=pm.dv_raw,
                               bias=pm.bias_raw, output=node in parsed.outputs))
        for p, q in _quantize_all(hw, node, c, incoming, exact):
            k = len(projections)
            projections.append(Projection(names[p.source], pm.name, q.weights,
                                          weight_shift=q.weight_shift))
            projs.append(ProjectionMap(k, names[p.source], pm.name, p.nodes, q))
    net = Network(name, parsed.inputs, pops, projections, hw)
    return net, pmaps, projs


def _probe(parsed, dt, inputs, steps, rate, seed):
    """The probe's inputs ``(B, T, inputs)``, its description and the float reference on it."""
    if inputs is None:
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise InvalidValue(f"Probe steps must be a positive integer, not {steps!r}")
        if not (isinstance(rate, (int, float)) and 0 <= rate <= 1):
            raise InvalidValue(f"Probe rate must be a number in [0, 1], not {rate!r}")
        rng = np.random.default_rng(seed)
        x = rng.random((1, steps, parsed.inputs)) < rate
        probe = f"{steps} steps of random input spikes (rate {rate:g}, seed {seed})"
    else:
        x, _ = check_inputs(SimpleNamespace(inputs=parsed.inputs), inputs)
        probe = f"the given inputs ({x.shape[0]} run(s) of {x.shape[1]} steps)"
    return x, probe, reference(parsed, dt, x)


def _fidelity(net, pmaps, x, ref):
    ref_s, ref_v = ref
    res = simulate(net, x, record_state=True)
    out = []
    for pm in pmaps:
        s, fs = res.spikes[pm.name].astype(bool), ref_s[pm.node]
        v_err = None
        if pm.kind not in _SPIKING:
            fv = ref_v[pm.node]
            norm = float(np.sqrt((fv ** 2).mean())) if fv.size else 0.0
            err = float(np.sqrt(((res.v[pm.name] / pm.scale - fv) ** 2).mean())) if fv.size \
                else 0.0
            v_err = err / norm if norm else err
        out.append(Agreement(pm.name, float((s == fs).mean()) if s.size else 1.0,
                             int(fs.sum()), int(s.sum()), v_err))
    return tuple(out)
