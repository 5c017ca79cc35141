"""The run-time image of a network on the chip, as the words its ports and memories hold.

Pure Python and NumPy: the configuration words of a core (weights, neuron state, parameters,
learning registers, traces), the words of the network top's ports (inputs, outputs,
configuration commands, the router's table) and the way back from words to a network's arrays.
The Amaranth-simulator tests, the cocotb testbenches, the simulated board and the host's
``Device`` all read and write the chip through these functions, so every word has one
definition (``docs/core.md``, ``docs/network.md``).
"""

from dataclasses import dataclass

import numpy as np

from spikefab.golden.simulator import SimResult

from spikefab.errors import InvalidValue

from .cfg import LEARN_STRIDE, Learn, Param, Space, cfg_data_bits, cfg_fields, learn_base, \
    param_addr, row_bits
from .core import CoreParams
from .network import input_fields, network_cfg_fields
from .router import dst_fields, host_event_fields, ptr_fields

__all__ = ["RunResult", "CoreMap", "to_signed", "pack_cfg", "unpack_state", "unpack_theta",
           "pack_state", "unpack_weight_word", "unpack_acc", "param_value", "weights_from_words",
           "post_addr", "unpack_traces", "learn_addr", "learn_values", "neuron_param_words",
           "spiking_rows", "pack_input", "pack_network_cfg", "unpack_output", "pointer_words",
           "destination_words", "projection_weights", "population_state", "population_theta",
           "plastic_groups", "learning_words", "modulation_words", "trace_addresses", "clear_ranges",
           "projection_traces", "stray_synapses", "core_image", "network_image",
           "clear_entries"]


@dataclass
class RunResult(SimResult):
    """What a run on the hardware gives back (the RTL in a simulator, the simulated board or a
    board): the arrays of :class:`~spikefab.golden.SimResult`, read back from the chip's
    words, plus the clocks of every step.

    Attributes
    ----------
    cycles : numpy.ndarray of int64, ([B,] T)
        The clocks of every step as the chip counted them.
    """

    cycles: "np.ndarray | None" = None


def to_signed(x, bits):
    """The two's complement value of the low ``bits`` bits of ``x``."""
    x = int(x) & ((1 << bits) - 1)
    return x - (1 << bits) if x >> (bits - 1) else x


class CoreMap:
    """Where the spikes of a single-population network enter its core.

    Axon slots are the sources of the projections into the population, concatenated in
    projection order. A source may be ``"input"`` or the population itself (recurrent
    projections: its spikes of step ``t - 1`` are delivered at step ``t``).

    Parameters
    ----------
    net : Network
        With exactly one population.
    lanes : int
    """

    def __init__(self, net, lanes=1):
        self.net = net
        self.params = CoreParams.from_network(net, lanes=lanes)
        self.pop = net.populations[0]
        self._groups = []
        for (off, p) in zip(self.params.axon_offsets,
                            [p for p in net.projections if p.target == self.pop.name]):
            self._groups.append((off, p.source))

    def events(self, inputs, prev_spikes):
        """Axon ids of one step, in delivery order.

        Parameters
        ----------
        inputs : array_like of bool, (net.inputs,)
            Host spikes injected for this step.
        prev_spikes : array_like of bool, (N,)
            The population's spikes of the previous step.
        """
        src = {"input": np.asarray(inputs, bool), self.pop.name: np.asarray(prev_spikes, bool)}
        out = [off + np.flatnonzero(src[name]) for off, name in self._groups]
        return np.concatenate(out).astype(np.int64) if out else np.zeros(0, np.int64)


def pack_cfg(p, write, space, addr, data=0):
    """One ``i_cfg`` payload as an integer (:func:`~spikefab.shape.cfg.cfg_fields`)."""
    layout = cfg_fields(p)
    dbits = cfg_data_bits(p)
    abits = layout["addr"].width
    if not 0 <= addr < (1 << abits):
        raise InvalidValue(f"Address must be an integer in [0, {(1 << abits) - 1}], not {addr}")
    word = int(bool(write))
    word |= int(Space(space)) << layout["space"].offset
    word |= int(addr) << layout["addr"].offset
    word |= (int(data) & ((1 << dbits) - 1)) << layout["data"].offset
    return word


def pack_state(p, u, v, r, theta=None):
    """A state word from per-lane sequences ``u, v, r`` (length ``lanes``), and ``theta`` in a
    core with an adaptive threshold (``p.theta_bits > 0``; default zeros)."""
    word, o = 0, 0
    tb = p.theta_bits
    for lane in range(p.lanes):
        for val, bits in ((u[lane], p.current_bits), (v[lane], p.voltage_bits),
                          (r[lane], p.refractory_bits),
                          (0 if theta is None else theta[lane], tb)):
            word |= (int(val) & ((1 << bits) - 1)) << o
            o += bits
    return word


def unpack_state(p, word):
    """``(u, v, r)`` lists of length ``lanes`` from a state word (:func:`unpack_theta` for the
    adaptive threshold offsets)."""
    u, v, r, o = [], [], [], 0
    for _ in range(p.lanes):
        u.append(to_signed(word >> o, p.current_bits))
        o += p.current_bits
        v.append(to_signed(word >> o, p.voltage_bits))
        o += p.voltage_bits
        r.append((word >> o) & ((1 << p.refractory_bits) - 1))
        o += p.refractory_bits + p.theta_bits
    return u, v, r


def unpack_theta(p, word):
    """The ``lanes`` adaptive threshold offsets of a state word (zeros in a core without)."""
    tb, lane_bits = p.theta_bits, p.state_bits
    low = p.current_bits + p.voltage_bits + p.refractory_bits
    return [(word >> (lane * lane_bits + low)) & ((1 << tb) - 1) for lane in range(p.lanes)]


def unpack_weight_word(p, word):
    """The ``lanes`` signed weights of a weight word."""
    wb = p.weight_bits
    return [to_signed(word >> (lane * wb), wb) for lane in range(p.lanes)]


def unpack_acc(p, word):
    """The ``lanes`` signed accumulators of an accumulator word."""
    ab = p.acc_bits
    return [to_signed(word >> (lane * ab), ab) for lane in range(p.lanes)]


def param_value(p, param, word):
    """Decode a :attr:`Space.PARAM` readback word."""
    param = Param(param)
    if param == Param.BIAS:
        return to_signed(word, p.voltage_bits)
    return int(word)


def weights_from_words(p, words):
    """The ``(A, N)`` weight matrix from the ``rows * A`` weight words."""
    w = np.zeros((p.axons, p.rows * p.lanes), np.int64)
    for row in range(p.rows):
        for a in range(p.axons):
            w[a, row * p.lanes:(row + 1) * p.lanes] = unpack_weight_word(
                p, words[row * p.axons + a])
    return w[:, :p.neurons]


def post_addr(p, k, row):
    """:attr:`Space.POST` address of row ``row`` of plastic group ``k``."""
    return (k << row_bits(p)) | row


def unpack_traces(p, word):
    """The ``lanes`` traces of a :attr:`Space.POST` word."""
    tb = p.trace_bits
    return [(word >> (lane * tb)) & ((1 << tb) - 1) for lane in range(p.lanes)]


def learn_addr(p, k, field):
    """:attr:`Space.PARAM` address of learning register ``field`` of plastic group ``k``."""
    return learn_base(p) + LEARN_STRIDE * k + int(Learn(field))


def neuron_param_words(p, sets=None):
    """``{address: register word}`` of every neuron parameter of every set, as written
    through :attr:`Space.PARAM` and read back (default: the reset values, ``p.neuron_sets``;
    ``sets``: other :class:`~spikefab.shape.core.NeuronSet` values of the same shape)."""
    out = {}
    vmask = (1 << p.voltage_bits) - 1
    for k, ns in enumerate(p.neuron_sets if sets is None else sets):
        out.update({param_addr(p, k, Param.THRESHOLD): ns.threshold,
                    param_addr(p, k, Param.BIAS): ns.bias & vmask,
                    param_addr(p, k, Param.DU): ns.du, param_addr(p, k, Param.DV): ns.dv,
                    param_addr(p, k, Param.REFRACTORY): ns.refractory,
                    param_addr(p, k, Param.RESET_SUBTRACT): int(ns.reset_subtract)})
        if p.theta_bits:
            out.update({param_addr(p, k, Param.THETA_INC): ns.theta_inc,
                        param_addr(p, k, Param.THETA_DECAY): ns.theta_decay})
    return out


def learn_values(p, rule, m=None):
    """``{Learn field: register word}`` of an :class:`~spikefab.golden.Stdp` (as written
    through the port and read back). In a core with a modulated group (``p.modulated``) the
    rates are the effective ones under the modulation ``m`` (default: the rule's initial one),
    as magnitudes with their signs in ``NEG_PLUS`` / ``NEG_MINUS`` (``docs/spec.md`` v1.2)."""
    wmask = (1 << p.weight_bits) - 1
    out = {Learn.A_PLUS: rule.a_plus, Learn.A_MINUS: rule.a_minus, Learn.SHIFT: rule.shift,
           Learn.D_PRE: rule.d_pre, Learn.D_POST: rule.d_post, Learn.X_INC: rule.x_inc,
           Learn.Y_INC: rule.y_inc, Learn.W_MIN: rule.w_min & wmask,
           Learn.W_MAX: rule.w_max & wmask}
    if p.modulated:
        ap, am = rule.rates(m) if rule.modulated else (rule.a_plus, rule.a_minus)
        out.update({Learn.A_PLUS: abs(ap), Learn.A_MINUS: abs(am),
                    Learn.NEG_PLUS: int(ap < 0), Learn.NEG_MINUS: int(am < 0)})
    return out


def modulation_words(mapping, params, net, k, m):
    """``[(core, addr, word)]``: the :attr:`Space.PARAM` writes that set the third factor of
    modulated projection ``k`` to ``m`` in every core holding a copy of it (its effective
    rates and their signs). A ``k`` that is no modulated projection, or an ``m`` out of
    ``[-256, 256]``, is an :class:`~spikefab.errors.InvalidValue` (nothing is written)."""
    from spikefab.golden.params import check_modulation
    n = len(net.projections)
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < n:
        raise InvalidValue(f"Projection must be an index in [0, {n - 1}], not {k!r}")
    rule = net.projections[k].stdp
    if rule is None or not rule.modulated:
        raise InvalidValue(f"Projection {k} has no third factor (it must be plastic with "
                           f"modulated = true)")
    m = check_modulation(m, f"Modulation of projection {k}")
    out = []
    for c, kk, _, kp in plastic_groups(mapping, params):
        if kp != k:
            continue
        vals = learn_values(params[c], rule, m)
        out += [(c, learn_addr(params[c], kk, f), vals[f])
                for f in (Learn.A_PLUS, Learn.A_MINUS, Learn.NEG_PLUS, Learn.NEG_MINUS)]
    return out


def spiking_rows(p, spikes):
    """``R_s``: rows with at least one of the neuron ids ``spikes``."""
    return len({int(i) // p.lanes for i in spikes})


def pack_input(p, channel=None):
    """An ``i_input`` word: input channel ``channel``, or the end of the step (None)."""
    layout = input_fields(p)
    if channel is None:
        return 1 << layout["end"].offset
    if not 0 <= channel < max(p.mapping.net.inputs, 1):
        raise InvalidValue(f"Input channel must be an integer in [0, "
                           f"{p.mapping.net.inputs - 1}], not {channel}")
    return int(channel)


def pack_network_cfg(p, target, write, space, addr, data=0):
    """An ``i_cfg`` word of the top (:func:`~spikefab.shape.network.network_cfg_fields`).

    ``target`` is a core index, or ``p.router_target`` for a write of the router's table."""
    layout = network_cfg_fields(p)
    if not 0 <= target <= p.router_target:
        raise InvalidValue(f"Configuration target must be an integer in [0, "
                           f"{p.router_target}], not {target}")
    if target == p.router_target and not write:
        raise InvalidValue("The router's table is write-only; a read must target a core, not "
                           f"{target}")
    abits, dbits = layout["addr"].width, layout["data"].width
    if not 0 <= addr < (1 << abits):
        raise InvalidValue(f"Address must be an integer in [0, {(1 << abits) - 1}], not {addr}")
    word = int(bool(write)) << layout["write"].offset
    word |= int(space) << layout["space"].offset
    word |= int(addr) << layout["addr"].offset
    word |= (int(data) & ((1 << dbits) - 1)) << layout["data"].offset
    word |= int(target) << layout["target"].offset
    return word


def unpack_output(p, word):
    """``(host id, step)`` of an ``o_output`` word."""
    layout = host_event_fields(p.router)
    n, s = layout["neuron"], layout["step"]
    return ((word >> n.offset) & n.mask, (word >> s.offset) & s.mask)


def pointer_words(rp, pointers):
    """Router table write data (:attr:`TableSpace.POINTER`) of ``(base, count)`` pairs."""
    layout = ptr_fields(rp)
    return [(b << layout["base"].offset) | (n << layout["count"].offset) for b, n in pointers]


def destination_words(rp, destinations):
    """Router table write data (:attr:`TableSpace.DESTINATION`) of ``(port, index)`` pairs."""
    layout = dst_fields(rp)
    return [(q << layout["port"].offset) | (i << layout["index"].offset)
            for q, i in destinations]


def projection_weights(mapping, per_core):
    """Every projection's ``(S, N)`` weights from the cores' weight matrices (``per_core[c]``
    as :func:`weights_from_words` returns it)."""
    net = mapping.net
    out = [np.zeros_like(pr.weights, dtype=np.int64) for pr in net.projections]
    for core in mapping.cores:
        for g in core.groups:
            for k in g.projections:
                for s in core.segments:
                    if s.population == net.projections[k].target:
                        out[k][:, s.start:s.start + s.size] = \
                            per_core[core.index][g.offset:g.offset + g.size,
                                                 s.offset:s.offset + s.size]
    return out


def stray_synapses(mapping, per_core):
    """``[(core, slot, local neuron, weight)]`` of every non-zero synapse that no projection
    owns (a group's rows onto the other populations of a shared core, the dummy slot of a
    core that nothing projects into): STDP and the configuration must leave them 0."""
    net = mapping.net
    out = []
    for core in mapping.cores:
        w = per_core[core.index]
        owned = np.zeros(w.shape, bool)
        for g in core.groups:
            for k in g.projections:
                for s in core.segments:
                    if s.population == net.projections[k].target:
                        owned[g.offset:g.offset + g.size, s.offset:s.offset + s.size] = True
        for slot, n in np.argwhere((w != 0) & ~owned):
            out.append((core.index, int(slot), int(n), int(w[slot, n])))
    return out


def population_state(mapping, params, words):
    """``(u, v, r)`` dicts of population name to arrays from the cores' state words
    (``words[c]``: the ``rows`` words of core ``c``, read from ``Space.STATE``)."""
    net = mapping.net
    u = {q.name: np.zeros(q.size, np.int64) for q in net.populations}
    v = {q.name: np.zeros(q.size, np.int64) for q in net.populations}
    r = {q.name: np.zeros(q.size, np.int64) for q in net.populations}
    for core, cp, ws in zip(mapping.cores, params, words):
        uu, vv, rr = [], [], []
        for word in ws:
            a, b, c = unpack_state(cp, word)
            uu += a
            vv += b
            rr += c
        for s in core.segments:
            sl = slice(s.offset, s.offset + s.size)
            u[s.population][s.start:s.start + s.size] = uu[sl]
            v[s.population][s.start:s.start + s.size] = vv[sl]
            r[s.population][s.start:s.start + s.size] = rr[sl]
    return u, v, r


def population_theta(mapping, params, words):
    """The adaptive threshold offsets ``theta``: a dict of population name to array, for the
    populations that have one, from the cores' state words (as :func:`population_state`)."""
    net = mapping.net
    out = {q.name: np.zeros(q.size, np.int64) for q in net.populations if q.adaptive}
    for core, cp, ws in zip(mapping.cores, params, words):
        if not cp.theta_bits:
            continue
        th = [x for word in ws for x in unpack_theta(cp, word)]
        for s in core.segments:
            if s.population in out:
                out[s.population][s.start:s.start + s.size] = th[s.offset:s.offset + s.size]
    return out


def plastic_groups(mapping, params):
    """``[(core, plastic group index, axon group, projection)]`` of every plastic axon group
    of every core: where the copies of a plastic projection's synapses and traces live."""
    out = []
    for mc, cp in zip(mapping.cores, params):
        for kk, g in enumerate(cp.plastic_groups):
            group = mc.groups[g]
            out.append((mc.index, kk, group, group.projections[0]))
    return out


def learning_words(mapping, params, net=None):
    """``[(core, addr, word)]``: the :attr:`Space.PARAM` writes that load the learning rule
    of every plastic projection of ``net`` (default: the mapped network) into its cores."""
    net = mapping.net if net is None else net
    out = []
    for c, kk, _, k in plastic_groups(mapping, params):
        for field, word in learn_values(params[c], net.projections[k].stdp).items():
            out.append((c, learn_addr(params[c], kk, field), word))
    return out


def trace_addresses(mapping, params):
    """``[(core, space, addr)]`` of every pre- and post-trace word of the plastic groups
    (:attr:`Space.PRE` slots, then :attr:`Space.POST` rows, core by core)."""
    out = []
    for c, kk, group, _ in plastic_groups(mapping, params):
        cp = params[c]
        off = cp.pre_offsets[kk]
        out += [(c, Space.PRE, off + j) for j in range(group.size)]
        out += [(c, Space.POST, post_addr(cp, kk, row)) for row in range(cp.rows)]
    return out


def projection_traces(mapping, params, words):
    """The traces of every plastic projection from the words at :func:`trace_addresses`.

    Parameters
    ----------
    words : dict
        ``{(core, space, addr): word}``.

    Returns
    -------
    pre, post : list of numpy.ndarray or None
        By projection (None for a static one): the pre traces ``(S,)`` (from the first core
        that holds a copy) and the post traces ``(N,)`` of the target population.
    copies : dict
        ``{projection: [(core, pre traces)]}``: every core's copy of the pre traces (they
        must be equal: every copy sees the same delivered spikes).
    """
    net = mapping.net
    pre = [None] * len(net.projections)
    post = [None] * len(net.projections)
    copies = {}
    for c, kk, group, k in plastic_groups(mapping, params):
        cp, mc = params[c], mapping.cores[c]
        off = cp.pre_offsets[kk]
        x = np.array([words[(c, Space.PRE, off + j)] for j in range(group.size)], np.int64)
        copies.setdefault(k, []).append((c, x))
        if pre[k] is None:
            pre[k] = x
            post[k] = np.zeros(net.population(net.projections[k].target).size, np.int64)
        flat = []
        for row in range(cp.rows):
            flat += unpack_traces(cp, words[(c, Space.POST, post_addr(cp, kk, row))])
        for s in mc.segments:
            if s.population == net.projections[k].target:
                post[k][s.start:s.start + s.size] = flat[s.offset:s.offset + s.size]
    return pre, post, copies


def core_image(p):
    """``[(space, addr, word)]``: the configuration writes that load a core's run-time values
    (``p``'s weights, neuron parameters and learning registers) into a core of its shape, in
    load order. Reading each back gives the word written."""
    out = [(Space.WEIGHT, a, word) for a, word in enumerate(p.weight_words())]
    out += [(Space.PARAM, a, v) for a, v in neuron_param_words(p).items()]
    for k, g in enumerate(p.plastic_groups):
        out += [(Space.PARAM, learn_addr(p, k, f), v)
                for f, v in learn_values(p, p.stdp[g]).items()]
    return out


def network_image(p):
    """The configuration writes that load a network top's run-time values into a top of its
    shape: ``{"weights", "params", "routes"}``, each ``[(target, space, addr, word)]`` in load
    order (every core's weight words; every core's neuron parameter sets and the learning
    registers of its plastic groups; the router's pointer and destination tables)."""
    from .router import TableSpace
    weights, params = [], []
    for c, cp in enumerate(p.cores):
        for space, addr, word in core_image(cp):
            (weights if space == Space.WEIGHT else params).append((c, space, addr, word))
    rp = p.router
    routes = [(p.router_target, TableSpace.POINTER, s, word)
              for s, word in enumerate(pointer_words(rp, rp.pointers))]
    routes += [(p.router_target, TableSpace.DESTINATION, e, word)
               for e, word in enumerate(destination_words(rp, rp.destinations))]
    return {"weights": weights, "params": params, "routes": routes}


def clear_ranges(p):
    """``[(target, space, first, last)]``: the addresses of :func:`clear_entries` (without
    ``keep_theta``) as runs of consecutive addresses, from the cores' shapes alone (a top made
    from a :class:`~spikefab.shape.network.NetworkShape` has no mapping). The link's rate
    generator walks them to clear the state before every presentation."""
    out = []
    for c, cp in enumerate(p.cores):
        out += [(c, Space.STATE, 0, cp.rows - 1), (c, Space.ACC, 0, cp.rows - 1)]
        if cp.plastic_groups and cp.pre_count:
            out.append((c, Space.PRE, 0, cp.pre_count - 1))
        for kk, _ in enumerate(cp.plastic_groups):
            out.append((c, Space.POST, post_addr(cp, kk, 0), post_addr(cp, kk, cp.rows - 1)))
    return out


def clear_entries(p, keep_theta=None):
    """``[(target, space, addr, word)]``: the writes that clear a network top's state (every
    core's neuron state and accumulators, the traces of its plastic groups). ``keep_theta``:
    ``{core: its state words}``, read before, of the cores whose adaptive threshold offsets
    are kept (their state words are written back with ``u = v = r = 0``, ``theta`` as read)."""
    keep = keep_theta or {}

    def state_word(c, cp, row):
        if c not in keep:
            return 0
        z = [0] * cp.lanes
        return pack_state(cp, z, z, z, unpack_theta(cp, keep[c][row]))
    out = [(c, space, row, state_word(c, cp, row) if space == Space.STATE else 0)
           for c, cp in enumerate(p.cores)
           for space in (Space.STATE, Space.ACC) for row in range(cp.rows)]
    return out + [(c, space, addr, 0) for c, space, addr in trace_addresses(p.mapping, p.cores)]
